//! What can go wrong in a store, in terms the server can turn into a 4xx or a 5xx.

use soldout_core::sale::Rejection;
use soldout_core::StockError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A thing the request names does not exist.
    #[error("{what} {id:?} does not exist")]
    NotFound { what: &'static str, id: String },
    /// The thing to create exists already.
    #[error("{what} {id:?} already exists")]
    AlreadyExists { what: &'static str, id: String },
    /// A stock movement the ledger's rules refuse.
    #[error("stock of {sku} at {location}: {source}")]
    Stock {
        location: String,
        sku: String,
        #[source]
        source: StockError,
    },
    /// A rule of the domain refuses the change as things stand (a serial already
    /// sold, a transfer not in transit, overlapping campaigns): a 409 with `slug`.
    #[error("{detail}")]
    Conflict { slug: &'static str, detail: String },
    /// The request does not fit what it refers to (more received than shipped): a 422.
    #[error("{0}")]
    Invalid(String),
    /// An order's lifecycle refuses the change (the same rules as in a flash sale).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The database cannot be reached (or keeps losing the race for its rows): a 503
    /// the client retries after a moment; nothing was changed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The transaction lost a race with another (a serialization failure or a
    /// deadlock) and was rolled back: the store runs it again.
    #[error("the transaction lost a race with another: {0}")]
    Contended(String),
    /// A node's batch under a lease it no longer holds (expired on the database's
    /// clock, taken back at the end, or replaced): nothing was written; its buyers
    /// retry (a 503).
    #[error("{0}")]
    Fenced(String),
    /// The database URL or settings are wrong.
    #[error("{0}")]
    Config(String),
    /// The database failed; the caller gets a 5xx and the cause is logged.
    #[error("database error: {0}")]
    Backend(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }
    pub(crate) fn conflict(slug: &'static str, detail: impl ToString) -> Self {
        StoreError::Conflict {
            slug,
            detail: detail.to_string(),
        }
    }
    pub(crate) fn exists(what: &'static str, id: impl ToString) -> Self {
        StoreError::AlreadyExists {
            what,
            id: id.to_string(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
                StoreError::Unavailable(e.to_string())
            }
            // SQLSTATE codes (PostgreSQL's) have five characters; SQLite's are numbers
            // of at most four digits.
            E::Database(d) => match d.code().as_deref().filter(|code| code.len() == 5) {
                // PostgreSQL's serialization_failure and deadlock_detected.
                Some("40001" | "40P01") => StoreError::Contended(d.message().to_owned()),
                // Connection exceptions, the server shutting down or starting up,
                // and a statement cancelled by its timeout.
                Some(code) if code.starts_with("08") || code.starts_with("57") => {
                    StoreError::Unavailable(d.message().to_owned())
                }
                _ => StoreError::Backend(Box::new(e)),
            },
            _ => StoreError::Backend(Box::new(e)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}
