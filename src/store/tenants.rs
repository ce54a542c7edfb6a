//! Tenants: seat limits, run-time settings and the policy fingerprint
//! (their tokens are in `tokens.rs`).

use sqlx::Row;
use time::OffsetDateTime;

use super::{Store, StoreError, StoreResult, Tenant, TenantSettings, Tx};
use scim_protocol::datetime;

impl Store {
    pub async fn find_tenant(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        Ok(match row {
            Some(r) => Some(Tenant {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
            }),
            None => None,
        })
    }

    pub async fn ensure_tenant(&self, name: &str, now: OffsetDateTime) -> StoreResult<Tenant> {
        sqlx::query(
            "INSERT INTO tenants (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(datetime::format(now))
        .execute(&mut *self.write.acquire().await?)
        .await?;
        self.find_tenant(name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("tenant {name} vanished after its insert")))
    }

    /// Set a tenant's seat limits (None: unlimited).
    pub async fn set_seat_limits(
        &self,
        tenant: &Tenant,
        users: Option<i64>,
        viewers: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET max_users = $1, max_viewers = $2 WHERE id = $3")
            .bind(users)
            .bind(viewers)
            .bind(tenant.id)
            .execute(&mut *self.write.acquire().await?)
            .await?;
        Ok(())
    }

    /// Seats in use and limits: ((users, max), (viewers, max)).
    pub async fn seat_usage(
        &self,
        tenant: &Tenant,
    ) -> StoreResult<((i64, Option<i64>), (i64, Option<i64>))> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'user' AND deleted_at IS NULL) AS users,
                    (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'viewer' AND deleted_at IS NULL) AS viewers,
                    t.max_users, t.max_viewers
             FROM tenants t WHERE t.id = $1",
        )
        .bind(tenant.id)
        .fetch_one(&mut *self.read.acquire().await?)
        .await?;
        Ok((
            (row.try_get("users")?, row.try_get("max_users")?),
            (row.try_get("viewers")?, row.try_get("max_viewers")?),
        ))
    }

    /// Every tenant.
    pub async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM tenants ORDER BY id")
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| Tenant { id, name })
            .collect())
    }

    /// The tenant's run-time settings and seat usage.
    /// Whether the tenant takes registrations (its flag alone: no seat
    /// counts, cheap enough for every page that offers Invite user).
    pub async fn registrations_open(&self, tenant: &Tenant) -> StoreResult<bool> {
        let open: Option<i64> =
            sqlx::query_scalar("SELECT registrations FROM tenants WHERE id = $1")
                .bind(tenant.id)
                .fetch_optional(&mut *self.read.acquire().await?)
                .await?;
        open.map(|v| v != 0)
            .ok_or_else(|| StoreError::Corrupt(format!("tenant {} vanished", tenant.name)))
    }

    pub async fn tenant_settings(&self, tenant: &Tenant) -> StoreResult<TenantSettings> {
        let row = sqlx::query(
            "SELECT t.registrations, t.fallback_owner, t.max_users, t.max_viewers,
                    (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'user' AND deleted_at IS NULL) AS users,
                    (SELECT count(*) FROM users WHERE tenant_id = t.id AND user_type = 'viewer' AND deleted_at IS NULL) AS viewers
             FROM tenants t WHERE t.id = $1",
        )
        .bind(tenant.id)
        .fetch_optional(&mut *self.read.acquire().await?)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {} vanished", tenant.name)))?;
        Ok(TenantSettings {
            registrations: row.try_get::<i64, _>("registrations")? != 0,
            fallback_owner: row.try_get("fallback_owner")?,
            users: row.try_get("users")?,
            max_users: row.try_get("max_users")?,
            viewers: row.try_get("viewers")?,
            max_viewers: row.try_get("max_viewers")?,
        })
    }

    /// The policy fingerprint a tenant's users were last computed with.
    pub async fn policy_hash(&self, tenant: &Tenant) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT policy_hash FROM tenants WHERE id = $1")
                .bind(tenant.id)
                .fetch_one(&mut *self.read.acquire().await?)
                .await?,
        )
    }

    pub async fn set_policy_hash(&self, tenant: &Tenant, fingerprint: &str) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET policy_hash = $1 WHERE id = $2")
            .bind(fingerprint)
            .bind(tenant.id)
            .execute(&mut *self.write.acquire().await?)
            .await?;
        Ok(())
    }
}

impl Tx {
    /// The tenant's seat limit for a user type (`viewer`, else `user`);
    /// None: unlimited.
    pub async fn seat_limit(&mut self, user_type: &str) -> StoreResult<Option<i64>> {
        // Read once per transaction: the limits change only outside it,
        // by a write that waits for its lock.
        let (users, viewers) = match self.memo.seats {
            Some(limits) => limits,
            None => {
                let tid = self.tid();
                let limits: (Option<i64>, Option<i64>) =
                    sqlx::query_as("SELECT max_users, max_viewers FROM tenants WHERE id = $1")
                        .bind(tid)
                        .fetch_optional(self.conn().await?)
                        .await?
                        .unwrap_or((None, None));
                self.memo.seats = Some(limits);
                limits
            }
        };
        Ok(if user_type == "viewer" {
            viewers
        } else {
            users
        })
    }

    /// The fallback owner the tenant's settings name (an id), if any.
    pub async fn fallback_owner(&mut self) -> StoreResult<Option<String>> {
        let tid = self.tid();
        Ok(
            sqlx::query_scalar("SELECT fallback_owner FROM tenants WHERE id = $1")
                .bind(tid)
                .fetch_optional(self.conn().await?)
                .await?
                .flatten(),
        )
    }

    /// Live users of a type (disabled ones included: they hold their seat).
    pub async fn seats_used(&mut self, user_type: &str) -> StoreResult<i64> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM users WHERE tenant_id = $1 AND user_type = $2 AND deleted_at IS NULL",
        )
        .bind(tid)
        .bind(user_type)
        .fetch_one(self.conn().await?)
        .await?)
    }

    pub async fn set_registrations(&mut self, on: bool) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query("UPDATE tenants SET registrations = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(tid)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Set or clear the fallback owner (a user id).
    pub async fn set_fallback_owner(&mut self, user_id: Option<&str>) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query("UPDATE tenants SET fallback_owner = $1 WHERE id = $2")
            .bind(user_id)
            .bind(tid)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}
