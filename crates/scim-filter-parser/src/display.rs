//! Canonical text for the AST.
//!
//! * operators and keywords in lower case, one space between tokens;
//! * strings JSON-escaped in double quotes (`"` `\` and control characters
//!   escaped, everything else written as is), numbers as their lexeme,
//!   `true`/`false`/`null`;
//! * the fewest parentheses that keep the tree: `and` binds tighter than
//!   `or` and both are left-associative, so `(a or b) and c` and
//!   `a and (b and c)` keep theirs while `a and b or c` needs none;
//! * `not (…)` always has its parentheses;
//! * value paths as `attr[filter]`, PATCH paths as `attr[filter].sub`.
//!
//! Parsing the output gives back an equal AST (for any AST the parser can
//! produce).

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

impl CompareOp {
    /// The operator's canonical (lower-case) keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(true) => f.write_str("true"),
            CompValue::Bool(false) => f.write_str("false"),
            CompValue::Number(lexeme) => f.write_str(lexeme),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// Writes `s` as a JSON string literal.
fn write_json_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut plain_start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if u32::from(c) < 0x20 => "",
            _ => continue,
        };
        f.write_str(s.get(plain_start..i).unwrap_or_default())?;
        if escape.is_empty() {
            write!(f, "\\u{:04x}", u32::from(c))?;
        } else {
            f.write_str(escape)?;
        }
        plain_start = i + c.len_utf8();
    }
    f.write_str(s.get(plain_start..).unwrap_or_default())?;
    f.write_char('"')
}

/// Binding strength, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Atom,
}

fn prec(filter: &Filter) -> Prec {
    match filter {
        Filter::Or(..) => Prec::Or,
        Filter::And(..) => Prec::And,
        Filter::Compare { .. } | Filter::Present(_) | Filter::Not(_) | Filter::ValuePath { .. } => {
            Prec::Atom
        }
    }
}

/// Writes `filter`, in parentheses if it binds more loosely than `min`.
fn write_filter(f: &mut Formatter<'_>, filter: &Filter, min: Prec) -> fmt::Result {
    if prec(filter) < min {
        f.write_char('(')?;
        write_filter(f, filter, Prec::Or)?;
        return f.write_char(')');
    }
    match filter {
        Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
        Filter::Present(path) => write!(f, "{path} pr"),
        // Left-associative: the left operand may be the same operator
        // unparenthesised, the right one may not.
        Filter::Or(lhs, rhs) => {
            write_filter(f, lhs, Prec::Or)?;
            f.write_str(" or ")?;
            write_filter(f, rhs, Prec::And)
        }
        Filter::And(lhs, rhs) => {
            write_filter(f, lhs, Prec::And)?;
            f.write_str(" and ")?;
            write_filter(f, rhs, Prec::Atom)
        }
        Filter::Not(inner) => {
            f.write_str("not (")?;
            write_filter(f, inner, Prec::Or)?;
            f.write_char(')')
        }
        Filter::ValuePath { path, filter } => {
            write!(f, "{path}[")?;
            write_filter(f, filter, Prec::Or)?;
            f.write_char(']')
        }
    }
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_filter(f, self, Prec::Or)
    }
}

impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => path.fmt(f),
            PatchPath::ValuePath {
                attr,
                filter,
                sub_attr,
            } => {
                write!(f, "{attr}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn attr(name: &str) -> AttrPath {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    fn pr(name: &str) -> Filter {
        Filter::Present(attr(name))
    }

    fn and(l: Filter, r: Filter) -> Filter {
        Filter::And(Box::new(l), Box::new(r))
    }

    fn or(l: Filter, r: Filter) -> Filter {
        Filter::Or(Box::new(l), Box::new(r))
    }

    #[test]
    fn strings_are_json_escaped() {
        let v = CompValue::String("a\"b\\c/\n\r\t\u{8}\u{c}\u{1}\u{1f}é😀\u{7f}".into());
        assert_eq!(
            v.to_string(),
            "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001fé😀\u{7f}\""
        );
        assert_eq!(CompValue::String(String::new()).to_string(), "\"\"");
    }

    #[test]
    fn minimal_parentheses() {
        let (a, b, c) = (pr("a"), pr("b"), pr("c"));
        let cases = [
            (
                and(and(a.clone(), b.clone()), c.clone()),
                "a pr and b pr and c pr",
            ),
            (
                and(a.clone(), and(b.clone(), c.clone())),
                "a pr and (b pr and c pr)",
            ),
            (
                or(or(a.clone(), b.clone()), c.clone()),
                "a pr or b pr or c pr",
            ),
            (
                or(a.clone(), or(b.clone(), c.clone())),
                "a pr or (b pr or c pr)",
            ),
            (
                or(and(a.clone(), b.clone()), c.clone()),
                "a pr and b pr or c pr",
            ),
            (
                or(a.clone(), and(b.clone(), c.clone())),
                "a pr or b pr and c pr",
            ),
            (
                and(or(a.clone(), b.clone()), c.clone()),
                "(a pr or b pr) and c pr",
            ),
            (
                and(a.clone(), or(b.clone(), c.clone())),
                "a pr and (b pr or c pr)",
            ),
            (Filter::Not(Box::new(a.clone())), "not (a pr)"),
            (
                Filter::Not(Box::new(or(a.clone(), b.clone()))),
                "not (a pr or b pr)",
            ),
        ];
        for (filter, text) in cases {
            assert_eq!(filter.to_string(), text);
        }
    }

    #[test]
    fn paths() {
        let p = AttrPath {
            uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            name: "manager".into(),
            sub_attr: Some("value".into()),
        };
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
        let pp = PatchPath::ValuePath {
            attr: attr("emails"),
            filter: Filter::Compare {
                path: attr("type"),
                op: CompareOp::Eq,
                value: CompValue::String("work".into()),
            },
            sub_attr: Some("value".into()),
        };
        assert_eq!(pp.to_string(), "emails[type eq \"work\"].value");
    }
}
