//! Reuse under pressure (SPEC.md, "Waiting for capacity: fair, without
//! churn"): while gets wait for the pool's capacity, a put keeps its item idle
//! and wakes the longest waiting get, which evicts the least recently used
//! idle item; only once that get has waited longer than the pool's
//! `handoff_after` does the next put release its item and hand its charge to
//! it. `handoff_after(Duration::ZERO)` hands over on every put (strict FIFO),
//! `Duration::MAX` never. `try_get` never waits, so it is never a waiter, and
//! no charge is ever freed for nobody.
//!
//! The scenarios that depend on the order of events poll the waiting gets by
//! hand on one thread, so that nothing races. No test asserts a duration: a
//! sleep makes a waiter "past `handoff_after`" (a lower bound, whatever the
//! machine's load), and the one scenario that needs a waiter *not* past the
//! default of 1 ms times the span from the waiter's first poll to the put and,
//! where the thread was preempted in it, starts again.

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::Poll;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::{assert_quiescent, bounded, Counting, Failed, Item, Poller, Runner, Tracker, LIMIT};
use futures_lite::future::block_on;
use resourcepool::{AllocateRelease, Error, Guard, Pool, PoolBuilder, Resource};

// Setup.

/// A pool built by `builder`, its tracker, the log of the keys its managers
/// released (in order), and `N` resources with keys `0..N`.
struct Logged<const N: usize> {
    pool: Pool,
    tracker: Arc<Tracker>,
    released: Arc<Mutex<Vec<usize>>>,
    resources: [Resource<Counting>; N],
}

impl<const N: usize> Logged<N> {
    fn new(builder: PoolBuilder) -> Self {
        let pool = builder.build();
        let tracker = Tracker::new(pool.max());
        let released = Arc::new(Mutex::new(Vec::new()));
        let resources =
            std::array::from_fn(|key| pool.create(Counting::new(key, &tracker).logging(&released)));
        Logged {
            pool,
            tracker,
            released,
            resources,
        }
    }

    fn released(&self) -> Vec<usize> {
        self.released.lock().unwrap().clone()
    }
}

/// Polls `waiting` (again while it wakes itself: a woken waiter may yield
/// once before it looks) and returns its guard, failing the test if it is
/// pending or failed.
fn served<'a, F>(poller: &Poller, waiting: Pin<&mut F>, what: &str) -> Guard<'a, Counting>
where
    F: Future<Output = Result<Guard<'a, Counting>, Error<Failed>>>,
{
    match poller.poll_woken(waiting) {
        Poll::Ready(Ok(guard)) => guard,
        Poll::Ready(Err(error)) => panic!("{what}: the get failed: {error:?}"),
        Poll::Pending => panic!("{what}: the get is still waiting"),
    }
}

// Go's shape: one task or thread per resource, get / yield / put.

/// The pool's limit, as in the Go tests.
const MAX: usize = 10;
/// Get / yield / put cycles per resource.
const CYCLES: usize = 1000;
/// How long one shape may take before the test fails as a deadlock.
const SHAPE_LIMIT: Duration = Duration::from_secs(60);
/// The most gets that may allocate with 11 resources over `MAX`, unless
/// every put hands over. SPEC.md's target is 10% (the benchmarks' S6 measures
/// it); this bound only tells reuse from strict FIFO (about 98%) on a busy
/// machine: each allocation after the first `MAX` serves the one resource
/// without an item, whose item some other resource then lacks, so the
/// allocations form a single chain, one link per get of the resource that
/// lacks an item.
const GENEROUS_BOUND: f64 = 0.5;

/// One resource's task: `CYCLES` times get, yield while holding the guard
/// (with the runner's `yield_now`), put.
async fn cycle(resource: Resource<Counting>, runner: Runner) {
    for _ in 0..CYCLES {
        let mut guard = runner
            .get(&resource)
            .await
            .expect("allocate never fails here");
        assert_eq!(guard.key, resource.manager().key);
        guard.uses += 1;
        runner.yield_now().await;
        drop(guard);
    }
}

/// Runs Go's shape with `count` resources over `MAX` in a pool that `builder`
/// makes, checks that no charge was freed for nobody, and returns the fraction
/// of gets that allocated.
fn go_shape(runner: Runner, count: usize, builder: PoolBuilder) -> f64 {
    let pool = builder.build();
    assert_eq!(pool.max(), MAX);
    let tracker = Tracker::new(MAX);
    let resources: Vec<_> = (0..count)
        .map(|key| pool.create(Counting::new(key, &tracker)))
        .collect();

    runner.run_each(SHAPE_LIMIT, resources.clone(), cycle);

    assert_quiescent(&pool, &tracker);
    let stats = pool.stats();
    let (allocations, releases) = (tracker.allocations(), tracker.releases());
    // More resources than charges, and nobody released: once no get waits,
    // every charge is still in use by an allocated item, and every item the
    // pool released was released for a get that then allocated.
    assert_eq!(
        (stats.in_use, stats.idle, stats.allocating, stats.releasing),
        (0, MAX, 0, 0),
        "a charge was freed for nobody: {stats:?}, {allocations} allocations, {releases} releases"
    );
    assert_eq!(
        releases,
        allocations - MAX,
        "an item was released for no allocation"
    );

    drop(resources);
    assert_eq!(tracker.live(), 0, "dropping the resources left items alive");
    assert_eq!(tracker.releases(), tracker.allocations());

    let fraction = allocations as f64 / (count * CYCLES) as f64;
    eprintln!(
        "{runner:?}, {count} resources over {MAX}: {allocations} of {} gets allocated ({:.2}%)",
        count * CYCLES,
        fraction * 100.0
    );
    fraction
}

/// Go's shape on `runner` with the default `handoff_after`: 11 resources (one
/// over `MAX`), whose gets mostly reuse, and 113.
macro_rules! go_shapes {
    ($($module:ident => $runner:expr;)*) => {
        $(
            mod $module {
                use super::*;

                #[test]
                fn eleven_resources_one_over_max_mostly_reuse() {
                    let fraction = go_shape($runner, 11, Pool::builder(MAX));
                    assert!(
                        fraction < GENEROUS_BOUND,
                        "{:.1}% of gets allocated: puts released their items",
                        fraction * 100.0
                    );
                }

                #[test]
                fn a_hundred_and_thirteen_resources_free_no_charge_for_nobody() {
                    go_shape($runner, 113, Pool::builder(MAX));
                }
            }
        )*
    };
}

go_shapes! {
    tokio_tasks => Runner::Tokio;
    smol_tasks => Runner::Smol;
    async_std_tasks => Runner::AsyncStd;
    os_threads_blocking => Runner::Threads;
}

#[test]
fn never_handing_over_eleven_threads_mostly_reuse() {
    let builder = Pool::builder(MAX).handoff_after(Duration::MAX);
    let fraction = go_shape(Runner::Threads, 11, builder);
    assert!(
        fraction < GENEROUS_BOUND,
        "{:.1}% of gets allocated with handoff_after(Duration::MAX)",
        fraction * 100.0
    );
}

#[test]
fn handing_over_on_every_put_frees_no_charge_for_nobody() {
    let builder = Pool::builder(MAX).handoff_after(Duration::ZERO);
    go_shape(Runner::Threads, 11, builder);
}

// try_get never waits.

/// A `Counting` that records the thread of each of its releases.
#[derive(Debug)]
struct ReleaseThreads {
    counting: Counting,
    threads: Mutex<Vec<ThreadId>>,
}

impl AllocateRelease for ReleaseThreads {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        self.counting.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        self.counting.release(item)
    }
}

/// Plain puts of the first resource, racing `try_get`s of the second.
const TRY_GET_CYCLES: usize = 20_000;
/// How long (in spin-loop hints) each of those holds its guard.
const HOLD_SPINS: usize = 100;

/// Max 1. One thread loops `a.try_get()` and drops the guard it gets (a
/// plain put); another loops `b.try_get()` and releases the guard it gets.
/// B's `try_get` evicts an idle A (a release of A on B's thread), and fails
/// while A is held; a failing `try_get` never waited, so A's put must keep
/// its item: A is never released on A's thread.
fn a_failing_try_get_never_makes_a_put_release(builder: PoolBuilder) {
    bounded(LIMIT, move || {
        let pool = builder.build();
        assert_eq!(pool.max(), 1);
        let tracker = Tracker::new(1);
        let a = pool.create(ReleaseThreads {
            counting: Counting::new(0, &tracker),
            threads: Mutex::new(Vec::new()),
        });
        let b = pool.create(ReleaseThreads {
            counting: Counting::new(1, &tracker),
            threads: Mutex::new(Vec::new()),
        });
        let done = AtomicBool::new(false);
        let start = Barrier::new(2);
        let (putter, (gets, failures)) = std::thread::scope(|scope| {
            let putter = scope.spawn(|| {
                start.wait();
                let mut puts = 0;
                for _ in 0..TRY_GET_CYCLES {
                    if let Ok(guard) = block_on(a.try_get()) {
                        // Held a moment, so that B's try_gets fail meanwhile.
                        for _ in 0..HOLD_SPINS {
                            std::hint::spin_loop();
                        }
                        drop(guard);
                        puts += 1;
                    }
                }
                done.store(true, Ordering::SeqCst);
                (std::thread::current().id(), puts)
            });
            let releaser = scope.spawn(|| {
                start.wait();
                let (mut gets, mut failures) = (0usize, 0usize);
                while !done.load(Ordering::SeqCst) {
                    match block_on(b.try_get()) {
                        Ok(guard) => {
                            gets += 1;
                            guard.release().unwrap();
                        }
                        Err(_) => failures += 1,
                    }
                }
                (gets, failures)
            });
            (putter.join().unwrap(), releaser.join().unwrap())
        });
        let (putter_thread, puts) = putter;
        let a_releases = a.manager().threads.lock().unwrap().clone();
        let on_putter = a_releases.iter().filter(|&&t| t == putter_thread).count();
        eprintln!(
            "A: {puts} puts, {} releases; B: {gets} gets, {failures} failed try_gets",
            a_releases.len()
        );
        assert_eq!(
            on_putter, 0,
            "{on_putter} of A's {puts} plain puts released its item (a failing try_get counted as a waiter)"
        );
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_failing_try_get_never_makes_a_put_release_by_default() {
    a_failing_try_get_never_makes_a_put_release(Pool::builder(1));
}

#[test]
fn a_failing_try_get_never_makes_a_put_release_with_handoff_after_zero() {
    a_failing_try_get_never_makes_a_put_release(Pool::builder(1).handoff_after(Duration::ZERO));
}

// Hand-off once the longest waiting get has waited past handoff_after.

/// What `handoff_after` is set to where a waiter is made to wait past it.
const HANDOFF_AFTER: Duration = Duration::from_millis(10);
/// How long such a waiter waits before the put: clearly past `HANDOFF_AFTER`.
const PAST_HANDOFF_AFTER: Duration = Duration::from_millis(50);

/// A is held; B's get waits for capacity, for `wait` before A's put, in a
/// pool from `builder` whose `handoff_after` is shorter than that: the put
/// must hand A's item and charge to B at once, so that neither A's own
/// resource nor a get that came later (C) can take them.
fn assert_the_next_put_serves_the_waiter(builder: PoolBuilder, wait: Duration) {
    bounded(LIMIT, move || {
        let setup = Logged::<3>::new(builder);
        let [a, b, c] = &setup.resources;
        let held = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        std::thread::sleep(wait);

        drop(held);
        // At once, with nothing polled in between: A's charge is B's already,
        // and no later get may take it.
        assert!(
            matches!(block_on(a.try_get()), Err(Error::ResourceLimitExceeded)),
            "the put kept its item for its own resource"
        );
        assert!(
            matches!(block_on(c.try_get()), Err(Error::ResourceLimitExceeded)),
            "a get that came later took the charge handed over"
        );
        assert!(!a.is_allocated());
        assert!(poller.wakes() > 0, "the served get is not woken");

        let guard = served(&poller, waiting.as_mut(), "B");
        assert_eq!(guard.key, 1);
        assert_eq!(setup.released(), [0], "A's item is released once");
        assert_eq!(setup.tracker.allocations(), 2);
        assert!(!a.is_allocated());
        drop(guard);
        assert_quiescent(&setup.pool, &setup.tracker);
        assert_eq!(setup.pool.stats().idle, 1);
    });
}

#[test]
fn a_get_that_waited_past_handoff_after_is_served_by_the_next_put() {
    let builder = Pool::builder(1).handoff_after(HANDOFF_AFTER);
    assert_the_next_put_serves_the_waiter(builder, PAST_HANDOFF_AFTER);
}

#[test]
fn with_handoff_after_max_a_put_keeps_its_item_however_long_a_get_waited() {
    bounded(LIMIT, || {
        let setup = Logged::<2>::new(Pool::builder(1).handoff_after(Duration::MAX));
        let [a, b] = &setup.resources;
        let held = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        std::thread::sleep(PAST_HANDOFF_AFTER);

        drop(held);
        assert!(a.is_allocated(), "the put released its item");
        assert_eq!(setup.released(), []);
        let woken = poller.wakes();
        assert!(woken > 0, "the put does not wake the waiting get");
        // A's own resource gets its idle item back at once.
        let again = block_on(a.try_get()).expect("A's item was kept idle");
        assert_eq!(again.serial, 0);
        // B, woken, finds nothing idle and waits on.
        assert!(poller.poll(waiting.as_mut()).is_pending());

        drop(again);
        assert!(a.is_allocated());
        assert!(poller.wakes() > woken, "the second put does not wake B");
        // B evicts A, the least recently used idle item.
        let guard = served(&poller, waiting.as_mut(), "B");
        assert_eq!(guard.key, 1);
        assert!(!a.is_allocated());
        assert_eq!(setup.released(), [0]);
        assert_eq!(setup.tracker.allocations(), 2);
        drop(guard);
        assert_quiescent(&setup.pool, &setup.tracker);
    });
}

// handoff_after(Duration::ZERO): strict FIFO.

#[test]
fn with_handoff_after_zero_a_put_hands_its_charge_to_a_get_that_just_started_waiting() {
    let builder = Pool::builder(1).handoff_after(Duration::ZERO);
    assert_the_next_put_serves_the_waiter(builder, Duration::ZERO);
}

#[test]
fn with_handoff_after_zero_waiters_are_served_in_the_order_they_started_waiting() {
    bounded(LIMIT, || {
        let setup = Logged::<4>::new(Pool::builder(1).handoff_after(Duration::ZERO));
        let [a, waiters @ ..] = &setup.resources;
        let mut held = block_on(a.get()).unwrap();
        // B, C, D start waiting, in that order.
        let mut waiting: Vec<_> = waiters
            .iter()
            .map(|resource| {
                (
                    resource.manager().key,
                    Poller::new(),
                    Box::pin(resource.get()),
                )
            })
            .collect();
        for (key, poller, get) in &mut waiting {
            assert!(poller.poll(get.as_mut()).is_pending(), "{key} did not wait");
        }

        let mut order = Vec::new();
        while !waiting.is_empty() {
            // Each put hands its charge to the longest waiting get: poll the
            // waiters latest first, and only that one may complete.
            drop(held);
            let mut ready = Vec::new();
            for index in (0..waiting.len()).rev() {
                let (key, poller, get) = &mut waiting[index];
                if let Poll::Ready(got) = poller.poll(get.as_mut()) {
                    ready.push((index, *key, got.expect("allocate never fails here")));
                }
            }
            let Ok([(index, key, guard)]) = <[_; 1]>::try_from(ready) else {
                panic!("a put did not serve exactly one waiter (served so far: {order:?})");
            };
            order.push(key);
            held = guard;
            drop(waiting.remove(index));
        }
        drop(held);

        assert_eq!(order, [1, 2, 3], "waiters served out of order");
        assert_eq!(setup.released(), [0, 1, 2]);
        assert_eq!(setup.tracker.allocations(), 4);
        assert_quiescent(&setup.pool, &setup.tracker);
    });
}

// The default: a put keeps its item.

/// The longest span from a waiter's first poll to the put after which the
/// put must still keep its item: half the default `handoff_after` (1 ms), so
/// that a waiter's clock, read a little after ours, still finds it short.
const SHORT_WAIT: Duration = Duration::from_micros(500);
/// Attempts at a span that short before the test gives up (each takes a few
/// microseconds unless the thread is preempted in that span).
const ATTEMPTS: usize = 1000;

#[test]
fn by_default_a_put_keeps_its_item_and_the_woken_get_evicts_it() {
    bounded(LIMIT, || {
        for _ in 0..ATTEMPTS {
            let setup = Logged::<2>::new(Pool::builder(1));
            let [a, b] = &setup.resources;
            let held = block_on(a.get()).unwrap();
            let poller = Poller::new();
            let mut waiting = pin!(b.get());
            let started = Instant::now();
            assert!(poller.poll(waiting.as_mut()).is_pending());
            drop(held);
            if started.elapsed() >= SHORT_WAIT {
                // Preempted: B may have waited past the default, and the put
                // may have served it. Try again.
                continue;
            }

            // B has not been polled again: A's item is still there, idle.
            assert!(a.is_allocated(), "the put released its item");
            assert_eq!(setup.released(), []);
            assert_eq!(setup.pool.stats().idle, 1);
            assert!(poller.wakes() > 0, "the put does not wake the waiting get");

            // Polled, B evicts A (the least recently used idle item).
            let guard = served(&poller, waiting.as_mut(), "B");
            assert_eq!(guard.key, 1);
            assert!(!a.is_allocated());
            assert_eq!(setup.released(), [0]);
            assert_eq!(setup.tracker.allocations(), 2);
            drop(guard);
            assert_quiescent(&setup.pool, &setup.tracker);
            return;
        }
        panic!("in {ATTEMPTS} attempts, never less than {SHORT_WAIT:?} from a waiter's first poll to the put");
    });
}
