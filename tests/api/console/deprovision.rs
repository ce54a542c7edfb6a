//! The console's Deprovisioning screen: upload, the directory's dry run,
//! the run of what was previewed, progress, the report; the limits, the
//! CSRF and `Origin` checks, and who may use it.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rollcall::directory::deprovision::{JobRequest, RunOptions};

use super::{app, change, page, post, sign_in, status_of, user, Browser, ORIGIN};
use crate::support::{Resp, TestApp};

const BOUNDARY: &str = "rollcallTestBoundary7MA4YWxkTrZu0gW";

/// A multipart body of text fields and, when given, a CSV file.
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(bytes) = file {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leavers.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn upload_request(b: &Browser, origin: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri("/console/deprovisioning/preview")
        .header("host", "scim.test")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("cookie", format!("__Host-rollcall-console={}", b.cookie));
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    r.body(Body::from(body)).unwrap()
}

/// Preview a list: the form's fields with the session's CSRF token.
pub(super) async fn upload(
    app: &TestApp,
    b: &Browser,
    fields: &[(&str, &str)],
    file: Option<&str>,
) -> Resp {
    let mut f = vec![("csrf", b.csrf.as_str())];
    f.extend_from_slice(fields);
    let body = multipart(&f, file.map(str::as_bytes));
    app.send(upload_request(b, Some(ORIGIN), body)).await
}

/// The job id a 303 to its page names.
fn job_of(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let to = r.header("location").unwrap();
    to.strip_prefix("/console/deprovisioning/")
        .expect("a job page")
        .to_string()
}

/// Wait for the job to finish by polling its progress fragment; the
/// fragment as the finished job shows it.
async fn finished(app: &TestApp, b: &Browser, id: &str) -> Resp {
    for _ in 0..400 {
        let r = page(app, b, &format!("/console/deprovisioning/{id}/progress")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if !r.text.contains("hx-trigger") {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not finish");
}

/// The Run form's input hash on a dry run's page.
fn input_hash_of(html: &str) -> String {
    let at = html
        .find("name=\"input_hash\" value=\"")
        .expect("a Run form");
    let rest = &html[at + 25..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// root (the super-admin) and the leavers ann, bob, cy; and two users who
/// share an email.
async fn people(app: &TestApp) -> Vec<String> {
    let mut ids = vec![user(app, "root@acme.test", None).await];
    for name in ["ann@acme.test", "bob@acme.test", "cy@acme.test"] {
        ids.push(user(app, name, None).await);
    }
    for name in ["twin1", "twin2"] {
        let body = serde_json::json!({"schemas": [crate::support::USER], "userName": name,
            "emails": [{"value": "twins@acme.test"}]});
        app.user_from(body).await;
    }
    ids
}

/// A form's fields, the file, and the message the form comes back with.
type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a str);

const LIST: &str =
    "name,email,last day\nAnn,ann@acme.test,2026-11-20\nBob,BOB@acme.test,2026-11-21\nNobody,nobody@acme.test,\nTwins,twins@acme.test,\nRoot,root@acme.test,\n";

/// A job root (`root_id`) opened and nobody works yet: running.
async fn running_job(app: &TestApp, root_id: &str) -> rollcall::store::JobRecord {
    let mut ctx = app.operator();
    ctx.operator = false;
    ctx.actor = "user:root@acme.test (console)".into();
    ctx.actor_user_id = Some(root_id.to_string());
    let request = JobRequest {
        mode: "deactivate".into(),
        match_on: "userName".into(),
        transfer_to: None,
        dry_run: false,
        inputs: vec!["ann@acme.test".into()],
    };
    app.directory
        .open_job(&ctx, "api", request)
        .await
        .unwrap()
        .0
}

async fn job_count(app: &TestApp) -> usize {
    app.store.jobs(&app.tenant, 100).await.unwrap().len()
}

#[tokio::test]
async fn console_deprovision_preview_shows_each_row_and_changes_nothing() {
    let app = app().await;
    let ids = people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    let main = page(&app, &b, "/console/deprovisioning").await;
    assert_eq!(main.status, StatusCode::OK, "{}", main.text);
    assert!(main.text.contains("<label for=\"file\">"), "{}", main.text);
    assert!(main.text.contains("No deprovisioning job yet."));
    let audit_before = app.audit_count().await;
    let r = upload(
        &app,
        &b,
        &[("match", ""), ("mode", "deactivate")],
        Some(LIST),
    )
    .await;
    let id = job_of(&r);
    let done = finished(&app, &b, &id).await;
    assert!(done.text.contains("5 of 5 rows done"), "{}", done.text);
    let p = page(&app, &b, &format!("/console/deprovisioning/{id}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("Dry run"), "{}", p.text);
    assert!(p.text.contains("Nothing has changed"));
    for expected in [
        "would deactivate",
        "no user has this email",
        "2 users have this email: &#34;twin1&#34;, &#34;twin2&#34;; nothing done",
        "you cannot disable yourself",
        "ambiguous",
    ] {
        assert!(p.text.contains(expected), "{expected}: {}", p.text);
    }
    assert_eq!(p.text.matches(">would deactivate<").count(), 2);
    assert!(p.text.contains("name=\"input_hash\""), "a Run form");
    assert!(
        !p.text.contains("Type DELETE"),
        "no typed confirmation to deactivate"
    );
    // Nothing changed: the users, and the audit trail beyond the job's own
    // start and finish (as the API's dry run).
    for id in &ids {
        assert_eq!(status_of(&app, id).await, "created");
    }
    assert_eq!(app.audit_count().await, audit_before + 2);
    let main = page(&app, &b, "/console/deprovisioning").await;
    assert!(main.text.contains("deactivate (dry run)"), "{}", main.text);
    assert!(main.text.contains("user:root@acme.test"), "{}", main.text);
}

#[tokio::test]
async fn console_deprovision_run_deactivates_what_was_previewed_and_reports_it() {
    let app = app().await;
    let ids = people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    // Pasted text instead of a file; match named.
    let r = upload(
        &app,
        &b,
        &[
            ("text", "ann@acme.test\nbob@acme.test\n"),
            ("match", "userName"),
            ("mode", "deactivate"),
        ],
        None,
    )
    .await;
    let dry = job_of(&r);
    finished(&app, &b, &dry).await;
    let p = page(&app, &b, &format!("/console/deprovisioning/{dry}")).await;
    let hash = input_hash_of(&p.text);
    let r = change(
        &app,
        &b,
        &format!("/console/deprovisioning/{dry}/run"),
        &[("input_hash", &hash)],
    )
    .await;
    let run = job_of(&r);
    assert_ne!(run, dry);
    let done = finished(&app, &b, &run).await;
    assert!(done.text.contains("2 deactivated"), "{}", done.text);
    assert_eq!(status_of(&app, &ids[1]).await, "disabled");
    assert_eq!(status_of(&app, &ids[2]).await, "disabled");
    assert_eq!(status_of(&app, &ids[3]).await, "created");
    let p = page(&app, &b, &format!("/console/deprovisioning/{run}")).await;
    assert!(p.text.contains("Deprovisioning job"), "{}", p.text);
    assert!(
        !p.text.contains("name=\"input_hash\""),
        "a run is not run again"
    );
    // The report, as the API's.
    let r = page(&app, &b, &format!("/console/deprovisioning/{run}/report")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-disposition").unwrap(),
        format!("attachment; filename=\"deprovision-{run}.csv\"")
    );
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(
        lines[0],
        "row,input,match,user_id,user_name,action,status_before,status_after,hook,error"
    );
    assert_eq!(
        lines[1],
        format!(
            "1,ann@acme.test,matched,{},ann@acme.test,deactivated,created,disabled,,",
            ids[1]
        )
    );
    assert_eq!(lines.len(), 3);
    assert_eq!(r.text, app.directory.job_report(&run).await.unwrap());
    let main = page(&app, &b, "/console/deprovisioning").await;
    assert!(main.text.contains("2 deactivated"), "{}", main.text);
}

#[tokio::test]
async fn console_deprovision_delete_asks_for_the_typed_count() {
    let app = app().await;
    let ids = people(&app).await;
    let heir = user(&app, "heir@acme.test", None).await;
    let b = sign_in(&app, "root@acme.test").await;
    let r = upload(
        &app,
        &b,
        &[
            ("match", "email"),
            ("mode", "delete"),
            ("transfer_to", "heir@acme.test"),
        ],
        Some("email\nann@acme.test\ncy@acme.test\nnobody@acme.test\n"),
    )
    .await;
    let dry = job_of(&r);
    finished(&app, &b, &dry).await;
    let p = page(&app, &b, &format!("/console/deprovisioning/{dry}")).await;
    assert!(
        p.text.contains("Type DELETE 2 USERS to confirm"),
        "{}",
        p.text
    );
    assert!(p.text.contains(&heir), "the successor: {}", p.text);
    let hash = input_hash_of(&p.text);
    let path = format!("/console/deprovisioning/{dry}/run");
    for typed in ["", "DELETE 3 USERS", "delete"] {
        let r = change(
            &app,
            &b,
            &path,
            &[("input_hash", &hash), ("confirm", typed)],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.text.contains("type DELETE 2 USERS exactly"), "{}", r.text);
    }
    assert_eq!(job_count(&app).await, 1, "nothing started");
    assert_eq!(status_of(&app, &ids[1]).await, "created");
    let r = change(
        &app,
        &b,
        &path,
        &[("input_hash", &hash), ("confirm", "DELETE 2 USERS")],
    )
    .await;
    let run = job_of(&r);
    let done = finished(&app, &b, &run).await;
    assert!(done.text.contains("2 deleted"), "{}", done.text);
    assert_eq!(status_of(&app, &ids[1]).await, "deleted");
    assert_eq!(status_of(&app, &ids[3]).await, "deleted");
    assert_eq!(status_of(&app, &ids[2]).await, "created");
}

#[tokio::test]
async fn console_deprovision_progress_polls_while_running_and_stops_when_done() {
    let app = app().await;
    let ids = people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    let job = running_job(&app, &ids[0]).await;
    let path = format!("/console/deprovisioning/{}/progress", job.id);
    let r = page(&app, &b, &path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(&format!("hx-get=\"{path}\"")), "{}", r.text);
    assert!(r.text.contains("hx-trigger=\"every 1s\""), "{}", r.text);
    assert!(r.text.contains("0 of 1 rows done"), "{}", r.text);
    assert!(!r.text.contains("<script"), "{}", r.text);
    let p = page(&app, &b, &format!("/console/deprovisioning/{}", job.id)).await;
    assert!(p.text.contains("hx-trigger=\"every 1s\""), "the page polls");
    app.directory
        .run_job(&job, "test:1", RunOptions::default(), &|_, _| {})
        .await
        .unwrap();
    let r = page(&app, &b, &path).await;
    assert!(!r.text.contains("hx-trigger"), "{}", r.text);
    assert!(!r.text.contains("hx-get"), "{}", r.text);
    assert!(r.text.contains("1 of 1 rows done"), "{}", r.text);
    assert!(r.text.contains("1 deactivated"), "{}", r.text);
    assert!(
        r.header("hx-refresh").is_none(),
        "a plain GET is not told to reload"
    );
    // htmx's poll that sees it done reloads the page for the final rows.
    let mut req = super::get(&path, Some(&b.cookie));
    req.headers_mut()
        .insert("hx-request", "true".parse().unwrap());
    let r = app.send(req).await;
    assert_eq!(r.header("hx-refresh").as_deref(), Some("true"));
}

#[tokio::test]
async fn console_deprovision_refuses_a_run_of_another_input() {
    let app = app().await;
    let ids = people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    let form = [("match", "email"), ("mode", "deactivate")];
    let first = job_of(&upload(&app, &b, &form, Some("email\nann@acme.test\n")).await);
    let second = job_of(&upload(&app, &b, &form, Some("email\nbob@acme.test\n")).await);
    finished(&app, &b, &first).await;
    finished(&app, &b, &second).await;
    let other_hash = input_hash_of(
        &page(&app, &b, &format!("/console/deprovisioning/{second}"))
            .await
            .text,
    );
    // The first dry run's Run form, but the second list's fingerprint.
    let r = change(
        &app,
        &b,
        &format!("/console/deprovisioning/{first}/run"),
        &[("input_hash", &other_hash)],
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    assert!(
        r.text.contains("the input changed since the dry run"),
        "{}",
        r.text
    );
    // A real job is not a dry run to run.
    let hash = input_hash_of(
        &page(&app, &b, &format!("/console/deprovisioning/{first}"))
            .await
            .text,
    );
    let run = job_of(
        &change(
            &app,
            &b,
            &format!("/console/deprovisioning/{first}/run"),
            &[("input_hash", &hash)],
        )
        .await,
    );
    finished(&app, &b, &run).await;
    let run_hash = app
        .store
        .job(&app.tenant, &run)
        .await
        .unwrap()
        .unwrap()
        .input_hash;
    let r = change(
        &app,
        &b,
        &format!("/console/deprovisioning/{run}/run"),
        &[("input_hash", &run_hash)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("is not a dry run"), "{}", r.text);
    assert_eq!(job_count(&app).await, 3);
    assert_eq!(status_of(&app, &ids[1]).await, "disabled");
    assert_eq!(
        status_of(&app, &ids[2]).await,
        "created",
        "bob was only previewed"
    );
}

#[tokio::test]
async fn console_deprovision_refuses_an_oversize_or_bad_list_and_changes_nothing() {
    let app = app().await;
    people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    let audit_before = app.audit_count().await;
    let big = "a@acme.test\n".repeat(2 * 1024 * 1024 / 12);
    let r = upload(&app, &b, &[("mode", "deactivate")], Some(&big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(
        r.text.contains("larger than the most one job takes"),
        "{}",
        r.text
    );
    let cases: [Case; 7] = [
        (
            &[("match", "externalId"), ("mode", "deactivate")],
            Some("email\nann@acme.test\n"),
            "the header row has no externalId column",
        ),
        (
            &[("match", "email"), ("mode", "deactivate")],
            Some("email\nann\u{1b}[2J@acme.test\n"),
            "&#39;row 1&#39; holds the control character U+001B",
        ),
        (
            &[("match", "phone"), ("mode", "deactivate")],
            Some("ann\n"),
            "match must be userName, email or externalId",
        ),
        (
            &[("match", "email"), ("mode", "ban")],
            Some("email\nann@acme.test\n"),
            "mode must be deactivate, delete or hold",
        ),
        (
            &[("mode", "deactivate")],
            Some("email\n\n"),
            "the input holds no leavers",
        ),
        (
            &[("mode", "deactivate"), ("text", "ann@acme.test")],
            Some("ann@acme.test\n"),
            "not both",
        ),
        (
            &[("mode", "delete"), ("transfer_to", "ghost@acme.test")],
            Some("ann@acme.test\n"),
            "transfer_to",
        ),
    ];
    for (fields, file, message) in cases {
        let r = upload(&app, &b, fields, file).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{message}: {}", r.text);
        assert!(r.text.contains("role=\"alert\""), "{}", r.text);
        assert!(r.text.contains(message), "{message}: {}", r.text);
        assert!(
            r.text
                .contains("action=\"/console/deprovisioning/preview\""),
            "the form again"
        );
    }
    let r = upload(&app, &b, &[("mode", "deactivate")], None).await;
    assert!(
        r.text.contains("choose a CSV file or paste the list"),
        "{}",
        r.text
    );
    let latin1 = upload_request(
        &b,
        Some(ORIGIN),
        multipart(
            &[("csrf", &b.csrf), ("mode", "deactivate")],
            Some(b"caf\xe9@acme.test\n"),
        ),
    );
    let r = app.send(latin1).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("not UTF-8"), "{}", r.text);
    assert_eq!(job_count(&app).await, 0);
    assert_eq!(app.audit_count().await, audit_before);
}

#[tokio::test]
async fn console_deprovision_needs_the_csrf_token_and_the_origin() {
    let app = app().await;
    people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    let list = Some("ann@acme.test\n".as_bytes());
    let no_token = multipart(&[("mode", "deactivate")], list);
    let r = app.send(upload_request(&b, Some(ORIGIN), no_token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("security token"), "{}", r.text);
    let wrong = multipart(&[("csrf", "rcs_not-mine"), ("mode", "deactivate")], list);
    let r = app.send(upload_request(&b, Some(ORIGIN), wrong)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    for origin in [None, Some("http://evil.test")] {
        let body = multipart(&[("csrf", &b.csrf), ("mode", "deactivate")], list);
        let r = app.send(upload_request(&b, origin, body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert!(r.text.contains("Origin"), "{}", r.text);
    }
    assert_eq!(job_count(&app).await, 0);
    // Run: the same checks.
    let dry = job_of(&upload(&app, &b, &[("mode", "deactivate")], Some("ann@acme.test\n")).await);
    finished(&app, &b, &dry).await;
    let hash = input_hash_of(
        &page(&app, &b, &format!("/console/deprovisioning/{dry}"))
            .await
            .text,
    );
    let path = format!("/console/deprovisioning/{dry}/run");
    let r = app
        .send(super::post(
            &path,
            Some(&b.cookie),
            Some(ORIGIN),
            &[("input_hash", &hash)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let form = [("csrf", b.csrf.as_str()), ("input_hash", &hash)];
    let r = app
        .send(super::post(
            &path,
            Some(&b.cookie),
            Some("http://evil.test"),
            &form,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(job_count(&app).await, 1, "only the dry run");
}

#[tokio::test]
async fn console_deprovision_is_for_admins_only() {
    let app = app().await;
    let ids = people(&app).await;
    user(&app, "mia@acme.test", None).await;
    let admin = sign_in(&app, "root@acme.test").await;
    let users = page(&app, &admin, "/console/users").await;
    assert!(users.text.contains("href=\"/console/deprovisioning\""));
    let dry = job_of(
        &upload(
            &app,
            &admin,
            &[("mode", "deactivate")],
            Some("ann@acme.test\n"),
        )
        .await,
    );
    finished(&app, &admin, &dry).await;
    let hash = input_hash_of(
        &page(&app, &admin, &format!("/console/deprovisioning/{dry}"))
            .await
            .text,
    );
    let m = sign_in(&app, "mia@acme.test").await;
    let users = page(&app, &m, "/console/users").await;
    assert!(
        !users.text.contains("/console/deprovisioning"),
        "no nav item"
    );
    for path in [
        "/console/deprovisioning".to_string(),
        format!("/console/deprovisioning/{dry}"),
        format!("/console/deprovisioning/{dry}/progress"),
        format!("/console/deprovisioning/{dry}/report"),
    ] {
        let r = page(&app, &m, &path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(!r.text.contains("ann@acme.test"), "{path}: {}", r.text);
    }
    let r = upload(&app, &m, &[("mode", "deactivate")], Some("ann@acme.test\n")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = upload(&app, &m, &[("mode", "deactivate")], Some("email\n")).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a bad list too: {}",
        r.text
    );
    let r = change(
        &app,
        &m,
        &format!("/console/deprovisioning/{dry}/run"),
        &[("input_hash", &hash)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(job_count(&app).await, 1);
    assert_eq!(status_of(&app, &ids[1]).await, "created");
}

#[tokio::test]
async fn console_deprovision_a_running_job_is_cancelled_from_its_page() {
    let app = app().await;
    let ids = people(&app).await;
    let b = sign_in(&app, "root@acme.test").await;
    let job = running_job(&app, &ids[0]).await;
    let at = format!("/console/deprovisioning/{}", job.id);
    let cancel = format!("{at}/cancel");
    let p = page(&app, &b, &at).await;
    assert!(
        p.text.contains(&format!("action=\"{cancel}\"")),
        "{}",
        p.text
    );
    assert!(p.text.contains("Cancel job"), "{}", p.text);
    // Without the session's CSRF token: refused, and it still runs.
    let r = app
        .send(post(&cancel, Some(&b.cookie), Some(ORIGIN), &[]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let still = app.store.job(&app.tenant, &job.id).await.unwrap().unwrap();
    assert_eq!(still.state, "running");
    let r = change(&app, &b, &cancel, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location").as_deref(), Some(at.as_str()));
    let p = page(&app, &b, &at).await;
    assert!(p.text.contains(">cancelled<"), "{}", p.text);
    assert!(p.text.contains("Ended because"), "{}", p.text);
    assert!(
        p.text
            .contains("cancelled by user:root@acme.test (console)"),
        "{}",
        p.text
    );
    assert!(
        !p.text.contains("Cancel job"),
        "no Cancel form once it ended"
    );
    assert_eq!(status_of(&app, &ids[1]).await, "created");
    // Once more: it is not running.
    let r = change(&app, &b, &cancel, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}
