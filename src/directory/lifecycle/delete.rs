//! Soft deletion: the user is hidden from SCIM at once (userName free, seat
//! released, memberships remembered for a restore, the tokens bound to
//! them revoked), then the ownership transfer: queued for the host's hook,
//! immediate without one, or waiting when no successor can be found — or,
//! when an admin chose so, the host is told to delete the assets instead.
//! Also: naming a successor later, and completing the deletion when the
//! host acknowledges the call.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::super::guards::{check_if_match, is_active_super_admin, SuperAdminGuard};
use super::super::{Directory, DirectoryError, DirectoryResult};
use super::successor::{
    queue_transfer, resolve_successor, waiting_reason, Order, SuccessorChoice, DELETION, VIEWER,
};
use crate::store::{AuditEntry, Change, DeliveryKind, Event, TransferCall, Tx, UserRecord};
use scim_protocol::datetime;
use scim_protocol::schema::Kind;

pub(super) fn add_days(at: OffsetDateTime, days: i64) -> OffsetDateTime {
    at.checked_add(time::Duration::days(days)).unwrap_or(at)
}

/// A soft-deleted user (by id), read inside the write.
pub(super) async fn deleted_user(tx: &mut Tx, id: &str) -> DirectoryResult<UserRecord> {
    tx.find_user(id)
        .await?
        .filter(|u| u.deleted_at.is_some())
        .ok_or_else(DirectoryError::resource_not_found)
}

/// The deletion record and the events a deletion makes, by what became of
/// the transfer.
struct Outcome {
    deletion: Value,
    purge_after: Option<String>,
    events: Vec<Event>,
}

impl Directory {
    /// Soft-delete the live user `key` in `tx`; the deleted user's id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn soft_delete(
        &self,
        tx: &mut Tx,
        key: &str,
        if_match: Option<&str>,
        choice: &SuccessorChoice,
        check: impl FnOnce(&UserRecord) -> DirectoryResult<()> + Send,
        change: Change,
    ) -> DirectoryResult<String> {
        let user = tx
            .find_user(key)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .filter(|u| !choice.by_id || u.id == key)
            .ok_or_else(DirectoryError::resource_not_found)?;
        check_if_match(if_match, user.version)?;
        check(&user)?;
        self.owner_guard(tx, &user, "deleted").await?;
        let guard =
            SuperAdminGuard::before(tx, is_active_super_admin(&user.role, &user.status)).await?;
        let at = datetime::format(change.at);
        let groups = tx.direct_group_ids(&user.id).await?;
        self.detach_member(tx, &user.id, Kind::User, &change)
            .await?;
        // A hand-over waiting since the user became a viewer is the
        // deletion's to make now.
        tx.cancel_transfers(&user.id, VIEWER, true, &at).await?;
        let deletion = json!({
            "requestedAt": at,
            "requestedBy": change.audit.actor,
            "groups": groups,
        });
        let outcome =
            transfer_outcome(tx, &user, choice, deletion, change.at, &change.audit.actor).await?;
        tx.mark_deleted(
            user.pk,
            &at,
            &outcome.deletion,
            outcome.purge_after.as_deref(),
        )
        .await?;
        // A deleted user's open invitation dies with it (a restore does
        // not revive it: resend).
        tx.end_invitation(&user.id, "withdrawn", &at).await?;
        guard.check(tx).await?;
        // The user's credentials die with the deletion, not at the purge.
        self.revoke_holder_tokens(tx, &user.id, change.at, &change.audit)
            .await?;
        let change = deletion_change(change, &user, &outcome.deletion);
        tx.record(&change).await?;
        tx.record_events(change.at, &outcome.events).await?;
        Ok(user.id)
    }

    /// Name the successor of a deletion that is waiting for one, or of a
    /// live viewer's hand-over waiting for one.
    pub(crate) async fn set_successor(
        &self,
        tx: &mut Tx,
        id: &str,
        choice: &SuccessorChoice,
        check: impl FnOnce(&UserRecord) -> DirectoryResult<()> + Send,
        change: Change,
    ) -> DirectoryResult<String> {
        let user = tx
            .find_user(id)
            .await?
            .ok_or_else(DirectoryError::resource_not_found)?;
        check(&user)?;
        if user.deleted_at.is_none() {
            return self
                .name_handover_successor(tx, &user, choice, change)
                .await;
        }
        let mut deletion = user.deletion.clone().unwrap_or_else(|| json!({}));
        if deletion["state"] != "waiting" {
            return Err(DirectoryError::Conflict(format!(
                "the deletion of {} is not waiting for a successor (state: {})",
                user.id, deletion["state"]
            )));
        }
        let s = resolve_successor(tx, &user, choice)
            .await?
            .map_err(DirectoryError::InvalidReference)?;
        let at = datetime::format(change.at);
        let order = Order {
            reason: DELETION,
            successor: Some(&s),
            waiting: None,
        };
        queue_transfer(tx, &user, &order, &at, &change.audit.actor).await?;
        deletion["state"] = json!("transferring");
        deletion["successor"] = s.clone();
        if let Some(o) = deletion.as_object_mut() {
            o.remove("reason");
        }
        tx.set_deletion(user.pk, &deletion, None).await?;
        let mut change = change;
        change.audit.details = Some(json!({"reason": DELETION, "successor": s}));
        tx.record(&change).await?;
        Ok(user.id)
    }

    /// The host acknowledged a transfer: the deletion completes (soft-deleted,
    /// restorable until `purge_after`). Nothing happens when a restore
    /// cancelled the transfer while the call was in flight.
    pub(crate) async fn complete_transfer(
        &self,
        call: &TransferCall,
        purge_after: OffsetDateTime,
        change: Change,
    ) -> DirectoryResult<()> {
        let mut tx = self.store.write(&call.tenant).await?;
        let at = datetime::format(change.at);
        if !tx.mark_transfer_delivered(call.id, &at).await? {
            tx.rollback().await?;
            return Ok(());
        }
        // A viewer's hand-over leaves the user as they are.
        let user = match call.reason == DELETION {
            true => tx.find_user(&call.user_id).await?,
            false => None,
        };
        if let Some(user) = user.filter(|u| u.deleted_at.is_some()) {
            let mut deletion = user.deletion.clone().unwrap_or_else(|| json!({}));
            deletion["state"] = json!("deleted");
            deletion["completedAt"] = json!(at);
            tx.set_deletion(user.pk, &deletion, Some(&datetime::format(purge_after)))
                .await?;
        }
        tx.record(&change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A transfer call failed: try again at `next` (none: given up, a dead
    /// letter), and audit the outcome (no event: the host hears of the
    /// deletion when it completes).
    pub(crate) async fn transfer_failed(
        &self,
        call: &TransferCall,
        next: Option<OffsetDateTime>,
        error: &str,
        at: OffsetDateTime,
        audit: &AuditEntry,
    ) -> DirectoryResult<()> {
        let mut tx = self.store.write(&call.tenant).await?;
        match next {
            Some(next) => tx.transfer_retry(call.id, next, error).await?,
            None => {
                tx.give_up(DeliveryKind::Transfer, call.id, at, error)
                    .await?
            }
        }
        tx.record_audit(at, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What becomes of a deleted user's assets: the call to the host queued
/// (to hand them to the successor, or to delete them), or waiting for a
/// successor; without a hook, the deletion complete at once.
async fn transfer_outcome(
    tx: &mut Tx,
    user: &UserRecord,
    choice: &SuccessorChoice,
    mut deletion: Value,
    at: OffsetDateTime,
    actor: &str,
) -> DirectoryResult<Outcome> {
    let successor = match choice.delete_assets {
        true => {
            deletion["assets"] = json!("delete");
            Ok(None)
        }
        false => resolve_successor(tx, user, choice).await?.map(Some),
    };
    if !choice.hook {
        return Ok(completed_without_hook(
            user, deletion, successor, choice, at,
        ));
    }
    match successor {
        Ok(s) => {
            let order = Order {
                reason: DELETION,
                successor: s.as_ref(),
                waiting: None,
            };
            queue_transfer(tx, user, &order, &datetime::format(at), actor).await?;
            match s {
                Some(s) => {
                    deletion["state"] = json!("transferring");
                    deletion["successor"] = s;
                }
                None => deletion["state"] = json!("deleting_assets"),
            }
        }
        Err(why) => {
            deletion["state"] = json!("waiting");
            deletion["reason"] = json!(waiting_reason(&why, user));
        }
    }
    Ok(Outcome {
        deletion,
        purge_after: None,
        events: Vec::new(),
    })
}

/// No host hook: nothing to call; the deletion completes at once.
fn completed_without_hook(
    user: &UserRecord,
    mut deletion: Value,
    successor: Result<Option<Value>, String>,
    choice: &SuccessorChoice,
    at: OffsetDateTime,
) -> Outcome {
    deletion["state"] = json!("deleted");
    deletion["completedAt"] = json!(datetime::format(at));
    if let Ok(Some(s)) = successor {
        deletion["successor"] = s;
    }
    deletion["transfer"] = json!("no ownership-transfer hook is configured");
    let mut payload = json!({"id": user.id, "userName": user.user_name});
    if choice.delete_assets {
        payload["assets"] = json!("delete");
    }
    Outcome {
        deletion,
        purge_after: Some(datetime::format(add_days(at, choice.retention_days))),
        events: vec![Event {
            kind: "user.deleted".into(),
            object_id: Some(user.id.clone()),
            payload,
        }],
    }
}

/// The deletion's own audit row and `user.deletion_requested` event.
fn deletion_change(mut change: Change, user: &UserRecord, deletion: &Value) -> Change {
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
        Some("deleting_assets") => format!(
            "user \"{}\" deleted; the host is told to delete their assets",
            user.user_name
        ),
        _ if deletion["assets"] == "delete" => format!(
            "user \"{}\" deleted with their assets (no ownership-transfer hook is configured: nothing to call)",
            user.user_name
        ),
        _ => format!("user \"{}\" deleted", user.user_name),
    };
    let mut details = json!({"assets": deletion["assets"].as_str().unwrap_or("transfer")});
    if !deletion["successor"].is_null() {
        details["successor"] = deletion["successor"].clone();
    }
    change.audit.details = Some(details);
    change.event.object_id = Some(user.id.clone());
    change.event.payload = json!({"id": user.id, "userName": user.user_name, "deletion": deletion});
    change
}
