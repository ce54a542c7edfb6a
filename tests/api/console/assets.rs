//! The delete form's choice of what becomes of the user's assets
//! (Designer Cloud: transfer ownership to another user, else they are
//! removed with the account), and the console's Downgrade to viewer
//! handing the assets over like every other door.

use axum::http::StatusCode;

use super::{change, page, sign_in, status_of, user};
use crate::support::{TestApp, ENTERPRISE, USER};

#[tokio::test]
async fn console_the_delete_form_offers_to_remove_the_assets_with_the_account() {
    let app = TestApp::from_toml(
        "[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nallow_local_overrides = true\n",
    )
    .await;
    user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let bob = user(&app, "bob@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let path = format!("/console/users/{ann}/delete");
    let form = page(&app, &b, &path).await.text;
    for words in [
        "Transfer ownership of the user's assets to another user",
        "Remove the assets with the user's account",
    ] {
        assert!(form.contains(words), "{words}: {form}");
    }
    assert!(
        form.contains(r#"value="transfer" checked"#),
        "transfer is the default"
    );
    let bogus = [("assets", "bogus"), ("confirm", "ann@acme.test")];
    let r = change(&app, &b, &path, &bogus).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(status_of(&app, &ann).await, "created", "nothing deleted");
    // The successor picker serves a transfer only.
    let remove = [
        ("assets", "delete"),
        ("successor", bob.as_str()),
        ("confirm", "ann@acme.test"),
    ];
    let r = change(&app, &b, &path, &remove).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let detail = app.user_detail(&ann).await.unwrap();
    let deletion = &detail["deletion"];
    assert_eq!(
        (deletion["assets"].as_str(), deletion["state"].as_str()),
        (Some("delete"), Some("deleted"))
    );
    assert!(deletion["successor"].is_null(), "{deletion}");
    let shown = page(&app, &b, &format!("/console/users/{ann}")).await.text;
    assert!(
        shown.contains("What they owned was removed with the account."),
        "{shown}"
    );

    // Downgrade to viewer: the manager receives the assets.
    let body = serde_json::json!({"schemas": [USER, ENTERPRISE], "userName": "cy@acme.test",
                                  ENTERPRISE: {"manager": {"value": bob}}});
    let cy = app.user_from(body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = change(
        &app,
        &b,
        &format!("/console/users/{cy}/access"),
        &[("type", "viewer")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let rows = app.store.audit_log(&app.tenant).await.unwrap();
    let handed = rows
        .iter()
        .find(|r| r["objectId"] == cy.as_str() && r["action"] == "ownership_transferred")
        .expect("the hand-over is audited");
    assert_eq!(
        handed["details"]["successor"]["id"],
        bob.as_str(),
        "{handed}"
    );
}
