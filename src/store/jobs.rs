//! Bulk deprovisioning jobs: the job and its input rows live in the
//! database, each row marked done in the same transaction as the change it
//! made, so a job killed midway resumes exactly where it stopped and a row
//! is never applied twice.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreResult, Tenant, Tx};

/// A job to create, with its input values in order.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub mode: String,
    pub match_on: String,
    pub transfer_to: Option<String>,
    pub dry_run: bool,
    pub input_hash: String,
    pub source: String,
    pub actor: String,
    pub actor_user_id: Option<String>,
    pub inputs: Vec<String>,
}

/// A job as stored, with how many rows are done.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: String,
    pub tenant: Tenant,
    pub mode: String,
    pub match_on: String,
    pub transfer_to: Option<String>,
    pub dry_run: bool,
    pub input_hash: String,
    pub source: String,
    pub actor: String,
    pub actor_user_id: Option<String>,
    pub state: String,
    pub total: i64,
    pub done: i64,
    pub created: String,
    pub finished: Option<String>,
    pub lease_until: Option<String>,
    pub runner: Option<String>,
    /// Why a failed or cancelled job ended.
    pub reason: Option<String>,
}

/// How a running job ends.
#[derive(Debug, Clone, Copy)]
pub struct JobEnd<'a> {
    /// `done`, `failed` or `cancelled`.
    pub state: &'a str,
    pub reason: Option<&'a str>,
    /// Only while this runner holds the job (None: whoever holds it).
    pub runner: Option<&'a str>,
}

/// One input row and, once done, what happened to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRow {
    pub row_no: i64,
    pub input: String,
    pub done: bool,
    /// `matched`, `none`, `ambiguous` or `invalid`.
    pub outcome: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub action: Option<String>,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
    pub hook: Option<String>,
    pub error: Option<String>,
}

const JOB_COLUMNS: &str = "j.id, j.tenant_id, t.name AS tenant_name, j.mode, j.match_on, j.transfer_to, j.dry_run,
    j.input_hash, j.source, j.actor, j.actor_user_id, j.state, j.total, j.created, j.finished, j.lease_until, j.runner, j.reason,
    (SELECT count(*) FROM deprovision_rows r WHERE r.job_id = j.id AND r.done = 1) AS done";

fn row_to_job(r: &AnyRow) -> StoreResult<JobRecord> {
    Ok(JobRecord {
        id: r.try_get("id")?,
        tenant: Tenant {
            id: r.try_get("tenant_id")?,
            name: r.try_get("tenant_name")?,
        },
        mode: r.try_get("mode")?,
        match_on: r.try_get("match_on")?,
        transfer_to: r.try_get("transfer_to")?,
        dry_run: r.try_get::<i64, _>("dry_run")? != 0,
        input_hash: r.try_get("input_hash")?,
        source: r.try_get("source")?,
        actor: r.try_get("actor")?,
        actor_user_id: r.try_get("actor_user_id")?,
        state: r.try_get("state")?,
        total: r.try_get("total")?,
        done: r.try_get("done")?,
        created: r.try_get("created")?,
        finished: r.try_get("finished")?,
        lease_until: r.try_get("lease_until")?,
        runner: r.try_get("runner")?,
        reason: r.try_get("reason")?,
    })
}

fn row_to_row(r: &AnyRow) -> StoreResult<JobRow> {
    Ok(JobRow {
        row_no: r.try_get("row_no")?,
        input: r.try_get("input")?,
        done: r.try_get::<i64, _>("done")? != 0,
        outcome: r.try_get("outcome")?,
        user_id: r.try_get("user_id")?,
        user_name: r.try_get("user_name")?,
        action: r.try_get("action")?,
        status_before: r.try_get("status_before")?,
        status_after: r.try_get("status_after")?,
        hook: r.try_get("hook")?,
        error: r.try_get("error")?,
    })
}

const ROW_COLUMNS: &str = "row_no, input, done, outcome, user_id, user_name, action, status_before, status_after, hook, error";

/// The job query with this condition (and order).
fn job_select(condition: &str) -> String {
    format!(
        "SELECT {JOB_COLUMNS} FROM deprovision_jobs j JOIN tenants t ON t.id = j.tenant_id WHERE {condition}"
    )
}

impl Store {
    /// A job of the tenant by id.
    pub async fn job(&self, tenant: &Tenant, id: &str) -> StoreResult<Option<JobRecord>> {
        let sql = job_select("j.tenant_id = $1 AND j.id = $2");
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// The tenant's jobs, newest first.
    pub async fn jobs(&self, tenant: &Tenant, limit: i64) -> StoreResult<Vec<JobRecord>> {
        let sql = job_select("j.tenant_id = $1 ORDER BY j.created DESC, j.id DESC LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(limit)
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        rows.iter().map(row_to_job).collect()
    }

    /// The unfinished job with this input (same file and options), if any.
    pub async fn unfinished_job(
        &self,
        tenant: &Tenant,
        input_hash: &str,
    ) -> StoreResult<Option<JobRecord>> {
        let sql = job_select(
            "j.tenant_id = $1 AND j.input_hash = $2 AND j.state = 'running' ORDER BY j.created DESC LIMIT 1",
        );
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(input_hash)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// Unfinished jobs of every tenant (a starting server resumes those
    /// nobody holds).
    pub async fn unfinished_jobs(&self) -> StoreResult<Vec<JobRecord>> {
        let sql = job_select("j.state = 'running' ORDER BY j.created");
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        rows.iter().map(row_to_job).collect()
    }

    /// The next rows not done yet, in input order.
    pub async fn pending_rows(&self, job_id: &str, limit: i64) -> StoreResult<Vec<JobRow>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM deprovision_rows WHERE job_id = $1 AND done = 0 ORDER BY row_no LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(job_id)
            .bind(limit)
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        rows.iter().map(row_to_row).collect()
    }

    /// Rows of a job in input order.
    pub async fn job_rows(
        &self,
        job_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<JobRow>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM deprovision_rows WHERE job_id = $1 ORDER BY row_no LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(job_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        rows.iter().map(row_to_row).collect()
    }

    /// Rows counted by action and by outcome.
    pub async fn job_counts(&self, job_id: &str) -> StoreResult<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT coalesce(outcome, 'pending') AS outcome, coalesce(action, 'pending') AS action, count(*) AS n
             FROM deprovision_rows WHERE job_id = $1 GROUP BY outcome, action ORDER BY outcome, action",
        )
        .bind(job_id)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("outcome")?, r.try_get("action")?, r.try_get("n")?)))
            .collect()
    }
}

impl Tx {
    /// Create a job and its input rows.
    pub async fn insert_job(&mut self, job: &NewJob, at: &str) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO deprovision_jobs (id, tenant_id, mode, match_on, transfer_to, dry_run, input_hash, source, actor, actor_user_id, state, total, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12)",
        )
        .bind(&job.id)
        .bind(tid)
        .bind(&job.mode)
        .bind(&job.match_on)
        .bind(&job.transfer_to)
        .bind(i64::from(job.dry_run))
        .bind(&job.input_hash)
        .bind(&job.source)
        .bind(&job.actor)
        .bind(&job.actor_user_id)
        .bind(job.inputs.len() as i64)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        // Many rows per statement: 10,000 single inserts cost a second.
        for (chunk_no, chunk) in job.inputs.chunks(300).enumerate() {
            let mut f = super::sql::SqlFrag::new();
            f.sql("INSERT INTO deprovision_rows (job_id, row_no, input) VALUES ");
            for (i, input) in chunk.iter().enumerate() {
                if i > 0 {
                    f.sql(", ");
                }
                f.sql("(")
                    .text(job.id.clone())
                    .sql(", ")
                    .int((chunk_no * 300 + i + 1) as i64)
                    .sql(", ")
                    .text(input.clone())
                    .sql(")");
            }
            super::sql::execute(self.conn().await?, f).await?;
        }
        Ok(())
    }

    /// A job's state, runner and lease end.
    pub async fn job_lease(
        &mut self,
        id: &str,
    ) -> StoreResult<Option<(String, Option<String>, Option<String>)>> {
        let tid = self.tid();
        let row = sqlx::query(
            "SELECT state, runner, lease_until FROM deprovision_jobs WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tid)
        .bind(id)
        .fetch_optional(self.conn().await?)
        .await?;
        row.map(|r| {
            Ok((
                r.try_get("state")?,
                r.try_get("runner")?,
                r.try_get("lease_until")?,
            ))
        })
        .transpose()
    }

    /// Give a running job's lease to `runner` until `until`, provided it is
    /// still held by `holder` (as read in this transaction; None: nobody):
    /// false when the job ended or changed hands meanwhile.
    pub async fn take_job_lease(
        &mut self,
        id: &str,
        holder: Option<&str>,
        runner: &str,
        until: &str,
    ) -> StoreResult<bool> {
        let tid = self.tid();
        Ok(sqlx::query(
            "UPDATE deprovision_jobs SET runner = $1, lease_until = $2
             WHERE tenant_id = $3 AND id = $4 AND state = 'running' AND coalesce(runner, '') = $5",
        )
        .bind(runner)
        .bind(until)
        .bind(tid)
        .bind(id)
        .bind(holder.unwrap_or_default())
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }

    /// Renew the lease `runner` holds on a running job: false when it holds
    /// it no more (another runner took the job over, or it ended).
    pub async fn renew_job_lease(
        &mut self,
        id: &str,
        runner: &str,
        until: &str,
    ) -> StoreResult<bool> {
        let tid = self.tid();
        Ok(sqlx::query(
            "UPDATE deprovision_jobs SET lease_until = $1
             WHERE tenant_id = $2 AND id = $3 AND state = 'running' AND runner = $4",
        )
        .bind(until)
        .bind(tid)
        .bind(id)
        .bind(runner)
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }

    /// Record the results of rows not done yet: done. How many were marked.
    pub async fn mark_rows_done(&mut self, job_id: &str, rows: &[JobRow]) -> StoreResult<u64> {
        let mut marked = 0;
        for r in rows {
            marked += sqlx::query(
                "UPDATE deprovision_rows SET done = 1, outcome = $1, user_id = $2, user_name = $3, action = $4,
                        status_before = $5, status_after = $6, hook = $7, error = $8, input = $11
                 WHERE job_id = $9 AND row_no = $10 AND done = 0",
            )
            .bind(&r.outcome)
            .bind(&r.user_id)
            .bind(&r.user_name)
            .bind(&r.action)
            .bind(&r.status_before)
            .bind(&r.status_after)
            .bind(&r.hook)
            .bind(&r.error)
            .bind(job_id)
            .bind(r.row_no)
            .bind(&r.input)
            .execute(self.conn().await?)
            .await?
            .rows_affected();
        }
        Ok(marked)
    }

    /// How many of a job's rows are done.
    pub async fn job_done(&mut self, id: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM deprovision_rows WHERE job_id = $1 AND done = 1",
        )
        .bind(id)
        .fetch_one(self.conn().await?)
        .await?)
    }

    /// End a running job: `done`, `failed` or `cancelled`, with the reason
    /// (failed, cancelled). With `runner`, only while that runner holds it.
    /// False when the job was not running (or not held by `runner`).
    pub async fn end_job(&mut self, id: &str, end: &JobEnd<'_>, at: &str) -> StoreResult<bool> {
        let tid = self.tid();
        Ok(sqlx::query(
            "UPDATE deprovision_jobs SET state = $1, reason = $2, finished = $3, lease_until = NULL
             WHERE tenant_id = $4 AND id = $5 AND state = 'running' AND ($6 = '' OR runner = $6)",
        )
        .bind(end.state)
        .bind(end.reason)
        .bind(at)
        .bind(tid)
        .bind(id)
        .bind(end.runner.unwrap_or_default())
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }
}
