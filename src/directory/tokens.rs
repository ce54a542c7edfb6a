//! Bearer tokens: `rc_<id>_<secret>`. Only the SHA-256 of the whole token is
//! stored; the id finds the row, a constant-time comparison of the hashes
//! decides.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::scim::datetime;
use crate::store::{Store, StoreResult, Tenant, TokenRecord};

pub const PREFIX: &str = "rc_";

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh token and the record to store for it.
pub fn generate(tenant: &Tenant, label: &str, now: time::OffsetDateTime) -> (String, TokenRecord) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_is_recognised() {
        let t = Tenant {
            id: 1,
            name: "t".into(),
        };
        let (token, rec) = generate(&t, "l", time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(token_id(&token), Some(rec.id.as_str()));
        assert_eq!(rec.secret_hash, hash(&token));
        assert_eq!(token_id("rc_zz_abc"), None);
        assert_eq!(token_id("Bearer"), None);
    }
}
