//! The real binary: `rollcall user …`, `rollcall group …` and `rollcall
//! deprovision`, and deprovisioning jobs killed midway (the command line
//! and a server) that resume where they stopped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::server::{bin, request, token, Server};

pub(crate) fn auth(token: &str) -> Vec<(String, String)> {
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

/// A fresh database with a tenant token, a server on it, and `n` users
/// seeded over SCIM: (its folder, its URL, the token, the server).
fn seeded(n: usize) -> (tempfile::TempDir, String, String, Server) {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let tok = token(&db, "acme");
    let server = Server::start(&db);
    seed(&server.addr, &tok, n);
    (dir, db, tok, server)
}

pub(crate) fn rollcall(db: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .args(["--database", db])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

pub(crate) fn ok(db: &str, args: &[&str]) -> String {
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

/// How many users of `acme` are disabled, as `rollcall user list` (the
/// operator) counts them: the admin API's user list needs a credential
/// bound to an admin user, and this tenant has none.
fn disabled(db: &str) -> u64 {
    let v = json_of(
        db,
        &["user", "list", "--tenant", "acme", "--status", "disabled"],
    );
    v["total"].as_u64().unwrap()
}

/// The deprovisioning jobs of `acme`, the admin API's view, read through
/// the directory as the operator (for the same reason).
fn operator_jobs(db: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = rollcall::directory::Directory::open_plain(db)
            .await
            .unwrap();
        let tenant = dir.find_tenant("acme").await.unwrap().unwrap();
        let jobs = dir.job_list(&crate::support::operator_ctx(&tenant)).await;
        serde_json::to_value(jobs.unwrap()).unwrap()
    })
}

#[test]
fn user_and_group_commands_mirror_the_admin_api() {
    let (_dir, db, tok, server) = seeded(12);
    let u03 = get(
        &server.addr,
        &tok,
        "/scim/v2/Users?filter=userName+eq+%22u03%22",
    )["Resources"][0]["id"]
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
    // Or the assets are removed with the account: no successor.
    let both = [
        "user",
        "delete",
        "u05",
        "--delete-assets",
        "--transfer-to",
        "u06",
    ];
    let both = with(&both);
    let both: Vec<&str> = both.iter().map(String::as_str).collect();
    assert!(!rollcall(&db, &both).status.success(), "one or the other");
    let v = call_json(&["user", "delete", "u05", "--delete-assets"]);
    assert_eq!(
        (v["status"].as_str(), v["deletion"]["assets"].as_str()),
        (Some("deleted"), Some("delete"))
    );
    assert!(v["deletion"]["successor"].is_null(), "{v}");
    let id = v["id"].as_str().unwrap();
    assert_eq!(call_json(&["user", "restore", id])["status"], "created");

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
    let (dir, db, tok, server) = seeded(60);
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
    assert_eq!(disabled(&db), 0);

    // A run killed midway …
    let done_before_kill = start_and_kill(&db, input);
    let jobs = operator_jobs(&db);
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
    assert_eq!(disabled(&db), done as u64);

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
    assert_eq!(disabled(&db), 60);
    // Each user was changed once, under the job id.
    let audit = get(
        &server.addr,
        &tok,
        &format!("/admin/v1/audit?job_id={id}&action=disabled&limit=1000"),
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

/// Admin credentials of `user` (made with the command line).
fn admin_credentials(db: &str, cfg: &str, user: &str) -> String {
    let out = Command::new(bin())
        .args([
            "token",
            "create",
            "--tenant",
            "acme",
            "--user",
            user,
            "--scope",
            "admin,audit",
            "--database",
            db,
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
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Each value of `key` in `items`, with how often it occurs.
fn tally<'a>(items: &'a [Value], key: &str) -> std::collections::BTreeMap<&'a str, usize> {
    let mut out = std::collections::BTreeMap::new();
    for i in items {
        *out.entry(i[key].as_str().unwrap()).or_insert(0) += 1;
    }
    out
}

/// A server on `db` whose tenant has `n` users and an admin (boss), and a
/// slow job deactivating them all (10 rows a batch, 40 ms apart); the
/// server, the tenant token, the admin's and the answer to the start.
fn a_slow_job_of(
    db: &str,
    cfg: &str,
    n: usize,
) -> (Server, String, String, crate::server::HttpResponse) {
    let tok = token(db, "acme");
    let server = Server::start_with(db, &["--config", cfg]);
    let boss = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"boss"}"#;
    let r = request(
        &server.addr,
        "POST",
        "/scim/v2/Users",
        &auth(&tok),
        Some(boss),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    seed(&server.addr, &tok, n);
    let adm = admin_credentials(db, cfg, "boss");
    let leavers: Vec<String> = (0..n).map(|i| format!("u{i:02}")).collect();
    let body = json!({"mode": "deactivate", "leavers": leavers, "batchSize": 10, "pauseMs": 40});
    let r = request(
        &server.addr,
        "POST",
        "/admin/v1/deprovision-jobs",
        &auth(&adm),
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    (server, tok, adm, r)
}

/// Exactly one audit row (in the job's trail) and one `user.deactivated`
/// event per user of the job: nothing was done twice.
fn each_user_changed_once(addr: &str, adm: &str, tok: &str, id: &str, n: usize) {
    let trail = get(
        addr,
        adm,
        &format!("/admin/v1/audit?job_id={id}&limit=1000"),
    );
    let trail = trail["items"].as_array().unwrap().clone();
    let actions = tally(&trail, "action");
    assert_eq!(
        actions,
        [
            ("deprovision_finished", 1),
            ("deprovision_started", 1),
            ("disabled", n)
        ]
        .into_iter()
        .collect()
    );
    let changed: Vec<Value> = trail
        .into_iter()
        .filter(|e| e["action"] == "disabled")
        .collect();
    let per_user = tally(&changed, "objectId");
    assert_eq!(per_user.len(), n, "every user once");
    assert!(per_user.values().all(|times| *times == 1));
    let events = get(addr, tok, "/admin/v1/events?limit=1000");
    let deactivated: Vec<Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "user.deactivated")
        .cloned()
        .collect();
    let per_user = tally(&deactivated, "objectId");
    assert_eq!(
        (deactivated.len(), per_user.len()),
        (n, n),
        "one event per user"
    );
}

/// Kill -9 in the middle of an API job of 300 rows: the next server resumes
/// it at once (the dead runner's process is gone: no waiting out its
/// 60-second lease) and finishes it, and no user is changed, audited or
/// announced twice.
#[test]
fn an_api_job_of_a_killed_server_resumes_on_the_next_start() {
    const N: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let cfg = dir.path().join("rollcall.toml");
    std::fs::write(&cfg, "[tenants.acme]\nsuper_admins = [\"boss\"]\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let (server, tok, adm, r) = a_slow_job_of(&db, cfg, N);
    let job: Value = serde_json::from_str(&r.body).unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let path = format!("/admin/v1/deprovision-jobs/{id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let first_runner = loop {
        let j = get(&server.addr, &adm, &path);
        if j["done"].as_u64().unwrap() >= 50 {
            assert_eq!(j["state"], "running", "killed midway: {j}");
            break j["runner"].clone();
        }
        assert!(Instant::now() < deadline, "no progress: {j}");
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(server); // SIGKILL (and reaped): between two batches or inside one.
    let at_kill = operator_jobs(&db)["items"][0].clone();
    let done_at_kill = at_kill["done"].as_u64().unwrap();
    assert!(
        at_kill["state"] == "running" && (50..N as u64).contains(&done_at_kill),
        "{at_kill}"
    );
    let restarted = Instant::now();
    let server = Server::start_with(&db, &["--config", cfg]);
    let finished = loop {
        let j = get(&server.addr, &adm, &path);
        if j["state"] == "done" {
            break j;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "the job was not resumed at once: {j}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_ne!(
        finished["runner"], first_runner,
        "the new server ran the rest"
    );
    assert_eq!(finished["actions"], json!({"deactivated": N}));
    assert_eq!(disabled(&db), N as u64);
    each_user_changed_once(&server.addr, &adm, &tok, &id, N);
}

/// `rollcall backup --database DB --to TO`; its output, whatever the outcome.
fn backup(db: &str, to: impl AsRef<std::path::Path>) -> std::process::Output {
    std::process::Command::new(crate::server::bin())
        .args(["backup", "--database", db, "--to"])
        .arg(to.as_ref())
        .output()
        .unwrap()
}

#[test]
fn backup_writes_a_checked_copy_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let tok = crate::server::token(&db, "acme");
    if crate::support::on_postgres() {
        let out = backup(&db, dir.path().join("x.db"));
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    {
        let server = crate::server::Server::start(&db);
        let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"kept@acme.test"}"#;
        let auth = vec![
            ("Authorization".to_string(), format!("Bearer {tok}")),
            (
                "Content-Type".to_string(),
                "application/scim+json".to_string(),
            ),
        ];
        let r = crate::server::request(&server.addr, "POST", "/scim/v2/Users", &auth, Some(body));
        assert_eq!(r.status, 201, "{}", r.body);
        // Taken while the server runs (its WAL holds the latest write).
        let to = dir.path().join("backup.db");
        let out = backup(&db, &to);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("integrity check ok"), "{err}");
    }
    let to = dir.path().join("backup.db");
    // One self-contained file.
    assert!(!dir.path().join("backup.db-wal").exists());
    // The copy serves: the user is there.
    let copy = format!("sqlite://{}", to.display());
    let list = crate::server::run(&[
        "user",
        "list",
        "--tenant",
        "acme",
        "--database",
        &copy,
        "--json",
    ]);
    assert!(list.contains("kept@acme.test"), "{list}");
    // A second backup to the same file is refused and leaves it alone.
    let before = std::fs::read(&to).unwrap();
    let out = backup(&db, &to);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(std::fs::read(&to).unwrap(), before);
    // A database that does not exist is not created by a backup.
    let missing = dir.path().join("missing.db");
    let out = backup(
        &format!("sqlite://{}", missing.display()),
        dir.path().join("y.db"),
    );
    assert!(!out.status.success());
    assert!(!missing.exists());
}

/// `rollcall deprovision --cancel JOB` stops a job another command is
/// running: that command ends with the job cancelled, the rows done keep
/// their changes, nothing after them is touched, and a second cancel is
/// refused.
#[test]
fn a_running_job_is_cancelled_from_another_command() {
    let (dir, db, _tok, _server) = seeded(60);
    let input = dir.path().join("leavers.txt");
    let list: String = (0..60).map(|i| format!("u{i:02}\n")).collect();
    std::fs::write(&input, list).unwrap();
    let mut child = Command::new(bin())
        .args(["deprovision", "--tenant", "acme", "--mode", "deactivate"])
        .args(["--input", input.to_str().unwrap(), "--batch-size", "2"])
        .args(["--pause-ms", "200", "--database", &db])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut job_id = None;
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        // "job <id>: deactivate 60 leavers matched by userName"
        if let Some(rest) = line.strip_prefix("job ") {
            job_id = rest.split(':').next().map(str::to_string);
        }
        if line.starts_with("progress: ") && !line.starts_with("progress: 0/") {
            break;
        }
        line.clear();
    }
    let id = job_id.expect("the command announced its job");
    let out = ok(&db, &["deprovision", "--tenant", "acme", "--cancel", &id]);
    assert!(out.contains("cancelled after"), "{out}");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert!(!status.success(), "the running command reports the cancel");
    assert!(rest.contains("cancelled"), "{rest}");
    let jobs = operator_jobs(&db);
    let job = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(job["state"], "cancelled", "{job}");
    let done = job["done"].as_u64().unwrap();
    assert!(done > 0 && done < 60, "{job}");
    assert_eq!(
        disabled(&db),
        done,
        "the rows done keep their changes, no more"
    );
    let again = rollcall(&db, &["deprovision", "--tenant", "acme", "--cancel", &id]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("only a running job can be cancelled"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn rule_policy_diff_previews_a_toml_file_and_apply_stores_it_as_the_next_version() {
    let (dir, db, tok, server) = seeded(3);
    let lead = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "lead@acme.test", "title": "Lead"});
    let r = request(
        &server.addr,
        "POST",
        "/scim/v2/Users",
        &auth(&tok),
        Some(&lead.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    drop(server);
    let shown = ok(&db, &["policy", "show", "--tenant", "acme"]);
    assert!(shown.contains("(version 0)"), "{shown}");
    assert!(shown.contains("name = \"super-admin\""), "{shown}");
    let file = dir.path().join("policy.toml");
    std::fs::write(
        &file,
        r#"plans = ["free", "pro"]

[[roles]]
name = "analyst"
rank = 25
permissions = ["users.read"]

[[rules]]
name = "Leads"
match = { attribute = "title", equals = "Lead" }
set = { role = "analyst", plan = "pro" }
"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let diff = ok(&db, &["policy", "diff", "--tenant", "acme", path]);
    assert!(
        diff.starts_with("1 user(s) would change (policy version 0 → 1)"),
        "{diff}"
    );
    assert!(diff.contains("lead@acme.test"), "{diff}");
    assert!(
        diff.contains("member plan none → user analyst plan pro"),
        "{diff}"
    );
    // diff wrote nothing.
    assert!(ok(&db, &["policy", "show", "--tenant", "acme"]).contains("(version 0)"));
    let out = rollcall(&db, &["policy", "apply", "--tenant", "acme", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("policy version 1 applied: 1 user(s) changed"),
        "{stdout}"
    );
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("version 1: 4/4 users, 1 changed (done)"),
        "{progress}"
    );
    let shown = ok(&db, &["policy", "show", "--tenant", "acme"]);
    assert!(
        shown.contains("(version 1)") && shown.contains("name = \"Leads\""),
        "{shown}"
    );
    let again = ok(&db, &["policy", "diff", "--tenant", "acme", path]);
    assert!(again.starts_with("0 user(s) would change"), "{again}");
    // A broken file is refused, naming the problem, and changes nothing.
    std::fs::write(
        &file,
        "[[rules]]\nmatch = { role = \"x\" }\nset = { role = \"wizard\" }\n",
    )
    .unwrap();
    let out = rollcall(&db, &["policy", "apply", "--tenant", "acme", path]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wizard"));
    assert!(ok(&db, &["policy", "show", "--tenant", "acme"]).contains("(version 1)"));
}
