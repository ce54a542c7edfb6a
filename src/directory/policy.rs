//! A tenant's policy as data: read it, preview a draft against every user,
//! replace it (optimistic version), and apply it — every user recomputed in
//! batches, with progress, no restart. A tenant with no stored document
//! follows the configuration file (version 0).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::access::{Permission, Policy, PolicyDocument, MAX_DOCUMENT_BYTES};
use super::recompute::{compute_access_with, AccessSummary, Applier, RECONCILE_BATCH};
use super::views::{PolicyApply, PolicyChange, PolicyPreview};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{Change, Event, Tenant, Tx};

/// Parsed stored policies, by tenant: (version, policy).
#[derive(Default)]
pub struct PolicyCache {
    by_tenant: Mutex<HashMap<i64, (i64, Arc<Policy>)>>,
    applies: Mutex<HashMap<i64, PolicyApply>>,
}

/// Most users one preview page lists.
pub const MAX_PREVIEW_PAGE: i64 = 500;

impl Directory {
    /// The tenant's policy as this transaction sees it (one indexed read;
    /// the parsed document is kept per version).
    pub(super) async fn policy_in(&self, tx: &mut Tx) -> DirectoryResult<Arc<Policy>> {
        let version = tx.policy_version().await?;
        if let Some(p) = self.cached_policy(tx.tenant(), version) {
            return Ok(p);
        }
        let row = tx.policy_row().await?;
        self.parse_policy(tx.tenant(), row.map(|r| (r.version, r.document)))
    }

    /// The tenant's policy now, outside a transaction.
    pub(super) async fn policy_of(&self, tenant: &Tenant) -> DirectoryResult<Arc<Policy>> {
        let version = self.store.policy_version(tenant).await?;
        if let Some(p) = self.cached_policy(tenant, version) {
            return Ok(p);
        }
        let row = self.store.policy_row(tenant).await?;
        self.parse_policy(tenant, row.map(|r| (r.version, r.document)))
    }

    fn cached_policy(&self, tenant: &Tenant, version: i64) -> Option<Arc<Policy>> {
        if version == 0 {
            return Some(self.config.policy.clone());
        }
        let cache = self.policies.by_tenant.lock().ok()?;
        cache
            .get(&tenant.id)
            .filter(|(v, _)| *v == version)
            .map(|(_, p)| p.clone())
    }

    fn parse_policy(
        &self,
        tenant: &Tenant,
        row: Option<(i64, String)>,
    ) -> DirectoryResult<Arc<Policy>> {
        let Some((version, text)) = row else {
            return Ok(self.config.policy.clone());
        };
        let doc: PolicyDocument = serde_json::from_str(&text).map_err(|e| {
            DirectoryError::Internal(format!("stored policy of {} unreadable: {e}", tenant.name))
        })?;
        let policy = Arc::new(self.config.policy.with_document(&tenant.name, &doc));
        if let Ok(mut cache) = self.policies.by_tenant.lock() {
            cache.insert(tenant.id, (version, policy.clone()));
        }
        Ok(policy)
    }

    /// `GET /admin/v1/policy`.
    pub async fn policy_document(&self, ctx: &Ctx) -> DirectoryResult<PolicyDocument> {
        self.require(ctx, Permission::TenantSettings).await?;
        self.current_document(&ctx.tenant).await
    }

    async fn current_document(&self, tenant: &Tenant) -> DirectoryResult<PolicyDocument> {
        let version = self.store.policy_version(tenant).await?;
        let policy = self.policy_of(tenant).await?;
        Ok(policy.document(&tenant.name, version))
    }

    /// A draft, checked: the policy it makes, or a 400 saying why not.
    fn draft(&self, tenant: &Tenant, doc: &PolicyDocument) -> DirectoryResult<Policy> {
        let size = serde_json::to_string(doc)
            .map(|t| t.len())
            .unwrap_or(usize::MAX);
        if size > MAX_DOCUMENT_BYTES {
            return Err(DirectoryError::Invalid(format!(
                "policy: the document is {size} bytes; at most {MAX_DOCUMENT_BYTES}"
            )));
        }
        self.config
            .policy
            .check_document(&tenant.name, doc)
            .map_err(|why| DirectoryError::Invalid(format!("policy: {why}")))
    }

    /// `POST /admin/v1/policy/preview`: what applying `doc` would change,
    /// user by user, writing nothing. The same computation the apply runs,
    /// so the same users and the same changes.
    pub async fn preview_policy(
        &self,
        ctx: &Ctx,
        doc: &PolicyDocument,
        start_index: i64,
        count: i64,
    ) -> DirectoryResult<PolicyPreview> {
        self.require(ctx, Permission::TenantSettings).await?;
        let draft = self.draft(&ctx.tenant, doc)?;
        let changes = self.policy_changes(&ctx.tenant, &draft).await?;
        let total = i64::try_from(changes.len()).unwrap_or(i64::MAX);
        let skip = usize::try_from(start_index.max(1) - 1).unwrap_or(0);
        let take = usize::try_from(count.clamp(0, MAX_PREVIEW_PAGE)).unwrap_or(0);
        let users: Vec<PolicyChange> = changes.into_iter().skip(skip).take(take).collect();
        Ok(PolicyPreview {
            changes: total,
            start_index: start_index.max(1),
            items_per_page: i64::try_from(users.len()).unwrap_or(0),
            users,
        })
    }

    /// Every live user whose type, role, plan or project roles `draft`
    /// would change, in user order. Read in batches; each batch's
    /// transaction is rolled back.
    async fn policy_changes(
        &self,
        tenant: &Tenant,
        draft: &Policy,
    ) -> DirectoryResult<Vec<PolicyChange>> {
        let mut out = Vec::new();
        let mut after = 0i64;
        loop {
            let mut tx = self.store.write(tenant).await?;
            let rows = tx.live_users_after(after, RECONCILE_BATCH).await?;
            let Some(last) = rows.last() else {
                tx.rollback().await?;
                break;
            };
            after = last.0;
            for (pk, id) in &rows {
                let (row, access) = compute_access_with(draft, &mut tx, *pk, id).await?;
                let before = AccessSummary::of(&row.access);
                let now = AccessSummary::of(&access);
                if before != now {
                    let user_name = row
                        .data
                        .get("userName")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    out.push(PolicyChange {
                        id: id.clone(),
                        user_name,
                        before,
                        after: now,
                    });
                }
            }
            tx.rollback().await?;
        }
        Ok(out)
    }

    /// `PUT /admin/v1/policy`: replace the policy if `doc.version` is the
    /// stored one (else 412), audited with an event, then apply it. Answers
    /// the stored document (its new version).
    pub async fn replace_policy(
        self: &Arc<Self>,
        ctx: &Ctx,
        doc: PolicyDocument,
    ) -> DirectoryResult<PolicyDocument> {
        self.require(ctx, Permission::TenantSettings).await?;
        let version = self.store_policy(ctx, doc).await?;
        self.spawn_apply(ctx, version);
        self.current_document(&ctx.tenant).await
    }

    /// Store a checked document as the next version; the new version.
    pub(super) async fn store_policy(
        &self,
        ctx: &Ctx,
        doc: PolicyDocument,
    ) -> DirectoryResult<i64> {
        self.draft(&ctx.tenant, &doc)?;
        let mut stored = doc.clone();
        stored.version = 0;
        let text = serde_json::to_string(&stored)
            .map_err(|e| DirectoryError::Internal(format!("policy document: {e}")))?;
        let at = self.clock.now();
        let at_text = scim_protocol::datetime::format(at);
        let mut tx = self.store.write(&ctx.tenant).await?;
        let current = tx.policy_version().await?;
        if current != doc.version {
            tx.rollback().await?;
            return Err(DirectoryError::PreconditionFailed(format!(
                "the policy is at version {current}, not {}: read it again and redo the change",
                doc.version
            )));
        }
        if !tx
            .replace_policy(current, &text, &at_text, &ctx.actor)
            .await?
        {
            tx.rollback().await?;
            return Err(DirectoryError::PreconditionFailed(
                "the policy changed meanwhile: read it again and redo the change".into(),
            ));
        }
        let next = current + 1;
        let change = Change {
            at,
            audit: ctx.audit(
                "Tenant",
                None,
                Some(ctx.tenant.name.clone()),
                "policy_changed",
                format!(
                    "policy version {next}: {} roles, {} plans, {} rules",
                    doc.roles.len(),
                    doc.plans.len(),
                    doc.rules.len()
                ),
            ),
            event: Event {
                kind: "tenant.policy_changed".into(),
                object_id: None,
                payload: json!({"tenant": ctx.tenant.name, "version": next}),
            },
            extra_events: Vec::new(),
        };
        tx.record(&change).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Recompute every user of the tenant by its policy now, recording
    /// progress for `GET /admin/v1/policy/apply`. Returns how many changed.
    pub async fn apply_policy(
        &self,
        ctx: &Ctx,
        version: i64,
        report: &(dyn Fn(&PolicyApply) + Sync),
    ) -> DirectoryResult<usize> {
        let tenant = ctx.tenant.clone();
        let total = self.store.count_live_users(&tenant).await?;
        let started = scim_protocol::datetime::format(self.clock.now());
        let mut state = PolicyApply {
            version,
            state: "running".into(),
            users_done: 0,
            users_total: total,
            changed: 0,
            started: started.clone(),
            error: None,
        };
        self.set_apply(&tenant, state.clone());
        let applier = Applier {
            actor: ctx.actor.clone(),
            actor_user_id: ctx.actor_user_id.clone(),
            description: format!("effective access recomputed: policy version {version}"),
        };
        let progress = |done: i64, changed: usize| {
            let mut s = state.clone();
            s.users_done = done;
            s.changed = changed;
            report(&s);
            self.set_apply(&tenant, s);
        };
        let result = self.recompute_tenant(&tenant, &applier, &progress).await;
        match &result {
            Ok(n) => {
                state.users_done = total;
                state.changed = *n;
                state.state = "done".into();
                let fingerprint = self.policy_of(&tenant).await?.fingerprint(&tenant.name);
                self.store.set_policy_hash(&tenant, &fingerprint).await?;
            }
            Err(e) => {
                state.state = "failed".into();
                state.error = Some(e.to_string());
            }
        }
        report(&state);
        self.set_apply(&tenant, state);
        result
    }

    /// Store `doc` and apply it here and now (`rollcall policy apply`):
    /// the new version and how many users changed.
    pub async fn apply_document(
        &self,
        ctx: &Ctx,
        doc: PolicyDocument,
        report: &(dyn Fn(&PolicyApply) + Sync),
    ) -> DirectoryResult<(i64, usize)> {
        self.require(ctx, Permission::TenantSettings).await?;
        let version = self.store_policy(ctx, doc).await?;
        let changed = self.apply_policy(ctx, version, report).await?;
        Ok((version, changed))
    }

    fn spawn_apply(self: &Arc<Self>, ctx: &Ctx, version: i64) {
        let dir = self.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            match dir.apply_policy(&ctx, version, &|_| {}).await {
                Ok(n) => {
                    tracing::info!(tenant = %ctx.tenant.name, version, users = n, "policy applied")
                }
                Err(e) => {
                    tracing::error!(tenant = %ctx.tenant.name, version, error = %e, "policy apply stopped; the next start finishes it")
                }
            }
        });
    }

    fn set_apply(&self, tenant: &Tenant, state: PolicyApply) {
        if let Ok(mut a) = self.policies.applies.lock() {
            a.insert(tenant.id, state);
        }
    }

    /// `GET /admin/v1/policy/apply`: the latest apply this process ran for
    /// the tenant (404: none since it started).
    pub async fn policy_apply(&self, ctx: &Ctx) -> DirectoryResult<PolicyApply> {
        self.require(ctx, Permission::TenantSettings).await?;
        self.policies
            .applies
            .lock()
            .ok()
            .and_then(|a| a.get(&ctx.tenant.id).cloned())
            .ok_or_else(|| {
                DirectoryError::NotFound(
                    "no policy was applied here since this server started".into(),
                )
            })
    }
}
