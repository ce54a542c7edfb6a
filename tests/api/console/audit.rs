//! The Audit log screen (`http/console/audit.rs`, `directory/audit.rs`):
//! DataStream's columns, each filter, cursor pages without duplicates or
//! gaps, the CSV and JSONL exports (parsed back, formulas neutralised, the
//! filter honoured, streamed past one store page), a member's 403, bad
//! values as 400 pages; and the admin API's `GET /audit/export`.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::groups::{cells, href_of};
use super::{app, page, post, sign_in, user, Browser, ORIGIN};
use crate::support::{enc, Resp, TestApp};
use rollcall::directory::audit::COLUMNS;
use rollcall::directory::deprovision::csv_rows;

const IP: &str = "203.0.113.7";

/// Root (super-admin) signed in, and ann; their ids.
async fn setup(app: &TestApp) -> (Browser, String, String) {
    let root = user(app, "root@acme.test", None).await;
    let ann = user(app, "ann@acme.test", None).await;
    (sign_in(app, "root@acme.test").await, root, ann)
}

/// Ban a user from the console, from a known IP.
async fn ban_from_ip(app: &TestApp, b: &Browser, id: &str, reason: &str) {
    let mut req = post(
        &format!("/console/users/{id}/ban"),
        Some(&b.cookie),
        Some(ORIGIN),
        &[("csrf", &b.csrf), ("reason", reason)],
    );
    let addr: SocketAddr = format!("{IP}:50000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let r = app.send(req).await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text);
}

/// The audit rows of the tenant, as the store has them, oldest first.
async fn stored(app: &TestApp) -> Vec<Value> {
    app.store.audit_log(&app.tenant).await.unwrap()
}

#[track_caller]
fn assert_all(r: &Resp, label: &str, want: &str) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = cells(&r.text, label);
    assert!(!got.is_empty(), "some rows for {label} = {want}");
    assert!(got.iter().all(|c| c == want), "{label}: {got:?}");
}

#[tokio::test]
async fn console_the_audit_log_shows_datastreams_columns() {
    let app = app().await;
    let (b, root, ann) = setup(&app).await;
    ban_from_ip(&app, &b, &ann, "Left the company").await;
    let p = page(&app, &b, "/console/audit").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("aria-current=\"page\">Audit log</a>"));
    for label in [
        "Email",
        "User IP",
        "User ID",
        "Object Type",
        "Object",
        "Action",
        "Action Description",
        "Date",
    ] {
        assert!(
            p.text.contains(&format!("<th scope=\"col\">{label}</th>")),
            "{label}"
        );
    }
    // Newest first: the ban is the first row.
    assert_eq!(cells(&p.text, "Action")[0], "banned");
    assert_eq!(cells(&p.text, "Email")[0], "root@acme.test");
    assert_eq!(cells(&p.text, "User IP")[0], IP);
    assert_eq!(cells(&p.text, "User ID")[0], root);
    assert_eq!(cells(&p.text, "Object Type")[0], "User");
    assert_eq!(cells(&p.text, "Object")[0], "ann@acme.test");
    assert!(cells(&p.text, "Action Description")[0].contains("Left the company"));
    assert!(cells(&p.text, "Date")[0].ends_with(" UTC"));
    // A SCIM write has no acting user: its principal and no user id.
    let created = cells(&p.text, "Action")
        .iter()
        .position(|a| a == "created")
        .unwrap();
    assert!(cells(&p.text, "Email")[created].starts_with("token:"));
    assert_eq!(cells(&p.text, "User ID")[created], "—");
    super::assert_no_inline_code(&p.text);
}

#[tokio::test]
async fn console_each_audit_filter_narrows_the_log() {
    let app = app().await;
    let (b, root, ann) = setup(&app).await;
    ban_from_ip(&app, &b, &ann, "x").await;
    app.group("Ops", &[&ann]).await;
    assert_all(
        &page(&app, &b, "/console/audit?action=banned").await,
        "Action",
        "banned",
    );
    assert_all(
        &page(&app, &b, "/console/audit?object_type=Group").await,
        "Object Type",
        "Group",
    );
    let by_object = page(&app, &b, &format!("/console/audit?object_id={ann}")).await;
    assert_all(&by_object, "Object", "ann@acme.test");
    // The acting user by email, userName or id.
    for key in ["root@acme.test", root.as_str()] {
        let r = page(&app, &b, &format!("/console/audit?user={}", enc(key))).await;
        assert_all(&r, "User ID", &root);
    }
    let nobody = page(&app, &b, "/console/audit?user=ann%40acme.test").await;
    assert!(nobody.text.contains("No entries"), "{}", nobody.text);
    assert!(cells(&nobody.text, "Action").is_empty());
    // Dates: a later day's entry, then each side of it.
    app.clock.advance(2 * 86_400);
    app.user("late@acme.test").await;
    let b = sign_in(&app, "root@acme.test").await;
    let rows = stored(&app).await;
    let late_day = &rows.last().unwrap()["at"].as_str().unwrap()[..10];
    let first_day = &rows[0]["at"].as_str().unwrap()[..10];
    let since = page(&app, &b, &format!("/console/audit?since={late_day}")).await;
    let objects = cells(&since.text, "Object");
    assert!(
        objects.contains(&"late@acme.test".to_string()),
        "{objects:?}"
    );
    assert!(
        !objects.contains(&"ann@acme.test".to_string()),
        "{objects:?}"
    );
    let until = page(&app, &b, &format!("/console/audit?until={first_day}")).await;
    let objects = cells(&until.text, "Object");
    assert!(
        objects.contains(&"ann@acme.test".to_string()),
        "{objects:?}"
    );
    assert!(
        !objects.contains(&"late@acme.test".to_string()),
        "the day of until is the last: {objects:?}"
    );
    // Filters combine, and the form shows them.
    let both = page(
        &app,
        &b,
        &format!("/console/audit?action=created&object_type=User&since={late_day}"),
    )
    .await;
    assert_all(&both, "Object", "late@acme.test");
    assert!(both.text.contains("name=\"action\" value=\"created\""));
    assert!(both.text.contains("<option value=\"User\" selected>"));
}

/// The rows of every page from `start`, following the link named `text`.
async fn walk(app: &TestApp, b: &Browser, start: &str, text: &str) -> (Vec<Vec<String>>, String) {
    let mut pages = Vec::new();
    let mut at = start.to_string();
    loop {
        let p = page(app, b, &at).await;
        assert_eq!(p.status, StatusCode::OK, "{at}: {}", p.text);
        pages.push(cells(&p.text, "Object"));
        match href_of(&p.text, text) {
            Some(next) => {
                assert!(
                    next.contains("action=created") && next.contains("page_size=10"),
                    "{next}"
                );
                at = next;
            }
            None => return (pages, at),
        }
    }
}

#[tokio::test]
async fn console_audit_cursor_pages_have_no_duplicates_or_gaps_both_ways() {
    let app = app().await;
    let (b, _, _) = setup(&app).await;
    for i in 1..=24 {
        app.user(&format!("u{i:02}@acme.test")).await;
    }
    let want: Vec<String> = stored(&app)
        .await
        .iter()
        .rev()
        .filter(|e| e["action"] == "created")
        .map(|e| e["objectName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(want.len(), 26);
    let (older, last) = walk(
        &app,
        &b,
        "/console/audit?action=created&page_size=10",
        "Older entries",
    )
    .await;
    assert_eq!(older.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 6]);
    assert_eq!(older.concat(), want, "newest first, each once");
    assert!(last.contains("cursor="), "the URL keeps the cursor: {last}");
    // Back again with Newer entries, from the last page: the same pages.
    let (newer, _) = walk(&app, &b, &last, "Newer entries").await;
    let mut back = newer.clone();
    back.reverse();
    assert_eq!(back, older);
    // The cursor is opaque and a shared URL shows the same page.
    assert!(!last
        .split("cursor=")
        .nth(1)
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_digit()));
    let again = page(&app, &b, &last).await;
    assert_eq!(cells(&again.text, "Object"), older[2]);
    assert!(again.text.contains(">Newest entries</a>"));
    // Before the first entry there is nothing, and a way back.
    let before_all = page(&app, &b, "/console/audit?cursor=by4w").await;
    assert_eq!(before_all.status, StatusCode::OK, "{}", before_all.text);
    assert!(before_all.text.contains("No entries"));
    let newer = href_of(&before_all.text, "Newer entries").unwrap();
    let from_start = page(&app, &b, &newer).await;
    assert_eq!(from_start.status, StatusCode::OK, "{}", from_start.text);
    assert!(!cells(&from_start.text, "Action").is_empty());
}

#[track_caller]
fn assert_download(r: &Resp, content_type: &str, ext: &str) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type").as_deref(), Some(content_type));
    let cd = r.header("content-disposition").unwrap();
    assert!(cd.starts_with("attachment; filename=\"audit-acme-"), "{cd}");
    assert!(cd.ends_with(&format!(".{ext}\"")), "{cd}");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn console_the_csv_export_is_the_filter_with_formulas_neutralised() {
    let app = app().await;
    let (b, _, ann) = setup(&app).await;
    for name in [
        "=cmd@acme.test",
        "+sum@acme.test",
        "-minus@acme.test",
        "@at@acme.test",
    ] {
        app.user(name).await;
    }
    ban_from_ip(&app, &b, &ann, "=HYPERLINK(\"http://evil.test\")").await;
    let p = page(&app, &b, "/console/audit?action=created").await;
    let link = href_of(&p.text, "Export CSV").unwrap();
    assert_eq!(link, "/console/audit/export?action=created&format=csv");
    let r = page(&app, &b, &link).await;
    assert_download(&r, "text/csv; charset=utf-8", "csv");
    let rows = csv_rows(&r.text).unwrap();
    let header: Vec<&str> = COLUMNS.iter().map(|(h, _)| *h).collect();
    assert_eq!(rows[0], header);
    let at = |h: &str| header.iter().position(|x| *x == h).unwrap();
    let body = &rows[1..];
    let want: Vec<Value> = stored(&app)
        .await
        .into_iter()
        .filter(|e| e["action"] == "created")
        .collect();
    assert_eq!(body.len(), want.len(), "every created entry, nothing else");
    assert!(body.iter().all(|row| row[at("action")] == "created"));
    let names: Vec<&str> = body
        .iter()
        .map(|row| row[at("object_name")].as_str())
        .collect();
    for n in [
        "'=cmd@acme.test",
        "'+sum@acme.test",
        "'-minus@acme.test",
        "'@at@acme.test",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    // Oldest first, as the store has them.
    let ids: Vec<i64> = body
        .iter()
        .map(|row| row[at("id")].parse().unwrap())
        .collect();
    let want_ids: Vec<i64> = want.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, want_ids);
    // The ban's description starts with "=" in no cell.
    let banned = page(&app, &b, "/console/audit/export?format=csv&action=banned").await;
    let rows = csv_rows(&banned.text).unwrap();
    assert_eq!(rows.len(), 2, "{}", banned.text);
    assert!(
        rows[1].iter().all(|c| !c.starts_with(['=', '+', '-', '@'])),
        "{:?}",
        rows[1]
    );
}

#[tokio::test]
async fn console_the_jsonl_export_parses_back_and_honours_the_filter() {
    let app = app().await;
    let (b, root, ann) = setup(&app).await;
    ban_from_ip(&app, &b, &ann, "gone").await;
    app.group("Ops", &[&ann]).await;
    let p = page(&app, &b, &format!("/console/audit?user={root}")).await;
    let link = href_of(&p.text, "Export JSONL").unwrap();
    let r = page(&app, &b, &link).await;
    assert_download(&r, "application/x-ndjson", "jsonl");
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want: Vec<Value> = stored(&app)
        .await
        .into_iter()
        .filter(|e| e["actorUserId"] == root.as_str())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(
        lines, want,
        "the same entries, fields and order as the store's"
    );
    let groups = page(
        &app,
        &b,
        "/console/audit/export?format=jsonl&object_type=Group",
    )
    .await;
    let kinds: Vec<Value> = groups
        .text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["objectType"].clone())
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k == "Group"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn console_an_export_streams_past_one_store_page() {
    let app = app().await;
    let (b, _, _) = setup(&app).await;
    let page_size = rollcall::directory::audit::EXPORT_PAGE as usize;
    for i in 0..page_size + 5 {
        app.user(&format!("bulk{i:04}@acme.test")).await;
    }
    let r = page(&app, &b, "/console/audit/export?format=jsonl").await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<i64> = r
        .text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let want: Vec<i64> = stored(&app)
        .await
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(want.len() > page_size);
    assert_eq!(ids, want, "every entry once, in order");
    let csv = page(&app, &b, "/console/audit/export?format=csv").await;
    assert_eq!(csv_rows(&csv.text).unwrap().len(), want.len() + 1);
}

#[tokio::test]
async fn console_a_member_gets_no_audit_log() {
    let app = app().await;
    setup(&app).await;
    user(&app, "mia@acme.test", None).await;
    let m = sign_in(&app, "mia@acme.test").await;
    let users = page(&app, &m, "/console/users").await;
    assert!(!users.text.contains("/console/audit"), "no nav item");
    for path in ["/console/audit", "/console/audit/export?format=csv"] {
        let r = page(&app, &m, path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(r.text.contains("cannot administer users"), "{}", r.text);
        assert!(!r.text.contains("ann@acme.test"));
    }
}

#[tokio::test]
async fn console_bad_audit_filter_values_are_a_clear_400_page() {
    let app = app().await;
    let (b, _, _) = setup(&app).await;
    let cases = [
        ("/console/audit?since=yesterday", "must be a date"),
        ("/console/audit?until=2026-13-45", "must be a date"),
        (
            "/console/audit?cursor=not-a-cursor",
            "is not one this log gave",
        ),
        ("/console/audit?cursor=MTIz", "is not one this log gave"),
        (
            "/console/audit?page_size=7",
            "page_size must be 10, 20, 50 or 100",
        ),
        (
            "/console/audit?page_size=ten",
            "page_size must be 10, 20, 50 or 100",
        ),
        (
            "/console/audit/export?format=xml",
            "format must be csv or jsonl",
        ),
        (
            "/console/audit/export?format=csv&since=soon",
            "must be a date",
        ),
    ];
    for (path, words) in cases {
        let r = page(&app, &b, path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert!(r.text.contains(words), "{path}: {}", r.text);
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn admin_api_exports_the_filtered_audit_trail() {
    let app = app().await;
    let (b, root, ann) = setup(&app).await;
    ban_from_ip(&app, &b, &ann, "gone").await;
    let r = app
        .get("/admin/v1/audit/export?format=jsonl&action=banned")
        .await;
    assert_download(&r, "application/x-ndjson", "jsonl");
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["objectId"], ann.as_str());
    let csv = app.get("/admin/v1/audit/export?action=created").await;
    assert_download(&csv, "text/csv; charset=utf-8", "csv");
    assert_eq!(csv_rows(&csv.text).unwrap().len(), 3, "header, root, ann");
    // The page filters by the acting user too.
    let by_user = app.get("/admin/v1/audit?user=root%40acme.test").await;
    assert_eq!(by_user.status, StatusCode::OK, "{}", by_user.text);
    let items = by_user.body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|i| i["actorUserId"] == root.as_str()));
    for bad in [
        "/admin/v1/audit/export?format=xml",
        "/admin/v1/audit/export?since=soon",
        "/admin/v1/audit?until=x",
    ] {
        let r = app.get(bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    // A token without the audit scope may not export.
    let scim_only =
        crate::support::scoped_token(&app.store, &app.tenant, None, "scim", "scim-only").await;
    let r = app
        .call_as(
            &scim_only,
            Method::GET,
            "/admin/v1/audit/export?format=csv",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // And it is in the OpenAPI document.
    let doc = app.get("/admin/v1/openapi.json").await;
    let op = &doc.body["paths"]["/audit/export"]["get"];
    assert!(
        op["responses"]["200"]["content"]["text/csv"].is_object(),
        "{op}"
    );
}
