//! `/sign-in`: a host reports a sign-in with its user's ID token; Rollcall
//! finds or creates the user, maps the token's roles and answers the
//! access decision.

use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Body};
use crate::directory::views::{IdTokenSignIn, IdTokenSignInResult};
use crate::http::error::{AdminError, ChangeErrors, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(sign_in))
}

/// `POST /admin/v1/sign-in`: sign-in provisioning from an ID token of one
/// of the tenant's `[[oidc]]` issuers. A refused token is `401
/// invalid_token` and changes nothing.
#[utoipa::path(post, path = "/sign-in", tag = "sign-in", request_body = IdTokenSignIn,
    responses((status = 200, description = "allowed, reason, created, and the user with its effective access", body = IdTokenSignInResult), ReadErrors, ChangeErrors))]
async fn sign_in(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(req): Body<IdTokenSignIn>,
) -> Result<Json<IdTokenSignInResult>, AdminError> {
    Ok(Json(s.directory.sign_in_with_id_token(&ctx, req).await?))
}
