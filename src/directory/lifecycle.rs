//! Administrative lifecycle: local access settings, ban, disable, sign-ins,
//! deletion with ownership transfer, restore and purge — with the guards:
//! admin credentials act as a user of rank admin or above; nobody grants a
//! role above their own or touches a user ranked above them; nobody demotes,
//! disables, bans or deletes themself; IdP-managed attributes need the
//! tenant's `allow_local_overrides`; the last active super-admin stays.

use serde::Deserialize;
use serde_json::{json, Value};

use super::access::{ADMIN_RANK, PROJECT_ROLES};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{
    AuditEntry, Change, Event, StoreError, SuccessorChoice, Tenant, UserOp, UserRecord,
};

/// A local access change from the admin API. Absent fields stay; `null`
/// clears a local setting.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessChange {
    #[serde(rename = "type", default, with = "double_option")]
    pub user_type: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    pub role: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    pub plan: Option<Option<String>>,
    /// Project → role (`owner`, `editor`, `operator`, `read-only`, `none`), or
    /// `null` to drop the local setting for that project.
    #[serde(default)]
    pub projects: std::collections::BTreeMap<String, Option<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// An invitation from the admin API.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Invitation {
    pub user_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    pub role: Option<String>,
    pub plan: Option<String>,
}

/// The acting admin user.
pub(super) struct Admin {
    pub(super) id: String,
    pub(super) rank: i64,
}

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
            audit: AuditEntry {
                actor: ctx.actor.clone(),
                actor_user_id: ctx.actor_user_id.clone(),
                source_ip: ctx.source_ip.clone(),
                request_id: ctx.request_id.clone(),
                object_type: "User".into(),
                object_id: None,
                object_name: None,
                action: action.into(),
                description,
            },
            event: Event {
                kind: event.into(),
                object_id: None,
                payload: json!({}),
            },
            extra_events: Vec::new(),
        }
    }

    /// The admin user behind admin credentials, checked: live, not disabled
    /// or banned, and ranked admin or above.
    pub(super) async fn require_admin(&self, ctx: &Ctx) -> DirectoryResult<Admin> {
        if ctx.operator {
            return Ok(Admin {
                id: String::new(),
                rank: i64::MAX,
            });
        }
        let Some(uid) = &ctx.actor_user_id else {
            return Err(DirectoryError::Forbidden(
                "this change needs admin credentials bound to an admin user (rollcall token create --user)".into(),
            ));
        };
        let me = self
            .store
            .user_record(&ctx.tenant, uid)
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or_else(|| {
                DirectoryError::Forbidden("the admin user of this token no longer exists".into())
            })?;
        if me.status == "disabled" || me.status == "banned" {
            return Err(DirectoryError::Forbidden(format!(
                "the admin user of this token is {}",
                me.status
            )));
        }
        let rank = self
            .policy()
            .catalog(&ctx.tenant.name)
            .rank(&me.role)
            .unwrap_or(0);
        if rank < ADMIN_RANK {
            return Err(DirectoryError::Forbidden(format!(
                "role \"{}\" cannot administer users: admin or above is needed",
                me.role
            )));
        }
        Ok(Admin { id: me.id, rank })
    }

    fn policy(&self) -> &super::access::Policy {
        &self.config.policy
    }

    /// Guards common to every admin change of `target`.
    pub(super) fn guard(
        &self,
        tenant: &Tenant,
        admin: &Admin,
        target: &UserRecord,
        what: &str,
    ) -> Result<(), StoreError> {
        let rank = self
            .policy()
            .catalog(&tenant.name)
            .rank(&target.role)
            .unwrap_or(0);
        if target.id != admin.id && rank > admin.rank {
            return Err(StoreError::Forbidden(format!(
                "cannot {what} {}: their role \"{}\" is above your own",
                target.user_name, target.role
            )));
        }
        Ok(())
    }

    pub(super) fn not_self(
        admin: &Admin,
        target: &UserRecord,
        what: &str,
    ) -> Result<(), StoreError> {
        if target.id == admin.id {
            return Err(StoreError::Forbidden(format!("you cannot {what} yourself")));
        }
        Ok(())
    }

    pub(super) fn managed_guard(
        &self,
        tenant: &Tenant,
        target: &UserRecord,
        attr: &str,
    ) -> Result<(), StoreError> {
        if target.managed && !self.policy().tenant(&tenant.name).allow_local_overrides {
            return Err(StoreError::Forbidden(format!(
                "{attr} of {} is managed by the identity provider; change it there, or set allow_local_overrides for tenant \"{}\"",
                target.user_name, tenant.name
            )));
        }
        Ok(())
    }

    /// The admin view of one user.
    pub async fn user_view(&self, ctx: &Ctx, key: &str) -> DirectoryResult<Value> {
        let u = self.find(ctx, key).await?;
        Ok(self.render_user(&u))
    }

    async fn find(&self, ctx: &Ctx, key: &str) -> DirectoryResult<UserRecord> {
        self.store
            .user_record(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("user {key} not found")))
    }

    pub fn render_user(&self, u: &UserRecord) -> Value {
        json!({
            "id": u.id,
            "userName": u.user_name,
            "status": u.status,
            "type": u.user_type,
            "role": u.role,
            "plan": u.plan,
            "managed": u.managed,
            "local": u.local,
            "firstSignIn": u.signed_in_at,
            "lastSignIn": u.last_sign_in_at,
            "ban": u.banned_at.as_ref().map(|at| json!({"at": at, "reason": u.ban_reason})),
            "deletion": u.deletion,
            "deletedAt": u.deleted_at,
            "purgeAfter": u.purge_after,
            "version": u.version,
            "created": u.created,
            "lastModified": u.last_modified,
        })
    }

    /// `GET /admin/v1/users/{id}/access`: effective access and its sources.
    pub async fn access_view(&self, ctx: &Ctx, key: &str) -> DirectoryResult<Value> {
        let u = self.find(ctx, key).await?;
        let mut out = u.access.clone();
        out["id"] = json!(u.id);
        out["userName"] = json!(u.user_name);
        out["status"] = json!(u.status);
        out["signInAllowed"] = json!(matches!(
            u.status.as_str(),
            "created" | "active" | "invited"
        ));
        Ok(out)
    }

    /// Change local access settings (type, role, plan, project roles).
    pub async fn set_access(
        &self,
        ctx: &Ctx,
        key: &str,
        change: AccessChange,
    ) -> DirectoryResult<Value> {
        let admin = self.require_admin(ctx).await?;
        let catalog = self.policy().catalog(&ctx.tenant.name);
        // Validate before touching anything.
        if let Some(Some(t)) = &change.user_type {
            if t != "user" && t != "viewer" {
                return Err(DirectoryError::Invalid(format!(
                    "type must be user or viewer, not \"{t}\""
                )));
            }
        }
        if let Some(Some(r)) = &change.role {
            let rank = catalog.rank(r).ok_or_else(|| {
                DirectoryError::Invalid(format!(
                    "unknown role \"{r}\"; the catalog has {}",
                    catalog
                        .list()
                        .iter()
                        .filter_map(|v| v["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if rank > admin.rank {
                return Err(DirectoryError::Forbidden(format!(
                    "you cannot grant \"{r}\": it is above your own role"
                )));
            }
        }
        if let Some(Some(p)) = &change.plan {
            let plans = &self.policy().plans;
            if !plans.is_empty() && !plans.contains(p) {
                return Err(DirectoryError::Invalid(format!(
                    "unknown plan \"{p}\"; plans: {}",
                    plans.join(", ")
                )));
            }
        }
        for (p, r) in &change.projects {
            if let Some(r) = r {
                if r != "none" && !PROJECT_ROLES.contains(&r.as_str()) {
                    return Err(DirectoryError::Invalid(format!(
                        "project {p}: unknown project role \"{r}\" (owner, editor, operator, read-only, none)"
                    )));
                }
            }
        }
        // A JSON merge patch of the local settings, applied in the
        // transaction (two admins changing different fields both win).
        let mut patch = serde_json::Map::new();
        let touches_idp =
            change.user_type.is_some() || change.role.is_some() || change.plan.is_some();
        if let Some(t) = change.user_type {
            patch.insert("type".into(), t.map(Value::String).unwrap_or(Value::Null));
        }
        if let Some(r) = change.role {
            let r = r.map(|r| catalog.canonical(&r).unwrap_or(&r).to_string());
            patch.insert("role".into(), r.map(Value::String).unwrap_or(Value::Null));
        }
        if let Some(p) = change.plan {
            patch.insert("plan".into(), p.map(Value::String).unwrap_or(Value::Null));
        }
        if !change.projects.is_empty() {
            let projects: serde_json::Map<String, Value> = change
                .projects
                .into_iter()
                .map(|(p, r)| (p, r.map(Value::String).unwrap_or(Value::Null)))
                .collect();
            patch.insert("projects".into(), Value::Object(projects));
        }
        let patch = Value::Object(patch);
        let description = format!("local access of {key} changed: {patch}");
        let tenant = ctx.tenant.clone();
        let rec = self
            .store
            .user_op(
                &ctx.tenant,
                key,
                UserOp::MergeLocal(patch),
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
                        return Err(StoreError::Forbidden(format!(
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
        self.access_view(ctx, &rec.id).await
    }

    /// Invite a user (status `invited` until the first sign-in). Not managed
    /// by an IdP: its type, role and plan are local settings.
    pub async fn invite(&self, ctx: &Ctx, inv: Invitation) -> DirectoryResult<Value> {
        let admin = self.require_admin(ctx).await?;
        self.require_registrations(ctx).await?;
        let name = inv.user_name.trim().to_string();
        if name.is_empty() {
            return Err(DirectoryError::Invalid("userName must not be empty".into()));
        }
        let mut local = serde_json::Map::new();
        let catalog = self.policy().catalog(&ctx.tenant.name);
        if let Some(t) = inv.user_type {
            if t != "user" && t != "viewer" {
                return Err(DirectoryError::Invalid(format!(
                    "type must be user or viewer, not \"{t}\""
                )));
            }
            local.insert("type".into(), Value::String(t));
        }
        if let Some(r) = inv.role {
            let canonical = catalog
                .canonical(&r)
                .ok_or_else(|| DirectoryError::Invalid(format!("unknown role \"{r}\"")))?;
            local.insert("role".into(), Value::String(canonical.to_string()));
        }
        if let Some(p) = inv.plan {
            let plans = &self.policy().plans;
            if !plans.is_empty() && !plans.contains(&p) {
                return Err(DirectoryError::Invalid(format!("unknown plan \"{p}\"")));
            }
            local.insert("plan".into(), Value::String(p));
        }
        let mut data = serde_json::Map::new();
        data.insert("schemas".into(), json!([crate::scim::schema::URN_USER]));
        data.insert("userName".into(), Value::String(name.clone()));
        if let Some(d) = inv.display_name {
            data.insert("displayName".into(), Value::String(d));
        }
        if let Some(e) = inv.email {
            data.insert(
                "emails".into(),
                json!([{"value": e, "type": "work", "primary": true}]),
            );
        }
        let id = self.ids.new_id();
        let token = super::tokens::invitation_secret();
        let link = self.invite_link(&token);
        let mut change = self.admin_change(
            ctx,
            "invited",
            format!("user \"{name}\" invited"),
            "user.invited",
        );
        change.audit.object_id = Some(id.clone());
        change.audit.object_name = Some(name.clone());
        change.event.object_id = Some(id.clone());
        change.event.payload = json!({"id": id, "userName": name, "inviteLink": link});
        let rec = self
            .store
            .invite_user(
                &ctx.tenant,
                &id,
                &data,
                &Value::Object(local),
                &hex::encode(super::tokens::hash(&token)),
                |a| {
                    let rank = catalog.rank(&a.role).unwrap_or(0);
                    if rank > admin.rank {
                        return Err(StoreError::Forbidden(format!(
                            "you cannot invite a user as \"{}\": it is above your own role",
                            a.role
                        )));
                    }
                    Ok(())
                },
                &change,
            )
            .await?;
        let mut out = self.render_user(&rec);
        out["inviteLink"] = json!(link);
        Ok(out)
    }

    /// Ban (a local hold with a reason: the IdP cannot lift it) or unban.
    pub async fn set_ban(
        &self,
        ctx: &Ctx,
        key: &str,
        reason: Option<String>,
    ) -> DirectoryResult<Value> {
        let admin = self.require_admin(ctx).await?;
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
        let rec = self
            .store
            .user_op(
                &ctx.tenant,
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
        Ok(self.render_user(&rec))
    }

    /// Disable or enable (SCIM `active`), an IdP-managed attribute.
    pub async fn set_enabled(&self, ctx: &Ctx, key: &str, on: bool) -> DirectoryResult<Value> {
        let admin = self.require_admin(ctx).await?;
        let tenant = ctx.tenant.clone();
        let (action, event) = if on {
            ("enabled", "user.updated")
        } else {
            ("disabled", "user.updated")
        };
        let rec = self
            .store
            .user_op(
                &ctx.tenant,
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
        Ok(self.render_user(&rec))
    }

    /// The host reports a sign-in: refused for disabled, banned and deleted
    /// users; the first one turns `created` into `active`.
    pub async fn sign_in(&self, ctx: &Ctx, key: &str) -> DirectoryResult<Value> {
        let u = self.find(ctx, key).await?;
        if u.deleted_at.is_some() {
            return Ok(
                json!({"allowed": false, "id": u.id, "status": "deleted", "reason": "the user is deleted"}),
            );
        }
        let refused = |status: &str, reason: String| json!({"allowed": false, "id": u.id, "status": status, "reason": reason});
        let result = self
            .store
            .user_op(
                &ctx.tenant,
                &u.id,
                UserOp::SignIn,
                |t| match t.status.as_str() {
                    "disabled" => Err(StoreError::Forbidden(
                        "the user is disabled by the identity provider or an admin".into(),
                    )),
                    "banned" => Err(StoreError::Forbidden(format!(
                        "the user is banned: {}",
                        t.ban_reason.clone().unwrap_or_default()
                    ))),
                    _ => Ok(()),
                },
                |_, _, _| Ok(()),
                self.admin_change(
                    ctx,
                    "signed_in",
                    "sign-in reported by the host".into(),
                    "user.signed_in",
                ),
            )
            .await;
        match result {
            Ok(rec) => Ok(
                json!({"allowed": true, "id": rec.id, "status": rec.status, "firstSignIn": rec.signed_in_at, "lastSignIn": rec.last_sign_in_at}),
            ),
            Err(StoreError::Forbidden(reason)) => {
                let status = self
                    .find(ctx, &u.id)
                    .await
                    .map(|r| r.status)
                    .unwrap_or_default();
                Ok(refused(&status, reason))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn successor_choice(
        &self,
        ctx: &Ctx,
        requested: Option<String>,
        by_id: bool,
    ) -> DirectoryResult<SuccessorChoice> {
        let t = self.policy().tenant(&ctx.tenant.name);
        Ok(SuccessorChoice {
            requested,
            fallback: self.fallback_owner(ctx).await?,
            hook: self.config.hooks.ownership_transfer_url.is_some(),
            retention_days: t.retention_days.unwrap_or(14),
            by_id,
        })
    }

    /// Delete a user (SCIM DELETE or the admin API): gone from SCIM at once,
    /// then the ownership transfer; restorable until the purge.
    pub async fn delete_user(
        &self,
        ctx: &Ctx,
        key: &str,
        if_match: Option<&str>,
        successor: Option<String>,
        admin_api: bool,
    ) -> DirectoryResult<Value> {
        let admin = if admin_api {
            Some(self.require_admin(ctx).await?)
        } else {
            None
        };
        let tenant = ctx.tenant.clone();
        // SCIM addresses users by id only; the admin API takes a userName too.
        let choice = self.successor_choice(ctx, successor, !admin_api).await?;
        let rec = self
            .store
            .delete_user(
                &ctx.tenant,
                key,
                if_match,
                &choice,
                |t| match &admin {
                    Some(a) => {
                        self.guard(&tenant, a, t, "delete")?;
                        Self::not_self(a, t, "delete")
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
        Ok(self.render_user(&rec))
    }

    /// Name the successor of a deletion waiting for one.
    pub async fn name_successor(
        &self,
        ctx: &Ctx,
        key: &str,
        successor: String,
    ) -> DirectoryResult<Value> {
        let admin = self.require_admin(ctx).await?;
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
        let rec = self
            .store
            .set_successor(
                &ctx.tenant,
                key,
                &choice,
                |t| self.guard(&tenant, &admin, t, "name a successor for"),
                change,
            )
            .await?;
        Ok(self.render_user(&rec))
    }

    /// Undo a deletion before the purge.
    pub async fn restore(&self, ctx: &Ctx, key: &str) -> DirectoryResult<Value> {
        let admin = self.require_admin(ctx).await?;
        let tenant = ctx.tenant.clone();
        let mut change =
            self.admin_change(ctx, "restored", "user restored".into(), "user.restored");
        change.audit.object_id = Some(key.to_string());
        change.event.object_id = Some(key.to_string());
        change.event.payload = json!({"id": key});
        let rec = self
            .store
            .restore_user(
                &ctx.tenant,
                key,
                |t| self.guard(&tenant, &admin, t, "restore"),
                change,
            )
            .await?;
        Ok(self.render_user(&rec))
    }

    /// Purge a deleted user now (compliance erasure) instead of at the end of
    /// the retention window.
    pub async fn purge(&self, ctx: &Ctx, key: &str) -> DirectoryResult<()> {
        let admin = self.require_admin(ctx).await?;
        let actor = ctx.actor.clone();
        self.purge_record(&ctx.tenant, key, &actor, Some(&admin))
            .await
    }

    pub(super) async fn purge_record(
        &self,
        tenant: &Tenant,
        id: &str,
        actor: &str,
        admin: Option<&Admin>,
    ) -> DirectoryResult<()> {
        let change = Change {
            at: self.clock.now(),
            audit: AuditEntry {
                actor: actor.into(),
                object_type: "User".into(),
                object_id: Some(id.into()),
                object_name: Some("[redacted]".into()),
                action: "purged".into(),
                description: "user purged: data removed, personal data redacted from the audit log"
                    .into(),
                ..AuditEntry::default()
            },
            event: Event {
                kind: "user.purged".into(),
                object_id: Some(id.into()),
                payload: json!({"id": id}),
            },
            extra_events: Vec::new(),
        };
        self.store
            .purge_user(
                tenant,
                id,
                |t| match admin {
                    Some(a) => self.guard(tenant, a, t, "purge"),
                    None => Ok(()),
                },
                change,
            )
            .await?;
        Ok(())
    }
}
