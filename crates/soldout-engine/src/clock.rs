//! The server's one clock. Production reads the system time; `--clock-start` makes
//! the clock start at a chosen instant and run forward in real time, so a demo or a
//! test can live in July 2017. Everything that needs `now` asks this clock.

use chrono::{DateTime, Utc};
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock.
    System,
    /// Starts at `start` when created and runs forward at real speed.
    Shifted {
        start: DateTime<Utc>,
        since: Instant,
    },
}

impl Clock {
    pub fn starting_at(start: Option<DateTime<Utc>>) -> Clock {
        match start {
            Some(start) => Clock::Shifted {
                start,
                since: Instant::now(),
            },
            None => Clock::System,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Shifted { start, since } => {
                let elapsed =
                    chrono::Duration::from_std(since.elapsed()).unwrap_or(chrono::Duration::MAX);
                *start + elapsed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_starts_where_told_and_runs_forward() {
        let start = DateTime::parse_from_rfc3339("2017-07-04T09:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::starting_at(Some(start));
        let first = clock.now();
        assert!(first >= start && first - start < chrono::Duration::seconds(5));
        assert!(clock.now() >= first);
    }
}
