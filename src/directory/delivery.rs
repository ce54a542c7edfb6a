//! Isolated, bounded delivery to the host. Each tenant's events go in
//! order, on their own: the worker takes every tenant whose first
//! undelivered event is due and sends that tenant's events one after the
//! other until one fails, several tenants at once, so a tenant whose host
//! refuses (or hangs) holds back only its own events. A delivery that keeps
//! failing — `[delivery] max_attempts` calls, or `max_age_hours` since it
//! was queued — is given up: a dead letter, audited, listed for admins,
//! counted in `/metrics`, and sent again only when an admin replays it.
//! Delivered rows are pruned after `outbox_retention_days`, a bounded batch
//! per round.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::stream::{self, StreamExt};
use openidconnect::reqwest;
use serde::Deserialize;
use time::OffsetDateTime;

use super::hooks::{backoff, later, post};
use super::views::{DeliveryPage, DeliveryState, DeliveryView};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{AuditEntry, DeliveryKind, DeliveryQuery, EventCall, Tenant};
use scim_protocol::datetime;

/// `[delivery]` in the config file: when a delivery is given up, and how
/// long delivered rows are kept.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Calls made before a delivery is given up (a dead letter).
    pub max_attempts: i64,
    /// A delivery still failing this many hours after it was queued (or
    /// replayed) is given up at its next failure, whatever its count.
    pub max_age_hours: i64,
    /// Days a delivered event or transfer call stays in the outbox (and so
    /// in the event feed) before the worker deletes it.
    pub outbox_retention_days: i64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 20,
            max_age_hours: 72,
            outbox_retention_days: 30,
        }
    }
}

impl DeliveryConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1000).contains(&self.max_attempts) {
            return Err("[delivery] max_attempts must be from 1 to 1000".into());
        }
        if !(1..=8760).contains(&self.max_age_hours) {
            return Err("[delivery] max_age_hours must be from 1 to 8760 (a year)".into());
        }
        if !(1..=36500).contains(&self.outbox_retention_days) {
            return Err("[delivery] outbox_retention_days must be from 1 to 36500".into());
        }
        Ok(())
    }
}

/// Tenants whose events one round takes, the longest waiting first.
const TENANTS_PER_ROUND: i64 = 500;
/// Events of one tenant one round sends at most.
const EVENTS_PER_TENANT: i64 = 100;
/// Tenants (or transfer calls) served at the same time.
pub(super) const AT_ONCE: usize = 8;
/// Rows of each queue one round prunes at most.
const PRUNE_BATCH: i64 = 500;

const EVENT_ACTOR: &str = "rollcall:event-webhook";

/// What came of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The host answered 2xx.
    Delivered,
    /// Any other answer or no answer; it will be tried again.
    Failed,
    /// A failure that gave the delivery up (a dead letter).
    Dead,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Delivered, Outcome::Failed, Outcome::Dead];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Dead => "dead",
        }
    }
}

/// Calls made by this process, by kind and outcome.
#[derive(Default)]
pub struct DeliveryCounters([[AtomicU64; 3]; 2]);

impl DeliveryCounters {
    pub fn count(&self, kind: DeliveryKind, outcome: Outcome) {
        self.0[kind as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, kind: DeliveryKind, outcome: Outcome) -> u64 {
        self.0[kind as usize][outcome as usize].load(Ordering::Relaxed)
    }
}

/// One queue's figures now, over every tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueGauge {
    pub kind: &'static str,
    /// Deliveries queued (due, or backing off).
    pub pending: i64,
    /// Seconds since the oldest of them was queued (0 with none).
    pub oldest_age_seconds: f64,
    /// Dead letters.
    pub dead: i64,
}

/// What `/metrics` shows of delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFigures {
    /// The queues whose hook is configured.
    pub queues: Vec<QueueGauge>,
    /// Calls by kind and outcome since this process started.
    pub outcomes: Vec<(&'static str, &'static str, u64)>,
}

/// Which deliveries to list.
#[derive(Debug, Clone)]
pub struct DeliveryFilter {
    pub state: DeliveryState,
    /// One kind only (none: both).
    pub kind: Option<DeliveryKind>,
    /// The last delivery of the previous page.
    pub after: Option<(DeliveryKind, i64)>,
    pub limit: i64,
}

/// `event-12` or `transfer-3`.
pub fn parse_delivery_id(id: &str) -> Option<(DeliveryKind, i64)> {
    let (kind, n) = id.split_once('-')?;
    let n = n.parse::<i64>().ok().filter(|n| *n > 0)?;
    Some((DeliveryKind::parse(kind)?, n))
}

impl Directory {
    /// Whether a delivery whose call just failed for the `attempts`th time,
    /// queued (or replayed) at `since`, is given up.
    pub(super) fn gives_up(&self, attempts: i64, since: &str, now: OffsetDateTime) -> bool {
        let d = &self.config.delivery;
        let cutoff = now
            .checked_sub(time::Duration::hours(d.max_age_hours))
            .unwrap_or(now);
        attempts >= d.max_attempts || since <= datetime::format(cutoff).as_str()
    }

    /// Due events, each tenant's in order, several tenants at once; how
    /// many were delivered.
    pub(super) async fn deliver_events(
        &self,
        client: &reqwest::Client,
        url: &str,
        secret: &str,
    ) -> DirectoryResult<usize> {
        let tenants = self
            .store
            .due_event_tenants(self.clock.now(), TENANTS_PER_ROUND)
            .await?;
        let rounds: Vec<DirectoryResult<usize>> = stream::iter(tenants)
            .map(|t| self.deliver_tenant_events(client, url, secret, t))
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        let mut done = 0;
        for r in rounds {
            done += r?;
        }
        Ok(done)
    }

    /// One tenant's events from its first undelivered one, in order,
    /// stopping at one still backing off or at a failure: the host never
    /// sees a tenant's event before the ones queued ahead of it.
    async fn deliver_tenant_events(
        &self,
        client: &reqwest::Client,
        url: &str,
        secret: &str,
        tenant: Tenant,
    ) -> DirectoryResult<usize> {
        let mut done = 0;
        for call in self.store.event_queue(&tenant, EVENTS_PER_TENANT).await? {
            let now = datetime::format(self.clock.now());
            if call
                .next_attempt_at
                .as_deref()
                .is_some_and(|n| n > now.as_str())
            {
                break;
            }
            let key = format!("event-{}", call.id);
            match post(client, url, secret, &key, "event", call.payload.to_string()).await {
                Ok(_) => {
                    self.store
                        .event_delivered(call.id, self.clock.now())
                        .await?;
                    self.delivery_counts
                        .count(DeliveryKind::Event, Outcome::Delivered);
                    done += 1;
                }
                Err(e) => {
                    self.event_failed(&call, &e).await?;
                    break;
                }
            }
        }
        Ok(done)
    }

    /// An event's call failed: retried after the backoff, or given up
    /// (audited, in one transaction).
    async fn event_failed(&self, call: &EventCall, error: &str) -> DirectoryResult<()> {
        let hooks = &self.config.hooks;
        let now = self.clock.now();
        let attempts = call.attempts + 1;
        if !self.gives_up(attempts, &call.since, now) {
            let wait = backoff(call.attempts, hooks.retry_base_ms, hooks.retry_max_ms);
            tracing::warn!(event = call.id, tenant = %call.tenant.name, error, retry_in = ?wait, "event delivery failed");
            self.store
                .event_failed(call.id, later(now, wait), error)
                .await?;
            self.delivery_counts
                .count(DeliveryKind::Event, Outcome::Failed);
            return Ok(());
        }
        tracing::warn!(event = call.id, tenant = %call.tenant.name, error, attempts, "event delivery given up (dead letter)");
        let id = format!("event-{}", call.id);
        let kind = call.payload["type"].as_str().unwrap_or("event");
        let entry = AuditEntry {
            actor: EVENT_ACTOR.into(),
            object_type: "Delivery".into(),
            object_id: Some(id.clone()),
            action: "delivery_dead".into(),
            description: format!(
                "event {id} ({kind}) given up after {attempts} attempts: {error}; the tenant's later events go on; replay it with POST /admin/v1/deliveries/{id}/replay"
            ),
            ..AuditEntry::default()
        };
        let mut tx = self.store.write(&call.tenant).await?;
        tx.give_up(DeliveryKind::Event, call.id, now, error).await?;
        tx.record_audit(now, &entry).await?;
        tx.commit().await?;
        self.delivery_counts
            .count(DeliveryKind::Event, Outcome::Dead);
        Ok(())
    }

    /// Delete what was delivered (or, a transfer, cancelled) more than
    /// `outbox_retention_days` ago, one bounded batch per queue.
    pub async fn prune_delivered(&self) -> DirectoryResult<u64> {
        let now = self.clock.now();
        let before = now
            .checked_sub(time::Duration::days(
                self.config.delivery.outbox_retention_days,
            ))
            .unwrap_or(now);
        Ok(self.store.prune_delivered(before, PRUNE_BATCH).await?)
    }

    /// The queues a hook is configured for.
    fn configured_kinds(&self) -> Vec<DeliveryKind> {
        let hooks = &self.config.hooks;
        let mut kinds = Vec::new();
        if hooks.events_url.is_some() {
            kinds.push(DeliveryKind::Event);
        }
        if hooks.ownership_transfer_url.is_some() {
            kinds.push(DeliveryKind::Transfer);
        }
        kinds
    }

    /// A page of the tenant's dead letters, or of its queued deliveries
    /// (only queues a hook is configured for: without `events_url` every
    /// event waits to be polled, not delivered). Admin and above.
    pub async fn deliveries(
        &self,
        ctx: &Ctx,
        filter: &DeliveryFilter,
    ) -> DirectoryResult<DeliveryPage> {
        self.require(ctx, super::access::Permission::TenantSettings)
            .await?;
        let dead = filter.state == DeliveryState::Dead;
        let mut kinds = match filter.kind {
            Some(k) => vec![k],
            None => DeliveryKind::ALL.to_vec(),
        };
        if !dead {
            let configured = self.configured_kinds();
            kinds.retain(|k| configured.contains(k));
        }
        let q = DeliveryQuery {
            dead,
            kinds,
            after: filter.after,
            limit: filter.limit,
        };
        let items: Vec<DeliveryView> = self
            .store
            .deliveries(&ctx.tenant, &q)
            .await?
            .iter()
            .map(DeliveryView::from)
            .collect();
        let next = (items.len() as i64 == filter.limit)
            .then(|| items.last().map(|i| i.id.clone()))
            .flatten();
        Ok(DeliveryPage { items, next })
    }

    /// Queue a dead letter again, due at once, with a fresh count and age
    /// (audited as `delivery_replayed`). Admin and above. 404 for an id
    /// this tenant does not have; 409 for a delivery that is not dead.
    pub async fn replay_delivery(&self, ctx: &Ctx, id: &str) -> DirectoryResult<DeliveryView> {
        self.require(ctx, super::access::Permission::TenantSettings)
            .await?;
        let missing = || DirectoryError::NotFound(format!("delivery {id} not found"));
        let (kind, n) = parse_delivery_id(id).ok_or_else(missing)?;
        let mut tx = self.store.write(&ctx.tenant).await?;
        let (record, finished) = tx.delivery(kind, n).await?.ok_or_else(missing)?;
        if let Some(at) = finished {
            return Err(DirectoryError::Conflict(format!(
                "delivery {id} is finished (delivered, or cancelled by a restore, at {at}); there is nothing to replay"
            )));
        }
        if record.dead_at.is_none() {
            return Err(DirectoryError::Conflict(format!(
                "delivery {id} is still queued (attempt {} is due at {}); only a dead letter can be replayed",
                record.attempts + 1,
                record.next_attempt_at.as_deref().unwrap_or("once")
            )));
        }
        let now = self.clock.now();
        tx.replay_delivery(kind, n, now).await?;
        let entry = ctx.audit(
            "Delivery",
            Some(id.to_string()),
            None,
            "delivery_replayed",
            format!(
                "{id} ({}) queued again after {} attempts; last error: {}",
                record.what,
                record.attempts,
                record.last_error.as_deref().unwrap_or("none")
            ),
        );
        tx.record_audit(now, &entry).await?;
        tx.commit().await?;
        let mut view = DeliveryView::from(&record);
        let at = datetime::format(now);
        view.state = DeliveryState::Pending;
        view.attempts = 0;
        view.dead_at = None;
        view.next_attempt_at = (kind == DeliveryKind::Transfer).then(|| at.clone());
        view.replayed_at = Some(at);
        Ok(view)
    }

    /// The queues' lengths and ages now, and this process's calls by
    /// outcome.
    pub async fn delivery_figures(&self) -> DirectoryResult<DeliveryFigures> {
        let now = self.clock.now();
        let mut queues = Vec::new();
        for kind in self.configured_kinds() {
            let f = self.store.queue_figures(kind).await?;
            let age = f
                .oldest
                .as_deref()
                .and_then(datetime::parse)
                .map(|t| (now - t).as_seconds_f64().max(0.0))
                .unwrap_or(0.0);
            queues.push(QueueGauge {
                kind: kind.name(),
                pending: f.pending,
                oldest_age_seconds: age,
                dead: f.dead,
            });
        }
        let mut outcomes = Vec::new();
        for kind in DeliveryKind::ALL {
            for outcome in Outcome::ALL {
                outcomes.push((
                    kind.name(),
                    outcome.name(),
                    self.delivery_counts.get(kind, outcome),
                ));
            }
        }
        Ok(DeliveryFigures { queues, outcomes })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn delivery_ids_name_their_queue() {
        assert_eq!(
            parse_delivery_id("event-12"),
            Some((DeliveryKind::Event, 12))
        );
        assert_eq!(
            parse_delivery_id("transfer-3"),
            Some((DeliveryKind::Transfer, 3))
        );
        for bad in [
            "event", "event-", "event-0", "event--1", "mail-1", "12", "event-1x",
        ] {
            assert_eq!(parse_delivery_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn delivery_settings_come_from_the_config_file() {
        let cfg: crate::config::Config = toml::from_str(
            "[delivery]\nmax_attempts = 5\nmax_age_hours = 24\noutbox_retention_days = 7\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        assert_eq!(
            cfg.delivery,
            DeliveryConfig {
                max_attempts: 5,
                max_age_hours: 24,
                outbox_retention_days: 7,
            }
        );
        assert_eq!(
            crate::config::Config::default().delivery,
            DeliveryConfig::default()
        );
        let bad: crate::config::Config = toml::from_str("[delivery]\nmax_attempts = 0\n").unwrap();
        assert!(bad.validate().is_err());
        assert!(toml::from_str::<crate::config::Config>("[delivery]\nattempts = 3\n").is_err());
    }

    #[test]
    fn delivery_settings_are_bounded() {
        assert!(DeliveryConfig::default().validate().is_ok());
        for bad in [
            DeliveryConfig {
                max_attempts: 0,
                ..Default::default()
            },
            DeliveryConfig {
                max_age_hours: 0,
                ..Default::default()
            },
            DeliveryConfig {
                outbox_retention_days: 0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
