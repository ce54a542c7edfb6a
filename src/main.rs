//! The `rollcall` command: serve, migrate, token, audit, user, group,
//! deprovision.

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rollcall::config::Config;
use rollcall::directory::tokens;
use rollcall::store::Store;

#[derive(Parser)]
#[command(name = "rollcall", version, about = "A SCIM 2.0 provisioning server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DbArgs {
    /// Database URL (default sqlite://rollcall.db).
    #[arg(long, env = "ROLLCALL_DATABASE_URL")]
    database: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, env = "ROLLCALL_LISTEN")]
        listen: Option<String>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Users of a tenant (mirrors the admin API).
    User {
        #[command(subcommand)]
        command: cli::UserCommand,
    },
    /// Groups of a tenant.
    Group {
        #[command(subcommand)]
        command: cli::GroupCommand,
    },
    /// Deactivate or delete a list of leavers; a per-row report.
    Deprovision(cli::DeprovisionArgs),
}

#[derive(Subcommand)]
enum AuditCommand {
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
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token (and the tenant if missing); prints the token once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "default")]
        label: String,
        /// Make it an admin credential acting as this user (userName or id):
        /// the admin API then applies that user's role and guards.
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a token by its id (the 12 hex digits after `rc_`).
    Revoke {
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn load_config(db: &DbArgs) -> Result<Config, String> {
    let mut cfg = Config::load(db.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(d) = &db.database {
        cfg.database = d.clone();
    }
    Ok(cfg)
}

fn init_tracing(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { db, listen } => {
            let mut cfg = load_config(&db)?;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            cfg.validate().map_err(|e| e.to_string())?;
            init_tracing(&cfg);
            serve(cfg).await
        }
        Command::Migrate { db } => {
            let cfg = load_config(&db)?;
            cfg.validate().map_err(|e| e.to_string())?;
            Store::connect(&cfg.database)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("database {} is up to date", cfg.database);
            Ok(())
        }
        Command::Token { command } => token(command).await,
        Command::Audit { command } => audit(command).await,
        Command::User { command } => cli::user(command).await,
        Command::Group { command } => cli::group(command).await,
        Command::Deprovision(args) => cli::run_deprovision(args).await,
    }
}

async fn serve(cfg: Config) -> Result<(), String> {
    let state = rollcall::state_from_config(&cfg)
        .await
        .map_err(|e| e.to_string())?;
    let store = &state.directory.store;
    // First start on an empty database: a tenant and one token to begin with.
    let tenant = rollcall::store::Tenant {
        id: 0,
        name: "default".into(),
    };
    let now = time::OffsetDateTime::now_utc();
    let (token, record) = tokens::generate(&tenant, "bootstrap", now);
    if store
        .bootstrap("default", &record, now)
        .await
        .map_err(|e| e.to_string())?
    {
        eprintln!("created tenant \"default\"; its bootstrap token (shown once, store it now):");
        eprintln!("{token}");
    }
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("rollcall listening on {addr}");
    tracing::info!(%addr, database = %cfg.database, "listening");
    let worker = rollcall::directory::hooks::spawn_worker(state.directory.clone());
    let app = rollcall::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string());
    worker.abort();
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn token(cmd: TokenCommand) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        TokenCommand::Create {
            tenant,
            label,
            user,
            db,
        } => {
            let cfg = load_config(&db)?;
            cfg.validate().map_err(|e| e.to_string())?;
            let store = Store::connect(&cfg.database)
                .await
                .map_err(|e| e.to_string())?;
            let t = store
                .ensure_tenant(&tenant, now)
                .await
                .map_err(|e| e.to_string())?;
            let (token, mut record) = tokens::generate(&t, &label, now);
            if let Some(u) = user {
                let rec = store
                    .user_record(&t, &u)
                    .await
                    .map_err(|e| e.to_string())?
                    .filter(|r| r.deleted_at.is_none())
                    .ok_or_else(|| format!("tenant \"{tenant}\" has no user \"{u}\""))?;
                record.user_id = Some(rec.id);
            }
            store
                .insert_token(&t, &record)
                .await
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
        TokenCommand::List { tenant, db } => {
            let cfg = load_config(&db)?;
            let store = Store::connect(&cfg.database)
                .await
                .map_err(|e| e.to_string())?;
            let list = store
                .list_tokens(tenant.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:<14} {:<16} {:<20} {:<26} STATUS",
                "ID", "TENANT", "LABEL", "CREATED"
            );
            for t in list {
                let status = match &t.revoked {
                    Some(r) => format!("revoked {r}"),
                    None => "active".into(),
                };
                println!(
                    "{:<14} {:<16} {:<20} {:<26} {status}",
                    t.id, t.tenant.name, t.label, t.created
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { id, db } => {
            let cfg = load_config(&db)?;
            let store = Store::connect(&cfg.database)
                .await
                .map_err(|e| e.to_string())?;
            let id = id
                .trim_start_matches(tokens::PREFIX)
                .split('_')
                .next()
                .unwrap_or("")
                .to_string();
            if store
                .revoke_token(&id, now)
                .await
                .map_err(|e| e.to_string())?
            {
                eprintln!("token {id} revoked");
                Ok(())
            } else {
                Err(format!("no active token with id {id}"))
            }
        }
    }
}

async fn audit(cmd: AuditCommand) -> Result<(), String> {
    use rollcall::directory::audit as fmt;
    use std::io::Write;
    let AuditCommand::Export {
        tenant,
        format,
        since,
        until,
        output,
        db,
    } = cmd;
    let cfg = load_config(&db)?;
    let store = Store::connect(&cfg.database)
        .await
        .map_err(|e| e.to_string())?;
    let t = store
        .find_tenant(&tenant)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no tenant \"{tenant}\""))?;
    let time = |v: Option<String>, name: &str| -> Result<Option<String>, String> {
        v.map(|s| {
            rollcall::scim::datetime::parse(&s)
                .map(rollcall::scim::datetime::format)
                .ok_or_else(|| format!("--{name} must be a dateTime such as 2026-01-31T00:00:00Z"))
        })
        .transpose()
    };
    let mut query = rollcall::store::AuditQuery {
        limit: 1000,
        since: time(since, "since")?,
        until: time(until, "until")?,
        ..Default::default()
    };
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if let ExportFormat::Csv = format {
        writeln!(out, "{}", fmt::csv_header()).map_err(|e| e.to_string())?;
    }
    let mut count = 0u64;
    loop {
        let page = store
            .audit_page(&t, &query)
            .await
            .map_err(|e| e.to_string())?;
        for entry in &page {
            let line = match format {
                ExportFormat::Jsonl => entry.to_string(),
                ExportFormat::Csv => fmt::csv_row(entry),
            };
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
            count += 1;
        }
        match page.last().and_then(|e| e["id"].as_i64()) {
            Some(last) if page.len() as i64 == query.limit => query.after = Some(last),
            _ => break,
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    eprintln!("exported {count} audit entries of tenant \"{tenant}\"");
    Ok(())
}
