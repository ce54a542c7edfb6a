//! User lifecycle: admin operations (ban, disable, local access,
//! sign-ins), soft deletion with an ownership transfer, restore and purge,
//! and the delivery queues the background worker drains. Each method is one
//! transaction carrying its audit row and events.

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::db::{
    access_events, active_super_admins, check_seat, check_unique, group_change, guard_super_admins,
    record, record_audit, record_events, write_access,
};
use super::{
    Access, Change, Event, EventCall, Store, StoreError, StoreResult, SuccessorChoice, Tenant,
    TransferCall, UserFacts, UserOp, UserRecord,
};
use crate::scim::datetime;
use crate::scim::schema::{Kind, URN_ENTERPRISE};

pub(super) const USER_COLUMNS: &str = "pk, id, user_name, data, status, user_type, role, plan, access, local_access, managed,
    signed_in_at, last_sign_in_at, banned_at, ban_reason, deleted_at, deletion, purge_after, version, created, last_modified";

/// id, tenant id, tenant name, user, successor, key, payload, attempts.
type TransferRow = (i64, i64, String, String, String, String, String, i64);
/// id, tenant, at, kind, object id, payload, attempts, next attempt.
type EventRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
);

fn parse_json(s: &str) -> StoreResult<Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn row_to_user(r: &AnyRow) -> StoreResult<UserRecord> {
    let data = match parse_json(&r.try_get::<String, _>("data")?)? {
        Value::Object(m) => m,
        _ => return Err(StoreError::Corrupt("user data is not an object".into())),
    };
    Ok(UserRecord {
        pk: r.try_get("pk")?,
        id: r.try_get("id")?,
        user_name: r.try_get("user_name")?,
        data,
        status: r.try_get("status")?,
        user_type: r.try_get("user_type")?,
        role: r.try_get("role")?,
        plan: r.try_get("plan")?,
        access: parse_json(&r.try_get::<String, _>("access")?)?,
        local: parse_json(&r.try_get::<String, _>("local_access")?)?,
        managed: r.try_get::<i64, _>("managed")? != 0,
        signed_in_at: r.try_get("signed_in_at")?,
        last_sign_in_at: r.try_get("last_sign_in_at")?,
        banned_at: r.try_get("banned_at")?,
        ban_reason: r.try_get("ban_reason")?,
        deleted_at: r.try_get("deleted_at")?,
        deletion: r
            .try_get::<Option<String>, _>("deletion")?
            .map(|d| parse_json(&d))
            .transpose()?,
        purge_after: r.try_get("purge_after")?,
        version: r.try_get("version")?,
        created: r.try_get("created")?,
        last_modified: r.try_get("last_modified")?,
    })
}

/// A user by id, or by userName among live users; deleted users by id only.
pub(super) async fn find_user(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    key: &str,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2
         UNION ALL
         SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_name_ci = $3 AND deleted_at IS NULL
         LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(tenant.id)
        .bind(key)
        .bind(super::db::fold(key))
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(row_to_user).transpose()
}

/// The user as the change left it, then commit: what every admin operation
/// answers.
async fn commit_with_user(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    tenant: &Tenant,
    id: &str,
) -> StoreResult<UserRecord> {
    let out = find_user(&mut tx, tenant, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(out)
}

fn add_days(at: OffsetDateTime, days: i64) -> OffsetDateTime {
    at.checked_add(time::Duration::days(days)).unwrap_or(at)
}

impl Store {
    /// A user by id or userName, deleted ones included (by id).
    pub async fn user_record(&self, tenant: &Tenant, key: &str) -> StoreResult<Option<UserRecord>> {
        let mut conn = self.read.acquire().await?;
        find_user(&mut conn, tenant, key).await
    }

    /// The user an open invitation (by the hash of its secret) is for.
    pub async fn user_by_invite(
        &self,
        tenant: &Tenant,
        hash: &str,
    ) -> StoreResult<Option<UserRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND invite_hash = $2 AND deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(hash)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(row_to_user).transpose()
    }

    /// One administrative change to a user. `check` sees the current record
    /// first and may refuse; `after` sees the effective access before and
    /// after the change and may refuse; the tenant must keep an active
    /// super-admin.
    pub async fn user_op(
        &self,
        tenant: &Tenant,
        key: &str,
        op: UserOp,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        after: impl FnOnce(&UserRecord, &Access, &Access) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<UserRecord> {
        let mut tx = self.begin_write(tenant.id).await?;
        let id = self
            .user_op_in(&mut tx, tenant, key, op, check, after, change)
            .await?;
        commit_with_user(tx, tenant, &id).await
    }

    /// [`Store::user_op`] inside a transaction the caller holds; the
    /// changed user's id.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn user_op_in(
        &self,
        tx: &mut AnyConnection,
        tenant: &Tenant,
        key: &str,
        op: UserOp,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        after: impl FnOnce(&UserRecord, &Access, &Access) -> StoreResult<()> + Send,
        mut change: Change,
    ) -> StoreResult<String> {
        let user = find_user(&mut *tx, tenant, key)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or(StoreError::NotFound)?;
        check(&user)?;
        // Only a change of an active super-admin can lower their count.
        let before = if user.is_active_super_admin() {
            active_super_admins(&mut *tx, tenant).await?
        } else {
            0
        };
        let at = datetime::format(change.at);
        let mut events = Vec::new();
        let mut bump = true;
        let changed = match &op {
            UserOp::Ban(reason) => {
                let same = user.banned_at.is_some() && user.ban_reason.as_deref() == Some(reason);
                if !same {
                    sqlx::query(
                        "UPDATE users SET banned_at = coalesce(banned_at, $1), ban_reason = $2 WHERE pk = $3",
                    )
                    .bind(&at)
                    .bind(reason)
                    .bind(user.pk)
                    .execute(&mut *tx)
                    .await?;
                }
                !same
            }
            UserOp::Unban => {
                sqlx::query(
                    "UPDATE users SET banned_at = NULL, ban_reason = NULL WHERE pk = $1 AND banned_at IS NOT NULL",
                )
                .bind(user.pk)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0
            }
            UserOp::SetActive(on) => {
                let was = user.data.get("active").and_then(Value::as_bool).unwrap_or(true);
                if was != *on {
                    let mut data = user.data.clone();
                    data.insert("active".into(), Value::Bool(*on));
                    sqlx::query("UPDATE users SET active = $1, data = $2 WHERE pk = $3")
                        .bind(i64::from(*on))
                        .bind(Value::Object(data).to_string())
                        .bind(user.pk)
                        .execute(&mut *tx)
                        .await?;
                    events.push(Event {
                        kind: if *on { "user.reactivated" } else { "user.deactivated" }.into(),
                        object_id: Some(user.id.clone()),
                        payload: json!({"id": user.id}),
                    });
                }
                was != *on
            }
            UserOp::MergeLocal(patch) => {
                let mut local = user.local.clone();
                merge_patch(&mut local, patch);
                if local == user.local {
                    false
                } else {
                    sqlx::query("UPDATE users SET local_access = $1 WHERE pk = $2")
                        .bind(local.to_string())
                        .bind(user.pk)
                        .execute(&mut *tx)
                        .await?;
                    true
                }
            }
            UserOp::SignIn => {
                let first = user.signed_in_at.is_none();
                sqlx::query(
                    "UPDATE users SET signed_in_at = coalesce(signed_in_at, $1), last_sign_in_at = $2, invite_hash = NULL WHERE pk = $3",
                )
                .bind(&at)
                .bind(&at)
                .bind(user.pk)
                .execute(&mut *tx)
                .await?;
                bump = first;
                if first {
                    events.push(Event {
                        kind: "user.activated".into(),
                        object_id: Some(user.id.clone()),
                        payload: json!({"id": user.id, "firstSignIn": at}),
                    });
                }
                true
            }
        };
        if !changed {
            return Ok(user.id);
        }
        // Local settings feed the effective access.
        let (row, access) = self
            .compute_access(&mut *tx, tenant, user.pk, &user.id)
            .await?;
        after(&user, &row.access, &access)?;
        if access != row.access {
            if access.user_type != row.access.user_type {
                check_seat(&mut *tx, tenant, &access.user_type).await?;
            }
            write_access(&mut *tx, user.pk, &access).await?;
            events.extend(access_events(&user.id, &row.access, &access));
        }
        if bump {
            sqlx::query("UPDATE users SET version = version + 1, last_modified = $1 WHERE pk = $2")
                .bind(&at)
                .bind(user.pk)
                .execute(&mut *tx)
                .await?;
        }
        guard_super_admins(&mut *tx, tenant, before).await?;
        change.audit.object_id = Some(user.id.clone());
        change.audit.object_name = Some(user.user_name.clone());
        change.event.object_id = Some(user.id.clone());
        if change.event.payload == json!({}) {
            change.event.payload = json!({"id": user.id});
        }
        record(&mut *tx, tenant, &change).await?;
        record_events(&mut *tx, tenant, change.at, &events).await?;
        Ok(user.id)
    }

    /// Create a user by invitation (admin API): status `invited`, not managed
    /// by an IdP, with local access settings.
    #[allow(clippy::too_many_arguments)]
    pub async fn invite_user(
        &self,
        tenant: &Tenant,
        id: &str,
        data: &serde_json::Map<String, Value>,
        local: &Value,
        invite_hash: &str,
        after: impl FnOnce(&Access) -> StoreResult<()> + Send,
        change: &Change,
    ) -> StoreResult<UserRecord> {
        let mut tx = self.begin_write(tenant.id).await?;
        check_unique(&mut tx, Kind::User, tenant, data, None).await?;
        let access = self.policy.compute(
            &tenant.name,
            &UserFacts {
                data,
                local,
                groups: &[],
            },
        );
        after(&access)?;
        check_seat(&mut tx, tenant, &access.user_type).await?;
        let at = datetime::format(change.at);
        let user_name = data
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO users (tenant_id, id, user_name, user_name_ci, external_id, active, user_type, role, plan, access, local_access, managed, invited, data, version, created, last_modified, invite_hash)
             VALUES ($1, $2, $3, $4, NULL, 1, $5, $6, $7, $8, $9, 0, 1, $10, 1, $11, $12, $13)",
        )
        .bind(tenant.id)
        .bind(id)
        .bind(user_name)
        .bind(super::db::fold(user_name))
        .bind(&access.user_type)
        .bind(&access.role)
        .bind(&access.plan)
        .bind(access.explain.to_string())
        .bind(local.to_string())
        .bind(Value::Object(data.clone()).to_string())
        .bind(&at)
        .bind(&at)
        .bind(invite_hash)
        .execute(&mut *tx)
        .await?;
        let pk: i64 = sqlx::query_scalar("SELECT pk FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        super::db::write_user_values(&mut tx, tenant, pk, data).await?;
        record(&mut tx, tenant, change).await?;
        commit_with_user(tx, tenant, id).await
    }

    /// Soft-delete a user: hidden from SCIM at once (userName free, seat
    /// released, memberships remembered for a restore), then the ownership
    /// transfer: queued for the hook, immediate without one, or waiting when
    /// no successor can be found.
    pub async fn delete_user(
        &self,
        tenant: &Tenant,
        key: &str,
        if_match: Option<&str>,
        choice: &SuccessorChoice,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<UserRecord> {
        let mut tx = self.begin_write(tenant.id).await?;
        let id = self
            .delete_user_in(&mut tx, tenant, key, if_match, choice, check, change)
            .await?;
        commit_with_user(tx, tenant, &id).await
    }

    /// [`Store::delete_user`] inside a transaction the caller holds; the
    /// deleted user's id.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn delete_user_in(
        &self,
        tx: &mut AnyConnection,
        tenant: &Tenant,
        key: &str,
        if_match: Option<&str>,
        choice: &SuccessorChoice,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<String> {
        let user = find_user(&mut *tx, tenant, key)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .filter(|u| !choice.by_id || u.id == key)
            .ok_or(StoreError::NotFound)?;
        if let Some(tag) = if_match {
            if !crate::scim::etag::matches(tag, user.version) {
                return Err(StoreError::PreconditionFailed(format!(
                    "If-Match {tag} does not match the current version {}",
                    crate::scim::etag::etag(user.version)
                )));
            }
        }
        check(&user)?;
        let before = if user.is_active_super_admin() {
            active_super_admins(&mut *tx, tenant).await?
        } else {
            0
        };
        let successor = resolve_successor(&mut *tx, tenant, &user, choice).await?;
        let at = datetime::format(change.at);
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT g.id FROM memberships m JOIN groups g ON g.pk = m.group_pk
             WHERE m.tenant_id = $1 AND m.member_id = $2 ORDER BY g.pk",
        )
        .bind(tenant.id)
        .bind(&user.id)
        .fetch_all(&mut *tx)
        .await?;
        self.detach_member(&mut *tx, tenant, &user.id, Kind::User, &change)
            .await?;
        let mut deletion = json!({
            "requestedAt": at,
            "requestedBy": change.audit.actor,
            "groups": groups,
        });
        let mut events = Vec::new();
        let mut purge_after = None;
        match (&successor, choice.hook) {
            (Ok(s), true) => {
                deletion["state"] = json!("transferring");
                deletion["successor"] = s.clone();
                queue_transfer(&mut *tx, tenant, &user, s, &at, &change.audit.actor).await?;
            }
            (successor, false) => {
                // No host hook: nothing to hand over; the deletion completes.
                deletion["state"] = json!("deleted");
                deletion["completedAt"] = json!(at);
                if let Ok(s) = successor {
                    deletion["successor"] = s.clone();
                }
                deletion["transfer"] = json!("no ownership-transfer hook is configured");
                purge_after = Some(datetime::format(add_days(change.at, choice.retention_days)));
                events.push(Event {
                    kind: "user.deleted".into(),
                    object_id: Some(user.id.clone()),
                    payload: json!({"id": user.id, "userName": user.user_name}),
                });
            }
            (Err(why), true) => {
                deletion["state"] = json!("waiting");
                deletion["reason"] = json!(why);
            }
        }
        sqlx::query(
            "UPDATE users SET deleted_at = $1, deletion = $2, purge_after = $3, version = version + 1, last_modified = $4
             WHERE pk = $5",
        )
        .bind(&at)
        .bind(deletion.to_string())
        .bind(&purge_after)
        .bind(&at)
        .bind(user.pk)
        .execute(&mut *tx)
        .await?;
        guard_super_admins(&mut *tx, tenant, before).await?;
        let mut change = change;
        change.audit.object_id = Some(user.id.clone());
        change.audit.object_name = Some(user.user_name.clone());
        change.audit.description = match deletion["state"].as_str() {
            Some("transferring") => format!(
                "user \"{}\" deleted; ownership transfer to {} queued",
                user.user_name, deletion["successor"]["userName"]
            ),
            Some("waiting") => format!(
                "user \"{}\" deleted; ownership transfer waits: {}",
                user.user_name,
                deletion["reason"].as_str().unwrap_or_default()
            ),
            _ => format!("user \"{}\" deleted", user.user_name),
        };
        change.event.object_id = Some(user.id.clone());
        change.event.payload =
            json!({"id": user.id, "userName": user.user_name, "deletion": deletion});
        record(&mut *tx, tenant, &change).await?;
        record_events(&mut *tx, tenant, change.at, &events).await?;
        Ok(user.id)
    }

    /// Name the successor of a deletion that is waiting for one.
    pub async fn set_successor(
        &self,
        tenant: &Tenant,
        id: &str,
        choice: &SuccessorChoice,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<UserRecord> {
        let mut tx = self.begin_write(tenant.id).await?;
        let user = find_user(&mut tx, tenant, id)
            .await?
            .filter(|u| u.deleted_at.is_some())
            .ok_or(StoreError::NotFound)?;
        check(&user)?;
        let mut deletion = user.deletion.clone().unwrap_or_else(|| json!({}));
        if deletion["state"] != "waiting" {
            return Err(StoreError::Conflict(format!(
                "the deletion of {} is not waiting for a successor (state: {})",
                user.id, deletion["state"]
            )));
        }
        let s = resolve_successor(&mut tx, tenant, &user, choice)
            .await?
            .map_err(StoreError::InvalidReference)?;
        let at = datetime::format(change.at);
        queue_transfer(&mut tx, tenant, &user, &s, &at, &change.audit.actor).await?;
        deletion["state"] = json!("transferring");
        deletion["successor"] = s;
        if let Some(o) = deletion.as_object_mut() {
            o.remove("reason");
        }
        sqlx::query("UPDATE users SET deletion = $1 WHERE pk = $2")
            .bind(deletion.to_string())
            .bind(user.pk)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, tenant, &change).await?;
        commit_with_user(tx, tenant, &user.id).await
    }

    /// Bring back a soft-deleted user (before the purge): same id, data and
    /// groups (those that still exist); a pending transfer is cancelled.
    pub async fn restore_user(
        &self,
        tenant: &Tenant,
        id: &str,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<UserRecord> {
        let mut tx = self.begin_write(tenant.id).await?;
        let user = find_user(&mut tx, tenant, id)
            .await?
            .filter(|u| u.deleted_at.is_some())
            .ok_or(StoreError::NotFound)?;
        check(&user)?;
        check_unique(&mut tx, Kind::User, tenant, &user.data, Some(user.pk)).await?;
        check_seat(&mut tx, tenant, &user.user_type).await?;
        let at = datetime::format(change.at);
        sqlx::query(
            "UPDATE transfers SET cancelled_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND delivered_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(&at)
        .bind(tenant.id)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
        let groups: Vec<String> = user
            .deletion
            .as_ref()
            .and_then(|d| d.get("groups"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut events = Vec::new();
        for g in &groups {
            let pk: Option<i64> = sqlx::query_scalar(
                "UPDATE groups SET version = version + 1, last_modified = $1 WHERE tenant_id = $2 AND id = $3 RETURNING pk",
            )
            .bind(&at)
            .bind(tenant.id)
            .bind(g)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(pk) = pk else { continue };
            sqlx::query(
                "INSERT INTO memberships (group_pk, tenant_id, member_id, member_type) VALUES ($1, $2, $3, 'User') ON CONFLICT DO NOTHING",
            )
            .bind(pk)
            .bind(tenant.id)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
            let group_change = group_change(
                &change,
                g,
                format!("member {} restored", user.id),
                json!({"id": g, "restoredMember": user.id}),
            );
            record(&mut tx, tenant, &group_change).await?;
        }
        sqlx::query(
            "UPDATE users SET deleted_at = NULL, deletion = NULL, purge_after = NULL, version = version + 1, last_modified = $1
             WHERE pk = $2",
        )
        .bind(&at)
        .bind(user.pk)
        .execute(&mut *tx)
        .await?;
        let (row, access) = self
            .compute_access(&mut tx, tenant, user.pk, &user.id)
            .await?;
        if access != row.access {
            if access.user_type != row.access.user_type {
                check_seat(&mut tx, tenant, &access.user_type).await?;
            }
            write_access(&mut tx, user.pk, &access).await?;
            events.extend(access_events(&user.id, &row.access, &access));
        }
        record(&mut tx, tenant, &change).await?;
        record_events(&mut tx, tenant, change.at, &events).await?;
        commit_with_user(tx, tenant, &user.id).await
    }

    /// Remove a deleted user's data for good. Audit rows stay, with the
    /// user's personal data (userName, names, emails) redacted; stored event
    /// payloads lose it too.
    pub async fn purge_user(
        &self,
        tenant: &Tenant,
        id: &str,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write(tenant.id).await?;
        let user = find_user(&mut tx, tenant, id)
            .await?
            .filter(|u| u.deleted_at.is_some() && u.id == id)
            .ok_or(StoreError::NotFound)?;
        check(&user)?;
        if user
            .deletion
            .as_ref()
            .and_then(|d| d.get("state"))
            .and_then(Value::as_str)
            != Some("deleted")
        {
            return Err(StoreError::Conflict(format!(
                "user {} cannot be purged before its ownership transfer completes",
                user.id
            )));
        }
        let mut pii: Vec<String> = vec![user.user_name.clone()];
        let d = &user.data;
        for key in ["displayName", "nickName", "externalId"] {
            if let Some(v) = d.get(key).and_then(Value::as_str) {
                pii.push(v.to_string());
            }
        }
        if let Some(name) = d.get("name").and_then(Value::as_object) {
            pii.extend(name.values().filter_map(Value::as_str).map(str::to_string));
        }
        for attr in ["emails", "phoneNumbers"] {
            if let Some(items) = d.get(attr).and_then(Value::as_array) {
                pii.extend(
                    items
                        .iter()
                        .filter_map(|i| i.get("value").and_then(Value::as_str))
                        .map(str::to_string),
                );
            }
        }
        // Names the user had before (renames) are in the audit trail.
        let old_names: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT DISTINCT object_name FROM audit_log WHERE tenant_id = $1 AND object_id = $2",
        )
        .bind(tenant.id)
        .bind(&user.id)
        .fetch_all(&mut *tx)
        .await?;
        pii.extend(old_names.into_iter().flatten());
        pii.retain(|p| p.chars().count() >= 3 && p != "[redacted]");
        pii.sort_by_key(|p| std::cmp::Reverse(p.len()));
        pii.dedup();
        // Rows about the user, and rows the user wrote as an admin.
        let rows: Vec<(i64, String, Option<String>, String)> = sqlx::query_as(
            "SELECT id, description, object_name, actor FROM audit_log
             WHERE tenant_id = $1 AND (object_id = $2 OR actor_user_id = $2)",
        )
        .bind(tenant.id)
        .bind(&user.id)
        .fetch_all(&mut *tx)
        .await?;
        let redact = |s: &str| {
            let mut s = s.to_string();
            for p in &pii {
                s = s.replace(p.as_str(), "[redacted]");
            }
            s
        };
        for (id, description, name, actor) in rows {
            sqlx::query(
                "UPDATE audit_log SET description = $1, object_name = $2, actor = $3 WHERE id = $4",
            )
            .bind(redact(&description))
            .bind(name.map(|n| redact(&n)))
            .bind(redact(&actor))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let events: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, payload FROM outbox WHERE tenant_id = $1 AND object_id = $2",
        )
        .bind(tenant.id)
        .bind(&user.id)
        .fetch_all(&mut *tx)
        .await?;
        for (id, payload) in events {
            // Redact inside string values, so the payload stays valid JSON.
            let mut v: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
            redact_strings(&mut v, &redact);
            sqlx::query("UPDATE outbox SET payload = $1 WHERE id = $2")
                .bind(v.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE transfers SET payload = '{}' WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.id)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE tokens SET revoked = coalesce(revoked, $1) WHERE user_id = $2")
            .bind(datetime::format(change.at))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE pk = $1")
            .bind(user.pk)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, tenant, &change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deleted users whose retention window has ended: (tenant, id).
    pub async fn due_purges(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<(Tenant, String)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT t.id, t.name, u.id FROM users u JOIN tenants t ON t.id = u.tenant_id
             WHERE u.purge_after IS NOT NULL AND u.purge_after <= $1 ORDER BY u.purge_after LIMIT $2",
        )
        .bind(datetime::format(now))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tid, name, id)| (Tenant { id: tid, name }, id))
            .collect())
    }

    /// Recompute every live user's effective access when the policy's
    /// fingerprint for the tenant changed (config edited between starts).
    /// Batches of 500 users per transaction; each changed user gets an audit
    /// row and its `user.role_changed`-style events. Returns how many changed.
    pub async fn reconcile_access(
        &self,
        tenant: &Tenant,
        fingerprint: &str,
        at: OffsetDateTime,
    ) -> StoreResult<usize> {
        let current: Option<String> =
            sqlx::query_scalar("SELECT policy_hash FROM tenants WHERE id = $1")
                .bind(tenant.id)
                .fetch_one(&self.read)
                .await?;
        if current.as_deref() == Some(fingerprint) {
            return Ok(0);
        }
        let mut after = 0i64;
        let mut changed = 0usize;
        loop {
            let mut tx = self.begin_write(tenant.id).await?;
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT pk, id FROM users WHERE tenant_id = $1 AND deleted_at IS NULL AND pk > $2 ORDER BY pk LIMIT 500",
            )
            .bind(tenant.id)
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else {
                tx.commit().await?;
                break;
            };
            after = last.0;
            let ids: Vec<String> = rows.into_iter().map(|(_, id)| id).collect();
            let mut events = Vec::new();
            self.recompute_users(&mut tx, tenant, &ids, at, &mut events)
                .await?;
            let mut seen = std::collections::HashSet::new();
            for e in &events {
                let Some(id) = &e.object_id else { continue };
                if !seen.insert(id.clone()) {
                    continue;
                }
                let audit = super::AuditEntry {
                    actor: "rollcall:config".into(),
                    object_type: "User".into(),
                    object_id: Some(id.clone()),
                    action: "access_recomputed".into(),
                    description: "effective access recomputed: the directory configuration changed"
                        .into(),
                    ..super::AuditEntry::default()
                };
                record_audit(&mut tx, tenant, at, &audit).await?;
            }
            changed += seen.len();
            record_events(&mut tx, tenant, at, &events).await?;
            tx.commit().await?;
        }
        sqlx::query("UPDATE tenants SET policy_hash = $1 WHERE id = $2")
            .bind(fingerprint)
            .bind(tenant.id)
            .execute(&self.write)
            .await?;
        Ok(changed)
    }

    /// Every tenant.
    pub async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM tenants ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| Tenant { id, name })
            .collect())
    }

    // ---- delivery queues ----------------------------------------------------

    /// Ownership-transfer calls due now, oldest first.
    pub async fn due_transfers(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<TransferCall>> {
        let rows: Vec<TransferRow> = sqlx::query_as(
            "SELECT x.id, t.id, t.name, x.user_id, x.successor_id, x.idempotency_key, x.payload, x.attempts
             FROM transfers x JOIN tenants t ON t.id = x.tenant_id
             WHERE x.delivered_at IS NULL AND x.cancelled_at IS NULL AND x.next_attempt_at <= $1
             ORDER BY x.next_attempt_at, x.id LIMIT $2",
        )
        .bind(datetime::format(now))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, tid, name, user_id, successor_id, idempotency_key, payload, attempts)| {
                    TransferCall {
                        id,
                        tenant: Tenant { id: tid, name },
                        user_id,
                        successor_id,
                        idempotency_key,
                        payload,
                        attempts,
                    }
                },
            )
            .collect())
    }

    /// The host acknowledged a transfer: the deletion completes (soft-deleted,
    /// restorable until `purge_after`).
    pub async fn transfer_delivered(
        &self,
        call: &TransferCall,
        purge_after: OffsetDateTime,
        change: Change,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write(call.tenant.id).await?;
        let at = datetime::format(change.at);
        let n = sqlx::query(
            "UPDATE transfers SET delivered_at = $1, attempts = attempts + 1, last_error = NULL
             WHERE id = $2 AND delivered_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(&at)
        .bind(call.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            // Cancelled by a restore while the call was in flight.
            tx.rollback().await?;
            return Ok(());
        }
        let user = find_user(&mut tx, &call.tenant, &call.user_id).await?;
        if let Some(user) = user.filter(|u| u.deleted_at.is_some()) {
            let mut deletion = user.deletion.clone().unwrap_or_else(|| json!({}));
            deletion["state"] = json!("deleted");
            deletion["completedAt"] = json!(at);
            sqlx::query("UPDATE users SET deletion = $1, purge_after = $2 WHERE pk = $3")
                .bind(deletion.to_string())
                .bind(datetime::format(purge_after))
                .bind(user.pk)
                .execute(&mut *tx)
                .await?;
        }
        record(&mut tx, &call.tenant, &change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A transfer call failed: try again at `next`, and audit the outcome
    /// (no event: the host hears of the deletion when it completes).
    pub async fn transfer_failed(
        &self,
        call: &TransferCall,
        next: OffsetDateTime,
        error: &str,
        at: OffsetDateTime,
        audit: &super::AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write(call.tenant.id).await?;
        sqlx::query(
            "UPDATE transfers SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(datetime::format(next))
        .bind(error)
        .bind(call.id)
        .execute(&mut *tx)
        .await?;
        record_audit(&mut tx, &call.tenant, at, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Events not yet delivered to the webhook, due now, in order.
    pub async fn due_events(&self, now: OffsetDateTime, limit: i64) -> StoreResult<Vec<EventCall>> {
        let rows: Vec<EventRow> =
            sqlx::query_as(
                "SELECT o.id, t.name, o.at, o.kind, o.object_id, o.payload, o.attempts, o.next_attempt_at
                 FROM outbox o JOIN tenants t ON t.id = o.tenant_id
                 WHERE o.delivered_at IS NULL ORDER BY o.id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let now = datetime::format(now);
        let mut out = Vec::new();
        for (id, tenant, at, kind, object_id, payload, attempts, next) in rows {
            // Delivery is in order: stop at the first event still backing off.
            if next.as_deref().is_some_and(|n| n > now.as_str()) {
                break;
            }
            out.push(EventCall {
                id,
                tenant: tenant.clone(),
                payload: json!({
                    "id": id,
                    "tenant": tenant,
                    "at": at,
                    "type": kind,
                    "objectId": object_id,
                    "data": parse_json(&payload)?,
                }),
                attempts,
            });
        }
        Ok(out)
    }

    pub async fn event_delivered(&self, id: i64, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
            .bind(datetime::format(at))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn event_failed(
        &self,
        id: i64,
        next: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
        )
        .bind(datetime::format(next))
        .bind(error)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Pending ownership transfers of a tenant (admin view).
    pub async fn pending_transfers(&self, tenant: &Tenant) -> StoreResult<Vec<Value>> {
        let rows: Vec<(String, String, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT user_id, successor_id, attempts, next_attempt_at, last_error FROM transfers
             WHERE tenant_id = $1 AND delivered_at IS NULL AND cancelled_at IS NULL ORDER BY id",
        )
        .bind(tenant.id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(u, s, a, n, e)| {
                json!({"userId": u, "successorId": s, "attempts": a, "nextAttemptAt": n, "lastError": e})
            })
            .collect())
    }
}

fn redact_strings(v: &mut Value, redact: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = redact(s),
        Value::Array(a) => a.iter_mut().for_each(|x| redact_strings(x, redact)),
        Value::Object(m) => m.values_mut().for_each(|x| redact_strings(x, redact)),
        _ => {}
    }
}

/// Apply a JSON merge patch (RFC 7386): `null` removes a member, objects
/// merge, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        // An emptied nested object is dropped too.
        t.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
    }
}

/// Queue the ownership-transfer call of a deletion (an outbox row in the
/// deletion's transaction), due now.
async fn queue_transfer(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    user: &UserRecord,
    successor: &Value,
    at: &str,
    actor: &str,
) -> StoreResult<()> {
    let key = uuid::Uuid::new_v4().to_string();
    let payload = json!({
        "type": "ownership.transfer",
        "idempotencyKey": key,
        "tenant": tenant.name,
        "user": {"id": user.id, "userName": user.user_name},
        "successor": successor,
        "requestedAt": at,
        "requestedBy": actor,
    });
    sqlx::query(
        "INSERT INTO transfers (tenant_id, user_id, successor_id, idempotency_key, payload, created, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant.id)
    .bind(&user.id)
    .bind(successor["id"].as_str().unwrap_or_default())
    .bind(&key)
    .bind(payload.to_string())
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The successor of a deletion: the one requested, else the user's manager,
/// else the tenant's fallback owner. `Ok(Err(why))` when there is none.
async fn resolve_successor(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    user: &UserRecord,
    choice: &SuccessorChoice,
) -> StoreResult<Result<Value, String>> {
    let usable = |u: &UserRecord| u.deleted_at.is_none() && u.id != user.id;
    if let Some(req) = &choice.requested {
        return match find_user(conn, tenant, req).await?.filter(usable) {
            Some(s) => Ok(Ok(
                json!({"id": s.id, "userName": s.user_name, "source": "request"}),
            )),
            None => Err(StoreError::InvalidReference(format!(
                "successor \"{req}\" is not another live user of this tenant"
            ))),
        };
    }
    let mut why = vec!["no successor was named".to_string()];
    let manager = user
        .data
        .get(URN_ENTERPRISE)
        .and_then(|e| e.get("manager"))
        .and_then(|m| m.get("value"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match manager {
        Some(m) => match find_user(conn, tenant, &m).await?.filter(usable) {
            Some(s) => {
                return Ok(Ok(
                    json!({"id": s.id, "userName": s.user_name, "source": "manager"}),
                ))
            }
            None => why.push(format!("the manager \"{m}\" is not a live user")),
        },
        None => why.push("the user has no manager".into()),
    }
    match &choice.fallback {
        Some(f) => match find_user(conn, tenant, f).await?.filter(usable) {
            Some(s) => {
                return Ok(Ok(
                    json!({"id": s.id, "userName": s.user_name, "source": "fallback"}),
                ))
            }
            None => why.push(format!("the fallback owner \"{f}\" is not a live user")),
        },
        None => why.push("the tenant has no fallback owner".into()),
    }
    Ok(Err(format!(
        "{}; name one with POST /admin/v1/users/{}/transfer",
        why.join(", "),
        user.id
    )))
}
