//! A console error as an HTML page. The status and the words come from the
//! admin API's mapping (`http/error.rs`), so a refusal reads the same on
//! both surfaces; like every error response it carries an `ErrorLog` for
//! the one place errors are logged.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::pages::Layout;
use crate::directory::DirectoryError;
use crate::http::error::{AdminError, ErrorLog};

/// An error on its way to the browser.
#[derive(Debug)]
pub(crate) struct ConsoleError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    cause: Option<String>,
}

impl ConsoleError {
    pub(super) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            cause: None,
        }
    }
    pub(super) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
    pub(super) fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub(super) fn bad(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_value", detail)
    }
    /// The status the refusal answers with.
    pub(super) fn status(&self) -> StatusCode {
        self.status
    }
    /// What the refusal says.
    pub(super) fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<AdminError> for ConsoleError {
    fn from(e: AdminError) -> Self {
        Self {
            status: e.status,
            code: e.code,
            detail: e.detail,
            cause: e.cause,
        }
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        AdminError::from(e).into()
    }
}

impl From<DirectoryError> for ConsoleError {
    fn from(e: DirectoryError) -> Self {
        AdminError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That request is not valid",
        401 => "Please sign in",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Not possible now",
        429 | 503 => "Busy: please try again in a moment",
        _ => "Something went wrong",
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            layout: Layout::anonymous(),
            title: title(self.status),
            status: self.status.as_u16(),
            detail: &self.detail,
        };
        let html = page
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>Error</title>".into());
        let resp = (self.status, Html(html)).into_response();
        crate::http::error::finish(
            resp,
            ErrorLog {
                status: self.status.as_u16(),
                code: Some(self.code),
                detail: self.detail,
                cause: self.cause,
            },
        )
    }
}
