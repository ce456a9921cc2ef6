//! `Stats`, and the counters behind them: one word, changed only when an
//! item is allocated or released, so that one load reads all three counts
//! as they were at one instant.
//!
//! # Layout
//!
//! ```text
//! bits    name        counts
//! 0..21   ALLOCATED   items in slots: idle or in use
//! 21..42  ALLOCATING  `AllocateRelease::allocate` calls in progress
//! 42..63  RELEASING   `AllocateRelease::release` calls in progress
//! 63      (unused, zero)
//! ```
//!
//! Every change is one read-modify-write of the word. `add` and `remove` add
//! or subtract one field's one; `shift`, an item moving from one count to
//! another (allocating to allocated, allocated to releasing), adds the packed
//! difference, `to`'s one minus `from`'s, in wrapping arithmetic. No field
//! ever goes below zero or above its width, so that sum borrows from one
//! field and carries into the other exactly as the two separate changes
//! would, and nobody can see the item counted twice or not at all. A reading
//! is one load.
//!
//! # Why no field overflows
//!
//! The callers count an item only while it holds one of the pool's charges:
//! an allocation is counted after its charge was taken, and uncounted before
//! the charge is freed; a release is uncounted before its charge is freed or
//! passed to the get that evicted it, which counts its own allocation only
//! after that. Charges pass between threads through `SeqCst`
//! read-modify-writes of the pool's `used`, or under the wait queue's lock (a
//! grant, or an item handed over), so a change made before a charge is freed
//! happens before, and so comes before in the word's modification order, a
//! change made after that charge is taken again. Every value the word takes
//! therefore has `allocated + allocating + releasing` at most the number of
//! charges taken, which is at most `max`, and a pool's `max` is at most
//! [`MAX_COUNT`], what a field holds: `PoolBuilder::build` refuses more.
//!
//! # What `stats` guarantees
//!
//! The idle count is not in the word (a get of an idle item and a put change
//! no shared counter): the pool counts the idle resources of its idle set
//! when asked, at a slightly different instant. `stats` clamps it to the
//! allocated count it read, and derives `in_use = allocating + allocated -
//! idle`. So, whatever runs meanwhile, `allocating`, `releasing` and
//! `in_use + idle` (which is `allocating + allocated`) are from one instant,
//! only the split of the allocated items between `in_use` and `idle` may be
//! from a nearby one, and `in_use + idle + releasing <= max`.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a pool's occupancy, from [`Pool::stats`](crate::Pool::stats).
///
/// Exact when no operation is in flight. While gets, puts and releases run
/// on other threads it still describes a state that could exist: each of
/// `in_use`, `idle`, `allocating` and `releasing` is at most `max`, and so is
/// `in_use + idle + releasing`. `allocating`, `releasing` and `in_use + idle`
/// are counted at one instant; which of those allocated items are idle and
/// which in use is counted at a nearby one. Taking it looks at every entry
/// of the pool's idle set (about one per allocated resource), so it costs
/// time linear in their number.
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

/// The most any count can hold, and so the largest `max` a pool accepts:
/// 2^21 - 1 (2,097,151) items. Checked where a pool is built (and wherever
/// its `max` may change).
pub(crate) const MAX_COUNT: usize = (1 << FIELD_BITS) - 1;

/// The width of each count in the word.
const FIELD_BITS: u32 = 21;

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

impl Count {
    /// Where the count starts in the word.
    const fn shift(self) -> u32 {
        match self {
            Count::Allocated => 0,
            Count::Allocating => FIELD_BITS,
            Count::Releasing => 2 * FIELD_BITS,
        }
    }

    /// One item of this count, in the word.
    const fn one(self) -> u64 {
        1 << self.shift()
    }

    /// This count, read from the word.
    const fn of(self, word: u64) -> usize {
        ((word >> self.shift()) & MAX_COUNT as u64) as usize
    }
}

/// The counts behind [`Stats`], packed in one word (see the module docs),
/// changed only when an item is allocated or released. The hot paths (a get
/// of an idle item, a put) change none of them: the idle count is derived
/// from the idle set when asked for.
///
/// Callers change a count only for an item that holds a charge (see "Why no
/// field overflows"), and never remove what they did not add.
pub(crate) struct Counters {
    /// On its own cache line: allocations and releases on every core write
    /// it, and the pool's other fields are read on hotter paths.
    word: CachePadded<AtomicU64>,
}

impl Counters {
    pub(crate) fn new() -> Self {
        Self {
            word: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// One more of `count`.
    pub(crate) fn add(&self, count: Count) {
        let old = self.word.fetch_add(count.one(), Ordering::Relaxed);
        debug_assert!(count.of(old) < MAX_COUNT, "{count:?} overflows: {old:#x}");
    }

    /// One less of `count`.
    pub(crate) fn remove(&self, count: Count) {
        let old = self.word.fetch_sub(count.one(), Ordering::Relaxed);
        debug_assert!(count.of(old) > 0, "{count:?} underflows: {old:#x}");
    }

    /// One item moves from `from` to `to`, in one step: no reader sees it in
    /// both counts or in neither.
    pub(crate) fn shift(&self, from: Count, to: Count) {
        let delta = to.one().wrapping_sub(from.one());
        let old = self.word.fetch_add(delta, Ordering::Relaxed);
        debug_assert!(
            from.of(old) > 0 && to.of(old) < MAX_COUNT,
            "{from:?} to {to:?} leaves a field: {old:#x}"
        );
    }

    /// The stats, given the number of idle items (counted apart from the word,
    /// at about the same instant).
    pub(crate) fn stats(&self, max: usize, idle: usize) -> Stats {
        let word = self.word.load(Ordering::Relaxed);
        let allocated = Count::Allocated.of(word);
        let allocating = Count::Allocating.of(word);
        let idle = idle.min(allocated);
        Stats {
            max,
            in_use: allocating + allocated - idle,
            idle,
            allocating,
            releasing: Count::Releasing.of(word),
        }
    }
}
