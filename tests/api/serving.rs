//! The real binary's accept loop (`src/serve.rs`): slow clients are cut off
//! within the configured timeouts while `/healthz` still answers, a
//! cancelled Bulk request stops at an operation boundary, SIGTERM drains,
//! `/metrics` can live on its own address behind a token, and log lines
//! cannot be forged.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::server::{request, token, Server};
use crate::support::fresh_database;

fn config(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("rollcall.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn auth(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("Content-Type".into(), "application/scim+json".into()),
    ]
}

/// Read until the server closes the connection (or `limit` passes); what
/// arrived, and how long the close took.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    (String::from_utf8_lossy(&raw).to_string(), start.elapsed())
}

#[test]
fn slow_clients_are_cut_off_within_their_timeouts_and_health_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let tok = token(&db, "acme");
    let cfg = config(
        &dir,
        "[limits]\nheader_read_timeout_seconds = 1\nbody_read_timeout_seconds = 2\n",
    );
    let server = Server::start_with(&db, &["--config", &cfg]);

    // Headers trickled a byte at a time, never finished.
    let mut headers = TcpStream::connect(&server.addr).unwrap();
    headers
        .write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHo")
        .unwrap();
    // A body that never comes (its length promised, two bytes sent).
    let mut body = TcpStream::connect(&server.addr).unwrap();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\""
    );
    body.write_all(head.as_bytes()).unwrap();

    // Meanwhile the server answers others.
    let health = request(&server.addr, "GET", "/healthz", &[], None);
    assert_eq!(health.status, 200);

    let (got, took) = read_until_closed(&mut headers, Duration::from_secs(10));
    assert!(
        took < Duration::from_secs(5),
        "a trickled header is closed after ~1 s, not {took:?}"
    );
    assert!(!got.contains("200 OK"), "{got}");

    let (got, took) = read_until_closed(&mut body, Duration::from_secs(10));
    assert!(
        took < Duration::from_secs(6),
        "a stalled body is answered after ~2 s, not {took:?}"
    );
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("did not arrive within 2 s"), "{got}");

    // Nothing was created, and the server still serves.
    let list = request(&server.addr, "GET", "/scim/v2/Users", &auth(&tok), None);
    assert_eq!(list.status, 200);
    assert!(list.body.contains("\"totalResults\":0"), "{}", list.body);
}

/// Users, `created` audit rows and `user.created` events in the database.
fn created_counts(db: &str) -> (i64, i64, i64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(db).await.unwrap();
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let audit: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'created' AND object_type = 'User'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        let events: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'user.created'")
                .fetch_one(&mut c)
                .await
                .unwrap();
        (users, audit, events)
    })
}

#[test]
fn a_bulk_request_whose_time_is_up_stops_at_an_operation_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let tok = token(&db, "acme");
    let cfg = config(&dir, "[limits]\nbulk_timeout_seconds = 1\n");
    let server = Server::start_with(&db, &["--config", &cfg]);
    let body = bulk_creates(10_000);
    let r = request(
        &server.addr,
        "POST",
        "/scim/v2/Bulk",
        &auth(&tok),
        Some(&body),
    );
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("did not finish within 1 s"), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // The operation running at the timeout finishes; no further one starts.
    let mut last = created_counts(&db);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = created_counts(&db);
        if now == last || Instant::now() > deadline {
            last = now;
            break;
        }
        last = now;
    }
    let (users, audit, events) = last;
    assert!(users > 0 && users < 10_000, "stopped part-way: {users}");
    assert_eq!(
        (audit, events),
        (users, users),
        "each operation all or nothing"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(created_counts(&db), last, "and nothing more runs");
}

fn bulk_creates(n: usize) -> String {
    let ops: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}@acme.test")}
            })
        })
        .collect();
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": ops,
    })
    .to_string()
}

#[test]
fn kill_9_mid_bulk_leaves_every_operation_whole_or_absent() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let tok = token(&db, "acme");
    let mut server = Server::start(&db);
    let addr = server.addr.clone();
    let headers = auth(&tok);
    let body = bulk_creates(10_000);
    let client = std::thread::spawn(move || {
        // The connection dies with the server: no answer comes.
        let _ = std::panic::catch_unwind(|| {
            request(&addr, "POST", "/scim/v2/Bulk", &headers, Some(&body))
        });
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while created_counts(&db).0 < 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let _ = client.join();
    let (users, audit, events) = created_counts(&db);
    assert!((50..10_000).contains(&users), "killed part-way: {users}");
    assert_eq!(
        (audit, events),
        (users, users),
        "each operation's resource, audit row and event, or none of them"
    );
    // The database opens and serves after the crash.
    let again = Server::start(&db);
    let list = request(
        &again.addr,
        "GET",
        "/scim/v2/Users?count=1",
        &auth(&tok),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("\"totalResults\":{users}")),
        "{}",
        list.body
    );
}

#[test]
fn sigterm_drains_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let cfg = config(&dir, "shutdown_grace_seconds = 2\n");
    let mut server = Server::start_logging(&db, &["--config", &cfg], "info");
    assert_eq!(
        request(&server.addr, "GET", "/readyz", &[], None).status,
        200
    );
    // A keep-alive connection opened before the signal.
    let mut kept = TcpStream::connect(&server.addr).unwrap();
    server.terminate();
    let deadline = Instant::now() + Duration::from_secs(5);
    let ready = loop {
        let r = request(&server.addr, "GET", "/readyz", &[], None);
        if r.status != 200 || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body.contains("draining"), "{}", ready.body);
    // During the grace period the API still answers.
    assert_eq!(
        request(&server.addr, "GET", "/healthz", &[], None).status,
        200
    );
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    let n = kept.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("the server exits after its grace period");
    assert!(status.success(), "exit status {status:?}");
    let log = server.logged();
    assert!(log.contains("draining"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn metrics_on_their_own_address_behind_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let secret = "m3trics-t0ken-0123456789";
    std::fs::write(dir.path().join("metrics-token"), format!("{secret}\n")).unwrap();
    let cfg = config(
        &dir,
        &format!(
            "[metrics]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"{}\"\n",
            dir.path().join("metrics-token").display()
        ),
    );
    let server = Server::start_with(&db, &["--config", &cfg]);
    let at = server
        .startup
        .iter()
        .find_map(|l| l.strip_prefix("rollcall metrics on "))
        .unwrap_or_else(|| panic!("{:?}", server.startup))
        .to_string();
    // Not beside the API.
    assert_eq!(
        request(&server.addr, "GET", "/metrics", &[], None).status,
        404
    );
    // On its own address, only with the token.
    assert_eq!(request(&at, "GET", "/metrics", &[], None).status, 401);
    let wrong = vec![("Authorization".into(), "Bearer nope".to_string())];
    assert_eq!(request(&at, "GET", "/metrics", &wrong, None).status, 401);
    let right = vec![("Authorization".into(), format!("Bearer {secret}"))];
    let m = request(&at, "GET", "/metrics", &right, None);
    assert_eq!(m.status, 200, "{}", m.body);
    let pool = if crate::support::on_postgres() {
        "main"
    } else {
        "write"
    };
    for figure in [
        "rollcall_build_info{version=",
        &format!("rollcall_db_pool_connections_in_use{{pool=\"{pool}\"}}"),
        &format!("rollcall_db_pool_connections_max{{pool=\"{pool}\"}}"),
        "process_resident_memory_bytes ",
        "process_open_fds ",
    ] {
        assert!(m.body.contains(figure), "{figure} missing:\n{}", m.body);
    }
    // The API's own paths are not served there.
    assert_eq!(request(&at, "GET", "/healthz", &[], None).status, 404);
}

#[test]
fn a_client_cannot_forge_a_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let tok = token(&db, "acme");
    let server = Server::start_logging(&db, &[], "info");
    // A filter is never logged; an unknown attribute's name in a detail is.
    let forged = "x\\nFORGED 2026-12-01T00:00:00Z  INFO forged: line";
    let body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"replace","path":"{forged}","value":"v"}}]}}"#
    );
    let r = request(
        &server.addr,
        "PATCH",
        "/scim/v2/Users/00000000-0000-0000-0000-000000000000",
        &auth(&tok),
        Some(&body),
    );
    assert!(r.status >= 400 && r.status < 500, "{} {}", r.status, r.body);
    std::thread::sleep(Duration::from_millis(300));
    let log = server.logged();
    assert!(
        !log.lines().any(|l| l.starts_with("FORGED")),
        "a newline in client text starts no line of its own:\n{log}"
    );
    assert!(
        log.contains("x\\nFORGED"),
        "the client's text is in the log, escaped:\n{log}"
    );
}
