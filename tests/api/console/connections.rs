//! Connections in the console: Create token with a scope (the secret shown
//! once, on the POST's answer: not on a reload, not in audit rows, events
//! or the database; it works against the API), Revoke token after a
//! confirmation (refused from then on), scopes beyond the maker's role
//! refused, the configured identity providers, and nothing of it for a
//! member.

use axum::http::{Method, StatusCode};

use super::{app, change, page, post, sign_in, user, Browser, ORIGIN};
use crate::support::TestApp;
use rollcall::store::AuditQuery;

/// The `rc_…` secret in a page, if any.
fn secret_in(html: &str) -> Option<String> {
    let at = html.find("value=\"rc_")? + 7;
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_string())
}

async fn create(app: &TestApp, b: &Browser, label: &str, scopes: &[&str]) -> crate::support::Resp {
    let mut form = vec![("label", label)];
    form.extend(scopes.iter().map(|s| ("scope", *s)));
    change(app, b, "/console/connections/tokens", &form).await
}

async fn revoke(app: &TestApp, b: &Browser, id: &str) -> crate::support::Resp {
    let path = format!("/console/connections/tokens/{id}/revoke");
    change(app, b, &path, &[]).await
}

async fn token_count(app: &TestApp) -> usize {
    app.store.list_tokens(Some("acme")).await.unwrap().len()
}

#[tokio::test]
async fn console_create_token_shows_the_secret_once_and_revoke_ends_it() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let list = page(&app, &b, "/console/users").await;
    assert!(
        list.text.contains("href=\"/console/connections\""),
        "the nav entry"
    );
    let p = page(&app, &b, "/console/connections").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    for scope in ["scim", "scim:read", "events", "audit", "sign-in", "admin"] {
        assert!(p.text.contains(&format!("value=\"{scope}\"")), "{scope}");
    }
    let r = create(&app, &b, "reports", &["audit"]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.header("location").is_none());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let secret = secret_in(&r.text).expect("the secret on the answer");
    assert!(
        r.text.contains("<label for=\"token_secret\">Token</label>") && r.text.contains("readonly")
    );
    // It works, for what it was given only.
    assert_eq!(
        app.call_as(&secret, Method::GET, "/admin/v1/audit", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call_as(&secret, Method::GET, "/scim/v2/Users", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Listed, never with its secret; last use and maker shown.
    let p = page(&app, &b, "/console/connections").await;
    assert!(!p.text.contains(&secret), "the secret on a reload");
    assert!(
        p.text.contains("reports") && p.text.contains("root@acme.test"),
        "{}",
        p.text
    );
    let id = secret
        .trim_start_matches("rc_")
        .split('_')
        .next()
        .unwrap()
        .to_string();
    let row = app.store.find_token(&id).await.unwrap().unwrap();
    assert!(row.last_used_at.is_some(), "last use noted");
    assert_eq!(row.user_id, None, "audit alone is a tenant token");
    // Revoke: a confirmation first, then refused.
    let confirm = page(
        &app,
        &b,
        &format!("/console/connections/tokens/{id}/revoke"),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert!(confirm.text.contains("Revoke token reports"));
    assert!(
        app.store
            .find_token(&id)
            .await
            .unwrap()
            .unwrap()
            .revoked
            .is_none(),
        "the GET changes nothing"
    );
    let r = revoke(&app, &b, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        app.call_as(&secret, Method::GET, "/admin/v1/audit", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let again = revoke(&app, &b, &id).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    // Audited, without the secret.
    let q = AuditQuery {
        limit: 1000,
        ..Default::default()
    };
    let audit =
        serde_json::to_string(&app.directory.audit_page(&app.tenant, &q).await.unwrap()).unwrap();
    assert!(
        audit.contains("token_created") && audit.contains("token_revoked"),
        "{audit}"
    );
    let events = app.get("/admin/v1/events?limit=1000").await.text;
    assert!(!audit.contains(&secret) && !events.contains(&secret));
    super::invite::assert_not_stored(&app, &secret);
}

#[tokio::test]
async fn console_scopes_beyond_the_makers_role_are_refused() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    user(&app, "ada@acme.test", Some("admin")).await;
    let b = sign_in(&app, "ada@acme.test").await;
    let p = page(&app, &b, "/console/connections").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(
        p.text
            .contains("id=\"scope-scim\" name=\"scope\" value=\"scim\" disabled"),
        "{}",
        p.text
    );
    assert!(p
        .text
        .contains("only a super-admin may give the scope scim"));
    let before = token_count(&app).await;
    for (scopes, status, words) in [
        (vec!["scim"], StatusCode::FORBIDDEN, "only a super-admin"),
        (
            vec!["admin", "scim"],
            StatusCode::BAD_REQUEST,
            "cannot carry it",
        ),
        (vec!["root"], StatusCode::BAD_REQUEST, "unknown scope"),
        (vec![], StatusCode::BAD_REQUEST, "no scope given"),
    ] {
        let r = create(&app, &b, "x", &scopes).await;
        assert_eq!(r.status, status, "{scopes:?}: {}", r.text);
        assert!(r.text.contains(words), "{}", r.text);
    }
    let r = create(&app, &b, "  ", &["audit"]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(token_count(&app).await, before, "nothing made");
    // `admin` acts as its maker: bound to ada, never more than her role.
    let r = create(&app, &b, "mine", &["admin"]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let secret = secret_in(&r.text).unwrap();
    let id = secret
        .trim_start_matches("rc_")
        .split('_')
        .next()
        .unwrap()
        .to_string();
    let ada = app.user_detail("ada@acme.test").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.store
            .find_token(&id)
            .await
            .unwrap()
            .unwrap()
            .user_id
            .as_deref(),
        Some(ada.as_str())
    );
    assert_eq!(
        app.call_as(&secret, Method::GET, "/admin/v1/users", None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn console_a_member_gets_no_connections() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    user(&app, "mia@acme.test", None).await;
    let m = sign_in(&app, "mia@acme.test").await;
    let list = page(&app, &m, "/console/users").await;
    assert!(!list.text.contains("/console/connections"), "no nav entry");
    assert_eq!(
        page(&app, &m, "/console/connections").await.status,
        StatusCode::FORBIDDEN
    );
    let before = token_count(&app).await;
    let r = create(&app, &m, "x", &["audit"]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(token_count(&app).await, before);
    let id = app.store.list_tokens(Some("acme")).await.unwrap()[0]
        .id
        .clone();
    let r = change(
        &app,
        &m,
        &format!("/console/connections/tokens/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(app
        .store
        .find_token(&id)
        .await
        .unwrap()
        .unwrap()
        .revoked
        .is_none());
}

#[tokio::test]
async fn console_token_forms_need_the_csrf_token_and_the_origin() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let before = token_count(&app).await;
    let path = "/console/connections/tokens";
    let r = app
        .send(post(
            path,
            Some(&b.cookie),
            Some(ORIGIN),
            &[("label", "x"), ("scope", "audit")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let form = [
        ("csrf", b.csrf.as_str()),
        ("label", "x"),
        ("scope", "audit"),
    ];
    let r = app
        .send(post(path, Some(&b.cookie), Some("http://evil.test"), &form))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(token_count(&app).await, before);
    let id = app.store.list_tokens(Some("acme")).await.unwrap()[0]
        .id
        .clone();
    let revoke = format!("/console/connections/tokens/{id}/revoke");
    let r = app
        .send(post(&revoke, Some(&b.cookie), Some(ORIGIN), &[]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app
        .store
        .find_token(&id)
        .await
        .unwrap()
        .unwrap()
        .revoked
        .is_none());
}

#[tokio::test]
async fn console_connections_list_the_tenants_identity_providers_without_secrets() {
    use rollcall::directory::oauth::{Keyring, OAuthVerifier};
    use rollcall::directory::sign_in::SignInVerifier;
    use std::sync::Arc;
    let cfg: rollcall::config::Config = toml::from_str(
        r#"
[tenants.acme]
super_admins = ["root@acme.test"]
[[oauth]]
tenant = "acme"
issuer = "https://login.acme.test/"
audience = ["api://rollcall", "rollcall"]
scopes = ["scim", "events"]
[[oidc]]
tenant = "acme"
issuer = "https://acme.eu.auth0.test/"
audiences = ["host-app"]
roles_claim = "https://acme.test/roles"
jit = true
[[oidc]]
tenant = "globex"
issuer = "https://globex.auth0.test/"
audiences = ["globex-app"]
"#,
    )
    .unwrap();
    let issuers = cfg.oauth.iter().map(|o| o.issuer.clone());
    let issuers = issuers.chain(cfg.oidc.iter().map(|o| o.issuer.clone()));
    let keyring = Arc::new(
        Keyring::new(
            issuers,
            std::time::Duration::from_secs(60),
            rollcall::directory::oauth::DEFAULT_MAX_KEY_AGE,
        )
        .unwrap(),
    );
    let oauth = OAuthVerifier::new(cfg.oauth.clone(), keyring.clone()).unwrap();
    let verifier = SignInVerifier::new(cfg.oidc.clone(), keyring).unwrap();
    let app = TestApp::with_directory(rollcall::directory::DirectoryConfig {
        policy: Arc::new(cfg.policy()),
        sign_in: Arc::new(verifier),
        ..Default::default()
    })
    .await;
    user(&app, "root@acme.test", None).await;
    user(&app, "mia@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let p = page(&app, &b, "/console/connections").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("https://acme.eu.auth0.test/") && p.text.contains("host-app"));
    assert!(p.text.contains("https://acme.test/roles") && p.text.contains(">On<"));
    assert!(!p.text.contains("globex"), "another tenant's issuer");
    // The directory's answer, [[oauth]] included.
    let ctx = crate::support::operator_ctx(&app.tenant);
    let idps = app
        .directory
        .identity_providers(&ctx, &oauth)
        .await
        .unwrap();
    let kinds: Vec<_> = idps
        .iter()
        .map(|p| (p.kind.as_str(), p.issuer.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("oauth", "https://login.acme.test/"),
            ("oidc", "https://acme.eu.auth0.test/")
        ]
    );
    assert_eq!(idps[0].audiences, ["api://rollcall", "rollcall"]);
    assert_eq!(idps[0].scopes, ["scim", "events"]);
    assert_eq!(idps[1].jit, Some(true));
    // A member may not read them.
    let mia = crate::support::operator_ctx(&app.tenant);
    let mia = rollcall::directory::Ctx {
        operator: false,
        actor_user_id: Some(
            app.user_detail("mia@acme.test").await.unwrap()["id"]
                .as_str()
                .unwrap()
                .into(),
        ),
        ..mia
    };
    assert!(app
        .directory
        .identity_providers(&mia, &oauth)
        .await
        .is_err());
}

#[tokio::test]
async fn console_connections_list_dead_deliveries_and_replay_one_with_the_csrf_token() {
    let (host, url) = crate::delivery::Host::start().await;
    let app = crate::delivery::app_with(&url, false, "max_attempts = 1\n").await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let p = page(&app, &b, "/console/connections").await;
    assert!(p.text.contains("No delivery was given up."), "{}", p.text);
    assert_eq!(p.text.matches("id=\"deliveries\"").count(), 1);
    assert!(p
        .text
        .contains("<title>Connections · Rollcall console</title>"));
    app.directory.deliver_due().await.unwrap();
    host.refuse("acme");
    user(&app, "ann@acme.test", None).await;
    app.directory.deliver_due().await.unwrap();
    let dead = app.store.events_page(&app.tenant, 0, 100).await.unwrap();
    let id = format!("event-{}", dead.last().unwrap().id);
    let p = page(&app, &b, "/console/connections").await;
    assert_eq!(p.status, StatusCode::OK);
    let action = format!("/console/connections/deliveries/{id}/replay");
    assert!(
        p.text.contains(&format!("action=\"{action}\""))
            && p.text
                .contains(&format!("aria-label=\"Replay delivery {id}\""))
            && p.text.contains("the host answered 503"),
        "{}",
        p.text
    );
    super::assert_no_inline_code(&p.text);
    // Without the CSRF token, or from another origin: refused, still dead.
    let r = app
        .send(post(&action, Some(&b.cookie), Some(ORIGIN), &[]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = [("csrf", b.csrf.as_str())];
    let r = app
        .send(post(
            &action,
            Some(&b.cookie),
            Some("http://evil.test"),
            &csrf,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(page(&app, &b, "/console/connections")
        .await
        .text
        .contains(&action));
    host.accept("acme");
    let r = change(&app, &b, &action, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/connections#deliveries")
    );
    app.directory.deliver_due().await.unwrap();
    assert_eq!(host.accepted("acme").last(), Some(&dead.last().unwrap().id));
    let p = page(&app, &b, "/console/connections").await;
    assert!(p.text.contains("No delivery was given up."));
    let audit = app
        .store
        .audit_page(
            &app.tenant,
            &AuditQuery {
                action: Some("delivery_replayed".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["objectId"], id.as_str());
    // A second replay (now delivered) is the console's error page.
    let r = change(&app, &b, &action, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}
