//! A read-only directory (`directory_mode = "read-only"`): no local change
//! of a user an identity provider manages — admin API, operator, command
//! line, compliance jobs — while local holds stay possible unless
//! `local_holds = false`; locally invited users stay the admins'.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{admin, root};
use crate::support::{patch_body, Resp, TestApp};

pub const READ_ONLY: &str = "plans = [\"basic\", \"team\"]\n[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\ndirectory_mode = \"read-only\"\n";

#[track_caller]
fn read_only(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
    assert_eq!(r.body["error"], "read_only", "{what}");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("directory_mode = \"read-only\""),
        "{what}: {detail}"
    );
}

/// `POST /admin/v1/users/{id}/ban` with this reason.
async fn ban(app: &TestApp, token: &str, id: &str, reason: &str) -> Resp {
    let path = format!("/admin/v1/users/{id}/ban");
    admin(
        app,
        token,
        Method::POST,
        &path,
        Some(json!({"reason": reason})),
    )
    .await
}

/// What a user is, as the admin API shows it, minus what a read changes.
async fn snapshot(app: &TestApp, id: &str) -> Value {
    app.user_detail(id).await.unwrap()
}

#[tokio::test]
async fn rule_a_read_only_directory_refuses_local_changes_to_idp_managed_users() {
    let app = TestApp::from_toml(READ_ONLY).await;
    let (_, token) = root(&app).await;
    let ann = app.user("ann@acme.test").await;
    let before = snapshot(&app, &ann).await;
    let audit = app.audit_count().await;
    let at = |what: &str| format!("/admin/v1/users/{ann}{what}");
    for body in [
        json!({"role": "power-user"}),
        json!({"type": "viewer"}),
        json!({"plan": "team"}),
        json!({"projects": {"warehouse": "editor"}}),
    ] {
        let r = admin(
            &app,
            &token,
            Method::PATCH,
            &at("/access"),
            Some(body.clone()),
        )
        .await;
        read_only(&r, &body.to_string());
    }
    read_only(
        &admin(&app, &token, Method::POST, &at("/disable"), None).await,
        "disable",
    );
    read_only(
        &admin(&app, &token, Method::DELETE, &at(""), None).await,
        "delete",
    );
    assert_eq!(snapshot(&app, &ann).await, before);
    assert_eq!(app.audit_count().await, audit);
    // The IdP disables and deletes; enabling or restoring here is refused.
    let path = format!("/scim/v2/Users/{ann}");
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(app.patch(&path, &off).await.status, StatusCode::OK);
    read_only(
        &admin(&app, &token, Method::POST, &at("/enable"), None).await,
        "enable",
    );
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    read_only(
        &admin(&app, &token, Method::POST, &at("/restore"), None).await,
        "restore",
    );
    // The operator (the command line) is refused the same.
    let bob = app.user("bob@acme.test").await;
    let e = app
        .directory
        .set_enabled(&app.operator(), &bob, false)
        .await;
    assert!(
        matches!(e, Err(rollcall::directory::DirectoryError::ReadOnly(_))),
        "{e:?}"
    );
    // So is a compliance job's deactivate or delete: use hold.
    for mode in ["deactivate", "delete"] {
        let body = json!({"mode": mode, "leavers": ["bob@acme.test"]});
        let job = crate::deprovision::run(&app, &token, body).await;
        let row = &job["rows"]["items"][0];
        assert_eq!(row["action"], "refused", "{mode}: {row}");
        assert!(
            row["error"].as_str().unwrap().contains("read-only"),
            "{row}"
        );
    }
    let body = json!({"mode": "hold", "leavers": ["bob@acme.test"]});
    let job = crate::deprovision::run(&app, &token, body).await;
    assert_eq!(job["rows"]["items"][0]["action"], "held", "{job}");
    // The tenant says what it is.
    let t = admin(&app, &token, Method::GET, "/admin/v1/tenant", None).await;
    assert_eq!(t.body["directoryMode"], "read-only");
    assert_eq!(t.body["localHolds"], true);
}

#[tokio::test]
async fn rule_a_read_only_directory_still_allows_local_holds() {
    let app = TestApp::from_toml(READ_ONLY).await;
    let (_, token) = root(&app).await;
    let ann = app.user("ann@acme.test").await;
    let r = ban(&app, &token, &ann, "audit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "banned");
    let unban = format!("/admin/v1/users/{ann}/unban");
    let r = admin(&app, &token, Method::POST, &unban, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "created");
}

#[tokio::test]
async fn rule_a_read_only_directory_may_forbid_local_holds_too() {
    let config = READ_ONLY.replace("directory_mode", "local_holds = false\ndirectory_mode");
    let app = TestApp::from_toml(&config).await;
    let (_, token) = root(&app).await;
    let ann = app.user("ann@acme.test").await;
    let r = ban(&app, &token, &ann, "x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["error"], "read_only");
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("local_holds = false"));
    let body = json!({"mode": "hold", "leavers": ["ann@acme.test"]});
    let job = crate::deprovision::run(&app, &token, body).await;
    assert_eq!(job["rows"]["items"][0]["action"], "refused", "{job}");
    assert_eq!(app.user_detail(&ann).await.unwrap()["status"], "created");
    // Without holds, a re-create after deletion restores by default.
    let t = admin(&app, &token, Method::GET, "/admin/v1/tenant", None).await;
    assert_eq!(t.body["localHolds"], false);
    assert_eq!(
        t.body["recreateDeleted"],
        json!({"value": "restore", "source": "default"})
    );
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"recreateDeleted": "hold"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn rule_a_read_only_directory_leaves_locally_invited_users_to_the_admins() {
    let app = TestApp::from_toml(READ_ONLY).await;
    let (_, token) = root(&app).await;
    let invite = json!({"userName": "guest@acme.test", "email": "guest@acme.test"});
    let r = admin(&app, &token, Method::POST, "/admin/v1/users", Some(invite)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let guest = r.body["id"].as_str().unwrap().to_string();
    let access = format!("/admin/v1/users/{guest}/access");
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &access,
        Some(json!({"plan": "team"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let disable = format!("/admin/v1/users/{guest}/disable");
    let r = admin(&app, &token, Method::POST, &disable, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let delete = format!("/admin/v1/users/{guest}");
    let r = admin(&app, &token, Method::DELETE, &delete, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn rule_read_only_contradicts_local_overrides_at_start() {
    for (extra, says) in [
        (
            "directory_mode = \"read-only\"\nallow_local_overrides = true\n",
            "contradict",
        ),
        (
            "local_holds = false\nrecreate_deleted = \"hold\"\n",
            "local_holds = false",
        ),
    ] {
        let text = format!("[tenants.acme]\n{extra}");
        let cfg: rollcall::config::Config = toml::from_str(&text).unwrap();
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
    let bad: Result<rollcall::config::Config, _> =
        toml::from_str("[tenants.acme]\ndirectory_mode = \"readonly\"\n");
    assert!(bad.is_err());
}

#[tokio::test]
async fn rule_the_command_line_is_read_only_too() {
    let app = TestApp::from_toml(READ_ONLY).await;
    let ann = app.user("ann@acme.test").await;
    let cfg = app._dir.path().join("read-only.toml");
    std::fs::write(&cfg, READ_ONLY).unwrap();
    let cfg = cfg.to_str().unwrap();
    let out = crate::cli::rollcall(
        &app.url,
        &[
            "user",
            "disable",
            "--tenant",
            "acme",
            "--config",
            cfg,
            "ann@acme.test",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read-only"), "{err}");
    let out = crate::cli::rollcall(
        &app.url,
        &[
            "user",
            "set-role",
            "--tenant",
            "acme",
            "--config",
            cfg,
            "ann@acme.test",
            "admin",
        ],
    );
    assert!(!out.status.success());
    // A hold is the operator's to put.
    let held = crate::cli::ok(
        &app.url,
        &[
            "user",
            "ban",
            "--tenant",
            "acme",
            "--config",
            cfg,
            "ann@acme.test",
            "--reason",
            "audit",
        ],
    );
    assert!(held.contains("banned"), "{held}");
    let tenant = crate::cli::ok(
        &app.url,
        &["tenant", "show", "--tenant", "acme", "--config", cfg],
    );
    assert!(tenant.contains("read-only"), "{tenant}");
    assert_eq!(app.user_detail(&ann).await.unwrap()["status"], "banned");
}
