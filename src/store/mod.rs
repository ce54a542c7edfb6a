//! Persistence: one `Store` over SQLite (the embedded default). Every write
//! method is one transaction that carries the resource change, its audit row
//! and its outbox event together.

mod admin;
mod db;
mod deprovision;
mod lifecycle;
pub mod sql;

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use admin::{
    Candidate, GroupListQuery, GroupRow, GroupSort, MemberRow, TenantSettings, UserListQuery,
    UserSort,
};
pub use db::{fold, Backend, Store, WorkerLease};
pub use deprovision::{may_take_over, Batch, JobRecord, JobRow, NewJob};

use crate::scim::ScimError;

/// Store-level failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    InvalidReference(String),
    #[error("{0}")]
    SeatLimit(String),
    /// The change would leave the tenant without an active super-admin.
    #[error("{0}")]
    LastSuperAdmin(String),
    /// A guard refused the change (self-demotion, granting above one's rank…).
    #[error("{0}")]
    Forbidden(String),
    /// The resource is not in a state that allows the change.
    #[error("{0}")]
    Conflict(String),
    /// A protocol error raised while computing an update inside a transaction.
    #[error("{0}")]
    Scim(ScimError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

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

/// What the access policy looks at for one user.
pub struct UserFacts<'a> {
    pub data: &'a Map<String, Value>,
    /// Local admin settings (JSON object).
    pub local: &'a Value,
    /// Groups the user belongs to, directly or through nested groups.
    pub groups: &'a [GroupFacts],
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

/// Computes effective access (role mapping lives above the store; the store
/// calls it inside the transaction whenever an input changes).
pub trait AccessPolicy: Send + Sync {
    fn compute(&self, tenant: &str, facts: &UserFacts<'_>) -> Access;
    /// Whether membership of this group can change anyone's access.
    fn group_matters(&self, tenant: &str, group: &GroupFacts) -> bool;
    /// Whether any rule of the tenant looks at group membership at all.
    fn uses_groups(&self, tenant: &str) -> bool;
}

/// The policy of a store opened on its own (CLI commands): the access
/// extension's type and role as given.
pub struct PlainPolicy;

impl AccessPolicy for PlainPolicy {
    fn compute(&self, _tenant: &str, facts: &UserFacts<'_>) -> Access {
        let ext = facts.data.get(crate::scim::schema::URN_ACCESS);
        let get = |k: &str| ext.and_then(|e| e.get(k)).and_then(Value::as_str);
        let user_type = match get("type") {
            Some(t) if t.eq_ignore_ascii_case("viewer") => "viewer",
            _ => "user",
        };
        Access {
            user_type: user_type.into(),
            role: get("role").unwrap_or("member").into(),
            rank: 0,
            plan: get("plan").map(str::to_string),
            explain: Value::Object(Map::new()),
        }
    }
    fn group_matters(&self, _tenant: &str, _group: &GroupFacts) -> bool {
        false
    }
    fn uses_groups(&self, _tenant: &str) -> bool {
        false
    }
}

/// An administrative change to one user (admin API, host reports).
#[derive(Debug, Clone)]
pub enum UserOp {
    Ban(String),
    Unban,
    SetActive(bool),
    /// A JSON merge patch (RFC 7386) of the local admin settings, applied
    /// inside the transaction.
    MergeLocal(Value),
    SignIn,
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

impl UserRecord {
    /// Counts toward the tenant's active super-admins.
    pub fn is_active_super_admin(&self) -> bool {
        self.role == "super-admin"
            && matches!(self.status.as_str(), "created" | "active" | "invited")
    }
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
}

/// A due event delivery.
#[derive(Debug, Clone)]
pub struct EventCall {
    pub id: i64,
    pub tenant: String,
    pub payload: Value,
    pub attempts: i64,
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
    pub request_id: Option<String>,
    pub object_type: String,
    pub object_id: Option<String>,
    pub object_name: Option<String>,
    pub action: String,
    pub description: String,
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

/// The result of computing an update inside a transaction.
pub struct Update {
    pub data: Map<String, Value>,
    pub member_ops: Vec<crate::scim::patch::MemberOp>,
    pub change: Change,
}

/// Filters and a cursor for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries with an id above this cursor.
    pub after: Option<i64>,
    /// At most this many entries.
    pub limit: i64,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub request_id: Option<String>,
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
