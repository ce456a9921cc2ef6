//! A randomized stress: many tasks over more resources than `max`, each looping
//! gets with short cancel timers, holding the guard briefly, sometimes
//! releasing it, scheduling a release, dropping the get early, or making the
//! next allocate fail.
//!
//! During the run the counting manager checks that live items never exceed
//! `max`, and the workers that no two guards of one resource exist at once. At
//! the end nothing may be in use, the pool's full capacity must be usable, and
//! dropping the resources must release every item that was allocated.
//!
//! Each worker draws its steps from a generator with a fixed seed, so a run is
//! reproducible up to the interleaving of the tasks.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    assert_quiescent, bounded, on_async_std, on_smol_executor, on_tokio, Counting, Failed, Next,
    Tracker,
};
use futures_lite::future::{block_on, or};
use resourcepool::{Error, Guard, Pool, Resource};

/// The pool's limit.
const MAX: usize = 4;
/// Resources sharing it: five times `max`.
const RESOURCES: usize = 20;
/// The longest a get waits before its timer cancels it.
const PATIENCE_MICROS: u64 = 2_000;
/// The longest a guard is held.
const HOLD_MICROS: u64 = 500;
/// How long the tasks of one scenario may take before it fails as a deadlock.
const RUN_LIMIT: Duration = Duration::from_secs(40);

/// The resources, and which of them a worker holds a guard of.
struct Arena {
    pool: Pool,
    tracker: Arc<Tracker>,
    resources: Vec<Resource<Counting>>,
    held: Vec<AtomicBool>,
}

impl Arena {
    fn new() -> Arc<Arena> {
        let tracker = Tracker::new(MAX);
        let pool = Pool::new(MAX);
        let resources = (0..RESOURCES)
            .map(|key| pool.create(Counting::new(key, &tracker)))
            .collect();
        let held = (0..RESOURCES).map(|_| AtomicBool::new(false)).collect();
        Arc::new(Arena {
            pool,
            tracker,
            resources,
            held,
        })
    }
}

/// How a step waits for its get.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// `get` (or `get_blocking`): no cancel.
    Patiently,
    /// `get_or_cancel` with a timer.
    UntilTimer,
    /// `get`, raced against a timer: the get future is dropped if it loses.
    DroppedByTimer,
}

/// What a step does with the guard it got.
#[derive(Clone, Copy, Debug)]
enum Ending {
    Put,
    Release,
    ScheduleReleaseThenPut,
}

/// One iteration of a worker, drawn at random.
#[derive(Clone, Copy, Debug)]
struct Step {
    resource: usize,
    wait: Wait,
    patience: Duration,
    hold: Duration,
    ending: Ending,
    /// Make the next allocate of this step's resource fail.
    fail_allocate: bool,
    /// Call `schedule_release` on this resource first (idle: released now).
    schedule_release: Option<usize>,
}

impl Step {
    fn draw(rng: &mut fastrand::Rng) -> Step {
        Step {
            resource: rng.usize(..RESOURCES),
            wait: match rng.u8(..10) {
                0 => Wait::Patiently,
                1 | 2 => Wait::DroppedByTimer,
                _ => Wait::UntilTimer,
            },
            patience: Duration::from_micros(rng.u64(0..=PATIENCE_MICROS)),
            hold: Duration::from_micros(rng.u64(0..=HOLD_MICROS)),
            ending: match rng.u8(..8) {
                0 => Ending::Release,
                1 => Ending::ScheduleReleaseThenPut,
                _ => Ending::Put,
            },
            fail_allocate: rng.u8(..10) == 0,
            schedule_release: (rng.u8(..10) == 0).then(|| rng.usize(..RESOURCES)),
        }
    }

    /// Arms the step's failure and scheduled release, and returns its resource.
    fn prepare(self, arena: &Arena) -> &Resource<Counting> {
        let resource = &arena.resources[self.resource];
        if self.fail_allocate {
            resource.manager().set_next(Next::Fail);
        }
        if let Some(other) = self.schedule_release {
            arena.resources[other]
                .schedule_release()
                .expect("release never fails here");
        }
        resource
    }

    /// Ends the step's hold on `guard`.
    fn end(self, arena: &Arena, guard: Guard<'_, Counting>) {
        let resource = &arena.resources[self.resource];
        let was_held = arena.held[self.resource].swap(false, Ordering::SeqCst);
        assert!(
            was_held,
            "the held flag of resource {} was lost",
            self.resource
        );
        match self.ending {
            Ending::Put => drop(guard),
            Ending::Release => guard.release().expect("release never fails here"),
            Ending::ScheduleReleaseThenPut => {
                resource.schedule_release().expect("held: armed, not run");
                drop(guard);
            }
        }
    }
}

/// What the gets of one or more workers ended in.
#[derive(Clone, Copy, Debug, Default)]
struct Outcomes {
    got: usize,
    put_timeouts: usize,
    limits_exceeded: usize,
    allocate_errors: usize,
    dropped: usize,
}

impl Outcomes {
    /// Counts the outcome of `step`'s get (`None`: dropped by its timer) and
    /// passes a guard on, after checking that it is the only one of its
    /// resource and holds that resource's item.
    fn record<'a>(
        &mut self,
        arena: &Arena,
        step: Step,
        got: Option<Result<Guard<'a, Counting>, Error<Failed>>>,
    ) -> Option<Guard<'a, Counting>> {
        match got {
            Some(Ok(mut guard)) => {
                self.got += 1;
                assert_eq!(guard.key, step.resource, "got another resource's item");
                let was_held = arena.held[step.resource].swap(true, Ordering::SeqCst);
                assert!(!was_held, "two guards of resource {}", step.resource);
                guard.uses += 1;
                return Some(guard);
            }
            Some(Err(Error::PutTimeout)) => self.put_timeouts += 1,
            Some(Err(Error::ResourceLimitExceeded)) => self.limits_exceeded += 1,
            Some(Err(Error::Allocate(Failed(_)))) => self.allocate_errors += 1,
            Some(Err(error)) => panic!("unexpected error: {error:?}"),
            None => self.dropped += 1,
        }
        None
    }

    fn steps(&self) -> usize {
        self.got + self.put_timeouts + self.limits_exceeded + self.allocate_errors + self.dropped
    }

    fn add(mut self, other: Outcomes) -> Outcomes {
        self.got += other.got;
        self.put_timeouts += other.put_timeouts;
        self.limits_exceeded += other.limits_exceeded;
        self.allocate_errors += other.allocate_errors;
        self.dropped += other.dropped;
        self
    }
}

/// A runtime's timer.
trait Timer {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
}

struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// `async_io::Timer`, through smol.
struct SmolTimer;

impl Timer for SmolTimer {
    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }
}

struct AsyncStdTimer;

impl Timer for AsyncStdTimer {
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(duration)
    }
}

/// One task of the stress: `steps` random steps, drawn from `seed`.
async fn worker<T: Timer>(arena: Arc<Arena>, seed: u64, steps: usize) -> Outcomes {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut outcomes = Outcomes::default();
    for _ in 0..steps {
        let step = Step::draw(&mut rng);
        let resource = step.prepare(&arena);
        let got = match step.wait {
            Wait::Patiently => Some(resource.get().await),
            Wait::UntilTimer => Some(resource.get_or_cancel(T::sleep(step.patience)).await),
            Wait::DroppedByTimer => {
                or(async { Some(resource.get().await) }, async {
                    T::sleep(step.patience).await;
                    None
                })
                .await
            }
        };
        if let Some(guard) = outcomes.record(&arena, step, got) {
            T::sleep(step.hold).await;
            step.end(&arena, guard);
        }
    }
    outcomes
}

/// `worker` on an OS thread: `get_blocking` for patient gets, and smol's
/// `block_on` with its timer for the others.
fn worker_blocking(arena: &Arena, seed: u64, steps: usize) -> Outcomes {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut outcomes = Outcomes::default();
    for _ in 0..steps {
        let step = Step::draw(&mut rng);
        let resource = step.prepare(arena);
        let got = match step.wait {
            Wait::Patiently => Some(resource.get_blocking()),
            Wait::UntilTimer => Some(smol::block_on(
                resource.get_or_cancel(SmolTimer::sleep(step.patience)),
            )),
            Wait::DroppedByTimer => {
                smol::block_on(or(async { Some(resource.get().await) }, async {
                    SmolTimer::sleep(step.patience).await;
                    None
                }))
            }
        };
        if let Some(guard) = outcomes.record(arena, step, got) {
            std::thread::sleep(step.hold);
            step.end(arena, guard);
        }
    }
    outcomes
}

/// The end of every scenario: nothing in use, the accounting exact, the full
/// capacity usable with plain gets, and every item released once the
/// resources are dropped.
fn assert_nothing_lost(arena: Arc<Arena>, outcomes: Outcomes, steps: usize) {
    assert_eq!(outcomes.steps(), steps, "{outcomes:?}");
    assert!(outcomes.got > 0, "no get ever succeeded: {outcomes:?}");
    bounded(RUN_LIMIT, move || {
        let Arena {
            pool,
            tracker,
            resources,
            held,
        } = Arc::into_inner(arena).expect("every worker is done");
        assert!(held.iter().all(|held| !held.load(Ordering::SeqCst)));
        assert_eq!(pool.stats().in_use, 0, "{:?}", pool.stats());
        assert_quiescent(&pool, &tracker);

        // A failure armed by a step whose get did not allocate is still there.
        for resource in &resources {
            resource.manager().set_next(Next::Succeed);
        }
        let guards: Vec<_> = resources[..MAX]
            .iter()
            .map(|resource| block_on(resource.get()).expect("allocate succeeds now"))
            .collect();
        assert_eq!(pool.stats().in_use, MAX, "{:?}", pool.stats());
        assert_eq!(tracker.live(), MAX);
        drop(guards);
        assert_quiescent(&pool, &tracker);

        drop(resources);
        assert_eq!(tracker.live(), 0, "dropping the resources left items alive");
        assert_eq!(tracker.releases(), tracker.allocations());
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.idle, stats.releasing), (0, 0, 0));
    });
}

/// The seed of worker `index`.
fn seed(index: usize) -> u64 {
    0x5EED_0000 + index as u64
}

#[test]
fn tokio_64_tasks_over_20_resources_of_max_4() {
    const TASKS: usize = 64;
    const STEPS: usize = 400;
    let arena = Arena::new();
    let tasks_arena = arena.clone();
    let outcomes = on_tokio(move || async move {
        let handles: Vec<_> = (0..TASKS)
            .map(|index| {
                tokio::spawn(worker::<TokioTimer>(
                    tasks_arena.clone(),
                    seed(index),
                    STEPS,
                ))
            })
            .collect();
        let mut outcomes = Outcomes::default();
        for handle in handles {
            outcomes = outcomes.add(handle.await.expect("a worker panicked"));
        }
        outcomes
    });
    assert_nothing_lost(arena, outcomes, TASKS * STEPS);
}

/// Tasks and steps of the scenarios on smol, async-std and OS threads.
const SMALL_TASKS: usize = 16;
const SMALL_STEPS: usize = 200;

#[test]
fn smol_16_tasks_over_20_resources_of_max_4() {
    let arena = Arena::new();
    let tasks = (0..SMALL_TASKS)
        .map(|index| worker::<SmolTimer>(arena.clone(), seed(index), SMALL_STEPS))
        .collect();
    let outcomes = on_smol_executor(RUN_LIMIT, tasks)
        .into_iter()
        .fold(Outcomes::default(), Outcomes::add);
    assert_nothing_lost(arena, outcomes, SMALL_TASKS * SMALL_STEPS);
}

#[test]
fn async_std_16_tasks_over_20_resources_of_max_4() {
    let arena = Arena::new();
    let tasks_arena = arena.clone();
    let outcomes = on_async_std(move || async move {
        let handles: Vec<_> = (0..SMALL_TASKS)
            .map(|index| {
                async_std::task::spawn(worker::<AsyncStdTimer>(
                    tasks_arena.clone(),
                    seed(index),
                    SMALL_STEPS,
                ))
            })
            .collect();
        let mut outcomes = Outcomes::default();
        for handle in handles {
            outcomes = outcomes.add(handle.await);
        }
        outcomes
    });
    assert_nothing_lost(arena, outcomes, SMALL_TASKS * SMALL_STEPS);
}

#[test]
fn os_threads_16_blocking_workers_over_20_resources_of_max_4() {
    let arena = Arena::new();
    let threads_arena = arena.clone();
    let outcomes = bounded(RUN_LIMIT, move || {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..SMALL_TASKS)
                .map(|index| {
                    let arena = &threads_arena;
                    scope.spawn(move || worker_blocking(arena, seed(index), SMALL_STEPS))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a worker panicked"))
                .fold(Outcomes::default(), Outcomes::add)
        })
    });
    assert_nothing_lost(arena, outcomes, SMALL_TASKS * SMALL_STEPS);
}
