//! The SCIM protocol, pure and storage-free: schema registry, resource
//! validation, projection, filters, the PATCH engine, list parameters,
//! ETags and errors. Nothing here does I/O.

pub mod bulk;
pub mod datetime;
pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod render;
pub mod resource;
pub mod schema;
pub mod text;

pub use error::{ScimError, ScimResult, ScimType};

#[cfg(test)]
mod tests;
