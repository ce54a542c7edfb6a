//! Effective access, kept current inside the write that changes one of its
//! inputs: a user's data or local settings, a membership, a group's name,
//! the configuration. The policy (`access.rs`) computes; this file feeds it
//! from the transaction, writes the result and reports the change as
//! events.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::guards::check_seat;
use super::{Directory, DirectoryResult};
use crate::directory::access::{Policy, UserFacts};
use crate::store::{Access, AuditEntry, Change, Event, GroupFacts, Tenant, Tx, UserRow};

/// Users recomputed per transaction after a configuration change.
pub(super) const RECONCILE_BATCH: i64 = 500;

impl Directory {
    /// Effective access from these inputs, by the tenant's policy as this
    /// transaction sees it.
    pub(super) async fn compute(
        &self,
        tx: &mut Tx,
        facts: &UserFacts<'_>,
    ) -> DirectoryResult<Access> {
        let policy = self.policy_in(tx).await?;
        Ok(policy.compute(&tx.tenant().name, facts))
    }

    /// The groups role mapping looks at for a user: none when no rule of the
    /// tenant is about groups (no query then).
    pub(super) async fn groups_for(
        &self,
        tx: &mut Tx,
        user_id: &str,
    ) -> DirectoryResult<Vec<GroupFacts>> {
        let policy = self.policy_in(tx).await?;
        groups_with(&policy, tx, user_id).await
    }

    /// A stored user's row and the effective access its stored inputs give
    /// now (its data, local settings and groups).
    pub(super) async fn compute_access(
        &self,
        tx: &mut Tx,
        pk: i64,
        id: &str,
    ) -> DirectoryResult<(UserRow, Access)> {
        let policy = self.policy_in(tx).await?;
        compute_access_with(&policy, tx, pk, id).await
    }

    /// Whether group `id` (or a group containing it) feeds role mapping;
    /// `also` adds facts the group had before this change.
    pub(super) async fn group_matters(
        &self,
        tx: &mut Tx,
        id: &str,
        also: &[GroupFacts],
    ) -> DirectoryResult<bool> {
        let tenant = tx.tenant().clone();
        let policy = self.policy_in(tx).await?;
        if !policy.uses_groups(&tenant.name) {
            return Ok(false);
        }
        if also.iter().any(|g| policy.group_matters(&tenant.name, g)) {
            return Ok(true);
        }
        Ok(tx
            .ancestor_facts(id)
            .await?
            .iter()
            .any(|g| policy.group_matters(&tenant.name, g)))
    }

    /// Write a user's newly computed access when it differs from the stored
    /// one; the events it makes. Every change of a live user's effective
    /// access, by any door, comes through here: when the type changes a
    /// seat is checked, and a user who became a viewer hands over their
    /// assets (`lifecycle/handover.rs`).
    pub(super) async fn store_access(
        &self,
        tx: &mut Tx,
        pk: i64,
        id: &str,
        old: &Access,
        new: &Access,
        cause: &AccessCause<'_>,
    ) -> DirectoryResult<Vec<Event>> {
        if new == old {
            return Ok(Vec::new());
        }
        let retyped = new.user_type != old.user_type;
        if retyped {
            check_seat(tx, &new.user_type).await?;
        }
        tx.write_access(pk, new).await?;
        let mut events = access_events(id, old, new);
        if retyped {
            events.extend(self.type_changed(tx, id, &new.user_type, cause).await?);
        }
        Ok(events)
    }

    /// Recompute the effective access of these users (by id); changed ones
    /// get a new version and `user.role_changed`-style events.
    pub(super) async fn recompute_users(
        &self,
        tx: &mut Tx,
        ids: &[String],
        cause: &AccessCause<'_>,
        events: &mut Vec<Event>,
    ) -> DirectoryResult<()> {
        let policy = self.policy_in(tx).await?;
        self.recompute_with(&policy, tx, ids, cause, events).await?;
        Ok(())
    }

    /// [`Directory::recompute_users`] under `policy`; the users whose type,
    /// role, plan or project roles changed, with before and after.
    async fn recompute_with(
        &self,
        policy: &Policy,
        tx: &mut Tx,
        ids: &[String],
        cause: &AccessCause<'_>,
        events: &mut Vec<Event>,
    ) -> DirectoryResult<Vec<(String, AccessSummary, AccessSummary)>> {
        let at_text = scim_protocol::datetime::format(cause.at);
        let mut changed = Vec::new();
        for id in ids {
            let Some(pk) = tx.live_user_pk(id).await? else {
                continue;
            };
            let (row, access) = compute_access_with(policy, tx, pk, id).await?;
            if access == row.access {
                continue;
            }
            let (before, after) = (AccessSummary::of(&row.access), AccessSummary::of(&access));
            if before != after {
                changed.push((id.clone(), before, after));
            }
            let stored = self.store_access(tx, pk, id, &row.access, &access, cause);
            events.extend(stored.await?);
            tx.bump_user(pk, &at_text).await?;
        }
        Ok(changed)
    }

    /// Recompute every live user's effective access when the policy's
    /// fingerprint for the tenant changed (config edited between starts, or
    /// a policy apply cut short). Returns how many users changed.
    pub async fn reconcile_access(&self, tenant: &Tenant) -> DirectoryResult<usize> {
        let fingerprint = self.policy_of(tenant).await?.fingerprint(&tenant.name);
        if self.store.policy_hash(tenant).await?.as_deref() == Some(fingerprint.as_str()) {
            return Ok(0);
        }
        let applier = Applier {
            actor: "rollcall:config".into(),
            actor_user_id: None,
            description: "effective access recomputed: the directory configuration changed".into(),
        };
        let changed = self.recompute_tenant(tenant, &applier, &|_, _| {}).await?;
        self.store.set_policy_hash(tenant, &fingerprint).await?;
        Ok(changed)
    }

    /// Recompute every live user of `tenant` by its policy now, in batches
    /// of 500 users per transaction; each user whose type, role, plan or
    /// project roles changed gets an audit row by `applier` and its events.
    /// `progress(users seen, users changed)` after each batch.
    pub(super) async fn recompute_tenant(
        &self,
        tenant: &Tenant,
        applier: &Applier,
        progress: &(dyn Fn(i64, usize) + Sync),
    ) -> DirectoryResult<usize> {
        let at = self.clock.now();
        let (mut after, mut seen, mut changed) = (0i64, 0i64, 0usize);
        loop {
            let mut tx = self.store.write(tenant).await?;
            let rows = tx.live_users_after(after, RECONCILE_BATCH).await?;
            let Some(last) = rows.last() else {
                tx.commit().await?;
                break;
            };
            after = last.0;
            seen += i64::try_from(rows.len()).unwrap_or(0);
            let ids: Vec<String> = rows.into_iter().map(|(_, id)| id).collect();
            changed += self.reconcile_batch(&mut tx, &ids, at, applier).await?;
            tx.commit().await?;
            progress(seen, changed);
        }
        Ok(changed)
    }

    /// [`Directory::reconcile_access`] for every tenant (at start).
    pub async fn reconcile_all(&self) -> DirectoryResult<()> {
        for tenant in self.store.tenants().await? {
            let n = self.reconcile_access(&tenant).await?;
            if n > 0 {
                tracing::info!(tenant = %tenant.name, users = n, "effective access recomputed after a configuration change");
            }
        }
        Ok(())
    }

    async fn reconcile_batch(
        &self,
        tx: &mut Tx,
        ids: &[String],
        at: OffsetDateTime,
        applier: &Applier,
    ) -> DirectoryResult<usize> {
        let policy = self.policy_in(tx).await?;
        let mut events = Vec::new();
        let by = AuditEntry {
            actor: applier.actor.clone(),
            actor_user_id: applier.actor_user_id.clone(),
            ..AuditEntry::default()
        };
        let cause = AccessCause {
            at,
            audit: &by,
            successor: None,
        };
        let changed = self
            .recompute_with(&policy, tx, ids, &cause, &mut events)
            .await?;
        for (id, before, after) in &changed {
            let audit = AuditEntry {
                actor: applier.actor.clone(),
                actor_user_id: applier.actor_user_id.clone(),
                object_type: "User".into(),
                object_id: Some(id.clone()),
                action: "access_recomputed".into(),
                description: format!("{}: {}", applier.description, before.diff(after)),
                ..AuditEntry::default()
            };
            tx.record_audit(at, &audit).await?;
        }
        tx.record_events(at, &events).await?;
        Ok(changed.len())
    }
}

/// What changes a user's access: when, who (the change's audit row: its
/// actor, request and job), and the successor an admin named for the
/// user's assets should the change make them a viewer.
pub(super) struct AccessCause<'a> {
    pub(super) at: OffsetDateTime,
    pub(super) audit: &'a AuditEntry,
    pub(super) successor: Option<&'a str>,
}

impl<'a> AccessCause<'a> {
    /// The cause a change's record gives (no successor named).
    pub(super) fn of(change: &'a Change) -> Self {
        AccessCause {
            at: change.at,
            audit: &change.audit,
            successor: None,
        }
    }
}

/// Who recomputes a tenant's access, for the audit trail.
pub(super) struct Applier {
    pub(super) actor: String,
    pub(super) actor_user_id: Option<String>,
    pub(super) description: String,
}

/// What a policy change can change about a user: type, role, plan and
/// project roles (the explanation aside).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AccessSummary {
    /// `user` or `viewer`.
    #[serde(rename = "type")]
    pub user_type: String,
    pub role: String,
    pub plan: Option<String>,
    /// Project → project role.
    pub projects: std::collections::BTreeMap<String, String>,
}

impl AccessSummary {
    pub(super) fn of(a: &Access) -> AccessSummary {
        let projects = a
            .explain
            .get("projects")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(p, v)| {
                let role = v.get("role").and_then(Value::as_str)?;
                Some((p.clone(), role.to_string()))
            })
            .collect();
        AccessSummary {
            user_type: a.user_type.clone(),
            role: a.role.clone(),
            plan: a.plan.clone(),
            projects,
        }
    }

    /// "role member → admin, plan free → pro" …
    pub(super) fn diff(&self, to: &AccessSummary) -> String {
        let mut out = Vec::new();
        if self.user_type != to.user_type {
            out.push(format!("type {} → {}", self.user_type, to.user_type));
        }
        if self.role != to.role {
            out.push(format!("role {} → {}", self.role, to.role));
        }
        if self.plan != to.plan {
            let p = |x: &Option<String>| x.clone().unwrap_or_else(|| "none".into());
            out.push(format!("plan {} → {}", p(&self.plan), p(&to.plan)));
        }
        if self.projects != to.projects {
            out.push(format!(
                "project roles {:?} → {:?}",
                self.projects, to.projects
            ));
        }
        out.join(", ")
    }
}

/// The groups role mapping looks at for a user under `policy`.
pub(super) async fn groups_with(
    policy: &Policy,
    tx: &mut Tx,
    user_id: &str,
) -> DirectoryResult<Vec<GroupFacts>> {
    if policy.uses_groups(&tx.tenant().name) {
        Ok(tx.ancestor_facts(user_id).await?)
    } else {
        Ok(Vec::new())
    }
}

/// A stored user's row and the effective access `policy` gives it.
pub(super) async fn compute_access_with(
    policy: &Policy,
    tx: &mut Tx,
    pk: i64,
    id: &str,
) -> DirectoryResult<(UserRow, Access)> {
    let row = tx.load_user_row(pk).await?;
    let groups = groups_with(policy, tx, id).await?;
    let access = policy.compute(
        &tx.tenant().name,
        &UserFacts {
            data: &row.data,
            local: &row.local,
            groups: &groups,
            claims: row.claims.as_ref(),
        },
    );
    Ok((row, access))
}

/// Events for a change of effective access.
pub(super) fn access_events(id: &str, old: &Access, new: &Access) -> Vec<Event> {
    let mut out = Vec::new();
    let mut push = |kind: &str, from: Value, to: Value| {
        out.push(Event {
            kind: kind.to_string(),
            object_id: Some(id.to_string()),
            payload: json!({"id": id, "from": from, "to": to}),
        })
    };
    if old.role != new.role {
        push(
            "user.role_changed",
            old.role.clone().into(),
            new.role.clone().into(),
        );
    }
    if old.user_type != new.user_type {
        push(
            "user.type_changed",
            old.user_type.clone().into(),
            new.user_type.clone().into(),
        );
    }
    if old.plan != new.plan {
        push(
            "user.plan_changed",
            old.plan.clone().into(),
            new.plan.clone().into(),
        );
    }
    let (was, now) = (AccessSummary::of(old), AccessSummary::of(new));
    if was.projects != now.projects {
        push(
            "user.project_roles_changed",
            json!(was.projects),
            json!(now.projects),
        );
    }
    out
}
