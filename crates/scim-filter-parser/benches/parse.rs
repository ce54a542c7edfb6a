//! Filter and path parsing: the IdP lookups Rollcall sees most, and the
//! longest filters RFC 7644 shows.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scim_filter_parser::{parse_filter, parse_path};

fn filters(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_filter");
    for (name, f) in [
        ("okta_lookup", r#"userName eq "ana.lopez@example.com""#),
        (
            "entra_external_id",
            r#"externalId eq "1f3a9c52-7f0e-4b61-9a6e-2d1f0b7c9e41""#,
        ),
        (
            "value_path",
            r#"emails[type eq "work" and value co "@example.com"]"#,
        ),
        (
            "rfc_example_long",
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org") and not (title pr) and meta.lastModified gt "2011-05-13T04:42:34Z""#,
        ),
    ] {
        g.bench_function(name, |b| b.iter(|| parse_filter(black_box(f))));
    }
    g.finish();
}

fn paths(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_path");
    for (name, p) in [
        ("attr", "displayName"),
        (
            "member_value_path",
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        ),
        (
            "extension_sub",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ),
    ] {
        g.bench_function(name, |b| b.iter(|| parse_path(black_box(p))));
    }
    g.finish();
}

criterion_group!(benches, filters, paths);
criterion_main!(benches);
