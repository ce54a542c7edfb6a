//! The admin API (`/admin/v1`, JSON): the audit trail and the event feed a
//! host platform can poll. Authenticated with the tenant's bearer token.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::auth::{self, Principal};
use super::AppState;
use crate::scim::datetime;
use crate::store::AuditQuery;

/// Most entries one page returns.
pub const MAX_PAGE: i64 = 1000;
const DEFAULT_PAGE: i64 = 100;

/// An admin API error: `{"status", "error", "detail"}` as JSON.
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl AdminError {
    fn bad(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            detail: detail.into(),
        }
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "admin API failure");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            detail: "internal server error".into(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            json!({"status": self.status.as_u16(), "error": self.code, "detail": self.detail}),
        )
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit))
        .route("/events", get(events))
        .route("/seats", get(seats))
        .route_layer(middleware::from_fn_with_state(state, auth::require_token))
        .fallback(not_found)
}

async fn not_found() -> AdminError {
    AdminError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        detail: "no such admin endpoint".into(),
    }
}

/// Query parameters as (name, value) pairs, names case-sensitive.
struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AdminError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Params(
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
    fn check_known(&self, known: &[&str]) -> Result<(), AdminError> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => Err(AdminError::bad(format!(
                "unknown parameter \"{k}\"; known: {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }
    fn cursor(&self, name: &str) -> Result<Option<i64>, AdminError> {
        self.get(name)
            .map(|v| {
                v.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| {
                    AdminError::bad(format!(
                        "\"{name}\" must be a cursor from an earlier response"
                    ))
                })
            })
            .transpose()
    }
    fn limit(&self) -> Result<i64, AdminError> {
        match self.get("limit") {
            None => Ok(DEFAULT_PAGE),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| AdminError::bad(format!("\"limit\" must be 1 to {MAX_PAGE}"))),
        }
    }
    fn time(&self, name: &str) -> Result<Option<String>, AdminError> {
        self.get(name)
            .map(|v| {
                datetime::parse(v).map(datetime::format).ok_or_else(|| {
                    AdminError::bad(format!(
                        "\"{name}\" must be a dateTime such as 2026-01-31T00:00:00Z"
                    ))
                })
            })
            .transpose()
    }
}

fn principal(parts: Option<axum::Extension<Principal>>) -> Result<Principal, AdminError> {
    parts.map(|e| e.0).ok_or(AdminError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        detail: "authentication required".into(),
    })
}

/// `GET /admin/v1/audit?actor=&action=&object_type=&object_id=&request_id=&since=&until=&after=&limit=`
async fn audit(
    State(state): State<AppState>,
    who: Option<axum::Extension<Principal>>,
    params: Params,
) -> Result<Response, AdminError> {
    let who = principal(who)?;
    params.check_known(&[
        "actor",
        "action",
        "object_type",
        "object_id",
        "request_id",
        "since",
        "until",
        "after",
        "limit",
    ])?;
    let q = AuditQuery {
        after: params.cursor("after")?,
        limit: params.limit()?,
        actor: params.get("actor").map(str::to_string),
        action: params.get("action").map(str::to_string),
        object_type: params.get("object_type").map(str::to_string),
        object_id: params.get("object_id").map(str::to_string),
        request_id: params.get("request_id").map(str::to_string),
        since: params.time("since")?,
        until: params.time("until")?,
    };
    let items = state
        .directory
        .store
        .audit_page(&who.tenant, &q)
        .await
        .map_err(AdminError::internal)?;
    // A full page may have more after it; a short one is the end.
    let next = if items.len() as i64 == q.limit {
        items
            .last()
            .and_then(|i| i["id"].as_i64())
            .map(|id| id.to_string())
    } else {
        None
    };
    Ok(json_response(
        StatusCode::OK,
        json!({"items": items, "next": next}),
    ))
}

/// `GET /admin/v1/events?after=CURSOR&limit=N`: events after the cursor.
/// `next` is always the cursor to poll with next time.
async fn events(
    State(state): State<AppState>,
    who: Option<axum::Extension<Principal>>,
    params: Params,
) -> Result<Response, AdminError> {
    let who = principal(who)?;
    params.check_known(&["after", "limit"])?;
    let after = params.cursor("after")?.unwrap_or(0);
    let limit = params.limit()?;
    let events = state
        .directory
        .store
        .events_page(&who.tenant, after, limit)
        .await
        .map_err(AdminError::internal)?;
    let next = events.last().map(|e| e.id).unwrap_or(after);
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id.to_string(),
                "type": e.kind,
                "at": e.at,
                "objectId": e.object_id,
                "data": e.payload,
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"events": events, "next": next.to_string()}),
    ))
}

/// `GET /admin/v1/seats`: seats in use and limits, users and viewers apart.
async fn seats(
    State(state): State<AppState>,
    who: Option<axum::Extension<Principal>>,
) -> Result<Response, AdminError> {
    let who = principal(who)?;
    let ((users, max_users), (viewers, max_viewers)) = state
        .directory
        .store
        .seat_usage(&who.tenant)
        .await
        .map_err(AdminError::internal)?;
    Ok(json_response(
        StatusCode::OK,
        json!({
            "users": {"used": users, "limit": max_users},
            "viewers": {"used": viewers, "limit": max_viewers},
        }),
    ))
}
