//! Who receives a leaver's assets: the successor named in the request,
//! else the user's manager (enterprise extension), else the tenant's
//! fallback owner; and the ownership-transfer call the host is sent.

use serde_json::{json, Value};

use super::super::{DirectoryError, DirectoryResult};
use crate::store::{Tx, UserRecord};
use scim_protocol::schema::URN_ENTERPRISE;

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
}

/// The successor of a deletion. `Ok(Err(why))` when there is none; a
/// requested successor that is not usable is refused outright.
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
    Ok(Err(format!(
        "{}; name one with POST /admin/v1/users/{}/transfer",
        why.join(", "),
        user.id
    )))
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

/// Queue the ownership-transfer call of a deletion (a row in the deletion's
/// transaction), due now.
pub(super) async fn queue_transfer(
    tx: &mut Tx,
    user: &UserRecord,
    successor: &Value,
    at: &str,
    actor: &str,
) -> DirectoryResult<()> {
    let key = uuid::Uuid::new_v4().to_string();
    let payload = json!({
        "type": "ownership.transfer",
        "idempotencyKey": key,
        "tenant": tx.tenant().name,
        "user": {"id": user.id, "userName": user.user_name},
        "successor": successor,
        "requestedAt": at,
        "requestedBy": actor,
    });
    let successor_id = successor["id"].as_str().unwrap_or_default();
    tx.queue_transfer(&user.id, successor_id, &key, &payload, at)
        .await?;
    Ok(())
}
