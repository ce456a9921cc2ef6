//! `Stats`, and the counters the pool keeps to report them exactly without a
//! shared counter on the hot path.

use crate::sync::{AtomicUsize, Ordering};

/// A snapshot of a pool's occupancy, from [`Pool::stats`](crate::Pool::stats).
///
/// Exact when no operation is in flight; while gets and puts run on other
/// threads each field is a recent value, and the fields may come from slightly
/// different instants. Taking it looks at every allocated resource (the hot
/// paths keep no shared counter), so it costs time linear in their number.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use resourcepool::{AllocateRelease, Pool};
///
/// struct Conn;
/// impl AllocateRelease for Conn {
///     type Item = ();
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
/// }
///
/// let pool = Pool::new(2);
/// let resource = pool.create(Conn);
/// let guard = resource.get().await?;
/// assert_eq!(pool.stats().in_use, 1);
/// drop(guard);
/// let stats = pool.stats();
/// assert_eq!((stats.max, stats.in_use, stats.idle), (2, 0, 1));
/// # Ok::<(), resourcepool::Error<std::io::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The limit on allocated items, as given to [`Pool::new`](crate::Pool::new).
    pub max: usize,
    /// Items held by a `Guard`, and allocations in progress.
    pub in_use: usize,
    /// Items allocated and not held: reusable by their resource, evictable by others.
    pub idle: usize,
    /// Calls of [`AllocateRelease::allocate`](crate::AllocateRelease::allocate) in progress.
    pub allocating: usize,
    /// Calls of [`AllocateRelease::release`](crate::AllocateRelease::release) in progress.
    pub releasing: usize,
}

/// The counts behind [`Stats`], changed only when an item is allocated or
/// released. The hot paths (a get of an idle item, a put) change none of them:
/// the idle count is derived from the idle set when asked for.
pub(crate) struct Counters {
    /// Items in slots: idle or in use.
    pub(crate) allocated: AtomicUsize,
    /// `allocate` calls in progress.
    pub(crate) allocating: AtomicUsize,
    /// `release` calls in progress.
    pub(crate) releasing: AtomicUsize,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            allocated: AtomicUsize::new(0),
            allocating: AtomicUsize::new(0),
            releasing: AtomicUsize::new(0),
        }
    }

    /// The stats, given the number of idle items.
    pub(crate) fn stats(&self, max: usize, idle: usize) -> Stats {
        let allocating = self.allocating.load(Ordering::Relaxed);
        let allocated = self.allocated.load(Ordering::Relaxed);
        Stats {
            max,
            in_use: allocating + allocated.saturating_sub(idle),
            idle,
            allocating,
            releasing: self.releasing.load(Ordering::Relaxed),
        }
    }
}

/// Adds one to a cold-path counter.
pub(crate) fn increment(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Takes one from a cold-path counter.
pub(crate) fn decrement(counter: &AtomicUsize) {
    counter.fetch_sub(1, Ordering::Relaxed);
}
