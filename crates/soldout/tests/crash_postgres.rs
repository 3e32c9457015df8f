//! The crash test of `crash/suite.rs` on PostgreSQL, on a scratch database of its own
//! that is dropped at its end. Without `SOLDOUT_TEST_DATABASE_URL` the run says once
//! that it was skipped.

mod server_process;

include!("crash/suite.rs");
