//! Groups as the admin API shows them: a list row with its member count,
//! and the detail with the rules the group feeds and a page of members.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Page;
use crate::store::{GroupRow, MemberRow};

/// One row of the admin group list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummary {
    /// The group's SCIM id.
    #[schema(example = "e9e30dba-f08f-4109-8486-d5c6a331660a")]
    pub id: String,
    /// The SCIM displayName.
    #[schema(example = "Engineering")]
    pub display_name: String,
    /// The identity provider's id of the group.
    #[schema(example = "00g1abcd")]
    pub external_id: Option<String>,
    /// Direct members (users and groups).
    #[schema(example = 12)]
    pub members: i64,
    /// When it was created.
    #[schema(example = "2026-01-12T10:00:00.000Z")]
    pub created: String,
    /// When it last changed.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_modified: String,
}

impl From<&GroupRow> for GroupSummary {
    fn from(g: &GroupRow) -> Self {
        GroupSummary {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
            external_id: g.external_id.clone(),
            members: g.members,
            created: g.created.clone(),
            last_modified: g.last_modified.clone(),
        }
    }
}

/// A group, what its membership grants, and one page of its direct members.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDetail {
    /// The group's SCIM id.
    #[schema(example = "e9e30dba-f08f-4109-8486-d5c6a331660a")]
    pub id: String,
    /// The SCIM displayName.
    #[schema(example = "Admins")]
    pub display_name: String,
    /// The identity provider's id of the group.
    pub external_id: Option<String>,
    /// The mapping rules that look at this group, and what they set.
    pub grants: Vec<GrantView>,
    /// When it was created.
    #[schema(example = "2026-01-12T10:00:00.000Z")]
    pub created: String,
    /// When it last changed.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_modified: String,
    /// A page of the direct members.
    pub members: Page<MemberView>,
}

/// A mapping rule that looks at a group, and what it sets for its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantView {
    /// The rule's name (or `rule N`).
    #[schema(example = "admins")]
    pub rule: String,
    /// Its place among the configured rules, from 1 (the last matching
    /// rule wins a type or a role).
    #[schema(example = 2)]
    pub position: usize,
    /// Whether membership of the group is enough for the rule to match and
    /// no later rule of the group overrides everything it sets.
    pub applies: bool,
    /// The rule's other conditions, in words (all must hold as well).
    #[schema(example = json!(["userType is \"Contractor\""]))]
    pub also_requires: Vec<String>,
    /// Later rules of this group, with no other condition, that set all
    /// this rule sets: for the group's members they win.
    pub overridden_by: Vec<String>,
    /// The type it sets: `user` or `viewer`.
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    /// The role it sets.
    #[schema(example = "admin")]
    pub role: Option<String>,
    /// The plan it sets.
    pub plan: Option<String>,
    /// Project → project role it sets.
    #[schema(example = json!({"finance": "editor"}))]
    pub projects: BTreeMap<String, String>,
}

/// A direct member of a group.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// The member's SCIM id.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub id: String,
    /// `User` or `Group`.
    #[serde(rename = "type")]
    #[schema(example = "User")]
    pub kind: String,
    /// The userName or displayName.
    #[schema(example = "ann@acme.test")]
    pub name: Option<String>,
    /// A user member's displayName.
    #[serde(rename = "displayName")]
    #[schema(example = "Ann Lee")]
    pub display_name: Option<String>,
    /// A user member's primary email.
    #[schema(example = "ann@acme.test")]
    pub email: Option<String>,
    /// A user member's effective type: `user` or `viewer`.
    #[serde(rename = "userType")]
    #[schema(example = "user")]
    pub user_type: Option<String>,
    /// A user member's effective role.
    #[schema(example = "member")]
    pub role: Option<String>,
    /// A user member's status.
    #[schema(example = "active")]
    pub status: Option<String>,
}

impl From<&MemberRow> for MemberView {
    fn from(m: &MemberRow) -> Self {
        let data = m.data.as_ref().and_then(serde_json::Value::as_object);
        MemberView {
            id: m.id.clone(),
            kind: m.kind.clone(),
            name: m.name.clone(),
            display_name: data
                .and_then(|d| d.get("displayName"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
            email: data
                .and_then(super::users::primary_email)
                .map(str::to_string),
            user_type: m.user_type.clone(),
            role: m.role.clone(),
            status: m.status.clone(),
        }
    }
}
