//! The request log and connection health (`directory/request_log.rs`):
//! every SCIM request of a tenant's credentials, a refused token by the id
//! its prefix names, a failure with its detail and its body masked, each
//! credential's health, filters and cursor, retention, permissions.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::directory::{acme, admin, root};
use crate::support::{admin_token, enc, scoped_token, TestApp, USER};

/// `GET /admin/v1/requests` with a query, as the tenant's super-admin.
async fn log(app: &TestApp, token: &str, query: &str) -> Value {
    let r = admin(
        app,
        token,
        Method::GET,
        &format!("/admin/v1/requests{query}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

/// A SCIM request with a User-Agent.
async fn scim_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "scim.test")
        .header("user-agent", "Azure AD SCIM Client\tforged")
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/scim+json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.send(b.body(body).unwrap()).await.status
}

/// `GET /admin/v1/connections`' entry for `token`.
async fn connection(app: &TestApp, admin_token: &str, token: &str) -> Value {
    let r = admin(app, admin_token, Method::GET, "/admin/v1/connections", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
        .as_array()
        .and_then(|l| l.iter().find(|c| c["credential"] == token_id(token)))
        .cloned()
        .unwrap_or_else(|| panic!("no entry for {}: {}", token_id(token), r.text))
}

fn token_id(token: &str) -> String {
    format!("token:{}", &token[3..15])
}

#[tokio::test]
async fn rule_every_scim_request_is_logged_with_method_route_status_latency_credential_and_user_agent(
) {
    let app = acme().await;
    let (_, root) = root(&app).await;
    let id = app.user("ada@acme.test").await;
    let s = scim_as(
        &app,
        &app.token,
        Method::GET,
        &format!("/scim/v2/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let page = log(&app, &root, "").await;
    let newest = &items(&page)[0];
    assert_eq!(newest["method"], "GET");
    assert_eq!(
        newest["route"], "/scim/v2/Users/{id}",
        "the template, not the id"
    );
    assert_eq!(newest["status"], 200);
    assert!(newest["latencyMs"].as_i64().unwrap() >= 0);
    assert_eq!(newest["credential"], token_id(&app.token));
    assert_eq!(newest["refused"], false);
    assert_eq!(
        newest["userAgent"], "Azure AD SCIM Client?forged",
        "control characters are shown as ?"
    );
    assert!(
        newest["error"].is_null() && newest["body"].is_null(),
        "{newest}"
    );
    assert!(newest["requestId"].is_string(), "{newest}");
    // The user's creation before it, and no admin request at all.
    let all = items(&page);
    assert_eq!(all.len(), 3, "{page:#}");
    assert!(all
        .iter()
        .all(|e| e["route"].as_str().unwrap().starts_with("/scim/v2")));
    assert_eq!(all[1]["method"], "POST");
    assert_eq!(all[1]["status"], 201);
}

#[tokio::test]
async fn rule_the_request_log_shows_a_refused_token_and_a_400_with_its_detail() {
    let app = acme().await;
    let (_, root) = root(&app).await;
    // The right id, a wrong secret: attributed by the id prefix.
    let forged = format!("{}_{}", &app.token[..15], "not-the-secret");
    let s = scim_as(&app, &forged, Method::GET, "/scim/v2/Users", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A token of no known id, and no token at all: nobody to attribute to.
    let s = scim_as(
        &app,
        "rc_000000000000_x",
        Method::GET,
        "/scim/v2/Users",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A 400, its body carrying a password.
    let bad = json!({"schemas": [USER], "userName": "bob@acme.test", "active": "maybe",
        "password": "Hunter2-secret"});
    let s = scim_as(&app, &app.token, Method::POST, "/scim/v2/Users", Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let all = items(&log(&app, &root, "").await);
    // The root's creation, the refusal, the 400: the unknown id is not in
    // the tenant's log.
    assert_eq!(all.len(), 3, "{all:#?}");
    let (failed, refused) = (&all[0], &all[1]);
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["refused"], true);
    assert_eq!(refused["credential"], token_id(&app.token));
    assert_eq!(
        refused["error"]["detail"],
        "the bearer token is invalid or revoked"
    );
    assert!(!refused.to_string().contains("not-the-secret"), "{refused}");
    assert_eq!(failed["status"], 400);
    assert_eq!(failed["error"]["code"], "invalidValue", "{failed}");
    let detail = failed["error"]["detail"].as_str().unwrap();
    assert!(detail.contains("active"), "{detail}");
    let body: Value = serde_json::from_str(failed["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["userName"], "bob@acme.test");
    assert_eq!(body["password"], "********");
    assert!(!failed.to_string().contains("Hunter2"), "{failed}");
    // Nothing of either request changed the directory.
    assert!(app
        .user_names("")
        .await
        .iter()
        .all(|n| n != "bob@acme.test"));
}

#[tokio::test]
async fn rule_a_failures_body_is_kept_masked_only_when_json_and_a_success_keeps_none() {
    let app = acme().await;
    let (_, root) = root(&app).await;
    let ok = json!({"schemas": [USER], "userName": "cy@acme.test", "password": "Sup3r-secret"});
    let cy = app.user_from(ok).await["id"].as_str().unwrap().to_string();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("host", "scim.test")
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/scim+json")
        .body(Body::from(
            "{\"userName\": \"dee\", \"password\": \"Pl4in-secret\"",
        ))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::BAD_REQUEST);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": "Pa7ch-secret"},
                       {"op": "bogus", "path": "title", "value": "x"}]});
    let path = format!("/scim/v2/Users/{cy}");
    let s = scim_as(&app, &app.token, Method::PATCH, &path, Some(patch)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let all = items(&log(&app, &root, "").await);
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("-secret"), "{text}");
    let created = all.iter().find(|e| e["status"] == 201).unwrap();
    assert!(
        created["body"].is_null(),
        "a success keeps no body: {created}"
    );
    let broken = all
        .iter()
        .find(|e| e["status"] == 400 && e["method"] == "POST")
        .unwrap();
    assert_eq!(broken["body"], "(not JSON, 46 bytes: not kept)", "{broken}");
    let patched = all.iter().find(|e| e["method"] == "PATCH").unwrap();
    assert!(patched["status"].as_i64().unwrap() >= 400, "{patched}");
    let body: Value = serde_json::from_str(patched["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["Operations"][0]["value"], "********");
    assert_eq!(body["Operations"][1]["value"], "x");
}

#[tokio::test]
async fn rule_connections_show_each_credentials_last_request_success_error_and_error_rate() {
    let app = acme().await;
    let (_, root) = root(&app).await;
    let idle = scoped_token(&app.store, &app.tenant, None, "scim", "onelogin").await;
    app.user("eve@acme.test").await;
    let dup = json!({"schemas": [USER], "userName": "eve@acme.test"});
    assert_eq!(
        scim_as(&app, &app.token, Method::POST, "/scim/v2/Users", Some(dup)).await,
        StatusCode::CONFLICT
    );
    let r = admin(&app, &root, Method::GET, "/admin/v1/connections", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = r.body.as_array().unwrap().clone();
    let okta = list
        .iter()
        .find(|c| c["credential"] == token_id(&app.token))
        .unwrap();
    assert_eq!(okta["label"], "okta");
    assert_eq!(okta["health"], "failing", "its last request failed: {okta}");
    // The root's creation, eve's, the duplicate.
    assert_eq!(okta["requests24h"], 3);
    assert_eq!(okta["errors24h"], 1);
    let rate = okta["errorRate24h"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    assert!(okta["lastSuccessAt"].as_str().unwrap() < okta["lastErrorAt"].as_str().unwrap());
    assert_eq!(okta["lastError"]["status"], 409);
    assert_eq!(okta["lastError"]["error"]["code"], "uniqueness");
    let unused = list
        .iter()
        .find(|c| c["credential"] == token_id(&idle))
        .unwrap();
    assert_eq!(unused["health"], "unused");
    assert!(unused["lastRequestAt"].is_null());
    // A success after the failure: errors in the window, not failing.
    app.get("/scim/v2/Users").await;
    let okta = connection(&app, &root, &app.token).await;
    assert_eq!(okta["health"], "errors", "{okta}");
    // A day later the failure is out of the window.
    app.clock.advance(25 * 3600);
    app.get("/scim/v2/Users").await;
    let okta = connection(&app, &root, &app.token).await;
    assert_eq!(okta["health"], "healthy", "{okta}");
    assert_eq!(okta["requests24h"], 1);
    assert_eq!(
        okta["lastError"]["status"], 409,
        "the last error stays known"
    );
}

#[tokio::test]
async fn rule_the_request_log_filters_by_status_credential_and_since_with_a_cursor() {
    let app = acme().await;
    let (_, root) = root(&app).await;
    let other = scoped_token(&app.store, &app.tenant, None, "scim", "entra").await;
    for i in 0..5 {
        app.user(&format!("u{i}@acme.test")).await;
    }
    // From the last creation on.
    let since = items(&log(&app, &root, "?limit=1").await)[0]["at"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        scim_as(&app, &other, Method::GET, "/scim/v2/Users/missing", None).await,
        StatusCode::NOT_FOUND
    );
    let bad = json!({"schemas": [USER]});
    assert_eq!(
        scim_as(&app, &other, Method::POST, "/scim/v2/Users", Some(bad)).await,
        StatusCode::BAD_REQUEST
    );
    let page = log(&app, &root, "?status=4xx").await;
    assert_eq!(items(&page).len(), 2);
    let page = log(&app, &root, "?status=404").await;
    assert_eq!(items(&page)[0]["route"], "/scim/v2/Users/{id}");
    assert_eq!(items(&page).len(), 1);
    let page = log(
        &app,
        &root,
        &format!("?credential={}", enc(&token_id(&other))),
    )
    .await;
    assert_eq!(items(&page).len(), 2);
    let page = log(&app, &root, &format!("?since={}", enc(&since))).await;
    assert_eq!(items(&page).len(), 3, "{page:#}");
    // The root's creation and five more.
    let page = log(&app, &root, "?status=ok").await;
    assert_eq!(items(&page).len(), 6);
    // Pages of two, newest first, to the end.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let page = log(&app, &root, &query).await;
        seen.extend(items(&page).iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next"].as_str() {
            Some(n) => query = format!("?limit=2&after={n}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
    // Another tenant's log holds none of these.
    let theirs = app.token_for("globex").await;
    assert_eq!(
        scim_as(&app, &theirs, Method::GET, "/scim/v2/Users", None).await,
        StatusCode::OK
    );
    assert_eq!(items(&log(&app, &root, "?limit=1000").await).len(), 8);
}

#[tokio::test]
async fn rule_bad_request_log_parameters_are_refused_and_it_needs_audit_read() {
    let app = acme().await;
    let (_, root) = root(&app).await;
    for q in [
        "?status=6xx",
        "?status=teapot",
        "?since=yesterday",
        "?after=-1",
        "?after=x",
        "?limit=0",
        "?limit=1001",
        "?colour=red",
    ] {
        let r = admin(
            &app,
            &root,
            Method::GET,
            &format!("/admin/v1/requests{q}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
    }
    // A member holds no audit.read.
    let m = app.user("member@acme.test").await;
    let member = admin_token(&app.store, &app.tenant, &m, "member").await;
    for path in ["/admin/v1/requests", "/admin/v1/connections"] {
        let r = admin(&app, &member, Method::GET, path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(r.text.contains("audit.read"), "{}", r.text);
    }
    // The provisioning token has no admin scope.
    let r = app.get("/admin/v1/requests").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn rule_request_log_rows_older_than_the_retention_are_pruned() {
    let app = acme().await;
    let (_, root) = root(&app).await;
    app.user("old@acme.test").await;
    app.directory.flush_request_log().await.unwrap();
    app.clock.advance(15 * 86_400);
    app.user("new@acme.test").await;
    app.directory.flush_request_log().await.unwrap();
    let pruned = app.directory.prune_request_log().await.unwrap();
    assert_eq!(pruned, 2, "the old user's creation and the root's");
    let all = items(&log(&app, &root, "").await);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["status"], 201);
}
