//! Nothing a client sends yields a 5xx: random filters, paths, bodies and
//! parameters against the real router and store.

use axum::http::Method;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Filter-ish text built from the grammar's own pieces.
fn filterish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "userName",
        "emails",
        "emails.value",
        "name.givenName",
        "meta.lastModified",
        "active",
        "members",
        "value",
        "type",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        " eq ",
        " ne ",
        " co ",
        " sw ",
        " gt ",
        " le ",
        " pr",
        " and ",
        " or ",
        "not ",
        "(",
        ")",
        "[",
        "]",
        "\"x\"",
        "\"2024-01-01T00:00:00Z\"",
        "true",
        "false",
        "null",
        "12",
        "-1.5e3",
        "\"\\u00e9\"",
        ".",
        "\"%_\\\\\"",
        "groups.value",
        "schemas",
        "id",
        "externalId",
    ]);
    prop::collection::vec(atoms, 0..12).prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        "[a-zA-Z0-9 @.:_\\-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "userName",
                    "name",
                    "givenName",
                    "emails",
                    "value",
                    "type",
                    "primary",
                    "active",
                    "members",
                    "displayName",
                    "op",
                    "path",
                    "Operations",
                    "schemas",
                    "title",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "manager",
                ])
                .prop_map(str::to_string),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_filters_never_fail_the_server(f in filterish(), sort in prop::option::of(filterish())) {
        let rt = runtime();
        rt.block_on(async {
            let app = TestApp::new().await;
            app.user("someone").await;
            let mut q = format!("/scim/v2/Users?filter={}", enc(&f));
            if let Some(s) = &sort {
                q.push_str(&format!("&sortBy={}", enc(s)));
            }
            let r = app.get(&q).await;
            prop_assert!(r.status.as_u16() < 500, "{q} -> {} {}", r.status, r.text);
            let r = app.get(&format!("/scim/v2/Groups?filter={}&attributes={}", enc(&f), enc(&f))).await;
            prop_assert!(r.status.as_u16() < 500, "{f} -> {} {}", r.status, r.text);
            // Random cursors and counts.
            let r = app.get(&format!("/scim/v2/Users?cursor={}&count={}", enc(&f), enc(sort.as_deref().unwrap_or("")))).await;
            prop_assert!(r.status.as_u16() < 500, "cursor {f} -> {} {}", r.status, r.text);
            Ok(())
        })?;
    }

    #[test]
    fn random_bodies_never_fail_the_server(body in json_value(), path in filterish()) {
        let rt = runtime();
        rt.block_on(async {
            let app = TestApp::new().await;
            let uid = app.user("someone").await;
            let gid = app.group("G", &[&uid]).await;
            for (method, url) in [
                (Method::POST, "/scim/v2/Users".to_string()),
                (Method::POST, "/scim/v2/Groups".to_string()),
                (Method::PUT, format!("/scim/v2/Users/{uid}")),
                (Method::PATCH, format!("/scim/v2/Users/{uid}")),
                (Method::PATCH, format!("/scim/v2/Groups/{gid}")),
                (Method::POST, "/scim/v2/.search".to_string()),
                (Method::POST, "/scim/v2/Bulk".to_string()),
            ] {
                let r = app.call(method.clone(), &url, Some(&body)).await;
                prop_assert!(r.status.as_u16() < 500, "{method} {url} {body} -> {} {}", r.status, r.text);
            }
            for op in ["add", "replace", "remove"] {
                let ops = patch_body(json!([{"op": op, "path": path, "value": body}]));
                for url in [format!("/scim/v2/Users/{uid}"), format!("/scim/v2/Groups/{gid}")] {
                    let r = app.patch(&url, &ops).await;
                    prop_assert!(r.status.as_u16() < 500, "{url} {ops} -> {} {}", r.status, r.text);
                }
            }
            Ok(())
        })?;
    }
}
