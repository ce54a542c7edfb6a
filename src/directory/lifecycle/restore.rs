//! Restore: a deleted user comes back before the purge (same id, data and
//! the groups that still exist; a pending transfer is cancelled).

use serde_json::{json, Value};

use super::super::guards::{check_seat, check_unique};
use super::super::recompute::AccessCause;
use super::super::write::group_change;
use super::super::{Directory, DirectoryResult};
use super::delete::deleted_user;
use super::successor::DELETION;
use crate::store::{Change, Tx, UserRecord};
use scim_protocol::datetime;
use scim_protocol::schema::Kind;

impl Directory {
    /// Bring back the soft-deleted user `id` in `tx`.
    pub(crate) async fn restore_user(
        &self,
        tx: &mut Tx,
        id: &str,
        check: impl FnOnce(&UserRecord) -> DirectoryResult<()> + Send,
        change: Change,
    ) -> DirectoryResult<String> {
        let user = deleted_user(tx, id).await?;
        check(&user)?;
        check_unique(tx, Kind::User, &user.data, Some(user.pk)).await?;
        self.check_unique_emails(tx, None, &user.data, Some(user.pk))
            .await?;
        check_seat(tx, &user.user_type).await?;
        let at = datetime::format(change.at);
        tx.cancel_transfers(&user.id, DELETION, false, &at).await?;
        for g in former_groups(&user) {
            if tx.readd_member(&g, &user.id, &at).await? {
                let c = group_change(
                    &change,
                    &g,
                    format!("member {} restored", user.id),
                    json!({"id": g, "restoredMember": user.id}),
                );
                tx.record(&c).await?;
            }
        }
        tx.undelete(user.pk, &at).await?;
        let (row, access) = self.compute_access(tx, user.pk, &user.id).await?;
        let cause = AccessCause::of(&change);
        let events = self
            .store_access(tx, user.pk, &user.id, &row.access, &access, &cause)
            .await?;
        tx.record(&change).await?;
        tx.record_events(change.at, &events).await?;
        Ok(user.id)
    }
}

/// The groups a deleted user was in (kept in its deletion record).
fn former_groups(user: &UserRecord) -> Vec<String> {
    user.deletion
        .as_ref()
        .and_then(|d| d.get("groups"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
