//! Persistence for soldout behind one trait, [`Store`], so that the server and the
//! binary never know which database they talk to. SQLite is the embedded default (one
//! file, nothing to install); a PostgreSQL implementation of the same trait is the
//! system of record when several nodes serve one company.
//!
//! The store adapts the core: every rule it applies inside a transaction (such as the
//! never-negative stock rule) is a call into `soldout-core`, not a rule of its own.

mod error;
mod sqlite;
mod store;

pub use error::StoreError;
pub use sqlite::SqliteStore;
pub use store::{
    DeviceVersion, ImportChunk, ImportKind, ImportedDevice, MovementPage, NewOnlineOrder,
    PosOutcome, PosSaleRecord, PricedLine, RegisteredDevice, ReturnRecord, Store,
    MOVEMENTS_PAGE_MAX,
};

use std::sync::Arc;

/// Opens the database a URL names and brings its schema up to date.
///
/// `sqlite://PATH` (created when missing) is supported; other schemes are refused with
/// an error that says so.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::Config(format!(
            "database URL {url:?} is not supported: use sqlite://PATH (PostgreSQL support is not built yet)"
        )))
    }
}
