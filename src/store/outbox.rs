//! What a write records besides the resource: audit rows and outbox events
//! (in the write's own transaction), and the ownership-transfer queue; the
//! reads behind the audit trail and the event feed (the delivery worker's
//! are in `deliveries.rs`).

use serde_json::Value;
use time::OffsetDateTime;

use super::sql::{fetch_all, SqlFrag};
use super::{
    AuditEntry, AuditQuery, Change, Event, EventRecord, NewTransfer, Store, StoreError,
    StoreResult, Tenant, Tx,
};
use scim_protocol::datetime;
use sqlx::Row;

impl Store {
    /// Audit rows of a tenant, oldest first (all of them; tests use it).
    pub async fn audit_log(&self, tenant: &Tenant) -> StoreResult<Vec<Value>> {
        self.audit_page(
            tenant,
            &AuditQuery {
                limit: i64::MAX,
                ..Default::default()
            },
        )
        .await
    }

    /// One page of a tenant's audit log after or before a cursor, oldest
    /// or newest first.
    pub async fn audit_page(&self, tenant: &Tenant, q: &AuditQuery) -> StoreResult<Vec<Value>> {
        let mut f = SqlFrag::new();
        f.sql(
            "SELECT id, at, actor, actor_user_id, source_ip, request_id, job_id, object_type, object_id, object_name, action, description, details
             FROM audit_log WHERE tenant_id = ",
        );
        f.int(tenant.id);
        if let Some(after) = q.after {
            f.sql(" AND id > ");
            f.int(after);
        }
        if let Some(before) = q.before {
            f.sql(" AND id < ");
            f.int(before);
        }
        let text_filters = [
            ("actor", &q.actor),
            ("actor_user_id", &q.actor_user_id),
            ("action", &q.action),
            ("object_type", &q.object_type),
            ("object_id", &q.object_id),
            ("request_id", &q.request_id),
            ("job_id", &q.job_id),
        ];
        for (column, value) in text_filters {
            if let Some(v) = value {
                f.sql(format!(" AND {column} = "));
                f.text(v.clone());
            }
        }
        if let Some(since) = &q.since {
            f.sql(" AND at >= ");
            f.text(since.clone());
        }
        if let Some(until) = &q.until {
            f.sql(" AND at < ");
            f.text(until.clone());
        }
        f.sql(if q.newest_first {
            " ORDER BY id DESC LIMIT "
        } else {
            " ORDER BY id LIMIT "
        });
        f.int(q.limit.max(0));
        let rows = fetch_all(&mut *self.read.acquire().await?, f).await?;
        rows.iter()
            .map(|r| {
                let mut entry = serde_json::json!({
                    "id": r.try_get::<i64, _>("id")?,
                    "at": r.try_get::<String, _>("at")?,
                    "actor": r.try_get::<String, _>("actor")?,
                    "actorUserId": r.try_get::<Option<String>, _>("actor_user_id")?,
                    "sourceIp": r.try_get::<Option<String>, _>("source_ip")?,
                    "requestId": r.try_get::<Option<String>, _>("request_id")?,
                    "jobId": r.try_get::<Option<String>, _>("job_id")?,
                    "objectType": r.try_get::<String, _>("object_type")?,
                    "objectId": r.try_get::<Option<String>, _>("object_id")?,
                    "objectName": r.try_get::<Option<String>, _>("object_name")?,
                    "action": r.try_get::<String, _>("action")?,
                    "description": r.try_get::<String, _>("description")?,
                });
                // Details only where an entry has them.
                if let Some(d) = r.try_get::<Option<String>, _>("details")? {
                    entry["details"] = serde_json::from_str(&d)
                        .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?;
                }
                Ok(entry)
            })
            .collect()
    }

    /// Outbox events of a tenant, oldest first.
    pub async fn events(
        &self,
        tenant: &Tenant,
    ) -> StoreResult<Vec<(String, Option<String>, Value)>> {
        Ok(self
            .events_page(tenant, 0, i64::MAX)
            .await?
            .into_iter()
            .map(|e| (e.kind, e.object_id, e.payload))
            .collect())
    }

    /// Events after a cursor (the last id a host has seen), oldest first.
    pub async fn events_page(
        &self,
        tenant: &Tenant,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, object_id, payload FROM outbox WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(tenant.id)
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                Ok(EventRecord {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    object_id: r.try_get("object_id")?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    /// Pending ownership transfers of a tenant, oldest first.
    pub async fn pending_transfers(&self, tenant: &Tenant) -> StoreResult<Vec<PendingTransfer>> {
        let rows = sqlx::query(
            "SELECT user_id, successor_id, reason, assets, waiting, attempts, next_attempt_at, last_error, dead_at
             FROM transfers
             WHERE tenant_id = $1 AND delivered_at IS NULL AND cancelled_at IS NULL ORDER BY id",
        )
        .bind(tenant.id)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingTransfer {
                    user_id: r.try_get("user_id")?,
                    successor_id: r.try_get("successor_id")?,
                    reason: r.try_get("reason")?,
                    assets: r.try_get("assets")?,
                    waiting: r.try_get("waiting")?,
                    attempts: r.try_get("attempts")?,
                    next_attempt_at: r.try_get("next_attempt_at")?,
                    last_error: r.try_get("last_error")?,
                    dead_at: r.try_get("dead_at")?,
                })
            })
            .collect()
    }
}

/// An ownership transfer not yet acknowledged by the host.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTransfer {
    pub user_id: String,
    /// '' when there is none (the assets are deleted, or it waits).
    pub successor_id: String,
    /// `deletion` or `viewer`.
    pub reason: String,
    /// `transfer` or `delete`.
    pub assets: String,
    /// Why it waits for an admin to name a successor.
    pub waiting: Option<String>,
    /// Calls made so far.
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    /// When the calls were given up (a dead letter).
    pub dead_at: Option<String>,
}

impl Tx {
    /// The change's audit row and events.
    pub async fn record(&mut self, change: &Change) -> StoreResult<()> {
        self.record_audit(change.at, &change.audit).await?;
        self.record_events(change.at, std::slice::from_ref(&change.event))
            .await?;
        self.record_events(change.at, &change.extra_events).await
    }

    /// One audit row (without events: a failed delivery attempt, a
    /// recompute).
    pub async fn record_audit(&mut self, at: OffsetDateTime, a: &AuditEntry) -> StoreResult<()> {
        self.pending().audit(datetime::format(at), a);
        Ok(())
    }

    /// Events of a change, written with its audit row at commit.
    pub async fn record_events(&mut self, at: OffsetDateTime, events: &[Event]) -> StoreResult<()> {
        self.pending().events(&datetime::format(at), events);
        Ok(())
    }

    /// Queue an ownership-transfer call: due at once, unless it waits for
    /// a successor.
    pub async fn queue_transfer(&mut self, t: &NewTransfer<'_>) -> StoreResult<()> {
        let tid = self.tid();
        sqlx::query(
            "INSERT INTO transfers (tenant_id, user_id, successor_id, idempotency_key, payload, created, next_attempt_at, reason, assets, waiting)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tid)
        .bind(t.user_id)
        .bind(t.successor_id)
        .bind(t.idempotency_key)
        .bind(t.payload.to_string())
        .bind(t.at)
        .bind(t.at)
        .bind(t.reason)
        .bind(t.assets)
        .bind(t.waiting)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Cancel a user's transfers of `reason` not delivered yet (a restore
    /// cancels the deletion's); how many. `waiting_only`: only those
    /// waiting for a successor.
    pub async fn cancel_transfers(
        &mut self,
        user_id: &str,
        reason: &str,
        waiting_only: bool,
        at: &str,
    ) -> StoreResult<u64> {
        let tid = self.tid();
        let waiting = if waiting_only {
            " AND waiting IS NOT NULL"
        } else {
            ""
        };
        Ok(sqlx::query(&format!(
            "UPDATE transfers SET cancelled_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND reason = $4
             AND delivered_at IS NULL AND cancelled_at IS NULL{waiting}"
        ))
        .bind(at)
        .bind(tid)
        .bind(user_id)
        .bind(reason)
        .execute(self.conn().await?)
        .await?
        .rows_affected())
    }

    /// A user's transfers waiting for a successor: id and payload.
    pub async fn waiting_transfers(&mut self, user_id: &str) -> StoreResult<Vec<(i64, Value)>> {
        let tid = self.tid();
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, payload FROM transfers WHERE tenant_id = $1 AND user_id = $2
             AND waiting IS NOT NULL AND delivered_at IS NULL AND cancelled_at IS NULL ORDER BY id",
        )
        .bind(tid)
        .bind(user_id)
        .fetch_all(self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(id, p)| {
                let payload =
                    serde_json::from_str(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((id, payload))
            })
            .collect()
    }

    /// A waiting transfer gets its successor (and the payload naming
    /// them): due at once.
    pub async fn name_transfer_successor(
        &mut self,
        id: i64,
        successor_id: &str,
        payload: &Value,
        at: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE transfers SET successor_id = $1, payload = $2, waiting = NULL, next_attempt_at = $3
             WHERE id = $4 AND waiting IS NOT NULL",
        )
        .bind(successor_id)
        .bind(payload.to_string())
        .bind(at)
        .bind(id)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// Mark a transfer delivered; false when it was cancelled (a restore
    /// while the call was in flight) or already delivered.
    pub async fn mark_transfer_delivered(&mut self, id: i64, at: &str) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE transfers SET delivered_at = $1, attempts = attempts + 1, last_error = NULL
             WHERE id = $2 AND delivered_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(self.conn().await?)
        .await?
        .rows_affected()
            > 0)
    }

    /// A transfer call failed: try again at `next`.
    pub async fn transfer_retry(
        &mut self,
        id: i64,
        next: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE transfers SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(datetime::format(next))
        .bind(error)
        .bind(id)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }
}
