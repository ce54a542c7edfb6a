//! The rule of text (`crate::text`): control characters and lengths, on
//! their own and wherever a client's string enters — resources, PATCH,
//! filters, Bulk and list parameters.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{assert_err, min_user_body, patch_user, user};
use crate::bulk;
use crate::list::{parse_list_query, PageLimits, RawListParams};
use crate::patch::{parse_request, split_members};
use crate::resource::normalize;
use crate::schema::{Registry, URN_ENTERPRISE, URN_GROUP, URN_USER};
use crate::text::{
    breaks_line, check, check_chars, check_json, is_forbidden, TextRule, BINARY_MAX, LABEL_MAX,
    NAME_MAX, TEXT_MAX,
};
use crate::ScimType;

fn norm_user(body: Value) -> crate::ScimResult<serde_json::Map<String, Value>> {
    normalize(&Registry::new().user, &body)
}

fn with(attr: &str, value: Value) -> Value {
    let mut b = min_user_body();
    b[attr] = value;
    b
}

/// Every control character a client string may not hold anywhere.
fn forbidden() -> Vec<char> {
    ('\u{0}'..='\u{1f}')
        .chain(['\u{7f}'])
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

#[test]
fn control_characters_are_refused_but_tab_lf_cr_in_free_text() {
    for c in forbidden() {
        let s = format!("a{c}b");
        for rule in [
            TextRule::NAME,
            TextRule::LABEL,
            TextRule::TEXT,
            TextRule::BINARY,
        ] {
            let e = check("title", &s, rule).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
            assert!(
                e.detail
                    .contains(&format!("U+{:04X} at character 2", u32::from(c))),
                "{}",
                e.detail
            );
            assert!(!e.detail.contains(c), "the detail does not repeat it");
        }
        assert!(is_forbidden(c) && breaks_line(c));
    }
    for c in ['\t', '\n', '\r'] {
        let s = format!("line one{c}line two");
        assert!(check("title", &s, TextRule::TEXT).is_ok());
        let e = check("userName", &s, TextRule::NAME).unwrap_err();
        assert!(e.detail.contains("single line"), "{}", e.detail);
        assert!(!is_forbidden(c) && breaks_line(c));
    }
}

#[test]
fn other_characters_are_text() {
    // Lone combining marks, emoji (4 bytes each), joiners, C1 controls,
    // the byte-order mark and private-use characters are no control of C0.
    for s in [
        "\u{301}",
        "\u{301}\u{308}\u{20dd}",
        "😀",
        "👩‍👩‍👧",
        "\u{200d}\u{200b}",
        "\u{85}\u{9b}",
        "\u{feff}x",
        "\u{e000}",
        "Zoë Ångström",
        "",
    ] {
        assert!(check("userName", s, TextRule::NAME).is_ok(), "{s:?}");
        assert!(check_chars("userName", s).is_ok(), "{s:?}");
    }
}

#[test]
fn lengths_are_counted_in_characters_up_to_the_rule() {
    for (rule, max) in [
        (TextRule::NAME, NAME_MAX),
        (TextRule::LABEL, LABEL_MAX),
        (TextRule::TEXT, TEXT_MAX),
        (TextRule::BINARY, BINARY_MAX),
    ] {
        assert!(check("a", &"x".repeat(max), rule).is_ok());
        // Four bytes each: the limit is characters, not bytes.
        assert!(check("a", &"😀".repeat(max), rule).is_ok());
        let e = check("displayName", &"é".repeat(max + 1), rule).unwrap_err();
        assert_eq!(
            e.detail,
            format!(
                "'displayName' is {} characters long; it holds at most {max}",
                max + 1
            )
        );
    }
    assert_eq!((NAME_MAX, LABEL_MAX, TEXT_MAX), (256, 64, 1024));
}

#[test]
fn a_json_document_is_checked_everywhere_and_the_place_named() {
    assert!(check_json("the body", &user_body_value()).is_ok());
    let cases = [
        (json!("a\u{0}"), "'the body' holds"),
        (json!({"title": "x\u{1}"}), "'title' holds"),
        (
            json!({"Operations": [{"op": "add"}, {"value": {"title": "\u{7f}"}}]}),
            "'Operations[1].value.title' holds",
        ),
        (
            json!({"emails": [{"va\u{0}lue": 1}]}),
            "'a member name in emails[0]' holds",
        ),
        (json!({"\u{1b}": 1}), "'a member name of the body' holds"),
    ];
    for (doc, words) in cases {
        let e = check_json("the body", &doc).unwrap_err();
        assert!(e.detail.starts_with(words), "{doc}: {}", e.detail);
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }
    // Numbers, booleans and null hold no text; TAB, LF, CR are free text.
    assert!(check_json("b", &json!({"a": [1, true, null, "x\ty\r\n"]})).is_ok());
}

fn user_body_value() -> Value {
    Value::Object(user())
}

#[test]
fn each_attribute_keeps_to_its_announced_limit() {
    let long = |n: usize| "a".repeat(n);
    let emails = |v: &str, t: &str| json!([{"value": v, "type": t}]);
    let ent = |k: &str, v: String| json!({"schemas": [URN_USER, URN_ENTERPRISE], "userName": "u", URN_ENTERPRISE: {k: v}});
    let ok = [
        with("userName", json!(long(256))),
        with("externalId", json!(long(256))),
        with("displayName", json!(long(256))),
        with("title", json!(long(1024))),
        with("emails", emails(&long(256), &long(64))),
        with("name", json!({"formatted": long(1024)})),
        with("x509Certificates", json!([{"value": "QUJD".repeat(512)}])),
        ent("department", long(1024)),
    ];
    for body in ok {
        assert!(norm_user(body.clone()).is_ok(), "{body}");
    }
    let refused = [
        (
            with("userName", json!(long(257))),
            "'userName' is 257 characters long; it holds at most 256",
        ),
        (with("externalId", json!(long(257))), "'externalId' is 257"),
        (
            with("displayName", json!(long(257))),
            "'displayName' is 257",
        ),
        (
            with("title", json!(long(1025))),
            "'title' is 1025 characters long; it holds at most 1024",
        ),
        (
            with("emails", emails(&long(257), "work")),
            "'emails.value' is 257",
        ),
        (
            with("emails", emails("a@x", &long(65))),
            "'emails.type' is 65",
        ),
        (
            with("name", json!({"givenName": long(1025)})),
            "'name.givenName' is 1025",
        ),
        (
            with("x509Certificates", json!([{"value": "QUJD".repeat(513)}])),
            "'x509Certificates.value' is 2052",
        ),
        (ent("department", long(1025)), "department' is 1025"),
        (with("userName", json!(long(10_000))), "'userName' is 10000"),
    ];
    for (body, words) in refused {
        let e = assert_err(norm_user(body.clone()), ScimType::InvalidValue);
        assert!(e.detail.contains(words), "{body}: {}", e.detail);
    }
}

#[test]
fn identifiers_are_one_line_and_free_text_may_break_lines() {
    for attr in ["userName", "externalId", "displayName"] {
        let e = assert_err(norm_user(with(attr, json!("a\nb"))), ScimType::InvalidValue);
        assert!(
            e.detail
                .starts_with(&format!("'{attr}' holds the control character U+000A")),
            "{}",
            e.detail
        );
    }
    let e = assert_err(
        norm_user(with("emails", json!([{"value": "a@x\t"}]))),
        ScimType::InvalidValue,
    );
    assert!(e.detail.starts_with("'emails.value'"), "{}", e.detail);
    let out = norm_user(with("title", json!("Head of\r\nThings\t(acting)"))).unwrap();
    assert_eq!(out["title"], "Head of\r\nThings\t(acting)");
    let addr = json!([{"formatted": "100 Universal City Plaza\nHollywood, CA 91608"}]);
    assert!(norm_user(with("addresses", addr)).is_ok());
}

#[test]
fn a_control_character_anywhere_in_a_resource_is_refused() {
    let bodies = [
        with("title", json!("x\u{0}")),
        with("name", json!({"givenName": "\u{7}"})),
        with("emails", json!([{"value": "a@x", "display": "\u{1f}"}])),
        // Values the server ignores (readOnly, an undeclared extension
        // the client listed) are refused all the same.
        with("groups", json!([{"value": "\u{0}"}])),
        json!({"schemas": [URN_USER, "urn:x:ext"], "userName": "u", "urn:x:ext": {"a": "\u{0}"}}),
        json!({"schemas": [URN_USER], "userName": "u", "nick\u{0}Name": "x"}),
        json!({"schemas": [URN_USER, "urn:\u{0}"], "userName": "u"}),
        json!({"schemas": [URN_USER, URN_ENTERPRISE], "userName": "u", URN_ENTERPRISE: {"manager": "\u{7f}"}}),
    ];
    for body in bodies {
        assert_err(norm_user(body.clone()), ScimType::InvalidValue);
    }
    let r = Registry::new();
    let group =
        json!({"schemas": [URN_GROUP], "displayName": "G", "members": [{"value": "\u{0}"}]});
    assert_err(normalize(&r.group, &group), ScimType::InvalidValue);
    let group = json!({"schemas": [URN_GROUP], "displayName": "x".repeat(257)});
    assert_err(normalize(&r.group, &group), ScimType::InvalidValue);
}

#[test]
fn a_patch_is_held_to_the_same_rule() {
    let res = user();
    let refused = [
        json!([{"op": "replace", "path": "title", "value": "a\u{0}b"}]),
        json!([{"op": "replace", "path": "userName", "value": "x".repeat(257)}]),
        json!([{"op": "add", "value": {"displayName": "a\nb"}}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "x".repeat(300)}]}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "\u{1}"}]),
        json!([{"op": "remove", "path": "emails[value eq \"\u{0}\"]"}]),
        // A NUL the filter's own escape makes.
        json!([{"op": "remove", "path": "emails[value eq \"a\\u0000\"]"}]),
        json!([{"op": "replace", "path": "title\u{0}", "value": "x"}]),
        json!([{"op": "replace\u{0}", "path": "title", "value": "x"}]),
    ];
    for ops in refused {
        assert_err(patch_user(&res, ops.clone()), ScimType::InvalidValue);
    }
    let fine = patch_user(
        &res,
        json!([{"op": "replace", "path": "title", "value": "line\nbreak ❤️\u{301}"}]),
    )
    .unwrap();
    assert_eq!(fine["title"], "line\nbreak ❤️\u{301}");
}

#[test]
fn member_references_are_names() {
    let r = Registry::new();
    let refused = [
        json!([{"op": "add", "path": "members", "value": [{"value": "x".repeat(257)}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": "a", "display": "d".repeat(1025)}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", "x".repeat(257))}]),
        json!([{"op": "remove", "path": "members[value eq \"a\\u0000\"]"}]),
    ];
    for ops in refused {
        let parsed = parse_request(&super::patch_body(ops.clone()));
        let r = parsed.and_then(|ops| split_members(&r.group, ops));
        assert_err(r, ScimType::InvalidValue);
    }
}

fn list(filter: &str) -> crate::ScimResult<crate::list::ListQuery> {
    let r = Registry::new();
    let raw = RawListParams::from_pairs([("filter", filter)]);
    parse_list_query(&r, &r.user, &raw, PageLimits::default())
}

#[test]
fn filter_literals_keep_to_the_attributes_rule() {
    for f in [
        "userName eq \"a\u{0}\"",
        "userName eq \"a\\u0000\"",
        "title co \"\\u007f\"",
        "emails[value sw \"\\u0001\"]",
        "emails.value eq \"\\u001b\"",
        "schemas eq \"urn:\\u0000\"",
        "meta.created gt \"\\u0000\"",
    ] {
        let e = assert_err(list(f), ScimType::InvalidValue);
        assert!(e.detail.contains("control character"), "{f}: {}", e.detail);
    }
    let long = "x".repeat(257);
    let e = assert_err(
        list(&format!("userName eq \"{long}\"")),
        ScimType::InvalidValue,
    );
    assert!(
        e.detail.contains("'userName' is 257 characters long"),
        "{}",
        e.detail
    );
    assert_err(
        list(&format!("emails[value eq \"{long}\"]")),
        ScimType::InvalidValue,
    );
    assert_err(list("userName eq \"a\\nb\""), ScimType::InvalidValue);
    // Free text may be searched for with its line breaks; long text too.
    assert!(list("title eq \"a\\nb\"").is_ok());
    assert!(list(&format!("title eq \"{long}\"")).is_ok());
    assert!(list("userName eq \"\u{301}😀\"").is_ok());
    // Other list parameters hold no control character either.
    let r = Registry::new();
    for (k, v) in [
        ("sortBy", "userName\u{0}"),
        ("attributes", "\u{7}"),
        ("cursor", "\u{0}"),
    ] {
        let raw = RawListParams::from_pairs([(k, v)]);
        let e = assert_err(
            parse_list_query(&r, &r.user, &raw, PageLimits::default()),
            ScimType::InvalidValue,
        );
        assert!(e.detail.starts_with(&format!("'{k}'")), "{}", e.detail);
    }
    for body in [
        json!({"schemas": [crate::schema::URN_SEARCH], "attribu\u{0}tes": ["userName"]}),
        json!({"schemas": [crate::schema::URN_SEARCH], "attributes": ["userName", "\u{7f}"]}),
    ] {
        assert_err(
            RawListParams::from_search_body(&body),
            ScimType::InvalidValue,
        );
    }
}

#[test]
fn a_bulk_operation_that_breaks_the_rule_fails_alone() {
    let body = json!({
        "schemas": [bulk::URN_BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [URN_USER], "userName": "ok"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [URN_USER], "userName": "x", "title": "\u{0}"}},
            {"method": "DELETE", "path": "/Users/\u{0}"},
            {"method": "POST", "path": "/Users", "bulkId": "c".repeat(257), "data": {"schemas": [URN_USER], "userName": "y"}},
        ]
    });
    let req = bulk::parse(body, 10).unwrap();
    assert!(req.ops[0].parsed.is_ok());
    for op in &req.ops[1..] {
        let e = op.parsed.as_ref().unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{e}");
    }
    let envelope = json!({"schemas": [bulk::URN_BULK_REQUEST, "\u{0}"], "Operations": []});
    assert_err(bulk::parse(envelope, 10), ScimType::InvalidValue);
}

// ------------------------------------------------------------ properties

/// Strings a hostile client sends: controls, DEL, line breaks, combining
/// marks, emoji and plain text, at lengths around the limits.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9@._ -]{0,8}",
        1 => prop::sample::select(forbidden()).prop_map(String::from),
        1 => prop::sample::select(vec!['\t', '\n', '\r']).prop_map(String::from),
        1 => prop::sample::select(vec!["\u{301}", "😀", "\u{200d}", "é", "\u{85}"]).prop_map(String::from),
    ];
    let short = prop::collection::vec(piece, 0..6).prop_map(|v| v.concat());
    prop_oneof![
        6 => short,
        1 => (60usize..70).prop_map(|n| "t".repeat(n)),
        1 => (250usize..262).prop_map(|n| "n".repeat(n)),
        1 => (1020usize..1030).prop_map(|n| "😀".repeat(n)),
        1 => Just("x".repeat(10_000)),
    ]
}

/// What the rule says of `s`, computed the slow way.
fn oracle(s: &str, rule: TextRule) -> bool {
    let refused = |c: char| {
        let c = u32::from(c);
        (c < 0x20 && (!matches!(c, 0x09 | 0x0a | 0x0d) || rule.single_line)) || c == 0x7f
    };
    !s.chars().any(refused) && s.chars().count() <= rule.max_chars
}

/// The attributes a property test puts a string in, with the rule each
/// keeps to.
fn attrs() -> Vec<(&'static str, TextRule)> {
    vec![
        ("userName", TextRule::NAME),
        ("externalId", TextRule::NAME),
        ("displayName", TextRule::NAME),
        ("title", TextRule::TEXT),
        ("nickName", TextRule::TEXT),
        ("name.givenName", TextRule::TEXT),
        ("emails.value", TextRule::NAME),
        ("emails.type", TextRule::LABEL),
        ("addresses.formatted", TextRule::TEXT),
        ("department", TextRule::TEXT),
    ]
}

/// A User body with `s` at `attr`.
fn body_with(attr: &str, s: &str) -> Value {
    let mut b = json!({"schemas": [URN_USER, URN_ENTERPRISE], "userName": "u"});
    match attr {
        "name.givenName" => b["name"] = json!({"givenName": s}),
        "emails.value" => b["emails"] = json!([{"value": s}]),
        "emails.type" => b["emails"] = json!([{"value": "a@x", "type": s}]),
        "addresses.formatted" => b["addresses"] = json!([{"formatted": s}]),
        "department" => b[URN_ENTERPRISE] = json!({"department": s}),
        a => b[a] = json!(s),
    }
    b
}

/// The PATCH that sets `attr` to `s`.
fn patch_with(attr: &str, s: &str) -> Value {
    let (path, value) = match attr {
        "emails.value" => ("emails".to_string(), json!([{"value": s}])),
        "emails.type" => ("emails".to_string(), json!([{"value": "a@x", "type": s}])),
        "addresses.formatted" => ("addresses".to_string(), json!([{"formatted": s}])),
        "department" => (format!("{URN_ENTERPRISE}:department"), json!(s)),
        a => (a.to_string(), json!(s)),
    };
    json!([{"op": "replace", "path": path, "value": value}])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_rule_is_what_it_says(s in hostile()) {
        for rule in [TextRule::NAME, TextRule::LABEL, TextRule::TEXT] {
            let got = check("a", &s, rule);
            prop_assert_eq!(got.is_ok(), oracle(&s, rule), "{:?} under {:?}", s, rule);
            if let Err(e) = got {
                prop_assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
                prop_assert_eq!(e.status, 400);
            }
        }
        prop_assert_eq!(check_chars("a", &s).is_ok(), !s.chars().any(is_forbidden));
        prop_assert_eq!(check_json("b", &json!({"k": [s.clone()]})).is_ok(), !s.chars().any(is_forbidden));
    }

    /// A create, a PATCH and a filter give the same answer for the same
    /// string in the same attribute: the rule's.
    #[test]
    fn create_patch_and_filter_agree(i in 0usize..10, s in hostile()) {
        let (attr, rule) = attrs()[i];
        // Never empty nor blank: those unassign, or miss a required value.
        let s = format!("v{s}");
        let want = oracle(&s, rule);
        let created = norm_user(body_with(attr, &s));
        let patched = patch_user(&user(), patch_with(attr, &s));
        for (what, r) in [("create", created.as_ref().err()), ("patch", patched.as_ref().err())] {
            match r {
                None => prop_assert!(want, "{} accepted {:?} in {}", what, s, attr),
                Some(e) => {
                    prop_assert!(!want, "{} refused {:?} in {}: {}", what, s, attr, e);
                    prop_assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
                }
            }
        }
        if let Ok(out) = created {
            prop_assert!(check_json("out", &Value::Object(out)).is_ok());
        }
        // A filter literal: refused by the same rule (a value no attribute
        // holds is not searched for).
        let path = match attr {
            "department" => format!("{URN_ENTERPRISE}:department"),
            a => a.to_string(),
        };
        let literal = serde_json::to_string(&s).unwrap();
        let f = list(&format!("{path} eq {literal}"));
        prop_assert_eq!(f.is_ok(), want, "filter {} eq {:?}", path, s);
    }
}
