//! The PATCH engine: `patch::parse_request` and `patch::apply` on Users.

use scim_filter_parser::PatchPath;
use serde_json::{json, Map, Value};

use super::{assert_err, canon_user, min_user_body, patch_body, patch_user, user, v, MANAGER_ID};
use crate::patch::{apply, parse_request, OpKind, PatchOp};
use crate::schema::{Registry, URN_ENTERPRISE, URN_PATCH, URN_USER};
use crate::ScimType;

fn emp(attr: &str) -> String {
    format!("{URN_ENTERPRISE}:{attr}")
}

fn bare() -> Map<String, Value> {
    canon_user(&min_user_body())
}

// ---------------------------------------------------------------- parsing

#[test]
fn parse_request_op_names_are_case_insensitive() {
    let ops = parse_request(&patch_body(json!([
        {"op": "Add", "path": "displayName", "value": "a"},
        {"op": "REPLACE", "path": "nickName", "value": "b"},
        {"op": "Remove", "path": "title"},
        {"op": "add", "value": {"title": "x"}}
    ])))
    .unwrap();
    let kinds: Vec<OpKind> = ops.iter().map(|o| o.op).collect();
    assert_eq!(
        kinds,
        [OpKind::Add, OpKind::Replace, OpKind::Remove, OpKind::Add]
    );
    assert_eq!(ops[0].raw_path.as_deref(), Some("displayName"));
    assert!(matches!(&ops[0].path, Some(PatchPath::Attr(p)) if p.name == "displayName"));
    assert_eq!(ops[3].path, None);
    assert_eq!(ops[1].value, Some(json!("b")));
    assert_eq!(ops[2].value, None);
}

#[test]
fn parse_request_member_names_are_case_insensitive() {
    let ops = parse_request(&json!({
        "SCHEMAS": [URN_PATCH],
        "operations": [{"OP": "add", "PATH": "title", "VALUE": "x"}]
    }))
    .unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].value, Some(json!("x")));
    // `schemas` is optional.
    parse_request(&json!({"Operations": [{"op": "remove", "path": "title"}]})).unwrap();
}

#[test]
fn parse_request_rejects_malformed_bodies() {
    assert_err(parse_request(&json!([])), ScimType::InvalidSyntax);
    assert_err(
        parse_request(&json!({"schemas": [URN_PATCH]})),
        ScimType::InvalidSyntax,
    );
    assert_err(
        parse_request(&patch_body(json!([]))),
        ScimType::InvalidSyntax,
    );
    assert_err(
        parse_request(&patch_body(json!({"op": "add"}))),
        ScimType::InvalidSyntax,
    );
    assert_err(
        parse_request(&patch_body(json!(["add"]))),
        ScimType::InvalidSyntax,
    );
    assert_err(
        parse_request(
            &json!({"schemas": [URN_USER], "Operations": [{"op": "remove", "path": "title"}]}),
        ),
        ScimType::InvalidSyntax,
    );
}

#[test]
fn bad_op_is_invalid_syntax() {
    for op in [
        json!("move"),
        json!("copy"),
        json!(""),
        json!(1),
        json!(null),
    ] {
        let r = parse_request(&patch_body(
            json!([{"op": op, "path": "title", "value": "x"}]),
        ));
        assert_err(r, ScimType::InvalidSyntax);
    }
    assert_err(
        parse_request(&patch_body(json!([{"path": "title", "value": "x"}]))),
        ScimType::InvalidSyntax,
    );
}

#[test]
fn add_and_replace_need_a_value() {
    for op in ["add", "replace"] {
        let e = assert_err(
            parse_request(&patch_body(json!([{"op": op, "path": "title"}]))),
            ScimType::InvalidValue,
        );
        assert!(e.detail.contains("Operations[0]"), "{e}");
    }
    // An explicit null is a value.
    parse_request(&patch_body(
        json!([{"op": "replace", "path": "title", "value": null}]),
    ))
    .unwrap();
}

#[test]
fn remove_without_path_is_no_target() {
    assert_err(
        parse_request(&patch_body(json!([{"op": "remove"}]))),
        ScimType::NoTarget,
    );
    assert_err(
        parse_request(&patch_body(json!([{"op": "remove", "path": "  "}]))),
        ScimType::NoTarget,
    );
    assert_err(
        parse_request(&patch_body(
            json!([{"op": "remove", "path": null, "value": {"title": "x"}}]),
        )),
        ScimType::NoTarget,
    );
    // apply() refuses it too, if handed one directly.
    let r = Registry::new();
    let mut res = user();
    let op = PatchOp {
        op: OpKind::Remove,
        path: None,
        raw_path: None,
        value: None,
    };
    assert_err(apply(&r, &r.user, &mut res, &[op]), ScimType::NoTarget);
}

#[test]
fn malformed_path_is_invalid_path() {
    for path in [
        json!("emails[type eq"),
        json!("emails[type eq \"work\"]]"),
        json!(5),
        json!(["title"]),
    ] {
        assert_err(
            parse_request(&patch_body(
                json!([{"op": "add", "path": path, "value": "x"}]),
            )),
            ScimType::InvalidPath,
        );
    }
}

// ---------------------------------------------------- RFC 7644 §3.5.2 examples

#[test]
fn rfc_add_pathless_emails_and_nickname() {
    // §3.5.2.1, second example (note the client's "nickname" spelling).
    let out = patch_user(
        &user(),
        json!([{
            "op": "add",
            "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b2@jensen.org", "type": "home"}], "nickname": "Babs"}
        }]),
    )
    .unwrap();
    assert_eq!(out["nickName"], json!("Babs"));
    assert!(out.get("nickname").is_none());
    // Existing values stay; the duplicate is not added twice.
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "b2@jensen.org", "type": "home"}
        ])
    );
}

#[test]
fn rfc_add_email_with_primary_clears_other_primaries() {
    let out = patch_user(
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "new@example.com", "type": "other", "primary": true}
        ])
    );
}

#[test]
fn rfc_replace_pathless() {
    // §3.5.2.3: replace without a path.
    let out = patch_user(
        &user(),
        json!([{
            "op": "replace",
            "value": {
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": true},
                    {"value": "babs@jensen.org", "type": "home"}
                ],
                "nickname": "Babs"
            }
        }]),
    )
    .unwrap();
    assert_eq!(out["nickName"], json!("Babs"));
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ])
    );
}

#[test]
fn rfc_replace_whole_multi_valued_attribute() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@example.com"}]}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "only@example.com"}]));
}

#[test]
fn rfc_remove_all_values_of_an_attribute() {
    let out = patch_user(&user(), json!([{"op": "remove", "path": "emails"}])).unwrap();
    assert!(out.get("emails").is_none());
    let out = patch_user(&user(), json!([{"op": "remove", "path": "addresses"}])).unwrap();
    assert!(out.get("addresses").is_none());
}

#[test]
fn rfc_replace_work_address_by_value_path() {
    // §3.5.2.3: replace addresses[type eq "work"] with a whole address.
    let out = patch_user(
        &user(),
        json!([{
            "op": "replace",
            "path": "addresses[type eq \"work\"]",
            "value": {
                "type": "work",
                "streetAddress": "911 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "US",
                "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
                "primary": true
            }
        }]),
    )
    .unwrap();
    let addrs = out["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 1);
    assert_eq!(addrs[0]["streetAddress"], json!("911 Universal City Plaza"));
    assert_eq!(addrs[0]["postalCode"], json!("91608"));
    assert_eq!(addrs[0]["primary"], json!(true));
}

#[test]
fn rfc_replace_work_street_address() {
    let mut res = user();
    res.insert(
        "addresses".into(),
        json!([
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
        ]),
    );
    let out = patch_user(
        &res,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
    )
    .unwrap();
    assert_eq!(
        out["addresses"],
        json!([
            {"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood"},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
        ])
    );
}

#[test]
fn rfc_remove_work_emails_ending_in_example_com() {
    let mut res = user();
    res.insert(
        "emails".into(),
        json!([
            {"value": "bjensen@example.com", "type": "work"},
            {"value": "barbara@jensen.org", "type": "work"},
            {"value": "babs@example.com", "type": "home"},
            {"value": "B.Jensen@EXAMPLE.COM", "type": "Work"}
        ]),
    );
    let out = patch_user(
        &res,
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "barbara@jensen.org", "type": "work"},
            {"value": "babs@example.com", "type": "home"}
        ])
    );
}

#[test]
fn remove_by_value_path_of_last_value_unassigns_the_attribute() {
    let res = canon_user(&json!({"userName": "u", "emails": [{"value": "a@b", "type": "work"}]}));
    let out = patch_user(
        &res,
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    )
    .unwrap();
    assert!(out.get("emails").is_none(), "{out:?}");
}

// ------------------------------------------------ op and name case handling

#[test]
fn op_case_insensitivity_in_apply() {
    let out = patch_user(
        &user(),
        json!([
            {"op": "Add", "path": "title", "value": "Tour Guide"},
            {"op": "REPLACE", "path": "displayName", "value": "Babs"},
            {"op": "rEmOvE", "path": "name.familyName"}
        ]),
    )
    .unwrap();
    assert_eq!(out["title"], json!("Tour Guide"));
    assert_eq!(out["displayName"], json!("Babs"));
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));
}

#[test]
fn attribute_names_in_paths_are_case_insensitive() {
    let out = patch_user(
        &user(),
        json!([
            {"op": "replace", "path": "DISPLAYNAME", "value": "B"},
            {"op": "replace", "path": "Name.GivenName", "value": "Barb"},
            {"op": "add", "path": "emails[type eq \"other\"].Value", "value": "o@example.com"},
            {"op": "replace", "path": "EMAILS[TYPE eq \"home\"].DISPLAY", "value": "Home"}
        ]),
    )
    .unwrap();
    assert_eq!(out["displayName"], json!("B"));
    assert_eq!(out["name"]["givenName"], json!("Barb"));
    assert!(out.get("DISPLAYNAME").is_none());
    let emails = out["emails"].as_array().unwrap();
    assert!(
        emails.contains(&json!({"type": "other", "value": "o@example.com"})),
        "{emails:?}"
    );
    assert!(
        emails.contains(&json!({"value": "babs@jensen.org", "type": "home", "display": "Home"}))
    );
}

// --------------------------------------------------------- pathless keys

#[test]
fn pathless_dotted_keys() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "value": {"name.givenName": "Jane", "name.middleName": "Q"}}]),
    )
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Jane", "familyName": "Jensen", "middleName": "Q"})
    );
    let out = patch_user(
        &bare(),
        json!([{"op": "add", "value": {"NAME.FAMILYNAME": "Doe"}}]),
    )
    .unwrap();
    assert_eq!(out["name"], json!({"familyName": "Doe"}));
}

#[test]
fn pathless_urn_keys() {
    let out = patch_user(
        &bare(),
        json!([{"op": "replace", "value": {
            emp("employeeNumber"): "42",
            emp("manager"): {"value": MANAGER_ID},
            format!("{URN_USER}:displayName"): "Core By URN"
        }}]),
    )
    .unwrap();
    assert_eq!(
        out[URN_ENTERPRISE],
        json!({"employeeNumber": "42", "manager": {"value": MANAGER_ID}})
    );
    assert_eq!(out["displayName"], json!("Core By URN"));
    assert_eq!(out["schemas"], json!([URN_USER, URN_ENTERPRISE]));
}

#[test]
fn pathless_whole_extension_object_ignores_inner_schemas() {
    let out = patch_user(
        &bare(),
        json!([{"op": "add", "value": {
            "schemas": [URN_USER, URN_ENTERPRISE],
            URN_ENTERPRISE: {"schemas": [URN_ENTERPRISE], "department": "R&D", "MANAGER": {"value": "m1"}}
        }}]),
    )
    .unwrap();
    assert_eq!(
        out[URN_ENTERPRISE],
        json!({"department": "R&D", "manager": {"value": "m1"}})
    );
    assert_eq!(out["schemas"], json!([URN_USER, URN_ENTERPRISE]));
    // Same through an explicit path naming the whole extension.
    let out = patch_user(
        &bare(),
        json!([{"op": "replace", "path": URN_ENTERPRISE, "value": {"schemas": [URN_ENTERPRISE], "costCenter": "4130"}}]),
    )
    .unwrap();
    assert_eq!(out[URN_ENTERPRISE], json!({"costCenter": "4130"}));
}

#[test]
fn pathless_extension_null_on_replace_removes_it() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "value": {URN_ENTERPRISE: null}}]),
    )
    .unwrap();
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert_eq!(out["schemas"], json!([URN_USER]));
    let out = patch_user(
        &user(),
        json!([{"op": "add", "value": {URN_ENTERPRISE: null}}]),
    )
    .unwrap();
    assert_eq!(out, user());
}

#[test]
fn pathless_read_only_attributes_are_ignored() {
    // Okta re-sends id and meta in a pathless replace.
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "value": {
            "id": "someone-else",
            "meta": {"created": "2000-01-01T00:00:00Z"},
            "groups": [{"value": "g"}],
            "displayName": "New"
        }}]),
    )
    .unwrap();
    assert!(out.get("id").is_none());
    assert!(out.get("meta").is_none());
    assert!(out.get("groups").is_none());
    assert_eq!(out["displayName"], json!("New"));
}

#[test]
fn pathless_errors() {
    let e = assert_err(
        patch_user(
            &user(),
            json!([{"op": "add", "value": {"favoriteColor": "blue"}}]),
        ),
        ScimType::InvalidValue,
    );
    assert!(e.detail.starts_with("Operations[0]"), "{e}");
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "add", "value": {"urn:example:unknown:ext": {"a": 1}}}]),
        ),
        ScimType::InvalidValue,
    );
    assert_err(
        patch_user(&user(), json!([{"op": "add", "value": "x"}])),
        ScimType::InvalidValue,
    );
    assert_err(
        patch_user(&user(), json!([{"op": "add", "value": [1]}])),
        ScimType::InvalidValue,
    );
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "add", "value": {URN_ENTERPRISE: "x"}}]),
        ),
        ScimType::InvalidValue,
    );
    assert_err(
        patch_user(&user(), json!([{"op": "add", "value": {"aéé": "x"}}])),
        ScimType::InvalidValue,
    );
}

// ------------------------------------------------------- value-path create

#[test]
fn value_path_add_creates_the_element_when_nothing_matches() {
    let out = patch_user(
        &bare(),
        json!([
            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}
        ]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([{"type": "work", "value": "w@example.com"}])
    );
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        out["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St"}])
    );
    // A second op on the same path now updates the element it created.
    let out2 = patch_user(
        &out,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w2@example.com"}]),
    )
    .unwrap();
    assert_eq!(
        out2["emails"],
        json!([{"type": "work", "value": "w2@example.com"}])
    );
}

#[test]
fn value_path_create_with_and_of_eq() {
    let out = patch_user(
        &bare(),
        json!([{"op": "add", "path": "emails[type eq \"work\" and primary eq true].value", "value": "w@x"}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([{"type": "work", "primary": true, "value": "w@x"}])
    );
}

#[test]
fn value_path_create_impossible_is_no_target() {
    for path in [
        "emails[type co \"work\"].value",
        "emails[type eq \"work\" or type eq \"home\"].value",
        "emails[not (type eq \"work\")].value",
    ] {
        assert_err(
            patch_user(
                &bare(),
                json!([{"op": "add", "path": path, "value": "w@x"}]),
            ),
            ScimType::NoTarget,
        );
    }
}

#[test]
fn value_path_filter_type_errors_are_rejected() {
    // `primary eq "maybe"` could only create an element with a non-boolean primary.
    assert_err(
        patch_user(
            &bare(),
            json!([{"op": "add", "path": "emails[primary eq \"maybe\"].value", "value": "a@b"}]),
        ),
        ScimType::InvalidPath,
    );
    // "True" is coerced, in the filter and in the element it creates.
    let out = patch_user(
        &bare(),
        json!([{"op": "add", "path": "emails[primary eq \"True\"].value", "value": "a@b"}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"primary": true, "value": "a@b"}]));
}

#[test]
fn value_path_updates_only_matching_elements() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "babs@home.org"}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@home.org", "type": "home"}
        ])
    );
}

#[test]
fn value_path_replace_with_null_removes_the_sub_attribute() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].type", "value": null}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org"}
        ])
    );
}

#[test]
fn value_path_emptying_the_attribute_leaves_no_empty_array() {
    // The last sub-attribute of the only element, replaced with null.
    let res = canon_user(&json!({"userName": "u", "emails": [{"value": "a@b"}]}));
    let out = patch_user(
        &res,
        json!([{"op": "replace", "path": "emails[value eq \"a@b\"].value", "value": null}]),
    )
    .unwrap();
    assert!(out.get("emails").is_none(), "{out:?}");
    assert_eq!(out, canon_user(&v(&out)));
    // Adding or replacing nothing through a value path on an absent attribute.
    for (op, value) in [
        ("add", json!(null)),
        ("replace", json!(null)),
        ("add", json!({})),
    ] {
        let path = if value.is_object() {
            "emails[type eq \"work\"]"
        } else {
            "emails[type eq \"work\"].value"
        };
        let out = patch_user(&bare(), json!([{"op": op, "path": path, "value": value}])).unwrap();
        assert!(out.get("emails").is_none(), "{op} {path}: {out:?}");
        assert_eq!(out, bare());
    }
}

#[test]
fn value_path_edit_does_not_leave_duplicate_elements() {
    let res = canon_user(&json!({
        "userName": "u",
        "emails": [{"value": "a@b", "type": "work"}, {"value": "a@b", "type": "home"}]
    }));
    let out = patch_user(
        &res,
        json!([{"op": "replace", "path": "emails[value eq \"a@b\"].type", "value": "work"}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "a@b", "type": "work"}]));
    assert_eq!(out, canon_user(&v(&out)));
}

#[test]
fn value_path_on_single_valued_or_simple_attribute_is_invalid_path() {
    for path in [
        "name[givenName eq \"x\"].familyName",
        "userName[value eq \"x\"]",
    ] {
        assert_err(
            patch_user(
                &user(),
                json!([{"op": "replace", "path": path, "value": "y"}]),
            ),
            ScimType::InvalidPath,
        );
    }
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].label", "value": "y"}]),
        ),
        ScimType::InvalidPath,
    );
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "path": "emails[label eq \"work\"].value", "value": "y"}]),
        ),
        ScimType::InvalidPath,
    );
}

// ---------------------------------------------------------------- manager

#[test]
fn manager_by_short_path() {
    let out = patch_user(
        &bare(),
        json!([{"op": "add", "path": "manager", "value": {"value": "m1"}}]),
    )
    .unwrap();
    assert_eq!(out[URN_ENTERPRISE], json!({"manager": {"value": "m1"}}));
    assert_eq!(out["schemas"], json!([URN_USER, URN_ENTERPRISE]));
    // replace keeps the other sub-attributes (complex merge).
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "manager", "value": {"value": "m2", "$ref": "../Users/m2"}}]),
    )
    .unwrap();
    assert_eq!(
        out[URN_ENTERPRISE]["manager"],
        json!({"value": "m2", "$ref": "../Users/m2"})
    );
}

#[test]
fn manager_by_full_urn_path() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": emp("manager"), "value": {"value": "m9", "displayName": "ignored"}}]),
    )
    .unwrap();
    assert_eq!(out[URN_ENTERPRISE]["manager"], json!({"value": "m9"}));
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": emp("manager.value"), "value": "m8"}]),
    )
    .unwrap();
    assert_eq!(out[URN_ENTERPRISE]["manager"], json!({"value": "m8"}));
}

#[test]
fn manager_removal() {
    for path in [emp("manager"), "manager".to_string(), emp("manager.value")] {
        let out = patch_user(&user(), json!([{"op": "remove", "path": path}])).unwrap();
        assert_eq!(
            out[URN_ENTERPRISE],
            json!({"employeeNumber": "701984"}),
            "{path}"
        );
    }
    // Removing the last extension attribute drops the extension and its schema URN.
    let res = canon_user(&json!({"userName": "u", URN_ENTERPRISE: {"manager": {"value": "m"}}}));
    let out = patch_user(&res, json!([{"op": "remove", "path": emp("manager")}])).unwrap();
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert_eq!(out["schemas"], json!([URN_USER]));
}

#[test]
fn manager_replace_with_null() {
    for path in [emp("manager"), "manager".to_string()] {
        let out = patch_user(
            &user(),
            json!([{"op": "replace", "path": path, "value": null}]),
        )
        .unwrap();
        assert_eq!(out[URN_ENTERPRISE], json!({"employeeNumber": "701984"}));
    }
    let res = canon_user(&json!({"userName": "u", URN_ENTERPRISE: {"manager": {"value": "m"}}}));
    let out = patch_user(
        &res,
        json!([{"op": "replace", "path": emp("manager"), "value": null}]),
    )
    .unwrap();
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert_eq!(out["schemas"], json!([URN_USER]));
}

#[test]
fn manager_display_name_is_read_only() {
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "path": emp("manager.displayName"), "value": "Boss"}]),
        ),
        ScimType::Mutability,
    );
}

// --------------------------------------------------------- primary handling

#[test]
fn setting_primary_through_value_path_clears_the_others() {
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"value": "babs@jensen.org", "type": "home", "primary": true}
        ])
    );
}

#[test]
fn creating_a_primary_element_clears_the_others() {
    let out = patch_user(
        &user(),
        json!([{"op": "add", "path": "emails[type eq \"other\"]", "value": {"value": "o@x", "primary": "True"}}]),
    )
    .unwrap();
    let emails = out["emails"].as_array().unwrap();
    let primaries: Vec<&Value> = emails
        .iter()
        .filter(|e| e["primary"] == json!(true))
        .collect();
    assert_eq!(
        primaries,
        [&json!({"type": "other", "value": "o@x", "primary": true})]
    );
}

#[test]
fn two_primaries_in_one_add_are_invalid() {
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
        ),
        ScimType::InvalidValue,
    );
    // Setting primary on several matches at once leaves two primaries: refused.
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "path": "emails[value pr].primary", "value": true}]),
        ),
        ScimType::InvalidValue,
    );
}

// --------------------------------------------------------- remove semantics

#[test]
fn remove_of_an_absent_attribute_is_a_no_op() {
    let base = user();
    for path in [
        "nickName",
        "phoneNumbers",
        "name.middleName",
        "phoneNumbers[type eq \"pager\"]",
        "emails[type eq \"pager\"]",
        "ims.type",
    ] {
        let out = patch_user(&base, json!([{"op": "remove", "path": path}])).unwrap();
        assert_eq!(out, base, "{path}");
    }
    let b = bare();
    for path in [
        emp("employeeNumber"),
        emp("manager.value"),
        URN_ENTERPRISE.to_string(),
    ] {
        let out = patch_user(&b, json!([{"op": "remove", "path": path}])).unwrap();
        assert_eq!(out, b, "{path}: no empty extension object is left behind");
    }
}

#[test]
fn remove_with_value_list_removes_only_listed_values() {
    let mut res = user();
    res.insert(
        "emails".into(),
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "third@jensen.org", "type": "other"}
        ]),
    );
    let out = patch_user(
        &res,
        json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}, {"value": "absent@x"}]}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"],
        json!([
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "third@jensen.org", "type": "other"}
        ])
    );
    // By all given sub-attributes when no value is given.
    let out = patch_user(
        &res,
        json!([{"op": "remove", "path": "emails", "value": {"type": "other"}}]),
    )
    .unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 2);
    // Removing every listed value unassigns the attribute.
    let out = patch_user(
        &user(),
        json!([{"op": "remove", "path": "emails", "value": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]}]),
    )
    .unwrap();
    assert!(out.get("emails").is_none());
}

#[test]
fn remove_sub_attribute_of_multi_valued_attribute_everywhere() {
    let out = patch_user(&user(), json!([{"op": "remove", "path": "emails.type"}])).unwrap();
    assert_eq!(
        out["emails"],
        json!([{"value": "bjensen@example.com", "primary": true}, {"value": "babs@jensen.org"}])
    );
}

#[test]
fn remove_sub_attributes_of_complex_attribute() {
    let out = patch_user(&user(), json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let out = patch_user(
        &user(),
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
    )
    .unwrap();
    assert!(out.get("name").is_none());
}

#[test]
fn remove_required_attribute_is_invalid_value() {
    let e = assert_err(
        patch_user(&user(), json!([{"op": "remove", "path": "userName"}])),
        ScimType::InvalidValue,
    );
    assert!(e.detail.contains("userName"), "{e}");
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "path": "userName", "value": null}]),
        ),
        ScimType::InvalidValue,
    );
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "value": {"userName": null}}]),
        ),
        ScimType::InvalidValue,
    );
    // Removing and re-adding within one request is fine: required is checked at the end.
    let out = patch_user(
        &user(),
        json!([{"op": "remove", "path": "userName"}, {"op": "add", "path": "userName", "value": "babs"}]),
    )
    .unwrap();
    assert_eq!(out["userName"], json!("babs"));
}

#[test]
fn remove_of_a_whole_extension() {
    let out = patch_user(&user(), json!([{"op": "remove", "path": URN_ENTERPRISE}])).unwrap();
    assert!(out.get(URN_ENTERPRISE).is_none());
    assert_eq!(out["schemas"], json!([URN_USER]));
}

// --------------------------------------------------------- errors by target

#[test]
fn read_only_targets_are_mutability_errors() {
    for path in [
        "id",
        "groups",
        "meta.created",
        "meta",
        "groups[value eq \"g1\"]",
        "groups.display",
        "meta.version",
    ] {
        for op in ["add", "replace"] {
            let e = assert_err(
                patch_user(&user(), json!([{"op": op, "path": path, "value": "x"}])),
                ScimType::Mutability,
            );
            assert!(e.detail.contains("read-only"), "{op} {path}: {e}");
        }
        assert_err(
            patch_user(&user(), json!([{"op": "remove", "path": path}])),
            ScimType::Mutability,
        );
    }
}

#[test]
fn unknown_attribute_path_is_invalid_path() {
    for path in [
        "favoriteColor".to_string(),
        "name.nickName".to_string(),
        "emails.label".to_string(),
        "displayName.value".to_string(),
        emp("shoeSize"),
        "urn:example:unknown:2.0:User:attr".to_string(),
        format!("{URN_ENTERPRISE}.employeeNumber"),
        "members".to_string(),
    ] {
        for op in [
            json!({"op": "add", "path": path, "value": "x"}),
            json!({"op": "remove", "path": path}),
        ] {
            assert_err(patch_user(&user(), json!([op])), ScimType::InvalidPath);
        }
    }
}

#[test]
fn sub_attribute_of_multi_valued_attribute_needs_a_filter() {
    assert_err(
        patch_user(
            &user(),
            json!([{"op": "replace", "path": "emails.value", "value": "x@y"}]),
        ),
        ScimType::InvalidPath,
    );
}

#[test]
fn wrong_value_types_through_a_path_are_invalid_value() {
    for (path, value) in [
        ("active", json!("yes")),
        ("displayName", json!(3)),
        ("displayName", json!(["a"])),
        ("name", json!("Barbara")),
        ("name.givenName", json!({"x": 1})),
        ("emails", json!(["a@b"])),
        ("emails[type eq \"work\"].primary", json!("sometimes")),
        ("x509Certificates", json!([{"value": "not base64!"}])),
    ] {
        assert_err(
            patch_user(
                &user(),
                json!([{"op": "add", "path": path, "value": value}]),
            ),
            ScimType::InvalidValue,
        );
    }
}

#[test]
fn error_detail_names_the_operation_index() {
    let e = assert_err(
        patch_user(
            &user(),
            json!([{"op": "add", "path": "title", "value": "x"}, {"op": "add", "path": "nope", "value": "x"}]),
        ),
        ScimType::InvalidPath,
    );
    assert!(e.detail.starts_with("Operations[1]:"), "{e}");
}

// ------------------------------------------------------- simple attributes

#[test]
fn replace_and_add_of_simple_attributes() {
    let out = patch_user(
        &user(),
        json!([
            {"op": "replace", "path": "active", "value": "False"},
            {"op": "add", "path": "title", "value": "Tour Guide"},
            {"op": "add", "path": "externalId", "value": "E-1"},
            {"op": "add", "path": emp("employeeNumber"), "value": "7"}
        ]),
    )
    .unwrap();
    assert_eq!(out["active"], json!(false));
    assert_eq!(out["title"], json!("Tour Guide"));
    assert_eq!(out["externalId"], json!("E-1"));
    assert_eq!(out[URN_ENTERPRISE]["employeeNumber"], json!("7"));
}

#[test]
fn add_null_is_a_no_op_and_replace_null_unassigns() {
    let out = patch_user(
        &user(),
        json!([{"op": "add", "path": "displayName", "value": null}]),
    )
    .unwrap();
    assert_eq!(out, user());
    let out = patch_user(
        &user(),
        json!([{"op": "add", "path": "emails", "value": []}]),
    )
    .unwrap();
    assert_eq!(out, user());
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "displayName", "value": null}]),
    )
    .unwrap();
    assert!(out.get("displayName").is_none());
    let out = patch_user(
        &user(),
        json!([{"op": "replace", "path": "emails", "value": []}]),
    )
    .unwrap();
    assert!(out.get("emails").is_none());
}

#[test]
fn complex_add_merges_sub_attributes() {
    let out = patch_user(
        &user(),
        json!([{"op": "add", "path": "name", "value": {"middleName": "Q", "givenName": "B"}}]),
    )
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "B", "familyName": "Jensen", "middleName": "Q"})
    );
}

#[test]
fn patch_result_keeps_canonical_form() {
    let out = patch_user(
        &user(),
        json!([
            {"op": "add", "value": {"NickName": "B", "phoneNumbers": {"value": "1", "type": "work"}}},
            {"op": "replace", "path": "emails[type eq \"work\"].display", "value": "Work"},
            {"op": "remove", "path": "addresses[type eq \"work\"].locality"}
        ]),
    )
    .unwrap();
    assert_eq!(out, canon_user(&v(&out)));
    assert_eq!(out["phoneNumbers"], json!([{"value": "1", "type": "work"}]));
}

#[test]
fn group_patch_checks_required_display_name() {
    let r = Registry::new();
    let g = crate::resource::normalize(&r.group, &json!({"displayName": "Admins"})).unwrap();
    assert_err(
        super::patch_group(&g, json!([{"op": "remove", "path": "displayName"}])),
        ScimType::InvalidValue,
    );
    let out = super::patch_group(
        &g,
        json!([{"op": "replace", "value": {"displayName": "Ops", "id": "x"}}]),
    )
    .unwrap();
    assert_eq!(out["displayName"], json!("Ops"));
}

#[test]
fn removing_a_sub_attribute_everywhere_does_not_leave_duplicates() {
    let res = canon_user(&json!({
        "userName": "u",
        "emails": [{"value": "a@b", "type": "work"}, {"value": "a@b", "type": "home"}, {"value": "c@d"}]
    }));
    let out = patch_user(&res, json!([{"op": "remove", "path": "emails.type"}])).unwrap();
    assert_eq!(out["emails"], json!([{"value": "a@b"}, {"value": "c@d"}]));
    let out = patch_user(
        &res,
        json!([{"op": "remove", "path": "emails[value eq \"a@b\"].type"}]),
    )
    .unwrap();
    assert_eq!(out["emails"], json!([{"value": "a@b"}, {"value": "c@d"}]));
}

#[test]
fn replace_through_a_value_path_replaces_the_whole_value() {
    let mut res = user();
    res.insert(
        "addresses".into(),
        json!([{"type": "work", "streetAddress": "old", "locality": "Old Town"}, {"type": "home", "locality": "Home"}]),
    );
    let out = patch_user(
        &res,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"type": "work", "streetAddress": "new"}}]),
    )
    .unwrap();
    assert_eq!(
        out["addresses"],
        json!([{"type": "work", "streetAddress": "new"}, {"type": "home", "locality": "Home"}])
    );
    // add through the same path merges instead.
    let out = patch_user(
        &out,
        json!([{"op": "add", "path": "addresses[type eq \"work\"]", "value": {"locality": "Midtown"}}]),
    )
    .unwrap();
    assert_eq!(
        out["addresses"][0],
        json!({"type": "work", "streetAddress": "new", "locality": "Midtown"})
    );
}
