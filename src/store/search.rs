//! The user search index behind the admin list's `search`: one row per
//! (user, term) in `user_search_terms`, where the terms of a user are its
//! folded userName, displayName and emails read from every word start on
//! (so `maria.chen@example.com` gives `maria.chen@example.com`,
//! `.chen@example.com`, `chen@example.com`, `@example.com`,
//! `example.com`, `.com` and `com`). A search text matches a user when it is
//! a prefix of one of its terms, found with a btree range
//! (`term >= q AND term < q'`), the same SQL on both stores; or when it is
//! the user's id exactly.
//!
//! The terms are rewritten inside the write transaction of every change to
//! those fields, and erased with the user. Migrations `0013_user_search`
//! (SQLite) and `0008_user_search` (PostgreSQL) build the same terms for the
//! users already stored, in SQL: what counts as a word start here must stay
//! what it is there.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::pending::MAX_BINDINGS;
use super::rows::fold;
use super::sql::SqlFrag;
use super::{Store, StoreResult, Tenant, Tx};
use sqlx::AnyConnection;

/// The longest term kept, in characters: longer field values are indexed
/// by their first `TERM_CHARS` characters from each word start, and longer
/// search texts compare by as many.
pub const TERM_CHARS: usize = 64;

/// Character classes: a term starts at the first character of a value and
/// wherever a character that is not whitespace follows one of another class.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Punct,
    Word,
}

fn class(c: char) -> Class {
    match c {
        ' ' | '\t' | '\n' | '\r' => Class::Space,
        c if c.is_ascii_punctuation() => Class::Punct,
        _ => Class::Word,
    }
}

/// The terms of one folded value: from each word start, at most
/// `TERM_CHARS` characters.
fn value_terms(v: &str, out: &mut BTreeSet<String>) {
    let mut prev: Option<Class> = None;
    for (i, c) in v.char_indices() {
        let cls = class(c);
        let starts = match prev {
            None => true,
            Some(p) => cls != Class::Space && cls != p,
        };
        if starts {
            out.insert(v[i..].chars().take(TERM_CHARS).collect());
        }
        prev = Some(cls);
    }
}

/// Every term of a user's SCIM data: its userName, displayName and emails,
/// folded.
pub(super) fn user_terms(data: &Map<String, Value>) -> BTreeSet<String> {
    let mut values: Vec<&str> = Vec::new();
    for key in ["userName", "displayName"] {
        if let Some(s) = data.get(key).and_then(Value::as_str) {
            values.push(s);
        }
    }
    if let Some(Value::Array(emails)) = data.get("emails") {
        values.extend(
            emails
                .iter()
                .filter_map(|e| e.get("value").and_then(Value::as_str)),
        );
    }
    let mut out = BTreeSet::new();
    for v in values {
        value_terms(&fold(v), &mut out);
    }
    out
}

/// The search text as the index compares it: folded, trimmed, at most
/// `TERM_CHARS` characters.
fn search_key(text: &str) -> String {
    fold(text.trim()).chars().take(TERM_CHARS).collect()
}

/// The least string greater than every string that starts with `prefix`
/// (None: there is none). Text compares by code point on both stores
/// (SQLite's BINARY collation, the term column's `"C"` collation on
/// PostgreSQL), so bumping the last character that can be bumped bounds
/// the range.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `AND u.pk IN (…)`: the users whose id is `text` or one of whose terms
/// starts with it.
pub(super) fn condition(f: &mut SqlFrag, tenant: &Tenant, text: &str) {
    let key = search_key(text);
    f.sql(" AND u.pk IN (SELECT t.user_pk FROM user_search_terms t WHERE t.tenant_id = ")
        .int(tenant.id)
        .sql(" AND t.term >= ")
        .text(key.clone());
    if let Some(end) = prefix_end(&key) {
        f.sql(" AND t.term < ").text(end);
    }
    f.sql(" UNION SELECT i.pk FROM users i WHERE i.tenant_id = ")
        .int(tenant.id)
        .sql(" AND i.id = ")
        .text(text.trim().to_string())
        .sql(")");
}

/// Insert search terms, (user pk, term) each, as many a statement as the
/// binding cap allows.
pub(super) async fn insert_terms(
    conn: &mut AnyConnection,
    tid: i64,
    terms: &[(i64, &str)],
) -> StoreResult<()> {
    for part in terms.chunks(MAX_BINDINGS / 3) {
        let mut f = SqlFrag::new();
        f.sql("INSERT INTO user_search_terms (tenant_id, user_pk, term) VALUES ");
        for (i, (pk, term)) in part.iter().enumerate() {
            if i > 0 {
                f.sql(", ");
            }
            f.sql("(").int(tid).sql(", ").int(*pk).sql(", ");
            f.text((*term).to_string()).sql(")");
        }
        super::sql::execute(&mut *conn, f).await?;
    }
    Ok(())
}

impl Tx {
    /// Make a user's search terms those of `data`, when they differ.
    pub(super) async fn index_user(
        &mut self,
        pk: i64,
        data: &Map<String, Value>,
    ) -> StoreResult<()> {
        let stored: BTreeSet<String> =
            sqlx::query_scalar("SELECT term FROM user_search_terms WHERE user_pk = $1")
                .bind(pk)
                .fetch_all(self.conn().await?)
                .await?
                .into_iter()
                .collect();
        self.index_terms(pk, stored, data).await
    }

    /// The search terms of a user whose data was `old`: nothing to do when
    /// its terms are the same (no statement), else [`Tx::index_user`].
    pub(super) async fn reindex_user(
        &mut self,
        pk: i64,
        old: &Map<String, Value>,
        data: &Map<String, Value>,
    ) -> StoreResult<()> {
        if user_terms(old) == user_terms(data) {
            return Ok(());
        }
        self.index_user(pk, data).await
    }

    /// The search terms of a user just inserted (none stored yet).
    pub(super) async fn index_new_user(
        &mut self,
        pk: i64,
        data: &Map<String, Value>,
    ) -> StoreResult<()> {
        self.index_terms(pk, BTreeSet::new(), data).await
    }

    async fn index_terms(
        &mut self,
        pk: i64,
        stored: BTreeSet<String>,
        data: &Map<String, Value>,
    ) -> StoreResult<()> {
        let terms = user_terms(data);
        for gone in stored.difference(&terms) {
            sqlx::query("DELETE FROM user_search_terms WHERE user_pk = $1 AND term = $2")
                .bind(pk)
                .bind(gone)
                .execute(self.conn().await?)
                .await?;
        }
        let new: Vec<(i64, &str)> = terms
            .difference(&stored)
            .map(|t| (pk, t.as_str()))
            .collect();
        let tid = self.tid();
        insert_terms(self.conn().await?, tid, &new).await
    }

    /// Remove a user's search terms (the user is being erased).
    pub(super) async fn unindex_user(&mut self, pk: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_search_terms WHERE user_pk = $1")
            .bind(pk)
            .execute(self.conn().await?)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The search terms of the user with this id or userName (deleted
    /// users too), sorted.
    pub async fn search_terms(&self, tenant: &Tenant, key: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT t.term FROM user_search_terms t JOIN users u ON u.pk = t.user_pk
             WHERE u.tenant_id = $1 AND (u.id = $2 OR u.user_name = $2) ORDER BY t.term",
        )
        .bind(tenant.id)
        .bind(key)
        .fetch_all(&mut *self.read.acquire().await?)
        .await?)
    }

    /// How many search terms the tenant's users have in all.
    pub async fn search_term_count(&self, tenant: &Tenant) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM user_search_terms WHERE tenant_id = $1")
                .bind(tenant.id)
                .fetch_one(&mut *self.read.acquire().await?)
                .await?,
        )
    }

    /// The plan of the admin list's page query for a search (tests prove
    /// the index is read with it).
    pub async fn explain_user_search(
        &self,
        tenant: &Tenant,
        text: &str,
    ) -> StoreResult<Vec<String>> {
        let mut f = SqlFrag::new();
        f.sql(self.dialect().explain());
        f.sql("SELECT u.pk FROM users u WHERE u.tenant_id = ")
            .int(tenant.id)
            .sql(" AND u.deleted_at IS NULL");
        condition(&mut f, tenant, text);
        f.sql(" ORDER BY u.user_name_ci LIMIT 20");
        self.explain_frag(f).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn terms(v: &str) -> Vec<String> {
        let mut out = BTreeSet::new();
        value_terms(v, &mut out);
        out.into_iter().collect()
    }

    #[test]
    fn terms_start_at_every_word_and_punctuation_run() {
        assert_eq!(
            terms("maria.chen@ex.com"),
            vec![
                ".chen@ex.com",
                ".com",
                "@ex.com",
                "chen@ex.com",
                "com",
                "ex.com",
                "maria.chen@ex.com"
            ]
        );
        assert_eq!(
            terms("ann  van lee"),
            vec!["ann  van lee", "lee", "van lee"]
        );
        assert_eq!(terms("100%_club"), vec!["%_club", "100%_club", "club"]);
        assert_eq!(terms("josé núñez"), vec!["josé núñez", "núñez"]);
        assert!(terms("").is_empty());
    }

    #[test]
    fn long_values_keep_the_first_characters_of_each_term() {
        let long = format!("{} tail", "a".repeat(100));
        let t = terms(&long);
        assert_eq!(t, vec!["a".repeat(TERM_CHARS), "tail".to_string()]);
        assert_eq!(search_key(&"B".repeat(70)), "b".repeat(TERM_CHARS));
    }

    #[test]
    fn user_terms_fold_user_name_display_name_and_emails() {
        let data = json!({"userName": "Ann", "displayName": "Ann Lee", "name": {"givenName": "Zed"},
            "emails": [{"value": "A@X.io"}, {"type": "work"}]});
        let t: Vec<String> = user_terms(data.as_object().unwrap()).into_iter().collect();
        assert_eq!(
            t,
            vec![".io", "@x.io", "a@x.io", "ann", "ann lee", "io", "lee", "x.io"]
        );
    }

    #[test]
    fn the_prefix_range_ends_after_every_string_with_the_prefix() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a%").as_deref(), Some("a&"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10ffff}"), None);
        for s in ["abc", "ab\u{10ffff}x", "ab"] {
            assert!(("ab".."ac").contains(&s));
        }
    }
}
