//! Units sold over time, for the live sale page's chart: a step curve of the units a
//! sale holds for its buyers (reserved, paid or fulfilled) after each change, kept in
//! bounded memory. Points that fall in the same time slot are merged (the later value
//! wins); when the curve is full the slot doubles and the points are merged again, so
//! a sale of any length keeps at most [`CURVE_POINTS_MAX`] points.

use std::sync::Arc;

/// Most points a curve keeps.
pub const CURVE_POINTS_MAX: usize = 512;
/// The finest time slot: a tenth of a second.
const SLOT_MS_MIN: i64 = 100;

/// `(milliseconds since the Unix epoch, units held after that moment)`, in time order.
/// Shared, so a snapshot of the sale copies a pointer, not the points.
#[derive(Debug, Clone)]
pub struct SoldCurve {
    points: Arc<Vec<(i64, u32)>>,
    slot_ms: i64,
}

impl Default for SoldCurve {
    fn default() -> Self {
        SoldCurve {
            points: Arc::new(Vec::new()),
            slot_ms: SLOT_MS_MIN,
        }
    }
}

impl SoldCurve {
    /// The points, oldest first.
    pub fn points(&self) -> &Arc<Vec<(i64, u32)>> {
        &self.points
    }

    /// Records that `units` are held from `at_ms` on.
    pub fn record(&mut self, at_ms: i64, units: u32) {
        let slot_ms = self.slot_ms;
        let points = Arc::make_mut(&mut self.points);
        match points.last_mut() {
            // A clock that stepped back, or the same slot: the newest value wins.
            Some(last) if at_ms.div_euclid(slot_ms) <= last.0.div_euclid(slot_ms) => {
                last.1 = units;
            }
            _ => points.push((at_ms, units)),
        }
        // Sparse points may not merge at the next slot: widen until they do.
        while points.len() >= CURVE_POINTS_MAX && self.slot_ms < i64::MAX / 2 {
            self.slot_ms *= 2;
            merge_slots(points, self.slot_ms);
        }
    }
}

/// Keeps one point per slot of `slot_ms`: the slot's first time with its last value,
/// so the curve's steps move by less than a slot and its values are ones it had.
fn merge_slots(points: &mut Vec<(i64, u32)>, slot_ms: i64) {
    let mut merged: Vec<(i64, u32)> = Vec::with_capacity(points.len() / 2 + 1);
    for &(at, units) in points.iter() {
        match merged.last_mut() {
            Some(last) if at.div_euclid(slot_ms) <= last.0.div_euclid(slot_ms) => last.1 = units,
            _ => merged.push((at, units)),
        }
    }
    *points = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_in_one_slot_merge_and_the_last_value_wins() {
        let mut curve = SoldCurve::default();
        curve.record(1_000, 1);
        curve.record(1_050, 3);
        curve.record(1_250, 4);
        curve.record(1_240, 2); // a clock that stepped back
        assert_eq!(curve.points().as_slice(), &[(1_000, 3), (1_250, 2)]);
    }

    #[test]
    fn a_long_sale_stays_bounded_and_ends_at_its_last_value() {
        let mut curve = SoldCurve::default();
        for i in 0..100_000u32 {
            curve.record(i64::from(i) * 250, i + 1);
        }
        let points = curve.points();
        assert!(points.len() < CURVE_POINTS_MAX, "{}", points.len());
        assert!(points.len() > CURVE_POINTS_MAX / 4, "{}", points.len());
        assert_eq!(points.last().unwrap().1, 100_000);
        assert_eq!(
            points.first().unwrap().0,
            0,
            "the first change keeps its time"
        );
        assert!(points
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn sparse_points_stay_bounded_too() {
        let mut curve = SoldCurve::default();
        // One change an hour for five years: far apart, so a doubled slot merges none.
        for i in 0..(5 * 365 * 24) {
            curve.record(i64::from(i) * 3_600_000, (i % 7) as u32);
            assert!(curve.points().len() < CURVE_POINTS_MAX);
        }
        let last = curve.points().last().unwrap();
        assert_eq!(last.1, ((5 * 365 * 24 - 1) % 7) as u32);
    }

    #[test]
    fn units_given_back_bring_the_curve_down() {
        let mut curve = SoldCurve::default();
        curve.record(0, 2);
        curve.record(60_000, 5);
        curve.record(900_000, 3); // two units expired unpaid
        assert_eq!(
            curve.points().as_slice(),
            &[(0, 2), (60_000, 5), (900_000, 3)]
        );
    }

    #[test]
    fn a_snapshot_keeps_its_points_while_the_curve_moves_on() {
        let mut curve = SoldCurve::default();
        curve.record(0, 1);
        let snapshot = curve.points().clone();
        curve.record(500, 2);
        assert_eq!(snapshot.as_slice(), &[(0, 1)]);
        assert_eq!(curve.points().len(), 2);
    }
}
