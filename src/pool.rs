//! `Pool`: the charge counter, eviction from the idle set, and the capacity
//! wait.
//!
//! # Charges
//!
//! `used` counts the charges taken: allocating + in use + idle + releasing
//! resources, plus charges granted to waiting gets and not yet taken up. It
//! never exceeds `max`, and a charge is only freed after the `release` of its
//! item returned, so live items never exceed `max`. An eviction or a hand-off
//! does not touch `used`: the item's charge passes to the get that releases it.
//!
//! # Waiting for capacity: fair, without churn
//!
//! A get that finds no free charge and no idle victim joins the wait queue
//! (`waiters.rs`: FIFO, under a mutex that only waiting gets and the makers of
//! capacity for them take). A put keeps its item idle even while gets wait: a
//! pool exists to reuse items. The put's new idle-set entry wakes the longest
//! waiting get that is asleep, which evicts the least recently used idle item
//! (possibly this one, unless its own resource got it back first).
//!
//! Waiting is still bounded: once the longest waiting get not yet served has
//! waited longer than `handoff_after`, the next put serves it directly
//! (`hand_over`): the put's item leaves its slot, still charged, and is
//! *granted* to that get, which releases it and allocates with its charge. A
//! charge freed by a release goes the same way, to the longest waiting get,
//! whenever one waits. A grant belongs to one waiter: no other get can take
//! it, and the waiter, which looks for capacity under the same lock, never
//! has both a grant and capacity it found itself. A waiter that leaves with a
//! grant (cancelled, or unwinding) passes it to the next waiter, or, if none
//! is left, frees it (releasing a granted item first). So no item is released
//! for nobody while a get waits, and no charge is left granted to nobody.
//!
//! A `try_get` (or a get whose cancel future is already complete) polls its
//! cancel future once before it joins the queue, so it never counts as a
//! waiter and never makes a put hand over.
//!
//! # Why no wakeup is lost
//!
//! A waiter joins the queue and adds itself to `waiting` (under the lock),
//! issues a `SeqCst` fence, and then looks for capacity under the lock before
//! it sleeps. Whoever makes capacity available without a grant (a charge
//! returned to the pool, an entry added to the idle set) does so first and
//! then, after a `SeqCst` fence, reads `waiting` and, if it is not zero,
//! notifies the first sleeping waiter under the lock. One of the two sees the
//! other: the waiter finds the capacity, or the maker finds the waiter. A
//! notified waiter that finds nothing (another get took the capacity first)
//! sleeps again; one that leaves while notified passes its notification on.
//!
//! A put of a resource that keeps its entry (the hot path) needs no check: a
//! sleeping waiter's last look at the idle set (under its lock, every entry)
//! either found that resource idle, or found it held and cleared QUEUED, and
//! then the resource's next put adds an entry and wakes a waiter. An evictor
//! queues its own resource ahead of its put (see `idle.rs`) only when no
//! other get waits, deciding under the idle set's lock: a waiter that joined
//! before that decision is seen by it (it counted itself in `waiting` before
//! its look, which took the same lock), and one that joined after looks after
//! the entry was made, finds the resource held and clears QUEUED. (Found by
//! fuzzing: an evicting waiter that queued ahead while another slept left
//! that one asleep beside an idle item.)
//!
//! A waiter woken to look, and not yet due a hand-off, yields once before it
//! looks: the put that woke it most likely belongs to a task that gets its
//! item back at once, and evicting that item would only move the shortage to
//! that task (in Go's shape, 11 tasks over `max` 10, evicting at once made a
//! tenth of all gets allocate). What stays idle past that yield is evicted.

use core::fmt;
use core::future::Future;
use core::pin::{pin, Pin};
use core::task::Poll;
use core::time::Duration;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use event_listener::Event;

use crate::builder::PoolBuilder;
use crate::clock::Clock;
use crate::idle::{IdleSet, QueueAhead, Retired, Victim};
use crate::lifecycle::Lifecycle;
use crate::manager::AllocateRelease;
use crate::resource::Resource;
use crate::stats::{Counters, GetRecord, Stats, Tallies, Tally, WaitFor, MAX_COUNT};
use crate::sync::{fence, AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::Stop;
use crate::waiters::{Look, Offer, WaitQueue, Wake};

/// A limit on allocated items, shared by many [`Resource`]s.
///
/// A cheap handle: clones share the same pool. The pool is not generic, so
/// resources with different managers (TCP connections, open files) can share
/// one limit. It lives as long as any handle or any of its resources.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use resourcepool::{AllocateRelease, Pool};
///
/// struct Host(&'static str);
///
/// impl AllocateRelease for Host {
///     type Item = String;
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<String, std::io::Error> {
///         Ok(format!("connection to {}", self.0))
///     }
/// }
///
/// // At most 2 connections open at once, whatever the number of hosts.
/// let pool = Pool::new(2);
/// let hosts: Vec<_> = ["a", "b", "c"].into_iter().map(|h| pool.create(Host(h))).collect();
///
/// for host in &hosts {
///     let connection = host.get().await?; // "c" evicts "a", the least recently used
///     assert!(connection.starts_with("connection to"));
/// }
/// assert!(!hosts[0].is_allocated());
/// assert_eq!(pool.stats().idle, 2);
/// # Ok::<(), resourcepool::Error<std::io::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Pool {
    pub(crate) inner: Arc<PoolInner>,
}

impl Pool {
    /// Creates a pool that allows at most `max` allocated items at once, with
    /// every other setting at its default: `Pool::builder(max).build()`.
    ///
    /// # Panics
    ///
    /// If `max` is zero (no resource could ever be got), or above 2,097,151
    /// (see [`PoolBuilder::build`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = resourcepool::Pool::new(900);
    /// assert_eq!(pool.max(), 900);
    /// ```
    pub fn new(max: usize) -> Pool {
        Pool::builder(max).build()
    }

    /// Starts a pool of at most `max` allocated items whose other settings
    /// ([`PoolBuilder::handoff_after`]) can be chosen.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = resourcepool::Pool::builder(10)
    ///     .handoff_after(Duration::from_millis(2))
    ///     .build();
    /// assert_eq!(pool.max(), 10);
    /// ```
    pub fn builder(max: usize) -> PoolBuilder {
        PoolBuilder::new(max)
    }

    pub(crate) fn from_builder(settings: PoolBuilder) -> Pool {
        let PoolBuilder {
            max,
            handoff_after,
            idle_timeout,
            max_lifetime,
            check_after_idle,
            clock,
        } = settings;
        check_max(max);
        let clock = clock.map_or_else(Clock::system, |now| Clock::manual(now.0));
        let lifecycle = Lifecycle::new(idle_timeout, max_lifetime, check_after_idle, clock);
        Pool {
            inner: Arc::new(PoolInner::new(max, handoff_after, lifecycle)),
        }
    }

    /// Creates a resource managed by `manager`, sharing this pool's limit.
    ///
    /// Allocates nothing: the first [`Resource::get`] calls
    /// [`AllocateRelease::allocate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use resourcepool::{AllocateRelease, Pool};
    ///
    /// struct File(&'static str);
    /// impl AllocateRelease for File {
    ///     type Item = std::fs::File;
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> std::io::Result<std::fs::File> {
    ///         std::fs::File::open(self.0)
    ///     }
    /// }
    ///
    /// let pool = Pool::new(1);
    /// let file = pool.create(File("/etc/hostname"));
    /// assert!(!file.is_allocated());
    /// ```
    pub fn create<M: AllocateRelease>(&self, manager: M) -> Resource<M> {
        Resource::new(self.clone(), manager)
    }

    /// The limit on allocated items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(resourcepool::Pool::new(3).max(), 3);
    /// ```
    pub fn max(&self) -> usize {
        self.inner.max.load(Ordering::SeqCst)
    }

    /// How many items are in use, idle, allocating and releasing, how many
    /// gets wait, and the pool's [`Totals`](crate::Totals) so far.
    ///
    /// See [`Stats`] for an example and for how exact it is.
    pub fn stats(&self) -> Stats {
        let inner = &*self.inner;
        let idle = inner.idle.count_idle();
        let waiting = inner.capacity_waiters() + inner.tallies.resource_waiters();
        let totals = inner.tallies.totals();
        inner
            .counters
            .stats(inner.max.load(Ordering::SeqCst), idle, waiting, totals)
    }
}

impl Pool {
    /// Closes the pool: from now on every get (`get`, `try_get`,
    /// `get_or_cancel`, `get_blocking`) fails with [`Error::Closed`](crate::Error::Closed), and so
    /// does every get waiting now, for a resource's hold or for capacity.
    /// Idle items are released now; an `allocate` in flight finishes and its
    /// guard is returned; each guard still out is released at its put (all
    /// counted in [`Totals::shed`](crate::Totals::shed)). It does not wait
    /// for those: see [`drained`](Self::drained). Closing a closed pool does
    /// nothing more.
    ///
    /// # Panics
    ///
    /// If the `release` of an item it releases panics: once every other item
    /// it had to release is released too (each charge is freed either way),
    /// with the first such panic.
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
    /// let pool = Pool::new(2);
    /// let (a, b) = (pool.create(Conn), pool.create(Conn));
    /// drop(a.get().await?); // a: idle
    /// let held = b.get().await?;
    /// pool.close();
    /// assert!(pool.is_closed());
    /// assert!(!a.is_allocated()); // released at the close
    /// assert!(matches!(a.get().await, Err(Error::Closed)));
    /// drop(held); // released at its put
    /// pool.drained().await;
    /// assert_eq!(pool.stats().totals.shed, 2);
    /// # Ok::<(), Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn close(&self) {
        self.inner.close();
    }

    /// Changes the limit to `max`. Growing frees charges at once (gets
    /// waiting for capacity get them first, in the order they started
    /// waiting). Shrinking takes back what was granted to waiting gets and
    /// not yet taken up, until the charges fit `max` (they look for capacity
    /// again), and releases idle items, least recently used first,
    /// until the live items fit `max`; while they still exceed it, each item
    /// in use is released at its put, and no allocation starts (all counted
    /// in [`Totals::shed`](crate::Totals::shed)). [`max`](Self::max) and
    /// `stats().max` report `max` from the moment this returns. After
    /// [`close`](Self::close) it changes nothing.
    ///
    /// # Panics
    ///
    /// If `max` is zero, or above 2,097,151 (see [`PoolBuilder::build`]); or
    /// if the `release` of an idle item it sheds panics: once the others are
    /// shed too (each charge is freed either way), with the first such panic.
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
    /// let pool = Pool::new(3);
    /// let conns: Vec<_> = (0..3).map(|_| pool.create(Conn)).collect();
    /// for conn in &conns {
    ///     drop(conn.get().await?); // three idle items
    /// }
    /// pool.set_max(1); // the two least recently used are released
    /// assert_eq!((pool.max(), pool.stats().idle), (1, 1));
    /// assert!(conns[2].is_allocated());
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn set_max(&self, max: usize) {
        check_max(max);
        self.inner.set_max(max);
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = resourcepool::Pool::new(1);
    /// assert!(!pool.is_closed());
    /// pool.close();
    /// assert!(pool.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Resolves once no item is live: none in use, idle, allocating or being
    /// released. After [`close`](Self::close), that is once every guard was
    /// put and every release returned. It holds the pool until it resolves.
    ///
    /// # Cancel safety
    ///
    /// Dropping it changes nothing.
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
    /// let pool = Pool::new(1);
    /// let conn = pool.create(Conn);
    /// let guard = conn.get().await?.into_owned();
    /// pool.close();
    /// let drained = pool.drained();
    /// std::thread::spawn(move || drop(guard)); // the put releases the item
    /// drained.await;
    /// assert!(!conn.is_allocated());
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn drained(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move { inner.drained().await }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// When a put hands its item to the longest waiting get; see
/// [`PoolBuilder::handoff_after`].
#[derive(Clone, Copy, Debug)]
enum Handoff {
    /// On every put while a get waits (`Duration::ZERO`).
    Always,
    /// Once the longest waiting get has waited this many nanoseconds.
    After(u64),
    /// Never (`Duration::MAX`).
    Never,
}

impl Handoff {
    fn new(delay: Duration) -> Self {
        if delay.is_zero() {
            Handoff::Always
        } else if delay == Duration::MAX {
            Handoff::Never
        } else {
            Handoff::After(u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX))
        }
    }
}

/// The state shared by all handles of a pool.
pub(crate) struct PoolInner {
    /// The limit on charges; see [`Pool::set_max`].
    max: AtomicUsize,
    handoff: Handoff,
    /// The zero of the hand-off clock.
    epoch: Instant,
    /// Charges taken: allocating, in use, idle and releasing resources, and
    /// charges granted to waiters. Never above `max`.
    used: AtomicUsize,
    /// Gets waiting for capacity (the length of `queue`), and the `CLOSED`,
    /// `OVER_MAX` and `LIFECYCLE` bits: what a put must know, in one word that
    /// is zero while nothing needs its care. Written only under the queue's lock. On its own cache
    /// line: every put reads it, and allocations and releases must not
    /// invalidate it.
    waiting: CachePadded<AtomicUsize>,
    /// Notified, every listener, when the pool is closed (gets waiting for a
    /// hold listen to it).
    pub(crate) closing: Event,
    /// Notified, every listener, when the last charge is freed.
    emptied: Event,
    /// With `Handoff::After`: when the first waiter not yet granted is due a
    /// hand-off, on the hand-off clock (`u64::MAX`: no such waiter).
    handoff_at: AtomicU64,
    /// The waiters, in the order they started waiting.
    queue: Mutex<WaitQueue>,
    /// Allocated resources, for eviction in LRU order.
    pub(crate) idle: IdleSet,
    pub(crate) counters: Counters,
    /// The totals, and the gets waiting for a resource.
    pub(crate) tallies: Tallies,
    /// Idle timeout, lifetime, check on reuse.
    pub(crate) lifecycle: Lifecycle,
}

impl PoolInner {
    fn new(max: usize, handoff_after: Duration, lifecycle: Lifecycle) -> Self {
        let lifecycle_bit = if lifecycle.is_used() { LIFECYCLE } else { 0 };
        PoolInner {
            max: AtomicUsize::new(max),
            handoff: Handoff::new(handoff_after),
            epoch: Instant::now(),
            used: AtomicUsize::new(0),
            waiting: CachePadded::new(AtomicUsize::new(lifecycle_bit)),
            closing: Event::new(),
            emptied: Event::new(),
            handoff_at: AtomicU64::new(u64::MAX),
            queue: Mutex::new(WaitQueue::default()),
            idle: IdleSet::new(),
            counters: Counters::new(),
            tallies: Tallies::new(),
            lifecycle,
        }
    }

    /// Whether a put must take its slow path (gets wait for capacity, the pool
    /// is closed, it holds more than a shrunk `max`, or it has lifecycle
    /// settings): one relaxed load.
    #[inline]
    pub(crate) fn needs_care(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) != 0
    }

    /// Whether gets are waiting for capacity.
    pub(crate) fn has_waiters(&self) -> bool {
        self.capacity_waiters() > 0
    }

    fn capacity_waiters(&self) -> usize {
        self.waiting.load(Ordering::Relaxed) & !FLAGS
    }

    /// Whether a get that took an idle item must look again: the pool is
    /// closed, or has lifecycle settings.
    #[inline]
    pub(crate) fn reuse_needs_care(&self) -> bool {
        self.waiting.load(Ordering::Acquire) & (CLOSED | LIFECYCLE) != 0
    }

    /// Whether the pool was closed.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.waiting.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Closes the pool (see [`Pool::close`]).
    pub(crate) fn close(&self) {
        let mut queue = self.lock_queue();
        let granted = queue.close();
        self.queue_changed(&queue);
        drop(queue);
        // The shed below reads the idle set after CLOSED is stored; a put
        // that adds an entry after that reads CLOSED (see `push_idle`).
        fence(Ordering::SeqCst);
        self.closing.notify(usize::MAX);
        // The failed waiters' grants come back. A panicking `release` of one
        // of the items must not strand the others: each is released, the
        // first panic is kept, and it goes on once the pool is whole.
        let mut panic = None;
        for offer in granted {
            match offer {
                Offer::Charge => self.return_charge(),
                // Counted as a hand-off at its put.
                Offer::Item(item) => {
                    let released = catch_unwind(AssertUnwindSafe(|| item.release_claimed()));
                    match released {
                        Ok(()) => self.return_charge(),
                        // The charge was freed as the release unwound.
                        Err(payload) => {
                            panic.get_or_insert(payload);
                        }
                    }
                }
            }
        }
        // Sheds every idle item even if a release panics, then goes on
        // with the first panic (this one's, or the shed's).
        let shed = catch_unwind(AssertUnwindSafe(|| self.shed_idle()));
        if let Some(payload) = panic.or(shed.err()) {
            resume_unwind(payload);
        }
    }

    /// Releases every idle item, least recently used first.
    fn shed_idle(&self) {
        self.shed_while(|| true);
    }

    /// Releases idle items, least recently used first, one at a time, while
    /// `more` says so (asked before each). A panicking `release` does not
    /// stop it: the first panic goes on once it is done.
    fn shed_while(&self, more: impl Fn() -> bool) {
        let mut panic = None;
        let others_wait = || true;
        while more() {
            let (victim, retired) = self
                .idle
                .take_least_recently_used(&NoQueueAhead, &others_wait);
            let Some(victim) = victim else { break };
            self.tallies.count(Tally::Shed);
            let released = catch_unwind(AssertUnwindSafe(|| victim.release_claimed()));
            match released {
                Ok(()) => self.return_charge(),
                // The charge was freed as the release unwound.
                Err(payload) => {
                    panic.get_or_insert(payload);
                }
            }
            // Handles whose drop may release their own idle item.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(retired))) {
                panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }

    /// Resolves once no item is live (see [`Pool::drained`]).
    pub(crate) async fn drained(&self) {
        loop {
            let listener = self.emptied.listen();
            if self.used.load(Ordering::SeqCst) == 0 {
                return;
            }
            listener.await;
        }
    }

    /// Resolves once the pool is closed: a cancel future for gets.
    pub(crate) async fn closed(&self) {
        loop {
            if self.is_closed() {
                return;
            }
            let listener = self.closing.listen();
            if self.is_closed() {
                return;
            }
            listener.await;
        }
    }

    /// Whether the longest waiting get not yet served is due a hand-off (a
    /// hint: `hand_over` decides under the lock).
    #[cold]
    pub(crate) fn handoff_due(&self) -> bool {
        match self.handoff {
            Handoff::Always => true,
            Handoff::Never => false,
            Handoff::After(_) => self.clock() >= self.handoff_at.load(Ordering::Relaxed),
        }
    }

    /// Nanoseconds since the pool was created (only with `Handoff::After`).
    fn clock(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Phase 2 without waiting: takes a free charge, or claims an idle victim
    /// (whose charge passes to the get once it is shut down: see
    /// [`settle`](Self::settle)). `Ok(None)`: neither was there, the get must
    /// wait ([`wait_for_capacity`](Self::wait_for_capacity)).
    pub(crate) fn take_capacity(
        &self,
        own: &(dyn QueueAhead + Sync),
    ) -> Result<Option<Capacity>, Stop> {
        if self.is_closed() {
            return Err(Stop::Closed);
        }
        if self.must_shed() {
            self.shed_excess();
        }
        // Zero unless others wait, or the pool is closed or shrinking.
        let others_wait = || self.waiting.load(Ordering::SeqCst) & !LIFECYCLE != 0;
        let (found, retired) = self.take_free_charge_or_victim(own, &others_wait);
        Ok(found.map(|capacity| self.retire(capacity, retired)))
    }

    /// Phase 2's wait, after [`take_capacity`](Self::take_capacity) found
    /// nothing: takes a charge once one is available, or gives up when
    /// `cancel` completes or the pool closes. `record` times the wait. The
    /// caller boxes this future: only a get that waits pays for its state, so
    /// the future of every other get stays small.
    pub(crate) async fn wait_for_capacity<C: Future<Output = ()>>(
        &self,
        own: &(dyn QueueAhead + Sync),
        mut cancel: Pin<&mut C>,
        record: &mut GetRecord<'_>,
    ) -> Result<Capacity, Stop> {
        // A cancel that is already complete ends the get here, before it
        // counts as a waiter (so a failing `try_get` never makes a put hand
        // over its item).
        if futures_lite::future::poll_once(cancel.as_mut())
            .await
            .is_some()
        {
            return Err(Stop::Cancelled);
        }
        let mut wait = CapacityWait::join(self).ok_or(Stop::Closed)?;
        // The wait ends when capacity is found: releasing a victim is not
        // waiting.
        let waiting = pin!(async {
            loop {
                let (found, retired) = wait.look(own)?;
                if let Some(capacity) = found {
                    return Ok::<_, Stop>((capacity, retired));
                }
                drop(retired);
                let woken = futures_lite::future::or(async { Ok(wait.woken().await) }, async {
                    cancel.as_mut().await;
                    Err(Stop::Cancelled)
                })
                .await?;
                if woken == Wake::Notified && !self.is_due(wait.since) {
                    // Woken, most likely by a put whose task is about to get
                    // its item back: let it (a yield), rather than evict an
                    // item that is in use all but for an instant. Until it is
                    // due a hand-off, a waiter takes what stays idle past that.
                    futures_lite::future::yield_now().await;
                }
            }
        });
        let (capacity, retired) = record.wait(WaitFor::Capacity, waiting).await?;
        Ok(self.retire(capacity, retired))
    }

    /// Whether a waiter that started waiting at `since` is due a hand-off.
    fn is_due(&self, since: u64) -> bool {
        match self.handoff {
            Handoff::Always => true,
            Handoff::Never => false,
            Handoff::After(delay) => self.clock() >= since.saturating_add(delay),
        }
    }

    /// A free charge, or an idle victim claimed for eviction; and the handles
    /// the eviction retired, for the caller to drop outside any lock.
    /// `others_wait` says, under the idle set's lock, whether gets other than
    /// this one wait (see `IdleSet::take_least_recently_used`).
    #[inline]
    fn take_free_charge_or_victim(
        &self,
        own: &(dyn QueueAhead + Sync),
        others_wait: &dyn Fn() -> bool,
    ) -> (Option<Capacity>, Retired) {
        if self.take_free_charge() {
            return (Some(Capacity::Charge), Retired::new());
        }
        if self.over_max() {
            // No allocation starts until the charges fit a shrunk `max`.
            return (None, Retired::new());
        }
        let (victim, retired) = self.idle.take_least_recently_used(own, others_wait);
        if victim.is_some() {
            self.tallies.count(Tally::Eviction);
        }
        (victim.map(Capacity::Item), retired)
    }

    /// Drops the handles an eviction retired, outside any lock, and returns
    /// what the get found. Dropping the last handle of a resource runs its
    /// manager's `release`: if that panics, what the get found is given back
    /// first (a charge freed; a claimed item released, and its charge freed).
    fn retire(&self, capacity: Capacity, retired: Retired) -> Capacity {
        if retired.is_empty() {
            // Nothing to drop, nothing that can panic: the usual eviction.
            return capacity;
        }
        let mut found = GiveBackOnUnwind {
            pool: self,
            capacity: Some(capacity),
        };
        drop(retired);
        found
            .capacity
            .take()
            .expect("taken only here or in its drop")
    }

    fn take_free_charge(&self) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used < self.max.load(Ordering::SeqCst)).then_some(used + 1)
            })
            .is_ok()
    }

    /// Makes an idle resource evictable by others.
    pub(crate) fn push_idle(&self, put_time: u64, resource: Weak<dyn Victim>) {
        self.idle.insert(put_time, resource);
        fence(Ordering::SeqCst);
        let waiting = self.waiting.load(Ordering::SeqCst);
        if waiting & CLOSED != 0 {
            // A put that read the word before the close, and made its item
            // idle after the close had shed the idle items.
            self.shed_idle();
        } else if waiting & OVER_MAX != 0 {
            // Likewise after a shrink; a charge freed here wakes a waiter.
            self.shed_excess();
        } else if waiting & !FLAGS > 0 {
            self.lock_queue().notify_one();
        }
    }

    /// Gives back a charge whose item was released (or never allocated): to
    /// the longest waiting get if there is one, else to the pool.
    pub(crate) fn free_charge(&self) {
        let word = self.waiting.load(Ordering::SeqCst);
        if word & !FLAGS > 0 && !(word & OVER_MAX != 0 && self.over_max()) {
            let mut queue = self.lock_queue();
            if !queue.over_max && queue.grant(Offer::Charge).is_ok() {
                self.queue_changed(&queue);
                return;
            }
        }
        self.return_charge();
    }

    /// Whether more charges are taken than `max` allows (after a shrink).
    fn over_max(&self) -> bool {
        self.used.load(Ordering::SeqCst) > self.max.load(Ordering::SeqCst)
    }

    /// Changes the limit (see [`Pool::set_max`]).
    pub(crate) fn set_max(&self, max: usize) {
        let mut queue = self.lock_queue();
        if queue.is_closed() {
            return;
        }
        self.max.store(max, Ordering::SeqCst);
        // Grown: the charges it frees go to the waiters first, in order.
        while queue.has_ungranted() && self.take_free_charge() {
            if queue.grant(Offer::Charge).is_err() {
                unreachable!("a waiter not yet granted is queued");
            }
        }
        // Shrunk below the charges taken: what was granted to waiters and
        // not yet taken up comes back, the latest grant first, until the
        // charges fit (a waiter must not allocate with it meanwhile). Each
        // waiter was woken by its grant, and looks again.
        let mut items = Vec::new();
        while self.used.load(Ordering::SeqCst) - items.len() > max {
            match queue.revoke_last_grant() {
                None => break,
                // Over `max`: the count never reaches zero here.
                Some(Offer::Charge) => {
                    self.used.fetch_sub(1, Ordering::SeqCst);
                }
                // Its charge comes back once it is released, below.
                Some(Offer::Item(item)) => items.push(item),
            }
        }
        queue.over_max = self.over_max();
        self.queue_changed(&queue);
        drop(queue);
        // A handed-over item taken back is released here (counted as the
        // hand-off it was, at its put). A panicking `release` must not strand
        // the others: the first panic goes on once the pool is whole.
        let mut panic = None;
        for item in items {
            match catch_unwind(AssertUnwindSafe(|| item.release_claimed())) {
                Ok(()) => self.return_charge(),
                // The charge was freed as the release unwound.
                Err(payload) => {
                    panic.get_or_insert(payload);
                }
            }
        }
        let shed = catch_unwind(AssertUnwindSafe(|| self.shed_excess()));
        if let Some(payload) = panic.or(shed.err()) {
            resume_unwind(payload);
        }
    }

    /// While more charges are taken than `max` allows, releases idle items,
    /// least recently used first.
    fn shed_excess(&self) {
        self.shed_while(|| self.over_max());
    }

    /// Whether a put must shed its item: the charges do not fit a shrunk
    /// `max`.
    pub(crate) fn must_shed(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) & OVER_MAX != 0 && self.over_max()
    }

    fn return_charge(&self) {
        if self.used.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.emptied.notify(usize::MAX);
        }
        if self.waiting.load(Ordering::SeqCst) & OVER_MAX != 0 {
            let mut queue = self.lock_queue();
            queue.over_max = self.over_max();
            self.queue_changed(&queue);
        }
        self.wake_a_waiter();
    }

    /// The put of a resource with an item, while gets wait: if the longest
    /// waiting get not yet served is due a hand-off, `take_item` takes the item
    /// out (its charge stays), and it goes to that get to release. Returns
    /// `None` if no get is due one (the caller puts as usual).
    pub(crate) fn hand_over<T>(
        &self,
        take_item: impl FnOnce() -> (T, Arc<dyn Victim>),
    ) -> Option<T> {
        let mut queue = self.lock_queue();
        if queue.over_max {
            // No allocation starts until the charges fit a shrunk `max`.
            return None;
        }
        let since = queue.first_ungranted_since()?;
        if !self.is_due(since) {
            return None;
        }
        let (outcome, item) = take_item();
        if queue.grant(Offer::Item(item)).is_err() {
            unreachable!("a waiter not yet granted is queued");
        }
        self.queue_changed(&queue);
        drop(queue);
        self.tallies.count(Tally::Handoff);
        Some(outcome)
    }

    /// Tells one sleeping waiter, if any, that capacity may be there: the
    /// second half of the handshake in the module docs.
    fn wake_a_waiter(&self) {
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) & !FLAGS > 0 {
            self.lock_queue().notify_one();
        }
    }

    /// After a change of the queue, under its lock: the count and the
    /// hand-off deadline follow it.
    fn queue_changed(&self, queue: &WaitQueue) {
        let closed = if queue.is_closed() { CLOSED } else { 0 };
        let over_max = if queue.over_max { OVER_MAX } else { 0 };
        let lifecycle = if self.lifecycle.is_used() {
            LIFECYCLE
        } else {
            0
        };
        self.waiting.store(
            queue.len() | closed | over_max | lifecycle,
            Ordering::SeqCst,
        );
        if let Handoff::After(delay) = self.handoff {
            let due = queue
                .first_ungranted_since()
                .map_or(u64::MAX, |since| since.saturating_add(delay));
            self.handoff_at.store(due, Ordering::Relaxed);
        }
    }

    fn lock_queue(&self) -> MutexGuard<'_, WaitQueue> {
        // No user code runs under the lock (wakers aside), so a panic cannot
        // leave the queue half-changed: poisoning can be ignored.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for PoolInner {
    /// Wakes a reaper that sleeps, so that it ends now.
    fn drop(&mut self) {
        self.closing.notify(usize::MAX);
    }
}

/// Capacity a get found.
pub(crate) enum Capacity {
    /// A free or granted charge.
    Charge,
    /// An item taken out of its resource with its charge (an idle victim
    /// claimed for eviction, or a put's item handed over): the get releases
    /// it, and the charge is then its own.
    Item(Arc<dyn Victim>),
}

impl From<Offer> for Capacity {
    fn from(offer: Offer) -> Self {
        match offer {
            Offer::Charge => Capacity::Charge,
            Offer::Item(item) => Capacity::Item(item),
        }
    }
}

/// Gives back what a get found if dropped: armed while code that may panic
/// runs before the get takes it.
struct GiveBackOnUnwind<'a> {
    pool: &'a PoolInner,
    capacity: Option<Capacity>,
}

impl Drop for GiveBackOnUnwind<'_> {
    fn drop(&mut self) {
        match self.capacity.take() {
            None => {}
            Some(Capacity::Charge) => self.pool.free_charge(),
            Some(Capacity::Item(victim)) => {
                // Already unwinding: a panic in this `release` must not abort
                // (it frees the charge as it unwinds).
                let released = catch_unwind(AssertUnwindSafe(|| victim.release_claimed()));
                if released.is_ok() {
                    self.pool.free_charge();
                }
            }
        }
    }
}

/// A get in the wait queue. Dropping it (cancelled, or unwinding) takes it
/// out, and passes on whatever was granted to it.
struct CapacityWait<'a> {
    pool: &'a PoolInner,
    ticket: u64,
    /// When it started waiting, on the hand-off clock.
    since: u64,
}

impl<'a> CapacityWait<'a> {
    /// Joins the queue: a capacity maker that then reads `waiting` wakes it.
    /// `None` if the pool was closed.
    fn join(pool: &'a PoolInner) -> Option<Self> {
        let since = match pool.handoff {
            Handoff::After(_) => pool.clock(),
            Handoff::Always | Handoff::Never => 0,
        };
        let mut queue = pool.lock_queue();
        let ticket = queue.join(since)?;
        pool.queue_changed(&queue);
        drop(queue);
        fence(Ordering::SeqCst);
        Some(CapacityWait {
            pool,
            ticket,
            since,
        })
    }

    /// Takes what was granted to it, else looks for a free charge or an idle
    /// victim, all under the queue's lock so that it never has both. The
    /// handles an eviction retired come back, to drop after the lock.
    /// `Err` if the pool was closed (it has then left the queue).
    fn look(&mut self, own: &(dyn QueueAhead + Sync)) -> Result<(Option<Capacity>, Retired), Stop> {
        let pool = self.pool;
        let mut queue = pool.lock_queue();
        let (found, retired) = match queue.look(self.ticket) {
            Look::Closed => {
                pool.queue_changed(&queue);
                self.ticket = LEFT;
                return Err(Stop::Closed);
            }
            Look::Granted(offer) => (Some(Capacity::from(offer)), Retired::new()),
            Look::Nothing => {
                // The queue's lock is held: nobody joins meanwhile.
                let others_wait = || queue.len() > 1;
                let (found, retired) = pool.take_free_charge_or_victim(own, &others_wait);
                match found {
                    Some(_) => queue.leave_served(self.ticket),
                    None => queue.rest(self.ticket),
                }
                (found, retired)
            }
        };
        if found.is_some() {
            pool.queue_changed(&queue);
            self.ticket = LEFT;
        }
        Ok((found, retired))
    }

    /// Resolves once something was granted to it or it was notified.
    async fn woken(&self) -> Wake {
        core::future::poll_fn(|cx| {
            match self.pool.lock_queue().wake_state(self.ticket, cx.waker()) {
                Wake::Sleeps => Poll::Pending,
                woken => Poll::Ready(woken),
            }
        })
        .await
    }
}

/// Panics, with a clear message, if `max` is not a limit a pool can have.
pub(crate) fn check_max(max: usize) {
    assert!(max > 0, "resourcepool::Pool: max must be at least 1, got 0");
    assert!(
        max <= MAX_COUNT,
        "resourcepool::Pool: max must be at most {MAX_COUNT}, got {max}"
    );
}

/// The bit of `PoolInner::waiting` that says the pool is closed.
const CLOSED: usize = 1 << (usize::BITS - 1);

/// The bit of `PoolInner::waiting` that says `set_max` shrank the pool below
/// the charges taken, and they do not fit yet.
const OVER_MAX: usize = 1 << (usize::BITS - 2);

/// The bit of `PoolInner::waiting` that says the pool has lifecycle settings
/// (`PoolBuilder::idle_timeout`, `max_lifetime`, `check_after_idle`): puts
/// and reuses must look at the clock. Set at build, never changed.
const LIFECYCLE: usize = 1 << (usize::BITS - 3);

/// The flag bits of `PoolInner::waiting`; the rest counts waiters.
const FLAGS: usize = CLOSED | OVER_MAX | LIFECYCLE;

/// The own resource of a get that is no get: `shed_idle` evicts, but
/// allocates nothing after.
struct NoQueueAhead;

impl QueueAhead for NoQueueAhead {
    fn queue_ahead(&self, _put_time: u64) -> Option<Weak<dyn Victim>> {
        None
    }
}

/// The ticket of a `CapacityWait` that has left the queue.
const LEFT: u64 = u64::MAX;

impl Drop for CapacityWait<'_> {
    fn drop(&mut self) {
        if self.ticket == LEFT {
            return;
        }
        let pool = self.pool;
        let mut queue = pool.lock_queue();
        let unused = queue.leave_unserved(self.ticket);
        let unused = unused.and_then(|offer| queue.grant(offer).err());
        pool.queue_changed(&queue);
        drop(queue);
        match unused {
            None => {}
            Some(Offer::Charge) => pool.return_charge(),
            // A put's item, with nobody left to take it: release it here.
            // (If `release` panics, the charge is freed as it unwinds.)
            Some(Offer::Item(item)) => {
                item.release_claimed();
                pool.free_charge();
            }
        }
    }
}
