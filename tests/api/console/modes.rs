//! The owner and a read-only directory in the console: the owner's row
//! offers no Disable, Ban or Delete and says Owner; only the owner is
//! offered Make owner; a read-only directory says so and offers the
//! IdP-managed users' changes with the reason they are refused.

use axum::http::StatusCode;

use super::{change, page, sign_in, user};
use crate::support::TestApp;

const OWNED: &str = "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nowner = \"founder@acme.test\"\nallow_local_overrides = true\n";

/// The `<tr>` of the Users page that holds `name`.
fn row_of<'a>(html: &'a str, name: &str) -> &'a str {
    html.split("<tr>")
        .find(|r| r.contains(name))
        .unwrap_or_else(|| panic!("no row for {name}"))
}

#[tokio::test]
async fn console_the_owners_row_offers_no_disable_ban_or_delete() {
    let app = TestApp::from_toml(OWNED).await;
    user(&app, "root@acme.test", None).await;
    let founder = user(&app, "founder@acme.test", Some("admin")).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let users = page(&app, &b, "/console/users").await;
    assert_eq!(users.status, StatusCode::OK);
    let owner_row = row_of(&users.text, "founder@acme.test");
    assert!(
        owner_row.contains("<span class=\"badge\">Owner</span>"),
        "{owner_row}"
    );
    for absent in ["Disable user", "Ban user", "Delete user"] {
        assert!(!owner_row.contains(absent), "{absent}: {owner_row}");
    }
    let ann_row = row_of(&users.text, "ann@acme.test");
    assert!(ann_row.contains("Disable user") && ann_row.contains("Delete user"));
    assert!(!ann_row.contains(">Owner<"));
    // The owner's page says why, and has no Delete card.
    let detail = page(&app, &b, &format!("/console/users/{founder}")).await;
    assert!(
        detail.text.contains("Owner of the organization"),
        "{}",
        detail.text
    );
    assert!(!detail.text.contains("Delete user"));
    // A forged form is refused by the directory all the same.
    let r = change(&app, &b, &format!("/console/users/{founder}/disable"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // Only the owner is offered Make owner, and it hands ownership on.
    let ann_page = page(&app, &b, &format!("/console/users/{ann}")).await;
    assert!(!ann_page.text.contains("Make owner"));
    let f = sign_in(&app, "founder@acme.test").await;
    let ann_page = page(&app, &f, &format!("/console/users/{ann}")).await;
    assert!(ann_page.text.contains("Make owner"), "{}", ann_page.text);
    let r = change(&app, &f, &format!("/console/users/{ann}/owner"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let users = page(&app, &b, "/console/users").await;
    assert!(row_of(&users.text, "ann@acme.test").contains(">Owner<"));
    assert!(row_of(&users.text, "founder@acme.test").contains("Disable user"));
}

#[tokio::test]
async fn console_a_read_only_directory_says_so_and_refuses_local_changes() {
    let config = "plans = [\"free\", \"team\"]\n[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\ndirectory_mode = \"read-only\"\n";
    let app = TestApp::from_toml(config).await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let users = page(&app, &b, "/console/users").await;
    assert!(
        users.text.contains("This directory is read-only"),
        "{}",
        users.text
    );
    let detail = page(&app, &b, &format!("/console/users/{ann}")).await;
    assert!(detail.text.contains("This directory is read-only"));
    // Disable, Delete and Change role are shown off, with the reason.
    assert!(
        detail
            .text
            .contains("is read-only (directory_mode = &#34;read-only&#34;)"),
        "{}",
        detail.text
    );
    assert!(!detail
        .text
        .contains(&format!("action=\"/console/users/{ann}/disable\"")));
    // A ban stays possible.
    assert!(detail
        .text
        .contains(&format!("action=\"/console/users/{ann}/ban\"")));
    let r = change(&app, &b, &format!("/console/users/{ann}/disable"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = change(
        &app,
        &b,
        &format!("/console/users/{ann}/ban"),
        &[("reason", "audit")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    // The status filter offers the words.
    assert!(users
        .text
        .contains("<option value=\"passive\">Passive (disabled)</option>"));
    let passive = page(&app, &b, "/console/users?status=enabled").await;
    assert_eq!(passive.status, StatusCode::OK);
}
