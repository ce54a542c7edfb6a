//! Bulk (RFC 7644 §3.7): parsing a BulkRequest, `bulkId` references and the
//! order operations run in, and the BulkResponse. Pure; the directory
//! executes the operations.
//!
//! - `bulkId:<id>` may appear in an operation's `path` or anywhere in its
//!   `data` (members, manager …), before or after the operation that creates
//!   it: operations run in an order where every creator runs first.
//! - Operations caught in a circular reference are not run; each answers
//!   409. An operation whose referenced creator failed answers 409 too.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::etag::etag;
use super::schema::Kind;
use super::text::{self, TextRule};
use super::ScimError;

pub const URN_BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const URN_BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation as sent. A malformed operation keeps its error so that it
/// can be answered in place.
#[derive(Debug, Clone)]
pub struct BulkOp {
    /// The method as sent (echoed in the response even when invalid).
    pub method_text: String,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub path: String,
    pub data: Option<Value>,
    pub parsed: Result<(BulkMethod, Kind, Option<String>), ScimError>,
}

#[derive(Debug, Clone)]
pub struct BulkRequest {
    pub fail_on_errors: Option<usize>,
    pub ops: Vec<BulkOp>,
}

/// Parse a BulkRequest. Envelope errors fail the whole request; errors of
/// one operation stay with it.
pub fn parse(body: Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
    // Owned, so each operation's `data` moves out instead of being copied.
    let Value::Object(mut obj) = body else {
        return Err(ScimError::invalid_syntax(
            "a BulkRequest must be a JSON object",
        ));
    };
    let schemas_ok = obj
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(URN_BULK_REQUEST))
            })
        });
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must contain \"{URN_BULK_REQUEST}\""
        )));
    }
    let fail_on_errors = match obj.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .ok_or_else(|| {
                    ScimError::invalid_value("\"failOnErrors\" must be a positive integer")
                })?,
        ),
    };
    let ops = match obj.remove("Operations") {
        Some(Value::Array(a)) => a,
        _ => return Err(ScimError::invalid_syntax("\"Operations\" must be an array")),
    };
    if ops.len() > max_operations {
        return Err(ScimError::payload_too_large(format!(
            "{} operations exceed bulk.maxOperations ({max_operations})",
            ops.len()
        )));
    }
    text::check_json("the BulkRequest", &Value::Object(obj))?;
    let mut seen = HashSet::new();
    let ops = ops.into_iter().map(|op| read_op(op, &mut seen)).collect();
    Ok(BulkRequest {
        fail_on_errors,
        ops,
    })
}

/// One operation as sent, parsed; `seen` holds the `bulkId`s of the POSTs
/// before it (each may be used once).
fn read_op(mut op: Value, seen: &mut HashSet<String>) -> BulkOp {
    // An operation's strings, its data's included, keep to the rule of
    // text; one that does not fails alone.
    let valid = text::check_json("the operation", &op);
    let data = op.as_object_mut().and_then(|o| o.remove("data"));
    let o = op.as_object();
    let field = |k: &str| {
        o.and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let method_text = field("method").unwrap_or_default();
    let bulk_id = field("bulkId");
    let mut parsed = valid
        .and_then(|()| match &bulk_id {
            Some(b) => text::check("bulkId", b, TextRule::NAME),
            None => Ok(()),
        })
        .and_then(|()| parse_op(o, data.as_ref(), &method_text, bulk_id.as_deref()));
    if let (Ok((BulkMethod::Post, _, _)), Some(b)) = (&parsed, &bulk_id) {
        if !seen.insert(b.clone()) {
            parsed = Err(ScimError::invalid_value(format!(
                "bulkId \"{b}\" is used by more than one operation"
            )));
        }
    }
    BulkOp {
        method_text,
        bulk_id,
        version: field("version"),
        path: field("path").unwrap_or_default(),
        data,
        parsed,
    }
}

fn parse_op(
    o: Option<&serde_json::Map<String, Value>>,
    data: Option<&Value>,
    method: &str,
    bulk_id: Option<&str>,
) -> Result<(BulkMethod, Kind, Option<String>), ScimError> {
    let o = o.ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
    let method = match method.to_ascii_uppercase().as_str() {
        "POST" => BulkMethod::Post,
        "PUT" => BulkMethod::Put,
        "PATCH" => BulkMethod::Patch,
        "DELETE" => BulkMethod::Delete,
        other => {
            return Err(ScimError::invalid_value(format!(
                "unknown bulk method \"{other}\"; use POST, PUT, PATCH or DELETE"
            )))
        }
    };
    let path = o
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_value("an operation needs a \"path\""))?;
    let trimmed = path.trim_start_matches('/');
    let (endpoint, id) = match trimmed.split_once('/') {
        Some((e, id)) => (e, Some(id)),
        None => (trimmed, None),
    };
    let kind = if endpoint.eq_ignore_ascii_case("Users") {
        Kind::User
    } else if endpoint.eq_ignore_ascii_case("Groups") {
        Kind::Group
    } else {
        return Err(ScimError::invalid_path(format!(
            "\"{path}\" is not /Users or /Groups"
        )));
    };
    let id = id.filter(|i| !i.is_empty() && !i.contains('/'));
    match (method, id) {
        (BulkMethod::Post, None) if bulk_id.is_none_or(str::is_empty) => {
            return Err(ScimError::invalid_value(
                "a POST operation needs a \"bulkId\"",
            ));
        }
        (BulkMethod::Post, None) => {}
        (BulkMethod::Post, Some(_)) => {
            return Err(ScimError::invalid_path(format!(
                "POST goes to /Users or /Groups, not \"{path}\""
            )))
        }
        (_, None) => {
            return Err(ScimError::invalid_path(format!(
                "{} needs a resource path such as /Users/{{id}}, not \"{path}\"",
                method.as_str()
            )))
        }
        _ => {}
    }
    if matches!(
        method,
        BulkMethod::Post | BulkMethod::Put | BulkMethod::Patch
    ) && !data.is_some_and(Value::is_object)
    {
        return Err(ScimError::invalid_syntax(format!(
            "a {} operation needs a \"data\" object",
            method.as_str()
        )));
    }
    Ok((method, kind, id.map(str::to_string)))
}

/// The bulkIds an operation refers to (in its path or data).
pub fn references(op: &BulkOp) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(id) = op
        .path
        .split('/')
        .next_back()
        .and_then(|s| s.strip_prefix(PREFIX))
    {
        out.push(id.to_string());
    }
    if let Some(d) = &op.data {
        collect(d, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// Where a `bulkId:` reference may stand: the `value` of a reference —
/// under `members`/`manager`, or the value of a PATCH operation whose path
/// names them — or a quoted literal inside a PATCH `path` filter
/// (`members[value eq "bulkId:u"]`). Other strings are data, left alone.
fn collect(v: &Value, out: &mut Vec<String>) {
    walk(v, None, false, &mut |s, is_ref| {
        if is_ref {
            if let Some(id) = s.strip_prefix(PREFIX) {
                out.push(id.to_string());
            }
        } else {
            out.extend(quoted_refs(s).into_iter().map(|(_, _, id)| id.to_string()));
        }
    });
}

fn names_reference(key: &str) -> bool {
    key.eq_ignore_ascii_case("members") || key.eq_ignore_ascii_case("manager")
}

/// Whether a PATCH operation's path targets a reference attribute.
fn op_targets_reference(op: &serde_json::Map<String, Value>) -> bool {
    op.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("path"))
        .and_then(|(_, v)| v.as_str())
        .is_some_and(|p| {
            let p = p.to_ascii_lowercase();
            p.starts_with("members") || p.contains("manager")
        })
}

/// Visit strings: `f(s, true)` for a reference `value`, `f(s, false)` for a
/// PATCH `path` (which may hold quoted references); other strings are skipped.
fn walk<'a>(v: &'a Value, key: Option<&'a str>, in_ref: bool, f: &mut impl FnMut(&'a str, bool)) {
    match v {
        Value::String(s) => match key {
            Some(k) if in_ref && k.eq_ignore_ascii_case("value") => f(s, true),
            Some(k) if k.eq_ignore_ascii_case("path") => f(s, false),
            _ => {}
        },
        Value::Array(a) => a.iter().for_each(|x| walk(x, key, in_ref, f)),
        Value::Object(m) => {
            let op_ref = m.keys().any(|k| k.eq_ignore_ascii_case("op")) && op_targets_reference(m);
            for (k, x) in m {
                let child_ref =
                    in_ref || names_reference(k) || (k.eq_ignore_ascii_case("value") && op_ref);
                walk(x, Some(k.as_str()), child_ref, f);
            }
        }
        _ => {}
    }
}

/// `"bulkId:<id>"` literals inside a path filter: (start, end, id), where
/// start..end spans `bulkId:<id>` without the quotes.
fn quoted_refs(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("\"bulkId:") {
        let start = from + i + 1;
        let id_start = start + PREFIX.len();
        match s[id_start..].find('"') {
            Some(j) => {
                out.push((start, id_start + j, &s[id_start..id_start + j]));
                from = id_start + j + 1;
            }
            None => break,
        }
    }
    out
}

/// The order to run operations in: creators before the operations that
/// refer to them, otherwise request order. Also returns the operations in
/// (or depending on) a circular reference, which must not run.
pub fn plan(ops: &[BulkOp]) -> (Vec<usize>, Vec<usize>) {
    let creator: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.parsed, Ok((BulkMethod::Post, _, _))))
        .filter_map(|(i, o)| o.bulk_id.as_deref().map(|b| (b, i)))
        .collect();
    let n = ops.len();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, op) in ops.iter().enumerate().filter(|(_, o)| o.parsed.is_ok()) {
        for r in references(op) {
            if let Some(&c) = creator.get(r.as_str()) {
                if c != i {
                    indegree[i] += 1;
                    dependents[c].push(i);
                } else {
                    // A resource referring to itself cannot be created.
                    indegree[i] += 1;
                }
            }
        }
    }
    // Kahn's algorithm, always taking the lowest ready index: request order
    // is kept wherever references allow.
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.insert(d);
            }
        }
    }
    let placed: HashSet<usize> = order.iter().copied().collect();
    let stuck: Vec<usize> = (0..n).filter(|i| !placed.contains(i)).collect();
    (order, stuck)
}

/// Replace `bulkId:<id>` references (see `collect`) by the created ids.
/// Unknown references are an error naming them.
pub fn substitute(v: &Value, created: &HashMap<String, String>) -> Result<Value, String> {
    substitute_at(v, None, false, created)
}

fn substitute_at(
    v: &Value,
    key: Option<&str>,
    in_ref: bool,
    created: &HashMap<String, String>,
) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => match key {
            Some(k) if in_ref && k.eq_ignore_ascii_case("value") => match s.strip_prefix(PREFIX) {
                Some(id) => Value::String(created.get(id).cloned().ok_or_else(|| id.to_string())?),
                None => v.clone(),
            },
            Some(k) if k.eq_ignore_ascii_case("path") => {
                let mut out = String::with_capacity(s.len());
                let mut last = 0;
                for (start, end, id) in quoted_refs(s) {
                    out.push_str(&s[last..start]);
                    out.push_str(created.get(id).ok_or_else(|| id.to_string())?);
                    last = end;
                }
                out.push_str(&s[last..]);
                Value::String(out)
            }
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_at(x, key, in_ref, created))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let op_ref = m.keys().any(|k| k.eq_ignore_ascii_case("op")) && op_targets_reference(m);
            Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let child_ref = in_ref
                            || names_reference(k)
                            || (k.eq_ignore_ascii_case("value") && op_ref);
                        Ok((k.clone(), substitute_at(x, Some(k), child_ref, created)?))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        _ => v.clone(),
    })
}

/// Resolve the id in a path (`/Users/bulkId:x`).
pub fn resolve_id(id: &str, created: &HashMap<String, String>) -> Result<String, String> {
    match id.strip_prefix(PREFIX) {
        Some(b) => created.get(b).cloned().ok_or_else(|| b.to_string()),
        None => Ok(id.to_string()),
    }
}

/// An operation that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpDone {
    /// 201, 200 or 204.
    pub status: u16,
    /// The resource's id (created, replaced, patched or deleted).
    pub id: String,
    pub location: String,
    /// The resource's version, when the operation left one (not on DELETE).
    pub version: Option<i64>,
}

/// What one operation came to; `E` is the error type of the layer that ran it.
#[derive(Debug)]
pub struct OpOutcome<E> {
    /// The method as sent, upper-cased.
    pub method: String,
    /// The resource type its path names, when the path is valid.
    pub kind: Option<Kind>,
    pub bulk_id: Option<String>,
    pub result: Result<OpDone, E>,
}

impl<E> OpOutcome<E> {
    /// An outcome for `op`.
    pub fn of(op: &BulkOp, result: Result<OpDone, E>) -> Self {
        Self {
            method: op.method_text.to_ascii_uppercase(),
            kind: op.parsed.as_ref().ok().map(|(_, kind, _)| *kind),
            bulk_id: op.bulk_id.clone(),
            result,
        }
    }

    pub fn map_err<F>(self, f: impl FnOnce(E) -> F) -> OpOutcome<F> {
        OpOutcome {
            method: self.method,
            kind: self.kind,
            bulk_id: self.bulk_id,
            result: self.result.map_err(f),
        }
    }
}

/// The BulkResponse (RFC 7644 §3.7.3) for outcomes in request order.
pub fn response(outcomes: impl IntoIterator<Item = OpOutcome<ScimError>>) -> Value {
    let operations: Vec<Value> = outcomes.into_iter().map(operation_response).collect();
    json!({
        "schemas": [URN_BULK_RESPONSE],
        "Operations": operations,
    })
}

/// `{"method", "bulkId"?, "location", "version"?, "status"}` on success,
/// `{"method", "bulkId"?, "status", "response"}` on failure.
fn operation_response(o: OpOutcome<ScimError>) -> Value {
    let mut entry = Map::new();
    entry.insert("method".into(), o.method.into());
    if let Some(b) = o.bulk_id {
        entry.insert("bulkId".into(), b.into());
    }
    match o.result {
        Ok(done) => {
            entry.insert("location".into(), done.location.into());
            if let Some(v) = done.version {
                entry.insert("version".into(), etag(v).into());
            }
            entry.insert("status".into(), done.status.to_string().into());
        }
        Err(e) => {
            entry.insert("status".into(), e.status.to_string().into());
            entry.insert("response".into(), e.to_json());
        }
    }
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> Vec<BulkOp> {
        parse(json!({"schemas": [URN_BULK_REQUEST], "Operations": v}), 100)
            .unwrap()
            .ops
    }

    #[test]
    fn plan_runs_creators_first_and_keeps_request_order_otherwise() {
        let o = ops(json!([
            {"method": "PATCH", "path": "/Users/bulkId:u", "data": {}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {}},
            {"method": "DELETE", "path": "/Users/x"}
        ]));
        assert_eq!(plan(&o), (vec![2, 0, 1, 3], vec![]));
    }

    #[test]
    fn cycles_and_self_references_are_stuck() {
        let o = ops(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "c", "data": {"members": [{"value": "bulkId:c"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "d", "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Users", "data": {"manager": {"value": "bulkId:a"}}},
            {"method": "POST", "path": "/Users", "bulkId": "e", "data": {}}
        ]));
        // The malformed POST (no bulkId) runs to report its own 400.
        assert_eq!(plan(&o), (vec![4, 5], vec![0, 1, 2, 3]));
    }

    #[test]
    fn operations_are_checked_one_by_one() {
        let o = ops(json!([
            {"method": "post", "path": "/Users", "data": {}},
            {"method": "POST", "path": "/Users/1", "bulkId": "x", "data": {}},
            {"method": "PUT", "path": "/Widgets/1", "data": {}},
            {"method": "PATCH", "path": "/Users/1"},
            {"method": "DELETE", "path": "/Groups"},
            {"method": "delete", "path": "/Groups/1"},
            {"method": "POST", "path": "/Users", "bulkId": "d", "data": {}},
            {"method": "POST", "path": "/Users", "bulkId": "d", "data": {}}
        ]));
        let ok: Vec<bool> = o.iter().map(|o| o.parsed.is_ok()).collect();
        assert_eq!(ok, [false, false, false, false, false, true, true, false]);
    }

    #[test]
    fn substitution_rewrites_reference_positions_only_and_names_unknown_ones() {
        let created: HashMap<String, String> = [("u".to_string(), "id-1".to_string())].into();
        let v = json!({"members": [{"value": "bulkId:u"}], "manager": {"value": "bulkId:u"},
                       "nickName": "bulkId:u", "x": "bulkId"});
        assert_eq!(
            substitute(&v, &created).unwrap(),
            json!({"members": [{"value": "id-1"}], "manager": {"value": "id-1"},
                   "nickName": "bulkId:u", "x": "bulkId"}),
            "a data string that merely starts with bulkId: is left alone"
        );
        assert_eq!(
            substitute(&json!({"members": [{"value": "bulkId:zz"}]}), &created),
            Err("zz".to_string())
        );
        // A PATCH value is a reference only when the path names one.
        let ops = json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "bulkId:u"},
            {"op": "replace", "path": "nickName", "value": "bulkId:u"}]});
        let out = substitute(&ops, &created).unwrap();
        assert_eq!(out["Operations"][0]["value"][0]["value"], "id-1");
        assert_eq!(out["Operations"][1]["value"], "id-1");
        assert_eq!(out["Operations"][2]["value"], "bulkId:u");
        let p = json!({"Operations": [{"op": "remove", "path": "members[value eq \"bulkId:u\"]"}]});
        assert_eq!(
            substitute(&p, &created).unwrap(),
            json!({"Operations": [{"op": "remove", "path": "members[value eq \"id-1\"]"}]})
        );
        assert_eq!(resolve_id("bulkId:u", &created), Ok("id-1".into()));
    }

    #[test]
    fn envelope_limits() {
        let too_many = json!({"schemas": [URN_BULK_REQUEST], "Operations": [{}, {}, {}]});
        assert_eq!(parse(too_many, 2).unwrap_err().status, 413);
        assert_eq!(parse(json!({"Operations": []}), 2).unwrap_err().status, 400);
    }

    #[test]
    fn responses_answer_each_operation_in_the_rfc_shape() {
        let o = ops(json!([
            {"method": "post", "path": "/Users", "bulkId": "u", "data": {}},
            {"method": "DELETE", "path": "/Users/x"}
        ]));
        let done = OpDone {
            status: 201,
            id: "1".into(),
            location: "https://h/scim/v2/Users/1".into(),
            version: Some(3),
        };
        let out = response([
            OpOutcome::of(&o[0], Ok(done)),
            OpOutcome::of(&o[1], Err(ScimError::not_found("gone"))),
        ]);
        assert_eq!(
            out.to_string(),
            json!({"schemas": [URN_BULK_RESPONSE], "Operations": [
                {"method": "POST", "bulkId": "u", "location": "https://h/scim/v2/Users/1",
                 "version": etag(3), "status": "201"},
                {"method": "DELETE", "status": "404", "response": ScimError::not_found("gone").to_json()}
            ]})
            .to_string()
        );
    }
}
