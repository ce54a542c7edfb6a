//! Local access settings an admin gives a user (type, role, plan, project
//! roles), checked against the catalog and the admin's own rank before
//! anything is written; and the records an invitation creates.

use serde_json::{json, Map, Value};

use super::super::access::{Catalog, PROJECT_ROLES};
use super::super::guards::Admin;
use super::super::views::{AccessChange, Invitation};
use super::super::{Directory, DirectoryError, DirectoryResult};
use scim_protocol::resource::normalize;
use scim_protocol::schema::Kind;
use scim_protocol::text::{self, TextRule};

fn check_type(t: &str) -> DirectoryResult<()> {
    if t != "user" && t != "viewer" {
        return Err(DirectoryError::Invalid(format!(
            "type must be user or viewer, not \"{t}\""
        )));
    }
    Ok(())
}

fn null_or(v: Option<String>) -> Value {
    v.map(Value::String).unwrap_or(Value::Null)
}

impl Directory {
    /// Refuse an unknown type, role, plan or project role, and a role above
    /// the admin's own.
    pub(super) fn validate_access_change(
        &self,
        catalog: &Catalog,
        admin: &Admin,
        change: &AccessChange,
    ) -> DirectoryResult<()> {
        if let Some(Some(t)) = &change.user_type {
            check_type(t)?;
        }
        if let Some(to) = &change.transfer_to {
            text::check("transferTo", to, TextRule::NAME)?;
            if change.user_type != Some(Some("viewer".to_string())) {
                return Err(DirectoryError::Invalid(
                    "transferTo names who receives the assets of a user made a viewer: it goes with \"type\": \"viewer\" only".into(),
                ));
            }
        }
        if let Some(Some(r)) = &change.role {
            let rank = catalog.rank(r).ok_or_else(|| {
                DirectoryError::Invalid(format!(
                    "unknown role \"{r}\"; the catalog has {}",
                    catalog
                        .list()
                        .iter()
                        .filter_map(|v| v["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if rank > admin.rank {
                return Err(DirectoryError::Forbidden(format!(
                    "you cannot grant \"{r}\": it is above your own role"
                )));
            }
        }
        if let Some(Some(p)) = &change.plan {
            text::check("plan", p, TextRule::NAME)?;
            let plans = &admin.plans;
            if !plans.is_empty() && !plans.contains(p) {
                return Err(DirectoryError::Invalid(format!(
                    "unknown plan \"{p}\"; plans: {}",
                    plans.join(", ")
                )));
            }
        }
        for (p, r) in &change.projects {
            text::check("a project's name", p, TextRule::NAME)?;
            if let Some(r) = r {
                if r != "none" && !PROJECT_ROLES.contains(&r.as_str()) {
                    return Err(DirectoryError::Invalid(format!(
                        "project {p}: unknown project role \"{r}\" (owner, editor, operator, read-only, none)"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The SCIM data and local settings of an invited user, checked.
    pub(super) fn invitation_data(
        &self,
        catalog: &Catalog,
        plans: &[String],
        name: &str,
        inv: Invitation,
    ) -> DirectoryResult<(Map<String, Value>, Map<String, Value>)> {
        let mut local = Map::new();
        if let Some(t) = inv.user_type {
            check_type(&t)?;
            local.insert("type".into(), Value::String(t));
        }
        if let Some(r) = inv.role {
            let canonical = catalog
                .canonical(&r)
                .ok_or_else(|| DirectoryError::Invalid(format!("unknown role \"{r}\"")))?;
            local.insert("role".into(), Value::String(canonical.to_string()));
        }
        if let Some(p) = inv.plan {
            if !plans.is_empty() && !plans.contains(&p) {
                return Err(DirectoryError::Invalid(format!("unknown plan \"{p}\"")));
            }
            local.insert("plan".into(), Value::String(p));
        }
        let mut data = Map::new();
        data.insert("schemas".into(), json!([scim_protocol::schema::URN_USER]));
        data.insert("userName".into(), Value::String(name.to_string()));
        if let Some(d) = inv.display_name {
            data.insert("displayName".into(), Value::String(d));
        }
        if let Some(e) = inv.email {
            check_email(&e)?;
            data.insert(
                "emails".into(),
                json!([{"value": e, "type": "work", "primary": true}]),
            );
        }
        // The same rule as SCIM data: lengths, control characters.
        let data = normalize(
            self.registry.resource_type(Kind::User),
            &Value::Object(data),
        )?;
        Ok((data, local))
    }
}

/// An invitation's email must look like an address: one `@` between a
/// local part and a domain, no spaces (the email goes there).
fn check_email(e: &str) -> DirectoryResult<()> {
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    match ok {
        true => Ok(()),
        false => Err(DirectoryError::Invalid(format!(
            "email \"{e}\" is not an email address (name@domain)"
        ))),
    }
}

/// The JSON merge patch (RFC 7386) of the local settings an access change
/// makes: absent fields stay, `null` clears; roles by their canonical name.
pub(super) fn local_patch(catalog: &Catalog, change: AccessChange) -> Value {
    let mut patch = Map::new();
    if let Some(t) = change.user_type {
        patch.insert("type".into(), null_or(t));
    }
    if let Some(r) = change.role {
        let r = r.map(|r| catalog.canonical(&r).unwrap_or(&r).to_string());
        patch.insert("role".into(), null_or(r));
    }
    if let Some(p) = change.plan {
        patch.insert("plan".into(), null_or(p));
    }
    if !change.projects.is_empty() {
        let projects: Map<String, Value> = change
            .projects
            .into_iter()
            .map(|(p, r)| (p, null_or(r)))
            .collect();
        patch.insert("projects".into(), Value::Object(projects));
    }
    Value::Object(patch)
}
