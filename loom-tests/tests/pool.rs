//! loom models of the pool through its public API: each explores one race
//! between two or three threads on a pool of `max` 1, and checks SPEC.md's
//! invariants:
//!
//! - live items never exceed `max`, and a resource never has two live items
//!   (checked inside `allocate`, at every interleaving);
//! - at most one `Guard` per resource at any instant (checked while each guard
//!   is alive);
//! - no lost wakeup: every get completes (loom fails a model whose threads all
//!   sleep: "deadlock");
//! - no charge lost: with every guard dropped, `stats().in_use == 0` and
//!   `idle + releasing + allocating` equals the items the managers see alive;
//! - `release` is called exactly once per item `allocate` returned (checked at
//!   each release, and for every item once the resources are dropped);
//! - every `stats()` describes a state that could exist (checked where a model
//!   reads it while other threads run).
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_lite::future::poll_once;
use loom::future::block_on;
use loom::thread;
use resourcepool::{AllocateRelease, Guard, Pool, Resource, Stats};

/// What all the managers of one model saw. Plain std atomics: loom runs its
/// threads one at a time on one OS thread, so they add no interleavings.
#[derive(Debug)]
struct Tracker {
    max: usize,
    /// Items between the start of `allocate` and the end of `release`.
    live: AtomicUsize,
    /// For each item, in allocation order: whether it was released.
    released: Mutex<Vec<bool>>,
}

impl Tracker {
    fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

/// The error of `Counting` (it never fails).
#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

/// An item: which resource and which allocation it is.
#[derive(Debug)]
struct Item {
    key: usize,
    serial: usize,
    uses: usize,
}

/// A manager that checks the limits as it allocates and releases.
#[derive(Debug)]
struct Counting {
    key: usize,
    tracker: Arc<Tracker>,
    /// This resource's live items: at most one.
    own_live: AtomicUsize,
    /// This resource's guards alive now: at most one.
    guards: AtomicUsize,
}

impl AllocateRelease for Counting {
    type Item = Item;
    type Error = Never;

    async fn allocate(&self) -> Result<Item, Never> {
        let tracker = &self.tracker;
        let live = tracker.live.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(
            live <= tracker.max,
            "{live} live items, max {}",
            tracker.max
        );
        let own = self.own_live.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            own, 0,
            "resource {} allocates with an item still live",
            self.key
        );
        let mut released = tracker.released.lock().unwrap();
        released.push(false);
        Ok(Item {
            key: self.key,
            serial: released.len() - 1,
            uses: 0,
        })
    }

    fn release(&self, item: Item) -> Result<(), Never> {
        assert_eq!(item.key, self.key, "released another resource's item");
        let was_released = std::mem::replace(
            &mut self.tracker.released.lock().unwrap()[item.serial],
            true,
        );
        assert!(!was_released, "item {} released twice", item.serial);
        self.own_live.fetch_sub(1, Ordering::SeqCst);
        self.tracker.live.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A pool of `max` with `count` resources, and their tracker.
fn pool_with(max: usize, count: usize) -> (Pool, Vec<Resource<Counting>>, Arc<Tracker>) {
    let tracker = Arc::new(Tracker {
        max,
        live: AtomicUsize::new(0),
        released: Mutex::new(Vec::new()),
    });
    let pool = Pool::new(max);
    let resources = (0..count)
        .map(|key| {
            pool.create(Counting {
                key,
                tracker: tracker.clone(),
                own_live: AtomicUsize::new(0),
                guards: AtomicUsize::new(0),
            })
        })
        .collect();
    (pool, resources, tracker)
}

/// A guard counted in its manager's `guards` while it lives, and whose item is
/// used (written) once: loom checks the write against the item's other owners.
struct Held<'a> {
    guard: Option<Guard<'a, Counting>>,
}

impl<'a> Held<'a> {
    fn new(mut guard: Guard<'a, Counting>) -> Self {
        let manager = guard.resource().manager();
        let others = manager.guards.fetch_add(1, Ordering::SeqCst);
        assert_eq!(others, 0, "two guards of resource {}", manager.key);
        assert_eq!(
            guard.key, manager.key,
            "a guard holds another resource's item"
        );
        guard.uses += 1;
        Held { guard: Some(guard) }
    }

    fn leave(&mut self) -> Guard<'a, Counting> {
        let guard = self.guard.take().expect("left once");
        guard
            .resource()
            .manager()
            .guards
            .fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// `Guard::release`.
    fn release(mut self) {
        self.leave().release().expect("Counting never fails");
    }
}

impl Drop for Held<'_> {
    /// The put.
    fn drop(&mut self) {
        if self.guard.is_some() {
            drop(self.leave());
        }
    }
}

/// Gets `resource` (it must succeed), uses the item and puts it.
fn get_use_put(resource: &Resource<Counting>) {
    let guard = block_on(resource.get()).expect("get failed");
    drop(Held::new(guard));
}

/// A get of `resource` that must wait, polled once on this thread: once it
/// completes it uses the item, runs `before_put`, and puts.
fn pending_get(
    resource: &Resource<Counting>,
    before_put: impl FnOnce() + Send + 'static,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    let resource = resource.clone();
    let mut get = Box::pin(async move {
        let held = Held::new(resource.get().await.unwrap());
        before_put();
        drop(held);
    });
    assert!(
        block_on(poll_once(get.as_mut())).is_none(),
        "a get took a charge held by a guard"
    );
    get
}

/// Checks the invariants of a quiescent pool, then drops the resources (which
/// releases their idle items) and checks every item was released once.
fn assert_quiescent(pool: Pool, resources: Vec<Resource<Counting>>, tracker: &Tracker) {
    let stats = pool.stats();
    assert_eq!(stats.in_use, 0, "{stats:?}");
    assert_eq!(
        stats.idle + stats.releasing + stats.allocating,
        tracker.live(),
        "charges lost or leaked: {stats:?}"
    );
    drop(resources);
    drop(pool);
    assert_eq!(
        tracker.live(),
        0,
        "items left alive after the resources were dropped"
    );
    let released = tracker.released.lock().unwrap();
    assert!(
        released.iter().all(|&done| done),
        "items never released: {released:?}"
    );
}

/// Checks that `stats` could describe its pool: no count above `max`, and at
/// most `max` items in use, idle or being released together.
fn assert_possible(stats: Stats) {
    assert!(
        stats.in_use + stats.idle + stats.releasing <= stats.max,
        "more items than max: {stats:?}"
    );
    assert!(stats.allocating <= stats.in_use, "{stats:?}");
}

/// Runs `model` under loom with at most `preemptions` preemptions, the
/// model's own bound, or fewer if `LOOM_MAX_PREEMPTIONS` says so (CI sets 2).
/// The bounds keep each model under about ten seconds here: the state space
/// grows exponentially with them, and faster with three threads.
fn check(preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    let bound = builder
        .preemption_bound
        .map_or(preemptions, |env| env.min(preemptions));
    builder.preemption_bound = Some(bound);
    builder.check(model);
}

/// Two gets of different resources race for the only charge: one allocates,
/// the other waits for its put (a handover) or evicts its idle item.
#[test]
fn two_gets_race_for_the_last_charge() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(1, 2);
        let other = {
            let a = resources[0].clone();
            thread::spawn(move || get_use_put(&a))
        };
        get_use_put(&resources[1]);
        other.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A get of an idle resource (the fast path) races its eviction by another
/// resource's get: either the first takes the item, or the second evicts it
/// and the first allocates again once a charge is free.
#[test]
fn get_of_an_idle_resource_races_its_eviction() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(1, 2);
        get_use_put(&resources[0]);
        let evictor = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        get_use_put(&resources[0]);
        evictor.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A put races a get of another resource registering for capacity: either
/// the put sees the waiter (and hands its charge over), or the waiter's check
/// after registering sees the put's idle item (and evicts it). No lost wakeup.
#[test]
fn put_races_a_waiter_registering_for_capacity() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(1, 2);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let waiter = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        drop(held);
        waiter.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// `Guard::release` races a get of another resource waiting for capacity: the
/// freed charge reaches the waiter (granted or free), and it completes.
#[test]
fn guard_release_races_a_get_waiting_for_capacity() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(1, 2);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let waiter = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        held.release();
        waiter.join().unwrap();
        assert!(!resources[0].is_allocated());
        assert_quiescent(pool, resources, &tracker);
    });
}

/// `schedule_release` races the put of the resource's guard: whichever comes
/// first, the item is released exactly once (armed put, or idle release), and
/// only that put releases: the next get allocates and its put keeps the item.
#[test]
fn schedule_release_races_put() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(1, 1);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let scheduler = {
            let a = resources[0].clone();
            thread::spawn(move || a.schedule_release().unwrap())
        };
        drop(held);
        scheduler.join().unwrap();
        assert!(
            !resources[0].is_allocated(),
            "the scheduled release was lost"
        );
        assert_eq!(tracker.live(), 0);
        get_use_put(&resources[0]);
        assert!(resources[0].is_allocated(), "a later put released again");
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A resource's get starts while its own idle item, evicted by another
/// resource's get, is still being released, and a charge is free: it must wait
/// for that release to return (one live item per resource) before it
/// allocates. Pool of 2: A idle, C held; B evicts A; C's release frees a charge.
#[test]
fn get_of_a_resource_whose_eviction_release_is_in_flight() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(2, 3);
        let (a, b, c) = (&resources[0], &resources[1], &resources[2]);
        get_use_put(a);
        let held_c = Held::new(block_on(c.get()).unwrap());
        let evictor = {
            let b = b.clone();
            thread::spawn(move || get_use_put(&b))
        };
        // With C held and no charge free, B can only get one by evicting A:
        // wait until it has begun (A reads "not allocated" from then on).
        while a.is_allocated() {
            thread::yield_now();
        }
        held_c.release();
        get_use_put(a);
        evictor.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A get of a resource races `Guard::release` of the same resource on another
/// thread, with a charge free: the get takes the hold as soon as the release
/// lets go of it, but allocates only once the old item's release returned.
#[test]
fn get_races_guard_release_of_the_same_resource() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(2, 1);
        let releaser = {
            let a = resources[0].clone();
            thread::spawn(move || Held::new(block_on(a.get()).unwrap()).release())
        };
        get_use_put(&resources[0]);
        releaser.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// Two gets wait for capacity, C first; C's get is dropped (cancelled) on
/// another thread while the put that frees the only charge notifies it and
/// grants it the charge: the wakeup and the charge must pass on to B's get,
/// which completes, whether it registered before or after C left.
///
/// It found a bug: a grant could be stranded. `free_charge` read
/// `waiters == 1` (C); C left and, as the last waiter, returned the grants
/// (none yet); `free_charge` added its grant and notified nobody; B listened
/// and registered; `free_charge`'s re-check saw `waiters == 1` and kept the
/// grant; B (which had not slept) could not claim it and slept forever. Fixed
/// in `free_charge`: a grant whose notification reached nobody becomes a free
/// charge.
#[test]
fn cancelled_get_passes_its_wakeup_on() {
    check(3, || {
        let (pool, resources, tracker) = pool_with(1, 3);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let cancelled = pending_get(&resources[2], || {});
        let waiter = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        let canceller = thread::spawn(move || drop(cancelled));
        drop(held);
        waiter.join().unwrap();
        canceller.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// Two gets wait for capacity, and two releases grant each a charge: both are
/// notified. One is dropped before it claims its grant, racing a get that
/// starts waiting (and may not claim grants) and the other waiter claiming its
/// own grant, which it keeps until the new get is served: the dropped get's
/// grant must reach the new get. event-listener passes a dropped notification
/// on only to a listener not yet notified, and here there may be none (found by
/// fuzzing: `fuzz/regressions/pool_ops/notified-waiter-leaves`).
#[test]
fn dropped_notified_waiter_passes_its_grant_on() {
    check(3, || {
        let (pool, resources, tracker) = pool_with(2, 4);
        let held: Vec<_> = resources[..2]
            .iter()
            .map(|resource| Held::new(block_on(resource.get()).unwrap()))
            .collect();
        let new_get_served = Arc::new(loom::sync::Notify::new());
        let waiting_get = |resource: &Resource<Counting>| {
            let new_get_served = new_get_served.clone();
            pending_get(resource, move || new_get_served.wait())
        };
        let dropped = waiting_get(&resources[2]);
        let served = waiting_get(&resources[3]);
        for guard in held {
            guard.release();
        }
        let dropper = thread::spawn(move || drop(dropped));
        let server = thread::spawn(move || block_on(served));
        let guard = Held::new(block_on(resources[0].get()).unwrap());
        new_get_served.notify();
        drop(guard);
        dropper.join().unwrap();
        server.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A get and put of idle A race C's get evicting the least recently used idle
/// resource, of A (put first) and B (put second). If A's get took its idle
/// item, the evictor must take B: while A is held it is not idle, and once A
/// is put again its entry is out of date (exact LRU).
#[test]
fn get_and_put_race_the_eviction_of_the_least_recently_used() {
    check(4, || {
        let (pool, resources, tracker) = pool_with(2, 3);
        let (a, b) = (&resources[0], &resources[1]);
        get_use_put(a);
        get_use_put(b);
        let evictor = {
            let c = resources[2].clone();
            thread::spawn(move || get_use_put(&c))
        };
        let guard = block_on(a.get()).unwrap();
        let reused = guard.serial == 0;
        drop(Held::new(guard));
        evictor.join().unwrap();
        if reused {
            assert!(
                a.is_allocated() && !b.is_allocated(),
                "evicted A, got and put again, before B"
            );
        }
        assert_quiescent(pool, resources, &tracker);
    });
}

/// The last handle of an idle resource is dropped (releasing its item) while
/// another resource's get takes its idle-set entry to evict it: the item is
/// released once, by one of them, and the get completes.
#[test]
fn last_handle_dropped_while_idle_races_eviction() {
    check(4, || {
        let (pool, mut resources, tracker) = pool_with(1, 2);
        get_use_put(&resources[0]);
        let evictor = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        drop(resources.remove(0));
        evictor.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// `stats()` is read while another thread evicts idle A for B, and B
/// allocates, uses and releases its item: an item moving from one count to
/// another (idle to releasing, allocating to in use, in use to releasing) is
/// never seen in both, so no reading shows more items than `max`.
#[test]
fn stats_read_while_an_item_is_evicted_allocated_and_released() {
    check(3, || {
        let (pool, resources, tracker) = pool_with(1, 2);
        get_use_put(&resources[0]);
        let other = {
            let b = resources[1].clone();
            thread::spawn(move || Held::new(block_on(b.get()).unwrap()).release())
        };
        assert_possible(pool.stats());
        assert_possible(pool.stats());
        other.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}
