//! Statuses and lifecycle: deactivation, ban, sign-in, deletion with the
//! ownership-transfer hook, restore, purge with redaction, event webhook.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{access, admin, event_kinds, root, ACCESS, ACME};
use crate::support::{json_view, patch_body, TestApp, ENTERPRISE, USER};

/// A host platform on a loopback port: records every call and answers with
/// the queued replies (a status, a body and a header a host might send),
/// else the queued statuses, then 200.
#[derive(Clone, Default)]
pub struct Receiver {
    pub calls: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    pub answers: Arc<Mutex<VecDeque<u16>>>,
    pub replies: Arc<Mutex<VecDeque<(u16, String)>>>,
}

/// The value of a header every queued reply carries: never to be kept.
pub const HOST_HEADER_SECRET: &str = "host-session-4f1d-never-kept";

impl Receiver {
    pub async fn start() -> (Receiver, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = Receiver::default();
        Receiver::serve(r.clone(), listener);
        (r, url)
    }

    pub fn serve(r: Receiver, listener: tokio::net::TcpListener) {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = r.clone();
                async move {
                    r.calls.lock().unwrap().push((headers, body));
                    let reply = r.replies.lock().unwrap().pop_front();
                    let (code, body) = reply.unwrap_or_else(|| {
                        let code = r.answers.lock().unwrap().pop_front().unwrap_or(200);
                        (code, String::new())
                    });
                    let header = ("set-cookie", format!("session={HOST_HEADER_SECRET}"));
                    (StatusCode::from_u16(code).unwrap(), [header], body)
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }
}

pub const SECRET: &str = "0123456789abcdef-test-secret";

/// Verify a call's signature the way a host would.
pub fn verify(headers: &HeaderMap, body: &str) -> bool {
    let ts: i64 = headers["rollcall-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sig = headers["rollcall-signature"].to_str().unwrap();
    rollcall::directory::hooks::sign(SECRET, ts, body) == sig && sig.starts_with("v1=")
}

pub async fn with_hook(url: &str, extra: &str) -> TestApp {
    let acme = ACME.replace(
        "[tenants.acme]\n",
        "[tenants.acme]\nfallback_owner = \"it@acme.test\"\n",
    );
    TestApp::from_toml(&format!(
        "{acme}\n{extra}\n[hooks]\nownership_transfer_url = \"{url}\"\nsecret = \"{SECRET}\"\nretry_base_ms = 60000\n"
    ))
    .await
}

async fn status(app: &TestApp, id: &str) -> String {
    let detail = app.user_detail(id).await.unwrap_or_default();
    detail["status"].as_str().unwrap_or_default().to_string()
}

async fn sign_in(app: &TestApp, id: &str) -> Value {
    let r = app
        .call(Method::POST, &format!("/admin/v1/users/{id}/sign-in"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn rule_statuses_created_then_active_on_first_sign_in() {
    let app = TestApp::new().await;
    let u = app.user("s@x.test").await;
    assert_eq!(status(&app, &u).await, "created");
    let r = sign_in(&app, &u).await;
    assert_eq!(r["allowed"], true);
    assert_eq!(r["status"], "active");
    let again = sign_in(&app, &u).await;
    assert_eq!(again["firstSignIn"], r["firstSignIn"]);
    let kinds = event_kinds(&app).await;
    assert_eq!(kinds.iter().filter(|k| *k == "user.activated").count(), 1);
    let scim = app
        .get(&format!("/scim/v2/Users/{u}?attributes={ACCESS}:status"))
        .await;
    assert_eq!(scim.body[ACCESS]["status"], "active");
}

#[tokio::test]
async fn rule_deactivation_refuses_sign_in_keeps_data_and_seat_and_reactivation_restores() {
    let app = TestApp::new().await;
    sign_in(&app, &app.user("a@x.test").await).await;
    let u = app.user("d@x.test").await;
    sign_in(&app, &u).await;
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &off).await;
    assert_eq!(status(&app, &u).await, "disabled");
    let r = sign_in(&app, &u).await;
    assert_eq!(r["allowed"], false);
    assert_eq!(
        app.seats().await["users"]["used"],
        2,
        "a disabled user keeps the seat"
    );
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{u}")).await.body["userName"],
        "d@x.test"
    );
    let on = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &on).await;
    assert_eq!(
        status(&app, &u).await,
        "active",
        "back as it was (signed in before)"
    );
    let kinds = event_kinds(&app).await;
    assert!(
        kinds.contains(&"user.deactivated".into()) && kinds.contains(&"user.reactivated".into())
    );
}

#[tokio::test]
async fn rule_ban_survives_the_idp_reactivating_and_unban_restores() {
    let app = TestApp::from_toml(ACME).await;
    let (root_id, token) = root(&app).await;
    let u = app.user("b@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/ban"),
        Some(json!({"reason": "credential leak"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ban"]["reason"], "credential leak");
    // The IdP pushes active: true (and a PUT): still banned.
    let on = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &on).await;
    app.put(
        &format!("/scim/v2/Users/{u}"),
        &json!({"schemas": [USER], "userName": "b@acme.test", "active": true}),
    )
    .await;
    assert_eq!(status(&app, &u).await, "banned");
    let r = sign_in(&app, &u).await;
    assert_eq!(r["allowed"], false);
    assert!(r["reason"].as_str().unwrap().contains("credential leak"));
    // The SCIM representation still says what the IdP said; status says banned.
    let scim = app
        .get(&format!(
            "/scim/v2/Users/{u}?attributes=active,{ACCESS}:status"
        ))
        .await;
    assert_eq!(scim.body["active"], true);
    assert_eq!(scim.body[ACCESS]["status"], "banned");
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/unban"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "created");
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let ban = audit.iter().find(|a| a["action"] == "banned").unwrap();
    assert_eq!(ban["actorUserId"], root_id.as_str());
    assert!(ban["actor"]
        .as_str()
        .unwrap()
        .starts_with("user:root@acme.test"));
    let kinds = event_kinds(&app).await;
    assert!(kinds.contains(&"user.banned".into()) && kinds.contains(&"user.unbanned".into()));
}

#[tokio::test]
async fn rule_delete_hides_at_once_frees_the_username_releases_the_seat_and_restore_brings_back() {
    let app = TestApp::from_toml(ACME).await;
    let (_, token) = root(&app).await;
    let u = app.user("gone@acme.test").await;
    let g = app.group("Data", &[&u]).await;
    assert_eq!(app.seats().await["users"]["used"], 2);
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{u}")).await.status,
        StatusCode::NO_CONTENT
    );
    app.get(&format!("/scim/v2/Users/{u}"))
        .await
        .assert_error(404, None);
    assert!(app
        .user_names("filter=userName%20eq%20%22gone@acme.test%22")
        .await
        .is_empty());
    assert_eq!(app.seats().await["users"]["used"], 1);
    let view = app.user_detail(&u).await.unwrap();
    assert_eq!(view["status"], "deleted");
    assert_eq!(
        view["deletion"]["state"], "deleted",
        "no hook configured: completes at once"
    );
    assert_eq!(sign_in(&app, &u).await["allowed"], false);
    // The userName is free again: while it is taken, no restore.
    let other = app.user("gone@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/restore"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    app.delete(&format!("/scim/v2/Users/{other}")).await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/restore"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "created");
    let back = app.get(&format!("/scim/v2/Users/{u}")).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(
        back.body["groups"][0]["value"],
        g.as_str(),
        "group memberships come back"
    );
    assert_eq!(access(&app, &u).await["plan"]["value"], "enterprise");
    let kinds = event_kinds(&app).await;
    assert!(kinds.contains(&"user.restored".into()));
}

#[tokio::test]
async fn rule_purge_after_retention_removes_data_and_redacts_the_audit_log() {
    let app = TestApp::from_toml(ACME).await;
    let u = app
        .user_from(json!({"schemas": [USER], "userName": "leaver@acme.test", "displayName": "Lee Leaver", "emails": [{"value": "lee@private.test"}]}))
        .await;
    let u = u["id"].as_str().unwrap().to_string();
    app.delete(&format!("/scim/v2/Users/{u}")).await;
    assert_eq!(
        app.directory.purge_due().await.unwrap(),
        0,
        "inside the 14-day window"
    );
    app.clock.advance(15 * 86_400);
    assert_eq!(app.directory.purge_due().await.unwrap(), 1);
    assert_eq!(app.user_detail(&u).await, None, "purged");
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let about: Vec<&Value> = audit
        .iter()
        .filter(|a| a["objectId"] == u.as_str())
        .collect();
    assert!(about.len() >= 3, "records are kept: {about:?}");
    let text = serde_json::to_string(&audit).unwrap();
    assert!(
        !text.contains("leaver@acme.test") && !text.contains("Lee Leaver"),
        "{text}"
    );
    assert!(about.iter().any(|a| a["action"] == "purged"));
    let events = serde_json::to_string(&app.store.events(&app.tenant).await.unwrap()).unwrap();
    assert!(!events.contains("leaver@acme.test"));
    assert!(events.contains("user.purged"));
}

#[tokio::test]
async fn rule_transfer_successor_is_requested_else_manager_else_fallback_else_it_waits() {
    let (recv, url) = Receiver::start().await;
    let app = with_hook(&url, "").await;
    let (_, token) = root(&app).await;
    let boss = app.user("boss@acme.test").await;
    let heir = app.user("heir@acme.test").await;
    // Manager.
    let m = app
        .user_from(json!({"schemas": [USER, ENTERPRISE], "userName": "m@acme.test", ENTERPRISE: {"manager": {"value": boss}}}))
        .await;
    let m = m["id"].as_str().unwrap().to_string();
    app.delete(&format!("/scim/v2/Users/{m}")).await;
    let view = app.user_detail(&m).await.unwrap();
    assert_eq!(view["deletion"]["state"], "transferring");
    assert_eq!(view["deletion"]["successor"]["source"], "manager");
    // Requested beats manager.
    let r2 = app
        .user_from(json!({"schemas": [USER, ENTERPRISE], "userName": "r@acme.test", ENTERPRISE: {"manager": {"value": boss}}}))
        .await;
    let r2 = r2["id"].as_str().unwrap().to_string();
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{r2}?transfer_to=heir@acme.test"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["deletion"]["successor"]["id"], heir.as_str());
    assert_eq!(r.body["deletion"]["successor"]["source"], "request");
    // No manager, no fallback user yet: it waits and says why.
    let w = app.user("w@acme.test").await;
    app.delete(&format!("/scim/v2/Users/{w}")).await;
    let view = app.user_detail(&w).await.unwrap();
    assert_eq!(view["deletion"]["state"], "waiting");
    let why = view["deletion"]["reason"].as_str().unwrap();
    assert!(
        why.contains("no manager") && why.contains("it@acme.test"),
        "{why}"
    );
    // An admin names one; the transfer is queued.
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{w}/transfer"),
        Some(json!({"successor": heir})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["deletion"]["state"], "transferring");
    // The fallback owner, once it exists.
    app.user("it@acme.test").await;
    let f = app.user("f@acme.test").await;
    app.delete(&format!("/scim/v2/Users/{f}")).await;
    let view = app.user_detail(&f).await.unwrap();
    assert_eq!(view["deletion"]["successor"]["source"], "fallback");
    // An unknown successor is refused and deletes nothing.
    let x = app.user("x@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{x}?transfer_to=nobody"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{x}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        json_view(
            app.directory
                .pending_transfers(&app.operator())
                .await
                .unwrap()
        )["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(
        recv.calls.lock().unwrap().is_empty(),
        "nothing is sent inside a request"
    );
}

#[tokio::test]
async fn rule_transfer_hook_is_signed_idempotent_and_completes_the_deletion_only_on_2xx() {
    let (recv, url) = Receiver::start().await;
    let app = with_hook(&url, "").await;
    let boss = app.user("boss@acme.test").await;
    let m = app
        .user_from(json!({"schemas": [USER, ENTERPRISE], "userName": "m@acme.test", ENTERPRISE: {"manager": {"value": boss}}}))
        .await;
    let m = m["id"].as_str().unwrap().to_string();
    recv.answers.lock().unwrap().extend([503, 500]);
    app.delete(&format!("/scim/v2/Users/{m}")).await;
    // First attempt: 503. Not due again until the backoff has passed.
    app.directory.deliver_due().await.unwrap();
    assert_eq!(recv.calls.lock().unwrap().len(), 1);
    app.directory.deliver_due().await.unwrap();
    assert_eq!(recv.calls.lock().unwrap().len(), 1, "backing off");
    app.clock.advance(61);
    app.directory.deliver_due().await.unwrap();
    assert_eq!(recv.calls.lock().unwrap().len(), 2, "second attempt: 500");
    assert_eq!(
        app.user_detail(&m).await.unwrap()["deletion"]["state"],
        "transferring"
    );
    app.directory.deliver_due().await.unwrap();
    assert_eq!(recv.calls.lock().unwrap().len(), 2, "the backoff doubled");
    app.clock.advance(125);
    app.directory.deliver_due().await.unwrap();
    let calls = recv.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    for (h, b) in &calls {
        assert!(verify(h, b), "signature verifies");
        assert_eq!(
            h["idempotency-key"], calls[0].0["idempotency-key"],
            "same key on every retry"
        );
    }
    let body: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body["type"], "ownership.transfer");
    assert_eq!(body["user"]["id"], m.as_str());
    assert_eq!(body["successor"]["id"], boss.as_str());
    let view = app.user_detail(&m).await.unwrap();
    assert_eq!(view["deletion"]["state"], "deleted");
    assert!(view["purgeAfter"].is_string());
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .filter(|a| a["objectId"] == m.as_str())
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "deleted",
            "ownership_transfer_failed",
            "ownership_transfer_failed",
            "ownership_transferred"
        ]
    );
    // A tampered body would not verify.
    assert!(!verify(&calls[0].0, &calls[0].1.replace("boss", "evil")));
}

#[tokio::test]
async fn rule_every_lifecycle_change_reaches_the_event_webhook_in_order() {
    let (recv, url) = Receiver::start().await;
    let app = TestApp::from_toml(&format!(
        "{ACME}\n[hooks]\nevents_url = \"{url}\"\nsecret = \"{SECRET}\"\n"
    ))
    .await;
    let (_, token) = root(&app).await;
    let u = app.user("e@acme.test").await;
    admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/ban"),
        Some(json!({"reason": "r"})),
    )
    .await;
    admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/unban"),
        None,
    )
    .await;
    app.delete(&format!("/scim/v2/Users/{u}")).await;
    admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/restore"),
        None,
    )
    .await;
    recv.answers.lock().unwrap().push_back(500);
    app.directory.deliver_due().await.unwrap();
    assert_eq!(
        recv.calls.lock().unwrap().len(),
        1,
        "stops at the first failure to keep order"
    );
    app.clock.advance(5);
    app.directory.deliver_due().await.unwrap();
    let kinds: Vec<String> = recv
        .bodies()
        .iter()
        .skip(1)
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect();
    let first_banned = kinds.iter().position(|k| k == "user.banned").unwrap();
    let restored = kinds.iter().position(|k| k == "user.restored").unwrap();
    assert!(first_banned < restored);
    for k in [
        "user.created",
        "user.banned",
        "user.unbanned",
        "user.deleted",
        "user.restored",
    ] {
        assert!(kinds.contains(&k.to_string()), "{k} in {kinds:?}");
    }
    let calls = recv.calls.lock().unwrap().clone();
    assert!(calls.iter().all(|(h, b)| verify(h, b)));
    let ids: Vec<i64> = recv
        .bodies()
        .iter()
        .skip(1)
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    // Delivered once: nothing more to send.
    app.directory.deliver_due().await.unwrap();
    assert_eq!(recv.calls.lock().unwrap().len(), calls.len());
}

/// The real binary: the receiver is down, the server is killed, restarted,
/// the receiver comes up, and the queued transfer is delivered and the
/// deletion completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_transfer_survives_a_kill_with_the_receiver_down() {
    use crate::server::{request, token, Server};
    use std::time::{Duration, Instant};

    let dir = tempfile::TempDir::new().unwrap();
    let db = crate::support::fresh_database(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        format!(
            "[hooks]\nownership_transfer_url = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\nretry_base_ms = 100\nretry_max_ms = 400\npoll_ms = 50\n"
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let tok = token(&db, "acme");
    let auth = vec![
        ("Authorization".to_string(), format!("Bearer {tok}")),
        (
            "Content-Type".to_string(),
            "application/scim+json".to_string(),
        ),
    ];
    let post = |addr: &str, body: Value| -> Value {
        let r = request(
            addr,
            "POST",
            "/scim/v2/Users",
            &auth,
            Some(&body.to_string()),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        serde_json::from_str(&r.body).unwrap()
    };
    let wait_for = |what: &str, mut f: Box<dyn FnMut() -> bool + '_>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    let server = Server::start_with(&db, &["--config", cfg]);
    let boss = post(
        &server.addr,
        json!({"schemas": [USER], "userName": "boss@acme.test"}),
    );
    let m = post(
        &server.addr,
        json!({"schemas": [USER, ENTERPRISE], "userName": "m@acme.test", ENTERPRISE: {"manager": {"value": boss["id"]}}}),
    );
    let m = m["id"].as_str().unwrap().to_string();
    let r = request(
        &server.addr,
        "DELETE",
        &format!("/scim/v2/Users/{m}"),
        &auth,
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        request(
            &server.addr,
            "GET",
            &format!("/scim/v2/Users/{m}"),
            &auth,
            None
        )
        .status,
        404
    );
    // The receiver is down: attempts fail and are audited.
    let addr = server.addr.clone();
    wait_for(
        "a failed attempt",
        Box::new(|| {
            let r = request(
                &addr,
                "GET",
                "/admin/v1/audit?action=ownership_transfer_failed",
                &auth,
                None,
            );
            let v: Value = serde_json::from_str(&r.body).unwrap();
            !v["items"].as_array().unwrap().is_empty()
        }),
    );
    drop(server); // SIGKILL

    let recv = Receiver::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    Receiver::serve(recv.clone(), listener);
    let server = Server::start_with(&db, &["--config", cfg]);
    let addr = server.addr.clone();
    wait_for(
        "the deletion to complete",
        // The completion's event commits with the deletion's new state;
        // the tenant token reads the feed, not the admin user detail.
        Box::new(|| {
            let r = request(&addr, "GET", "/admin/v1/events?limit=1000", &auth, None);
            let v: Value = serde_json::from_str(&r.body).unwrap();
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "user.deleted" && e["objectId"] == m.as_str())
        }),
    );
    let calls = recv.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "delivered once");
    assert!(verify(&calls[0].0, &calls[0].1));
    let body: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body["user"]["id"], m.as_str());
    assert_eq!(body["successor"]["source"], "manager");
    let r = request(&addr, "GET", "/admin/v1/events?limit=1000", &auth, None);
    assert!(r.body.contains("\"user.deleted\""), "{}", r.body);
}

#[tokio::test]
async fn rule_scim_addresses_users_by_id_only_and_purge_keeps_event_payloads_valid() {
    let app = TestApp::new().await;
    let u = app
        .user_from(json!({"schemas": [USER], "userName": "null@x.test", "externalId": "null"}))
        .await;
    let u = u["id"].as_str().unwrap().to_string();
    // DELETE by userName is not a SCIM address.
    app.delete("/scim/v2/Users/null@x.test")
        .await
        .assert_error(404, None);
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{u}")).await.status,
        StatusCode::OK
    );
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &off).await;
    app.delete(&format!("/scim/v2/Users/{u}")).await;
    app.clock.advance(15 * 86_400);
    assert_eq!(app.directory.purge_due().await.unwrap(), 1);
    // Payloads holding JSON nulls stay JSON: the feed still reads.
    let r = app.get("/admin/v1/events?limit=1000").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains("null@x.test"));
}

#[tokio::test]
async fn rule_invited_users_become_active_on_first_sign_in_and_are_locally_managed() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    let (_, token) = root(&app).await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "new@acme.test", "email": "new@acme.test", "role": "power-user"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "invited");
    assert_eq!(r.body["role"], "power-user");
    assert_eq!(r.body["managed"], false);
    let id = r.body["id"].as_str().unwrap().to_string();
    let scim = app
        .get(&format!(
            "/scim/v2/Users/{id}?attributes=userName,{ACCESS}:status"
        ))
        .await;
    assert_eq!(scim.body[ACCESS]["status"], "invited");
    // Not IdP-managed: an admin may change its role without local overrides.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{id}/access"),
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(sign_in(&app, &id).await["status"], "active");
    let kinds = event_kinds(&app).await;
    assert!(kinds.contains(&"user.invited".into()) && kinds.contains(&"user.activated".into()));
    // The userName is taken now; bad bodies change nothing.
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "NEW@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "x@acme.test", "role": "pope"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"user": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"], "invalid_body");
}

#[tokio::test]
async fn rule_a_successor_is_an_enabled_user_of_type_user_who_is_not_banned() {
    let app = TestApp::from_toml(ACME).await;
    let (_, token) = root(&app).await;
    let viewer = app
        .user_from(json!({"schemas": [USER], "userName": "vi@acme.test",
                          "roles": [{"value": "datalore-viewer"}]}))
        .await;
    assert_eq!(
        access(&app, viewer["id"].as_str().unwrap()).await["type"]["value"],
        "viewer"
    );
    let banned = app.user("ban@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{banned}/ban"),
        Some(json!({"reason": "fraud"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let off = app.user("off@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{off}/disable"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let leaver = app.user("leaver@acme.test").await;
    for (heir, says) in [
        ("vi@acme.test", "viewers own nothing"),
        ("ban@acme.test", "is banned"),
        ("off@acme.test", "is disabled"),
    ] {
        let r = admin(
            &app,
            &token,
            Method::DELETE,
            &format!("/admin/v1/users/{leaver}?transfer_to={heir}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{heir}: {}", r.text);
        assert!(r.text.contains(says), "{heir}: {}", r.text);
        assert_eq!(
            app.get(&format!("/scim/v2/Users/{leaver}")).await.status,
            StatusCode::OK,
            "nothing deleted"
        );
    }
    app.user("heir@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{leaver}?transfer_to=heir@acme.test"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["deletion"]["successor"]["userName"], "heir@acme.test",
        "{}",
        r.text
    );
}

#[tokio::test]
async fn rule_a_project_role_change_emits_a_user_event() {
    let app = TestApp::from_toml(ACME).await;
    let (_, token) = root(&app).await;
    let u = app.user("pat@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{u}/access"),
        Some(json!({"projects": {"ledger": "operator"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = app.store.events(&app.tenant).await.unwrap();
    let (_, _, payload) = events
        .iter()
        .rev()
        .find(|(k, _, _)| k == "user.project_roles_changed")
        .expect("a project_roles_changed event");
    assert_eq!(payload["id"], u.as_str());
    assert_eq!(payload["from"], json!({}));
    assert_eq!(payload["to"]["ledger"], "operator");
    // Through a mapping rule too: joining Data makes them warehouse owner.
    app.group("Data", &[&u]).await;
    let kinds = event_kinds(&app).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "user.project_roles_changed")
            .count(),
        2
    );
}
