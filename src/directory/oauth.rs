//! OAuth 2.0 bearer tokens from configured issuers: JWT access tokens
//! verified against the issuer's JWKS (found through OpenID Connect
//! discovery with the `openidconnect` crate): signature, issuer, audience,
//! expiry and not-before. The keys, their refetch on an unknown key id and
//! its throttle are the [`Keyring`]'s, shared with the sign-in ID tokens.

mod keys;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

pub use keys::{back_channel_client, Keyring, DEFAULT_MAX_KEY_AGE};
pub(crate) use keys::{IssuerKeys, Jws, ASYMMETRIC};

use super::scopes::Scope;

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
    /// What this issuer's tokens may reach; default `["scim"]`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<Scope>,
}

fn default_scopes() -> Vec<Scope> {
    vec![Scope::Scim]
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
    #[error("wrong issuer: {0}")]
    Issuer(String),
    #[error("issued in the future")]
    IssuedInFuture,
    #[error("nonce mismatch: {0}")]
    Nonce(String),
    #[error("invalid claims: {0}")]
    Claims(String),
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthPrincipal {
    pub tenant: String,
    /// `client_id`, `appid` (Entra ID) or `sub`.
    pub subject: String,
    /// The issuer's scopes.
    pub scopes: Vec<Scope>,
}

/// Verifies JWT access tokens against the configured issuers.
pub struct OAuthVerifier {
    issuers: Vec<(IssuerConfig, Arc<IssuerKeys>)>,
    keyring: Arc<Keyring>,
}

/// Whether a bearer value has the shape of a JWS compact serialization.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.starts_with("ey")
}

impl OAuthVerifier {
    /// The issuers' key sets come from `keyring`, which must know each of
    /// their URLs.
    pub fn new(configs: Vec<IssuerConfig>, keyring: Arc<Keyring>) -> Result<Self, String> {
        let issuers = keyring.bind(configs, |c| &c.issuer)?;
        Ok(Self { issuers, keyring })
    }

    /// A verifier that trusts no issuer.
    pub fn empty() -> Self {
        Self {
            issuers: Vec::new(),
            keyring: Arc::new(Keyring::empty()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// The configured issuers.
    pub fn configs(&self) -> impl Iterator<Item = &IssuerConfig> {
        self.issuers.iter().map(|(c, _)| c)
    }

    /// Verify a JWT access token; `now` is Unix seconds.
    pub async fn verify(&self, token: &str, now: i64) -> Result<OAuthPrincipal, OAuthError> {
        let jws = Jws::parse(token)?;
        let iss = jws.claims["iss"].as_str().ok_or(OAuthError::Malformed)?;
        let (config, keys) = self
            .issuers
            .iter()
            .find(|(c, _)| c.issuer == iss)
            .ok_or_else(|| OAuthError::UnknownIssuer(iss.to_string()))?;
        self.keyring.with_keys(keys, |k| jws.check(k)).await?;
        check_claims(config, &jws.claims, now)
    }
}

/// Audience, expiry, not-before and allowed clients; the caller it names.
fn check_claims(
    cfg: &IssuerConfig,
    claims: &Value,
    now: i64,
) -> Result<OAuthPrincipal, OAuthError> {
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
        scopes: cfg.scopes.clone(),
    })
}
