//! A streamed download (the audit export): the body is read from the
//! directory's stream as the client takes it, never whole in memory.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::directory::audit::AuditExport;

/// The export as an attachment: its type, its file name, not cached.
pub(crate) fn audit_download(export: AuditExport) -> Response {
    let body = Body::from_stream(export.body.map(|chunk| {
        chunk.map_err(|e| {
            // The status was sent: the body ends early, and this is
            // the one place that knows why.
            tracing::error!(error = %e, "audit export stopped midway");
            std::io::Error::other(e.to_string())
        })
    }));
    let disposition = format!("attachment; filename=\"{}\"", export.filename);
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
