//! Admin API: the audit trail (filters, cursor paging, export) and the
//! event feed a host platform polls.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn audit_is_filtered_paged_and_tenant_scoped() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    let b = app.user("bob").await;
    app.patch(
        &format!("/scim/v2/Users/{a}"),
        &patch_body(json!([{"op": "replace", "path": "title", "value": "CTO"}])),
    )
    .await;
    app.delete(&format!("/scim/v2/Users/{b}")).await;

    let r = app.get("/admin/v1/audit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let items = r.body["items"].as_array().unwrap();
    let actions: Vec<_> = items
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["created", "created", "updated", "deleted"]);
    assert!(r.body["next"].is_null(), "a short page is the end");
    let entry = &items[2];
    for key in [
        "id",
        "at",
        "actor",
        "requestId",
        "objectType",
        "objectId",
        "objectName",
        "action",
        "description",
    ] {
        assert!(!entry[key].is_null(), "{key} in {entry}");
    }
    assert_eq!(entry["objectName"], "alice");
    assert!(entry["requestId"].as_str().unwrap().len() >= 32);

    // A user's history, by object id: survives the user's deletion.
    let r = app.get(&format!("/admin/v1/audit?object_id={b}")).await;
    let actions: Vec<_> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("created"), json!("deleted")]);
    let r = app
        .get("/admin/v1/audit?action=updated&actor=token:okta")
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    // Cursor paging returns every entry once.
    let mut seen = Vec::new();
    let mut url = "/admin/v1/audit?limit=3".to_string();
    loop {
        let r = app.get(&url).await;
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        match r.body["next"].as_str() {
            Some(n) => url = format!("/admin/v1/audit?limit=3&after={n}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    // Time window: the step clock gives the third write its own second.
    let third = items[2]["at"].as_str().unwrap();
    let r = app
        .get(&format!("/admin/v1/audit?since={}", enc(third)))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let r = app
        .get(&format!("/admin/v1/audit?until={}", enc(third)))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);

    // Another tenant sees nothing of it.
    let other = app.token_for("globex").await;
    let r = app
        .call_as(&other, Method::GET, "/admin/v1/audit", None)
        .await;
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn audit_parameters_are_checked() {
    let app = TestApp::new().await;
    for q in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "after=-1",
        "after=abc",
        "since=yesterday",
        "colour=red",
    ] {
        let r = app.get(&format!("/admin/v1/audit?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert_eq!(r.body["error"], "invalid_parameter");
        assert!(r.body["detail"].as_str().unwrap().len() > 5);
    }
    let r = app
        .send(app.request(Method::GET, "/admin/v1/audit", None, None))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/admin/v1/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn hosts_poll_events_with_a_cursor() {
    let app = TestApp::new().await;
    let a = app.user("alice").await;
    app.group("G", &[&a]).await;
    let r = app.get("/admin/v1/events?limit=1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "user.created");
    assert_eq!(events[0]["objectId"], a.as_str());
    assert_eq!(events[0]["data"]["name"], "alice");
    let cursor = r.body["next"].as_str().unwrap().to_string();
    let r = app.get(&format!("/admin/v1/events?after={cursor}")).await;
    let types: Vec<Value> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, vec![json!("group.created")]);
    let cursor = r.body["next"].as_str().unwrap().to_string();
    // Nothing new: empty list, same cursor.
    let r = app.get(&format!("/admin/v1/events?after={cursor}")).await;
    assert_eq!(r.body["events"], json!([]));
    assert_eq!(r.body["next"], cursor.as_str());
    app.delete(&format!("/scim/v2/Users/{a}")).await;
    let r = app.get(&format!("/admin/v1/events?after={cursor}")).await;
    let types: Vec<Value> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        types,
        vec![
            json!("group.updated"),
            json!("user.deletion_requested"),
            json!("user.deleted")
        ]
    );
}

/// A client's `X-Request-Id` is a correlation field: kept when it looks
/// like an id, replaced by the server's own (a UUID) when it does not, so
/// a client cannot write arbitrary text into the audit trail or the logs.
#[tokio::test]
async fn a_client_request_id_is_kept_only_when_it_looks_like_one() {
    let app = TestApp::new().await;
    let create = |name: &str, rid: &str| {
        let body = json!({"schemas": [USER], "userName": name});
        let mut req = app.request(
            Method::POST,
            "/scim/v2/Users",
            Some(&body),
            Some(&app.token),
        );
        req.headers_mut()
            .insert("x-request-id", rid.parse().unwrap());
        req
    };
    let kept = app.send(create("kept", "okta-7f3a_91.b:2")).await;
    assert_eq!(kept.status, StatusCode::CREATED, "{}", kept.text);
    assert_eq!(
        kept.header("x-request-id").as_deref(),
        Some("okta-7f3a_91.b:2")
    );
    let forged = "job 42 row 7 deleted by compliance";
    let long = "a".repeat(129);
    for (name, rid) in [
        ("spaced", forged),
        ("long", long.as_str()),
        ("quoted", "\"x\""),
    ] {
        let r = app.send(create(name, rid)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let minted = r.header("x-request-id").unwrap();
        assert_ne!(minted, rid);
        assert_eq!(minted.len(), 36, "a UUID: {minted}");
    }
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let rids: Vec<&str> = audit
        .iter()
        .filter_map(|a| a["requestId"].as_str())
        .collect();
    assert!(rids.contains(&"okta-7f3a_91.b:2"), "{rids:?}");
    assert!(!rids
        .iter()
        .any(|r| r.contains(' ') || r.len() > 128 || r.contains('"')));
}
