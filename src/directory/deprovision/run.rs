//! Running a job: claim its lease, work the pending rows batch by batch —
//! each batch one transaction, each row in its own savepoint so a refused
//! row leaves no trace, the rows marked done in the same commit — and
//! finish it, audited. A dry run rolls each batch's changes back to a
//! savepoint and keeps only the rows' results.

use serde_json::Value;

use super::super::guards::Admin;
use super::super::lifecycle::{SuccessorChoice, UserOp, PURGED_USER, REDACTED};
use super::super::{Ctx, Directory, DirectoryError, DirectoryResult};
use super::lease::{may_take_over, runner_alive};
use super::{hook_outcome, RunOptions, LEASE_SECONDS};
use crate::store::{Candidate, JobRecord, JobRow, Tx};
use scim_protocol::datetime;

/// What a job runs with, fixed for the whole run.
struct Run<'a> {
    ctx: Ctx,
    job: &'a JobRecord,
    admin: Admin,
    choice: SuccessorChoice,
    /// This process, holding the job's lease.
    runner: &'a str,
}

/// Whether an error ends a job for good (its creator may no longer run
/// it, …) rather than pausing it until the database answers again.
fn stops_the_job(e: &DirectoryError) -> bool {
    !matches!(e, DirectoryError::Busy(_) | DirectoryError::Internal(_))
}

impl Directory {
    /// Work a job's remaining rows, batch by batch, calling `progress` with
    /// (done, total) after each; the job as it ended: `done`, or `failed`
    /// when it cannot go on (its creator lost the right to run it), or
    /// `cancelled` by an admin meanwhile. A conflict when another runner
    /// holds it; any other error (the database) leaves it to be resumed.
    pub async fn run_job(
        &self,
        job: &JobRecord,
        runner: &str,
        opts: RunOptions,
        progress: &(dyn Fn(i64, i64) + Send + Sync),
    ) -> DirectoryResult<JobRecord> {
        let ctx = self.job_ctx(job, None);
        self.claim_job(&ctx, &job.id, runner).await?;
        let choice = self
            .successor_choice(&ctx, job.transfer_to.clone(), false)
            .await?;
        let mut done = job.done;
        progress(done, job.total);
        loop {
            // The job acts with its creator's rights, read again for each
            // batch: one who lost them ends the job, once, with the reason.
            let admin = match self
                .require(&ctx, super::super::access::Permission::DeprovisionRun)
                .await
            {
                Ok(a) => a,
                Err(e) if stops_the_job(&e) => {
                    return self.fail_job(&ctx, job, runner, &e).await;
                }
                Err(e) => return Err(e),
            };
            let run = Run {
                ctx: ctx.clone(),
                job,
                admin,
                choice: choice.clone(),
                runner,
            };
            let rows = self
                .store
                .pending_rows(&job.id, opts.batch_size.max(1))
                .await?;
            if rows.is_empty() {
                break;
            }
            match self.run_batch(&run, &rows).await? {
                Some(n) => done += n as i64,
                None => return self.lost_job(&ctx, job).await,
            }
            progress(done, job.total);
            if !opts.pause.is_zero() {
                tokio::time::sleep(opts.pause).await;
            }
        }
        self.finish_job(&ctx, job, runner).await
    }

    /// Take (or renew) the job's lease for `runner`; a conflict names the
    /// runner that holds it, or says how the job ended.
    async fn claim_job(&self, ctx: &Ctx, id: &str, runner: &str) -> DirectoryResult<()> {
        let now = self.clock.now();
        let mut tx = self.store.write(&ctx.tenant).await?;
        let (state, holder, until) = tx
            .job_lease(id)
            .await?
            .ok_or_else(DirectoryError::resource_not_found)?;
        let now_s = datetime::format(now);
        if state != "running" {
            return Err(DirectoryError::Conflict(format!("job {id} is {state}")));
        }
        if !may_take_over(
            holder.as_deref(),
            until.as_deref(),
            runner,
            &now_s,
            &runner_alive,
        ) {
            return Err(DirectoryError::Conflict(format!(
                "job {id} is being run by {} (lease until {})",
                holder.unwrap_or_default(),
                until.unwrap_or_default()
            )));
        }
        if !tx
            .take_job_lease(id, holder.as_deref(), runner, &self.lease_end())
            .await?
        {
            return Err(DirectoryError::Conflict(format!(
                "job {id} changed hands meanwhile"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    fn lease_end(&self) -> String {
        let now = self.clock.now();
        let lease = time::Duration::seconds(LEASE_SECONDS);
        datetime::format(now.checked_add(lease).unwrap_or(now))
    }

    /// One batch in one transaction; how many rows it did, or None when the
    /// runner no longer holds the job (taken over, cancelled): then nothing
    /// of the batch is written.
    async fn run_batch(&self, run: &Run<'_>, rows: &[JobRow]) -> DirectoryResult<Option<usize>> {
        let job = run.job;
        let keys: Vec<String> = rows
            .iter()
            .map(|r| match job.match_on.as_str() {
                "externalId" => r.input.clone(),
                _ => crate::store::fold(&r.input),
            })
            .collect();
        let candidates = self
            .store
            .match_users(&run.ctx.tenant, &job.match_on, &keys)
            .await?;
        let mut tx = self.store.write(&run.ctx.tenant).await?;
        // First, under the write lock: is the job still ours? Whoever took
        // it over or cancelled it wrote under the same lock, so the answer
        // holds until this commit.
        if !tx
            .renew_job_lease(&job.id, run.runner, &self.lease_end())
            .await?
        {
            tx.rollback().await?;
            return Ok(None);
        }
        if job.dry_run {
            tx.savepoint("dry_run").await?;
        }
        let mut results = Vec::with_capacity(rows.len());
        for (row, key) in rows.iter().zip(&keys) {
            results.push(self.work_row(run, &mut tx, row, key, &candidates).await?);
        }
        if job.dry_run {
            tx.rollback_to("dry_run").await?;
        }
        let marked = tx.mark_rows_done(&job.id, &results).await?;
        if marked != results.len() as u64 {
            // Rows already done by someone else: keep none of this batch.
            tx.rollback().await?;
            return Err(DirectoryError::Internal(format!(
                "job {}: {} of {} rows of the batch were done already",
                job.id,
                results.len() as u64 - marked,
                results.len()
            )));
        }
        tx.commit().await?;
        Ok(Some(results.len()))
    }

    /// One row: match, act in a savepoint, report.
    async fn work_row(
        &self,
        run: &Run<'_>,
        tx: &mut Tx,
        row: &JobRow,
        key: &str,
        candidates: &[Candidate],
    ) -> DirectoryResult<JobRow> {
        let mut out = JobRow {
            row_no: row.row_no,
            input: row.input.clone(),
            done: true,
            action: Some("none".into()),
            ..JobRow::default()
        };
        let Some(target) = match_row(run.job, row, key, candidates, &mut out) else {
            // A deleted user, matched before this transaction: still there?
            if let Some(id) = out.user_id.clone() {
                if tx.find_user(&id).await?.is_none() {
                    purged_meanwhile(&mut out);
                }
            }
            return Ok(out);
        };
        out.outcome = Some("matched".into());
        out.user_id = Some(target.id.clone());
        out.user_name = Some(target.user_name.clone());
        // The current state, read in the batch's transaction.
        let Some(user) = tx.find_user(&target.id).await? else {
            purged_meanwhile(&mut out);
            return Ok(out);
        };
        out.status_before = Some(user.status.clone());
        out.status_after = Some(user.status.clone());
        if let Some(done) = already_done(run.job, &user) {
            out.hook = Some(done);
            return Ok(out);
        }
        tx.savepoint("row").await?;
        match self.act_on_row(run, tx, row, &user.id).await {
            Ok(id) => {
                let after = tx.find_user(&id).await?.ok_or_else(|| {
                    DirectoryError::Internal(format!("user {id} vanished in its own write"))
                })?;
                tx.release("row").await?;
                let (verb, done) = match run.job.mode.as_str() {
                    "deactivate" => ("deactivate", "deactivated"),
                    "hold" => ("hold", "held"),
                    _ => ("delete", "deleted"),
                };
                out.action = Some(if run.job.dry_run {
                    format!("would {verb}")
                } else {
                    done.to_string()
                });
                out.status_after = Some(after.status.clone());
                out.hook = hook_outcome(&after, run.job.dry_run);
            }
            Err(e @ DirectoryError::Internal(_)) => return Err(e),
            Err(e) => {
                tx.rollback_to("row").await?;
                out.action = Some("refused".into());
                out.error = Some(e.to_string());
            }
        }
        Ok(out)
    }

    /// Deactivate or delete the row's user; its id.
    async fn act_on_row(
        &self,
        run: &Run<'_>,
        tx: &mut Tx,
        row: &JobRow,
        user_id: &str,
    ) -> DirectoryResult<String> {
        let (ctx, job, admin) = (&run.ctx, run.job, &run.admin);
        let tenant = ctx.tenant.clone();
        let note = |what: &str| {
            format!(
                "{what} by deprovisioning job {} (row {}, input \"{}\")",
                job.id, row.row_no, row.input
            )
        };
        if job.mode == "deactivate" {
            let mut change =
                self.admin_change(ctx, "disabled", note("user disabled"), "user.updated");
            change.audit.job_id = Some(job.id.clone());
            // Compliance offboarding is Rollcall's own hold, like a ban: it
            // applies to IdP-managed users too (the rank guards and the last
            // super-admin still hold).
            return self
                .user_op(
                    tx,
                    user_id,
                    UserOp::SetActive(false),
                    |t| {
                        self.guard(&tenant, admin, t, "disable")?;
                        Self::not_self(admin, t, "disable")
                    },
                    |_, _, _| Ok(()),
                    change,
                )
                .await;
        }
        if job.mode == "hold" {
            return self.hold_row(run, tx, user_id, note("user held")).await;
        }
        let mut change = self.admin_change(
            ctx,
            "deleted",
            note("user deleted"),
            "user.deletion_requested",
        );
        change.audit.job_id = Some(job.id.clone());
        self.soft_delete(
            tx,
            user_id,
            None,
            &run.choice,
            |t| {
                self.guard(&tenant, admin, t, "delete")?;
                Self::not_self(admin, t, "delete")?;
                self.read_only_guard(&tenant, t, "delete")
            },
            change,
        )
        .await
    }

    /// Hold the row's user: a local ban whose reason is the job's id, so
    /// that an identity provider's later `active: true` (PATCH or PUT)
    /// does not let them in again.
    async fn hold_row(
        &self,
        run: &Run<'_>,
        tx: &mut Tx,
        user_id: &str,
        note: String,
    ) -> DirectoryResult<String> {
        let (ctx, job, admin) = (&run.ctx, run.job, &run.admin);
        let tenant = ctx.tenant.clone();
        let reason = super::hold_reason(&job.id);
        let mut change = self.admin_change(
            ctx,
            "banned",
            format!(
                "{note}: banned ({reason}); an identity provider's active: true does not lift it"
            ),
            "user.banned",
        );
        change.audit.job_id = Some(job.id.clone());
        change.event.payload =
            serde_json::json!({"id": user_id, "reason": reason, "jobId": job.id});
        self.user_op(
            tx,
            user_id,
            UserOp::Ban(reason),
            |t| {
                self.guard(&tenant, admin, t, "hold")?;
                Self::not_self(admin, t, "hold")
            },
            |_, _, _| Ok(()),
            change,
        )
        .await
    }
}

/// What the job would do that is done already: a deactivated user for a
/// deactivate job, a user held (banned, whatever the reason: it stays) for
/// a hold job.
fn already_done(job: &JobRecord, user: &crate::store::UserRecord) -> Option<String> {
    match job.mode.as_str() {
        "deactivate" if user.data.get("active").and_then(Value::as_bool) == Some(false) => {
            Some("already deactivated: nothing to do".into())
        }
        "hold" if user.banned_at.is_some() => Some(format!(
            "already held ({}): nothing to do",
            user.ban_reason.as_deref().unwrap_or("no reason given")
        )),
        _ => None,
    }
}

/// A row whose user was purged between the match and the batch: it says
/// so as a purged user's report row does, naming nobody.
fn purged_meanwhile(out: &mut JobRow) {
    out.input = REDACTED.into();
    out.user_name = Some(PURGED_USER.into());
    out.status_before = None;
    out.status_after = None;
    out.hook = None;
    out.action = Some("none".into());
    out.error = Some("the user was purged meanwhile".into());
}

/// The user a row names, or (None) the row's outcome written into `out`:
/// invalid, no match, several matches, or a user already deleted.
fn match_row<'c>(
    job: &JobRecord,
    row: &JobRow,
    key: &str,
    candidates: &'c [Candidate],
    out: &mut JobRow,
) -> Option<&'c Candidate> {
    if key.is_empty() {
        out.outcome = Some("invalid".into());
        out.error = Some(format!("row {}: no {} given", row.row_no, job.match_on));
        return None;
    }
    let mut live: Vec<&Candidate> = Vec::new();
    let mut deleted: Vec<&Candidate> = Vec::new();
    for c in candidates.iter().filter(|c| c.key == key) {
        let list = if c.deleted { &mut deleted } else { &mut live };
        if !list.iter().any(|o| o.id == c.id) {
            list.push(c);
        }
    }
    match (live.as_slice(), deleted.last()) {
        ([one], _) => Some(*one),
        ([], Some(gone)) => {
            out.outcome = Some("matched".into());
            out.user_id = Some(gone.id.clone());
            out.user_name = Some(gone.user_name.clone());
            out.status_before = Some("deleted".into());
            out.status_after = Some("deleted".into());
            out.hook = Some("already deleted: nothing to do".into());
            None
        }
        ([], None) => {
            out.outcome = Some("none".into());
            out.error = Some(format!("no user has this {}", job.match_on));
            None
        }
        (many, _) => {
            out.outcome = Some("ambiguous".into());
            out.error = Some(format!(
                "{} users have this {}: {}; nothing done",
                many.len(),
                job.match_on,
                many.iter()
                    .map(|c| format!("\"{}\"", c.user_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            None
        }
    }
}
