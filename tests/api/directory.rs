//! The directory model: types, roles, plans, role mapping and its
//! explanation, guards. One test per rule of `docs/directory.md`.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{admin_token, json_view, patch_body, Resp, TestApp, ENTERPRISE, GROUP, USER};

pub const ACCESS: &str = "urn:rollcall:scim:schemas:extension:access:2.0:User";

pub const ACME: &str = r#"
plans = ["basic", "team", "enterprise"]

[[roles]]
name = "analyst"
rank = 25

[tenants.acme]
super_admins = ["root@acme.test"]
allow_local_overrides = true
default_plan = "basic"

[[role_mapping]]
name = "Hub viewers"
match = { role = "datalore-viewer" }
set = { type = "viewer" }

[[role_mapping]]
name = "Hub admins"
match = { role = "datalore-admin" }
set = { role = "admin" }

[[role_mapping]]
name = "Admins group"
match = { group = "Admins" }
set = { role = "admin" }

[[role_mapping]]
name = "Owners group"
match = { group_external_id = "okta-owners" }
set = { role = "super-admin" }

[[role_mapping]]
name = "Data plan"
match = { group = "Data" }
set = { plan = "enterprise", projects = { warehouse = "owner" } }

[[role_mapping]]
name = "Eng plan"
match = { group = "Eng" }
set = { plan = "team" }

[[role_mapping]]
name = "Finance analysts"
match = { attribute = "department", equals = "Finance" }
set = { role = "analyst" }

[[role_mapping]]
name = "Finance leads"
match = { attribute = "department", equals = "Finance", entitlement = "lead" }
set = { role = "power-user" }
"#;

pub async fn acme() -> TestApp {
    TestApp::from_toml(ACME).await
}

/// `GET /admin/v1/users/{id}/access`'s body, read as the operator (most of
/// these tenants have no admin user to hold admin credentials).
pub async fn access(app: &TestApp, id: &str) -> Value {
    json_view(
        app.directory
            .access_view(&app.operator(), id)
            .await
            .unwrap(),
    )
}

pub async fn admin(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    app.call_as(token, method, path, body.as_ref()).await
}

/// The bootstrap super-admin and admin credentials acting as them.
pub async fn root(app: &TestApp) -> (String, String) {
    let id = app.user("root@acme.test").await;
    let token = admin_token(&app.store, &app.tenant, &id, "root-console").await;
    (id, token)
}

fn user_with(name: &str, extra: Value) -> Value {
    let mut body = json!({"schemas": [USER], "userName": name});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

pub async fn event_kinds(app: &TestApp) -> Vec<String> {
    app.store
        .events(&app.tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _, _)| k)
        .collect()
}

#[tokio::test]
async fn rule_first_super_admin_comes_from_the_tenant_config_not_from_arrival_order() {
    let app = acme().await;
    // The first user an IdP pushes is an ordinary member …
    let first = app.user("early@acme.test").await;
    assert_eq!(access(&app, &first).await["role"]["value"], "member");
    // … the one the operator listed in `super_admins` is the super-admin.
    let (root, _) = root(&app).await;
    let a = access(&app, &root).await;
    assert_eq!(a["role"]["value"], "super-admin");
    assert_eq!(a["role"]["source"], "bootstrap");
}

#[tokio::test]
async fn rule_viewers_hold_no_role_and_can_be_upgraded_and_downgraded() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    // The IdP asserts viewer + admin: stored as sent, effective role capped.
    let body = app
        .user_from(user_with(
            "v@acme.test",
            json!({"schemas": [USER, ACCESS], ACCESS: {"type": "viewer", "role": "admin"}}),
        ))
        .await;
    let id = body["id"].as_str().unwrap();
    assert_eq!(body[ACCESS]["role"], "admin", "what the IdP sent is echoed");
    let a = access(&app, id).await;
    assert_eq!(a["type"]["value"], "viewer");
    assert_eq!(a["role"]["value"], "read-only");
    assert_eq!(a["role"]["source"], "viewer");
    // SCIM shows the effective values on request.
    let r = app
        .get(&format!("/scim/v2/Users/{id}?attributes={ACCESS}:effectiveRole,{ACCESS}:effectiveType,{ACCESS}:roleSource"))
        .await;
    assert_eq!(r.body[ACCESS]["effectiveRole"], "read-only");
    assert_eq!(r.body[ACCESS]["effectiveType"], "viewer");
    // Upgrade to user: the asserted admin role now applies.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{id}/access"),
        Some(json!({"type": "user"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["type"]["value"], "user");
    assert_eq!(r.body["type"]["source"], "local");
    assert_eq!(r.body["role"]["value"], "admin");
    // Downgrade again.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{id}/access"),
        Some(json!({"type": "viewer"})),
    )
    .await;
    assert_eq!(r.body["role"]["value"], "read-only");
    assert!(event_kinds(&app)
        .await
        .contains(&"user.type_changed".to_string()));
}

#[tokio::test]
async fn rule_role_catalog_has_the_builtin_ladder_and_custom_roles_by_rank() {
    let app = acme().await;
    let roles = json_view(app.directory.roles(&app.operator()).await.unwrap());
    let names: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
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
    assert_eq!(
        roles["projectRoles"],
        json!(["read-only", "operator", "editor", "owner"])
    );
    // A custom role with a built-in rank is refused at start.
    let bad: rollcall::config::Config =
        toml::from_str("[[roles]]\nname = \"x\"\nrank = 30\n").unwrap();
    assert!(bad.validate().unwrap_err().to_string().contains("rank 30"));
}

#[tokio::test]
async fn rule_power_users_edit_every_project_unless_removed_and_project_roles_include_lower_ones() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let id = app.user("pu@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{id}/access"),
        Some(json!({"role": "power-user"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["projects"]["*"]["role"], "editor");
    // Removed from one project, owner of another.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{id}/access"),
        Some(json!({"projects": {"secret": "none", "sales": "owner"}})),
    )
    .await;
    assert_eq!(r.body["projects"]["secret"]["role"], "none");
    assert_eq!(
        r.body["projects"]["sales"]["includes"],
        json!(["owner", "editor", "operator", "read-only"])
    );
    assert_eq!(r.body["projects"]["*"]["role"], "editor");
    // A member gets no implicit project role.
    let m = app.user("m@acme.test").await;
    assert!(access(&app, &m).await["projects"].get("*").is_none());
    // An unknown project role is refused and changes nothing.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{id}/access"),
        Some(json!({"projects": {"x": "god"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(access(&app, &id).await["projects"].get("x").is_none());
}

#[tokio::test]
async fn rule_nobody_grants_a_role_above_their_own() {
    let app = acme().await;
    let (_, root_token) = root(&app).await;
    let adm = app.user("adm@acme.test").await;
    admin(
        &app,
        &root_token,
        Method::PATCH,
        &format!("/admin/v1/users/{adm}/access"),
        Some(json!({"role": "admin"})),
    )
    .await;
    let adm_token = admin_token(&app.store, &app.tenant, &adm, "adm").await;
    let target = app.user("t@acme.test").await;
    let r = admin(
        &app,
        &adm_token,
        Method::PATCH,
        &format!("/admin/v1/users/{target}/access"),
        Some(json!({"role": "super-admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("above your own"));
    assert_eq!(access(&app, &target).await["role"]["value"], "member");
    // Up to their own rank is fine.
    let r = admin(
        &app,
        &adm_token,
        Method::PATCH,
        &format!("/admin/v1/users/{target}/access"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A member's credentials cannot administer at all; a tenant token cannot change anything.
    let member_token = admin_token(
        &app.store,
        &app.tenant,
        &app.user("mem@acme.test").await,
        "mem",
    )
    .await;
    let r = admin(
        &app,
        &member_token,
        Method::POST,
        &format!("/admin/v1/users/{target}/ban"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(Method::POST, &format!("/admin/v1/users/{target}/ban"), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Admin credentials are not provisioning credentials.
    let r = app
        .call_as(&adm_token, Method::GET, "/scim/v2/Users", None)
        .await;
    r.assert_error(403, None);
}

#[tokio::test]
async fn rule_nobody_demotes_disables_bans_or_deletes_themself() {
    let app = acme().await;
    let (_, root_token) = root(&app).await;
    let adm = app.user("adm@acme.test").await;
    admin(
        &app,
        &root_token,
        Method::PATCH,
        &format!("/admin/v1/users/{adm}/access"),
        Some(json!({"role": "admin"})),
    )
    .await;
    let t = admin_token(&app.store, &app.tenant, &adm, "adm").await;
    let before = app.audit_count().await;
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/admin/v1/users/{adm}/access"),
            Some(json!({"role": "member"})),
        ),
        (Method::POST, format!("/admin/v1/users/{adm}/disable"), None),
        (
            Method::POST,
            format!("/admin/v1/users/{adm}/ban"),
            Some(json!({"reason": "x"})),
        ),
        (Method::DELETE, format!("/admin/v1/users/{adm}"), None),
    ] {
        let r = admin(&app, &t, method, &path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(
            r.body["detail"].as_str().unwrap().contains("yourself"),
            "{}",
            r.text
        );
    }
    assert_eq!(app.audit_count().await, before, "nothing changed");
    assert_eq!(access(&app, &adm).await["status"], "created");
}

#[tokio::test]
async fn rule_the_last_super_admin_cannot_be_demoted_disabled_or_deleted_by_any_path() {
    // Super-admin asserted by the IdP (no bootstrap list).
    let app = TestApp::new().await;
    let body = app
        .user_from(user_with(
            "boss@x.test",
            json!({"schemas": [USER, ACCESS], ACCESS: {"role": "super-admin"}}),
        ))
        .await;
    let boss = body["id"].as_str().unwrap().to_string();
    let before = app.audit_count().await;
    let demote =
        patch_body(json!([{"op": "replace", "path": format!("{ACCESS}:role"), "value": "member"}]));
    app.patch(&format!("/scim/v2/Users/{boss}"), &demote)
        .await
        .assert_error(409, None);
    let disable = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    app.patch(&format!("/scim/v2/Users/{boss}"), &disable)
        .await
        .assert_error(409, None);
    let r = app.delete(&format!("/scim/v2/Users/{boss}")).await;
    r.assert_error(409, None);
    assert!(r.body["detail"].as_str().unwrap().contains("super-admin"));
    assert_eq!(
        app.audit_count().await,
        before,
        "refused changes leave no trace"
    );
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{boss}")).await.status,
        StatusCode::OK
    );
    // With a second super-admin, the first may go.
    app.user_from(user_with(
        "boss2@x.test",
        json!({"schemas": [USER, ACCESS], ACCESS: {"role": "super-admin"}}),
    ))
    .await;
    assert_eq!(
        app.patch(&format!("/scim/v2/Users/{boss}"), &demote)
            .await
            .status,
        StatusCode::OK
    );

    // Through group mapping: removing the last member of the owners group.
    let app = acme().await;
    let u = app.user("owner@acme.test").await;
    let g = app
        .post("/scim/v2/Groups", &json!({"schemas": [GROUP], "displayName": "Owners", "externalId": "okta-owners", "members": [{"value": u}]}))
        .await;
    let g = g.body["id"].as_str().unwrap().to_string();
    assert_eq!(access(&app, &u).await["role"]["value"], "super-admin");
    let remove =
        patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}]));
    app.patch(&format!("/scim/v2/Groups/{g}"), &remove)
        .await
        .assert_error(409, None);
    assert_eq!(access(&app, &u).await["role"]["value"], "super-admin");
}

#[tokio::test]
async fn rule_plans_personal_over_group_and_the_last_configured_group_plan_wins() {
    let app = acme().await;
    let u = app.user("p@acme.test").await;
    assert_eq!(
        access(&app, &u).await["plan"]["value"],
        "basic",
        "tenant default"
    );
    assert_eq!(access(&app, &u).await["plan"]["source"], "default");
    app.group("Eng", &[&u]).await;
    assert_eq!(access(&app, &u).await["plan"]["value"], "team");
    // In Data too: enterprise is listed after team in `plans`, so it wins,
    // although the Eng rule comes later in the config.
    let data = app.group("Data", &[&u]).await;
    let a = access(&app, &u).await;
    assert_eq!(a["plan"]["value"], "enterprise");
    assert_eq!(a["plan"]["group"], "Data");
    assert_eq!(a["projects"]["warehouse"]["role"], "owner");
    // A personal plan overrides group plans.
    let set =
        patch_body(json!([{"op": "add", "path": format!("{ACCESS}:plan"), "value": "basic"}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &set).await;
    let a = access(&app, &u).await;
    assert_eq!(a["plan"]["value"], "basic");
    assert_eq!(a["plan"]["because"], "personal plan");
    let unset = patch_body(json!([{"op": "remove", "path": format!("{ACCESS}:plan")}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &unset).await;
    app.delete(&format!("/scim/v2/Groups/{data}")).await;
    assert_eq!(access(&app, &u).await["plan"]["value"], "team");
}

#[tokio::test]
async fn rule_role_mapping_hub_keys_and_the_admins_group_work_out_of_the_box() {
    // The shipped example configuration, as is.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rollcall.example.toml"
    ))
    .unwrap();
    let app = TestApp::from_toml(&text).await;
    let v = app
        .user_from(user_with(
            "hub-viewer@x.test",
            json!({"roles": [{"value": "datalore-viewer"}]}),
        ))
        .await;
    let a = access(&app, v["id"].as_str().unwrap()).await;
    assert_eq!(a["type"]["value"], "viewer");
    assert_eq!(a["type"]["source"], "rule");
    assert!(a["type"]["because"]
        .as_str()
        .unwrap()
        .contains("datalore-viewer"));
    let ad = app
        .user_from(user_with(
            "hub-admin@x.test",
            json!({"roles": [{"value": "datalore-admin"}]}),
        ))
        .await;
    assert_eq!(
        access(&app, ad["id"].as_str().unwrap()).await["role"]["value"],
        "admin"
    );
    let g = app.user("grouped@x.test").await;
    app.group("Admins", &[&g]).await;
    let a = access(&app, &g).await;
    assert_eq!(a["role"]["value"], "admin");
    assert_eq!(a["role"]["group"], "Admins");
    assert_eq!(a["matchedRules"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rule_role_mapping_reapplies_in_the_same_transaction_when_inputs_change() {
    let app = acme().await;
    let u = app.user("r@acme.test").await;
    let admins = app.group("Admins", &[]).await;
    let add = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
    app.patch(&format!("/scim/v2/Groups/{admins}"), &add).await;
    assert_eq!(access(&app, &u).await["role"]["value"], "admin");
    let v1 = app.get(&format!("/scim/v2/Users/{u}")).await.body["meta"]["version"].clone();
    // Rename the group: the rule no longer matches.
    let rename =
        patch_body(json!([{"op": "replace", "path": "displayName", "value": "Former admins"}]));
    app.patch(&format!("/scim/v2/Groups/{admins}"), &rename)
        .await;
    assert_eq!(access(&app, &u).await["role"]["value"], "member");
    let v2 = app.get(&format!("/scim/v2/Users/{u}")).await.body["meta"]["version"].clone();
    assert_ne!(
        v1, v2,
        "the user's representation changed, so did its version"
    );
    // User PATCH: a Hub role key arrives.
    let hub =
        patch_body(json!([{"op": "add", "path": "roles", "value": [{"value": "datalore-admin"}]}]));
    app.patch(&format!("/scim/v2/Users/{u}"), &hub).await;
    assert_eq!(access(&app, &u).await["role"]["value"], "admin");
    let kinds = event_kinds(&app).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "user.role_changed").count(),
        3,
        "{kinds:?}"
    );
    // Nested groups count: a member of a group inside Admins.
    let n = app.user("nested@acme.test").await;
    let inner = app.group("Inner", &[&n]).await;
    app.patch(&format!("/scim/v2/Groups/{admins}"), &rename_back())
        .await;
    let add_inner =
        patch_body(json!([{"op": "add", "path": "members", "value": [{"value": inner}]}]));
    app.patch(&format!("/scim/v2/Groups/{admins}"), &add_inner)
        .await;
    assert_eq!(access(&app, &n).await["role"]["value"], "admin");
}

fn rename_back() -> Value {
    patch_body(json!([{"op": "replace", "path": "displayName", "value": "Admins"}]))
}

#[tokio::test]
async fn rule_role_mapping_conflicts_resolve_by_precedence_and_the_last_matching_rule() {
    let app = acme().await;
    // Enterprise attribute rule, then a later, narrower rule wins.
    let f = app
        .user_from(user_with(
            "fin@acme.test",
            json!({"schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "finance"}}),
        ))
        .await;
    let f = f["id"].as_str().unwrap().to_string();
    assert_eq!(access(&app, &f).await["role"]["value"], "analyst");
    let lead =
        patch_body(json!([{"op": "add", "path": "entitlements", "value": [{"value": "lead"}]}]));
    app.patch(&format!("/scim/v2/Users/{f}"), &lead).await;
    let a = access(&app, &f).await;
    assert_eq!(a["role"]["value"], "power-user");
    assert_eq!(a["role"]["rule"], "Finance leads");
    assert_eq!(a["matchedRules"].as_array().unwrap().len(), 2);
    // The IdP's explicit role beats rules; a local admin setting beats both.
    let explicit =
        patch_body(json!([{"op": "add", "path": format!("{ACCESS}:role"), "value": "member"}]));
    app.patch(&format!("/scim/v2/Users/{f}"), &explicit).await;
    assert_eq!(access(&app, &f).await["role"]["source"], "scim");
    let (_, token) = root(&app).await;
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{f}/access"),
        Some(json!({"role": "read-only"})),
    )
    .await;
    assert_eq!(r.body["role"]["value"], "read-only");
    assert_eq!(r.body["role"]["source"], "local");
    // Clearing the local setting hands back to the IdP.
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{f}/access"),
        Some(json!({"role": null})),
    )
    .await;
    assert_eq!(r.body["role"]["value"], "member");
    // An unknown role from the IdP is ignored, and said so.
    let unknown =
        patch_body(json!([{"op": "replace", "path": format!("{ACCESS}:role"), "value": "wizard"}]));
    app.patch(&format!("/scim/v2/Users/{f}"), &unknown).await;
    let a = access(&app, &f).await;
    assert_eq!(a["role"]["value"], "power-user");
    assert!(a["ignored"][0].as_str().unwrap().contains("wizard"));
}

#[tokio::test]
async fn rule_idp_managed_attributes_need_local_overrides() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    let (_, token) = root(&app).await;
    let u = app.user("u@acme.test").await;
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{u}/access"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("allow_local_overrides"));
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/disable"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Local holds and project roles are Rollcall's own.
    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{u}/ban"),
        Some(json!({"reason": "leak"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/admin/v1/users/{u}/access"),
        Some(json!({"projects": {"p": "editor"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn rule_guards_judge_the_resulting_role_not_just_the_requested_one() {
    let app = acme().await;
    let (_, root_token) = root(&app).await;
    let adm = app.user("adm@acme.test").await;
    admin(
        &app,
        &root_token,
        Method::PATCH,
        &format!("/admin/v1/users/{adm}/access"),
        Some(json!({"role": "admin"})),
    )
    .await;
    let adm_token = admin_token(&app.store, &app.tenant, &adm, "adm").await;
    // The IdP says super-admin; root set a local "member" on top.
    let peer = app
        .user_from(user_with(
            "peer@acme.test",
            json!({"schemas": [USER, ACCESS], ACCESS: {"role": "super-admin"}}),
        ))
        .await;
    let peer = peer["id"].as_str().unwrap().to_string();
    admin(
        &app,
        &root_token,
        Method::PATCH,
        &format!("/admin/v1/users/{peer}/access"),
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(access(&app, &peer).await["role"]["value"], "member");
    // Clearing the local role would hand out super-admin: refused for an admin.
    let r = admin(
        &app,
        &adm_token,
        Method::PATCH,
        &format!("/admin/v1/users/{peer}/access"),
        Some(json!({"role": null})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(access(&app, &peer).await["role"]["value"], "member");
    // Turning oneself into a viewer is a self-demotion.
    let r = admin(
        &app,
        &adm_token,
        Method::PATCH,
        &format!("/admin/v1/users/{adm}/access"),
        Some(json!({"type": "viewer"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Restoring or purging someone ranked above is refused too.
    app.delete(&format!("/scim/v2/Users/{peer}")).await;
    let r = admin(
        &app,
        &adm_token,
        Method::POST,
        &format!("/admin/v1/users/{peer}/restore"),
        None,
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a member (local role) may be restored: {}",
        r.text
    );
    let boss = app
        .user_from(user_with(
            "boss@acme.test",
            json!({"schemas": [USER, ACCESS], ACCESS: {"role": "super-admin"}}),
        ))
        .await;
    let boss = boss["id"].as_str().unwrap().to_string();
    app.delete(&format!("/scim/v2/Users/{boss}")).await;
    let r = admin(
        &app,
        &adm_token,
        Method::POST,
        &format!("/admin/v1/users/{boss}/restore"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = admin(
        &app,
        &adm_token,
        Method::POST,
        &format!("/admin/v1/users/{boss}/purge"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn rule_renaming_a_mapped_group_and_removing_a_member_at_once_recomputes_both() {
    let app = acme().await;
    let stay = app.user("stay@acme.test").await;
    let go = app.user("go@acme.test").await;
    let g = app.group("Admins", &[&stay, &go]).await;
    assert_eq!(access(&app, &go).await["role"]["value"], "admin");
    let both = patch_body(json!([
        {"op": "replace", "path": "displayName", "value": "Ex-Admins"},
        {"op": "remove", "path": format!("members[value eq \"{go}\"]")}
    ]));
    assert_eq!(
        app.patch(&format!("/scim/v2/Groups/{g}"), &both)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(access(&app, &go).await["role"]["value"], "member");
    assert_eq!(access(&app, &stay).await["role"]["value"], "member");
}

#[tokio::test]
async fn rule_a_configuration_change_recomputes_existing_users_at_start() {
    let app = acme().await;
    let late = app.user("late@acme.test").await;
    let before = app.audit_count().await;
    assert_eq!(access(&app, &late).await["role"]["value"], "member");
    // The operator adds the user to `super_admins` and restarts.
    let cfg: rollcall::config::Config = toml::from_str(&ACME.replace(
        "super_admins = [\"root@acme.test\"]",
        "super_admins = [\"root@acme.test\", \"late@acme.test\"]",
    ))
    .unwrap();
    let policy = std::sync::Arc::new(cfg.policy());
    let restarted = rollcall::build_state(
        app.store.clone(),
        std::sync::Arc::new(rollcall::directory::SystemClock),
        std::sync::Arc::new(rollcall::directory::UuidGen),
        Default::default(),
        rollcall::directory::DirectoryConfig {
            policy: policy.clone(),
            ..Default::default()
        },
    );
    let dir = restarted.directory;
    assert_eq!(dir.reconcile_access(&app.tenant).await.unwrap(), 1);
    assert_eq!(access(&app, &late).await["role"]["value"], "super-admin");
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    assert_eq!(audit.len(), before + 1);
    assert_eq!(audit.last().unwrap()["action"], "access_recomputed");
    // Same configuration again: nothing to do.
    assert_eq!(dir.reconcile_access(&app.tenant).await.unwrap(), 0);
}
