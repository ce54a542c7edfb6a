//! Sessions glue: the `__Host-` cookie, the signed-in extractor (the
//! session and its user's rights, re-read on every request), and the guard
//! of every state-changing request: a same-origin `Origin`, then the
//! session, then the CSRF token bound to it.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::ConsoleError;
use crate::directory::console::{ConsoleSession, RequestInfo, ABSOLUTE_HOURS};
use crate::directory::Ctx;
use crate::http::AppState;

/// The session cookie: `__Host-` (Secure, Path=/, no Domain), HttpOnly,
/// SameSite=Lax.
pub(super) const COOKIE: &str = "__Host-rollcall-console";
/// Where a browser without a session is sent.
pub(super) const SIGN_IN: &str = "/console/sign-in";

/// The `Set-Cookie` value that carries a new session.
pub(super) fn session_cookie(secret: &str) -> HeaderValue {
    let v = format!(
        "{COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        ABSOLUTE_HOURS * 3600
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| clear_cookie())
}

/// The `Set-Cookie` value that removes the session cookie.
pub(super) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-rollcall-console=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
    )
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The session id the cookie carries.
fn cookie_secret(h: &HeaderMap) -> Option<String> {
    cookie(h, COOKIE)
}

/// The value of the cookie `name`, if the request carries one.
pub(super) fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Where the request comes from, for the audit trail.
pub(super) fn request_info(parts: &Parts) -> RequestInfo {
    RequestInfo {
        source_ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
        request_id: header(&parts.headers, crate::http::REQUEST_ID).map(str::to_string),
    }
}

/// Whether a state-changing request comes from the console's own pages:
/// `Origin` must be this server's origin (the `public_url`'s when one is
/// configured, else the `Host` the browser asked for), and a browser's
/// `Sec-Fetch-Site`, when sent, must say same-origin.
pub(super) fn same_origin(parts: &Parts, public_url: Option<&str>) -> bool {
    let h = &parts.headers;
    if header(h, "sec-fetch-site").is_some_and(|s| s != "same-origin") {
        return false;
    }
    let Some(origin) = header(h, header::ORIGIN.as_str()) else {
        return false;
    };
    if let Some(public) = public_url.and_then(origin_of) {
        return origin.eq_ignore_ascii_case(public);
    }
    let host = header(h, header::HOST.as_str())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(&h))
}

/// `scheme://authority` of a URL.
pub(super) fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

/// A browser without a live session goes to the sign-in page (an htmx
/// request is told to go there); a stale cookie is removed.
fn to_sign_in(parts: &Parts, stale: bool) -> Response {
    let mut resp = if parts.headers.contains_key("hx-request") {
        (StatusCode::OK, [("hx-redirect", SIGN_IN)]).into_response()
    } else {
        (StatusCode::SEE_OTHER, [(header::LOCATION, SIGN_IN)]).into_response()
    };
    if stale {
        resp.headers_mut()
            .insert(header::SET_COOKIE, clear_cookie());
    }
    resp
}

/// The signed-in user's session, as of this request.
pub(super) struct Signed {
    pub session: ConsoleSession,
    pub info: RequestInfo,
}

impl Signed {
    /// The directory context: the user acts with their own rights.
    pub fn ctx(&self) -> Ctx {
        self.session.ctx(self.info.clone())
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(secret) = cookie_secret(&parts.headers) else {
            return Err(to_sign_in(parts, false));
        };
        match state.directory.console_session(&secret).await {
            Ok(Some(session)) => Ok(Signed {
                session,
                info: request_info(parts),
            }),
            Ok(None) => Err(to_sign_in(parts, true)),
            Err(e) => Err(ConsoleError::from(e).into_response()),
        }
    }
}

/// The fields of a form body, and its `csrf` field apart.
fn read_form<T: DeserializeOwned>(body: &[u8]) -> Result<(T, Option<String>), ConsoleError> {
    let mut csrf = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(body) {
        // The rule of text (`scim_protocol::text`): no control character
        // but TAB, LF and CR in any field.
        let bad = |e: scim_protocol::ScimError| ConsoleError::bad(e.detail);
        scim_protocol::text::check_chars("a field's name", &k).map_err(bad)?;
        scim_protocol::text::check_chars(&k, &v).map_err(bad)?;
        match k.as_ref() {
            "csrf" => csrf = Some(v.into_owned()),
            _ => {
                rest.append_pair(&k, &v);
            }
        }
    }
    let form = serde_urlencoded::from_str(&rest.finish())
        .map_err(|e| ConsoleError::bad(format!("the form is not complete: {e}")))?;
    Ok((form, csrf))
}

/// A form posted without a session (the sign-in link's): `Origin` checked.
pub(super) struct OriginForm<T> {
    pub form: T,
    pub info: RequestInfo,
}

impl<T: DeserializeOwned> FromRequest<AppState> for OriginForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        if !same_origin(&parts, state.http.public_url.as_deref()) {
            return Err(cross_origin().into_response());
        }
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (form, _) = read_form(&bytes).map_err(IntoResponse::into_response)?;
        Ok(OriginForm {
            form,
            info: request_info(&parts),
        })
    }
}

fn cross_origin() -> ConsoleError {
    ConsoleError::forbidden(
        "this request does not come from the console's own pages (its Origin is missing or another site's), so nothing was changed",
    )
}

/// The first checks of every change, before its body is read: a
/// same-origin `Origin`, then a live session.
pub(super) async fn signed_change(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
    if !same_origin(parts, state.http.public_url.as_deref()) {
        return Err(cross_origin().into_response());
    }
    Signed::from_request_parts(parts, state).await
}

/// The last check of every change: the form's CSRF token is the session's.
pub(super) fn check_csrf(signed: &Signed, csrf: Option<&str>) -> Result<(), ConsoleError> {
    if csrf.is_some_and(|c| signed.session.csrf_ok(c)) {
        return Ok(());
    }
    Err(ConsoleError::forbidden(
        "the form's security token is missing or does not belong to your session, so nothing was changed; reload the page and try again",
    ))
}

/// A state-changing request of a signed-in user: `Origin` checked, then
/// the session, then the form's CSRF token.
pub(super) struct Change<T> {
    pub signed: Signed,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Change<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let signed = signed_change(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (form, csrf) = read_form(&bytes).map_err(IntoResponse::into_response)?;
        check_csrf(&signed, csrf.as_deref()).map_err(IntoResponse::into_response)?;
        Ok(Change { signed, form })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder().uri("/console/logout");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_the_servers_own_origin_may_change_anything() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(
            &parts(&[host, ("origin", "http://127.0.0.1:8080")]),
            None
        ));
        assert!(!same_origin(&parts(&[host]), None), "no Origin");
        assert!(!same_origin(
            &parts(&[host, ("origin", "http://evil.test")]),
            None
        ));
        assert!(!same_origin(&parts(&[host, ("origin", "null")]), None));
        let cross = [
            host,
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-site"),
        ];
        assert!(!same_origin(&parts(&cross), None));
        let public = Some("https://id.example.com/scim/v2");
        let behind_proxy = [
            ("host", "10.0.0.5:8080"),
            ("origin", "https://id.example.com"),
        ];
        assert!(same_origin(&parts(&behind_proxy), public));
        assert!(!same_origin(
            &parts(&[host, ("origin", "http://127.0.0.1:8080")]),
            public
        ));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-rollcall-console=rcs_x"),
        );
        assert_eq!(cookie_secret(&h).as_deref(), Some("rcs_x"));
        assert_eq!(
            origin_of("https://id.example.com/scim/v2"),
            Some("https://id.example.com")
        );
        let c = session_cookie("rcs_x");
        let c = c.to_str().unwrap();
        for part in [
            "__Host-rollcall-console=rcs_x",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
    }
}
