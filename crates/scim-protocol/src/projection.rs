//! `attributes` / `excludedAttributes` and the `returned` characteristic
//! (RFC 7643 §2.4, RFC 7644 §3.4.2.5, §3.9).

use scim_filter_parser::{parse_path, PatchPath};
use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::path::{resolve, Container, Resolved};
use super::schema::{Attribute, Registry, ResourceType, Returned};

/// One entry of an `attributes` or `excludedAttributes` list, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A whole extension (`urn:…:enterprise:2.0:User`).
    Extension(String),
    /// `extension` is the URN of the container (`None` = top level).
    Attr {
        extension: Option<String>,
        attr: String,
        sub: Option<String>,
    },
}

/// Parse and resolve a comma-separated attribute list. Unknown attributes are
/// an `invalidValue` error (a misspelt name would otherwise silently return
/// everything or nothing).
pub fn parse_selectors(
    registry: &Registry,
    rt: &ResourceType,
    list: &str,
) -> ScimResult<Vec<Selector>> {
    let mut out = Vec::new();
    for raw in list.split(',') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let path = match parse_path(raw) {
            Ok(PatchPath::Attr(p)) => p,
            Ok(PatchPath::ValuePath { .. }) => {
                return Err(ScimError::invalid_value(format!(
                    "'{raw}': attribute lists take attribute names, not value filters"
                )))
            }
            Err(e) => {
                return Err(ScimError::invalid_value(format!(
                    "'{raw}' is not an attribute path: {e}"
                )))
            }
        };
        if path.uri.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("schemas")
        {
            continue;
        }
        let sel =
            match resolve(registry, rt, &path).map_err(|e| ScimError::invalid_value(e.detail))? {
                Resolved::Extension(s) => Selector::Extension(s.id.clone()),
                Resolved::Attr {
                    container,
                    attr,
                    sub,
                    ..
                } => Selector::Attr {
                    extension: match container {
                        Container::Top => None,
                        Container::Extension(s) => Some(s.id.clone()),
                    },
                    attr: attr.name.clone(),
                    sub: sub.map(|s| s.name.clone()),
                },
            };
        out.push(sel);
    }
    Ok(out)
}

/// Which of a resource's attributes to return.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Option<Vec<Selector>>,
    pub excluded: Option<Vec<Selector>>,
}

impl Projection {
    /// True when the `members`-like attribute `attr` (top level) is certain
    /// to be left out, so the store need not load it.
    pub fn omits(&self, rt: &ResourceType, attr: &str) -> bool {
        let Some(def) = rt.schema.attribute(attr) else {
            return true;
        };
        if def.returned == Returned::Never {
            return true;
        }
        if def.returned == Returned::Always {
            return false;
        }
        if let Some(list) = &self.attributes {
            return !list.iter().any(|s| match s {
                Selector::Attr {
                    extension: None,
                    attr: a,
                    ..
                } => a == &def.name,
                _ => false,
            });
        }
        if def.returned == Returned::Request {
            return true;
        }
        if let Some(list) = &self.excluded {
            return list.iter().any(|s| {
                matches!(s, Selector::Attr { extension: None, attr: a, sub: None } if a == &def.name)
            });
        }
        false
    }

    /// Apply to a full resource representation.
    pub fn apply(
        &self,
        registry: &Registry,
        rt: &ResourceType,
        resource: &Map<String, Value>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in resource {
            if key == "schemas" {
                out.insert(key.clone(), value.clone());
                continue;
            }
            if let Some(ext) = rt.extension(key) {
                let Some(obj) = value.as_object() else {
                    continue;
                };
                let mut ext_out = Map::new();
                for (k, v) in obj {
                    if let Some(def) = ext.attribute(k) {
                        if let Some(v) = self.attr_value(Some(&ext.id), def, v) {
                            ext_out.insert(k.clone(), v);
                        }
                    }
                }
                if !ext_out.is_empty() {
                    out.insert(key.clone(), Value::Object(ext_out));
                }
                continue;
            }
            let def = registry
                .common_attribute(key)
                .or_else(|| rt.schema.attribute(key));
            if let Some(def) = def {
                if let Some(v) = self.attr_value(None, def, value) {
                    out.insert(key.clone(), v);
                }
            }
        }
        // `schemas` names the core schema and only the extensions still present.
        if let Some(Value::Array(schemas)) = out.get("schemas").cloned() {
            let kept: Vec<Value> = schemas
                .into_iter()
                .filter(|s| match s.as_str() {
                    Some(urn) if rt.extension(urn).is_some() => out.contains_key(urn),
                    _ => true,
                })
                .collect();
            out.insert("schemas".into(), Value::Array(kept));
        }
        out
    }

    fn attr_value(&self, ext: Option<&str>, def: &Attribute, value: &Value) -> Option<Value> {
        let v = strip_never(def, value)?;
        match def.returned {
            Returned::Never => return None,
            Returned::Always => return Some(v),
            _ => {}
        }
        let same = |e: &Option<String>, a: &str| e.as_deref() == ext && a == def.name;
        if let Some(list) = &self.attributes {
            let mut subs: Vec<&str> = Vec::new();
            let mut whole = false;
            for s in list {
                match s {
                    Selector::Extension(u) if Some(u.as_str()) == ext => whole = true,
                    Selector::Attr {
                        extension,
                        attr,
                        sub,
                    } if same(extension, attr) => match sub {
                        None => whole = true,
                        Some(sub) => subs.push(sub),
                    },
                    _ => {}
                }
            }
            if whole {
                return Some(v);
            }
            if subs.is_empty() {
                return None;
            }
            return keep_subs(def, &v, |name| {
                subs.contains(&name)
                    || def
                        .sub(name)
                        .is_some_and(|d| d.returned == Returned::Always)
            });
        }
        if def.returned == Returned::Request {
            return None;
        }
        if let Some(list) = &self.excluded {
            let mut drop_subs: Vec<&str> = Vec::new();
            for s in list {
                match s {
                    Selector::Extension(u) if Some(u.as_str()) == ext => return None,
                    Selector::Attr {
                        extension,
                        attr,
                        sub,
                    } if same(extension, attr) => match sub {
                        None => return None,
                        Some(sub) => drop_subs.push(sub),
                    },
                    _ => {}
                }
            }
            if !drop_subs.is_empty() {
                return keep_subs(def, &v, |name| {
                    !drop_subs.contains(&name)
                        || def
                            .sub(name)
                            .is_some_and(|d| d.returned == Returned::Always)
                });
            }
        }
        // Sub-attributes returned only on request are left out by default.
        if def
            .sub_attributes
            .iter()
            .any(|s| s.returned == Returned::Request)
        {
            return keep_subs(def, &v, |name| {
                def.sub(name)
                    .is_some_and(|d| d.returned != Returned::Request)
            });
        }
        Some(v)
    }
}

/// Remove sub-attributes that are never returned.
fn strip_never(def: &Attribute, value: &Value) -> Option<Value> {
    if !def
        .sub_attributes
        .iter()
        .any(|s| s.returned == Returned::Never)
    {
        return Some(value.clone());
    }
    keep_subs(def, value, |name| {
        def.sub(name).is_some_and(|d| d.returned != Returned::Never)
    })
}

/// Keep only the sub-attributes for which `keep` holds, in a complex value or
/// in each element of a multi-valued complex value.
fn keep_subs(def: &Attribute, value: &Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    if !def.is_complex() {
        return Some(value.clone());
    }
    let filter_obj = |o: &Map<String, Value>| -> Option<Value> {
        let m: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if m.is_empty() {
            None
        } else {
            Some(Value::Object(m))
        }
    };
    match value {
        Value::Object(o) => filter_obj(o),
        Value::Array(items) => {
            let v: Vec<Value> = items
                .iter()
                .filter_map(|i| i.as_object().and_then(filter_obj))
                .collect();
            if v.is_empty() {
                None
            } else {
                Some(Value::Array(v))
            }
        }
        other => Some(other.clone()),
    }
}
