//! Dropping a `get` future while it waits, in each phase, loses nothing: no
//! hold, no charge, no wakeup, no item.
//!
//! The futures are polled by hand, each with a waker that counts its wakes, so
//! every interleaving here is deterministic. After each cancellation the tests
//! check the stats and the live items, that the resource can be got again, and
//! that the pool's full capacity can be taken at once.

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use common::{assert_quiescent, bounded, pool_of_max, Counting, Gated, Poller, Tracker};
use futures_lite::future::{block_on, poll_once};
use resourcepool::{AllocateRelease, Guard, Pool, Resource};

/// How long one test may take before it fails as a deadlock.
const TEST_LIMIT: Duration = Duration::from_secs(20);

/// Gets `resource` with a get that must complete on its first poll.
fn get_now<M: AllocateRelease>(resource: &Resource<M>) -> Guard<'_, M> {
    match block_on(poll_once(resource.get())) {
        Some(Ok(guard)) => guard,
        Some(Err(error)) => panic!("get failed: {error:?}"),
        None => panic!("get had to wait"),
    }
}

/// Takes the pool's `max` charges at once, with `try_get` (which never waits:
/// a lost charge fails here rather than hangs), then puts them all back.
fn assert_full_capacity(pool: &Pool, tracker: &Tracker, resources: &[Resource<Counting>]) {
    let max = pool.max();
    assert!(resources.len() >= max, "the test needs max resources");
    let guards: Vec<_> = resources[..max]
        .iter()
        .map(|resource| match block_on(poll_once(resource.try_get())) {
            Some(Ok(guard)) => guard,
            Some(Err(error)) => panic!("capacity was lost: {error:?}, {:?}", pool.stats()),
            None => panic!("allocate of a Counting manager never waits"),
        })
        .collect();
    assert_eq!(pool.stats().in_use, max, "{:?}", pool.stats());
    assert_eq!(tracker.live(), max);
    drop(guards);
    assert_quiescent(pool, tracker);
}

#[test]
fn dropping_a_get_that_waits_for_the_hold_loses_nothing() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 3>(2, Counting::new);
        let resource = &resources[0];
        let guard = get_now(resource);
        {
            let waiting = pin!(resource.get());
            assert!(Poller::new().poll(waiting).is_pending());
        }
        assert_eq!(pool.stats().in_use, 1);
        drop(guard);

        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.idle), (0, 1), "{stats:?}");
        assert_eq!(tracker.live(), 1);
        assert_quiescent(&pool, &tracker);
        let again = get_now(resource);
        assert_eq!(again.serial, 0, "the idle item is reused");
        drop(again);
        assert_full_capacity(&pool, &tracker, &resources);
    });
}

#[test]
fn dropping_a_get_that_waits_for_a_charge_loses_nothing() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 3>(2, Counting::new);
        let held: Vec<_> = resources[..2].iter().map(get_now).collect();
        {
            let waiting = pin!(resources[2].get());
            assert!(Poller::new().poll(waiting).is_pending());
        }
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.allocating), (2, 0), "{stats:?}");
        assert!(!resources[2].is_allocated());
        drop(held);

        // Nobody waits any more, so the puts keep their items idle (a put hands
        // its charge over only to a waiting get).
        assert!(resources[0].is_allocated() && resources[1].is_allocated());
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.idle), (0, 2), "{stats:?}");
        assert_eq!(tracker.live(), 2);
        assert_quiescent(&pool, &tracker);
        drop(get_now(&resources[2]));
        assert_full_capacity(&pool, &tracker, &resources);
    });
}

#[test]
fn dropping_a_get_that_waits_for_its_own_release_loses_nothing() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, others) = pool_of_max::<_, 2>(2, Counting::new);
        let gated = pool.create(Gated::new(9, &tracker));
        drop(get_now(&gated));
        let gate = gated.manager().hold_next_release();

        std::thread::scope(|scope| {
            let releasing = scope.spawn(|| gated.schedule_release());
            gate.started.recv().unwrap();
            assert!(!gated.is_allocated());
            assert_eq!(pool.stats().releasing, 1);
            {
                let waiting = pin!(gated.get());
                assert!(Poller::new().poll(waiting).is_pending());
            }
            let stats = pool.stats();
            assert_eq!((stats.in_use, stats.releasing), (0, 1), "{stats:?}");

            // The dropped get let go of the hold: a second get takes it, waits
            // for the same release, and is woken when it returns.
            let poller = Poller::new();
            let mut second = pin!(gated.get());
            assert!(poller.poll(second.as_mut()).is_pending());
            gate.proceed.send(()).unwrap();
            assert_eq!(releasing.join().unwrap(), Ok(()));
            assert!(poller.wakes() > 0, "the end of the release woke nobody");
            let Poll::Ready(Ok(guard)) = poller.poll(second.as_mut()) else {
                panic!("the get did not complete after the release returned");
            };
            assert_eq!(guard.serial, 1, "a new item after the release");
            assert_eq!(tracker.live(), 1);
        });

        assert_quiescent(&pool, &tracker);
        assert_eq!(tracker.releases(), 1);
        assert_full_capacity(&pool, &tracker, &others);
    });
}

#[test]
fn dropping_a_get_while_allocate_is_pending_loses_nothing() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, others) = pool_of_max::<_, 2>(2, Counting::new);
        let gated = pool.create(Gated::new(9, &tracker));
        gated.manager().hang_next_allocate();
        {
            let allocating = pin!(gated.get());
            assert!(Poller::new().poll(allocating).is_pending());
            let stats = pool.stats();
            assert_eq!((stats.in_use, stats.allocating), (1, 1), "{stats:?}");
        }
        assert!(gated.manager().hanging_allocate_dropped());
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.allocating, stats.idle), (0, 0, 0));
        assert!(!gated.is_allocated());
        assert_eq!(tracker.live(), 0);
        assert_quiescent(&pool, &tracker);

        let guard = get_now(&gated);
        assert_eq!(guard.serial, 0, "the first item that allocate returned");
        drop(guard);
        assert_full_capacity(&pool, &tracker, &others);
        assert_eq!(
            tracker.releases(),
            1,
            "the full pool evicted the gated item"
        );
    });
}

#[test]
fn dropping_an_allocating_get_hands_its_charge_to_a_waiting_get() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, others) = pool_of_max::<_, 1>(1, Counting::new);
        let gated = pool.create(Gated::new(9, &tracker));
        gated.manager().hang_next_allocate();
        let poller = Poller::new();
        let mut waiting = pin!(others[0].get());
        {
            let allocating = pin!(gated.get());
            assert!(Poller::new().poll(allocating).is_pending());
            assert!(poller.poll(waiting.as_mut()).is_pending());
        }
        assert!(poller.wakes() > 0, "the freed charge woke nobody");
        let Poll::Ready(Ok(guard)) = poller.poll(waiting.as_mut()) else {
            panic!("the waiting get did not take the freed charge");
        };
        assert_eq!(tracker.live(), 1);
        drop(guard);
        assert_quiescent(&pool, &tracker);
        assert_full_capacity(&pool, &tracker, &others);
    });
}

/// Two gets wait; something wakes exactly one of them, which is dropped before
/// it runs again: the other must be woken and complete.
fn assert_wakeup_passes_on<F: Future>(
    mut waiters: Vec<(Pin<Box<F>>, Poller)>,
    wake_one: impl FnOnce(),
) -> F::Output {
    assert_eq!(waiters.len(), 2);
    for (future, poller) in &mut waiters {
        assert!(poller.poll(future.as_mut()).is_pending());
    }
    wake_one();
    let woken: Vec<_> = waiters
        .iter()
        .map(|(_, poller)| poller.wakes() > 0)
        .collect();
    assert!(
        woken[0] != woken[1],
        "the test needs exactly one waiter woken, got {woken:?}"
    );
    let notified = woken.iter().position(|&woken| woken).unwrap();
    drop(waiters.remove(notified));

    let (mut future, poller) = waiters.pop().unwrap();
    assert!(poller.wakes() > 0, "the dropped waiter's wakeup was lost");
    match poller.poll_woken(future.as_mut()) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the remaining waiter was woken but cannot complete"),
    }
}

#[test]
fn a_hold_wakeup_for_a_dropped_get_passes_to_another_waiter() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 1>(1, Counting::new);
        let resource = &resources[0];
        let guard = get_now(resource);
        let waiters = (0..2)
            .map(|_| (Box::pin(resource.get()), Poller::new()))
            .collect();
        let got = assert_wakeup_passes_on(waiters, || drop(guard)).unwrap();
        assert_eq!(got.serial, 0, "the idle item is reused");
        drop(got);
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
        assert_full_capacity(&pool, &tracker, &resources);
    });
}

#[test]
fn a_capacity_wakeup_for_a_dropped_get_passes_to_another_waiter() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 3>(1, Counting::new);
        let guard = get_now(&resources[0]);
        let waiters = resources[1..]
            .iter()
            .map(|resource| (Box::pin(resource.get()), Poller::new()))
            .collect();
        let got = assert_wakeup_passes_on(waiters, || drop(guard)).unwrap();
        assert_eq!(tracker.live(), 1);
        drop(got);
        assert_quiescent(&pool, &tracker);
        assert_full_capacity(&pool, &tracker, &resources);
    });
}

#[test]
fn a_charge_handed_to_a_dropped_get_returns_to_the_pool() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 2>(1, Counting::new);
        let guard = get_now(&resources[0]);
        let poller = Poller::new();
        {
            let waiting = pin!(resources[1].get());
            assert!(poller.poll(waiting).is_pending());
            drop(guard);
            assert!(poller.wakes() > 0, "the put woke nobody");
        }
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.allocating), (0, 0), "{stats:?}");
        assert_quiescent(&pool, &tracker);
        assert_full_capacity(&pool, &tracker, &resources);
        assert_full_capacity(&pool, &tracker, &resources[1..]);
    });
}

/// A get waits for the hold; the holder lets go with `let_go`, which hands the
/// hold to that get; the get is dropped before it runs again. The hold must be
/// let go, and the resource usable.
fn assert_orphaned_handoff_is_let_go(let_go: impl FnOnce(Guard<'_, Counting>), reused: bool) {
    let (pool, tracker, resources) = pool_of_max::<_, 2>(2, Counting::new);
    let resource = &resources[0];
    let guard = get_now(resource);
    let poller = Poller::new();
    {
        let waiting = pin!(resource.get());
        assert!(poller.poll(waiting).is_pending());
        let_go(guard);
        assert!(poller.wakes() > 0, "letting go woke nobody");
    }
    assert_eq!(pool.stats().in_use, 0, "{:?}", pool.stats());
    assert_eq!(resource.is_allocated(), reused);
    assert_quiescent(&pool, &tracker);
    let again = get_now(resource);
    assert_eq!(again.serial == 0, reused);
    drop(again);
    assert_full_capacity(&pool, &tracker, &resources);
}

#[test]
fn a_hold_put_to_a_dropped_get_is_let_go() {
    bounded(TEST_LIMIT, || {
        assert_orphaned_handoff_is_let_go(|guard| drop(guard), true)
    });
}

#[test]
fn a_hold_released_to_a_dropped_get_is_let_go() {
    bounded(TEST_LIMIT, || {
        assert_orphaned_handoff_is_let_go(|guard| guard.release().unwrap(), false)
    });
}

#[test]
fn dropping_an_allocating_get_hands_the_hold_to_a_waiting_get() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, others) = pool_of_max::<_, 1>(1, Counting::new);
        let gated = pool.create(Gated::new(9, &tracker));
        gated.manager().hang_next_allocate();
        let poller = Poller::new();
        let mut waiting = pin!(gated.get());
        {
            let allocating = pin!(gated.get());
            assert!(Poller::new().poll(allocating).is_pending());
            assert!(poller.poll(waiting.as_mut()).is_pending());
        }
        assert!(gated.manager().hanging_allocate_dropped());
        assert!(poller.wakes() > 0, "the dropped get woke no hold waiter");
        let Poll::Ready(Ok(guard)) = poller.poll(waiting.as_mut()) else {
            panic!("the waiting get did not take the hold and allocate");
        };
        assert_eq!(guard.serial, 0);
        drop(guard);
        assert_quiescent(&pool, &tracker);
        assert_full_capacity(&pool, &tracker, &others);
    });
}

#[test]
fn dropping_a_get_handed_the_hold_during_a_release_loses_nothing() {
    bounded(TEST_LIMIT, || {
        let (pool, tracker, others) = pool_of_max::<_, 2>(2, Counting::new);
        let gated = pool.create(Gated::new(9, &tracker));
        let guard = get_now(&gated);
        let gate = gated.manager().hold_next_release();
        let poller = Poller::new();
        let mut waiting = Box::pin(gated.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());

        std::thread::scope(|scope| {
            let releasing = scope.spawn(move || guard.release());
            gate.started.recv().unwrap();
            // The release let go of the hold, to the waiting get: it now waits
            // for that release to return before it may allocate.
            assert!(poller.wakes() > 0, "letting go of the hold woke nobody");
            assert!(poller.poll(waiting.as_mut()).is_pending());
            drop(waiting);
            let stats = pool.stats();
            assert_eq!((stats.in_use, stats.releasing), (0, 1), "{stats:?}");
            gate.proceed.send(()).unwrap();
            assert_eq!(releasing.join().unwrap(), Ok(()));
        });

        assert!(!gated.is_allocated());
        assert_quiescent(&pool, &tracker);
        assert_eq!(tracker.live(), 0);
        let again = get_now(&gated);
        assert_eq!(again.serial, 1, "a new item after the release");
        drop(again);
        assert_full_capacity(&pool, &tracker, &others);
    });
}
