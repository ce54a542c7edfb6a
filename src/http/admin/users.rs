//! `/users`: the user list, detail, invitations, access, and the lifecycle
//! (ban, disable, sign-in reports, delete with a successor, restore, purge).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminCtx, Body, Query};
use super::params::{DeleteParams, UserPath};
use crate::directory::admin::UserListParams;
use crate::directory::lifecycle::Assets;
use crate::directory::views::{
    AccessChange, AccessView, Invitation, InvitedUser, Page, PurgeResult, Reason, SignInResult,
    Successor, UserDetail, UserRow, UserView,
};
use crate::http::error::{AdminError, ChangeErrors, NotFound, ReadErrors};
use crate::http::AppState;

type Answer<T> = Result<Json<T>, AdminError>;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(users_list, invite))
        .routes(routes!(user_get, user_delete))
        .routes(routes!(access_get, access_patch))
        .routes(routes!(ban))
        .routes(routes!(unban))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(sign_in))
        .routes(routes!(transfer))
        .routes(routes!(restore))
        .routes(routes!(purge))
}

/// `GET /admin/v1/users`: search, filters, sort, pages of 10 to 100, total.
#[utoipa::path(get, path = "/users", tag = "users", params(UserListParams),
    responses((status = 200, description = "items, total, page, pageSize, pages", body = Page<UserRow>), ReadErrors))]
async fn users_list(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Query(q): Query<UserListParams>,
) -> Answer<Page<UserRow>> {
    Ok(Json(s.directory.list_users(&ctx, &q).await?))
}

/// `POST /admin/v1/users`: invite a user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = Invitation,
    responses((status = 201, description = "The invited user with its inviteLink", body = InvitedUser), ReadErrors, ChangeErrors))]
async fn invite(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Body(inv): Body<Invitation>,
) -> Result<(StatusCode, Json<InvitedUser>), AdminError> {
    Ok((
        StatusCode::CREATED,
        Json(s.directory.invite(&ctx, inv).await?),
    ))
}

/// `GET /admin/v1/users/{id}`: everything an admin panel shows of a user.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(UserPath),
    responses((status = 200, description = "Type, role, status, last sign-in, plan, seat, groups, effective access", body = UserDetail), ReadErrors, NotFound))]
async fn user_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<UserDetail> {
    Ok(Json(s.directory.user_detail(&ctx, &p.id).await?))
}

/// `DELETE /admin/v1/users/{id}?transfer_to=USER` or `?assets=delete`
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(UserPath, DeleteParams),
    responses((status = 200, description = "The deleted user and where the ownership transfer (or the deletion of the assets) stands", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn user_delete(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
    Query(q): Query<DeleteParams>,
) -> Answer<UserView> {
    let assets = Assets::from_request(q.assets.as_deref(), q.transfer_to)?;
    let user = s.directory.delete_user(&ctx, &p.id, None, assets, true);
    Ok(Json(user.await?))
}

/// `GET /admin/v1/users/{id}/access`: effective access and its sources.
#[utoipa::path(get, path = "/users/{id}/access", tag = "users", params(UserPath),
    responses((status = 200, description = "Effective access and where each part came from", body = AccessView), ReadErrors, NotFound))]
async fn access_get(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<AccessView> {
    Ok(Json(s.directory.access_view(&ctx, &p.id).await?))
}

/// `PATCH /admin/v1/users/{id}/access`: change local access settings.
#[utoipa::path(patch, path = "/users/{id}/access", tag = "users", params(UserPath), request_body = AccessChange,
    responses((status = 200, description = "Effective access after the change", body = AccessView), ReadErrors, NotFound, ChangeErrors))]
async fn access_patch(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
    Body(change): Body<AccessChange>,
) -> Answer<AccessView> {
    Ok(Json(s.directory.set_access(&ctx, &p.id, change).await?))
}

/// `POST /admin/v1/users/{id}/ban`: a local hold the IdP cannot lift.
#[utoipa::path(post, path = "/users/{id}/ban", tag = "users", params(UserPath), request_body = Reason,
    responses((status = 200, description = "The banned user", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn ban(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
    Body(r): Body<Reason>,
) -> Answer<UserView> {
    let reason = r
        .reason
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "no reason given".into());
    Ok(Json(s.directory.set_ban(&ctx, &p.id, Some(reason)).await?))
}

/// `POST /admin/v1/users/{id}/unban`.
#[utoipa::path(post, path = "/users/{id}/unban", tag = "users", params(UserPath),
    responses((status = 200, description = "The user", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn unban(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<UserView> {
    Ok(Json(s.directory.set_ban(&ctx, &p.id, None).await?))
}

/// `POST /admin/v1/users/{id}/disable` (SCIM `active: false`).
#[utoipa::path(post, path = "/users/{id}/disable", tag = "users", params(UserPath),
    responses((status = 200, description = "The disabled user", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn disable(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<UserView> {
    Ok(Json(s.directory.set_enabled(&ctx, &p.id, false).await?))
}

/// `POST /admin/v1/users/{id}/enable`.
#[utoipa::path(post, path = "/users/{id}/enable", tag = "users", params(UserPath),
    responses((status = 200, description = "The enabled user", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn enable(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<UserView> {
    Ok(Json(s.directory.set_enabled(&ctx, &p.id, true).await?))
}

/// `POST /admin/v1/users/{id}/sign-in`: the host reports a sign-in.
#[utoipa::path(post, path = "/users/{id}/sign-in", tag = "users", params(UserPath),
    responses((status = 200, description = "allowed, status, first and last sign-in", body = SignInResult), ReadErrors, NotFound))]
async fn sign_in(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<SignInResult> {
    Ok(Json(s.directory.sign_in(&ctx, &p.id).await?))
}

/// `POST /admin/v1/users/{id}/transfer`: name the successor of a deletion
/// waiting for one, or of a viewer's hand-over waiting for one.
#[utoipa::path(post, path = "/users/{id}/transfer", tag = "users", params(UserPath), request_body = Successor,
    responses((status = 200, description = "The user, their transfer queued", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn transfer(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
    Body(b): Body<Successor>,
) -> Answer<UserView> {
    let user = s.directory.name_successor(&ctx, &p.id, b.successor);
    Ok(Json(user.await?))
}

/// `POST /admin/v1/users/{id}/restore`: undo a deletion before the purge.
#[utoipa::path(post, path = "/users/{id}/restore", tag = "users", params(UserPath),
    responses((status = 200, description = "The restored user", body = UserView), ReadErrors, NotFound, ChangeErrors))]
async fn restore(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<UserView> {
    Ok(Json(s.directory.restore(&ctx, &p.id).await?))
}

/// `POST /admin/v1/users/{id}/purge`: erase a deleted user now.
#[utoipa::path(post, path = "/users/{id}/purge", tag = "users", params(UserPath),
    responses((status = 200, description = "Purged", body = PurgeResult), ReadErrors, NotFound, ChangeErrors))]
async fn purge(
    State(s): State<AppState>,
    AdminCtx(ctx): AdminCtx,
    Path(p): Path<UserPath>,
) -> Answer<PurgeResult> {
    s.directory.purge(&ctx, &p.id).await?;
    Ok(Json(PurgeResult { purged: p.id }))
}
