//! Bearer-token authentication: the token decides the tenant.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::directory::{oauth, tokens};
use crate::scim::ScimError;
use crate::store::Tenant;

/// The authenticated caller, stored in request extensions.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Tenant,
    /// Shown in the audit log, e.g. `token:okta-prod`.
    pub actor: String,
    /// Admin credentials: the user this token acts as.
    pub user_id: Option<String>,
}

pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        });
    let Some(presented) = presented else {
        return ApiError(ScimError::unauthorized(
            "authentication required: send Authorization: Bearer <token>",
        ))
        .into_response();
    };
    if !state.oauth.is_empty() && oauth::looks_like_jwt(&presented) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        return match state.oauth.verify(&presented, now).await {
            Ok(p) => match state.directory.store.find_tenant(&p.tenant).await {
                Ok(Some(tenant)) => {
                    req.extensions_mut().insert(Principal {
                        tenant,
                        actor: format!("oauth:{}", p.subject),
                        user_id: None,
                    });
                    next.run(req).await
                }
                Ok(None) => {
                    tracing::warn!(tenant = %p.tenant, "oauth token for a tenant that does not exist");
                    ApiError(ScimError::unauthorized("the bearer token is invalid")).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, "tenant lookup failed");
                    ApiError(ScimError::new(503, None, "the database is unavailable"))
                        .into_response()
                }
            },
            Err(e) => {
                // The reason stays in the log; the client learns nothing.
                tracing::info!(reason = %e, "oauth token refused");
                ApiError(ScimError::unauthorized("the bearer token is invalid")).into_response()
            }
        };
    }
    match tokens::verify(&state.directory.store, &presented).await {
        Ok(Some(record)) => {
            req.extensions_mut().insert(Principal {
                tenant: record.tenant,
                actor: format!("token:{}", record.label),
                user_id: record.user_id,
            });
            next.run(req).await
        }
        Ok(None) => ApiError(ScimError::unauthorized(
            "the bearer token is invalid or revoked",
        ))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "token lookup failed");
            ApiError(ScimError::new(503, None, "the database is unavailable")).into_response()
        }
    }
}
