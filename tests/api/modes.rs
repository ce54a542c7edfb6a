//! Unique emails (`unique_emails = true`) over SCIM and the admin API, and
//! the status words `enabled` and `passive` wherever status is filtered.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{admin, root, ACCESS};
use crate::support::{enc, patch_body, TestApp, USER};

const UNIQUE: &str = "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nunique_emails = true\n";

fn with_email(name: &str, email: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "emails": [{"value": email, "type": "work"}]})
}

#[tokio::test]
async fn rule_unique_emails_refuse_a_second_user_with_the_email_over_scim() {
    let app = TestApp::from_toml(UNIQUE).await;
    let ann = app.user_from(with_email("ann", "Ann@Acme.test")).await;
    let bob = app.user_from(with_email("bob", "bob@acme.test")).await;
    let users_before = app.user_names("").await;
    let audit = app.audit_count().await;
    // POST: the same address in another case (Unicode case folding too).
    let r = app
        .post("/scim/v2/Users", &with_email("ann2", "ANN@acme.TEST"))
        .await;
    r.assert_error(409, Some("uniqueness"));
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains(ann["id"].as_str().unwrap()));
    app.user_from(with_email("strasse", "straße@acme.test"))
        .await;
    let r = app
        .post(
            "/scim/v2/Users",
            &with_email("strasse2", "STRASSE@acme.test"),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    let bob_path = format!("/scim/v2/Users/{}", bob["id"].as_str().unwrap());
    // PUT and PATCH giving bob ann's email.
    let r = app
        .put(&bob_path, &with_email("bob", "ann@acme.test"))
        .await;
    r.assert_error(409, Some("uniqueness"));
    let add = patch_body(json!([{"op": "add", "path": "emails",
        "value": [{"value": "ann@ACME.test", "type": "home"}]}]));
    app.patch(&bob_path, &add)
        .await
        .assert_error(409, Some("uniqueness"));
    // Nothing changed.
    assert_eq!(
        app.get(&bob_path).await.body["emails"][0]["value"],
        "bob@acme.test"
    );
    assert_eq!(app.user_names("").await.len(), users_before.len() + 1);
    assert_eq!(app.audit_count().await, audit + 1);
    // A user keeps their own email, twice over too; other changes pass.
    let twice = json!({"schemas": [USER], "userName": "bob", "displayName": "Bob",
        "emails": [{"value": "bob@acme.test", "type": "work"}, {"value": "BOB@acme.test", "type": "home"}]});
    assert_eq!(app.put(&bob_path, &twice).await.status, StatusCode::OK);
    // A deleted user's email is free again.
    let ann_path = format!("/scim/v2/Users/{}", ann["id"].as_str().unwrap());
    assert_eq!(app.delete(&ann_path).await.status, StatusCode::NO_CONTENT);
    let r = app
        .post("/scim/v2/Users", &with_email("ann-new", "ann@acme.test"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn rule_unique_emails_refuse_an_invitation_with_a_taken_email() {
    let app = TestApp::from_toml(UNIQUE).await;
    let (_, token) = root(&app).await;
    app.user_from(with_email("ann", "ann@acme.test")).await;
    let invite = json!({"userName": "ann-again", "email": "Ann@acme.test"});
    let r = admin(&app, &token, Method::POST, "/admin/v1/users", Some(invite)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["error"], "uniqueness");
    assert!(r.body["detail"].as_str().unwrap().contains("unique_emails"));
    assert!(app.user_detail("ann-again").await.is_none());
    let invite = json!({"userName": "guest", "email": "guest@acme.test"});
    let r = admin(&app, &token, Method::POST, "/admin/v1/users", Some(invite)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The invited user's email counts for the IdP too.
    let r = app
        .post("/scim/v2/Users", &with_email("g2", "GUEST@acme.test"))
        .await;
    r.assert_error(409, Some("uniqueness"));
    let t = admin(&app, &token, Method::GET, "/admin/v1/tenant", None).await;
    assert_eq!(t.body["uniqueEmails"], true);
}

#[tokio::test]
async fn rule_without_unique_emails_users_may_share_an_email() {
    let app = TestApp::new().await;
    app.user_from(with_email("ann", "shared@acme.test")).await;
    let r = app
        .post("/scim/v2/Users", &with_email("bob", "shared@acme.test"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// A user in every status (the bootstrap super-admin too); admin
/// credentials of the super-admin.
async fn every_status(app: &TestApp) -> String {
    let (_, token) = root(app).await;
    let created = app.user("created@acme.test").await;
    let active = app.user("active@acme.test").await;
    let path = format!("/admin/v1/users/{active}/sign-in");
    assert_eq!(
        app.call(Method::POST, &path, None).await.status,
        StatusCode::OK
    );
    let disabled = app.user("disabled@acme.test").await;
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/scim/v2/Users/{disabled}"), &off).await;
    let banned = app.user("banned@acme.test").await;
    let ban = format!("/admin/v1/users/{banned}/ban");
    admin(
        app,
        &token,
        Method::POST,
        &ban,
        Some(json!({"reason": "r"})),
    )
    .await;
    let invite = json!({"userName": "invited@acme.test"});
    admin(app, &token, Method::POST, "/admin/v1/users", Some(invite)).await;
    let gone = app.user("deleted@acme.test").await;
    app.delete(&format!("/scim/v2/Users/{gone}")).await;
    assert_eq!(
        app.user_detail(&created).await.unwrap()["status"],
        "created"
    );
    token
}

async fn listed(app: &TestApp, token: &str, status: &str) -> Vec<String> {
    let path = format!("/admin/v1/users?status={status}&page_size=100");
    let r = admin(app, token, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut names: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn rule_enabled_means_invited_created_or_active_and_passive_means_disabled() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    let token = every_status(&app).await;
    // The admin API (and so the console's status filter).
    assert_eq!(
        listed(&app, &token, "enabled").await,
        [
            "active@acme.test",
            "created@acme.test",
            "invited@acme.test",
            "root@acme.test"
        ]
    );
    assert_eq!(
        listed(&app, &token, "passive").await,
        ["disabled@acme.test"]
    );
    assert_eq!(
        listed(&app, &token, "passive,banned").await,
        ["banned@acme.test", "disabled@acme.test"]
    );
    let r = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/users?status=asleep",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["detail"].as_str().unwrap().contains("enabled"));
    // SCIM: the access extension's status is filterable, words included.
    let on = &app;
    let scim = |f: String| async move {
        let mut n = on.user_names(&format!("filter={}", enc(&f))).await;
        n.sort();
        n
    };
    assert_eq!(
        scim(format!("{ACCESS}:status eq \"enabled\"")).await,
        [
            "active@acme.test",
            "created@acme.test",
            "invited@acme.test",
            "root@acme.test"
        ]
    );
    assert_eq!(
        scim(format!("{ACCESS}:status eq \"Passive\"")).await,
        ["disabled@acme.test"]
    );
    assert_eq!(
        scim(format!("{ACCESS}:status ne \"enabled\"")).await,
        ["banned@acme.test", "disabled@acme.test"]
    );
    assert_eq!(
        scim(format!(
            "{ACCESS}:status eq \"banned\" or userName eq \"root@acme.test\""
        ))
        .await,
        ["banned@acme.test", "root@acme.test"]
    );
    // The console's status filter offers the words.
    let params = rollcall::directory::admin::UserListParams {
        status: Some("passive".into()),
        ..Default::default()
    };
    let page = app
        .directory
        .user_list_entries(&app.operator(), &params)
        .await;
    assert_eq!(page.unwrap().total, 1);
}

#[tokio::test]
async fn rule_the_command_line_lists_by_status_word() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    every_status(&app).await;
    let out = crate::cli::ok(
        &app.url,
        &[
            "user", "list", "--tenant", "acme", "--status", "passive", "--json",
        ],
    );
    let page: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["userName"], "disabled@acme.test");
    let out = crate::cli::ok(
        &app.url,
        &["user", "list", "--tenant", "acme", "--status", "enabled"],
    );
    assert!(
        out.contains("created@acme.test") && !out.contains("banned@acme.test"),
        "{out}"
    );
}
