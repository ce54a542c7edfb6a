//! Smaller pieces: path resolution, ETags, dateTimes, rendering, errors,
//! discovery documents and the schema registry.

use scim_filter_parser::{parse_path, PatchPath};
use serde_json::json;

use super::user;
use crate::datetime;
use crate::discovery::{service_provider_config, Capabilities};
use crate::error::ScimError;
use crate::etag::{etag, matches};
use crate::path::{resolve, Container, Resolved};
use crate::render::{representation, Meta};
use crate::schema::{
    Mutability, Registry, Returned, URN_ACCESS, URN_ENTERPRISE, URN_ERROR, URN_GROUP, URN_USER,
};
use crate::ScimType;

/// (extension URN, attribute, sub-attribute, common?) of a resolved path.
type Where = (Option<String>, Option<String>, Option<String>, bool);

fn resolve_user(p: &str) -> crate::ScimResult<Where> {
    let r = Registry::new();
    let Ok(PatchPath::Attr(path)) = parse_path(p) else {
        panic!("{p} is not an attribute path")
    };
    Ok(match resolve(&r, &r.user, &path)? {
        Resolved::Extension(s) => (Some(s.id.clone()), None, None, false),
        Resolved::Attr {
            container,
            attr,
            sub,
            common,
        } => (
            match container {
                Container::Top => None,
                Container::Extension(s) => Some(s.id.clone()),
            },
            Some(attr.name.clone()),
            sub.map(|s| s.name.clone()),
            common,
        ),
    })
}

#[test]
fn path_resolution() {
    assert_eq!(
        resolve_user("userName").unwrap(),
        (None, Some("userName".into()), None, false)
    );
    assert_eq!(
        resolve_user("ID").unwrap(),
        (None, Some("id".into()), None, true)
    );
    assert_eq!(
        resolve_user("meta.LastModified").unwrap(),
        (None, Some("meta".into()), Some("lastModified".into()), true)
    );
    assert_eq!(
        resolve_user(&format!("{URN_USER}:name.givenName")).unwrap(),
        (None, Some("name".into()), Some("givenName".into()), false)
    );
    assert_eq!(
        resolve_user("department").unwrap(),
        (
            Some(URN_ENTERPRISE.into()),
            Some("department".into()),
            None,
            false
        )
    );
    assert_eq!(
        resolve_user("plan").unwrap(),
        (Some(URN_ACCESS.into()), Some("plan".into()), None, false)
    );
    assert_eq!(
        resolve_user(URN_ENTERPRISE).unwrap(),
        (Some(URN_ENTERPRISE.into()), None, None, false)
    );
    for bad in [
        "nope",
        "name.nope",
        "userName.value",
        "urn:example:nope:2.0:User:x",
        &format!("{URN_ENTERPRISE}:nope"),
        &format!("{URN_ENTERPRISE}.department"),
    ] {
        let e = resolve_user(bad).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad}");
    }
}

#[test]
fn etags() {
    assert_eq!(etag(0), "W/\"0\"");
    assert_eq!(etag(42), "W/\"42\"");
    assert!(matches(&etag(42), 42));
    assert!(matches("\"42\"", 42));
    assert!(matches(" W/\"1\" , W/\"42\" ", 42));
    assert!(matches("*", 1));
    assert!(matches("W/\"1\", *", 7));
    assert!(!matches("W/\"41\"", 42));
    assert!(!matches("", 42));
    assert!(!matches("W/\"\"", 42));
    assert!(!matches("W/\"abc\"", 42));
}

#[test]
fn date_times() {
    let t = datetime::parse("2011-05-13T04:42:34Z").unwrap();
    assert_eq!(datetime::format(t), "2011-05-13T04:42:34.000Z");
    let t = datetime::parse("2011-05-13T06:42:34.1234+02:00").unwrap();
    assert_eq!(datetime::format(t), "2011-05-13T04:42:34.123Z");
    let t = datetime::parse("2011-05-13T04:42:34").unwrap();
    assert_eq!(datetime::format(t), "2011-05-13T04:42:34.000Z");
    let t = datetime::parse("2011-05-12T23:00:00-05:30").unwrap();
    assert_eq!(datetime::format(t), "2011-05-13T04:30:00.000Z");
    for bad in [
        "",
        "2011-05-13",
        "04:42:34",
        "2011-05-13T04:42:34+0200",
        "now",
        "2011-02-30T00:00:00Z",
    ] {
        assert!(datetime::parse(bad).is_none(), "{bad}");
    }
    // The canonical form sorts chronologically.
    let a = datetime::format(datetime::parse("2011-05-13T04:42:34.9Z").unwrap());
    let b = datetime::format(datetime::parse("2011-05-13T04:42:35Z").unwrap());
    let c = datetime::format(datetime::parse("2011-05-13T06:00:00+02:00").unwrap());
    assert!(a < b && c < a, "{a} {b} {c}");
}

#[test]
fn representation_order_and_meta() {
    let r = Registry::new();
    let mut stored = user();
    stored.insert("externalId".into(), json!("E1"));
    let t = time::macros::datetime!(2024-05-13 04:42:34.5 UTC);
    let t2 = time::macros::datetime!(2024-05-14 00:00:00 +02:00);
    let out = representation(
        &r.user,
        "https://example.com/scim/v2",
        "u1",
        &stored,
        vec![("groups".into(), json!([])), ("x".into(), json!(null))],
        &Meta {
            created: t,
            last_modified: t2,
            version: 7,
        },
    );
    let keys: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "schemas",
            "id",
            "externalId",
            "userName",
            "name",
            "displayName",
            "active",
            "emails",
            "addresses",
            URN_ENTERPRISE,
            "meta"
        ]
    );
    assert_eq!(
        out["meta"],
        json!({
            "resourceType": "User",
            "created": "2024-05-13T04:42:34.500Z",
            "lastModified": "2024-05-13T22:00:00.000Z",
            "location": "https://example.com/scim/v2/Users/u1",
            "version": "W/\"7\""
        })
    );
    // Without stored schemas, the core URN alone.
    let out = representation(
        &r.group,
        "b",
        "g1",
        &serde_json::Map::new(),
        vec![],
        &Meta {
            created: t,
            last_modified: t,
            version: 1,
        },
    );
    assert_eq!(out["schemas"], json!([URN_GROUP]));
    assert_eq!(out["meta"]["location"], json!("b/Groups/g1"));
}

#[test]
fn error_body() {
    let e = ScimError::invalid_filter("bad");
    assert_eq!(
        e.to_json(),
        json!({"schemas": [URN_ERROR], "status": "400", "scimType": "invalidFilter", "detail": "bad"})
    );
    let e = ScimError::not_found("gone");
    assert_eq!(
        e.to_json(),
        json!({"schemas": [URN_ERROR], "status": "404", "detail": "gone"})
    );
    assert_eq!(ScimError::uniqueness("dup").status, 409);
    assert_eq!(ScimError::too_many("x").to_string(), "400 tooMany: x");
    assert_eq!(ScimError::internal("x").to_string(), "500: x");
}

#[test]
fn service_provider_config_announces_capabilities() {
    let caps = Capabilities {
        max_payload_size: 1_000_000,
        max_results: 1000,
        default_page_size: 100,
        bulk_max_operations: 10,
        bulk_max_payload_size: 100,
        bulk_supported: false,
    };
    let spc = service_provider_config("https://x", &caps);
    assert_eq!(spc["bulk"]["supported"], json!(false));
    assert_eq!(spc["bulk"]["maxOperations"], json!(0));
    assert_eq!(spc["filter"]["maxResults"], json!(1000));
    assert_eq!(spc["patch"]["supported"], json!(true));
    assert_eq!(
        spc["meta"]["location"],
        json!("https://x/ServiceProviderConfig")
    );
    let spc = service_provider_config(
        "https://x",
        &Capabilities {
            bulk_max_payload_size: 100,
            bulk_supported: true,
            ..caps
        },
    );
    assert_eq!(spc["bulk"]["maxOperations"], json!(10));
}

#[test]
fn registry_schema_characteristics() {
    let r = Registry::new();
    assert_eq!(r.schemas().len(), 4);
    assert!(r.schema(&URN_ENTERPRISE.to_uppercase()).is_some());
    let u = &r.user.schema;
    assert!(u.attribute("username").unwrap().required);
    let pw = u.attribute("password").unwrap();
    assert_eq!(
        (pw.mutability, pw.returned),
        (Mutability::WriteOnly, Returned::Never)
    );
    let groups = u.attribute("groups").unwrap();
    assert_eq!(groups.mutability, Mutability::ReadOnly);
    assert!(groups
        .sub_attributes
        .iter()
        .all(|s| s.mutability == Mutability::ReadOnly));
    assert!(r.common_attribute("externalId").unwrap().case_exact);
    assert_eq!(r.common_attribute("id").unwrap().returned, Returned::Always);
    // Every multi-valued attribute with `primary` has it as a boolean.
    for a in u.attributes.iter().filter(|a| a.multi_valued) {
        if let Some(p) = a.sub("primary") {
            assert_eq!(p.ty, crate::schema::AttrType::Boolean, "{}", a.name);
        }
    }
    // The schema documents round-trip the characteristics.
    let j = r.user.schema.to_json("https://x");
    let attrs = j["attributes"].as_array().unwrap();
    let pwj = attrs.iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!(pwj["mutability"], "writeOnly");
    assert_eq!(pwj["returned"], "never");
    let rt = r.user.to_json("https://x");
    assert_eq!(rt["schemaExtensions"].as_array().unwrap().len(), 2);
    assert_eq!(rt["schema"], URN_USER);
}
