//! `rollcall token …`: create (prints the token once), list, revoke. Each
//! creation and revocation is audited as `cli:<login>`.

use anyhow::bail;
use clap::Subcommand;
use rollcall::directory::tokens::{self, NewToken, TokenView};
use rollcall::directory::Directory;

use super::output::{opt, print_json, table};
use super::{load_config, login, DbArgs};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token (and the tenant if missing); prints the token once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "default")]
        label: String,
        /// Comma-separated scopes: scim, scim:read, events, audit, sign-in,
        /// admin. Default: scim; with --user, admin.
        #[arg(long)]
        scope: Option<String>,
        /// Bind it to this user (userName or id): with the scope admin it
        /// acts as that user, whose role and guards apply; it stops working
        /// while the user is disabled or banned, and is revoked when they
        /// are deleted.
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List tokens (never their secrets): scopes, bound user, last use.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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

pub async fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let actor = format!("cli:{}", login());
    match cmd {
        TokenCommand::Create {
            tenant,
            label,
            scope,
            user,
            db,
        } => {
            let cfg = load_config(&db)?;
            cfg.validate()?;
            let dir = Directory::open_plain(&cfg.database).await?;
            let new = NewToken {
                tenant,
                label,
                scopes: scope,
                user,
            };
            let issued = dir.issue_token(&new, &actor, now).await?;
            println!("{}", issued.token);
            Ok(())
        }
        TokenCommand::List { tenant, json, db } => {
            let cfg = load_config(&db)?;
            let dir = Directory::open_plain(&cfg.database).await?;
            let tokens = dir.tokens(tenant.as_deref()).await?;
            if json {
                return print_json(&tokens);
            }
            print!("{}", list_table(&tokens));
            Ok(())
        }
        TokenCommand::Revoke { id, db } => {
            let cfg = load_config(&db)?;
            let dir = Directory::open_plain(&cfg.database).await?;
            let id = id
                .trim_start_matches(tokens::PREFIX)
                .split('_')
                .next()
                .unwrap_or("")
                .to_string();
            if !dir.revoke_token(&id, &actor, now).await? {
                bail!("no active token with id {id}");
            }
            eprintln!("token {id} revoked");
            Ok(())
        }
    }
}

fn list_table(tokens: &[TokenView]) -> String {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let user = match (&t.user_name, &t.user_id) {
                (Some(name), _) => name.clone(),
                (None, Some(id)) => format!("{id} (purged)"),
                (None, None) => "-".into(),
            };
            let status = match &t.revoked {
                Some(r) => format!("revoked {r}"),
                None => "active".into(),
            };
            vec![
                t.id.clone(),
                t.tenant.clone(),
                t.label.clone(),
                if t.scopes.is_empty() {
                    "none".into()
                } else {
                    t.scopes.join(",")
                },
                user,
                t.created.clone(),
                opt(&t.last_used),
                status,
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "TENANT",
            "LABEL",
            "SCOPES",
            "USER",
            "CREATED",
            "LAST USED",
            "STATUS",
        ],
        &rows,
    )
}
