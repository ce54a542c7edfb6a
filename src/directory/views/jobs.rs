//! Deprovisioning jobs as the admin API shows them: settings, progress,
//! counts by outcome, a page of the per-row report; and the body that
//! starts a job.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::Page;
use crate::directory::deprovision::{self, JobRequest, RunOptions};
use crate::store::{JobRecord, JobRow};

/// A job: its settings, progress and counts by outcome.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// The job id (the audit entries of its run carry it as `jobId`).
    #[schema(example = "5b0c6a4e-2f0d-4c61-8a47-77f1d2f0b1a2")]
    pub id: String,
    /// `deactivate`, `delete` or `hold`.
    #[schema(example = "delete")]
    pub mode: String,
    /// What the leavers are matched by: `userName`, `email` or `externalId`.
    #[serde(rename = "match")]
    #[schema(example = "email")]
    pub match_on: String,
    /// The successor's id for deleted leavers' assets.
    pub transfer_to: Option<String>,
    /// A dry run reports what would happen and changes nothing.
    pub dry_run: bool,
    /// The fingerprint of the job's list and options: a run started from
    /// a dry run names it (`POST …/{id}/run`), so it runs what was
    /// previewed.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub input_hash: String,
    /// `running`, `done`, `failed` (it could not go on: `reason` says
    /// why) or `cancelled` (an admin stopped it). Rows done before a job
    /// failed or was cancelled keep their changes.
    #[schema(example = "running")]
    pub state: String,
    /// Why a failed or cancelled job ended.
    #[schema(
        example = "the job's creator may no longer run it: role \"member\" cannot act on users: admin is needed"
    )]
    pub reason: Option<String>,
    /// Rows in all.
    #[schema(example = 60)]
    pub total: i64,
    /// Rows done.
    #[schema(example = 21)]
    pub done: i64,
    /// `api` or `cli`.
    #[schema(example = "api")]
    pub source: String,
    /// Who started it.
    #[schema(example = "user:root@acme.test (token:console)")]
    pub actor: String,
    /// When it was created.
    #[schema(example = "2026-02-03T08:00:00.000Z")]
    pub created: String,
    /// When it finished (`null` while it runs).
    pub finished: Option<String>,
    /// The process working it: `<uuid>@<host>#<pid namespace>:<pid>`, the
    /// uuid drawn once per process.
    #[schema(example = "0b6f6a52-6a57-4f0e-9f61-2b1f0d6c9e11@worker-1#4026531836:4242")]
    pub runner: Option<String>,
    /// Until when the runner holds it.
    pub lease_until: Option<String>,
    /// Rows by action (`deactivated`, `deleted`, `held`, `would delete`, `none`,
    /// `refused`, `pending`, …).
    #[schema(value_type = HashMap<String, i64>, example = json!({"deactivated": 58, "none": 2}))]
    pub actions: IndexMap<String, i64>,
    /// Rows by match outcome (`matched`, `none`, `ambiguous`, `invalid`,
    /// `pending`).
    #[schema(value_type = HashMap<String, i64>, example = json!({"matched": 58, "none": 2}))]
    pub matches: IndexMap<String, i64>,
}

impl JobView {
    /// The view of a job with its rows counted by (outcome, action).
    pub fn new(job: &JobRecord, counts: Vec<(String, String, i64)>) -> Self {
        let mut actions: IndexMap<String, i64> = IndexMap::new();
        let mut matches: IndexMap<String, i64> = IndexMap::new();
        for (outcome, action, n) in counts {
            *actions.entry(action).or_insert(0) += n;
            *matches.entry(outcome).or_insert(0) += n;
        }
        JobView {
            id: job.id.clone(),
            mode: job.mode.clone(),
            match_on: job.match_on.clone(),
            transfer_to: job.transfer_to.clone(),
            dry_run: job.dry_run,
            input_hash: job.input_hash.clone(),
            state: job.state.clone(),
            reason: job.reason.clone(),
            total: job.total,
            done: job.done,
            source: job.source.clone(),
            actor: job.actor.clone(),
            created: job.created.clone(),
            finished: job.finished.clone(),
            runner: job.runner.clone(),
            lease_until: job.lease_until.clone(),
            actions,
            matches,
        }
    }
}

/// A job and one page of its per-row report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobDetail {
    /// The job.
    #[serde(flatten)]
    pub job: JobView,
    /// A page of the per-row report.
    pub rows: Page<JobRowView>,
}

/// The tenant's jobs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobList {
    /// The jobs, newest first (at most 100).
    pub items: Vec<JobView>,
}

/// One row of a job's report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobRowView {
    /// The row number, from 1.
    #[schema(example = 3)]
    pub row: i64,
    /// The input value as given (`[redacted]` once the user it matched is
    /// purged).
    #[schema(example = "ann@acme.test")]
    pub input: String,
    /// Whether the row is worked.
    pub done: bool,
    /// `matched`, `none`, `ambiguous` or `invalid`.
    #[serde(rename = "match")]
    #[schema(example = "matched")]
    pub outcome: Option<String>,
    /// The matched user.
    pub user_id: Option<String>,
    /// The SCIM userName (`[purged user]` once the user is purged; the id
    /// stays).
    #[schema(example = "ann@acme.test")]
    pub user_name: Option<String>,
    /// What was done: `deactivated`, `deleted`, `held`, `would deactivate`, `none`,
    /// `refused`.
    #[schema(example = "deleted")]
    pub action: Option<String>,
    /// The user's status before the row was worked.
    #[schema(example = "active")]
    pub status_before: Option<String>,
    /// The user's status after it.
    #[schema(example = "deleted")]
    pub status_after: Option<String>,
    /// Where the ownership transfer stands.
    #[schema(example = "ownership transfer to \"boss@acme.test\" (request) queued")]
    pub hook: Option<String>,
    /// Why nothing was done.
    pub error: Option<String>,
}

impl From<&JobRow> for JobRowView {
    fn from(r: &JobRow) -> Self {
        JobRowView {
            row: r.row_no,
            input: r.input.clone(),
            done: r.done,
            outcome: r.outcome.clone(),
            user_id: r.user_id.clone(),
            user_name: r.user_name.clone(),
            action: r.action.clone(),
            status_before: r.status_before.clone(),
            status_after: r.status_after.clone(),
            hook: r.hook.clone(),
            error: r.error.clone(),
        }
    }
}

/// Run what a finished dry run previewed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobRunBody {
    /// The dry run's `inputHash`, as it was previewed: another one means
    /// the input changed since, and the run is refused (412).
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub input_hash: String,
}

/// A deprovisioning job request: the leavers as a list or as CSV text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({"mode": "delete", "match": "email", "transferTo": "boss@acme.test", "leavers": ["ann@acme.test", "bob@acme.test"]}))]
pub struct JobBody {
    /// `deactivate`, `delete` or `hold`.
    #[schema(example = "delete")]
    pub mode: String,
    /// `userName`, `email` or `externalId` (default: from the CSV header,
    /// else `userName`).
    #[serde(rename = "match")]
    #[schema(example = "email")]
    pub match_on: Option<String>,
    /// The successor of deleted leavers' assets (id, userName or email).
    #[schema(example = "boss@acme.test")]
    pub transfer_to: Option<String>,
    /// Report what would happen; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The leavers, one value each …
    pub leavers: Option<Vec<String>>,
    /// … or the text of a CSV file (a header row names the column).
    #[schema(example = "email\nann@acme.test\n")]
    pub csv: Option<String>,
    /// Rows per transaction (1–5000, default 200).
    #[schema(example = 200)]
    pub batch_size: Option<i64>,
    /// Pause between batches, in milliseconds (0–10000).
    #[serde(default)]
    #[schema(example = 0)]
    pub pause_ms: u64,
}

impl JobBody {
    /// The job it asks for and how to run it; what is wrong with it, else.
    pub fn into_job(self) -> Result<(JobRequest, RunOptions), String> {
        let (match_on, inputs) = match (self.leavers, self.csv) {
            (Some(list), None) => (
                self.match_on.unwrap_or_else(|| "userName".into()),
                list.into_iter().map(|v| v.trim().to_string()).collect(),
            ),
            (None, Some(text)) => deprovision::parse_leavers(&text, self.match_on.as_deref())?,
            _ => return Err("give either \"leavers\" or \"csv\"".into()),
        };
        if self.pause_ms > 10_000 {
            return Err("\"pauseMs\" must be 0 to 10000".into());
        }
        let batch_size = self.batch_size.unwrap_or(200);
        if !(1..=5000).contains(&batch_size) {
            return Err("\"batchSize\" must be 1 to 5000".into());
        }
        let request = JobRequest {
            mode: self.mode,
            match_on,
            transfer_to: self.transfer_to,
            dry_run: self.dry_run,
            inputs,
        };
        let options = RunOptions {
            pause: std::time::Duration::from_millis(self.pause_ms),
            batch_size,
        };
        Ok((request, options))
    }
}
