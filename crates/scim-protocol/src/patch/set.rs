//! `add` and `replace` by attribute path (RFC 7644 §3.5.2.1, §3.5.2.3), and
//! without a path, where the value is an object of attributes.

use scim_filter_parser::{parse_path, AttrPath, PatchPath};
use serde_json::{Map, Value};

use super::{check_immutable, clear_primary, container_mut, drop_if_unassigned, writable, OpKind};
use crate::error::{ScimError, ScimResult};
use crate::path::{display_path, resolve, Resolved};
use crate::resource::{describe, looks_like_urn, normalize_single, normalize_value};
use crate::schema::{Attribute, Mutability, Registry, ResourceType};

/// `add` or `replace` without a path: every key of `value` is an attribute
/// (or an extension object) to set.
pub(super) fn set_pathless(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    kind: OpKind,
    value: &Value,
) -> ScimResult<()> {
    let obj = value.as_object().ok_or_else(|| {
        ScimError::invalid_value(format!(
            "without a \"path\", \"value\" must be an object of attributes; got {}",
            describe(value)
        ))
    })?;
    for (key, v) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = rt.extension(key) {
            match v {
                Value::Null => {
                    if kind == OpKind::Replace {
                        res.remove(&ext.id);
                    }
                }
                Value::Object(o) => set_extension_attrs(registry, rt, res, kind, &ext.id, o)?,
                other => {
                    return Err(ScimError::invalid_value(format!(
                        "'{}' must be an object; got {}",
                        ext.id,
                        describe(other)
                    )))
                }
            }
            continue;
        }
        let path = pathless_key(key)?;
        set_attr(registry, rt, res, kind, &path, v, true)?;
    }
    Ok(())
}

/// A key of a pathless value, as an attribute path.
fn pathless_key(key: &str) -> ScimResult<AttrPath> {
    match parse_path(key) {
        Ok(PatchPath::Attr(p)) => Ok(p),
        _ if looks_like_urn(key) => Err(ScimError::invalid_value(format!(
            "unknown schema extension '{key}'"
        ))),
        _ => Err(ScimError::invalid_value(format!(
            "'{key}' is not an attribute name"
        ))),
    }
}

/// Set every attribute of an extension object, as a pathless operation does.
fn set_extension_attrs(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    kind: OpKind,
    schema_id: &str,
    obj: &Map<String, Value>,
) -> ScimResult<()> {
    for (k, v) in obj {
        if k.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let path = AttrPath {
            uri: Some(schema_id.to_string()),
            name: k.clone(),
            sub_attr: None,
        };
        set_attr(registry, rt, res, kind, &path, v, true)?;
    }
    Ok(())
}

/// `add` or `replace` of `path`. `pathless`: the attribute came from a
/// pathless value, where read-only attributes are ignored as in PUT.
pub(super) fn set_attr(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    kind: OpKind,
    path: &AttrPath,
    value: &Value,
    pathless: bool,
) -> ScimResult<()> {
    let resolved = resolve(registry, rt, path).map_err(|e| {
        if pathless {
            ScimError::invalid_value(e.detail)
        } else {
            e
        }
    })?;
    let (container, attr, sub) = match resolved {
        Resolved::Extension(schema) => {
            let obj = value.as_object().ok_or_else(|| {
                ScimError::invalid_value(format!("'{}' must be an object", schema.id))
            })?;
            return set_extension_attrs(registry, rt, res, kind, &schema.id, obj);
        }
        Resolved::Attr {
            container,
            attr,
            sub,
            ..
        } => (container, attr, sub),
    };
    if attr.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        // Clients (Okta) re-send `id` and other read-only values in a pathless
        // replace; those are ignored as in PUT. Targeting one by path is an error.
        if pathless {
            return Ok(());
        }
        return writable(sub.unwrap_or(attr), path);
    }
    let target = container_mut(res, container)?;
    let label = display_path(path);
    match sub {
        Some(sub) => set_sub_attr(target, attr, sub, value, &label),
        None => set_whole_attr(target, attr, kind, value, &label),
    }
}

/// Set `attr.sub` of a single-valued complex attribute; null unassigns it.
fn set_sub_attr(
    target: &mut Map<String, Value>,
    attr: &Attribute,
    sub: &Attribute,
    value: &Value,
    label: &str,
) -> ScimResult<()> {
    if attr.multi_valued {
        return Err(ScimError::invalid_path(format!(
            "'{label}': '{}' is multi-valued; select values with a filter, e.g. {}[type eq \"work\"].{}",
            attr.name, attr.name, sub.name
        )));
    }
    let new = normalize_single(sub, value, label)?;
    let obj = target
        .entry(attr.name.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    if let Some(o) = obj.as_object_mut() {
        check_immutable(sub, o.get(&sub.name), new.as_ref(), label)?;
        match new {
            Some(v) => {
                o.insert(sub.name.clone(), v);
            }
            None => {
                o.remove(&sub.name);
            }
        }
    }
    drop_if_unassigned(target, &attr.name);
    Ok(())
}

/// Set a whole attribute: `replace` overwrites (null or [] unassigns), `add`
/// appends to a multi-valued one and merges into a complex one.
fn set_whole_attr(
    target: &mut Map<String, Value>,
    attr: &Attribute,
    kind: OpKind,
    value: &Value,
    label: &str,
) -> ScimResult<()> {
    let new = normalize_value(attr, value, label)?;
    check_immutable(attr, target.get(&attr.name), new.as_ref(), label)?;
    let Some(new) = new else {
        // `replace` with null or [] unassigns; `add` of nothing is a no-op.
        if kind == OpKind::Replace {
            target.remove(&attr.name);
        }
        return Ok(());
    };
    if attr.multi_valued {
        let new_items = match new {
            Value::Array(a) => a,
            other => vec![other],
        };
        if kind == OpKind::Replace {
            target.insert(attr.name.clone(), Value::Array(new_items));
        } else {
            add_values(target, attr, new_items);
        }
        return Ok(());
    }
    if attr.is_complex() {
        // add and replace both merge sub-attributes into a complex value.
        merge_complex(target, attr, new);
        return Ok(());
    }
    target.insert(attr.name.clone(), new);
    Ok(())
}

/// `add` to a multi-valued attribute: append the values not already there; a
/// new primary value takes `primary` from the others.
fn add_values(target: &mut Map<String, Value>, attr: &Attribute, new_items: Vec<Value>) {
    let existing = target
        .entry(attr.name.clone())
        .or_insert_with(|| Value::Array(vec![]));
    if !existing.is_array() {
        *existing = Value::Array(vec![]);
    }
    let Value::Array(items) = existing else {
        return;
    };
    let new_primary = new_items
        .iter()
        .any(|v| v.get("primary").and_then(Value::as_bool) == Some(true));
    if new_primary {
        clear_primary(items);
    }
    let mut seen: std::collections::HashSet<String> = items.iter().map(Value::to_string).collect();
    for item in new_items {
        if seen.insert(item.to_string()) {
            items.push(item);
        }
    }
}

/// Merge the sub-attributes of `new` into a complex value.
fn merge_complex(target: &mut Map<String, Value>, attr: &Attribute, new: Value) {
    let existing = target
        .entry(attr.name.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if let (Some(e), Value::Object(n)) = (existing.as_object_mut(), &new) {
        for (k, v) in n {
            e.insert(k.clone(), v.clone());
        }
        return;
    }
    *existing = new;
}
