//! The faults a simulated store suffers, chosen by the seed: at each commit it may
//! fail before writing, write and then report a failure (the answer lost on the
//! way back), stall for a while, or crash the process (with the commit landed or
//! not). A crash stops every later call of that engine's life; the simulator then
//! drops the engine and starts another from what is stored.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

/// What happens to one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Nothing is written; the caller gets an error.
    FailBefore,
    /// The commit lands; the caller gets an error anyway.
    FailAfter,
    /// The commit waits while the other tasks run this many turns.
    Stall(u32),
    /// The process dies at this commit, after it landed or before.
    Crash {
        landed: bool,
    },
}

/// How often each fault strikes a commit, in parts per thousand.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub fail_before: u32,
    pub fail_after: u32,
    pub stall: u32,
    pub crash: u32,
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates {
            fail_before: 40,
            fail_after: 40,
            stall: 60,
            crash: 25,
        }
    }
}

/// Faults that struck so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub commits: u64,
    pub failed_before: u64,
    pub failed_after: u64,
    pub stalled: u64,
    pub crashed_landed: u64,
    pub crashed_unlanded: u64,
}

/// The seed's faults, shared by every store call of a run.
pub struct Faults {
    rng: Mutex<StdRng>,
    rates: FaultRates,
    enabled: AtomicBool,
    crashed: AtomicBool,
    crash: Notify,
    counts: Mutex<FaultCounts>,
}

impl Faults {
    pub fn new(seed: u64, rates: FaultRates) -> Faults {
        Faults {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            rates,
            enabled: AtomicBool::new(false),
            crashed: AtomicBool::new(false),
            crash: Notify::new(),
            counts: Mutex::default(),
        }
    }

    /// Faults strike from now on (the world is set up without them).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// The fault of the next commit.
    pub fn next(&self) -> Fault {
        if !self.enabled.load(Ordering::SeqCst) {
            return Fault::None;
        }
        let mut rng = self.rng.lock().expect("faults poisoned");
        let roll = rng.gen_range(0..1000u32);
        let r = self.rates;
        let fault = if roll < r.fail_before {
            Fault::FailBefore
        } else if roll < r.fail_before + r.fail_after {
            Fault::FailAfter
        } else if roll < r.fail_before + r.fail_after + r.stall {
            Fault::Stall(rng.gen_range(1..=50))
        } else if roll < r.fail_before + r.fail_after + r.stall + r.crash {
            Fault::Crash {
                landed: rng.gen_bool(0.5),
            }
        } else {
            Fault::None
        };
        let mut counts = self.counts.lock().expect("faults poisoned");
        counts.commits += 1;
        match fault {
            Fault::None => {}
            Fault::FailBefore => counts.failed_before += 1,
            Fault::FailAfter => counts.failed_after += 1,
            Fault::Stall(_) => counts.stalled += 1,
            Fault::Crash { landed: true } => counts.crashed_landed += 1,
            Fault::Crash { landed: false } => counts.crashed_unlanded += 1,
        }
        fault
    }

    pub fn counts(&self) -> FaultCounts {
        *self.counts.lock().expect("faults poisoned")
    }

    /// The process dies: every call from now on never returns.
    pub fn crash(&self) {
        self.crashed.store(true, Ordering::SeqCst);
        self.crash.notify_waiters();
    }

    pub fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// Returns once the process has died.
    pub async fn until_crashed(&self) {
        loop {
            let notified = self.crash.notified();
            if self.crashed() {
                return;
            }
            notified.await;
        }
    }

    /// A new life after a crash: the dead engine's runtime is gone with its tasks.
    pub fn revive(&self) {
        self.crashed.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_strikes_the_same_faults_again_and_none_before_enabled() {
        let plan = |seed| {
            let faults = Faults::new(seed, FaultRates::default());
            assert_eq!(faults.next(), Fault::None);
            faults.enable();
            (0..500).map(|_| faults.next()).collect::<Vec<_>>()
        };
        assert_eq!(plan(3), plan(3));
        assert_ne!(plan(3), plan(4));
        let struck = plan(3).iter().filter(|f| **f != Fault::None).count();
        assert!(
            (50..150).contains(&struck),
            "{struck} faults in 500 commits"
        );
    }
}
