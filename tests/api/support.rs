//! Test harness: an app on a fresh database with a fixed clock and
//! sequential ids, and helpers to send requests through the router.
//!
//! The database is a new SQLite file, or — when `ROLLCALL_TEST_POSTGRES`
//! names a PostgreSQL server (`scripts/test` starts a private one) — a new
//! database on that server, so the whole suite runs against either store.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use rollcall::directory::scopes::Scopes;
use rollcall::directory::{tokens, Clock, Ctx, DirectoryConfig, IdGen};
use rollcall::http::HttpConfig;
use rollcall::store::{Store, Tenant};
use serde_json::Value;
use tempfile::TempDir;
use time::OffsetDateTime;
use tower::ServiceExt;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A clock that advances one second per reading, from a fixed start.
pub struct StepClock(AtomicI64);

impl Clock for StepClock {
    fn now(&self) -> OffsetDateTime {
        let s = self.0.fetch_add(1, Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).unwrap()
    }
}

impl StepClock {
    /// Jump ahead (retention windows, backoff).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// Ids `00000000-0000-4000-8000-000000000001`, `…02`, …
pub struct SeqIds(AtomicI64);

impl IdGen for SeqIds {
    fn new_id(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        format!("00000000-0000-4000-8000-{n:012}")
    }
}

pub struct TestApp {
    pub router: Router,
    pub store: Store,
    pub directory: Arc<rollcall::directory::Directory>,
    pub clock: Arc<StepClock>,
    pub token: String,
    pub tenant: Tenant,
    /// The database's URL (a test's own connection to it).
    pub url: String,
    pub _dir: TempDir,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// Asserts a SCIM error with this status and scimType.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/scim+json"),
            "error content type"
        );
        assert_eq!(
            self.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(self.body["status"], status.to_string());
        assert_eq!(
            self.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "body: {}",
            self.text
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a detail explains the error"
        );
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(HttpConfig::default()).await
    }

    pub async fn with_config(http: HttpConfig) -> Self {
        Self::with(http, DirectoryConfig::default()).await
    }

    /// An app whose directory follows this configuration (policy, hooks).
    pub async fn with_directory(directory: DirectoryConfig) -> Self {
        Self::with(HttpConfig::default(), directory).await
    }

    /// An app configured from TOML text, as `rollcall serve --config` would be.
    pub async fn from_toml(text: &str) -> Self {
        let cfg: rollcall::config::Config = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        let http = HttpConfig {
            max_payload_size: cfg.max_payload_size,
            limits: cfg.limits.clone(),
            rate_limit: cfg.rate_limit.clone(),
            group_patch_response: cfg.group_patch_response,
            ..Default::default()
        };
        let directory = DirectoryConfig {
            max_members_returned: cfg.max_members_returned,
            policy: Arc::new(cfg.policy()),
            hooks: cfg.hooks.clone(),
            delivery: cfg.delivery.clone(),
            invite_url: cfg.invite_url.clone(),
            invitation_ttl_hours: cfg.invitation_ttl_hours,
            email: cfg.email.as_ref().map(|e| e.resolve().unwrap()),
            max_patch_operations: cfg.limits.max_patch_operations,
            ..Default::default()
        };
        Self::with(http, directory).await
    }

    async fn with(http: HttpConfig, directory: DirectoryConfig) -> Self {
        let dir = TempDir::new().unwrap();
        let url = fresh_database(&dir);
        Self::on(dir, &url, http, directory).await
    }

    /// An app on the database at `url` (migrated now), kept in `dir`.
    pub async fn on(dir: TempDir, url: &str, http: HttpConfig, directory: DirectoryConfig) -> Self {
        let store = Store::connect_with(url, http.limits.lock_wait())
            .await
            .unwrap();
        let clock = Arc::new(StepClock(AtomicI64::new(0)));
        let state = rollcall::build_state(
            store.clone(),
            clock.clone(),
            Arc::new(SeqIds(AtomicI64::new(0))),
            http,
            directory,
        );
        let (tenant, token) = new_token(&store, "acme", "okta").await;
        TestApp {
            directory: state.directory.clone(),
            clock,
            router: rollcall::app(state),
            store,
            token,
            tenant,
            url: url.to_string(),
            _dir: dir,
        }
    }

    /// Every row of `table`, each cell as text (NULL and non-text cells
    /// empty, integers in digits): a test's look at what is stored.
    pub async fn dump_table(&self, table: &str) -> Vec<Vec<String>> {
        use sqlx::Row;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.url).await.unwrap();
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        r.try_get::<String, _>(i)
                            .or_else(|_| r.try_get::<i64, _>(i).map(|v| v.to_string()))
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect()
    }

    /// Another tenant's token on the same server.
    pub async fn token_for(&self, tenant: &str) -> String {
        new_token(&self.store, tenant, "other").await.1
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Request<Body> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "scim.test");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        match body {
            Some(v) => b
                .header("content-type", "application/scim+json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.send(self.request(method, path, body, Some(&self.token)))
            .await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Resp {
        self.send(self.request(method, path, body, Some(token)))
            .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    /// Create a user; returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let r = self
            .post(
                "/scim/v2/Users",
                &serde_json::json!({"schemas": [USER], "userName": user_name}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Create a user from a full body; returns the response body.
    pub async fn user_from(&self, body: Value) -> Value {
        let r = self.post("/scim/v2/Users", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }

    /// Create a group with members; returns its id.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let r = self
            .post(
                "/scim/v2/Groups",
                &serde_json::json!({"schemas": [GROUP], "displayName": name, "members": members}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// userNames of a filtered user list, in response order.
    pub async fn user_names(&self, query: &str) -> Vec<String> {
        let r = self.get(&format!("/scim/v2/Users?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The operator of this app's tenant (see [`operator_ctx`]).
    pub fn operator(&self) -> Ctx {
        operator_ctx(&self.tenant)
    }

    /// `GET /admin/v1/users/{key}`'s body, read as the operator; None when
    /// there is no such user.
    pub async fn user_detail(&self, key: &str) -> Option<Value> {
        let detail = self.directory.user_detail(&self.operator(), key).await;
        detail.ok().map(json_view)
    }

    /// `GET /admin/v1/seats`'s body, read as the operator.
    pub async fn seats(&self) -> Value {
        json_view(self.directory.seats(&self.operator()).await.unwrap())
    }

    pub async fn audit_count(&self) -> usize {
        self.store.audit_log(&self.tenant).await.unwrap().len()
    }
}

/// What the test tenant token holds: every scope a token that is not bound
/// to a user may hold, so the tests of SCIM, the audit trail, the event
/// feed and the host's reports can use it.
pub const TENANT_SCOPES: &str = "scim,events,audit,sign-in";

/// What test admin credentials hold: the admin API, and the tenant-wide
/// feeds and reports the tests read with them.
pub const ADMIN_SCOPES: &str = "admin,events,audit,sign-in";

pub async fn new_token(store: &Store, tenant: &str, label: &str) -> (Tenant, String) {
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let t = store.ensure_tenant(tenant, now).await.unwrap();
    let token = scoped_token(store, &t, None, TENANT_SCOPES, label).await;
    (t, token)
}

/// Admin credentials acting as user `user_id` of the tenant.
pub async fn admin_token(store: &Store, tenant: &Tenant, user_id: &str, label: &str) -> String {
    scoped_token(store, tenant, Some(user_id), ADMIN_SCOPES, label).await
}

/// A token with exactly these scopes (comma-separated), bound to a user or
/// not.
pub async fn scoped_token(
    store: &Store,
    tenant: &Tenant,
    user_id: Option<&str>,
    scopes: &str,
    label: &str,
) -> String {
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let scopes = Scopes::parse_list(scopes).unwrap();
    let (token, mut record) = tokens::generate(tenant, label, &scopes, now);
    record.user_id = user_id.map(str::to_string);
    store.insert_token(tenant, &record).await.unwrap();
    token
}

/// The installation's operator, as the `rollcall` command acts: tests that
/// inspect state where the tenant has no admin user read the admin views
/// through the directory with it.
pub fn operator_ctx(tenant: &Tenant) -> Ctx {
    Ctx {
        tenant: tenant.clone(),
        actor: "cli:test".into(),
        actor_user_id: None,
        source_ip: None,
        request_id: None,
        base_url: String::new(),
        operator: true,
    }
}

/// A view as the admin API answers it (JSON).
pub fn json_view<T: serde::Serialize>(view: T) -> Value {
    serde_json::to_value(view).unwrap()
}

pub fn patch_body(ops: Value) -> Value {
    serde_json::json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Percent-encode a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Whether this run targets PostgreSQL (`ROLLCALL_TEST_POSTGRES` is set).
pub fn on_postgres() -> bool {
    std::env::var_os("ROLLCALL_TEST_POSTGRES").is_some_and(|v| !v.is_empty())
}

/// A URL to a new, empty database: a SQLite file in `dir`, or a new database
/// on the PostgreSQL server `ROLLCALL_TEST_POSTGRES` names. Callable from
/// sync and async tests alike (the database is created on a thread of its
/// own).
pub fn fresh_database(dir: &TempDir) -> String {
    static NEXT: AtomicI64 = AtomicI64::new(0);
    if !on_postgres() {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        return format!(
            "sqlite://{}",
            dir.path().join(format!("rollcall-{n}.db")).display()
        );
    }
    let admin = std::env::var("ROLLCALL_TEST_POSTGRES").unwrap();
    let name = format!(
        "rc_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let create = format!("CREATE DATABASE {name}");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::postgres::PgConnection::connect(&admin).await.unwrap();
            conn.execute(create.as_str()).await.unwrap();
            conn.close().await.unwrap();
        });
    })
    .join()
    .unwrap();
    url
}
