//! The PATCH engine (RFC 7644 §3.5.2): applies a PatchOp request to a
//! resource's canonical JSON. Pure: no storage, no HTTP.
//!
//! Group `members` are a relationship kept in their own table, so
//! [`split_members`] turns operations on `members` into membership changes
//! before the remaining operations reach [`apply`].

use scim_filter_parser::{parse_path, AttrPath, PatchPath};
use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::{element_template, eval_element, resolve_element_filter, value_eq_list};
use super::path::{display_path, resolve, Container, Resolved};
use super::resource::{
    check_primary, check_required, describe, is_unassigned, looks_like_urn, normalize_single,
    normalize_value, prune_empty_extensions, set_schemas,
};
use super::schema::{Attribute, Mutability, Registry, ResourceType, URN_PATCH};

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

/// Parse a PatchOp request body.
pub fn parse_request(body: &Value) -> ScimResult<Vec<PatchOp>> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;
    if let Some((_, schemas)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")) {
        let ok = schemas
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(URN_PATCH)));
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "a PATCH body's 'schemas' must be [\"{URN_PATCH}\"]"
            )));
        }
    }
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an 'Operations' array"))?;
    let ops = ops
        .as_array()
        .ok_or_else(|| ScimError::invalid_syntax("'Operations' must be an array"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("'Operations' must not be empty"));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op))
        .collect()
}

fn parse_op(i: usize, op: &Value) -> ScimResult<PatchOp> {
    let obj = op
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax(format!("Operations[{i}] must be an object")))?;
    let get = |name: &str| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let kind = match get("op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(s) => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}]: unknown op \"{s}\"; expected add, replace or remove"
            )))
        }
        None => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}] needs an \"op\" string: add, replace or remove"
            )))
        }
    };
    let (path, raw_path) = match get("path") {
        None | Some(Value::Null) => (None, None),
        Some(Value::String(s)) if s.trim().is_empty() => (None, None),
        Some(Value::String(s)) => {
            let p = parse_path(s).map_err(|e| {
                ScimError::invalid_path(format!("Operations[{i}]: path \"{s}\": {e}"))
            })?;
            (Some(p), Some(s.clone()))
        }
        Some(other) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{i}]: \"path\" must be a string; got {}",
                describe(other)
            )))
        }
    };
    let value = get("value").cloned();
    if kind != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "Operations[{i}]: \"{}\" needs a \"value\"",
            if kind == OpKind::Add {
                "add"
            } else {
                "replace"
            }
        )));
    }
    if kind == OpKind::Remove && path.is_none() {
        return Err(ScimError::no_target(format!(
            "Operations[{i}]: \"remove\" needs a \"path\""
        )));
    }
    Ok(PatchOp {
        op: kind,
        path,
        raw_path,
        value,
    })
}

/// A reference to a group member as sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub value: String,
    /// `User` or `Group` when the client said so.
    pub kind: Option<String>,
    /// The `display` the client sent, echoed back as sent.
    pub display: Option<String>,
}

/// A change to a group's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<MemberRef>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<MemberRef>),
}

/// Parse a `members` value: an array (or one object) of `{"value": id}`.
pub fn parse_member_refs(v: &Value) -> ScimResult<Vec<MemberRef>> {
    let items: Vec<&Value> = match v {
        Value::Null => vec![],
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out: Vec<MemberRef> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let obj = item.as_object().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "a member must be an object like {{\"value\": \"<id>\"}}; got {}",
                describe(item)
            ))
        })?;
        let mut value = None;
        let mut kind = None;
        let mut display = None;
        for (k, v) in obj {
            if k.eq_ignore_ascii_case("value") {
                value = Some(v.as_str().ok_or_else(|| {
                    ScimError::invalid_value("a member's \"value\" must be a string id")
                })?);
            } else if k.eq_ignore_ascii_case("type") {
                match v.as_str() {
                    Some(t) if t.eq_ignore_ascii_case("User") => kind = Some("User".to_string()),
                    Some(t) if t.eq_ignore_ascii_case("Group") => kind = Some("Group".to_string()),
                    None if v.is_null() => {}
                    _ => {
                        return Err(ScimError::invalid_value(
                            "a member's \"type\" must be \"User\" or \"Group\"",
                        ))
                    }
                }
            } else if k.eq_ignore_ascii_case("display") {
                match v {
                    Value::String(d) => display = Some(d.clone()),
                    Value::Null => {}
                    _ => {
                        return Err(ScimError::invalid_value(
                            "a member's \"display\" must be a string",
                        ))
                    }
                }
            } else if k.eq_ignore_ascii_case("$ref") {
                // Derived by the server from the member's id and type.
            } else {
                return Err(ScimError::invalid_value(format!(
                    "a member has no attribute '{k}'"
                )));
            }
        }
        let value =
            value.ok_or_else(|| ScimError::invalid_value("a member needs a \"value\" id"))?;
        if seen.insert(value.to_string()) {
            out.push(MemberRef {
                value: value.to_string(),
                kind,
                display,
            });
        }
    }
    Ok(out)
}

fn is_members(p: &AttrPath, rt: &ResourceType) -> bool {
    p.name.eq_ignore_ascii_case("members")
        && p.sub_attr.is_none()
        && p.uri
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(&rt.schema.id))
}

/// Take the operations on `members` out of `ops` as membership changes.
pub fn split_members(
    rt: &ResourceType,
    ops: Vec<PatchOp>,
) -> ScimResult<(Vec<MemberOp>, Vec<PatchOp>)> {
    let mut members = Vec::new();
    let mut rest = Vec::new();
    for mut op in ops {
        match &op.path {
            Some(PatchPath::Attr(p)) if is_members(p, rt) => {
                let v = op.value.as_ref();
                members.push(match op.op {
                    OpKind::Add => MemberOp::Add(parse_member_refs(v.unwrap_or(&Value::Null))?),
                    OpKind::Replace => {
                        MemberOp::Replace(parse_member_refs(v.unwrap_or(&Value::Null))?)
                    }
                    OpKind::Remove => match v {
                        None | Some(Value::Null) => MemberOp::RemoveAll,
                        Some(v) => MemberOp::Remove(
                            parse_member_refs(v)?.into_iter().map(|m| m.value).collect(),
                        ),
                    },
                });
            }
            Some(PatchPath::Attr(p))
                if p.name.eq_ignore_ascii_case("members") && p.sub_attr.is_some() =>
            {
                return Err(ScimError::invalid_path(format!(
                    "'{}': address members with a value filter, e.g. members[value eq \"<id>\"]",
                    display_path(p)
                )));
            }
            Some(PatchPath::ValuePath {
                attr,
                filter,
                sub_attr,
            }) if is_members(attr, rt) => {
                if op.op != OpKind::Remove || sub_attr.is_some() {
                    return Err(ScimError::mutability(
                        "members are immutable once added: remove a member and add another instead",
                    ));
                }
                let ids = value_eq_list(filter).ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "members[{filter}]: member filters support value eq \"<id>\", joined by or"
                    ))
                })?;
                members.push(MemberOp::Remove(ids));
            }
            None if op.op != OpKind::Remove => {
                if let Some(Value::Object(obj)) = &mut op.value {
                    let key = obj
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case("members"))
                        .cloned();
                    if let Some(key) = key {
                        let v = obj.remove(&key).unwrap_or(Value::Null);
                        let refs = parse_member_refs(&v)?;
                        members.push(if op.op == OpKind::Add {
                            MemberOp::Add(refs)
                        } else {
                            MemberOp::Replace(refs)
                        });
                    }
                    if !obj.is_empty() {
                        rest.push(op);
                    }
                } else {
                    rest.push(op);
                }
            }
            _ => rest.push(op),
        }
    }
    Ok((members, rest))
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
    for schema in rt.all_schemas() {
        let obj = if schema.id == rt.schema.id {
            Some(&mut *resource)
        } else {
            resource.get_mut(&schema.id).and_then(Value::as_object_mut)
        };
        if let Some(obj) = obj {
            for attr in schema.attributes.iter().filter(|a| a.multi_valued) {
                if let Some(Value::Array(items)) = obj.get_mut(&attr.name) {
                    // Edits through a filter or of a sub-attribute can make two
                    // values equal; keep one, as `normalize` does.
                    dedup(items);
                    check_primary(attr, items, &attr.name)?;
                }
            }
        }
    }
    check_required(rt, resource)
}

fn apply_op(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    op: &PatchOp,
) -> ScimResult<()> {
    match (&op.path, op.op) {
        (None, OpKind::Remove) => Err(ScimError::no_target("\"remove\" needs a \"path\"")),
        (None, kind) => {
            let value = op.value.as_ref().unwrap_or(&Value::Null);
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
                    let ext_obj = match v {
                        Value::Null => {
                            if kind == OpKind::Replace {
                                res.remove(&ext.id);
                            }
                            continue;
                        }
                        Value::Object(o) => o,
                        other => {
                            return Err(ScimError::invalid_value(format!(
                                "'{}' must be an object; got {}",
                                ext.id,
                                describe(other)
                            )))
                        }
                    };
                    for (k, v2) in ext_obj {
                        if k.eq_ignore_ascii_case("schemas") {
                            continue;
                        }
                        let path = AttrPath {
                            uri: Some(ext.id.clone()),
                            name: k.clone(),
                            sub_attr: None,
                        };
                        set_attr(registry, rt, res, kind, &path, v2, true)?;
                    }
                    continue;
                }
                let path = match parse_path(key) {
                    Ok(PatchPath::Attr(p)) => p,
                    _ if looks_like_urn(key) => {
                        return Err(ScimError::invalid_value(format!(
                            "unknown schema extension '{key}'"
                        )))
                    }
                    _ => {
                        return Err(ScimError::invalid_value(format!(
                            "'{key}' is not an attribute name"
                        )))
                    }
                };
                set_attr(registry, rt, res, kind, &path, v, true)?;
            }
            Ok(())
        }
        (Some(PatchPath::Attr(path)), OpKind::Remove) => {
            remove_attr(registry, rt, res, path, op.value.as_ref())
        }
        (Some(PatchPath::Attr(path)), kind) => set_attr(
            registry,
            rt,
            res,
            kind,
            path,
            op.value.as_ref().unwrap_or(&Value::Null),
            false,
        ),
        (
            Some(PatchPath::ValuePath {
                attr,
                filter,
                sub_attr,
            }),
            kind,
        ) => value_path_op(
            registry,
            rt,
            res,
            kind,
            attr,
            filter,
            sub_attr.as_deref(),
            op.value.as_ref(),
        ),
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

fn set_attr(
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
            for (k, v) in obj {
                if k.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let p = AttrPath {
                    uri: Some(schema.id.clone()),
                    name: k.clone(),
                    sub_attr: None,
                };
                set_attr(registry, rt, res, kind, &p, v, true)?;
            }
            return Ok(());
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
        Some(sub) => {
            if attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "'{label}': '{}' is multi-valued; select values with a filter, e.g. {}[type eq \"work\"].{}",
                    attr.name, attr.name, sub.name
                )));
            }
            let new = normalize_single(sub, value, &label)?;
            let obj = target
                .entry(attr.name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !obj.is_object() {
                *obj = Value::Object(Map::new());
            }
            if let Some(o) = obj.as_object_mut() {
                check_immutable(sub, o.get(&sub.name), new.as_ref(), &label)?;
                match new {
                    Some(v) => {
                        o.insert(sub.name.clone(), v);
                    }
                    None => {
                        o.remove(&sub.name);
                    }
                }
            }
            if target.get(&attr.name).is_some_and(is_unassigned) {
                target.remove(&attr.name);
            }
            Ok(())
        }
        None => {
            let new = normalize_value(attr, value, &label)?;
            check_immutable(attr, target.get(&attr.name), new.as_ref(), &label)?;
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
                    return Ok(());
                }
                let existing = target
                    .entry(attr.name.clone())
                    .or_insert_with(|| Value::Array(vec![]));
                if !existing.is_array() {
                    *existing = Value::Array(vec![]);
                }
                if let Value::Array(items) = existing {
                    let new_primary = new_items
                        .iter()
                        .any(|v| v.get("primary").and_then(Value::as_bool) == Some(true));
                    if new_primary {
                        clear_primary(items);
                    }
                    let mut seen: std::collections::HashSet<String> =
                        items.iter().map(Value::to_string).collect();
                    for item in new_items {
                        if seen.insert(item.to_string()) {
                            items.push(item);
                        }
                    }
                }
                return Ok(());
            }
            if attr.is_complex() {
                // add and replace both merge sub-attributes into a complex value.
                let existing = target
                    .entry(attr.name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Some(e), Value::Object(n)) = (existing.as_object_mut(), &new) {
                    for (k, v) in n {
                        e.insert(k.clone(), v.clone());
                    }
                    return Ok(());
                }
                *existing = new;
                return Ok(());
            }
            target.insert(attr.name.clone(), new);
            Ok(())
        }
    }
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

fn remove_attr(
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
        Some(sub) => {
            if attr.multi_valued {
                // `emails.type`: remove the sub-attribute from every value.
                if let Some(Value::Array(items)) = target.get_mut(&attr.name) {
                    for item in items.iter_mut() {
                        if let Some(o) = item.as_object_mut() {
                            o.remove(&sub.name);
                        }
                    }
                    items.retain(|v| !is_unassigned(v));
                }
            } else if let Some(Value::Object(o)) = target.get_mut(&attr.name) {
                check_immutable(sub, o.get(&sub.name), None, &label)?;
                o.remove(&sub.name);
            }
            if target.get(&attr.name).is_some_and(is_unassigned) {
                target.remove(&attr.name);
            }
        }
        None => {
            check_immutable(attr, target.get(&attr.name), None, &label)?;
            match value {
                // Remove only the listed values (Entra ID and Okta send this).
                Some(v) if attr.multi_valued && !v.is_null() => {
                    let listed = match normalize_value(attr, v, &label)? {
                        Some(Value::Array(a)) => a,
                        _ => vec![],
                    };
                    if let Some(Value::Array(items)) = target.get_mut(&attr.name) {
                        items.retain(|item| !listed.iter().any(|l| same_element(attr, item, l)));
                    }
                    if target.get(&attr.name).is_some_and(is_unassigned) {
                        target.remove(&attr.name);
                    }
                }
                _ => {
                    target.remove(&attr.name);
                }
            }
        }
    }
    if let Container::Extension(s) = container {
        if res.get(&s.id).is_some_and(is_unassigned) {
            res.remove(&s.id);
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

#[allow(clippy::too_many_arguments)]
fn value_path_op(
    registry: &Registry,
    rt: &ResourceType,
    res: &mut Map<String, Value>,
    kind: OpKind,
    attr_path: &AttrPath,
    filter: &scim_filter_parser::Filter,
    sub_attr: Option<&str>,
    value: Option<&Value>,
) -> ScimResult<()> {
    let (container, attr) = match resolve(registry, rt, attr_path)? {
        Resolved::Attr {
            container,
            attr,
            sub: None,
            ..
        } if attr.multi_valued && attr.is_complex() => (container, attr),
        _ => {
            return Err(ScimError::invalid_path(format!(
                "'{}[…]': a value filter needs a multi-valued complex attribute",
                display_path(attr_path)
            )))
        }
    };
    let label = match sub_attr {
        Some(s) => format!("{}[{filter}].{s}", display_path(attr_path)),
        None => format!("{}[{filter}]", display_path(attr_path)),
    };
    writable(attr, attr_path)?;
    let cond =
        resolve_element_filter(attr, filter).map_err(|e| ScimError::invalid_path(e.detail))?;
    let sub = match sub_attr {
        None => None,
        Some(s) => {
            let d = attr.sub(s).ok_or_else(|| {
                ScimError::invalid_path(format!(
                    "'{label}': '{}' has no sub-attribute '{s}'",
                    attr.name
                ))
            })?;
            if d.mutability == Mutability::ReadOnly {
                return Err(ScimError::mutability(format!("'{label}' is read-only")));
            }
            Some(d)
        }
    };
    let target = container_mut(res, container)?;
    let items: &mut Vec<Value> = {
        let e = target
            .entry(attr.name.clone())
            .or_insert_with(|| Value::Array(vec![]));
        if !e.is_array() {
            *e = Value::Array(vec![]);
        }
        match e {
            Value::Array(a) => a,
            _ => {
                return Err(ScimError::internal(
                    "multi-valued attribute is not an array",
                ))
            }
        }
    };
    let matches: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, v)| eval_element(&cond, v))
        .map(|(i, _)| i)
        .collect();
    let matched: std::collections::HashSet<usize> = matches.iter().copied().collect();
    match kind {
        OpKind::Remove => match sub {
            None => {
                let mut idx = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&idx);
                    idx += 1;
                    keep
                });
            }
            Some(sub) => {
                for &i in &matches {
                    if let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) {
                        o.remove(&sub.name);
                    }
                }
                items.retain(|v| !is_unassigned(v));
            }
        },
        // Every way out of this block falls through to the clean-up below, so
        // that no empty array is left behind.
        OpKind::Add | OpKind::Replace => 'edit: {
            let value = value.unwrap_or(&Value::Null);
            // The new content: one sub-attribute, or an element's sub-attributes.
            let patch: Map<String, Value> = match sub {
                Some(sub) => {
                    let mut m = Map::new();
                    if let Some(v) = normalize_single(sub, value, &label)? {
                        m.insert(sub.name.clone(), v);
                    } else if kind == OpKind::Replace {
                        // replace with null: remove the sub-attribute.
                        for &i in &matches {
                            if let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) {
                                o.remove(&sub.name);
                            }
                        }
                        items.retain(|v| !is_unassigned(v));
                        break 'edit;
                    }
                    m
                }
                None => match normalize_single(attr, value, &label)? {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                },
            };
            if patch.is_empty() {
                break 'edit;
            }
            if patch.get("primary").and_then(Value::as_bool) == Some(true) {
                clear_primary(items);
            }
            if matches.is_empty() {
                // Nothing matched: create the element the filter describes
                // (Entra ID and Okta rely on this; RFC 7644 leaves it open).
                let mut elem = element_template(filter, attr).ok_or_else(|| {
                    ScimError::no_target(format!(
                        "'{label}' matches no value, and the filter does not describe one to create (use only eq and and)"
                    ))
                })?;
                for (k, v) in patch {
                    elem.insert(k, v);
                }
                let elem = normalize_single(attr, &Value::Object(elem), &label)?
                    .unwrap_or(Value::Object(Map::new()));
                items.push(elem);
            } else {
                for &i in &matches {
                    if kind == OpKind::Replace && sub.is_none() {
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
            }
        }
    }
    if target.get(&attr.name).is_some_and(is_unassigned) {
        target.remove(&attr.name);
    }
    Ok(())
}
