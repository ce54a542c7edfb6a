//! The role catalog (built-in ladder plus custom roles) and project roles.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::permissions::{default_permissions, Permission};
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

/// A role definition: a custom role (a name and a rank between the
/// built-in ones, 1–49), or a built-in one at its own rank restating its
/// display name or permissions.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// The role's name (what IdPs and rules say).
    #[schema(example = "analyst")]
    pub name: String,
    /// Higher ranks hold more rights; nobody grants a role above their own.
    #[schema(example = 25)]
    pub rank: i64,
    /// The name the console shows (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What holders may do (default: by rank, see docs/directory.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeSet<Permission>>,
}

/// One role of a catalog, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRole {
    pub name: String,
    pub rank: i64,
    pub display_name: String,
    pub permissions: BTreeSet<Permission>,
}

/// A tenant's role catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(super) roles: Vec<CatalogRole>,
}

impl Catalog {
    fn find(&self, role: &str) -> Option<&CatalogRole> {
        self.roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(role))
    }
    pub fn rank(&self, role: &str) -> Option<i64> {
        self.find(role).map(|r| r.rank)
    }
    /// The catalog's spelling of a role name.
    pub fn canonical(&self, role: &str) -> Option<&str> {
        self.find(role).map(|r| r.name.as_str())
    }
    /// What holders of `role` may do (nothing for a role not in the catalog).
    pub fn permissions(&self, role: &str) -> BTreeSet<Permission> {
        self.find(role)
            .map(|r| r.permissions.clone())
            .unwrap_or_default()
    }
    pub fn lowest(&self) -> &str {
        self.roles
            .first()
            .map(|r| r.name.as_str())
            .unwrap_or("read-only")
    }
    /// Roles, lowest first.
    pub fn roles(&self) -> &[CatalogRole] {
        &self.roles
    }
    /// Roles, lowest first.
    pub fn list(&self) -> Vec<Value> {
        self.roles
            .iter()
            .map(|r| {
                json!({"name": r.name, "rank": r.rank, "displayName": r.display_name,
                       "permissions": r.permissions})
            })
            .collect()
    }
}

fn resolve(name: &str, rank: i64, def: Option<&RoleDef>) -> CatalogRole {
    CatalogRole {
        name: name.to_string(),
        rank,
        display_name: def
            .and_then(|d| d.display_name.clone())
            .unwrap_or_else(|| name.to_string()),
        permissions: def
            .and_then(|d| d.permissions.clone())
            .unwrap_or_else(|| default_permissions(rank)),
    }
}

fn is_builtin(name: &str) -> Option<i64> {
    BUILTIN_ROLES
        .iter()
        .find(|(b, _)| b.eq_ignore_ascii_case(name))
        .map(|(_, r)| *r)
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
    /// The role definitions that apply to `tenant`: every tenant's, then
    /// its own (a later definition of the same name wins).
    fn role_defs<'a>(&'a self, tenant: &str) -> Vec<&'a RoleDef> {
        let mut defs: Vec<&RoleDef> = Vec::new();
        let own = self
            .tenants
            .get(tenant)
            .map(|t| &t.roles)
            .into_iter()
            .flatten();
        for d in self.roles.iter().chain(own) {
            defs.retain(|x| !x.name.eq_ignore_ascii_case(&d.name));
            defs.push(d);
        }
        defs
    }

    pub fn catalog(&self, tenant: &str) -> Catalog {
        let defs = self.role_defs(tenant);
        let def = |n: &str| {
            defs.iter()
                .copied()
                .find(|d| d.name.eq_ignore_ascii_case(n))
        };
        let mut roles: Vec<CatalogRole> = BUILTIN_ROLES
            .iter()
            .map(|(n, r)| resolve(n, *r, def(n)))
            .collect();
        for d in defs.iter().filter(|d| is_builtin(&d.name).is_none()) {
            roles.push(resolve(&d.name, d.rank, Some(d)));
        }
        roles.sort_by_key(|r| r.rank);
        Catalog { roles }
    }

    /// Custom roles neither repeat nor collide with the built-in ladder; a
    /// built-in role restated keeps its rank.
    pub(super) fn validate_roles(&self) -> Result<(), String> {
        for r in self
            .roles
            .iter()
            .chain(self.tenants.values().flat_map(|t| &t.roles))
        {
            validate_display_name(r)?;
            if let Some(rank) = is_builtin(&r.name) {
                if r.rank != rank {
                    return Err(format!(
                        "built-in role \"{}\" keeps its rank {rank}: it cannot be {}",
                        r.name, r.rank
                    ));
                }
                continue;
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

fn validate_display_name(r: &RoleDef) -> Result<(), String> {
    if r.name.trim().is_empty() || r.name.len() > 64 || r.name.chars().any(char::is_control) {
        return Err(format!(
            "role name \"{}\" must be 1–64 characters, no control characters",
            r.name.escape_debug()
        ));
    }
    match &r.display_name {
        Some(d)
            if d.trim().is_empty() || d.chars().count() > 64 || d.chars().any(char::is_control) =>
        {
            Err(format!(
                "role \"{}\": display name must be 1–64 characters, no control characters",
                r.name
            ))
        }
        _ => Ok(()),
    }
}
