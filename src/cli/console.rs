//! `rollcall console login-link`: the break-glass way into the admin
//! console, for the first admin before any identity provider is wired, and
//! for emergencies. Prints a one-time link (valid 10 minutes, only its hash
//! stored); issuing it is audited.

use clap::Subcommand;

use super::{load_config, open_operator, DbArgs};
use rollcall::config::Config;

#[derive(Subcommand)]
pub enum ConsoleCommand {
    /// Print a one-time sign-in link to the console (valid 10 minutes).
    LoginLink {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The user who signs in (userName or id); the console gives them
        /// their own rights.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(cmd: ConsoleCommand) -> anyhow::Result<()> {
    match cmd {
        ConsoleCommand::LoginLink { tenant, user, db } => {
            let cfg = load_config(&db)?;
            let (dir, ctx) = open_operator(&cfg, &tenant).await?;
            let link = dir.issue_login_link(&ctx, &user).await?;
            println!("{}/console/login/{}", console_base(&cfg), link.secret);
            eprintln!(
                "a one-time sign-in link for {} (tenant {tenant}): it opens one session, until {}",
                link.user_name, link.expires
            );
            Ok(())
        }
    }
}

/// Where the console is: the `public_url` without the SCIM path, else the
/// listen address (an unspecified address means this machine).
fn console_base(cfg: &Config) -> String {
    if let Some(u) = &cfg.public_url {
        let u = u.trim_end_matches('/');
        return u.strip_suffix("/scim/v2").unwrap_or(u).to_string();
    }
    let listen = &cfg.listen;
    let local = match listen.rsplit_once(':') {
        Some(("0.0.0.0", port)) => format!("127.0.0.1:{port}"),
        Some(("[::]", port)) => format!("[::1]:{port}"),
        _ => listen.clone(),
    };
    format!("http://{local}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_built_from_public_url_else_the_listen_address() {
        let mut cfg = Config {
            public_url: Some("https://id.example.com/scim/v2/".into()),
            ..Config::default()
        };
        assert_eq!(console_base(&cfg), "https://id.example.com");
        cfg.public_url = Some("https://id.example.com/rollcall".into());
        assert_eq!(console_base(&cfg), "https://id.example.com/rollcall");
        cfg.public_url = None;
        assert_eq!(console_base(&cfg), "http://127.0.0.1:8080");
        cfg.listen = "0.0.0.0:9000".into();
        assert_eq!(console_base(&cfg), "http://127.0.0.1:9000");
        cfg.listen = "[::]:9000".into();
        assert_eq!(console_base(&cfg), "http://[::1]:9000");
    }
}
