//! Role-mapping rules (`[[role_mapping]]`): what they look at, what they
//! set, whether they match a user, and why.

use scim_protocol::text::fold_eq;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::catalog::project_rank;
use super::source::RuleHit;
use super::Policy;
use crate::directory::access::UserFacts;
use crate::store::GroupFacts;
use scim_protocol::schema::URN_ENTERPRISE;

/// What a mapping rule looks at. Every condition given must hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    /// A value of the SCIM `roles` attribute (e.g. the Hub key `datalore-viewer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A value of the SCIM `entitlements` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    /// The SCIM `userType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Membership (direct or nested) of a group with this displayName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Membership of a group with this externalId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_external_id: Option<String>,
    /// An enterprise attribute (`department`, `organization`, `division`,
    /// `costCenter`, `employeeNumber`) or a core one (`title`) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// … equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// What a mapping rule sets.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Project → project role (`owner`, `editor`, `operator`, `read-only`, `none`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub projects: BTreeMap<String, String>,
}

/// One ordered mapping rule (`[[role_mapping]]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingRule {
    /// A name for explanations (default: `rule N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only for this tenant (default: every tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(rename = "match")]
    pub when: RuleMatch,
    pub set: RuleSet,
}

pub fn rule_name(r: &MappingRule, i: usize) -> String {
    r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1))
}

/// A rule that matched a user, with why.
pub(super) struct Matched<'a> {
    pub rule: &'a MappingRule,
    pub hit: RuleHit,
}

impl Policy {
    pub(super) fn rules_for<'a>(
        &'a self,
        tenant: &'a str,
    ) -> impl Iterator<Item = (usize, &'a MappingRule)> {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.tenant.as_deref().is_none_or(|t| t == tenant))
    }

    /// The tenant's rules that match the user, in order.
    pub(super) fn matching_rules<'a>(
        &'a self,
        tenant: &'a str,
        facts: &UserFacts<'_>,
    ) -> Vec<Matched<'a>> {
        self.rules_for(tenant)
            .filter_map(|(index, rule)| {
                let because = rule_matches(rule, facts)?;
                let hit = RuleHit {
                    index,
                    name: rule_name(rule, index),
                    because,
                    group: rule
                        .when
                        .group
                        .clone()
                        .or_else(|| rule.when.group_external_id.clone()),
                };
                Some(Matched { rule, hit })
            })
            .collect()
    }

    /// Whether membership of this group can change anyone's access.
    pub fn group_matters(&self, tenant: &str, g: &GroupFacts) -> bool {
        self.rules_for(tenant).any(|(_, r)| names_group(r, g))
    }

    /// Each rule's conditions and settings make sense against the catalogs.
    pub(super) fn validate_rules(&self) -> Result<(), String> {
        for (i, rule) in self.rules.iter().enumerate() {
            let name = rule_name(rule, i);
            validate_match(&name, &rule.when)?;
            self.validate_set(&name, rule)?;
        }
        Ok(())
    }

    fn validate_set(&self, name: &str, rule: &MappingRule) -> Result<(), String> {
        let s = &rule.set;
        if s.user_type.is_none() && s.role.is_none() && s.plan.is_none() && s.projects.is_empty() {
            return Err(format!("{name}: `set` needs type, role, plan or projects"));
        }
        if let Some(t) = &s.user_type {
            if !matches!(t.as_str(), "user" | "viewer") {
                return Err(format!("{name}: type must be user or viewer, not \"{t}\""));
            }
        }
        if let Some(role) = &s.role {
            let tenant = rule.tenant.as_deref().unwrap_or("");
            if self.catalog(tenant).rank(role).is_none() {
                return Err(format!("{name}: unknown role \"{role}\""));
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
        Ok(())
    }
}

fn validate_match(name: &str, w: &RuleMatch) -> Result<(), String> {
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
    Ok(())
}

/// Whether the rule looks at membership of this group.
pub(super) fn names_group(r: &MappingRule, g: &GroupFacts) -> bool {
    r.when
        .group
        .as_deref()
        .is_some_and(|n| fold_eq(n, &g.display_name))
        || r.when
            .group_external_id
            .as_deref()
            .is_some_and(|x| g.external_id.as_deref().is_some_and(|e| fold_eq(e, x)))
}

fn values_of<'a>(data: &'a Map<String, Value>, attr: &str) -> impl Iterator<Item = &'a str> {
    data.get(attr)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("value").and_then(Value::as_str))
}

/// The role keys rules look at, and what they are called in an
/// explanation: the SCIM `roles`, else the latest sign-in's roles claim.
pub(super) fn effective_roles<'a>(facts: &UserFacts<'a>) -> (Vec<&'a str>, &'static str) {
    let scim: Vec<&'a str> = values_of(facts.data, "roles").collect();
    if scim.is_empty() {
        (facts.claim_roles(), "roles claim")
    } else {
        (scim, "roles")
    }
}

/// Why a rule matches, or `None`.
fn rule_matches(rule: &MappingRule, facts: &UserFacts<'_>) -> Option<String> {
    let w = &rule.when;
    let mut why = Vec::new();
    if let Some(want) = &w.role {
        let (roles, from) = effective_roles(facts);
        roles.iter().find(|v| fold_eq(v, want))?;
        why.push(format!("{from} has \"{want}\""));
    }
    if let Some(want) = &w.entitlement {
        values_of(facts.data, "entitlements").find(|v| fold_eq(v, want))?;
        why.push(format!("entitlements has \"{want}\""));
    }
    if let Some(want) = &w.user_type {
        let ut = facts.data.get("userType").and_then(Value::as_str)?;
        if !fold_eq(ut, want) {
            return None;
        }
        why.push(format!("userType is \"{want}\""));
    }
    if let Some(want) = &w.group {
        if facts.groups.is_empty() {
            facts
                .claim_groups()
                .into_iter()
                .find(|g| fold_eq(g, want))?;
            why.push(format!("groups claim has \"{want}\""));
        } else {
            facts
                .groups
                .iter()
                .find(|g| fold_eq(&g.display_name, want))?;
            why.push(format!("member of group \"{want}\""));
        }
    }
    if let Some(want) = &w.group_external_id {
        facts
            .groups
            .iter()
            .find(|g| g.external_id.as_deref().is_some_and(|e| fold_eq(e, want)))?;
        why.push(format!("member of the group with externalId \"{want}\""));
    }
    if let (Some(attr), Some(want)) = (&w.attribute, &w.equals) {
        let got = attribute_value(facts.data, attr)?;
        if !fold_eq(got.1, want) {
            return None;
        }
        why.push(format!("{} is \"{want}\"", got.0));
    }
    Some(why.join(" and "))
}

/// An enterprise attribute (with or without its URN prefix), else a core one:
/// the name as the rule wrote it (without prefix) and the user's value.
fn attribute_value<'a, 'n>(
    data: &'a Map<String, Value>,
    attr: &'n str,
) -> Option<(&'n str, &'a str)> {
    let name = attr
        .strip_prefix(URN_ENTERPRISE)
        .map(|s| s.trim_start_matches(':'))
        .unwrap_or(attr);
    let ent = data.get(URN_ENTERPRISE).and_then(Value::as_object);
    let got = ent
        .and_then(|e| e.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .or_else(|| data.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.as_str())?;
    Some((name, got))
}
