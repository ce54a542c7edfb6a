//! The Audit log screen: DataStream's columns (Email, User IP, User ID,
//! Object Type, Object, Action, Action Description, Date), the filters the
//! admin API's `GET /audit` takes, newest first with opaque cursors (the
//! URL keeps the filters and the cursor), and the CSV and JSONL export of
//! the current filter, streamed. Who may read it is the directory's answer.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::error::ConsoleError;
use super::format::when;
use super::pages::{Choice, Layout};
use super::session::Signed;
use crate::directory::audit::{AuditFilter, AuditFormat};
use crate::directory::views::{AuditLogPage, AuditLogRow};
use crate::http::AppState;

/// The log's page size unless the URL says otherwise.
const DEFAULT_PAGE_SIZE: i64 = 50;

/// The object types the filter offers.
const OBJECT_TYPES: [(&str, &str); 5] = [
    ("", "All"),
    ("User", "User"),
    ("Group", "Group"),
    ("Tenant", "Tenant"),
    ("DeprovisionJob", "Deprovisioning job"),
];

/// The log's query string, as the browser sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct LogQuery {
    user: Option<String>,
    action: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    page_size: Option<String>,
    /// The export's format (`csv` or `jsonl`).
    format: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl LogQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            user: given(&self.user),
            action: given(&self.action),
            object_type: given(&self.object_type),
            object_id: given(&self.object_id),
            since: given(&self.since),
            until: given(&self.until),
            ..Default::default()
        }
    }

    fn page_size(&self) -> Result<i64, ConsoleError> {
        match given(&self.page_size) {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(s) => s.parse::<i64>().map_err(|_| {
                ConsoleError::bad(format!("page_size must be 10, 20, 50 or 100, not \"{s}\""))
            }),
        }
    }

    /// `path?…` with the filters, then `extra`.
    fn href(&self, path: &str, extra: &[(&str, Option<String>)]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        let pairs = [
            ("user", &self.user),
            ("action", &self.action),
            ("object_type", &self.object_type),
            ("object_id", &self.object_id),
            ("since", &self.since),
            ("until", &self.until),
            ("page_size", &self.page_size),
        ];
        for (k, v) in pairs {
            if let Some(v) = given(v) {
                s.append_pair(k, &v);
            }
        }
        for (k, v) in extra {
            if let Some(v) = v {
                s.append_pair(k, v);
            }
        }
        match s.finish() {
            q if q.is_empty() => path.to_string(),
            q => format!("{path}?{q}"),
        }
    }

    fn at(&self, cursor: Option<String>) -> String {
        self.href("/console/audit", &[("cursor", cursor)])
    }
}

/// One entry as the screen prints it.
pub(super) struct LogLine {
    email: String,
    ip: String,
    user_id: String,
    object_type: String,
    object: String,
    action: String,
    description: String,
    date: String,
}

fn line(r: &AuditLogRow) -> LogLine {
    let e = &r.entry;
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    LogLine {
        email: r.actor_email.clone().unwrap_or_else(|| e.actor.clone()),
        ip: dash(&e.source_ip),
        user_id: dash(&e.actor_user_id),
        object_type: e.object_type.clone(),
        object: e
            .object_name
            .clone()
            .or_else(|| e.object_id.clone())
            .unwrap_or_else(|| "—".into()),
        action: e.action.clone(),
        description: e.description.clone(),
        date: when(Some(&e.at)),
    }
}

/// `GET /console/audit`.
#[derive(Template, WebTemplate)]
#[template(path = "console/audit.html")]
pub(super) struct AuditPageView {
    layout: Layout,
    user: String,
    action: String,
    object_id: String,
    since: String,
    until: String,
    object_types: Vec<Choice>,
    sizes: Vec<Choice>,
    rows: Vec<LogLine>,
    shown: String,
    newest: Option<String>,
    newer: Option<String>,
    older: Option<String>,
    export_csv: String,
    export_jsonl: String,
}

/// `GET /console/audit?user=&action=&object_type=&object_id=&since=&until=&cursor=&page_size=`.
pub(super) async fn page(
    State(s): State<AppState>,
    signed: Signed,
    Query(q): Query<LogQuery>,
) -> Result<AuditPageView, ConsoleError> {
    let cursor = given(&q.cursor);
    let log = s
        .directory
        .audit_log(
            &signed.ctx(),
            &q.filter(),
            cursor.as_deref(),
            q.page_size()?,
        )
        .await?;
    Ok(audit_page(Layout::of(&signed, "audit"), &q, &log))
}

fn audit_page(layout: Layout, q: &LogQuery, log: &AuditLogPage) -> AuditPageView {
    let value = |v: &Option<String>| given(v).unwrap_or_default();
    let object_type = value(&q.object_type);
    let size = q.page_size().unwrap_or(DEFAULT_PAGE_SIZE).to_string();
    AuditPageView {
        layout,
        user: value(&q.user),
        action: value(&q.action),
        object_id: value(&q.object_id),
        since: value(&q.since),
        until: value(&q.until),
        object_types: OBJECT_TYPES
            .iter()
            .map(|(v, l)| Choice::new(*v, *l, &object_type))
            .collect(),
        sizes: ["10", "20", "50", "100"]
            .iter()
            .map(|n| Choice::new(*n, *n, &size))
            .collect(),
        rows: log.items.iter().map(line).collect(),
        shown: match log.items.len() {
            0 => "No entries".into(),
            1 => "1 entry, newest first".into(),
            n => format!("{n} entries, newest first"),
        },
        newest: given(&q.cursor).map(|_| q.at(None)),
        newer: log.newer.clone().map(|c| q.at(Some(c))),
        older: log.older.clone().map(|c| q.at(Some(c))),
        export_csv: q.href("/console/audit/export", &[("format", Some("csv".into()))]),
        export_jsonl: q.href("/console/audit/export", &[("format", Some("jsonl".into()))]),
    }
}

/// `GET /console/audit/export?format=csv|jsonl&…filters`: every entry the
/// filters select, oldest first, streamed as a download.
pub(super) async fn export(
    State(s): State<AppState>,
    signed: Signed,
    Query(q): Query<LogQuery>,
) -> Result<Response, ConsoleError> {
    let format = AuditFormat::parse(given(&q.format).as_deref().unwrap_or("csv"))?;
    let export = s
        .directory
        .audit_export(&signed.ctx(), &q.filter(), format)
        .await?;
    Ok(crate::http::download::audit_download(export))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_the_cursor() {
        let q = LogQuery {
            action: Some("banned".into()),
            since: Some("2026-01-31".into()),
            cursor: Some("abc".into()),
            ..Default::default()
        };
        assert_eq!(
            q.at(Some("bi4x".into())),
            "/console/audit?action=banned&since=2026-01-31&cursor=bi4x"
        );
        assert_eq!(q.at(None), "/console/audit?action=banned&since=2026-01-31");
        assert_eq!(
            q.href("/console/audit/export", &[("format", Some("csv".into()))]),
            "/console/audit/export?action=banned&since=2026-01-31&format=csv"
        );
        assert_eq!(q.filter().action.as_deref(), Some("banned"));
        assert!(LogQuery {
            page_size: Some("ten".into()),
            ..Default::default()
        }
        .page_size()
        .is_err());
    }
}
