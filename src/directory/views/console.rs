//! What the admin console shows besides the admin API's views: who is
//! signed in, and which actions the signed-in admin may take on a user,
//! each with the guard's reason when not.

use serde::Serialize;

use super::users::UserRow;

/// Whether an action is allowed, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Permit {
    /// The directory would accept the action now.
    pub allowed: bool,
    /// Why not (the guard's words), when it is not allowed.
    #[schema(example = "you cannot disable yourself")]
    pub reason: Option<String>,
}

impl Permit {
    pub fn yes() -> Self {
        Permit {
            allowed: true,
            reason: None,
        }
    }
    pub fn no(reason: impl Into<String>) -> Self {
        Permit {
            allowed: false,
            reason: Some(reason.into()),
        }
    }
}

/// A role the acting admin may give (roles above their own are not
/// offered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleChoice {
    /// The role's name.
    #[schema(example = "power-user")]
    pub name: String,
    /// Whether it is the user's current role.
    pub current: bool,
}

/// What the acting admin may do to one user. An action that does not fit
/// the user's state (unban for a user not banned) is `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserActions {
    /// Type, role, plan and active are the identity provider's: read-only
    /// here (the tenant does not allow local overrides).
    pub idp_managed: bool,
    /// The tenant's owner: no disable, ban or delete is offered.
    pub owner: bool,
    /// Make this user the owner: offered to the owner only.
    pub make_owner: Option<Permit>,
    /// Change type, role or plan.
    pub change_access: Permit,
    /// The roles offered in "Change role".
    pub roles: Vec<RoleChoice>,
    /// Viewer to user.
    pub upgrade: Option<Permit>,
    /// User to viewer.
    pub downgrade: Option<Permit>,
    /// Disable user (SCIM `active: false`).
    pub disable: Option<Permit>,
    /// Enable user.
    pub enable: Option<Permit>,
    /// Ban user, with a reason.
    pub ban: Option<Permit>,
    /// Unban user.
    pub unban: Option<Permit>,
    /// Delete user, with a successor.
    pub delete: Option<Permit>,
    /// Name the successor of a deletion waiting for one.
    pub name_successor: Option<Permit>,
    /// Restore a deleted user.
    pub restore: Option<Permit>,
    /// Purge a deleted user now.
    pub purge: Option<Permit>,
}

/// One row of the console's user list: the admin API's row and the row's
/// actions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UserListEntry {
    /// The user as the admin API lists it.
    #[serde(flatten)]
    pub row: UserRow,
    /// What the signed-in admin may do to the user.
    pub actions: UserActions,
}

/// The person signed in to the console, as of this request.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleUser {
    /// The tenant.
    #[schema(example = "acme")]
    pub tenant: String,
    /// The user's SCIM id.
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "ann@acme.test")]
    pub user_name: String,
    /// The SCIM displayName.
    pub display_name: Option<String>,
    /// The effective role, re-read on every request.
    #[schema(example = "admin")]
    pub role: String,
    /// Whether the user may administer users (admin or above), and why not.
    pub administer: Permit,
    /// Whether the user may read the audit log, and why not.
    pub read_audit: Permit,
}
