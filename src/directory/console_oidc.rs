//! Console sign-in through a tenant's identity provider: the authorization
//! code flow with PKCE (S256), `state` and `nonce`, with the `openidconnect`
//! crate, for each `[[oidc]]` entry with a `client_id`.
//!
//! - The provider's metadata comes from its discovery document, fetched on
//!   the first sign-in and kept for an hour; no back-channel call (discovery,
//!   token) follows a redirect.
//! - A sign-in under way is kept in the store (`console_oidc_pending`), so
//!   any instance finishes what another started: under the SHA-256 of its
//!   `state`, with the SHA-256 of the browser cookie that started it, the
//!   provider, the redirect URI and where to go afterwards. The nonce and
//!   the PKCE verifier are derived from the state and that cookie together
//!   (SHA-256 with a label) and never stored: the database alone cannot
//!   finish a sign-in. It lasts 10 minutes and is used once (the callback
//!   removes it whatever happens next).
//! - The callback exchanges the code, verifies the ID token as
//!   `/admin/v1/sign-in` does (signature through the shared keyring, `iss`,
//!   `exp`, `iat`), with `aud` = the console's client and the pending
//!   nonce, then signs the identity in through the same provisioning (the
//!   `(iss, sub)` binding, JIT, role mapping) and opens a console session.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
};
use openidconnect::{
    reqwest, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use sha2::{Digest, Sha256};
use time::Duration;

use super::console::{new_secret, OpenedSession, RequestInfo};
use super::sign_in::OidcConfig;
use super::{Directory, DirectoryError};
use crate::store::OidcPendingRecord;
use scim_protocol::datetime;

/// A sign-in under way must come back within this time.
pub const PENDING_MINUTES: i64 = 10;
/// At most about this many sign-ins are under way at once (the start is
/// open to anyone: this bounds the rows they take).
const MAX_PENDING: i64 = 10_000;
/// A provider's discovery document is fetched again after this time.
const METADATA_TTL: StdDuration = StdDuration::from_secs(3600);

/// Why a console sign-in through an identity provider did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleOidcError {
    /// The request is not (or no longer) a sign-in under way (400).
    #[error("{0}")]
    Invalid(String),
    /// The identity provider did not sign the person in (403).
    #[error("{0}")]
    Denied(String),
    /// The identity provider could not be reached or answered nonsense (502).
    #[error("{0}")]
    Provider(String),
    /// Too many sign-ins under way (503).
    #[error("{0}")]
    Busy(String),
    /// The directory refused or failed (its own status).
    #[error("{0}")]
    Directory(#[from] DirectoryError),
}

type Result<T> = std::result::Result<T, ConsoleOidcError>;

/// An identity provider the console's sign-in page offers.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    /// Its number in the start route (`/console/oidc/{index}/start`).
    pub index: usize,
    /// The words on the button: "Sign in with <name>".
    pub name: String,
    pub tenant: String,
}

/// What the identity provider sent back to the callback.
#[derive(Debug, Clone, Default)]
pub struct OidcCallback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A sign-in started: where to send the browser, and the value of the
/// cookie that ties the callback to this browser (only its hash is kept).
#[derive(Debug, Clone)]
pub struct OidcStart {
    pub url: String,
    pub browser: String,
}

/// A console session opened through an identity provider, and where to go.
#[derive(Debug, Clone)]
pub struct OidcSignedIn {
    pub session: OpenedSession,
    pub next: String,
}

/// One `[[oidc]]` entry's console client.
struct Client {
    tenant: String,
    issuer: String,
    name: String,
    client_id: String,
    secret: String,
    scopes: Vec<String>,
}

/// The console's identity-provider clients.
pub struct ConsoleOidc {
    clients: Vec<Client>,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<HashMap<usize, (Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for ConsoleOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<_> = self.clients.iter().map(|c| &c.issuer).collect();
        f.debug_struct("ConsoleOidc")
            .field("issuers", &issuers)
            .finish()
    }
}

impl Default for ConsoleOidc {
    fn default() -> Self {
        Self {
            clients: Vec::new(),
            http: reqwest::Client::new(),
            metadata: Default::default(),
        }
    }
}

impl ConsoleOidc {
    /// The console clients of these entries (those with a `client_id`); a
    /// `client_secret_file` is read now, so a missing one stops the start.
    pub fn new(configs: &[OidcConfig]) -> std::result::Result<Self, String> {
        let http = super::oauth::back_channel_client()?;
        let clients = configs
            .iter()
            .filter_map(|c| c.client_id.as_ref().map(|id| client(c, id)))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Self {
            clients,
            http,
            ..Default::default()
        })
    }

    /// The provider's metadata, from the cache or its discovery document.
    async fn metadata(&self, index: usize) -> Result<CoreProviderMetadata> {
        let c = &self.clients[index];
        let mut cache = self.metadata.lock().await;
        if let Some((at, m)) = cache.get(&index) {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let unreachable = |e: String| {
            ConsoleOidcError::Provider(format!(
                "the identity provider {} cannot be reached or its discovery document (/.well-known/openid-configuration) is not usable: {e}; try again later, or ask for a one-time sign-in link",
                c.issuer
            ))
        };
        let issuer = IssuerUrl::new(c.issuer.clone()).map_err(|e| unreachable(e.to_string()))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| unreachable(error_chain(&e)))?;
        cache.insert(index, (Instant::now(), m.clone()));
        Ok(m)
    }

    /// The number of the client of this tenant and issuer.
    fn find(&self, tenant: &str, issuer: &str) -> Option<usize> {
        self.clients
            .iter()
            .position(|c| c.tenant == tenant && c.issuer == issuer)
    }
}

/// A secret of one sign-in, derived from its `state` and the browser's
/// cookie together: `label` keeps the nonce and the PKCE verifier apart.
/// 43 characters of base64url (a valid PKCE verifier, RFC 7636 §4.1).
fn derived(label: &str, state: &str, browser: &str) -> String {
    use base64::Engine;
    let mut h = Sha256::new();
    for part in [label, state, browser] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
}

/// One entry's console client, its secret read.
fn client(c: &OidcConfig, id: &str) -> std::result::Result<Client, String> {
    let secret = match (&c.client_secret, &c.client_secret_file) {
        (Some(s), None) => s.0.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| format!("oidc issuer {}: client_secret_file {file}: {e}", c.issuer))?
            .trim()
            .to_string(),
        _ => {
            return Err(format!(
                "oidc issuer {}: client_id needs client_secret or client_secret_file (one of them)",
                c.issuer
            ))
        }
    };
    if secret.is_empty() {
        return Err(format!(
            "oidc issuer {}: the client secret is empty",
            c.issuer
        ));
    }
    Ok(Client {
        tenant: c.tenant.clone(),
        issuer: c.issuer.clone(),
        name: c.name.clone().unwrap_or_else(|| host_of(&c.issuer)),
        client_id: id.to_string(),
        secret,
        scopes: c.scopes.clone(),
    })
}

/// The host of an issuer URL (the button's default name).
fn host_of(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_string()
}

/// The key a sign-in under way is kept under: the state's SHA-256.
fn state_key(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// An error and its causes, in one line (reqwest's top error says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// A return path inside the console, else Manage users.
fn return_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/")
                && !n.starts_with("/console/oidc/")
                && !n.contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/console/users".into(),
    }
}

impl Directory {
    /// The identity providers the console's sign-in page offers.
    pub fn console_identity_providers(&self) -> Vec<IdentityProvider> {
        self.config
            .console_oidc
            .clients
            .iter()
            .enumerate()
            .map(|(index, c)| IdentityProvider {
                index,
                name: c.name.clone(),
                tenant: c.tenant.clone(),
            })
            .collect()
    }

    /// Start a sign-in with provider `index`: the authorization URL to send
    /// the browser to. `redirect_uri` is the console's callback as the
    /// browser reaches it; `next`, where to go once signed in.
    pub async fn begin_console_oidc(
        &self,
        index: usize,
        redirect_uri: &str,
        next: Option<&str>,
    ) -> Result<OidcStart> {
        let oidc = &self.config.console_oidc;
        let c = oidc.clients.get(index).ok_or_else(|| {
            ConsoleOidcError::Directory(DirectoryError::NotFound(
                "there is no such identity provider".into(),
            ))
        })?;
        let metadata = oidc.metadata(index).await?;
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| ConsoleOidcError::Invalid(format!("bad callback address: {e}")))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(c.client_id.clone()),
            Some(ClientSecret::new(c.secret.clone())),
        );
        let (state, browser) = (new_secret(""), new_secret(""));
        let verifier = PkceCodeVerifier::new(derived("pkce", &state, &browser));
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let nonce = derived("nonce", &state, &browser);
        let (s, n) = (state.clone(), nonce.clone());
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(s),
                move || Nonce::new(n),
            )
            .add_scopes(c.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .set_redirect_uri(Cow::Owned(redirect))
            .url();
        let now = self.clock.now();
        let pending = OidcPendingRecord {
            state_hash: state_key(&state),
            browser_hash: state_key(&browser),
            tenant: c.tenant.clone(),
            issuer: c.issuer.clone(),
            redirect_uri: redirect_uri.to_string(),
            next_path: return_path(next),
            expires: datetime::format(now + Duration::minutes(PENDING_MINUTES)),
        };
        let kept = self
            .store
            .remember_oidc_pending(&pending, &datetime::format(now), MAX_PENDING)
            .await
            .map_err(DirectoryError::from)?;
        if !kept {
            return Err(ConsoleOidcError::Busy(
                "too many sign-ins are under way; try again in a few minutes".into(),
            ));
        }
        Ok(OidcStart {
            url: url.to_string(),
            browser,
        })
    }

    /// The callback: the sign-in under way named by `state` (used up now),
    /// in the browser that started it (`browser`, its cookie), the code
    /// exchanged, the ID token verified, the identity signed in, a console
    /// session opened.
    pub async fn finish_console_oidc(
        &self,
        cb: OidcCallback,
        browser: Option<&str>,
        info: RequestInfo,
    ) -> Result<OidcSignedIn> {
        let oidc = &self.config.console_oidc;
        let state = cb.state.clone().unwrap_or_default();
        let pending = self
            .take_pending(&state)
            .await?
            .and_then(|p| oidc.find(&p.tenant, &p.issuer).map(|i| (i, p)))
            .ok_or_else(|| {
                ConsoleOidcError::Invalid(format!(
                    "this sign-in is not under way: it was finished already, it took longer than {PENDING_MINUTES} minutes, or it was never started here; start again from the sign-in page"
                ))
            })?;
        let (index, pending) = pending;
        let same_browser = browser.is_some_and(|b| {
            subtle::ConstantTimeEq::ct_eq(state_key(b).as_bytes(), pending.browser_hash.as_bytes())
                .into()
        });
        if !same_browser {
            return Err(ConsoleOidcError::Invalid(
                "this sign-in was started in another browser (or its cookie is gone); start again from the sign-in page".into(),
            ));
        }
        if let Some(error) = cb.error {
            let more = cb
                .error_description
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            return Err(ConsoleOidcError::Denied(format!(
                "the identity provider did not sign you in: {error}{more}"
            )));
        }
        let code = cb.code.filter(|c| !c.is_empty()).ok_or_else(|| {
            ConsoleOidcError::Invalid("the identity provider sent no authorization code".into())
        })?;
        let browser = browser.unwrap_or_default();
        let c = &oidc.clients[index];
        let verifier = PkceCodeVerifier::new(derived("pkce", &state, browser));
        let id_token = self
            .exchange(index, &pending.redirect_uri, verifier, code)
            .await?;
        let nonce = derived("nonce", &state, browser);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = self
            .config
            .sign_in
            .verify_console(&c.tenant, &c.issuer, &id_token, &nonce, now)
            .await
            .map_err(|e| DirectoryError::TokenRefused(format!("the ID token was refused: {e}")))?;
        let session = self
            .open_session_with_identity(&c.tenant, &claims, info)
            .await?;
        Ok(OidcSignedIn {
            session,
            next: pending.next_path,
        })
    }

    /// The sign-in under way of this state, taken (used up) now; none if
    /// unknown, used or expired.
    async fn take_pending(&self, state: &str) -> Result<Option<OidcPendingRecord>> {
        if state.is_empty() {
            return Ok(None);
        }
        let now = datetime::format(self.clock.now());
        let taken = self
            .store
            .take_oidc_pending(&state_key(state))
            .await
            .map_err(DirectoryError::from)?;
        // Canonical dateTime text compares as the instants do.
        Ok(taken.filter(|p| p.expires > now))
    }

    /// The code for tokens at the provider's token endpoint: the ID token.
    async fn exchange(
        &self,
        index: usize,
        redirect_uri: &str,
        verifier: PkceCodeVerifier,
        code: String,
    ) -> Result<String> {
        let oidc = &self.config.console_oidc;
        let c = &oidc.clients[index];
        let metadata = oidc.metadata(index).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(c.client_id.clone()),
            Some(ClientSecret::new(c.secret.clone())),
        );
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| ConsoleOidcError::Invalid(format!("bad callback address: {e}")))?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| {
                ConsoleOidcError::Provider(format!(
                    "the identity provider {} has no token endpoint: {e}",
                    c.issuer
                ))
            })?;
        let token = request
            .set_pkce_verifier(verifier)
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&oidc.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    let more = r
                        .error_description()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    let kind = match r.error() {
                        CoreErrorResponseType::Extension(x) => x.clone(),
                        other => serde_json::to_value(other)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    };
                    ConsoleOidcError::Invalid(format!(
                        "the identity provider refused the sign-in's code: {kind}{more}; start again from the sign-in page"
                    ))
                }
                other => ConsoleOidcError::Provider(format!(
                    "the identity provider {}'s token endpoint failed: {}",
                    c.issuer,
                    error_chain(&other)
                )),
            })?;
        token.id_token().map(ToString::to_string).ok_or_else(|| {
            ConsoleOidcError::Provider(format!(
                "the identity provider {} answered without an ID token",
                c.issuer
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_console_paths_are_return_paths() {
        assert_eq!(return_path(Some("/console/users/u1")), "/console/users/u1");
        for bad in [
            None,
            Some("https://evil.test/"),
            Some("//evil.test/console/"),
            Some("/console//evil"),
            Some("/console/oidc/callback"),
            Some("/console/\\evil"),
            Some("/scim/v2/Users"),
        ] {
            assert_eq!(return_path(bad), "/console/users", "{bad:?}");
        }
    }

    #[test]
    fn a_client_needs_its_secret_and_a_missing_secret_file_stops_the_start() {
        let entry = |extra: &str| -> OidcConfig {
            toml::from_str(&format!(
                "tenant = \"acme\"\nissuer = \"https://i/\"\nclient_id = \"c\"\n{extra}"
            ))
            .unwrap()
        };
        let missing = ConsoleOidc::new(&[entry("client_secret_file = \"/nonexistent/secret\"\n")]);
        assert!(missing.unwrap_err().contains("/nonexistent/secret"));
        assert!(ConsoleOidc::new(&[entry("")]).is_err());
        let ok = ConsoleOidc::new(&[entry("client_secret = \"hunter2\"\n")]).unwrap();
        assert!(!format!("{ok:?}").contains("hunter2"));
        assert_eq!(ok.clients[0].name, "i");
    }

    #[test]
    fn the_default_name_is_the_issuers_host() {
        assert_eq!(
            host_of("https://acme.okta.com/oauth2/default"),
            "acme.okta.com"
        );
        assert_eq!(host_of("http://127.0.0.1:4000"), "127.0.0.1:4000");
    }

    #[test]
    fn the_nonce_and_the_verifier_come_from_the_state_and_the_browser_together() {
        let v = derived("pkce", "state-a", "browser-a");
        assert_eq!(v.len(), 43, "a PKCE verifier is 43 to 128 characters");
        assert!(v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(
            v,
            derived("pkce", "state-a", "browser-a"),
            "the callback finds it again"
        );
        assert_ne!(
            v,
            derived("nonce", "state-a", "browser-a"),
            "the nonce is another value"
        );
        assert_ne!(
            v,
            derived("pkce", "state-a", "browser-b"),
            "another browser, another value"
        );
        assert_ne!(
            v,
            derived("pkce", "state-b", "browser-a"),
            "another state, another value"
        );
        // The parts are delimited: moving a character between them changes it.
        assert_ne!(derived("pkce", "ab", "c"), derived("pkce", "a", "bc"));
    }
}
