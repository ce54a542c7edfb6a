//! Property tests: Display → parse round trips for generated ASTs, and the
//! parser never panics (and round-trips whatever it accepts) on arbitrary input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scim_filter_parser::{
    parse_filter, parse_filter_with, parse_path, parse_path_with, AttrPath, CompValue, CompareOp,
    Filter, Limits, ParseError, PatchPath,
};

/// Generous limits, so that generated ASTs are never rejected for size.
const BIG: Limits = Limits {
    max_len: usize::MAX,
    max_depth: 1000,
};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "\\$?[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        // Keywords are valid attribute names too.
        1 => prop::sample::select(vec![
            "not", "NOT", "and", "or", "pr", "eq", "true", "null", "urn", "Not",
        ])
        .prop_map(String::from),
    ]
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        "[uU][rR][nN]:[a-zA-Z0-9._$:-]{1,24}",
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.2, uri()),
        name(),
        prop::option::of(name()),
    )
        .prop_map(|(uri, name, sub_attr)| AttrPath {
            uri,
            name,
            sub_attr,
        })
}

/// A path that may carry a value filter: no sub-attribute.
fn value_path_attr() -> impl Strategy<Value = AttrPath> {
    (prop::option::weighted(0.2, uri()), name()).prop_map(|(uri, name)| AttrPath {
        uri,
        name,
        sub_attr: None,
    })
}

fn plain(name: &str) -> AttrPath {
    AttrPath {
        uri: None,
        name: name.to_owned(),
        sub_attr: None,
    }
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
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

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        "-?(0|[1-9][0-9]{0,6})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?".prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        // Strings heavy in characters that need escaping.
        "[\"\\\\/\\x00-\\x1f\\x7f a-zé€😀'\\[\\]()]{0,12}".prop_map(CompValue::String),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => (attr_path(), compare_op(), comp_value())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        1 => attr_path().prop_map(Filter::Present),
    ]
}

/// Filters combining `leaves` with and/or/not.
fn tree(leaves: BoxedStrategy<Filter>, depth: u32) -> impl Strategy<Value = Filter> {
    leaves.prop_recursive(depth, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// A filter allowed inside `[ … ]`: no value paths.
fn value_filter() -> impl Strategy<Value = Filter> {
    tree(leaf().boxed(), 4)
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path =
        (value_path_attr(), value_filter()).prop_map(|(path, filter)| Filter::ValuePath {
            path,
            filter: Box::new(filter),
        });
    tree(prop_oneof![3 => leaf(), 1 => value_path].boxed(), 5)
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path().prop_map(PatchPath::Attr),
        (value_path_attr(), value_filter(), prop::option::of(name())).prop_map(
            |(attr, filter, sub_attr)| PatchPath::ValuePath {
                attr,
                filter,
                sub_attr,
            }
        ),
    ]
}

/// Strings over the filter language's own alphabet, so that the parser gets
/// deep into its grammar rather than failing on the first byte.
fn filter_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        " ",
        " ",
        " ",
        "\t",
        "and",
        "or",
        "not",
        "NOT",
        "pr",
        "eq",
        "Ne",
        "co",
        "gt",
        "\"",
        "\"x\"",
        "\\",
        "\\u",
        "\\uD83D",
        "\\uDE00",
        "D800",
        "a",
        "name",
        "$ref",
        ".",
        ".sub",
        ":",
        "urn:",
        "urn:a:b:",
        "1",
        "0",
        "-",
        "e",
        "1.5",
        "true",
        "false",
        "null",
        "é",
        "😀",
        "\n",
        "=",
        "x",
        "emails[type eq \"w\"]",
        "\u{0}",
        "a pr",
        "b eq 1",
        "c co \"z\"",
        "and",
        "or",
        "and not (",
        "urn:a:b:c.d",
    ]);
    let sep = prop::sample::select(vec![" ", " ", " ", " ", ""]);
    let len = prop_oneof![0..8usize, 0..40usize];
    len.prop_flat_map(move |len| prop::collection::vec((piece.clone(), sep.clone()), len))
        .prop_map(|pieces| {
            pieces
                .into_iter()
                .flat_map(|(piece, sep)| [piece, sep])
                .collect()
        })
}

/// The smallest depth limit under which `parse` accepts `input` (which it
/// accepts under the default limits).
fn min_depth<T>(input: &str, parse: impl Fn(&str, &Limits) -> Result<T, ParseError>) -> Limits {
    let limits = |max_depth| Limits {
        // Canonical text may be longer than the input (`not(` prints as `not (`).
        max_len: usize::MAX,
        max_depth,
    };
    let (mut lo, mut hi) = (0, Limits::DEFAULT.max_depth);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if parse(input, &limits(mid)).is_ok() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    limits(lo)
}

/// If `input` parses, its canonical form must parse to the same AST under
/// the same depth limit (printing never adds nesting) and be a fixed point.
fn check_accepted(input: &str) {
    if let Ok(filter) = parse_filter(input) {
        let text = filter.to_string();
        let again = parse_filter_with(&text, &min_depth(input, parse_filter_with))
            .unwrap_or_else(|e| panic!("{input:?} → {text:?}: {e}"));
        assert_eq!(again, filter, "{input:?} → {text:?}");
        assert_eq!(again.to_string(), text);
    }
    if let Ok(path) = parse_path(input) {
        let text = path.to_string();
        let again = parse_path_with(&text, &min_depth(input, parse_path_with))
            .unwrap_or_else(|e| panic!("{input:?} → {text:?}: {e}"));
        assert_eq!(again, path, "{input:?} → {text:?}");
        assert_eq!(again.to_string(), text);
    }
    for e in [parse_filter(input).err(), parse_path(input).err()]
        .into_iter()
        .flatten()
    {
        assert!(e.offset <= input.len(), "{input:?}: {e}");
        assert!(!e.to_string().is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn filter_round_trips(filter in filter()) {
        let text = filter.to_string();
        let parsed = parse_filter_with(&text, &BIG);
        prop_assert_eq!(parsed.as_ref(), Ok(&filter), "{}", text);
        prop_assert_eq!(parsed.unwrap().to_string(), text);
    }

    #[test]
    fn patch_path_round_trips(path in patch_path()) {
        let text = path.to_string();
        let parsed = parse_path_with(&text, &BIG);
        prop_assert_eq!(parsed.as_ref(), Ok(&path), "{}", text);
        prop_assert_eq!(parsed.unwrap().to_string(), text);
    }

    #[test]
    fn desugared_value_path_form(
        attr in value_path_attr(),
        inner in value_filter(),
        sub in name(),
        comparison in prop::option::of((compare_op(), comp_value())),
    ) {
        // `attr[inner].sub op value` / `attr[inner].sub pr`.
        let (text, rhs) = match comparison {
            Some((op, value)) => (
                format!("{attr}[{inner}].{sub} {op} {value}"),
                Filter::Compare { path: plain(&sub), op, value },
            ),
            None => (format!("{attr}[{inner}].{sub} pr"), Filter::Present(plain(&sub))),
        };
        let expected = Filter::ValuePath {
            path: attr,
            filter: Box::new(Filter::And(Box::new(inner), Box::new(rhs))),
        };
        prop_assert_eq!(parse_filter_with(&text, &BIG), Ok(expected));
        if parse_filter(&text).is_ok() {
            check_accepted(&text);
        }
    }

    #[test]
    fn attr_path_round_trips_in_paths(path in attr_path()) {
        let text = path.to_string();
        prop_assert_eq!(parse_path(&text), Ok(PatchPath::Attr(path)));
    }

    #[test]
    fn never_panics_on_arbitrary_strings(input in any::<String>()) {
        check_accepted(&input);
    }

    #[test]
    fn never_panics_on_filter_like_strings(input in filter_like()) {
        check_accepted(&input);
    }

    #[test]
    fn never_panics_on_mutated_filters(filter in filter(), cut in any::<prop::sample::Index>(), insert in filter_like()) {
        // Splice junk into a valid filter's text at a char boundary.
        let text = filter.to_string();
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
        let at = boundaries[cut.index(boundaries.len())];
        let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
        check_accepted(&mutated);
    }
}
