//! Parse errors: the byte offset where parsing failed plus a structured
//! description of what was expected there.

use std::fmt;

use crate::ast::CompareOp;

/// Longest piece of input quoted back in an error message, in characters.
const MAX_QUOTED_CHARS: usize = 40;

/// A filter or path that could not be parsed.
///
/// `Display` renders `at byte N: <what went wrong>`, e.g.
/// `at byte 9: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found "xx"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the input where the problem was detected.
    pub offset: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(offset: usize, kind: ParseErrorKind) -> Self {
        ParseError { offset, kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// The kinds of parse failure. Each one's `Display` says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input is empty or only whitespace.
    Empty,
    /// The input is longer than [`Limits::max_len`](crate::Limits::max_len)
    /// bytes. Reported at offset `max`.
    TooLong { len: usize, max: usize },
    /// The input nests deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    TooDeep { max: usize },
    /// A token that does not fit here.
    Unexpected { expected: Expected, found: Found },
    /// A complete filter or path is followed by more input.
    TrailingInput { expected: Expected, found: Found },
    /// An attribute path that is not `[urn:…:]name[.sub]`.
    InvalidAttrPath {
        path: String,
        problem: AttrPathProblem,
    },
    /// An attribute path is followed by something that is not one of
    /// `eq ne co sw ew gt ge lt le pr`.
    UnknownOperator { found: Found },
    /// A comparison operator is not followed by a string, number, `true`,
    /// `false` or `null`.
    MissingValue { op: CompareOp, found: Found },
    /// `not` must be followed by `(`.
    NotWithoutParen { found: Found },
    /// A `(` (at byte `open`) is never closed.
    UnclosedParen { open: usize },
    /// A `)` with no matching `(`.
    UnmatchedCloseParen,
    /// A `[` (at byte `open`) is never closed.
    UnclosedBracket { open: usize },
    /// A `]` with no matching `[`.
    UnmatchedCloseBracket,
    /// A value filter inside a value filter: `a[b[c pr]]`.
    NestedValuePath,
    /// A string literal without its closing `"`. Reported at the opening quote.
    UnterminatedString,
    /// A backslash escape that JSON does not have (`\x`, `\u12G4`, …).
    BadEscape { escape: String },
    /// A `\uXXXX` escape for a UTF-16 surrogate that is not part of a valid pair.
    LoneSurrogate { code: u16 },
    /// A raw control character (U+0000–U+001F) inside a string literal.
    ControlCharInString { ch: char },
    /// A number that is not a JSON number (`01`, `1.`, `.5`, `+1`, `1e`, …).
    BadNumber { lexeme: String },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Empty => f.write_str("empty input: expected a filter or path"),
            ParseErrorKind::TooLong { len, max } => {
                write!(f, "input too long: {len} bytes, the limit is {max}")
            }
            ParseErrorKind::TooDeep { max } => {
                write!(f, "nested too deeply: the limit is {max} levels")
            }
            ParseErrorKind::Unexpected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ParseErrorKind::TrailingInput { expected, found } => {
                write!(f, "unexpected trailing input {found} (expected {expected})")
            }
            ParseErrorKind::InvalidAttrPath { path, problem } => {
                write!(f, "invalid attribute path \"{}\": {problem}", quote(path))
            }
            ParseErrorKind::UnknownOperator { found } => write!(
                f,
                "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found {found}"
            ),
            ParseErrorKind::MissingValue { op, found } => write!(
                f,
                "missing value after \"{op}\": expected a string, number, true, false or null, found {found}"
            ),
            ParseErrorKind::NotWithoutParen { found } => {
                write!(f, "expected \"(\" after \"not\", found {found}")
            }
            ParseErrorKind::UnclosedParen { open } => write!(
                f,
                "unbalanced parentheses: \"(\" at byte {open} is never closed (expected \")\")"
            ),
            ParseErrorKind::UnmatchedCloseParen => {
                f.write_str("unbalanced parentheses: \")\" without a matching \"(\"")
            }
            ParseErrorKind::UnclosedBracket { open } => write!(
                f,
                "unbalanced brackets: \"[\" at byte {open} is never closed (expected \"]\")"
            ),
            ParseErrorKind::UnmatchedCloseBracket => {
                f.write_str("unbalanced brackets: \"]\" without a matching \"[\"")
            }
            ParseErrorKind::NestedValuePath => f.write_str(
                "nested value filter: \"[\" is not allowed inside a value filter \"[...]\"",
            ),
            ParseErrorKind::UnterminatedString => {
                f.write_str("unterminated string: expected a closing '\"'")
            }
            ParseErrorKind::BadEscape { escape } => write!(
                f,
                "invalid escape \"{}\" in string (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
                quote(escape)
            ),
            ParseErrorKind::LoneSurrogate { code } => write!(
                f,
                "invalid escape \\u{code:04X} in string: unpaired UTF-16 surrogate (expected a high surrogate \\uD800-\\uDBFF followed by a low surrogate \\uDC00-\\uDFFF)"
            ),
            ParseErrorKind::ControlCharInString { ch } => write!(
                f,
                "unescaped control character U+{:04X} in string (expected it escaped, e.g. \\n or \\u{:04x})",
                u32::from(*ch),
                u32::from(*ch)
            ),
            ParseErrorKind::BadNumber { lexeme } => write!(
                f,
                "invalid number \"{}\" (expected a JSON number such as 42, -1.5 or 2.5e-3)",
                quote(lexeme)
            ),
        }
    }
}

/// What the parser was looking for when it met an [`Unexpected`](ParseErrorKind::Unexpected)
/// token or [`TrailingInput`](ParseErrorKind::TrailingInput).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// The start of a filter expression: an attribute path, `(` or `not (`.
    Expression,
    /// An attribute path (the start of a PATCH path).
    AttrPath,
    /// `and`, `or` or `)` (inside parentheses).
    AndOrCloseParen,
    /// `and`, `or` or `]` (inside a value filter).
    AndOrCloseBracket,
    /// `and`, `or` or the end of the filter.
    AndOrEnd,
    /// `[` or the end of the path (after a PATCH path's attribute).
    ValueFilterOrEnd,
    /// `.subAttr` or the end of the path (after a PATCH path's `]`).
    SubAttrOrEnd,
    /// The end of the input.
    End,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Expression => "an attribute path, \"(\" or \"not (\"",
            Expected::AttrPath => "an attribute path",
            Expected::AndOrCloseParen => "\"and\", \"or\" or \")\"",
            Expected::AndOrCloseBracket => "\"and\", \"or\" or \"]\"",
            Expected::AndOrEnd => "\"and\", \"or\" or end of input",
            Expected::ValueFilterOrEnd => "\"[\" or end of input",
            Expected::SubAttrOrEnd => "\".\" and a sub-attribute name, or end of input",
            Expected::End => "end of input",
        })
    }
}

/// What the parser found instead of what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The input ended.
    EndOfInput,
    /// The source text of the offending token (shortened when long).
    Text(String),
}

impl Found {
    /// The source text `src`, shortened to a quotable length.
    pub(crate) fn text(src: &str) -> Self {
        Found::Text(shorten(src))
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::EndOfInput => f.write_str("end of input"),
            // A string literal is already quoted.
            Found::Text(text) if text.starts_with('"') => write!(f, "string {text}"),
            Found::Text(text) => write!(f, "\"{}\"", quote(text)),
        }
    }
}

/// Why an attribute path is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttrPathProblem {
    /// A `urn:` prefix without anything between `urn:` and the attribute name.
    BadUrn,
    /// A `:` in a path that does not start with `urn:`.
    UnexpectedColon,
    /// An empty attribute or sub-attribute name (`name.`, `.x`).
    EmptyName,
    /// A name that is not `ALPHA *(ALPHA / DIGIT / "-" / "_")` (with an
    /// optional leading `$`).
    BadName,
    /// More than one `.`: `a.b.c`.
    TooManySubAttrs,
    /// A value filter after a sub-attribute: `name.givenName[…]`.
    SubAttrWithValueFilter,
}

impl fmt::Display for AttrPathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttrPathProblem::BadUrn => {
                "expected a schema URN prefix of the form urn:<namespace>:…:<attribute>"
            }
            AttrPathProblem::UnexpectedColon => {
                "\":\" is only allowed after a schema URN prefix (expected a path starting with \"urn:\")"
            }
            AttrPathProblem::EmptyName => "expected an attribute name, found nothing",
            AttrPathProblem::BadName => {
                "expected a name made of a letter followed by letters, digits, \"-\" or \"_\" (optionally after a leading \"$\")"
            }
            AttrPathProblem::TooManySubAttrs => {
                "only one level of sub-attribute is allowed (expected name or name.subName)"
            }
            AttrPathProblem::SubAttrWithValueFilter => {
                "a value filter \"[...]\" must follow an attribute, not a sub-attribute"
            }
        })
    }
}

/// Shortens `s` to at most [`MAX_QUOTED_CHARS`] characters, marking the cut.
pub(crate) fn shorten(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Escapes characters that would make a quoted piece of input ambiguous or
/// unprintable (quotes, backslashes and control characters).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn found_is_shortened_and_quoted() {
        let long = "x".repeat(100);
        let Found::Text(text) = Found::text(&long) else {
            panic!("expected text");
        };
        assert_eq!(text.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(text.ends_with('…'));
        assert_eq!(Found::text("a\"b").to_string(), r#""a\"b""#);
        assert_eq!(Found::text("\"s\"").to_string(), r#"string "s""#);
        assert_eq!(Found::EndOfInput.to_string(), "end of input");
    }

    #[test]
    fn display_has_offset_prefix() {
        let err = ParseError::new(
            12,
            ParseErrorKind::UnknownOperator {
                found: Found::text("xx"),
            },
        );
        assert_eq!(
            err.to_string(),
            r#"at byte 12: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found "xx""#
        );
    }
}
