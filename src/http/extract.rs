//! Request extractors: a JSON body whose every rejection is a SCIM error,
//! and the raw query string parsed with `+` as space.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::Value;

use super::error::ApiError;
use scim_protocol::list::RawListParams;
use scim_protocol::ScimError;

/// A JSON request body. Accepts `application/scim+json`, `application/json`
/// (with any parameters such as charset) or no Content-Type at all.
pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
            let mime = ct.split(';').next().unwrap_or("").trim();
            let ok = mime.is_empty()
                || mime == "application/scim+json"
                || mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"));
            if !ok {
                return Err(ApiError(ScimError::new(
                    415,
                    Some(scim_protocol::ScimType::InvalidSyntax),
                    format!("unsupported Content-Type \"{mime}\"; send application/scim+json"),
                )));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status().as_u16();
            if status == 413 {
                ApiError(ScimError::payload_too_large(super::error::SCIM_TOO_LARGE))
            } else {
                ApiError(ScimError::invalid_syntax(format!(
                    "could not read the request body: {}",
                    rejection.body_text()
                )))
            }
        })?;
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ApiError(ScimError::invalid_syntax(
                "the request body is empty",
            )));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError(ScimError::invalid_syntax(format!(
                "the request body is not valid JSON: {e}"
            )))
        })?;
        Ok(ScimJson(value))
    }
}

/// List parameters from the query string.
pub struct ListParams(pub RawListParams);

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(ListParams(RawListParams::from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )))
    }
}

/// A path id; a malformed one (bad percent-encoding) is a SCIM 404, not
/// axum's plain-text rejection.
pub struct ScimPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ScimPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(ScimPath(id)),
            Err(_) => Err(ApiError(ScimError::not_found(
                "no resource with that id (the id in the URL is malformed)",
            ))),
        }
    }
}
