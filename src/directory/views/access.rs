//! The schemas of JSON the directory stores as it computed it: a user's
//! effective access with its explanation (`directory::access` builds it
//! whenever an input changes) and the local settings an admin made. The
//! views carry these values as stored; these types describe them in the
//! OpenAPI document.

use std::collections::BTreeMap;

/// Effective access and where each part came from.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": {"value": "user", "source": "scim"},
    "role": {"value": "admin", "source": "rule", "rule": "admins", "because": "member of group Admins", "group": "Admins"},
    "plan": {"value": "team", "source": "default"},
    "projects": {"*": {"role": "editor", "includes": ["editor", "operator", "read-only"], "source": "role", "because": "\"admin\" is power-user or above: editor of every project unless a project says none"}},
    "matchedRules": [{"rule": "admins", "because": "member of group Admins"}]
}))]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The effective type (`user` or `viewer`) and its source.
    r#type: Sourced,
    /// The effective role and its source.
    role: Sourced,
    /// The effective plan (`value` may be null) and its source.
    plan: Sourced,
    /// Project → the role in that project (`*`: every project).
    projects: BTreeMap<String, ProjectAccess>,
    /// The mapping rules that matched, in order.
    matched_rules: Vec<MatchedRule>,
    /// What the identity provider sent that was not applied.
    ignored: Option<Vec<String>>,
}

/// One part of effective access and where it came from.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Sourced {
    /// The effective value.
    value: Option<String>,
    /// Where it came from.
    #[serde(flatten)]
    origin: Origin,
}

/// Where a part of effective access came from.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Origin {
    /// `local` (an admin's setting), `scim` (the identity provider),
    /// `rule` (a mapping rule), `bootstrap` (the tenant's super_admins),
    /// `viewer` (viewers hold no role), `default` or `none`.
    #[schema(example = "rule")]
    source: String,
    /// Why, in words.
    because: Option<String>,
    /// The mapping rule that gave it (source `rule`).
    rule: Option<String>,
    /// The group the rule looks at.
    group: Option<String>,
}

/// A role in one project.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProjectAccess {
    /// `owner`, `editor`, `operator`, `read-only` or `none`.
    #[schema(example = "editor")]
    role: String,
    /// The project roles this one includes, itself first.
    includes: Vec<String>,
    /// Where it came from.
    #[serde(flatten)]
    origin: Origin,
}

/// A mapping rule that matched the user.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MatchedRule {
    /// The rule's name (or `rule N`).
    #[schema(example = "admins")]
    rule: String,
    /// Why it matched.
    #[schema(example = "member of group Admins")]
    because: String,
}

/// The local settings an admin made (absent: none).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"role": "admin", "projects": {"finance": "owner"}}))]
#[allow(dead_code)]
pub struct LocalSettings {
    /// `user` or `viewer`.
    r#type: Option<String>,
    /// A role of the catalog.
    role: Option<String>,
    /// A personal plan.
    plan: Option<String>,
    /// Project → project role.
    projects: Option<BTreeMap<String, String>>,
}
