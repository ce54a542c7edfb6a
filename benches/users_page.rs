//! The console's Users page and the admin user list at 100,000 users: the
//! server-side render of `GET /console/users?search=…&sort=email&order=asc`
//! through the in-process router with a real console session, and
//! `GET /admin/v1/users?search=…` for comparison.
//!
//! The users are seeded straight through the store, 5,000 to a write
//! transaction, into `target/bench-users-100k.sqlite`, which later runs
//! reuse (delete it to seed again; migrations run on it at every start).
//! With `ROLLCALL_BENCH_POSTGRES=postgres://…` the same runs on that
//! database too (tenant `bench`, seeded once); `ROLLCALL_BENCH_ONLY=postgres`
//! skips SQLite.
//!
//! `cargo bench --bench users_page`

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::BodyExt;
use rollcall::directory::scopes::Scopes;
use rollcall::directory::{tokens, Ctx, DirectoryConfig, SystemClock, UuidGen};
use rollcall::http::HttpConfig;
use rollcall::store::{Access, Store, Tenant};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const USERS: usize = 100_000;
const PER_TX: usize = 5_000;
const TENANT: &str = "bench";
const ROOT: &str = "root@bench.test";

const FIRST: [&str; 24] = [
    "ana", "maria", "john", "wei", "fatima", "olga", "pierre", "kenji", "amara", "lucas", "sofia",
    "omar", "ingrid", "raj", "chloe", "diego", "hana", "ivan", "lena", "mateo", "nora", "pavel",
    "quinn", "zoe",
];
const LAST: [&str; 20] = [
    "lopez", "smith", "chen", "okafor", "novak", "dubois", "tanaka", "silva", "haddad", "berg",
    "kowalski", "rossi", "nguyen", "garcia", "muller", "ivanova", "patel", "kim", "moreau",
    "jones",
];

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The SCIM data of seeded user `i`: "Maria Chen", maria.chen.4242@….
/// Six in ten are active (signed in), one in ten disabled, the rest
/// never signed in.
fn user_data(i: usize) -> Map<String, Value> {
    let (f, l) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    let email = format!("{f}.{l}.{i}@example{}.com", i % 7);
    let v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "displayName": format!("{} {}", title(f), title(l)),
        "name": {"givenName": title(f), "familyName": title(l)},
        "active": !i.is_multiple_of(10),
        "emails": [{"value": email, "type": "work", "primary": true}],
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn access(i: usize) -> Access {
    let (user_type, role) = match i % 10 {
        0..=5 => ("user", "member"),
        6 | 7 => ("viewer", "read-only"),
        8 => ("user", "power-user"),
        _ => ("user", "admin"),
    };
    Access {
        user_type: user_type.into(),
        role: role.into(),
        rank: 0,
        plan: Some("basic".into()),
        explain: json!({}),
    }
}

fn operator(tenant: &Tenant) -> Ctx {
    Ctx {
        tenant: tenant.clone(),
        actor: "cli:bench".into(),
        actor_user_id: None,
        source_ip: None,
        request_id: None,
        base_url: String::new(),
        operator: true,
    }
}

/// Seed the users the tenant lacks, `PER_TX` to a transaction.
async fn seed(store: &Store, tenant: &Tenant, have: usize) {
    let now = "2026-01-01T00:00:00Z";
    let mut i = have;
    while i < USERS {
        let mut tx = store.write(tenant).await.unwrap_or_else(|e| fail(e));
        for j in i..(i + PER_TX).min(USERS) {
            let id = format!("00000000-0000-4000-8000-{j:012}");
            let (pk, _) = tx
                .insert_user(&id, &user_data(j), &access(j), now)
                .await
                .unwrap_or_else(|e| fail(e));
            // Six in ten have signed in (status active, a last login).
            if (1..=6).contains(&(j % 10)) {
                let at = format!("2026-02-{:02}T10:00:00Z", 1 + j % 28);
                tx.mark_signed_in(pk, &at).await.unwrap_or_else(|e| fail(e));
            }
        }
        tx.commit().await.unwrap_or_else(|e| fail(e));
        i += PER_TX;
    }
}

fn fail<E: std::fmt::Display>(e: E) -> ! {
    eprintln!("users_page bench: {e}");
    std::process::exit(1)
}

/// A router on `url` with 100,000 seeded users and a super-admin `ROOT`;
/// the console session cookie and an admin token of ROOT's.
async fn setup(url: &str) -> (Router, String, String) {
    let store = Store::connect(url).await.unwrap_or_else(|e| fail(e));
    let now = OffsetDateTime::now_utc();
    let tenant = store
        .ensure_tenant(TENANT, now)
        .await
        .unwrap_or_else(|e| fail(e));
    let have = seeded(&store, &tenant).await;
    if have < USERS {
        eprintln!("seeding {} users into {url} …", USERS - have);
        seed(&store, &tenant, have).await;
    }
    let cfg: rollcall::config::Config = toml::from_str(&format!(
        "[tenants.{TENANT}]\nsuper_admins = [\"{ROOT}\"]\n"
    ))
    .unwrap_or_else(|e| fail(e));
    let state = rollcall::build_state(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(UuidGen),
        HttpConfig::default(),
        DirectoryConfig {
            policy: Arc::new(cfg.policy()),
            ..Default::default()
        },
    );
    let directory = state.directory.clone();
    let router = rollcall::app(state);
    let scim = token(&store, &tenant, None, "scim").await;
    let root = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": ROOT, "displayName": "Root", "emails": [{"value": ROOT, "primary": true}]});
    let req = Request::post("/scim/v2/Users")
        .header("authorization", format!("Bearer {scim}"))
        .header("content-type", "application/scim+json")
        .body(Body::from(root.to_string()))
        .unwrap_or_else(|e| fail(e));
    let r = call(&router, req).await;
    if r.0 != StatusCode::CREATED && r.0 != StatusCode::CONFLICT {
        fail(format!("creating {ROOT}: {} {}", r.0, r.1));
    }
    let root_id = directory
        .user_detail(&operator(&tenant), ROOT)
        .await
        .unwrap_or_else(|e| fail(e))
        .user
        .id;
    let admin = token(&store, &tenant, Some(&root_id), "admin").await;
    let link = directory
        .issue_login_link(&operator(&tenant), ROOT)
        .await
        .unwrap_or_else(|e| fail(e))
        .secret;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("link", &link)
        .finish();
    let req = Request::post("/console/login")
        .header("host", "bench.test")
        .header("origin", "http://bench.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap_or_else(|e| fail(e));
    let r = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| fail(e));
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .unwrap_or_else(|| fail("no console session cookie"));
    (router, cookie, admin)
}

/// How many users the tenant holds.
async fn seeded(store: &Store, tenant: &Tenant) -> usize {
    let q = rollcall::store::UserListQuery {
        search: None,
        statuses: vec![],
        user_type: None,
        role: None,
        group: None,
        sort: rollcall::store::UserSort::Created,
        descending: false,
        offset: 0,
        limit: 1,
    };
    store
        .admin_users(tenant, &q)
        .await
        .map(|(_, n)| n as usize)
        .unwrap_or_else(|e| fail(e))
}

async fn token(store: &Store, tenant: &Tenant, user: Option<&str>, kind: &str) -> String {
    let scopes = if user.is_some() { "admin" } else { "scim" };
    let scopes = Scopes::parse_list(scopes).unwrap_or_else(|e| fail(e));
    let (token, mut record) = tokens::generate(tenant, kind, &scopes, OffsetDateTime::now_utc());
    record.user_id = user.map(str::to_string);
    store
        .insert_token(tenant, &record)
        .await
        .unwrap_or_else(|e| fail(e));
    token
}

async fn send(router: &Router, req: axum::http::request::Builder) -> (StatusCode, String) {
    let req = req.body(Body::empty()).unwrap_or_else(|e| fail(e));
    call(router, req).await
}

async fn call(router: &Router, req: Request<Body>) -> (StatusCode, String) {
    let r = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| fail(e));
    let status = r.status();
    let body = r
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    (status, body)
}

fn sqlite_url() -> String {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let _ = std::fs::create_dir_all(&target);
    format!(
        "sqlite://{}",
        target.join("bench-users-100k.sqlite").display()
    )
}

/// The requests measured: (name, path, with the console cookie or the
/// admin token).
const CASES: [(&str, &str, bool); 6] = [
    (
        "console_search_word_sort_email",
        "/console/users?search=maria&sort=email&order=asc",
        true,
    ),
    (
        "console_search_prefix_sort_email",
        "/console/users?search=maria.ch&sort=email&order=asc",
        true,
    ),
    (
        "console_no_search_sort_email",
        "/console/users?sort=email&order=asc",
        true,
    ),
    (
        "console_filters_search",
        "/console/users?search=lopez&status=active&type=user&role=member&sort=email&order=asc",
        true,
    ),
    (
        "console_search_one_char",
        "/console/users?search=m&sort=email&order=asc",
        true,
    ),
    (
        "admin_api_search_word",
        "/admin/v1/users?search=maria&sort=email&order=asc",
        false,
    ),
];

fn bench_on(c: &mut Criterion, rt: &Runtime, store: &str, url: &str) {
    let (router, cookie, admin) = rt.block_on(setup(url));
    let mut g = c.benchmark_group(format!("users_page_{store}"));
    g.sample_size(20);
    for (name, path, console) in CASES {
        let request = || {
            let b = Request::get(path).header("host", "bench.test");
            if console {
                b.header("cookie", cookie.clone())
            } else {
                b.header("authorization", format!("Bearer {admin}"))
            }
        };
        let (status, body) = rt.block_on(send(&router, request()));
        if status != StatusCode::OK {
            fail(format!("{path}: {status} {body}"));
        }
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(send(&router, request())));
        });
    }
    g.finish();
}

fn users_page(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| fail(e));
    if std::env::var("ROLLCALL_BENCH_ONLY").as_deref() != Ok("postgres") {
        bench_on(c, &rt, "sqlite", &sqlite_url());
    }
    if let Ok(url) = std::env::var("ROLLCALL_BENCH_POSTGRES") {
        bench_on(c, &rt, "postgres", &url);
    }
}

criterion_group!(benches, users_page);
criterion_main!(benches);
