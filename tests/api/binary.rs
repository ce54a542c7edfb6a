//! The real binary: `token create`, `serve` on 127.0.0.1:0, a request over TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rollcall")
}

fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn token_create_then_serve_and_call_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    let out = Command::new(bin())
        .args([
            "token",
            "create",
            "--tenant",
            "acme",
            "--label",
            "ci",
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
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line, the token: {stdout:?}");
    let token = lines[0].to_string();
    assert!(token.starts_with("rc_"));

    let mut child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    let mut reader = BufReader::new(stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    let mut seen = String::new();
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(a) = line.trim().strip_prefix("rollcall listening on ") {
            addr = Some(a.to_string());
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line in: {seen}"));
    assert!(
        !seen.contains("bootstrap token"),
        "a database with a tenant gets no bootstrap token"
    );

    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"wire"}"#;
    let resp = http(
        &addr,
        &format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
    assert!(resp.contains(&format!("\"location\":\"http://{addr}/scim/v2/Users/")));
    let resp = http(
        &addr,
        &format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let resp = http(
        &addr,
        &format!("GET /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
}

#[test]
fn first_start_on_an_empty_database_prints_one_bootstrap_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let start = || {
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let server = Server(child);
        let mut reader = BufReader::new(stderr);
        let mut seen = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            let done = line.starts_with("rollcall listening on ");
            seen.push(line.trim().to_string());
            if done {
                break;
            }
        }
        drop(server);
        seen
    };
    let first = start();
    let tokens: Vec<_> = first.iter().filter(|l| l.starts_with("rc_")).collect();
    assert_eq!(tokens.len(), 1, "{first:?}");
    let second = start();
    assert!(second.iter().all(|l| !l.starts_with("rc_")), "{second:?}");
}
