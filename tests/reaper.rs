//! `Pool::reaper`: a future the user spawns, which calls `release_expired`,
//! sleeps with the timer it is given until the next idle item could expire
//! (a quarter of the shortest setting at most), and ends when the pool is
//! closed or dropped, holding it only weakly while it sleeps.
//!
//! First polled by hand, with a `TestClock` and a timer the test rings, so
//! that what it releases and how long it asks to sleep are exact. Then
//! spawned on tokio, smol and async-std with their own timers and the
//! system's clock: short settings, and generous bounds on how long the test
//! waits for what must happen.

mod common;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    assert_every_charge_usable, bounded, counts, on_async_std, on_smol, on_tokio, pool_from,
    Counting, PanicOnRelease, Poller, ReleasePanic, SetOnDrop, TestClock, Tracker, LIMIT,
    RELEASE_PANIC,
};
use futures_lite::future::{block_on, or, poll_once};
use resourcepool::{Pool, PoolBuilder, Resource};

/// The idle timeout of the scenarios polled by hand.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How much later than an item's expiry the reaper may look, by its docs.
const SLACK: Duration = Duration::from_millis(5);
/// The clock's smallest step.
const NANO: Duration = Duration::from_nanos(1);

// Helpers.

/// Checks that nothing is live: the pool and the managers agree, and every
/// item was released once.
fn assert_drained(pool: &Pool, tracker: &Tracker) {
    let stats = pool.stats();
    assert_eq!(counts(stats), (0, 0, 0, 0), "{stats:?}");
    assert_eq!(tracker.live(), 0, "an item is still alive");
    assert_eq!(tracker.releases(), tracker.allocations());
    tracker.assert_never_exceeded();
}

/// The future of a `sleep` given to the reaper by an `Alarm`.
type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A timer for the reaper that the test controls: it records each pause the
/// reaper asks for, and each sleep lasts until the test rings.
#[derive(Clone, Debug)]
struct Alarm {
    pauses: Arc<Mutex<Vec<Duration>>>,
    bell: smol::channel::Sender<()>,
    rung: smol::channel::Receiver<()>,
}

impl Alarm {
    fn new() -> Alarm {
        let (bell, rung) = smol::channel::unbounded();
        Alarm {
            pauses: Arc::default(),
            bell,
            rung,
        }
    }

    /// The `sleep` to give the reaper.
    fn sleep(&self) -> impl FnMut(Duration) -> Sleep + Send + 'static {
        let (pauses, rung) = (self.pauses.clone(), self.rung.clone());
        move |pause| {
            pauses.lock().unwrap().push(pause);
            let rung = rung.clone();
            Box::pin(async move {
                let _ = rung.recv().await;
            })
        }
    }

    /// The pauses asked for so far.
    fn pauses(&self) -> Vec<Duration> {
        self.pauses.lock().unwrap().clone()
    }

    /// The last pause asked for.
    fn last_pause(&self) -> Duration {
        *self.pauses().last().expect("the reaper never slept")
    }

    /// Ends the sleep in progress.
    fn ring(&self) {
        self.bell.try_send(()).unwrap();
    }
}

// Polled by hand.

#[test]
fn the_reaper_sleeps_until_the_next_item_could_expire_then_releases_it() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(2).idle_timeout(TIMEOUT));
        let (pool, tracker, [a, b]) = pool_from(builder, Counting::new);
        drop(block_on(a.get()).unwrap());
        clock.advance(TIMEOUT - Duration::from_secs(10));
        drop(block_on(b.get()).unwrap());
        let alarm = Alarm::new();
        let poller = Poller::new();
        let mut reaper = pin!(pool.reaper(alarm.sleep()));
        assert!(poller.poll(reaper.as_mut()).is_pending());
        let pause = alarm.last_pause();
        let until_a_expires = Duration::from_secs(10);
        assert!(
            until_a_expires <= pause && pause <= until_a_expires + SLACK,
            "asked to sleep {pause:?}, `a` expires in {until_a_expires:?}"
        );
        assert!(a.is_allocated() && b.is_allocated(), "released early");

        clock.advance(until_a_expires + NANO);
        alarm.ring();
        assert!(poller.poll(reaper.as_mut()).is_pending());
        assert!(!a.is_allocated(), "the reaper did not release `a`");
        assert!(b.is_allocated(), "the reaper released `b`, not yet expired");
        assert_eq!(tracker.releases(), 1);
        assert_eq!(pool.stats().totals.expired, 1);
        // `b` expires in 50 s: the reaper looks again within a quarter of the
        // timeout.
        let pause = alarm.last_pause();
        assert!(pause <= TIMEOUT / 4 + SLACK, "asked to sleep {pause:?}");
        assert_eq!(alarm.pauses().len(), 2, "{:?}", alarm.pauses());

        pool.close();
        assert!(
            poller.poll(reaper.as_mut()).is_ready(),
            "the close did not end it"
        );
        block_on(pool.drained());
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn an_item_put_while_the_reaper_sleeps_is_released_at_most_a_quarter_of_its_timeout_late() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = Pool::builder(1)
            .idle_timeout(TIMEOUT)
            .max_lifetime(TIMEOUT * 10);
        let (pool, tracker, [a]) = pool_from(clock.drive(builder), Counting::new);
        let alarm = Alarm::new();
        let poller = Poller::new();
        let mut reaper = pin!(pool.reaper(alarm.sleep()));
        assert!(poller.poll(reaper.as_mut()).is_pending());
        let pause = alarm.last_pause();
        assert!(
            pause <= TIMEOUT / 4 + SLACK,
            "nothing idle: slept {pause:?}"
        );

        // Put just after the reaper went to sleep; then each sleep lasts
        // exactly as long as the reaper asked.
        let (mut now, mut asleep_since) = (Duration::ZERO, Duration::ZERO);
        clock.advance(Duration::from_secs(1));
        now += Duration::from_secs(1);
        drop(block_on(a.get()).unwrap());
        let put_at = now;
        while a.is_allocated() {
            let wakes_at = asleep_since + alarm.last_pause();
            clock.advance(wakes_at - now);
            now = wakes_at;
            alarm.ring();
            assert!(poller.poll(reaper.as_mut()).is_pending());
            asleep_since = now;
            assert!(alarm.pauses().len() < 100, "never released");
        }
        let idle = now - put_at;
        assert!(idle >= TIMEOUT, "released after {idle:?} idle");
        assert!(
            idle <= TIMEOUT + TIMEOUT / 4 + SLACK,
            "released after {idle:?} idle: {:?}",
            alarm.pauses()
        );
        assert_eq!(tracker.releases(), 1);
        assert_eq!(pool.stats().totals.expired, 1);
        pool.close();
        assert!(poller.poll(reaper.as_mut()).is_ready());
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_reaper_without_expiry_settings_never_sleeps_and_ends_on_close() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builders = [
            Pool::builder(1),
            clock.drive(Pool::builder(1).check_after_idle(Duration::ZERO)),
        ];
        for builder in builders {
            let (pool, tracker, [a]) = pool_from(builder, Counting::new);
            drop(block_on(a.get()).unwrap());
            let alarm = Alarm::new();
            let poller = Poller::new();
            let mut reaper = pin!(pool.reaper(alarm.sleep()));
            for _ in 0..3 {
                assert!(poller.poll(reaper.as_mut()).is_pending());
                clock.advance(Duration::from_secs(1_000_000));
            }
            assert_eq!(alarm.pauses(), [], "it asked its timer for a sleep");
            assert!(a.is_allocated());
            assert_eq!(tracker.releases(), 0);
            pool.close();
            assert!(poller.wakes() > 0, "the close did not wake it");
            assert!(poller.poll(reaper.as_mut()).is_ready());
            assert_drained(&pool, &tracker);
        }
    });
}

#[test]
fn the_reaper_ends_at_once_when_the_pool_is_closed_while_it_sleeps() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        drop(block_on(a.get()).unwrap());
        let alarm = Alarm::new();
        let poller = Poller::new();
        let mut reaper = pin!(pool.reaper(alarm.sleep()));
        assert!(poller.poll(reaper.as_mut()).is_pending());
        pool.close(); // the alarm never rings
        assert!(poller.wakes() > 0, "the close did not wake it");
        assert!(poller.poll(reaper.as_mut()).is_ready());
        assert_eq!(alarm.pauses().len(), 1);
        let totals = pool.stats().totals;
        assert_eq!((totals.shed, totals.expired), (1, 0), "{totals:?}");
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn the_reaper_ends_at_once_when_the_last_handle_of_the_pool_is_dropped_while_it_sleeps() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let freed = Arc::new(AtomicBool::new(false));
        let on_free = SetOnDrop(freed.clone());
        let pool = Pool::builder(1)
            .idle_timeout(TIMEOUT)
            .clock(move || {
                let _pool_alive = &on_free;
                clock.now()
            })
            .build();
        let tracker = Tracker::new(1);
        let a = pool.create(Counting::new(0, &tracker));
        drop(block_on(a.get()).unwrap());
        let alarm = Alarm::new();
        let poller = Poller::new();
        let mut reaper = pin!(pool.reaper(alarm.sleep()));
        assert!(poller.poll(reaper.as_mut()).is_pending());
        drop(a); // releases its idle item; the pool lives on
        assert_eq!(tracker.releases(), 1);
        assert!(!freed.load(Ordering::SeqCst));
        drop(pool);
        assert!(
            freed.load(Ordering::SeqCst),
            "the sleeping reaper kept the pool alive"
        );
        assert!(poller.wakes() > 0, "the drop did not wake it");
        assert!(poller.poll(reaper.as_mut()).is_ready());
        assert_eq!(alarm.pauses().len(), 1);
        assert_eq!(tracker.live(), 0);
    });
}

#[test]
fn a_reaper_made_before_the_pool_is_dropped_and_polled_after_ends_at_once() {
    bounded(LIMIT, || {
        let pool = Pool::builder(1).idle_timeout(TIMEOUT).build();
        let alarm = Alarm::new();
        let reaper = pool.reaper(alarm.sleep());
        drop(pool);
        assert!(block_on(poll_once(reaper)).is_some());
        assert_eq!(alarm.pauses(), []);
    });
}

#[test]
fn dropping_the_reaper_changes_nothing_else() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let builder = clock.drive(Pool::builder(1).idle_timeout(TIMEOUT));
        let (pool, tracker, [a]) = pool_from(builder, Counting::new);
        drop(block_on(a.get()).unwrap());
        let alarm = Alarm::new();
        {
            let mut reaper = pin!(pool.reaper(alarm.sleep()));
            assert!(Poller::new().poll(reaper.as_mut()).is_pending());
        }
        assert!(a.is_allocated());
        drop(block_on(a.get()).unwrap());
        clock.advance(TIMEOUT + NANO);
        assert_eq!(pool.release_expired(), 1);
        assert_eq!(tracker.releases(), 1);
        pool.close();
        block_on(pool.drained());
        assert_drained(&pool, &tracker);
    });
}

#[test]
fn a_panicking_release_ends_the_reaper_with_the_panic_and_leaves_the_pool_whole() {
    bounded(LIMIT, || {
        let clock = TestClock::new();
        let panics = ReleasePanic::new();
        let builder = clock.drive(Pool::builder(2).idle_timeout(TIMEOUT));
        let (pool, tracker, resources) =
            pool_from::<_, 2>(builder, PanicOnRelease::sharing(&panics));
        for resource in &resources {
            drop(block_on(resource.get()).unwrap());
        }
        let alarm = Alarm::new();
        let poller = Poller::new();
        let mut reaper = pin!(pool.reaper(alarm.sleep()));
        assert!(poller.poll(reaper.as_mut()).is_pending());
        clock.advance(TIMEOUT + NANO);
        panics.next();
        alarm.ring();
        let polled = catch_unwind(AssertUnwindSafe(|| poller.poll(reaper.as_mut())));
        let payload = polled.expect_err("the panic of release was swallowed");
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert_eq!(message, Some(RELEASE_PANIC));
        assert!(resources.iter().all(|resource| !resource.is_allocated()));
        assert_eq!(tracker.releases(), 2);
        assert_eq!(pool.stats().totals.expired, 2);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert_every_charge_usable(&pool, &tracker);
        pool.close();
        block_on(pool.drained());
        assert_drained(&pool, &tracker);
    });
}

// Spawned on a runtime, with its timer.

/// A short setting, for the real clock.
const SHORT: Duration = Duration::from_millis(50);
/// A setting that never ends within a test.
const LONG: Duration = Duration::from_secs(3_600);
/// How long a test waits for what must happen: far longer than it takes.
const PATIENCE: Duration = Duration::from_secs(10);

/// A runtime: how to run a test on it, spawn a task, sleep, and make a
/// reaper with its timer.
trait Runtime {
    /// Runs the test's future on this runtime, bounded.
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `task`; the returned future waits for it to end.
    fn spawn(
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;

    /// The runtime's timer.
    fn sleep(pause: Duration) -> impl Future<Output = ()> + Send + 'static;

    /// `pool.reaper` with the runtime's timer, as a user would write it.
    fn reaper(pool: &Pool) -> impl Future<Output = ()> + Send + 'static;
}

/// tokio's multi-threaded runtime, `tokio::time::sleep`.
struct Tokio;

impl Runtime for Tokio {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_tokio(make)
    }

    fn spawn(
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let handle = tokio::spawn(task);
        Box::pin(async move {
            if let Err(error) = handle.await {
                std::panic::resume_unwind(error.into_panic());
            }
        })
    }

    fn sleep(pause: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(pause)
    }

    fn reaper(pool: &Pool) -> impl Future<Output = ()> + Send + 'static {
        pool.reaper(tokio::time::sleep)
    }
}

/// smol's global executor, `smol::Timer::after` (which yields an `Instant`).
struct Smol;

impl Runtime for Smol {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_smol(make)
    }

    fn spawn(
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(smol::spawn(task))
    }

    async fn sleep(pause: Duration) {
        smol::Timer::after(pause).await;
    }

    fn reaper(pool: &Pool) -> impl Future<Output = ()> + Send + 'static {
        pool.reaper(smol::Timer::after)
    }
}

/// async-std, `async_std::task::sleep`.
struct AsyncStd;

impl Runtime for AsyncStd {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_async_std(make)
    }

    fn spawn(
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async_std::task::spawn(task))
    }

    fn sleep(pause: Duration) -> impl Future<Output = ()> + Send + 'static {
        async_std::task::sleep(pause)
    }

    fn reaper(pool: &Pool) -> impl Future<Output = ()> + Send + 'static {
        pool.reaper(async_std::task::sleep)
    }
}

/// Waits, on `R`'s timer, until `done` says so; fails the test after
/// `PATIENCE`.
async fn eventually<R: Runtime>(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        R::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for the spawned reaper to end; fails the test after `PATIENCE`.
async fn ends<R: Runtime>(reaper: Pin<Box<dyn Future<Output = ()> + Send>>, why: &str) {
    let ended = or(
        async {
            reaper.await;
            Some(())
        },
        async {
            R::sleep(PATIENCE).await;
            None
        },
    );
    assert!(ended.await.is_some(), "the reaper did not end {why}");
}

/// Polls the spawned reaper once: it must still run.
async fn still_runs(reaper: &mut Pin<Box<dyn Future<Output = ()> + Send>>) {
    assert!(
        poll_once(reaper.as_mut()).await.is_none(),
        "the reaper ended by itself"
    );
}

/// A pool of 2 that `settings` configure, on the system's clock, and a
/// resource of it.
fn pool_with(
    settings: impl FnOnce(PoolBuilder) -> PoolBuilder,
) -> (Pool, Arc<Tracker>, Resource<Counting>) {
    let (pool, tracker, [a]) = pool_from(settings(Pool::builder(2)), Counting::new);
    (pool, tracker, a)
}

/// The reaper releases an item that `settings` make expire soon after its
/// put, then ends when the pool is closed.
async fn releases_an_expired_idle_item<R: Runtime>(
    settings: impl FnOnce(PoolBuilder) -> PoolBuilder,
) {
    let (pool, tracker, a) = pool_with(settings);
    let reaper = R::spawn(R::reaper(&pool));
    drop(a.get().await.unwrap());
    eventually::<R>("the reaper released the expired item", || {
        !a.is_allocated() && counts(pool.stats()) == (0, 0, 0, 0)
    })
    .await;
    assert_eq!(tracker.releases(), 1);
    let totals = pool.stats().totals;
    assert_eq!((totals.allocations, totals.expired), (1, 1), "{totals:?}");
    pool.close();
    ends::<R>(reaper, "on close").await;
    pool.drained().await;
    assert_drained(&pool, &tracker);
}

async fn releases_an_idle_item_after_its_idle_timeout<R: Runtime>() {
    releases_an_expired_idle_item::<R>(|builder| builder.idle_timeout(SHORT)).await;
}

async fn releases_an_idle_item_past_its_lifetime<R: Runtime>() {
    releases_an_expired_idle_item::<R>(|builder| builder.max_lifetime(SHORT)).await;
}

async fn ends_when_the_pool_is_closed<R: Runtime>() {
    let (pool, tracker, a) = pool_with(|builder| builder.idle_timeout(LONG));
    let mut reaper = R::spawn(R::reaper(&pool));
    drop(a.get().await.unwrap());
    R::sleep(SHORT).await; // asleep by now, most likely: either will do
    still_runs(&mut reaper).await;
    assert!(a.is_allocated(), "released long before its time");
    pool.close();
    ends::<R>(reaper, "on close").await;
    pool.drained().await;
    assert_drained(&pool, &tracker);
}

async fn ends_when_the_last_pool_handle_and_resources_are_dropped<R: Runtime>() {
    let freed = Arc::new(AtomicBool::new(false));
    let on_free = SetOnDrop(freed.clone());
    let (pool, tracker, a) = pool_with(|builder| {
        builder.idle_timeout(LONG).clock(move || {
            let _pool_alive = &on_free;
            Instant::now()
        })
    });
    let mut reaper = R::spawn(R::reaper(&pool));
    drop(a.get().await.unwrap());
    R::sleep(SHORT).await;
    still_runs(&mut reaper).await;
    drop(a); // releases its idle item
    drop(pool);
    eventually::<R>("the pool was freed while the reaper was spawned", || {
        freed.load(Ordering::SeqCst)
    })
    .await;
    ends::<R>(reaper, "when the pool was dropped").await;
    assert_eq!(tracker.releases(), 1);
    assert_eq!(tracker.live(), 0);
}

async fn without_timeout_settings_waits_and_ends_on_close<R: Runtime>() {
    let (pool, tracker, a) = pool_with(|builder| builder.check_after_idle(Duration::ZERO));
    let sleeps = Arc::new(AtomicUsize::new(0));
    let counted = sleeps.clone();
    let mut reaper = R::spawn(pool.reaper(move |pause| {
        counted.fetch_add(1, Ordering::SeqCst);
        R::sleep(pause)
    }));
    drop(a.get().await.unwrap());
    R::sleep(SHORT).await;
    still_runs(&mut reaper).await;
    assert_eq!(
        sleeps.load(Ordering::SeqCst),
        0,
        "it asked its timer for a sleep"
    );
    assert!(a.is_allocated());
    pool.close();
    ends::<R>(reaper, "on close").await;
    assert_eq!(sleeps.load(Ordering::SeqCst), 0);
    pool.drained().await;
    assert_drained(&pool, &tracker);
}

macro_rules! on_every_runtime {
    ($($scenario:ident),* $(,)?) => {
        mod tokio_timer {
            $( #[test] fn $scenario() { <super::Tokio as super::Runtime>::run(super::$scenario::<super::Tokio>) } )*
        }
        mod smol_timer {
            $( #[test] fn $scenario() { <super::Smol as super::Runtime>::run(super::$scenario::<super::Smol>) } )*
        }
        mod async_std_timer {
            $( #[test] fn $scenario() { <super::AsyncStd as super::Runtime>::run(super::$scenario::<super::AsyncStd>) } )*
        }
    };
}

on_every_runtime!(
    releases_an_idle_item_after_its_idle_timeout,
    releases_an_idle_item_past_its_lifetime,
    ends_when_the_pool_is_closed,
    ends_when_the_last_pool_handle_and_resources_are_dropped,
    without_timeout_settings_waits_and_ends_on_close,
);
