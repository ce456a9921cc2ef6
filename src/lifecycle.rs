//! The item lifecycle: idle timeout, maximum lifetime and the check on reuse
//! (what each item's time stamps say about it), and `Pool::release_expired`
//! and `Pool::reaper`, which release idle items past their time.
//!
//! Each resource keeps two stamps on the lifecycle's clock (`clock.rs`):
//! *born*, when its item's `allocate` returned (stored only with
//! `max_lifetime`), and *idle since*, its latest put (stored only with
//! `idle_timeout` or `check_after_idle`). The holder writes them before the
//! swap of the state word that publishes them (the allocation, the put), so
//! whoever sees that swap sees them too.
//!
//! Where the settings are looked at:
//! - a get that reuses an idle item ([`Lifecycle::on_reuse`]): past its
//!   time, the item is released and the get allocates afresh with the charge
//!   it holds; idle for at least `check_after_idle`, it is checked first;
//! - a put past `max_lifetime` releases its item (a busy item is never idle
//!   long enough for a get or the reaper to see it expire);
//! - `release_expired` claims idle items past their time from the idle set
//!   (which holds one entry per idle resource, so it looks at allocated
//!   resources only), with [`state::expire`](crate::state::expire), and
//!   releases them outside the idle set's lock.
//!
//! A pool with none of the settings has its `LIFECYCLE` bit clear (see
//! `pool.rs`): a get of an idle item and a put never read the clock.

use core::future::Future;
use core::time::Duration;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::clock::Clock;
use crate::pool::{Pool, PoolInner};
use crate::stats::Tally;

/// What a get does with the idle item it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Use it as it is.
    Reuse,
    /// Run `AllocateRelease::check` on it first.
    Check,
    /// Past its idle timeout or its lifetime: release it and allocate afresh.
    Expired,
}

/// A resource's time stamps, in nanoseconds on the lifecycle's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamps {
    /// When its item's `allocate` returned.
    pub(crate) born: u64,
    /// When its item was last put.
    pub(crate) idle_since: u64,
}

/// A pool's lifecycle settings, in nanoseconds (`None`: not set).
pub(crate) struct Lifecycle {
    idle_timeout: Option<u64>,
    max_lifetime: Option<u64>,
    check_after_idle: Option<u64>,
    clock: Clock,
}

/// How much later than an item's expiry the reaper may look: the coarse
/// clock's tick, and some.
const REAPER_SLACK: Duration = Duration::from_millis(5);

impl Lifecycle {
    pub(crate) fn new(
        idle_timeout: Option<Duration>,
        max_lifetime: Option<Duration>,
        check_after_idle: Option<Duration>,
        clock: Clock,
    ) -> Self {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Lifecycle {
            idle_timeout: idle_timeout.map(nanos),
            max_lifetime: max_lifetime.map(nanos),
            check_after_idle: check_after_idle.map(nanos),
            clock,
        }
    }

    /// Whether any setting is used (and so puts and reuses must look).
    pub(crate) fn is_used(&self) -> bool {
        self.expires() || self.check_after_idle.is_some()
    }

    /// Whether items can expire (idle timeout or lifetime).
    pub(crate) fn expires(&self) -> bool {
        self.idle_timeout.is_some() || self.max_lifetime.is_some()
    }

    /// Whether puts stamp the time (idle timeout or check on reuse).
    pub(crate) fn stamps_puts(&self) -> bool {
        self.idle_timeout.is_some() || self.check_after_idle.is_some()
    }

    /// Whether allocations stamp the time (lifetime).
    pub(crate) fn stamps_births(&self) -> bool {
        self.max_lifetime.is_some()
    }

    /// The time now, on the lifecycle's clock.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// What a get does with an idle item stamped `stamps`, at `now`.
    pub(crate) fn on_reuse(&self, now: u64, stamps: Stamps) -> Verdict {
        if self.is_expired(now, stamps) {
            Verdict::Expired
        } else if self
            .check_after_idle
            .is_some_and(|after| now.saturating_sub(stamps.idle_since) >= after)
        {
            Verdict::Check
        } else {
            Verdict::Reuse
        }
    }

    /// Whether an idle item stamped `stamps` is past its time at `now`.
    pub(crate) fn is_expired(&self, now: u64, stamps: Stamps) -> bool {
        self.expires_at(stamps) <= now
    }

    /// Whether an item born at `born` is past its lifetime at `now` (at its put).
    pub(crate) fn outlived(&self, now: u64, born: u64) -> bool {
        self.max_lifetime
            .is_some_and(|lifetime| now.saturating_sub(born) >= lifetime)
    }

    /// When an idle item stamped `stamps` expires (`u64::MAX`: never).
    pub(crate) fn expires_at(&self, stamps: Stamps) -> u64 {
        let idle = self.idle_timeout.map_or(u64::MAX, |timeout| {
            stamps.idle_since.saturating_add(timeout)
        });
        let lifetime = self
            .max_lifetime
            .map_or(u64::MAX, |lifetime| stamps.born.saturating_add(lifetime));
        idle.min(lifetime)
    }

    /// How long the reaper sleeps, given the earliest expiry of an idle item
    /// (`u64::MAX`: none) at `now`: until then (and a little more, for the
    /// coarse clock), but no longer than a quarter of the shorter setting, so
    /// that an item put meanwhile is released at most that late.
    fn reaper_pause(&self, now: u64, next_expiry: u64) -> Duration {
        let shortest = self
            .idle_timeout
            .into_iter()
            .chain(self.max_lifetime)
            .min()
            .map_or(u64::MAX, |shortest| shortest / 4);
        let until = next_expiry.saturating_sub(now).min(shortest);
        Duration::from_nanos(until).saturating_add(REAPER_SLACK)
    }
}

impl PoolInner {
    /// Releases every idle item past its time (see [`Pool::release_expired`]),
    /// and returns how many, with the earliest expiry of an idle item kept.
    fn release_expired(&self) -> (usize, u64) {
        if !self.lifecycle.expires() {
            return (0, u64::MAX);
        }
        let now = self.lifecycle.now();
        let (claimed, retired, next_expiry) = self.idle.take_expired(now);
        let released = claimed.len();
        // A panicking `release` (or `Drop` of a handle) must not strand the
        // others: each is released, and the first panic goes on after.
        let mut panic = None;
        for victim in claimed {
            self.tallies.count(Tally::Expired);
            match catch_unwind(AssertUnwindSafe(|| victim.release_claimed())) {
                Ok(()) => self.free_charge(),
                // The charge was freed as the release unwound.
                Err(payload) => {
                    panic.get_or_insert(payload);
                }
            }
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(victim))) {
                panic.get_or_insert(payload);
            }
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(retired))) {
            panic.get_or_insert(payload);
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        (released, next_expiry)
    }
}

impl Pool {
    /// Releases, now and on the calling thread, every idle item past its
    /// [`idle_timeout`](crate::PoolBuilder::idle_timeout) or
    /// [`max_lifetime`](crate::PoolBuilder::max_lifetime), and returns how
    /// many (each counted in [`Totals::expired`](crate::Totals::expired)).
    /// Their charges go to waiting gets, or back to the pool.
    ///
    /// It looks at allocated resources only (the idle set holds one entry
    /// per idle resource), never at every resource the pool created, and no
    /// lock is held while `release` runs. Items in use are not touched: one
    /// past its lifetime is released at its put. Without either setting it
    /// returns 0 at once.
    ///
    /// Nothing needs to call it: a get that finds its item past its time
    /// releases it and allocates afresh. It frees the far side's resources
    /// (the server's connection) sooner; [`reaper`](Self::reaper) calls it
    /// periodically.
    ///
    /// # Panics
    ///
    /// If the `release` of an item panics: once every other expired item is
    /// released too (each charge is freed either way), with the first such
    /// panic.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use resourcepool::{AllocateRelease, Pool};
    /// use std::time::Duration;
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = ();
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// }
    ///
    /// let pool = Pool::builder(4).idle_timeout(Duration::from_millis(20)).build();
    /// let conn = pool.create(Conn);
    /// drop(conn.get().await?); // idle from now
    /// assert_eq!(pool.release_expired(), 0);
    /// std::thread::sleep(Duration::from_millis(100));
    /// assert_eq!(pool.release_expired(), 1);
    /// assert!(!conn.is_allocated());
    /// assert_eq!(pool.stats().totals.expired, 1);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn release_expired(&self) -> usize {
        self.inner.release_expired().0
    }

    /// A future that releases expired items for as long as the pool lives:
    /// it calls [`release_expired`](Self::release_expired), sleeps with
    /// `sleep` until the next idle item could expire, and so on. Spawn it on
    /// any runtime, with that runtime's timer as `sleep`; the crate starts no
    /// thread and no task of its own.
    ///
    /// It sleeps until the earliest expiry of an idle item, but no longer
    /// than a quarter of the shorter of `idle_timeout` and `max_lifetime`
    /// (so an item put while it sleeps is released at most that late), plus
    /// 5 ms for the coarse clock. It holds the pool only weakly while it
    /// sleeps, and ends when the pool is closed or dropped (at once: both
    /// wake it). Without `idle_timeout` and `max_lifetime` it only waits for
    /// that.
    ///
    /// # Panics
    ///
    /// If the `release` of an expired item panics (see
    /// [`release_expired`](Self::release_expired)): the pool stays whole, and
    /// the reaper ends with that panic.
    ///
    /// # Cancel safety
    ///
    /// Dropping it stops the reaping and changes nothing else.
    ///
    /// # Examples
    ///
    /// On tokio (`sleep` yields `()`):
    ///
    /// ```
    /// use resourcepool::Pool;
    /// use std::time::Duration;
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// # runtime.block_on(async {
    /// let pool = Pool::builder(8).idle_timeout(Duration::from_secs(30)).build();
    /// let reaper = tokio::spawn(pool.reaper(tokio::time::sleep));
    /// // ... use the pool ...
    /// pool.close();
    /// reaper.await.expect("the reaper ends on close");
    /// # });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// On smol (its timer yields an `Instant`: any output will do):
    ///
    /// ```
    /// use resourcepool::Pool;
    /// use std::time::Duration;
    ///
    /// smol::block_on(async {
    ///     let pool = Pool::builder(8).max_lifetime(Duration::from_secs(600)).build();
    ///     let reaper = smol::spawn(pool.reaper(smol::Timer::after));
    ///     drop(pool); // the last handle: the reaper ends
    ///     reaper.await;
    /// });
    /// ```
    pub fn reaper<S, F>(&self, mut sleep: S) -> impl Future<Output = ()> + Send + 'static
    where
        S: FnMut(Duration) -> F + Send + 'static,
        F: Future + Send,
    {
        let pool = Arc::downgrade(&self.inner);
        async move {
            loop {
                let (pause, woken) = {
                    let Some(inner) = pool.upgrade() else { return };
                    // Listen before the look: a close after it wakes us.
                    let woken = inner.closing.listen();
                    if inner.is_closed() {
                        return;
                    }
                    let (_, next_expiry) = inner.release_expired();
                    let pause = if inner.lifecycle.expires() {
                        inner
                            .lifecycle
                            .reaper_pause(inner.lifecycle.now(), next_expiry)
                    } else {
                        Duration::MAX
                    };
                    (pause, woken)
                };
                let sleeping = async {
                    if pause == Duration::MAX {
                        // Only a close or a drop ends this wait.
                        core::future::pending::<()>().await;
                    }
                    sleep(pause).await;
                };
                futures_lite::future::or(sleeping, woken).await;
            }
        }
    }
}
