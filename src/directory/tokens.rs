//! Bearer tokens: `rc_<id>_<secret>`. Only the SHA-256 of the whole token is
//! stored; the id finds the row, a constant-time comparison of the hashes
//! decides. Each token carries scopes ([`super::scopes`]); a token bound to
//! a user works only while that user may sign in, and dies with them.

use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::oauth::OAuthVerifier;
use super::scopes::{ScopeError, Scopes};
use super::Directory;
use crate::store::{
    AuditEntry, Store, StoreError, StoreResult, Tenant, TokenRecord, Tx, UserRecord,
};
use scim_protocol::datetime;

pub const PREFIX: &str = "rc_";

/// A token's last use is written at most this often, so that a read does
/// not cost a write on every request.
pub const LAST_USED_EVERY_SECONDS: i64 = 60;

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh token and the record to store for it.
pub fn generate(
    tenant: &Tenant,
    label: &str,
    scopes: &Scopes,
    now: time::OffsetDateTime,
) -> (String, TokenRecord) {
    let mut rng = rand::thread_rng();
    let mut id = [0u8; 6];
    rng.fill_bytes(&mut id);
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let token = format!("{PREFIX}{id}_{secret}");
    let record = TokenRecord {
        id: id.clone(),
        tenant: tenant.clone(),
        label: label.to_string(),
        secret_hash: hash(&token),
        created: datetime::format(now),
        revoked: None,
        user_id: None,
        scopes: scopes.names(),
        last_used_at: None,
        created_by: None,
        created_by_user_id: None,
    };
    (token, record)
}

/// The token id of a presented token, if it has Rollcall's shape.
fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty() {
        Some(id)
    } else {
        None
    }
}

/// The token record for a presented bearer token, if it is valid and live.
pub async fn verify(store: &Store, presented: &str) -> StoreResult<Option<TokenRecord>> {
    let Some(id) = token_id(presented) else {
        return Ok(None);
    };
    let Some(record) = store.find_token(id).await? else {
        return Ok(None);
    };
    let ok: bool = hash(presented).ct_eq(&record.secret_hash).into();
    if !ok || record.revoked.is_some() {
        return Ok(None);
    }
    Ok(Some(record))
}

/// The secret of an invitation link (only its hash is stored).
pub fn invitation_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    format!("inv_{}", hex::encode(b))
}

/// Why a token could not be issued or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// Admin credentials must act as a live user of the tenant.
    #[error("tenant \"{tenant}\" has no user \"{user}\"")]
    NoSuchUser { tenant: String, user: String },
}

/// A token to issue.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub tenant: String,
    pub label: String,
    /// Comma-separated scope names; None: `scim`, or `admin` with a user.
    pub scopes: Option<String>,
    /// Bind it to this user (userName or id).
    pub user: Option<String>,
}

/// A token just issued: the secret (shown once) and its id.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub id: String,
    pub scopes: Scopes,
}

/// The user a bound credential acts as, alive at this request.
#[derive(Debug, Clone)]
pub struct Holder {
    pub id: String,
    pub user_name: String,
}

/// An authenticated caller: its tenant, how the audit log names it, and
/// what it may reach.
#[derive(Debug, Clone)]
pub struct Credential {
    pub tenant: Tenant,
    /// `token:<label>` or `oauth:<subject>`.
    pub actor: String,
    /// Which credential this is, stable and unique within the installation:
    /// `token:<token id>` or `oauth:<issuer's tenant>:<subject>` (the rate
    /// limit's key; a label need not be unique).
    pub credential_id: String,
    pub scopes: Scopes,
    pub holder: Option<Holder>,
}

/// Why a presented bearer token is refused (401).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Unknown, malformed, forged, revoked or expired: the client learns
    /// nothing more.
    #[error("the bearer token is invalid or revoked")]
    Invalid,
    /// The user the token is bound to may not sign in now.
    #[error("{0}")]
    HolderGone(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token as `rollcall token list` shows it (never its secret).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: String,
    pub tenant: String,
    pub label: String,
    pub scopes: Vec<String>,
    /// The bound user's id.
    pub user_id: Option<String>,
    /// The bound user's userName (None once the user is purged).
    pub user_name: Option<String>,
    pub created: String,
    /// Exact to a minute.
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

/// Why a bound credential's user cannot act, if they cannot.
fn holder_refusal(user: Option<&UserRecord>) -> Option<String> {
    let why = match user {
        None => "no longer exists",
        Some(u) if u.deleted_at.is_some() => "is deleted",
        Some(u) if u.status == "disabled" => "is disabled",
        Some(u) if u.status == "banned" => "is banned",
        Some(_) => return None,
    };
    Some(format!(
        "the user this token is bound to {why}: the token does not work while they cannot sign in"
    ))
}

/// The audit row of a change to a token.
fn token_audit(
    actor: &str,
    id: &str,
    label: &str,
    action: &str,
    description: String,
) -> AuditEntry {
    AuditEntry {
        actor: actor.to_string(),
        object_type: "Token".into(),
        object_id: Some(id.to_string()),
        object_name: Some(label.to_string()),
        action: action.into(),
        description,
        ..AuditEntry::default()
    }
}

impl Directory {
    /// On a database without any tenant: the tenant `default` and its first
    /// token, scope `scim` (returned, to be shown once); `None` when a
    /// tenant exists.
    pub async fn bootstrap_token(&self, now: time::OffsetDateTime) -> StoreResult<Option<String>> {
        let Some(mut tx) = self.store.bootstrap("default", now).await? else {
            return Ok(None);
        };
        let scopes = Scopes::default_for(false);
        let (token, mut record) = generate(tx.tenant(), "bootstrap", &scopes, now);
        record.created_by = Some("rollcall:bootstrap".into());
        tx.insert_token(&record).await?;
        let description = format!("token \"bootstrap\" created with scopes {scopes}");
        let audit = token_audit(
            "rollcall:bootstrap",
            &record.id,
            &record.label,
            "token_created",
            description,
        );
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// A new token of the tenant (created if missing), audited as `actor`.
    /// With a user, it acts as that live user and dies with them. The
    /// token is returned once; only its hash is stored.
    pub async fn issue_token(
        &self,
        new: &NewToken,
        actor: &str,
        now: time::OffsetDateTime,
    ) -> Result<Issued, TokenError> {
        let bound = new.user.is_some();
        let scopes = match &new.scopes {
            Some(list) => Scopes::parse_list(list)?,
            None => Scopes::default_for(bound),
        };
        scopes.check(bound)?;
        let t = self.store.ensure_tenant(&new.tenant, now).await?;
        let (token, mut record) = generate(&t, &new.label, &scopes, now);
        record.created_by = Some(actor.to_string());
        let mut bound_to = String::new();
        if let Some(u) = &new.user {
            let rec = self
                .live_user(&t, u)
                .await?
                .ok_or_else(|| TokenError::NoSuchUser {
                    tenant: new.tenant.clone(),
                    user: u.clone(),
                })?;
            // The id, not the userName: the row outlives a purge of the
            // user, and their personal data must not stay in it.
            bound_to = format!(", bound to user {}", rec.id);
            record.user_id = Some(rec.id);
        }
        let description = format!(
            "token \"{}\" created with scopes {scopes}{bound_to}",
            new.label
        );
        let audit = token_audit(actor, &record.id, &new.label, "token_created", description);
        let mut tx = self.store.write(&t).await?;
        tx.insert_token(&record).await?;
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(Issued {
            token,
            id: record.id,
            scopes,
        })
    }

    /// Revoke a token by its id, audited as `actor`; false if there is no
    /// such active token.
    pub async fn revoke_token(
        &self,
        id: &str,
        actor: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<bool> {
        let Some(rec) = self.store.find_token(id).await? else {
            return Ok(false);
        };
        let mut tx = self.store.write(&rec.tenant).await?;
        if !tx.revoke_token(id, &datetime::format(now)).await? {
            return Ok(false);
        }
        let description = format!("token \"{}\" revoked", rec.label);
        let audit = token_audit(actor, &rec.id, &rec.label, "token_revoked", description);
        tx.record_audit(now, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Inside a user's deletion: revoke the tokens bound to them, one audit
    /// row each, by the deletion's actor (and request, and job).
    pub(crate) async fn revoke_holder_tokens(
        &self,
        tx: &mut Tx,
        user_id: &str,
        at: time::OffsetDateTime,
        by: &AuditEntry,
    ) -> StoreResult<()> {
        for (id, label) in tx
            .revoke_user_tokens(user_id, &datetime::format(at))
            .await?
        {
            let description =
                format!("token \"{label}\" revoked: the user it is bound to was deleted");
            let audit = AuditEntry {
                actor_user_id: by.actor_user_id.clone(),
                source_ip: by.source_ip.clone(),
                request_id: by.request_id.clone(),
                job_id: by.job_id.clone(),
                ..token_audit(&by.actor, &id, &label, "token_revoked", description)
            };
            tx.record_audit(at, &audit).await?;
        }
        Ok(())
    }

    /// The caller a presented bearer token names: a Rollcall token, or a
    /// JWT from a configured `[[oauth]]` issuer. A bound token's user is
    /// read on every request and must be able to sign in.
    pub async fn authenticate(
        &self,
        presented: &str,
        oauth: &OAuthVerifier,
    ) -> Result<Credential, Refusal> {
        if !oauth.is_empty() && super::oauth::looks_like_jwt(presented) {
            return self.authenticate_jwt(presented, oauth).await;
        }
        let key = hash(presented);
        // Read before the lookup: a commit racing it makes the entry stale.
        let commits = self.store.commits();
        if let Some((credential, record)) = self.credentials.get(&key, commits) {
            self.note_use(&record, &key).await;
            return Ok(credential);
        }
        let record = verify(&self.store, presented)
            .await?
            .ok_or(Refusal::Invalid)?;
        let holder = match &record.user_id {
            None => None,
            Some(uid) => {
                let user = self.store.user_record(&record.tenant, uid).await?;
                if let Some(why) = holder_refusal(user.as_ref()) {
                    return Err(Refusal::HolderGone(why));
                }
                user.map(|u| Holder {
                    id: u.id,
                    user_name: u.user_name,
                })
            }
        };
        let credential = Credential {
            actor: format!("token:{}", record.label),
            credential_id: format!("token:{}", record.id),
            scopes: Scopes::from_names(&record.scopes),
            tenant: record.tenant.clone(),
            holder,
        };
        self.credentials
            .put(key.clone(), credential.clone(), record.clone(), commits);
        self.note_use(&record, &key).await;
        Ok(credential)
    }

    async fn authenticate_jwt(
        &self,
        presented: &str,
        oauth: &OAuthVerifier,
    ) -> Result<Credential, Refusal> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let p = oauth.verify(presented, now).await.map_err(|e| {
            // The reason stays in the log; the client learns nothing.
            tracing::info!(reason = %e, "oauth token refused");
            Refusal::Invalid
        })?;
        let Some(tenant) = self.store.find_tenant(&p.tenant).await? else {
            tracing::warn!(tenant = %p.tenant, "oauth token for a tenant that does not exist");
            return Err(Refusal::Invalid);
        };
        Ok(Credential {
            credential_id: format!("oauth:{}:{}", tenant.id, p.subject),
            tenant,
            actor: format!("oauth:{}", p.subject),
            scopes: Scopes::of(&p.scopes),
            holder: None,
        })
    }

    /// Write the token's last use when the stored one is a minute old or
    /// more and the writer is free (never wait behind a long write for it:
    /// a later request notes it). A failure is logged: it never fails the
    /// request. Wall-clock
    /// time: reading a request's credential must not move the directory's
    /// clock.
    async fn note_use(&self, record: &TokenRecord, key: &[u8]) {
        let now = time::OffsetDateTime::now_utc();
        let fresh = record
            .last_used_at
            .as_deref()
            .and_then(datetime::parse)
            .is_some_and(|t| (now - t).whole_seconds() < LAST_USED_EVERY_SECONDS);
        if fresh {
            return;
        }
        let at = datetime::format(now);
        match self.store.touch_token_if_free(&record.id, &at).await {
            Ok(true) => self.credentials.noted_use(key, &at),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(token = %record.id, error = %e, "could not note the token's last use")
            }
        }
    }

    /// The tenant and credential id a refused bearer token names by its id
    /// prefix (`rc_<id>_…`), when that token exists (revoked or not): the
    /// request log attributes the refusal to it. Nothing for a token of
    /// another shape or an unknown id.
    pub async fn refused_credential(&self, presented: &str) -> Option<(Tenant, String)> {
        let id = token_id(presented)?;
        match self.store.find_token(id).await {
            Ok(r) => r.map(|r| (r.tenant, format!("token:{id}"))),
            Err(e) => {
                tracing::warn!(error = %e, "could not attribute a refused token");
                None
            }
        }
    }

    /// The live token record a presented bearer token names, if any.
    pub async fn verify_token(&self, presented: &str) -> StoreResult<Option<TokenRecord>> {
        verify(&self.store, presented).await
    }

    /// The tokens of one tenant, or of all (never their secrets).
    pub async fn tokens(&self, tenant: Option<&str>) -> StoreResult<Vec<TokenView>> {
        Ok(self
            .store
            .token_rows(tenant)
            .await?
            .into_iter()
            .map(|r| TokenView {
                id: r.record.id,
                tenant: r.record.tenant.name,
                label: r.record.label,
                scopes: Scopes::from_names(&r.record.scopes).names(),
                user_id: r.record.user_id,
                user_name: r.user_name,
                created: r.record.created,
                last_used: r.record.last_used_at,
                revoked: r.record.revoked,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_is_recognised() {
        let t = Tenant {
            id: 1,
            name: "t".into(),
        };
        let (token, rec) = generate(
            &t,
            "l",
            &Scopes::default_for(false),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(token_id(&token), Some(rec.id.as_str()));
        assert_eq!(rec.secret_hash, hash(&token));
        assert_eq!(rec.scopes, vec!["scim".to_string()]);
        assert_eq!(token_id("rc_zz_abc"), None);
        assert_eq!(token_id("Bearer"), None);
    }
}
