//! The API tests of `tests/api`, compiled again to run on PostgreSQL: each test on a
//! scratch database of its own on the server `SOLDOUT_TEST_DATABASE_URL` names,
//! dropped at the end (see `helpers::TestDatabase`). Without that variable the run
//! says once that it was skipped.

include!("api/suite.rs");

// PostgreSQL only: an SQLite file has no connection to lose.
#[path = "api/outage.rs"]
mod outage;
