//! The Groups screen (search, sort by name or members, pages with the
//! total) and a group's page: its members paged, each linked to its own
//! page, and the mapping rules membership of the group feeds, in words.
//! Both read the admin API's views (`GET /admin/v1/groups`, `/groups/{id}`)
//! through the same `Directory` methods.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format::{role_label, status_label, type_label, when};
use super::pages::{Choice, Header, Layout};
use super::session::Signed;
use crate::directory::admin::{GroupListParams, Paging};
use crate::directory::views::{GrantView, GroupDetail, GroupSummary, MemberView, Page};
use crate::http::AppState;

type Html<T> = Result<T, ConsoleError>;

/// The group list's query string, as the browser sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct GroupsQuery {
    search: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `path?k=v&…` with the non-empty values.
fn link(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    match s.finish() {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

impl GroupsQuery {
    fn params(&self) -> GroupListParams {
        GroupListParams {
            search: given(&self.search),
            sort: given(&self.sort),
            order: given(&self.order),
            page: given(&self.page),
            page_size: given(&self.page_size),
        }
    }

    fn href(&self) -> String {
        link(
            "/console/groups",
            &[
                ("search", given(&self.search)),
                ("sort", given(&self.sort)),
                ("order", given(&self.order)),
                ("page", given(&self.page)),
                ("page_size", given(&self.page_size)),
            ],
        )
    }

    fn sort_key(&self) -> String {
        given(&self.sort).unwrap_or_else(|| "displayName".into())
    }

    fn descending(&self) -> bool {
        given(&self.order).as_deref() == Some("desc")
    }

    /// A column header: sorts ascending, then the other way; page 1.
    fn header(&self, label: &'static str, key: &str) -> Header {
        let current = self.sort_key() == key;
        let flip = current && !self.descending();
        Header {
            label,
            href: GroupsQuery {
                sort: Some(key.into()),
                order: Some(if flip { "desc" } else { "asc" }.into()),
                page: None,
                ..self.clone()
            }
            .href(),
            aria_sort: match (current, self.descending()) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            },
        }
    }

    fn at_page(&self, n: i64) -> String {
        GroupsQuery {
            page: Some(n.to_string()),
            ..self.clone()
        }
        .href()
    }
}

/// One row of the group list.
pub(super) struct GroupLine {
    href: String,
    name: String,
    members: String,
    external_id: String,
}

/// `GET /console/groups`.
#[derive(Template, WebTemplate)]
#[template(path = "console/groups.html")]
pub(super) struct GroupsPage {
    layout: Layout,
    search: String,
    sort: String,
    order: String,
    sizes: Vec<Choice>,
    headers: Vec<Header>,
    rows: Vec<GroupLine>,
    total: String,
    page_text: String,
    previous: Option<String>,
    next: Option<String>,
}

/// `GET /console/groups`. An htmx request (the search box) is told the
/// view's clean URL to show.
pub(super) async fn list(
    State(s): State<AppState>,
    signed: Signed,
    Query(q): Query<GroupsQuery>,
) -> Html<([(&'static str, String); 1], GroupsPage)> {
    let page = s.directory.list_groups(&signed.ctx(), &q.params()).await?;
    Ok((
        [("hx-push-url", q.href())],
        groups_page(Layout::of(&signed, "groups"), &q, &page),
    ))
}

fn size_choices(current: i64) -> Vec<Choice> {
    let current = current.to_string();
    ["10", "20", "50", "100"]
        .iter()
        .map(|n| Choice::new(*n, *n, &current))
        .collect()
}

fn count(n: i64, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

fn groups_page(layout: Layout, q: &GroupsQuery, page: &Page<GroupSummary>) -> GroupsPage {
    GroupsPage {
        layout,
        search: given(&q.search).unwrap_or_default(),
        sort: given(&q.sort).unwrap_or_default(),
        order: given(&q.order).unwrap_or_default(),
        sizes: size_choices(page.page_size),
        headers: vec![
            q.header("Name", "displayName"),
            q.header("Members", "members"),
        ],
        rows: page
            .items
            .iter()
            .map(|g| GroupLine {
                href: format!("/console/groups/{}", g.id),
                name: g.display_name.clone(),
                members: g.members.to_string(),
                external_id: g.external_id.clone().unwrap_or_else(|| "None".into()),
            })
            .collect(),
        total: count(page.total, "group", "groups"),
        page_text: format!("Page {} of {}", page.page, page.pages.max(1)),
        previous: (page.page > 1).then(|| q.at_page(page.page - 1)),
        next: (page.page < page.pages).then(|| q.at_page(page.page + 1)),
    }
}

/// The member paging of a group's page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct MembersQuery {
    page: Option<String>,
    page_size: Option<String>,
}

/// A member as a row: users link to their page, groups to theirs.
pub(super) struct MemberLine {
    href: String,
    name: String,
    email: String,
    type_label: String,
    role_label: String,
    status: String,
    status_label: String,
}

/// A mapping rule the group feeds, in words.
pub(super) struct RuleLine {
    name: String,
    says: String,
    applies: bool,
    why: String,
}

/// `GET /console/groups/{id}`.
#[derive(Template, WebTemplate)]
#[template(path = "console/group.html")]
pub(super) struct GroupPage {
    layout: Layout,
    name: String,
    external_id: String,
    created: String,
    last_modified: String,
    total: String,
    sizes: Vec<Choice>,
    members: Vec<MemberLine>,
    rules: Vec<RuleLine>,
    page_text: String,
    previous: Option<String>,
    next: Option<String>,
}

/// `GET /console/groups/{id}?page=&page_size=`.
pub(super) async fn page(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<MembersQuery>,
) -> Html<GroupPage> {
    let paging = Paging::parse(given(&q.page).as_deref(), given(&q.page_size).as_deref())?;
    let g = s.directory.group_detail(&signed.ctx(), &id, paging).await?;
    Ok(group_page(Layout::of(&signed, "groups"), &g))
}

fn group_page(layout: Layout, g: &GroupDetail) -> GroupPage {
    let m = &g.members;
    let at = |n: i64| {
        link(
            &format!("/console/groups/{}", g.id),
            &[
                ("page", Some(n.to_string())),
                ("page_size", Some(m.page_size.to_string())),
            ],
        )
    };
    GroupPage {
        layout,
        name: g.display_name.clone(),
        external_id: g.external_id.clone().unwrap_or_else(|| "None".into()),
        created: when(Some(&g.created)),
        last_modified: when(Some(&g.last_modified)),
        total: count(m.total, "member", "members"),
        sizes: size_choices(m.page_size),
        members: m.items.iter().map(member_line).collect(),
        rules: g
            .grants
            .iter()
            .map(|r| rule_line(&g.display_name, r))
            .collect(),
        page_text: format!("Page {} of {}", m.page, m.pages.max(1)),
        previous: (m.page > 1).then(|| at(m.page - 1)),
        next: (m.page < m.pages).then(|| at(m.page + 1)),
    }
}

fn member_line(m: &MemberView) -> MemberLine {
    let group = m.kind == "Group";
    let status = m.status.clone().unwrap_or_default();
    let or_dash = |v: &Option<String>, f: fn(&str) -> String| {
        v.as_deref().map(f).unwrap_or_else(|| "—".into())
    };
    MemberLine {
        href: if group {
            format!("/console/groups/{}", m.id)
        } else {
            format!("/console/users/{}", m.id)
        },
        name: m
            .display_name
            .clone()
            .or_else(|| m.name.clone())
            .unwrap_or_else(|| m.id.clone()),
        email: m.email.clone().unwrap_or_default(),
        type_label: if group {
            "Group".into()
        } else {
            or_dash(&m.user_type, type_label)
        },
        role_label: or_dash(&m.role, role_label),
        status_label: if status.is_empty() {
            "—".into()
        } else {
            status_label(&status)
        },
        status,
    }
}

/// "Members of Engineering get role Admin, type User and plan team."
fn rule_line(group: &str, r: &GrantView) -> RuleLine {
    let mut gets: Vec<String> = Vec::new();
    if let Some(role) = &r.role {
        gets.push(format!("role {}", role_label(role)));
    }
    if let Some(t) = &r.user_type {
        gets.push(format!("type {}", type_label(t)));
    }
    if let Some(p) = &r.plan {
        gets.push(format!("plan {p}"));
    }
    for (project, role) in &r.projects {
        gets.push(format!("project {project}: {}", role_label(role)));
    }
    let gets = match gets.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "nothing".into(),
    };
    let mut why = Vec::new();
    if !r.also_requires.is_empty() {
        why.push(format!("only when also {}", r.also_requires.join(" and ")));
    }
    if !r.overridden_by.is_empty() {
        why.push(format!(
            "overridden by {} (a later rule wins)",
            r.overridden_by.join(", ")
        ));
    }
    RuleLine {
        name: format!("{} (rule {} of the policy)", r.rule, r.position),
        says: format!("Members of {group} get {gets}."),
        applies: r.applies,
        why: if why.is_empty() {
            "Applies to every member, unless an admin or the identity provider set the value."
                .into()
        } else {
            format!("Does not apply on membership alone: {}.", why.join("; "))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_as_a_sentence() {
        let r = GrantView {
            rule: "eng".into(),
            position: 2,
            applies: false,
            also_requires: vec!["userType is \"Contractor\"".into()],
            overridden_by: vec![],
            user_type: Some("viewer".into()),
            role: Some("power-user".into()),
            plan: Some("team".into()),
            projects: Default::default(),
        };
        let l = rule_line("Engineering", &r);
        assert_eq!(
            l.says,
            "Members of Engineering get role Power User, type Viewer and plan team."
        );
        assert!(l.why.contains("only when also userType is \"Contractor\""));
        assert_eq!(l.name, "eng (rule 2 of the policy)");
    }

    #[test]
    fn the_group_list_link_keeps_the_view() {
        let q = GroupsQuery {
            search: Some("eng".into()),
            page_size: Some("10".into()),
            ..Default::default()
        };
        assert_eq!(q.href(), "/console/groups?search=eng&page_size=10");
        let h = q.header("Name", "displayName");
        assert_eq!(h.aria_sort, "ascending");
        assert!(h.href.contains("order=desc"));
        assert!(q.at_page(2).ends_with("page=2&page_size=10"));
    }
}
