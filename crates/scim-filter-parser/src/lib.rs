//! SCIM 2.0 filter and PATCH path parser (RFC 7644 §3.4.2.2 and §3.5.2).
//!
//! ```
//! use scim_filter_parser::{parse_filter, parse_path, Filter, PatchPath};
//!
//! let filter = parse_filter(r#"userType eq "Employee" and emails[type eq "work"]"#).unwrap();
//! assert!(matches!(filter, Filter::And(..)));
//! // `Display` prints the canonical form, which parses back to the same AST.
//! assert_eq!(parse_filter(&filter.to_string()).unwrap(), filter);
//!
//! let path = parse_path(r#"emails[type eq "work"].value"#).unwrap();
//! assert!(matches!(path, PatchPath::ValuePath { sub_attr: Some(_), .. }));
//! ```
//!
//! Inputs are bounded by [`Limits`]: their length is checked before anything
//! else, and nesting is checked before each recursive step, so hostile input
//! such as 100 000 `(` gives [`ParseErrorKind::TooDeep`], never a stack
//! overflow.

pub mod ast;
mod display;
mod error;
mod lexer;
mod parser;

use std::str::FromStr;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use error::{AttrPathProblem, Expected, Found, ParseError, ParseErrorKind};

/// Bounds on the input, to keep hostile filters cheap to reject.
///
/// # Depth
///
/// `max_depth` bounds the nesting depth of the expression, defined as:
///
/// * a comparison (`a eq 1`) or presence test (`a pr`) has depth 0;
/// * `x and y` and `x or y` have depth 1 + the larger of their operands'
///   depths (so a chain of *n* terms joined by `and`/`or` has depth *n* − 1,
///   as it is a left-nested tree: `a and b and c` is `And(And(a, b), c)`,
///   depth 2);
/// * a parenthesised group `( x )`, a negation `not ( x )` and a value path
///   `attr[ x ]` each have depth 1 + the depth of `x` (the parentheses of
///   `not` are part of it and do not count again);
/// * the filter form `attr[x].sub op value` (and `attr[x].sub pr`) counts as
///   its canonical form `attr[x and sub op value]`: 2 + the depth of `x`,
///   or 3 + the depth of `x` when `x` is an `or` (which must be
///   parenthesised under the `and`).
///
/// Printing a parsed filter never increases its depth, so canonical text is
/// accepted under any depth limit its source was.
///
/// So with a limit of 32, `a pr and (b pr or not (c pr))` (depth
/// 3) is fine and so is an `or` chain of 33 terms, but 33 nested `(` or an
/// `or` chain of 34 terms is rejected. Any AST the parser returns has at most
/// `max_depth` + 1 levels of [`Filter`] nodes, which bounds the recursion of
/// code that walks it. The parser's own recursion is proportional to
/// `max_depth` (a few stack frames per level), so keep it modest.
///
/// # Length
///
/// `max_len` is the maximum input length in bytes (not characters), checked
/// before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Maximum input length in bytes. Default 8192.
    pub max_len: usize,
    /// Maximum nesting depth as defined above. Default 128.
    pub max_depth: usize,
}

impl Limits {
    /// The default limits: 8192 bytes, depth 128 (an `or` chain of up to 129 terms).
    pub const DEFAULT: Limits = Limits {
        max_len: 8192,
        max_depth: 128,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Parses a SCIM filter (the `filter` query parameter) with the default
/// [`Limits`].
///
/// Operators, `and`/`or`/`not` and `true`/`false`/`null` are
/// case-insensitive; `not` binds tighter than `and`, which binds tighter
/// than `or`; `and`/`or` are left-associative. The filter form
/// `emails[type eq "work"].value co "x"` is accepted and returned as
/// `ValuePath { path: emails, filter: And(type eq "work", value co "x") }`
/// (likewise with `pr`).
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    parse_filter_with(input, &Limits::DEFAULT)
}

/// Parses a SCIM filter with the given limits. See [`parse_filter`].
pub fn parse_filter_with(input: &str, limits: &Limits) -> Result<Filter, ParseError> {
    parser::filter(input, limits)
}

/// Parses a PATCH operation path (`attrPath`, `valuePath` or
/// `valuePath "." subAttr`) with the default [`Limits`].
pub fn parse_path(input: &str) -> Result<PatchPath, ParseError> {
    parse_path_with(input, &Limits::DEFAULT)
}

/// Parses a PATCH operation path with the given limits. See [`parse_path`].
pub fn parse_path_with(input: &str, limits: &Limits) -> Result<PatchPath, ParseError> {
    parser::patch_path(input, limits)
}

impl FromStr for Filter {
    type Err = ParseError;

    /// [`parse_filter`] with the default limits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_filter(s)
    }
}

impl FromStr for PatchPath {
    type Err = ParseError;

    /// [`parse_path`] with the default limits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_path(s)
    }
}
