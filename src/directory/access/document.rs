//! The policy document: one tenant's role catalog (with permissions), plans
//! and ordered mapping rules, as the admin API, the CLI and the console
//! edit it. Pure: conversions to and from [`Policy`] and validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog::RoleDef;
use super::rules::MappingRule;
use super::Policy;

/// `GET/PUT /admin/v1/policy`: a tenant's whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The role catalog, lowest first: the built-in roles (their ranks are
    /// fixed; display names and permissions may change) and custom roles.
    /// A built-in role left out keeps its defaults.
    #[serde(default)]
    pub roles: Vec<RoleDef>,
    /// The plan catalog, lowest priority first (empty: free text).
    #[serde(default)]
    pub plans: Vec<String>,
    /// The ordered mapping rules (later matching rules win).
    #[serde(default)]
    pub rules: Vec<MappingRule>,
    /// The version this document is (reading) or replaces (writing); 0: the
    /// configuration file's policy, never stored.
    #[schema(example = 3)]
    pub version: i64,
}

/// The TOML file `rollcall policy show` prints and `apply` takes, and the
/// console's editor holds: the document without its version.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub plans: Vec<String>,
    #[serde(default)]
    pub roles: Vec<RoleDef>,
    #[serde(default)]
    pub rules: Vec<MappingRule>,
}

impl PolicyDocument {
    /// The document as a TOML file.
    pub fn to_toml(&self) -> Result<String, String> {
        let file = PolicyFile {
            plans: self.plans.clone(),
            roles: self.roles.clone(),
            rules: self.rules.clone(),
        };
        toml::to_string(&file).map_err(|e| e.to_string())
    }

    /// A TOML file as the document replacing `version`.
    pub fn from_toml(text: &str, version: i64) -> Result<PolicyDocument, String> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(PolicyDocument {
            roles: f.roles,
            plans: f.plans,
            rules: f.rules,
            version,
        })
    }
}

/// A policy document is at most this large (bytes of JSON) …
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// … with at most this many rules and roles.
pub const MAX_RULES: usize = 1_000;
pub const MAX_ROLES: usize = 100;

impl Policy {
    /// The policy of `tenant` as a document (version 0): the configuration's
    /// view, every role spelled out with its permissions.
    pub fn document(&self, tenant: &str, version: i64) -> PolicyDocument {
        let roles = self
            .catalog(tenant)
            .roles()
            .iter()
            .map(|r| RoleDef {
                name: r.name.clone(),
                rank: r.rank,
                display_name: Some(r.display_name.clone()),
                permissions: Some(r.permissions.clone()),
            })
            .collect();
        let rules = self
            .rules_for(tenant)
            .map(|(_, r)| MappingRule {
                tenant: None,
                ..r.clone()
            })
            .collect();
        PolicyDocument {
            roles,
            plans: self.plans.clone(),
            rules,
            version,
        }
    }

    /// The policy `tenant` follows with `doc` in place of its catalogs and
    /// rules; its settings (super-admins, defaults, overrides) stay.
    pub fn with_document(&self, tenant: &str, doc: &PolicyDocument) -> Policy {
        let mut settings = self.tenant(tenant);
        settings.roles = Vec::new();
        Policy {
            plans: doc.plans.clone(),
            roles: doc.roles.clone(),
            rules: doc.rules.clone(),
            tenants: BTreeMap::from([(tenant.to_string(), settings)]),
            modes: self.modes.clone(),
        }
    }

    /// Whether `doc` makes a valid policy for `tenant`; why not.
    pub fn check_document(&self, tenant: &str, doc: &PolicyDocument) -> Result<Policy, String> {
        if doc.rules.len() > MAX_RULES {
            return Err(format!("at most {MAX_RULES} rules"));
        }
        if doc.roles.len() > MAX_ROLES {
            return Err(format!("at most {MAX_ROLES} roles"));
        }
        if doc.rules.iter().any(|r| r.tenant.is_some()) {
            return Err("a tenant's rules apply to it alone: drop `tenant` from each rule".into());
        }
        let mut seen = std::collections::HashSet::new();
        for r in &doc.roles {
            if !seen.insert(r.name.to_ascii_lowercase()) {
                return Err(format!("role \"{}\" is listed twice", r.name));
            }
        }
        for p in &doc.plans {
            if p.trim().is_empty() || p.chars().count() > 64 || p.chars().any(char::is_control) {
                return Err(format!(
                    "plan \"{}\" must be 1–64 characters, no control characters",
                    p.escape_debug()
                ));
            }
        }
        let policy = self.with_document(tenant, doc);
        policy.validate()?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::directory::access::Permission;

    fn base() -> Policy {
        let cfg: crate::config::Config = toml::from_str(
            r#"
plans = ["free", "pro"]
[[roles]]
name = "analyst"
rank = 25
[[role_mapping]]
match = { role = "datalore-viewer" }
set = { type = "viewer" }
[[role_mapping]]
tenant = "other"
match = { group = "Ops" }
set = { role = "admin" }
"#,
        )
        .unwrap();
        cfg.policy()
    }

    #[test]
    fn the_configuration_reads_back_as_a_document_of_the_tenant() {
        let p = base();
        let doc = p.document("acme", 0);
        assert_eq!(doc.rules.len(), 1, "the other tenant's rule is not acme's");
        assert_eq!(doc.roles.len(), 6);
        let analyst = doc.roles.iter().find(|r| r.name == "analyst").unwrap();
        assert!(analyst
            .permissions
            .as_ref()
            .unwrap()
            .contains(&Permission::UsersRead));
        let back = p.check_document("acme", &doc).unwrap();
        assert_eq!(
            back.document("acme", 0),
            doc,
            "a round trip changes nothing"
        );
    }

    #[test]
    fn a_document_is_checked_like_the_configuration() {
        let p = base();
        let mut doc = p.document("acme", 0);
        doc.rules[0].set.role = Some("wizard".into());
        assert!(p.check_document("acme", &doc).is_err());
        let mut doc = p.document("acme", 0);
        doc.rules[0].tenant = Some("acme".into());
        assert!(p.check_document("acme", &doc).is_err());
        let mut doc = p.document("acme", 0);
        doc.roles.push(doc.roles[0].clone());
        assert!(p
            .check_document("acme", &doc)
            .unwrap_err()
            .contains("twice"));
        let mut doc = p.document("acme", 0);
        doc.roles[3].rank = 45; // admin keeps 40
        assert!(p.check_document("acme", &doc).is_err());
    }

    #[test]
    fn a_built_in_role_takes_the_documents_permissions() {
        let p = base();
        let mut doc = p.document("acme", 0);
        let admin = doc.roles.iter_mut().find(|r| r.name == "admin").unwrap();
        admin
            .permissions
            .as_mut()
            .unwrap()
            .remove(&Permission::UsersEditRole);
        let q = p.check_document("acme", &doc).unwrap();
        let perms = q.catalog("acme").permissions("admin");
        assert!(!perms.contains(&Permission::UsersEditRole));
        assert!(perms.contains(&Permission::UsersDelete));
    }
}
