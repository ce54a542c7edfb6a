//! Audit export formats.

use serde_json::Value;

/// Columns of the CSV export, in order; keys of the JSON entries.
pub const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("at", "at"),
    ("actor", "actor"),
    ("actor_user_id", "actorUserId"),
    ("source_ip", "sourceIp"),
    ("request_id", "requestId"),
    ("object_type", "objectType"),
    ("object_id", "objectId"),
    ("object_name", "objectName"),
    ("action", "action"),
    ("description", "description"),
];

/// One RFC 4180 field: quoted when it holds a comma, quote, CR or LF; a
/// leading `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not
/// run it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn csv_header() -> String {
    COLUMNS
        .iter()
        .map(|(h, _)| *h)
        .collect::<Vec<_>>()
        .join(",")
}

/// An audit entry (as the store returns it) as one CSV line.
pub fn csv_row(entry: &Value) -> String {
    COLUMNS
        .iter()
        .map(|(_, key)| match &entry[*key] {
            Value::Null => String::new(),
            Value::String(s) => csv_field(s),
            other => csv_field(&other.to_string()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        let row = csv_row(
            &json!({"id": 7, "at": "2026-01-01T00:00:00.000Z", "actor": "token:okta",
            "sourceIp": null, "objectType": "User", "action": "created", "description": "User \"a,b\" created"}),
        );
        assert_eq!(
            row,
            "7,2026-01-01T00:00:00.000Z,token:okta,,,,User,,,created,\"User \"\"a,b\"\" created\""
        );
        assert_eq!(csv_header().split(',').count(), COLUMNS.len());
    }
}
