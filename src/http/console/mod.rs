//! The admin console under `/console/`: server-rendered HTML (askama
//! templates in `templates/console/`, htmx and the stylesheet embedded from
//! `static/`), on the same `Directory` methods and typed views as the
//! admin API. No rule lives here: what a user may do is the directory's
//! answer, re-read on every request.
//!
//! Every response carries a strict CSP (no inline script or style) and the
//! other security headers; every state-changing request passes an `Origin`
//! check and carries the session's CSRF token (`session.rs`).

mod act;
mod assets;
mod audit;
mod connections;
mod deprovision;
mod detail;
mod error;
mod format;
mod groups;
mod invite;
mod login;
mod oidc;
mod pages;
mod policy;
mod requests;
mod session;
mod users;

use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::AppState;

/// The console's Content-Security-Policy: only this origin's files, no
/// inline script or style, no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// `/` and `/console/…`; an upload (a deprovisioning list) takes at most
/// `max_upload` bytes, what the admin API takes.
pub fn routes(max_upload: usize) -> Router<AppState> {
    let console = Router::new()
        .route("/", get(|| async { Redirect::to("/console/users") }))
        .route("/sign-in", get(login::sign_in_page))
        .route("/login/{secret}", get(login::link_page))
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/oidc/{index}/start", get(oidc::start))
        .route("/oidc/callback", get(oidc::callback))
        .route("/static/{file}", get(assets::serve))
        .route("/users", get(users::list))
        .route("/users/{id}", get(detail::page))
        .route(
            "/users/{id}/delete",
            get(users::delete_page).post(act::delete),
        )
        .route("/users/{id}/disable", post(act::disable))
        .route("/users/{id}/enable", post(act::enable))
        .route("/users/{id}/ban", post(act::ban))
        .route("/users/{id}/unban", post(act::unban))
        .route("/users/{id}/access", post(act::access))
        .route("/users/{id}/successor", post(act::successor))
        .route("/users/{id}/restore", post(act::restore))
        .route("/users/{id}/purge", post(act::purge))
        .route("/users/{id}/owner", post(act::owner))
        .route("/seats", get(users::seats))
        .route("/invite", get(invite::page).post(invite::invite))
        .route("/registrations", post(invite::registrations))
        .route("/users/{id}/invitation", post(invite::resend))
        .route("/users/{id}/invitation/withdraw", post(invite::withdraw))
        .route("/connections", get(connections::page))
        .route("/connections/tokens", post(connections::create))
        .route(
            "/connections/tokens/{id}/revoke",
            get(connections::revoke_page).post(connections::revoke),
        )
        .route(
            "/connections/deliveries/{id}/replay",
            post(connections::replay),
        )
        // What the Users page's drawer shows once closed.
        .route("/empty", get(|| async { "" }))
        .route("/deprovisioning", get(deprovision::main_page))
        .route(
            "/deprovisioning/preview",
            post(deprovision::preview).layer(DefaultBodyLimit::max(max_upload)),
        )
        .route("/deprovisioning/{id}", get(deprovision::job_page))
        .route("/deprovisioning/{id}/progress", get(deprovision::progress))
        .route("/deprovisioning/{id}/report", get(deprovision::report))
        .route("/deprovisioning/{id}/run", post(deprovision::run))
        .route("/deprovisioning/{id}/cancel", post(deprovision::cancel))
        .route("/groups", get(groups::list))
        .route("/groups/{id}", get(groups::page))
        .route("/policy", get(policy::page).post(policy::apply))
        .route("/policy/preview", post(policy::preview))
        .route("/audit", get(audit::page))
        .route("/requests", get(requests::page))
        .route("/audit/export", get(audit::export))
        .fallback(not_found);
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .nest("/console", console)
        .layer(middleware::from_fn(security_headers))
}

/// An admin API error shown as the console's error page.
pub(super) fn error_response(e: super::error::AdminError) -> Response {
    error::ConsoleError::from(e).into_response()
}

async fn not_found() -> error::ConsoleError {
    error::ConsoleError::not_found("there is no such page in the console")
}

/// The security headers of every console response. Pages are not cached
/// (they show personal data); static files say otherwise themselves.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await.into_response();
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, "content-security-policy", CSP);
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    resp
}
