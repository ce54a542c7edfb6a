//! `/audit` and `/events`: the audit trail with filters and a cursor, its
//! CSV and JSONL export, and the event feed a host platform polls.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Caller, Query};
use super::params::{AuditParams, EventParams};
use crate::directory::views::{AuditPage, EventPage};
use crate::http::error::{AdminError, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(audit))
        .routes(routes!(audit_export))
        .routes(routes!(events))
}

/// `GET /admin/v1/audit?actor=&user=&action=&object_type=&object_id=&request_id=&since=&until=&after=&limit=`
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    responses((status = 200, description = "Entries oldest first and the next cursor", body = AuditPage), ReadErrors))]
async fn audit(
    State(s): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<AuditParams>,
) -> Result<Json<AuditPage>, AdminError> {
    let (filter, after, limit) = q.page()?;
    Ok(Json(
        s.directory
            .tenant_audit_page(&who.tenant, &filter, after, limit)
            .await?,
    ))
}

/// `GET /admin/v1/audit/export?format=csv|jsonl&…filters&after=`: every entry
/// the filters select (after the cursor, if one is given), oldest first, as a CSV file (the columns of `rollcall
/// audit export`; cells that a spreadsheet would run as a formula start
/// with `'`) or JSON Lines (one entry per line, as in `/audit`). Streamed
/// page by page; `Content-Disposition: attachment`, `Cache-Control: no-store`.
#[utoipa::path(get, path = "/audit/export", tag = "audit", params(AuditParams),
    responses((status = 200, description = "The entries as CSV or JSON Lines",
        content((String = "text/csv"), (String = "application/x-ndjson"))), ReadErrors))]
async fn audit_export(
    State(s): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<AuditParams>,
) -> Result<Response, AdminError> {
    let (filter, after, format) = q.export()?;
    let export = s
        .directory
        .tenant_audit_export(&who.tenant, &filter, after, format)
        .await?;
    Ok(crate::http::download::audit_download(export))
}

/// `GET /admin/v1/events?after=CURSOR&limit=N`: events after the cursor.
/// `next` is always the cursor to poll with next time.
#[utoipa::path(get, path = "/events", tag = "events", params(EventParams),
    responses((status = 200, description = "Events after the cursor", body = EventPage), ReadErrors))]
async fn events(
    State(s): State<AppState>,
    Caller(who): Caller,
    Query(q): Query<EventParams>,
) -> Result<Json<EventPage>, AdminError> {
    let (after, limit) = q.cursor()?;
    Ok(Json(
        s.directory.events_page(&who.tenant, after, limit).await?,
    ))
}
