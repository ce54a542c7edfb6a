//! Filters compile to SQL that uses indexes (EXPLAIN QUERY PLAN).

use rollcall::scim::list::{parse_list_query, PageLimits, RawListParams};
use rollcall::scim::schema::{Kind, Registry};

use crate::support::*;

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
    let app = TestApp::new().await;
    let cases = [
        (Kind::User, r#"userName eq "bjensen""#, "users_user_name"),
        (Kind::User, r#"externalId eq "e-1""#, "users_external_id"),
        (
            Kind::User,
            r#"emails[type eq "work"].value eq "a@x.com""#,
            "user_values_type",
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
        assert!(
            !p.lines()
                .any(|l| l.trim() == "SCAN r" || l.contains(&format!("SCAN {table}"))),
            "{filter}: full scan in plan:\n{p}"
        );
        // …and not by walking every row of the tenant.
        assert!(
            !p.lines()
                .any(|l| l.starts_with("SEARCH r") && l.ends_with("(tenant_id=?)")),
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
    let app = TestApp::new().await;
    for (kind, sort, index) in [
        (Kind::User, None, "users_tenant"),
        (Kind::Group, None, "groups_tenant"),
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
        assert!(p.contains(index), "{sort:?}: expected {index}:\n{p}");
        assert!(!p.contains("SCAN r"), "{sort:?}: scan:\n{p}");
        assert!(
            !p.contains("TEMP B-TREE"),
            "{sort:?}: sorts in memory:\n{p}"
        );
    }
}
