//! Isolated, bounded delivery (`directory/delivery.rs`): a host that
//! refuses one tenant's events holds back only that tenant's; each tenant's
//! events arrive in order; a delivery that keeps failing becomes a dead
//! letter (after `max_attempts` or `max_age_hours`), listed by the admin
//! API and counted in `/metrics`, until a replay delivers it; delivered
//! rows are pruned after `outbox_retention_days`. A real host on a loopback
//! port; the clock is the test's.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::root;
use crate::lifecycle::{verify, SECRET};
use crate::support::{scoped_token, TestApp, USER};
use rollcall::store::Tenant;

/// One call the host received.
#[derive(Debug, Clone)]
pub struct Call {
    pub tenant: String,
    /// `event` or `ownership.transfer`.
    pub delivery: String,
    pub key: String,
    /// The event's id (0 for a transfer).
    pub id: i64,
    pub kind: String,
    pub status: u16,
}

/// A host platform on a loopback port that refuses (503) every call about
/// the tenants in `refuse` and accepts the rest.
#[derive(Clone, Default)]
pub struct Host {
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub refuse: Arc<Mutex<HashSet<String>>>,
    /// Statuses to answer next, per tenant, before the rule above.
    pub answers: Arc<Mutex<HashMap<String, Vec<u16>>>>,
}

impl Host {
    pub async fn start() -> (Host, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let host = Host::default();
        let h = host.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let h = h.clone();
                async move { StatusCode::from_u16(h.answer(&headers, &body)).unwrap() }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (host, url)
    }

    fn answer(&self, headers: &HeaderMap, body: &str) -> u16 {
        assert!(verify(headers, body), "every call is signed");
        let v: Value = serde_json::from_str(body).unwrap();
        let tenant = v["tenant"].as_str().unwrap_or_default().to_string();
        let queued = self
            .answers
            .lock()
            .unwrap()
            .get_mut(&tenant)
            .filter(|a| !a.is_empty())
            .map(|a| a.remove(0));
        let status = queued.unwrap_or_else(|| {
            if self.refuse.lock().unwrap().contains(&tenant) {
                503
            } else {
                200
            }
        });
        self.calls.lock().unwrap().push(Call {
            tenant,
            delivery: headers["rollcall-delivery"].to_str().unwrap().to_string(),
            key: headers["idempotency-key"].to_str().unwrap().to_string(),
            id: v["id"].as_i64().unwrap_or(0),
            kind: v["type"].as_str().unwrap_or_default().to_string(),
            status,
        });
        status
    }

    pub fn refuse(&self, tenant: &str) {
        self.refuse.lock().unwrap().insert(tenant.to_string());
    }

    pub fn accept(&self, tenant: &str) {
        self.refuse.lock().unwrap().remove(tenant);
    }

    /// Calls about a tenant's events, in the order they came.
    pub fn events_of(&self, tenant: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.tenant == tenant && c.delivery == "event")
            .cloned()
            .collect()
    }

    /// The ids of a tenant's events the host accepted, in order.
    pub fn accepted(&self, tenant: &str) -> Vec<i64> {
        self.events_of(tenant)
            .iter()
            .filter(|c| c.status == 200)
            .map(|c| c.id)
            .collect()
    }
}

/// An app whose events (and, with `transfers`, ownership transfers) go to
/// `url`, first retried after a minute, with these `[delivery]` settings.
pub async fn app_with(url: &str, transfers: bool, delivery: &str) -> TestApp {
    let transfer = if transfers {
        format!("ownership_transfer_url = \"{url}\"\n")
    } else {
        String::new()
    };
    TestApp::from_toml(&format!(
        "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nfallback_owner = \"root@acme.test\"\n\
         [hooks]\nevents_url = \"{url}\"\n{transfer}secret = \"{SECRET}\"\nretry_base_ms = 60000\nretry_max_ms = 600000\n\
         [delivery]\n{delivery}\n"
    ))
    .await
}

async fn round(app: &TestApp) {
    app.directory.deliver_due().await.unwrap();
}

/// A user created over SCIM with `token` (one `user.created` event).
async fn user_as(app: &TestApp, token: &str, name: &str) -> String {
    let r = app
        .call_as(
            token,
            Method::POST,
            "/scim/v2/Users",
            Some(&json!({"schemas": [USER], "userName": name})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_string()
}

async fn tenant(app: &TestApp, name: &str) -> Tenant {
    app.store.find_tenant(name).await.unwrap().unwrap()
}

/// The ids of a tenant's events, in order.
async fn event_ids(app: &TestApp, t: &Tenant) -> Vec<i64> {
    let page = app.store.events_page(t, 0, 10_000).await.unwrap();
    page.iter().map(|e| e.id).collect()
}

async fn metrics(app: &TestApp) -> String {
    let r = app
        .send(app.request(Method::GET, "/metrics", None, None))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    r.text
}

/// The value of one metric line (`name{labels}`).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} in\n{text}"))
        .parse()
        .unwrap()
}

async fn dead_list(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .call_as(
            token,
            Method::GET,
            &format!("/admin/v1/deliveries{query}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn replay(app: &TestApp, token: &str, id: &str) -> crate::support::Resp {
    let path = format!("/admin/v1/deliveries/{id}/replay");
    app.call_as(token, Method::POST, &path, None).await
}

#[tokio::test]
async fn cross_tenant_delivery_a_host_refusing_one_tenant_holds_back_only_that_tenant() {
    let (host, url) = Host::start().await;
    let app = app_with(&url, false, "").await;
    let globex_token = app.token_for("globex").await;
    let (acme, globex) = (app.tenant.clone(), tenant(&app, "globex").await);
    host.refuse("acme");
    for i in 0..3 {
        app.user(&format!("a{i}@acme.test")).await;
        user_as(&app, &globex_token, &format!("g{i}@globex.test")).await;
    }
    round(&app).await;
    assert_eq!(
        host.accepted("globex"),
        event_ids(&app, &globex).await,
        "every globex event arrived, in order"
    );
    let acme_ids = event_ids(&app, &acme).await;
    let tried: Vec<i64> = host.events_of("acme").iter().map(|c| c.id).collect();
    assert_eq!(tried, [acme_ids[0]], "acme's first event only, refused");

    // Later globex events keep flowing while acme's first backs off.
    for i in 3..5 {
        user_as(&app, &globex_token, &format!("g{i}@globex.test")).await;
        app.user(&format!("a{i}@acme.test")).await;
        round(&app).await;
    }
    assert_eq!(host.accepted("globex"), event_ids(&app, &globex).await);
    assert_eq!(
        host.events_of("acme").len(),
        1,
        "acme waits for its backoff"
    );
    app.clock.advance(61);
    round(&app).await;
    let tried: Vec<i64> = host.events_of("acme").iter().map(|c| c.id).collect();
    assert_eq!(
        tried,
        [acme_ids[0], acme_ids[0]],
        "retried; never a later acme event before it"
    );
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "rollcall_outbox_pending{kind=\"event\"}"),
        event_ids(&app, &acme).await.len() as f64,
        "acme's events wait; globex's are delivered"
    );
    assert!(
        metric(
            &m,
            "rollcall_outbox_oldest_pending_age_seconds{kind=\"event\"}"
        ) >= 61.0
    );
    assert_eq!(
        metric(
            &m,
            "rollcall_deliveries_total{kind=\"event\",outcome=\"delivered\"}"
        ),
        host.accepted("globex").len() as f64
    );
    assert_eq!(
        metric(
            &m,
            "rollcall_deliveries_total{kind=\"event\",outcome=\"failed\"}"
        ),
        2.0
    );

    // The host takes acme again: its backlog arrives whole, in order.
    host.accept("acme");
    app.clock.advance(121);
    round(&app).await;
    assert_eq!(host.accepted("acme"), event_ids(&app, &acme).await);
    let m = metrics(&app).await;
    assert_eq!(metric(&m, "rollcall_outbox_pending{kind=\"event\"}"), 0.0);
    assert_eq!(
        metric(
            &m,
            "rollcall_outbox_oldest_pending_age_seconds{kind=\"event\"}"
        ),
        0.0
    );
    assert_eq!(metric(&m, "rollcall_outbox_dead{kind=\"event\"}"), 0.0);
}

#[tokio::test]
async fn delivery_a_tenant_s_events_arrive_in_order_across_a_failure_midway() {
    let (host, url) = Host::start().await;
    let app = app_with(&url, false, "").await;
    for i in 0..4 {
        app.user(&format!("u{i}@acme.test")).await;
    }
    let ids = event_ids(&app, &app.tenant).await;
    // The second call fails: the third and fourth wait behind it.
    host.answers
        .lock()
        .unwrap()
        .insert("acme".into(), vec![200, 500]);
    round(&app).await;
    let tried: Vec<i64> = host.events_of("acme").iter().map(|c| c.id).collect();
    assert_eq!(tried, ids[..2]);
    round(&app).await;
    assert_eq!(host.events_of("acme").len(), 2, "backing off");
    app.clock.advance(61);
    round(&app).await;
    assert_eq!(host.accepted("acme"), ids, "each once, in order");
    let keys: Vec<String> = host
        .events_of("acme")
        .iter()
        .map(|c| c.key.clone())
        .collect();
    assert_eq!(keys[1], keys[2], "the retry has the same Idempotency-Key");
    assert_eq!(keys[1], format!("event-{}", ids[1]));
}

#[tokio::test]
async fn delivery_a_dead_letter_after_max_attempts_is_listed_audited_counted_and_skipped() {
    let (host, url) = Host::start().await;
    let app = app_with(&url, false, "max_attempts = 3\n").await;
    let (_, root_token) = root(&app).await;
    round(&app).await;
    host.refuse("acme");
    let ann = app.user("ann@acme.test").await;
    app.user("bob@acme.test").await;
    let ids = event_ids(&app, &app.tenant).await;
    let (first, second) = (ids[ids.len() - 2], ids[ids.len() - 1]);
    round(&app).await;
    app.clock.advance(61);
    round(&app).await;
    app.clock.advance(121);
    round(&app).await;
    let dead = dead_list(&app, &root_token, "?state=dead").await;
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{dead}");
    let d = &items[0];
    assert_eq!(d["id"], format!("event-{first}"));
    assert_eq!(
        (&d["kind"], &d["state"], &d["type"]),
        (&json!("event"), &json!("dead"), &json!("user.created"))
    );
    assert_eq!(d["objectId"], ann.as_str());
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["lastError"], "the host answered 503");
    assert!(d["deadAt"].is_string() && d["nextAttemptAt"].is_null());
    assert_eq!(dead["next"], Value::Null);
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let given_up = audit
        .iter()
        .find(|a| a["action"] == "delivery_dead")
        .expect("the dead letter is audited");
    assert_eq!(given_up["objectId"], format!("event-{first}"));
    assert_eq!(given_up["actor"], "rollcall:event-webhook");
    let m = metrics(&app).await;
    assert_eq!(metric(&m, "rollcall_outbox_dead{kind=\"event\"}"), 1.0);
    assert_eq!(
        metric(
            &m,
            "rollcall_deliveries_total{kind=\"event\",outcome=\"dead\"}"
        ),
        1.0
    );

    // The tenant's next event is not held behind the dead letter.
    round(&app).await;
    let last = host.events_of("acme").last().unwrap().id;
    assert_eq!(last, second, "the next event is tried");
    host.accept("acme");
    app.clock.advance(61);
    round(&app).await;
    assert_eq!(host.accepted("acme").last(), Some(&second));
}

#[tokio::test]
async fn delivery_a_replay_sends_a_dead_letter_again_once_and_only_the_tenant_s_own() {
    let (host, url) = Host::start().await;
    let app = app_with(&url, false, "max_attempts = 1\n").await;
    let (_, root_token) = root(&app).await;
    let globex_token = app.token_for("globex").await;
    round(&app).await;
    host.refuse("acme");
    host.refuse("globex");
    app.user("ann@acme.test").await;
    user_as(&app, &globex_token, "g@globex.test").await;
    round(&app).await;
    let first = *event_ids(&app, &app.tenant).await.last().unwrap();
    let theirs = event_ids(&app, &tenant(&app, "globex").await).await[0];
    // Another tenant's dead letter is not this admin's to see or replay.
    let dead = dead_list(&app, &root_token, "?state=dead").await;
    assert_eq!(dead["items"].as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead["items"][0]["id"], format!("event-{first}"));
    let r = replay(&app, &root_token, &format!("event-{theirs}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    host.accept("acme");

    // Replay: queued again, due at once, delivered with the same key.
    let r = replay(&app, &root_token, &format!("event-{first}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["state"], &r.body["attempts"]),
        (&json!("pending"), &json!(0))
    );
    assert!(r.body["replayedAt"].is_string() && r.body["deadAt"].is_null());
    round(&app).await;
    let call = host.events_of("acme").last().unwrap().clone();
    assert_eq!((call.id, call.status), (first, 200));
    assert_eq!(call.key, format!("event-{first}"));
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let replayed = audit
        .iter()
        .find(|a| a["action"] == "delivery_replayed")
        .unwrap();
    assert_eq!(
        replayed["actor"],
        "user:root@acme.test (token:root-console)"
    );
    assert_eq!(replayed["objectType"], "Delivery");
    let dead = dead_list(&app, &root_token, "").await;
    assert_eq!(dead["items"], json!([]), "state=dead is the default");
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "rollcall_outbox_dead{kind=\"event\"}"),
        1.0,
        "globex's is left (the figures are the server's)"
    );

    // Only a dead letter can be replayed.
    let again = replay(&app, &root_token, &format!("event-{first}")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    for missing in ["event-999999", "mail-1", "event-x", "1"] {
        let r = replay(&app, &root_token, missing).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}: {}", r.text);
    }
}

#[tokio::test]
async fn delivery_an_event_past_max_age_is_given_up_and_a_replay_restarts_its_age() {
    let (host, url) = Host::start().await;
    let app = app_with(&url, false, "max_attempts = 100\nmax_age_hours = 1\n").await;
    let (_, root_token) = root(&app).await;
    round(&app).await;
    host.refuse("acme");
    app.user("old@acme.test").await;
    let id = *event_ids(&app, &app.tenant).await.last().unwrap();
    round(&app).await;
    app.clock.advance(3_700);
    round(&app).await;
    let dead = dead_list(&app, &root_token, "?state=dead&kind=event").await;
    assert_eq!(dead["items"][0]["id"], format!("event-{id}"));
    assert_eq!(
        dead["items"][0]["attempts"], 2,
        "given up by age, not count"
    );
    let r = replay(&app, &root_token, &format!("event-{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    round(&app).await;
    let pending = dead_list(&app, &root_token, "?state=pending").await;
    assert_eq!(pending["items"][0]["id"], format!("event-{id}"));
    assert_eq!(
        pending["items"][0]["attempts"], 1,
        "failed once more, not given up: its age counts from the replay"
    );
    assert!(pending["items"][0]["nextAttemptAt"].is_string());
    let still_queued = replay(&app, &root_token, &format!("event-{id}")).await;
    assert_eq!(still_queued.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn delivery_a_dead_ownership_transfer_keeps_the_deletion_waiting_until_replayed() {
    let (host, url) = Host::start().await;
    let app = app_with(&url, true, "max_attempts = 2\n").await;
    let (_, root_token) = root(&app).await;
    let leaver = app.user("leaver@acme.test").await;
    round(&app).await;
    host.refuse("acme");
    app.delete(&format!("/scim/v2/Users/{leaver}")).await;
    round(&app).await;
    app.clock.advance(61);
    round(&app).await;
    let dead = dead_list(&app, &root_token, "?kind=transfer").await;
    let d = &dead["items"][0];
    assert!(d["id"].as_str().unwrap().starts_with("transfer-"), "{dead}");
    assert_eq!(
        (&d["type"], &d["objectId"], &d["attempts"]),
        (&json!("ownership.transfer"), &json!(leaver), &json!(2))
    );
    let transfers = app
        .call_as(&root_token, Method::GET, "/admin/v1/transfers", None)
        .await;
    assert!(transfers.body["items"][0]["deadAt"].is_string());
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a["action"] == "ownership_transfer_dead" && a["objectId"] == leaver.as_str()));
    let calls = host.calls.lock().unwrap().len();
    app.clock.advance(3_600);
    round(&app).await;
    assert_eq!(
        host.calls.lock().unwrap().len(),
        calls,
        "given up: no more calls"
    );
    let detail = app.user_detail(&leaver).await.unwrap();
    assert_eq!(detail["deletion"]["state"], "transferring");
    let m = metrics(&app).await;
    assert_eq!(metric(&m, "rollcall_outbox_dead{kind=\"transfer\"}"), 1.0);

    host.accept("acme");
    let id = d["id"].as_str().unwrap().to_string();
    let r = replay(&app, &root_token, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    round(&app).await;
    let detail = app.user_detail(&leaver).await.unwrap();
    assert_eq!(detail["deletion"]["state"], "deleted");
    let calls = host.calls.lock().unwrap().clone();
    let last = calls
        .iter()
        .rfind(|c| c.delivery == "ownership.transfer")
        .unwrap();
    assert_eq!(last.status, 200);
    assert_eq!(
        calls.last().unwrap().kind,
        "user.deleted",
        "and the host hears of the completed deletion"
    );
    let m = metrics(&app).await;
    assert_eq!(metric(&m, "rollcall_outbox_dead{kind=\"transfer\"}"), 0.0);
    assert_eq!(
        metric(
            &m,
            "rollcall_deliveries_total{kind=\"transfer\",outcome=\"delivered\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn delivery_pruning_removes_only_delivered_rows_older_than_the_retention() {
    let (host, url) = Host::start().await;
    let app = app_with(
        &url,
        true,
        "max_attempts = 2\nmax_age_hours = 8760\noutbox_retention_days = 30\n",
    )
    .await;
    let globex_token = app.token_for("globex").await;
    let globex = tenant(&app, "globex").await;
    // Day 0: acme's events and a transfer are delivered; globex's first
    // event fails, its second waits behind it.
    app.user("root@acme.test").await;
    let leaver = app.user("leaver@acme.test").await;
    app.delete(&format!("/scim/v2/Users/{leaver}")).await;
    host.refuse("globex");
    user_as(&app, &globex_token, "g1@globex.test").await;
    user_as(&app, &globex_token, "g2@globex.test").await;
    round(&app).await;
    round(&app).await;
    let old_acme = event_ids(&app, &app.tenant).await;
    assert_eq!(host.accepted("acme"), old_acme);
    let g = event_ids(&app, &globex).await;
    // Day 20: one more acme event is delivered; globex's first is given up.
    app.clock.advance(20 * 86_400);
    app.user("new@acme.test").await;
    round(&app).await;
    let all_acme = event_ids(&app, &app.tenant).await;
    let recent: Vec<i64> = all_acme[old_acme.len()..].to_vec();
    assert_eq!(host.accepted("acme"), all_acme);
    // Day 31: what was delivered on day 0 goes; nothing else does.
    app.clock.advance(11 * 86_400);
    let pruned = app.directory.prune_delivered().await.unwrap();
    assert_eq!(
        pruned as usize,
        old_acme.len() + 1,
        "acme's old events and the transfer"
    );
    assert_eq!(event_ids(&app, &app.tenant).await, recent);
    assert_eq!(
        event_ids(&app, &globex).await,
        g,
        "a dead letter and an undelivered event stay, however old"
    );
    assert!(app.dump_table("transfers").await.is_empty());
    assert_eq!(app.directory.prune_delivered().await.unwrap(), 0);
}

#[tokio::test]
async fn delivery_lists_are_for_admins_of_the_tenant_and_refuse_bad_parameters() {
    let (_host, url) = Host::start().await;
    let app = app_with(&url, false, "").await;
    let (_, root_token) = root(&app).await;
    let member = app.user("member@acme.test").await;
    let member_token =
        crate::support::admin_token(&app.store, &app.tenant, &member, "member").await;
    let r = app
        .call_as(&member_token, Method::GET, "/admin/v1/deliveries", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let events = scoped_token(&app.store, &app.tenant, None, "events", "host").await;
    let r = app
        .call_as(&events, Method::GET, "/admin/v1/deliveries", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"], "insufficient_scope");
    for bad in [
        "?state=gone",
        "?kind=mail",
        "?after=42",
        "?limit=0",
        "?limit=1001",
        "?status=dead",
    ] {
        let r = app
            .call_as(
                &root_token,
                Method::GET,
                &format!("/admin/v1/deliveries{bad}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.body["status"], 400);
    }
    let r = replay(&app, &member_token, "event-1").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// The real binary, killed (SIGKILL) while the host holds its transfer
/// call unanswered: after the restart the transfer is sent again with the
/// same `Idempotency-Key`, answered once, and never sent after that; the
/// deletion completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_kill_9_with_a_transfer_in_flight_delivers_it_once_after_the_restart() {
    use crate::server::{request, token, Server};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    // (Idempotency-Key, answered) of each call, in arrival order.
    let calls: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let stall = Arc::new(AtomicBool::new(true));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (c, s) = (calls.clone(), stall.clone());
    let host = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| async move {
            let key = headers["idempotency-key"].to_str().unwrap().to_string();
            if s.load(Ordering::SeqCst) {
                c.lock().unwrap().push((key.clone(), false));
                std::future::pending::<()>().await;
            }
            c.lock().unwrap().push((key, true));
            StatusCode::OK
        }),
    );
    tokio::spawn(async move { axum::serve(listener, host).await.unwrap() });

    let dir = tempfile::TempDir::new().unwrap();
    let db = crate::support::fresh_database(&dir);
    let config = dir.path().join("rollcall.toml");
    std::fs::write(&config, format!("[hooks]\nownership_transfer_url = \"{url}\"\nsecret = \"{SECRET}\"\nretry_base_ms = 100\nretry_max_ms = 400\npoll_ms = 50\ntimeout_ms = 120000\n")).unwrap();
    let cfg = config.to_str().unwrap();
    let auth = crate::cli::auth(&token(&db, "acme"));
    let call = |addr: &str, method: &str, path: &str, body: Option<Value>, want: u16| {
        let r = request(
            addr,
            method,
            path,
            &auth,
            body.map(|b| b.to_string()).as_deref(),
        );
        assert_eq!(r.status, want, "{method} {path}: {}", r.body);
        r.body
    };
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    let mut server = Server::start_with(&db, &["--config", cfg]);
    let heir = call(
        &server.addr,
        "POST",
        "/scim/v2/Users",
        Some(json!({"schemas": [USER], "userName": "heir@acme.test"})),
        201,
    );
    let heir: Value = serde_json::from_str(&heir).unwrap();
    let leaver = call(
        &server.addr,
        "POST",
        "/scim/v2/Users",
        Some(
            json!({"schemas": [USER, crate::support::ENTERPRISE], "userName": "leaver@acme.test", crate::support::ENTERPRISE: {"manager": {"value": heir["id"]}}}),
        ),
        201,
    );
    let leaver: Value = serde_json::from_str(&leaver).unwrap();
    let id = leaver["id"].as_str().unwrap().to_string();
    call(
        &server.addr,
        "DELETE",
        &format!("/scim/v2/Users/{id}"),
        None,
        204,
    );
    wait_for("the transfer call in flight", &|| {
        calls.lock().unwrap().len() == 1
    });
    server.kill();
    stall.store(false, Ordering::SeqCst);

    let server = Server::start_with(&db, &["--config", cfg]);
    let deleted = || {
        call(
            &server.addr,
            "GET",
            "/admin/v1/events?limit=1000",
            None,
            200,
        )
        .contains("\"user.deleted\"")
    };
    wait_for("the deletion to complete", &deleted);
    // Twenty worker rounds more: nothing is sent again.
    std::thread::sleep(Duration::from_millis(1000));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.len(),
        2,
        "the call in flight, then one after the restart: {calls:?}"
    );
    assert_eq!(
        calls[0].0, calls[1].0,
        "the same Idempotency-Key both times"
    );
    assert_eq!(calls.iter().filter(|(_, answered)| *answered).count(), 1);
}
