//! `/tokens`: the tenant's API tokens (never their secrets), a new token
//! (its secret in the answer, this once) and revocation. Who may do what
//! is the directory's (`directory/token_admin.rs`): admins and above; the
//! scope `admin` binds the token to its maker; SCIM tokens are a
//! super-admin's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Body};
use crate::directory::views::{CreatedToken, TokenItem, TokenRequest, TokensView};
use crate::http::error::{AdminError, ChangeErrors, NotFound, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(tokens_list, token_create))
        .routes(routes!(token_revoke))
}

/// A token's id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct TokenPath {
    /// The token's id (the 12 hex digits after `rc_`).
    id: String,
}

/// `GET /admin/v1/tokens`.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, description = "The tenant's tokens (never their secrets) and the scopes you may give a new one", body = TokensView), ReadErrors))]
async fn tokens_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
) -> Result<Json<TokensView>, AdminError> {
    Ok(Json(s.directory.tenant_tokens(&ctx).await?))
}

/// `POST /admin/v1/tokens`: the secret is in this answer only.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = TokenRequest,
    responses((status = 201, description = "The new token with its secret (shown this once)", body = CreatedToken), ReadErrors, ChangeErrors))]
async fn token_create(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(req): Body<TokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), AdminError> {
    let created = s.directory.create_token(&ctx, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /admin/v1/tokens/{id}`: it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(TokenPath),
    responses((status = 200, description = "The revoked token", body = TokenItem), ReadErrors, NotFound, ChangeErrors))]
async fn token_revoke(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<TokenPath>,
) -> Result<Json<TokenItem>, AdminError> {
    Ok(Json(s.directory.revoke_tenant_token(&ctx, &p.id).await?))
}
