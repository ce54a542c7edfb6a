//! Reading a PatchOp request body (RFC 7644 §3.5.2) into [`PatchOp`]s.

use scim_filter_parser::parse_path;
use serde_json::Value;

use super::{OpKind, PatchOp};
use crate::error::{ScimError, ScimResult};
use crate::resource::describe;
use crate::schema::URN_PATCH;
use crate::text;

/// Parse a PatchOp request body.
pub fn parse_request(body: &Value) -> ScimResult<Vec<PatchOp>> {
    parse_request_at_most(body, usize::MAX)
}

/// Parse a PatchOp request body of at most `max_operations` operations
/// (more is a 413, before any operation is read).
pub fn parse_request_at_most(body: &Value, max_operations: usize) -> ScimResult<Vec<PatchOp>> {
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
    if ops.len() > max_operations {
        return Err(ScimError::new(
            413,
            None,
            format!(
                "a PATCH request carries at most {max_operations} operations, this one {}; split it",
                ops.len()
            ),
        ));
    }
    // Paths, value filters and values alike: no control characters.
    text::check_json("the PATCH request", body)?;
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
