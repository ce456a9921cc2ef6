//! `PoolBuilder`: a pool's settings, each with its default.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use crate::clock::ManualClock;
use crate::pool::Pool;

/// How long the longest waiting get may wait for capacity before a put hands
/// its charge to it, unless set otherwise.
pub(crate) const DEFAULT_HANDOFF_AFTER: Duration = Duration::from_millis(1);

/// The settings of a [`Pool`], from [`Pool::builder`].
///
/// `Pool::new(max)` is `Pool::builder(max).build()`: every setting has a
/// default, and a setting left at its default costs the hot paths nothing.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resourcepool::Pool;
///
/// let pool = Pool::builder(16)
///     .handoff_after(Duration::from_millis(5))
///     .build();
/// assert_eq!(pool.max(), 16);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    pub(crate) max: usize,
    pub(crate) handoff_after: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) check_after_idle: Option<Duration>,
    pub(crate) clock: Option<ClockFn>,
}

/// The clock given to [`PoolBuilder::clock`].
#[derive(Clone)]
pub(crate) struct ClockFn(pub(crate) ManualClock);

impl fmt::Debug for ClockFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClockFn(..)")
    }
}

impl PoolBuilder {
    pub(crate) fn new(max: usize) -> Self {
        PoolBuilder {
            max,
            handoff_after: DEFAULT_HANDOFF_AFTER,
            idle_timeout: None,
            max_lifetime: None,
            check_after_idle: None,
            clock: None,
        }
    }

    /// How long the longest waiting get may wait for capacity before the next
    /// put (or release) serves it directly. Default: 1 ms.
    ///
    /// While gets wait for capacity, a put keeps its item idle (a pool exists
    /// to reuse items) and wakes the longest waiting get, which evicts the
    /// least recently used idle item. A resource whose task gets it again at
    /// once can win that race, so a waiter could be passed over again and
    /// again; once the longest waiting get has waited longer than
    /// `handoff_after`, the next put releases its item and hands the charge to
    /// that get, and no get that came later may take it (as Go's
    /// `sync.Mutex` does after 1 ms, and parking_lot's eventual fairness).
    ///
    /// - `Duration::ZERO`: every put hands over while a get waits (strict
    ///   FIFO: fair, but an oversubscribed pool then allocates on nearly every
    ///   get).
    /// - `Duration::MAX`: never hand over (most reuse; a waiter may wait as
    ///   long as others keep re-getting their items).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let strict_fifo = resourcepool::Pool::builder(4).handoff_after(Duration::ZERO).build();
    /// # drop(strict_fifo);
    /// ```
    pub fn handoff_after(mut self, delay: Duration) -> Self {
        self.handoff_after = delay;
        self
    }

    /// Releases items that stay idle for longer than `timeout`. Default: none.
    ///
    /// An idle item past its timeout is released by
    /// [`Pool::release_expired`] (or the [`Pool::reaper`] that calls it), or
    /// by the get that finds it, which then allocates afresh with the charge
    /// it already holds. Counted in [`Totals::expired`](crate::Totals::expired).
    /// Idle times are measured on a coarse clock: on Linux they may be off
    /// by a scheduler tick (1 to 4 ms).
    ///
    /// With this setting, every put reads that clock (about 5 ns on Linux),
    /// and so does every get of an idle item.
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
    /// let pool = Pool::builder(2).idle_timeout(Duration::from_millis(20)).build();
    /// let conn = pool.create(Conn);
    /// drop(conn.get().await?);
    /// std::thread::sleep(Duration::from_millis(100));
    /// drop(conn.get().await?); // found expired: released, allocated afresh
    /// let totals = pool.stats().totals;
    /// assert_eq!((totals.expired, totals.allocations), (1, 2));
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Releases items older than `lifetime` (since their `allocate`
    /// returned). Default: none.
    ///
    /// An item past its lifetime is released at its next put, or, if it is
    /// idle, by [`Pool::release_expired`] (or the [`Pool::reaper`]) or by the
    /// get that finds it (which then allocates afresh with the charge it
    /// holds). Counted in [`Totals::expired`](crate::Totals::expired).
    /// Measured on the same coarse clock as [`idle_timeout`](Self::idle_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # use std::time::Duration;
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let pool = Pool::builder(2).max_lifetime(Duration::from_millis(20)).build();
    /// let conn = pool.create(Conn);
    /// let guard = conn.get().await?;
    /// std::thread::sleep(Duration::from_millis(100));
    /// drop(guard); // past its lifetime: released at this put
    /// assert!(!conn.is_allocated());
    /// assert_eq!(pool.stats().totals.expired, 1);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime);
        self
    }

    /// A get that reuses an item idle for at least `after` first awaits
    /// [`AllocateRelease::check`](crate::AllocateRelease::check) on it
    /// (`Duration::ZERO`: on every reuse). Default: never check.
    ///
    /// If the check fails, the item is released (counted in
    /// [`Totals::check_failures`](crate::Totals::check_failures)) and the get
    /// allocates afresh with the charge it holds; see `check` for panics and
    /// cancellation. Idle times are measured as for
    /// [`idle_timeout`](Self::idle_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// // Ping a connection that sat idle for a second or more before reusing it.
    /// let pool = resourcepool::Pool::builder(8).check_after_idle(Duration::from_secs(1)).build();
    /// # drop(pool);
    /// ```
    pub fn check_after_idle(mut self, after: Duration) -> Self {
        self.check_after_idle = Some(after);
        self
    }

    /// The clock that [`idle_timeout`](Self::idle_timeout),
    /// [`max_lifetime`](Self::max_lifetime) and
    /// [`check_after_idle`](Self::check_after_idle) measure time with.
    /// Default: the system's monotonic clock (coarse on Linux).
    ///
    /// For tests: a clock that the test moves forward makes expiry exact and
    /// instant. It is read on every put and every get of an idle item, so it
    /// must be cheap, and it must never go back. ([`Pool::reaper`] still
    /// sleeps with the timer it is given, for durations on this clock.)
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// use std::sync::{Arc, Mutex};
    /// use std::time::{Duration, Instant};
    ///
    /// let now = Arc::new(Mutex::new(Instant::now()));
    /// let clock = Arc::clone(&now);
    /// let pool = Pool::builder(1)
    ///     .idle_timeout(Duration::from_secs(60))
    ///     .clock(move || *clock.lock().unwrap())
    ///     .build();
    /// let conn = pool.create(Conn);
    /// drop(conn.get().await?);
    /// *now.lock().unwrap() += Duration::from_secs(61);
    /// assert_eq!(pool.release_expired(), 1);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn clock(mut self, now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        self.clock = Some(ClockFn(Arc::new(now)));
        self
    }

    /// Creates the pool.
    ///
    /// # Panics
    ///
    /// If `max` (given to [`Pool::builder`]) is zero: no resource could ever
    /// be got. If it is above 2,097,151 (2^21 - 1): the pool counts its
    /// allocated, allocating and releasing items in one 64-bit word, so that
    /// [`Pool::stats`] reads them at one instant.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = resourcepool::Pool::builder(900).build();
    /// assert_eq!(pool.max(), 900);
    /// ```
    pub fn build(self) -> Pool {
        Pool::from_builder(self)
    }
}
