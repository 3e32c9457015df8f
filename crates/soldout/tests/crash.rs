//! Crash test on SQLite: the real binary under load, killed with SIGKILL at random
//! moments, several rounds; every order answered 201 survives (see `crash/suite.rs`).

mod server_process;

include!("crash/suite.rs");
