//! Back-pressure (`http/limits.rs`, `store::StoreError::Busy`): a write
//! that cannot get the write lock in time, a server at its concurrency
//! limit, a PATCH with too many operations and an admin body over the
//! limit are each answered with a clear 503 or 413 (503 with
//! `Retry-After`), never a 500, and change nothing; on both stores.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

use crate::directory::{root, ACME};
use crate::support::{on_postgres, patch_body, TestApp, USER};

/// The ACME tenant (root@acme.test its super-admin) with `[limits]` set.
async fn app_with(limits: &str) -> TestApp {
    TestApp::from_toml(&format!("{ACME}\n[limits]\n{limits}\n")).await
}

/// Another connection holding the tenant's write lock until dropped:
/// SQLite's file lock (`BEGIN IMMEDIATE`), the tenant row's lock on
/// PostgreSQL.
enum Holder {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn hold_write_lock(app: &TestApp) -> Holder {
    if on_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.url).await.unwrap();
        c.execute("BEGIN").await.unwrap();
        sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
            .bind(app.tenant.id)
            .execute(&mut c)
            .await
            .unwrap();
        Holder::Postgres(c)
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.url).await.unwrap();
        c.execute("BEGIN IMMEDIATE").await.unwrap();
        Holder::Sqlite(c)
    }
}

async fn release(h: Holder) {
    match h {
        Holder::Sqlite(mut c) => c.execute("ROLLBACK").await.map(|_| ()).unwrap(),
        Holder::Postgres(mut c) => c.execute("ROLLBACK").await.map(|_| ()).unwrap(),
    }
}

fn ada() -> Value {
    json!({"schemas": [USER], "userName": "ada@acme.test"})
}

fn retry_after(r: &crate::support::Resp) -> Option<&str> {
    r.headers.get("retry-after").and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_write_that_waits_too_long_for_the_lock_is_503_with_retry_after_and_changes_nothing() {
    let app = app_with("lock_wait_ms = 200").await;
    let (_, token) = root(&app).await;
    let holder = hold_write_lock(&app).await;
    let r = app.post("/scim/v2/Users", &ada()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(retry_after(&r), Some("1"));
    assert_eq!(r.body["status"], "503", "a SCIM Error body: {}", r.text);
    assert!(
        r.body["detail"].as_str().unwrap().contains("busy"),
        "{}",
        r.text
    );
    // The admin API says the same in its own body.
    let req = app.request(
        Method::PATCH,
        "/admin/v1/tenant",
        Some(&json!({"registrations": false})),
        Some(&token),
    );
    let admin = app.send(req).await;
    assert_eq!(
        admin.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        admin.text
    );
    assert_eq!(admin.body["error"], "busy", "{}", admin.text);
    assert_eq!(retry_after(&admin), Some("1"));
    // Reads are not held up by a writer.
    let list = app.get("/scim/v2/Users").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(
        list.body["totalResults"], 1,
        "only root@acme.test: nothing was written"
    );
    release(holder).await;
    let r = app.post("/scim/v2/Users", &ada()).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "the retry goes through: {}",
        r.text
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let created = audit
        .iter()
        .filter(|a| a["action"] == "created" && a["objectName"] == "ada@acme.test")
        .count();
    assert_eq!(created, 1, "one create, one audit row: {audit:?}");
}

#[tokio::test]
async fn a_server_at_its_concurrency_limit_answers_503_at_once_but_health_still_answers() {
    let app = app_with("max_concurrent_requests = 1\nlock_wait_ms = 20000").await;
    // The token's last use is noted now (the next minute's reads write nothing).
    assert_eq!(app.get("/scim/v2/Users").await.status, StatusCode::OK);
    let holder = hold_write_lock(&app).await;
    // One request takes the only slot: it waits for the lock.
    let req = app.request(
        Method::POST,
        "/scim/v2/Users",
        Some(&ada()),
        Some(&app.token),
    );
    let router = app.router.clone();
    let waiting = tokio::spawn(async move {
        use tower::ServiceExt;
        router.oneshot(req).await.unwrap().status()
    });
    // Its first poll takes the slot (before it awaits anything).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let shed = loop {
        let r = app.get("/scim/v2/Users").await;
        if r.status != StatusCode::OK || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    if waiting.is_finished() {
        panic!("the first request ended early: {:?}", waiting.await);
    }
    assert_eq!(
        shed.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        shed.text
    );
    assert_eq!(retry_after(&shed), Some("1"));
    assert!(shed.body["detail"].as_str().unwrap().contains("concurrent"));
    let health = app.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK, "probes are always admitted");
    let metrics = app.get("/metrics").await;
    assert!(
        metrics
            .text
            .lines()
            .any(|l| l.starts_with("rollcall_http_requests_shed_total ")
                && l != "rollcall_http_requests_shed_total 0"),
        "{}",
        metrics.text
    );
    release(holder).await;
    assert_eq!(waiting.await.unwrap(), StatusCode::CREATED);
    assert_eq!(app.get("/scim/v2/Users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_patch_over_the_operation_cap_is_413_and_changes_nothing() {
    let app = app_with("max_patch_operations = 10").await;
    let id = app.user("ada@acme.test").await;
    let ops = |n: usize| {
        (0..n)
            .map(|i| json!({"op": "replace", "path": "title", "value": format!("t{i}")}))
            .collect::<Vec<_>>()
    };
    let r = app
        .patch(&format!("/scim/v2/Users/{id}"), &patch_body(json!(ops(11))))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(r.body["detail"].as_str().unwrap().contains("at most 10"));
    let got = app.get(&format!("/scim/v2/Users/{id}")).await;
    assert!(got.body.get("title").is_none(), "unchanged: {}", got.text);
    let r = app
        .patch(&format!("/scim/v2/Users/{id}"), &patch_body(json!(ops(10))))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "t9");
}

#[tokio::test]
async fn the_admin_api_takes_no_body_over_max_payload_size() {
    let app = TestApp::from_toml(&format!("max_payload_size = 4096\n{ACME}")).await;
    let leavers: Vec<String> = (0..400).map(|i| format!("leaver{i}@acme.test")).collect();
    let body = json!({"match": "email", "mode": "deactivate", "dryRun": true, "leavers": leavers});
    let (_, token) = root(&app).await;
    let req = app.request(
        Method::POST,
        "/admin/v1/deprovision-jobs",
        Some(&body),
        Some(&token),
    );
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.body["status"], 413, "the admin error body: {}", r.text);
    assert_eq!(r.body["error"], "payload_too_large");
}

#[tokio::test]
async fn a_credential_over_its_rate_limit_is_429_with_retry_after_and_others_are_not() {
    // One request per 100 s sustained, three at once: the fourth is
    // refused however slow the machine (making root@acme.test took one).
    let app = TestApp::from_toml(&format!(
        "{ACME}\n[rate_limit]\nrequests_per_second = 0.01\nburst = 3\n"
    ))
    .await;
    let (_, admin) = root(&app).await;
    for _ in 0..2 {
        assert_eq!(app.get("/scim/v2/Users").await.status, StatusCode::OK);
    }
    let r = app.get("/scim/v2/Users").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["status"], "429", "a SCIM Error body: {}", r.text);
    let wait: u64 = retry_after(&r).unwrap().parse().unwrap();
    assert!(
        (90..=100).contains(&wait),
        "the bucket's refill time: {wait}"
    );
    // A refused request changes nothing, and writes are refused alike.
    let w = app.post("/scim/v2/Users", &ada()).await;
    assert_eq!(w.status, StatusCode::TOO_MANY_REQUESTS, "{}", w.text);
    // Another credential has its own bucket; the admin API answers its way.
    for _ in 0..3 {
        let req = app.request(Method::GET, "/admin/v1/users", None, Some(&admin));
        assert_eq!(app.send(req).await.status, StatusCode::OK);
    }
    let req = app.request(Method::GET, "/admin/v1/users", None, Some(&admin));
    let third = app.send(req).await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.text
    );
    assert_eq!(third.body["error"], "rate_limited", "{}", third.text);
    let metrics = app.get("/metrics").await;
    assert!(
        metrics
            .text
            .contains("rollcall_http_requests_rate_limited_total 3"),
        "{}",
        metrics.text
    );
    let names: Vec<Value> = app
        .store
        .audit_log(&app.tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a["objectName"] == "ada@acme.test")
        .collect();
    assert!(
        names.is_empty(),
        "the refused write left nothing: {names:?}"
    );
}

#[tokio::test]
async fn a_request_over_its_time_is_503_and_the_write_it_waited_for_does_not_happen_twice() {
    // The write waits up to 20 s for the lock, the request only 1 s.
    let app = app_with("lock_wait_ms = 20000\nrequest_timeout_seconds = 1").await;
    let holder = hold_write_lock(&app).await;
    let started = Instant::now();
    let r = app.post("/scim/v2/Users", &ada()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("did not finish within 1 s"),
        "{}",
        r.text
    );
    assert!(retry_after(&r).is_some());
    // The handler was not cut off mid-transaction: once the lock is free,
    // its write completes, whole, once.
    release(holder).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let created = loop {
        let audit = app.store.audit_log(&app.tenant).await.unwrap();
        let n = audit
            .iter()
            .filter(|a| a["action"] == "created" && a["objectName"] == "ada@acme.test")
            .count();
        if n > 0 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(created, 1);
    let again = app.post("/scim/v2/Users", &ada()).await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "a blind retry: {}",
        again.text
    );
}
