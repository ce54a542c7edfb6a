//! The write transaction: one value per write, for one tenant, carrying the
//! resource change, its audit row and its outbox events to one commit. The
//! directory opens it with [`Store::write`], runs its rules against it and
//! commits; dropping it uncommitted rolls everything back. Per-row work
//! (deprovisioning) nests savepoints in it.
//!
//! The operations are methods on `Tx`, one file per resource (`users.rs`,
//! `groups.rs`, `access.rs`, `outbox.rs`, `jobs.rs`, `tenants.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::{Any, AnyConnection, Executor, Transaction};

use super::create_run::{write_new_users, CreateRun, NewUser};
use super::deferred::{write_deferred, DeferredUser};
use super::pending::Pending;
use super::prefetch::Prefetched;
use super::{Backend, Store, StoreResult, Tenant};

pub struct Tx {
    tx: Transaction<'static, Any>,
    tenant: Tenant,
    /// The store's count of commits, raised when this one commits.
    commits: Arc<AtomicU64>,
    /// Audit rows and events recorded, written multi-row at commit.
    pending: Pending,
    /// Tenant facts read once per transaction (the tenant row is locked
    /// by it, so they change only by its own writes, which forget them).
    pub(super) memo: Memo,
    /// Users read ahead for the writes that follow (a Bulk chunk).
    pub(super) prefetched: Prefetched,
    /// User rows waiting for the next statement ([`Tx::defer_user_data`]).
    pub(super) deferred: Vec<DeferredUser>,
    pub(super) defer_users: bool,
    /// What a run of user creates read ahead ([`Tx::read_ahead_creates`]).
    pub(super) create_run: Option<CreateRun>,
    /// New users' rows waiting for the next statement.
    pub(super) new_users: Vec<NewUser>,
    pub(super) backend: Backend,
}

/// What a write transaction read of its tenant and may read again.
#[derive(Debug, Default)]
pub(super) struct Memo {
    pub policy_version: Option<i64>,
    pub modes: Option<super::StoredModes>,
    /// The seat limits (users, viewers).
    pub seats: Option<(Option<i64>, Option<i64>)>,
}

impl Store {
    /// A write transaction for one tenant. SQLite: `BEGIN IMMEDIATE` on the
    /// one writer. PostgreSQL: the tenant row's lock (`FOR NO KEY UPDATE`), held to commit.
    pub async fn write(&self, tenant: &Tenant) -> StoreResult<Tx> {
        Ok(Tx {
            tx: self.begin_write(tenant.id).await?,
            tenant: tenant.clone(),
            commits: self.commits.clone(),
            pending: Pending::default(),
            memo: Memo::default(),
            prefetched: Prefetched::default(),
            deferred: Vec::new(),
            defer_users: false,
            create_run: None,
            new_users: Vec::new(),
            backend: self.backend,
        })
    }

    /// How many write transactions this process has committed: what was
    /// read before a commit may be stale after it (the credential cache
    /// keys its entries with it).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }
}

impl Tx {
    /// A transaction already begun, for `tenant` (the bootstrap, which
    /// creates the tenant inside it).
    pub(super) fn adopt(tx: Transaction<'static, Any>, tenant: Tenant, store: &Store) -> Tx {
        Tx {
            tx,
            tenant,
            commits: store.commits.clone(),
            pending: Pending::default(),
            memo: Memo::default(),
            prefetched: Prefetched::default(),
            deferred: Vec::new(),
            defer_users: false,
            create_run: None,
            new_users: Vec::new(),
            backend: store.backend,
        }
    }

    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The connection, for the next statement: the user rows held back
    /// ([`Tx::hold_new_user`], [`Tx::defer_user_data`]) are written first, so that every statement
    /// sees every write of the transaction.
    pub(super) async fn conn(&mut self) -> StoreResult<&mut AnyConnection> {
        if !self.new_users.is_empty() {
            let users = std::mem::take(&mut self.new_users);
            write_new_users(&mut self.tx, self.tenant.id, &users).await?;
        }
        if !self.deferred.is_empty() {
            let rows = std::mem::take(&mut self.deferred);
            write_deferred(&mut self.tx, &rows).await?;
        }
        Ok(&mut self.tx)
    }

    /// The tenant's id, for binding.
    pub(super) fn tid(&self) -> i64 {
        self.tenant.id
    }

    /// Write the recorded audit rows and events, then commit.
    pub async fn commit(mut self) -> StoreResult<()> {
        self.conn().await?;
        self.flush_records().await?;
        self.tx.commit().await?;
        self.commits.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Undo everything (a dry run, or a write that turned out to change
    /// nothing).
    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await?;
        Ok(())
    }

    /// Open a savepoint: what follows can be undone alone with
    /// [`Tx::rollback_to`], or kept with [`Tx::release`]. `name` is a fixed
    /// identifier of the caller's (never client text).
    pub async fn savepoint(&mut self, name: &'static str) -> StoreResult<()> {
        self.exec_raw(&format!("SAVEPOINT {name}")).await?;
        self.pending.mark(name);
        Ok(())
    }

    /// Keep what was done since the savepoint.
    pub async fn release(&mut self, name: &'static str) -> StoreResult<()> {
        self.exec_raw(&format!("RELEASE SAVEPOINT {name}")).await?;
        self.pending.unmark(name);
        Ok(())
    }

    /// Undo what was done since the savepoint, the audit rows and events
    /// recorded since included, and close it.
    pub async fn rollback_to(&mut self, name: &'static str) -> StoreResult<()> {
        self.exec_raw(&format!("ROLLBACK TO SAVEPOINT {name}"))
            .await?;
        self.pending.undo_to(name);
        self.memo = Memo::default();
        self.prefetched = Prefetched::default();
        self.create_run = None;
        self.release(name).await
    }

    pub(super) fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    async fn exec_raw(&mut self, sql: &str) -> StoreResult<()> {
        self.conn().await?.execute(sql).await?;
        Ok(())
    }
}
