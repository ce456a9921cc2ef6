//! `PoolBuilder`: a pool's settings, each with its default.

use core::time::Duration;

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
}

impl PoolBuilder {
    pub(crate) fn new(max: usize) -> Self {
        PoolBuilder {
            max,
            handoff_after: DEFAULT_HANDOFF_AFTER,
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
