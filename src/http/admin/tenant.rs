//! `/tenant`, `/tenant/owner`, `/seats`, `/roles` and `/transfers`: the
//! tenant's settings and owner, its seats and role catalog, and ownership
//! transfers not yet acknowledged.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Body};
use crate::directory::views::{
    OwnerChange, OwnerView, RolesView, SeatsView, TenantChange, TenantView, TransfersView,
};
use crate::http::error::{AdminError, ChangeErrors, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(tenant_get, tenant_patch))
        .routes(routes!(owner_post))
        .routes(routes!(seats))
        .routes(routes!(roles))
        .routes(routes!(transfers))
}

/// `GET /admin/v1/tenant`.
#[utoipa::path(get, path = "/tenant", tag = "tenant",
    responses((status = 200, description = "Registrations, seats, role catalog, fallback owner", body = TenantView), ReadErrors))]
async fn tenant_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<TenantView>, AdminError> {
    Ok(Json(s.directory.tenant_view(&ctx).await?))
}

/// `PATCH /admin/v1/tenant`: registrations and the fallback owner.
#[utoipa::path(patch, path = "/tenant", tag = "tenant", request_body = TenantChange,
    responses((status = 200, description = "The tenant after the change", body = TenantView), ReadErrors, ChangeErrors))]
async fn tenant_patch(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(change): Body<TenantChange>,
) -> Result<Json<TenantView>, AdminError> {
    Ok(Json(s.directory.set_tenant(&ctx, change).await?))
}

/// `POST /admin/v1/tenant/owner`: the owner hands ownership on (to a live,
/// enabled user of type `user`); nobody else may.
#[utoipa::path(post, path = "/tenant/owner", tag = "tenant", request_body = OwnerChange,
    responses((status = 200, description = "The new owner", body = OwnerView), ReadErrors, ChangeErrors))]
async fn owner_post(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(change): Body<OwnerChange>,
) -> Result<Json<OwnerView>, AdminError> {
    Ok(Json(
        s.directory
            .hand_on_ownership(&ctx, &change.user, false)
            .await?,
    ))
}

/// `GET /admin/v1/seats`: seats in use and limits, users and viewers apart.
#[utoipa::path(get, path = "/seats", tag = "tenant",
    responses((status = 200, description = "Seats in use and limits", body = SeatsView), ReadErrors))]
async fn seats(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<SeatsView>, AdminError> {
    Ok(Json(s.directory.seats(&ctx).await?))
}

/// `GET /admin/v1/roles`: the tenant's role catalog, lowest first.
#[utoipa::path(get, path = "/roles", tag = "tenant",
    responses((status = 200, description = "The role catalog, lowest first", body = RolesView), ReadErrors))]
async fn roles(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<RolesView>, AdminError> {
    Ok(Json(s.directory.roles(&ctx).await?))
}

/// `GET /admin/v1/transfers`: ownership transfers not yet acknowledged.
#[utoipa::path(get, path = "/transfers", tag = "users",
    responses((status = 200, description = "Ownership transfers not yet acknowledged", body = TransfersView), ReadErrors))]
async fn transfers(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<TransfersView>, AdminError> {
    Ok(Json(s.directory.pending_transfers(&ctx).await?))
}
