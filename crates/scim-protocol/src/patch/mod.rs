//! The PATCH engine (RFC 7644 §3.5.2): applies a PatchOp request to a
//! resource's canonical JSON. Pure: no storage, no HTTP.
//!
//! Group `members` are a relationship kept in their own table, so
//! [`split_members`] turns operations on `members` into membership changes
//! before the remaining operations reach [`apply`].
//!
//! [`parse_request`] reads the body; [`apply`] runs each operation: `add`
//! and `replace` by path or without one (`set`), `remove` by path
//! (`remove`), and any of them through a value filter (`value_path`).

mod members;
mod parse;
mod remove;
mod set;
mod value_path;

use scim_filter_parser::{AttrPath, PatchPath};
use serde_json::{Map, Value};

pub use members::{parse_member_refs, split_members, MemberOp, MemberRef};
pub use parse::{parse_request, parse_request_at_most};

use super::error::{ScimError, ScimResult};
use super::path::{display_path, Container};
use super::resource::{
    check_primary, check_required, is_unassigned, prune_empty_extensions, set_schemas,
};
use super::schema::{Attribute, Mutability, Registry, ResourceType};
use remove::remove_attr;
use set::{set_attr, set_pathless};
use value_path::{value_path_op, ValuePathOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    /// The path as the client wrote it (for messages).
    pub raw_path: Option<String>,
    pub value: Option<Value>,
}

/// Apply operations to `resource` (canonical form, no `id`/`meta`), then
/// check the result (required attributes, one primary per attribute).
pub fn apply(
    registry: &Registry,
    rt: &ResourceType,
    resource: &mut Map<String, Value>,
    ops: &[PatchOp],
) -> ScimResult<()> {
    for (i, op) in ops.iter().enumerate() {
        apply_op(registry, rt, resource, op).map_err(|mut e| {
            e.detail = format!("Operations[{i}]: {}", e.detail);
            e
        })?;
    }
    prune_empty_extensions(rt, resource);
    set_schemas(rt, resource);
    check_multi_valued(rt, resource)?;
    check_required(rt, resource)
}

/// Edits through a filter or of a sub-attribute can make two values equal;
/// keep one, as `normalize` does, and allow one primary value per attribute.
fn check_multi_valued(rt: &ResourceType, resource: &mut Map<String, Value>) -> ScimResult<()> {
    for schema in rt.all_schemas() {
        let obj = if schema.id == rt.schema.id {
            Some(&mut *resource)
        } else {
            resource.get_mut(&schema.id).and_then(Value::as_object_mut)
        };
        let Some(obj) = obj else {
            continue;
        };
        for attr in schema.attributes.iter().filter(|a| a.multi_valued) {
            if let Some(Value::Array(items)) = obj.get_mut(&attr.name) {
                dedup(items);
                check_primary(attr, items, &attr.name)?;
            }
        }
    }
    Ok(())
}

fn apply_op(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    op: &PatchOp,
) -> ScimResult<()> {
    let value = op.value.as_ref();
    match (&op.path, op.op) {
        (None, OpKind::Remove) => Err(ScimError::no_target("\"remove\" needs a \"path\"")),
        (None, kind) => set_pathless(registry, rt, res, kind, value.unwrap_or(&Value::Null)),
        (Some(PatchPath::Attr(path)), OpKind::Remove) => {
            remove_attr(registry, rt, res, path, value)
        }
        (Some(PatchPath::Attr(path)), kind) => set_attr(
            registry,
            rt,
            res,
            kind,
            path,
            value.unwrap_or(&Value::Null),
            false,
        ),
        (
            Some(PatchPath::ValuePath {
                attr,
                filter,
                sub_attr,
            }),
            kind,
        ) => {
            let op = ValuePathOp {
                kind,
                attr,
                filter,
                sub_attr: sub_attr.as_deref(),
                value,
            };
            value_path_op(registry, rt, res, &op)
        }
    }
}

/// The object an attribute lives in; extension objects are created on demand.
fn container_mut<'m>(
    res: &'m mut Map<String, Value>,
    c: Container,
) -> ScimResult<&'m mut Map<String, Value>> {
    match c {
        Container::Top => Ok(res),
        Container::Extension(s) => {
            let entry = res
                .entry(s.id.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry
                .as_object_mut()
                .ok_or_else(|| ScimError::internal("extension container is not an object"))
        }
    }
}

fn writable(attr: &Attribute, path: &AttrPath) -> ScimResult<()> {
    if attr.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "'{}' is read-only",
            display_path(path)
        )));
    }
    Ok(())
}

fn check_immutable(
    attr: &Attribute,
    old: Option<&Value>,
    new: Option<&Value>,
    label: &str,
) -> ScimResult<()> {
    if attr.mutability != Mutability::Immutable {
        return Ok(());
    }
    match old {
        Some(o) if !is_unassigned(o) && Some(o) != new => Err(ScimError::mutability(format!(
            "'{label}' is immutable and already has a value"
        ))),
        _ => Ok(()),
    }
}

/// Drop exact duplicates, keeping the first of each.
fn dedup(items: &mut Vec<Value>) {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.retain(|v| seen.insert(v.to_string()));
}

fn clear_primary(items: &mut [Value]) {
    for item in items {
        if let Some(o) = item.as_object_mut() {
            if o.get("primary").and_then(Value::as_bool) == Some(true) {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

/// Remove sub-attribute `name` from the elements whose index passes `which`;
/// drop the elements left empty.
fn strip_sub(items: &mut Vec<Value>, which: impl Fn(usize) -> bool, name: &str) {
    for (i, item) in items.iter_mut().enumerate() {
        if !which(i) {
            continue;
        }
        if let Some(o) = item.as_object_mut() {
            o.remove(name);
        }
    }
    items.retain(|v| !is_unassigned(v));
}

/// Unassign attribute `name` when nothing of its value is left.
fn drop_if_unassigned(target: &mut Map<String, Value>, name: &str) {
    if target.get(name).is_some_and(is_unassigned) {
        target.remove(name);
    }
}
