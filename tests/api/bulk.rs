//! Bulk (RFC 7644 §3.7).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::{TestApp, GROUP, USER};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn req(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

fn statuses(r: &Value) -> Vec<String> {
    r["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn bulk_creates_with_forward_bulk_id_references() {
    let app = TestApp::new().await;
    // The group refers to a user created by a later operation.
    let r = app
        .post(
            "/scim/v2/Bulk",
            &req(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g",
                 "data": {"schemas": [GROUP], "displayName": "Team", "members": [{"value": "bulkId:u"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u",
                 "data": {"schemas": [USER], "userName": "bulk@x.test"}},
                {"method": "PATCH", "path": "/Users/bulkId:u",
                 "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    assert_eq!(statuses(&r.body), ["201", "201", "200"]);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["bulkId"], "g");
    let user_loc = ops[1]["location"].as_str().unwrap();
    let user_id = user_loc.rsplit('/').next().unwrap();
    assert!(ops[1]["version"].as_str().unwrap().starts_with("W/\""));
    let group_id = ops[0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let g = app.get(&format!("/scim/v2/Groups/{group_id}")).await;
    assert_eq!(g.body["members"][0]["value"], user_id);
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{user_id}")).await.body["title"],
        "Lead"
    );
}

#[tokio::test]
async fn bulk_circular_references_answer_409_and_run_nothing_of_the_cycle() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/scim/v2/Bulk",
            &req(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "a",
                 "data": {"schemas": [GROUP], "displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b",
                 "data": {"schemas": [GROUP], "displayName": "B", "members": [{"value": "bulkId:a"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "ok",
                 "data": {"schemas": [USER], "userName": "fine@x.test"}}
            ])),
        )
        .await;
    assert_eq!(statuses(&r.body), ["409", "409", "201"]);
    assert!(r.body["Operations"][0]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("circular"));
    assert_eq!(app.get("/scim/v2/Groups").await.body["totalResults"], 0);
}

#[tokio::test]
async fn bulk_errors_stay_per_operation_and_fail_on_errors_stops() {
    let app = TestApp::new().await;
    app.user("taken@x.test").await;
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "1", "data": {"schemas": [USER], "userName": "taken@x.test"}},
        {"method": "DELETE", "path": "/Users/no-such-id"},
        {"method": "FETCH", "path": "/Users"},
        {"method": "POST", "path": "/Users", "bulkId": "2", "data": {"schemas": [USER], "userName": "new@x.test"}},
        {"method": "PATCH", "path": "/Users/bulkId:1", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}}
    ]);
    let r = app.post("/scim/v2/Bulk", &req(ops.clone())).await;
    assert_eq!(statuses(&r.body), ["409", "404", "400", "201", "409"]);
    assert_eq!(
        r.body["Operations"][0]["response"]["scimType"],
        "uniqueness"
    );
    assert!(r.body["Operations"][4]["response"]["detail"]
        .as_str()
        .unwrap()
        .contains("bulkId \"1\""));
    // failOnErrors: 2 → stops after the second error; the create never runs.
    let app = TestApp::new().await;
    app.user("taken@x.test").await;
    let mut body = req(ops);
    body["failOnErrors"] = json!(2);
    let r = app.post("/scim/v2/Bulk", &body).await;
    assert_eq!(statuses(&r.body), ["409", "404"]);
    assert!(app
        .user_names("filter=userName%20eq%20%22new@x.test%22")
        .await
        .is_empty());
}

#[tokio::test]
async fn bulk_limits_are_announced_and_enforced() {
    let app = TestApp::new().await;
    let spc = app.get("/scim/v2/ServiceProviderConfig").await.body;
    let max = spc["bulk"]["maxOperations"].as_u64().unwrap() as usize;
    assert!(max >= 10_000);
    let op = json!({"method": "DELETE", "path": "/Users/x"});
    let r = app
        .post("/scim/v2/Bulk", &req(Value::Array(vec![op; max + 1])))
        .await;
    r.assert_error(413, None);
    // Larger than bulk.maxPayloadSize: 413 before anything runs.
    let big = "x".repeat(spc["bulk"]["maxPayloadSize"].as_u64().unwrap() as usize);
    let r = app
        .post("/scim/v2/Bulk", &req(json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": big}}])))
        .await;
    r.assert_error(413, None);
    assert_eq!(app.audit_count().await, 0);
    // A bad envelope is a 400.
    app.post(
        "/scim/v2/Bulk",
        &json!({"schemas": [BULK], "Operations": "no"}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    app.post(
        "/scim/v2/Bulk",
        &json!({"schemas": [BULK], "failOnErrors": 0, "Operations": []}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn bulk_of_ten_thousand_operations_runs_in_one_request() {
    let app = TestApp::new().await;
    let ops: Vec<Value> = (0..10_000)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": {"schemas": [USER], "userName": format!("u{i}@bulk.test")}}))
        .collect();
    let r = app.post("/scim/v2/Bulk", &req(Value::Array(ops))).await;
    assert_eq!(r.status, StatusCode::OK);
    let s = statuses(&r.body);
    assert_eq!(s.len(), 10_000);
    assert!(s.iter().all(|x| x == "201"));
    assert_eq!(
        app.get("/scim/v2/Users?count=0").await.body["totalResults"],
        10_000
    );
}

#[tokio::test]
async fn bulk_references_live_only_in_reference_positions() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/scim/v2/Bulk",
            &req(json!([
                // A PATCH may carry a bulkId too: it does not clash with the POST's.
                {"method": "PATCH", "path": "/Users/bulkId:u", "bulkId": "u",
                 "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [{"op": "replace", "path": "nickName", "value": "bulkId:not-a-reference"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u",
                 "data": {"schemas": [USER], "userName": "plain@x.test", "title": "bulkId:also-data"}},
                {"method": "POST", "path": "/Groups", "bulkId": "g",
                 "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:u"}]}},
                {"method": "PATCH", "path": "/Groups/bulkId:g",
                 "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [{"op": "remove", "path": "members[value eq \"bulkId:u\"]"}]}}
            ])),
        )
        .await;
    assert_eq!(
        statuses(&r.body),
        ["200", "201", "201", "200"],
        "{}",
        r.text
    );
    let uid = r.body["Operations"][1]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let u = app.get(&format!("/scim/v2/Users/{uid}")).await.body;
    assert_eq!(u["title"], "bulkId:also-data");
    assert_eq!(u["nickName"], "bulkId:not-a-reference");
    let gid = r.body["Operations"][2]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(app
        .get(&format!("/scim/v2/Groups/{gid}"))
        .await
        .body
        .get("members")
        .is_none());
}

#[tokio::test]
async fn bulk_cycles_count_toward_fail_on_errors() {
    let app = TestApp::new().await;
    let mut body = req(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "a",
         "data": {"schemas": [GROUP], "displayName": "A", "members": [{"value": "bulkId:b"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b",
         "data": {"schemas": [GROUP], "displayName": "B", "members": [{"value": "bulkId:a"}]}}
    ]));
    body["failOnErrors"] = json!(1);
    let r = app.post("/scim/v2/Bulk", &body).await;
    assert_eq!(statuses(&r.body), ["409"]);
}

/// Bulk runs its operations in chunks of one transaction each; an
/// operation refused inside the transaction (here a uniqueness conflict,
/// found by a query) rolls the chunk back and the chunk runs again without
/// it. Every operation must still be whole or absent: one audit row and one
/// event per success, none for a refusal, nothing twice.
#[tokio::test]
async fn bulk_operations_refused_inside_a_chunk_leave_the_others_whole_and_recorded_once() {
    let app = TestApp::new().await;
    app.user("taken@x.test").await;
    let audit_before = app.audit_count().await;
    let mut ops = Vec::new();
    let mut expected = Vec::new();
    for k in 0..6 {
        ops.push(
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{k}"),
                        "data": {"schemas": [USER], "userName": format!("ok{k}@x.test")}}),
        );
        expected.push("201");
        if k % 2 == 1 {
            ops.push(
                json!({"method": "POST", "path": "/Users", "bulkId": format!("c{k}"),
                            "data": {"schemas": [USER], "userName": "TAKEN@x.test"}}),
            );
            expected.push("409");
        }
    }
    ops.push(json!({"method": "PATCH", "path": "/Users/bulkId:u0",
                    "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                             "Operations": [{"op": "replace", "path": "active", "value": false}]}}));
    expected.push("200");
    // A refusal before any statement (a bad body) is answered in place.
    ops.push(
        json!({"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER]}}),
    );
    expected.push("400");
    let r = app.post("/scim/v2/Bulk", &req(json!(ops))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(statuses(&r.body), expected);
    // Six users created once each, the conflicting name still one user.
    let names = app.user_names("count=100").await;
    assert_eq!(names.len(), 7, "{names:?}");
    for k in 0..6 {
        assert_eq!(
            names
                .iter()
                .filter(|n| **n == format!("ok{k}@x.test"))
                .count(),
            1
        );
    }
    // Six creates and one deactivation: seven audit rows, no more.
    assert_eq!(app.audit_count().await - audit_before, 7);
    let events = app.dump_table("outbox").await;
    let created = events
        .iter()
        .filter(|r| r.iter().any(|c| c == "user.created"))
        .count();
    let deactivated = events
        .iter()
        .filter(|r| r.iter().any(|c| c == "user.deactivated"))
        .count();
    assert_eq!((created, deactivated), (7, 1));
    // The PATCH found the user its bulkId named, after the chunk re-ran,
    // and the outbox keeps the order of the changes.
    let id = r.body["Operations"][0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}")).await.body["active"],
        false
    );
    let event_id = |kind: &str| -> i64 {
        events
            .iter()
            .find(|r| r[3] == kind && r[4] == id)
            .map(|r| r[0].parse().unwrap())
            .unwrap()
    };
    assert!(event_id("user.created") < event_id("user.deactivated"));
}

/// A chunk holds its users' new rows until its next statement: what an
/// operation reads (the same user again, a userName's owner, an ETag)
/// still sees every operation before it, on both stores.
#[tokio::test]
async fn bulk_updates_in_one_chunk_see_the_ones_before_them() {
    let app = TestApp::new().await;
    let a = app.user("a@x.test").await;
    let b = app.user("b@x.test").await;
    let c = app.user("c@x.test").await;
    let audit_before = app.audit_count().await;
    let patch = |path: String, attr: &str, value: Value, version: Option<&str>| {
        let mut op = json!({"method": "PATCH", "path": path,
            "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": attr, "value": value}]}});
        if let Some(v) = version {
            op["version"] = json!(v);
        }
        op
    };
    let ops = json!([
        patch(format!("/Users/{a}"), "active", json!(false), None),
        patch(format!("/Users/{a}"), "displayName", json!("Ada"), None),
        patch(format!("/Users/{b}"), "userName", json!("renamed@x.test"), None),
        {"method": "POST", "path": "/Users", "bulkId": "dup",
         "data": {"schemas": [USER], "userName": "RENAMED@x.test"}},
        patch(format!("/Users/{c}"), "active", json!(false), Some("W/\"1\"")),
        patch(format!("/Users/{c}"), "displayName", json!("stale"), Some("W/\"1\"")),
    ]);
    let r = app.post("/scim/v2/Bulk", &req(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        statuses(&r.body),
        ["200", "200", "200", "409", "200", "412"],
        "{}",
        r.text
    );
    // The second PATCH of a ran on the first one's row.
    assert_eq!(r.body["Operations"][1]["version"], "W/\"3\"");
    let access = "urn:rollcall:scim:schemas:extension:access:2.0:User";
    let got = app.get(&format!("/scim/v2/Users/{a}")).await.body;
    assert_eq!(
        (&got["active"], &got["displayName"], &got["meta"]["version"]),
        (&json!(false), &json!("Ada"), &json!("W/\"3\""))
    );
    let status = |id: String| {
        let path = format!("/scim/v2/Users/{id}?attributes={access}:status");
        let app = &app;
        async move { app.get(&path).await.body[access]["status"].clone() }
    };
    assert_eq!(status(a.clone()).await, "disabled");
    assert_eq!(
        app.user_names("filter=userName%20eq%20%22RENAMED@x.test%22")
            .await,
        ["renamed@x.test"]
    );
    let got = app.get(&format!("/scim/v2/Users/{c}")).await.body;
    assert_eq!(
        (&got["active"], &got["displayName"]),
        (&json!(false), &Value::Null)
    );
    assert_eq!(status(c.clone()).await, "disabled");
    // Four changes, four audit rows.
    assert_eq!(app.audit_count().await - audit_before, 4);
}

/// A chunk's run of creates reads its guards' answers ahead and inserts
/// its users multi-row before its next statement: a userName taken
/// earlier in the run (compared folded) or before it is refused, a later
/// operation finds a user created earlier in the chunk, and each new
/// user's rows (its emails for filters, its search terms, the email the
/// admin list sorts by, its status) are what a single create writes.
#[tokio::test]
async fn bulk_creates_in_one_chunk_see_the_ones_before_them() {
    let app = TestApp::new().await;
    let (_, token) = crate::directory::root(&app).await;
    app.user("taken@x.test").await;
    let audit_before = app.audit_count().await;
    let create = |bulk_id: &str, data: Value| {
        let mut data = data;
        data["schemas"] = json!([USER]);
        json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
    };
    let ops = json!([
        create("b0", json!({"userName": "Édith@x.test", "externalId": "e-0",
            "emails": [{"value": "Edith@X.test", "primary": true}]})),
        create("b1", json!({"userName": "ÉDITH@X.TEST"})),
        create("b2", json!({"userName": "TAKEN@x.test"})),
        create("b3", json!({"userName": "zoë@x.test", "active": false,
            "emails": [{"value": "zz@x.test"}, {"value": "aa@x.test"}]})),
        create("b4", json!({"userName": "z2@x.test", "emails": [{"value": "mm@x.test"}]})),
        {"method": "PATCH", "path": "/Users/bulkId:b0",
         "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                  "Operations": [{"op": "replace", "path": "displayName", "value": "Édith"}]}},
        create("b6", json!({"userName": "after@x.test"})),
    ]);
    let r = app.post("/scim/v2/Bulk", &req(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        statuses(&r.body),
        ["201", "409", "409", "201", "201", "200", "201"],
        "{}",
        r.text
    );
    let detail = r.body["Operations"][1]["response"]["detail"].to_string();
    assert!(
        detail.contains("Édith@x.test") || detail.contains("ÉDITH"),
        "{detail}"
    );
    let id = |i: usize| {
        let loc = r.body["Operations"][i]["location"].as_str().unwrap();
        loc.rsplit('/').next().unwrap().to_string()
    };
    let edith = app.get(&format!("/scim/v2/Users/{}", id(0))).await.body;
    assert_eq!(
        (&edith["displayName"], &edith["meta"]["version"]),
        (&json!("Édith"), &json!("W/\"2\""))
    );
    let access = "urn:rollcall:scim:schemas:extension:access:2.0:User";
    let status = |i: usize| {
        let path = format!("/scim/v2/Users/{}?attributes={access}:status", id(i));
        let app = &app;
        async move { app.get(&path).await.body[access]["status"].clone() }
    };
    assert_eq!(status(0).await, "created");
    assert_eq!(status(3).await, "disabled");
    // Their multi-valued rows answer filters.
    assert_eq!(
        app.user_names("filter=emails.value%20eq%20%22edith@x.TEST%22")
            .await,
        ["Édith@x.test"]
    );
    assert_eq!(
        app.user_names("filter=emails.value%20eq%20%22aa@x.test%22")
            .await,
        ["zoë@x.test"]
    );
    // Their search terms and sort emails are written.
    let list = |q: &str| {
        let path = format!("/admin/v1/users?{q}");
        let (app, token) = (&app, &token);
        async move {
            let r = app
                .call_as(token, axum::http::Method::GET, &path, None)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("search=ZO").await, ["zoë@x.test"]);
    assert_eq!(list("search=mm%40").await, ["z2@x.test"]);
    // By email: aa (zoë's least), edith, mm; then the users without one.
    assert_eq!(
        list("sort=email&page_size=30").await[..3],
        ["zoë@x.test", "Édith@x.test", "z2@x.test"]
    );
    // Four users created and one changed: five audit rows.
    assert_eq!(app.audit_count().await - audit_before, 5);
}

/// A Bulk create of a deleted user's externalId meets the re-created-user
/// rule inside a run of creates, as a single create does.
#[tokio::test]
async fn bulk_creates_again_a_deleted_user_held_for_review() {
    let app = TestApp::new().await;
    let ann = app
        .user_from(json!({"schemas": [USER], "userName": "ann", "externalId": "E-1"}))
        .await;
    let old = ann["id"].as_str().unwrap().to_string();
    app.delete(&format!("/scim/v2/Users/{old}")).await;
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a",
         "data": {"schemas": [USER], "userName": "cy"}},
        {"method": "POST", "path": "/Users", "bulkId": "b",
         "data": {"schemas": [USER], "userName": "ann", "externalId": "E-1"}},
        {"method": "POST", "path": "/Users", "bulkId": "c",
         "data": {"schemas": [USER], "userName": "CY"}},
    ]);
    let r = app.post("/scim/v2/Bulk", &req(ops)).await;
    assert_eq!(statuses(&r.body), ["201", "201", "409"], "{}", r.text);
    let loc = r.body["Operations"][1]["location"].as_str().unwrap();
    let new = loc.rsplit('/').next().unwrap();
    assert_ne!(new, old);
    let d = app.user_detail(new).await.unwrap();
    assert_eq!(d["status"], "banned", "{d}");
    assert!(d["ban"]["reason"].as_str().unwrap().contains(&old), "{d}");
}
