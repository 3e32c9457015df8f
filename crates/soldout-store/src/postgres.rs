//! PostgreSQL, the system of record that several soldout nodes share.
//!
//! One pool serves reads and writes. A write runs as one `SERIALIZABLE` transaction,
//! so a read-check-write (a stock movement, a last unit at a point of sale, a
//! transfer received twice at once) is as safe as under SQLite's single writer: of two
//! transactions that race for the same rows, one commits and the other fails with a
//! serialization failure, which [`PgStore::retrying`] runs again, a bounded number
//! of times, with a random backoff. An import, which cannot be run again (its rows
//! arrive once, on a channel), takes an advisory lock instead and runs at `READ
//! COMMITTED`: imports wait for each other, and its total updates are increments that
//! cannot lose a concurrent one. The statements are the shared ones in `sql/`; this
//! file holds what only PostgreSQL does.

// The same statements compiled once per backend, on purpose: each copy of `sql/`
// binds to this file's `Db`, so the SQL is written once and typed for both.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

use crate::{DatabaseSettings, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

type Db = Postgres;
type DbRow = sqlx::postgres::PgRow;
type DbConnection = sqlx::PgConnection;
type Backend = PgStore;

/// Runs of a write that lost a race before its caller is told to retry (a 503).
const ATTEMPTS_MAX: u32 = 32;
/// The longest pause between two runs.
const BACKOFF_MAX: Duration = Duration::from_millis(50);

pub struct PgStore {
    writer: PgPool,
    reader: PgPool,
}

impl PgStore {
    pub async fn open(url: &str, settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("database URL {url:?}: {e}")))?
            .application_name("soldout")
            .options([("statement_timeout", timeout_ms.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.pool_max)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        // sqlx holds an advisory lock while it migrates: nodes starting together
        // migrate once.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            writer: pool.clone(),
            reader: pool,
        })
    }

    /// A write transaction: serializable, so that PostgreSQL refuses whichever of two
    /// racing transactions would make the outcome differ from one after the other.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self
            .writer
            .begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .await?)
    }

    /// An import's transaction: imports one at a time across every node (the lock is
    /// the transaction's), each statement seeing what committed before it.
    async fn begin_import(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('soldout import'))")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Runs `write` (one whole transaction) again while it loses races with other
    /// transactions, at most [`ATTEMPTS_MAX`] times; then the caller is told the
    /// database is too busy, never given a 500.
    async fn retrying<T, F, Fut>(&self, mut write: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut backoff = Duration::from_millis(1);
        for _ in 1..ATTEMPTS_MAX {
            match write().await {
                Err(StoreError::Contended(_)) => {
                    let pause = backoff.mul_f64(rand::random::<f64>() + 0.5);
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                done => return done,
            }
        }
        match write().await {
            Err(StoreError::Contended(why)) => Err(StoreError::Unavailable(format!(
                "the transaction lost {ATTEMPTS_MAX} races for its rows ({why}); retry"
            ))),
            done => done,
        }
    }
}

/// What PostgreSQL says differently.
mod dialect {
    use crate::StoreError;
    use sqlx::PgConnection;

    /// PostgreSQL refuses a `bigint` total that would overflow (SQLSTATE 22003, which
    /// the shared statement maps) instead of storing something else.
    pub(super) async fn totals_overflowed(_: &mut PgConnection) -> Result<bool, StoreError> {
        Ok(false)
    }
}
