//! Console sessions and one-time sign-in links: rows keyed by the SHA-256
//! (hex) of their secret, never the secret itself. No rule here: the
//! directory decides the timeouts, who may sign in and when a session ends.

use sqlx::Row;

use super::{Store, StoreResult, Tenant, Tx};

/// A console session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub tenant: Tenant,
    /// The directory user signed in.
    pub user_id: String,
    /// How the session was opened: `login-link` or `oidc`.
    pub via: String,
    /// When it was opened (canonical dateTime text).
    pub created: String,
    /// When it was last used.
    pub last_seen: String,
}

/// A one-time sign-in link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLinkRecord {
    pub tenant: Tenant,
    pub user_id: String,
    pub created: String,
    pub expires: String,
    /// When it opened a session (a link opens one, once).
    pub used: Option<String>,
}

impl Store {
    /// The session whose id hashes to `id_hash`.
    pub async fn console_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT s.user_id, s.via, s.created, s.last_seen, t.id AS tenant_id, t.name AS tenant_name
             FROM console_sessions s JOIN tenants t ON t.id = s.tenant_id WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&mut *self.read.acquire().await?)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                tenant: Tenant {
                    id: r.try_get("tenant_id")?,
                    name: r.try_get("tenant_name")?,
                },
                user_id: r.try_get("user_id")?,
                via: r.try_get("via")?,
                created: r.try_get("created")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .transpose()
    }

    /// The sign-in link whose secret hashes to `hash`.
    pub async fn login_link(&self, hash: &str) -> StoreResult<Option<LoginLinkRecord>> {
        let row = sqlx::query(
            "SELECT l.user_id, l.created, l.expires, l.used, t.id AS tenant_id, t.name AS tenant_name
             FROM console_login_links l JOIN tenants t ON t.id = l.tenant_id WHERE l.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *self.read.acquire().await?)
        .await?;
        row.map(|r| {
            Ok(LoginLinkRecord {
                tenant: Tenant {
                    id: r.try_get("tenant_id")?,
                    name: r.try_get("tenant_name")?,
                },
                user_id: r.try_get("user_id")?,
                created: r.try_get("created")?,
                expires: r.try_get("expires")?,
                used: r.try_get("used")?,
            })
        })
        .transpose()
    }
}

impl Tx {
    /// Store a new sign-in link for `user_id` of this tenant.
    pub async fn insert_login_link(
        &mut self,
        hash: &str,
        user_id: &str,
        created: &str,
        expires: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO console_login_links (hash, tenant_id, user_id, created, expires) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(tid)
        .bind(user_id)
        .bind(created)
        .bind(expires)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Mark the link used at `at`; false when it was used already (two
    /// clicks race: one wins).
    pub async fn use_login_link(&mut self, hash: &str, at: &str) -> StoreResult<bool> {
        let tid = self.tid();
        let r = sqlx::query(
            "UPDATE console_login_links SET used = $1 WHERE hash = $2 AND tenant_id = $3 AND used IS NULL",
        )
        .bind(at)
        .bind(hash)
        .bind(tid)
        .execute(self.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Open a session for `user_id` of this tenant.
    pub async fn insert_session(
        &mut self,
        id_hash: &str,
        user_id: &str,
        via: &str,
        at: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, tenant_id, user_id, via, created, last_seen) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id_hash)
        .bind(tid)
        .bind(user_id)
        .bind(via)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Note that the session was used at `at`.
    pub async fn touch_session(&mut self, id_hash: &str, at: &str) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "UPDATE console_sessions SET last_seen = $1 WHERE id_hash = $2 AND tenant_id = $3",
        )
        .bind(at)
        .bind(id_hash)
        .bind(tid)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// End one session; false when there was none.
    pub async fn delete_session(&mut self, id_hash: &str) -> StoreResult<bool> {
        let tid = self.tid();
        let r = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1 AND tenant_id = $2")
            .bind(id_hash)
            .bind(tid)
            .execute(self.conn().await?)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// End every session of a user of this tenant; how many ended.
    pub async fn delete_user_sessions(&mut self, user_id: &str) -> StoreResult<u64> {
        let tid = self.tid();
        let r = sqlx::query("DELETE FROM console_sessions WHERE tenant_id = $1 AND user_id = $2")
            .bind(tid)
            .bind(user_id)
            .execute(self.conn().await?)
            .await?;
        Ok(r.rows_affected())
    }

    /// Forget this tenant's sessions idle since before `idle_before` or
    /// opened before `opened_before`, and links that expired before
    /// `links_before`.
    pub async fn sweep_console(
        &mut self,
        idle_before: &str,
        opened_before: &str,
        links_before: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "DELETE FROM console_sessions WHERE tenant_id = $1 AND (last_seen < $2 OR created < $3)",
        )
        .bind(tid)
        .bind(idle_before)
        .bind(opened_before)
        .execute(self.conn().await?)
        .await?;
        sqlx::query("DELETE FROM console_login_links WHERE tenant_id = $1 AND expires < $2")
            .bind(tid)
            .bind(links_before)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}
