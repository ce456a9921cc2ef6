//! loom models of the pool through its public API: each explores one race
//! between two or three threads on a pool of `max` 1 or 2, and checks SPEC.md's
//! invariants:
//!
//! - live items never exceed `max`, and a resource never has two live items
//!   (checked inside `allocate`, at every interleaving);
//! - at most one `Guard` per resource at any instant (checked while each guard
//!   is alive);
//! - no lost wakeup: every get completes (loom fails a model whose threads all
//!   sleep: "deadlock");
//! - no charge lost: with every guard dropped, `stats().in_use == 0`, the
//!   items the managers see alive are exactly the idle ones, one per
//!   allocated resource, and `max` resources can be got at once without
//!   waiting;
//! - every item `allocate` returned is given to exactly one of `release` and
//!   `shutdown`, once (checked at each call, and for every item once the
//!   resources are dropped); with every resource dropped, `drained()`
//!   resolves;
//! - every `stats()` describes a state that could exist (checked where a model
//!   reads it while other threads run);
//! - `close` (the models named `close_...`): a get that starts after it
//!   returned fails with `Closed`, a get waiting then fails with `Closed` (or
//!   got what it waited for first), none stays pending; no item stays idle in
//!   a closed pool, every item is released exactly once, `drained()`
//!   resolves once every guard was put, and the totals account for every
//!   item (`allocations == evictions + handoffs + released + shed`);
//! - the item lifecycle (the models of `release_expired`, of a get that
//!   replaces its expired item, of a put past `max_lifetime`): an item is
//!   released once, by whichever path claims it first, and never while it
//!   is used or just put; each release is counted once, in
//!   `totals.expired` where it was for its time; and at the end every idle
//!   item expires, `release_expired` releases them all and `drained()`
//!   resolves;
//! - asynchronous shutdowns (the models named `..._shutdown_...`, whose
//!   managers' `shutdown` stays pending until the model opens a `Gate`): a
//!   get that frees a charge for itself (it evicts, or takes a hand-off)
//!   allocates only once the shutdown of the item it frees completed, the
//!   item counts as live and in `stats().releasing` until then, and a get
//!   dropped meanwhile drops the item with the shutdown and frees the
//!   charge, to a waiting get if there is one.
//!
//! Each pool is built with one of the two settings of `handoff_after` that
//! need no clock (any other reads the time, which would make a model
//! nondeterministic): [`Handoff::Always`] and [`Handoff::Never`]. A model in
//! which a get may wait for capacity runs in both. For the same reason the
//! lifecycle models give the pool a clock of their own (`ModelClock`), which
//! moves only where the model moves it.
#![cfg(loom)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use futures_lite::future::poll_once;
use loom::future::block_on;
use loom::thread;
use resourcepool::{AllocateRelease, Error, Guard, Pool, PoolBuilder, Resource, Stats, Totals};

/// When a put hands its item over to the longest waiting get
/// (`PoolBuilder::handoff_after`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handoff {
    /// `Duration::ZERO`: every waiter is past `handoff_after`, so every put
    /// while a get waits (not yet granted) takes its item out and grants it to
    /// the first such get, which shuts it down and allocates with its charge.
    Always,
    /// `Duration::MAX`: never; a put keeps its item idle and its new idle-set
    /// entry wakes the first sleeping waiter, which evicts.
    Never,
}

impl Handoff {
    fn after(self) -> Duration {
        match self {
            Handoff::Always => Duration::ZERO,
            Handoff::Never => Duration::MAX,
        }
    }
}

/// Both modes, for a model where a get may wait for capacity.
const BOTH: &[Handoff] = &[Handoff::Always, Handoff::Never];
/// One mode, for a model where no get ever waits for capacity (a charge is
/// free or an idle item evictable whenever one needs it): the mode changes
/// nothing there.
const EITHER: &[Handoff] = &[Handoff::Never];

/// What all the managers of one model saw. Plain std atomics: loom runs its
/// threads one at a time on one OS thread, so they add no interleavings.
#[derive(Debug)]
struct Tracker {
    max: usize,
    /// Items between the start of `allocate` and the end of `release`, or
    /// of `shutdown` (the future completed, or was dropped with the item).
    live: AtomicUsize,
    /// For each item, in allocation order: whether it was given to `release`
    /// or to `shutdown`.
    released: Mutex<Vec<bool>>,
    /// Items given to `release`.
    releases: AtomicUsize,
    /// Items given to `shutdown`.
    shutdowns: AtomicUsize,
    /// Of those, the shutdowns that completed.
    shut_down: AtomicUsize,
    /// And those whose future was dropped before it completed (the item
    /// dropped with it).
    dropped: AtomicUsize,
    /// Holds every `shutdown` until the model opens it; `None`: a shutdown
    /// completes at its first poll.
    gate: Option<Gate>,
}

impl Tracker {
    fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Whether the `serial`th item allocated has been given to `release` or
    /// to `shutdown`.
    fn released(&self, serial: usize) -> bool {
        self.released.lock().unwrap()[serial]
    }

    /// Marks the `serial`th item as given to `release` or `shutdown`: once.
    fn give(&self, serial: usize) {
        let given = std::mem::replace(&mut self.released.lock().unwrap()[serial], true);
        assert!(!given, "item {serial} given to release or shutdown twice");
    }

    /// Items given to `release`, to `shutdown`, shut down, and dropped with
    /// their shutdown.
    fn fates(&self) -> Fates {
        Fates {
            released: self.releases.load(Ordering::SeqCst),
            shutdowns: self.shutdowns.load(Ordering::SeqCst),
            shut_down: self.shut_down.load(Ordering::SeqCst),
            dropped: self.dropped.load(Ordering::SeqCst),
        }
    }

    /// Shutdowns started and neither completed nor dropped.
    fn shutting_down(&self) -> usize {
        let fates = self.fates();
        fates.shutdowns - fates.shut_down - fates.dropped
    }

    /// The gate of a model whose shutdowns wait for it.
    fn gate(&self) -> &Gate {
        self.gate.as_ref().expect("a pool built by pool_with_gate")
    }
}

/// How the items of a model left: see `Tracker::fates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fates {
    released: usize,
    shutdowns: usize,
    shut_down: usize,
    dropped: usize,
}

/// Holds the managers' `shutdown` futures pending until the model opens it
/// (from then on every shutdown completes): the far side that has not let
/// go yet. loom's `Mutex`, so that opening it races the pool's threads; each
/// pending shutdown leaves its waker, and `open` wakes them all.
#[derive(Debug)]
struct Gate {
    state: loom::sync::Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    open: bool,
    wakers: Vec<Waker>,
}

impl Gate {
    fn new() -> Self {
        Gate {
            state: loom::sync::Mutex::new(GateState::default()),
        }
    }

    /// Lets every shutdown, pending or to come, complete.
    fn open(&self) {
        self.open_after(|| {});
    }

    /// Runs `check` while no shutdown can complete or start waiting (under
    /// the gate's lock, which each pending shutdown takes as it polls),
    /// then opens the gate. The lock is a loom one: loom runs the check
    /// before and after each shutdown's first poll (the `Tracker`'s
    /// counts, plain atomics, it would not order).
    fn open_after(&self, check: impl FnOnce()) {
        let wakers = {
            let mut state = self.state.lock().unwrap();
            check();
            state.open = true;
            std::mem::take(&mut state.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Resolves once the gate is open.
    async fn opened(&self) {
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if state.open {
                Poll::Ready(())
            } else {
                state.wakers.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
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

/// A manager that checks the limits as it allocates, releases and shuts
/// down. `OTHER_TYPE`: a second manager type, for a pool that holds
/// resources of both (a get shuts down the item of another type's resource
/// through a boxed future, `Victim::shutdown_claimed`).
#[derive(Debug)]
struct Counting<const OTHER_TYPE: bool = false> {
    key: usize,
    tracker: Arc<Tracker>,
    /// This resource's live items: at most one.
    own_live: AtomicUsize,
    /// This resource's guards alive now: at most one.
    guards: AtomicUsize,
}

impl<const OTHER_TYPE: bool> Counting<OTHER_TYPE> {
    fn new(key: usize, tracker: &Arc<Tracker>) -> Self {
        Counting {
            key,
            tracker: tracker.clone(),
            own_live: AtomicUsize::new(0),
            guards: AtomicUsize::new(0),
        }
    }

    /// The item is gone: released, shut down, or dropped with its shutdown.
    fn gone(&self, item: Item) {
        assert_eq!(item.key, self.key, "another resource's item");
        self.own_live.fetch_sub(1, Ordering::SeqCst);
        self.tracker.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<const OTHER_TYPE: bool> AllocateRelease for Counting<OTHER_TYPE> {
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
        self.tracker.give(item.serial);
        self.tracker.releases.fetch_add(1, Ordering::SeqCst);
        self.gone(item);
        Ok(())
    }

    /// Completes once the model's gate is open (at once without one). If
    /// the future is dropped before, the item goes with it, counted in
    /// `Tracker::dropped`.
    fn shutdown(&self, item: Item) -> impl Future<Output = Result<(), Never>> + Send {
        self.tracker.give(item.serial);
        self.tracker.shutdowns.fetch_add(1, Ordering::SeqCst);
        let mut shutting = ShuttingDown {
            manager: self,
            item: Some(item),
        };
        async move {
            if let Some(gate) = &self.tracker.gate {
                gate.opened().await;
            }
            let item = shutting.item.take().expect("taken once");
            self.tracker.shut_down.fetch_add(1, Ordering::SeqCst);
            self.gone(item);
            Ok(())
        }
    }
}

/// An item in its `shutdown`: dropped with the future if it did not
/// complete.
struct ShuttingDown<'a, const OTHER_TYPE: bool> {
    manager: &'a Counting<OTHER_TYPE>,
    item: Option<Item>,
}

impl<const OTHER_TYPE: bool> Drop for ShuttingDown<'_, OTHER_TYPE> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.manager.tracker.dropped.fetch_add(1, Ordering::SeqCst);
            self.manager.gone(item);
        }
    }
}

/// A pool of `max` with `count` resources, handing over as `mode` says, and
/// their tracker.
fn pool_with(
    max: usize,
    count: usize,
    mode: Handoff,
) -> (Pool, Vec<Resource<Counting>>, Arc<Tracker>) {
    pool_built(Pool::builder(max).handoff_after(mode.after()), max, count)
}

/// The lifecycle's clock in a model (`PoolBuilder::clock`): it stands still
/// until the model moves it, so what has expired is decided by the model, at
/// the points where it calls `set`, and never by real time (which loom would
/// report as a nondeterministic model). A plain std atomic, as `Tracker`'s.
#[derive(Clone)]
struct ModelClock {
    start: Instant,
    elapsed: Arc<AtomicU64>,
}

impl ModelClock {
    fn new() -> Self {
        ModelClock {
            start: Instant::now(),
            elapsed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock to `at` after the pool was built.
    fn set(&self, at: Duration) {
        let nanos = u64::try_from(at.as_nanos()).unwrap();
        let before = self.elapsed.swap(nanos, Ordering::SeqCst);
        assert!(before <= nanos, "the clock went back");
    }

    /// Moves the clock `by` on.
    fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap();
        self.elapsed.fetch_add(by, Ordering::SeqCst);
    }

    fn now(&self) -> Instant {
        self.start + Duration::from_nanos(self.elapsed.load(Ordering::SeqCst))
    }
}

/// The `idle_timeout` or `max_lifetime` of the lifecycle models, on their
/// `ModelClock`.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A pool of `max` with `count` resources, handing over as `mode` says, with
/// the lifecycle settings `settings` adds on a `ModelClock` at 0; and the
/// tracker and the clock.
fn pool_with_lifecycle(
    max: usize,
    count: usize,
    mode: Handoff,
    settings: impl FnOnce(PoolBuilder) -> PoolBuilder,
) -> (Pool, Vec<Resource<Counting>>, Arc<Tracker>, ModelClock) {
    let clock = ModelClock::new();
    let builder = {
        let clock = clock.clone();
        Pool::builder(max)
            .handoff_after(mode.after())
            .clock(move || clock.now())
    };
    let (pool, resources, tracker) = pool_built(settings(builder), max, count);
    (pool, resources, tracker, clock)
}

/// The pool `builder` makes (of `max`), with `count` resources, and their
/// tracker.
fn pool_built(
    builder: PoolBuilder,
    max: usize,
    count: usize,
) -> (Pool, Vec<Resource<Counting>>, Arc<Tracker>) {
    pool_built_with(builder, max, count, None)
}

/// `pool_with`, with a tracker whose gate holds every `shutdown` until the
/// model opens it.
fn pool_with_gate(
    max: usize,
    count: usize,
    mode: Handoff,
) -> (Pool, Vec<Resource<Counting>>, Arc<Tracker>) {
    let builder = Pool::builder(max).handoff_after(mode.after());
    pool_built_with(builder, max, count, Some(Gate::new()))
}

/// `pool_built`, with `gate` in the tracker.
fn pool_built_with(
    builder: PoolBuilder,
    max: usize,
    count: usize,
    gate: Option<Gate>,
) -> (Pool, Vec<Resource<Counting>>, Arc<Tracker>) {
    let tracker = Arc::new(Tracker {
        max,
        live: AtomicUsize::new(0),
        released: Mutex::new(Vec::new()),
        releases: AtomicUsize::new(0),
        shutdowns: AtomicUsize::new(0),
        shut_down: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        gate,
    });
    let pool = builder.build();
    let resources = (0..count)
        .map(|key| pool.create(Counting::new(key, &tracker)))
        .collect();
    (pool, resources, tracker)
}

/// A guard counted in its manager's `guards` while it lives, and whose item is
/// used (written) once: loom checks the write against the item's other owners.
struct Held<'a, const OTHER_TYPE: bool = false> {
    guard: Option<Guard<'a, Counting<OTHER_TYPE>>>,
}

impl<'a, const OTHER_TYPE: bool> Held<'a, OTHER_TYPE> {
    fn new(mut guard: Guard<'a, Counting<OTHER_TYPE>>) -> Self {
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

    fn leave(&mut self) -> Guard<'a, Counting<OTHER_TYPE>> {
        let guard = self.guard.take().expect("left once");
        guard
            .resource()
            .manager()
            .guards
            .fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// Which allocation its item is.
    fn serial(&self) -> usize {
        self.guard.as_ref().expect("not left").serial
    }

    /// `Guard::release`.
    fn release(mut self) {
        self.leave().release().expect("Counting never fails");
    }
}

impl<const OTHER_TYPE: bool> Drop for Held<'_, OTHER_TYPE> {
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
fn pending_get<const OTHER_TYPE: bool>(
    resource: &Resource<Counting<OTHER_TYPE>>,
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

/// Checks the invariants of a quiescent pool (every thread joined, every
/// guard dropped), then drops the resources (which releases their idle
/// items) and checks every item was given to `release` or `shutdown` once
/// and `drained()` resolves.
fn assert_quiescent(pool: Pool, resources: Vec<Resource<Counting>>, tracker: &Tracker) {
    let stats = pool.stats();
    assert_eq!(stats.in_use, 0, "{stats:?}");
    assert_eq!(
        stats.idle + stats.releasing + stats.allocating,
        tracker.live(),
        "charges lost or leaked: {stats:?}"
    );
    let allocated = resources.iter().filter(|r| r.is_allocated()).count();
    assert_eq!(
        (stats.idle, stats.releasing, stats.allocating),
        (allocated, 0, 0),
        "{allocated} resources allocated: {stats:?}"
    );
    assert_eq!(stats.waiting, 0, "{stats:?}");
    // Every item allocated was counted once, and left by exactly one counted
    // path (an eviction, a hand-off, a release by the caller) or is still
    // allocated.
    let totals = stats.totals;
    let allocations = tracker.released.lock().unwrap().len() as u64;
    assert_eq!(totals.allocations, allocations, "{stats:?}");
    assert_eq!(allocated_by(totals), allocated as u64, "{stats:?}");
    // Every charge is free or held by an idle item: as many resources as
    // the pool allows can be got at once, each from a free charge or by
    // evicting, without waiting.
    let held: Vec<_> = resources
        .iter()
        .take(pool.max())
        .map(|r| Held::new(block_on(r.try_get()).expect("a charge was lost")))
        .collect();
    drop(held);
    drop(resources);
    let totals = pool.stats().totals;
    assert_eq!(allocated_by(totals), 0, "the last handles: {totals:?}");
    // Else loom reports a deadlock: a charge was not given back.
    block_on(pool.drained());
    drop(pool);
    assert_eq!(
        tracker.live(),
        0,
        "items left alive after the resources were dropped"
    );
    let released = tracker.released.lock().unwrap();
    assert!(
        released.iter().all(|&done| done),
        "items never given to release or shutdown: {released:?}"
    );
}

/// Ends a lifecycle model, once every thread joined and every guard was put:
/// moves the clock one `TIMEOUT` on, past every idle item's time; then
/// `release_expired` must release the item of every allocated resource (each
/// idle, with its entry in the idle set), after which no item is live and
/// `drained()` resolves (else loom reports a deadlock: a charge was lost).
/// Then the checks of `assert_quiescent`.
fn assert_expires_and_drains(
    pool: Pool,
    resources: Vec<Resource<Counting>>,
    tracker: &Tracker,
    clock: &ModelClock,
) {
    let allocated = resources.iter().filter(|r| r.is_allocated()).count();
    clock.advance(TIMEOUT);
    let expired = pool.release_expired();
    assert_eq!(expired, allocated, "{:?}", pool.stats());
    assert!(resources.iter().all(|r| !r.is_allocated()));
    assert_eq!(tracker.live(), 0, "an idle item outlived its time");
    block_on(pool.drained());
    assert_quiescent(pool, resources, tracker);
}

/// The items allocated now, by the totals: those `allocate` returned, less
/// those evicted, handed over, released by the caller, shed by a close, and
/// released past their time or failing their check.
fn allocated_by(totals: Totals) -> u64 {
    totals.allocations
        - totals.evictions
        - totals.handoffs
        - totals.released
        - totals.shed
        - totals.expired
        - totals.check_failures
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

/// Gets `resource`, uses the item and puts it, unless the pool was closed
/// first: then the get fails with `Closed` (never with another error, and
/// never stays pending). Returns whether it got the item.
fn get_use_put_unless_closed(resource: &Resource<Counting>) -> bool {
    match block_on(resource.get()) {
        Ok(guard) => {
            drop(Held::new(guard));
            true
        }
        Err(Error::Closed) => false,
        Err(error) => panic!("a get of a closing pool failed with {error}"),
    }
}

/// Like `pending_get`, for a pool that may be closed before the get is
/// served: the future completes with whether it got the item (else it
/// failed with `Closed`).
fn pending_get_unless_closed(
    resource: &Resource<Counting>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
    let resource = resource.clone();
    let mut get = Box::pin(async move {
        match resource.get().await {
            Ok(guard) => {
                drop(Held::new(guard));
                true
            }
            Err(Error::Closed) => false,
            Err(error) => panic!("a get of a closing pool failed with {error}"),
        }
    });
    assert!(
        block_on(poll_once(get.as_mut())).is_none(),
        "a get took a charge held by a guard"
    );
    get
}

/// Checks a closed pool once every thread has joined and every guard was
/// put: `drained()` resolves, no item is live or idle (the close shed the
/// idle ones, and each put after it shed its own), every item was released
/// exactly once, nothing is counted anywhere, and the totals account for
/// every item (`allocations == evictions + handoffs + released + shed`, with
/// no lifecycle settings in these models). Then
/// every get fails with `Closed` and allocates nothing.
fn assert_closed_and_drained(pool: Pool, resources: Vec<Resource<Counting>>, tracker: &Tracker) {
    assert!(pool.is_closed());
    block_on(pool.drained());
    let stats = pool.stats();
    assert_eq!(
        (
            stats.in_use,
            stats.idle,
            stats.allocating,
            stats.releasing,
            stats.waiting
        ),
        (0, 0, 0, 0, 0),
        "a closed pool not drained: {stats:?}"
    );
    assert_eq!(tracker.live(), 0, "an item outlived the close: {stats:?}");
    assert!(
        resources.iter().all(|r| !r.is_allocated()),
        "an item stayed in a closed pool"
    );
    let allocations = {
        let released = tracker.released.lock().unwrap();
        assert!(
            released.iter().all(|&done| done),
            "items never given to release or shutdown: {released:?}"
        );
        released.len() as u64
    };
    let totals = stats.totals;
    assert_eq!(totals.allocations, allocations, "{totals:?}");
    assert_eq!(
        allocated_by(totals),
        0,
        "an item not accounted for: {totals:?}"
    );
    for resource in &resources {
        assert!(matches!(block_on(resource.try_get()), Err(Error::Closed)));
        assert!(matches!(block_on(resource.get()), Err(Error::Closed)));
    }
    assert_eq!(
        tracker.released.lock().unwrap().len() as u64,
        allocations,
        "a get after the close allocated"
    );
    drop(resources);
    drop(pool);
    assert_eq!(tracker.live(), 0);
}

/// Closes `pool` on another thread, which then gets `resource`: a get that
/// starts after `close` returned must fail with `Closed`, even if the
/// resource's item is idle for an instant (a put that read the word before
/// the close makes it idle after the close's shed, and sheds it again).
fn close_on_another_thread(pool: &Pool, resource: &Resource<Counting>) -> thread::JoinHandle<()> {
    let pool = pool.clone();
    let resource = resource.clone();
    thread::spawn(move || {
        pool.close();
        let after = block_on(resource.get()).map(|_| ());
        assert!(
            matches!(after, Err(Error::Closed)),
            "a get after the close: {after:?}"
        );
    })
}

/// Runs `model` under loom once for each of `modes`, with at most
/// `preemptions` preemptions, the model's own bound, or fewer if
/// `LOOM_MAX_PREEMPTIONS` says so (CI sets 2). The bounds keep each model
/// under about ten seconds here: the state space grows exponentially with
/// them, and faster with three threads. The mode is printed before its run,
/// so a failure shows which one failed.
fn check(preemptions: usize, modes: &[Handoff], model: impl Fn(Handoff) + Sync + Send + 'static) {
    let model = Arc::new(model);
    for &mode in modes {
        let mut builder = loom::model::Builder::new();
        let bound = builder
            .preemption_bound
            .map_or(preemptions, |env| env.min(preemptions));
        builder.preemption_bound = Some(bound);
        eprintln!("handoff mode: {mode:?}");
        let model = Arc::clone(&model);
        builder.check(move || model(mode));
    }
}

/// Two gets of different resources race for the only charge: one allocates;
/// the other evicts its idle item, or waits for capacity and is served by its
/// put: handed the put's item (Always), or woken by its idle entry to evict
/// it (Never).
#[test]
fn two_gets_race_for_the_last_charge() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
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
/// resource's get: either the second evicts the item and the first allocates
/// again once a charge is free, or the first takes the item and the second
/// waits for its put (which hands it over, or keeps it idle to be evicted).
#[test]
fn get_of_an_idle_resource_races_its_eviction() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
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

/// A put races a get of another resource joining the wait queue: either the
/// put sees the waiter (it hands its item over, or its new idle entry wakes
/// the waiter), or the waiter's look after joining finds the put's idle item
/// (and evicts it). No lost wakeup.
#[test]
fn put_races_a_waiter_registering_for_capacity() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
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
/// freed charge reaches the waiter (granted to it if it has joined the queue,
/// else free for its look after joining), and it completes.
#[test]
fn guard_release_races_a_get_waiting_for_capacity() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
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
    check(4, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(1, 1, mode);
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
    check(4, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(2, 3, mode);
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
    check(4, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(2, 1, mode);
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
/// another thread while A's put makes capacity for it, and B's get, on a
/// third thread, joins the queue before or after C left. Always: the put
/// grants A's item to the first waiter not yet granted (C, or B once C left;
/// with neither queued it keeps the item idle); C leaving with the grant
/// passes it to B, or, if B has not joined yet, releases the item and frees
/// its charge for B. Never: the put's idle entry notifies C, and C leaving
/// passes the notification on to B (or B's look after joining finds the
/// item). B's get completes either way.
///
/// In the capacity wait this queue replaced (a grant counter and an event),
/// this model found a grant stranded with nobody notified; see the README.
#[test]
fn cancelled_get_passes_its_wakeup_on() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 3, mode);
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

/// Two gets wait for capacity, C first, and two releases grant each a charge.
/// C's get is dropped before it takes its grant, racing A's get (which joins
/// the queue, or finds a free charge) and D's get taking its own grant, which
/// it keeps until A's get is served: C's grant must reach A's get, passed on
/// to it in the queue or returned to the pool before it joined. (Found by
/// fuzzing in the capacity wait this queue replaced, where a dropped
/// notification could reach nobody:
/// `fuzz/regressions/pool_ops/notified-waiter-leaves`.)
#[test]
fn dropped_notified_waiter_passes_its_grant_on() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(2, 4, mode);
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

/// A put races the get it makes capacity for, and its own task's next get:
/// A held (max 1), B's get waiting for capacity; A's put, then A's try_get,
/// race B's get on another thread. Always: the put takes A's item out and
/// grants it to B, which shuts it down and allocates with its charge, so A's
/// try_get never gets that item back and succeeds only by evicting B's item
/// once B has put it. Never: the put keeps A idle and wakes B, which evicts A
/// (after A's try_get and put, if that took A back first: some execution must
/// show it, or the put did not keep its item). Either way B is served, A's
/// first item is released once, by B, and nothing is released for nobody: one
/// item is live at the end.
#[test]
fn put_and_try_get_again_race_a_waiter() {
    static TOOK_IT_BACK: AtomicBool = AtomicBool::new(false);
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        let (a, b) = (&resources[0], &resources[1]);
        let held = Held::new(block_on(a.get()).unwrap());
        let waiter = pending_get(b, || {});
        let waiter = thread::spawn(move || block_on(waiter));
        drop(held);
        let again = match block_on(a.try_get()) {
            Ok(guard) => {
                let held = Held::new(guard);
                Some(held.serial())
            }
            Err(Error::ResourceLimitExceeded) => None,
            Err(error) => panic!("A's try_get: {error}"),
        };
        waiter.join().unwrap();
        if again == Some(0) {
            assert_eq!(
                mode,
                Handoff::Never,
                "A's put kept its item from the waiter"
            );
            TOOK_IT_BACK.store(true, Ordering::Relaxed);
        }
        assert!(tracker.released(0), "B was served without A's item");
        let a_allocated_again = matches!(again, Some(serial) if serial != 0);
        assert_eq!(a.is_allocated(), a_allocated_again);
        assert_eq!(b.is_allocated(), !a_allocated_again);
        assert_eq!(tracker.live(), 1, "an item was released for nobody");
        assert_quiescent(pool, resources, &tracker);
    });
    assert!(
        TOOK_IT_BACK.load(Ordering::Relaxed),
        "never handing over, A's put never kept its item for A's try_get"
    );
}

/// A try_get that fails never counts as a waiter, so no put hands over to it:
/// A held (max 1), every put handing over to a waiting get (Always); B's
/// try_get on another thread races A's put. B's try_get fails (A held, or
/// A's item in flight) or evicts A (put first); unless it evicted A, A's put
/// kept its item idle.
#[test]
fn failing_try_get_races_a_put() {
    check(4, &[Handoff::Always], |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        let (a, b) = (&resources[0], &resources[1]);
        let held = Held::new(block_on(a.get()).unwrap());
        let trier = {
            let b = b.clone();
            thread::spawn(move || match block_on(b.try_get()) {
                Ok(guard) => drop(Held::new(guard)),
                Err(Error::ResourceLimitExceeded) => {}
                Err(error) => panic!("B's try_get: {error}"),
            })
        };
        drop(held);
        trier.join().unwrap();
        let b_got = b.is_allocated();
        assert_eq!(
            a.is_allocated(),
            !b_got,
            "A's put released its item for a try_get that failed"
        );
        assert_eq!(tracker.released(0), b_got);
        assert_eq!(tracker.live(), 1, "an item was released for nobody");
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A waiter dropped while the put's hand-off is on its way to it: A held
/// (max 1), B's get waiting, every put handing over (Always); A's put races
/// the drop of B's get on another thread. If the put came first, B leaves
/// with A's item granted to it and, nobody else waiting, releases it and
/// frees its charge; else the put finds no waiter and keeps A idle. The item
/// is released at most once, and its charge is not lost.
#[test]
fn dropped_waiter_releases_the_item_handed_to_it() {
    check(4, &[Handoff::Always], |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        let (a, b) = (&resources[0], &resources[1]);
        let held = Held::new(block_on(a.get()).unwrap());
        let dropped = pending_get(b, || {});
        let dropper = thread::spawn(move || drop(dropped));
        drop(held);
        dropper.join().unwrap();
        assert!(!b.is_allocated());
        assert_eq!(a.is_allocated(), !tracker.released(0));
        assert_eq!(tracker.live(), usize::from(a.is_allocated()));
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A waiter dropped while the put makes capacity for it passes it on to the
/// next: A held (max 1), B's and C's gets waiting, B first; A's put races the
/// drop of B's get and C's get, each on its own thread. Always: the put grants
/// A's item to B (to C if B left first), and B leaving with it grants it to C,
/// which shuts it down and allocates with its charge. Never: the put's idle
/// entry wakes B, and B leaving passes the wakeup on to C, which evicts A.
/// Either way C is served, A's item released once, by C, and one item is live
/// at the end.
#[test]
fn dropped_waiter_passes_a_handoff_on() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 3, mode);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let dropped = pending_get(&resources[1], || {});
        let served = pending_get(&resources[2], || {});
        let dropper = thread::spawn(move || drop(dropped));
        let server = thread::spawn(move || block_on(served));
        drop(held);
        dropper.join().unwrap();
        server.join().unwrap();
        assert!(tracker.released(0), "C was served without A's item");
        assert!(resources[2].is_allocated() && !resources[1].is_allocated());
        assert_eq!(tracker.live(), 1, "an item was released for nobody");
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A grant overtakes a wakeup: A and D held (max 2), B's and C's gets
/// waiting, B first, each then served on its own thread, and B keeps its
/// guard until C is served. A's put, then D's release. Never: the put's idle
/// entry wakes B; the release grants its charge to the first waiter not yet
/// granted, B if B has not looked yet, and then B's wakeup must pass on to
/// C, for A's idle item (else C gets the charge, B having evicted A).
/// Always: the put grants A's item to B and the release its charge to C.
/// Both are served.
#[test]
fn grant_to_a_woken_waiter_passes_its_wakeup_on() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(2, 4, mode);
        let held_a = Held::new(block_on(resources[0].get()).unwrap());
        let held_d = Held::new(block_on(resources[3].get()).unwrap());
        let c_served = Arc::new(loom::sync::Notify::new());
        let b = {
            let c_served = c_served.clone();
            pending_get(&resources[1], move || c_served.wait())
        };
        let c = pending_get(&resources[2], move || c_served.notify());
        let b = thread::spawn(move || block_on(b));
        let c = thread::spawn(move || block_on(c));
        drop(held_a);
        held_d.release();
        b.join().unwrap();
        c.join().unwrap();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A put hands its item to a capacity waiter and its hold to another get of
/// its own resource: A held (max 1); A's second get waits for the hold, B's
/// get for capacity; A's put races both, each served on its own thread.
/// Always: the put grants A's item to B and passes the hold, without the
/// item, to A's get, which waits for B's release of the item, then for
/// capacity behind B (B's put hands it over). Never: the put passes the hold
/// with the item to A's get, whose put then wakes B to evict A. Both are
/// served, and A never has two live items.
#[test]
fn put_hands_its_item_and_its_hold_to_two_gets() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let a_again = pending_get(&resources[0], || {});
        let b = pending_get(&resources[1], || {});
        let a_again = thread::spawn(move || block_on(a_again));
        let b = thread::spawn(move || block_on(b));
        drop(held);
        a_again.join().unwrap();
        b.join().unwrap();
        assert!(tracker.released(0), "B was served without A's item");
        assert_eq!(tracker.live(), 1, "an item was released for nobody");
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A get and put of idle A race C's get evicting the least recently used idle
/// resource, of A (put first) and B (put second). If A's get took its idle
/// item, the evictor must take B: while A is held it is not idle, and once A
/// is put again its entry is out of date (exact LRU).
#[test]
fn get_and_put_race_the_eviction_of_the_least_recently_used() {
    check(4, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(2, 3, mode);
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
/// released once, by one of them, and the get completes (if it found neither
/// the item nor a charge, the freed charge is granted to it in the queue).
#[test]
fn last_handle_dropped_while_idle_races_eviction() {
    check(4, BOTH, |mode| {
        let (pool, mut resources, tracker) = pool_with(1, 2, mode);
        get_use_put(&resources[0]);
        let evictor = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        // A shared step before the drop: without one, loom runs the whole
        // drop of the handle (its first loom operation comes after the count
        // fell to zero) before the evictor can upgrade the entry, and the
        // eviction never races it.
        let _ = pool.stats();
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
    check(3, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
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

/// `close` races a get of an idle resource (the fast path) and a get of
/// another that allocates with a free charge (max 2, A idle, B not
/// allocated). Each get either succeeds, and then its put sheds the item if
/// the pool is closed by then, or fails with `Closed`; none is left pending.
/// A's idle item is released once: by the close's shed, by A's put after
/// the close, or by the fast path that took it after the close (which puts
/// it back, and the put sheds it).
#[test]
fn close_races_a_get_of_an_idle_item_and_a_get_that_allocates() {
    check(3, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(2, 2, mode);
        get_use_put(&resources[0]);
        let closer = close_on_another_thread(&pool, &resources[0]);
        let b = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put_unless_closed(&b))
        };
        let a_got = get_use_put_unless_closed(&resources[0]);
        let b_got = b.join().unwrap();
        closer.join().unwrap();
        let allocations = tracker.released.lock().unwrap().len();
        // A's get never allocates: it takes its idle item, or the close shed
        // that item and the get fails (its take_idle saw the close, or its
        // slow path did, having waited for the shed's release to return).
        assert_eq!(
            allocations,
            1 + usize::from(b_got),
            "B allocated without returning its guard, or A allocated again"
        );
        let _ = a_got;
        assert_closed_and_drained(pool, resources, &tracker);
    });
}

/// `close` races a put (max 1, A held): the item is released exactly once,
/// by the close's shed (the put came first and left it idle) or by the put
/// (it saw the close, or it made the item idle after the close's shed and
/// sheds again from `push_idle`); never left idle. `kept_entry`: A's guard
/// is of an idle item got again, so its idle-set entry is still there (the
/// close's shed finds A held and drops the entry, or finds it idle after the
/// put and claims it); else its guard is of a fresh item and the put adds
/// the entry.
fn close_races_a_put(kept_entry: bool) {
    check(4, EITHER, move |mode| {
        let (pool, resources, tracker) = pool_with(1, 1, mode);
        if kept_entry {
            get_use_put(&resources[0]);
        }
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let closer = close_on_another_thread(&pool, &resources[0]);
        drop(held);
        closer.join().unwrap();
        assert!(
            !resources[0].is_allocated(),
            "the put left its item in the closed pool"
        );
        assert!(tracker.released(0));
        assert_eq!(pool.stats().totals.shed, 1);
        assert_closed_and_drained(pool, resources, &tracker);
    });
}

#[test]
fn close_races_the_put_of_a_fresh_item() {
    close_races_a_put(false);
}

#[test]
fn close_races_a_put_that_keeps_its_idle_entry() {
    close_races_a_put(true);
}

/// `close` races an eviction: A idle (max 1), B's get on another thread
/// evicts it, unless the close's shed took A first; then B fails with
/// `Closed`, or, if it saw no close yet, takes the charge the shed freed
/// (or waits for it, and the close fails it). A's item is released once,
/// by B (an eviction) or by the close (shed); if B got an item, its put
/// sheds it (or the close does, if B put it first).
#[test]
fn close_races_an_eviction() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        get_use_put(&resources[0]);
        let evictor = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put_unless_closed(&b))
        };
        pool.close();
        assert!(matches!(block_on(resources[0].get()), Err(Error::Closed)));
        let b_got = evictor.join().unwrap();
        let allocations = tracker.released.lock().unwrap().len();
        assert_eq!(allocations, 1 + usize::from(b_got));
        let totals = pool.stats().totals;
        assert_eq!(
            totals.evictions + totals.shed,
            1 + u64::from(b_got),
            "{totals:?}"
        );
        assert_closed_and_drained(pool, resources, &tracker);
    });
}

/// `close` races a put that serves two waiting gets: A held (max 1), A's
/// second get waits for the hold, B's get for capacity; A's put and the
/// close race, and each get is served on its own thread. Always: the put
/// grants A's item to B (the close then takes the grant back and releases
/// the item, counted as the hand-off, and B fails with `Closed`; or B took
/// it first, allocates and its put sheds) and passes the hold without the
/// item to A's get, which then fails with `Closed` (or waits behind B and is
/// served by B's put, before the close). Never: the put passes the hold with
/// the item to A's get. Neither get is left pending, and every item is
/// released once.
#[test]
fn close_races_a_put_serving_a_capacity_waiter_and_a_hold_waiter() {
    // Bound 2: three threads, and at 3 it takes minutes.
    check(2, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let a_again = pending_get_unless_closed(&resources[0]);
        let b = pending_get_unless_closed(&resources[1]);
        let closer = close_on_another_thread(&pool, &resources[1]);
        let b = thread::spawn(move || block_on(b));
        drop(held);
        block_on(a_again);
        b.join().unwrap();
        closer.join().unwrap();
        assert_closed_and_drained(pool, resources, &tracker);
    });
}

/// `close` fails the gets that wait, for the hold and for capacity, while
/// the guard they wait for stays out: A held (max 1), A's second get waits
/// for the hold and B's get for capacity, both then polled on another
/// thread, which must see both fail with `Closed` before A's put (else
/// loom reports a deadlock: the close did not wake them). A's put then
/// sheds its item.
#[test]
fn close_fails_the_gets_waiting_for_the_hold_and_for_capacity() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(1, 2, mode);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let a_again = pending_get_unless_closed(&resources[0]);
        let b = pending_get_unless_closed(&resources[1]);
        let waiters = thread::spawn(move || (block_on(a_again), block_on(b)));
        pool.close();
        assert_eq!(waiters.join().unwrap(), (false, false), "a waiting get got");
        assert_eq!(pool.stats().waiting, 0);
        drop(held);
        assert_eq!(pool.stats().totals.shed, 1);
        assert_closed_and_drained(pool, resources, &tracker);
    });
}

/// `set_max` grows while B's get waits for capacity (A held, max 1): B is
/// served with a charge the growth freed (or, if it came first, with one
/// free already), never left asleep.
#[test]
fn set_max_growing_races_a_waiting_get() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(2, 2, mode);
        pool.set_max(1);
        let held = Held::new(block_on(resources[0].get()).unwrap());
        let waiter = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        pool.set_max(2);
        waiter.join().unwrap();
        drop(held);
        assert_eq!(pool.stats().idle, 2);
        assert_quiescent(pool, resources, &tracker);
    });
}

/// `set_max` shrinks from 2 to 1 while A is got and put on another thread
/// and B is held: live items never exceed the old limit, no get of A
/// allocates while two items live, and once both guards are put at most one
/// item is left.
#[test]
fn set_max_shrinking_races_a_get_and_a_put() {
    check(3, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with(2, 2, mode);
        drop(block_on(resources[0].get()).unwrap());
        let held = Held::new(block_on(resources[1].get()).unwrap());
        let other = {
            let a = resources[0].clone();
            thread::spawn(move || get_use_put(&a))
        };
        pool.set_max(1);
        drop(held);
        other.join().unwrap();
        let stats = pool.stats();
        assert_eq!((stats.max, stats.in_use), (1, 0), "{stats:?}");
        assert!(stats.idle <= 1, "{stats:?}");
        assert_quiescent(pool, resources, &tracker);
    });
}

/// `release_expired` races a get of the idle item it finds past its time (A
/// idle since 0, the clock at its idle timeout, max 1). Exactly one of them
/// takes the item: `release_expired` claims it, and the get waits for that
/// release to return, then for the charge it frees (free, or granted to the
/// get in the queue); or the get takes it, finds it expired, releases it and
/// allocates afresh with its own charge, and `release_expired` finds A held
/// and keeps its entry. Either way the get is served a new item, the old one
/// is released once and counted once as expired, and no charge is lost.
#[test]
fn release_expired_races_a_get_of_the_expired_item() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker, clock) =
            pool_with_lifecycle(1, 1, mode, |pool| pool.idle_timeout(TIMEOUT));
        let a = &resources[0];
        get_use_put(a);
        clock.set(TIMEOUT);
        let reaper = {
            let pool = pool.clone();
            thread::spawn(move || pool.release_expired())
        };
        let held = Held::new(block_on(a.get()).unwrap());
        assert_eq!(held.serial(), 1, "the get used its expired item");
        drop(held);
        let reaped = reaper.join().unwrap();
        assert!(reaped <= 1);
        assert!(tracker.released(0));
        let totals = pool.stats().totals;
        assert_eq!((totals.expired, totals.allocations), (1, 2), "{totals:?}");
        assert!(a.is_allocated());
        assert_expires_and_drains(pool, resources, &tracker, &clock);
    });
}

/// `release_expired` races the put that makes an item idle again: A's item
/// idle since 0, got again (its idle-set entry stays) and held; the clock at
/// A's idle timeout; A's put races `release_expired` on another thread (max
/// 1). The put stamps the item idle since now, so `release_expired` keeps
/// it, whether it finds A held or idle again: it reads the stamps after the
/// state word, and so sees the put's stamp whenever it sees the put.
#[test]
fn release_expired_races_the_put_of_the_item() {
    check(4, EITHER, |mode| {
        let (pool, resources, tracker, clock) =
            pool_with_lifecycle(1, 1, mode, |pool| pool.idle_timeout(TIMEOUT));
        let a = &resources[0];
        get_use_put(a);
        let held = Held::new(block_on(a.get()).unwrap());
        clock.set(TIMEOUT);
        let reaper = {
            let pool = pool.clone();
            thread::spawn(move || pool.release_expired())
        };
        drop(held);
        let reaped = reaper.join().unwrap();
        assert_eq!(reaped, 0, "released an item put at its idle timeout");
        assert!(a.is_allocated() && !tracker.released(0));
        assert_eq!(pool.stats().totals.expired, 0);
        assert_expires_and_drains(pool, resources, &tracker, &clock);
    });
}

/// A get that finds its idle item past its time releases it and allocates
/// afresh with its own charge, racing another resource's get for capacity
/// (A idle since 0, the clock at its idle timeout, max 1). B's get evicts
/// A's item (A's get then waits for that release, and for capacity, served
/// by B's put); or finds A held, drops its entry and waits, served by A's
/// put (handed its new item, or woken to evict it). Live items never exceed
/// 1, and both gets are served.
#[test]
fn get_replacing_its_expired_item_races_a_get_for_capacity() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker, clock) =
            pool_with_lifecycle(1, 2, mode, |pool| pool.idle_timeout(TIMEOUT));
        get_use_put(&resources[0]);
        clock.set(TIMEOUT);
        let other = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        get_use_put(&resources[0]);
        other.join().unwrap();
        assert!(tracker.released(0));
        assert_eq!(tracker.live(), 1);
        assert_expires_and_drains(pool, resources, &tracker, &clock);
    });
}

/// A put past its item's `max_lifetime` releases the item, racing another
/// resource's get waiting for capacity (A held, born at 0, the clock at its
/// lifetime, max 1): the charge the release frees is granted to B's get (or
/// is free for its look), never handed over with the item nor left idle,
/// and B is served.
#[test]
fn put_past_max_lifetime_races_a_get_waiting_for_capacity() {
    check(4, BOTH, |mode| {
        let (pool, resources, tracker, clock) =
            pool_with_lifecycle(1, 2, mode, |pool| pool.max_lifetime(TIMEOUT));
        let held = Held::new(block_on(resources[0].get()).unwrap());
        clock.set(TIMEOUT);
        let waiter = {
            let b = resources[1].clone();
            thread::spawn(move || get_use_put(&b))
        };
        drop(held);
        waiter.join().unwrap();
        assert!(
            tracker.released(0),
            "the put kept an item past its lifetime"
        );
        assert!(!resources[0].is_allocated() && resources[1].is_allocated());
        let totals = pool.stats().totals;
        assert_eq!(
            (totals.expired, totals.handoffs, totals.evictions),
            (1, 0, 0),
            "{totals:?}"
        );
        assert_expires_and_drains(pool, resources, &tracker, &clock);
    });
}

/// A get waiting for its own resource's release and another get of the same
/// resource waiting for its hold listen to one event, the resource's
/// `changed`: A held (max 2); two more gets of A wait for the hold, then run
/// each on its own thread while A's guard is released. The first woken takes
/// the hold without the item and, if the release has not returned, waits for
/// it while the other still waits for the hold: the release must wake it
/// (a notification of one listener could reach the hold waiter instead, and
/// be lost), and its put then hands the hold, with its new item, to the other.
#[test]
fn hold_waiter_and_release_waiter_share_the_changed_event() {
    check(3, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with(2, 1, mode);
        let a = &resources[0];
        let held = Held::new(block_on(a.get()).unwrap());
        let first = pending_get(a, || {});
        let second = pending_get(a, || {});
        let first = thread::spawn(move || block_on(first));
        let second = thread::spawn(move || block_on(second));
        held.release();
        first.join().unwrap();
        second.join().unwrap();
        assert!(tracker.released(0));
        assert_eq!(
            tracker.released.lock().unwrap().len(),
            2,
            "the item was not handed to the second get with the hold"
        );
        assert_quiescent(pool, resources, &tracker);
    });
}

/// An eviction whose `shutdown` is pending races a get waiting for
/// capacity and a put: A idle, D held (max 2); B's get (of another manager
/// type: its shutdown of A's item is boxed) evicts A and waits for A's
/// shutdown, which the gate holds; C's get waits for capacity. Then B's and
/// C's gets run each on its own thread while D's put serves C: Always, it
/// hands D's item to C; Never, it keeps it idle and wakes C, which evicts
/// it; either way C shuts it down inline, held by the gate too. Until the
/// gate opens, every item in a shutdown counts in `stats().releasing`; then
/// both shutdowns complete and B and C allocate, each with the charge of
/// the item it shut down and only once that shutdown completed (live items
/// never exceed 2, counting those being shut down). Each item goes to
/// `shutdown` once, none to `release`, and no charge is lost.
#[test]
fn eviction_with_its_shutdown_pending_races_a_waiter_and_a_put() {
    check(2, BOTH, |mode| {
        let (pool, resources, tracker) = pool_with_gate(2, 3, mode);
        let (a, c, d) = (&resources[0], &resources[1], &resources[2]);
        let b = pool.create(Counting::<true>::new(3, &tracker));
        get_use_put(a);
        let held_d = Held::new(block_on(d.get()).unwrap());
        let b_get = pending_get(&b, || {});
        assert_eq!(tracker.shutting_down(), 1, "B did not evict A");
        assert_eq!(pool.stats().releasing, 1, "A's item in its shutdown");
        let c_get = pending_get(c, || {});
        let b_get = thread::spawn(move || block_on(b_get));
        let c_get = thread::spawn(move || block_on(c_get));
        drop(held_d);
        // No shutdown completes before the gate opens: each one started
        // still counts as releasing.
        tracker.gate().open_after(|| {
            let shutting_down = tracker.shutting_down();
            let stats = pool.stats();
            assert_possible(stats);
            assert!(
                stats.releasing >= shutting_down,
                "{shutting_down} items in their shutdown: {stats:?}"
            );
        });
        b_get.join().unwrap();
        c_get.join().unwrap();
        let fates = tracker.fates();
        assert_eq!(
            (fates.released, fates.shut_down, fates.dropped),
            (0, 2, 0),
            "A's and D's items go to shutdown: {fates:?}"
        );
        let totals = pool.stats().totals;
        assert_eq!(totals.evictions + totals.handoffs, 2, "{totals:?}");
        assert!(b.is_allocated() && c.is_allocated());
        assert!(!a.is_allocated() && !d.is_allocated());
        // B's idle item is released with its last handle.
        drop(b);
        assert_quiescent(pool, resources, &tracker);
    });
}

/// The evicting get is dropped while its `shutdown` is pending, racing a
/// get waiting for capacity: A idle (max 1); B's get evicts it and waits
/// for A's shutdown (the gate stays closed); then B's get is dropped on
/// another thread while C's get starts. The shutdown future is dropped with
/// B's get, A's item with it (neither `release` nor a completed shutdown),
/// and the charge is freed: granted to C in the queue, or free for its
/// look. C is served, and no charge is lost.
#[test]
fn evicting_get_dropped_while_its_shutdown_is_pending_frees_the_charge() {
    check(4, EITHER, |mode| {
        let (pool, resources, tracker) = pool_with_gate(1, 3, mode);
        let (a, b, c) = (&resources[0], &resources[1], &resources[2]);
        get_use_put(a);
        let b_get = pending_get(b, || unreachable!("B's get is dropped"));
        assert_eq!(tracker.shutting_down(), 1, "B did not evict A");
        let dropper = thread::spawn(move || drop(b_get));
        get_use_put(c);
        dropper.join().unwrap();
        assert_eq!(
            tracker.fates(),
            Fates {
                released: 0,
                shutdowns: 1,
                shut_down: 0,
                dropped: 1
            },
            "A's item is dropped with its shutdown"
        );
        assert!(!a.is_allocated() && !b.is_allocated() && c.is_allocated());
        assert_eq!(pool.stats().totals.evictions, 1);
        // The end checks evict: let their shutdowns complete.
        tracker.gate().open();
        assert_quiescent(pool, resources, &tracker);
    });
}

/// A get served by a hand-off shuts the put's item down while another get
/// of the put's resource races it (Always, max 1): A held, B's get waiting
/// for capacity, then run on another thread. A's put hands A's item to B,
/// which awaits its shutdown, held by the gate until this thread opens it
/// and gets A again. A's get waits for its old item's shutdown to complete
/// (A stays releasing until then), then for capacity, and is served by B's
/// put (handed B's item, which it shuts down in turn), or evicts B's idle
/// item. Every item a get freed a charge with went to `shutdown`, none to
/// `release`, and A never has two live items.
#[test]
fn handed_over_item_shutdown_races_a_get_of_its_resource() {
    check(3, &[Handoff::Always], |mode| {
        let (pool, resources, tracker) = pool_with_gate(1, 2, mode);
        let (a, b) = (&resources[0], &resources[1]);
        let held = Held::new(block_on(a.get()).unwrap());
        let b_get = pending_get(b, || {});
        let b_get = thread::spawn(move || block_on(b_get));
        drop(held);
        tracker.gate().open();
        get_use_put(a);
        b_get.join().unwrap();
        let fates = tracker.fates();
        let totals = pool.stats().totals;
        // A's item handed to B; B's handed to A's get, or evicted by it.
        assert!(
            matches!((totals.handoffs, totals.evictions), (2, 0) | (1, 1)),
            "{totals:?}"
        );
        assert_eq!(
            (fates.released, fates.shut_down, fates.dropped),
            (0, 2, 0),
            "the items freed for the gets were released: {fates:?}"
        );
        assert!(tracker.released(0) && a.is_allocated() && !b.is_allocated());
        assert_quiescent(pool, resources, &tracker);
    });
}
