//! `resource::normalize` and the value validators behind it.

use serde_json::{json, Value};

use super::{assert_err, canon_user, user, user_body, v, MANAGER_ID};
use crate::resource::{
    is_unassigned, looks_like_urn, normalize, normalize_single, normalize_value,
};
use crate::schema::{Registry, URN_ACCESS, URN_ENTERPRISE, URN_GROUP, URN_USER};
use crate::ScimType;

fn norm(body: Value) -> crate::ScimResult<serde_json::Map<String, Value>> {
    let r = Registry::new();
    normalize(&r.user, &body)
}

#[test]
fn full_user_canonical_form() {
    let out = user();
    assert_eq!(
        v(&out),
        json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs Jensen",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "addresses": [
                {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}
            ],
            URN_ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": MANAGER_ID}},
            "schemas": [URN_USER, URN_ENTERPRISE]
        })
    );
}

#[test]
fn canonical_names_from_case_insensitive_keys() {
    let out = canon_user(&json!({
        "USERNAME": "bjensen",
        "Name": {"GIVENNAME": "Barbara", "familyname": "Jensen"},
        "Emails": [{"Value": "b@example.com", "TYPE": "work", "Primary": true}],
        "ACTIVE": false,
        "externalid": "ext-1",
        "PhoneNumbers": [{"VALUE": "555-1234", "Type": "mobile"}]
    }));
    assert_eq!(
        v(&out),
        json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "active": false,
            "externalId": "ext-1",
            "phoneNumbers": [{"value": "555-1234", "type": "mobile"}],
            "schemas": [URN_USER]
        })
    );
    // Keys come out in their schema spelling only.
    assert!(out.get("USERNAME").is_none());
    assert!(out.get("Emails").is_none());
}

#[test]
fn extension_keyed_by_urn_case_insensitively() {
    let out = canon_user(&json!({
        "userName": "u",
        URN_ENTERPRISE.to_uppercase(): {"EMPLOYEENUMBER": "42", "Department": "R&D"}
    }));
    assert_eq!(
        out.get(URN_ENTERPRISE),
        Some(&json!({"employeeNumber": "42", "department": "R&D"}))
    );
    assert!(out.get(&URN_ENTERPRISE.to_uppercase()).is_none());
    assert_eq!(out.get("schemas"), Some(&json!([URN_USER, URN_ENTERPRISE])));
}

#[test]
fn schemas_lists_only_extensions_with_data() {
    // Declared but absent, or present but empty: not listed.
    let out = canon_user(&json!({
        "schemas": [URN_USER, URN_ENTERPRISE, URN_ACCESS],
        "userName": "u",
        URN_ENTERPRISE: {},
        URN_ACCESS: {"status": "active"}
    }));
    assert_eq!(out.get("schemas"), Some(&json!([URN_USER])));
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert!(out.get(URN_ACCESS).is_none());
}

#[test]
fn read_only_attributes_are_ignored() {
    let out = canon_user(&json!({
        "id": "client-chosen",
        "meta": {"created": "2020-01-01T00:00:00Z", "version": "W/\"9\""},
        "userName": "u",
        "groups": [{"value": "g1", "display": "Admins"}],
        URN_ENTERPRISE: {"manager": {"value": "m1", "displayName": "Boss"}},
        URN_ACCESS: {"type": "viewer", "status": "banned", "roleSource": "x"}
    }));
    assert!(out.get("id").is_none());
    assert!(out.get("meta").is_none());
    assert!(out.get("groups").is_none());
    assert_eq!(out[URN_ENTERPRISE], json!({"manager": {"value": "m1"}}));
    assert_eq!(out[URN_ACCESS], json!({"type": "viewer"}));
}

#[test]
fn read_only_values_are_not_type_checked() {
    // Clients echo back what they received; a read-only value is dropped, not validated.
    let out = canon_user(&json!({"userName": "u", "groups": "nonsense", "id": 5, "meta": 7}));
    assert_eq!(v(&out), json!({"userName": "u", "schemas": [URN_USER]}));
}

#[test]
fn nulls_and_empty_values_are_dropped() {
    let out = canon_user(&json!({
        "userName": "u",
        "displayName": null,
        "emails": [],
        "phoneNumbers": [null],
        "name": {"givenName": null},
        "addresses": [{}],
        "externalId": null,
        URN_ENTERPRISE: null
    }));
    assert_eq!(v(&out), json!({"userName": "u", "schemas": [URN_USER]}));
}

#[test]
fn required_user_name_missing_is_invalid_value() {
    for body in [
        json!({"displayName": "x"}),
        json!({"userName": null}),
        json!({"schemas": [URN_USER]}),
    ] {
        let e = assert_err(norm(body.clone()), ScimType::InvalidValue);
        assert!(e.detail.contains("userName"), "{body}: {e}");
    }
}

#[test]
fn required_group_display_name_missing_is_invalid_value() {
    let r = Registry::new();
    let e = assert_err(
        normalize(&r.group, &json!({"members": []})),
        ScimType::InvalidValue,
    );
    assert!(e.detail.contains("displayName"));
    let ok = normalize(
        &r.group,
        &json!({"displayName": "Admins", "members": [{"value": "u1"}]}),
    )
    .unwrap();
    assert_eq!(
        v(&ok),
        json!({"displayName": "Admins", "members": [{"value": "u1"}], "schemas": [URN_GROUP]})
    );
}

#[test]
fn wrong_types_are_invalid_value() {
    let cases = [
        // string other than "true"/"false" for a boolean
        json!({"userName": "u", "active": "yes"}),
        json!({"userName": "u", "active": 1}),
        json!({"userName": "u", "active": "1"}),
        // number for a string
        json!({"userName": 5}),
        json!({"userName": "u", "displayName": 1.5}),
        json!({"userName": "u", "externalId": 7}),
        // array for a single-valued attribute
        json!({"userName": "u", "displayName": ["a"]}),
        json!({"userName": ["u"]}),
        json!({"userName": "u", "name": [{"givenName": "a"}, {"givenName": "b"}]}),
        // object for a string
        json!({"userName": {"value": "u"}}),
        json!({"userName": "u", "nickName": {}}),
        // string for a complex
        json!({"userName": "u", "name": "Barbara Jensen"}),
        json!({"userName": "u", "emails": ["b@example.com"]}),
        // sub-attributes
        json!({"userName": "u", "emails": [{"value": 5}]}),
        json!({"userName": "u", "emails": [{"value": ["a@b"]}]}),
        json!({"userName": "u", "emails": [{"value": "a@b", "primary": "yes"}]}),
        json!({"userName": "u", "name": {"givenName": true}}),
        // extensions
        json!({"userName": "u", URN_ENTERPRISE: "x"}),
        json!({"userName": "u", URN_ENTERPRISE: {"employeeNumber": 42}}),
        json!({"userName": "u", URN_ENTERPRISE: {"manager": 7}}),
        json!({"userName": "u", URN_ENTERPRISE: {"manager": [{"value": "a"}, {"value": "b"}]}}),
        // schemas itself
        json!({"schemas": URN_USER, "userName": "u"}),
        json!({"schemas": [1], "userName": "u"}),
    ];
    for body in cases {
        let r = norm(body.clone());
        assert!(
            matches!(&r, Err(e) if e.status == 400 && e.scim_type == Some(ScimType::InvalidValue)),
            "{body} gave {r:?}"
        );
    }
}

#[test]
fn body_must_be_an_object() {
    for body in [json!([]), json!("u"), json!(null), json!(1)] {
        assert_err(norm(body), ScimType::InvalidSyntax);
    }
}

#[test]
fn boolean_strings_are_coerced() {
    let out = canon_user(&json!({"userName": "u", "active": "True"}));
    assert_eq!(out["active"], json!(true));
    let out = canon_user(&json!({"userName": "u", "active": "FALSE"}));
    assert_eq!(out["active"], json!(false));
    let out = canon_user(&json!({
        "userName": "u",
        "emails": [{"value": "a@b", "primary": "true"}, {"value": "c@d", "primary": "False"}]
    }));
    assert_eq!(
        out["emails"],
        json!([{"value": "a@b", "primary": true}, {"value": "c@d", "primary": false}])
    );
}

#[test]
fn single_object_where_array_belongs_is_wrapped() {
    let out = canon_user(&json!({"userName": "u", "emails": {"value": "a@b", "type": "work"}}));
    assert_eq!(out["emails"], json!([{"value": "a@b", "type": "work"}]));
}

#[test]
fn duplicate_values_collapse() {
    let out = canon_user(&json!({
        "userName": "u",
        "emails": [{"value": "a@b"}, {"VALUE": "a@b"}, {"value": "c@d"}]
    }));
    assert_eq!(out["emails"], json!([{"value": "a@b"}, {"value": "c@d"}]));
}

#[test]
fn two_primaries_are_invalid_value() {
    let e = assert_err(
        norm(json!({
            "userName": "u",
            "emails": [{"value": "a@b", "primary": true}, {"value": "c@d", "primary": "True"}]
        })),
        ScimType::InvalidValue,
    );
    assert!(e.detail.contains("primary"), "{e}");
    // One primary, or primary:false on all, is fine.
    canon_user(&json!({
        "userName": "u",
        "emails": [{"value": "a@b", "primary": false}, {"value": "c@d", "primary": false}]
    }));
    // Primaries of different attributes do not interfere.
    canon_user(&json!({
        "userName": "u",
        "emails": [{"value": "a@b", "primary": true}],
        "phoneNumbers": [{"value": "1", "primary": true}],
        "addresses": [{"locality": "x", "primary": true}]
    }));
}

#[test]
fn unknown_attributes_are_invalid_value() {
    for body in [
        json!({"userName": "u", "favoriteColor": "blue"}),
        json!({"userName": "u", "name": {"nickName": "B"}}),
        json!({"userName": "u", "emails": [{"value": "a@b", "label": "x"}]}),
        json!({"userName": "u", URN_ENTERPRISE: {"shoeSize": "9"}}),
        // extension attributes belong under their URN, not at the top level
        json!({"userName": "u", "employeeNumber": "1"}),
        // `members` is a Group attribute
        json!({"userName": "u", "members": []}),
    ] {
        let e = assert_err(norm(body.clone()), ScimType::InvalidValue);
        assert!(!e.detail.is_empty(), "{body}");
    }
}

#[test]
fn non_ascii_keys_are_rejected_without_panicking() {
    // `looks_like_urn` sliced the key at byte 4, which is inside 'é' here.
    for key in ["aéé", "aééé", "ü", "日本語の属性", "ur€:x"] {
        let mut body = json!({"userName": "u"});
        body.as_object_mut().unwrap().insert(key.into(), json!("x"));
        assert_err(norm(body), ScimType::InvalidValue);
    }
    assert!(!looks_like_urn("aéé"));
    assert!(!looks_like_urn("ur€"));
    assert!(looks_like_urn("URN:x"));
    assert!(looks_like_urn("https://example.com/ext"));
    assert!(!looks_like_urn("urn:"));
}

#[test]
fn unknown_urn_key_tolerated_only_when_listed_in_schemas() {
    let ext = "urn:example:params:scim:schemas:extension:custom:2.0:User";
    // Listed (case-insensitively): silently dropped.
    let out = canon_user(&json!({
        "schemas": [URN_USER, ext.to_uppercase()],
        "userName": "u",
        ext: {"badge": 12}
    }));
    assert_eq!(v(&out), json!({"userName": "u", "schemas": [URN_USER]}));
    // Not listed: refused.
    let e = assert_err(
        norm(json!({"schemas": [URN_USER], "userName": "u", ext: {"badge": 12}})),
        ScimType::InvalidValue,
    );
    assert!(e.detail.contains(ext), "{e}");
    // No `schemas` at all: refused too.
    assert_err(
        norm(json!({"userName": "u", ext: {"badge": 12}})),
        ScimType::InvalidValue,
    );
}

#[test]
fn schemas_must_include_the_core_urn() {
    let e = assert_err(
        norm(json!({"schemas": [URN_ENTERPRISE], "userName": "u"})),
        ScimType::InvalidValue,
    );
    assert!(e.detail.contains(URN_USER), "{e}");
    assert_err(
        norm(json!({"schemas": [URN_GROUP], "userName": "u"})),
        ScimType::InvalidValue,
    );
    assert_err(
        norm(json!({"schemas": [], "userName": "u"})),
        ScimType::InvalidValue,
    );
    // Case-insensitive match, and a missing `schemas` is tolerated.
    canon_user(&json!({"schemas": [URN_USER.to_lowercase()], "userName": "u"}));
    canon_user(&json!({"userName": "u"}));
    // The key itself is case-insensitive.
    assert_err(
        norm(json!({"SCHEMAS": [URN_GROUP], "userName": "u"})),
        ScimType::InvalidValue,
    );
}

#[test]
fn binary_must_be_base64() {
    let cert = "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx";
    let out = canon_user(&json!({"userName": "u", "x509Certificates": [{"value": cert}]}));
    assert_eq!(out["x509Certificates"], json!([{"value": cert}]));
    // URL-safe alphabet, missing padding and line breaks are accepted.
    canon_user(&json!({"userName": "u", "x509Certificates": [{"value": "-_-_"}]}));
    canon_user(&json!({"userName": "u", "x509Certificates": [{"value": "YWJj\nZGVm"}]}));
    canon_user(&json!({"userName": "u", "x509Certificates": [{"value": "YWI"}]}));
    for bad in [json!("not base64!"), json!("a"), json!("%%%%"), json!(12)] {
        assert_err(
            norm(json!({"userName": "u", "x509Certificates": [{"value": bad}]})),
            ScimType::InvalidValue,
        );
    }
}

#[test]
fn date_time_validation() {
    let r = Registry::new();
    let created = r.common_attribute("meta").unwrap().sub("created").unwrap();
    for ok in [
        "2011-08-01T18:29:49.793Z",
        "2011-08-01T18:29:49Z",
        "2011-08-01T20:29:49+02:00",
        "2011-08-01T18:29:49",
    ] {
        assert_eq!(
            normalize_single(created, &json!(ok), "meta.created").unwrap(),
            Some(json!(ok)),
            "{ok}"
        );
    }
    for bad in [
        json!("2011-08-01"),
        json!("yesterday"),
        json!("2011-13-01T00:00:00Z"),
        json!(1312223389),
    ] {
        assert_err(
            normalize_single(created, &bad, "meta.created"),
            ScimType::InvalidValue,
        );
    }
}

#[test]
fn normalize_value_multi_and_single() {
    let r = Registry::new();
    let emails = r.user.schema.attribute("emails").unwrap();
    assert_eq!(
        normalize_value(emails, &json!(null), "emails").unwrap(),
        None
    );
    assert_eq!(normalize_value(emails, &json!([]), "emails").unwrap(), None);
    assert_eq!(
        normalize_value(emails, &json!([{}, null]), "emails").unwrap(),
        None
    );
    assert_eq!(
        normalize_value(emails, &json!({"value": "a"}), "emails").unwrap(),
        Some(json!([{"value": "a"}]))
    );
    let user_name = r.user.schema.attribute("USERNAME").unwrap();
    assert_eq!(user_name.name, "userName");
    assert_err(
        normalize_value(user_name, &json!(["a"]), "userName"),
        ScimType::InvalidValue,
    );
    assert_eq!(
        normalize_value(user_name, &json!("a"), "userName").unwrap(),
        Some(json!("a"))
    );
}

#[test]
fn password_is_accepted_by_normalize() {
    // writeOnly: accepted (the directory strips it before storing), never echoed.
    let out = canon_user(&json!({"userName": "u", "password": "t1meMa$heen"}));
    assert_eq!(out["password"], json!("t1meMa$heen"));
    assert_err(
        norm(json!({"userName": "u", "password": 1234})),
        ScimType::InvalidValue,
    );
}

#[test]
fn normalize_is_idempotent_on_the_fixture() {
    let once = user();
    let twice = canon_user(&v(&once));
    assert_eq!(once, twice);
    assert_eq!(v(&twice), v(&canon_user(&user_body())));
}

#[test]
fn is_unassigned_semantics() {
    assert!(is_unassigned(&json!(null)));
    assert!(is_unassigned(&json!([])));
    assert!(is_unassigned(&json!({})));
    assert!(!is_unassigned(&json!("")));
    assert!(!is_unassigned(&json!(false)));
    assert!(!is_unassigned(&json!(0)));
    assert!(!is_unassigned(&json!([null])));
}

#[test]
fn group_tolerates_declared_unknown_extension() {
    let r = Registry::new();
    let ok = normalize(
        &r.group,
        &json!({"schemas": [URN_GROUP, URN_ENTERPRISE], "displayName": "A", URN_ENTERPRISE: {"department": "x"}}),
    )
    .unwrap();
    assert_eq!(v(&ok), json!({"displayName": "A", "schemas": [URN_GROUP]}));
    assert_err(
        normalize(
            &r.group,
            &json!({"displayName": "A", URN_ENTERPRISE: {"department": "x"}}),
        ),
        ScimType::InvalidValue,
    );
    assert_err(
        normalize(&r.group, &json!({"displayName": "A", "userName": "u"})),
        ScimType::InvalidValue,
    );
}

#[test]
fn manager_shapes_sent_by_identity_providers() {
    for manager in [
        json!("m1"),
        json!({"value": "m1"}),
        json!([{"$ref": null, "value": "m1"}]),
    ] {
        let out =
            norm(json!({"userName": "u", URN_ENTERPRISE: {"manager": manager.clone()}})).unwrap();
        assert_eq!(
            out[URN_ENTERPRISE]["manager"],
            json!({"value": "m1"}),
            "{manager}"
        );
    }
    for empty in [json!(""), json!(null), json!([])] {
        let out = norm(
            json!({"userName": "u", URN_ENTERPRISE: {"manager": empty.clone(), "department": "d"}}),
        )
        .unwrap();
        assert!(out[URN_ENTERPRISE].get("manager").is_none(), "{empty}");
    }
}

#[test]
fn empty_required_string_is_missing() {
    let r = norm(json!({"userName": "  "}));
    assert!(
        matches!(&r, Err(e) if e.scim_type == Some(ScimType::InvalidValue)),
        "{r:?}"
    );
}

#[test]
fn unknown_top_level_null_is_ignored() {
    let out = norm(json!({"userName": "u", "department": null, "manager": null})).unwrap();
    assert!(out.get("department").is_none());
}
