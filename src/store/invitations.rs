//! Invitation links (only the hash of each secret) and the invitation
//! emails' delivery rows (never the link). Whether a link may be used, and
//! when a mail is given up, the directory decides.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, StoreResult, Tenant, Tx};

/// One invitation link issued to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub id: String,
    pub user_id: String,
    pub created: String,
    pub expires_at: String,
    /// `accepted`, `withdrawn` or `replaced`; `None` while open.
    pub ended: Option<String>,
    pub ended_at: Option<String>,
    /// Whether the user is deleted (their links are dead).
    pub user_deleted: bool,
}

/// A new invitation link.
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub secret_hash: &'a str,
    pub created: &'a str,
    pub expires_at: &'a str,
}

/// The delivery of one invitation email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    pub id: i64,
    pub tenant: Tenant,
    pub user_id: String,
    pub invitation_id: String,
    pub recipient: String,
    pub created: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    pub failed_at: Option<String>,
}

const INVITATION_COLUMNS: &str = "i.id, i.user_id, i.created, i.expires_at, i.ended, i.ended_at, CASE WHEN u.deleted_at IS NULL THEN 0 ELSE 1 END AS user_deleted";
const INVITATION_FROM: &str =
    "invitations i LEFT JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.user_id";
const MAIL_COLUMNS: &str = "m.id, t.id AS tid, t.name AS tname, m.user_id, m.invitation_id, m.recipient, m.created, m.attempts, m.last_error, m.sent_at, m.failed_at";

fn row_to_invitation(r: &AnyRow) -> StoreResult<InvitationRecord> {
    Ok(InvitationRecord {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        created: r.try_get("created")?,
        expires_at: r.try_get("expires_at")?,
        ended: r.try_get("ended")?,
        ended_at: r.try_get("ended_at")?,
        user_deleted: r.try_get::<i64, _>("user_deleted")? != 0,
    })
}

fn row_to_mail(r: &AnyRow) -> StoreResult<MailRecord> {
    Ok(MailRecord {
        id: r.try_get("id")?,
        tenant: Tenant {
            id: r.try_get("tid")?,
            name: r.try_get("tname")?,
        },
        user_id: r.try_get("user_id")?,
        invitation_id: r.try_get("invitation_id")?,
        recipient: r.try_get("recipient")?,
        created: r.try_get("created")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        sent_at: r.try_get("sent_at")?,
        failed_at: r.try_get("failed_at")?,
    })
}

impl Store {
    /// The invitation a secret's hash belongs to, in any state.
    pub async fn invitation_by_hash(
        &self,
        tenant: &Tenant,
        hash: &str,
    ) -> StoreResult<Option<InvitationRecord>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE i.tenant_id = $1 AND i.secret_hash = $2"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(hash)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        row.as_ref().map(row_to_invitation).transpose()
    }

    /// A user's latest invitation, in any state.
    pub async fn latest_invitation(
        &self,
        tenant: &Tenant,
        user_id: &str,
    ) -> StoreResult<Option<InvitationRecord>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE i.tenant_id = $1 AND i.user_id = $2
             ORDER BY i.created DESC, i.ended IS NULL DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(tenant.id)
            .bind(user_id)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        row.as_ref().map(row_to_invitation).transpose()
    }

    /// The email of an invitation, if one was queued.
    pub async fn invitation_mail(&self, invitation_id: &str) -> StoreResult<Option<MailRecord>> {
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox m JOIN tenants t ON t.id = m.tenant_id
             WHERE m.invitation_id = $1 ORDER BY m.id DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(invitation_id)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        row.as_ref().map(row_to_mail).transpose()
    }

    /// One mail's delivery row.
    pub async fn mail_by_id(&self, id: i64) -> StoreResult<Option<MailRecord>> {
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox m JOIN tenants t ON t.id = m.tenant_id WHERE m.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        row.as_ref().map(row_to_mail).transpose()
    }

    /// Mails still pending after `now` passed their `give_up_at`.
    pub async fn abandoned_mail(&self, now: &str, limit: i64) -> StoreResult<Vec<MailRecord>> {
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox m JOIN tenants t ON t.id = m.tenant_id
             WHERE m.sent_at IS NULL AND m.failed_at IS NULL AND m.give_up_at < $1 ORDER BY m.id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
        rows.iter().map(row_to_mail).collect()
    }

    /// One failed attempt of a mail that will be tried again (a mail that
    /// ended meanwhile keeps the reason it ended with).
    pub async fn mail_attempt_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1
             WHERE id = $2 AND sent_at IS NULL AND failed_at IS NULL",
        )
        .bind(error)
        .bind(id)
        .execute(&mut *self.write.acquire().await?)
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Record a new invitation link.
    pub async fn insert_invitation(&mut self, inv: &NewInvitation<'_>) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO invitations (id, tenant_id, user_id, secret_hash, created, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(inv.id)
        .bind(tid)
        .bind(inv.user_id)
        .bind(inv.secret_hash)
        .bind(inv.created)
        .bind(inv.expires_at)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// The invitation a secret's hash belongs to, read inside the write.
    pub async fn invitation_by_hash(
        &mut self,
        hash: &str,
    ) -> StoreResult<Option<InvitationRecord>> {
        let tid = self.tid();
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE i.tenant_id = $1 AND i.secret_hash = $2"
        );
        let row = sqlx::query(&sql)
            .bind(tid)
            .bind(hash)
            .fetch_optional(self.conn().await?)
            .await?;
        row.as_ref().map(row_to_invitation).transpose()
    }

    /// The user's open invitation, if any.
    pub async fn open_invitation(
        &mut self,
        user_id: &str,
    ) -> StoreResult<Option<InvitationRecord>> {
        let tid = self.tid();
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE i.tenant_id = $1 AND i.user_id = $2 AND i.ended IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(tid)
            .bind(user_id)
            .fetch_optional(self.conn().await?)
            .await?;
        row.as_ref().map(row_to_invitation).transpose()
    }

    /// End the user's open invitation (`accepted`, `withdrawn`, `replaced`)
    /// and cancel its email if it is not sent yet; whether one was open.
    pub async fn end_invitation(
        &mut self,
        user_id: &str,
        how: &str,
        at: &str,
    ) -> StoreResult<bool> {
        let tid = self.tid();
        let ended = sqlx::query(
            "UPDATE invitations SET ended = $1, ended_at = $2 WHERE tenant_id = $3 AND user_id = $4 AND ended IS NULL",
        )
        .bind(how)
        .bind(at)
        .bind(tid)
        .bind(user_id)
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0;
        sqlx::query(
            "UPDATE mail_outbox SET failed_at = $1, last_error = $2
             WHERE tenant_id = $3 AND user_id = $4 AND sent_at IS NULL AND failed_at IS NULL",
        )
        .bind(at)
        .bind(format!("cancelled: the invitation was {how}"))
        .bind(tid)
        .bind(user_id)
        .execute(self.conn().await?)
        .await?;
        Ok(ended)
    }

    /// Queue the email of an invitation (without its link); the row's id.
    pub async fn queue_invitation_mail(
        &mut self,
        user_id: &str,
        invitation_id: &str,
        recipient: &str,
        created: &str,
        give_up_at: &str,
    ) -> StoreResult<i64> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_outbox (tenant_id, kind, user_id, invitation_id, recipient, created, give_up_at)
             VALUES ($1, 'invitation', $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tid)
        .bind(user_id)
        .bind(invitation_id)
        .bind(recipient)
        .bind(created)
        .bind(give_up_at)
        .fetch_one(self.conn().await?)
        .await?)
    }

    /// The mail went out (or, with `error`, was given up); false when it
    /// had already ended. A mail that went out is recorded sent even when
    /// it was cancelled or marked abandoned while the SMTP exchange was
    /// under way: the message did leave, and the record says so.
    pub async fn end_mail(
        &mut self,
        id: i64,
        at: &str,
        error: Option<&str>,
        attempted: bool,
    ) -> StoreResult<bool> {
        let sql = match error {
            None => {
                "UPDATE mail_outbox SET sent_at = $1, failed_at = NULL, attempts = attempts + $2, last_error = $3
                     WHERE id = $4 AND sent_at IS NULL"
            }
            Some(_) => {
                "UPDATE mail_outbox SET failed_at = $1, attempts = attempts + $2, last_error = $3
                        WHERE id = $4 AND sent_at IS NULL AND failed_at IS NULL"
            }
        };
        Ok(sqlx::query(sql)
            .bind(at)
            .bind(i64::from(attempted))
            .bind(error)
            .bind(id)
            .execute(self.conn().await?)
            .await?
            .rows_affected()
            > 0)
    }

    /// A purge: the user's invitations and their emails' rows go.
    pub async fn erase_invitations(&mut self, user_id: &str) -> StoreResult<()> {
        let tid = self.tid();
        for sql in [
            "DELETE FROM mail_outbox WHERE tenant_id = $1 AND user_id = $2",
            "DELETE FROM invitations WHERE tenant_id = $1 AND user_id = $2",
        ] {
            sqlx::query(sql)
                .bind(tid)
                .bind(user_id)
                .execute(self.conn().await?)
                .await?;
        }
        Ok(())
    }
}
