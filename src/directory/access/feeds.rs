//! Which mapping rules a group feeds: the tenant's rules whose condition
//! names the group (by displayName or externalId), in order, with what each
//! sets, what else it needs besides membership, and the later rules that
//! always win over it for the group's members.

use scim_protocol::text::fold_eq;
use serde_json::{json, Value};

use super::rules::{names_group, rule_name, MappingRule, RuleMatch};
use super::Policy;
use crate::store::GroupFacts;

impl Policy {
    /// The rules membership of this group feeds, in the tenant's order.
    /// Each says what it sets (`type`, `role`, `plan`, `projects`), its
    /// 1-based `position` among every configured rule, `alsoRequires` (the
    /// rule's other conditions, in words), `overriddenBy` (later rules of
    /// this group with no other condition that set everything it sets: the
    /// last matching rule wins) and `applies`: membership alone is enough
    /// and no later rule of the group overrides it.
    pub fn group_grants(&self, tenant: &str, g: &GroupFacts) -> Vec<Value> {
        let rules: Vec<(usize, &MappingRule)> = self.rules_for(tenant).collect();
        rules
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| names_group(r, g))
            .map(|(k, (i, r))| {
                let also = other_conditions(&r.when, g);
                let overridden_by: Vec<String> = rules[k + 1..]
                    .iter()
                    .filter(|(_, later)| {
                        names_group(later, g)
                            && other_conditions(&later.when, g).is_empty()
                            && covers(later, r)
                    })
                    .map(|(j, later)| rule_name(later, *j))
                    .collect();
                json!({
                    "rule": rule_name(r, *i),
                    "position": i + 1,
                    "type": r.set.user_type,
                    "role": r.set.role,
                    "plan": r.set.plan,
                    "projects": r.set.projects,
                    "applies": also.is_empty() && overridden_by.is_empty(),
                    "alsoRequires": also,
                    "overriddenBy": overridden_by,
                })
            })
            .collect()
    }
}

/// The conditions of a rule besides membership of `g`, in words.
fn other_conditions(w: &RuleMatch, g: &GroupFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &w.role {
        out.push(format!("roles has \"{r}\""));
    }
    if let Some(e) = &w.entitlement {
        out.push(format!("entitlements has \"{e}\""));
    }
    if let Some(t) = &w.user_type {
        out.push(format!("userType is \"{t}\""));
    }
    if let Some(n) = &w.group {
        if !fold_eq(n, &g.display_name) {
            out.push(format!("member of group \"{n}\""));
        }
    }
    if let Some(x) = &w.group_external_id {
        let same = g.external_id.as_deref().is_some_and(|e| fold_eq(e, x));
        if !same {
            out.push(format!("member of the group with externalId \"{x}\""));
        }
    }
    if let (Some(a), Some(v)) = (&w.attribute, &w.equals) {
        out.push(format!("{a} is \"{v}\""));
    }
    out
}

/// Whether `later` sets everything `earlier` sets, so that for a user both
/// match, nothing of `earlier` is left: type and role go to the last
/// matching rule; plans and project roles combine, so a rule setting one
/// is never wholly overridden.
fn covers(later: &MappingRule, earlier: &MappingRule) -> bool {
    let (l, e) = (&later.set, &earlier.set);
    e.plan.is_none()
        && e.projects.is_empty()
        && (e.user_type.is_none() || l.user_type.is_some())
        && (e.role.is_none() || l.role.is_some())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(rules: &str) -> Policy {
        let cfg: crate::config::Config = toml::from_str(rules).unwrap();
        let p = cfg.policy();
        p.validate().unwrap();
        p
    }

    fn group(name: &str, ext: Option<&str>) -> GroupFacts {
        GroupFacts {
            display_name: name.into(),
            external_id: ext.map(str::to_string),
        }
    }

    const RULES: &str = r#"
plans = ["free", "team"]
[[role_mapping]]
name = "eng-power"
match = { group = "Engineering" }
set = { role = "power-user" }
[[role_mapping]]
name = "other"
match = { group = "Sales" }
set = { role = "admin" }
[[role_mapping]]
name = "eng-viewers"
match = { group = "engineering", user_type = "Contractor" }
set = { type = "viewer" }
[[role_mapping]]
match = { group_external_id = "00gENG" }
set = { plan = "team" }
[[role_mapping]]
name = "eng-admin"
match = { group = "Engineering" }
set = { role = "admin" }
[[role_mapping]]
name = "beta-only"
tenant = "beta"
match = { group = "Engineering" }
set = { role = "member" }
"#;

    #[test]
    fn a_group_feeds_the_rules_naming_it_by_name_or_external_id_in_order() {
        let p = policy(RULES);
        let g = p.group_grants("acme", &group("Engineering", Some("00gENG")));
        let names: Vec<&str> = g.iter().map(|r| r["rule"].as_str().unwrap()).collect();
        assert_eq!(names, ["eng-power", "eng-viewers", "rule 4", "eng-admin"]);
        let positions: Vec<u64> = g.iter().map(|r| r["position"].as_u64().unwrap()).collect();
        assert_eq!(positions, [1, 3, 4, 5]);
        assert_eq!(g[2]["plan"], "team");
        assert_eq!(g[3]["role"], "admin");
    }

    #[test]
    fn a_rule_applies_only_on_membership_alone_and_when_no_later_rule_overrides_it() {
        let p = policy(RULES);
        let g = p.group_grants("acme", &group("Engineering", Some("00gENG")));
        // eng-power's role is overridden by eng-admin, later, unconditional.
        assert_eq!(g[0]["applies"], false);
        assert_eq!(g[0]["overriddenBy"], json!(["eng-admin"]));
        // eng-viewers needs a userType too.
        assert_eq!(g[1]["applies"], false);
        assert_eq!(g[1]["alsoRequires"], json!(["userType is \"Contractor\""]));
        // A plan rule is never overridden: plans combine.
        assert_eq!(g[2]["applies"], true);
        assert_eq!(g[3]["applies"], true);
        assert_eq!(g[3]["alsoRequires"], json!([]));
    }

    #[test]
    fn a_group_without_rules_or_of_another_tenant_feeds_nothing_here() {
        let p = policy(RULES);
        assert!(p.group_grants("acme", &group("Finance", None)).is_empty());
        let beta = p.group_grants("beta", &group("Engineering", None));
        let names: Vec<&str> = beta.iter().map(|r| r["rule"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["eng-power", "eng-viewers", "eng-admin", "beta-only"]
        );
        // Without the externalId the plan rule does not name the group.
        assert_eq!(beta[2]["overriddenBy"], json!(["beta-only"]));
    }

    #[test]
    fn another_group_or_external_id_in_the_condition_is_an_extra_requirement() {
        let p = policy(
            r#"
[[role_mapping]]
match = { group = "Engineering", group_external_id = "00gOPS" }
set = { role = "admin" }
"#,
        );
        let g = p.group_grants("acme", &group("Engineering", None));
        assert_eq!(
            g[0]["alsoRequires"],
            json!(["member of the group with externalId \"00gOPS\""])
        );
        let ops = p.group_grants("acme", &group("Ops", Some("00gOPS")));
        assert_eq!(
            ops[0]["alsoRequires"],
            json!(["member of group \"Engineering\""])
        );
    }
}
