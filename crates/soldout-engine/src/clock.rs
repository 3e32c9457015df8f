//! The server's one clock. Production reads the system time; `--clock-start` makes
//! the clock start at a chosen instant and run forward in real time, so a demo or a
//! test can live in July 2017; a manual clock moves only when the simulator moves it.
//! Everything that needs `now`, or waits for a deadline, asks this clock.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock.
    System,
    /// Starts at `start` when created and runs forward at real speed.
    Shifted {
        start: DateTime<Utc>,
        since: Instant,
    },
    /// Stands still until [`ManualTime::advance`] moves it: the deterministic
    /// simulator's time, where no deadline passes by itself.
    Manual(&'static ManualTime),
}

/// The instant a [`Clock::Manual`] reads, in milliseconds since the Unix epoch.
#[derive(Debug)]
pub struct ManualTime(AtomicI64);

impl ManualTime {
    /// A manual time starting at `start`, for as long as the process lives (a
    /// simulation makes a few per seed; each is 8 bytes).
    pub fn starting_at(start: DateTime<Utc>) -> &'static ManualTime {
        Box::leak(Box::new(ManualTime(AtomicI64::new(
            start.timestamp_millis(),
        ))))
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst))
            .expect("a manual clock stays within chrono's range")
    }
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
            Clock::Manual(time) => time.now(),
        }
    }

    /// How long a task that is idle until `deadline` sleeps in real time before it
    /// looks again, at most `idle`. A manual clock never reaches a deadline while its
    /// tasks sleep: whoever moves it tells them (a request to the sale's owner).
    pub fn wait_until(&self, deadline: Option<DateTime<Utc>>, idle: Duration) -> Duration {
        match (self, deadline) {
            (Clock::Manual(_), _) | (_, None) => idle,
            (_, Some(deadline)) => (deadline - self.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(idle),
        }
    }

    /// Pauses a task that is backing off (after a failed commit) for `pause` of real
    /// time; under a manual clock it only lets the other tasks run, since the
    /// simulator's time is not real time.
    pub async fn back_off(&self, pause: Duration) {
        match self {
            Clock::Manual(_) => tokio::task::yield_now().await,
            _ => tokio::time::sleep(pause).await,
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

    #[test]
    fn a_manual_clock_moves_only_when_told_and_waits_for_no_deadline() {
        let start = Utc::now();
        let time = ManualTime::starting_at(start);
        let clock = Clock::Manual(time);
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        assert_eq!(ms(clock.now()), ms(start));
        time.advance(chrono::Duration::seconds(90));
        assert_eq!(ms(clock.now()), ms(start) + 90_000);
        let idle = Duration::from_secs(60);
        assert_eq!(clock.wait_until(Some(start), idle), idle);
        let real = Clock::System;
        assert_eq!(real.wait_until(Some(start), idle), Duration::ZERO);
        assert_eq!(real.wait_until(None, idle), idle);
    }
}
