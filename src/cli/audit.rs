//! `rollcall audit export`: a tenant's audit log, oldest first, as JSON
//! lines or CSV.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::Subcommand;
use rollcall::directory::audit as fmt;
use rollcall::directory::views::AuditRecord;
use rollcall::directory::Directory;
use rollcall::store::AuditQuery;
use scim_protocol::datetime;

use super::{create, load_config, DbArgs};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Write a tenant's audit log, oldest first, as JSON lines or CSV.
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only entries at or after this dateTime.
        #[arg(long)]
        since: Option<String>,
        /// Only entries before this dateTime.
        #[arg(long)]
        until: Option<String>,
        /// Only the changes a deprovisioning job's run made (its id).
        #[arg(long)]
        job: Option<String>,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

pub async fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Export {
        tenant,
        format,
        since,
        until,
        job,
        output,
        db,
    } = cmd;
    let cfg = load_config(&db)?;
    let dir = Directory::open_plain(&cfg.database).await?;
    let t = dir
        .find_tenant(&tenant)
        .await?
        .ok_or_else(|| anyhow!("no tenant \"{tenant}\""))?;
    let query = AuditQuery {
        limit: 1000,
        since: time(since, "since")?,
        until: time(until, "until")?,
        job_id: job,
        ..Default::default()
    };
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(create(p)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let count = export(&dir, &t, query, format, &mut out).await?;
    out.flush()?;
    eprintln!("exported {count} audit entries of tenant \"{tenant}\"");
    Ok(())
}

/// A `--since`/`--until` value as canonical dateTime text.
fn time(v: Option<String>, name: &str) -> anyhow::Result<Option<String>> {
    v.map(|s| {
        datetime::parse(&s)
            .map(datetime::format)
            .ok_or_else(|| anyhow!("--{name} must be a dateTime such as 2026-01-31T00:00:00Z"))
    })
    .transpose()
}

/// Write every entry the query selects, page by page; how many.
async fn export(
    dir: &Directory,
    tenant: &rollcall::store::Tenant,
    mut query: AuditQuery,
    format: ExportFormat,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    if let ExportFormat::Csv = format {
        writeln!(out, "{}", fmt::csv_header())?;
    }
    let mut count = 0u64;
    loop {
        let page = dir.audit_page(tenant, &query).await?;
        for entry in &page.items {
            writeln!(out, "{}", line(entry, format)?)?;
            count += 1;
        }
        match page.items.last() {
            Some(last) if page.items.len() as i64 == query.limit => query.after = Some(last.id),
            _ => return Ok(count),
        }
    }
}

fn line(entry: &AuditRecord, format: ExportFormat) -> anyhow::Result<String> {
    Ok(match format {
        ExportFormat::Jsonl => serde_json::to_string(entry)?,
        ExportFormat::Csv => fmt::csv_row(&serde_json::to_value(entry)?),
    })
}
