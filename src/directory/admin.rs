//! What an admin panel reads and the tenant settings it changes: the user
//! list (search, filters, sort, pages of 10 to 100 with a total), the user
//! detail, groups with their members paged, the tenant's registrations,
//! seats, role catalog and fallback owner, and invitations. Parameters are
//! validated here, so the admin API and the `rollcall` command share them.

use serde::Deserialize;

use super::access::Permission;
use super::views::{
    self, FallbackOwner, FallbackUnresolved, FallbackUser, GroupDetail, GroupSummary, MemberView,
    Page, SeatsView, TenantView, UserDetail, UserRow,
};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{
    GroupListQuery, GroupSort, TenantSettings, UserListQuery, UserRecord, UserSort,
};

pub use super::views::TenantChange;

/// Page sizes are multiples of 10 up to this.
pub const MAX_PAGE_SIZE: i64 = 100;
pub const DEFAULT_PAGE_SIZE: i64 = 20;

pub const STATUSES: [&str; 6] = [
    "invited", "created", "active", "disabled", "banned", "deleted",
];

/// Paging as an admin panel asks for it: 1-based page, page size 10, 20, …, 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
}

impl Paging {
    pub fn parse(page: Option<&str>, page_size: Option<&str>) -> DirectoryResult<Self> {
        let page = match page {
            None => 1,
            Some(p) => p.parse::<i64>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                DirectoryError::Invalid(format!("page must be a whole number from 1, not \"{p}\""))
            })?,
        };
        let page_size = match page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (10..=MAX_PAGE_SIZE).contains(n) && n % 10 == 0)
                .ok_or_else(|| {
                    DirectoryError::Invalid(format!(
                        "page_size must be 10, 20, … or {MAX_PAGE_SIZE}, not \"{s}\""
                    ))
                })?,
        };
        Ok(Paging { page, page_size })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// The page envelope around `items`.
    pub fn envelope<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            page_size: self.page_size,
            pages: (total + self.page_size - 1) / self.page_size,
        }
    }
}

/// The user list's parameters, as text (query string or command line).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// The beginning of a word of the userName, displayName or an email
    /// (case-insensitive, literal); or an exact id.
    pub search: Option<String>,
    /// userName, displayName, email, status, type, role, plan, created,
    /// lastModified, lastSignIn.
    pub sort: Option<String>,
    /// asc or desc.
    pub order: Option<String>,
    /// invited, created, active, disabled, banned, deleted, or the words
    /// enabled (invited, created, active) and passive (disabled);
    /// comma-separated (default: all but deleted).
    pub status: Option<String>,
    /// user or viewer.
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    /// A role of the catalog.
    pub role: Option<String>,
    /// Members (direct or nested) of this group id or displayName.
    pub group: Option<String>,
    /// 1-based page (default 1).
    #[param(value_type = Option<i64>)]
    pub page: Option<String>,
    /// 10, 20, … or 100 (default 20).
    #[param(value_type = Option<i64>)]
    pub page_size: Option<String>,
}

pub const USER_SORTS: [&str; 10] = [
    "userName",
    "displayName",
    "email",
    "status",
    "type",
    "role",
    "plan",
    "created",
    "lastModified",
    "lastSignIn",
];

fn descending(order: Option<&str>) -> DirectoryResult<bool> {
    match order {
        None | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(o) => Err(DirectoryError::Invalid(format!(
            "order must be asc or desc, not \"{o}\""
        ))),
    }
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl UserListParams {
    /// Check every parameter; the store query it asks for.
    pub fn validate(
        &self,
        catalog: &super::access::Catalog,
    ) -> DirectoryResult<(UserListQuery, Paging)> {
        let paging = Paging::parse(self.page.as_deref(), self.page_size.as_deref())?;
        let sort = match self.sort.as_deref().unwrap_or("userName") {
            "userName" => UserSort::UserName,
            "displayName" => UserSort::DisplayName,
            "email" => UserSort::Email,
            "status" => UserSort::Status,
            "type" => UserSort::Type,
            "role" => UserSort::Role,
            "plan" => UserSort::Plan,
            "created" => UserSort::Created,
            "lastModified" => UserSort::LastModified,
            "lastSignIn" => UserSort::LastSignIn,
            other => {
                return Err(DirectoryError::Invalid(format!(
                    "cannot sort by \"{other}\"; sort by one of {}",
                    USER_SORTS.join(", ")
                )))
            }
        };
        let mut statuses: Vec<String> = Vec::new();
        if let Some(s) = nonempty(&self.status) {
            for st in s.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let meant: &[&str] = match super::modes::status_word(st) {
                    Some(word) => word,
                    None if STATUSES.contains(&st) => &[st],
                    None => {
                        return Err(DirectoryError::Invalid(format!(
                            "unknown status \"{st}\"; statuses: {}; or enabled (invited, created, active) or passive (disabled)",
                            STATUSES.join(", ")
                        )))
                    }
                };
                for m in meant {
                    if !statuses.iter().any(|s| s == m) {
                        statuses.push(m.to_string());
                    }
                }
            }
        }
        let user_type = nonempty(&self.user_type);
        if let Some(t) = &user_type {
            if t != "user" && t != "viewer" {
                return Err(DirectoryError::Invalid(format!(
                    "type must be user or viewer, not \"{t}\""
                )));
            }
        }
        let role = match nonempty(&self.role) {
            None => None,
            Some(r) => Some(
                catalog
                    .canonical(&r)
                    .ok_or_else(|| DirectoryError::Invalid(format!("unknown role \"{r}\"")))?
                    .to_string(),
            ),
        };
        Ok((
            UserListQuery {
                search: nonempty(&self.search),
                statuses,
                user_type,
                role,
                group: nonempty(&self.group),
                sort,
                descending: descending(self.order.as_deref())?,
                offset: paging.offset(),
                limit: paging.page_size,
            },
            paging,
        ))
    }
}

/// The group list's parameters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GroupListParams {
    /// Text in displayName, or an exact id.
    pub search: Option<String>,
    /// displayName, members, created, lastModified.
    pub sort: Option<String>,
    /// asc or desc.
    pub order: Option<String>,
    /// 1-based page (default 1).
    #[param(value_type = Option<i64>)]
    pub page: Option<String>,
    /// 10, 20, … or 100 (default 20).
    #[param(value_type = Option<i64>)]
    pub page_size: Option<String>,
}

impl GroupListParams {
    pub fn validate(&self) -> DirectoryResult<(GroupListQuery, Paging)> {
        let paging = Paging::parse(self.page.as_deref(), self.page_size.as_deref())?;
        let sort = match self.sort.as_deref().unwrap_or("displayName") {
            "displayName" => GroupSort::DisplayName,
            "members" => GroupSort::Members,
            "created" => GroupSort::Created,
            "lastModified" => GroupSort::LastModified,
            other => {
                return Err(DirectoryError::Invalid(format!(
                    "cannot sort groups by \"{other}\"; sort by displayName, members, created or lastModified"
                )))
            }
        };
        Ok((
            GroupListQuery {
                search: nonempty(&self.search),
                sort,
                descending: descending(self.order.as_deref())?,
                offset: paging.offset(),
                limit: paging.page_size,
            },
            paging,
        ))
    }
}

pub use super::views::email;

impl Directory {
    /// `GET /admin/v1/users`.
    pub async fn list_users(
        &self,
        ctx: &Ctx,
        params: &UserListParams,
    ) -> DirectoryResult<Page<UserRow>> {
        let (users, paging, total) = self.user_page(ctx, params).await?;
        let items = users.iter().map(UserRow::from).collect();
        Ok(paging.envelope(items, total))
    }

    /// The records of one page of the user list, the paging and the total.
    pub(super) async fn user_page(
        &self,
        ctx: &Ctx,
        params: &UserListParams,
    ) -> DirectoryResult<(Vec<UserRecord>, Paging, i64)> {
        let admin = self.require(ctx, Permission::UsersRead).await?;
        let catalog = admin.catalog;
        let (q, paging) = params.validate(&catalog)?;
        let (users, total) = self.store.admin_users(&ctx.tenant, &q).await?;
        Ok((users, paging, total))
    }

    /// `GET /admin/v1/users/{id}`: everything an admin panel shows of a user.
    pub async fn user_detail(&self, ctx: &Ctx, key: &str) -> DirectoryResult<UserDetail> {
        self.require(ctx, Permission::UsersRead).await?;
        let u = self
            .store
            .user_record(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("user {key} not found")))?;
        let groups = if u.deleted_at.is_none() {
            self.store.groups_of(&ctx.tenant, &u.id).await?
        } else {
            Vec::new()
        };
        Ok(UserDetail::new(&u, groups))
    }

    /// `GET /admin/v1/groups`.
    pub async fn list_groups(
        &self,
        ctx: &Ctx,
        params: &GroupListParams,
    ) -> DirectoryResult<Page<GroupSummary>> {
        self.require(ctx, Permission::GroupsRead).await?;
        let (q, paging) = params.validate()?;
        let (groups, total) = self.store.admin_groups(&ctx.tenant, &q).await?;
        let items = groups.iter().map(GroupSummary::from).collect();
        Ok(paging.envelope(items, total))
    }

    /// `GET /admin/v1/groups/{id}`: the group, what it grants, and one page
    /// of its direct members.
    pub async fn group_detail(
        &self,
        ctx: &Ctx,
        key: &str,
        paging: Paging,
    ) -> DirectoryResult<GroupDetail> {
        self.require(ctx, Permission::GroupsRead).await?;
        let g = self
            .store
            .admin_group(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("group {key} not found")))?;
        let members = self
            .store
            .member_page(g.pk, paging.offset(), paging.page_size)
            .await?;
        let grants = self.policy_of(&ctx.tenant).await?.group_grants(
            &ctx.tenant.name,
            &crate::store::GroupFacts {
                display_name: g.display_name.clone(),
                external_id: g.external_id.clone(),
            },
        );
        Ok(GroupDetail {
            id: g.id,
            display_name: g.display_name,
            external_id: g.external_id,
            grants: grants
                .into_iter()
                .map(views::read)
                .collect::<DirectoryResult<_>>()?,
            created: g.created,
            last_modified: g.last_modified,
            members: paging.envelope(members.iter().map(MemberView::from).collect(), g.members),
        })
    }

    /// `GET /admin/v1/tenant`: registrations, seats, the role catalog, the
    /// fallback owner and the settings that come from the config file.
    pub async fn tenant_view(&self, ctx: &Ctx) -> DirectoryResult<TenantView> {
        self.require(ctx, Permission::TenantSettings).await?;
        let s: TenantSettings = self.store.tenant_settings(&ctx.tenant).await?;
        let cfg = self.config.policy.tenant(&ctx.tenant.name);
        let modes = self.modes(&ctx.tenant);
        let (owner_key, source) = match (&s.fallback_owner, &cfg.fallback_owner) {
            (Some(id), _) => (Some(id.clone()), "admin"),
            (None, Some(k)) => (Some(k.clone()), "config"),
            (None, None) => (None, "none"),
        };
        let source = source.to_string();
        let owner = match owner_key {
            Some(key) => Some(match self.store.user_record(&ctx.tenant, &key).await? {
                Some(u) if u.deleted_at.is_none() => FallbackOwner::User(FallbackUser {
                    id: u.id,
                    user_name: u.user_name,
                    status: u.status,
                    source,
                }),
                _ => FallbackOwner::Unresolved(FallbackUnresolved {
                    key,
                    source,
                    problem: "not a live user of this tenant".into(),
                }),
            }),
            None => None,
        };
        Ok(TenantView {
            name: ctx.tenant.name.clone(),
            registrations: s.registrations,
            seats: SeatsView::new((s.users, s.max_users), (s.viewers, s.max_viewers)),
            roles: self.role_catalog(&ctx.tenant).await?,
            plans: self.policy_of(&ctx.tenant).await?.plans.clone(),
            fallback_owner: owner,
            allow_local_overrides: cfg.allow_local_overrides,
            retention_days: cfg.retention_days.unwrap_or(super::DEFAULT_RETENTION_DAYS),
            owner: self.owner_view(&ctx.tenant).await?,
            directory_mode: modes.directory_mode,
            local_holds: modes.local_holds,
            unique_emails: modes.unique_emails,
            recreate_deleted: self.recreate_setting(&ctx.tenant).await?,
        })
    }

    /// `PATCH /admin/v1/tenant`.
    pub async fn set_tenant(&self, ctx: &Ctx, change: TenantChange) -> DirectoryResult<TenantView> {
        self.require(ctx, Permission::TenantSettings).await?;
        let mut c = self.admin_change(ctx, "tenant_changed", String::new(), "tenant.updated");
        c.audit.object_type = "Tenant".into();
        c.audit.object_id = Some(ctx.tenant.name.clone());
        c.audit.object_name = Some(ctx.tenant.name.clone());
        c.event.object_id = None;
        self.apply_tenant_settings(
            &ctx.tenant,
            change.registrations,
            change.fallback_owner,
            change.recreate_deleted,
            c,
        )
        .await?;
        self.tenant_view(ctx).await
    }

    /// The fallback owner a deletion uses: the admin's choice, else the
    /// config file's.
    pub(super) async fn fallback_owner(&self, ctx: &Ctx) -> DirectoryResult<Option<String>> {
        let s = self.store.tenant_settings(&ctx.tenant).await?;
        Ok(s.fallback_owner
            .or_else(|| self.config.policy.tenant(&ctx.tenant.name).fallback_owner))
    }

    /// Refuse invitations while the tenant's registrations are off.
    pub(super) async fn require_registrations(&self, ctx: &Ctx) -> DirectoryResult<()> {
        if !self.store.registrations_open(&ctx.tenant).await? {
            return Err(DirectoryError::RegistrationsClosed(format!(
                "registrations are off for tenant \"{}\": nobody new may be invited; turn them on with PATCH /admin/v1/tenant {{\"registrations\": true}}",
                ctx.tenant.name
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn page_sizes_are_multiples_of_ten_up_to_a_hundred() {
        for ok in ["10", "20", "50", "100"] {
            assert!(Paging::parse(None, Some(ok)).is_ok(), "{ok}");
        }
        for bad in ["0", "5", "15", "110", "-10", "x", ""] {
            assert!(Paging::parse(None, Some(bad)).is_err(), "{bad}");
        }
        let p = Paging::parse(Some("3"), Some("20")).unwrap();
        assert_eq!(p.offset(), 40);
        assert!(Paging::parse(Some("0"), None).is_err());
        let env = serde_json::to_value(p.envelope(Vec::<i64>::new(), 41)).unwrap();
        assert_eq!(env["pages"], 3);
        assert_eq!(
            Paging::parse(None, None).unwrap().page_size,
            DEFAULT_PAGE_SIZE
        );
    }

    #[test]
    fn user_list_parameters_are_checked() {
        let catalog = crate::directory::access::Policy::default().catalog("t");
        let p = UserListParams {
            sort: Some("lastSignIn".into()),
            order: Some("desc".into()),
            status: Some("active, disabled".into()),
            role: Some("ADMIN".into()),
            ..Default::default()
        };
        let (q, _) = p.validate(&catalog).unwrap();
        assert_eq!(q.sort, UserSort::LastSignIn);
        assert!(q.descending);
        assert_eq!(q.statuses, vec!["active", "disabled"]);
        assert_eq!(q.role.as_deref(), Some("admin"));
        for bad in [
            UserListParams {
                sort: Some("password".into()),
                ..Default::default()
            },
            UserListParams {
                order: Some("up".into()),
                ..Default::default()
            },
            UserListParams {
                status: Some("gone".into()),
                ..Default::default()
            },
            UserListParams {
                user_type: Some("robot".into()),
                ..Default::default()
            },
            UserListParams {
                role: Some("emperor".into()),
                ..Default::default()
            },
        ] {
            assert!(matches!(
                bad.validate(&catalog),
                Err(DirectoryError::Invalid(_))
            ));
        }
    }
}
