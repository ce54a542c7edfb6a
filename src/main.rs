//! The `rollcall` command: serve, migrate, token, audit, user, group,
//! deprovision, console, backup.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Parser, Subcommand};
use rollcall::config::Config;
use rollcall::directory::Directory;

use cli::{load_config, DbArgs};

#[derive(Parser)]
#[command(name = "rollcall", version, about = "A SCIM 2.0 provisioning server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        command: cli::TokenCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: cli::AuditCommand,
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
    /// A tenant's policy (roles and permissions, plans, mapping rules) from
    /// and to a TOML file: show, diff (a preview) and apply.
    Policy {
        #[command(subcommand)]
        command: cli::PolicyCommand,
    },
    /// Deactivate or delete a list of leavers; a per-row report.
    /// A tenant's settings and owner.
    Tenant {
        #[command(subcommand)]
        command: cli::TenantCommand,
    },
    /// Deactivate, delete or hold a list of leavers; a per-row report.
    Deprovision(cli::DeprovisionArgs),
    /// The admin console: a one-time sign-in link.
    Console {
        #[command(subcommand)]
        command: cli::ConsoleCommand,
    },
    /// Copy the SQLite database to a file (VACUUM INTO), and check the copy.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The copy to write; it must not exist.
        #[arg(long)]
        to: std::path::PathBuf,
    },
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { db, listen } => {
            let mut cfg = load_config(&db)?;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            cfg.validate()?;
            rollcall::logging::init(&cfg.log_format);
            serve(cfg).await
        }
        Command::Migrate { db } => {
            let cfg = load_config(&db)?;
            cfg.validate()?;
            Directory::open_plain(&cfg.database).await?;
            eprintln!("database {} is up to date", cfg.database);
            Ok(())
        }
        Command::Token { command } => cli::token(command).await,
        Command::Audit { command } => cli::audit(command).await,
        Command::User { command } => cli::user(command).await,
        Command::Group { command } => cli::group(command).await,
        Command::Policy { command } => cli::policy(command).await,
        Command::Tenant { command } => cli::tenant(command).await,
        Command::Deprovision(args) => cli::deprovision(args).await,
        Command::Console { command } => cli::console(command).await,
        Command::Backup { db, to } => {
            let cfg = load_config(&db)?;
            let report = Directory::backup(&cfg.database, &to).await?;
            eprintln!(
                "backed up {} to {} ({} bytes, integrity check ok)",
                cfg.database,
                to.display(),
                report.bytes
            );
            Ok(())
        }
    }
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let state = rollcall::state_from_config(&cfg).await?;
    // First start on an empty database: a tenant and one token to begin with.
    let now = time::OffsetDateTime::now_utc();
    if let Some(token) = state.directory.bootstrap_token(now).await? {
        eprintln!("created tenant \"default\"; its bootstrap token (shown once, store it now):");
        eprintln!("{token}");
    }
    if let Some(r) = &cfg.rate_limit {
        if r.requests_per_second < 25.0 {
            tracing::warn!(
                requests_per_second = r.requests_per_second,
                "[rate_limit] is below the 25 requests per second Microsoft Entra ID sends a gallery app: Entra will see 429s and may quarantine the provisioning job"
            );
        }
    }
    let opts = rollcall::serve::ServeOptions {
        header_read_timeout: cfg.limits.header_read_timeout(),
        body_read_timeout: cfg.limits.body_read_timeout(),
        drain_timeout: cfg.limits.request_timeout() + Duration::from_secs(5),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics = match &cfg.metrics.listen {
        Some(at) => Some(
            serve_metrics(
                at,
                rollcall::metrics_app(state.clone()),
                opts,
                stop_rx.clone(),
            )
            .await?,
        ),
        None => None,
    };
    // Last, so that "listening" means every listener is up.
    let listener = bind(&cfg.listen).await?;
    let addr = listener.local_addr()?;
    eprintln!("rollcall listening on {addr}");
    tracing::info!(%addr, database = %cfg.database, "listening");
    let worker = rollcall::directory::hooks::spawn_worker(state.directory.clone(), stop_rx);
    let directory = state.directory.clone();
    let draining = state.draining.clone();
    let grace = Duration::from_secs(cfg.shutdown_grace_seconds);
    let stopping = async move {
        shutdown_signal().await;
        // Load balancers see /readyz fail and stop sending; then the
        // listener closes and in-flight requests finish.
        draining.start();
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "draining: /readyz answers 503"
        );
        tokio::time::sleep(grace).await;
    };
    rollcall::serve::serve(listener, rollcall::app(state), opts, stopping).await;
    tracing::info!("requests drained; waiting for the worker to finish its round");
    let _ = stop_tx.send(true);
    if let Some(m) = metrics {
        let _ = m.await;
    }
    let mut worker = worker;
    if tokio::time::timeout(Duration::from_secs(30), &mut worker)
        .await
        .is_err()
    {
        tracing::warn!("the worker did not finish its round in 30 s; stopping it");
        worker.abort();
    }
    if let Err(e) = directory.flush_request_log().await {
        tracing::warn!(error = %e, "stopping with requests not written to the request log");
    }
    // Invitation emails in flight hold their link in memory only.
    if !directory.flush_mail(Duration::from_secs(30)).await {
        tracing::warn!(
            "stopping with invitation emails unsent: they will show as abandoned; resend them"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(at: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(at)
        .await
        .map_err(|e| anyhow!("cannot listen on {at}: {e}"))
}

/// `/metrics` on its own address, until the API has drained.
async fn serve_metrics(
    at: &str,
    app: axum::Router,
    opts: rollcall::serve::ServeOptions,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = bind(at).await?;
    let addr = listener.local_addr()?;
    eprintln!("rollcall metrics on {addr}");
    tracing::info!(%addr, "metrics listening");
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    Ok(tokio::spawn(rollcall::serve::serve(
        listener, app, opts, stopped,
    )))
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
