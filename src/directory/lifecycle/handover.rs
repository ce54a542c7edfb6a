//! Viewers own nothing: when a live user's effective type turns from
//! `user` to `viewer` — over SCIM, through a group and a mapping rule, by
//! an admin, by the policy — what they own is handed to a successor chosen
//! as for a deletion (the one an admin named, else their manager, else the
//! tenant's fallback owner), in the transaction of that change; the user
//! stays, a viewer. With the host's hook the call is queued, or waits for
//! an admin to name a successor; without one there is nothing to call and
//! the hand-over is audited at once. A user who is a user again before the
//! host acknowledged does not stop a queued call (the host may be moving
//! the assets already); a hand-over still waiting for a successor is
//! cancelled then, since a user may own assets again.

use serde_json::{json, Value};

use super::super::recompute::AccessCause;
use super::super::{Directory, DirectoryError, DirectoryResult};
use super::successor::{
    queue_transfer, resolve_successor, waiting_reason, Order, SuccessorChoice, VIEWER,
};
use crate::store::{AuditEntry, Change, Event, Tx, UserRecord};
use scim_protocol::datetime;

impl Directory {
    /// Live user `id`'s effective type became `to`, in `tx`: a new viewer
    /// hands over their assets; a user again no longer waits for a
    /// successor. The events it makes.
    pub(in crate::directory) async fn type_changed(
        &self,
        tx: &mut Tx,
        id: &str,
        to: &str,
        cause: &AccessCause<'_>,
    ) -> DirectoryResult<Vec<Event>> {
        if to == VIEWER {
            return self.hand_over(tx, id, cause).await;
        }
        let at = datetime::format(cause.at);
        if tx.cancel_transfers(id, VIEWER, true, &at).await? > 0 {
            let entry = AuditEntry {
                object_type: "User".into(),
                object_id: Some(id.to_string()),
                object_name: None,
                action: "ownership_transfer_cancelled".into(),
                description: format!(
                    "user {id} is of type {to} again: the ownership transfer that waited for a successor is cancelled"
                ),
                details: Some(json!({"reason": VIEWER})),
                ..cause.audit.clone()
            };
            tx.record_audit(cause.at, &entry).await?;
        }
        Ok(Vec::new())
    }

    /// Hand a new viewer's assets to their successor: the call queued, or
    /// waiting for one; without a hook, done at once.
    async fn hand_over(
        &self,
        tx: &mut Tx,
        id: &str,
        cause: &AccessCause<'_>,
    ) -> DirectoryResult<Vec<Event>> {
        let user = tx.find_user(id).await?.ok_or_else(|| {
            DirectoryError::Internal(format!("user {id} vanished in its own write"))
        })?;
        let fallback = tx
            .fallback_owner()
            .await?
            .or_else(|| self.config.policy.tenant(&tx.tenant().name).fallback_owner);
        let choice = SuccessorChoice {
            requested: cause.successor.map(str::to_string),
            fallback,
            hook: self.config.hooks.ownership_transfer_url.is_some(),
            ..SuccessorChoice::default()
        };
        let successor = resolve_successor(tx, &user, &choice).await?;
        let (at, actor) = (datetime::format(cause.at), &cause.audit.actor);
        let mut events = Vec::new();
        let (action, said) = match (&successor, choice.hook) {
            (Ok(s), true) => {
                let order = Order {
                    reason: VIEWER,
                    successor: Some(s),
                    waiting: None,
                };
                queue_transfer(tx, &user, &order, &at, actor).await?;
                let to = &s["userName"];
                (
                    "ownership_transfer_queued",
                    format!("ownership transfer to {to} queued"),
                )
            }
            (Err(why), true) => {
                let why = waiting_reason(why, &user);
                let order = Order {
                    reason: VIEWER,
                    successor: None,
                    waiting: Some(&why),
                };
                queue_transfer(tx, &user, &order, &at, actor).await?;
                (
                    "ownership_transfer_waiting",
                    format!("ownership transfer waits: {why}"),
                )
            }
            (s, false) => {
                events.push(transferred_event(
                    &user.id,
                    &user.user_name,
                    s.as_ref().ok(),
                ));
                ("ownership_transferred", handed_without_hook(s))
            }
        };
        let entry = AuditEntry {
            object_type: "User".into(),
            object_id: Some(user.id.clone()),
            object_name: Some(user.user_name.clone()),
            action: action.into(),
            description: format!(
                "user \"{}\" became a viewer (viewers own nothing); {said}",
                user.user_name
            ),
            details: Some(json!({"reason": VIEWER, "successor": successor.ok()})),
            ..cause.audit.clone()
        };
        tx.record_audit(cause.at, &entry).await?;
        Ok(events)
    }

    /// Name the successor of a live user's hand-overs waiting for one:
    /// their calls are due at once.
    pub(super) async fn name_handover_successor(
        &self,
        tx: &mut Tx,
        user: &UserRecord,
        choice: &SuccessorChoice,
        mut change: Change,
    ) -> DirectoryResult<String> {
        let waiting = tx.waiting_transfers(&user.id).await?;
        if waiting.is_empty() {
            return Err(DirectoryError::Conflict(format!(
                "no ownership transfer of {} waits for a successor",
                user.user_name
            )));
        }
        let s = resolve_successor(tx, user, choice)
            .await?
            .map_err(DirectoryError::InvalidReference)?;
        let at = datetime::format(change.at);
        let successor_id = s["id"].as_str().unwrap_or_default();
        for (id, mut payload) in waiting {
            payload["successor"] = s.clone();
            tx.name_transfer_successor(id, successor_id, &payload, &at)
                .await?;
        }
        // The key may have been the userName: the rows name the id.
        change.audit.object_id = Some(user.id.clone());
        change.audit.object_name = Some(user.user_name.clone());
        change.event.object_id = Some(user.id.clone());
        change.audit.details = Some(json!({"reason": VIEWER, "successor": s}));
        tx.record(&change).await?;
        Ok(user.id.clone())
    }
}

/// `user.ownership_transferred`: a viewer's assets went to `successor`.
pub(crate) fn transferred_event(id: &str, user_name: &str, successor: Option<&Value>) -> Event {
    Event {
        kind: "user.ownership_transferred".into(),
        object_id: Some(id.to_string()),
        payload: json!({"id": id, "userName": user_name, "reason": VIEWER, "successor": successor}),
    }
}

/// The words of a hand-over without a hook.
fn handed_without_hook(successor: &Result<Value, String>) -> String {
    let nothing = "no ownership-transfer hook is configured: nothing to call";
    match successor {
        Ok(s) => format!("what they owned goes to {} ({nothing})", s["userName"]),
        Err(why) => format!("nobody receives what they owned: {why} ({nothing})"),
    }
}
