//! `/groups`: the group list with member counts, and one group with the
//! rules it feeds and a page of its members.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Query};
use super::params::{GroupPath, PageParams};
use crate::directory::admin::GroupListParams;
use crate::directory::views::{GroupDetail, GroupSummary, Page};
use crate::http::error::{AdminError, NotFound, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(groups_list))
        .routes(routes!(group_get))
}

/// `GET /admin/v1/groups`.
#[utoipa::path(get, path = "/groups", tag = "groups", params(GroupListParams),
    responses((status = 200, description = "items (with member counts), total, page, pageSize, pages", body = Page<GroupSummary>), ReadErrors))]
async fn groups_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Query(q): Query<GroupListParams>,
) -> Result<Json<Page<GroupSummary>>, AdminError> {
    Ok(Json(s.directory.list_groups(&ctx, &q).await?))
}

/// `GET /admin/v1/groups/{id}?page=&page_size=`: the group and a page of
/// its members.
#[utoipa::path(get, path = "/groups/{id}", tag = "groups", params(GroupPath, PageParams),
    responses((status = 200, description = "The group, the rules it feeds, and a page of members", body = GroupDetail), ReadErrors, NotFound))]
async fn group_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<GroupPath>,
    Query(q): Query<PageParams>,
) -> Result<Json<GroupDetail>, AdminError> {
    let paging = q.paging()?;
    Ok(Json(s.directory.group_detail(&ctx, &p.id, paging).await?))
}
