//! A purge's erasure, in two parts. The rows *about* the user — audit rows
//! on or by them (or on a token bound to them), their events, their
//! ownership transfer, the report rows that matched them, the tokens and
//! jobs they made — are found by key. The rows *elsewhere* in the tenant
//! that name them — another user's deletion record and transfer naming them
//! as successor, the tenant-settings row naming them as fallback owner, a
//! report row listing them among ambiguous matches — are found by their
//! text. The long, append-only places (audit log, events, job reports) are
//! searched outside any write ([`Store::find_mentions`]); the write then
//! reads again only what was found, what was appended since, and the small
//! places. What to look for and how to rewrite it is the caller's: the store
//! only finds the rows and applies the rewrite to their text (and to every
//! string inside their JSON).

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::sql::{execute, fetch_all, like_escape, Bind, SqlFrag};
use super::{Store, StoreResult, Tenant, Tx};

/// A rewrite of text naming a user.
pub type Redact<'a> = &'a (dyn Fn(&str) -> String + Send + Sync);

/// What a purge looks for in the text of the tenant's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needles {
    /// Values found anywhere in a text (compared ASCII case-insensitively).
    pub anywhere: Vec<String>,
    /// Values that count only as a whole: a whole column, a whole JSON
    /// string, or in double quotes inside a text.
    pub quoted: Vec<String>,
}

/// Rows of the long places whose text may name a user, found outside the
/// write; with how far each place was read.
#[derive(Debug, Clone, Default)]
pub struct Mentions {
    needles: Needles,
    found: Vec<(&'static Place, Vec<Bind>)>,
    audit_upto: i64,
    events_upto: i64,
}

impl Mentions {
    /// Whether these were looked for with `needles`.
    pub fn for_needles(&self, needles: &Needles) -> bool {
        &self.needles == needles
    }
}

/// A table whose text may name a user.
#[derive(Debug, PartialEq, Eq)]
pub struct Place {
    table: &'static str,
    /// The columns of the key.
    key: &'static [&'static str],
    text: &'static [&'static str],
    json: &'static [&'static str],
    /// The tenant's rows: SQL before and after the tenant id.
    tenant: (&'static str, &'static str),
}

const AUDIT: Place = Place {
    table: "audit_log",
    key: &["id"],
    text: &["description", "object_name", "actor", "request_id"],
    json: &["details"],
    tenant: ("tenant_id = ", ""),
};
const EVENTS: Place = Place {
    table: "outbox",
    key: &["id"],
    text: &["last_error"],
    json: &["payload"],
    tenant: ("tenant_id = ", ""),
};
const JOB_ROWS: Place = Place {
    table: "deprovision_rows",
    key: &["job_id", "row_no"],
    text: &["input", "user_name", "hook", "error"],
    json: &[],
    tenant: (
        "job_id IN (SELECT id FROM deprovision_jobs WHERE tenant_id = ",
        ")",
    ),
};
const TRANSFERS: Place = Place {
    table: "transfers",
    key: &["id"],
    text: &["last_error"],
    json: &["payload"],
    tenant: ("tenant_id = ", ""),
};
const DELETIONS: Place = Place {
    table: "users",
    key: &["pk"],
    text: &[],
    json: &["deletion"],
    tenant: ("deletion IS NOT NULL AND tenant_id = ", ""),
};
const TOKENS: Place = Place {
    table: "tokens",
    key: &["id"],
    text: &["label", "created_by"],
    json: &[],
    tenant: ("tenant_id = ", ""),
};
const JOBS: Place = Place {
    table: "deprovision_jobs",
    key: &["id"],
    text: &["actor"],
    json: &[],
    tenant: ("tenant_id = ", ""),
};

const REQUESTS: Place = Place {
    table: "request_log",
    key: &["id"],
    text: &["route", "detail", "body", "user_agent"],
    json: &[],
    tenant: ("tenant_id = ", ""),
};

/// The places searched by text outside the write, and inside it.
const LONG: [&Place; 4] = [&AUDIT, &EVENTS, &JOB_ROWS, &REQUESTS];
const SMALL: [&Place; 4] = [&TRANSFERS, &DELETIONS, &TOKENS, &JOBS];

impl Place {
    fn columns(&self) -> impl Iterator<Item = &'static str> {
        self.text.iter().chain(self.json.iter()).copied()
    }

    /// `SELECT key…, columns… FROM table WHERE <the tenant's rows> AND (`.
    fn select(&self, tid: i64, what: &str) -> SqlFrag {
        let mut f = SqlFrag::new();
        f.sql(format!(
            "SELECT {what} FROM {} WHERE {}",
            self.table, self.tenant.0
        ))
        .int(tid)
        .sql(format!("{} AND (", self.tenant.1));
        f
    }

    fn key_and_columns(&self) -> String {
        self.key
            .iter()
            .copied()
            .chain(self.columns())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `key = $ AND …` for one row.
    fn by_key(&self, f: &mut SqlFrag, key: &[Bind]) {
        for (i, (col, b)) in self.key.iter().zip(key).enumerate() {
            if i > 0 {
                f.sql(" AND ");
            }
            f.sql(format!("{col} = ")).bind(b.clone());
        }
    }
}

/// The LIKE patterns of `needles` (each also as JSON writes it, when that
/// differs: a quote or a backslash in a value).
fn patterns(needles: &Needles) -> Vec<String> {
    let json = |v: &str| {
        let q = Value::String(v.to_string()).to_string();
        q[1..q.len() - 1].to_string()
    };
    let mut out = Vec::new();
    for v in &needles.anywhere {
        for form in [v.clone(), json(v)] {
            out.push(format!("%{}%", like_escape(&form)));
        }
    }
    for v in &needles.quoted {
        for form in [v.clone(), json(v)] {
            out.push(format!("%\"{}\"%", like_escape(&form)));
        }
    }
    out.dedup();
    out.sort();
    out.dedup();
    out
}

/// The query of the keys of the tenant's rows of `place` (with `id` in
/// `range`) whose text matches one of `patterns`: every column in double
/// quotes, joined, folded once, then compared (case-insensitively: `lower`
/// on both sides, on both stores).
fn text_matches(
    place: &Place,
    tid: i64,
    patterns: &[String],
    range: Option<(i64, i64)>,
) -> SqlFrag {
    let hay = place
        .columns()
        .map(|c| format!("'\"' || coalesce({c}, '') || '\"'"))
        .collect::<Vec<_>>()
        .join(" || ' ' || ");
    let key = place.key.join(", ");
    let mut f = SqlFrag::new();
    f.sql(format!(
        "SELECT {key} FROM (SELECT {key}, lower({hay}) AS hay FROM {} WHERE {}",
        place.table, place.tenant.0
    ))
    .int(tid)
    .sql(place.tenant.1);
    if let Some((after, upto)) = range {
        f.sql(" AND id > ").int(after).sql(" AND id <= ").int(upto);
    }
    f.sql(") m WHERE ");
    if patterns.is_empty() {
        f.sql("1 = 0");
    }
    for (i, p) in patterns.iter().enumerate() {
        if i > 0 {
            f.sql(" OR ");
        }
        f.sql("hay LIKE lower(")
            .text(p.clone())
            .sql(") ESCAPE '\\'");
    }
    f
}

fn read_key(place: &Place, r: &AnyRow) -> StoreResult<Vec<Bind>> {
    (0..place.key.len())
        .map(|i| {
            Ok(match r.try_get::<i64, _>(i) {
                Ok(n) => Bind::Int(n),
                Err(_) => Bind::Text(r.try_get::<String, _>(i)?),
            })
        })
        .collect()
}

/// Keys of the tenant's rows of `place` whose text matches `patterns`
/// (with `id` above `after` and at most `upto`, for the long places).
async fn find(
    conn: &mut AnyConnection,
    tid: i64,
    place: &'static Place,
    patterns: &[String],
    range: Option<(i64, i64)>,
) -> StoreResult<Vec<(&'static Place, Vec<Bind>)>> {
    let rows = fetch_all(&mut *conn, text_matches(place, tid, patterns, range)).await?;
    rows.iter()
        .map(|r| Ok((place, read_key(place, r)?)))
        .collect()
}

async fn max_id(conn: &mut AnyConnection, table: &str, tid: i64) -> StoreResult<i64> {
    let sql = format!("SELECT coalesce(max(id), 0) FROM {table} WHERE tenant_id = $1");
    Ok(sqlx::query_scalar(&sql)
        .bind(tid)
        .fetch_one(&mut *conn)
        .await?)
}

/// Rewrite the text of the rows `f` selects (key and columns, in that
/// order) with `redact`; how many changed.
async fn rewrite(
    conn: &mut AnyConnection,
    place: &Place,
    f: SqlFrag,
    redact: Redact<'_>,
) -> StoreResult<usize> {
    let rows = fetch_all(&mut *conn, f).await?;
    let mut changed = 0;
    for r in &rows {
        let key = read_key(place, r)?;
        let mut update = SqlFrag::new();
        update.sql(format!("UPDATE {} SET ", place.table));
        let mut any = false;
        for (i, col) in place.columns().enumerate() {
            let Some(before) = r.try_get::<Option<String>, _>(place.key.len() + i)? else {
                continue;
            };
            let after = if place.json.contains(&col) {
                redact_json(&before, redact)
            } else {
                redact(&before)
            };
            if after != before {
                if any {
                    update.sql(", ");
                }
                update.sql(format!("{col} = ")).text(after);
                any = true;
            }
        }
        if any {
            update.sql(" WHERE ");
            place.by_key(&mut update, &key);
            execute(&mut *conn, update).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Every string inside a JSON text, rewritten (the text stays valid JSON;
/// text that is not JSON is rewritten as text).
fn redact_json(text: &str, redact: Redact<'_>) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            redact_strings(&mut v, redact);
            v.to_string()
        }
        Err(_) => redact(text),
    }
}

fn redact_strings(v: &mut Value, redact: Redact<'_>) {
    match v {
        Value::String(s) => *s = redact(s),
        Value::Array(a) => a.iter_mut().for_each(|x| redact_strings(x, redact)),
        Value::Object(m) => m.values_mut().for_each(|x| redact_strings(x, redact)),
        _ => {}
    }
}

/// The rows of `place` about a user: a condition where `{u}` stands for
/// the user's id.
fn about(place: &Place) -> Option<&'static str> {
    Some(match place.table {
        // On or by the user, or on a token bound to them.
        "audit_log" => "object_id = {u} OR actor_user_id = {u} OR object_id IN (SELECT id FROM tokens WHERE user_id = {u})",
        "outbox" => "object_id = {u}",
        "transfers" => "user_id = {u}",
        "deprovision_rows" => "user_id = {u}",
        "tokens" => "user_id = {u} OR created_by_user_id = {u}",
        "deprovision_jobs" => "actor_user_id = {u}",
        _ => return None,
    })
}

impl Store {
    /// Names the audit trail knows the user by: the names of the rows about
    /// them (renames included) and the actors they acted as
    /// (`user:NAME (token:LABEL)`, `user:NAME (console)`, …).
    pub async fn former_names(&self, tenant: &Tenant, user_id: &str) -> StoreResult<Vec<String>> {
        let mut conn = self.read.acquire().await?;
        former_names(&mut conn, tenant.id, user_id).await
    }

    /// The rows of the tenant's audit log, events and job reports whose
    /// text holds one of `needles`: read on a reader, holding no lock, so
    /// that a purge searches a long trail without stopping the writers.
    pub async fn find_mentions(&self, tenant: &Tenant, needles: &Needles) -> StoreResult<Mentions> {
        let mut conn = self.read.acquire().await?;
        mentions(&mut conn, tenant.id, needles).await
    }
}

async fn former_names(
    conn: &mut AnyConnection,
    tid: i64,
    user_id: &str,
) -> StoreResult<Vec<String>> {
    let names: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT DISTINCT object_name FROM audit_log WHERE tenant_id = $1 AND object_id = $2
         UNION SELECT DISTINCT actor FROM audit_log WHERE tenant_id = $1 AND actor_user_id = $2",
    )
    .bind(tid)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(names.into_iter().flatten().collect())
}

async fn mentions(conn: &mut AnyConnection, tid: i64, needles: &Needles) -> StoreResult<Mentions> {
    let p = patterns(needles);
    let audit_upto = max_id(conn, "audit_log", tid).await?;
    let events_upto = max_id(conn, "outbox", tid).await?;
    let mut found = find(conn, tid, &AUDIT, &p, Some((0, audit_upto))).await?;
    found.extend(find(conn, tid, &EVENTS, &p, Some((0, events_upto))).await?);
    found.extend(find(conn, tid, &JOB_ROWS, &p, None).await?);
    found.extend(find(conn, tid, &REQUESTS, &p, None).await?);
    Ok(Mentions {
        needles: needles.clone(),
        found,
        audit_upto,
        events_upto,
    })
}

impl Tx {
    /// [`Store::former_names`], inside the write.
    pub async fn former_names(&mut self, user_id: &str) -> StoreResult<Vec<String>> {
        self.flush_records().await?;
        let tid = self.tid();
        former_names(self.conn().await?, tid, user_id).await
    }

    /// [`Store::find_mentions`] inside the write (when the needles changed
    /// since the search outside it).
    pub async fn find_mentions(&mut self, needles: &Needles) -> StoreResult<Mentions> {
        self.flush_records().await?;
        let tid = self.tid();
        mentions(self.conn().await?, tid, needles).await
    }

    /// Rewrite with `redact` the text of every row about the user; their
    /// report rows say `input` and `user_name` instead of the value given
    /// and the name; their transfer payloads are emptied.
    pub async fn redact_about(
        &mut self,
        user_id: &str,
        (input, user_name): (&str, &str),
        redact: Redact<'_>,
    ) -> StoreResult<()> {
        self.flush_records().await?;
        let tid = self.tid();
        for place in LONG.into_iter().chain(SMALL) {
            let Some(cond) = about(place) else {
                continue;
            };
            let mut f = place.select(tid, &place.key_and_columns());
            for (i, part) in cond.split("{u}").enumerate() {
                if i > 0 {
                    f.text(user_id);
                }
                f.sql(part);
            }
            f.sql(")");
            rewrite(self.conn().await?, place, f, redact).await?;
        }
        sqlx::query(
            "UPDATE deprovision_rows SET input = $1, user_name = $2
             WHERE user_id = $3 AND job_id IN (SELECT id FROM deprovision_jobs WHERE tenant_id = $4)",
        )
        .bind(input)
        .bind(user_name)
        .bind(user_id)
        .bind(tid)
        .execute(self.conn().await?)
        .await?;
        sqlx::query("UPDATE transfers SET payload = '{}' WHERE tenant_id = $1 AND user_id = $2")
            .bind(tid)
            .bind(user_id)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Rewrite with `redact` the rows elsewhere that name the user: those
    /// `found` outside the write (read again now), those appended since,
    /// and those of the small places. How many changed.
    pub async fn redact_mentions(
        &mut self,
        found: &Mentions,
        redact: Redact<'_>,
    ) -> StoreResult<usize> {
        self.flush_records().await?;
        let tid = self.tid();
        let p = patterns(&found.needles);
        let mut rows = found.found.clone();
        let audit_now = max_id(self.conn().await?, "audit_log", tid).await?;
        let events_now = max_id(self.conn().await?, "outbox", tid).await?;
        let tail = [
            (&AUDIT, found.audit_upto, audit_now),
            (&EVENTS, found.events_upto, events_now),
        ];
        for (place, after, upto) in tail {
            rows.extend(find(self.conn().await?, tid, place, &p, Some((after, upto))).await?);
        }
        for place in SMALL {
            rows.extend(find(self.conn().await?, tid, place, &p, None).await?);
        }
        let mut changed = 0;
        for (place, key) in rows {
            let mut f = place.select(tid, &place.key_and_columns());
            place.by_key(&mut f, &key);
            f.sql(")");
            changed += rewrite(self.conn().await?, place, f, redact).await?;
        }
        Ok(changed)
    }

    /// Clear the tenant's fallback owner when it is this user; whether it was.
    pub async fn clear_fallback_owner_if(&mut self, user_id: &str) -> StoreResult<bool> {
        let tid = self.tid();
        Ok(sqlx::query(
            "UPDATE tenants SET fallback_owner = NULL WHERE id = $1 AND fallback_owner = $2",
        )
        .bind(tid)
        .bind(user_id)
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }

    /// Remove a user row for good: the credentials bound to it revoked, its
    /// invitations, console sessions, sign-in links and search terms gone.
    pub async fn erase_user(&mut self, pk: i64, user_id: &str, at: &str) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query("UPDATE tokens SET revoked = coalesce(revoked, $1) WHERE user_id = $2")
            .bind(at)
            .bind(user_id)
            .execute(self.conn().await?)
            .await?;
        for table in ["console_sessions", "console_login_links"] {
            let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND user_id = $2");
            sqlx::query(&sql)
                .bind(tid)
                .bind(user_id)
                .execute(self.conn().await?)
                .await?;
        }
        self.erase_invitations(user_id).await?;
        self.unindex_user(pk).await?;
        sqlx::query("DELETE FROM users WHERE pk = $1")
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patterns_escape_like_and_add_the_json_form() {
        let n = Needles {
            anywhere: vec!["50%_a\"b".into()],
            quoted: vec!["jo".into()],
        };
        assert_eq!(
            patterns(&n),
            vec![
                "%\"jo\"%".to_string(),
                "%50\\%\\_a\"b%".to_string(),
                "%50\\%\\_a\\\\\"b%".to_string(),
            ]
        );
    }

    #[test]
    fn json_strings_are_rewritten_and_stay_json() {
        let r = |s: &str| s.replace("jo", "[x]");
        let out = redact_json(r#"{"a":["jo",1,{"jo":"jo jo"}]}"#, &r);
        assert_eq!(out, r#"{"a":["[x]",1,{"jo":"[x] [x]"}]}"#);
        assert_eq!(redact_json("not json jo", &r), "not json [x]");
    }
}
