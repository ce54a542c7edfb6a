//! Recursive-descent parser for filters (RFC 7644 §3.4.2.2) and PATCH paths
//! (§3.5.2).
//!
//! Grammar (`and` binds tighter than `or`, both left-associative):
//!
//! ```text
//! filter    = orExp
//! orExp     = andExp *("or" andExp)
//! andExp    = unary *("and" unary)
//! unary     = "(" orExp ")" / "not" "(" orExp ")" / attrExp
//! attrExp   = attrPath "pr"
//!           / attrPath compareOp compValue
//!           / attrPath "[" orExp "]"                      ; value path
//!           / attrPath "[" orExp "]" "." subAttr "pr"      ; desugared, see below
//!           / attrPath "[" orExp "]" "." subAttr compareOp compValue
//! patchPath = attrPath / attrPath "[" orExp "]" ["." subAttr]
//! ```
//!
//! Depth accounting (see [`Limits`]): every parse function returns the
//! nesting depth of what it parsed, relative to its caller, and receives in
//! [`Ctx::nesting`] the number of levels already known to enclose it. A
//! level is checked against the limit *before* recursing into `(`, `not (` or
//! `[`, so recursion never exceeds `max_depth` frames; `and`/`or` chains are
//! built by loops and checked as each node is made.

use crate::ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::error::{AttrPathProblem, Expected, Found, ParseError, ParseErrorKind};
use crate::lexer::{Lexer, Tok, Token};
use crate::Limits;

/// Parses a whole filter.
pub(crate) fn filter(input: &str, limits: &Limits) -> Result<Filter, ParseError> {
    precheck(input, limits)?;
    let mut parser = Parser::new(input, limits.max_depth);
    let (filter, _) = parser.or_expr(Ctx::TOP)?;
    parser.expect_end(Expected::AndOrEnd)?;
    Ok(filter)
}

/// Parses a whole PATCH path.
pub(crate) fn patch_path(input: &str, limits: &Limits) -> Result<PatchPath, ParseError> {
    precheck(input, limits)?;
    let mut parser = Parser::new(input, limits.max_depth);
    parser.patch_path()
}

/// The checks done before any lexing: length first, then emptiness.
fn precheck(input: &str, limits: &Limits) -> Result<(), ParseError> {
    if input.len() > limits.max_len {
        return Err(ParseError::new(
            limits.max_len,
            ParseErrorKind::TooLong {
                len: input.len(),
                max: limits.max_len,
            },
        ));
    }
    if input.bytes().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::new(0, ParseErrorKind::Empty));
    }
    Ok(())
}

/// Where an expression is being parsed.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    /// Levels known to enclose this expression (groups, `not`, `[`, and the
    /// `and`/`or` node whose right operand this is).
    nesting: usize,
    /// Inside `attr[ … ]`, where another value path is not allowed.
    in_value_filter: bool,
    /// Inside `( … )` (within the innermost value filter, if any), so that a
    /// `)` may close something.
    in_group: bool,
}

impl Ctx {
    const TOP: Ctx = Ctx {
        nesting: 0,
        in_value_filter: false,
        in_group: false,
    };

    /// One level deeper.
    fn deeper(self) -> Ctx {
        Ctx {
            nesting: self.nesting.saturating_add(1),
            ..self
        }
    }

    /// One level deeper, inside a group.
    fn group(self) -> Ctx {
        Ctx {
            nesting: self.nesting.saturating_add(1),
            in_group: true,
            ..self
        }
    }

    /// One level deeper, inside a value filter.
    fn value_filter(self) -> Ctx {
        Ctx {
            nesting: self.nesting.saturating_add(1),
            in_value_filter: true,
            in_group: false,
        }
    }
}

/// A parsed filter and its depth relative to where it was parsed.
type Parsed = (Filter, usize);

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, max_depth: usize) -> Self {
        Parser {
            lexer: Lexer::new(input),
            peeked: None,
            max_depth,
        }
    }

    // ----- token plumbing -------------------------------------------------

    fn peek(&mut self) -> Result<&Token<'a>, ParseError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    fn bump(&mut self) -> Result<Token<'a>, ParseError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    /// If the next token is the keyword `kw` (any case), consumes it and
    /// returns its offset.
    fn eat_keyword(&mut self, kw: &str) -> Result<Option<usize>, ParseError> {
        let token = self.peek()?;
        match token.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case(kw) => {
                let start = token.start;
                self.peeked = None;
                Ok(Some(start))
            }
            _ => Ok(None),
        }
    }

    /// What `token` looks like, for an error message.
    fn found(&self, token: &Token<'_>) -> Found {
        match token.tok {
            Tok::End => Found::EndOfInput,
            _ => Found::text(
                self.lexer
                    .src()
                    .get(token.start..token.end)
                    .unwrap_or_default(),
            ),
        }
    }

    fn unexpected(&self, token: &Token<'_>, expected: Expected) -> ParseError {
        ParseError::new(
            token.start,
            ParseErrorKind::Unexpected {
                expected,
                found: self.found(token),
            },
        )
    }

    /// Fails with [`ParseErrorKind::TooDeep`] at `offset` if an expression at
    /// `depth` levels is over the limit.
    fn check_depth(&self, depth: usize, offset: usize) -> Result<(), ParseError> {
        if depth > self.max_depth {
            Err(ParseError::new(
                offset,
                ParseErrorKind::TooDeep {
                    max: self.max_depth,
                },
            ))
        } else {
            Ok(())
        }
    }

    /// Requires the end of the input; otherwise explains what is in the way.
    fn expect_end(&mut self, expected: Expected) -> Result<(), ParseError> {
        let token = self.bump()?;
        let kind = match token.tok {
            Tok::End => return Ok(()),
            Tok::RParen => ParseErrorKind::UnmatchedCloseParen,
            Tok::RBracket => ParseErrorKind::UnmatchedCloseBracket,
            _ => ParseErrorKind::TrailingInput {
                expected,
                found: self.found(&token),
            },
        };
        Err(ParseError::new(token.start, kind))
    }

    /// Requires the `)` closing the `(` at `open`.
    fn expect_close_paren(&mut self, open: usize) -> Result<(), ParseError> {
        let token = self.bump()?;
        match token.tok {
            Tok::RParen => Ok(()),
            Tok::End => Err(ParseError::new(
                token.start,
                ParseErrorKind::UnclosedParen { open },
            )),
            _ => Err(self.unexpected(&token, Expected::AndOrCloseParen)),
        }
    }

    /// Requires the `]` closing the `[` at `open`.
    fn expect_close_bracket(&mut self, open: usize) -> Result<(), ParseError> {
        let token = self.bump()?;
        match token.tok {
            Tok::RBracket => Ok(()),
            Tok::End => Err(ParseError::new(
                token.start,
                ParseErrorKind::UnclosedBracket { open },
            )),
            _ => Err(self.unexpected(&token, Expected::AndOrCloseBracket)),
        }
    }

    // ----- filters --------------------------------------------------------

    /// `orExp = andExp *("or" andExp)`, left-associative.
    fn or_expr(&mut self, ctx: Ctx) -> Result<Parsed, ParseError> {
        let (mut lhs, mut depth) = self.and_expr(ctx)?;
        while let Some(at) = self.eat_keyword("or")? {
            let (rhs, rhs_depth) = self.and_expr(ctx.deeper())?;
            depth = 1 + depth.max(rhs_depth);
            self.check_depth(ctx.nesting.saturating_add(depth), at)?;
            lhs = Filter::Or(Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, depth))
    }

    /// `andExp = unary *("and" unary)`, left-associative.
    fn and_expr(&mut self, ctx: Ctx) -> Result<Parsed, ParseError> {
        let (mut lhs, mut depth) = self.unary(ctx)?;
        while let Some(at) = self.eat_keyword("and")? {
            let (rhs, rhs_depth) = self.unary(ctx.deeper())?;
            depth = 1 + depth.max(rhs_depth);
            self.check_depth(ctx.nesting.saturating_add(depth), at)?;
            lhs = Filter::And(Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, depth))
    }

    /// `"(" orExp ")" / "not" "(" orExp ")" / attrExp`
    fn unary(&mut self, ctx: Ctx) -> Result<Parsed, ParseError> {
        let token = self.bump()?;
        match token.tok {
            Tok::LParen => {
                let (inner, depth) = self.group(token.start, ctx)?;
                Ok((inner, depth + 1))
            }
            Tok::Word(word) if word.eq_ignore_ascii_case("not") => {
                let next = self.peek()?;
                match next.tok {
                    Tok::LParen => {
                        let open = next.start;
                        self.peeked = None;
                        let (inner, depth) = self.group(open, ctx)?;
                        Ok((Filter::Not(Box::new(inner)), depth + 1))
                    }
                    // An attribute that happens to be called `not`.
                    Tok::LBracket => self.attr_expr(word, token.start, ctx),
                    Tok::Word(op) if is_operator(op) => self.attr_expr(word, token.start, ctx),
                    _ => {
                        let next = next.clone();
                        Err(ParseError::new(
                            next.start,
                            ParseErrorKind::NotWithoutParen {
                                found: self.found(&next),
                            },
                        ))
                    }
                }
            }
            Tok::Word(word) => self.attr_expr(word, token.start, ctx),
            Tok::RParen if !ctx.in_group => Err(ParseError::new(
                token.start,
                ParseErrorKind::UnmatchedCloseParen,
            )),
            Tok::RBracket if !ctx.in_value_filter => Err(ParseError::new(
                token.start,
                ParseErrorKind::UnmatchedCloseBracket,
            )),
            _ => Err(self.unexpected(&token, Expected::Expression)),
        }
    }

    /// The inside of a group whose `(` at `open` has been consumed, up to and
    /// including the `)`. Returns the inner expression and its depth (the
    /// caller adds the level of the group itself).
    fn group(&mut self, open: usize, ctx: Ctx) -> Result<Parsed, ParseError> {
        let inner_ctx = ctx.group();
        self.check_depth(inner_ctx.nesting, open)?;
        let parsed = self.or_expr(inner_ctx)?;
        self.expect_close_paren(open)?;
        Ok(parsed)
    }

    /// An expression starting with the attribute path `word` (at `start`):
    /// a comparison, a presence test or a value path.
    fn attr_expr(&mut self, word: &str, start: usize, ctx: Ctx) -> Result<Parsed, ParseError> {
        let path = attr_path(word, start)?;
        let token = self.peek()?;
        if token.tok != Tok::LBracket {
            return Ok((self.comparison(path)?, 0));
        }
        let open = token.start;
        self.peeked = None;
        let (inner, inner_depth) = self.value_filter(&path, word, start, open, ctx)?;

        // `attr[filter].sub op value` reads as `attr[filter and sub op value]`.
        let token = self.peek()?;
        let Tok::SubAttr(sub) = token.tok else {
            return Ok((value_path(path, inner), inner_depth + 1));
        };
        let sub_start = token.start;
        self.peeked = None;
        let sub = sub_attr(sub, sub_start + 1)?;
        // Count it as its canonical form `attr[inner and sub …]`: the `and`
        // and the `[ ]`, plus the parentheses an `or` needs under the `and`.
        let depth = inner_depth + 2 + usize::from(matches!(inner, Filter::Or(..)));
        self.check_depth(ctx.nesting.saturating_add(depth), sub_start)?;
        let comparison = self.comparison(sub)?;
        let filter = Filter::And(Box::new(inner), Box::new(comparison));
        Ok((value_path(path, filter), depth))
    }

    /// The inside of `path[ … ]` whose `[` at `open` has been consumed, up to
    /// and including the `]`. `word` and `start` locate the path for errors.
    fn value_filter(
        &mut self,
        path: &AttrPath,
        word: &str,
        start: usize,
        open: usize,
        ctx: Ctx,
    ) -> Result<Parsed, ParseError> {
        if ctx.in_value_filter {
            return Err(ParseError::new(open, ParseErrorKind::NestedValuePath));
        }
        if path.sub_attr.is_some() {
            // Point at the `.` of the sub-attribute.
            let dot = word.rfind('.').map_or(start, |i| start + i);
            return Err(invalid_path(
                word,
                dot,
                AttrPathProblem::SubAttrWithValueFilter,
            ));
        }
        let inner_ctx = ctx.value_filter();
        self.check_depth(inner_ctx.nesting, open)?;
        let parsed = self.or_expr(inner_ctx)?;
        self.expect_close_bracket(open)?;
        Ok(parsed)
    }

    /// After an attribute path: `pr`, or an operator and a value.
    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ParseError> {
        let token = self.bump()?;
        let op = match token.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Tok::Word(w) => compare_op(w),
            _ => None,
        };
        let Some(op) = op else {
            return Err(ParseError::new(
                token.start,
                ParseErrorKind::UnknownOperator {
                    found: self.found(&token),
                },
            ));
        };
        let token = self.bump()?;
        let value = match token.tok {
            Tok::Str(s) => CompValue::String(s),
            Tok::Number(n) => CompValue::Number(n.to_owned()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            _ => {
                return Err(ParseError::new(
                    token.start,
                    ParseErrorKind::MissingValue {
                        op,
                        found: self.found(&token),
                    },
                ))
            }
        };
        Ok(Filter::Compare { path, op, value })
    }

    // ----- PATCH paths ----------------------------------------------------

    /// `attrPath / attrPath "[" valFilter "]" ["." subAttr]`
    fn patch_path(&mut self) -> Result<PatchPath, ParseError> {
        let first = self.bump()?;
        let Tok::Word(word) = first.tok else {
            return Err(self.unexpected(&first, Expected::AttrPath));
        };
        let path = attr_path(word, first.start)?;
        let token = self.peek()?;
        if token.tok != Tok::LBracket {
            self.expect_end(Expected::ValueFilterOrEnd)?;
            return Ok(PatchPath::Attr(path));
        }
        let open = token.start;
        self.peeked = None;
        let (filter, _) = self.value_filter(&path, word, first.start, open, Ctx::TOP)?;
        let token = self.peek()?;
        let sub_attr = match token.tok {
            Tok::SubAttr(sub) => {
                let at = token.start + 1;
                self.peeked = None;
                let sub = sub_attr(sub, at)?;
                self.expect_end(Expected::End)?;
                Some(sub.name)
            }
            _ => {
                self.expect_end(Expected::SubAttrOrEnd)?;
                None
            }
        };
        Ok(PatchPath::ValuePath {
            attr: path,
            filter,
            sub_attr,
        })
    }
}

fn value_path(path: AttrPath, filter: Filter) -> Filter {
    Filter::ValuePath {
        path,
        filter: Box::new(filter),
    }
}

/// Is `word` one of the comparison operators or `pr`?
fn is_operator(word: &str) -> bool {
    word.eq_ignore_ascii_case("pr") || compare_op(word).is_some()
}

fn compare_op(word: &str) -> Option<CompareOp> {
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
    OPS.iter()
        .find(|(name, _)| word.eq_ignore_ascii_case(name))
        .map(|&(_, op)| op)
}

fn invalid_path(word: &str, offset: usize, problem: AttrPathProblem) -> ParseError {
    ParseError::new(
        offset,
        ParseErrorKind::InvalidAttrPath {
            path: crate::error::shorten(word),
            problem,
        },
    )
}

/// Splits the word at `start` into `[urn:… ":"] name ["." sub]`.
///
/// A word beginning with `urn:` (any case) is split at its *last* `:`: what
/// precedes is the schema URN (which may contain dots, as in `2.0`), what
/// follows is `name[.sub]`.
fn attr_path(word: &str, start: usize) -> Result<AttrPath, ParseError> {
    let has_urn = word
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"));
    let (uri, rest, rest_start) = if has_urn {
        // `urn:` contains a colon, so there is a last one, at index >= 3.
        let colon = word.rfind(':').unwrap_or(3);
        // The URN needs something after `urn:`: `urn:name` and `urn::name` are rejected.
        if colon <= 4 {
            return Err(invalid_path(word, start, AttrPathProblem::BadUrn));
        }
        let uri = word.get(..colon).unwrap_or_default();
        let rest = word.get(colon + 1..).unwrap_or_default();
        (Some(uri.to_owned()), rest, start + colon + 1)
    } else {
        if let Some(colon) = word.find(':') {
            return Err(invalid_path(
                word,
                start + colon,
                AttrPathProblem::UnexpectedColon,
            ));
        }
        (None, word, start)
    };
    let (name, sub_attr) = match rest.split_once('.') {
        None => (rest, None),
        Some((name, sub)) => {
            if let Some(dot) = sub.find('.') {
                let offset = rest_start + name.len() + 1 + dot;
                return Err(invalid_path(word, offset, AttrPathProblem::TooManySubAttrs));
            }
            (name, Some(sub))
        }
    };
    check_name(name, rest_start)
        .map_err(|(offset, problem)| invalid_path(word, offset, problem))?;
    if let Some(sub) = sub_attr {
        let sub_start = rest_start + name.len() + 1;
        check_name(sub, sub_start)
            .map_err(|(offset, problem)| invalid_path(word, offset, problem))?;
    }
    Ok(AttrPath {
        uri,
        name: name.to_owned(),
        sub_attr: sub_attr.map(str::to_owned),
    })
}

/// A sub-attribute name after `]` (the `.` is already stripped; the name
/// starts at `start`), as a relative path.
fn sub_attr(word: &str, start: usize) -> Result<AttrPath, ParseError> {
    if let Some(i) = word.find(['.', ':']) {
        let problem = if word.as_bytes().get(i) == Some(&b'.') {
            AttrPathProblem::TooManySubAttrs
        } else {
            AttrPathProblem::UnexpectedColon
        };
        return Err(invalid_path(word, start + i, problem));
    }
    check_name(word, start).map_err(|(offset, problem)| invalid_path(word, offset, problem))?;
    Ok(AttrPath {
        uri: None,
        name: word.to_owned(),
        sub_attr: None,
    })
}

/// Checks `ATTRNAME = ["$"] ALPHA *(ALPHA / DIGIT / "-" / "_")` for the name
/// at `start`; on failure returns the offset of the first bad byte.
fn check_name(name: &str, start: usize) -> Result<(), (usize, AttrPathProblem)> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err((start, AttrPathProblem::EmptyName));
    }
    let first = usize::from(bytes.first() == Some(&b'$'));
    if !bytes.get(first).is_some_and(u8::is_ascii_alphabetic) {
        return Err((start + first, AttrPathProblem::BadName));
    }
    match bytes
        .iter()
        .skip(first + 1)
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        Some(bad) => Err((start + first + 1 + bad, AttrPathProblem::BadName)),
        None => Ok(()),
    }
}
