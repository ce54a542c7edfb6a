//! Serialization failures and deadlocks (SQLSTATE 40001, 40P01): the
//! database aborted a transaction that did nothing wrong, so running it
//! again is the remedy. They are answered "busy" like a lock wait, and
//! also noted here, per request: the HTTP layer watches a request
//! ([`watch`]) and runs it again, with backoff, when one was noted and the
//! answer was a 503. Every write is one transaction, so a failed attempt
//! left nothing behind. (A lock wait that timed out is not noted: it has
//! already waited its whole turn.)

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static NOTED: Cell<bool>;
}

/// Whether `e` is a serialization failure or a deadlock.
pub(super) fn is_contention(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// Note a contention failure for the request being watched (none: no-op).
pub(super) fn note() {
    let _ = NOTED.try_with(|n| n.set(true));
}

/// Run `f`, and say whether a contention failure was noted while it ran.
pub async fn watch<F: Future>(f: F) -> (F::Output, bool) {
    NOTED
        .scope(Cell::new(false), async move {
            let out = f.await;
            (out, NOTED.with(Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_note_is_seen_by_its_own_watch_only() {
        let (_, noted) = watch(async { note() }).await;
        assert!(noted);
        let (_, quiet) = watch(async {}).await;
        assert!(!quiet);
        note(); // outside any watch: nothing to note it in, no panic
    }
}
