//! The Users screen (search, filters, sort, pages, per-row actions), the
//! delete page with its successor picker, and Seats. Each handler reads
//! the admin API's views through the same `Directory` methods and builds
//! what the template prints.

use axum::extract::{Path, Query, State};

use super::error::ConsoleError;
use super::format::{role_label, status_label, type_label, when, ListQuery, STATUS_CHOICES};
use super::pages::{
    Choice, Control, DeletePage, Header, Layout, Row, SeatLine, SeatsPage, UsersPage,
};
use super::session::Signed;
use crate::directory::admin::UserListParams;
use crate::directory::views::{Page, SeatUsage, UserActions, UserListEntry};
use crate::http::AppState;

type Html<T> = Result<T, ConsoleError>;

/// The columns: label and the admin API's sort key.
const COLUMNS: [(&str, &str); 6] = [
    ("Name", "displayName"),
    ("Email", "email"),
    ("Type", "type"),
    ("Role", "role"),
    ("Status", "status"),
    ("Last login", "lastSignIn"),
];

/// `GET /console/users`. An htmx request (the search box, a filter) is told
/// the view's clean URL to show.
pub(super) async fn list(
    State(s): State<AppState>,
    signed: Signed,
    Query(q): Query<ListQuery>,
) -> Html<([(&'static str, String); 1], UsersPage)> {
    let ctx = signed.ctx();
    let page = s.directory.user_list_entries(&ctx, &q.params()).await?;
    let roles = s.directory.role_catalog(&ctx.tenant).await?;
    let role_names: Vec<String> = roles.into_iter().map(|r| r.name).collect();
    let layout = Layout::of(&signed, "users");
    let mut html = users_page(layout, &q, &page, &role_names);
    html.invite_header = super::invite::header(&s, &signed).await?;
    html.notice = read_only_notice(&s, &ctx.tenant);
    Ok(([("hx-push-url", q.href())], html))
}

fn users_page(
    layout: Layout,
    q: &ListQuery,
    page: &Page<UserListEntry>,
    roles: &[String],
) -> UsersPage {
    let here = q.href();
    let (status, user_type, role) = (q.value("status"), q.value("type"), q.value("role"));
    let mut role_choices = vec![Choice::new("", "All", &role)];
    role_choices.extend(
        roles
            .iter()
            .map(|r| Choice::new(r.as_str(), role_label(r), &role)),
    );
    let size = match q.value("page_size") {
        s if s.is_empty() => page.page_size.to_string(),
        s => s,
    };
    UsersPage {
        return_to: here.clone(),
        search: q.value("search"),
        group: q.value("group"),
        sort: q.value("sort"),
        order: q.value("order"),
        statuses: STATUS_CHOICES
            .iter()
            .map(|(v, l)| Choice::new(*v, *l, &status))
            .collect(),
        types: [("", "All"), ("user", "User"), ("viewer", "Viewer")]
            .iter()
            .map(|(v, l)| Choice::new(*v, *l, &user_type))
            .collect(),
        roles: role_choices,
        sizes: ["10", "20", "50", "100"]
            .iter()
            .map(|n| Choice::new(*n, *n, &size))
            .collect(),
        headers: COLUMNS
            .iter()
            .map(|(label, key)| Header {
                label,
                href: q.sorted_by(key),
                aria_sort: q.aria_sort(key),
            })
            .collect(),
        rows: page.items.iter().map(row).collect(),
        total: match page.total {
            1 => "1 user".into(),
            n => format!("{n} users"),
        },
        page_text: format!("Page {} of {}", page.page, page.pages.max(1)),
        previous: (page.page > 1).then(|| q.at_page(page.page - 1)),
        next: (page.page < page.pages).then(|| q.at_page(page.page + 1)),
        invite_header: None,
        notice: None,
        layout,
    }
}

/// A read-only directory says so on top of its pages.
pub(super) fn read_only_notice(s: &AppState, tenant: &crate::store::Tenant) -> Option<String> {
    (s.directory.directory_mode(tenant) == crate::directory::modes::DirectoryMode::ReadOnly).then(|| {
        "This directory is read-only: users are managed by your identity provider. Change them there; bans stay possible here unless the tenant forbids local holds.".to_string()
    })
}

fn row(e: &UserListEntry) -> Row {
    let u = &e.row;
    let name = u
        .display_name
        .clone()
        .unwrap_or_else(|| u.user_name.clone());
    Row {
        href: format!("/console/users/{}", u.id),
        menu_label: format!("Actions for {name}"),
        menu: menu(&u.id, &e.actions),
        name,
        email: u.email.clone().unwrap_or_default(),
        type_label: type_label(&u.standing.user_type),
        role_label: role_label(&u.standing.role),
        status: u.standing.status.clone(),
        status_label: status_label(&u.standing.status),
        last_login: when(u.last_sign_in.as_deref()),
        owner: e.actions.owner,
    }
}

/// A row's actions menu: Manage user; Disable / Enable user; Ban / Unban
/// user; Delete user (or Restore user). What the directory would refuse
/// shows its reason instead.
fn menu(id: &str, a: &UserActions) -> Vec<Control> {
    let at = |what: &str| format!("/console/users/{id}/{what}");
    let mut out = vec![Control::link("Manage user", format!("/console/users/{id}"))];
    let mut add = |p: &Option<crate::directory::views::Permit>, c: Control| {
        if let Some(p) = p {
            out.push(c.unless(p));
        }
    };
    add(&a.disable, Control::button("Disable user", at("disable")));
    add(&a.enable, Control::button("Enable user", at("enable")));
    add(
        &a.ban,
        Control::input("text", "Ban user", at("ban"), "reason")
            .id(format!("ban-{id}"))
            .labelled("Reason"),
    );
    add(&a.unban, Control::button("Unban user", at("unban")));
    add(&a.delete, Control::link("Delete user", at("delete")));
    add(&a.restore, Control::button("Restore user", at("restore")));
    out
}

/// The successor search on the delete page.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SuccessorSearch {
    successor_search: Option<String>,
}

/// `GET /console/users/{id}/delete`: the successor picker and the typed
/// confirmation.
pub(super) async fn delete_page(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<SuccessorSearch>,
) -> Html<DeletePage> {
    let ctx = signed.ctx();
    let user = s.directory.user_detail(&ctx, &id).await?;
    let search = q.successor_search.unwrap_or_default();
    let candidates = s
        .directory
        .list_users(
            &ctx,
            &UserListParams {
                search: Some(search.clone()).filter(|s| !s.trim().is_empty()),
                status: Some("created,active,invited".into()),
                page_size: Some("50".into()),
                ..Default::default()
            },
        )
        .await?;
    let mut successors = vec![Choice::new(
        "",
        "Their manager, else the fallback owner",
        "",
    )];
    successors.extend(
        candidates
            .items
            .iter()
            .filter(|c| c.id != user.user.id)
            .map(|c| Choice::new(c.id.as_str(), successor_label(c), "")),
    );
    let tenant = s.directory.tenant_view(&ctx).await?;
    let title = user
        .display_name
        .clone()
        .unwrap_or_else(|| user.user.user_name.clone());
    Ok(DeletePage {
        layout: Layout::of(&signed, "users"),
        return_to: format!("/console/users/{id}"),
        action: format!("/console/users/{id}/delete"),
        back: format!("/console/users/{id}"),
        user_name: user.user.user_name,
        title,
        search,
        successors,
        retention_days: tenant.retention_days,
    })
}

fn successor_label(c: &crate::directory::views::UserRow) -> String {
    match &c.display_name {
        Some(n) => format!("{n} ({})", c.user_name),
        None => c.user_name.clone(),
    }
}

/// `GET /console/seats`.
pub(super) async fn seats(State(s): State<AppState>, signed: Signed) -> Html<SeatsPage> {
    let seats = s.directory.seats(&signed.ctx()).await?;
    let line = |kind, u: &SeatUsage| SeatLine {
        kind,
        used: u.used,
        limit: u
            .limit
            .map(|l| l.to_string())
            .unwrap_or_else(|| "No limit".into()),
        left: u
            .limit
            .map(|l| (l - u.used).max(0).to_string())
            .unwrap_or_else(|| "Unlimited".into()),
    };
    Ok(SeatsPage {
        layout: Layout::of(&signed, "seats"),
        lines: vec![line("Users", &seats.users), line("Viewers", &seats.viewers)],
    })
}
