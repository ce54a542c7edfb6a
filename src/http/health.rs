//! Operations endpoints: `/healthz` (the process is up), `/readyz` (the
//! database answers), `/metrics` (Prometheus text, with the delivery
//! queues read from the store at each scrape).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

pub async fn healthz() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"status": "ok"}).to_string(),
    )
        .into_response()
}

pub async fn readyz(State(s): State<AppState>) -> Response {
    if s.draining.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"status": "draining", "detail": "the server is shutting down"}).to_string(),
        )
            .into_response();
    }
    match s.directory.ping().await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"status": "ready"}).to_string(),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                json!({"status": "unavailable", "detail": "database not reachable"}).to_string(),
            )
                .into_response()
        }
    }
}

/// Prometheus text. With `[metrics] token` set, only a request bearing it
/// is answered (401 otherwise, compared in constant time).
pub async fn metrics(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(want) = &s.http.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            want.as_bytes(),
        )) {
            return (
                StatusCode::UNAUTHORIZED,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""),
                ],
                json!({"status": 401, "detail": "/metrics needs its bearer token"}).to_string(),
            )
                .into_response();
        }
    }
    let mut out = s.metrics.render();
    super::process_metrics::render(&mut out, &s.directory.pool_figures());
    super::metrics::render_request_log(&mut out, s.directory.request_buffer().dropped());
    match s.directory.delivery_figures().await {
        Ok(f) => super::metrics::render_deliveries(&mut out, &f),
        Err(e) => tracing::warn!(error = %e, "reading the delivery figures failed"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        out,
    )
        .into_response()
}
