//! The tenant's owner (directory/owner.rs): nobody disables, bans or
//! deletes them — admin API, operator, deprovisioning, the IdP — and only
//! the owner hands ownership on.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{admin, event_kinds, root};
use crate::support::{admin_token, json_view, patch_body, TestApp, USER};

pub const OWNED: &str = "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nowner = \"founder@acme.test\"\nallow_local_overrides = true\n";

async fn status(app: &TestApp, id: &str) -> String {
    app.user_detail(id).await.unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn tenant(app: &TestApp, token: &str) -> Value {
    let r = admin(app, token, Method::GET, "/admin/v1/tenant", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// `POST /admin/v1/tenant/owner` as `token`.
async fn hand_on(app: &TestApp, token: &str, to: &str) -> crate::support::Resp {
    let body = json!({"user": to});
    admin(
        app,
        token,
        Method::POST,
        "/admin/v1/tenant/owner",
        Some(body),
    )
    .await
}

#[tokio::test]
async fn rule_nobody_disables_bans_or_deletes_the_owner() {
    let app = TestApp::from_toml(OWNED).await;
    let (_, token) = root(&app).await;
    let founder = app.user("founder@acme.test").await;
    let t = tenant(&app, &token).await;
    assert_eq!(t["owner"]["id"], founder.as_str());
    assert_eq!(t["owner"]["source"], "config");
    let before = app.audit_count().await;
    // A super-admin through the admin API (and so the console) …
    for (what, body) in [("disable", None), ("ban", Some(json!({"reason": "test"})))] {
        let path = format!("/admin/v1/users/{founder}/{what}");
        let r = admin(&app, &token, Method::POST, &path, body).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{what}: {}", r.text);
        assert_eq!(r.body["error"], "owner", "{what}");
        assert!(r.body["detail"]
            .as_str()
            .unwrap()
            .contains("owner of tenant"));
    }
    let path = format!("/admin/v1/users/{founder}");
    let r = admin(&app, &token, Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.body["error"], "owner");
    // … the operator on the command line …
    let op = app.operator();
    let e = app.directory.set_enabled(&op, &founder, false).await;
    assert!(matches!(
        e,
        Err(rollcall::directory::DirectoryError::Owner(_))
    ));
    let e = app.directory.set_ban(&op, &founder, Some("x".into())).await;
    assert!(matches!(
        e,
        Err(rollcall::directory::DirectoryError::Owner(_))
    ));
    let e = app
        .directory
        .delete_user(&op, &founder, None, Default::default(), true)
        .await;
    assert!(matches!(
        e,
        Err(rollcall::directory::DirectoryError::Owner(_))
    ));
    // … and a compliance job, whatever its mode: the row is refused.
    for mode in ["deactivate", "hold", "delete"] {
        let body = json!({"mode": mode, "leavers": ["founder@acme.test"]});
        let job = crate::deprovision::run(&app, &token, body).await;
        let row = &job["rows"]["items"][0];
        assert_eq!(row["action"], "refused", "{mode}: {row}");
        assert!(row["error"].as_str().unwrap().contains("owner"), "{row}");
    }
    assert_eq!(status(&app, &founder).await, "created");
    // No audit row says anything was done to the owner.
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let about: Vec<&Value> = audit[before..]
        .iter()
        .filter(|a| a["objectId"] == founder.as_str())
        .collect();
    assert!(about.is_empty(), "{about:?}");
    // The owner may still be changed otherwise (a role, say).
    let path = format!("/admin/v1/users/{founder}/access");
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn rule_an_idp_cannot_deactivate_or_delete_the_owner() {
    let app = TestApp::from_toml(OWNED).await;
    let founder = app.user("founder@acme.test").await;
    let path = format!("/scim/v2/Users/{founder}");
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&path, &off).await.assert_error(409, None);
    let put = json!({"schemas": [USER], "userName": "founder@acme.test", "active": false});
    let r = app.put(&path, &put).await;
    r.assert_error(409, None);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("cannot be deactivated"));
    app.delete(&path).await.assert_error(409, None);
    let r = app.get(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.body["active"], false);
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    // Any other change goes through.
    let rename = patch_body(json!([{"op": "replace", "path": "displayName", "value": "F"}]));
    assert_eq!(app.patch(&path, &rename).await.status, StatusCode::OK);
    // Anyone else the IdP deactivates and deletes as ever.
    let other = app.user("other@acme.test").await;
    let other_path = format!("/scim/v2/Users/{other}");
    assert_eq!(app.patch(&other_path, &off).await.status, StatusCode::OK);
    assert_eq!(app.delete(&other_path).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn rule_only_the_owner_hands_ownership_on() {
    let app = TestApp::from_toml(OWNED).await;
    let (_, root_token) = root(&app).await;
    let founder = app.user("founder@acme.test").await;
    let founder_token = admin_token(&app.store, &app.tenant, &founder, "founder").await;
    let heir = app.user("heir@acme.test").await;
    let viewer = app
        .user_from(json!({"schemas": [USER], "userName": "v@acme.test",
        "urn:rollcall:scim:schemas:extension:access:2.0:User": {"type": "viewer"}}))
        .await;
    let gone = app.user("gone@acme.test").await;
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/scim/v2/Users/{gone}"), &off).await;
    // A super-admin who is not the owner may not.
    let r = hand_on(&app, &root_token, "heir@acme.test").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("only the owner"));
    // The owner, to a live, enabled user of type user only.
    let r = hand_on(&app, &founder_token, viewer["id"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.body["detail"].as_str().unwrap().contains("viewer"));
    let r = hand_on(&app, &founder_token, &gone).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.body["detail"].as_str().unwrap().contains("disabled"));
    let r = hand_on(&app, &founder_token, "nobody@acme.test").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = hand_on(&app, &founder_token, "heir@acme.test").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], heir.as_str());
    assert_eq!(r.body["source"], "tenant");
    // Audited, with an event naming both.
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let row = audit
        .iter()
        .find(|a| a["action"] == "owner_changed")
        .unwrap();
    assert_eq!(row["objectType"], "Tenant");
    assert_eq!(row["actorUserId"], founder.as_str());
    assert!(row["description"]
        .as_str()
        .unwrap()
        .contains("from founder@acme.test"));
    let events = app.store.events(&app.tenant).await.unwrap();
    let (_, _, payload) = events
        .iter()
        .find(|(k, _, _)| k == "tenant.owner_changed")
        .unwrap();
    assert_eq!(payload["from"]["id"], founder.as_str());
    assert_eq!(payload["to"]["userName"], "heir@acme.test");
    // The heir is the owner now; the founder is an ordinary user again,
    // whatever the config file still says.
    let t = tenant(&app, &root_token).await;
    assert_eq!(t["owner"]["id"], heir.as_str());
    let r = hand_on(&app, &founder_token, "founder@acme.test").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let path = format!("/admin/v1/users/{heir}/disable");
    let r = admin(&app, &root_token, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let path = format!("/admin/v1/users/{founder}/disable");
    let r = admin(&app, &root_token, Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(event_kinds(&app)
        .await
        .contains(&"tenant.owner_changed".to_string()));
}

#[tokio::test]
async fn rule_the_operator_names_the_first_owner_and_replaces_one_only_when_told() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    let (_, root_token) = root(&app).await;
    let ann = app.user("ann@acme.test").await;
    let bob = app.user("bob@acme.test").await;
    assert_eq!(tenant(&app, &root_token).await["owner"], Value::Null);
    // Nobody in the tenant names the first owner …
    let r = hand_on(&app, &root_token, "ann@acme.test").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // … the operator does, once; replacing needs --replace.
    let op = app.operator();
    let first = app.directory.hand_on_ownership(&op, "ann@acme.test", false);
    assert_eq!(json_view(first.await.unwrap())["id"], ann.as_str());
    let again = app
        .directory
        .hand_on_ownership(&op, "bob@acme.test", false)
        .await;
    assert!(
        matches!(&again, Err(rollcall::directory::DirectoryError::Conflict(m)) if m.contains("--replace")),
        "{again:?}"
    );
    let replaced = app.directory.hand_on_ownership(&op, "bob@acme.test", true);
    assert_eq!(json_view(replaced.await.unwrap())["id"], bob.as_str());
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let changes: Vec<&Value> = audit
        .iter()
        .filter(|a| a["action"] == "owner_changed")
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1]["actor"], "cli:test");
    assert_eq!(
        tenant(&app, &root_token).await["owner"]["userName"],
        "bob@acme.test"
    );
}

#[tokio::test]
async fn rule_the_console_offers_no_disable_ban_or_delete_on_the_owner_row() {
    let app = TestApp::from_toml(OWNED).await;
    let (root_id, _) = root(&app).await;
    let founder = app.user("founder@acme.test").await;
    let ctx = rollcall::directory::Ctx {
        actor_user_id: Some(root_id),
        operator: false,
        ..app.operator()
    };
    let owner = json_view(app.directory.user_actions(&ctx, &founder).await.unwrap());
    assert_eq!(owner["owner"], true);
    for action in ["disable", "ban", "delete"] {
        assert_eq!(owner[action], Value::Null, "{action}: {owner}");
    }
    // Not the owner, so nobody is offered Make owner.
    assert_eq!(owner["makeOwner"], Value::Null);
    let other = app.user("other@acme.test").await;
    let a = json_view(app.directory.user_actions(&ctx, &other).await.unwrap());
    assert_eq!(a["owner"], false);
    assert_eq!(a["disable"]["allowed"], true, "{a}");
    assert_eq!(a["delete"]["allowed"], true);
    assert_eq!(a["makeOwner"], Value::Null);
    // The owner is offered Make owner on another user's page.
    let as_owner = rollcall::directory::Ctx {
        actor_user_id: Some(founder.clone()),
        ..ctx.clone()
    };
    let a = json_view(app.directory.user_actions(&as_owner, &other).await.unwrap());
    assert_eq!(a["makeOwner"]["allowed"], true, "{a}");
}
