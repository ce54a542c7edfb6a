//! The tenant's owner (DataStream's Owner): one user, named by the config
//! file's `owner` until ownership is first handed on, then by the tenant's
//! row. Nobody disables, bans or deletes the owner — not an admin, the
//! operator, a deprovisioning job nor the identity provider — and only the
//! owner hands ownership on, to a live, enabled user of type `user`;
//! audited, with the event `tenant.owner_changed`.

use serde_json::json;

use super::tenant_settings::asset_owner;
use super::views::OwnerView;
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{Tenant, Tx, UserRecord};

impl Directory {
    /// The owner's id, read inside the write: the stored owner, else the
    /// config file's `owner` when it names a live user.
    pub(super) async fn owner_in(&self, tx: &mut Tx) -> DirectoryResult<Option<String>> {
        if let Some(id) = tx.stored_modes().await?.owner {
            return Ok(Some(id));
        }
        let Some(key) = self.modes(tx.tenant()).owner else {
            return Ok(None);
        };
        Ok(tx
            .find_user(&key)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .map(|u| u.id))
    }

    /// The owner as the admin API shows it (a read outside any write).
    pub(super) async fn owner_view(&self, tenant: &Tenant) -> DirectoryResult<Option<OwnerView>> {
        let (key, source) = match self.store.stored_modes(tenant).await?.owner {
            Some(id) => (id, "tenant"),
            None => match self.modes(tenant).owner {
                Some(key) => (key, "config"),
                None => return Ok(None),
            },
        };
        let user = self.store.user_record(tenant, &key).await?;
        Ok(user.filter(|u| u.deleted_at.is_none()).map(|u| OwnerView {
            id: u.id,
            user_name: u.user_name,
            status: u.status,
            source: source.into(),
        }))
    }

    /// The owner's id, outside any write (the console's actions).
    pub(super) async fn owner_id(&self, tenant: &Tenant) -> DirectoryResult<Option<String>> {
        Ok(self.owner_view(tenant).await?.map(|o| o.id))
    }

    /// Refuse to make the owner `what` (disabled, banned, deleted).
    pub(super) async fn owner_guard(
        &self,
        tx: &mut Tx,
        user: &UserRecord,
        what: &str,
    ) -> DirectoryResult<()> {
        if self.owner_in(tx).await?.as_deref() == Some(user.id.as_str()) {
            return Err(owner_refusal(&tx.tenant().name, &user.user_name, what));
        }
        Ok(())
    }

    /// `POST /admin/v1/tenant/owner`: the owner hands ownership on; the
    /// operator names the first owner, or with `replace` any other (the
    /// installation's way out when the owner is gone).
    pub async fn hand_on_ownership(
        &self,
        ctx: &Ctx,
        key: &str,
        replace: bool,
    ) -> DirectoryResult<OwnerView> {
        scim_protocol::text::check("user", key, scim_protocol::text::TextRule::NAME)?;
        let mut tx = self.store.write(&ctx.tenant).await?;
        let current = self.owner_in(&mut tx).await?;
        let from = match &current {
            Some(id) => tx.find_user(id).await?,
            None => None,
        };
        self.may_hand_on(ctx, current.as_deref(), replace)?;
        let to = asset_owner(&mut tx, key, "the new owner").await?;
        if current.as_deref() == Some(to.id.as_str()) {
            return Err(DirectoryError::Conflict(format!(
                "{} is already the owner of tenant \"{}\"",
                to.user_name, ctx.tenant.name
            )));
        }
        tx.set_owner(&to.id).await?;
        let who = |u: &UserRecord| json!({"id": u.id, "userName": u.user_name});
        let description = match &from {
            Some(f) => format!(
                "ownership of tenant \"{}\" handed on from {} ({}) to {} ({})",
                ctx.tenant.name, f.user_name, f.id, to.user_name, to.id
            ),
            None => format!(
                "{} ({}) made the owner of tenant \"{}\"",
                to.user_name, to.id, ctx.tenant.name
            ),
        };
        let mut change =
            self.admin_change(ctx, "owner_changed", description, "tenant.owner_changed");
        change.audit.object_type = "Tenant".into();
        change.audit.object_id = Some(ctx.tenant.name.clone());
        change.audit.object_name = Some(ctx.tenant.name.clone());
        change.event.payload = json!({
            "tenant": ctx.tenant.name,
            "from": from.as_ref().map(who),
            "to": who(&to),
        });
        tx.record(&change).await?;
        tx.commit().await?;
        Ok(OwnerView {
            id: to.id,
            user_name: to.user_name,
            status: to.status,
            source: "tenant".into(),
        })
    }

    /// Only the owner hands ownership on; the operator names the first
    /// owner, and replaces one only when told to.
    fn may_hand_on(&self, ctx: &Ctx, current: Option<&str>, replace: bool) -> DirectoryResult<()> {
        let tenant = &ctx.tenant.name;
        match (current, ctx.operator) {
            (None, true) => Ok(()),
            (Some(_), true) if replace => Ok(()),
            (Some(_), true) => Err(DirectoryError::Conflict(format!(
                "tenant \"{tenant}\" has an owner, who hands ownership on; the operator replaces them only with --replace"
            ))),
            (Some(owner), false) if ctx.actor_user_id.as_deref() == Some(owner) => Ok(()),
            (None, false) => Err(DirectoryError::Forbidden(format!(
                "tenant \"{tenant}\" has no owner yet: the operator names the first one (rollcall tenant owner, or owner in the config file)"
            ))),
            (Some(_), false) => Err(DirectoryError::Forbidden(format!(
                "only the owner of tenant \"{tenant}\" hands ownership on"
            ))),
        }
    }
}

/// The refusal of a change that would make the owner `what`.
pub(super) fn owner_refusal(tenant: &str, user_name: &str, what: &str) -> DirectoryError {
    DirectoryError::Owner(format!(
        "{user_name} is the owner of tenant \"{tenant}\" and cannot be {what}: the owner hands ownership on first (POST /admin/v1/tenant/owner)"
    ))
}
