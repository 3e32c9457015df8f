//! Answers to buy requests per sale since the server started, by kind: what the live
//! sale page counts and turns into requests per second. Counting is a relaxed atomic
//! add per answer, so the hot path takes no lock for it.

use crate::EngineError;
use serde::Serialize;
use soldout_core::sale::Rejection;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use utoipa::ToSchema;

/// Buy answers of one sale, by kind, since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Answers {
    /// Every buy answered, whatever the answer.
    pub requests: u64,
    /// Buys answered with a new order.
    pub sold: u64,
    /// Buys that sent a key again and got its order again: answered, not sold.
    pub replayed: u64,
    pub sold_out: u64,
    /// Refused because the customer reached the per-customer limit.
    pub limit: u64,
    /// Refused because the sale's queue was full (a 503 with `Retry-After`).
    pub overloaded: u64,
    /// Every other refusal: not started, ended, not registered, a bad quantity.
    pub other: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Traffic {
    sold: AtomicU64,
    replayed: AtomicU64,
    sold_out: AtomicU64,
    limit: AtomicU64,
    overloaded: AtomicU64,
    other: AtomicU64,
}

impl Traffic {
    /// Counts `times` answers that were `outcome`; `replay` tells a key sent again
    /// from a new order.
    pub(crate) fn count<T>(
        &self,
        outcome: &Result<T, EngineError>,
        replay: impl Fn(&T) -> bool,
        times: u64,
    ) {
        let counter = match outcome {
            Ok(answer) if replay(answer) => &self.replayed,
            Ok(_) => &self.sold,
            Err(EngineError::Rejected(Rejection::SoldOut)) => &self.sold_out,
            Err(EngineError::Rejected(Rejection::LimitReached { .. })) => &self.limit,
            Err(EngineError::Overloaded) => &self.overloaded,
            Err(_) => &self.other,
        };
        counter.fetch_add(times, Relaxed);
    }

    pub(crate) fn read(&self) -> Answers {
        let sold = self.sold.load(Relaxed);
        let replayed = self.replayed.load(Relaxed);
        let sold_out = self.sold_out.load(Relaxed);
        let limit = self.limit.load(Relaxed);
        let overloaded = self.overloaded.load(Relaxed);
        let other = self.other.load(Relaxed);
        Answers {
            requests: sold + replayed + sold_out + limit + overloaded + other,
            sold,
            replayed,
            sold_out,
            limit,
            overloaded,
            other,
        }
    }
}
