//! Effective access, kept current inside the write that changes one of its
//! inputs: a user's data or local settings, a membership, a group's name,
//! the configuration. The policy (`access.rs`) computes; this file feeds it
//! from the transaction, writes the result and reports the change as
//! events.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::guards::check_seat;
use super::{Directory, DirectoryResult};
use crate::directory::access::UserFacts;
use crate::store::{Access, AuditEntry, Event, GroupFacts, Tenant, Tx, UserRow};

/// Users recomputed per transaction after a configuration change.
const RECONCILE_BATCH: i64 = 500;

impl Directory {
    fn uses_groups(&self, tenant: &Tenant) -> bool {
        self.config.policy.uses_groups(&tenant.name)
    }

    /// Effective access from these inputs.
    pub(super) fn compute(&self, tenant: &Tenant, facts: &UserFacts<'_>) -> Access {
        self.config.policy.compute(&tenant.name, facts)
    }

    /// The groups role mapping looks at for a user: none when no rule of the
    /// tenant is about groups (no query then).
    pub(super) async fn groups_for(
        &self,
        tx: &mut Tx,
        user_id: &str,
    ) -> DirectoryResult<Vec<GroupFacts>> {
        if self.uses_groups(tx.tenant()) {
            Ok(tx.ancestor_facts(user_id).await?)
        } else {
            Ok(Vec::new())
        }
    }

    /// A stored user's row and the effective access its stored inputs give
    /// now (its data, local settings and groups).
    pub(super) async fn compute_access(
        &self,
        tx: &mut Tx,
        pk: i64,
        id: &str,
    ) -> DirectoryResult<(UserRow, Access)> {
        let row = tx.load_user_row(pk).await?;
        let groups = self.groups_for(tx, id).await?;
        let access = self.compute(
            tx.tenant(),
            &UserFacts {
                data: &row.data,
                local: &row.local,
                groups: &groups,
                claims: row.claims.as_ref(),
            },
        );
        Ok((row, access))
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
        if !self.uses_groups(&tenant) {
            return Ok(false);
        }
        let policy = &self.config.policy;
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
    /// one (a seat is checked when the type changes); the events it makes.
    pub(super) async fn store_access(
        &self,
        tx: &mut Tx,
        pk: i64,
        id: &str,
        old: &Access,
        new: &Access,
    ) -> DirectoryResult<Vec<Event>> {
        if new == old {
            return Ok(Vec::new());
        }
        if new.user_type != old.user_type {
            check_seat(tx, &new.user_type).await?;
        }
        tx.write_access(pk, new).await?;
        Ok(access_events(id, old, new))
    }

    /// Recompute the effective access of these users (by id); changed ones
    /// get a new version and `user.role_changed`-style events.
    pub(super) async fn recompute_users(
        &self,
        tx: &mut Tx,
        ids: &[String],
        at: OffsetDateTime,
        events: &mut Vec<Event>,
    ) -> DirectoryResult<()> {
        let at_text = scim_protocol::datetime::format(at);
        for id in ids {
            let Some(pk) = tx.live_user_pk(id).await? else {
                continue;
            };
            let (row, access) = self.compute_access(tx, pk, id).await?;
            if access == row.access {
                continue;
            }
            events.extend(self.store_access(tx, pk, id, &row.access, &access).await?);
            tx.bump_user(pk, &at_text).await?;
        }
        Ok(())
    }

    /// Recompute every live user's effective access when the policy's
    /// fingerprint for the tenant changed (config edited between starts).
    /// Batches of 500 users per transaction; each changed user gets an audit
    /// row and its `user.role_changed`-style events. Returns how many changed.
    pub async fn reconcile_access(&self, tenant: &Tenant) -> DirectoryResult<usize> {
        let fingerprint = self.config.policy.fingerprint(&tenant.name);
        if self.store.policy_hash(tenant).await?.as_deref() == Some(fingerprint.as_str()) {
            return Ok(0);
        }
        let at = self.clock.now();
        let mut after = 0i64;
        let mut changed = 0usize;
        loop {
            let mut tx = self.store.write(tenant).await?;
            let rows = tx.live_users_after(after, RECONCILE_BATCH).await?;
            let Some(last) = rows.last() else {
                tx.commit().await?;
                break;
            };
            after = last.0;
            let ids: Vec<String> = rows.into_iter().map(|(_, id)| id).collect();
            changed += self.reconcile_batch(&mut tx, &ids, at).await?;
            tx.commit().await?;
        }
        self.store.set_policy_hash(tenant, &fingerprint).await?;
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
    ) -> DirectoryResult<usize> {
        let mut events = Vec::new();
        self.recompute_users(tx, ids, at, &mut events).await?;
        let mut seen = std::collections::HashSet::new();
        for e in &events {
            let Some(id) = &e.object_id else { continue };
            if !seen.insert(id.clone()) {
                continue;
            }
            let audit = AuditEntry {
                actor: "rollcall:config".into(),
                object_type: "User".into(),
                object_id: Some(id.clone()),
                action: "access_recomputed".into(),
                description: "effective access recomputed: the directory configuration changed"
                    .into(),
                ..AuditEntry::default()
            };
            tx.record_audit(at, &audit).await?;
        }
        tx.record_events(at, &events).await?;
        Ok(seen.len())
    }
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
    out
}
