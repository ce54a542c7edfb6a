//! Permissions a role carries: what its holders may do through the admin
//! API, the console and `rollcall --as`. Rank still decides *over whom*
//! (nobody acts on a user ranked above them, nobody grants a role above
//! their own); the permission decides *what*.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::catalog::ADMIN_RANK;

/// One permission. The names are the policy document's words.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Permission {
    /// See the user list and a user's detail.
    #[serde(rename = "users.read")]
    UsersRead,
    /// Invite users; resend or withdraw an invitation (DataStream's `user-create`).
    #[serde(rename = "users.invite")]
    UsersInvite,
    /// Change a user's type (user / viewer).
    #[serde(rename = "users.edit_type")]
    UsersEditType,
    /// Change a user's role and project roles.
    #[serde(rename = "users.edit_role")]
    UsersEditRole,
    /// Change a user's plan.
    #[serde(rename = "users.edit_plan")]
    UsersEditPlan,
    /// Disable and enable users.
    #[serde(rename = "users.disable")]
    UsersDisable,
    /// Ban and unban users (a local hold).
    #[serde(rename = "users.ban")]
    UsersBan,
    /// Delete users, name successors, restore deleted users.
    #[serde(rename = "users.delete")]
    UsersDelete,
    /// Purge deleted users for good.
    #[serde(rename = "users.purge")]
    UsersPurge,
    /// See the groups, their members and the role catalog.
    #[serde(rename = "groups.read")]
    GroupsRead,
    /// See and change tenant settings, seats, transfers, deliveries, the policy.
    #[serde(rename = "tenant.settings")]
    TenantSettings,
    /// Read the audit trail and the request log.
    #[serde(rename = "audit.read")]
    AuditRead,
    /// List, make and revoke API tokens.
    #[serde(rename = "tokens.manage")]
    TokensManage,
    /// Run and cancel compliance deprovisioning jobs.
    #[serde(rename = "deprovision.run")]
    DeprovisionRun,
}

/// Every permission, in the order the documentation lists them.
pub const ALL_PERMISSIONS: [Permission; 14] = [
    Permission::UsersRead,
    Permission::UsersInvite,
    Permission::UsersEditType,
    Permission::UsersEditRole,
    Permission::UsersEditPlan,
    Permission::UsersDisable,
    Permission::UsersBan,
    Permission::UsersDelete,
    Permission::UsersPurge,
    Permission::GroupsRead,
    Permission::TenantSettings,
    Permission::AuditRead,
    Permission::TokensManage,
    Permission::DeprovisionRun,
];

/// Ranks from which a role sees the admin panel's directory by default.
pub const READER_RANK: i64 = 20;

impl Permission {
    /// The policy document's name (`users.read` …).
    pub fn name(self) -> &'static str {
        match self {
            Permission::UsersRead => "users.read",
            Permission::UsersInvite => "users.invite",
            Permission::UsersEditType => "users.edit_type",
            Permission::UsersEditRole => "users.edit_role",
            Permission::UsersEditPlan => "users.edit_plan",
            Permission::UsersDisable => "users.disable",
            Permission::UsersBan => "users.ban",
            Permission::UsersDelete => "users.delete",
            Permission::UsersPurge => "users.purge",
            Permission::GroupsRead => "groups.read",
            Permission::TenantSettings => "tenant.settings",
            Permission::AuditRead => "audit.read",
            Permission::TokensManage => "tokens.manage",
            Permission::DeprovisionRun => "deprovision.run",
        }
    }

    /// Whether it only reads the directory (`users.read`, `groups.read`).
    pub fn is_read(self) -> bool {
        matches!(self, Permission::UsersRead | Permission::GroupsRead)
    }

    /// A permission by its name.
    pub fn parse(name: &str) -> Option<Permission> {
        ALL_PERMISSIONS.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The permissions a role of this rank holds unless its definition lists
/// its own: below `member` nothing; from `member` to below `admin` the
/// directory read (users and groups); from `admin` up everything. This is
/// the rank ladder the admin API always had, now written as permissions.
pub fn default_permissions(rank: i64) -> BTreeSet<Permission> {
    if rank >= ADMIN_RANK {
        ALL_PERMISSIONS.into_iter().collect()
    } else if rank >= READER_RANK {
        [Permission::UsersRead, Permission::GroupsRead]
            .into_iter()
            .collect()
    } else {
        BTreeSet::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for p in ALL_PERMISSIONS {
            assert_eq!(Permission::parse(p.name()), Some(p));
            let json = serde_json::to_value(p).unwrap();
            assert_eq!(json, serde_json::json!(p.name()));
        }
        assert_eq!(Permission::parse("users.fly"), None);
    }

    #[test]
    fn defaults_follow_the_rank_ladder() {
        assert!(default_permissions(10).is_empty());
        assert_eq!(
            default_permissions(20),
            default_permissions(39),
            "member to below admin read the directory"
        );
        assert!(default_permissions(25).contains(&Permission::UsersRead));
        assert!(!default_permissions(30).contains(&Permission::UsersInvite));
        assert_eq!(default_permissions(40).len(), ALL_PERMISSIONS.len());
    }
}
