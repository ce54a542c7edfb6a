//! `filter::resolve_filter`, `resolve_element_filter`, `eval_element`,
//! `element_template` and `value_eq_list`.

use scim_filter_parser::{parse_filter, AttrPath, CompValue, CompareOp, Filter};
use serde_json::{json, Map, Value};

use super::assert_err;
use crate::filter::{
    element_template, eval_element, resolve_element_filter, resolve_filter, value_eq_list, Cond,
    Field, MultiAttr, Operand,
};
use crate::schema::{
    AttrType, Attribute, Mutability, Registry, Returned, Uniqueness, URN_ACCESS, URN_ENTERPRISE,
    URN_USER,
};
use crate::{ScimResult, ScimType};

fn user_cond(f: &str) -> ScimResult<Cond> {
    let r = Registry::new();
    let ast = parse_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    resolve_filter(&r, &r.user, &ast)
}

fn group_cond(f: &str) -> ScimResult<Cond> {
    let r = Registry::new();
    resolve_filter(&r, &r.group, &parse_filter(f).unwrap())
}

fn top(attr: &str, ty: AttrType, case_exact: bool) -> Field {
    Field {
        extension: None,
        attr: attr.into(),
        sub: None,
        ty,
        case_exact,
        in_element: false,
    }
}

fn elem(attr: &str, ty: AttrType) -> Field {
    Field {
        extension: None,
        attr: attr.into(),
        sub: None,
        ty,
        case_exact: false,
        in_element: true,
    }
}

fn cmp(field: Field, op: CompareOp, value: Operand) -> Cond {
    Cond::Cmp { field, op, value }
}

fn s(x: &str) -> Operand {
    Operand::Str(x.into())
}

fn any(name: &str, cond: Option<Cond>) -> Cond {
    Cond::Any {
        attr: MultiAttr {
            extension: None,
            name: name.into(),
        },
        cond: cond.map(Box::new),
    }
}

const OPS: [(&str, CompareOp); 9] = [
    ("eq", CompareOp::Eq),
    ("ne", CompareOp::Ne),
    ("co", CompareOp::Co),
    ("sw", CompareOp::Sw),
    ("ew", CompareOp::Ew),
    ("gt", CompareOp::Gt),
    ("ge", CompareOp::Ge),
    ("lt", CompareOp::Lt),
    ("le", CompareOp::Le),
];

// ------------------------------------------------------------ strings

#[test]
fn every_operator_on_a_case_insensitive_string() {
    for (name, op) in OPS {
        assert_eq!(
            user_cond(&format!("userName {name} \"BJensen\"")).unwrap(),
            cmp(top("userName", AttrType::String, false), op, s("bjensen")),
            "{name}"
        );
    }
}

#[test]
fn every_operator_on_case_exact_strings_keeps_case() {
    for (name, op) in OPS {
        for attr in ["externalId", "id"] {
            assert_eq!(
                user_cond(&format!("{attr} {name} \"AbC\"")).unwrap(),
                cmp(top(attr, AttrType::String, true), op, s("AbC")),
                "{attr} {name}"
            );
        }
    }
}

#[test]
fn attribute_names_resolve_case_insensitively_to_canonical() {
    assert_eq!(
        user_cond("USERNAME eq \"x\"").unwrap(),
        cmp(
            top("userName", AttrType::String, false),
            CompareOp::Eq,
            s("x")
        )
    );
    assert_eq!(
        user_cond("Name.GivenName sw \"Ba\"").unwrap(),
        cmp(
            Field {
                sub: Some("givenName".into()),
                ..top("name", AttrType::String, false)
            },
            CompareOp::Sw,
            s("ba")
        )
    );
    assert_eq!(
        user_cond(&format!("{URN_USER}:userName eq \"X\"")).unwrap(),
        cmp(
            top("userName", AttrType::String, false),
            CompareOp::Eq,
            s("x")
        )
    );
}

#[test]
fn reference_attribute_compares_as_string() {
    assert_eq!(
        user_cond("profileUrl sw \"HTTPS://\"").unwrap(),
        cmp(
            top("profileUrl", AttrType::Reference, false),
            CompareOp::Sw,
            s("https://")
        )
    );
}

#[test]
fn string_compared_with_non_string_is_invalid_filter() {
    for f in [
        "userName eq 5",
        "userName eq true",
        "displayName gt 1.5",
        "emails.value eq false",
        "externalId eq 1",
    ] {
        assert_err(user_cond(f), ScimType::InvalidFilter);
    }
}

// ------------------------------------------------------------ booleans

#[test]
fn boolean_eq_and_ne() {
    let active = top("active", AttrType::Boolean, false);
    assert_eq!(
        user_cond("active eq true").unwrap(),
        cmp(active.clone(), CompareOp::Eq, Operand::Bool(true))
    );
    assert_eq!(
        user_cond("active ne FALSE").unwrap(),
        cmp(active.clone(), CompareOp::Ne, Operand::Bool(false))
    );
    assert_eq!(
        user_cond("active eq \"True\"").unwrap(),
        cmp(active.clone(), CompareOp::Eq, Operand::Bool(true))
    );
    assert_eq!(
        user_cond("active eq \"false\"").unwrap(),
        cmp(active, CompareOp::Eq, Operand::Bool(false))
    );
}

#[test]
fn boolean_with_other_operators_or_operands_is_invalid_filter() {
    for (name, op) in OPS {
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            continue;
        }
        assert_err(
            user_cond(&format!("active {name} true")),
            ScimType::InvalidFilter,
        );
        assert_err(
            user_cond(&format!("emails.primary {name} true")),
            ScimType::InvalidFilter,
        );
    }
    for f in [
        "active eq 1",
        "active eq \"yes\"",
        "active eq \"\"",
        "emails[primary eq 0]",
    ] {
        assert_err(user_cond(f), ScimType::InvalidFilter);
    }
}

// ------------------------------------------------------------ dateTime

#[test]
fn date_time_operand_is_canonical() {
    let lm = Field {
        sub: Some("lastModified".into()),
        ..top("meta", AttrType::DateTime, false)
    };
    assert_eq!(
        user_cond("meta.lastModified gt \"2011-05-13T04:42:34Z\"").unwrap(),
        cmp(lm.clone(), CompareOp::Gt, s("2011-05-13T04:42:34.000Z"))
    );
    // Offsets are converted to UTC; a missing offset means UTC.
    assert_eq!(
        user_cond("meta.lastModified le \"2011-05-13T06:42:34.5+02:00\"").unwrap(),
        cmp(lm.clone(), CompareOp::Le, s("2011-05-13T04:42:34.500Z"))
    );
    assert_eq!(
        user_cond("META.LASTMODIFIED eq \"2011-05-13T04:42:34\"").unwrap(),
        cmp(lm, CompareOp::Eq, s("2011-05-13T04:42:34.000Z"))
    );
}

#[test]
fn date_time_errors() {
    for f in [
        "meta.lastModified gt \"yesterday\"",
        "meta.lastModified gt \"2011-05-13\"",
        "meta.lastModified gt 1305261754",
        "meta.lastModified co \"2011\"",
        "meta.lastModified sw \"2011\"",
        "meta.created ew \"Z\"",
        "meta.created eq true",
    ] {
        assert_err(user_cond(f), ScimType::InvalidFilter);
    }
}

// ------------------------------------------------------------ null

#[test]
fn null_comparisons() {
    let dn = top("displayName", AttrType::String, false);
    assert_eq!(
        user_cond("displayName eq null").unwrap(),
        Cond::Not(Box::new(Cond::Present(dn.clone())))
    );
    assert_eq!(user_cond("displayName ne null").unwrap(), Cond::Present(dn));
    for op in ["gt", "co", "sw"] {
        assert_err(
            user_cond(&format!("displayName {op} null")),
            ScimType::InvalidFilter,
        );
    }
}

// ------------------------------------------------------------ errors

#[test]
fn unknown_attributes_are_invalid_filter() {
    for f in [
        "favoriteColor eq \"blue\"",
        "name.nickName eq \"x\"",
        "emails.label eq \"x\"",
        "emails[label eq \"x\"]",
        "urn:example:unknown:2.0:User:attr eq \"x\"",
        "displayName.value eq \"x\"",
        "members[value eq \"x\"]",
    ] {
        assert_err(user_cond(f), ScimType::InvalidFilter);
    }
    assert_err(group_cond("userName eq \"x\""), ScimType::InvalidFilter);
}

#[test]
fn complex_without_sub_attribute_is_invalid_filter() {
    for f in ["name eq \"Barbara\"", "meta eq \"x\"", "name co \"B\""] {
        let e = assert_err(user_cond(f), ScimType::InvalidFilter);
        assert!(e.detail.contains("complex"), "{f}: {e}");
    }
}

#[test]
fn complex_with_a_value_sub_attribute_compares_by_value() {
    // Entra ID checks a manager with `manager eq "<id>"`.
    for f in [
        format!("{URN_ENTERPRISE}:manager eq \"m\""),
        "manager eq \"m\"".to_string(),
    ] {
        let c = user_cond(&f).unwrap();
        let dotted = match &c {
            Cond::Cmp { field, .. } => field.dotted(),
            other => panic!("{f}: {other:?}"),
        };
        assert_eq!(dotted, "manager.value", "{f}");
    }
}

#[test]
fn whole_extension_as_attribute_is_invalid_filter() {
    assert_err(
        user_cond(&format!("{URN_ENTERPRISE} pr")),
        ScimType::InvalidFilter,
    );
    assert_err(
        user_cond(&format!("{URN_ENTERPRISE} eq \"x\"")),
        ScimType::InvalidFilter,
    );
}

#[test]
fn nested_value_path_is_invalid_filter() {
    // The parser refuses nesting; build the AST by hand.
    let path = |name: &str| AttrPath {
        uri: None,
        name: name.into(),
        sub_attr: None,
    };
    let inner = Filter::ValuePath {
        path: path("value"),
        filter: Box::new(Filter::Present(path("type"))),
    };
    let nested = Filter::ValuePath {
        path: path("emails"),
        filter: Box::new(inner),
    };
    let r = Registry::new();
    let e = assert_err(
        resolve_filter(&r, &r.user, &nested),
        ScimType::InvalidFilter,
    );
    assert!(e.detail.contains("nested"), "{e}");
}

#[test]
fn value_filter_on_non_multi_valued_attribute_is_invalid_filter() {
    for f in [
        "name[givenName eq \"x\"]",
        "userName[value eq \"x\"]",
        "manager[value eq \"x\"]",
    ] {
        assert_err(user_cond(f), ScimType::InvalidFilter);
    }
}

#[test]
fn value_path_inner_attribute_must_be_a_sub_attribute() {
    // A qualified `emails.type` inside `emails[...]` is accepted…
    assert_eq!(
        user_cond("emails[emails.type eq \"work\"]").unwrap(),
        any(
            "emails",
            Some(cmp(
                elem("type", AttrType::String),
                CompareOp::Eq,
                s("work")
            ))
        )
    );
    // …another attribute's sub-attribute is not.
    assert_err(
        user_cond("emails[phoneNumbers.type eq \"work\"]"),
        ScimType::InvalidFilter,
    );
    assert_err(
        user_cond(&format!("emails[{URN_USER}:type eq \"work\"]")),
        ScimType::InvalidFilter,
    );
}

// ------------------------------------------------------------ multi-valued

#[test]
fn multi_valued_compare_goes_through_value() {
    assert_eq!(
        user_cond("emails co \"x\"").unwrap(),
        any(
            "emails",
            Some(cmp(elem("value", AttrType::String), CompareOp::Co, s("x")))
        )
    );
    assert_eq!(
        user_cond("emails.type eq \"Work\"").unwrap(),
        any(
            "emails",
            Some(cmp(
                elem("type", AttrType::String),
                CompareOp::Eq,
                s("work")
            ))
        )
    );
}

#[test]
fn multi_valued_without_value_sub_attribute_needs_one() {
    // addresses has no `value`.
    assert_err(user_cond("addresses eq \"x\""), ScimType::InvalidFilter);
    assert!(user_cond("addresses.locality eq \"x\"").is_ok());
}

#[test]
fn multi_valued_presence() {
    assert_eq!(user_cond("emails pr").unwrap(), any("emails", None));
    assert_eq!(
        user_cond("emails.display pr").unwrap(),
        any(
            "emails",
            Some(Cond::Present(elem("display", AttrType::String)))
        )
    );
    assert_eq!(user_cond("addresses pr").unwrap(), any("addresses", None));
}

#[test]
fn value_path_filter() {
    assert_eq!(
        user_cond("emails[type eq \"work\" and value co \"@Example.com\"]").unwrap(),
        any(
            "emails",
            Some(Cond::And(
                Box::new(cmp(
                    elem("type", AttrType::String),
                    CompareOp::Eq,
                    s("work")
                )),
                Box::new(cmp(
                    elem("value", AttrType::String),
                    CompareOp::Co,
                    s("@example.com")
                ))
            ))
        )
    );
    assert_eq!(
        user_cond("emails[primary eq true]").unwrap(),
        any(
            "emails",
            Some(cmp(
                elem("primary", AttrType::Boolean),
                CompareOp::Eq,
                Operand::Bool(true)
            ))
        )
    );
    // The filter form `emails[type eq "work"].value co "x"` reads as one value filter.
    assert_eq!(
        user_cond("emails[type eq \"work\"].value ew \"X\"").unwrap(),
        any(
            "emails",
            Some(Cond::And(
                Box::new(cmp(
                    elem("type", AttrType::String),
                    CompareOp::Eq,
                    s("work")
                )),
                Box::new(cmp(elem("value", AttrType::String), CompareOp::Ew, s("x")))
            ))
        )
    );
}

#[test]
fn group_members_filter() {
    assert_eq!(
        group_cond("members[value eq \"ABC\"]").unwrap(),
        any(
            "members",
            Some(cmp(
                elem("value", AttrType::String),
                CompareOp::Eq,
                s("abc")
            ))
        )
    );
    assert_eq!(
        group_cond("displayName eq \"Admins\"").unwrap(),
        cmp(
            top("displayName", AttrType::String, false),
            CompareOp::Eq,
            s("admins")
        )
    );
}

// ------------------------------------------------------------ extensions

#[test]
fn extension_attributes() {
    let en = Field {
        extension: Some(URN_ENTERPRISE.into()),
        ..top("employeeNumber", AttrType::String, false)
    };
    assert_eq!(
        user_cond(&format!("{URN_ENTERPRISE}:employeeNumber eq \"701984\"")).unwrap(),
        cmp(en.clone(), CompareOp::Eq, s("701984"))
    );
    // Unqualified names resolve to the one extension that has them.
    assert_eq!(
        user_cond("EmployeeNumber eq \"701984\"").unwrap(),
        cmp(en, CompareOp::Eq, s("701984"))
    );
    assert_eq!(
        user_cond(&format!("{URN_ENTERPRISE}:manager.value eq \"M1\"")).unwrap(),
        cmp(
            Field {
                extension: Some(URN_ENTERPRISE.into()),
                sub: Some("value".into()),
                ..top("manager", AttrType::String, false)
            },
            CompareOp::Eq,
            s("m1")
        )
    );
    assert_eq!(
        user_cond(&format!(
            "{}:status eq \"active\"",
            URN_ACCESS.to_uppercase()
        ))
        .unwrap(),
        cmp(
            Field {
                extension: Some(URN_ACCESS.into()),
                ..top("status", AttrType::String, false)
            },
            CompareOp::Eq,
            s("active")
        )
    );
}

#[test]
fn schemas_filter() {
    assert_eq!(
        user_cond(&format!("schemas eq \"{}\"", URN_ENTERPRISE.to_uppercase())).unwrap(),
        Cond::HasExtension(URN_ENTERPRISE.into())
    );
    assert_eq!(
        user_cond(&format!("schemas ne \"{URN_ENTERPRISE}\"")).unwrap(),
        Cond::Not(Box::new(Cond::HasExtension(URN_ENTERPRISE.into())))
    );
    assert_eq!(
        user_cond(&format!("schemas eq \"{URN_USER}\"")).unwrap(),
        Cond::True
    );
    assert_eq!(
        user_cond("schemas eq \"urn:example:other\"").unwrap(),
        Cond::False
    );
    assert_eq!(user_cond("SCHEMAS pr").unwrap(), Cond::True);
    assert_err(
        user_cond("schemas co \"enterprise\""),
        ScimType::InvalidFilter,
    );
    assert_err(user_cond("schemas eq 1"), ScimType::InvalidFilter);
    assert_err(user_cond("schemas eq null"), ScimType::InvalidFilter);
}

#[test]
fn logical_structure_is_preserved() {
    let un = |v: &str| {
        cmp(
            top("userName", AttrType::String, false),
            CompareOp::Eq,
            s(v),
        )
    };
    assert_eq!(
        user_cond("userName eq \"a\" or userName eq \"b\" and not (userName eq \"c\")").unwrap(),
        Cond::Or(
            Box::new(un("a")),
            Box::new(Cond::And(
                Box::new(un("b")),
                Box::new(Cond::Not(Box::new(un("c"))))
            ))
        )
    );
    // An error anywhere fails the whole filter.
    assert_err(
        user_cond("userName eq \"a\" or nope eq \"b\""),
        ScimType::InvalidFilter,
    );
    assert_err(user_cond("not (active co \"t\")"), ScimType::InvalidFilter);
}

// ------------------------------------------------------------ numbers

fn attr(name: &str, ty: AttrType) -> Attribute {
    Attribute {
        name: name.into(),
        ty,
        multi_valued: false,
        description: String::new(),
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical_values: vec![],
        reference_types: vec![],
        sub_attributes: vec![],
        text: crate::text::TextRule::TEXT,
    }
}

/// A multi-valued complex attribute with one sub-attribute of each type.
fn typed_def() -> Attribute {
    let mut exact = attr("code", AttrType::String);
    exact.case_exact = true;
    Attribute {
        multi_valued: true,
        sub_attributes: vec![
            attr("n", AttrType::Integer),
            attr("d", AttrType::Decimal),
            attr("at", AttrType::DateTime),
            attr("flag", AttrType::Boolean),
            attr("text", AttrType::String),
            exact,
        ],
        ..attr("things", AttrType::Complex)
    }
}

fn elem_cond(f: &str) -> ScimResult<Cond> {
    resolve_element_filter(&typed_def(), &parse_filter(f).unwrap())
}

#[test]
fn numeric_operands() {
    let Cond::Cmp { value, field, op } = elem_cond("n gt 5").unwrap() else {
        panic!()
    };
    assert_eq!(
        (value, field.ty, op),
        (Operand::Int(5), AttrType::Integer, CompareOp::Gt)
    );
    let Cond::Cmp { value, .. } = elem_cond("n eq 1.5").unwrap() else {
        panic!()
    };
    assert_eq!(value, Operand::Dec(1.5));
    let Cond::Cmp { value, .. } = elem_cond("d le 2").unwrap() else {
        panic!()
    };
    assert_eq!(value, Operand::Dec(2.0));
    let Cond::Cmp { value, .. } = elem_cond("d ge -1.5e3").unwrap() else {
        panic!()
    };
    assert_eq!(value, Operand::Dec(-1500.0));
    for f in ["n co 1", "n sw 1", "d ew 1", "n eq \"5\"", "d eq true"] {
        assert_err(elem_cond(f), ScimType::InvalidFilter);
    }
}

#[test]
fn case_exact_sub_attribute_keeps_operand_case() {
    let Cond::Cmp { value, .. } = elem_cond("code eq \"AbC\"").unwrap() else {
        panic!()
    };
    assert_eq!(value, s("AbC"));
    let Cond::Cmp { value, .. } = elem_cond("text eq \"AbC\"").unwrap() else {
        panic!()
    };
    assert_eq!(value, s("abc"));
}

// ------------------------------------------------------------ eval_element

fn ev(f: &str, e: Value) -> bool {
    eval_element(&elem_cond(f).unwrap(), &e)
}

fn ev_email(f: &str, e: Value) -> bool {
    let r = Registry::new();
    let def = r.user.schema.attribute("emails").unwrap();
    eval_element(
        &resolve_element_filter(def, &parse_filter(f).unwrap()).unwrap(),
        &e,
    )
}

#[test]
fn eval_strings_case_insensitively() {
    let e = json!({"type": "Work", "value": "BJensen@Example.com", "primary": true});
    assert!(ev_email("type eq \"WORK\"", e.clone()));
    assert!(!ev_email("type ne \"work\"", e.clone()));
    assert!(ev_email("value ew \"example.com\"", e.clone()));
    assert!(ev_email("value sw \"bj\"", e.clone()));
    assert!(ev_email("value co \"@EX\"", e.clone()));
    assert!(!ev_email("value co \"jensen.org\"", e.clone()));
    assert!(ev_email("value gt \"a\"", e.clone()));
    assert!(ev_email("value lt \"c\"", e.clone()));
    assert!(ev_email("value ge \"bjensen@example.com\"", e.clone()));
    assert!(ev_email("value le \"bjensen@example.com\"", e.clone()));
    assert!(ev_email("primary eq true and type eq \"work\"", e.clone()));
    assert!(ev_email("primary eq false or type eq \"work\"", e.clone()));
    assert!(!ev_email("not (primary eq true)", e));
}

#[test]
fn eval_case_exact() {
    assert!(ev("code eq \"AbC\"", json!({"code": "AbC"})));
    assert!(!ev("code eq \"abc\"", json!({"code": "AbC"})));
    assert!(ev("code sw \"Ab\"", json!({"code": "AbC"})));
    assert!(!ev("code sw \"ab\"", json!({"code": "AbC"})));
}

#[test]
fn eval_missing_values() {
    let e = json!({"value": "a@b"});
    assert!(!ev_email("primary eq true", e.clone()));
    assert!(!ev_email("primary eq false", e.clone()));
    assert!(ev_email("primary ne true", e.clone()));
    assert!(!ev_email("type co \"w\"", e.clone()));
    assert!(!ev_email("type gt \"a\"", e.clone()));
    assert!(ev_email("type eq null", e.clone()));
    assert!(!ev_email("value eq null", e.clone()));
    assert!(ev_email(
        "primary ne true",
        json!({"value": "a@b", "primary": null})
    ));
}

#[test]
fn eval_presence() {
    assert!(ev_email("value pr", json!({"value": "a@b"})));
    assert!(!ev_email("display pr", json!({"value": "a@b"})));
    assert!(!ev_email(
        "display pr",
        json!({"value": "a@b", "display": null})
    ));
    // "pr": a non-empty value (RFC 7644 §3.4.2.2); the SQL side agrees.
    assert!(!ev_email(
        "display pr",
        json!({"value": "a@b", "display": ""})
    ));
    assert!(ev_email(
        "primary pr",
        json!({"value": "a@b", "primary": false})
    ));
}

#[test]
fn eval_type_mismatch_is_no_match() {
    let e = json!({"value": 5, "primary": "true"});
    assert!(!ev_email("value eq \"5\"", e.clone()));
    assert!(ev_email("value ne \"5\"", e.clone()));
    assert!(!ev_email("primary eq true", e.clone()));
    assert!(!ev("n gt 1", json!({"n": "7"})));
    assert!(!ev("flag eq true", json!({"flag": 1})));
}

#[test]
fn eval_numbers() {
    assert!(ev("n gt 5", json!({"n": 7})));
    assert!(!ev("n gt 5", json!({"n": 5})));
    assert!(ev("n ge 5", json!({"n": 5})));
    assert!(ev("n lt 5", json!({"n": 4})));
    assert!(ev("n le 5", json!({"n": 5})));
    assert!(ev("n eq 5", json!({"n": 5.0})));
    assert!(ev("n ne 5", json!({"n": 6})));
    assert!(ev("d gt 1.25", json!({"d": 1.5})));
    assert!(ev("d eq 2", json!({"d": 2})));
    assert!(!ev("d lt -1", json!({"d": 0})));
}

#[test]
fn eval_date_times_chronologically() {
    let e = json!({"at": "2011-05-13T06:42:34+02:00"});
    assert!(ev("at eq \"2011-05-13T04:42:34Z\"", e.clone()));
    assert!(ev("at ge \"2011-05-13T04:42:34.000Z\"", e.clone()));
    assert!(ev("at lt \"2011-05-13T04:42:35Z\"", e.clone()));
    assert!(ev("at gt \"2011-05-13T05:42:34+02:00\"", e.clone()));
    assert!(!ev("at gt \"2011-05-13T04:42:34Z\"", e));
    // An unparsable stored value matches nothing.
    assert!(!ev(
        "at eq \"2011-05-13T04:42:34Z\"",
        json!({"at": "garbage"})
    ));
}

#[test]
fn eval_constant_and_top_level_conditions() {
    let e = json!({"value": "a"});
    assert!(eval_element(&Cond::True, &e));
    assert!(!eval_element(&Cond::False, &e));
    assert!(!eval_element(
        &Cond::HasExtension(URN_ENTERPRISE.into()),
        &e
    ));
    assert!(!eval_element(&any("emails", None), &e));
    // Not a JSON object: nothing is present, `ne` holds.
    let c = elem_cond("text ne \"x\"").unwrap();
    assert!(eval_element(&c, &json!("x")));
    assert!(!eval_element(&elem_cond("text pr").unwrap(), &json!(null)));
}

// ------------------------------------------------ element_template, value_eq_list

#[test]
fn element_template_from_eq_and() {
    let r = Registry::new();
    let emails = r.user.schema.attribute("emails").unwrap();
    let t = element_template(
        &parse_filter("TYPE eq \"work\" and primary eq true").unwrap(),
        emails,
    )
    .unwrap();
    let mut want = Map::new();
    want.insert("type".into(), json!("work"));
    want.insert("primary".into(), json!(true));
    assert_eq!(t, want);
    for f in [
        "type eq \"work\" or type eq \"home\"",
        "type co \"work\"",
        "type eq null",
        "label eq \"x\"",
        "not (type eq \"work\")",
        "emails.type eq \"work\"",
        "type pr",
    ] {
        assert_eq!(
            element_template(&parse_filter(f).unwrap(), emails),
            None,
            "{f}"
        );
    }
    let def = typed_def();
    assert_eq!(
        element_template(&parse_filter("n eq 5 and d eq 1.5").unwrap(), &def).map(Value::Object),
        Some(json!({"n": 5, "d": 1.5}))
    );
}

#[test]
fn value_eq_list_shapes() {
    let f = |s: &str| parse_filter(s).unwrap();
    assert_eq!(
        value_eq_list(&f("value eq \"a\"")),
        Some(vec!["a".to_string()])
    );
    assert_eq!(
        value_eq_list(&f("value eq \"a\" or Value eq \"b\" or VALUE eq \"c\"")),
        Some(vec!["a".to_string(), "b".to_string(), "c".to_string()])
    );
    for bad in [
        "value eq \"a\" and value eq \"b\"",
        "value ne \"a\"",
        "value eq 1",
        "display eq \"a\"",
        "members.value eq \"a\"",
        "value eq \"a\" or display eq \"b\"",
        "not (value eq \"a\")",
    ] {
        assert_eq!(value_eq_list(&f(bad)), None, "{bad}");
    }
    // Parentheses leave no trace in the AST.
    assert_eq!(
        value_eq_list(&f("(value eq \"a\")")),
        Some(vec!["a".to_string()])
    );
}

#[test]
fn comp_value_null_in_template_is_refused() {
    let r = Registry::new();
    let emails = r.user.schema.attribute("emails").unwrap();
    let f = Filter::Compare {
        path: AttrPath {
            uri: None,
            name: "type".into(),
            sub_attr: None,
        },
        op: CompareOp::Eq,
        value: CompValue::Null,
    };
    assert_eq!(element_template(&f, emails), None);
}

#[test]
fn every_operator_on_date_time_reference_and_binary() {
    let lm = Field {
        sub: Some("lastModified".into()),
        ..top("meta", AttrType::DateTime, false)
    };
    for (name, op) in OPS {
        let r = user_cond(&format!(
            "meta.lastModified {name} \"2011-05-13T04:42:34Z\""
        ));
        if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
            assert_err(r, ScimType::InvalidFilter);
        } else {
            assert_eq!(
                r.unwrap(),
                cmp(lm.clone(), op, s("2011-05-13T04:42:34.000Z")),
                "{name}"
            );
        }
        // References compare as (case-insensitive, per the schema) strings.
        assert_eq!(
            user_cond(&format!("profileUrl {name} \"https://X\"")).unwrap(),
            cmp(
                top("profileUrl", AttrType::Reference, false),
                op,
                s("https://x")
            ),
            "{name}"
        );
        // Binary values are compared as text through the multi-valued attribute.
        let c = user_cond(&format!("x509Certificates.value {name} \"YWJj\"")).unwrap();
        assert!(
            matches!(&c, Cond::Any { attr, cond: Some(inner) }
                if attr.name == "x509Certificates"
                && matches!(&**inner, Cond::Cmp { field, op: o, .. } if field.ty == AttrType::Binary && *o == op)),
            "{name}: {c:?}"
        );
    }
}
