//! Reading the audit trail: the filters (shared by the admin API and the
//! console), the console's newest-first pages with opaque cursors, and the
//! CSV and JSONL exports, streamed page by page.

use std::sync::Arc;

use base64::Engine;
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use time::Duration;

use super::access::Permission;
use super::views::{AuditLogPage, AuditLogRow, AuditRecord, Permit};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{AuditQuery, StoreError, Tenant};
use scim_protocol::datetime;

/// What the audit trail is filtered by, as text (a query string).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AuditFilter {
    /// The acting principal as recorded (`token:okta`, `system`, …).
    pub actor: Option<String>,
    /// The acting user: an id, userName or email.
    pub user: Option<String>,
    /// What happened, e.g. `deleted`.
    pub action: Option<String>,
    /// User, Group, Tenant, DeprovisionJob.
    pub object_type: Option<String>,
    /// The object's id.
    pub object_id: Option<String>,
    /// The request id (`X-Request-Id`, a client's correlation value).
    pub request_id: Option<String>,
    /// The deprovisioning job whose run made the change.
    pub job_id: Option<String>,
    /// From this dateTime, inclusive; a date (`2026-01-31`) is from its start.
    pub since: Option<String>,
    /// Until this dateTime, exclusive; a date is up to its end.
    pub until: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A dateTime, or a date (its start; with `end`, the next day's start).
fn instant(name: &str, v: &str, end: bool) -> DirectoryResult<String> {
    let date = v.len() == 10 && v.as_bytes().get(4) == Some(&b'-');
    let parsed = if date {
        datetime::parse(&format!("{v}T00:00:00Z"))
            .map(|t| if end { t + Duration::days(1) } else { t })
    } else {
        datetime::parse(v)
    };
    parsed.map(datetime::format).ok_or_else(|| {
        DirectoryError::Invalid(format!(
            "\"{name}\" must be a date such as 2026-01-31 or a dateTime such as 2026-01-31T08:00:00Z, not \"{v}\""
        ))
    })
}

impl AuditFilter {
    /// Whether the values make sense (the dates), before anything is read.
    pub fn validate(&self) -> DirectoryResult<()> {
        self.query(None).map(|_| ())
    }

    /// The store's query of this filter (no cursor, no limit yet); the
    /// acting user is resolved to an id by `user_id`.
    fn query(&self, user_id: Option<String>) -> DirectoryResult<AuditQuery> {
        let since = given(&self.since)
            .map(|v| instant("since", &v, false))
            .transpose()?;
        let until = given(&self.until)
            .map(|v| instant("until", &v, true))
            .transpose()?;
        Ok(AuditQuery {
            actor: given(&self.actor),
            actor_user_id: user_id,
            action: given(&self.action),
            object_type: given(&self.object_type),
            object_id: given(&self.object_id),
            request_id: given(&self.request_id),
            job_id: given(&self.job_id),
            since,
            until,
            ..Default::default()
        })
    }
}

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    Csv,
    Jsonl,
}

impl AuditFormat {
    pub fn parse(v: &str) -> DirectoryResult<Self> {
        match v {
            "csv" => Ok(AuditFormat::Csv),
            "jsonl" => Ok(AuditFormat::Jsonl),
            other => Err(DirectoryError::Invalid(format!(
                "format must be csv or jsonl, not \"{other}\""
            ))),
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            AuditFormat::Csv => "text/csv; charset=utf-8",
            AuditFormat::Jsonl => "application/x-ndjson",
        }
    }
    fn extension(self) -> &'static str {
        match self {
            AuditFormat::Csv => "csv",
            AuditFormat::Jsonl => "jsonl",
        }
    }
}

/// An export on its way: the file's name and type, and its lines, read
/// from the store a page at a time as the client takes them.
pub struct AuditExport {
    pub format: AuditFormat,
    /// `audit-<tenant>-<date>.<csv|jsonl>`.
    pub filename: String,
    pub body: BoxStream<'static, DirectoryResult<String>>,
}

/// Entries an export reads from the store at a time.
pub const EXPORT_PAGE: i64 = 500;
/// The console's page sizes.
pub const LOG_PAGE_SIZES: [i64; 4] = [10, 20, 50, 100];

/// Where a page of the log starts: before or after an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    Older(i64),
    Newer(i64),
}

impl Cursor {
    fn encode(self) -> String {
        let text = match self {
            Cursor::Older(id) => format!("o.{id}"),
            Cursor::Newer(id) => format!("n.{id}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(v: &str) -> DirectoryResult<Self> {
        let bad = || {
            DirectoryError::Invalid(format!(
                "the cursor \"{v}\" is not one this log gave; start again from the newest entries"
            ))
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v)
            .map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (kind, id) = text.split_once('.').ok_or_else(bad)?;
        let id = id.parse::<i64>().ok().filter(|i| *i >= 0).ok_or_else(bad)?;
        match kind {
            "o" => Ok(Cursor::Older(id)),
            "n" => Ok(Cursor::Newer(id)),
            _ => Err(bad()),
        }
    }
}

impl Directory {
    /// Whether this user may read the audit trail (admin and above).
    pub async fn audit_permit(&self, ctx: &Ctx) -> Permit {
        match self.require(ctx, Permission::AuditRead).await {
            Ok(_) => Permit::yes(),
            Err(e) => Permit::no(e.to_string()),
        }
    }

    /// The store's query of a filter, the acting user resolved: by id or
    /// userName (deleted users too), else by email, else the text as an id
    /// (a purged user's).
    async fn audit_query(&self, tenant: &Tenant, f: &AuditFilter) -> DirectoryResult<AuditQuery> {
        let user = match given(&f.user) {
            None => None,
            Some(key) => Some(match self.store.user_record(tenant, &key).await? {
                Some(u) => u.id,
                None => match self.store.find_user_by_any(tenant, &key).await? {
                    Ok(u) => u.id,
                    Err(_) => key,
                },
            }),
        };
        f.query(user)
    }

    /// A page of a tenant's filtered log, oldest first, after a cursor (the
    /// admin API's `GET /audit`).
    pub async fn tenant_audit_page(
        &self,
        tenant: &Tenant,
        filter: &AuditFilter,
        after: Option<i64>,
        limit: i64,
    ) -> DirectoryResult<super::views::AuditPage> {
        let mut q = self.audit_query(tenant, filter).await?;
        q.after = after;
        q.limit = limit;
        Ok(self.audit_page(tenant, &q).await?)
    }

    /// One page of the audit log screen, newest first: the newest entries,
    /// or those next to a cursor the previous page gave.
    pub async fn audit_log(
        &self,
        ctx: &Ctx,
        filter: &AuditFilter,
        cursor: Option<&str>,
        page_size: i64,
    ) -> DirectoryResult<AuditLogPage> {
        self.require(ctx, Permission::AuditRead).await?;
        if !LOG_PAGE_SIZES.contains(&page_size) {
            return Err(DirectoryError::Invalid(format!(
                "page_size must be 10, 20, 50 or 100, not {page_size}"
            )));
        }
        let cursor = cursor
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(Cursor::decode)
            .transpose()?;
        let mut q = self.audit_query(&ctx.tenant, filter).await?;
        q.limit = page_size + 1;
        q.newest_first = !matches!(cursor, Some(Cursor::Newer(_)));
        match cursor {
            Some(Cursor::Older(id)) => q.before = Some(id),
            Some(Cursor::Newer(id)) => q.after = Some(id),
            None => {}
        }
        let mut items = self.audit_records(&ctx.tenant, &q).await?;
        let more = items.len() as i64 > page_size;
        items.truncate(page_size as usize);
        if !q.newest_first {
            items.reverse();
        }
        let (first, last) = (items.first().map(|e| e.id), items.last().map(|e| e.id));
        let (newer, older) = match cursor {
            None => (None, last.filter(|_| more).map(Cursor::Older)),
            Some(Cursor::Older(before)) => (
                Some(first.map_or(Cursor::Newer((before - 1).max(0)), Cursor::Newer)),
                last.filter(|_| more).map(Cursor::Older),
            ),
            Some(Cursor::Newer(after)) => (
                first.filter(|_| more).map(Cursor::Newer),
                Some(last.map_or(Cursor::Older(after + 1), Cursor::Older)),
            ),
        };
        Ok(AuditLogPage {
            items: self.with_emails(&ctx.tenant, items).await?,
            newer: newer.map(Cursor::encode),
            older: older.map(Cursor::encode),
        })
    }

    async fn audit_records(
        &self,
        tenant: &Tenant,
        q: &AuditQuery,
    ) -> DirectoryResult<Vec<AuditRecord>> {
        Ok(self.audit_page(tenant, q).await?.items)
    }

    /// Each entry with its acting user's email, each user read once.
    async fn with_emails(
        &self,
        tenant: &Tenant,
        items: Vec<AuditRecord>,
    ) -> DirectoryResult<Vec<AuditLogRow>> {
        let mut known: std::collections::HashMap<String, Option<String>> = Default::default();
        let mut out = Vec::with_capacity(items.len());
        for entry in items {
            let actor_email = match &entry.actor_user_id {
                None => None,
                Some(id) => {
                    if !known.contains_key(id) {
                        let u = self.store.user_record(tenant, id).await?;
                        let email = u.map(|u| {
                            super::views::email(&u)
                                .map(str::to_string)
                                .unwrap_or(u.user_name)
                        });
                        known.insert(id.clone(), email);
                    }
                    known.get(id).cloned().flatten()
                }
            };
            out.push(AuditLogRow { entry, actor_email });
        }
        Ok(out)
    }

    /// The console's export of the filtered log (admin and above).
    pub async fn audit_export(
        self: &Arc<Self>,
        ctx: &Ctx,
        filter: &AuditFilter,
        format: AuditFormat,
    ) -> DirectoryResult<AuditExport> {
        self.require(ctx, Permission::AuditRead).await?;
        self.tenant_audit_export(&ctx.tenant, filter, None, format)
            .await
    }

    /// The export of a tenant's filtered log, oldest first, after a cursor
    /// if one is given (the admin API's,
    /// for credentials with the `audit` scope): one page of the store at a
    /// time, so the whole log is never in memory.
    pub async fn tenant_audit_export(
        self: &Arc<Self>,
        tenant: &Tenant,
        filter: &AuditFilter,
        after: Option<i64>,
        format: AuditFormat,
    ) -> DirectoryResult<AuditExport> {
        let mut q = self.audit_query(tenant, filter).await?;
        q.limit = EXPORT_PAGE;
        q.after = after;
        let header = match format {
            AuditFormat::Csv => Some(format!("{}\r\n", csv_header())),
            AuditFormat::Jsonl => None,
        };
        let state = (Arc::clone(self), tenant.clone(), q, false);
        let pages = stream::try_unfold(state, move |(dir, tenant, mut q, done)| async move {
            if done {
                return Ok(None);
            }
            let page = dir.audit_page(&tenant, &q).await?;
            let done = page.next.is_none();
            q.after = page.items.last().map(|e| e.id).or(q.after);
            let chunk = export_lines(&page.items, format)?;
            Ok::<_, DirectoryError>(Some((chunk, (dir, tenant, q, done))))
        });
        let body = stream::iter(header.map(Ok))
            .chain(pages.filter(|c| std::future::ready(!matches!(c, Ok(s) if s.is_empty()))))
            .boxed();
        let day = datetime::format(self.clock.now());
        Ok(AuditExport {
            format,
            filename: format!(
                "audit-{}-{}.{}",
                file_safe(&tenant.name),
                day.get(..10).unwrap_or("log"),
                format.extension()
            ),
            body,
        })
    }
}

/// Entries as export lines (CSV lines end with CRLF, as RFC 4180 says).
fn export_lines(items: &[AuditRecord], format: AuditFormat) -> DirectoryResult<String> {
    let mut out = String::new();
    for e in items {
        let v = serde_json::to_value(e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        match format {
            AuditFormat::Csv => {
                out.push_str(&csv_row(&v));
                out.push_str("\r\n");
            }
            AuditFormat::Jsonl => {
                out.push_str(&v.to_string());
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// A tenant name as part of a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Columns of the CSV export, in order; keys of the JSON entries.
pub const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("at", "at"),
    ("actor", "actor"),
    ("actor_user_id", "actorUserId"),
    ("source_ip", "sourceIp"),
    ("request_id", "requestId"),
    ("object_type", "objectType"),
    ("object_id", "objectId"),
    ("object_name", "objectName"),
    ("action", "action"),
    ("description", "description"),
    ("job_id", "jobId"),
    ("details", "details"),
];

/// One RFC 4180 field: quoted when it holds a comma, quote, CR or LF; a
/// leading `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` so
/// spreadsheets do not run it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn csv_header() -> String {
    COLUMNS
        .iter()
        .map(|(h, _)| *h)
        .collect::<Vec<_>>()
        .join(",")
}

/// An audit entry (as the store returns it) as one CSV line.
pub fn csv_row(entry: &Value) -> String {
    COLUMNS
        .iter()
        .map(|(_, key)| match &entry[*key] {
            Value::Null => String::new(),
            Value::String(s) => csv_field(s),
            other => csv_field(&other.to_string()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        for danger in ["+1", "-1+2", "@cmd", "\tx", "\rx"] {
            assert!(
                csv_field(danger).trim_start_matches('"').starts_with('\''),
                "{danger:?}"
            );
        }
        let row = csv_row(
            &json!({"id": 7, "at": "2026-01-01T00:00:00.000Z", "actor": "token:okta",
            "sourceIp": null, "objectType": "User", "action": "created", "description": "User \"a,b\" created"}),
        );
        assert_eq!(
            row,
            "7,2026-01-01T00:00:00.000Z,token:okta,,,,User,,,created,\"User \"\"a,b\"\" created\",,"
        );
        let row = csv_row(&json!({"id": 8, "details": {"assets": "delete"}}));
        assert!(
            row.ends_with(",\"{\"\"assets\"\":\"\"delete\"\"}\""),
            "{row}"
        );
        assert_eq!(csv_header().split(',').count(), COLUMNS.len());
    }

    #[test]
    fn cursors_are_opaque_and_checked() {
        for c in [Cursor::Older(42), Cursor::Newer(0)] {
            let text = c.encode();
            assert!(!text.contains("42"));
            assert_eq!(Cursor::decode(&text).unwrap(), c);
        }
        for bad in ["42", "!!", "eC4x", "bi4tMQ"] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filter_dates_are_dates_or_datetimes_and_a_day_is_included_whole() {
        let f = AuditFilter {
            since: Some("2026-01-31".into()),
            until: Some("2026-01-31".into()),
            action: Some("  ".into()),
            ..Default::default()
        };
        let q = f.query(None).unwrap();
        assert_eq!(q.since.as_deref(), Some("2026-01-31T00:00:00.000Z"));
        assert_eq!(q.until.as_deref(), Some("2026-02-01T00:00:00.000Z"));
        assert_eq!(q.action, None);
        let t = AuditFilter {
            since: Some("2026-01-31T08:00:00Z".into()),
            ..Default::default()
        };
        assert_eq!(
            t.query(None).unwrap().since.as_deref(),
            Some("2026-01-31T08:00:00.000Z")
        );
        let bad = AuditFilter {
            until: Some("yesterday".into()),
            ..Default::default()
        };
        assert!(
            matches!(bad.query(None), Err(DirectoryError::Invalid(m)) if m.contains("yesterday"))
        );
    }
}
