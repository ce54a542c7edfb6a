//! Grammar details: case-insensitivity, precedence, associativity,
//! whitespace, literals, attribute paths, value paths and canonical text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use scim_filter_parser::{
    parse_filter, parse_path, CompValue, CompareOp, CompareOp::*, Filter, PatchPath,
};

fn parse(text: &str) -> Filter {
    parse_filter(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Parses `text`, checks its canonical form is `canonical`, and that the
/// canonical form parses to the same AST.
fn canonical(text: &str, canonical: &str) {
    let filter = parse(text);
    assert_eq!(filter.to_string(), canonical, "{text:?}");
    assert_eq!(parse(canonical), filter, "{canonical:?}");
}

fn a() -> Filter {
    pr(attr("a"))
}
fn b() -> Filter {
    pr(attr("b"))
}
fn c() -> Filter {
    pr(attr("c"))
}
fn d() -> Filter {
    pr(attr("d"))
}

#[test]
fn operators_are_case_insensitive() {
    let ops: [(&str, CompareOp); 9] = [
        ("eq", Eq),
        ("ne", Ne),
        ("co", Co),
        ("sw", Sw),
        ("ew", Ew),
        ("gt", Gt),
        ("ge", Ge),
        ("lt", Lt),
        ("le", Le),
    ];
    for (name, op) in ops {
        for spelled in [
            name.to_owned(),
            name.to_uppercase(),
            format!("{}{}", &name[..1].to_uppercase(), &name[1..]),
        ] {
            let text = format!(r#"userName {spelled} "x""#);
            assert_eq!(parse(&text), cmp(attr("userName"), op, s("x")), "{text}");
            assert_eq!(parse(&text).to_string(), format!(r#"userName {name} "x""#));
        }
    }
    for spelled in ["pr", "PR", "Pr", "pR"] {
        assert_eq!(parse(&format!("title {spelled}")), pr(attr("title")));
    }
}

#[test]
fn keywords_and_literals_are_case_insensitive() {
    assert_eq!(parse("a pr AND b pr Or c pr"), or(and(a(), b()), c()));
    assert_eq!(parse("NOT (a pr)"), not(a()));
    assert_eq!(parse("Not(a pr)"), not(a()));
    for (text, value) in [
        ("true", CompValue::Bool(true)),
        ("TRUE", CompValue::Bool(true)),
        ("False", CompValue::Bool(false)),
        ("nULL", CompValue::Null),
        ("null", CompValue::Null),
    ] {
        assert_eq!(parse(&format!("x eq {text}")), cmp(attr("x"), Eq, value));
    }
    canonical(
        r#"USERNAME Eq "x" AND (TITLE PR) oR x NE NULL"#,
        r#"USERNAME eq "x" and TITLE pr or x ne null"#,
    );
    // The `urn:` prefix is recognised in any case, and kept as written.
    assert_eq!(
        parse("URN:Foo:Bar:name pr"),
        pr(urn("URN:Foo:Bar", "name", None))
    );
}

#[test]
fn precedence() {
    assert_eq!(parse("a pr or b pr and c pr"), or(a(), and(b(), c())));
    assert_eq!(parse("a pr and b pr or c pr"), or(and(a(), b()), c()));
    assert_eq!(
        parse("a pr and b pr or c pr and d pr"),
        or(and(a(), b()), and(c(), d()))
    );
    assert_eq!(parse("not (a pr) and b pr"), and(not(a()), b()));
    assert_eq!(parse("not (a pr) or b pr"), or(not(a()), b()));
    assert_eq!(
        parse("a pr and not (b pr or c pr)"),
        and(a(), not(or(b(), c())))
    );
    assert_eq!(parse("(a pr or b pr) and c pr"), and(or(a(), b()), c()));
    assert_eq!(parse("a pr and (b pr or c pr)"), and(a(), or(b(), c())));
}

#[test]
fn associativity() {
    assert_eq!(parse("a pr and b pr and c pr"), and(and(a(), b()), c()));
    assert_eq!(parse("a pr or b pr or c pr"), or(or(a(), b()), c()));
    assert_eq!(
        parse("a pr or b pr or c pr or d pr"),
        or(or(or(a(), b()), c()), d())
    );
    assert_eq!(parse("a pr and (b pr and c pr)"), and(a(), and(b(), c())));
    assert_eq!(parse("a pr or (b pr or c pr)"), or(a(), or(b(), c())));
}

#[test]
fn minimal_parenthesisation() {
    canonical("((a pr))", "a pr");
    canonical("(a pr) and (b pr)", "a pr and b pr");
    canonical("(a pr and b pr) and c pr", "a pr and b pr and c pr");
    canonical("a pr and (b pr and c pr)", "a pr and (b pr and c pr)");
    canonical("a pr or (b pr or c pr)", "a pr or (b pr or c pr)");
    canonical("(a pr or b pr) or c pr", "a pr or b pr or c pr");
    canonical("(a pr or b pr) and c pr", "(a pr or b pr) and c pr");
    canonical("a pr or (b pr and c pr)", "a pr or b pr and c pr");
    canonical("not ((a pr))", "not (a pr)");
    canonical("not(not(a pr))", "not (not (a pr))");
    canonical("(not (a pr)) and b pr", "not (a pr) and b pr");
    canonical(
        "emails[(type eq \"w\")] and ((x pr))",
        "emails[type eq \"w\"] and x pr",
    );
}

#[test]
fn whitespace_is_lenient() {
    let expected = and(cmp(attr("a"), Eq, s("x")), b());
    for text in [
        "a eq \"x\" and b pr",
        "  a   eq\t\"x\"\n and\r\n b pr  ",
        "a eq\"x\"and b pr",
        "(a eq \"x\")and(b pr)",
        "( a eq \"x\" ) and ( b pr )",
    ] {
        assert_eq!(parse(text), expected, "{text:?}");
    }
    assert_eq!(parse("not(a pr)"), not(a()));
    assert_eq!(
        parse("emails [ type eq \"w\" ]or b pr"),
        or(vp(attr("emails"), cmp(attr("type"), Eq, s("w"))), b())
    );
    assert_eq!(
        parse_path(" emails[type eq \"w\"] ").unwrap(),
        path_vp(attr("emails"), cmp(attr("type"), Eq, s("w")), None)
    );
}

#[test]
fn string_escapes() {
    let cases = [
        (r#""plain""#, "plain"),
        (r#""""#, ""),
        (r#""q\"b\\s\/""#, "q\"b\\s/"),
        (r#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        (r#""\u0041\u00e9\u20AC\u0000""#, "Aé€\u{0}"),
        (r#""\uD83D\uDE00 \ud83d\ude00""#, "😀 😀"),
        ("\"raw é 😀 \u{7f}\"", "raw é 😀 \u{7f}"),
        (r#""O'Malley""#, "O'Malley"),
        (r#""a ] ) and or ( [""#, "a ] ) and or ( ["),
    ];
    for (literal, value) in cases {
        let filter = parse(&format!("x eq {literal}"));
        assert_eq!(filter, cmp(attr("x"), Eq, s(value)), "{literal}");
        assert_eq!(parse(&filter.to_string()), filter);
    }
    assert_eq!(
        parse(r#"x eq "\/\u0001\u001F""#).to_string(),
        r#"x eq "/\u0001\u001f""#
    );
}

#[test]
fn numbers_keep_their_lexeme() {
    for lexeme in [
        "0",
        "-0",
        "7",
        "42",
        "-17",
        "3.14",
        "-0.5",
        "1e3",
        "1E3",
        "1e+3",
        "1E-3",
        "2.5e10",
        "-1.5E+30",
        "123456789012345678901234567890",
    ] {
        let filter = parse(&format!("x gt {lexeme}"));
        assert_eq!(filter, cmp(attr("x"), Gt, num(lexeme)), "{lexeme}");
        assert_eq!(filter.to_string(), format!("x gt {lexeme}"));
    }
    assert_eq!(parse("(x eq 1)"), cmp(attr("x"), Eq, num("1")));
    assert_eq!(
        parse("emails[x eq 1]"),
        vp(attr("emails"), cmp(attr("x"), Eq, num("1")))
    );
}

#[test]
fn attribute_paths() {
    assert_eq!(parse("a pr"), pr(attr("a")));
    assert_eq!(parse("a-b_c9 pr"), pr(attr("a-b_c9")));
    assert_eq!(parse("$ref pr"), pr(attr("$ref")));
    assert_eq!(parse("members.$ref pr"), pr(sub("members", "$ref")));
    assert_eq!(
        parse("members[$ref eq \"x\"]"),
        vp(attr("members"), cmp(attr("$ref"), Eq, s("x")))
    );
    assert_eq!(parse("urn:a:b:c.d pr"), pr(urn("urn:a:b", "c", Some("d"))));
    assert_eq!(parse("urn:a.b:c pr"), pr(urn("urn:a.b", "c", None)));
    assert_eq!(
        parse_path("urn:ietf:params:scim:schemas:core:2.0:Group:members").unwrap(),
        PatchPath::Attr(urn(
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "members",
            None
        ))
    );
}

#[test]
fn keywords_can_be_attribute_names() {
    assert_eq!(parse("and pr"), pr(attr("and")));
    assert_eq!(parse("or eq 1"), cmp(attr("or"), Eq, num("1")));
    assert_eq!(parse("not eq 1"), cmp(attr("not"), Eq, num("1")));
    assert_eq!(parse("not pr"), pr(attr("not")));
    assert_eq!(parse("NOT PR"), pr(attr("NOT")));
    assert_eq!(parse("not[x pr]"), vp(attr("not"), pr(attr("x"))));
    assert_eq!(parse("pr pr"), pr(attr("pr")));
    assert_eq!(parse("eq eq \"x\""), cmp(attr("eq"), Eq, s("x")));
    assert_eq!(
        parse("true eq true"),
        cmp(attr("true"), Eq, CompValue::Bool(true))
    );
    assert_eq!(parse("a pr and not pr"), and(a(), pr(attr("not"))));
    assert_eq!(
        parse("a pr or and pr and or pr"),
        or(a(), and(pr(attr("and")), pr(attr("or"))))
    );
    for filter in [parse("not pr and not (not eq 1)"), parse("and pr or or pr")] {
        assert_eq!(parse(&filter.to_string()), filter);
    }
}

#[test]
fn value_paths_anywhere_a_comparison_may_be() {
    let emails = || vp(attr("emails"), cmp(attr("type"), Eq, s("work")));
    assert_eq!(parse("not (emails[type eq \"work\"])"), not(emails()));
    assert_eq!(parse("(emails[type eq \"work\"])"), emails());
    assert_eq!(
        parse("a pr and emails[type eq \"work\"]"),
        and(a(), emails())
    );
    assert_eq!(
        parse("emails[type eq \"work\"] or a pr and emails[type eq \"work\"]"),
        or(emails(), and(a(), emails()))
    );
    assert_eq!(
        parse("emails[not (type eq \"work\") and (value co \"a\" or primary eq true)]"),
        vp(
            attr("emails"),
            and(
                not(cmp(attr("type"), Eq, s("work"))),
                or(
                    cmp(attr("value"), Co, s("a")),
                    cmp(attr("primary"), Eq, CompValue::Bool(true))
                )
            )
        )
    );
    assert_eq!(
        parse(&format!("{CORE_USER}:emails[type eq \"work\"]")),
        vp(
            urn(CORE_USER, "emails", None),
            cmp(attr("type"), Eq, s("work"))
        )
    );
}

#[test]
fn value_path_with_sub_attribute_is_desugared() {
    let work = || cmp(attr("type"), Eq, s("work"));
    let filter = parse(r#"emails[type eq "work"].value co "@example.com""#);
    assert_eq!(
        filter,
        vp(
            attr("emails"),
            and(work(), cmp(attr("value"), Co, s("@example.com")))
        )
    );
    assert_eq!(
        filter.to_string(),
        r#"emails[type eq "work" and value co "@example.com"]"#
    );
    assert_eq!(
        parse(r#"emails[type eq "work"].display PR"#),
        vp(attr("emails"), and(work(), pr(attr("display"))))
    );
    // An `or` inside the brackets stays grouped under the `and`.
    let filter = parse(r#"emails[type eq "work" or primary eq true].value pr"#);
    assert_eq!(
        filter,
        vp(
            attr("emails"),
            and(
                or(work(), cmp(attr("primary"), Eq, CompValue::Bool(true))),
                pr(attr("value"))
            )
        )
    );
    assert_eq!(
        filter.to_string(),
        r#"emails[(type eq "work" or primary eq true) and value pr]"#
    );
    assert_eq!(
        parse(r#"a pr and not (emails[type eq "work"].value eq "x")"#),
        and(
            a(),
            not(vp(
                attr("emails"),
                and(work(), cmp(attr("value"), Eq, s("x")))
            ))
        )
    );
}

#[test]
fn from_str() {
    let filter: Filter = "a pr".parse().unwrap();
    assert_eq!(filter, a());
    let path: PatchPath = "name.givenName".parse().unwrap();
    assert_eq!(path, PatchPath::Attr(sub("name", "givenName")));
    assert!("a".parse::<Filter>().is_err());
}
