//! Signing in and out: the break-glass link's page (a GET changes nothing:
//! a link scanner following it opens no session), the sign-in it posts,
//! the sign-in page for browsers without a session, and logout.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ConsoleError;
use super::pages::{Layout, LinkPage, SignInPage};
use super::session::{clear_cookie, session_cookie, Change, OriginForm, SIGN_IN};
use crate::http::AppState;

/// `GET /console/sign-in`: the identity providers, and the break-glass link.
pub(super) async fn sign_in_page(State(s): State<AppState>) -> SignInPage {
    SignInPage {
        layout: Layout::anonymous(),
        providers: s.directory.console_identity_providers(),
    }
}

/// `GET /console/login/{secret}`: whom the link signs in, and a button.
pub(super) async fn link_page(
    State(s): State<AppState>,
    Path(secret): Path<String>,
) -> Result<LinkPage, ConsoleError> {
    match s.directory.login_link_user(&secret).await? {
        Some(user_name) => Ok(LinkPage {
            layout: Layout::anonymous(),
            user_name,
            secret,
        }),
        None => Err(ConsoleError::forbidden(
            "this sign-in link is not valid: it was used already, it expired (links last 10 minutes), or it never existed; ask for a new one (rollcall console login-link)",
        )),
    }
}

/// The sign-in link's form.
#[derive(Debug, Deserialize)]
pub(super) struct LinkForm {
    link: String,
}

/// `POST /console/login`: the link opens a session; on to Manage users.
pub(super) async fn login(
    State(s): State<AppState>,
    f: OriginForm<LinkForm>,
) -> Result<Response, ConsoleError> {
    let opened = s
        .directory
        .open_session_with_link(&f.form.link, f.info)
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                "/console/users"
                    .parse()
                    .map_err(|_| ConsoleError::bad("bad location"))?,
            ),
            (header::SET_COOKIE, session_cookie(&opened.secret)),
        ],
    )
        .into_response())
}

/// `POST /console/logout`.
pub(super) async fn logout(
    State(s): State<AppState>,
    c: Change<super::act::Back>,
) -> Result<Response, ConsoleError> {
    s.directory
        .end_session(&c.signed.session, c.signed.info.clone())
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                SIGN_IN
                    .parse()
                    .map_err(|_| ConsoleError::bad("bad location"))?,
            ),
            (header::SET_COOKIE, clear_cookie()),
        ],
    )
        .into_response())
}
