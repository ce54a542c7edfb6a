//! Persistence on SQLite (the embedded default) or PostgreSQL, through one
//! code path. The store decides nothing: it reads, and it writes inside a
//! [`Tx`] (one write transaction for one tenant) exactly what the
//! directory tells it to. Every rule — guards, successor choice, seats,
//! access — lives in `directory/` and runs inside that transaction.
//!
//! One file per resource: `pool` (connections, the worker lease), `tx` (the
//! write transaction and its savepoints), `rows` (row decoding), `tenants`,
//! `tokens`, `list` (SCIM reads), `users`, `erase` (a purge's
//! redaction of the rows that name the user), `groups`, `access`
//! (effective-access rows and the counts guards need), `bindings` (sign-in
//! identities and claims), `outbox` (audit rows, events, the
//! ownership-transfer queue), `deliveries` (the delivery worker's queues,
//! dead letters, pruning), `invitations` (links by the hash of their
//! secret, and the invitation emails' delivery), `jobs` (deprovisioning),
//! `modes` (the tenant's owner and re-create choice, email holders,
//! deleted users matching a new one), `panel` (the admin lists), `search` (the user search terms), `sessions` (console sessions and sign-in
//! links), `sql` (filter AST → SQL with a small dialect).

mod access;
mod backup;
mod bindings;
pub mod contention;
mod counted;
mod create_run;
mod deferred;
mod deliveries;
mod erase;
mod groups;
mod invitations;
mod jobs;
mod list;
mod modes;
mod oidc_pending;
mod outbox;
mod panel;
mod pending;
mod policies;
mod pool;
mod prefetch;
mod refold;
mod request_log;
mod rows;
mod search;
mod sessions;
pub mod sql;
mod tenants;
mod tokens;
mod tx;
mod types;
mod users;

pub use access::{UserInputs, UserRow};
pub use backup::{backup, BackupReport};
pub use deliveries::{DeliveryKind, DeliveryQuery, DeliveryRecord, QueueFigures};
pub use erase::{Mentions, Needles, Redact};
pub use groups::{MemberChange, ResolvedMember};
pub use invitations::{InvitationRecord, MailRecord, NewInvitation};
pub use jobs::{JobEnd, JobRecord, JobRow, NewJob};
pub use list::GroupsOf;
pub use modes::StoredModes;
pub use oidc_pending::OidcPendingRecord;
pub use outbox::PendingTransfer;
pub use panel::{
    Candidate, GroupListQuery, GroupRow, GroupSort, MemberRow, TenantSettings, UserListQuery,
    UserSort,
};
pub use policies::PolicyRow;
pub use pool::{Backend, PoolFigures, Store, WorkerLease};
pub use request_log::{CredentialFigures, RequestEntry, RequestQuery, RequestRecord, StatusFilter};
pub use rows::{fold, group_facts};
pub use sessions::{LoginLinkRecord, SessionRecord};
pub use tx::Tx;
pub use types::*;

/// Storage failures: the database, its migrations, or data that does not
/// read back. Anything a client did wrong is the directory's to say.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// The database did not give this request its turn in time: the write
    /// lock (SQLite's file lock, the tenant's row lock on PostgreSQL) or a
    /// pooled connection stayed taken for the whole wait. Nothing was
    /// written; the client may retry.
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names no backend Rollcall runs on.
    #[error("unsupported database URL \"{0}\": use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    /// A file next to the database (the worker lock) cannot be used.
    #[error("{0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if contention::is_contention(&e) {
            contention::note();
        }
        if is_busy(&e) {
            StoreError::Busy(e.to_string())
        } else {
            StoreError::Db(e)
        }
    }
}

/// Whether a database error means "not now" rather than "wrong": a pool
/// wait that timed out, SQLite's `SQLITE_BUSY`/`SQLITE_LOCKED` (any
/// extended code), PostgreSQL's lock timeout, serialization failure or
/// deadlock (SQLSTATE 55P03, 40001, 40P01).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("55P03" | "40001" | "40P01") => true,
            Some(code) => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
            None => false,
        },
        _ => false,
    }
}
