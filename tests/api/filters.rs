//! Filters, through the API and on the real SQL compiler.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

async fn seed(app: &TestApp) {
    app.user_from(json!({
        "schemas": [USER, ENTERPRISE], "userName": "bjensen", "externalId": "EXT-1",
        "title": "Tour Guide", "userType": "Employee", "active": true,
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Tours"}
    }))
    .await;
    app.user_from(json!({
        "schemas": [USER], "userName": "jsmith", "externalId": "ext-1",
        "userType": "Intern", "active": false,
        "name": {"familyName": "O'Malley", "givenName": "John"},
        "emails": [{"value": "john@example.org", "type": "work"}]
    }))
    .await;
    app.user_from(json!({"schemas": [USER], "userName": "Zed"}))
        .await;
}

async fn names(app: &TestApp, filter: &str) -> Vec<String> {
    app.user_names(&format!("filter={}&sortBy=userName", enc(filter)))
        .await
}

#[tokio::test]
async fn comparison_operators_on_strings() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, r#"userName eq "BJENSEN""#).await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(&app, r#"userName ne "bjensen""#).await,
        vec!["jsmith", "Zed"]
    );
    assert_eq!(
        names(&app, r#"name.familyName co "O'Mal""#).await,
        vec!["jsmith"]
    );
    assert_eq!(names(&app, r#"userName sw "J""#).await, vec!["jsmith"]);
    assert_eq!(names(&app, r#"userName ew "SEN""#).await, vec!["bjensen"]);
    assert_eq!(names(&app, r#"userName gt "jsmith""#).await, vec!["Zed"]);
    assert_eq!(
        names(&app, r#"userName ge "jsmith""#).await,
        vec!["jsmith", "Zed"]
    );
    assert_eq!(names(&app, r#"userName lt "c""#).await, vec!["bjensen"]);
    assert_eq!(
        names(&app, r#"userName le "bjensen""#).await,
        vec!["bjensen"]
    );
    assert_eq!(names(&app, "title pr").await, vec!["bjensen"]);
    assert_eq!(
        names(
            &app,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#
        )
        .await,
        vec!["bjensen"]
    );
}

#[tokio::test]
async fn like_wildcards_in_values_are_literal() {
    let app = TestApp::new().await;
    app.user("a%b").await;
    app.user("axb").await;
    app.user("a_b").await;
    assert_eq!(names(&app, r#"userName co "%""#).await, vec!["a%b"]);
    assert_eq!(names(&app, r#"userName sw "a_""#).await, vec!["a_b"]);
}

#[tokio::test]
async fn case_exact_attributes_compare_exactly() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, r#"externalId eq "EXT-1""#).await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(&app, r#"externalId eq "ext-1""#).await,
        vec!["jsmith"]
    );
    assert_eq!(names(&app, r#"externalId sw "E""#).await, vec!["bjensen"]);
}

#[tokio::test]
async fn logical_operators_and_precedence() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, r#"title pr and userType eq "Employee""#).await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(&app, r#"title pr or userType eq "Intern""#).await,
        vec!["bjensen", "jsmith"]
    );
    // and binds tighter than or
    assert_eq!(
        names(
            &app,
            r#"userName eq "Zed" or userType eq "Intern" and active eq false"#
        )
        .await,
        vec!["jsmith", "Zed"]
    );
    assert_eq!(
        names(&app, r#"not (userType eq "Employee")"#).await,
        vec!["jsmith", "Zed"],
        "not() includes users without the attribute"
    );
    assert_eq!(
        names(&app, r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#).await,
        vec!["Zed"]
    );
}

#[tokio::test]
async fn booleans_and_date_times() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(names(&app, "active eq false").await, vec!["jsmith"]);
    assert_eq!(names(&app, "active eq true").await, vec!["bjensen", "Zed"]);
    // The step clock gives each write its own second: jsmith was created second.
    let all = app.get("/scim/v2/Users?sortBy=meta.created").await;
    let second = all.body["Resources"][1]["meta"]["created"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        names(&app, &format!(r#"meta.lastModified gt "{second}""#)).await,
        vec!["Zed"]
    );
    assert_eq!(
        names(&app, &format!(r#"meta.created ge "{second}""#)).await,
        vec!["jsmith", "Zed"]
    );
    assert_eq!(
        names(&app, r#"meta.created lt "2011-05-13T04:42:34Z""#).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn multi_valued_attributes_and_value_paths() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(
            &app,
            r#"emails[type eq "work" and value co "@example.com"]"#
        )
        .await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(
            &app,
            r#"emails[type eq "work"].value eq "JOHN@example.org""#
        )
        .await,
        vec!["jsmith"]
    );
    assert_eq!(
        names(&app, r#"emails co "jensen.org""#).await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(&app, r#"emails.type eq "home""#).await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(&app, "emails[primary eq true]").await,
        vec!["bjensen"]
    );
    assert_eq!(names(&app, "emails pr").await, vec!["bjensen", "jsmith"]);
    assert_eq!(
        names(
            &app,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#
        )
        .await,
        vec!["bjensen"]
    );
}

#[tokio::test]
async fn extension_attributes_and_schemas() {
    let app = TestApp::new().await;
    seed(&app).await;
    assert_eq!(
        names(&app, &format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#)).await,
        vec!["bjensen"]
    );
    assert_eq!(
        names(&app, &format!(r#"schemas eq "{ENTERPRISE}""#)).await,
        vec!["bjensen"]
    );
}

#[tokio::test]
async fn group_filters_on_display_name_and_members() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    app.group("Admins", &[&a]).await;
    app.group("Staff", &[&a, &b]).await;
    let list = |f: &str| {
        let app = &app;
        let f = f.to_string();
        async move {
            let r = app
                .get(&format!(
                    "/scim/v2/Groups?filter={}&sortBy=displayName",
                    enc(&f)
                ))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(r#"displayName eq "admins""#).await, vec!["Admins"]);
    assert_eq!(
        list(&format!(r#"members[value eq "{b}"]"#)).await,
        vec!["Staff"]
    );
    assert_eq!(
        list(&format!(r#"members.value eq "{a}""#)).await,
        vec!["Admins", "Staff"]
    );
    let g = app
        .get("/scim/v2/Groups?filter=displayName+eq+%22Admins%22")
        .await;
    let gid = g.body["Resources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        names(&app, &format!(r#"groups.value eq "{gid}""#)).await,
        vec!["a"]
    );
}

#[tokio::test]
async fn empty_result_is_200_with_an_empty_list() {
    let app = TestApp::new().await;
    let r = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc(r#"userName eq "nobody""#)
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn plus_in_the_query_string_is_a_space() {
    let app = TestApp::new().await;
    seed(&app).await;
    let r = app
        .get("/scim/v2/Users?filter=userName+eq+%22bjensen%22")
        .await;
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn search_with_post_on_users_and_at_the_root() {
    let app = TestApp::new().await;
    seed(&app).await;
    app.group("Tour Guides", &[]).await;
    let r = app
        .post(
            "/scim/v2/Users/.search",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userType pr", "sortBy": "userName", "sortOrder": "descending",
                "attributes": ["userName"], "count": 1
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(
        r.body["Resources"],
        json!([{"schemas": [USER], "id": r.body["Resources"][0]["id"], "userName": "jsmith"}])
    );

    let r = app
        .post(
            "/scim/v2/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
        )
        .await;
    assert_eq!(r.body["totalResults"], 4);
    let types: Vec<_> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["User", "User", "User", "Group"]);
    // Paging across both types.
    let r = app
        .post(
            "/scim/v2/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": 3, "count": 2}),
        )
        .await;
    let types: Vec<_> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["User", "Group"]);
    // A filter only Groups understand finds the group.
    let r = app
        .post(
            "/scim/v2/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "displayName sw \"tour\""}),
        )
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
}
