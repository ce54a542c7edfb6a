//! The records the store reads and writes: plain data, no behaviour.

use serde_json::{Map, Value};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
}

/// A bearer token's stored record.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    pub tenant: Tenant,
    pub label: String,
    pub secret_hash: Vec<u8>,
    pub created: String,
    pub revoked: Option<String>,
    /// Admin credentials act as this user (its role and guards apply).
    pub user_id: Option<String>,
    /// Scope names, as stored.
    pub scopes: Vec<String>,
    /// When the token was last used (updated at most once a minute).
    pub last_used_at: Option<String>,
    /// Who made it, when no user did (`cli:<login>`); None for older rows.
    pub created_by: Option<String>,
    /// The user who made it (console or admin API), by id.
    pub created_by_user_id: Option<String>,
}

/// A token as `rollcall token list` shows it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub record: TokenRecord,
    /// The bound user's userName (None: unbound, or the user was purged).
    pub user_name: Option<String>,
    /// The creating user's userName (None: no user made it, or purged).
    pub creator_name: Option<String>,
}

/// A resource as stored: canonical JSON plus server metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub pk: i64,
    pub id: String,
    pub data: Map<String, Value>,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// Users: lifecycle status and effective access (explanation JSON).
    /// A user written by a transaction that holds rows back
    /// (`Tx::defer_user_data`) has no status here: it is not read back.
    pub status: Option<String>,
    pub access: Option<Value>,
}

/// One page of a cursor-paginated list.
#[derive(Debug, Clone)]
pub struct CursorPage {
    pub total: i64,
    pub items: Vec<StoredResource>,
    /// Cursor text to the next page, when there is one.
    pub next: Option<String>,
    /// Cursor text to the previous page, when there is one.
    pub previous: Option<String>,
}

/// A group as role mapping sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFacts {
    pub display_name: String,
    pub external_id: Option<String>,
}

/// A user's effective access, with its explanation.
#[derive(Debug, Clone)]
pub struct Access {
    pub user_type: String,
    pub role: String,
    pub rank: i64,
    pub plan: Option<String>,
    pub explain: Value,
}

/// Equal when what is stored is equal (the rank is derived from the role).
impl PartialEq for Access {
    fn eq(&self, other: &Self) -> bool {
        self.user_type == other.user_type
            && self.role == other.role
            && self.plan == other.plan
            && self.explain == other.explain
    }
}

/// A user as the admin API sees it (deleted ones included).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub pk: i64,
    pub id: String,
    pub user_name: String,
    pub data: Map<String, Value>,
    pub status: String,
    pub user_type: String,
    pub role: String,
    pub plan: Option<String>,
    pub access: Value,
    pub local: Value,
    pub managed: bool,
    pub signed_in_at: Option<String>,
    pub last_sign_in_at: Option<String>,
    pub banned_at: Option<String>,
    pub ban_reason: Option<String>,
    pub deleted_at: Option<String>,
    pub deletion: Option<Value>,
    pub purge_after: Option<String>,
    pub version: i64,
    pub created: String,
    pub last_modified: String,
}

/// A due ownership-transfer call.
#[derive(Debug, Clone)]
pub struct TransferCall {
    pub id: i64,
    pub tenant: Tenant,
    pub user_id: String,
    pub successor_id: String,
    pub idempotency_key: String,
    pub payload: String,
    pub attempts: i64,
    /// When it was queued, or last replayed (its age counts from then).
    pub since: String,
    /// Why: `deletion`, or `viewer` (the user became a viewer).
    pub reason: String,
    /// `transfer` (to the successor) or `delete` (the host deletes them).
    pub assets: String,
}

/// An ownership-transfer call to queue, in the transaction of the change
/// that makes it.
#[derive(Debug, Clone)]
pub struct NewTransfer<'a> {
    pub user_id: &'a str,
    /// '' when there is none: the assets are deleted, or it waits.
    pub successor_id: &'a str,
    pub idempotency_key: &'a str,
    pub payload: &'a Value,
    pub at: &'a str,
    /// `deletion` or `viewer`.
    pub reason: &'a str,
    /// `transfer` or `delete`.
    pub assets: &'a str,
    /// Why it waits for an admin to name a successor (not due until then).
    pub waiting: Option<&'a str>,
}

/// An undelivered event of a tenant's queue.
#[derive(Debug, Clone)]
pub struct EventCall {
    pub id: i64,
    pub tenant: Tenant,
    pub payload: Value,
    pub attempts: i64,
    /// When the next call is due (none: at once).
    pub next_attempt_at: Option<String>,
    /// When it was queued, or last replayed (its age counts from then).
    pub since: String,
}

/// One member of a group, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub kind: String,
    pub display: Option<String>,
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display: String,
    pub direct: bool,
}

/// An audit row (written in the same transaction as the change).
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub actor: String,
    /// The acting user, when an admin user acted.
    pub actor_user_id: Option<String>,
    pub source_ip: Option<String>,
    /// The client's correlation id (`X-Request-Id`), or the server's.
    pub request_id: Option<String>,
    /// The deprovisioning job that made the change (set by its runner
    /// only: a job's trail is found by it).
    pub job_id: Option<String>,
    pub object_type: String,
    pub object_id: Option<String>,
    pub object_name: Option<String>,
    pub action: String,
    pub description: String,
    /// Data beside the words (a JSON object): what the host said it moved
    /// in an ownership transfer, the successor, the reason.
    pub details: Option<Value>,
}

/// An event for the host platform (outbox row).
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    pub object_id: Option<String>,
    pub payload: Value,
}

/// What a write records besides the resource itself.
#[derive(Debug, Clone)]
pub struct Change {
    pub at: OffsetDateTime,
    pub audit: AuditEntry,
    pub event: Event,
    /// Further events of the same change (e.g. `user.deactivated`).
    pub extra_events: Vec<Event>,
}

/// Filters and a cursor for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries with an id above this cursor.
    pub after: Option<i64>,
    /// At most this many entries.
    pub limit: i64,
    /// Only entries with an id below this cursor.
    pub before: Option<i64>,
    /// Newest first (default: oldest first).
    pub newest_first: bool,
    pub actor: Option<String>,
    /// The acting user's id.
    pub actor_user_id: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub request_id: Option<String>,
    /// The deprovisioning job's id.
    pub job_id: Option<String>,
    /// Canonical dateTime text (inclusive).
    pub since: Option<String>,
    /// Canonical dateTime text (exclusive).
    pub until: Option<String>,
}

/// One outbox event as a host polls it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub object_id: Option<String>,
    pub payload: Value,
}
