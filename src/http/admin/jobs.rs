//! `/deprovision-jobs`: start a compliance deprovisioning job (it runs in
//! the background of this server), follow it, cancel it, and fetch its
//! report.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Body, Query};
use super::params::{JobPath, PageParams};
use crate::directory::deprovision::RunOptions;
use crate::directory::views::{JobBody, JobDetail, JobList, JobRunBody, JobView};
use crate::http::error::{AdminError, ChangeErrors, NotFound, ReadErrors};
use crate::http::AppState;
use crate::store::JobRecord;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(jobs_list, job_create))
        .routes(routes!(job_get))
        .routes(routes!(job_report))
        .routes(routes!(job_run))
        .routes(routes!(job_cancel))
}

/// `GET /admin/v1/deprovision-jobs`: the tenant's jobs, newest first.
#[utoipa::path(get, path = "/deprovision-jobs", tag = "deprovisioning",
    responses((status = 200, description = "The tenant's jobs, newest first", body = JobList), ReadErrors))]
async fn jobs_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<JobList>, AdminError> {
    Ok(Json(s.directory.job_list(&ctx).await?))
}

/// `POST /admin/v1/deprovision-jobs`: start a job (202), or find the
/// unfinished one with the same list and options (200).
#[utoipa::path(post, path = "/deprovision-jobs", tag = "deprovisioning", request_body = JobBody,
    responses(
        (status = 202, description = "The job, started", body = JobView),
        (status = 200, description = "The unfinished job with the same list and options, resumed", body = JobView),
        ReadErrors, ChangeErrors))]
async fn job_create(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(b): Body<JobBody>,
) -> Result<Response, AdminError> {
    // A list that cannot be read, or holds a value no user has, is a bad value.
    let (request, options) = b
        .into_job()
        .map_err(|e| AdminError::new(StatusCode::BAD_REQUEST, "invalid_value", e))?;
    let (job, resumed) = s.directory.open_job(&ctx, "api", request).await?;
    started(&s, job, resumed, options).await
}

/// `POST /admin/v1/deprovision-jobs/{id}/run`: run what the finished dry
/// run `{id}` previewed — its list and options, for real — provided its
/// `inputHash` is the one the caller previewed (202; 200 when the
/// unfinished run of them is resumed).
#[utoipa::path(post, path = "/deprovision-jobs/{id}/run", tag = "deprovisioning", params(JobPath), request_body = JobRunBody,
    responses(
        (status = 202, description = "The run, started", body = JobView),
        (status = 200, description = "The unfinished run of the same list and options, resumed", body = JobView),
        ReadErrors, ChangeErrors, NotFound))]
async fn job_run(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<JobPath>,
    Body(b): Body<JobRunBody>,
) -> Result<Response, AdminError> {
    let (job, resumed) = s
        .directory
        .run_previewed(&ctx, &p.id, &b.input_hash)
        .await?;
    started(&s, job, resumed, RunOptions::default()).await
}

/// `POST /admin/v1/deprovision-jobs/{id}/cancel`: stop a running job at
/// its next batch (the rows done keep their changes); the job, cancelled.
/// A job that is not running: 409.
#[utoipa::path(post, path = "/deprovision-jobs/{id}/cancel", tag = "deprovisioning", params(JobPath),
    responses(
        (status = 200, description = "The job, cancelled", body = JobView),
        ReadErrors, ChangeErrors, NotFound))]
async fn job_cancel(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<JobPath>,
) -> Result<Json<JobView>, AdminError> {
    let job = s.directory.cancel_job(&ctx, &p.id).await?;
    Ok(Json(s.directory.job_view(&job).await?))
}

/// A job set off in the background: 202 (200 when resumed) with its view
/// and its `Location`.
async fn started(
    s: &AppState,
    job: JobRecord,
    resumed: bool,
    options: RunOptions,
) -> Result<Response, AdminError> {
    s.directory.spawn_job(job.clone(), options);
    let view = s.directory.job_view(&job).await?;
    let status = if resumed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut r = (status, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/admin/v1/deprovision-jobs/{}", job.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// `GET /admin/v1/deprovision-jobs/{id}?page=&page_size=`: progress, counts,
/// and a page of the per-row report.
#[utoipa::path(get, path = "/deprovision-jobs/{id}", tag = "deprovisioning", params(JobPath, PageParams),
    responses((status = 200, description = "Progress, counts and a page of the per-row report", body = JobDetail), ReadErrors, NotFound))]
async fn job_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<JobPath>,
    Query(q): Query<PageParams>,
) -> Result<Json<JobDetail>, AdminError> {
    let paging = q.paging()?;
    Ok(Json(s.directory.job_detail(&ctx, &p.id, paging).await?))
}

/// `GET /admin/v1/deprovision-jobs/{id}/report`: the whole report as CSV.
#[utoipa::path(get, path = "/deprovision-jobs/{id}/report", tag = "deprovisioning", params(JobPath),
    responses((status = 200, description = "The per-row report", body = String, content_type = "text/csv"), ReadErrors, NotFound))]
async fn job_report(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<JobPath>,
) -> Result<Response, AdminError> {
    let job = s.directory.job(&ctx, &p.id).await?;
    let out = s.directory.job_report(&job.id).await?;
    Ok(report_response(&job.id, out))
}

/// A job's report as a CSV download (the admin API's and the console's).
pub(crate) fn report_response(job_id: &str, csv: String) -> Response {
    let disposition = format!("attachment; filename=\"deprovision-{job_id}.csv\"");
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    (StatusCode::OK, headers, csv).into_response()
}
