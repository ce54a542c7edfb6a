//! Users: create, read, replace, delete, lists, ETags, uniqueness.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn create_returns_201_with_complete_meta_location_and_etag() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/scim/v2/Users",
            &json!({"schemas": [USER], "userName": "bjensen", "name": {"givenName": "Barbara"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(id, "00000000-0000-4000-8000-000000000001");
    let meta = &r.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["created"], "2023-11-14T22:13:20.000Z");
    assert_eq!(meta["lastModified"], meta["created"]);
    assert_eq!(
        meta["location"],
        format!("http://scim.test/scim/v2/Users/{id}")
    );
    assert_eq!(meta["version"], "W/\"1\"");
    assert_eq!(r.header("etag").as_deref(), Some("W/\"1\""));
    assert_eq!(
        r.header("location").unwrap(),
        meta["location"].as_str().unwrap()
    );
    assert_eq!(r.body["schemas"][0], USER);
    assert_eq!(r.body["name"]["givenName"], "Barbara");
}

#[tokio::test]
async fn client_sent_id_and_meta_are_ignored_on_create() {
    let app = TestApp::new().await;
    let r = app
        .user_from(json!({
            "schemas": [USER], "userName": "x", "id": "chosen-by-client",
            "meta": {"created": "1999-01-01T00:00:00Z", "version": "W/\"99\""}
        }))
        .await;
    assert_ne!(r["id"], "chosen-by-client");
    assert_ne!(r["meta"]["created"], "1999-01-01T00:00:00Z");
    assert_eq!(r["meta"]["version"], "W/\"1\"");
}

#[tokio::test]
async fn password_is_accepted_but_never_returned() {
    let app = TestApp::new().await;
    let r = app
        .user_from(json!({"schemas": [USER], "userName": "p", "password": "s3cret!"}))
        .await;
    assert!(r.get("password").is_none());
    let id = r["id"].as_str().unwrap();
    let got = app
        .get(&format!("/scim/v2/Users/{id}?attributes=password"))
        .await;
    assert!(got.body.get("password").is_none());
    assert!(!got.text.contains("s3cret"));
}

#[tokio::test]
async fn user_name_is_unique_case_insensitively() {
    let app = TestApp::new().await;
    app.user("Alice@Example.com").await;
    let r = app
        .post(
            "/scim/v2/Users",
            &json!({"schemas": [USER], "userName": "alice@example.COM"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    // A rename onto a taken name is refused too.
    let bob = app.user("bob").await;
    let r = app
        .put(
            &format!("/scim/v2/Users/{bob}"),
            &json!({"schemas": [USER], "userName": "ALICE@example.com"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    // Keeping one's own name in another case is fine.
    let r = app
        .put(
            &format!("/scim/v2/Users/{bob}"),
            &json!({"schemas": [USER], "userName": "BOB"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["userName"], "BOB");
}

#[tokio::test]
async fn get_unknown_id_is_404_scim_error() {
    let app = TestApp::new().await;
    app.get("/scim/v2/Users/does-not-exist")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn put_replaces_everything_and_bumps_version() {
    let app = TestApp::new().await;
    let r = app
        .user_from(json!({"schemas": [USER], "userName": "u", "title": "Boss", "nickName": "n"}))
        .await;
    let id = r["id"].as_str().unwrap();
    let p = app
        .put(
            &format!("/scim/v2/Users/{id}"),
            &json!({"schemas": [USER], "userName": "u", "title": "Intern"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.body["title"], "Intern");
    assert!(
        p.body.get("nickName").is_none(),
        "PUT removes what it omits"
    );
    assert_eq!(p.body["meta"]["version"], "W/\"2\"");
    assert_eq!(p.body["meta"]["created"], r["meta"]["created"]);
    assert_ne!(p.body["meta"]["lastModified"], r["meta"]["lastModified"]);
}

#[tokio::test]
async fn if_match_mismatch_is_412_and_changes_nothing() {
    let app = TestApp::new().await;
    let id = app.user("etag").await;
    let path = format!("/scim/v2/Users/{id}");
    let mut req = app.request(
        Method::PUT,
        &path,
        Some(&json!({"schemas": [USER], "userName": "changed"})),
        Some(&app.token),
    );
    req.headers_mut()
        .insert("if-match", "W/\"7\"".parse().unwrap());
    app.send(req).await.assert_error(412, None);
    assert_eq!(app.get(&path).await.body["userName"], "etag");

    let mut req = app.request(
        Method::PATCH,
        &path,
        Some(&patch_body(
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )),
        Some(&app.token),
    );
    req.headers_mut()
        .insert("if-match", "W/\"1\"".parse().unwrap());
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"2\""));

    let mut req = app.request(Method::DELETE, &path, None, Some(&app.token));
    req.headers_mut()
        .insert("if-match", "W/\"1\"".parse().unwrap());
    app.send(req).await.assert_error(412, None);
    assert_eq!(app.get(&path).await.status, StatusCode::OK);
}

#[tokio::test]
async fn if_none_match_on_get_gives_304() {
    let app = TestApp::new().await;
    let id = app.user("cached").await;
    let path = format!("/scim/v2/Users/{id}");
    let mut req = app.request(Method::GET, &path, None, Some(&app.token));
    req.headers_mut()
        .insert("if-none-match", "W/\"1\"".parse().unwrap());
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.text.is_empty());
    let mut req = app.request(Method::GET, &path, None, Some(&app.token));
    req.headers_mut()
        .insert("if-none-match", "W/\"0\"".parse().unwrap());
    assert_eq!(app.send(req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn delete_is_204_then_404_and_frees_the_user_name() {
    let app = TestApp::new().await;
    let id = app.user("gone").await;
    let r = app.delete(&format!("/scim/v2/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.text.is_empty());
    app.get(&format!("/scim/v2/Users/{id}"))
        .await
        .assert_error(404, None);
    app.delete(&format!("/scim/v2/Users/{id}"))
        .await
        .assert_error(404, None);
    app.user("gone").await;
}

#[tokio::test]
async fn list_pages_with_start_index_and_count_in_stable_order() {
    let app = TestApp::new().await;
    for i in 0..7 {
        app.user(&format!("user{i}")).await;
    }
    let r = app.get("/scim/v2/Users?startIndex=3&count=2").await;
    assert_eq!(r.body["totalResults"], 7);
    assert_eq!(r.body["startIndex"], 3);
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let names: Vec<_> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].clone())
        .collect();
    assert_eq!(names, vec![json!("user2"), json!("user3")]);
    // startIndex < 1 reads as 1; count < 0 as 0.
    let r = app.get("/scim/v2/Users?startIndex=-5&count=1").await;
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "user0");
    let r = app.get("/scim/v2/Users?count=-1").await;
    assert_eq!(r.body["totalResults"], 7);
    assert_eq!(r.body["itemsPerPage"], 0);
    // Paging through returns every user exactly once.
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = app
            .get(&format!("/scim/v2/Users?startIndex={start}&count=3"))
            .await;
        let page = r.body["Resources"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        start += 3;
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(seen.len(), 7);
    assert_eq!(dedup.len(), 7);
}

#[tokio::test]
async fn count_is_capped_at_the_announced_maximum() {
    let app = TestApp::with_config(rollcall::http::HttpConfig {
        page: scim_protocol::list::PageLimits {
            default_count: 2,
            max_count: 3,
        },
        ..Default::default()
    })
    .await;
    for i in 0..5 {
        app.user(&format!("c{i}")).await;
    }
    assert_eq!(app.get("/scim/v2/Users").await.body["itemsPerPage"], 2);
    assert_eq!(
        app.get("/scim/v2/Users?count=1000").await.body["itemsPerPage"],
        3
    );
    let spc = app.get("/scim/v2/ServiceProviderConfig").await;
    assert_eq!(spc.body["filter"]["maxResults"], 3);
}

#[tokio::test]
async fn sort_by_and_sort_order() {
    let app = TestApp::new().await;
    for n in ["carol", "Alice", "bob"] {
        app.user(n).await;
    }
    assert_eq!(
        app.user_names("sortBy=userName").await,
        vec!["Alice", "bob", "carol"]
    );
    assert_eq!(
        app.user_names("sortBy=userName&sortOrder=descending").await,
        vec!["carol", "bob", "Alice"]
    );
    let r = app.get("/scim/v2/Users?sortBy=nope").await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn attributes_and_excluded_attributes_project_the_response() {
    let app = TestApp::new().await;
    let u = app
        .user_from(json!({
            "schemas": [USER, ENTERPRISE], "userName": "proj", "title": "T",
            "name": {"givenName": "G", "familyName": "F"},
            "emails": [{"value": "p@x.com", "type": "work"}],
            ENTERPRISE: {"employeeNumber": "42", "department": "R&D"}
        }))
        .await;
    let id = u["id"].as_str().unwrap();
    let r = app
        .get(&format!(
            "/scim/v2/Users/{id}?attributes=userName,name.givenName"
        ))
        .await;
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["schemas", "id", "userName", "name"]);
    assert_eq!(r.body["name"], json!({"givenName": "G"}));
    assert_eq!(r.body["schemas"], json!([USER]));

    let r = app
        .get(&format!(
            "/scim/v2/Users/{id}?excludedAttributes=emails,{ENTERPRISE}:department"
        ))
        .await;
    assert!(r.body.get("emails").is_none());
    assert_eq!(r.body[ENTERPRISE], json!({"employeeNumber": "42"}));
    assert!(r.body.get("meta").is_some());

    let r = app
        .get(&format!("/scim/v2/Users?attributes={}", enc(ENTERPRISE)))
        .await;
    let item = &r.body["Resources"][0];
    assert_eq!(item[ENTERPRISE]["department"], "R&D");
    assert!(item.get("userName").is_none());
    assert_eq!(item["id"], id);
}

#[tokio::test]
async fn every_write_records_an_audit_row_and_an_event() {
    let app = TestApp::new().await;
    let id = app.user("audited").await;
    app.patch(
        &format!("/scim/v2/Users/{id}"),
        &patch_body(json!([{"op": "replace", "path": "title", "value": "x"}])),
    )
    .await;
    app.delete(&format!("/scim/v2/Users/{id}")).await;
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["created", "updated", "deleted"]);
    assert!(audit
        .iter()
        .all(|a| a["actor"] == "token:okta" && a["objectId"] == id.as_str()));
    assert!(audit[1]["description"]
        .as_str()
        .unwrap()
        .contains("replace title"));
    let events = app.store.events(&app.tenant).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "user.created",
            "user.updated",
            "user.deletion_requested",
            "user.deleted"
        ]
    );
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version() {
    let app = TestApp::new().await;
    let id = app.user("same").await;
    let body = patch_body(json!([{"op": "replace", "path": "userName", "value": "same"}]));
    let r = app.patch(&format!("/scim/v2/Users/{id}"), &body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert_eq!(app.audit_count().await, 1, "no audit row for a no-op");
}

#[tokio::test]
async fn deactivation_reactivation_and_role_changes_emit_lifecycle_events() {
    let app = TestApp::new().await;
    let access = "urn:rollcall:scim:schemas:extension:access:2.0:User";
    let id = app.user("life").await;
    let path = format!("/scim/v2/Users/{id}");
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    let r = app
        .get(&format!(
            "{path}?attributes={}",
            enc(&format!("{access}:status"))
        ))
        .await;
    assert_eq!(r.body[access]["status"], "disabled", "{}", r.text);
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "path": "active", "value": "True"}])),
    )
    .await;
    app.put(
        &path,
        &json!({"schemas": [USER, access], "userName": "life", access: {"role": "admin"}}),
    )
    .await;
    app.patch(
        &path,
        &patch_body(
            json!([{"op": "replace", "path": format!("{access}:role"), "value": "member"}]),
        ),
    )
    .await;
    let events = app.store.events(&app.tenant).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.updated",
            "user.reactivated",
            "user.updated",
            "user.role_changed",
            // an admin is editor of every project ("*"); a member of none
            "user.project_roles_changed",
            "user.updated",
            "user.role_changed",
            "user.project_roles_changed",
        ]
    );
    let role_change = &events[events.len() - 2].2;
    assert_eq!(role_change["from"], "admin");
    assert_eq!(role_change["to"], "member");
    let projects = &events.last().unwrap().2;
    assert_eq!(projects["from"]["*"], "editor");
    assert_eq!(projects["to"], json!({}));
}
