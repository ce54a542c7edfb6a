//! A user an identity provider creates (SCIM POST, a Bulk POST) while a
//! deleted user with the same `externalId` or email is still restorable is
//! not silently a fresh account. By the tenant's `recreate_deleted`:
//! `restore` brings the deleted account back (same id) with the new data;
//! `hold` creates the new account held for review (a local hold naming the
//! deleted account), the deleted one staying restorable. The identity
//! provider gets its 201 either way, so provisioning does not loop.

use serde_json::{json, Map, Value};

use super::modes::{emails, RecreateDeleted};
use super::views::RecreateSetting;
use super::{Directory, DirectoryError, DirectoryResult};
use crate::store::{Change, Event, StoredResource, Tenant, Tx, UserRecord};
use scim_protocol::datetime;
use scim_protocol::schema::Kind;

impl Directory {
    /// A run-time `recreate_deleted` choice, checked.
    pub(super) fn recreate_choice(
        &self,
        tenant: &Tenant,
        word: &str,
    ) -> DirectoryResult<RecreateDeleted> {
        let choice = RecreateDeleted::parse(word).ok_or_else(|| {
            DirectoryError::Invalid(format!(
                "recreateDeleted must be hold or restore, not \"{word}\""
            ))
        })?;
        if choice == RecreateDeleted::Hold && !self.modes(tenant).local_holds {
            return Err(DirectoryError::Invalid(format!(
                "recreateDeleted hold puts a local hold, which tenant \"{}\" forbids (local_holds = false)",
                tenant.name
            )));
        }
        Ok(choice)
    }

    /// The re-create rule in force and who chose it.
    pub(super) async fn recreate_setting(
        &self,
        tenant: &Tenant,
    ) -> DirectoryResult<RecreateSetting> {
        let stored = self.store.stored_modes(tenant).await?.recreate_deleted;
        Ok(self.recreate_in_force(tenant, stored.as_deref()))
    }

    fn recreate_in_force(&self, tenant: &Tenant, stored: Option<&str>) -> RecreateSetting {
        let modes = self.modes(tenant);
        let (value, source) = match (
            stored.and_then(RecreateDeleted::parse),
            modes.recreate_deleted,
        ) {
            (Some(v), _) => (v, "admin"),
            (None, Some(v)) => (v, "config"),
            (None, None) => (modes.default_recreate(), "default"),
        };
        RecreateSetting {
            value,
            source: source.into(),
        }
    }

    /// Create the user `id` from `data` in `tx` — or, when the identity
    /// provider is creating a deleted user again, restore or hold as the
    /// tenant says.
    pub(super) async fn create_user(
        &self,
        tx: &mut Tx,
        id: &str,
        data: &Map<String, Value>,
        change: &Change,
    ) -> DirectoryResult<StoredResource> {
        let Some(gone) = self.recreated(tx, data, change).await? else {
            return self
                .insert_resource(Kind::User, tx, id, data, &[], change)
                .await;
        };
        // Restoring or holding writes what a run of creates read ahead.
        tx.forget_prefetched();
        let stored = tx.stored_modes().await?.recreate_deleted;
        match self.recreate_in_force(tx.tenant(), stored.as_deref()).value {
            RecreateDeleted::Restore => self.restore_recreated(tx, &gone, data, change).await,
            RecreateDeleted::Hold => self.hold_recreated(tx, id, &gone, data, change).await,
        }
    }

    /// The deleted user, still restorable, whom `data` creates again: the
    /// latest deleted with its `externalId` (exactly) or one of its emails.
    async fn recreated(
        &self,
        tx: &mut Tx,
        data: &Map<String, Value>,
        change: &Change,
    ) -> DirectoryResult<Option<UserRecord>> {
        let external_id = data.get("externalId").and_then(Value::as_str);
        let folded: Vec<String> = emails(data).into_iter().map(|(f, _)| f).collect();
        let now = datetime::format(change.at);
        Ok(tx
            .deleted_matching(external_id, &folded)
            .await?
            .into_iter()
            .find(|u| u.purge_after.as_deref().is_none_or(|p| p > now.as_str())))
    }

    /// `restore`: the deleted account comes back with the data sent.
    async fn restore_recreated(
        &self,
        tx: &mut Tx,
        gone: &UserRecord,
        data: &Map<String, Value>,
        change: &Change,
    ) -> DirectoryResult<StoredResource> {
        let at = datetime::format(change.at);
        // The new data first, so that the restore judges the userName and
        // the emails the identity provider sends now.
        tx.update_user_data(gone.pk, &gone.data, data, gone.version + 1, &at)
            .await?;
        tx.replace_user_values(gone.pk, &gone.data, data).await?;
        let name = data
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut c = change.clone();
        c.audit.action = "restored".into();
        c.audit.object_id = Some(gone.id.clone());
        c.audit.object_name = Some(name.to_string());
        c.audit.description = format!(
            "user \"{name}\" restored: the identity provider created it again ({}) while the deletion of {} was restorable",
            matched_by(gone, data),
            gone.id
        );
        c.event = Event {
            kind: "user.restored".into(),
            object_id: Some(gone.id.clone()),
            payload: json!({"id": gone.id, "userName": name, "recreated": true}),
        };
        self.restore_user(tx, &gone.id, |_| Ok(()), c).await?;
        tx.fetch(Kind::User, &gone.id).await?.ok_or_else(|| {
            DirectoryError::Internal(format!("user {} vanished in its restore", gone.id))
        })
    }

    /// `hold`: a new account, held for review (a local hold the identity
    /// provider cannot lift, naming the deleted account by id only: its
    /// personal data goes with its purge).
    async fn hold_recreated(
        &self,
        tx: &mut Tx,
        id: &str,
        gone: &UserRecord,
        data: &Map<String, Value>,
        change: &Change,
    ) -> DirectoryResult<StoredResource> {
        let mut stored = self
            .insert_resource(Kind::User, tx, id, data, &[], change)
            .await?;
        let until = match &gone.purge_after {
            Some(p) => format!("until {p}"),
            None => "(its ownership transfer is not finished)".into(),
        };
        let reason = format!(
            "held for review: the identity provider created this user again ({}) while the deleted account {} (deleted {}) is restorable {until}; lift this hold, or delete this user and restore that one",
            matched_by(gone, data),
            gone.id,
            gone.deleted_at.as_deref().unwrap_or_default()
        );
        let at = datetime::format(change.at);
        tx.set_ban(stored.pk, &at, &reason).await?;
        let mut hold = change.clone();
        hold.audit.action = "banned".into();
        hold.audit.description = format!("user banned: {reason}");
        hold.event = Event {
            kind: "user.banned".into(),
            object_id: Some(id.to_string()),
            payload: json!({"id": id, "reason": reason, "deletedUser": {"id": gone.id}}),
        };
        tx.record(&hold).await?;
        let (status, access) = tx.user_status_access(stored.pk).await?;
        stored.status = Some(status);
        stored.access = access;
        Ok(stored)
    }
}

/// What the new user shares with the deleted one, in words.
fn matched_by(gone: &UserRecord, data: &Map<String, Value>) -> &'static str {
    let ext = |d: &Map<String, Value>| {
        d.get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match ext(data).is_some() && ext(data) == ext(&gone.data) {
        true => "same externalId",
        false => "same email",
    }
}
