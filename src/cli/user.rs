//! `rollcall user …`: list, show, invite, reinvite, uninvite, ban, unban,
//! disable, enable, delete, restore, and the local role, type and plan.

use anyhow::bail;
use clap::{Args, Subcommand};
use rollcall::directory::admin::UserListParams;
use rollcall::directory::lifecycle::{AccessChange, Assets};
use rollcall::directory::views::{Invitation, InvitedUser, UserRow};

use super::output::{opt, print_page, print_user};
use super::{open, PageArgs, Target};

#[derive(Subcommand)]
pub enum UserCommand {
    /// List users: search, filters, sort, pages.
    List(ListArgs),
    /// Everything about one user.
    Show {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    /// Invite a user: prints the invitation link once (and emails it with
    /// `[email]` configured, waiting for the send).
    Invite(InviteArgs),
    /// A fresh invitation link for a user still invited; the old one dies.
    Reinvite {
        #[command(flatten)]
        t: Target,
        user: String,
    },
    /// Withdraw a user's open invitation link.
    Uninvite {
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
    /// Delete a user; their assets go to the successor (by default their
    /// manager, else the fallback owner), or with --delete-assets are
    /// removed with the account.
    Delete {
        #[command(flatten)]
        t: Target,
        user: String,
        #[arg(long)]
        transfer_to: Option<String>,
        /// Remove the user's assets with the account instead of handing
        /// them on (the host is told to delete them).
        #[arg(long, conflicts_with = "transfer_to")]
        delete_assets: bool,
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

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    t: Target,
    /// The beginning of a word of the userName, displayName or an email
    /// (case-insensitive, literal); or an exact id.
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
    #[command(flatten)]
    p: PageArgs,
}

#[derive(Args)]
pub struct InviteArgs {
    #[command(flatten)]
    t: Target,
    /// The new user's userName.
    user_name: String,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    display_name: Option<String>,
    /// user or viewer.
    #[arg(long = "type")]
    user_type: Option<String>,
    #[arg(long)]
    role: Option<String>,
    #[arg(long)]
    plan: Option<String>,
}

/// How long `invite` and `reinvite` wait for the email to go out.
const MAIL_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Print an invitation's answer once its email (if any) is sent or given up.
async fn print_invited(
    t: &Target,
    dir: &rollcall::directory::Directory,
    invited: &InvitedUser,
) -> anyhow::Result<()> {
    if !dir.flush_mail(MAIL_WAIT).await {
        eprintln!("the invitation email is still being retried: see `rollcall audit` or GET /admin/v1/users/{{id}}/invitation");
    }
    print_user(t, invited)
}

/// Which local access setting a command changes.
#[derive(Clone, Copy)]
enum Setting {
    Role,
    Type,
    Plan,
}

pub async fn run(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::List(a) => list(a).await,
        UserCommand::Show { t, user } => {
            let (dir, ctx) = open(&t).await?;
            print_user(&t, &dir.user_detail(&ctx, &user).await?)
        }
        UserCommand::Invite(a) => {
            let (dir, ctx) = open(&a.t).await?;
            let inv = Invitation {
                user_name: a.user_name,
                display_name: a.display_name,
                email: a.email,
                user_type: a.user_type,
                role: a.role,
                plan: a.plan,
            };
            print_invited(&a.t, &dir, &dir.invite(&ctx, inv).await?).await
        }
        UserCommand::Reinvite { t, user } => {
            let (dir, ctx) = open(&t).await?;
            print_invited(&t, &dir, &dir.reinvite(&ctx, &user).await?).await
        }
        UserCommand::Uninvite { t, user } => {
            let (dir, ctx) = open(&t).await?;
            print_user(&t, &dir.withdraw_invitation(&ctx, &user).await?)
        }
        UserCommand::Ban { t, user, reason } => {
            let (dir, ctx) = open(&t).await?;
            if reason.trim().is_empty() {
                bail!("--reason must not be empty");
            }
            print_user(&t, &dir.set_ban(&ctx, &user, Some(reason)).await?)
        }
        UserCommand::Unban { t, user } => {
            let (dir, ctx) = open(&t).await?;
            print_user(&t, &dir.set_ban(&ctx, &user, None).await?)
        }
        UserCommand::Disable { t, user } => enable(t, user, false).await,
        UserCommand::Enable { t, user } => enable(t, user, true).await,
        UserCommand::Delete {
            t,
            user,
            transfer_to,
            delete_assets,
        } => {
            let (dir, ctx) = open(&t).await?;
            let assets = Assets::from_request(delete_assets.then_some("delete"), transfer_to)?;
            let deleted = dir.delete_user(&ctx, &user, None, assets, true);
            print_user(&t, &deleted.await?)
        }
        UserCommand::Restore { t, user } => {
            let (dir, ctx) = open(&t).await?;
            print_user(&t, &dir.restore(&ctx, &user).await?)
        }
        UserCommand::SetRole {
            t,
            user,
            role,
            unset,
        } => set_access(t, user, Setting::Role, role, unset).await,
        UserCommand::SetType {
            t,
            user,
            user_type,
            unset,
        } => set_access(t, user, Setting::Type, user_type, unset).await,
        UserCommand::SetPlan {
            t,
            user,
            plan,
            unset,
        } => set_access(t, user, Setting::Plan, plan, unset).await,
    }
}

async fn list(a: ListArgs) -> anyhow::Result<()> {
    let (dir, ctx) = open(&a.t).await?;
    let params = UserListParams {
        search: a.search,
        sort: a.sort,
        order: a.order,
        status: a.status,
        user_type: a.user_type,
        role: a.role,
        group: a.group,
        page: a.p.page,
        page_size: a.p.page_size,
    };
    let page = dir.list_users(&ctx, &params).await?;
    let headers = [
        "USERNAME",
        "DISPLAY NAME",
        "EMAIL",
        "STATUS",
        "TYPE",
        "ROLE",
        "PLAN",
        "LAST SIGN-IN",
        "ID",
    ];
    print_page(&a.t, &page, "users", &headers, |u: &UserRow| {
        vec![
            u.user_name.clone(),
            opt(&u.display_name),
            opt(&u.email),
            u.standing.status.clone(),
            u.standing.user_type.clone(),
            u.standing.role.clone(),
            opt(&u.standing.plan),
            opt(&u.last_sign_in),
            u.id.clone(),
        ]
    })
}

async fn enable(t: Target, user: String, on: bool) -> anyhow::Result<()> {
    let (dir, ctx) = open(&t).await?;
    print_user(&t, &dir.set_enabled(&ctx, &user, on).await?)
}

async fn set_access(
    t: Target,
    user: String,
    what: Setting,
    value: Option<String>,
    unset: bool,
) -> anyhow::Result<()> {
    let name = match what {
        Setting::Role => "role",
        Setting::Type => "type",
        Setting::Plan => "plan",
    };
    let v = match (value, unset) {
        (Some(v), false) => Some(v),
        (None, true) => None,
        _ => bail!("give a {name}, or --unset to drop the local {name}"),
    };
    let mut change = AccessChange::default();
    match what {
        Setting::Role => change.role = Some(v),
        Setting::Type => change.user_type = Some(v),
        Setting::Plan => change.plan = Some(v),
    }
    let (dir, ctx) = open(&t).await?;
    dir.set_access(&ctx, &user, change).await?;
    print_user(&t, &dir.user_detail(&ctx, &user).await?)
}
