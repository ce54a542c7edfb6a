//! The rule of text (`scim_protocol::text`) on the console's forms and its
//! list of leavers: a control character but TAB, LF and CR in any field,
//! a name over 256 characters, a leaver no user could be, are a 400 on the
//! page, and nothing changed.

use axum::http::StatusCode;

use super::deprovision::upload;
use super::{app, change, sign_in, user};
use crate::snapshot::{assert_unchanged, Snapshots};
use crate::support::Resp;

#[track_caller]
fn assert_refused(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
}

#[tokio::test]
async fn console_forms_and_uploads_refuse_hostile_strings_and_change_nothing() {
    let app = app().await;
    let root = user(&app, "root@acme.test", None).await;
    let ann = user(&app, "ann@acme.test", None).await;
    let b = sign_in(&app, &root).await;
    let snaps = Snapshots::open(&app).await;
    let before = snaps.take().await;
    let ban = format!("/console/users/{ann}/ban");
    for s in ["a\u{0}b", "\u{1b}[2J", "del\u{7f}", "\u{8}"] {
        let r = change(&app, &b, &ban, &[("reason", s)]).await;
        assert_refused(&r, "a ban's reason");
        assert!(r.text.contains("control character"), "{}", r.text);
        let r = change(&app, &b, "/console/invite", &[("user_name", s)]).await;
        assert_refused(&r, "an invitation's userName");
        let list = format!("userName\nann@acme.test\n{s}\n");
        let r = upload(&app, &b, &[("mode", "deactivate"), ("text", &list)], None).await;
        assert_refused(&r, "a pasted list");
        let r = upload(&app, &b, &[("mode", "deactivate")], Some(&list)).await;
        assert_refused(&r, "an uploaded list");
        let r = upload(
            &app,
            &b,
            &[("mode", "deactivate"), ("transfer_to", s)],
            Some("ann@acme.test\n"),
        )
        .await;
        assert_refused(&r, "a successor");
    }
    let long = "n".repeat(257);
    for (field, value) in [
        ("user_name", long.as_str()),
        ("email", "a\tb@acme.test"),
        ("display_name", &long),
    ] {
        let mut form = vec![("user_name", "new@acme.test")];
        form.retain(|(k, _)| *k != field);
        form.push((field, value));
        let r = change(&app, &b, "/console/invite", &form).await;
        assert_refused(&r, field);
    }
    let list = format!("email\nann@acme.test\n{long}@acme.test\n");
    let r = upload(&app, &b, &[("mode", "deactivate"), ("text", &list)], None).await;
    assert_refused(&r, "a leaver of 268 characters");
    assert!(
        r.text.contains("row 2"),
        "the page names the row: {}",
        r.text
    );
    assert_unchanged(&before, &snaps.take().await, "a refused console form");
}
