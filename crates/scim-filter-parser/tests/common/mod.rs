//! AST builders shared by the integration tests.
#![allow(dead_code)]

use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

pub fn attr(name: &str) -> AttrPath {
    AttrPath {
        uri: None,
        name: name.into(),
        sub_attr: None,
    }
}

pub fn sub(name: &str, sub: &str) -> AttrPath {
    AttrPath {
        uri: None,
        name: name.into(),
        sub_attr: Some(sub.into()),
    }
}

pub fn urn(uri: &str, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        uri: Some(uri.into()),
        name: name.into(),
        sub_attr: sub.map(Into::into),
    }
}

pub fn s(value: &str) -> CompValue {
    CompValue::String(value.into())
}

pub fn num(lexeme: &str) -> CompValue {
    CompValue::Number(lexeme.into())
}

pub fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path, op, value }
}

pub fn pr(path: AttrPath) -> Filter {
    Filter::Present(path)
}

pub fn and(l: Filter, r: Filter) -> Filter {
    Filter::And(Box::new(l), Box::new(r))
}

pub fn or(l: Filter, r: Filter) -> Filter {
    Filter::Or(Box::new(l), Box::new(r))
}

pub fn not(f: Filter) -> Filter {
    Filter::Not(Box::new(f))
}

pub fn vp(path: AttrPath, filter: Filter) -> Filter {
    Filter::ValuePath {
        path,
        filter: Box::new(filter),
    }
}

pub fn path_vp(attr: AttrPath, filter: Filter, sub_attr: Option<&str>) -> PatchPath {
    PatchPath::ValuePath {
        attr,
        filter,
        sub_attr: sub_attr.map(Into::into),
    }
}
