//! The Groups screen and a group's page (`http/console/groups.rs`): the
//! list with search, sort and pages; the members paged, each linked to its
//! page; the mapping rules the group feeds, in words, with whether each
//! applies; the same rules in `GET /admin/v1/groups/{id}`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::{page, sign_in, user, Browser, ACCESS};
use crate::support::{admin_token, TestApp, USER};

const CONFIG: &str = r#"
plans = ["free", "team"]
[tenants.acme]
super_admins = ["root@acme.test"]

[[role_mapping]]
name = "eng-power"
match = { group = "Engineering" }
set = { role = "power-user" }

[[role_mapping]]
name = "eng-contractors"
match = { group = "Engineering", user_type = "Contractor" }
set = { type = "viewer" }

[[role_mapping]]
name = "eng-admins"
match = { group = "Engineering" }
set = { role = "admin" }

[[role_mapping]]
name = "eng-plan"
match = { group_external_id = "00gENG" }
set = { plan = "team" }

[[role_mapping]]
name = "sales"
match = { group = "Sales" }
set = { role = "member" }
"#;

async fn app() -> TestApp {
    TestApp::from_toml(CONFIG).await
}

/// The text between `data-label="{label}">` and `</td>` of each row.
pub(super) fn cells(html: &str, label: &str) -> Vec<String> {
    let marker = format!("data-label=\"{label}\">");
    html.split(&marker)
        .skip(1)
        .map(|rest| unescape(rest[..rest.find("</td>").unwrap()].trim()))
        .collect()
}

/// The text of a cell's link, without the tag.
fn link_text(cell: &str) -> String {
    let start = cell.find('>').map(|i| i + 1).unwrap_or(0);
    let end = cell.rfind("</a>").unwrap_or(cell.len());
    cell[start..end].to_string()
}

/// The target of the link named `text`, unescaped.
pub(super) fn href_of(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let tail = &html[start..end];
    Some(unescape(&tail[..tail.find('"')?]))
}

/// HTML text as it reads (the escapes the templates write).
pub(super) fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

async fn admin(app: &TestApp) -> Browser {
    user(app, "root@acme.test", None).await;
    sign_in(app, "root@acme.test").await
}

#[tokio::test]
async fn console_groups_are_listed_searched_sorted_and_paged_with_the_total() {
    let app = app().await;
    let b = admin(&app).await;
    for i in 1..=23 {
        app.group(&format!("Team {i:02}"), &[]).await;
    }
    let ann = user(&app, "ann@acme.test", None).await;
    app.group("Engineering", &[&ann]).await;
    let first = page(&app, &b, "/console/groups?page_size=10").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first
        .text
        .contains("<label for=\"search\">Search groups</label>"));
    assert!(first.text.contains("24 groups"), "the total");
    assert!(first.text.contains("Page 1 of 3"));
    assert!(
        first.text.contains("aria-current=\"page\">Groups</a>"),
        "the nav entry"
    );
    let names: Vec<String> = cells(&first.text, "Name")
        .iter()
        .map(|c| link_text(c))
        .collect();
    assert_eq!(names[0], "Engineering", "sorted by name: {names:?}");
    assert_eq!(names[1], "Team 01");
    assert_eq!(names.len(), 10);
    // The pages together hold every group once.
    let mut seen = names.clone();
    let mut next = href_of(&first.text, "Next page");
    while let Some(n) = next {
        assert!(n.contains("page_size=10"), "the link keeps the view: {n}");
        let p = page(&app, &b, &n).await;
        seen.extend(cells(&p.text, "Name").iter().map(|c| link_text(c)));
        next = href_of(&p.text, "Next page");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (24, 24), "{seen:?}");
    // Descending by name, and by member count.
    let desc = page(&app, &b, "/console/groups?sort=displayName&order=desc").await;
    let names = cells(&desc.text, "Name");
    assert_eq!(link_text(&names[0]), "Team 23");
    assert!(desc.text.contains("aria-sort=\"descending\""));
    let by_members = page(&app, &b, "/console/groups?sort=members&order=desc").await;
    assert_eq!(
        link_text(&cells(&by_members.text, "Name")[0]),
        "Engineering"
    );
    assert_eq!(cells(&by_members.text, "Members")[0], "1");
    // Search by name.
    let found = page(&app, &b, "/console/groups?search=engin").await;
    assert_eq!(cells(&found.text, "Name").len(), 1);
    assert!(found.text.contains("1 group<"));
    assert_eq!(
        found.header("hx-push-url").as_deref(),
        Some("/console/groups?search=engin")
    );
    // A bad parameter is a readable 400 page.
    let bad = page(&app, &b, "/console/groups?page_size=7").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("page_size must be 10"), "{}", bad.text);
    let bad = page(&app, &b, "/console/groups?sort=color").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn console_a_groups_members_are_paged_and_each_links_to_its_page() {
    let app = app().await;
    let b = admin(&app).await;
    let mut ids = Vec::new();
    for i in 1..=23 {
        let name = format!("m{i:02}@acme.test");
        let mut body = json!({"schemas": [USER], "userName": name, "displayName": format!("Member {i:02}"),
            "emails": [{"value": name, "primary": true}]});
        if i == 1 {
            body["schemas"] = json!([USER, ACCESS]);
            body[ACCESS] = json!({"type": "viewer"});
        }
        ids.push(
            app.user_from(body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let sub = app.group("Sub team", &[]).await;
    let mut with_sub = refs.clone();
    with_sub.push(&sub);
    let g = app.group("Crew", &with_sub).await;
    let first = page(&app, &b, &format!("/console/groups/{g}?page_size=10")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.text.contains("24 members"), "the total");
    assert!(first.text.contains("Page 1 of 3"));
    for label in ["Name", "Email", "Type", "Role", "Status"] {
        assert!(
            first
                .text
                .contains(&format!("<th scope=\"col\">{label}</th>")),
            "{label}"
        );
    }
    let mut links = Vec::new();
    let mut emails = Vec::new();
    let mut at = Some(format!("/console/groups/{g}?page_size=10"));
    while let Some(path) = at {
        let p = page(&app, &b, &path).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text);
        links.extend(cells(&p.text, "Name"));
        emails.extend(cells(&p.text, "Email"));
        at = href_of(&p.text, "Next page");
    }
    assert_eq!(links.len(), 24, "every member once");
    for id in &ids {
        let href = format!("href=\"/console/users/{id}\"");
        assert_eq!(
            links.iter().filter(|l| l.contains(&href)).count(),
            1,
            "{id}"
        );
    }
    assert!(
        links
            .iter()
            .any(|l| l.contains(&format!("/console/groups/{sub}"))),
        "the nested group links to its page"
    );
    assert!(emails.contains(&"m07@acme.test".to_string()));
    // Type, role and status of a user member.
    let one = page(&app, &b, &format!("/console/groups/{g}?page_size=100")).await;
    let names: Vec<String> = cells(&one.text, "Name")
        .iter()
        .map(|c| link_text(c))
        .collect();
    let at = names.iter().position(|n| n == "Member 01").unwrap();
    assert_eq!(cells(&one.text, "Type")[at], "Viewer");
    assert_eq!(cells(&one.text, "Role")[at], "Read Only");
    assert!(cells(&one.text, "Status")[at].contains("Created"));
    let sub_at = names.iter().position(|n| n == "Sub team").unwrap();
    assert_eq!(cells(&one.text, "Type")[sub_at], "Group");
    // An unknown group is a 404 page; a bad page a 400 one.
    let none = page(&app, &b, "/console/groups/no-such-group").await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.text);
    let bad = page(&app, &b, &format!("/console/groups/{g}?page=0")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

#[tokio::test]
async fn console_a_group_shows_the_mapping_rules_it_feeds_in_words() {
    let app = app().await;
    let b = admin(&app).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let r = app
        .post(
            "/scim/v2/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering", "externalId": "00gENG", "members": [{"value": ann}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let eng = r.body["id"].as_str().unwrap().to_string();
    let other = app.group("Finance", &[]).await;
    let p = page(&app, &b, &format!("/console/groups/{eng}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let text = unescape(&p.text);
    let rules = &text[text.find("Mapping rules").unwrap()..text.find("id=\"members\"").unwrap()];
    assert!(
        rules.contains("Members of Engineering get role Power User."),
        "{rules}"
    );
    assert!(
        rules.contains("overridden by eng-admins (a later rule wins)"),
        "{rules}"
    );
    assert!(
        rules.contains("Members of Engineering get type Viewer."),
        "{rules}"
    );
    assert!(
        rules.contains("only when also userType is \"Contractor\""),
        "{rules}"
    );
    assert!(
        rules.contains("Members of Engineering get role Admin."),
        "{rules}"
    );
    assert!(
        rules.contains("Members of Engineering get plan team."),
        "by externalId: {rules}"
    );
    assert!(!rules.contains("Sales"), "a rule of another group: {rules}");
    assert_eq!(rules.matches(">Applies<").count(), 2, "{rules}");
    assert_eq!(rules.matches(">Conditional<").count(), 2, "{rules}");
    let none = page(&app, &b, &format!("/console/groups/{other}")).await;
    assert!(none.text.contains("No mapping rule looks at this group"));
    // The admin API shows the same rules.
    let root = app
        .directory
        .live_user(&app.tenant, "root@acme.test")
        .await
        .unwrap()
        .unwrap();
    let token = admin_token(&app.store, &app.tenant, &root.id, "console-test").await;
    let api = app
        .call_as(
            &token,
            Method::GET,
            &format!("/admin/v1/groups/{eng}"),
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    let grants = api.body["grants"].as_array().unwrap();
    let names: Vec<&str> = grants.iter().map(|g| g["rule"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["eng-power", "eng-contractors", "eng-admins", "eng-plan"]
    );
    assert_eq!(grants[0]["applies"], false);
    assert_eq!(grants[0]["overriddenBy"], json!(["eng-admins"]));
    assert_eq!(
        grants[1]["alsoRequires"],
        json!(["userType is \"Contractor\""])
    );
    assert_eq!(grants[2]["applies"], true);
    assert_eq!(grants[2]["position"], 3);
    let members = api.body["members"]["items"].as_array().unwrap();
    assert_eq!(members[0]["email"], "ann@acme.test");
    assert_eq!(members[0]["role"], "admin");
    assert_eq!(members[0]["userType"], "user");
}

#[tokio::test]
async fn console_a_member_sees_the_groups_but_not_the_audit_log() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let mia = user(&app, "mia@acme.test", None).await;
    let g = app.group("Sales", &[&mia]).await;
    let m = sign_in(&app, "mia@acme.test").await;
    let list = page(&app, &m, "/console/groups").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains(">Groups</a>"));
    assert!(
        !list.text.contains(">Audit log</a>"),
        "no audit nav item for a member"
    );
    let detail = page(&app, &m, &format!("/console/groups/{g}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert!(detail.text.contains("Members of Sales get role Member."));
    super::assert_no_inline_code(&detail.text);
    super::assert_no_inline_code(&list.text);
}
