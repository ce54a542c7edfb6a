//! Seats: users and viewers counted apart against optional tenant limits.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

const ACCESS: &str = "urn:rollcall:scim:schemas:extension:access:2.0:User";

fn viewer(name: &str) -> serde_json::Value {
    json!({"schemas": [USER, ACCESS], "userName": name, ACCESS: {"type": "viewer"}})
}

#[tokio::test]
async fn creating_past_a_limit_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    app.store
        .set_seat_limits(&app.tenant, Some(2), Some(1))
        .await
        .unwrap();
    let a = app.user("a").await;
    app.user("b").await;
    let r = app
        .post(
            "/scim/v2/Users",
            &json!({"schemas": [USER], "userName": "c"}),
        )
        .await;
    r.assert_error(403, None);
    assert!(
        r.body["detail"].as_str().unwrap().contains("2 of 2"),
        "{}",
        r.text
    );
    assert_eq!(app.get("/scim/v2/Users").await.body["totalResults"], 2);
    // Viewers have their own seats.
    app.user_from(viewer("v1")).await;
    app.post("/scim/v2/Users", &viewer("v2"))
        .await
        .assert_error(403, None);
    assert_eq!(
        app.seats().await,
        json!({"users": {"used": 2, "limit": 2}, "viewers": {"used": 1, "limit": 1}})
    );
    // A disabled user keeps the seat; a deleted one frees it.
    app.patch(
        &format!("/scim/v2/Users/{a}"),
        &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    app.post(
        "/scim/v2/Users",
        &json!({"schemas": [USER], "userName": "c"}),
    )
    .await
    .assert_error(403, None);
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{a}")).await.status,
        StatusCode::NO_CONTENT
    );
    app.user("c").await;
}

#[tokio::test]
async fn changing_type_needs_a_seat_of_the_new_type() {
    let app = TestApp::new().await;
    app.store
        .set_seat_limits(&app.tenant, None, Some(1))
        .await
        .unwrap();
    app.user_from(viewer("v1")).await;
    let u = app.user("u").await;
    let path = format!("/scim/v2/Users/{u}");
    let r = app
        .patch(
            &path,
            &patch_body(
                json!([{"op": "add", "path": format!("{ACCESS}:type"), "value": "viewer"}]),
            ),
        )
        .await;
    r.assert_error(403, None);
    assert!(app.get(&path).await.body.get(ACCESS).is_none());
    // Unlimited users: any number.
    for i in 0..5 {
        app.user(&format!("more{i}")).await;
    }
    assert_eq!(
        app.seats().await["users"],
        json!({"used": 6, "limit": null})
    );
}
