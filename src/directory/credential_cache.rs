//! Credentials recently verified, so that a request does not cost a token
//! lookup (and its holder's) every time. An entry serves for at most
//! [`CACHE_FOR`] and only while this process has committed no write since
//! it was read: a revocation, a scope change or a holder's deactivation
//! made here is seen by the next request; one made by another instance
//! sharing the database, within a second. Keyed by the SHA-256 of the
//! presented secret (what the token table stores), never the secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::tokens::Credential;
use crate::store::TokenRecord;

/// How long a verified credential is trusted without a fresh lookup.
pub const CACHE_FOR: Duration = Duration::from_secs(1);

/// Entries beyond this are dropped all at once (they refill within a
/// second from the requests that need them).
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    credential: Credential,
    record: TokenRecord,
    /// `Store::commits` when the entry was read.
    commits: u64,
    at: Instant,
}

#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

impl CredentialCache {
    /// The credential and token record verified for `key`, if read less
    /// than [`CACHE_FOR`] ago and before no commit since (`commits` now).
    pub fn get(&self, key: &[u8], commits: u64) -> Option<(Credential, TokenRecord)> {
        let mut entries = self.entries.lock().ok()?;
        let fresh = entries
            .get(key)
            .is_some_and(|e| e.commits == commits && e.at.elapsed() < CACHE_FOR);
        if !fresh {
            entries.remove(key);
            return None;
        }
        entries
            .get(key)
            .map(|e| (e.credential.clone(), e.record.clone()))
    }

    /// Keep what a lookup read when `commits` commits had been made.
    pub fn put(&self, key: Vec<u8>, credential: Credential, record: TokenRecord, commits: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let at = Instant::now();
        entries.insert(
            key,
            Entry {
                credential,
                record,
                commits,
                at,
            },
        );
    }

    /// The token's last use was written as `at`: the entry says so too, so
    /// the next requests do not write it again.
    pub fn noted_use(&self, key: &[u8], at: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            if let Some(e) = entries.get_mut(key) {
                e.record.last_used_at = Some(at.to_string());
            }
        }
    }
}
