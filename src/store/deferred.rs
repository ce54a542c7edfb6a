//! User rows whose new SCIM data is written later in the same transaction:
//! a Bulk chunk's updates wait, and go to the database multi-row, as
//! `UPDATE … FROM (VALUES …)`, right before the transaction's next
//! statement (whatever it is: a read sees them) or its commit. Only the
//! columns an update of the data writes wait; nothing else of the row.

use serde_json::{Map, Value};
use sqlx::{Any, AnyConnection};

use super::pending::{values_list, MAX_BINDINGS};
use super::rows::{active, external_id, fold, user_name};
use super::{StoreResult, Tx};

/// The columns of one waiting row, in the order of the statement's `VALUES`.
const COLUMNS: usize = 9;
/// Rows one statement writes at most.
const PER_STATEMENT: usize = MAX_BINDINGS / COLUMNS;

/// One user's new data, as the row will hold it.
#[derive(Debug)]
pub(super) struct DeferredUser {
    pk: i64,
    user_name: String,
    user_name_ci: String,
    external_id: Option<String>,
    active: i64,
    data: String,
    data_ci: String,
    version: i64,
    last_modified: String,
    /// Whether the userName or externalId differ from the row's (only
    /// then does the statement write those columns and their indexes).
    keys_changed: bool,
}

impl DeferredUser {
    fn new(
        pk: i64,
        old: &Map<String, Value>,
        data: &Map<String, Value>,
        version: i64,
        now: &str,
    ) -> DeferredUser {
        let keys_changed =
            user_name(old).0 != user_name(data).0 || external_id(old) != external_id(data);
        let (name, ci) = user_name(data);
        let json = Value::Object(data.clone()).to_string();
        DeferredUser {
            pk,
            user_name: name,
            user_name_ci: ci,
            external_id: external_id(data),
            active: i64::from(active(data)),
            data_ci: fold(&json),
            data: json,
            version,
            last_modified: now.to_string(),
            keys_changed,
        }
    }
}

/// The statement writing `n` waiting rows (the `VALUES` columns are
/// `column1…` on both stores); the userName and externalId columns only
/// for rows whose keys changed.
fn update_sql(n: usize, keys: bool) -> String {
    let key_columns = if keys {
        "user_name = v.column2, user_name_ci = v.column3, external_id = v.column4, "
    } else {
        ""
    };
    format!(
        "UPDATE users SET {key_columns}active = v.column5, data = v.column6, data_ci = v.column7,
           version = v.column8, last_modified = v.column9
         FROM (VALUES {}) AS v WHERE users.pk = v.column1",
        values_list(n, COLUMNS)
    )
}

/// Hold `row`; a row already held for the same user gives way to it.
pub(super) fn hold(rows: &mut Vec<DeferredUser>, row: DeferredUser) {
    match rows.iter_mut().find(|r| r.pk == row.pk) {
        Some(held) => {
            let keys_changed = held.keys_changed || row.keys_changed;
            *held = row;
            held.keys_changed = keys_changed;
        }
        None => rows.push(row),
    }
}

/// Write the waiting rows, in statements of up to [`PER_STATEMENT`] (one
/// user appears once: [`hold`]).
pub(super) async fn write_deferred(
    conn: &mut AnyConnection,
    rows: &[DeferredUser],
) -> StoreResult<()> {
    let (renamed, same_keys): (Vec<&DeferredUser>, Vec<&DeferredUser>) =
        rows.iter().partition(|r| r.keys_changed);
    write_rows(conn, &renamed, true).await?;
    write_rows(conn, &same_keys, false).await
}

async fn write_rows(
    conn: &mut AnyConnection,
    rows: &[&DeferredUser],
    keys: bool,
) -> StoreResult<()> {
    for part in rows.chunks(PER_STATEMENT) {
        let sql = update_sql(part.len(), keys);
        let mut q = sqlx::query::<Any>(&sql).persistent(part.len() == PER_STATEMENT);
        for r in part {
            q = q
                .bind(r.pk)
                .bind(r.user_name.as_str())
                .bind(r.user_name_ci.as_str())
                .bind(r.external_id.as_deref())
                .bind(r.active)
                .bind(r.data.as_str())
                .bind(r.data_ci.as_str())
                .bind(r.version)
                .bind(r.last_modified.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Tx {
    /// From now on, [`Tx::defer_user_data`] may hold user rows until the
    /// next statement (a Bulk chunk's transaction).
    pub fn defer_user_writes(&mut self) {
        self.defer_users = true;
    }

    /// Whether this transaction holds user rows back ([`Tx::defer_user_writes`]).
    pub fn defers_user_writes(&self) -> bool {
        self.defer_users
    }

    /// Write a user's new SCIM data over `old` as [`Tx::update_user_data`]
    /// does, but hold the row until the transaction's next statement; the
    /// search terms are written now when they changed. Its status is not
    /// read back.
    pub async fn defer_user_data(
        &mut self,
        pk: i64,
        old: &Map<String, Value>,
        data: &Map<String, Value>,
        version: i64,
        now: &str,
    ) -> StoreResult<()> {
        hold(
            &mut self.deferred,
            DeferredUser::new(pk, old, data, version, now),
        );
        self.reindex_user(pk, old, data).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_statement_numbers_each_rows_values_in_order() {
        let sql = update_sql(2, true);
        assert!(sql.contains("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10,"));
        assert!(sql.contains("user_name_ci = v.column3"));
        assert!(sql.ends_with("AS v WHERE users.pk = v.column1"));
        assert!(!update_sql(2, false).contains("user_name"));
    }

    #[test]
    fn a_later_row_of_the_same_user_replaces_the_held_one_and_keeps_its_key_change() {
        let at = "2026-01-01T00:00:00Z";
        let a = obj(serde_json::json!({"userName": "a"}));
        let b = obj(serde_json::json!({"userName": "b"}));
        let mut rows = Vec::new();
        hold(&mut rows, DeferredUser::new(1, &a, &b, 2, at));
        hold(&mut rows, DeferredUser::new(2, &a, &a, 2, at));
        hold(&mut rows, DeferredUser::new(1, &b, &b, 3, at));
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].pk, rows[0].version, rows[0].keys_changed),
            (1, 3, true)
        );
        assert!(!rows[1].keys_changed);
    }

    #[test]
    fn a_waiting_row_holds_what_the_update_would_write() {
        let data = serde_json::json!({"userName": "Édith", "externalId": "e1", "active": false});
        let old = obj(serde_json::json!({"userName": "Édith", "externalId": "e1"}));
        let row = DeferredUser::new(
            7,
            &old,
            data.as_object().unwrap(),
            3,
            "2026-01-01T00:00:00Z",
        );
        assert!(!row.keys_changed);
        assert_eq!(row.user_name, "Édith");
        assert_eq!(row.user_name_ci, fold("Édith"));
        assert_eq!(row.external_id.as_deref(), Some("e1"));
        assert_eq!(row.active, 0);
        assert_eq!(row.data_ci, fold(&row.data));
        assert_eq!(row.version, 3);
    }
}
