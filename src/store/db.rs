//! The store, on SQLite (the embedded default) or PostgreSQL, through one
//! code path: runtime queries over sqlx's `Any` driver with numbered
//! placeholders both backends read, and a [`Dialect`] for what differs.
//!
//! SQLite: WAL, one writer connection (SQLite serialises writers anyway; one
//! connection avoids lock upgrades), a pool of readers. PostgreSQL: one pool;
//! every write transaction first takes its tenant's advisory lock, so writes
//! to a tenant are serialised across instances exactly as SQLite serialises
//! them within one, and the guards that count (seats, the last super-admin,
//! uniqueness) see no concurrent change.

use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};
use time::OffsetDateTime;

use super::sql::{
    fetch_all, fetch_one, Bind, Compiler, Dialect, PostgresDialect, SqlFrag, SqliteDialect,
    USER_VALUE_ATTRS,
};
use super::{
    Access, AccessPolicy, AuditQuery, Change, CursorPage, Event, EventRecord, GroupFacts, GroupRef,
    Member, PlainPolicy, StoreError, StoreResult, StoredResource, Tenant, TokenRecord, Update,
    UserFacts,
};
use crate::scim::datetime;
use crate::scim::list::{Cursor, ListQuery};
use crate::scim::patch::{MemberOp, MemberRef};
use crate::scim::schema::Kind;

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

#[derive(Clone)]
pub struct Store {
    pub(super) write: AnyPool,
    pub(super) read: AnyPool,
    pub(super) policy: std::sync::Arc<dyn AccessPolicy>,
    pub(super) backend: Backend,
    /// SQLite: the file whose lock elects the instance doing background work.
    pub(super) worker_lock: Option<std::path::PathBuf>,
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

/// PRAGMAs every SQLite connection gets.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
     PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON; PRAGMA cache_size = -16000;";

/// `url` with `mode=…` set (SQLite opens read-write-create or read-only).
fn sqlite_url(url: &str, mode: &str) -> String {
    if url.contains("mode=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode={mode}")
}

/// Columns every resource read selects (users add status and access).
pub(super) fn resource_columns(kind: Kind, prefix: &str) -> String {
    let p = prefix;
    match kind {
        Kind::User => format!(
            "{p}pk, {p}id, {p}data, {p}version, {p}created, {p}last_modified, {p}status, {p}access"
        ),
        Kind::Group => format!("{p}pk, {p}id, {p}data, {p}version, {p}created, {p}last_modified"),
    }
}

pub(super) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
    }
}

pub(super) fn parse_time(s: &str) -> StoreResult<OffsetDateTime> {
    datetime::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad timestamp {s}")))
}

pub(super) fn row_to_resource(row: &AnyRow) -> StoredResourceResult {
    let data: String = row.try_get("data")?;
    let data: Map<String, Value> =
        serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let status: Option<String> = row.try_get("status").ok().flatten();
    let access: Option<Value> = row
        .try_get::<Option<String>, _>("access")
        .ok()
        .flatten()
        .and_then(|a| serde_json::from_str(&a).ok());
    Ok(StoredResource {
        status,
        access,
        pk: row.try_get("pk")?,
        id: row.try_get("id")?,
        data,
        version: row.try_get("version")?,
        created: parse_time(&row.try_get::<String, _>("created")?)?,
        last_modified: parse_time(&row.try_get::<String, _>("last_modified")?)?,
    })
}

type StoredResourceResult = StoreResult<StoredResource>;

/// Lowercase for case-insensitive comparison.
pub fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

impl Store {
    /// Open and migrate: `sqlite://FILE` (created if missing) or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        match Backend::of_url(url) {
            Some(Backend::Postgres) => Self::connect_postgres(url).await,
            Some(Backend::Sqlite) => Self::connect_sqlite(url).await,
            None => Err(StoreError::Corrupt(format!(
                "unsupported database URL \"{url}\": use sqlite://FILE or postgres://…"
            ))),
        }
    }

    async fn connect_sqlite(url: &str) -> StoreResult<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let write = AnyPoolOptions::new()
            // No ping before every use: a round trip per statement.
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL;").await?;
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
            .connect(&sqlite_url(url, "rwc"))
            .await?;
        SQLITE_MIGRATOR.run(&write).await?;
        let read = if in_memory {
            write.clone()
        } else {
            AnyPoolOptions::new()
                // No ping before every use: a round trip per statement.
                .test_before_acquire(false)
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
                .connect(&sqlite_url(url, "ro"))
                .await?
        };
        Ok(Self {
            write,
            read,
            policy: std::sync::Arc::new(PlainPolicy),
            backend: Backend::Sqlite,
            worker_lock: sqlite_file(url).map(|p| {
                let mut name = p.into_os_string();
                name.push("-worker.lock");
                name.into()
            }),
        })
    }

    async fn connect_postgres(url: &str) -> StoreResult<Self> {
        let pool = AnyPoolOptions::new()
            // No ping before every use: a round trip per statement.
            .test_before_acquire(false)
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        // sqlx takes an advisory lock around migrations: instances starting
        // together migrate once.
        POSTGRES_MIGRATOR.run(&pool).await?;
        Ok(Self {
            write: pool.clone(),
            read: pool,
            policy: std::sync::Arc::new(PlainPolicy),
            backend: Backend::Postgres,
            worker_lock: None,
        })
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
                    .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(WorkerLease {
                        tx: None,
                        _file: Some(file),
                    })),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(StoreError::Corrupt(format!("{}: {e}", path.display())))
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
    /// one writer. PostgreSQL: the tenant's advisory lock, held to commit.
    pub(super) async fn begin_write(
        &self,
        tenant_id: i64,
    ) -> StoreResult<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.write.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.write.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(tenant_id)
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

    /// The same store, computing effective access with `policy`.
    pub fn with_policy(mut self, policy: std::sync::Arc<dyn AccessPolicy>) -> Self {
        self.policy = policy;
        self
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
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
            sqlx::query("ANALYZE").execute(&self.write).await?;
        }
        Ok(())
    }

    fn compiler(&self, kind: Kind, tenant: &Tenant) -> Compiler<'static> {
        Compiler {
            dialect: self.dialect(),
            kind,
            tenant_id: tenant.id,
        }
    }

    // ---- tenants and tokens -------------------------------------------------

    pub async fn tenant_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM tenants")
            .fetch_one(&self.read)
            .await?)
    }

    pub async fn find_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) => Some(Tenant {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
            }),
            None => None,
        })
    }

    pub async fn ensure_tenant(&self, name: &str, now: OffsetDateTime) -> StoreResult<Tenant> {
        sqlx::query(
            "INSERT INTO tenants (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(datetime::format(now))
        .execute(&self.write)
        .await?;
        self.find_tenant(name).await?.ok_or(StoreError::NotFound)
    }

    /// Create the tenant and its first token in one transaction, only when the
    /// database has no tenant at all. Returns false when one already exists.
    pub async fn bootstrap(
        &self,
        tenant: &str,
        token: &TokenRecord,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write(0).await?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Ok(false);
        }
        let id: i64 =
            sqlx::query_scalar("INSERT INTO tenants (name, created) VALUES ($1, $2) RETURNING id")
                .bind(tenant)
                .bind(datetime::format(now))
                .fetch_one(&mut *tx)
                .await?;
        insert_token(&mut tx, id, token).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Set a tenant's seat limits (None: unlimited).
    pub async fn set_seat_limits(
        &self,
        tenant: &Tenant,
        users: Option<i64>,
        viewers: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET max_users = $1, max_viewers = $2 WHERE id = $3")
            .bind(users)
            .bind(viewers)
            .bind(tenant.id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Seats in use and limits: ((users, max), (viewers, max)).
    pub async fn seat_usage(
        &self,
        tenant: &Tenant,
    ) -> StoreResult<((i64, Option<i64>), (i64, Option<i64>))> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'user' AND deleted_at IS NULL) AS users,
                    (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'viewer' AND deleted_at IS NULL) AS viewers,
                    t.max_users, t.max_viewers
             FROM tenants t WHERE t.id = $1",
        )
        .bind(tenant.id)
        .fetch_one(&self.read)
        .await?;
        Ok((
            (row.try_get("users")?, row.try_get("max_users")?),
            (row.try_get("viewers")?, row.try_get("max_viewers")?),
        ))
    }

    pub async fn insert_token(&self, tenant: &Tenant, token: &TokenRecord) -> StoreResult<()> {
        let mut tx = self.begin_write(tenant.id).await?;
        insert_token(&mut tx, tenant.id, token).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT k.id, k.label, k.secret_hash, k.created, k.revoked, k.user_id, t.id AS tenant_id, t.name AS tenant_name
             FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| token_from_row(&r)).transpose()
    }

    pub async fn list_tokens(&self, tenant: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT k.id, k.label, k.secret_hash, k.created, k.revoked, k.user_id, t.id AS tenant_id, t.name AS tenant_name
             FROM tokens k JOIN tenants t ON t.id = k.tenant_id
             WHERE ($1 IS NULL OR t.name = $1) ORDER BY t.name, k.created, k.id",
        )
        .bind(tenant)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revoke a token; false if there is no such active token.
    pub async fn revoke_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL")
            .bind(datetime::format(now))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    // ---- reads ---------------------------------------------------------------

    pub async fn get(
        &self,
        kind: Kind,
        tenant: &Tenant,
        id: &str,
    ) -> StoreResult<Option<StoredResource>> {
        fetch_resource(&self.read, kind, tenant, id).await
    }

    fn select_frag(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        columns: &str,
    ) -> SqlFrag {
        // `+r.tenant_id` keeps the tenant check but lets an indexed subquery
        // (emails, members, groups) drive the lookup.
        let driven = query
            .filter
            .as_ref()
            .is_some_and(Compiler::driven_by_subquery);
        let tenant_term = if driven {
            "+r.tenant_id"
        } else {
            "r.tenant_id"
        };
        let mut f = SqlFrag::new();
        f.sql(format!(
            "SELECT {columns} FROM {} r WHERE {tenant_term} = ",
            table(kind)
        ));
        f.int(tenant.id);
        if kind == Kind::User {
            f.sql(" AND r.deleted_at IS NULL");
        }
        if let Some(cond) = &query.filter {
            f.sql(" AND ");
            f.append(self.compiler(kind, tenant).condition(cond));
        }
        f
    }

    async fn count(
        &self,
        conn: &mut AnyConnection,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
    ) -> StoreResult<i64> {
        let row = fetch_one(conn, self.select_frag(kind, tenant, query, "count(*)")).await?;
        Ok(row.try_get(0)?)
    }

    /// One page of a filtered, sorted list, and the total match count.
    pub async fn list(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
    ) -> StoreResult<(i64, Vec<StoredResource>)> {
        let page = || {
            let mut f = self.select_frag(kind, tenant, query, &resource_columns(kind, "r."));
            f.append(self.compiler(kind, tenant).order_by(query.sort.as_ref()));
            f.sql(" LIMIT ");
            f.int(query.count);
            f.sql(" OFFSET ");
            f.int(query.start_index - 1);
            f
        };
        let to_items = |rows: Vec<AnyRow>| {
            rows.iter()
                .map(row_to_resource)
                .collect::<StoreResult<Vec<_>>>()
        };
        // The common case — a lookup (`userName eq …`) or any first page
        // that is not full — is one statement: the page is every match, so
        // its length is the total.
        if query.count > 0 && query.start_index == 1 {
            let rows = fetch_all(&self.read, page()).await?;
            if (rows.len() as i64) < query.count {
                return Ok((rows.len() as i64, to_items(rows)?));
            }
        }
        // Otherwise count and page read one snapshot, so totalResults
        // matches the page.
        let mut tx = self.begin_read().await?;
        let total = self.count(&mut tx, kind, tenant, query).await?;
        if query.count == 0 || total < query.start_index {
            tx.commit().await?;
            return Ok((total, vec![]));
        }
        let rows = fetch_all(&mut *tx, page()).await?;
        tx.commit().await?;
        Ok((total, to_items(rows)?))
    }

    /// One cursor page (RFC 9865) in creation order: the total, the page,
    /// and the cursors to the pages after and before it, if any.
    pub async fn list_cursor(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        cursor: Cursor,
    ) -> StoreResult<CursorPage> {
        let mut tx = self.begin_read().await?;
        let total = self.count(&mut tx, kind, tenant, query).await?;
        let (bound, backwards) = match cursor {
            Cursor::First => (None, false),
            Cursor::After(pk) => (Some(("r.pk > ", pk)), false),
            Cursor::Before(pk) => (Some(("r.pk < ", pk)), true),
        };
        let mut f = self.select_frag(kind, tenant, query, &resource_columns(kind, "r."));
        if let Some((op, pk)) = bound {
            f.sql(format!(" AND {op}"));
            f.int(pk);
        }
        f.sql(if backwards {
            " ORDER BY r.pk DESC LIMIT "
        } else {
            " ORDER BY r.pk LIMIT "
        });
        f.int(query.count + 1);
        let rows = fetch_all(&mut *tx, f).await?;
        let mut items = rows
            .iter()
            .map(row_to_resource)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() as i64 > query.count;
        items.truncate(query.count.max(0) as usize);
        if backwards {
            items.reverse();
        }
        // Is there anything on the other side of the page?
        let first = items.first().map(|r| r.pk);
        let last = items.last().map(|r| r.pk);
        let (more_before, more_after) = match cursor {
            Cursor::First => (false, more),
            Cursor::After(pk) => {
                let edge = first.unwrap_or(pk.saturating_add(1));
                (
                    self.any_beyond(&mut tx, kind, tenant, query, "r.pk < ", edge)
                        .await?,
                    more,
                )
            }
            Cursor::Before(pk) => {
                let edge = last.unwrap_or(pk.saturating_sub(1));
                (
                    more,
                    self.any_beyond(&mut tx, kind, tenant, query, "r.pk > ", edge)
                        .await?,
                )
            }
        };
        tx.commit().await?;
        // count=0 asks for no resources, so no position to continue from.
        let paging = query.count > 0;
        let next = (paging && more_after).then(|| {
            Cursor::next_text(last.unwrap_or(match cursor {
                Cursor::Before(pk) => pk.saturating_sub(1),
                _ => 0,
            }))
        });
        let previous = (paging && more_before).then(|| {
            Cursor::previous_text(first.unwrap_or(match cursor {
                Cursor::After(pk) => pk.saturating_add(1),
                _ => 0,
            }))
        });
        Ok(CursorPage {
            total,
            items,
            next,
            previous,
        })
    }

    async fn any_beyond(
        &self,
        conn: &mut AnyConnection,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        op: &str,
        pk: i64,
    ) -> StoreResult<bool> {
        let mut f = SqlFrag::new();
        f.sql("SELECT CASE WHEN EXISTS (");
        f.append(self.select_frag(kind, tenant, query, "1"));
        f.sql(format!(" AND {op}"));
        f.int(pk);
        f.sql(") THEN 1 ELSE 0 END");
        let row = fetch_one(&mut *conn, f).await?;
        Ok(row.try_get::<i64, _>(0)? != 0)
    }

    /// Members of a group, at most `limit`.
    pub async fn members(&self, group_pk: i64, limit: i64) -> StoreResult<Vec<Member>> {
        Ok(self
            .members_of_many(&[group_pk], limit, limit)
            .await?
            .remove(&group_pk)
            .unwrap_or_default())
    }

    /// Members of several groups in one query: at most `per_group` each and
    /// `total` in all.
    pub async fn members_of_many(
        &self,
        group_pks: &[i64],
        per_group: i64,
        total: i64,
    ) -> StoreResult<std::collections::HashMap<i64, Vec<Member>>> {
        let mut out: std::collections::HashMap<i64, Vec<Member>> = std::collections::HashMap::new();
        if group_pks.is_empty() || total <= 0 || per_group <= 0 {
            return Ok(out);
        }
        let mut f = SqlFrag::new();
        f.sql(
            "SELECT group_pk, member_id, member_type, display FROM (
               SELECT m.group_pk, m.member_id, m.member_type, m.display,
                      ROW_NUMBER() OVER (PARTITION BY m.group_pk ORDER BY m.member_id) AS n
               FROM memberships m WHERE m.group_pk IN (",
        );
        f.bind_list(group_pks.iter().map(|pk| Bind::Int(*pk)));
        f.sql(")) ranked WHERE n <= ");
        f.int(per_group);
        f.sql(" ORDER BY group_pk, member_id LIMIT ");
        f.int(total);
        let rows = fetch_all(&self.read, f).await?;
        for r in &rows {
            out.entry(r.try_get("group_pk")?).or_default().push(Member {
                id: r.try_get("member_id")?,
                kind: r.try_get("member_type")?,
                display: r.try_get("display")?,
            });
        }
        Ok(out)
    }

    /// Groups a user or group belongs to, directly and through nesting.
    pub async fn groups_of(&self, tenant: &Tenant, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        Ok(self
            .groups_of_many(tenant, &[member_id.to_string()])
            .await?
            .remove(member_id)
            .unwrap_or_default())
    }

    /// Groups of several members in one recursive query. The recursion
    /// deduplicates on (member, group, direct), so it ends on cycles by
    /// itself. Whether a membership is direct is carried by the recursion
    /// (seed rows are), not looked up per row. `CROSS JOIN` makes SQLite
    /// walk from the one queued row outwards (PostgreSQL plans it as an
    /// inner join); left to itself, SQLite scanned the memberships table
    /// (26 ms per lookup of a member of a 100,000-member group).
    pub async fn groups_of_many(
        &self,
        tenant: &Tenant,
        member_ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, Vec<GroupRef>>> {
        let mut out: std::collections::HashMap<String, Vec<GroupRef>> =
            std::collections::HashMap::new();
        if member_ids.is_empty() {
            return Ok(out);
        }
        let mut f = SqlFrag::new();
        f.sql(
            "WITH RECURSIVE anc(origin, pk, direct) AS (
                SELECT member_id, group_pk, 1 FROM memberships WHERE tenant_id = ",
        );
        f.int(tenant.id);
        f.sql(" AND member_id IN (");
        f.bind_list(member_ids.iter().map(|id| Bind::Text(id.clone())));
        f.sql(
            ")
                UNION
                SELECT anc.origin, m.group_pk, 0
                  FROM anc CROSS JOIN groups g CROSS JOIN memberships m
                  WHERE g.pk = anc.pk AND g.tenant_id = ",
        );
        f.int(tenant.id);
        f.sql(" AND m.tenant_id = ");
        f.int(tenant.id);
        f.sql(
            " AND m.member_id = g.id
             )
             SELECT anc.origin, g.id, g.display_name, max(anc.direct) AS direct
             FROM anc JOIN groups g ON g.pk = anc.pk
             GROUP BY anc.origin, g.pk, g.id, g.display_name, g.display_name_ci
             ORDER BY anc.origin, g.display_name_ci, g.id",
        );
        let rows = fetch_all(&self.read, f).await?;
        for r in &rows {
            out.entry(r.try_get("origin")?).or_default().push(GroupRef {
                id: r.try_get("id")?,
                display: r.try_get("display_name")?,
                direct: r.try_get::<i64, _>("direct")? != 0,
            });
        }
        Ok(out)
    }

    // ---- writes --------------------------------------------------------------

    /// Insert a new resource (and, for groups, its members).
    pub async fn create(
        &self,
        kind: Kind,
        tenant: &Tenant,
        id: &str,
        data: &Map<String, Value>,
        members: &[MemberRef],
        change: &Change,
    ) -> StoreResult<StoredResource> {
        let mut tx = self.begin_write(tenant.id).await?;
        check_unique(&mut tx, kind, tenant, data, None).await?;
        let now = datetime::format(change.at);
        let json = Value::Object(data.clone()).to_string();
        let mut events = Vec::new();
        let (pk, status, access): (i64, Option<String>, Option<Value>) = match kind {
            Kind::User => {
                let local = Value::Object(Map::new());
                let access = self.policy.compute(
                    &tenant.name,
                    &UserFacts {
                        data,
                        local: &local,
                        groups: &[],
                    },
                );
                check_seat(&mut tx, tenant, &access.user_type).await?;
                let (user_name, ci) = user_name(data);
                let (pk, status): (i64, String) = sqlx::query_as(
                    "INSERT INTO users (tenant_id, id, user_name, user_name_ci, external_id, active, user_type, role, plan, access, data, version, created, last_modified)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13) RETURNING pk, status",
                )
                .bind(tenant.id)
                .bind(id)
                .bind(user_name)
                .bind(ci)
                .bind(external_id(data))
                .bind(i64::from(active(data)))
                .bind(&access.user_type)
                .bind(&access.role)
                .bind(&access.plan)
                .bind(access.explain.to_string())
                .bind(&json)
                .bind(&now)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                (pk, Some(status), Some(access.explain))
            }
            Kind::Group => {
                let (name, ci) = display_name(data);
                let pk = sqlx::query_scalar(
                    "INSERT INTO groups (tenant_id, id, display_name, display_name_ci, external_id, data, version, created, last_modified)
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING pk",
                )
                .bind(tenant.id)
                .bind(id)
                .bind(name)
                .bind(ci)
                .bind(external_id(data))
                .bind(&json)
                .bind(&now)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                (pk, None, None)
            }
        };
        if kind == Kind::User {
            write_user_values(&mut tx, tenant, pk, data).await?;
        }
        if kind == Kind::Group && !members.is_empty() {
            let matters = self.group_matters(&mut tx, tenant, id, &[]).await?;
            let before = if matters {
                active_super_admins(&mut tx, tenant).await?
            } else {
                0
            };
            let (_, touched) =
                apply_member_ops(&mut tx, tenant, pk, id, &[MemberOp::Add(members.to_vec())])
                    .await?;
            if matters {
                let users = users_within(&mut tx, tenant, &touched).await?;
                self.recompute_users(&mut tx, tenant, &users, change.at, &mut events)
                    .await?;
                guard_super_admins(&mut tx, tenant, before).await?;
            }
        }
        record(&mut tx, tenant, change).await?;
        record_events(&mut tx, tenant, change.at, &events).await?;
        tx.commit().await?;
        Ok(StoredResource {
            pk,
            id: id.to_string(),
            data: data.clone(),
            version: 1,
            created: change.at,
            last_modified: change.at,
            status,
            access,
        })
    }

    /// Read-modify-write one resource in a transaction. `if_match` is checked
    /// against the current version; `f` computes the new state from the
    /// current one (returning `None` when nothing changes). Effective access
    /// is recomputed for the user, or for the members of a group whose
    /// membership or name feeds role mapping.
    pub async fn update<F>(
        &self,
        kind: Kind,
        tenant: &Tenant,
        id: &str,
        if_match: Option<&str>,
        f: F,
    ) -> StoreResult<StoredResource>
    where
        F: FnOnce(&StoredResource) -> Result<Option<Update>, crate::scim::ScimError> + Send,
    {
        let mut tx = self.begin_write(tenant.id).await?;
        let current = fetch_for_update(&mut tx, kind, tenant, id, if_match).await?;
        let Some(mut update) = f(&current).map_err(StoreError::Scim)? else {
            return Ok(current);
        };
        // The last-super-admin guard counts before and after; only changes
        // that can lower the count pay for it: a user who is an active
        // super-admin now, or a group that feeds role mapping.
        let group_matters = kind == Kind::Group
            && self
                .group_matters(
                    &mut tx,
                    tenant,
                    id,
                    &[group_facts(&current.data), group_facts(&update.data)],
                )
                .await?;
        let at_risk = match kind {
            Kind::User => is_active_super_admin(&current),
            Kind::Group => group_matters,
        };
        let before = if at_risk {
            active_super_admins(&mut tx, tenant).await?
        } else {
            0
        };
        let (members_changed, touched) = if kind == Kind::Group {
            apply_member_ops(&mut tx, tenant, current.pk, id, &update.member_ops).await?
        } else {
            (0, Vec::new())
        };
        let at = update.change.at;
        let mut events = Vec::new();
        let mut access_changed = None;
        if kind == Kind::User {
            let row = load_user_row(&mut tx, current.pk).await?;
            let groups = self.groups_for(&mut tx, tenant, id).await?;
            let access = self.policy.compute(
                &tenant.name,
                &UserFacts {
                    data: &update.data,
                    local: &row.local,
                    groups: &groups,
                },
            );
            if access.user_type != row.access.user_type {
                check_seat(&mut tx, tenant, &access.user_type).await?;
            }
            if access != row.access {
                events.extend(access_events(id, &row.access, &access));
                access_changed = Some(access);
            }
        }
        if members_changed == 0 && update.data == current.data && access_changed.is_none() {
            // Nothing changed (an IdP retry): no version bump, no audit row.
            tx.rollback().await?;
            return Ok(current);
        }
        let name_of = |d: &Map<String, Value>| match kind {
            Kind::User => user_name(d).1,
            Kind::Group => display_name(d).1,
        };
        if name_of(&update.data) != name_of(&current.data) {
            check_unique(&mut tx, kind, tenant, &update.data, Some(current.pk)).await?;
        }
        let now = datetime::format(at);
        let json = Value::Object(update.data.clone()).to_string();
        let version = current.version + 1;
        let mut status = None;
        let mut access_out = None;
        match kind {
            Kind::User => {
                let (user_name, ci) = user_name(&update.data);
                sqlx::query(
                    "UPDATE users SET user_name = $1, user_name_ci = $2, external_id = $3, active = $4, data = $5, version = $6, last_modified = $7
                     WHERE pk = $8",
                )
                .bind(user_name)
                .bind(ci)
                .bind(external_id(&update.data))
                .bind(i64::from(active(&update.data)))
                .bind(&json)
                .bind(version)
                .bind(&now)
                .bind(current.pk)
                .execute(&mut *tx)
                .await?;
                if let Some(a) = &access_changed {
                    write_access(&mut tx, current.pk, a).await?;
                }
                let values_changed = USER_VALUE_ATTRS
                    .iter()
                    .any(|a| update.data.get(*a) != current.data.get(*a));
                if values_changed {
                    sqlx::query("DELETE FROM user_values WHERE user_pk = $1")
                        .bind(current.pk)
                        .execute(&mut *tx)
                        .await?;
                    write_user_values(&mut tx, tenant, current.pk, &update.data).await?;
                }
                let (s, a): (String, String) =
                    sqlx::query_as("SELECT status, access FROM users WHERE pk = $1")
                        .bind(current.pk)
                        .fetch_one(&mut *tx)
                        .await?;
                status = Some(s);
                access_out = serde_json::from_str(&a).ok();
            }
            Kind::Group => {
                let (name, ci) = display_name(&update.data);
                sqlx::query(
                    "UPDATE groups SET display_name = $1, display_name_ci = $2, external_id = $3, data = $4, version = $5, last_modified = $6
                     WHERE pk = $7",
                )
                .bind(name)
                .bind(ci)
                .bind(external_id(&update.data))
                .bind(&json)
                .bind(version)
                .bind(&now)
                .bind(current.pk)
                .execute(&mut *tx)
                .await?;
                let renamed = group_facts(&current.data) != group_facts(&update.data);
                if (renamed || !touched.is_empty()) && group_matters {
                    // Members removed by this change need it as much as
                    // the ones that stay.
                    let mut ids = touched.clone();
                    if renamed {
                        ids.push(id.to_string());
                    }
                    let users = users_within(&mut tx, tenant, &ids).await?;
                    self.recompute_users(&mut tx, tenant, &users, at, &mut events)
                        .await?;
                }
            }
        }
        guard_super_admins(&mut tx, tenant, before).await?;
        update.change.extra_events.extend(events);
        record(&mut tx, tenant, &update.change).await?;
        tx.commit().await?;
        Ok(StoredResource {
            pk: current.pk,
            id: current.id,
            data: update.data,
            version,
            created: current.created,
            last_modified: at,
            status,
            access: access_out,
        })
    }

    /// Delete a group and every membership that names it (users are
    /// soft-deleted through `delete_user`).
    pub async fn delete(
        &self,
        kind: Kind,
        tenant: &Tenant,
        id: &str,
        if_match: Option<&str>,
        change: impl FnOnce(&StoredResource) -> Change + Send,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write(tenant.id).await?;
        let current = fetch_for_update(&mut tx, kind, tenant, id, if_match).await?;
        let change = change(&current);
        // Members whose access may depend on this group.
        let matters = kind == Kind::Group
            && self
                .group_matters(&mut tx, tenant, id, &[group_facts(&current.data)])
                .await?;
        let before = if matters {
            active_super_admins(&mut tx, tenant).await?
        } else {
            0
        };
        let affected = if matters {
            users_within(&mut tx, tenant, &[id.to_string()]).await?
        } else {
            Vec::new()
        };
        self.detach_member(&mut tx, tenant, id, kind, &change)
            .await?;
        sqlx::query(&format!("DELETE FROM {} WHERE pk = $1", table(kind)))
            .bind(current.pk)
            .execute(&mut *tx)
            .await?;
        let mut events = Vec::new();
        self.recompute_users(&mut tx, tenant, &affected, change.at, &mut events)
            .await?;
        guard_super_admins(&mut tx, tenant, before).await?;
        record(&mut tx, tenant, &change).await?;
        record_events(&mut tx, tenant, change.at, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove `id` from every group that lists it: those groups change too
    /// (new version, an audit row and a `group.updated` event each).
    pub(super) async fn detach_member(
        &self,
        tx: &mut AnyConnection,
        tenant: &Tenant,
        id: &str,
        kind: Kind,
        change: &Change,
    ) -> StoreResult<Vec<String>> {
        let parents: Vec<String> = sqlx::query_scalar(
            "UPDATE groups SET version = version + 1, last_modified = $1
             WHERE pk IN (SELECT group_pk FROM memberships WHERE tenant_id = $2 AND member_id = $3)
             RETURNING id",
        )
        .bind(datetime::format(change.at))
        .bind(tenant.id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        for parent in &parents {
            let event = group_change(
                change,
                parent,
                format!("member {id} removed: the {} was deleted", kind.name()),
                serde_json::json!({"id": parent, "removedMember": id}),
            );
            record(&mut *tx, tenant, &event).await?;
        }
        sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND member_id = $2")
            .bind(tenant.id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        Ok(parents)
    }

    /// The groups role mapping looks at for a user: none when no rule of the
    /// tenant is about groups (no query then).
    pub(super) async fn groups_for(
        &self,
        conn: &mut AnyConnection,
        tenant: &Tenant,
        user_id: &str,
    ) -> StoreResult<Vec<GroupFacts>> {
        if self.policy.uses_groups(&tenant.name) {
            user_groups(conn, tenant, user_id).await
        } else {
            Ok(Vec::new())
        }
    }

    /// A stored user's row and the effective access its stored inputs give
    /// now (its data, local settings and groups).
    pub(super) async fn compute_access(
        &self,
        conn: &mut AnyConnection,
        tenant: &Tenant,
        pk: i64,
        id: &str,
    ) -> StoreResult<(UserRow, Access)> {
        let row = load_user_row(conn, pk).await?;
        let groups = self.groups_for(conn, tenant, id).await?;
        let access = self.policy.compute(
            &tenant.name,
            &UserFacts {
                data: &row.data,
                local: &row.local,
                groups: &groups,
            },
        );
        Ok((row, access))
    }

    /// Whether group `id` (or a group containing it) feeds role mapping;
    /// `also` adds facts the group had before this change.
    pub(super) async fn group_matters(
        &self,
        conn: &mut AnyConnection,
        tenant: &Tenant,
        id: &str,
        also: &[GroupFacts],
    ) -> StoreResult<bool> {
        if !self.policy.uses_groups(&tenant.name) {
            return Ok(false);
        }
        if also
            .iter()
            .any(|g| self.policy.group_matters(&tenant.name, g))
        {
            return Ok(true);
        }
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "WITH RECURSIVE anc(id) AS (
                SELECT $2
                UNION
                SELECT g.id FROM anc CROSS JOIN memberships m CROSS JOIN groups g
                  WHERE m.tenant_id = $1 AND m.member_id = anc.id AND g.pk = m.group_pk
             )
             SELECT g.display_name, g.external_id FROM anc JOIN groups g ON g.id = anc.id AND g.tenant_id = $1",
        )
        .bind(tenant.id)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows.into_iter().any(|(display_name, external_id)| {
            self.policy.group_matters(
                &tenant.name,
                &GroupFacts {
                    display_name,
                    external_id,
                },
            )
        }))
    }

    /// Recompute the effective access of these users (by id); changed ones
    /// get a new version and `user.role_changed`-style events.
    pub(super) async fn recompute_users(
        &self,
        conn: &mut AnyConnection,
        tenant: &Tenant,
        ids: &[String],
        at: OffsetDateTime,
        events: &mut Vec<Event>,
    ) -> StoreResult<()> {
        for id in ids {
            let pk: Option<i64> = sqlx::query_scalar(
                "SELECT pk FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
            )
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(pk) = pk else { continue };
            let (row, access) = self.compute_access(conn, tenant, pk, id).await?;
            if access == row.access {
                continue;
            }
            if access.user_type != row.access.user_type {
                check_seat(conn, tenant, &access.user_type).await?;
            }
            write_access(conn, pk, &access).await?;
            sqlx::query("UPDATE users SET version = version + 1, last_modified = $1 WHERE pk = $2")
                .bind(datetime::format(at))
                .bind(pk)
                .execute(&mut *conn)
                .await?;
            events.extend(access_events(id, &row.access, &access));
        }
        Ok(())
    }

    /// Audit rows of a tenant, oldest first (all of them; tests use it).
    pub async fn audit_log(&self, tenant: &Tenant) -> StoreResult<Vec<Value>> {
        self.audit_page(
            tenant,
            &AuditQuery {
                limit: i64::MAX,
                ..Default::default()
            },
        )
        .await
    }

    /// One page of a tenant's audit log, oldest first, after a cursor.
    pub async fn audit_page(&self, tenant: &Tenant, q: &AuditQuery) -> StoreResult<Vec<Value>> {
        let mut f = SqlFrag::new();
        f.sql(
            "SELECT id, at, actor, actor_user_id, source_ip, request_id, object_type, object_id, object_name, action, description
             FROM audit_log WHERE tenant_id = ",
        );
        f.int(tenant.id);
        if let Some(after) = q.after {
            f.sql(" AND id > ");
            f.int(after);
        }
        let text_filters = [
            ("actor", &q.actor),
            ("action", &q.action),
            ("object_type", &q.object_type),
            ("object_id", &q.object_id),
            ("request_id", &q.request_id),
        ];
        for (column, value) in text_filters {
            if let Some(v) = value {
                f.sql(format!(" AND {column} = "));
                f.text(v.clone());
            }
        }
        if let Some(since) = &q.since {
            f.sql(" AND at >= ");
            f.text(since.clone());
        }
        if let Some(until) = &q.until {
            f.sql(" AND at < ");
            f.text(until.clone());
        }
        f.sql(" ORDER BY id LIMIT ");
        f.int(q.limit.max(0));
        let rows = fetch_all(&self.read, f).await?;
        rows.iter()
            .map(|r| {
                Ok(serde_json::json!({
                    "id": r.try_get::<i64, _>("id")?,
                    "at": r.try_get::<String, _>("at")?,
                    "actor": r.try_get::<String, _>("actor")?,
                    "actorUserId": r.try_get::<Option<String>, _>("actor_user_id")?,
                    "sourceIp": r.try_get::<Option<String>, _>("source_ip")?,
                    "requestId": r.try_get::<Option<String>, _>("request_id")?,
                    "objectType": r.try_get::<String, _>("object_type")?,
                    "objectId": r.try_get::<Option<String>, _>("object_id")?,
                    "objectName": r.try_get::<Option<String>, _>("object_name")?,
                    "action": r.try_get::<String, _>("action")?,
                    "description": r.try_get::<String, _>("description")?,
                }))
            })
            .collect()
    }

    /// Outbox events of a tenant, oldest first.
    pub async fn events(
        &self,
        tenant: &Tenant,
    ) -> StoreResult<Vec<(String, Option<String>, Value)>> {
        Ok(self
            .events_page(tenant, 0, i64::MAX)
            .await?
            .into_iter()
            .map(|e| (e.kind, e.object_id, e.payload))
            .collect())
    }

    /// Events after a cursor (the last id a host has seen), oldest first.
    pub async fn events_page(
        &self,
        tenant: &Tenant,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, object_id, payload FROM outbox WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(tenant.id)
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                Ok(EventRecord {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    object_id: r.try_get("object_id")?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

fn token_from_row(r: &AnyRow) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        id: r.try_get("id")?,
        tenant: Tenant {
            id: r.try_get("tenant_id")?,
            name: r.try_get("tenant_name")?,
        },
        label: r.try_get("label")?,
        secret_hash: r.try_get("secret_hash")?,
        created: r.try_get("created")?,
        revoked: r.try_get("revoked")?,
        user_id: r.try_get("user_id")?,
    })
}

async fn insert_token(
    conn: &mut AnyConnection,
    tenant_id: i64,
    token: &TokenRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tokens (id, tenant_id, label, secret_hash, created, user_id) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token.id)
    .bind(tenant_id)
    .bind(&token.label)
    .bind(&token.secret_hash)
    .bind(&token.created)
    .bind(&token.user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One resource by id within a tenant, on a pool or inside a transaction.
pub(super) async fn fetch_resource<'e, E>(
    executor: E,
    kind: Kind,
    tenant: &Tenant,
    id: &str,
) -> StoreResult<Option<StoredResource>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let live = match kind {
        Kind::User => " AND deleted_at IS NULL",
        Kind::Group => "",
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1 AND tenant_id = $2{live}",
        resource_columns(kind, ""),
        table(kind)
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(tenant.id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(row_to_resource).transpose()
}

/// The resource a write is about, and the `If-Match` check against it.
pub(super) async fn fetch_for_update(
    conn: &mut AnyConnection,
    kind: Kind,
    tenant: &Tenant,
    id: &str,
    if_match: Option<&str>,
) -> StoreResult<StoredResource> {
    let current = fetch_resource(conn, kind, tenant, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if let Some(tag) = if_match {
        if !crate::scim::etag::matches(tag, current.version) {
            return Err(StoreError::PreconditionFailed(format!(
                "If-Match {tag} does not match the current version {}",
                crate::scim::etag::etag(current.version)
            )));
        }
    }
    Ok(current)
}

pub(super) fn str_at<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

pub(super) fn user_name(data: &Map<String, Value>) -> (String, String) {
    let n = str_at(data, "userName").unwrap_or_default().to_string();
    let ci = fold(&n);
    (n, ci)
}

pub(super) fn display_name(data: &Map<String, Value>) -> (String, String) {
    let n = str_at(data, "displayName").unwrap_or_default().to_string();
    let ci = fold(&n);
    (n, ci)
}

pub(super) fn external_id(data: &Map<String, Value>) -> Option<String> {
    str_at(data, "externalId").map(str::to_string)
}

/// Refuse one more seat of `ty` when the tenant's limit is reached.
/// Disabled users hold their seat; deleted ones do not exist any more.
pub(super) async fn check_seat(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    ty: &str,
) -> StoreResult<()> {
    let column = if ty == "viewer" {
        "max_viewers"
    } else {
        "max_users"
    };
    let limit: Option<i64> =
        sqlx::query_scalar(&format!("SELECT {column} FROM tenants WHERE id = $1"))
            .bind(tenant.id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    let Some(limit) = limit else {
        return Ok(());
    };
    let used: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE tenant_id = $1 AND user_type = $2 AND deleted_at IS NULL",
    )
    .bind(tenant.id)
    .bind(ty)
    .fetch_one(&mut *conn)
    .await?;
    if used >= limit {
        return Err(StoreError::SeatLimit(format!(
            "no {ty} seat left: {used} of {limit} in use; raise the tenant's limit or remove a {ty}"
        )));
    }
    Ok(())
}

pub(super) fn active(data: &Map<String, Value>) -> bool {
    data.get("active").and_then(Value::as_bool).unwrap_or(true)
}

pub(super) async fn check_unique(
    conn: &mut AnyConnection,
    kind: Kind,
    tenant: &Tenant,
    data: &Map<String, Value>,
    except_pk: Option<i64>,
) -> StoreResult<()> {
    let (sql, value, what) = match kind {
        Kind::User => (
            "SELECT id FROM users WHERE tenant_id = $1 AND user_name_ci = $2 AND pk <> $3 AND deleted_at IS NULL",
            user_name(data),
            "userName",
        ),
        Kind::Group => (
            "SELECT id FROM groups WHERE tenant_id = $1 AND display_name_ci = $2 AND pk <> $3",
            display_name(data),
            "displayName",
        ),
    };
    let existing: Option<String> = sqlx::query_scalar(sql)
        .bind(tenant.id)
        .bind(&value.1)
        .bind(except_pk.unwrap_or(-1))
        .fetch_optional(conn)
        .await?;
    if let Some(other) = existing {
        return Err(StoreError::Uniqueness(format!(
            "{what} \"{}\" is already taken by {} {other}",
            value.0,
            kind.name()
        )));
    }
    Ok(())
}

pub(super) async fn write_user_values(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    pk: i64,
    data: &Map<String, Value>,
) -> StoreResult<()> {
    for attr in USER_VALUE_ATTRS {
        let Some(Value::Array(items)) = data.get(*attr) else {
            continue;
        };
        for item in items {
            let value = item.get("value").and_then(Value::as_str);
            let ty = item.get("type").and_then(Value::as_str);
            let primary = item
                .get("primary")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            sqlx::query(
                "INSERT INTO user_values (user_pk, tenant_id, attr, value, value_ci, type_ci, is_primary, elem)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(pk)
            .bind(tenant.id)
            .bind(*attr)
            .bind(value)
            .bind(value.map(fold))
            .bind(ty.map(fold))
            .bind(i64::from(primary))
            .bind(item.to_string())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Resolve a member reference to its kind within the tenant.
pub(super) async fn member_kind(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    m: &MemberRef,
) -> StoreResult<&'static str> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT 'User' FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
         UNION ALL SELECT 'Group' FROM groups WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.id)
    .bind(&m.value)
    .fetch_optional(&mut *conn)
    .await?;
    let kind = match found.as_deref() {
        Some("User") => "User",
        Some("Group") => "Group",
        _ => {
            return Err(StoreError::InvalidReference(format!(
                "member \"{}\" is not a User or Group of this tenant",
                m.value
            )))
        }
    };
    if let Some(said) = &m.kind {
        if said != kind {
            return Err(StoreError::InvalidReference(format!(
                "member \"{}\" is a {kind}, not a {said}",
                m.value
            )));
        }
    }
    Ok(kind)
}

/// Apply membership operations; returns how many rows changed and the ids of
/// the members added or removed.
pub(super) async fn apply_member_ops(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    group_pk: i64,
    group_id: &str,
    ops: &[MemberOp],
) -> StoreResult<(u64, Vec<String>)> {
    let mut changed = 0u64;
    let mut touched = Vec::new();
    for op in ops {
        match op {
            MemberOp::RemoveAll => {
                let gone: Vec<String> = sqlx::query_scalar(
                    "DELETE FROM memberships WHERE group_pk = $1 RETURNING member_id",
                )
                .bind(group_pk)
                .fetch_all(&mut *conn)
                .await?;
                changed += gone.len() as u64;
                touched.extend(gone);
            }
            MemberOp::Remove(ids) => {
                for id in ids {
                    changed += remove_member(conn, group_pk, id, &mut touched).await?;
                }
            }
            MemberOp::Add(refs) => {
                changed +=
                    add_members(conn, tenant, group_pk, group_id, refs, &mut touched).await?;
            }
            MemberOp::Replace(refs) => {
                // Remove those not listed, add the new ones: an identical
                // list changes nothing.
                let current: Vec<String> =
                    sqlx::query_scalar("SELECT member_id FROM memberships WHERE group_pk = $1")
                        .bind(group_pk)
                        .fetch_all(&mut *conn)
                        .await?;
                let wanted: std::collections::HashSet<&str> =
                    refs.iter().map(|m| m.value.as_str()).collect();
                for id in current.iter().filter(|c| !wanted.contains(c.as_str())) {
                    changed += remove_member(conn, group_pk, id, &mut touched).await?;
                }
                changed +=
                    add_members(conn, tenant, group_pk, group_id, refs, &mut touched).await?;
            }
        }
    }
    Ok((changed, touched))
}

async fn remove_member(
    conn: &mut AnyConnection,
    group_pk: i64,
    id: &str,
    touched: &mut Vec<String>,
) -> StoreResult<u64> {
    let n = sqlx::query("DELETE FROM memberships WHERE group_pk = $1 AND member_id = $2")
        .bind(group_pk)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if n > 0 {
        touched.push(id.to_string());
    }
    Ok(n)
}

pub(super) async fn add_members(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    group_pk: i64,
    group_id: &str,
    refs: &[MemberRef],
    touched: &mut Vec<String>,
) -> StoreResult<u64> {
    let mut changed = 0;
    for m in refs {
        let kind = member_kind(conn, tenant, m).await?;
        if kind == "Group" {
            check_no_cycle(conn, tenant, group_id, &m.value).await?;
        }
        let n = sqlx::query(
            "INSERT INTO memberships (group_pk, tenant_id, member_id, member_type, display) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (group_pk, member_id) DO UPDATE SET display = excluded.display
             WHERE excluded.display IS NOT NULL AND excluded.display IS DISTINCT FROM memberships.display",
        )
        .bind(group_pk)
        .bind(tenant.id)
        .bind(&m.value)
        .bind(kind)
        .bind(&m.display)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        changed += n;
        if n > 0 {
            touched.push(m.value.clone());
        }
    }
    Ok(changed)
}

/// Adding `member` (a group) to `group` must not make a group its own member.
pub(super) async fn check_no_cycle(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    group_id: &str,
    member: &str,
) -> StoreResult<()> {
    if group_id == member {
        return Err(StoreError::InvalidReference(
            "a group cannot be a member of itself".into(),
        ));
    }
    // Is `member` already an ancestor of `group`?
    let hit: Option<i64> = sqlx::query_scalar(
        "WITH RECURSIVE anc(id) AS (
            SELECT g.id FROM memberships m JOIN groups g ON g.pk = m.group_pk AND g.tenant_id = $1
              WHERE m.tenant_id = $1 AND m.member_id = $2
            UNION
            SELECT g.id FROM anc CROSS JOIN memberships m CROSS JOIN groups g
              WHERE m.tenant_id = $1 AND m.member_id = anc.id AND g.pk = m.group_pk AND g.tenant_id = $1
         )
         SELECT 1 FROM anc WHERE id = $3 LIMIT 1",
    )
    .bind(tenant.id)
    .bind(group_id)
    .bind(member)
    .fetch_optional(&mut *conn)
    .await?;
    if hit.is_some() {
        return Err(StoreError::InvalidReference(format!(
            "adding group \"{member}\" would make a membership cycle"
        )));
    }
    Ok(())
}

pub(super) async fn record(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    change: &Change,
) -> StoreResult<()> {
    record_audit(conn, tenant, change.at, &change.audit).await?;
    record_events(conn, tenant, change.at, std::slice::from_ref(&change.event)).await?;
    record_events(conn, tenant, change.at, &change.extra_events).await
}

/// One audit row (without events: a failed delivery attempt, a recompute).
pub(super) async fn record_audit(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    at: OffsetDateTime,
    a: &super::AuditEntry,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, at, actor, actor_user_id, source_ip, request_id, object_type, object_id, object_name, action, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant.id)
    .bind(datetime::format(at))
    .bind(&a.actor)
    .bind(&a.actor_user_id)
    .bind(&a.source_ip)
    .bind(&a.request_id)
    .bind(&a.object_type)
    .bind(&a.object_id)
    .bind(&a.object_name)
    .bind(&a.action)
    .bind(&a.description)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The audit row and event of a group touched by a change to one of its
/// members (a deletion or a restore).
pub(super) fn group_change(
    base: &Change,
    group_id: &str,
    description: String,
    payload: Value,
) -> Change {
    Change {
        at: base.at,
        audit: super::AuditEntry {
            object_type: "Group".into(),
            object_id: Some(group_id.to_string()),
            object_name: None,
            action: "updated".into(),
            description,
            ..base.audit.clone()
        },
        event: Event {
            kind: "group.updated".into(),
            object_id: Some(group_id.to_string()),
            payload,
        },
        extra_events: Vec::new(),
    }
}

/// A user's row as access computation needs it.
pub(super) struct UserRow {
    pub data: Map<String, Value>,
    pub local: Value,
    pub access: Access,
}

pub(super) async fn load_user_row(conn: &mut AnyConnection, pk: i64) -> StoreResult<UserRow> {
    let (data, local, user_type, role, plan, access): (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
    ) = sqlx::query_as(
        "SELECT data, local_access, user_type, role, plan, access FROM users WHERE pk = $1",
    )
    .bind(pk)
    .fetch_one(&mut *conn)
    .await?;
    let parse = |s: &str| -> StoreResult<Value> {
        serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    let data = match parse(&data)? {
        Value::Object(m) => m,
        _ => return Err(StoreError::Corrupt("user data is not an object".into())),
    };
    let explain = parse(&access)?;
    let rank = 0;
    Ok(UserRow {
        data,
        local: parse(&local)?,
        access: Access {
            user_type,
            role,
            rank,
            plan,
            explain,
        },
    })
}

pub(super) async fn write_access(
    conn: &mut AnyConnection,
    pk: i64,
    access: &Access,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET user_type = $1, role = $2, plan = $3, access = $4 WHERE pk = $5")
        .bind(&access.user_type)
        .bind(&access.role)
        .bind(&access.plan)
        .bind(access.explain.to_string())
        .bind(pk)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Events for a change of effective access.
pub(super) fn access_events(id: &str, old: &Access, new: &Access) -> Vec<Event> {
    let mut out = Vec::new();
    let mut push = |kind: &str, from: Value, to: Value| {
        out.push(Event {
            kind: kind.to_string(),
            object_id: Some(id.to_string()),
            payload: serde_json::json!({"id": id, "from": from, "to": to}),
        })
    };
    if old.role != new.role {
        push(
            "user.role_changed",
            old.role.clone().into(),
            new.role.clone().into(),
        );
    }
    if old.user_type != new.user_type {
        push(
            "user.type_changed",
            old.user_type.clone().into(),
            new.user_type.clone().into(),
        );
    }
    if old.plan != new.plan {
        push(
            "user.plan_changed",
            old.plan.clone().into(),
            new.plan.clone().into(),
        );
    }
    out
}

pub(super) fn group_facts(data: &Map<String, Value>) -> GroupFacts {
    GroupFacts {
        display_name: str_at(data, "displayName").unwrap_or_default().to_string(),
        external_id: external_id(data),
    }
}

/// The groups a user belongs to, directly or through nested groups.
pub(super) async fn user_groups(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    user_id: &str,
) -> StoreResult<Vec<GroupFacts>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "WITH RECURSIVE anc(id) AS (
            SELECT $2
            UNION
            SELECT g.id FROM anc CROSS JOIN memberships m CROSS JOIN groups g
              WHERE m.tenant_id = $1 AND m.member_id = anc.id AND g.pk = m.group_pk
         )
         SELECT g.display_name, g.external_id FROM anc JOIN groups g ON g.id = anc.id AND g.tenant_id = $1
         ORDER BY g.pk",
    )
    .bind(tenant.id)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(display_name, external_id)| GroupFacts {
            display_name,
            external_id,
        })
        .collect())
}

/// The users among `ids`, and the users inside any groups among them
/// (through nested groups).
pub(super) async fn users_within(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        let rows: Vec<String> = sqlx::query_scalar(
            "WITH RECURSIVE sub(id, kind) AS (
                SELECT $2, (SELECT CASE WHEN EXISTS (SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $2) THEN 'Group' ELSE 'User' END)
                UNION
                SELECT m.member_id, m.member_type FROM sub CROSS JOIN groups g CROSS JOIN memberships m
                  WHERE sub.kind = 'Group' AND g.tenant_id = $1 AND g.id = sub.id AND m.group_pk = g.pk
             )
             SELECT id FROM sub WHERE kind = 'User'",
        )
        .bind(tenant.id)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            if seen.insert(r.clone()) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Whether this stored user is an active super-admin right now (from the
/// columns read with it: no query).
pub(super) fn is_active_super_admin(r: &StoredResource) -> bool {
    r.access
        .as_ref()
        .and_then(|a| a.get("role"))
        .and_then(|r| r.get("value"))
        .and_then(Value::as_str)
        == Some("super-admin")
        && matches!(r.status.as_deref(), Some("created" | "active" | "invited"))
}

/// Active super-admins of a tenant (not disabled, banned or deleted).
pub(super) async fn active_super_admins(
    conn: &mut AnyConnection,
    tenant: &Tenant,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE tenant_id = $1 AND role = 'super-admin'
           AND deleted_at IS NULL AND banned_at IS NULL AND active <> 0",
    )
    .bind(tenant.id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Refuse a change that leaves a tenant which had an active super-admin
/// without one.
pub(super) async fn guard_super_admins(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    before: i64,
) -> StoreResult<()> {
    if before > 0 && active_super_admins(conn, tenant).await? == 0 {
        return Err(StoreError::LastSuperAdmin(format!(
            "this change would leave tenant \"{}\" without an active super-admin: grant super-admin to another user first",
            tenant.name
        )));
    }
    Ok(())
}

pub(super) async fn record_events(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    at: OffsetDateTime,
    events: &[Event],
) -> StoreResult<()> {
    let at = datetime::format(at);
    for e in events {
        sqlx::query(
            "INSERT INTO outbox (tenant_id, at, kind, object_id, payload) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.id)
        .bind(&at)
        .bind(&e.kind)
        .bind(&e.object_id)
        .bind(e.payload.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
