//! One typed configuration: defaults, then the TOML file, then environment
//! variables, then command-line flags. Validated before the server starts.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://…`.
    pub database: String,
    /// Public base URL of the SCIM API, e.g. `https://id.example.com/scim/v2`.
    pub public_url: Option<String>,
    /// Where this server's documentation is, announced as `documentationUri`
    /// in /ServiceProviderConfig (left out when unset).
    pub documentation_uri: Option<String>,
    /// Largest request body accepted, in bytes (announced as maxPayloadSize).
    pub max_payload_size: usize,
    /// Page size when a list request gives no `count`.
    pub default_page_size: i64,
    /// Largest page size (announced as filter.maxResults).
    pub max_page_size: i64,
    /// At most this many members are returned with a group.
    pub max_members_returned: i64,
    /// `no-content` (default: 204, members not read) or `resource` (200
    /// with the whole group) for a group PATCH asking for no attributes.
    pub group_patch_response: crate::http::GroupPatchResponse,
    /// Most operations in one Bulk request (announced as bulk.maxOperations).
    pub bulk_max_operations: usize,
    /// Largest Bulk request body in bytes (announced as bulk.maxPayloadSize).
    pub bulk_max_payload_size: usize,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// OAuth issuers whose JWT access tokens are accepted (`[[oauth]]`).
    pub oauth: Vec<crate::directory::oauth::IssuerConfig>,
    /// At most one JWKS refresh per issuer in this many seconds (for
    /// `[[oauth]]` and `[[oidc]]` issuers alike).
    pub oauth_jwks_refresh_seconds: u64,
    /// Issuer keys older than this many seconds are refetched before they
    /// are trusted again (default six hours), so a withdrawn key stops
    /// verifying even when no token names a new one.
    pub oauth_jwks_max_age_seconds: u64,
    /// Identity providers whose ID tokens sign users in, per tenant
    /// (`[[oidc]]`).
    pub oidc: Vec<crate::directory::sign_in::OidcConfig>,
    /// Per-tenant settings (`[tenants.<name>]`); tenants listed are created.
    pub tenants: std::collections::BTreeMap<String, TenantConfig>,
    /// The plan catalog; among several group plans, the one listed last wins.
    pub plans: Vec<String>,
    /// Custom roles of every tenant (`[[roles]] name, rank`).
    pub roles: Vec<crate::directory::access::RoleDef>,
    /// Ordered role-mapping rules (`[[role_mapping]]`).
    pub role_mapping: Vec<crate::directory::access::MappingRule>,
    /// Ownership-transfer and event webhooks (`[hooks]`).
    pub hooks: crate::directory::hooks::HooksConfig,
    /// Dead letters and pruning of what the webhooks delivered
    /// (`[delivery]`).
    pub delivery: crate::directory::delivery::DeliveryConfig,
    /// The log of SCIM requests per tenant (`[request_log]`).
    pub request_log: crate::directory::request_log::RequestLogConfig,
    /// The host platform's invitation page, with `{token}` where the
    /// invitation's secret goes (e.g. `https://data.example.com/join/{token}`).
    /// Unset: invitation links point at the admin API's own
    /// `/admin/v1/invitations/{token}`.
    pub invite_url: Option<String>,
    /// Hours an invitation link works (default 168: a week).
    pub invitation_ttl_hours: i64,
    /// SMTP for invitation emails (`[email]`); unset: Rollcall sends none.
    pub email: Option<crate::directory::mail::EmailConfig>,
    /// Back-pressure and timeouts (`[limits]`).
    pub limits: crate::http::limits::LimitsConfig,
    /// `[rate_limit]`: off when absent.
    pub rate_limit: Option<crate::http::limits::RateLimitConfig>,
    /// Seconds between SIGTERM (`/readyz` answers 503 "draining") and the
    /// listener closing, for load balancers to notice.
    pub shutdown_grace_seconds: u64,
    /// `[metrics]`: who may read `/metrics`.
    pub metrics: crate::http::process_metrics::MetricsConfig,
}

/// Settings of one tenant.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Seats for users of type `user` (unset: unlimited).
    pub max_users: Option<i64>,
    /// Seats for users of type `viewer` (unset: unlimited).
    pub max_viewers: Option<i64>,
    /// Role of users nothing else gives a role (default `member`).
    pub default_role: Option<String>,
    /// Plan of users with no personal or group plan.
    pub default_plan: Option<String>,
    /// userNames that are super-admins whatever else says (how a tenant gets
    /// its first super-admin).
    #[serde(default)]
    pub super_admins: Vec<String>,
    /// Custom roles of this tenant.
    #[serde(default)]
    pub roles: Vec<crate::directory::access::RoleDef>,
    /// Let admins change IdP-managed attributes (type, role, plan, active).
    #[serde(default)]
    pub allow_local_overrides: bool,
    /// Who receives a deleted user's assets when neither a successor nor a
    /// manager is named (userName or id).
    pub fallback_owner: Option<String>,
    /// Days a deleted user stays restorable before the purge (default 14).
    pub retention_days: Option<i64>,
    /// The tenant's first owner (userName or id), until the owner hands
    /// ownership on (see docs/directory.md, "The owner").
    pub owner: Option<String>,
    /// `read-write` (default) or `read-only`: no local change of users an
    /// identity provider manages.
    #[serde(default)]
    pub directory_mode: crate::directory::modes::DirectoryMode,
    /// Whether admins may ban and unban users an identity provider manages
    /// (default true).
    pub local_holds: Option<bool>,
    /// No two live users share an email (compared case-insensitively).
    #[serde(default)]
    pub unique_emails: bool,
    /// What becomes of a user an identity provider creates again after
    /// their deletion: `hold` or `restore` (an admin may choose at run time).
    pub recreate_deleted: Option<crate::directory::modes::RecreateDeleted>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://rollcall.db".into(),
            public_url: None,
            documentation_uri: None,
            max_payload_size: 1024 * 1024,
            default_page_size: 100,
            max_page_size: 1000,
            max_members_returned: 10_000,
            group_patch_response: crate::http::GroupPatchResponse::default(),
            bulk_max_operations: 10_000,
            bulk_max_payload_size: 16 * 1024 * 1024,
            log_format: "text".into(),
            oauth: Vec::new(),
            oauth_jwks_refresh_seconds: 30,
            oauth_jwks_max_age_seconds: 6 * 3600,
            oidc: Vec::new(),
            tenants: std::collections::BTreeMap::new(),
            plans: Vec::new(),
            roles: Vec::new(),
            role_mapping: Vec::new(),
            hooks: crate::directory::hooks::HooksConfig::default(),
            delivery: crate::directory::delivery::DeliveryConfig::default(),
            request_log: crate::directory::request_log::RequestLogConfig::default(),
            invite_url: None,
            invitation_ttl_hours: crate::directory::DEFAULT_INVITATION_TTL_HOURS,
            email: None,
            limits: crate::http::limits::LimitsConfig::default(),
            rate_limit: None,
            shutdown_grace_seconds: 5,
            metrics: crate::http::process_metrics::MetricsConfig::default(),
        }
    }
}

/// The longest an invitation link may work.
pub const MAX_INVITATION_TTL_HOURS: i64 = 8760;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// `NAME` from the environment, or else the contents of the file
/// `NAME_FILE` names (a container's secret), its final newline dropped.
fn env_or_file(name: &str) -> Result<Option<String>, ConfigError> {
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Ok(Some(v));
    }
    let file_var = format!("{name}_FILE");
    let Some(path) = std::env::var(&file_var).ok().filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: format!("{path} (from {file_var})"),
        source,
    })?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()))
}

impl Config {
    /// Load from an optional file and the `ROLLCALL_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.display().to_string(),
                    source,
                })?
            }
            None => Config::default(),
        };
        let env = |k: &str| env_or_file(k);
        if let Some(v) = env("ROLLCALL_LISTEN")? {
            cfg.listen = v;
        }
        if let Some(v) = env("ROLLCALL_DATABASE_URL")? {
            cfg.database = v;
        }
        if let Some(v) = env("ROLLCALL_PUBLIC_URL")? {
            cfg.public_url = Some(v);
        }
        if let Some(v) = env("ROLLCALL_DOCUMENTATION_URI")? {
            cfg.documentation_uri = Some(v);
        }
        if let Some(v) = env("ROLLCALL_MAX_PAYLOAD_SIZE")? {
            cfg.max_payload_size = v.parse().map_err(|_| {
                ConfigError::Invalid(format!("ROLLCALL_MAX_PAYLOAD_SIZE={v} is not a number"))
            })?;
        }
        if let Some(v) = env("ROLLCALL_LOG_FORMAT")? {
            cfg.log_format = v;
        }
        if let Some(v) = env("ROLLCALL_METRICS_TOKEN")? {
            cfg.metrics.token = Some(v);
            cfg.metrics.token_file = None;
        }
        Ok(cfg)
    }

    /// The directory policy this configuration describes.
    pub fn policy(&self) -> crate::directory::access::Policy {
        crate::directory::access::Policy {
            plans: self.plans.clone(),
            roles: self.roles.clone(),
            rules: self.role_mapping.clone(),
            tenants: self
                .tenants
                .iter()
                .map(|(name, t)| {
                    (
                        name.clone(),
                        crate::directory::access::TenantAccess {
                            default_role: t.default_role.clone(),
                            default_plan: t.default_plan.clone(),
                            super_admins: t.super_admins.clone(),
                            roles: t.roles.clone(),
                            allow_local_overrides: t.allow_local_overrides,
                            fallback_owner: t.fallback_owner.clone(),
                            retention_days: t.retention_days,
                        },
                    )
                })
                .collect(),
            modes: self
                .tenants
                .iter()
                .map(|(name, t)| {
                    (
                        name.clone(),
                        crate::directory::modes::TenantModes {
                            owner: t.owner.clone(),
                            directory_mode: t.directory_mode,
                            local_holds: t.local_holds.unwrap_or(true),
                            unique_emails: t.unique_emails,
                            recreate_deleted: t.recreate_deleted,
                        },
                    )
                })
                .collect(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.policy().validate().map_err(ConfigError::Invalid)?;
        self.hooks.validate().map_err(ConfigError::Invalid)?;
        self.delivery.validate().map_err(ConfigError::Invalid)?;
        self.request_log.validate().map_err(ConfigError::Invalid)?;
        self.validate_limits()?;
        self.validate_urls()?;
        self.validate_oauth()?;
        self.validate_oidc()?;
        self.limits.validate().map_err(ConfigError::Invalid)?;
        if let Some(r) = &self.rate_limit {
            r.validate().map_err(ConfigError::Invalid)?;
        }
        self.metrics.resolve().map_err(ConfigError::Invalid)?;
        self.validate_invitations()?;
        self.validate_tenants()
    }

    /// Link lifetime, and an `[email]` that can send: its files readable,
    /// its addresses valid, and an absolute `invite_url` for the link.
    fn validate_invitations(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_INVITATION_TTL_HOURS).contains(&self.invitation_ttl_hours) {
            return Err(ConfigError::Invalid(format!(
                "invitation_ttl_hours must be from 1 to {MAX_INVITATION_TTL_HOURS} (a year), not {}",
                self.invitation_ttl_hours
            )));
        }
        if let Some(email) = &self.email {
            email.resolve().map_err(ConfigError::Invalid)?;
            if self.invite_url.is_none() {
                return Err(ConfigError::Invalid(
                    "[email] needs invite_url: the emailed link must point at the host's invitation page (e.g. https://data.example.com/join/{token})".into(),
                ));
            }
        }
        Ok(())
    }

    /// Sizes, pages and formats.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        if self.bulk_max_operations < 1 || self.bulk_max_payload_size < self.max_payload_size {
            return Err(ConfigError::Invalid(
                "bulk_max_operations must be at least 1 and bulk_max_payload_size at least max_payload_size".into(),
            ));
        }
        if self.max_payload_size < 1024 {
            return Err(ConfigError::Invalid(
                "max_payload_size must be at least 1024 bytes".into(),
            ));
        }
        if self.default_page_size < 1 || self.max_page_size < self.default_page_size {
            return Err(ConfigError::Invalid(
                "need 1 <= default_page_size <= max_page_size".into(),
            ));
        }
        if self.max_members_returned < 0 {
            return Err(ConfigError::Invalid(
                "max_members_returned must be >= 0".into(),
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(
                "log_format must be text or json".into(),
            ));
        }
        Ok(())
    }

    /// The database, invitation, public and documentation URLs.
    fn validate_urls(&self) -> Result<(), ConfigError> {
        if crate::store::Backend::of_url(&self.database).is_none() {
            return Err(ConfigError::Invalid(format!(
                "unsupported database URL \"{}\": use sqlite://FILE or postgres://USER@HOST/DB",
                self.database
            )));
        }
        if let Some(u) = &self.invite_url {
            if !u.contains("{token}") || !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(ConfigError::Invalid(
                    "invite_url must be an http(s) URL containing {token}".into(),
                ));
            }
        }
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::Invalid(
                    "public_url must start with http:// or https://".into(),
                ));
            }
        }
        if let Some(u) = &self.documentation_uri {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::Invalid(
                    "documentation_uri must start with http:// or https://".into(),
                ));
            }
        }
        Ok(())
    }

    /// `[[oauth]]` issuers: one tenant each, https (plain http on loopback
    /// only), complete entries.
    fn validate_oauth(&self) -> Result<(), ConfigError> {
        for (i, o) in self.oauth.iter().enumerate() {
            if self.oauth[..i].iter().any(|p| p.issuer == o.issuer) {
                return Err(ConfigError::Invalid(format!(
                    "oauth issuer \"{}\" is configured twice; one issuer maps to one tenant",
                    o.issuer
                )));
            }
            if !https_or_loopback(&o.issuer) {
                return Err(ConfigError::Invalid(format!(
                    "oauth issuer \"{}\" must use https (plain http only on loopback)",
                    o.issuer
                )));
            }
            if o.tenant.trim().is_empty() || o.audience.is_empty() {
                return Err(ConfigError::Invalid(
                    "every [[oauth]] entry needs tenant, issuer and audience".into(),
                ));
            }
            if let Err(e) = crate::directory::scopes::Scopes::of(&o.scopes).check(false) {
                return Err(ConfigError::Invalid(format!(
                    "oauth issuer \"{}\": scopes: {e}",
                    o.issuer
                )));
            }
        }
        if !self.oauth.is_empty() && self.oauth_jwks_refresh_seconds < 1 {
            return Err(ConfigError::Invalid(
                "oauth_jwks_refresh_seconds must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// `[[oidc]]` issuers: https (plain http on loopback only), one entry
    /// per tenant and issuer, at least one audience.
    fn validate_oidc(&self) -> Result<(), ConfigError> {
        for (i, o) in self.oidc.iter().enumerate() {
            if self.oidc[..i]
                .iter()
                .any(|p| p.issuer == o.issuer && p.tenant == o.tenant)
            {
                return Err(ConfigError::Invalid(format!(
                    "oidc issuer \"{}\" is configured twice for tenant \"{}\"",
                    o.issuer, o.tenant
                )));
            }
            if !https_or_loopback(&o.issuer)
                || o.hub_url.as_deref().is_some_and(|u| !https_or_loopback(u))
            {
                return Err(ConfigError::Invalid(format!(
                    "oidc issuer \"{}\" (and its hub_url) must use https (plain http only on loopback)",
                    o.issuer
                )));
            }
            if o.tenant.trim().is_empty()
                || (o.audiences.is_empty() && o.client_id.is_none())
                || o.audiences.iter().any(|a| a.trim().is_empty())
                || o.roles_claim.trim().is_empty()
                || o.groups_claim
                    .as_deref()
                    .is_some_and(|g| g.trim().is_empty())
            {
                return Err(ConfigError::Invalid(format!(
                    "[[oidc]] issuer \"{}\": needs tenant and audiences, and no empty audience or claim name",
                    o.issuer
                )));
            }
            if let Some(why) = console_client_problem(o) {
                return Err(ConfigError::Invalid(format!(
                    "[[oidc]] issuer \"{}\": {why}",
                    o.issuer
                )));
            }
        }
        Ok(())
    }

    fn validate_tenants(&self) -> Result<(), ConfigError> {
        for (name, t) in &self.tenants {
            if t.max_users.is_some_and(|m| m < 0) || t.max_viewers.is_some_and(|m| m < 0) {
                return Err(ConfigError::Invalid(format!(
                    "tenants.{name}: seat limits must be 0 or more"
                )));
            }
        }
        Ok(())
    }
}

/// An https URL, or plain http on a loopback host.
fn https_or_loopback(url: &str) -> bool {
    let host = url
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .map(|authority| match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        });
    url.starts_with("https://") || matches!(host, Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// What is wrong with an `[[oidc]]` entry's console client, if anything:
/// a `client_id` needs exactly one of `client_secret` and
/// `client_secret_file`, and those need a `client_id`.
fn console_client_problem(o: &crate::directory::sign_in::OidcConfig) -> Option<&'static str> {
    let secrets =
        usize::from(o.client_secret.is_some()) + usize::from(o.client_secret_file.is_some());
    match &o.client_id {
        Some(id) if id.trim().is_empty() => Some("client_id is empty"),
        Some(_) if secrets != 1 => {
            Some("client_id needs client_secret or client_secret_file (exactly one of them)")
        }
        None if secrets > 0 => Some("client_secret and client_secret_file need a client_id"),
        _ if o
            .scopes
            .iter()
            .any(|s| s.trim().is_empty() || s.contains(' ')) =>
        {
            Some("scopes are single words")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::directory::scopes::Scope;

    #[test]
    fn the_shipped_example_config_loads_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rollcall.example.toml");
        let cfg = Config::load(Some(&path)).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.max_members_returned, 10_000);
    }

    #[test]
    fn documentation_uri_is_optional_and_must_be_http() {
        assert_eq!(Config::default().documentation_uri, None);
        let cfg: Config =
            toml::from_str("documentation_uri = \"https://wiki.example.com/rollcall\"\n").unwrap();
        cfg.validate().unwrap();
        assert_eq!(
            cfg.documentation_uri.as_deref(),
            Some("https://wiki.example.com/rollcall")
        );
        let bad: Config = toml::from_str("documentation_uri = \"wiki/rollcall\"\n").unwrap();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn invitation_lifetime_and_email_are_checked() {
        assert_eq!(Config::default().invitation_ttl_hours, 168);
        for bad in ["0", "-1", "8761"] {
            let cfg: Config = toml::from_str(&format!("invitation_ttl_hours = {bad}\n")).unwrap();
            assert!(cfg.validate().is_err(), "{bad}");
        }
        let cfg: Config = toml::from_str("invitation_ttl_hours = 24\n").unwrap();
        cfg.validate().unwrap();
        let email =
            "[email]\nhost = \"smtp.example.com\"\nfrom = \"Rollcall <rollcall@example.com>\"\n";
        let no_url: Config = toml::from_str(email).unwrap();
        assert!(
            no_url.validate().is_err(),
            "an emailed link needs invite_url"
        );
        let ok: Config = toml::from_str(&format!(
            "invite_url = \"https://data.example.com/join/{{token}}\"\n{email}"
        ))
        .unwrap();
        ok.validate().unwrap();
        let missing_file: Config = toml::from_str(&format!(
            "invite_url = \"https://data.example.com/join/{{token}}\"\n{email}username = \"u\"\npassword_file = \"/nonexistent/smtp-password\"\n"
        ))
        .unwrap();
        assert!(missing_file.validate().is_err());
    }

    #[test]
    fn tenant_seat_limits() {
        let cfg: Config =
            toml::from_str("[tenants.acme]\nmax_users = 100\nmax_viewers = 20\n[tenants.globex]\n")
                .unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.tenants["acme"].max_users, Some(100));
        assert_eq!(cfg.tenants["globex"], TenantConfig::default());
        let bad: Config = toml::from_str("[tenants.acme]\nmax_users = -1\n").unwrap();
        assert!(bad.validate().is_err());
        assert!(toml::from_str::<Config>("[tenants.acme]\nseats = 1\n").is_err());
    }

    #[test]
    fn the_documented_entra_id_issuer_configuration_parses() {
        let cfg: Config = toml::from_str(
            "[[oauth]]\ntenant = \"acme\"\nissuer = \"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/\"\naudience = \"8adf8e6e-67b2-4cf2-a259-e3dc5476c621\"\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        assert!(cfg.oauth[0]
            .audience
            .accepts("8adf8e6e-67b2-4cf2-a259-e3dc5476c621"));
        assert_eq!(cfg.oauth[0].leeway_seconds, 60);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let bad: Result<Config, _> = toml::from_str("lisen = \"x\"");
        assert!(bad.is_err());
        let cfg = Config {
            database: "mysql://x".into(),
            ..Config::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = Config {
            default_page_size: 10,
            max_page_size: 5,
            ..Config::default()
        };
        assert!(cfg.validate().is_err());
        for issuer in [
            "http://localhost.evil.com/",
            "http://127.0.0.1.evil/",
            "http://idp.example.com",
        ] {
            let cfg: Config = toml::from_str(&format!(
                "[[oauth]]\ntenant = \"t\"\nissuer = \"{issuer}\"\naudience = \"a\"\n"
            ))
            .unwrap();
            assert!(cfg.validate().is_err(), "{issuer}");
        }
        let dup: Config = toml::from_str(
            "[[oauth]]\ntenant = \"a\"\nissuer = \"https://i/\"\naudience = \"x\"\n[[oauth]]\ntenant = \"b\"\nissuer = \"https://i/\"\naudience = \"y\"\n",
        )
        .unwrap();
        assert!(dup.validate().is_err());
        let ok: Config = toml::from_str(
            "[[oauth]]\ntenant = \"t\"\nissuer = \"http://127.0.0.1:8443/\"\naudience = \"a\"\n",
        )
        .unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.oauth[0].scopes, vec![Scope::Scim], "scim by default");
        for scopes in ["[\"admin\"]", "[]"] {
            let cfg: Config = toml::from_str(&format!(
                "[[oauth]]\ntenant = \"t\"\nissuer = \"https://i/\"\naudience = \"a\"\nscopes = {scopes}\n"
            ))
            .unwrap();
            assert!(cfg.validate().is_err(), "{scopes}");
        }
        let unknown = "[[oauth]]\ntenant = \"t\"\nissuer = \"https://i/\"\naudience = \"a\"\nscopes = [\"root\"]\n";
        assert!(toml::from_str::<Config>(unknown).is_err());
    }

    #[test]
    fn oidc_issuers_are_checked_at_start() {
        let entry = |tenant: &str, issuer: &str, extra: &str| {
            format!("[[oidc]]\ntenant = \"{tenant}\"\nissuer = \"{issuer}\"\naudiences = [\"host\"]\n{extra}")
        };
        let ok: Config = toml::from_str(&format!(
            "{}{}",
            entry(
                "acme",
                "https://acme.eu.auth0.com/",
                "roles_claim = \"https://acme.example/roles\"\njit = true\n"
            ),
            entry("globex", "https://acme.eu.auth0.com/", "")
        ))
        .unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.oidc[1].roles_claim, "roles");
        assert!(ok.oidc[0].jit && !ok.oidc[1].jit);
        for bad in [
            entry("acme", "http://idp.example.com/", ""),
            format!("{0}{0}", entry("acme", "https://i/", "")),
            "[[oidc]]\ntenant = \"acme\"\nissuer = \"https://i/\"\naudiences = []\n".to_string(),
            entry("acme", "https://i/", "groups_claim = \"\"\n"),
            entry(
                "acme",
                "https://i/",
                "hub_url = \"http://hub.example.com\"\n",
            ),
            entry("acme", "https://i/", "client_id = \"console\"\n"),
            entry(
                "acme",
                "https://i/",
                "client_id = \"console\"\nclient_secret = \"s\"\nclient_secret_file = \"/f\"\n",
            ),
            entry("acme", "https://i/", "client_secret = \"s\"\n"),
            entry(
                "acme",
                "https://i/",
                "client_id = \"\"\nclient_secret = \"s\"\n",
            ),
        ] {
            let cfg: Config = toml::from_str(&bad).unwrap();
            assert!(cfg.validate().is_err(), "{bad}");
        }
        assert!(
            toml::from_str::<Config>(&entry("acme", "https://i/", "client = \"x\"\n")).is_err()
        );
        // A console-only entry needs no host audience; its secret is never shown.
        let console: Config = toml::from_str(
            "[[oidc]]\ntenant = \"acme\"\nissuer = \"https://i/\"\nclient_id = \"console\"\nclient_secret = \"hunter2\"\n",
        )
        .unwrap();
        console.validate().unwrap();
        assert_eq!(console.oidc[0].scopes, ["email", "profile"]);
        assert!(!format!("{console:?}").contains("hunter2"));
    }
}
