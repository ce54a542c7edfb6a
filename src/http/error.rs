//! The one place errors become HTTP responses, for both surfaces side by
//! side: a SCIM Error body (`application/scim+json`) on `/scim/v2`, the
//! admin error body (`{"status", "error", "detail"}`, JSON) on `/admin/v1`.
//!
//! Nothing here logs. Every error response carries an [`ErrorLog`]
//! extension (status, code, detail and, for internal errors, the cause the
//! client never sees); the `log_errors` middleware logs it once.

use std::cell::RefCell;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::directory::DirectoryError;
use scim_protocol::ScimError;

use super::SCIM_CONTENT_TYPE;

/// What an error response should leave in the log: the middleware's copy of
/// the error, attached to the response as an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLog {
    /// The HTTP status.
    pub status: u16,
    /// The admin error code, or the SCIM `scimType`.
    pub code: Option<&'static str>,
    /// What the client was told.
    pub detail: String,
    /// For internal errors: what went wrong (never sent to the client).
    pub cause: Option<String>,
}

impl ErrorLog {
    /// Log it: refusals at info, failures at warn, internal errors with
    /// their cause at error.
    pub fn emit(&self) {
        let code = self.code;
        match &self.cause {
            Some(cause) => {
                tracing::error!(status = self.status, code, error = %cause, "internal error")
            }
            None if self.status >= 500 => {
                tracing::warn!(status = self.status, code, detail = %self.detail, "request failed")
            }
            None => {
                tracing::info!(status = self.status, code, detail = %self.detail, "request refused")
            }
        }
    }
}

tokio::task_local! {
    /// The internal cause of the error a SCIM handler is answering (an
    /// `ApiError` carries only what the client may see).
    static INTERNAL_CAUSE: RefCell<Option<String>>;
}

/// Run a request with room for the internal cause of its SCIM error.
pub async fn with_cause_slot<F: std::future::Future>(f: F) -> F::Output {
    INTERNAL_CAUSE.scope(RefCell::new(None), f).await
}

fn note_internal_cause(cause: &str) {
    let _ = INTERNAL_CAUSE.try_with(|c| *c.borrow_mut() = Some(cause.to_string()));
}

fn take_internal_cause() -> Option<String> {
    INTERNAL_CAUSE
        .try_with(|c| c.borrow_mut().take())
        .ok()
        .flatten()
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub ScimError);

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        ApiError(e)
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        if let DirectoryError::Internal(cause) = &e {
            note_internal_cause(cause);
        }
        ApiError(scim_error(&e))
    }
}

/// The SCIM error a client sees for a directory error.
pub fn scim_error(e: &DirectoryError) -> ScimError {
    match e {
        DirectoryError::Protocol(e) => e.clone(),
        DirectoryError::NotFound(m) => ScimError::not_found(m.clone()),
        DirectoryError::Uniqueness(m) => ScimError::uniqueness(m.clone()),
        DirectoryError::PreconditionFailed(m) => ScimError::precondition_failed(m.clone()),
        DirectoryError::InvalidReference(m) => ScimError::invalid_value(m.clone()),
        DirectoryError::SeatLimit(m) => ScimError::new(403, None, m.clone()),
        DirectoryError::LastSuperAdmin(m)
        | DirectoryError::Conflict(m)
        | DirectoryError::Owner(m) => ScimError::new(409, None, m.clone()),
        DirectoryError::Forbidden(m)
        | DirectoryError::RegistrationsClosed(m)
        | DirectoryError::ReadOnly(m) => ScimError::new(403, None, m.clone()),
        DirectoryError::Invalid(m) => ScimError::invalid_value(m.clone()),
        DirectoryError::TokenRefused(m) => ScimError::unauthorized(m.clone()),
        DirectoryError::Gone(m) => ScimError::new(410, None, m.clone()),
        DirectoryError::Busy(_) => ScimError::new(503, None, e.to_string()),
        DirectoryError::Internal(_) => ScimError::internal("internal server error"),
    }
}

/// Seconds a client is asked to wait before retrying a 503 or 429.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// An error response made whole, whichever surface: `Retry-After` when it
/// is a "not now", and the log's copy of the error for the middleware.
pub(super) fn finish(mut resp: Response, log: ErrorLog) -> Response {
    ask_to_retry(&mut resp);
    resp.extensions_mut().insert(log);
    resp
}

/// `Retry-After` on every "not now" answer (503, 429), whichever surface.
fn ask_to_retry(resp: &mut Response) {
    if matches!(resp.status().as_u16(), 503 | 429)
        && !resp.headers().contains_key(header::RETRY_AFTER)
    {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        scim_error_response(&self.0)
    }
}

/// A SCIM error response (with the internal cause noted for this request,
/// if it is a 500).
pub fn scim_error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, e.to_json().to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    if e.status == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"rollcall\""),
        );
    }
    let cause = if e.status == 500 {
        take_internal_cause()
    } else {
        None
    };
    finish(
        resp,
        ErrorLog {
            status: e.status,
            code: e.scim_type.map(|t| t.as_str()),
            detail: e.detail.clone(),
            cause,
        },
    )
}

/// A "not now" answer (503 busy, 429 rate limited) before any handler ran,
/// in the body of the surface the path belongs to: a SCIM Error, the
/// admin error body, or the console's error page.
pub(super) fn not_now(path: &str, status: u16, detail: &str) -> Response {
    let code = if status == 429 {
        "rate_limited"
    } else {
        "busy"
    };
    early_error(path, status, code, detail)
}

/// 429: the credential's rate limit; `Retry-After` says when its next
/// request is admitted.
pub(super) fn rate_limited(path: &str, wait: std::time::Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let detail = format!("this credential's rate limit is reached; retry in {secs} s");
    let mut resp = early_error(path, 429, "rate_limited", &detail);
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// The answer to a request whose time ran out: 408 (its body was still
/// arriving: the client is slow; the connection is closed) or 503 (the
/// server is: the work may still finish).
pub(super) fn timed_out(path: &str, slow_client: bool, after: std::time::Duration) -> Response {
    let secs = after.as_secs();
    if slow_client {
        let detail = format!("the request did not arrive within {secs} s");
        let mut resp = early_error(path, 408, "timeout", &detail);
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    } else {
        let detail = format!(
            "the request did not finish within {secs} s; it may still complete: read the resource before retrying"
        );
        early_error(path, 503, "timeout", &detail)
    }
}

/// An error answered before (or instead of) a handler's, in the body of the
/// surface the path belongs to.
fn early_error(path: &str, status: u16, code: &'static str, detail: &str) -> Response {
    before_handler(path, code, &ScimError::new(status, None, detail))
}

/// The 413 detail of a SCIM body over `maxPayloadSize`.
pub(super) const SCIM_TOO_LARGE: &str =
    "the request body is larger than maxPayloadSize (see /ServiceProviderConfig)";
/// The 413 detail of an admin API body over `max_payload_size`.
pub(super) const ADMIN_TOO_LARGE: &str = "the request body is larger than max_payload_size";

/// A body that could not be read whole before the handler: over the size
/// limit (413, in the surface's words) or cut off (400).
pub(super) fn unreadable_body(path: &str, e: &axum::Error) -> Response {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            let detail = if path.starts_with("/admin/") {
                ADMIN_TOO_LARGE
            } else {
                SCIM_TOO_LARGE
            };
            return before_handler(
                path,
                "payload_too_large",
                &ScimError::payload_too_large(detail),
            );
        }
        source = err.source();
    }
    let e = ScimError::invalid_syntax(format!("could not read the request body: {e}"));
    before_handler(path, "invalid_body", &e)
}

/// An error answered before any handler ran, in the body of the surface
/// the path belongs to: the SCIM Error `e`, or the admin error body (and
/// the console's page) with `admin_code` and the same status and words.
pub(super) fn before_handler(path: &str, admin_code: &'static str, e: &ScimError) -> Response {
    let admin = || {
        AdminError::new(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            admin_code,
            e.detail.clone(),
        )
    };
    if path.starts_with("/admin/") {
        admin().into_response()
    } else if path == "/console" || path.starts_with("/console/") {
        super::console::error_response(admin())
    } else {
        scim_error_response(e)
    }
}

/// An admin API error: `{"status", "error", "detail"}` as JSON.
#[derive(Debug)]
pub struct AdminError {
    /// The HTTP status.
    pub(super) status: StatusCode,
    /// The stable error code.
    pub(super) code: &'static str,
    /// What the client is told.
    pub(super) detail: String,
    /// For internal errors: the cause, for the log only.
    pub(super) cause: Option<String>,
}

/// An admin API error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The HTTP status.
    #[schema(example = 404)]
    status: u16,
    /// A stable code: invalid_parameter, invalid_body, invalid_value,
    /// unauthorized, invalid_token, insufficient_scope, forbidden, registrations_closed,
    /// not_found, conflict,
    /// last_super_admin, uniqueness, seat_limit, precondition_failed,
    /// payload_too_large (413), busy (503, with Retry-After), rate_limited
    /// (429, with Retry-After), internal.
    #[schema(example = "not_found")]
    error: &'static str,
    /// What is wrong, in words.
    #[schema(example = "user ann@acme.test not found")]
    detail: String,
}

impl AdminError {
    pub(super) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            cause: None,
        }
    }
    /// A query parameter is wrong.
    pub(super) fn bad(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", detail)
    }
    /// Something failed inside: the client sees only that.
    pub(super) fn internal(e: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(e.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal server error",
            )
        }
    }
}

impl From<DirectoryError> for AdminError {
    fn from(e: DirectoryError) -> Self {
        let (status, code) = match &e {
            DirectoryError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            DirectoryError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            DirectoryError::RegistrationsClosed(_) => {
                (StatusCode::FORBIDDEN, "registrations_closed")
            }
            DirectoryError::LastSuperAdmin(_) => (StatusCode::CONFLICT, "last_super_admin"),
            DirectoryError::Owner(_) => (StatusCode::CONFLICT, "owner"),
            DirectoryError::ReadOnly(_) => (StatusCode::FORBIDDEN, "read_only"),
            DirectoryError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            DirectoryError::Gone(_) => (StatusCode::GONE, "gone"),
            DirectoryError::Uniqueness(_) => (StatusCode::CONFLICT, "uniqueness"),
            DirectoryError::SeatLimit(_) => (StatusCode::FORBIDDEN, "seat_limit"),
            DirectoryError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            DirectoryError::Invalid(_) | DirectoryError::InvalidReference(_) => {
                (StatusCode::BAD_REQUEST, "invalid_value")
            }
            DirectoryError::TokenRefused(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            DirectoryError::Protocol(p) => (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
                "invalid_value",
            ),
            DirectoryError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            DirectoryError::Internal(_) => return AdminError::internal(e),
        };
        AdminError::new(status, code, e.to_string())
    }
}

impl From<crate::store::StoreError> for AdminError {
    fn from(e: crate::store::StoreError) -> Self {
        DirectoryError::from(e).into()
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status: self.status.as_u16(),
            error: self.code,
            detail: self.detail.clone(),
        };
        let resp = (self.status, axum::Json(body)).into_response();
        finish(
            resp,
            ErrorLog {
                status: self.status.as_u16(),
                code: Some(self.code),
                detail: self.detail,
                cause: self.cause,
            },
        )
    }
}

/// What every admin endpoint may answer: a bad parameter or body, no
/// valid token, or one that does not reach it.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ReadErrors {
    /// Invalid parameter or body (invalid_parameter, invalid_body,
    /// invalid_value).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or bad token, or its user may not sign in now (unauthorized).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The token lacks the scope this endpoint needs (insufficient_scope),
    /// or its user's role does not reach it (forbidden).
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// What an endpoint about one object may answer besides [`ReadErrors`].
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum NotFound {
    /// No such object in this tenant (not_found).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// What an invitation link may answer besides [`ReadErrors`] and
/// [`NotFound`] (a link never issued).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum LinkGone {
    /// The link was accepted already (it works once), expired, withdrawn,
    /// replaced by a newer one, or its user was deleted (gone).
    #[response(status = 410)]
    Gone(ErrorBody),
}

/// What a change may answer besides [`ReadErrors`].
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ChangeErrors {
    /// The token lacks the scope (insufficient_scope); its user's role does
    /// not reach, or a guard refused (forbidden); registrations are off
    /// (registrations_closed); the seat limit is reached (seat_limit); the
    /// tenant's directory is read-only for the user, or takes no local
    /// holds (read_only).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// The last super-admin (last_super_admin), the tenant's owner (owner),
    /// a state that does not allow the change (conflict), or a taken
    /// userName or email (uniqueness).
    #[response(status = 409)]
    Conflict(ErrorBody),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn log_of(r: &Response) -> ErrorLog {
        r.extensions().get::<ErrorLog>().cloned().unwrap()
    }

    #[test]
    fn an_internal_admin_error_keeps_its_cause_for_the_log_only() {
        let r = AdminError::internal("database is locked").into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let log = log_of(&r);
        assert_eq!(log.cause.as_deref(), Some("database is locked"));
        assert_eq!(log.detail, "internal server error");
        let refused = AdminError::from(DirectoryError::NotFound("user x not found".into()));
        let log = log_of(&refused.into_response());
        assert_eq!((log.status, log.code), (404, Some("not_found")));
        assert_eq!(log.cause, None);
    }

    #[tokio::test]
    async fn a_scim_internal_error_finds_its_cause_in_the_request_slot() {
        let r = with_cause_slot(async {
            ApiError::from(DirectoryError::Internal("disk full".into())).into_response()
        })
        .await;
        let log = log_of(&r);
        assert_eq!(log.status, 500);
        assert_eq!(log.cause.as_deref(), Some("disk full"));
        assert_eq!(log.detail, "internal server error");
        // Outside a request there is no slot: no cause, no panic.
        let r = ApiError::from(DirectoryError::Internal("x".into())).into_response();
        assert_eq!(log_of(&r).cause, None);
    }
}
