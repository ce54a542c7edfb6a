//! `list::RawListParams`, `parse_list_query`, sort keys and ListResponse.

use serde_json::json;

use super::assert_err;
use crate::filter::{Cond, Field, Operand};
use crate::list::{
    list_response, parse_list_query, ListQuery, PageLimits, RawListParams, SortKey, SortOrder,
};
use crate::schema::{AttrType, Registry, URN_ENTERPRISE, URN_LIST, URN_SEARCH};
use crate::{ScimResult, ScimType};

fn query(pairs: &[(&str, &str)]) -> ScimResult<ListQuery> {
    let r = Registry::new();
    let raw = RawListParams::from_pairs(pairs.iter().copied());
    parse_list_query(&r, &r.user, &raw, PageLimits::default())
}

fn sort_of(s: &str) -> ScimResult<SortKey> {
    query(&[("sortBy", s)]).map(|q| q.sort.unwrap().0)
}

#[test]
fn from_pairs_names_are_case_insensitive() {
    let p = RawListParams::from_pairs([
        ("FILTER", "userName eq \"a\""),
        ("SortBy", "userName"),
        ("sortorder", "descending"),
        ("STARTINDEX", "3"),
        ("Count", "7"),
        ("attributes", "userName"),
        ("ExcludedAttributes", "emails"),
        ("unknownParam", "ignored"),
    ]);
    assert_eq!(p.filter.as_deref(), Some("userName eq \"a\""));
    assert_eq!(p.sort_by.as_deref(), Some("userName"));
    assert_eq!(p.sort_order.as_deref(), Some("descending"));
    assert_eq!(p.start_index.as_deref(), Some("3"));
    assert_eq!(p.count.as_deref(), Some("7"));
    assert_eq!(p.attributes.as_deref(), Some("userName"));
    assert_eq!(p.excluded_attributes.as_deref(), Some("emails"));
}

#[test]
fn from_pairs_last_value_wins() {
    let p = RawListParams::from_pairs([("count", "1"), ("COUNT", "2")]);
    assert_eq!(p.count.as_deref(), Some("2"));
}

#[test]
fn defaults() {
    let q = query(&[]).unwrap();
    assert_eq!(q.start_index, 1);
    assert_eq!(q.count, 100);
    assert!(q.filter.is_none());
    assert!(q.sort.is_none());
    assert!(q.projection.attributes.is_none());
    assert!(q.projection.excluded.is_none());
    // Empty and blank values count as absent.
    let q = query(&[
        ("filter", "  "),
        ("sortBy", ""),
        ("sortOrder", ""),
        ("attributes", " "),
    ])
    .unwrap();
    assert!(q.filter.is_none() && q.sort.is_none() && q.projection.attributes.is_none());
}

#[test]
fn start_index_below_one_is_one() {
    for (s, want) in [
        ("0", 1),
        ("-5", 1),
        ("1", 1),
        ("42", 42),
        (" 7 ", 7),
        ("-99999999999999999999999", 1),
    ] {
        assert_eq!(
            query(&[("startIndex", s)]).unwrap().start_index,
            want,
            "{s}"
        );
    }
}

#[test]
fn count_is_clamped() {
    for (s, want) in [
        ("-1", 0),
        ("0", 0),
        ("10", 10),
        ("1000", 1000),
        ("1001", 1000),
        ("5000", 1000),
        ("99999999999999999999999", 1000),
    ] {
        assert_eq!(query(&[("count", s)]).unwrap().count, want, "{s}");
    }
    let r = Registry::new();
    let raw = RawListParams::from_pairs([("count", "60")]);
    let q = parse_list_query(
        &r,
        &r.user,
        &raw,
        PageLimits {
            default_count: 5,
            max_count: 50,
        },
    )
    .unwrap();
    assert_eq!(q.count, 50);
    let q = parse_list_query(
        &r,
        &r.user,
        &RawListParams::default(),
        PageLimits {
            default_count: 5,
            max_count: 50,
        },
    )
    .unwrap();
    assert_eq!(q.count, 5);
}

#[test]
fn non_integer_paging_values_are_invalid_value() {
    for bad in ["abc", "1.5", "", "1e3", "-", "--5", "- 5", "5-", "0x10"] {
        assert_err(query(&[("count", bad)]), ScimType::InvalidValue);
        assert_err(query(&[("startIndex", bad)]), ScimType::InvalidValue);
    }
}

#[test]
fn sort_order() {
    assert_eq!(
        query(&[("sortBy", "userName")]).unwrap().sort.unwrap().1,
        SortOrder::Ascending
    );
    assert_eq!(
        query(&[("sortBy", "userName"), ("sortOrder", "DESCENDING")])
            .unwrap()
            .sort
            .unwrap()
            .1,
        SortOrder::Descending
    );
    assert_eq!(
        query(&[("sortBy", "userName"), ("sortOrder", "Ascending")])
            .unwrap()
            .sort
            .unwrap()
            .1,
        SortOrder::Ascending
    );
    for bad in ["sideways", "asc", "desc", "up"] {
        assert_err(
            query(&[("sortBy", "userName"), ("sortOrder", bad)]),
            ScimType::InvalidValue,
        );
    }
    // A bad sortOrder is an error even without sortBy.
    assert_err(query(&[("sortOrder", "sideways")]), ScimType::InvalidValue);
}

#[test]
fn sort_by_resolution() {
    assert_eq!(
        sort_of("USERNAME").unwrap(),
        SortKey::Field(Field {
            extension: None,
            attr: "userName".into(),
            sub: None,
            ty: AttrType::String,
            case_exact: false,
            in_element: false
        })
    );
    assert_eq!(
        sort_of("meta.lastModified").unwrap(),
        SortKey::Field(Field {
            extension: None,
            attr: "meta".into(),
            sub: Some("lastModified".into()),
            ty: AttrType::DateTime,
            case_exact: false,
            in_element: false
        })
    );
    assert_eq!(
        sort_of("externalId").unwrap(),
        SortKey::Field(Field {
            extension: None,
            attr: "externalId".into(),
            sub: None,
            ty: AttrType::String,
            case_exact: true,
            in_element: false
        })
    );
    assert_eq!(
        sort_of(&format!("{URN_ENTERPRISE}:employeeNumber")).unwrap(),
        SortKey::Field(Field {
            extension: Some(URN_ENTERPRISE.into()),
            attr: "employeeNumber".into(),
            sub: None,
            ty: AttrType::String,
            case_exact: false,
            in_element: false
        })
    );
    assert_eq!(
        sort_of("emails").unwrap(),
        SortKey::Multi {
            attr: "emails".into(),
            sub: "value".into(),
            case_exact: false
        }
    );
    assert_eq!(
        sort_of("Emails.Type").unwrap(),
        SortKey::Multi {
            attr: "emails".into(),
            sub: "type".into(),
            case_exact: false
        }
    );
}

#[test]
fn sort_by_errors_are_invalid_value() {
    for bad in [
        "name".to_string(),
        "favoriteColor".to_string(),
        "emails[type eq \"work\"]".to_string(),
        "addresses".to_string(),
        URN_ENTERPRISE.to_string(),
        format!("{URN_ENTERPRISE}:manager"),
        "userName eq".to_string(),
    ] {
        assert_err(sort_of(&bad), ScimType::InvalidValue);
    }
}

#[test]
fn filter_is_parsed_and_resolved() {
    let q = query(&[("filter", " userName eq \"BJensen\" ")]).unwrap();
    assert!(
        matches!(q.filter, Some(Cond::Cmp { value: Operand::Str(ref s), .. }) if s == "bjensen")
    );
    assert_err(query(&[("filter", "userName eq")]), ScimType::InvalidFilter);
    assert_err(
        query(&[("filter", "nope eq \"x\"")]),
        ScimType::InvalidFilter,
    );
    assert_err(
        query(&[("filter", "userName xx \"x\"")]),
        ScimType::InvalidFilter,
    );
}

#[test]
fn projection_lists_are_resolved() {
    let q = query(&[("attributes", "userName,emails.value")]).unwrap();
    assert_eq!(q.projection.attributes.unwrap().len(), 2);
    assert_err(query(&[("attributes", "nope")]), ScimType::InvalidValue);
    assert_err(
        query(&[("excludedAttributes", "emails[type eq \"x\"]")]),
        ScimType::InvalidValue,
    );
}

// ------------------------------------------------------------ SearchRequest

#[test]
fn search_body_parsing() {
    let p = RawListParams::from_search_body(&json!({
        "schemas": [URN_SEARCH],
        "attributes": ["displayName", "userName"],
        "excludedAttributes": "emails, phoneNumbers",
        "filter": "displayName sw \"smith\"",
        "startIndex": 1,
        "count": 10,
        "sortBy": "userName",
        "sortOrder": "descending"
    }))
    .unwrap();
    assert_eq!(p.attributes.as_deref(), Some("displayName,userName"));
    assert_eq!(
        p.excluded_attributes.as_deref(),
        Some("emails, phoneNumbers")
    );
    assert_eq!(p.filter.as_deref(), Some("displayName sw \"smith\""));
    assert_eq!(p.start_index.as_deref(), Some("1"));
    assert_eq!(p.count.as_deref(), Some("10"));
    assert_eq!(p.sort_by.as_deref(), Some("userName"));
    assert_eq!(p.sort_order.as_deref(), Some("descending"));
    let r = Registry::new();
    let q = parse_list_query(&r, &r.user, &p, PageLimits::default()).unwrap();
    assert_eq!(q.count, 10);
    assert_eq!(q.projection.attributes.unwrap().len(), 2);
}

#[test]
fn search_body_keys_are_case_insensitive_and_nulls_absent() {
    let p = RawListParams::from_search_body(&json!({
        "FILTER": "userName pr",
        "Count": "5",
        "STARTINDEX": null,
        "attributes": []
    }))
    .unwrap();
    assert_eq!(p.filter.as_deref(), Some("userName pr"));
    assert_eq!(p.count.as_deref(), Some("5"));
    assert_eq!(p.start_index, None);
    assert_eq!(p.attributes.as_deref(), Some(""));
}

#[test]
fn search_body_errors() {
    assert_err(
        RawListParams::from_search_body(&json!([])),
        ScimType::InvalidSyntax,
    );
    assert_err(
        RawListParams::from_search_body(&json!({"filterz": "x"})),
        ScimType::InvalidSyntax,
    );
    assert_err(
        RawListParams::from_search_body(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
        ),
        ScimType::InvalidSyntax,
    );
    assert_err(
        RawListParams::from_search_body(&json!({"schemas": URN_SEARCH})),
        ScimType::InvalidSyntax,
    );
    assert_err(
        RawListParams::from_search_body(&json!({"attributes": [1]})),
        ScimType::InvalidValue,
    );
    assert_err(
        RawListParams::from_search_body(&json!({"count": true})),
        ScimType::InvalidValue,
    );
    assert_err(
        RawListParams::from_search_body(&json!({"filter": {"op": "eq"}})),
        ScimType::InvalidValue,
    );
}

#[test]
fn list_response_shape() {
    let body = list_response(12, 3, vec![json!({"id": "a"}), json!({"id": "b"})]);
    assert_eq!(
        body,
        json!({
            "schemas": [URN_LIST],
            "totalResults": 12,
            "startIndex": 3,
            "itemsPerPage": 2,
            "Resources": [{"id": "a"}, {"id": "b"}]
        })
    );
    let empty = list_response(0, 1, vec![]);
    assert_eq!(empty["itemsPerPage"], json!(0));
    assert_eq!(empty["Resources"], json!([]));
}
