//! The delivery worker's queues: each tenant's undelivered events in order,
//! due ownership-transfer calls, dead letters and their replay, the lists
//! and figures an operator reads, and pruning what was delivered long ago.
//! Which row is due, when one is given up and what is audited is the
//! directory's to say (`directory/delivery.rs`).

use serde_json::json;
use time::OffsetDateTime;

use super::rows::parse_json;
use super::{EventCall, Store, StoreResult, Tenant, TransferCall, Tx};
use scim_protocol::datetime;

/// The two queues of calls to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryKind {
    /// Events (`[hooks] events_url`), in order per tenant.
    Event,
    /// Ownership-transfer calls (`[hooks] ownership_transfer_url`).
    Transfer,
}

impl DeliveryKind {
    pub const ALL: [DeliveryKind; 2] = [DeliveryKind::Event, DeliveryKind::Transfer];

    pub fn name(self) -> &'static str {
        match self {
            DeliveryKind::Event => "event",
            DeliveryKind::Transfer => "transfer",
        }
    }

    pub fn parse(name: &str) -> Option<DeliveryKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One delivery as an operator lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub kind: DeliveryKind,
    pub id: i64,
    /// The event's type, or `ownership.transfer`.
    pub what: String,
    /// The event's object, or the transferred user.
    pub object_id: Option<String>,
    pub created: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub dead_at: Option<String>,
    pub replayed_at: Option<String>,
}

/// Which deliveries of a tenant to list: dead letters or those still
/// queued, of one kind or both (events first), after a cursor.
#[derive(Debug, Clone)]
pub struct DeliveryQuery {
    pub dead: bool,
    pub kinds: Vec<DeliveryKind>,
    /// The last delivery of the previous page.
    pub after: Option<(DeliveryKind, i64)>,
    pub limit: i64,
}

/// The length of one queue, over every tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Queued, not delivered, not given up.
    pub pending: i64,
    /// When the oldest of those was queued (or replayed).
    pub oldest: Option<String>,
    /// Given up (dead letters).
    pub dead: i64,
}

/// id, type, object, created, attempts, next attempt, last error, dead at,
/// replayed at.
type DeliveryRow = (
    i64,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const EVENT_COLUMNS: &str =
    "id, kind, object_id, at, attempts, next_attempt_at, last_error, dead_at, replayed_at";
const TRANSFER_COLUMNS: &str = "id, 'ownership.transfer', user_id, created, attempts, next_attempt_at, last_error, dead_at, replayed_at";
/// Rows of `outbox` still to deliver.
const EVENT_QUEUED: &str = "delivered_at IS NULL AND dead_at IS NULL";
/// Rows of `transfers` still to deliver (one waiting for a successor is
/// not yet a delivery).
const TRANSFER_QUEUED: &str =
    "delivered_at IS NULL AND cancelled_at IS NULL AND dead_at IS NULL AND waiting IS NULL";
const TRANSFER_DEAD: &str = "delivered_at IS NULL AND cancelled_at IS NULL AND dead_at IS NOT NULL";

fn record(kind: DeliveryKind, r: DeliveryRow) -> DeliveryRecord {
    let (id, what, object_id, created, attempts, next_attempt_at, last_error, dead_at, replayed_at) =
        r;
    DeliveryRecord {
        kind,
        id,
        what,
        object_id,
        created,
        attempts,
        next_attempt_at,
        last_error,
        dead_at,
        replayed_at,
    }
}

/// A transfer call's row: id, tenant id, tenant name, user, successor, key,
/// payload, attempts, queued (or replayed) at, reason, assets.
type TransferRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
);

/// An event's row: id, at, kind, object, payload, attempts, next attempt,
/// queued (or replayed) at.
type EventRow = (
    i64,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    String,
);

impl Store {
    /// Tenants whose first undelivered event is due now (never tried, or
    /// its backoff has passed), the longest waiting first. A tenant whose
    /// first event is backing off is left out: its later events wait
    /// behind it, and no other tenant's do.
    pub async fn due_event_tenants(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<Tenant>> {
        // The tenants with undelivered events, one index seek each (a
        // loose index scan: a long backlog is not read), then each one's
        // first event.
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "WITH RECURSIVE queued(tid) AS (
                 SELECT MIN(tenant_id) FROM outbox WHERE {EVENT_QUEUED}
                 UNION ALL
                 SELECT (SELECT MIN(tenant_id) FROM outbox WHERE {EVENT_QUEUED} AND tenant_id > queued.tid)
                 FROM queued WHERE queued.tid IS NOT NULL
             )
             SELECT t.id, t.name FROM queued
             JOIN outbox o ON o.id = (SELECT MIN(id) FROM outbox WHERE tenant_id = queued.tid AND {EVENT_QUEUED})
             JOIN tenants t ON t.id = queued.tid
             WHERE o.next_attempt_at IS NULL OR o.next_attempt_at <= $1
             ORDER BY o.id LIMIT $2"
        ))
        .bind(datetime::format(now))
        .bind(limit)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| Tenant { id, name })
            .collect())
    }

    /// A tenant's undelivered events from its first, in order.
    pub async fn event_queue(&self, tenant: &Tenant, limit: i64) -> StoreResult<Vec<EventCall>> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "SELECT id, at, kind, object_id, payload, attempts, next_attempt_at, COALESCE(replayed_at, at)
             FROM outbox WHERE tenant_id = $1 AND {EVENT_QUEUED} ORDER BY id LIMIT $2"
        ))
        .bind(tenant.id)
        .bind(limit)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        rows.into_iter()
            .map(
                |(id, at, kind, object_id, payload, attempts, next_attempt_at, since)| {
                    Ok(EventCall {
                        id,
                        tenant: tenant.clone(),
                        payload: json!({
                            "id": id,
                            "tenant": tenant.name,
                            "at": at,
                            "type": kind,
                            "objectId": object_id,
                            "data": parse_json(&payload)?,
                        }),
                        attempts,
                        next_attempt_at,
                        since,
                    })
                },
            )
            .collect()
    }

    pub async fn event_delivered(&self, id: i64, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
            .bind(datetime::format(at))
            .bind(id)
            .execute(&mut *self.write.acquire().await?)
            .await?;
        Ok(())
    }

    /// An event's call failed: try again at `next`.
    pub async fn event_failed(
        &self,
        id: i64,
        next: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
        )
        .bind(datetime::format(next))
        .bind(error)
        .bind(id)
        .execute(&mut *self.write.acquire().await?)
        .await?;
        Ok(())
    }

    /// Ownership-transfer calls due now, the longest waiting first. Each
    /// stands alone: one that fails waits for its own next attempt.
    pub async fn due_transfers(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<TransferCall>> {
        let rows: Vec<TransferRow> = sqlx::query_as(&format!(
            "SELECT x.id, t.id, t.name, x.user_id, x.successor_id, x.idempotency_key, x.payload, x.attempts,
                    COALESCE(x.replayed_at, x.created), x.reason, x.assets
             FROM transfers x JOIN tenants t ON t.id = x.tenant_id
             WHERE x.{TRANSFER_QUEUED} AND x.next_attempt_at <= $1
             ORDER BY x.next_attempt_at, x.id LIMIT $2"
        ))
        .bind(datetime::format(now))
        .bind(limit)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    tid,
                    name,
                    user_id,
                    successor_id,
                    idempotency_key,
                    payload,
                    attempts,
                    since,
                    reason,
                    assets,
                )| {
                    TransferCall {
                        id,
                        tenant: Tenant { id: tid, name },
                        user_id,
                        successor_id,
                        idempotency_key,
                        payload,
                        attempts,
                        since,
                        reason,
                        assets,
                    }
                },
            )
            .collect())
    }

    /// A page of a tenant's dead letters, or of its deliveries still
    /// queued: events first, then transfers, each by id.
    pub async fn deliveries(
        &self,
        tenant: &Tenant,
        q: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let mut out = Vec::new();
        for kind in DeliveryKind::ALL {
            let after = match q.after {
                Some((k, _)) if k > kind => continue,
                Some((k, id)) if k == kind => id,
                _ => 0,
            };
            if !q.kinds.contains(&kind) {
                continue;
            }
            let left = q.limit - out.len() as i64;
            if left <= 0 {
                break;
            }
            let (columns, table, filter) = match (kind, q.dead) {
                (DeliveryKind::Event, true) => (EVENT_COLUMNS, "outbox", "dead_at IS NOT NULL"),
                (DeliveryKind::Event, false) => (EVENT_COLUMNS, "outbox", EVENT_QUEUED),
                (DeliveryKind::Transfer, true) => (TRANSFER_COLUMNS, "transfers", TRANSFER_DEAD),
                (DeliveryKind::Transfer, false) => (TRANSFER_COLUMNS, "transfers", TRANSFER_QUEUED),
            };
            let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
                "SELECT {columns} FROM {table} WHERE tenant_id = $1 AND {filter} AND id > $2 ORDER BY id LIMIT $3"
            ))
            .bind(tenant.id)
            .bind(after)
            .bind(left)
            .fetch_all(&mut *self.read.acquire().await?)
            .await?;
            out.extend(rows.into_iter().map(|r| record(kind, r)));
        }
        Ok(out)
    }

    /// How long a queue is, over every tenant.
    pub async fn queue_figures(&self, kind: DeliveryKind) -> StoreResult<QueueFigures> {
        let (pending, oldest, dead) = match kind {
            DeliveryKind::Event => (
                format!("SELECT COUNT(*) FROM outbox WHERE {EVENT_QUEUED}"),
                format!("SELECT MIN(COALESCE(replayed_at, at)) FROM outbox WHERE {EVENT_QUEUED}"),
                "SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL".to_string(),
            ),
            DeliveryKind::Transfer => (
                format!("SELECT COUNT(*) FROM transfers WHERE {TRANSFER_QUEUED}"),
                format!(
                    "SELECT MIN(COALESCE(replayed_at, created)) FROM transfers WHERE {TRANSFER_QUEUED}"
                ),
                format!("SELECT COUNT(*) FROM transfers WHERE {TRANSFER_DEAD}"),
            ),
        };
        let count = |sql: String| async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&mut *self.read.acquire().await?)
                .await
        };
        let oldest: Option<Option<String>> = sqlx::query_scalar(&oldest)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        Ok(QueueFigures {
            pending: count(pending).await?,
            oldest: oldest.flatten(),
            dead: count(dead).await?,
        })
    }

    /// Delete at most `limit` rows of each queue delivered before `before`
    /// (and transfers a restore cancelled then); how many went.
    pub async fn prune_delivered(&self, before: OffsetDateTime, limit: i64) -> StoreResult<u64> {
        let before = datetime::format(before);
        let mut n = 0;
        for (table, column) in [
            ("outbox", "delivered_at"),
            ("transfers", "delivered_at"),
            ("transfers", "cancelled_at"),
        ] {
            n += sqlx::query(&format!(
                "DELETE FROM {table} WHERE id IN
                 (SELECT id FROM {table} WHERE {column} < $1 ORDER BY {column} LIMIT $2)"
            ))
            .bind(&before)
            .bind(limit)
            .execute(&mut *self.write.acquire().await?)
            .await?
            .rows_affected();
        }
        Ok(n)
    }
}

impl Tx {
    /// One of this tenant's deliveries, in any state, and when it was
    /// delivered (or, a transfer, cancelled); None: not this tenant's, or
    /// pruned.
    pub async fn delivery(
        &mut self,
        kind: DeliveryKind,
        id: i64,
    ) -> StoreResult<Option<(DeliveryRecord, Option<String>)>> {
        let tid = self.tid();
        let (columns, table, done) = match kind {
            DeliveryKind::Event => (EVENT_COLUMNS, "outbox", "delivered_at"),
            DeliveryKind::Transfer => (
                TRANSFER_COLUMNS,
                "transfers",
                "COALESCE(delivered_at, cancelled_at)",
            ),
        };
        let row: Option<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {columns} FROM {table} WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tid)
        .bind(id)
        .fetch_optional(self.conn().await?)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let finished: Option<String> =
            sqlx::query_scalar(&format!("SELECT {done} FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_one(self.conn().await?)
                .await?;
        Ok(Some((record(kind, row), finished)))
    }

    /// Give a delivery up after a last failed call (a dead letter).
    pub async fn give_up(
        &mut self,
        kind: DeliveryKind,
        id: i64,
        at: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()> {
        let tid = self.tid();
        let sql = match kind {
            DeliveryKind::Event => {
                "UPDATE outbox SET attempts = attempts + 1, dead_at = $1, next_attempt_at = NULL, last_error = $2
                 WHERE id = $3 AND tenant_id = $4 AND delivered_at IS NULL"
            }
            DeliveryKind::Transfer => {
                "UPDATE transfers SET attempts = attempts + 1, dead_at = $1, last_error = $2
                 WHERE id = $3 AND tenant_id = $4 AND delivered_at IS NULL"
            }
        };
        sqlx::query(sql)
            .bind(datetime::format(at))
            .bind(error)
            .bind(id)
            .bind(tid)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Queue a dead letter again, due at once, with a fresh count of
    /// attempts and a fresh age; false when it was not dead.
    pub async fn replay_delivery(
        &mut self,
        kind: DeliveryKind,
        id: i64,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let tid = self.tid();
        let at = datetime::format(at);
        let sql = match kind {
            DeliveryKind::Event => {
                "UPDATE outbox SET dead_at = NULL, replayed_at = $1, attempts = 0, next_attempt_at = NULL
                 WHERE id = $2 AND tenant_id = $3 AND dead_at IS NOT NULL AND delivered_at IS NULL"
            }
            DeliveryKind::Transfer => {
                "UPDATE transfers SET dead_at = NULL, replayed_at = $1, attempts = 0, next_attempt_at = $1
                 WHERE id = $2 AND tenant_id = $3 AND dead_at IS NOT NULL AND delivered_at IS NULL AND cancelled_at IS NULL"
            }
        };
        Ok(sqlx::query(sql)
            .bind(&at)
            .bind(id)
            .bind(tid)
            .execute(self.conn().await?)
            .await?
            .rows_affected()
            > 0)
    }
}
