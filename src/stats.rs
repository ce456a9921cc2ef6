//! `Stats`, and the counters the pool keeps to report them exactly without a
//! shared counter on the hot path.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicIsize, Ordering};

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

/// How many stripes the counters have: enough for the cores of a large
/// machine, so that allocations and releases on different cores rarely write
/// the same cache line.
#[cfg(not(loom))]
const STRIPES: usize = 16;
#[cfg(loom)]
const STRIPES: usize = 2;

/// Which count a change is to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Count {
    /// Items in slots: idle or in use.
    Allocated,
    /// `allocate` calls in progress.
    Allocating,
    /// `release` calls in progress.
    Releasing,
}

/// One thread's share of the counts (a stripe may be shared by threads).
#[derive(Default)]
struct Stripe {
    allocated: AtomicIsize,
    allocating: AtomicIsize,
    releasing: AtomicIsize,
}

impl Stripe {
    fn count(&self, count: Count) -> &AtomicIsize {
        match count {
            Count::Allocated => &self.allocated,
            Count::Allocating => &self.allocating,
            Count::Releasing => &self.releasing,
        }
    }
}

/// The counts behind [`Stats`], changed only when an item is allocated or
/// released, each change on the current thread's stripe; reading sums the
/// stripes. The hot paths (a get of an idle item, a put) change none of them:
/// the idle count is derived from the idle set when asked for.
pub(crate) struct Counters {
    stripes: [CachePadded<Stripe>; STRIPES],
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            stripes: core::array::from_fn(|_| CachePadded::default()),
        }
    }

    fn stripe(&self) -> &Stripe {
        &self.stripes[stripe_index() % STRIPES]
    }

    /// One more of `count`.
    pub(crate) fn add(&self, count: Count) {
        self.stripe().count(count).fetch_add(1, Ordering::Relaxed);
    }

    /// One less of `count`.
    pub(crate) fn remove(&self, count: Count) {
        self.stripe().count(count).fetch_sub(1, Ordering::Relaxed);
    }

    /// One item moves from `from` to `to`.
    pub(crate) fn shift(&self, from: Count, to: Count) {
        let stripe = self.stripe();
        stripe.count(from).fetch_sub(1, Ordering::Relaxed);
        stripe.count(to).fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self, count: Count) -> usize {
        let sum: isize = self
            .stripes
            .iter()
            .map(|stripe| stripe.count(count).load(Ordering::Relaxed))
            .sum();
        sum.max(0) as usize
    }

    /// The stats, given the number of idle items.
    pub(crate) fn stats(&self, max: usize, idle: usize) -> Stats {
        let allocating = self.total(Count::Allocating);
        Stats {
            max,
            in_use: allocating + self.total(Count::Allocated).saturating_sub(idle),
            idle,
            allocating,
            releasing: self.total(Count::Releasing),
        }
    }
}

/// This thread's stripe: threads are numbered in the order they first count.
fn stripe_index() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|index| {
        if index.get() == usize::MAX {
            index.set(NEXT.fetch_add(1, StdOrdering::Relaxed));
        }
        index.get()
    })
}
