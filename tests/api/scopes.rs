//! Scopes on every credential: each scope reaches its endpoints and is
//! refused everywhere else with a 403 naming the scope needed; what an
//! `admin` credential may do follows its user's role, read on every
//! request; a bound credential dies with its user. (The tokens' command
//! line, last use, `[[oauth]]` scopes and the migration: `tokens.rs`.)

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{admin_token, patch_body, scoped_token, Resp, TestApp, USER};

/// Super-admin `root@acme.test`; the group `Admins` makes admins, `Readers`
/// read-only users; everyone else is a member.
const ROLES: &str = r#"
[tenants.acme]
super_admins = ["root@acme.test"]

[[role_mapping]]
name = "Admins"
match = { group = "Admins" }
set = { role = "admin" }

[[role_mapping]]
name = "Readers"
match = { group = "Readers" }
set = { role = "read-only" }
"#;

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
    app.call_as(token, method, path, body.as_ref()).await
}

pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> Resp {
    send(app, token, Method::GET, path, None).await
}

/// A token of the test tenant with exactly these scopes.
async fn with_scopes(app: &TestApp, scopes: &str) -> String {
    scoped_token(&app.store, &app.tenant, None, scopes, scopes).await
}

/// 403 naming the scope, in `WWW-Authenticate` too (RFC 6750).
#[track_caller]
fn names_scope(r: &Resp, scope: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("needs the scope \"{scope}\"")),
        "{detail}"
    );
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains(&format!("scope=\"{scope}\"")),
        "{challenge}"
    );
}

/// Refused on the admin API: the admin error body.
#[track_caller]
pub(crate) fn admin_refused(r: &Resp, scope: &str) {
    names_scope(r, scope);
    assert_eq!(r.body["error"], "insufficient_scope", "{}", r.text);
    assert_eq!(r.body["status"], 403);
}

/// Refused over SCIM: a SCIM Error body.
#[track_caller]
fn scim_refused(r: &Resp, scope: &str) {
    r.assert_error(403, None);
    names_scope(r, scope);
}

#[track_caller]
pub(crate) fn ok(r: &Resp) {
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
}

pub(crate) fn new_user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name})
}

/// The super-admin and admin credentials acting as them.
async fn root(app: &TestApp) -> (String, String) {
    let id = app.user("root@acme.test").await;
    (
        id.clone(),
        admin_token(&app.store, &app.tenant, &id, "root").await,
    )
}

/// A user placed in one of the role groups (None: a member).
async fn person(app: &TestApp, name: &str, group: Option<&str>) -> String {
    let id = app.user(name).await;
    let Some(g) = group else {
        return id;
    };
    let existing = app
        .get(&format!("/scim/v2/Groups?filter=displayName+eq+%22{g}%22"))
        .await;
    match existing.body["Resources"][0]["id"].as_str() {
        Some(gid) => {
            let add =
                patch_body(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
            ok(&app.patch(&format!("/scim/v2/Groups/{gid}"), &add).await);
        }
        None => {
            app.group(g, &[&id]).await;
        }
    }
    id
}

#[tokio::test]
async fn scope_scim_reads_and_writes_scim_and_reaches_no_admin_endpoint() {
    let app = TestApp::new().await;
    let scim = with_scopes(&app, "scim").await;
    let u = app.user("ann@acme.test").await;
    ok(&get(&app, &scim, "/scim/v2/Users").await);
    let r = send(
        &app,
        &scim,
        Method::POST,
        "/scim/v2/Users",
        Some(new_user("bo@acme.test")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    ok(&send(
        &app,
        &scim,
        Method::PATCH,
        &format!("/scim/v2/Users/{u}"),
        Some(off),
    )
    .await);
    admin_refused(&get(&app, &scim, "/admin/v1/events").await, "events");
    admin_refused(&get(&app, &scim, "/admin/v1/audit").await, "audit");
    admin_refused(&get(&app, &scim, "/admin/v1/users").await, "admin");
    let path = format!("/admin/v1/users/{u}/sign-in");
    admin_refused(
        &send(&app, &scim, Method::POST, &path, None).await,
        "sign-in",
    );
    admin_refused(
        &get(&app, &scim, "/admin/v1/invitations/inv_x").await,
        "sign-in",
    );
    // An unbound token asking for the admin API is told how to get one.
    let r = get(&app, &scim, "/admin/v1/tenant").await;
    assert!(r.text.contains("--user"), "{}", r.text);
}

#[tokio::test]
async fn scope_scim_read_gets_and_searches_but_never_writes() {
    let app = TestApp::new().await;
    let read = with_scopes(&app, "scim:read").await;
    let u = app.user("ann@acme.test").await;
    let g = app.group("Eng", &[&u]).await;
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"ann\""});
    ok(&get(&app, &read, "/scim/v2/Users").await);
    ok(&get(&app, &read, &format!("/scim/v2/Users/{u}")).await);
    ok(&get(&app, &read, &format!("/scim/v2/Groups/{g}")).await);
    let r = send(
        &app,
        &read,
        Method::POST,
        "/scim/v2/Users/.search",
        Some(search.clone()),
    )
    .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    ok(&send(&app, &read, Method::POST, "/scim/v2/.search", Some(search)).await);
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "DELETE", "path": format!("/Users/{u}")}]});
    let user_path = format!("/scim/v2/Users/{u}");
    for (method, path, body) in [
        (
            Method::POST,
            "/scim/v2/Users",
            Some(new_user("bo@acme.test")),
        ),
        (Method::PATCH, user_path.as_str(), Some(off)),
        (
            Method::PUT,
            user_path.as_str(),
            Some(new_user("ann@acme.test")),
        ),
        (Method::DELETE, user_path.as_str(), None),
        (Method::POST, "/scim/v2/Bulk", Some(bulk)),
    ] {
        scim_refused(&send(&app, &read, method, path, body).await, "scim");
    }
    let r = app.get(&format!("/scim/v2/Users/{u}")).await;
    assert_eq!(r.status, StatusCode::OK, "not deleted");
    assert_ne!(r.body["active"], false, "not deactivated");
    assert_eq!(
        app.user_names("").await,
        vec!["ann@acme.test"],
        "none added"
    );
    admin_refused(&get(&app, &read, "/admin/v1/events").await, "events");
}

/// A feed's scope reads its feed (`field` of its first item is `first`)
/// and nothing else: not the other feed, not the admin API, not SCIM.
async fn reaches_only_its_feed(scope: &str, path: &str, field: (&str, &str), other: &str) {
    let app = TestApp::new().await;
    let token = with_scopes(&app, scope).await;
    app.user("ann@acme.test").await;
    let r = get(&app, &token, path).await;
    ok(&r);
    let list = if scope == "events" { "events" } else { "items" };
    assert_eq!(r.body[list][0][field.0], field.1, "{}", r.text);
    let other_path = format!("/admin/v1/{other}");
    admin_refused(&get(&app, &token, &other_path).await, other);
    admin_refused(&get(&app, &token, "/admin/v1/users").await, "admin");
    admin_refused(&get(&app, &token, "/admin/v1/seats").await, "admin");
    scim_refused(&get(&app, &token, "/scim/v2/Users").await, "scim:read");
}

#[tokio::test]
async fn scope_events_reads_the_feed_and_nothing_else() {
    reaches_only_its_feed(
        "events",
        "/admin/v1/events",
        ("type", "user.created"),
        "audit",
    )
    .await;
}

#[tokio::test]
async fn scope_audit_reads_the_trail_and_nothing_else() {
    reaches_only_its_feed("audit", "/admin/v1/audit", ("action", "created"), "events").await;
}

#[tokio::test]
async fn scope_sign_in_reports_sign_ins_and_accepts_invitations_only() {
    let app = TestApp::from_toml(ROLES).await;
    let (root_id, _) = root(&app).await;
    let root = scoped_token(&app.store, &app.tenant, Some(&root_id), "admin", "console").await;
    let host = with_scopes(&app, "sign-in").await;
    let u = app.user("ann@acme.test").await;
    let r = send(
        &app,
        &host,
        Method::POST,
        &format!("/admin/v1/users/{u}/sign-in"),
        None,
    )
    .await;
    assert_eq!(r.body["allowed"], true, "{}", r.text);
    let r = send(
        &app,
        &root,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "new@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let link = r.body["inviteLink"].as_str().unwrap().to_string();
    let scim = with_scopes(&app, "scim,events,audit").await;
    admin_refused(&get(&app, &scim, &link).await, "sign-in");
    admin_refused(&get(&app, &root, &link).await, "sign-in");
    // Sign-in provisioning from an ID token is the host's report too: other
    // scopes are refused before the token is even looked at.
    let id_token = Some(json!({"idToken": "not-even-a-jwt"}));
    for other in [&scim, &root] {
        let r = send(
            &app,
            other,
            Method::POST,
            "/admin/v1/sign-in",
            id_token.clone(),
        )
        .await;
        admin_refused(&r, "sign-in");
    }
    let r = send(&app, &host, Method::POST, "/admin/v1/sign-in", id_token).await;
    assert_ne!(
        r.status,
        StatusCode::FORBIDDEN,
        "sign-in reaches it: {}",
        r.text
    );
    ok(&get(&app, &host, &link).await);
    let r = send(&app, &host, Method::POST, &format!("{link}/accept"), None).await;
    assert_eq!(r.body["status"], "active", "{}", r.text);
    admin_refused(&get(&app, &host, "/admin/v1/users").await, "admin");
    admin_refused(&get(&app, &host, "/admin/v1/events").await, "events");
    scim_refused(&get(&app, &host, "/scim/v2/Users").await, "scim:read");
}

#[tokio::test]
async fn scope_admin_acts_as_its_user_and_reaches_nothing_else() {
    let app = TestApp::from_toml(ROLES).await;
    let (root_id, _) = root(&app).await;
    let adm = scoped_token(&app.store, &app.tenant, Some(&root_id), "admin", "console").await;
    ok(&get(&app, &adm, "/admin/v1/users").await);
    let r = send(
        &app,
        &adm,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"registrations": false})),
    )
    .await;
    ok(&r);
    admin_refused(&get(&app, &adm, "/admin/v1/audit").await, "audit");
    admin_refused(&get(&app, &adm, "/admin/v1/events").await, "events");
    let path = format!("/admin/v1/users/{root_id}/sign-in");
    admin_refused(
        &send(&app, &adm, Method::POST, &path, None).await,
        "sign-in",
    );
    let r = get(&app, &adm, "/scim/v2/Users").await;
    scim_refused(&r, "scim:read");
    assert!(
        r.text.contains("provisioning uses a tenant token"),
        "{}",
        r.text
    );
    // The change is audited as the user, through the credential.
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last["action"], "tenant_changed");
    assert_eq!(last["actor"], "user:root@acme.test (token:console)");
}

#[tokio::test]
async fn role_matrix_members_see_the_directory_read_only_users_see_nothing_admins_act() {
    let app = TestApp::from_toml(ROLES).await;
    let (root_id, _) = root(&app).await;
    let member = person(&app, "mia@acme.test", None).await;
    let reader = person(&app, "rey@acme.test", Some("Readers")).await;
    let admin = person(&app, "ada@acme.test", Some("Admins")).await;
    let g = app.group("Eng", &[&member]).await;
    let m = admin_token(&app.store, &app.tenant, &member, "m").await;
    let r = admin_token(&app.store, &app.tenant, &reader, "r").await;
    let a = admin_token(&app.store, &app.tenant, &admin, "a").await;
    let sees = [
        "/admin/v1/users".to_string(),
        format!("/admin/v1/users/{root_id}"),
        "/admin/v1/groups".to_string(),
        format!("/admin/v1/groups/{g}"),
        "/admin/v1/roles".to_string(),
    ];
    let admin_reads = [
        "/admin/v1/tenant".to_string(),
        "/admin/v1/seats".to_string(),
        "/admin/v1/transfers".to_string(),
        "/admin/v1/deprovision-jobs".to_string(),
        format!("/admin/v1/users/{root_id}/access"),
    ];
    for path in &sees {
        let list = get(&app, &m, path).await;
        ok(&list);
        let refused = get(&app, &r, path).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "read-only sees nothing: {path}"
        );
        assert!(refused.text.contains("member or above"), "{}", refused.text);
        ok(&get(&app, &a, path).await);
    }
    assert_eq!(get(&app, &m, "/admin/v1/users").await.body["total"], 4);
    for path in &admin_reads {
        let r = get(&app, &m, path).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "members: no admin pages: {path}"
        );
        assert_eq!(r.body["error"], "forbidden");
        ok(&get(&app, &a, path).await);
    }
    // An invitation's state names the user's email: admins only.
    let ivy = json!({"userName": "ivy@acme.test", "email": "ivy@acme.test"});
    let inv = send(&app, &a, Method::POST, "/admin/v1/users", Some(ivy)).await;
    assert_eq!(inv.status, StatusCode::CREATED, "{}", inv.text);
    let state = "/admin/v1/users/ivy@acme.test/invitation";
    let r = get(&app, &m, state).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "members: {}", r.text);
    ok(&get(&app, &a, state).await);
    // Members take no action; admins act, below their own rank only.
    let ban = |id: &str| format!("/admin/v1/users/{id}/ban");
    let why = Some(json!({"reason": "test"}));
    let r = send(&app, &m, Method::POST, &ban(&reader), why.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("admin or above"), "{}", r.text);
    let r = send(&app, &a, Method::POST, &ban(&root_id), why.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "above their own rank: {}",
        r.text
    );
    ok(&send(&app, &a, Method::POST, &ban(&reader), why).await);
    assert_eq!(app.user_detail(&reader).await.unwrap()["status"], "banned");
}

#[tokio::test]
async fn the_role_of_a_credentials_user_is_read_on_every_request() {
    let app = TestApp::from_toml(ROLES).await;
    root(&app).await;
    let u = person(&app, "mia@acme.test", None).await;
    let token = admin_token(&app.store, &app.tenant, &u, "m").await;
    let r = get(&app, &token, "/admin/v1/seats").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a member: {}", r.text);
    // Joining Admins makes her an admin: the same token now reaches it …
    let admins = app.group("Admins", &[&u]).await;
    ok(&get(&app, &token, "/admin/v1/seats").await);
    // … and leaving makes her a member again at once.
    let rm = patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]));
    ok(&app.patch(&format!("/scim/v2/Groups/{admins}"), &rm).await);
    let r = get(&app, &token, "/admin/v1/seats").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// The app, root's credentials, the admin `ada` and her credentials
/// (labelled `ada-console`).
async fn with_an_admin() -> (TestApp, String, String, String) {
    let app = TestApp::from_toml(ROLES).await;
    let (_, root) = root(&app).await;
    let u = person(&app, "ada@acme.test", Some("Admins")).await;
    let token = admin_token(&app.store, &app.tenant, &u, "ada-console").await;
    (app, root, u, token)
}

#[tokio::test]
async fn a_bound_credential_is_refused_while_its_user_cannot_sign_in_and_dies_with_them() {
    let (app, root, u, token) = with_an_admin().await;
    let feed = scoped_token(&app.store, &app.tenant, Some(&u), "events", "ada-feed").await;
    ok(&get(&app, &token, "/admin/v1/users").await);
    ok(&get(&app, &feed, "/admin/v1/events").await);
    // Disabled by the IdP: every request is 401, reads included …
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    ok(&app.patch(&format!("/scim/v2/Users/{u}"), &off).await);
    for (t, path) in [(&token, "/admin/v1/users"), (&feed, "/admin/v1/events")] {
        let r = get(&app, t, path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
        assert_eq!(r.body["error"], "unauthorized");
        assert!(r.text.contains("is disabled"), "{}", r.text);
        assert!(r.header("www-authenticate").is_some());
    }
    // … until the IdP enables the user again.
    let on = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    ok(&app.patch(&format!("/scim/v2/Users/{u}"), &on).await);
    ok(&get(&app, &token, "/admin/v1/users").await);
    // Banned: refused too.
    let ban = format!("/admin/v1/users/{u}/ban");
    ok(&send(
        &app,
        &root,
        Method::POST,
        &ban,
        Some(json!({"reason": "x"})),
    )
    .await);
    let r = get(&app, &token, "/admin/v1/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.text.contains("is banned"), "{}", r.text);
    let unban = format!("/admin/v1/users/{u}/unban");
    ok(&send(&app, &root, Method::POST, &unban, None).await);
    ok(&get(&app, &feed, "/admin/v1/events").await);
    // Deleted over SCIM: the tokens are revoked in the deletion itself.
    let before = app.audit_count().await;
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{u}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = get(&app, &token, "/admin/v1/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.text.contains("invalid or revoked"), "{}", r.text);
    let tokens = app.store.list_tokens(Some("acme")).await.unwrap();
    let bound: Vec<_> = tokens
        .iter()
        .filter(|t| t.user_id.as_deref() == Some(u.as_str()))
        .collect();
    assert_eq!(bound.len(), 2);
    assert!(bound.iter().all(|t| t.revoked.is_some()), "revoked at once");
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let revoked: Vec<&Value> = audit[before..]
        .iter()
        .filter(|a| a["action"] == "token_revoked")
        .collect();
    assert_eq!(revoked.len(), 2, "one audit row per token");
    assert!(revoked[0]["description"]
        .as_str()
        .unwrap()
        .contains("was deleted"));
    // A restore brings the user back, not the credentials.
    let restore = format!("/admin/v1/users/{u}/restore");
    ok(&send(&app, &root, Method::POST, &restore, None).await);
    let r = get(&app, &feed, "/admin/v1/events").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn deletion_through_the_admin_api_revokes_too() {
    let (app, root, u, token) = with_an_admin().await;
    let user = format!("/admin/v1/users/{u}");
    ok(&send(&app, &root, Method::DELETE, &user, None).await);
    let r = get(&app, &token, "/admin/v1/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let rec = app.store.list_tokens(Some("acme")).await.unwrap();
    assert!(rec
        .iter()
        .find(|t| t.label == "ada-console")
        .unwrap()
        .revoked
        .is_some());
}
