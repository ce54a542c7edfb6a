//! A tenant's modes besides its access policy: a read-only directory (and
//! whether local holds stay possible in it), unique emails, the status
//! words `enabled` and `passive`, and what becomes of a user an identity
//! provider creates again after their deletion (decided in `recreate.rs`;
//! the owner is in `owner.rs`). Each guard runs inside the write
//! transaction of the change it judges.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lifecycle::UserOp;
use super::{Directory, DirectoryError, DirectoryResult};
use crate::store::{fold, Tenant, Tx, UserRecord};
use scim_filter_parser::CompareOp;
use scim_protocol::filter::{Cond, Operand};
use scim_protocol::schema::URN_ACCESS;

/// Whether admins change the users an identity provider manages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DirectoryMode {
    /// Admins change users within the guards (the default).
    #[default]
    ReadWrite,
    /// The users an identity provider manages change only there.
    ReadOnly,
}

impl DirectoryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryMode::ReadWrite => "read-write",
            DirectoryMode::ReadOnly => "read-only",
        }
    }
}

/// What becomes of a user an identity provider creates again while a
/// deleted user with the same `externalId` or email is still restorable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecreateDeleted {
    /// A new account, held (banned) for review; the deleted one stays
    /// restorable.
    Hold,
    /// The deleted account comes back (same id), with the new data.
    Restore,
}

impl RecreateDeleted {
    pub fn as_str(self) -> &'static str {
        match self {
            RecreateDeleted::Hold => "hold",
            RecreateDeleted::Restore => "restore",
        }
    }

    /// The stored word; None for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hold" => Some(RecreateDeleted::Hold),
            "restore" => Some(RecreateDeleted::Restore),
            _ => None,
        }
    }
}

/// The modes a tenant's configuration sets (`[tenants.NAME]`).
#[derive(Debug, Clone, PartialEq)]
pub struct TenantModes {
    /// The first owner (userName or id) until ownership is handed on.
    pub owner: Option<String>,
    pub directory_mode: DirectoryMode,
    /// Whether IdP-managed users may be banned and unbanned locally.
    pub local_holds: bool,
    pub unique_emails: bool,
    /// The config file's choice; an admin's run-time choice beats it.
    pub recreate_deleted: Option<RecreateDeleted>,
}

impl Default for TenantModes {
    fn default() -> Self {
        TenantModes {
            owner: None,
            directory_mode: DirectoryMode::ReadWrite,
            local_holds: true,
            unique_emails: false,
            recreate_deleted: None,
        }
    }
}

impl TenantModes {
    /// Refuse settings that contradict each other, once, at start.
    pub fn validate(&self, tenant: &str, allow_local_overrides: bool) -> Result<(), String> {
        if self.read_only() && allow_local_overrides {
            return Err(format!(
                "tenant {tenant}: directory_mode = \"read-only\" and allow_local_overrides = true contradict each other (read-only refuses every local change of IdP-managed users); drop one"
            ));
        }
        if !self.local_holds && self.recreate_deleted == Some(RecreateDeleted::Hold) {
            return Err(format!(
                "tenant {tenant}: recreate_deleted = \"hold\" puts a local hold, which local_holds = false forbids; use \"restore\""
            ));
        }
        if let Some(o) = &self.owner {
            scim_protocol::text::check("owner", o, scim_protocol::text::TextRule::NAME)
                .map_err(|e| format!("tenant {tenant}: {}", e.detail))?;
        }
        Ok(())
    }

    pub fn read_only(&self) -> bool {
        self.directory_mode == DirectoryMode::ReadOnly
    }

    /// What a re-create does when no admin chose: the config file's
    /// choice, else `hold` (`restore` when local holds are off).
    pub fn default_recreate(&self) -> RecreateDeleted {
        match (self.recreate_deleted, self.local_holds) {
            (Some(r), _) => r,
            (None, true) => RecreateDeleted::Hold,
            (None, false) => RecreateDeleted::Restore,
        }
    }
}

impl Directory {
    /// Whether the tenant's directory is read-only (the console says so).
    pub fn directory_mode(&self, tenant: &Tenant) -> DirectoryMode {
        self.modes(tenant).directory_mode
    }

    /// The tenant's configured modes.
    pub(super) fn modes(&self, tenant: &Tenant) -> TenantModes {
        self.config
            .policy
            .modes
            .get(&tenant.name)
            .cloned()
            .unwrap_or_default()
    }

    /// A read-only directory changes IdP-managed users only at the IdP.
    pub(super) fn read_only_guard(
        &self,
        tenant: &Tenant,
        target: &UserRecord,
        what: &str,
    ) -> DirectoryResult<()> {
        if target.managed && self.modes(tenant).read_only() {
            return Err(DirectoryError::ReadOnly(format!(
                "cannot {what} {}: the directory of tenant \"{}\" is read-only (directory_mode = \"read-only\") and the user is managed by the identity provider; change it there",
                target.user_name, tenant.name
            )));
        }
        Ok(())
    }

    /// Without local holds, who may sign in is the IdP's alone.
    pub(super) fn holds_guard(
        &self,
        tenant: &Tenant,
        target: &UserRecord,
        what: &str,
    ) -> DirectoryResult<()> {
        if target.managed && !self.modes(tenant).local_holds {
            return Err(DirectoryError::ReadOnly(format!(
                "cannot {what} {}: tenant \"{}\" takes no local holds on users its identity provider manages (local_holds = false); deactivate them there",
                target.user_name, tenant.name
            )));
        }
        Ok(())
    }

    /// The tenant's modes on one administrative operation, inside its
    /// transaction: the owner is never disabled or banned; a read-only
    /// directory changes no IdP-managed user; holds need `local_holds`.
    pub(super) async fn op_guards(
        &self,
        tx: &mut Tx,
        user: &UserRecord,
        op: &UserOp,
    ) -> DirectoryResult<()> {
        let tenant = tx.tenant().clone();
        match op {
            UserOp::Ban(_) => {
                self.owner_guard(tx, user, "banned").await?;
                self.holds_guard(&tenant, user, "ban")
            }
            UserOp::Unban => self.holds_guard(&tenant, user, "unban"),
            UserOp::SetActive(on) => {
                if !on {
                    self.owner_guard(tx, user, "disabled").await?;
                }
                let what = if *on { "enable" } else { "disable" };
                self.read_only_guard(&tenant, user, what)
            }
            UserOp::MergeLocal { .. } => {
                self.read_only_guard(&tenant, user, "change the access of")
            }
            UserOp::SignIn => Ok(()),
        }
    }

    /// With `unique_emails`, no two live users share an email (folded, as
    /// every case-insensitive comparison): refuse the emails `data` gives
    /// user `except_pk` — those `old` did not have — that another live
    /// user has.
    pub(super) async fn check_unique_emails(
        &self,
        tx: &mut Tx,
        old: Option<&Map<String, Value>>,
        data: &Map<String, Value>,
        except_pk: Option<i64>,
    ) -> DirectoryResult<()> {
        if !self.modes(tx.tenant()).unique_emails {
            return Ok(());
        }
        let had: BTreeSet<String> = old
            .map(|o| emails(o).into_iter().map(|(f, _)| f).collect())
            .unwrap_or_default();
        let mut fresh: Vec<(String, String)> = emails(data)
            .into_iter()
            .filter(|(f, _)| !had.contains(f))
            .collect();
        fresh.dedup_by(|a, b| a.0 == b.0);
        if fresh.is_empty() {
            return Ok(());
        }
        let folded: Vec<String> = fresh.iter().map(|(f, _)| f.clone()).collect();
        if let Some((other, taken)) = tx.email_holder(&folded, except_pk).await? {
            let shown = fresh
                .iter()
                .find(|(f, _)| *f == taken)
                .map(|(_, v)| v.as_str())
                .unwrap_or(taken.as_str());
            return Err(DirectoryError::Uniqueness(format!(
                "email \"{shown}\" is already taken by user {other}: each email is unique within tenant \"{}\" (unique_emails)",
                tx.tenant().name
            )));
        }
        Ok(())
    }
}

/// A user's emails: (folded, as given), sorted by the folded value.
pub(super) fn emails(data: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = data
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .filter(|v| !v.trim().is_empty())
        .map(|v| (fold(v), v.to_string()))
        .collect();
    out.sort();
    out
}

/// The words a status filter takes besides the statuses themselves:
/// `enabled` is every status but disabled, banned and deleted; `passive`
/// is `disabled` (DataStream's word).
pub const STATUS_WORDS: [(&str, &[&str]); 2] = [
    ("enabled", &["invited", "created", "active"]),
    ("passive", &["disabled"]),
];

/// The statuses a status word means (None: not a word).
pub fn status_word(word: &str) -> Option<&'static [&'static str]> {
    STATUS_WORDS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, statuses)| *statuses)
}

/// A SCIM filter with `…access:2.0:User:status eq "enabled"` (or `ne`, or
/// `passive`) turned into the statuses the word means.
pub fn expand_status_words(cond: Cond) -> Cond {
    match cond {
        Cond::And(a, b) => Cond::And(
            Box::new(expand_status_words(*a)),
            Box::new(expand_status_words(*b)),
        ),
        Cond::Or(a, b) => Cond::Or(
            Box::new(expand_status_words(*a)),
            Box::new(expand_status_words(*b)),
        ),
        Cond::Not(a) => Cond::Not(Box::new(expand_status_words(*a))),
        Cond::Cmp {
            field,
            op: op @ (CompareOp::Eq | CompareOp::Ne),
            value: Operand::Str(word),
        } if field.extension.as_deref() == Some(URN_ACCESS)
            && field.attr == "status"
            && field.sub.is_none()
            && status_word(&word).is_some() =>
        {
            let statuses = status_word(&word).unwrap_or_default();
            let any = statuses
                .iter()
                .map(|s| Cond::Cmp {
                    field: field.clone(),
                    op: CompareOp::Eq,
                    value: Operand::Str(s.to_string()),
                })
                .reduce(|a, b| Cond::Or(Box::new(a), Box::new(b)))
                .unwrap_or(Cond::False);
            match op {
                CompareOp::Ne => Cond::Not(Box::new(any)),
                _ => any,
            }
        }
        other => other,
    }
}

impl Directory {
    /// A SCIM PUT or PATCH of a user, inside its transaction: the owner is
    /// not deactivated (409: the IdP is told, and hands ownership on
    /// first); the emails it adds are unique when the tenant says so.
    pub(super) async fn user_update_guards(
        &self,
        tx: &mut Tx,
        current: &crate::store::StoredResource,
        data: &Map<String, Value>,
    ) -> DirectoryResult<()> {
        let active =
            |m: &Map<String, Value>| m.get("active").and_then(Value::as_bool) != Some(false);
        if active(&current.data)
            && !active(data)
            && self.owner_in(tx).await?.as_deref() == Some(current.id.as_str())
        {
            let name = current
                .data
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(super::owner::owner_refusal(
                &tx.tenant().name,
                name,
                "deactivated",
            ));
        }
        self.check_unique_emails(tx, Some(&current.data), data, Some(current.pk))
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use scim_protocol::filter::Field;
    use scim_protocol::schema::AttrType;

    fn status(op: CompareOp, v: &str) -> Cond {
        Cond::Cmp {
            field: Field {
                extension: Some(URN_ACCESS.into()),
                attr: "status".into(),
                sub: None,
                ty: AttrType::String,
                case_exact: false,
                in_element: false,
            },
            op,
            value: Operand::Str(v.into()),
        }
    }

    #[test]
    fn status_words_become_the_statuses_they_mean() {
        let or = |a: Cond, b: Cond| Cond::Or(Box::new(a), Box::new(b));
        let enabled = or(
            or(
                status(CompareOp::Eq, "invited"),
                status(CompareOp::Eq, "created"),
            ),
            status(CompareOp::Eq, "active"),
        );
        assert_eq!(
            expand_status_words(status(CompareOp::Eq, "enabled")),
            enabled
        );
        assert_eq!(
            expand_status_words(status(CompareOp::Ne, "enabled")),
            Cond::Not(Box::new(enabled))
        );
        assert_eq!(
            expand_status_words(status(CompareOp::Eq, "passive")),
            status(CompareOp::Eq, "disabled")
        );
        // Statuses, other operators and other attributes stay as they are.
        for c in [
            status(CompareOp::Eq, "banned"),
            status(CompareOp::Sw, "enabled"),
        ] {
            assert_eq!(expand_status_words(c.clone()), c);
        }
        assert_eq!(
            status_word("Enabled"),
            None,
            "filters fold first; the list lowercases"
        );
    }

    #[test]
    fn the_recreate_default_follows_local_holds() {
        let mut m = TenantModes::default();
        assert_eq!(m.default_recreate(), RecreateDeleted::Hold);
        m.local_holds = false;
        assert_eq!(m.default_recreate(), RecreateDeleted::Restore);
        m.recreate_deleted = Some(RecreateDeleted::Hold);
        assert!(m.validate("t", false).is_err());
        let ro = TenantModes {
            directory_mode: DirectoryMode::ReadOnly,
            ..TenantModes::default()
        };
        assert!(ro.validate("t", true).is_err());
        assert!(ro.validate("t", false).is_ok());
    }
}
