//! `/requests` and `/connections`: the tenant's log of SCIM requests (a
//! refused token and a failure's error and masked body included), and each
//! credential's health from it.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Query};
use crate::directory::request_log::{parse_status, RequestFilter};
use crate::directory::views::{ConnectionView, RequestPage};
use crate::http::error::{AdminError, ReadErrors};
use crate::http::AppState;
use scim_protocol::datetime;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(requests))
        .routes(routes!(connections))
}

/// `GET /requests`: filters and cursor.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct RequestParams {
    /// A status (`400`), a class (`4xx`), `errors` (400 and above) or `ok`.
    #[param(example = "4xx")]
    status: Option<String>,
    /// A credential as the log names it (`token:<id>`, `oauth:<tenant>:<subject>`).
    #[param(example = "token:4f9a0c2b7d1e")]
    credential: Option<String>,
    /// dateTime, inclusive.
    #[param(example = "2026-02-03T00:00:00Z")]
    since: Option<String>,
    /// Cursor from `next`: entries older than it.
    after: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
}

impl RequestParams {
    fn filter(self) -> Result<RequestFilter, AdminError> {
        let status = self
            .status
            .as_deref()
            .map(parse_status)
            .transpose()
            .map_err(AdminError::bad)?;
        let since = self
            .since
            .as_deref()
            .map(|s| {
                datetime::parse(s).map(datetime::format).ok_or_else(|| {
                    AdminError::bad(format!("\"since\" must be a dateTime, not \"{s}\""))
                })
            })
            .transpose()?;
        let after = self
            .after
            .as_deref()
            .map(|a| {
                a.parse::<i64>().ok().filter(|a| *a > 0).ok_or_else(|| {
                    AdminError::bad("\"after\" must be a cursor from an earlier response")
                })
            })
            .transpose()?;
        Ok(RequestFilter {
            status,
            credential: self.credential,
            since,
            after,
            limit: super::params::limit(self.limit.as_deref())?,
        })
    }
}

/// `GET /admin/v1/requests?status=&credential=&since=&after=&limit=`: the
/// tenant's SCIM requests, newest first: method, route, status, latency,
/// credential, User-Agent, and for a failure the error and the body, its
/// secrets masked. Refused tokens appear by the id their prefix names.
#[utoipa::path(get, path = "/requests", tag = "requests", params(RequestParams),
    responses((status = 200, description = "Requests and the next cursor", body = RequestPage), ReadErrors))]
async fn requests(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Query(q): Query<RequestParams>,
) -> Result<Json<RequestPage>, AdminError> {
    Ok(Json(s.directory.requests(&ctx, &q.filter()?).await?))
}

/// `GET /admin/v1/connections`: each credential's health — every token of
/// the tenant (one never used too) and every credential the log names:
/// last request, last success, last error (with what it was told), and the
/// error rate over the last 24 hours.
#[utoipa::path(get, path = "/connections", tag = "requests",
    responses((status = 200, description = "Each credential's health", body = [ConnectionView]), ReadErrors))]
async fn connections(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<Vec<ConnectionView>>, AdminError> {
    Ok(Json(s.directory.connections(&ctx).await?))
}
