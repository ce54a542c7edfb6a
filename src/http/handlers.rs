//! Route handlers: a few lines each.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::{ListParams, ScimJson, ScimPath};
use super::{AppState, REQUEST_ID, SCIM_CONTENT_TYPE};
use crate::directory::{Ctx, Resource};
use crate::scim::etag;
use crate::scim::list::{list_response, parse_list_query, ListQuery, RawListParams};
use crate::scim::projection::Projection;
use crate::scim::render::{representation, Meta};
use crate::scim::schema::Kind;
use crate::scim::{discovery, ScimError};

type ApiResult<T = Response> = Result<T, ApiError>;

/// The request context: tenant and actor (from the token), client IP,
/// request id and the base URL the client used.
pub struct RequestCtx(pub Ctx);

pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.http.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}/scim/v2")
}

impl FromRequestParts<AppState> for RequestCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError(ScimError::unauthorized("authentication required")))?;
        let source_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if principal.user_id.is_some() {
            return Err(ApiError(ScimError::new(
                403,
                None,
                "this token is an admin credential bound to a user; provisioning uses a tenant token",
            )));
        }
        Ok(RequestCtx(Ctx {
            tenant: principal.tenant,
            actor: principal.actor,
            actor_user_id: None,
            source_ip,
            request_id,
            base_url: base_url(state, &parts.headers),
            operator: false,
        }))
    }
}

/// A SCIM JSON response.
fn scim(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    r
}

fn render(state: &AppState, ctx: &Ctx, res: &Resource, projection: &Projection) -> Value {
    let registry = &state.directory.registry;
    let rt = registry.resource_type(res.kind);
    let full = representation(
        rt,
        &ctx.base_url,
        &res.stored.id,
        &res.stored.data,
        res.computed.clone(),
        &Meta {
            created: res.stored.created,
            last_modified: res.stored.last_modified,
            version: res.stored.version,
        },
    );
    Value::Object(projection.apply(registry, rt, &full))
}

/// One resource with its ETag (and Location on create).
fn resource_response(
    state: &AppState,
    ctx: &Ctx,
    res: &Resource,
    status: StatusCode,
    projection: &Projection,
) -> Response {
    let body = render(state, ctx, res, projection);
    let mut r = scim(status, body);
    if let Ok(v) = HeaderValue::from_str(&etag::etag(res.stored.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        let loc = format!(
            "{}{}/{}",
            ctx.base_url,
            state.directory.registry.resource_type(res.kind).endpoint,
            res.stored.id
        );
        if let Ok(v) = HeaderValue::from_str(&loc) {
            r.headers_mut().insert(header::LOCATION, v);
        }
    }
    r
}

/// `If-Match`; a value that is not text can match no version (so 412).
fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn projection_only(state: &AppState, kind: Kind, params: &RawListParams) -> ApiResult<Projection> {
    let registry = &state.directory.registry;
    let q = parse_list_query(
        registry,
        registry.resource_type(kind),
        &RawListParams {
            attributes: params.attributes.clone(),
            excluded_attributes: params.excluded_attributes.clone(),
            ..Default::default()
        },
        state.http.page,
    )?;
    Ok(q.projection)
}

fn parse_query(state: &AppState, kind: Kind, params: &RawListParams) -> ApiResult<ListQuery> {
    let registry = &state.directory.registry;
    Ok(parse_list_query(
        registry,
        registry.resource_type(kind),
        params,
        state.http.page,
    )?)
}

async fn do_list(state: &AppState, ctx: &Ctx, kind: Kind, params: &RawListParams) -> ApiResult {
    let q = parse_query(state, kind, params)?;
    if let Some(cursor) = q.cursor {
        let (total, items, next, previous) =
            state.directory.list_cursor(ctx, kind, &q, cursor).await?;
        let resources = items
            .iter()
            .map(|r| render(state, ctx, r, &q.projection))
            .collect();
        return Ok(scim(
            StatusCode::OK,
            crate::scim::list::cursor_list_response(total, resources, next, previous),
        ));
    }
    let (total, items) = state.directory.list(ctx, kind, &q).await?;
    let resources = items
        .iter()
        .map(|r| render(state, ctx, r, &q.projection))
        .collect();
    Ok(scim(
        StatusCode::OK,
        list_response(total, q.start_index, resources),
    ))
}

async fn do_get(
    state: &AppState,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    params: &RawListParams,
    headers: &HeaderMap,
) -> ApiResult {
    let projection = projection_only(state, kind, params)?;
    let res = state.directory.get(ctx, kind, id, &projection).await?;
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        if etag::matches(inm, res.stored.version) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&etag::etag(res.stored.version)) {
                r.headers_mut().insert(header::ETAG, v);
            }
            return Ok(r);
        }
    }
    Ok(resource_response(
        state,
        ctx,
        &res,
        StatusCode::OK,
        &projection,
    ))
}

async fn do_create(
    state: &AppState,
    ctx: &Ctx,
    kind: Kind,
    body: &Value,
    params: &RawListParams,
) -> ApiResult {
    let projection = projection_only(state, kind, params)?;
    let res = state.directory.create(ctx, kind, body, &projection).await?;
    Ok(resource_response(
        state,
        ctx,
        &res,
        StatusCode::CREATED,
        &projection,
    ))
}

/// PUT or PATCH of one resource.
#[derive(Clone, Copy)]
enum Write {
    Replace,
    Patch,
}

#[allow(clippy::too_many_arguments)]
async fn do_write(
    state: &AppState,
    ctx: &Ctx,
    kind: Kind,
    write: Write,
    id: &str,
    body: &Value,
    headers: &HeaderMap,
    params: &RawListParams,
) -> ApiResult {
    let projection = projection_only(state, kind, params)?;
    let tag = if_match(headers);
    let dir = &state.directory;
    let res = match write {
        Write::Replace => {
            dir.replace(ctx, kind, id, body, tag.as_deref(), &projection)
                .await?
        }
        Write::Patch => {
            dir.patch(ctx, kind, id, body, tag.as_deref(), &projection)
                .await?
        }
    };
    Ok(resource_response(
        state,
        ctx,
        &res,
        StatusCode::OK,
        &projection,
    ))
}

async fn do_delete(
    state: &AppState,
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
) -> ApiResult {
    state
        .directory
        .delete(ctx, kind, id, if_match(headers).as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn do_search(state: &AppState, ctx: &Ctx, kind: Kind, body: &Value) -> ApiResult {
    let params = RawListParams::from_search_body(body)?;
    do_list(state, ctx, kind, &params).await
}

macro_rules! resource_handlers {
    ($kind:expr, $list:ident, $create:ident, $search:ident, $get:ident, $replace:ident, $patch:ident, $delete:ident) => {
        pub async fn $list(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ListParams(p): ListParams,
        ) -> ApiResult {
            do_list(&s, &ctx, $kind, &p).await
        }
        pub async fn $create(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ListParams(p): ListParams,
            ScimJson(body): ScimJson,
        ) -> ApiResult {
            do_create(&s, &ctx, $kind, &body, &p).await
        }
        pub async fn $search(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ScimJson(body): ScimJson,
        ) -> ApiResult {
            do_search(&s, &ctx, $kind, &body).await
        }
        pub async fn $get(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ScimPath(id): ScimPath,
            ListParams(p): ListParams,
            headers: HeaderMap,
        ) -> ApiResult {
            do_get(&s, &ctx, $kind, &id, &p, &headers).await
        }
        pub async fn $replace(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ScimPath(id): ScimPath,
            ListParams(p): ListParams,
            headers: HeaderMap,
            ScimJson(body): ScimJson,
        ) -> ApiResult {
            do_write(&s, &ctx, $kind, Write::Replace, &id, &body, &headers, &p).await
        }
        pub async fn $patch(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ScimPath(id): ScimPath,
            ListParams(p): ListParams,
            headers: HeaderMap,
            ScimJson(body): ScimJson,
        ) -> ApiResult {
            do_write(&s, &ctx, $kind, Write::Patch, &id, &body, &headers, &p).await
        }
        pub async fn $delete(
            State(s): State<AppState>,
            RequestCtx(ctx): RequestCtx,
            ScimPath(id): ScimPath,
            headers: HeaderMap,
        ) -> ApiResult {
            do_delete(&s, &ctx, $kind, &id, &headers).await
        }
    };
}

resource_handlers!(
    Kind::User,
    list_users,
    create_user,
    search_users,
    get_user,
    replace_user,
    patch_user,
    delete_user
);
resource_handlers!(
    Kind::Group,
    list_groups,
    create_group,
    search_groups,
    get_group,
    replace_group,
    patch_group,
    delete_group
);

/// POST /.search: Users then Groups, paged as one list. A filter that names
/// attributes one type lacks simply matches nothing of that type.
pub async fn search_all(
    State(s): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ScimJson(body): ScimJson,
) -> ApiResult {
    let params = RawListParams::from_search_body(&body)?;
    if params.cursor.is_some() {
        return Err(ApiError(ScimError::invalid_value(
            "cursor pagination is per resource type: search /Users/.search or /Groups/.search",
        )));
    }
    let mut queries = Vec::new();
    let mut first_err = None;
    for kind in [Kind::User, Kind::Group] {
        match parse_query(&s, kind, &params) {
            Ok(q) => queries.push((kind, q)),
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    if queries.is_empty() {
        return Err(
            first_err.unwrap_or_else(|| ApiError(ScimError::invalid_filter("invalid search")))
        );
    }
    let start = queries.first().map(|(_, q)| q.start_index).unwrap_or(1);
    let count = queries.first().map(|(_, q)| q.count).unwrap_or(0);
    let mut total = 0;
    let mut resources = Vec::new();
    let mut skip = start - 1;
    let mut want = count;
    for (kind, mut q) in queries {
        // One query per type: its total, and what falls into the window.
        q.start_index = skip + 1;
        q.count = want;
        let (n, items) = s.directory.list(&ctx, kind, &q).await?;
        total += n;
        want -= items.len() as i64;
        resources.extend(items.iter().map(|r| render(&s, &ctx, r, &q.projection)));
        skip = (skip - n).max(0);
    }
    Ok(scim(StatusCode::OK, list_response(total, start, resources)))
}

/// `POST /Bulk` (RFC 7644 §3.7): operations run one by one, each in its own
/// transaction, creators of a `bulkId` before the operations referring to it.
pub async fn bulk(
    State(s): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ScimJson(body): ScimJson,
) -> ApiResult {
    use crate::scim::bulk::{self, BulkMethod, URN_BULK_RESPONSE};
    let req = bulk::parse(body, s.http.bulk_max_operations)?;
    let (order, stuck) = bulk::plan(&req.ops);
    let mut created: std::collections::HashMap<String, String> = Default::default();
    let mut results: Vec<(usize, Value)> = Vec::with_capacity(req.ops.len());
    let mut errors = 0usize;
    let id_only = RawListParams {
        attributes: Some("id".into()),
        ..Default::default()
    };
    let stopped = |errors: usize| req.fail_on_errors.is_some_and(|max| errors >= max);
    for i in order {
        if stopped(errors) {
            break;
        }
        let op = &req.ops[i];
        let mut entry = serde_json::Map::new();
        entry.insert("method".into(), op.method_text.to_ascii_uppercase().into());
        if let Some(b) = &op.bulk_id {
            entry.insert("bulkId".into(), b.clone().into());
        }
        let outcome: Result<(u16, Option<Resource>, String), ScimError> = async {
            let (method, kind, id) = op.parsed.clone()?;
            let unresolved = |b: String| {
                ScimError::conflict(format!(
                    "bulkId \"{b}\" did not resolve: no operation created it, or it failed"
                ))
            };
            let data = match &op.data {
                Some(d) => bulk::substitute(d, &created).map_err(unresolved)?,
                None => Value::Null,
            };
            let id = id
                .map(|i| bulk::resolve_id(&i, &created))
                .transpose()
                .map_err(unresolved)?;
            let projection = projection_only(&s, kind, &id_only).map_err(|e| e.0)?;
            let dir = &s.directory;
            let tag = op.version.as_deref();
            let endpoint = dir.registry.resource_type(kind).endpoint.clone();
            let location = |id: &str| format!("{}{}/{}", ctx.base_url, endpoint, id);
            let to_scim = |e: crate::directory::DirectoryError| e.to_scim();
            Ok(match (method, id) {
                (BulkMethod::Post, _) => {
                    let r = dir
                        .create(&ctx, kind, &data, &projection)
                        .await
                        .map_err(to_scim)?;
                    let loc = location(&r.stored.id);
                    (201, Some(r), loc)
                }
                (BulkMethod::Put, Some(id)) => {
                    let r = dir
                        .replace(&ctx, kind, &id, &data, tag, &projection)
                        .await
                        .map_err(to_scim)?;
                    (200, Some(r), location(&id))
                }
                (BulkMethod::Patch, Some(id)) => {
                    let r = dir
                        .patch(&ctx, kind, &id, &data, tag, &projection)
                        .await
                        .map_err(to_scim)?;
                    (200, Some(r), location(&id))
                }
                (BulkMethod::Delete, Some(id)) => {
                    dir.delete(&ctx, kind, &id, tag).await.map_err(to_scim)?;
                    (204, None, location(&id))
                }
                (_, None) => return Err(ScimError::invalid_path("a resource path is needed")),
            })
        }
        .await;
        match outcome {
            Ok((status, res, loc)) => {
                if let (Some(b), Some(r)) = (&op.bulk_id, &res) {
                    if status == 201 {
                        created.insert(b.clone(), r.stored.id.clone());
                    }
                }
                entry.insert("location".into(), loc.into());
                if let Some(r) = &res {
                    entry.insert("version".into(), etag::etag(r.stored.version).into());
                }
                entry.insert("status".into(), status.to_string().into());
            }
            Err(e) => {
                errors += 1;
                entry.insert("status".into(), e.status.to_string().into());
                entry.insert("response".into(), e.to_json());
            }
        }
        results.push((i, Value::Object(entry)));
    }
    // Operations caught in a circular reference: each a 409, counted
    // toward failOnErrors like any other error.
    for i in stuck {
        if stopped(errors) {
            break;
        }
        errors += 1;
        let op = &req.ops[i];
        let e = ScimError::conflict(
                "circular bulkId reference: this operation and the ones it refers to wait for each other",
            );
        let mut entry = serde_json::Map::new();
        entry.insert("method".into(), op.method_text.to_ascii_uppercase().into());
        if let Some(b) = &op.bulk_id {
            entry.insert("bulkId".into(), b.clone().into());
        }
        entry.insert("status".into(), "409".into());
        entry.insert("response".into(), e.to_json());
        results.push((i, Value::Object(entry)));
    }
    // Answer in request order.
    results.sort_by_key(|(i, _)| *i);
    Ok(scim(
        StatusCode::OK,
        json!({
            "schemas": [URN_BULK_RESPONSE],
            "Operations": results.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }),
    ))
}

pub async fn me() -> ApiResult {
    Err(ApiError(ScimError::not_implemented(
        "/Me is not available: Rollcall is provisioned by identity providers, and users do not sign in to it",
    )))
}

pub async fn service_provider_config(State(s): State<AppState>, headers: HeaderMap) -> Response {
    scim(
        StatusCode::OK,
        discovery::service_provider_config(&base_url(&s, &headers), &s.capabilities()),
    )
}

fn list_of(items: Vec<Value>) -> Value {
    list_response(items.len() as i64, 1, items)
}

pub async fn resource_types(
    State(s): State<AppState>,
    headers: HeaderMap,
    ListParams(p): ListParams,
) -> ApiResult {
    reject_filter(&p)?;
    let base = base_url(&s, &headers);
    let items = s
        .directory
        .registry
        .resource_types()
        .iter()
        .map(|rt| rt.to_json(&base))
        .collect();
    Ok(scim(StatusCode::OK, list_of(items)))
}

pub async fn resource_type(
    State(s): State<AppState>,
    headers: HeaderMap,
    ScimPath(id): ScimPath,
) -> ApiResult {
    let base = base_url(&s, &headers);
    let rt = s
        .directory
        .registry
        .resource_types()
        .into_iter()
        .find(|rt| rt.name == id)
        .ok_or_else(|| ApiError(ScimError::not_found(format!("no resource type \"{id}\""))))?;
    Ok(scim(StatusCode::OK, rt.to_json(&base)))
}

pub async fn schemas(
    State(s): State<AppState>,
    headers: HeaderMap,
    ListParams(p): ListParams,
) -> ApiResult {
    reject_filter(&p)?;
    let base = base_url(&s, &headers);
    let items = s
        .directory
        .registry
        .schemas()
        .iter()
        .map(|sc| sc.to_json(&base))
        .collect();
    Ok(scim(StatusCode::OK, list_of(items)))
}

pub async fn schema(
    State(s): State<AppState>,
    headers: HeaderMap,
    ScimPath(id): ScimPath,
) -> ApiResult {
    let base = base_url(&s, &headers);
    let sc = s
        .directory
        .registry
        .schema(&id)
        .ok_or_else(|| ApiError(ScimError::not_found(format!("no schema \"{id}\""))))?;
    Ok(scim(StatusCode::OK, sc.to_json(&base)))
}

/// RFC 7644 §4: filtering discovery endpoints is not supported (403).
fn reject_filter(p: &RawListParams) -> ApiResult<()> {
    if p.filter.is_some() {
        return Err(ApiError(ScimError::new(
            403,
            None,
            "filtering is not supported on discovery endpoints",
        )));
    }
    Ok(())
}

pub async fn not_found() -> ApiResult {
    Err(ApiError(ScimError::not_found("no such endpoint")))
}

pub async fn healthz() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"status": "ok"}).to_string(),
    )
        .into_response()
}

pub async fn readyz(State(s): State<AppState>) -> Response {
    match s.directory.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"status": "ready"}).to_string(),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                json!({"status": "unavailable", "detail": "database not reachable"}).to_string(),
            )
                .into_response()
        }
    }
}

pub async fn metrics(State(s): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}
