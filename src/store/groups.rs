//! Group rows and memberships. Membership lives in its own table, one row a
//! member, so a change costs the same in a group of ten or a million. The
//! directory resolves and checks member references first
//! ([`ResolvedMember`]); these methods only write them.

use serde_json::{Map, Value};

use super::rows::{display_name, external_id, fold, table};
use super::{StoreResult, Tx};
use scim_protocol::schema::Kind;

/// A member reference the directory has checked: it exists in the tenant,
/// as this kind.
#[derive(Debug, Clone)]
pub struct ResolvedMember {
    pub id: String,
    pub kind: &'static str,
    pub display: Option<String>,
}

/// A membership change, references checked.
#[derive(Debug, Clone)]
pub enum MemberChange {
    RemoveAll,
    Remove(Vec<String>),
    Add(Vec<ResolvedMember>),
    /// Remove those not listed, add the new ones: an identical list
    /// changes nothing.
    Replace(Vec<ResolvedMember>),
}

impl Tx {
    pub async fn insert_group(
        &mut self,
        id: &str,
        data: &Map<String, Value>,
        now: &str,
    ) -> StoreResult<i64> {
        let tid = self.tid();
        let (name, ci) = display_name(data);
        Ok(sqlx::query_scalar(
            "INSERT INTO groups (tenant_id, id, display_name, display_name_ci, external_id, data, version, created, last_modified)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING pk",
        )
        .bind(tid)
        .bind(id)
        .bind(name)
        .bind(ci)
        .bind(external_id(data))
        .bind(Value::Object(data.clone()).to_string())
        .bind(now)
        .bind(now)
        .fetch_one(self.conn().await?)
        .await?)
    }

    pub async fn update_group_data(
        &mut self,
        pk: i64,
        data: &Map<String, Value>,
        version: i64,
        now: &str,
    ) -> StoreResult<()> {
        let (name, ci) = display_name(data);
        sqlx::query(
            "UPDATE groups SET display_name = $1, display_name_ci = $2, external_id = $3, data = $4, version = $5, last_modified = $6
             WHERE pk = $7",
        )
        .bind(name)
        .bind(ci)
        .bind(external_id(data))
        .bind(Value::Object(data.clone()).to_string())
        .bind(version)
        .bind(now)
        .bind(pk)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Delete a resource row (a group; users are purged with `erase_user`).
    pub async fn delete_row(&mut self, kind: Kind, pk: i64) -> StoreResult<()> {
        sqlx::query(&format!("DELETE FROM {} WHERE pk = $1", table(kind)))
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// What a member id names in the tenant: `User` (live), `Group`, or
    /// nothing.
    pub async fn member_kind(&mut self, id: &str) -> StoreResult<Option<&'static str>> {
        let tid = self.tid();
        let found: Option<String> = sqlx::query_scalar(
            "SELECT 'User' FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
             UNION ALL SELECT 'Group' FROM groups WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tid)
        .bind(id)
        .fetch_optional(self.conn().await?)
        .await?;
        Ok(match found.as_deref() {
            Some("User") => Some("User"),
            Some("Group") => Some("Group"),
            _ => None,
        })
    }

    /// Whether `member` is already an ancestor of `group` (adding it would
    /// make a cycle).
    pub async fn is_ancestor(&mut self, group_id: &str, member: &str) -> StoreResult<bool> {
        let tid = self.tid();
        let hit: Option<i64> = sqlx::query_scalar(
            "WITH RECURSIVE anc(id) AS (
                SELECT g.id FROM memberships m JOIN groups g ON g.pk = m.group_pk AND g.tenant_id = $1
                  WHERE m.tenant_id = $1 AND m.member_id = $2
                UNION
                SELECT g.id FROM anc CROSS JOIN memberships m CROSS JOIN groups g
                  WHERE m.tenant_id = $1 AND m.member_id = anc.id AND g.pk = m.group_pk AND g.tenant_id = $1
             )
             SELECT 1 FROM anc WHERE id = $3 LIMIT 1",
        )
        .bind(tid)
        .bind(group_id)
        .bind(member)
        .fetch_optional(self.conn().await?)
        .await?;
        Ok(hit.is_some())
    }

    /// Apply membership changes; how many rows changed and the ids of the
    /// members added or removed.
    pub async fn apply_member_changes(
        &mut self,
        group_pk: i64,
        changes: &[MemberChange],
    ) -> StoreResult<(u64, Vec<String>)> {
        let mut changed = 0u64;
        let mut touched = Vec::new();
        for c in changes {
            match c {
                MemberChange::RemoveAll => {
                    let gone: Vec<String> = sqlx::query_scalar(
                        "DELETE FROM memberships WHERE group_pk = $1 RETURNING member_id",
                    )
                    .bind(group_pk)
                    .fetch_all(self.conn().await?)
                    .await?;
                    changed += gone.len() as u64;
                    touched.extend(gone);
                }
                MemberChange::Remove(ids) => {
                    for id in ids {
                        changed += self.remove_member(group_pk, id, &mut touched).await?;
                    }
                }
                MemberChange::Add(refs) => {
                    changed += self.add_members(group_pk, refs, &mut touched).await?;
                }
                MemberChange::Replace(refs) => {
                    changed += self.replace_members(group_pk, refs, &mut touched).await?;
                }
            }
        }
        Ok((changed, touched))
    }

    async fn replace_members(
        &mut self,
        group_pk: i64,
        refs: &[ResolvedMember],
        touched: &mut Vec<String>,
    ) -> StoreResult<u64> {
        let current: Vec<String> =
            sqlx::query_scalar("SELECT member_id FROM memberships WHERE group_pk = $1")
                .bind(group_pk)
                .fetch_all(self.conn().await?)
                .await?;
        let wanted: std::collections::HashSet<&str> = refs.iter().map(|m| m.id.as_str()).collect();
        let mut changed = 0;
        for id in current.iter().filter(|c| !wanted.contains(c.as_str())) {
            changed += self.remove_member(group_pk, id, touched).await?;
        }
        Ok(changed + self.add_members(group_pk, refs, touched).await?)
    }

    async fn remove_member(
        &mut self,
        group_pk: i64,
        id: &str,
        touched: &mut Vec<String>,
    ) -> StoreResult<u64> {
        let n = sqlx::query("DELETE FROM memberships WHERE group_pk = $1 AND member_id = $2")
            .bind(group_pk)
            .bind(id)
            .execute(self.conn().await?)
            .await?
            .rows_affected();
        if n > 0 {
            touched.push(id.to_string());
        }
        Ok(n)
    }

    async fn add_members(
        &mut self,
        group_pk: i64,
        refs: &[ResolvedMember],
        touched: &mut Vec<String>,
    ) -> StoreResult<u64> {
        let tid = self.tid();
        let mut changed = 0;
        for m in refs {
            let n = sqlx::query(
                "INSERT INTO memberships (group_pk, tenant_id, member_id, member_type, display, display_ci) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (group_pk, member_id) DO UPDATE SET display = excluded.display, display_ci = excluded.display_ci
                 WHERE excluded.display IS NOT NULL AND excluded.display IS DISTINCT FROM memberships.display",
            )
            .bind(group_pk)
            .bind(tid)
            .bind(&m.id)
            .bind(m.kind)
            .bind(&m.display)
            .bind(m.display.as_deref().map(fold))
            .execute(self.conn().await?)
            .await?
            .rows_affected();
            changed += n;
            if n > 0 {
                touched.push(m.id.clone());
            }
        }
        Ok(changed)
    }

    /// Remove `id` from every group that lists it; those groups get a new
    /// version. Their ids, for the audit rows and events the caller writes.
    pub async fn detach_member(&mut self, id: &str, at: &str) -> StoreResult<Vec<String>> {
        let tid = self.tid();
        let parents: Vec<String> = sqlx::query_scalar(
            "UPDATE groups SET version = version + 1, last_modified = $1
             WHERE pk IN (SELECT group_pk FROM memberships WHERE tenant_id = $2 AND member_id = $3)
             RETURNING id",
        )
        .bind(at)
        .bind(tid)
        .bind(id)
        .fetch_all(self.conn().await?)
        .await?;
        sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND member_id = $2")
            .bind(tid)
            .bind(id)
            .execute(self.conn().await?)
            .await?;
        Ok(parents)
    }

    /// Put a restored user back into a group that still exists (a new
    /// version of it); false when the group is gone.
    pub async fn readd_member(
        &mut self,
        group_id: &str,
        user_id: &str,
        at: &str,
    ) -> StoreResult<bool> {
        let tid = self.tid();
        let pk: Option<i64> = sqlx::query_scalar(
            "UPDATE groups SET version = version + 1, last_modified = $1 WHERE tenant_id = $2 AND id = $3 RETURNING pk",
        )
        .bind(at)
        .bind(tid)
        .bind(group_id)
        .fetch_optional(self.conn().await?)
        .await?;
        let Some(pk) = pk else { return Ok(false) };
        sqlx::query(
            "INSERT INTO memberships (group_pk, tenant_id, member_id, member_type) VALUES ($1, $2, $3, 'User') ON CONFLICT DO NOTHING",
        )
        .bind(pk)
        .bind(tid)
        .bind(user_id)
        .execute(self.conn().await?)
        .await?;
        Ok(true)
    }
}
