//! `Stats::totals` and `Stats::waiting`.
//!
//! First, exact totals after deterministic single-threaded sequences (the
//! futures polled by hand): what each event counts, and what counts nothing
//! (a get of an idle item, time spent in `allocate`). Then a stress on tokio's
//! multi-threaded runtime and on OS threads, many tasks over a small `max`
//! with random cancels: a thread reads the totals throughout and checks that
//! none ever goes down, and at the end the totals match what the tasks and
//! the managers saw.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use common::{
    assert_quiescent, bounded, counts_of, expect, get_now, on_tokio, pool_of_max, totals, Counting,
    Gated, Next, Poller, SlowToAllocate, Tracker, LIMIT,
};
use futures_lite::future::{block_on, or};
use resourcepool::{Error, Pool, Resource, Totals};
use smol::Timer;

// Helpers.

/// Items allocated now, by the totals.
fn allocated_by_totals(totals: Totals) -> u64 {
    totals.allocations - totals.evictions - totals.handoffs - totals.released
}

/// A cancel future that completes once its sender is dropped.
fn cancel_on_drop() -> (
    smol::channel::Sender<()>,
    impl std::future::Future<Output = ()>,
) {
    let (sender, receiver) = smol::channel::bounded::<()>(1);
    (sender, async move {
        let _ = receiver.recv().await;
    })
}

/// A pause that the wait times below must include.
const PAUSE: Duration = Duration::from_millis(3);

// What counts nothing.

#[test]
fn a_get_of_an_idle_item_counts_nothing() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(2, Counting::new);
        assert_eq!(totals(&pool), Totals::default());
        drop(get_now(&resource));
        let after_allocation = totals(&pool);
        assert_eq!(after_allocation, expect(|t| t.allocations = 1));
        for _ in 0..10 {
            drop(get_now(&resource));
            drop(block_on(resource.try_get()).unwrap());
        }
        assert_eq!(totals(&pool), after_allocation);
        assert_eq!(pool.stats().waiting, 0);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn time_in_allocate_is_not_a_wait() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, SlowToAllocate::new);
        let poller = Poller::new();
        let mut get = pin!(resource.get());
        assert!(
            poller.poll(get.as_mut()).is_pending(),
            "allocate is pending once"
        );
        assert_eq!(pool.stats().waiting, 0);
        thread::sleep(PAUSE);
        let Poll::Ready(Ok(guard)) = poller.poll(get.as_mut()) else {
            panic!("allocate completes on its second poll");
        };
        drop(guard);
        assert_eq!(totals(&pool), expect(|t| t.allocations = 1));
        assert_quiescent(&pool, &tracker);
    });
}

// Waits.

#[test]
fn a_get_that_waits_for_the_hold_counts_one_wait_and_its_time() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let guard = get_now(&resource);
        let poller = Poller::new();
        let mut waiting = pin!(resource.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 1);
        thread::sleep(PAUSE);
        // The wait is counted when it ends.
        assert_eq!(totals(&pool).waits, 0);
        drop(guard); // hands the hold, and the item, to the waiter
        let Poll::Ready(Ok(served)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the put hands the hold over");
        };
        assert_eq!(served.serial, 0, "the item came with the hold");
        drop(served);

        let totals = totals(&pool);
        assert_eq!(
            counts_of(totals),
            expect(|t| {
                t.allocations = 1;
                t.waits = 1;
            })
        );
        assert!(totals.wait_time >= PAUSE, "{totals:?}");
        assert_eq!(pool.stats().waiting, 0);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_that_waits_for_the_hold_then_for_capacity_counts_one_wait() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(1, Counting::new);
        let held_b = get_now(&b);
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 1);
        thread::sleep(PAUSE);

        // The hold goes to the waiter without an item, and `a` takes the
        // charge first: the waiter then waits for capacity.
        held_b.release().unwrap();
        let held_a = get_now(&a);
        assert!(poller.poll_woken(waiting.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 1, "one get, one wait at a time");
        assert_eq!(totals(&pool).waits, 0, "still waiting");
        thread::sleep(PAUSE);

        // Waited longer than handoff_after (1 ms): the put hands over.
        drop(held_a);
        let Poll::Ready(Ok(served)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the put hands its item over");
        };
        drop(served);

        let totals = totals(&pool);
        assert_eq!(
            counts_of(totals),
            expect(|t| {
                t.allocations = 3;
                t.released = 1;
                t.handoffs = 1;
                t.waits = 1;
            })
        );
        assert!(totals.wait_time >= 2 * PAUSE, "both waits: {totals:?}");
        assert_eq!(allocated_by_totals(totals), 1);
        assert_eq!(pool.stats().waiting, 0);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn waiting_counts_gets_waiting_for_a_hold_and_for_capacity() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(1, Counting::new);
        let held = get_now(&a);
        let poller = Poller::new();
        let mut for_hold_1 = Box::pin(a.get());
        let mut for_hold_2 = Box::pin(a.get());
        let mut for_capacity_1 = Box::pin(b.get());
        let b_again = b.clone();
        let mut for_capacity_2 = Box::pin(b_again.get_or_cancel(std::future::pending()));
        assert!(poller.poll(for_hold_1.as_mut()).is_pending());
        assert!(poller.poll(for_hold_2.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 2);
        assert!(poller.poll(for_capacity_1.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 3);
        // The second get of `b` waits for the hold of `b`, which the first
        // one took.
        assert!(poller.poll(for_capacity_2.as_mut()).is_pending());
        assert_eq!(pool.stats().waiting, 4);

        drop(for_hold_1);
        assert_eq!(pool.stats().waiting, 3);
        drop(for_capacity_1);
        assert_eq!(pool.stats().waiting, 2);
        drop(for_capacity_2);
        drop(for_hold_2);
        assert_eq!(pool.stats().waiting, 0);
        drop(held);

        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 1;
                t.waits = 4;
                t.cancelled = 4;
            })
        );
        assert_quiescent(&pool, &tracker);
    });
}

// Cancelled.

#[test]
fn refused_try_gets_count_as_cancelled_without_a_wait() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(1, Counting::new);
        let held = get_now(&a);
        for _ in 0..3 {
            assert!(matches!(block_on(a.try_get()), Err(Error::PutTimeout)));
            assert!(matches!(
                block_on(b.try_get()),
                Err(Error::ResourceLimitExceeded)
            ));
        }
        // A cancel future that is already complete is a try_get.
        let refused = block_on(b.get_or_cancel(std::future::ready(())));
        assert!(matches!(refused, Err(Error::ResourceLimitExceeded)));
        assert_eq!(pool.stats().waiting, 0);
        drop(held);

        assert_eq!(
            totals(&pool),
            expect(|t| {
                t.allocations = 1;
                t.cancelled = 7;
            })
        );
        assert_quiescent(&pool, &tracker);
    });
}

/// After one allocation and two gets that each waited at least `PAUSE` and
/// gave up: the totals say exactly that, and nothing waits or is lost.
fn assert_two_gets_waited_and_gave_up(pool: &Pool, tracker: &Tracker) {
    let totals = totals(pool);
    assert_eq!(
        counts_of(totals),
        expect(|t| {
            t.allocations = 1;
            t.waits = 2;
            t.cancelled = 2;
        })
    );
    assert!(totals.wait_time >= 2 * PAUSE, "{totals:?}");
    assert_eq!(pool.stats().waiting, 0);
    assert_quiescent(pool, tracker);
}

#[test]
fn a_get_cancelled_while_it_waits_counts_a_wait_and_cancelled() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(1, Counting::new);
        let held = get_now(&a);
        let poller = Poller::new();

        let (cancel_hold, cancel) = cancel_on_drop();
        let mut for_hold = pin!(a.get_or_cancel(cancel));
        assert!(poller.poll(for_hold.as_mut()).is_pending());
        thread::sleep(PAUSE);
        drop(cancel_hold);
        let polled = poller.poll_woken(for_hold.as_mut());
        assert!(matches!(polled, Poll::Ready(Err(Error::PutTimeout))));

        let (cancel_capacity, cancel) = cancel_on_drop();
        let mut for_capacity = pin!(b.get_or_cancel(cancel));
        assert!(poller.poll(for_capacity.as_mut()).is_pending());
        thread::sleep(PAUSE);
        drop(cancel_capacity);
        let polled = poller.poll_woken(for_capacity.as_mut());
        assert!(matches!(
            polled,
            Poll::Ready(Err(Error::ResourceLimitExceeded))
        ));
        drop(held);

        assert_two_gets_waited_and_gave_up(&pool, &tracker);
    });
}

#[test]
fn a_waiting_get_that_is_dropped_counts_a_wait_and_cancelled() {
    bounded(LIMIT, || {
        let (pool, tracker, [a, b]) = pool_of_max(1, Counting::new);
        let held = get_now(&a);
        for resource in [&a, &b] {
            let mut waiting = pin!(resource.get());
            assert!(Poller::new().poll(waiting.as_mut()).is_pending());
            thread::sleep(PAUSE);
        }
        drop(held);

        assert_two_gets_waited_and_gave_up(&pool, &tracker);
    });
}

#[test]
fn a_get_waiting_for_its_own_release_is_waiting_and_counts_when_dropped_or_served() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let gated = pool.create(Gated::new(0, &tracker));
        drop(get_now(&gated));
        let gate = gated.manager().hold_next_release();

        thread::scope(|scope| {
            let releasing = scope.spawn(|| gated.schedule_release());
            gate.started.recv().unwrap();
            let poller = Poller::new();
            {
                let mut dropped = pin!(gated.get());
                assert!(poller.poll(dropped.as_mut()).is_pending());
                assert_eq!(pool.stats().waiting, 1);
            }
            assert_eq!(pool.stats().waiting, 0);
            let mut served = pin!(gated.get());
            assert!(poller.poll(served.as_mut()).is_pending());
            assert_eq!(pool.stats().waiting, 1);
            thread::sleep(PAUSE);
            gate.proceed.send(()).unwrap();
            releasing.join().unwrap().unwrap();
            let Poll::Ready(Ok(guard)) = poller.poll_woken(served.as_mut()) else {
                panic!("the release returned: the get allocates");
            };
            drop(guard);
        });

        let totals = totals(&pool);
        assert_eq!(
            counts_of(totals),
            expect(|t| {
                t.allocations = 2;
                t.released = 1;
                t.waits = 2;
                t.cancelled = 1;
            })
        );
        assert!(totals.wait_time >= PAUSE, "{totals:?}");
        assert_eq!(pool.stats().waiting, 0);
        assert_eq!(allocated_by_totals(totals), 1);
        assert_quiescent(&pool, &tracker);
    });
}

// Allocations.

#[test]
fn allocate_errors_and_panics_count_in_allocation_errors() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        resource.manager().set_next(Next::Fail);
        assert!(matches!(block_on(resource.get()), Err(Error::Allocate(_))));
        assert_eq!(
            totals(&pool),
            expect(|t| t.allocation_errors = 1),
            "an error is not a cancel"
        );

        resource.manager().set_next(Next::Panic);
        let panicked = catch_unwind(AssertUnwindSafe(|| drop(block_on(resource.get()))));
        assert!(panicked.is_err());
        assert_eq!(totals(&pool), expect(|t| t.allocation_errors = 2));

        drop(get_now(&resource));
        assert_eq!(
            totals(&pool),
            expect(|t| {
                t.allocations = 1;
                t.allocation_errors = 2;
            })
        );
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_get_dropped_during_allocate_counts_as_cancelled_not_as_an_allocation() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::new(1);
        let gated = pool.create(Gated::new(0, &tracker));
        gated.manager().hang_next_allocate();
        {
            let mut get = pin!(gated.get());
            assert!(Poller::new().poll(get.as_mut()).is_pending());
            assert_eq!(pool.stats().allocating, 1);
            assert_eq!(pool.stats().waiting, 0, "allocating is not waiting");
        }
        assert!(gated.manager().hanging_allocate_dropped());
        assert_eq!(totals(&pool), expect(|t| t.cancelled = 1));
        assert_quiescent(&pool, &tracker);
    });
}

// Evictions, hand-offs, releases.

#[test]
fn evictions_count_idle_items_released_for_another_resources_get() {
    bounded(LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 3>(2, Counting::new);
        for resource in &resources {
            drop(get_now(resource)); // the third evicts the first
        }
        drop(block_on(resources[0].try_get()).unwrap()); // evicting is not waiting
        let totals = totals(&pool);
        assert_eq!(
            totals,
            expect(|t| {
                t.allocations = 4;
                t.evictions = 2;
            })
        );
        assert_eq!(allocated_by_totals(totals), 2);
        assert_eq!(tracker.releases(), 2);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_put_that_hands_its_item_to_a_waiting_get_counts_a_handoff() {
    bounded(LIMIT, || {
        let tracker = Tracker::new(1);
        let pool = Pool::builder(1).handoff_after(Duration::ZERO).build();
        let a = pool.create(Counting::new(0, &tracker));
        let b = pool.create(Counting::new(1, &tracker));
        let held = get_now(&a);
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        drop(held); // hands a's item and its charge to b's get
        assert!(!a.is_allocated());
        assert_eq!(totals(&pool).handoffs, 1, "counted at the put");
        let Poll::Ready(Ok(served)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the put handed its item over");
        };
        drop(served);

        let totals = totals(&pool);
        assert_eq!(
            counts_of(totals),
            expect(|t| {
                t.allocations = 2;
                t.handoffs = 1;
                t.waits = 1;
            })
        );
        assert_eq!(allocated_by_totals(totals), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn released_counts_each_release_by_the_caller() {
    bounded(LIMIT, || {
        let (pool, tracker, [by_guard, idle, armed, dropped]) = pool_of_max(4, Counting::new);
        let released = |pool: &Pool| totals(pool).released;

        get_now(&by_guard).release().unwrap();
        assert_eq!(released(&pool), 1, "Guard::release");

        drop(get_now(&idle));
        idle.schedule_release().unwrap();
        assert_eq!(released(&pool), 2, "schedule_release of an idle item");

        let guard = get_now(&armed);
        armed.schedule_release().unwrap();
        assert_eq!(released(&pool), 2, "armed, not yet released");
        drop(guard);
        assert_eq!(released(&pool), 3, "the put after schedule_release");
        drop(get_now(&armed));
        assert_eq!(released(&pool), 3, "only that put releases");

        by_guard.schedule_release().unwrap();
        assert_eq!(released(&pool), 3, "not allocated: nothing to release");

        drop(get_now(&dropped));
        drop(dropped.clone());
        assert_eq!(released(&pool), 3, "another handle is left");
        drop(dropped);
        assert_eq!(released(&pool), 4, "the last handle");

        let totals = totals(&pool);
        assert_eq!(
            totals,
            expect(|t| {
                t.allocations = 5;
                t.released = 4;
            })
        );
        assert_eq!(allocated_by_totals(totals), 1, "armed's second item");
        assert_eq!(tracker.releases(), 4);
        assert_quiescent(&pool, &tracker);
    });
}

// Under stress.

/// The pool's limit in the stress.
const MAX: usize = 3;
/// Resources sharing it.
const RESOURCES: usize = 8;
/// The longest a get waits before its cancel or its timeout fires.
const PATIENCE_MICROS: u64 = 1_500;
/// The longest a guard is held.
const HOLD_MICROS: u64 = 300;

/// What the tasks of a stress saw.
#[derive(Debug, Default)]
struct Seen {
    /// Gets that returned `PutTimeout` or `ResourceLimitExceeded`.
    refused: AtomicU64,
    /// Gets dropped by their timeout while they waited.
    timed_out: AtomicU64,
    /// Gets that returned `Error::Allocate`.
    allocate_errors: AtomicU64,
    /// `Guard::release` calls.
    released: AtomicU64,
}

impl Seen {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// One task's gets: on a random resource, a get, a `try_get`, a get cancelled
/// by a timer, or a get dropped by a timeout; the guard held briefly, then put
/// or released (sometimes making the resource's next allocate fail).
async fn churn(resources: Arc<Vec<Resource<Counting>>>, seen: Arc<Seen>, seed: u64, gets: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..gets {
        let resource = &resources[rng.usize(..RESOURCES)];
        let patience = Duration::from_micros(rng.u64(0..PATIENCE_MICROS));
        let got = match rng.u8(..4) {
            0 => Some(resource.get().await),
            1 => Some(resource.try_get().await),
            2 => {
                let cancel = async move {
                    Timer::after(patience).await;
                };
                Some(resource.get_or_cancel(cancel).await)
            }
            _ => {
                let timeout = async move {
                    Timer::after(patience).await;
                    None
                };
                // The get is polled first: only a pending get is dropped.
                or(async { Some(resource.get().await) }, timeout).await
            }
        };
        let guard = match got {
            None => {
                Seen::add(&seen.timed_out);
                continue;
            }
            Some(Ok(guard)) => guard,
            Some(Err(Error::PutTimeout | Error::ResourceLimitExceeded)) => {
                Seen::add(&seen.refused);
                continue;
            }
            Some(Err(Error::Allocate(_))) => {
                Seen::add(&seen.allocate_errors);
                continue;
            }
            Some(Err(error)) => panic!("unexpected error: {error:?}"),
        };
        if rng.bool() {
            Timer::after(Duration::from_micros(rng.u64(0..HOLD_MICROS))).await;
        } else {
            futures_lite::future::yield_now().await;
        }
        match rng.u8(..10) {
            0 => {
                resource.manager().set_next(Next::Fail);
                guard.release().unwrap();
                Seen::add(&seen.released);
            }
            1 => {
                guard.release().unwrap();
                Seen::add(&seen.released);
            }
            _ => drop(guard),
        }
    }
}

/// Panics if any total of `later` is below the same total of `earlier`.
fn assert_never_smaller(earlier: Totals, later: Totals) {
    let pairs = [
        ("waits", earlier.waits, later.waits),
        ("cancelled", earlier.cancelled, later.cancelled),
        ("allocations", earlier.allocations, later.allocations),
        (
            "allocation_errors",
            earlier.allocation_errors,
            later.allocation_errors,
        ),
        ("evictions", earlier.evictions, later.evictions),
        ("handoffs", earlier.handoffs, later.handoffs),
        ("released", earlier.released, later.released),
    ];
    for (name, earlier_value, later_value) in pairs {
        assert!(
            later_value >= earlier_value,
            "{name} went down: {earlier:?} then {later:?}"
        );
    }
    assert!(
        later.wait_time >= earlier.wait_time,
        "wait_time went down: {earlier:?} then {later:?}"
    );
}

/// Reads the pool's totals on a thread of its own until `done`, checking that
/// none goes down; returns how many readings it took.
fn watch(pool: Pool, tasks: usize, done: Arc<AtomicBool>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut previous = pool.stats().totals;
        let mut readings = 0;
        while !done.load(Ordering::SeqCst) {
            let stats = pool.stats();
            assert!(stats.waiting <= tasks, "{stats:?}");
            assert_never_smaller(previous, stats.totals);
            previous = stats.totals;
            readings += 1;
            thread::yield_now();
        }
        readings
    })
}

/// The stress's pool and resources.
fn stress_setup(pool: Pool) -> (Arc<Tracker>, Arc<Vec<Resource<Counting>>>) {
    let tracker = Tracker::new(MAX);
    let resources = (0..RESOURCES)
        .map(|key| pool.create(Counting::new(key, &tracker)))
        .collect();
    (tracker, Arc::new(resources))
}

/// Once every task is done: the totals against what the tasks and the
/// managers saw.
fn assert_totals_add_up(
    pool: &Pool,
    tracker: &Tracker,
    resources: Arc<Vec<Resource<Counting>>>,
    seen: &Seen,
) {
    let stats = pool.stats();
    let totals = stats.totals;
    assert_eq!((stats.in_use, stats.waiting), (0, 0), "{stats:?}");
    assert_eq!(
        totals.allocations,
        tracker.allocations() as u64,
        "{totals:?}"
    );
    assert_eq!(
        totals.allocation_errors,
        Seen::get(&seen.allocate_errors),
        "{totals:?}"
    );
    // Counting's allocate never suspends: a get dropped by its timeout was
    // waiting.
    assert_eq!(
        totals.cancelled,
        Seen::get(&seen.refused) + Seen::get(&seen.timed_out),
        "{totals:?}"
    );
    assert!(totals.waits >= Seen::get(&seen.timed_out), "{totals:?}");
    assert!(
        totals.waits > 0 && totals.wait_time > Duration::ZERO,
        "{totals:?}"
    );
    assert_eq!(totals.released, Seen::get(&seen.released), "{totals:?}");
    assert!(totals.evictions > 0, "{totals:?}");
    // Every allocated item left by an eviction, a hand-off or a release, or
    // is still there.
    assert_eq!(
        allocated_by_totals(totals),
        (stats.idle + stats.releasing) as u64,
        "{stats:?}"
    );
    assert_eq!(stats.releasing, 0, "{stats:?}");
    assert_eq!(
        allocated_by_totals(totals),
        tracker.live() as u64,
        "{stats:?}"
    );
    assert_quiescent(pool, tracker);

    // Dropping the resources releases the idle items: caller releases too.
    let idle = stats.idle as u64;
    drop(resources);
    let after = pool.stats().totals;
    assert_eq!(after.released, totals.released + idle, "{after:?}");
    assert_eq!(allocated_by_totals(after), 0, "{after:?}");
    assert_eq!(tracker.live(), 0);
}

#[test]
fn totals_add_up_and_never_go_down_on_tokio() {
    const TASKS: usize = 12;
    const GETS: usize = 300;
    let pool = Pool::new(MAX);
    let (tracker, resources) = stress_setup(pool.clone());
    let seen = Arc::new(Seen::default());
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(pool.clone(), TASKS, done.clone());
    {
        let (resources, seen) = (resources.clone(), seen.clone());
        on_tokio(move || async move {
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    let churn = churn(resources.clone(), seen.clone(), task as u64, GETS);
                    tokio::spawn(churn)
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    }
    done.store(true, Ordering::SeqCst);
    assert!(watcher.join().unwrap() > 0);
    assert_totals_add_up(&pool, &tracker, resources, &seen);
}

#[test]
fn totals_add_up_and_never_go_down_on_threads_with_strict_handoffs() {
    const THREADS: usize = 6;
    const GETS: usize = 300;
    let pool = Pool::builder(MAX).handoff_after(Duration::ZERO).build();
    let (tracker, resources) = stress_setup(pool.clone());
    let seen = Arc::new(Seen::default());
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch(pool.clone(), THREADS, done.clone());
    {
        let (resources, seen) = (resources.clone(), seen.clone());
        bounded(LIMIT, move || {
            thread::scope(|scope| {
                for thread in 0..THREADS {
                    let churn = churn(resources.clone(), seen.clone(), 100 + thread as u64, GETS);
                    scope.spawn(move || block_on(churn));
                }
            });
        });
    }
    done.store(true, Ordering::SeqCst);
    assert!(watcher.join().unwrap() > 0);
    assert!(pool.stats().totals.handoffs > 0, "{:?}", pool.stats());
    assert_totals_add_up(&pool, &tracker, resources, &seen);
}
