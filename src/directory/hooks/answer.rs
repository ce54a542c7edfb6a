//! What an acknowledged ownership-transfer call comes to: the audit row and
//! the event, by why the call was made (a deletion, or a user who became a
//! viewer) and what became of the assets (handed on, or deleted); and the
//! list of what moved that the host's 2xx answer may carry.
//!
//! The host may answer with a JSON body holding a `moved` array (`{"moved":
//! [{"type": "notebook", "id": "n1", "name": "Q3"}]}`). The entries are kept
//! in the audit row's details as sent, in order, up to 1,000 entries and
//! 64 KiB of JSON; past that `movedCount` says how many there were and
//! `truncated` is true. A body that is not JSON, has no such array, or is
//! over 1 MiB (not read) keeps no list — and never makes the 2xx a failure.
//! Nothing of the answer's headers is kept.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::directory::lifecycle::{transferred_event, VIEWER};
use crate::store::{AuditEntry, Change, Event, TransferCall};
use openidconnect::reqwest;

/// The most of an answer's body read.
const MAX_BODY: usize = 1 << 20;
/// The most entries of `moved` kept.
const MAX_ENTRIES: usize = 1_000;
/// The most bytes of `moved` kept (as JSON).
const MAX_BYTES: usize = 64 * 1024;

/// An answer's body, as far as it was read.
pub(super) enum Body {
    Read(Vec<u8>),
    /// Longer than [`MAX_BODY`]: not read to its end.
    TooLong,
    /// Reading it failed (the 2xx stands).
    Unread,
}

/// Read at most [`MAX_BODY`] bytes of an answer's body.
pub(super) async fn read_body(mut resp: reqwest::Response) -> Body {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_BODY {
                    return Body::TooLong;
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Body::Read(out),
            Err(_) => return Body::Unread,
        }
    }
}

/// What the answer says moved, bounded: `moved`, `movedCount` and
/// `truncated` (when fewer were kept than listed), or nothing.
pub(super) fn moved(body: &Body) -> Map<String, Value> {
    let mut out = Map::new();
    let bytes = match body {
        Body::Read(b) => b,
        Body::TooLong => {
            out.insert("truncated".into(), Value::Bool(true));
            return out;
        }
        Body::Unread => return out,
    };
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(bytes) else {
        return out;
    };
    let Some(Value::Array(listed)) = answer.remove("moved") else {
        return out;
    };
    let count = listed.len();
    let (mut kept, mut size) = (Vec::new(), 2usize);
    for entry in listed {
        let len = entry.to_string().len() + 1;
        if kept.len() == MAX_ENTRIES || size + len > MAX_BYTES {
            break;
        }
        size += len;
        kept.push(entry);
    }
    let truncated = kept.len() < count;
    out.insert("moved".into(), Value::Array(kept));
    out.insert("movedCount".into(), json!(count));
    if truncated {
        out.insert("truncated".into(), Value::Bool(true));
    }
    out
}

/// The audit row and event of an acknowledged call; `days` the retention
/// window a completed deletion starts.
pub(super) fn acknowledged(
    call: &TransferCall,
    answer: Map<String, Value>,
    days: i64,
    at: OffsetDateTime,
    actor: &str,
) -> Change {
    let payload: Value = serde_json::from_str(&call.payload).unwrap_or(Value::Null);
    let successor = payload["successor"].clone();
    let user_name = payload["user"]["userName"].as_str().unwrap_or_default();
    let mut details = json!({"reason": call.reason, "assets": call.assets});
    if !successor.is_null() {
        details["successor"] = successor.clone();
    }
    if let Some(d) = details.as_object_mut() {
        d.extend(answer);
    }
    let id = &call.user_id;
    let (action, description, event) = match (call.reason.as_str(), call.assets.as_str()) {
        (VIEWER, _) => (
            "ownership_transferred",
            format!(
                "ownership of {id} transferred to {}: they became a viewer, and viewers own nothing",
                call.successor_id
            ),
            transferred_event(id, user_name, Some(&successor)),
        ),
        (_, "delete") => (
            "assets_deleted",
            format!("the host deleted what {id} owned; user deleted (restorable for {days} days)"),
            Event {
                kind: "user.deleted".into(),
                object_id: Some(id.clone()),
                payload: json!({"id": id, "assets": "delete"}),
            },
        ),
        _ => (
            "ownership_transferred",
            format!(
                "ownership of {id} transferred to {}; user deleted (restorable for {days} days)",
                call.successor_id
            ),
            Event {
                kind: "user.deleted".into(),
                object_id: Some(id.clone()),
                payload: json!({"id": id, "successor": call.successor_id}),
            },
        ),
    };
    Change {
        at,
        audit: AuditEntry {
            actor: actor.into(),
            object_type: "User".into(),
            object_id: Some(id.clone()),
            action: action.into(),
            description,
            details: Some(details),
            ..AuditEntry::default()
        },
        event,
        extra_events: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(v: Value) -> Map<String, Value> {
        moved(&Body::Read(v.to_string().into_bytes()))
    }

    #[test]
    fn a_short_list_is_kept_whole_with_its_count() {
        let m =
            read(json!({"moved": [{"type": "notebook", "id": "n1", "name": "Q3"}], "ok": true}));
        assert_eq!(
            m["moved"],
            json!([{"type": "notebook", "id": "n1", "name": "Q3"}])
        );
        assert_eq!(m["movedCount"], 1);
        assert!(!m.contains_key("truncated"));
    }

    #[test]
    fn past_a_thousand_entries_or_64_kib_the_list_is_cut_and_counted() {
        let many: Vec<Value> = (0..1500).map(|i| json!({"id": i})).collect();
        let m = read(json!({"moved": many}));
        assert_eq!(m["moved"].as_array().unwrap().len(), 1000);
        assert_eq!(
            (m["movedCount"].clone(), m["truncated"].clone()),
            (json!(1500), json!(true))
        );
        let big: Vec<Value> = (0..100)
            .map(|_| json!({"name": "x".repeat(1000)}))
            .collect();
        let m = read(json!({"moved": big}));
        let kept = m["moved"].as_array().unwrap();
        assert!(kept.len() < 100 && Value::Array(kept.clone()).to_string().len() <= MAX_BYTES);
        assert_eq!(
            (m["movedCount"].clone(), m["truncated"].clone()),
            (json!(100), json!(true))
        );
    }

    #[test]
    fn no_json_no_array_or_no_body_keeps_no_list() {
        for body in [
            &b"OK"[..],
            b"",
            b"{\"moved\": 3}",
            b"[1,2]",
            b"{\"moved\": [1,",
        ] {
            assert!(moved(&Body::Read(body.to_vec())).is_empty(), "{body:?}");
        }
        assert!(moved(&Body::Unread).is_empty());
        assert_eq!(moved(&Body::TooLong)["truncated"], true);
    }
}
