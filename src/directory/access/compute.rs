//! [`Policy::compute`]: a user's effective type, role, plan and project
//! roles, each with its [`Source`], in the precedence the module describes.

use scim_protocol::text::fold_eq;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::catalog::{project_rank, Catalog, POWER_USER_RANK, SUPER_ADMIN, VIEWER_RANK};
use super::rules::Matched;
use super::source::{Explanation, MatchedRule, Part, ProjectRole, Projects, Setter, Source};
use super::{LocalAccess, Policy, TenantAccess};
use crate::directory::access::UserFacts;
use crate::store::Access;
use scim_protocol::schema::URN_ACCESS;

impl Policy {
    /// The effective access of one user, and where each part came from.
    pub fn compute(&self, tenant: &str, facts: &UserFacts<'_>) -> Access {
        let inputs = Inputs::gather(self, tenant, facts);
        let (user_type, type_src) = inputs.user_type();
        let (role, role_src) = inputs.role(user_type);
        let rank = inputs.catalog.rank(&role).unwrap_or(0);
        let (plan, plan_src) = inputs.plan();
        let projects = inputs.projects(user_type, &role, rank);
        let explain = Explanation {
            user_type: Part {
                value: user_type,
                source: type_src,
            },
            role: Part {
                value: role.clone(),
                source: role_src,
            },
            plan: Part {
                value: plan.clone(),
                source: plan_src,
            },
            projects,
            matched_rules: inputs
                .matched
                .iter()
                .map(|m| MatchedRule {
                    rule: &m.hit.name,
                    because: &m.hit.because,
                })
                .collect(),
            ignored: inputs.ignored(),
        }
        .to_json();
        Access {
            user_type: user_type.to_string(),
            role,
            rank,
            plan,
            explain,
        }
    }
}

/// Everything `compute` decides from, loaded once.
struct Inputs<'a> {
    policy: &'a Policy,
    settings: TenantAccess,
    catalog: Catalog,
    local: LocalAccess,
    /// The IdP's access extension.
    ext: Option<&'a Map<String, Value>>,
    matched: Vec<Matched<'a>>,
    /// Listed in the tenant's `super_admins`.
    super_admin: bool,
    /// Sign-in claims that SCIM values overrule.
    ignored_claims: Vec<String>,
}

impl<'a> Inputs<'a> {
    fn gather(policy: &'a Policy, tenant: &'a str, facts: &UserFacts<'a>) -> Self {
        let settings = policy.tenant(tenant);
        let user_name = facts
            .data
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let super_admin = settings.super_admins.iter().any(|s| fold_eq(s, user_name));
        Inputs {
            policy,
            catalog: policy.catalog(tenant),
            local: serde_json::from_value(facts.local.clone()).unwrap_or_default(),
            ext: facts.data.get(URN_ACCESS).and_then(Value::as_object),
            matched: policy.matching_rules(tenant, facts),
            settings,
            super_admin,
            ignored_claims: ignored_claims(facts),
        }
    }

    /// A string attribute of the IdP's access extension.
    fn ext_str(&self, k: &str) -> Option<String> {
        self.ext
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// The last matching rule that sets what `sets` looks at.
    fn last_rule(&self, sets: impl Fn(&Matched) -> bool) -> Option<&Matched<'a>> {
        self.matched.iter().rev().find(|m| sets(m))
    }

    fn known_role(&self, r: &str) -> Option<String> {
        self.catalog.canonical(r).map(str::to_string)
    }

    /// Type: super_admins › local › IdP › last rule › `user`.
    fn user_type(&self) -> (&'static str, Source) {
        if self.super_admin {
            return ("user", Source::SuperAdmins);
        }
        if let Some(t) = self.local.user_type.as_deref().and_then(valid_type) {
            return (t, Source::Local);
        }
        if let Some(t) = self.ext_str("type").as_deref().and_then(valid_type) {
            return (t, Source::Idp);
        }
        if let Some(m) = self.last_rule(|m| m.rule.set.user_type.is_some()) {
            let t = m.rule.set.user_type.as_deref().and_then(valid_type);
            return (t.unwrap_or("user"), Source::Rule(m.hit.clone()));
        }
        ("user", Source::Default)
    }

    /// Role: the asked role, capped to `read-only` for a viewer.
    fn role(&self, user_type: &str) -> (String, Source) {
        let (role, source) = self.asked_role();
        if user_type == "viewer" && self.catalog.rank(&role).unwrap_or(0) > VIEWER_RANK {
            let capped = Source::ViewerRole {
                asked: role,
                was: Box::new(source),
            };
            return ("read-only".to_string(), capped);
        }
        (role, source)
    }

    /// super_admins › local › IdP › last rule › tenant default › `member`.
    fn asked_role(&self) -> (String, Source) {
        if self.super_admin {
            return (SUPER_ADMIN.to_string(), Source::SuperAdmins);
        }
        if let Some(r) = self.local.role.as_deref().and_then(|r| self.known_role(r)) {
            return (r, Source::Local);
        }
        if let Some(r) = self.ext_str("role").and_then(|r| self.known_role(&r)) {
            return (r, Source::Idp);
        }
        if let Some(m) = self.last_rule(|m| m.rule.set.role.is_some()) {
            let r = m.rule.set.role.as_deref().and_then(|r| self.known_role(r));
            return (r.unwrap_or_default(), Source::Rule(m.hit.clone()));
        }
        let d = self
            .settings
            .default_role
            .as_deref()
            .and_then(|r| self.known_role(r));
        (d.unwrap_or_else(|| "member".to_string()), Source::Default)
    }

    /// What the IdP asked for that does not apply.
    fn ignored(&self) -> Vec<String> {
        let mut out = match self.ext_str("role") {
            Some(r) if self.known_role(&r).is_none() => vec![format!(
                "role \"{r}\" from the identity provider is not in the catalog"
            )],
            _ => vec![],
        };
        out.extend(self.ignored_claims.iter().cloned());
        out
    }

    /// Plan: personal (local, then IdP) › the matching rules' plan listed
    /// last in the catalog (the last rule among equals) › tenant default.
    fn plan(&self) -> (Option<String>, Source) {
        if let Some(p) = &self.local.plan {
            return (Some(p.clone()), Source::PersonalPlan(Setter::Local));
        }
        if let Some(p) = self.ext_str("plan") {
            return (Some(p), Source::PersonalPlan(Setter::Idp));
        }
        let pos = |p: &str| self.policy.plans.iter().position(|x| x == p);
        let best = self
            .matched
            .iter()
            .filter(|m| m.rule.set.plan.is_some())
            .enumerate()
            .max_by_key(|(order, m)| (m.rule.set.plan.as_deref().and_then(pos), *order))
            .map(|(_, m)| m);
        if let Some(m) = best {
            return (m.rule.set.plan.clone(), Source::Rule(m.hit.clone()));
        }
        match &self.settings.default_plan {
            Some(p) => (Some(p.clone()), Source::Default),
            None => (None, Source::NoPlan),
        }
    }

    /// Project roles: rules in order, then local settings; viewers are
    /// read-only; power users and above edit every project (`*`) unless
    /// `*` says `none`.
    fn projects(&self, user_type: &str, role: &str, rank: i64) -> Projects {
        let mut asked: BTreeMap<String, (String, Source)> = BTreeMap::new();
        for m in &self.matched {
            for (p, pr) in &m.rule.set.projects {
                asked.insert(p.clone(), (pr.clone(), Source::Rule(m.hit.clone())));
            }
        }
        for (p, pr) in &self.local.projects {
            if pr == "none" || project_rank(pr).is_some() {
                asked.insert(p.clone(), (pr.to_ascii_lowercase(), Source::Local));
            }
        }
        let all_removed = asked.get("*").is_some_and(|(r, _)| r == "none");
        let has_all = asked.contains_key("*");
        let mut out: Vec<(String, ProjectRole)> = asked
            .into_iter()
            .map(|(p, (pr, source))| (p, project_role(user_type, pr, source)))
            .collect();
        if user_type != "viewer" && rank >= POWER_USER_RANK && !all_removed && !has_all {
            let grant = ProjectRole {
                role: "editor".into(),
                source: Source::PowerUser {
                    role: role.to_string(),
                },
            };
            out.push(("*".into(), grant));
        }
        Projects(out)
    }
}

/// A project role as asked, capped to `read-only` for a viewer.
fn project_role(user_type: &str, role: String, source: Source) -> ProjectRole {
    if user_type == "viewer" && role != "none" && role != "read-only" {
        return ProjectRole {
            role: "read-only".into(),
            source: Source::ViewerProject { asked: role },
        };
    }
    ProjectRole { role, source }
}

/// Claims of the latest sign-in that SCIM values overrule (SCIM `roles`
/// beat the roles claim; SCIM group memberships the groups claim).
fn ignored_claims(facts: &UserFacts<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let (_, from) = super::rules::effective_roles(facts);
    if from == "roles" && !facts.claim_roles().is_empty() {
        out.push("the sign-in's roles claim is not used: the SCIM roles apply".to_string());
    }
    if !facts.groups.is_empty() && !facts.claim_groups().is_empty() {
        out.push(
            "the sign-in's groups claim is not used: the SCIM group memberships apply".to_string(),
        );
    }
    out
}

fn valid_type(t: &str) -> Option<&'static str> {
    if t.eq_ignore_ascii_case("viewer") {
        Some("viewer")
    } else if t.eq_ignore_ascii_case("user") {
        Some("user")
    } else {
        None
    }
}
