//! Administrative lifecycle: local access settings, ban, disable, sign-ins,
//! deletion with ownership transfer, restore and purge — with the guards:
//! admin credentials act as a user of rank admin or above; nobody grants a
//! role above their own or touches a user ranked above them; nobody demotes,
//! disables, bans or deletes themself; IdP-managed attributes need the
//! tenant's `allow_local_overrides`; the last active super-admin stays.

use serde_json::json;

mod delete;
mod handover;
mod invitation;
mod purge;
mod restore;
mod settings;
mod successor;
mod user_op;

pub(crate) use handover::transferred_event;
pub(super) use purge::purge_ready;
pub(crate) use purge::{PURGED_USER, REDACTED};
pub(crate) use successor::VIEWER;
pub use successor::{Assets, SuccessorChoice};
pub use user_op::{merge_patch, UserOp};

use super::access::Permission;
use super::views::{AccessView, SignInResult, UserView};
use super::{Ctx, Directory, DirectoryError, DirectoryResult, DEFAULT_RETENTION_DAYS};
use crate::store::{Change, Event, Tx, UserRecord};
use user_op::commit_user;

pub use super::views::{AccessChange, Invitation};

impl Directory {
    pub(super) fn admin_change(
        &self,
        ctx: &Ctx,
        action: &str,
        description: String,
        event: &str,
    ) -> Change {
        Change {
            at: self.clock.now(),
            audit: ctx.audit("User", None, None, action, description),
            event: Event {
                kind: event.into(),
                object_id: None,
                payload: json!({}),
            },
            extra_events: Vec::new(),
        }
    }

    async fn find(&self, ctx: &Ctx, key: &str) -> DirectoryResult<UserRecord> {
        self.store
            .user_record(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("user {key} not found")))
    }

    pub fn render_user(&self, u: &UserRecord) -> UserView {
        UserView::from(u)
    }

    /// `GET /admin/v1/users/{id}/access`: effective access and its sources.
    pub async fn access_view(&self, ctx: &Ctx, key: &str) -> DirectoryResult<AccessView> {
        self.require(ctx, Permission::UsersEditRole).await?;
        let u = self.find(ctx, key).await?;
        Ok(AccessView::from(&u))
    }

    /// Change local access settings (type, role, plan, project roles).
    pub async fn set_access(
        &self,
        ctx: &Ctx,
        key: &str,
        change: AccessChange,
    ) -> DirectoryResult<AccessView> {
        let admin = self.acting_admin(ctx).await?;
        need_for_access(&admin, &change)?;
        let catalog = admin.catalog.clone();
        // Validate before touching anything.
        self.validate_access_change(&catalog, &admin, &change)?;
        let touches_idp =
            change.user_type.is_some() || change.role.is_some() || change.plan.is_some();
        let transfer_to = change.transfer_to.clone();
        // A JSON merge patch of the local settings, applied in the
        // transaction (two admins changing different fields both win).
        let patch = settings::local_patch(&catalog, change);
        let description = format!("local access of {key} changed: {patch}");
        let tenant = ctx.tenant.clone();
        let mut tx = self.store.write(&ctx.tenant).await?;
        let id = self
            .user_op(
                &mut tx,
                key,
                UserOp::MergeLocal { patch, transfer_to },
                |t| {
                    self.guard(&tenant, &admin, t, "change the access of")?;
                    if touches_idp {
                        self.managed_guard(&tenant, t, "type, role and plan")?;
                    }
                    Ok(())
                },
                |t, old, new| {
                    // Judge the role the change results in, however it
                    // comes about (a cleared setting, a type change …).
                    let old_rank = catalog.rank(&old.role).unwrap_or(0);
                    let new_rank = catalog.rank(&new.role).unwrap_or(0);
                    if new_rank > old_rank && new_rank > admin.rank {
                        return Err(DirectoryError::Forbidden(format!(
                            "this change would give {} the role \"{}\", above your own",
                            t.user_name, new.role
                        )));
                    }
                    if new_rank < old_rank {
                        Self::not_self(&admin, t, "demote")?;
                    }
                    Ok(())
                },
                self.admin_change(ctx, "access_changed", description, "user.updated"),
            )
            .await?;
        let rec = commit_user(tx, &id).await?;
        self.access_view(ctx, &rec.id).await
    }

    /// Ban (a local hold with a reason: the IdP cannot lift it) or unban.
    pub async fn set_ban(
        &self,
        ctx: &Ctx,
        key: &str,
        reason: Option<String>,
    ) -> DirectoryResult<UserView> {
        let admin = self.require(ctx, Permission::UsersBan).await?;
        if let Some(r) = &reason {
            scim_protocol::text::check("reason", r, scim_protocol::text::TextRule::TEXT)?;
        }
        let tenant = ctx.tenant.clone();
        let (op, action, event, what) = match reason {
            Some(r) => (
                UserOp::Ban(r.clone()),
                "banned",
                "user.banned",
                format!("banned: {r}"),
            ),
            None => (
                UserOp::Unban,
                "unbanned",
                "user.unbanned",
                "unbanned".to_string(),
            ),
        };
        let banning = matches!(op, UserOp::Ban(_));
        let mut tx = self.store.write(&ctx.tenant).await?;
        let id = self
            .user_op(
                &mut tx,
                key,
                op,
                |t| {
                    self.guard(&tenant, &admin, t, if banning { "ban" } else { "unban" })?;
                    if banning {
                        Self::not_self(&admin, t, "ban")?;
                    }
                    Ok(())
                },
                |_, _, _| Ok(()),
                self.admin_change(ctx, action, format!("user {what}"), event),
            )
            .await?;
        let rec = commit_user(tx, &id).await?;
        Ok(self.render_user(&rec))
    }

    /// Disable or enable (SCIM `active`), an IdP-managed attribute.
    pub async fn set_enabled(&self, ctx: &Ctx, key: &str, on: bool) -> DirectoryResult<UserView> {
        let admin = self.require(ctx, Permission::UsersDisable).await?;
        let tenant = ctx.tenant.clone();
        let (action, event) = if on {
            ("enabled", "user.updated")
        } else {
            ("disabled", "user.updated")
        };
        let mut tx = self.store.write(&ctx.tenant).await?;
        let id = self
            .user_op(
                &mut tx,
                key,
                UserOp::SetActive(on),
                |t| {
                    self.guard(&tenant, &admin, t, if on { "enable" } else { "disable" })?;
                    if !on {
                        Self::not_self(&admin, t, "disable")?;
                    }
                    self.managed_guard(&tenant, t, "active")
                },
                |_, _, _| Ok(()),
                self.admin_change(ctx, action, format!("user {action}"), event),
            )
            .await?;
        let rec = commit_user(tx, &id).await?;
        Ok(self.render_user(&rec))
    }

    /// The host reports a sign-in: refused for disabled, banned and deleted
    /// users; the first one turns `created` into `active`.
    pub async fn sign_in(&self, ctx: &Ctx, key: &str) -> DirectoryResult<SignInResult> {
        let u = self.find(ctx, key).await?;
        if u.deleted_at.is_some() {
            return Ok(SignInResult::refused(
                &u.id,
                "deleted",
                "the user is deleted",
            ));
        }
        let mut tx = self.store.write(&ctx.tenant).await?;
        let change = self.admin_change(
            ctx,
            "signed_in",
            "sign-in reported by the host".into(),
            "user.signed_in",
        );
        let result = self.sign_in_op(&mut tx, &u.id, change).await;
        self.finish_sign_in(ctx, tx, &u.id, result).await
    }

    /// Record a sign-in of user `id` in `tx`, unless the user is disabled
    /// or banned (`Forbidden` with the reason).
    pub(super) async fn sign_in_op(
        &self,
        tx: &mut Tx,
        id: &str,
        change: Change,
    ) -> DirectoryResult<String> {
        let check = |t: &UserRecord| match t.status.as_str() {
            "disabled" => Err(DirectoryError::Forbidden(
                "the user is disabled by the identity provider or an admin".into(),
            )),
            "banned" => Err(DirectoryError::Forbidden(format!(
                "the user is banned: {}",
                t.ban_reason.clone().unwrap_or_default()
            ))),
            _ => Ok(()),
        };
        self.user_op(tx, id, UserOp::SignIn, check, |_, _, _| Ok(()), change)
            .await
    }

    /// Commit a recorded sign-in, or answer a refused one (nothing written).
    pub(super) async fn finish_sign_in(
        &self,
        ctx: &Ctx,
        tx: Tx,
        id: &str,
        result: DirectoryResult<String>,
    ) -> DirectoryResult<SignInResult> {
        match result {
            Ok(id) => {
                let rec = commit_user(tx, &id).await?;
                Ok(SignInResult::allowed(&rec))
            }
            Err(DirectoryError::Forbidden(reason)) => {
                drop(tx);
                let status = self
                    .find(ctx, id)
                    .await
                    .map(|r| r.status)
                    .unwrap_or_default();
                Ok(SignInResult::refused(id, &status, reason))
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn successor_choice(
        &self,
        ctx: &Ctx,
        requested: Option<String>,
        by_id: bool,
    ) -> DirectoryResult<SuccessorChoice> {
        let t = self.config.policy.tenant(&ctx.tenant.name);
        Ok(SuccessorChoice {
            requested,
            fallback: self.fallback_owner(ctx).await?,
            hook: self.config.hooks.ownership_transfer_url.is_some(),
            retention_days: t.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS),
            by_id,
            delete_assets: false,
        })
    }

    /// Delete a user (SCIM DELETE or the admin API): gone from SCIM at once,
    /// then the ownership transfer (or, when an admin chose so, the
    /// deletion of the assets); restorable until the purge.
    pub async fn delete_user(
        &self,
        ctx: &Ctx,
        key: &str,
        if_match: Option<&str>,
        assets: Assets,
        admin_api: bool,
    ) -> DirectoryResult<UserView> {
        let admin = if admin_api {
            Some(self.require(ctx, Permission::UsersDelete).await?)
        } else {
            None
        };
        let tenant = ctx.tenant.clone();
        let (successor, delete_assets) = match assets {
            Assets::Transfer(to) => (to, false),
            Assets::Delete => (None, true),
        };
        // SCIM addresses users by id only; the admin API takes a userName too.
        let mut choice = self.successor_choice(ctx, successor, !admin_api).await?;
        choice.delete_assets = delete_assets;
        let mut tx = self.store.write(&ctx.tenant).await?;
        let id = self
            .soft_delete(
                &mut tx,
                key,
                if_match,
                &choice,
                |t| match &admin {
                    Some(a) => {
                        self.guard(&tenant, a, t, "delete")?;
                        Self::not_self(a, t, "delete")?;
                        self.read_only_guard(&tenant, t, "delete")
                    }
                    None => Ok(()),
                },
                self.admin_change(
                    ctx,
                    "deleted",
                    "user deleted".into(),
                    "user.deletion_requested",
                ),
            )
            .await?;
        let rec = commit_user(tx, &id).await?;
        Ok(self.render_user(&rec))
    }

    /// A SCIM DELETE of a user inside `tx` (a Bulk operation): as
    /// [`Directory::delete_user`] from SCIM, the caller commits.
    pub(super) async fn scim_delete_user_in(
        &self,
        ctx: &Ctx,
        tx: &mut Tx,
        id: &str,
        if_match: Option<&str>,
    ) -> DirectoryResult<()> {
        let choice = self.successor_choice(ctx, None, true).await?;
        let change = self.admin_change(
            ctx,
            "deleted",
            "user deleted".into(),
            "user.deletion_requested",
        );
        self.soft_delete(tx, id, if_match, &choice, |_| Ok(()), change)
            .await?;
        Ok(())
    }

    /// Name the successor of a deletion waiting for one.
    pub async fn name_successor(
        &self,
        ctx: &Ctx,
        key: &str,
        successor: String,
    ) -> DirectoryResult<UserView> {
        let admin = self.require(ctx, Permission::UsersDelete).await?;
        let choice = self
            .successor_choice(ctx, Some(successor.clone()), false)
            .await?;
        let mut change = self.admin_change(
            ctx,
            "successor_named",
            format!("successor {successor} named for the deletion"),
            "user.updated",
        );
        change.audit.object_id = Some(key.to_string());
        change.event.object_id = Some(key.to_string());
        let tenant = ctx.tenant.clone();
        let mut tx = self.store.write(&ctx.tenant).await?;
        let id = self
            .set_successor(
                &mut tx,
                key,
                &choice,
                |t| self.guard(&tenant, &admin, t, "name a successor for"),
                change,
            )
            .await?;
        let rec = commit_user(tx, &id).await?;
        Ok(self.render_user(&rec))
    }

    /// Undo a deletion before the purge.
    pub async fn restore(&self, ctx: &Ctx, key: &str) -> DirectoryResult<UserView> {
        let admin = self.require(ctx, Permission::UsersDelete).await?;
        let tenant = ctx.tenant.clone();
        let mut change =
            self.admin_change(ctx, "restored", "user restored".into(), "user.restored");
        change.audit.object_id = Some(key.to_string());
        change.event.object_id = Some(key.to_string());
        change.event.payload = json!({"id": key});
        let mut tx = self.store.write(&ctx.tenant).await?;
        let id = self
            .restore_user(
                &mut tx,
                key,
                |t| {
                    self.guard(&tenant, &admin, t, "restore")?;
                    self.read_only_guard(&tenant, t, "restore")
                },
                change,
            )
            .await?;
        let rec = commit_user(tx, &id).await?;
        Ok(self.render_user(&rec))
    }

    /// Purge a deleted user now (compliance erasure) instead of at the end of
    /// the retention window.
    pub async fn purge(&self, ctx: &Ctx, key: &str) -> DirectoryResult<()> {
        let admin = self.require(ctx, Permission::UsersPurge).await?;
        let actor = ctx.actor.clone();
        self.purge_record(&ctx.tenant, key, &actor, Some(&admin))
            .await
    }
}

/// The permissions a change of local access needs: `users.edit_type` for
/// the type, `users.edit_role` for the role and project roles,
/// `users.edit_plan` for the plan.
fn need_for_access(
    admin: &super::guards::Admin,
    change: &super::views::AccessChange,
) -> DirectoryResult<()> {
    if change.user_type.is_some() {
        admin.need(Permission::UsersEditType)?;
    }
    if change.role.is_some() || !change.projects.is_empty() {
        admin.need(Permission::UsersEditRole)?;
    }
    if change.plan.is_some() {
        admin.need(Permission::UsersEditPlan)?;
    }
    Ok(())
}
