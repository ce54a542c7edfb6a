//! Console sign-in through the tenant's identity provider
//! (`http/console/oidc.rs`, `directory/console_oidc.rs`): the router
//! in-process against the real npm `oidc-provider` (`tests/oidc/provider.mjs`,
//! its console client `rollcall-console` requires PKCE); the test plays the
//! browser through the provider's pages.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::oauth::{setup_node, Provider};
use crate::server::request;
use crate::support::{enc, Resp, TestApp, USER};
use rollcall::directory::console_oidc::ConsoleOidc;
use rollcall::directory::oauth::Keyring;
use rollcall::directory::sign_in::SignInVerifier;
use rollcall::directory::DirectoryConfig;

const ROLES: &str = "https://rollcall.test/roles";
const CALLBACK: &str = "http://127.0.0.1/console/oidc/callback";

/// A console app whose `[[oidc]]` entry for `acme` has the console client
/// of the provider at `issuer`, role mapping as in the example config.
async fn app(issuer: &str, jit: bool) -> TestApp {
    TestApp::with_directory(directory_config(issuer, jit)).await
}

/// The directory of a tenant whose `[[oidc]]` entry has a console client.
fn directory_config(issuer: &str, jit: bool) -> DirectoryConfig {
    let text = format!(
        r#"
[tenants.acme]
super_admins = ["root@acme.test"]

[[role_mapping]]
name = "Hub admins"
match = {{ role = "datalore-admin" }}
set = {{ role = "admin" }}

[[oidc]]
tenant = "acme"
issuer = "{issuer}"
name = "Test IdP"
client_id = "rollcall-console"
client_secret = "c0nsole-s3cret"
roles_claim = "{ROLES}"
scopes = ["email", "profile", "roles"]
jit = {jit}
"#
    );
    let cfg: rollcall::config::Config = toml::from_str(&text).unwrap();
    cfg.validate().unwrap();
    let keyring = Keyring::new(
        cfg.oidc.iter().map(|o| o.issuer.clone()),
        std::time::Duration::from_secs(1),
        rollcall::directory::oauth::DEFAULT_MAX_KEY_AGE,
    )
    .unwrap();
    let sign_in = SignInVerifier::new(cfg.oidc.clone(), Arc::new(keyring)).unwrap();
    DirectoryConfig {
        policy: Arc::new(cfg.policy()),
        sign_in: Arc::new(sign_in),
        console_oidc: Arc::new(ConsoleOidc::new(&cfg.oidc).unwrap()),
        ..Default::default()
    }
}

fn start_provider(dir: &tempfile::TempDir) -> Provider {
    setup_node();
    Provider::start(0, &dir.path().join("keys.json"))
}

/// The provider's account `id` with these claims.
fn account(p: &Provider, id: &str, claims: Value) {
    let path = format!(
        "/test/account?account={}&claims={}",
        enc(id),
        enc(&claims.to_string())
    );
    let r = request(addr(&p.issuer), "GET", &path, &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
}

fn addr(url: &str) -> &str {
    let rest = url.trim_start_matches("http://");
    rest.split('/').next().unwrap()
}

/// A request to the console from a browser at `http://127.0.0.1`.
fn get(path: &str, cookies: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder().uri(path).header("host", "127.0.0.1");
    if !cookies.is_empty() {
        let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        b = b.header("cookie", c.join("; "));
    }
    b.body(Body::empty()).unwrap()
}

/// The value a `Set-Cookie` gives.
fn cookie_value(set: &str) -> String {
    set.split_once('=')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// A sign-in started in the console: the provider's authorization URL and
/// the browser-binding cookie.
struct Started {
    url: String,
    browser: String,
}

async fn start(app: &TestApp) -> Started {
    let r = app.send(get("/console/oidc/0/start", &[])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let set = r.header("set-cookie").unwrap();
    assert!(set.starts_with("__Host-rollcall-oidc="), "{set}");
    assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Lax"));
    Started {
        url: r.header("location").unwrap(),
        browser: cookie_value(&set),
    }
}

/// Through the provider's pages as a browser: `login` signs in on its login
/// page, or (None) the person declines. The callback path the provider
/// sends the browser back to, with its query.
fn through_provider(url: &str, login: Option<&str>) -> String {
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut location = url.to_string();
    let base = format!("http://{}", addr(url));
    for _ in 0..12 {
        if let Some(rest) = location.strip_prefix(CALLBACK) {
            return format!("/console/oidc/callback{rest}");
        }
        let path = location.strip_prefix(&base).unwrap().to_string();
        let cookie: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let r = request(
            addr(&location),
            "GET",
            &path,
            &[("Cookie".into(), cookie.join("; "))],
            None,
        );
        for (k, v) in &r.headers {
            if k == "set-cookie" {
                let (name, _) = v.split_once('=').unwrap();
                jar.retain(|(n, _)| n != name);
                jar.push((name.to_string(), cookie_value(v)));
            }
        }
        if r.status == 200 && path.starts_with("/interaction/") {
            assert!(r.body.contains("<label for=\"login\">"), "{}", r.body);
            let q = match login {
                Some(l) => format!("?login={}", enc(l)),
                None => "?deny=1".into(),
            };
            location = format!("{base}{}{q}", path.split('?').next().unwrap());
            continue;
        }
        let next = r
            .header("location")
            .unwrap_or_else(|| panic!("{path}: {} {}", r.status, r.body));
        location = if next.starts_with('/') {
            format!("{base}{next}")
        } else {
            next.to_string()
        };
    }
    panic!("the provider never sent the browser back: {location}");
}

/// The callback in the browser that started the sign-in.
async fn callback(app: &TestApp, path: &str, browser: &str) -> Resp {
    app.send(get(path, &[("__Host-rollcall-oidc", browser)]))
        .await
}

/// The whole sign-in of provider account `login`: the callback's answer.
async fn sign_in(app: &TestApp, p: &Provider, login: &str) -> (Resp, String) {
    let s = start(app).await;
    assert!(s.url.starts_with(&p.issuer), "{}", s.url);
    let path = through_provider(&s.url, Some(login));
    (callback(app, &path, &s.browser).await, path)
}

/// The session cookie a successful callback set.
fn session_of(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location").as_deref(), Some("/console/users"));
    let set = r.header("set-cookie").unwrap();
    assert!(set.starts_with("__Host-rollcall-console="), "{set}");
    cookie_value(&set)
}

async fn actions(app: &TestApp) -> Vec<String> {
    let log = app.store.audit_log(&app.tenant).await.unwrap();
    log.iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn seed(app: &TestApp, name: &str) -> String {
    let body = json!({"schemas": [USER], "userName": name, "displayName": name,
        "emails": [{"value": name, "primary": true}]});
    app.user_from(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn verified(email: &str) -> Value {
    json!({"email": email, "email_verified": true, "name": "Bob Stone"})
}

#[tokio::test]
async fn the_sign_in_page_offers_the_provider_and_a_sign_in_opens_a_session_bound_by_iss_and_sub() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let app = app(&p.issuer, false).await;
    let bob = seed(&app, "bob@acme.test").await;
    let page = app.send(get("/console/sign-in", &[])).await;
    assert!(
        page.text.contains(
            "<a class=\"button primary\" href=\"/console/oidc/0/start\">Sign in with Test IdP</a>"
        ),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<form"), "a plain link, not a form");

    account(&p, "bob-sub", verified("bob@acme.test"));
    let (r, _) = sign_in(&app, &p, "bob-sub").await;
    let session = session_of(&r);
    let users = app
        .send(get(
            "/console/users",
            &[("__Host-rollcall-console", &session)],
        ))
        .await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    assert!(users.text.contains("bob@acme.test"));

    // What the console sent: PKCE S256, a state, a nonce, the scopes.
    let sent: Value =
        serde_json::from_str(&request(addr(&p.issuer), "GET", "/test/last-auth", &[], None).body)
            .unwrap();
    assert_eq!(sent["code_challenge_method"], "S256", "{sent}");
    assert_eq!(sent["code_challenge"].as_str().unwrap().len(), 43);
    assert!(sent["state"].as_str().unwrap().len() >= 40);
    assert!(sent["nonce"].as_str().unwrap().len() >= 40);
    assert_eq!(sent["redirect_uri"], CALLBACK);
    assert_eq!(sent["scope"], "openid email profile roles");

    // The identity is bound now: a second sign-in with another email is
    // still Bob's.
    account(&p, "bob-sub", verified("robert@elsewhere.test"));
    let (r, _) = sign_in(&app, &p, "bob-sub").await;
    session_of(&r);
    let log = actions(&app).await;
    assert_eq!(
        log.iter().filter(|a| *a == "console_signed_in").count(),
        2,
        "{log:?}"
    );
    assert_eq!(log.iter().filter(|a| *a == "signed_in").count(), 2);
    let detail = app.user_detail(&bob).await.unwrap();
    assert!(detail["lastSignIn"].is_string(), "{detail}");
}

#[tokio::test]
async fn a_state_is_used_once_and_only_in_the_browser_that_started_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let app = app(&p.issuer, false).await;
    seed(&app, "bob@acme.test").await;
    account(&p, "bob-sub", verified("bob@acme.test"));
    let s = start(&app).await;
    let path = through_provider(&s.url, Some("bob-sub"));
    session_of(&callback(&app, &path, &s.browser).await);
    let before = app.audit_count().await;

    let replay = callback(&app, &path, &s.browser).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.text);
    assert!(replay.text.contains("not under way"), "{}", replay.text);
    assert!(replay.header("set-cookie").is_none());

    for bad in [
        "/console/oidc/callback?code=x&state=never-issued",
        "/console/oidc/callback?code=x",
        "/console/oidc/callback",
    ] {
        let r = callback(&app, bad, &s.browser).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }

    // Another browser (no binding cookie) cannot finish someone's sign-in,
    // and the attempt uses it up.
    let s = start(&app).await;
    let path = through_provider(&s.url, Some("bob-sub"));
    let r = app.send(get(&path, &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("another browser"), "{}", r.text);
    let r = callback(&app, &path, &s.browser).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // A sign-in under way lasts 10 minutes.
    let s = start(&app).await;
    let path = through_provider(&s.url, Some("bob-sub"));
    app.clock.advance(10 * 60);
    let r = callback(&app, &path, &s.browser).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(app.audit_count().await, before, "nothing changed");
}

#[tokio::test]
async fn a_declined_sign_in_shows_the_providers_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let app = app(&p.issuer, false).await;
    seed(&app, "bob@acme.test").await;
    let before = app.audit_count().await;
    let s = start(&app).await;
    let path = through_provider(&s.url, None);
    assert!(path.contains("error=access_denied"), "{path}");
    let r = callback(&app, &path, &s.browser).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(
        r.text
            .contains("did not sign you in: access_denied (the user declined)"),
        "{}",
        r.text
    );
    assert!(r.header("set-cookie").is_none());
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn unknown_disabled_and_banned_users_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let app = app(&p.issuer, false).await;
    let users_before = app.seats().await;

    account(&p, "stranger", verified("nobody@acme.test"));
    let (r, _) = sign_in(&app, &p, "stranger").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("no user of tenant"), "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(
        app.seats().await,
        users_before,
        "nobody created without jit"
    );
    assert!(!actions(&app)
        .await
        .contains(&"console_sign_in_refused".to_string()));

    let dan = seed(&app, "dan@acme.test").await;
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = app.patch(&format!("/scim/v2/Users/{dan}"), &off).await;
    assert_eq!(r.status, 200, "{}", r.text);
    account(&p, "dan-sub", verified("dan@acme.test"));
    let (r, _) = sign_in(&app, &p, "dan-sub").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("the user is disabled"), "{}", r.text);

    let eve = seed(&app, "eve@acme.test").await;
    app.directory
        .set_ban(&app.operator(), &eve, Some("shared her password".into()))
        .await
        .unwrap();
    account(&p, "eve-sub", verified("eve@acme.test"));
    let (r, _) = sign_in(&app, &p, "eve-sub").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(
        r.text.contains("the user is banned: shared her password"),
        "{}",
        r.text
    );
    let log = actions(&app).await;
    assert_eq!(
        log.iter()
            .filter(|a| *a == "console_sign_in_refused")
            .count(),
        2,
        "{log:?}"
    );
    assert!(!log.contains(&"console_signed_in".to_string()));

    // Deleted after a first sign-in bound the identity: refused by the binding.
    let fay = seed(&app, "fay@acme.test").await;
    account(&p, "fay-sub", verified("fay@acme.test"));
    let (r, _) = sign_in(&app, &p, "fay-sub").await;
    session_of(&r);
    let r = app.delete(&format!("/scim/v2/Users/{fay}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (r, _) = sign_in(&app, &p, "fay-sub").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("the user is deleted"), "{}", r.text);
}

#[tokio::test]
async fn with_jit_a_new_identity_becomes_a_user_with_its_mapped_role() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let app = app(&p.issuer, true).await;
    let mut claims = verified("ann@acme.test");
    claims[ROLES] = json!(["datalore-admin"]);
    account(&p, "ann-sub", claims);
    let (r, _) = sign_in(&app, &p, "ann-sub").await;
    let session = session_of(&r);
    let ann = app.user_detail("ann@acme.test").await.unwrap();
    assert_eq!(ann["role"], "admin", "{ann}");
    // Her console rights are that role's: the admin actions are there.
    let users = app
        .send(get(
            "/console/users",
            &[("__Host-rollcall-console", &session)],
        ))
        .await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.text.contains("Actions"), "{}", users.text);
    let log = actions(&app).await;
    assert!(log.contains(&"created".to_string()), "{log:?}");
    assert!(log.contains(&"console_signed_in".to_string()));
}

/// A loopback HTTP server that answers every request with a redirect to
/// `to`, once per connection, for as long as the test runs.
fn redirector(to: String) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let path = String::from_utf8_lossy(&buf)
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let _ = write!(
                s,
                "HTTP/1.1 302 Found\r\nLocation: {to}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    at
}

#[tokio::test]
async fn an_unreachable_or_redirecting_provider_gets_a_clear_page_and_no_redirect_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    // Discovery answered with a redirect to the real provider: were it
    // followed, the sign-in would start.
    let via = redirector(p.issuer.clone());
    let app = app(&via, false).await;
    let r = app.send(get("/console/oidc/0/start", &[])).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text);
    assert!(r.text.contains("cannot be reached"), "{}", r.text);
    assert!(r.header("set-cookie").is_none());

    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let app = self::app(&closed, false).await;
    let r = app.send(get("/console/oidc/0/start", &[])).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text);
    assert!(r.text.contains(&closed), "{}", r.text);
    let r = app.send(get("/console/oidc/7/start", &[])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

/// An ID token issued to `client` for `account`, with this nonce.
fn id_token(p: &Provider, client: &str, account: &str, nonce: &str) -> String {
    let claims = verified(&format!("{account}@acme.test")).to_string();
    let path = format!(
        "/test/id-token?client={client}&account={account}&nonce={nonce}&claims={}",
        enc(&claims)
    );
    let r = request(addr(&p.issuer), "GET", &path, &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["id_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_console_accepts_only_its_own_clients_tokens_with_the_pending_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let app = app(&p.issuer, false).await;
    let verifier = &app.directory.config.sign_in;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let console = id_token(&p, "rollcall-console", "cat", "nonce-a");
    let ok = verifier
        .verify_console("acme", &p.issuer, &console, "nonce-a", now)
        .await
        .unwrap();
    assert_eq!(ok.subject, "cat");
    let wrong = verifier
        .verify_console("acme", &p.issuer, &console, "nonce-b", now)
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("nonce"), "{wrong}");
    let other = verifier
        .verify_console("acme", "https://other.test/", &console, "nonce-a", now)
        .await;
    assert!(other.is_err(), "the token must be the pending issuer's");
    // A host application's token is not the console client's, and the
    // console client's token is no host sign-in.
    let host = id_token(&p, "host-app", "cat", "nonce-a");
    let aud = verifier
        .verify_console("acme", &p.issuer, &host, "nonce-a", now)
        .await
        .unwrap_err();
    assert!(aud.to_string().contains("aud"), "{aud}");
    assert!(verifier.verify("acme", &console, None, now).await.is_err());
}

#[tokio::test]
async fn a_sign_in_started_on_one_instance_finishes_on_another_and_the_store_holds_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let p = start_provider(&dir);
    let a = app(&p.issuer, false).await;
    let b = TestApp::on(
        tempfile::tempdir().unwrap(),
        &a.url,
        rollcall::http::HttpConfig::default(),
        directory_config(&p.issuer, false),
    )
    .await;
    seed(&a, "bob@acme.test").await;
    account(&p, "bob-sub", verified("bob@acme.test"));
    let s = start(&a).await;
    let path = through_provider(&s.url, Some("bob-sub"));
    // What the store keeps of the sign-in under way: hashes and addresses,
    // not the state, the nonce, the verifier or the browser's cookie.
    let sent: Value =
        serde_json::from_str(&request(addr(&p.issuer), "GET", "/test/last-auth", &[], None).body)
            .unwrap();
    let rows = a.dump_table("console_oidc_pending").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows[0].join(" ");
    for secret in [
        sent["state"].as_str().unwrap(),
        sent["nonce"].as_str().unwrap(),
        &s.browser,
    ] {
        assert!(!row.contains(secret), "{row}");
    }
    // The other instance finishes it, and it is used up for both.
    let r = callback(&b, &path, &s.browser).await;
    session_of(&r);
    let again = callback(&a, &path, &s.browser).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text);
    assert!(a.dump_table("console_oidc_pending").await.is_empty());
}
