//! The one place errors become HTTP responses: a SCIM Error body with
//! `application/scim+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::directory::DirectoryError;
use crate::scim::ScimError;

use super::SCIM_CONTENT_TYPE;

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
        if let DirectoryError::Internal(detail) = &e {
            tracing::error!(error = %detail, "internal error");
        }
        ApiError(e.to_scim())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        scim_error_response(&self.0)
    }
}

pub fn scim_error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::warn!(status = e.status, detail = %e.detail, "request failed");
    } else {
        tracing::info!(status = e.status, scim_type = e.scim_type.map(|t| t.as_str()), detail = %e.detail, "request refused");
    }
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
    resp
}
