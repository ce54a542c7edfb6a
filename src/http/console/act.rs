//! The console's changes: each a form posted through the `Change`
//! extractor (Origin, session, CSRF), one `Directory` call — the same one
//! the admin API makes — and a redirect back to the page it came from.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::Change;
use crate::directory::lifecycle::Assets;
use crate::directory::views::AccessChange;
use crate::http::AppState;

type Done = Result<Response, ConsoleError>;

/// A form that only says where to go back to.
#[derive(Debug, Deserialize)]
pub(super) struct Back {
    return_to: Option<String>,
}

/// Ban user: the reason.
#[derive(Debug, Deserialize)]
pub(super) struct BanForm {
    return_to: Option<String>,
    reason: Option<String>,
}

/// Upgrade / downgrade, change role, change plan (`plan` empty: back to
/// the default).
#[derive(Debug, Deserialize)]
pub(super) struct AccessForm {
    return_to: Option<String>,
    #[serde(rename = "type")]
    user_type: Option<String>,
    role: Option<String>,
    plan: Option<String>,
}

/// Delete user: the successor (empty: the manager, else the fallback
/// owner) and the typed confirmation.
#[derive(Debug, Deserialize)]
pub(super) struct DeleteForm {
    return_to: Option<String>,
    successor: Option<String>,
    /// `transfer` (the default) or `delete`.
    assets: Option<String>,
    confirm: Option<String>,
}

/// Purge user: the typed confirmation.
#[derive(Debug, Deserialize)]
pub(super) struct PurgeForm {
    confirm: Option<String>,
}

/// Name successor.
#[derive(Debug, Deserialize)]
pub(super) struct SuccessorForm {
    return_to: Option<String>,
    successor: Option<String>,
}

/// 303 to `return_to` when it is a console page, else to `fallback`.
pub(super) fn back(return_to: Option<&str>, fallback: String) -> Response {
    let safe = return_to.filter(|r| {
        r.starts_with("/console/") && !r.contains("//") && !r.contains('\\') && !r.contains("\r")
    });
    let to = safe.map(str::to_string).unwrap_or(fallback);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

fn detail(id: &str) -> String {
    format!("/console/users/{id}")
}

/// The typed confirmation must be the user's userName.
async fn confirmed(
    s: &AppState,
    c: &Change<impl Sized>,
    id: &str,
    typed: Option<&str>,
) -> Result<(), ConsoleError> {
    let user = s.directory.user_detail(&c.signed.ctx(), id).await?;
    if typed.map(str::trim) != Some(user.user.user_name.as_str()) {
        return Err(ConsoleError::bad(format!(
            "nothing was changed: type {} exactly to confirm",
            user.user.user_name
        )));
    }
    Ok(())
}

pub(super) async fn disable(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Done {
    s.directory.set_enabled(&c.signed.ctx(), &id, false).await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

pub(super) async fn enable(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Done {
    s.directory.set_enabled(&c.signed.ctx(), &id, true).await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

pub(super) async fn ban(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<BanForm>,
) -> Done {
    let reason = c
        .form
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let reason = reason.unwrap_or("no reason given").to_string();
    s.directory
        .set_ban(&c.signed.ctx(), &id, Some(reason))
        .await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

pub(super) async fn unban(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Done {
    s.directory.set_ban(&c.signed.ctx(), &id, None).await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

pub(super) async fn access(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<AccessForm>,
) -> Done {
    let f = &c.form;
    let change = AccessChange {
        user_type: f.user_type.clone().map(Some),
        role: f.role.clone().map(Some),
        plan: f.plan.clone().map(|p| Some(p).filter(|p| !p.is_empty())),
        ..AccessChange::default()
    };
    s.directory.set_access(&c.signed.ctx(), &id, change).await?;
    Ok(back(f.return_to.as_deref(), detail(&id)))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<DeleteForm>,
) -> Done {
    confirmed(&s, &c, &id, c.form.confirm.as_deref()).await?;
    // The successor picker serves a transfer only: with "Remove their
    // assets with the account" chosen, what it shows is not asked for.
    let assets = c.form.assets.as_deref().filter(|a| !a.is_empty());
    let successor = match assets {
        Some("delete") => None,
        _ => c.form.successor.clone().filter(|x| !x.trim().is_empty()),
    };
    let assets = Assets::from_request(assets, successor)?;
    let ctx = c.signed.ctx();
    let user = s
        .directory
        .delete_user(&ctx, &id, None, assets, true)
        .await?;
    Ok(back(c.form.return_to.as_deref(), detail(&user.id)))
}

pub(super) async fn successor(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<SuccessorForm>,
) -> Done {
    let successor = c
        .form
        .successor
        .clone()
        .unwrap_or_default()
        .trim()
        .to_string();
    s.directory
        .name_successor(&c.signed.ctx(), &id, successor)
        .await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

pub(super) async fn restore(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Done {
    s.directory.restore(&c.signed.ctx(), &id).await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

/// Make owner: the owner hands ownership on.
pub(super) async fn owner(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Done {
    s.directory
        .hand_on_ownership(&c.signed.ctx(), &id, false)
        .await?;
    Ok(back(c.form.return_to.as_deref(), detail(&id)))
}

pub(super) async fn purge(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<PurgeForm>,
) -> Done {
    confirmed(&s, &c, &id, c.form.confirm.as_deref()).await?;
    s.directory.purge(&c.signed.ctx(), &id).await?;
    Ok(back(None, "/console/users?status=deleted".into()))
}
