//! A small Prometheus text exporter: request counts and latency histograms
//! per route template and status; the delivery queues and outcomes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::directory::delivery::{DeliveryFigures, QueueGauge};

const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: Vec<u64>,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
    /// Requests answered 503 at once: the concurrency limit was reached.
    shed: AtomicU64,
    /// Requests answered 429: their credential's rate limit was reached.
    rate_limited: AtomicU64,
    /// Requests run again after a serialization failure or deadlock.
    contention_retries: AtomicU64,
    /// SCIM operations: (resource, operation, outcome, via) → count.
    scim_operations: Mutex<BTreeMap<ScimOpKey, u64>>,
}

/// resource (`User`, `Group`, `any`, `Bulk`), operation (`get`, `list`,
/// `search`, `create`, `replace`, `patch`, `delete`, `bulk`), outcome
/// (`success`, `client_error`, `server_error`), via (`request`, `bulk`).
type ScimOpKey = (&'static str, &'static str, &'static str, &'static str);

/// The SCIM operation a request is, from its method and route template:
/// `(resource, operation)`; `None` for discovery and everything not SCIM.
pub fn scim_operation(method: &str, route: &str) -> Option<(&'static str, &'static str)> {
    let (resource, item) = match route.strip_prefix("/scim/v2")? {
        "/Users" => ("User", false),
        "/Groups" => ("Group", false),
        "/Users/{id}" => ("User", true),
        "/Groups/{id}" => ("Group", true),
        "/Users/.search" => return Some(("User", "search")),
        "/Groups/.search" => return Some(("Group", "search")),
        "/.search" => return Some(("any", "search")),
        "/Bulk" => return Some(("Bulk", "bulk")),
        _ => return None,
    };
    let operation = match (method, item) {
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("GET", true) => "get",
        ("PUT", true) => "replace",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        _ => return None,
    };
    Some((resource, operation))
}

/// The operation a Bulk operation's method is.
pub fn bulk_operation(method: &str) -> Option<&'static str> {
    Some(match method {
        "POST" => "create",
        "PUT" => "replace",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => return None,
    })
}

/// `success` (2xx, 3xx), `client_error` (4xx) or `server_error` (5xx).
pub fn outcome_of(status: u16) -> &'static str {
    match status {
        500.. => "server_error",
        400..=499 => "client_error",
        _ => "success",
    }
}

impl Metrics {
    pub fn count_shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_contention_retry(&self) {
        self.contention_retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// One SCIM operation, answered `status`: a request of its own
    /// (`via = "request"`) or one operation of a Bulk request (`"bulk"`).
    pub fn count_scim_operation(
        &self,
        resource: &'static str,
        operation: &'static str,
        status: u16,
        via: &'static str,
    ) {
        if let Ok(mut m) = self.scim_operations.lock() {
            *m.entry((resource, operation, outcome_of(status), via))
                .or_default() += 1;
        }
    }

    fn render_scim_operations(&self, out: &mut String) {
        let name = "rollcall_scim_operations_total";
        let _ = writeln!(
            out,
            "# HELP {name} SCIM operations by resource, operation and outcome; via bulk: the operations inside Bulk requests."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let Ok(m) = self.scim_operations.lock() else {
            return;
        };
        for ((resource, operation, outcome, via), n) in m.iter() {
            let _ = writeln!(
                out,
                "{name}{{resource=\"{resource}\",operation=\"{operation}\",outcome=\"{outcome}\",via=\"{via}\"}} {n}"
            );
        }
    }

    fn render_limits(&self, out: &mut String) {
        for (name, help, v) in [
            (
                "rollcall_http_requests_shed_total",
                "Requests refused with 503 at the concurrency limit.",
                &self.shed,
            ),
            (
                "rollcall_http_requests_rate_limited_total",
                "Requests refused with 429 by a credential's rate limit.",
                &self.rate_limited,
            ),
            (
                "rollcall_db_contention_retries_total",
                "Requests run again after a serialization failure or deadlock (SQLSTATE 40001/40P01).",
                &self.contention_retries,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Ok(mut m) = self.requests.lock() {
            let s = m
                .entry((method.to_string(), route.to_string(), status))
                .or_insert_with(|| Series {
                    buckets: vec![0; BUCKETS.len()],
                    ..Default::default()
                });
            s.count += 1;
            s.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    if let Some(c) = s.buckets.get_mut(i) {
                        *c += 1;
                    }
                }
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_limits(&mut out);
        self.render_scim_operations(&mut out);
        let _ = writeln!(
            out,
            "# HELP rollcall_http_requests_total HTTP requests handled."
        );
        let _ = writeln!(out, "# TYPE rollcall_http_requests_total counter");
        let Ok(m) = self.requests.lock() else {
            return out;
        };
        for ((method, route, status), s) in m.iter() {
            let _ = writeln!(
                out,
                "rollcall_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP rollcall_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE rollcall_http_request_duration_seconds histogram"
        );
        for ((method, route, status), s) in m.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "rollcall_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets.get(i).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                out,
                "rollcall_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "rollcall_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "rollcall_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// A gauge of each delivery queue: name, help, value.
type QueueSeries = (&'static str, &'static str, fn(&QueueGauge) -> f64);

const QUEUE_SERIES: [QueueSeries; 3] = [
    (
        "rollcall_outbox_pending",
        "Deliveries queued to the host (due or backing off), by kind.",
        |q| q.pending as f64,
    ),
    (
        "rollcall_outbox_oldest_pending_age_seconds",
        "Age of the oldest queued delivery (0 with none), by kind.",
        |q| q.oldest_age_seconds,
    ),
    (
        "rollcall_outbox_dead",
        "Deliveries given up (dead letters) until replayed, by kind.",
        |q| q.dead as f64,
    ),
];

/// Requests the request log could not keep (buffer full, a failed write).
pub fn render_request_log(out: &mut String, dropped: u64) {
    let name = "rollcall_request_log_dropped_total";
    let _ = writeln!(
        out,
        "# HELP {name} SCIM requests not kept in the request log: its buffer was full or its write failed."
    );
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {dropped}");
}

/// The delivery figures: each configured queue's length, oldest age and
/// dead letters now, and this process's calls by kind and outcome.
pub fn render_deliveries(out: &mut String, f: &DeliveryFigures) {
    for (name, help, value) in QUEUE_SERIES {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for q in &f.queues {
            let _ = writeln!(out, "{name}{{kind=\"{}\"}} {}", q.kind, value(q));
        }
    }
    let name = "rollcall_deliveries_total";
    let _ = writeln!(
        out,
        "# HELP {name} Calls to the host by kind and outcome: delivered (2xx), failed (retried later), dead (given up)."
    );
    let _ = writeln!(out, "# TYPE {name} counter");
    for (kind, outcome, n) in &f.outcomes {
        let _ = writeln!(out, "{name}{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}");
    }
}
