//! `rollcall group …`: the group list, and one group with a page of its
//! members.

use clap::Subcommand;
use rollcall::directory::admin::{GroupListParams, Paging};
use rollcall::directory::views::{GroupDetail, GroupSummary, MemberView};

use super::output::{opt, page_footer, print_json, print_page, table};
use super::{open, PageArgs, Target};

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
        #[command(flatten)]
        p: PageArgs,
    },
    /// A group and a page of its members.
    Show {
        #[command(flatten)]
        t: Target,
        group: String,
        #[command(flatten)]
        p: PageArgs,
    },
}

pub async fn run(cmd: GroupCommand) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::List {
            t,
            search,
            sort,
            order,
            p,
        } => {
            let params = GroupListParams {
                search,
                sort,
                order,
                page: p.page,
                page_size: p.page_size,
            };
            list(t, params).await
        }
        GroupCommand::Show { t, group, p } => {
            let (dir, ctx) = open(&t).await?;
            let paging = Paging::parse(p.page.as_deref(), p.page_size.as_deref())?;
            let g = dir.group_detail(&ctx, &group, paging).await?;
            if t.json {
                return print_json(&g);
            }
            show(&g)
        }
    }
}

async fn list(t: Target, params: GroupListParams) -> anyhow::Result<()> {
    let (dir, ctx) = open(&t).await?;
    let page = dir.list_groups(&ctx, &params).await?;
    let headers = [
        "DISPLAY NAME",
        "MEMBERS",
        "EXTERNAL ID",
        "LAST MODIFIED",
        "ID",
    ];
    print_page(&t, &page, "groups", &headers, |g: &GroupSummary| {
        vec![
            g.display_name.clone(),
            g.members.to_string(),
            opt(&g.external_id),
            g.last_modified.clone(),
            g.id.clone(),
        ]
    })
}

/// The group's card, its grants, and the table of its members.
fn show(g: &GroupDetail) -> anyhow::Result<()> {
    let card = [
        ("id", g.id.clone()),
        ("displayName", g.display_name.clone()),
        ("externalId", opt(&g.external_id)),
        ("created", g.created.clone()),
        ("lastModified", g.last_modified.clone()),
    ];
    for (key, value) in card {
        println!("{key:<13} {value}");
    }
    for grant in &g.grants {
        println!("{:<13} {}", "grants", serde_json::to_string(grant)?);
    }
    let rows: Vec<Vec<String>> = g.members.items.iter().map(member_row).collect();
    println!();
    print!("{}", table(&["MEMBER", "TYPE", "STATUS", "ID"], &rows));
    println!("{}", page_footer(&g.members, "members"));
    Ok(())
}

fn member_row(m: &MemberView) -> Vec<String> {
    vec![opt(&m.name), m.kind.clone(), opt(&m.status), m.id.clone()]
}
