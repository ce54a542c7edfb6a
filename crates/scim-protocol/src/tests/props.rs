//! Property tests: the canonical form is a fixed point of `normalize` and
//! of every successful PATCH; filters resolve and evaluate without panicking.

use proptest::prelude::*;
use proptest::sample::select;
use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::{json, Map, Value};

use super::{patch_body, user};
use crate::filter::{eval_element, resolve_element_filter, resolve_filter};
use crate::patch::{apply, parse_request};
use crate::resource::normalize;
use crate::schema::{Registry, URN_ENTERPRISE, URN_USER};

// ------------------------------------------------------------ helpers

fn emp(a: &str) -> String {
    format!("{URN_ENTERPRISE}:{a}")
}

/// At most one `primary: true` in every multi-valued attribute, core and extensions.
fn primaries_ok(r: &Registry, res: &Map<String, Value>) -> Result<(), String> {
    for schema in r.user.all_schemas() {
        let obj = if schema.id == r.user.schema.id {
            Some(res)
        } else {
            res.get(&schema.id).and_then(Value::as_object)
        };
        let Some(obj) = obj else { continue };
        for a in schema.attributes.iter().filter(|a| a.multi_valued) {
            if let Some(Value::Array(items)) = obj.get(&a.name) {
                let n = items
                    .iter()
                    .filter(|i| i.get("primary") == Some(&json!(true)))
                    .count();
                if n > 1 {
                    return Err(format!(
                        "{} has {n} primaries: {}",
                        a.name,
                        Value::Array(items.clone())
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The resource `normalize` gives back unchanged, with valid primaries.
fn assert_canonical(
    r: &Registry,
    res: &Map<String, Value>,
    what: &str,
) -> Result<(), TestCaseError> {
    let again = normalize(&r.user, &Value::Object(res.clone())).map_err(|e| {
        TestCaseError::fail(format!(
            "{what}: result does not normalize: {e}\n{}",
            Value::Object(res.clone())
        ))
    })?;
    prop_assert_eq!(
        Value::Object(again),
        Value::Object(res.clone()),
        "{}: normalize changed the patched resource",
        what
    );
    primaries_ok(r, res).map_err(TestCaseError::fail)?;
    Ok(())
}

// ------------------------------------------------------------ (a) PATCH

/// Operations that are meaningful for a User: (op, path, value).
fn curated_ops() -> Vec<(&'static str, Option<String>, Option<Value>)> {
    let p = |s: &str| Some(s.to_string());
    vec![
        ("add", p("displayName"), Some(json!("Babs"))),
        ("replace", p("displayName"), Some(json!("X"))),
        ("replace", p("nickName"), Some(json!("B"))),
        ("add", p("title"), Some(json!(null))),
        ("replace", p("name.givenName"), Some(json!("G"))),
        ("remove", p("name.givenName"), None),
        ("remove", p("name.familyName"), None),
        ("add", p("name"), Some(json!({"middleName": "M"}))),
        (
            "add",
            p("emails"),
            Some(json!([{"value": "a@x.org", "type": "work", "primary": true}])),
        ),
        (
            "add",
            p("emails"),
            Some(json!({"value": "B@x.org", "type": "home"})),
        ),
        (
            "add",
            p("emails"),
            Some(json!([{"value": "a@x.org", "type": "work"}])),
        ),
        (
            "replace",
            p("emails"),
            Some(json!([{"value": "a@x.org"}, {"value": "c@x.org", "primary": true}])),
        ),
        ("remove", p("emails"), None),
        ("remove", p("emails"), Some(json!([{"value": "A@X.org"}]))),
        ("remove", p("emails"), Some(json!({"type": "home"}))),
        (
            "add",
            p("emails[type eq \"work\"].value"),
            Some(json!("w@x.org")),
        ),
        (
            "replace",
            p("emails[type eq \"work\"].value"),
            Some(json!("a@x.org")),
        ),
        (
            "replace",
            p("emails[type eq \"work\"].primary"),
            Some(json!(true)),
        ),
        (
            "replace",
            p("emails[type eq \"work\"].primary"),
            Some(json!("True")),
        ),
        (
            "replace",
            p("emails[type eq \"home\"].primary"),
            Some(json!(true)),
        ),
        (
            "replace",
            p("emails[type eq \"home\"].primary"),
            Some(json!(false)),
        ),
        (
            "add",
            p("emails[type eq \"other\"]"),
            Some(json!({"value": "o@x.org", "primary": true})),
        ),
        (
            "add",
            p("emails[type eq \"work\"]"),
            Some(json!({"value": "a@x.org"})),
        ),
        (
            "replace",
            p("emails[value eq \"a@x.org\"].type"),
            Some(json!("work")),
        ),
        (
            "replace",
            p("emails[value eq \"a@x.org\"].type"),
            Some(json!("home")),
        ),
        (
            "replace",
            p("emails[value eq \"a@x.org\"].type"),
            Some(json!(null)),
        ),
        (
            "replace",
            p("emails[value eq \"a@x.org\"].value"),
            Some(json!(null)),
        ),
        ("replace", p("emails[value pr].type"), Some(json!("work"))),
        ("replace", p("emails[value pr].primary"), Some(json!(true))),
        (
            "add",
            p("emails[type eq \"work\"].value"),
            Some(json!(null)),
        ),
        ("remove", p("emails[type eq \"work\"]"), None),
        ("remove", p("emails[type eq \"work\"].value"), None),
        ("remove", p("emails.type"), None),
        ("remove", p("emails.primary"), None),
        (
            "replace",
            p("phoneNumbers[type eq \"mobile\"].value"),
            Some(json!("555")),
        ),
        (
            "add",
            p("phoneNumbers"),
            Some(json!({"value": "555", "type": "mobile", "primary": true})),
        ),
        (
            "add",
            p("addresses[type eq \"work\"].streetAddress"),
            Some(json!("1 Main")),
        ),
        (
            "replace",
            p("addresses[type eq \"work\"]"),
            Some(json!({"type": "work", "locality": "L", "primary": true})),
        ),
        (
            "remove",
            p("addresses[type eq \"work\"].streetAddress"),
            None,
        ),
        ("add", Some(emp("employeeNumber")), Some(json!("7"))),
        ("remove", Some(emp("employeeNumber")), None),
        ("replace", p("manager"), Some(json!({"value": "m1"}))),
        ("replace", Some(emp("manager")), Some(json!(null))),
        ("remove", p("manager"), None),
        ("replace", Some(emp("manager.value")), Some(json!("m2"))),
        ("remove", Some(emp("manager.value")), None),
        (
            "replace",
            Some(URN_ENTERPRISE.to_string()),
            Some(json!({"schemas": [URN_ENTERPRISE], "department": "D"})),
        ),
        ("remove", Some(URN_ENTERPRISE.to_string()), None),
        ("replace", p("active"), Some(json!("False"))),
        ("replace", p("active"), Some(json!(true))),
        (
            "add",
            None,
            Some(json!({"nickName": "N", "name.familyName": "F"})),
        ),
        (
            "replace",
            None,
            Some(
                json!({"emails": [{"value": "p@x.org", "primary": "true"}], URN_ENTERPRISE: {"costCenter": "C"}}),
            ),
        ),
        (
            "replace",
            None,
            Some(json!({"id": "x", "displayName": "Y", "meta": {}})),
        ),
        ("replace", None, Some(json!({URN_ENTERPRISE: null}))),
        (
            "add",
            None,
            Some(json!({emp("employeeNumber"): "9", "schemas": [URN_USER]})),
        ),
        (
            "replace",
            p("x509Certificates"),
            Some(json!([{"value": "YWJj"}])),
        ),
        (
            "add",
            p("emails"),
            Some(
                json!([{"value": "a@x.org", "primary": true}, {"value": "b@x.org", "primary": true}]),
            ),
        ),
        ("add", p("externalId"), Some(json!("e1"))),
        ("remove", p("externalId"), None),
        ("remove", p("userName"), None),
        ("replace", p("userName"), Some(json!("other"))),
        ("add", p("groups"), Some(json!([{"value": "g"}]))),
    ]
}

fn any_path() -> Vec<Option<String>> {
    let mut v: Vec<Option<String>> = curated_ops().into_iter().map(|(_, p, _)| p).collect();
    v.dedup();
    v
}

fn any_value() -> Vec<Option<Value>> {
    let mut v: Vec<Option<Value>> = curated_ops().into_iter().map(|(_, _, v)| v).collect();
    v.extend([
        Some(json!([])),
        Some(json!({})),
        Some(json!(1)),
        Some(json!("work")),
        Some(json!([null])),
    ]);
    v
}

fn op_json(kind: &str, path: Option<String>, value: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("op".into(), json!(kind));
    if let Some(p) = path {
        m.insert("path".into(), json!(p));
    }
    if let Some(v) = value {
        m.insert("value".into(), v);
    }
    Value::Object(m)
}

fn op_strategy() -> impl Strategy<Value = Value> {
    let curated = select(curated_ops()).prop_map(|(k, p, v)| op_json(k, p, v));
    let mixed = (
        select(vec!["add", "replace", "remove", "Add", "REPLACE"]),
        select(any_path()),
        select(any_value()),
    )
        .prop_map(|(k, p, v)| op_json(k, p, v));
    prop_oneof![3 => curated, 1 => mixed]
}

fn start_strategy() -> impl Strategy<Value = Map<String, Value>> {
    select(vec![
        user(),
        super::canon_user(&super::min_user_body()),
        super::canon_user(&json!({
            "userName": "u",
            "emails": [{"value": "a@x.org", "type": "work"}, {"value": "a@x.org", "type": "home"}, {"value": "c@x.org"}],
            "phoneNumbers": [{"value": "555", "type": "mobile"}]
        })),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (a) Every successful PATCH leaves a resource in canonical form (a fixed
    /// point of `normalize`) with at most one primary per attribute, whether
    /// the ops are sent one request at a time or all in one request.
    #[test]
    fn patch_results_are_canonical(start in start_strategy(), ops in prop::collection::vec(op_strategy(), 1..7)) {
        let r = Registry::new();
        // One request per op.
        let mut res = start.clone();
        for op in &ops {
            let Ok(parsed) = parse_request(&patch_body(json!([op]))) else { continue };
            let mut next = res.clone();
            if apply(&r, &r.user, &mut next, &parsed).is_ok() {
                assert_canonical(&r, &next, &format!("after {op}"))?;
                res = next;
            } else {
                // A failed apply may leave `next` half-done; the caller discards it.
            }
        }
        // All ops in one request.
        if let Ok(parsed) = parse_request(&patch_body(Value::Array(ops.clone()))) {
            let mut all = start.clone();
            if apply(&r, &r.user, &mut all, &parsed).is_ok() {
                assert_canonical(&r, &all, &format!("after {}", Value::Array(ops.clone())))?;
            }
        }
    }
}

// ------------------------------------------------------------ (b) filters

fn path(name: &str) -> AttrPath {
    match name.split_once('.') {
        Some((a, s)) => AttrPath {
            uri: None,
            name: a.into(),
            sub_attr: Some(s.into()),
        },
        None => AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
        },
    }
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        "[a-zA-Z@. ]{0,6}".prop_map(CompValue::String),
        "\\PC{0,4}".prop_map(CompValue::String),
        select(vec!["2011-05-13T04:42:34Z", "True", "false", ""])
            .prop_map(|s| CompValue::String(s.into())),
        any::<bool>().prop_map(CompValue::Bool),
        select(vec!["0", "1", "-2.5", "1e3", "99999999999999999999"])
            .prop_map(|s| CompValue::Number(s.into())),
        Just(CompValue::Null),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn leaf(names: Vec<&'static str>) -> BoxedStrategy<Filter> {
    let names2 = names.clone();
    prop_oneof![
        3 => (select(names), compare_op(), comp_value())
            .prop_map(|(n, op, value)| Filter::Compare { path: path(n), op, value }),
        1 => select(names2).prop_map(|n| Filter::Present(path(n))),
    ]
    .boxed()
}

fn combine(inner: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    inner
        .prop_recursive(3, 12, 2, |f| {
            prop_oneof![
                (f.clone(), f.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (f.clone(), f.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                f.prop_map(|a| Filter::Not(Box::new(a))),
            ]
        })
        .boxed()
}

fn element_filter() -> BoxedStrategy<Filter> {
    combine(leaf(vec![
        "value",
        "type",
        "primary",
        "display",
        "Value",
        "emails.type",
        "bogus",
    ]))
}

fn top_filter() -> impl Strategy<Value = Filter> {
    let top_leaf = prop_oneof![
        4 => leaf(vec!["userName", "displayName", "emails.value", "active", "emails", "USERNAME", "emails.primary"]),
        1 => element_filter().prop_map(|f| Filter::ValuePath { path: path("emails"), filter: Box::new(f) }),
    ];
    combine(top_leaf.boxed())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[a-zA-Z@. ]{0,6}".prop_map(Value::String),
        "\\PC{0,6}".prop_map(Value::String),
        select(vec!["2011-05-13T04:42:34Z", "True", "work"]).prop_map(|s| Value::String(s.into())),
        Just(json!([])),
        Just(json!({"nested": 1})),
    ]
}

fn element() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::btree_map(select(vec!["value", "type", "primary", "display", "Value", "x"]), scalar(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        1 => scalar(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (b) Random filters over userName/displayName/emails.value/active
    /// resolve or fail cleanly, and evaluating never panics.
    #[test]
    fn filters_resolve_and_evaluate_without_panicking(f in top_filter(), elems in prop::collection::vec(element(), 0..4)) {
        let r = Registry::new();
        if let Ok(cond) = resolve_filter(&r, &r.user, &f) {
            for e in &elems {
                let _ = eval_element(&cond, e);
            }
        }
    }

    /// Element filters (the inside of `emails[…]`): eval is total, `not` is
    /// the complement, and `and`/`or` are boolean.
    #[test]
    fn element_filters_evaluate_consistently(f in element_filter(), g in element_filter(), e in element()) {
        let r = Registry::new();
        let def = r.user.schema.attribute("emails").unwrap();
        let (Ok(cf), Ok(cg)) = (resolve_element_filter(def, &f), resolve_element_filter(def, &g)) else {
            return Ok(());
        };
        let a = eval_element(&cf, &e);
        let b = eval_element(&cg, &e);
        let not = resolve_element_filter(def, &Filter::Not(Box::new(f.clone()))).unwrap();
        prop_assert_eq!(eval_element(&not, &e), !a);
        let and = resolve_element_filter(def, &Filter::And(Box::new(f.clone()), Box::new(g.clone()))).unwrap();
        prop_assert_eq!(eval_element(&and, &e), a && b);
        let or = resolve_element_filter(def, &Filter::Or(Box::new(f), Box::new(g))).unwrap();
        prop_assert_eq!(eval_element(&or, &e), a || b);
    }

    /// Case-insensitive sub-attributes compare the same whatever the case of
    /// the stored value (ASCII).
    #[test]
    fn eval_is_case_insensitive_for_emails(
        op in compare_op(),
        sub in select(vec!["value", "type", "display"]),
        operand in "[a-zA-Z@.]{0,5}",
        stored in "[a-zA-Z@.]{0,6}",
    ) {
        let r = Registry::new();
        let def = r.user.schema.attribute("emails").unwrap();
        let f = Filter::Compare { path: path(sub), op, value: CompValue::String(operand) };
        let c = resolve_element_filter(def, &f).unwrap();
        let lower = eval_element(&c, &json!({ sub: stored.to_lowercase() }));
        let upper = eval_element(&c, &json!({ sub: stored.to_uppercase() }));
        prop_assert_eq!(lower, upper);
    }
}

// ------------------------------------------------------------ (c) normalize

/// Flip the case of the key's letters where `mask` says so.
fn recase(key: &str, mask: u64) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn boolish(b: bool, style: u8) -> Value {
    match style % 4 {
        0 | 1 => Value::Bool(b),
        2 => Value::String(if b { "True".into() } else { "False".into() }),
        _ => Value::String(if b { "TRUE".into() } else { "false".into() }),
    }
}

prop_compose! {
    fn email()(value in "[a-z]{1,4}@[a-z]{1,3}\\.org", ty in prop::option::of(select(vec!["work", "home", "other"])),
               display in prop::option::of("[A-Za-z ]{0,5}")) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), json!(value));
        if let Some(t) = ty { m.insert("type".into(), json!(t)); }
        if let Some(d) = display { m.insert("display".into(), json!(d)); }
        Value::Object(m)
    }
}

prop_compose! {
    fn random_user()(
        (user_name, display, given, family, active) in (
            "[a-zA-Z0-9._-]{1,10}",
            prop::option::of("\\PC{0,8}"),
            prop::option::of("[A-Za-z]{0,6}"),
            prop::option::of("[A-Za-z]{1,6}"),
            prop::option::of((any::<bool>(), any::<u8>())),
        ),
        (mut emails, primary, wrap_single) in (
            prop::collection::vec(email(), 0..4),
            prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
            any::<bool>(),
        ),
        (external, emp_no, manager) in (
            prop::option::of("[A-Za-z0-9]{1,6}"),
            prop::option::of("[0-9]{1,6}"),
            prop::option::of("[a-f0-9]{4}"),
        ),
        (nulls, mask, declare) in (any::<bool>(), any::<u64>(), any::<bool>()),
    ) -> Value {
        let mut m = Map::new();
        let k = |s: &str| recase(s, mask);
        if declare {
            m.insert(k("schemas"), json!([URN_USER.to_uppercase(), URN_ENTERPRISE]));
        }
        m.insert(k("userName"), json!(user_name));
        if let Some(d) = display { m.insert(k("displayName"), json!(d)); }
        if given.is_some() || family.is_some() {
            let mut n = Map::new();
            if let Some(g) = given { n.insert(k("givenName"), json!(g)); }
            if let Some(f) = family { n.insert(k("familyName"), json!(f)); }
            m.insert(k("name"), Value::Object(n));
        }
        if let Some((b, style)) = active { m.insert(k("active"), boolish(b, style)); }
        if let (Some((idx, style)), false) = (primary, emails.is_empty()) {
            let i = idx.index(emails.len());
            emails[i].as_object_mut().unwrap().insert(k("primary"), boolish(true, style));
        }
        if emails.len() == 1 && wrap_single {
            m.insert(k("emails"), emails.remove(0));
        } else if !emails.is_empty() {
            m.insert(k("emails"), Value::Array(emails));
        }
        if let Some(e) = external { m.insert(k("externalId"), json!(e)); }
        if emp_no.is_some() || manager.is_some() {
            let mut ext = Map::new();
            if let Some(e) = emp_no { ext.insert(k("employeeNumber"), json!(e)); }
            if let Some(mg) = manager { ext.insert(k("manager"), json!({"value": mg})); }
            m.insert(if mask & 1 == 1 { URN_ENTERPRISE.to_lowercase() } else { URN_ENTERPRISE.to_string() }, Value::Object(ext));
        }
        if nulls {
            m.insert(k("nickName"), Value::Null);
            m.insert(k("phoneNumbers"), json!([]));
            m.insert(k("id"), json!("ignored"));
            m.insert(k("groups"), json!([{"value": "g"}]));
        }
        Value::Object(m)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (c) Valid users normalize, and normalizing again changes nothing.
    #[test]
    fn normalize_is_idempotent(body in random_user()) {
        let r = Registry::new();
        let once = normalize(&r.user, &body).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        let twice = normalize(&r.user, &Value::Object(once.clone())).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&once, &twice);
        primaries_ok(&r, &once).map_err(TestCaseError::fail)?;
        // Canonical names only.
        for key in once.keys() {
            prop_assert!(
                key == "schemas" || key == "externalId" || key == URN_ENTERPRISE || r.user.schema.attributes.iter().any(|a| &a.name == key),
                "non-canonical key {}", key
            );
        }
        prop_assert!(once.get("id").is_none() && once.get("groups").is_none());
    }

    /// normalize and pathless PATCH never panic, whatever the keys.
    #[test]
    fn arbitrary_keys_never_panic(
        entries in prop::collection::btree_map("\\PC{0,6}", scalar(), 0..5),
    ) {
        let r = Registry::new();
        let mut body: Map<String, Value> = entries.into_iter().collect();
        body.insert("userName".into(), json!("u"));
        let _ = normalize(&r.user, &Value::Object(body.clone()));
        body.remove("userName");
        if let Ok(ops) = parse_request(&patch_body(json!([{"op": "add", "value": Value::Object(body)}]))) {
            let mut res = user();
            let _ = apply(&r, &r.user, &mut res, &ops);
        }
    }
}
