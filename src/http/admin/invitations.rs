//! Invitations: a user's invitation (its state, a fresh link, withdrawal)
//! and the link itself (`/invitations/{token}`: who it is for, accepting
//! it as the invited user's first sign-in). A link never issued is `404`;
//! one accepted, expired, withdrawn or replaced is `410`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::AdminCtx;
use super::params::{InvitationPath, UserPath};
use crate::directory::views::{InvitationView, InvitedUser, SignInResult, UserView};
use crate::http::error::{AdminError, ChangeErrors, LinkGone, NotFound, ReadErrors};
use crate::http::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(invitation_status, reinvite, withdraw))
        .routes(routes!(invitation_get))
        .routes(routes!(invitation_accept))
}

/// `GET /admin/v1/users/{id}/invitation`: the user's latest invitation
/// (never its link) and how its email went.
#[utoipa::path(get, path = "/users/{id}/invitation", tag = "invitations", params(UserPath),
    responses((status = 200, description = "State, expiry and email delivery of the latest invitation", body = InvitationView), ReadErrors, NotFound))]
async fn invitation_status(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Result<Json<InvitationView>, AdminError> {
    Ok(Json(s.directory.invitation_status(&ctx, &p.id).await?))
}

/// `POST /admin/v1/users/{id}/invitation`: a fresh link for a user still
/// invited (emailed when `[email]` is set); the old link dies at once.
#[utoipa::path(post, path = "/users/{id}/invitation", tag = "invitations", params(UserPath),
    responses((status = 201, description = "The user with the new inviteLink (shown this once)", body = InvitedUser), ReadErrors, NotFound, ChangeErrors))]
async fn reinvite(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Result<(StatusCode, Json<InvitedUser>), AdminError> {
    let invited = s.directory.reinvite(&ctx, &p.id).await?;
    Ok((StatusCode::CREATED, Json(invited)))
}

/// `DELETE /admin/v1/users/{id}/invitation`: withdraw the open link (the
/// user stays invited, without a link).
#[utoipa::path(delete, path = "/users/{id}/invitation", tag = "invitations", params(UserPath),
    responses((status = 200, description = "The withdrawn invitation", body = InvitationView), ReadErrors, NotFound, ChangeErrors))]
async fn withdraw(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Result<Json<InvitationView>, AdminError> {
    Ok(Json(s.directory.withdraw_invitation(&ctx, &p.id).await?))
}

/// `GET /admin/v1/invitations/{token}`: who an open invitation is for.
#[utoipa::path(get, path = "/invitations/{token}", tag = "invitations", params(InvitationPath),
    responses((status = 200, description = "The invited user", body = UserView), ReadErrors, NotFound, LinkGone))]
async fn invitation_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<InvitationPath>,
) -> Result<Json<UserView>, AdminError> {
    Ok(Json(s.directory.invitation(&ctx, &p.token).await?))
}

/// `POST /admin/v1/invitations/{token}/accept`: the first sign-in; the link
/// is used up.
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "invitations", params(InvitationPath),
    responses((status = 200, description = "The sign-in result: the user is active", body = SignInResult), ReadErrors, NotFound, LinkGone))]
async fn invitation_accept(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<InvitationPath>,
) -> Result<Json<SignInResult>, AdminError> {
    Ok(Json(s.directory.accept_invitation(&ctx, &p.token).await?))
}
