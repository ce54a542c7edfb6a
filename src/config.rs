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
    /// Largest request body accepted, in bytes (announced as maxPayloadSize).
    pub max_payload_size: usize,
    /// Page size when a list request gives no `count`.
    pub default_page_size: i64,
    /// Largest page size (announced as filter.maxResults).
    pub max_page_size: i64,
    /// At most this many members are returned with a group.
    pub max_members_returned: i64,
    /// Most operations in one Bulk request (announced as bulk.maxOperations).
    pub bulk_max_operations: usize,
    /// Largest Bulk request body in bytes (announced as bulk.maxPayloadSize).
    pub bulk_max_payload_size: usize,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// OAuth issuers whose JWT access tokens are accepted (`[[oauth]]`).
    pub oauth: Vec<crate::directory::oauth::IssuerConfig>,
    /// At most one JWKS refresh per issuer in this many seconds.
    pub oauth_jwks_refresh_seconds: u64,
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
    /// The host platform's invitation page, with `{token}` where the
    /// invitation's secret goes (e.g. `https://data.example.com/join/{token}`).
    /// Unset: invitation links point at the admin API's own
    /// `/admin/v1/invitations/{token}`.
    pub invite_url: Option<String>,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database: "sqlite://rollcall.db".into(),
            public_url: None,
            max_payload_size: 1024 * 1024,
            default_page_size: 100,
            max_page_size: 1000,
            max_members_returned: 10_000,
            bulk_max_operations: 10_000,
            bulk_max_payload_size: 16 * 1024 * 1024,
            log_format: "text".into(),
            oauth: Vec::new(),
            oauth_jwks_refresh_seconds: 30,
            tenants: std::collections::BTreeMap::new(),
            plans: Vec::new(),
            roles: Vec::new(),
            role_mapping: Vec::new(),
            hooks: crate::directory::hooks::HooksConfig::default(),
            invite_url: None,
        }
    }
}

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
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("ROLLCALL_LISTEN") {
            cfg.listen = v;
        }
        if let Some(v) = env("ROLLCALL_DATABASE_URL") {
            cfg.database = v;
        }
        if let Some(v) = env("ROLLCALL_PUBLIC_URL") {
            cfg.public_url = Some(v);
        }
        if let Some(v) = env("ROLLCALL_MAX_PAYLOAD_SIZE") {
            cfg.max_payload_size = v.parse().map_err(|_| {
                ConfigError::Invalid(format!("ROLLCALL_MAX_PAYLOAD_SIZE={v} is not a number"))
            })?;
        }
        if let Some(v) = env("ROLLCALL_LOG_FORMAT") {
            cfg.log_format = v;
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
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.policy().validate().map_err(ConfigError::Invalid)?;
        self.hooks.validate().map_err(ConfigError::Invalid)?;
        if let Some(u) = &self.invite_url {
            if !u.contains("{token}") || !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(ConfigError::Invalid(
                    "invite_url must be an http(s) URL containing {token}".into(),
                ));
            }
        }
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
        if crate::store::Backend::of_url(&self.database).is_none() {
            return Err(ConfigError::Invalid(format!(
                "unsupported database URL \"{}\": use sqlite://FILE or postgres://USER@HOST/DB",
                self.database
            )));
        }
        for (i, o) in self.oauth.iter().enumerate() {
            if self.oauth[..i].iter().any(|p| p.issuer == o.issuer) {
                return Err(ConfigError::Invalid(format!(
                    "oauth issuer \"{}\" is configured twice; one issuer maps to one tenant",
                    o.issuer
                )));
            }
            let host = o
                .issuer
                .strip_prefix("http://")
                .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
                .map(|authority| match authority.rsplit_once(':') {
                    Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
                    _ => authority,
                });
            let loopback = matches!(host, Some("127.0.0.1" | "localhost" | "[::1]"));
            if !o.issuer.starts_with("https://") && !loopback {
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
        }
        for (name, t) in &self.tenants {
            if t.max_users.is_some_and(|m| m < 0) || t.max_viewers.is_some_and(|m| m < 0) {
                return Err(ConfigError::Invalid(format!(
                    "tenants.{name}: seat limits must be 0 or more"
                )));
            }
        }
        if !self.oauth.is_empty() && self.oauth_jwks_refresh_seconds < 1 {
            return Err(ConfigError::Invalid(
                "oauth_jwks_refresh_seconds must be at least 1".into(),
            ));
        }
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::Invalid(
                    "public_url must start with http:// or https://".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_shipped_example_config_loads_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rollcall.example.toml");
        let cfg = Config::load(Some(&path)).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.max_members_returned, 10_000);
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
    }
}
