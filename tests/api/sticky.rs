//! Sticky offboarding: a compliance hold (deprovisioning `mode = "hold"`)
//! that an identity provider's `active: true` does not lift, and a user the
//! identity provider creates again after their deletion, held for review or
//! restored (`recreate_deleted`).

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::deprovision::{people, run, CONFIG};
use crate::directory::{admin, root, ACCESS};
use crate::support::{patch_body, TestApp, USER};

fn rows(job: &Value) -> Vec<Value> {
    job["rows"]["items"].as_array().unwrap().clone()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    app.user_detail(id).await.unwrap()
}

#[tokio::test]
async fn rule_a_hold_job_holds_each_leaver_with_the_job_id_as_reason() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    let ids = people(&app).await;
    let leavers = json!(["ann@mail.acme.test", "bob@mail.acme.test"]);
    let dry = run(
        &app,
        &token,
        json!({"mode": "hold", "match": "email", "leavers": leavers, "dryRun": true}),
    )
    .await;
    assert_eq!(rows(&dry)[0]["action"], "would hold");
    assert_eq!(detail(&app, &ids[0]).await["status"], "created");
    let job = run(
        &app,
        &token,
        json!({"mode": "hold", "match": "email", "leavers": leavers}),
    )
    .await;
    let job_id = job["id"].as_str().unwrap();
    for (row, id) in rows(&job).iter().zip(&ids) {
        assert_eq!(row["action"], "held", "{row}");
        assert_eq!(row["statusAfter"], "banned");
        let d = detail(&app, id).await;
        assert_eq!(
            d["ban"]["reason"],
            format!("deprovisioning job {job_id}"),
            "{d}"
        );
    }
    assert_eq!(detail(&app, &ids[2]).await["status"], "created");
    // Audited under the job's id, and the events say so.
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let held: Vec<&Value> = audit
        .iter()
        .filter(|a| a["action"] == "banned" && a["jobId"] == job_id)
        .collect();
    assert_eq!(held.len(), 2);
    assert!(held[0]["description"]
        .as_str()
        .unwrap()
        .contains("does not lift it"));
    let events = app.store.events(&app.tenant).await.unwrap();
    let bans: Vec<&Value> = events
        .iter()
        .filter(|(k, _, _)| k == "user.banned")
        .map(|(_, _, p)| p)
        .collect();
    assert_eq!(bans.len(), 2);
    assert_eq!(bans[0]["jobId"], job_id);
    // The same list again: already held, nothing to do (the reason stays).
    let again = run(&app, &token, json!({"mode": "hold", "match": "email", "leavers": ["ann@mail.acme.test"], "batchSize": 5})).await;
    let row = &rows(&again)[0];
    assert_eq!(row["action"], "none", "{row}");
    assert!(
        row["hook"].as_str().unwrap().starts_with("already held"),
        "{row}"
    );
    assert_eq!(
        detail(&app, &ids[0]).await["ban"]["reason"],
        format!("deprovisioning job {job_id}")
    );
    // A hold keeps the user's assets: no successor goes with it.
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/deprovision-jobs",
        Some(json!({"mode": "hold", "transferTo": "root@acme.test", "leavers": ["cy@acme.test"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn rule_a_compliance_hold_survives_the_idps_active_true() {
    let app = TestApp::from_toml(CONFIG).await;
    let (_, token) = root(&app).await;
    let ids = people(&app).await;
    let path = format!("/scim/v2/Users/{}", ids[0]);
    // The IdP deactivates the leaver, the compliance officer holds them …
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(app.patch(&path, &off).await.status, StatusCode::OK);
    let job = run(
        &app,
        &token,
        json!({"mode": "hold", "leavers": ["ann@acme.test"]}),
    )
    .await;
    assert_eq!(rows(&job)[0]["action"], "held", "{job}");
    // … then the IdP turns them on again, by PATCH and by PUT.
    let on = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    let r = app.patch(&path, &on).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], true);
    let put = json!({"schemas": [USER], "userName": "ann@acme.test", "externalId": "E-ann",
        "displayName": "Ann Again", "active": true});
    assert_eq!(app.put(&path, &put).await.status, StatusCode::OK);
    let r = app.get(&format!("{path}?attributes={ACCESS}:status")).await;
    assert_eq!(r.body[ACCESS]["status"], "banned", "{}", r.text);
    let d = detail(&app, &ids[0]).await;
    assert_eq!(d["status"], "banned");
    assert_eq!(
        d["ban"]["reason"],
        format!("deprovisioning job {}", job["id"].as_str().unwrap())
    );
    // And the host is told no.
    let r = app
        .call(
            Method::POST,
            &format!("/admin/v1/users/{}/sign-in", ids[0]),
            None,
        )
        .await;
    assert_eq!(r.body["allowed"], false, "{}", r.text);
}

fn leaver(name: &str, external_id: &str, email: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "externalId": external_id,
        "displayName": name, "emails": [{"value": email, "primary": true}]})
}

#[tokio::test]
async fn rule_a_user_the_idp_creates_again_is_held_for_review() {
    let app = TestApp::new().await;
    let ann = app.user_from(leaver("ann", "E-1", "ann@acme.test")).await;
    let old = ann["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{old}")).await.status,
        StatusCode::NO_CONTENT
    );
    // The IdP creates her again (same externalId): a success, a new account …
    let r = app
        .post("/scim/v2/Users", &leaver("ann", "E-1", "ann@acme.test"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let new = r.body["id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    // … held for review, naming the deleted account, which stays restorable.
    let d = detail(&app, &new).await;
    assert_eq!(d["status"], "banned", "{d}");
    let reason = d["ban"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("held for review") && reason.contains(&old),
        "{reason}"
    );
    assert!(reason.contains("same externalId"), "{reason}");
    assert_eq!(detail(&app, &old).await["status"], "deleted");
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .filter(|a| a["objectId"] == new.as_str())
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "banned"]);
    // The IdP cannot lift the hold.
    let on = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    app.patch(&format!("/scim/v2/Users/{new}"), &on).await;
    assert_eq!(detail(&app, &new).await["status"], "banned");
    // By email too (another externalId).
    let bob = app.user_from(leaver("bob", "E-2", "bob@acme.test")).await;
    let bob_id = bob["id"].as_str().unwrap();
    app.delete(&format!("/scim/v2/Users/{bob_id}")).await;
    let again = app
        .user_from(leaver("robert", "E-9", "BOB@acme.test"))
        .await;
    let d = detail(&app, again["id"].as_str().unwrap()).await;
    assert!(
        d["ban"]["reason"].as_str().unwrap().contains("same email"),
        "{d}"
    );
    // After the retention window, a fresh account it is.
    let cy = app.user_from(leaver("cy", "E-3", "cy@acme.test")).await;
    app.delete(&format!("/scim/v2/Users/{}", cy["id"].as_str().unwrap()))
        .await;
    app.clock.advance(15 * 86_400);
    let fresh = app.user_from(leaver("cy", "E-3", "cy@acme.test")).await;
    assert_eq!(
        detail(&app, fresh["id"].as_str().unwrap()).await["status"],
        "created"
    );
}

#[tokio::test]
async fn rule_a_user_the_idp_creates_again_is_restored() {
    let app = TestApp::from_toml("[tenants.acme]\nrecreate_deleted = \"restore\"\n").await;
    let ann = app.user_from(leaver("ann", "E-1", "ann@acme.test")).await;
    let id = ann["id"].as_str().unwrap().to_string();
    let eng = app.group("Eng", &[&id]).await;
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    // The IdP creates her again, renamed: the same account comes back.
    let r = app
        .post("/scim/v2/Users", &leaver("ann.lee", "E-1", "ann@acme.test"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["userName"], "ann.lee");
    let d = detail(&app, &id).await;
    assert_eq!(d["status"], "created", "{d}");
    assert_eq!(d["groups"][0]["id"], eng.as_str(), "{d}");
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let restored = audit
        .iter()
        .rev()
        .find(|a| a["objectId"] == id.as_str())
        .unwrap();
    assert_eq!(restored["action"], "restored");
    assert_eq!(restored["actor"], "token:okta");
    assert!(restored["description"]
        .as_str()
        .unwrap()
        .contains("created it again"));
    let events = app.store.events(&app.tenant).await.unwrap();
    let (_, _, payload) = events
        .iter()
        .rev()
        .find(|(k, _, _)| k == "user.restored")
        .unwrap();
    assert_eq!(payload["recreated"], true);
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(app.user_names("").await, ["ann.lee"]);
}

#[tokio::test]
async fn rule_recreate_deleted_is_a_tenant_setting_and_audited() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    let (_, token) = root(&app).await;
    let get = || admin(&app, &token, Method::GET, "/admin/v1/tenant", None);
    assert_eq!(
        get().await.body["recreateDeleted"],
        json!({"value": "hold", "source": "default"})
    );
    let set = |v: Value| {
        admin(
            &app,
            &token,
            Method::PATCH,
            "/admin/v1/tenant",
            Some(json!({"recreateDeleted": v})),
        )
    };
    let r = set(json!("restore")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["recreateDeleted"],
        json!({"value": "restore", "source": "admin"})
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let row = audit.last().unwrap();
    assert_eq!(row["action"], "tenant_changed");
    assert!(
        row["description"]
            .as_str()
            .unwrap()
            .contains("recreate_deleted restore"),
        "{row}"
    );
    let r = set(json!("forget")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = set(Value::Null).await;
    assert_eq!(
        r.body["recreateDeleted"],
        json!({"value": "hold", "source": "default"})
    );
    // Restore now applies to a re-create.
    set(json!("restore")).await;
    let ann = app.user_from(leaver("ann", "E-1", "ann@acme.test")).await;
    let id = ann["id"].as_str().unwrap();
    app.delete(&format!("/scim/v2/Users/{id}")).await;
    let again = app.user_from(leaver("ann", "E-1", "ann@acme.test")).await;
    assert_eq!(again["id"], id);
}

/// The migration that lets jobs hold (SQLite builds both job tables
/// again): an older database keeps its jobs and their rows, the rows stay
/// tied to their job, and a hold job may be stored.
#[tokio::test]
async fn an_older_database_keeps_its_jobs_and_takes_hold_jobs_after_the_upgrade() {
    use crate::support::{fresh_database, on_postgres};
    sqlx::any::install_default_drivers();
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(&dir);
    let (mut old, last, open_url) = match on_postgres() {
        true => (sqlx::migrate!("./migrations/postgres"), 15, url.clone()),
        false => (
            sqlx::migrate!("./migrations/sqlite"),
            20,
            format!("{url}?mode=rwc"),
        ),
    };
    let before: Vec<_> = old
        .migrations
        .iter()
        .filter(|m| m.version <= last)
        .cloned()
        .collect();
    old.migrations = before.into();
    let pool = sqlx::AnyPool::connect(&open_url).await.unwrap();
    old.run(&pool).await.unwrap();
    let run = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query(sql).execute(&pool).await }
    };
    run("INSERT INTO tenants (name, created) VALUES ('acme', '2026-01-01T00:00:00.000Z')")
        .await
        .unwrap();
    run("INSERT INTO deprovision_jobs (id, tenant_id, mode, match_on, dry_run, input_hash, source, actor, state, total, created)
         SELECT 'job-1', id, 'delete', 'email', 0, 'h', 'cli', 'cli:test', 'done', 2, '2026-01-01T00:00:00.000Z' FROM tenants").await.unwrap();
    run("INSERT INTO deprovision_rows (job_id, row_no, input, done, action) VALUES ('job-1', 1, 'a@x', 1, 'deleted'), ('job-1', 2, 'b@x', 1, 'none')").await.unwrap();
    pool.close().await;

    let store = rollcall::store::Store::connect(&url).await.unwrap();
    let tenant = store.find_tenant("acme").await.unwrap().unwrap();
    let job = store.job(&tenant, "job-1").await.unwrap().unwrap();
    assert_eq!((job.mode.as_str(), job.total), ("delete", 2));
    let rows = store.job_rows("job-1", 0, 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.input.as_str()).collect::<Vec<_>>(),
        ["a@x", "b@x"]
    );
    drop(store);
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let run = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query(sql).execute(&pool).await }
    };
    run("INSERT INTO deprovision_jobs (id, tenant_id, mode, match_on, dry_run, input_hash, source, actor, state, total, created)
         SELECT 'job-2', id, 'hold', 'email', 0, 'h2', 'cli', 'cli:test', 'done', 0, '2026-01-02T00:00:00.000Z' FROM tenants").await.unwrap();
    let bad = run("INSERT INTO deprovision_jobs (id, tenant_id, mode, match_on, dry_run, input_hash, source, actor, state, total, created)
         SELECT 'job-3', id, 'erase', 'email', 0, 'h3', 'cli', 'cli:test', 'done', 0, '2026-01-02T00:00:00.000Z' FROM tenants").await;
    assert!(bad.is_err(), "the mode is still checked");
    // The rows still belong to their job: deleting it takes them along.
    run("DELETE FROM deprovision_jobs WHERE id = 'job-1'")
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM deprovision_rows")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    pool.close().await;
}
