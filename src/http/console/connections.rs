//! Connections: the tenant's API tokens (Create token with a scope picker,
//! the secret shown once on the page that answers the POST; Revoke token
//! after a confirmation), its configured identity providers, read-only,
//! and the webhook deliveries given up (dead letters), each with Replay.
//! Every change is the admin API's own directory call
//! (`directory/token_admin.rs`, `directory/delivery.rs`), which decides who
//! may give which scope and what may be replayed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Response;

use super::act::back;
use super::error::ConsoleError;
use super::format::when;
use super::pages::Layout;
use super::session::{Change, Signed};
use crate::directory::delivery::DeliveryFilter;
use crate::directory::views::{
    CreatedToken, DeliveryState, DeliveryView, IdentityProvider, TokenItem, TokenRequest,
};
use crate::http::AppState;

type Html<T> = Result<T, ConsoleError>;

const CONNECTIONS: &str = "/console/connections";

/// One token row.
pub(super) struct TokenLine {
    id: String,
    label: String,
    scopes: String,
    created: String,
    created_by: String,
    last_used: String,
    state: String,
    revoke: Option<String>,
}

/// One scope of the picker: offered, or shown with why not.
pub(super) struct ScopeBox {
    name: String,
    id: String,
    description: String,
    why: Option<String>,
}

/// One identity provider row.
pub(super) struct IdpLine {
    kind: &'static str,
    issuer: String,
    audiences: String,
    jit: String,
    role_claim: String,
}

/// One dead letter: what, since when, why, and where Replay posts.
pub(super) struct DeadLine {
    id: String,
    what: String,
    object: String,
    created: String,
    attempts: i64,
    error: String,
    dead: String,
    replay: String,
}

/// Most dead letters the page lists (the admin API pages through all).
const DEAD_SHOWN: i64 = 100;

/// `GET /console/connections`.
#[derive(Template, WebTemplate)]
#[template(path = "console/connections.html")]
pub(super) struct ConnectionsPage {
    layout: Layout,
    tokens: Vec<TokenLine>,
    scopes: Vec<ScopeBox>,
    idps: Vec<IdpLine>,
    dead: Vec<DeadLine>,
    /// More dead letters than the page shows.
    more_dead: bool,
}

/// The page that shows a new token's secret, once.
#[derive(Template, WebTemplate)]
#[template(path = "console/connections_token.html")]
pub(super) struct TokenCreatedPage {
    layout: Layout,
    label: String,
    scopes: String,
    secret: String,
}

/// `GET /console/connections/tokens/{id}/revoke`: the confirmation.
#[derive(Template, WebTemplate)]
#[template(path = "console/connections_revoke.html")]
pub(super) struct RevokePage {
    layout: Layout,
    return_to: String,
    action: String,
    label: String,
    scopes: String,
}

fn line(t: &TokenItem) -> TokenLine {
    let bound = t
        .bound_user_name
        .as_ref()
        .map(|u| format!(" (acts as {u})"))
        .unwrap_or_default();
    TokenLine {
        id: t.id.clone(),
        label: t.label.clone(),
        scopes: format!("{}{bound}", t.scopes.join(", ")),
        created: when(Some(&t.created)),
        created_by: t
            .created_by
            .clone()
            .unwrap_or_else(|| "Not recorded".into()),
        last_used: when(t.last_used.as_deref()),
        state: match &t.revoked {
            Some(at) => format!("Revoked {}", when(Some(at))),
            None => "Active (no expiry)".into(),
        },
        revoke: t
            .revoked
            .is_none()
            .then(|| format!("{CONNECTIONS}/tokens/{}/revoke", t.id)),
    }
}

fn idp(p: &IdentityProvider) -> IdpLine {
    IdpLine {
        kind: match p.kind.as_str() {
            "oauth" => "OAuth (API tokens)",
            _ => "OpenID Connect (sign-in)",
        },
        issuer: p.issuer.clone(),
        audiences: p.audiences.join(", "),
        jit: match p.jit {
            Some(true) => "On".into(),
            Some(false) => "Off".into(),
            None => format!("Not applicable (scopes {})", p.scopes.join(", ")),
        },
        role_claim: p.role_claim.clone().unwrap_or_else(|| "None".into()),
    }
}

fn dead_line(d: &DeliveryView) -> DeadLine {
    DeadLine {
        id: d.id.clone(),
        what: d.what.clone(),
        object: d.object_id.clone().unwrap_or_else(|| "None".into()),
        created: when(Some(&d.created)),
        attempts: d.attempts,
        error: d
            .last_error
            .clone()
            .unwrap_or_else(|| "Not recorded".into()),
        dead: when(d.dead_at.as_deref()),
        replay: format!("{CONNECTIONS}/deliveries/{}/replay", d.id),
    }
}

/// `GET /console/connections`.
pub(super) async fn page(State(s): State<AppState>, signed: Signed) -> Html<ConnectionsPage> {
    let ctx = signed.ctx();
    let view = s.directory.tenant_tokens(&ctx).await?;
    let idps = s.directory.identity_providers(&ctx, &s.oauth).await?;
    let dead = s
        .directory
        .deliveries(
            &ctx,
            &DeliveryFilter {
                state: DeliveryState::Dead,
                kind: None,
                after: None,
                limit: DEAD_SHOWN,
            },
        )
        .await?;
    Ok(ConnectionsPage {
        dead: dead.items.iter().map(dead_line).collect(),
        more_dead: dead.next.is_some(),
        layout: Layout::of(&signed, "connections"),
        tokens: view.items.iter().map(line).collect(),
        scopes: view
            .scopes
            .iter()
            .map(|o| ScopeBox {
                id: format!("scope-{}", o.name.replace(':', "-")),
                name: o.name.clone(),
                description: o.description.clone(),
                why: o.permit.reason.clone(),
            })
            .collect(),
        idps: idps.iter().map(idp).collect(),
    })
}

/// The create form's fields: `label` and one `scope` per ticked box.
fn token_request(fields: &[(String, String)]) -> TokenRequest {
    TokenRequest {
        label: fields
            .iter()
            .find(|(k, _)| k == "label")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        scopes: fields
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect(),
    }
}

/// `POST /console/connections/tokens`: the secret on this answer, once.
pub(super) async fn create(
    State(s): State<AppState>,
    c: Change<Vec<(String, String)>>,
) -> Html<TokenCreatedPage> {
    let created: CreatedToken = s
        .directory
        .create_token(&c.signed.ctx(), token_request(&c.form))
        .await?;
    Ok(TokenCreatedPage {
        layout: Layout::of(&c.signed, "connections"),
        label: created.token.label,
        scopes: created.token.scopes.join(", "),
        secret: created.secret,
    })
}

async fn find(s: &AppState, signed: &Signed, id: &str) -> Html<TokenItem> {
    let view = s.directory.tenant_tokens(&signed.ctx()).await?;
    view.items
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ConsoleError::not_found(format!("no token {id} in this tenant")))
}

/// `GET /console/connections/tokens/{id}/revoke`.
pub(super) async fn revoke_page(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Html<RevokePage> {
    let t = find(&s, &signed, &id).await?;
    Ok(RevokePage {
        layout: Layout::of(&signed, "connections"),
        return_to: CONNECTIONS.into(),
        action: format!("{CONNECTIONS}/tokens/{id}/revoke"),
        label: t.label,
        scopes: t.scopes.join(", "),
    })
}

/// `POST /console/connections/tokens/{id}/revoke`.
pub(super) async fn revoke(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Vec<(String, String)>>,
) -> Html<Response> {
    s.directory
        .revoke_tenant_token(&c.signed.ctx(), &id)
        .await?;
    Ok(back(None, CONNECTIONS.into()))
}

/// `POST /console/connections/deliveries/{id}/replay`: queue a dead letter
/// again, then back to the list.
pub(super) async fn replay(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Vec<(String, String)>>,
) -> Html<Response> {
    s.directory.replay_delivery(&c.signed.ctx(), &id).await?;
    Ok(back(None, format!("{CONNECTIONS}#deliveries")))
}
