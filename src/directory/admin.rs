//! What an admin panel reads and the tenant settings it changes: the user
//! list (search, filters, sort, pages of 10 to 100 with a total), the user
//! detail, groups with their members paged, the tenant's registrations,
//! seats, role catalog and fallback owner, and invitations. Parameters are
//! validated here, so the admin API and the `rollcall` command share them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{
    GroupListQuery, GroupSort, MemberRow, TenantSettings, UserListQuery, UserRecord, UserSort,
};

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
    pub fn envelope(&self, items: Vec<Value>, total: i64) -> Value {
        let pages = (total + self.page_size - 1) / self.page_size;
        json!({
            "items": items,
            "total": total,
            "page": self.page,
            "pageSize": self.page_size,
            "pages": pages,
        })
    }
}

/// The user list's parameters, as text (query string or command line).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListParams {
    pub search: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    /// One status or several, comma-separated.
    pub status: Option<String>,
    #[serde(rename = "type")]
    pub user_type: Option<String>,
    pub role: Option<String>,
    pub group: Option<String>,
    pub page: Option<String>,
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
        let mut statuses = Vec::new();
        if let Some(s) = nonempty(&self.status) {
            for st in s.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if !STATUSES.contains(&st) {
                    return Err(DirectoryError::Invalid(format!(
                        "unknown status \"{st}\"; statuses: {}",
                        STATUSES.join(", ")
                    )));
                }
                statuses.push(st.to_string());
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupListParams {
    pub search: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub page: Option<String>,
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

/// A tenant settings change: absent fields stay; `fallbackOwner: null`
/// clears the admin's choice (the config file's applies again).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TenantChange {
    pub registrations: Option<bool>,
    #[serde(default, with = "double_option")]
    pub fallback_owner: Option<Option<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

fn display_name(u: &UserRecord) -> Option<&str> {
    u.data.get("displayName").and_then(Value::as_str)
}

/// The primary email, else the first.
pub fn email(u: &UserRecord) -> Option<&str> {
    let emails = u.data.get("emails")?.as_array()?;
    emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

fn member_json(m: &MemberRow) -> Value {
    json!({"id": m.id, "type": m.kind, "name": m.name, "status": m.status})
}

impl Directory {
    /// One row of the admin user list.
    fn user_row(&self, u: &UserRecord) -> Value {
        json!({
            "id": u.id,
            "userName": u.user_name,
            "displayName": display_name(u),
            "email": email(u),
            "status": u.status,
            "type": u.user_type,
            "role": u.role,
            "plan": u.plan,
            "managed": u.managed,
            "lastSignIn": u.last_sign_in_at,
            "created": u.created,
            "lastModified": u.last_modified,
        })
    }

    /// `GET /admin/v1/users`.
    pub async fn list_users(&self, ctx: &Ctx, params: &UserListParams) -> DirectoryResult<Value> {
        let catalog = self.config.policy.catalog(&ctx.tenant.name);
        let (q, paging) = params.validate(&catalog)?;
        let (users, total) = self.store.admin_users(&ctx.tenant, &q).await?;
        let items = users.iter().map(|u| self.user_row(u)).collect();
        Ok(paging.envelope(items, total))
    }

    /// `GET /admin/v1/users/{id}`: everything an admin panel shows of a user.
    pub async fn user_detail(&self, ctx: &Ctx, key: &str) -> DirectoryResult<Value> {
        let u = self
            .store
            .user_record(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("user {key} not found")))?;
        let mut out = self.render_user(&u);
        let groups = if u.deleted_at.is_none() {
            self.store
                .groups_of(&ctx.tenant, &u.id)
                .await?
                .into_iter()
                .map(|g| json!({"id": g.id, "displayName": g.display, "direct": g.direct}))
                .collect()
        } else {
            Vec::new()
        };
        out["displayName"] = json!(display_name(&u));
        out["email"] = json!(email(&u));
        out["emails"] = u.data.get("emails").cloned().unwrap_or(json!([]));
        out["externalId"] = json!(u.data.get("externalId"));
        out["groups"] = Value::Array(groups);
        // Disabled and banned users keep their seat; deleted ones free it.
        out["seat"] = if u.deleted_at.is_none() {
            json!({"kind": u.user_type, "counted": true})
        } else {
            json!({"kind": u.user_type, "counted": false})
        };
        out["access"] = u.access.clone();
        out["signInAllowed"] = json!(matches!(
            u.status.as_str(),
            "created" | "active" | "invited"
        ));
        Ok(out)
    }

    /// `GET /admin/v1/groups`.
    pub async fn list_groups(&self, ctx: &Ctx, params: &GroupListParams) -> DirectoryResult<Value> {
        let (q, paging) = params.validate()?;
        let (groups, total) = self.store.admin_groups(&ctx.tenant, &q).await?;
        let items = groups
            .iter()
            .map(|g| {
                json!({
                    "id": g.id,
                    "displayName": g.display_name,
                    "externalId": g.external_id,
                    "members": g.members,
                    "created": g.created,
                    "lastModified": g.last_modified,
                })
            })
            .collect();
        Ok(paging.envelope(items, total))
    }

    /// `GET /admin/v1/groups/{id}`: the group, what it grants, and one page
    /// of its direct members.
    pub async fn group_detail(
        &self,
        ctx: &Ctx,
        key: &str,
        paging: Paging,
    ) -> DirectoryResult<Value> {
        let g = self
            .store
            .admin_group(&ctx.tenant, key)
            .await?
            .ok_or_else(|| DirectoryError::NotFound(format!("group {key} not found")))?;
        let members = self
            .store
            .member_page(g.pk, paging.offset(), paging.page_size)
            .await?;
        let grants = self.config.policy.group_grants(
            &ctx.tenant.name,
            &crate::store::GroupFacts {
                display_name: g.display_name.clone(),
                external_id: g.external_id.clone(),
            },
        );
        Ok(json!({
            "id": g.id,
            "displayName": g.display_name,
            "externalId": g.external_id,
            "grants": grants,
            "created": g.created,
            "lastModified": g.last_modified,
            "members": paging.envelope(members.iter().map(member_json).collect(), g.members),
        }))
    }

    /// `GET /admin/v1/tenant`: registrations, seats, the role catalog, the
    /// fallback owner and the settings that come from the config file.
    pub async fn tenant_view(&self, ctx: &Ctx) -> DirectoryResult<Value> {
        let s: TenantSettings = self.store.tenant_settings(&ctx.tenant).await?;
        let cfg = self.config.policy.tenant(&ctx.tenant.name);
        let (owner_key, source) = match (&s.fallback_owner, &cfg.fallback_owner) {
            (Some(id), _) => (Some(id.clone()), "admin"),
            (None, Some(k)) => (Some(k.clone()), "config"),
            (None, None) => (None, "none"),
        };
        let owner = match &owner_key {
            Some(k) => match self.store.user_record(&ctx.tenant, k).await? {
                Some(u) if u.deleted_at.is_none() => {
                    json!({"id": u.id, "userName": u.user_name, "status": u.status, "source": source})
                }
                _ => {
                    json!({"key": k, "source": source, "problem": "not a live user of this tenant"})
                }
            },
            None => Value::Null,
        };
        Ok(json!({
            "name": ctx.tenant.name,
            "registrations": s.registrations,
            "seats": {
                "users": {"used": s.users, "limit": s.max_users},
                "viewers": {"used": s.viewers, "limit": s.max_viewers},
            },
            "roles": self.config.policy.catalog(&ctx.tenant.name).list(),
            "plans": self.config.policy.plans,
            "fallbackOwner": owner,
            "allowLocalOverrides": cfg.allow_local_overrides,
            "retentionDays": cfg.retention_days.unwrap_or(14),
        }))
    }

    /// `PATCH /admin/v1/tenant`.
    pub async fn set_tenant(&self, ctx: &Ctx, change: TenantChange) -> DirectoryResult<Value> {
        self.require_admin(ctx).await?;
        let mut c = self.admin_change(ctx, "tenant_changed", String::new(), "tenant.updated");
        c.audit.object_type = "Tenant".into();
        c.audit.object_id = Some(ctx.tenant.name.clone());
        c.audit.object_name = Some(ctx.tenant.name.clone());
        c.event.object_id = None;
        self.store
            .set_tenant_settings(&ctx.tenant, change.registrations, change.fallback_owner, c)
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
        if !self.store.tenant_settings(&ctx.tenant).await?.registrations {
            return Err(DirectoryError::RegistrationsClosed(format!(
                "registrations are off for tenant \"{}\": nobody new may be invited; turn them on with PATCH /admin/v1/tenant {{\"registrations\": true}}",
                ctx.tenant.name
            )));
        }
        Ok(())
    }

    /// The link an invitation is accepted through.
    pub fn invite_link(&self, token: &str) -> String {
        match &self.config.invite_url {
            Some(u) => u.replace("{token}", token),
            None => format!("/admin/v1/invitations/{token}"),
        }
    }

    /// `GET /admin/v1/invitations/{token}`: who the invitation is for.
    pub async fn invitation(&self, ctx: &Ctx, token: &str) -> DirectoryResult<Value> {
        let u = self.invited_user(ctx, token).await?;
        Ok(self.render_user(&u))
    }

    /// `POST /admin/v1/invitations/{token}/accept`: the invited user signed
    /// in for the first time (the link stops working).
    pub async fn accept_invitation(&self, ctx: &Ctx, token: &str) -> DirectoryResult<Value> {
        let u = self.invited_user(ctx, token).await?;
        self.sign_in(ctx, &u.id).await
    }

    async fn invited_user(&self, ctx: &Ctx, token: &str) -> DirectoryResult<UserRecord> {
        let hash = hex::encode(super::tokens::hash(token));
        self.store
            .user_by_invite(&ctx.tenant, &hash)
            .await?
            .filter(|u| u.status == "invited")
            .ok_or_else(|| {
                DirectoryError::NotFound(
                    "no open invitation has this token (accepted, withdrawn or never issued)"
                        .into(),
                )
            })
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
        let env = p.envelope(vec![], 41);
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
