//! Requests the database aborted for contention (a serialization failure
//! or a deadlock, SQLSTATE 40001/40P01; see `store::contention`) run again
//! here, up to [`RETRIES`] times with jittered exponential backoff, before
//! the client sees the 503. A failed attempt wrote nothing (every write is
//! one transaction), so running the same request again is safe. Only
//! writes with a body of at most `max_payload_size` are watched (the body
//! is kept to be sent again); `/Bulk` is not: each of its operations is
//! its own transaction, and one that failed so is reported in the Bulk
//! response like any other.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{OriginalUri, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;

use super::{error, AppState};
use crate::directory::watch_contention;

/// How many times a request is run again after a contention failure.
pub const RETRIES: u32 = 3;

/// The wait before retry `attempt` (0-based): 20 ms doubling, ±50 %.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let base = 20.0 * f64::from(1u32 << attempt.min(8));
    Duration::from_secs_f64(base * (0.5 + jitter.clamp(0.0, 1.0)) / 1000.0)
}

fn watched(req: &Request) -> bool {
    !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !req.uri().path().ends_with("/Bulk")
}

pub async fn retry_contention(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !watched(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, s.http.max_payload_size).await {
        Ok(b) => b,
        Err(e) => {
            // Inside a nested router the path has lost its prefix.
            let uri = parts.extensions.get::<OriginalUri>().map(|o| &o.0);
            return error::unreadable_body(uri.unwrap_or(&parts.uri).path(), &e);
        }
    };
    let mut attempt = 0;
    loop {
        let req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        let (resp, contended) = watch_contention(next.clone().run(req)).await;
        if !contended || resp.status().as_u16() != 503 || attempt >= RETRIES {
            return resp;
        }
        s.metrics.count_contention_retry();
        let jitter = rand::thread_rng().gen::<f64>();
        tokio::time::sleep(backoff(attempt, jitter)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter() {
        assert_eq!(backoff(0, 0.0), Duration::from_millis(10));
        assert_eq!(backoff(0, 1.0), Duration::from_millis(30));
        assert_eq!(backoff(2, 0.5), Duration::from_millis(80));
        assert!(backoff(30, 1.0) <= Duration::from_secs_f64(7.68));
    }
}
