//! `[[oidc]]` issuers and the verification of their ID tokens with the
//! `openidconnect` crate: signature (asymmetric algorithms only) against
//! the issuer's keys from the shared [`Keyring`] (discovery, JWKS, refetch
//! on an unknown key id, throttled), `iss`, `aud` (one of the configured
//! audiences; any other audience in the token must be configured too),
//! `exp`, `iat` (not in the future) and, when the caller sends one,
//! `nonce`. The claims role mapping reads are taken from the verified
//! token.

use std::sync::Arc;

use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, Nonce, SignatureVerificationError,
};
use serde::Deserialize;
use serde_json::Value;

use crate::directory::oauth::{IssuerKeys, Jws, Keyring, OAuthError, ASYMMETRIC};

/// One identity provider whose ID tokens sign users in to one tenant
/// (`[[oidc]]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The tenant the signed-in users belong to.
    pub tenant: String,
    /// The `iss` claim, exactly (Auth0: `https://TENANT.REGION.auth0.com/`,
    /// with the trailing slash).
    pub issuer: String,
    /// The host application's client ids: the token's `aud` must name one
    /// (may be empty for an entry only the console signs in with).
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The claim holding role keys, fed to role mapping as SCIM `roles`.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// The claim holding group names, fed to role mapping as groups.
    pub groups_claim: Option<String>,
    /// Create a user on the first sign-in of an identity no user matches.
    #[serde(default)]
    pub jit: bool,
    /// Clock skew allowed on `exp` and `iat`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// A JetBrains Hub: read the user's role keys from Hub's REST API
    /// (`/api/rest/users/{sub}/transitiveprojectroles`) with this file's
    /// permanent token, instead of from `roles_claim` (Hub puts no roles in
    /// its ID tokens).
    pub hub_roles_token_file: Option<String>,
    /// Hub's base URL for those calls (default: `issuer`).
    pub hub_url: Option<String>,
    /// The console's own client at this issuer: with it, the console's
    /// sign-in page offers "Sign in with <name>" (authorization code flow
    /// with PKCE). ID tokens of this client are accepted by the console
    /// only, not by `/admin/v1/sign-in`.
    pub client_id: Option<String>,
    /// The console client's secret (or `client_secret_file`); never logged
    /// or shown.
    pub client_secret: Option<ClientSecretText>,
    /// A file holding the console client's secret, read at start.
    pub client_secret_file: Option<String>,
    /// The name on the console's button (default: the issuer's host).
    pub name: Option<String>,
    /// The scopes the console asks for besides `openid` (those that put
    /// the email, the name and the roles and groups claims in the ID token).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["email".into(), "profile".into()]
}

/// A client secret as configured: its `Debug` shows nothing of it.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct ClientSecretText(pub String);

impl std::fmt::Debug for ClientSecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn default_roles_claim() -> String {
    "roles".into()
}

fn default_leeway() -> u64 {
    60
}

/// What a verified ID token says about its user.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInClaims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The roles claim's values (none when the claim is absent).
    pub roles: Vec<String>,
    /// The groups claim's values, when a groups claim is configured.
    pub groups: Option<Vec<String>>,
    /// Whether unknown users are created (`jit`).
    pub jit: bool,
}

/// Verifies ID tokens of the configured issuers, per tenant.
pub struct SignInVerifier {
    issuers: Vec<(OidcConfig, Arc<IssuerKeys>)>,
    /// Per issuer entry (same index): Hub's REST API, when roles come from it.
    hubs: Vec<Option<super::hub::HubRoles>>,
    keyring: Arc<Keyring>,
}

impl std::fmt::Debug for SignInVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<_> = self.issuers.iter().map(|(c, _)| c).collect();
        f.debug_struct("SignInVerifier")
            .field("issuers", &issuers)
            .finish()
    }
}

impl Default for SignInVerifier {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            hubs: Vec::new(),
            keyring: Arc::new(Keyring::empty()),
        }
    }
}

/// What the `iat` check answers for a token issued in the future.
const IAT_FUTURE: &str = "issued in the future";

impl SignInVerifier {
    /// The configured issuers.
    pub fn configs(&self) -> impl Iterator<Item = &OidcConfig> {
        self.issuers.iter().map(|(c, _)| c)
    }

    /// The issuers' key sets come from `keyring`, which must know each of
    /// their URLs.
    pub fn new(configs: Vec<OidcConfig>, keyring: Arc<Keyring>) -> Result<Self, String> {
        let issuers = keyring.bind(configs, |c| &c.issuer)?;
        let hubs = issuers
            .iter()
            .map(|(c, _)| super::hub::HubRoles::from_config(c))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            issuers,
            hubs,
            keyring,
        })
    }

    /// Verify an ID token presented for `tenant`; `now` is Unix seconds.
    pub async fn verify(
        &self,
        tenant: &str,
        token: &str,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<SignInClaims, OAuthError> {
        self.verify_for(tenant, token, nonce, now, None).await
    }

    /// Verify an ID token the console's client of `issuer` received: its
    /// `aud` must be that client (and nothing else), its nonce `nonce`.
    pub async fn verify_console(
        &self,
        tenant: &str,
        issuer: &str,
        token: &str,
        nonce: &str,
        now: i64,
    ) -> Result<SignInClaims, OAuthError> {
        let claims = self
            .verify_for(tenant, token, Some(nonce), now, Some(issuer))
            .await?;
        if claims.issuer != issuer {
            return Err(OAuthError::Issuer(format!(
                "the ID token is from {}, not {issuer}",
                claims.issuer
            )));
        }
        Ok(claims)
    }

    /// `console`: the issuer whose console client the token must be for
    /// (instead of one of the entry's host audiences).
    async fn verify_for(
        &self,
        tenant: &str,
        token: &str,
        nonce: Option<&str>,
        now: i64,
        console: Option<&str>,
    ) -> Result<SignInClaims, OAuthError> {
        let jws = Jws::parse(token)?;
        let iss = jws.claims["iss"].as_str().ok_or(OAuthError::Malformed)?;
        let (index, (config, keys)) = self
            .issuers
            .iter()
            .enumerate()
            .find(|(_, (c, _))| c.tenant == tenant && c.issuer == iss)
            .ok_or_else(|| {
                OAuthError::Issuer(format!(
                    "\"{iss}\" is not an [[oidc]] issuer of tenant \"{tenant}\""
                ))
            })?;
        let audiences = match console {
            Some(i) if i != iss => {
                return Err(OAuthError::Issuer(format!(
                    "the ID token is from {iss}, not {i}"
                )))
            }
            Some(_) => config.client_id.iter().cloned().collect(),
            None => config.audiences.clone(),
        };
        let client = audience(&audiences, &jws.claims)?;
        let id_token: CoreIdToken = token
            .parse()
            .map_err(|e: serde_json::Error| OAuthError::Claims(e.to_string()))?;
        self.keyring
            .with_keys(keys, |k| {
                check(config, &audiences, &client, &id_token, k, nonce, now)
            })
            .await?;
        let mut claims = read_claims(config, &jws.claims);
        if let Some(hub) = self.hubs.get(index).and_then(Option::as_ref) {
            claims.roles = hub.role_keys(self.keyring.http(), &claims.subject).await?;
        }
        Ok(claims)
    }
}

/// The configured audience the token names (the client it was issued to).
fn audience(audiences: &[String], claims: &Value) -> Result<String, OAuthError> {
    let named: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    named
        .iter()
        .find(|a| audiences.iter().any(|c| c == *a))
        .map(|a| a.to_string())
        .ok_or(OAuthError::Audience)
}

/// One verification against one key set: `None` when no key of the set
/// has the token's key id (the caller refetches the keys).
fn check(
    config: &OidcConfig,
    audiences: &[String],
    client: &str,
    id_token: &CoreIdToken,
    keys: &CoreJsonWebKeySet,
    nonce: Option<&str>,
    now: i64,
) -> Option<Result<(), OAuthError>> {
    let issuer = match IssuerUrl::new(config.issuer.clone()) {
        Ok(i) => i,
        Err(e) => return Some(Err(OAuthError::Issuer(e.to_string()))),
    };
    let leeway = i64::try_from(config.leeway_seconds).unwrap_or(i64::MAX);
    let algs = ASYMMETRIC
        .iter()
        .filter_map(|a| serde_json::from_value(Value::String(a.to_string())).ok());
    let audiences = audiences.to_vec();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client.to_string()),
        issuer,
        keys.clone(),
    )
    .set_allowed_algs(algs)
    .set_other_audience_verifier_fn(move |aud| audiences.iter().any(|a| a == aud.as_str()))
    .set_time_fn(move || unix(now.saturating_sub(leeway)))
    .set_issue_time_verifier_fn(move |iat| {
        if iat.timestamp() > now.saturating_add(leeway) {
            Err(IAT_FUTURE.to_string())
        } else {
            Ok(())
        }
    });
    let checked = match nonce {
        Some(n) => id_token
            .claims(&verifier, &Nonce::new(n.to_string()))
            .map(|_| ()),
        None => id_token
            .claims(&verifier, |_: Option<&Nonce>| Ok(()))
            .map(|_| ()),
    };
    match checked {
        Ok(()) => Some(Ok(())),
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => None,
        Err(e) => Some(Err(refusal(e))),
    }
}

fn unix(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// Why `openidconnect` refused the token, in this crate's terms.
fn refusal(e: ClaimsVerificationError) -> OAuthError {
    match e {
        ClaimsVerificationError::Expired(m) if m == IAT_FUTURE => OAuthError::IssuedInFuture,
        ClaimsVerificationError::Expired(_) => OAuthError::Expired,
        ClaimsVerificationError::InvalidAudience(_) => OAuthError::Audience,
        ClaimsVerificationError::InvalidIssuer(m) => OAuthError::Issuer(m),
        ClaimsVerificationError::InvalidNonce(m) => OAuthError::Nonce(m),
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(a),
        ) => OAuthError::Algorithm(a),
        ClaimsVerificationError::SignatureVerification(_) => OAuthError::Signature,
        other => OAuthError::Claims(other.to_string()),
    }
}

/// The claims of a verified token that sign-in provisioning reads.
fn read_claims(config: &OidcConfig, claims: &Value) -> SignInClaims {
    let text = |k: &str| {
        claims[k]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    SignInClaims {
        issuer: config.issuer.clone(),
        subject: text("sub").unwrap_or_default(),
        email: text("email"),
        // Some providers send the flag as a string.
        email_verified: matches!(&claims["email_verified"], Value::Bool(true))
            || claims["email_verified"].as_str() == Some("true"),
        preferred_username: text("preferred_username"),
        name: text("name"),
        given_name: text("given_name"),
        family_name: text("family_name"),
        roles: values(&claims[config.roles_claim.as_str()]),
        groups: config.groups_claim.as_deref().map(|g| values(&claims[g])),
        jit: config.jit,
    }
}

/// A claim's values: an array of strings, or one string.
fn values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => vec![s.trim().to_string()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn config() -> OidcConfig {
        toml::from_str(
            "tenant = \"acme\"\nissuer = \"https://acme.eu.auth0.com/\"\naudiences = [\"host\"]\nroles_claim = \"https://acme.example/roles\"\ngroups_claim = \"groups\"\n",
        )
        .unwrap()
    }

    #[test]
    fn claims_are_read_as_the_configuration_names_them() {
        let c = config();
        assert!(!c.jit, "jit is off unless asked for");
        let got = read_claims(
            &c,
            &json!({"sub": "auth0|1", "email": "Ann@Acme.test", "email_verified": "true",
                    "https://acme.example/roles": ["datalore-viewer", " ", 3], "groups": "Admins",
                    "roles": ["ignored"]}),
        );
        assert_eq!(got.subject, "auth0|1");
        assert!(got.email_verified);
        assert_eq!(got.roles, vec!["datalore-viewer"]);
        assert_eq!(got.groups, Some(vec!["Admins".to_string()]));
        let none = read_claims(&c, &json!({"sub": "x", "email_verified": false}));
        assert!(none.roles.is_empty() && !none.email_verified);
        assert_eq!(none.groups, Some(vec![]));
    }

    #[test]
    fn the_audience_must_be_a_configured_client() {
        let c = config().audiences;
        assert_eq!(
            audience(&c, &json!({"aud": ["other", "host"]})).unwrap(),
            "host"
        );
        assert_eq!(
            audience(&c, &json!({"aud": "other"})),
            Err(OAuthError::Audience)
        );
        assert_eq!(audience(&c, &json!({})), Err(OAuthError::Audience));
    }
}
