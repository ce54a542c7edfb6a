//! Effective-access rows: what access computation reads (a user's data,
//! local settings and groups) and writes back, the users a group change
//! reaches, and the counts the directory's guards ask for.

use serde_json::{Map, Value};

use super::rows::parse_json;
use super::{Access, GroupFacts, Store, StoreError, StoreResult, Tenant, Tx};

/// A user's row as access computation needs it.
pub struct UserRow {
    pub data: Map<String, Value>,
    pub local: Value,
    pub access: Access,
    /// The claims of the latest sign-in with an ID token, if any.
    pub claims: Option<Value>,
}

/// What access computation reads of a user besides its SCIM data (which
/// the caller holds already).
#[derive(Debug)]
pub struct UserInputs {
    pub local: Value,
    pub access: Access,
    pub claims: Option<Value>,
}

/// The columns access computation reads besides the document: local
/// settings, the stored access and its explanation, the claims.
type InputColumns = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

const INPUT_COLUMNS: &str = "local_access, user_type, role, plan, access, claims";

fn inputs((local, user_type, role, plan, access, claims): InputColumns) -> StoreResult<UserInputs> {
    Ok(UserInputs {
        local: parse_json(&local)?,
        access: Access {
            user_type,
            role,
            rank: 0,
            plan,
            explain: parse_json(&access)?,
        },
        claims: claims.as_deref().map(parse_json).transpose()?,
    })
}

impl Tx {
    /// A user's local settings, stored access and claims (its data is not
    /// read again).
    pub async fn load_user_inputs(&mut self, pk: i64) -> StoreResult<UserInputs> {
        if let Some(inputs) = self.prefetched.take_inputs(pk) {
            return Ok(inputs);
        }
        let row: InputColumns =
            sqlx::query_as(&format!("SELECT {INPUT_COLUMNS} FROM users WHERE pk = $1"))
                .bind(pk)
                .fetch_one(self.conn().await?)
                .await?;
        inputs(row)
    }

    pub async fn load_user_row(&mut self, pk: i64) -> StoreResult<UserRow> {
        let (data, local, user_type, role, plan, access, claims): (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
        ) = sqlx::query_as(&format!(
            "SELECT data, {INPUT_COLUMNS} FROM users WHERE pk = $1"
        ))
        .bind(pk)
        .fetch_one(self.conn().await?)
        .await?;
        let data = match parse_json(&data)? {
            Value::Object(m) => m,
            _ => return Err(StoreError::Corrupt("user data is not an object".into())),
        };
        let i = inputs((local, user_type, role, plan, access, claims))?;
        Ok(UserRow {
            data,
            local: i.local,
            access: i.access,
            claims: i.claims,
        })
    }

    pub async fn write_access(&mut self, pk: i64, access: &Access) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET user_type = $1, role = $2, plan = $3, access = $4 WHERE pk = $5",
        )
        .bind(&access.user_type)
        .bind(&access.role)
        .bind(&access.plan)
        .bind(access.explain.to_string())
        .bind(pk)
        .execute(self.conn().await?)
        .await?;
        Ok(())
    }

    /// The groups a user (or group) belongs to, directly or through nested
    /// groups — with the group itself when `id` is one.
    pub async fn ancestor_facts(&mut self, id: &str) -> StoreResult<Vec<GroupFacts>> {
        let tid = self.tid();
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "WITH RECURSIVE anc(id) AS (
                SELECT $2
                UNION
                SELECT g.id FROM anc CROSS JOIN memberships m CROSS JOIN groups g
                  WHERE m.tenant_id = $1 AND m.member_id = anc.id AND g.pk = m.group_pk
             )
             SELECT g.display_name, g.external_id FROM anc JOIN groups g ON g.id = anc.id AND g.tenant_id = $1
             ORDER BY g.pk",
        )
        .bind(tid)
        .bind(id)
        .fetch_all(self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(display_name, external_id)| GroupFacts {
                display_name,
                external_id,
            })
            .collect())
    }

    /// The users among `ids`, and the users inside any groups among them
    /// (through nested groups).
    pub async fn users_within(&mut self, ids: &[String]) -> StoreResult<Vec<String>> {
        let tid = self.tid();
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            let rows: Vec<String> = sqlx::query_scalar(
                "WITH RECURSIVE sub(id, kind) AS (
                    SELECT $2, (SELECT CASE WHEN EXISTS (SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $2) THEN 'Group' ELSE 'User' END)
                    UNION
                    SELECT m.member_id, m.member_type FROM sub CROSS JOIN groups g CROSS JOIN memberships m
                      WHERE sub.kind = 'Group' AND g.tenant_id = $1 AND g.id = sub.id AND m.group_pk = g.pk
                 )
                 SELECT id FROM sub WHERE kind = 'User'",
            )
            .bind(tid)
            .bind(id)
            .fetch_all(self.conn().await?)
            .await?;
            for r in rows {
                if seen.insert(r.clone()) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// A live user's primary key.
    pub async fn live_user_pk(&mut self, id: &str) -> StoreResult<Option<i64>> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(
            "SELECT pk FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(tid)
        .bind(id)
        .fetch_optional(self.conn().await?)
        .await?)
    }

    /// Live users after a primary key, in key order: (pk, id).
    pub async fn live_users_after(
        &mut self,
        after_pk: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        let tid = self.tid();
        Ok(sqlx::query_as(
            "SELECT pk, id FROM users WHERE tenant_id = $1 AND deleted_at IS NULL AND pk > $2 ORDER BY pk LIMIT $3",
        )
        .bind(tid)
        .bind(after_pk)
        .bind(limit)
        .fetch_all(self.conn().await?)
        .await?)
    }

    /// Users of a role who may sign in (not disabled, banned or deleted).
    pub async fn count_enabled_with_role(&mut self, role: &str) -> StoreResult<i64> {
        let tid = self.tid();
        Ok(sqlx::query_scalar(COUNT_ENABLED_WITH_ROLE)
            .bind(tid)
            .bind(role)
            .fetch_one(self.conn().await?)
            .await?)
    }
}

const COUNT_ENABLED_WITH_ROLE: &str =
    "SELECT count(*) FROM users WHERE tenant_id = $1 AND role = $2
   AND deleted_at IS NULL AND banned_at IS NULL AND active <> 0";

impl Store {
    /// Live (not deleted) users of the tenant.
    pub async fn count_live_users(&self, tenant: &Tenant) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND deleted_at IS NULL",
        )
        .bind(tenant.id)
        .fetch_one(&mut *self.read.acquire().await?)
        .await?)
    }

    /// [`Tx::count_enabled_with_role`] outside a write (what a panel shows
    /// before anyone acts).
    pub async fn count_enabled_with_role(&self, tenant: &Tenant, role: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(COUNT_ENABLED_WITH_ROLE)
            .bind(tenant.id)
            .bind(role)
            .fetch_one(&mut *self.read.acquire().await?)
            .await?)
    }
}
