//! Resolving attribute paths (from filters, PATCH paths, `attributes=` lists
//! and `sortBy`) against a resource type's schemas.

use scim_filter_parser::AttrPath;

use super::error::{ScimError, ScimResult};
use super::schema::{Attribute, Registry, ResourceType, Schema};

/// Where an attribute lives in a resource's JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Container<'a> {
    /// Top level: common (`id`, `externalId`, `meta`) and core-schema attributes.
    Top,
    /// Inside the extension object keyed by this schema's URN.
    Extension(&'a Schema),
}

/// A path resolved to attribute definitions.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// A whole extension schema (`urn:…:enterprise:2.0:User`).
    Extension(&'a Schema),
    Attr {
        container: Container<'a>,
        attr: &'a Attribute,
        sub: Option<&'a Attribute>,
        /// True for `id`, `externalId`, `meta` (RFC 7643 §3.1).
        common: bool,
    },
}

impl<'a> Resolved<'a> {
    /// The attribute the path ends at (the sub-attribute if there is one).
    pub fn leaf(&self) -> Option<&'a Attribute> {
        match self {
            Resolved::Extension(_) => None,
            Resolved::Attr { attr, sub, .. } => Some(sub.unwrap_or(attr)),
        }
    }
}

/// Resolve `path` against `rt`. Names match case-insensitively. An extension
/// attribute may be named without its URN when no core attribute has that
/// name and exactly one extension does (identity providers do this).
pub fn resolve<'a>(
    registry: &'a Registry,
    rt: &'a ResourceType,
    path: &AttrPath,
) -> ScimResult<Resolved<'a>> {
    let full = display_path(path);
    let (container, attr, common) = match &path.uri {
        Some(uri) => {
            if let Some(schema) = rt.schema_by_urn(uri) {
                let attr = schema.attribute(&path.name).ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "'{full}': schema {} has no attribute '{}'",
                        schema.id, path.name
                    ))
                })?;
                let container = if schema.id == rt.schema.id {
                    Container::Top
                } else {
                    Container::Extension(schema)
                };
                (container, attr, false)
            } else {
                // `urn:…:2.0:User` parses as uri `urn:…:2.0` + name `User`.
                let whole = format!("{uri}:{}", path.name);
                if let Some(schema) = rt.extension(&whole) {
                    if let Some(sub) = &path.sub_attr {
                        // `urn:…:enterprise:2.0:User.employeeNumber` is not a valid path,
                        // but make the error useful.
                        return Err(ScimError::invalid_path(format!(
                            "'{full}': write '{}:{sub}' to name an extension attribute",
                            schema.id
                        )));
                    }
                    return Ok(Resolved::Extension(schema));
                }
                return Err(ScimError::invalid_path(format!(
                    "'{full}': unknown schema '{uri}' for resource type {}",
                    rt.name
                )));
            }
        }
        None => {
            if let Some(a) = registry.common_attribute(&path.name) {
                (Container::Top, a, true)
            } else if let Some(a) = rt.schema.attribute(&path.name) {
                (Container::Top, a, false)
            } else {
                let mut found = rt
                    .extensions
                    .iter()
                    .filter_map(|(s, _)| s.attribute(&path.name).map(|a| (s, a)));
                match (found.next(), found.next()) {
                    (Some((s, a)), None) => (Container::Extension(s), a, false),
                    _ => {
                        return Err(ScimError::invalid_path(format!(
                            "'{full}': {} has no attribute '{}'",
                            rt.name, path.name
                        )))
                    }
                }
            }
        }
    };
    let sub = match &path.sub_attr {
        None => None,
        Some(s) => {
            if !attr.is_complex() {
                return Err(ScimError::invalid_path(format!(
                    "'{full}': '{}' is not complex and has no sub-attributes",
                    attr.name
                )));
            }
            Some(attr.sub(s).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "'{full}': '{}' has no sub-attribute '{s}'",
                    attr.name
                ))
            })?)
        }
    };
    Ok(Resolved::Attr {
        container,
        attr,
        sub,
        common,
    })
}

/// Text form of a path for error messages.
pub fn display_path(path: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(u) = &path.uri {
        s.push_str(u);
        s.push(':');
    }
    s.push_str(&path.name);
    if let Some(sub) = &path.sub_attr {
        s.push('.');
        s.push_str(sub);
    }
    s
}
