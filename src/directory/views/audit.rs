//! The audit trail and the event feed as the admin API pages them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::EventRecord;

/// One audit entry: who did what to which object, from where, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The entry's id: the cursor to read on from.
    #[schema(example = 1042)]
    pub id: i64,
    /// When it happened.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub at: String,
    /// The acting principal (`token:LABEL`, `user:NAME (token:LABEL)`,
    /// `cli:LOGIN`, `system`).
    #[schema(example = "user:root@acme.test (token:console)")]
    pub actor: String,
    /// The acting admin user, if one acted.
    pub actor_user_id: Option<String>,
    /// The client's IP address.
    #[schema(example = "203.0.113.7")]
    pub source_ip: Option<String>,
    /// The request id (`X-Request-Id`, a client's correlation value, or
    /// the server's own).
    pub request_id: Option<String>,
    /// The deprovisioning job whose run made the change (written by the
    /// job's runner only: `?job_id=` gives a job's whole trail).
    #[serde(default)]
    pub job_id: Option<String>,
    /// `User`, `Group`, `Tenant` or `DeprovisionJob`.
    #[schema(example = "User")]
    pub object_type: String,
    /// The object's id.
    pub object_id: Option<String>,
    /// The object's name then (redacted once a user is purged).
    #[schema(example = "ann@acme.test")]
    pub object_name: Option<String>,
    /// What happened: `created`, `updated`, `deleted`, `banned`, …
    #[schema(example = "banned")]
    pub action: String,
    /// The change in words.
    #[schema(example = "user banned: left the company")]
    pub description: String,
    /// Data beside the words, on some actions: on `ownership_transferred`
    /// and `assets_deleted` the `reason` (`deletion` or `viewer`), the
    /// `successor`, and what the host's answer listed as moved (`moved`,
    /// `movedCount`, `truncated`). Absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"reason": "viewer", "moved": [{"type": "notebook", "id": "n1", "name": "Q3"}], "movedCount": 1}))]
    pub details: Option<Value>,
}

/// A page of audit entries, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// The entries, oldest first.
    pub items: Vec<AuditRecord>,
    /// The cursor (`after`) of the next page; `null` on the last page.
    #[schema(example = "1042")]
    pub next: Option<String>,
}

impl AuditPage {
    /// A page read with this limit: a full page may have more after it; a
    /// short one is the end.
    pub fn new(items: Vec<AuditRecord>, limit: i64) -> Self {
        let next = if items.len() as i64 == limit {
            items.last().map(|i| i.id.to_string())
        } else {
            None
        };
        AuditPage { items, next }
    }
}

/// One row of the audit log screen, in DataStream's columns: the entry and
/// the acting user's email (when a user acted and is still known).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogRow {
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditRecord,
    /// The acting user's primary email (else userName); `null` when no
    /// user acted, or the user was purged.
    #[schema(example = "root@acme.test")]
    pub actor_email: Option<String>,
}

/// A page of the audit log, newest first, with opaque cursors to the
/// newer and the older entries next to it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditLogPage {
    /// The entries, newest first.
    pub items: Vec<AuditLogRow>,
    /// The cursor of the newer entries; `null` on the newest page.
    #[schema(example = "bi4xMDQy")]
    pub newer: Option<String>,
    /// The cursor of the older entries; `null` on the oldest page.
    #[schema(example = "by4xMDIz")]
    pub older: Option<String>,
}

/// One event for the host platform.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// The event's id (a cursor).
    #[schema(example = "311")]
    pub id: String,
    /// `user.created`, `user.deactivated`, `user.role_changed`, …
    #[serde(rename = "type")]
    #[schema(example = "user.created")]
    pub kind: String,
    /// When it happened.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub at: String,
    /// The user's or group's id.
    pub object_id: Option<String>,
    /// What the event says (its fields depend on the type).
    #[schema(value_type = Object, example = json!({"id": "2819c223-7f76-453a-919d-413861904646", "name": "ann@acme.test"}))]
    pub data: Value,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        EventView {
            id: e.id.to_string(),
            kind: e.kind,
            at: e.at,
            object_id: e.object_id,
            data: e.payload,
        }
    }
}

/// Events after the cursor, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events, oldest first.
    pub events: Vec<EventView>,
    /// The cursor to poll with next time (the same when nothing is new).
    #[schema(example = "311")]
    pub next: String,
}
