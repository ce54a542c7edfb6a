//! Run-time tenant settings an admin changes: registrations on or off, the
//! fallback owner of leavers' assets (a live, enabled user of type `user`:
//! a viewer owns nothing), and what becomes of a user an identity provider
//! creates again after their deletion.

use super::access::Permission;
use super::{Directory, DirectoryError, DirectoryResult};
use crate::store::{Change, Tx, UserRecord};

impl Directory {
    /// Change run-time tenant settings, audited. `fallback_owner`:
    /// `Some(None)` clears it; a user key must name a live, enabled user of
    /// type `user`, checked inside the transaction. `recreate`: `hold` or
    /// `restore`, `Some(None)` clears the admin's choice.
    pub(super) async fn apply_tenant_settings(
        &self,
        tenant: &crate::store::Tenant,
        registrations: Option<bool>,
        fallback_owner: Option<Option<String>>,
        recreate: Option<Option<String>>,
        mut change: Change,
    ) -> DirectoryResult<()> {
        let recreate = recreate
            .map(|r| r.map(|w| self.recreate_choice(tenant, &w)).transpose())
            .transpose()?;
        let mut tx = self.store.write(tenant).await?;
        let mut said = Vec::new();
        if let Some(on) = registrations {
            tx.set_registrations(on).await?;
            said.push(format!("registrations {}", if on { "on" } else { "off" }));
        }
        if let Some(owner) = fallback_owner {
            let id = match owner {
                Some(key) => Some(fallback_owner_id(&mut tx, &key, &mut said).await?),
                None => {
                    said.push("fallback owner cleared".into());
                    None
                }
            };
            tx.set_fallback_owner(id.as_deref()).await?;
        }
        if let Some(choice) = recreate {
            tx.set_recreate_deleted(choice.map(|c| c.as_str())).await?;
            said.push(match choice {
                Some(c) => format!("recreate_deleted {}", c.as_str()),
                None => "recreate_deleted back to the config file's".into(),
            });
        }
        if said.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        change.audit.description = format!("tenant settings: {}", said.join(", "));
        change.event.payload = serde_json::json!({"tenant": tenant.name, "changes": said});
        tx.record(&change).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The id of the user who may be the fallback owner, or why not.
async fn fallback_owner_id(
    tx: &mut Tx,
    key: &str,
    said: &mut Vec<String>,
) -> DirectoryResult<String> {
    let u = asset_owner(tx, key, "fallback owner").await?;
    said.push(format!("fallback owner {} ({})", u.user_name, u.id));
    Ok(u.id)
}

/// The live, enabled user of type `user` `key` names — one who may own
/// the tenant or its leavers' assets (`role`: which) — or why not.
pub(super) async fn asset_owner(tx: &mut Tx, key: &str, role: &str) -> DirectoryResult<UserRecord> {
    let u = tx
        .find_user(key)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(|| {
            DirectoryError::InvalidReference(format!(
                "{role} \"{key}\" is not a live user of this tenant"
            ))
        })?;
    if u.user_type != "user" {
        return Err(DirectoryError::InvalidReference(format!(
            "{role} {} is a viewer: viewers cannot own assets",
            u.user_name
        )));
    }
    if matches!(u.status.as_str(), "disabled" | "banned") {
        return Err(DirectoryError::InvalidReference(format!(
            "{role} {} is {}",
            u.user_name, u.status
        )));
    }
    Ok(u)
}

impl Directory {
    /// What the acting admin may do about invitations and registrations,
    /// asked of the same guards `invite` and `set_tenant` apply.
    pub async fn invite_actions(
        &self,
        ctx: &super::Ctx,
    ) -> DirectoryResult<super::views::InviteActions> {
        use super::views::Permit;
        let registrations = self.store.registrations_open(&ctx.tenant).await?;
        let admin = match self.acting_admin(ctx).await {
            Ok(a) => a,
            Err(DirectoryError::Forbidden(why)) => {
                return Ok(super::views::InviteActions {
                    registrations,
                    invite: Permit::no(why.clone()),
                    toggle_registrations: Permit::no(why),
                    roles: Vec::new(),
                    plans: Vec::new(),
                })
            }
            Err(e) => return Err(e),
        };
        let invite = match admin.need(Permission::UsersInvite) {
            Err(e) => Permit::no(e.to_string()),
            Ok(()) => match self.require_registrations(ctx).await {
                Ok(()) => Permit::yes(),
                Err(e) => Permit::no(e.to_string()),
            },
        };
        let toggle_registrations = match admin.need(Permission::TenantSettings) {
            Ok(()) => Permit::yes(),
            Err(e) => Permit::no(e.to_string()),
        };
        let roles = self
            .role_catalog(&ctx.tenant)
            .await?
            .into_iter()
            .filter(|r| r.rank <= admin.rank)
            .collect();
        Ok(super::views::InviteActions {
            registrations,
            invite,
            toggle_registrations,
            roles,
            plans: admin.plans.clone(),
        })
    }
}
