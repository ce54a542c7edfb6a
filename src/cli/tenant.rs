//! `rollcall tenant …`: the tenant's settings, its owner, and the run-time
//! settings an admin changes (`PATCH /admin/v1/tenant`).

use anyhow::bail;
use clap::Subcommand;
use rollcall::directory::views::{TenantChange, TenantView};

use super::output::{cell, print_json};
use super::{open, Target};

#[derive(Subcommand)]
pub enum TenantCommand {
    /// The tenant's settings: registrations, seats, owner, directory mode,
    /// unique emails, what a re-create after deletion does.
    Show {
        #[command(flatten)]
        t: Target,
    },
    /// Name the tenant's owner (the operator: the first one, or with
    /// --replace another; with --as the owner hands ownership on).
    Owner {
        #[command(flatten)]
        t: Target,
        /// The new owner: id or userName (a live, enabled user of type user).
        user: String,
        /// Replace the owner the tenant has (the operator only).
        #[arg(long)]
        replace: bool,
    },
    /// Change run-time settings.
    Set {
        #[command(flatten)]
        t: Target,
        /// What a user the identity provider creates again after their
        /// deletion becomes: hold, restore, or config (the config file's).
        #[arg(long, value_name = "hold|restore|config")]
        recreate_deleted: Option<String>,
        /// Whether new users may be invited: on or off.
        #[arg(long, value_name = "on|off")]
        registrations: Option<String>,
    },
}

pub async fn run(cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Show { t } => {
            let (dir, ctx) = open(&t).await?;
            print_tenant(&t, &dir.tenant_view(&ctx).await?)
        }
        TenantCommand::Owner { t, user, replace } => {
            let (dir, ctx) = open(&t).await?;
            let owner = dir.hand_on_ownership(&ctx, &user, replace).await?;
            if t.json {
                return print_json(&owner);
            }
            println!("owner        {} ({})", owner.user_name, owner.id);
            Ok(())
        }
        TenantCommand::Set {
            t,
            recreate_deleted,
            registrations,
        } => {
            let registrations = match registrations.as_deref() {
                None => None,
                Some("on") => Some(true),
                Some("off") => Some(false),
                Some(other) => bail!("--registrations must be on or off, not \"{other}\""),
            };
            let recreate_deleted = recreate_deleted.map(|r| Some(r).filter(|r| r != "config"));
            let change = TenantChange {
                registrations,
                recreate_deleted,
                ..Default::default()
            };
            let (dir, ctx) = open(&t).await?;
            print_tenant(&t, &dir.set_tenant(&ctx, change).await?)
        }
    }
}

/// The tenant as JSON with `--json`, else as key-value lines.
fn print_tenant(t: &Target, v: &TenantView) -> anyhow::Result<()> {
    if t.json {
        return print_json(v);
    }
    let j = serde_json::to_value(v)?;
    let owner = match &v.owner {
        Some(o) => format!("{} ({}, from {})", o.user_name, o.id, o.source),
        None => "-".into(),
    };
    let lines = [
        ("name", cell(&j["name"])),
        ("owner", owner),
        ("registrations", cell(&j["registrations"])),
        ("directoryMode", cell(&j["directoryMode"])),
        ("localHolds", cell(&j["localHolds"])),
        ("uniqueEmails", cell(&j["uniqueEmails"])),
        (
            "recreate",
            format!(
                "{} (from {})",
                v.recreate_deleted.value.as_str(),
                v.recreate_deleted.source
            ),
        ),
        ("retentionDays", cell(&j["retentionDays"])),
        (
            "seats",
            format!(
                "users {}/{}, viewers {}/{}",
                v.seats.users.used,
                v.seats.users.limit.map_or("-".into(), |l| l.to_string()),
                v.seats.viewers.used,
                v.seats.viewers.limit.map_or("-".into(), |l| l.to_string())
            ),
        ),
    ];
    for (k, val) in lines {
        println!("{k:<13} {val}");
    }
    Ok(())
}
