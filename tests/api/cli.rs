//! The real binary: `rollcall user …`, `rollcall group …` and `rollcall
//! deprovision`, and deprovisioning jobs killed midway (the command line
//! and a server) that resume where they stopped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::server::{bin, request, token, Server};

fn auth(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("Content-Type".into(), "application/scim+json".into()),
    ]
}

/// `n` users `u00`… (emails `uNN@acme.test`) created over SCIM Bulk.
fn seed(addr: &str, token: &str, n: usize) {
    let ops: Vec<Value> = (0..n)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("u{i:02}"),
                "displayName": format!("User {i:02}"),
                "emails": [{"value": format!("u{i:02}@acme.test"), "primary": true}]}})
        })
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    let r = request(
        addr,
        "POST",
        "/scim/v2/Bulk",
        &auth(token),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("\"status\":\"4"), "{}", r.body);
}

fn rollcall(db: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .args(["--database", db])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(db: &str, args: &[&str]) -> String {
    let out = rollcall(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(db: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(db, &a)).unwrap()
}

fn get(addr: &str, token: &str, path: &str) -> Value {
    let r = request(addr, "GET", path, &auth(token), None);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn user_and_group_commands_mirror_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let tok = token(&db, "acme");
    let server = Server::start(&db);
    seed(&server.addr, &tok, 12);
    let u03 = get(&server.addr, &tok, "/admin/v1/users?search=u03")["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng",
        "members": [{"value": u03}]});
    let r = request(
        &server.addr,
        "POST",
        "/scim/v2/Groups",
        &auth(&tok),
        Some(&g.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let t = ["--tenant", "acme"];
    let with = |extra: &[&str]| -> Vec<String> {
        extra
            .iter()
            .chain(t.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let call = |extra: &[&str]| -> String {
        let a = with(extra);
        ok(&db, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let call_json = |extra: &[&str]| -> Value {
        let a = with(extra);
        json_of(&db, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // A table by default …
    let table = call(&[
        "user",
        "list",
        "--page-size",
        "10",
        "--sort",
        "userName",
        "--order",
        "desc",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("USERNAME") && lines[0].contains("EMAIL"),
        "{table}"
    );
    assert!(lines[1].starts_with("u11 "), "{table}");
    assert_eq!(lines.last().unwrap(), &"page 1 of 2 (12 users)");
    // … the API's JSON with --json, the same filters.
    let v = call_json(&["user", "list", "--search", "U0", "--page-size", "20"]);
    assert_eq!(v["total"], 10);
    let v = call_json(&["user", "list", "--group", "Eng"]);
    assert_eq!(v["items"][0]["userName"], "u03");
    let out = rollcall(
        &db,
        &["user", "list", "--tenant", "acme", "--page-size", "15"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("page_size"),
        "a clear error"
    );

    let card = call(&["user", "show", "u03"]);
    assert!(card.contains("userName      u03"), "{card}");
    assert!(card.contains("groups        Eng"), "{card}");
    assert_eq!(call_json(&["user", "show", &u03])["email"], "u03@acme.test");

    assert_eq!(
        call_json(&["user", "ban", "u01", "--reason", "left"])["status"],
        "banned"
    );
    assert_eq!(call_json(&["user", "show", "u01"])["ban"]["reason"], "left");
    assert_eq!(call_json(&["user", "unban", "u01"])["status"], "created");
    // IdP-managed attributes stay the IdP's (no local overrides here).
    let out = rollcall(&db, &["user", "disable", "u02", "--tenant", "acme"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("identity provider"));
    let out = rollcall(
        &db,
        &["user", "set-role", "u02", "admin", "--tenant", "acme"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("identity provider"));
    let out = rollcall(&db, &["user", "set-plan", "u02", "--tenant", "acme"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--unset"),
        "a value or --unset"
    );
    // Acting as a plain member: the role guards apply.
    let out = rollcall(
        &db,
        &[
            "user", "ban", "u02", "--reason", "x", "--tenant", "acme", "--as", "u04",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("admin or above"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let v = call_json(&["user", "delete", "u05", "--transfer-to", "u06"]);
    assert_eq!(v["status"], "deleted");
    assert_eq!(v["deletion"]["successor"]["userName"], "u06");
    assert_eq!(call_json(&["user", "list"])["total"], 11);
    assert_eq!(
        call_json(&["user", "restore", v["id"].as_str().unwrap()])["status"],
        "created"
    );

    let groups = call(&["group", "list"]);
    assert!(
        groups.lines().nth(1).unwrap().starts_with("Eng "),
        "{groups}"
    );
    let shown = call(&["group", "show", "Eng"]);
    assert!(
        shown.contains("u03") && shown.contains("page 1 of 1 (1 members)"),
        "{shown}"
    );
    assert_eq!(call_json(&["group", "show", "Eng"])["members"]["total"], 1);
    // Every change above is audited as the command line.
    let audit = get(&server.addr, &tok, "/admin/v1/audit?action=banned");
    assert!(
        audit["items"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{audit}"
    );
}

/// Run `rollcall deprovision`; stop it (SIGKILL) once it has done some rows.
fn start_and_kill(db: &str, input: &str) -> usize {
    let mut child = Command::new(bin())
        .args([
            "deprovision",
            "--tenant",
            "acme",
            "--input",
            input,
            "--mode",
            "deactivate",
            "--batch-size",
            "3",
            "--pause-ms",
            "100",
            "--database",
            db,
        ])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push(line.clone());
        // "progress: 21/60 rows (35%) 1.0s"
        if let Some(rest) = line.strip_prefix("progress: ") {
            let done: usize = rest.split('/').next().unwrap().parse().unwrap();
            if done > 0 {
                child.kill().unwrap();
                child.wait().unwrap();
                return done;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("no progress seen: {seen:?}");
}

#[test]
fn deprovision_dry_run_report_rerun_and_a_killed_run_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let tok = token(&db, "acme");
    let server = Server::start(&db);
    seed(&server.addr, &tok, 60);
    let input = dir.path().join("leavers.csv");
    let mut csv = String::from("email,name\n");
    for i in 0..60 {
        csv.push_str(&format!("u{i:02}@ACME.test,User {i}\n"));
    }
    std::fs::write(&input, csv).unwrap();
    let input = input.to_str().unwrap();
    let report = dir.path().join("report.csv");
    let report_s = report.to_str().unwrap();

    // Dry run: a full report, nothing changed.
    let out = ok(
        &db,
        &[
            "deprovision",
            "--tenant",
            "acme",
            "--input",
            input,
            "--mode",
            "deactivate",
            "--dry-run",
            "--report",
            report_s,
        ],
    );
    assert!(out.contains("would deactivate"), "{out}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.lines().count(), 61);
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains(",would deactivate,created,disabled,")),
        "{text}"
    );
    assert_eq!(
        get(&server.addr, &tok, "/admin/v1/users?status=disabled")["total"],
        0
    );

    // A run killed midway …
    let done_before_kill = start_and_kill(&db, input);
    let jobs = get(&server.addr, &tok, "/admin/v1/deprovision-jobs");
    let job = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["dryRun"] == false)
        .unwrap()
        .clone();
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["state"], "running");
    let done = job["done"].as_u64().unwrap() as usize;
    assert!(
        done >= done_before_kill && done < 60,
        "{done} of 60 done at the kill"
    );
    assert_eq!(
        get(&server.addr, &tok, "/admin/v1/users?status=disabled")["total"],
        done as u64
    );

    // … resumes where it stopped when run again.
    let out = rollcall(
        &db,
        &[
            "deprovision",
            "--tenant",
            "acme",
            "--input",
            input,
            "--mode",
            "deactivate",
            "--report",
            report_s,
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("resuming job {id} at row {}", done + 1)),
        "{err}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(text.lines().count(), 61);
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains(",deactivated,created,disabled,")),
        "every row deactivated once: {text}"
    );
    assert_eq!(
        get(&server.addr, &tok, "/admin/v1/users?status=disabled")["total"],
        60
    );
    // Each user was changed once, under the job id.
    let audit = get(
        &server.addr,
        &tok,
        &format!("/admin/v1/audit?request_id={id}&action=disabled&limit=1000"),
    );
    assert_eq!(audit["items"].as_array().unwrap().len(), 60);

    // The same list once more: a new job, nothing to do.
    let out = ok(
        &db,
        &[
            "deprovision",
            "--tenant",
            "acme",
            "--input",
            input,
            "--mode",
            "deactivate",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["actions"], json!({"none": 60}));
}

#[test]
fn an_api_job_of_a_killed_server_resumes_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let cfg = dir.path().join("rollcall.toml");
    std::fs::write(&cfg, "[tenants.acme]\nsuper_admins = [\"boss\"]\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let tok = token(&db, "acme");
    let server = Server::start_with(&db, &["--config", cfg]);
    let boss = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"boss"}"#;
    assert_eq!(
        request(
            &server.addr,
            "POST",
            "/scim/v2/Users",
            &auth(&tok),
            Some(boss)
        )
        .status,
        201
    );
    seed(&server.addr, &tok, 40);
    let out = Command::new(bin())
        .args([
            "token",
            "create",
            "--tenant",
            "acme",
            "--user",
            "boss",
            "--database",
            &db,
            "--config",
            cfg,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let adm = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let leavers: Vec<String> = (0..40).map(|i| format!("u{i:02}")).collect();
    let body = json!({"mode": "deactivate", "leavers": leavers, "batchSize": 2, "pauseMs": 100});
    let r = request(
        &server.addr,
        "POST",
        "/admin/v1/deprovision-jobs",
        &auth(&adm),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let job: Value = serde_json::from_str(&r.body).unwrap();
    let path = format!("/admin/v1/deprovision-jobs/{}", job["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let first_runner = loop {
        let j = get(&server.addr, &adm, &path);
        if j["done"].as_u64().unwrap() > 0 {
            assert_eq!(j["state"], "running", "killed midway: {j}");
            break j["runner"].clone();
        }
        assert!(Instant::now() < deadline, "no progress: {j}");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(server); // SIGKILL: the job stops between two batches or inside one.
    let server = Server::start_with(&db, &["--config", cfg]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let j = get(&server.addr, &adm, &path);
        if j["state"] == "done" {
            break j;
        }
        assert!(Instant::now() < deadline, "the job was not resumed: {j}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_ne!(
        finished["runner"], first_runner,
        "the new server ran the rest"
    );
    assert_eq!(finished["actions"], json!({"deactivated": 40}));
    let audit = get(
        &server.addr,
        &adm,
        &format!(
            "/admin/v1/audit?request_id={}&action=disabled&limit=1000",
            job["id"].as_str().unwrap()
        ),
    );
    assert_eq!(
        audit["items"].as_array().unwrap().len(),
        40,
        "no row applied twice"
    );
}
