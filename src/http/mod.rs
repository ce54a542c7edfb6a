//! HTTP: axum routers, extractors, auth, and the error → response mapping.
//! Handlers are thin: parse with `scim`, act with `directory`, render.

mod admin;
mod auth;
pub mod console;
mod download;
mod error;
mod extract;
mod health;
pub mod limits;
pub mod metrics;
pub mod process_metrics;
mod request_log;
mod retry;
mod scim;

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
use scim_protocol::discovery::Capabilities;
use scim_protocol::list::PageLimits;
use scim_protocol::ScimError;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
pub const REQUEST_ID: &str = "x-request-id";

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Public base URL of the SCIM API (e.g. `https://id.example.com/scim/v2`);
    /// when unset, derived from each request's Host header.
    pub public_url: Option<String>,
    /// Announced as `documentationUri` in /ServiceProviderConfig when set.
    pub documentation_uri: Option<String>,
    pub max_payload_size: usize,
    pub page: PageLimits,
    /// Most operations one Bulk request may carry.
    pub bulk_max_operations: usize,
    /// Largest Bulk request body, in bytes.
    pub bulk_max_payload_size: usize,
    /// Back-pressure and timeouts (`[limits]`).
    pub limits: limits::LimitsConfig,
    /// `[rate_limit]`, off when absent.
    pub rate_limit: Option<limits::RateLimitConfig>,
    /// The bearer token `/metrics` requires, if any.
    pub metrics_token: Option<String>,
    /// `/metrics` is served on a listener of its own (`metrics_app`), not
    /// beside the API.
    pub metrics_apart: bool,
    /// What a group PATCH answers when the request asks for no attributes.
    pub group_patch_response: GroupPatchResponse,
}

/// The answer to a PATCH of a group whose request carries neither
/// `attributes` nor `excludedAttributes` (with either, the answer is
/// always 200 and the projected group).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupPatchResponse {
    /// `204 No Content` with the new `ETag` (RFC 7644 §3.5.2; what Entra ID
    /// asks for): the members are not read, so adding one member costs the
    /// same at any group size.
    #[default]
    NoContent,
    /// `200 OK` with the whole group, its members included.
    Resource,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            documentation_uri: None,
            max_payload_size: 1024 * 1024,
            page: PageLimits::default(),
            bulk_max_operations: 10_000,
            bulk_max_payload_size: 16 * 1024 * 1024,
            limits: limits::LimitsConfig::default(),
            rate_limit: None,
            metrics_token: None,
            metrics_apart: false,
            group_patch_response: GroupPatchResponse::default(),
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
    /// The concurrency limit's slots.
    pub admission: limits::Admission,
    /// Per-credential token buckets (`[rate_limit]`).
    pub rate_limit: Arc<limits::RateLimiter>,
    /// Set at shutdown: `/readyz` answers 503 "draining".
    pub draining: Draining,
}

/// The process is stopping: load balancers should send no new requests.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<std::sync::atomic::AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
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

/// `/metrics` alone, for `[metrics] listen`.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(state)
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
        .route("/Users", get(scim::list_users).post(scim::create_user))
        .route("/Users/.search", post(scim::search_users))
        .route(
            "/Users/{id}",
            get(scim::get_user)
                .put(scim::replace_user)
                .patch(scim::patch_user)
                .delete(scim::delete_user),
        )
        .route("/Groups", get(scim::list_groups).post(scim::create_group))
        .route("/Groups/.search", post(scim::search_groups))
        .route(
            "/Groups/{id}",
            get(scim::get_group)
                .put(scim::replace_group)
                .patch(scim::patch_group)
                .delete(scim::delete_group),
        )
        .route("/.search", post(scim::search_all))
        .route(
            "/Bulk",
            post(scim::bulk).layer(DefaultBodyLimit::max(state.http.bulk_max_payload_size)),
        )
        .route(
            "/Me",
            get(scim::me)
                .post(scim::me)
                .put(scim::me)
                .patch(scim::me)
                .delete(scim::me),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            retry::retry_contention,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route("/ServiceProviderConfig", get(scim::service_provider_config))
        .route("/ResourceTypes", get(scim::resource_types))
        .route("/ResourceTypes/{id}", get(scim::resource_type))
        .route("/Schemas", get(scim::schemas))
        .route("/Schemas/{id}", get(scim::schema))
        .fallback(scim::not_found)
        .layer(middleware::map_response(scim_method_not_allowed))
        .layer(DefaultBodyLimit::max(state.http.max_payload_size));

    let request_id = HeaderName::from_static(REQUEST_ID);
    let mut router = Router::new()
        .nest("/scim/v2", scim)
        .nest("/admin/v1", admin::routes(state.clone()))
        .merge(console::routes(state.http.max_payload_size))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if !state.http.metrics_apart {
        router = router.route("/metrics", get(health::metrics));
    }
    router
        .fallback(scim::not_found)
        .layer(middleware::from_fn(refuse_control_characters))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            run_to_completion,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), limits::admit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::map_request(drop_unfit_request_id))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .with_state(state)
}

/// The rule of text (`scim_protocol::text`) at the door, for what every
/// surface reads from the URL: a path holding a control character, or a
/// query parameter holding one but TAB, LF and CR, is refused with 400
/// (`invalidValue`, the admin API's `invalid_value`) before any handler
/// reads it. Bodies are checked where they are read.
async fn refuse_control_characters(req: Request, next: Next) -> Response {
    match check_uri(req.uri()) {
        Ok(()) => next.run(req).await,
        Err(e) => error::before_handler(req.uri().path(), "invalid_value", &e),
    }
}

fn check_uri(uri: &axum::http::Uri) -> Result<(), ScimError> {
    if has_encoded_control(uri.path()) {
        return Err(ScimError::invalid_value(
            "the path holds a control character: no id or name holds one",
        ));
    }
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        scim_protocol::text::check_chars("a query parameter's name", &k)?;
        scim_protocol::text::check_chars(&k, &v)?;
    }
    Ok(())
}

/// Whether a path holds `%00`–`%1F` or `%7F` (a URI cannot hold the raw
/// bytes).
fn has_encoded_control(path: &str) -> bool {
    let hex = |c: u8| char::from(c).to_digit(16);
    path.as_bytes().windows(3).any(|w| match w {
        [b'%', h, l] => match (hex(*h), hex(*l)) {
            (Some(h), Some(l)) => h * 16 + l < 0x20 || h * 16 + l == 0x7f,
            _ => false,
        },
        _ => false,
    })
}

/// The longest `X-Request-Id` a client may set.
const MAX_REQUEST_ID: usize = 128;

/// A client's `X-Request-Id` is kept only if it looks like one (1 to 128
/// letters, digits, `-`, `_`, `.`, `:`); anything else is dropped, and the
/// server mints its own (a UUID). The id is a correlation field: it lands
/// in logs and audit rows, so it must not carry text a reader could take
/// for something else.
async fn drop_unfit_request_id(mut req: Request) -> Request {
    let fit = req.headers().get(REQUEST_ID).map(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= MAX_REQUEST_ID
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
    });
    if fit == Some(false) {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

/// The span every log line of a request carries: its id, method, the
/// route template (`/admin/v1/invitations/{token}`, never the path itself:
/// a path can hold a secret or a userName) and the query with only the
/// values that cannot hold personal data or secrets.
fn request_span(req: &Request) -> tracing::Span {
    let rid = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = route_of(req);
    let query = req.uri().query().map(loggable_query).unwrap_or_default();
    tracing::info_span!("request", request_id = %rid, method = %req.method(), route = %route, query = %query)
}

/// The route template a request matched, or `unmatched`.
fn route_of(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string())
}

/// Query parameters whose values are logged: paging, sorting, projection
/// and enumerations. Every other value (`filter`, `search`, a userName, a
/// successor …) is logged as `[redacted]`.
const LOGGED_QUERY_VALUES: [&str; 17] = [
    "count",
    "startIndex",
    "sortBy",
    "sortOrder",
    "attributes",
    "excludedAttributes",
    "page",
    "page_size",
    "sort",
    "order",
    "status",
    "type",
    "after",
    "limit",
    "format",
    "dry_run",
    "action",
];

/// The query as the log shows it: names kept, values only where harmless.
fn loggable_query(query: &str) -> String {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            if LOGGED_QUERY_VALUES.contains(&k.as_ref()) {
                format!("{}={}", enc(&k), enc(&v))
            } else {
                format!("{}=[redacted]", enc(&k))
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A request runs to its end even when its client goes away: a dropped
/// connection must not cancel a handler half-way through a transaction (the
/// database connection would go back to the pool mid-statement). A panic in
/// the handler is passed on to the panic layer.
///
/// The request's [`Cancel`](crate::directory::Cancel) is set when the
/// client goes away or `request_timeout_seconds` pass (`bulk_timeout_seconds`
/// for Bulk); long operations
/// (Bulk) stop at their next step. At the timeout the client is answered
/// 408 if its body was still arriving, 503 otherwise (the work may still
/// finish: a client reads before it retries). A body whose deadline passed
/// is answered 408 whatever the handler made of the broken read.
async fn run_to_completion(
    State(state): State<AppState>,
    mut req: Request,
    next: middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let cancel = crate::directory::Cancel::default();
    req.extensions_mut().insert(cancel.clone());
    let body = req
        .extensions()
        .get::<crate::serve::BodyProgress>()
        .cloned();
    let path = req.uri().path().to_string();
    let guard = crate::directory::CancelOnDrop::new(cancel.clone());
    let span = tracing::Span::current();
    let handled = error::with_cause_slot(next.run(req)).instrument(span);
    let timeout = state.http.limits.timeout_for(&path);
    let resp = match tokio::time::timeout(timeout, tokio::spawn(handled)).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(Err(_)) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Err(_) => {
            cancel.cancel();
            let slow_client = body.as_ref().is_some_and(|b| b.reading() || b.timed_out());
            error::timed_out(&path, slow_client, timeout)
        }
    };
    guard.disarm();
    match body {
        Some(b) if b.timed_out() && resp.status() != StatusCode::REQUEST_TIMEOUT => {
            error::timed_out(&path, true, state.http.limits.body_read_timeout())
        }
        _ => resp,
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

/// Count and time every request; log its error, if it answers one (the
/// one place errors are logged).
async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let capture = request_log::Capture::start(&state, &mut req);
    // Only standard methods get their own series; anything else is OTHER.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_string(),
        _ => "OTHER".to_string(),
    };
    let route = route_of(&req);
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    if let Some(e) = resp.extensions().get::<error::ErrorLog>() {
        if e.code == Some("invalidFilter") {
            // The parser's detail quotes the filter: its values stay out.
            let detail = "the filter is invalid (its text is not logged)".to_string();
            error::ErrorLog {
                detail,
                ..e.clone()
            }
            .emit();
        } else {
            e.emit();
        }
    }
    if let Some(c) = capture {
        c.finish(&state, &route, &resp, elapsed);
    }
    let status = resp.status().as_u16();
    state.metrics.observe(&method, &route, status, elapsed);
    if let Some((resource, operation)) = metrics::scim_operation(&method, &route) {
        state
            .metrics
            .count_scim_operation(resource, operation, status, "request");
    }
    tracing::info!(
        status = resp.status().as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "response"
    );
    resp.into_response()
}

#[cfg(test)]
mod tests {
    use super::{has_encoded_control, loggable_query};

    #[test]
    fn a_path_with_an_encoded_control_character_is_found() {
        for p in ["/scim/v2/Users/%00", "/a%1fb", "/x/%7F", "/%0A"] {
            assert!(has_encoded_control(p), "{p}");
        }
        for p in [
            "/scim/v2/Users/abc",
            "/a%20b",
            "/%e2%80%8b",
            "/%",
            "/%0",
            "/%zz",
        ] {
            assert!(!has_encoded_control(p), "{p}");
        }
    }

    #[test]
    fn logged_queries_keep_names_and_only_harmless_values() {
        assert_eq!(
            loggable_query("filter=userName%20eq%20%22ada%40x.io%22&count=10&startIndex=1"),
            "filter=[redacted]&count=10&startIndex=1"
        );
        assert_eq!(
            loggable_query("search=ada&transfer_to=bob&page=2"),
            "search=[redacted]&transfer_to=[redacted]&page=2"
        );
        assert_eq!(loggable_query(""), "");
    }
}
