//! `/policy`: the tenant's policy document (role catalog with permissions,
//! plans, mapping rules), its preview and its apply's progress.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Body, Query};
use crate::directory::access::PolicyDocument;
use crate::directory::views::{PolicyApply, PolicyPreview};
use crate::http::error::{AdminError, ChangeErrors, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(policy_get, policy_put))
        .routes(routes!(policy_preview))
        .routes(routes!(policy_apply))
}

/// `POST /policy/preview`: which page of the changed users.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct PreviewParams {
    /// 1-based index of the first user listed (default 1).
    #[param(value_type = Option<i64>)]
    start_index: Option<String>,
    /// Users per page, 0 to 500 (default 100).
    #[param(value_type = Option<i64>)]
    count: Option<String>,
}

impl PreviewParams {
    fn page(&self) -> Result<(i64, i64), AdminError> {
        let number = |name: &str, v: &Option<String>, default: i64, max: i64| match v {
            None => Ok(default),
            Some(t) => t
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| {
                    AdminError::bad(format!("{name} must be a whole number from 0 to {max}"))
                }),
        };
        Ok((
            number("startIndex", &self.start_index, 1, i64::MAX)?.max(1),
            number(
                "count",
                &self.count,
                100,
                crate::directory::MAX_POLICY_PREVIEW_PAGE,
            )?,
        ))
    }
}

/// `GET /admin/v1/policy`: the whole policy document and its version (0:
/// the configuration file's, nothing stored yet).
#[utoipa::path(get, path = "/policy", tag = "policy",
    responses((status = 200, description = "The policy document", body = PolicyDocument), ReadErrors))]
async fn policy_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<PolicyDocument>, AdminError> {
    Ok(Json(s.directory.policy_document(&ctx).await?))
}

/// `PUT /admin/v1/policy`: replace the whole document. `version` must be
/// the stored one (412 otherwise); the answer carries the new version, and
/// every user is recomputed in the background (`GET /policy/apply`).
#[utoipa::path(put, path = "/policy", tag = "policy", request_body = PolicyDocument,
    responses((status = 200, description = "The stored document, its new version", body = PolicyDocument),
              (status = 412, description = "The document's version is not the stored one", body = crate::http::error::ErrorBody),
              ReadErrors, ChangeErrors))]
async fn policy_put(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(doc): Body<PolicyDocument>,
) -> Result<Json<PolicyDocument>, AdminError> {
    Ok(Json(s.directory.replace_policy(&ctx, doc).await?))
}

/// `POST /admin/v1/policy/preview`: how many users a draft would change,
/// and which (paged), writing nothing.
#[utoipa::path(post, path = "/policy/preview", tag = "policy", request_body = PolicyDocument,
    params(PreviewParams),
    responses((status = 200, description = "The users the draft would change", body = PolicyPreview), ReadErrors, ChangeErrors))]
async fn policy_preview(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Query(q): Query<PreviewParams>,
    Body(doc): Body<PolicyDocument>,
) -> Result<Json<PolicyPreview>, AdminError> {
    let (start, count) = q.page()?;
    Ok(Json(
        s.directory.preview_policy(&ctx, &doc, start, count).await?,
    ))
}

/// `GET /admin/v1/policy/apply`: the progress of the latest apply this
/// server ran (404: none since it started).
#[utoipa::path(get, path = "/policy/apply", tag = "policy",
    responses((status = 200, description = "The latest apply's progress", body = PolicyApply), ReadErrors))]
async fn policy_apply(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<PolicyApply>, AdminError> {
    Ok(Json(s.directory.policy_apply(&ctx).await?))
}
