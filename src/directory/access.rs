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

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::scim::schema::{URN_ACCESS, URN_ENTERPRISE};
use crate::store::{Access, AccessPolicy, GroupFacts, UserFacts};

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

/// What a mapping rule looks at. Every condition given must hold.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    /// A value of the SCIM `roles` attribute (e.g. the Hub key `datalore-viewer`).
    pub role: Option<String>,
    /// A value of the SCIM `entitlements` attribute.
    pub entitlement: Option<String>,
    /// The SCIM `userType`.
    pub user_type: Option<String>,
    /// Membership (direct or nested) of a group with this displayName.
    pub group: Option<String>,
    /// Membership of a group with this externalId.
    pub group_external_id: Option<String>,
    /// An enterprise attribute (`department`, `organization`, `division`,
    /// `costCenter`, `employeeNumber`) or a core one (`title`) …
    pub attribute: Option<String>,
    /// … equal to this value.
    pub equals: Option<String>,
}

/// What a mapping rule sets.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    pub role: Option<String>,
    pub plan: Option<String>,
    /// Project → project role (`owner`, `editor`, `operator`, `read-only`, `none`).
    #[serde(default)]
    pub projects: BTreeMap<String, String>,
}

/// One ordered mapping rule (`[[role_mapping]]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MappingRule {
    /// A name for explanations (default: `rule N`).
    pub name: Option<String>,
    /// Only for this tenant (default: every tenant).
    pub tenant: Option<String>,
    #[serde(rename = "match")]
    pub when: RuleMatch,
    pub set: RuleSet,
}

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
}

/// A tenant's role catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    roles: Vec<(String, i64)>,
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

fn project_rank(role: &str) -> Option<usize> {
    PROJECT_ROLES
        .iter()
        .position(|r| r.eq_ignore_ascii_case(role))
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
        for (i, rule) in self.rules.iter().enumerate() {
            let name = rule_name(rule, i);
            let w = &rule.when;
            if w.role.is_none()
                && w.entitlement.is_none()
                && w.user_type.is_none()
                && w.group.is_none()
                && w.group_external_id.is_none()
                && w.attribute.is_none()
            {
                return Err(format!("{name}: `match` needs at least one condition"));
            }
            if w.attribute.is_some() != w.equals.is_some() {
                return Err(format!("{name}: `attribute` and `equals` go together"));
            }
            let s = &rule.set;
            if s.user_type.is_none()
                && s.role.is_none()
                && s.plan.is_none()
                && s.projects.is_empty()
            {
                return Err(format!("{name}: `set` needs type, role, plan or projects"));
            }
            if let Some(t) = &s.user_type {
                if !matches!(t.as_str(), "user" | "viewer") {
                    return Err(format!("{name}: type must be user or viewer, not \"{t}\""));
                }
            }
            if let Some(role) = &s.role {
                let tenants: Vec<&str> = match &rule.tenant {
                    Some(t) => vec![t.as_str()],
                    None => vec![""],
                };
                for t in tenants {
                    if self.catalog(t).rank(role).is_none() {
                        return Err(format!("{name}: unknown role \"{role}\""));
                    }
                }
            }
            if let Some(plan) = &s.plan {
                if !self.plans.is_empty() && !self.plans.contains(plan) {
                    return Err(format!("{name}: plan \"{plan}\" is not in `plans`"));
                }
            }
            for (p, r) in &s.projects {
                if r != "none" && project_rank(r).is_none() {
                    return Err(format!("{name}: project {p}: unknown project role \"{r}\""));
                }
            }
        }
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

    fn rules_for<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = (usize, &'a MappingRule)> {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.tenant.as_deref().is_none_or(|t| t == tenant))
    }

    /// The rules membership of this group feeds, with what they set.
    pub fn group_grants(&self, tenant: &str, g: &GroupFacts) -> Vec<Value> {
        self.rules_for(tenant)
            .filter(|(_, r)| {
                r.when
                    .group
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&g.display_name))
                    || r.when.group_external_id.as_deref().is_some_and(|x| {
                        g.external_id
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(x))
                    })
            })
            .map(|(i, r)| {
                json!({
                    "rule": rule_name(r, i),
                    "type": r.set.user_type,
                    "role": r.set.role,
                    "plan": r.set.plan,
                    "projects": r.set.projects,
                })
            })
            .collect()
    }

    /// Whether membership of this group can change anyone's access.
    pub fn group_matters(&self, tenant: &str, g: &GroupFacts) -> bool {
        self.rules_for(tenant).any(|(_, r)| {
            r.when
                .group
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&g.display_name))
                || r.when.group_external_id.as_deref().is_some_and(|x| {
                    g.external_id
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(x))
                })
        })
    }

    /// The effective access of one user, and where each part came from.
    pub fn compute(&self, tenant: &str, facts: &UserFacts<'_>) -> Access {
        let settings = self.tenant(tenant);
        let catalog = self.catalog(tenant);
        let local: LocalAccess = serde_json::from_value(facts.local.clone()).unwrap_or_default();
        let ext = facts.data.get(URN_ACCESS).and_then(Value::as_object);
        let ext_str = |k: &str| {
            ext.and_then(|e| e.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let matched: Vec<(usize, &MappingRule, String)> = self
            .rules_for(tenant)
            .filter_map(|(i, r)| rule_matches(r, facts).map(|why| (i, r, why)))
            .collect();
        let rule_src = |i: usize, r: &MappingRule, why: &str| {
            let mut o = json!({"source": "rule", "rule": rule_name(r, i), "because": why});
            if let Some(g) = r.when.group.as_ref().or(r.when.group_external_id.as_ref()) {
                o["group"] = json!(g);
            }
            o
        };

        // Type.
        let valid_type = |t: &str| {
            if t.eq_ignore_ascii_case("viewer") {
                Some("viewer")
            } else if t.eq_ignore_ascii_case("user") {
                Some("user")
            } else {
                None
            }
        };
        let user_name = facts
            .data
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let bootstrap = settings
            .super_admins
            .iter()
            .any(|s| s.eq_ignore_ascii_case(user_name));
        let (user_type, type_src) = if bootstrap {
            (
                "user",
                json!({"source": "bootstrap", "because": "listed in the tenant's super_admins"}),
            )
        } else if let Some(t) = local.user_type.as_deref().and_then(valid_type) {
            (t, json!({"source": "local"}))
        } else if let Some(t) = ext_str("type").as_deref().and_then(valid_type) {
            (t, json!({"source": "scim"}))
        } else if let Some((i, r, why)) = matched
            .iter()
            .rev()
            .find(|(_, r, _)| r.set.user_type.is_some())
        {
            let t = r
                .set
                .user_type
                .as_deref()
                .and_then(valid_type)
                .unwrap_or("user");
            (t, rule_src(*i, r, why))
        } else {
            ("user", json!({"source": "default"}))
        };

        // Role.
        let known = |r: &str| catalog.canonical(r).map(str::to_string);
        let mut ignored = Vec::new();
        let (mut role, mut role_src) = if bootstrap {
            (
                SUPER_ADMIN.to_string(),
                json!({"source": "bootstrap", "because": "listed in the tenant's super_admins"}),
            )
        } else if let Some(r) = local.role.as_deref().and_then(known) {
            (r, json!({"source": "local"}))
        } else if let Some(r) = ext_str("role").as_deref().and_then(known) {
            (r, json!({"source": "scim"}))
        } else if let Some((i, r, why)) =
            matched.iter().rev().find(|(_, r, _)| r.set.role.is_some())
        {
            let name = r.set.role.as_deref().and_then(known).unwrap_or_default();
            (name, rule_src(*i, r, why))
        } else {
            let d = settings
                .default_role
                .as_deref()
                .and_then(known)
                .unwrap_or_else(|| "member".to_string());
            (d, json!({"source": "default"}))
        };
        if let Some(r) = ext_str("role") {
            if known(&r).is_none() {
                ignored.push(format!(
                    "role \"{r}\" from the identity provider is not in the catalog"
                ));
            }
        }
        if user_type == "viewer" && catalog.rank(&role).unwrap_or(0) > VIEWER_RANK {
            role_src = json!({
                "source": "viewer",
                "because": format!("viewers hold no role; \"{role}\" ({}) does not apply", role_src["source"].as_str().unwrap_or("")),
            });
            role = "read-only".to_string();
        }
        let rank = catalog.rank(&role).unwrap_or(0);

        // Plan.
        let (plan, plan_src) = if let Some(p) = &local.plan {
            (
                Some(p.clone()),
                json!({"source": "local", "because": "personal plan"}),
            )
        } else if let Some(p) = ext_str("plan") {
            (
                Some(p),
                json!({"source": "scim", "because": "personal plan"}),
            )
        } else {
            let pos = |p: &str| self.plans.iter().position(|x| x == p);
            let best = matched
                .iter()
                .filter(|(_, r, _)| r.set.plan.is_some())
                .enumerate()
                .max_by_key(|(order, (_, r, _))| (r.set.plan.as_deref().and_then(pos), *order))
                .map(|(_, m)| m);
            match best {
                Some((i, r, why)) => (r.set.plan.clone(), rule_src(*i, r, why)),
                None => match &settings.default_plan {
                    Some(p) => (Some(p.clone()), json!({"source": "default"})),
                    None => (None, json!({"source": "none"})),
                },
            }
        };

        // Project roles.
        let mut projects: BTreeMap<String, (String, Value)> = BTreeMap::new();
        for (i, r, why) in &matched {
            for (p, pr) in &r.set.projects {
                projects.insert(p.clone(), (pr.clone(), rule_src(*i, r, why)));
            }
        }
        for (p, pr) in &local.projects {
            if pr == "none" || project_rank(pr).is_some() {
                projects.insert(
                    p.clone(),
                    (pr.to_ascii_lowercase(), json!({"source": "local"})),
                );
            }
        }
        let mut proj_out = Map::new();
        let all_removed = projects.get("*").is_some_and(|(r, _)| r == "none");
        for (p, (pr, src)) in &projects {
            let mut pr = pr.clone();
            let mut src = src.clone();
            if user_type == "viewer" && pr != "none" && pr != "read-only" {
                src = json!({"source": "viewer", "because": format!("viewers are read-only in projects; \"{pr}\" does not apply")});
                pr = "read-only".into();
            }
            let mut o = json!({"role": pr, "includes": includes(&pr)});
            if let Some(so) = src.as_object() {
                for (k, v) in so {
                    o[k] = v.clone();
                }
            }
            proj_out.insert(p.clone(), o);
        }
        if user_type != "viewer" && rank >= POWER_USER_RANK && !all_removed {
            let explicit = proj_out.get("*").cloned();
            if explicit.is_none() {
                proj_out.insert(
                    "*".into(),
                    json!({"role": "editor", "includes": includes("editor"), "source": "role",
                           "because": format!("\"{role}\" is power-user or above: editor of every project unless a project says none")}),
                );
            }
        }

        let mut explain = json!({
            "type": with_value(type_src, json!(user_type)),
            "role": with_value(role_src, json!(role)),
            "plan": with_value(plan_src, json!(plan)),
            "projects": Value::Object(proj_out),
            "matchedRules": matched.iter().map(|(i, r, why)| json!({"rule": rule_name(r, *i), "because": why})).collect::<Vec<_>>(),
        });
        if !ignored.is_empty() {
            explain["ignored"] = json!(ignored);
        }
        Access {
            user_type: user_type.to_string(),
            role,
            rank,
            plan,
            explain,
        }
    }
}

fn includes(pr: &str) -> Value {
    match project_rank(pr) {
        Some(n) => json!(PROJECT_ROLES[..=n].iter().rev().collect::<Vec<_>>()),
        None => json!([]),
    }
}

fn with_value(mut src: Value, value: Value) -> Value {
    let mut o = Map::new();
    o.insert("value".into(), value);
    if let Some(m) = src.as_object_mut() {
        o.append(m);
    }
    Value::Object(o)
}

pub fn rule_name(r: &MappingRule, i: usize) -> String {
    r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1))
}

fn values_of<'a>(data: &'a Map<String, Value>, attr: &str) -> impl Iterator<Item = &'a str> {
    data.get(attr)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("value").and_then(Value::as_str))
}

/// Why a rule matches, or `None`.
fn rule_matches(rule: &MappingRule, facts: &UserFacts<'_>) -> Option<String> {
    let w = &rule.when;
    let mut why = Vec::new();
    if let Some(want) = &w.role {
        values_of(facts.data, "roles").find(|v| v.eq_ignore_ascii_case(want))?;
        why.push(format!("roles has \"{want}\""));
    }
    if let Some(want) = &w.entitlement {
        values_of(facts.data, "entitlements").find(|v| v.eq_ignore_ascii_case(want))?;
        why.push(format!("entitlements has \"{want}\""));
    }
    if let Some(want) = &w.user_type {
        let ut = facts.data.get("userType").and_then(Value::as_str)?;
        if !ut.eq_ignore_ascii_case(want) {
            return None;
        }
        why.push(format!("userType is \"{want}\""));
    }
    if let Some(want) = &w.group {
        facts
            .groups
            .iter()
            .find(|g| g.display_name.eq_ignore_ascii_case(want))?;
        why.push(format!("member of group \"{want}\""));
    }
    if let Some(want) = &w.group_external_id {
        facts.groups.iter().find(|g| {
            g.external_id
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(want))
        })?;
        why.push(format!("member of the group with externalId \"{want}\""));
    }
    if let (Some(attr), Some(want)) = (&w.attribute, &w.equals) {
        let name = attr
            .strip_prefix(URN_ENTERPRISE)
            .map(|s| s.trim_start_matches(':'))
            .unwrap_or(attr);
        let ent = facts.data.get(URN_ENTERPRISE).and_then(Value::as_object);
        let got = ent
            .and_then(|e| e.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .or_else(|| {
                facts
                    .data
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .and_then(|(_, v)| v.as_str())?;
        if !got.eq_ignore_ascii_case(want) {
            return None;
        }
        why.push(format!("{name} is \"{want}\""));
    }
    Some(why.join(" and "))
}

impl AccessPolicy for Policy {
    fn compute(&self, tenant: &str, facts: &UserFacts<'_>) -> Access {
        Policy::compute(self, tenant, facts)
    }
    fn group_matters(&self, tenant: &str, group: &GroupFacts) -> bool {
        Policy::group_matters(self, tenant, group)
    }
    fn uses_groups(&self, tenant: &str) -> bool {
        self.rules_for(tenant)
            .any(|(_, r)| r.when.group.is_some() || r.when.group_external_id.is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn policy(rules: &str) -> Policy {
        let cfg: crate::config::Config = toml::from_str(rules).unwrap();
        let p = cfg.policy();
        p.validate().unwrap();
        p
    }

    fn facts<'a>(
        data: &'a Map<String, Value>,
        local: &'a Value,
        groups: &'a [GroupFacts],
    ) -> UserFacts<'a> {
        UserFacts {
            data,
            local,
            groups,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn group(name: &str) -> GroupFacts {
        GroupFacts {
            display_name: name.into(),
            external_id: None,
        }
    }

    #[test]
    fn defaults_without_rules() {
        let p = Policy::default();
        let data = obj(json!({"userName": "a"}));
        let a = p.compute("t", &facts(&data, &json!({}), &[]));
        assert_eq!(
            (a.user_type.as_str(), a.role.as_str(), a.rank),
            ("user", "member", 20)
        );
        assert_eq!(a.plan, None);
        assert_eq!(a.explain["role"]["source"], "default");
    }

    #[test]
    fn last_matching_rule_wins_and_viewers_are_capped() {
        let p = policy(
            r#"
[[role_mapping]]
match = { group = "A" }
set = { role = "admin" }
[[role_mapping]]
match = { group = "B" }
set = { role = "power-user" }
[[role_mapping]]
match = { role = "v" }
set = { type = "viewer" }
"#,
        );
        let data = obj(json!({"userName": "a"}));
        let both = [group("a"), group("B")];
        let a = p.compute("t", &facts(&data, &json!({}), &both));
        assert_eq!(a.role, "power-user");
        assert_eq!(a.explain["role"]["rule"], "rule 2");
        let viewer = obj(json!({"userName": "a", "roles": [{"value": "V"}]}));
        let a = p.compute("t", &facts(&viewer, &json!({}), &both));
        assert_eq!(
            (a.user_type.as_str(), a.role.as_str()),
            ("viewer", "read-only")
        );
        assert!(a.explain["projects"].get("*").is_none());
    }

    #[test]
    fn plans_follow_the_catalog_order_and_personal_wins() {
        let p = policy(
            r#"
plans = ["basic", "team", "enterprise"]
[[role_mapping]]
match = { group = "Data" }
set = { plan = "enterprise" }
[[role_mapping]]
match = { group = "Eng" }
set = { plan = "team" }
"#,
        );
        let data = obj(json!({"userName": "a"}));
        let g = [group("Data"), group("Eng")];
        assert_eq!(
            p.compute("t", &facts(&data, &json!({}), &g))
                .plan
                .as_deref(),
            Some("enterprise")
        );
        let local = json!({"plan": "basic"});
        assert_eq!(
            p.compute("t", &facts(&data, &local, &g)).plan.as_deref(),
            Some("basic")
        );
    }

    #[test]
    fn rules_match_on_every_condition_and_enterprise_attributes() {
        let p = policy(
            r#"
[[role_mapping]]
match = { attribute = "department", equals = "Finance", user_type = "Employee" }
set = { role = "admin" }
"#,
        );
        let yes = obj(
            json!({"userName": "a", "userType": "employee", URN_ENTERPRISE: {"department": "FINANCE"}}),
        );
        let no = obj(
            json!({"userName": "a", "userType": "contractor", URN_ENTERPRISE: {"department": "Finance"}}),
        );
        assert_eq!(p.compute("t", &facts(&yes, &json!({}), &[])).role, "admin");
        assert_eq!(p.compute("t", &facts(&no, &json!({}), &[])).role, "member");
    }

    #[test]
    fn validation_refuses_unknown_roles_plans_and_empty_rules() {
        for bad in [
            "[[role_mapping]]\nmatch = { role = \"x\" }\nset = { role = \"wizard\" }\n",
            "plans = [\"a\"]\n[[role_mapping]]\nmatch = { role = \"x\" }\nset = { plan = \"b\" }\n",
            "[[role_mapping]]\nmatch = {}\nset = { role = \"admin\" }\n",
            "[[role_mapping]]\nmatch = { role = \"x\" }\nset = {}\n",
            "[[role_mapping]]\nmatch = { attribute = \"department\" }\nset = { role = \"admin\" }\n",
            "[[roles]]\nname = \"admin\"\nrank = 41\n",
            "[[role_mapping]]\nmatch = { role = \"x\" }\nset = { projects = { p = \"boss\" } }\n",
        ] {
            let cfg: crate::config::Config = toml::from_str(bad).unwrap();
            assert!(cfg.policy().validate().is_err(), "{bad}");
        }
    }
}
