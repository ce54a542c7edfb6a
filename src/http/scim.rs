//! The SCIM endpoints (`/scim/v2`): a few lines each — parse, ask the
//! directory, render.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::Principal;
use super::error::{scim_error, ApiError};
use super::extract::{ListParams, ScimJson, ScimPath};
use super::{AppState, REQUEST_ID, SCIM_CONTENT_TYPE};
use crate::directory::{Ctx, Resource};
use scim_protocol::etag;
use scim_protocol::list::{list_response, parse_list_query, ListQuery, RawListParams};
use scim_protocol::projection::Projection;
use scim_protocol::render::{representation, Meta};
use scim_protocol::schema::Kind;
use scim_protocol::{bulk, discovery, ScimError};

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
            scim_protocol::list::cursor_list_response(total, resources, next, previous),
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
    let no_content = matches!(write, Write::Patch)
        && kind == Kind::Group
        && state.http.group_patch_response == crate::http::GroupPatchResponse::NoContent
        && params.attributes.is_none()
        && params.excluded_attributes.is_none();
    let projection = if no_content {
        // Nothing of the group is answered: its members are never read.
        let members_left_out = RawListParams {
            excluded_attributes: Some("members".into()),
            ..Default::default()
        };
        projection_only(state, kind, &members_left_out)?
    } else {
        projection_only(state, kind, params)?
    };
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
    if no_content {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag::etag(res.stored.version)) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
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

/// POST /.search: Users then Groups, paged as one list (the directory runs
/// it; see `directory::search`).
pub async fn search_all(
    State(s): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ScimJson(body): ScimJson,
) -> ApiResult {
    let params = RawListParams::from_search_body(&body)?;
    let page = s.directory.search_all(&ctx, &params, s.http.page).await?;
    let resources = page
        .parts
        .iter()
        .flat_map(|p| {
            p.resources
                .iter()
                .map(|r| render(&s, &ctx, r, &p.projection))
        })
        .collect();
    Ok(scim(
        StatusCode::OK,
        list_response(page.total, page.start_index, resources),
    ))
}

/// `POST /Bulk` (RFC 7644 §3.7): the directory runs the operations (see
/// `directory::bulk`); each failure is answered as its SCIM error.
pub async fn bulk(
    State(s): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    cancel: Option<axum::Extension<crate::directory::Cancel>>,
    ScimJson(body): ScimJson,
) -> ApiResult {
    let req = bulk::parse(body, s.http.bulk_max_operations)?;
    let cancel = cancel.map(|c| c.0).unwrap_or_default();
    let outcome = s.directory.bulk(&ctx, req, &cancel).await;
    let operations: Vec<_> = outcome
        .operations
        .into_iter()
        .map(|o| o.map_err(|e| scim_error(&e)))
        .collect();
    for o in &operations {
        let op = (o.kind, crate::http::metrics::bulk_operation(&o.method));
        if let (Some(kind), Some(operation)) = op {
            let status = match &o.result {
                Ok(_) => 200,
                Err(e) => e.status,
            };
            s.metrics
                .count_scim_operation(kind.name(), operation, status, "bulk");
        }
    }
    Ok(scim(StatusCode::OK, bulk::response(operations)))
}

pub async fn me() -> ApiResult {
    Err(ApiError(ScimError::not_implemented(
        "/Me is not available: a SCIM credential here belongs to an identity provider, not to a user acting for themself",
    )))
}

pub async fn service_provider_config(State(s): State<AppState>, headers: HeaderMap) -> Response {
    scim(
        StatusCode::OK,
        discovery::service_provider_config_documented(
            &base_url(&s, &headers),
            &s.capabilities(),
            s.http.documentation_uri.as_deref(),
        ),
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
