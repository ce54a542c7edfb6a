//! The admin console (`http/console/`, `directory/console.rs`): sign-in
//! with a one-time link, sessions and their timeouts, logout, the CSRF and
//! `Origin` checks, the security headers, the actions the guards allow;
//! in-process through the router. `console_in_a_real_browser` walks the
//! screens in Debian's chromium against the real binary.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::support::{patch_body, Resp, TestApp, USER};

mod assets;
mod audit;
mod browser;
mod connections;
mod deprovision;
mod groups;
mod invite;
mod modes;
mod oidc;
mod requests;
mod validity;

const ACCESS: &str = "urn:rollcall:scim:schemas:extension:access:2.0:User";
const ORIGIN: &str = "http://scim.test";
const CONFIG: &str = r#"
plans = ["free", "team"]
[tenants.acme]
super_admins = ["root@acme.test"]
"#;

/// A browser's session in the console: its cookie and its CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn app() -> TestApp {
    TestApp::from_toml(CONFIG).await
}

/// A user with a role (over SCIM, as the IdP sends it); its id.
async fn user(app: &TestApp, name: &str, role: Option<&str>) -> String {
    let mut body = json!({"schemas": [USER], "userName": name, "displayName": name,
        "emails": [{"value": name, "primary": true}]});
    if let Some(r) = role {
        body["schemas"] = json!([USER, ACCESS]);
        body[ACCESS] = json!({"role": r});
    }
    app.user_from(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn operator(app: &TestApp) -> rollcall::directory::Ctx {
    rollcall::directory::Ctx {
        tenant: app.tenant.clone(),
        actor: "cli:test".into(),
        actor_user_id: None,
        source_ip: None,
        request_id: None,
        base_url: String::new(),
        operator: true,
    }
}

/// A one-time sign-in link's secret for `user`.
async fn link(app: &TestApp, user: &str) -> String {
    let l = app.directory.issue_login_link(&operator(app), user).await;
    l.unwrap().secret
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().uri(path).header("host", "scim.test");
    if let Some(c) = cookie {
        b = b.header("cookie", format!("__Host-rollcall-console={c}"));
    }
    b.body(Body::empty()).unwrap()
}

fn post(
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", "scim.test")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header("cookie", format!("__Host-rollcall-console={c}"));
    }
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    b.body(Body::from(body)).unwrap()
}

/// The value of `name="csrf"` in a page.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &html[at + 19..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Sign in with a fresh link for `user`.
async fn sign_in(app: &TestApp, user: &str) -> Browser {
    let secret = link(app, user).await;
    let r = app
        .send(post(
            "/console/login",
            None,
            Some(ORIGIN),
            &[("link", &secret)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location").as_deref(), Some("/console/users"));
    let set = r.header("set-cookie").unwrap();
    let cookie = set
        .strip_prefix("__Host-rollcall-console=")
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let page = app.send(get("/console/users", Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    Browser {
        csrf: csrf_of(&page.text),
        cookie,
    }
}

/// A page, signed in.
async fn page(app: &TestApp, b: &Browser, path: &str) -> Resp {
    app.send(get(path, Some(&b.cookie))).await
}

/// A form posted from the console's own pages.
async fn change(app: &TestApp, b: &Browser, path: &str, form: &[(&str, &str)]) -> Resp {
    let mut f = vec![("csrf", b.csrf.as_str())];
    f.extend_from_slice(form);
    app.send(post(path, Some(&b.cookie), Some(ORIGIN), &f))
        .await
}

#[track_caller]
fn assert_signed_out(r: &Resp) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location").as_deref(), Some("/console/sign-in"));
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let detail = app.user_detail(id).await.unwrap();
    detail["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn console_a_sign_in_link_opens_one_session_and_is_audited() {
    let app = app().await;
    let root = user(&app, "root@acme.test", None).await;
    let secret = link(&app, "root@acme.test").await;
    // The link's page changes nothing: a scanner following it opens nothing.
    let r = app
        .send(get(&format!("/console/login/{secret}"), None))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Sign in as root@acme.test"), "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    let r = app
        .send(post(
            "/console/login",
            None,
            Some(ORIGIN),
            &[("link", &secret)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let cookie = r.header("set-cookie").unwrap();
    for part in [
        "__Host-rollcall-console=rcs_",
        "; Path=/",
        "; Secure",
        "; HttpOnly",
        "; SameSite=Lax",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // Once only.
    let again = app
        .send(post(
            "/console/login",
            None,
            Some(ORIGIN),
            &[("link", &secret)],
        ))
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.text);
    assert!(again.text.contains("not valid"));
    let page = app
        .send(get(&format!("/console/login/{secret}"), None))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .filter(|a| a["objectId"] == root.as_str())
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        actions.contains(&"console_link_issued".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"console_signed_in".to_string()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn console_a_sign_in_link_expires_after_ten_minutes() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let secret = link(&app, "root@acme.test").await;
    app.clock.advance(10 * 60 + 1);
    let r = app
        .send(post(
            "/console/login",
            None,
            Some(ORIGIN),
            &[("link", &secret)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A user who may not sign in gets no link.
    let id = user(&app, "gone@acme.test", None).await;
    app.patch(
        &format!("/scim/v2/Users/{id}"),
        &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    let refused = app
        .directory
        .issue_login_link(&operator(&app), "gone@acme.test")
        .await;
    assert!(refused.unwrap_err().to_string().contains("disabled"));
}

#[tokio::test]
async fn console_refuses_a_change_without_the_sessions_csrf_token() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let other = sign_in(&app, "root@acme.test").await;
    let path = format!("/console/users/{ann}/ban");
    let none = app
        .send(post(
            &path,
            Some(&b.cookie),
            Some(ORIGIN),
            &[("reason", "x")],
        ))
        .await;
    assert_eq!(none.status, StatusCode::FORBIDDEN, "{}", none.text);
    let wrong = [("csrf", other.csrf.as_str()), ("reason", "x")];
    let r = app
        .send(post(&path, Some(&b.cookie), Some(ORIGIN), &wrong))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("security token"), "{}", r.text);
    assert_eq!(status_of(&app, &ann).await, "created", "nothing changed");
    let ok = change(&app, &b, &path, &[("reason", "left the company")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert_eq!(status_of(&app, &ann).await, "banned");
}

#[tokio::test]
async fn console_refuses_a_change_from_another_origin() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let path = format!("/console/users/{ann}/ban");
    let form = [("csrf", b.csrf.as_str()), ("reason", "x")];
    for origin in [Some("http://evil.test"), Some("null"), None] {
        let r = app.send(post(&path, Some(&b.cookie), origin, &form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin:?}: {}", r.text);
        assert!(r.text.contains("Origin"), "{}", r.text);
    }
    assert_eq!(status_of(&app, &ann).await, "created", "nothing changed");
    // Signing in is a change too: another site cannot sign a browser in.
    let secret = link(&app, "root@acme.test").await;
    let r = app
        .send(post(
            "/console/login",
            None,
            Some("http://evil.test"),
            &[("link", &secret)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(post(
            "/console/login",
            None,
            Some(ORIGIN),
            &[("link", &secret)],
        ))
        .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the link was not used up: {}",
        r.text
    );
}

#[tokio::test]
async fn console_a_session_ends_after_thirty_idle_minutes() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    for _ in 0..3 {
        app.clock.advance(29 * 60);
        let r = page(&app, &b, "/console/users").await;
        assert_eq!(r.status, StatusCode::OK, "use keeps the session open");
    }
    app.clock.advance(30 * 60 + 1);
    let r = page(&app, &b, "/console/users").await;
    assert_signed_out(&r);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = page(&app, &b, "/console/seats").await;
    assert_signed_out(&r);
}

#[tokio::test]
async fn console_a_session_ends_twelve_hours_after_sign_in_however_busy() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let mut minutes = 0;
    while minutes + 20 < 12 * 60 {
        app.clock.advance(20 * 60);
        minutes += 20;
        assert_eq!(
            page(&app, &b, "/console/seats").await.status,
            StatusCode::OK,
            "{minutes}"
        );
    }
    app.clock.advance(20 * 60);
    assert_signed_out(&page(&app, &b, "/console/seats").await);
}

#[tokio::test]
async fn console_logout_ends_the_session() {
    let app = app().await;
    let root = user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let r = change(&app, &b, "/console/logout", &[]).await;
    assert_signed_out(&r);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_signed_out(&page(&app, &b, "/console/users").await);
    let again = change(&app, &b, "/console/logout", &[]).await;
    assert_signed_out(&again);
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a["action"] == "console_signed_out" && a["objectId"] == root.as_str()));
}

#[tokio::test]
async fn console_a_disabled_or_deleted_users_session_ends() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let dan = user(&app, "dan@acme.test", Some("admin")).await;
    let eve = user(&app, "eve@acme.test", None).await;
    let d = sign_in(&app, "dan@acme.test").await;
    let e = sign_in(&app, "eve@acme.test").await;
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/scim/v2/Users/{dan}"), &off).await;
    assert_signed_out(&page(&app, &d, "/console/users").await);
    app.delete(&format!("/scim/v2/Users/{eve}")).await;
    assert_signed_out(&page(&app, &e, "/console/users").await);
    // Enabled again, the old session stays ended.
    let on = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    app.patch(&format!("/scim/v2/Users/{dan}"), &on).await;
    assert_signed_out(&page(&app, &d, "/console/users").await);
}

#[tokio::test]
async fn console_a_member_gets_no_admin_actions() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    user(&app, "mia@acme.test", None).await;
    let m = sign_in(&app, "mia@acme.test").await;
    let list = page(&app, &m, "/console/users").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("ann@acme.test"));
    assert!(!list.text.contains(">Actions<"), "no Actions column");
    assert!(!list.text.contains("/ban\""), "no ban form");
    let detail = page(&app, &m, &format!("/console/users/{ann}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        !detail.text.contains("id=\"actions\""),
        "no Actions section"
    );
    let r = change(
        &app,
        &m,
        &format!("/console/users/{ann}/ban"),
        &[("reason", "x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("cannot administer users"), "{}", r.text);
    assert_eq!(status_of(&app, &ann).await, "created");
}

#[tokio::test]
async fn console_actions_the_guards_forbid_are_absent_with_the_reason() {
    let app = TestApp::from_toml(&format!("{CONFIG}allow_local_overrides = true\n")).await;
    let root = user(&app, "root@acme.test", None).await;
    let adm = user(&app, "adm@acme.test", Some("admin")).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let r = sign_in(&app, "root@acme.test").await;
    let mine = page(&app, &r, &format!("/console/users/{root}")).await.text;
    assert!(mine.contains("you cannot disable yourself"), "{mine}");
    assert!(
        !mine.contains(&format!("/console/users/{root}/disable\"")),
        "no disable form"
    );
    let a = sign_in(&app, "adm@acme.test").await;
    let list = page(&app, &a, "/console/users?search=root").await.text;
    assert!(
        list.contains("their role &#34;super-admin&#34; is above your own"),
        "{list}"
    );
    let theirs = page(&app, &a, &format!("/console/users/{ann}")).await.text;
    assert!(
        theirs.contains(&format!("/console/users/{ann}/disable\"")),
        "{theirs}"
    );
    // Change role offers roles up to the admin's own, not above.
    assert!(theirs.contains("<option value=\"admin\""));
    assert!(
        !theirs.contains("<option value=\"super-admin\""),
        "{theirs}"
    );
    let up = change(
        &app,
        &a,
        &format!("/console/users/{ann}/access"),
        &[("role", "super-admin")],
    )
    .await;
    assert_eq!(
        up.status,
        StatusCode::FORBIDDEN,
        "the directory refuses it too"
    );
    let ok = change(
        &app,
        &a,
        &format!("/console/users/{ann}/access"),
        &[("role", "power-user")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let detail = app.user_detail(&ann).await.unwrap();
    assert_eq!(detail["role"], "power-user");
    let _ = adm;
}

#[tokio::test]
async fn console_delete_asks_for_the_username_and_a_successor_then_restore() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let bob = user(&app, "bob@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let form = page(
        &app,
        &b,
        &format!("/console/users/{ann}/delete?successor_search=bob"),
    )
    .await;
    assert!(
        form.text.contains(&format!("<option value=\"{bob}\"")),
        "{}",
        form.text
    );
    let path = format!("/console/users/{ann}/delete");
    let typo = change(&app, &b, &path, &[("successor", &bob), ("confirm", "ann")]).await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST, "{}", typo.text);
    assert_eq!(status_of(&app, &ann).await, "created");
    let ok = change(
        &app,
        &b,
        &path,
        &[("successor", &bob), ("confirm", "ann@acme.test")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let detail = app.user_detail(&ann).await.unwrap();
    assert_eq!(detail["status"], "deleted");
    assert_eq!(detail["deletion"]["successor"]["id"], bob.as_str());
    assert!(
        detail_text(&app, &b, &ann).await.contains("bob@acme.test"),
        "the successor is shown"
    );
    let detail = page(&app, &b, &format!("/console/users/{ann}")).await.text;
    assert!(detail.contains("Restore user"), "{detail}");
    let back = change(&app, &b, &format!("/console/users/{ann}/restore"), &[]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text);
    assert_eq!(status_of(&app, &ann).await, "created");
}

async fn detail_text(app: &TestApp, b: &Browser, id: &str) -> String {
    page(app, b, &format!("/console/users/{id}")).await.text
}

/// Every `<script>` has a `src`; no `style` element or attribute, no
/// `on…=` event handler attribute.
pub fn assert_no_inline_code(html: &str) {
    let lower = html.to_ascii_lowercase();
    for tag in lower.split('<').skip(1).filter_map(|t| t.split('>').next()) {
        let mut words = tag.split_whitespace();
        let name = words.next().unwrap_or("");
        let attrs: Vec<&str> = words.filter_map(|w| w.split('=').next()).collect();
        if name == "script" {
            assert!(attrs.contains(&"src"), "inline script: <{tag}>");
        }
        assert_ne!(name, "style", "a style element");
        for a in attrs {
            assert_ne!(a, "style", "a style attribute: <{tag}>");
            let handler =
                a.len() > 2 && a.starts_with("on") && a.chars().all(|c| c.is_ascii_lowercase());
            assert!(!handler, "an inline event handler: <{tag}>");
        }
    }
}

#[tokio::test]
async fn console_every_response_carries_the_csp_and_no_page_has_inline_code() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let secret = link(&app, "root@acme.test").await;
    let pages = [
        "/".to_string(),
        "/console".into(),
        "/console/users".into(),
        "/console/users?search=ann&status=passive&sort=email&order=desc&page_size=10".into(),
        format!("/console/users/{ann}"),
        format!("/console/users/{ann}/delete"),
        "/console/seats".into(),
        "/console/sign-in".into(),
        format!("/console/login/{secret}"),
        "/console/no-such-page".into(),
        "/console/users/nobody".into(),
        "/console/users?page_size=7".into(),
    ];
    for path in &pages {
        let r = page(&app, &b, path).await;
        let csp = r.header("content-security-policy");
        assert_eq!(csp.as_deref(), Some(rollcall::http::console::CSP), "{path}");
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            r.header("referrer-policy").as_deref(),
            Some("same-origin"),
            "{path}"
        );
        assert_no_inline_code(&r.text);
    }
    assert_eq!(
        page(&app, &b, "/").await.header("location").as_deref(),
        Some("/console")
    );
    assert_eq!(
        page(&app, &b, "/console/users/nobody").await.status,
        StatusCode::NOT_FOUND
    );
    let bad = page(&app, &b, "/console/users?page_size=7").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text.contains("page_size must be 10, 20"),
        "{}",
        bad.text
    );
    let csp = rollcall::http::console::CSP;
    for part in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part));
    }
    assert!(!csp.contains("unsafe"), "no unsafe-inline, no unsafe-eval");
    let users = page(&app, &b, "/console/users").await.text;
    assert!(
        users.contains("\"allowEval\":false"),
        "htmx is told not to eval"
    );
}

#[tokio::test]
async fn console_static_files_have_hashed_names_and_a_long_cache_life() {
    let app = app().await;
    let html = app.send(get("/console/sign-in", None)).await.text;
    for (attr, kind) in [
        ("href=\"/console/static/console.", "text/css"),
        ("src=\"/console/static/htmx.", "text/javascript"),
    ] {
        let at = html
            .find(attr)
            .unwrap_or_else(|| panic!("{attr} in {html}"));
        let start = at + attr.split_once('"').unwrap().0.len() + 1;
        let url = &html[start..start + html[start..].find('"').unwrap()];
        let r = app.send(get(url, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{url}");
        assert!(r.header("content-type").unwrap().starts_with(kind));
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        let name = url.rsplit('/').next().unwrap();
        assert_eq!(
            name.split('.').nth(1).map(str::len),
            Some(16),
            "a content hash: {name}"
        );
    }
    let r = app
        .send(get("/console/static/console.0000000000000000.css", None))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_session_ids_and_link_secrets_are_stored_only_as_hashes() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let secret = link(&app, "root@acme.test").await;
    if crate::support::on_postgres() {
        return;
    }
    for entry in std::fs::read_dir(app._dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&b.cookie), "a session id in the database");
        assert!(!text.contains(&secret), "a link secret in the database");
    }
}

/// Purging a deleted user asks for their userName typed exactly: a typo
/// changes nothing; the exact name erases them for good and returns to
/// the deleted users.
#[tokio::test]
async fn console_purge_asks_for_the_username_then_erases_the_user() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let bob = user(&app, "bob@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let delete = format!("/console/users/{ann}/delete");
    let confirm = [("successor", bob.as_str()), ("confirm", "ann@acme.test")];
    let deleted = change(&app, &b, &delete, &confirm).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text);
    let detail = detail_text(&app, &b, &ann).await;
    assert!(detail.contains("Purge user"), "{detail}");
    let path = format!("/console/users/{ann}/purge");
    let typo = change(&app, &b, &path, &[("confirm", "ann@acme")]).await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST, "{}", typo.text);
    assert!(
        typo.text.contains("type ann@acme.test exactly"),
        "{}",
        typo.text
    );
    assert_eq!(status_of(&app, &ann).await, "deleted", "nothing changed");
    let gone = change(&app, &b, &path, &[("confirm", "ann@acme.test")]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    assert_eq!(
        gone.header("location").as_deref(),
        Some("/console/users?status=deleted")
    );
    assert!(app.user_detail(&ann).await.is_none(), "purged for good");
    let again = change(&app, &b, &path, &[("confirm", "ann@acme.test")]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
}
