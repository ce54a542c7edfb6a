//! xsd:dateTime handling and the one canonical text form Rollcall stores,
//! which sorts lexicographically in chronological order.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parse an xsd:dateTime (RFC 3339 profile); a missing offset means UTC.
/// Values whose UTC form falls outside years -9999..=9999 are refused.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        // xsd:dateTime allows omitting the offset.
        .or_else(|| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())?;
    t.checked_to_offset(UtcOffset::UTC)
}

/// Canonical UTC text with fixed millisecond precision: `2024-05-13T04:42:34.123Z`.
pub fn format(t: OffsetDateTime) -> String {
    // `parse` only yields values representable in UTC; others print as-is.
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_outside_the_utc_range_are_refused_not_panicked_on() {
        assert!(parse("9999-12-31T23:59:59-01:00").is_none());
        assert!(parse("-9999-01-01T00:00:00+01:00").is_none());
        assert_eq!(
            parse("2011-05-13T04:42:34+02:00").map(format).as_deref(),
            Some("2011-05-13T02:42:34.000Z")
        );
        assert_eq!(
            parse("2011-05-13T04:42:34").map(format).as_deref(),
            Some("2011-05-13T04:42:34.000Z")
        );
    }
}
