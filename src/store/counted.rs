//! A pool whose waiters are counted: every connection the store takes (a
//! statement's, a transaction's) is taken through [`CountedPool`], which
//! counts the tasks waiting for one — the `waiting` figure of `/metrics`
//! (sqlx keeps no such count).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Transaction};

use super::pool::PoolFigures;

#[derive(Clone)]
pub(super) struct CountedPool {
    pool: AnyPool,
    waiting: Arc<AtomicU32>,
}

/// One waiter, counted from its creation to its drop (a cancelled wait is
/// uncounted too).
struct Waiter<'a>(&'a AtomicU32);

impl<'a> Waiter<'a> {
    fn on(gauge: &'a AtomicU32) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Waiter(gauge)
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl CountedPool {
    pub(super) fn new(pool: AnyPool) -> Self {
        CountedPool {
            pool,
            waiting: Arc::new(AtomicU32::new(0)),
        }
    }

    /// A connection, counted as waiting until the pool hands it out.
    pub(super) async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        let _waiting = Waiter::on(&self.waiting);
        self.pool.acquire().await
    }

    /// A transaction (`BEGIN`), counted as waiting until it has begun.
    pub(super) async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let _waiting = Waiter::on(&self.waiting);
        self.pool.begin().await
    }

    /// [`CountedPool::begin`] with a statement of its own (`BEGIN IMMEDIATE`).
    pub(super) async fn begin_with(
        &self,
        statement: &'static str,
    ) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let _waiting = Waiter::on(&self.waiting);
        self.pool.begin_with(statement).await
    }

    pub(super) fn figures(&self) -> PoolFigures {
        PoolFigures {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    /// With the one connection held, two tasks asking for one are counted
    /// waiting; handing it back lets them through and the count falls to
    /// zero, a cancelled wait included.
    #[tokio::test]
    async fn waiters_are_counted_while_they_wait() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let pool = CountedPool::new(pool);
        let held = pool.acquire().await.unwrap();
        assert_eq!(pool.figures().waiting, 0);
        let (a, b) = (pool.clone(), pool.clone());
        let first = tokio::spawn(async move { a.acquire().await.map(drop) });
        let second = tokio::spawn(async move { b.begin().await.map(drop) });
        for _ in 0..100 {
            if pool.figures().waiting == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pool.figures().waiting, 2);
        let c = pool.clone();
        let third = tokio::spawn(async move { c.acquire().await.map(drop) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        third.abort();
        let _ = third.await;
        drop(held);
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(pool.figures().waiting, 0);
        assert_eq!(pool.figures().max, 1);
    }
}
