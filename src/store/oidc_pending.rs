//! Console sign-ins through an identity provider that are under way, keyed
//! by the SHA-256 (hex) of their `state`. No secret is stored (the
//! directory derives the PKCE verifier and the nonce); no rule here: the
//! directory decides how long one lives and how many may be under way.

use sqlx::Row;

use super::{Store, StoreResult};

/// A sign-in under way as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcPendingRecord {
    pub state_hash: String,
    /// The SHA-256 (hex) of the cookie of the browser that started it.
    pub browser_hash: String,
    pub tenant: String,
    pub issuer: String,
    pub redirect_uri: String,
    pub next_path: String,
    /// Canonical dateTime text.
    pub expires: String,
}

impl Store {
    /// Forget the sign-ins that expired by `now`, then keep `p` unless
    /// `max` are under way already: whether it was kept.
    pub async fn remember_oidc_pending(
        &self,
        p: &OidcPendingRecord,
        now: &str,
        max: i64,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM console_oidc_pending WHERE expires <= $1")
            .bind(now)
            .execute(&mut *self.write.acquire().await?)
            .await?;
        let under_way: i64 = sqlx::query_scalar("SELECT count(*) FROM console_oidc_pending")
            .fetch_one(&mut *self.write.acquire().await?)
            .await?;
        if under_way >= max {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO console_oidc_pending
                 (state_hash, browser_hash, tenant, issuer, redirect_uri, next_path, expires)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&p.state_hash)
        .bind(&p.browser_hash)
        .bind(&p.tenant)
        .bind(&p.issuer)
        .bind(&p.redirect_uri)
        .bind(&p.next_path)
        .bind(&p.expires)
        .execute(&mut *self.write.acquire().await?)
        .await?;
        Ok(true)
    }

    /// Take the sign-in under way whose state hashes to `state_hash`: it is
    /// gone from the store after this, whoever asked first gets it.
    pub async fn take_oidc_pending(
        &self,
        state_hash: &str,
    ) -> StoreResult<Option<OidcPendingRecord>> {
        let row = sqlx::query(
            "DELETE FROM console_oidc_pending WHERE state_hash = $1
             RETURNING state_hash, browser_hash, tenant, issuer, redirect_uri, next_path, expires",
        )
        .bind(state_hash)
        .fetch_optional(&mut *self.write.acquire().await?)
        .await?;
        row.map(|r| {
            Ok(OidcPendingRecord {
                state_hash: r.try_get("state_hash")?,
                browser_hash: r.try_get("browser_hash")?,
                tenant: r.try_get("tenant")?,
                issuer: r.try_get("issuer")?,
                redirect_uri: r.try_get("redirect_uri")?,
                next_path: r.try_get("next_path")?,
                expires: r.try_get("expires")?,
            })
        })
        .transpose()
    }
}
