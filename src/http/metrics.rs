//! A small Prometheus text exporter: request counts and latency histograms
//! per route template and status.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

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
}

impl Metrics {
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
