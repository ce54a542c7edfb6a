//! The Requests screen: each credential's health (last request, last
//! success, last error with what it was told, the error rate over 24
//! hours), then the SCIM requests newest first, filtered by status and
//! credential, a failure's error and masked body shown with it. It answers
//! "why is the IdP failing?" without server access. Who may read it is the
//! directory's answer (`audit.read`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format::when;
use super::pages::{Choice, Layout};
use super::session::Signed;
use crate::directory::request_log::{parse_status, RequestFilter};
use crate::directory::views::{ConnectionHealth, ConnectionView, RequestView};
use crate::http::AppState;

const PAGE_SIZE: i64 = 50;
const PATH: &str = "/console/requests";

/// The statuses the filter offers.
const STATUSES: [(&str, &str); 5] = [
    ("", "All"),
    ("errors", "Errors"),
    ("4xx", "4xx"),
    ("5xx", "5xx"),
    ("ok", "Successful"),
];

/// The screen's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct RequestsQuery {
    status: Option<String>,
    credential: Option<String>,
    after: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl RequestsQuery {
    fn filter(&self) -> Result<RequestFilter, ConsoleError> {
        let after = given(&self.after)
            .map(|a| {
                a.parse::<i64>()
                    .map_err(|_| ConsoleError::bad("after must be a cursor from this page"))
            })
            .transpose()?;
        Ok(RequestFilter {
            status: given(&self.status)
                .map(|s| parse_status(&s))
                .transpose()
                .map_err(ConsoleError::bad)?,
            credential: given(&self.credential),
            since: None,
            after,
            limit: PAGE_SIZE,
        })
    }

    fn href(&self, after: Option<&str>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("status", &self.status), ("credential", &self.credential)] {
            if let Some(v) = given(v) {
                s.append_pair(k, &v);
            }
        }
        if let Some(a) = after {
            s.append_pair("after", a);
        }
        match s.finish() {
            q if q.is_empty() => PATH.to_string(),
            q => format!("{PATH}?{q}"),
        }
    }
}

/// One credential as the screen prints it.
pub(super) struct HealthLine {
    name: String,
    credential: String,
    health: &'static str,
    last_request: String,
    last_success: String,
    last_error: String,
    requests: i64,
    errors: i64,
    rate: String,
    log: String,
}

/// One request as the screen prints it.
pub(super) struct RequestLine {
    at: String,
    request: String,
    status: i64,
    latency: String,
    credential: String,
    user_agent: String,
    error: String,
    body: Option<String>,
    request_id: String,
}

fn health_word(h: ConnectionHealth) -> &'static str {
    match h {
        ConnectionHealth::Unused => "Never used",
        ConnectionHealth::Healthy => "Healthy",
        ConnectionHealth::Errors => "Some errors",
        ConnectionHealth::Failing => "Failing",
    }
}

fn failure(r: &RequestView) -> String {
    match &r.error {
        Some(e) => match &e.code {
            Some(c) => format!("{} {c}: {}", r.status, e.detail),
            None => format!("{}: {}", r.status, e.detail),
        },
        None => "—".into(),
    }
}

fn health_line(c: &ConnectionView) -> HealthLine {
    let q = RequestsQuery {
        credential: Some(c.credential.clone()),
        ..Default::default()
    };
    HealthLine {
        name: match (&c.label, c.revoked) {
            (Some(l), true) => format!("{l} (revoked)"),
            (Some(l), false) => l.clone(),
            (None, _) => c.credential.clone(),
        },
        credential: c.credential.clone(),
        health: health_word(c.health),
        last_request: when(c.last_request_at.as_deref()),
        last_success: when(c.last_success_at.as_deref()),
        last_error: c
            .last_error
            .as_ref()
            .map(|e| format!("{} — {}", failure(e), when(Some(&e.at))))
            .unwrap_or_else(|| "None".into()),
        requests: c.requests_24h,
        errors: c.errors_24h,
        rate: format!("{:.1} %", c.error_rate_24h * 100.0),
        log: q.href(None),
    }
}

fn request_line(r: &RequestView) -> RequestLine {
    let refused = if r.refused { " (refused)" } else { "" };
    RequestLine {
        at: when(Some(&r.at)),
        request: format!("{} {}", r.method, r.route),
        status: r.status,
        latency: format!("{} ms", r.latency_ms),
        credential: format!(
            "{}{refused}",
            r.credential.clone().unwrap_or_else(|| "—".into())
        ),
        user_agent: r.user_agent.clone().unwrap_or_else(|| "—".into()),
        error: failure(r),
        body: r.body.clone(),
        request_id: r.request_id.clone().unwrap_or_else(|| "—".into()),
    }
}

/// `GET /console/requests`.
#[derive(Template, WebTemplate)]
#[template(path = "console/requests.html")]
pub(super) struct RequestsPage {
    layout: Layout,
    health: Vec<HealthLine>,
    statuses: Vec<Choice>,
    credentials: Vec<Choice>,
    rows: Vec<RequestLine>,
    newest: Option<String>,
    older: Option<String>,
}

/// `GET /console/requests?status=&credential=&after=`.
pub(super) async fn page(
    State(s): State<AppState>,
    signed: Signed,
    Query(q): Query<RequestsQuery>,
) -> Result<RequestsPage, ConsoleError> {
    let ctx = signed.ctx();
    let filter = q.filter()?;
    let connections = s.directory.connections(&ctx).await?;
    let log = s.directory.requests(&ctx, &filter).await?;
    let status = given(&q.status).unwrap_or_default();
    let credential = given(&q.credential).unwrap_or_default();
    let health: Vec<HealthLine> = connections.iter().map(health_line).collect();
    let mut credentials = vec![Choice::new("", "All", &credential)];
    credentials.extend(
        health
            .iter()
            .map(|h| Choice::new(h.credential.clone(), h.name.clone(), &credential)),
    );
    Ok(RequestsPage {
        layout: Layout::of(&signed, "requests"),
        health,
        statuses: STATUSES
            .iter()
            .map(|(v, l)| Choice::new(*v, *l, &status))
            .collect(),
        credentials,
        rows: log.items.iter().map(request_line).collect(),
        newest: filter.after.map(|_| q.href(None)),
        older: log.next.as_deref().map(|n| q.href(Some(n))),
    })
}
