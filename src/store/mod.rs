//! Persistence: one `Store` over SQLite (the embedded default). Every write
//! method is one transaction that carries the resource change, its audit row
//! and its outbox event together.

pub mod sql;
mod sqlite;

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use sqlite::Store;

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
