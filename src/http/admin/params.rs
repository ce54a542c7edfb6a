//! Query and path parameters of the admin API, as documented structs. Query
//! values arrive as text and are checked here, each with its own message.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::directory::admin::Paging;
use crate::directory::audit::{AuditFilter, AuditFormat};
use crate::directory::delivery::{parse_delivery_id, DeliveryFilter};
use crate::directory::views::DeliveryState;
use crate::http::error::AdminError;
use crate::store::DeliveryKind;

/// Most entries one page of the audit trail or the event feed returns.
const MAX_PAGE: i64 = 1000;
const DEFAULT_PAGE: i64 = 100;

/// `GET /audit` and `GET /audit/export`: filters and cursor; a page size
/// for a page, a format for an export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditParams {
    /// Acting principal as recorded (`token:okta`, `system`, …).
    actor: Option<String>,
    /// Acting user: an id, userName or email.
    user: Option<String>,
    /// Action, e.g. deleted.
    action: Option<String>,
    /// User, Group, Tenant, DeprovisionJob.
    object_type: Option<String>,
    /// Object id.
    object_id: Option<String>,
    /// Request id (`X-Request-Id`): a client's correlation value.
    request_id: Option<String>,
    /// A deprovisioning job's id: the changes its run made.
    job_id: Option<String>,
    /// dateTime, inclusive (a date: from its start).
    since: Option<String>,
    /// dateTime, exclusive (a date: up to its end).
    until: Option<String>,
    /// Cursor from `next` (an export starts after it too).
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    /// A page: 1 to 1000 (default 100).
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
    /// An export: csv (default) or jsonl.
    #[param(example = "csv")]
    format: Option<String>,
}

impl AuditParams {
    fn filter(self) -> Result<(AuditFilter, Option<i64>), AdminError> {
        let f = AuditFilter {
            actor: self.actor,
            user: self.user,
            action: self.action,
            object_type: self.object_type,
            object_id: self.object_id,
            request_id: self.request_id,
            job_id: self.job_id,
            since: self.since,
            until: self.until,
        };
        f.validate().map_err(|e| AdminError::bad(e.to_string()))?;
        Ok((f, cursor("after", self.after.as_deref())?))
    }

    /// A page's filter, cursor and size.
    pub(super) fn page(self) -> Result<(AuditFilter, Option<i64>, i64), AdminError> {
        if self.format.is_some() {
            return Err(AdminError::bad(
                "\"format\" is for /audit/export; /audit answers JSON pages",
            ));
        }
        let limit = limit(self.limit.as_deref())?;
        let (f, after) = self.filter()?;
        Ok((f, after, limit))
    }

    /// An export's filter, cursor and format.
    pub(super) fn export(self) -> Result<(AuditFilter, Option<i64>, AuditFormat), AdminError> {
        if self.limit.is_some() {
            return Err(AdminError::bad(
                "\"limit\" is for /audit pages; an export has every entry the filter selects",
            ));
        }
        let format = AuditFormat::parse(self.format.as_deref().unwrap_or("csv"))
            .map_err(|e| AdminError::bad(e.to_string()))?;
        let (f, after) = self.filter()?;
        Ok((f, after, format))
    }
}

/// `GET /events` cursor.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct EventParams {
    /// Cursor.
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    /// 1 to 1000.
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
}

impl EventParams {
    /// The cursor (0: from the start) and the page size.
    pub(super) fn cursor(&self) -> Result<(i64, i64), AdminError> {
        Ok((
            cursor("after", self.after.as_deref())?.unwrap_or(0),
            limit(self.limit.as_deref())?,
        ))
    }
}

/// `GET /deliveries`: which state and kind, cursor and page size.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveryParams {
    /// `dead` (default: dead letters) or `pending` (still queued).
    #[param(example = "dead")]
    state: Option<String>,
    /// `event` or `transfer` (default: both, events first).
    #[param(example = "event")]
    kind: Option<String>,
    /// Cursor from `next` (a delivery id, e.g. `event-1042`).
    after: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(value_type = Option<i64>)]
    limit: Option<String>,
}

impl DeliveryParams {
    pub(super) fn filter(&self) -> Result<DeliveryFilter, AdminError> {
        let state = match self.state.as_deref().unwrap_or("dead") {
            "dead" => DeliveryState::Dead,
            "pending" => DeliveryState::Pending,
            other => {
                return Err(AdminError::bad(format!(
                    "\"state\" is dead or pending, not \"{other}\""
                )))
            }
        };
        let kind = self
            .kind
            .as_deref()
            .map(|k| {
                DeliveryKind::parse(k).ok_or_else(|| {
                    AdminError::bad(format!("\"kind\" is event or transfer, not \"{k}\""))
                })
            })
            .transpose()?;
        let after = self
            .after
            .as_deref()
            .map(|a| {
                parse_delivery_id(a).ok_or_else(|| {
                    AdminError::bad("\"after\" must be a cursor from an earlier response")
                })
            })
            .transpose()?;
        Ok(DeliveryFilter {
            state,
            kind,
            after,
            limit: limit(self.limit.as_deref())?,
        })
    }
}

/// A delivery in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct DeliveryPath {
    /// `event-<id>` or `transfer-<id>`.
    #[param(example = "event-1042")]
    pub id: String,
}

/// A page of an embedded list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct PageParams {
    /// 1-based page (default 1).
    #[param(value_type = Option<i64>)]
    page: Option<String>,
    /// 10, 20, … or 100 (default 20).
    #[param(value_type = Option<i64>)]
    page_size: Option<String>,
}

impl PageParams {
    pub(super) fn paging(&self) -> Result<Paging, AdminError> {
        Ok(Paging::parse(
            self.page.as_deref(),
            self.page_size.as_deref(),
        )?)
    }
}

/// `DELETE /users/{id}` options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteParams {
    /// The successor of the user's assets (id or userName); default: their
    /// manager, else the tenant's fallback owner. Not with `assets=delete`.
    pub transfer_to: Option<String>,
    /// `transfer` (the default: the assets go to the successor) or
    /// `delete` (they are removed with the account: the host is told to
    /// delete them, and no successor is needed).
    #[param(example = "delete")]
    pub assets: Option<String>,
}

/// A user in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct UserPath {
    /// The user's id (or userName).
    pub id: String,
}

/// A group in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct GroupPath {
    /// The group's id (or displayName).
    pub id: String,
}

/// A deprovisioning job in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct JobPath {
    /// The job id.
    pub id: String,
}

/// An invitation in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct InvitationPath {
    /// The invitation secret from the link.
    pub token: String,
}

fn cursor(name: &str, v: Option<&str>) -> Result<Option<i64>, AdminError> {
    v.map(|v| {
        v.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| {
            AdminError::bad(format!(
                "\"{name}\" must be a cursor from an earlier response"
            ))
        })
    })
    .transpose()
}

/// `limit=`: 1 to 1000, 100 by default.
pub(super) fn limit(v: Option<&str>) -> Result<i64, AdminError> {
    match v {
        None => Ok(DEFAULT_PAGE),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| AdminError::bad(format!("\"limit\" must be 1 to {MAX_PAGE}"))),
    }
}
