//! Harness: everything a database holds, as text, to show that a refused
//! request changed nothing. One connection, kept open, reads every table.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Column, Row};

use crate::support::TestApp;

/// Columns a request may write without changing anything a client sees:
/// a credential's or a session's last use, and the worker's lease.
const VOLATILE: [&str; 3] = ["last_used_at", "last_seen", "lease_until"];

/// A reader of every table of an app's database.
pub struct Snapshots {
    pool: AnyPool,
    tables: Vec<String>,
}

/// Every table's rows, each a line of its cells, sorted.
pub type Snapshot = BTreeMap<String, Vec<String>>;

impl Snapshots {
    pub async fn open(app: &TestApp) -> Self {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&app.url)
            .await
            .unwrap();
        let list = if app.url.starts_with("sqlite:") {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        } else {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        };
        let mut tables: Vec<String> = sqlx::query(list)
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .filter(|t| t != "_sqlx_migrations" && t != "worker_leases")
            .collect();
        tables.sort();
        Snapshots { pool, tables }
    }

    /// What the database holds now.
    pub async fn take(&self) -> Snapshot {
        let mut out = BTreeMap::new();
        for t in &self.tables {
            let rows = sqlx::query(&format!("SELECT * FROM {t}"))
                .fetch_all(&self.pool)
                .await
                .unwrap();
            let mut lines: Vec<String> = rows.iter().map(line).collect();
            lines.sort();
            out.insert(t.clone(), lines);
        }
        out
    }
}

/// One row as text: each cell that is not volatile, NULL as `∅`.
fn line(r: &sqlx::any::AnyRow) -> String {
    let mut cells = Vec::new();
    for (i, c) in r.columns().iter().enumerate() {
        if VOLATILE.contains(&c.name()) {
            continue;
        }
        let cell = r
            .try_get::<Option<String>, _>(i)
            .map(|v| v.unwrap_or_else(|| "∅".into()))
            .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| format!("{v:?}")))
            .or_else(|_| r.try_get::<Option<bool>, _>(i).map(|v| format!("{v:?}")))
            .or_else(|_| r.try_get::<Option<f64>, _>(i).map(|v| format!("{v:?}")))
            .unwrap_or_else(|_| "?".into());
        cells.push(format!("{}={cell}", c.name()));
    }
    cells.join(" | ")
}

/// The tables whose rows differ, for a readable failure.
pub fn differences(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (t, rows) in after {
        let old = before.get(t).cloned().unwrap_or_default();
        if &old != rows {
            let gone: Vec<&String> = old.iter().filter(|r| !rows.contains(r)).collect();
            let new: Vec<&String> = rows.iter().filter(|r| !old.contains(r)).collect();
            out.push(format!("{t}: -{gone:?} +{new:?}"));
        }
    }
    out
}

/// Asserts that nothing changed between two snapshots.
#[track_caller]
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let diff = differences(before, after);
    assert!(diff.is_empty(), "{what} changed the database: {diff:?}");
}
