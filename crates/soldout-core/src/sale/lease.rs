//! How big a block of units a node leases from a sale's pool: enough for the next
//! moments at its recent rate, but never more than a share of what is left, so the
//! last units go out in small blocks and none sit stranded on an idle node.

/// Seconds of selling at the recent rate one block covers.
pub const BLOCK_HORIZON_SECS: f64 = 0.5;
/// The smallest block worth a round trip while units are plentiful.
pub const BLOCK_MIN: u32 = 16;
/// The largest block: one batch's worth.
pub const BLOCK_MAX: u32 = 16_384;
/// A node takes at most this fraction of what the pool still holds.
pub const POOL_SHARE: u32 = 4;

/// The block to ask for: `needed` now (what is waiting, beyond what the node still
/// holds), or what the node's `rate_per_sec` will need over the horizon, whichever is
/// more, capped by a share of `unleased` (but never below what is needed right now,
/// so a lone node can sell the pool's last units).
pub fn block_size(needed: u32, rate_per_sec: f64, unleased: u32) -> u32 {
    let by_rate = (rate_per_sec.max(0.0) * BLOCK_HORIZON_SECS)
        .ceil()
        .min(f64::from(BLOCK_MAX)) as u32;
    let wanted = by_rate
        .max(BLOCK_MIN)
        .max(needed)
        .min(BLOCK_MAX.max(needed));
    let share = (unleased / POOL_SHARE).max(1);
    wanted.min(share.max(needed)).min(unleased)
}

/// Whether a node holding `unsold` units should ask for more before it runs out.
pub fn should_refill(unsold: u32, rate_per_sec: f64) -> bool {
    f64::from(unsold) < rate_per_sec * BLOCK_HORIZON_SECS / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_never_more_than_the_pool() {
        for unleased in [0, 1, 3, 10, 500, 1_000_000] {
            for rate in [0.0, 10.0, 1e4, 1e7] {
                for needed in [0, 1, 7, 20_000] {
                    assert!(block_size(needed, rate, unleased) <= unleased);
                }
            }
        }
    }

    #[test]
    fn the_last_units_go_out_in_small_blocks() {
        // Plenty left: the rate decides.
        assert_eq!(block_size(1, 10_000.0, 1_000_000), 5_000);
        // Little left: a quarter of it, however fast the node sells.
        assert_eq!(block_size(1, 10_000.0, 400), 100);
        assert_eq!(block_size(1, 10_000.0, 3), 1);
        // What is needed now is granted when the pool has it.
        assert_eq!(block_size(30, 0.0, 40), 30);
    }

    #[test]
    fn a_busy_node_refills_before_it_runs_out() {
        assert!(should_refill(10, 1_000.0));
        assert!(!should_refill(1_000, 1_000.0));
        assert!(!should_refill(0, 0.0));
    }
}
