//! HTTP: axum routers, extractors, auth, and the error → response mapping.
//! Handlers are thin: parse with `scim`, act with `directory`, render.

mod admin;
mod auth;
mod error;
mod extract;
mod handlers;
pub mod metrics;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::directory::Directory;
use crate::scim::discovery::Capabilities;
use crate::scim::list::PageLimits;
use crate::scim::ScimError;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
pub const REQUEST_ID: &str = "x-request-id";

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Public base URL of the SCIM API (e.g. `https://id.example.com/scim/v2`);
    /// when unset, derived from each request's Host header.
    pub public_url: Option<String>,
    pub max_payload_size: usize,
    pub page: PageLimits,
    /// Most operations one Bulk request may carry.
    pub bulk_max_operations: usize,
    /// Largest Bulk request body, in bytes.
    pub bulk_max_payload_size: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            max_payload_size: 1024 * 1024,
            page: PageLimits::default(),
            bulk_max_operations: 10_000,
            bulk_max_payload_size: 16 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub directory: Arc<Directory>,
    /// Verifier for OAuth JWT access tokens (empty: only Rollcall tokens).
    pub oauth: Arc<crate::directory::oauth::OAuthVerifier>,
    pub http: Arc<HttpConfig>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_payload_size: self.http.max_payload_size,
            max_results: self.http.page.max_count,
            default_page_size: self.http.page.default_count,
            bulk_max_operations: self.http.bulk_max_operations,
            bulk_max_payload_size: self.http.bulk_max_payload_size,
            bulk_supported: true,
        }
    }
}

/// The whole application; shared by `main` and the tests. Paths are
/// normalised before routing: `//` folds to `/` and a trailing `/` is
/// dropped (IdP consoles often keep the slash a base URL was pasted with).
pub fn app(state: AppState) -> Router {
    let inner = routes(state);
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(normalize_path)
            .service(inner),
    )
}

fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    if !path.contains("//") && (path.len() <= 1 || !path.ends_with('/')) {
        return req;
    }
    let mut clean = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        clean.push('/');
        clean.push_str(seg);
    }
    if clean.is_empty() {
        clean.push('/');
    }
    if let Some(q) = req.uri().query() {
        clean.push('?');
        clean.push_str(q);
    }
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = clean.parse::<axum::http::uri::PathAndQuery>() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn routes(state: AppState) -> Router {
    let scim = Router::new()
        .route(
            "/Users",
            get(handlers::list_users).post(handlers::create_user),
        )
        .route("/Users/.search", post(handlers::search_users))
        .route(
            "/Users/{id}",
            get(handlers::get_user)
                .put(handlers::replace_user)
                .patch(handlers::patch_user)
                .delete(handlers::delete_user),
        )
        .route(
            "/Groups",
            get(handlers::list_groups).post(handlers::create_group),
        )
        .route("/Groups/.search", post(handlers::search_groups))
        .route(
            "/Groups/{id}",
            get(handlers::get_group)
                .put(handlers::replace_group)
                .patch(handlers::patch_group)
                .delete(handlers::delete_group),
        )
        .route("/.search", post(handlers::search_all))
        .route(
            "/Bulk",
            post(handlers::bulk).layer(DefaultBodyLimit::max(state.http.bulk_max_payload_size)),
        )
        .route(
            "/Me",
            get(handlers::me)
                .post(handlers::me)
                .put(handlers::me)
                .patch(handlers::me)
                .delete(handlers::me),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route(
            "/ServiceProviderConfig",
            get(handlers::service_provider_config),
        )
        .route("/ResourceTypes", get(handlers::resource_types))
        .route("/ResourceTypes/{id}", get(handlers::resource_type))
        .route("/Schemas", get(handlers::schemas))
        .route("/Schemas/{id}", get(handlers::schema))
        .fallback(handlers::not_found)
        .layer(middleware::map_response(scim_method_not_allowed))
        .layer(DefaultBodyLimit::max(state.http.max_payload_size));

    let request_id = HeaderName::from_static(REQUEST_ID);
    Router::new()
        .nest("/scim/v2", scim)
        .nest("/admin/v1", admin::routes(state.clone()))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .fallback(handlers::not_found)
        .layer(middleware::from_fn(run_to_completion))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let rid = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %rid, method = %req.method(), uri = %req.uri())
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// A request runs to its end even when its client goes away: a dropped
/// connection must not cancel a handler half-way through a transaction (the
/// database connection would go back to the pool mid-statement). A panic in
/// the handler is passed on to the panic layer.
async fn run_to_completion(req: Request, next: middleware::Next) -> axum::response::Response {
    use tracing::Instrument;
    let span = tracing::Span::current();
    match tokio::spawn(next.run(req).instrument(span)).await {
        Ok(response) => response,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A bug must not drop the connection: answer a SCIM 500 and log it.
fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    error::scim_error_response(&ScimError::internal("internal server error"))
}

/// axum answers a known path with an unsupported method by a bare 405; give
/// it a SCIM body.
async fn scim_method_not_allowed(resp: Response) -> Response {
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && !resp.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = resp.headers().get(header::ALLOW).cloned();
        let mut r = error::scim_error_response(&ScimError::method_not_allowed(
            "this method is not supported on this endpoint",
        ));
        if let Some(a) = allow {
            r.headers_mut().insert(header::ALLOW, a);
        }
        return r;
    }
    resp
}

/// Count and time every request.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // Only standard methods get their own series; anything else is OTHER.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_string(),
        _ => "OTHER".to_string(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    state
        .metrics
        .observe(&method, &route, resp.status().as_u16(), elapsed);
    tracing::info!(
        status = resp.status().as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "response"
    );
    resp.into_response()
}
