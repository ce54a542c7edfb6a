//! The full representation of a stored resource: canonical attributes plus
//! `id`, `meta` and computed attributes, in a stable key order.

use serde_json::{Map, Value};

use super::datetime;
use super::etag::etag;
use super::schema::ResourceType;

/// Server-maintained metadata of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub created: time::OffsetDateTime,
    pub last_modified: time::OffsetDateTime,
    pub version: i64,
}

/// Build the representation: `schemas`, `id`, `externalId`, core attributes,
/// `computed` (e.g. `groups`, `members`), extensions, then `meta`.
pub fn representation(
    rt: &ResourceType,
    base_url: &str,
    id: &str,
    stored: &Map<String, Value>,
    computed: Vec<(String, Value)>,
    meta: &Meta,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "schemas".into(),
        stored
            .get("schemas")
            .cloned()
            .unwrap_or_else(|| Value::Array(vec![Value::String(rt.schema.id.clone())])),
    );
    out.insert("id".into(), Value::String(id.to_string()));
    if let Some(e) = stored.get("externalId") {
        out.insert("externalId".into(), e.clone());
    }
    for attr in &rt.schema.attributes {
        if let Some(v) = stored.get(&attr.name) {
            out.insert(attr.name.clone(), v.clone());
        }
    }
    for (k, v) in computed {
        if !super::resource::is_unassigned(&v) {
            out.insert(k, v);
        }
    }
    for (ext, _) in &rt.extensions {
        if let Some(v) = stored.get(&ext.id) {
            out.insert(ext.id.clone(), v.clone());
        }
    }
    let mut m = Map::new();
    m.insert("resourceType".into(), Value::String(rt.name.clone()));
    m.insert(
        "created".into(),
        Value::String(datetime::format(meta.created)),
    );
    m.insert(
        "lastModified".into(),
        Value::String(datetime::format(meta.last_modified)),
    );
    m.insert(
        "location".into(),
        Value::String(format!("{base_url}{}/{id}", rt.endpoint)),
    );
    m.insert("version".into(), Value::String(etag(meta.version)));
    out.insert("meta".into(), Value::Object(m));
    out
}
