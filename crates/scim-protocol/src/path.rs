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
        Some(uri) => match by_urn(rt, path, uri, &full)? {
            Ok(found) => found,
            Err(whole_extension) => return Ok(whole_extension),
        },
        None => unqualified(registry, rt, path, &full)?,
    };
    let sub = sub_attribute(attr, path, &full)?;
    Ok(Resolved::Attr {
        container,
        attr,
        sub,
        common,
    })
}

/// An attribute found: where it lives, what it is, whether it is common.
type Found<'a> = (Container<'a>, &'a Attribute, bool);

/// A path qualified by a schema URN: an attribute of that schema, or
/// (`Err`) a whole extension named by its URN.
fn by_urn<'a>(
    rt: &'a ResourceType,
    path: &AttrPath,
    uri: &str,
    full: &str,
) -> ScimResult<Result<Found<'a>, Resolved<'a>>> {
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
        return Ok(Ok((container, attr, false)));
    }
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
        return Ok(Err(Resolved::Extension(schema)));
    }
    Err(ScimError::invalid_path(format!(
        "'{full}': unknown schema '{uri}' for resource type {}",
        rt.name
    )))
}

/// A path without a URN: a common attribute, one of the core schema, or
/// one of exactly one extension.
fn unqualified<'a>(
    registry: &'a Registry,
    rt: &'a ResourceType,
    path: &AttrPath,
    full: &str,
) -> ScimResult<Found<'a>> {
    if let Some(a) = registry.common_attribute(&path.name) {
        return Ok((Container::Top, a, true));
    }
    if let Some(a) = rt.schema.attribute(&path.name) {
        return Ok((Container::Top, a, false));
    }
    let mut found = rt
        .extensions
        .iter()
        .filter_map(|(s, _)| s.attribute(&path.name).map(|a| (s, a)));
    match (found.next(), found.next()) {
        (Some((s, a)), None) => Ok((Container::Extension(s), a, false)),
        _ => Err(ScimError::invalid_path(format!(
            "'{full}': {} has no attribute '{}'",
            rt.name, path.name
        ))),
    }
}

/// The sub-attribute a path names, if any.
fn sub_attribute<'a>(
    attr: &'a Attribute,
    path: &AttrPath,
    full: &str,
) -> ScimResult<Option<&'a Attribute>> {
    let Some(s) = &path.sub_attr else {
        return Ok(None);
    };
    if !attr.is_complex() {
        return Err(ScimError::invalid_path(format!(
            "'{full}': '{}' is not complex and has no sub-attributes",
            attr.name
        )));
    }
    Ok(Some(attr.sub(s).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "'{full}': '{}' has no sub-attribute '{s}'",
            attr.name
        ))
    })?))
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
