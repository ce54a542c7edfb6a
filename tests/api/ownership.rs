//! Ownership transfer, complete (`directory/lifecycle/handover.rs`,
//! `successor.rs`, `delete.rs`, `directory/hooks/answer.rs`): a user made a
//! viewer by any door hands their assets to a successor and stays; at a
//! deletion an admin may have the assets deleted instead; the host's 2xx
//! answer may list what moved, and the list is kept in the audit. A real
//! host on a loopback port; the clock is the test's.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{access, admin, root, ACCESS, ACME};
use crate::lifecycle::{verify, with_hook, Receiver, HOST_HEADER_SECRET};
use crate::policy::{applied, get_policy, put_policy, rule_mut};
use crate::snapshot::Snapshots;
use crate::support::{patch_body, scoped_token, TestApp, ENTERPRISE, USER};

/// A mapping rule: members of the group Viewers are viewers.
const VIEWERS_GROUP: &str = r#"
[[role_mapping]]
name = "Viewers group"
match = { group = "Viewers" }
set = { type = "viewer" }
"#;

/// The tenant without a hook: its fallback owner is it@acme.test.
async fn without_hook() -> TestApp {
    let acme = ACME.replace(
        "[tenants.acme]\n",
        "[tenants.acme]\nfallback_owner = \"it@acme.test\"\n",
    );
    TestApp::from_toml(&acme).await
}

/// A host on a loopback port, the tenant with its hook (its fallback owner
/// it@acme.test not created), and root's admin token.
async fn hooked() -> (Receiver, TestApp, String) {
    let (recv, url) = Receiver::start().await;
    let app = with_hook(&url, "").await;
    let (_, token) = root(&app).await;
    (recv, app, token)
}

/// A user whose enterprise manager is `boss`.
async fn managed_by(app: &TestApp, name: &str, boss: &str) -> String {
    let body = json!({"schemas": [USER, ENTERPRISE], "userName": name,
                      ENTERPRISE: {"manager": {"value": boss}}});
    app.user_from(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The admin API's change of a user's local access.
async fn set_access(app: &TestApp, token: &str, id: &str, body: Value) -> crate::support::Resp {
    let path = format!("/admin/v1/users/{id}/access");
    admin(app, token, Method::PATCH, &path, Some(body)).await
}

/// `GET /admin/v1/transfers`: the transfers not yet acknowledged.
async fn transfers(app: &TestApp, token: &str) -> Vec<Value> {
    let r = admin(app, token, Method::GET, "/admin/v1/transfers", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

/// The audit rows about `id` with `action`.
async fn audit_of(app: &TestApp, id: &str, action: &str) -> Vec<Value> {
    let rows = app.store.audit_log(&app.tenant).await.unwrap();
    rows.into_iter()
        .filter(|r| r["objectId"] == id && r["action"] == action)
        .collect()
}

/// The events of a kind, their payloads.
async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let events = app.store.events(&app.tenant).await.unwrap();
    events
        .into_iter()
        .filter(|(k, _, _)| k == kind)
        .map(|(_, _, p)| p)
        .collect()
}

async fn round(app: &TestApp) {
    app.directory.deliver_due().await.unwrap();
}

async fn user_type(app: &TestApp, id: &str) -> Value {
    access(app, id).await["type"]["value"].clone()
}

/// The details of a user's one audit row with `action`.
async fn details_of(app: &TestApp, id: &str, action: &str) -> Value {
    let rows = audit_of(app, id, action).await;
    assert_eq!(rows.len(), 1, "{action} of {id}: {rows:?}");
    rows[0]["details"].clone()
}

#[tokio::test]
async fn rule_a_downgrade_to_viewer_hands_the_assets_to_the_successor() {
    let (recv, url) = Receiver::start().await;
    let app = with_hook(&url, VIEWERS_GROUP).await;
    let (_, token) = root(&app).await;
    let boss = app.user("boss@acme.test").await;
    let it = app.user("it@acme.test").await;
    let heir = app.user("heir@acme.test").await;
    // The identity provider, over SCIM: a role the mapping makes a viewer.
    // The manager receives the assets.
    let a = managed_by(&app, "a@acme.test", &boss).await;
    let add_role = json!([{"op": "add", "path": "roles", "value": [{"value": "datalore-viewer"}]}]);
    let r = app
        .patch(&format!("/scim/v2/Users/{a}"), &patch_body(add_role))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A group membership through a mapping rule: the fallback owner.
    let b = app.user("b@acme.test").await;
    app.group("Viewers", &[&b]).await;
    // The admin API, naming the successor.
    let c = app.user("c@acme.test").await;
    let named = json!({"type": "viewer", "transferTo": "heir@acme.test"});
    let r = set_access(&app, &token, &c, named).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A policy apply: Eng members become viewers.
    let e = app.user("e@acme.test").await;
    app.group("Eng", &[&e]).await;
    let mut doc = get_policy(&app, &token).await;
    rule_mut(&mut doc, "Eng plan")["set"]["type"] = json!("viewer");
    let r = put_policy(&app, &token, &doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(applied(&app, &token, 1).await["state"], "done");

    let want = [
        (&a, &boss, "manager"),
        (&b, &it, "fallback"),
        (&c, &heir, "request"),
        (&e, &it, "fallback"),
    ];
    let queued = transfers(&app, &token).await;
    assert_eq!(queued.len(), 4, "{queued:?}");
    for (user, successor, source) in want {
        let t = queued
            .iter()
            .find(|t| t["userId"] == user.as_str())
            .unwrap();
        assert_eq!(
            (&t["reason"], &t["assets"]),
            (&json!("viewer"), &json!("transfer"))
        );
        assert_eq!(t["successorId"], successor.as_str(), "{t}");
        let d = details_of(&app, user, "ownership_transfer_queued").await;
        assert_eq!(
            (&d["reason"], &d["successor"]["source"]),
            (&json!("viewer"), &json!(source))
        );
        assert_eq!(user_type(&app, user).await, "viewer");
    }
    assert!(
        recv.calls.lock().unwrap().is_empty(),
        "nothing is sent inside a request"
    );

    round(&app).await;
    let calls = recv.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 4);
    for (headers, body) in &calls {
        assert!(verify(headers, body), "signed as a deletion's call is");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(headers["rollcall-delivery"], "ownership.transfer");
        assert_eq!(
            headers["idempotency-key"].to_str().unwrap(),
            v["idempotencyKey"]
        );
        assert_eq!(
            (&v["type"], &v["reason"], &v["assets"]),
            (
                &json!("ownership.transfer"),
                &json!("viewer"),
                &json!("transfer")
            )
        );
        let (user, successor, _) = want
            .iter()
            .find(|w| v["user"]["id"] == w.0.as_str())
            .unwrap();
        assert_eq!(v["successor"]["id"], successor.as_str(), "{v}");
        let d = details_of(&app, user, "ownership_transferred").await;
        assert_eq!(
            (&d["reason"], &d["successor"]["id"]),
            (&json!("viewer"), &json!(successor))
        );
        // The user stays: live, a viewer, not deleted.
        let detail = app.user_detail(user).await.unwrap();
        assert_eq!(
            (&detail["status"], &detail["deletion"]),
            (&json!("created"), &Value::Null),
            "{detail}"
        );
        assert_eq!(
            app.get(&format!("/scim/v2/Users/{user}")).await.status,
            StatusCode::OK
        );
    }
    assert!(transfers(&app, &token).await.is_empty(), "all acknowledged");
    let done = events_of(&app, "user.ownership_transferred").await;
    assert_eq!(done.len(), 4);
    assert!(done.iter().all(|e| e["reason"] == "viewer"), "{done:?}");
    assert!(events_of(&app, "user.deleted").await.is_empty());
}

#[tokio::test]
async fn rule_a_downgrade_without_a_successor_waits_until_an_admin_names_one() {
    // The fallback owner it@acme.test does not exist: nobody to receive.
    let (recv, app, token) = hooked().await;
    let heir = app.user("heir@acme.test").await;
    let w = app.user("w@acme.test").await;
    let r = set_access(&app, &token, &w, json!({"type": "viewer"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = transfers(&app, &token).await;
    assert_eq!(t.len(), 1);
    assert_eq!(
        (&t[0]["successorId"], &t[0]["reason"]),
        (&Value::Null, &json!("viewer"))
    );
    let why = t[0]["waiting"].as_str().unwrap();
    assert!(
        why.contains("no manager") && why.contains("it@acme.test"),
        "{why}"
    );
    let d = details_of(&app, &w, "ownership_transfer_waiting").await;
    assert_eq!(d["successor"], Value::Null);
    let pending = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/deliveries?state=pending&kind=transfer",
        None,
    )
    .await;
    assert_eq!(
        pending.body["items"],
        json!([]),
        "no call is due while it waits"
    );
    round(&app).await;
    assert!(recv.calls.lock().unwrap().is_empty());

    // The admin names one: a viewer cannot receive, heir can.
    let path = format!("/admin/v1/users/{w}/transfer");
    let viewer = app.user("v@acme.test").await;
    set_access(&app, &token, &viewer, json!({"type": "viewer"})).await;
    let name = |successor: Value| {
        let body = json!({"successor": successor});
        admin(&app, &token, Method::POST, &path, Some(body))
    };
    let r = name(json!("v@acme.test")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = name(json!(heir)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "created", "the user stays");
    let t = transfers(&app, &token).await;
    let t = t.iter().find(|t| t["userId"] == w.as_str()).unwrap();
    assert_eq!(
        (&t["successorId"], &t["waiting"]),
        (&json!(heir), &Value::Null)
    );
    round(&app).await;
    let bodies = recv.bodies();
    let sent = bodies
        .iter()
        .find(|b| b["user"]["id"] == w.as_str())
        .unwrap();
    assert_eq!(sent["successor"]["id"], heir.as_str());
    assert_eq!(
        details_of(&app, &w, "ownership_transferred").await["successor"]["id"],
        heir.as_str()
    );
    let again = name(json!(heir)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "nothing waits any more");
}

#[tokio::test]
async fn rule_a_re_promotion_before_delivery_cancels_only_a_transfer_still_waiting() {
    let (recv, app, token) = hooked().await;
    let boss = app.user("boss@acme.test").await;
    // Queued, then a user again before the host was called: the call goes.
    let q = managed_by(&app, "q@acme.test", &boss).await;
    set_access(&app, &token, &q, json!({"type": "viewer"})).await;
    let r = set_access(&app, &token, &q, json!({"type": "user"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Waiting for a successor, then a user again: nothing left to hand over.
    let w = app.user("w@acme.test").await;
    set_access(&app, &token, &w, json!({"type": "viewer"})).await;
    set_access(&app, &token, &w, json!({"type": null})).await;
    assert_eq!(user_type(&app, &w).await, "user");
    assert_eq!(
        audit_of(&app, &w, "ownership_transfer_cancelled")
            .await
            .len(),
        1
    );
    let t = transfers(&app, &token).await;
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["userId"], q.as_str());
    round(&app).await;
    let bodies = recv.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        (&bodies[0]["user"]["id"], &bodies[0]["successor"]["id"]),
        (&json!(q), &json!(boss))
    );
    assert_eq!(audit_of(&app, &q, "ownership_transferred").await.len(), 1);
    assert_eq!(
        user_type(&app, &q).await,
        "user",
        "the transfer changes no type"
    );
}

#[tokio::test]
async fn rule_a_downgrade_without_a_hook_audits_the_handover_at_once() {
    let app = without_hook().await;
    let (_, token) = root(&app).await;
    let boss = app.user("boss@acme.test").await;
    let a = managed_by(&app, "a@acme.test", &boss).await;
    let r = app
        .patch(
            &format!("/scim/v2/Users/{a}"),
            &patch_body(
                json!([{"op": "replace", "path": format!("{ACCESS}:type"), "value": "viewer"}]),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(user_type(&app, &a).await, "viewer");
    let d = details_of(&app, &a, "ownership_transferred").await;
    assert_eq!(
        (&d["reason"], &d["successor"]["id"]),
        (&json!("viewer"), &json!(boss))
    );
    let e = events_of(&app, "user.ownership_transferred").await;
    assert_eq!((e.len(), &e[0]["successor"]["id"]), (1, &json!(boss)));
    assert!(transfers(&app, &token).await.is_empty(), "nothing to call");
    // Nobody to receive (no manager, no fallback owner yet): said, not waited on.
    let n = app.user("n@acme.test").await;
    set_access(&app, &token, &n, json!({"type": "viewer"})).await;
    let row = &audit_of(&app, &n, "ownership_transferred").await[0];
    assert!(
        row["description"]
            .as_str()
            .unwrap()
            .contains("nobody receives"),
        "{row}"
    );
    assert!(transfers(&app, &token).await.is_empty());
}

#[tokio::test]
async fn rule_delete_assets_instead_completes_the_deletion_without_a_successor() {
    let (recv, app, token) = hooked().await;
    let boss = app.user("boss@acme.test").await;
    // No successor is needed: this one has no manager and the tenant's
    // fallback owner does not exist, yet the deletion never waits.
    let x = app.user("x@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{x}?assets=delete"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let del = &r.body["deletion"];
    assert_eq!(
        (&del["state"], &del["assets"], &del["successor"]),
        (&json!("deleting_assets"), &json!("delete"), &Value::Null),
        "{del}"
    );
    assert_eq!(details_of(&app, &x, "deleted").await["assets"], "delete");
    let t = transfers(&app, &token).await;
    assert_eq!(
        (&t[0]["assets"], &t[0]["successorId"]),
        (&json!("delete"), &Value::Null)
    );
    // The IdP cannot choose: a SCIM DELETE transfers.
    let m = managed_by(&app, "m@acme.test", &boss).await;
    app.delete(&format!("/scim/v2/Users/{m}")).await;
    assert_eq!(
        app.user_detail(&m).await.unwrap()["deletion"]["state"],
        "transferring"
    );

    round(&app).await;
    let bodies = recv.bodies();
    let call = bodies
        .iter()
        .find(|b| b["user"]["id"] == x.as_str())
        .unwrap();
    assert_eq!(
        (&call["reason"], &call["assets"], &call["successor"]),
        (&json!("deletion"), &json!("delete"), &Value::Null)
    );
    let scim = bodies
        .iter()
        .find(|b| b["user"]["id"] == m.as_str())
        .unwrap();
    assert_eq!(
        (&scim["assets"], &scim["successor"]["id"]),
        (&json!("transfer"), &json!(boss))
    );
    let detail = app.user_detail(&x).await.unwrap();
    assert_eq!(
        detail["deletion"]["state"], "deleted",
        "completed on the 2xx"
    );
    assert!(detail["purgeAfter"].is_string());
    assert_eq!(
        details_of(&app, &x, "assets_deleted").await["assets"],
        "delete"
    );
    let deleted = events_of(&app, "user.deleted").await;
    assert!(
        deleted
            .iter()
            .any(|e| e["id"] == x.as_str() && e["assets"] == "delete"),
        "{deleted:?}"
    );

    // Without a hook: complete at once, audited with assets: delete.
    let app = without_hook().await;
    let (_, token) = root(&app).await;
    let y = app.user("y@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{y}?assets=delete"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["deletion"]["state"], &r.body["deletion"]["assets"]),
        (&json!("deleted"), &json!("delete"))
    );
    assert_eq!(details_of(&app, &y, "deleted").await["assets"], "delete");
    let deleted = events_of(&app, "user.deleted").await;
    assert_eq!(deleted.last().unwrap()["assets"], "delete");
}

#[tokio::test]
async fn rule_assets_is_transfer_or_delete_and_delete_names_no_successor() {
    let (_recv, app, token) = hooked().await;
    app.user("heir@acme.test").await;
    let x = app.user("x@acme.test").await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    for (query, says) in [
        ("assets=bogus", "assets must be transfer or delete"),
        (
            "assets=delete&transfer_to=heir@acme.test",
            "give one or the other",
        ),
    ] {
        let path = format!("/admin/v1/users/{x}?{query}");
        let r = admin(&app, &token, Method::DELETE, &path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert!(r.text.contains(says), "{query}: {}", r.text);
    }
    for (body, why) in [
        (
            json!({"role": "member", "transferTo": "heir@acme.test"}),
            "transferTo without type viewer",
        ),
        (
            json!({"type": "viewer", "transferTo": "nobody"}),
            "an unknown successor",
        ),
    ] {
        let r = set_access(&app, &token, &x, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.text);
    }
    assert_eq!(snaps.take().await, before, "nothing changed");
}

#[tokio::test]
async fn rule_the_hosts_moved_list_is_kept_in_the_audit() {
    let (recv, app, token) = hooked().await;
    let boss = app.user("boss@acme.test").await;
    let many: Vec<Value> = (0..1500)
        .map(|i| json!({"type": "notebook", "id": format!("n{i}")}))
        .collect();
    let answers = [
        (
            200,
            json!({"moved": [{"type": "notebook", "id": "n1", "name": "Q3"}]}).to_string(),
        ),
        (200, "thanks".to_string()),
        (202, json!({"moved": many}).to_string()),
        (204, String::new()),
        (201, "{\"moved\": [{\"id\": 1},".to_string()),
    ];
    let mut users = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        // One call at a time, so each gets its own answer.
        let u = managed_by(&app, &format!("u{i}@acme.test"), &boss).await;
        recv.replies.lock().unwrap().push_back(answer);
        set_access(&app, &token, &u, json!({"type": "viewer"})).await;
        round(&app).await;
        users.push(u);
    }
    let d = details_of(&app, &users[0], "ownership_transferred").await;
    assert_eq!(
        d["moved"],
        json!([{"type": "notebook", "id": "n1", "name": "Q3"}])
    );
    assert_eq!(
        (&d["movedCount"], &d["truncated"]),
        (&json!(1), &Value::Null)
    );
    let d = details_of(&app, &users[2], "ownership_transferred").await;
    assert_eq!(d["moved"].as_array().unwrap().len(), 1000);
    assert_eq!(
        (&d["movedCount"], &d["truncated"]),
        (&json!(1500), &json!(true))
    );
    for u in [&users[1], &users[3], &users[4]] {
        let d = details_of(&app, u, "ownership_transferred").await;
        assert!(
            d.get("moved").is_none() && d["reason"] == "viewer",
            "no list, yet done: {d}"
        );
    }
    assert!(
        transfers(&app, &token).await.is_empty(),
        "every 2xx acknowledged"
    );
    // The audit API shows it; nothing of the host's headers is kept.
    let siem = scoped_token(&app.store, &app.tenant, None, "audit", "siem").await;
    let path = format!(
        "/admin/v1/audit?object_id={}&action=ownership_transferred",
        users[0]
    );
    let r = app.call_as(&siem, Method::GET, &path, None).await;
    assert_eq!(
        r.body["items"][0]["details"]["moved"][0]["name"], "Q3",
        "{}",
        r.text
    );
    let everything = format!("{:?}", Snapshots::open(&app).await.take().await);
    assert!(!everything.contains(HOST_HEADER_SECRET));
}
