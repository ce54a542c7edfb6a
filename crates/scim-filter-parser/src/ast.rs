//! The abstract syntax tree shared by filters and PATCH paths.
//!
//! Every type here implements `Display`, which prints the canonical text form;
//! parsing that text yields an equal AST (the round-trip property).

/// An attribute path: `[URI ":"] ATTRNAME ["." subAttr]`.
///
/// Inside a value-path filter (`emails[type eq "work"]`) paths are relative to
/// the element, so `type` is an `AttrPath { uri: None, name: "type", sub_attr: None }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub uri: Option<String>,
    /// Attribute name as written (case is preserved; matching is the caller's job).
    pub name: String,
    /// Sub-attribute name, e.g. `givenName` in `name.givenName`.
    pub sub_attr: Option<String>,
}

/// Comparison operators of RFC 7644 §3.4.2.2 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A JSON literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompValue {
    Null,
    Bool(bool),
    /// A JSON number, kept as its validated lexeme (e.g. `-1.5e3`) so nothing is lost.
    Number(String),
    /// A JSON string, unescaped.
    String(String),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `attrPath compareOp compValue`
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `attrPath pr`
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `not ( filter )`
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`. The inner filter's paths are relative to
    /// the multi-valued attribute's elements. `path.sub_attr` is always `None`.
    /// The filter form `emails[type eq "work"].value eq "x"` is accepted and
    /// read as `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// A PATCH operation path (RFC 7644 §3.5.2):
/// `attrPath / valuePath ["." subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatchPath {
    /// `name`, `name.givenName`, `urn:…:User:employeeNumber`, `urn:…:User:manager.value`.
    Attr(AttrPath),
    /// `emails[type eq "work"]` or `emails[type eq "work"].value`.
    /// `attr.sub_attr` is always `None`; the trailing sub-attribute is `sub_attr`.
    ValuePath {
        attr: AttrPath,
        filter: Filter,
        sub_attr: Option<String>,
    },
}
