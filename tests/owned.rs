//! `Guard::into_owned`: an `OwnedGuard` takes over the hold as it is, moves
//! into a task on any runtime or another thread, keeps its resource and pool
//! alive, and its drop and `release` are those of a `Guard`.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::thread::{self, ThreadId};

use common::{
    assert_quiescent, bounded, counts, on_async_std, on_smol, on_thread, on_tokio, poll_by_hand,
    pool_of_max, Counting, Failed, Item, LIMIT,
};
use futures_lite::future::{block_on, poll_once};
use resourcepool::{AllocateRelease, OwnedGuard};

/// A runtime's (or OS threads') way to run a test and spawn a task onto
/// another thread.
trait Spawn {
    /// Runs the test's future on this runtime, bounded.
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `task`; the returned future waits for its output.
    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send;
}

/// tokio's multi-threaded runtime, `tokio::spawn`.
struct Tokio;

impl Spawn for Tokio {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_tokio(make)
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        let handle = tokio::spawn(task);
        async move {
            match handle.await {
                Ok(output) => output,
                Err(error) => std::panic::resume_unwind(error.into_panic()),
            }
        }
    }
}

/// smol's global executor, `smol::spawn`.
struct Smol;

impl Spawn for Smol {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_smol(make)
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        smol::spawn(task)
    }
}

/// async-std, `async_std::task::spawn`.
struct AsyncStd;

impl Spawn for AsyncStd {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_async_std(make)
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        async_std::task::spawn(task)
    }
}

/// OS threads: `std::thread::spawn`, each blocking on its future.
struct OsThread;

impl Spawn for OsThread {
    fn run<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        on_thread(make)
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        let handle = thread::spawn(move || block_on(task));
        async move {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }
    }
}

/// Uses the item on the task's thread; returns that thread.
fn use_item(item: &mut Item) -> ThreadId {
    item.uses += 1;
    thread::current().id()
}

// Scenarios, each run on every runtime below.

/// Dropped in the task, the owned guard puts: the item stays allocated and
/// idle, and the next get reuses it.
async fn a_put_in_a_task_keeps_the_item_for_the_next_get<S: Spawn>() {
    let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
    let mut owned = resource.get().await.unwrap().into_owned();
    let used_on = S::spawn(async move {
        let used_on = use_item(&mut owned);
        drop(owned);
        used_on
    })
    .await;
    assert_ne!(used_on, thread::current().id(), "used on another thread");
    assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
    assert!(resource.is_allocated());
    let guard = resource.get().await.unwrap();
    assert_eq!(
        (guard.serial, guard.uses),
        (0, 1),
        "the same item, used once"
    );
    drop(guard);
    assert_eq!((tracker.allocations(), tracker.releases()), (1, 0));
    assert_quiescent(&pool, &tracker);
}

/// Released in the task, the item is gone and the next get allocates afresh.
async fn a_release_in_a_task_makes_the_next_get_allocate_afresh<S: Spawn>() {
    let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
    let mut owned = resource.get().await.unwrap().into_owned();
    let used_on = S::spawn(async move {
        let used_on = use_item(&mut owned);
        owned.release().unwrap();
        used_on
    })
    .await;
    assert_ne!(used_on, thread::current().id(), "used on another thread");
    assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
    assert!(!resource.is_allocated());
    assert_eq!((tracker.allocations(), tracker.releases()), (1, 1));
    let guard = resource.get().await.unwrap();
    assert_eq!((guard.serial, guard.uses), (1, 0), "a fresh item");
    drop(guard);
    assert_quiescent(&pool, &tracker);
}

/// With the resource's handle and the pool dropped first, the owned guard
/// keeps both alive; its drop puts, then drops the last handle, which
/// releases the idle item.
async fn an_owned_guard_keeps_its_resource_and_pool_alive<S: Spawn>() {
    let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
    let mut owned = resource.get().await.unwrap().into_owned();
    drop(resource);
    drop(pool);
    let pool = S::spawn(async move {
        assert!(owned.resource().is_allocated());
        assert_eq!(counts(owned.resource().pool().stats()), (1, 0, 0, 0));
        use_item(&mut owned);
        // Taken from the guard, to check the pool once the guard is gone.
        let pool = owned.resource().pool().clone();
        drop(owned);
        pool
    })
    .await;
    assert_eq!((tracker.allocations(), tracker.releases()), (1, 1));
    assert_eq!(tracker.live(), 0);
    assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
    assert_quiescent(&pool, &tracker);
}

/// While the owned guard is out, another get of the resource waits; the
/// owned guard's put hands it the hold and the item.
async fn a_get_waits_for_an_owned_guard_and_takes_its_item<S: Spawn>() {
    let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
    let mut owned = resource.get().await.unwrap().into_owned();
    let clone = resource.clone();
    let mut waiting = pin!(clone.get());
    assert!(
        poll_once(waiting.as_mut()).await.is_none(),
        "the hold is taken"
    );
    S::spawn(async move {
        use_item(&mut owned);
        drop(owned);
    })
    .await;
    let guard = waiting.await.unwrap();
    assert_eq!(
        (guard.serial, guard.uses),
        (0, 1),
        "the same item, used once"
    );
    drop(guard);
    assert_eq!((tracker.allocations(), tracker.releases()), (1, 0));
    assert_quiescent(&pool, &tracker);
}

/// Owned guards of several resources, each moved into its own task, over a
/// pool of fewer charges: each task gets, goes owned, and hands the guard
/// to a task of its own.
async fn owned_guards_in_many_tasks_share_a_small_pool<S: Spawn>() {
    let (pool, tracker, resources) = pool_of_max::<_, 6>(2, Counting::new);
    let mut tasks = Vec::new();
    for resource in resources.iter().cycle().take(24).cloned() {
        tasks.push(S::spawn(async move {
            let mut owned = resource.get().await.unwrap().into_owned();
            drop(resource);
            S::spawn(async move {
                use_item(&mut owned);
                if owned.serial % 3 == 0 {
                    owned.release().unwrap();
                }
            })
            .await;
        }));
    }
    for task in tasks {
        task.await;
    }
    tracker.assert_never_exceeded();
    assert_quiescent(&pool, &tracker);
}

macro_rules! on_every_runtime {
    ($($scenario:ident),* $(,)?) => {
        mod tokio_task {
            $( #[test] fn $scenario() { <super::Tokio as super::Spawn>::run(super::$scenario::<super::Tokio>) } )*
        }
        mod smol_task {
            $( #[test] fn $scenario() { <super::Smol as super::Spawn>::run(super::$scenario::<super::Smol>) } )*
        }
        mod async_std_task {
            $( #[test] fn $scenario() { <super::AsyncStd as super::Spawn>::run(super::$scenario::<super::AsyncStd>) } )*
        }
        mod os_thread {
            $( #[test] fn $scenario() { <super::OsThread as super::Spawn>::run(super::$scenario::<super::OsThread>) } )*
        }
    };
}

on_every_runtime!(
    a_put_in_a_task_keeps_the_item_for_the_next_get,
    a_release_in_a_task_makes_the_next_get_allocate_afresh,
    an_owned_guard_keeps_its_resource_and_pool_alive,
    a_get_waits_for_an_owned_guard_and_takes_its_item,
    owned_guards_in_many_tasks_share_a_small_pool,
);

// Without a runtime.

#[test]
fn into_owned_neither_puts_nor_allocates_nor_releases() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let mut guard = block_on(resource.get()).unwrap();
        guard.uses = 7;
        let before = (
            counts(pool.stats()),
            tracker.allocations(),
            tracker.releases(),
        );
        let mut owned = guard.into_owned();
        assert_eq!(
            (
                counts(pool.stats()),
                tracker.allocations(),
                tracker.releases()
            ),
            before
        );
        assert_eq!(before, ((1, 0, 0, 0), 1, 0));
        assert_eq!(
            (owned.serial, owned.uses),
            (0, 7),
            "the same item, untouched"
        );
        owned.uses += 1;
        // Still held: a get waits.
        let mut waiting = pin!(resource.get());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        drop(owned);
        let guard = block_on(waiting).unwrap();
        assert_eq!((guard.serial, guard.uses), (0, 8));
        drop(guard);
        assert_eq!((tracker.allocations(), tracker.releases()), (1, 0));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_owned_guard_from_a_handle_of_a_clone_serves_every_handle() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let clone = resource.clone();
        let owned = block_on(clone.get()).unwrap().into_owned();
        drop(clone);
        assert!(owned.resource().is_allocated());
        drop(owned);
        assert!(
            resource.is_allocated(),
            "a put, not a release: a handle is left"
        );
        assert_eq!(block_on(resource.get()).unwrap().serial, 0);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_owned_guard_holding_the_last_handle_releases_nothing_more_on_release() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let owned = block_on(resource.get()).unwrap().into_owned();
        drop(resource);
        owned.release().unwrap();
        assert_eq!((tracker.allocations(), tracker.releases()), (1, 1));
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_owned_guard_shows_its_item_in_debug() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let owned = block_on(resource.get()).unwrap().into_owned();
        assert_eq!(
            format!("{owned:?}"),
            "OwnedGuard { item: Item { key: 0, serial: 0, uses: 0 } }"
        );
        drop(owned);
        assert_quiescent(&pool, &tracker);
    });
}

// Compile-time checks.

fn assert_send_static<T: Send + 'static>() {}
fn assert_sync<T: Sync>() {}

/// A `Counting` whose item is `Send` but not `Sync`.
struct Unshared(Counting);

impl AllocateRelease for Unshared {
    type Item = (Item, Cell<u32>);
    type Error = Failed;

    async fn allocate(&self) -> Result<(Item, Cell<u32>), Failed> {
        Ok((self.0.allocate().await?, Cell::new(0)))
    }

    fn release(&self, (item, _): (Item, Cell<u32>)) -> Result<(), Failed> {
        self.0.release(item)
    }
}

#[test]
fn an_owned_guard_is_send_and_static_for_a_send_item() {
    assert_send_static::<OwnedGuard<Counting>>();
    assert_sync::<OwnedGuard<Counting>>();
    // Send without Sync, as `Guard` is for such an item.
    assert_send_static::<OwnedGuard<Unshared>>();

    bounded(LIMIT, || {
        let (pool, tracker, [resource]) =
            pool_of_max(1, |key, tracker| Unshared(Counting::new(key, tracker)));
        let owned = block_on(resource.get()).unwrap().into_owned();
        let used = thread::spawn(move || {
            owned.1.set(owned.1.get() + 1);
            owned.1.get()
        })
        .join()
        .unwrap();
        assert_eq!(used, 1);
        assert_eq!(block_on(resource.get()).unwrap().1.get(), 1);
        assert_quiescent(&pool, &tracker);
    });
}
