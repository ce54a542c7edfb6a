//! The facts a tenant's modes need: its owner and its re-create choice
//! (columns of the tenants row), who else holds an email, and the deleted
//! users an identity provider may be creating again.

use sqlx::AnyConnection;

use super::rows::{row_to_user, USER_COLUMNS};
use super::sql::{fetch_all, Bind, SqlFrag};
use super::{Store, StoreError, StoreResult, Tenant, Tx, UserRecord};

/// The run-time modes stored on the tenants row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredModes {
    /// The owner's user id, once set.
    pub owner: Option<String>,
    /// `hold` or `restore`, when an admin chose.
    pub recreate_deleted: Option<String>,
}

impl Store {
    pub async fn stored_modes(&self, tenant: &Tenant) -> StoreResult<StoredModes> {
        read_modes(&mut *self.read.acquire().await?, tenant).await
    }
}

/// The tenant row's modes, on a pool's connection or inside a write.
async fn read_modes(conn: &mut AnyConnection, tenant: &Tenant) -> StoreResult<StoredModes> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT owner, recreate_deleted FROM tenants WHERE id = $1")
            .bind(tenant.id)
            .fetch_optional(conn)
            .await?;
    let (owner, recreate_deleted) =
        row.ok_or_else(|| StoreError::Corrupt(format!("tenant {} vanished", tenant.name)))?;
    Ok(StoredModes {
        owner,
        recreate_deleted,
    })
}

impl Tx {
    /// The modes stored on the tenant's row, read inside the write.
    pub async fn stored_modes(&mut self) -> StoreResult<StoredModes> {
        if let Some(m) = &self.memo.modes {
            return Ok(m.clone());
        }
        let tenant = self.tenant().clone();
        let modes = read_modes(self.conn().await?, &tenant).await?;
        self.memo.modes = Some(modes.clone());
        Ok(modes)
    }

    /// Make user `user_id` the tenant's owner.
    pub async fn set_owner(&mut self, user_id: &str) -> StoreResult<()> {
        self.memo.modes = None;
        let tid = self.tid();
        sqlx::query("UPDATE tenants SET owner = $1 WHERE id = $2")
            .bind(user_id)
            .bind(tid)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// Set (or with None clear) the re-create choice.
    pub async fn set_recreate_deleted(&mut self, choice: Option<&str>) -> StoreResult<()> {
        self.memo.modes = None;
        let tid = self.tid();
        sqlx::query("UPDATE tenants SET recreate_deleted = $1 WHERE id = $2")
            .bind(choice)
            .bind(tid)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }

    /// A live user, other than `except_pk`, with one of these folded
    /// emails: its id and the folded email.
    pub async fn email_holder(
        &mut self,
        folded: &[String],
        except_pk: Option<i64>,
    ) -> StoreResult<Option<(String, String)>> {
        let mut f = SqlFrag::new();
        f.sql("SELECT u.id, v.value_ci FROM user_values v JOIN users u ON u.pk = v.user_pk WHERE v.tenant_id = ")
            .int(self.tid())
            .sql(" AND v.attr = 'emails' AND v.value_ci IN (")
            .bind_list(folded.iter().cloned().map(Bind::Text))
            .sql(") AND u.deleted_at IS NULL AND u.pk <> ")
            .int(except_pk.unwrap_or(-1))
            .sql(" ORDER BY u.pk LIMIT 1");
        let rows = fetch_all(self.conn().await?, f).await?;
        match rows.first() {
            Some(r) => {
                use sqlx::Row;
                Ok(Some((r.try_get("id")?, r.try_get("value_ci")?)))
            }
            None => Ok(None),
        }
    }

    /// Deleted users not yet purged whose `externalId` is `external_id`
    /// (exactly) or who had one of these folded emails, the latest
    /// deletion first.
    pub async fn deleted_matching(
        &mut self,
        external_id: Option<&str>,
        folded: &[String],
    ) -> StoreResult<Vec<UserRecord>> {
        let known_clear = self
            .create_run
            .as_ref()
            .is_some_and(|r| r.no_deleted_match(external_id, folded));
        if known_clear || (external_id.is_none() && folded.is_empty()) {
            return Ok(Vec::new());
        }
        let tid = self.tid();
        let mut f = SqlFrag::new();
        f.sql(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = "
        ))
        .int(tid)
        .sql(" AND deleted_at IS NOT NULL AND (1=0");
        if let Some(e) = external_id {
            f.sql(" OR external_id = ").text(e);
        }
        if !folded.is_empty() {
            f.sql(" OR pk IN (SELECT user_pk FROM user_values WHERE tenant_id = ")
                .int(tid)
                .sql(" AND attr = 'emails' AND value_ci IN (")
                .bind_list(folded.iter().cloned().map(Bind::Text))
                .sql("))");
        }
        f.sql(") ORDER BY deleted_at DESC, pk DESC LIMIT 20");
        fetch_all(self.conn().await?, f)
            .await?
            .iter()
            .map(row_to_user)
            .collect()
    }
}
