//! The request log (`request_log`): rows appended in batches, a tenant's
//! rows newest first with filters, the figures per credential, and pruning
//! by age. What is logged, masked and kept is the directory's to say
//! (`directory/request_log.rs`).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{execute, fetch_all, Bind, SqlFrag};
use super::{Store, StoreResult, Tenant};

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEntry {
    pub tenant_id: i64,
    pub at: String,
    pub method: String,
    /// The route template (`/scim/v2/Users/{id}`), never the concrete path.
    pub route: String,
    pub status: i64,
    pub latency_ms: i64,
    /// `token:<id>` or `oauth:<tenant>:<subject>`.
    pub credential: Option<String>,
    /// The credential was refused (unknown secret, revoked, holder gone).
    pub refused: bool,
    pub user_agent: Option<String>,
    /// The SCIM `scimType` (or admin error code) of a failure.
    pub code: Option<String>,
    /// What the client was told.
    pub detail: Option<String>,
    /// A failure's body, masked.
    pub body: Option<String>,
    pub request_id: Option<String>,
}

/// A stored entry with its id (the cursor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub id: i64,
    pub entry: RequestEntry,
}

/// Which statuses to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Exact(i64),
    /// From `.0` to `.1` inclusive (`4xx`, `errors`).
    Range(i64, i64),
}

/// A page of a tenant's request log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestQuery {
    pub status: Option<StatusFilter>,
    pub credential: Option<String>,
    /// Rows at or after this instant (the stored text form).
    pub since: Option<String>,
    /// Rows older than this id (the previous page's last).
    pub before: Option<i64>,
    pub limit: i64,
}

/// What the log says of one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialFigures {
    pub credential: String,
    pub last_request_at: String,
    pub last_success_at: Option<String>,
    pub last_error_at: Option<String>,
    /// Requests and failures (status 400 or more) since the window's start.
    pub recent_requests: i64,
    pub recent_errors: i64,
}

const COLUMNS: &str = "id, tenant_id, at, method, route, status, latency_ms, credential, refused, user_agent, code, detail, body, request_id";
/// Rows one INSERT carries (14 parameters each; far below both stores'
/// parameter limits).
const ROWS_PER_INSERT: usize = 200;

fn opt(f: &mut SqlFrag, v: &Option<String>) {
    match v {
        Some(s) => f.text(s.clone()),
        None => f.sql("NULL"),
    };
}

fn values(f: &mut SqlFrag, e: &RequestEntry) {
    f.sql("(").int(e.tenant_id).sql(", ").text(e.at.clone());
    f.sql(", ").text(e.method.clone()).sql(", ");
    f.text(e.route.clone()).sql(", ").int(e.status);
    f.sql(", ").int(e.latency_ms).sql(", ");
    opt(f, &e.credential);
    f.sql(", ").int(i64::from(e.refused)).sql(", ");
    for (i, v) in [&e.user_agent, &e.code, &e.detail, &e.body, &e.request_id]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            f.sql(", ");
        }
        opt(f, v);
    }
    f.sql(")");
}

fn record(r: &AnyRow) -> StoreResult<RequestRecord> {
    Ok(RequestRecord {
        id: r.try_get("id")?,
        entry: RequestEntry {
            tenant_id: r.try_get("tenant_id")?,
            at: r.try_get("at")?,
            method: r.try_get("method")?,
            route: r.try_get("route")?,
            status: r.try_get("status")?,
            latency_ms: r.try_get("latency_ms")?,
            credential: r.try_get("credential")?,
            refused: r.try_get::<i64, _>("refused")? != 0,
            user_agent: r.try_get("user_agent")?,
            code: r.try_get("code")?,
            detail: r.try_get("detail")?,
            body: r.try_get("body")?,
            request_id: r.try_get("request_id")?,
        },
    })
}

impl Store {
    /// Append entries, a few hundred rows a statement, in one transaction.
    pub async fn append_requests(&self, entries: &[RequestEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.write.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for chunk in entries.chunks(ROWS_PER_INSERT) {
            let mut f = SqlFrag::new();
            f.sql("INSERT INTO request_log (tenant_id, at, method, route, status, latency_ms, credential, refused, user_agent, code, detail, body, request_id) VALUES ");
            for (i, e) in chunk.iter().enumerate() {
                if i > 0 {
                    f.sql(", ");
                }
                values(&mut f, e);
            }
            execute(&mut *tx, f).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A page of the tenant's log, newest first.
    pub async fn requests(
        &self,
        tenant: &Tenant,
        q: &RequestQuery,
    ) -> StoreResult<Vec<RequestRecord>> {
        let mut f = SqlFrag::new();
        f.sql(format!(
            "SELECT {COLUMNS} FROM request_log WHERE tenant_id = "
        ));
        f.int(tenant.id);
        match q.status {
            Some(StatusFilter::Exact(s)) => {
                f.sql(" AND status = ").int(s);
            }
            Some(StatusFilter::Range(lo, hi)) => {
                f.sql(" AND status >= ")
                    .int(lo)
                    .sql(" AND status <= ")
                    .int(hi);
            }
            None => {}
        }
        if let Some(c) = &q.credential {
            f.sql(" AND credential = ").text(c.clone());
        }
        if let Some(s) = &q.since {
            f.sql(" AND at >= ").text(s.clone());
        }
        if let Some(b) = q.before {
            f.sql(" AND id < ").int(b);
        }
        f.sql(" ORDER BY id DESC LIMIT ").int(q.limit);
        let rows = fetch_all(&mut *self.read.acquire().await?, f).await?;
        rows.iter().map(record).collect()
    }

    /// Per credential of the tenant: its last request, success and error,
    /// and its requests and failures since `since`.
    pub async fn credential_figures(
        &self,
        tenant: &Tenant,
        since: &str,
    ) -> StoreResult<Vec<CredentialFigures>> {
        let mut f = SqlFrag::new();
        f.sql(
            "SELECT credential, MAX(at) AS last_at,
                    MAX(CASE WHEN status < 400 THEN at END) AS ok_at,
                    MAX(CASE WHEN status >= 400 THEN at END) AS err_at,
                    SUM(CASE WHEN at >= ",
        );
        f.text(since)
            .sql(" THEN 1 ELSE 0 END) AS recent, SUM(CASE WHEN status >= 400 AND at >= ");
        f.text(since)
            .sql(" THEN 1 ELSE 0 END) AS recent_err FROM request_log WHERE tenant_id = ");
        f.int(tenant.id)
            .sql(" AND credential IS NOT NULL GROUP BY credential ORDER BY credential");
        let rows = fetch_all(&mut *self.read.acquire().await?, f).await?;
        rows.iter()
            .map(|r| {
                Ok(CredentialFigures {
                    credential: r.try_get("credential")?,
                    last_request_at: r.try_get("last_at")?,
                    last_success_at: r.try_get("ok_at")?,
                    last_error_at: r.try_get("err_at")?,
                    recent_requests: r.try_get::<Option<i64>, _>("recent")?.unwrap_or(0),
                    recent_errors: r.try_get::<Option<i64>, _>("recent_err")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// The credential's latest failure.
    pub async fn last_failure(
        &self,
        tenant: &Tenant,
        credential: &str,
    ) -> StoreResult<Option<RequestRecord>> {
        let q = RequestQuery {
            status: Some(StatusFilter::Range(400, 599)),
            credential: Some(credential.to_string()),
            since: None,
            before: None,
            limit: 1,
        };
        Ok(self.requests(tenant, &q).await?.into_iter().next())
    }

    /// Delete at most `batch` rows logged before `before`; how many went.
    pub async fn prune_requests(&self, before: &str, batch: i64) -> StoreResult<u64> {
        let mut f = SqlFrag::new();
        f.sql("DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE at < ")
            .bind(Bind::Text(before.to_string()))
            .sql(" ORDER BY at LIMIT ")
            .int(batch)
            .sql(")");
        Ok(execute(&mut *self.write.acquire().await?, f).await?)
    }
}
