//! Invite user and the registrations toggle in the console: the link shown
//! once (on the POST's answer only: not on a reload, not in audit rows,
//! events or the database), the directory's refusals shown on the form
//! with nothing changed, a pending invitation's Resend / Withdraw, and
//! nothing of it for a member.

use axum::http::StatusCode;

use super::{app, change, page, post, sign_in, user, Browser, ORIGIN};
use crate::support::TestApp;
use rollcall::store::AuditQuery;

/// The `inv_…` secret in a page, if any.
fn link_in(html: &str) -> Option<String> {
    let at = html.find("inv_")?;
    let rest = &html[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

async fn invite(app: &TestApp, b: &Browser, name: &str, email: &str) -> crate::support::Resp {
    change(
        app,
        b,
        "/console/invite",
        &[
            ("user_name", name),
            ("email", email),
            ("display_name", "New Colleague"),
            ("type", "user"),
            ("role", "member"),
            ("plan", "team"),
        ],
    )
    .await
}

/// Every audit row and event of the tenant, as text.
async fn trail(app: &TestApp) -> String {
    let q = AuditQuery {
        limit: 1000,
        ..Default::default()
    };
    let audit = app.directory.audit_page(&app.tenant, &q).await.unwrap();
    let events = app.get("/admin/v1/events?limit=1000").await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    format!("{}{}", serde_json::to_string(&audit).unwrap(), events.text)
}

/// No file of the (SQLite) database holds `secret` in plain.
pub(super) fn assert_not_stored(app: &TestApp, secret: &str) {
    if crate::support::on_postgres() {
        return;
    }
    for entry in std::fs::read_dir(app._dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(secret), "a secret in the database");
    }
}

async fn registrations(app: &TestApp) -> bool {
    let t = app.directory.tenant_view(&app.operator()).await.unwrap();
    t.registrations
}

async fn user_count(app: &TestApp) -> i64 {
    app.seats().await["users"]["used"].as_i64().unwrap()
}

#[tokio::test]
async fn console_invite_user_shows_the_link_once() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let list = page(&app, &b, "/console/users").await;
    assert!(
        list.text.contains("href=\"/console/invite\""),
        "Invite user on the Users page"
    );
    assert!(list.text.contains("Disable registrations"), "{}", list.text);
    let form = page(&app, &b, "/console/invite").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    for label in ["User name", "Email", "Display name", "Type", "Role", "Plan"] {
        assert!(form.text.contains(&format!(">{label}</label>")), "{label}");
    }
    let r = invite(&app, &b, "new@acme.test", "new@acme.test").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.header("location").is_none(),
        "no redirect carries the link"
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let secret = link_in(&r.text).expect("the link on the answer");
    assert!(!r.text.contains("emailing"), "no email without [email]");
    assert!(r.text.contains("readonly"), "a read-only input");
    assert!(r
        .text
        .contains("<label for=\"invite_link\">Invitation link</label>"));
    // The link works: it names the invited user.
    let who = app.get(&format!("/admin/v1/invitations/{secret}")).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.text);
    assert_eq!(who.body["userName"], "new@acme.test");
    assert_eq!(who.body["status"], "invited");
    // Never again: not on a reload of the form, the list or the detail.
    let id = who.body["id"].as_str().unwrap().to_string();
    for path in [
        "/console/invite".to_string(),
        "/console/users".into(),
        format!("/console/users/{id}"),
    ] {
        let p = page(&app, &b, &path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(!p.text.contains(&secret), "the link on {path}");
    }
    let detail = page(&app, &b, &format!("/console/users/{id}")).await;
    assert!(
        detail.text.contains("id=\"invitation\""),
        "the pending invitation"
    );
    assert!(
        detail.text.contains("Resend invitation") && detail.text.contains("Withdraw invitation")
    );
    assert!(
        !trail(&app).await.contains(&secret),
        "the link in audit or events"
    );
    let d = app.user_detail(&id).await.unwrap();
    assert!(
        d.to_string().contains("\"member\""),
        "invited as member: {d}"
    );
    assert_not_stored(&app, &secret);
}

#[tokio::test]
async fn console_invite_refusals_show_the_form_again_and_change_nothing() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let before = user_count(&app).await;
    let cases = [
        (
            "ann@acme.test",
            "ann@acme.test",
            StatusCode::CONFLICT,
            "already taken",
        ),
        (
            "bad@acme.test",
            "not an address",
            StatusCode::BAD_REQUEST,
            "not an email address",
        ),
        (
            "",
            "x@acme.test",
            StatusCode::BAD_REQUEST,
            "must not be empty",
        ),
    ];
    for (name, email, status, words) in cases {
        let r = invite(&app, &b, name, email).await;
        assert_eq!(r.status, status, "{name}: {}", r.text);
        assert!(
            r.text.contains("Nothing was changed") && r.text.contains(words),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("action=\"/console/invite\""),
            "the form again"
        );
        assert!(r.text.contains(&format!("value=\"{}\"", email)), "as typed");
        assert!(link_in(&r.text).is_none());
    }
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn console_registrations_closed_refuse_an_invite_until_enabled_again() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let r = change(
        &app,
        &b,
        "/console/registrations",
        &[("registrations", "off"), ("return_to", "/console/users")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location").as_deref(), Some("/console/users"));
    assert!(!registrations(&app).await);
    let list = page(&app, &b, "/console/users").await;
    assert!(list.text.contains("Enable registrations"), "{}", list.text);
    assert!(list.text.contains("Invite user (registrations are closed)"));
    let form = page(&app, &b, "/console/invite").await;
    assert!(form.text.contains("Registrations are closed"));
    assert!(
        !form.text.contains("name=\"user_name\""),
        "no form while closed"
    );
    let before = user_count(&app).await;
    let r = invite(&app, &b, "late@acme.test", "late@acme.test").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("registrations are off"), "{}", r.text);
    assert_eq!(user_count(&app).await, before);
    let r = change(
        &app,
        &b,
        "/console/registrations",
        &[("registrations", "on")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = invite(&app, &b, "late@acme.test", "late@acme.test").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = change(
        &app,
        &b,
        "/console/registrations",
        &[("registrations", "maybe")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn console_resend_shows_a_new_link_once_and_withdraw_ends_it() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let first = link_in(
        &invite(&app, &b, "new@acme.test", "new@acme.test")
            .await
            .text,
    )
    .unwrap();
    let id = app
        .get(&format!("/admin/v1/invitations/{first}"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = format!("/console/users/{id}");
    let r = change(&app, &b, &format!("{detail}/invitation"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Invitation resent"));
    let second = link_in(&r.text).expect("the new link");
    assert_ne!(first, second);
    assert_eq!(
        app.get(&format!("/admin/v1/invitations/{first}"))
            .await
            .status,
        StatusCode::GONE
    );
    assert!(
        !page(&app, &b, &detail).await.text.contains(&second),
        "not on the detail page"
    );
    let r = change(
        &app,
        &b,
        &format!("{detail}/invitation/withdraw"),
        &[("return_to", &detail)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        app.get(&format!("/admin/v1/invitations/{second}"))
            .await
            .status,
        StatusCode::GONE
    );
    let p = page(&app, &b, &detail).await;
    assert!(p.text.contains("Withdrawn"), "{}", p.text);
    assert!(
        p.text.contains("the latest invitation is withdrawn"),
        "Withdraw is off, with why"
    );
    assert!(!trail(&app).await.contains(&second));
}

#[tokio::test]
async fn console_invite_needs_the_csrf_token_and_the_origin() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let form = [("user_name", "x@acme.test")];
    let no_csrf = app
        .send(post(
            "/console/invite",
            Some(&b.cookie),
            Some(ORIGIN),
            &form,
        ))
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let mut with = vec![("csrf", b.csrf.as_str())];
    with.extend_from_slice(&form);
    let other = app
        .send(post(
            "/console/invite",
            Some(&b.cookie),
            Some("http://evil.test"),
            &with,
        ))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let toggle = app
        .send(post(
            "/console/registrations",
            Some(&b.cookie),
            Some("http://evil.test"),
            &[("csrf", &b.csrf), ("registrations", "off")],
        ))
        .await;
    assert_eq!(toggle.status, StatusCode::FORBIDDEN);
    assert!(registrations(&app).await);
    assert!(app.user_detail("x@acme.test").await.is_none());
}

#[tokio::test]
async fn console_a_member_can_neither_invite_nor_close_registrations() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    user(&app, "mia@acme.test", None).await;
    let m = sign_in(&app, "mia@acme.test").await;
    let list = page(&app, &m, "/console/users").await;
    assert!(!list.text.contains("/console/invite"), "no Invite user");
    assert!(!list.text.contains("registrations"), "no toggle");
    let form = page(&app, &m, "/console/invite").await;
    assert!(
        !form.text.contains("name=\"user_name\""),
        "no form for a member"
    );
    assert!(
        form.text.contains("cannot administer users"),
        "{}",
        form.text
    );
    let r = invite(&app, &m, "x@acme.test", "x@acme.test").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = change(
        &app,
        &m,
        "/console/registrations",
        &[("registrations", "off")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(registrations(&app).await);
    assert!(app.user_detail("x@acme.test").await.is_none());
}

#[tokio::test]
async fn console_invite_says_where_the_link_is_emailed_with_email_configured() {
    let app = TestApp::from_toml(&format!(
        "invite_url = \"https://data.acme.test/join/{{token}}\"\n{}\n[email]\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\nfrom = \"rollcall@acme.test\"\ntimeout_ms = 500\n",
        super::CONFIG
    ))
    .await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let r = invite(&app, &b, "mailed@acme.test", "mailed@acme.test").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text
            .contains("Rollcall is emailing the link to mailed@acme.test"),
        "{}",
        r.text
    );
    let link = link_in(&r.text).expect("and shown here too");
    assert!(r
        .text
        .contains(&format!("https://data.acme.test/join/{link}")));
}
