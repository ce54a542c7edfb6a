//! The request log and each credential's health, as the admin API and the
//! console show them.

use serde::Serialize;

use crate::store::{CredentialFigures, TokenRow};

/// What a failed request was told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestError {
    /// The SCIM `scimType` (or error code), when the answer had one.
    #[schema(example = "invalidValue")]
    pub code: Option<String>,
    /// The `detail` of the error the client received.
    #[schema(example = "\"userName\" is required")]
    pub detail: String,
}

/// One SCIM request a credential of the tenant made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    /// The entry's id (the cursor `after` of the next page).
    #[schema(example = 1042)]
    pub id: i64,
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub at: String,
    #[schema(example = "PATCH")]
    pub method: String,
    /// The route template (`/scim/v2/Users/{id}`), never the concrete path.
    #[schema(example = "/scim/v2/Users/{id}")]
    pub route: String,
    #[schema(example = 400)]
    pub status: i64,
    /// From the request's arrival to its answer.
    #[schema(example = 12)]
    pub latency_ms: i64,
    /// `token:<id>` (a token's id, never its secret) or
    /// `oauth:<tenant>:<subject>`; `null` when no credential could be named.
    #[schema(example = "token:4f9a0c2b7d1e")]
    pub credential: Option<String>,
    /// The credential was refused (a wrong secret for that token id, a
    /// revoked token, a holder who can no longer sign in).
    pub refused: bool,
    #[schema(example = "Azure AD SCIM Client")]
    pub user_agent: Option<String>,
    /// A failure (status 400 or more): what the client was told.
    pub error: Option<RequestError>,
    /// A failure's request body, secrets masked (`********`); a body that
    /// is not JSON or is larger than 64 KiB is described, not kept.
    pub body: Option<String>,
    /// The `X-Request-Id` of the answer.
    pub request_id: Option<String>,
}

/// A page of the request log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RequestPage {
    pub items: Vec<RequestView>,
    /// The cursor (`after`) of the next, older page; `null` on the last.
    #[schema(example = "1001")]
    pub next: Option<String>,
}

/// How a credential is doing, from its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionHealth {
    /// No request in the log.
    Unused,
    /// No failure in the last 24 hours.
    Healthy,
    /// The last request succeeded; some failed in the last 24 hours.
    Errors,
    /// The last request failed.
    Failing,
}

/// One credential's health.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// `token:<id>` or `oauth:<tenant>:<subject>`.
    #[schema(example = "token:4f9a0c2b7d1e")]
    pub credential: String,
    /// The token's label.
    #[schema(example = "entra-prod")]
    pub label: Option<String>,
    /// The token was revoked.
    pub revoked: bool,
    pub health: ConnectionHealth,
    pub last_request_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error_at: Option<String>,
    /// The latest failed request, with what it was told.
    pub last_error: Option<RequestView>,
    /// Requests in the last 24 hours.
    pub requests_24h: i64,
    /// Of those, how many failed (status 400 or more).
    pub errors_24h: i64,
    /// `errors24h / requests24h` (0 with no request).
    #[schema(example = 0.02)]
    pub error_rate_24h: f64,
}

impl ConnectionView {
    /// A token with nothing in the log yet.
    pub fn unused(credential: String, t: &TokenRow) -> Self {
        ConnectionView {
            label: Some(t.record.label.clone()),
            revoked: t.record.revoked.is_some(),
            ..Self::other(credential)
        }
    }

    /// A credential that is not one of the tenant's tokens (OAuth).
    pub fn other(credential: String) -> Self {
        ConnectionView {
            credential,
            label: None,
            revoked: false,
            health: ConnectionHealth::Unused,
            last_request_at: None,
            last_success_at: None,
            last_error_at: None,
            last_error: None,
            requests_24h: 0,
            errors_24h: 0,
            error_rate_24h: 0.0,
        }
    }

    /// What the log says of it.
    pub fn fill(&mut self, f: &CredentialFigures, last_error: Option<RequestView>) {
        self.last_request_at = Some(f.last_request_at.clone());
        self.last_success_at = f.last_success_at.clone();
        self.last_error_at = f.last_error_at.clone();
        self.last_error = last_error;
        self.requests_24h = f.recent_requests;
        self.errors_24h = f.recent_errors;
        self.error_rate_24h = if f.recent_requests == 0 {
            0.0
        } else {
            f.recent_errors as f64 / f.recent_requests as f64
        };
        let last_failed = f.last_error_at.as_deref() == Some(f.last_request_at.as_str());
        self.health = if last_failed {
            ConnectionHealth::Failing
        } else if f.recent_errors > 0 {
            ConnectionHealth::Errors
        } else {
            ConnectionHealth::Healthy
        };
    }
}
