//! Where each part of a user's effective access came from ([`Source`]), and
//! the explanation those sources make. The explanation is stored with the
//! user (the `access` column) and answered by the admin API, so its JSON is
//! fixed: a changed spelling would make every user look changed.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::catalog::includes;

/// A mapping rule that matched: which one, why, and the group it looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHit {
    /// Position among all configured rules.
    pub index: usize,
    /// Its name, or `rule N`.
    pub name: String,
    /// The conditions that held (`member of group "Eng" and …`).
    pub because: String,
    /// The group (displayName or externalId) the rule looks at, if any.
    pub group: Option<String>,
}

/// Who set a personal plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setter {
    /// A local admin.
    Local,
    /// The IdP, through the access extension's `plan`.
    Idp,
}

/// Where one part of the effective access (type, role, plan, one project
/// role) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Listed in the tenant's `super_admins`.
    SuperAdmins,
    /// A local admin setting.
    Local,
    /// The IdP's access extension (`type`, `role`).
    Idp,
    /// A personal plan.
    PersonalPlan(Setter),
    /// A matching mapping rule.
    Rule(RuleHit),
    /// The tenant's default (or the built-in one).
    Default,
    /// No plan anywhere.
    NoPlan,
    /// A viewer holds no role: `asked` (from `was`) was capped to `read-only`.
    ViewerRole { asked: String, was: Box<Source> },
    /// A viewer is read-only in projects: project role `asked` was capped.
    ViewerProject { asked: String },
    /// Power users and above edit every project; `role` is the user's role.
    PowerUser { role: String },
}

impl Source {
    /// The `source` word of the explanation.
    pub fn tag(&self) -> &'static str {
        match self {
            Source::SuperAdmins => "bootstrap",
            Source::Local | Source::PersonalPlan(Setter::Local) => "local",
            Source::Idp | Source::PersonalPlan(Setter::Idp) => "scim",
            Source::Rule(_) => "rule",
            Source::Default => "default",
            Source::NoPlan => "none",
            Source::ViewerRole { .. } | Source::ViewerProject { .. } => "viewer",
            Source::PowerUser { .. } => "role",
        }
    }

    /// The `because` sentence, when the source has one.
    pub fn because(&self) -> Option<String> {
        match self {
            Source::SuperAdmins => Some("listed in the tenant's super_admins".into()),
            Source::PersonalPlan(_) => Some("personal plan".into()),
            Source::Rule(hit) => Some(hit.because.clone()),
            Source::ViewerRole { asked, was } => Some(format!(
                "viewers hold no role; \"{asked}\" ({}) does not apply",
                was.tag()
            )),
            Source::ViewerProject { asked } => Some(format!(
                "viewers are read-only in projects; \"{asked}\" does not apply"
            )),
            Source::PowerUser { role } => Some(format!(
                "\"{role}\" is power-user or above: editor of every project unless a project says none"
            )),
            Source::Local | Source::Idp | Source::Default | Source::NoPlan => None,
        }
    }
}

/// `{"source": …, "rule": …, "because": …, "group": …}`, in that order, each
/// key only when it applies; flattened into the part it explains.
impl Serialize for Source {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("source", self.tag())?;
        if let Source::Rule(hit) = self {
            map.serialize_entry("rule", &hit.name)?;
        }
        if let Some(because) = self.because() {
            map.serialize_entry("because", &because)?;
        }
        if let Source::Rule(RuleHit {
            group: Some(group), ..
        }) = self
        {
            map.serialize_entry("group", group)?;
        }
        map.end()
    }
}

/// One explained part: `{"value": …, "source": …, …}`.
#[derive(serde::Serialize)]
pub(super) struct Part<T> {
    pub value: T,
    #[serde(flatten)]
    pub source: Source,
}

/// One project's effective role: `{"role": …, "includes": […], "source": …}`.
pub(super) struct ProjectRole {
    pub role: String,
    pub source: Source,
}

impl Serialize for ProjectRole {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            role: &'a str,
            includes: Vec<&'static str>,
            #[serde(flatten)]
            source: &'a Source,
        }
        Out {
            role: &self.role,
            includes: includes(&self.role),
            source: &self.source,
        }
        .serialize(serializer)
    }
}

/// Project roles in the order they were decided (by name, then the
/// power-user grant `*` when it was added last).
pub(super) struct Projects(pub Vec<(String, ProjectRole)>);

impl Serialize for Projects {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// A matched rule in `matchedRules`.
#[derive(serde::Serialize)]
pub(super) struct MatchedRule<'a> {
    pub rule: &'a str,
    pub because: &'a str,
}

/// The whole explanation of a user's effective access.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Explanation<'a> {
    #[serde(rename = "type")]
    pub user_type: Part<&'a str>,
    pub role: Part<String>,
    pub plan: Part<Option<String>>,
    pub projects: Projects,
    pub matched_rules: Vec<MatchedRule<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

impl Explanation<'_> {
    pub fn to_json(&self) -> Value {
        // Only string keys and plain values: serialization cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}
