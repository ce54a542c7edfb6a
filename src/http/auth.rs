//! Bearer-token authentication and scopes. The token decides the tenant
//! (the directory checks it, and a bound token's user, on every request);
//! the route decides the scope it needs, in one table: [`needed_scope`].
//! A refusal has the body of the area it happens in: a SCIM Error on
//! `/scim/v2`, an admin error body on `/admin/v1`.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{AdminError, ApiError};
use super::AppState;
use crate::directory::scopes::{Scope, Scopes};
use crate::directory::tokens::{Credential, Refusal};
use crate::store::Tenant;
use scim_protocol::ScimError;

/// The authenticated caller, stored in request extensions.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Tenant,
    /// Shown in the audit log, e.g. `token:okta-prod`.
    pub actor: String,
    /// The credential's stable id (`token:<id>`, `oauth:<tenant>:<sub>`).
    pub credential_id: String,
    /// Admin credentials: the user this token acts as.
    pub user_id: Option<String>,
    /// That user's userName, read at this request.
    pub user_name: Option<String>,
    pub scopes: Scopes,
}

impl From<Credential> for Principal {
    fn from(c: Credential) -> Self {
        let (user_id, user_name) = match c.holder {
            Some(h) => (Some(h.id), Some(h.user_name)),
            None => (None, None),
        };
        Principal {
            tenant: c.tenant,
            actor: c.actor,
            credential_id: c.credential_id,
            user_id,
            user_name,
            scopes: c.scopes,
        }
    }
}

/// The scope a request needs, by its method and route template (the
/// scope × endpoint matrix of docs/admin-api.md). SCIM reads (`GET`, and
/// `POST` to a `.search` endpoint) need `scim:read`, which `scim`
/// includes; every other SCIM request needs `scim`. Under `/admin/v1`:
/// the audit trail `audit`, the event feed `events`, the host's reports
/// (sign-ins, invitations) `sign-in`; everything else, and any route not
/// named here, `admin`.
pub fn needed_scope(method: &Method, route: &str) -> Scope {
    if let Some(rest) = route.strip_prefix("/scim/v2") {
        let read = method == Method::GET || method == Method::HEAD || rest.ends_with("/.search");
        return if read { Scope::ScimRead } else { Scope::Scim };
    }
    match route.strip_prefix("/admin/v1").unwrap_or(route) {
        "/audit" | "/audit/export" => Scope::Audit,
        "/events" => Scope::Events,
        "/sign-in" | "/users/{id}/sign-in" => Scope::SignIn,
        p if p.starts_with("/invitations/") => Scope::SignIn,
        // Tokens are managed by admins as themselves: the role decides
        // which scopes they may give (directory/token_admin.rs).
        "/tokens" | "/tokens/{id}" => Scope::Admin,
        _ => Scope::Admin,
    }
}

/// Where a route is: its refusals take that area's error body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    Scim,
    Admin,
}

impl Area {
    fn of(route: &str) -> Area {
        if route.starts_with("/admin/") {
            Area::Admin
        } else {
            Area::Scim
        }
    }

    fn refuse(self, status: StatusCode, code: &'static str, detail: String) -> Response {
        match self {
            Area::Scim => ApiError(ScimError::new(status.as_u16(), None, detail)).into_response(),
            Area::Admin => {
                let mut r = AdminError::new(status, code, detail).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    r.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"rollcall\""),
                    );
                }
                r
            }
        }
    }

    fn unauthorized(self, detail: String) -> Response {
        self.refuse(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403 naming the scope the request needs (and, per RFC 6750, in
    /// `WWW-Authenticate`).
    fn insufficient(self, need: Scope, p: &Principal) -> Response {
        let mut detail = format!(
            "this request needs the scope \"{need}\"; this credential has: {}",
            p.scopes
        );
        if need == Scope::Admin && p.user_id.is_none() {
            detail.push_str(
                "; admin credentials are bound to a user (rollcall token create --tenant T --user USER)",
            );
        }
        if matches!(need, Scope::Scim | Scope::ScimRead) && p.user_id.is_some() {
            detail = format!(
                "this token is an admin credential bound to a user; provisioning uses a tenant token: {detail}"
            );
        }
        let mut r = self.refuse(StatusCode::FORBIDDEN, "insufficient_scope", detail);
        let challenge =
            format!("Bearer realm=\"rollcall\", error=\"insufficient_scope\", scope=\"{need}\"");
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
}

/// Authenticate the bearer token and check the scope the route needs.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let area = Area::of(&route);
    let Some(presented) = bearer(req.headers()) else {
        return area
            .unauthorized("authentication required: send Authorization: Bearer <token>".into());
    };
    let slot = req.extensions().get::<super::request_log::Slot>().cloned();
    let principal = match state.directory.authenticate(&presented, &state.oauth).await {
        Ok(c) => Principal::from(c),
        Err(Refusal::Store(e)) => {
            // Logged once, by the middleware, with the cause.
            let detail = "the database is unavailable".to_string();
            let mut r = area.refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
            if let Some(log) = r.extensions_mut().get_mut::<super::error::ErrorLog>() {
                log.cause = Some(format!("token lookup failed: {e}"));
            }
            return r;
        }
        Err(refusal) => {
            if let Some(slot) = &slot {
                note_refusal(&state, slot, &presented).await;
            }
            return area.unauthorized(refusal.to_string());
        }
    };
    if let Some(slot) = &slot {
        slot.set(super::request_log::Attribution {
            tenant: principal.tenant.clone(),
            credential: principal.credential_id.clone(),
            refused: false,
        });
    }
    let need = needed_scope(req.method(), &route);
    if !principal.scopes.grants(need) {
        return area.insufficient(need, &principal);
    }
    if let Err(wait) = state.rate_limit.admit(&principal.credential_id) {
        state.metrics.count_rate_limited();
        return super::error::rate_limited(&route, wait);
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Attribute a refused token to the tenant of the token its id names.
async fn note_refusal(state: &AppState, slot: &super::request_log::Slot, presented: &str) {
    if let Some((tenant, credential)) = state.directory.refused_credential(presented).await {
        slot.set(super::request_log::Attribution {
            tenant,
            credential,
            refused: true,
        });
    }
}

/// Write into the OpenAPI document the scope each operation needs, from
/// the same table the requests are checked with. `prefix` is where the
/// document's paths are served (`/admin/v1`).
pub fn document_scopes(doc: &mut utoipa::openapi::OpenApi, prefix: &str) {
    use utoipa::openapi::security::SecurityRequirement;
    for (path, item) in doc.paths.paths.iter_mut() {
        let route = format!("{prefix}{path}");
        let operations = [
            (Method::GET, item.get.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
            (Method::PATCH, item.patch.as_mut()),
        ];
        for (method, op) in operations {
            if let Some(op) = op {
                let scope = needed_scope(&method, &route);
                op.security = Some(vec![SecurityRequirement::new("bearer", [scope.name()])]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_needs_one_scope() {
        let cases = [
            (Method::GET, "/scim/v2/Users/{id}", Scope::ScimRead),
            (Method::POST, "/scim/v2/Users/.search", Scope::ScimRead),
            (Method::POST, "/scim/v2/.search", Scope::ScimRead),
            (Method::POST, "/scim/v2/Users", Scope::Scim),
            (Method::PATCH, "/scim/v2/Groups/{id}", Scope::Scim),
            (Method::POST, "/scim/v2/Bulk", Scope::Scim),
            (Method::GET, "/admin/v1/audit", Scope::Audit),
            (Method::GET, "/admin/v1/audit/export", Scope::Audit),
            (Method::GET, "/admin/v1/events", Scope::Events),
            (Method::POST, "/admin/v1/sign-in", Scope::SignIn),
            (Method::POST, "/admin/v1/users/{id}/sign-in", Scope::SignIn),
            (Method::GET, "/admin/v1/invitations/{token}", Scope::SignIn),
            (
                Method::POST,
                "/admin/v1/invitations/{token}/accept",
                Scope::SignIn,
            ),
            (Method::GET, "/admin/v1/users", Scope::Admin),
            (
                Method::POST,
                "/admin/v1/users/{id}/invitation",
                Scope::Admin,
            ),
            (Method::GET, "/admin/v1/tokens", Scope::Admin),
            (Method::POST, "/admin/v1/tokens", Scope::Admin),
            (Method::DELETE, "/admin/v1/tokens/{id}", Scope::Admin),
            (Method::GET, "/admin/v1/deliveries", Scope::Admin),
            (
                Method::POST,
                "/admin/v1/deliveries/{id}/replay",
                Scope::Admin,
            ),
            (Method::GET, "/admin/v1/something-new", Scope::Admin),
        ];
        for (method, route, scope) in cases {
            assert_eq!(needed_scope(&method, route), scope, "{method} {route}");
        }
    }
}
