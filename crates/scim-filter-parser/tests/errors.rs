//! Every error kind, with its offset and message, and the limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use scim_filter_parser::{
    parse_filter, parse_filter_with, parse_path, parse_path_with, AttrPathProblem, CompareOp,
    Expected, Found, Limits, ParseError, ParseErrorKind as K,
};

fn err(text: &str) -> ParseError {
    match parse_filter(text) {
        Ok(f) => panic!("{text:?} parsed as {f:?}"),
        Err(e) => e,
    }
}

fn path_err(text: &str) -> ParseError {
    match parse_path(text) {
        Ok(p) => panic!("{text:?} parsed as {p:?}"),
        Err(e) => e,
    }
}

fn text(s: &str) -> Found {
    Found::Text(s.into())
}

/// Checks the error's offset and kind, and that its message starts with
/// `at byte <offset>: ` and contains `message`.
fn check(e: ParseError, offset: usize, kind: K, message: &str) {
    assert_eq!((e.offset, &e.kind), (offset, &kind), "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("at byte {offset}: ")), "{shown}");
    assert!(shown.contains(message), "{shown:?} lacks {message:?}");
}

#[test]
fn empty() {
    for input in ["", "   ", "\t\r\n "] {
        check(err(input), 0, K::Empty, "empty input");
        check(path_err(input), 0, K::Empty, "empty input");
    }
}

#[test]
fn unknown_operator() {
    check(
        err(r#"userName eq "x" and title xx "y""#),
        26,
        K::UnknownOperator { found: text("xx") },
        r#"expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found "xx""#,
    );
    assert_eq!(
        err(r#"userName xx "x""#).to_string(),
        r#"at byte 9: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found "xx""#
    );
    check(
        err(r#"userName = "x""#),
        9,
        K::UnknownOperator { found: text("=") },
        r#"found "=""#,
    );
    check(
        err(r#"userName != "x""#),
        9,
        K::UnknownOperator { found: text("!=") },
        r#"found "!=""#,
    );
    check(
        err("userName"),
        8,
        K::UnknownOperator {
            found: Found::EndOfInput,
        },
        "found end of input",
    );
    check(
        err(r#"userName "x""#),
        9,
        K::UnknownOperator {
            found: text("\"x\""),
        },
        r#"found string "x""#,
    );
    // The filter form `attr[…].sub` still needs an operator.
    check(
        err(r#"emails[type eq "w"].value"#),
        25,
        K::UnknownOperator {
            found: Found::EndOfInput,
        },
        "expected a comparison operator",
    );
}

#[test]
fn missing_value() {
    check(
        err("userName eq"),
        11,
        K::MissingValue {
            op: CompareOp::Eq,
            found: Found::EndOfInput,
        },
        "missing value after \"eq\": expected a string, number, true, false or null, found end of input",
    );
    check(
        err("(userName GE)"),
        12,
        K::MissingValue {
            op: CompareOp::Ge,
            found: text(")"),
        },
        "missing value after \"ge\"",
    );
    check(
        err("userName eq bjensen"),
        12,
        K::MissingValue {
            op: CompareOp::Eq,
            found: text("bjensen"),
        },
        r#"found "bjensen""#,
    );
    check(
        err("userName co and x pr"),
        12,
        K::MissingValue {
            op: CompareOp::Co,
            found: text("and"),
        },
        "missing value",
    );
}

#[test]
fn unbalanced_parentheses() {
    check(
        err("(a pr"),
        5,
        K::UnclosedParen { open: 0 },
        "unbalanced parentheses: \"(\" at byte 0 is never closed",
    );
    check(
        err("((a pr)"),
        7,
        K::UnclosedParen { open: 0 },
        "unbalanced",
    );
    check(
        err("(a pr and (b pr)"),
        16,
        K::UnclosedParen { open: 0 },
        "unbalanced",
    );
    check(err("not (a pr"), 9, K::UnclosedParen { open: 4 }, "byte 4");
    check(
        err("a pr)"),
        4,
        K::UnmatchedCloseParen,
        "unbalanced parentheses: \")\" without a matching \"(\"",
    );
    check(
        err(")"),
        0,
        K::UnmatchedCloseParen,
        "unbalanced parentheses",
    );
    check(
        err("(a pr))"),
        6,
        K::UnmatchedCloseParen,
        "unbalanced parentheses",
    );
    check(
        err("emails[)]"),
        7,
        K::UnmatchedCloseParen,
        "unbalanced parentheses",
    );
    // Inside a group, something other than `and`, `or` or `)`.
    check(
        err("(a pr b pr)"),
        6,
        K::Unexpected {
            expected: Expected::AndOrCloseParen,
            found: text("b"),
        },
        r#"expected "and", "or" or ")", found "b""#,
    );
    check(
        err("(a pr]"),
        5,
        K::Unexpected {
            expected: Expected::AndOrCloseParen,
            found: text("]"),
        },
        r#"expected "and", "or" or ")""#,
    );
}

#[test]
fn unbalanced_brackets() {
    check(
        err(r#"emails[type eq "w""#),
        18,
        K::UnclosedBracket { open: 6 },
        "unbalanced brackets: \"[\" at byte 6 is never closed",
    );
    check(
        path_err(r#"emails[type eq "w""#),
        18,
        K::UnclosedBracket { open: 6 },
        "unbalanced brackets",
    );
    check(
        err("a pr]"),
        4,
        K::UnmatchedCloseBracket,
        "unbalanced brackets: \"]\" without a matching \"[\"",
    );
    check(err("]"), 0, K::UnmatchedCloseBracket, "unbalanced brackets");
    check(
        err("(]"),
        1,
        K::UnmatchedCloseBracket,
        "unbalanced brackets",
    );
    check(
        path_err("members]"),
        7,
        K::UnmatchedCloseBracket,
        "unbalanced brackets",
    );
    check(
        err(r#"emails[type eq "w")"#),
        18,
        K::Unexpected {
            expected: Expected::AndOrCloseBracket,
            found: text(")"),
        },
        r#"expected "and", "or" or "]", found ")""#,
    );
}

#[test]
fn nested_value_path() {
    check(
        err(r#"emails[type[value eq "x"]]"#),
        11,
        K::NestedValuePath,
        "nested value filter",
    );
    check(
        err(r#"a[b pr and (c[d pr])]"#),
        13,
        K::NestedValuePath,
        "nested value filter",
    );
    check(
        path_err(r#"emails[type[value eq "x"]].value"#),
        11,
        K::NestedValuePath,
        "nested value filter",
    );
    check(
        err(r#"emails[type eq "w"].value[x pr]"#),
        25,
        K::UnknownOperator { found: text("[") },
        "expected a comparison operator",
    );
}

#[test]
fn bad_string_escape() {
    check(
        err(r#"userName eq "a\qb""#),
        14,
        K::BadEscape {
            escape: r"\q".into(),
        },
        r#"invalid escape "\q" in string (expected one of \" \\ \/ \b \f \n \r \t \uXXXX)"#,
    );
    check(
        err(r#"x eq "\u00G0""#),
        6,
        K::BadEscape {
            escape: r"\u00G".into(),
        },
        "invalid escape",
    );
    check(
        err(r#"x eq "\uDFFF""#),
        6,
        K::LoneSurrogate { code: 0xDFFF },
        "unpaired UTF-16 surrogate",
    );
    check(
        err(r#"x eq "ab\uD83Dx""#),
        8,
        K::LoneSurrogate { code: 0xD83D },
        r"invalid escape \uD83D in string: unpaired UTF-16 surrogate",
    );
    check(
        err("x eq \"a\tb\""),
        7,
        K::ControlCharInString { ch: '\t' },
        "unescaped control character U+0009 in string",
    );
    check(
        err(r#"userName eq "abc"#),
        12,
        K::UnterminatedString,
        "unterminated string",
    );
    check(
        err("x eq \"abc\\"),
        5,
        K::UnterminatedString,
        "unterminated string",
    );
}

#[test]
fn bad_number() {
    for (input, lexeme) in [
        ("age gt 01", "01"),
        ("age gt 1.", "1."),
        ("age gt .5", ".5"),
        ("age gt +1", "+1"),
        ("age gt 1e", "1e"),
        ("age gt -", "-"),
        ("age gt 1.5.2", "1.5.2"),
        ("age gt 12abc", "12abc"),
        ("age gt 0x1F", "0x1F"),
    ] {
        check(
            err(input),
            7,
            K::BadNumber {
                lexeme: lexeme.into(),
            },
            &format!("invalid number \"{lexeme}\" (expected a JSON number"),
        );
    }
}

#[test]
fn trailing_input() {
    check(
        err("a pr b pr"),
        5,
        K::TrailingInput {
            expected: Expected::AndOrEnd,
            found: text("b"),
        },
        r#"unexpected trailing input "b" (expected "and", "or" or end of input)"#,
    );
    check(
        err(r#"userName eq "x" "y""#),
        16,
        K::TrailingInput {
            expected: Expected::AndOrEnd,
            found: text("\"y\""),
        },
        r#"unexpected trailing input string "y""#,
    );
    check(
        path_err(r#"members eq "x""#),
        8,
        K::TrailingInput {
            expected: Expected::ValueFilterOrEnd,
            found: text("eq"),
        },
        r#"unexpected trailing input "eq" (expected "[" or end of input)"#,
    );
    check(
        path_err(r#"emails[type eq "w"] x"#),
        20,
        K::TrailingInput {
            expected: Expected::SubAttrOrEnd,
            found: text("x"),
        },
        "unexpected trailing input",
    );
    check(
        path_err(r#"emails[type eq "w"].value eq "x""#),
        26,
        K::TrailingInput {
            expected: Expected::End,
            found: text("eq"),
        },
        r#"unexpected trailing input "eq" (expected end of input)"#,
    );
}

#[test]
fn not_without_paren() {
    check(
        err("not a pr"),
        4,
        K::NotWithoutParen { found: text("a") },
        r#"expected "(" after "not", found "a""#,
    );
    check(
        err("a pr and not"),
        12,
        K::NotWithoutParen {
            found: Found::EndOfInput,
        },
        "expected \"(\" after \"not\", found end of input",
    );
}

#[test]
fn expected_expression() {
    check(
        err("()"),
        1,
        K::Unexpected {
            expected: Expected::Expression,
            found: text(")"),
        },
        r#"expected an attribute path, "(" or "not (", found ")""#,
    );
    check(
        err("a pr and"),
        8,
        K::Unexpected {
            expected: Expected::Expression,
            found: Found::EndOfInput,
        },
        "found end of input",
    );
    check(
        err(r#""x" eq 1"#),
        0,
        K::Unexpected {
            expected: Expected::Expression,
            found: text("\"x\""),
        },
        "expected an attribute path",
    );
    check(
        err("emails[]"),
        7,
        K::Unexpected {
            expected: Expected::Expression,
            found: text("]"),
        },
        "expected an attribute path",
    );
    check(
        path_err("(members)"),
        0,
        K::Unexpected {
            expected: Expected::AttrPath,
            found: text("("),
        },
        r#"expected an attribute path, found "(""#,
    );
}

#[test]
fn invalid_attribute_name() {
    let cases: [(&str, usize, &str, AttrPathProblem); 11] = [
        ("a.b.c pr", 3, "a.b.c", AttrPathProblem::TooManySubAttrs),
        (
            "urn:a:b:c.d.e pr",
            11,
            "urn:a:b:c.d.e",
            AttrPathProblem::TooManySubAttrs,
        ),
        ("foo:bar pr", 3, "foo:bar", AttrPathProblem::UnexpectedColon),
        ("urn:x pr", 0, "urn:x", AttrPathProblem::BadUrn),
        ("urn::x pr", 0, "urn::x", AttrPathProblem::BadUrn),
        ("a$b pr", 1, "a$b", AttrPathProblem::BadName),
        ("$ pr", 1, "$", AttrPathProblem::BadName),
        ("$1a pr", 1, "$1a", AttrPathProblem::BadName),
        ("urn:a:b:1x pr", 8, "urn:a:b:1x", AttrPathProblem::BadName),
        ("nämé pr", 1, "nämé", AttrPathProblem::BadName),
        ("name. pr", 5, "name.", AttrPathProblem::EmptyName),
    ];
    for (input, offset, path, problem) in cases {
        check(
            err(input),
            offset,
            K::InvalidAttrPath {
                path: path.into(),
                problem,
            },
            &format!("invalid attribute path \"{path}\": "),
        );
    }
    check(
        err("name.givenName[x pr]"),
        4,
        K::InvalidAttrPath {
            path: "name.givenName".into(),
            problem: AttrPathProblem::SubAttrWithValueFilter,
        },
        "a value filter \"[...]\" must follow an attribute, not a sub-attribute",
    );
    check(
        err(r#"emails[type eq "w"].a.b pr"#),
        21,
        K::InvalidAttrPath {
            path: "a.b".into(),
            problem: AttrPathProblem::TooManySubAttrs,
        },
        "only one level of sub-attribute",
    );
    check(
        path_err(r#"emails[type eq "w"].value.x"#),
        25,
        K::InvalidAttrPath {
            path: "value.x".into(),
            problem: AttrPathProblem::TooManySubAttrs,
        },
        "only one level of sub-attribute",
    );
    check(
        path_err(r#"emails[type eq "w"].urn:x"#),
        23,
        K::InvalidAttrPath {
            path: "urn:x".into(),
            problem: AttrPathProblem::UnexpectedColon,
        },
        "invalid attribute path",
    );
    check(
        path_err("name.givenName[x pr]"),
        4,
        K::InvalidAttrPath {
            path: "name.givenName".into(),
            problem: AttrPathProblem::SubAttrWithValueFilter,
        },
        "not a sub-attribute",
    );
    check(
        path_err("a.b.c"),
        3,
        K::InvalidAttrPath {
            path: "a.b.c".into(),
            problem: AttrPathProblem::TooManySubAttrs,
        },
        "only one level",
    );
}

#[test]
fn too_long() {
    let limits = Limits {
        max_len: 3,
        ..Limits::default()
    };
    check(
        parse_filter_with("a pr", &limits).unwrap_err(),
        3,
        K::TooLong { len: 4, max: 3 },
        "input too long: 4 bytes, the limit is 3",
    );
    check(
        parse_path_with("abcd", &limits).unwrap_err(),
        3,
        K::TooLong { len: 4, max: 3 },
        "input too long",
    );
    assert!(parse_filter_with(
        "a pr",
        &Limits {
            max_len: 4,
            ..limits
        }
    )
    .is_ok());

    // Default: 8192 bytes. The length is checked before anything else.
    let value = "x".repeat(8192 - r#"a eq """#.len());
    assert!(parse_filter(&format!(r#"a eq "{value}""#)).is_ok());
    check(
        err(&format!(r#"a eq "{value}x""#)),
        8192,
        K::TooLong {
            len: 8193,
            max: 8192,
        },
        "too long",
    );
    check(
        err(&"(".repeat(100_000)),
        8192,
        K::TooLong {
            len: 100_000,
            max: 8192,
        },
        "too long",
    );
    check(
        err(&" ".repeat(8193)),
        8192,
        K::TooLong {
            len: 8193,
            max: 8192,
        },
        "too long",
    );
}

fn unlimited_len(max_depth: usize) -> Limits {
    Limits {
        max_len: usize::MAX,
        max_depth,
    }
}

fn nested(n: usize) -> String {
    format!("{}a pr{}", "(".repeat(n), ")".repeat(n))
}

#[test]
fn too_deep_parentheses() {
    let limits = unlimited_len(32);
    assert!(parse_filter_with(&nested(32), &limits).is_ok());
    check(
        parse_filter_with(&nested(33), &limits).unwrap_err(),
        32,
        K::TooDeep { max: 32 },
        "nested too deeply: the limit is 32 levels",
    );
    // Hostile input is rejected at the first level over the limit, long
    // before the stack is at risk.
    for input in [
        "(".repeat(100_000),
        nested(100_000),
        "not (".repeat(100_000),
    ] {
        let e = parse_filter_with(&input, &limits).unwrap_err();
        assert_eq!(e.kind, K::TooDeep { max: 32 });
    }
    assert_eq!(
        parse_filter_with(&"not (".repeat(100_000), &limits)
            .unwrap_err()
            .offset,
        32 * 5 + 4
    );
    assert!(parse_filter_with(
        &format!("{}a pr{}", "not (".repeat(32), ")".repeat(32)),
        &limits
    )
    .is_ok());
    // The default limit is 128: an `or` chain of 129 ids still parses.
    assert!(parse_filter(&nested(128)).is_ok());
    assert_eq!(err(&nested(129)).kind, K::TooDeep { max: 128 });
    assert!(parse_filter(&vec!["id eq \"x\""; 129].join(" or ")).is_ok());
}

#[test]
fn too_deep_logical_chains() {
    let limits = unlimited_len(32);
    let chain = |n: usize, op: &str| vec!["a pr"; n].join(&format!(" {op} "));
    // A chain of n terms has depth n - 1.
    for op in ["and", "or"] {
        assert!(parse_filter_with(&chain(33, op), &limits).is_ok());
        // The 33rd operator makes depth 33.
        let input = chain(34, op);
        let at = input.match_indices(op).nth(32).unwrap().0;
        check(
            parse_filter_with(&input, &limits).unwrap_err(),
            at,
            K::TooDeep { max: 32 },
            "nested too deeply",
        );
        let e = parse_filter_with(&chain(100_000, op), &limits).unwrap_err();
        assert_eq!(e.kind, K::TooDeep { max: 32 });
    }
    // Right-nested through parentheses: each `and (` adds two levels.
    let right = |n: usize| format!("{}a pr{}", "a pr and (".repeat(n), ")".repeat(n));
    assert!(parse_filter_with(&right(16), &limits).is_ok());
    assert_eq!(
        parse_filter_with(&right(17), &limits).unwrap_err().kind,
        K::TooDeep { max: 32 }
    );
    assert_eq!(
        parse_filter_with(&right(100_000), &limits)
            .unwrap_err()
            .kind,
        K::TooDeep { max: 32 }
    );
}

#[test]
fn depth_definition_examples() {
    let depth_of = |text: &str| {
        (0..40)
            .find(|&max_depth| parse_filter_with(text, &unlimited_len(max_depth)).is_ok())
            .unwrap()
    };
    assert_eq!(depth_of("a pr"), 0);
    assert_eq!(depth_of("a pr and b pr"), 1);
    assert_eq!(depth_of("a pr and b pr and c pr"), 2);
    assert_eq!(depth_of("a pr or b pr and c pr"), 2);
    assert_eq!(depth_of("(a pr)"), 1);
    assert_eq!(depth_of("((a pr))"), 2);
    assert_eq!(depth_of("not (a pr)"), 1);
    assert_eq!(depth_of("a pr and (b pr or not (c pr))"), 4);
    assert_eq!(depth_of(r#"emails[type eq "w"]"#), 1);
    assert_eq!(depth_of(r#"emails[type eq "w" and x pr]"#), 2);
    assert_eq!(depth_of(r#"emails[type eq "w"].value eq "x""#), 2);
    assert_eq!(depth_of(r#"a pr and emails[type eq "w"].value eq "x""#), 3);
    // The desugared form counts as its canonical text.
    let sugared = r#"emails[type eq "w" or x pr].value pr"#;
    let canonical = parse_filter(sugared).unwrap().to_string();
    assert_eq!(canonical, r#"emails[(type eq "w" or x pr) and value pr]"#);
    assert_eq!(depth_of(sugared), 4);
    assert_eq!(depth_of(&canonical), 4);
    let sugared = r#"emails[type eq "w" and x pr].value pr"#;
    let canonical = parse_filter(sugared).unwrap().to_string();
    assert_eq!(depth_of(sugared), 3);
    assert_eq!(depth_of(&canonical), 3);

    let path_depth_of = |text: &str| {
        (0..40)
            .find(|&max_depth| parse_path_with(text, &unlimited_len(max_depth)).is_ok())
            .unwrap()
    };
    assert_eq!(path_depth_of("members"), 0);
    assert_eq!(path_depth_of(r#"emails[type eq "w"].value"#), 1);
    assert_eq!(path_depth_of(r#"emails[type eq "w" and (x pr)]"#), 3);
    check(
        parse_path_with(r#"emails[type eq "w"]"#, &unlimited_len(0)).unwrap_err(),
        6,
        K::TooDeep { max: 0 },
        "nested too deeply",
    );
    check(
        parse_filter_with(r#"emails[type eq "w"].value pr"#, &unlimited_len(1)).unwrap_err(),
        19,
        K::TooDeep { max: 1 },
        "nested too deeply",
    );
}

#[test]
fn errors_are_std_errors() {
    let e: Box<dyn std::error::Error> = Box::new(err("a"));
    assert!(e.to_string().starts_with("at byte 1: "));
}

#[test]
fn long_tokens_are_shortened_in_messages() {
    let long = "y".repeat(1000);
    let e = err(&format!("a {long}"));
    assert_eq!(e.offset, 2);
    let shown = e.to_string();
    assert!(shown.len() < 200, "{shown}");
    assert!(shown.contains("yyy…"), "{shown}");
}
