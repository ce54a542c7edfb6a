//! The `rollcall` commands besides `serve` and `migrate`: `token`, `audit`,
//! `user`, `group`, `tenant`, `deprovision` and `console`. The admin commands act through the
//! same directory calls as the admin API, as the operator of the
//! installation (or, with `--as`, as an admin user whose role guards then
//! apply), audited as `cli:<login>`; `--json` prints the API's views.

mod audit;
mod console;
mod deprovision;
mod group;
mod output;
mod policy;
mod tenant;
mod token;
mod user;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use rollcall::config::Config;
use rollcall::directory::{Ctx, Directory};

pub use audit::AuditCommand;
pub use console::ConsoleCommand;
pub use deprovision::DeprovisionArgs;
pub use group::GroupCommand;
pub use policy::PolicyCommand;
pub use tenant::TenantCommand;
pub use token::TokenCommand;
pub use user::UserCommand;

pub use audit::run as audit;
pub use console::run as console;
pub use deprovision::run as deprovision;
pub use group::run as group;
pub use policy::run as policy;
pub use tenant::run as tenant;
pub use token::run as token;
pub use user::run as user;

#[derive(Args, Clone)]
pub struct DbArgs {
    /// Database URL (default sqlite://rollcall.db).
    #[arg(long, env = "ROLLCALL_DATABASE_URL")]
    database: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, env = "ROLLCALL_CONFIG")]
    config: Option<PathBuf>,
}

/// The configuration file (if any) with `--database` applied.
pub fn load_config(db: &DbArgs) -> anyhow::Result<Config> {
    let mut cfg = Config::load(db.config.as_deref())?;
    if let Some(d) = &db.database {
        cfg.database = d.clone();
    }
    Ok(cfg)
}

/// The tenant an admin command acts on, and as whom.
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

impl Target {
    /// The tenant's name.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

/// Which page of a list.
#[derive(Args, Clone)]
pub struct PageArgs {
    #[arg(long)]
    page: Option<String>,
    /// 10, 20, … or 100.
    #[arg(long)]
    page_size: Option<String>,
}

/// Who runs the command, for the audit log's `cli:<login>`.
fn login() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".into())
}

/// The directory of the configured database, and the context the command
/// acts in.
async fn open(t: &Target) -> anyhow::Result<(Arc<Directory>, Ctx)> {
    let cfg = load_config(&t.db)?;
    let (dir, mut ctx) = open_operator(&cfg, &t.tenant).await?;
    let login = login();
    if let Some(u) = &t.as_user {
        let rec = dir
            .live_user(&ctx.tenant, u)
            .await?
            .ok_or_else(|| anyhow!("tenant \"{}\" has no user \"{u}\"", t.tenant))?;
        ctx.actor = format!("user:{} (cli:{login})", rec.user_name);
        ctx.actor_user_id = Some(rec.id);
        ctx.operator = false;
    }
    Ok((dir, ctx))
}

/// The directory of a validated configuration, and the operator's context
/// on `tenant` (audited as `cli:<login>`).
async fn open_operator(cfg: &Config, tenant: &str) -> anyhow::Result<(Arc<Directory>, Ctx)> {
    cfg.validate()?;
    let state = rollcall::state_from_config(cfg).await?;
    let dir = state.directory.clone();
    let tenant = dir
        .find_tenant(tenant)
        .await?
        .ok_or_else(|| anyhow!("no tenant \"{tenant}\""))?;
    let ctx = Ctx {
        tenant,
        actor: format!("cli:{}", login()),
        actor_user_id: None,
        source_ip: None,
        request_id: None,
        base_url: String::new(),
        operator: true,
    };
    Ok((dir, ctx))
}

/// A file the command writes: the error names it.
fn create(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}
