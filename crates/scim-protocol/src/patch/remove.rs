//! `remove` by attribute path (RFC 7644 §3.5.2.2), value filters aside.

use scim_filter_parser::AttrPath;
use serde_json::{Map, Value};

use super::{check_immutable, container_mut, drop_if_unassigned, strip_sub, writable};
use crate::error::ScimResult;
use crate::path::{display_path, resolve, Container, Resolved};
use crate::resource::{is_unassigned, normalize_value};
use crate::schema::{Attribute, Registry, ResourceType};

/// `remove` of `path`: a whole attribute, some of its values, a
/// sub-attribute, or a whole extension.
pub(super) fn remove_attr(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    path: &AttrPath,
    value: Option<&Value>,
) -> ScimResult<()> {
    let (container, attr, sub) = match resolve(registry, rt, path)? {
        Resolved::Extension(schema) => {
            res.remove(&schema.id);
            return Ok(());
        }
        Resolved::Attr {
            container,
            attr,
            sub,
            ..
        } => (container, attr, sub),
    };
    writable(sub.unwrap_or(attr), path)?;
    let label = display_path(path);
    let target = container_mut(res, container)?;
    match sub {
        Some(sub) => remove_sub_attr(target, attr, sub, &label)?,
        None => remove_whole_attr(target, attr, value, &label)?,
    }
    if let Container::Extension(s) = container {
        if res.get(&s.id).is_some_and(is_unassigned) {
            res.remove(&s.id);
        }
    }
    Ok(())
}

/// `remove` of `attr.sub`: from every value when `attr` is multi-valued
/// (`emails.type`), else from the one complex value.
fn remove_sub_attr(
    target: &mut Map<String, Value>,
    attr: &Attribute,
    sub: &Attribute,
    label: &str,
) -> ScimResult<()> {
    if attr.multi_valued {
        if let Some(Value::Array(items)) = target.get_mut(&attr.name) {
            strip_sub(items, |_| true, &sub.name);
        }
    } else if let Some(Value::Object(o)) = target.get_mut(&attr.name) {
        check_immutable(sub, o.get(&sub.name), None, label)?;
        o.remove(&sub.name);
    }
    drop_if_unassigned(target, &attr.name);
    Ok(())
}

/// `remove` of a whole attribute, or of only the values listed in `value`
/// (Entra ID and Okta send this for multi-valued attributes).
fn remove_whole_attr(
    target: &mut Map<String, Value>,
    attr: &Attribute,
    value: Option<&Value>,
    label: &str,
) -> ScimResult<()> {
    check_immutable(attr, target.get(&attr.name), None, label)?;
    match value {
        Some(v) if attr.multi_valued && !v.is_null() => {
            let listed = match normalize_value(attr, v, label)? {
                Some(Value::Array(a)) => a,
                _ => vec![],
            };
            if let Some(Value::Array(items)) = target.get_mut(&attr.name) {
                items.retain(|item| !listed.iter().any(|l| same_element(attr, item, l)));
            }
            drop_if_unassigned(target, &attr.name);
        }
        _ => {
            target.remove(&attr.name);
        }
    }
    Ok(())
}

/// Whether `item` is the element `listed` names: by `value` when it has one,
/// else by all the sub-attributes it gives.
fn same_element(attr: &Attribute, item: &Value, listed: &Value) -> bool {
    if !attr.is_complex() {
        return item == listed;
    }
    let (Some(i), Some(l)) = (item.as_object(), listed.as_object()) else {
        return false;
    };
    if let Some(v) = l.get("value") {
        let eq = match (i.get("value"), v) {
            (Some(Value::String(a)), Value::String(b)) => {
                let case_exact = attr.sub("value").is_some_and(|s| s.case_exact);
                if case_exact {
                    a == b
                } else {
                    a.eq_ignore_ascii_case(b)
                }
            }
            (Some(a), b) => a == b,
            (None, _) => false,
        };
        return eq;
    }
    l.iter().all(|(k, v)| i.get(k) == Some(v))
}
