//! The API tests of `tests/api` once more on PostgreSQL, with the server a node of a
//! cluster (`--node-id`): every flash sale the tests open is a leased sale, sold
//! through allotment leases, its orders rows in the database. The same promises as a
//! sale sold from its journal, through the other path. Without
//! `SOLDOUT_TEST_DATABASE_URL` the run says once that it was skipped.

include!("api/suite.rs");
