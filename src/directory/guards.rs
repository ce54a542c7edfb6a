//! The guards every write runs inside its transaction: the last active
//! super-admin stays, seats are not exceeded, names are unique, member
//! references exist and make no cycle, `If-Match` matches; and the admin
//! guards (rank, self, IdP-managed attributes).

use serde_json::{Map, Value};

use std::collections::BTreeSet;

use super::access::{Catalog, Permission, ALL_PERMISSIONS, SUPER_ADMIN};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{fold, MemberChange, ResolvedMember, Tenant, Tx, UserRecord};
use scim_protocol::patch::{MemberOp, MemberRef};
use scim_protocol::schema::Kind;

/// The acting admin user: who, their rank and permissions, and the
/// tenant's role catalog as it stood when they were read.
pub(super) struct Admin {
    pub(super) id: String,
    /// Their role's name ("" for the operator).
    pub(super) role: String,
    pub(super) rank: i64,
    pub(super) permissions: BTreeSet<Permission>,
    pub(super) catalog: Catalog,
    /// The tenant's plan catalog (empty: free text).
    pub(super) plans: Vec<String>,
}

impl Admin {
    /// A role's rank in the tenant's catalog (0: not in it).
    pub(super) fn rank_of(&self, role: &str) -> i64 {
        self.catalog.rank(role).unwrap_or(0)
    }

    pub(super) fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// 403 unless the admin's role carries `p`.
    pub(super) fn need(&self, p: Permission) -> DirectoryResult<()> {
        match self.has(p) {
            true => Ok(()),
            false => Err(missing(&self.role, p)),
        }
    }
}

/// The 403 for a role without permission `p`: what it cannot do, the
/// permission, and who holds it by default.
fn missing(role: &str, p: Permission) -> DirectoryError {
    let (verb, band) = match p.is_read() {
        true => ("see the admin panel", "member or above"),
        false => ("administer users", "admin or above"),
    };
    DirectoryError::Forbidden(format!(
        "role \"{role}\" cannot {verb}: it does not carry the permission {p} (by default: {band})"
    ))
}

/// Whether a user record counts toward the tenant's active super-admins.
pub(super) fn is_active_super_admin(role: &str, status: &str) -> bool {
    role == SUPER_ADMIN && matches!(status, "created" | "active" | "invited")
}

/// The last-super-admin guard: counts before a change that can lower the
/// count, and refuses the change if it leaves none.
pub(super) struct SuperAdminGuard {
    before: i64,
}

impl SuperAdminGuard {
    /// Count now when the change is `at_risk` of lowering the count (only
    /// those pay for the query).
    pub(super) async fn before(tx: &mut Tx, at_risk: bool) -> DirectoryResult<Self> {
        let before = if at_risk {
            tx.count_enabled_with_role(SUPER_ADMIN).await?
        } else {
            0
        };
        Ok(Self { before })
    }

    /// Refuse a change that leaves a tenant which had an active super-admin
    /// without one.
    pub(super) async fn check(&self, tx: &mut Tx) -> DirectoryResult<()> {
        if self.before > 0 && tx.count_enabled_with_role(SUPER_ADMIN).await? == 0 {
            return Err(last_super_admin(&tx.tenant().name));
        }
        Ok(())
    }
}

/// The refusal of a change that would leave no active super-admin.
pub(super) fn last_super_admin(tenant: &str) -> DirectoryError {
    DirectoryError::LastSuperAdmin(format!(
        "this change would leave tenant \"{tenant}\" without an active super-admin: grant super-admin to another user first"
    ))
}

/// Refuse one more seat of `ty` when the tenant's limit is reached.
/// Disabled users hold their seat; deleted ones do not exist any more.
pub(super) async fn check_seat(tx: &mut Tx, ty: &str) -> DirectoryResult<()> {
    let Some(limit) = tx.seat_limit(ty).await? else {
        return Ok(());
    };
    let used = tx.seats_used(ty).await?;
    if used >= limit {
        return Err(DirectoryError::SeatLimit(format!(
            "no {ty} seat left: {used} of {limit} in use; raise the tenant's limit or remove a {ty}"
        )));
    }
    Ok(())
}

/// userName (users) and displayName (groups) are unique in a tenant,
/// compared case-insensitively.
pub(super) async fn check_unique(
    tx: &mut Tx,
    kind: Kind,
    data: &Map<String, Value>,
    except_pk: Option<i64>,
) -> DirectoryResult<()> {
    let what = match kind {
        Kind::User => "userName",
        Kind::Group => "displayName",
    };
    let name = data.get(what).and_then(Value::as_str).unwrap_or_default();
    if let Some(other) = tx.name_owner(kind, &fold(name), except_pk).await? {
        return Err(DirectoryError::Uniqueness(format!(
            "{what} \"{name}\" is already taken by {} {other}",
            kind.name()
        )));
    }
    Ok(())
}

/// `If-Match` must name the current version.
pub(super) fn check_if_match(if_match: Option<&str>, version: i64) -> DirectoryResult<()> {
    if let Some(tag) = if_match {
        if !scim_protocol::etag::matches(tag, version) {
            return Err(DirectoryError::PreconditionFailed(format!(
                "If-Match {tag} does not match the current version {}",
                scim_protocol::etag::etag(version)
            )));
        }
    }
    Ok(())
}

/// Check the member references of a group's membership operations: each
/// names a User or Group of the tenant (as the reference says, if it says),
/// and no group becomes its own member, directly or through nesting.
pub(super) async fn resolve_members(
    tx: &mut Tx,
    group_id: &str,
    ops: &[MemberOp],
) -> DirectoryResult<Vec<MemberChange>> {
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            MemberOp::RemoveAll => MemberChange::RemoveAll,
            MemberOp::Remove(ids) => MemberChange::Remove(ids.clone()),
            MemberOp::Add(refs) => MemberChange::Add(resolve_refs(tx, group_id, refs).await?),
            MemberOp::Replace(refs) => {
                MemberChange::Replace(resolve_refs(tx, group_id, refs).await?)
            }
        });
    }
    Ok(out)
}

async fn resolve_refs(
    tx: &mut Tx,
    group_id: &str,
    refs: &[MemberRef],
) -> DirectoryResult<Vec<ResolvedMember>> {
    let mut out = Vec::with_capacity(refs.len());
    for m in refs {
        let kind = tx.member_kind(&m.value).await?.ok_or_else(|| {
            DirectoryError::InvalidReference(format!(
                "member \"{}\" is not a User or Group of this tenant",
                m.value
            ))
        })?;
        if let Some(said) = &m.kind {
            if said != kind {
                return Err(DirectoryError::InvalidReference(format!(
                    "member \"{}\" is a {kind}, not a {said}",
                    m.value
                )));
            }
        }
        if kind == "Group" {
            check_no_cycle(tx, group_id, &m.value).await?;
        }
        out.push(ResolvedMember {
            id: m.value.clone(),
            kind,
            display: m.display.clone(),
        });
    }
    Ok(out)
}

/// Adding `member` (a group) to `group` must not make a group its own member.
async fn check_no_cycle(tx: &mut Tx, group_id: &str, member: &str) -> DirectoryResult<()> {
    if group_id == member {
        return Err(DirectoryError::InvalidReference(
            "a group cannot be a member of itself".into(),
        ));
    }
    if tx.is_ancestor(group_id, member).await? {
        return Err(DirectoryError::InvalidReference(format!(
            "adding group \"{member}\" would make a membership cycle"
        )));
    }
    Ok(())
}

impl Directory {
    /// The user behind admin credentials, read now and checked: live, not
    /// disabled or banned, and holding permission `p` (by their role in the
    /// tenant's current policy). The operator holds every permission.
    pub(super) async fn require(&self, ctx: &Ctx, p: Permission) -> DirectoryResult<Admin> {
        let admin = self.acting_admin(ctx).await?;
        admin.need(p)?;
        Ok(admin)
    }

    /// The acting admin, whatever they may do (live, not disabled or
    /// banned, bound to a user; or the operator).
    pub(super) async fn acting_admin(&self, ctx: &Ctx) -> DirectoryResult<Admin> {
        let policy = self.policy_of(&ctx.tenant).await?;
        let catalog = policy.catalog(&ctx.tenant.name);
        let plans = policy.plans.clone();
        if ctx.operator {
            return Ok(Admin {
                id: String::new(),
                role: String::new(),
                rank: i64::MAX,
                permissions: ALL_PERMISSIONS.into_iter().collect(),
                catalog,
                plans,
            });
        }
        let Some(uid) = &ctx.actor_user_id else {
            return Err(DirectoryError::Forbidden(
                "this request needs admin credentials bound to a user (rollcall token create --user)".into(),
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
        Ok(Admin {
            id: me.id,
            role: me.role.clone(),
            rank: catalog.rank(&me.role).unwrap_or(0),
            permissions: catalog.permissions(&me.role),
            catalog,
            plans,
        })
    }

    /// Nobody touches a user ranked above them.
    pub(super) fn guard(
        &self,
        _tenant: &Tenant,
        admin: &Admin,
        target: &UserRecord,
        what: &str,
    ) -> DirectoryResult<()> {
        if target.id != admin.id && admin.rank_of(&target.role) > admin.rank {
            return Err(DirectoryError::Forbidden(format!(
                "cannot {what} {}: their role \"{}\" is above your own",
                target.user_name, target.role
            )));
        }
        Ok(())
    }

    pub(super) fn not_self(admin: &Admin, target: &UserRecord, what: &str) -> DirectoryResult<()> {
        if target.id == admin.id {
            return Err(DirectoryError::Forbidden(format!(
                "you cannot {what} yourself"
            )));
        }
        Ok(())
    }

    /// IdP-managed attributes change at the IdP, unless the tenant allows
    /// local overrides.
    pub(super) fn managed_guard(
        &self,
        tenant: &Tenant,
        target: &UserRecord,
        attr: &str,
    ) -> DirectoryResult<()> {
        let what = match attr {
            "active" => "enable or disable".to_string(),
            _ => format!("change the {attr} of"),
        };
        self.read_only_guard(tenant, target, &what)?;
        if target.managed
            && !self
                .config
                .policy
                .tenant(&tenant.name)
                .allow_local_overrides
        {
            return Err(DirectoryError::Forbidden(format!(
                "{attr} of {} is managed by the identity provider; change it there, or set allow_local_overrides for tenant \"{}\"",
                target.user_name, tenant.name
            )));
        }
        Ok(())
    }
}
