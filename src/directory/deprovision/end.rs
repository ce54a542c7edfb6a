//! How a job ends, each once and audited as object type `DeprovisionJob`
//! with the job's id: `done` when its rows are worked, `failed` when it
//! cannot go on (its creator may no longer run it), `cancelled` by an
//! admin. Rows done before keep their changes. The runner's endings are
//! written only while it holds the job; a cancel is an admin's, whoever
//! holds it — the runner notices at its next batch and stops without
//! writing.

use serde_json::json;

use super::super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{Change, JobEnd, JobRecord};
use scim_protocol::datetime;

impl Directory {
    /// Mark the job done, audited with its counts; the finished job.
    pub(super) async fn finish_job(
        &self,
        ctx: &Ctx,
        job: &JobRecord,
        runner: &str,
    ) -> DirectoryResult<JobRecord> {
        let finished = self.reload_job(ctx, &job.id).await?;
        let counts = self.job_view(&finished).await?;
        let actions = json!(counts.actions);
        let description = format!(
            "deprovisioning job {} finished{}: {} rows; actions {}",
            job.id,
            if job.dry_run {
                " (dry run: nothing changed)"
            } else {
                ""
            },
            finished.total,
            actions
        );
        let payload = json!({"id": job.id, "actions": actions, "dryRun": job.dry_run});
        let end = JobEnd {
            state: "done",
            reason: None,
            runner: Some(runner),
        };
        let change =
            |_| self.job_change(ctx, job, "finished", description.clone(), payload.clone());
        self.end_job(ctx, job, &end, &change).await?;
        self.reload_job(ctx, &job.id).await
    }

    /// The job cannot go on (`why`): it fails, once, with the reason; the
    /// job as it ended.
    pub(super) async fn fail_job(
        &self,
        ctx: &Ctx,
        job: &JobRecord,
        runner: &str,
        why: &DirectoryError,
    ) -> DirectoryResult<JobRecord> {
        let reason = format!("the job's creator may no longer run it: {why}");
        tracing::warn!(job = %job.id, %reason, "deprovisioning job failed");
        let end = JobEnd {
            state: "failed",
            reason: Some(&reason),
            runner: Some(runner),
        };
        let change = |done: i64| {
            let description = format!(
                "deprovisioning job {} failed after {done} of {} rows: {reason}; the rows done keep their changes",
                job.id, job.total
            );
            let payload = json!({"id": job.id, "reason": reason, "done": done, "total": job.total});
            self.job_change(ctx, job, "failed", description, payload)
        };
        self.end_job(ctx, job, &end, &change).await?;
        self.reload_job(ctx, &job.id).await
    }

    /// The runner lost the job between two batches: it was cancelled (or
    /// failed, or finished) — the job as it ended — or another runner took
    /// it over (a conflict naming it).
    pub(super) async fn lost_job(&self, ctx: &Ctx, job: &JobRecord) -> DirectoryResult<JobRecord> {
        let now = self.reload_job(ctx, &job.id).await?;
        if now.state != "running" {
            tracing::info!(job = %job.id, state = %now.state, "deprovisioning job ended elsewhere; its runner stops");
            return Ok(now);
        }
        Err(DirectoryError::Conflict(format!(
            "job {} was taken over by {}",
            job.id,
            now.runner.unwrap_or_default()
        )))
    }

    /// `POST /deprovision-jobs/{id}/cancel`: stop a running job (dry run or
    /// not) at its next batch; the rows done keep their changes. Guarded
    /// like a run: admins of the tenant. A job that is not running is a
    /// conflict.
    pub async fn cancel_job(&self, ctx: &Ctx, id: &str) -> DirectoryResult<JobRecord> {
        let job = self.job(ctx, id).await?;
        let reason = format!("cancelled by {}", ctx.actor);
        let end = JobEnd {
            state: "cancelled",
            reason: Some(&reason),
            runner: None,
        };
        let change = |done: i64| {
            let description = format!(
                "deprovisioning job {} cancelled after {done} of {} rows; the rows done keep their changes",
                job.id, job.total
            );
            let payload = json!({"id": job.id, "done": done, "total": job.total});
            self.job_change(ctx, &job, "cancelled", description, payload)
        };
        if !self.end_job(ctx, &job, &end, &change).await? {
            let now = self.reload_job(ctx, id).await?;
            return Err(DirectoryError::Conflict(format!(
                "job {id} is {}: only a running job can be cancelled",
                now.state
            )));
        }
        self.reload_job(ctx, id).await
    }

    /// The audit row and event of a job's ending (`deprovision_<what>`,
    /// `deprovision_job.<what>`), carrying the job's id.
    fn job_change(
        &self,
        ctx: &Ctx,
        job: &JobRecord,
        what: &str,
        description: String,
        payload: serde_json::Value,
    ) -> Change {
        let mut change = self.admin_change(
            ctx,
            &format!("deprovision_{what}"),
            description,
            &format!("deprovision_job.{what}"),
        );
        change.audit.object_type = "DeprovisionJob".into();
        change.audit.object_id = Some(job.id.clone());
        change.audit.job_id = Some(job.id.clone());
        change.event.object_id = Some(job.id.clone());
        change.event.payload = payload;
        change
    }

    /// End the job and record it (`change` of the rows done by then), in
    /// one transaction; false (nothing written) when it was no longer
    /// running (or held by the runner).
    async fn end_job(
        &self,
        ctx: &Ctx,
        job: &JobRecord,
        end: &JobEnd<'_>,
        change: &(dyn Fn(i64) -> Change + Send + Sync),
    ) -> DirectoryResult<bool> {
        let mut tx = self.store.write(&ctx.tenant).await?;
        let change = change(tx.job_done(&job.id).await?);
        if !tx
            .end_job(&job.id, end, &datetime::format(change.at))
            .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.record(&change).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn reload_job(&self, ctx: &Ctx, id: &str) -> DirectoryResult<JobRecord> {
        self.store
            .job(&ctx.tenant, id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("job {id} not found")))
    }
}
