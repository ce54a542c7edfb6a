//! A tenant's policy document (`tenant_policies`) and its applied versions
//! (`policy_versions`). The store keeps text and versions; the directory
//! parses, validates and decides.

use super::{Store, StoreResult, Tenant, Tx};

/// A stored policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub version: i64,
    pub document: String,
    pub updated_at: String,
    pub updated_by: String,
}

type Row = (i64, String, String, String);

fn row((version, document, updated_at, updated_by): Row) -> PolicyRow {
    PolicyRow {
        version,
        document,
        updated_at,
        updated_by,
    }
}

const SELECT: &str =
    "SELECT version, document, updated_at, updated_by FROM tenant_policies WHERE tenant_id = $1";

impl Store {
    /// The tenant's stored policy; none: it follows the configuration.
    pub async fn policy_row(&self, tenant: &Tenant) -> StoreResult<Option<PolicyRow>> {
        let r: Option<Row> = sqlx::query_as(SELECT)
            .bind(tenant.id)
            .fetch_optional(&mut *self.read.acquire().await?)
            .await?;
        Ok(r.map(row))
    }

    /// The stored policy's version (0: none stored), one indexed read.
    pub async fn policy_version(&self, tenant: &Tenant) -> StoreResult<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT version FROM tenant_policies WHERE tenant_id = $1")
                .bind(tenant.id)
                .fetch_optional(&mut *self.read.acquire().await?)
                .await?;
        Ok(v.unwrap_or(0))
    }
}

impl Tx {
    /// The stored policy's version inside this transaction (0: none).
    pub async fn policy_version(&mut self) -> StoreResult<i64> {
        if let Some(v) = self.memo.policy_version {
            return Ok(v);
        }
        let tid = self.tid();
        let v: Option<i64> =
            sqlx::query_scalar("SELECT version FROM tenant_policies WHERE tenant_id = $1")
                .bind(tid)
                .fetch_optional(self.conn().await?)
                .await?;
        let v = v.unwrap_or(0);
        self.memo.policy_version = Some(v);
        Ok(v)
    }

    /// The stored policy inside this transaction.
    pub async fn policy_row(&mut self) -> StoreResult<Option<PolicyRow>> {
        let tid = self.tid();
        let r: Option<Row> = sqlx::query_as(SELECT)
            .bind(tid)
            .fetch_optional(self.conn().await?)
            .await?;
        Ok(r.map(row))
    }

    /// Store `document` as version `expected + 1` if the stored version is
    /// still `expected` (0: none stored yet); false when another change
    /// came first. Keeps the version in `policy_versions`.
    pub async fn replace_policy(
        &mut self,
        expected: i64,
        document: &str,
        at: &str,
        actor: &str,
    ) -> StoreResult<bool> {
        self.memo.policy_version = None;
        let tid = self.tid();
        let next = expected + 1;
        let changed = if expected == 0 {
            sqlx::query(
                "INSERT INTO tenant_policies (tenant_id, version, document, updated_at, updated_by)
                 VALUES ($1, 1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tid)
            .bind(document)
            .bind(at)
            .bind(actor)
            .execute(self.conn().await?)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE tenant_policies SET version = $1, document = $2, updated_at = $3, updated_by = $4
                  WHERE tenant_id = $5 AND version = $6",
            )
            .bind(next)
            .bind(document)
            .bind(at)
            .bind(actor)
            .bind(tid)
            .bind(expected)
            .execute(self.conn().await?)
            .await?
            .rows_affected()
        };
        if changed != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO policy_versions (tenant_id, version, document, created_at, actor)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tid)
        .bind(next)
        .bind(document)
        .bind(at)
        .bind(actor)
        .execute(self.conn().await?)
        .await?;
        Ok(true)
    }
}
