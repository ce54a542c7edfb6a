//! OAuth 2.0 bearer tokens from configured issuers: JWT access tokens
//! verified against the issuer's JWKS (found through OpenID Connect
//! discovery with the `openidconnect` crate): signature, issuer, audience,
//! expiry and not-before. The JWKS is refreshed when a token names an
//! unknown key id or the keys are older than six hours (at most once per
//! `refresh_interval`, one fetch at a time). No lock is held while a
//! signature is checked or while keys are fetched.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use openidconnect::{reqwest, IssuerUrl, JsonWebKey, JsonWebKeyId, JsonWebKeySetUrl};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

/// One trusted issuer, bound to one tenant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Tenant whose data tokens from this issuer may touch.
    pub tenant: String,
    /// The `iss` claim, exactly (Entra ID: `https://sts.windows.net/<tenant-id>/`).
    pub issuer: String,
    /// The required `aud` (Entra ID: `8adf8e6e-67b2-4cf2-a259-e3dc5476c621`);
    /// a string, or a list of accepted audiences.
    pub audience: Audience,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// When set, only these clients (`client_id`, `appid` or `azp`) may call;
    /// with Entra ID's shared audience this keeps other apps of the same
    /// directory out.
    #[serde(default)]
    pub allowed_clients: Vec<String>,
}

/// One accepted audience or several.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn accepts(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(l) => l.iter().any(|a| a == aud),
        }
    }
    pub fn is_empty(&self) -> bool {
        match self {
            Audience::One(a) => a.trim().is_empty(),
            Audience::Many(l) => l.iter().all(|a| a.trim().is_empty()),
        }
    }
}

fn default_leeway() -> u64 {
    60
}

/// Why a token was refused (logged; the client sees only 401).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OAuthError {
    #[error("not a JWT")]
    Malformed,
    #[error("no configured issuer \"{0}\"")]
    UnknownIssuer(String),
    #[error("unsupported algorithm {0}")]
    Algorithm(String),
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong audience")]
    Audience,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("client \"{0}\" is not allowed")]
    Client(String),
    #[error("issuer unreachable: {0}")]
    Discovery(String),
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthPrincipal {
    pub tenant: String,
    /// `client_id`, `appid` (Entra ID) or `sub`.
    pub subject: String,
}

/// Keys and where to fetch them; swapped whole on refresh.
#[derive(Default)]
struct KeyState {
    jwks_uri: Option<JsonWebKeySetUrl>,
    keys: Option<Arc<CoreJsonWebKeySet>>,
    last_fetch: Option<Instant>,
    /// Bumped on every successful fetch.
    generation: u64,
}

struct Issuer {
    config: IssuerConfig,
    /// Read briefly to clone the key set; never held across I/O or crypto.
    keys: std::sync::RwLock<KeyState>,
    /// Single flight for discovery/JWKS fetches.
    refresh: Mutex<()>,
}

/// Verifies JWT access tokens against the configured issuers.
pub struct OAuthVerifier {
    issuers: Vec<Issuer>,
    http: reqwest::Client,
    refresh_interval: Duration,
}

/// Keys are refetched at least this often even when no unknown kid appears,
/// so a key the issuer withdrew stops being trusted.
const MAX_KEY_AGE: Duration = Duration::from_secs(6 * 3600);

fn b64(s: &str) -> Result<Vec<u8>, OAuthError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| OAuthError::Malformed)
}

/// Whether a bearer value has the shape of a JWS compact serialization.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("ey")
}

const ASYMMETRIC: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

impl OAuthVerifier {
    pub fn new(configs: Vec<IssuerConfig>, refresh_interval: Duration) -> Result<Self, String> {
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            issuers: configs
                .into_iter()
                .map(|config| Issuer {
                    config,
                    keys: std::sync::RwLock::new(KeyState::default()),
                    refresh: Mutex::new(()),
                })
                .collect(),
            http,
            refresh_interval,
        })
    }

    /// A verifier that trusts no issuer.
    pub fn empty() -> Self {
        Self {
            issuers: Vec::new(),
            http: reqwest::Client::new(),
            refresh_interval: Duration::from_secs(30),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Verify a JWT access token; `now` is Unix seconds.
    pub async fn verify(&self, token: &str, now: i64) -> Result<OAuthPrincipal, OAuthError> {
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
        // Asymmetric algorithms only: never `none`, never a shared secret.
        if !ASYMMETRIC.contains(&alg_name) {
            return Err(OAuthError::Algorithm(alg_name.to_string()));
        }
        let alg: CoreJwsSigningAlgorithm =
            serde_json::from_value(Value::String(alg_name.to_string()))
                .map_err(|_| OAuthError::Algorithm(alg_name.to_string()))?;
        let kid = header["kid"].as_str().map(str::to_string);
        let iss = claims["iss"].as_str().ok_or(OAuthError::Malformed)?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.config.issuer == iss)
            .ok_or_else(|| OAuthError::UnknownIssuer(iss.to_string()))?;
        let message = format!("{h}.{p}");
        let check = |keys: &CoreJsonWebKeySet| -> Option<Result<(), OAuthError>> {
            let candidates: Vec<_> = keys
                .keys()
                .iter()
                .filter(|k| match &kid {
                    Some(kid) => k.key_id() == Some(&JsonWebKeyId::new(kid.clone())),
                    None => true,
                })
                .collect();
            if candidates.is_empty() {
                return None;
            }
            let ok = candidates.iter().any(|k| {
                k.verify_signature(&alg, message.as_bytes(), &signature)
                    .is_ok()
            });
            Some(if ok {
                Ok(())
            } else {
                Err(OAuthError::Signature)
            })
        };
        let (keys, generation, young) = snapshot(issuer);
        match keys.as_deref().and_then(check) {
            Some(Ok(())) => {}
            Some(Err(e)) if young => return Err(e),
            _ => {
                // No keys yet, an unknown key id, or old keys: fetch
                // (throttled, single flight) and check once more.
                self.refresh(issuer, generation).await?;
                let (keys, _, _) = snapshot(issuer);
                keys.as_deref()
                    .and_then(check)
                    .unwrap_or(Err(OAuthError::UnknownKey))?;
            }
        }
        let cfg = &issuer.config;
        let aud_ok = match &claims["aud"] {
            Value::String(a) => cfg.audience.accepts(a),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .any(|x| cfg.audience.accepts(x)),
            _ => false,
        };
        if !aud_ok {
            return Err(OAuthError::Audience);
        }
        let leeway = i64::try_from(cfg.leeway_seconds).unwrap_or(i64::MAX);
        // NumericDate may be fractional (RFC 7519 §2).
        let seconds = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
        match seconds(&claims["exp"]) {
            Some(exp) if exp.saturating_add(leeway) > now => {}
            _ => return Err(OAuthError::Expired),
        }
        if let Some(nbf) = seconds(&claims["nbf"]) {
            if nbf.saturating_sub(leeway) > now {
                return Err(OAuthError::NotYetValid);
            }
        }
        let client = ["client_id", "appid", "azp"]
            .iter()
            .find_map(|k| claims[*k].as_str());
        if !cfg.allowed_clients.is_empty()
            && !client.is_some_and(|c| cfg.allowed_clients.iter().any(|a| a == c))
        {
            return Err(OAuthError::Client(client.unwrap_or("").to_string()));
        }
        let subject = client
            .or_else(|| claims["sub"].as_str())
            .unwrap_or("unknown")
            .to_string();
        Ok(OAuthPrincipal {
            tenant: cfg.tenant.clone(),
            subject,
        })
    }

    /// Fetch keys unless another request just did (the generation moved) or
    /// the last attempt is more recent than `refresh_interval`.
    async fn refresh(&self, issuer: &Issuer, seen_generation: u64) -> Result<(), OAuthError> {
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
        let (uri, keys) = self.fetch(&issuer.config, jwks_uri).await?;
        if let Ok(mut k) = issuer.keys.write() {
            k.jwks_uri = Some(uri);
            k.keys = Some(Arc::new(keys));
            k.generation += 1;
            k.last_fetch = Some(Instant::now());
        }
        Ok(())
    }

    /// Discovery (first time) and the JWKS; no lock is held meanwhile.
    async fn fetch(
        &self,
        config: &IssuerConfig,
        jwks_uri: Option<JsonWebKeySetUrl>,
    ) -> Result<(JsonWebKeySetUrl, CoreJsonWebKeySet), OAuthError> {
        if let Some(uri) = jwks_uri {
            let keys = CoreJsonWebKeySet::fetch_async(&uri, &self.http)
                .await
                .map_err(|e| OAuthError::Discovery(e.to_string()))?;
            return Ok((uri, keys));
        }
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| OAuthError::Discovery(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OAuthError::Discovery(e.to_string()))?;
        tracing::info!(issuer = %config.issuer, keys = meta.jwks().keys().len(), "issuer keys loaded");
        Ok((meta.jwks_uri().clone(), meta.jwks().clone()))
    }
}

/// The current keys, their generation, and whether they are young.
fn snapshot(issuer: &Issuer) -> (Option<Arc<CoreJsonWebKeySet>>, u64, bool) {
    match issuer.keys.read() {
        Ok(k) => (
            k.keys.clone(),
            k.generation,
            k.last_fetch.is_some_and(|t| t.elapsed() < MAX_KEY_AGE),
        ),
        Err(_) => (None, 0, false),
    }
}
