//! Schemas as data (RFC 7643 §2, §7, §8.7): every attribute's characteristics
//! live here and drive validation, projection, filtering, sorting and PATCH.

use serde_json::{json, Map, Value};

use super::text::TextRule;

pub const URN_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const URN_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const URN_ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const URN_ACCESS: &str = "urn:rollcall:scim:schemas:extension:access:2.0:User";
pub const URN_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const URN_LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const URN_PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const URN_SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const URN_BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const URN_BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const URN_SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const URN_RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const URN_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
    /// Types whose values are compared as text (`co`, `sw`, `ew` make sense).
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<Attribute>,
    /// How long a string may be, and whether it is one line (`crate::text`;
    /// RFC 7643 has no characteristic for it, so `/Schemas` does not say).
    pub text: TextRule,
}

impl Attribute {
    fn new(name: &str, ty: AttrType) -> Self {
        Self {
            name: name.to_string(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            text: TextRule::of(ty == AttrType::Binary),
        }
    }
    /// An identifier or a name: one line, `text::NAME_MAX` characters.
    fn name_like(mut self) -> Self {
        self.text = TextRule::NAME;
        self
    }
    /// An element's label (`type`): one line, `text::LABEL_MAX` characters.
    fn label(mut self) -> Self {
        self.text = TextRule::LABEL;
        self
    }
    fn desc(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }
    fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    fn unique(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|s| s.to_string()).collect();
        self
    }
    fn refs(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|s| s.to_string()).collect();
        self
    }
    fn subs(mut self, subs: Vec<Attribute>) -> Self {
        self.sub_attributes = subs;
        self
    }

    /// A sub-attribute by name, case-insensitively (RFC 7643 §2.1).
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }

    /// The schema representation of this attribute (RFC 7643 §7).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("type".into(), self.ty.as_str().into());
        m.insert("multiValued".into(), self.multi_valued.into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("required".into(), self.required.into());
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        m.insert("caseExact".into(), self.case_exact.into());
        m.insert("mutability".into(), self.mutability.as_str().into());
        m.insert("returned".into(), self.returned.as_str().into());
        m.insert("uniqueness".into(), self.uniqueness.as_str().into());
        if self.ty == AttrType::Reference {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub_attributes.is_empty() {
            m.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(|a| a.to_json()).collect()),
            );
        }
        Value::Object(m)
    }
}

/// A schema: an id (URN) and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [URN_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(|a| a.to_json()).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            }
        })
    }
}

/// A resource type: endpoint, core schema, extensions (RFC 7643 §6).
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: String,
    pub endpoint: String,
    pub description: String,
    pub schema: Schema,
    /// Extension schemas and whether each is required.
    pub extensions: Vec<(Schema, bool)>,
}

impl ResourceType {
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [URN_RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter().map(|(s, required)| json!({
                "schema": s.id,
                "required": required,
            })).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.name),
            }
        })
    }

    /// The extension schema with this URN, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The core schema or an extension, by URN.
    pub fn schema_by_urn(&self, urn: &str) -> Option<&Schema> {
        if self.schema.id.eq_ignore_ascii_case(urn) {
            Some(&self.schema)
        } else {
            self.extension(urn)
        }
    }

    /// All schemas of this resource type, core first.
    pub fn all_schemas(&self) -> impl Iterator<Item = &Schema> {
        std::iter::once(&self.schema).chain(self.extensions.iter().map(|(s, _)| s))
    }
}

/// Common attributes (RFC 7643 §3.1): `id`, `externalId`, `meta`. They belong
/// to every resource and to no schema, so they are not listed by `/Schemas`.
pub fn common_attributes() -> Vec<Attribute> {
    use AttrType::*;
    vec![
        Attribute::new("id", String)
            .desc("Unique identifier for the resource, assigned by the service provider.")
            .name_like()
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .unique(Uniqueness::Server),
        external_id_attribute(),
        Attribute::new("meta", Complex)
            .desc("Resource metadata.")
            .mutability(Mutability::ReadOnly)
            .subs(vec![
                Attribute::new("resourceType", String)
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                Attribute::new("created", DateTime).mutability(Mutability::ReadOnly),
                Attribute::new("lastModified", DateTime).mutability(Mutability::ReadOnly),
                Attribute::new("location", Reference)
                    .case_exact()
                    .mutability(Mutability::ReadOnly)
                    .refs(&["uri"]),
                Attribute::new("version", String)
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
            ]),
    ]
}

/// `externalId` (RFC 7643 §3.1): set by the client, compared case-exactly.
pub fn external_id_attribute() -> Attribute {
    Attribute::new("externalId", AttrType::String)
        .desc("Identifier of the resource as defined by the provisioning client.")
        .name_like()
        .case_exact()
}

fn multi_valued_simple(
    name: &str,
    desc: &str,
    value_type: AttrType,
    types: &[&str],
    with_display: bool,
) -> Attribute {
    let mut value = Attribute::new("value", value_type).desc(&format!("The {name} value."));
    if value_type == AttrType::Binary {
        // base64 is case-sensitive.
        value = value.case_exact();
    } else {
        // Indexed (`user_values`): one line, a name's length.
        value = value.name_like();
    }
    let mut subs = vec![value];
    if value_type == AttrType::Reference {
        if let Some(v) = subs.first_mut() {
            v.reference_types = vec!["external".to_string()];
        }
    }
    if with_display {
        subs.push(
            Attribute::new("display", AttrType::String)
                .desc("A human-readable name, primarily used for display purposes."),
        );
    }
    let mut ty = Attribute::new("type", AttrType::String)
        .desc("A label indicating the attribute's function.")
        .label();
    if !types.is_empty() {
        ty = ty.canonical(types);
    }
    subs.push(ty);
    subs.push(
        Attribute::new("primary", AttrType::Boolean)
            .desc("Indicates the 'primary' or preferred attribute value for this attribute."),
    );
    Attribute::new(name, AttrType::Complex)
        .desc(desc)
        .multi()
        .subs(subs)
}

pub fn user_schema() -> Schema {
    use AttrType::*;
    let s = |n: &str, d: &str| Attribute::new(n, String).desc(d);
    Schema {
        id: URN_USER.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
            s("userName", "Unique identifier for the User, typically used to sign in. Unique per tenant, case-insensitively.")
                .name_like()
                .required()
                .unique(Uniqueness::Server),
            Attribute::new("name", Complex)
                .desc("The components of the user's real name.")
                .subs(vec![
                    s("formatted", "The full name, formatted for display."),
                    s("familyName", "The family name of the User."),
                    s("givenName", "The given name of the User."),
                    s("middleName", "The middle name(s) of the User."),
                    s("honorificPrefix", "The honorific prefix(es) of the User."),
                    s("honorificSuffix", "The honorific suffix(es) of the User."),
                ]),
            s("displayName", "The name of the User, suitable for display to end-users.").name_like(),
            s("nickName", "The casual way to address the user."),
            Attribute::new("profileUrl", Reference)
                .desc("A fully qualified URL pointing to a page representing the User's online profile.")
                .refs(&["external"]),
            s("title", "The user's title, such as \"Vice President\"."),
            s("userType", "Used to identify the relationship between the organization and the user."),
            s("preferredLanguage", "The User's preferred written or spoken language."),
            s("locale", "Used to indicate the User's default location."),
            s("timezone", "The User's time zone in the 'Olson' time zone database format."),
            Attribute::new("active", Boolean).desc("The User's administrative status. false disables the user."),
            Attribute::new("password", String)
                .desc("The User's cleartext password. Write-only: accepted, never returned.")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            multi_valued_simple("emails", "Email addresses for the user.", String, &["work", "home", "other"], true),
            multi_valued_simple(
                "phoneNumbers",
                "Phone numbers for the User.",
                String,
                &["work", "home", "mobile", "fax", "pager", "other"],
                true,
            ),
            multi_valued_simple(
                "ims",
                "Instant messaging addresses for the User.",
                String,
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                true,
            ),
            multi_valued_simple("photos", "URLs of photos of the User.", Reference, &["photo", "thumbnail"], true),
            Attribute::new("addresses", Complex)
                .desc("A physical mailing address for this User.")
                .multi()
                .subs(vec![
                    s("formatted", "The full mailing address, formatted for display."),
                    s("streetAddress", "The full street address component."),
                    s("locality", "The city or locality component."),
                    s("region", "The state or region component."),
                    s("postalCode", "The zip code or postal code component."),
                    s("country", "The country name component."),
                    s("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]).label(),
                    Attribute::new("primary", Boolean).desc("Indicates the primary address."),
                ]),
            Attribute::new("groups", Complex)
                .desc("Groups to which the user belongs, directly or through nested groups. Read-only: change membership through the Group.")
                .multi()
                .mutability(Mutability::ReadOnly)
                .subs(vec![
                    Attribute::new("value", String).desc("The identifier of the group.").mutability(Mutability::ReadOnly),
                    Attribute::new("$ref", Reference)
                        .desc("The URI of the group.")
                        .refs(&["User", "Group"])
                        .mutability(Mutability::ReadOnly),
                    s("display", "The display name of the group.").mutability(Mutability::ReadOnly),
                    s("type", "How the membership is held.")
                        .canonical(&["direct", "indirect"])
                        .mutability(Mutability::ReadOnly),
                ]),
            multi_valued_simple("entitlements", "Entitlements of the User.", String, &[], true),
            multi_valued_simple("roles", "Roles of the User, as sent by the identity provider.", String, &[], true),
            multi_valued_simple("x509Certificates", "DER-encoded X.509 certificates, base64.", Binary, &[], true),
        ],
    }
}

pub fn enterprise_schema() -> Schema {
    use AttrType::*;
    let s = |n: &str, d: &str| Attribute::new(n, String).desc(d);
    Schema {
        id: URN_ENTERPRISE.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            s(
                "employeeNumber",
                "Numeric or alphanumeric identifier assigned to a person.",
            ),
            s("costCenter", "Identifies the name of a cost center."),
            s("organization", "Identifies the name of an organization."),
            s("division", "Identifies the name of a division."),
            s("department", "Identifies the name of a department."),
            Attribute::new("manager", Complex)
                .desc("The User's manager.")
                .subs(vec![
                    s(
                        "value",
                        "The id of the SCIM resource representing the User's manager.",
                    )
                    .name_like(),
                    Attribute::new("$ref", Reference)
                        .desc("The URI of the SCIM resource representing the User's manager.")
                        .refs(&["User"]),
                    s("displayName", "The displayName of the User's manager.")
                        .mutability(Mutability::ReadOnly),
                ]),
        ],
    }
}

pub fn access_schema() -> Schema {
    use AttrType::*;
    let s = |n: &str, d: &str| Attribute::new(n, String).desc(d);
    Schema {
        id: URN_ACCESS.into(),
        name: "RollcallAccess".into(),
        description: "Rollcall access: the user's type, role, plan and status in the data platform.".into(),
        attributes: vec![
            s("type", "User type: 'user' (full access) or 'viewer' (views what is shared with them, holds no admin role).")
                .canonical(&["user", "viewer"])
                .name_like(),
            s("role", "Workspace role from the tenant's role catalog.").name_like(),
            s("plan", "Personal plan; overrides group plans.").name_like(),
            s("status", "Lifecycle status.")
                .canonical(&["invited", "created", "active", "disabled", "banned", "deleted"])
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
            s("effectiveType", "The type in force, after local settings and role mapping.")
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
            s("effectiveRole", "The role in force, after local settings and role mapping.")
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
            s("effectivePlan", "The plan in force: personal, else group, else the tenant default.")
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
            s("typeSource", "Where the effective type came from.")
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
            s("roleSource", "Where the effective role came from.")
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
            s("planSource", "Where the effective plan came from.")
                .mutability(Mutability::ReadOnly)
                .returned(Returned::Request),
        ],
    }
}

pub fn group_schema() -> Schema {
    use AttrType::*;
    Schema {
        id: URN_GROUP.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            Attribute::new("displayName", String)
                .desc("A human-readable name for the Group. Unique per tenant.")
                .name_like()
                .required()
                .unique(Uniqueness::Server),
            Attribute::new("members", Complex)
                .desc("A list of members of the Group: Users or Groups.")
                .multi()
                .subs(vec![
                    Attribute::new("value", String)
                        .desc("Identifier of the member of this Group.")
                        .name_like()
                        .mutability(Mutability::Immutable),
                    Attribute::new("$ref", Reference)
                        .desc("The URI corresponding to a SCIM resource that is a member of this Group.")
                        .refs(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                    Attribute::new("type", String)
                        .desc("A label indicating the type of resource, e.g., 'User' or 'Group'.")
                        .canonical(&["User", "Group"])
                        .label()
                        .mutability(Mutability::Immutable),
                    Attribute::new("display", String)
                        .desc("A human-readable name of the member, as the client sent it."),
                ]),
        ],
    }
}

/// Everything the server announces and validates against.
#[derive(Debug, Clone)]
pub struct Registry {
    pub user: ResourceType,
    pub group: ResourceType,
    pub common: Vec<Attribute>,
}

/// Which of the two resource types a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self {
            user: ResourceType {
                name: "User".into(),
                endpoint: "/Users".into(),
                description: "User Account".into(),
                schema: user_schema(),
                extensions: vec![(enterprise_schema(), false), (access_schema(), false)],
            },
            group: ResourceType {
                name: "Group".into(),
                endpoint: "/Groups".into(),
                description: "Group".into(),
                schema: group_schema(),
                extensions: vec![],
            },
            common: common_attributes(),
        }
    }

    pub fn resource_type(&self, kind: Kind) -> &ResourceType {
        match kind {
            Kind::User => &self.user,
            Kind::Group => &self.group,
        }
    }

    pub fn resource_types(&self) -> [&ResourceType; 2] {
        [&self.user, &self.group]
    }

    /// Every distinct schema, in announcement order.
    pub fn schemas(&self) -> Vec<&Schema> {
        let mut out: Vec<&Schema> = Vec::new();
        for rt in self.resource_types() {
            for s in rt.all_schemas() {
                if !out.iter().any(|o| o.id == s.id) {
                    out.push(s);
                }
            }
        }
        out
    }

    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn common_attribute(&self, name: &str) -> Option<&Attribute> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}
