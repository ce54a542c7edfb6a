//! Who receives a leaver's assets: the successor named in the request,
//! else the user's manager (enterprise extension), else the tenant's
//! fallback owner — or nobody, when an admin has the assets deleted with
//! the account; and the ownership-transfer call the host is sent.

use serde_json::{json, Value};

use super::super::{DirectoryError, DirectoryResult};
use crate::store::{NewTransfer, Tx, UserRecord};
use scim_protocol::schema::URN_ENTERPRISE;

/// A transfer made because the user is deleted.
pub(crate) const DELETION: &str = "deletion";
/// A transfer made because the user became a viewer (viewers own nothing).
pub(crate) const VIEWER: &str = "viewer";

/// What becomes of a deleted user's assets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assets {
    /// Handed on: to the successor named (id or userName), else the
    /// manager, else the fallback owner.
    Transfer(Option<String>),
    /// Deleted with the account (the host is told to delete them; no
    /// successor).
    Delete,
}

impl Default for Assets {
    fn default() -> Self {
        Assets::Transfer(None)
    }
}

impl Assets {
    /// From a request's `assets` (`transfer`, the default, or `delete`)
    /// and `transfer_to`; a successor named for assets to delete is refused.
    pub fn from_request(
        assets: Option<&str>,
        transfer_to: Option<String>,
    ) -> DirectoryResult<Assets> {
        match (assets.unwrap_or("transfer"), transfer_to) {
            ("transfer", to) => Ok(Assets::Transfer(to)),
            ("delete", None) => Ok(Assets::Delete),
            ("delete", Some(to)) => Err(DirectoryError::Invalid(format!(
                "assets=delete leaves nothing to hand over, yet transfer_to names \"{to}\": give one or the other"
            ))),
            (other, _) => Err(DirectoryError::Invalid(format!(
                "assets must be transfer or delete, not \"{other}\""
            ))),
        }
    }
}

/// Where a deletion's successor comes from, in order.
#[derive(Debug, Clone, Default)]
pub struct SuccessorChoice {
    /// Named in the request (id or userName).
    pub requested: Option<String>,
    /// The tenant's fallback owner (id or userName).
    pub fallback: Option<String>,
    /// Whether a transfer hook is configured (else the transfer is immediate).
    pub hook: bool,
    /// Days a soft-deleted user stays restorable.
    pub retention_days: i64,
    /// The key must be the user's id (SCIM); else a userName works too.
    pub by_id: bool,
    /// The assets are deleted with the account: no successor is sought.
    pub delete_assets: bool,
}

/// The successor of a deletion (or of a viewer's hand-over). `Ok(Err(why))`
/// when there is none; a requested successor that is not usable is refused
/// outright.
pub(super) async fn resolve_successor(
    tx: &mut Tx,
    user: &UserRecord,
    choice: &SuccessorChoice,
) -> DirectoryResult<Result<Value, String>> {
    if let Some(req) = &choice.requested {
        return match usable(tx, user, req).await? {
            Ok(s) => Ok(Ok(successor(&s, "request"))),
            Err(not) => Err(DirectoryError::InvalidReference(format!(
                "successor \"{req}\" {not}"
            ))),
        };
    }
    let mut why = vec!["no successor was named".to_string()];
    match manager_of(user) {
        Some(m) => match usable(tx, user, &m).await? {
            Ok(s) => return Ok(Ok(successor(&s, "manager"))),
            Err(not) => why.push(format!("the manager \"{m}\" {not}")),
        },
        None => why.push("the user has no manager".into()),
    }
    match &choice.fallback {
        Some(f) => match usable(tx, user, f).await? {
            Ok(s) => return Ok(Ok(successor(&s, "fallback"))),
            Err(not) => why.push(format!("the fallback owner \"{f}\" {not}")),
        },
        None => why.push("the tenant has no fallback owner".into()),
    }
    Ok(Err(why.join(", ")))
}

/// Why a transfer waits, and how an admin ends the wait.
pub(super) fn waiting_reason(why: &str, user: &UserRecord) -> String {
    format!(
        "{why}; name one with POST /admin/v1/users/{}/transfer",
        user.id
    )
}

/// Another live user by id or userName who can own assets: of type
/// `user` (viewers own nothing), neither disabled nor banned. Else what
/// they are ("is a viewer: viewers own nothing" …).
async fn usable(
    tx: &mut Tx,
    user: &UserRecord,
    key: &str,
) -> DirectoryResult<Result<UserRecord, String>> {
    let Some(s) = tx
        .find_user(key)
        .await?
        .filter(|u| u.deleted_at.is_none() && u.id != user.id)
    else {
        return Ok(Err("is not another live user of this tenant".into()));
    };
    Ok(successor_problem(&s).map_or(Ok(s), Err))
}

/// Why a live user cannot receive assets, if they cannot.
pub(crate) fn successor_problem(s: &UserRecord) -> Option<String> {
    if s.user_type != "user" {
        return Some("is a viewer: viewers own nothing".into());
    }
    if s.banned_at.is_some() || s.status == "banned" {
        return Some("is banned".into());
    }
    if s.status == "disabled" {
        return Some("is disabled".into());
    }
    None
}

fn manager_of(user: &UserRecord) -> Option<String> {
    user.data
        .get(URN_ENTERPRISE)
        .and_then(|e| e.get("manager"))
        .and_then(|m| m.get("value"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn successor(s: &UserRecord, source: &str) -> Value {
    json!({"id": s.id, "userName": s.user_name, "source": source})
}

/// What an ownership-transfer call asks of the host.
pub(super) struct Order<'a> {
    /// [`DELETION`] or [`VIEWER`].
    pub reason: &'static str,
    /// Who receives the assets. None and not waiting: the host deletes
    /// them (`assets: delete`).
    pub successor: Option<&'a Value>,
    /// Why the call waits for an admin to name a successor (it is not
    /// due until then).
    pub waiting: Option<&'a str>,
}

/// Queue an ownership-transfer call (a row in the transaction of the change
/// that makes it), due now unless it waits.
pub(super) async fn queue_transfer(
    tx: &mut Tx,
    user: &UserRecord,
    order: &Order<'_>,
    at: &str,
    actor: &str,
) -> DirectoryResult<()> {
    let key = uuid::Uuid::new_v4().to_string();
    let assets = match (order.successor, order.waiting) {
        (None, None) => "delete",
        _ => "transfer",
    };
    let payload = json!({
        "type": "ownership.transfer",
        "idempotencyKey": key,
        "tenant": tx.tenant().name,
        "reason": order.reason,
        "assets": assets,
        "user": {"id": user.id, "userName": user.user_name},
        "successor": order.successor,
        "requestedAt": at,
        "requestedBy": actor,
    });
    let successor_id = order
        .successor
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default();
    tx.queue_transfer(&NewTransfer {
        user_id: &user.id,
        successor_id,
        idempotency_key: &key,
        payload: &payload,
        at,
        reason: order.reason,
        assets,
        waiting: order.waiting,
    })
    .await?;
    Ok(())
}
