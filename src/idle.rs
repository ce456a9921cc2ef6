//! The idle set: which allocated resource to evict, least recently put first
//! (exact LRU), without a lock on the hot put path.
//!
//! Every put takes a *put time* from the pool's clock and stores it in the
//! resource. A resource has at most one entry in the set (its QUEUED bit),
//! made by the first put after it had none (or ahead of that put, below):
//! `(put time, resource)`. A later put of a resource that has an entry only
//! stores its new put time in the resource: no lock, no allocation, no queue.
//!
//! An evictor takes the entry with the earliest put time. If the resource was
//! put again since (its put time is newer than the entry's), the entry goes
//! back with the new time and the evictor looks again; if the resource is not
//! idle, the entry is dropped (QUEUED cleared, so its next put makes a new one).
//! The first idle resource whose entry is up to date has the earliest latest
//! put of all idle resources: it is the least recently used.
//!
//! An evictor, still holding the set's lock, also queues its own resource
//! *ahead* of the put that will follow its allocation (unless other gets wait
//! for capacity: then its put must add the entry, which wakes one of them): it takes a time from
//! the clock, stores it as the resource's put time and adds the entry (unless
//! the resource has one already). That put then keeps the entry and takes no
//! lock, so an evicting get locks the set once rather than twice. The order
//! stays exact, because an entry's time is never later than its resource's
//! latest put time: the put keeps the time taken ahead only if no other put
//! took one since (see `put_time`), and otherwise its newer time makes the
//! entry stale, to be re-filed. Until the put, the resource is not idle, so
//! an evictor that reaches its entry first drops it (and the put adds a new
//! one).
//!
//! The entries are kept in put-time order ([`PutOrder`]: a ring buffer for
//! the entries that arrive in order, which is nearly all, and a binary heap
//! for the rest), under a mutex taken by evictors, by the first put after an
//! allocation that did not evict (which adds the entry: a cold path, right
//! after `allocate`), and by `Pool::stats` and the sweep of dead entries. A
//! get of an idle item and the puts that keep their entry never take it. No
//! user code runs under it. The mutex's word shares its cache line with the
//! entries' headers, which its holder reads and writes next (on two cores,
//! S3 was 15% slower with them on lines of their own), and the count of
//! entries, which gets read before they lock, has a line of its own. (A
//! lock-free queue of new entries in front of the heap was measured: it cost
//! more instructions per eviction than the lock it saved.)

use core::any::Any;
use core::future::Future;
use core::pin::Pin;
use std::sync::{Arc, PoisonError, Weak};

use crossbeam_utils::CachePadded;

use crate::put_order::{PutOrder, Timed};
use crate::state::Evict;
use crate::sync::{AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering};

/// A resource as the idle set sees it, whatever its manager.
pub(crate) trait Victim: Send + Sync {
    /// Applies [`state::evict`](crate::state::evict), given the put time of
    /// the entry the evictor holds.
    fn evict(&self, entry_put_time: u64) -> Evict;
    /// The resource's latest put time.
    fn put_time(&self) -> u64;
    /// Allocated and not held.
    fn is_idle(&self) -> bool;
    /// Applies [`state::expire`](crate::state::expire) given the resource's
    /// stamps at `now`, for `Pool::release_expired`.
    fn expire(&self, now: u64) -> Expiry;
    /// Releases the item taken out by `evict` (or by a put that handed it
    /// over). Its charge then belongs to the caller (or is freed, if `release`
    /// panics).
    fn release_claimed(&self);
    /// Like `release_claimed`, with the manager's `shutdown`: takes the item
    /// out now, and returns the future that shuts it down. The charge
    /// belongs to the caller once it completes; if it is dropped first, or
    /// `shutdown` panics, the charge is freed.
    fn shutdown_claimed(self: Arc<Self>) -> Shutdown;
    /// The resource itself, to downcast: a get whose resource has the same
    /// manager type shuts a claimed item down inline, without boxing.
    fn as_any(&self) -> &dyn Any;
    /// As `as_any`, for the handle.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A claimed item's shutdown, whatever its manager.
pub(crate) type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What [`Victim::expire`] found.
pub(crate) enum Expiry {
    /// Idle and past its time: claimed, its entry to be dropped; the caller
    /// releases its item and frees its charge.
    Claimed,
    /// Kept, with its entry. `expires_at`: when it will be past its time if it
    /// stays idle (`u64::MAX`: not idle, or never).
    Kept {
        /// On the lifecycle's clock.
        expires_at: u64,
    },
}

/// An evictor's own resource, which it queues ahead of its first put.
pub(crate) trait QueueAhead {
    /// Applies [`state::queue_ahead`](crate::state::queue_ahead); if that set
    /// QUEUED, stores `put_time` as the resource's put time and returns the
    /// handle for its entry.
    fn queue_ahead(&self, put_time: u64) -> Option<Weak<dyn Victim>>;
}

/// Handles an evictor upgraded and looked at, to drop after the victim's release.
pub(crate) type Retired = Vec<Arc<dyn Victim>>;

/// The idle set's entries: one resource's place each, with its put time.
type Entries = PutOrder<Weak<dyn Victim>>;

/// The put time of a resource that was never put.
pub(crate) const NEVER_PUT: u64 = u64::MAX;

/// Dead entries (of dropped resources) are swept once they are at least this
/// many and at least half of all entries: O(1) amortised per drop.
const SWEEP_AT_LEAST: usize = 64;

pub(crate) struct IdleSet {
    /// Put times are taken from here, in increasing order. On its own cache
    /// line: puts on every core write it.
    clock: CachePadded<AtomicU64>,
    /// Entries, earliest put time first.
    order: Mutex<Entries>,
    /// Entries in `order`. On its own cache line: read by every evictor
    /// before it locks, written only when the number changes.
    entries: CachePadded<AtomicUsize>,
    /// Entries whose resource was dropped, not yet swept.
    dead: AtomicUsize,
}

impl IdleSet {
    pub(crate) fn new() -> Self {
        IdleSet {
            clock: CachePadded::new(AtomicU64::new(0)),
            order: Mutex::new(Entries::default()),
            entries: CachePadded::new(AtomicUsize::new(0)),
            dead: AtomicUsize::new(0),
        }
    }

    /// The time of a put that is about to happen, given the resource's
    /// previous put time (or [`NEVER_PUT`]). If no other put happened since
    /// that one, the resource is still the most recently put and keeps its
    /// time, without a write to the shared clock (a put that overlaps ours may
    /// then be ordered before it, as linearizability allows).
    #[inline]
    pub(crate) fn put_time(&self, previous: u64) -> u64 {
        if previous != NEVER_PUT && self.clock.load(Ordering::Relaxed) == previous.wrapping_add(1) {
            return previous;
        }
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds the entry of a resource whose put just set its QUEUED bit.
    pub(crate) fn insert(&self, put_time: u64, resource: Weak<dyn Victim>) {
        self.entries.fetch_add(1, Ordering::SeqCst);
        self.lock().push(Timed {
            put_time,
            item: resource,
        });
    }

    /// Finds the least recently put idle resource and claims it for eviction,
    /// and queues the evictor's resource `own` ahead (see the module docs).
    /// The caller then calls the victim's `release_claimed`, and only then
    /// drops the other handles returned (*retired*), outside any lock:
    /// dropping the last handle of a resource releases its item, which runs
    /// the manager's code, and a panic there must not stop the victim's
    /// release.
    ///
    /// `others_wait` is asked under the lock, once a victim is claimed: while
    /// other gets wait for capacity, the evictor does not queue its resource
    /// ahead, so that its put adds the entry and wakes one of them (a sleeping
    /// waiter that looked before the eviction would miss an entry made ahead,
    /// and a put that keeps its entry wakes nobody).
    pub(crate) fn take_least_recently_used(
        &self,
        own: &(dyn QueueAhead + Sync),
        others_wait: &dyn Fn() -> bool,
    ) -> (Option<Arc<dyn Victim>>, Retired) {
        // An insert counts its entry before it adds it, and wakes waiters after
        // (`PoolInner::push_idle`): a waiter that sees no entry here is woken.
        if self.entries.load(Ordering::SeqCst) == 0 {
            return (None, Retired::new());
        }
        // Handles to drop once the lock is released (see above).
        let mut retired = Vec::new();
        // The victim's entry, replaced by the evictor's: its handle is dropped
        // once the lock is released, as that writes the victim's counts.
        let mut replaced = None;
        let victim = {
            let mut order = self.lock();
            loop {
                let Some(first) = order.first() else {
                    break None;
                };
                let put_time = first.put_time;
                let Some(resource) = first.item.upgrade() else {
                    order.pop_first();
                    self.entries.fetch_sub(1, Ordering::Relaxed);
                    continue;
                };
                match resource.evict(put_time) {
                    Evict::Claimed => {
                        // The evictor's entry takes the victim's place (and
                        // count), or, if it has one already or others wait,
                        // the count drops.
                        let entry = if others_wait() {
                            None
                        } else {
                            // Taken under the lock, so that entries arrive
                            // in put-time order.
                            let put_time = self.clock.fetch_add(1, Ordering::Relaxed);
                            own.queue_ahead(put_time)
                                .map(|item| Timed { put_time, item })
                        };
                        replaced = order.pop_first();
                        match entry {
                            Some(entry) => order.push(entry),
                            None => {
                                self.entries.fetch_sub(1, Ordering::Relaxed);
                            }
                        }
                        break Some(resource);
                    }
                    Evict::Stale => {
                        if let Some(mut entry) = order.pop_first() {
                            entry.put_time = resource.put_time();
                            order.push(entry);
                        }
                    }
                    Evict::NotIdle => {
                        order.pop_first();
                        self.entries.fetch_sub(1, Ordering::Relaxed);
                    }
                }
                retired.push(resource);
            }
        };
        drop(replaced);
        (victim, retired)
    }

    /// Claims every idle resource past its time at `now` (see
    /// `Pool::release_expired`), dropping their entries and those of dropped
    /// resources. Returns them, for the caller to release; the other handles
    /// it upgraded (retired, to drop outside the lock, as in
    /// `take_least_recently_used`); and the earliest time a kept idle
    /// resource expires. Looks at every entry once: O(entries), about one per
    /// allocated resource.
    pub(crate) fn take_expired(&self, now: u64) -> (Vec<Arc<dyn Victim>>, Retired, u64) {
        let mut claimed = Vec::new();
        let mut retired = Vec::new();
        let mut next_expiry = u64::MAX;
        if self.entries.load(Ordering::SeqCst) == 0 {
            return (claimed, retired, next_expiry);
        }
        let mut order = self.lock();
        let entries = order.take_all();
        for entry in entries {
            let Some(resource) = entry.item.upgrade() else {
                self.entries.fetch_sub(1, Ordering::Relaxed);
                continue;
            };
            match resource.expire(now) {
                Expiry::Claimed => {
                    self.entries.fetch_sub(1, Ordering::Relaxed);
                    claimed.push(resource);
                }
                Expiry::Kept { expires_at } => {
                    next_expiry = next_expiry.min(expires_at);
                    order.push(entry);
                    retired.push(resource);
                }
            }
        }
        drop(order);
        (claimed, retired, next_expiry)
    }

    /// A resource that had an entry was dropped. Sweeps the dead entries when
    /// they are many.
    pub(crate) fn entry_died(&self) {
        let dead = self.dead.fetch_add(1, Ordering::Relaxed) + 1;
        if dead < SWEEP_AT_LEAST || dead * 2 < self.entries.load(Ordering::Relaxed) {
            return;
        }
        let mut order = self.lock();
        let before = order.len();
        order.retain(|entry| entry.item.strong_count() > 0);
        self.entries
            .fetch_sub(before - order.len(), Ordering::Relaxed);
        self.dead.store(0, Ordering::Relaxed);
    }

    /// How many resources are idle: every idle resource has an entry (a put
    /// sets QUEUED before it adds the entry, so a put in flight may be missed).
    pub(crate) fn count_idle(&self) -> usize {
        // Dropped after unlocking, as in `take_least_recently_used`.
        let resources: Vec<_> = self
            .lock()
            .iter()
            .filter_map(|entry| entry.item.upgrade())
            .collect();
        resources
            .iter()
            .filter(|resource| resource.is_idle())
            .count()
    }

    /// Locks the entries.
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // No user code runs under the lock, so a panic cannot leave the entries
        // half-changed: poisoning can be ignored.
        self.order.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
