//! Connections: SQLite (WAL, one writer connection — SQLite serialises
//! writers anyway, one connection avoids lock upgrades — and a pool of
//! readers) or PostgreSQL (one pool; every write transaction first locks
//! its tenant's row, so writes to a tenant are serialised across instances
//! exactly as SQLite serialises them within one). A write waits for its
//! turn at most the configured lock wait, then fails "busy". Runtime queries
//! over sqlx's `Any` driver with numbered placeholders both backends read,
//! and a [`Dialect`] for what differs. Also: the worker lease, and the query
//! plans tests inspect.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Executor, Row, Transaction};

use super::counted::CountedPool;
use super::sql::{fetch_all, Compiler, Dialect, PostgresDialect, SqlFrag, SqliteDialect};
use super::{StoreError, StoreResult, Tenant};
use scim_protocol::list::ListQuery;
use scim_protocol::schema::Kind;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if it is one Rollcall runs on.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A database pool at one moment.
#[derive(Debug, Clone, Copy)]
pub struct PoolFigures {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
    /// Tasks waiting for a connection now.
    pub waiting: u32,
}

#[derive(Clone)]
pub struct Store {
    pub(super) write: CountedPool,
    pub(super) read: CountedPool,
    pub(super) backend: Backend,
    /// How long a write waits for the write lock.
    pub(super) lock_wait: Duration,
    /// SQLite: the file whose lock elects the instance doing background work.
    pub(super) worker_lock: Option<std::path::PathBuf>,
    /// Write transactions committed by this process (`Store::commits`).
    pub(super) commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The right to run one round of background work (webhook deliveries,
/// retention purges): one instance at a time, so events go out once and in
/// order. PostgreSQL: a row of `worker_leases` locked `FOR UPDATE SKIP
/// LOCKED` in a transaction held for the round. SQLite (several processes
/// may share a file): an exclusive lock on a file next to the database. A
/// process that dies mid-round loses it at once (connection or file closed);
/// the next round elsewhere redelivers what was not acknowledged, with the
/// same idempotency keys.
pub struct WorkerLease {
    tx: Option<Transaction<'static, Any>>,
    _file: Option<std::fs::File>,
}

impl WorkerLease {
    /// End the round.
    pub async fn release(self) -> StoreResult<()> {
        if let Some(tx) = self.tx {
            tx.commit().await?;
        }
        Ok(())
    }
}

/// The database file a SQLite URL names (None: in memory).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// PRAGMAs every SQLite connection gets (and `busy_timeout`, the lock wait).
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON;";

/// Page cache of the one writing connection (KiB): the pages a Bulk
/// chunk and its indexes touch. The operating system's file cache holds
/// the rest; a page from it costs a `pread`, not a disk read.
const WRITER_CACHE: &str = "PRAGMA cache_size = -8192;";
/// Page cache of each of the four reading connections (KiB): the index
/// interiors a lookup walks. 8 + 4 × 2 MiB in all, where 5 × 16 MiB let
/// the process grow past 64 MiB (docs/benchmarks.md measures the cost).
const READER_CACHE: &str = "PRAGMA cache_size = -2048;";

/// How long a write waits for its turn (the write lock, a pooled
/// connection) before it is answered "busy, retry" by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);

fn sqlite_pragmas(lock_wait: Duration) -> String {
    format!(
        "{SQLITE_PRAGMAS} PRAGMA busy_timeout = {};",
        lock_wait.as_millis()
    )
}

/// `url` with `mode=…` set (SQLite opens read-write-create or read-only).
pub(super) fn sqlite_url(url: &str, mode: &str) -> String {
    if url.contains("mode=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode={mode}")
}

impl Store {
    /// Open and migrate: `sqlite://FILE` (created if missing) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, DEFAULT_LOCK_WAIT).await
    }

    /// [`Store::connect`], with writes waiting at most `lock_wait` for
    /// their turn before they fail with [`StoreError::Busy`].
    pub async fn connect_with(url: &str, lock_wait: Duration) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        match Backend::of_url(url) {
            Some(Backend::Postgres) => Self::connect_postgres(url, lock_wait).await,
            Some(Backend::Sqlite) => Self::connect_sqlite(url, lock_wait).await,
            None => Err(StoreError::UnsupportedUrl(url.to_string())),
        }
    }

    async fn connect_sqlite(url: &str, lock_wait: Duration) -> StoreResult<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pragmas = sqlite_pragmas(lock_wait);
        let write_pragmas = pragmas.clone();
        let write = AnyPoolOptions::new()
            // No ping before every use: a round trip per statement.
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            // Writers queue for the one connection: as long as for the lock.
            .acquire_timeout(lock_wait)
            .after_connect(move |conn, _| {
                let pragmas = write_pragmas.clone();
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL;").await?;
                    conn.execute(pragmas.as_str()).await?;
                    conn.execute(WRITER_CACHE).await?;
                    Ok(())
                })
            })
            .connect(&sqlite_url(url, "rwc"))
            .await?;
        SQLITE_MIGRATOR.run(&write).await?;
        let write = CountedPool::new(write);
        let read = if in_memory {
            write.clone()
        } else {
            AnyPoolOptions::new()
                // No ping before every use: a round trip per statement.
                .test_before_acquire(false)
                .max_connections(4)
                .after_connect(move |conn, _| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        conn.execute(pragmas.as_str()).await?;
                        conn.execute(READER_CACHE).await?;
                        Ok(())
                    })
                })
                .connect(&sqlite_url(url, "ro"))
                .await
                .map(CountedPool::new)?
        };
        let store = Self {
            write,
            read,
            lock_wait,
            backend: Backend::Sqlite,
            commits: Default::default(),
            worker_lock: sqlite_file(url).map(|p| {
                let mut name = p.into_os_string();
                name.push("-worker.lock");
                name.into()
            }),
        };
        store.refold_if_needed().await?;
        Ok(store)
    }

    async fn connect_postgres(url: &str, lock_wait: Duration) -> StoreResult<Self> {
        let pool = AnyPoolOptions::new()
            // No ping before every use: a round trip per statement.
            .test_before_acquire(false)
            .max_connections(16)
            .acquire_timeout(lock_wait)
            .connect(url)
            .await?;
        // sqlx takes an advisory lock around migrations: instances starting
        // together migrate once.
        POSTGRES_MIGRATOR.run(&pool).await?;
        let pool = CountedPool::new(pool);
        let store = Self {
            write: pool.clone(),
            read: pool,
            lock_wait,
            backend: Backend::Postgres,
            worker_lock: None,
            commits: Default::default(),
        };
        store.refold_if_needed().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Try to take the background-work lease; None while another instance
    /// holds it.
    pub async fn worker_lease(&self) -> StoreResult<Option<WorkerLease>> {
        match self.backend {
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                let row = sqlx::query(
                    "SELECT name FROM worker_leases WHERE name = 'deliveries' FOR UPDATE SKIP LOCKED",
                )
                .fetch_optional(&mut *tx)
                .await?;
                if row.is_none() {
                    tx.rollback().await?;
                    return Ok(None);
                }
                Ok(Some(WorkerLease {
                    tx: Some(tx),
                    _file: None,
                }))
            }
            Backend::Sqlite => {
                let Some(path) = &self.worker_lock else {
                    return Ok(Some(WorkerLease {
                        tx: None,
                        _file: None,
                    }));
                };
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)
                    .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(WorkerLease {
                        tx: None,
                        _file: Some(file),
                    })),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(StoreError::Io(format!("{}: {e}", path.display())))
                    }
                }
            }
        }
    }

    pub(super) fn dialect(&self) -> &'static dyn Dialect {
        match self.backend {
            Backend::Sqlite => &SqliteDialect,
            Backend::Postgres => &PostgresDialect,
        }
    }

    /// A write transaction for one tenant. SQLite: `BEGIN IMMEDIATE` on the
    /// one writer. PostgreSQL: the tenant row's lock (`FOR NO KEY UPDATE`), held to commit.
    pub(super) async fn begin_write(
        &self,
        tenant_id: i64,
    ) -> StoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.write.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                // Wait for the tenant's lock at most lock_wait (55P03 after).
                sqlx::query("SELECT set_config('lock_timeout', $1, true)")
                    .bind(format!("{}ms", self.lock_wait.as_millis()))
                    .execute(&mut *tx)
                    .await?;
                // A row lock, not an advisory lock: it works the same on
                // PostgreSQL-compatible distributed engines. NO KEY UPDATE
                // does not block the foreign-key checks of other writes.
                let locked = sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR NO KEY UPDATE")
                    .bind(tenant_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if locked.is_none() {
                    return Err(StoreError::Corrupt(format!(
                        "tenant {tenant_id} has no row to lock"
                    )));
                }
                Ok(tx)
            }
        }
    }

    /// The write transaction of a first start, before any tenant row
    /// exists: SQLite's one writer as ever; PostgreSQL an advisory lock
    /// (the only one: instances starting together on an empty database
    /// bootstrap once).
    pub(super) async fn begin_bootstrap(&self) -> StoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.write.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(0)")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// A read transaction: one snapshot for a count and its page.
    pub(super) async fn begin_read(&self) -> StoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.read.begin().await?),
            Backend::Postgres => Ok(self
                .read
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?),
        }
    }

    /// Each pool's size now: `("write" | "read", figures)` on SQLite,
    /// `("main", figures)` on PostgreSQL.
    pub fn pool_figures(&self) -> Vec<(&'static str, PoolFigures)> {
        match self.backend {
            Backend::Sqlite => vec![
                ("write", self.write.figures()),
                ("read", self.read.figures()),
            ],
            Backend::Postgres => vec![("main", self.write.figures())],
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read.acquire().await?)
            .await?;
        Ok(())
    }

    /// The query plan the database would use (tests prove index use with
    /// it). On PostgreSQL sequential scans are switched off for the
    /// question, so a plan that still scans has no index to use.
    pub async fn explain(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
    ) -> StoreResult<Vec<String>> {
        let mut f = SqlFrag::new();
        f.sql(self.dialect().explain());
        f.append(self.select_frag(kind, tenant, query, "r.pk"));
        f.append(self.compiler(kind, tenant).order_by(query.sort.as_ref()));
        f.sql(" LIMIT 100");
        self.explain_frag(f).await
    }

    /// The plan lines of `EXPLAIN …` in `f`, sequential scans off on
    /// PostgreSQL.
    pub(super) async fn explain_frag(&self, f: SqlFrag) -> StoreResult<Vec<String>> {
        let mut tx = self.read.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET LOCAL enable_seqscan = off")
                .execute(&mut *tx)
                .await?;
        }
        let rows = fetch_all(&mut *tx, f).await?;
        tx.rollback().await?;
        let column = match self.backend {
            Backend::Sqlite => "detail",
            Backend::Postgres => "QUERY PLAN",
        };
        rows.iter()
            .map(|r| r.try_get::<String, _>(column).map_err(StoreError::from))
            .collect()
    }

    /// Refresh PostgreSQL's planner statistics (`ANALYZE`; autovacuum does
    /// it in production). SQLite is left without statistics, as it runs:
    /// its planner then assumes large tables, which is what it meets.
    pub async fn analyze(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE")
                .execute(&mut *self.write.acquire().await?)
                .await?;
        }
        Ok(())
    }

    pub(super) fn compiler(&self, kind: Kind, tenant: &Tenant) -> Compiler<'static> {
        Compiler {
            dialect: self.dialect(),
            kind,
            tenant_id: tenant.id,
        }
    }
}
