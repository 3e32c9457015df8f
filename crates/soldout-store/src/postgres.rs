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
    /// Sale signals from every node, as `LISTEN` receives them.
    signals: tokio::sync::broadcast::Sender<crate::SaleSignal>,
}

/// The `NOTIFY` channel of sale signals.
const SIGNAL_CHANNEL: &str = "soldout_sales";
/// Pause before listening again after the listener lost its connection.
const LISTEN_RETRY: Duration = Duration::from_millis(500);

/// Forwards every sale signal any node sends to this process's subscribers, for as
/// long as someone may subscribe; reconnects when the connection drops (a signal
/// sent meanwhile is missed, so nodes also read their pools on a timer).
async fn listen(pool: PgPool, signals: tokio::sync::broadcast::WeakSender<crate::SaleSignal>) {
    loop {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(SIGNAL_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listener.await {
            Ok(mut listener) => loop {
                match listener.try_recv().await {
                    Ok(Some(note)) => {
                        let Some(signals) = signals.upgrade() else {
                            return;
                        };
                        if let Some(signal) = crate::SaleSignal::decode(note.payload()) {
                            let _ = signals.send(signal);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "sale signals: listener failed");
                        break;
                    }
                }
            },
            Err(e) => tracing::warn!(error = %e, "sale signals: cannot listen"),
        }
        if signals.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(LISTEN_RETRY).await;
    }
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
        let signals = tokio::sync::broadcast::channel(crate::SIGNALS_BUFFERED).0;
        tokio::spawn(listen(pool.clone(), signals.downgrade()));
        Ok(PgStore {
            writer: pool.clone(),
            reader: pool,
            signals,
        })
    }

    /// A write whose statements guard themselves (`UPDATE ... WHERE granted - sold >=
    /// n`, `ON CONFLICT`): `READ COMMITTED`, where each statement waits for the rows it
    /// locks and decides on their latest committed values, so nodes selling one sale
    /// do not abort each other's batches.
    async fn begin_locking(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.writer.begin().await?)
    }

    /// A read that sees one instant of the database.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self
            .reader
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    /// Tells every node (this one included) about a sale. A signal is a hint to read
    /// the pool again, so one that cannot be sent is logged, not an error.
    async fn announce(&self, signal: crate::SaleSignal) {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(SIGNAL_CHANNEL)
            .bind(signal.encode())
            .execute(&self.writer)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, ?signal, "sale signal not sent");
        }
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::SaleSignal> {
        self.signals.subscribe()
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

    /// The database's clock, in milliseconds since the Unix epoch.
    pub(super) const NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

    /// Locks the rows read against a concurrent update until the transaction ends.
    pub(super) const FOR_SHARE: &str = " FOR SHARE";

    /// Taken by each rollout group commit: groups commit in the order of their ids,
    /// so a node that follows the journal by id misses none.
    pub(super) const LOCK_ROLLOUT_JOURNAL: &str =
        "LOCK TABLE rollout_journal IN SHARE ROW EXCLUSIVE MODE";

    /// PostgreSQL refuses a `bigint` total that would overflow (SQLSTATE 22003, which
    /// the shared statement maps) instead of storing something else.
    pub(super) async fn totals_overflowed(_: &mut PgConnection) -> Result<bool, StoreError> {
        Ok(false)
    }
}
