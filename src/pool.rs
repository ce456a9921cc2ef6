//! `Pool`: the charge counter, eviction from the idle set, and the capacity
//! wait.
//!
//! # Charges
//!
//! `used` counts the charges taken: allocating + in use + idle + releasing
//! resources, plus *grants* (charges handed to waiting gets and not yet
//! claimed). It never exceeds `max`, and a charge is only freed after the
//! `release` of its item returned, so live items never exceed `max`. An
//! eviction does not touch `used`: the victim's charge passes to the evictor.
//!
//! # The capacity wait, and why no wakeup is lost
//!
//! A get that finds no free charge, no grant and no idle victim registers a
//! listener on `capacity`, adds itself to `waiters`, issues a `SeqCst` fence and
//! looks again before it sleeps. Whoever makes capacity available does so first
//! and then (after a `SeqCst` fence) reads `waiters`, notifying one more listener
//! if it is not zero. One of the two sees the other.
//!
//! Capacity appears in three ways, each followed by that check: a charge is
//! freed (`free_charge`), an entry is added to the idle set (`push_idle`), or a
//! put hands its charge over (below). A put of a resource that keeps its entry
//! (the hot path) needs no check: a waiter's look at the idle set (under its
//! lock, every entry) either found that resource idle, or found it held and
//! cleared QUEUED, and then the resource's next put adds an entry. That holds
//! for an entry an evictor queued ahead for its own resource too (see
//! `idle.rs`): it is added under the same lock as the eviction, so a waiter's
//! look either came before it, and the argument above applies to the
//! victim's entry, or came after, and found the new entry.
//!
//! # Fairness
//!
//! While gets wait for capacity, a put releases its item and *grants* the
//! charge to the waiters rather than leave the item idle for its own resource to
//! grab again, and only a get that has already slept may claim a grant. Waiters
//! are woken in the order they started listening, so no get starves while
//! others make progress. If the last waiter leaves, unclaimed grants turn back
//! into free charges, and so does a grant whose notification found every
//! waiter already notified (no notification is then on its way for it).
//!
//! Each grant thus has a notification on its way, and a waiter that leaves
//! with a notification it did not use (cancelled, dropped, or served another
//! way) gives the grant it may have been for again: to the next waiter not yet
//! notified, or back to the pool if there is none. event-listener's own passing
//! on of a dropped listener's notification is not enough: with every other
//! waiter already notified it reaches no one, and the grant would sit unclaimed
//! while later gets, which may not claim grants, sleep.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::{Arc, Weak};

use crossbeam_utils::CachePadded;
use event_listener::{Event, EventListener, IntoNotification, Listener};

use core::time::Duration;

use crate::builder::PoolBuilder;
use crate::idle::{IdleSet, QueueAhead, Victim};
use crate::manager::AllocateRelease;
use crate::resource::Resource;
use crate::stats::{Counters, Stats};
use crate::sync::{fence, AtomicUsize, Ordering};
use crate::wait::{listen_or_cancel, Cancelled};

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
    /// If `max` is zero: no resource could ever be got.
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
        let PoolBuilder { max, handoff_after } = settings;
        assert!(max > 0, "resourcepool::Pool: max must be at least 1, got 0");
        Pool {
            inner: Arc::new(PoolInner {
                max,
                handoff_after,
                used: AtomicUsize::new(0),
                grants: AtomicUsize::new(0),
                waiters: CachePadded::new(AtomicUsize::new(0)),
                capacity: Event::new(),
                idle: IdleSet::new(),
                counters: Counters::new(),
            }),
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
        self.inner.max
    }

    /// How many items are in use, idle, allocating and releasing.
    ///
    /// See [`Stats`] for an example and for how exact it is.
    pub fn stats(&self) -> Stats {
        let idle = self.inner.idle.count_idle();
        self.inner.counters.stats(self.inner.max, idle)
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The state shared by all handles of a pool.
pub(crate) struct PoolInner {
    max: usize,
    /// See [`PoolBuilder::handoff_after`].
    handoff_after: Duration,
    /// Charges taken, grants included. Never above `max`.
    used: AtomicUsize,
    /// Charges handed to waiting gets, not yet claimed.
    grants: AtomicUsize,
    /// Gets registered as waiting for capacity. On its own cache line: every
    /// put reads it, and allocations and releases must not invalidate it.
    waiters: CachePadded<AtomicUsize>,
    /// Notified, one listener per notification, when capacity appears.
    capacity: Event,
    /// Allocated resources, for eviction in LRU order.
    pub(crate) idle: IdleSet,
    pub(crate) counters: Counters,
}

impl PoolInner {
    /// Whether gets are waiting for capacity (a hint for put; see "Fairness").
    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiters.load(Ordering::Relaxed) > 0
    }

    /// Phase 2: takes a charge for a resource, waiting until one is available or
    /// `cancel` completes.
    pub(crate) async fn acquire_capacity<C: Future<Output = ()>>(
        &self,
        own: &(dyn QueueAhead + Sync),
        mut cancel: Pin<&mut C>,
    ) -> Result<(), Cancelled> {
        if self.try_take_capacity(own, false) {
            return Ok(());
        }
        let mut wait = CapacityWait::new(self);
        let mut woken = false;
        loop {
            if self.try_take_capacity(own, woken) {
                return Ok(());
            }
            wait.sleep(cancel.as_mut()).await?;
            woken = true;
            // Look once before listening again: most wakeups find capacity.
            if self.try_take_capacity(own, woken) {
                return Ok(());
            }
            wait.listen();
        }
    }

    /// A grant (only for a get that has slept), a free charge, or an idle victim.
    fn try_take_capacity(&self, own: &(dyn QueueAhead + Sync), may_claim_grant: bool) -> bool {
        (may_claim_grant && self.claim_grant()) || self.take_free_charge() || self.evict_one(own)
    }

    fn take_free_charge(&self) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used < self.max).then_some(used + 1)
            })
            .is_ok()
    }

    fn claim_grant(&self) -> bool {
        self.grants
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |grants| {
                grants.checked_sub(1)
            })
            .is_ok()
    }

    /// Evicts the least recently used idle resource, if there is one: its
    /// item is released and its charge is now the caller's.
    fn evict_one(&self, own: &(dyn QueueAhead + Sync)) -> bool {
        match self.idle.take_least_recently_used(own) {
            Some(victim) => {
                victim.release_evicted();
                true
            }
            None => false,
        }
    }

    /// Makes an idle resource evictable by others.
    pub(crate) fn push_idle(&self, put_time: u64, resource: Weak<dyn Victim>) {
        self.idle.insert(put_time, resource);
        self.wake_a_waiter();
    }

    /// Gives back a charge whose item was released (or never allocated): to the
    /// waiting gets if there are any, else to the pool.
    pub(crate) fn free_charge(&self) {
        if self.waiters.load(Ordering::SeqCst) == 0 {
            return self.return_charge();
        }
        self.grants.fetch_add(1, Ordering::SeqCst);
        let notified = self.capacity.notify(1.additional());
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) == 0 {
            self.return_grants();
        } else if notified == 0 && self.claim_grant() {
            // Every waiter was already notified (or between two listeners),
            // so no notification is on its way for this grant, and a get that
            // starts waiting now may not claim it: make it a free charge,
            // which any get takes.
            self.return_charge();
        }
    }

    fn return_charge(&self) {
        self.used.fetch_sub(1, Ordering::SeqCst);
        self.wake_a_waiter();
    }

    /// Turns unclaimed grants back into free charges (the waiters left).
    fn return_grants(&self) {
        while self.claim_grant() {
            self.return_charge();
        }
    }

    /// A waiter leaves with a notification it did not use. If a grant is
    /// outstanding, the notification may have been for it: the grant is given
    /// again, to the next waiter or back to the pool. Otherwise it was for a free
    /// charge or an idle entry, and another waiter is woken to look.
    fn pass_on(&self) {
        if self.claim_grant() {
            self.free_charge();
        } else {
            self.wake_a_waiter();
        }
    }

    /// The second half of the handshake in the module docs.
    fn wake_a_waiter(&self) {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.capacity.notify(1.additional());
        }
    }
}

/// A get waiting for capacity: its listener on `capacity`, and its count in
/// `waiters`. Leaving (with capacity, cancelled, or unwinding) uncounts it; the
/// last waiter to leave returns unclaimed grants; and a notification it
/// received but did not use is passed on by hand (see `pass_on`).
struct CapacityWait<'a> {
    pool: &'a PoolInner,
    /// `None` between a wakeup and the next `listen`.
    listener: Option<EventListener>,
}

impl<'a> CapacityWait<'a> {
    /// Listens, then joins `waiters`: a capacity maker that sees the count
    /// notifies a listener that already exists.
    fn new(pool: &'a PoolInner) -> Self {
        let listener = Some(pool.capacity.listen());
        pool.waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        CapacityWait { pool, listener }
    }

    fn listen(&mut self) {
        self.listener = Some(self.pool.capacity.listen());
    }

    /// Waits for a notification, which it consumes, or for `cancel`. Returns at
    /// once if not listening; the caller looks for capacity either way.
    async fn sleep<C: Future<Output = ()>>(
        &mut self,
        cancel: Pin<&mut C>,
    ) -> Result<(), Cancelled> {
        if let Some(listener) = &mut self.listener {
            listen_or_cancel(listener, cancel).await?;
            self.listener = None;
        }
        Ok(())
    }
}

impl Drop for CapacityWait<'_> {
    fn drop(&mut self) {
        let pool = self.pool;
        // Taken out of the list without event-listener passing it on: that
        // would reach only a listener not yet notified, and when there is none
        // a grant would be left with no notification on its way for it.
        let unused_notification = self.listener.take().is_some_and(Listener::discard);
        if pool.waiters.fetch_sub(1, Ordering::SeqCst) == 1 {
            fence(Ordering::SeqCst);
            pool.return_grants();
        }
        if unused_notification {
            pool.pass_on();
        }
    }
}
