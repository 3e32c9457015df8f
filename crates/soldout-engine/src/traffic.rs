//! Answers to buy requests per sale since the server started, by kind: what the live
//! sale page counts and turns into requests per second. Counting is a relaxed atomic
//! add per answer, so the hot path takes no lock for it.

use crate::EngineError;
use serde::Serialize;
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

/// Why buys are refused, by the slug of the problem they are answered with: every
/// reason a buy can meet, and `other` for anything else.
pub const REFUSAL_REASONS: [&str; 12] = [
    "sold-out",
    "limit-reached",
    "not-registered",
    "not-started",
    "ended",
    "idempotency-mismatch",
    "overloaded",
    "unavailable",
    "invalid-request",
    "not-found",
    "store-error",
    "other",
];

fn reason_index(slug: &str) -> usize {
    REFUSAL_REASONS
        .iter()
        .position(|r| *r == slug)
        .unwrap_or(REFUSAL_REASONS.len() - 1)
}

const SOLD_OUT: usize = 0;
const LIMIT: usize = 1;
const OVERLOADED: usize = 6;

#[derive(Debug, Default)]
pub(crate) struct Traffic {
    sold: AtomicU64,
    replayed: AtomicU64,
    /// Units in the new orders (a replay adds none).
    units_sold: AtomicU64,
    refused: [AtomicU64; REFUSAL_REASONS.len()],
}

/// A sale's counters as the metrics show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleTraffic {
    /// Units in the durable orders this server answered since it started.
    pub units_sold: u64,
    /// Refusals since the server started, by reason (as [`REFUSAL_REASONS`]).
    pub refused: [u64; REFUSAL_REASONS.len()],
}

impl Traffic {
    /// Counts `times` answers that were `outcome`; `replay` tells a key sent again
    /// from a new order, `units` what a new order holds.
    pub(crate) fn count<T>(
        &self,
        outcome: &Result<T, EngineError>,
        replay: impl Fn(&T) -> bool,
        units: impl Fn(&T) -> u64,
        times: u64,
    ) {
        match outcome {
            Ok(answer) if replay(answer) => {
                self.replayed.fetch_add(times, Relaxed);
            }
            Ok(answer) => {
                self.sold.fetch_add(times, Relaxed);
                self.units_sold.fetch_add(units(answer) * times, Relaxed);
            }
            Err(e) => {
                self.refused[reason_index(e.slug())].fetch_add(times, Relaxed);
            }
        }
    }

    pub(crate) fn read(&self) -> Answers {
        let sold = self.sold.load(Relaxed);
        let replayed = self.replayed.load(Relaxed);
        let refused = self.refusals();
        let sold_out = refused[SOLD_OUT];
        let limit = refused[LIMIT];
        let overloaded = refused[OVERLOADED];
        let all_refused: u64 = refused.iter().sum();
        Answers {
            requests: sold + replayed + all_refused,
            sold,
            replayed,
            sold_out,
            limit,
            overloaded,
            other: all_refused - sold_out - limit - overloaded,
        }
    }

    fn refusals(&self) -> [u64; REFUSAL_REASONS.len()] {
        std::array::from_fn(|i| self.refused[i].load(Relaxed))
    }

    pub(crate) fn for_metrics(&self) -> SaleTraffic {
        SaleTraffic {
            units_sold: self.units_sold.load(Relaxed),
            refused: self.refusals(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soldout_core::sale::Rejection;

    #[test]
    fn refusals_are_counted_under_their_problem_slug_and_replays_sell_nothing() {
        let traffic = Traffic::default();
        let sold: Result<u32, EngineError> = Ok(2);
        traffic.count(&sold, |_| false, |q| u64::from(*q), 1);
        traffic.count(&sold, |_| true, |q| u64::from(*q), 1);
        traffic.count::<u32>(&Err(Rejection::SoldOut.into()), |_| false, |_| 0, 3);
        traffic.count::<u32>(&Err(Rejection::NotRegistered.into()), |_| false, |_| 0, 1);
        traffic.count::<u32>(&Err(EngineError::Overloaded), |_| false, |_| 0, 1);
        let seen = traffic.for_metrics();
        assert_eq!(seen.units_sold, 2);
        let by = |slug| seen.refused[reason_index(slug)];
        assert_eq!(
            (by("sold-out"), by("not-registered"), by("overloaded")),
            (3, 1, 1)
        );
        let answers = traffic.read();
        assert_eq!(
            (
                answers.requests,
                answers.sold,
                answers.replayed,
                answers.other
            ),
            (7, 1, 1, 1)
        );
        assert_eq!(REFUSAL_REASONS[reason_index("no-such-slug")], "other");
        assert_eq!(REFUSAL_REASONS[SOLD_OUT], Rejection::SoldOut.slug());
        assert_eq!(REFUSAL_REASONS[OVERLOADED], EngineError::Overloaded.slug());
    }
}
