//! Rollcall: a SCIM 2.0 provisioning server.
//!
//! Layers, each knowing only the ones below it:
//! `http` (SCIM and admin surfaces) → `directory` (the domain: every rule)
//! → `store` (SQL, no rules) → the `scim-protocol` crate (pure protocol)
//! → the `scim-filter-parser` crate (filter and path grammar).

pub mod config;
pub mod directory;
pub mod http;
pub mod logging;
pub mod serve;
pub mod store;

use std::sync::Arc;

pub use http::{app, metrics_app, AppState};

use directory::{Clock, Directory, DirectoryConfig, IdGen, SystemClock, UuidGen};
use http::HttpConfig;
use scim_protocol::list::PageLimits;
use store::{Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The configuration is wrong (an OAuth issuer, say).
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Directory(directory::DirectoryError),
}

/// Build the application state from a configuration (used by `main`).
pub async fn state_from_config(cfg: &config::Config) -> Result<AppState, StartError> {
    let store = Store::connect_with(&cfg.database, cfg.limits.lock_wait()).await?;
    let now = time::OffsetDateTime::now_utc();
    for tenant in cfg
        .oauth
        .iter()
        .map(|o| &o.tenant)
        .chain(cfg.oidc.iter().map(|o| &o.tenant))
    {
        store.ensure_tenant(tenant, now).await?;
    }
    for (name, t) in &cfg.tenants {
        let tenant = store.ensure_tenant(name, now).await?;
        store
            .set_seat_limits(&tenant, t.max_users, t.max_viewers)
            .await?;
    }
    // One key set per issuer, shared by access tokens and ID tokens.
    let keyring = Arc::new(
        directory::oauth::Keyring::new(
            cfg.oauth
                .iter()
                .map(|o| o.issuer.clone())
                .chain(cfg.oidc.iter().map(|o| o.issuer.clone())),
            std::time::Duration::from_secs(cfg.oauth_jwks_refresh_seconds),
            std::time::Duration::from_secs(cfg.oauth_jwks_max_age_seconds),
        )
        .map_err(StartError::Config)?,
    );
    let oauth = directory::oauth::OAuthVerifier::new(cfg.oauth.clone(), keyring.clone())
        .map_err(StartError::Config)?;
    let sign_in = directory::sign_in::SignInVerifier::new(cfg.oidc.clone(), keyring)
        .map_err(StartError::Config)?;
    let console_oidc =
        directory::console_oidc::ConsoleOidc::new(&cfg.oidc).map_err(StartError::Config)?;
    let email = match &cfg.email {
        Some(e) => Some(e.resolve().map_err(StartError::Config)?),
        None => None,
    };
    let mut state = build_state(
        store,
        Arc::new(SystemClock),
        Arc::new(UuidGen),
        HttpConfig {
            public_url: cfg.public_url.clone(),
            documentation_uri: cfg.documentation_uri.clone(),
            max_payload_size: cfg.max_payload_size,
            page: PageLimits {
                default_count: cfg.default_page_size,
                max_count: cfg.max_page_size,
            },
            bulk_max_operations: cfg.bulk_max_operations,
            bulk_max_payload_size: cfg.bulk_max_payload_size,
            limits: cfg.limits.clone(),
            rate_limit: cfg.rate_limit.clone(),
            metrics_token: cfg.metrics.resolve().map_err(StartError::Config)?,
            metrics_apart: cfg.metrics.listen.is_some(),
            group_patch_response: cfg.group_patch_response,
        },
        DirectoryConfig {
            max_members_returned: cfg.max_members_returned,
            policy: Arc::new(cfg.policy()),
            hooks: cfg.hooks.clone(),
            delivery: cfg.delivery.clone(),
            request_log: cfg.request_log.clone(),
            invite_url: cfg.invite_url.clone(),
            sign_in: Arc::new(sign_in),
            console_oidc: Arc::new(console_oidc),
            invitation_ttl_hours: cfg.invitation_ttl_hours,
            email,
            max_patch_operations: cfg.limits.max_patch_operations,
        },
    );
    state.oauth = Arc::new(oauth);
    // Effective access follows the configuration: recompute tenants whose
    // policy changed since the last start.
    state
        .directory
        .reconcile_all()
        .await
        .map_err(StartError::Directory)?;
    Ok(state)
}

/// Assemble state from parts (tests inject clock and id generator).
pub fn build_state(
    store: Store,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    http: HttpConfig,
    directory: DirectoryConfig,
) -> AppState {
    AppState {
        directory: Arc::new(Directory::new(
            store,
            Arc::new(scim_protocol::schema::Registry::new()),
            clock,
            ids,
            directory,
        )),
        admission: http::limits::Admission::new(http.limits.max_concurrent_requests),
        rate_limit: Arc::new(http::limits::RateLimiter::new(http.rate_limit.clone())),
        draining: http::Draining::default(),
        http: Arc::new(http),
        oauth: Arc::new(directory::oauth::OAuthVerifier::empty()),
        metrics: Arc::new(http::metrics::Metrics::default()),
    }
}
