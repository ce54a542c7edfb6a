//! Compliance deprovisioning: a list of leavers in, each matched to a user
//! and deactivated or deleted, a per-row report out. The job and its rows
//! live in the database; rows are worked in batches, each batch one
//! transaction carrying the changes, their audit rows and events, and the
//! rows' results — so a job killed midway resumes where it stopped, and
//! running the same list again changes nothing that is already done. A dry
//! run does the very same work and rolls the changes back, so it reports
//! what the guards would say.

use serde_json::json;
use sha2::{Digest, Sha256};

mod end;
mod lease;
mod run;

pub use lease::{may_take_over, runner_alive, runner_id};

use super::views::{JobRowView, JobView};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{JobRecord, JobRow, NewJob, UserRecord};
use scim_protocol::text::{self, TextRule};

/// Most rows one job takes.
pub const MAX_ROWS: usize = 100_000;
/// How long a runner holds a job between two batches.
pub const LEASE_SECONDS: i64 = 60;

pub const MATCH_ON: [&str; 3] = ["userName", "email", "externalId"];

/// What a job does to each leaver: deactivate (SCIM `active: false`),
/// delete, or hold (a local ban whose reason is the job's id, which an
/// identity provider's `active: true` does not lift).
pub const MODES: [&str; 3] = ["deactivate", "delete", "hold"];

/// The ban reason of a leaver a hold job holds.
pub fn hold_reason(job_id: &str) -> String {
    format!("deprovisioning job {job_id}")
}

/// What to do with each leaver.
#[derive(Debug, Clone)]
pub struct JobRequest {
    /// `deactivate`, `delete` or `hold`.
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
    check_leavers(&values, "row")?;
    if values.len() > MAX_ROWS {
        return Err(format!(
            "the input holds {} rows; one job takes at most {MAX_ROWS}",
            values.len()
        ));
    }
    Ok((on, values))
}

/// Each leaver is a userName, an email or an externalId: one line of at
/// most 256 characters without control characters (`scim_protocol::text`),
/// or it could name nobody.
fn check_leavers(values: &[String], what: &str) -> Result<(), String> {
    for (i, v) in values.iter().enumerate() {
        text::check(&format!("{what} {}", i + 1), v, TextRule::NAME).map_err(|e| e.detail)?;
    }
    Ok(())
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

pub fn row_json(r: &JobRow) -> JobRowView {
    JobRowView::from(r)
}

pub(super) fn hook_outcome(u: &UserRecord, dry_run: bool) -> Option<String> {
    let d = u.deletion.as_ref()?;
    let would = if dry_run { "would be " } else { "" };
    Some(match d["state"].as_str() {
        Some("transferring") => format!(
            "ownership transfer to \"{}\" ({}) {would}queued",
            d["successor"]["userName"].as_str().unwrap_or_default(),
            d["successor"]["source"].as_str().unwrap_or_default()
        ),
        Some("waiting") => format!(
            "ownership transfer {}waiting: {}",
            if dry_run { "would be " } else { "" },
            d["reason"].as_str().unwrap_or_default()
        ),
        Some("deleting_assets") => format!("the host {would}told to delete the assets"),
        _ => "no ownership-transfer hook configured: deletion complete".to_string(),
    })
}

impl Directory {
    /// Every row of a job, in input order, a few thousand at a time.
    async fn each_row(&self, job_id: &str, mut each: impl FnMut(&JobRow)) -> DirectoryResult<()> {
        let mut offset = 0;
        loop {
            let rows = self.store.job_rows(job_id, offset, 5000).await?;
            rows.iter().for_each(&mut each);
            if rows.len() < 5000 {
                return Ok(());
            }
            offset += 5000;
        }
    }

    /// The whole per-row report of a job as CSV text (header first).
    pub async fn job_report(&self, job_id: &str) -> DirectoryResult<String> {
        let mut out = REPORT_COLUMNS.join(",");
        out.push('\n');
        self.each_row(job_id, |r| {
            out.push_str(&report_line(r));
            out.push('\n');
        })
        .await?;
        Ok(out)
    }

    /// Start the run a finished dry run previewed: the very list and
    /// options of the dry run, for real (or the unfinished run of them,
    /// resumed: true). `input_hash` is the dry run's fingerprint as the
    /// caller saw it; another one means the input changed since the
    /// preview, and nothing is started.
    pub async fn run_previewed(
        &self,
        ctx: &Ctx,
        dry_run_id: &str,
        input_hash: &str,
    ) -> DirectoryResult<(JobRecord, bool)> {
        let dry = self.job(ctx, dry_run_id).await?;
        if !dry.dry_run {
            return Err(DirectoryError::Invalid(format!(
                "job {} is not a dry run: only a dry run's list can be run",
                dry.id
            )));
        }
        if dry.input_hash != input_hash {
            return Err(DirectoryError::PreconditionFailed(
                "the input changed since the dry run (another list or other options), so nothing was started: preview it again".into(),
            ));
        }
        if dry.state != "done" {
            return Err(DirectoryError::Conflict(format!(
                "the dry run {} is still {}: run it once it is done",
                dry.id, dry.state
            )));
        }
        let mut inputs = Vec::with_capacity(usize::try_from(dry.total).unwrap_or(0));
        self.each_row(&dry.id, |r| inputs.push(r.input.clone()))
            .await?;
        let req = JobRequest {
            mode: dry.mode,
            match_on: dry.match_on,
            transfer_to: dry.transfer_to,
            dry_run: false,
            inputs,
        };
        self.open_job(ctx, "api", req).await
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
                    tracing::info!(job = %j.id, total = j.total, state = %j.state, "deprovisioning job ended")
                }
                Err(DirectoryError::Conflict(held)) => {
                    tracing::info!(job = %job.id, %held, "deprovisioning job runs elsewhere")
                }
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "deprovisioning job stopped; it resumes when its lease runs out")
                }
            }
            if let Ok(mut running) = dir.running_jobs.lock() {
                running.remove(&job.id);
            }
        });
    }

    /// Resume API jobs whose runner stopped (a killed or restarted
    /// server): their lease ran out, or their process is gone. A job this
    /// very process stopped (the database failed it) waits out its lease
    /// too, so a lasting failure is retried once a lease, not every round.
    pub async fn resume_jobs(self: &std::sync::Arc<Self>) -> DirectoryResult<()> {
        let now = scim_protocol::datetime::format(self.clock.now());
        let me = runner_id();
        for job in self.store.unfinished_jobs().await? {
            if job.source != "api" {
                continue;
            }
            let mine = job.runner.as_deref() == Some(me.as_str());
            let expired = job.lease_until.as_deref().is_none_or(|u| u <= now.as_str());
            let takeable = if mine {
                expired
            } else {
                may_take_over(
                    job.runner.as_deref(),
                    job.lease_until.as_deref(),
                    &me,
                    &now,
                    &runner_alive,
                )
            };
            if takeable {
                tracing::info!(job = %job.id, done = job.done, total = job.total, "resuming deprovisioning job");
                self.spawn_job(job, RunOptions::default());
            }
        }
        Ok(())
    }

    /// The job as the API shows it: settings, progress, counts by outcome.
    pub async fn job_view(&self, job: &JobRecord) -> DirectoryResult<JobView> {
        let counts = self.store.job_counts(&job.id).await?;
        Ok(JobView::new(job, counts))
    }

    /// Create a job for this list, or find the unfinished one with the
    /// same list and options (a re-run after a kill). True when resumed.
    pub async fn open_job(
        &self,
        ctx: &Ctx,
        source: &str,
        req: JobRequest,
    ) -> DirectoryResult<(JobRecord, bool)> {
        self.require(ctx, super::access::Permission::DeprovisionRun)
            .await?;
        let transfer_to = self.check_job_request(ctx, &req).await?;
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
        change.audit.job_id = Some(id.clone());
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
        let mut tx = self.store.write(&ctx.tenant).await?;
        tx.insert_job(&job, &scim_protocol::datetime::format(change.at))
            .await?;
        tx.record(&change).await?;
        tx.commit().await?;
        let rec = self
            .store
            .job(&ctx.tenant, &id)
            .await?
            .ok_or_else(|| DirectoryError::Internal("the new job is gone".into()))?;
        Ok((rec, false))
    }

    /// Refuse a malformed job request; the successor's id, when one is
    /// named (it must exist now; it is named by id from here on).
    async fn check_job_request(
        &self,
        ctx: &Ctx,
        req: &JobRequest,
    ) -> DirectoryResult<Option<String>> {
        if !MODES.contains(&req.mode.as_str()) {
            return Err(DirectoryError::Invalid(format!(
                "mode must be deactivate, delete or hold, not \"{}\"",
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
        check_leavers(&req.inputs, "leaver").map_err(DirectoryError::Invalid)?;
        if req.transfer_to.is_some() && req.mode != "delete" {
            return Err(DirectoryError::Invalid(
                "transfer_to goes with mode delete: deactivated and held users keep their assets"
                    .into(),
            ));
        }
        match &req.transfer_to {
            Some(key) => {
                let u = self
                    .store
                    .find_user_by_any(&ctx.tenant, key)
                    .await?
                    .map_err(|why| {
                        DirectoryError::InvalidReference(format!("transfer_to: {why}"))
                    })?;
                Ok(Some(u.id))
            }
            None => Ok(None),
        }
    }

    /// The context a job acts in: its creator's (no request: the job's
    /// own audit rows carry its id as `job_id`).
    pub fn job_ctx(&self, job: &JobRecord, base: Option<&Ctx>) -> Ctx {
        Ctx {
            tenant: job.tenant.clone(),
            actor: job.actor.clone(),
            actor_user_id: job.actor_user_id.clone(),
            source_ip: base.and_then(|c| c.source_ip.clone()),
            request_id: base.and_then(|c| c.request_id.clone()),
            base_url: String::new(),
            operator: job.source == "cli" && job.actor_user_id.is_none(),
        }
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
        // Control characters are no part of a name or an address, and a
        // value longer than any userName, email or externalId names nobody.
        let e = parse_leavers("email\nann@x.io\nb\u{7}o@x.io\n", None).unwrap_err();
        assert!(
            e.starts_with("'row 2' holds the control character U+0007 at character 2"),
            "{e}"
        );
        let long = format!("email\nann@x.io\n{}@x.io\n", "a".repeat(300));
        let e = parse_leavers(&long, None).unwrap_err();
        assert!(e.contains("'row 2' is 305 characters long"), "{e}");
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
