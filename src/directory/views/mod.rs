//! Typed views: every body the admin API answers or accepts, as Rust types.
//! They serialize to exactly the JSON the API answers, derive the OpenAPI
//! schemas of `/admin/v1/openapi.json`, and are what the `rollcall`
//! command prints with `--json` (and what a console renders).
//!
//! A few fields hold JSON the directory stores as it was computed (a user's
//! effective access and its explanation, a deletion's state, the local
//! settings); their schemas say what is inside.

mod access;
mod audit;
mod console;
mod deliveries;
mod groups;
mod invitations;
mod jobs;
mod modes;
mod policy;
mod requests;
mod sign_in;
mod tenant;
mod tokens;
mod users;

pub use access::{Explanation, LocalSettings, MatchedRule, Origin, ProjectAccess, Sourced};
pub use audit::{AuditLogPage, AuditLogRow, AuditPage, AuditRecord, EventPage, EventView};
pub use console::{ConsoleUser, Permit, RoleChoice, UserActions, UserListEntry};
pub use deliveries::{DeliveryPage, DeliveryState, DeliveryView};
pub use groups::{GrantView, GroupDetail, GroupSummary, MemberView};
pub use invitations::{invitation_state, InvitationActions, InvitationView, MailView};
pub use jobs::{JobBody, JobDetail, JobList, JobRowView, JobRunBody, JobView};
pub use modes::{DirectoryMode, OwnerChange, OwnerView, RecreateDeleted, RecreateSetting};
pub use policy::{AccessSummary, PolicyApply, PolicyChange, PolicyPreview};
pub use requests::{ConnectionHealth, ConnectionView, RequestError, RequestPage, RequestView};
pub use sign_in::{IdTokenSignIn, IdTokenSignInResult, SignInUser};
pub use tenant::{
    FallbackOwner, FallbackUnresolved, FallbackUser, InviteActions, RoleView, RolesView, SeatUsage,
    SeatsView, TenantChange, TenantView, TransferView, TransfersView,
};
pub use tokens::{CreatedToken, IdentityProvider, ScopeOffer, TokenItem, TokenRequest, TokensView};
pub use users::{
    email, sign_in_allowed, AccessChange, AccessView, Deletion, DeletionSuccessor, GroupMembership,
    Invitation, InvitedUser, PurgeResult, Reason, Seat, SignInRefused, SignInResult, SignedIn,
    Successor, UserDetail, UserRow, UserView,
};

use serde::Serialize;

/// One page of a list an admin panel pages through: 1-based pages of 10 to
/// 100 entries, with the total.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The entries of this page.
    pub items: Vec<T>,
    /// How many entries there are in all.
    #[schema(example = 41)]
    pub total: i64,
    /// This page's number, from 1.
    #[schema(example = 1)]
    pub page: i64,
    /// Entries per page: 10, 20, … or 100.
    #[schema(example = 20)]
    pub page_size: i64,
    /// How many pages there are (0 when there is nothing).
    #[schema(example = 3)]
    pub pages: i64,
}

/// A stored JSON value read back for a view: a JSON object, else `{}`.
pub(crate) fn object(v: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A JSON value the directory built itself, read back into its view type.
pub(crate) fn read<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
) -> super::DirectoryResult<T> {
    serde_json::from_value(v)
        .map_err(|e| super::DirectoryError::Internal(format!("a value does not fit its view: {e}")))
}
