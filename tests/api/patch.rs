//! PATCH through the API: users and group membership.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// PATCH `path`; the resource as it now is. A user PATCH answers 200 with
/// the user, which a fresh GET matches; a group PATCH answers 204 with the
/// new version as its ETag (the default), which a fresh GET matches.
async fn patch_ok(app: &TestApp, path: &str, ops: Value) -> Value {
    let r = app.patch(path, &patch_body(ops)).await;
    let g = app.get(path).await;
    if path.starts_with("/scim/v2/Groups/") {
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        assert!(r.text.is_empty(), "{}", r.text);
        assert_eq!(
            r.header("etag").as_deref(),
            g.body["meta"]["version"].as_str()
        );
    } else {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body, g.body);
    }
    g.body
}

fn sorted_members(v: &Value) -> Vec<String> {
    let mut m: Vec<String> = v["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    m.sort();
    m
}

#[tokio::test]
async fn add_replace_remove_on_user_attributes() {
    let app = TestApp::new().await;
    let id = app.user("p").await;
    let path = format!("/scim/v2/Users/{id}");
    let b = patch_ok(
        &app,
        &path,
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "a@x.com", "type": "work", "primary": true}]},
            {"op": "add", "path": "emails", "value": [{"value": "b@x.com", "type": "home", "primary": true}]},
            {"op": "replace", "path": "name.givenName", "value": "Pat"},
            {"op": "add", "value": {"title": "CTO", "name.familyName": "Doe"}}
        ]),
    )
    .await;
    assert_eq!(
        b["emails"][0]["primary"], false,
        "a new primary clears the old one"
    );
    assert_eq!(b["emails"][1]["primary"], true);
    assert_eq!(b["name"], json!({"givenName": "Pat", "familyName": "Doe"}));
    assert_eq!(b["title"], "CTO");
    let b = patch_ok(
        &app,
        &path,
        json!([
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.com"},
            {"op": "remove", "path": "title"}
        ]),
    )
    .await;
    assert_eq!(
        b["emails"],
        json!([{"value": "new@x.com", "type": "work", "primary": false}])
    );
    assert!(b.get("title").is_none());
}

#[tokio::test]
async fn value_path_add_creates_missing_element() {
    let app = TestApp::new().await;
    let id = app.user("p").await;
    let b = patch_ok(
        &app,
        &format!("/scim/v2/Users/{id}"),
        json!([
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
            {"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}
        ]),
    )
    .await;
    assert_eq!(
        b["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555"}])
    );
    assert_eq!(
        b["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St"}])
    );
}

#[tokio::test]
async fn enterprise_extension_paths() {
    let app = TestApp::new().await;
    let boss = app.user("boss").await;
    let id = app.user("p").await;
    let path = format!("/scim/v2/Users/{id}");
    let b = patch_ok(
        &app,
        &path,
        json!([
            {"op": "add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "42"},
            {"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": boss}}
        ]),
    )
    .await;
    assert_eq!(
        b[ENTERPRISE],
        json!({"employeeNumber": "42", "manager": {"value": boss}})
    );
    assert!(b["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE)));
    let b = patch_ok(
        &app,
        &path,
        json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")},
               {"op": "remove", "path": format!("{ENTERPRISE}:employeeNumber")}]),
    )
    .await;
    assert!(
        b.get(ENTERPRISE).is_none(),
        "an emptied extension disappears"
    );
    assert!(!b["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(ENTERPRISE)));
}

#[tokio::test]
async fn group_membership_operations() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let c = app.user("c").await;
    let g = app.group("G", &[]).await;
    let path = format!("/scim/v2/Groups/{g}");
    let r = patch_ok(&app, &path, json!([{"op": "add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": c}]}])).await;
    assert_eq!(sorted_members(&r), {
        let mut v = vec![a.clone(), b.clone(), c.clone()];
        v.sort();
        v
    });
    // Remove with a value list removes only those listed.
    let r = patch_ok(
        &app,
        &path,
        json!([{"op": "remove", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    assert_eq!(sorted_members(&r).len(), 2);
    assert!(!sorted_members(&r).contains(&a));
    // A value filter removes one.
    let r = patch_ok(
        &app,
        &path,
        json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}]),
    )
    .await;
    assert_eq!(sorted_members(&r), vec![c.clone()]);
    // Replace with [] empties; remove without value empties.
    let r = patch_ok(
        &app,
        &path,
        json!([{"op": "replace", "path": "members", "value": []}]),
    )
    .await;
    assert!(r.get("members").is_none());
    patch_ok(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    let r = patch_ok(&app, &path, json!([{"op": "remove", "path": "members"}])).await;
    assert!(r.get("members").is_none());
    // Adding an existing member again is idempotent.
    patch_ok(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    let r = patch_ok(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    assert_eq!(sorted_members(&r), vec![a.clone()]);
}

#[tokio::test]
async fn okta_style_pathless_replace_resending_id_and_display_name() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let g = app.group("G", &[]).await;
    let r = patch_ok(
        &app,
        &format!("/scim/v2/Groups/{g}"),
        json!([{"op": "replace", "value": {"id": g, "displayName": "Renamed", "members": [{"value": a, "display": "a"}]}}]),
    )
    .await;
    assert_eq!(r["displayName"], "Renamed");
    assert_eq!(r["id"], g.as_str());
    assert_eq!(sorted_members(&r), vec![a]);
}

#[tokio::test]
async fn a_failing_operation_rolls_back_the_whole_patch() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let g = app.group("G", &[]).await;
    let path = format!("/scim/v2/Groups/{g}");
    let r = app
        .patch(
            &path,
            &patch_body(json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "add", "path": "members", "value": [{"value": a}, {"value": "missing"}]}
            ])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let now = app.get(&path).await;
    assert_eq!(now.body["displayName"], "G");
    assert!(now.body.get("members").is_none());
    assert_eq!(now.body["meta"]["version"], "W/\"1\"");
}
