//! The admin API (`/admin/v1`, JSON): users' lifecycle and access, the audit
//! trail, the event feed a host platform can poll, seats. Reads take any
//! tenant token; changes take admin credentials (a token bound to an admin
//! user, `rollcall token create --user`), so the role guards apply. The
//! host's sign-in reports take any tenant token.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path};
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
use crate::directory::admin::{GroupListParams, Paging, TenantChange, UserListParams};
use crate::directory::deprovision;
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
        .route("/tenant", get(tenant_get).patch(tenant_patch))
        .route("/users", get(users_list).post(invite))
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
        .route("/groups", get(groups_list))
        .route("/groups/{id}", get(group_get))
        .route("/invitations/{token}", get(invitation_get))
        .route("/invitations/{token}/accept", post(invitation_accept))
        .route("/deprovision-jobs", get(jobs_list).post(job_create))
        .route("/deprovision-jobs/{id}", get(job_get))
        .route("/deprovision-jobs/{id}/report", get(job_report))
        .route_layer(middleware::from_fn_with_state(state, auth::require_token))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(JOB_BODY_LIMIT))
        .fallback(not_found)
}

/// A deprovisioning job's list of leavers may be long (100,000 emails).
const JOB_BODY_LIMIT: usize = 16 * 1024 * 1024;

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
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(("actor" = Option<String>, Query, description = "Acting principal"), ("action" = Option<String>, Query, description = "Action, e.g. deleted"), ("object_type" = Option<String>, Query, description = "User, Group, Tenant, DeprovisionJob"), ("object_id" = Option<String>, Query, description = "Object id"), ("request_id" = Option<String>, Query, description = "Request id, or a deprovisioning job id"), ("since" = Option<String>, Query, description = "dateTime, inclusive"), ("until" = Option<String>, Query, description = "dateTime, exclusive"), ("after" = Option<i64>, Query, description = "Cursor from `next`"), ("limit" = Option<i64>, Query, description = "1 to 1000 (default 100)")),
    responses((status = 200, description = "Entries oldest first and the next cursor", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(("after" = Option<i64>, Query, description = "Cursor"), ("limit" = Option<i64>, Query, description = "1 to 1000")),
    responses((status = 200, description = "Events after the cursor", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    get,
    path = "/seats",
    tag = "tenant",
    responses((status = 200, description = "Seats in use and limits", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    get,
    path = "/roles",
    tag = "tenant",
    responses((status = 200, description = "The role catalog, lowest first", body = serde_json::Value)),
    security(("bearer" = []))
)]
async fn roles(State(state): State<AppState>, AdminCtx(ctx): AdminCtx) -> Response {
    let catalog = state.directory.config.policy.catalog(&ctx.tenant.name);
    ok(json!({"roles": catalog.list(), "projectRoles": crate::directory::access::PROJECT_ROLES}))
}

/// `GET /admin/v1/transfers`: ownership transfers not yet acknowledged.
#[utoipa::path(
    get,
    path = "/transfers",
    tag = "users",
    responses((status = 200, description = "Ownership transfers not yet acknowledged", body = serde_json::Value)),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    request_body = crate::directory::lifecycle::Invitation,
    responses((status = 201, description = "The invited user with its inviteLink", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 403, description = "registrations_closed: registrations are off", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn invite(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let inv: crate::directory::lifecycle::Invitation = body(&bytes)?;
    let v = s.directory.invite(&ctx, inv).await?;
    Ok(json_response(StatusCode::CREATED, v))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "Type, role, status, last sign-in, plan, seat, groups, effective access", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn user_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.user_detail(&ctx, &id).await?))
}

#[utoipa::path(
    get,
    path = "/users/{id}/access",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "Effective access and where each part came from", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn access_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.access_view(&ctx, &id).await?))
}

#[utoipa::path(
    patch,
    path = "/users/{id}/access",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    request_body = AccessChange,
    responses((status = 200, description = "Effective access after the change", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn access_patch(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let change: AccessChange = body(&bytes)?;
    Ok(ok(s.directory.set_access(&ctx, &id, change).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/users/{id}/ban",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    request_body = Reason,
    responses((status = 200, description = "The banned user", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/users/{id}/unban",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "The user", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn unban(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.set_ban(&ctx, &id, None).await?))
}

#[utoipa::path(
    post,
    path = "/users/{id}/disable",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "The disabled user", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn disable(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.set_enabled(&ctx, &id, false).await?))
}

#[utoipa::path(
    post,
    path = "/users/{id}/enable",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "The enabled user", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn enable(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.set_enabled(&ctx, &id, true).await?))
}

#[utoipa::path(
    post,
    path = "/users/{id}/sign-in",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "allowed, status, first and last sign-in", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn sign_in(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.sign_in(&ctx, &id).await?))
}

/// `DELETE /admin/v1/users/{id}?transfer_to=USER`
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)"), ("transfer_to" = Option<String>, Query, description = "The successor of the user's assets")),
    responses((status = 200, description = "The deleted user and where the ownership transfer stands", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
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

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Successor {
    successor: String,
}

#[utoipa::path(
    post,
    path = "/users/{id}/transfer",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    request_body = Successor,
    responses((status = 200, description = "The deleted user, its transfer queued", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
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

#[utoipa::path(
    post,
    path = "/users/{id}/restore",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "The restored user", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn restore(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.restore(&ctx, &id).await?))
}

#[utoipa::path(
    post,
    path = "/users/{id}/purge",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (or userName)")),
    responses((status = 200, description = "Purged", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "The last super-admin, or a state conflict", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn purge(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    s.directory.purge(&ctx, &id).await?;
    Ok(ok(json!({"purged": id})))
}

/// Query parameters into a parameter struct (only the known names).
fn user_params(p: &Params) -> Result<UserListParams, AdminError> {
    p.check_known(&[
        "search",
        "sort",
        "order",
        "status",
        "type",
        "role",
        "group",
        "page",
        "page_size",
    ])?;
    let g = |n: &str| p.get(n).map(str::to_string);
    Ok(UserListParams {
        search: g("search"),
        sort: g("sort"),
        order: g("order"),
        status: g("status"),
        user_type: g("type"),
        role: g("role"),
        group: g("group"),
        page: g("page"),
        page_size: g("page_size"),
    })
}

/// `GET /admin/v1/users`: search, filters, sort, pages of 10 to 100, total.
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(("search" = Option<String>, Query, description = "Text in userName, displayName or an email; or an exact id"), ("sort" = Option<String>, Query, description = "userName, displayName, email, status, type, role, plan, created, lastModified, lastSignIn"), ("order" = Option<String>, Query, description = "asc or desc"), ("status" = Option<String>, Query, description = "invited, created, active, disabled, banned, deleted; comma-separated (default: all but deleted)"), ("type" = Option<String>, Query, description = "user or viewer"), ("role" = Option<String>, Query, description = "A role of the catalog"), ("group" = Option<String>, Query, description = "Members (direct or nested) of this group id or displayName"), ("page" = Option<i64>, Query, description = "1-based page (default 1)"), ("page_size" = Option<i64>, Query, description = "10, 20, … or 100 (default 20)")),
    responses((status = 200, description = "items, total, page, pageSize, pages", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn users_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    params: Params,
) -> Result<Response, AdminError> {
    let q = user_params(&params)?;
    Ok(ok(s.directory.list_users(&ctx, &q).await?))
}

/// `GET /admin/v1/groups`.
#[utoipa::path(
    get,
    path = "/groups",
    tag = "groups",
    params(("search" = Option<String>, Query, description = "Text in displayName, or an exact id"), ("sort" = Option<String>, Query, description = "displayName, members, created, lastModified"), ("order" = Option<String>, Query, description = "asc or desc"), ("page" = Option<i64>, Query, description = "1-based page (default 1)"), ("page_size" = Option<i64>, Query, description = "10, 20, … or 100 (default 20)")),
    responses((status = 200, description = "items (with member counts), total, page, pageSize, pages", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn groups_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    params: Params,
) -> Result<Response, AdminError> {
    params.check_known(&["search", "sort", "order", "page", "page_size"])?;
    let g = |n: &str| params.get(n).map(str::to_string);
    let q = GroupListParams {
        search: g("search"),
        sort: g("sort"),
        order: g("order"),
        page: g("page"),
        page_size: g("page_size"),
    };
    Ok(ok(s.directory.list_groups(&ctx, &q).await?))
}

/// `GET /admin/v1/groups/{id}?page=&page_size=`: the group and a page of
/// its members.
#[utoipa::path(
    get,
    path = "/groups/{id}",
    tag = "groups",
    params(("id" = String, Path, description = "The group's id (or displayName)"), ("page" = Option<i64>, Query, description = "1-based page (default 1)"), ("page_size" = Option<i64>, Query, description = "10, 20, … or 100 (default 20)")),
    responses((status = 200, description = "The group, the rules it feeds, and a page of members", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn group_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, AdminError> {
    params.check_known(&["page", "page_size"])?;
    let paging = Paging::parse(params.get("page"), params.get("page_size"))?;
    Ok(ok(s.directory.group_detail(&ctx, &id, paging).await?))
}

#[utoipa::path(
    get,
    path = "/tenant",
    tag = "tenant",
    responses((status = 200, description = "Registrations, seats, role catalog, fallback owner", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn tenant_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.tenant_view(&ctx).await?))
}

#[utoipa::path(
    patch,
    path = "/tenant",
    tag = "tenant",
    request_body = TenantChange,
    responses((status = 200, description = "The tenant after the change", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn tenant_patch(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let change: TenantChange = body(&bytes)?;
    Ok(ok(s.directory.set_tenant(&ctx, change).await?))
}

#[utoipa::path(
    get,
    path = "/invitations/{token}",
    tag = "invitations",
    params(("token" = String, Path, description = "The invitation secret from the link")),
    responses((status = 200, description = "The invited user", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn invitation_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(token): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.invitation(&ctx, &token).await?))
}

#[utoipa::path(
    post,
    path = "/invitations/{token}/accept",
    tag = "invitations",
    params(("token" = String, Path, description = "The invitation secret from the link")),
    responses((status = 200, description = "The sign-in result: the user is active", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn invitation_accept(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(token): Path<String>,
) -> Result<Response, AdminError> {
    Ok(ok(s.directory.accept_invitation(&ctx, &token).await?))
}

/// A deprovisioning job request.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobBody {
    /// `deactivate` or `delete`.
    mode: String,
    /// `userName`, `email` or `externalId` (default: from the CSV header,
    /// else `userName`).
    #[serde(rename = "match")]
    match_on: Option<String>,
    /// The successor of deleted leavers' assets (id, userName or email).
    transfer_to: Option<String>,
    #[serde(default)]
    dry_run: bool,
    /// The leavers, one value each …
    leavers: Option<Vec<String>>,
    /// … or the text of a CSV file (a header row names the column).
    csv: Option<String>,
    /// Rows per transaction (1–5000, default 200).
    batch_size: Option<i64>,
    /// Pause between batches, in milliseconds (0–10000).
    #[serde(default)]
    pause_ms: u64,
}

/// `POST /admin/v1/deprovision-jobs`: start a job (202), or find the
/// unfinished one with the same list and options (200).
#[utoipa::path(
    post,
    path = "/deprovision-jobs",
    tag = "deprovisioning",
    request_body = JobBody,
    responses((status = 202, description = "The job, started", body = serde_json::Value), (status = 200, description = "The unfinished job with the same list and options, resumed", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 403, description = "Not admin credentials, or a role guard refused", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn job_create(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let b: JobBody = body(&bytes)?;
    let (match_on, inputs) = match (b.leavers, b.csv) {
        (Some(list), None) => (
            b.match_on.unwrap_or_else(|| "userName".into()),
            list.into_iter().map(|v| v.trim().to_string()).collect(),
        ),
        (None, Some(text)) => {
            deprovision::parse_leavers(&text, b.match_on.as_deref()).map_err(AdminError::bad)?
        }
        _ => return Err(AdminError::bad("give either \"leavers\" or \"csv\"")),
    };
    if b.pause_ms > 10_000 {
        return Err(AdminError::bad("\"pauseMs\" must be 0 to 10000"));
    }
    let batch_size = b.batch_size.unwrap_or(200);
    if !(1..=5000).contains(&batch_size) {
        return Err(AdminError::bad("\"batchSize\" must be 1 to 5000"));
    }
    let req = deprovision::JobRequest {
        mode: b.mode,
        match_on,
        transfer_to: b.transfer_to,
        dry_run: b.dry_run,
        inputs,
    };
    let (job, resumed) = s.directory.open_job(&ctx, "api", req).await?;
    s.directory.spawn_job(
        job.clone(),
        deprovision::RunOptions {
            pause: std::time::Duration::from_millis(b.pause_ms),
            batch_size,
        },
    );
    let view = s.directory.job_view(&job).await?;
    let status = if resumed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut r = json_response(status, view);
    if let Ok(v) = format!("/admin/v1/deprovision-jobs/{}", job.id).parse() {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

async fn find_job(
    s: &AppState,
    ctx: &Ctx,
    id: &str,
) -> Result<crate::store::JobRecord, AdminError> {
    s.directory
        .store
        .job(&ctx.tenant, id)
        .await
        .map_err(AdminError::internal)?
        .ok_or_else(|| {
            DirectoryError::NotFound(format!("deprovisioning job {id} not found")).into()
        })
}

/// `GET /admin/v1/deprovision-jobs/{id}?page=&page_size=`: progress, counts,
/// and a page of the per-row report.
#[utoipa::path(
    get,
    path = "/deprovision-jobs/{id}",
    tag = "deprovisioning",
    params(("id" = String, Path, description = "The job id"), ("page" = Option<i64>, Query, description = "1-based page (default 1)"), ("page_size" = Option<i64>, Query, description = "10, 20, … or 100 (default 20)")),
    responses((status = 200, description = "Progress, counts and a page of the per-row report", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn job_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, AdminError> {
    params.check_known(&["page", "page_size"])?;
    let paging = Paging::parse(params.get("page"), params.get("page_size"))?;
    let job = find_job(&s, &ctx, &id).await?;
    let rows = s
        .directory
        .store
        .job_rows(&job.id, paging.offset(), paging.page_size)
        .await
        .map_err(AdminError::internal)?;
    let mut view = s.directory.job_view(&job).await?;
    view["rows"] = paging.envelope(rows.iter().map(deprovision::row_json).collect(), job.total);
    Ok(ok(view))
}

/// `GET /admin/v1/deprovision-jobs/{id}/report`: the whole report as CSV.
#[utoipa::path(
    get,
    path = "/deprovision-jobs/{id}/report",
    tag = "deprovisioning",
    params(("id" = String, Path, description = "The job id")),
    responses((status = 200, description = "The per-row report", body = String, content_type = "text/csv"), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn job_report(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let job = find_job(&s, &ctx, &id).await?;
    let out = s.directory.job_report(&job.id).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"deprovision-{}.csv\"", job.id),
            ),
        ],
        out,
    )
        .into_response())
}

/// `GET /admin/v1/deprovision-jobs`: the tenant's jobs, newest first.
#[utoipa::path(
    get,
    path = "/deprovision-jobs",
    tag = "deprovisioning",
    responses((status = 200, description = "The tenant's jobs, newest first", body = serde_json::Value), (status = 400, description = "Invalid parameter or body", body = ErrorBody), (status = 401, description = "No or bad token", body = ErrorBody)),
    security(("bearer" = []))
)]
async fn jobs_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Response, AdminError> {
    let jobs = s
        .directory
        .store
        .jobs(&ctx.tenant, 100)
        .await
        .map_err(AdminError::internal)?;
    let mut items = Vec::new();
    for j in &jobs {
        items.push(s.directory.job_view(j).await?);
    }
    Ok(ok(json!({"items": items})))
}

/// `GET /admin/v1/openapi.json` (no token needed).
async fn openapi() -> Response {
    let doc = <AdminApi as utoipa::OpenApi>::openapi();
    match doc.to_json() {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
        Err(e) => AdminError::internal(e).into_response(),
    }
}

/// An admin API error body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    status: u16,
    /// A stable code: invalid_parameter, invalid_body, unauthorized,
    /// forbidden, registrations_closed, not_found, conflict,
    /// last_super_admin, uniqueness, seat_limit, internal.
    error: String,
    detail: String,
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A tenant token reads; changes need admin credentials (a token bound to an admin user: rollcall token create --user)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin API's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Rollcall admin API", description = "Users, groups, tenant settings and compliance deprovisioning of one tenant (the token decides which)."),
    servers((url = "/admin/v1")),
    paths(
        users_list, invite, user_get, user_delete, access_get, access_patch, ban, unban, disable,
        enable, sign_in, transfer, restore, purge, groups_list, group_get, tenant_get, tenant_patch,
        seats, roles, transfers, invitation_get, invitation_accept, jobs_list, job_create, job_get,
        job_report, audit, events
    ),
    components(schemas(ErrorBody, JobBody, Reason, Successor, TenantChange, AccessChange, crate::directory::lifecycle::Invitation)),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "The user list, detail and lifecycle"),
        (name = "groups", description = "Groups and their members"),
        (name = "tenant", description = "Registrations, seats, role catalog, fallback owner"),
        (name = "invitations", description = "Invitation links"),
        (name = "deprovisioning", description = "Bulk deprovisioning jobs"),
        (name = "audit", description = "The audit trail"),
        (name = "events", description = "The event feed")
    )
)]
pub struct AdminApi;
