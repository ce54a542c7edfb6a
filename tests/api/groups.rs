//! Groups: members (Users and Groups), the Users' computed `groups`,
//! membership clean-up on delete.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn member_ids(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn group_with_user_and_group_members() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let inner = app.group("Inner", &[&alice]).await;
    let outer = app.group("Outer", &[&inner]).await;
    let r = app.get(&format!("/scim/v2/Groups/{outer}")).await;
    assert_eq!(r.body["members"][0]["value"], inner.as_str());
    assert_eq!(r.body["members"][0]["type"], "Group");
    assert_eq!(
        r.body["members"][0]["$ref"],
        format!("http://scim.test/scim/v2/Groups/{inner}")
    );
    let r = app.get(&format!("/scim/v2/Groups/{inner}")).await;
    assert_eq!(r.body["members"][0]["type"], "User");
    assert_eq!(r.body["meta"]["resourceType"], "Group");
}

#[tokio::test]
async fn users_groups_attribute_lists_direct_and_indirect_memberships() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let inner = app.group("Inner", &[&alice]).await;
    let outer = app.group("Outer", &[&inner]).await;
    let r = app.get(&format!("/scim/v2/Users/{alice}")).await;
    let groups = r.body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let find = |id: &str| groups.iter().find(|g| g["value"] == id).unwrap().clone();
    assert_eq!(find(&inner)["type"], "direct");
    assert_eq!(find(&inner)["display"], "Inner");
    assert_eq!(find(&outer)["type"], "indirect");
}

#[tokio::test]
async fn groups_attribute_is_read_only_on_users() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let g = app.group("G", &[]).await;
    let r = app
        .patch(
            &format!("/scim/v2/Users/{alice}"),
            &patch_body(json!([{"op": "add", "path": "groups", "value": [{"value": g}]}])),
        )
        .await;
    r.assert_error(400, Some("mutability"));
    // On create and PUT it is ignored.
    let u = app
        .user_from(json!({"schemas": [USER], "userName": "b", "groups": [{"value": g}]}))
        .await;
    assert!(u.get("groups").is_none());
}

#[tokio::test]
async fn deleting_a_user_removes_its_memberships() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let g = app.group("G", &[&a, &b]).await;
    app.delete(&format!("/scim/v2/Users/{a}")).await;
    let r = app.get(&format!("/scim/v2/Groups/{g}")).await;
    assert_eq!(member_ids(&r.body), vec![b]);
}

#[tokio::test]
async fn deleting_a_group_removes_it_from_parents_and_users() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let inner = app.group("Inner", &[&a]).await;
    let outer = app.group("Outer", &[&inner]).await;
    assert_eq!(
        app.delete(&format!("/scim/v2/Groups/{inner}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = app.get(&format!("/scim/v2/Groups/{outer}")).await;
    assert!(r.body.get("members").is_none(), "{}", r.text);
    let r = app.get(&format!("/scim/v2/Users/{a}")).await;
    assert!(r.body.get("groups").is_none());
}

#[tokio::test]
async fn display_name_is_unique_per_tenant() {
    let app = TestApp::new().await;
    app.group("Admins", &[]).await;
    let r = app
        .post(
            "/scim/v2/Groups",
            &json!({"schemas": [GROUP], "displayName": "admins"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
    // Another tenant may use the name.
    let other = app.token_for("globex").await;
    let r = app
        .call_as(
            &other,
            axum::http::Method::POST,
            "/scim/v2/Groups",
            Some(&json!({"schemas": [GROUP], "displayName": "Admins"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_member_is_refused_and_nothing_is_created() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/scim/v2/Groups",
            &json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "nope"}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let list = app.get("/scim/v2/Groups").await;
    assert_eq!(list.body["totalResults"], 0);
    assert_eq!(app.audit_count().await, 0);
}

#[tokio::test]
async fn member_type_must_match_the_resource() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let r = app
        .post(
            "/scim/v2/Groups",
            &json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": a, "type": "Group"}]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn membership_cycles_are_refused() {
    let app = TestApp::new().await;
    let a = app.group("A", &[]).await;
    let b = app.group("B", &[&a]).await;
    let r = app
        .patch(
            &format!("/scim/v2/Groups/{a}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": b}]}])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    let r = app
        .patch(
            &format!("/scim/v2/Groups/{a}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn excluded_members_are_not_returned() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let g = app.group("G", &[&a]).await;
    let r = app
        .get(&format!("/scim/v2/Groups/{g}?excludedAttributes=members"))
        .await;
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "G");
    let r = app.get("/scim/v2/Groups?attributes=displayName").await;
    assert!(r.body["Resources"][0].get("members").is_none());
}

/// RFC 7644 §3.5.2: a PATCH answer is "subject to the attributes query
/// parameter"; a sync adding one member to a huge group asks for no members
/// back, and the change is still made and versioned.
#[tokio::test]
async fn patch_with_excluded_members_answers_without_them_and_still_changes_them() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let g = app.group("G", &[&a]).await;
    let r = app
        .patch(
            &format!("/scim/v2/Groups/{g}?excludedAttributes=members"),
            &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": b}]}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("members").is_none(), "{}", r.body);
    assert_eq!(r.body["displayName"], "G");
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    let full = app.get(&format!("/scim/v2/Groups/{g}")).await;
    let mut members: Vec<&str> = full.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(members, want);
}

#[tokio::test]
async fn members_returned_are_capped_and_any_member_is_still_found_by_filter() {
    let app = TestApp::with_directory(rollcall::directory::DirectoryConfig {
        max_members_returned: 3,
        ..Default::default()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.user(&format!("m{i}")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let g = app.group("Big", &refs).await;
    let r = app.get(&format!("/scim/v2/Groups/{g}")).await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 3, "capped");
    // The ones past the cap are members all the same.
    let q = format!(
        "/scim/v2/Groups?filter={}",
        crate::support::enc(&format!("members[value eq \"{}\"]", ids[4]))
    );
    assert_eq!(app.get(&q).await.body["totalResults"], 1);
    let u = app.get(&format!("/scim/v2/Users/{}", ids[4])).await;
    assert_eq!(u.body["groups"][0]["value"], g.as_str());
}

#[tokio::test]
async fn put_replaces_the_member_list() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let g = app.group("G", &[&a]).await;
    let r = app
        .put(
            &format!("/scim/v2/Groups/{g}"),
            &json!({"schemas": [GROUP], "displayName": "G2", "members": [{"value": b}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(member_ids(&r.body), vec![b]);
    assert_eq!(r.body["displayName"], "G2");
}

#[tokio::test]
async fn member_display_is_echoed_as_sent() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let r = app
        .post(
            "/scim/v2/Groups",
            &json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": a, "display": "Alice A."}]}),
        )
        .await;
    assert_eq!(r.body["members"][0]["display"], "Alice A.");
}

#[tokio::test]
async fn lists_carry_each_resources_own_members_and_groups() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let ga = app.group("GA", &[&a]).await;
    let gb = app.group("GB", &[&a, &b]).await;
    let nested = app.group("Nested", &[&ga]).await;
    let r = app.get("/scim/v2/Groups?sortBy=displayName").await;
    let res = r.body["Resources"].as_array().unwrap();
    assert_eq!(member_ids(&res[0]), vec![a.clone()]);
    let mut ab = vec![a.clone(), b.clone()];
    ab.sort();
    assert_eq!(member_ids(&res[1]), ab);
    assert_eq!(member_ids(&res[2]), vec![ga.clone()]);
    let r = app.get("/scim/v2/Users?sortBy=userName").await;
    let users = r.body["Resources"].as_array().unwrap();
    let groups_of = |u: &Value| {
        let mut g: Vec<(String, String)> = u["groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        (
                            x["value"].as_str().unwrap().to_string(),
                            x["type"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        g.sort();
        g
    };
    let mut expect_a = vec![
        (ga.clone(), "direct".to_string()),
        (gb.clone(), "direct".to_string()),
        (nested.clone(), "indirect".to_string()),
    ];
    expect_a.sort();
    assert_eq!(groups_of(&users[0]), expect_a);
    assert_eq!(groups_of(&users[1]), vec![(gb, "direct".to_string())]);
}

#[tokio::test]
async fn a_membership_patch_that_changes_nothing_keeps_the_version() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let g = app.group("G", &[&a]).await;
    let before = app.audit_count().await;
    let path = format!("/scim/v2/Groups/{g}");
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
        json!([{"op": "remove", "path": "members[value eq \"00000000-0000-4000-8000-999999999999\"]"}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": a}]}]),
    ] {
        let r = app.patch(&path, &patch_body(ops.clone())).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        assert_eq!(r.header("etag").as_deref(), Some("W/\"1\""), "{ops}");
    }
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn deleting_a_member_changes_its_groups_version_and_tells_the_host() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let g = app.group("G", &[&a]).await;
    let path = format!("/scim/v2/Groups/{g}");
    assert_eq!(app.get(&path).await.body["meta"]["version"], "W/\"1\"");
    app.delete(&format!("/scim/v2/Users/{a}")).await;
    let r = app.get(&path).await;
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");
    let events = app.store.events(&app.tenant).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "user.created",
            "group.created",
            "group.updated",
            "user.deletion_requested",
            "user.deleted"
        ]
    );
}

/// A group PATCH asking for no attributes answers 204 with the new ETag
/// (members never read); asking for attributes, or the `resource` setting,
/// brings the 200 with the group back. A user PATCH answers 200 as ever.
#[tokio::test]
async fn a_group_patch_answers_204_unless_attributes_are_asked_for() {
    let app = TestApp::new().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let g = app.group("G", &[&a]).await;
    let add =
        |m: &str| patch_body(json!([{"op": "add", "path": "members", "value": [{"value": m}]}]));
    let path = format!("/scim/v2/Groups/{g}");
    let r = app.patch(&path, &add(&b)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(r.header("etag").as_deref(), Some("W/\"2\""));
    assert_eq!(
        app.get(&path).await.body["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // With `attributes`, RFC 7644 §3.5.2: 200 and what was asked for.
    let c = app.user("c").await;
    let r = app
        .patch(&format!("{path}?attributes=displayName"), &add(&c))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["displayName"], "G");
    assert!(r.body.get("members").is_none(), "{}", r.body);
    let r = app
        .patch(&format!("{path}?excludedAttributes=externalId"), &add(&a))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 3);
    // A user PATCH is answered with the user.
    let off = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    let r = app.patch(&format!("/scim/v2/Users/{a}"), &off).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);

    let full = TestApp::from_toml("group_patch_response = \"resource\"\n").await;
    let a = full.user("a").await;
    let g = full.group("G", &[]).await;
    let r = full.patch(&format!("/scim/v2/Groups/{g}"), &add(&a)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["members"][0]["value"], a.as_str());
    assert_eq!(r.header("etag").as_deref(), Some("W/\"2\""));
}

/// A lookup reads its users' `groups` in the page's own statement: the
/// same groups, types, names and order as reading the user alone, for a
/// group reached both directly and through nesting, and names that need
/// escaping.
#[tokio::test]
async fn a_lookups_groups_are_the_ones_the_user_alone_shows() {
    let app = TestApp::new().await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let both = app.group("Zoë \"both\" \\ ways", &[&ann]).await;
    // ann is in inner directly and through both.
    let inner = app.group("inner", &[&ann, &both]).await;
    app.group("Ärger", &[&inner]).await;
    for (id, name) in [(&ann, "ann"), (&bob, "bob")] {
        let alone = app.get(&format!("/scim/v2/Users/{id}")).await.body;
        let looked_up = app
            .get(&format!(
                "/scim/v2/Users?filter=userName%20eq%20%22{name}%22"
            ))
            .await
            .body;
        assert_eq!(looked_up["totalResults"], 1);
        assert_eq!(
            looked_up["Resources"][0]["groups"], alone["groups"],
            "{name}"
        );
    }
    let alone = app.get(&format!("/scim/v2/Users/{ann}")).await.body;
    let got: Vec<(&str, &str)> = alone["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["display"].as_str().unwrap(), g["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("inner", "direct"),
            ("Zoë \"both\" \\ ways", "direct"),
            ("Ärger", "indirect")
        ]
    );
    assert!(
        app.get(&format!("/scim/v2/Users/{bob}")).await.body["groups"]
            .as_array()
            .is_none_or(|g| g.is_empty())
    );
}
