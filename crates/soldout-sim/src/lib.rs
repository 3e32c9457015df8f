//! soldout's deterministic simulation, after TigerBeetle's: the real engine over the
//! real store (SQLite, or PostgreSQL), on a manual clock and seeded chance, with a
//! store in between that fails, lies, stalls and crashes by the seed. Clients buy,
//! send keys again, pay, pay twice, cancel, register and look; time jumps; after
//! every step the [`model`] holds what they were told against what is stored. A
//! failing seed prints its steps and runs the same way again.

mod driver;
pub mod faults;
mod faulty_store;
pub mod model;
mod world;

pub use driver::{simulate, Database, Report, Settings, Violation};
pub use faults::FaultRates;
