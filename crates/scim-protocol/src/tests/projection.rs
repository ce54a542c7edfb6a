//! `projection::parse_selectors`, `Projection::apply` and `Projection::omits`.

use serde_json::{json, Map, Value};

use super::{assert_err, user, v};
use crate::projection::{parse_selectors, Projection, Selector};
use crate::render::{representation, Meta};
use crate::schema::{Registry, URN_ACCESS, URN_ENTERPRISE, URN_USER};
use crate::ScimType;

/// A full User representation, as the directory builds it: stored data plus
/// the access extension's read-only values, `groups`, `id` and `meta`.
fn full() -> Map<String, Value> {
    let r = Registry::new();
    let mut stored = user();
    stored.insert("password".into(), json!("secret"));
    stored.insert(
        URN_ACCESS.into(),
        json!({"type": "user", "status": "created", "typeSource": "default", "roleSource": "group"}),
    );
    stored.insert(
        "schemas".into(),
        json!([URN_USER, URN_ENTERPRISE, URN_ACCESS]),
    );
    let t = time::macros::datetime!(2024-05-13 04:42:34 UTC);
    representation(
        &r.user,
        "https://example.com/scim/v2",
        "u1",
        &stored,
        vec![(
            "groups".into(),
            json!([{"value": "g1", "display": "Admins", "type": "direct"}]),
        )],
        &Meta {
            created: t,
            last_modified: t,
            version: 3,
        },
    )
}

fn project(attributes: Option<&str>, excluded: Option<&str>) -> Map<String, Value> {
    let r = Registry::new();
    let p = Projection {
        attributes: attributes.map(|a| parse_selectors(&r, &r.user, a).unwrap()),
        excluded: excluded.map(|a| parse_selectors(&r, &r.user, a).unwrap()),
    };
    p.apply(&r, &r.user, &full())
}

fn keys(m: &Map<String, Value>) -> Vec<&str> {
    let mut k: Vec<&str> = m.keys().map(String::as_str).collect();
    k.sort();
    k
}

#[test]
fn default_projection() {
    let out = project(None, None);
    assert_eq!(keys(&out), {
        let mut k = vec![
            "schemas",
            "id",
            "userName",
            "name",
            "displayName",
            "active",
            "emails",
            "addresses",
            "groups",
            "meta",
            URN_ENTERPRISE,
            URN_ACCESS,
        ];
        k.sort();
        k
    });
    assert!(out.get("password").is_none());
    // returned:request attributes of the access extension are left out by default.
    assert_eq!(out[URN_ACCESS], json!({"type": "user"}));
    assert_eq!(
        out["schemas"],
        json!([URN_USER, URN_ENTERPRISE, URN_ACCESS])
    );
    assert_eq!(out["meta"]["version"], json!("W/\"3\""));
}

#[test]
fn attributes_user_name_keeps_id_schemas_and_user_name_only() {
    let out = project(Some("userName"), None);
    assert_eq!(
        v(&out),
        json!({"schemas": [URN_USER], "id": "u1", "userName": "bjensen"})
    );
    // Case-insensitively, and `schemas` in the list is harmless.
    assert_eq!(project(Some(" USERNAME , schemas,"), None), out);
}

#[test]
fn excluded_emails() {
    let out = project(None, Some("emails"));
    assert!(out.get("emails").is_none());
    let mut want = project(None, None);
    want.remove("emails");
    assert_eq!(out, want);
}

#[test]
fn excluded_id_is_still_returned() {
    assert_eq!(project(None, Some("id"))["id"], json!("u1"));
    assert_eq!(project(None, Some("id,userName"))["id"], json!("u1"));
    assert!(project(None, Some("id,userName")).get("userName").is_none());
}

#[test]
fn sub_attribute_selection() {
    let out = project(Some("name.givenName"), None);
    assert_eq!(
        v(&out),
        json!({"schemas": [URN_USER], "id": "u1", "name": {"givenName": "Barbara"}})
    );
    let out = project(Some("emails.value"), None);
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
    let out = project(Some("emails.value,emails.type,meta.created"), None);
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}])
    );
    assert_eq!(out["meta"], json!({"created": "2024-05-13T04:42:34.000Z"}));
    // Elements without the selected sub-attribute disappear; so does an attribute left empty.
    let out = project(Some("emails.display"), None);
    assert!(out.get("emails").is_none());
}

#[test]
fn excluded_sub_attributes() {
    let out = project(None, Some("name.givenName,emails.primary"));
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}])
    );
}

#[test]
fn extension_selection_by_urn() {
    let out = project(Some(URN_ENTERPRISE), None);
    assert_eq!(
        v(&out),
        json!({
            "schemas": [URN_USER, URN_ENTERPRISE],
            "id": "u1",
            URN_ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": super::MANAGER_ID}}
        })
    );
}

#[test]
fn extension_attribute_selection() {
    let out = project(Some(&format!("{URN_ENTERPRISE}:employeeNumber")), None);
    assert_eq!(
        v(&out),
        json!({"schemas": [URN_USER, URN_ENTERPRISE], "id": "u1", URN_ENTERPRISE: {"employeeNumber": "701984"}})
    );
    let out = project(
        Some(&format!("{URN_ENTERPRISE}:manager.value,userName")),
        None,
    );
    assert_eq!(
        out[URN_ENTERPRISE],
        json!({"manager": {"value": super::MANAGER_ID}})
    );
    assert_eq!(out["userName"], json!("bjensen"));
    // Unqualified extension attribute names resolve too.
    assert_eq!(
        project(Some("employeeNumber"), None),
        project(Some(&format!("{URN_ENTERPRISE}:employeeNumber")), None)
    );
}

#[test]
fn schemas_shrink_when_an_extension_is_projected_away() {
    let out = project(None, Some(URN_ENTERPRISE));
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert_eq!(out["schemas"], json!([URN_USER, URN_ACCESS]));
    let out = project(
        None,
        Some(&format!(
            "{URN_ENTERPRISE}:employeeNumber,{URN_ENTERPRISE}:manager,{URN_ACCESS}:type"
        )),
    );
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert!(out.get(URN_ACCESS).is_none());
    assert_eq!(out["schemas"], json!([URN_USER]));
}

#[test]
fn password_is_never_returned() {
    assert!(project(None, None).get("password").is_none());
    assert!(project(Some("password"), None).get("password").is_none());
    assert!(project(Some("password,userName"), None)
        .get("password")
        .is_none());
    assert!(project(None, Some("userName")).get("password").is_none());
}

#[test]
fn access_request_attributes_only_when_asked() {
    let out = project(Some(&format!("{URN_ACCESS}:status")), None);
    assert_eq!(out[URN_ACCESS], json!({"status": "created"}));
    assert_eq!(out["schemas"], json!([URN_USER, URN_ACCESS]));
    let out = project(
        Some(&format!(
            "{URN_ACCESS}:status,{URN_ACCESS}:roleSource,{URN_ACCESS}:type"
        )),
        None,
    );
    assert_eq!(
        out[URN_ACCESS],
        json!({"type": "user", "status": "created", "roleSource": "group"})
    );
    // Not by default, not when excluding something else, not when asking for other attributes.
    assert_eq!(
        project(None, Some("emails"))[URN_ACCESS],
        json!({"type": "user"})
    );
    assert!(project(Some("userName"), None).get(URN_ACCESS).is_none());
}

#[test]
fn parse_selectors_resolves_and_canonicalises() {
    let r = Registry::new();
    let sel = parse_selectors(
        &r,
        &r.user,
        &format!(
            "USERNAME, name.GIVENNAME,{},{}:MANAGER.value, schemas",
            URN_ENTERPRISE.to_lowercase(),
            URN_ENTERPRISE
        ),
    )
    .unwrap();
    assert_eq!(
        sel,
        [
            Selector::Attr {
                extension: None,
                attr: "userName".into(),
                sub: None
            },
            Selector::Attr {
                extension: None,
                attr: "name".into(),
                sub: Some("givenName".into())
            },
            Selector::Extension(URN_ENTERPRISE.into()),
            Selector::Attr {
                extension: Some(URN_ENTERPRISE.into()),
                attr: "manager".into(),
                sub: Some("value".into())
            },
        ]
    );
    assert_eq!(parse_selectors(&r, &r.user, " , ,").unwrap(), []);
}

#[test]
fn parse_selectors_errors_are_invalid_value() {
    let r = Registry::new();
    for bad in [
        "favoriteColor",
        "name.nickName",
        "emails[type eq \"work\"]",
        "emails[type eq",
        "urn:example:x:attr",
        "members",
    ] {
        assert_err(parse_selectors(&r, &r.user, bad), ScimType::InvalidValue);
    }
    assert_err(
        parse_selectors(&r, &r.group, "userName"),
        ScimType::InvalidValue,
    );
}

fn projection(attributes: Option<&str>, excluded: Option<&str>, group: bool) -> Projection {
    let r = Registry::new();
    let rt = if group { &r.group } else { &r.user };
    Projection {
        attributes: attributes.map(|a| parse_selectors(&r, rt, a).unwrap()),
        excluded: excluded.map(|a| parse_selectors(&r, rt, a).unwrap()),
    }
}

#[test]
fn omits_groups_and_members() {
    let r = Registry::new();
    let u = &r.user;
    assert!(!projection(None, None, false).omits(u, "groups"));
    assert!(projection(Some("userName"), None, false).omits(u, "groups"));
    assert!(!projection(Some("userName,groups"), None, false).omits(u, "groups"));
    assert!(!projection(Some("groups.display"), None, false).omits(u, "groups"));
    assert!(projection(None, Some("groups"), false).omits(u, "groups"));
    assert!(!projection(None, Some("groups.display"), false).omits(u, "groups"));
    assert!(!projection(None, Some("emails"), false).omits(u, "groups"));
    // Unknown names and never-returned attributes are always omitted.
    assert!(projection(None, None, false).omits(u, "nonexistent"));
    assert!(projection(None, None, false).omits(u, "password"));
    // Extension selections do not pull in core attributes.
    assert!(projection(Some(URN_ENTERPRISE), None, false).omits(u, "groups"));

    let g = &r.group;
    assert!(!projection(None, None, true).omits(g, "members"));
    assert!(projection(Some("displayName"), None, true).omits(g, "members"));
    assert!(!projection(Some("members.value"), None, true).omits(g, "members"));
    assert!(projection(None, Some("members"), true).omits(g, "members"));
    assert!(!projection(None, Some("displayName"), true).omits(g, "members"));
}

#[test]
fn group_projection() {
    let r = Registry::new();
    let mut g = Map::new();
    g.insert(
        "schemas".into(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]),
    );
    g.insert("id".into(), json!("g1"));
    g.insert("displayName".into(), json!("Admins"));
    g.insert(
        "members".into(),
        json!([{"value": "u1", "$ref": "https://x/Users/u1", "type": "User"}]),
    );
    let p = projection(None, Some("members"), true);
    let out = p.apply(&r, &r.group, &g);
    assert!(out.get("members").is_none());
    assert_eq!(out["displayName"], json!("Admins"));
    let p = projection(Some("members.value"), None, true);
    let out = p.apply(&r, &r.group, &g);
    assert_eq!(out["members"], json!([{"value": "u1"}]));
    assert!(out.get("displayName").is_none());
}

#[test]
fn unknown_keys_in_the_resource_are_dropped() {
    let r = Registry::new();
    let mut res = full();
    res.insert("internalNote".into(), json!("x"));
    let out = Projection::default().apply(&r, &r.user, &res);
    assert!(out.get("internalNote").is_none());
}
