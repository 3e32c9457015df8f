//! Scratch PostgreSQL databases for tests and benchmarks: each created fresh on the
//! server `SOLDOUT_TEST_DATABASE_URL` names and dropped when its guard is.

use crate::StoreError;
use sqlx::{Connection, Executor, PgConnection};
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable that names the PostgreSQL server tests run against.
pub const TEST_DATABASE_VAR: &str = "SOLDOUT_TEST_DATABASE_URL";

/// The server tests run against, if `SOLDOUT_TEST_DATABASE_URL` names one.
pub fn test_server() -> Option<String> {
    std::env::var(TEST_DATABASE_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database of its own on a PostgreSQL server, dropped (with whatever is still
/// connected to it) when this is.
pub struct ScratchDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates `soldout_<purpose>_<pid>_<n>` on the server `server_url` connects to.
    pub async fn create(server_url: &str, purpose: &str) -> Result<ScratchDatabase, StoreError> {
        static CREATED: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "soldout_{purpose}_{}_{}_{}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_micros() % 1_000_000_000
        );
        let mut server = PgConnection::connect(server_url).await?;
        server
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let base = server_url
            .split_once('?')
            .map_or(server_url, |(base, _)| base);
        let base = base.rsplit_once('/').map_or(base, |(base, _)| base);
        Ok(ScratchDatabase {
            server_url: server_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Its URL, for `--database`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // A runtime of its own: the test's may be shutting down.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut server = PgConnection::connect(&server_url).await?;
                server.execute(sql.as_str()).await.map(|_| ())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop scratch database {}: {e}", self.name);
        }
    }
}
