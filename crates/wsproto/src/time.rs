//! Time as an input.
//!
//! The core never reads a clock. The caller passes the current time into
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout) and the constructors, and
//! sleeps until [`Connection::poll_timeout`](crate::Connection::poll_timeout). Time is counted in
//! microseconds from an epoch that the caller chooses: a virtual clock in tests, process start
//! under `std` (see [`Instant::now`]).

use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time, in microseconds since an epoch chosen by the caller.
///
/// Only differences between instants matter to the core, so any monotonic clock works.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    micros: u64,
}

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant { micros: 0 };

    /// The instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant { micros }
    }

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant { micros: millis.saturating_mul(1_000) }
    }

    /// The instant `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Instant {
        Instant { micros: secs.saturating_mul(1_000_000) }
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.micros.saturating_sub(earlier.micros))
    }

    /// `self + d`, saturating at the far future instead of overflowing.
    pub fn saturating_add(self, d: Duration) -> Instant {
        let add = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant { micros: self.micros.saturating_add(add) }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = self.saturating_add(d);
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(feature = "std")]
mod std_clock {
    use super::Instant;
    use std::sync::OnceLock;

    /// The process-wide epoch for conversions from `std::time::Instant`.
    ///
    /// `std::time::Instant` has no absolute value, so the first conversion fixes the epoch. An
    /// instant from before that first conversion maps to [`Instant::ZERO`].
    fn epoch() -> std::time::Instant {
        static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
        *EPOCH.get_or_init(std::time::Instant::now)
    }

    impl Instant {
        /// The current time from the operating system's monotonic clock.
        pub fn now() -> Instant {
            Instant::from(std::time::Instant::now())
        }

        /// Converts back to a `std::time::Instant`, for sleeping until a deadline.
        pub fn to_std(self) -> std::time::Instant {
            epoch() + core::time::Duration::from_micros(self.micros)
        }
    }

    impl From<std::time::Instant> for Instant {
        fn from(t: std::time::Instant) -> Instant {
            let since = t.saturating_duration_since(epoch());
            Instant::from_micros(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::test_prelude::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let t = Instant::from_secs(5);
        assert_eq!(t + Duration::from_millis(1500), Instant::from_micros(6_500_000));
        assert_eq!(Instant::from_secs(1) - t, Duration::ZERO);
        assert_eq!(t - Instant::from_secs(1), Duration::from_secs(4));
        assert_eq!(Instant::from_micros(u64::MAX) + Duration::from_secs(1), Instant::from_micros(u64::MAX));
        assert_eq!(t + Duration::MAX, Instant::from_micros(u64::MAX));
    }

    #[cfg(feature = "std")]
    #[test]
    fn std_round_trip_keeps_microseconds() {
        // The first conversion fixes the epoch; instants before it map to zero.
        let _ = Instant::now();
        let now = std::time::Instant::now();
        let ours = Instant::from(now);
        let back = ours.to_std();
        let diff = if back > now { back - now } else { now - back };
        assert!(diff < Duration::from_micros(1), "{diff:?}");
        assert!(Instant::now() >= ours);
    }
}
