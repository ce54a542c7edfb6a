//! The token decides the tenant; nothing of one tenant is visible to another.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn ids_filters_and_members_do_not_cross_tenants() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let g = app.group("Admins", &[&alice]).await;
    let other = app.token_for("globex").await;

    // By id: 404 for reads and writes.
    for path in [
        format!("/scim/v2/Users/{alice}"),
        format!("/scim/v2/Groups/{g}"),
    ] {
        app.call_as(&other, Method::GET, &path, None)
            .await
            .assert_error(404, None);
        app.call_as(&other, Method::DELETE, &path, None)
            .await
            .assert_error(404, None);
        app.call_as(
            &other,
            Method::PATCH,
            &path,
            Some(&patch_body(json!([{"op": "remove", "path": "externalId"}]))),
        )
        .await
        .assert_error(404, None);
    }
    // Lists and filters.
    let r = app
        .call_as(&other, Method::GET, "/scim/v2/Users", None)
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = app
        .call_as(
            &other,
            Method::GET,
            &format!("/scim/v2/Users?filter={}", enc(r#"userName eq "alice""#)),
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = app
        .call_as(
            &other,
            Method::GET,
            &format!(
                "/scim/v2/Groups?filter={}",
                enc(&format!(r#"members[value eq "{alice}"]"#))
            ),
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = app
        .call_as(
            &other,
            Method::POST,
            "/scim/v2/.search",
            Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
        )
        .await;
    assert_eq!(r.body["totalResults"], 0);

    // Another tenant cannot add our user to its group.
    let r = app
        .call_as(
            &other,
            Method::POST,
            "/scim/v2/Groups",
            Some(
                &json!({"schemas": [GROUP], "displayName": "Steal", "members": [{"value": alice}]}),
            ),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));

    // Same userName in both tenants is fine.
    let r = app
        .call_as(
            &other,
            Method::POST,
            "/scim/v2/Users",
            Some(&json!({"schemas": [USER], "userName": "alice"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let other_alice = r.body["id"].as_str().unwrap().to_string();
    // Our group's filter does not find their user, and theirs is not our member.
    let r = app
        .get(&format!(
            "/scim/v2/Groups?filter={}",
            enc(&format!(r#"members[value eq "{other_alice}"]"#))
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc(r#"userName eq "alice""#)
        ))
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], alice.as_str());
}
