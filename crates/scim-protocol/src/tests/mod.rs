//! Unit and property tests of the pure protocol layer. Everything here is a
//! plain function over JSON values: no I/O, no store, no HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod filter;
mod list;
mod members;
mod misc;
mod normalize;
mod patch;
mod projection;
mod props;
mod text;

use serde_json::{json, Map, Value};

use super::error::{ScimError, ScimResult, ScimType};
use super::patch::{apply, parse_request};
use super::resource::normalize;
use super::schema::{Registry, URN_ENTERPRISE, URN_PATCH, URN_USER};

pub const MANAGER_ID: &str = "26118915-6090-4610-87e4-49d8ca9f808d";

/// A valid User body as a client would POST it.
pub fn user_body() -> Value {
    json!({
        "schemas": [URN_USER, URN_ENTERPRISE],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}
        ],
        URN_ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": MANAGER_ID}}
    })
}

/// A minimal valid User body.
pub fn min_user_body() -> Value {
    json!({"schemas": [URN_USER], "userName": "bjensen"})
}

/// `normalize` against the User resource type, expecting success.
pub fn canon_user(body: &Value) -> Map<String, Value> {
    let r = Registry::new();
    normalize(&r.user, body).unwrap_or_else(|e| panic!("normalize failed: {e}\nbody: {body}"))
}

/// The canonical form of [`user_body`].
pub fn user() -> Map<String, Value> {
    canon_user(&user_body())
}

/// A PatchOp body around `ops`.
pub fn patch_body(ops: Value) -> Value {
    json!({"schemas": [URN_PATCH], "Operations": ops})
}

/// Parse `ops` as a PatchOp request and apply it to a copy of `res` (a User).
pub fn patch_user(res: &Map<String, Value>, ops: Value) -> ScimResult<Map<String, Value>> {
    let r = Registry::new();
    let ops = parse_request(&patch_body(ops))?;
    let mut out = res.clone();
    apply(&r, &r.user, &mut out, &ops)?;
    Ok(out)
}

/// Like [`patch_user`], for a Group (no member split: only non-member ops).
pub fn patch_group(res: &Map<String, Value>, ops: Value) -> ScimResult<Map<String, Value>> {
    let r = Registry::new();
    let ops = parse_request(&patch_body(ops))?;
    let mut out = res.clone();
    apply(&r, &r.group, &mut out, &ops)?;
    Ok(out)
}

/// Assert `r` is a 400 error with `scimType` `t`; returns the error.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: ScimResult<T>, t: ScimType) -> ScimError {
    match r {
        Ok(v) => panic!("expected a {} error, got Ok({v:?})", t.as_str()),
        Err(e) => {
            assert_eq!(e.scim_type, Some(t), "wrong scimType; error: {e}");
            assert_eq!(e.status, 400, "wrong status; error: {e}");
            e
        }
    }
}

/// The JSON object as a `Value`, for terse comparisons.
pub fn v(m: &Map<String, Value>) -> Value {
    Value::Object(m.clone())
}
