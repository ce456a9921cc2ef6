//! Shared by the integration tests: a manager that counts live items and
//! checks them against `max`, runtime wrappers, and a time bound.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resourcepool::AllocateRelease;

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

/// Checks the accounting invariant once every guard is dropped: nothing in
/// use, and the pool's items are exactly those the managers see alive.
pub fn assert_quiescent(pool: &resourcepool::Pool, tracker: &Tracker) {
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
