//! Cursor pagination (RFC 9865).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::{enc, TestApp};

async fn page(app: &TestApp, query: &str) -> Value {
    let r = app.get(&format!("/scim/v2/Users?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn names(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["userName"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn cursor_pages_cover_everyone_once_while_users_come_and_go() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(app.user(&format!("u{i:02}@c.test")).await);
    }
    let spc = app.get("/scim/v2/ServiceProviderConfig").await.body;
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["pagination"]["index"], true);

    let p1 = page(&app, "cursor&count=10").await;
    assert_eq!(p1["totalResults"], 25);
    assert!(p1.get("previousCursor").is_none());
    assert!(p1.get("startIndex").is_none());
    assert_eq!(names(&p1).len(), 10);
    let next = p1["nextCursor"].as_str().unwrap().to_string();
    // Between two pages: one not yet seen leaves, one new arrives.
    app.delete(&format!("/scim/v2/Users/{}", ids[12])).await;
    app.user("late@c.test").await;
    let p2 = page(&app, &format!("cursor={}&count=10", enc(&next))).await;
    let prev = p2["previousCursor"].as_str().unwrap().to_string();
    let p3 = page(
        &app,
        &format!(
            "cursor={}&count=10",
            enc(p2["nextCursor"].as_str().unwrap())
        ),
    )
    .await;
    assert!(p3.get("nextCursor").is_none(), "last page");
    let mut seen: Vec<String> = [names(&p1), names(&p2), names(&p3)].concat();
    assert_eq!(seen.len(), 25, "24 left of the first 25, plus the late one");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25, "no one twice");
    assert!(seen.contains(&"late@c.test".to_string()));
    assert!(!seen.contains(&"u12@c.test".to_string()));
    // Back from page 2 is page 1 again.
    let back = page(&app, &format!("cursor={}&count=10", enc(&prev))).await;
    assert_eq!(names(&back), names(&p1));
    assert!(back.get("previousCursor").is_none());
}

#[tokio::test]
async fn cursor_works_with_filters_and_search_and_refuses_what_it_cannot_do() {
    let app = TestApp::new().await;
    for i in 0..6 {
        app.user(&format!(
            "{}{i}@c.test",
            if i % 2 == 0 { "even" } else { "odd" }
        ))
        .await;
    }
    let p = page(
        &app,
        &format!("filter={}&cursor=&count=2", enc("userName sw \"even\"")),
    )
    .await;
    assert_eq!(p["totalResults"], 3);
    assert_eq!(names(&p), ["even0@c.test", "even2@c.test"]);
    let r = app
        .post(
            "/scim/v2/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName sw \"even\"", "cursor": p["nextCursor"], "count": 2}),
        )
        .await;
    assert_eq!(names(&r.body), ["even4@c.test"]);
    assert!(r.body.get("nextCursor").is_none());
    app.get("/scim/v2/Users?cursor=zz")
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get("/scim/v2/Users?cursor=n-5")
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get("/scim/v2/Users?cursor=&startIndex=2")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/scim/v2/Users?cursor=&sortBy=userName")
        .await
        .assert_error(400, Some("invalidValue"));
    app.post(
        "/scim/v2/.search",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": ""}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn cursor_edges_count_zero_and_extreme_keys() {
    let app = TestApp::new().await;
    for i in 0..3 {
        app.user(&format!("e{i}@c.test")).await;
    }
    // count=0: the total, no resources, and no position to continue from.
    let p = page(&app, "cursor=&count=0").await;
    assert_eq!(p["totalResults"], 3);
    assert!(p.get("nextCursor").is_none() && p.get("previousCursor").is_none());
    // Keys at the edge of the range are answered, not a server error.
    let p = page(&app, "cursor=n9223372036854775807&count=2").await;
    assert_eq!(names(&p).len(), 0);
    assert!(
        p["previousCursor"].is_string(),
        "everyone is before that key"
    );
    let p = page(&app, "cursor=p0&count=2").await;
    assert_eq!(names(&p).len(), 0);
    assert!(p["nextCursor"].is_string(), "everyone is after that key");
}
