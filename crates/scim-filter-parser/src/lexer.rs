//! The tokeniser: splits the input into tokens that carry their byte spans.
//!
//! Lexing is context-free and on demand (the parser pulls one token at a
//! time), so the first error reported is the first one in the input. Words
//! (attribute paths, operators, keywords, `true`/`false`/`null`) are not
//! classified here: the parser decides by position what a word means, which
//! lets an attribute be called `and`, `pr` or `not`.

use crate::error::{shorten, ParseError, ParseErrorKind};

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A run of name characters starting with a letter or `$`: an attribute
    /// path (`urn:…:User:manager.value`), operator, keyword or literal name.
    Word(&'a str),
    /// `.name`: a dot directly followed by a word; holds the text after the dot.
    SubAttr(&'a str),
    /// A validated JSON number lexeme.
    Number(&'a str),
    /// A JSON string literal, unescaped.
    Str(String),
    /// Characters that start no token (`=`, `!=`, `&&`, …). The parser
    /// reports them with a message that fits their position.
    Other(&'a str),
    /// The end of the input.
    End,
}

/// A token and its byte span `start..end` in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Pulls tokens from the input.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// The whole input.
    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    /// The input from `from` on (`from` is always a char boundary).
    fn rest(&self, from: usize) -> &'a str {
        self.src.get(from..).unwrap_or_default()
    }

    /// The input between two char boundaries.
    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or_default()
    }

    /// Lexes the next token, skipping ASCII whitespace before it.
    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, ParseError> {
        let bytes = self.src.as_bytes();
        while bytes.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let mut chars = self.rest(start).chars();
        let Some(c) = chars.next() else {
            return Ok(Token {
                tok: Tok::End,
                start,
                end: start,
            });
        };
        let tok = match c {
            '(' => self.punct(Tok::LParen),
            ')' => self.punct(Tok::RParen),
            '[' => self.punct(Tok::LBracket),
            ']' => self.punct(Tok::RBracket),
            '"' => Tok::Str(self.string(start)?),
            '.' => match chars.next() {
                Some(next) if is_word_start(next) => {
                    self.pos = start + 1;
                    Tok::SubAttr(self.take_while(is_word_char))
                }
                // `.5`: reported as a bad number.
                Some(next) if next.is_ascii_digit() => Tok::Number(self.number(start)?),
                _ => Tok::Other(self.other()),
            },
            // `+1`: reported as a bad number.
            '+' if chars.next().is_some_and(|next| next.is_ascii_digit()) => {
                Tok::Number(self.number(start)?)
            }
            c if is_word_start(c) => Tok::Word(self.take_while(is_word_char)),
            c if c == '-' || c.is_ascii_digit() => Tok::Number(self.number(start)?),
            _ => Tok::Other(self.other()),
        };
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    /// A one-byte token.
    fn punct(&mut self, tok: Tok<'a>) -> Tok<'a> {
        self.pos += 1;
        tok
    }

    /// Consumes characters while `pred` holds and returns them.
    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        let len: usize = self
            .rest(start)
            .chars()
            .take_while(|&c| pred(c))
            .map(char::len_utf8)
            .sum();
        self.pos = start + len;
        self.slice(start, self.pos)
    }

    /// A run of characters that start no other token (at least one).
    fn other(&mut self) -> &'a str {
        let start = self.pos;
        let len: usize = self
            .rest(start)
            .chars()
            .enumerate()
            .take_while(|&(i, c)| i == 0 || !(c.is_whitespace() || starts_token(c)))
            .map(|(_, c)| c.len_utf8())
            .sum();
        self.pos = start + len;
        self.slice(start, self.pos)
    }

    /// A number: takes the whole run of number-like characters (so `12ab` is
    /// one bad number, not `12` followed by `ab`) and checks it against the
    /// JSON number grammar.
    fn number(&mut self, start: usize) -> Result<&'a str, ParseError> {
        self.pos = start;
        let lexeme =
            self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_'));
        if is_json_number(lexeme.as_bytes()) {
            Ok(lexeme)
        } else {
            Err(ParseError::new(
                start,
                ParseErrorKind::BadNumber {
                    lexeme: shorten(lexeme),
                },
            ))
        }
    }

    /// A JSON string literal whose opening quote is at `start`; returns its
    /// unescaped value.
    fn string(&mut self, start: usize) -> Result<String, ParseError> {
        let bytes = self.src.as_bytes();
        let mut out = String::new();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => {
                    return Err(ParseError::new(start, ParseErrorKind::UnterminatedString));
                }
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let (c, next) = self.escape(start, i)?;
                    out.push(c);
                    i = next;
                }
                Some(&b) if b < 0x20 => {
                    return Err(ParseError::new(
                        i,
                        ParseErrorKind::ControlCharInString { ch: char::from(b) },
                    ));
                }
                Some(_) => {
                    // Copy a run of ordinary characters. The bytes that end a
                    // run are ASCII, so the run ends on a char boundary.
                    let len = bytes
                        .get(i..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20)
                        .count();
                    out.push_str(self.slice(i, i + len));
                    i += len;
                }
            }
        }
    }

    /// The escape sequence whose backslash is at `at`, inside the string
    /// opened at `open`. Returns the character and the offset after the escape.
    fn escape(&self, open: usize, at: usize) -> Result<(char, usize), ParseError> {
        let bytes = self.src.as_bytes();
        let simple = |c: char| Ok((c, at + 2));
        match bytes.get(at + 1) {
            None => Err(ParseError::new(open, ParseErrorKind::UnterminatedString)),
            Some(b'"') => simple('"'),
            Some(b'\\') => simple('\\'),
            Some(b'/') => simple('/'),
            Some(b'b') => simple('\u{8}'),
            Some(b'f') => simple('\u{c}'),
            Some(b'n') => simple('\n'),
            Some(b'r') => simple('\r'),
            Some(b't') => simple('\t'),
            Some(b'u') => {
                let high = self.hex4(at)?;
                match high {
                    0xD800..=0xDBFF => {
                        let low_at = at + 6;
                        if bytes.get(low_at) == Some(&b'\\') && bytes.get(low_at + 1) == Some(&b'u')
                        {
                            let low = self.hex4(low_at)?;
                            if (0xDC00..=0xDFFF).contains(&low) {
                                let code = 0x10000
                                    + ((u32::from(high) - 0xD800) << 10)
                                    + (u32::from(low) - 0xDC00);
                                return match char::from_u32(code) {
                                    Some(c) => Ok((c, low_at + 6)),
                                    None => Err(lone_surrogate(at, high)),
                                };
                            }
                        }
                        Err(lone_surrogate(at, high))
                    }
                    0xDC00..=0xDFFF => Err(lone_surrogate(at, high)),
                    _ => match char::from_u32(u32::from(high)) {
                        Some(c) => Ok((c, at + 6)),
                        None => Err(lone_surrogate(at, high)),
                    },
                }
            }
            Some(_) => {
                // Quote the backslash and the (possibly multi-byte) character after it.
                let next_len = self.rest(at + 1).chars().next().map_or(0, char::len_utf8);
                Err(ParseError::new(
                    at,
                    ParseErrorKind::BadEscape {
                        escape: self.slice(at, at + 1 + next_len).to_owned(),
                    },
                ))
            }
        }
    }

    /// The four hex digits of the `\u` escape whose backslash is at `at`.
    fn hex4(&self, at: usize) -> Result<u16, ParseError> {
        let digits = self.src.as_bytes().get(at + 2..).unwrap_or_default();
        let mut value: u16 = 0;
        for i in 0..4 {
            match digits.get(i).and_then(|&b| char::from(b).to_digit(16)) {
                // `to_digit(16)` is < 16, so this fits in a u16.
                Some(d) => value = value * 16 + d as u16,
                None => {
                    // Quote `\u`, the hex digits seen so far and the bad character.
                    let bad_len = self
                        .rest(at + 2 + i)
                        .chars()
                        .next()
                        .map_or(0, char::len_utf8);
                    return Err(ParseError::new(
                        at,
                        ParseErrorKind::BadEscape {
                            escape: self.slice(at, at + 2 + i + bad_len).to_owned(),
                        },
                    ));
                }
            }
        }
        Ok(value)
    }
}

fn lone_surrogate(at: usize, code: u16) -> ParseError {
    ParseError::new(at, ParseErrorKind::LoneSurrogate { code })
}

/// Can `c` start a word? ASCII letters, `$` (for `$ref`), and non-ASCII
/// letters (so that `nämé` is reported as one bad attribute name).
fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '$' || (!c.is_ascii() && c.is_alphabetic())
}

/// Can `c` continue a word? Name characters plus `.` and `:` (paths and URNs).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '-' | '_' | '.' | ':' | '$')
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// Does `c` start a token other than [`Tok::Other`]?
fn starts_token(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '"' | '.' | '-') || c.is_ascii_digit() || is_word_start(c)
}

/// Is `s` a JSON number: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`
fn is_json_number(s: &[u8]) -> bool {
    let digits = |i: usize| {
        s.get(i..)
            .map_or(0, |t| t.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let mut i = usize::from(s.first() == Some(&b'-'));
    match s.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return false,
    }
    if s.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn tokens(src: &str) -> Vec<Tok<'_>> {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token().unwrap();
            if t.tok == Tok::End {
                return out;
            }
            out.push(t.tok);
        }
    }

    fn lex_err(src: &str) -> ParseError {
        let mut lexer = Lexer::new(src);
        loop {
            match lexer.next_token() {
                Ok(t) if t.tok == Tok::End => panic!("{src:?} lexed without error"),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    }

    #[test]
    fn splits_tokens_with_spans() {
        let mut lexer = Lexer::new("  emails[type eq \"w\"].value");
        let spans: Vec<_> = std::iter::from_fn(|| {
            let t = lexer.next_token().unwrap();
            (t.tok != Tok::End).then_some((t.start, t.end))
        })
        .collect();
        assert_eq!(
            spans,
            [
                (2, 8),
                (8, 9),
                (9, 13),
                (14, 16),
                (17, 20),
                (20, 21),
                (21, 27)
            ]
        );
    }

    #[test]
    fn token_kinds() {
        assert_eq!(
            tokens(r#"(a.b eq -1.5e3)[x pr] .sub "s" != urn:x:y:z"#),
            [
                Tok::LParen,
                Tok::Word("a.b"),
                Tok::Word("eq"),
                Tok::Number("-1.5e3"),
                Tok::RParen,
                Tok::LBracket,
                Tok::Word("x"),
                Tok::Word("pr"),
                Tok::RBracket,
                Tok::SubAttr("sub"),
                Tok::Str("s".into()),
                Tok::Other("!="),
                Tok::Word("urn:x:y:z"),
            ]
        );
        assert_eq!(tokens("$ref"), [Tok::Word("$ref")]);
        assert_eq!(tokens("a\t\n\r b"), [Tok::Word("a"), Tok::Word("b")]);
        assert_eq!(tokens(". ="), [Tok::Other("."), Tok::Other("=")]);
    }

    #[test]
    fn json_numbers() {
        for ok in [
            "0", "-0", "1", "42", "-1.5", "1e3", "1E+3", "2.5e-3", "0.0", "10",
        ] {
            assert!(is_json_number(ok.as_bytes()), "{ok}");
            assert_eq!(tokens(ok), [Tok::Number(ok)]);
        }
        for bad in [
            "01", "-", "1.", ".5", "+1", "1e", "1e+", "--1", "1.2.3", "0x10", "1_0", "12ab",
        ] {
            let err = lex_err(bad);
            assert_eq!(err.offset, 0, "{bad}");
            assert_eq!(
                err.kind,
                ParseErrorKind::BadNumber {
                    lexeme: bad.to_owned()
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            tokens(r#""a\"b\\c\/d\be\ff\ng\rh\ti""#),
            [Tok::Str("a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti".into())]
        );
        assert_eq!(tokens(r#""\u00e9\u20AC""#), [Tok::Str("é€".into())]);
        assert_eq!(tokens(r#""\uD83D\uDE00""#), [Tok::Str("😀".into())]);
        assert_eq!(tokens("\"é😀\""), [Tok::Str("é😀".into())]);
        assert_eq!(tokens(r#""""#), [Tok::Str(String::new())]);
    }

    #[test]
    fn string_errors() {
        let e = lex_err(r#"x "ab\x""#);
        assert_eq!(
            (e.offset, e.kind),
            (
                5,
                ParseErrorKind::BadEscape {
                    escape: r"\x".into()
                }
            )
        );
        let e = lex_err(r#""\é""#);
        assert_eq!(
            (e.offset, e.kind),
            (
                1,
                ParseErrorKind::BadEscape {
                    escape: "\\é".into()
                }
            )
        );
        let e = lex_err(r#""\u12G4""#);
        assert_eq!(
            (e.offset, e.kind),
            (
                1,
                ParseErrorKind::BadEscape {
                    escape: r"\u12G".into()
                }
            )
        );
        let e = lex_err(r#""\u12"#);
        assert_eq!(
            (e.offset, e.kind),
            (
                1,
                ParseErrorKind::BadEscape {
                    escape: r"\u12".into()
                }
            )
        );
        let e = lex_err(r#""\uD800""#);
        assert_eq!(
            (e.offset, e.kind),
            (1, ParseErrorKind::LoneSurrogate { code: 0xD800 })
        );
        let e = lex_err(r#""\uD800\u0041""#);
        assert_eq!(
            (e.offset, e.kind),
            (1, ParseErrorKind::LoneSurrogate { code: 0xD800 })
        );
        let e = lex_err(r#""ab\uDC00""#);
        assert_eq!(
            (e.offset, e.kind),
            (3, ParseErrorKind::LoneSurrogate { code: 0xDC00 })
        );
        let e = lex_err("\"a\nb\"");
        assert_eq!(
            (e.offset, e.kind),
            (2, ParseErrorKind::ControlCharInString { ch: '\n' })
        );
        let e = lex_err("  \"abc");
        assert_eq!((e.offset, e.kind), (2, ParseErrorKind::UnterminatedString));
        let e = lex_err("\"abc\\");
        assert_eq!((e.offset, e.kind), (0, ParseErrorKind::UnterminatedString));
    }
}
