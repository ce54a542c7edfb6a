//! Bearer tokens.

use axum::http::Method;

use crate::support::*;

#[tokio::test]
async fn missing_or_bad_token_is_401_with_www_authenticate() {
    let app = TestApp::new().await;
    for token in [None, Some("nope"), Some("rc_000000000000_wrongsecret")] {
        let r = app
            .send(app.request(Method::GET, "/scim/v2/Users", None, token))
            .await;
        r.assert_error(401, None);
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    // Right id, wrong secret.
    let id = app.token.split('_').nth(1).unwrap();
    let forged = format!("rc_{id}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    app.send(app.request(Method::GET, "/scim/v2/Users", None, Some(&forged)))
        .await
        .assert_error(401, None);
    // Scheme is case-insensitive.
    let req = axum::http::Request::builder()
        .uri("/scim/v2/Users")
        .header("authorization", format!("bearer {}", app.token))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status.as_u16(), 200);
}

#[tokio::test]
async fn only_the_hash_is_stored_and_revoked_tokens_fail() {
    let app = TestApp::new().await;
    let tokens = app.store.list_tokens(Some("acme")).await.unwrap();
    assert_eq!(tokens.len(), 1);
    let rec = &tokens[0];
    assert_eq!(rec.secret_hash.len(), 32, "a SHA-256 digest");
    assert!(!String::from_utf8_lossy(&rec.secret_hash).contains(&app.token));
    assert_eq!(app.get("/scim/v2/Users").await.status.as_u16(), 200);
    let now = time::OffsetDateTime::now_utc();
    assert!(app.store.revoke_token(&rec.id, now).await.unwrap());
    app.get("/scim/v2/Users").await.assert_error(401, None);
}

#[tokio::test]
async fn discovery_and_health_need_no_token() {
    let app = TestApp::new().await;
    for path in [
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/Schemas",
        "/scim/v2/ResourceTypes",
        "/healthz",
        "/readyz",
    ] {
        let r = app.send(app.request(Method::GET, path, None, None)).await;
        assert_eq!(r.status.as_u16(), 200, "{path}");
    }
}
