//! Bad input: every malformed request gets a 4xx SCIM error with the right
//! scimType, and the stored data is unchanged.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// Snapshot of everything observable: the user, the group, the audit count.
async fn snapshot(app: &TestApp, uid: &str, gid: &str) -> (Value, Value, usize) {
    (
        app.get(&format!("/scim/v2/Users/{uid}")).await.body,
        app.get(&format!("/scim/v2/Groups/{gid}")).await.body,
        app.audit_count().await,
    )
}

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::new().await;
    let uid = app
        .user_from(json!({"schemas": [USER], "userName": "stable", "emails": [{"value": "s@x.com", "type": "work"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gid = app.group("Stable", &[&uid]).await;
    (app, uid, gid)
}

fn raw(app: &TestApp, method: Method, path: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/scim+json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_invalid_syntax() {
    let (app, uid, gid) = setup().await;
    let before = snapshot(&app, &uid, &gid).await;
    for body in [
        "{",
        "{\"userName\": }",
        "[1,2",
        "nul",
        "\"just a string",
        "",
    ] {
        let r = app
            .send(raw(&app, Method::POST, "/scim/v2/Users", body))
            .await;
        r.assert_error(400, Some("invalidSyntax"));
        let r = app
            .send(raw(
                &app,
                Method::PATCH,
                &format!("/scim/v2/Users/{uid}"),
                body,
            ))
            .await;
        r.assert_error(400, Some("invalidSyntax"));
        let r = app
            .send(raw(
                &app,
                Method::PUT,
                &format!("/scim/v2/Groups/{gid}"),
                body,
            ))
            .await;
        r.assert_error(400, Some("invalidSyntax"));
    }
    // Valid JSON of the wrong shape.
    let r = app
        .send(raw(&app, Method::POST, "/scim/v2/Users", "[1,2]"))
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    assert_eq!(snapshot(&app, &uid, &gid).await, before);
}

#[tokio::test]
async fn broken_filters_are_invalid_filter() {
    let (app, uid, gid) = setup().await;
    let deep = format!("{}userName pr{}", "(".repeat(300), ")".repeat(300));
    for f in [
        r#"(userName eq "a""#,
        r#"userName eq "a")"#,
        r#"userName xx "a""#,
        "userName eq",
        r#"emails[type eq "work""#,
        r#"userName eq "unterminated"#,
        r#"nosuch eq "a""#,
        r#"active gt true"#,
        r#"userName eq 12"#,
        r#"name eq "x""#,
        r#"emails[type eq "work" and emails[value pr]]"#,
        r#"meta.lastModified gt "9999-12-31T23:59:59-01:00""#,
        r#"meta.created lt "not a date""#,
        r#"meta.version eq "W/\"1\"""#,
        r#"meta.location pr"#,
        deep.as_str(),
    ] {
        let r = app.get(&format!("/scim/v2/Users?filter={}", enc(f))).await;
        r.assert_error(400, Some("invalidFilter"));
        let r = app
            .post(
                "/scim/v2/Users/.search",
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": f}),
            )
            .await;
        r.assert_error(400, Some("invalidFilter"));
    }
    assert_eq!(snapshot(&app, &uid, &gid).await.2, 2);
}

#[tokio::test]
async fn broken_patch_paths_and_ops() {
    let (app, uid, gid) = setup().await;
    let before = snapshot(&app, &uid, &gid).await;
    let user = format!("/scim/v2/Users/{uid}");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!([{"op": "add", "path": "emails[type eq", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "add", "path": "nosuch", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "add", "path": "name.nosuch", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "add", "path": "urn:example:unknown:1.0:User:x", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "add", "path": 7, "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "move", "path": "title", "value": "x"}]),
            "invalidSyntax",
        ),
        (json!([{"path": "title", "value": "x"}]), "invalidSyntax"),
        (json!([{"op": "remove"}]), "noTarget"),
        (json!([{"op": "add", "path": "title"}]), "invalidValue"),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
            "mutability",
        ),
        (
            json!([{"op": "remove", "path": "userName"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"x\" or type eq \"y\"].value", "value": "a"}]),
            "noTarget",
        ),
        (json!([]), "invalidSyntax"),
    ];
    for (ops, scim_type) in cases {
        let r = app.patch(&user, &patch_body(ops.clone())).await;
        r.assert_error(400, Some(scim_type));
    }
    // Wrong PatchOp schema and missing Operations.
    let r = app
        .patch(&user, &json!({"schemas": [USER], "Operations": []}))
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    let r = app.patch(&user, &json!({"schemas": [PATCH_OP]})).await;
    r.assert_error(400, Some("invalidSyntax"));
    // Group members: sub-attribute edits and unsupported filters.
    let group = format!("/scim/v2/Groups/{gid}");
    let r = app
        .patch(&group, &patch_body(json!([{"op": "replace", "path": format!("members[value eq \"{uid}\"].value"), "value": "x"}])))
        .await;
    r.assert_error(400, Some("mutability"));
    let r = app
        .patch(
            &group,
            &patch_body(json!([{"op": "remove", "path": "members[type eq \"User\"]"}])),
        )
        .await;
    r.assert_error(400, Some("invalidFilter"));
    assert_eq!(snapshot(&app, &uid, &gid).await, before);
}

#[tokio::test]
async fn wrong_value_types_are_invalid_value() {
    let (app, uid, gid) = setup().await;
    let before = snapshot(&app, &uid, &gid).await;
    let bodies = vec![
        json!({"schemas": [USER], "userName": 12}),
        json!({"schemas": [USER], "userName": "x", "active": "yes"}),
        json!({"schemas": [USER], "userName": "x", "name": "John"}),
        json!({"schemas": [USER], "userName": "x", "title": ["a", "b"]}),
        json!({"schemas": [USER], "userName": "x", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
        json!({"schemas": [USER], "userName": "x", "x509Certificates": [{"value": "not base64!!"}]}),
        json!({"schemas": [USER], "userName": "x", "nosuch": 1}),
        json!({"schemas": [USER], "userName": "x", "name": {"nosuch": "a"}}),
        json!({"schemas": [USER], "userName": "x", ENTERPRISE: "flat"}),
        json!({"schemas": [USER], "userName": "x", "urn:example:unlisted:User": {"a": 1}}),
        json!({"schemas": [GROUP], "userName": "x"}),
        json!({"schemas": [USER]}),
        json!({"schemas": "not-a-list", "userName": "x"}),
    ];
    for b in bodies {
        let r = app.post("/scim/v2/Users", &b).await;
        r.assert_error(400, Some("invalidValue"));
        let r = app.put(&format!("/scim/v2/Users/{uid}"), &b).await;
        r.assert_error(400, Some("invalidValue"));
    }
    let r = app
        .patch(
            &format!("/scim/v2/Users/{uid}"),
            &patch_body(json!([{"op": "replace", "path": "active", "value": 3}])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = app
        .patch(
            &format!("/scim/v2/Groups/{gid}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": [{"nope": 1}]}])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(snapshot(&app, &uid, &gid).await, before);
}

#[tokio::test]
async fn bad_list_parameters() {
    let app = TestApp::new().await;
    app.get("/scim/v2/Users?count=abc")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?startIndex=1.5")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?sortOrder=sideways")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?attributes=nosuch")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?sortBy=name")
        .await
        .assert_error(400, Some("invalidValue"));
    let r = app
        .post("/scim/v2/Users/.search", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "bogus": 1}))
        .await;
    r.assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn oversized_body_is_413_and_announced() {
    let app = TestApp::with_config(rollcall::http::HttpConfig {
        max_payload_size: 4096,
        bulk_max_payload_size: 8192,
        ..Default::default()
    })
    .await;
    let spc = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 8192);
    let big = json!({"schemas": [USER], "userName": "big", "title": "x".repeat(5000)});
    app.post("/scim/v2/Users", &big)
        .await
        .assert_error(413, None);
    assert_eq!(app.get("/scim/v2/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let app = TestApp::new().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "text/xml")
        .body(Body::from("<user/>"))
        .unwrap();
    let r = app.send(req).await;
    r.assert_error(415, Some("invalidSyntax"));
}

#[tokio::test]
async fn accepted_request_content_types() {
    let app = TestApp::new().await;
    for (i, ct) in [
        Some("application/scim+json"),
        Some("application/json"),
        Some("application/scim+json; charset=utf-8"),
        Some("Application/JSON;charset=UTF-8"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/scim/v2/Users")
            .header("authorization", format!("Bearer {}", app.token));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let req = b
            .body(Body::from(
                json!({"schemas": [USER], "userName": format!("ct{i}")}).to_string(),
            ))
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct:?}: {}", r.text);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/scim+json")
        );
    }
}

#[tokio::test]
async fn unknown_endpoints_and_methods() {
    let app = TestApp::new().await;
    app.get("/scim/v2/Widgets").await.assert_error(404, None);
    app.get("/scim/v2/Users/a/b").await.assert_error(404, None);
    let r = app.call(Method::DELETE, "/scim/v2/Users", None).await;
    r.assert_error(405, None);
    let r = app
        .call(Method::POST, "/scim/v2/Schemas", Some(&json!({})))
        .await;
    r.assert_error(405, None);
    app.get("/scim/v2/Me").await.assert_error(501, None);
    // A Bulk request without its schema is a syntax error.
    app.post("/scim/v2/Bulk", &json!({}))
        .await
        .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn malformed_ids_and_if_match_headers() {
    let app = TestApp::new().await;
    let id = app.user("m").await;
    app.get("/scim/v2/Users/%FF%FE")
        .await
        .assert_error(404, None);
    app.delete("/scim/v2/Groups/%C0")
        .await
        .assert_error(404, None);
    let mut req = app.request(
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        Some(&patch_body(
            json!([{"op": "add", "path": "title", "value": "x"}]),
        )),
        Some(&app.token),
    );
    req.headers_mut().insert(
        "if-match",
        axum::http::HeaderValue::from_bytes(b"W/\"\xff1\"").unwrap(),
    );
    app.send(req).await.assert_error(412, None);
    assert!(app
        .get(&format!("/scim/v2/Users/{id}"))
        .await
        .body
        .get("title")
        .is_none());
}
