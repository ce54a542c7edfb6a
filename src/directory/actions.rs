//! Which actions an acting admin may take on a user, and why not: the
//! lifecycle's own guards (admin rights, rank, self, IdP-managed
//! attributes, a read-only directory, local holds, the owner, the last
//! super-admin, a finished transfer before a purge),
//! asked before anyone acts, so that a panel offers only what the directory
//! would accept and says why for the rest. The directory still checks
//! every change when it is made.

use serde_json::Value;

use super::access::{Permission, SUPER_ADMIN, VIEWER_RANK};
use super::admin::UserListParams;
use super::guards::{is_active_super_admin, last_super_admin, Admin};
use super::lifecycle::purge_ready;
use super::views::{Page, Permit, RoleChoice, UserActions, UserListEntry, UserRow};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{Tenant, UserRecord};

/// What every verdict on one page needs: the acting admin (or why they
/// are none), the number of active super-admins, and the tenant's owner.
struct Judge {
    admin: Result<Admin, String>,
    super_admins: i64,
    owner: Option<String>,
    /// Whether the acting person is the owner (who hands ownership on).
    acting_owner: bool,
}

impl Directory {
    /// What the acting admin may do to the user `key`.
    pub async fn user_actions(&self, ctx: &Ctx, key: &str) -> DirectoryResult<UserActions> {
        let u = self
            .store
            .user_record(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("user {key} not found")))?;
        let judge = self.judge(ctx).await?;
        Ok(self.actions_of(ctx, &judge, &u))
    }

    /// The user list (as `GET /admin/v1/users` answers it), each row with
    /// what the acting admin may do to that user.
    pub async fn user_list_entries(
        &self,
        ctx: &Ctx,
        params: &UserListParams,
    ) -> DirectoryResult<Page<UserListEntry>> {
        let (users, paging, total) = self.user_page(ctx, params).await?;
        let judge = self.judge(ctx).await?;
        let items = users
            .iter()
            .map(|u| UserListEntry {
                row: UserRow::from(u),
                actions: self.actions_of(ctx, &judge, u),
            })
            .collect();
        Ok(paging.envelope(items, total))
    }

    async fn judge(&self, ctx: &Ctx) -> DirectoryResult<Judge> {
        let admin = match self.acting_admin(ctx).await {
            Ok(a) => Ok(a),
            Err(DirectoryError::Forbidden(why)) => Err(why),
            Err(e) => return Err(e),
        };
        let super_admins = self
            .store
            .count_enabled_with_role(&ctx.tenant, SUPER_ADMIN)
            .await?;
        let owner = self.owner_id(&ctx.tenant).await?;
        let acting_owner = owner.is_some() && owner == ctx.actor_user_id;
        Ok(Judge {
            admin,
            super_admins,
            owner,
            acting_owner,
        })
    }

    fn actions_of(&self, ctx: &Ctx, j: &Judge, u: &UserRecord) -> UserActions {
        let v = Verdict {
            dir: self,
            tenant: &ctx.tenant,
            j,
            u,
        };
        let live = u.deleted_at.is_none();
        let enabled = u.data.get("active").and_then(Value::as_bool) != Some(false);
        let viewer = u.user_type == "viewer";
        let banned = u.banned_at.is_some();
        let state = u.deletion.as_ref().and_then(|d| d.get("state"));
        let waiting = state.and_then(Value::as_str) == Some("waiting");
        let owner = j.owner.as_deref() == Some(u.id.as_str());
        let only = |cond: bool, p: Permit| cond.then_some(p);
        // The owner's row offers no disable, ban or delete (DataStream).
        let unless_owner = |cond: bool, p: Permit| (cond && !owner).then_some(p);
        UserActions {
            idp_managed: v.managed("type, role, plan and active").is_err(),
            owner,
            make_owner: only(
                j.acting_owner && live && !owner,
                match (viewer, u.status.as_str()) {
                    (true, _) => Permit::no("a viewer cannot own the tenant"),
                    (_, s @ ("disabled" | "banned")) => {
                        Permit::no(format!("{} is {s}", u.user_name))
                    }
                    _ => Permit::yes(),
                },
            ),
            change_access: match live {
                true => v.permit(|a| v.access(a)),
                false => Permit::no(format!("{} is deleted", u.user_name)),
            },
            roles: self.role_choices(j, u),
            upgrade: only(
                live && viewer,
                v.permit(|a| a.need(Permission::UsersEditType).and_then(|()| v.access(a))),
            ),
            downgrade: only(live && !viewer, v.permit(|a| v.downgrade(a))),
            disable: unless_owner(
                live && enabled,
                v.permit(|a| {
                    a.need(Permission::UsersDisable)?;
                    v.guarded(a, "disable", true)?;
                    v.managed("active")?;
                    v.lone()
                }),
            ),
            enable: only(
                live && !enabled,
                v.permit(|a| {
                    a.need(Permission::UsersDisable)?;
                    v.guarded(a, "enable", false)?;
                    v.managed("active")
                }),
            ),
            ban: unless_owner(
                live && !banned,
                v.permit(|a| {
                    a.need(Permission::UsersBan)?;
                    v.guarded(a, "ban", true)?;
                    v.holds("ban")?;
                    v.lone()
                }),
            ),
            unban: only(
                live && banned,
                v.permit(|a| {
                    a.need(Permission::UsersBan)?;
                    v.guarded(a, "unban", false).and(v.holds("unban"))
                }),
            ),
            delete: unless_owner(
                live,
                v.permit(|a| {
                    a.need(Permission::UsersDelete)?;
                    v.guarded(a, "delete", true)?;
                    v.read_only("delete")?;
                    v.lone()
                }),
            ),
            name_successor: only(
                waiting,
                v.permit(|a| {
                    a.need(Permission::UsersDelete)?;
                    v.guarded(a, "name a successor for", false)
                }),
            ),
            restore: only(
                !live,
                v.permit(|a| {
                    a.need(Permission::UsersDelete)?;
                    v.guarded(a, "restore", false).and(v.read_only("restore"))
                }),
            ),
            purge: only(
                !live,
                v.permit(|a| {
                    a.need(Permission::UsersPurge)?;
                    v.guarded(a, "purge", false).and_then(|()| purge_ready(u))
                }),
            ),
        }
    }

    /// The roles "Change role" offers: none above the admin's own, and for
    /// the admin themself none below their own (nobody demotes themself).
    fn role_choices(&self, j: &Judge, u: &UserRecord) -> Vec<RoleChoice> {
        let Ok(admin) = &j.admin else {
            return Vec::new();
        };
        if !admin.has(Permission::UsersEditRole) {
            return Vec::new();
        }
        let current = admin.rank_of(&u.role);
        let demotable = Self::not_self(admin, u, "demote").is_ok();
        admin
            .catalog
            .roles()
            .iter()
            .filter(|r| r.rank <= admin.rank && (r.rank >= current || demotable))
            .map(|r| RoleChoice {
                current: r.name == u.role,
                name: r.name.clone(),
            })
            .collect()
    }
}

/// The guards, asked about one user on behalf of the acting admin.
struct Verdict<'a> {
    dir: &'a Directory,
    tenant: &'a Tenant,
    j: &'a Judge,
    u: &'a UserRecord,
}

impl Verdict<'_> {
    /// What the guards in `f` say, once the actor is an admin at all.
    fn permit(&self, f: impl Fn(&Admin) -> DirectoryResult<()>) -> Permit {
        match &self.j.admin {
            Err(why) => Permit::no(why.clone()),
            Ok(a) => match f(a) {
                Ok(()) => Permit::yes(),
                Err(e) => Permit::no(e.to_string()),
            },
        }
    }

    /// Nobody touches a user ranked above them; with `not_self`, nobody
    /// does `what` to themself.
    fn guarded(&self, a: &Admin, what: &str, not_self: bool) -> DirectoryResult<()> {
        self.dir.guard(self.tenant, a, self.u, what)?;
        match not_self {
            true => Directory::not_self(a, self.u, what),
            false => Ok(()),
        }
    }

    /// The IdP's attributes stay the IdP's.
    fn managed(&self, attr: &str) -> DirectoryResult<()> {
        self.dir.managed_guard(self.tenant, self.u, attr)
    }

    /// A read-only directory changes IdP-managed users only at the IdP.
    fn read_only(&self, what: &str) -> DirectoryResult<()> {
        self.dir.read_only_guard(self.tenant, self.u, what)
    }

    /// Local holds of IdP-managed users need the tenant's `local_holds`.
    fn holds(&self, what: &str) -> DirectoryResult<()> {
        self.dir.holds_guard(self.tenant, self.u, what)
    }

    /// The change would leave no active super-admin.
    fn lone(&self) -> DirectoryResult<()> {
        match is_active_super_admin(&self.u.role, &self.u.status) && self.j.super_admins <= 1 {
            true => Err(last_super_admin(&self.tenant.name)),
            false => Ok(()),
        }
    }

    /// Type, role and plan (any of the three permissions).
    fn access(&self, a: &Admin) -> DirectoryResult<()> {
        if ![
            Permission::UsersEditType,
            Permission::UsersEditRole,
            Permission::UsersEditPlan,
        ]
        .into_iter()
        .any(|p| a.has(p))
        {
            a.need(Permission::UsersEditRole)?;
        }
        self.guarded(a, "change the access of", false)?;
        self.managed("type, role and plan")
    }

    /// User to viewer: a viewer holds no role, so it demotes.
    fn downgrade(&self, a: &Admin) -> DirectoryResult<()> {
        a.need(Permission::UsersEditType)?;
        self.access(a)?;
        if a.rank_of(&self.u.role) > VIEWER_RANK {
            Directory::not_self(a, self.u, "demote")?;
        }
        self.lone()
    }
}
