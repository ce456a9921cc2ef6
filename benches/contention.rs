//! S2, S5 and S6: many tasks on tokio's multi-threaded runtime, one worker
//! thread per core, or as many as the environment variable
//! `RESOURCEPOOL_BENCH_THREADS` says (`RESOURCEPOOL_BENCH_THREADS=4 cargo
//! bench --bench contention`). S3 and S4: that many tasks, each on a thread
//! of its own. The summary gives the thread count, the cores busy per worker
//! thread, and whether the cores free sufficed for the threads.
//!
//! - S2, the Go tests' shapes: max 10, N resources (N in 9, 10, 11, 113), one
//!   task per resource, 20,000 get+put cycles each. Peers: both semaphores
//!   (10 permits), deadpool (10 objects), the Go port.
//! - S3, eviction churn: max 10, 1,000 resources, one task per core, each
//!   getting and putting resources in a fixed-seed pseudo-random order, so
//!   most gets evict. Against the Go port; CPU use is reported. Each task
//!   runs on a thread of its own (a tokio current-thread runtime each), so
//!   that every task has a core: on the shared runtime, tokio ran the Go
//!   port's tasks, which never wait, largely one after the other. Runs are
//!   long (200,000 gets per task) so that both threads contend throughout:
//!   in short runs the port's unfair mutex lets one thread run alone while
//!   the other sleeps, which measures one core, not two.
//! - S4, scale: S3 with 1,000,000 resources; heap bytes per resource reported.
//! - S5, oversubscription: max 4 (4 permits, 4 objects), 64 tasks each on its
//!   own resource, get / yield / put; wait percentiles, the longest wait and
//!   the spread of the tasks' completion times reported. Every get's wait and
//!   every task's completion time of the recorded run go to
//!   `<criterion>/S5_oversubscribed/waits-<system>.json` (for `chart.sh`).
//! - S6, reuse under pressure: the Go tests' shape over max 10 with N in 11,
//!   113, one task per resource, get / yield / put, so that gets wait for
//!   capacity; this crate with the default `handoff_after` and with
//!   `Duration::ZERO` (a hand-off on every put while a get waits), and the Go
//!   port. The fraction of gets that allocated is reported beside the time.
//!
//! One criterion iteration is one whole run (spawn the tasks, join them all);
//! criterion's throughput is in gets per second.

mod common;
mod go_port;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    busy_description, deadpool_of, note, note_cores_free, print_summary, ran, run_tasks,
    run_tasks_on_threads, runtime, threads, threads_description, Comparison, Counted, CpuUse, Get,
    Trivial, ASYNC_LOCK, DEADPOOL, GO_PORT, THIS_CRATE, TOKIO,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use tokio::runtime::Runtime;

const S2_GROUP: &str = "S2_go_shapes";
const S2_MAX: usize = 10;
const S2_RESOURCES: [usize; 4] = [9, 10, 11, 113];
const S2_CYCLES: usize = 20_000;

const S3_GROUP: &str = "S3_eviction_churn";
const S4_GROUP: &str = "S4_scale";
const CHURN_MAX: usize = 10;
const S3_RESOURCES: usize = 1_000;
const S4_RESOURCES: usize = 1_000_000;
/// Gets per task per run in S3 and S4.
const CHURN_CYCLES: usize = 200_000;
const SEED: u64 = 0x5eed;

const S5_GROUP: &str = "S5_oversubscribed";
const S5_MAX: usize = 4;
const S5_TASKS: usize = 64;
/// Gets per task per run in S5.
const S5_CYCLES: usize = 200;

const S6_GROUP: &str = "S6_reuse_under_pressure";
const S6_MAX: usize = 10;
const S6_RESOURCES: [usize; 2] = [11, 113];
/// Gets per task per run in S6.
const S6_CYCLES: usize = 1_000;
/// This crate with `handoff_after(Duration::ZERO)`: strict FIFO, every put
/// hands its charge to a waiting get.
const THIS_CRATE_HANDOFF_ZERO: &str = "resourcepool-handoff-0";
/// At N = 11, with the default `handoff_after`, at most this fraction of the
/// gets may allocate (SPEC.md).
const S6_ALLOCATION_TARGET: f64 = 0.10;

/// Counts the heap bytes and blocks allocated while `COUNTING` is set (only
/// while S4 creates its resources, on one thread): one relaxed load otherwise.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static HEAP_BYTES: AtomicIsize = AtomicIsize::new(0);
static HEAP_BLOCKS: AtomicIsize = AtomicIsize::new(0);

fn count_heap(bytes: isize, blocks: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        HEAP_BYTES.fetch_add(bytes, Ordering::Relaxed);
        HEAP_BLOCKS.fetch_add(blocks, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; counting only reads
// the layouts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_heap(layout.size() as isize, 1);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_heap(layout.size() as isize, 1);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_heap(-(layout.size() as isize), -1);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_heap(new_size as isize - layout.size() as isize, 0);
        // SAFETY: as for `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Heap bytes and blocks allocated, net, per resource while `body` ran (on
/// this thread; other threads must not allocate meanwhile).
fn heap_per_resource<T>(resources: usize, body: impl FnOnce() -> T) -> (T, f64, f64) {
    let (bytes, blocks) = (
        HEAP_BYTES.load(Ordering::Relaxed),
        HEAP_BLOCKS.load(Ordering::Relaxed),
    );
    COUNTING.store(true, Ordering::Relaxed);
    let value = body();
    COUNTING.store(false, Ordering::Relaxed);
    let per_resource = |now: &AtomicIsize, before: isize| {
        (now.load(Ordering::Relaxed) - before) as f64 / resources as f64
    };
    (
        value,
        per_resource(&HEAP_BYTES, bytes),
        per_resource(&HEAP_BLOCKS, blocks),
    )
}

/// What the runs of one benchmark did, for the figures besides time.
struct Runs {
    /// Criterion iterations run (warm-up included).
    count: u64,
    cpu: CpuUse,
}

/// One benchmark of S2..S5: where criterion files it, and what one iteration
/// (one run) does.
struct Shape<'a> {
    group: &'a str,
    system: &'a str,
    /// The N of S2.
    parameter: Option<usize>,
    /// Gets in one run.
    gets: u64,
    tasks: usize,
    /// Where the tasks run.
    placement: Placement,
}

/// Where a scenario's tasks run.
#[derive(Clone, Copy)]
enum Placement {
    /// All on the multi-threaded runtime.
    Shared,
    /// Each on a thread of its own (see `run_tasks_on_threads`).
    ThreadEach,
}

/// Benchmarks one shape: criterion times runs of `shape.tasks` tasks, task
/// `index` made by `task(&state, index)`. `prepare` makes the state on the
/// first call (so that a benchmark a filter skips builds nothing). Returns
/// what the runs did and the state, or `None` if a filter skipped it.
fn bench_runs<S, F, Fut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    shape: Shape<'_>,
    prepare: impl FnOnce() -> S,
    task: F,
) -> Option<(Runs, S)>
where
    F: Fn(&S, usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (id, path) = match shape.parameter {
        Some(n) => (
            BenchmarkId::new(shape.system, n),
            format!("{}/{n}", shape.system),
        ),
        None => (
            BenchmarkId::from_parameter(shape.system),
            shape.system.to_owned(),
        ),
    };
    let mut runs = Runs {
        count: 0,
        cpu: CpuUse::default(),
    };
    let mut prepare = Some(prepare);
    let mut state = None;
    group.throughput(Throughput::Elements(shape.gets));
    group.bench_function(id, |bencher| {
        ran(shape.group, &path, shape.gets);
        let state = state.get_or_insert_with(|| prepare.take().expect("prepared once")());
        bencher.iter_custom(|iterations| {
            runs.count += iterations;
            runs.cpu.measure(|| {
                (0..iterations)
                    .map(|_| match shape.placement {
                        Placement::Shared => {
                            run_tasks(runtime, shape.tasks, |index| task(state, index))
                        }
                        Placement::ThreadEach => {
                            run_tasks_on_threads(shape.tasks, |index| task(state, index))
                        }
                    })
                    .sum()
            })
        });
    });
    Some((runs, state?))
}

/// `cycles` get+put cycles.
async fn get_put<A: Get>(handle: A, cycles: usize) {
    for _ in 0..cycles {
        let output = handle.get().await;
        assert!(A::succeeded(&output), "a get failed");
        drop(output);
    }
}

/// `cycles` get+put cycles of resources picked by a pseudo-random sequence.
async fn churn<A: Get>(handles: Arc<Vec<A>>, seed: u64, cycles: usize) {
    let mut random = fastrand::Rng::with_seed(seed);
    for _ in 0..cycles {
        let handle = &handles[random.usize(..handles.len())];
        let output = handle.get().await;
        assert!(A::succeeded(&output), "a get failed");
        drop(output);
    }
}

/// Per-get waits and per-task completion times of one S5 run.
struct Timeline {
    start: Instant,
    waits: Mutex<Vec<Duration>>,
    completions: Mutex<Vec<Duration>>,
}

/// `cycles` times: get, yield to the scheduler, put. Records its waits and
/// completion in `timeline` if there is one.
async fn get_yield_put<A: Get>(handle: A, cycles: usize, timeline: Option<Arc<Timeline>>) {
    let mut waits = Vec::with_capacity(if timeline.is_some() { cycles } else { 0 });
    for _ in 0..cycles {
        let asked = timeline.as_ref().map(|_| Instant::now());
        let guard = handle.get().await;
        assert!(A::succeeded(&guard), "a get failed");
        if let Some(asked) = asked {
            waits.push(asked.elapsed());
        }
        tokio::task::yield_now().await;
        drop(guard);
    }
    if let Some(timeline) = timeline {
        timeline
            .completions
            .lock()
            .unwrap()
            .push(timeline.start.elapsed());
        timeline.waits.lock().unwrap().extend(waits);
    }
}

/// The allocations the managers counted and the gets made, over all the runs
/// of one benchmark (each task made `cycles` gets per run).
fn allocated(managers: &[Counted], runs: &Runs, cycles: usize) -> (usize, u64) {
    let allocations = managers
        .iter()
        .map(|manager| manager.allocations.load(Ordering::Relaxed))
        .sum();
    (allocations, runs.count * (managers.len() * cycles) as u64)
}

/// Notes the fraction of S2's gets that allocated (the managers count their
/// allocations), and the CPU use.
fn note_allocations(system: &str, managers: &[Counted], runs: &Runs) {
    let resources = managers.len();
    let (allocations, gets) = allocated(managers, runs, S2_CYCLES);
    note(format!(
        "S2 N={resources} {system}: {allocations} of {gets} gets allocated ({:.4}%); {}",
        allocations as f64 * 100.0 / gets as f64,
        busy_description(&runs.cpu)
    ));
}

/// S2 for one system and one N: task `index` gets and puts `handles[index]`
/// of what `prepare` made (with the managers whose allocations it counts).
fn s2_system<A: Get>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    system: &str,
    resources: usize,
    prepare: impl FnOnce() -> (Vec<A>, Vec<Counted>),
) {
    let shape = Shape {
        group: S2_GROUP,
        system,
        parameter: Some(resources),
        gets: (resources * S2_CYCLES) as u64,
        tasks: resources,
        placement: Placement::Shared,
    };
    let benched = bench_runs(group, runtime, shape, prepare, |(handles, _), index| {
        get_put(handles[index].clone(), S2_CYCLES)
    });
    if let Some((runs, (_, managers))) = benched {
        if !managers.is_empty() {
            note_allocations(system, &managers, &runs);
        }
    }
}

/// `resources` resources of this crate or the Go port, made by `create`
/// with managers that count their allocations.
fn counted<R>(resources: usize, create: impl Fn(Counted) -> R) -> (Vec<R>, Vec<Counted>) {
    let managers: Vec<Counted> = (0..resources).map(|_| Counted::default()).collect();
    let handles = managers.iter().map(|m| create(m.clone())).collect();
    (handles, managers)
}

/// A group of S2..S5: flat sampling (every sample runs the same number of
/// whole runs), 10 samples, short warm-up and measurement (criterion takes
/// longer where 10 runs do not fit).
fn group<'c>(criterion: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = criterion.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group
}

fn s2(criterion: &mut Criterion, runtime: &Runtime) {
    let mut group = group(criterion, S2_GROUP);
    for n in S2_RESOURCES {
        s2_system(&mut group, runtime, THIS_CRATE, n, || {
            let pool = resourcepool::Pool::new(S2_MAX);
            counted(n, |manager| pool.create(manager))
        });
        s2_system(&mut group, runtime, GO_PORT, n, || {
            let pool = go_port::Pool::new(S2_MAX);
            counted(n, |manager| pool.create(manager))
        });
        s2_system(&mut group, runtime, ASYNC_LOCK, n, || {
            let semaphore = Arc::new(async_lock::Semaphore::new(S2_MAX));
            (vec![semaphore; n], Vec::new())
        });
        s2_system(&mut group, runtime, TOKIO, n, || {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(S2_MAX));
            (vec![semaphore; n], Vec::new())
        });
        s2_system(&mut group, runtime, DEADPOOL, n, || {
            (vec![deadpool_of(S2_MAX); n], Vec::new())
        });
    }
}

/// S3 or S4 for one system: `threads()` tasks, each on a thread of its own
/// (`Placement::ThreadEach`) and with its own seed, over the resources
/// `prepare` makes.
fn churn_system<A: Get>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    group_name: &str,
    system: &str,
    prepare: impl FnOnce() -> Vec<A>,
) {
    let tasks = threads();
    let shape = Shape {
        group: group_name,
        system,
        parameter: None,
        gets: (tasks * CHURN_CYCLES) as u64,
        tasks,
        placement: Placement::ThreadEach,
    };
    let prepare = || Arc::new(prepare());
    let benched = bench_runs(group, runtime, shape, prepare, |handles, index| {
        churn(Arc::clone(handles), SEED + index as u64, CHURN_CYCLES)
    });
    if let Some((runs, handles)) = benched {
        note(format!(
            "{group_name} {system} ({} resources, {tasks} tasks): {}",
            handles.len(),
            busy_description(&runs.cpu)
        ));
    }
}

/// S4's resources: creates them, then gets and puts each once (so that each
/// has allocated, been evicted and released), and notes the heap per
/// resource after each step.
fn s4_resources<A: Get>(system: &str, handle_size: usize, create: impl Fn() -> A) -> Vec<A> {
    let mut handles = Vec::with_capacity(S4_RESOURCES);
    let ((), created, blocks) = heap_per_resource(S4_RESOURCES, || {
        handles.extend((0..S4_RESOURCES).map(|_| create()));
    });
    let ((), used, _) = heap_per_resource(S4_RESOURCES, || {
        futures_lite::future::block_on(async {
            for handle in &handles {
                let output = handle.get().await;
                assert!(A::succeeded(&output), "a get failed");
            }
        });
    });
    note(format!(
        "S4 {system}: {created:.1} heap bytes in {blocks:.2} blocks per resource when \
         created, {:.1} after each was got and put once (trivial manager and item, both \
         zero-sized), plus its {handle_size}-byte handle",
        created + used
    ));
    handles
}

fn s3_s4(criterion: &mut Criterion, runtime: &Runtime) {
    let mut group = group(criterion, S3_GROUP);
    churn_system(&mut group, runtime, S3_GROUP, THIS_CRATE, || {
        let pool = resourcepool::Pool::new(CHURN_MAX);
        (0..S3_RESOURCES).map(|_| pool.create(Trivial)).collect()
    });
    churn_system(&mut group, runtime, S3_GROUP, GO_PORT, || {
        let pool = go_port::Pool::new(CHURN_MAX);
        (0..S3_RESOURCES).map(|_| pool.create(Trivial)).collect()
    });
    drop(group);

    let mut group = self::group(criterion, S4_GROUP);
    churn_system(&mut group, runtime, S4_GROUP, THIS_CRATE, || {
        let pool = resourcepool::Pool::new(CHURN_MAX);
        let handle_size = size_of::<resourcepool::Resource<Trivial>>();
        s4_resources(THIS_CRATE, handle_size, || pool.create(Trivial))
    });
    churn_system(&mut group, runtime, S4_GROUP, GO_PORT, || {
        let pool = go_port::Pool::new(CHURN_MAX);
        let handle_size = size_of::<go_port::Resource<Trivial>>();
        s4_resources(GO_PORT, handle_size, || pool.create(Trivial))
    });
}

/// The value at `fraction` of the sorted `values`.
fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

/// Writes the waits and completions of S5's recorded run of `system`, in
/// nanoseconds, sorted, to `<criterion>/S5_oversubscribed/waits-<system>.json`
/// (`benches/plot.py` draws their distribution).
fn write_waits(system: &str, waits: &[Duration], completions: &[Duration]) {
    let nanoseconds =
        |values: &[Duration]| -> Vec<u64> { values.iter().map(|d| d.as_nanos() as u64).collect() };
    let record = serde_json::json!({
        "group": S5_GROUP,
        "system": system,
        "threads": threads(),
        "tasks": S5_TASKS,
        "cycles": S5_CYCLES,
        "waits_ns": nanoseconds(waits),
        "completions_ns": nanoseconds(completions),
    });
    let directory = common::criterion_directory().join(S5_GROUP);
    let path = directory.join(format!("waits-{system}.json"));
    let written = std::fs::create_dir_all(&directory)
        .and_then(|()| std::fs::write(&path, record.to_string()));
    match written {
        Ok(()) => println!("S5 {system}: waits written to {}", path.display()),
        Err(error) => note(format!(
            "S5 {system}: could not write the waits to {}: {error}",
            path.display()
        )),
    }
}

/// S5 for one system: task `index` uses `handles[index]` of what `prepare`
/// makes. After criterion's runs, one more run records the waits and the
/// completions for the fairness figures, and writes them (`write_waits`).
fn s5_system<A: Get>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    system: &str,
    prepare: impl FnOnce() -> Vec<A>,
) {
    let shape = Shape {
        group: S5_GROUP,
        system,
        parameter: None,
        gets: (S5_TASKS * S5_CYCLES) as u64,
        tasks: S5_TASKS,
        placement: Placement::Shared,
    };
    let benched = bench_runs(group, runtime, shape, prepare, |handles, index| {
        get_yield_put(handles[index].clone(), S5_CYCLES, None)
    });
    let Some((_, handles)) = benched else { return };
    let timeline = Arc::new(Timeline {
        start: Instant::now(),
        waits: Mutex::new(Vec::with_capacity(S5_TASKS * S5_CYCLES)),
        completions: Mutex::new(Vec::with_capacity(S5_TASKS)),
    });
    run_tasks(runtime, S5_TASKS, |index| {
        get_yield_put(
            handles[index].clone(),
            S5_CYCLES,
            Some(Arc::clone(&timeline)),
        )
    });
    let mut waits = std::mem::take(&mut *timeline.waits.lock().unwrap());
    let mut completions = std::mem::take(&mut *timeline.completions.lock().unwrap());
    waits.sort_unstable();
    completions.sort_unstable();
    write_waits(system, &waits, &completions);
    let median = percentile(&completions, 0.5);
    let spread = |completion: Duration| completion.as_secs_f64() / median.as_secs_f64();
    let slowest = spread(completions[completions.len() - 1]);
    note(format!(
        "S5 {system}: wait per get p50 {:?}, p99 {:?}, max {:?}; task completion \
         min {:.2}x, max {slowest:.2}x the median ({median:?}) -> fairness target (max <= 3x) {}",
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        waits[waits.len() - 1],
        spread(completions[0]),
        if slowest <= 3.0 { "met" } else { "NOT met" },
    ));
}

fn s5(criterion: &mut Criterion, runtime: &Runtime) {
    let mut group = group(criterion, S5_GROUP);
    s5_system(&mut group, runtime, THIS_CRATE, || {
        let pool = resourcepool::Pool::new(S5_MAX);
        (0..S5_TASKS).map(|_| pool.create(Trivial)).collect()
    });
    s5_system(&mut group, runtime, GO_PORT, || {
        let pool = go_port::Pool::new(S5_MAX);
        (0..S5_TASKS).map(|_| pool.create(Trivial)).collect()
    });
    s5_system(&mut group, runtime, ASYNC_LOCK, || {
        let semaphore = Arc::new(async_lock::Semaphore::new(S5_MAX));
        vec![semaphore; S5_TASKS]
    });
    s5_system(&mut group, runtime, TOKIO, || {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(S5_MAX));
        vec![semaphore; S5_TASKS]
    });
    s5_system(&mut group, runtime, DEADPOOL, || {
        vec![deadpool_of(S5_MAX); S5_TASKS]
    });
}

/// What one S6 benchmark measured besides its time.
struct S6Row {
    resources: usize,
    system: &'static str,
    allocations: usize,
    gets: u64,
}

/// S6 for one system and one N: task `index` gets, yields and puts
/// `handles[index]` of what `prepare` made, with the managers whose
/// allocations it counts.
fn s6_system<A: Get>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    system: &'static str,
    resources: usize,
    prepare: impl FnOnce() -> (Vec<A>, Vec<Counted>),
) -> Option<S6Row> {
    let shape = Shape {
        group: S6_GROUP,
        system,
        parameter: Some(resources),
        gets: (resources * S6_CYCLES) as u64,
        tasks: resources,
        placement: Placement::Shared,
    };
    let (runs, (_, managers)) =
        bench_runs(group, runtime, shape, prepare, |(handles, _), index| {
            get_yield_put(handles[index].clone(), S6_CYCLES, None)
        })?;
    let (allocations, gets) = allocated(&managers, &runs, S6_CYCLES);
    note(format!(
        "S6 N={resources} {system}: {allocations} of {gets} gets allocated ({:.2}%); {}",
        allocations as f64 * 100.0 / gets as f64,
        busy_description(&runs.cpu)
    ));
    Some(S6Row {
        resources,
        system,
        allocations,
        gets,
    })
}

fn s6(criterion: &mut Criterion, runtime: &Runtime) -> Vec<S6Row> {
    let mut group = group(criterion, S6_GROUP);
    let mut rows = Vec::new();
    for n in S6_RESOURCES {
        rows.extend(s6_system(&mut group, runtime, THIS_CRATE, n, || {
            let pool = resourcepool::Pool::new(S6_MAX);
            counted(n, |manager| pool.create(manager))
        }));
        rows.extend(s6_system(
            &mut group,
            runtime,
            THIS_CRATE_HANDOFF_ZERO,
            n,
            || {
                let pool = resourcepool::Pool::builder(S6_MAX)
                    .handoff_after(Duration::ZERO)
                    .build();
                counted(n, |manager| pool.create(manager))
            },
        ));
        rows.extend(s6_system(&mut group, runtime, GO_PORT, n, || {
            let pool = go_port::Pool::new(S6_MAX);
            counted(n, |manager| pool.create(manager))
        }));
    }
    rows
}

/// Prints S6's table: time per get and the fraction of gets that allocated,
/// per system and N, with the allocation target.
fn print_s6(rows: &[S6Row]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "\n### S6, reuse under pressure (max {S6_MAX}, one task per resource, get / yield / put)\n"
    );
    println!("| N | system | ns per get | gets that allocated | target | met |");
    println!("|---:|---|---:|---:|---|---|");
    for row in rows {
        let id = format!("{}/{}", row.system, row.resources);
        let ns =
            common::ns_per_op(S6_GROUP, &id).map_or(String::from("-"), |ns| format!("{ns:.1}"));
        let fraction = row.allocations as f64 / row.gets as f64;
        let (target, met) = if row.system == THIS_CRATE && row.resources == 11 {
            (
                format!("≤ {:.0}%", S6_ALLOCATION_TARGET * 100.0),
                if fraction <= S6_ALLOCATION_TARGET {
                    "yes"
                } else {
                    "NO"
                },
            )
        } else {
            (String::from("-"), "-")
        };
        println!(
            "| {} | {} | {ns} | {:.2}% ({} of {}) | {target} | {met} |",
            row.resources,
            row.system,
            fraction * 100.0,
            row.allocations,
            row.gets
        );
    }
}

/// Runs `cycles` gets of one system in S3, S4 or S5's shape on one thread
/// (a current-thread runtime), for callgrind: `contention --cycles SCENARIO
/// CYCLES SYSTEM`. Only S3..S5 for this crate and the Go port.
fn count_cycles(scenario: &str, cycles: usize, system: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    fn run<A: Get>(runtime: &Runtime, scenario: &str, cycles: usize, handles: Vec<A>) {
        if scenario == "s5" {
            run_tasks(runtime, S5_TASKS, |index| {
                get_yield_put(handles[index].clone(), cycles / S5_TASKS, None)
            });
        } else {
            let handles = Arc::new(handles);
            run_tasks(runtime, 1, |_| churn(Arc::clone(&handles), SEED, cycles));
        }
    }
    let (max, resources) = match scenario {
        "s3" => (CHURN_MAX, S3_RESOURCES),
        "s4" => (CHURN_MAX, S4_RESOURCES),
        "s5" => (S5_MAX, S5_TASKS),
        _ => panic!("SCENARIO is s3, s4 or s5"),
    };
    match system {
        THIS_CRATE => {
            let pool = resourcepool::Pool::new(max);
            let handles = (0..resources).map(|_| pool.create(Trivial)).collect();
            run(&runtime, scenario, cycles, handles);
        }
        GO_PORT => {
            let pool = go_port::Pool::new(max);
            let handles = (0..resources).map(|_| pool.create(Trivial)).collect();
            run(&runtime, scenario, cycles, handles);
        }
        _ => panic!("SYSTEM is {THIS_CRATE} or {GO_PORT}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, scenario, cycles, system] = &args[..] {
        if flag == "--cycles" {
            let cycles = cycles.parse().expect("--cycles SCENARIO CYCLES SYSTEM");
            count_cycles(scenario, cycles, system);
            return;
        }
    }
    // The runtime first, so that the note on the cores free weighs them
    // against its worker threads.
    let runtime = runtime();
    note(format!("S2..S6 run on {}", threads_description()));
    note_cores_free("at the start");
    let mut criterion = Criterion::default().configure_from_args();
    s2(&mut criterion, &runtime);
    s3_s4(&mut criterion, &runtime);
    s5(&mut criterion, &runtime);
    let s6_rows = s6(&mut criterion, &runtime);
    criterion.final_summary();

    let mut comparisons = Vec::new();
    let s2_ids: Vec<[String; 5]> = S2_RESOURCES
        .iter()
        .map(|n| [THIS_CRATE, ASYNC_LOCK, TOKIO, DEADPOOL, GO_PORT].map(|s| format!("{s}/{n}")))
        .collect();
    let s2_names: Vec<String> = S2_RESOURCES.iter().map(|n| format!("S2 N={n}")).collect();
    for (ids, scenario) in s2_ids.iter().zip(&s2_names) {
        for (peer, target) in [(1, None), (2, None), (3, None), (4, Some(4.0))] {
            comparisons.push(Comparison {
                scenario,
                subject: (S2_GROUP, &ids[0]),
                baseline: (S2_GROUP, &ids[peer]),
                target,
                aim: None,
            });
        }
    }
    comparisons.extend([
        Comparison {
            scenario: "S3 churn, 1,000 resources",
            subject: (S3_GROUP, THIS_CRATE),
            baseline: (S3_GROUP, GO_PORT),
            target: Some(1.0),
            aim: Some(1.5),
        },
        Comparison {
            scenario: "S4 churn, 1,000,000 resources",
            subject: (S4_GROUP, THIS_CRATE),
            baseline: (S4_GROUP, GO_PORT),
            target: None,
            aim: None,
        },
        Comparison {
            scenario: "S4 vs S3 (ops/s ratio)",
            subject: (S4_GROUP, THIS_CRATE),
            baseline: (S3_GROUP, THIS_CRATE),
            target: Some(0.67),
            aim: None,
        },
        Comparison {
            scenario: "S4 vs S3 (ops/s ratio)",
            subject: (S4_GROUP, GO_PORT),
            baseline: (S3_GROUP, GO_PORT),
            target: None,
            aim: None,
        },
    ]);
    for peer in [GO_PORT, ASYNC_LOCK, TOKIO, DEADPOOL] {
        comparisons.push(Comparison {
            scenario: "S5 oversubscribed",
            subject: (S5_GROUP, THIS_CRATE),
            baseline: (S5_GROUP, peer),
            target: None,
            aim: None,
        });
    }
    let s6_ids: Vec<[String; 3]> = S6_RESOURCES
        .iter()
        .map(|n| [THIS_CRATE, THIS_CRATE_HANDOFF_ZERO, GO_PORT].map(|s| format!("{s}/{n}")))
        .collect();
    let s6_names: Vec<String> = S6_RESOURCES.iter().map(|n| format!("S6 N={n}")).collect();
    for (ids, scenario) in s6_ids.iter().zip(&s6_names) {
        for peer in [1, 2] {
            comparisons.push(Comparison {
                scenario,
                subject: (S6_GROUP, &ids[0]),
                baseline: (S6_GROUP, &ids[peer]),
                target: None,
                aim: None,
            });
        }
    }
    print_summary(
        "S2..S6 (speedup = other's time per get / this crate's)",
        &comparisons,
    );
    print_s6(&s6_rows);
}
