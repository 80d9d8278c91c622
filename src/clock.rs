//! The one clock of a process: every timestamp the tool writes or compares (runs, ledger steps,
//! alerts, watermarks, webhook events, snapshots, data age, intent ages) comes from a [`Clock`]
//! chosen once, in `app::run`, and handed down.
//!
//! Two kinds:
//! - [`Clock::system`]: the wall clock.
//! - [`Clock::starting_at`]: `--now` / `REPLENISH_NOW`: the given instant when the clock was made,
//!   moving forward with the real time elapsed since (measured on the monotonic clock), so a
//!   reproduction still sees time pass: timeouts, backoff and "older than twice the request
//!   timeout" behave as they would on the wall clock.
//!
//! This is the only module that reads the wall clock (a test scans `src/` for any other read).
//! Elapsed-time measurement (`std::time::Instant`, tokio's timers) is not wall-clock time and
//! stays where it is used.

use std::time::Instant;

use chrono::{DateTime, Utc};

/// Where the time of day comes from. Cheap to copy; copies agree with each other.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    source: Source,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    System,
    Pinned { start: DateTime<Utc>, at: Instant },
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock {
            source: Source::System,
        }
    }

    /// `start` now, then moving forward with real elapsed time.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            source: Source::Pinned {
                start,
                at: Instant::now(),
            },
        }
    }

    /// The current instant on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self.source {
            Source::System => Utc::now(),
            Source::Pinned { start, at } => {
                // An elapsed time too large for chrono (centuries) cannot happen within a process;
                // saturate rather than panic.
                let elapsed =
                    chrono::TimeDelta::from_std(at.elapsed()).unwrap_or(chrono::TimeDelta::MAX);
                start
                    .checked_add_signed(elapsed)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    /// Whether the clock was pinned by `--now` rather than being the wall clock.
    pub fn is_pinned(&self) -> bool {
        matches!(self.source, Source::Pinned { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_pinned_clock_starts_at_its_instant_and_moves_forward_with_elapsed_time() {
        let start = at("2026-01-10T09:00:00Z");
        let clock = Clock::starting_at(start);
        let first = clock.now();
        assert!(first >= start);
        assert!(first - start < chrono::TimeDelta::seconds(5), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let later = clock.now();
        assert!(
            later - first >= chrono::TimeDelta::milliseconds(20),
            "{first} → {later}"
        );
        assert!(clock.is_pinned());
        // Copies share the start and the elapsed time.
        let copy = clock;
        assert!(copy.now() >= later);
    }

    #[test]
    fn a_pinned_clock_near_the_end_of_time_saturates_instead_of_panicking() {
        let clock = Clock::starting_at(DateTime::<Utc>::MAX_UTC);
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn the_system_clock_is_not_pinned() {
        assert!(!Clock::system().is_pinned());
    }
}
