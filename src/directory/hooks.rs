//! Outbound calls to the host platform: ownership transfers and events,
//! drained from their outbox tables by a background worker with exponential
//! backoff, each tenant's events in order and apart from other tenants'
//! (`delivery.rs`, which also gives up, replays and prunes); retention
//! purges, and marking invitation emails abandoned by a stopped server
//! (`mail.rs`), run from the same loop. Every call is signed:
//! `Rollcall-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
//! with `Rollcall-Timestamp` and an `Idempotency-Key`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use hmac::{Hmac, Mac};
use openidconnect::reqwest;
use serde::Deserialize;
use sha2::Sha256;
use time::OffsetDateTime;

use super::delivery::{Outcome, AT_ONCE};
use super::{Directory, DirectoryResult};
use crate::store::{AuditEntry, DeliveryKind, TransferCall};

mod answer;

/// `[hooks]` in the config file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    /// Where ownership-transfer calls go (unset: deletions complete at once).
    pub ownership_transfer_url: Option<String>,
    /// Where events go (unset: hosts poll `GET /admin/v1/events`).
    pub events_url: Option<String>,
    /// The HMAC-SHA256 signing secret (required with either URL).
    pub secret: Option<String>,
    /// First retry after this many milliseconds, doubling up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// Per-call timeout.
    pub timeout_ms: u64,
    /// How often the worker looks for due work.
    pub poll_ms: u64,
}

impl Default for HooksConfig {
    fn default() -> Self {
        Self {
            ownership_transfer_url: None,
            events_url: None,
            secret: None,
            retry_base_ms: 1_000,
            retry_max_ms: 3_600_000,
            timeout_ms: 10_000,
            poll_ms: 1_000,
        }
    }
}

impl HooksConfig {
    pub fn validate(&self) -> Result<(), String> {
        let any = self.ownership_transfer_url.is_some() || self.events_url.is_some();
        if any && self.secret.as_deref().is_none_or(|s| s.len() < 16) {
            return Err("[hooks] needs a `secret` of at least 16 characters".into());
        }
        for url in [&self.ownership_transfer_url, &self.events_url]
            .into_iter()
            .flatten()
        {
            if reqwest::Url::parse(url).is_err() {
                return Err(format!("[hooks] \"{url}\" is not a URL"));
            }
        }
        if self.retry_base_ms == 0 || self.retry_max_ms < self.retry_base_ms {
            return Err("[hooks] retry_base_ms must be positive and ≤ retry_max_ms".into());
        }
        Ok(())
    }
}

/// The signature header value for a body sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delay before attempt `attempts + 1`: base × 2^attempts, capped.
pub fn backoff(attempts: i64, base_ms: u64, max_ms: u64) -> Duration {
    let shift = attempts.clamp(0, 30) as u32;
    let ms = base_ms.saturating_mul(1u64 << shift).min(max_ms);
    Duration::from_millis(ms)
}

pub(super) fn later(at: OffsetDateTime, d: Duration) -> OffsetDateTime {
    at.checked_add(time::Duration::milliseconds(d.as_millis() as i64))
        .unwrap_or(at)
}

/// What a call that got no answer came to, with its causes but without
/// the URL (which may carry a credential of the host's).
fn no_answer(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = format!("request failed: {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// One signed POST; `Ok` (the answer, its body unread) only on a 2xx.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    key: &str,
    kind: &str,
    body: String,
) -> Result<reqwest::Response, String> {
    let ts = OffsetDateTime::now_utc().unix_timestamp();
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("rollcall-timestamp", ts.to_string())
        .header("rollcall-signature", sign(secret, ts, &body))
        .header("idempotency-key", key)
        .header("rollcall-delivery", kind)
        .body(body)
        .send()
        .await
        .map_err(no_answer)?;
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(format!("the host answered {}", resp.status().as_u16()))
    }
}

const HOOK_ACTOR: &str = "rollcall:ownership-transfer-hook";

impl Directory {
    fn http_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_millis(self.config.hooks.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    }

    /// Deliver what is due: transfer calls, then events, several at once.
    /// Returns how many calls succeeded.
    pub async fn deliver_due(&self) -> DirectoryResult<usize> {
        let hooks = &self.config.hooks;
        let Some(secret) = hooks.secret.as_deref() else {
            return Ok(0);
        };
        let client = self.http_client();
        let mut done = 0;
        if let Some(url) = &hooks.ownership_transfer_url {
            let calls = self.store.due_transfers(self.clock.now(), 50).await?;
            let client = &client;
            let results: Vec<DirectoryResult<usize>> = stream::iter(calls)
                .map(|call| async move { self.deliver_transfer(client, url, secret, &call).await })
                .buffer_unordered(AT_ONCE)
                .collect()
                .await;
            for r in results {
                done += r?;
            }
        }
        if let Some(url) = &hooks.events_url {
            done += self.deliver_events(&client, url, secret).await?;
        }
        Ok(done)
    }

    /// One ownership-transfer call: on a 2xx it is done (a deletion
    /// completes; what the answer lists as moved is audited), else it is
    /// retried later; 1 when delivered.
    async fn deliver_transfer(
        &self,
        client: &reqwest::Client,
        url: &str,
        secret: &str,
        call: &TransferCall,
    ) -> DirectoryResult<usize> {
        let outcome = post(
            client,
            url,
            secret,
            &call.idempotency_key,
            "ownership.transfer",
            call.payload.clone(),
        )
        .await;
        let outcome = match outcome {
            Ok(resp) => Ok(answer::read_body(resp).await),
            Err(e) => Err(e),
        };
        let now = self.clock.now();
        match outcome {
            Ok(body) => {
                let days = self
                    .config
                    .policy
                    .tenant(&call.tenant.name)
                    .retention_days
                    .unwrap_or(super::DEFAULT_RETENTION_DAYS);
                let moved = answer::moved(&body);
                let change = answer::acknowledged(call, moved, days, now, HOOK_ACTOR);
                let purge_after = now.checked_add(time::Duration::days(days)).unwrap_or(now);
                self.complete_transfer(call, purge_after, change).await?;
                self.delivery_counts
                    .count(DeliveryKind::Transfer, Outcome::Delivered);
                Ok(1)
            }
            Err(e) => {
                self.transfer_call_failed(call, &e, now).await?;
                Ok(0)
            }
        }
    }

    /// A transfer call failed: audited, and retried after the backoff or
    /// given up (a dead letter an admin may replay).
    async fn transfer_call_failed(
        &self,
        call: &TransferCall,
        e: &str,
        now: OffsetDateTime,
    ) -> DirectoryResult<()> {
        let hooks = &self.config.hooks;
        let attempts = call.attempts + 1;
        let dead = self.gives_up(attempts, &call.since, now);
        let (action, next, outcome) = if dead {
            tracing::warn!(user = %call.user_id, error = %e, attempts, "ownership transfer given up (dead letter)");
            (
                "ownership_transfer_dead",
                format!(
                    "given up after {attempts} attempts; replay it with POST /admin/v1/deliveries/transfer-{}/replay",
                    call.id
                ),
                None,
            )
        } else {
            let wait = backoff(call.attempts, hooks.retry_base_ms, hooks.retry_max_ms);
            let next = later(now, wait);
            tracing::warn!(user = %call.user_id, error = %e, retry_in = ?wait, "ownership transfer failed");
            (
                "ownership_transfer_failed",
                format!("next attempt at {}", scim_protocol::datetime::format(next)),
                Some(next),
            )
        };
        let entry = AuditEntry {
            actor: HOOK_ACTOR.into(),
            object_type: "User".into(),
            object_id: Some(call.user_id.clone()),
            action: action.into(),
            description: format!(
                "attempt {attempts} to transfer ownership of {} failed: {e}; {next}",
                call.user_id
            ),
            ..AuditEntry::default()
        };
        self.transfer_failed(call, outcome, e, now, &entry).await?;
        self.delivery_counts.count(
            DeliveryKind::Transfer,
            if dead { Outcome::Dead } else { Outcome::Failed },
        );
        Ok(())
    }

    /// Purge deleted users whose retention window has ended.
    pub async fn purge_due(&self) -> DirectoryResult<usize> {
        let due = self.store.due_purges(self.clock.now(), 100).await?;
        let mut n = 0;
        for (tenant, id) in due {
            self.purge_record(&tenant, &id, "rollcall:retention", None)
                .await?;
            n += 1;
        }
        Ok(n)
    }
}

/// Run deliveries, purges and pruning until the process ends. Each round runs under
/// the store's worker lease: with several instances on one database, one of
/// them does a round while the others skip it.
/// Run background rounds until `stop` turns true; a round under way
/// finishes first (the process awaits the handle at shutdown).
pub fn spawn_worker(
    dir: Arc<Directory>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let poll = Duration::from_millis(dir.config.hooks.poll_ms.max(10));
        while !*stop.borrow() {
            match dir.store.worker_lease().await {
                Ok(Some(lease)) => {
                    if let Err(e) = dir.deliver_due().await {
                        tracing::error!(error = %e, "delivery round failed");
                    }
                    if let Err(e) = dir.purge_due().await {
                        tracing::error!(error = %e, "purge round failed");
                    }
                    if let Err(e) = dir.prune_delivered().await {
                        tracing::error!(error = %e, "pruning delivered rows failed");
                    }
                    if let Err(e) = dir.sweep_abandoned_mail().await {
                        tracing::error!(error = %e, "sweeping abandoned mail failed");
                    }
                    if let Err(e) = dir.prune_request_log().await {
                        tracing::error!(error = %e, "pruning the request log failed");
                    }
                    if let Err(e) = lease.release().await {
                        tracing::error!(error = %e, "releasing the worker lease failed");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "taking the worker lease failed"),
            }
            // Each instance writes the requests it served.
            if let Err(e) = dir.flush_request_log().await {
                tracing::error!(error = %e, "writing the request log failed");
            }
            // Jobs carry their own leases: any instance may resume one.
            if let Err(e) = dir.resume_jobs().await {
                tracing::error!(error = %e, "resuming deprovisioning jobs failed");
            }
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign("secret", 1_700_000_000, r#"{"a":1}"#),
            "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(
            sign("secret", 1_700_000_001, r#"{"a":1}"#),
            sign("secret", 1_700_000_000, r#"{"a":1}"#)
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let ms = |a| backoff(a, 1000, 60_000).as_millis();
        assert_eq!(
            [ms(0), ms(1), ms(2), ms(5), ms(6), ms(99)],
            [1000, 2000, 4000, 32_000, 60_000, 60_000]
        );
    }

    #[test]
    fn hooks_need_a_secret_and_valid_urls() {
        let mut h = HooksConfig {
            ownership_transfer_url: Some("http://h/x".into()),
            ..HooksConfig::default()
        };
        assert!(h.validate().is_err());
        h.secret = Some("0123456789abcdef".into());
        assert!(h.validate().is_ok());
        h.events_url = Some("not a url".into());
        assert!(h.validate().is_err());
    }
}
