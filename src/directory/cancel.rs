//! A request's cancellation: set when its client goes away or its time is
//! up. Long operations (a Bulk request) look at it between their steps and
//! stop at the next boundary; a step already begun runs to its end, so each
//! stays all or nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Never cancelled (the CLI, the worker).
    pub fn never() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Cancels on drop unless disarmed: held by the future that waits for a
/// request, so that dropping it (the client hung up) cancels the work.
#[derive(Debug)]
pub struct CancelOnDrop(Option<Cancel>);

impl CancelOnDrop {
    pub fn new(cancel: Cancel) -> Self {
        Self(Some(cancel))
    }

    /// The request ended normally: nothing to cancel.
    pub fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_an_armed_guard_cancels_and_a_disarmed_one_does_not() {
        let c = Cancel::default();
        drop(CancelOnDrop::new(c.clone()));
        assert!(c.is_cancelled());
        let d = Cancel::default();
        CancelOnDrop::new(d.clone()).disarm();
        assert!(!d.is_cancelled());
    }
}
