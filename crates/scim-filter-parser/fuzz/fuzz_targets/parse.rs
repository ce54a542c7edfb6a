//! Parses arbitrary UTF-8 as a filter and as a PATCH path. Whatever parses
//! must print (canonically) to text that parses back to an equal AST under
//! the same depth limit (printing never adds nesting), and that text must
//! print unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter_parser::{parse_filter_with, parse_path_with, Limits, ParseError};

/// Canonical text may be longer than its source (`not(` prints as `not (`),
/// so re-parsing is not bounded by length.
fn limits(max_depth: usize) -> Limits {
    Limits {
        max_len: usize::MAX,
        max_depth,
    }
}

/// The smallest depth limit under which `parse` accepts `input`, which it
/// accepts under the default limits.
fn min_depth<T>(input: &str, parse: fn(&str, &Limits) -> Result<T, ParseError>) -> usize {
    let (mut lo, mut hi) = (0, Limits::DEFAULT.max_depth);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if parse(input, &limits(mid)).is_ok() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

fn check<T>(what: &str, input: &str, parse: fn(&str, &Limits) -> Result<T, ParseError>)
where
    T: std::fmt::Display + std::fmt::Debug + PartialEq,
{
    match parse(input, &Limits::DEFAULT) {
        Ok(ast) => {
            let text = ast.to_string();
            let depth = min_depth(input, parse);
            match parse(&text, &limits(depth)) {
                Ok(again) => {
                    assert_eq!(again, ast, "{what} {input:?} printed as {text:?}");
                    assert_eq!(again.to_string(), text, "{what} {input:?}");
                }
                Err(e) => {
                    panic!("{what} {input:?} (depth {depth}) printed as {text:?}, which fails: {e}")
                }
            }
        }
        Err(e) => {
            assert!(e.offset <= input.len(), "{what} {input:?}: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check("filter", input, parse_filter_with);
    check("path", input, parse_path_with);
});
