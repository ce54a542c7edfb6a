//! `/deliveries`: calls to the host (events, ownership transfers) given up
//! after `[delivery] max_attempts` or `max_age_hours` (dead letters) or
//! still queued, and replaying a dead letter.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Query};
use super::params::{DeliveryParams, DeliveryPath};
use crate::directory::views::{DeliveryPage, DeliveryView};
use crate::http::error::{AdminError, ChangeErrors, NotFound, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(deliveries))
        .routes(routes!(replay))
}

/// `GET /admin/v1/deliveries?state=dead|pending&kind=event|transfer&after=&limit=`:
/// the tenant's dead letters (the default) or its deliveries still queued,
/// events first, then transfers, each oldest first.
#[utoipa::path(get, path = "/deliveries", tag = "deliveries", params(DeliveryParams),
    responses((status = 200, description = "Deliveries and the next cursor", body = DeliveryPage), ReadErrors))]
async fn deliveries(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Query(q): Query<DeliveryParams>,
) -> Result<Json<DeliveryPage>, AdminError> {
    Ok(Json(s.directory.deliveries(&ctx, &q.filter()?).await?))
}

/// `POST /admin/v1/deliveries/{id}/replay`: queue a dead letter again, due
/// at once, with a fresh count of attempts and a fresh age (audited as
/// `delivery_replayed`). 409 for a delivery that is not dead.
#[utoipa::path(post, path = "/deliveries/{id}/replay", tag = "deliveries", params(DeliveryPath),
    responses((status = 200, description = "The delivery, queued again", body = DeliveryView), ReadErrors, ChangeErrors, NotFound))]
async fn replay(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<DeliveryPath>,
) -> Result<Json<DeliveryView>, AdminError> {
    Ok(Json(s.directory.replay_delivery(&ctx, &p.id).await?))
}
