//! User rows: insert, update, local settings and holds, sign-ins, soft
//! deletion and restore (the erasure a purge performs is in `erase.rs`). Each method is one
//! statement (or a few) inside the caller's [`Tx`]; what to write, and
//! whether it is allowed, the directory has decided.

use serde_json::{Map, Value};

use super::pending::{values_list, MAX_BINDINGS};
use super::rows::{active, external_id, fold, user_name};
use super::sql::USER_VALUE_ATTRS;
use super::{Access, StoreResult, Tx};
use sqlx::{Any, AnyConnection};

impl Tx {
    /// Insert a user provisioned over SCIM; its primary key and status. In
    /// a run of creates ([`Tx::read_ahead_creates`]) its rows wait for the
    /// next statement.
    pub async fn insert_user(
        &mut self,
        id: &str,
        data: &Map<String, Value>,
        access: &Access,
        now: &str,
    ) -> StoreResult<(i64, String)> {
        if let Some(held) = self.hold_new_user(id, data, access, now) {
            return Ok(held);
        }
        let tid = self.tid();
        let (user_name, ci) = user_name(data);
        let json = Value::Object(data.clone()).to_string();
        let (pk, status): (i64, String) = sqlx::query_as(
            "INSERT INTO users (tenant_id, id, user_name, user_name_ci, external_id, active, user_type, role, plan, access, data, data_ci, version, created, last_modified, email_ci)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14, $15) RETURNING pk, status",
        )
        .bind(tid)
        .bind(id)
        .bind(user_name)
        .bind(ci)
        .bind(external_id(data))
        .bind(i64::from(active(data)))
        .bind(&access.user_type)
        .bind(&access.role)
        .bind(&access.plan)
        .bind(access.explain.to_string())
        .bind(&json)
        .bind(fold(&json))
        .bind(now)
        .bind(now)
        .bind(sort_email(data).flatten())
        .fetch_one(self.conn().await?)
        .await?;
        self.write_user_values(pk, data, sort_email(data).is_some())
            .await?;
        self.index_new_user(pk, data).await?;
        Ok((pk, status))
    }

    /// Insert an invited user: not managed by an IdP, with local settings
    /// (its invitation link is a row of its own).
    pub async fn insert_invited_user(
        &mut self,
        id: &str,
        data: &Map<String, Value>,
        access: &Access,
        local: &Value,
        now: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        let user_name = data
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let json = Value::Object(data.clone()).to_string();
        sqlx::query(
            "INSERT INTO users (tenant_id, id, user_name, user_name_ci, external_id, active, user_type, role, plan, access, local_access, managed, invited, data, data_ci, version, created, last_modified)
             VALUES ($1, $2, $3, $4, NULL, 1, $5, $6, $7, $8, $9, 0, 1, $10, $11, 1, $12, $13)",
        )
        .bind(tid)
        .bind(id)
        .bind(user_name)
        .bind(fold(user_name))
        .bind(&access.user_type)
        .bind(&access.role)
        .bind(&access.plan)
        .bind(access.explain.to_string())
        .bind(local.to_string())
        .bind(&json)
        .bind(fold(&json))
        .bind(now)
        .bind(now)
        .execute(self.conn().await?)
        .await?;
        let pk: i64 = sqlx::query_scalar("SELECT pk FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(self.conn().await?)
            .await?;
        self.write_user_values(pk, data, false).await?;
        self.index_new_user(pk, data).await
    }

    /// Write a user's new SCIM data (promoted columns, search terms,
    /// version, time) over `old`; the status and effective-access
    /// explanation the row has then.
    pub async fn update_user_data(
        &mut self,
        pk: i64,
        old: &Map<String, Value>,
        data: &Map<String, Value>,
        version: i64,
        now: &str,
    ) -> StoreResult<(String, Option<Value>)> {
        let (user_name, ci) = user_name(data);
        let json = Value::Object(data.clone()).to_string();
        let (status, access): (String, String) = sqlx::query_as(
            "UPDATE users SET user_name = $1, user_name_ci = $2, external_id = $3, active = $4, data = $5, data_ci = $6, version = $7, last_modified = $8
             WHERE pk = $9 RETURNING status, access",
        )
        .bind(user_name)
        .bind(ci)
        .bind(external_id(data))
        .bind(i64::from(active(data)))
        .bind(&json)
        .bind(fold(&json))
        .bind(version)
        .bind(now)
        .bind(pk)
        .fetch_one(self.conn().await?)
        .await?;
        self.reindex_user(pk, old, data).await?;
        Ok((status, serde_json::from_str(&access).ok()))
    }

    /// Rewrite the rows multi-valued filters use (emails, phone numbers …)
    /// when they changed.
    pub async fn replace_user_values(
        &mut self,
        pk: i64,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
    ) -> StoreResult<()> {
        if USER_VALUE_ATTRS.iter().all(|a| new.get(*a) == old.get(*a)) {
            return Ok(());
        }
        sqlx::query("DELETE FROM user_values WHERE user_pk = $1")
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        let sorted = matches!((sort_email(old), sort_email(new)), (Some(a), Some(b)) if a == b);
        self.write_user_values(pk, new, sorted).await
    }

    /// The rows of a user's multi-valued attributes, in one statement,
    /// and the email the admin list sorts by (unless `sorted`: the row
    /// holds it already).
    pub(super) async fn write_user_values(
        &mut self,
        pk: i64,
        data: &Map<String, Value>,
        sorted: bool,
    ) -> StoreResult<()> {
        let rows = value_rows(self.tid(), pk, data);
        let rows: Vec<&ValueRow> = rows.iter().collect();
        insert_value_rows(self.conn().await?, &rows).await?;
        if sorted {
            return Ok(());
        }
        sort_emails_of(self.conn().await?, &[pk]).await
    }

    /// A user's status and effective-access explanation as stored now.
    pub async fn user_status_access(&mut self, pk: i64) -> StoreResult<(String, Option<Value>)> {
        let (s, a): (String, String) =
            sqlx::query_as("SELECT status, access FROM users WHERE pk = $1")
                .bind(pk)
                .fetch_one(self.conn().await?)
                .await?;
        Ok((s, serde_json::from_str(&a).ok()))
    }

    /// Put a ban on (keeping when it first started) with this reason.
    pub async fn set_ban(&mut self, pk: i64, at: &str, reason: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET banned_at = coalesce(banned_at, $1), ban_reason = $2 WHERE pk = $3",
        )
        .bind(at)
        .bind(reason)
        .bind(pk)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Lift a ban; false when there was none.
    pub async fn unban(&mut self, pk: i64) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE users SET banned_at = NULL, ban_reason = NULL WHERE pk = $1 AND banned_at IS NOT NULL",
        )
        .bind(pk)
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }

    /// Set SCIM `active` (the data carries the new value too).
    pub async fn set_active(
        &mut self,
        pk: i64,
        on: bool,
        data: &Map<String, Value>,
    ) -> StoreResult<()> {
        let json = Value::Object(data.clone()).to_string();
        sqlx::query("UPDATE users SET active = $1, data = $2, data_ci = $3 WHERE pk = $4")
            .bind(i64::from(on))
            .bind(&json)
            .bind(fold(&json))
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Replace the local admin settings.
    pub async fn set_local(&mut self, pk: i64, local: &Value) -> StoreResult<()> {
        sqlx::query("UPDATE users SET local_access = $1 WHERE pk = $2")
            .bind(local.to_string())
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Record a sign-in (the first one stays).
    pub async fn mark_signed_in(&mut self, pk: i64, at: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET signed_in_at = coalesce(signed_in_at, $1), last_sign_in_at = $2 WHERE pk = $3",
        )
        .bind(at)
        .bind(at)
        .bind(pk)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// A new version of a user (its ETag changes).
    pub async fn bump_user(&mut self, pk: i64, at: &str) -> StoreResult<()> {
        sqlx::query("UPDATE users SET version = version + 1, last_modified = $1 WHERE pk = $2")
            .bind(at)
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// The groups a user is a direct member of, by id, oldest first.
    pub async fn direct_group_ids(&mut self, user_id: &str) -> StoreResult<Vec<String>> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(
            "SELECT g.id FROM memberships m JOIN groups g ON g.pk = m.group_pk
             WHERE m.tenant_id = $1 AND m.member_id = $2 ORDER BY g.pk",
        )
        .bind(tid)
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await?)
    }

    /// Soft-delete: hidden from SCIM, with the deletion record.
    pub async fn mark_deleted(
        &mut self,
        pk: i64,
        at: &str,
        deletion: &Value,
        purge_after: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET deleted_at = $1, deletion = $2, purge_after = $3, version = version + 1, last_modified = $4
             WHERE pk = $5",
        )
        .bind(at)
        .bind(deletion.to_string())
        .bind(purge_after)
        .bind(at)
        .bind(pk)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Rewrite a deleted user's deletion record (and, when given, the end
    /// of its retention window).
    pub async fn set_deletion(
        &mut self,
        pk: i64,
        deletion: &Value,
        purge_after: Option<&str>,
    ) -> StoreResult<()> {
        match purge_after {
            Some(p) => {
                sqlx::query("UPDATE users SET deletion = $1, purge_after = $2 WHERE pk = $3")
                    .bind(deletion.to_string())
                    .bind(p)
                    .bind(pk)
                    .execute(self.conn().await?)
                    .await?
            }
            None => {
                sqlx::query("UPDATE users SET deletion = $1 WHERE pk = $2")
                    .bind(deletion.to_string())
                    .bind(pk)
                    .execute(self.conn().await?)
                    .await?
            }
        };
        Ok(())
    }

    /// Bring a soft-deleted user back.
    pub async fn undelete(&mut self, pk: i64, at: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET deleted_at = NULL, deletion = NULL, purge_after = NULL, version = version + 1, last_modified = $1
             WHERE pk = $2",
        )
        .bind(at)
        .bind(pk)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }
}

/// One row of `user_values`: an item of a multi-valued attribute.
#[derive(Debug)]
pub(super) struct ValueRow {
    user_pk: i64,
    tenant_id: i64,
    attr: &'static str,
    value: Option<String>,
    value_ci: Option<String>,
    type_ci: Option<String>,
    primary: i64,
    elem: String,
    elem_ci: String,
}

/// The columns of a [`ValueRow`], in the statement's order.
const VALUE_COLUMNS: usize = 9;
/// Rows one statement writes at most.
const VALUES_PER_STATEMENT: usize = MAX_BINDINGS / VALUE_COLUMNS;

/// The `user_values` rows user `pk`'s data gives.
pub(super) fn value_rows(tenant_id: i64, pk: i64, data: &Map<String, Value>) -> Vec<ValueRow> {
    let mut rows = Vec::new();
    for attr in USER_VALUE_ATTRS {
        let Some(Value::Array(items)) = data.get(*attr) else {
            continue;
        };
        for item in items {
            let value = item.get("value").and_then(Value::as_str);
            let elem = item.to_string();
            rows.push(ValueRow {
                user_pk: pk,
                tenant_id,
                attr,
                value: value.map(str::to_string),
                value_ci: value.map(fold),
                type_ci: item.get("type").and_then(Value::as_str).map(fold),
                primary: i64::from(
                    item.get("primary")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                ),
                elem_ci: fold(&elem),
                elem,
            });
        }
    }
    rows
}

/// Insert `rows`, as many a statement as [`VALUES_PER_STATEMENT`].
pub(super) async fn insert_value_rows(
    conn: &mut AnyConnection,
    rows: &[&ValueRow],
) -> StoreResult<()> {
    for part in rows.chunks(VALUES_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO user_values (user_pk, tenant_id, attr, value, value_ci, type_ci, is_primary, elem, elem_ci) VALUES {}",
            values_list(part.len(), VALUE_COLUMNS)
        );
        let mut q = sqlx::query::<Any>(&sql)
            .persistent(part.len() <= 4 || part.len() == VALUES_PER_STATEMENT);
        for r in part {
            q = q
                .bind(r.user_pk)
                .bind(r.tenant_id)
                .bind(r.attr)
                .bind(r.value.as_deref())
                .bind(r.value_ci.as_deref())
                .bind(r.type_ci.as_deref())
                .bind(r.primary)
                .bind(r.elem.as_str())
                .bind(r.elem_ci.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Write the email the admin list sorts by (its index) for users `pks`:
/// the least of their emails, as the database orders text.
pub(super) async fn sort_emails_of(conn: &mut AnyConnection, pks: &[i64]) -> StoreResult<()> {
    for part in pks.chunks(MAX_BINDINGS) {
        let sql = format!(
            "UPDATE users SET email_ci = (SELECT min(v.value_ci) FROM user_values v
               WHERE v.user_pk = users.pk AND v.attr = 'emails') WHERE pk IN ({})",
            values_list(1, part.len())
                .trim_start_matches('(')
                .trim_end_matches(')')
        );
        let mut q = sqlx::query::<Any>(&sql).persistent(part.len() == 1);
        for pk in part {
            q = q.bind(*pk);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The email the admin list sorts a user by, when it does not take the
/// database's ordering of text to tell: `Some(None)` with no email,
/// `Some(the only one, folded)` with one; `None` with two or more (the
/// least of them, as the database orders text, is written by a statement).
pub(super) fn sort_email(data: &Map<String, Value>) -> Option<Option<String>> {
    let values: Vec<&str> = match data.get("emails") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.get("value").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    };
    match values.as_slice() {
        [] => Some(None),
        [one] => Some(Some(fold(one))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_sort_email_is_told_without_the_database_for_none_or_one() {
        assert_eq!(sort_email(&data(json!({"userName": "a"}))), Some(None));
        assert_eq!(
            sort_email(&data(json!({"emails": [{"value": "ÉDITH@x.org"}]}))),
            Some(Some(fold("ÉDITH@x.org")))
        );
        // An element without a string value has no row value.
        assert_eq!(
            sort_email(&data(
                json!({"emails": [{"type": "work"}, {"value": "b@x"}]})
            )),
            Some(Some("b@x".into()))
        );
        assert_eq!(
            sort_email(&data(
                json!({"emails": [{"value": "b@x"}, {"value": "a@x"}]})
            )),
            None
        );
    }
}
