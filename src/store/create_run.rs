//! A run of user creates in one transaction (a Bulk chunk's POSTs to
//! `/Users`). Before the run, a few statements read what its guards ask
//! of the database: which of its userNames live users hold, whether any
//! deleted user shares an externalId or an email with it (when none does,
//! the re-created-user rule has nothing to find for any of them), and the
//! primary keys its users will take. Each new user's rows — the user, its
//! multi-valued rows, its search terms — then wait, and are inserted
//! multi-row right before the transaction's next statement (whatever it
//! is: a read sees them) or its commit. A guard asked about a key the run
//! did not read goes to the database, as without a run.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};
use sqlx::{Any, AnyConnection, Row};

use super::pending::{values_list, MAX_BINDINGS};
use super::pool::Backend;
use super::prefetch::{placeholders, rows_of_one};
use super::rows::{active, external_id, fold, user_name};
use super::search::{insert_terms, user_terms};
use super::users::{insert_value_rows, sort_email, sort_emails_of, value_rows, ValueRow};
use super::{Access, StoreResult, Tx};

/// The columns of one new user's row, in the order of the statement's `VALUES`.
const COLUMNS: usize = 17;
/// Rows one statement inserts at most.
const PER_STATEMENT: usize = MAX_BINDINGS / COLUMNS;
/// Keys one read-ahead statement asks about at most (the tenant id is one
/// more binding).
const KEYS_PER_STATEMENT: usize = MAX_BINDINGS - 1;

/// What a run of creates read ahead.
#[derive(Debug, Default)]
pub(super) struct CreateRun {
    /// Primary keys reserved for the run's users, in order.
    pks: VecDeque<i64>,
    /// Folded userNames the run asked about or inserted: the live user
    /// holding each (`None`: free).
    names: HashMap<String, Option<String>>,
    /// externalIds and folded emails no deleted user has.
    clear_external: HashSet<String>,
    clear_emails: HashSet<String>,
}

impl CreateRun {
    /// The live user holding folded userName `ci`, when the run knows.
    pub(super) fn name_owner(&self, ci: &str) -> Option<Option<String>> {
        self.names.get(ci).cloned()
    }

    /// Whether the run knows that no deleted user has `external_id` or
    /// any of the `folded` emails.
    pub(super) fn no_deleted_match(&self, external_id: Option<&str>, folded: &[String]) -> bool {
        external_id.is_none_or(|e| self.clear_external.contains(e))
            && folded.iter().all(|f| self.clear_emails.contains(f))
    }
}

/// The status the row of a user just created over SCIM has: what the
/// `status` column computes (`0005_directory.sql`) for a user neither
/// deleted, banned, signed in nor invited.
fn new_user_status(active: bool) -> &'static str {
    match active {
        true => "created",
        false => "disabled",
    }
}

/// One new user's rows, as they will be inserted.
#[derive(Debug)]
pub(super) struct NewUser {
    pk: i64,
    id: String,
    user_name: String,
    user_name_ci: String,
    external_id: Option<String>,
    active: i64,
    user_type: String,
    role: String,
    plan: Option<String>,
    access: String,
    data: String,
    data_ci: String,
    now: String,
    /// The email the admin list sorts by, when the row can hold it
    /// without asking the database (`None`: two or more emails).
    email_ci: Option<Option<String>>,
    values: Vec<ValueRow>,
    terms: BTreeSet<String>,
}

/// The folded emails (not blank) a user's data carries.
fn folded_emails(data: &Map<String, Value>) -> impl Iterator<Item = String> + '_ {
    data.get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .filter(|v| !v.trim().is_empty())
        .map(fold)
}

/// Whether tenant `tid` has a deleted user at all (one step down the
/// `(tenant_id, deleted_at)` index): most runs need ask nothing more, and
/// the key checks' plans depend on statistics a fresh PostgreSQL table
/// lacks.
async fn any_deleted_user(conn: &mut AnyConnection, tid: i64) -> StoreResult<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT 1 FROM users WHERE tenant_id = $1 AND deleted_at IS NOT NULL LIMIT 1",
    )
    .bind(tid)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// Whether any deleted user of tenant `tid` has one of `external_ids` or
/// one of the folded `emails`.
async fn any_deleted_match(
    conn: &mut AnyConnection,
    tid: i64,
    external_ids: &[String],
    emails: &[String],
) -> StoreResult<bool> {
    // `coalesce(deleted_at, '') <> ''` is `deleted_at IS NOT NULL` (a
    // deletion time is never empty) that no index serves: SQLite's planner
    // would otherwise walk every deleted user instead of the externalIds.
    let by_external_id = |keys: String| {
        format!(
            "SELECT 1 FROM users WHERE tenant_id = $1 AND coalesce(deleted_at, '') <> ''
               AND external_id IN ({keys}) LIMIT 1"
        )
    };
    let by_email = |keys: String| {
        format!(
            "SELECT 1 FROM user_values v JOIN users u ON u.pk = v.user_pk
             WHERE v.tenant_id = $1 AND v.attr = 'emails' AND v.value_ci IN ({keys})
               AND u.deleted_at IS NOT NULL LIMIT 1"
        )
    };
    Ok(any_row(conn, tid, external_ids, by_external_id).await?
        || any_row(conn, tid, emails, by_email).await?)
}

/// Whether the statement `sql` makes of a list of placeholders finds a
/// row for any of `keys` (tenant `tid` is `$1`).
async fn any_row(
    conn: &mut AnyConnection,
    tid: i64,
    keys: &[String],
    sql: impl Fn(String) -> String,
) -> StoreResult<bool> {
    for part in keys.chunks(KEYS_PER_STATEMENT) {
        let sql = sql(placeholders(2, part.len()));
        let mut q = sqlx::query::<Any>(&sql).bind(tid);
        for k in part {
            q = q.bind(k.as_str());
        }
        if q.fetch_optional(&mut *conn).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The live users of tenant `tid` holding the folded userNames `names`.
async fn name_holders(
    conn: &mut AnyConnection,
    tid: i64,
    names: &[String],
) -> StoreResult<HashMap<String, Option<String>>> {
    let mut held: HashMap<String, Option<String>> =
        names.iter().map(|n| (n.clone(), None)).collect();
    for part in names.chunks(KEYS_PER_STATEMENT) {
        // The names as a table joined to the users (see `prefetch_users`):
        // with `IN (…)`, SQLite walked every live user.
        let sql = format!(
            "SELECT users.user_name_ci, users.id FROM (VALUES {}) AS k CROSS JOIN users
             WHERE users.tenant_id = $1 AND users.deleted_at IS NULL
               AND users.user_name_ci = k.column1",
            rows_of_one(2, part.len())
        );
        let mut q = sqlx::query::<Any>(&sql).bind(tid);
        for n in part {
            q = q.bind(n.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            held.insert(row.try_get("user_name_ci")?, Some(row.try_get("id")?));
        }
    }
    Ok(held)
}

/// `n` primary keys for new users. SQLite gives a new row the largest
/// key plus one, and the write transaction is the only writer, so the
/// keys after the largest are free; PostgreSQL draws them from the
/// column's sequence.
async fn reserve_pks(
    conn: &mut AnyConnection,
    backend: Backend,
    n: usize,
) -> StoreResult<VecDeque<i64>> {
    let count = i64::try_from(n).unwrap_or(i64::MAX);
    Ok(match backend {
        Backend::Sqlite => {
            let max: i64 = sqlx::query_scalar("SELECT coalesce(max(pk), 0) FROM users")
                .fetch_one(&mut *conn)
                .await?;
            (max + 1..=max + count).collect()
        }
        Backend::Postgres => sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('users', 'pk')) FROM generate_series(1, $1)",
        )
        .bind(count)
        .fetch_all(&mut *conn)
        .await?
        .into(),
    })
}

/// Insert the waiting users, then their multi-valued rows, their sort
/// emails and their search terms, each multi-row.
pub(super) async fn write_new_users(
    conn: &mut AnyConnection,
    tid: i64,
    users: &[NewUser],
) -> StoreResult<()> {
    for part in users.chunks(PER_STATEMENT) {
        insert_users(conn, tid, part).await?;
    }
    let values: Vec<&ValueRow> = users.iter().flat_map(|u| &u.values).collect();
    insert_value_rows(conn, &values).await?;
    let unsorted: Vec<i64> = users
        .iter()
        .filter(|u| u.email_ci.is_none())
        .map(|u| u.pk)
        .collect();
    if !unsorted.is_empty() {
        sort_emails_of(conn, &unsorted).await?;
    }
    let terms: Vec<(i64, &str)> = users
        .iter()
        .flat_map(|u| u.terms.iter().map(|t| (u.pk, t.as_str())))
        .collect();
    insert_terms(conn, tid, &terms).await
}

async fn insert_users(conn: &mut AnyConnection, tid: i64, part: &[NewUser]) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO users (pk, tenant_id, id, user_name, user_name_ci, external_id, active, user_type, role, plan, access, data, data_ci, version, created, last_modified, email_ci)
         VALUES {}",
        values_list(part.len(), COLUMNS)
    );
    let mut q = sqlx::query::<Any>(&sql).persistent(part.len() == PER_STATEMENT);
    for u in part {
        q = q
            .bind(u.pk)
            .bind(tid)
            .bind(u.id.as_str())
            .bind(u.user_name.as_str())
            .bind(u.user_name_ci.as_str())
            .bind(u.external_id.as_deref())
            .bind(u.active)
            .bind(u.user_type.as_str())
            .bind(u.role.as_str())
            .bind(u.plan.as_deref())
            .bind(u.access.as_str())
            .bind(u.data.as_str())
            .bind(u.data_ci.as_str())
            .bind(1_i64)
            .bind(u.now.as_str())
            .bind(u.now.as_str())
            .bind(u.email_ci.clone().flatten());
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

impl Tx {
    /// Read ahead for a run of user creates whose data is `datas` (in a
    /// transaction that holds user rows: [`Tx::defer_user_writes`]). When a
    /// deleted user shares an externalId or an email with the run, nothing
    /// is read ahead: those creates meet the re-created-user rule, and go
    /// to the database one by one.
    pub async fn read_ahead_creates(&mut self, datas: &[&Map<String, Value>]) -> StoreResult<()> {
        self.create_run = None;
        if !self.defer_users || datas.is_empty() {
            return Ok(());
        }
        let tid = self.tid();
        let backend = self.backend;
        let unique = |keys: &mut Vec<String>| {
            keys.sort();
            keys.dedup();
        };
        let mut externals: Vec<String> = datas.iter().filter_map(|d| external_id(d)).collect();
        let mut emails: Vec<String> = datas.iter().flat_map(|d| folded_emails(d)).collect();
        let mut names: Vec<String> = datas.iter().map(|d| user_name(d).1).collect();
        unique(&mut externals);
        unique(&mut emails);
        unique(&mut names);
        let conn = self.conn().await?;
        if any_deleted_user(conn, tid).await?
            && any_deleted_match(conn, tid, &externals, &emails).await?
        {
            return Ok(());
        }
        let names = name_holders(conn, tid, &names).await?;
        let pks = reserve_pks(conn, backend, datas.len()).await?;
        self.create_run = Some(CreateRun {
            pks,
            names,
            clear_external: externals.into_iter().collect(),
            clear_emails: emails.into_iter().collect(),
        });
        Ok(())
    }

    /// In a run of creates with a key left: hold user `id`'s rows for the
    /// next statement; its key and status.
    pub(super) fn hold_new_user(
        &mut self,
        id: &str,
        data: &Map<String, Value>,
        access: &Access,
        now: &str,
    ) -> Option<(i64, String)> {
        let tid = self.tid();
        let run = self.create_run.as_mut()?;
        let pk = run.pks.pop_front()?;
        let (name, ci) = user_name(data);
        run.names.insert(ci.clone(), Some(id.to_string()));
        let json = Value::Object(data.clone()).to_string();
        let user = NewUser {
            pk,
            id: id.to_string(),
            user_name: name,
            user_name_ci: ci,
            external_id: external_id(data),
            active: i64::from(active(data)),
            user_type: access.user_type.clone(),
            role: access.role.clone(),
            plan: access.plan.clone(),
            access: access.explain.to_string(),
            data_ci: fold(&json),
            data: json,
            now: now.to_string(),
            email_ci: sort_email(data),
            values: value_rows(tid, pk, data),
            terms: user_terms(data),
        };
        self.new_users.push(user);
        Some((pk, new_user_status(active(data)).to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_run_knows_only_the_keys_it_read() {
        let run = CreateRun {
            clear_external: ["e1".to_string()].into(),
            clear_emails: ["a@x".to_string()].into(),
            names: [("ada".to_string(), Some("u1".to_string()))].into(),
            ..CreateRun::default()
        };
        assert!(run.no_deleted_match(None, &[]));
        assert!(run.no_deleted_match(Some("e1"), &["a@x".into()]));
        assert!(!run.no_deleted_match(Some("e2"), &[]));
        assert!(!run.no_deleted_match(None, &["a@x".into(), "b@x".into()]));
        assert_eq!(run.name_owner("ada"), Some(Some("u1".into())));
        assert_eq!(run.name_owner("bob"), None);
    }

    #[test]
    fn folded_emails_skip_blank_values_and_fold_the_rest() {
        let data = serde_json::json!({"emails": [{"value": "ÉDITH@x.org"}, {"value": "  "}, {"type": "work"}]});
        let got: Vec<String> = folded_emails(data.as_object().unwrap()).collect();
        assert_eq!(got, vec![fold("ÉDITH@x.org")]);
    }

    #[test]
    fn a_new_row_has_the_status_the_column_computes() {
        assert_eq!(new_user_status(true), "created");
        assert_eq!(new_user_status(false), "disabled");
    }

    #[test]
    fn the_insert_numbers_seventeen_values_a_row() {
        let sql = values_list(2, COLUMNS);
        assert!(sql.starts_with("($1, $2,"));
        assert!(sql.contains("$17), ($18,"));
        assert!(sql.ends_with("$34)"));
    }
}
