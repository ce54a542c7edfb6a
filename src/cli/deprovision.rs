//! `rollcall deprovision`: deactivate, delete or hold a list of leavers, with
//! progress on stderr, a per-row report, and a job that resumes where a
//! killed run stopped.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::Args;
use rollcall::directory::deprovision::{self, JobRequest, RunOptions};
use rollcall::directory::views::JobView;
use rollcall::directory::Directory;
use rollcall::store::JobRecord;

use super::output::print_json;
use super::{open, Target};

#[derive(Args)]
pub struct DeprovisionArgs {
    #[command(flatten)]
    t: Target,
    /// The leavers: a CSV file (a header row names the column) or one value
    /// per line.
    #[arg(long, required_unless_present = "cancel")]
    input: Option<PathBuf>,
    /// userName, email or externalId (default: the header's column, else
    /// userName).
    #[arg(long = "match")]
    match_on: Option<String>,
    /// deactivate, delete, or hold (a local ban with the job's id as its
    /// reason, which the identity provider cannot lift).
    #[arg(long, required_unless_present = "cancel")]
    mode: Option<String>,
    /// Cancel this running job (its id) at its next batch instead: the rows
    /// done keep their changes.
    #[arg(long, value_name = "JOB", conflicts_with_all = ["input", "mode", "dry_run", "transfer_to", "report"])]
    cancel: Option<String>,
    /// The successor of deleted leavers' assets (id, userName or email).
    #[arg(long)]
    transfer_to: Option<String>,
    /// Report what would happen; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the per-row report (CSV) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 200)]
    batch_size: i64,
    /// Pause between batches, in milliseconds (spares a busy database).
    #[arg(long, default_value_t = 0)]
    pause_ms: u64,
}

/// Progress on stderr: a bar on a terminal, else a plain line at most
/// once a second (and at the end).
struct Progress {
    tty: bool,
    start: Instant,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: Mutex::new(None),
        }
    }

    fn show(&self, done: i64, total: i64) {
        let pct = if total > 0 { done * 100 / total } else { 100 };
        let secs = self.start.elapsed().as_secs_f64();
        let mut err = std::io::stderr().lock();
        if self.tty {
            let width = 30usize;
            let filled = (pct as usize * width / 100).min(width);
            let _ = write!(
                err,
                "\r[{}{}] {done}/{total} rows ({pct}%) {secs:.1}s",
                "#".repeat(filled),
                ".".repeat(width - filled)
            );
            if done >= total {
                let _ = writeln!(err);
            }
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due || done >= total {
            let _ = writeln!(err, "progress: {done}/{total} rows ({pct}%) {secs:.1}s");
            *last = Some(Instant::now());
        }
    }
}

pub async fn run(a: DeprovisionArgs) -> anyhow::Result<()> {
    if let Some(id) = &a.cancel {
        return cancel(&a, id).await;
    }
    let request = request(&a)?;
    if a.batch_size < 1 || a.batch_size > 5000 {
        bail!("--batch-size must be 1 to 5000");
    }
    let (dir, ctx) = open(&a.t).await?;
    let (job, resumed) = dir.open_job(&ctx, "cli", request).await?;
    announce(&job, resumed);
    let progress = Progress::new();
    let started = Instant::now();
    let options = RunOptions {
        batch_size: a.batch_size,
        pause: Duration::from_millis(a.pause_ms),
    };
    let runner = deprovision::runner_id();
    let finished = dir
        .run_job(&job, &runner, options, &|d, t| progress.show(d, t))
        .await?;
    if finished.state != "done" {
        summary(
            &a.t,
            &finished,
            &dir.job_view(&finished).await?,
            started.elapsed(),
        );
        bail!(
            "job {} {}: {}",
            finished.id,
            finished.state,
            finished.reason.as_deref().unwrap_or("it did not finish")
        );
    }
    let elapsed = started.elapsed();
    let view = dir.job_view(&finished).await?;
    if let Some(path) = &a.report {
        write_report(&dir, &finished.id, path).await?;
        eprintln!("report written to {}", path.display());
    }
    if a.t.json {
        return print_json(&view);
    }
    summary(&a.t, &finished, &view, elapsed);
    Ok(())
}

/// `--cancel JOB`: the job stops at its next batch, whichever process
/// runs it (the runner sees the state at its next lease write).
async fn cancel(a: &DeprovisionArgs, id: &str) -> anyhow::Result<()> {
    let (dir, ctx) = open(&a.t).await?;
    let job = dir.cancel_job(&ctx, id).await?;
    if a.t.json {
        return print_json(&dir.job_view(&job).await?);
    }
    println!(
        "job {} {} after {} of {} rows; the rows done keep their changes",
        job.id, job.state, job.done, job.total
    );
    Ok(())
}

/// The job the input file and the options ask for.
fn request(a: &DeprovisionArgs) -> anyhow::Result<JobRequest> {
    let (Some(input), Some(mode)) = (&a.input, &a.mode) else {
        bail!("--input and --mode are required");
    };
    let text = std::fs::read_to_string(input)
        .map_err(|e| anyhow!("cannot read {}: {e}", input.display()))?;
    let (match_on, inputs) = deprovision::parse_leavers(&text, a.match_on.as_deref())
        .map_err(|e| anyhow!("{}: {e}", input.display()))?;
    Ok(JobRequest {
        mode: mode.clone(),
        match_on,
        transfer_to: a.transfer_to.clone(),
        dry_run: a.dry_run,
        inputs,
    })
}

fn announce(job: &JobRecord, resumed: bool) {
    if resumed {
        eprintln!(
            "resuming job {} at row {} of {}",
            job.id,
            job.done + 1,
            job.total
        );
    } else {
        eprintln!(
            "job {}: {}{} {} leavers matched by {}",
            job.id,
            if job.dry_run { "dry run: " } else { "" },
            job.mode,
            job.total,
            job.match_on
        );
    }
}

fn summary(t: &Target, finished: &JobRecord, view: &JobView, elapsed: Duration) {
    println!(
        "job {} {}: {} rows in {:.2}s",
        finished.id,
        finished.state,
        finished.total,
        elapsed.as_secs_f64()
    );
    for (k, n) in &view.actions {
        println!("  {k:<18} {n}");
    }
    if let Some(why) = &finished.reason {
        println!("  reason: {why}");
    }
    println!(
        "audit: rollcall audit export --tenant {} --job {}",
        t.tenant, finished.id
    );
}

async fn write_report(dir: &Directory, job_id: &str, path: &Path) -> anyhow::Result<()> {
    let text = dir.job_report(job_id).await?;
    std::fs::write(path, text).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}
