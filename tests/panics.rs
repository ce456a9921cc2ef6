//! User code that panics leaves the pool whole: the panic propagates to the
//! caller, and no charge, hold or item is lost. Here: `release` on every path
//! that calls it (a put with a release scheduled, `Guard::release`,
//! `schedule_release`, the last handle's drop, an eviction), and code that
//! panics while it holds a guard. (`allocate` panics are in `failures.rs`.)
//!
//! After each panic, the tests check that nothing counts the item any more
//! (`stats()` against the items the managers see alive), that the resource
//! can be got again, and that every one of the pool's charges is usable.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{
    assert_every_charge_usable, assert_quiescent, bounded, counts, poll_by_hand, pool_of_max,
    Counting, PanicOnRelease, ReleasePanic, Tracker, LIMIT, RELEASE_PANIC,
};
use futures_lite::future::block_on;
use resourcepool::{Pool, Resource};

/// Runs `body`, which must panic, and returns the message it panicked with.
fn panic_message(body: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(body)).expect_err("no panic");
    match payload.downcast::<&str>() {
        Ok(message) => message.to_string(),
        Err(payload) => *payload.downcast::<String>().unwrap(),
    }
}

/// After a panic: every item the managers see alive is counted idle,
/// allocating or releasing, and none other; `resource` can be got again
/// without waiting; and every charge of the pool is usable.
fn assert_whole(pool: &Pool, tracker: &Arc<Tracker>, resource: &Resource<PanicOnRelease>) {
    assert_eq!(
        tracker.live(),
        tracker.allocations() - tracker.releases(),
        "{:?}",
        pool.stats()
    );
    assert_quiescent(pool, tracker);
    let guard = block_on(resource.try_get()).expect("the resource cannot be got again");
    assert_eq!(guard.key, resource.manager().counting.key);
    drop(guard);
    assert_every_charge_usable(pool, tracker);
    assert_quiescent(pool, tracker);
}

#[test]
fn a_release_panic_in_a_put_with_a_release_scheduled_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        let guard = block_on(resource.get()).unwrap();
        resource.schedule_release().unwrap();
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard)), RELEASE_PANIC);
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &resource);
        // Only that put released: the next one keeps the item.
        drop(block_on(resource.get()).unwrap());
        assert!(resource.is_allocated());
    });
}

#[test]
fn a_release_panic_in_guard_release_frees_the_charge_and_the_hold() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        let guard = block_on(resource.get()).unwrap();
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard.release())), RELEASE_PANIC);
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_get_waiting_for_the_hold_goes_on_after_a_release_panic_in_guard_release() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, PanicOnRelease::new);
        let guard = block_on(resource.get()).unwrap();
        let clone = resource.clone();
        let mut waiting = pin!(clone.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard.release())), RELEASE_PANIC);
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.serial, 1, "the waiting get allocates afresh");
        drop(guard);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_get_waiting_for_capacity_takes_the_charge_of_a_put_whose_release_panicked() {
    bounded(LIMIT, || {
        // Never a hand-off, however long the waiter waits on a busy machine:
        // the put itself releases (a hand-off would leave the release, and
        // its panic, to the waiter).
        let pool = Pool::builder(1).handoff_after(Duration::MAX).build();
        let tracker = Tracker::new(1);
        let [resource, waiter] = [0, 1].map(|key| pool.create(PanicOnRelease::new(key, &tracker)));
        let guard = block_on(resource.get()).unwrap();
        let mut waiting = pin!(waiter.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        resource.schedule_release().unwrap();
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(guard)), RELEASE_PANIC);
        let guard = block_on(waiting).unwrap();
        assert_eq!(guard.key, 1);
        drop(guard);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_release_panic_in_schedule_release_of_an_idle_item_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        drop(block_on(resource.get()).unwrap());
        resource.manager().panics.next();
        assert_eq!(
            panic_message(|| drop(resource.schedule_release())),
            RELEASE_PANIC
        );
        assert!(!resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &resource);
    });
}

#[test]
fn a_release_panic_in_the_last_handles_drop_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        drop(block_on(resource.get()).unwrap());
        resource.manager().panics.next();
        assert_eq!(panic_message(|| drop(resource)), RELEASE_PANIC);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(tracker.releases(), 1);
        assert_whole(&pool, &tracker, &other);
    });
}

#[test]
fn a_release_panic_in_an_eviction_propagates_from_the_get_and_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, tracker, [victim, busy, evictor]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(victim.get()).unwrap());
        let busy_guard = block_on(busy.get()).unwrap();
        victim.manager().panics.next();
        assert_eq!(
            panic_message(|| drop(block_on(evictor.get()))),
            RELEASE_PANIC
        );
        assert!(!victim.is_allocated() && !evictor.is_allocated());
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        assert_eq!(tracker.releases(), 1);
        // The evictor's hold was let go, and the victim's charge freed.
        let guard = block_on(evictor.try_get()).expect("the evictor cannot get again");
        assert_eq!(guard.serial, 2);
        drop((guard, busy_guard));
        assert_whole(&pool, &tracker, &victim);
    });
}

#[test]
fn a_panic_while_a_guard_is_held_puts_the_item_back() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource, other]) = pool_of_max(2, PanicOnRelease::new);
        drop(block_on(other.get()).unwrap());
        let message = panic_message(|| {
            let _guard = block_on(resource.get()).unwrap();
            panic!("the caller panicked");
        });
        assert_eq!(message, "the caller panicked");
        assert!(resource.is_allocated());
        assert_eq!(counts(pool.stats()), (0, 2, 0, 0));
        let guard = block_on(resource.try_get()).unwrap();
        assert_eq!(guard.serial, 1, "the item was kept");
        drop(guard);
        assert_eq!(tracker.releases(), 0);
        assert_whole(&pool, &tracker, &resource);
    });
}

/// Resources whose out-of-date entries an evicting get goes through before
/// it reaches its victim's: enough that it still holds the first of them
/// when this thread has dropped their handles.
const STALE: usize = 20_000;

/// Keys: the stale resources have `0..STALE`.
const VICTIM: usize = STALE;
const HELD: usize = STALE + 1;
const EVICTOR: usize = STALE + 2;

/// Whether the idle set holds an entry for `resource`, as its `Debug` shows
/// (the QUEUED flag of its state).
fn has_entry<M: resourcepool::AllocateRelease>(resource: &Resource<M>) -> bool {
    format!("{resource:?}").contains("\"QUEUED\"")
}

/// One run of the race below. Returns whether it happened: a handle the
/// evicting get held (and so the `release` it ran) was its resource's last.
fn evict_while_the_last_handles_are_dropped() -> bool {
    let tracker = Tracker::new(STALE + 2);
    let pool = Pool::new(STALE + 2);
    let panics = ReleasePanic::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let victim = pool.create(PanicOnRelease {
        counting: Counting::new(VICTIM, &tracker).logging(&log),
        panics: ReleasePanic::new(),
    });
    let held = pool.create(PanicOnRelease::new(HELD, &tracker));
    let stale: Vec<_> = (0..STALE)
        .map(|key| pool.create(PanicOnRelease::sharing(&panics)(key, &tracker)))
        .collect();
    // Every charge is taken, and the idle set holds, in put order: `held`'s
    // entry, the stale resources' entries, the victim's. Each stale resource
    // is then put again, so that the evicting get finds its entry out of
    // date, takes a handle to it (kept until it has claimed the victim) and
    // files it again after the victim's.
    drop(block_on(held.get()).unwrap());
    for resource in &stale {
        drop(block_on(resource.get()).unwrap());
    }
    drop(block_on(victim.get()).unwrap());
    for resource in &stale {
        drop(block_on(resource.get()).unwrap());
    }
    // `held` is in use: the evicting get drops its entry first, which tells
    // this thread that it is past looking for a free charge.
    let held_guard = block_on(held.get()).unwrap();
    assert!(has_entry(&held), "{held:?}");
    let evictor = pool.create(PanicOnRelease::new(EVICTOR, &tracker));
    let evicting_get = {
        let (evictor, panics) = (evictor.clone(), panics.clone());
        thread::spawn(move || {
            // Only the first release on this thread panics: a second panic
            // while unwinding would abort.
            panics.next_on_this_thread();
            catch_unwind(AssertUnwindSafe(|| drop(block_on(evictor.get())))).is_err()
        })
    };
    while has_entry(&held) && !evicting_get.is_finished() {
        std::hint::spin_loop();
    }
    // The last handles, in the order the evicting get goes through their
    // entries: those it holds already are released when it lets them go.
    drop(stale);
    let get_panicked = evicting_get.join().unwrap();
    let happened = panics.ran_on_thread() > 0;
    assert_eq!(get_panicked, happened, "{:?}", pool.stats());
    drop(held_guard);

    let victim_releases = log.lock().unwrap().len();
    let evicted = !victim.is_allocated();
    assert_eq!(
        victim_releases,
        usize::from(evicted),
        "the victim was released {victim_releases} times (evicted: {evicted}): {:?}",
        pool.stats()
    );
    assert_every_charge_usable(&pool, &tracker);
    let got = {
        let victim = victim.clone();
        bounded(Duration::from_secs(10), move || {
            block_on(victim.get()).map(|guard| guard.key)
        })
    };
    assert_eq!(got.unwrap(), VICTIM);
    drop(evictor);
    assert_eq!(tracker.live(), tracker.allocations() - tracker.releases());
    assert_quiescent(&pool, &tracker);
    happened
}

/// An evicting get takes handles to the resources whose out-of-date entries
/// it files again, and lets them go after it has claimed its victim. If one
/// of them was the last handle of its resource (the others were dropped
/// meanwhile), letting it go releases that resource's idle item on the
/// evicting thread, and that `release` may panic. The panic propagates from
/// the get; the victim must still be released once and its charge must not
/// be lost.
#[test]
fn a_release_panic_of_a_handle_dropped_during_an_eviction_does_not_leak_the_victims_charge() {
    const RUNS: usize = 200;
    bounded(LIMIT, || {
        let happened = (0..RUNS).any(|_| evict_while_the_last_handles_are_dropped());
        assert!(
            happened,
            "in {RUNS} runs, no handle the evicting get held was its resource's last"
        );
    });
}
