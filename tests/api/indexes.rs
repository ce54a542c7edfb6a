//! Filters compile to SQL that uses indexes: SQLite's EXPLAIN QUERY PLAN,
//! PostgreSQL's EXPLAIN with sequential scans switched off (a plan that still
//! scans has no index to use), both after ANALYZE on a seeded tenant.

use scim_protocol::list::{parse_list_query, PageLimits, RawListParams};
use scim_protocol::schema::{Kind, Registry};

use crate::support::*;

/// A tenant with enough rows for statistics to mean something: users with
/// emails, groups with members; then ANALYZE.
async fn seeded() -> TestApp {
    let app = TestApp::new().await;
    let mut ops = Vec::new();
    for i in 0..300 {
        ops.push(serde_json::json!({
            "method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
            "data": {"schemas": [USER], "userName": format!("user{i:04}"), "externalId": format!("e-{i}"),
                     "emails": [{"value": format!("user{i}@x.com"), "type": "work"}]}
        }));
    }
    for g in 0..30 {
        let members: Vec<_> = (0..10)
            .map(|k| serde_json::json!({"value": format!("bulkId:u{}", g * 10 + k)}))
            .collect();
        ops.push(serde_json::json!({
            "method": "POST", "path": "/Groups", "bulkId": format!("g{g}"),
            "data": {"schemas": [GROUP], "displayName": format!("group{g:02}"), "members": members}
        }));
    }
    let r = app
        .post(
            "/scim/v2/Bulk",
            &serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.store.analyze().await.unwrap();
    app
}

/// Whether a plan line reads a whole table.
fn scans(p: &str, table: &str) -> bool {
    p.lines().any(|l| {
        let l = l.trim();
        l == "SCAN r"
            || l.contains(&format!("SCAN {table}"))
            || l.contains(&format!("Seq Scan on {table}"))
    })
}

async fn plan(app: &TestApp, kind: Kind, filter: &str) -> String {
    let registry = Registry::new();
    let q = parse_list_query(
        &registry,
        registry.resource_type(kind),
        &RawListParams {
            filter: Some(filter.to_string()),
            ..Default::default()
        },
        PageLimits::default(),
    )
    .unwrap();
    app.store
        .explain(kind, &app.tenant, &q)
        .await
        .unwrap()
        .join("\n")
}

#[tokio::test]
async fn lookups_by_identifying_attributes_use_indexes() {
    let app = seeded().await;
    let cases = [
        (Kind::User, r#"userName eq "bjensen""#, "users_user_name"),
        (Kind::User, r#"externalId eq "e-1""#, "users_external_id"),
        (
            Kind::User,
            r#"emails[type eq "work"].value eq "a@x.com""#,
            // PostgreSQL, knowing values are more selective than types,
            // rightly prefers the value index.
            if on_postgres() {
                "user_values_value"
            } else {
                "user_values_type"
            },
        ),
        (
            Kind::User,
            r#"emails.value eq "a@x.com""#,
            "user_values_value",
        ),
        (
            Kind::User,
            r#"meta.lastModified gt "2024-01-01T00:00:00Z""#,
            "users_last_modified",
        ),
        (Kind::User, r#"userName sw "bj""#, "users_user_name"),
        (
            Kind::Group,
            r#"displayName eq "Admins""#,
            "groups_display_name",
        ),
        (
            Kind::Group,
            r#"members[value eq "00000000-0000-4000-8000-000000000001"]"#,
            "memberships_member",
        ),
    ];
    for (kind, filter, index) in cases {
        let p = plan(&app, kind, filter).await;
        assert!(
            p.contains(index),
            "{filter}: expected {index} in plan:\n{p}"
        );
        // The resource table itself is reached through an index or rowid, not scanned.
        let table = if kind == Kind::User {
            "users"
        } else {
            "groups"
        };
        assert!(!scans(&p, table), "{filter}: full scan in plan:\n{p}");
        // …and not by walking every row of the tenant.
        assert!(
            !p.lines()
                .any(|l| l.starts_with("SEARCH r") && l.ends_with("(tenant_id=?)")),
            "{filter}: tenant-wide walk in plan:\n{p}"
        );
        assert!(
            !p.contains(&format!("using {table}_tenant")),
            "{filter}: tenant-wide walk in plan:\n{p}"
        );
    }
}

async fn list_plan(app: &TestApp, kind: Kind, params: RawListParams) -> String {
    let registry = Registry::new();
    let q = parse_list_query(
        &registry,
        registry.resource_type(kind),
        &params,
        PageLimits::default(),
    )
    .unwrap();
    app.store
        .explain(kind, &app.tenant, &q)
        .await
        .unwrap()
        .join("\n")
}

#[tokio::test]
async fn unfiltered_and_sorted_lists_walk_an_index_in_order() {
    let app = seeded().await;
    // One tenant holds every row here, so PostgreSQL may rightly walk the
    // primary key (the list's order) instead of the tenant index.
    // Live users are also in pk order in users_live (tenant_id, deleted_at).
    let (users, groups) = if on_postgres() {
        (
            "users_tenant|users_pkey|users_live",
            "groups_tenant|groups_pkey",
        )
    } else {
        ("users_tenant|users_live", "groups_tenant")
    };
    for (kind, sort, index) in [
        (Kind::User, None, users),
        (Kind::Group, None, groups),
        (Kind::User, Some("userName"), "users_user_name"),
        (Kind::User, Some("meta.lastModified"), "users_last_modified"),
        (Kind::Group, Some("displayName"), "groups_display_name"),
    ] {
        let p = list_plan(
            &app,
            kind,
            RawListParams {
                sort_by: sort.map(str::to_string),
                ..Default::default()
            },
        )
        .await;
        assert!(
            index.split('|').any(|i| p.contains(i)),
            "{sort:?}: expected {index}:\n{p}"
        );
        assert!(
            !p.contains("SCAN r") && !p.contains("Seq Scan"),
            "{sort:?}: scan:\n{p}"
        );
        assert!(
            !p.contains("TEMP B-TREE") && !p.contains("Sort"),
            "{sort:?}: sorts in memory:\n{p}"
        );
    }
}
