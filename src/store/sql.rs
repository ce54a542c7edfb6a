//! One filter → SQL compiler for every backend. It produces a [`SqlFrag`]
//! (text with bind markers); [`render`] numbers its placeholders and
//! [`bind_all`] binds its parameters. What differs between backends (JSON
//! access, booleans, locking) sits behind [`Dialect`].

use scim_filter_parser::CompareOp;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::Any;

use scim_protocol::filter::{Cond, Field, MultiAttr, Operand};
use scim_protocol::list::{SortKey, SortOrder};
use scim_protocol::schema::{AttrType, Kind};
use scim_protocol::text::fold;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Sql(String),
    Bind(Bind),
}

/// SQL text with its parameters, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlFrag {
    parts: Vec<Part>,
}

impl SqlFrag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn sql(&mut self, s: impl Into<String>) -> &mut Self {
        self.parts.push(Part::Sql(s.into()));
        self
    }
    pub fn bind(&mut self, b: Bind) -> &mut Self {
        self.parts.push(Part::Bind(b));
        self
    }
    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(s.into()))
    }
    pub fn int(&mut self, i: i64) -> &mut Self {
        self.bind(Bind::Int(i))
    }
    /// Parameters separated by commas (the inside of `IN (…)`).
    pub fn bind_list(&mut self, binds: impl IntoIterator<Item = Bind>) -> &mut Self {
        for (i, b) in binds.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(b);
        }
        self
    }
    pub fn append(&mut self, other: SqlFrag) -> &mut Self {
        self.parts.extend(other.parts);
        self
    }
}

/// A fragment's text with numbered placeholders (`$1`, `$2`, …: PostgreSQL
/// and SQLite both read them) and its parameters in order.
pub fn render(frag: SqlFrag) -> (String, Vec<Bind>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    for part in frag.parts {
        match part {
            Part::Sql(s) => sql.push_str(&s),
            Part::Bind(b) => {
                binds.push(b);
                sql.push('$');
                sql.push_str(&binds.len().to_string());
            }
        }
    }
    (sql, binds)
}

/// Run a fragment; its rows.
pub async fn fetch_all<'c, E>(executor: E, frag: SqlFrag) -> Result<Vec<AnyRow>, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let (sql, binds) = render(frag);
    bind_all(sqlx::query(&sql), binds).fetch_all(executor).await
}

/// Run a fragment that answers one row.
pub async fn fetch_one<'c, E>(executor: E, frag: SqlFrag) -> Result<AnyRow, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let (sql, binds) = render(frag);
    bind_all(sqlx::query(&sql), binds).fetch_one(executor).await
}

/// Run a fragment that answers no rows.
pub async fn execute<'c, E>(executor: E, frag: SqlFrag) -> Result<u64, sqlx::Error>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let (sql, binds) = render(frag);
    Ok(bind_all(sqlx::query(&sql), binds)
        .execute(executor)
        .await?
        .rows_affected())
}

/// Bind rendered parameters to a query.
fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s),
            Bind::Int(i) => q.bind(i),
            Bind::Real(f) => q.bind(f),
            Bind::Bool(b) => q.bind(b),
        };
    }
    q
}

/// What differs between SQL backends.
pub trait Dialect: Send + Sync {
    /// A JSON member of `column` as SQL text (or NULL).
    fn json_text(&self, column: &str, keys: &[&str]) -> String;
    /// A JSON member as a number.
    fn json_number(&self, column: &str, keys: &[&str]) -> String;
    /// A JSON member as a boolean.
    fn json_bool(&self, column: &str, keys: &[&str]) -> String;
    /// Whether a JSON member exists.
    fn json_exists(&self, column: &str, keys: &[&str]) -> String;
    /// SQL for a boolean stored in a 0/1 integer column.
    fn bool_column(&self, column: &str) -> String;
    /// The query-plan prefix (`EXPLAIN QUERY PLAN`, `EXPLAIN`).
    fn explain(&self) -> &'static str;
    /// An aggregate of the rows as one JSON text: an array of arrays of
    /// `items`, ordered by `order` (`[]` for no row).
    fn json_rows(&self, items: &[&str], order: &str) -> String;
}

/// Quote a JSON key for use inside a SQL string literal. Keys come from the
/// schema registry, never from clients; quotes are escaped all the same.
fn quote_key(k: &str) -> String {
    k.replace('\'', "''").replace('"', "\\\"")
}

pub struct SqliteDialect;

impl SqliteDialect {
    fn path(keys: &[&str]) -> String {
        let mut p = String::from("$");
        for k in keys {
            p.push_str(".\"");
            p.push_str(&quote_key(k));
            p.push('"');
        }
        p
    }
}

impl Dialect for SqliteDialect {
    fn json_rows(&self, items: &[&str], order: &str) -> String {
        format!(
            "json_group_array(json_array({}) ORDER BY {order})",
            items.join(", ")
        )
    }

    fn json_text(&self, column: &str, keys: &[&str]) -> String {
        format!("json_extract({column}, '{}')", Self::path(keys))
    }
    fn json_number(&self, column: &str, keys: &[&str]) -> String {
        self.json_text(column, keys)
    }
    fn json_bool(&self, column: &str, keys: &[&str]) -> String {
        self.json_text(column, keys)
    }
    fn json_exists(&self, column: &str, keys: &[&str]) -> String {
        format!("json_type({column}, '{}') IS NOT NULL", Self::path(keys))
    }
    fn bool_column(&self, column: &str) -> String {
        column.to_string()
    }
    fn explain(&self) -> &'static str {
        "EXPLAIN QUERY PLAN "
    }
}

pub struct PostgresDialect;

impl PostgresDialect {
    fn arrows(column: &str, keys: &[&str], last_text: bool) -> String {
        // JSON is stored as text on both backends (the same bytes the API
        // returns); PostgreSQL reads it as jsonb where a filter needs a member.
        let mut s = format!("({column}::jsonb)");
        for (i, k) in keys.iter().enumerate() {
            let op = if last_text && i + 1 == keys.len() {
                "->>"
            } else {
                "->"
            };
            s.push_str(&format!("{op}'{}'", k.replace('\'', "''")));
        }
        format!("({s})")
    }
}

impl Dialect for PostgresDialect {
    fn json_rows(&self, items: &[&str], order: &str) -> String {
        format!(
            "coalesce(json_agg(json_build_array({}) ORDER BY {order})::text, '[]')",
            items.join(", ")
        )
    }

    fn json_text(&self, column: &str, keys: &[&str]) -> String {
        Self::arrows(column, keys, true)
    }
    fn json_number(&self, column: &str, keys: &[&str]) -> String {
        format!(
            "(CASE WHEN jsonb_typeof({}) = 'number' THEN {}::float8 END)",
            Self::arrows(column, keys, false),
            Self::arrows(column, keys, true)
        )
    }
    fn json_bool(&self, column: &str, keys: &[&str]) -> String {
        format!(
            "(CASE WHEN jsonb_typeof({}) = 'boolean' THEN {}::boolean END)",
            Self::arrows(column, keys, false),
            Self::arrows(column, keys, true)
        )
    }
    fn json_exists(&self, column: &str, keys: &[&str]) -> String {
        format!("{} IS NOT NULL", Self::arrows(column, keys, false))
    }
    fn bool_column(&self, column: &str) -> String {
        // Flags are 0/1 integers on both backends.
        format!("({column} <> 0)")
    }
    fn explain(&self) -> &'static str {
        "EXPLAIN (COSTS OFF) "
    }
}

/// Multi-valued complex User attributes kept in `user_values`.
pub const USER_VALUE_ATTRS: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// How one resource table is laid out.
struct Table {
    kind: Kind,
    /// Alias of the resource table in the outer query.
    alias: &'static str,
}

impl Table {
    /// A promoted column for a top-level field, if there is one. The flag says
    /// whether the column holds lowercased text.
    fn column(&self, f: &Field) -> Option<(String, bool)> {
        let a = self.alias;
        if f.extension.as_deref() == Some(scim_protocol::schema::URN_ACCESS)
            && f.attr == "status"
            && f.sub.is_none()
            && self.kind == Kind::User
        {
            // Derived from the lifecycle columns, never in the JSON.
            return Some((format!("{a}.status"), true));
        }
        if f.extension.is_some() {
            return None;
        }
        let col = match (f.attr.as_str(), f.sub.as_deref(), self.kind) {
            ("id", None, _) => (format!("{a}.id"), false),
            ("externalId", None, _) => (format!("{a}.external_id"), false),
            ("meta", Some("created"), _) => (format!("{a}.created"), false),
            ("meta", Some("lastModified"), _) => (format!("{a}.last_modified"), false),
            ("meta", Some("resourceType"), Kind::User) => ("'User'".to_string(), false),
            ("meta", Some("resourceType"), Kind::Group) => ("'Group'".to_string(), false),
            ("userName", None, Kind::User) => (format!("{a}.user_name_ci"), true),
            ("active", None, Kind::User) => (format!("{a}.active"), false),
            ("displayName", None, Kind::Group) => (format!("{a}.display_name_ci"), true),
            _ => return None,
        };
        Some(col)
    }
}

/// Compiles resolved conditions for one resource type and tenant.
pub struct Compiler<'d> {
    pub dialect: &'d dyn Dialect,
    pub kind: Kind,
    pub tenant_id: i64,
}

impl<'d> Compiler<'d> {
    fn table(&self) -> Table {
        Table {
            kind: self.kind,
            alias: "r",
        }
    }

    /// Whether every match of `cond` comes out of an indexed subquery over a
    /// value or membership table. Then that subquery should drive the query,
    /// not the resource table's tenant index.
    pub fn driven_by_subquery(cond: &Cond) -> bool {
        match cond {
            Cond::Any { .. } => true,
            Cond::And(a, b) => Self::driven_by_subquery(a) || Self::driven_by_subquery(b),
            Cond::Or(a, b) => Self::driven_by_subquery(a) && Self::driven_by_subquery(b),
            _ => false,
        }
    }

    /// SQL for `cond` against the resource alias `r`.
    pub fn condition(&self, cond: &Cond) -> SqlFrag {
        let mut f = SqlFrag::new();
        self.cond_into(&mut f, cond, None);
        f
    }

    fn cond_into(&self, out: &mut SqlFrag, cond: &Cond, elem: Option<&ElemCtx>) {
        match cond {
            Cond::True => {
                out.sql("1=1");
            }
            Cond::False => {
                out.sql("1=0");
            }
            Cond::And(a, b) => {
                out.sql("(");
                self.cond_into(out, a, elem);
                out.sql(" AND ");
                self.cond_into(out, b, elem);
                out.sql(")");
            }
            Cond::Or(a, b) => {
                out.sql("(");
                self.cond_into(out, a, elem);
                out.sql(" OR ");
                self.cond_into(out, b, elem);
                out.sql(")");
            }
            Cond::Not(a) => {
                out.sql("NOT (");
                self.cond_into(out, a, elem);
                out.sql(")");
            }
            Cond::HasExtension(urn) => {
                out.sql(self.dialect.json_exists("r.data", &[urn]));
            }
            Cond::Present(field) => {
                let (expr, _) = self.field_expr(field, elem);
                if field.ty.is_textual() {
                    out.sql(format!("({expr} IS NOT NULL AND {expr} <> '')"));
                } else {
                    out.sql(format!("({expr} IS NOT NULL)"));
                }
            }
            Cond::Cmp { field, op, value } => self.compare(out, field, *op, value, elem),
            Cond::Any { attr, cond } => self.any(out, attr, cond.as_deref()),
        }
    }

    /// The SQL expression for a field, and whether it is already lowercased.
    fn field_expr(&self, field: &Field, elem: Option<&ElemCtx>) -> (String, bool) {
        if field.in_element {
            if let Some(ctx) = elem {
                return ctx.expr(self.dialect, field);
            }
        }
        if let Some((col, lowered)) = self.table().column(field) {
            if field.ty == AttrType::Boolean {
                return (self.dialect.bool_column(&col), lowered);
            }
            return (col, lowered);
        }
        let mut keys: Vec<&str> = Vec::new();
        if let Some(e) = &field.extension {
            keys.push(e);
        }
        keys.push(&field.attr);
        if let Some(s) = &field.sub {
            keys.push(s);
        }
        let expr = match field.ty {
            AttrType::Boolean => self.dialect.json_bool("r.data", &keys),
            AttrType::Integer | AttrType::Decimal => self.dialect.json_number("r.data", &keys),
            _ if folds(field) && self.kind == Kind::User => {
                // The folded shadow of the JSON: its keys are folded too.
                // (A group has no case-insensitive text outside its
                // columns: displayName has one, members their table.)
                let folded: Vec<String> = keys.iter().map(|k| fold(k)).collect();
                let folded: Vec<&str> = folded.iter().map(String::as_str).collect();
                return (self.dialect.json_text("r.data_ci", &folded), true);
            }
            _ => self.dialect.json_text("r.data", &keys),
        };
        (expr, false)
    }

    fn compare(
        &self,
        out: &mut SqlFrag,
        field: &Field,
        op: CompareOp,
        value: &Operand,
        elem: Option<&ElemCtx>,
    ) {
        let (mut expr, lowered) = self.field_expr(field, elem);
        if let Operand::Str(_) = value {
            if folds(field) && !lowered {
                expr = folded_literal(&expr);
            }
        }
        let bind = match value {
            Operand::Bool(b) => Bind::Bool(*b),
            Operand::Int(i) => Bind::Int(*i),
            Operand::Dec(d) => Bind::Real(*d),
            Operand::Str(s) => Bind::Text(s.clone()),
        };
        let sym = match op {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
        };
        if op == CompareOp::Ne {
            out.sql(format!("({expr} IS NULL OR {expr} <> "));
            out.bind(bind);
            out.sql(")");
            return;
        }
        out.sql(format!("({expr} IS NOT NULL AND {expr} {sym} "));
        match (op, bind) {
            (CompareOp::Co, Bind::Text(s)) => {
                out.text(format!("%{}%", like_escape(&s)));
                out.sql(" ESCAPE '\\'");
            }
            (CompareOp::Sw, Bind::Text(s)) => {
                out.text(format!("{}%", like_escape(&s)));
                out.sql(" ESCAPE '\\'");
            }
            (CompareOp::Ew, Bind::Text(s)) => {
                out.text(format!("%{}", like_escape(&s)));
                out.sql(" ESCAPE '\\'");
            }
            (_, b) => {
                out.bind(b);
            }
        }
        out.sql(")");
    }

    fn any(&self, out: &mut SqlFrag, attr: &MultiAttr, cond: Option<&Cond>) {
        match (self.kind, attr.name.as_str()) {
            (Kind::User, "groups") => {
                out.sql("r.id IN (SELECT m.member_id FROM memberships m JOIN groups g ON g.pk = m.group_pk WHERE m.tenant_id = ");
                out.int(self.tenant_id);
                if let Some(c) = cond {
                    out.sql(" AND ");
                    self.cond_into(out, c, Some(&ElemCtx::Groups));
                }
                out.sql(")");
            }
            (Kind::Group, "members") => {
                out.sql("r.pk IN (SELECT m.group_pk FROM memberships m WHERE m.tenant_id = ");
                out.int(self.tenant_id);
                if let Some(c) = cond {
                    out.sql(" AND ");
                    self.cond_into(out, c, Some(&ElemCtx::Members));
                }
                out.sql(")");
            }
            (Kind::User, name) if attr.extension.is_none() && USER_VALUE_ATTRS.contains(&name) => {
                out.sql("r.pk IN (SELECT v.user_pk FROM user_values v WHERE v.tenant_id = ");
                out.int(self.tenant_id);
                out.sql(" AND v.attr = ");
                out.text(name);
                if let Some(c) = cond {
                    out.sql(" AND ");
                    self.cond_into(out, c, Some(&ElemCtx::Values));
                }
                out.sql(")");
            }
            _ => {
                out.sql("1=0");
            }
        }
    }

    /// ORDER BY for a list request; always ends with the primary key so that
    /// paging is stable.
    pub fn order_by(&self, sort: Option<&(SortKey, SortOrder)>) -> SqlFrag {
        let mut f = SqlFrag::new();
        f.sql(" ORDER BY ");
        if let Some((key, order)) = sort {
            let dir = match order {
                SortOrder::Ascending => "ASC",
                SortOrder::Descending => "DESC",
            };
            let expr = match key {
                SortKey::Field(field) => {
                    let (e, lowered) = self.field_expr(field, None);
                    if folds(field) && !lowered {
                        folded_literal(&e)
                    } else {
                        e
                    }
                }
                SortKey::Multi {
                    attr,
                    sub,
                    case_exact,
                } => {
                    let col = match sub.as_str() {
                        "value" if *case_exact => "v.value".to_string(),
                        "value" => "v.value_ci".to_string(),
                        "type" => "v.type_ci".to_string(),
                        other => self.dialect.json_text("v.elem", &[other]),
                    };
                    if self.kind == Kind::User && USER_VALUE_ATTRS.contains(&attr.as_str()) {
                        format!(
                            "(SELECT {col} FROM user_values v WHERE v.user_pk = r.pk AND v.attr = '{}' ORDER BY v.is_primary DESC LIMIT 1)",
                            attr.replace('\'', "''")
                        )
                    } else {
                        "NULL".to_string()
                    }
                }
            };
            let never_null = match key {
                SortKey::Field(field) => {
                    matches!(self.table().column(field), Some((c, _)) if !c.ends_with("external_id"))
                }
                SortKey::Multi { .. } => false,
            };
            let unique = match key {
                SortKey::Field(field) => matches!(
                    self.table().column(field),
                    Some((c, _)) if c.ends_with(".user_name_ci") || c.ends_with(".display_name_ci") || c.ends_with(".id")
                ),
                SortKey::Multi { .. } => false,
            };
            if unique {
                // Unique within the tenant (among live users): no tie to
                // break, and the unique index gives the order on its own.
                f.sql(format!("{expr} {dir}"));
            } else if never_null {
                // NOT NULL columns: the index on (tenant_id, column, pk) gives the order.
                f.sql(format!("{expr} {dir}, r.pk {dir}"));
            } else {
                // Resources without the attribute come last in either direction.
                f.sql(format!("({expr} IS NULL) ASC, {expr} {dir}, r.pk {dir}"));
            }
        } else {
            f.sql("r.pk ASC");
        }
        f
    }
}

/// Whether comparisons of `field` are case-insensitive text: both sides
/// folded (`scim_protocol::text::fold`), never SQL's `lower()`.
fn folds(field: &Field) -> bool {
    !field.case_exact && field.ty.is_textual() && field.ty != AttrType::DateTime
}

/// A case-insensitive expression with no folded shadow: a string literal
/// (`'User'`, a resource type) is folded here; anything else is left as it
/// is, which no field reaches (every folded field has its shadow column).
fn folded_literal(expr: &str) -> String {
    match expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
        Some(inner) if !inner.contains('\'') => format!("'{}'", fold(inner)),
        _ => expr.to_string(),
    }
}

/// The element table an `Any` condition ranges over.
enum ElemCtx {
    /// `user_values v`
    Values,
    /// `memberships m` (Group.members)
    Members,
    /// `memberships m JOIN groups g` (User.groups)
    Groups,
}

impl ElemCtx {
    fn expr(&self, d: &dyn Dialect, f: &Field) -> (String, bool) {
        match self {
            ElemCtx::Values => match f.attr.as_str() {
                "value" if f.case_exact => ("v.value".into(), false),
                "value" if f.ty == AttrType::String || f.ty == AttrType::Reference => {
                    ("v.value_ci".into(), true)
                }
                "value" => ("v.value".into(), false),
                "type" => ("v.type_ci".into(), true),
                "primary" => (d.bool_column("v.is_primary"), false),
                other => match f.ty {
                    AttrType::Boolean => (d.json_bool("v.elem", &[other]), false),
                    _ if folds(f) => (d.json_text("v.elem_ci", &[&fold(other)]), true),
                    _ => (d.json_text("v.elem", &[other]), false),
                },
            },
            // Ids are generated in lowercase, so they compare as already folded.
            ElemCtx::Members => match f.attr.as_str() {
                "value" => ("m.member_id".into(), true),
                "type" if folds(f) => (
                    "(CASE m.member_type WHEN 'User' THEN 'user' ELSE 'group' END)".into(),
                    true,
                ),
                "type" => ("m.member_type".into(), false),
                "$ref" if folds(f) => (
                    "(CASE m.member_type WHEN 'User' THEN '/users/' ELSE '/groups/' END || m.member_id)".into(),
                    true,
                ),
                "$ref" => (
                    "(CASE m.member_type WHEN 'User' THEN '/Users/' ELSE '/Groups/' END || m.member_id)".into(),
                    false,
                ),
                _ if folds(f) => ("m.display_ci".into(), true),
                _ => ("m.display".into(), false),
            },
            ElemCtx::Groups => match f.attr.as_str() {
                "value" => ("g.id".into(), true),
                "display" => ("g.display_name_ci".into(), true),
                "type" => ("'direct'".into(), true),
                "$ref" if folds(f) => ("('/groups/' || g.id)".into(), true),
                _ => ("('/Groups/' || g.id)".into(), false),
            },
        }
    }
}

/// Escape `%`, `_` and `\` for LIKE … ESCAPE '\'.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
