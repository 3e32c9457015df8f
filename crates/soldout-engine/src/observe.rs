//! What the engine tells an onlooker (the server's metrics) about its group commits:
//! how many events each batch held, how long its commit took, and which commits
//! failed. The engine does not know who listens; with nobody, telling costs a branch.

use std::sync::Arc;
use std::time::Duration;

/// Hears of every group commit a sale's owner or seller makes.
pub trait CommitObserver: Send + Sync {
    /// A batch of `events` commands' events was made durable in `took`.
    fn committed(&self, events: usize, took: Duration);
    /// A commit failed in the store (it may have landed; the owner rebuilds).
    fn failed(&self);
}

/// The engine's onlooker, if it has one.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn CommitObserver>>);

impl Observer {
    pub fn new(observer: Arc<dyn CommitObserver>) -> Observer {
        Observer(Some(observer))
    }

    pub(crate) fn committed(&self, events: usize, took: Duration) {
        if let Some(o) = &self.0 {
            o.committed(events, took);
        }
    }

    pub(crate) fn failed(&self) {
        if let Some(o) = &self.0 {
            o.failed();
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(listening)"
        } else {
            "Observer(none)"
        })
    }
}

/// Two onlookers are the same when neither is there, or both are the same one.
impl PartialEq for Observer {
    fn eq(&self, other: &Observer) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Observer {}
