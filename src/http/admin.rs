//! The admin API (`/admin/v1`, JSON): users' lifecycle and access, the audit
//! trail, the event feed a host platform can poll, seats. Reads take any
//! tenant token; changes take admin credentials (a token bound to an admin
//! user, `rollcall token create --user`), so the role guards apply. The
//! host's sign-in reports take any tenant token.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::net::SocketAddr;

use super::auth::{self, Principal};
use super::AppState;
use crate::directory::lifecycle::AccessChange;
use crate::directory::{Ctx, DirectoryError};
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

impl From<DirectoryError> for AdminError {
    fn from(e: DirectoryError) -> Self {
        let (status, code) = match &e {
            DirectoryError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            DirectoryError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            DirectoryError::RegistrationsClosed(_) => {
                (StatusCode::FORBIDDEN, "registrations_closed")
            }
            DirectoryError::LastSuperAdmin(_) => (StatusCode::CONFLICT, "last_super_admin"),
            DirectoryError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            DirectoryError::Uniqueness(_) => (StatusCode::CONFLICT, "uniqueness"),
            DirectoryError::SeatLimit(_) => (StatusCode::FORBIDDEN, "seat_limit"),
            DirectoryError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            DirectoryError::Invalid(_) | DirectoryError::InvalidReference(_) => {
                (StatusCode::BAD_REQUEST, "invalid_value")
            }
            DirectoryError::Protocol(p) => (
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST),
                "invalid_value",
            ),
            DirectoryError::Internal(_) => return AdminError::internal(e),
        };
        AdminError {
            status,
            code,
            detail: e.to_string(),
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
        .route("/roles", get(roles))
        .route("/transfers", get(transfers))
        .route("/users", post(invite))
        .route("/users/{id}", get(user_get).delete(user_delete))
        .route("/users/{id}/access", get(access_get).patch(access_patch))
        .route("/users/{id}/ban", post(ban))
        .route("/users/{id}/unban", post(unban))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/sign-in", post(sign_in))
        .route("/users/{id}/transfer", post(transfer))
        .route("/users/{id}/restore", post(restore))
        .route("/users/{id}/purge", post(purge))
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

/// The caller as the directory sees it. Admin credentials act as their user.
struct AdminCtx(Ctx);

impl FromRequestParts<AppState> for AdminCtx {
    type Rejection = AdminError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = principal(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .map(axum::Extension),
        )?;
        let mut actor = p.actor.clone();
        if let Some(uid) = &p.user_id {
            if let Some(u) = state
                .directory
                .store
                .user_record(&p.tenant, uid)
                .await
                .map_err(AdminError::internal)?
            {
                actor = format!("user:{} ({})", u.user_name, p.actor);
            }
        }
        Ok(AdminCtx(Ctx {
            tenant: p.tenant,
            actor,
            actor_user_id: p.user_id,
            source_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            request_id: request_id(&parts.headers),
            base_url: String::new(),
            operator: false,
        }))
    }
}

fn request_id(h: &HeaderMap) -> Option<String> {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A JSON body; an empty body reads as `{}`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, AdminError> {
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(text).map_err(|e| AdminError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_body",
        detail: format!("the body is not valid JSON for this endpoint: {e}"),
    })
}

fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, v)
}

/// `GET /admin/v1/roles`: the tenant's role catalog, lowest first.
async fn roles(State(state): State<AppState>, AdminCtx(ctx): AdminCtx) -> Response {
    let catalog = state.directory.config.policy.catalog(&ctx.tenant.name);
    ok(json!({"roles": catalog.list(), "projectRoles": crate::directory::access::PROJECT_ROLES}))
}

/// `GET /admin/v1/transfers`: ownership transfers not yet acknowledged.
async fn transfers(
    State(state): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Response, AdminError> {
    let items = state
        .directory
        .store
        .pending_transfers(&ctx.tenant)
        .await
        .map_err(AdminError::internal)?;
    Ok(ok(json!({"items": items})))
}

/// `POST /admin/v1/users`: invite a user.
async fn invite(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let inv: crate::directory::lifecycle::Invitation = body(&bytes)?;
    let v = s.directory.invite(&ctx, inv).await?;
    Ok(json_response(StatusCode::CREATED, v))
}

async fn user_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.user_view(&ctx, &id).await?))
}

async fn access_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.access_view(&ctx, &id).await?))
}

async fn access_patch(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let change: AccessChange = body(&bytes)?;
    Ok(ok(s.directory.set_access(&ctx, &id, change).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: Option<String>,
}

async fn ban(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let r: Reason = body(&bytes)?;
    let reason = r
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "no reason given".into());
    Ok(ok(s.directory.set_ban(&ctx, &id, Some(reason)).await?))
}

async fn unban(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.set_ban(&ctx, &id, None).await?))
}

async fn disable(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.set_enabled(&ctx, &id, false).await?))
}

async fn enable(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.set_enabled(&ctx, &id, true).await?))
}

async fn sign_in(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.sign_in(&ctx, &id).await?))
}

/// `DELETE /admin/v1/users/{id}?transfer_to=USER`
async fn user_delete(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, AdminError> {
    params.check_known(&["transfer_to"])?;
    let to = params.get("transfer_to").map(str::to_string);
    Ok(ok(s
        .directory
        .delete_user(&ctx, &id, None, to, true)
        .await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Successor {
    successor: String,
}

async fn transfer(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let b: Successor = body(&bytes)?;
    Ok(ok(s
        .directory
        .name_successor(&ctx, &id, b.successor)
        .await?))
}

async fn restore(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.restore(&ctx, &id).await?))
}

async fn purge(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    s.directory.purge(&ctx, &id).await?;
    Ok(ok(json!({"purged": id})))
}
