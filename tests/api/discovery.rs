//! ServiceProviderConfig, ResourceTypes, Schemas; health and metrics.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn service_provider_config_announces_what_works() {
    let app = TestApp::new().await;
    let r = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let b = &r.body;
    assert_eq!(b["patch"]["supported"], true);
    assert_eq!(b["filter"]["supported"], true);
    assert_eq!(b["filter"]["maxResults"], 1000);
    assert_eq!(b["sort"]["supported"], true);
    assert_eq!(b["etag"]["supported"], true);
    assert_eq!(b["bulk"]["supported"], true);
    assert_eq!(b["bulk"]["maxOperations"], 10_000);
    assert_eq!(b["changePassword"]["supported"], false);
    assert_eq!(b["bulk"]["maxPayloadSize"], 16 * 1024 * 1024);
    assert_eq!(b["authenticationSchemes"][0]["type"], "oauthbearertoken");
}

#[tokio::test]
async fn documentation_uri_is_announced_only_when_configured() {
    let app = TestApp::new().await;
    let r = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("documentationUri").is_none(), "{}", r.body);

    let uri = "https://wiki.example.com/identity/rollcall";
    let app = TestApp::with_config(rollcall::http::HttpConfig {
        documentation_uri: Some(uri.into()),
        ..Default::default()
    })
    .await;
    let r = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(r.body["documentationUri"], uri);
    assert_eq!(r.body["patch"]["supported"], true);
}

/// The setting travels from the config file to the answer of the real binary.
#[test]
fn documentation_uri_comes_from_the_config_file() {
    use crate::server::{request, Server};
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        "documentation_uri = \"https://wiki.example.com/identity/rollcall\"\n",
    )
    .unwrap();
    let server = Server::start_with(&db, &["--config", config.to_str().unwrap()]);
    let r = request(
        &server.addr,
        "GET",
        "/scim/v2/ServiceProviderConfig",
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        body["documentationUri"],
        "https://wiki.example.com/identity/rollcall"
    );
}

#[tokio::test]
async fn resource_types_and_schemas() {
    let app = TestApp::new().await;
    let r = app.get("/scim/v2/ResourceTypes").await;
    assert_eq!(r.body["totalResults"], 2);
    let user = app.get("/scim/v2/ResourceTypes/User").await;
    assert_eq!(user.body["endpoint"], "/Users");
    assert_eq!(user.body["schema"], USER);
    assert_eq!(
        user.body["schemaExtensions"][0],
        json!({"schema": ENTERPRISE, "required": false})
    );
    app.get("/scim/v2/ResourceTypes/Widget")
        .await
        .assert_error(404, None);

    let r = app.get("/scim/v2/Schemas").await;
    let ids: Vec<_> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            USER,
            ENTERPRISE,
            "urn:rollcall:scim:schemas:extension:access:2.0:User",
            GROUP
        ]
    );
    let s = app.get(&format!("/scim/v2/Schemas/{USER}")).await;
    let attrs = s.body["attributes"].as_array().unwrap();
    let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    let password = attrs.iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");
    assert!(attrs
        .iter()
        .all(|a| a["name"] != "meta" && a["name"] != "id"));
    app.get("/scim/v2/Schemas/urn:nope")
        .await
        .assert_error(404, None);
    app.get("/scim/v2/Schemas?filter=id+pr")
        .await
        .assert_error(403, None);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(app.get("/readyz").await.body["status"], "ready");
    app.get("/scim/v2/Users").await;
    app.get("/scim/v2/Users/missing").await;
    let m = app.get("/metrics").await;
    assert!(m.text.contains("rollcall_http_requests_total{method=\"GET\",route=\"/scim/v2/Users\",status=\"200\"} 1"), "{}", m.text);
    assert!(m
        .text
        .contains("route=\"/scim/v2/Users/{id}\",status=\"404\"} 1"));
    assert!(m
        .text
        .contains("rollcall_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::new().await;
    let r = app.get("/scim/v2/Users").await;
    assert_eq!(r.header("x-request-id").unwrap().len(), 36);
    let mut req = app.request(
        axum::http::Method::GET,
        "/scim/v2/Users",
        None,
        Some(&app.token),
    );
    req.headers_mut()
        .insert("x-request-id", "trace-me-123".parse().unwrap());
    assert_eq!(
        app.send(req).await.header("x-request-id").as_deref(),
        Some("trace-me-123")
    );
}

/// `rollcall_scim_operations_total` counts SCIM operations by resource,
/// operation and outcome, and the operations inside a Bulk request one by
/// one (`via="bulk"`), beside the Bulk request itself.
#[tokio::test]
async fn scim_operations_are_counted_by_type_and_outcome() {
    let app = TestApp::new().await;
    let id = app.user("ada").await;
    app.get(&format!("/scim/v2/Users/{id}")).await;
    app.get("/scim/v2/Users/missing").await;
    app.patch(
        &format!("/scim/v2/Users/{id}"),
        &crate::support::patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "b1", "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob"}},
            {"method": "DELETE", "path": "/Groups/missing"}]});
    assert_eq!(
        app.post("/scim/v2/Bulk", &bulk).await.status,
        StatusCode::OK
    );
    let m = app.get("/metrics").await.text;
    for line in [
        r#"resource="User",operation="create",outcome="success",via="request"} 1"#,
        r#"resource="User",operation="get",outcome="success",via="request"} 1"#,
        r#"resource="User",operation="get",outcome="client_error",via="request"} 1"#,
        r#"resource="User",operation="patch",outcome="success",via="request"} 1"#,
        r#"resource="Bulk",operation="bulk",outcome="success",via="request"} 1"#,
        r#"resource="User",operation="create",outcome="success",via="bulk"} 1"#,
        r#"resource="Group",operation="delete",outcome="client_error",via="bulk"} 1"#,
    ] {
        assert!(
            m.contains(&format!("rollcall_scim_operations_total{{{line}")),
            "{line}\n{m}"
        );
    }
    assert!(!m.contains(r#"operation="list""#), "no list was made: {m}");
}
