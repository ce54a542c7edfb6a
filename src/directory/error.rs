//! The domain layer's error.

use crate::store::StoreError;
use scim_protocol::ScimError;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The request itself is wrong (validation, PATCH, filters).
    #[error("{0}")]
    Protocol(#[from] ScimError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    InvalidReference(String),
    /// The tenant's seat limit for this user type is reached.
    #[error("{0}")]
    SeatLimit(String),
    /// The change would leave the tenant without an active super-admin.
    #[error("{0}")]
    LastSuperAdmin(String),
    /// A guard refused the change.
    #[error("{0}")]
    Forbidden(String),
    /// The tenant's directory is read-only for this user (or takes no
    /// local holds): the identity provider decides.
    #[error("{0}")]
    ReadOnly(String),
    /// The tenant's owner cannot be disabled, banned or deleted.
    #[error("{0}")]
    Owner(String),
    /// The user is not in a state that allows the change.
    #[error("{0}")]
    Conflict(String),
    /// The tenant's registrations are off: nobody new may be invited.
    #[error("{0}")]
    RegistrationsClosed(String),
    /// The thing existed but is used up or over for good: an invitation
    /// link accepted, expired, withdrawn or replaced.
    #[error("{0}")]
    Gone(String),
    /// The admin request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// A sign-in's ID token was refused (signature, issuer, audience,
    /// expiry, nonce …): nothing changed.
    #[error("{0}")]
    TokenRefused(String),
    /// The database did not give the request its turn in time (see
    /// `StoreError::Busy`): nothing changed, retry shortly.
    #[error("the directory is busy, retry shortly")]
    Busy(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type DirectoryResult<T> = Result<T, DirectoryError>;

/// A storage failure is never the client's doing: an internal error (the
/// cause is logged once, where the response is made), or "busy" when the
/// database only made the request wait too long.
impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy(cause) => DirectoryError::Busy(cause),
            e => DirectoryError::Internal(e.to_string()),
        }
    }
}

impl DirectoryError {
    /// A resource the request names does not exist (or is not live).
    pub fn resource_not_found() -> Self {
        DirectoryError::NotFound("resource not found".into())
    }
}
