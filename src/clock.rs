//! The clock of the item lifecycle (idle timeout, lifetime, check on reuse):
//! a coarse, cheap monotonic clock, or one that a test drives.
//!
//! A pool with a lifecycle setting reads this clock on every put and on every
//! get of an idle item, so it must cost little: on Linux it is
//! `CLOCK_MONOTONIC_COARSE` (about 5 ns through the vDSO, against about 23 ns
//! for `Instant::now` on the machines this crate is measured on), which
//! advances once per scheduler tick (1 to 4 ms). Elsewhere, and under miri
//! and loom, it is `Instant`. Times are nanoseconds since the pool was built.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

/// A function that tells the time, for [`PoolBuilder::clock`](crate::PoolBuilder::clock).
pub(crate) type ManualClock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Nanoseconds since a pool was built, on the lifecycle's clock.
pub(crate) struct Clock {
    source: Source,
}

enum Source {
    /// The system's coarse monotonic clock, and its reading at the start.
    Coarse { start: u64 },
    /// `Instant`, from the start.
    Precise { start: Instant },
    /// A clock the user gave, from its reading at the start. (Asserted
    /// unwind-safe so that `Pool` stays so: a panic in it leaves nothing
    /// half-changed, as it is only read.)
    Manual {
        now: AssertUnwindSafe<ManualClock>,
        start: Instant,
    },
}

impl Clock {
    /// The system's clock, coarse where that is cheaper.
    pub(crate) fn system() -> Self {
        let source = match coarse_now() {
            Some(start) => Source::Coarse { start },
            None => Source::Precise {
                start: Instant::now(),
            },
        };
        Clock { source }
    }

    /// A clock that `now` tells.
    pub(crate) fn manual(now: ManualClock) -> Self {
        let start = now();
        Clock {
            source: Source::Manual {
                now: AssertUnwindSafe(now),
                start,
            },
        }
    }

    /// Nanoseconds since the clock was made (saturating; never goes back).
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        match &self.source {
            Source::Coarse { start } => coarse_now().map_or(0, |now| now.saturating_sub(*start)),
            Source::Precise { start } => nanos(start.elapsed()),
            Source::Manual { now, start } => nanos(now().saturating_duration_since(*start)),
        }
    }
}

fn nanos(elapsed: core::time::Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// `CLOCK_MONOTONIC_COARSE` in nanoseconds, where it exists.
#[cfg(all(target_os = "linux", not(miri), not(loom)))]
#[inline]
fn coarse_now() -> Option<u64> {
    /// `struct timespec` on Linux (64-bit `time_t` and `long` on the 64-bit
    /// targets; on 32-bit ones both are `long`, the C type this mirrors).
    #[repr(C)]
    struct Timespec {
        tv_sec: core::ffi::c_long,
        tv_nsec: core::ffi::c_long,
    }
    /// From `<linux/time.h>`.
    const CLOCK_MONOTONIC_COARSE: core::ffi::c_int = 6;
    extern "C" {
        fn clock_gettime(clock: core::ffi::c_int, time: *mut Timespec) -> core::ffi::c_int;
    }
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` is the C library's (std links it on Linux),
    // with the signature declared above; it writes one `struct timespec`
    // through the pointer, which points to one that lives on our stack.
    #[allow(unsafe_code)]
    let status = unsafe { clock_gettime(CLOCK_MONOTONIC_COARSE, &mut time) };
    if status != 0 {
        return None;
    }
    let seconds = u64::try_from(time.tv_sec).ok()?;
    let nanos = u64::try_from(time.tv_nsec).ok()?;
    Some(seconds.saturating_mul(1_000_000_000).saturating_add(nanos))
}

/// No coarse clock here: `Instant` instead.
#[cfg(not(all(target_os = "linux", not(miri), not(loom))))]
#[inline]
fn coarse_now() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn the_system_clock_moves_forward() {
        let clock = Clock::system();
        let before = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        let after = clock.now();
        assert!(after >= before + 10_000_000, "{before} -> {after}");
    }

    #[test]
    fn a_manual_clock_reads_what_it_is_told() {
        let start = Instant::now();
        let offset = Arc::new(AtomicU64::new(0));
        let told = Arc::clone(&offset);
        let clock = Clock::manual(Arc::new(move || {
            start + Duration::from_nanos(told.load(Ordering::Relaxed))
        }));
        assert_eq!(clock.now(), 0);
        offset.store(1_500, Ordering::Relaxed);
        assert_eq!(clock.now(), 1_500);
    }
}
