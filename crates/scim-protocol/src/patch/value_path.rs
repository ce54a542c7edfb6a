//! Operations through a value filter (`emails[type eq "work"].value`,
//! RFC 7644 §3.5.2): they act on the matching elements of a multi-valued
//! complex attribute, or create the element the filter describes.

use scim_filter_parser::{AttrPath, Filter};
use serde_json::{Map, Value};

use super::{clear_primary, container_mut, drop_if_unassigned, strip_sub, writable, OpKind};
use crate::error::{ScimError, ScimResult, ScimType};
use crate::filter::{element_template, eval_element, resolve_element_filter, Cond};
use crate::path::{display_path, resolve, Container, Resolved};
use crate::resource::normalize_single;
use crate::schema::{Attribute, Mutability, Registry, ResourceType};

/// A value-path operation as the client wrote it.
pub(super) struct ValuePathOp<'a> {
    pub kind: OpKind,
    pub attr: &'a AttrPath,
    pub filter: &'a Filter,
    pub sub_attr: Option<&'a str>,
    pub value: Option<&'a Value>,
}

/// The elements an operation acts on, resolved against the schema.
struct Selection<'a> {
    attr: &'a Attribute,
    sub: Option<&'a Attribute>,
    filter: &'a Filter,
    label: String,
    /// Indexes of the matching elements, in order.
    matches: Vec<usize>,
}

pub(super) fn value_path_op(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    op: &ValuePathOp,
) -> ScimResult<()> {
    let (container, attr) = filtered_attr(registry, rt, op.attr)?;
    let label = match op.sub_attr {
        Some(s) => format!("{}[{}].{s}", display_path(op.attr), op.filter),
        None => format!("{}[{}]", display_path(op.attr), op.filter),
    };
    writable(attr, op.attr)?;
    // A literal no value may hold stays an invalidValue (`crate::text`).
    let cond = resolve_element_filter(attr, op.filter).map_err(|e| match e.scim_type {
        Some(ScimType::InvalidValue) => e,
        _ => ScimError::invalid_path(e.detail),
    })?;
    let sub = op
        .sub_attr
        .map(|s| filtered_sub(attr, s, &label))
        .transpose()?;
    let target = container_mut(res, container)?;
    let items = array_mut(target, &attr.name)?;
    let sel = Selection {
        attr,
        sub,
        filter: op.filter,
        label,
        matches: matching(items, &cond),
    };
    match op.kind {
        OpKind::Remove => remove_matched(items, &sel),
        OpKind::Add | OpKind::Replace => {
            edit_matched(items, op.kind, &sel, op.value.unwrap_or(&Value::Null))?
        }
    }
    // No empty array is left behind.
    drop_if_unassigned(target, &attr.name);
    Ok(())
}

/// The attribute before the brackets: it must be multi-valued and complex.
fn filtered_attr<'r>(
    registry: &'r Registry,
    rt: &'r ResourceType,
    path: &AttrPath,
) -> ScimResult<(Container<'r>, &'r Attribute)> {
    match resolve(registry, rt, path)? {
        Resolved::Attr {
            container,
            attr,
            sub: None,
            ..
        } if attr.multi_valued && attr.is_complex() => Ok((container, attr)),
        _ => Err(ScimError::invalid_path(format!(
            "'{}[…]': a value filter needs a multi-valued complex attribute",
            display_path(path)
        ))),
    }
}

/// The sub-attribute after the brackets: it must exist and be writable.
fn filtered_sub<'a>(attr: &'a Attribute, name: &str, label: &str) -> ScimResult<&'a Attribute> {
    let d = attr.sub(name).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "'{label}': '{}' has no sub-attribute '{name}'",
            attr.name
        ))
    })?;
    if d.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!("'{label}' is read-only")));
    }
    Ok(d)
}

/// The values of a multi-valued attribute, created (or reset) as an array.
fn array_mut<'m>(target: &'m mut Map<String, Value>, name: &str) -> ScimResult<&'m mut Vec<Value>> {
    let e = target
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(vec![]));
    if !e.is_array() {
        *e = Value::Array(vec![]);
    }
    match e {
        Value::Array(a) => Ok(a),
        _ => Err(ScimError::internal(
            "multi-valued attribute is not an array",
        )),
    }
}

fn matching(items: &[Value], cond: &Cond) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, v)| eval_element(cond, v))
        .map(|(i, _)| i)
        .collect()
}

/// `remove`: the matching elements, or their sub-attribute.
fn remove_matched(items: &mut Vec<Value>, sel: &Selection) {
    match sel.sub {
        None => {
            let matched: std::collections::HashSet<usize> = sel.matches.iter().copied().collect();
            let mut idx = 0;
            items.retain(|_| {
                let keep = !matched.contains(&idx);
                idx += 1;
                keep
            });
        }
        Some(sub) => strip_sub(items, |i| sel.matches.contains(&i), &sub.name),
    }
}

/// `add` or `replace`: write into the matching elements, or create the one
/// the filter describes when none matches.
fn edit_matched(
    items: &mut Vec<Value>,
    kind: OpKind,
    sel: &Selection,
    value: &Value,
) -> ScimResult<()> {
    let Some(patch) = new_content(items, kind, sel, value)? else {
        return Ok(());
    };
    if patch.is_empty() {
        return Ok(());
    }
    if patch.get("primary").and_then(Value::as_bool) == Some(true) {
        clear_primary(items);
    }
    if sel.matches.is_empty() {
        items.push(created_element(sel, patch)?);
        return Ok(());
    }
    for &i in &sel.matches {
        if kind == OpKind::Replace && sel.sub.is_none() {
            // RFC 7644 §3.5.2.3: matching values are replaced.
            if let Some(item) = items.get_mut(i) {
                *item = Value::Object(patch.clone());
            }
        } else if let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) {
            for (k, v) in &patch {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// The new content: one sub-attribute, or an element's sub-attributes.
/// `None` when the operation is already done: `replace` of a sub-attribute
/// with null removes it from the matching elements.
fn new_content(
    items: &mut Vec<Value>,
    kind: OpKind,
    sel: &Selection,
    value: &Value,
) -> ScimResult<Option<Map<String, Value>>> {
    let Some(sub) = sel.sub else {
        return Ok(Some(match normalize_single(sel.attr, value, &sel.label)? {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        }));
    };
    let mut m = Map::new();
    match normalize_single(sub, value, &sel.label)? {
        Some(v) => {
            m.insert(sub.name.clone(), v);
        }
        None if kind == OpKind::Replace => {
            strip_sub(items, |i| sel.matches.contains(&i), &sub.name);
            return Ok(None);
        }
        None => {}
    }
    Ok(Some(m))
}

/// Nothing matched: create the element the filter describes (Entra ID and
/// Okta rely on this; RFC 7644 leaves it open).
fn created_element(sel: &Selection, patch: Map<String, Value>) -> ScimResult<Value> {
    let label = &sel.label;
    let mut elem = element_template(sel.filter, sel.attr).ok_or_else(|| {
        ScimError::no_target(format!(
            "'{label}' matches no value, and the filter does not describe one to create (use only eq and and)"
        ))
    })?;
    for (k, v) in patch {
        elem.insert(k, v);
    }
    Ok(normalize_single(sel.attr, &Value::Object(elem), label)?
        .unwrap_or(Value::Object(Map::new())))
}
