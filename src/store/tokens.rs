//! Bearer tokens: their rows (only the hash of a secret), the list with the
//! bound user's name, the last-use time, revocations, and the bootstrap
//! of an empty database.

use sqlx::Row;
use time::OffsetDateTime;

use super::rows::token_from_row;
use super::{Backend, Store, StoreResult, Tenant, TokenRecord, TokenRow, Tx};
use scim_protocol::datetime;

const TOKEN_COLUMNS: &str = "k.id, k.label, k.secret_hash, k.created, k.revoked, k.user_id, \
     k.scopes, k.last_used_at, k.created_by, k.created_by_user_id, t.id AS tenant_id, \
     t.name AS tenant_name";

/// How long noting a token's use waits for SQLite's writer connection.
const TOUCH_WAIT_MS: u64 = 250;

impl Store {
    /// On a database without any tenant: a write transaction that has
    /// created the tenant `name`, for the caller to add its first token to
    /// and commit. None when a tenant exists.
    pub async fn bootstrap(&self, name: &str, now: OffsetDateTime) -> StoreResult<Option<Tx>> {
        let mut tx = self.begin_bootstrap().await?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Ok(None);
        }
        let id: i64 =
            sqlx::query_scalar("INSERT INTO tenants (name, created) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(datetime::format(now))
                .fetch_one(&mut *tx)
                .await?;
        let tenant = Tenant {
            id,
            name: name.to_string(),
        };
        Ok(Some(Tx::adopt(tx, tenant, self)))
    }

    /// Store a token in a transaction of its own (tests, tools).
    pub async fn insert_token(&self, tenant: &Tenant, token: &TokenRecord) -> StoreResult<()> {
        let mut tx = self.write(tenant).await?;
        tx.insert_token(token).await?;
        tx.commit().await
    }

    pub async fn find_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.read.acquire().await?)
        .await?;
        row.map(|r| token_from_row(&r)).transpose()
    }

    /// The tokens of one tenant, or of all, with the bound user's name.
    pub async fn token_rows(&self, tenant: Option<&str>) -> StoreResult<Vec<TokenRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS}, u.user_name AS bound_user_name, c.user_name AS creator_name
             FROM tokens k JOIN tenants t ON t.id = k.tenant_id
             LEFT JOIN users u ON u.id = k.user_id AND u.tenant_id = k.tenant_id
             LEFT JOIN users c ON c.id = k.created_by_user_id AND c.tenant_id = k.tenant_id
             WHERE ($1 IS NULL OR t.name = $1) ORDER BY t.name, k.created, k.id"
        ))
        .bind(tenant)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenRow {
                    record: token_from_row(r)?,
                    user_name: r.try_get("bound_user_name")?,
                    creator_name: r.try_get("creator_name")?,
                })
            })
            .collect()
    }

    /// The tokens of one tenant, or of all (never their secrets).
    pub async fn list_tokens(&self, tenant: Option<&str>) -> StoreResult<Vec<TokenRecord>> {
        Ok(self
            .token_rows(tenant)
            .await?
            .into_iter()
            .map(|r| r.record)
            .collect())
    }

    /// Revoke a token in a transaction of its own; false if there is no
    /// such active token.
    pub async fn revoke_token(&self, id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let Some(rec) = self.find_token(id).await? else {
            return Ok(false);
        };
        let mut tx = self.write(&rec.tenant).await?;
        let done = tx.revoke_token(id, &datetime::format(now)).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Note when a token was used, unless that means waiting for the
    /// writer (a read must not queue behind a long write for this):
    /// whether it was written. SQLite: only when its one writer connection
    /// is free within `TOUCH_WAIT_MS`. PostgreSQL: the update locks the
    /// token's row only, which no tenant write holds.
    pub async fn touch_token_if_free(&self, id: &str, at: &str) -> StoreResult<bool> {
        let q = sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id);
        match self.backend {
            Backend::Postgres => {
                q.execute(&mut *self.write.acquire().await?).await?;
            }
            Backend::Sqlite => {
                // A connection just used is back in the pool within
                // moments; one held by a long write is not: give up then.
                let wait = std::time::Duration::from_millis(TOUCH_WAIT_MS);
                let Ok(conn) = tokio::time::timeout(wait, self.write.acquire()).await else {
                    return Ok(false);
                };
                q.execute(&mut *conn?).await?;
            }
        }
        Ok(true)
    }

    /// Set when a token was last used (what was read of the token before
    /// is stale: counted as a commit).
    pub async fn touch_token(&self, id: &str, at: &str) -> StoreResult<()> {
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *self.write.acquire().await?)
            .await?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }
}

impl Tx {
    pub async fn insert_token(&mut self, token: &TokenRecord) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO tokens (id, tenant_id, label, secret_hash, created, user_id, scopes, created_by, created_by_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&token.id)
        .bind(tid)
        .bind(&token.label)
        .bind(&token.secret_hash)
        .bind(&token.created)
        .bind(&token.user_id)
        .bind(token.scopes.join(","))
        .bind(&token.created_by)
        .bind(&token.created_by_user_id)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Revoke one of the tenant's tokens; false if there is no such active
    /// token.
    pub async fn revoke_token(&mut self, id: &str, at: &str) -> StoreResult<bool> {
        let tid = self.tid();
        let r = sqlx::query(
            "UPDATE tokens SET revoked = $1 WHERE id = $2 AND tenant_id = $3 AND revoked IS NULL",
        )
        .bind(at)
        .bind(id)
        .bind(tid)
        .execute(self.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revoke every live token bound to a user: (id, label) of each.
    pub async fn revoke_user_tokens(
        &mut self,
        user_id: &str,
        at: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        let tid = self.tid();
        let live: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, label FROM tokens WHERE tenant_id = $1 AND user_id = $2 AND revoked IS NULL ORDER BY id",
        )
        .bind(tid)
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await?;
        if !live.is_empty() {
            sqlx::query(
                "UPDATE tokens SET revoked = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked IS NULL",
            )
            .bind(at)
            .bind(tid)
            .bind(user_id)
            .execute(self.conn().await?)
            .await?;
        }
        Ok(live)
    }
}
