//! Compliance deprovisioning: a list of leavers in, each matched to a user
//! and deactivated or deleted, a per-row report out. The job and its rows
//! live in the database; rows are worked in batches, each batch one
//! transaction carrying the changes, their audit rows and events, and the
//! rows' results — so a job killed midway resumes where it stopped, and
//! running the same list again changes nothing that is already done. A dry
//! run does the very same work and rolls the changes back, so it reports
//! what the guards would say.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::lifecycle::Admin;
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{
    Candidate, JobRecord, JobRow, NewJob, StoreError, SuccessorChoice, UserOp, UserRecord,
};

/// Most rows one job takes.
pub const MAX_ROWS: usize = 100_000;
/// How long a runner holds a job between two batches.
pub const LEASE_SECONDS: i64 = 60;

pub const MATCH_ON: [&str; 3] = ["userName", "email", "externalId"];

/// What to do with each leaver.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// `deactivate` or `delete`.
    pub mode: String,
    /// `userName`, `email` or `externalId`.
    pub match_on: String,
    /// The successor of every deleted leaver's assets (id, userName or email).
    pub transfer_to: Option<String>,
    pub dry_run: bool,
    pub inputs: Vec<String>,
}

/// How a run goes.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Rows per transaction.
    pub batch_size: i64,
    /// A pause between batches (to spare a busy database).
    pub pause: std::time::Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            batch_size: 200,
            pause: std::time::Duration::ZERO,
        }
    }
}

fn header_alias(cell: &str) -> Option<&'static str> {
    match cell
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace(['_', '-', ' '], "")
        .as_str()
    {
        "username" | "login" | "upn" | "userprincipalname" => Some("userName"),
        "email" | "mail" | "emailaddress" => Some("email"),
        "externalid" | "employeeid" => Some("externalId"),
        _ => None,
    }
}

/// Split CSV text (RFC 4180: quoted fields, doubled quotes, CRLF) into rows.
pub fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// The leavers of a CSV file: with a header row, the column named after the
/// match attribute (`userName`, `email`, `externalId` and common spellings);
/// without one, the first column. Without `--match`, a header decides it,
/// else `userName`. Blank lines are skipped.
pub fn parse_leavers(text: &str, match_on: Option<&str>) -> Result<(String, Vec<String>), String> {
    if let Some(m) = match_on {
        if !MATCH_ON.contains(&m) {
            return Err(format!(
                "match must be userName, email or externalId, not \"{m}\""
            ));
        }
    }
    let rows = csv_rows(text)?;
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .collect();
    let header: Vec<Option<&'static str>> = rows
        .first()
        .map(|r| r.iter().map(|c| header_alias(c)).collect())
        .unwrap_or_default();
    let has_header = header.iter().any(Option::is_some);
    let (on, column) = if has_header {
        let on = match match_on {
            Some(m) => m.to_string(),
            None => header
                .iter()
                .flatten()
                .next()
                .unwrap_or(&"userName")
                .to_string(),
        };
        let col = header
            .iter()
            .position(|h| *h == Some(on.as_str()))
            .ok_or_else(|| format!("the header row has no {on} column"))?;
        (on, col)
    } else {
        (match_on.unwrap_or("userName").to_string(), 0)
    };
    let data = if has_header { &rows[1..] } else { &rows[..] };
    let values: Vec<String> = data
        .iter()
        .map(|r| {
            r.get(column)
                .map(|c| c.trim().to_string())
                .unwrap_or_default()
        })
        .collect();
    if values.is_empty() {
        return Err("the input holds no leavers".into());
    }
    if values.len() > MAX_ROWS {
        return Err(format!(
            "the input holds {} rows; one job takes at most {MAX_ROWS}",
            values.len()
        ));
    }
    Ok((on, values))
}

/// A fingerprint of a job's input and options: the same list run again
/// finds its unfinished job.
pub fn input_hash(req: &JobRequest) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{}\n{}\n{}\n{}\n",
        req.mode,
        req.match_on,
        req.transfer_to.as_deref().unwrap_or(""),
        req.dry_run
    ));
    for v in &req.inputs {
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    hex::encode(h.finalize())
}

/// This process, as a job runner: `host:pid`.
pub fn runner_id() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a runner may still be at work: another host's runner is
/// presumed alive (its lease decides); one of this host is alive while its
/// process exists.
pub fn runner_alive(runner: &str) -> bool {
    let Some((host, pid)) = runner.rsplit_once(':') else {
        return true;
    };
    if host != host_name() || !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new("/proc").join(pid).exists()
}

pub const REPORT_COLUMNS: [&str; 10] = [
    "row",
    "input",
    "match",
    "user_id",
    "user_name",
    "action",
    "status_before",
    "status_after",
    "hook",
    "error",
];

/// One report line (CSV).
pub fn report_line(r: &JobRow) -> String {
    use super::audit::csv_field;
    let o = |v: &Option<String>| v.as_deref().map(csv_field).unwrap_or_default();
    [
        r.row_no.to_string(),
        csv_field(&r.input),
        o(&r.outcome),
        o(&r.user_id),
        o(&r.user_name),
        o(&r.action),
        o(&r.status_before),
        o(&r.status_after),
        o(&r.hook),
        o(&r.error),
    ]
    .join(",")
}

pub fn row_json(r: &JobRow) -> Value {
    json!({
        "row": r.row_no,
        "input": r.input,
        "done": r.done,
        "match": r.outcome,
        "userId": r.user_id,
        "userName": r.user_name,
        "action": r.action,
        "statusBefore": r.status_before,
        "statusAfter": r.status_after,
        "hook": r.hook,
        "error": r.error,
    })
}

fn hook_outcome(u: &UserRecord, dry_run: bool) -> Option<String> {
    let d = u.deletion.as_ref()?;
    let would = if dry_run { "would be " } else { "" };
    Some(match d["state"].as_str() {
        Some("transferring") => format!(
            "ownership transfer to {} ({}) {would}queued",
            d["successor"]["userName"].as_str().unwrap_or_default(),
            d["successor"]["source"].as_str().unwrap_or_default()
        ),
        Some("waiting") => format!(
            "ownership transfer {}waiting: {}",
            if dry_run { "would be " } else { "" },
            d["reason"].as_str().unwrap_or_default()
        ),
        _ => "no ownership-transfer hook configured: deletion complete".to_string(),
    })
}

impl Directory {
    /// The whole per-row report of a job as CSV text (header first).
    pub async fn job_report(&self, job_id: &str) -> DirectoryResult<String> {
        let mut out = REPORT_COLUMNS.join(",");
        out.push('\n');
        let mut offset = 0;
        loop {
            let rows = self.store.job_rows(job_id, offset, 5000).await?;
            for r in &rows {
                out.push_str(&report_line(r));
                out.push('\n');
            }
            if rows.len() < 5000 {
                return Ok(out);
            }
            offset += 5000;
        }
    }

    /// Run an API job in the background of this process (once: a job
    /// already running here is left alone).
    pub fn spawn_job(self: &std::sync::Arc<Self>, job: JobRecord, opts: RunOptions) {
        {
            let Ok(mut running) = self.running_jobs.lock() else {
                return;
            };
            if !running.insert(job.id.clone()) {
                return;
            }
        }
        let dir = self.clone();
        tokio::spawn(async move {
            let runner = runner_id();
            match dir.run_job(&job, &runner, opts, &|_, _| {}).await {
                Ok(j) => {
                    tracing::info!(job = %j.id, total = j.total, "deprovisioning job finished")
                }
                Err(DirectoryError::Conflict(held)) => {
                    tracing::info!(job = %job.id, %held, "deprovisioning job runs elsewhere")
                }
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "deprovisioning job stopped; it resumes on the next round")
                }
            }
            if let Ok(mut running) = dir.running_jobs.lock() {
                running.remove(&job.id);
            }
        });
    }

    /// Resume API jobs whose runner stopped (a killed or restarted
    /// server): their lease ran out, or their process is gone.
    pub async fn resume_jobs(self: &std::sync::Arc<Self>) -> DirectoryResult<()> {
        let now = crate::scim::datetime::format(self.clock.now());
        let me = runner_id();
        for job in self.store.unfinished_jobs().await? {
            if job.source != "api" {
                continue;
            }
            let takeable = crate::store::may_take_over(
                job.runner.as_deref(),
                job.lease_until.as_deref(),
                &me,
                &now,
                &runner_alive,
            );
            if takeable {
                tracing::info!(job = %job.id, done = job.done, total = job.total, "resuming deprovisioning job");
                self.spawn_job(job, RunOptions::default());
            }
        }
        Ok(())
    }

    /// The job as the API shows it: settings, progress, counts by outcome.
    pub async fn job_view(&self, job: &JobRecord) -> DirectoryResult<Value> {
        let counts = self.store.job_counts(&job.id).await?;
        let mut by_action = serde_json::Map::new();
        let mut by_match = serde_json::Map::new();
        for (outcome, action, n) in counts {
            let a = by_action.entry(action).or_insert(json!(0));
            *a = json!(a.as_i64().unwrap_or(0) + n);
            let m = by_match.entry(outcome).or_insert(json!(0));
            *m = json!(m.as_i64().unwrap_or(0) + n);
        }
        Ok(json!({
            "id": job.id,
            "mode": job.mode,
            "match": job.match_on,
            "transferTo": job.transfer_to,
            "dryRun": job.dry_run,
            "state": job.state,
            "total": job.total,
            "done": job.done,
            "source": job.source,
            "actor": job.actor,
            "created": job.created,
            "finished": job.finished,
            "runner": job.runner,
            "leaseUntil": job.lease_until,
            "actions": by_action,
            "matches": by_match,
        }))
    }

    /// Create a job for this list, or find the unfinished one with the
    /// same list and options (a re-run after a kill). True when resumed.
    pub async fn open_job(
        &self,
        ctx: &Ctx,
        source: &str,
        req: JobRequest,
    ) -> DirectoryResult<(JobRecord, bool)> {
        self.require_admin(ctx).await?;
        if req.mode != "deactivate" && req.mode != "delete" {
            return Err(DirectoryError::Invalid(format!(
                "mode must be deactivate or delete, not \"{}\"",
                req.mode
            )));
        }
        if !MATCH_ON.contains(&req.match_on.as_str()) {
            return Err(DirectoryError::Invalid(format!(
                "match must be userName, email or externalId, not \"{}\"",
                req.match_on
            )));
        }
        if req.inputs.is_empty() || req.inputs.len() > MAX_ROWS {
            return Err(DirectoryError::Invalid(format!(
                "a job takes 1 to {MAX_ROWS} leavers, not {}",
                req.inputs.len()
            )));
        }
        if req.transfer_to.is_some() && req.mode != "delete" {
            return Err(DirectoryError::Invalid(
                "transfer_to goes with mode delete: deactivated users keep their assets".into(),
            ));
        }
        // The successor must exist now; it is named by id from here on.
        let transfer_to = match &req.transfer_to {
            Some(key) => {
                let u = self
                    .store
                    .find_user_by_any(&ctx.tenant, key)
                    .await?
                    .map_err(|why| {
                        DirectoryError::InvalidReference(format!("transfer_to: {why}"))
                    })?;
                Some(u.id)
            }
            None => None,
        };
        let hash = input_hash(&req);
        if let Some(job) = self.store.unfinished_job(&ctx.tenant, &hash).await? {
            return Ok((job, true));
        }
        let id = self.ids.new_id();
        let mut change = self.admin_change(
            ctx,
            "deprovision_started",
            format!(
                "deprovisioning job {id}: {}{} {} leavers matched by {}",
                if req.dry_run { "dry run, " } else { "" },
                req.mode,
                req.inputs.len(),
                req.match_on
            ),
            "deprovision_job.started",
        );
        change.audit.object_type = "DeprovisionJob".into();
        change.audit.object_id = Some(id.clone());
        change.audit.request_id = Some(id.clone());
        change.event.object_id = Some(id.clone());
        change.event.payload =
            json!({"id": id, "mode": req.mode, "dryRun": req.dry_run, "total": req.inputs.len()});
        let job = NewJob {
            id: id.clone(),
            mode: req.mode,
            match_on: req.match_on,
            transfer_to,
            dry_run: req.dry_run,
            input_hash: hash,
            source: source.to_string(),
            actor: ctx.actor.clone(),
            actor_user_id: ctx.actor_user_id.clone(),
            inputs: req.inputs,
        };
        self.store.create_job(&ctx.tenant, &job, &change).await?;
        let rec = self
            .store
            .job(&ctx.tenant, &id)
            .await?
            .ok_or_else(|| DirectoryError::Internal("the new job is gone".into()))?;
        Ok((rec, false))
    }

    /// The context a job acts in: its creator's, its id as request id.
    pub fn job_ctx(&self, job: &JobRecord, base: Option<&Ctx>) -> Ctx {
        Ctx {
            tenant: job.tenant.clone(),
            actor: job.actor.clone(),
            actor_user_id: job.actor_user_id.clone(),
            source_ip: base.and_then(|c| c.source_ip.clone()),
            request_id: Some(job.id.clone()),
            base_url: String::new(),
            operator: job.source == "cli" && job.actor_user_id.is_none(),
        }
    }

    /// Work a job's remaining rows, batch by batch, calling `progress` with
    /// (done, total) after each; the finished job.
    pub async fn run_job(
        &self,
        job: &JobRecord,
        runner: &str,
        opts: RunOptions,
        progress: &(dyn Fn(i64, i64) + Send + Sync),
    ) -> DirectoryResult<JobRecord> {
        let ctx = self.job_ctx(job, None);
        let lease = time::Duration::seconds(LEASE_SECONDS);
        if let Err(held) = self
            .store
            .claim_job(
                &ctx.tenant,
                &job.id,
                runner,
                self.clock.now(),
                lease,
                &runner_alive,
            )
            .await?
        {
            return Err(DirectoryError::Conflict(held));
        }
        let admin = self.require_admin(&ctx).await?;
        let choice = self
            .successor_choice(&ctx, job.transfer_to.clone(), false)
            .await?;
        let mut done = job.done;
        progress(done, job.total);
        loop {
            let rows = self
                .store
                .pending_rows(&job.id, opts.batch_size.max(1))
                .await?;
            if rows.is_empty() {
                break;
            }
            let keys: Vec<String> = rows
                .iter()
                .map(|r| match job.match_on.as_str() {
                    "externalId" => r.input.clone(),
                    _ => crate::store::fold(&r.input),
                })
                .collect();
            let candidates = self
                .store
                .match_users(&ctx.tenant, &job.match_on, &keys)
                .await?;
            let mut batch = self.store.batch(&ctx.tenant).await?;
            let mut results = Vec::with_capacity(rows.len());
            for (row, key) in rows.iter().zip(&keys) {
                let r = self
                    .work_row(
                        &ctx,
                        job,
                        &admin,
                        &choice,
                        &mut batch,
                        row,
                        key,
                        &candidates,
                    )
                    .await?;
                results.push(r);
            }
            if job.dry_run {
                batch = batch.discard_changes().await?;
            }
            let until = self
                .clock
                .now()
                .checked_add(lease)
                .unwrap_or(self.clock.now());
            batch.commit(&job.id, &results, until).await?;
            done += results.len() as i64;
            progress(done, job.total);
            if !opts.pause.is_zero() {
                tokio::time::sleep(opts.pause).await;
            }
        }
        let finished = self
            .store
            .job(&ctx.tenant, &job.id)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("job {} not found", job.id)))?;
        let counts = self.job_view(&finished).await?;
        let mut change = self.admin_change(
            &ctx,
            "deprovision_finished",
            format!(
                "deprovisioning job {} finished{}: {} rows; actions {}",
                job.id,
                if job.dry_run {
                    " (dry run: nothing changed)"
                } else {
                    ""
                },
                finished.total,
                counts["actions"]
            ),
            "deprovision_job.finished",
        );
        change.audit.object_type = "DeprovisionJob".into();
        change.audit.object_id = Some(job.id.clone());
        change.event.object_id = Some(job.id.clone());
        change.event.payload =
            json!({"id": job.id, "actions": counts["actions"], "dryRun": job.dry_run});
        self.store.finish_job(&ctx.tenant, &job.id, &change).await?;
        Ok(self
            .store
            .job(&ctx.tenant, &job.id)
            .await?
            .unwrap_or(finished))
    }

    /// One row: match, act in a savepoint, report.
    #[allow(clippy::too_many_arguments)]
    async fn work_row(
        &self,
        ctx: &Ctx,
        job: &JobRecord,
        admin: &Admin,
        choice: &SuccessorChoice,
        batch: &mut crate::store::Batch<'_>,
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
        if key.is_empty() {
            out.outcome = Some("invalid".into());
            out.error = Some(format!("row {}: no {} given", row.row_no, job.match_on));
            return Ok(out);
        }
        let mut live: Vec<&Candidate> = Vec::new();
        let mut deleted: Vec<&Candidate> = Vec::new();
        for c in candidates.iter().filter(|c| c.key == key) {
            let list = if c.deleted { &mut deleted } else { &mut live };
            if !list.iter().any(|o| o.id == c.id) {
                list.push(c);
            }
        }
        let target = match (live.as_slice(), deleted.last()) {
            ([one], _) => *one,
            ([], Some(gone)) => {
                out.outcome = Some("matched".into());
                out.user_id = Some(gone.id.clone());
                out.user_name = Some(gone.user_name.clone());
                out.status_before = Some("deleted".into());
                out.status_after = Some("deleted".into());
                out.hook = Some("already deleted: nothing to do".into());
                return Ok(out);
            }
            ([], None) => {
                out.outcome = Some("none".into());
                out.error = Some(format!("no user has this {}", job.match_on));
                return Ok(out);
            }
            (many, _) => {
                out.outcome = Some("ambiguous".into());
                out.error = Some(format!(
                    "{} users have this {}: {}; nothing done",
                    many.len(),
                    job.match_on,
                    many.iter()
                        .map(|c| c.user_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                return Ok(out);
            }
        };
        out.outcome = Some("matched".into());
        out.user_id = Some(target.id.clone());
        out.user_name = Some(target.user_name.clone());
        // The current state, read in the batch's transaction.
        let Some(user) = batch.user(&target.id).await? else {
            out.outcome = Some("none".into());
            out.error = Some("the user was purged meanwhile".into());
            return Ok(out);
        };
        out.status_before = Some(user.status.clone());
        out.status_after = Some(user.status.clone());
        let tenant = ctx.tenant.clone();
        let note = |what: &str| {
            format!(
                "{what} by deprovisioning job {} (row {}, input \"{}\")",
                job.id, row.row_no, row.input
            )
        };
        let result = match job.mode.as_str() {
            "deactivate" => {
                if user.data.get("active").and_then(Value::as_bool) == Some(false) {
                    out.hook = Some("already deactivated: nothing to do".into());
                    return Ok(out);
                }
                let change =
                    self.admin_change(ctx, "disabled", note("user disabled"), "user.updated");
                batch
                    .user_op(
                        &user.id,
                        UserOp::SetActive(false),
                        // Compliance offboarding is Rollcall's own hold, like
                        // a ban: it applies to IdP-managed users too (the rank
                        // guards and the last super-admin still hold).
                        |t| {
                            self.guard(&tenant, admin, t, "disable")?;
                            Self::not_self(admin, t, "disable")
                        },
                        |_, _, _| Ok(()),
                        change,
                    )
                    .await
            }
            _ => {
                let change = self.admin_change(
                    ctx,
                    "deleted",
                    note("user deleted"),
                    "user.deletion_requested",
                );
                batch
                    .delete_user(
                        &user.id,
                        choice,
                        |t| {
                            self.guard(&tenant, admin, t, "delete")?;
                            Self::not_self(admin, t, "delete")
                        },
                        change,
                    )
                    .await
            }
        };
        match result {
            Ok(after) => {
                let verb = if job.mode == "deactivate" {
                    "deactivate"
                } else {
                    "delete"
                };
                out.action = Some(if job.dry_run {
                    format!("would {verb}")
                } else {
                    format!("{verb}d")
                });
                out.status_after = Some(after.status.clone());
                out.hook = hook_outcome(&after, job.dry_run);
            }
            Err(StoreError::Db(e)) => return Err(StoreError::Db(e).into()),
            Err(e) => {
                out.action = Some("refused".into());
                out.error = Some(DirectoryError::from(e).to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn csv_fields_quotes_and_line_ends() {
        let rows = csv_rows("a,\"b,c\",\"say \"\"hi\"\"\"\r\nd,,\n\"multi\nline\",x").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a", "b,c", "say \"hi\""],
                vec!["d", "", ""],
                vec!["multi\nline", "x"]
            ]
        );
        assert!(csv_rows("\"open").is_err());
    }

    #[test]
    fn the_header_names_the_column_and_the_match() {
        let (on, v) = parse_leavers("name,Email\nAnn,ann@x.io\nBo,BO@x.io\n\n", None).unwrap();
        assert_eq!(on, "email");
        assert_eq!(v, vec!["ann@x.io", "BO@x.io"]);
        let (on, v) = parse_leavers("\u{feff}user_name,email\nann,a@x\n", Some("email")).unwrap();
        assert_eq!((on.as_str(), v), ("email", vec!["a@x".to_string()]));
        // No header: the first column, userName unless told.
        let (on, v) = parse_leavers("ann\nbo\n", None).unwrap();
        assert_eq!((on.as_str(), v.len()), ("userName", 2));
        let (on, _) = parse_leavers("e-1\n", Some("externalId")).unwrap();
        assert_eq!(on, "externalId");
        assert!(parse_leavers("email\na@x\n", Some("externalId")).is_err());
        assert!(parse_leavers("\n\n", None).is_err());
        assert!(parse_leavers("a\n", Some("phone")).is_err());
    }

    #[test]
    fn the_input_hash_covers_options_and_rows() {
        let base = JobRequest {
            mode: "delete".into(),
            match_on: "email".into(),
            transfer_to: None,
            dry_run: false,
            inputs: vec!["a".into(), "b".into()],
        };
        let h = input_hash(&base);
        assert_eq!(h, input_hash(&base.clone()));
        let mut other = base.clone();
        other.dry_run = true;
        assert_ne!(h, input_hash(&other));
        let mut other = base.clone();
        other.inputs.reverse();
        assert_ne!(h, input_hash(&other));
        let mut other = base;
        other.inputs = vec!["a\nb".into()];
        assert_ne!(h, input_hash(&other));
    }

    #[test]
    fn report_lines_escape_fields() {
        let r = JobRow {
            row_no: 3,
            input: "=cmd()".into(),
            outcome: Some("none".into()),
            action: Some("none".into()),
            error: Some("no user has this email, sorry".into()),
            ..Default::default()
        };
        assert_eq!(
            report_line(&r),
            "3,'=cmd(),none,,,none,,,,\"no user has this email, sorry\""
        );
    }
}
