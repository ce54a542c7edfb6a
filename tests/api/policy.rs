//! The policy as data: `GET/PUT /admin/v1/policy` (versions, 412), the
//! preview that matches the apply exactly, validation that changes
//! nothing, and the permissions roles carry (the seeds' rules as policy
//! documents).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{acme, admin, root};
use crate::support::{admin_token, TestApp, ENTERPRISE, USER};

pub async fn get_policy(app: &TestApp, token: &str) -> Value {
    let r = admin(app, token, Method::GET, "/admin/v1/policy", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

pub async fn put_policy(app: &TestApp, token: &str, doc: &Value) -> crate::support::Resp {
    admin(
        app,
        token,
        Method::PUT,
        "/admin/v1/policy",
        Some(doc.clone()),
    )
    .await
}

/// Wait for the apply of `version` to end; its progress.
pub async fn applied(app: &TestApp, token: &str, version: i64) -> Value {
    for _ in 0..200 {
        let r = admin(app, token, Method::GET, "/admin/v1/policy/apply", None).await;
        if r.status == StatusCode::OK
            && r.body["version"] == version
            && r.body["state"] != "running"
        {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the apply of version {version} did not end");
}

async fn finance_user(app: &TestApp, name: &str, entitlement: Option<&str>) -> String {
    let mut body = json!({"schemas": [USER, ENTERPRISE], "userName": name,
                          ENTERPRISE: {"department": "Finance"}});
    if let Some(e) = entitlement {
        body["entitlements"] = json!([{"value": e}]);
    }
    app.user_from(body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn effective(app: &TestApp, id: &str) -> Value {
    crate::directory::access(app, id).await
}

pub fn rule_mut<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    doc["rules"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn rule_a_tenant_without_a_stored_policy_reads_the_configuration_at_version_zero() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let doc = get_policy(&app, &token).await;
    assert_eq!(doc["version"], 0);
    assert_eq!(doc["plans"], json!(["basic", "team", "enterprise"]));
    assert_eq!(doc["rules"].as_array().unwrap().len(), 8);
    let roles = doc["roles"].as_array().unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "read-only",
            "member",
            "analyst",
            "power-user",
            "admin",
            "super-admin"
        ]
    );
    let analyst = &roles[2];
    assert_eq!(analyst["permissions"], json!(["users.read", "groups.read"]));
    assert_eq!(roles[0]["permissions"], json!([]));
    assert_eq!(roles[4]["permissions"].as_array().unwrap().len(), 14);
    // The document reads back as it is written: PUT it unchanged.
    let r = put_policy(&app, &token, &doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    let mut same = r.body.clone();
    same["version"] = json!(0);
    let mut was = doc.clone();
    was["version"] = json!(0);
    assert_eq!(same, was, "the stored document is the one sent");
    assert_eq!(applied(&app, &token, 1).await["changed"], 0);
}

#[tokio::test]
async fn rule_a_put_with_a_stale_version_gets_412_and_changes_nothing() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let mut doc = get_policy(&app, &token).await;
    doc["plans"] = json!(["basic", "team", "enterprise", "max"]);
    let r = put_policy(&app, &token, &doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    applied(&app, &token, 1).await;
    // A second editor still holding version 0.
    let audit = app.audit_count().await;
    doc["plans"] = json!(["basic", "team", "enterprise"]);
    let r = put_policy(&app, &token, &doc).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert!(r.text.contains("version 1"), "{}", r.text);
    let now = get_policy(&app, &token).await;
    assert_eq!(now["version"], 1);
    assert_eq!(now["plans"], json!(["basic", "team", "enterprise", "max"]));
    assert_eq!(app.audit_count().await, audit, "nothing recorded");
}

#[tokio::test]
async fn rule_an_invalid_policy_document_is_refused_and_changes_nothing() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let doc = get_policy(&app, &token).await;
    let mut bad = Vec::new();
    let mut d = doc.clone();
    rule_mut(&mut d, "Hub admins")["set"]["role"] = json!("wizard");
    bad.push((d, "unknown role"));
    let mut d = doc.clone();
    rule_mut(&mut d, "Hub admins")["tenant"] = json!("acme");
    bad.push((d, "tenant"));
    let mut d = doc.clone();
    d["roles"][4]["rank"] = json!(45);
    bad.push((d, "keeps its rank"));
    let mut d = doc.clone();
    d["roles"][2]["permissions"] = json!(["users.fly"]);
    bad.push((d, "users.fly"));
    let mut d = doc.clone();
    d["colour"] = json!("blue");
    bad.push((d, "colour"));
    let mut d = doc.clone();
    d["plans"] = json!(["basic", "team"]); // a rule sets "enterprise"
    bad.push((d, "enterprise"));
    let mut d = doc.clone();
    d["roles"][2]["display_name"] = json!("Ana\u{7}lyst");
    bad.push((d, "display"));
    let audit = app.audit_count().await;
    for (d, says) in bad {
        for path in ["/admin/v1/policy", "/admin/v1/policy/preview"] {
            let m = if path.ends_with("preview") {
                Method::POST
            } else {
                Method::PUT
            };
            let r = admin(&app, &token, m, path, Some(d.clone())).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{path} {says}: {}",
                r.text
            );
            assert!(
                r.text.to_lowercase().contains(&says.to_lowercase()),
                "{path}: {} should say {says}",
                r.text
            );
        }
    }
    assert_eq!(get_policy(&app, &token).await["version"], 0);
    assert_eq!(app.audit_count().await, audit);
}

#[tokio::test]
async fn rule_a_policy_preview_matches_the_apply_exactly() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let a = finance_user(&app, "ann@acme.test", None).await;
    let b = finance_user(&app, "bob@acme.test", Some("lead")).await;
    let c = app.user("carl@acme.test").await;
    let eng = app.user("eve@acme.test").await;
    app.group("Eng", &[&eng]).await;
    let mut doc = get_policy(&app, &token).await;
    // Finance analysts become power users; Eng gets enterprise and a project.
    rule_mut(&mut doc, "Finance analysts")["set"]["role"] = json!("power-user");
    rule_mut(&mut doc, "Finance leads")["set"]["role"] = json!("admin");
    let eng_rule = rule_mut(&mut doc, "Eng plan");
    eng_rule["set"]["plan"] = json!("enterprise");
    eng_rule["set"]["projects"] = json!({"ledger": "operator"});

    let audit = app.audit_count().await;
    let before_a = effective(&app, &a).await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/policy/preview?count=2",
        Some(doc.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["changes"], 3, "{}", r.text);
    assert_eq!(r.body["itemsPerPage"], 2);
    let page2 = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/policy/preview?startIndex=3&count=2",
        Some(doc.clone()),
    )
    .await;
    assert_eq!(page2.body["itemsPerPage"], 1, "{}", page2.text);
    let mut preview: Vec<Value> = r.body["users"].as_array().unwrap().clone();
    preview.extend(page2.body["users"].as_array().unwrap().iter().cloned());
    let ids: Vec<&str> = preview.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [a.as_str(), b.as_str(), eng.as_str()],
        "carl does not change"
    );
    assert_eq!(preview[0]["before"]["role"], "analyst");
    assert_eq!(preview[0]["after"]["role"], "power-user");
    assert_eq!(preview[1]["after"]["role"], "admin");
    assert_eq!(preview[2]["after"]["plan"], "enterprise");
    assert_eq!(preview[2]["after"]["projects"]["ledger"], "operator");
    // The preview wrote nothing.
    assert_eq!(app.audit_count().await, audit);
    assert_eq!(effective(&app, &a).await, before_a);
    assert_eq!(effective(&app, &c).await["role"]["value"], "member");

    let r = put_policy(&app, &token, &doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let progress = applied(&app, &token, 1).await;
    assert_eq!(progress["state"], "done", "{progress}");
    assert_eq!(progress["changed"], 3);
    assert_eq!(progress["usersDone"], progress["usersTotal"]);
    // The same users, the same changes: each one's access now is the
    // preview's "after", and each has one access_recomputed audit row.
    for p in &preview {
        let id = p["id"].as_str().unwrap();
        let now = effective(&app, id).await;
        assert_eq!(now["role"]["value"], p["after"]["role"], "{id}");
        assert_eq!(now["plan"]["value"], p["after"]["plan"], "{id}");
        assert_eq!(now["type"]["value"], p["after"]["type"], "{id}");
    }
    let rows = app.store.audit_log(&app.tenant).await.unwrap();
    let recomputed: Vec<&str> = rows
        .iter()
        .filter(|r| r["action"] == "access_recomputed")
        .map(|r| r["objectId"].as_str().unwrap_or_default())
        .collect();
    let mut want = ids.clone();
    want.sort();
    let mut got = recomputed.clone();
    got.sort();
    assert_eq!(got, want, "audit rows for exactly the previewed users");
    assert!(rows.iter().any(|r| r["action"] == "policy_changed"));
    let again = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/policy/preview",
        Some(r.body.clone()),
    )
    .await;
    assert_eq!(again.body["changes"], 0, "applied: nothing left to change");
    // No restart: a user provisioned now gets the new rule at once.
    let late = finance_user(&app, "lena@acme.test", None).await;
    assert_eq!(effective(&app, &late).await["role"]["value"], "power-user");
}

/// An admin of the tenant: in the Admins group (the rule makes them admin).
async fn admin_user(app: &TestApp, name: &str) -> (String, String) {
    let id = app.user(name).await;
    app.group("Admins", &[&id]).await;
    let token = admin_token(&app.store, &app.tenant, &id, name).await;
    (id, token)
}

fn role_entry<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    doc["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["name"] == name)
        .unwrap()
}

async fn store(app: &TestApp, token: &str, doc: &Value) {
    let r = put_policy(app, token, doc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.body["version"].as_i64().unwrap();
    assert_eq!(applied(app, token, v).await["state"], "done");
}

#[tokio::test]
async fn rule_only_a_super_admin_changes_roles_when_admins_lack_users_edit_role() {
    // Datalore: "Super Admin: … can change other users' roles".
    let app = acme().await;
    let (_, root_token) = root(&app).await;
    let (_, admin_token) = admin_user(&app, "ada@acme.test").await;
    let target = app.user("tom@acme.test").await;
    let mut doc = get_policy(&app, &root_token).await;
    let perms = role_entry(&mut doc, "admin")["permissions"]
        .as_array_mut()
        .unwrap();
    perms.retain(|p| p != "users.edit_role");
    store(&app, &root_token, &doc).await;

    let path = format!("/admin/v1/users/{target}/access");
    let r = admin(
        &app,
        &admin_token,
        Method::PATCH,
        &path,
        Some(json!({"role": "analyst"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("users.edit_role"), "{}", r.text);
    assert_eq!(effective(&app, &target).await["role"]["value"], "member");
    // The admin still disables users (users.disable) …
    let r = admin(
        &app,
        &admin_token,
        Method::POST,
        &format!("/admin/v1/users/{target}/disable"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // … and the console's verdicts agree: no role to offer.
    let r = admin(
        &app,
        &admin_token,
        Method::GET,
        "/admin/v1/users?search=tom",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The super-admin changes roles.
    let r = admin(
        &app,
        &root_token,
        Method::PATCH,
        &path,
        Some(json!({"role": "analyst"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(effective(&app, &target).await["role"]["value"], "analyst");
}

#[tokio::test]
async fn rule_a_custom_role_with_users_invite_invites_and_does_nothing_else() {
    // DataStream: "The Add new user button is visible only to users with
    // the user-create permission" — a Contributor who may add users.
    let app = acme().await;
    let (_, root_token) = root(&app).await;
    let mut doc = get_policy(&app, &root_token).await;
    doc["roles"].as_array_mut().unwrap().push(json!({
        "name": "contributor", "rank": 35, "display_name": "Contributor",
        "permissions": ["users.read", "groups.read", "users.invite"]
    }));
    store(&app, &root_token, &doc).await;
    let c = app.user("cora@acme.test").await;
    let r = admin(
        &app,
        &root_token,
        Method::PATCH,
        &format!("/admin/v1/users/{c}/access"),
        Some(json!({"role": "contributor"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = admin_token(&app.store, &app.tenant, &c, "cora").await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "new@acme.test", "email": "new@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let victim = app.user("vic@acme.test").await;
    for (m, path) in [
        (Method::DELETE, format!("/admin/v1/users/{victim}")),
        (Method::POST, format!("/admin/v1/users/{victim}/disable")),
        (Method::GET, "/admin/v1/tenant".to_string()),
    ] {
        let r = admin(&app, &token, m.clone(), &path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m} {path}: {}", r.text);
        assert!(r.text.contains("contributor"), "{}", r.text);
    }
    // And they still cannot give a role above their own rank, even as an
    // invitation's role.
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "boss@acme.test", "role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn rule_no_grant_above_your_own_rank_stays_with_users_edit_role() {
    let app = acme().await;
    let (_, root_token) = root(&app).await;
    let mut doc = get_policy(&app, &root_token).await;
    role_entry(&mut doc, "analyst")["permissions"] =
        json!(["users.read", "groups.read", "users.edit_role"]);
    store(&app, &root_token, &doc).await;
    let lead = finance_user(&app, "lea@acme.test", None).await;
    assert_eq!(effective(&app, &lead).await["role"]["value"], "analyst");
    let token = admin_token(&app.store, &app.tenant, &lead, "lea").await;
    let target = app.user("tim@acme.test").await;
    let path = format!("/admin/v1/users/{target}/access");
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("above your own"), "{}", r.text);
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"role": "analyst"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // users.edit_plan is not theirs.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"plan": "team"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("users.edit_plan"), "{}", r.text);
}

#[tokio::test]
async fn rule_reading_and_changing_the_policy_needs_tenant_settings() {
    let app = acme().await;
    let m = app.user("mia@acme.test").await;
    let token = admin_token(&app.store, &app.tenant, &m, "mia").await;
    for (method, path) in [
        (Method::GET, "/admin/v1/policy"),
        (Method::PUT, "/admin/v1/policy"),
        (Method::POST, "/admin/v1/policy/preview"),
    ] {
        let body = json!({"version": 0, "roles": [], "plans": [], "rules": []});
        let r = admin(&app, &token, method.clone(), path, Some(body)).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text
        );
        assert!(r.text.contains("tenant.settings"), "{}", r.text);
    }
    // SCIM credentials do not reach it at all.
    let r = app.get("/admin/v1/policy").await;
    assert!(matches!(r.status.as_u16(), 401 | 403), "{}", r.text);
}
