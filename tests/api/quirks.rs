//! Identity-provider quirks, one named test each (see docs/idp/).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

async fn patch_user(app: &TestApp, id: &str, ops: Value) -> Value {
    let r = app
        .patch(&format!("/scim/v2/Users/{id}"), &patch_body(ops))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn quirk_patch_op_in_any_case() {
    let app = TestApp::new().await;
    let id = app.user("u").await;
    let b = patch_user(
        &app,
        &id,
        json!([{"op": "Add", "path": "title", "value": "A"},
               {"op": "REPLACE", "path": "nickName", "value": "N"},
               {"op": "Remove", "path": "title"}]),
    )
    .await;
    assert_eq!(b["nickName"], "N");
    assert!(b.get("title").is_none());
}

#[tokio::test]
async fn quirk_boolean_strings() {
    let app = TestApp::new().await;
    let u = app
        .user_from(json!({"schemas": [USER], "userName": "u", "active": "True"}))
        .await;
    assert_eq!(u["active"], true);
    let id = u["id"].as_str().unwrap();
    let b = patch_user(
        &app,
        id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    assert_eq!(b["active"], false);
    let b = patch_user(
        &app,
        id,
        json!([{"op": "replace", "value": {"active": "TRUE"}}]),
    )
    .await;
    assert_eq!(b["active"], true);
    let b = patch_user(
        &app,
        id,
        json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": "true"}]}]),
    )
    .await;
    assert_eq!(b["emails"][0]["primary"], true);
}

#[tokio::test]
async fn quirk_pathless_replace_with_dotted_and_urn_keys() {
    let app = TestApp::new().await;
    let id = app.user("u").await;
    let b = patch_user(
        &app,
        &id,
        json!([{"op": "replace", "value": {
            "name.givenName": "Barbara", "name.familyName": "Jensen",
            format!("{ENTERPRISE}:employeeNumber"): "701984",
            "displayName": "Babs"
        }}]),
    )
    .await;
    assert_eq!(
        b["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen"})
    );
    assert_eq!(b[ENTERPRISE]["employeeNumber"], "701984");
    assert_eq!(b["displayName"], "Babs");
}

#[tokio::test]
async fn quirk_value_path_add_creates_the_element() {
    let app = TestApp::new().await;
    let id = app.user("u").await;
    let b = patch_user(
        &app,
        &id,
        json!([
            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x.com"},
            {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main"},
            {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555"}
        ]),
    )
    .await;
    assert_eq!(b["emails"], json!([{"type": "work", "value": "w@x.com"}]));
    assert_eq!(
        b["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main"}])
    );
    assert_eq!(
        b["phoneNumbers"],
        json!([{"type": "mobile", "value": "555"}])
    );
    // A second add through the same path updates, not duplicates.
    let b = patch_user(
        &app,
        &id,
        json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "v@x.com"}]),
    )
    .await;
    assert_eq!(b["emails"], json!([{"type": "work", "value": "v@x.com"}]));
}

#[tokio::test]
async fn quirk_attribute_names_case_insensitive() {
    let app = TestApp::new().await;
    let id = app.user("u").await;
    let b = patch_user(
        &app,
        &id,
        json!([{"op": "add", "path": "Emails[Type eq \"other\"].Value", "value": "o@x.com"},
               {"op": "add", "path": "NAME.GIVENNAME", "value": "G"}]),
    )
    .await;
    assert_eq!(b["emails"], json!([{"type": "other", "value": "o@x.com"}]));
    assert_eq!(b["name"]["givenName"], "G");
    let u = app
        .user_from(json!({"schemas": [USER], "USERNAME": "v", "Title": "T"}))
        .await;
    assert_eq!(u["userName"], "v");
    assert_eq!(u["title"], "T");
}

#[tokio::test]
async fn quirk_manager_in_every_shape() {
    let app = TestApp::new().await;
    let boss = app.user("boss").await;
    let id = app.user("u").await;
    let expect = json!({"value": boss});
    for (op, path, value) in [
        (
            "Add",
            "manager".to_string(),
            json!([{"$ref": null, "value": boss}]),
        ),
        ("replace", format!("{ENTERPRISE}:manager"), json!(boss)),
        (
            "add",
            format!("{ENTERPRISE}:manager"),
            json!({"value": boss}),
        ),
    ] {
        let b = patch_user(
            &app,
            &id,
            json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")}]),
        )
        .await;
        assert!(b.get(ENTERPRISE).is_none());
        let b = patch_user(&app, &id, json!([{"op": op, "path": path, "value": value}])).await;
        assert_eq!(b[ENTERPRISE]["manager"], expect, "{path} {value}");
    }
    // Replace with empty removes it.
    for empty in [json!(""), json!(null), json!({"value": ""})] {
        patch_user(
            &app,
            &id,
            json!([{"op": "add", "path": "manager", "value": {"value": boss}}]),
        )
        .await;
        let b = patch_user(
            &app,
            &id,
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": empty}]),
        )
        .await;
        let m = b.get(ENTERPRISE).and_then(|e| e.get("manager")).cloned();
        assert!(m.is_none(), "{empty}: {m:?}");
    }
    // Entra ID checks the manager with `manager eq`.
    patch_user(
        &app,
        &id,
        json!([{"op": "add", "path": "manager", "value": {"value": boss}}]),
    )
    .await;
    let names = app
        .user_names(&format!(
            "filter={}",
            enc(&format!(r#"manager eq "{boss}""#))
        ))
        .await;
    assert_eq!(names, vec!["u"]);
}

/// PATCH a group (204: nothing answered), then the group as it now is.
async fn patched(app: &TestApp, path: &str, ops: Value) -> crate::support::Resp {
    let r = app.patch(path, &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    app.get(path).await
}

#[tokio::test]
async fn quirk_group_member_removal_shapes() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let c = app.user("c").await;
    let g = app.group("G", &[&a, &b, &c]).await;
    let path = format!("/scim/v2/Groups/{g}");
    let count = |v: &Value| v["members"].as_array().map(|m| m.len()).unwrap_or(0);
    let r = patched(
        &app,
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    assert_eq!(count(&r.body), 2);
    let r = patched(
        &app,
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}]),
    )
    .await;
    assert_eq!(count(&r.body), 1);
    assert_eq!(r.body["members"][0]["value"], c.as_str());
    let r = patched(&app, &path, json!([{"op": "remove", "path": "members"}])).await;
    assert_eq!(count(&r.body), 0);
    patched(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    let r = patched(
        &app,
        &path,
        json!([{"op": "replace", "path": "members", "value": []}]),
    )
    .await;
    assert_eq!(count(&r.body), 0);
    // Okta: pathless replace re-sending the group's own id and displayName.
    let r = patched(&app, &path, json!([{"op": "replace", "value": {"id": g, "displayName": "G", "members": [{"value": b}]}}])).await;
    assert_eq!(count(&r.body), 1);
}

#[tokio::test]
async fn quirk_unknown_schema_uris_and_nulls_on_create() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/scim/v2/Groups",
            &json!({
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "displayName": "Sales", "externalId": null, "members": null
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([GROUP]));
    let u = app
        .user_from(json!({"schemas": [USER, ENTERPRISE], "userName": "n", "title": null, "department": null, "manager": null,
                           ENTERPRISE: {"department": null}}))
        .await;
    assert!(u.get("title").is_none());
}

#[tokio::test]
async fn quirk_single_email_object_where_an_array_belongs() {
    let app = TestApp::new().await;
    let u = app
        .user_from(json!({"schemas": [USER], "userName": "s", "emails": {"value": "s@x.com", "type": "work"}}))
        .await;
    assert_eq!(u["emails"], json!([{"value": "s@x.com", "type": "work"}]));
}

#[tokio::test]
async fn quirk_query_details_plus_accept_and_feature_flag() {
    let app = TestApp::new().await;
    app.user("bjensen@example.com").await;
    // `+` as space, no Accept header, `?aadOptscim062020` anywhere.
    let req = Request::builder()
        .uri("/scim/v2/Users?aadOptscim062020&filter=userName+eq+%22bjensen%40example.com%22")
        .header("authorization", format!("Bearer {}", app.token))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 1);
    let id = r.body["Resources"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}?aadOptscim062020"),
            Some(&patch_body(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Empty result: 200 and an empty list; unknown id: 404 SCIM error.
    let r = app
        .get("/scim/v2/Users?filter=userName+eq+%22nobody%22&aadOptscim062020")
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].clone()),
        (StatusCode::OK, json!(0))
    );
    app.get("/scim/v2/Users/11111111-1111-4111-8111-111111111111?aadOptscim062020")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn quirk_paged_import_returns_everyone_once() {
    let app = TestApp::new().await;
    for i in 0..23 {
        app.user(&format!("imp{i:02}")).await;
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = app
            .get(&format!("/scim/v2/Users?startIndex={start}&count=5"))
            .await;
        assert_eq!(r.body["totalResults"], 23);
        let page = r.body["Resources"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        assert_eq!(r.body["startIndex"], start);
        seen.extend(
            page.iter()
                .map(|u| u["userName"].as_str().unwrap().to_string()),
        );
        start += 5;
    }
    let expected: Vec<String> = (0..23).map(|i| format!("imp{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn quirk_base_url_pasted_with_a_trailing_slash() {
    let app = TestApp::new().await;
    let id = app.user("slash").await;
    for path in ["/scim/v2//Users", "/scim/v2/Users/", "//scim/v2/Users"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.body["totalResults"], 1);
    }
    let r = app
        .get(&format!("/scim/v2//Users/{id}/?attributes=userName"))
        .await;
    assert_eq!(r.body["userName"], "slash");
    assert!(r.body.get("meta").is_none(), "the query string survives");
}
