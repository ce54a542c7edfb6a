//! Races, through the router on both stores: concurrent writers lose
//! nothing and never get past a uniqueness rule, a seat limit or the last
//! super-admin guard.

use axum::http::StatusCode;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::directory::{ACCESS, ACME};
use crate::support::{patch_body, TestApp, GROUP, USER};

async fn create_users(app: &TestApp, names: impl Iterator<Item = String>) -> Vec<String> {
    let ops: Vec<Value> = names
        .enumerate()
        .map(|(i, n)| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                   "data": {"schemas": [USER], "userName": n}})
        })
        .collect();
    let r = app
        .post(
            "/scim/v2/Bulk",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert_eq!(o["status"], "201", "{o}");
            let loc = o["location"].as_str().unwrap();
            loc.rsplit('/').next().unwrap().to_string()
        })
        .collect()
}

/// POST a user of each name, all at once; the answers in order.
async fn create_at_once(
    app: &TestApp,
    names: impl Iterator<Item = &String>,
) -> Vec<crate::support::Resp> {
    join_all(names.map(|n| {
        let body = json!({"schemas": [USER], "userName": n});
        async move { app.post("/scim/v2/Users", &body).await }
    }))
    .await
}

fn count(answers: &[crate::support::Resp], status: StatusCode) -> usize {
    answers.iter().filter(|r| r.status == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_adding_500_members_each_to_one_group_lose_none() {
    let app = TestApp::new().await;
    let ids = create_users(&app, (0..1000).map(|i| format!("m{i}@x.test"))).await;
    let g = app
        .post(
            "/scim/v2/Groups",
            &json!({"schemas": [GROUP], "displayName": "Everyone"}),
        )
        .await;
    let gid = g.body["id"].as_str().unwrap().to_string();
    let path = format!("/scim/v2/Groups/{gid}");
    let client = |half: Vec<String>| {
        let app = &app;
        let path = &path;
        async move {
            for id in half {
                let add =
                    patch_body(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
                let r = app.patch(path, &add).await;
                assert!(r.status.is_success(), "{} {}", r.status, r.text);
            }
        }
    };
    let (a, b) = ids.split_at(500);
    futures_util::join!(client(a.to_vec()), client(b.to_vec()));
    let g = app.get(&path).await;
    let members = g.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 1000, "0 lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_creates_of_one_user_name_in_any_case_make_one_user() {
    let app = TestApp::new().await;
    let names: Vec<String> = (0..20)
        .map(|i| {
            let n = "Same.Person@Acme.Test";
            n.chars()
                .enumerate()
                .map(|(j, c)| {
                    if (i >> (j % 5)) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        })
        .collect();
    let answers = create_at_once(&app, names.iter()).await;
    let created = count(&answers, StatusCode::CREATED);
    let conflicts: Vec<&crate::support::Resp> = answers
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .collect();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(conflicts.len(), 19);
    assert!(conflicts.iter().all(|r| r.body["scimType"] == "uniqueness"));
    let list = app.get("/scim/v2/Users").await;
    assert_eq!(list.body["totalResults"], 1, "{}", list.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_at_a_seat_limit_never_exceed_it() {
    let app = TestApp::new().await;
    app.store
        .set_seat_limits(&app.tenant, Some(5), None)
        .await
        .unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("seat{i}@acme.test")).collect();
    let answers = create_at_once(&app, names.iter()).await;
    let created = count(&answers, StatusCode::CREATED);
    let refused = count(&answers, StatusCode::FORBIDDEN);
    assert_eq!(
        (created, refused),
        (5, 15),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let list = app.get("/scim/v2/Users").await;
    assert_eq!(list.body["totalResults"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_demotion_of_the_last_two_super_admins_refuses_one() {
    let app = TestApp::from_toml(ACME).await;
    let boss = |n: &str| json!({"schemas": [USER, ACCESS], "userName": n, ACCESS: {"role": "super-admin"}});
    let mut ids = Vec::new();
    for n in ["boss1@x.test", "boss2@x.test"] {
        let r = app.post("/scim/v2/Users", &boss(n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let demote =
        patch_body(json!([{"op": "replace", "path": format!("{ACCESS}:role"), "value": "member"}]));
    for _ in 0..5 {
        // Both promoted again, then both demoted at once.
        for id in &ids {
            let promote = patch_body(
                json!([{"op": "replace", "path": format!("{ACCESS}:role"), "value": "super-admin"}]),
            );
            let r = app.patch(&format!("/scim/v2/Users/{id}"), &promote).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        let answers = join_all(ids.iter().map(|id| {
            let app = &app;
            let demote = &demote;
            async move { app.patch(&format!("/scim/v2/Users/{id}"), demote).await }
        }))
        .await;
        let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409],
            "{:?}",
            answers.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
        let roles: Vec<Value> =
            join_all(ids.iter().map(|id| {
                let app = &app;
                async move {
                    app.get(&format!("/scim/v2/Users/{id}")).await.body[ACCESS]["role"].clone()
                }
            }))
            .await;
        let supers = roles
            .iter()
            .filter(|r| r.to_string().contains("super-admin"))
            .count();
        assert_eq!(supers, 1, "exactly one super-admin is left: {roles:?}");
    }
}

/// A write the database aborts as a deadlock victim (SQLSTATE 40P01) is
/// run again after a short backoff and succeeds; the client sees one
/// 200, and the aborted attempt left nothing behind (one audit row).
/// PostgreSQL only: SQLite has one writer, so no deadlock can be
/// provoked there. The deadlock: another session holds the user's row
/// and then asks for the tenant's row, which the PATCH holds while it
/// waits for the user's; that session's `deadlock_timeout` is long, so
/// the PATCH's transaction is the one PostgreSQL aborts.
#[tokio::test]
async fn a_deadlocked_write_is_run_again_and_succeeds() {
    use sqlx::{Connection, Row};
    if !crate::support::on_postgres() {
        return;
    }
    let app = TestApp::new().await;
    let id = app.user("ada").await;
    let audit_before = app.audit_count().await;
    let mut other = sqlx::PgConnection::connect(&app.url).await.unwrap();
    let mut watcher = sqlx::PgConnection::connect(&app.url).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    sqlx::query("SET LOCAL deadlock_timeout = '30s'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(&id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let body = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
    let path = format!("/scim/v2/Users/{id}");
    let tenant_id = app.tenant.id;
    let deadlock = async {
        // Wait until the PATCH waits for the user's row, then close the cycle.
        for _ in 0..500 {
            let waiting: i64 = sqlx::query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut watcher)
            .await
            .unwrap()
            .get(0);
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    };
    let (resp, ()) = tokio::join!(app.patch(&path, &body), deadlock);
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text);
    assert_eq!(resp.body["active"], false);
    assert_eq!(
        app.audit_count().await,
        audit_before + 1,
        "one change recorded"
    );
    let metrics = app.get("/metrics").await.text;
    assert!(
        metrics.contains("rollcall_db_contention_retries_total 1"),
        "{metrics}"
    );
}
