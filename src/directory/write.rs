//! The write path of SCIM resources inside one transaction: insert, the
//! read-modify-write of PUT and PATCH, and group deletion. Each step is a
//! named function; the guards run in between; the audit row and the events
//! commit with the change.

use serde_json::{Map, Value};

use super::guards::{
    check_if_match, check_seat, check_unique, is_active_super_admin, resolve_members,
    SuperAdminGuard,
};
use super::recompute::AccessCause;
use super::{Directory, DirectoryError, DirectoryResult};
use crate::directory::access::UserFacts;
use crate::store::{group_facts, Access, Change, Event, StoredResource, Tx};
use scim_protocol::datetime;
use scim_protocol::patch::{MemberOp, MemberRef};
use scim_protocol::schema::Kind;
use scim_protocol::ScimError;

/// The result of computing an update from the current state.
pub(super) struct Update {
    pub data: Map<String, Value>,
    pub member_ops: Vec<MemberOp>,
    pub change: Change,
}

/// The resource after a read-modify-write, and whether anything was
/// written (an IdP retry that changes nothing writes nothing: the caller
/// rolls back, or releases its savepoint).
pub(super) struct Written {
    pub stored: StoredResource,
    pub changed: bool,
}

impl Written {
    /// Commit the single write `tx` made (or roll it back: nothing changed).
    pub(super) async fn finish(self, tx: Tx) -> DirectoryResult<StoredResource> {
        if self.changed {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(self.stored)
    }
}

/// What an update did to memberships and access, for the row write.
struct Effects {
    members_changed: u64,
    touched: Vec<String>,
    /// The user's effective access before and after.
    access_changed: Option<(Access, Access)>,
    events: Vec<Event>,
}

fn name_ci(kind: Kind, data: &Map<String, Value>) -> String {
    let key = match kind {
        Kind::User => "userName",
        Kind::Group => "displayName",
    };
    crate::store::fold(data.get(key).and_then(Value::as_str).unwrap_or_default())
}

/// Whether this stored user is an active super-admin right now (from the
/// columns read with it: no query).
fn stored_is_active_super_admin(r: &StoredResource) -> bool {
    let role = r
        .access
        .as_ref()
        .and_then(|a| a.get("role"))
        .and_then(|r| r.get("value"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    is_active_super_admin(role, r.status.as_deref().unwrap_or_default())
}

impl Directory {
    /// Insert a new resource (and, for groups, its members).
    pub(super) async fn insert_resource(
        &self,
        kind: Kind,
        tx: &mut Tx,
        id: &str,
        data: &Map<String, Value>,
        members: &[MemberRef],
        change: &Change,
    ) -> DirectoryResult<StoredResource> {
        check_unique(tx, kind, data, None).await?;
        let now = datetime::format(change.at);
        let mut events = Vec::new();
        let (pk, status, access) = match kind {
            Kind::User => {
                let local = Value::Object(Map::new());
                let access = self
                    .compute(
                        tx,
                        &UserFacts {
                            data,
                            local: &local,
                            groups: &[],
                            claims: None,
                        },
                    )
                    .await?;
                check_seat(tx, &access.user_type).await?;
                self.check_unique_emails(tx, None, data, None).await?;
                let (pk, status) = tx.insert_user(id, data, &access, &now).await?;
                (pk, Some(status), Some(access.explain))
            }
            Kind::Group => (tx.insert_group(id, data, &now).await?, None, None),
        };
        if kind == Kind::Group && !members.is_empty() {
            let ops = [MemberOp::Add(members.to_vec())];
            self.change_members(tx, pk, id, &ops, change, &mut events)
                .await?;
        }
        tx.record(change).await?;
        tx.record_events(change.at, &events).await?;
        Ok(StoredResource {
            pk,
            id: id.to_string(),
            data: data.clone(),
            version: 1,
            created: change.at,
            last_modified: change.at,
            status,
            access,
        })
    }

    /// Membership changes of a new group, with access recomputed for the
    /// users they reach when the group feeds role mapping.
    async fn change_members(
        &self,
        tx: &mut Tx,
        pk: i64,
        id: &str,
        ops: &[MemberOp],
        change: &Change,
        events: &mut Vec<Event>,
    ) -> DirectoryResult<()> {
        let matters = self.group_matters(tx, id, &[]).await?;
        let guard = SuperAdminGuard::before(tx, matters).await?;
        let changes = resolve_members(tx, id, ops).await?;
        let (_, touched) = tx.apply_member_changes(pk, &changes).await?;
        if matters {
            let users = tx.users_within(&touched).await?;
            let cause = AccessCause::of(change);
            self.recompute_users(tx, &users, &cause, events).await?;
            guard.check(tx).await?;
        }
        Ok(())
    }

    /// Read-modify-write one resource. `if_match` is checked against the
    /// current version; `f` computes the new state from the current one
    /// (`None`: nothing changes). Effective access is recomputed for the
    /// user, or for the members of a group whose membership or name feeds
    /// role mapping. The caller commits.
    pub(super) async fn update_resource<F>(
        &self,
        kind: Kind,
        tx: &mut Tx,
        id: &str,
        if_match: Option<&str>,
        f: F,
    ) -> DirectoryResult<Written>
    where
        F: FnOnce(&StoredResource) -> Result<Option<Update>, ScimError> + Send,
    {
        let current = tx
            .fetch(kind, id)
            .await?
            .ok_or_else(DirectoryError::resource_not_found)?;
        check_if_match(if_match, current.version)?;
        let unchanged = |stored| Written {
            stored,
            changed: false,
        };
        let Some(mut update) = f(&current)? else {
            return Ok(unchanged(current));
        };
        let group_matters = kind == Kind::Group
            && self
                .group_matters(
                    tx,
                    id,
                    &[group_facts(&current.data), group_facts(&update.data)],
                )
                .await?;
        // The last-super-admin guard counts before and after; only changes
        // that can lower the count pay for it: a user who is an active
        // super-admin now, or a group that feeds role mapping.
        let at_risk = match kind {
            Kind::User => stored_is_active_super_admin(&current),
            Kind::Group => group_matters,
        };
        let guard = SuperAdminGuard::before(tx, at_risk).await?;
        let mut effects = self.update_effects(kind, tx, &current, &update).await?;
        if effects.members_changed == 0
            && update.data == current.data
            && effects.access_changed.is_none()
        {
            // Nothing changed (an IdP retry): no version bump, no audit row.
            return Ok(unchanged(current));
        }
        if name_ci(kind, &update.data) != name_ci(kind, &current.data) {
            check_unique(tx, kind, &update.data, Some(current.pk)).await?;
        }
        if kind == Kind::User {
            self.user_update_guards(tx, &current, &update.data).await?;
        }
        let stored = self
            .write_update(kind, tx, &current, &update, &mut effects, group_matters)
            .await?;
        guard.check(tx).await?;
        update.change.extra_events.extend(effects.events);
        tx.record(&update.change).await?;
        Ok(Written {
            stored,
            changed: true,
        })
    }

    /// Membership changes (groups) and the new effective access (users).
    async fn update_effects(
        &self,
        kind: Kind,
        tx: &mut Tx,
        current: &StoredResource,
        update: &Update,
    ) -> DirectoryResult<Effects> {
        let mut effects = Effects {
            members_changed: 0,
            touched: Vec::new(),
            access_changed: None,
            events: Vec::new(),
        };
        match kind {
            Kind::Group => {
                let changes = resolve_members(tx, &current.id, &update.member_ops).await?;
                let (n, touched) = tx.apply_member_changes(current.pk, &changes).await?;
                effects.members_changed = n;
                effects.touched = touched;
            }
            Kind::User => {
                let row = tx.load_user_inputs(current.pk).await?;
                let groups = self.groups_for(tx, &current.id).await?;
                let access = self
                    .compute(
                        tx,
                        &UserFacts {
                            data: &update.data,
                            local: &row.local,
                            groups: &groups,
                            claims: row.claims.as_ref(),
                        },
                    )
                    .await?;
                if access != row.access {
                    effects.access_changed = Some((row.access, access));
                }
            }
        }
        Ok(effects)
    }

    /// Write the updated row (and, for a group that feeds role mapping,
    /// recompute the users it reaches).
    async fn write_update(
        &self,
        kind: Kind,
        tx: &mut Tx,
        current: &StoredResource,
        update: &Update,
        effects: &mut Effects,
        group_matters: bool,
    ) -> DirectoryResult<StoredResource> {
        let at = update.change.at;
        let now = datetime::format(at);
        let version = current.version + 1;
        let mut stored = StoredResource {
            pk: current.pk,
            id: current.id.clone(),
            data: update.data.clone(),
            version,
            created: current.created,
            last_modified: at,
            status: None,
            access: None,
        };
        match kind {
            Kind::User => {
                let (mut status, mut access) = if tx.defers_user_writes() {
                    // The row waits for the transaction's next statement
                    // (a Bulk chunk); its access is the one read with it.
                    tx.defer_user_data(current.pk, &current.data, &update.data, version, &now)
                        .await?;
                    (None, current.access.clone())
                } else {
                    let (status, access) = tx
                        .update_user_data(current.pk, &current.data, &update.data, version, &now)
                        .await?;
                    (Some(status), access)
                };
                tx.replace_user_values(current.pk, &current.data, &update.data)
                    .await?;
                if let Some((old, new)) = &effects.access_changed {
                    let cause = AccessCause::of(&update.change);
                    let events = self.store_access(tx, current.pk, &current.id, old, new, &cause);
                    effects.events.extend(events.await?);
                    let (s, a) = tx.user_status_access(current.pk).await?;
                    (status, access) = (Some(s), a);
                }
                stored.status = status;
                stored.access = access;
            }
            Kind::Group => {
                tx.update_group_data(current.pk, &update.data, version, &now)
                    .await?;
                let renamed = group_facts(&current.data) != group_facts(&update.data);
                if (renamed || !effects.touched.is_empty()) && group_matters {
                    // Members removed by this change need it as much as
                    // the ones that stay.
                    let mut ids = effects.touched.clone();
                    if renamed {
                        ids.push(current.id.clone());
                    }
                    let users = tx.users_within(&ids).await?;
                    let cause = AccessCause::of(&update.change);
                    self.recompute_users(tx, &users, &cause, &mut effects.events)
                        .await?;
                }
            }
        }
        Ok(stored)
    }

    /// Delete a group and every membership that names it (users are
    /// soft-deleted through `delete_user`). The caller commits.
    pub(super) async fn delete_group(
        &self,
        tx: &mut Tx,
        id: &str,
        if_match: Option<&str>,
        change: impl FnOnce(&StoredResource) -> Change + Send,
    ) -> DirectoryResult<()> {
        let kind = Kind::Group;
        let current = tx
            .fetch(kind, id)
            .await?
            .ok_or_else(DirectoryError::resource_not_found)?;
        check_if_match(if_match, current.version)?;
        let change = change(&current);
        // Members whose access may depend on this group.
        let matters = self
            .group_matters(tx, id, &[group_facts(&current.data)])
            .await?;
        let guard = SuperAdminGuard::before(tx, matters).await?;
        let affected = if matters {
            tx.users_within(&[id.to_string()]).await?
        } else {
            Vec::new()
        };
        self.detach_member(tx, id, kind, &change).await?;
        tx.delete_row(kind, current.pk).await?;
        let mut events = Vec::new();
        let cause = AccessCause::of(&change);
        self.recompute_users(tx, &affected, &cause, &mut events)
            .await?;
        guard.check(tx).await?;
        tx.record(&change).await?;
        tx.record_events(change.at, &events).await?;
        Ok(())
    }

    /// Remove `id` from every group that lists it: those groups change too
    /// (new version, an audit row and a `group.updated` event each).
    pub(super) async fn detach_member(
        &self,
        tx: &mut Tx,
        id: &str,
        kind: Kind,
        change: &Change,
    ) -> DirectoryResult<Vec<String>> {
        let parents = tx.detach_member(id, &datetime::format(change.at)).await?;
        for parent in &parents {
            let event = group_change(
                change,
                parent,
                format!("member {id} removed: the {} was deleted", kind.name()),
                serde_json::json!({"id": parent, "removedMember": id}),
            );
            tx.record(&event).await?;
        }
        Ok(parents)
    }
}

/// The audit row and event of a group touched by a change to one of its
/// members (a deletion or a restore).
pub(super) fn group_change(
    base: &Change,
    group_id: &str,
    description: String,
    payload: Value,
) -> Change {
    Change {
        at: base.at,
        audit: crate::store::AuditEntry {
            object_type: "Group".into(),
            object_id: Some(group_id.to_string()),
            object_name: None,
            action: "updated".into(),
            description,
            details: None,
            ..base.audit.clone()
        },
        event: Event {
            kind: "group.updated".into(),
            object_id: Some(group_id.to_string()),
            payload,
        },
        extra_events: Vec::new(),
    }
}
