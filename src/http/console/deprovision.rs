//! The Deprovisioning screen: a list of leavers uploaded (a CSV file or
//! pasted text), the directory's dry run of it, then the run of exactly
//! what was previewed, with live progress (htmx polling a fragment) and the
//! per-row report to download; a running job can be cancelled. Parsing the list, the dry run, the run, the
//! guards and the report are the directory's (`directory/deprovision*`),
//! the same calls the admin API's `/deprovision-jobs` makes.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format::when;
use super::pages::{Choice, Layout};
use super::session::{check_csrf, signed_change, Change, Signed};
use crate::directory::admin::Paging;
use crate::directory::deprovision::{parse_leavers, JobRequest, RunOptions};
use crate::directory::views::{JobRowView, JobView};
use crate::directory::DirectoryError;
use crate::http::AppState;

type Done = Result<Response, ConsoleError>;

/// Rows per page on a job's page.
const ROWS_PER_PAGE: &str = "50";

/// `GET /console/deprovisioning`: the upload form and the past jobs.
pub(super) async fn main_page(State(s): State<AppState>, signed: Signed) -> Done {
    let form = UploadForm::default();
    render_main(&s, &signed, &form, None, StatusCode::OK).await
}

async fn render_main(
    s: &AppState,
    signed: &Signed,
    form: &UploadForm,
    error: Option<String>,
    status: StatusCode,
) -> Done {
    let jobs = s.directory.job_list(&signed.ctx()).await?;
    let page = MainPage {
        layout: Layout::of(signed, "deprovisioning"),
        error,
        text: form.text.clone(),
        matches: [
            ("", "From the header (else userName)"),
            ("email", "email"),
            ("userName", "userName"),
            ("externalId", "externalId"),
        ]
        .iter()
        .map(|(v, l)| Choice::new(*v, *l, &form.match_on))
        .collect(),
        modes: [
            ("deactivate", "Deactivate (disable, keep data and seat)"),
            ("delete", "Delete (hand assets to a successor)"),
            (
                "hold",
                "Hold (a ban with the job's id as its reason; the identity provider cannot lift it)",
            ),
        ]
        .iter()
        .map(|(v, l)| Choice::new(*v, *l, &form.mode))
        .collect(),
        transfer_to: form.transfer_to.clone(),
        limit: size_text(s.http.max_payload_size),
        jobs: jobs.items.iter().map(JobLine::of).collect(),
    };
    Ok((status, page).into_response())
}

/// The upload form's fields (multipart: a file and/or pasted text).
#[derive(Debug, Default)]
pub(super) struct UploadForm {
    file: Vec<u8>,
    text: String,
    match_on: String,
    mode: String,
    transfer_to: String,
    csrf: Option<String>,
}

impl UploadForm {
    /// The list's text: the file, else the pasted text.
    fn list(&self) -> Result<String, String> {
        let pasted = !self.text.trim().is_empty();
        match (self.file.is_empty(), pasted) {
            (false, true) => Err("choose a CSV file or paste the list, not both".into()),
            (false, false) => String::from_utf8(self.file.clone())
                .map_err(|_| "the file is not UTF-8 text: save the CSV as UTF-8".into()),
            (true, true) => Ok(self.text.clone()),
            (true, false) => Err("choose a CSV file or paste the list of leavers".into()),
        }
    }

    async fn read(mut m: Multipart) -> Result<Self, ConsoleError> {
        let mut f = UploadForm::default();
        while let Some(field) = m.next_field().await.map_err(too_big)? {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(too_big)?;
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            // The rule of text (`scim_protocol::text`): no control
            // character but TAB, LF and CR in a field. The list itself is
            // checked leaver by leaver, and refused on the form with its row.
            let bad = |e: scim_protocol::ScimError| ConsoleError::bad(e.detail);
            scim_protocol::text::check_chars("a field's name", &name).map_err(bad)?;
            if name != "file" && name != "text" {
                scim_protocol::text::check_chars(&name, &text()).map_err(bad)?;
            }
            match name.as_str() {
                "file" => f.file = bytes.to_vec(),
                "text" => f.text = text(),
                "match" => f.match_on = text(),
                "mode" => f.mode = text(),
                "transfer_to" => f.transfer_to = text().trim().to_string(),
                "csrf" => f.csrf = Some(text()),
                _ => {}
            }
        }
        Ok(f)
    }
}

/// A size in words: `1 MiB`, `512 KiB`, `300 bytes`.
fn size_text(bytes: usize) -> String {
    const KIB: usize = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB", b / (KIB * KIB)),
        b if b >= KIB => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A multipart body that could not be read: most often one over the cap.
fn too_big(e: axum::extract::multipart::MultipartError) -> ConsoleError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ConsoleError::new(
            status,
            "too_large",
            "the upload is larger than the most one job takes (max_payload_size), so nothing was done: split the list",
        );
    }
    ConsoleError::new(
        status,
        "invalid_value",
        format!("the upload could not be read: {}", e.body_text()),
    )
}

/// A posted upload: `Origin` checked, then the session, then the form's
/// CSRF token (as `session::Change`, for a multipart body).
pub(super) struct Upload {
    signed: Signed,
    form: UploadForm,
}

impl FromRequest<AppState> for Upload {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let signed = signed_change(&mut parts, state).await?;
        let multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| ConsoleError::bad(e.body_text()).into_response())?;
        let form = UploadForm::read(multipart)
            .await
            .map_err(IntoResponse::into_response)?;
        check_csrf(&signed, form.csrf.as_deref()).map_err(IntoResponse::into_response)?;
        Ok(Upload { signed, form })
    }
}

/// `POST /console/deprovisioning/preview`: the directory's dry run of the
/// list, started in the background; its page follows it. A list the
/// directory refuses comes back on the form with its words.
pub(super) async fn preview(State(s): State<AppState>, up: Upload) -> Done {
    let (signed, form) = (&up.signed, &up.form);
    let refused = |why: String| render_main(&s, signed, form, Some(why), StatusCode::BAD_REQUEST);
    let parsed = form.list().and_then(|text| {
        parse_leavers(
            &text,
            Some(&form.match_on)
                .filter(|m| !m.is_empty())
                .map(String::as_str),
        )
    });
    let (match_on, inputs) = match parsed {
        Ok(p) => p,
        Err(why) => return refused(why).await,
    };
    let request = JobRequest {
        mode: form.mode.clone(),
        match_on,
        transfer_to: Some(form.transfer_to.clone()).filter(|t| !t.is_empty()),
        dry_run: true,
        inputs,
    };
    match s.directory.open_job(&signed.ctx(), "api", request).await {
        Ok((job, _)) => {
            s.directory.spawn_job(job.clone(), RunOptions::default());
            Ok(to_job(&job.id))
        }
        Err(DirectoryError::Invalid(why) | DirectoryError::InvalidReference(why)) => {
            refused(why).await
        }
        Err(e) => Err(e.into()),
    }
}

fn to_job(id: &str) -> Response {
    let to = format!("/console/deprovisioning/{id}");
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// The typed confirmation a destructive run asks for (`DELETE 5 USERS`),
/// from the dry run's count of rows it would delete; none for others.
fn confirmation(dry: &JobView) -> Option<String> {
    if dry.mode != "delete" {
        return None;
    }
    let n = dry.actions.get("would delete").copied().unwrap_or(0);
    Some(match n {
        1 => "DELETE 1 USER".into(),
        n => format!("DELETE {n} USERS"),
    })
}

/// Run: the dry run's fingerprint and, for deletions, the typed words.
#[derive(Debug, Deserialize)]
pub(super) struct RunForm {
    input_hash: Option<String>,
    confirm: Option<String>,
}

/// `POST /console/deprovisioning/{id}/run`: run what the dry run `{id}`
/// previewed (the directory refuses another input); its page follows it.
pub(super) async fn run(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<RunForm>,
) -> Done {
    let ctx = c.signed.ctx();
    let dry = s.directory.job(&ctx, &id).await?;
    let view = s.directory.job_view(&dry).await?;
    if let Some(words) = confirmation(&view) {
        if c.form.confirm.as_deref().map(str::trim) != Some(words.as_str()) {
            return Err(ConsoleError::bad(format!(
                "nothing was started: type {words} exactly to confirm"
            )));
        }
    }
    let hash = c.form.input_hash.as_deref().unwrap_or_default();
    let (job, _) = s.directory.run_previewed(&ctx, &id, hash).await?;
    s.directory.spawn_job(job.clone(), RunOptions::default());
    Ok(to_job(&job.id))
}

/// Cancel: nothing but the CSRF token.
#[derive(Debug, Deserialize)]
pub(super) struct CancelForm {}

/// `POST /console/deprovisioning/{id}/cancel`: stop the running job at its
/// next batch (the directory's `cancel_job`, as the admin API's
/// `…/cancel`); its page follows.
pub(super) async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<CancelForm>,
) -> Done {
    let job = s.directory.cancel_job(&c.signed.ctx(), &id).await?;
    Ok(to_job(&job.id))
}

/// A page of the job's rows.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    page: Option<String>,
}

/// `GET /console/deprovisioning/{id}`: the job's settings, progress, a
/// page of its rows; for a finished dry run, the Run form.
pub(super) async fn job_page(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Done {
    let paging = Paging::parse(q.page.as_deref(), Some(ROWS_PER_PAGE))?;
    let detail = s.directory.job_detail(&signed.ctx(), &id, paging).await?;
    let job = &detail.job;
    let at = |n: i64| format!("/console/deprovisioning/{}?page={n}", job.id);
    let rows = &detail.rows;
    let page = JobPage {
        layout: Layout::of(&signed, "deprovisioning"),
        title: if job.dry_run {
            "Dry run".into()
        } else {
            "Deprovisioning job".into()
        },
        facts: facts(job),
        progress: Progress::of(job),
        run: (job.dry_run && job.state == "done").then(|| RunCard {
            action: format!("/console/deprovisioning/{}/run", job.id),
            input_hash: job.input_hash.clone(),
            confirm: confirmation(job),
        }),
        cancel: (job.state == "running")
            .then(|| format!("/console/deprovisioning/{}/cancel", job.id)),
        rows: rows.items.iter().map(ReportRow::of).collect(),
        page_text: format!("Page {} of {}", rows.page, rows.pages.max(1)),
        previous: (rows.page > 1).then(|| at(rows.page - 1)),
        next: (rows.page < rows.pages).then(|| at(rows.page + 1)),
        report: format!("/console/deprovisioning/{}/report", job.id),
        dry_run: job.dry_run,
    };
    Ok(page.into_response())
}

fn facts(job: &JobView) -> Vec<(&'static str, String)> {
    let mut out = vec![("Mode", job.mode.clone()), ("Match", job.match_on.clone())];
    if let Some(t) = &job.transfer_to {
        out.push(("Successor", t.clone()));
    }
    out.extend([
        ("Started by", job.actor.clone()),
        ("Started", when(Some(&job.created))),
        ("Finished", when(job.finished.as_deref())),
        ("Job id", job.id.clone()),
    ]);
    if let Some(why) = &job.reason {
        out.push(("Ended because", why.clone()));
    }
    out
}

/// `GET /console/deprovisioning/{id}/progress`: the progress fragment,
/// polling itself while the job runs. The poll that sees the job finished
/// reloads the page, for the final rows (and a dry run's Run form).
pub(super) async fn progress(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Done {
    let ctx = signed.ctx();
    let job = s.directory.job(&ctx, &id).await?;
    let view = s.directory.job_view(&job).await?;
    let fragment = ProgressFragment {
        progress: Progress::of(&view),
    };
    let mut resp = fragment.into_response();
    if view.state != "running" && headers.contains_key("hx-request") {
        resp.headers_mut()
            .insert("hx-refresh", header::HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// `GET /console/deprovisioning/{id}/report`: the per-row report as CSV,
/// as the admin API's `/report` gives it.
pub(super) async fn report(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Done {
    let job = s.directory.job(&signed.ctx(), &id).await?;
    let out = s.directory.job_report(&job.id).await?;
    Ok(crate::http::admin::report_response(&job.id, out))
}

/// Counts as `3 deactivated, 1 none`.
fn counts(map: &indexmap::IndexMap<String, i64>) -> String {
    map.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A job's progress: done of total, state, counts by outcome; `poll`
/// while it runs.
pub(super) struct Progress {
    url: String,
    poll: bool,
    done: i64,
    total: i64,
    state: String,
    actions: String,
    matches: String,
}

impl Progress {
    fn of(job: &JobView) -> Self {
        Progress {
            url: format!("/console/deprovisioning/{}/progress", job.id),
            poll: job.state == "running",
            done: job.done,
            total: job.total,
            state: job.state.clone(),
            actions: counts(&job.actions),
            matches: counts(&job.matches),
        }
    }
}

/// One past job on the main screen.
pub(super) struct JobLine {
    href: String,
    link_label: String,
    started: String,
    actor: String,
    mode: String,
    rows: String,
    actions: String,
    state: String,
}

impl JobLine {
    fn of(j: &JobView) -> Self {
        JobLine {
            href: format!("/console/deprovisioning/{}", j.id),
            link_label: format!("Open job {}", j.id),
            started: when(Some(&j.created)),
            actor: j.actor.clone(),
            mode: if j.dry_run {
                format!("{} (dry run)", j.mode)
            } else {
                j.mode.clone()
            },
            rows: format!("{} of {}", j.done, j.total),
            actions: counts(&j.actions),
            state: j.state.clone(),
        }
    }
}

/// One row of a job's report.
pub(super) struct ReportRow {
    row: i64,
    input: String,
    outcome: String,
    user: String,
    action: String,
    before: String,
    after: String,
    hook: String,
    error: String,
}

impl ReportRow {
    fn of(r: &JobRowView) -> Self {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        ReportRow {
            row: r.row,
            input: r.input.clone(),
            outcome: r.outcome.clone().unwrap_or_else(|| "pending".into()),
            user: o(&r.user_name),
            action: o(&r.action),
            before: o(&r.status_before),
            after: o(&r.status_after),
            hook: o(&r.hook),
            error: o(&r.error),
        }
    }
}

/// The Run form of a finished dry run.
pub(super) struct RunCard {
    action: String,
    input_hash: String,
    confirm: Option<String>,
}

/// `GET /console/deprovisioning`.
#[derive(Template, WebTemplate)]
#[template(path = "console/deprovision.html")]
pub(super) struct MainPage {
    layout: Layout,
    error: Option<String>,
    text: String,
    matches: Vec<Choice>,
    modes: Vec<Choice>,
    transfer_to: String,
    limit: String,
    jobs: Vec<JobLine>,
}

/// `GET /console/deprovisioning/{id}`.
#[derive(Template, WebTemplate)]
#[template(path = "console/deprovision_job.html")]
pub(super) struct JobPage {
    layout: Layout,
    title: String,
    dry_run: bool,
    facts: Vec<(&'static str, String)>,
    progress: Progress,
    run: Option<RunCard>,
    /// The Cancel form's action, while the job runs.
    cancel: Option<String>,
    rows: Vec<ReportRow>,
    page_text: String,
    previous: Option<String>,
    next: Option<String>,
    report: String,
}

/// `GET /console/deprovisioning/{id}/progress`.
#[derive(Template, WebTemplate)]
#[template(path = "console/deprovision_progress.html")]
pub(super) struct ProgressFragment {
    progress: Progress,
}
