//! Persistence for soldout behind one trait, [`Store`], so that the server and the
//! binary never know which database they talk to. SQLite is the embedded default (one
//! file, nothing to install); a PostgreSQL implementation of the same trait is the
//! system of record when several nodes serve one company.
//!
//! The store adapts the core: every rule it applies inside a transaction (such as the
//! never-negative stock rule) is a call into `soldout-core`, not a rule of its own.

mod error;
pub mod fixture;
mod leases;
mod postgres;
pub mod scratch;
mod shipment_blocks;
mod sqlite;
mod store;

pub use error::StoreError;
pub use leases::{DrawEntries, Lease, LeasedBuy, LeasedOutcome, PoolState, SaleSignal};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::{
    DeviceVersion, ImportChunk, ImportKind, ImportedDevice, MovementPage, NewOnlineOrder,
    PosOutcome, PosSaleRecord, PricedLine, RegisteredDevice, ReturnRecord, Store,
    MOVEMENTS_PAGE_MAX,
};

use std::sync::Arc;

/// Sale signals a subscriber may fall behind by before it misses some (and reads its
/// pools again).
pub(crate) const SIGNALS_BUFFERED: usize = 1_024;
use std::time::Duration;

/// How the store uses its database.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Most connections open at once: PostgreSQL's one pool, SQLite's readers (its
    /// writer is always one connection).
    pub pool_max: u32,
    /// Longest a statement may run on PostgreSQL before the server cancels it (the
    /// request gets a 503); SQLite has no statement timeout.
    pub statement_timeout: Duration,
    /// Longest a request waits for a free connection (or for the database to answer a
    /// new one) before it gets a 503.
    pub acquire_timeout: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            pool_max: 16,
            statement_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the database a URL names with the default settings and brings its schema up
/// to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, &DatabaseSettings::default()).await
}

/// Opens the database a URL names and brings its schema up to date: `sqlite://PATH`
/// (created when missing) or `postgres://USER@HOST:PORT/DB` (which must exist); any
/// other scheme is refused with an error that names both.
pub async fn open_with(
    url: &str,
    settings: &DatabaseSettings,
) -> Result<Arc<dyn Store>, StoreError> {
    if settings.pool_max == 0 {
        return Err(StoreError::Config(
            "the database pool needs at least one connection".into(),
        ));
    }
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, settings).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url, settings).await?))
    } else {
        Err(StoreError::Config(format!(
            "database URL {url:?} is not supported: use sqlite://PATH or postgres://USER@HOST:PORT/DB"
        )))
    }
}

/// Writes a consistent copy of the SQLite database `url` names into the new file `to`
/// while servers go on using it: `VACUUM INTO` reads one snapshot of the database. A
/// PostgreSQL database is copied with its own `pg_dump`.
pub async fn backup_sqlite(url: &str, to: &std::path::Path) -> Result<(), StoreError> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    if to.exists() {
        return Err(StoreError::Config(format!(
            "{} exists already: a backup goes to a new file",
            to.display()
        )));
    }
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Config("the backup's path is not UTF-8".into()))?;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("database URL {url:?}: {e}")))?
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(30));
    let mut connection = options
        .connect()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut connection)
        .await
        .map_err(|e| StoreError::Backend(format!("writing the backup: {e}").into()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_url_of_another_scheme_is_refused_naming_both() {
        for url in ["mysql://root@localhost/db", "soldout.db"] {
            let refused = super::open(url).await.err().expect("refused").to_string();
            assert!(refused.contains("sqlite://PATH"), "{refused}");
            assert!(
                refused.contains("postgres://USER@HOST:PORT/DB"),
                "{refused}"
            );
        }
    }
}
