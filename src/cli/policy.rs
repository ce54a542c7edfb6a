//! `rollcall policy show|diff|apply`: a tenant's policy (role catalog with
//! permissions, plans, mapping rules) from and to a TOML file, for GitOps.
//! `diff` previews a file against every user, writing nothing; `apply`
//! stores it as the next version and recomputes every user, printing
//! progress.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use rollcall::directory::access::PolicyDocument;
use rollcall::directory::views::{AccessSummary, PolicyChange};

use super::output::print_json;
use super::{open, Target};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Print the tenant's policy as a TOML file `apply` takes.
    Show {
        #[command(flatten)]
        t: Target,
    },
    /// What applying FILE would change, user by user; writes nothing.
    Diff {
        #[command(flatten)]
        t: Target,
        file: PathBuf,
    },
    /// Store FILE as the tenant's policy and recompute every user.
    Apply {
        #[command(flatten)]
        t: Target,
        file: PathBuf,
    },
}

fn read_file(path: &std::path::Path, version: i64) -> anyhow::Result<PolicyDocument> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    PolicyDocument::from_toml(&text, version).map_err(|e| anyhow!("{}: {e}", path.display()))
}

pub async fn run(cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::Show { t } => {
            let (dir, ctx) = open(&t).await?;
            let doc = dir.policy_document(&ctx).await?;
            if t.json {
                return print_json(&doc);
            }
            println!(
                "# policy of tenant {} (version {})",
                t.tenant(),
                doc.version
            );
            print!("{}", doc.to_toml().map_err(|e| anyhow!(e))?);
            Ok(())
        }
        PolicyCommand::Diff { t, file } => {
            let (dir, ctx) = open(&t).await?;
            let current = dir.policy_document(&ctx).await?;
            let doc = read_file(&file, current.version)?;
            let preview = dir
                .preview_policy(&ctx, &doc, 1, rollcall::directory::MAX_POLICY_PREVIEW_PAGE)
                .await?;
            if t.json {
                return print_json(&preview);
            }
            println!(
                "{} user(s) would change (policy version {} → {})",
                preview.changes,
                current.version,
                current.version + 1
            );
            for c in &preview.users {
                println!("  {}", change_line(c));
            }
            if preview.changes > preview.items_per_page {
                println!(
                    "  … and {} more (--json with the admin API's paging lists them all)",
                    preview.changes - preview.items_per_page
                );
            }
            Ok(())
        }
        PolicyCommand::Apply { t, file } => {
            let (dir, ctx) = open(&t).await?;
            let current = dir.policy_document(&ctx).await?;
            let doc = read_file(&file, current.version)?;
            let report = |p: &rollcall::directory::views::PolicyApply| {
                eprintln!(
                    "version {}: {}/{} users, {} changed ({})",
                    p.version, p.users_done, p.users_total, p.changed, p.state
                );
            };
            let (version, changed) = dir.apply_document(&ctx, doc, &report).await?;
            if t.json {
                return print_json(&serde_json::json!({"version": version, "changed": changed}));
            }
            println!("policy version {version} applied: {changed} user(s) changed");
            Ok(())
        }
    }
}

fn summary(a: &AccessSummary) -> String {
    let mut s = format!(
        "{} {} plan {}",
        a.user_type,
        a.role,
        a.plan.as_deref().unwrap_or("none")
    );
    if !a.projects.is_empty() {
        let p: Vec<String> = a.projects.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!(" projects {}", p.join(",")));
    }
    s
}

fn change_line(c: &PolicyChange) -> String {
    format!(
        "{} ({}): {} → {}",
        c.user_name,
        c.id,
        summary(&c.before),
        summary(&c.after)
    )
}
