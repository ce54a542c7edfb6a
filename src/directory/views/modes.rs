//! The tenant's owner and modes as the admin API shows them, and the body
//! that hands ownership on.

use serde::{Deserialize, Serialize};

pub use crate::directory::modes::{DirectoryMode, RecreateDeleted};

/// The tenant's owner: cannot be disabled, banned or deleted; only they
/// hand ownership on.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnerView {
    /// The owner's SCIM id.
    pub id: String,
    /// The SCIM userName.
    #[schema(example = "founder@acme.test")]
    pub user_name: String,
    /// The owner's status.
    #[schema(example = "active")]
    pub status: String,
    /// `tenant` (handed on, or set by the operator) or `config` (the
    /// config file's `owner`, until ownership is first handed on).
    #[schema(example = "tenant")]
    pub source: String,
}

/// Hand ownership on: to a live, enabled user of type `user`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerChange {
    /// The new owner: id or userName.
    #[schema(example = "heir@acme.test")]
    pub user: String,
}

/// What becomes of a user an identity provider creates again after their
/// deletion, and who decided it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RecreateSetting {
    /// `hold` (a new account, banned for review) or `restore` (the deleted
    /// account comes back).
    pub value: RecreateDeleted,
    /// `admin` (`PATCH /tenant`), `config` (the config file) or `default`.
    #[schema(example = "default")]
    pub source: String,
}
