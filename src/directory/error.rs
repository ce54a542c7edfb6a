//! The domain layer's error.

use crate::scim::ScimError;
use crate::store::StoreError;

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
    /// The user is not in a state that allows the change.
    #[error("{0}")]
    Conflict(String),
    /// The tenant's registrations are off: nobody new may be invited.
    #[error("{0}")]
    RegistrationsClosed(String),
    /// The admin request is malformed.
    #[error("{0}")]
    Invalid(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type DirectoryResult<T> = Result<T, DirectoryError>;

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => DirectoryError::NotFound("resource not found".into()),
            StoreError::Uniqueness(m) => DirectoryError::Uniqueness(m),
            StoreError::PreconditionFailed(m) => DirectoryError::PreconditionFailed(m),
            StoreError::InvalidReference(m) => DirectoryError::InvalidReference(m),
            StoreError::SeatLimit(m) => DirectoryError::SeatLimit(m),
            StoreError::Scim(e) => DirectoryError::Protocol(e),
            StoreError::LastSuperAdmin(m) => DirectoryError::LastSuperAdmin(m),
            StoreError::Forbidden(m) => DirectoryError::Forbidden(m),
            StoreError::Conflict(m) => DirectoryError::Conflict(m),
            other => DirectoryError::Internal(other.to_string()),
        }
    }
}

impl DirectoryError {
    /// The SCIM error a client sees.
    pub fn to_scim(&self) -> ScimError {
        match self {
            DirectoryError::Protocol(e) => e.clone(),
            DirectoryError::NotFound(m) => ScimError::not_found(m.clone()),
            DirectoryError::Uniqueness(m) => ScimError::uniqueness(m.clone()),
            DirectoryError::PreconditionFailed(m) => ScimError::precondition_failed(m.clone()),
            DirectoryError::InvalidReference(m) => ScimError::invalid_value(m.clone()),
            DirectoryError::SeatLimit(m) => ScimError::new(403, None, m.clone()),
            DirectoryError::LastSuperAdmin(m) | DirectoryError::Conflict(m) => {
                ScimError::new(409, None, m.clone())
            }
            DirectoryError::Forbidden(m) | DirectoryError::RegistrationsClosed(m) => {
                ScimError::new(403, None, m.clone())
            }
            DirectoryError::Invalid(m) => ScimError::invalid_value(m.clone()),
            DirectoryError::Internal(_) => ScimError::internal("internal server error"),
        }
    }
}
