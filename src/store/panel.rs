//! The admin panel's reads: the user and group lists an admin pages
//! through, a group's members, and matching a list of leavers to users.
//! Lists count and page in one read snapshot.

use serde_json::Value;
use sqlx::Row;

use super::rows::{fold, row_to_user, USER_COLUMNS};
use super::sql::{fetch_all, fetch_one, Bind, SqlFrag};
use super::{Store, StoreError, StoreResult, Tenant, UserRecord};

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
    /// Case-insensitive text that begins a word (or the whole) of the
    /// userName, displayName or an email, or an exact id (`search.rs`).
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
    /// A user member's SCIM data.
    pub data: Option<Value>,
    /// A user member's effective type and role.
    pub user_type: Option<String>,
    pub role: Option<String>,
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

/// The `ORDER BY` key of a user sort column (from a closed set, never
/// client text), and whether it can be NULL.
fn user_sort_key(store: &Store, sort: UserSort) -> (String, bool) {
    let d = store.dialect();
    match sort {
        UserSort::UserName => ("u.user_name_ci".into(), false),
        UserSort::DisplayName => (d.json_text("u.data_ci", &["displayname"]), true),
        UserSort::Email => ("u.email_ci".into(), true),
        UserSort::Status => ("u.status".into(), false),
        UserSort::Type => ("u.user_type".into(), false),
        UserSort::Role => ("u.role".into(), false),
        UserSort::Plan => ("u.plan".into(), true),
        UserSort::Created => ("u.created".into(), false),
        UserSort::LastModified => ("u.last_modified".into(), false),
        UserSort::LastSignIn => ("u.last_sign_in_at".into(), true),
    }
}

impl Store {
    fn user_list_where(&self, tenant: &Tenant, q: &UserListQuery) -> SqlFrag {
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
            .text(fold(g))
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
            super::search::condition(&mut f, tenant, s);
        }
        f
    }

    /// How many users of the list match, with `extra` SQL on the key.
    async fn count_users(
        &self,
        tx: &mut sqlx::AnyConnection,
        tenant: &Tenant,
        q: &UserListQuery,
        extra: &str,
    ) -> StoreResult<i64> {
        let mut count = SqlFrag::new();
        count.sql("SELECT count(*) AS n");
        count.append(self.user_list_where(tenant, q));
        count.sql(extra);
        Ok(fetch_one(&mut *tx, count).await?.try_get("n")?)
    }

    /// `limit` rows of the list where `extra` holds, in `order`, from
    /// `offset`.
    async fn user_rows(
        &self,
        tx: &mut sqlx::AnyConnection,
        tenant: &Tenant,
        q: &UserListQuery,
        extra: &str,
        order: &str,
        (offset, limit): (i64, i64),
    ) -> StoreResult<Vec<UserRecord>> {
        let mut page = SqlFrag::new();
        let cols = USER_COLUMNS
            .split(',')
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        page.sql(format!("SELECT {cols}"));
        page.append(self.user_list_where(tenant, q));
        page.sql(format!("{extra} ORDER BY {order} LIMIT "))
            .int(limit)
            .sql(" OFFSET ")
            .int(offset);
        let rows = fetch_all(&mut *tx, page).await?;
        rows.iter().map(row_to_user).collect()
    }

    /// One page of the admin user list and the total it pages through.
    /// Empty values sort last either way and the pk breaks ties, so pages
    /// never overlap. A key that can be empty is read in two ranges — the
    /// users with a value, in key order, then those without, in pk order —
    /// so each can walk an index instead of sorting the tenant.
    pub async fn admin_users(
        &self,
        tenant: &Tenant,
        q: &UserListQuery,
    ) -> StoreResult<(Vec<UserRecord>, i64)> {
        let mut tx = self.begin_read().await?;
        let total = self.count_users(&mut tx, tenant, q, "").await?;
        let dir = if q.descending { "DESC" } else { "ASC" };
        let (key, nullable) = user_sort_key(self, q.sort);
        let order = format!("{key} {dir}, u.pk {dir}");
        if !nullable {
            let users = self
                .user_rows(&mut tx, tenant, q, "", &order, (q.offset, q.limit))
                .await?;
            tx.commit().await?;
            return Ok((users, total));
        }
        let valued = format!(" AND {key} IS NOT NULL");
        let mut users = self
            .user_rows(&mut tx, tenant, q, &valued, &order, (q.offset, q.limit))
            .await?;
        let got = users.len() as i64;
        if got < q.limit {
            // Where the users without a value start in the list.
            let before = if got > 0 || q.offset == 0 {
                q.offset + got
            } else {
                self.count_users(&mut tx, tenant, q, &valued).await?
            };
            let rest = self
                .user_rows(
                    &mut tx,
                    tenant,
                    q,
                    &format!(" AND {key} IS NULL"),
                    &format!("u.pk {dir}"),
                    ((q.offset + got - before).max(0), q.limit - got),
                )
                .await?;
            users.extend(rest);
        }
        tx.commit().await?;
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
                    .text(like_contains(&fold(s)))
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
        .bind(fold(key))
        .fetch_optional(&mut *self.read.acquire().await?)
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
                    coalesce(u.user_name, g.display_name, m.display) AS name, u.status,
                    u.data AS user_data, u.user_type, u.role
             FROM memberships m
             LEFT JOIN users u ON m.member_type = 'User' AND u.id = m.member_id
             LEFT JOIN groups g ON m.member_type = 'Group' AND g.id = m.member_id
             WHERE m.group_pk = $1 ORDER BY m.member_id LIMIT $2 OFFSET $3",
        )
        .bind(group_pk)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MemberRow {
                    id: r.try_get("member_id")?,
                    kind: r.try_get("member_type")?,
                    name: r.try_get("name")?,
                    status: r.try_get("status")?,
                    data: r
                        .try_get::<Option<String>, _>("user_data")?
                        .map(|d| serde_json::from_str(&d))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    user_type: r.try_get("user_type")?,
                    role: r.try_get("role")?,
                })
            })
            .collect()
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
            for r in fetch_all(&mut *self.read.acquire().await?, f).await? {
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
            .match_users(tenant, "email", &[fold(key)])
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
