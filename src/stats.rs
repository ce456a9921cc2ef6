//! `Stats`, and the counters behind them.
//!
//! - The occupancy (`allocated`, `allocating`, `releasing`): one word,
//!   changed only when an item is allocated or released, so that one load
//!   reads all three counts as they were at one instant.
//! - The totals ([`Totals`]): cumulative counts of the slow paths' events,
//!   kept in per-thread stripes, so that no event makes threads write one
//!   cache line; and the number of gets waiting for a resource.
//!
//! The hot paths (a get of an idle item, a put that keeps its item) change
//! none of them and read no clock: none of the events counted happens there.
//!
//! # Layout of the occupancy word
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
//!
//! # The totals
//!
//! Each thread adds its events to one of [`STRIPES`] stripes, each on its own
//! cache line; a reading sums the stripes. Threads are numbered in the order
//! they first count: the first [`OWNED`] own a stripe each and add to it with
//! a relaxed load and store, as its only writer (no read-modify-write on a
//! get's slow path); later threads share the other stripes and add with
//! relaxed `fetch_add`s. A stripe's counts only grow, and a later load of an atomic never returns an
//! older value than an earlier one did, so a reading that starts after
//! another finished (on the same thread, or on one that learned of it) finds
//! every total at least as large. The stripes are read one after the other,
//! so the totals of one reading may come from slightly different instants;
//! once nothing runs, each is exact.
//!
//! A get on its slow path carries a [`GetRecord`]: it times its waits (a
//! clock read when a wait first suspends the get, and one when that wait
//! ends), and adds one wait and their summed time when it has stopped
//! waiting for good; and it counts how the get ended. `wait_time` is kept in
//! whole microseconds and, apart, the nanoseconds below a microsecond (each
//! wait adds fewer than 1,000 there), so that neither count overflows in any
//! plausible lifetime (2^64 microseconds are 584,000 years).
//!
//! The totals and the resource-waiter count use std's atomics even under
//! `--cfg loom`: they order nothing and decide nothing (only `stats` reads
//! them), so loom need not explore their interleavings.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::atomic as plain;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a pool's occupancy, waiters and totals, from
/// [`Pool::stats`](crate::Pool::stats).
///
/// Exact when no operation is in flight. While gets, puts and releases run
/// on other threads it still describes a state that could exist: each of
/// `in_use`, `idle`, `allocating` and `releasing` is at most `max`, and so is
/// `in_use + idle + releasing`. `allocating`, `releasing` and `in_use + idle`
/// are counted at one instant; which of those allocated items are idle and
/// which in use is counted at a nearby one. `waiting` and `totals` are read
/// apart from those, at nearby instants (see [`Totals`]). Taking it looks at
/// every entry of the pool's idle set (about one per allocated resource), so
/// it costs time linear in their number.
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
/// assert_eq!((stats.max, stats.in_use, stats.idle, stats.waiting), (2, 0, 1, 0));
/// assert_eq!(stats.totals.allocations, 1);
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
    /// Items being freed: calls of
    /// [`AllocateRelease::release`](crate::AllocateRelease::release) or
    /// [`AllocateRelease::shutdown`](crate::AllocateRelease::shutdown) in
    /// progress. They still count against `max`.
    pub releasing: usize,
    /// Gets waiting now: for their resource's hold (another `Guard` of it is
    /// alive), for their resource's previous item to finish its release, or
    /// for the pool's capacity. A get counts once however many of those it
    /// waits for, one after the other. A get waits for its resource from the
    /// moment the wait first leaves it pending; for capacity, from the moment
    /// it joins the pool's wait queue (after its first look found nothing and
    /// its cancel future was not complete) until it leaves it. A
    /// [`try_get`](crate::Resource::try_get) never waits.
    pub waiting: usize,
    /// What the pool's gets, evictions, hand-offs and releases did since the
    /// pool was created: cumulative, never smaller in a later reading.
    pub totals: Totals,
}

/// Cumulative counts of what a pool did since it was created, in
/// [`Stats::totals`].
///
/// Every total only grows. They count the events of the slow paths (a get
/// that waits, gives up, allocates or evicts; a release), never of the hot
/// paths: a get of an idle item and a put that keeps its item count nothing,
/// so keeping the totals costs them nothing.
///
/// Each thread counts in a stripe of its own, and a reading sums the stripes
/// one after the other. Once nothing runs, every total is exact. While other
/// threads work, each total is at least what it was when the reading started
/// and at most what it is when the reading ends, the totals of one reading
/// may come from slightly different instants (a get's wait may be in `waits`
/// and not yet in `wait_time`), and a reading that starts after another one
/// finished (on the same thread, or on one that learned of that reading) has
/// every total at least as large.
///
/// Every item that `allocate` returned leaves its resource in exactly one of
/// `evictions`, `handoffs`, `expired`, `check_failures`, `released` and
/// `shed`, so once nothing runs, `allocations` minus those six is the number
/// of items allocated now (in use or idle, not those still allocating).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use resourcepool::{AllocateRelease, Error, Pool};
///
/// struct Conn;
/// impl AllocateRelease for Conn {
///     type Item = ();
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
/// }
///
/// let pool = Pool::new(1);
/// let (a, b) = (pool.create(Conn), pool.create(Conn));
/// drop(a.get().await?); // allocates a's item
/// drop(a.get().await?); // reuses it: counts nothing
/// let held = b.get().await?; // evicts a's item, allocates b's
/// // Refused (the only charge is held): gives up without waiting.
/// assert!(matches!(a.try_get().await, Err(Error::ResourceLimitExceeded)));
/// held.release()?; // released by the caller
///
/// let totals = pool.stats().totals;
/// assert_eq!((totals.allocations, totals.evictions, totals.released), (2, 1, 1));
/// assert_eq!((totals.waits, totals.cancelled), (0, 1));
/// assert_eq!(totals.allocations - totals.evictions - totals.handoffs - totals.released, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Totals {
    /// Gets that had to wait: whose future was left pending while it waited
    /// for its resource's hold (another `Guard` of it was alive), for its
    /// resource's previous item to finish its release, or for the pool's
    /// capacity. One per get, however many of those it waited for. Counted
    /// once the get waits no more: when it has its charge (before
    /// `allocate`), is served, gives up or is dropped. A get of an idle item,
    /// a [`try_get`](crate::Resource::try_get), and a get whose cancel future
    /// is already complete never wait; nor does a get that evicts an idle
    /// item.
    pub waits: u64,
    /// The sum of the waits counted in `waits`: each from the moment it first
    /// left its get pending to the moment it ended (served, cancelled or
    /// dropped); for a get that waited for its resource and then for
    /// capacity, both waits. Never the time spent looking for capacity,
    /// releasing an evicted item, or in `allocate`. Added when `waits` is.
    pub wait_time: Duration,
    /// Gets that gave up: that failed with
    /// [`PutTimeout`](crate::Error::PutTimeout) or
    /// [`ResourceLimitExceeded`](crate::Error::ResourceLimitExceeded) (their
    /// cancel future completed, or a [`try_get`](crate::Resource::try_get)
    /// was refused), or whose future was dropped before it returned: while it
    /// waited, or while its `allocate` ran (that `allocate` then counts in
    /// neither `allocations` nor `allocation_errors`). Counted when the get
    /// returns or is dropped. A get that panics is not counted here (a panic
    /// of `allocate` counts in `allocation_errors`).
    pub cancelled: u64,
    /// Calls of [`AllocateRelease::allocate`](crate::AllocateRelease::allocate)
    /// that returned `Ok`: the items allocated. Counted when `allocate`
    /// returns.
    pub allocations: u64,
    /// Calls of `allocate` that returned `Err` (the get failed with
    /// [`Error::Allocate`](crate::Error::Allocate)) or panicked. Counted when
    /// `allocate` returns or unwinds.
    pub allocation_errors: u64,
    /// Idle items released to make room for another resource's get: counted
    /// when that get claims the least recently used idle item, before it
    /// releases it.
    pub evictions: u64,
    /// Items that a put handed to a get that had waited for capacity longer
    /// than [`handoff_after`](crate::PoolBuilder::handoff_after), to release
    /// and allocate with their charge (rather than keep them idle). Counted
    /// at that put.
    pub handoffs: u64,
    /// Items released because they outlived
    /// [`idle_timeout`](crate::PoolBuilder::idle_timeout) or
    /// [`max_lifetime`](crate::PoolBuilder::max_lifetime): by
    /// [`Pool::release_expired`](crate::Pool::release_expired) (and so the
    /// reaper), by the get that found them idle, or at their put. Counted
    /// when the release starts.
    pub expired: u64,
    /// Items released because [`AllocateRelease::check`](crate::AllocateRelease::check)
    /// failed or panicked on reuse (see
    /// [`check_after_idle`](crate::PoolBuilder::check_after_idle)). Counted
    /// when the release starts.
    pub check_failures: u64,
    /// Items released by their users: by [`Guard::release`](crate::Guard::release),
    /// by [`Resource::schedule_release`](crate::Resource::schedule_release)
    /// (at once if the item was idle, or at the next put), and by dropping the
    /// last handle of a resource whose item was idle, and by dropping a get
    /// while its [`check`](crate::AllocateRelease::check) ran. Counted when
    /// the release starts.
    pub released: u64,
    /// Items released because the pool was closed ([`Pool::close`](crate::Pool::close)):
    /// idle ones at the close, the others at their put. (An item a put had
    /// handed to a waiting get that the close failed counts in `handoffs`.)
    /// Counted when the release starts.
    pub shed: u64,
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
    /// at about the same instant), the number of waiting gets and the totals.
    pub(crate) fn stats(&self, max: usize, idle: usize, waiting: usize, totals: Totals) -> Stats {
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
            waiting,
            totals,
        }
    }
}

/// How many stripes the totals have: enough for the cores of a large
/// machine, so that threads on different cores rarely write the same line.
const STRIPES: usize = 16;

/// The first threads to count own a stripe each, which no other thread
/// writes: they add with a plain load and store (no read-modify-write).
/// Later threads share the remaining `STRIPES - OWNED` stripes, adding with
/// `fetch_add`.
const OWNED: usize = 12;

/// An event of a slow path, counted in one total.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Tally {
    /// A get gave up (see [`Totals::cancelled`]).
    Cancelled,
    /// `allocate` returned `Ok`.
    Allocation,
    /// `allocate` returned `Err` or panicked.
    AllocationError,
    /// A get claimed an idle victim.
    Eviction,
    /// A put handed its item to a waiting get.
    Handoff,
    /// A caller's release started.
    Released,
    /// A release because the pool was closed, or shrunk, started.
    Shed,
    /// A release of an item past its idle timeout or lifetime started.
    Expired,
    /// A release of an item that failed its check started.
    CheckFailure,
}

/// How many kinds of [`Tally`] there are.
const EVENTS: usize = 9;

/// One thread's share of the totals (a stripe may be shared by threads).
#[derive(Default)]
struct Stripe {
    /// Counts of each [`Tally`], by its discriminant.
    events: [plain::AtomicU64; EVENTS],
    waits: plain::AtomicU64,
    /// The waits' whole microseconds.
    wait_micros: plain::AtomicU64,
    /// The waits' nanoseconds below a microsecond: fewer than 1,000 each.
    wait_nanos: plain::AtomicU64,
}

/// The totals (see the module docs) and the number of gets waiting for a
/// resource. Changed only on the slow paths, never by a get of an idle item
/// or a put that keeps its item.
pub(crate) struct Tallies {
    stripes: [CachePadded<Stripe>; STRIPES],
    /// Gets whose wait for their resource (its hold, or its previous item's
    /// release) left them pending, and that still wait. Changed when such a
    /// wait starts and ends (a slow path).
    resource_waiters: CachePadded<plain::AtomicUsize>,
}

impl Tallies {
    pub(crate) fn new() -> Self {
        Tallies {
            stripes: core::array::from_fn(|_| CachePadded::default()),
            resource_waiters: CachePadded::default(),
        }
    }

    /// This thread's stripe, and whether the thread owns it.
    fn stripe(&self) -> (&Stripe, bool) {
        let index = stripe_index();
        if index < OWNED {
            (&self.stripes[index], true)
        } else {
            (
                &self.stripes[OWNED + (index - OWNED) % (STRIPES - OWNED)],
                false,
            )
        }
    }

    /// One more `event`.
    #[cold]
    pub(crate) fn count(&self, event: Tally) {
        let (stripe, owned) = self.stripe();
        add(&stripe.events[event as usize], 1, owned);
    }

    /// One more get that waited, for `time` in all.
    #[cold]
    fn count_wait(&self, time: Duration) {
        let (stripe, owned) = self.stripe();
        add(&stripe.waits, 1, owned);
        let micros = u64::try_from(time.as_micros()).unwrap_or(u64::MAX);
        add(&stripe.wait_micros, micros, owned);
        let nanos = u64::from(time.subsec_nanos() % 1_000);
        add(&stripe.wait_nanos, nanos, owned);
    }

    /// Gets waiting now for their resource.
    pub(crate) fn resource_waiters(&self) -> usize {
        self.resource_waiters.load(plain::Ordering::Relaxed)
    }

    /// The totals: the stripes' sums, read one stripe after another.
    pub(crate) fn totals(&self) -> Totals {
        let relaxed = plain::Ordering::Relaxed;
        let sum = |read: &dyn Fn(&Stripe) -> u64| {
            self.stripes
                .iter()
                .fold(0u64, |sum, stripe| sum.saturating_add(read(stripe)))
        };
        let event = |event: Tally| sum(&|stripe| stripe.events[event as usize].load(relaxed));
        let micros = sum(&|stripe| stripe.wait_micros.load(relaxed));
        let nanos = sum(&|stripe| stripe.wait_nanos.load(relaxed));
        Totals {
            waits: sum(&|stripe| stripe.waits.load(relaxed)),
            wait_time: Duration::from_micros(micros).saturating_add(Duration::from_nanos(nanos)),
            cancelled: event(Tally::Cancelled),
            allocations: event(Tally::Allocation),
            allocation_errors: event(Tally::AllocationError),
            evictions: event(Tally::Eviction),
            handoffs: event(Tally::Handoff),
            expired: event(Tally::Expired),
            check_failures: event(Tally::CheckFailure),
            released: event(Tally::Released),
            shed: event(Tally::Shed),
        }
    }
}

/// Adds `n` to a total of a stripe: by its only writer (`owned`), with a
/// plain load and store, as nobody else can change it in between; otherwise
/// with `fetch_add`. Readers see the total only grow either way.
#[inline]
fn add(total: &plain::AtomicU64, n: u64, owned: bool) {
    let relaxed = plain::Ordering::Relaxed;
    if owned {
        total.store(total.load(relaxed).wrapping_add(n), relaxed);
    } else {
        total.fetch_add(n, relaxed);
    }
}

/// This thread's number: threads are numbered in the order they first count,
/// and a number is never given twice.
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

/// What a get waits for, in [`GetRecord::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitFor {
    /// Its resource: the hold, or its previous item's release. Counted in
    /// `Tallies::resource_waiters` while it leaves the get pending.
    Resource,
    /// The pool's capacity: the wait queue counts it.
    Capacity,
}

/// Where a get on its slow path stands, for what its drop counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// In phase 1 or 2: dropped here, it gave up.
    Waiting,
    /// In `allocate`: unwinding here, `allocate` panicked; dropped here, the
    /// get gave up.
    Allocating,
    /// Counted: served, refused, or `allocate` returned.
    Ended,
}

/// One get on its slow path, from its first phase to its end: it counts the
/// get's waits (one wait, however many phases it waited in, with their
/// summed time) and how the get ended, whether it returns, unwinds or is
/// dropped.
pub(crate) struct GetRecord<'a> {
    tallies: &'a Tallies,
    /// The time waited so far, once a wait left the get pending.
    waited: Option<Duration>,
    /// While a wait leaves the get pending: since when, and what for.
    pending: Option<(Instant, WaitFor)>,
    stage: Stage,
}

impl<'a> GetRecord<'a> {
    pub(crate) fn new(tallies: &'a Tallies) -> Self {
        GetRecord {
            tallies,
            waited: None,
            pending: None,
            stage: Stage::Waiting,
        }
    }

    /// Runs `wait`, one of the get's waits for `what`, and times it: from the
    /// first poll that leaves it pending to the poll that completes it (or
    /// the drop of the get). A wait that completes on its first poll did not
    /// leave the get pending: it is not timed and, alone, not counted.
    ///
    /// The caller pins `wait` in its own future, so that the get's future
    /// holds one copy of it.
    pub(crate) fn wait<'s, F: Future>(
        &'s mut self,
        what: WaitFor,
        wait: Pin<&'s mut F>,
    ) -> Timed<'s, 'a, F> {
        Timed {
            record: self,
            what,
            wait,
        }
    }

    #[cold]
    fn suspended(&mut self, what: WaitFor) {
        self.pending = Some((Instant::now(), what));
        self.waited.get_or_insert(Duration::ZERO);
        if what == WaitFor::Resource {
            let relaxed = plain::Ordering::Relaxed;
            self.tallies.resource_waiters.fetch_add(1, relaxed);
        }
    }

    /// The wait in progress, if any, ended.
    fn resumed(&mut self) {
        let Some((since, what)) = self.pending.take() else {
            return;
        };
        if let Some(waited) = &mut self.waited {
            *waited = waited.saturating_add(since.elapsed());
        }
        if what == WaitFor::Resource {
            let relaxed = plain::Ordering::Relaxed;
            self.tallies.resource_waiters.fetch_sub(1, relaxed);
        }
    }

    /// Adds the get's waits to the totals, once.
    fn count_waits(&mut self) {
        self.resumed();
        if let Some(waited) = self.waited.take() {
            self.tallies.count_wait(waited);
        }
    }

    /// The get has its charge and waits no more: it is about to `allocate`.
    pub(crate) fn allocating(&mut self) {
        self.count_waits();
        self.stage = Stage::Allocating;
    }

    /// `allocate` returned: `Ok` if `allocated`, else `Err`.
    pub(crate) fn allocated(&mut self, allocated: bool) {
        self.tallies.count(if allocated {
            Tally::Allocation
        } else {
            Tally::AllocationError
        });
        self.stage = Stage::Ended;
    }

    /// The get was served without allocating (an idle item, or one that came
    /// with a handed-over hold).
    pub(crate) fn served(&mut self) {
        self.count_waits();
        self.stage = Stage::Ended;
    }

    /// The get failed because the pool was closed (not counted as given up).
    pub(crate) fn closed(&mut self) {
        self.count_waits();
        self.stage = Stage::Ended;
    }

    /// The get gave up: its cancel future completed, or it was a refused
    /// `try_get`.
    pub(crate) fn gave_up(&mut self) {
        self.count_waits();
        self.tallies.count(Tally::Cancelled);
        self.stage = Stage::Ended;
    }
}

/// One of a get's waits, timed by its record: see [`GetRecord::wait`].
pub(crate) struct Timed<'s, 'a, F> {
    record: &'s mut GetRecord<'a>,
    what: WaitFor,
    wait: Pin<&'s mut F>,
}

impl<F: Future> Future for Timed<'_, '_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let polled = this.wait.as_mut().poll(cx);
        match polled {
            Poll::Pending if this.record.pending.is_none() => this.record.suspended(this.what),
            Poll::Pending => {}
            Poll::Ready(_) => this.record.resumed(),
        }
        polled
    }
}

impl Drop for GetRecord<'_> {
    fn drop(&mut self) {
        if self.stage == Stage::Ended {
            return;
        }
        self.count_waits();
        match (self.stage, std::thread::panicking()) {
            (Stage::Allocating, true) => self.tallies.count(Tally::AllocationError),
            // Dropped while it waited or allocated: it gave up.
            (_, false) => self.tallies.count(Tally::Cancelled),
            // Unwinding from a panic elsewhere (a `release` it ran to evict).
            (_, true) => {}
        }
    }
}
