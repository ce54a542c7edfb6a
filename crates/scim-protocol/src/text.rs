//! The one validity rule for a client's text, the same whichever store
//! keeps it (docs/decisions.md, "One validity rule for text").
//!
//! - No string a client sends holds a C0 control character (U+0000 to
//!   U+001F) or DEL (U+007F), except TAB, LF and CR in free text. NUL is
//!   the reason: PostgreSQL cannot store it in a text column, nor read it
//!   as `jsonb`; SQLite would keep it, and the two stores would differ.
//! - Every string has an announced length limit, counted in characters
//!   (Unicode scalar values), chosen so that the longest value still fits
//!   the indexes that hold it on PostgreSQL (a btree entry holds at most
//!   2,704 bytes).
//!
//! A value that breaks the rule is refused with `400 invalidValue` and a
//! detail naming the attribute, the character or the limit. Combining
//! marks, emoji and any other non-control character are text like any
//! other.

use serde_json::Value;

use super::error::{ScimError, ScimResult};

/// Identifiers and names: one line, at most this many characters
/// (userName, externalId, displayName, the `value` of a multi-valued
/// attribute such as emails).
pub const NAME_MAX: usize = 256;
/// The label of a multi-valued attribute's element (`type`): one line.
pub const LABEL_MAX: usize = 64;
/// Every other string: free text, at most this many characters.
pub const TEXT_MAX: usize = 1024;
/// Binary values (base64): at most this many characters.
pub const BINARY_MAX: usize = 2048;

/// How long a string may be, and whether it must be a single line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// The most characters (Unicode scalar values) it may hold.
    pub max_chars: usize,
    /// TAB, LF and CR are refused too.
    pub single_line: bool,
}

impl TextRule {
    /// Identifiers and names: one line, [`NAME_MAX`] characters.
    pub const NAME: TextRule = TextRule {
        max_chars: NAME_MAX,
        single_line: true,
    };
    /// An element's label: one line, [`LABEL_MAX`] characters.
    pub const LABEL: TextRule = TextRule {
        max_chars: LABEL_MAX,
        single_line: true,
    };
    /// Free text: TAB, LF and CR allowed, [`TEXT_MAX`] characters.
    pub const TEXT: TextRule = TextRule {
        max_chars: TEXT_MAX,
        single_line: false,
    };
    /// base64 (line breaks allowed), [`BINARY_MAX`] characters.
    pub const BINARY: TextRule = TextRule {
        max_chars: BINARY_MAX,
        single_line: false,
    };
}

impl TextRule {
    /// An attribute's rule unless its schema says otherwise: binary or text.
    pub fn of(binary: bool) -> TextRule {
        if binary {
            TextRule::BINARY
        } else {
            TextRule::TEXT
        }
    }
}

/// A character no client string may hold: the C0 controls but TAB, LF and
/// CR, and DEL.
pub fn is_forbidden(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// A character a single-line string may not hold: every C0 control and DEL.
pub fn breaks_line(c: char) -> bool {
    c.is_ascii_control()
}

/// The first refused character of `s` under `rule`, with its 1-based
/// position in characters.
fn first_refused(s: &str, single_line: bool) -> Option<(usize, char)> {
    // Every refused character is ASCII: a byte scan finds whether there is one.
    if !s.bytes().any(|b| b.is_ascii_control()) {
        return None;
    }
    let refused = if single_line {
        breaks_line
    } else {
        is_forbidden
    };
    s.chars()
        .enumerate()
        .find(|(_, c)| refused(*c))
        .map(|(i, c)| (i + 1, c))
}

fn control_error(label: &str, at: usize, c: char, single_line: bool) -> ScimError {
    let allowed = if single_line {
        "it is a single line of text, without control characters"
    } else {
        "no control character is allowed but TAB, LF and CR"
    };
    ScimError::invalid_value(format!(
        "'{label}' holds the control character U+{:04X} at character {at}: {allowed}",
        u32::from(c)
    ))
}

/// Length in characters, counting no further than `max + 1`.
fn too_long(s: &str, max: usize) -> Option<usize> {
    // A string of at most `max` bytes has at most `max` characters.
    if s.len() <= max {
        return None;
    }
    let n = s.chars().count();
    (n > max).then_some(n)
}

/// Check `s`, the value of `label`, against `rule`.
pub fn check(label: &str, s: &str, rule: TextRule) -> ScimResult<()> {
    if let Some((at, c)) = first_refused(s, rule.single_line) {
        return Err(control_error(label, at, c, rule.single_line));
    }
    if let Some(n) = too_long(s, rule.max_chars) {
        return Err(ScimError::invalid_value(format!(
            "'{label}' is {n} characters long; it holds at most {}",
            rule.max_chars
        )));
    }
    Ok(())
}

/// Check that `s` holds no forbidden character (any length).
pub fn check_chars(label: &str, s: &str) -> ScimResult<()> {
    match first_refused(s, false) {
        Some((at, c)) => Err(control_error(label, at, c, false)),
        None => Ok(()),
    }
}

/// Check every string of a JSON document, member names included, for
/// forbidden characters (lengths are the attributes' business). The error
/// names where the string is (`Operations[0].value.title`), or `root` (`the
/// request body`) for a document that is one string.
pub fn check_json(root: &str, v: &Value) -> ScimResult<()> {
    let Some(found) = find_forbidden(v) else {
        return Ok(());
    };
    // Built on the way back up, innermost first.
    let mut place = String::new();
    for step in found.path.iter().rev() {
        match step {
            Step::Index(i) => place.push_str(&format!("[{i}]")),
            Step::Name(n) if place.is_empty() => place.push_str(n),
            Step::Name(n) => {
                place.push('.');
                place.push_str(n);
            }
        }
    }
    let label = match (found.in_name, place.is_empty()) {
        (true, true) => format!("a member name of {root}"),
        (true, false) => format!("a member name in {place}"),
        (false, true) => root.to_string(),
        (false, false) => place,
    };
    Err(control_error(&label, found.at, found.c, false))
}

struct Found {
    at: usize,
    c: char,
    /// In a member's name, not in a value.
    in_name: bool,
    /// Where, innermost step first.
    path: Vec<Step>,
}

enum Step {
    Index(usize),
    Name(String),
}

/// Depth-first: the first forbidden character and where it is. Nothing
/// is allocated unless one is found. serde_json bounds the depth of what
/// it parses (128), and so the recursion.
fn find_forbidden(v: &Value) -> Option<Found> {
    let found = |(at, c), in_name| Found {
        at,
        c,
        in_name,
        path: Vec::new(),
    };
    match v {
        Value::String(s) => first_refused(s, false).map(|f| found(f, false)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let mut inner = find_forbidden(item)?;
            inner.path.push(Step::Index(i));
            Some(inner)
        }),
        Value::Object(members) => {
            if let Some(f) = members.keys().find_map(|k| first_refused(k, false)) {
                return Some(found(f, true));
            }
            members.iter().find_map(|(k, item)| {
                let mut inner = find_forbidden(item)?;
                inner.path.push(Step::Name(k.clone()));
                Some(inner)
            })
        }
        _ => None,
    }
}

/// The one folding of case-insensitive text (`caseExact: false`, RFC 7643
/// §2.2): Unicode default case folding, full (CaseFolding.txt statuses C
/// and F: `ß` folds to `ss`, `Σ` and `ς` to `σ`, `İ` to `i̇`), without
/// normalisation (a precomposed `é` and `e` + U+0301 stay different, as
/// sent). Everything that compares such text folds both sides with it:
/// the stores' shadow columns, filter operands, the in-memory filter
/// evaluator, PATCH value paths, mapping rules and the admin search.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    caseless::default_case_fold_str(s)
}

/// Whether `a` and `b` are the same text but for case ([`fold`]).
pub fn fold_eq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    fold(a) == fold(b)
}

#[cfg(test)]
mod fold_tests {
    use super::{fold, fold_eq};

    #[test]
    fn folding_is_unicode_and_full() {
        assert_eq!(fold("ÉDITH"), "édith");
        assert_eq!(fold("ZOË"), "zoë");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), fold("σίσυφος"));
        assert_eq!(fold("Ωμέγα"), "ωμέγα");
        assert_eq!(fold("ПРИВЕТ"), "привет");
        assert_eq!(fold("Ada@Example.COM"), "ada@example.com");
        assert!(fold_eq("MASSE", "Maße"));
        assert!(fold_eq("Édith", "ÉDITH"));
        // No normalisation: a combining accent is another string.
        assert!(!fold_eq("\u{e9}dith", "e\u{301}dith"));
        assert_eq!(fold("E\u{301}DITH"), "e\u{301}dith");
    }
}
