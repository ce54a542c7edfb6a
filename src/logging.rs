//! The process's log: `tracing` to stderr, as text or JSON lines.
//!
//! Field values can hold what a client sent (a detail quoting a filter, a
//! User-Agent …). JSON output escapes them by construction; the text format
//! writes each value with its control characters escaped (`\n`, `\r`,
//! `\t`, `\u{1b}` …), so one request can never print a line that reads as
//! another's.

use std::borrow::Cow;
use std::fmt::Debug;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{debug_fn, Writer};

/// Install the global subscriber; `format` is `text` or `json`.
pub fn init(format: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder
            .fmt_fields(debug_fn(write_field).delimited(" "))
            .init();
    }
}

fn write_field(w: &mut Writer<'_>, field: &Field, value: &dyn Debug) -> std::fmt::Result {
    let text = format!("{value:?}");
    let text = escape(&text);
    if field.name() == "message" {
        write!(w, "{text}")
    } else {
        write!(w, "{}={text}", field.name())
    }
}

/// `s` with every control character written as an escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            escape("bad\n2026-12-01T00:00:00Z  INFO forged line"),
            "bad\\n2026-12-01T00:00:00Z  INFO forged line"
        );
        assert_eq!(
            escape("a\rb\tc\u{1b}[31md\u{0}"),
            "a\\rb\\tc\\u{1b}[31md\\u{0}"
        );
        assert_eq!(escape("Zoë ÉDITH 名前"), "Zoë ÉDITH 名前");
    }
}
