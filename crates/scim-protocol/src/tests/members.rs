//! `patch::split_members` and `patch::parse_member_refs`: group membership
//! operations in every shape clients send them.

use serde_json::{json, Value};

use super::{assert_err, patch_body};
use crate::patch::{
    parse_member_refs, parse_request, split_members, MemberOp, MemberRef, OpKind, PatchOp,
};
use crate::schema::{Registry, URN_GROUP};
use crate::{ScimResult, ScimType};

const U1: &str = "2819c223-7f76-453a-919d-413861904646";
const U2: &str = "902c246b-6245-4190-8e05-00816be7344a";

fn split(ops: Value) -> ScimResult<(Vec<MemberOp>, Vec<PatchOp>)> {
    let r = Registry::new();
    split_members(&r.group, parse_request(&patch_body(ops))?)
}

fn mref(id: &str) -> MemberRef {
    MemberRef {
        value: id.into(),
        kind: None,
        display: None,
    }
}

#[test]
fn rfc_add_members() {
    // RFC 7644 §3.5.2.1, first example.
    let (members, rest) = split(json!([{
        "op": "add",
        "path": "members",
        "value": [{
            "display": "Babs Jensen",
            "$ref": format!("https://example.com/v2/Users/{U1}"),
            "value": U1
        }]
    }]))
    .unwrap();
    assert!(rest.is_empty());
    assert_eq!(
        members,
        [MemberOp::Add(vec![MemberRef {
            value: U1.into(),
            kind: None,
            display: Some("Babs Jensen".into())
        }])]
    );
}

#[test]
fn add_list_with_types_and_duplicates() {
    let (members, _) = split(json!([{
        "op": "Add",
        "path": "members",
        "value": [{"value": U1, "type": "user"}, {"VALUE": U2, "Type": "GROUP"}, {"value": U1}]
    }]))
    .unwrap();
    assert_eq!(
        members,
        [MemberOp::Add(vec![
            MemberRef {
                value: U1.into(),
                kind: Some("User".into()),
                display: None
            },
            MemberRef {
                value: U2.into(),
                kind: Some("Group".into()),
                display: None
            },
        ])]
    );
}

#[test]
fn add_single_object_is_wrapped() {
    let (members, _) =
        split(json!([{"op": "add", "path": "members", "value": {"value": U1}}])).unwrap();
    assert_eq!(members, [MemberOp::Add(vec![mref(U1)])]);
}

#[test]
fn rfc_remove_single_member_by_filter() {
    let (members, rest) =
        split(json!([{"op": "remove", "path": format!("members[value eq \"{U1}\"]")}])).unwrap();
    assert!(rest.is_empty());
    assert_eq!(members, [MemberOp::Remove(vec![U1.into()])]);
}

#[test]
fn remove_members_joined_by_or() {
    let (members, _) = split(json!([{
        "op": "remove",
        "path": format!("members[value eq \"{U1}\" or VALUE eq \"{U2}\"]")
    }]))
    .unwrap();
    assert_eq!(members, [MemberOp::Remove(vec![U1.into(), U2.into()])]);
}

#[test]
fn remove_with_value_list() {
    // Entra ID's shape.
    let (members, _) = split(json!([{
        "op": "Remove",
        "path": "members",
        "value": [{"value": U1}, {"value": U2}]
    }]))
    .unwrap();
    assert_eq!(members, [MemberOp::Remove(vec![U1.into(), U2.into()])]);
}

#[test]
fn rfc_remove_all_members() {
    let (members, rest) = split(json!([{"op": "remove", "path": "members"}])).unwrap();
    assert!(rest.is_empty());
    assert_eq!(members, [MemberOp::RemoveAll]);
    let (members, _) = split(json!([{"op": "remove", "path": "members", "value": null}])).unwrap();
    assert_eq!(members, [MemberOp::RemoveAll]);
}

#[test]
fn rfc_remove_all_then_add() {
    let (members, _) = split(json!([
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": U2}]}
    ]))
    .unwrap();
    assert_eq!(
        members,
        [
            MemberOp::RemoveAll,
            MemberOp::Add(vec![MemberRef {
                value: U2.into(),
                kind: None,
                display: Some("James Smith".into())
            }])
        ]
    );
}

#[test]
fn rfc_replace_members() {
    let (members, _) = split(json!([{
        "op": "replace",
        "path": "members",
        "value": [{"display": "Babs Jensen", "value": U1}, {"display": "James Smith", "value": U2}]
    }]))
    .unwrap();
    let MemberOp::Replace(refs) = &members[0] else {
        panic!("{members:?}")
    };
    assert_eq!(
        refs.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(),
        [U1, U2]
    );
}

#[test]
fn replace_with_empty_list_or_null_empties_the_group() {
    for value in [json!([]), json!(null)] {
        let (members, _) =
            split(json!([{"op": "replace", "path": "members", "value": value}])).unwrap();
        assert_eq!(members, [MemberOp::Replace(vec![])]);
    }
}

#[test]
fn pathless_replace_okta_shape() {
    // Okta: id + displayName + members in one pathless replace.
    let (members, rest) = split(json!([{
        "op": "replace",
        "value": {"id": "abf4dd94", "displayName": "Test SCIMv2", "members": [{"value": U1, "display": "x"}]}
    }]))
    .unwrap();
    assert_eq!(
        members,
        [MemberOp::Replace(vec![MemberRef {
            value: U1.into(),
            kind: None,
            display: Some("x".into())
        }])]
    );
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].op, OpKind::Replace);
    assert_eq!(
        rest[0].value,
        Some(json!({"id": "abf4dd94", "displayName": "Test SCIMv2"}))
    );
    // The rest applies cleanly to a group (the id is ignored).
    let r = Registry::new();
    let mut g = crate::resource::normalize(&r.group, &json!({"displayName": "Old"})).unwrap();
    crate::patch::apply(&r, &r.group, &mut g, &rest).unwrap();
    assert_eq!(g["displayName"], json!("Test SCIMv2"));
    assert!(g.get("id").is_none());
    assert!(g.get("members").is_none());
}

#[test]
fn pathless_add_with_only_members_leaves_no_other_op() {
    let (members, rest) =
        split(json!([{"op": "add", "value": {"Members": [{"value": U1}]}}])).unwrap();
    assert_eq!(members, [MemberOp::Add(vec![mref(U1)])]);
    assert!(rest.is_empty());
}

#[test]
fn members_by_full_urn_path() {
    let (members, _) = split(
        json!([{"op": "add", "path": format!("{URN_GROUP}:members"), "value": [{"value": U1}]}]),
    )
    .unwrap();
    assert_eq!(members, [MemberOp::Add(vec![mref(U1)])]);
}

#[test]
fn other_ops_pass_through_in_order() {
    let (members, rest) = split(json!([
        {"op": "replace", "path": "displayName", "value": "A"},
        {"op": "add", "path": "members", "value": [{"value": U1}]},
        {"op": "add", "path": "externalId", "value": "e"}
    ]))
    .unwrap();
    assert_eq!(members.len(), 1);
    let paths: Vec<_> = rest.iter().map(|o| o.raw_path.clone().unwrap()).collect();
    assert_eq!(paths, ["displayName", "externalId"]);
}

#[test]
fn member_filters_other_than_value_eq_are_invalid_filter() {
    for path in [
        "members[display eq \"x\"]",
        format!("members[value eq \"{U1}\" and type eq \"User\"]").leak(),
        "members[value co \"x\"]",
        "members[value pr]",
    ] {
        assert_err(
            split(json!([{"op": "remove", "path": path}])),
            ScimType::InvalidFilter,
        );
    }
}

#[test]
fn members_cannot_be_edited_through_a_value_path() {
    for (op, path) in [
        ("add", format!("members[value eq \"{U1}\"]")),
        ("replace", format!("members[value eq \"{U1}\"]")),
        ("remove", format!("members[value eq \"{U1}\"].display")),
    ] {
        assert_err(
            split(json!([{"op": op, "path": path, "value": {"value": U2}}])),
            ScimType::Mutability,
        );
    }
}

#[test]
fn members_sub_attribute_path_is_invalid_path() {
    assert_err(
        split(json!([{"op": "remove", "path": "members.value"}])),
        ScimType::InvalidPath,
    );
}

#[test]
fn parse_member_refs_errors() {
    for bad in [
        json!(["u1"]),
        json!([{"display": "no value"}]),
        json!([{"value": 5}]),
        json!([{"value": "u1", "type": "Robot"}]),
        json!([{"value": "u1", "display": 3}]),
        json!([{"value": "u1", "color": "red"}]),
        json!("u1"),
    ] {
        assert_err(parse_member_refs(&bad), ScimType::InvalidValue);
    }
    assert_eq!(parse_member_refs(&json!(null)).unwrap(), vec![]);
    assert_eq!(
        parse_member_refs(
            &json!([{"value": U1, "$ref": "ignored", "type": null, "display": null}])
        )
        .unwrap(),
        vec![mref(U1)]
    );
}

#[test]
fn member_ref_errors_propagate_from_split() {
    assert_err(
        split(json!([{"op": "add", "path": "members", "value": [{"id": U1}]}])),
        ScimType::InvalidValue,
    );
    assert_err(
        split(json!([{"op": "replace", "value": {"members": "everyone"}}])),
        ScimType::InvalidValue,
    );
}
