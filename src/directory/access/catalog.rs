//! The role catalog (built-in ladder plus custom roles) and project roles.

use serde::Deserialize;
use serde_json::{json, Value};

use super::Policy;

/// The built-in workspace role ladder, lowest first, with ranks.
pub const BUILTIN_ROLES: [(&str, i64); 5] = [
    ("read-only", 10),
    ("member", 20),
    ("power-user", 30),
    ("admin", 40),
    ("super-admin", 50),
];
pub const SUPER_ADMIN: &str = "super-admin";
pub const ADMIN_RANK: i64 = 40;
pub const POWER_USER_RANK: i64 = 30;
/// Viewers hold no role: at most `read-only`.
pub const VIEWER_RANK: i64 = 10;

/// Project roles, lowest first; each includes the ones below it.
pub const PROJECT_ROLES: [&str; 4] = ["read-only", "operator", "editor", "owner"];

/// A custom role: a name and a rank between the built-in ones (1–49).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub name: String,
    pub rank: i64,
}

/// A tenant's role catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(super) roles: Vec<(String, i64)>,
}

impl Catalog {
    pub fn rank(&self, role: &str) -> Option<i64> {
        self.roles
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(role))
            .map(|(_, r)| *r)
    }
    /// The catalog's spelling of a role name.
    pub fn canonical(&self, role: &str) -> Option<&str> {
        self.roles
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(role))
            .map(|(n, _)| n.as_str())
    }
    pub fn lowest(&self) -> &str {
        self.roles
            .first()
            .map(|(n, _)| n.as_str())
            .unwrap_or("read-only")
    }
    /// Roles, lowest first.
    pub fn list(&self) -> Vec<Value> {
        self.roles
            .iter()
            .map(|(n, r)| json!({"name": n, "rank": r}))
            .collect()
    }
}

pub(super) fn project_rank(role: &str) -> Option<usize> {
    PROJECT_ROLES
        .iter()
        .position(|r| r.eq_ignore_ascii_case(role))
}

/// The project roles `pr` includes, highest first (`[]` for `none`).
pub(super) fn includes(pr: &str) -> Vec<&'static str> {
    match project_rank(pr) {
        Some(n) => PROJECT_ROLES[..=n].iter().rev().copied().collect(),
        None => vec![],
    }
}

impl Policy {
    pub fn catalog(&self, tenant: &str) -> Catalog {
        let mut roles: Vec<(String, i64)> = BUILTIN_ROLES
            .iter()
            .map(|(n, r)| (n.to_string(), *r))
            .collect();
        let extra = self.roles.iter().chain(
            self.tenants
                .get(tenant)
                .map(|t| &t.roles)
                .into_iter()
                .flatten(),
        );
        for r in extra {
            roles.push((r.name.clone(), r.rank));
        }
        roles.sort_by_key(|(_, r)| *r);
        Catalog { roles }
    }

    /// Custom roles neither repeat nor collide with the built-in ladder.
    pub(super) fn validate_roles(&self) -> Result<(), String> {
        let builtin = |n: &str| BUILTIN_ROLES.iter().any(|(b, _)| b.eq_ignore_ascii_case(n));
        for r in self
            .roles
            .iter()
            .chain(self.tenants.values().flat_map(|t| &t.roles))
        {
            if builtin(&r.name) {
                return Err(format!(
                    "custom role \"{}\" repeats a built-in role",
                    r.name
                ));
            }
            if !(1..50).contains(&r.rank) || r.rank % 10 == 0 {
                return Err(format!(
                    "custom role \"{}\": rank {} must be 1–49 and not a built-in rank (10, 20, 30, 40)",
                    r.name, r.rank
                ));
            }
        }
        Ok(())
    }
}
