//! Resource JSON <-> validated, canonical form.
//!
//! `normalize` turns what a client sent into the canonical stored shape:
//! attribute names in their schema spelling, extension attributes under their
//! schema URN, nulls and empty arrays dropped (unassigned), readOnly values
//! dropped (RFC 7644 §3.5.1), every value type-checked against its attribute.

use base64::Engine;
use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::schema::{AttrType, Attribute, Mutability, ResourceType, Schema};
use super::text::{self, TextRule};

/// Validate and canonicalise a resource body for create or replace.
/// The result has no `id`, `meta` or readOnly attributes; `schemas` lists the
/// core schema and the extensions present. No string anywhere in the body
/// may hold a control character but TAB, LF and CR, and each value keeps
/// to its attribute's [`TextRule`](crate::text::TextRule).
pub fn normalize(rt: &ResourceType, input: &Value) -> ScimResult<Map<String, Value>> {
    let obj = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    text::check_json("the resource", input)?;
    let declared = declared_schemas(obj)?;
    if let Some(declared) = &declared {
        if !declared
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&rt.schema.id))
        {
            return Err(ScimError::invalid_value(format!(
                "'schemas' must include {}",
                rt.schema.id
            )));
        }
    }
    let mut out = Map::new();
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas")
            || key.eq_ignore_ascii_case("id")
            || key.eq_ignore_ascii_case("meta")
        {
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            match normalize_value(&external_id_attr(), value, "externalId")? {
                Some(v) => {
                    out.insert("externalId".into(), v);
                }
                None => {
                    out.remove("externalId");
                }
            }
            continue;
        }
        if let Some(schema) = rt.extension(key) {
            if let Some(ext) = normalize_extension(schema, value)? {
                out.insert(schema.id.clone(), Value::Object(ext));
            }
            continue;
        }
        if let Some(attr) = rt.schema.attribute(key) {
            put_attr(&mut out, attr, value, &attr.name)?;
            continue;
        }
        unknown_attribute(rt, key, value, declared.as_deref())?;
    }
    set_schemas(rt, &mut out);
    check_required(rt, &out)?;
    Ok(out)
}

/// An extension's object, normalised against its schema; None when it is
/// null or ends up empty.
fn normalize_extension(schema: &Schema, value: &Value) -> ScimResult<Option<Map<String, Value>>> {
    if value.is_null() {
        return Ok(None);
    }
    let ext = value.as_object().ok_or_else(|| {
        ScimError::invalid_value(format!("'{}' must be a JSON object", schema.id))
    })?;
    let mut ext_out = Map::new();
    for (k, v) in ext {
        let attr = schema.attribute(k).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "unknown attribute '{k}' in extension {}",
                schema.id
            ))
        })?;
        put_attr(
            &mut ext_out,
            attr,
            v,
            &format!("{}:{}", schema.id, attr.name),
        )?;
    }
    Ok((!ext_out.is_empty()).then_some(ext_out))
}

/// A top-level name the resource type does not have: harmless when null,
/// tolerated as an undeclared extension the client listed in `schemas`,
/// else refused.
fn unknown_attribute(
    rt: &ResourceType,
    key: &str,
    value: &Value,
    declared: Option<&[String]>,
) -> ScimResult<()> {
    if value.is_null() {
        // `"department": null` at the top level (Entra ID's older create
        // bodies): null assigns nothing, so an unknown name is harmless.
        return Ok(());
    }
    if looks_like_urn(key) {
        // An extension this server does not implement: tolerated when the
        // client declared it in `schemas` (IdPs add their own), else refused.
        let listed = declared.is_some_and(|d| d.iter().any(|s| s.eq_ignore_ascii_case(key)));
        if listed {
            return Ok(());
        }
        return Err(ScimError::invalid_value(format!(
            "unknown schema extension '{key}' for resource type {}",
            rt.name
        )));
    }
    Err(ScimError::invalid_value(format!(
        "unknown attribute '{key}' for resource type {}",
        rt.name
    )))
}

/// The `schemas` array a client sent, if any, as strings.
fn declared_schemas(obj: &Map<String, Value>) -> ScimResult<Option<Vec<String>>> {
    let Some((_, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")) else {
        return Ok(None);
    };
    let arr = v
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("'schemas' must be an array of schema URIs"))?;
    arr.iter()
        .map(|s| {
            s.as_str().map(str::to_string).ok_or_else(|| {
                ScimError::invalid_value("'schemas' must be an array of schema URIs")
            })
        })
        .collect::<ScimResult<Vec<_>>>()
        .map(Some)
}

pub fn looks_like_urn(s: &str) -> bool {
    // `get`, not `[..4]`: byte 4 may fall inside a multi-byte character.
    s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        || s.starts_with("http://")
        || s.starts_with("https://")
}

fn external_id_attr() -> Attribute {
    super::schema::external_id_attribute()
}

/// Recompute `schemas`: the core URN plus each extension that has data.
pub fn set_schemas(rt: &ResourceType, out: &mut Map<String, Value>) {
    let mut schemas = vec![Value::String(rt.schema.id.clone())];
    for (ext, _) in &rt.extensions {
        if out.get(&ext.id).is_some_and(|v| !is_unassigned(v)) {
            schemas.push(Value::String(ext.id.clone()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
}

/// Drop extension objects that became empty (after PATCH removals).
pub fn prune_empty_extensions(rt: &ResourceType, out: &mut Map<String, Value>) {
    for (ext, _) in &rt.extensions {
        if out.get(&ext.id).is_some_and(is_unassigned) {
            out.remove(&ext.id);
        }
    }
}

/// Null, empty array and empty object all mean "unassigned" (RFC 7643 §2.5).
pub fn is_unassigned(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Validate `value` for `attr` and store it under the canonical name
/// (replacing what was there); readOnly attributes are ignored; an
/// unassigned value removes the key.
fn put_attr(
    out: &mut Map<String, Value>,
    attr: &Attribute,
    value: &Value,
    path: &str,
) -> ScimResult<()> {
    if attr.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    match normalize_value(attr, value, path)? {
        Some(v) => {
            out.insert(attr.name.clone(), v);
        }
        None => {
            out.remove(&attr.name);
        }
    }
    Ok(())
}

/// Validate a value for an attribute (multi-valued or not). `None` means
/// the attribute is unassigned. A single value where an array belongs is
/// accepted and wrapped.
pub fn normalize_value(attr: &Attribute, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        // Identical values are kept once; hashing their text keeps this linear.
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(attr, item, path)? {
                if seen.insert(v.to_string()) {
                    out.push(v);
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        check_primary(attr, &out, path)?;
        Ok(Some(Value::Array(out)))
    } else {
        match value {
            // `[]` unassigns; a one-element list for a complex attribute is
            // read as that element (Entra ID sends manager this way).
            Value::Array(a) if a.is_empty() => Ok(None),
            Value::Array(a) if a.len() == 1 && attr.is_complex() => {
                normalize_single(attr, &a[0], path)
            }
            Value::Array(_) => Err(ScimError::invalid_value(format!(
                "'{path}' is single-valued; got an array"
            ))),
            // A plain string for a complex attribute with a `value`
            // sub-attribute is its value (`manager: "<id>"`); "" unassigns.
            Value::String(s) if attr.is_complex() && attr.sub("value").is_some() => {
                if s.is_empty() {
                    return Ok(None);
                }
                let mut m = Map::new();
                m.insert("value".into(), Value::String(s.clone()));
                normalize_single(attr, &Value::Object(m), path)
            }
            _ => {
                let v = normalize_single(attr, value, path)?;
                // `{"value": ""}` for a reference-like complex attribute
                // (manager) is how IdPs clear it.
                let cleared = attr.is_complex()
                    && attr.sub("value").is_some()
                    && v.as_ref()
                        .and_then(|o| o.get("value"))
                        .and_then(Value::as_str)
                        .is_some_and(str::is_empty);
                Ok(if cleared { None } else { v })
            }
        }
    }
}

/// At most one element of a multi-valued complex attribute may be primary.
pub fn check_primary(attr: &Attribute, items: &[Value], path: &str) -> ScimResult<()> {
    if !attr.is_complex() || attr.sub("primary").is_none() {
        return Ok(());
    }
    let primaries = items
        .iter()
        .filter(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
        .count();
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!(
            "'{path}': at most one value may have \"primary\": true"
        )));
    }
    Ok(())
}

/// Validate one (non-array) value of `attr`.
pub fn normalize_single(attr: &Attribute, value: &Value, path: &str) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!(
            "'{path}' must be {expected}; got {}",
            describe(value)
        ))
    };
    let v = match attr.ty {
        AttrType::Complex => {
            let obj = value.as_object().ok_or_else(|| wrong("a JSON object"))?;
            return normalize_complex(attr, obj, path);
        }
        AttrType::String | AttrType::Reference => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            text::check(path, s, attr.text)?;
            Value::String(s.to_string())
        }
        AttrType::Boolean => match value {
            Value::Bool(b) => Value::Bool(*b),
            // Entra ID sends "True"/"False".
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                let i = n
                    .as_i64()
                    .ok_or_else(|| wrong("an integer within 64 bits"))?;
                Value::from(i)
            }
            _ => return Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(n) => Value::Number(n.clone()),
            _ => return Err(wrong("a number")),
        },
        AttrType::DateTime => {
            let s = value.as_str().ok_or_else(|| wrong("a dateTime string"))?;
            text::check(path, s, TextRule::LABEL)?;
            super::datetime::parse(s).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "'{path}' must be an xsd:dateTime such as 2024-05-13T04:42:34Z; got \"{s}\""
                ))
            })?;
            Value::String(s.to_string())
        }
        AttrType::Binary => {
            let s = value.as_str().ok_or_else(|| wrong("a base64 string"))?;
            text::check(path, s, attr.text)?;
            if !is_base64(s) {
                return Err(ScimError::invalid_value(format!(
                    "'{path}' must be base64-encoded binary"
                )));
            }
            Value::String(s.to_string())
        }
    };
    Ok(Some(v))
}

/// Validate one value of a complex attribute, sub-attribute by
/// sub-attribute (readOnly ones dropped); `None` when nothing is left.
fn normalize_complex(
    attr: &Attribute,
    obj: &Map<String, Value>,
    path: &str,
) -> ScimResult<Option<Value>> {
    let mut out = Map::new();
    for (k, v) in obj {
        let sub = attr.sub(k).ok_or_else(|| {
            ScimError::invalid_value(format!("'{path}' has no sub-attribute '{k}'"))
        })?;
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        if v.is_array() {
            return Err(ScimError::invalid_value(format!(
                "'{path}.{}' is single-valued; got an array",
                sub.name
            )));
        }
        if let Some(v) = normalize_single(sub, v, &format!("{path}.{}", sub.name))? {
            out.insert(sub.name.clone(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn is_base64(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines.iter().any(|e| e.decode(compact.as_bytes()).is_ok())
}

pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every required, client-settable attribute must be present.
pub fn check_required(rt: &ResourceType, out: &Map<String, Value>) -> ScimResult<()> {
    check_required_in(&rt.schema, out)?;
    for (ext, required) in &rt.extensions {
        match out.get(&ext.id).and_then(Value::as_object) {
            Some(obj) => check_required_in(ext, obj)?,
            None if *required => {
                return Err(ScimError::invalid_value(format!(
                    "the extension {} is required",
                    ext.id
                )))
            }
            None => {}
        }
    }
    Ok(())
}

fn check_required_in(schema: &Schema, obj: &Map<String, Value>) -> ScimResult<()> {
    for attr in &schema.attributes {
        if attr.required
            && attr.mutability != Mutability::ReadOnly
            && obj
                .get(&attr.name)
                .is_none_or(|v| is_unassigned(v) || v.as_str().is_some_and(|s| s.trim().is_empty()))
        {
            return Err(ScimError::invalid_value(format!(
                "'{}' is required",
                attr.name
            )));
        }
    }
    Ok(())
}
