//! The admin console's sessions: who may open one, one-time sign-in links
//! (valid 10 minutes, used once), the timeouts (30 minutes idle, 12 hours
//! in all), the CSRF token bound to a session, and logout. Only the
//! SHA-256 of a session id or a link secret is stored.
//!
//! A session belongs to a directory user and acts with that user's rights
//! as they are on each request: a session whose user is disabled, banned or
//! deleted ends on its next request.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::sign_in::{Provisioned, SignInClaims};
use super::views::{sign_in_allowed, ConsoleUser, Permit, UserRow};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{AuditEntry, SessionRecord, Tenant, UserRecord};
use scim_protocol::datetime;

/// A sign-in link opens a session within this time, once.
pub const LINK_MINUTES: i64 = 10;
/// A session unused this long ends.
pub const IDLE_MINUTES: i64 = 30;
/// A session ends this long after it was opened, however busy.
pub const ABSOLUTE_HOURS: i64 = 12;
/// A session's last use is written at most this often (a page's requests
/// do not each write).
pub const TOUCH_SECONDS: i64 = 60;

/// Where a console request comes from (for the audit trail).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
}

/// A new one-time sign-in link's secret (shown once; only its hash is
/// stored) and when it expires.
#[derive(Debug, Clone)]
pub struct LoginLink {
    pub secret: String,
    pub user_name: String,
    pub expires: String,
}

/// A session opened: its id for the cookie (only its hash is stored).
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub secret: String,
    pub tenant: Tenant,
}

/// A live session as of this request.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// The session id (from the cookie), for the CSRF token and logout.
    secret: String,
    pub tenant: Tenant,
    /// The signed-in user as of this request.
    pub user: ConsoleUser,
    /// When the session ends at the latest.
    pub expires: String,
}

impl ConsoleSession {
    /// The CSRF token every state-changing request of this session carries.
    pub fn csrf(&self) -> String {
        csrf_token(&self.secret)
    }

    /// Whether `presented` is this session's CSRF token.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        self.csrf().as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// The directory context of a request in this session: the user acts
    /// with their own rights.
    pub fn ctx(&self, info: RequestInfo) -> Ctx {
        Ctx {
            tenant: self.tenant.clone(),
            actor: console_actor(&self.user.user_name),
            actor_user_id: Some(self.user.id.clone()),
            source_ip: info.source_ip,
            request_id: info.request_id,
            base_url: String::new(),
            operator: false,
        }
    }
}

fn console_actor(user_name: &str) -> String {
    format!("user:{user_name} (console)")
}

/// The audit row of a console sign-in of `user`.
fn signed_in(user: &UserRecord, info: RequestInfo, description: String) -> AuditEntry {
    AuditEntry {
        actor: console_actor(&user.user_name),
        actor_user_id: Some(user.id.clone()),
        source_ip: info.source_ip,
        request_id: info.request_id,
        object_type: "User".into(),
        object_id: Some(user.id.clone()),
        object_name: Some(user.user_name.clone()),
        action: "console_signed_in".into(),
        description,
        job_id: None,
        details: None,
    }
}

fn hash_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn csrf_token(secret: &str) -> String {
    hash_hex(&format!("rollcall-console-csrf\0{secret}"))
}

pub(super) fn new_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// Why a user may not open a console session, if they may not.
fn refusal(u: &UserRecord) -> Option<String> {
    if u.deleted_at.is_some() {
        return Some(format!("{} is deleted", u.user_name));
    }
    if !sign_in_allowed(u) {
        return Some(format!("{} is {}", u.user_name, u.status));
    }
    None
}

fn parse(at: &str) -> DirectoryResult<OffsetDateTime> {
    datetime::parse(at).ok_or_else(|| DirectoryError::Internal(format!("bad stored time {at}")))
}

impl Directory {
    /// A one-time sign-in link for `user_key` (break-glass: `rollcall
    /// console login-link`), audited. Refused for a user who may not sign in.
    pub async fn issue_login_link(&self, ctx: &Ctx, user_key: &str) -> DirectoryResult<LoginLink> {
        let user = self
            .live_user(&ctx.tenant, user_key)
            .await?
            .ok_or_else(|| {
                DirectoryError::NotFound(format!(
                    "tenant \"{}\" has no user \"{user_key}\"",
                    ctx.tenant.name
                ))
            })?;
        if let Some(why) = refusal(&user) {
            return Err(DirectoryError::Forbidden(format!(
                "no console sign-in link: {why}"
            )));
        }
        let now = self.clock.now();
        let expires = datetime::format(now + Duration::minutes(LINK_MINUTES));
        let secret = new_secret("rcl_");
        let audit = ctx.audit(
            "User",
            Some(user.id.clone()),
            Some(user.user_name.clone()),
            "console_link_issued",
            format!("one-time console sign-in link issued, valid until {expires}"),
        );
        let mut tx = self.store.write(&ctx.tenant).await?;
        self.sweep(&mut tx, now).await?;
        tx.insert_login_link(
            &hash_hex(&secret),
            &user.id,
            &datetime::format(now),
            &expires,
        )
        .await?;
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(LoginLink {
            secret,
            user_name: user.user_name,
            expires,
        })
    }

    /// The user a sign-in link is for, while it can still open a session.
    pub async fn login_link_user(&self, secret: &str) -> DirectoryResult<Option<String>> {
        let Some(link) = self.store.login_link(&hash_hex(secret)).await? else {
            return Ok(None);
        };
        if link.used.is_some() || parse(&link.expires)? <= self.clock.now() {
            return Ok(None);
        }
        Ok(self
            .live_user(&link.tenant, &link.user_id)
            .await?
            .filter(|u| refusal(u).is_none())
            .map(|u| u.user_name))
    }

    /// Open a session with a sign-in link: the link is used up, the user
    /// must still be allowed to sign in, the sign-in is audited.
    pub async fn open_session_with_link(
        &self,
        secret: &str,
        info: RequestInfo,
    ) -> DirectoryResult<OpenedSession> {
        let invalid = || {
            DirectoryError::Forbidden(
                "this sign-in link is not valid: it was used already, it expired (links last 10 minutes), or it never existed; ask for a new one (rollcall console login-link)".into(),
            )
        };
        let hash = hash_hex(secret);
        let link = self.store.login_link(&hash).await?.ok_or_else(invalid)?;
        let now = self.clock.now();
        if link.used.is_some() || parse(&link.expires)? <= now {
            return Err(invalid());
        }
        let user = self
            .live_user(&link.tenant, &link.user_id)
            .await?
            .ok_or_else(invalid)?;
        if let Some(why) = refusal(&user) {
            return Err(DirectoryError::Forbidden(format!(
                "you cannot sign in: {why}"
            )));
        }
        let session = new_secret("rcs_");
        let at = datetime::format(now);
        let audit = signed_in(
            &user,
            info,
            "signed in to the console with a one-time link".into(),
        );
        let mut tx = self.store.write(&link.tenant).await?;
        self.sweep(&mut tx, now).await?;
        if !tx.use_login_link(&hash, &at).await? {
            return Err(invalid());
        }
        tx.insert_session(&hash_hex(&session), &user.id, "login-link", &at)
            .await?;
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(OpenedSession {
            secret: session,
            tenant: link.tenant,
        })
    }

    /// Open a session for an identity the tenant's identity provider
    /// vouched for (a verified ID token of the console's client): it signs
    /// in exactly as through `/admin/v1/sign-in` (binding, JIT, role
    /// mapping), then the session opens, in the same transaction. A refusal
    /// changes nothing but an audit row (`console_sign_in_refused`) when the
    /// user exists.
    pub(crate) async fn open_session_with_identity(
        &self,
        tenant_name: &str,
        claims: &SignInClaims,
        info: RequestInfo,
    ) -> DirectoryResult<OpenedSession> {
        let tenant = self.store.find_tenant(tenant_name).await?.ok_or_else(|| {
            DirectoryError::Forbidden(format!(
                "you cannot sign in: tenant \"{tenant_name}\" has no users yet"
            ))
        })?;
        let ctx = Ctx {
            tenant: tenant.clone(),
            actor: format!("oidc:{} (console)", claims.issuer),
            actor_user_id: None,
            source_ip: info.source_ip.clone(),
            request_id: info.request_id.clone(),
            base_url: String::new(),
            operator: false,
        };
        let now = self.clock.now();
        let mut tx = self.store.write(&tenant).await?;
        let user = match self.provision(&ctx, &mut tx, claims).await? {
            Provisioned::Allowed { user, .. } => user,
            Provisioned::Refused { user, reason } => {
                drop(tx);
                return Err(self.refuse_console(&ctx, user, reason, now).await);
            }
        };
        if let Some(why) = refusal(&user) {
            drop(tx);
            return Err(self.refuse_console(&ctx, Some(user), why, now).await);
        }
        let session = new_secret("rcs_");
        let audit = signed_in(
            &user,
            info,
            format!(
                "signed in to the console through the identity provider {} (subject {})",
                claims.issuer, claims.subject
            ),
        );
        self.sweep(&mut tx, now).await?;
        tx.insert_session(
            &hash_hex(&session),
            &user.id,
            "oidc",
            &datetime::format(now),
        )
        .await?;
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(OpenedSession {
            secret: session,
            tenant,
        })
    }

    /// A refused console sign-in: audited when the user exists; the error
    /// to show.
    async fn refuse_console(
        &self,
        ctx: &Ctx,
        user: Option<UserRecord>,
        reason: String,
        now: OffsetDateTime,
    ) -> DirectoryError {
        if let Some(u) = user {
            let audit = ctx.audit(
                "User",
                Some(u.id.clone()),
                Some(u.user_name.clone()),
                "console_sign_in_refused",
                format!("console sign-in through the identity provider refused: {reason}"),
            );
            let recorded = async {
                let mut tx = self.store.write(&ctx.tenant).await?;
                tx.record_audit(now, &audit).await?;
                tx.commit().await
            };
            if let Err(e) = recorded.await {
                return DirectoryError::from(e);
            }
        }
        DirectoryError::Forbidden(format!("you cannot sign in: {reason}"))
    }

    /// The live session behind a cookie's session id, with its user's
    /// rights as they are now. An expired session, or one whose user may no
    /// longer sign in, ends here.
    pub async fn console_session(&self, secret: &str) -> DirectoryResult<Option<ConsoleSession>> {
        let hash = hash_hex(secret);
        let Some(rec) = self.store.console_session(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let (ends, idle_ends) = session_deadlines(&rec)?;
        let user = self.live_user(&rec.tenant, &rec.user_id).await?;
        let live = user.filter(|u| refusal(u).is_none());
        let (Some(user), true) = (live, now < ends && now < idle_ends) else {
            let mut tx = self.store.write(&rec.tenant).await?;
            tx.delete_session(&hash).await?;
            tx.commit().await?;
            return Ok(None);
        };
        if now - parse(&rec.last_seen)? >= Duration::seconds(TOUCH_SECONDS) {
            let mut tx = self.store.write(&rec.tenant).await?;
            tx.touch_session(&hash, &datetime::format(now)).await?;
            tx.commit().await?;
        }
        let row = UserRow::from(&user);
        let ctx = Ctx {
            tenant: rec.tenant.clone(),
            actor: console_actor(&user.user_name),
            actor_user_id: Some(user.id.clone()),
            source_ip: None,
            request_id: None,
            base_url: String::new(),
            operator: false,
        };
        let administer = match self.acting_admin(&ctx).await {
            Ok(a) if a.permissions.iter().any(|p| !p.is_read()) => Permit::yes(),
            Ok(a) => Permit::no(format!(
                "role \"{}\" cannot administer users: it carries no permission beyond reading the directory",
                a.role
            )),
            Err(e) => Permit::no(e.to_string()),
        };
        let read_audit = self.audit_permit(&ctx).await;
        Ok(Some(ConsoleSession {
            secret: secret.to_string(),
            tenant: rec.tenant,
            user: ConsoleUser {
                tenant: ctx.tenant.name,
                id: user.id,
                user_name: user.user_name,
                display_name: row.display_name,
                role: user.role,
                administer,
                read_audit,
            },
            expires: datetime::format(ends),
        }))
    }

    /// Sign out: the session ends, audited.
    pub async fn end_session(
        &self,
        session: &ConsoleSession,
        info: RequestInfo,
    ) -> DirectoryResult<()> {
        let ctx = session.ctx(info);
        let now = self.clock.now();
        let audit = ctx.audit(
            "User",
            Some(session.user.id.clone()),
            Some(session.user.user_name.clone()),
            "console_signed_out",
            "signed out of the console".into(),
        );
        let mut tx = self.store.write(&session.tenant).await?;
        tx.delete_session(&hash_hex(&session.secret)).await?;
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forget the tenant's expired sessions and links.
    async fn sweep(&self, tx: &mut crate::store::Tx, now: OffsetDateTime) -> DirectoryResult<()> {
        tx.sweep_console(
            &datetime::format(now - Duration::minutes(IDLE_MINUTES)),
            &datetime::format(now - Duration::hours(ABSOLUTE_HOURS)),
            &datetime::format(now),
        )
        .await?;
        Ok(())
    }
}

/// When a session ends at the latest, and when it ends if unused.
fn session_deadlines(rec: &SessionRecord) -> DirectoryResult<(OffsetDateTime, OffsetDateTime)> {
    Ok((
        parse(&rec.created)? + Duration::hours(ABSOLUTE_HOURS),
        parse(&rec.last_seen)? + Duration::minutes(IDLE_MINUTES),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_bound_to_the_session_and_reveals_nothing_of_it() {
        let a = csrf_token("rcs_a");
        assert_eq!(a, csrf_token("rcs_a"));
        assert_ne!(a, csrf_token("rcs_b"));
        assert!(!a.contains("rcs_a"));
        assert_ne!(hash_hex("rcs_a"), a, "the stored hash is not the token");
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let (a, b) = (new_secret("rcs_"), new_secret("rcs_"));
        assert_ne!(a, b);
        assert!(a.starts_with("rcs_") && a.len() > 40);
    }
}
