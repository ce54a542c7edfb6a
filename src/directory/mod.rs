//! The domain: users and groups of a tenant, their lifecycle, audit and
//! events. Every rule lives here and runs inside the store's write
//! transaction ([`crate::store::Tx`]); the store only persists. Works in
//! `scim-protocol` types.

pub mod access;
mod actions;
pub mod admin;
pub mod audit;
pub mod bulk;
mod cancel;
pub mod console;
pub mod console_oidc;
mod credential_cache;
pub mod delivery;
pub mod deprovision;
mod error;
mod guards;
pub mod hooks;
pub mod lifecycle;
pub mod mail;
pub mod modes;
pub mod oauth;
mod operator;
mod owner;
mod policy;
mod recompute;
mod recreate;
pub mod request_log;
mod resources;
pub mod scopes;
pub mod search;
pub mod sign_in;
mod tenant_settings;
mod token_admin;
pub mod tokens;
pub mod views;
mod write;

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

pub use crate::store::contention::watch as watch_contention;
pub use crate::store::PoolFigures;
pub use cancel::{Cancel, CancelOnDrop};
pub use error::{DirectoryError, DirectoryResult};
pub use policy::MAX_PREVIEW_PAGE as MAX_POLICY_PREVIEW_PAGE;

use crate::store::{AuditEntry, Store, StoredResource, Tenant};
use scim_protocol::schema::{Kind, Registry};

/// Days a deleted user stays restorable unless the tenant says otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 14;

/// Hours an invitation link works unless the config says otherwise.
pub const DEFAULT_INVITATION_TTL_HOURS: i64 = 168;

/// The source of "now" (injected so tests can fix time).
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// Wall-clock time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The source of new resource ids (injected so tests can fix ids).
pub trait IdGen: Send + Sync {
    fn new_id(&self) -> String;
}

/// Random UUIDv4 ids.
pub struct UuidGen;

impl IdGen for UuidGen {
    fn new_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// Who is acting, on which tenant, from where.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tenant: Tenant,
    pub actor: String,
    /// The admin user acting (admin credentials), if any.
    pub actor_user_id: Option<String>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    /// The SCIM base URL the client used (for `$ref` values).
    pub base_url: String,
    /// The operator of the installation (the `rollcall` command with the
    /// database at hand): acts with every right an admin user could have;
    /// the directory's invariants (the last super-admin) still hold.
    pub operator: bool,
}

impl Ctx {
    /// The audit entry of an action by this context's actor.
    pub(crate) fn audit(
        &self,
        object_type: &str,
        object_id: Option<String>,
        object_name: Option<String>,
        action: &str,
        description: String,
    ) -> AuditEntry {
        AuditEntry {
            actor: self.actor.clone(),
            actor_user_id: self.actor_user_id.clone(),
            source_ip: self.source_ip.clone(),
            request_id: self.request_id.clone(),
            job_id: None,
            object_type: object_type.into(),
            object_id,
            object_name,
            action: action.into(),
            description,
            details: None,
        }
    }
}

/// A resource with the attributes computed from other tables.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: Kind,
    pub stored: StoredResource,
    pub computed: Vec<(String, Value)>,
}

/// Directory settings.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// At most this many members are returned with a group.
    pub max_members_returned: i64,
    /// Role catalog, plans, mapping rules and tenant settings.
    pub policy: Arc<access::Policy>,
    /// Outbound calls to the host platform.
    pub hooks: hooks::HooksConfig,
    /// When a delivery is given up; how long delivered rows are kept.
    pub delivery: delivery::DeliveryConfig,
    /// The host's invitation page with `{token}` (see the config file).
    pub invite_url: Option<String>,
    /// The `[[oidc]]` issuers whose ID tokens sign users in.
    pub sign_in: Arc<sign_in::SignInVerifier>,
    /// The console's clients at those issuers (entries with a `client_id`).
    pub console_oidc: Arc<console_oidc::ConsoleOidc>,
    /// Hours an invitation link works.
    pub invitation_ttl_hours: i64,
    /// SMTP for invitation emails (`[email]`, resolved); none: no emails.
    pub email: Option<mail::MailSettings>,
    /// Most operations one PATCH may carry (`[limits]`).
    pub max_patch_operations: usize,
    /// What the request log keeps, and for how long (`[request_log]`).
    pub request_log: request_log::RequestLogConfig,
}

/// Most operations one PATCH may carry unless configured otherwise.
pub const DEFAULT_MAX_PATCH_OPERATIONS: usize = 1_000;

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            max_members_returned: 10_000,
            policy: Arc::new(access::Policy::default()),
            hooks: hooks::HooksConfig::default(),
            delivery: delivery::DeliveryConfig::default(),
            invite_url: None,
            sign_in: Arc::new(sign_in::SignInVerifier::default()),
            console_oidc: Arc::new(console_oidc::ConsoleOidc::default()),
            invitation_ttl_hours: DEFAULT_INVITATION_TTL_HOURS,
            email: None,
            max_patch_operations: DEFAULT_MAX_PATCH_OPERATIONS,
            request_log: request_log::RequestLogConfig::default(),
        }
    }
}

pub struct Directory {
    /// Private: everything above the directory goes through its methods.
    store: Store,
    pub registry: Arc<Registry>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub config: DirectoryConfig,
    /// Deprovisioning jobs this process is running (by id).
    pub running_jobs: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Sends invitation emails (with `[email]` configured).
    mailer: Option<Arc<mail::Mailer>>,
    /// Calls to the host this process made, by kind and outcome.
    delivery_counts: delivery::DeliveryCounters,
    /// Bearer tokens verified within the last second.
    credentials: credential_cache::CredentialCache,
    /// Stored policies, parsed, and the applies this process ran.
    policies: policy::PolicyCache,
    /// Requests noted and not yet written.
    request_log: request_log::RequestBuffer,
}

impl Directory {
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        config: DirectoryConfig,
    ) -> Self {
        let mailer = config
            .email
            .clone()
            .map(|m| Arc::new(mail::Mailer::new(m, store.clone(), clock.clone())));
        Self {
            store,
            registry,
            clock,
            ids,
            config,
            running_jobs: Default::default(),
            mailer,
            delivery_counts: Default::default(),
            credentials: Default::default(),
            policies: Default::default(),
            request_log: Default::default(),
        }
    }

    /// The database pools' sizes now, by name (for `/metrics`).
    pub fn pool_figures(&self) -> Vec<(&'static str, PoolFigures)> {
        self.store.pool_figures()
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> DirectoryResult<()> {
        Ok(self.store.ping().await?)
    }
}
