//! The database a command works on: one `--database` flag with its `SOLDOUT_DATABASE`
//! fallback, the pool's settings beside it, and one way to open it. `serve`, `demo`
//! and the commands that work on the database directly (imports, reports, targets,
//! settings) all open it here.

use anyhow::Context;
use clap::Args;
use soldout_store::{DatabaseSettings, Store};
use std::sync::Arc;
use std::time::Duration;

/// The database `serve` and the direct commands use when none is named.
pub const DEFAULT_DATABASE: &str = "sqlite://soldout.db";

#[derive(Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (an embedded file, created when missing) or
    /// postgres://USER@HOST:PORT/DB (a PostgreSQL database that exists; its schema is
    /// brought up to date). Default: sqlite://soldout.db, the demo's
    /// sqlite://soldout-demo.db.
    #[arg(long, env = "SOLDOUT_DATABASE", global = true, value_name = "URL")]
    database: Option<String>,
    /// Most database connections open at once (PostgreSQL's pool; SQLite's readers,
    /// beside its one writer).
    #[arg(long, env = "SOLDOUT_DB_POOL_MAX", global = true,
        default_value_t = DatabaseSettings::default().pool_max,
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_pool_max: u32,
    /// Seconds a PostgreSQL statement may run before the database cancels it (the
    /// request gets a 503 to retry).
    #[arg(long, env = "SOLDOUT_DB_STATEMENT_TIMEOUT_SECS", global = true,
        default_value_t = DatabaseSettings::default().statement_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    db_statement_timeout_secs: u64,
}

impl DatabaseArgs {
    /// Whether the named database is PostgreSQL (one several nodes can share).
    pub fn is_postgres(&self) -> bool {
        self.database
            .as_deref()
            .is_some_and(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
    }

    /// Writes a consistent copy of the named SQLite database to the new file `to`.
    pub async fn back_up(&self, to: &std::path::Path) -> anyhow::Result<()> {
        let url = self.database.as_deref().unwrap_or(DEFAULT_DATABASE);
        anyhow::ensure!(
            !self.is_postgres(),
            "a PostgreSQL database is backed up with its own tool: pg_dump --format=custom --file=FILE {}",
            redacted(url)
        );
        let Some(path) = sqlite_path(url) else {
            anyhow::bail!(
                "database URL {:?} is not supported: use sqlite://PATH",
                redacted(url)
            );
        };
        anyhow::ensure!(
            std::path::Path::new(path).exists(),
            "there is no database at {path}: name it with --database sqlite://PATH"
        );
        soldout_store::backup_sqlite(url, to)
            .await
            .with_context(|| format!("backing up {path} to {}", to.display()))
    }

    /// Opens the named database, or [`DEFAULT_DATABASE`].
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.open_or(DEFAULT_DATABASE).await
    }

    /// Opens the named database, or [`DEFAULT_DATABASE`], for a command that only
    /// reads: a SQLite file that does not exist is an error naming it, and nothing is
    /// created (a mistyped path would otherwise report an empty company).
    pub async fn open_existing(&self) -> anyhow::Result<Arc<dyn Store>> {
        let url = self.database.as_deref().unwrap_or(DEFAULT_DATABASE);
        if let Some(path) = sqlite_path(url) {
            if !std::path::Path::new(path).exists() {
                anyhow::bail!(
                    "there is no database at {path}: name an existing one with --database sqlite://PATH (or SOLDOUT_DATABASE); `soldout serve` or `soldout demo` creates one"
                );
            }
        }
        self.open().await
    }

    /// Opens the named database, or `default` when none is named, bringing its schema
    /// up to date.
    pub async fn open_or(&self, default: &str) -> anyhow::Result<Arc<dyn Store>> {
        let url = self.database.as_deref().unwrap_or(default);
        let settings = DatabaseSettings {
            pool_max: self.db_pool_max,
            statement_timeout: Duration::from_secs(self.db_statement_timeout_secs),
            ..DatabaseSettings::default()
        };
        soldout_store::open_with(url, &settings)
            .await
            .with_context(|| format!("opening the database {}", redacted(url)))
    }
}

/// The file a `sqlite:` URL names, without its query.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// A URL as it may be printed: a password in it is replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sqlite_url_names_its_file() {
        assert_eq!(
            super::sqlite_path("sqlite://soldout.db"),
            Some("soldout.db")
        );
        assert_eq!(
            super::sqlite_path("sqlite:///var/lib/soldout/s.db?mode=rwc"),
            Some("/var/lib/soldout/s.db")
        );
        assert_eq!(super::sqlite_path("postgres://p@h/db"), None);
    }

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            super::redacted("postgres://app:s3cret@db:5432/soldout"),
            "postgres://app:***@db:5432/soldout"
        );
        assert_eq!(
            super::redacted("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(
            super::redacted("sqlite://soldout.db"),
            "sqlite://soldout.db"
        );
    }
}
