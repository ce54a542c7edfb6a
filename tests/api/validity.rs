//! One validity rule for text, through every door (`scim_protocol::text`,
//! docs/decisions.md "One validity rule for text"): control characters
//! (but TAB, LF, CR in free text) and strings over their announced limit
//! are a `400 invalidValue` on SCIM writes, Bulk, filters and paths, and an
//! `invalid_value` on the admin API and its CSV input; a refused request
//! changes nothing. The suite runs on SQLite and, with
//! `ROLLCALL_TEST_POSTGRES`, on PostgreSQL: both stores give the same
//! answers, the property test's included.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::snapshot::{assert_unchanged, differences, Snapshots};
use crate::support::*;

mod props;

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Refused in every string: the C0 controls but TAB, LF and CR, DEL, and
/// 10 kB (over every limit).
fn refused_everywhere() -> Vec<String> {
    let mut v: Vec<String> = [
        "a\u{0}b",
        "\u{0}",
        "x\u{1}",
        "\u{8}",
        "\u{b}",
        "\u{c}",
        "\u{1b}[31m",
        "\u{1f}",
        "del\u{7f}",
    ]
    .map(String::from)
    .to_vec();
    v.push("x".repeat(10_000));
    v
}

/// Refused in names (userName, externalId, displayName, emails' values):
/// line breaks and tabs, and 257 characters.
fn refused_in_names() -> Vec<String> {
    let mut v: Vec<String> = ["a\tb", "a\nb", "a\rb"].map(String::from).to_vec();
    v.push("n".repeat(257));
    v.push("é".repeat(257));
    v
}

/// Text like any other, in names too: lone combining marks, emoji (256 of
/// them: 1,024 bytes), joiners, C1 controls, a byte-order mark.
fn accepted() -> Vec<String> {
    let mut v: Vec<String> = [
        "\u{301}",
        "\u{301}\u{20dd}",
        "👩\u{200d}👩\u{200d}👧",
        "e\u{301}",
        "\u{85}\u{9b}",
        "\u{feff}bom",
    ]
    .map(String::from)
    .to_vec();
    v.push("😀".repeat(256));
    v.push("n".repeat(256));
    v
}

/// A User body with `s` at `attr` (a name of `attrs`).
pub(crate) fn user_with(user_name: &str, attr: &str, s: &str) -> Value {
    let mut b = json!({"schemas": [USER, ENTERPRISE], "userName": user_name});
    match attr {
        "name.givenName" => b["name"] = json!({"givenName": s}),
        "emails.value" => b["emails"] = json!([{"value": s}]),
        "emails.type" => b["emails"] = json!([{"value": "a@x.test", "type": s}]),
        "addresses.formatted" => b["addresses"] = json!([{"formatted": s}]),
        "department" => b[ENTERPRISE] = json!({"department": s}),
        a => b[a] = json!(s),
    }
    b
}

/// The PATCH that sets `attr` to `s`.
pub(crate) fn patch_with(attr: &str, s: &str) -> Value {
    let (path, value) = match attr {
        "emails.value" => ("emails".to_string(), json!([{"value": s}])),
        "emails.type" => (
            "emails".to_string(),
            json!([{"value": "a@x.test", "type": s}]),
        ),
        "addresses.formatted" => ("addresses".to_string(), json!([{"formatted": s}])),
        "department" => (format!("{ENTERPRISE}:department"), json!(s)),
        a => (a.to_string(), json!(s)),
    };
    patch_body(json!([{"op": "replace", "path": path, "value": value}]))
}

/// The filter path of `attr`.
pub(crate) fn filter_path(attr: &str) -> String {
    match attr {
        "department" => format!("{ENTERPRISE}:department"),
        a => a.to_string(),
    }
}

const NAMES: [&str; 4] = ["userName", "externalId", "displayName", "emails.value"];
const TEXTS: [&str; 4] = [
    "title",
    "name.givenName",
    "addresses.formatted",
    "department",
];

/// An app with a super-admin (the directory tests' `root`), its admin
/// token, a user and a group.
pub(crate) async fn setup() -> (TestApp, String, String, String) {
    let app = TestApp::from_toml(crate::directory::ACME).await;
    let (_, admin) = crate::directory::root(&app).await;
    let uid = app
        .user_from(
            json!({"schemas": [USER], "userName": "ann", "title": "Analyst",
            "emails": [{"value": "ann@x.test", "type": "work"}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gid = app.group("Team", &[&uid]).await;
    (app, admin, uid, gid)
}

/// A string short enough for a failure message.
pub(crate) fn short(s: &str) -> String {
    match s.char_indices().nth(400) {
        Some((at, _)) => format!("{:?}… ({} characters)", &s[..at], s.chars().count()),
        None => format!("{s:?}"),
    }
}

#[track_caller]
fn assert_invalid_value(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
    r.assert_error(400, Some("invalidValue"));
}

/// The SCIM writes of a user and of a group with `s` where `attr` goes.
async fn scim_writes(app: &TestApp, uid: &str, gid: &str, attr: &str, s: &str) {
    let user = format!("/scim/v2/Users/{uid}");
    let group = format!("/scim/v2/Groups/{gid}");
    let fresh = user_with("fresh", attr, s);
    let replaced = user_with("ann", attr, s);
    for (method, path, body) in [
        (Method::POST, "/scim/v2/Users", &fresh),
        (Method::PUT, user.as_str(), &replaced),
        (Method::PATCH, user.as_str(), &patch_with(attr, s)),
    ] {
        let r = app.call(method.clone(), path, Some(body)).await;
        assert_invalid_value(&r, &format!("{method} {path} {attr}={}", short(s)));
    }
    if attr != "displayName" && attr != "externalId" {
        return;
    }
    let g = json!({"schemas": [GROUP], attr: s, "displayName": if attr == "displayName" { s } else { "G2" }});
    let members = patch_body(json!([{"op": "add", "path": "members", "value": [{"value": s}]}]));
    for (method, path, body) in [
        (Method::POST, "/scim/v2/Groups", &g),
        (Method::PUT, group.as_str(), &g),
        (Method::PATCH, group.as_str(), &patch_with(attr, s)),
        (Method::PATCH, group.as_str(), &members),
    ] {
        let r = app.call(method.clone(), path, Some(body)).await;
        assert_invalid_value(&r, &format!("{method} {path} {attr}={}", short(s)));
    }
}

/// The snapshots the tests compare see what a write does, on either store.
#[tokio::test]
async fn a_snapshot_sees_every_change() {
    let app = TestApp::new().await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    app.user("seen").await;
    let after = snaps.take().await;
    let diff = differences(&before, &after);
    for t in ["users", "audit_log", "outbox", "user_search_terms"] {
        assert!(
            diff.iter().any(|d| d.starts_with(&format!("{t}:"))),
            "{t}: {diff:?}"
        );
    }
    assert!(
        after["users"]
            .iter()
            .any(|l| l.contains("user_name=seen |")),
        "{:?}",
        after["users"]
    );
}

#[tokio::test]
async fn scim_writes_refuse_control_characters_and_overlong_strings_and_change_nothing() {
    let (app, _, uid, gid) = setup().await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    for s in refused_everywhere() {
        for attr in NAMES.iter().chain(&TEXTS) {
            scim_writes(&app, &uid, &gid, attr, &s).await;
        }
    }
    for s in refused_in_names() {
        for attr in NAMES {
            scim_writes(&app, &uid, &gid, attr, &s).await;
        }
    }
    // A 1,025-character title, a 65-character email type.
    scim_writes(&app, &uid, &gid, "title", &"t".repeat(1025)).await;
    scim_writes(&app, &uid, &gid, "emails.type", &"t".repeat(65)).await;
    let r = app
        .post("/scim/v2/Users", &user_with(&"u".repeat(257), "title", "x"))
        .await;
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("'userName' is 257 characters long; it holds at most 256"),
        "the detail names the attribute and the limit: {}",
        r.text
    );
    assert_unchanged(&before, &snaps.take().await, "a refused SCIM write");
}

#[tokio::test]
async fn other_text_is_kept_as_sent_and_found_by_filters() {
    let app = TestApp::new().await;
    for (i, s) in accepted().iter().enumerate() {
        let body = json!({"schemas": [USER], "userName": s, "displayName": s,
            "externalId": s, "title": s, "emails": [{"value": s}]});
        let created = app.user_from(body).await;
        let got = app
            .get(&format!(
                "/scim/v2/Users/{}",
                created["id"].as_str().unwrap()
            ))
            .await;
        for attr in ["userName", "displayName", "externalId", "title"] {
            assert_eq!(got.body[attr].as_str(), Some(s.as_str()), "{attr} #{i}");
        }
        assert_eq!(got.body["emails"][0]["value"].as_str(), Some(s.as_str()));
        let literal = serde_json::to_string(s).unwrap();
        let found = app
            .user_names(&format!(
                "filter={}",
                enc(&format!("userName eq {literal}"))
            ))
            .await;
        assert_eq!(found, vec![s.clone()], "#{i}");
    }
    // Free text keeps its line breaks and tabs, up to 1,024 characters.
    let text = format!("Head of\r\nThings\t{}", "😀".repeat(1000));
    let id = app.user("lines").await;
    let r = app
        .patch(&format!("/scim/v2/Users/{id}"), &patch_with("title", &text))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"].as_str(), Some(text.as_str()));
    let addr = "100 Universal City Plaza\nHollywood, CA 91608";
    let r = app
        .patch(
            &format!("/scim/v2/Users/{id}"),
            &patch_with("addresses.formatted", addr),
        )
        .await;
    assert_eq!(r.body["addresses"][0]["formatted"], addr, "{}", r.text);
}

/// `n` characters drawn from `alphabet` in a fixed pseudo-random order
/// that does not compress (PostgreSQL compresses an index entry when it
/// can: a repeated character would fit where real text does not).
fn scrambled(n: usize, seed: u64, alphabet: &[char]) -> String {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize]
        })
        .collect()
}

/// 4-byte characters (emoji), scrambled.
fn wide(n: usize, seed: u64) -> String {
    let emoji: Vec<char> = ('\u{1f300}'..='\u{1f64f}').collect();
    scrambled(n, seed, &emoji)
}

fn random_base64(n: usize) -> String {
    let alphabet: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['+', '/'])
        .collect();
    scrambled(n, 7, &alphabet)
}

/// The longest values the limits allow, in 4-byte characters where text
/// may be any: PostgreSQL's indexes hold them (a btree entry takes at most
/// 2,704 bytes), as SQLite does.
#[tokio::test]
async fn the_longest_values_fit_the_indexes_of_both_stores() {
    let app = TestApp::new().await;
    let name = |seed| wide(256, seed);
    let label = wide(64, 99);
    let email = name(5);
    let body = json!({"schemas": [USER], "userName": name(1), "externalId": name(2),
        "displayName": name(3), "title": wide(1024, 4),
        "emails": [{"value": email, "type": label, "display": wide(1024, 6)}],
        "roles": [{"value": name(7), "type": label}],
        "photos": [{"value": name(8), "type": label}],
        "x509Certificates": [{"value": random_base64(2048), "type": label}]});
    let created = app.user_from(body).await;
    assert_eq!(
        created["userName"].as_str().map(|s| s.chars().count()),
        Some(256)
    );
    let g = json!({"schemas": [GROUP], "displayName": name(9), "externalId": name(10),
        "members": [{"value": created["id"], "display": wide(1024, 11)}]});
    let r = app.post("/scim/v2/Groups", &g).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", short(&r.text));
    let f = format!("emails[value eq \"{email}\"]");
    assert_eq!(
        app.user_names(&format!("filter={}", enc(&f))).await.len(),
        1
    );
}

fn bulk_op(method: &str, path: &str, data: Option<Value>, bulk_id: Option<&str>) -> Value {
    let mut op = json!({"method": method, "path": path});
    if let Some(d) = data {
        op["data"] = d;
    }
    if let Some(b) = bulk_id {
        op["bulkId"] = json!(b);
    }
    op
}

#[tokio::test]
async fn a_bulk_operation_with_a_hostile_string_fails_alone() {
    let (app, _, uid, gid) = setup().await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    let user = format!("/Users/{uid}");
    let mut ops = Vec::new();
    for (i, s) in refused_everywhere().iter().enumerate() {
        let b = format!("b{i}");
        ops.push(bulk_op(
            "POST",
            "/Users",
            Some(user_with(&b, "title", s)),
            Some(&b),
        ));
        ops.push(bulk_op(
            "PUT",
            &user,
            Some(user_with("ann", "userName", s)),
            None,
        ));
        ops.push(bulk_op(
            "PATCH",
            &user,
            Some(patch_with("department", s)),
            None,
        ));
        // A 10 kB id names nobody: 404, as on the URL.
        if s.len() < 100 {
            ops.push(bulk_op("DELETE", &format!("/Users/{s}"), None, None));
        }
        ops.push(bulk_op(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(patch_with("displayName", s)),
            None,
        ));
    }
    ops.push(bulk_op(
        "POST",
        "/Users",
        Some(user_with("x", "userName", "y")),
        Some("\u{0}"),
    ));
    let r = app
        .post(
            "/scim/v2/Bulk",
            &json!({"schemas": [BULK], "Operations": ops}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for (i, op) in r.body["Operations"].as_array().unwrap().iter().enumerate() {
        assert_eq!(op["status"], "400", "operation {i}: {op}");
        assert_eq!(
            op["response"]["scimType"], "invalidValue",
            "operation {i}: {op}"
        );
    }
    assert_unchanged(&before, &snaps.take().await, "refused Bulk operations");
    // The envelope holds to the rule too; a clean operation beside a
    // refused one is done.
    let bad = json!({"schemas": [BULK, "\u{1}"], "Operations": []});
    assert_invalid_value(&app.post("/scim/v2/Bulk", &bad).await, "a Bulk envelope");
    let ops = json!([
        bulk_op(
            "POST",
            "/Users",
            Some(user_with("clean", "title", "fine")),
            Some("c")
        ),
        bulk_op(
            "POST",
            "/Users",
            Some(user_with("dirty", "title", "\u{0}")),
            Some("d")
        ),
    ]);
    let r = app
        .post(
            "/scim/v2/Bulk",
            &json!({"schemas": [BULK], "Operations": ops}),
        )
        .await;
    let status: Vec<&str> = r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["201", "400"], "{}", r.text);
}

#[tokio::test]
async fn filters_paths_and_parameters_refuse_control_characters() {
    let (app, admin, uid, _) = setup().await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    let search = |f: &str| json!({"schemas": [SEARCH], "filter": f});
    for s in refused_everywhere().iter().filter(|s| s.len() < 100) {
        let literal = serde_json::to_string(s).unwrap();
        for f in [
            format!("userName eq \"{s}\""),
            format!("userName eq {literal}"),
            format!("title co {literal}"),
            format!("emails[value sw {literal}]"),
            format!("{ENTERPRISE}:department eq {literal}"),
        ] {
            let r = app.get(&format!("/scim/v2/Users?filter={}", enc(&f))).await;
            assert_invalid_value(&r, &f);
            let r = app.post("/scim/v2/Users/.search", &search(&f)).await;
            assert_invalid_value(&r, &f);
        }
        let f = format!("displayName eq {literal}");
        assert_invalid_value(
            &app.get(&format!("/scim/v2/Groups?filter={}", enc(&f)))
                .await,
            &f,
        );
        assert_invalid_value(&app.post("/scim/v2/.search", &search(&f)).await, &f);
        for q in [
            "sortBy",
            "attributes",
            "excludedAttributes",
            "cursor",
            "count",
        ] {
            let r = app.get(&format!("/scim/v2/Users?{q}={}", enc(s))).await;
            assert_invalid_value(&r, q);
        }
        // An id in the path.
        let path = format!("/scim/v2/Users/{}", enc(s).replace('+', "%20"));
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let body = patch_with("title", "x");
            let r = app.call(method.clone(), &path, Some(&body)).await;
            assert_invalid_value(&r, &format!("{method} {}", short(&path)));
        }
        // The admin API's search, and its paths.
        for path in [
            format!("/admin/v1/users?search={}", enc(s)),
            format!("/admin/v1/users/{}", enc(s).replace('+', "%20")),
            format!("/admin/v1/audit?actor={}", enc(s)),
        ] {
            let r = app.call_as(&admin, Method::GET, &path, None).await;
            assert_admin_invalid(&r, &path);
        }
    }
    // A literal longer than the attribute's values is a value no user
    // holds; a filter over 8 kB is refused by the parser.
    let f = format!("userName eq \"{}\"", "x".repeat(257));
    assert_invalid_value(
        &app.get(&format!("/scim/v2/Users?filter={}", enc(&f))).await,
        &f,
    );
    let f = format!("title eq \"{}\"", "x".repeat(10_000));
    app.get(&format!("/scim/v2/Users?filter={}", enc(&f)))
        .await
        .assert_error(400, Some("invalidFilter"));
    assert_unchanged(&before, &snaps.take().await, "a refused read");
    // Nothing was stored that a JSON-path filter or sort trips over
    // (PostgreSQL reads the stored JSON as jsonb).
    for q in [
        "filter=title%20eq%20%22Analyst%22",
        "sortBy=title",
        "filter=title%20pr&sortBy=nickName",
    ] {
        let r = app.get(&format!("/scim/v2/Users?{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
    }
    let r = app
        .call_as(&admin, Method::GET, "/admin/v1/users?search=an", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&uid));
}

#[track_caller]
fn assert_admin_invalid(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
    assert_eq!(r.body["error"], "invalid_value", "{what}: {}", r.text);
}

#[tokio::test]
async fn the_admin_api_and_its_csv_refuse_hostile_strings_and_change_nothing() {
    let (app, admin, uid, _) = setup().await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    let mut names = refused_everywhere();
    names.extend(refused_in_names());
    let call = |method: Method, path: String, body: Value| {
        let app = &app;
        let admin = &admin;
        async move { (app.call_as(admin, method, &path, Some(&body)).await, path) }
    };
    for s in &names {
        let csv = format!("userName\nann\n\"{}\"\n", s.replace('"', "\"\""));
        for (method, path, body) in [
            (
                Method::POST,
                "/admin/v1/users".to_string(),
                json!({"userName": s}),
            ),
            (
                Method::POST,
                "/admin/v1/users".into(),
                json!({"userName": "new", "email": format!("{s}@x.test")}),
            ),
            (
                Method::POST,
                "/admin/v1/users".into(),
                json!({"userName": "new", "displayName": s}),
            ),
            (
                Method::PATCH,
                format!("/admin/v1/users/{uid}/access"),
                json!({"plan": s}),
            ),
            (
                Method::PATCH,
                format!("/admin/v1/users/{uid}/access"),
                json!({"projects": {s.as_str(): "editor"}}),
            ),
            (
                Method::POST,
                "/admin/v1/tokens".into(),
                json!({"label": s, "scopes": ["scim"]}),
            ),
            (
                Method::POST,
                "/admin/v1/deprovision-jobs".into(),
                json!({"mode": "deactivate", "leavers": ["ann", s]}),
            ),
            (
                Method::POST,
                "/admin/v1/deprovision-jobs".into(),
                json!({"mode": "deactivate", "csv": csv}),
            ),
        ] {
            let (r, path) = call(method, path, body).await;
            assert_admin_invalid(&r, &format!("{path} {}", short(s)));
        }
    }
    for s in refused_everywhere() {
        for (method, path, body) in [
            (
                Method::POST,
                format!("/admin/v1/users/{uid}/ban"),
                json!({"reason": s}),
            ),
            (
                Method::PATCH,
                "/admin/v1/tenant".into(),
                json!({"fallbackOwner": s}),
            ),
            (
                Method::POST,
                format!("/admin/v1/users/{uid}/transfer"),
                json!({"successor": s}),
            ),
        ] {
            let lookup = path.ends_with("transfer") || path.ends_with("tenant");
            if lookup && s.len() > 1024 {
                // A lookup of a long name finds nobody (404, 400 no such
                // user): not the rule's business.
                continue;
            }
            let (r, path) = call(method, path, body).await;
            assert_admin_invalid(&r, &format!("{path} {}", short(&s)));
        }
    }
    let r = app
        .call_as(
            &admin,
            Method::POST,
            &format!("/admin/v1/users/{uid}/ban"),
            Some(&json!({"reason": "r".repeat(1025)})),
        )
        .await;
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("'reason' is 1025 characters long"),
        "{}",
        r.text
    );
    assert_unchanged(&before, &snaps.take().await, "a refused admin request");
    // A ban's reason is free text.
    let r = app
        .call_as(
            &admin,
            Method::POST,
            &format!("/admin/v1/users/{uid}/ban"),
            Some(&json!({"reason": "left\nthe company\t(2024)"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
