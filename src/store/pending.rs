//! The audit and outbox rows of a write transaction, held until it commits
//! and then written multi-row: one statement per 200 audit rows and per
//! 400 events instead of one per row. A savepoint marks where the rows
//! stood when it opened, so rolling back to it drops the rows recorded
//! since, as it drops everything else written since.
//!
//! Rows are written in the order they were recorded, so outbox ids keep
//! the order of the changes (delivery order per tenant depends on it).
//! What reads those two tables inside the same write calls
//! [`Tx::flush_records`] first.

use serde_json::Value;
use sqlx::{Any, AnyConnection};

use super::{AuditEntry, Event, StoreResult, Tx};

/// Bindings one multi-row statement takes at most. SQLite's driver looks
/// each binding's name up by its number, a walk of the statement's list of
/// names: binding n values costs n²/2 steps, 30 % of a Bulk chunk's time
/// at 2,600 bindings a statement (`perf`), nothing measurable at 256.
pub(super) const MAX_BINDINGS: usize = 256;
/// Audit rows a statement writes at most (13 columns).
const AUDIT_ROWS: usize = MAX_BINDINGS / 13;
/// Events a statement writes at most (5 columns).
const EVENT_ROWS: usize = MAX_BINDINGS / 5;

/// Audit rows with their time, and events with theirs.
type Rows = (Vec<(String, AuditEntry)>, Vec<(String, Event)>);

/// Rows recorded and not yet written, with the savepoints' marks.
#[derive(Debug, Default)]
pub(super) struct Pending {
    audits: Vec<(String, AuditEntry)>,
    events: Vec<(String, Event)>,
    /// (savepoint, audits held, events held) when it opened, innermost last.
    marks: Vec<(&'static str, usize, usize)>,
}

impl Pending {
    pub(super) fn audit(&mut self, at: String, a: &AuditEntry) {
        self.audits.push((at, a.clone()));
    }

    pub(super) fn events(&mut self, at: &str, events: &[Event]) {
        self.events
            .extend(events.iter().map(|e| (at.to_string(), e.clone())));
    }

    pub(super) fn mark(&mut self, name: &'static str) {
        self.marks
            .push((name, self.audits.len(), self.events.len()));
    }

    /// The innermost savepoint named `name` is released: its rows stay.
    pub(super) fn unmark(&mut self, name: &'static str) {
        if let Some(pos) = self.marks.iter().rposition(|(n, _, _)| *n == name) {
            self.marks.truncate(pos);
        }
    }

    /// Drop the rows recorded since the innermost savepoint named `name`
    /// (which stays open).
    pub(super) fn undo_to(&mut self, name: &'static str) {
        if let Some(&(_, audits, events)) = self.marks.iter().rev().find(|(n, _, _)| *n == name) {
            self.audits.truncate(audits);
            self.events.truncate(events);
        }
    }

    fn take(&mut self) -> Rows {
        // Rows written now are below every open savepoint's mark.
        for m in &mut self.marks {
            m.1 = 0;
            m.2 = 0;
        }
        (
            std::mem::take(&mut self.audits),
            std::mem::take(&mut self.events),
        )
    }
}

/// `($1, …, $k), ($k+1, …)`: `rows` groups of `columns` placeholders.
pub(super) fn values_list(rows: usize, columns: usize) -> String {
    let mut s = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..columns {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * columns + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Whether a statement of this many rows is worth keeping prepared: the
/// full batches and the small tails a single write makes.
fn keep_prepared(rows: usize, full: usize) -> bool {
    rows == full || rows <= 4
}

async fn write_audits(
    conn: &mut AnyConnection,
    tid: i64,
    rows: &[(String, AuditEntry)],
) -> StoreResult<()> {
    for batch in rows.chunks(AUDIT_ROWS) {
        let sql = format!(
            "INSERT INTO audit_log (tenant_id, at, actor, actor_user_id, source_ip, request_id, object_type, object_id, object_name, action, description, job_id, details) VALUES {}",
            values_list(batch.len(), 13)
        );
        let mut q = sqlx::query::<Any>(&sql).persistent(keep_prepared(batch.len(), AUDIT_ROWS));
        for (at, a) in batch {
            q = q
                .bind(tid)
                .bind(at.as_str())
                .bind(a.actor.as_str())
                .bind(a.actor_user_id.as_deref())
                .bind(a.source_ip.as_deref())
                .bind(a.request_id.as_deref())
                .bind(a.object_type.as_str())
                .bind(a.object_id.as_deref())
                .bind(a.object_name.as_deref())
                .bind(a.action.as_str())
                .bind(a.description.as_str())
                .bind(a.job_id.as_deref())
                .bind(a.details.as_ref().map(Value::to_string));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn write_events(
    conn: &mut AnyConnection,
    tid: i64,
    rows: &[(String, Event)],
) -> StoreResult<()> {
    for batch in rows.chunks(EVENT_ROWS) {
        let sql = format!(
            "INSERT INTO outbox (tenant_id, at, kind, object_id, payload) VALUES {}",
            values_list(batch.len(), 5)
        );
        let mut q = sqlx::query::<Any>(&sql).persistent(keep_prepared(batch.len(), EVENT_ROWS));
        for (at, e) in batch {
            q = q
                .bind(tid)
                .bind(at.as_str())
                .bind(e.kind.as_str())
                .bind(e.object_id.as_deref())
                .bind(e.payload.to_string());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Tx {
    /// Write the audit rows and events recorded so far (before a read of
    /// those tables inside this write, and at commit).
    pub async fn flush_records(&mut self) -> StoreResult<()> {
        let (audits, events) = self.pending().take();
        let tid = self.tid();
        write_audits(self.conn().await?, tid, &audits).await?;
        write_events(self.conn().await?, tid, &events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            actor: "t".into(),
            actor_user_id: None,
            source_ip: None,
            request_id: None,
            job_id: None,
            object_type: "User".into(),
            object_id: None,
            object_name: None,
            action: action.into(),
            description: String::new(),
            details: None,
        }
    }

    #[test]
    fn placeholders_number_every_column_of_every_row() {
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_list(1, 1), "($1)");
    }

    #[test]
    fn rolling_back_to_a_savepoint_drops_only_the_rows_recorded_since() {
        let mut p = Pending::default();
        p.audit("a".into(), &entry("one"));
        p.mark("op");
        p.audit("b".into(), &entry("two"));
        p.events(
            "b",
            &[Event {
                kind: "k".into(),
                object_id: None,
                payload: Value::Null,
            }],
        );
        p.undo_to("op");
        p.unmark("op");
        assert_eq!(p.audits.len(), 1);
        assert_eq!(p.audits[0].1.action, "one");
        assert!(p.events.is_empty());
        assert!(p.marks.is_empty());
    }

    #[test]
    fn a_released_savepoint_keeps_its_rows_under_the_outer_one() {
        let mut p = Pending::default();
        p.mark("outer");
        p.mark("op");
        p.audit("a".into(), &entry("kept"));
        p.unmark("op");
        p.mark("op");
        p.audit("b".into(), &entry("dropped"));
        p.undo_to("op");
        p.unmark("op");
        assert_eq!(p.audits.len(), 1);
        p.undo_to("outer");
        assert!(p.audits.is_empty());
    }

    #[test]
    fn rows_written_early_are_not_dropped_twice() {
        let mut p = Pending::default();
        p.mark("op");
        p.audit("a".into(), &entry("flushed"));
        let (written, _) = p.take();
        assert_eq!(written.len(), 1);
        p.audit("b".into(), &entry("after"));
        p.undo_to("op");
        assert!(p.audits.is_empty());
    }
}
