//! Types, roles, plans and role mapping: what access a user effectively has,
//! and why. Pure: the store calls [`Policy`] inside its write transactions
//! with the facts it has loaded (the user's SCIM data, local admin settings,
//! the groups the user belongs to, directly or through nested groups).
//!
//! Precedence, highest first (see `docs/directory.md`):
//! - type: `super_admins` (always `user`) › local admin setting › the IdP's
//!   access extension `type` › the last
//!   matching mapping rule that sets a type › `user`.
//! - role: the tenant's `super_admins` list (which also makes the type
//!   `user`) › local admin setting › the IdP's access extension `role` › the last matching mapping rule that sets a
//!   role › the tenant's default role (`member`). A viewer holds no role: its
//!   effective role is at most `read-only`, whatever was asked.
//! - plan: personal plan (local, then the IdP's `plan`) › among the plans of
//!   matching rules, the one listed last in the plan catalog (`plans`), or the
//!   last matching rule when a plan is not in the catalog › the tenant's
//!   default plan.
//! - project roles: rules in order, later ones overriding earlier ones for the
//!   same project, then local settings; `none` removes a project. Power users
//!   and above are editors of every project unless a project says `none`.
//!
//! Rules read the claims of a user's latest sign-in with an ID token as
//! what SCIM would have sent: the roles claim as `roles` values and the
//! groups claim as group names, each only where SCIM sent none (SCIM
//! `roles` beat the roles claim, SCIM group memberships the groups claim).

mod catalog;
mod compute;
mod document;
mod feeds;
mod permissions;
mod rules;
mod source;

use std::collections::BTreeMap;

use serde::Deserialize;

/// What the access policy looks at for one user.
pub struct UserFacts<'a> {
    pub data: &'a serde_json::Map<String, serde_json::Value>,
    /// Local admin settings (JSON object).
    pub local: &'a serde_json::Value,
    /// Groups the user belongs to, directly or through nested groups.
    pub groups: &'a [crate::store::GroupFacts],
    /// The claims of the user's latest sign-in with an ID token
    /// (`{"issuer", "roles", "groups"}`), if any.
    pub claims: Option<&'a serde_json::Value>,
}

impl<'a> UserFacts<'a> {
    /// Role keys of the latest sign-in's roles claim.
    pub(super) fn claim_roles(&self) -> Vec<&'a str> {
        self.claim_list("roles")
    }

    /// Group names of the latest sign-in's groups claim.
    pub(super) fn claim_groups(&self) -> Vec<&'a str> {
        self.claim_list("groups")
    }

    fn claim_list(&self, key: &str) -> Vec<&'a str> {
        self.claims
            .and_then(|c| c.get(key))
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .collect()
    }
}

pub use catalog::{
    Catalog, CatalogRole, RoleDef, ADMIN_RANK, BUILTIN_ROLES, POWER_USER_RANK, PROJECT_ROLES,
    SUPER_ADMIN, VIEWER_RANK,
};
pub use document::{PolicyDocument, PolicyFile, MAX_DOCUMENT_BYTES};
pub use permissions::{default_permissions, Permission, ALL_PERMISSIONS};
pub use rules::{rule_name, MappingRule, RuleMatch, RuleSet};
pub use source::{RuleHit, Setter, Source};

/// Directory settings of one tenant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantAccess {
    pub default_role: Option<String>,
    pub default_plan: Option<String>,
    pub super_admins: Vec<String>,
    pub roles: Vec<RoleDef>,
    pub allow_local_overrides: bool,
    pub fallback_owner: Option<String>,
    pub retention_days: Option<i64>,
}

/// The whole policy: catalogs, rules and per-tenant settings.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub plans: Vec<String>,
    pub roles: Vec<RoleDef>,
    pub rules: Vec<MappingRule>,
    pub tenants: BTreeMap<String, TenantAccess>,
    /// Each tenant's owner, directory mode, email uniqueness and
    /// re-create rule (not part of the access fingerprint).
    pub modes: BTreeMap<String, super::modes::TenantModes>,
}

/// The IdP-independent settings a local admin may change.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalAccess {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub projects: BTreeMap<String, String>,
}

impl Policy {
    /// Check names and ranks once, at start.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_roles()?;
        self.validate_rules()?;
        self.validate_tenants()?;
        for (name, m) in &self.modes {
            m.validate(name, self.tenant(name).allow_local_overrides)?;
        }
        Ok(())
    }

    fn validate_tenants(&self) -> Result<(), String> {
        for (name, t) in &self.tenants {
            if let Some(r) = &t.default_role {
                if self.catalog(name).rank(r).is_none() {
                    return Err(format!("tenant {name}: unknown default_role \"{r}\""));
                }
            }
            if let Some(p) = &t.default_plan {
                if !self.plans.is_empty() && !self.plans.contains(p) {
                    return Err(format!(
                        "tenant {name}: default_plan \"{p}\" is not in `plans`"
                    ));
                }
            }
            if t.retention_days.is_some_and(|d| !(0..=36_500).contains(&d)) {
                return Err(format!("tenant {name}: retention_days must be 0 to 36500"));
            }
        }
        Ok(())
    }

    /// A fingerprint of everything that decides a tenant's effective access:
    /// when it changes, every user of the tenant is recomputed.
    pub fn fingerprint(&self, tenant: &str) -> String {
        use sha2::{Digest, Sha256};
        let rules: Vec<&MappingRule> = self.rules_for(tenant).map(|(_, r)| r).collect();
        let text = format!(
            "{:?}|{:?}|{:?}|{:?}",
            self.plans,
            self.catalog(tenant).roles,
            rules,
            self.tenant(tenant)
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    pub fn tenant(&self, tenant: &str) -> TenantAccess {
        self.tenants.get(tenant).cloned().unwrap_or_default()
    }
}

impl Policy {
    /// Whether any rule of the tenant looks at group membership at all.
    pub fn uses_groups(&self, tenant: &str) -> bool {
        self.rules_for(tenant)
            .any(|(_, r)| r.when.group.is_some() || r.when.group_external_id.is_some())
    }
}

#[cfg(test)]
mod tests;
