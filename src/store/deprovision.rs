//! Bulk deprovisioning jobs: the job and its input rows live in the
//! database, each row marked done in the same transaction as the change it
//! made, so a job killed midway resumes exactly where it stopped and a row
//! is never applied twice.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use time::OffsetDateTime;

use super::lifecycle::find_user;
use super::{
    Access, Change, Store, StoreError, StoreResult, SuccessorChoice, Tenant, UserOp, UserRecord,
};
use crate::scim::datetime;

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
    j.input_hash, j.source, j.actor, j.actor_user_id, j.state, j.total, j.created, j.finished, j.lease_until, j.runner,
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

/// Who may take a job over: its lease ran out, or its runner is this very
/// process, or (same host) a process that no longer exists.
pub fn may_take_over(
    runner: Option<&str>,
    lease_until: Option<&str>,
    me: &str,
    now: &str,
    alive: &dyn Fn(&str) -> bool,
) -> bool {
    match (runner, lease_until) {
        (None, _) | (_, None) => true,
        (Some(r), Some(until)) => r == me || until <= now || !alive(r),
    }
}

impl Store {
    /// Create a job and its rows, audited, in one transaction.
    pub async fn create_job(
        &self,
        tenant: &Tenant,
        job: &NewJob,
        change: &Change,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write(tenant.id).await?;
        let at = datetime::format(change.at);
        sqlx::query(
            "INSERT INTO deprovision_jobs (id, tenant_id, mode, match_on, transfer_to, dry_run, input_hash, source, actor, actor_user_id, state, total, created)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12)",
        )
        .bind(&job.id)
        .bind(tenant.id)
        .bind(&job.mode)
        .bind(&job.match_on)
        .bind(&job.transfer_to)
        .bind(i64::from(job.dry_run))
        .bind(&job.input_hash)
        .bind(&job.source)
        .bind(&job.actor)
        .bind(&job.actor_user_id)
        .bind(job.inputs.len() as i64)
        .bind(&at)
        .execute(&mut *tx)
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
            super::sql::execute(&mut *tx, f).await?;
        }
        super::db::record(&mut tx, tenant, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A job of the tenant by id.
    pub async fn job(&self, tenant: &Tenant, id: &str) -> StoreResult<Option<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM deprovision_jobs j JOIN tenants t ON t.id = j.tenant_id
             WHERE j.tenant_id = $1 AND j.id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// The tenant's jobs, newest first.
    pub async fn jobs(&self, tenant: &Tenant, limit: i64) -> StoreResult<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM deprovision_jobs j JOIN tenants t ON t.id = j.tenant_id
             WHERE j.tenant_id = $1 ORDER BY j.created DESC, j.id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(row_to_job).collect()
    }

    /// The unfinished job with this input (same file and options), if any.
    pub async fn unfinished_job(
        &self,
        tenant: &Tenant,
        input_hash: &str,
    ) -> StoreResult<Option<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM deprovision_jobs j JOIN tenants t ON t.id = j.tenant_id
             WHERE j.tenant_id = $1 AND j.input_hash = $2 AND j.state = 'running'
             ORDER BY j.created DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(input_hash)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// Unfinished jobs of every tenant (a starting server resumes those
    /// nobody holds).
    pub async fn unfinished_jobs(&self) -> StoreResult<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM deprovision_jobs j JOIN tenants t ON t.id = j.tenant_id
             WHERE j.state = 'running' ORDER BY j.created"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        rows.iter().map(row_to_job).collect()
    }

    /// Take (or renew) the job's lease for `me`. `Err` names the runner that
    /// holds it.
    pub async fn claim_job(
        &self,
        tenant: &Tenant,
        id: &str,
        me: &str,
        now: OffsetDateTime,
        lease: time::Duration,
        alive: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> StoreResult<Result<(), String>> {
        let mut tx = self.begin_write(tenant.id).await?;
        let row = sqlx::query(
            "SELECT state, runner, lease_until FROM deprovision_jobs WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let state: String = row.try_get("state")?;
        let runner: Option<String> = row.try_get("runner")?;
        let until: Option<String> = row.try_get("lease_until")?;
        let now_s = datetime::format(now);
        if state != "running" {
            return Ok(Err(format!("job {id} is {state}")));
        }
        if !may_take_over(runner.as_deref(), until.as_deref(), me, &now_s, alive) {
            return Ok(Err(format!(
                "job {id} is being run by {} (lease until {})",
                runner.unwrap_or_default(),
                until.unwrap_or_default()
            )));
        }
        let until = datetime::format(now.checked_add(lease).unwrap_or(now));
        sqlx::query("UPDATE deprovision_jobs SET runner = $1, lease_until = $2 WHERE id = $3")
            .bind(me)
            .bind(&until)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The next rows not done yet, in input order.
    pub async fn pending_rows(&self, job_id: &str, limit: i64) -> StoreResult<Vec<JobRow>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM deprovision_rows WHERE job_id = $1 AND done = 0 ORDER BY row_no LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(job_id)
            .bind(limit)
            .fetch_all(&self.read)
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
            .fetch_all(&self.read)
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
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("outcome")?, r.try_get("action")?, r.try_get("n")?)))
            .collect()
    }

    /// Mark a job done, audited.
    pub async fn finish_job(&self, tenant: &Tenant, id: &str, change: &Change) -> StoreResult<()> {
        let mut tx = self.begin_write(tenant.id).await?;
        let n = sqlx::query(
            "UPDATE deprovision_jobs SET state = 'done', finished = $1, lease_until = NULL
             WHERE tenant_id = $2 AND id = $3 AND state = 'running'",
        )
        .bind(datetime::format(change.at))
        .bind(tenant.id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            super::db::record(&mut tx, tenant, change).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A write transaction for a batch of rows.
    pub async fn batch(&self, tenant: &Tenant) -> StoreResult<Batch<'_>> {
        Ok(Batch {
            store: self,
            tx: self.begin_write(tenant.id).await?,
            tenant: tenant.clone(),
        })
    }
}

/// One transaction over a batch of rows: each row's change runs in its own
/// savepoint (a refused row leaves no trace), and the rows are marked done
/// in the same transaction, so a commit carries changes, audit, events and
/// progress together.
pub struct Batch<'s> {
    store: &'s Store,
    tx: Transaction<'static, Any>,
    tenant: Tenant,
}

impl Batch<'_> {
    /// A user by id, deleted ones included.
    pub async fn user(&mut self, id: &str) -> StoreResult<Option<UserRecord>> {
        find_user(&mut self.tx, &self.tenant, id).await
    }

    /// [`Store::user_op`] in a savepoint.
    pub async fn user_op(
        &mut self,
        key: &str,
        op: UserOp,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        after: impl FnOnce(&UserRecord, &Access, &Access) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<UserRecord> {
        let mut sp = sqlx::Connection::begin(&mut *self.tx).await?;
        let r = self
            .store
            .user_op_in(&mut sp, &self.tenant, key, op, check, after, change)
            .await;
        finish_savepoint(sp, &self.tenant, r).await
    }

    /// [`Store::delete_user`] in a savepoint.
    pub async fn delete_user(
        &mut self,
        key: &str,
        choice: &SuccessorChoice,
        check: impl FnOnce(&UserRecord) -> StoreResult<()> + Send,
        change: Change,
    ) -> StoreResult<UserRecord> {
        let mut sp = sqlx::Connection::begin(&mut *self.tx).await?;
        let r = self
            .store
            .delete_user_in(&mut sp, &self.tenant, key, None, choice, check, change)
            .await;
        finish_savepoint(sp, &self.tenant, r).await
    }

    /// Undo the batch's changes (a dry run) but keep the transaction for
    /// recording the rows.
    pub async fn discard_changes(self) -> StoreResult<Self> {
        let Batch { store, tx, tenant } = self;
        tx.rollback().await?;
        Ok(Batch {
            store,
            tx: store.begin_write(tenant.id).await?,
            tenant,
        })
    }

    /// Record the rows' results, renew the lease, and commit.
    pub async fn commit(
        mut self,
        job_id: &str,
        rows: &[JobRow],
        lease_until: OffsetDateTime,
    ) -> StoreResult<()> {
        for r in rows {
            sqlx::query(
                "UPDATE deprovision_rows SET done = 1, outcome = $1, user_id = $2, user_name = $3, action = $4,
                        status_before = $5, status_after = $6, hook = $7, error = $8
                 WHERE job_id = $9 AND row_no = $10",
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
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query("UPDATE deprovision_jobs SET lease_until = $1 WHERE id = $2")
            .bind(datetime::format(lease_until))
            .bind(job_id)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

async fn finish_savepoint(
    mut sp: Transaction<'_, Any>,
    tenant: &Tenant,
    r: StoreResult<String>,
) -> StoreResult<UserRecord> {
    match r {
        Ok(id) => {
            let conn: &mut AnyConnection = &mut sp;
            let u = find_user(conn, tenant, &id)
                .await?
                .ok_or(StoreError::NotFound)?;
            sp.commit().await?;
            Ok(u)
        }
        Err(e) => {
            sp.rollback().await?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::may_take_over;

    #[test]
    fn a_lease_is_taken_over_only_when_free_expired_own_or_dead() {
        let alive = |r: &str| r != "h:2";
        let now = "2026-01-01T00:00:10Z";
        assert!(may_take_over(None, None, "h:1", now, &alive));
        assert!(may_take_over(
            Some("h:1"),
            Some("2026-01-01T00:01:00Z"),
            "h:1",
            now,
            &alive
        ));
        assert!(may_take_over(
            Some("h:2"),
            Some("2026-01-01T00:01:00Z"),
            "h:1",
            now,
            &alive
        ));
        assert!(may_take_over(
            Some("h:3"),
            Some("2026-01-01T00:00:05Z"),
            "h:1",
            now,
            &alive
        ));
        assert!(!may_take_over(
            Some("h:3"),
            Some("2026-01-01T00:01:00Z"),
            "h:1",
            now,
            &alive
        ));
    }
}
