//! The admin API of an admin panel: its OpenAPI document, the user list
//! (search, filters, sort, pages, total), user detail, invitations and
//! registrations, tenant settings, groups with paged members, and the
//! guards on every change.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::directory::{acme, admin, root};
use crate::support::{admin_token, patch_body, TestApp, GROUP, USER};

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let r = admin(
        app,
        token,
        Method::GET,
        &format!("/admin/v1/users?{query}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    r.body
}

#[tokio::test]
async fn the_openapi_document_is_served_and_every_path_in_it_is_routed() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let r = app
        .send(app.request(Method::GET, "/admin/v1/openapi.json", None, None))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(r.body["servers"][0]["url"], "/admin/v1");
    assert_eq!(
        r.body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = r.body["paths"].as_object().unwrap();
    for must in [
        "/users",
        "/users/{id}",
        "/users/{id}/access",
        "/tenant",
        "/groups",
        "/groups/{id}",
        "/deprovision-jobs",
        "/deprovision-jobs/{id}",
        "/invitations/{token}",
    ] {
        assert!(paths.contains_key(must), "{must} is documented");
    }
    let mut checked = 0;
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = format!(
                "/admin/v1{}",
                path.replace("{id}", "no-such-thing")
                    .replace("{token}", "no-such-token")
            );
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Read-only principal: nothing it reaches can change anything.
            let reader = app.token.clone();
            let r = app
                .call_as(&reader, m.clone(), &url, Some(&json!({})))
                .await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
            assert!(
                !(r.status == StatusCode::NOT_FOUND
                    && r.body["detail"] == "no such admin endpoint"),
                "{method} {url} is documented but not routed"
            );
            assert!(r.status.as_u16() < 500, "{method} {url}: {}", r.text);
            checked += 1;
        }
    }
    assert!(checked >= 29, "{checked} operations");
    let _ = token;
}

/// The schema of one response or request body: a `$ref`, properties or
/// items; for a non-JSON body (the CSV report), a type.
fn has_schema(content: &Value) -> bool {
    content.as_object().is_some_and(|c| {
        !c.is_empty()
            && c.iter().all(|(media, m)| {
                let s = &m["schema"];
                s.get("$ref").is_some()
                    || s.get("properties").is_some()
                    || s.get("items").is_some()
                    || (media != "application/json" && s.get("type").is_some())
            })
    })
}

#[tokio::test]
async fn every_body_of_the_openapi_document_has_a_schema() {
    let app = acme().await;
    let r = app
        .send(app.request(Method::GET, "/admin/v1/openapi.json", None, None))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let schemas = r.body["components"]["schemas"].as_object().unwrap();
    let (mut responses, mut bodies) = (0, 0);
    for (path, ops) in r.body["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for (status, resp) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') && status != "204" {
                    assert!(
                        has_schema(&resp["content"]),
                        "{method} {path} {status}: {resp}"
                    );
                    responses += 1;
                }
            }
            if let Some(body) = op.get("requestBody") {
                assert!(has_schema(&body["content"]), "{method} {path}: {body}");
                bodies += 1;
            }
        }
    }
    assert!(
        responses >= 30 && bodies >= 6,
        "{responses} responses, {bodies} bodies"
    );
    // Every schema referenced is in the document, and has content.
    for (name, schema) in schemas {
        assert!(
            schema.as_object().is_some_and(|s| !s.is_empty()),
            "{name} is empty"
        );
    }
    for reference in r.text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "{name} is referenced");
    }
}

#[tokio::test]
async fn the_user_list_searches_filters_sorts_and_pages_with_a_total() {
    let app = acme().await;
    let (root_id, token) = root(&app).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let mut body = json!({
            "schemas": [USER],
            "userName": format!("u{i:02}"),
            "displayName": format!("User {}", 25 - i),
            "emails": [{"value": format!("u{i:02}@{}.io", if i % 5 == 0 { "other" } else { "acme" }), "primary": true}],
        });
        if i >= 20 {
            body["roles"] = json!([{"value": "datalore-viewer"}]);
        }
        ids.push(
            app.user_from(body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Eng holds u01, u02 and (nested) Platform with u03; Admins makes admins.
    let platform = app.group("Platform", &[&ids[3]]).await;
    app.group("Eng", &[&ids[1], &ids[2], &platform]).await;
    app.group("Admins", &[&ids[4]]).await;

    // Pages of 20 by default, a total, no overlap, no gap.
    let p1 = list(&app, &token, "").await;
    assert_eq!(
        (p1["total"].clone(), p1["pages"].clone()),
        (json!(26), json!(2))
    );
    assert_eq!(p1["pageSize"], 20);
    let p2 = list(&app, &token, "page=2").await;
    let mut all = names(&p1);
    all.extend(names(&p2));
    assert_eq!(all.len(), 26);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "userName ascending by default");
    assert_eq!(
        names(&list(&app, &token, "page=3&page_size=10").await).len(),
        6
    );
    assert_eq!(names(&list(&app, &token, "page=9").await).len(), 0);
    for bad in [
        "page_size=15",
        "page_size=110",
        "page_size=0",
        "page=0",
        "sort=password",
        "order=sideways",
        "status=gone",
        "type=robot",
        "role=emperor",
        "color=red",
    ] {
        let r = admin(
            &app,
            &token,
            Method::GET,
            &format!("/admin/v1/users?{bad}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        let name = bad.split('=').next().unwrap();
        assert!(
            r.body["detail"].as_str().unwrap().contains(name),
            "{bad}: the detail names it: {}",
            r.text
        );
    }

    // Search: userName, displayName, email (case-insensitive), exact id.
    assert_eq!(names(&list(&app, &token, "search=U07").await), vec!["u07"]);
    assert_eq!(
        names(&list(&app, &token, "search=user%2025").await),
        vec!["u00"]
    );
    assert_eq!(
        names(&list(&app, &token, "search=%40OTHER.io").await),
        vec!["u00", "u05", "u10", "u15", "u20"]
    );
    assert_eq!(
        names(&list(&app, &token, &format!("search={}", ids[9])).await),
        vec!["u09"]
    );
    assert_eq!(
        list(&app, &token, "search=%25").await["total"],
        0,
        "% is literal"
    );

    // Sort by any column, either way.
    assert_eq!(
        names(&list(&app, &token, "sort=userName&order=desc").await)[0],
        "u24"
    );
    let by_name = names(&list(&app, &token, "sort=displayName&page_size=30").await);
    assert_eq!(
        &by_name[..3],
        &["u24", "u15", "u14"],
        "User 1, User 10, User 11"
    );
    let by_email = names(&list(&app, &token, "sort=email&page_size=30").await);
    assert_eq!(&by_email[..2], &["u00", "u01"]);
    assert_eq!(
        by_email.last().unwrap(),
        "root@acme.test",
        "no email sorts last"
    );
    let by_email = names(&list(&app, &token, "sort=email&order=desc&page_size=30").await);
    assert_eq!(&by_email[..2], &["u24", "u23"]);
    assert_eq!(by_email.last().unwrap(), "root@acme.test", "either way");
    let by_type = names(&list(&app, &token, "sort=type&order=desc&page_size=10").await);
    assert!(
        by_type[..5].iter().all(|n| n.as_str() >= "u20"),
        "{by_type:?}"
    );

    // Filters: type, role, group (nested members too), status.
    assert_eq!(
        names(&list(&app, &token, "type=viewer").await),
        vec!["u20", "u21", "u22", "u23", "u24"]
    );
    assert_eq!(names(&list(&app, &token, "role=ADMIN").await), vec!["u04"]);
    assert_eq!(
        names(&list(&app, &token, "group=Eng").await),
        vec!["u01", "u02", "u03"]
    );
    assert_eq!(
        names(&list(&app, &token, &format!("group={platform}")).await),
        vec!["u03"]
    );
    assert_eq!(list(&app, &token, "group=Nobody").await["total"], 0);

    let r = admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{}/disable", ids[5]),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{}", ids[6]),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        names(&list(&app, &token, "status=disabled").await),
        vec!["u05"]
    );
    assert_eq!(
        list(&app, &token, "").await["total"],
        25,
        "deleted users are hidden"
    );
    assert_eq!(
        names(&list(&app, &token, "status=deleted").await),
        vec!["u06"]
    );
    assert_eq!(
        names(&list(&app, &token, "status=disabled,deleted").await),
        vec!["u05", "u06"]
    );

    // Last sign-in: newest first, never-signed-in last.
    for i in [10, 11] {
        app.clock.advance(60);
        let r = admin(
            &app,
            &token,
            Method::POST,
            &format!("/admin/v1/users/{}/sign-in", ids[i]),
            None,
        )
        .await;
        assert_eq!(r.body["allowed"], true, "{}", r.text);
    }
    let recent = list(&app, &token, "sort=lastSignIn&order=desc&page_size=10").await;
    assert_eq!(&names(&recent)[..2], &["u11", "u10"]);
    assert_eq!(recent["items"][0]["status"], "active");
    assert!(recent["items"][0]["lastSignIn"].is_string());
    assert!(recent["items"][2]["lastSignIn"].is_null());
    let row = &list(&app, &token, "search=u04").await["items"][0];
    for key in [
        "id",
        "userName",
        "displayName",
        "email",
        "status",
        "type",
        "role",
        "plan",
        "lastSignIn",
    ] {
        assert!(row.get(key).is_some(), "{key} in {row}");
    }
    assert_ne!(root_id, "");
}

#[tokio::test]
async fn user_detail_has_type_role_status_sign_in_plan_seat_groups_and_access() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let id = app
        .user_from(
            json!({"schemas": [USER], "userName": "dana", "displayName": "Dana",
            "emails": [{"value": "dana@acme.io", "primary": true}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let data = app.group("Data", &[&id]).await;
    app.group("All", &[&data]).await;
    admin(
        &app,
        &token,
        Method::POST,
        &format!("/admin/v1/users/{id}/sign-in"),
        None,
    )
    .await;
    let r = admin(&app, &token, Method::GET, "/admin/v1/users/dana", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let u = &r.body;
    assert_eq!(u["id"], id.as_str());
    assert_eq!(
        (u["type"].as_str(), u["role"].as_str()),
        (Some("user"), Some("member"))
    );
    assert_eq!(u["status"], "active");
    assert_eq!(u["plan"], "enterprise", "the Data group's plan");
    assert!(u["lastSignIn"].is_string());
    assert_eq!(u["seat"], json!({"kind": "user", "counted": true}));
    assert_eq!(u["email"], "dana@acme.io");
    let groups: Vec<(String, bool)> = u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["displayName"].as_str().unwrap().to_string(),
                g["direct"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(groups.contains(&("Data".into(), true)), "{groups:?}");
    assert!(groups.contains(&("All".into(), false)), "{groups:?}");
    assert_eq!(u["access"]["plan"]["rule"], "Data plan", "{}", u["access"]);
    assert_eq!(u["signInAllowed"], true);
    let r = admin(&app, &token, Method::GET, "/admin/v1/users/nobody", None).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn invitations_are_refused_while_registrations_are_off_and_their_link_activates() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let before = app.audit_count().await;
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"registrations": false})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["registrations"], false);
    assert_eq!(
        app.audit_count().await,
        before + 1,
        "the setting change is audited"
    );
    let invite = json!({"userName": "new@acme.test", "email": "new@acme.test", "role": "member"});
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(invite.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["error"], "registrations_closed");
    assert_eq!(
        app.audit_count().await,
        before + 1,
        "a refused invitation changes nothing"
    );
    assert_eq!(list(&app, &token, "search=new").await["total"], 0);

    admin(
        &app,
        &token,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"registrations": true})),
    )
    .await;
    let r = admin(&app, &token, Method::POST, "/admin/v1/users", Some(invite)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "invited");
    let link = r.body["inviteLink"].as_str().unwrap().to_string();
    assert!(link.starts_with("/admin/v1/invitations/inv_"), "{link}");
    let events = app.store.events(&app.tenant).await.unwrap();
    let (_, _, payload) = events.iter().find(|(k, _, _)| k == "user.invited").unwrap();
    assert!(
        payload.get("inviteLink").is_none() && !payload.to_string().contains("inv_"),
        "the event says an invitation was made, never its link: {payload}"
    );
    assert!(payload["invitation"]["expiresAt"].is_string(), "{payload}");
    // The host resolves the link, then reports the first sign-in through it.
    let r = admin(&app, &token, Method::GET, &link, None).await;
    assert_eq!(
        (r.status, r.body["userName"].as_str()),
        (StatusCode::OK, Some("new@acme.test"))
    );
    let r = admin(&app, &token, Method::POST, &format!("{link}/accept"), None).await;
    assert_eq!(r.body["allowed"], true, "{}", r.text);
    assert_eq!(r.body["status"], "active");
    let r = admin(&app, &token, Method::POST, &format!("{link}/accept"), None).await;
    assert_eq!(r.status, StatusCode::GONE, "a link works once: {}", r.text);
    assert_eq!(r.body["error"], "gone");
    let r = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/invitations/inv_forged",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invite_url_template_makes_the_hosts_link() {
    let app = TestApp::from_toml(&format!(
        "invite_url = \"https://data.example.com/join/{{token}}\"\n{}",
        crate::directory::ACME
    ))
    .await;
    let (_, token) = root(&app).await;
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "x@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let link = r.body["inviteLink"].as_str().unwrap();
    assert!(
        link.starts_with("https://data.example.com/join/inv_"),
        "{link}"
    );
    let bad: Result<rollcall::config::Config, _> =
        toml::from_str("invite_url = \"https://x.io/join\"");
    assert!(
        bad.unwrap().validate().is_err(),
        "a template without {{token}} is refused"
    );
}

#[tokio::test]
async fn tenant_settings_show_seats_roles_and_the_fallback_owner_and_need_an_admin() {
    let app = TestApp::from_toml(
        "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nmax_users = 10\n\n[[role_mapping]]\nmatch = { role = \"datalore-viewer\" }\nset = { type = \"viewer\" }\n",
    )
    .await;
    let (_, token) = root(&app).await;
    rollcall::store::Store::set_seat_limits(&app.store, &app.tenant, Some(10), None)
        .await
        .unwrap();
    let heir = app.user("heir@acme.test").await;
    let viewer = app
        .user_from(json!({"schemas": [USER], "userName": "v@acme.test", "roles": [{"value": "datalore-viewer"}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member = app.user("member@acme.test").await;
    let r = admin(&app, &token, Method::GET, "/admin/v1/tenant", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = &r.body;
    assert_eq!(t["name"], "acme");
    assert_eq!(t["registrations"], true);
    assert_eq!(t["seats"]["users"], json!({"used": 3, "limit": 10}));
    assert_eq!(t["seats"]["viewers"], json!({"used": 1, "limit": null}));
    let roles: Vec<&str> = t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        vec!["read-only", "member", "power-user", "admin", "super-admin"]
    );
    assert!(t["fallbackOwner"].is_null());

    // Only admin credentials change settings (or read them).
    let r = app
        .patch("/admin/v1/tenant", &json!({"registrations": false}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let member_token = admin_token(&app.store, &app.tenant, &member, "m").await;
    let r = admin(
        &app,
        &member_token,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"registrations": false})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a member is no admin: {}",
        r.text
    );
    for (body, why) in [
        (json!({"fallbackOwner": viewer}), "a viewer owns nothing"),
        (json!({"fallbackOwner": "ghost@acme.test"}), "no such user"),
        (json!({"registrations": "yes"}), "not a boolean"),
        (json!({"seats": 5}), "unknown field"),
    ] {
        let r = admin(&app, &token, Method::PATCH, "/admin/v1/tenant", Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.text);
    }
    assert_eq!(
        admin(&app, &token, Method::GET, "/admin/v1/tenant", None)
            .await
            .body["registrations"],
        true,
        "nothing changed"
    );

    let r = admin(
        &app,
        &token,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"fallbackOwner": "heir@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["fallbackOwner"]["id"], heir.as_str());
    assert_eq!(r.body["fallbackOwner"]["source"], "admin");
    // A deletion with no successor and no manager goes to the fallback owner.
    let r = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/admin/v1/users/{member}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["deletion"]["successor"]["id"],
        heir.as_str(),
        "{}",
        r.body
    );
    assert_eq!(r.body["deletion"]["successor"]["source"], "fallback");
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"fallbackOwner": null})),
    )
    .await;
    assert!(r.body["fallbackOwner"].is_null(), "{}", r.text);
    let audit = app.get("/admin/v1/audit?object_type=Tenant").await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn type_role_and_plan_changes_follow_the_guards_and_idp_ownership() {
    // Without allow_local_overrides the IdP owns what it provisioned.
    let app = TestApp::from_toml(
        "plans = [\"basic\", \"team\"]\n[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n",
    )
    .await;
    let (_, token) = root(&app).await;
    let idp_user = app.user("idp@acme.test").await;
    let path = format!("/admin/v1/users/{idp_user}/access");
    let r = admin(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"plan": "team"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("identity provider"),
        "{}",
        r.text
    );
    // An invited (local) user is the admin's to change.
    let r = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "local@acme.test"})),
    )
    .await;
    let local = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/admin/v1/users/{local}/access");
    for (body, field, value) in [
        (json!({"type": "viewer"}), "type", "viewer"),
        (json!({"type": "user", "role": "admin"}), "role", "admin"),
        (json!({"plan": "team"}), "plan", "team"),
    ] {
        let r = admin(&app, &token, Method::PATCH, &path, Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body[field]["value"], value, "{}", r.body);
    }
    for (body, status) in [
        (json!({"plan": "platinum"}), StatusCode::BAD_REQUEST),
        (json!({"role": "emperor"}), StatusCode::BAD_REQUEST),
        (json!({"type": "robot"}), StatusCode::BAD_REQUEST),
    ] {
        let r = admin(&app, &token, Method::PATCH, &path, Some(body)).await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    // The new admin cannot grant super-admin nor touch the super-admin.
    let adm = admin_token(&app.store, &app.tenant, &local, "adm").await;
    let other = admin(
        &app,
        &token,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "o@acme.test"})),
    )
    .await;
    let other = other.body["id"].as_str().unwrap().to_string();
    let r = admin(
        &app,
        &adm,
        Method::PATCH,
        &format!("/admin/v1/users/{other}/access"),
        Some(json!({"role": "super-admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = admin(
        &app,
        &adm,
        Method::POST,
        "/admin/v1/users/root@acme.test/ban",
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = admin(
        &app,
        &adm,
        Method::POST,
        &format!("/admin/v1/users/{local}/disable"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not themself: {}", r.text);
    // Ban with a reason, unban; enable/disable; delete with transfer_to; restore.
    let r = admin(
        &app,
        &adm,
        Method::POST,
        &format!("/admin/v1/users/{other}/ban"),
        Some(json!({"reason": "policy breach"})),
    )
    .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("banned")),
        "{}",
        r.text
    );
    assert_eq!(r.body["ban"]["reason"], "policy breach");
    let r = admin(
        &app,
        &adm,
        Method::POST,
        &format!("/admin/v1/users/{other}/unban"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "invited", "{}", r.text);
    let r = admin(
        &app,
        &adm,
        Method::POST,
        &format!("/admin/v1/users/{other}/disable"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "disabled", "{}", r.text);
    let r = admin(
        &app,
        &adm,
        Method::POST,
        &format!("/admin/v1/users/{other}/enable"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "invited", "{}", r.text);
    let r = admin(
        &app,
        &adm,
        Method::DELETE,
        &format!("/admin/v1/users/{other}?transfer_to=root@acme.test"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["deletion"]["successor"]["userName"],
        "root@acme.test"
    );
    let r = admin(
        &app,
        &adm,
        Method::POST,
        &format!("/admin/v1/users/{other}/restore"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "invited", "{}", r.text);
}

#[tokio::test]
async fn groups_are_listed_with_member_counts_and_their_members_paged() {
    let app = acme().await;
    let (_, token) = root(&app).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(app.user(&format!("m{i:02}")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let big = app.group("Data", &refs).await;
    app.group("Eng", &refs[..2]).await;
    app.group("Empty", &[]).await;
    let r = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/groups?sort=members&order=desc",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows: Vec<(String, i64)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["displayName"].as_str().unwrap().to_string(),
                g["members"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("Data".into(), 25), ("Eng".into(), 2), ("Empty".into(), 0)]
    );
    assert_eq!(r.body["total"], 3);
    let r = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/groups?search=EN&page_size=10",
        None,
    )
    .await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
    let r = admin(
        &app,
        &token,
        Method::GET,
        "/admin/v1/groups?page_size=7",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = admin(
            &app,
            &token,
            Method::GET,
            &format!("/admin/v1/groups/{big}?page={page}&page_size=10"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["displayName"], "Data");
        assert_eq!(r.body["members"]["total"], 25);
        assert_eq!(r.body["members"]["pages"], 3);
        assert_eq!(
            r.body["grants"][0]["rule"], "Data plan",
            "{}",
            r.body["grants"]
        );
        for m in r.body["members"]["items"].as_array().unwrap() {
            assert_eq!(m["type"], "User");
            assert_eq!(m["status"], "created");
            seen.push(m["name"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    let mut expected: Vec<String> = (0..25).map(|i| format!("m{i:02}")).collect();
    expected.sort();
    assert_eq!(seen, expected, "every member once across the pages");
    let r = admin(&app, &token, Method::GET, "/admin/v1/groups/Eng", None).await;
    assert_eq!(r.body["members"]["total"], 2, "by displayName too");
    let r = admin(&app, &token, Method::GET, "/admin/v1/groups/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Removing a member shows at once.
    app.patch(
        &format!("/scim/v2/Groups/{big}"),
        &patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}])),
    )
    .await;
    let r = admin(
        &app,
        &token,
        Method::GET,
        &format!("/admin/v1/groups/{big}"),
        None,
    )
    .await;
    assert_eq!(r.body["members"]["total"], 24);
    let _ = GROUP;
}
