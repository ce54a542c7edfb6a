//! One administrative change to a user (ban, unban, enable/disable, local
//! settings, a sign-in) inside a transaction: the caller's checks, the
//! change itself, the recomputed access, the last-super-admin guard, the
//! audit row and the events.

use serde_json::{json, Value};

use super::super::guards::{is_active_super_admin, SuperAdminGuard};
use super::super::recompute::AccessCause;
use super::super::{Directory, DirectoryError, DirectoryResult};
use crate::store::{Access, Change, Event, Tx, UserRecord};
use scim_protocol::datetime;

/// An administrative change to one user (admin API, host reports).
#[derive(Debug, Clone)]
pub enum UserOp {
    Ban(String),
    Unban,
    SetActive(bool),
    /// A JSON merge patch (RFC 7386) of the local admin settings, applied
    /// inside the transaction; `transfer_to` receives the user's assets
    /// should the change make them a viewer.
    MergeLocal {
        patch: Value,
        transfer_to: Option<String>,
    },
    SignIn,
}

/// What applying an operation did.
struct Applied {
    changed: bool,
    /// Whether the user gets a new version (a repeat sign-in does not).
    bump: bool,
    events: Vec<Event>,
}

impl Directory {
    /// Apply `op` to the live user `key` in `tx`. `check` sees the current
    /// record first and may refuse; `after` sees the effective access before
    /// and after and may refuse; the tenant keeps an active super-admin.
    /// The changed user's id.
    pub(crate) async fn user_op(
        &self,
        tx: &mut Tx,
        key: &str,
        op: UserOp,
        check: impl FnOnce(&UserRecord) -> DirectoryResult<()> + Send,
        after: impl FnOnce(&UserRecord, &Access, &Access) -> DirectoryResult<()> + Send,
        mut change: Change,
    ) -> DirectoryResult<String> {
        let user = tx
            .find_user(key)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(DirectoryError::resource_not_found)?;
        check(&user)?;
        self.op_guards(tx, &user, &op).await?;
        // Only a change of an active super-admin can lower their count.
        let at_risk = is_active_super_admin(&user.role, &user.status);
        let guard = SuperAdminGuard::before(tx, at_risk).await?;
        let at = datetime::format(change.at);
        let mut applied = apply(tx, &user, &op, &at).await?;
        if !applied.changed {
            return Ok(user.id);
        }
        // Local settings feed the effective access.
        let (row, access) = self.compute_access(tx, user.pk, &user.id).await?;
        after(&user, &row.access, &access)?;
        // A repeat sign-in gets a new version only when it moved the
        // effective access (new claims from an ID token).
        let moved = access != row.access;
        let cause = AccessCause {
            successor: match &op {
                UserOp::MergeLocal { transfer_to, .. } => transfer_to.as_deref(),
                _ => None,
            },
            ..AccessCause::of(&change)
        };
        applied.events.extend(
            self.store_access(tx, user.pk, &user.id, &row.access, &access, &cause)
                .await?,
        );
        if applied.bump || moved {
            tx.bump_user(user.pk, &at).await?;
        }
        guard.check(tx).await?;
        change.audit.object_id = Some(user.id.clone());
        change.audit.object_name = Some(user.user_name.clone());
        change.event.object_id = Some(user.id.clone());
        if change.event.payload == json!({}) {
            change.event.payload = json!({"id": user.id});
        }
        tx.record(&change).await?;
        tx.record_events(change.at, &applied.events).await?;
        Ok(user.id)
    }
}

/// The user as the change left it, then commit: what every admin operation
/// answers.
pub(crate) async fn commit_user(mut tx: Tx, id: &str) -> DirectoryResult<UserRecord> {
    let out = tx
        .find_user(id)
        .await?
        .ok_or_else(|| DirectoryError::Internal(format!("user {id} vanished in its own write")))?;
    tx.commit().await?;
    Ok(out)
}

async fn apply(tx: &mut Tx, user: &UserRecord, op: &UserOp, at: &str) -> DirectoryResult<Applied> {
    let mut out = Applied {
        changed: true,
        bump: true,
        events: Vec::new(),
    };
    match op {
        UserOp::Ban(reason) => {
            let same = user.banned_at.is_some() && user.ban_reason.as_deref() == Some(reason);
            if !same {
                tx.set_ban(user.pk, at, reason).await?;
            }
            out.changed = !same;
        }
        UserOp::Unban => out.changed = tx.unban(user.pk).await?,
        UserOp::SetActive(on) => {
            let was = user
                .data
                .get("active")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if was != *on {
                let mut data = user.data.clone();
                data.insert("active".into(), Value::Bool(*on));
                tx.set_active(user.pk, *on, &data).await?;
                out.events.push(Event {
                    kind: if *on {
                        "user.reactivated"
                    } else {
                        "user.deactivated"
                    }
                    .into(),
                    object_id: Some(user.id.clone()),
                    payload: json!({"id": user.id}),
                });
            }
            out.changed = was != *on;
        }
        UserOp::MergeLocal { patch, .. } => {
            let mut local = user.local.clone();
            merge_patch(&mut local, patch);
            out.changed = local != user.local;
            if out.changed {
                tx.set_local(user.pk, &local).await?;
            }
        }
        UserOp::SignIn => {
            let first = user.signed_in_at.is_none();
            tx.mark_signed_in(user.pk, at).await?;
            out.bump = first;
            if first {
                // However the first sign-in comes, an open invitation is
                // used up with it.
                tx.end_invitation(&user.id, "accepted", at).await?;
                out.events.push(Event {
                    kind: "user.activated".into(),
                    object_id: Some(user.id.clone()),
                    payload: json!({"id": user.id, "firstSignIn": at}),
                });
            }
        }
    }
    Ok(out)
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

impl Directory {
    /// Create a user by invitation: status `invited`, not managed by an IdP,
    /// with local access settings; `after` may refuse the access it would
    /// get. The new user's id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_invited(
        &self,
        tx: &mut Tx,
        id: &str,
        data: &serde_json::Map<String, Value>,
        local: &Value,
        after: impl FnOnce(&Access) -> DirectoryResult<()> + Send,
        change: &Change,
    ) -> DirectoryResult<()> {
        use super::super::guards::{check_seat, check_unique};
        check_unique(tx, scim_protocol::schema::Kind::User, data, None).await?;
        let access = self
            .compute(
                tx,
                &crate::directory::access::UserFacts {
                    data,
                    local,
                    groups: &[],
                    claims: None,
                },
            )
            .await?;
        after(&access)?;
        check_seat(tx, &access.user_type).await?;
        self.check_unique_emails(tx, None, data, None).await?;
        let at = datetime::format(change.at);
        tx.insert_invited_user(id, data, &access, local, &at)
            .await?;
        tx.record(change).await?;
        Ok(())
    }
}
