//! Tokens over their life: `rollcall token create|list|revoke` (scopes,
//! the bound user, the last use, audited), the last use written at most
//! once a minute, the scopes of `[[oauth]]` issuers, and the migration of
//! tokens issued before scopes existed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::cli::{auth, ok as cli_ok, rollcall};
use crate::scopes::{admin_refused, get, new_user, ok};
use crate::server::{request, HttpResponse, Server};
use crate::support::{fresh_database, TestApp};

#[tokio::test]
async fn last_use_is_written_at_most_once_a_minute() {
    let app = TestApp::new().await;
    let last = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            let t = store.list_tokens(Some("acme")).await.unwrap();
            t[0].last_used_at.clone()
        }
    };
    assert_eq!(last(&app).await, None, "never used");
    ok(&app.get("/scim/v2/Users").await);
    let first = last(&app).await.expect("noted");
    let id = app.store.list_tokens(Some("acme")).await.unwrap()[0]
        .id
        .clone();
    // Used again within the minute: no write.
    let recent = time::OffsetDateTime::now_utc() - time::Duration::seconds(30);
    let recent = scim_protocol::datetime::format(recent);
    app.store.touch_token(&id, &recent).await.unwrap();
    ok(&app.get("/scim/v2/Users").await);
    assert_eq!(last(&app).await.as_deref(), Some(recent.as_str()));
    // A minute later: written again.
    let old = "2023-11-14T22:13:20.000Z";
    app.store.touch_token(&id, old).await.unwrap();
    ok(&app.get("/scim/v2/Users").await);
    let now = last(&app).await.unwrap();
    assert!(
        now.as_str() > old && now.as_str() >= first.as_str(),
        "{now}"
    );
}

// ---- The command line ------------------------------------------------------

fn stderr_of_failure(db: &str, args: &[&str]) -> String {
    let out = rollcall(db, args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// `rollcall token create --tenant acme --label LABEL …`: the token.
fn create(db: &str, label: &str, more: &[&str]) -> String {
    let args = [
        &["token", "create", "--tenant", "acme", "--label", label],
        more,
    ]
    .concat();
    cli_ok(db, &args).trim().to_string()
}

fn call(addr: &str, token: &str, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
    request(addr, method, path, &auth(token), body)
}

/// Create `ann@acme.test` over SCIM.
fn ann(addr: &str, token: &str) {
    let body = new_user("ann@acme.test").to_string();
    let r = call(addr, token, "POST", "/scim/v2/Users", Some(&body));
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn token_create_refuses_unknown_scopes_admin_without_a_user_and_scim_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let create_with = |scopes: &str| {
        stderr_of_failure(
            &db,
            &["token", "create", "--tenant", "acme", "--scope", scopes],
        )
    };
    let err = create_with("scim,superuser");
    assert!(
        err.contains("unknown scope \"superuser\"") && err.contains("scim:read"),
        "{err}"
    );
    assert!(create_with("admin").contains("--user"));
    assert!(create_with(",").contains("no scope given"));
    let tok = create(&db, "idp", &["--scope", "scim"]);
    let server = Server::start(&db);
    ann(&server.addr, &tok);
    let bound = [
        "token",
        "create",
        "--tenant",
        "acme",
        "--user",
        "ann@acme.test",
    ];
    let err = stderr_of_failure(&db, &[&bound[..], &["--scope", "scim:read"]].concat());
    assert!(err.contains("scim:read") && err.contains("bound"), "{err}");
    let err = stderr_of_failure(
        &db,
        &["token", "create", "--tenant", "acme", "--user", "nobody"],
    );
    assert!(err.contains("no user \"nobody\""), "{err}");
}

#[test]
fn token_list_shows_scopes_the_bound_user_and_the_last_use_and_changes_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(&dir);
    let okta = create(&db, "okta", &["--scope", "scim,events"]);
    let server = Server::start(&db);
    ann(&server.addr, &okta);
    let console = create(&db, "console", &["--user", "ann@acme.test"]);
    create(&db, "siem", &["--scope", "audit"]);
    // A member's admin credential reads the user list.
    let r = call(&server.addr, &console, "GET", "/admin/v1/users", None);
    assert_eq!(r.status, 200, "{}", r.body);

    shows_scopes_users_and_last_use(&cli_ok(&db, &["token", "list", "--tenant", "acme"]));

    let v: Value = serde_json::from_str(&cli_ok(&db, &["token", "list", "--json"])).unwrap();
    let console_json = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "console")
        .unwrap();
    assert_eq!(console_json["scopes"], json!(["admin"]));
    assert_eq!(console_json["userName"], "ann@acme.test");
    assert!(console_json["lastUsed"].is_string());

    let id = console_json["id"].as_str().unwrap();
    assert!(rollcall(&db, &["token", "revoke", id]).status.success());
    // Another process revoked it: the server sees it within a second.
    let revoked = std::time::Instant::now();
    while call(&server.addr, &console, "GET", "/admin/v1/users", None).status != 401 {
        assert!(revoked.elapsed() < std::time::Duration::from_millis(1500));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let table = cli_ok(&db, &["token", "list", "--tenant", "acme"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains(" console ") && l.contains("revoked 20")),
        "{table}"
    );
    assert!(
        !rollcall(&db, &["token", "revoke", id]).status.success(),
        "revoked once"
    );

    audited_as_the_command_line(&db, console_json["userId"].as_str().unwrap());
}

/// The table `rollcall token list` printed for the three tokens of
/// `token_list_shows_…`: scopes, bound user, last use.
fn shows_scopes_users_and_last_use(table: &str) {
    let lines: Vec<&str> = table.lines().collect();
    let at = |h: &str| lines[0].find(h).unwrap_or_else(|| panic!("{h}: {table}"));
    let columns = ["LABEL", "SCOPES", "USER", "LAST USED", "STATUS"];
    assert!(columns.windows(2).all(|w| at(w[0]) < at(w[1])), "{table}");
    let row = |label: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!(" {label} ")))
            .unwrap_or_else(|| panic!("{label}: {table}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    let okta_row = row("okta");
    assert_eq!(okta_row[3], "scim,events", "{table}");
    assert_eq!(okta_row[4], "-", "unbound");
    assert!(okta_row[6].starts_with("20"), "used: {table}");
    let console_row = row("console");
    assert_eq!(console_row[3], "admin", "the default with --user");
    assert_eq!(console_row[4], "ann@acme.test");
    let siem_row = row("siem");
    assert_eq!(
        (siem_row[3].as_str(), siem_row[6].as_str()),
        ("audit", "-"),
        "never used"
    );
    assert!(
        table.lines().skip(1).all(|l| l.ends_with("active")),
        "{table}"
    );
}

/// Each creation and the revocation of `token_list_shows_…` is audited as
/// the command line.
fn audited_as_the_command_line(db: &str, ann: &str) {
    let export = cli_ok(
        db,
        &["audit", "export", "--tenant", "acme", "--format", "jsonl"],
    );
    let rows: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let about_tokens: Vec<(&str, &str, bool)> = rows
        .iter()
        .filter(|r| r["objectType"] == "Token")
        .map(|r| {
            let by_cli = r["actor"].as_str().unwrap().starts_with("cli:");
            (
                r["action"].as_str().unwrap(),
                r["objectName"].as_str().unwrap(),
                by_cli,
            )
        })
        .collect();
    assert_eq!(
        about_tokens,
        vec![
            ("token_created", "okta", true),
            ("token_created", "console", true),
            ("token_created", "siem", true),
            ("token_revoked", "console", true),
        ]
    );
    let created = rows.iter().find(|r| r["objectName"] == "console").unwrap();
    let description = created["description"].as_str().unwrap();
    assert!(
        description.contains(&format!("scopes admin, bound to user {ann}"))
            && !description.contains("ann@acme.test"),
        "{created}"
    );
}

// ---- [[oauth]] issuers -----------------------------------------------------

#[test]
fn oauth_issuers_grant_their_configured_scopes_and_scim_by_default() {
    use crate::oauth::{setup_node, Provider};
    setup_node();
    let dir = tempfile::tempdir().unwrap();
    let narrow = Provider::start(0, &dir.path().join("keys-narrow.json"));
    let plain = Provider::start(0, &dir.path().join("keys-plain.json"));
    let db = fresh_database(&dir);
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        format!(
            "[[oauth]]\ntenant = \"acme\"\nissuer = \"{}\"\naudience = \"urn:rollcall:scim\"\nscopes = [\"scim:read\", \"events\"]\n\n[[oauth]]\ntenant = \"globex\"\nissuer = \"{}\"\naudience = \"urn:rollcall:scim\"\n",
            narrow.issuer, plain.issuer
        ),
    )
    .unwrap();
    // Both tenants exist before their issuers' tokens arrive.
    crate::server::token(&db, "acme");
    crate::server::token(&db, "globex");
    let server = Server::start_with(&db, &["--config", config.to_str().unwrap()]);
    let addr = server.addr.as_str();
    let body = new_user("ann@x.test").to_string();
    let needs = |r: &HttpResponse, scope: &str| {
        assert_eq!(r.status, 403, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        let detail = v["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("needs the scope \"{scope}\"")),
            "{detail}"
        );
    };
    let reader = narrow.token("urn:rollcall:scim");
    assert_eq!(
        call(addr, &reader, "GET", "/scim/v2/Users", None).status,
        200
    );
    assert_eq!(
        call(addr, &reader, "GET", "/admin/v1/events", None).status,
        200
    );
    needs(
        &call(addr, &reader, "POST", "/scim/v2/Users", Some(&body)),
        "scim",
    );
    needs(
        &call(addr, &reader, "GET", "/admin/v1/audit", None),
        "audit",
    );
    let writer = plain.token("urn:rollcall:scim");
    assert_eq!(
        call(addr, &writer, "POST", "/scim/v2/Users", Some(&body)).status,
        201
    );
    // scim only by default.
    needs(
        &call(addr, &writer, "GET", "/admin/v1/events", None),
        "events",
    );
}

// ---- The migration ---------------------------------------------------------

#[tokio::test]
async fn tokens_issued_before_scopes_get_the_scopes_they_were_used_for() {
    use rollcall::directory::scopes::Scopes;
    use rollcall::directory::tokens;
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let (folder, scopes_version) = if crate::support::on_postgres() {
        ("postgres", 3)
    } else {
        ("sqlite", 8)
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let mut before = sqlx::migrate::Migrator::new(path).await.unwrap();
    let old: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < scopes_version)
        .cloned()
        .collect();
    before.migrations = old.into();
    let create = if crate::support::on_postgres() {
        url.clone()
    } else {
        format!("{url}?mode=rwc")
    };
    let pool = sqlx::AnyPool::connect(&create).await.unwrap();
    before.run(&pool).await.unwrap();
    // Rows as the schema before scopes held them.
    let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let t = rollcall::store::Tenant {
        id: 1,
        name: "acme".into(),
    };
    sqlx::query(
        "INSERT INTO tenants (id, name, created) VALUES (1, 'acme', '2023-11-14T22:13:20.000Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut old_tokens = Vec::new();
    for (label, user) in [
        ("old-idp", None),
        ("old-console", Some("u-live")),
        ("old-gone", Some("u-deleted")),
    ] {
        let (token, rec) = tokens::generate(&t, label, &Scopes::default(), now);
        sqlx::query("INSERT INTO tokens (id, tenant_id, label, secret_hash, created, user_id) VALUES ($1, 1, $2, $3, $4, $5)")
            .bind(&rec.id)
            .bind(label)
            .bind(&rec.secret_hash)
            .bind(&rec.created)
            .bind(user)
            .execute(&pool)
            .await
            .unwrap();
        old_tokens.push(token);
    }
    for (id, deleted) in [
        ("u-live", None),
        ("u-deleted", Some("2023-12-01T00:00:00.000Z")),
    ] {
        sqlx::query(
            "INSERT INTO users (tenant_id, id, user_name, user_name_ci, data, version, created, last_modified, deleted_at)
             VALUES (1, $1, $1, $1, '{\"userName\":\"x\"}', 1, '2023-11-14T22:13:20.000Z', '2023-11-14T22:13:20.000Z', $2)",
        )
        .bind(id)
        .bind(deleted)
        .execute(&pool)
        .await
        .unwrap();
    }
    // An invitation event as the schema before scopes wrote it: with the
    // link in its payload.
    sqlx::query(
        "INSERT INTO outbox (tenant_id, at, kind, object_id, payload) VALUES (1, '2023-11-14T22:13:20.000Z', 'user.invited', 'u-live', $1)",
    )
    .bind(r#"{"id":"u-live","userName":"x","inviteLink":"https://h.example/admin/v1/invitations/inv_oldsecret"}"#)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    // The server starts: the migration runs.
    let app = TestApp::on(dir, &url, Default::default(), Default::default()).await;
    let listed = app.store.list_tokens(Some("acme")).await.unwrap();
    let scopes_of = |label: &str| {
        let t = listed.iter().find(|t| t.label == label).unwrap();
        (t.scopes.join(","), t.revoked.clone())
    };
    assert_eq!(
        scopes_of("old-idp"),
        ("scim,events,sign-in".into(), None),
        "unbound"
    );
    assert_eq!(scopes_of("old-console"), ("admin".into(), None), "bound");
    assert_eq!(
        scopes_of("old-gone"),
        ("admin".into(), Some("2023-12-01T00:00:00.000Z".into())),
        "the token of a user deleted earlier is revoked as of the deletion"
    );
    // The unbound token keeps SCIM, the feed and the host's reports, and
    // loses the admin reads and the audit trail.
    let okta = &old_tokens[0];
    ok(&get(&app, okta, "/scim/v2/Users").await);
    let feed = get(&app, okta, "/admin/v1/events").await;
    ok(&feed);
    // The old event is still in the feed, without its link.
    assert!(feed.text.contains("user.invited"), "{}", feed.text);
    assert!(
        !feed.text.contains("inviteLink") && !feed.text.contains("inv_oldsecret"),
        "an invitation link read from the event feed: {}",
        feed.text
    );
    admin_refused(&get(&app, okta, "/admin/v1/users").await, "admin");
    admin_refused(&get(&app, okta, "/admin/v1/audit").await, "audit");
    let r = get(&app, &old_tokens[2], "/admin/v1/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ---- The admin API: /admin/v1/tokens --------------------------------------

const ACCESS: &str = "urn:rollcall:scim:schemas:extension:access:2.0:User";

/// A tenant whose first user is its super-admin; admin credentials for
/// `root` (super-admin), `ada` (admin) and `mia` (member).
async fn token_admins() -> (TestApp, [String; 3]) {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    let mut out = Vec::new();
    for (name, role) in [("root", None), ("ada", Some("admin")), ("mia", None)] {
        let mut body =
            json!({"schemas": [crate::support::USER], "userName": format!("{name}@acme.test")});
        if let Some(r) = role {
            body["schemas"] = json!([crate::support::USER, ACCESS]);
            body[ACCESS] = json!({"role": r});
        }
        let id = app.user_from(body).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        out.push(crate::support::admin_token(&app.store, &app.tenant, &id, name).await);
    }
    let [a, b, c] = <[String; 3]>::try_from(out).unwrap();
    (app, [a, b, c])
}

async fn as_admin(
    app: &TestApp,
    token: &str,
    method: axum::http::Method,
    path: &str,
    body: Option<&Value>,
) -> crate::support::Resp {
    app.call_as(token, method, path, body).await
}

#[tokio::test]
async fn admin_api_tokens_are_listed_created_once_and_revoked() {
    use axum::http::Method;
    let (app, [root, _, _]) = token_admins().await;
    let r = as_admin(
        &app,
        &root,
        Method::POST,
        "/admin/v1/tokens",
        Some(&json!({"label": "okta", "scopes": ["scim"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["scopes"], json!(["scim"]));
    assert_eq!(r.body["createdBy"], "root@acme.test");
    assert_eq!(
        r.body["boundUserId"],
        Value::Null,
        "a SCIM token is the tenant's"
    );
    // It works over SCIM, and its use is noted.
    ok(&get(&app, &secret, "/scim/v2/Users").await);
    let list = as_admin(&app, &root, Method::GET, "/admin/v1/tokens", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(!list.text.contains(&secret), "the secret in the list");
    let item = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(item["lastUsed"].is_string(), "{item}");
    assert_eq!(item["revoked"], Value::Null);
    assert!(list.body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["permit"]["allowed"] == true));
    // Revoked: refused at once; a second revoke is a conflict.
    let r = as_admin(
        &app,
        &root,
        Method::DELETE,
        &format!("/admin/v1/tokens/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["revoked"].is_string());
    assert_eq!(
        get(&app, &secret, "/scim/v2/Users").await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = as_admin(
        &app,
        &root,
        Method::DELETE,
        &format!("/admin/v1/tokens/{id}"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    let missing = as_admin(
        &app,
        &root,
        Method::DELETE,
        "/admin/v1/tokens/000000000000",
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    // Audited as the command line does, never with the secret.
    let audit = get(&app, &app.token, "/admin/v1/audit?limit=1000")
        .await
        .text;
    assert!(
        audit.contains("token_created") && audit.contains("token_revoked"),
        "{audit}"
    );
    let events = get(&app, &app.token, "/admin/v1/events").await.text;
    assert!(!audit.contains(&secret) && !events.contains(&secret));
}

#[tokio::test]
async fn admin_api_tokens_refuse_scopes_beyond_the_makers_role_and_bad_input() {
    use axum::http::Method;
    let (app, [_, ada, mia]) = token_admins().await;
    let before = app.store.list_tokens(Some("acme")).await.unwrap().len();
    let cases = [
        (
            &ada,
            json!({"label": "x", "scopes": ["scim"]}),
            403,
            "only a super-admin",
        ),
        (
            &ada,
            json!({"label": "x", "scopes": ["scim:read"]}),
            403,
            "only a super-admin",
        ),
        (
            &ada,
            json!({"label": "x", "scopes": ["admin", "scim"]}),
            400,
            "cannot carry it",
        ),
        (
            &ada,
            json!({"label": "x", "scopes": ["everything"]}),
            400,
            "unknown scope",
        ),
        (
            &ada,
            json!({"label": "x", "scopes": []}),
            400,
            "no scope given",
        ),
        (
            &ada,
            json!({"label": "", "scopes": ["audit"]}),
            400,
            "needs a label",
        ),
        (
            &ada,
            json!({"label": "x", "scopes": ["audit"], "owner": "me"}),
            400,
            "owner",
        ),
        (
            &mia,
            json!({"label": "x", "scopes": ["audit"]}),
            403,
            "cannot administer users",
        ),
    ];
    for (token, body, status, words) in cases {
        let r = as_admin(&app, token, Method::POST, "/admin/v1/tokens", Some(&body)).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text);
        assert!(r.text.contains(words), "{body}: {}", r.text);
    }
    assert_eq!(
        app.store.list_tokens(Some("acme")).await.unwrap().len(),
        before,
        "nothing made"
    );
    let list = as_admin(&app, &ada, Method::GET, "/admin/v1/tokens", None).await;
    let scim = list.body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "scim")
        .unwrap()
        .clone();
    assert_eq!(scim["permit"]["allowed"], false, "{scim}");
    assert_eq!(
        as_admin(&app, &mia, Method::GET, "/admin/v1/tokens", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // `admin` binds the new credential to its maker: it acts with her role.
    let r = as_admin(
        &app,
        &ada,
        Method::POST,
        "/admin/v1/tokens",
        Some(&json!({"label": "mine", "scopes": ["admin", "audit"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["boundUserName"], "ada@acme.test");
    let mine = r.body["secret"].as_str().unwrap().to_string();
    ok(&get(&app, &mine, "/admin/v1/users").await);
    // Nobody revokes a credential of a user ranked above them, nor a SCIM
    // token without being a super-admin.
    let tokens = app.store.list_tokens(Some("acme")).await.unwrap();
    let root_token = tokens.iter().find(|t| t.label == "root").unwrap();
    let tenant_token = tokens.iter().find(|t| t.user_id.is_none()).unwrap();
    for refused in [root_token, tenant_token] {
        let path = format!("/admin/v1/tokens/{}", refused.id);
        let r = as_admin(&app, &ada, Method::DELETE, &path, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    assert!(app
        .store
        .find_token(&tenant_token.id)
        .await
        .unwrap()
        .unwrap()
        .revoked
        .is_none());
    // A tenant token (no admin scope) reaches none of it.
    admin_refused(&get(&app, &app.token, "/admin/v1/tokens").await, "admin");
}

#[tokio::test]
async fn admin_api_tokens_are_in_the_openapi_document() {
    let app = TestApp::new().await;
    let doc = app.get("/admin/v1/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = &doc.body["paths"];
    for (path, method) in [
        ("/tokens", "get"),
        ("/tokens", "post"),
        ("/tokens/{id}", "delete"),
    ] {
        let op = &paths[path][method];
        assert_eq!(
            op["security"][0]["bearer"],
            json!(["admin"]),
            "{path} {method}: {op}"
        );
    }
}

/// A verified token is trusted for at most a second without a lookup: a
/// revocation written by another instance sharing the database (here, a
/// connection of its own) is refused within that second, while one made
/// through this process is refused at once (its commit drops what was
/// cached).
#[tokio::test]
async fn a_revocation_elsewhere_is_seen_within_a_second_and_here_at_once() {
    use std::time::{Duration, Instant};
    let app = TestApp::new().await;
    assert_eq!(app.get("/scim/v2/Users").await.status, StatusCode::OK);
    sqlx::any::install_default_drivers();
    let other = sqlx::AnyPool::connect(&app.url).await.unwrap();
    sqlx::query("UPDATE tokens SET revoked = '2026-01-01T00:00:00.000Z'")
        .execute(&other)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let status = app.get("/scim/v2/Users").await.status;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "still accepted after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let here = TestApp::new().await;
    assert_eq!(here.get("/scim/v2/Users").await.status, StatusCode::OK);
    let id = here
        .directory
        .verify_token(&here.token)
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = time::OffsetDateTime::now_utc();
    assert!(here
        .directory
        .revoke_token(&id, "cli:test", now)
        .await
        .unwrap());
    assert_eq!(
        here.get("/scim/v2/Users").await.status,
        StatusCode::UNAUTHORIZED
    );
}
