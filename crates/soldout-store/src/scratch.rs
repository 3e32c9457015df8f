//! Scratch databases for tests and benchmarks: a PostgreSQL database created fresh on
//! the server `SOLDOUT_TEST_DATABASE_URL` names and dropped when its guard is, or a
//! SQLite file in a temporary directory; and the one way a test suite that runs on
//! both backends picks its own and says when the PostgreSQL runs were skipped.

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

/// The backend a build of a test suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl TestBackend {
    /// The backend of a test target by its crate name (`env!("CARGO_CRATE_NAME")`):
    /// a target whose name ends in `_postgres` is the PostgreSQL build of a suite.
    pub fn of_target(crate_name: &str) -> TestBackend {
        if crate_name.ends_with("_postgres") {
            TestBackend::Postgres
        } else {
            TestBackend::Sqlite
        }
    }
}

/// Where a test's data lives, for as long as the test runs.
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    _scratch: Option<ScratchDatabase>,
}

impl TestDatabase {
    /// A fresh, empty database on `backend`, named after `purpose`. On PostgreSQL
    /// without `SOLDOUT_TEST_DATABASE_URL`, the process says once that the
    /// PostgreSQL runs of `purpose` were skipped and ends as a success: the SQLite
    /// build runs the same tests.
    pub async fn fresh(backend: TestBackend, purpose: &str) -> TestDatabase {
        match backend {
            TestBackend::Sqlite => TestDatabase::sqlite(purpose).expect("a temporary directory"),
            TestBackend::Postgres => {
                let Some(server) = test_server() else {
                    skip_postgres_runs(purpose);
                };
                TestDatabase::postgres(&server, purpose)
                    .await
                    .expect("create a scratch PostgreSQL database")
            }
        }
    }

    /// A fresh SQLite file in a temporary directory of its own.
    pub fn sqlite(purpose: &str) -> std::io::Result<TestDatabase> {
        let dir = tempfile::tempdir()?;
        Ok(TestDatabase {
            url: format!(
                "sqlite://{}",
                dir.path().join(format!("{purpose}.db")).display()
            ),
            _dir: Some(dir),
            _scratch: None,
        })
    }

    /// A fresh database on the PostgreSQL server `server_url` connects to.
    pub async fn postgres(server_url: &str, purpose: &str) -> Result<TestDatabase, StoreError> {
        let scratch = ScratchDatabase::create(server_url, purpose).await?;
        Ok(TestDatabase {
            url: scratch.url().to_owned(),
            _dir: None,
            _scratch: Some(scratch),
        })
    }

    /// [`TestDatabase::fresh`] for a test that has no async runtime of its own.
    pub fn fresh_blocking(backend: TestBackend, purpose: &str) -> TestDatabase {
        let purpose = purpose.to_owned();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(TestDatabase::fresh(backend, &purpose))
        })
        .join()
        .expect("creating the test database")
    }

    /// Its URL, for `--database` or `soldout_store::open`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Says once, on the terminal, that the PostgreSQL runs of `purpose` were skipped,
/// and ends the test process as a success.
fn skip_postgres_runs(purpose: &str) -> ! {
    use std::io::Write;
    // The first test to get here speaks and ends the process; the others wait here.
    static SPEAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _speaking = SPEAKING.lock();
    let suite = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| {
            stem.rsplit_once('-')
                .map_or(stem.clone(), |(name, _hash)| name.to_owned())
        })
        .unwrap_or_else(|| purpose.to_owned());
    // Straight to the terminal: the test harness captures what a test prints.
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/stderr") {
        let _ = writeln!(
            tty,
            "{suite}: {TEST_DATABASE_VAR} is not set; the PostgreSQL runs of these tests were skipped"
        );
    }
    std::process::exit(0)
}

/// A loopback TCP proxy to one upstream address that tests cut and restore, to take
/// a database away from one server while leaving the machine's own alone.
pub struct TcpProxy {
    pub addr: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
}

impl TcpProxy {
    pub async fn to(upstream: String) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cuts, _) = tokio::sync::watch::channel(0u64);
        let (accepting, subscribe) = (open.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let mut cut = subscribe.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        TcpProxy { addr, open, cuts }
    }

    /// Drops every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A database URL split around its `host:port`: (`scheme://user@`, `host:port`, `/db...`).
pub fn around_host(url: &str) -> (&str, &str, &str) {
    let after_at = url.find('@').unwrap() + 1;
    let path = after_at + url[after_at..].find('/').unwrap();
    (&url[..after_at], &url[after_at..path], &url[path..])
}
