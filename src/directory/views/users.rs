//! Users as the admin API shows them: a list row, the lifecycle view every
//! change answers, the detail page, effective access, sign-in results; and
//! the bodies that invite a user, change access, ban and name a successor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::access::{Explanation, LocalSettings};
use crate::store::{GroupRef, UserRecord};

/// A user's lifecycle state: what every change to a user answers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// The user's SCIM id.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "ann@acme.test")]
    pub user_name: String,
    /// Status and effective access.
    #[serde(flatten)]
    pub standing: Standing,
    /// The local admin settings (type, role, plan, project roles).
    #[schema(value_type = LocalSettings)]
    pub local: Value,
    /// The first sign-in reported by the host.
    #[schema(example = "2026-01-31T09:00:00.000Z")]
    pub first_sign_in: Option<String>,
    /// The latest sign-in reported by the host.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_sign_in: Option<String>,
    /// The ban, while the user is banned.
    pub ban: Option<Ban>,
    /// Where a deletion stands, while the user is deleted.
    pub deletion: Option<Deletion>,
    /// When the user was deleted (restorable until `purgeAfter`).
    pub deleted_at: Option<String>,
    /// When a deleted user's data is purged.
    pub purge_after: Option<String>,
    /// Increases with every change (the SCIM ETag's version).
    #[schema(example = 3)]
    pub version: i64,
    /// When it was created.
    #[schema(example = "2026-01-12T10:00:00.000Z")]
    pub created: String,
    /// When it last changed.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_modified: String,
}

/// Where a user stands: status and effective access.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Standing {
    /// `invited`, `created` (never signed in), `active`, `disabled`,
    /// `banned` or `deleted`.
    #[schema(example = "active")]
    pub status: String,
    /// Effective type: `user` or `viewer`.
    #[serde(rename = "type")]
    #[schema(example = "user")]
    pub user_type: String,
    /// Effective role, from the tenant's role catalog.
    #[schema(example = "member")]
    pub role: String,
    /// Effective plan, if any applies.
    #[schema(example = "team")]
    pub plan: Option<String>,
    /// Whether an identity provider manages the user (its attributes are
    /// the IdP's unless the tenant allows local overrides).
    pub managed: bool,
}

impl From<&UserRecord> for Standing {
    fn from(u: &UserRecord) -> Self {
        Standing {
            status: u.status.clone(),
            user_type: u.user_type.clone(),
            role: u.role.clone(),
            plan: u.plan.clone(),
            managed: u.managed,
        }
    }
}

/// Where a user's deletion stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Deletion {
    /// `transferring` (the host platform is handing what they own to the
    /// successor), `deleting_assets` (the host platform is deleting what
    /// they owned: `assets` is `delete`), `waiting` (for a successor: see
    /// `reason`) or `deleted`.
    #[schema(example = "transferring")]
    pub state: String,
    /// `delete` when an admin had the assets removed with the account
    /// (`DELETE …?assets=delete`); absent when they are handed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "delete")]
    pub assets: Option<String>,
    /// Who receives what the user owned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<DeletionSuccessor>,
    /// Why the deletion waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "no successor: the user has no manager and the tenant no fallback owner")]
    pub reason: Option<String>,
    #[schema(example = "2026-02-01T12:00:00.000Z")]
    pub requested_at: String,
    /// Who deleted the user (the audit trail's actor).
    #[schema(example = "token:okta")]
    pub requested_by: String,
    /// The ids of the groups the user was a direct member of (a restore
    /// puts them back).
    pub groups: Vec<String>,
    /// When the transfer was acknowledged and the deletion completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// A deleted user's successor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DeletionSuccessor {
    pub id: String,
    #[schema(example = "heir@acme.test")]
    pub user_name: String,
    /// How they were chosen: `request` (named by the deletion), `manager`
    /// (the user's manager) or `fallback` (the tenant's fallback owner).
    #[schema(example = "manager")]
    pub source: String,
}

/// A ban: a local hold the identity provider cannot lift.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ban {
    /// When the user was banned.
    #[schema(example = "2026-02-01T12:00:00.000Z")]
    pub at: String,
    /// Why.
    #[schema(example = "left the company")]
    pub reason: Option<String>,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        UserView {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            standing: Standing::from(u),
            local: u.local.clone(),
            first_sign_in: u.signed_in_at.clone(),
            last_sign_in: u.last_sign_in_at.clone(),
            ban: u.banned_at.as_ref().map(|at| Ban {
                at: at.clone(),
                reason: u.ban_reason.clone(),
            }),
            deletion: u
                .deletion
                .as_ref()
                .and_then(|d| serde_json::from_value(d.clone()).ok()),
            deleted_at: u.deleted_at.clone(),
            purge_after: u.purge_after.clone(),
            version: u.version,
            created: u.created.clone(),
            last_modified: u.last_modified.clone(),
        }
    }
}

/// An invited user and the link their invitation is accepted through: the
/// only place the link (its secret) ever appears.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedUser {
    /// The user's lifecycle state.
    #[serde(flatten)]
    pub user: UserView,
    /// The invitation link (it holds the invitation's secret: hand it to
    /// the invited person only).
    #[schema(example = "https://data.example.com/join/inv_4f1c…")]
    pub invite_link: String,
    /// When the link stops working (it also stops once accepted, resent
    /// or withdrawn).
    #[schema(example = "2026-03-08T09:00:00.000Z")]
    pub invite_expires_at: String,
    /// Where Rollcall is emailing the invitation (with `[email]`
    /// configured and an address to send to); absent: hand the link over
    /// yourself.
    #[schema(example = "new@acme.test")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailed_to: Option<String>,
}

/// One row of the admin user list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRow {
    /// The user's SCIM id.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "ann@acme.test")]
    pub user_name: String,
    /// The SCIM displayName.
    #[schema(example = "Ann Lee")]
    pub display_name: Option<String>,
    /// The primary email, else the first.
    #[schema(example = "ann@acme.test")]
    pub email: Option<String>,
    /// Status and effective access.
    #[serde(flatten)]
    pub standing: Standing,
    /// The latest sign-in reported by the host.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_sign_in: Option<String>,
    /// When it was created.
    #[schema(example = "2026-01-12T10:00:00.000Z")]
    pub created: String,
    /// When it last changed.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_modified: String,
}

impl From<&UserRecord> for UserRow {
    fn from(u: &UserRecord) -> Self {
        UserRow {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            display_name: display_name(u).map(str::to_string),
            email: email(u).map(str::to_string),
            standing: Standing::from(u),
            last_sign_in: u.last_sign_in_at.clone(),
            created: u.created.clone(),
            last_modified: u.last_modified.clone(),
        }
    }
}

/// Everything an admin panel shows of one user.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    /// The user's lifecycle state.
    #[serde(flatten)]
    pub user: UserView,
    /// The SCIM displayName.
    #[schema(example = "Ann Lee")]
    pub display_name: Option<String>,
    /// The primary email, else the first.
    #[schema(example = "ann@acme.test")]
    pub email: Option<String>,
    /// The SCIM `emails` (`value`, `type`, `primary`, `display`).
    #[schema(value_type = Vec<Object>)]
    pub emails: Value,
    /// The SCIM `externalId` the identity provider set.
    #[schema(value_type = Option<String>, example = "00u1abcd")]
    pub external_id: Option<Value>,
    /// Groups the user belongs to, directly or through nested groups
    /// (none once deleted).
    pub groups: Vec<GroupMembership>,
    /// The seat the user takes.
    pub seat: Seat,
    /// Effective access and where each part came from.
    #[schema(value_type = Explanation)]
    pub access: Value,
    /// Whether a sign-in would be allowed now.
    pub sign_in_allowed: bool,
}

impl UserDetail {
    /// The detail of a user and the groups it belongs to.
    pub fn new(u: &UserRecord, groups: Vec<GroupRef>) -> Self {
        UserDetail {
            user: UserView::from(u),
            display_name: display_name(u).map(str::to_string),
            email: email(u).map(str::to_string),
            emails: u
                .data
                .get("emails")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
            external_id: u.data.get("externalId").cloned(),
            groups: groups.into_iter().map(GroupMembership::from).collect(),
            // Disabled and banned users keep their seat; deleted ones free it.
            seat: Seat {
                kind: u.user_type.clone(),
                counted: u.deleted_at.is_none(),
            },
            access: u.access.clone(),
            sign_in_allowed: sign_in_allowed(u),
        }
    }
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupMembership {
    /// The group's SCIM id.
    #[schema(example = "e9e30dba-f08f-4109-8486-d5c6a331660a")]
    pub id: String,
    /// The SCIM displayName.
    #[schema(example = "Engineering")]
    pub display_name: String,
    /// A direct member (else through a nested group).
    pub direct: bool,
}

impl From<GroupRef> for GroupMembership {
    fn from(g: GroupRef) -> Self {
        GroupMembership {
            id: g.id,
            display_name: g.display,
            direct: g.direct,
        }
    }
}

/// The seat a user takes.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Seat {
    /// `user` or `viewer`: the seat pool it counts in.
    #[schema(example = "user")]
    pub kind: String,
    /// Whether it counts (disabled and banned users keep their seat;
    /// deleted ones free it).
    pub counted: bool,
}

/// A user's effective access, where each part came from, and whether the
/// user may sign in.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessView {
    /// Type, role, plan and project roles, each with its source.
    #[serde(flatten)]
    #[schema(value_type = Explanation)]
    pub explanation: Map<String, Value>,
    /// The user's SCIM id.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "ann@acme.test")]
    pub user_name: String,
    /// The user's status.
    #[schema(example = "active")]
    pub status: String,
    /// Whether a sign-in would be allowed now.
    pub sign_in_allowed: bool,
}

impl From<&UserRecord> for AccessView {
    fn from(u: &UserRecord) -> Self {
        AccessView {
            explanation: super::object(&u.access),
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            status: u.status.clone(),
            sign_in_allowed: sign_in_allowed(u),
        }
    }
}

/// What a reported sign-in came to.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SignInResult {
    /// The sign-in is allowed.
    Allowed(SignedIn),
    /// The sign-in is refused.
    Refused(SignInRefused),
}

/// A sign-in that was allowed (the first one turns `created` into `active`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// Always `true`.
    #[schema(example = true)]
    pub allowed: bool,
    /// The user's SCIM id.
    pub id: String,
    /// The user's status.
    #[schema(example = "active")]
    pub status: String,
    /// The first sign-in reported by the host.
    #[schema(example = "2026-01-31T09:00:00.000Z")]
    pub first_sign_in: Option<String>,
    /// The latest sign-in reported by the host.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub last_sign_in: Option<String>,
}

/// A sign-in that was refused (disabled, banned or deleted users).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SignInRefused {
    /// Always `false`.
    #[schema(example = false)]
    pub allowed: bool,
    /// The user's SCIM id.
    pub id: String,
    /// The user's status.
    #[schema(example = "banned")]
    pub status: String,
    /// Why the sign-in was refused.
    #[schema(example = "the user is banned: left the company")]
    pub reason: String,
}

impl SignInResult {
    pub fn allowed(u: &UserRecord) -> Self {
        SignInResult::Allowed(SignedIn {
            allowed: true,
            id: u.id.clone(),
            status: u.status.clone(),
            first_sign_in: u.signed_in_at.clone(),
            last_sign_in: u.last_sign_in_at.clone(),
        })
    }
    pub fn refused(id: &str, status: &str, reason: impl Into<String>) -> Self {
        SignInResult::Refused(SignInRefused {
            allowed: false,
            id: id.to_string(),
            status: status.to_string(),
            reason: reason.into(),
        })
    }
}

/// The answer to a purge.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PurgeResult {
    /// The id (or userName) of the purged user, as given.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub purged: String,
}

/// An invitation: the user is `invited` until the first sign-in. Not
/// managed by an identity provider: type, role and plan are local settings.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Invitation {
    /// The new user's userName (unique in the tenant).
    #[schema(example = "new@acme.test")]
    pub user_name: String,
    /// The SCIM displayName.
    #[schema(example = "New Colleague")]
    pub display_name: Option<String>,
    /// The work email (primary).
    #[schema(example = "new@acme.test")]
    pub email: Option<String>,
    /// `user` or `viewer` (default: as the policy decides).
    #[serde(rename = "type")]
    #[schema(example = "user")]
    pub user_type: Option<String>,
    /// A role of the catalog, not above the inviter's own.
    #[schema(example = "member")]
    pub role: Option<String>,
    /// A plan of the configured plans.
    #[schema(example = "team")]
    pub plan: Option<String>,
}

/// A local access change. Absent fields stay; `null` clears a local
/// setting (the identity provider's value or the rules apply again).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessChange {
    /// `user` or `viewer`, or `null`.
    #[serde(rename = "type", default, with = "double_option")]
    #[schema(value_type = Option<String>, example = "viewer")]
    pub user_type: Option<Option<String>>,
    /// A role of the catalog (not above your own), or `null`.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, example = "power-user")]
    pub role: Option<Option<String>>,
    /// A configured plan, or `null`.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, example = "enterprise")]
    pub plan: Option<Option<String>>,
    /// Project → role (`owner`, `editor`, `operator`, `read-only`, `none`), or
    /// `null` to drop the local setting for that project.
    #[serde(default)]
    #[schema(example = json!({"finance": "editor", "sandbox": null}))]
    pub projects: BTreeMap<String, Option<String>>,
    /// With `"type": "viewer"` only: who receives the user's assets
    /// (viewers own nothing), by id or userName, instead of their manager
    /// or the tenant's fallback owner. Checked like a deletion's successor
    /// when the change makes the user a viewer.
    #[serde(rename = "transferTo", default)]
    #[schema(example = "heir@acme.test")]
    pub transfer_to: Option<String>,
}

/// Why a user is banned.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// The reason (default: "no reason given").
    #[schema(example = "left the company")]
    pub reason: Option<String>,
}

/// The successor of a deleted user's assets.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Successor {
    /// The successor's id, userName or email.
    #[schema(example = "boss@acme.test")]
    pub successor: String,
}

pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};
    /// A present field, `null` included (`Some(None)`); absent stays `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

fn display_name(u: &UserRecord) -> Option<&str> {
    u.data.get("displayName").and_then(Value::as_str)
}

/// The primary email, else the first.
pub fn email(u: &UserRecord) -> Option<&str> {
    primary_email(&u.data)
}

/// The primary email in a user's SCIM data, else the first.
pub fn primary_email(data: &serde_json::Map<String, Value>) -> Option<&str> {
    let emails = data.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

/// Whether a user may sign in now.
pub fn sign_in_allowed(u: &UserRecord) -> bool {
    matches!(u.status.as_str(), "created" | "active" | "invited")
}
