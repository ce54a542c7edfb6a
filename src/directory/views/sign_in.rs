//! Sign-in provisioning from an ID token: the host's request and the
//! access decision it gets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::UserRecord;

/// A sign-in the host reports with the ID token its user signed in with.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdTokenSignIn {
    /// The ID token (a JWT) from one of the tenant's `[[oidc]]` issuers.
    #[schema(
        example = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2FjbWUuZXUuYXV0aDAuY29tLyJ9.c2ln"
    )]
    pub id_token: String,
    /// The nonce the host put in its authentication request: when sent,
    /// the token's `nonce` must be equal.
    #[schema(example = "n-0S6_WzA2Mj")]
    pub nonce: Option<String>,
}

/// The access decision for a sign-in with an ID token.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IdTokenSignInResult {
    /// Whether the user may sign in.
    pub allowed: bool,
    /// Why not, when the sign-in is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "the user is disabled by the identity provider or an admin")]
    pub reason: Option<String>,
    /// Whether this sign-in created the user (`jit`).
    pub created: bool,
    /// The user signing in (`null` when no user matches and none was
    /// created).
    pub user: Option<SignInUser>,
}

/// The user of a sign-in and the access they have.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInUser {
    /// The user's SCIM id.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "ann@acme.test")]
    pub user_name: String,
    /// Effective type: `user` or `viewer`.
    #[serde(rename = "type")]
    #[schema(example = "viewer")]
    pub user_type: String,
    /// Effective role.
    #[schema(example = "read-only")]
    pub role: String,
    /// Effective plan, if any applies.
    #[schema(example = "team")]
    pub plan: Option<String>,
    /// `created`, `active`, `disabled`, `banned`, `deleted`, …
    #[schema(example = "active")]
    pub status: String,
    /// Project → effective project role (`*` is every project).
    #[schema(example = json!({"finance": "read-only"}))]
    pub projects: BTreeMap<String, String>,
}

impl From<&UserRecord> for SignInUser {
    fn from(u: &UserRecord) -> Self {
        let projects = u
            .access
            .get("projects")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(p, v)| Some((p.clone(), v.get("role")?.as_str()?.to_string())))
            .collect();
        SignInUser {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            user_type: u.user_type.clone(),
            role: u.role.clone(),
            plan: u.plan.clone(),
            status: u.status.clone(),
            projects,
        }
    }
}

impl IdTokenSignInResult {
    /// An allowed sign-in of this user.
    pub fn allowed(u: &UserRecord, created: bool) -> Self {
        Self {
            allowed: true,
            reason: None,
            created,
            user: Some(SignInUser::from(u)),
        }
    }

    /// A refused sign-in (of this user, when one matched).
    pub fn refused(u: Option<&UserRecord>, reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: Some(reason.into()),
            created: false,
            user: u.map(SignInUser::from),
        }
    }
}
