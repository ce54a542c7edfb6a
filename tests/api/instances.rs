//! Several instances on one database: two real `rollcall serve` processes
//! share it (PostgreSQL in the suite's PostgreSQL run, a SQLite file
//! otherwise). Reads agree, concurrent writes to one resource are serialised
//! by version (no lost update), and every event reaches the webhook once and
//! in order though both instances run the delivery worker.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::lifecycle::{Receiver, SECRET};
use crate::server::{request, token, HttpResponse, Server};
use crate::support::*;

fn auth(tok: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".to_string(), format!("Bearer {tok}")),
        (
            "Content-Type".to_string(),
            "application/scim+json".to_string(),
        ),
    ]
}

fn send(
    addr: &str,
    method: &str,
    path: &str,
    h: &[(String, String)],
    body: Option<Value>,
) -> HttpResponse {
    request(
        addr,
        method,
        path,
        h,
        body.map(|b| b.to_string()).as_deref(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_serve_one_database_without_lost_updates_or_double_deliveries() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = fresh_database(&dir);
    let (receiver, hook) = Receiver::start().await;
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        format!("[hooks]\nevents_url = \"{hook}\"\nsecret = \"{SECRET}\"\npoll_ms = 20\n"),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let tok = token(&db, "acme");
    let h = auth(&tok);
    let a = Server::start_with(&db, &["--config", cfg]);
    let b = Server::start_with(&db, &["--config", cfg]);
    let addrs = [a.addr.clone(), b.addr.clone()];

    // Written on one, read on the other: the same resource and version.
    let r = send(
        &addrs[0],
        "POST",
        "/scim/v2/Users",
        &h,
        Some(json!({"schemas": [USER], "userName": "shared@acme.test"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let user: Value = serde_json::from_str(&r.body).unwrap();
    let uid = user["id"].as_str().unwrap().to_string();
    let on_b = send(&addrs[1], "GET", &format!("/scim/v2/Users/{uid}"), &h, None);
    assert_eq!(on_b.status, 200);
    assert_eq!(on_b.header("ETag"), r.header("ETag"));
    // Equal but for the location, which names the instance asked.
    let without_location = |mut v: Value| {
        v["meta"].as_object_mut().unwrap().remove("location");
        v
    };
    assert_eq!(
        without_location(serde_json::from_str(&on_b.body).unwrap()),
        without_location(user.clone())
    );

    // Eight writers, alternating instances, all holding version 1: exactly
    // one wins, the others get 412 and change nothing.
    let etag = r.header("ETag").unwrap().to_string();
    let outcomes: Vec<(usize, u16)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (addr, h, uid, etag) = (&addrs[i % 2], &h, &uid, &etag);
                s.spawn(move || {
                    let mut h = h.clone();
                    h.push(("If-Match".to_string(), etag.clone()));
                    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": format!("writer {i}")}]});
                    (i, send(addr, "PATCH", &format!("/scim/v2/Users/{uid}"), &h, Some(body)).status)
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one conditional write wins: {outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|(_, s)| *s == 200 || *s == 412),
        "{outcomes:?}"
    );
    let now: Value = serde_json::from_str(
        &send(&addrs[1], "GET", &format!("/scim/v2/Users/{uid}"), &h, None).body,
    )
    .unwrap();
    assert_eq!(now["displayName"], json!(format!("writer {}", winners[0])));
    assert_eq!(now["meta"]["version"], json!("W/\"2\""));

    // Twenty unconditional member additions to one group, split across the
    // instances and run at once: none is lost.
    let r = send(
        &addrs[0],
        "POST",
        "/scim/v2/Groups",
        &h,
        Some(json!({"schemas": [GROUP], "displayName": "Everyone"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = serde_json::from_str::<Value>(&r.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let members: Vec<String> = (0..20)
        .map(|i| {
            let r = send(
                &addrs[i % 2],
                "POST",
                "/scim/v2/Users",
                &h,
                Some(json!({"schemas": [USER], "userName": format!("m{i}@acme.test")})),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            serde_json::from_str::<Value>(&r.body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (addr, h, gid) = (&addrs[i % 2], &h, &gid);
                s.spawn(move || {
                    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": m}]}]});
                    send(addr, "PATCH", &format!("/scim/v2/Groups/{gid}"), h, Some(body)).status
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let group: Value = serde_json::from_str(
        &send(
            &addrs[1],
            "GET",
            &format!("/scim/v2/Groups/{gid}"),
            &h,
            None,
        )
        .body,
    )
    .unwrap();
    let got: HashSet<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let want: HashSet<&str> = members.iter().map(String::as_str).collect();
    assert_eq!(got, want, "every concurrent addition is kept");
    assert_eq!(
        group["meta"]["version"],
        json!("W/\"21\""),
        "one version per addition"
    );

    // Every event reaches the webhook exactly once, in order, though both
    // instances poll the same outbox.
    let store = rollcall::store::Store::connect(&db).await.unwrap();
    let tenant = store.find_tenant("acme").await.unwrap().unwrap();
    let expected = store.events(&tenant).await.unwrap().len();
    assert!(
        expected >= 43,
        "user, group and membership events: {expected}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.bodies().len() < expected {
        assert!(
            Instant::now() < deadline,
            "{} of {expected} events delivered",
            receiver.bodies().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A little longer: a double delivery would show up now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids: Vec<i64> = receiver
        .bodies()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), expected, "no event delivered twice: {ids:?}");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "events in order: {ids:?}"
    );
}

/// A client that goes away mid-request (a load balancer's timeout, a killed
/// sync job) neither cancels the change half-way nor leaves a database
/// connection inside a transaction: the request runs to its end, with its
/// audit row, and every later request works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_client_goes_away_still_completes_and_breaks_nothing() {
    use axum::http::Method;
    use tower::ServiceExt;
    let app = TestApp::new().await;
    // Abandon creates at many points of their progress.
    for i in 0..60u64 {
        let body = json!({"schemas": [USER], "userName": format!("gone-{i}@acme.test")});
        let req = app.request(
            Method::POST,
            "/scim/v2/Users",
            Some(&body),
            Some(&app.token),
        );
        let _ = tokio::time::timeout(
            Duration::from_micros(25 * i),
            app.router.clone().oneshot(req),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app
            .get("/scim/v2/Users?filter=userName%20sw%20%22gone-%22&count=0")
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.body["totalResults"] == json!(60) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "abandoned creates did not all complete: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let created = audit
        .iter()
        .filter(|e| {
            e["action"] == "created"
                && e["objectName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("gone-"))
        })
        .count();
    assert_eq!(created, 60, "each change has its audit row");
    for i in 0..20 {
        let r = app
            .post(
                "/scim/v2/Users",
                &json!({"schemas": [USER], "userName": format!("after-{i}@acme.test")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}
