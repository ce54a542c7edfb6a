//! Signing in through the tenant's identity provider: the start (a plain
//! link: a form's redirect to another origin would break `form-action
//! 'self'`) sends the browser to the provider, with a short-lived cookie
//! that ties the callback to this browser; the callback opens the session.
//! The flow itself is the directory's (`directory/console_oidc.rs`).

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::{cookie, origin_of, request_info, session_cookie};
use crate::directory::console_oidc::{ConsoleOidcError, OidcCallback, PENDING_MINUTES};
use crate::http::AppState;

/// The cookie that ties a sign-in under way to the browser that started it.
const BROWSER_COOKIE: &str = "__Host-rollcall-oidc";
/// The callback's path (the redirect URI registered at the provider is
/// this server's origin followed by it).
pub(super) const CALLBACK: &str = "/console/oidc/callback";

impl From<ConsoleOidcError> for ConsoleError {
    fn from(e: ConsoleOidcError) -> Self {
        match e {
            ConsoleOidcError::Invalid(m) => ConsoleError::bad(m),
            ConsoleOidcError::Denied(m) => ConsoleError::forbidden(m),
            ConsoleOidcError::Provider(m) => {
                ConsoleError::new(StatusCode::BAD_GATEWAY, "identity_provider", m)
            }
            ConsoleOidcError::Busy(m) => {
                ConsoleError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", m)
            }
            ConsoleOidcError::Directory(d) => d.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct StartQuery {
    next: Option<String>,
}

/// `GET /console/oidc/{index}/start`: on to the identity provider.
pub(super) async fn start(
    State(s): State<AppState>,
    Path(index): Path<usize>,
    Query(q): Query<StartQuery>,
    parts: Parts,
) -> Result<Response, ConsoleError> {
    let redirect_uri = format!(
        "{}{CALLBACK}",
        own_origin(&parts, s.http.public_url.as_deref())
    );
    let started = s
        .directory
        .begin_console_oidc(index, &redirect_uri, q.next.as_deref())
        .await?;
    let location = HeaderValue::from_str(&started.url)
        .map_err(|_| ConsoleError::bad("the identity provider's address is not usable"))?;
    let browser = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        started.browser,
        PENDING_MINUTES * 60
    ))
    .map_err(|_| ConsoleError::bad("bad cookie"))?;
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location), (header::SET_COOKIE, browser)],
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/oidc/callback`: the provider sends the browser back here.
pub(super) async fn callback(
    State(s): State<AppState>,
    Query(q): Query<CallbackQuery>,
    parts: Parts,
) -> Result<Response, ConsoleError> {
    let browser = cookie(&parts.headers, BROWSER_COOKIE);
    let cb = OidcCallback {
        state: q.state,
        code: q.code,
        error: q.error,
        error_description: q.error_description,
    };
    let done = s
        .directory
        .finish_console_oidc(cb, browser.as_deref(), request_info(&parts))
        .await?;
    let location =
        HeaderValue::from_str(&done.next).map_err(|_| ConsoleError::bad("bad return path"))?;
    let mut resp = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::SET_COOKIE, session_cookie(&done.session.secret)),
        ],
    )
        .into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-rollcall-oidc=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    Ok(resp)
}

/// This server's origin as the browser sees it: the `public_url`'s when
/// one is configured, else the `Host` asked for (http on loopback, https
/// anywhere else).
fn own_origin(parts: &Parts, public_url: Option<&str>) -> String {
    if let Some(o) = public_url.and_then(origin_of) {
        return o.to_string();
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = matches!(name, "localhost" | "[::1]") || name.starts_with("127.");
    let scheme = if loopback { "http" } else { "https" };
    format!("{scheme}://{host}")
}
