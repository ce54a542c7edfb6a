//! Case-insensitive matching is Unicode (`scim_protocol::text::fold`, full
//! case folding) and the same on every side: a filter over SQL selects
//! exactly the users the protocol's in-memory evaluator selects, and
//! `userName` uniqueness follows the same folding. The suite's two runs
//! hold SQLite and PostgreSQL to it.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::support::*;
use scim_protocol::filter::{eval_element, resolve_element_filter};
use scim_protocol::schema::{Attribute, Kind};
use scim_protocol::text::fold;

/// Latin with accents (precomposed and combining), Greek with final sigma,
/// Cyrillic, the German sharp s and plain ASCII.
fn word() -> impl Strategy<Value = String> {
    let letters = vec![
        "a", "B", "é", "É", "ë", "Ë", "ç", "Ç", "ß", "ẞ", "æ", "Æ", "ø", "Ø", "e\u{301}",
        "E\u{301}", "o\u{308}", "Σ", "σ", "ς", "Ω", "ω", "Ά", "ά", "Д", "д", "Ж", "ж", "Я", "я",
        "ss", "SS", "z", "Z", "İ", "ı", "ǅ",
    ];
    prop::collection::vec(prop::sample::select(letters), 1..5).prop_map(|v| v.concat())
}

/// A case variant of `s`: as is, upper, lower, or folded.
fn variant(s: &str, how: u8) -> String {
    match how % 4 {
        0 => s.to_string(),
        1 => s.to_uppercase(),
        2 => s.to_lowercase(),
        _ => fold(s),
    }
}

/// The users a filter `attr op "value"` selects, by the protocol's own
/// evaluator (each user's JSON as the element of a complex attribute whose
/// sub-attributes are the User schema's; `name.givenName` through `name`).
fn evaluated(
    users: &[(String, Value)],
    def: &Attribute,
    filter: &str,
    attr: &str,
) -> BTreeSet<String> {
    let (def, text) = match attr.split_once('.') {
        Some((outer, sub)) => {
            let def = def
                .sub_attributes
                .iter()
                .find(|a| a.name == outer)
                .unwrap()
                .clone();
            (def, filter.replacen(&format!("{outer}.{sub}"), sub, 1))
        }
        None => (def.clone(), filter.to_string()),
    };
    let parsed = scim_filter_parser::parse_filter(&text).unwrap();
    let cond = resolve_element_filter(&def, &parsed).unwrap();
    users
        .iter()
        .filter(|(_, u)| {
            let elem = match attr.split_once('.') {
                Some((outer, _)) => u.get(outer).cloned().unwrap_or(Value::Null),
                None => u.clone(),
            };
            eval_element(&cond, &elem)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

#[test]
fn sql_and_the_evaluator_select_the_same_users_for_unicode_text() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases: 12,
        rng_seed: RngSeed::Fixed(0x0f01d),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let names = prop::collection::vec((word(), word(), word()), 4..9);
    let probes = prop::collection::vec(
        (
            0usize..3,
            0usize..4,
            any::<u8>(),
            any::<prop::sample::Index>(),
        ),
        6..10,
    );
    let result = runner.run(&(names, probes), |(names, probes)| {
        rt.block_on(async {
            let app = TestApp::new().await;
            let rt_user = app.directory.registry.resource_type(Kind::User);
            // The User schema as the sub-attributes of one complex attribute.
            let mut def = rt_user.schema.attribute("name").unwrap().clone();
            def.sub_attributes = rt_user.schema.attributes.clone();
            let mut users: Vec<(String, Value)> = Vec::new();
            for (user_name, given, display) in &names {
                let body = json!({"schemas": [USER], "userName": user_name,
                    "displayName": display, "name": {"givenName": given}});
                let r = app.post("/scim/v2/Users", &body).await;
                // Unique by the folding: taken exactly when an earlier name folds alike.
                let taken = users
                    .iter()
                    .any(|(_, u)| fold(u["userName"].as_str().unwrap()) == fold(user_name));
                if taken {
                    prop_assert_eq!(r.status, StatusCode::CONFLICT, "{} {}", user_name, r.text);
                    continue;
                }
                prop_assert_eq!(r.status, StatusCode::CREATED, "{} {}", user_name, r.text);
                users.push((r.body["id"].as_str().unwrap().to_string(), r.body.clone()));
            }
            for (attr_i, op_i, how, pick) in probes {
                let attr = ["userName", "displayName", "name.givenName"][attr_i];
                let op = ["eq", "sw", "co", "ew"][op_i];
                let (_, u) = &users[pick.index(users.len())];
                let value = match attr {
                    "name.givenName" => u["name"]["givenName"].as_str().unwrap(),
                    a => u[a].as_str().unwrap(),
                };
                let chars: Vec<char> = value.chars().collect();
                let part: String = match op {
                    "sw" => chars[..chars.len().div_ceil(2)].iter().collect(),
                    "ew" => chars[chars.len() / 2..].iter().collect(),
                    "co" => {
                        let from = chars.len() / 3;
                        chars[from..(2 * chars.len() / 3).max(from + 1)]
                            .iter()
                            .collect()
                    }
                    _ => value.to_string(),
                };
                let literal = serde_json::to_string(&variant(&part, how)).unwrap();
                let filter = format!("{attr} {op} {literal}");
                let r = app
                    .get(&format!("/scim/v2/Users?count=100&filter={}", enc(&filter)))
                    .await;
                prop_assert_eq!(r.status, StatusCode::OK, "{}: {}", filter, r.text);
                let selected: BTreeSet<String> = r.body["Resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["id"].as_str().unwrap().to_string())
                    .collect();
                let want = evaluated(&users, &def, &filter, attr);
                // As sent or folded, the probe's own user matches (upper-
                // and lowercasing need not: `ı` uppercases to `I`, whose
                // folding is `i`).
                if how % 4 == 0 || how % 4 == 3 {
                    prop_assert!(!want.is_empty(), "{}: the probe's own user matches", filter);
                }
                prop_assert_eq!(selected, want, "{}", filter);
            }
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The cases the issue names, one by one: `ÉDITH` and `édith` are one
/// userName, and `name.givenName sw "ZOË"` finds Zoë; `Straße` is `STRASSE`.
#[tokio::test]
async fn edith_is_one_user_and_zoe_is_found_in_any_case() {
    let app = TestApp::new().await;
    app.user_from(json!({"schemas": [USER], "userName": "édith", "name": {"givenName": "Zoë"}}))
        .await;
    let again = app
        .post(
            "/scim/v2/Users",
            &json!({"schemas": [USER], "userName": "ÉDITH"}),
        )
        .await;
    again.assert_error(409, Some("uniqueness"));
    for filter in [
        "name.givenName sw \"ZOË\"",
        "userName eq \"ÉDITH\"",
        "name.givenName eq \"zoË\"",
    ] {
        let r = app
            .get(&format!("/scim/v2/Users?filter={}", enc(filter)))
            .await;
        assert_eq!(r.body["totalResults"], 1, "{filter}: {}", r.text);
    }
    app.user_from(json!({"schemas": [USER], "userName": "Straße"}))
        .await;
    let r = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc("userName eq \"STRASSE\"")
        ))
        .await;
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    let dup = app
        .post(
            "/scim/v2/Users",
            &json!({"schemas": [USER], "userName": "strasse"}),
        )
        .await;
    dup.assert_error(409, Some("uniqueness"));
}

/// A database folded the old way (ASCII only, no folded JSON) is refolded
/// at the next start: filters find non-ASCII text in any case at once, and
/// a name that now folds like another live one keeps its old shadow (both
/// users stay; the name is taken for anyone else).
#[tokio::test]
async fn an_old_database_is_refolded_at_the_next_start() {
    let app = TestApp::new().await;
    let edith = app.user("édith").await;
    let shout = app.user("placeholder").await;
    let zoe = app
        .user_from(json!({"schemas": [USER], "userName": "zoe", "name": {"givenName": "Zoë"}}))
        .await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.url).await.unwrap();
    // The state an older version left: ASCII folding, no folded JSON.
    let data = json!({"schemas": [USER], "id": shout, "userName": "ÉDITH"}).to_string();
    sqlx::query(
        "UPDATE users SET user_name = 'ÉDITH', user_name_ci = 'Édith', data = $1 WHERE id = $2",
    )
    .bind(&data)
    .bind(&shout)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("UPDATE users SET data_ci = NULL")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM store_facts")
        .execute(&db)
        .await
        .unwrap();
    let before = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc("name.givenName sw \"ZOË\"")
        ))
        .await;
    assert_eq!(
        before.body["totalResults"], 0,
        "not folded yet: {}",
        before.text
    );

    rollcall::store::Store::connect(&app.url).await.unwrap();

    let found = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc("name.givenName sw \"ZOË\"")
        ))
        .await;
    assert_eq!(
        found.body["Resources"][0]["id"], zoe["id"],
        "{}",
        found.text
    );
    let both = app
        .get(&format!(
            "/scim/v2/Users?filter={}",
            enc("userName eq \"ÉDITH\"")
        ))
        .await;
    assert_eq!(
        both.body["Resources"][0]["id"],
        edith.as_str(),
        "{}",
        both.text
    );
    assert_eq!(
        app.user_detail(&shout).await.unwrap()["userName"],
        "ÉDITH",
        "both stay"
    );
    let third = app
        .post(
            "/scim/v2/Users",
            &json!({"schemas": [USER], "userName": "Édith"}),
        )
        .await;
    third.assert_error(409, Some("uniqueness"));
    let fact: String = sqlx::query_scalar("SELECT value FROM store_facts WHERE name = 'fold'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(fact, "unicode-full-1");
}
