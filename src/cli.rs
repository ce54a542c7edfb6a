//! The admin commands of `rollcall`: `user`, `group` and `deprovision`.
//! They act through the same directory calls as the admin API, as the
//! operator of the installation (or, with `--as`, as an admin user whose
//! role guards then apply), audited as `cli:<login>`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use rollcall::directory::admin::{GroupListParams, Paging, UserListParams};
use rollcall::directory::deprovision::{self, JobRequest, RunOptions};
use rollcall::directory::lifecycle::AccessChange;
use rollcall::directory::{Ctx, Directory};
use serde_json::Value;

use crate::{load_config, DbArgs};

#[derive(Args, Clone)]
pub struct Target {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// Act as this admin user (userName or id): their role guards apply.
    /// Default: the operator, with every right an admin could have.
    #[arg(long = "as")]
    as_user: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// List users: search, filters, sort, pages.
    List {
        #[command(flatten)]
        t: Target,
        /// Text in userName, displayName or an email; or an exact id.
        #[arg(long)]
        search: Option<String>,
        /// userName, displayName, email, status, type, role, plan, created,
        /// lastModified, lastSignIn.
        #[arg(long)]
        sort: Option<String>,
        /// asc or desc.
        #[arg(long)]
        order: Option<String>,
        /// Statuses, comma-separated (default: all but deleted).
        #[arg(long)]
        status: Option<String>,
        /// user or viewer.
        #[arg(long = "type")]
        user_type: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Members (direct or nested) of this group.
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        page: Option<String>,
        /// 10, 20, … or 100.
        #[arg(long)]
        page_size: Option<String>,
    },
    /// Everything about one user.
    Show {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    /// Ban a user (a local hold the IdP cannot lift).
    Ban {
        #[command(flatten)]
        t: Target,
        user: String,
        #[arg(long)]
        reason: String,
    },
    Unban {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    Disable {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    Enable {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    /// Delete a user; their assets go to the successor.
    Delete {
        #[command(flatten)]
        t: Target,
        user: String,
        #[arg(long)]
        transfer_to: Option<String>,
    },
    /// Undo a deletion before the purge.
    Restore {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    /// Set (or with --unset, drop) the local role.
    SetRole {
        #[command(flatten)]
        t: Target,
        user: String,
        role: Option<String>,
        #[arg(long)]
        unset: bool,
    },
    /// Set (or drop) the local type: user or viewer.
    SetType {
        #[command(flatten)]
        t: Target,
        user: String,
        #[arg(value_name = "TYPE")]
        user_type: Option<String>,
        #[arg(long)]
        unset: bool,
    },
    /// Set (or drop) the personal plan.
    SetPlan {
        #[command(flatten)]
        t: Target,
        user: String,
        plan: Option<String>,
        #[arg(long)]
        unset: bool,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    List {
        #[command(flatten)]
        t: Target,
        #[arg(long)]
        search: Option<String>,
        /// displayName, members, created, lastModified.
        #[arg(long)]
        sort: Option<String>,
        #[arg(long)]
        order: Option<String>,
        #[arg(long)]
        page: Option<String>,
        #[arg(long)]
        page_size: Option<String>,
    },
    /// A group and a page of its members.
    Show {
        #[command(flatten)]
        t: Target,
        group: String,
        #[arg(long)]
        page: Option<String>,
        #[arg(long)]
        page_size: Option<String>,
    },
}

#[derive(Args)]
pub struct DeprovisionArgs {
    #[command(flatten)]
    t: Target,
    /// The leavers: a CSV file (a header row names the column) or one value
    /// per line.
    #[arg(long)]
    input: PathBuf,
    /// userName, email or externalId (default: the header's column, else
    /// userName).
    #[arg(long = "match")]
    match_on: Option<String>,
    /// deactivate or delete.
    #[arg(long)]
    mode: String,
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

async fn open(t: &Target) -> Result<(Arc<Directory>, Ctx), String> {
    let cfg = load_config(&t.db)?;
    cfg.validate().map_err(|e| e.to_string())?;
    let state = rollcall::state_from_config(&cfg)
        .await
        .map_err(|e| e.to_string())?;
    let dir = state.directory.clone();
    let tenant = dir
        .store
        .find_tenant(&t.tenant)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant \"{}\"", t.tenant))?;
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".into());
    let mut ctx = Ctx {
        tenant,
        actor: format!("cli:{login}"),
        actor_user_id: None,
        source_ip: None,
        request_id: None,
        base_url: String::new(),
        operator: true,
    };
    if let Some(u) = &t.as_user {
        let rec = dir
            .store
            .user_record(&ctx.tenant, u)
            .await
            .map_err(|e| e.to_string())?
            .filter(|r| r.deleted_at.is_none())
            .ok_or_else(|| format!("tenant \"{}\" has no user \"{u}\"", t.tenant))?;
        ctx.actor = format!("user:{} (cli:{login})", rec.user_name);
        ctx.actor_user_id = Some(rec.id);
        ctx.operator = false;
    }
    Ok((dir, ctx))
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A plain table: a header, then the rows, columns padded to fit.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

fn print_json(v: &Value) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn page_footer(v: &Value, what: &str) -> String {
    format!(
        "page {} of {} ({} {what})",
        s(&v["page"]),
        v["pages"].as_i64().unwrap_or(0).max(1),
        s(&v["total"])
    )
}

/// Key: value lines of a user.
fn user_card(v: &Value) -> String {
    let mut out = String::new();
    for key in [
        "id",
        "userName",
        "displayName",
        "email",
        "status",
        "type",
        "role",
        "plan",
        "managed",
        "lastSignIn",
        "created",
        "lastModified",
    ] {
        if v.get(key).is_some() {
            out.push_str(&format!("{key:<13} {}\n", s(&v[key])));
        }
    }
    if let Some(b) = v.get("ban").filter(|b| !b.is_null()) {
        out.push_str(&format!(
            "{:<13} {} ({})\n",
            "ban",
            s(&b["reason"]),
            s(&b["at"])
        ));
    }
    if let Some(seat) = v.get("seat") {
        out.push_str(&format!(
            "{:<13} {}{}\n",
            "seat",
            s(&seat["kind"]),
            if seat["counted"] == Value::Bool(true) {
                ""
            } else {
                " (released)"
            }
        ));
    }
    if let Some(groups) = v.get("groups").and_then(Value::as_array) {
        let names: Vec<String> = groups
            .iter()
            .map(|g| {
                format!(
                    "{}{}",
                    s(&g["displayName"]),
                    if g["direct"] == Value::Bool(true) {
                        ""
                    } else {
                        " (nested)"
                    }
                )
            })
            .collect();
        out.push_str(&format!(
            "{:<13} {}\n",
            "groups",
            if names.is_empty() {
                "-".into()
            } else {
                names.join(", ")
            }
        ));
    }
    if let Some(d) = v.get("deletion").filter(|d| !d.is_null()) {
        out.push_str(&format!("{:<13} {}\n", "deletion", d));
    }
    if let Some(link) = v.get("inviteLink") {
        out.push_str(&format!("{:<13} {}\n", "inviteLink", s(link)));
    }
    out
}

fn done(t: &Target, v: Value) -> Result<(), String> {
    if t.json {
        print_json(&v)
    } else {
        print!("{}", user_card(&v));
        Ok(())
    }
}

pub async fn user(cmd: UserCommand) -> Result<(), String> {
    let e = |e: rollcall::directory::DirectoryError| e.to_string();
    match cmd {
        UserCommand::List {
            t,
            search,
            sort,
            order,
            status,
            user_type,
            role,
            group,
            page,
            page_size,
        } => {
            let (dir, ctx) = open(&t).await?;
            let params = UserListParams {
                search,
                sort,
                order,
                status,
                user_type,
                role,
                group,
                page,
                page_size,
            };
            let v = dir.list_users(&ctx, &params).await.map_err(e)?;
            if t.json {
                return print_json(&v);
            }
            let rows: Vec<Vec<String>> = v["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|u| {
                            [
                                "userName",
                                "displayName",
                                "email",
                                "status",
                                "type",
                                "role",
                                "plan",
                                "lastSignIn",
                                "id",
                            ]
                            .iter()
                            .map(|k| s(&u[*k]))
                            .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            print!(
                "{}",
                table(
                    &[
                        "USERNAME",
                        "DISPLAY NAME",
                        "EMAIL",
                        "STATUS",
                        "TYPE",
                        "ROLE",
                        "PLAN",
                        "LAST SIGN-IN",
                        "ID"
                    ],
                    &rows
                )
            );
            println!("{}", page_footer(&v, "users"));
            Ok(())
        }
        UserCommand::Show { t, user } => {
            let (dir, ctx) = open(&t).await?;
            done(&t, dir.user_detail(&ctx, &user).await.map_err(e)?)
        }
        UserCommand::Ban { t, user, reason } => {
            let (dir, ctx) = open(&t).await?;
            if reason.trim().is_empty() {
                return Err("--reason must not be empty".into());
            }
            done(&t, dir.set_ban(&ctx, &user, Some(reason)).await.map_err(e)?)
        }
        UserCommand::Unban { t, user } => {
            let (dir, ctx) = open(&t).await?;
            done(&t, dir.set_ban(&ctx, &user, None).await.map_err(e)?)
        }
        UserCommand::Disable { t, user } => {
            let (dir, ctx) = open(&t).await?;
            done(&t, dir.set_enabled(&ctx, &user, false).await.map_err(e)?)
        }
        UserCommand::Enable { t, user } => {
            let (dir, ctx) = open(&t).await?;
            done(&t, dir.set_enabled(&ctx, &user, true).await.map_err(e)?)
        }
        UserCommand::Delete {
            t,
            user,
            transfer_to,
        } => {
            let (dir, ctx) = open(&t).await?;
            done(
                &t,
                dir.delete_user(&ctx, &user, None, transfer_to, true)
                    .await
                    .map_err(e)?,
            )
        }
        UserCommand::Restore { t, user } => {
            let (dir, ctx) = open(&t).await?;
            done(&t, dir.restore(&ctx, &user).await.map_err(e)?)
        }
        UserCommand::SetRole {
            t,
            user,
            role,
            unset,
        } => set_access(t, user, "role", role, unset).await,
        UserCommand::SetType {
            t,
            user,
            user_type,
            unset,
        } => set_access(t, user, "type", user_type, unset).await,
        UserCommand::SetPlan {
            t,
            user,
            plan,
            unset,
        } => set_access(t, user, "plan", plan, unset).await,
    }
}

async fn set_access(
    t: Target,
    user: String,
    what: &str,
    value: Option<String>,
    unset: bool,
) -> Result<(), String> {
    let v = match (value, unset) {
        (Some(v), false) => Some(v),
        (None, true) => None,
        _ => {
            return Err(format!(
                "give a {what}, or --unset to drop the local {what}"
            ))
        }
    };
    let mut change = AccessChange::default();
    match what {
        "role" => change.role = Some(v),
        "type" => change.user_type = Some(v),
        _ => change.plan = Some(v),
    }
    let (dir, ctx) = open(&t).await?;
    dir.set_access(&ctx, &user, change)
        .await
        .map_err(|e| e.to_string())?;
    done(
        &t,
        dir.user_detail(&ctx, &user)
            .await
            .map_err(|e| e.to_string())?,
    )
}

pub async fn group(cmd: GroupCommand) -> Result<(), String> {
    match cmd {
        GroupCommand::List {
            t,
            search,
            sort,
            order,
            page,
            page_size,
        } => {
            let (dir, ctx) = open(&t).await?;
            let v = dir
                .list_groups(
                    &ctx,
                    &GroupListParams {
                        search,
                        sort,
                        order,
                        page,
                        page_size,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            if t.json {
                return print_json(&v);
            }
            let rows: Vec<Vec<String>> = v["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|g| {
                            ["displayName", "members", "externalId", "lastModified", "id"]
                                .iter()
                                .map(|k| s(&g[*k]))
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            print!(
                "{}",
                table(
                    &[
                        "DISPLAY NAME",
                        "MEMBERS",
                        "EXTERNAL ID",
                        "LAST MODIFIED",
                        "ID"
                    ],
                    &rows
                )
            );
            println!("{}", page_footer(&v, "groups"));
            Ok(())
        }
        GroupCommand::Show {
            t,
            group,
            page,
            page_size,
        } => {
            let (dir, ctx) = open(&t).await?;
            let paging =
                Paging::parse(page.as_deref(), page_size.as_deref()).map_err(|e| e.to_string())?;
            let v = dir
                .group_detail(&ctx, &group, paging)
                .await
                .map_err(|e| e.to_string())?;
            if t.json {
                return print_json(&v);
            }
            for key in ["id", "displayName", "externalId", "created", "lastModified"] {
                println!("{key:<13} {}", s(&v[key]));
            }
            let grants = v["grants"].as_array().cloned().unwrap_or_default();
            for g in &grants {
                println!("{:<13} {}", "grants", g);
            }
            let m = &v["members"];
            let rows: Vec<Vec<String>> = m["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            ["name", "type", "status", "id"]
                                .iter()
                                .map(|k| s(&x[*k]))
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!();
            print!("{}", table(&["MEMBER", "TYPE", "STATUS", "ID"], &rows));
            println!("{}", page_footer(m, "members"));
            Ok(())
        }
    }
}

/// Progress on stderr: a bar on a terminal, else a plain line at most
/// once a second (and at the end).
struct Progress {
    tty: bool,
    start: std::time::Instant,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Progress {
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
        let due = last.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1));
        if due || done >= total {
            let _ = writeln!(err, "progress: {done}/{total} rows ({pct}%) {secs:.1}s");
            *last = Some(std::time::Instant::now());
        }
    }
}

pub async fn run_deprovision(a: DeprovisionArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&a.input)
        .map_err(|e| format!("cannot read {}: {e}", a.input.display()))?;
    let (match_on, inputs) = deprovision::parse_leavers(&text, a.match_on.as_deref())
        .map_err(|e| format!("{}: {e}", a.input.display()))?;
    if a.batch_size < 1 || a.batch_size > 5000 {
        return Err("--batch-size must be 1 to 5000".into());
    }
    let (dir, ctx) = open(&a.t).await?;
    let req = JobRequest {
        mode: a.mode.clone(),
        match_on,
        transfer_to: a.transfer_to.clone(),
        dry_run: a.dry_run,
        inputs,
    };
    let (job, resumed) = dir
        .open_job(&ctx, "cli", req)
        .await
        .map_err(|e| e.to_string())?;
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
    let progress = Progress {
        tty: std::io::stderr().is_terminal(),
        start: std::time::Instant::now(),
        last: std::sync::Mutex::new(None),
    };
    let started = std::time::Instant::now();
    let finished = dir
        .run_job(
            &job,
            &deprovision::runner_id(),
            RunOptions {
                batch_size: a.batch_size,
                pause: std::time::Duration::from_millis(a.pause_ms),
            },
            &|d, t| progress.show(d, t),
        )
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let view = dir.job_view(&finished).await.map_err(|e| e.to_string())?;
    if let Some(path) = &a.report {
        write_report(&dir, &finished.id, path).await?;
        eprintln!("report written to {}", path.display());
    }
    if a.t.json {
        print_json(&view)?;
    } else {
        println!(
            "job {} {}: {} rows in {:.2}s",
            finished.id,
            finished.state,
            finished.total,
            elapsed.as_secs_f64()
        );
        if let Some(actions) = view["actions"].as_object() {
            for (k, n) in actions {
                println!("  {k:<18} {n}");
            }
        }
        println!(
            "audit: rollcall audit export --tenant {} (request_id {})",
            a.t.tenant, finished.id
        );
    }
    Ok(())
}

async fn write_report(dir: &Directory, job_id: &str, path: &PathBuf) -> Result<(), String> {
    let text = dir.job_report(job_id).await.map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
