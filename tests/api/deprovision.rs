//! Compliance deprovisioning through the admin API: dry run, run, per-row
//! report, guards, idempotent re-run, audit by job id. (The command line and
//! kill-and-resume are in `cli.rs`.)

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{admin, root};
use crate::support::{admin_token, TestApp, USER};

pub const CONFIG: &str = "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n[tenants.globex]\nsuper_admins = [\"boss@globex.test\"]\n\n[[role_mapping]]\nmatch = { group = \"Admins\" }\nset = { role = \"admin\" }\n";

/// Start a job and wait for it to finish; the finished job with all rows.
pub async fn run(app: &TestApp, token: &str, body: Value) -> Value {
    let r = admin(
        app,
        token,
        Method::POST,
        "/admin/v1/deprovision-jobs",
        Some(body),
    )
    .await;
    assert!(
        r.status == StatusCode::ACCEPTED || r.status == StatusCode::OK,
        "{}",
        r.text
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("/admin/v1/deprovision-jobs/{id}").as_str())
    );
    for _ in 0..400 {
        let r = admin(
            app,
            token,
            Method::GET,
            &format!("/admin/v1/deprovision-jobs/{id}?page_size=100"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["state"] == "done" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not finish");
}

/// `GET /admin/v1/deprovision-jobs` with admin credentials.
async fn jobs(app: &TestApp, token: &str) -> Value {
    let r = admin(app, token, Method::GET, "/admin/v1/deprovision-jobs", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn rows(job: &Value) -> Vec<Value> {
    job["rows"]["items"].as_array().unwrap().clone()
}

async fn status(app: &TestApp, id: &str) -> String {
    let u = app
        .store
        .user_record(&app.tenant, id)
        .await
        .unwrap()
        .unwrap();
    u.status
}

pub async fn people(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for name in ["ann", "bob", "cy", "dee"] {
        let body = json!({"schemas": [USER], "userName": format!("{name}@acme.test"),
            "emails": [{"value": format!("{name}@mail.acme.test"), "primary": true}],
            "externalId": format!("E-{name}")});
        ids.push(
            app.user_from(body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids
}

#[tokio::test]
async fn a_dry_run_reports_every_row_and_changes_nothing() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    let ids = people(&app).await;
    // Two users share an email: matching by it is ambiguous.
    app.user_from(json!({"schemas": [USER], "userName": "twin@acme.test",
        "emails": [{"value": "dee@mail.acme.test"}]}))
        .await;
    let audit_before = app.audit_count().await;
    let events_before = app.store.events(&app.tenant).await.unwrap().len();
    let csv = "Email Address,Name\nANN@mail.acme.test,Ann\nnobody@mail.acme.test,Nobody\ndee@mail.acme.test,Dee\n,blank\nroot@acme.test,Me\n";
    let job = run(
        &app,
        &token,
        json!({"mode": "deactivate", "csv": csv, "dryRun": true}),
    )
    .await;
    assert_eq!(job["match"], "email", "the header named the column");
    assert_eq!(
        (job["total"].clone(), job["done"].clone()),
        (json!(5), json!(5))
    );
    assert_eq!(job["dryRun"], true);
    let r = rows(&job);
    assert_eq!(r[0]["match"], "matched");
    assert_eq!(r[0]["userId"], ids[0].as_str());
    assert_eq!(r[0]["action"], "would deactivate");
    assert_eq!(
        (r[0]["statusBefore"].as_str(), r[0]["statusAfter"].as_str()),
        (Some("created"), Some("disabled"))
    );
    assert_eq!(r[1]["match"], "none");
    assert!(r[1]["error"].as_str().unwrap().contains("no user"));
    assert_eq!(r[2]["match"], "ambiguous");
    assert!(
        r[2]["error"].as_str().unwrap().contains("twin@acme.test"),
        "{}",
        r[2]
    );
    assert_eq!(r[3]["match"], "invalid");
    // root has no email at all; matched by email it is simply not found.
    assert_eq!(r[4]["match"], "none");
    // Nothing changed but the job's own record (started, finished).
    assert_eq!(status(&app, &ids[0]).await, "created");
    assert_eq!(app.audit_count().await, audit_before + 2);
    let kinds: Vec<String> = app.store.events(&app.tenant).await.unwrap()[events_before..]
        .iter()
        .map(|(k, _, _)| k.clone())
        .collect();
    assert_eq!(
        kinds,
        vec!["deprovision_job.started", "deprovision_job.finished"]
    );
}

#[tokio::test]
async fn a_run_deactivates_audits_with_the_job_id_and_a_rerun_changes_nothing() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    let ids = people(&app).await;
    let body = json!({"mode": "deactivate", "match": "externalId",
        "leavers": ["E-ann", "E-bob", "e-cy", "E-ann"]});
    let job = run(&app, &token, body.clone()).await;
    let r = rows(&job);
    assert_eq!(r[0]["action"], "deactivated", "{}", r[0]);
    assert_eq!(r[1]["action"], "deactivated");
    assert_eq!(r[2]["match"], "none", "externalId compares exactly");
    assert_eq!(r[3]["action"], "none", "a repeated row is done already");
    assert!(r[3]["hook"].as_str().unwrap().contains("already"));
    assert_eq!(status(&app, &ids[0]).await, "disabled");
    assert_eq!(status(&app, &ids[1]).await, "disabled");
    assert_eq!(status(&app, &ids[2]).await, "created");
    assert_eq!(job["actions"]["deactivated"], 2);
    // Every change carries the job id: the audit trail proves the run.
    let id = job["id"].as_str().unwrap();
    let a = app.get(&format!("/admin/v1/audit?job_id={id}")).await;
    let actions: Vec<&str> = a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "deprovision_started",
            "disabled",
            "disabled",
            "deprovision_finished"
        ]
    );
    let entry = &a.body["items"][1];
    assert!(
        entry["description"].as_str().unwrap().contains(id),
        "{entry}"
    );
    // A client naming the job's id as its X-Request-Id writes no entry into
    // the job's trail: the trail is by job id, which only the runner sets.
    let path = format!("/scim/v2/Users/{}", ids[3]);
    let ops =
        crate::support::patch_body(json!([{"op": "replace", "path": "displayName", "value": "D"}]));
    let mut forged = app.request(Method::PATCH, &path, Some(&ops), Some(&app.token));
    forged
        .headers_mut()
        .insert("x-request-id", id.parse().unwrap());
    assert_eq!(app.send(forged).await.status, StatusCode::OK);
    let again = app.get(&format!("/admin/v1/audit?job_id={id}")).await;
    assert_eq!(again.body["items"], a.body["items"]);
    let by_request = app.get(&format!("/admin/v1/audit?request_id={id}")).await;
    let forged: Vec<&Value> = by_request.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(forged.len(), 1, "{}", by_request.text);
    assert!(forged[0]["jobId"].is_null(), "{}", forged[0]);
    assert!(
        entry["actor"].as_str().unwrap().contains("root@acme.test"),
        "{entry}"
    );
    // The same list again: a new job, every row already done, no change.
    let audit_before = app.audit_count().await;
    let again = run(&app, &token, body).await;
    assert_ne!(again["id"], job["id"]);
    assert!(
        rows(&again).iter().all(|r| r["action"] == "none"),
        "{}",
        again["rows"]
    );
    assert_eq!(
        app.audit_count().await,
        audit_before + 2,
        "only the job's own entries"
    );
    // The report as CSV.
    let path = format!("/admin/v1/deprovision-jobs/{id}/report");
    let r = admin(&app, &token, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(
        lines[0],
        "row,input,match,user_id,user_name,action,status_before,status_after,hook,error"
    );
    assert!(
        lines[1].starts_with(&format!(
            "1,E-ann,matched,{},ann@acme.test,deactivated,created,disabled,",
            ids[0]
        )),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 5);
    assert_eq!(
        jobs(&app, &token).await["items"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn deletion_hands_assets_to_the_named_successor_and_guards_refuse_rows() {
    let app = TestApp::from_toml(CONFIG).await;
    let (root_id, root_token) = root(&app).await;
    let ids = people(&app).await;
    // An admin (through the Admins group) runs the job.
    app.group("Admins", &[&ids[3]]).await;
    let adm = admin_token(&app.store, &app.tenant, &ids[3], "dee").await;
    let job = run(
        &app,
        &adm,
        json!({"mode": "delete", "match": "userName",
        "transferTo": "cy@mail.acme.test",
        "leavers": ["ann@acme.test", "root@acme.test", "dee@acme.test", "bob@acme.test"]}),
    )
    .await;
    let r = rows(&job);
    assert_eq!(r[0]["action"], "deleted", "{}", r[0]);
    assert_eq!(r[0]["statusAfter"], "deleted");
    assert!(
        r[0]["hook"].as_str().unwrap().contains("deletion complete"),
        "{}",
        r[0]
    );
    assert_eq!(
        r[1]["action"], "refused",
        "the super-admin ranks above an admin"
    );
    assert!(
        r[1]["error"].as_str().unwrap().contains("above your own"),
        "{}",
        r[1]
    );
    assert_eq!(r[2]["action"], "refused", "nobody deletes themself");
    assert_eq!(r[3]["action"], "deleted");
    let ann = app
        .store
        .user_record(&app.tenant, &ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ann.deletion.unwrap()["successor"]["id"],
        ids[2].as_str(),
        "transferTo by email"
    );
    assert_eq!(status(&app, &root_id).await, "created");
    // Deleted users are found again on a re-run and reported as done.
    let again = run(
        &app,
        &root_token,
        json!({"mode": "delete", "leavers": ["ann@acme.test"]}),
    )
    .await;
    assert_eq!(rows(&again)[0]["match"], "matched");
    assert_eq!(rows(&again)[0]["statusBefore"], "deleted");
    assert_eq!(rows(&again)[0]["action"], "none");
}

#[tokio::test]
async fn job_requests_are_checked_and_need_admin_credentials() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    people(&app).await;
    let tenant_token = app.token.clone();
    let r = app
        .call_as(
            &tenant_token,
            Method::POST,
            "/admin/v1/deprovision-jobs",
            Some(&json!({"mode": "deactivate", "leavers": ["ann@acme.test"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    for body in [
        json!({"mode": "erase", "leavers": ["a"]}),
        json!({"mode": "deactivate", "leavers": []}),
        json!({"mode": "deactivate"}),
        json!({"mode": "deactivate", "leavers": ["a"], "csv": "a"}),
        json!({"mode": "deactivate", "leavers": ["a"], "match": "phone"}),
        json!({"mode": "deactivate", "leavers": ["a"], "transferTo": "cy@acme.test"}),
        json!({"mode": "delete", "leavers": ["a"], "transferTo": "ghost@acme.test"}),
        json!({"mode": "delete", "leavers": ["a"], "batchSize": 0}),
        json!({"mode": "delete", "csv": "email\n", "match": "email"}),
        json!({"mode": "delete", "leavers": ["a"], "speed": "fast"}),
    ] {
        let r = admin(
            &app,
            &token,
            Method::POST,
            "/admin/v1/deprovision-jobs",
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
    }
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/deprovision-jobs",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(jobs(&app, &token).await["items"], json!([]));
    let r = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/deprovision-jobs/nope",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Another tenant's admin never sees the job.
    let job = run(
        &app,
        &token,
        json!({"mode": "deactivate", "leavers": ["ann@acme.test"], "dryRun": true}),
    )
    .await;
    let other = app.token_for("globex").await;
    let boss = json!({"schemas": [USER], "userName": "boss@globex.test"});
    let r = app
        .call_as(&other, Method::POST, "/scim/v2/Users", Some(&boss))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let globex = app.store.find_tenant("globex").await.unwrap().unwrap();
    let boss_id = r.body["id"].as_str().unwrap();
    let other = admin_token(&app.store, &globex, boss_id, "globex-admin").await;
    let r = app
        .call_as(
            &other,
            Method::GET,
            &format!("/admin/v1/deprovision-jobs/{}", job["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_previewed_dry_run_is_run_as_it_was_previewed() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    let ids = people(&app).await;
    let body = json!({"mode": "deactivate", "match": "userName",
        "leavers": ["ann@acme.test", "bob@acme.test"], "dryRun": true});
    let dry = run(&app, &token, body).await;
    let dry_id = dry["id"].as_str().unwrap();
    let hash = dry["inputHash"].as_str().unwrap();
    assert_eq!(hash.len(), 64, "{dry}");
    assert_eq!(status(&app, &ids[0]).await, "created");
    let path = format!("/admin/v1/deprovision-jobs/{dry_id}/run");
    // Another fingerprint: the input changed since the preview.
    let r = admin(
        &app,
        &token,
        Method::POST,
        &path,
        Some(json!({"inputHash": "0".repeat(64)})),
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert_eq!(
        jobs(&app, &token).await["items"].as_array().unwrap().len(),
        1
    );
    let r = admin(
        &app,
        &token,
        Method::POST,
        &path,
        Some(json!({"inputHash": hash})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["dryRun"], false);
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("/admin/v1/deprovision-jobs/{id}").as_str())
    );
    for _ in 0..400 {
        if app
            .store
            .job(&app.tenant, &id)
            .await
            .unwrap()
            .unwrap()
            .state
            == "done"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status(&app, &ids[0]).await, "disabled");
    assert_eq!(status(&app, &ids[1]).await, "disabled");
    assert_eq!(status(&app, &ids[2]).await, "created");
    // A real job is no dry run to run.
    let real_hash = app
        .store
        .job(&app.tenant, &id)
        .await
        .unwrap()
        .unwrap()
        .input_hash;
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/deprovision-jobs/{id}/run"),
        Some(json!({"inputHash": real_hash})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
