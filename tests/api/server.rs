//! The real binary on a loopback port, and a minimal HTTP/1.1 client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rollcall")
}

/// A running `rollcall serve`, killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    /// What the server printed on stderr before it listened.
    pub startup: Vec<String>,
    /// Everything it printed on stderr after that, so far.
    pub log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(db: &str) -> Server {
        Self::start_with(db, &[])
    }

    /// Start with extra arguments (e.g. `--config FILE`).
    pub fn start_with(db: &str, extra: &[&str]) -> Server {
        Self::start_logging(db, extra, "warn")
    }

    /// Start with extra arguments and this `RUST_LOG`.
    pub fn start_logging(db: &str, extra: &[&str], rust_log: &str) -> Server {
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
            .args(extra)
            .env("RUST_LOG", rust_log)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut reader = BufReader::new(stderr);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut startup = Vec::new();
        let mut addr = None;
        while Instant::now() < deadline {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let line = line.trim().to_string();
            if let Some(a) = line.strip_prefix("rollcall listening on ") {
                addr = Some(a.to_string());
                startup.push(line);
                break;
            }
            startup.push(line);
        }
        // Keep draining stderr so the server never blocks on a full pipe.
        let log = Arc::new(Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                kept.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let addr = addr.unwrap_or_else(|| panic!("server did not start: {startup:?}"));
        Server {
            child,
            addr,
            startup,
            log,
        }
    }
}

impl Server {
    /// Send SIGTERM (a graceful stop).
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Wait at most `limit` for the process to exit; its status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server has logged since it listened.
    pub fn logged(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// Run the binary with these arguments; its stdout (it must succeed).
pub fn run(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Create a tenant token with the CLI (SCIM, the audit trail, the event
/// feed and the host's reports); returns it.
pub fn token(db: &str, tenant: &str) -> String {
    run(&[
        "token",
        "create",
        "--tenant",
        tenant,
        "--label",
        "test",
        "--scope",
        "scim,events,audit,sign-in",
        "--database",
        db,
    ])
    .trim()
    .to_string()
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> HttpResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}
