//! The admin API's extractors: the caller, query parameters that refuse
//! unknown names, and a JSON body whose rejections are admin error bodies.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use utoipa::openapi::path::ParameterIn;
use utoipa::IntoParams;

use crate::directory::Ctx;
use crate::http::auth::Principal;
use crate::http::error::AdminError;
use crate::http::AppState;

/// The authenticated caller (the token check put it there).
pub(super) struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AdminError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                AdminError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "authentication required",
                )
            })
    }
}

/// The caller as the directory sees it. Admin credentials act as their user.
pub(super) struct AdminCtx(pub Ctx);

impl FromRequestParts<AppState> for AdminCtx {
    type Rejection = AdminError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(p) = Caller::from_request_parts(parts, state).await?;
        let actor = match &p.user_name {
            Some(name) => format!("user:{name} ({})", p.actor),
            None => p.actor.clone(),
        };
        Ok(AdminCtx(Ctx {
            tenant: p.tenant,
            actor,
            actor_user_id: p.user_id,
            source_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            request_id: request_id(&parts.headers),
            base_url: String::new(),
            operator: false,
        }))
    }
}

fn request_id(h: &HeaderMap) -> Option<String> {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Query parameters into `T`: names are case-sensitive, a name `T` does not
/// document is refused, the first of a repeated name counts, and an empty
/// value counts as absent.
pub(super) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + IntoParams> FromRequestParts<S> for Query<T> {
    type Rejection = AdminError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let known: Vec<String> = T::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|p| p.name)
            .collect();
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !known.contains(k)) {
            return Err(AdminError::bad(format!(
                "unknown parameter \"{k}\"; known: {}",
                known.join(", ")
            )));
        }
        let mut given = form_urlencoded::Serializer::new(String::new());
        for (i, (k, v)) in pairs.iter().enumerate() {
            let first = !pairs[..i].iter().any(|(seen, _)| seen == k);
            if first && !v.is_empty() {
                given.append_pair(k, v);
            }
        }
        serde_urlencoded::from_str(&given.finish())
            .map(Query)
            .map_err(|e| AdminError::bad(e.to_string()))
    }
}

/// A JSON body into `T`; an empty body reads as `{}`. A body that does not
/// fit is an `invalid_body` error; one over the size limit (the admin API
/// takes `max_payload_size`) is a 413 `payload_too_large`; one with a
/// control character but TAB, LF and CR in any string is an
/// `invalid_value` (`scim_protocol::text`; each field's length is checked
/// where it is used).
pub(super) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let (code, detail) = match status {
                StatusCode::PAYLOAD_TOO_LARGE => (
                    "payload_too_large",
                    crate::http::error::ADMIN_TOO_LARGE.to_string(),
                ),
                _ => (
                    "invalid_body",
                    format!("could not read the request body: {}", rejection.body_text()),
                ),
            };
            AdminError::new(status, code, detail).into_response()
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let body = serde_json::from_slice(text).map(Body).map_err(|e| {
            AdminError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                format!("the body is not valid JSON for this endpoint: {e}"),
            )
            .into_response()
        })?;
        // It parsed as `T`, so it parses as a JSON value.
        let value: serde_json::Value = serde_json::from_slice(text).unwrap_or_default();
        scim_protocol::text::check_json("the body", &value).map_err(|e| {
            AdminError::new(StatusCode::BAD_REQUEST, "invalid_value", e.detail).into_response()
        })?;
        Ok(body)
    }
}
