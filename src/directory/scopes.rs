//! Credential scopes: what a token, or the tokens of an `[[oauth]]` issuer,
//! may reach. Which scope each route needs is declared in one table
//! (`http/auth.rs`); what an `admin` credential may do beyond reaching the
//! admin API follows its user's role (`directory/guards.rs`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum Scope {
    /// SCIM read and write (`/scim/v2`).
    #[serde(rename = "scim")]
    Scim,
    /// SCIM reads only: `GET` and the `.search` endpoints.
    #[serde(rename = "scim:read")]
    ScimRead,
    /// The event feed (`GET /admin/v1/events`).
    #[serde(rename = "events")]
    Events,
    /// The audit trail (`GET /admin/v1/audit`).
    #[serde(rename = "audit")]
    Audit,
    /// The host's reports: sign-ins and accepting invitations.
    #[serde(rename = "sign-in")]
    SignIn,
    /// The admin API, acting as the credential's user.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, in the order lists show them.
    pub const ALL: [Scope; 6] = [
        Scope::Scim,
        Scope::ScimRead,
        Scope::Events,
        Scope::Audit,
        Scope::SignIn,
        Scope::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Scim => "scim",
            Scope::ScimRead => "scim:read",
            Scope::Events => "events",
            Scope::Audit => "audit",
            Scope::SignIn => "sign-in",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == name)
    }

    /// SCIM is the identity provider's channel: a credential bound to a
    /// person cannot carry it (over SCIM no role guard would apply).
    fn forbidden_when_bound(self) -> bool {
        matches!(self, Scope::Scim | Scope::ScimRead)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a list of scopes cannot be given to a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error(
        "unknown scope \"{0}\"; the scopes are scim, scim:read, events, audit, sign-in, admin"
    )]
    Unknown(String),
    #[error("no scope given; the scopes are scim, scim:read, events, audit, sign-in, admin")]
    Empty,
    #[error("the scope admin acts as a user: it needs a credential bound to one (--user)")]
    AdminNeedsUser,
    #[error(
        "the scope {0} is the identity provider's: a credential bound to a user cannot carry it"
    )]
    NotForBound(Scope),
}

/// A credential's scopes, without repeats, in [`Scope::ALL`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// A comma-separated list, as `--scope` takes it (`scim,events`).
    /// Unknown names are refused.
    pub fn parse_list(text: &str) -> Result<Scopes, ScopeError> {
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(Scope::parse(name).ok_or_else(|| ScopeError::Unknown(name.to_string()))?);
        }
        if out.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(Scopes::of(&out))
    }

    /// Stored names: a name this version does not know grants nothing.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Scopes {
        let known: Vec<Scope> = names
            .iter()
            .filter_map(|n| Scope::parse(n.as_ref().trim()))
            .collect();
        Scopes::of(&known)
    }

    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(
            Scope::ALL
                .into_iter()
                .filter(|s| scopes.contains(s))
                .collect(),
        )
    }

    /// What a credential gets when no scope is asked for: `scim` for a
    /// tenant token, `admin` for one bound to a user.
    pub fn default_for(bound: bool) -> Scopes {
        Scopes(vec![if bound { Scope::Admin } else { Scope::Scim }])
    }

    /// Whether these scopes fit a credential that is (or is not) bound to
    /// a user: at least one, `admin` only when bound, SCIM only when not.
    pub fn check(&self, bound: bool) -> Result<(), ScopeError> {
        if self.0.is_empty() {
            return Err(ScopeError::Empty);
        }
        if !bound && self.0.contains(&Scope::Admin) {
            return Err(ScopeError::AdminNeedsUser);
        }
        match self.0.iter().find(|s| bound && s.forbidden_when_bound()) {
            Some(s) => Err(ScopeError::NotForBound(*s)),
            None => Ok(()),
        }
    }

    /// Whether a request that needs `need` may go on: `scim` includes
    /// `scim:read`; every other scope reaches only its own endpoints.
    pub fn grants(&self, need: Scope) -> bool {
        self.0.contains(&need) || (need == Scope::ScimRead && self.0.contains(&Scope::Scim))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|s| s.name().to_string()).collect()
    }
}

/// `scim,events`, or `none`.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.names().join(","))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn lists_parse_in_canonical_order_and_refuse_unknown_names() {
        let s = Scopes::parse_list(" sign-in,scim , events,scim").unwrap();
        assert_eq!(s.to_string(), "scim,events,sign-in");
        assert_eq!(
            Scopes::parse_list("scim,superuser"),
            Err(ScopeError::Unknown("superuser".into()))
        );
        assert_eq!(Scopes::parse_list(" , "), Err(ScopeError::Empty));
        assert_eq!(
            Scopes::from_names(&["admin", "future"]).to_string(),
            "admin"
        );
        assert_eq!(Scopes::default().to_string(), "none");
    }

    #[test]
    fn scim_includes_scim_read_and_nothing_else_is_implied() {
        let scim = Scopes::of(&[Scope::Scim]);
        assert!(scim.grants(Scope::ScimRead) && scim.grants(Scope::Scim));
        let read = Scopes::of(&[Scope::ScimRead]);
        assert!(read.grants(Scope::ScimRead) && !read.grants(Scope::Scim));
        let admin = Scopes::of(&[Scope::Admin]);
        for s in [Scope::Audit, Scope::Events, Scope::SignIn, Scope::Scim] {
            assert!(!admin.grants(s), "{s}");
        }
    }

    #[test]
    fn admin_needs_a_user_and_scim_refuses_one() {
        let admin = Scopes::of(&[Scope::Admin, Scope::Audit]);
        assert_eq!(admin.check(false), Err(ScopeError::AdminNeedsUser));
        assert_eq!(admin.check(true), Ok(()));
        let scim = Scopes::of(&[Scope::ScimRead]);
        assert_eq!(
            scim.check(true),
            Err(ScopeError::NotForBound(Scope::ScimRead))
        );
        assert_eq!(Scopes::default().check(false), Err(ScopeError::Empty));
        assert_eq!(Scopes::default_for(true).to_string(), "admin");
        assert_eq!(Scopes::default_for(false).to_string(), "scim");
    }
}
