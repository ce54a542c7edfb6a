//! The admin API (`/admin/v1`, JSON): users' lifecycle and access, groups,
//! the tenant's settings, seats and roles, invitations, deprovisioning
//! jobs, the audit trail and the event feed a host platform polls, and
//! the webhook deliveries given up (dead letters) and their replay. Each
//! route needs one scope (`http/auth.rs`): the audit trail `audit`, the
//! event feed `events`, the host's reports (by user id, or with an ID token
//! at `/sign-in`) `sign-in`, everything else `admin` — a credential bound to
//! a user (`rollcall token create --user`), whose role the directory's
//! guards then apply.
//!
//! Each area registers its routes together with their OpenAPI paths
//! (`utoipa-axum`), so the document at `/admin/v1/openapi.json` lists
//! exactly what is routed.

mod audit;
mod deliveries;
mod extract;
mod groups;
mod invitations;
mod jobs;
mod params;
mod policy;
mod requests;
mod sign_in;
mod tenant;
mod tokens;
mod users;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::auth;
use super::error::{AdminError, ErrorBody};
use super::AppState;

pub(crate) use jobs::report_response;

/// The admin API's routes: every documented endpoint behind the token
/// check, the OpenAPI document without it.
pub fn routes(state: AppState) -> Router<AppState> {
    let (router, mut doc) = api().split_for_parts();
    auth::document_scopes(&mut doc, "/admin/v1");
    let doc = Arc::new(doc);
    // The admin API takes what SCIM takes (maxPayloadSize, 1 MiB by
    // default: some 40,000 leavers' emails in one job); only /Bulk more.
    let body_limit = state.http.max_payload_size;
    router
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            super::retry::retry_contention,
        ))
        .route_layer(middleware::from_fn_with_state(state, auth::require_token))
        .route("/openapi.json", get(move || openapi(doc.clone())))
        .layer(DefaultBodyLimit::max(body_limit))
        .fallback(not_found)
}

/// Every area's routes with their OpenAPI paths.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(AdminApi::openapi())
        .merge(users::routes())
        .merge(groups::routes())
        .merge(tenant::routes())
        .merge(policy::routes())
        .merge(invitations::routes())
        .merge(jobs::routes())
        .merge(audit::routes())
        .merge(deliveries::routes())
        .merge(requests::routes())
        .merge(sign_in::routes())
        .merge(tokens::routes())
}

async fn not_found() -> AdminError {
    AdminError::new(StatusCode::NOT_FOUND, "not_found", "no such admin endpoint")
}

/// `GET /admin/v1/openapi.json` (no token needed).
async fn openapi(doc: Arc<utoipa::openapi::OpenApi>) -> Response {
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
                        "A Rollcall token (rollcall token create) or an [[oauth]] issuer's JWT; each operation names the scope it needs. The scope admin is a credential bound to a user (--user), acting with that user's role",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document's frame; the areas add the paths.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Rollcall admin API", description = "Users, groups, tenant settings and compliance deprovisioning of one tenant (the token decides which)."),
    servers((url = "/admin/v1")),
    security(("bearer" = [])),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "The user list, detail and lifecycle"),
        (name = "groups", description = "Groups and their members"),
        (name = "tenant", description = "Registrations, seats, role catalog, fallback owner"),
        (name = "policy", description = "The tenant's policy as data: roles with permissions, plans, mapping rules; preview and apply"),
        (name = "invitations", description = "Invitation links"),
        (name = "sign-in", description = "Sign-in provisioning from an identity provider's ID token"),
        (name = "deprovisioning", description = "Bulk deprovisioning jobs"),
        (name = "audit", description = "The audit trail"),
        (name = "events", description = "The event feed"),
        (name = "deliveries", description = "Webhook deliveries given up (dead letters) or still queued, and their replay"),
        (name = "requests", description = "The log of SCIM requests (refused tokens and failures with their detail) and each credential's health"),
        (name = "tokens", description = "API tokens: list, create (the secret shown once), revoke")
    )
)]
struct AdminApi;
