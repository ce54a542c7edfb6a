//! API tests: the real router, in-process, on real SQLite files; a few boot
//! the real binary. One test binary keeps link time down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod admin_api;
mod auth;
mod bad_input;
mod binary;
mod bulk;
mod cli;
mod cursor;
mod deprovision;
mod directory;
mod discovery;
mod filters;
mod groups;
mod indexes;
mod instances;
mod lifecycle;
mod oauth;
mod patch;
mod quirks;
mod replay;
mod robustness;
mod seats;
mod server;
mod support;
mod tenancy;
mod users;
