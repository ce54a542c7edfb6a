//! Reads: SCIM resources (one, a filtered and sorted page, a cursor page),
//! group members and the groups of members, users by key. Lists compile the
//! filter AST to parameterised SQL over indexed columns (`sql.rs`).

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};
use time::OffsetDateTime;

use super::rows::{fold, resource_columns, row_to_resource, row_to_user, table, USER_COLUMNS};
use super::sql::{fetch_all, fetch_one, Bind, Compiler, SqlFrag};
use super::{
    CursorPage, GroupRef, Member, Store, StoreResult, StoredResource, Tenant, Tx, UserRecord,
};
use scim_protocol::datetime;
use scim_protocol::list::{Cursor, ListQuery};
use scim_protocol::schema::Kind;

impl Store {
    pub async fn get(
        &self,
        kind: Kind,
        tenant: &Tenant,
        id: &str,
    ) -> StoreResult<Option<StoredResource>> {
        fetch_resource(&mut *self.read.acquire().await?, kind, tenant, id).await
    }

    pub(super) fn select_frag(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        columns: &str,
    ) -> SqlFrag {
        // `+r.tenant_id` keeps the tenant check but lets an indexed subquery
        // (emails, members, groups) drive the lookup.
        let driven = query
            .filter
            .as_ref()
            .is_some_and(Compiler::driven_by_subquery);
        let tenant_term = if driven {
            "+r.tenant_id"
        } else {
            "r.tenant_id"
        };
        let mut f = SqlFrag::new();
        f.sql(format!(
            "SELECT {columns} FROM {} r WHERE {tenant_term} = ",
            table(kind)
        ));
        f.int(tenant.id);
        if kind == Kind::User {
            f.sql(" AND r.deleted_at IS NULL");
        }
        if let Some(cond) = &query.filter {
            f.sql(" AND ");
            f.append(self.compiler(kind, tenant).condition(cond));
        }
        f
    }

    async fn count(
        &self,
        conn: &mut AnyConnection,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
    ) -> StoreResult<i64> {
        let row = fetch_one(conn, self.select_frag(kind, tenant, query, "count(*)")).await?;
        Ok(row.try_get(0)?)
    }

    /// One page of a filtered, sorted list, and the total match count.
    pub async fn list(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
    ) -> StoreResult<(i64, Vec<StoredResource>)> {
        let (total, items, _) = self.list_with_groups(kind, tenant, query, false).await?;
        Ok((total, items))
    }

    /// [`Store::list`], and with `groups` (users) each user's groups when
    /// the page took one statement: the common lookup (`userName eq …`),
    /// or any first page that is not full, reads the page, the total and
    /// the groups at once.
    pub async fn list_with_groups(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        groups: bool,
    ) -> StoreResult<(i64, Vec<StoredResource>, Option<GroupsOf>)> {
        let page = |with_groups: bool| {
            let mut columns = resource_columns(kind, "r.");
            if with_groups {
                columns.push_str(", ");
                columns.push_str(&self.groups_column(tenant));
            }
            let mut f = self.select_frag(kind, tenant, query, &columns);
            f.append(self.compiler(kind, tenant).order_by(query.sort.as_ref()));
            f.sql(" LIMIT ");
            f.int(query.count);
            f.sql(" OFFSET ");
            f.int(query.start_index - 1);
            f
        };
        let to_items = |rows: &[AnyRow]| {
            rows.iter()
                .map(row_to_resource)
                .collect::<StoreResult<Vec<_>>>()
        };
        // One statement: the page is every match, so its length is the total.
        if query.count > 0 && query.start_index == 1 {
            let with_groups = groups && kind == Kind::User;
            let rows = fetch_all(&mut *self.read.acquire().await?, page(with_groups)).await?;
            if (rows.len() as i64) < query.count {
                let items = to_items(&rows)?;
                let groups = match with_groups {
                    true => Some(groups_of_rows(&rows)?),
                    false => None,
                };
                return Ok((rows.len() as i64, items, groups));
            }
        }
        // Otherwise count and page read one snapshot, so totalResults
        // matches the page.
        let mut tx = self.begin_read().await?;
        let total = self.count(&mut tx, kind, tenant, query).await?;
        if query.count == 0 || total < query.start_index {
            tx.commit().await?;
            return Ok((total, vec![], None));
        }
        let rows = fetch_all(&mut *tx, page(false)).await?;
        tx.commit().await?;
        Ok((total, to_items(&rows)?, None))
    }

    /// A column of the page's user `r`: its groups, direct and through
    /// nesting, as JSON (`[[id, displayName, direct], …]`, by name), the
    /// walk [`Store::groups_of_many`] makes for one member.
    fn groups_column(&self, tenant: &Tenant) -> String {
        let t = tenant.id;
        let agg = self.dialect().json_rows(
            &["x.id", "x.display_name", "x.direct"],
            "x.display_name_ci, x.id",
        );
        format!(
            "(WITH RECURSIVE anc(pk, direct) AS (
                SELECT group_pk, 1 FROM memberships WHERE tenant_id = {t} AND member_id = r.id
                UNION
                SELECT m.group_pk, 0
                  FROM anc CROSS JOIN groups g CROSS JOIN memberships m
                  WHERE g.pk = anc.pk AND g.tenant_id = {t} AND m.tenant_id = {t} AND m.member_id = g.id)
              SELECT {agg} FROM (
                SELECT g.id, g.display_name, g.display_name_ci, max(anc.direct) AS direct
                FROM anc JOIN groups g ON g.pk = anc.pk
                GROUP BY g.pk, g.id, g.display_name, g.display_name_ci) x) AS member_groups"
        )
    }

    /// One cursor page (RFC 9865) in creation order: the total, the page,
    /// and the cursors to the pages after and before it, if any.
    pub async fn list_cursor(
        &self,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        cursor: Cursor,
    ) -> StoreResult<CursorPage> {
        let mut tx = self.begin_read().await?;
        let total = self.count(&mut tx, kind, tenant, query).await?;
        let (bound, backwards) = match cursor {
            Cursor::First => (None, false),
            Cursor::After(pk) => (Some(("r.pk > ", pk)), false),
            Cursor::Before(pk) => (Some(("r.pk < ", pk)), true),
        };
        let mut f = self.select_frag(kind, tenant, query, &resource_columns(kind, "r."));
        if let Some((op, pk)) = bound {
            f.sql(format!(" AND {op}"));
            f.int(pk);
        }
        f.sql(if backwards {
            " ORDER BY r.pk DESC LIMIT "
        } else {
            " ORDER BY r.pk LIMIT "
        });
        f.int(query.count + 1);
        let rows = fetch_all(&mut *tx, f).await?;
        let mut items = rows
            .iter()
            .map(row_to_resource)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() as i64 > query.count;
        items.truncate(query.count.max(0) as usize);
        if backwards {
            items.reverse();
        }
        // Is there anything on the other side of the page?
        let first = items.first().map(|r| r.pk);
        let last = items.last().map(|r| r.pk);
        let (more_before, more_after) = match cursor {
            Cursor::First => (false, more),
            Cursor::After(pk) => {
                let edge = first.unwrap_or(pk.saturating_add(1));
                (
                    self.any_beyond(&mut tx, kind, tenant, query, "r.pk < ", edge)
                        .await?,
                    more,
                )
            }
            Cursor::Before(pk) => {
                let edge = last.unwrap_or(pk.saturating_sub(1));
                (
                    more,
                    self.any_beyond(&mut tx, kind, tenant, query, "r.pk > ", edge)
                        .await?,
                )
            }
        };
        tx.commit().await?;
        // count=0 asks for no resources, so no position to continue from.
        let paging = query.count > 0;
        let next = (paging && more_after).then(|| {
            Cursor::next_text(last.unwrap_or(match cursor {
                Cursor::Before(pk) => pk.saturating_sub(1),
                _ => 0,
            }))
        });
        let previous = (paging && more_before).then(|| {
            Cursor::previous_text(first.unwrap_or(match cursor {
                Cursor::After(pk) => pk.saturating_add(1),
                _ => 0,
            }))
        });
        Ok(CursorPage {
            total,
            items,
            next,
            previous,
        })
    }

    async fn any_beyond(
        &self,
        conn: &mut AnyConnection,
        kind: Kind,
        tenant: &Tenant,
        query: &ListQuery,
        op: &str,
        pk: i64,
    ) -> StoreResult<bool> {
        let mut f = SqlFrag::new();
        f.sql("SELECT CASE WHEN EXISTS (");
        f.append(self.select_frag(kind, tenant, query, "1"));
        f.sql(format!(" AND {op}"));
        f.int(pk);
        f.sql(") THEN 1 ELSE 0 END");
        let row = fetch_one(&mut *conn, f).await?;
        Ok(row.try_get::<i64, _>(0)? != 0)
    }

    /// Members of a group, at most `limit`.
    pub async fn members(&self, group_pk: i64, limit: i64) -> StoreResult<Vec<Member>> {
        Ok(self
            .members_of_many(&[group_pk], limit, limit)
            .await?
            .remove(&group_pk)
            .unwrap_or_default())
    }

    /// Members of several groups in one query: at most `per_group` each and
    /// `total` in all.
    pub async fn members_of_many(
        &self,
        group_pks: &[i64],
        per_group: i64,
        total: i64,
    ) -> StoreResult<std::collections::HashMap<i64, Vec<Member>>> {
        let mut out: std::collections::HashMap<i64, Vec<Member>> = std::collections::HashMap::new();
        if group_pks.is_empty() || total <= 0 || per_group <= 0 {
            return Ok(out);
        }
        let mut f = SqlFrag::new();
        f.sql(
            "SELECT group_pk, member_id, member_type, display FROM (
               SELECT m.group_pk, m.member_id, m.member_type, m.display,
                      ROW_NUMBER() OVER (PARTITION BY m.group_pk ORDER BY m.member_id) AS n
               FROM memberships m WHERE m.group_pk IN (",
        );
        f.bind_list(group_pks.iter().map(|pk| Bind::Int(*pk)));
        f.sql(")) ranked WHERE n <= ");
        f.int(per_group);
        f.sql(" ORDER BY group_pk, member_id LIMIT ");
        f.int(total);
        let rows = fetch_all(&mut *self.read.acquire().await?, f).await?;
        for r in &rows {
            out.entry(r.try_get("group_pk")?).or_default().push(Member {
                id: r.try_get("member_id")?,
                kind: r.try_get("member_type")?,
                display: r.try_get("display")?,
            });
        }
        Ok(out)
    }

    /// Groups a user or group belongs to, directly and through nesting.
    pub async fn groups_of(&self, tenant: &Tenant, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        Ok(self
            .groups_of_many(tenant, &[member_id.to_string()])
            .await?
            .remove(member_id)
            .unwrap_or_default())
    }

    /// Groups of several members in one recursive query. The recursion
    /// deduplicates on (member, group, direct), so it ends on cycles by
    /// itself. Whether a membership is direct is carried by the recursion
    /// (seed rows are), not looked up per row. `CROSS JOIN` makes SQLite
    /// walk from the one queued row outwards (PostgreSQL plans it as an
    /// inner join); left to itself, SQLite scanned the memberships table
    /// (26 ms per lookup of a member of a 100,000-member group).
    pub async fn groups_of_many(
        &self,
        tenant: &Tenant,
        member_ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, Vec<GroupRef>>> {
        let mut out: std::collections::HashMap<String, Vec<GroupRef>> =
            std::collections::HashMap::new();
        if member_ids.is_empty() {
            return Ok(out);
        }
        let mut f = SqlFrag::new();
        f.sql(
            "WITH RECURSIVE anc(origin, pk, direct) AS (
                SELECT member_id, group_pk, 1 FROM memberships WHERE tenant_id = ",
        );
        f.int(tenant.id);
        f.sql(" AND member_id IN (");
        f.bind_list(member_ids.iter().map(|id| Bind::Text(id.clone())));
        f.sql(
            ")
                UNION
                SELECT anc.origin, m.group_pk, 0
                  FROM anc CROSS JOIN groups g CROSS JOIN memberships m
                  WHERE g.pk = anc.pk AND g.tenant_id = ",
        );
        f.int(tenant.id);
        f.sql(" AND m.tenant_id = ");
        f.int(tenant.id);
        f.sql(
            " AND m.member_id = g.id
             )
             SELECT anc.origin, g.id, g.display_name, max(anc.direct) AS direct
             FROM anc JOIN groups g ON g.pk = anc.pk
             GROUP BY anc.origin, g.pk, g.id, g.display_name, g.display_name_ci
             ORDER BY anc.origin, g.display_name_ci, g.id",
        );
        let rows = fetch_all(&mut *self.read.acquire().await?, f).await?;
        for r in &rows {
            out.entry(r.try_get("origin")?).or_default().push(GroupRef {
                id: r.try_get("id")?,
                display: r.try_get("display_name")?,
                direct: r.try_get::<i64, _>("direct")? != 0,
            });
        }
        Ok(out)
    }

    /// Deleted users whose retention window has ended: (tenant, id).
    pub async fn due_purges(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<(Tenant, String)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT t.id, t.name, u.id FROM users u JOIN tenants t ON t.id = u.tenant_id
             WHERE u.purge_after IS NOT NULL AND u.purge_after <= $1 ORDER BY u.purge_after LIMIT $2",
        )
        .bind(datetime::format(now))
        .bind(limit)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tid, name, id)| (Tenant { id: tid, name }, id))
            .collect())
    }

    /// A user by id or userName, deleted ones included (by id).
    pub async fn user_record(&self, tenant: &Tenant, key: &str) -> StoreResult<Option<UserRecord>> {
        let mut conn = self.read.acquire().await?;
        find_user(&mut conn, tenant, key).await
    }
}

/// One resource by id within a tenant, on a pool or inside a transaction.
pub(super) async fn fetch_resource<'e, E>(
    executor: E,
    kind: Kind,
    tenant: &Tenant,
    id: &str,
) -> StoreResult<Option<StoredResource>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let live = match kind {
        Kind::User => " AND deleted_at IS NULL",
        Kind::Group => "",
    };
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1 AND tenant_id = $2{live}",
        resource_columns(kind, ""),
        table(kind)
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(tenant.id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(row_to_resource).transpose()
}

/// A user by id, or by userName among live users; deleted users by id only.
pub(super) async fn find_user(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    key: &str,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2
         UNION ALL
         SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_name_ci = $3 AND deleted_at IS NULL
         LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(tenant.id)
        .bind(key)
        .bind(fold(key))
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(row_to_user).transpose()
}

impl Tx {
    /// A live resource by id, read inside the write.
    pub async fn fetch(&mut self, kind: Kind, id: &str) -> StoreResult<Option<StoredResource>> {
        if kind == Kind::User {
            if let Some(stored) = self.prefetched.take_user(id) {
                return Ok(Some(stored));
            }
        }
        let tenant = self.tenant().clone();
        fetch_resource(self.conn().await?, kind, &tenant, id).await
    }

    /// A user by id (deleted ones too) or by userName (live ones).
    pub async fn find_user(&mut self, key: &str) -> StoreResult<Option<UserRecord>> {
        let tenant = self.tenant().clone();
        find_user(self.conn().await?, &tenant, key).await
    }

    /// The id of another resource of this kind that already has the name
    /// (userName or displayName, compared folded) `data` carries.
    pub async fn name_owner(
        &mut self,
        kind: Kind,
        name_ci: &str,
        except_pk: Option<i64>,
    ) -> StoreResult<Option<String>> {
        if let (Kind::User, None, Some(run)) = (kind, except_pk, &self.create_run) {
            if let Some(owner) = run.name_owner(name_ci) {
                return Ok(owner);
            }
        }
        let sql = match kind {
            Kind::User => "SELECT id FROM users WHERE tenant_id = $1 AND user_name_ci = $2 AND pk <> $3 AND deleted_at IS NULL",
            Kind::Group => "SELECT id FROM groups WHERE tenant_id = $1 AND display_name_ci = $2 AND pk <> $3",
        };
        let tid = self.tid();
        Ok(sqlx::query_scalar(sql)
            .bind(tid)
            .bind(name_ci)
            .bind(except_pk.unwrap_or(-1))
            .fetch_optional(self.conn().await?)
            .await?)
    }
}

/// Each user's groups, by user id.
pub type GroupsOf = std::collections::HashMap<String, Vec<GroupRef>>;

/// The groups the page's rows carry in their `member_groups` column.
fn groups_of_rows(rows: &[AnyRow]) -> StoreResult<GroupsOf> {
    let mut out = GroupsOf::new();
    for r in rows {
        let text: Option<String> = r.try_get("member_groups")?;
        let list: Vec<(String, String, i64)> = match text.as_deref() {
            Some(t) => serde_json::from_str(t).map_err(|e| {
                super::StoreError::Corrupt(format!("a page's groups column is not JSON: {e}"))
            })?,
            None => Vec::new(),
        };
        let groups = list
            .into_iter()
            .map(|(id, display, direct)| GroupRef {
                id,
                display,
                direct: direct != 0,
            })
            .collect();
        out.insert(r.try_get("id")?, groups);
    }
    Ok(out)
}
