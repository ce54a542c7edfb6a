//! Weak entity tags derived from a resource's version (RFC 7644 §3.14).

/// `W/"<version>"`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` / `If-None-Match` header value names `version`.
/// `*` matches anything; weak and strong forms compare equal (weak comparison).
pub fn matches(header: &str, version: i64) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let t = tag.strip_prefix("W/").unwrap_or(tag);
        let t = t.trim_matches('"');
        t.parse::<i64>().is_ok_and(|v| v == version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_strong_forms_match() {
        assert_eq!(etag(3), "W/\"3\"");
        assert!(matches("W/\"3\"", 3));
        assert!(matches("\"3\"", 3));
        assert!(matches("W/\"1\", W/\"3\"", 3));
        assert!(matches("*", 9));
        assert!(!matches("W/\"4\"", 3));
        assert!(!matches("garbage", 3));
    }
}
