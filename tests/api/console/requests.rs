//! The Requests screen (`http/console/requests.rs`): each credential's
//! health, the request log with a refused token and a failure's detail and
//! masked body, the filters, a member's 403, a bad value as a 400 page.

use axum::http::StatusCode;
use serde_json::json;

use super::groups::cells;
use super::{app, page, sign_in, user};
use crate::support::{enc, USER};

#[tokio::test]
async fn console_requests_show_health_a_refused_token_and_a_failure_with_its_masked_body() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    // A refused token of the tenant, and a 400 carrying a password.
    let forged = format!("{}_wrong", &app.token[..15]);
    let r = app
        .call_as(&forged, axum::http::Method::GET, "/scim/v2/Users", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let bad = json!({"schemas": [USER], "userName": "x@acme.test", "active": "maybe",
        "password": "Hunter2-secret"});
    assert_eq!(
        app.post("/scim/v2/Users", &bad).await.status,
        StatusCode::BAD_REQUEST
    );
    let p = page(&app, &b, "/console/requests").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("aria-current=\"page\">Requests</a>"));
    assert_eq!(cells(&p.text, "Health"), vec!["Failing"]);
    assert_eq!(cells(&p.text, "Requests (24 h)"), vec!["3"]);
    assert_eq!(cells(&p.text, "Error rate"), vec!["66.7 %"]);
    assert!(cells(&p.text, "Last error")[0].starts_with("400 invalidValue"));
    let statuses = cells(&p.text, "Status");
    assert_eq!(statuses, vec!["400", "401", "201"], "newest first");
    assert!(cells(&p.text, "Credential")[1].contains("(refused)"));
    assert!(!cells(&p.text, "Credential")[0].contains("(refused)"));
    assert!(cells(&p.text, "Request")[0].contains("POST /scim/v2/Users"));
    assert!(p.text.contains("Request body (secrets masked)"));
    assert!(p.text.contains("********"));
    assert!(!p.text.contains("Hunter2"), "the password is masked");
    assert!(
        !p.text.contains("wrong"),
        "the presented secret is not shown"
    );
    // Errors only; one credential.
    let e = page(&app, &b, "/console/requests?status=errors").await;
    assert_eq!(cells(&e.text, "Status"), vec!["400", "401"]);
    let credential = format!("token:{}", &app.token[3..15]);
    let c = page(
        &app,
        &b,
        &format!(
            "/console/requests?status=ok&credential={}",
            enc(&credential)
        ),
    )
    .await;
    assert_eq!(cells(&c.text, "Status"), vec!["201"]);
    super::assert_no_inline_code(&p.text);
}

#[tokio::test]
async fn console_requests_refuse_a_member_and_a_bad_status() {
    let app = app().await;
    user(&app, "root@acme.test", None).await;
    user(&app, "mia@acme.test", Some("member")).await;
    let root = sign_in(&app, "root@acme.test").await;
    let bad = page(&app, &root, "/console/requests?status=teapot").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("teapot"), "{}", bad.text);
    let mia = sign_in(&app, "mia@acme.test").await;
    let p = page(&app, &mia, "/console/requests").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.text);
    let home = page(&app, &mia, "/console/users").await;
    assert!(!home.text.contains("/console/requests"), "no nav item");
}
