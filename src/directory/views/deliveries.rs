//! Calls to the host (events, ownership transfers) that are still queued
//! or were given up (dead letters), as the admin API lists them.

use serde::Serialize;

use crate::store::DeliveryRecord;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Queued: due now, or backing off after a failed call.
    Pending,
    /// Given up after `[delivery] max_attempts` calls or `max_age_hours`
    /// (a dead letter); sent again only when replayed.
    Dead,
}

/// One delivery: an event for `[hooks] events_url` or an ownership-transfer
/// call for `[hooks] ownership_transfer_url`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// `event-<id>` (the event's id in the feed, and its `Idempotency-Key`)
    /// or `transfer-<id>`.
    #[schema(example = "event-1042")]
    pub id: String,
    /// `event` or `transfer`.
    #[schema(example = "event")]
    pub kind: String,
    pub state: DeliveryState,
    /// The event's type, or `ownership.transfer`.
    #[serde(rename = "type")]
    #[schema(example = "user.created")]
    pub what: String,
    /// The event's object, or the deleted user whose assets move.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub object_id: Option<String>,
    /// When it was queued.
    #[schema(example = "2026-02-03T08:15:00.000Z")]
    pub created: String,
    /// Calls made (since the last replay).
    #[schema(example = 20)]
    pub attempts: i64,
    /// When the next call is due (`null`: at once, or never for a dead
    /// letter).
    #[schema(example = "2026-02-03T09:15:00.000Z")]
    pub next_attempt_at: Option<String>,
    /// What the last call came to (never the URL).
    #[schema(example = "the host answered 503")]
    pub last_error: Option<String>,
    /// When it was given up.
    #[schema(example = "2026-02-03T17:40:00.000Z")]
    pub dead_at: Option<String>,
    /// When an admin last replayed it.
    pub replayed_at: Option<String>,
}

impl From<&DeliveryRecord> for DeliveryView {
    fn from(r: &DeliveryRecord) -> Self {
        let dead = r.dead_at.is_some();
        DeliveryView {
            id: format!("{}-{}", r.kind.name(), r.id),
            kind: r.kind.name().to_string(),
            state: if dead {
                DeliveryState::Dead
            } else {
                DeliveryState::Pending
            },
            what: r.what.clone(),
            object_id: r.object_id.clone(),
            created: r.created.clone(),
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.clone().filter(|_| !dead),
            last_error: r.last_error.clone(),
            dead_at: r.dead_at.clone(),
            replayed_at: r.replayed_at.clone(),
        }
    }
}

/// A page of deliveries: events first, then transfers, each oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    /// The deliveries.
    pub items: Vec<DeliveryView>,
    /// The cursor (`after`) of the next page; `null` on the last page.
    #[schema(example = "event-1042")]
    pub next: Option<String>,
}
