//! Rollcall: a SCIM 2.0 provisioning server.
//!
//! Layers, each knowing only the one below: `http` → `scim` (pure protocol)
//! → `directory` (the domain) → `store` (SQL).

pub mod config;
pub mod directory;
pub mod http;
pub mod scim;
pub mod store;

use std::sync::Arc;

pub use http::{app, AppState};

use directory::{Clock, Directory, DirectoryConfig, IdGen, SystemClock, UuidGen};
use http::HttpConfig;
use scim::list::PageLimits;
use store::{Store, StoreResult};

/// Build the application state from a configuration (used by `main`).
pub async fn state_from_config(cfg: &config::Config) -> StoreResult<AppState> {
    let store = Store::connect(&cfg.database).await?;
    let now = time::OffsetDateTime::now_utc();
    for o in &cfg.oauth {
        store.ensure_tenant(&o.tenant, now).await?;
    }
    for (name, t) in &cfg.tenants {
        let tenant = store.ensure_tenant(name, now).await?;
        store
            .set_seat_limits(&tenant, t.max_users, t.max_viewers)
            .await?;
    }
    let oauth = directory::oauth::OAuthVerifier::new(
        cfg.oauth.clone(),
        std::time::Duration::from_secs(cfg.oauth_jwks_refresh_seconds),
    )
    .map_err(store::StoreError::Corrupt)?;
    let mut state = build_state(
        store,
        Arc::new(SystemClock),
        Arc::new(UuidGen),
        HttpConfig {
            public_url: cfg.public_url.clone(),
            max_payload_size: cfg.max_payload_size,
            page: PageLimits {
                default_count: cfg.default_page_size,
                max_count: cfg.max_page_size,
            },
            bulk_max_operations: cfg.bulk_max_operations,
            bulk_max_payload_size: cfg.bulk_max_payload_size,
        },
        DirectoryConfig {
            max_members_returned: cfg.max_members_returned,
            policy: Arc::new(cfg.policy()),
            hooks: cfg.hooks.clone(),
            invite_url: cfg.invite_url.clone(),
        },
    );
    state.oauth = Arc::new(oauth);
    // Effective access follows the configuration: recompute tenants whose
    // policy changed since the last start.
    let dir = &state.directory;
    for tenant in dir.store.tenants().await? {
        let fp = dir.config.policy.fingerprint(&tenant.name);
        let n = dir
            .store
            .reconcile_access(&tenant, &fp, dir.clock.now())
            .await?;
        if n > 0 {
            tracing::info!(tenant = %tenant.name, users = n, "effective access recomputed after a configuration change");
        }
    }
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
        directory: Arc::new(Directory {
            store: store.with_policy(directory.policy.clone()),
            registry: Arc::new(scim::schema::Registry::new()),
            clock,
            ids,
            config: directory,
            running_jobs: Default::default(),
        }),
        http: Arc::new(http),
        oauth: Arc::new(directory::oauth::OAuthVerifier::empty()),
        metrics: Arc::new(http::metrics::Metrics::default()),
    }
}
