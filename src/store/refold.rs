//! The first start after case folding became Unicode (`store_facts.fold`):
//! every folded value is computed again by `fold`, the one folding
//! function — `userName` and group `displayName` shadows, users' folded JSON,
//! multi-valued value rows, member displays and the search terms — one
//! tenant and a few hundred rows per transaction. A name that now folds like
//! another live one (`ÉDITH` and `édith`, two users before) keeps its old
//! shadow and is logged: both users stay, and neither name can be taken by a
//! third. Idempotent; instances starting together each take their turn
//! through the tenant's write lock.

use serde_json::{Map, Value};
use sqlx::Row;

use super::rows::{fold, parse_json};
use super::{Store, StoreResult, Tenant, Tx};

/// What `store_facts.fold` says once every row is folded this way.
const FOLDED: &str = "unicode-full-1";
/// Rows per transaction.
const BATCH: i64 = 500;

impl Store {
    /// Refold every tenant's rows unless this database already is.
    pub(super) async fn refold_if_needed(&self) -> StoreResult<()> {
        let done: Option<String> =
            sqlx::query_scalar("SELECT value FROM store_facts WHERE name = 'fold'")
                .fetch_optional(&mut *self.write.acquire().await?)
                .await?;
        if done.as_deref() == Some(FOLDED) {
            return Ok(());
        }
        for tenant in self.tenants().await? {
            let (users, groups) = (
                self.refold_users(&tenant).await?,
                self.refold_groups(&tenant).await?,
            );
            tracing::info!(tenant = %tenant.name, users, groups, "case folding is now Unicode: rows refolded");
        }
        sqlx::query(
            "INSERT INTO store_facts (name, value) VALUES ('fold', $1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(FOLDED)
        .execute(&mut *self.write.acquire().await?)
        .await?;
        Ok(())
    }

    async fn refold_users(&self, tenant: &Tenant) -> StoreResult<u64> {
        let (mut after, mut n) = (0i64, 0u64);
        loop {
            let (mut tx, rows) = self.next_batch(tenant, USERS, after).await?;
            if rows.is_empty() {
                return Ok(n);
            }
            for r in &rows {
                let pk: i64 = r.try_get("pk")?;
                let name: String = r.try_get("user_name")?;
                let old: String = r.try_get("user_name_ci")?;
                let live: bool = r
                    .try_get::<i64, _>("live")
                    .map(|v| v != 0)
                    .or_else(|_| r.try_get::<bool, _>("live"))?;
                let data = match parse_json(&r.try_get::<String, _>("data")?)? {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                tx.refold_user(pk, &name, &old, live, &data).await?;
                (after, n) = (pk, n + 1);
            }
            tx.commit().await?;
        }
    }

    async fn refold_groups(&self, tenant: &Tenant) -> StoreResult<u64> {
        let (mut after, mut n) = (0i64, 0u64);
        loop {
            let (mut tx, rows) = self.next_batch(tenant, GROUPS, after).await?;
            if rows.is_empty() {
                return Ok(n);
            }
            for r in &rows {
                let pk: i64 = r.try_get("pk")?;
                let name: String = r.try_get("display_name")?;
                let old: String = r.try_get("display_name_ci")?;
                tx.refold_group(pk, &name, &old).await?;
                (after, n) = (pk, n + 1);
            }
            tx.commit().await?;
        }
    }

    /// A write transaction on `tenant` and its next rows of `select` (after
    /// primary key `after`).
    async fn next_batch(
        &self,
        tenant: &Tenant,
        select: &str,
        after: i64,
    ) -> StoreResult<(Tx, Vec<sqlx::any::AnyRow>)> {
        let mut tx = self.write(tenant).await?;
        let rows = sqlx::query(select)
            .bind(tenant.id)
            .bind(after)
            .bind(BATCH)
            .fetch_all(tx.conn().await?)
            .await?;
        Ok((tx, rows))
    }
}

const USERS: &str =
    "SELECT pk, user_name, user_name_ci, data, deleted_at IS NULL AS live FROM users
     WHERE tenant_id = $1 AND pk > $2 ORDER BY pk LIMIT $3";
const GROUPS: &str = "SELECT pk, display_name, display_name_ci FROM groups
     WHERE tenant_id = $1 AND pk > $2 ORDER BY pk LIMIT $3";

impl Tx {
    /// The name's new shadow, unless another row of `table` already holds
    /// it (then the old one, logged).
    async fn free_shadow(
        &mut self,
        table: &str,
        column: &str,
        live_only: bool,
        pk: i64,
        name: &str,
        old: &str,
    ) -> StoreResult<String> {
        let new = fold(name);
        if new == old {
            return Ok(new);
        }
        let live = if live_only {
            " AND deleted_at IS NULL"
        } else {
            ""
        };
        let taken: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT pk FROM {table} WHERE tenant_id = $1 AND {column} = $2 AND pk <> $3{live}"
        ))
        .bind(self.tid())
        .bind(&new)
        .bind(pk)
        .fetch_optional(self.conn().await?)
        .await?;
        if taken.is_some() {
            tracing::warn!(
                table,
                pk,
                "a name now folds like another one's: its old shadow is kept"
            );
            return Ok(old.to_string());
        }
        Ok(new)
    }

    async fn refold_user(
        &mut self,
        pk: i64,
        name: &str,
        old: &str,
        live: bool,
        data: &Map<String, Value>,
    ) -> StoreResult<()> {
        let ci = if live {
            self.free_shadow("users", "user_name_ci", true, pk, name, old)
                .await?
        } else {
            fold(name)
        };
        let json = Value::Object(data.clone()).to_string();
        sqlx::query("UPDATE users SET user_name_ci = $1, data_ci = $2 WHERE pk = $3")
            .bind(ci)
            .bind(fold(&json))
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        // The value rows, written again as a write would (with the email
        // the admin list sorts by).
        sqlx::query("DELETE FROM user_values WHERE user_pk = $1")
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        self.write_user_values(pk, data, false).await?;
        self.index_user(pk, data).await
    }

    async fn refold_group(&mut self, pk: i64, name: &str, old: &str) -> StoreResult<()> {
        let ci = self
            .free_shadow("groups", "display_name_ci", false, pk, name, old)
            .await?;
        sqlx::query("UPDATE groups SET display_name_ci = $1 WHERE pk = $2")
            .bind(ci)
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        let displays: Vec<(String, String)> = sqlx::query_as(
            "SELECT member_id, display FROM memberships WHERE group_pk = $1 AND display IS NOT NULL",
        )
        .bind(pk)
        .fetch_all(self.conn().await?)
        .await?;
        for (member, display) in displays {
            sqlx::query(
                "UPDATE memberships SET display_ci = $1 WHERE group_pk = $2 AND member_id = $3",
            )
            .bind(fold(&display))
            .bind(pk)
            .bind(member)
            .execute(self.conn().await?)
            .await?;
        }
        Ok(())
    }
}
