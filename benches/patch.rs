//! The PATCH engine and resource validation on the shapes IdPs send.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scim_protocol::patch::{apply, parse_request};
use scim_protocol::resource::normalize;
use scim_protocol::schema::{Kind, Registry};
use serde_json::{json, Map, Value};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "ana.lopez@example.com",
        "externalId": "00u1a2b3c4",
        "name": {"givenName": "Ana", "familyName": "Lopez"},
        "displayName": "Ana Lopez",
        "active": true,
        "emails": [{"value": "ana.lopez@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "1042", "department": "Finance",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

fn patch(c: &mut Criterion) {
    let registry = Registry::new();
    let rt = registry.resource_type(Kind::User);
    let base: Map<String, Value> = normalize(rt, &user()).unwrap_or_default();
    let mut g = c.benchmark_group("patch");
    let cases = [
        (
            "entra_deactivate",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        ),
        (
            "okta_pathless_replace",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "value": {"name.givenName": "Anna", "title": "Lead", "active": true}}]}),
        ),
        (
            "value_path_and_extension",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [
                     {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ana@example.org"},
                     {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Risk"}]}),
        ),
    ];
    for (name, body) in cases {
        g.bench_function(name, |b| {
            b.iter(|| {
                let ops = parse_request(black_box(&body)).unwrap_or_default();
                let mut r = base.clone();
                let _ = apply(&registry, rt, &mut r, &ops);
                r
            })
        });
    }
    g.finish();
    c.bench_function("normalize_user", |b| {
        let u = user();
        b.iter(|| normalize(rt, black_box(&u)))
    });
}

criterion_group!(benches, patch);
criterion_main!(benches);
