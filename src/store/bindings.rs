//! Sign-in bindings: which `(issuer, subject)` identity is which user, the
//! live users a verified email names, and the claims of a user's latest
//! sign-in. Each method is one statement inside the caller's [`Tx`]; the
//! directory decides what to bind.

use serde_json::Value;

use super::{fold, StoreResult, Tx};

impl Tx {
    /// The id of the user (deleted ones included) bound to this identity.
    pub async fn bound_user(&mut self, issuer: &str, subject: &str) -> StoreResult<Option<String>> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(
            "SELECT u.id FROM oidc_bindings b JOIN users u ON u.pk = b.user_pk
             WHERE b.tenant_id = $1 AND b.issuer = $2 AND b.subject = $3",
        )
        .bind(tid)
        .bind(issuer)
        .bind(subject)
        .fetch_optional(self.conn().await?)
        .await?)
    }

    /// The subject a user is bound to at this issuer, if any.
    pub async fn bound_subject(
        &mut self,
        user_pk: i64,
        issuer: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT subject FROM oidc_bindings WHERE user_pk = $1 AND issuer = $2 LIMIT 1",
        )
        .bind(user_pk)
        .bind(issuer)
        .fetch_optional(self.conn().await?)
        .await?)
    }

    /// Bind an identity to a user.
    pub async fn bind_identity(
        &mut self,
        issuer: &str,
        subject: &str,
        user_pk: i64,
        at: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO oidc_bindings (tenant_id, issuer, subject, user_pk, created, last_seen)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tid)
        .bind(issuer)
        .bind(subject)
        .bind(user_pk)
        .bind(at)
        .bind(at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Note a sign-in of a bound identity.
    pub async fn touch_identity(
        &mut self,
        issuer: &str,
        subject: &str,
        at: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "UPDATE oidc_bindings SET last_seen = $1 WHERE tenant_id = $2 AND issuer = $3 AND subject = $4",
        )
        .bind(at)
        .bind(tid)
        .bind(issuer)
        .bind(subject)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Live users whose userName, or one of whose emails, is `email`
    /// (case-insensitively): their ids, oldest first.
    pub async fn live_users_with_email(&mut self, email: &str) -> StoreResult<Vec<String>> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(
            "SELECT u.id FROM users u
             WHERE u.tenant_id = $1 AND u.deleted_at IS NULL
               AND (u.user_name_ci = $2 OR EXISTS (
                    SELECT 1 FROM user_values v
                    WHERE v.user_pk = u.pk AND v.tenant_id = $1 AND v.attr = 'emails' AND v.value_ci = $2))
             ORDER BY u.pk",
        )
        .bind(tid)
        .bind(fold(email))
        .fetch_all(self.conn().await?)
        .await?)
    }

    /// Replace the claims of the user's latest sign-in.
    pub async fn set_claims(&mut self, pk: i64, claims: &Value) -> StoreResult<()> {
        sqlx::query("UPDATE users SET claims = $1 WHERE pk = $2")
            .bind(claims.to_string())
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}
