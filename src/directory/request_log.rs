//! The request log: every SCIM request a tenant's credential makes (a
//! refused token too, by the id its prefix names), with its status,
//! latency, User-Agent and the error the client was told; a failure's body,
//! masked. Entries are held in memory by the instance that served them and
//! written a batch at a time by the worker (and before every read of the
//! log), so that logging costs a request no statement; a full buffer drops
//! entries and counts them. Rows older than `retention_days` are pruned.
//! Per credential the log answers its health: last request, last success,
//! last error, and the error rate over the last 24 hours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;

use super::views::{ConnectionHealth, ConnectionView, RequestError, RequestPage, RequestView};
use super::{Ctx, Directory, DirectoryResult};
use crate::store::{RequestEntry, RequestQuery, RequestRecord, StatusFilter, Tenant};
use scim_protocol::datetime;

/// `[request_log]` in the config file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLogConfig {
    /// Log SCIM requests at all.
    pub enabled: bool,
    /// Days a logged request is kept.
    pub retention_days: i64,
    /// Keep the body of a failed request (masked).
    pub failed_bodies: bool,
    /// Entries held in memory before they are written; more are dropped
    /// (and counted in `/metrics`).
    pub buffer: usize,
}

impl Default for RequestLogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            retention_days: 14,
            failed_bodies: true,
            buffer: 10_000,
        }
    }
}

impl RequestLogConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=3650).contains(&self.retention_days) {
            return Err("[request_log] retention_days must be from 1 to 3650".into());
        }
        if !(100..=1_000_000).contains(&self.buffer) {
            return Err("[request_log] buffer must be from 100 to 1000000".into());
        }
        Ok(())
    }
}

/// The most of a request body the log reads; a longer body is not kept.
pub const BODY_CAPTURE_BYTES: usize = 64 * 1024;
/// The most of a masked body the log keeps.
const BODY_KEPT_CHARS: usize = 16 * 1024;
const USER_AGENT_CHARS: usize = 256;
const DETAIL_CHARS: usize = 2048;
/// Rows one worker round prunes at most.
const PRUNE_BATCH: i64 = 5_000;
/// The health window.
const RECENT_HOURS: i64 = 24;
const MASK: &str = "********";

/// A request as the HTTP layer saw it, attributed to a tenant.
#[derive(Debug, Clone)]
pub struct NotedRequest {
    pub tenant: Tenant,
    pub credential: Option<String>,
    pub refused: bool,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub latency_ms: i64,
    pub user_agent: Option<String>,
    pub code: Option<String>,
    pub detail: Option<String>,
    /// What was read of the body, and whether that was all of it.
    pub body: Option<(Vec<u8>, bool)>,
    pub request_id: Option<String>,
}

/// Entries not yet written, and what was dropped.
#[derive(Default)]
pub struct RequestBuffer {
    pending: Mutex<Vec<RequestEntry>>,
    dropped: AtomicU64,
    /// One flush at a time (order of ids = order of arrival).
    flushing: tokio::sync::Mutex<()>,
}

impl RequestBuffer {
    /// Entries dropped since the start (buffer full, or a failed write).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, entry: RequestEntry, cap: usize) {
        let Ok(mut p) = self.pending.lock() else {
            return;
        };
        if p.len() >= cap {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            p.push(entry);
        }
    }

    fn take(&self) -> Vec<RequestEntry> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// Whether a JSON member's name says it holds a secret.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "apikey",
        "api_key",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Mask every secret in a request body: members whose name says secret,
/// and the `value` of a PATCH operation whose `path` names one.
pub fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let path_secret = m
                .get("path")
                .and_then(Value::as_str)
                .is_some_and(|p| secret_name(p.rsplit([':', '.']).next().unwrap_or(p)));
            for (k, x) in m.iter_mut() {
                if (secret_name(k) || (path_secret && k == "value")) && !x.is_null() {
                    *x = Value::String(MASK.into());
                } else {
                    mask(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// What the log keeps of a failed request's body.
pub fn kept_body(raw: &[u8], complete: bool) -> String {
    if !complete {
        return format!("(larger than {BODY_CAPTURE_BYTES} bytes: not kept)");
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(raw) else {
        return format!("(not JSON, {} bytes: not kept)", raw.len());
    };
    mask(&mut v);
    let text = v.to_string();
    if text.chars().count() <= BODY_KEPT_CHARS {
        return text;
    }
    let cut: String = text.chars().take(BODY_KEPT_CHARS).collect();
    format!("{cut}… (cut at {BODY_KEPT_CHARS} characters)")
}

/// Text as the log keeps it: control characters shown as `?`, cut at
/// `max` characters.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn entry(n: NotedRequest, at: String, bodies: bool) -> RequestEntry {
    let failed = n.status >= 400;
    let body = n
        .body
        .filter(|_| failed && bodies)
        .filter(|(raw, _)| !raw.is_empty())
        .map(|(raw, complete)| kept_body(&raw, complete));
    RequestEntry {
        tenant_id: n.tenant.id,
        at,
        method: n.method,
        route: clean(&n.route, 300),
        status: i64::from(n.status),
        latency_ms: n.latency_ms,
        credential: n.credential,
        refused: n.refused,
        user_agent: n.user_agent.map(|u| clean(&u, USER_AGENT_CHARS)),
        code: n.code.filter(|_| failed),
        detail: n.detail.filter(|_| failed).map(|d| clean(&d, DETAIL_CHARS)),
        body,
        request_id: n.request_id,
    }
}

fn view(r: RequestRecord) -> RequestView {
    let e = r.entry;
    let error = (e.status >= 400).then(|| RequestError {
        code: e.code,
        detail: e.detail.unwrap_or_default(),
    });
    RequestView {
        id: r.id,
        at: e.at,
        method: e.method,
        route: e.route,
        status: e.status,
        latency_ms: e.latency_ms,
        credential: e.credential,
        refused: e.refused,
        user_agent: e.user_agent,
        error,
        body: e.body,
        request_id: e.request_id,
    }
}

/// `status=` of the request log: `400`, `4xx`, `5xx`, `errors` (400 and
/// above) or `ok` (below 400).
pub fn parse_status(s: &str) -> Result<StatusFilter, String> {
    let class = |c: u8| {
        Ok(StatusFilter::Range(
            i64::from(c) * 100,
            i64::from(c) * 100 + 99,
        ))
    };
    match s.as_bytes() {
        b"errors" => Ok(StatusFilter::Range(400, 599)),
        b"ok" => Ok(StatusFilter::Range(100, 399)),
        [c @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => class(c - b'0'),
        _ => match s.parse::<i64>() {
            Ok(n) if (100..=599).contains(&n) => Ok(StatusFilter::Exact(n)),
            _ => Err(format!(
                "\"status\" is a status (400), a class (4xx) or errors or ok, not \"{s}\""
            )),
        },
    }
}

/// A page of the request log, as asked for.
#[derive(Debug, Clone)]
pub struct RequestFilter {
    pub status: Option<StatusFilter>,
    pub credential: Option<String>,
    /// RFC 3339.
    pub since: Option<String>,
    pub after: Option<i64>,
    pub limit: i64,
}

impl Directory {
    /// Note one request (a few microseconds: no statement).
    pub fn note_request(&self, n: NotedRequest) {
        let cfg = &self.config.request_log;
        if !cfg.enabled {
            return;
        }
        let at = datetime::format(self.clock.now());
        self.request_log
            .push(entry(n, at, cfg.failed_bodies), cfg.buffer);
    }

    /// The buffer (for `/metrics`).
    pub fn request_buffer(&self) -> &RequestBuffer {
        &self.request_log
    }

    /// Write what this instance holds; how many rows. A failed write
    /// drops the batch (counted) rather than hold it without bound.
    pub async fn flush_request_log(&self) -> DirectoryResult<usize> {
        let _one = self.request_log.flushing.lock().await;
        let batch = self.request_log.take();
        if let Err(e) = self.store.append_requests(&batch).await {
            self.request_log
                .dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            return Err(e.into());
        }
        Ok(batch.len())
    }

    /// Delete one batch of rows older than `retention_days`.
    pub async fn prune_request_log(&self) -> DirectoryResult<u64> {
        let days = self.config.request_log.retention_days;
        let now = self.clock.now();
        let before = now.checked_sub(time::Duration::days(days)).unwrap_or(now);
        Ok(self
            .store
            .prune_requests(&datetime::format(before), PRUNE_BATCH)
            .await?)
    }

    /// A page of the tenant's request log, newest first (`audit.read`).
    pub async fn requests(&self, ctx: &Ctx, f: &RequestFilter) -> DirectoryResult<RequestPage> {
        self.require(ctx, super::access::Permission::AuditRead)
            .await?;
        self.flush_request_log().await?;
        let q = RequestQuery {
            status: f.status,
            credential: f.credential.clone(),
            since: f.since.clone(),
            before: f.after,
            limit: f.limit,
        };
        let items: Vec<RequestView> = self
            .store
            .requests(&ctx.tenant, &q)
            .await?
            .into_iter()
            .map(view)
            .collect();
        let next = (items.len() as i64 == f.limit)
            .then(|| items.last().map(|i| i.id.to_string()))
            .flatten();
        Ok(RequestPage { items, next })
    }

    /// The health of each of the tenant's credentials: its tokens (even
    /// those never used) and every credential the log names (`audit.read`).
    pub async fn connections(&self, ctx: &Ctx) -> DirectoryResult<Vec<ConnectionView>> {
        self.require(ctx, super::access::Permission::AuditRead)
            .await?;
        self.flush_request_log().await?;
        let now = self.clock.now();
        let since = now
            .checked_sub(time::Duration::hours(RECENT_HOURS))
            .unwrap_or(now);
        let figures = self
            .store
            .credential_figures(&ctx.tenant, &datetime::format(since))
            .await?;
        let tokens = self.store.token_rows(Some(&ctx.tenant.name)).await?;
        let mut out: Vec<ConnectionView> = Vec::new();
        for t in &tokens {
            let id = format!("token:{}", t.record.id);
            if t.record.revoked.is_some() && !figures.iter().any(|f| f.credential == id) {
                continue;
            }
            out.push(ConnectionView::unused(id, t));
        }
        for f in figures {
            let last_error = match f.last_error_at {
                Some(_) => self
                    .store
                    .last_failure(&ctx.tenant, &f.credential)
                    .await?
                    .map(view),
                None => None,
            };
            match out.iter_mut().find(|c| c.credential == f.credential) {
                Some(c) => c.fill(&f, last_error),
                None => {
                    let mut c = ConnectionView::other(f.credential.clone());
                    c.fill(&f, last_error);
                    out.push(c);
                }
            }
        }
        out.sort_by_key(|c| (c.health == ConnectionHealth::Unused, c.credential.clone()));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_wherever_they_are() {
        let mut v = json!({
            "userName": "ada",
            "password": "hunter2",
            "urn:x:ext": {"apiToken": "t", "keep": "k"},
            "Operations": [
                {"op": "replace", "path": "password", "value": "p2"},
                {"op": "replace", "path": "urn:x:ext:clientSecret", "value": "s"},
                {"op": "add", "value": {"password": "p3", "displayName": "A"}},
                {"op": "replace", "path": "displayName", "value": "B"},
            ],
        });
        mask(&mut v);
        let text = v.to_string();
        for secret in ["hunter2", "\"t\"", "p2", "\"s\"", "p3"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(v["userName"], "ada");
        assert_eq!(v["urn:x:ext"]["keep"], "k");
        assert_eq!(v["Operations"][3]["value"], "B");
        assert_eq!(v["Operations"][2]["value"]["displayName"], "A");
        assert_eq!(v["password"], MASK);
    }

    #[test]
    fn a_body_is_kept_only_when_whole_and_json() {
        assert_eq!(
            kept_body(b"{\"password\": \"x\"", true),
            "(not JSON, 16 bytes: not kept)"
        );
        assert!(kept_body(b"{}", false).contains("not kept"));
        assert_eq!(kept_body(b"{\"a\": 1}", true), "{\"a\":1}");
        let long = json!({"a": "x".repeat(BODY_KEPT_CHARS * 2)}).to_string();
        let kept = kept_body(long.as_bytes(), true);
        assert!(
            kept.ends_with("characters)"),
            "{}",
            &kept[kept.len() - 40..]
        );
        assert!(kept.chars().count() < BODY_KEPT_CHARS + 40);
    }

    #[test]
    fn status_filters_parse_and_refuse() {
        assert_eq!(parse_status("400"), Ok(StatusFilter::Exact(400)));
        assert_eq!(parse_status("4xx"), Ok(StatusFilter::Range(400, 499)));
        assert_eq!(parse_status("5XX"), Ok(StatusFilter::Range(500, 599)));
        assert_eq!(parse_status("errors"), Ok(StatusFilter::Range(400, 599)));
        assert_eq!(parse_status("ok"), Ok(StatusFilter::Range(100, 399)));
        for bad in ["", "6xx", "99", "600", "4x", "abc", "-400"] {
            assert!(parse_status(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn control_characters_never_reach_the_log() {
        assert_eq!(clean("a\nb\u{7}c", 10), "a?b?c");
        assert_eq!(clean("abcdef", 3), "abc");
    }
}
