//! The command-line tests of `cli/suite.rs` on PostgreSQL: each on a scratch database
//! of its own on the server `SOLDOUT_TEST_DATABASE_URL` names, dropped at its end.
//! Without that variable the run says once that it was skipped.

include!("cli/suite.rs");
