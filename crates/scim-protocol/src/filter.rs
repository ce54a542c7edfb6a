//! Filters, resolved: the parser's AST checked against the schemas and turned
//! into a typed condition tree the store compiles to SQL and the PATCH engine
//! evaluates against one resource's values.

use scim_filter_parser::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::Value;

use super::datetime;
use super::error::{ScimError, ScimResult};
use super::path::{display_path, resolve, Container, Resolved};
use super::schema::{AttrType, Attribute, Registry, ResourceType};
use super::text::{self, TextRule};

/// A resolved location of a single (scalar) value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Extension URN the attribute lives under, `None` for top level.
    pub extension: Option<String>,
    /// Canonical attribute name (for element fields: the sub-attribute).
    pub attr: String,
    /// Canonical sub-attribute name of a single-valued complex attribute.
    pub sub: Option<String>,
    pub ty: AttrType,
    pub case_exact: bool,
    /// Relative to the element of an enclosing [`Cond::Any`].
    pub in_element: bool,
}

impl Field {
    /// Dotted name as written in SCIM (`name.givenName`, `meta.lastModified`).
    pub fn dotted(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}.{s}", self.attr),
            None => self.attr.clone(),
        }
    }
}

/// A multi-valued complex attribute (`emails`, `members`, `groups`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiAttr {
    pub extension: Option<String>,
    pub name: String,
}

/// A typed comparison operand; strings of case-insensitive attributes are
/// already lowercased, dateTimes already in canonical text form.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Bool(bool),
    Int(i64),
    Dec(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    True,
    False,
    Cmp {
        field: Field,
        op: CompareOp,
        value: Operand,
    },
    Present(Field),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    /// Some element of `attr` satisfies `cond` (`None`: any element exists).
    Any {
        attr: MultiAttr,
        cond: Option<Box<Cond>>,
    },
    /// `schemas eq "urn:…"`: the resource carries this extension.
    HasExtension(String),
}

/// Resolve a whole-resource filter.
pub fn resolve_filter(registry: &Registry, rt: &ResourceType, f: &Filter) -> ScimResult<Cond> {
    match f {
        Filter::And(a, b) => Ok(Cond::And(
            Box::new(resolve_filter(registry, rt, a)?),
            Box::new(resolve_filter(registry, rt, b)?),
        )),
        Filter::Or(a, b) => Ok(Cond::Or(
            Box::new(resolve_filter(registry, rt, a)?),
            Box::new(resolve_filter(registry, rt, b)?),
        )),
        Filter::Not(a) => Ok(Cond::Not(Box::new(resolve_filter(registry, rt, a)?))),
        Filter::Present(path) => {
            if is_schemas(path) {
                return Ok(Cond::True);
            }
            match resolve_top(registry, rt, path)? {
                Target::Scalar(field, _) => Ok(Cond::Present(field)),
                Target::Multi(attr, _, sub) => match sub {
                    None => Ok(Cond::Any { attr, cond: None }),
                    Some(s) => Ok(Cond::Any {
                        attr,
                        cond: Some(Box::new(Cond::Present(elem_field(s)))),
                    }),
                },
            }
        }
        Filter::Compare { path, op, value } => {
            if is_schemas(path) {
                return schemas_condition(rt, *op, value);
            }
            match resolve_top(registry, rt, path)? {
                Target::Scalar(field, rule) => compare(field, rule, *op, value),
                Target::Multi(attr, def, sub) => {
                    let sub = match sub {
                        Some(s) => s,
                        None => def.sub("value").ok_or_else(|| {
                            ScimError::invalid_filter(format!(
                                "'{}' has no 'value' sub-attribute to compare; name a sub-attribute",
                                def.name
                            ))
                        })?,
                    };
                    let inner = compare(elem_field(sub), sub.text, *op, value)?;
                    Ok(Cond::Any {
                        attr,
                        cond: Some(Box::new(inner)),
                    })
                }
            }
        }
        Filter::ValuePath { path, filter } => {
            let (attr, def) = resolve_multi(registry, rt, path)?;
            let inner = resolve_element_filter(def, filter)?;
            Ok(Cond::Any {
                attr,
                cond: Some(Box::new(inner)),
            })
        }
    }
}

fn is_schemas(path: &AttrPath) -> bool {
    path.uri.is_none() && path.sub_attr.is_none() && path.name.eq_ignore_ascii_case("schemas")
}

fn schemas_condition(rt: &ResourceType, op: CompareOp, value: &CompValue) -> ScimResult<Cond> {
    let CompValue::String(urn) = value else {
        return Err(ScimError::invalid_filter(
            "'schemas' is compared with a schema URI string",
        ));
    };
    text::check("schemas", urn, TextRule::TEXT)?;
    let positive = match op {
        CompareOp::Eq => true,
        CompareOp::Ne => false,
        _ => {
            return Err(ScimError::invalid_filter(
                "'schemas' supports only the eq and ne operators",
            ))
        }
    };
    let cond = if rt.schema.id.eq_ignore_ascii_case(urn) {
        Cond::True
    } else if let Some(ext) = rt.extension(urn) {
        Cond::HasExtension(ext.id.clone())
    } else {
        Cond::False
    };
    Ok(if positive {
        cond
    } else {
        Cond::Not(Box::new(cond))
    })
}

enum Target<'a> {
    /// A single value, and the rule its values keep to.
    Scalar(Field, TextRule),
    Multi(MultiAttr, &'a Attribute, Option<&'a Attribute>),
}

fn filter_err(e: ScimError) -> ScimError {
    ScimError::invalid_filter(e.detail)
}

fn resolve_top<'a>(
    registry: &'a Registry,
    rt: &'a ResourceType,
    path: &AttrPath,
) -> ScimResult<Target<'a>> {
    let resolved = resolve(registry, rt, path).map_err(filter_err)?;
    let Resolved::Attr {
        container,
        attr,
        sub,
        ..
    } = resolved
    else {
        return Err(ScimError::invalid_filter(format!(
            "'{}' names a whole schema extension; name one of its attributes",
            display_path(path)
        )));
    };
    let extension = match container {
        Container::Top => None,
        Container::Extension(s) => Some(s.id.clone()),
    };
    if attr.name == "meta" && sub.is_some_and(|s| s.name == "version" || s.name == "location") {
        // Derived at render time, not stored: a filter on them could only
        // ever match nothing, so say so.
        return Err(ScimError::invalid_filter(format!(
            "'{}' is not filterable; filter on id or meta.lastModified",
            display_path(path)
        )));
    }
    if attr.multi_valued {
        if !attr.is_complex() {
            return Err(ScimError::invalid_filter(format!(
                "filtering on the multi-valued simple attribute '{}' is not supported",
                attr.name
            )));
        }
        return Ok(Target::Multi(
            MultiAttr {
                extension,
                name: attr.name.clone(),
            },
            attr,
            sub,
        ));
    }
    // A single-valued complex attribute with a `value` sub-attribute
    // compares by it (`manager eq "<id>"` as Entra ID sends it).
    let sub = match sub {
        None if attr.is_complex() => attr.sub("value").or(None),
        s => s,
    };
    let leaf = sub.unwrap_or(attr);
    if leaf.is_complex() {
        return Err(ScimError::invalid_filter(format!(
            "'{}' is complex; compare one of its sub-attributes (e.g. '{}.{}')",
            display_path(path),
            attr.name,
            attr.sub_attributes
                .first()
                .map(|s| s.name.as_str())
                .unwrap_or("value")
        )));
    }
    Ok(Target::Scalar(
        Field {
            extension,
            attr: attr.name.clone(),
            sub: sub.map(|s| s.name.clone()),
            ty: leaf.ty,
            case_exact: leaf.case_exact,
            in_element: false,
        },
        leaf.text,
    ))
}

fn resolve_multi<'a>(
    registry: &'a Registry,
    rt: &'a ResourceType,
    path: &AttrPath,
) -> ScimResult<(MultiAttr, &'a Attribute)> {
    match resolve_top(registry, rt, path)? {
        Target::Multi(attr, def, None) => Ok((attr, def)),
        _ => Err(ScimError::invalid_filter(format!(
            "'{}[…]': a value filter needs a multi-valued complex attribute",
            display_path(path)
        ))),
    }
}

fn elem_field(sub: &Attribute) -> Field {
    Field {
        extension: None,
        attr: sub.name.clone(),
        sub: None,
        ty: sub.ty,
        case_exact: sub.case_exact,
        in_element: true,
    }
}

/// Resolve a filter whose paths are relative to the elements of `def`
/// (the inside of `emails[…]`, or a PATCH value-path filter).
pub fn resolve_element_filter(def: &Attribute, f: &Filter) -> ScimResult<Cond> {
    match f {
        Filter::And(a, b) => Ok(Cond::And(
            Box::new(resolve_element_filter(def, a)?),
            Box::new(resolve_element_filter(def, b)?),
        )),
        Filter::Or(a, b) => Ok(Cond::Or(
            Box::new(resolve_element_filter(def, a)?),
            Box::new(resolve_element_filter(def, b)?),
        )),
        Filter::Not(a) => Ok(Cond::Not(Box::new(resolve_element_filter(def, a)?))),
        Filter::Present(p) => Ok(Cond::Present(elem_field(element_sub(def, p)?))),
        Filter::Compare { path, op, value } => {
            let sub = element_sub(def, path)?;
            compare(elem_field(sub), sub.text, *op, value)
        }
        Filter::ValuePath { path, .. } => Err(ScimError::invalid_filter(format!(
            "value filters cannot be nested ('{}[…]' inside '{}[…]')",
            display_path(path),
            def.name
        ))),
    }
}

fn element_sub<'a>(def: &'a Attribute, p: &AttrPath) -> ScimResult<&'a Attribute> {
    // Accept both `type` and the fully qualified `emails.type` inside brackets.
    let name = match (&p.uri, &p.sub_attr) {
        (None, None) => p.name.as_str(),
        (None, Some(sub)) if p.name.eq_ignore_ascii_case(&def.name) => sub.as_str(),
        _ => {
            return Err(ScimError::invalid_filter(format!(
                "'{}' is not a sub-attribute of '{}'",
                display_path(p),
                def.name
            )))
        }
    };
    def.sub(name).ok_or_else(|| {
        ScimError::invalid_filter(format!("'{}' has no sub-attribute '{name}'", def.name))
    })
}

/// A comparison of `field`, whose values keep to `rule`: a string literal
/// keeps to it too (a value no attribute can hold is refused, not
/// searched for).
fn compare(field: Field, rule: TextRule, op: CompareOp, value: &CompValue) -> ScimResult<Cond> {
    let name = field.dotted();
    if let CompValue::String(s) = value {
        text::check(&name, s, rule)?;
    }
    if matches!(value, CompValue::Null) {
        return match op {
            CompareOp::Eq => Ok(Cond::Not(Box::new(Cond::Present(field)))),
            CompareOp::Ne => Ok(Cond::Present(field)),
            _ => Err(ScimError::invalid_filter(format!(
                "'{name}': null can only be compared with eq or ne"
            ))),
        };
    }
    let operand = match field.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            string_operand(&name, field.case_exact, value)?
        }
        AttrType::Boolean => bool_operand(&name, op, value)?,
        AttrType::Integer | AttrType::Decimal => number_operand(&name, field.ty, op, value)?,
        AttrType::DateTime => datetime_operand(&name, op, value)?,
        AttrType::Complex => {
            return Err(ScimError::invalid_filter(format!(
                "'{name}' is complex; compare one of its sub-attributes"
            )))
        }
    };
    Ok(Cond::Cmp {
        field,
        op,
        value: operand,
    })
}

/// `co`, `sw` and `ew` apply to strings only.
fn is_textual(op: CompareOp) -> bool {
    matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
}

fn string_operand(name: &str, case_exact: bool, value: &CompValue) -> ScimResult<Operand> {
    match value {
        CompValue::String(s) => Ok(Operand::Str(if case_exact {
            s.clone()
        } else {
            crate::text::fold(s)
        })),
        _ => Err(ScimError::invalid_filter(format!(
            "'{name}' is a string; compare it with a quoted string"
        ))),
    }
}

fn bool_operand(name: &str, op: CompareOp, value: &CompValue) -> ScimResult<Operand> {
    let ordering_op = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    if is_textual(op) || ordering_op {
        return Err(ScimError::invalid_filter(format!(
            "'{name}' is a boolean; only eq and ne apply"
        )));
    }
    match value {
        CompValue::Bool(b) => Ok(Operand::Bool(*b)),
        CompValue::String(s) if s.eq_ignore_ascii_case("true") => Ok(Operand::Bool(true)),
        CompValue::String(s) if s.eq_ignore_ascii_case("false") => Ok(Operand::Bool(false)),
        _ => Err(ScimError::invalid_filter(format!(
            "'{name}' is a boolean; compare it with true or false"
        ))),
    }
}

fn number_operand(
    name: &str,
    ty: AttrType,
    op: CompareOp,
    value: &CompValue,
) -> ScimResult<Operand> {
    if is_textual(op) {
        return Err(ScimError::invalid_filter(format!(
            "'{name}' is a number; co, sw and ew apply to strings"
        )));
    }
    let CompValue::Number(n) = value else {
        return Err(ScimError::invalid_filter(format!(
            "'{name}' is a number; compare it with a number"
        )));
    };
    if ty == AttrType::Integer {
        if let Ok(i) = n.parse::<i64>() {
            return Ok(Operand::Int(i));
        }
    }
    n.parse::<f64>()
        .map(Operand::Dec)
        .map_err(|_| ScimError::invalid_filter(format!("'{name}': bad number {n}")))
}

fn datetime_operand(name: &str, op: CompareOp, value: &CompValue) -> ScimResult<Operand> {
    if is_textual(op) {
        return Err(ScimError::invalid_filter(format!(
            "'{name}' is a dateTime; co, sw and ew apply to strings"
        )));
    }
    let CompValue::String(s) = value else {
        return Err(ScimError::invalid_filter(format!(
            "'{name}' is a dateTime; compare it with a quoted dateTime"
        )));
    };
    let t = datetime::parse(s).ok_or_else(|| {
        ScimError::invalid_filter(format!(
            "'{name}' is a dateTime; \"{s}\" is not an xsd:dateTime"
        ))
    })?;
    Ok(Operand::Str(datetime::format(t)))
}

/// Evaluate an element-relative condition against one element (an object).
pub fn eval_element(cond: &Cond, elem: &Value) -> bool {
    match cond {
        Cond::True => true,
        Cond::False => false,
        Cond::And(a, b) => eval_element(a, elem) && eval_element(b, elem),
        Cond::Or(a, b) => eval_element(a, elem) || eval_element(b, elem),
        Cond::Not(a) => !eval_element(a, elem),
        // "pr": a non-empty value (RFC 7644 §3.4.2.2); "" is empty, as in SQL.
        Cond::Present(f) => elem
            .get(&f.attr)
            .is_some_and(|v| !super::resource::is_unassigned(v) && v.as_str() != Some("")),
        Cond::Cmp { field, op, value } => match elem.get(&field.attr) {
            None | Some(Value::Null) => *op == CompareOp::Ne,
            Some(v) => compare_value(field, *op, value, v),
        },
        // Nested multi-valued and schema conditions never occur inside an element.
        Cond::Any { .. } | Cond::HasExtension(_) => false,
    }
}

fn compare_value(field: &Field, op: CompareOp, operand: &Operand, v: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (operand, v) {
        (Operand::Bool(b), Value::Bool(x)) => Some(x.cmp(b)),
        (Operand::Int(i), Value::Number(n)) => n.as_f64().and_then(|x| x.partial_cmp(&(*i as f64))),
        (Operand::Dec(d), Value::Number(n)) => n.as_f64().and_then(|x| x.partial_cmp(d)),
        (Operand::Str(s), Value::String(x)) => {
            let x = if field.ty == AttrType::DateTime {
                match datetime::parse(x) {
                    Some(t) => datetime::format(t),
                    None => return false,
                }
            } else if field.case_exact {
                x.clone()
            } else {
                crate::text::fold(x)
            };
            return match op {
                CompareOp::Eq => x == *s,
                CompareOp::Ne => x != *s,
                CompareOp::Co => x.contains(s.as_str()),
                CompareOp::Sw => x.starts_with(s.as_str()),
                CompareOp::Ew => x.ends_with(s.as_str()),
                CompareOp::Gt => x.as_str() > s.as_str(),
                CompareOp::Ge => x.as_str() >= s.as_str(),
                CompareOp::Lt => x.as_str() < s.as_str(),
                CompareOp::Le => x.as_str() <= s.as_str(),
            };
        }
        _ => None,
    };
    match (op, ord) {
        (CompareOp::Ne, None) => true,
        (_, None) => false,
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Ne, Some(o)) => o != Ordering::Equal,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, Some(_)) => false,
    }
}

/// For an element filter made only of `eq` comparisons joined by `and`,
/// the element those comparisons describe (used to create the element when
/// an `add`/`replace` through a value path matches nothing).
pub fn element_template(f: &Filter, def: &Attribute) -> Option<serde_json::Map<String, Value>> {
    let mut out = serde_json::Map::new();
    fn walk(f: &Filter, def: &Attribute, out: &mut serde_json::Map<String, Value>) -> bool {
        match f {
            Filter::And(a, b) => walk(a, def, out) && walk(b, def, out),
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.uri.is_none() && path.sub_attr.is_none() => {
                let Some(sub) = def.sub(&path.name) else {
                    return false;
                };
                let v = match value {
                    CompValue::String(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Number(n) => match serde_json::from_str::<Value>(n) {
                        Ok(v) => v,
                        Err(_) => return false,
                    },
                    CompValue::Null => return false,
                };
                out.insert(sub.name.clone(), v);
                true
            }
            _ => false,
        }
    }
    if walk(f, def, &mut out) {
        Some(out)
    } else {
        None
    }
}

/// The ids named by a filter made only of `value eq "…"` joined by `or`
/// (how clients address group members).
pub fn value_eq_list(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Or(a, b) => {
            let mut l = value_eq_list(a)?;
            l.extend(value_eq_list(b)?);
            Some(l)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(s),
        } if path.uri.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![s.clone()])
        }
        _ => None,
    }
}
