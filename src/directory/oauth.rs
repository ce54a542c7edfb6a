//! OAuth 2.0 bearer tokens from configured issuers: JWT access tokens
//! verified against the issuer's JWKS (found through OpenID Connect
//! discovery with the `openidconnect` crate): signature, issuer, audience,
//! expiry and not-before. The JWKS is refreshed when a token names an
//! unknown key id (at most once per `refresh_interval`).

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

struct IssuerState {
    config: IssuerConfig,
    jwks_uri: Option<JsonWebKeySetUrl>,
    keys: Option<CoreJsonWebKeySet>,
    last_fetch: Option<Instant>,
}

/// Verifies JWT access tokens against the configured issuers.
pub struct OAuthVerifier {
    issuers: Vec<Arc<Mutex<IssuerState>>>,
    http: reqwest::Client,
    refresh_interval: Duration,
}

fn b64(s: &str) -> Result<Vec<u8>, OAuthError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| OAuthError::Malformed)
}

/// Whether a bearer value has the shape of a JWS compact serialization.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("ey")
}

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
                .map(|config| {
                    Arc::new(Mutex::new(IssuerState {
                        config,
                        jwks_uri: None,
                        keys: None,
                        last_fetch: None,
                    }))
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
        if !matches!(
            alg_name,
            "RS256"
                | "RS384"
                | "RS512"
                | "PS256"
                | "PS384"
                | "PS512"
                | "ES256"
                | "ES384"
                | "ES512"
                | "EdDSA"
        ) {
            return Err(OAuthError::Algorithm(alg_name.to_string()));
        }
        let alg: CoreJwsSigningAlgorithm =
            serde_json::from_value(Value::String(alg_name.to_string()))
                .map_err(|_| OAuthError::Algorithm(alg_name.to_string()))?;
        let kid = header["kid"].as_str().map(str::to_string);
        let iss = claims["iss"].as_str().ok_or(OAuthError::Malformed)?;
        let issuer = self
            .find(iss)
            .await
            .ok_or_else(|| OAuthError::UnknownIssuer(iss.to_string()))?;
        let mut state = issuer.lock().await;
        if state.keys.is_none() {
            self.fetch(&mut state).await?;
        }
        let message = format!("{h}.{p}");
        let verify = |keys: &CoreJsonWebKeySet| -> Option<Result<(), OAuthError>> {
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
            Some(
                if candidates.iter().any(|k| {
                    k.verify_signature(&alg, message.as_bytes(), &signature)
                        .is_ok()
                }) {
                    Ok(())
                } else {
                    Err(OAuthError::Signature)
                },
            )
        };
        let outcome = match state.keys.as_ref().and_then(verify) {
            Some(r) => r,
            None => {
                // Unknown key id: the issuer may have rotated its keys.
                let stale = state
                    .last_fetch
                    .is_none_or(|t| t.elapsed() >= self.refresh_interval);
                if stale {
                    self.fetch(&mut state).await?;
                }
                state
                    .keys
                    .as_ref()
                    .and_then(verify)
                    .unwrap_or(Err(OAuthError::UnknownKey))
            }
        };
        outcome?;
        let cfg = &state.config;
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
        let leeway = i64::try_from(cfg.leeway_seconds).unwrap_or(0);
        match claims["exp"].as_i64() {
            Some(exp) if exp + leeway > now => {}
            _ => return Err(OAuthError::Expired),
        }
        if let Some(nbf) = claims["nbf"].as_i64() {
            if nbf - leeway > now {
                return Err(OAuthError::NotYetValid);
            }
        }
        let subject = ["client_id", "appid", "azp", "sub"]
            .iter()
            .find_map(|k| claims[*k].as_str())
            .unwrap_or("unknown")
            .to_string();
        Ok(OAuthPrincipal {
            tenant: cfg.tenant.clone(),
            subject,
        })
    }

    async fn find(&self, iss: &str) -> Option<Arc<Mutex<IssuerState>>> {
        for i in &self.issuers {
            if i.lock().await.config.issuer == iss {
                return Some(i.clone());
            }
        }
        None
    }

    /// Discovery (first time) and the JWKS.
    async fn fetch(&self, state: &mut IssuerState) -> Result<(), OAuthError> {
        state.last_fetch = Some(Instant::now());
        if let Some(uri) = &state.jwks_uri {
            let keys = CoreJsonWebKeySet::fetch_async(uri, &self.http)
                .await
                .map_err(|e| OAuthError::Discovery(e.to_string()))?;
            state.keys = Some(keys);
            return Ok(());
        }
        let issuer = IssuerUrl::new(state.config.issuer.clone())
            .map_err(|e| OAuthError::Discovery(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OAuthError::Discovery(e.to_string()))?;
        state.jwks_uri = Some(meta.jwks_uri().clone());
        state.keys = Some(meta.jwks().clone());
        tracing::info!(issuer = %state.config.issuer, keys = meta.jwks().keys().len(), "issuer keys loaded");
        Ok(())
    }
}
