//! Issuers' signing keys, shared by everything that checks a JWT: the
//! `[[oauth]]` access tokens and the `[[oidc]]` ID tokens of sign-ins. One
//! key set per issuer URL, whichever configuration names it: found through
//! OpenID Connect discovery (the `openidconnect` crate), refreshed when a
//! token names an unknown key id or the keys are older than six hours, at
//! most once per `refresh_interval` and one fetch at a time. No lock is
//! held while a signature is checked or while keys are fetched, and no
//! redirect is followed on these back-channel calls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{reqwest, IssuerUrl, JsonWebKey, JsonWebKeyId, JsonWebKeySetUrl};
use serde_json::Value;
use tokio::sync::Mutex;

use super::OAuthError;

/// Keys and where to fetch them; swapped whole on refresh.
#[derive(Default)]
struct KeyState {
    jwks_uri: Option<JsonWebKeySetUrl>,
    keys: Option<Arc<CoreJsonWebKeySet>>,
    /// The last attempt (the throttle).
    last_fetch: Option<Instant>,
    /// The last successful fetch (the keys' age).
    fetched_at: Option<Instant>,
    /// Bumped on every successful fetch.
    generation: u64,
}

/// One issuer's keys.
pub struct IssuerKeys {
    issuer: String,
    /// Read briefly to clone the key set; never held across I/O or crypto.
    keys: std::sync::RwLock<KeyState>,
    /// Single flight for discovery/JWKS fetches.
    refresh: Mutex<()>,
}

/// The key sets of every configured issuer, and how they are fetched.
pub struct Keyring {
    issuers: HashMap<String, Arc<IssuerKeys>>,
    http: reqwest::Client,
    refresh_interval: Duration,
    /// Keys older than this are refetched before they are trusted again.
    max_key_age: Duration,
}

/// The HTTP client of back-channel calls to identity providers: no
/// redirect is followed, 10 s at most.
pub fn back_channel_client() -> Result<reqwest::Client, String> {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())
}

/// Keys are refetched at least this often even when no unknown kid appears,
/// so a key the issuer withdrew stops being trusted (`oauth_jwks_max_age_seconds`).
pub const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(6 * 3600);

impl Keyring {
    /// A key set for each of these issuer URLs (duplicates share one).
    pub fn new(
        issuers: impl IntoIterator<Item = String>,
        refresh_interval: Duration,
        max_key_age: Duration,
    ) -> Result<Self, String> {
        let http = back_channel_client()?;
        let issuers = issuers
            .into_iter()
            .map(|issuer| {
                let keys = Arc::new(IssuerKeys {
                    issuer: issuer.clone(),
                    keys: std::sync::RwLock::new(KeyState::default()),
                    refresh: Mutex::new(()),
                });
                (issuer, keys)
            })
            .collect();
        Ok(Self {
            issuers,
            http,
            refresh_interval,
            max_key_age,
        })
    }

    /// A keyring that knows no issuer.
    pub fn empty() -> Self {
        Self {
            issuers: HashMap::new(),
            http: reqwest::Client::new(),
            refresh_interval: Duration::from_secs(30),
            max_key_age: DEFAULT_MAX_KEY_AGE,
        }
    }

    /// The HTTP client of back-channel calls (no redirects, 10 s timeout).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Each configuration with the key set of the issuer URL it names
    /// (which this keyring must know).
    pub(crate) fn bind<C>(
        &self,
        configs: Vec<C>,
        issuer_of: impl Fn(&C) -> &str,
    ) -> Result<Vec<(C, Arc<IssuerKeys>)>, String> {
        configs
            .into_iter()
            .map(|c| match self.issuers.get(issuer_of(&c)) {
                Some(k) => Ok((c, k.clone())),
                None => Err(format!("no key set for issuer {}", issuer_of(&c))),
            })
            .collect()
    }

    /// Run `check` against the issuer's keys. `check` answers `None` when no
    /// key of the set could have signed the token (no key has its key id):
    /// then, or when there are no keys yet or they are old, the keys are
    /// fetched (throttled, single flight) and `check` runs once more.
    pub(crate) async fn with_keys<T>(
        &self,
        issuer: &IssuerKeys,
        check: impl Fn(&CoreJsonWebKeySet) -> Option<Result<T, OAuthError>>,
    ) -> Result<T, OAuthError> {
        let (keys, generation, young) = snapshot(issuer, self.max_key_age);
        if keys.is_some() && !young {
            // Old keys are refetched before they are trusted again. If the
            // issuer cannot be reached, the keys held still serve (an
            // outage of the issuer is not an outage of provisioning), and
            // the next attempt comes after `refresh_interval`.
            if let Err(e) = self.refresh(issuer, generation).await {
                tracing::warn!(issuer = %issuer.issuer, error = %e, "refreshing old keys failed; the keys held are used meanwhile");
            }
            let (keys, _, _) = snapshot(issuer, self.max_key_age);
            return keys
                .as_deref()
                .and_then(&check)
                .unwrap_or(Err(OAuthError::UnknownKey));
        }
        match keys.as_deref().and_then(&check) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) if young => Err(e),
            _ => {
                self.refresh(issuer, generation).await?;
                let (keys, _, _) = snapshot(issuer, self.max_key_age);
                keys.as_deref()
                    .and_then(&check)
                    .unwrap_or(Err(OAuthError::UnknownKey))
            }
        }
    }

    /// Fetch keys unless another request just did (the generation moved) or
    /// the last attempt is more recent than `refresh_interval`.
    async fn refresh(&self, issuer: &IssuerKeys, seen_generation: u64) -> Result<(), OAuthError> {
        let _flight = issuer.refresh.lock().await;
        let (jwks_uri, generation, last_fetch) = match issuer.keys.read() {
            Ok(k) => (k.jwks_uri.clone(), k.generation, k.last_fetch),
            Err(_) => return Err(OAuthError::Discovery("key state poisoned".into())),
        };
        if generation != seen_generation
            || last_fetch.is_some_and(|t| t.elapsed() < self.refresh_interval)
        {
            return Ok(());
        }
        if let Ok(mut k) = issuer.keys.write() {
            k.last_fetch = Some(Instant::now());
        }
        let (uri, keys) = self.fetch(&issuer.issuer, jwks_uri).await?;
        if let Ok(mut k) = issuer.keys.write() {
            k.jwks_uri = Some(uri);
            k.keys = Some(Arc::new(keys));
            k.generation += 1;
            k.last_fetch = Some(Instant::now());
            k.fetched_at = k.last_fetch;
        }
        Ok(())
    }

    /// Discovery (first time) and the JWKS; no lock is held meanwhile.
    async fn fetch(
        &self,
        issuer: &str,
        jwks_uri: Option<JsonWebKeySetUrl>,
    ) -> Result<(JsonWebKeySetUrl, CoreJsonWebKeySet), OAuthError> {
        if let Some(uri) = jwks_uri {
            let keys = CoreJsonWebKeySet::fetch_async(&uri, &self.http)
                .await
                .map_err(|e| OAuthError::Discovery(e.to_string()))?;
            return Ok((uri, keys));
        }
        let url =
            IssuerUrl::new(issuer.to_string()).map_err(|e| OAuthError::Discovery(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| OAuthError::Discovery(e.to_string()))?;
        tracing::info!(%issuer, keys = meta.jwks().keys().len(), "issuer keys loaded");
        Ok((meta.jwks_uri().clone(), meta.jwks().clone()))
    }
}

/// The current keys, their generation, and whether they are young.
fn snapshot(issuer: &IssuerKeys, max_age: Duration) -> (Option<Arc<CoreJsonWebKeySet>>, u64, bool) {
    match issuer.keys.read() {
        Ok(k) => (
            k.keys.clone(),
            k.generation,
            k.fetched_at.is_some_and(|t| t.elapsed() < max_age),
        ),
        Err(_) => (None, 0, false),
    }
}

fn b64(s: &str) -> Result<Vec<u8>, OAuthError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| OAuthError::Malformed)
}

/// The signing algorithms a token may use: asymmetric only, never `none`,
/// never a shared secret.
pub(crate) const ASYMMETRIC: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// A JWS compact serialization, decoded (not yet verified).
pub(crate) struct Jws {
    pub(crate) claims: Value,
    alg: CoreJwsSigningAlgorithm,
    kid: Option<String>,
    /// `header.payload`, the signed bytes.
    message: String,
    signature: Vec<u8>,
}

impl Jws {
    pub(crate) fn parse(token: &str) -> Result<Self, OAuthError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OAuthError::Malformed);
        };
        let header: Value = serde_json::from_slice(&b64(h)?).map_err(|_| OAuthError::Malformed)?;
        let claims: Value = serde_json::from_slice(&b64(p)?).map_err(|_| OAuthError::Malformed)?;
        let signature = b64(s)?;
        let alg_name = header["alg"].as_str().ok_or(OAuthError::Malformed)?;
        if !ASYMMETRIC.contains(&alg_name) {
            return Err(OAuthError::Algorithm(alg_name.to_string()));
        }
        let alg: CoreJwsSigningAlgorithm =
            serde_json::from_value(Value::String(alg_name.to_string()))
                .map_err(|_| OAuthError::Algorithm(alg_name.to_string()))?;
        Ok(Jws {
            kid: header["kid"].as_str().map(str::to_string),
            claims,
            alg,
            message: format!("{h}.{p}"),
            signature,
        })
    }

    /// `None` when no key of the set could have signed it (none has its key
    /// id); else whether one of those keys verifies the signature.
    pub(crate) fn check(&self, keys: &CoreJsonWebKeySet) -> Option<Result<(), OAuthError>> {
        let candidates: Vec<_> = keys
            .keys()
            .iter()
            .filter(|k| match &self.kid {
                Some(kid) => k.key_id() == Some(&JsonWebKeyId::new(kid.clone())),
                None => true,
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let ok = candidates.iter().any(|k| {
            k.verify_signature(&self.alg, self.message.as_bytes(), &self.signature)
                .is_ok()
        });
        Some(if ok {
            Ok(())
        } else {
            Err(OAuthError::Signature)
        })
    }
}
