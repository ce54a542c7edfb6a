//! API tokens as the admin API and the console show them (never their
//! secrets: a secret appears once, in [`CreatedToken`]), the body that
//! makes one, the scopes an admin may give, and the tenant's configured
//! identity providers (without any secret).

use serde::{Deserialize, Serialize};

use super::Permit;

/// One token of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenItem {
    /// The token's id (the part after `rc_`, before the secret).
    #[schema(example = "3f9a1c22b7e0")]
    pub id: String,
    /// Its label.
    #[schema(example = "okta-prod")]
    pub label: String,
    /// What it may reach.
    #[schema(example = json!(["scim"]))]
    pub scopes: Vec<String>,
    /// The user an admin credential acts as (`null`: a tenant token).
    pub bound_user_id: Option<String>,
    /// That user's userName (`null` once purged).
    #[schema(example = "root@acme.test")]
    pub bound_user_name: Option<String>,
    /// When it was made.
    #[schema(example = "2026-03-01T09:00:00.000Z")]
    pub created: String,
    /// Who made it: a user's userName (console, admin API), or the command
    /// that did (`cli:<login>`); `null` for tokens made before this was
    /// recorded, or by a user since purged.
    #[schema(example = "root@acme.test")]
    pub created_by: Option<String>,
    /// When it was last used, exact to a minute (`null`: never).
    #[schema(example = "2026-03-02T10:31:00.000Z")]
    pub last_used: Option<String>,
    /// When it was revoked (`null`: it works). Tokens do not expire.
    pub revoked: Option<String>,
}

/// A scope an admin may or may not give a new token.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScopeOffer {
    /// The scope's name.
    #[schema(example = "scim")]
    pub name: String,
    /// What it reaches.
    #[schema(example = "SCIM provisioning, read and write (/scim/v2)")]
    pub description: String,
    /// Whether the acting admin may give it, and why not.
    pub permit: Permit,
}

/// The tenant's tokens, newest last, and the scopes a new one may get.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TokensView {
    /// Every token of the tenant, revoked ones included.
    pub items: Vec<TokenItem>,
    /// The scopes, each with whether the acting admin may give it.
    pub scopes: Vec<ScopeOffer>,
}

/// A token to make. `admin` (alone or with `audit`, `events`, `sign-in`)
/// makes a credential bound to the acting admin; `scim` or `scim:read`
/// make a tenant token for an identity provider.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A label to tell it apart (1 to 100 characters).
    #[schema(example = "okta-prod")]
    pub label: String,
    /// The scopes: `scim`, `scim:read`, `events`, `audit`, `sign-in`,
    /// `admin`.
    #[schema(example = json!(["scim"]))]
    pub scopes: Vec<String>,
}

/// A token just made: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token as listed.
    #[serde(flatten)]
    pub token: TokenItem,
    /// The bearer token (shown this once; only its hash is stored).
    #[schema(example = "rc_3f9a1c22b7e0_Zm9v…")]
    pub secret: String,
}

/// A configured identity provider of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProvider {
    /// `oauth` (its JWTs are API credentials) or `oidc` (its ID tokens sign
    /// users in).
    #[schema(example = "oidc")]
    pub kind: String,
    /// The issuer URL (`iss`).
    #[schema(example = "https://acme.eu.auth0.com/")]
    pub issuer: String,
    /// The accepted audiences.
    pub audiences: Vec<String>,
    /// `oauth`: the scopes its tokens get; `oidc`: none.
    pub scopes: Vec<String>,
    /// `oidc`: whether a first sign-in creates the user.
    pub jit: Option<bool>,
    /// `oidc`: the claim that carries role keys (or `Hub` when they come
    /// from a JetBrains Hub).
    pub role_claim: Option<String>,
}
