//! The tenant as its admin sees it: registrations, seats, the role catalog,
//! plans, the fallback owner; ownership transfers not yet acknowledged; and
//! the body that changes the tenant's settings.

use serde::{Deserialize, Serialize};

/// Seats in use and their limits, users and viewers apart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SeatsView {
    /// Seats of type `user`.
    pub users: SeatUsage,
    /// Seats of type `viewer`.
    pub viewers: SeatUsage,
}

/// One seat pool.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SeatUsage {
    /// Seats taken (every user not deleted, disabled and banned included).
    #[schema(example = 42)]
    pub used: i64,
    /// The most seats the tenant may use (`null`: no limit).
    #[schema(example = 50)]
    pub limit: Option<i64>,
}

impl SeatsView {
    pub fn new(users: (i64, Option<i64>), viewers: (i64, Option<i64>)) -> Self {
        SeatsView {
            users: SeatUsage {
                used: users.0,
                limit: users.1,
            },
            viewers: SeatUsage {
                used: viewers.0,
                limit: viewers.1,
            },
        }
    }
}

/// A role of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoleView {
    /// The role's name.
    #[schema(example = "admin")]
    pub name: String,
    /// Higher ranks hold more rights; nobody grants a role above their own.
    #[schema(example = 80)]
    pub rank: i64,
}

/// The tenant's role catalog, lowest first, and the project roles.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolesView {
    /// The role catalog, lowest first.
    pub roles: Vec<RoleView>,
    /// The roles a user may hold in one project, lowest first.
    #[schema(example = json!(["read-only", "operator", "editor", "owner"]))]
    pub project_roles: Vec<String>,
}

/// Everything about the tenant an admin may read.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// The tenant's name.
    #[schema(example = "acme")]
    pub name: String,
    /// Whether new users may be invited.
    pub registrations: bool,
    /// Seats in use and their limits.
    pub seats: SeatsView,
    /// The role catalog, lowest first.
    pub roles: Vec<RoleView>,
    /// The configured plans, lowest first.
    #[schema(example = json!(["free", "team", "enterprise"]))]
    pub plans: Vec<String>,
    /// Who receives a deleted user's assets when no successor is named
    /// and the user has no manager (`null`: nobody is set).
    pub fallback_owner: Option<FallbackOwner>,
    /// Whether admins may change attributes an identity provider manages.
    pub allow_local_overrides: bool,
    /// Days a deleted user stays restorable before the purge.
    #[schema(example = 14)]
    pub retention_days: i64,
    /// The owner (`null`: none is set).
    pub owner: Option<super::OwnerView>,
    /// `read-only`: users an identity provider manages change only there.
    pub directory_mode: super::DirectoryMode,
    /// Whether users an identity provider manages may be banned locally.
    pub local_holds: bool,
    /// Whether each email is unique within the tenant.
    pub unique_emails: bool,
    /// What becomes of a user an identity provider creates again after
    /// their deletion.
    pub recreate_deleted: super::RecreateSetting,
}

/// The fallback owner: a live user, or the setting that names nobody live.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FallbackOwner {
    /// A live user of the tenant.
    User(FallbackUser),
    /// A setting that names nobody live.
    Unresolved(FallbackUnresolved),
}

/// A fallback owner who is a live user of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallbackUser {
    /// The user's SCIM id.
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "heir@acme.test")]
    pub user_name: String,
    /// The user's status.
    #[schema(example = "active")]
    pub status: String,
    /// `admin` (set through this API) or `config` (the config file).
    #[schema(example = "admin")]
    pub source: String,
}

/// A fallback owner setting that names nobody live.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FallbackUnresolved {
    /// The id or userName as set.
    #[schema(example = "gone@acme.test")]
    pub key: String,
    /// `admin` or `config`.
    #[schema(example = "config")]
    pub source: String,
    /// What is wrong with it.
    #[schema(example = "not a live user of this tenant")]
    pub problem: String,
}

/// A tenant settings change: absent fields stay; `fallbackOwner: null`
/// clears the admin's choice (the config file's applies again).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantChange {
    /// Whether new users may be invited.
    #[schema(example = false)]
    pub registrations: Option<bool>,
    /// A live user (id or userName), or `null`.
    #[serde(default, with = "super::users::double_option")]
    #[schema(value_type = Option<String>, example = "heir@acme.test")]
    pub fallback_owner: Option<Option<String>>,
    /// `hold` or `restore`: what becomes of a user an identity provider
    /// creates again after their deletion; `null` gives the decision back
    /// to the config file.
    #[serde(default, with = "super::users::double_option")]
    #[schema(value_type = Option<String>, example = "restore")]
    pub recreate_deleted: Option<Option<String>>,
}

/// An ownership transfer the host has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    /// The user's id: deleted, or (`reason: viewer`) a live viewer.
    pub user_id: String,
    /// The successor's id; `null` when the assets are deleted
    /// (`assets: delete`) or the transfer waits for one.
    pub successor_id: Option<String>,
    /// `deletion`, or `viewer`: the user became a viewer (viewers own
    /// nothing) and stays.
    #[schema(example = "deletion")]
    pub reason: String,
    /// `transfer` (to the successor) or `delete` (removed with the
    /// account).
    #[schema(example = "transfer")]
    pub assets: String,
    /// Why it waits for a successor (no call is made until an admin names
    /// one with `POST /users/{id}/transfer`); `null` otherwise.
    #[serde(default)]
    pub waiting: Option<String>,
    /// Calls made so far.
    #[schema(example = 2)]
    pub attempts: i64,
    /// When the next call is due.
    #[schema(example = "2026-02-03T08:20:00.000Z")]
    pub next_attempt_at: String,
    /// What the last call came to.
    #[schema(example = "HTTP 503")]
    pub last_error: Option<String>,
    /// When the calls were given up (a dead letter, listed by `GET
    /// /deliveries?state=dead`, where a replay queues it again); `null`
    /// while they go on.
    #[serde(default)]
    pub dead_at: Option<String>,
}

impl From<crate::store::PendingTransfer> for TransferView {
    fn from(t: crate::store::PendingTransfer) -> Self {
        TransferView {
            user_id: t.user_id,
            successor_id: Some(t.successor_id).filter(|s| !s.is_empty()),
            reason: t.reason,
            assets: t.assets,
            waiting: t.waiting,
            attempts: t.attempts,
            next_attempt_at: t.next_attempt_at,
            last_error: t.last_error,
            dead_at: t.dead_at,
        }
    }
}

/// Ownership transfers not yet acknowledged, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TransfersView {
    /// The transfers, oldest first.
    pub items: Vec<TransferView>,
}

/// What the acting admin may do about invitations: whether registrations
/// are open, whether they may invite or turn registrations on and off (and
/// why not), and the roles and plans an invitation may give.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InviteActions {
    /// Whether new users may be invited.
    pub registrations: bool,
    /// Invite user.
    pub invite: super::Permit,
    /// Disable registrations / Enable registrations.
    pub toggle_registrations: super::Permit,
    /// The roles an invitation may give: none above the admin's own.
    pub roles: Vec<RoleView>,
    /// The configured plans.
    pub plans: Vec<String>,
}
