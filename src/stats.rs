//! `Stats`, and the counters the pool keeps to report them exactly without a
//! shared counter on the hot path.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicIsize, AtomicUsize, Ordering};

/// A snapshot of a pool's occupancy, from [`Pool::stats`](crate::Pool::stats).
///
/// Exact when no operation is in flight; while gets and puts run on other
/// threads each field is a recent value, and the fields may come from slightly
/// different instants.
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

/// How many stripes `held` has: enough for the cores of a large machine, so
/// that gets and puts on different cores rarely share a cache line.
#[cfg(not(loom))]
const STRIPES: usize = 32;
#[cfg(loom)]
const STRIPES: usize = 2;

/// A counter split into cache-line-sized stripes, one picked per thread.
/// Adding touches one line that other cores rarely write; reading sums them.
pub(crate) struct StripedCounter {
    stripes: [CachePadded<AtomicIsize>; STRIPES],
}

impl StripedCounter {
    fn new() -> Self {
        Self {
            stripes: core::array::from_fn(|_| CachePadded::new(AtomicIsize::new(0))),
        }
    }

    #[inline]
    pub(crate) fn add(&self, delta: isize) {
        self.stripes[stripe_index() % STRIPES].fetch_add(delta, Ordering::Relaxed);
    }

    fn sum(&self) -> usize {
        let total: isize = self
            .stripes
            .iter()
            .map(|stripe| stripe.load(Ordering::Relaxed))
            .sum();
        total.max(0) as usize
    }
}

/// This thread's stripe: threads are numbered in the order they first count.
#[inline]
fn stripe_index() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};

    static NEXT: StdAtomicUsize = StdAtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|index| {
        let mut value = index.get();
        if value == usize::MAX {
            value = NEXT.fetch_add(1, StdOrdering::Relaxed) % STRIPES;
            index.set(value);
        }
        value
    })
}

/// The counts behind [`Stats`]. Only `held` changes on the hot path.
pub(crate) struct Counters {
    /// Resources in use with an item (a `Guard` exists).
    pub(crate) held: StripedCounter,
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
            held: StripedCounter::new(),
            allocated: AtomicUsize::new(0),
            allocating: AtomicUsize::new(0),
            releasing: AtomicUsize::new(0),
        }
    }

    pub(crate) fn stats(&self, max: usize) -> Stats {
        let held = self.held.sum();
        let allocating = self.allocating.load(Ordering::Relaxed);
        Stats {
            max,
            in_use: held + allocating,
            idle: self.allocated.load(Ordering::Relaxed).saturating_sub(held),
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
