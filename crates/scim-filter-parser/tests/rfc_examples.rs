//! The filter examples of RFC 7644 §3.4.2.2 (Figure 2) and the PATCH path
//! examples of §3.5.2, with their exact ASTs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use scim_filter_parser::{parse_filter, parse_path, CompValue, CompareOp::*, Filter, PatchPath};

fn check_filter(text: &str, expected: Filter) {
    let parsed = parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(parsed, expected, "{text}");
    // The canonical form of these examples is the example itself.
    assert_eq!(parsed.to_string(), text);
}

fn check_path(text: &str, expected: PatchPath) {
    let parsed = parse_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(parsed, expected, "{text}");
    assert_eq!(parsed.to_string(), text);
}

#[test]
fn figure_2_attribute_operators() {
    check_filter(
        r#"userName eq "bjensen""#,
        cmp(attr("userName"), Eq, s("bjensen")),
    );
    check_filter(
        r#"name.familyName co "O'Malley""#,
        cmp(sub("name", "familyName"), Co, s("O'Malley")),
    );
    check_filter(r#"userName sw "J""#, cmp(attr("userName"), Sw, s("J")));
    check_filter(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        cmp(urn(CORE_USER, "userName", None), Sw, s("J")),
    );
    check_filter("title pr", pr(attr("title")));
    for (op, text) in [(Gt, "gt"), (Ge, "ge"), (Lt, "lt"), (Le, "le")] {
        check_filter(
            &format!(r#"meta.lastModified {text} "2011-05-13T04:42:34Z""#),
            cmp(sub("meta", "lastModified"), op, s("2011-05-13T04:42:34Z")),
        );
    }
}

#[test]
fn figure_2_logical_operators() {
    check_filter(
        r#"title pr and userType eq "Employee""#,
        and(pr(attr("title")), cmp(attr("userType"), Eq, s("Employee"))),
    );
    check_filter(
        r#"title pr or userType eq "Intern""#,
        or(pr(attr("title")), cmp(attr("userType"), Eq, s("Intern"))),
    );
    check_filter(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        cmp(attr("schemas"), Eq, s(ENTERPRISE)),
    );
    check_filter(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        and(
            cmp(attr("userType"), Eq, s("Employee")),
            or(
                cmp(attr("emails"), Co, s("example.com")),
                cmp(sub("emails", "value"), Co, s("example.org")),
            ),
        ),
    );
    check_filter(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        and(
            cmp(attr("userType"), Ne, s("Employee")),
            not(or(
                cmp(attr("emails"), Co, s("example.com")),
                cmp(sub("emails", "value"), Co, s("example.org")),
            )),
        ),
    );
}

#[test]
fn figure_2_grouping_and_value_paths() {
    // The redundant parentheses are dropped from the canonical form.
    let text = r#"userType eq "Employee" and (emails.type eq "work")"#;
    let expected = and(
        cmp(attr("userType"), Eq, s("Employee")),
        cmp(sub("emails", "type"), Eq, s("work")),
    );
    assert_eq!(parse_filter(text).unwrap(), expected);
    assert_eq!(
        expected.to_string(),
        r#"userType eq "Employee" and emails.type eq "work""#
    );

    check_filter(
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        and(
            cmp(attr("userType"), Eq, s("Employee")),
            vp(
                attr("emails"),
                and(
                    cmp(attr("type"), Eq, s("work")),
                    cmp(attr("value"), Co, s("@example.com")),
                ),
            ),
        ),
    );
    check_filter(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        or(
            vp(
                attr("emails"),
                and(
                    cmp(attr("type"), Eq, s("work")),
                    cmp(attr("value"), Co, s("@example.com")),
                ),
            ),
            vp(
                attr("ims"),
                and(
                    cmp(attr("type"), Eq, s("xmpp")),
                    cmp(attr("value"), Co, s("@foo.com")),
                ),
            ),
        ),
    );
}

#[test]
fn section_3_4_2_2_case_insensitivity_example() {
    // "filter=userName Eq "john"" and "filter=Username eq "john"".
    assert_eq!(
        parse_filter(r#"userName Eq "john""#).unwrap(),
        cmp(attr("userName"), Eq, s("john"))
    );
    assert_eq!(
        parse_filter(r#"Username eq "john""#).unwrap(),
        cmp(attr("Username"), Eq, s("john"))
    );
}

#[test]
fn section_3_5_2_patch_paths() {
    let member = "2819c223-7f76-453a-919d-413861904646";
    check_path(
        &format!(r#"members[value eq "{member}"]"#),
        path_vp(attr("members"), cmp(attr("value"), Eq, s(member)), None),
    );
    check_path("members", PatchPath::Attr(attr("members")));
    check_path(
        "name.familyName",
        PatchPath::Attr(sub("name", "familyName")),
    );
    check_path(
        r#"addresses[type eq "work"]"#,
        path_vp(attr("addresses"), cmp(attr("type"), Eq, s("work")), None),
    );
    check_path(
        r#"emails[type eq "work" and value ew "example.com"]"#,
        path_vp(
            attr("emails"),
            and(
                cmp(attr("type"), Eq, s("work")),
                cmp(attr("value"), Ew, s("example.com")),
            ),
            None,
        ),
    );
    check_path(
        &format!(r#"members[value eq "{member}"].displayName"#),
        path_vp(
            attr("members"),
            cmp(attr("value"), Eq, s(member)),
            Some("displayName"),
        ),
    );
    check_path(
        r#"addresses[type eq "work"].streetAddress"#,
        path_vp(
            attr("addresses"),
            cmp(attr("type"), Eq, s("work")),
            Some("streetAddress"),
        ),
    );
}

#[test]
fn extension_attribute_paths() {
    check_path(
        &format!("{ENTERPRISE}:employeeNumber"),
        PatchPath::Attr(urn(ENTERPRISE, "employeeNumber", None)),
    );
    check_path(
        &format!("{ENTERPRISE}:manager"),
        PatchPath::Attr(urn(ENTERPRISE, "manager", None)),
    );
    check_path(
        &format!("{ENTERPRISE}:manager.value"),
        PatchPath::Attr(urn(ENTERPRISE, "manager", Some("value"))),
    );
    // A bare extension URN splits at its last colon; the caller resolves it.
    check_path(
        ENTERPRISE,
        PatchPath::Attr(urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
            "User",
            None,
        )),
    );
    check_filter(
        &format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#),
        cmp(urn(ENTERPRISE, "employeeNumber", None), Eq, s("701984")),
    );
    check_filter(
        &format!(r#"{ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#),
        cmp(
            urn(ENTERPRISE, "manager", Some("value")),
            Eq,
            s("26118915-6090-4610-87e4-49d8ca9f808d"),
        ),
    );
    check_filter(
        &format!("{ENTERPRISE}:manager pr"),
        pr(urn(ENTERPRISE, "manager", None)),
    );
    check_filter(
        "meta.resourceType eq \"User\" and active eq true",
        and(
            cmp(sub("meta", "resourceType"), Eq, s("User")),
            cmp(attr("active"), Eq, CompValue::Bool(true)),
        ),
    );
}
