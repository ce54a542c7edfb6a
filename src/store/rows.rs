//! Decoding rows into records, and the columns reads select.

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::{GroupFacts, StoreError, StoreResult, StoredResource, Tenant, TokenRecord, UserRecord};
use scim_protocol::datetime;
use scim_protocol::schema::Kind;

/// Columns every resource read selects (users add status and access).
pub(super) fn resource_columns(kind: Kind, prefix: &str) -> String {
    let p = prefix;
    match kind {
        Kind::User => format!(
            "{p}pk, {p}id, {p}data, {p}version, {p}created, {p}last_modified, {p}status, {p}access"
        ),
        Kind::Group => format!("{p}pk, {p}id, {p}data, {p}version, {p}created, {p}last_modified"),
    }
}

pub(super) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
    }
}

pub(super) fn parse_time(s: &str) -> StoreResult<OffsetDateTime> {
    datetime::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad timestamp {s}")))
}

pub(super) fn row_to_resource(row: &AnyRow) -> StoredResourceResult {
    let data: String = row.try_get("data")?;
    let data: Map<String, Value> =
        serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let status: Option<String> = row.try_get("status").ok().flatten();
    let access: Option<Value> = row
        .try_get::<Option<String>, _>("access")
        .ok()
        .flatten()
        .and_then(|a| serde_json::from_str(&a).ok());
    Ok(StoredResource {
        status,
        access,
        pk: row.try_get("pk")?,
        id: row.try_get("id")?,
        data,
        version: row.try_get("version")?,
        created: parse_time(&row.try_get::<String, _>("created")?)?,
        last_modified: parse_time(&row.try_get::<String, _>("last_modified")?)?,
    })
}

type StoredResourceResult = StoreResult<StoredResource>;

/// Case-insensitive text as stored and compared (`scim_protocol::text::fold`).
pub fn fold(s: &str) -> String {
    scim_protocol::text::fold(s)
}

pub(super) const USER_COLUMNS: &str = "pk, id, user_name, data, status, user_type, role, plan, access, local_access, managed,
    signed_in_at, last_sign_in_at, banned_at, ban_reason, deleted_at, deletion, purge_after, version, created, last_modified";

pub(super) fn parse_json(s: &str) -> StoreResult<Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn row_to_user(r: &AnyRow) -> StoreResult<UserRecord> {
    let data = match parse_json(&r.try_get::<String, _>("data")?)? {
        Value::Object(m) => m,
        _ => return Err(StoreError::Corrupt("user data is not an object".into())),
    };
    Ok(UserRecord {
        pk: r.try_get("pk")?,
        id: r.try_get("id")?,
        user_name: r.try_get("user_name")?,
        data,
        status: r.try_get("status")?,
        user_type: r.try_get("user_type")?,
        role: r.try_get("role")?,
        plan: r.try_get("plan")?,
        access: parse_json(&r.try_get::<String, _>("access")?)?,
        local: parse_json(&r.try_get::<String, _>("local_access")?)?,
        managed: r.try_get::<i64, _>("managed")? != 0,
        signed_in_at: r.try_get("signed_in_at")?,
        last_sign_in_at: r.try_get("last_sign_in_at")?,
        banned_at: r.try_get("banned_at")?,
        ban_reason: r.try_get("ban_reason")?,
        deleted_at: r.try_get("deleted_at")?,
        deletion: r
            .try_get::<Option<String>, _>("deletion")?
            .map(|d| parse_json(&d))
            .transpose()?,
        purge_after: r.try_get("purge_after")?,
        version: r.try_get("version")?,
        created: r.try_get("created")?,
        last_modified: r.try_get("last_modified")?,
    })
}

pub(super) fn str_at<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

pub(super) fn user_name(data: &Map<String, Value>) -> (String, String) {
    let n = str_at(data, "userName").unwrap_or_default().to_string();
    let ci = fold(&n);
    (n, ci)
}

pub(super) fn display_name(data: &Map<String, Value>) -> (String, String) {
    let n = str_at(data, "displayName").unwrap_or_default().to_string();
    let ci = fold(&n);
    (n, ci)
}

pub(super) fn external_id(data: &Map<String, Value>) -> Option<String> {
    str_at(data, "externalId").map(str::to_string)
}

pub(super) fn active(data: &Map<String, Value>) -> bool {
    data.get("active").and_then(Value::as_bool).unwrap_or(true)
}

pub fn group_facts(data: &Map<String, Value>) -> GroupFacts {
    GroupFacts {
        display_name: str_at(data, "displayName").unwrap_or_default().to_string(),
        external_id: external_id(data),
    }
}

pub(super) fn token_from_row(r: &AnyRow) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        id: r.try_get("id")?,
        tenant: Tenant {
            id: r.try_get("tenant_id")?,
            name: r.try_get("tenant_name")?,
        },
        label: r.try_get("label")?,
        secret_hash: r.try_get("secret_hash")?,
        created: r.try_get("created")?,
        revoked: r.try_get("revoked")?,
        user_id: r.try_get("user_id")?,
        scopes: r
            .try_get::<String, _>("scopes")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        last_used_at: r.try_get("last_used_at")?,
        created_by: r.try_get("created_by")?,
        created_by_user_id: r.try_get("created_by_user_id")?,
    })
}
