//! Group `members` are a relationship kept in their own table, so
//! [`split_members`] turns operations on `members` into membership changes
//! before the remaining operations reach [`super::apply`].

use scim_filter_parser::{AttrPath, PatchPath};
use serde_json::Value;

use super::{OpKind, PatchOp};
use crate::error::{ScimError, ScimResult};
use crate::filter::value_eq_list;
use crate::path::display_path;
use crate::resource::describe;
use crate::schema::ResourceType;
use crate::text::{self, TextRule};

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
        text::check("members.value", value, TextRule::NAME)?;
        if let Some(d) = &display {
            text::check("members.display", d, TextRule::TEXT)?;
        }
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
                for id in &ids {
                    text::check("members.value", id, TextRule::NAME)?;
                }
                members.push(MemberOp::Remove(ids));
            }
            None if op.op != OpKind::Remove => {
                if let Some(m) = take_pathless_members(&mut op)? {
                    members.push(m);
                }
                if !matches!(&op.value, Some(Value::Object(obj)) if obj.is_empty()) {
                    rest.push(op);
                }
            }
            _ => rest.push(op),
        }
    }
    Ok((members, rest))
}

/// Take `members` out of a pathless `add` or `replace` value, as a
/// membership change.
fn take_pathless_members(op: &mut PatchOp) -> ScimResult<Option<MemberOp>> {
    let Some(Value::Object(obj)) = &mut op.value else {
        return Ok(None);
    };
    let Some(key) = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("members"))
        .cloned()
    else {
        return Ok(None);
    };
    let v = obj.remove(&key).unwrap_or(Value::Null);
    let refs = parse_member_refs(&v)?;
    Ok(Some(if op.op == OpKind::Add {
        MemberOp::Add(refs)
    } else {
        MemberOp::Replace(refs)
    }))
}
