//! Invitations that stay secret: links expire and work once, a resend
//! kills the old link, a withdrawal kills the open one; the link shows in
//! the inviting admin's answer only (never in an event, an audit row, a log
//! line or the database); with `[email]` the invitation goes out through a
//! real SMTP server (aiosmtpd on loopback).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{admin, root, ACME};
use crate::server::{request, token, HttpResponse, Server};
use crate::support::{admin_token, Resp, TestApp};

/// The ACME config with top-level settings before it and tables after it.
async fn app_with(top: &str, tables: &str) -> TestApp {
    TestApp::from_toml(&format!("{top}\n{ACME}\n{tables}")).await
}

async fn invite(app: &TestApp, token: &str, body: Value) -> Resp {
    let r = admin(app, token, Method::POST, "/admin/v1/users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r
}

fn link_of(r: &Resp) -> String {
    r.body["inviteLink"].as_str().unwrap().to_string()
}

/// An app (with `top` settings), its root's admin token, and one
/// invitation for `user_name`: its link and the user's id.
async fn one_invitation(top: &str, user_name: &str) -> (TestApp, String, String, String) {
    let app = app_with(top, "").await;
    let (_, token) = root(&app).await;
    let r = invite(&app, &token, json!({ "userName": user_name })).await;
    let (link, id) = (link_of(&r), r.body["id"].as_str().unwrap().to_string());
    (app, token, link, id)
}

/// `POST` (resend) or `DELETE` (withdraw) `/admin/v1/users/{id}/invitation`.
async fn user_invitation(app: &TestApp, token: &str, method: Method, id: &str) -> Resp {
    let path = format!("/admin/v1/users/{id}/invitation");
    admin(app, token, method, &path, None).await
}

async fn user_status(app: &TestApp, token: &str, id: &str) -> Resp {
    let path = format!("/admin/v1/users/{id}");
    admin(app, token, Method::GET, &path, None).await
}

async fn accept(app: &TestApp, token: &str, link: &str) -> Resp {
    admin(app, token, Method::POST, &format!("{link}/accept"), None).await
}

async fn state(app: &TestApp, token: &str, user: &str) -> Value {
    let r = admin(
        app,
        token,
        Method::GET,
        &format!("/admin/v1/users/{user}/invitation"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[track_caller]
fn assert_gone(r: &Resp, why: &str) {
    assert_eq!(r.status, StatusCode::GONE, "{}", r.text);
    assert_eq!(r.body["error"], "gone");
    assert!(
        r.body["detail"].as_str().unwrap().contains(why),
        "the detail says why ({why}): {}",
        r.text
    );
}

#[tokio::test]
async fn links_expire_after_invitation_ttl_hours() {
    let app = app_with("invitation_ttl_hours = 2", "").await;
    let (_, token) = root(&app).await;
    let r = invite(&app, &token, json!({"userName": "late@acme.test"})).await;
    let (link, id) = (link_of(&r), r.body["id"].as_str().unwrap().to_string());
    let expires = r.body["inviteExpiresAt"].as_str().unwrap().to_string();
    assert_eq!(
        state(&app, &token, &id).await["expiresAt"],
        expires.as_str()
    );
    app.clock.advance(3600);
    let r = admin(&app, &token, Method::GET, &link, None).await;
    assert_eq!(r.status, StatusCode::OK, "an hour in, it works: {}", r.text);
    app.clock.advance(3600);
    assert_gone(
        &admin(&app, &token, Method::GET, &link, None).await,
        "expired",
    );
    assert_gone(&accept(&app, &token, &link).await, "expired");
    assert_eq!(state(&app, &token, &id).await["state"], "expired");
    let r = user_status(&app, &token, &id).await;
    assert_eq!(
        r.body["status"], "invited",
        "an expired link changes nobody"
    );
    // A fresh link works again.
    let r = user_invitation(&app, &token, Method::POST, &id).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = accept(&app, &token, &link_of(&r)).await;
    assert_eq!(r.body["allowed"], true, "{}", r.text);
}

#[tokio::test]
async fn a_link_works_once_and_a_forged_one_is_not_found() {
    let (app, token, link, id) = one_invitation("", "once@acme.test").await;
    let r = accept(&app, &token, &link).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{}",
        r.text
    );
    assert_gone(&accept(&app, &token, &link).await, "accepted already");
    assert_gone(
        &admin(&app, &token, Method::GET, &link, None).await,
        "works once",
    );
    let s = state(&app, &token, &id).await;
    assert_eq!(s["state"], "accepted");
    assert!(s["endedAt"].is_string(), "{s}");
    let r = accept(&app, &token, "/admin/v1/invitations/inv_forged").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // An active user gets no new invitation.
    let r = user_invitation(&app, &token, Method::POST, &id).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

#[tokio::test]
async fn a_resend_kills_the_old_link_at_once() {
    let (app, token, old, id) = one_invitation("", "again@acme.test").await;
    let audit_before = app.audit_count().await;
    let r = user_invitation(&app, &token, Method::POST, &id).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let new = link_of(&r);
    assert_ne!(new, old);
    assert_eq!(r.body["status"], "invited");
    assert_eq!(
        app.audit_count().await,
        audit_before + 1,
        "the resend is audited"
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert_eq!(audit.last().unwrap()["action"], "reinvited");
    assert_gone(
        &admin(&app, &token, Method::GET, &old, None).await,
        "replaced",
    );
    assert_gone(&accept(&app, &token, &old).await, "newer one");
    let kinds: Vec<String> = app
        .store
        .events(&app.tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    assert!(kinds.contains(&"user.reinvited".to_string()), "{kinds:?}");
    let r = accept(&app, &token, &new).await;
    assert_eq!(r.body["allowed"], true, "{}", r.text);
}

#[tokio::test]
async fn withdrawing_kills_the_open_link_and_leaves_the_user_invited() {
    let (app, token, link, id) = one_invitation("", "nope@acme.test").await;
    let r = user_invitation(&app, &token, Method::DELETE, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "withdrawn");
    assert!(
        r.text.find("inv_").is_none(),
        "no secret in the view: {}",
        r.text
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert_eq!(audit.last().unwrap()["action"], "invitation_withdrawn");
    assert_gone(&accept(&app, &token, &link).await, "withdrawn");
    let r = user_invitation(&app, &token, Method::DELETE, &id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nothing open: {}", r.text);
    let r = user_status(&app, &token, &id).await;
    assert_eq!(r.body["status"], "invited");
    // Deleting the user kills a link too.
    let fresh = link_of(&user_invitation(&app, &token, Method::POST, &id).await);
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_gone(&accept(&app, &token, &fresh).await, "deleted");
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{id}/restore"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_gone(&accept(&app, &token, &fresh).await, "withdrawn");
}

#[tokio::test]
async fn resend_and_withdraw_need_an_admin_ranked_high_enough() {
    let app = app_with("", "").await;
    let (_, root_token) = root(&app).await;
    let admin_id = app.user("it@acme.test").await;
    let r = admin(
        &app,
        &root_token,
        Method::PATCH,
        &format!("/admin/v1/users/{admin_id}/access"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let it = admin_token(&app.store, &app.tenant, &admin_id, "it").await;
    let r = invite(
        &app,
        &root_token,
        json!({"userName": "boss@acme.test", "role": "super-admin"}),
    )
    .await;
    let boss = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/admin/v1/users/{boss}/invitation");
    let before = app.audit_count().await;
    for (who, m) in [
        (it.as_str(), Method::POST),
        (it.as_str(), Method::DELETE),
        (app.token.as_str(), Method::POST),
        (app.token.as_str(), Method::DELETE),
    ] {
        let r = admin(&app, who, m.clone(), &path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {}", r.text);
    }
    assert_eq!(app.audit_count().await, before, "refusals change nothing");
    let r = admin(&app, &it, Method::GET, &path, None).await;
    assert_eq!(r.body["state"], "open", "{}", r.text);
    let r = admin(&app, &root_token, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// Whether `secret` appears in any file of the SQLite database `url` (the
/// main file, its WAL and shared memory).
fn in_sqlite_files(url: &str, secret: &str) -> bool {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return false;
    };
    let path = Path::new(path);
    let dir = path.parent().unwrap();
    let stem = path.file_name().unwrap().to_string_lossy().to_string();
    std::fs::read_dir(dir).unwrap().flatten().any(|e| {
        e.file_name().to_string_lossy().starts_with(&stem)
            && std::fs::read(e.path())
                .map(|b| b.windows(secret.len()).any(|w| w == secret.as_bytes()))
                .unwrap_or(false)
    })
}

/// The real binary on the ACME config, logging at `rust_log`: the
/// server, its database, a tenant token and a super-admin's admin token.
fn acme_server(dir: &tempfile::TempDir, rust_log: &str) -> (Server, String, String, String) {
    let db = crate::support::fresh_database(dir);
    let config = dir.path().join("rollcall.toml");
    std::fs::write(&config, ACME).unwrap();
    let tenant_token = token(&db, "acme");
    let server = Server::start_logging(&db, &["--config", config.to_str().unwrap()], rust_log);
    let user =
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"root@acme.test"}"#;
    let root = call(
        &server.addr,
        &tenant_token,
        "POST",
        "/scim/v2/Users",
        Some(user),
    );
    assert_eq!(root.status, 201, "{}", root.body);
    let root: Value = serde_json::from_str(&root.body).unwrap();
    let out = Command::new(crate::server::bin())
        .args(["token", "create", "--tenant", "acme", "--database", &db])
        .args(["--user", root["id"].as_str().unwrap()])
        .output()
        .unwrap();
    let admin_token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    (server, db, tenant_token, admin_token)
}

/// One JSON request to the real binary.
fn call(addr: &str, t: &str, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
    let h = vec![
        ("Authorization".to_string(), format!("Bearer {t}")),
        ("Content-Type".to_string(), "application/json".to_string()),
    ];
    request(addr, method, path, &h, body)
}

/// A `201` answer's invitation link.
fn link_in(r: &HttpResponse) -> String {
    assert_eq!(r.status, 201, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["inviteLink"].as_str().unwrap().to_string()
}

#[test]
fn no_secret_in_events_audit_logs_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (server, db, tenant, admin) = acme_server(&dir, "debug,sqlx=debug,hyper=debug");
    let call = |t: &str, method: &str, path: &str, body: Option<&str>| {
        call(&server.addr, t, method, path, body)
    };
    let body = r#"{"userName":"secret-keeper@acme.test","email":"secret-keeper@acme.test"}"#;
    let first = link_in(&call(&admin, "POST", "/admin/v1/users", Some(body)));
    let resend = "/admin/v1/users/secret-keeper@acme.test/invitation";
    let second = link_in(&call(&admin, "POST", resend, None));
    for link in [&first, &second] {
        call(&tenant, "GET", link, None);
    }
    // The host accepts (the sign-in scope), as in production.
    assert_eq!(
        call(&tenant, "POST", &format!("{second}/accept"), None).status,
        200
    );
    assert_eq!(
        call(&tenant, "POST", &format!("{first}/accept"), None).status,
        410
    );
    // Filters and searches whose values must stay out of the log, a bad
    // filter (its detail quotes the filter) among them.
    let filter = "/scim/v2/Users?filter=userName%20eq%20%22needle-in-filter%40acme.test%22";
    assert_eq!(call(&tenant, "GET", filter, None).status, 200);
    let bad = "/scim/v2/Users?filter=userName%20xx%20%22needle-in-bad-filter%22";
    assert_eq!(call(&tenant, "GET", bad, None).status, 400);
    let search = "/admin/v1/users?search=needle-in-search&page_size=10";
    assert_eq!(call(&admin, "GET", search, None).status, 200);
    let events = call(&tenant, "GET", "/admin/v1/events", None);
    let audit = call(&tenant, "GET", "/admin/v1/audit", None);
    assert_eq!((events.status, audit.status), (200, 200));
    let secrets = [&first, &second].map(|l| l.rsplit('/').next().unwrap().to_string());
    for s in &secrets {
        assert!(s.starts_with("inv_") && s.len() > 20, "{s}");
    }
    assert!(events.body.contains("user.invited") && events.body.contains("expiresAt"));
    assert!(audit.body.contains("reinvited"), "{}", audit.body);
    assert!(
        !events.body.contains("inv_"),
        "a link in events: {}",
        events.body
    );
    assert!(
        !audit.body.contains("inv_"),
        "a link in the audit: {}",
        audit.body
    );
    // Let the last lines reach the log.
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.contains("route=/admin/v1/invitations/{token}/accept"),
        "requests log their route template: {log}"
    );
    assert!(log.contains("query=filter=[redacted]"), "{log}");
    assert!(log.contains("search=[redacted]&page_size=10"), "{log}");
    // The userName was in a path: the log has the template instead.
    let needles = [
        "inv_",
        "needle-in-filter",
        "needle-in-bad-filter",
        "needle-in-search",
        "secret-keeper",
    ];
    for needle in secrets.iter().map(String::as_str).chain(needles) {
        assert!(!log.contains(needle), "{needle} is in the log:\n{log}");
    }
    for s in &secrets {
        assert!(!in_sqlite_files(&db, s), "the database holds {s} in clear");
    }
}

/// The test venv's python (`conformance/run.sh --setup-only` makes it).
fn venv_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("conformance/.venv/bin/python");
    let setup = "run `conformance/run.sh --setup-only` (scripts/test does it first) to create the test venv with aiosmtpd";
    assert!(python.exists(), "{} is missing: {setup}", python.display());
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "the test venv has no aiosmtpd: {setup}");
    python
}

/// aiosmtpd on a free loopback port, writing each message to `out` as
/// JSON; killed on drop.
struct Sink {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sink {
    fn start(out: &Path, auth: Option<(&str, &str)>) -> Sink {
        use std::io::BufRead;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let mut cmd = Command::new(venv_python());
        cmd.arg(script).arg(out);
        if let Some((u, p)) = auth {
            cmd.args(["--user", u, "--password", p]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("sink: {line:?}"));
        Sink {
            child,
            port,
            out: out.to_path_buf(),
        }
    }

    /// The messages received so far, in order.
    fn messages(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(&self.out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Poll the user's invitation until its email is no longer pending.
async fn mail_outcome(app: &TestApp, token: &str, user: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = state(app, token, user).await;
        if s["email"]["status"] != "pending" || Instant::now() > deadline {
            return s["email"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The app with `[email]` sending to 127.0.0.1:`port`.
async fn email_app(port: u16, extra: &str) -> TestApp {
    let email = format!(
        "[email]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"Rollcall <rollcall@acme.test>\"\ntimeout_ms = 5000\n{extra}\n"
    );
    app_with(
        "invite_url = \"http://data.acme.test/join/{token}\"",
        &email,
    )
    .await
}

#[tokio::test]
async fn the_invitation_is_emailed_through_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), Some(("rollcall", "smtp-pass")));
    let pw = dir.path().join("smtp-password");
    std::fs::write(&pw, "smtp-pass\n").unwrap();
    let extra = format!(
        "username = \"rollcall\"\npassword_file = \"{}\"",
        pw.display()
    );
    let app = email_app(sink.port, &extra).await;
    let (_, token) = root(&app).await;
    let r = invite(
        &app,
        &token,
        json!({"userName": "ada", "email": "ada@acme.test", "displayName": "Ada"}),
    )
    .await;
    assert_eq!(r.body["emailedTo"], "ada@acme.test", "{}", r.text);
    let link = link_of(&r);
    let id = r.body["id"].as_str().unwrap().to_string();
    let got = sink.wait_for(1).await;
    assert_eq!(got.len(), 1, "one message arrived");
    let m = &got[0];
    assert_eq!(m["to"], "ada@acme.test");
    assert_eq!(m["rcptTos"], json!(["ada@acme.test"]));
    assert_eq!(m["from"], "Rollcall <rollcall@acme.test>");
    assert_eq!(m["subject"], "You are invited to acme");
    assert_eq!(m["contentType"], "text/plain");
    assert_eq!(
        m["user"], "rollcall",
        "it logged in with password_file's password"
    );
    let body = m["body"].as_str().unwrap();
    assert!(body.contains(&link), "the body holds the link: {body}");
    assert!(body.contains(r.body["inviteExpiresAt"].as_str().unwrap()));
    // The link in the body accepts the invitation.
    let secret = body
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://data.acme.test/join/"))
        .unwrap();
    // The sink has the message; the server records it sent.
    let mail = mail_outcome(&app, &token, &id).await;
    assert_eq!(mail["status"], "sent", "{mail}");
    assert_eq!(mail["to"], "ada@acme.test");
    // The host accepts (the sign-in scope), as in production.
    let r = accept(&app, &app.token, &format!("/admin/v1/invitations/{secret}")).await;
    assert_eq!(
        (r.status, r.body["allowed"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{}",
        r.text
    );
    let mail = state(&app, &token, &id).await["email"].clone();
    assert_eq!(
        mail["status"], "sent",
        "accepting keeps a sent mail sent: {mail}"
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert!(
        audit.iter().any(|a| a["action"] == "invitation_emailed"),
        "{audit:?}"
    );
    assert!(!format!("{audit:?}").contains("inv_"));
    // No address, no email: the answer says so.
    let r = invite(&app, &token, json!({"userName": "no-address"})).await;
    assert!(r.body.get("emailedTo").is_none(), "{}", r.text);
}

#[tokio::test]
async fn a_mail_that_leaves_while_its_invitation_is_accepted_is_recorded_sent() {
    // A server nobody answers, retried a minute later: the mail stays
    // pending while the invitation is accepted, which cancels it.
    let app = email_app(closed_port(), "attempts = 3\nretry_base_ms = 60000").await;
    let (_, token) = root(&app).await;
    let r = invite(&app, &token, json!({"userName": "eve@acme.test"})).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let link = link_of(&r);
    let secret = link.rsplit('/').next().unwrap();
    let r = accept(&app, &app.token, &format!("/admin/v1/invitations/{secret}")).await;
    assert_eq!(r.body["allowed"], true, "{}", r.text);
    let mail = state(&app, &token, &id).await["email"].clone();
    assert_eq!(mail["status"], "failed", "{mail}");
    assert!(mail["lastError"].as_str().unwrap().starts_with("cancelled"));
    // The SMTP exchange that was under way meanwhile ends: a failure does
    // not overwrite the cancellation, a delivery does (the message left).
    let at = "2026-12-01T10:00:00Z";
    let mut tx = app.store.write(&app.tenant).await.unwrap();
    assert!(!tx.end_mail(1, at, Some("SMTP: late"), true).await.unwrap());
    assert!(tx.end_mail(1, at, None, true).await.unwrap());
    tx.commit().await.unwrap();
    let mail = state(&app, &token, &id).await["email"].clone();
    assert_eq!(mail["status"], "sent", "{mail}");
    assert!(mail["lastError"].is_null(), "{mail}");
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_failing_smtp_server_is_retried_then_given_up_and_audited() {
    let port = closed_port();
    let app = email_app(port, "attempts = 2\nretry_base_ms = 20").await;
    let (_, token) = root(&app).await;
    let r = invite(&app, &token, json!({"userName": "bob@acme.test"})).await;
    assert_eq!(r.body["emailedTo"], "bob@acme.test", "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let mail = mail_outcome(&app, &token, &id).await;
    assert_eq!(mail["status"], "failed", "{mail}");
    assert_eq!(mail["attempts"], 2, "{mail}");
    assert!(
        mail["lastError"].as_str().unwrap().contains("SMTP"),
        "{mail}"
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let failed = audit
        .iter()
        .find(|a| a["action"] == "invitation_email_failed")
        .unwrap();
    assert!(failed["description"].as_str().unwrap().contains("resend"));
    // The link itself still works: the admin can hand it over.
    let link = link_of(&r);
    let secret = link.rsplit('/').next().unwrap();
    // The host accepts (the sign-in scope), as in production.
    let r = accept(&app, &app.token, &format!("/admin/v1/invitations/{secret}")).await;
    assert_eq!(r.body["allowed"], true, "{}", r.text);
}

#[tokio::test]
async fn a_mail_left_pending_by_a_stopped_server_is_marked_abandoned() {
    let port = closed_port();
    // The second attempt waits an hour: as good as a stopped process.
    let app = email_app(port, "attempts = 2\nretry_base_ms = 3600000").await;
    let (_, token) = root(&app).await;
    let r = invite(&app, &token, json!({"userName": "eve@acme.test"})).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while state(&app, &token, &id).await["email"]["attempts"] == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.directory.sweep_abandoned_mail().await.unwrap(),
        0,
        "not yet"
    );
    app.clock.advance(3 * 3600);
    assert_eq!(app.directory.sweep_abandoned_mail().await.unwrap(), 1);
    let mail = state(&app, &token, &id).await["email"].clone();
    assert_eq!(mail["status"], "failed", "{mail}");
    assert!(
        mail["lastError"].as_str().unwrap().contains("abandoned"),
        "{mail}"
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a["action"] == "invitation_email_failed"
            && a["description"].as_str().unwrap().contains("abandoned")));
    assert_eq!(app.directory.sweep_abandoned_mail().await.unwrap(), 0);
}

#[test]
fn the_command_line_invites_emails_reinvites_and_uninvites() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mail");
    std::fs::create_dir(&out).unwrap();
    let sink = Sink::start(&out, None);
    let db = crate::support::fresh_database(&dir);
    token(&db, "acme");
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        format!(
            "invite_url = \"https://data.acme.test/join/{{token}}\"\n[email]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"rollcall@acme.test\"\n",
            sink.port
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| -> Value {
        let out = Command::new(crate::server::bin())
            .args(args)
            .args(["--tenant", "acme", "--json", "--database", &db])
            .args(["--config", config.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = cli(&["user", "invite", "cli@acme.test", "--role", "member"]);
    assert_eq!(v["status"], "invited", "{v}");
    assert_eq!(v["emailedTo"], "cli@acme.test");
    let first = v["inviteLink"].as_str().unwrap().to_string();
    // The command waited for the send: the message is there already.
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0]["body"].as_str().unwrap().contains(&first));
    let v = cli(&["user", "reinvite", "cli@acme.test"]);
    let second = v["inviteLink"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let got = sink.messages();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1]["body"].as_str().unwrap().contains(&second));
    let v = cli(&["user", "uninvite", "cli@acme.test"]);
    assert_eq!(v["state"], "withdrawn", "{v}");
    assert!(!v.to_string().contains("inv_"), "{v}");
}
