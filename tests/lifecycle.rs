//! The item lifecycle: `idle_timeout`, `max_lifetime`, `check_after_idle`
//! with `AllocateRelease::check`, and `Pool::release_expired`.
//!
//! Time is a `TestClock` that moves only when a test moves it, so every
//! expiry is exact and instant, and each scenario polls its futures by hand
//! where it must see a get in the middle of its check or allocation. Then
//! mixed runs on every runtime: exact totals where each resource has its own
//! charge, and every item accounted for where they compete for a few while
//! the clock runs and another thread calls `release_expired`. The reaper,
//! which sleeps on a runtime's timer, is in `reaper.rs`.

mod common;

use std::future::{pending, ready};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use common::{
    assert_every_charge_usable, assert_quiescent, bounded, counts, counts_of, expect, get_now,
    pool_from, totals, Counting, Failed, Item, Next, PanicOnRelease, Poller, ReleasePanic, Runner,
    SlowToAllocate, TestClock, Tracker, LIMIT, RELEASE_PANIC,
};
use futures_lite::future::{block_on, poll_once};
use resourcepool::{AllocateRelease, Error, Pool, Resource, Totals};

/// The idle timeout of the scenarios that set one.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The lifetime of the scenarios that set one.
const LIFETIME: Duration = Duration::from_secs(600);
/// The clock's smallest step.
const NANO: Duration = Duration::from_nanos(1);

// A manager whose check the test controls.

/// What the `check` of a `Checked` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Says {
    Pass,
    Fail,
    Panic,
    /// Waits until the test opens the gate, then passes.
    Gated,
    /// Waits until the test opens the gate, then fails.
    GatedThenFail,
    /// Fails once the item has been used at least this many times.
    FailFrom(usize),
    /// Every n-th check fails.
    FailEvery(usize),
}

/// What the `check` of a `Checked` panics with.
const CHECK_PANIC: &str = "check panicked on purpose";

/// A `Counting` whose `check` does what the test says, and counts its calls.
#[derive(Debug)]
struct Checked {
    counting: Counting,
    says: Mutex<Says>,
    /// Checks started.
    checks: AtomicUsize,
    /// Checks that returned (`Ok` or `Err`).
    returned: AtomicUsize,
    /// Checks that returned `Err`.
    failed: AtomicUsize,
    gate: smol::channel::Receiver<()>,
    opener: smol::channel::Sender<()>,
}

impl Checked {
    fn new(key: usize, tracker: &Arc<Tracker>) -> Checked {
        let (opener, gate) = smol::channel::unbounded();
        Checked {
            counting: Counting::new(key, tracker),
            says: Mutex::new(Says::Pass),
            checks: AtomicUsize::new(0),
            returned: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            gate,
            opener,
        }
    }

    fn says(&self, says: Says) {
        *self.says.lock().unwrap() = says;
    }

    fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    fn returned(&self) -> usize {
        self.returned.load(Ordering::SeqCst)
    }

    fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }

    /// Lets one gated check go on.
    fn open_gate(&self) {
        self.opener.try_send(()).unwrap();
    }
}

impl AllocateRelease for Checked {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        self.counting.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        self.counting.release(item)
    }

    async fn check(&self, item: &mut Item) -> Result<(), Failed> {
        let number = self.checks.fetch_add(1, Ordering::SeqCst) + 1;
        let says = *self.says.lock().unwrap();
        let passes = match says {
            Says::Pass => true,
            Says::Fail => false,
            Says::Panic => panic!("{CHECK_PANIC}"),
            Says::Gated | Says::GatedThenFail => {
                self.gate
                    .recv()
                    .await
                    .expect("the manager holds the sender");
                says == Says::Gated
            }
            Says::FailFrom(uses) => item.uses < uses,
            Says::FailEvery(n) => number % n != 0,
        };
        self.returned.fetch_add(1, Ordering::SeqCst);
        if passes {
            Ok(())
        } else {
            self.failed.fetch_add(1, Ordering::SeqCst);
            Err(Failed("check failed on purpose"))
        }
    }
}

// Helpers.

/// Every item that `allocate` returned left its resource for exactly one
/// reason, or is still allocated: `allocated` of them.
fn assert_every_item_accounted_for(totals: Totals, allocated: u64) {
    let left = totals.evictions
        + totals.handoffs
        + totals.expired
        + totals.check_failures
        + totals.released
        + totals.shed;
    assert_eq!(totals.allocations, left + allocated, "{totals:?}");
}

/// Closes the pool and checks that it drains: nothing in use, idle,
/// allocating or releasing, nothing waiting, every item released once, and
/// the totals account for every item.
fn close_and_assert_drained(pool: &Pool, tracker: &Tracker) {
    assert_quiescent(pool, tracker);
    pool.close();
    block_on(pool.drained());
    let stats = pool.stats();
    assert_eq!(counts(stats), (0, 0, 0, 0), "{stats:?}");
    assert_eq!(stats.waiting, 0, "{stats:?}");
    assert_eq!(tracker.live(), 0, "an item is still alive");
    assert_eq!(tracker.releases(), tracker.allocations());
    assert_every_item_accounted_for(stats.totals, 0);
    tracker.assert_never_exceeded();
}

// Idle timeout.

#[test]
fn a_get_that_finds_its_idle_item_past_the_idle_timeout_releases_it_and_allocates_afresh() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        drop(get_now(&a));
        clock.advance(TIMEOUT + NANO);
        let guard = get_now(&a);
        assert_eq!(guard.serial, 1, "the expired item was reused");
        assert_eq!(
            tracker.releases(),
            1,
            "the expired item was not released once"
        );
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.expired = 1;
            })
        );
        assert_eq!(
            tracker.peak.load(Ordering::SeqCst),
            1,
            "two items lived at once"
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_within_the_idle_timeout_reuses_the_item_and_the_timeout_counts_from_the_latest_put() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        drop(get_now(&a));
        for _ in 0..5 {
            clock.advance(TIMEOUT - NANO);
            let guard = get_now(&a);
            assert_eq!(guard.serial, 0, "an item not yet expired was replaced");
        }
        assert_eq!(pool.release_expired(), 0);
        assert_eq!(tracker.releases(), 0);
        assert_eq!(counts_of(totals(&pool)), expect(|t| t.allocations = 1));
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_replacing_an_expired_item_keeps_its_charge_while_it_allocates() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a, b]) = pool_from(builder, SlowToAllocate::new);
        drop(block_on(a.get()).unwrap());
        clock.advance(TIMEOUT + NANO);
        let poller = Poller::new();
        let mut replacing = pin!(a.get());
        assert!(
            poller.poll(replacing.as_mut()).is_pending(),
            "allocate is pending once"
        );
        assert_eq!(tracker.releases(), 1, "released before the allocation");
        let stats = pool.stats();
        assert_eq!(counts(stats), (1, 0, 1, 0), "{stats:?}");
        assert!(
            matches!(block_on(b.try_get()), Err(Error::ResourceLimitExceeded)),
            "another get took the charge of the replacing get"
        );
        let Poll::Ready(Ok(guard)) = poller.poll_woken(replacing.as_mut()) else {
            panic!("the replacing get did not allocate");
        };
        assert_eq!(guard.serial, 1);
        drop(guard);
        let totals = totals(&pool);
        assert_eq!((totals.allocations, totals.expired), (2, 1), "{totals:?}");
        assert_eq!((totals.evictions, totals.handoffs), (0, 0), "{totals:?}");
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_replacing_an_expired_item_keeps_its_charge_while_another_get_waits_for_capacity() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = Pool::builder(1)
            .idle_timeout(TIMEOUT)
            .handoff_after(Duration::MAX);
        let (pool, tracker, [a, b]) = pool_from(clock.drive(builder), Counting::new);
        let held = get_now(&a);
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        drop(held); // idle now; the waiter is woken to evict it, but not polled
        clock.advance(TIMEOUT + NANO);
        let replaced = get_now(&a);
        assert_eq!(replaced.serial, 1, "the expired item was reused");
        assert!(
            poller.poll_woken(waiting.as_mut()).is_pending(),
            "the waiter took the charge of the replacing get"
        );
        tracker.assert_never_exceeded();
        drop(replaced); // idle: the waiter evicts it
        let Poll::Ready(Ok(served)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the waiter was not served once the item was idle");
        };
        assert_eq!(served.serial, 2);
        drop(served);
        let totals = totals(&pool);
        assert_eq!(
            counts_of(totals),
            expect(|t| {
                t.allocations = 3;
                t.expired = 1;
                t.evictions = 1;
                t.waits = 1;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_dropped_while_it_allocates_the_replacement_of_an_expired_item_frees_charge_and_hold() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a, b]) = pool_from(builder, SlowToAllocate::new);
        drop(block_on(a.get()).unwrap());
        clock.advance(TIMEOUT + NANO);
        {
            let mut replacing = pin!(a.get());
            assert!(Poller::new().poll(replacing.as_mut()).is_pending());
            assert_eq!(counts(pool.stats()), (1, 0, 1, 0));
        }
        assert!(!a.is_allocated());
        assert_eq!(tracker.releases(), 1);
        let stats = pool.stats();
        assert_eq!(
            (counts(stats), stats.waiting),
            ((0, 0, 0, 0), 0),
            "{stats:?}"
        );
        let totals = stats.totals;
        assert_eq!(
            (totals.expired, totals.cancelled, totals.allocations),
            (1, 1, 1),
            "{totals:?}"
        );
        // The charge and the hold are free.
        drop(block_on(b.get()).unwrap());
        drop(block_on(a.get()).unwrap());
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn every_kind_of_get_replaces_an_expired_idle_item() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        drop(get_now(&a));
        for kind in 0..5 {
            clock.advance(TIMEOUT + NANO);
            let got = match kind {
                0 => block_on(a.get()),
                1 => block_on(a.try_get()),
                2 => block_on(a.get_or_cancel(pending())),
                3 => block_on(a.get_or_cancel(ready(()))),
                _ => a.get_blocking(),
            };
            assert_eq!(got.unwrap().serial, kind + 1, "get number {kind} reused it");
        }
        assert_eq!(tracker.releases(), 5);
        let totals = totals(&pool);
        assert_eq!((totals.allocations, totals.expired), (6, 5), "{totals:?}");
        assert_eq!(totals.cancelled, 0, "{totals:?}");
        close_and_assert_drained(&pool, &tracker);
    });
}

// Lifetime.

#[test]
fn a_get_that_finds_its_idle_item_past_its_lifetime_releases_it_and_allocates_afresh() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).max_lifetime(LIFETIME));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        let guard = get_now(&a);
        clock.advance(LIFETIME / 2); // held: the lifetime counts all the same
        drop(guard);
        clock.advance(LIFETIME / 2 - NANO);
        drop(get_now(&a)); // not yet: reused
        assert_eq!(tracker.allocations(), 1);
        clock.advance(2 * NANO); // past its lifetime, idle for 1 ns
        let guard = get_now(&a);
        assert_eq!(guard.serial, 1, "the item past its lifetime was reused");
        assert_eq!(tracker.releases(), 1);
        drop(guard);
        let totals = totals(&pool);
        assert_eq!(
            counts_of(totals),
            expect(|t| {
                t.allocations = 2;
                t.expired = 1;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_put_past_the_lifetime_releases_the_item() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).max_lifetime(LIFETIME));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        let guard = get_now(&a);
        clock.advance(LIFETIME + NANO);
        assert_eq!(pool.release_expired(), 0, "an item in use was released");
        drop(guard);
        assert!(!a.is_allocated(), "the put kept an item past its lifetime");
        assert_eq!(tracker.releases(), 1);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 1;
                t.expired = 1;
            })
        );
        assert_eq!(get_now(&a).serial, 1, "the next get allocates afresh");
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_busy_item_that_is_never_idle_for_long_is_released_at_its_put_once_past_its_lifetime() {
    bounded(LIMIT, || {
        const STEP: Duration = Duration::from_secs(70);
        let clock = TestClock::new();
        // Each item lives 9 steps: its 9th put is 630 s after its allocation.
        let builder = Pool::builder(1)
            .max_lifetime(LIFETIME)
            .idle_timeout(TIMEOUT);
        let (pool, tracker, [a]) = pool_from(clock.drive(builder), Counting::new);
        for round in 1..=18 {
            let guard = get_now(&a);
            clock.advance(STEP); // held, never idle
            assert_eq!(pool.release_expired(), 0, "an item in use was released");
            drop(guard);
            assert_eq!(
                a.is_allocated(),
                round % 9 != 0,
                "round {round}: the put did not release at the end of the lifetime"
            );
        }
        assert_eq!(tracker.releases(), 2);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.expired = 2;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn release_expired_releases_idle_items_past_their_lifetime() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(2).max_lifetime(LIFETIME));
        let (pool, tracker, [a, b]) = pool_from(builder, Counting::new);
        drop(get_now(&a));
        clock.advance(LIFETIME / 2);
        drop(get_now(&b));
        drop(get_now(&a)); // a reuse does not renew the lifetime
        clock.advance(LIFETIME / 2 + NANO);
        assert_eq!(pool.release_expired(), 1);
        assert!(!a.is_allocated(), "the older item was kept");
        assert!(b.is_allocated(), "the younger item was released");
        clock.advance(LIFETIME / 2);
        assert_eq!(pool.release_expired(), 1);
        assert!(!b.is_allocated());
        assert_eq!(tracker.releases(), 2);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.expired = 2;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn an_item_expires_at_the_earlier_of_its_idle_timeout_and_its_lifetime() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = Pool::builder(2)
            .idle_timeout(TIMEOUT)
            .max_lifetime(LIFETIME);
        let (pool, tracker, [a, b]) = pool_from(clock.drive(builder), Counting::new);
        drop(get_now(&a));
        drop(get_now(&b));
        // `b` is used every half timeout: it expires by its lifetime, found
        // by its get; `a`, left idle, by its idle timeout.
        let (mut released, mut serials) = (Vec::new(), Vec::new());
        for _ in 0..LIFETIME.as_secs() / (TIMEOUT.as_secs() / 2) {
            clock.advance(TIMEOUT / 2 + NANO);
            serials.push(get_now(&b).serial);
            released.push(pool.release_expired());
        }
        assert_eq!(released.iter().sum::<usize>(), 1, "{released:?}");
        assert_eq!(released[1], 1, "the idle timeout did not release `a`");
        assert!(!a.is_allocated());
        let (last, before) = serials.split_last().unwrap();
        assert!(before.iter().all(|&serial| serial == 1), "{serials:?}");
        assert_eq!(*last, 2, "the lifetime did not end `b`'s item: {serials:?}");
        assert_eq!(tracker.releases(), 2);
        let totals = totals(&pool);
        assert_eq!((totals.expired, totals.allocations), (2, 3), "{totals:?}");
        close_and_assert_drained(&pool, &tracker);
    });
}

// release_expired.

#[test]
fn release_expired_returns_how_many_it_released_and_frees_their_charges() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(3).idle_timeout(TIMEOUT));
        let (pool, tracker, resources) = pool_from::<_, 3>(builder, Counting::new);
        for resource in &resources {
            drop(get_now(resource));
        }
        assert_eq!(pool.release_expired(), 0, "nothing is past its time yet");
        clock.advance(TIMEOUT + NANO);
        assert_eq!(pool.release_expired(), 3);
        assert_eq!(pool.release_expired(), 0, "released twice");
        assert!(resources.iter().all(|resource| !resource.is_allocated()));
        assert_eq!(tracker.releases(), 3);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 3;
                t.expired = 3;
            })
        );
        assert_every_charge_usable(&pool, &tracker);
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn release_expired_leaves_items_in_use_and_items_not_yet_expired_alone() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(3).idle_timeout(TIMEOUT));
        let (pool, tracker, [a, b, c]) = pool_from(builder, Counting::new);
        drop(get_now(&a));
        drop(get_now(&b));
        clock.advance(TIMEOUT / 2);
        drop(get_now(&c));
        // `a` was idle for half the timeout and is in use now: its idle entry
        // and stamp are old, the item is not idle.
        let held = get_now(&a);
        clock.advance(TIMEOUT / 2 + NANO);
        assert_eq!(pool.release_expired(), 1, "only `b` is idle past its time");
        assert!(!b.is_allocated());
        assert!(a.is_allocated() && c.is_allocated());
        assert_eq!(held.serial, 0, "the item in use was touched");
        assert_eq!(counts(pool.stats()), (1, 1, 0, 0));
        drop(held); // idle from now
        assert_eq!(pool.release_expired(), 0, "`a` was released at once");
        clock.advance(TIMEOUT / 2);
        assert_eq!(pool.release_expired(), 1, "`c` is past its time now");
        assert!(a.is_allocated() && !c.is_allocated());
        let totals = totals(&pool);
        assert_eq!((totals.allocations, totals.expired), (3, 2), "{totals:?}");
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn the_charge_of_an_expired_item_serves_a_get_waiting_for_capacity() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = Pool::builder(1)
            .idle_timeout(TIMEOUT)
            .handoff_after(Duration::MAX);
        let (pool, tracker, [a, b]) = pool_from(clock.drive(builder), Counting::new);
        let held = get_now(&a);
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        drop(held); // idle; the waiter is woken, but not polled yet
        clock.advance(TIMEOUT + NANO);
        assert_eq!(pool.release_expired(), 1);
        assert!(!a.is_allocated());
        let Poll::Ready(Ok(served)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the freed charge did not serve the waiting get");
        };
        assert_eq!(served.key, 1);
        drop(served);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.expired = 1;
                t.waits = 1;
            }),
            "the waiter evicted rather than took the freed charge"
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn release_expired_without_expiry_settings_returns_zero() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let pools = [
            Pool::new(2),
            clock.drive(Pool::builder(2)).build(),
            clock
                .drive(Pool::builder(2).check_after_idle(Duration::ZERO))
                .build(),
        ];
        for pool in pools {
            let tracker = Tracker::new(2);
            let resources = [0, 1].map(|key| pool.create(Counting::new(key, &tracker)));
            for resource in &resources {
                drop(get_now(resource));
            }
            clock.advance(Duration::from_secs(1_000_000));
            assert_eq!(pool.release_expired(), 0);
            assert!(resources.iter().all(Resource::is_allocated));
            assert_eq!(tracker.releases(), 0);
            assert_eq!(totals(&pool).expired, 0);
            close_and_assert_drained(&pool, &tracker);
        }
    });
}

#[test]
fn release_expired_among_many_resources_releases_exactly_the_expired_ones() {
    bounded(LIMIT, || {
        const RESOURCES: usize = 10_000;
        let clock = TestClock::new();
        let pool = clock.drive(Pool::builder(8).idle_timeout(TIMEOUT)).build();
        let tracker = Tracker::new(8);
        let resources: Vec<_> = (0..RESOURCES)
            .map(|key| pool.create(Counting::new(key, &tracker)))
            .collect();
        let (early, late) = ([17, 4_242, 9_999], [0, 5_000]);
        for key in early {
            drop(get_now(&resources[key]));
        }
        clock.advance(TIMEOUT / 2);
        for key in late {
            drop(get_now(&resources[key]));
        }
        clock.advance(TIMEOUT / 2 + NANO);
        assert_eq!(pool.release_expired(), 3);
        let allocated: Vec<_> = (0..RESOURCES)
            .filter(|&key| resources[key].is_allocated())
            .collect();
        assert_eq!(allocated, late);
        clock.advance(TIMEOUT / 2);
        assert_eq!(pool.release_expired(), 2);
        assert!(resources.iter().all(|resource| !resource.is_allocated()));
        assert_eq!(tracker.releases(), 5);
        let totals = totals(&pool);
        assert_eq!((totals.allocations, totals.expired), (5, 5), "{totals:?}");
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_panicking_release_in_release_expired_releases_the_others_and_goes_on() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let panics = ReleasePanic::new();
        let builder = clock.drive(Pool::builder(3).idle_timeout(TIMEOUT));
        let (pool, tracker, resources) =
            pool_from::<_, 3>(builder, PanicOnRelease::sharing(&panics));
        for resource in &resources {
            drop(get_now(resource));
        }
        clock.advance(TIMEOUT + NANO);
        panics.next();
        let payload = catch_unwind(|| pool.release_expired()).expect_err("the panic goes on");
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert_eq!(message, Some(RELEASE_PANIC));
        assert!(resources.iter().all(|resource| !resource.is_allocated()));
        assert_eq!(
            tracker.releases(),
            3,
            "release_expired stopped at the panic"
        );
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_eq!(totals(&pool).expired, 3);
        assert_every_charge_usable(&pool, &tracker);
        close_and_assert_drained(&pool, &tracker);
    });
}

// The check on reuse.

/// A pool on `clock` that checks items idle for at least `after`, with `N`
/// `Checked` resources.
fn checked_pool<const N: usize>(
    max: usize,
    after: Duration,
    clock: &TestClock,
) -> (Pool, Arc<Tracker>, [Resource<Checked>; N]) {
    pool_from(
        clock.drive(Pool::builder(max).check_after_idle(after)),
        Checked::new,
    )
}

#[test]
fn a_check_that_passes_lets_the_get_reuse_the_item() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        assert_eq!(a.manager().checks(), 0, "a new item was checked");
        let guard = get_now(&a);
        assert_eq!(guard.serial, 0, "the item that passed was replaced");
        assert_eq!(a.manager().checks(), 1);
        drop(guard);
        assert_eq!(counts_of(totals(&pool)), expect(|t| t.allocations = 1));
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_check_that_fails_releases_the_item_and_the_get_allocates_afresh() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        a.manager().says(Says::Fail);
        let guard = get_now(&a);
        assert_eq!(guard.serial, 1, "the item that failed was returned");
        assert_eq!(a.manager().checks(), 1, "the new item was checked too");
        assert_eq!(tracker.releases(), 1);
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.check_failures = 1;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_failed_check_then_a_failed_allocate_returns_the_allocate_error_and_frees_charge_and_hold() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a, b]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        a.manager().says(Says::Fail);
        a.manager().counting.set_next(Next::Fail);
        match block_on(poll_once(a.get())) {
            Some(Err(Error::Allocate(Failed(_)))) => {}
            other => panic!("expected the allocate error, got {other:?}"),
        }
        assert!(!a.is_allocated());
        assert_eq!(tracker.releases(), 1);
        let stats = pool.stats();
        assert_eq!(
            (counts(stats), stats.waiting),
            ((0, 0, 0, 0), 0),
            "{stats:?}"
        );
        // The charge is free: another resource takes it without waiting.
        drop(block_on(b.try_get()).expect("the charge was not freed"));
        // The hold is free: the resource is got again.
        a.manager().says(Says::Pass);
        let guard = block_on(a.try_get()).expect("the hold was not let go");
        assert_eq!(guard.serial, 2);
        drop(guard);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 3;
                t.allocation_errors = 1;
                t.check_failures = 1;
                t.evictions = 1;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_panicking_check_releases_the_item_frees_the_charge_and_the_hold_and_goes_on_to_the_caller() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a, b]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        a.manager().says(Says::Panic);
        let panicked = catch_unwind(AssertUnwindSafe(|| drop(block_on(a.get()))));
        let payload = panicked.expect_err("the panic of check was swallowed");
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert_eq!(message, Some(CHECK_PANIC));
        assert!(!a.is_allocated(), "the item that panicked was kept");
        assert_eq!(tracker.releases(), 1);
        let stats = pool.stats();
        assert_eq!(
            (counts(stats), stats.waiting),
            ((0, 0, 0, 0), 0),
            "{stats:?}"
        );
        assert_eq!(
            counts_of(stats.totals),
            expect(|t| {
                t.allocations = 1;
                t.check_failures = 1;
            })
        );
        // The charge is free.
        drop(block_on(b.try_get()).expect("the charge was not freed"));
        // The hold is free: the next get allocates.
        a.manager().says(Says::Pass);
        let guard = block_on(a.try_get()).expect("the hold was not let go");
        assert_eq!(guard.serial, 2);
        drop(guard);
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_get_dropped_while_its_check_runs_releases_the_item() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a, b]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        a.manager().says(Says::Gated);
        {
            let mut checking = pin!(a.get());
            assert!(Poller::new().poll(checking.as_mut()).is_pending());
            assert_eq!(a.manager().checks(), 1);
            assert_eq!(
                counts(pool.stats()),
                (1, 0, 0, 0),
                "held while it is checked"
            );
            assert!(
                matches!(block_on(a.try_get()), Err(Error::PutTimeout)),
                "the get that checks does not hold the resource"
            );
        }
        assert_eq!(a.manager().returned(), 0, "the check ran to its end");
        assert!(!a.is_allocated(), "the item of the dropped get was kept");
        assert_eq!(tracker.releases(), 1);
        let stats = pool.stats();
        assert_eq!(
            (counts(stats), stats.waiting),
            ((0, 0, 0, 0), 0),
            "{stats:?}"
        );
        assert_eq!(
            counts_of(stats.totals),
            expect(|t| {
                t.allocations = 1;
                t.released = 1;
                t.cancelled = 2; // the dropped get, and the refused try_get
            })
        );
        drop(block_on(b.try_get()).expect("the charge was not freed"));
        a.manager().says(Says::Pass);
        let guard = block_on(a.try_get()).expect("the hold was not let go");
        assert_eq!(guard.serial, 2);
        drop(guard);
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn check_after_idle_checks_only_items_idle_for_at_least_that_long() {
    bounded(LIMIT, || {
        const AFTER: Duration = Duration::from_secs(10);
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, AFTER, &clock);
        drop(get_now(&a));
        for _ in 0..3 {
            clock.advance(AFTER - NANO);
            drop(get_now(&a));
        }
        assert_eq!(a.manager().checks(), 0, "an item idle for less was checked");
        clock.advance(AFTER);
        drop(get_now(&a));
        assert_eq!(
            a.manager().checks(),
            1,
            "an item idle for exactly that long"
        );
        clock.advance(AFTER * 100);
        drop(get_now(&a));
        assert_eq!(a.manager().checks(), 2, "an item idle for longer");
        drop(get_now(&a));
        assert_eq!(a.manager().checks(), 2, "an item idle for 0 s was checked");
        assert_eq!(counts_of(totals(&pool)), expect(|t| t.allocations = 1));
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn check_after_idle_zero_checks_every_reuse() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        for round in 1..=5 {
            drop(block_on(a.get()).unwrap());
            drop(block_on(a.try_get()).unwrap());
            drop(a.get_blocking().unwrap());
            assert_eq!(a.manager().checks(), 3 * round);
        }
        assert_eq!(counts_of(totals(&pool)), expect(|t| t.allocations = 1));
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn an_item_handed_over_with_the_hold_is_checked_and_replaced_if_it_fails() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, Duration::ZERO, &clock);
        let held = get_now(&a);
        let poller = Poller::new();
        let mut waiting = pin!(a.get());
        assert!(poller.poll(waiting.as_mut()).is_pending());
        a.manager().says(Says::Fail);
        drop(held); // the hold goes to the waiter, with the item
        let Poll::Ready(Ok(guard)) = poller.poll_woken(waiting.as_mut()) else {
            panic!("the put did not hand the hold over");
        };
        assert_eq!(a.manager().checks(), 1, "the handed item was not checked");
        assert_eq!(
            guard.serial, 1,
            "the item that failed its check was returned"
        );
        drop(guard);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.check_failures = 1;
                t.waits = 1;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_complete_cancel_future_does_not_interrupt_a_running_check() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        a.manager().says(Says::Gated);
        let poller = Poller::new();
        let mut checking = pin!(a.get_or_cancel(ready(())));
        assert!(
            poller.poll(checking.as_mut()).is_pending(),
            "the check waits"
        );
        assert!(
            poller.poll(checking.as_mut()).is_pending(),
            "the complete cancel future ended the get"
        );
        a.manager().open_gate();
        let Poll::Ready(Ok(guard)) = poller.poll_woken(checking.as_mut()) else {
            panic!("the cancel future interrupted the check");
        };
        assert_eq!(guard.serial, 0);
        assert_eq!(a.manager().returned(), 1);
        drop(guard);
        assert_eq!(counts_of(totals(&pool)), expect(|t| t.allocations = 1));
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_check_that_fails_after_the_close_releases_the_item_and_the_get_fails_with_closed() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a]) = checked_pool(1, Duration::ZERO, &clock);
        drop(get_now(&a));
        a.manager().says(Says::GatedThenFail);
        let poller = Poller::new();
        let mut checking = pin!(a.get());
        assert!(poller.poll(checking.as_mut()).is_pending());
        pool.close();
        a.manager().open_gate();
        let polled = poller.poll_woken(checking.as_mut());
        assert!(
            matches!(polled, Poll::Ready(Err(Error::Closed))),
            "a get in a closed pool replaced its item: {polled:?}"
        );
        assert_eq!(tracker.allocations(), 1, "a closed pool allocated");
        assert!(!a.is_allocated());
        let totals = totals(&pool);
        assert_eq!(
            (totals.check_failures, totals.allocations),
            (1, 1),
            "{totals:?}"
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_check_that_fails_after_a_shrink_allocates_nothing_while_the_pool_is_over_its_new_max() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a, b]) = checked_pool(2, Duration::ZERO, &clock);
        drop(get_now(&a));
        let held = get_now(&b);
        a.manager().says(Says::GatedThenFail);
        let poller = Poller::new();
        let mut checking = pin!(a.get());
        assert!(poller.poll(checking.as_mut()).is_pending());
        pool.set_max(1); // both items in use: the pool is over its new max
        a.manager().open_gate();
        assert!(
            poller.poll_woken(checking.as_mut()).is_pending(),
            "the get allocated over the new max"
        );
        assert_eq!(tracker.live(), 1, "{:?}", pool.stats());
        assert_eq!(pool.stats().allocating, 0);
        drop(held); // fits the new max: idle, and the waiting get evicts it
        let Poll::Ready(Ok(guard)) = poller.poll_woken(checking.as_mut()) else {
            panic!("the get was not served once the pool fit its max");
        };
        assert_eq!(guard.serial, 2);
        drop(guard);
        let totals = totals(&pool);
        assert_eq!(
            (totals.check_failures, totals.evictions),
            (1, 1),
            "{totals:?}"
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_try_get_whose_check_fails_after_a_shrink_is_refused_without_waiting() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let (pool, tracker, [a, b]) = checked_pool(2, Duration::ZERO, &clock);
        drop(get_now(&a));
        let held = get_now(&b);
        a.manager().says(Says::GatedThenFail);
        let poller = Poller::new();
        let mut checking = pin!(a.try_get());
        assert!(poller.poll(checking.as_mut()).is_pending());
        pool.set_max(1);
        a.manager().open_gate();
        let polled = poller.poll_woken(checking.as_mut());
        assert!(
            matches!(polled, Poll::Ready(Err(Error::ResourceLimitExceeded))),
            "{polled:?}"
        );
        assert!(!a.is_allocated());
        assert_eq!(tracker.live(), 1);
        let stats = pool.stats();
        assert_eq!(
            (counts(stats), stats.waiting),
            ((1, 0, 0, 0), 0),
            "{stats:?}"
        );
        drop(held);
        // The hold was let go: `a` is got again, evicting `b`'s item.
        a.manager().says(Says::Pass);
        assert_eq!(get_now(&a).serial, 2);
        let totals = totals(&pool);
        assert_eq!(
            (totals.check_failures, totals.cancelled, totals.evictions),
            (1, 1, 1),
            "{totals:?}"
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

#[test]
fn an_expired_item_is_replaced_without_being_checked() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = Pool::builder(1)
            .idle_timeout(TIMEOUT)
            .check_after_idle(Duration::ZERO);
        let (pool, tracker, [a]) = pool_from(clock.drive(builder), Checked::new);
        drop(get_now(&a));
        clock.advance(TIMEOUT + NANO);
        let guard = get_now(&a);
        assert_eq!(guard.serial, 1);
        assert_eq!(a.manager().checks(), 0, "the expired item was checked");
        drop(guard);
        assert_eq!(
            counts_of(totals(&pool)),
            expect(|t| {
                t.allocations = 2;
                t.expired = 1;
            })
        );
        close_and_assert_drained(&pool, &tracker);
    });
}

// Mixed runs.

/// A check fails once its item has been used this many times.
const FAIL_FROM: usize = 4;
/// Each task's gets in each phase of a mixed run.
const ROUNDS: usize = 40;

/// One round of a task in a mixed run: get, use, yield, then put, or
/// `release`.
async fn one_round(resource: &Resource<Checked>, runner: Runner, release: bool) {
    let mut guard = runner.get(resource).await.expect("no get fails here");
    guard.uses += 1;
    runner.yield_now().await;
    if release {
        guard.release().unwrap();
    } else {
        drop(guard);
    }
}

/// What the rules say one resource's phase of `ROUNDS` rounds does, where it
/// has a charge of its own: its item's uses at the start (`None`: not
/// allocated), and whether that item is past its time; adds to `totals` and
/// to `checks`, and returns the item's uses at the end.
fn model_phase(
    mut item: Option<usize>,
    expired: bool,
    totals: &mut Totals,
    checks: &mut u64,
) -> Option<usize> {
    for round in 0..ROUNDS {
        let uses = match item {
            Some(_) if expired && round == 0 => {
                totals.expired += 1;
                totals.allocations += 1;
                0
            }
            Some(uses) => {
                *checks += 1;
                if uses >= FAIL_FROM {
                    totals.check_failures += 1;
                    totals.allocations += 1;
                    0
                } else {
                    uses
                }
            }
            None => {
                totals.allocations += 1;
                0
            }
        };
        if round % 7 == 6 {
            totals.released += 1;
            item = None;
        } else {
            item = Some(uses + 1);
        }
    }
    item
}

/// One task per resource, each with a charge of its own (no evictions, no
/// waits), in three phases: the clock moves past the idle timeout between
/// them; the second phase's first gets find their items expired, and
/// `release_expired` releases them before the third. Each check fails once
/// its item was used `FAIL_FROM` times. The totals are then exactly what the
/// rules say, on any runtime.
fn mixed_run_with_exact_totals(runner: Runner) {
    const RESOURCES: usize = 8;
    let clock = TestClock::new();
    let builder = Pool::builder(RESOURCES)
        .idle_timeout(TIMEOUT)
        .check_after_idle(Duration::ZERO);
    let (pool, tracker, resources) = pool_from::<_, RESOURCES>(clock.drive(builder), Checked::new);
    for resource in &resources {
        resource.manager().says(Says::FailFrom(FAIL_FROM));
    }
    let phase = || {
        runner.run_each(LIMIT, resources.to_vec(), |resource, runner| async move {
            for round in 0..ROUNDS {
                one_round(&resource, runner, round % 7 == 6).await;
            }
        });
    };

    // One resource's share, as the rules say.
    let (mut share, mut checks) = (Totals::default(), 0);
    phase();
    let item = model_phase(None, false, &mut share, &mut checks);
    clock.advance(TIMEOUT + NANO);
    phase();
    let item = model_phase(item, true, &mut share, &mut checks);
    clock.advance(TIMEOUT + NANO);
    let expired_now = usize::from(item.is_some());
    assert_eq!(pool.release_expired(), RESOURCES * expired_now);
    share.expired += expired_now as u64;
    phase();
    let item = model_phase(None, false, &mut share, &mut checks);

    let scale = RESOURCES as u64;
    let expected = expect(|t| {
        t.allocations = scale * share.allocations;
        t.expired = scale * share.expired;
        t.check_failures = scale * share.check_failures;
        t.released = scale * share.released;
    });
    assert!(share.check_failures > 0 && share.expired > 1, "{share:?}");
    assert_eq!(counts_of(totals(&pool)), expected);
    let (manager_checks, manager_failures): (usize, usize) = resources
        .iter()
        .map(|resource| (resource.manager().checks(), resource.manager().failed()))
        .fold((0, 0), |(c, f), (checks, failed)| (c + checks, f + failed));
    assert_eq!(manager_checks as u64, scale * checks);
    assert_eq!(manager_failures as u64, expected.check_failures);
    let stats = pool.stats();
    let idle = RESOURCES * usize::from(item.is_some());
    assert_eq!(counts(stats), (0, idle, 0, 0), "{stats:?}");
    assert_every_item_accounted_for(stats.totals, idle as u64);
    close_and_assert_drained(&pool, &tracker);
    assert_eq!(totals(&pool).shed, idle as u64);
}

#[test]
fn a_mixed_run_on_tokio_has_exact_totals() {
    bounded(2 * LIMIT, || mixed_run_with_exact_totals(Runner::Tokio));
}

#[test]
fn a_mixed_run_on_smol_has_exact_totals() {
    bounded(2 * LIMIT, || mixed_run_with_exact_totals(Runner::Smol));
}

#[test]
fn a_mixed_run_on_async_std_has_exact_totals() {
    bounded(2 * LIMIT, || mixed_run_with_exact_totals(Runner::AsyncStd));
}

#[test]
fn a_mixed_run_on_threads_has_exact_totals() {
    bounded(2 * LIMIT, || mixed_run_with_exact_totals(Runner::Threads));
}

/// Tasks over fewer charges than resources, each moving the clock after each
/// of its rounds (and, if `resize`, setting the pool's `max` every fifth
/// round, each task to another), while another thread calls
/// `release_expired`: items expire on every path
/// (found by a get, at a put past their lifetime, by `release_expired`, or
/// evicted or shed first), checks fail (while the pool is over a shrunk max
/// too), and nothing is lost: live items never exceed the largest `max`, the
/// totals account for every item, the check failures are those the managers
/// returned, and the pool drains.
fn lifecycle_under_load(runner: Runner, resize: bool) {
    const MAX: usize = 5;
    const RESOURCES: usize = 6;
    /// Items idle for this long are checked.
    const CHECK_AFTER: Duration = Duration::from_secs(2);
    /// How far a task moves the clock after each round, in turn: by these
    /// steps alone, its own item, idle, would be reused unchecked after the
    /// 1 s steps, checked after the others and expired after the 70 s one
    /// (unless another get took it first); the other tasks move it too.
    const STEPS: [Duration; 8] = [
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(20),
        Duration::from_secs(1),
        Duration::from_secs(2),
        Duration::from_secs(5),
        Duration::from_secs(70),
    ];
    let clock = TestClock::new();
    let builder = Pool::builder(MAX)
        .idle_timeout(TIMEOUT)
        .max_lifetime(LIFETIME)
        .check_after_idle(CHECK_AFTER);
    let (pool, tracker, resources) = pool_from::<_, RESOURCES>(clock.drive(builder), Checked::new);
    for resource in &resources {
        resource.manager().says(Says::FailEvery(3));
    }
    let done = Arc::new(AtomicBool::new(false));
    let reaper = {
        let (pool, done) = (pool.clone(), done.clone());
        std::thread::spawn(move || {
            let mut released = 0;
            while !done.load(Ordering::SeqCst) {
                released += pool.release_expired();
                std::thread::sleep(Duration::from_micros(100));
            }
            released
        })
    };
    let task_clock = clock.clone();
    runner.run_each(LIMIT, resources.to_vec(), move |resource, runner| {
        let clock = task_clock.clone();
        async move {
            let key = resource.manager().counting.key;
            for round in 0..10 * ROUNDS {
                if resize && round % 5 == 0 {
                    resource.pool().set_max(1 + (round / 5 + key) % MAX);
                }
                one_round(&resource, runner, round % 23 == 22).await;
                clock.advance(STEPS[round % STEPS.len()]);
                if round % 4 == 3 {
                    runner.yield_now().await;
                }
            }
        }
    });
    done.store(true, Ordering::SeqCst);
    let released_by_reaper = reaper.join().unwrap();
    pool.set_max(MAX);

    tracker.assert_never_exceeded();
    let stats = pool.stats();
    assert_eq!(stats.waiting, 0, "{stats:?}");
    assert_quiescent(&pool, &tracker);
    let totals = stats.totals;
    assert!(totals.expired >= released_by_reaper as u64, "{totals:?}");
    let failures: usize = resources.iter().map(|r| r.manager().failed()).sum();
    assert_eq!(totals.check_failures, failures as u64, "{totals:?}");
    assert_eq!(totals.allocation_errors + totals.cancelled, 0, "{totals:?}");
    assert_eq!(stats.max, MAX);
    assert!(
        totals.expired > 0 && totals.check_failures > 0,
        "the run did not go through the lifecycle: {totals:?}"
    );
    assert_every_item_accounted_for(totals, (stats.in_use + stats.idle) as u64);
    close_and_assert_drained(&pool, &tracker);
}

#[test]
fn the_lifecycle_under_load_on_tokio_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::Tokio, false));
}

#[test]
fn the_lifecycle_while_the_pool_is_resized_on_tokio_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::Tokio, true));
}

#[test]
fn the_lifecycle_under_load_on_smol_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::Smol, false));
}

#[test]
fn the_lifecycle_while_the_pool_is_resized_on_smol_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::Smol, true));
}

#[test]
fn the_lifecycle_under_load_on_async_std_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::AsyncStd, false));
}

#[test]
fn the_lifecycle_while_the_pool_is_resized_on_async_std_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::AsyncStd, true));
}

#[test]
fn the_lifecycle_under_load_on_threads_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::Threads, false));
}

#[test]
fn the_lifecycle_while_the_pool_is_resized_on_threads_loses_nothing() {
    bounded(2 * LIMIT, || lifecycle_under_load(Runner::Threads, true));
}
