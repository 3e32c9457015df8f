//! Integration tests: the real server on an ephemeral loopback port with a fresh
//! SQLite file per test, driven over HTTP. `../api_postgres.rs` runs the same tests
//! on PostgreSQL.

include!("suite.rs");
