//! How the admin commands print: the API's JSON with `--json`, else plain
//! tables and key-value cards.

use rollcall::directory::views::Page;
use serde::Serialize;
use serde_json::Value;

use super::Target;

/// A JSON value as a table cell: `-` for null, strings unquoted.
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An optional text as a table cell.
pub(super) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// A plain table: a header, then the rows, columns padded to fit.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

pub(super) fn print_json(v: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `page 1 of 3 (41 users)`.
pub(super) fn page_footer<T>(p: &Page<T>, what: &str) -> String {
    format!("page {} of {} ({} {what})", p.page, p.pages.max(1), p.total)
}

/// A page as a table (or the API's JSON with `--json`), with its footer.
pub(super) fn print_page<T: Serialize>(
    t: &Target,
    p: &Page<T>,
    what: &str,
    headers: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    if t.json {
        return print_json(p);
    }
    let rows: Vec<Vec<String>> = p.items.iter().map(row).collect();
    print!("{}", table(headers, &rows));
    println!("{}", page_footer(p, what));
    Ok(())
}

/// A user view as JSON with `--json`, else as a card.
pub(super) fn print_user(t: &Target, view: &impl Serialize) -> anyhow::Result<()> {
    if t.json {
        return print_json(view);
    }
    print!("{}", user_card(&serde_json::to_value(view)?));
    Ok(())
}

const CARD_KEYS: [&str; 12] = [
    "id",
    "userName",
    "displayName",
    "email",
    "status",
    "type",
    "role",
    "plan",
    "managed",
    "lastSignIn",
    "created",
    "lastModified",
];

/// Key: value lines of a user (of whichever view: the keys it has).
fn user_card(v: &Value) -> String {
    let mut out = String::new();
    for key in CARD_KEYS {
        if v.get(key).is_some() {
            out.push_str(&format!("{key:<13} {}\n", cell(&v[key])));
        }
    }
    if let Some(b) = v.get("ban").filter(|b| !b.is_null()) {
        let ban = format!("{} ({})", cell(&b["reason"]), cell(&b["at"]));
        out.push_str(&format!("{:<13} {ban}\n", "ban"));
    }
    if let Some(seat) = v.get("seat") {
        let released = if seat["counted"] == Value::Bool(true) {
            ""
        } else {
            " (released)"
        };
        out.push_str(&format!(
            "{:<13} {}{released}\n",
            "seat",
            cell(&seat["kind"])
        ));
    }
    if let Some(groups) = v.get("groups").and_then(Value::as_array) {
        out.push_str(&format!("{:<13} {}\n", "groups", group_names(groups)));
    }
    if let Some(d) = v.get("deletion").filter(|d| !d.is_null()) {
        out.push_str(&format!("{:<13} {}\n", "deletion", d));
    }
    // An invitation: its link (shown once), expiry, email, state.
    for key in [
        "inviteLink",
        "inviteExpiresAt",
        "emailedTo",
        "state",
        "expiresAt",
        "endedAt",
    ] {
        if let Some(value) = v.get(key) {
            out.push_str(&format!("{key:<13} {}\n", cell(value)));
        }
    }
    out
}

/// `Eng, Platform (nested)`, or `-`.
fn group_names(groups: &[Value]) -> String {
    let names: Vec<String> = groups
        .iter()
        .map(|g| {
            let nested = if g["direct"] == Value::Bool(true) {
                ""
            } else {
                " (nested)"
            };
            format!("{}{nested}", cell(&g["displayName"]))
        })
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(", ")
    }
}
