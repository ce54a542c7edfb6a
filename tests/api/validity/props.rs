//! The property: the same hostile string in the same attribute gets the
//! same answer through every door — the rule's, computed here the slow way
//! — and a refused request changes nothing. The suite's two runs (SQLite,
//! PostgreSQL) hold both stores to it.

use axum::http::StatusCode;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::json;

use super::{filter_path, patch_with, short, user_with};
use crate::snapshot::{differences, Snapshots};
use crate::support::*;

/// Hostile text: controls, DEL, line breaks, combining marks, emoji and
/// plain text, at lengths around the limits.
fn hostile() -> impl Strategy<Value = String> {
    let controls: Vec<String> = ('\u{0}'..='\u{1f}')
        .chain(['\u{7f}'])
        .map(String::from)
        .collect();
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9@._-]{1,8}",
        1 => prop::sample::select(controls),
        1 => prop::sample::select(vec!["\u{301}", "😀", "\u{200d}", "é", "\u{85}", "\u{feff}"])
            .prop_map(String::from),
    ];
    let short = prop::collection::vec(piece, 1..6).prop_map(|v| v.concat());
    prop_oneof![
        6 => short,
        1 => (60usize..70).prop_map(|n| "t".repeat(n)),
        1 => (250usize..262).prop_map(|n| "é".repeat(n)),
        1 => (1020usize..1030).prop_map(|n| "😀".repeat(n)),
        1 => Just("x".repeat(10_000)),
    ]
}

/// The attributes, and whether each is a name (one line, 256) or free
/// text (1,024), or a label (one line, 64).
const ATTRS: [(&str, usize, bool); 8] = [
    ("userName", 256, true),
    ("externalId", 256, true),
    ("displayName", 256, true),
    ("emails.value", 256, true),
    ("emails.type", 64, true),
    ("title", 1024, false),
    ("name.givenName", 1024, false),
    ("department", 1024, false),
];

/// What the rule says of `s`.
fn accepted(s: &str, max: usize, one_line: bool) -> bool {
    let refused = |c: char| {
        let c = u32::from(c);
        c == 0x7f || c < 0x20 && (one_line || !matches!(c, 0x09 | 0x0a | 0x0d))
    };
    !s.chars().any(refused) && s.chars().count() <= max
}

#[derive(Debug, Clone, Copy)]
enum Door {
    Create,
    Replace,
    Patch,
    Bulk,
    Filter,
}

fn door() -> impl Strategy<Value = Door> {
    prop::sample::select(vec![
        Door::Create,
        Door::Replace,
        Door::Patch,
        Door::Bulk,
        Door::Filter,
    ])
}

/// The status the door answers, and the scimType of a refusal.
async fn knock(
    app: &TestApp,
    uid: &str,
    n: usize,
    door: Door,
    attr: &str,
    s: &str,
) -> (u16, Option<String>) {
    let name = if attr == "userName" {
        s.to_string()
    } else {
        format!("p{n}")
    };
    let r = match door {
        Door::Create => app.post("/scim/v2/Users", &user_with(&name, attr, s)).await,
        Door::Replace => {
            let name = if attr == "userName" { s } else { "target" };
            app.put(&format!("/scim/v2/Users/{uid}"), &user_with(name, attr, s))
                .await
        }
        Door::Patch => {
            app.patch(&format!("/scim/v2/Users/{uid}"), &patch_with(attr, s))
                .await
        }
        Door::Bulk => {
            let op = json!({"method": "POST", "path": "/Users", "bulkId": "b", "data": user_with(&name, attr, s)});
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [op]});
            let r = app.post("/scim/v2/Bulk", &body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let op = &r.body["Operations"][0];
            let status = op["status"].as_str().unwrap().parse().unwrap();
            return (
                status,
                op["response"]["scimType"].as_str().map(str::to_string),
            );
        }
        Door::Filter => {
            let literal = serde_json::to_string(s).unwrap();
            let f = format!("{} eq {literal}", filter_path(attr));
            app.get(&format!("/scim/v2/Users?filter={}", enc(&f))).await
        }
    };
    (
        r.status.as_u16(),
        r.body["scimType"].as_str().map(str::to_string),
    )
}

#[test]
fn the_same_hostile_strings_get_the_same_answers_through_every_door() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, uid, snaps) = rt.block_on(async {
        let app = TestApp::new().await;
        let uid = app.user("target").await;
        let snaps = Snapshots::open(&app).await;
        (app, uid, snaps)
    });
    let config = Config {
        cases: 96,
        rng_seed: RngSeed::Fixed(0x5ca1ab1e),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let count = std::cell::Cell::new(0usize);
    let strategy = (0..ATTRS.len(), hostile(), door());
    let result = runner.run(&strategy, |(i, s, door)| {
        count.set(count.get() + 1);
        let n = count.get();
        let (attr, max, one_line) = ATTRS[i];
        // A userName is unique: each case's is its own.
        let s = if attr == "userName" {
            format!("{n}-{s}")
        } else {
            s
        };
        let want = accepted(&s, max, one_line);
        rt.block_on(async {
            let before = snaps.take().await;
            let (status, scim_type) = knock(&app, &uid, n, door, attr, &s).await;
            let f_len = filter_path(attr).len() + serde_json::to_string(&s).unwrap().len() + 4;
            if matches!(door, Door::Filter) && f_len > 8192 {
                // Over the parser's limit before any literal is read.
                prop_assert_eq!((status, scim_type.as_deref()), (400, Some("invalidFilter")));
                return Ok(());
            }
            if want {
                prop_assert!(
                    (200..300).contains(&status),
                    "{:?} {} {}: {} {:?}",
                    door,
                    attr,
                    short(&s),
                    status,
                    scim_type
                );
                return Ok(());
            }
            prop_assert_eq!(
                (status, scim_type.as_deref()),
                (400, Some("invalidValue")),
                "{:?} {} {}",
                door,
                attr,
                short(&s)
            );
            let diff = differences(&before, &snaps.take().await);
            prop_assert!(
                diff.is_empty(),
                "{:?} {} {} changed {:?}",
                door,
                attr,
                short(&s),
                diff
            );
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
