//! Shared by the integration tests, in groups:
//!
//! - managers: `Counting`, which counts live items in a `Tracker` and checks
//!   them against `max`; `SlowToAllocate`, whose `allocate` is pending once;
//!   `Gated`, whose next `allocate` can hang and whose next `release` can be
//!   held until the test lets it return; `PanicOnRelease`, whose `release`
//!   can be made to panic (on one thread only, if need be);
//! - setup: `pool_of_max`, a pool and its resources; `TestClock`, a clock
//!   that moves only when the test moves it (for `PoolBuilder::clock`);
//! - polling by hand: `poll_by_hand` (a no-op waker) and `Poller` (a waker
//!   that counts its wakes);
//! - running: `bounded`, a time bound, and the runtime wrappers;
//! - checks: `counts`, `assert_quiescent` and `assert_every_charge_usable`.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;

use resourcepool::{AllocateRelease, Pool, PoolBuilder, Resource, Stats};

// Managers.

/// What the managers of one test saw, shared by all of them.
#[derive(Debug, Default)]
pub struct Tracker {
    pub max: usize,
    /// Items between the start of `allocate` and the end of `release`.
    pub live: AtomicUsize,
    /// The most `live` ever was.
    pub peak: AtomicUsize,
    pub allocations: AtomicUsize,
    pub releases: AtomicUsize,
    /// Set if `live` ever exceeded `max`.
    pub exceeded: AtomicBool,
}

impl Tracker {
    pub fn new(max: usize) -> Arc<Tracker> {
        Arc::new(Tracker {
            max,
            ..Tracker::default()
        })
    }
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::SeqCst)
    }
    pub fn releases(&self) -> usize {
        self.releases.load(Ordering::SeqCst)
    }
    /// Panics if the limit was ever broken.
    pub fn assert_never_exceeded(&self) {
        assert!(
            !self.exceeded.load(Ordering::SeqCst),
            "live items exceeded max {} (peak {})",
            self.max,
            self.peak.load(Ordering::SeqCst)
        );
    }
    fn begin(&self) {
        let live = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(live, Ordering::SeqCst);
        if live > self.max {
            self.exceeded.store(true, Ordering::SeqCst);
        }
    }
    fn end(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The error of `Counting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed(pub &'static str);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for Failed {}

/// An item: which resource, and which of its allocations.
#[derive(Debug, PartialEq, Eq)]
pub struct Item {
    pub key: usize,
    pub serial: usize,
    pub uses: usize,
}

/// What the next `allocate` of a `Counting` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeed,
    Fail,
    Panic,
}

/// A manager that counts live items in its `Tracker` and records the order of
/// its releases.
#[derive(Debug)]
pub struct Counting {
    pub key: usize,
    pub tracker: Arc<Tracker>,
    pub next: Mutex<Next>,
    pub release_result: Mutex<Result<(), Failed>>,
    pub released_keys: Option<Arc<Mutex<Vec<usize>>>>,
    pub allocate_delay: Option<Duration>,
}

impl Counting {
    pub fn new(key: usize, tracker: &Arc<Tracker>) -> Counting {
        Counting {
            key,
            tracker: tracker.clone(),
            next: Mutex::new(Next::Succeed),
            release_result: Mutex::new(Ok(())),
            released_keys: None,
            allocate_delay: None,
        }
    }
    /// Records the key of every released item in `log`.
    pub fn logging(mut self, log: &Arc<Mutex<Vec<usize>>>) -> Counting {
        self.released_keys = Some(log.clone());
        self
    }
    pub fn set_next(&self, next: Next) {
        *self.next.lock().unwrap() = next;
    }
}

impl AllocateRelease for Counting {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        let next = std::mem::replace(&mut *self.next.lock().unwrap(), Next::Succeed);
        if let Some(delay) = self.allocate_delay {
            std::thread::sleep(delay);
        }
        match next {
            Next::Succeed => {}
            Next::Fail => return Err(Failed("allocate failed on purpose")),
            Next::Panic => panic!("allocate panicked on purpose"),
        }
        self.tracker.begin();
        let serial = self.tracker.allocations.fetch_add(1, Ordering::SeqCst);
        Ok(Item {
            key: self.key,
            serial,
            uses: 0,
        })
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        assert_eq!(item.key, self.key, "released another resource's item");
        self.tracker.releases.fetch_add(1, Ordering::SeqCst);
        if let Some(log) = &self.released_keys {
            log.lock().unwrap().push(self.key);
        }
        self.tracker.end();
        self.release_result.lock().unwrap().clone()
    }
}

/// A `Counting` whose `allocate` is pending on its first poll.
#[derive(Debug)]
pub struct SlowToAllocate(pub Counting);

impl SlowToAllocate {
    pub fn new(key: usize, tracker: &Arc<Tracker>) -> SlowToAllocate {
        SlowToAllocate(Counting::new(key, tracker))
    }
}

impl AllocateRelease for SlowToAllocate {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        futures_lite::future::yield_now().await;
        self.0.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        self.0.release(item)
    }
}

/// A `Counting` whose next `allocate` can be made to hang until its future is
/// dropped, and whose next `release` can be held until the test lets it
/// return.
#[derive(Debug)]
pub struct Gated {
    pub counting: Counting,
    hang_next_allocate: AtomicBool,
    /// Set when a hanging `allocate` future is dropped.
    hanging_allocate_dropped: Arc<AtomicBool>,
    release_gate: Mutex<Option<ReleaseGate>>,
}

/// The manager's side of a held `release`.
#[derive(Debug)]
struct ReleaseGate {
    started: mpsc::Sender<()>,
    proceed: mpsc::Receiver<()>,
}

/// The test's side of a held `release`.
#[derive(Debug)]
pub struct GateControl {
    /// Receives once the held `release` has started.
    pub started: mpsc::Receiver<()>,
    /// Lets the held `release` return.
    pub proceed: mpsc::Sender<()>,
}

impl Gated {
    pub fn new(key: usize, tracker: &Arc<Tracker>) -> Gated {
        Gated {
            counting: Counting::new(key, tracker),
            hang_next_allocate: AtomicBool::new(false),
            hanging_allocate_dropped: Arc::new(AtomicBool::new(false)),
            release_gate: Mutex::new(None),
        }
    }

    /// The next `allocate` never completes (until its future is dropped).
    pub fn hang_next_allocate(&self) {
        self.hang_next_allocate.store(true, Ordering::SeqCst);
    }

    /// Whether a hanging `allocate` future was dropped.
    pub fn hanging_allocate_dropped(&self) -> bool {
        self.hanging_allocate_dropped.load(Ordering::SeqCst)
    }

    /// The next `release` tells `started` when it starts, and waits for a
    /// message on `proceed`.
    pub fn hold_next_release(&self) -> GateControl {
        let (started, started_receiver) = mpsc::channel();
        let (proceed_sender, proceed) = mpsc::channel();
        *self.release_gate.lock().unwrap() = Some(ReleaseGate { started, proceed });
        GateControl {
            started: started_receiver,
            proceed: proceed_sender,
        }
    }
}

/// Sets its flag when dropped.
#[derive(Debug)]
pub struct SetOnDrop(pub Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl AllocateRelease for Gated {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        if self.hang_next_allocate.swap(false, Ordering::SeqCst) {
            let _dropped = SetOnDrop(self.hanging_allocate_dropped.clone());
            futures_lite::future::pending::<()>().await;
        }
        self.counting.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        let gate = self.release_gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.started.send(());
            // A test that is gone (failed) lets the release return.
            let _ = gate.proceed.recv();
        }
        self.counting.release(item)
    }
}

/// What the `release` of a `PanicOnRelease` panics with.
pub const RELEASE_PANIC: &str = "release panicked on purpose";

/// When the `release` of the `PanicOnRelease` managers sharing it panics.
#[derive(Debug, Default)]
pub struct ReleasePanic {
    /// Panics still to make.
    left: AtomicUsize,
    /// If set, only a release on this thread panics.
    thread: Mutex<Option<ThreadId>>,
    /// Releases that ran on that thread since it was set.
    ran_on_thread: AtomicUsize,
}

impl ReleasePanic {
    pub fn new() -> Arc<ReleasePanic> {
        Arc::new(ReleasePanic::default())
    }

    /// The next release panics, on whatever thread it runs.
    pub fn next(&self) {
        *self.thread.lock().unwrap() = None;
        self.left.store(1, Ordering::SeqCst);
    }

    /// The next release that runs on the calling thread panics; releases on
    /// other threads do not.
    pub fn next_on_this_thread(&self) {
        *self.thread.lock().unwrap() = Some(std::thread::current().id());
        self.ran_on_thread.store(0, Ordering::SeqCst);
        self.left.store(1, Ordering::SeqCst);
    }

    /// How many releases ran on the thread of `next_on_this_thread` since.
    pub fn ran_on_thread(&self) -> usize {
        self.ran_on_thread.load(Ordering::SeqCst)
    }

    /// Whether the release running now must panic.
    fn fires(&self) -> bool {
        if let Some(thread) = *self.thread.lock().unwrap() {
            if thread != std::thread::current().id() {
                return false;
            }
            self.ran_on_thread.fetch_add(1, Ordering::SeqCst);
        }
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// A `Counting` whose `release` panics with `RELEASE_PANIC` when its
/// `ReleasePanic` says so, after it has released the item (so the tracker
/// sees it gone, as with a real manager whose clean-up panics).
#[derive(Debug)]
pub struct PanicOnRelease {
    pub counting: Counting,
    pub panics: Arc<ReleasePanic>,
}

impl PanicOnRelease {
    /// With a `ReleasePanic` of its own.
    pub fn new(key: usize, tracker: &Arc<Tracker>) -> PanicOnRelease {
        PanicOnRelease {
            counting: Counting::new(key, tracker),
            panics: ReleasePanic::new(),
        }
    }

    /// Managers that all share `panics`, for `pool_of_max`.
    pub fn sharing(
        panics: &Arc<ReleasePanic>,
    ) -> impl Fn(usize, &Arc<Tracker>) -> PanicOnRelease + '_ {
        move |key, tracker| PanicOnRelease {
            counting: Counting::new(key, tracker),
            panics: panics.clone(),
        }
    }
}

impl AllocateRelease for PanicOnRelease {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        self.counting.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        let result = self.counting.release(item);
        if self.panics.fires() {
            panic!("{RELEASE_PANIC}");
        }
        result
    }
}

// Setup.

/// A pool of `max` with `N` resources (keys `0..N`) whose managers
/// `manager(key, &tracker)` makes, all sharing one tracker of `max`. For
/// example `pool_of_max(1, Counting::new)`.
pub fn pool_of_max<M: AllocateRelease, const N: usize>(
    max: usize,
    manager: impl Fn(usize, &Arc<Tracker>) -> M,
) -> (Pool, Arc<Tracker>, [Resource<M>; N]) {
    pool_from(Pool::builder(max), manager)
}

/// Like `pool_of_max`, for a pool built from `builder`.
pub fn pool_from<M: AllocateRelease, const N: usize>(
    builder: PoolBuilder,
    manager: impl Fn(usize, &Arc<Tracker>) -> M,
) -> (Pool, Arc<Tracker>, [Resource<M>; N]) {
    let pool = builder.build();
    let tracker = Tracker::new(pool.max());
    let resources = std::array::from_fn(|key| pool.create(manager(key, &tracker)));
    (pool, tracker, resources)
}

/// A clock for the lifecycle settings that stands still until the test moves
/// it: expiry is then exact and instant. Clones share the time.
#[derive(Clone, Debug)]
pub struct TestClock {
    start: Instant,
    /// Nanoseconds since `start`.
    elapsed: Arc<AtomicU64>,
}

impl TestClock {
    pub fn new() -> TestClock {
        TestClock {
            start: Instant::now(),
            elapsed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).expect("a test moves the clock by less");
        self.elapsed.fetch_add(nanos, Ordering::SeqCst);
    }

    /// The time now.
    pub fn now(&self) -> Instant {
        self.start + Duration::from_nanos(self.elapsed.load(Ordering::SeqCst))
    }

    /// `builder`, measuring time with this clock.
    pub fn drive(&self, builder: PoolBuilder) -> PoolBuilder {
        let clock = self.clone();
        builder.clock(move || clock.now())
    }
}

// Polling by hand.

/// Polls `future` once, with a waker that does nothing.
pub fn poll_by_hand<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls futures with a waker that counts how often it was woken.
#[derive(Debug)]
pub struct Poller {
    wakes: Arc<WakeCount>,
    waker: Waker,
}

#[derive(Debug, Default)]
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Poller {
    pub fn new() -> Poller {
        let wakes = Arc::new(WakeCount::default());
        Poller {
            waker: Waker::from(wakes.clone()),
            wakes,
        }
    }

    pub fn poll<F: Future>(&self, future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls until the future is ready or a poll leaves it pending without
    /// waking itself again (at most 4 polls): a waiter woken to look for
    /// capacity may yield once before it looks.
    pub fn poll_woken<F: Future>(&self, mut future: Pin<&mut F>) -> Poll<F::Output> {
        for _ in 0..4 {
            let wakes = self.wakes();
            match self.poll(future.as_mut()) {
                Poll::Pending if self.wakes() > wakes => continue,
                polled => return polled,
            }
        }
        Poll::Pending
    }

    /// How often the waker was woken so far.
    pub fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }
}

// Running.

/// Runs `body` on its own thread and fails the test if it takes longer than
/// `limit`: a deadlock fails, it does not hang CI.
pub fn bounded<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let value = body();
        let _ = done.send(());
        value
    });
    match result.recv_timeout(limit) {
        Ok(()) => thread.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(_) => unreachable!("the body returned without saying so"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("test did not finish within {limit:?}: deadlock or lost wakeup")
        }
    }
}

/// The default bound for one test.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs a future to completion on tokio's multi-threaded runtime, bounded.
pub fn on_tokio<F: Future + Send + 'static>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F::Output: Send + 'static,
{
    bounded(LIMIT, move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
            .block_on(make())
    })
}

/// Runs a future to completion on smol's global executor, bounded.
pub fn on_smol<F: Future + Send + 'static>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F::Output: Send + 'static,
{
    bounded(LIMIT, move || smol::block_on(make()))
}

/// Runs a future to completion on async-std, bounded.
pub fn on_async_std<F: Future + Send + 'static>(
    make: impl FnOnce() -> F + Send + 'static,
) -> F::Output
where
    F::Output: Send + 'static,
{
    bounded(LIMIT, move || async_std::task::block_on(make()))
}

/// Runs a future on the current thread with futures-lite, bounded.
pub fn on_thread<F: Future + Send + 'static>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F::Output: Send + 'static,
{
    bounded(LIMIT, move || futures_lite::future::block_on(make()))
}

/// Runs `tasks` to completion on a `smol::Executor` driven by three threads,
/// bounded by `limit`, and returns their outputs in order.
pub fn on_smol_executor<F>(limit: Duration, tasks: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    bounded(limit, move || {
        let executor = smol::Executor::new();
        let (stop, stopped) = smol::channel::unbounded::<()>();
        std::thread::scope(|scope| {
            // Dropped on the way out, panic or not: the other threads stop.
            let _stop_on_exit = stop;
            for _ in 0..2 {
                scope.spawn(|| smol::block_on(executor.run(stopped.recv())));
            }
            smol::block_on(executor.run(async {
                let handles: Vec<_> = tasks.into_iter().map(|task| executor.spawn(task)).collect();
                let mut outputs = Vec::new();
                for handle in handles {
                    outputs.push(handle.await);
                }
                outputs
            }))
        })
    })
}

/// What runs one task per resource in the Go-shaped tests.
#[derive(Clone, Copy, Debug)]
pub enum Runner {
    /// `tokio::spawn` on the multi-threaded runtime.
    Tokio,
    /// Tasks on a `smol::Executor` run by three threads.
    Smol,
    /// `async_std::task::spawn`.
    AsyncStd,
    /// One OS thread per resource, with `get_blocking`.
    Threads,
}

impl Runner {
    /// Gets `resource`: awaited on a runtime, `get_blocking` on a thread.
    pub async fn get<M: AllocateRelease>(
        self,
        resource: &Resource<M>,
    ) -> Result<resourcepool::Guard<'_, M>, resourcepool::Error<M::Error>> {
        match self {
            Runner::Threads => resource.get_blocking(),
            _ => resource.get().await,
        }
    }

    /// Lets others run: the runtime's own `yield_now` (tokio would poll a
    /// task that wakes itself again at once), or the thread's.
    pub async fn yield_now(self) {
        match self {
            Runner::Tokio => tokio::task::yield_now().await,
            Runner::Smol => futures_lite::future::yield_now().await,
            Runner::AsyncStd => async_std::task::yield_now().await,
            Runner::Threads => std::thread::yield_now(),
        }
    }

    /// Runs `task(resource, self)` for each of `resources`, each as its own
    /// task (or OS thread), and waits for all of them; fails the test if that
    /// takes longer than `limit`.
    pub fn run_each<M, F, T>(self, limit: Duration, resources: Vec<Resource<M>>, task: F)
    where
        M: AllocateRelease,
        F: Fn(Resource<M>, Runner) -> T + Send + Sync + 'static,
        T: Future<Output = ()> + Send + 'static,
    {
        match self {
            Runner::Tokio => bounded(limit, move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let handles: Vec<_> = resources
                        .into_iter()
                        .map(|resource| tokio::spawn(task(resource, self)))
                        .collect();
                    for handle in handles {
                        handle.await.expect("a task panicked");
                    }
                })
            }),
            Runner::Smol => {
                let tasks = resources.into_iter().map(|r| task(r, self)).collect();
                on_smol_executor(limit, tasks);
            }
            Runner::AsyncStd => bounded(limit, move || {
                async_std::task::block_on(async {
                    let handles: Vec<_> = resources
                        .into_iter()
                        .map(|resource| async_std::task::spawn(task(resource, self)))
                        .collect();
                    for handle in handles {
                        handle.await;
                    }
                })
            }),
            Runner::Threads => bounded(limit, move || {
                std::thread::scope(|scope| {
                    for resource in resources {
                        let task = &task;
                        scope.spawn(move || block_on(task(resource, self)));
                    }
                });
            }),
        }
    }
}

// Checks.

/// `(in_use, idle, allocating, releasing)`.
pub fn counts(stats: Stats) -> (usize, usize, usize, usize) {
    (stats.in_use, stats.idle, stats.allocating, stats.releasing)
}

/// Checks the accounting invariant once every guard is dropped: nothing in
/// use, and the pool's items are exactly those the managers see alive.
pub fn assert_quiescent(pool: &Pool, tracker: &Tracker) {
    let stats = pool.stats();
    assert_eq!(stats.in_use, 0, "{stats:?}");
    assert_eq!(
        stats.idle + stats.releasing + stats.allocating,
        tracker.live(),
        "{stats:?}"
    );
    assert!(stats.idle <= stats.max, "{stats:?}");
    tracker.assert_never_exceeded();
}

/// Checks that every one of the pool's `max` charges can be used: `max` new
/// resources are all got at once, none waiting (each takes a free charge or
/// evicts an idle item), then released.
pub fn assert_every_charge_usable(pool: &Pool, tracker: &Arc<Tracker>) {
    let max = pool.max();
    let resources: Vec<_> = (0..max)
        .map(|i| pool.create(Counting::new(1_000_000 + i, tracker)))
        .collect();
    let guards: Vec<_> = resources
        .iter()
        .enumerate()
        .map(|(i, resource)| match block_on(resource.try_get()) {
            Ok(guard) => guard,
            Err(error) => panic!(
                "charge {} of {max} is not usable: {error:?}, {:?}",
                i + 1,
                pool.stats()
            ),
        })
        .collect();
    assert_eq!(pool.stats().in_use, max);
    for guard in guards {
        guard.release().unwrap();
    }
    tracker.assert_never_exceeded();
}

// Totals.

/// The pool's totals now.
pub fn totals(pool: &Pool) -> resourcepool::Totals {
    pool.stats().totals
}

/// The totals that `set` describes (every other one zero), to compare with
/// `counts_of`.
pub fn expect(set: impl FnOnce(&mut resourcepool::Totals)) -> resourcepool::Totals {
    let mut totals = resourcepool::Totals::default();
    set(&mut totals);
    totals
}

/// The totals without `wait_time`, which no test can know exactly.
pub fn counts_of(mut totals: resourcepool::Totals) -> resourcepool::Totals {
    totals.wait_time = Duration::ZERO;
    totals
}

/// Gets `resource` with a get that must complete on its first poll.
pub fn get_now<M: AllocateRelease>(resource: &Resource<M>) -> resourcepool::Guard<'_, M> {
    match block_on(futures_lite::future::poll_once(resource.get())) {
        Some(Ok(guard)) => guard,
        Some(Err(error)) => panic!("get failed: {error:?}"),
        None => panic!("get had to wait"),
    }
}
