//! A purge leaves nothing of the person behind (`directory/lifecycle/purge.rs`):
//! a scenario puts a user's strings in every place the directory writes
//! them — an invitation, console sessions and sign-in links, tokens, the
//! search index, audit rows and events, deprovisioning jobs and their
//! report rows, another user's deletion and ownership transfer naming them
//! as successor, the tenant's fallback owner, an ambiguous match — and then
//! every text column of every table of the database (listed from the
//! database's own catalogue, so a table added later is searched too) is
//! searched for each of their values.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

use crate::directory::admin;
use crate::lifecycle::{Receiver, SECRET};
use crate::support::{admin_token, on_postgres, operator_ctx, patch_body, TestApp, USER};

/// The leaver's values. `qy` (the userName) and `Xo` (a middle name) are
/// two letters long.
const VALUES: [&str; 10] = [
    "qy",
    "Xo",
    "zephyrine.quill@acme.test",
    "Zephyrine Quill",
    "Zephyrine Xo Quill",
    "Zephyrine",
    "Quill",
    "Zeph",
    "HR-7731-ZQ",
    "+1 555 0199",
];

/// Where a value is found: table, column, the text.
type Hit = (String, String, String);

/// Whether `text` holds `value`: anywhere (case-insensitively) for a value
/// of 3 characters or more, as a whole word for a shorter one (`qy` is no
/// part of `query`).
fn holds(text: &str, value: &str) -> bool {
    let (t, v) = (text.to_lowercase(), value.to_lowercase());
    if v.chars().count() >= 3 {
        return t.contains(&v);
    }
    t.split(|c: char| !c.is_alphanumeric()).any(|w| w == v)
}

/// Every (table, text column) of the database, from its catalogue.
async fn text_columns(pool: &sqlx::AnyPool) -> Vec<(String, String)> {
    if on_postgres() {
        let rows = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
             ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        return rows
            .iter()
            .map(|r| (r.get::<String, _>("t"), r.get::<String, _>("c")))
            .collect();
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let cols = sqlx::query(&format!("SELECT name, type FROM pragma_table_xinfo('{t}')"))
            .fetch_all(pool)
            .await
            .unwrap();
        for c in cols {
            let ty: String = c.get("type");
            if ty.is_empty() || ty.to_uppercase().contains("TEXT") {
                out.push((t.clone(), c.get::<String, _>("name")));
            }
        }
    }
    out
}

/// Every place in the database that holds one of `values`.
async fn search(app: &TestApp, values: &[&str]) -> Vec<Hit> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.url).await.unwrap();
    let columns = text_columns(&pool).await;
    assert!(columns.len() > 60, "{} text columns", columns.len());
    let mut hits = Vec::new();
    for (t, c) in columns {
        let cell = if on_postgres() {
            format!("\"{c}\"::text")
        } else {
            format!("CAST(\"{c}\" AS TEXT)")
        };
        let texts: Vec<Option<String>> = sqlx::query_scalar(&format!("SELECT {cell} FROM \"{t}\""))
            .fetch_all(&pool)
            .await
            .unwrap();
        for text in texts.into_iter().flatten() {
            if values.iter().any(|v| holds(&text, v)) {
                hits.push((t.clone(), c.clone(), text));
            }
        }
    }
    pool.close().await;
    hits
}

/// A console session of `user_id`, signed in with a one-time link.
async fn console_session(app: &TestApp, user_id: &str) {
    let link = app
        .directory
        .issue_login_link(&operator_ctx(&app.tenant), user_id)
        .await
        .unwrap();
    let form = format!("link={}", link.secret);
    let r = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/console/login")
                .header("host", "scim.test")
                .header("origin", "http://scim.test")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
}

/// Run a job as `token` and wait for it to finish; the job.
async fn job(app: &TestApp, token: &str, body: Value) -> Value {
    crate::deprovision::run(app, token, body).await
}

/// The leaver, invited, then provisioned with every kind of personal
/// value: an admin with tokens and a console session, in groups, the
/// tenant's fallback owner; their id and credentials.
async fn the_leaver(app: &TestApp, root: &str) -> (String, String) {
    let _ = app.user("heir@acme.test").await;
    let r = admin(
        app,
        root,
        Method::POST,
        "/admin/v1/users",
        Some(json!({"userName": "qy", "displayName": "Zephyrine Quill",
            "email": "zephyrine.quill@acme.test"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let x = r.body["id"].as_str().unwrap().to_string();
    let ops = json!([
        {"op": "add", "path": "name", "value": {"givenName": "Zephyrine", "middleName": "Xo",
            "familyName": "Quill", "formatted": "Zephyrine Xo Quill"}},
        {"op": "add", "path": "nickName", "value": "Zeph"},
        {"op": "add", "path": "externalId", "value": "HR-7731-ZQ"},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555 0199", "type": "work"}]},
        {"op": "add", "path": "emails", "value": [{"value": "shared.inbox@acme.test", "type": "other"}]}
    ]);
    let r = app
        .patch(&format!("/scim/v2/Users/{x}"), &patch_body(ops))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.group("Admins", &[&x]).await;
    let pilots = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Pilots", "members": [{"value": x, "display": "Zephyrine Quill"}]});
    assert_eq!(
        app.post("/scim/v2/Groups", &pilots).await.status,
        StatusCode::CREATED
    );
    // Their credentials, a token they make, a console session.
    let x_token = admin_token(&app.store, &app.tenant, &x, "qy-admin").await;
    let r = admin(
        app,
        &x_token,
        Method::POST,
        "/admin/v1/tokens",
        Some(json!({"label": "qy laptop", "scopes": ["admin"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    console_session(app, &x).await;
    // The tenant's fallback owner.
    let r = admin(
        app,
        root,
        Method::PATCH,
        "/admin/v1/tenant",
        Some(json!({"fallbackOwner": "qy"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (x, x_token)
}

/// The leaver named everywhere — the successor of two deletions, one of
/// two users with an email — then deleted by a job; their id and the job's.
async fn a_leaver_named_everywhere(app: &TestApp, root: &str) -> (String, String) {
    let (x, x_token) = the_leaver(app, root).await;
    // Successor of a deletion they run, and of one an admin asks for.
    let yara = app.user("yara@acme.test").await;
    let yusuf = app.user("yusuf@acme.test").await;
    app.user_from(json!({"schemas": [USER], "userName": "zed@acme.test",
        "emails": [{"value": "shared.inbox@acme.test"}]}))
        .await;
    job(
        app,
        &x_token,
        json!({"mode": "delete", "leavers": ["yara@acme.test"], "transferTo": "qy"}),
    )
    .await;
    let r = admin(
        app,
        root,
        Method::DELETE,
        &format!("/admin/v1/users/{yusuf}?transfer_to=qy"),
        None,
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text);
    // One of two users with an email: the dry run names both.
    let dry = job(
        app,
        root,
        json!({"mode": "deactivate", "match": "email", "dryRun": true,
            "leavers": ["shared.inbox@acme.test", "Zephyrine.Quill@acme.test"]}),
    )
    .await;
    assert_eq!(dry["rows"]["items"][0]["match"], "ambiguous", "{dry}");
    app.directory.deliver_due().await.unwrap();
    // Deleted by a job (the list in capitals), and found again by a re-run.
    let gone = job(
        app,
        root,
        json!({"mode": "delete", "leavers": ["QY"], "transferTo": "heir@acme.test"}),
    )
    .await;
    app.directory.deliver_due().await.unwrap();
    job(app, root, json!({"mode": "delete", "leavers": ["qy"]})).await;
    let _ = yara;
    (x, gone["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_purge_leaves_none_of_the_users_strings_in_any_table() {
    let (_recv, url) = Receiver::start().await;
    let app = TestApp::from_toml(&format!(
        "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n\n[[role_mapping]]\nmatch = {{ group = \"Admins\" }}\nset = {{ role = \"admin\" }}\n\n[hooks]\nownership_transfer_url = \"{url}\"\nsecret = \"{SECRET}\"\nretry_base_ms = 60000\n"
    ))
    .await;
    let (_, root) = crate::directory::root(&app).await;
    let (x, job_id) = a_leaver_named_everywhere(&app, &root).await;
    // A refused re-create names them in the request log (kept unwritten
    // until the purge writes it).
    let again = json!({"schemas": [USER], "userName": "heir@acme.test",
        "displayName": "Zephyrine Quill", "externalId": "HR-7731-ZQ"});
    let r = app.post("/scim/v2/Users", &again).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    app.directory.flush_request_log().await.unwrap();
    // Before: the strings are everywhere the scenario put them.
    let before = search(&app, &VALUES).await;
    let places: std::collections::BTreeSet<String> =
        before.iter().map(|(t, c, _)| format!("{t}.{c}")).collect();
    for must in [
        "audit_log.actor",
        "audit_log.description",
        "audit_log.object_name",
        "deprovision_jobs.actor",
        "deprovision_rows.error",
        "deprovision_rows.hook",
        "deprovision_rows.input",
        "deprovision_rows.user_name",
        "outbox.payload",
        "request_log.body",
        "tokens.label",
        "transfers.payload",
        "user_search_terms.term",
        "user_values.value",
        "users.data",
        "users.deletion",
        "users.user_name",
    ] {
        assert!(
            places.contains(must),
            "the scenario puts a value in {must}: {places:?}"
        );
    }
    let r = admin(
        &app,
        &root,
        Method::POST,
        &format!("/admin/v1/users/{x}/purge"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // After: nowhere.
    let after = search(&app, &VALUES).await;
    assert!(after.is_empty(), "left after the purge: {after:#?}");
    // The records stay, naming the user by id only.
    let report = app.directory.job_report(&job_id).await.unwrap();
    let row = report.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!("1,[redacted],matched,{x},[purged user],deleted,")),
        "{row}"
    );
    let audit = app.store.audit_log(&app.tenant).await.unwrap();
    let purged = audit.iter().rfind(|a| a["action"] == "purged").unwrap();
    let words = purged["description"].as_str().unwrap();
    assert!(
        words.contains("other records that named the user redacted"),
        "{words}"
    );
    assert!(
        words.contains("fallback owner (this user) cleared"),
        "{words}"
    );
    let t = admin(&app, &root, Method::GET, "/admin/v1/tenant", None).await;
    assert!(t.body["fallbackOwner"].is_null(), "{}", t.body);
    for table in ["console_sessions", "console_login_links", "invitations"] {
        let rows = app.dump_table(table).await;
        assert!(
            rows.iter().all(|r| !r.contains(&x)),
            "{table} keeps rows of the purged user: {rows:?}"
        );
    }
    assert!(
        audit.iter().filter(|a| a["objectId"] == x.as_str()).count() >= 5,
        "the user's audit trail is kept"
    );
}
