//! API tests: the real router, in-process, on real SQLite files (or
//! PostgreSQL databases with `ROLLCALL_TEST_POSTGRES`); a few boot the real
//! binary. One test binary keeps link time down. The modules follow the
//! source areas they test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// Harness: an app on a fresh database (`support`), the real binary on a
// loopback port (`server`).
mod server;
mod snapshot;
mod support;

// http/scim.rs and the protocol crate behind it: the SCIM surface.
mod bad_input;
mod bulk;
mod concurrency;
mod cursor;
mod discovery;
mod filters;
mod groups;
mod patch;
mod quirks;
mod replay;
mod robustness;
mod tenancy;
mod unicode;
mod users;

// scim-protocol's rule of text at every door (SCIM, admin API, CSV), and
// the fault test that sends random requests through the whole router.
mod router_fuzz;
mod validity;

// http/auth.rs, directory/oauth/ and directory/sign_in/: credentials and
// sign-in provisioning.
mod auth;
mod oauth;
mod scopes;
mod sign_in;
mod tokens;

// http/admin/ and directory/views/: the admin API.
mod admin_api;
mod audit_events;

// http/console/ and directory/console.rs: the admin console (and, in
// console/browser.rs, its screens in a real browser).
mod console;

// directory/: the rules (access, guards, lifecycle, seats, deprovisioning,
// delivery to the host).
mod delivery;
mod deprovision;
mod deprovision_end;
mod directory;
mod invitations;
mod lifecycle;
mod ownership;
mod policy;
mod purge;
mod request_log;
mod seats;

// directory/owner.rs, modes.rs, recreate.rs: the tenant's owner, a
// read-only directory, unique emails and status words, sticky offboarding.
mod modes;
mod owner;
mod read_only;
mod sticky;

// store/: index use, the user search index, several instances on one database.
mod indexes;
mod instances;
mod limits;
mod search;

// cli/ and main.rs: the command line and the real binary.
mod binary;
mod cli;
mod serving;
