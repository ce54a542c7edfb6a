//! The real binary: `token create`, `serve` on 127.0.0.1:0, requests over TCP.

use crate::server::{request, token, Server};

#[test]
fn token_create_then_serve_and_call_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let token = token(&db, "acme");
    assert!(token.starts_with("rc_") && !token.contains('\n'));

    let server = Server::start(&db);
    assert!(
        !server.startup.iter().any(|l| l.starts_with("rc_")),
        "a database with a tenant gets no bootstrap token: {:?}",
        server.startup
    );
    let addr = &server.addr;
    let auth = vec![
        ("Authorization".to_string(), format!("Bearer {token}")),
        (
            "Content-Type".to_string(),
            "application/scim+json".to_string(),
        ),
    ];
    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"wire"}"#;
    let r = request(addr, "POST", "/scim/v2/Users", &auth, Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert!(r
        .body
        .contains(&format!("\"location\":\"http://{addr}/scim/v2/Users/")));
    assert_eq!(request(addr, "GET", "/readyz", &[], None).status, 200);
    assert_eq!(
        request(addr, "GET", "/scim/v2/Users", &[], None).status,
        401
    );
    let m = request(addr, "GET", "/metrics", &[], None);
    assert!(
        m.body
            .contains("route=\"/scim/v2/Users\",status=\"201\"} 1"),
        "{}",
        m.body
    );
}

#[test]
fn first_start_on_an_empty_database_prints_one_bootstrap_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let first = Server::start(&db);
    let tokens: Vec<_> = first
        .startup
        .iter()
        .filter(|l| l.starts_with("rc_"))
        .cloned()
        .collect();
    assert_eq!(tokens.len(), 1, "{:?}", first.startup);
    let addr = first.addr.clone();
    let r = request(
        &addr,
        "GET",
        "/scim/v2/Users",
        &[("Authorization".into(), format!("Bearer {}", tokens[0]))],
        None,
    );
    assert_eq!(r.status, 200, "the bootstrap token works: {}", r.body);
    drop(first);
    let second = Server::start(&db);
    assert!(
        second.startup.iter().all(|l| !l.starts_with("rc_")),
        "{:?}",
        second.startup
    );
}

#[test]
fn audit_export_as_jsonl_and_csv() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let token = token(&db, "acme");
    let server = Server::start(&db);
    let auth = vec![
        ("Authorization".to_string(), format!("Bearer {token}")),
        (
            "Content-Type".to_string(),
            "application/scim+json".to_string(),
        ),
    ];
    for name in ["a,comma", "plain"] {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}"}}"#
        );
        assert_eq!(
            request(&server.addr, "POST", "/scim/v2/Users", &auth, Some(&body)).status,
            201
        );
    }
    drop(server);
    let run = |format: &str| {
        let out = Command::new(crate::server::bin())
            .args([
                "audit",
                "export",
                "--tenant",
                "acme",
                "--format",
                format,
                "--database",
                &db,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let jsonl = run("jsonl");
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    // Creating the token is audited first, as the operator who ran it.
    assert_eq!(lines[0]["action"], "token_created");
    assert!(lines[0]["actor"].as_str().unwrap().starts_with("cli:"));
    assert_eq!(lines[1]["objectName"], "a,comma");
    assert_eq!(lines[2]["action"], "created");
    let csv = run("csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "id,at,actor,actor_user_id,source_ip,request_id,object_type,object_id,object_name,action,description,job_id,details"
    );
    assert_eq!(rows.len(), 4);
    assert!(rows[2].contains(",\"a,comma\",created,"), "{}", rows[2]);
    assert!(rows[2].contains("token:test"));
    let out = Command::new(crate::server::bin())
        .args(["audit", "export", "--tenant", "nobody", "--database", &db])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
