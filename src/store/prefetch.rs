//! Users read ahead for a run of writes in one transaction (a Bulk chunk's
//! PUTs and PATCHes): one statement reads every user the run names, with
//! the inputs access computation needs, instead of two statements per
//! operation. An entry is handed out once: [`Tx::fetch`] takes the user,
//! and the [`Tx::load_user_inputs`] that follows for the same user takes
//! its inputs; a second read of the same user goes to the database, so it
//! sees the first write. Whoever runs another kind of write in between
//! calls [`Tx::forget_prefetched`] first.

use std::collections::HashMap;

use sqlx::{Any, Row};

use super::access::UserInputs;
use super::pending::MAX_BINDINGS;
use super::rows::{parse_json, resource_columns, row_to_resource};
use super::{Access, StoreResult, StoredResource, Tx};

/// Ids one statement reads at most.
const PER_STATEMENT: usize = MAX_BINDINGS - 1;

/// What a transaction read ahead and has not handed out yet.
#[derive(Debug, Default)]
pub(super) struct Prefetched {
    /// Live users by id, with their access inputs.
    users: HashMap<String, (StoredResource, UserInputs)>,
    /// The inputs of the user [`Tx::fetch`] handed out last.
    inputs_of: Option<(i64, UserInputs)>,
}

impl Prefetched {
    /// The prefetched user `id`, if it was read ahead and not handed out.
    pub(super) fn take_user(&mut self, id: &str) -> Option<StoredResource> {
        match self.users.remove(id) {
            Some((stored, inputs)) => {
                self.inputs_of = Some((stored.pk, inputs));
                Some(stored)
            }
            None => {
                self.inputs_of = None;
                None
            }
        }
    }

    /// The inputs of user `pk` when it is the one handed out last.
    pub(super) fn take_inputs(&mut self, pk: i64) -> Option<UserInputs> {
        match self.inputs_of.take() {
            Some((p, inputs)) if p == pk => Some(inputs),
            _ => None,
        }
    }
}

impl Tx {
    /// Read the live users among `ids` (of this tenant) ahead, with their
    /// access inputs. Ids that name no live user are simply not held.
    pub async fn prefetch_users(&mut self, ids: &[&str]) -> StoreResult<()> {
        let tid = self.tid();
        for part in ids.chunks(PER_STATEMENT) {
            // The ids as a table the users are joined to (`CROSS JOIN`
            // keeps it the outer loop): with `id IN (…)`, SQLite's planner
            // walked every live user by the (tenant, deleted_at) index.
            let sql = format!(
                "SELECT {}, local_access, user_type, role, plan, claims
                 FROM (VALUES {}) AS k CROSS JOIN users
                 WHERE users.tenant_id = $1 AND users.deleted_at IS NULL AND users.id = k.column1",
                resource_columns(scim_protocol::schema::Kind::User, "users."),
                rows_of_one(2, part.len())
            );
            let mut q = sqlx::query::<Any>(&sql)
                .persistent(part.len() == PER_STATEMENT)
                .bind(tid);
            for id in part {
                q = q.bind(*id);
            }
            let rows = q.fetch_all(self.conn().await?).await?;
            for row in &rows {
                let stored = row_to_resource(row)?;
                let inputs = UserInputs {
                    local: parse_json(&row.try_get::<String, _>("local_access")?)?,
                    access: Access {
                        user_type: row.try_get("user_type")?,
                        role: row.try_get("role")?,
                        rank: 0,
                        plan: row.try_get("plan")?,
                        explain: parse_json(&row.try_get::<String, _>("access")?)?,
                    },
                    claims: row
                        .try_get::<Option<String>, _>("claims")?
                        .as_deref()
                        .map(parse_json)
                        .transpose()?,
                };
                self.prefetched
                    .users
                    .insert(stored.id.clone(), (stored, inputs));
            }
        }
        Ok(())
    }

    /// Drop what was read ahead (users, or a run of creates' keys): a
    /// write that may change those users comes next.
    pub fn forget_prefetched(&mut self) {
        self.prefetched = Prefetched::default();
        self.create_run = None;
    }
}

/// `($first), ($first+1), …`: `n` rows of one value, for `VALUES`.
pub(super) fn rows_of_one(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("(${i})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, $first+1, …` for `n` values.
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn user(pk: i64, id: &str) -> StoredResource {
        StoredResource {
            pk,
            id: id.into(),
            data: serde_json::Map::new(),
            version: 1,
            created: time::OffsetDateTime::UNIX_EPOCH,
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
            status: None,
            access: None,
        }
    }

    fn inputs(role: &str) -> UserInputs {
        UserInputs {
            local: serde_json::json!({}),
            access: Access {
                user_type: "user".into(),
                role: role.into(),
                rank: 0,
                plan: None,
                explain: serde_json::json!({}),
            },
            claims: None,
        }
    }

    #[test]
    fn an_entry_is_handed_out_once_and_its_inputs_only_to_the_next_read_of_it() {
        let mut p = Prefetched::default();
        p.users.insert("a".into(), (user(1, "a"), inputs("ra")));
        p.users.insert("b".into(), (user(2, "b"), inputs("rb")));
        assert_eq!(p.take_user("a").map(|s| s.pk), Some(1));
        // Another user's inputs are not these.
        assert!(p.take_inputs(2).is_none());
        // Taken by the fetch that read it, and by it only.
        assert!(p.take_user("a").is_none());
        assert!(p.take_inputs(1).is_none());
        assert_eq!(p.take_user("b").map(|s| s.pk), Some(2));
        assert_eq!(p.take_inputs(2).map(|i| i.access.role), Some("rb".into()));
        assert!(p.take_inputs(2).is_none());
    }

    #[test]
    fn a_read_of_a_user_not_held_forgets_the_inputs_of_the_one_before() {
        let mut p = Prefetched::default();
        p.users.insert("a".into(), (user(1, "a"), inputs("ra")));
        assert!(p.take_user("a").is_some());
        assert!(p.take_user("zz").is_none());
        assert!(p.take_inputs(1).is_none());
    }

    #[test]
    fn placeholders_number_from_the_first() {
        assert_eq!(rows_of_one(2, 2), "($2), ($3)");
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 1), "$1");
    }
}
