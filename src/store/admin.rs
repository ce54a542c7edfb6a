//! Reads and writes of the admin API: the user and group lists an admin
//! panel pages through, tenant settings, and matching a list of leavers to
//! users. Lists count and page in one read snapshot.

use serde_json::Value;
use sqlx::Row;

use super::lifecycle::{row_to_user, USER_COLUMNS};
use super::sql::{fetch_all, fetch_one, Bind, SqlFrag};
use super::{Change, Store, StoreError, StoreResult, Tenant, UserRecord};

/// A column the admin user list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    UserName,
    DisplayName,
    Email,
    Status,
    Type,
    Role,
    Plan,
    Created,
    LastModified,
    LastSignIn,
}

/// A validated admin user list request.
#[derive(Debug, Clone)]
pub struct UserListQuery {
    /// Case-insensitive text found in userName, displayName or an email, or
    /// an exact id.
    pub search: Option<String>,
    /// Only these statuses (empty: every status but `deleted`).
    pub statuses: Vec<String>,
    pub user_type: Option<String>,
    pub role: Option<String>,
    /// Members (direct or nested) of the group with this id or displayName.
    pub group: Option<String>,
    pub sort: UserSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A validated admin group list request.
#[derive(Debug, Clone)]
pub struct GroupListQuery {
    pub search: Option<String>,
    pub sort: GroupSort,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSort {
    DisplayName,
    Members,
    Created,
    LastModified,
}

/// A group as the admin list shows it.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub pk: i64,
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub data: Value,
    pub members: i64,
    pub created: String,
    pub last_modified: String,
}

/// One member of a group as the admin detail pages them.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    pub status: Option<String>,
}

/// Tenant settings an admin changes at run time, with seat usage.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    pub registrations: bool,
    /// The fallback owner set through the admin API (a user id).
    pub fallback_owner: Option<String>,
    pub users: i64,
    pub max_users: Option<i64>,
    pub viewers: i64,
    pub max_viewers: Option<i64>,
}

/// A user a leaver's input value matched.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The input key it matched (folded for userName and email).
    pub key: String,
    pub id: String,
    pub user_name: String,
    pub status: String,
    pub deleted: bool,
}

fn row_to_group(r: &sqlx::any::AnyRow) -> StoreResult<GroupRow> {
    Ok(GroupRow {
        pk: r.try_get("pk")?,
        id: r.try_get("id")?,
        display_name: r.try_get("display_name")?,
        external_id: r.try_get("external_id")?,
        data: serde_json::from_str(&r.try_get::<String, _>("data")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        members: r.try_get("members")?,
        created: r.try_get("created")?,
        last_modified: r.try_get("last_modified")?,
    })
}

fn like_contains(s: &str) -> String {
    format!("%{}%", super::sql::like_escape(s))
}

/// `ORDER BY` text of a user sort column (from a closed set, never client text).
fn user_sort_sql(store: &Store, sort: UserSort) -> String {
    let d = store.dialect();
    match sort {
        UserSort::UserName => "u.user_name_ci".into(),
        UserSort::DisplayName => format!("lower({})", d.json_text("u.data", &["displayName"])),
        UserSort::Email => "(SELECT min(v.value_ci) FROM user_values v WHERE v.user_pk = u.pk AND v.attr = 'emails')".into(),
        UserSort::Status => "u.status".into(),
        UserSort::Type => "u.user_type".into(),
        UserSort::Role => "u.role".into(),
        UserSort::Plan => "u.plan".into(),
        UserSort::Created => "u.created".into(),
        UserSort::LastModified => "u.last_modified".into(),
        UserSort::LastSignIn => "u.last_sign_in_at".into(),
    }
}

impl Store {
    fn user_list_where(&self, tenant: &Tenant, q: &UserListQuery) -> SqlFrag {
        let d = self.dialect();
        let mut f = SqlFrag::new();
        f.sql(" FROM users u WHERE u.tenant_id = ").int(tenant.id);
        if q.statuses.is_empty() {
            f.sql(" AND u.deleted_at IS NULL");
        } else {
            f.sql(" AND u.status IN (")
                .bind_list(q.statuses.iter().cloned().map(Bind::Text))
                .sql(")");
        }
        if let Some(t) = &q.user_type {
            f.sql(" AND u.user_type = ").text(t.clone());
        }
        if let Some(r) = &q.role {
            f.sql(" AND u.role = ").text(r.clone());
        }
        if let Some(g) = &q.group {
            f.sql(
                " AND u.id IN (WITH RECURSIVE sub(pk) AS (
                    SELECT pk FROM groups WHERE tenant_id = ",
            )
            .int(tenant.id)
            .sql(" AND (id = ")
            .text(g.clone())
            .sql(" OR display_name_ci = ")
            .text(super::db::fold(g))
            .sql(
                ")
                    UNION
                    SELECT g.pk FROM sub JOIN memberships m ON m.group_pk = sub.pk AND m.member_type = 'Group'
                    JOIN groups g ON g.id = m.member_id)
                  SELECT m.member_id FROM memberships m JOIN sub ON m.group_pk = sub.pk
                  WHERE m.member_type = 'User')",
            );
        }
        if let Some(s) = &q.search {
            let pat = like_contains(&super::db::fold(s));
            f.sql(" AND (u.id = ")
                .text(s.clone())
                .sql(" OR u.user_name_ci LIKE ")
                .text(pat.clone())
                .sql(" ESCAPE '\\' OR lower(")
                .sql(d.json_text("u.data", &["displayName"]))
                .sql(") LIKE ")
                .text(pat.clone())
                .sql(" ESCAPE '\\' OR EXISTS (SELECT 1 FROM user_values v WHERE v.user_pk = u.pk AND v.attr = 'emails' AND v.value_ci LIKE ")
                .text(pat)
                .sql(" ESCAPE '\\'))");
        }
        f
    }

    /// One page of the admin user list and the total it pages through.
    pub async fn admin_users(
        &self,
        tenant: &Tenant,
        q: &UserListQuery,
    ) -> StoreResult<(Vec<UserRecord>, i64)> {
        let mut tx = self.begin_read().await?;
        let mut count = SqlFrag::new();
        count.sql("SELECT count(*) AS n");
        count.append(self.user_list_where(tenant, q));
        let total: i64 = fetch_one(&mut *tx, count).await?.try_get("n")?;
        let mut page = SqlFrag::new();
        let cols = USER_COLUMNS
            .split(',')
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        page.sql(format!("SELECT {cols}"));
        page.append(self.user_list_where(tenant, q));
        let dir = if q.descending { "DESC" } else { "ASC" };
        // NULLs last either way; the pk breaks ties so pages never overlap.
        let key = user_sort_sql(self, q.sort);
        page.sql(format!(
            " ORDER BY CASE WHEN {key} IS NULL THEN 1 ELSE 0 END, {key} {dir}, u.pk {dir} LIMIT "
        ))
        .int(q.limit)
        .sql(" OFFSET ")
        .int(q.offset);
        let rows = fetch_all(&mut *tx, page).await?;
        tx.commit().await?;
        let users = rows.iter().map(row_to_user).collect::<StoreResult<_>>()?;
        Ok((users, total))
    }

    /// One page of the admin group list (with member counts) and the total.
    pub async fn admin_groups(
        &self,
        tenant: &Tenant,
        q: &GroupListQuery,
    ) -> StoreResult<(Vec<GroupRow>, i64)> {
        let mut tx = self.begin_read().await?;
        let filter = |f: &mut SqlFrag| {
            f.sql(" FROM groups g WHERE g.tenant_id = ").int(tenant.id);
            if let Some(s) = &q.search {
                f.sql(" AND (g.id = ")
                    .text(s.clone())
                    .sql(" OR g.display_name_ci LIKE ")
                    .text(like_contains(&super::db::fold(s)))
                    .sql(" ESCAPE '\\')");
            }
        };
        let mut count = SqlFrag::new();
        count.sql("SELECT count(*) AS n");
        filter(&mut count);
        let total: i64 = fetch_one(&mut *tx, count).await?.try_get("n")?;
        let mut page = SqlFrag::new();
        page.sql(
            "SELECT g.pk, g.id, g.display_name, g.external_id, g.data, g.created, g.last_modified,
                    (SELECT count(*) FROM memberships m WHERE m.group_pk = g.pk) AS members",
        );
        filter(&mut page);
        let key = match q.sort {
            GroupSort::DisplayName => "g.display_name_ci",
            GroupSort::Members => "members",
            GroupSort::Created => "g.created",
            GroupSort::LastModified => "g.last_modified",
        };
        let dir = if q.descending { "DESC" } else { "ASC" };
        page.sql(format!(" ORDER BY {key} {dir}, g.pk {dir} LIMIT "))
            .int(q.limit)
            .sql(" OFFSET ")
            .int(q.offset);
        let rows = fetch_all(&mut *tx, page).await?;
        tx.commit().await?;
        let groups = rows.iter().map(row_to_group).collect::<StoreResult<_>>()?;
        Ok((groups, total))
    }

    /// A group by id or displayName, with its member count.
    pub async fn admin_group(&self, tenant: &Tenant, key: &str) -> StoreResult<Option<GroupRow>> {
        let row = sqlx::query(
            "SELECT g.pk, g.id, g.display_name, g.external_id, g.data, g.created, g.last_modified,
                    (SELECT count(*) FROM memberships m WHERE m.group_pk = g.pk) AS members
             FROM groups g WHERE g.tenant_id = $1 AND (g.id = $2 OR g.display_name_ci = $3)
             ORDER BY CASE WHEN g.id = $2 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(tenant.id)
        .bind(key)
        .bind(super::db::fold(key))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(row_to_group).transpose()
    }

    /// One page of a group's direct members, in id order (the primary key's).
    pub async fn member_page(
        &self,
        group_pk: i64,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<MemberRow>> {
        let rows = sqlx::query(
            "SELECT m.member_id, m.member_type,
                    coalesce(u.user_name, g.display_name, m.display) AS name, u.status
             FROM memberships m
             LEFT JOIN users u ON m.member_type = 'User' AND u.id = m.member_id
             LEFT JOIN groups g ON m.member_type = 'Group' AND g.id = m.member_id
             WHERE m.group_pk = $1 ORDER BY m.member_id LIMIT $2 OFFSET $3",
        )
        .bind(group_pk)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MemberRow {
                    id: r.try_get("member_id")?,
                    kind: r.try_get("member_type")?,
                    name: r.try_get("name")?,
                    status: r.try_get("status")?,
                })
            })
            .collect()
    }

    /// The tenant's run-time settings and seat usage.
    pub async fn tenant_settings(&self, tenant: &Tenant) -> StoreResult<TenantSettings> {
        let row = sqlx::query(
            "SELECT t.registrations, t.fallback_owner, t.max_users, t.max_viewers,
                    (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'user' AND deleted_at IS NULL) AS users,
                    (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'viewer' AND deleted_at IS NULL) AS viewers
             FROM tenants t WHERE t.id = $1",
        )
        .bind(tenant.id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(TenantSettings {
            registrations: row.try_get::<i64, _>("registrations")? != 0,
            fallback_owner: row.try_get("fallback_owner")?,
            users: row.try_get("users")?,
            max_users: row.try_get("max_users")?,
            viewers: row.try_get("viewers")?,
            max_viewers: row.try_get("max_viewers")?,
        })
    }

    /// Change run-time tenant settings, audited. `fallback_owner`:
    /// `Some(None)` clears it; a user key must name a live user of type
    /// `user` (a viewer owns nothing), checked inside the transaction.
    pub async fn set_tenant_settings(
        &self,
        tenant: &Tenant,
        registrations: Option<bool>,
        fallback_owner: Option<Option<String>>,
        mut change: Change,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write(tenant.id).await?;
        let mut said = Vec::new();
        if let Some(on) = registrations {
            sqlx::query("UPDATE tenants SET registrations = $1 WHERE id = $2")
                .bind(i64::from(on))
                .bind(tenant.id)
                .execute(&mut *tx)
                .await?;
            said.push(format!("registrations {}", if on { "on" } else { "off" }));
        }
        if let Some(owner) = fallback_owner {
            let id = match owner {
                Some(key) => {
                    let u = super::lifecycle::find_user(&mut tx, tenant, &key)
                        .await?
                        .filter(|u| u.deleted_at.is_none())
                        .ok_or_else(|| {
                            StoreError::InvalidReference(format!(
                                "fallback owner \"{key}\" is not a live user of this tenant"
                            ))
                        })?;
                    if u.user_type != "user" {
                        return Err(StoreError::InvalidReference(format!(
                            "fallback owner {} is a viewer: viewers cannot own assets",
                            u.user_name
                        )));
                    }
                    if matches!(u.status.as_str(), "disabled" | "banned") {
                        return Err(StoreError::InvalidReference(format!(
                            "fallback owner {} is {}",
                            u.user_name, u.status
                        )));
                    }
                    said.push(format!("fallback owner {} ({})", u.user_name, u.id));
                    Some(u.id)
                }
                None => {
                    said.push("fallback owner cleared".into());
                    None
                }
            };
            sqlx::query("UPDATE tenants SET fallback_owner = $1 WHERE id = $2")
                .bind(&id)
                .bind(tenant.id)
                .execute(&mut *tx)
                .await?;
        }
        if said.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        change.audit.description = format!("tenant settings: {}", said.join(", "));
        change.event.payload = serde_json::json!({"tenant": tenant.name, "changes": said});
        super::db::record(&mut tx, tenant, &change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Users whose userName, email or externalId is one of `keys`, deleted
    /// ones (still restorable) included. userName and email compare
    /// case-insensitively (keys must be folded), externalId exactly.
    pub async fn match_users(
        &self,
        tenant: &Tenant,
        on: &str,
        keys: &[String],
    ) -> StoreResult<Vec<Candidate>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            let mut f = SqlFrag::new();
            match on {
                "email" => {
                    f.sql(
                        "SELECT DISTINCT v.value_ci AS k, u.id, u.user_name, u.status, u.pk
                         FROM user_values v JOIN users u ON u.pk = v.user_pk
                         WHERE v.tenant_id = ",
                    )
                    .int(tenant.id)
                    .sql(" AND v.attr = 'emails' AND v.value_ci IN (");
                }
                "externalId" => {
                    f.sql("SELECT u.external_id AS k, u.id, u.user_name, u.status, u.pk FROM users u WHERE u.tenant_id = ")
                        .int(tenant.id)
                        .sql(" AND u.external_id IN (");
                }
                _ => {
                    f.sql("SELECT u.user_name_ci AS k, u.id, u.user_name, u.status, u.pk FROM users u WHERE u.tenant_id = ")
                        .int(tenant.id)
                        .sql(" AND u.user_name_ci IN (");
                }
            }
            f.bind_list(chunk.iter().cloned().map(Bind::Text))
                .sql(") ORDER BY pk");
            for r in fetch_all(&self.read, f).await? {
                let status: String = r.try_get("status")?;
                out.push(Candidate {
                    key: r.try_get("k")?,
                    id: r.try_get("id")?,
                    user_name: r.try_get("user_name")?,
                    deleted: status == "deleted",
                    status,
                });
            }
        }
        Ok(out)
    }

    /// A user by id, userName or (when exactly one live user has it) email.
    pub async fn find_user_by_any(
        &self,
        tenant: &Tenant,
        key: &str,
    ) -> StoreResult<Result<UserRecord, String>> {
        if let Some(u) = self
            .user_record(tenant, key)
            .await?
            .filter(|u| u.deleted_at.is_none())
        {
            return Ok(Ok(u));
        }
        let live: Vec<Candidate> = self
            .match_users(tenant, "email", &[super::db::fold(key)])
            .await?
            .into_iter()
            .filter(|c| !c.deleted)
            .collect();
        match live.as_slice() {
            [one] => Ok(self
                .user_record(tenant, &one.id)
                .await?
                .ok_or_else(|| format!("no live user \"{key}\""))),
            [] => Ok(Err(format!(
                "no live user has the id, userName or email \"{key}\""
            ))),
            many => Ok(Err(format!(
                "{} live users have the email \"{key}\"; name one by userName",
                many.len()
            ))),
        }
    }
}
