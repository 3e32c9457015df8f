//! The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! Writes go through a pool of exactly one connection and open with `BEGIN IMMEDIATE`,
//! so a read-check-write transaction (such as a stock movement) sees the latest levels
//! and nothing writes between its check and its write; the `stock_levels` table's
//! CHECK constraints hold the same rule inside the database. Reads use their own pool
//! and never wait for the writer. The statements themselves are the shared ones in
//! `sql/`; this file holds what only SQLite does.

// The same statements compiled once per backend, on purpose: each copy of `sql/`
// binds to this file's `Db`, so the SQL is written once and typed for both.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

use crate::{DatabaseSettings, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

type Db = Sqlite;
type DbRow = sqlx::sqlite::SqliteRow;
type DbConnection = sqlx::SqliteConnection;
type Backend = SqliteStore;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Looks in a row the WAL must be unchanged before it is checkpointed (a second).
const STILL_LOOKS: u32 = 4;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Sale signals, within this process (one process owns a SQLite file).
    signals: tokio::sync::broadcast::Sender<crate::SaleSignal>,
    _checkpointer: Checkpointer,
}

/// Checkpoints the WAL on a connection of its own, when the writer is still, so a
/// commit never stops to do it. SQLite's own checkpoint runs inside the commit that
/// fills the WAL past 1,000 pages: under a rush that commit took 50 to 70 ms and every
/// buy in its batch waited; a checkpoint on another connection while the rush goes on
/// competes with the commits' fsyncs just the same. So the WAL is copied into the
/// database file once it has not changed for a second, and under a rush that never
/// pauses only once it passes [`WAL_BYTES_MAX`]. A crash between checkpoints loses
/// nothing: the commits are in the WAL, and the next open replays it.
struct Checkpointer(tokio::task::JoinHandle<()>);

/// The WAL a rush may grow before it is checkpointed anyway.
const WAL_BYTES_MAX: u64 = 128 << 20;

impl Checkpointer {
    fn start(connection: SqlitePool, database: &std::path::Path) -> Self {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::path::PathBuf::from(wal);
        let state = move || {
            std::fs::metadata(&wal)
                .ok()
                .map(|m| (m.len(), m.modified().ok()))
        };
        Checkpointer(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut last, mut still) = (None, 0);
            loop {
                every.tick().await;
                let now = state();
                still = if now == last { still + 1 } else { 0 };
                last = now;
                let mode = match now {
                    Some((0, _)) | None => None,
                    Some(_) if still >= STILL_LOOKS => Some("TRUNCATE"),
                    Some((bytes, _)) if bytes >= WAL_BYTES_MAX => Some("PASSIVE"),
                    Some(_) => None,
                };
                let Some(mode) = mode else { continue };
                if let Err(e) = sqlx::query(&format!("PRAGMA wal_checkpoint({mode})"))
                    .execute(&connection)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the next one tries again");
                }
                (last, still) = (state(), 0);
            }
        }))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqliteStore {
    pub async fn open(url: &str, settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("database URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // The checkpointer below does it, off the commit path.
            .pragma("wal_autocheckpoint", "0");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(settings.pool_max)
            .connect_with(options.clone().read_only(true))
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            signals: tokio::sync::broadcast::channel(crate::SIGNALS_BUFFERED).0,
            _checkpointer: Checkpointer::start(checkpoints, options.get_filename()),
        })
    }

    /// A write whose statements guard themselves: with one writer, any write.
    async fn begin_locking(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin_write().await
    }

    /// A read that sees one instant of the database (a read transaction in WAL mode).
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.reader.begin().await?)
    }

    /// Tells every node about a sale: here, this process's subscribers.
    async fn announce(&self, signal: crate::SaleSignal) {
        let _ = self.signals.send(signal);
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::SaleSignal> {
        self.signals.subscribe()
    }

    /// A write transaction: the single writer, holding SQLite's write lock from the
    /// start.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// An import's transaction: a write like any other.
    async fn begin_import(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin_write().await
    }

    /// Runs a write as it is: with one writer, a transaction never loses a race to
    /// another and has nothing to retry.
    async fn retrying<T, F, Fut>(&self, mut write: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        write().await
    }
}

/// What SQLite says differently.
mod dialect {
    use crate::StoreError;
    use sqlx::SqliteConnection;

    /// The database's clock, in milliseconds since the Unix epoch.
    pub(super) const NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

    /// A write transaction already holds the whole database.
    pub(super) const FOR_SHARE: &str = "";

    /// Write transactions are one at a time already.
    pub(super) const LOCK_ROLLOUT_JOURNAL: &str = "";

    /// Whether a quarter total overflowed: SQLite turns an integer sum that overflows
    /// into a float instead of failing.
    pub(super) async fn totals_overflowed(conn: &mut SqliteConnection) -> Result<bool, StoreError> {
        let overflowed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM shipment_totals
             WHERE typeof(units) != 'integer' OR typeof(revenue) != 'integer'",
        )
        .fetch_one(conn)
        .await?;
        Ok(overflowed > 0)
    }
}
#[cfg(test)]
mod tests {
    use crate::store::{DeviceVersion, ImportedDevice};
    use crate::Store;
    use soldout_core::{MarketCode, OsVersion, Serial, SkuCode};

    fn version(serial: &Serial, v: &str, base: Option<&str>) -> DeviceVersion {
        DeviceVersion {
            serial: serial.clone(),
            os_version: OsVersion::parse(v).unwrap(),
            os_base: base.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn a_device_keeps_its_base_only_while_its_version_stays() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::open(&url).await.unwrap();
        let now = chrono::Utc::now();
        crate::fixture::redmi_note_4_in_india(store.as_ref(), now, 0)
            .await
            .unwrap();
        let market = MarketCode::parse("IN").unwrap();
        let serial = Serial::parse("RN4IN1").unwrap();
        let device = ImportedDevice {
            serial: serial.clone(),
            sku: SkuCode::parse("RN4-3-32-GLD").unwrap(),
            market,
            os_version: OsVersion::parse("8.2").unwrap(),
            sold_at: now,
        };
        assert_eq!(
            store
                .import_devices(std::slice::from_ref(&device), now)
                .await
                .unwrap(),
            1
        );
        assert!(store.import_devices(&[device], now).await.is_err(), "once");
        let base = |store: std::sync::Arc<dyn Store>, serial: Serial| async move {
            let d = store.registered_device(&serial).await.unwrap().unwrap();
            (d.os_version.to_string(), d.os_base)
        };
        let installed = [version(&serial, "9.0", Some("Android 7.0"))];
        store
            .record_rollout_progress(&[], &installed, "")
            .await
            .unwrap();
        let same = [version(&serial, "9.0", None)];
        store.record_rollout_progress(&[], &same, "").await.unwrap();
        assert_eq!(
            base(store.clone(), serial.clone()).await,
            ("9.0".into(), Some("Android 7.0".into())),
            "a check-in on the installed version keeps the base"
        );
        let downgraded = [version(&serial, "8.2", None)];
        store
            .record_rollout_progress(&[], &downgraded, "")
            .await
            .unwrap();
        assert_eq!(base(store, serial).await, ("8.2".into(), None));
    }
}
