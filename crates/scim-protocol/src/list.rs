//! Query parameters of list and search requests (RFC 7644 §3.4.2, §3.4.3)
//! and the ListResponse they produce.

use scim_filter_parser::{parse_filter, parse_path, PatchPath};
use serde_json::{json, Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::{resolve_filter, Cond, Field};
use super::path::{resolve, Container, Resolved};
use super::projection::{parse_selectors, Projection};
use super::schema::{Registry, ResourceType, URN_LIST, URN_SEARCH};
use super::text;

/// Server paging limits, announced in ServiceProviderConfig.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default_count: i64,
    pub max_count: i64,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self {
            default_count: 100,
            max_count: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

/// What to sort by: a scalar field, or the primary/first `value` of a
/// multi-valued attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Field(Field),
    Multi {
        attr: String,
        sub: String,
        case_exact: bool,
    },
}

/// Where a cursor-paginated request (RFC 9865) starts. Cursors are keyset
/// positions in creation order, so they stay valid while resources come and
/// go, and never expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// `cursor` given empty: the first page.
    First,
    /// Resources created after the one with this internal key.
    After(i64),
    /// The page ending just before the resource with this internal key.
    Before(i64),
}

impl Cursor {
    /// Parse a cursor value as this server issues them.
    pub fn parse(text: &str) -> ScimResult<Self> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Cursor::First);
        }
        let bad = || {
            ScimError::new(
                400,
                Some(super::ScimType::InvalidCursor),
                format!(
                    "\"{t}\" is not a cursor this server issued; start again with an empty cursor"
                ),
            )
        };
        let key = |n: &str| -> ScimResult<i64> {
            // Digits only: no sign, no spaces.
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            n.parse().map_err(|_| bad())
        };
        if let Some(n) = t.strip_prefix('n') {
            Ok(Cursor::After(key(n)?))
        } else if let Some(n) = t.strip_prefix('p') {
            Ok(Cursor::Before(key(n)?))
        } else {
            Err(bad())
        }
    }

    /// The text of a cursor to the page after the resource with key `pk`.
    pub fn next_text(pk: i64) -> String {
        format!("n{pk}")
    }

    /// The text of a cursor to the page before the resource with key `pk`.
    pub fn previous_text(pk: i64) -> String {
        format!("p{pk}")
    }
}

/// A parsed, resolved list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Cond>,
    pub sort: Option<(SortKey, SortOrder)>,
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
    pub projection: Projection,
    /// Cursor pagination (RFC 9865) instead of `startIndex`.
    pub cursor: Option<Cursor>,
}

/// Raw parameters as strings, from a query string or a SearchRequest body.
#[derive(Debug, Clone, Default)]
pub struct RawListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub cursor: Option<String>,
}

impl RawListParams {
    /// From query-string pairs; names match case-insensitively.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut p = Self::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match k.to_ascii_lowercase().as_str() {
                "filter" => p.filter = v,
                "sortby" => p.sort_by = v,
                "sortorder" => p.sort_order = v,
                "startindex" => p.start_index = v,
                "count" => p.count = v,
                "attributes" => p.attributes = v,
                "excludedattributes" => p.excluded_attributes = v,
                "cursor" => p.cursor = v,
                _ => {}
            }
        }
        p
    }

    /// The parameters given, by name.
    fn named(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("filter", &self.filter),
            ("sortBy", &self.sort_by),
            ("sortOrder", &self.sort_order),
            ("startIndex", &self.start_index),
            ("count", &self.count),
            ("attributes", &self.attributes),
            ("excludedAttributes", &self.excluded_attributes),
            ("cursor", &self.cursor),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v)))
    }

    /// From a SearchRequest body (RFC 7644 §3.4.3).
    pub fn from_search_body(body: &Value) -> ScimResult<Self> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a SearchRequest must be a JSON object"))?;
        text::check_json("the SearchRequest", body)?;
        let mut p = Self::default();
        for (k, v) in obj {
            let text = |v: &Value| -> ScimResult<Option<String>> {
                match v {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    Value::Number(n) => Ok(Some(n.to_string())),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            x.as_str().map(str::to_string).ok_or_else(|| {
                                ScimError::invalid_value(format!("'{k}' must list attribute names"))
                            })
                        })
                        .collect::<ScimResult<Vec<_>>>()
                        .map(|l| Some(l.join(","))),
                    _ => Err(ScimError::invalid_value(format!(
                        "'{k}' has the wrong type"
                    ))),
                }
            };
            match k.to_ascii_lowercase().as_str() {
                "schemas" => {
                    let ok = v
                        .as_array()
                        .is_some_and(|a| a.iter().any(|s| s.as_str() == Some(URN_SEARCH)));
                    if !ok {
                        return Err(ScimError::invalid_syntax(format!(
                            "a SearchRequest's 'schemas' must be [\"{URN_SEARCH}\"]"
                        )));
                    }
                }
                "filter" => p.filter = text(v)?,
                "sortby" => p.sort_by = text(v)?,
                "sortorder" => p.sort_order = text(v)?,
                "startindex" => p.start_index = text(v)?,
                "count" => p.count = text(v)?,
                "attributes" => p.attributes = text(v)?,
                "excludedattributes" => p.excluded_attributes = text(v)?,
                "cursor" => p.cursor = text(v)?.or(Some(String::new())),
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown SearchRequest parameter '{k}'"
                    )))
                }
            }
        }
        Ok(p)
    }
}

fn parse_int(name: &str, v: &str) -> ScimResult<i64> {
    let v = v.trim();
    if let Ok(i) = v.parse::<i64>() {
        return Ok(i);
    }
    // Very large numbers: clamp rather than fail.
    // One optional sign, then at least one digit ("-" and "--5" are not numbers).
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return Ok(if v.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        });
    }
    Err(ScimError::invalid_value(format!(
        "'{name}' must be an integer; got \"{v}\""
    )))
}

/// Resolve raw parameters into a query.
pub fn parse_list_query(
    registry: &Registry,
    rt: &ResourceType,
    raw: &RawListParams,
    limits: PageLimits,
) -> ScimResult<ListQuery> {
    for (name, v) in raw.named() {
        text::check_chars(name, v)?;
    }
    let filter = match raw.filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(f) => {
            let ast = parse_filter(f)
                .map_err(|e| ScimError::invalid_filter(format!("filter \"{f}\": {e}")))?;
            Some(resolve_filter(registry, rt, &ast)?)
        }
    };
    let order = match raw.sort_order.as_deref().map(str::trim) {
        None | Some("") => SortOrder::Ascending,
        Some(s) if s.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
        Some(s) if s.eq_ignore_ascii_case("descending") => SortOrder::Descending,
        Some(s) => {
            return Err(ScimError::invalid_value(format!(
                "'sortOrder' must be \"ascending\" or \"descending\"; got \"{s}\""
            )))
        }
    };
    let sort = match raw.sort_by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some((sort_key(registry, rt, s)?, order)),
    };
    let start_index = match &raw.start_index {
        None => 1,
        Some(s) => parse_int("startIndex", s)?.max(1),
    };
    let count = match &raw.count {
        None => limits.default_count,
        Some(s) => parse_int("count", s)?.clamp(0, limits.max_count),
    };
    let cursor = raw.cursor.as_deref().map(Cursor::parse).transpose()?;
    if cursor.is_some() {
        if raw.start_index.is_some() {
            return Err(ScimError::invalid_value(
                "use either 'cursor' or 'startIndex', not both",
            ));
        }
        if sort.is_some() {
            return Err(ScimError::invalid_value(
                "cursor pagination follows creation order: 'sortBy' is not available with 'cursor'; use startIndex to sort",
            ));
        }
    }
    let attributes = match raw.attributes.as_deref() {
        Some(s) if !s.trim().is_empty() => Some(parse_selectors(registry, rt, s)?),
        _ => None,
    };
    let excluded = match raw.excluded_attributes.as_deref() {
        Some(s) if !s.trim().is_empty() => Some(parse_selectors(registry, rt, s)?),
        _ => None,
    };
    Ok(ListQuery {
        filter,
        sort,
        start_index,
        count,
        projection: Projection {
            attributes,
            excluded,
        },
        cursor,
    })
}

fn sort_key(registry: &Registry, rt: &ResourceType, s: &str) -> ScimResult<SortKey> {
    let path = match parse_path(s) {
        Ok(PatchPath::Attr(p)) => p,
        _ => {
            return Err(ScimError::invalid_value(format!(
                "'sortBy' must be an attribute name; got \"{s}\""
            )))
        }
    };
    let bad = |why: &str| ScimError::invalid_value(format!("cannot sort by '{s}': {why}"));
    match resolve(registry, rt, &path).map_err(|e| ScimError::invalid_value(e.detail))? {
        Resolved::Extension(_) => Err(bad("it names a whole extension")),
        Resolved::Attr {
            container,
            attr,
            sub,
            ..
        } => {
            if attr.multi_valued {
                let sub = match sub {
                    Some(s) => s,
                    None => attr.sub("value").ok_or_else(|| bad("it has no value"))?,
                };
                if container != Container::Top {
                    return Err(bad("multi-valued extension attributes are not sortable"));
                }
                return Ok(SortKey::Multi {
                    attr: attr.name.clone(),
                    sub: sub.name.clone(),
                    case_exact: sub.case_exact,
                });
            }
            let leaf = sub.unwrap_or(attr);
            if leaf.is_complex() {
                return Err(bad("it is complex; sort by one of its sub-attributes"));
            }
            Ok(SortKey::Field(Field {
                extension: match container {
                    Container::Top => None,
                    Container::Extension(s) => Some(s.id.clone()),
                },
                attr: attr.name.clone(),
                sub: sub.map(|s| s.name.clone()),
                ty: leaf.ty,
                case_exact: leaf.case_exact,
                in_element: false,
            }))
        }
    }
}

/// A ListResponse body of a cursor-paginated request (RFC 9865).
pub fn cursor_list_response(
    total: i64,
    resources: Vec<Value>,
    next: Option<String>,
    previous: Option<String>,
) -> Value {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([URN_LIST]));
    m.insert("totalResults".into(), json!(total));
    m.insert("itemsPerPage".into(), json!(resources.len()));
    if let Some(n) = next {
        m.insert("nextCursor".into(), json!(n));
    }
    if let Some(p) = previous {
        m.insert("previousCursor".into(), json!(p));
    }
    m.insert("Resources".into(), Value::Array(resources));
    Value::Object(m)
}

/// A ListResponse body (RFC 7644 §3.4.2).
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([URN_LIST]));
    m.insert("totalResults".into(), json!(total));
    m.insert("startIndex".into(), json!(start_index));
    m.insert("itemsPerPage".into(), json!(resources.len()));
    m.insert("Resources".into(), Value::Array(resources));
    Value::Object(m)
}

#[cfg(test)]
mod cursor_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        assert_eq!(Cursor::parse("").unwrap(), Cursor::First);
        assert_eq!(
            Cursor::parse(&Cursor::next_text(42)).unwrap(),
            Cursor::After(42)
        );
        assert_eq!(
            Cursor::parse(&Cursor::previous_text(7)).unwrap(),
            Cursor::Before(7)
        );
        for bad in ["x", "n", "n-1", "p1.5", "q3", "n99999999999999999999", "ñ1"] {
            let e = Cursor::parse(bad).unwrap_err();
            assert_eq!(
                e.scim_type,
                Some(super::super::ScimType::InvalidCursor),
                "{bad}"
            );
        }
        // Issued cursors use only RFC 3986 unreserved characters.
        assert!(Cursor::next_text(i64::MAX)
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
    }
}
