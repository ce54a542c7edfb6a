//! The admin user search (`store/search.rs`): the beginning of a word of the
//! userName, displayName or an email, or an exact id; case-insensitive;
//! special characters literal; the terms follow every write; the migration
//! builds the same terms as the writes; and the search reads the index.

use rollcall::directory::admin::UserListParams;
use serde_json::json;

use crate::support::*;

/// userNames the admin list returns for `search` (with `status`, if any).
async fn found(app: &TestApp, search: &str, status: Option<&str>) -> Vec<String> {
    let params = UserListParams {
        search: Some(search.to_string()),
        status: status.map(str::to_string),
        page_size: Some("100".into()),
        ..Default::default()
    };
    let page = app
        .directory
        .list_users(&app.operator(), &params)
        .await
        .unwrap();
    let body = json_view(page);
    let mut names: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn person(app: &TestApp, user_name: &str, display: &str, email: &str) -> String {
    app.user_from(
        json!({"schemas": [USER], "userName": user_name, "displayName": display,
        "emails": [{"value": email, "primary": true}]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A user whose displayName holds a tab and a line break, written by the
/// store as it is given: SCIM refuses both in a name now (the rule of
/// text), but a database may hold users stored before the rule.
async fn stored_before_the_rule(app: &TestApp, user_name: &str, display: &str, email: &str) {
    let data = json!({"schemas": [USER], "userName": user_name, "displayName": display,
        "emails": [{"value": email, "primary": true}]});
    let access = rollcall::store::Access {
        user_type: "user".into(),
        role: "member".into(),
        rank: 10,
        plan: None,
        explain: json!({}),
    };
    let mut tx = app.store.write(&app.tenant).await.unwrap();
    let id = format!("00000000-0000-4000-8000-9{:011}", user_name.len());
    tx.insert_user(
        &id,
        data.as_object().unwrap(),
        &access,
        "2024-01-01T00:00:00Z",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn people() -> TestApp {
    let app = TestApp::new().await;
    person(&app, "mchen", "Maria Chen", "maria.chen@example.com").await;
    person(&app, "mrossi", "Mario Rossi", "m.rossi@corp.example").await;
    person(&app, "a_b", "Under Score", "under@x.test").await;
    person(&app, "axb", "Ex Box", "axb@x.test").await;
    person(&app, "full", "100% Club", "club@x.test").await;
    person(&app, "obrien", "Siobhan O'Brien", "sob@x.test").await;
    app
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Each search finds exactly its userNames.
async fn expect_all(app: &TestApp, cases: &[(&str, Vec<String>)]) {
    for (q, want) in cases {
        assert_eq!(&found(app, q, None).await, want, "search {q:?}");
    }
}

#[tokio::test]
async fn a_search_finds_the_beginning_of_any_word_of_a_name_or_email() {
    let app = people().await;
    let cases = [
        ("chen", v(&["mchen"])),
        ("Maria", v(&["mchen"])),
        ("maria chen", v(&["mchen"])),
        ("MARIA.CH", v(&["mchen"])),
        ("example", v(&["mchen", "mrossi"])),
        ("example.com", v(&["mchen"])),
        ("@corp", v(&["mrossi"])),
        ("ross", v(&["mrossi"])),
        ("mari", v(&["mchen", "mrossi"])),
        ("x.test", v(&["a_b", "axb", "full", "obrien"])),
        ("  Rossi  ", v(&["mrossi"])),
        // Inside a word is not a word's beginning.
        ("aria", v(&[])),
        ("hen", v(&[])),
        ("chen maria", v(&[])),
    ];
    expect_all(&app, &cases).await;
}

#[tokio::test]
async fn one_and_two_character_searches_use_the_same_rule() {
    let app = people().await;
    assert_eq!(
        found(&app, "m", None).await,
        v(&["mchen", "mrossi"]),
        "m: mchen, mrossi (and Maria, Mario, m.rossi)"
    );
    assert_eq!(
        found(&app, "c", None).await,
        v(&["full", "mchen", "mrossi"])
    );
    assert_eq!(found(&app, "ob", None).await, v(&["obrien"]));
    assert_eq!(found(&app, "q", None).await, v(&[]));
}

#[tokio::test]
async fn special_characters_match_literally() {
    let app = people().await;
    let cases = [
        ("a_b", v(&["a_b"])),
        ("_", v(&["a_b"])),
        ("_b", v(&["a_b"])),
        ("%", v(&["full"])),
        ("100%", v(&["full"])),
        ("100% c", v(&["full"])),
        ("o'brien", v(&["obrien"])),
        ("'", v(&["obrien"])),
        ("\"", v(&[])),
        ("\\", v(&[])),
        ("a%", v(&[])),
        ("*", v(&[])),
        ("[a-z]", v(&[])),
        ("' OR 1=1 --", v(&[])),
    ];
    expect_all(&app, &cases).await;
}

#[tokio::test]
async fn the_exact_id_still_finds_its_user_and_only_the_exact_id() {
    let app = people().await;
    let id = person(&app, "idd", "Id Holder", "idd@y.test").await;
    assert_eq!(found(&app, &id, None).await, v(&["idd"]));
    assert_eq!(found(&app, &format!(" {id} "), None).await, v(&["idd"]));
    let partial = &id[..id.len() - 1];
    assert_eq!(
        found(&app, partial, None).await,
        v(&[]),
        "not a prefix of it"
    );
}

#[tokio::test]
async fn the_terms_follow_every_kind_of_user_write() {
    let app = people().await;
    let id = person(&app, "kim", "Kim Lee", "kim@old.test").await;
    let path = format!("/scim/v2/Users/{id}");

    // SCIM PATCH: a rename, a new email.
    let r = app
        .patch(
            &path,
            &patch_body(json!([
                {"op": "replace", "path": "displayName", "value": "Kim Park"},
                {"op": "replace", "path": "emails", "value": [{"value": "kim@new.test", "primary": true}]}
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(found(&app, "lee", None).await, v(&[]), "old name gone");
    assert_eq!(
        found(&app, "old.test", None).await,
        v(&[]),
        "old email gone"
    );
    assert_eq!(found(&app, "park", None).await, v(&["kim"]));
    assert_eq!(found(&app, "new.test", None).await, v(&["kim"]));

    // SCIM PUT: a new userName.
    let r = app
        .put(
            &path,
            &json!({"schemas": [USER], "userName": "kpark", "displayName": "Kim Park",
                    "emails": [{"value": "kim@new.test"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(found(&app, "kim", None).await, v(&["kpark"]));
    assert_eq!(found(&app, "kpark", None).await, v(&["kpark"]));

    // Delete keeps the user findable among the deleted; restore brings it
    // back; purge removes its terms with it.
    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(found(&app, "park", None).await, v(&[]));
    assert_eq!(found(&app, "park", Some("deleted")).await, v(&["kpark"]));
    app.directory.restore(&app.operator(), &id).await.unwrap();
    assert_eq!(found(&app, "park", None).await, v(&["kpark"]));
    assert_eq!(app.delete(&path).await.status, 204);
    app.directory.purge(&app.operator(), &id).await.unwrap();
    assert_eq!(found(&app, "park", Some("deleted")).await, v(&[]));
    assert_eq!(app.store.search_term_count(&app.tenant).await.unwrap(), {
        // The six people of `people()` keep theirs.
        let mut n = 0;
        for who in ["mchen", "mrossi", "a_b", "axb", "full", "obrien"] {
            n += app
                .store
                .search_terms(&app.tenant, who)
                .await
                .unwrap()
                .len();
        }
        n as i64
    });
}

#[tokio::test]
async fn invited_users_are_found_by_their_email() {
    let app = TestApp::from_toml("[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\n").await;
    person(&app, "root@acme.test", "Root", "root@acme.test").await;
    let invite = app
        .directory
        .invite(
            &app.operator(),
            serde_json::from_value(json!({"userName": "newcomer@acme.test", "displayName": "New Comer", "email": "newcomer@acme.test"})).unwrap(),
        )
        .await;
    assert!(invite.is_ok(), "{invite:?}");
    assert_eq!(
        found(&app, "newcomer", Some("invited")).await,
        v(&["newcomer@acme.test"])
    );
    assert_eq!(
        found(&app, "comer", Some("invited")).await,
        v(&["newcomer@acme.test"])
    );
}

/// Terms of every user of the tenant, as (userName, term), sorted.
async fn all_terms(app: &TestApp, names: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in names {
        for t in app.store.search_terms(&app.tenant, n).await.unwrap() {
            out.push((n.to_string(), t));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_migration_builds_the_terms_the_writes_keep() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&dir);
    let app = TestApp::on(dir, &url, Default::default(), Default::default()).await;
    let names = ["mchen", "josé", "tabs", "long", "none", "many"];
    person(&app, "mchen", "Maria  Chen", "Maria.Chen+x@Example.COM").await;
    person(&app, "josé", "José Núñez-Ávila", "jose@ex.test").await;
    stored_before_the_rule(&app, "tabs", "a\tb\nc", "a--b__c@@d").await;
    let long = format!("{} end", "Word".repeat(30));
    person(&app, "long", &long, "l@l.test").await;
    app.user_from(json!({"schemas": [USER], "userName": "none"}))
        .await;
    app.user_from(
        json!({"schemas": [USER], "userName": "many", "displayName": "(Many) [Emails]",
        "emails": [{"value": "one@a.test"}, {"value": "Two@B.test", "type": "home"}]}),
    )
    .await;
    let written = all_terms(&app, &names).await;
    assert!(written.len() > 40, "{written:?}");

    // The backfill an upgraded database gets (the terms of migration
    // 0013/0008 were folded by SQL, ASCII only; the first start of the
    // Unicode folding refolds every user's terms: store/refold.rs), run
    // again on these users, gives the same.
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM user_search_terms")
        .execute(&pool)
        .await
        .unwrap();
    assert!(all_terms(&app, &names).await.is_empty());
    sqlx::query("DELETE FROM store_facts")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    rollcall::store::Store::connect(&url).await.unwrap();
    assert_eq!(all_terms(&app, &names).await, written);
}

#[tokio::test]
async fn a_search_reads_the_term_index() {
    let app = people().await;
    for i in 0..200 {
        person(
            &app,
            &format!("user{i:03}"),
            &format!("User {i}"),
            &format!("user{i}@z.test"),
        )
        .await;
    }
    app.store.analyze().await.unwrap();
    let plan = app
        .store
        .explain_user_search(&app.tenant, "maria")
        .await
        .unwrap()
        .join("\n");
    assert!(plan.contains("user_search_terms_term"), "{plan}");
    // The users table is reached by key, never walked for the text.
    assert!(!plan.contains("SCAN u"), "{plan}");
    assert!(!plan.contains("Seq Scan on users"), "{plan}");
}

/// One page of 10 of the list in this sort.
async fn page_of(app: &TestApp, sort: &str, order: &str, page: u32) -> serde_json::Value {
    let params = UserListParams {
        sort: Some(sort.into()),
        order: Some(order.into()),
        page: Some(page.to_string()),
        page_size: Some("10".into()),
        ..Default::default()
    };
    json_view(
        app.directory
            .list_users(&app.operator(), &params)
            .await
            .unwrap(),
    )
}

/// userNames of the whole list, page by page of 10, in this sort.
async fn paged(app: &TestApp, sort: &str, order: &str) -> Vec<String> {
    let mut out = Vec::new();
    for page in 1..=3 {
        let body = page_of(app, sort, order, page).await;
        assert_eq!(body["total"], 23, "{sort} {order} page {page}");
        for u in body["items"].as_array().unwrap() {
            out.push(u["userName"].as_str().unwrap().to_string());
        }
    }
    out
}

#[tokio::test]
async fn sorting_by_a_key_some_users_lack_puts_them_last_either_way_across_pages() {
    let app = TestApp::new().await;
    // 13 with an email (two share one), 10 without: the boundary falls
    // inside page 2.
    let mut with = Vec::new();
    for i in 0..13 {
        let name = format!("w{i:02}");
        let email = format!("{}@e.test", (b'a' + (12 - i.min(11)) as u8) as char);
        app.user_from(
            json!({"schemas": [USER], "userName": name, "displayName": format!("W {i}"),
            "emails": [{"value": email}]}),
        )
        .await;
        with.push((email, name));
    }
    let mut without = Vec::new();
    for i in 0..10 {
        let name = format!("n{i:02}");
        app.user_from(json!({"schemas": [USER], "userName": name}))
            .await;
        without.push(name);
    }
    // Ties (the shared email) break on creation order, in the sort's direction.
    let mut asc: Vec<String> = {
        let mut w = with.clone();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w.into_iter().map(|(_, n)| n).collect()
    };
    asc.extend(without.iter().cloned());
    assert_eq!(paged(&app, "email", "asc").await, asc);
    let mut desc: Vec<String> = {
        let mut w = with.clone();
        w.reverse();
        w.sort_by(|a, b| b.0.cmp(&a.0));
        w.into_iter().map(|(_, n)| n).collect()
    };
    desc.extend(without.iter().rev().cloned());
    assert_eq!(paged(&app, "email", "desc").await, desc);
    // displayName: the same rule.
    let by_display = paged(&app, "displayName", "desc").await;
    assert_eq!(
        &by_display[13..],
        &without.iter().rev().cloned().collect::<Vec<_>>()[..]
    );
    // Past the end of both parts: an empty page, the same total.
    let body = page_of(&app, "email", "asc", 4).await;
    assert_eq!(
        (
            body["total"].clone(),
            body["items"].as_array().unwrap().len()
        ),
        (json!(23), 0)
    );
}
