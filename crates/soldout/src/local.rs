//! The database a command works on directly (imports, reports, targets, settings):
//! one `--database` flag with its `SOLDOUT_DATABASE` fallback, and one way to open it.

use anyhow::Context;
use clap::Args;
use soldout_store::Store;
use std::sync::Arc;

#[derive(Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH.
    #[arg(
        long,
        env = "SOLDOUT_DATABASE",
        default_value = "sqlite://soldout.db",
        global = true
    )]
    database: String,
}

impl DatabaseArgs {
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        open_store(&self.database).await
    }
}

/// Opens the database a URL names, bringing its schema up to date.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    soldout_store::open(url)
        .await
        .with_context(|| format!("opening the database {url}"))
}
