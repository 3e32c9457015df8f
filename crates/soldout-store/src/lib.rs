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
/// `sqlite://PATH` (created when missing) is supported; `postgres://` is refused until
/// the PostgreSQL store is built, and any other scheme with an error that names both.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Err(StoreError::Config(
            "PostgreSQL (postgres://USER@HOST:PORT/DB) is not built yet: use sqlite://PATH".into(),
        ))
    } else {
        Err(StoreError::Config(format!(
            "database URL {url:?} is not supported: use sqlite://PATH or postgres://USER@HOST:PORT/DB"
        )))
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_url_of_another_scheme_is_refused_naming_both() {
        for url in [
            "mysql://root@localhost/db",
            "soldout.db",
            "postgres://u@h:5432/d",
        ] {
            let refused = super::open(url).await.err().expect("refused").to_string();
            assert!(refused.contains("sqlite://PATH"), "{refused}");
            assert!(
                refused.contains("postgres://USER@HOST:PORT/DB"),
                "{refused}"
            );
        }
    }
}
