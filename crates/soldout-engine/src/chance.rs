//! The engine's one source of chance: the order ids it mints and the fair-start
//! seeds it draws. Production uses the thread's generator; the deterministic simulator
//! gives a seeded one, so a run replays exactly from its seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, Default)]
pub enum Chance {
    /// The thread's own generator, seeded by the operating system.
    #[default]
    System,
    /// One generator from a seed, shared by every task of the engine.
    Seeded(&'static Mutex<StdRng>),
}

impl Chance {
    /// A seeded source for as long as the process lives (a simulation makes one per
    /// engine it starts).
    pub fn seeded(seed: u64) -> Chance {
        Chance::Seeded(Box::leak(Box::new(Mutex::new(StdRng::seed_from_u64(seed)))))
    }

    pub fn u64(&self) -> u64 {
        match self {
            Chance::System => rand::random(),
            Chance::Seeded(rng) => rng.lock().expect("chance poisoned").gen(),
        }
    }
}

/// Two sources are the same when they are the system's, or one seeded generator.
impl PartialEq for Chance {
    fn eq(&self, other: &Chance) -> bool {
        match (self, other) {
            (Chance::System, Chance::System) => true,
            (Chance::Seeded(a), Chance::Seeded(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

impl Eq for Chance {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_draws_again() {
        let (a, b) = (Chance::seeded(7), Chance::seeded(7));
        let draws = |c: Chance| (c.u64(), c.u64(), c.u64());
        assert_eq!(draws(a), draws(b));
        assert_ne!(draws(Chance::seeded(8)), draws(Chance::seeded(7)));
    }
}
