//! The policy's views: a preview's changes and an apply's progress (the
//! document itself is `access::PolicyDocument`).

use serde::Serialize;

pub use crate::directory::recompute::AccessSummary;

/// One user a policy change would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyChange {
    /// The user's id.
    pub id: String,
    pub user_name: String,
    /// Type, role, plan and project roles now.
    pub before: AccessSummary,
    /// … and under the draft.
    pub after: AccessSummary,
}

/// `POST /admin/v1/policy/preview`: what applying a draft would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPreview {
    /// How many users would change type, role, plan or project roles.
    pub changes: i64,
    /// This page: 1-based index of its first user, and its size.
    pub start_index: i64,
    pub items_per_page: i64,
    /// The users of this page, in the directory's order.
    pub users: Vec<PolicyChange>,
}

/// `GET /admin/v1/policy/apply`: the latest apply's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyApply {
    /// The policy version being applied.
    pub version: i64,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Users recomputed so far, of all live users when it started.
    pub users_done: i64,
    pub users_total: i64,
    /// Users whose type, role, plan or project roles changed.
    pub changed: usize,
    /// When it started (RFC 3339).
    pub started: String,
    /// Why it failed (the next start finishes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
