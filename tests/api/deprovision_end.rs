//! How deprovisioning jobs end (`directory/deprovision/end.rs`): a job that
//! cannot go on fails once with its reason, an admin cancels a running job,
//! and a runner that lost its lease stops without writing.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use rollcall::directory::deprovision::{JobRequest, RunOptions};
use rollcall::directory::{Ctx, DirectoryError};
use serde_json::{json, Value};

use crate::deprovision::{people, CONFIG};
use crate::directory::{admin, root};
use crate::support::{TestApp, USER};

/// The admin `user_id` (userName `name`) acting through admin credentials.
fn admin_ctx(app: &TestApp, user_id: &str, name: &str) -> Ctx {
    Ctx {
        tenant: app.tenant.clone(),
        actor: format!("user:{name} (token:{name})"),
        actor_user_id: Some(user_id.to_string()),
        source_ip: None,
        request_id: None,
        base_url: String::new(),
        operator: false,
    }
}

fn deactivate(inputs: Vec<String>) -> JobRequest {
    JobRequest {
        mode: "deactivate".into(),
        match_on: "userName".into(),
        transfer_to: None,
        dry_run: false,
        inputs,
    }
}

/// `n` users `u00@acme.test` … and their userNames.
async fn leavers(app: &TestApp, n: usize) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("u{i:02}@acme.test");
        app.user_from(json!({"schemas": [USER], "userName": name}))
            .await;
        names.push(name);
    }
    names
}

/// The job's audit trail, by its id: the actions in order.
async fn trail(app: &TestApp, job: &str) -> Vec<String> {
    let r = app
        .get(&format!("/admin/v1/audit?job_id={job}&limit=1000"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

async fn event_kinds(app: &TestApp) -> Vec<String> {
    crate::directory::event_kinds(app).await
}

async fn state_after(app: &TestApp, id: &str, from: &str) -> rollcall::store::JobRecord {
    for _ in 0..400 {
        let j = app.store.job(&app.tenant, id).await.unwrap().unwrap();
        if j.state != from {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} stayed {from}");
}

#[tokio::test]
async fn a_job_whose_creator_lost_their_rights_fails_once_with_the_reason() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, root_token) = root(&app).await;
    let ids = people(&app).await;
    // dee is an admin through the Admins group, and starts a job …
    let admins = app.group("Admins", &[&ids[3]]).await;
    let ctx = admin_ctx(&app, &ids[3], "dee@acme.test");
    let inputs = vec!["ann@acme.test".to_string(), "bob@acme.test".to_string()];
    let (job, _) = app
        .directory
        .open_job(&ctx, "api", deactivate(inputs))
        .await
        .unwrap();
    // … then loses the group, and with it the admin role, before the job
    // is worked (a server restarted meanwhile, say).
    let r = app.delete(&format!("/scim/v2/Groups/{admins}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    app.directory.resume_jobs().await.unwrap();
    let ended = state_after(&app, &job.id, "running").await;
    assert_eq!(ended.state, "failed");
    let reason = ended.reason.clone().unwrap();
    assert!(
        reason.starts_with("the job's creator may no longer run it: role \"member\""),
        "{reason}"
    );
    assert!(ended.finished.is_some() && ended.lease_until.is_none());
    let u = app.store.user_record(&app.tenant, &ids[0]).await.unwrap();
    assert_eq!(u.unwrap().status, "created", "nothing was done");
    // It stays failed: the rounds that follow leave it alone, and it
    // failed once — one audit row, one event.
    for _ in 0..3 {
        app.directory.resume_jobs().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let again = app.store.job(&app.tenant, &job.id).await.unwrap().unwrap();
    assert_eq!(
        (again.state.as_str(), again.finished.as_deref()),
        ("failed", ended.finished.as_deref())
    );
    assert_eq!(
        trail(&app, &job.id).await,
        vec!["deprovision_started", "deprovision_failed"]
    );
    let kinds = event_kinds(&app).await;
    assert_eq!(count(&kinds, "deprovision_job.failed"), 1);
    assert_eq!(count(&kinds, "deprovision_job.finished"), 0);
    // The API says so.
    let path = format!("/admin/v1/deprovision-jobs/{}", job.id);
    let r = admin(&app, &root_token, Method::GET, &path, None).await;
    assert_eq!(r.body["state"], "failed", "{}", r.text);
    assert_eq!(r.body["reason"], reason.as_str());
    assert_eq!(r.body["done"], 0);
}

#[tokio::test]
async fn an_admin_cancels_a_running_job_and_it_stops_at_its_next_batch() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    let names = leavers(&app, 12).await;
    let body = json!({"mode": "deactivate", "leavers": names, "batchSize": 1, "pauseMs": 150});
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/deprovision-jobs",
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        if app.store.job(&app.tenant, &id).await.unwrap().unwrap().done > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancel = format!("/admin/v1/deprovision-jobs/{id}/cancel");
    // Not for a tenant token, nor for a job that does not exist.
    let r = app.call_as(&app.token, Method::POST, &cancel, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/deprovision-jobs/nope/cancel",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = admin(&app, &token, Method::POST, &cancel, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "cancelled");
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap()
            .starts_with("cancelled by user:root@acme.test"),
        "{}",
        r.body
    );
    let done = r.body["done"].as_i64().unwrap();
    assert!((1..12).contains(&done), "{}", r.body);
    // The runner notices at its next batch and stops: a batch under way
    // when the cancel came was either committed before it or is dropped.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let now = app.store.job(&app.tenant, &id).await.unwrap().unwrap();
    assert_eq!((now.state.as_str(), now.done), ("cancelled", done));
    let t = trail(&app, &id).await;
    assert_eq!(t.first().map(String::as_str), Some("deprovision_started"));
    assert_eq!(t.last().map(String::as_str), Some("deprovision_cancelled"));
    assert_eq!(count(&t, "disabled") as i64, done, "{t:?}");
    assert_eq!(count(&t, "deprovision_finished"), 0);
    assert_eq!(
        count(&event_kinds(&app).await, "deprovision_job.cancelled"),
        1
    );
    // Only a running job is cancelled.
    let r = admin(&app, &token, Method::POST, &cancel, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("is cancelled"), "{}", r.text);
    // Documented.
    let doc = app
        .send(app.request(Method::GET, "/admin/v1/openapi.json", None, None))
        .await;
    let op = &doc.body["paths"]["/deprovision-jobs/{id}/cancel"]["post"];
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/JobView",
        "{op}"
    );
}

#[tokio::test]
async fn a_runner_that_lost_its_lease_stops_without_writing() {
    let app = TestApp::from_toml(CONFIG).await;
    let (root_id, _) = root(&app).await;
    let names = leavers(&app, 8).await;
    let ctx = admin_ctx(&app, &root_id, "root@acme.test");
    let (job, _) = app
        .directory
        .open_job(&ctx, "api", deactivate(names))
        .await
        .unwrap();
    let slow = RunOptions {
        batch_size: 1,
        pause: Duration::from_millis(200),
    };
    let dir = app.directory.clone();
    let j = job.clone();
    let a = tokio::spawn(async move { dir.run_job(&j, "runner-a", slow, &|_, _| {}).await });
    for _ in 0..400 {
        if app
            .store
            .job(&app.tenant, &job.id)
            .await
            .unwrap()
            .unwrap()
            .done
            > 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another runner takes the job over (its lease ran out, say).
    let mut tx = app.store.write(&app.tenant).await.unwrap();
    let until = "2099-01-01T00:00:00.000Z";
    assert!(tx
        .take_job_lease(&job.id, Some("runner-a"), "runner-b", until)
        .await
        .unwrap());
    let done_then = tx.job_done(&job.id).await.unwrap();
    tx.commit().await.unwrap();
    match a.await.unwrap() {
        Err(DirectoryError::Conflict(m)) => assert!(m.contains("taken over by runner-b"), "{m}"),
        other => panic!("runner A went on: {other:?}"),
    }
    let now = app.store.job(&app.tenant, &job.id).await.unwrap().unwrap();
    assert_eq!(now.done, done_then, "nothing written after the takeover");
    assert_eq!(
        (now.state.as_str(), now.runner.as_deref()),
        ("running", Some("runner-b"))
    );
    // A cannot take it back while B's lease runs; B finishes it.
    let r = app
        .directory
        .run_job(&job, "runner-a", RunOptions::default(), &|_, _| {})
        .await;
    assert!(matches!(r, Err(DirectoryError::Conflict(_))), "{r:?}");
    let finished = app
        .directory
        .run_job(&job, "runner-b", RunOptions::default(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!((finished.state.as_str(), finished.done), ("done", 8));
    let t = trail(&app, &job.id).await;
    assert_eq!(count(&t, "disabled"), 8, "each user once: {t:?}");
    let audit: Vec<Value> = app.store.audit_log(&app.tenant).await.unwrap();
    let disabled: std::collections::HashSet<&str> = audit
        .iter()
        .filter(|e| e["action"] == "disabled")
        .map(|e| e["objectId"].as_str().unwrap())
        .collect();
    assert_eq!(disabled.len(), 8);
}
