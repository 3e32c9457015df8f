//! The fair start's draw: a seeded shuffle, so that arrival order within the window
//! buys nothing and the seed, once recorded, replays the same order.

/// SplitMix64: a small, well-mixed generator; enough for a shuffle, and its whole
/// state is the seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift; bias is negligible for the
    /// bounds a sale sees).
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next()) * bound as u128) >> 64) as usize
    }
}

/// Shuffles `items` in place (Fisher–Yates) in the order `seed` determines.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = SplitMix64(seed);
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_order() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b = a.clone();
        shuffle(&mut a, 42);
        shuffle(&mut b, 42);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn arrival_order_gives_no_advantage() {
        // Over many seeds, the first arrival ends up first about 1/n of the time.
        let n = 10;
        let firsts = (0..10_000u64)
            .filter(|&seed| {
                let mut items: Vec<u32> = (0..n).collect();
                shuffle(&mut items, seed);
                items[0] == 0
            })
            .count();
        assert!(
            (800..1200).contains(&firsts),
            "first arrival won {firsts} of 10000"
        );
    }
}
