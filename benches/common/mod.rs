//! Shared by the bench binaries: the managers, the one harness every system
//! runs under, the machine's description, and the ratio summary printed at the
//! end of a run.
#![allow(dead_code)] // each bench binary uses a different part

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use resourcepool::AllocateRelease;

/// The systems compared, by the name each has in criterion's report.
pub const THIS_CRATE: &str = "resourcepool";
pub const ASYNC_LOCK: &str = "async-lock";
pub const TOKIO: &str = "tokio";
pub const DEADPOOL: &str = "deadpool";
pub const GO_PORT: &str = "go-port";

/// A manager whose allocate and release do nothing: the pools' own cost only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trivial;

impl AllocateRelease for Trivial {
    type Item = ();
    type Error = Infallible;

    async fn allocate(&self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A trivial manager that counts its allocations. Each resource has its own
/// counter, so counting puts no shared line on the path being measured.
#[derive(Debug, Clone, Default)]
pub struct Counted {
    pub allocations: Arc<AtomicUsize>,
}

impl AllocateRelease for Counted {
    type Item = ();
    type Error = Infallible;

    async fn allocate(&self) -> Result<(), Infallible> {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Something a task can get and put back: a resource of this crate or of the
/// Go port, a semaphore's permit, or a deadpool object. The same task bodies
/// drive every system through it, with the system's own get future (no
/// wrapper around it), dropping its output to put.
pub trait Get: Clone + Send + Sync + 'static {
    /// What the get future yields (a guard, or a result holding one).
    type Output<'a>: Send
    where
        Self: 'a;
    /// The system's own get (acquire) future.
    fn get(&self) -> impl Future<Output = Self::Output<'_>> + Send;
    /// Whether the get succeeded (the benchmarks never expect an error).
    fn succeeded(output: &Self::Output<'_>) -> bool;
}

impl<M: AllocateRelease> Get for resourcepool::Resource<M>
where
    M::Item: Sync,
{
    type Output<'a> = Result<resourcepool::Guard<'a, M>, resourcepool::Error<M::Error>>;
    fn get(&self) -> impl Future<Output = Self::Output<'_>> + Send {
        resourcepool::Resource::get(self)
    }
    fn succeeded(output: &Self::Output<'_>) -> bool {
        output.is_ok()
    }
}

impl<M: AllocateRelease> Get for crate::go_port::Resource<M>
where
    M::Item: Sync,
{
    type Output<'a> = Result<crate::go_port::Guard<'a, M>, M::Error>;
    fn get(&self) -> impl Future<Output = Self::Output<'_>> + Send {
        crate::go_port::Resource::get(self)
    }
    fn succeeded(output: &Self::Output<'_>) -> bool {
        output.is_ok()
    }
}

impl Get for Arc<async_lock::Semaphore> {
    type Output<'a> = async_lock::SemaphoreGuard<'a>;
    fn get(&self) -> impl Future<Output = Self::Output<'_>> + Send {
        self.acquire()
    }
    fn succeeded(_: &Self::Output<'_>) -> bool {
        true
    }
}

impl Get for Arc<tokio::sync::Semaphore> {
    type Output<'a> = Result<tokio::sync::SemaphorePermit<'a>, tokio::sync::AcquireError>;
    fn get(&self) -> impl Future<Output = Self::Output<'_>> + Send {
        self.acquire()
    }
    fn succeeded(output: &Self::Output<'_>) -> bool {
        output.is_ok()
    }
}

impl Get for deadpool::unmanaged::Pool<()> {
    type Output<'a> = Result<deadpool::unmanaged::Object<()>, deadpool::unmanaged::PoolError>;
    fn get(&self) -> impl Future<Output = Self::Output<'_>> + Send {
        deadpool::unmanaged::Pool::get(self)
    }
    fn succeeded(output: &Self::Output<'_>) -> bool {
        output.is_ok()
    }
}

/// A deadpool pool of `size` objects.
pub fn deadpool_of(size: usize) -> deadpool::unmanaged::Pool<()> {
    let pool = deadpool::unmanaged::Pool::new(size);
    for _ in 0..size {
        pool.try_add(()).expect("room for the object");
    }
    pool
}

/// Polls `future` once with a no-op waker and returns its output: the S1
/// harness for every system (an uncontended get never waits, so a real
/// executor would add only its own cost).
///
/// # Panics
///
/// If the future is not ready at its first poll.
#[inline(always)]
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an uncontended get had to wait"),
    }
}

/// How many cores this process may run on (`nproc`).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The environment variable that sets the number of tokio worker threads of
/// S2..S6 (and the number of tasks of S3 and S4) instead of `cores()`.
pub const THREADS_VARIABLE: &str = "RESOURCEPOOL_BENCH_THREADS";

/// The number of worker threads of the multi-threaded runtime of S2..S6, and
/// of tasks of S3 and S4: `RESOURCEPOOL_BENCH_THREADS` where it is set (and
/// not empty), else one per core (`cores()`).
///
/// # Panics
///
/// If the variable is set to anything but a positive integer.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| match std::env::var(THREADS_VARIABLE) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .ok()
            .filter(|&threads: &usize| threads > 0)
            .unwrap_or_else(|| {
                panic!("{THREADS_VARIABLE}={value:?}: expected a positive number of threads")
            }),
        Ok(_) | Err(std::env::VarError::NotPresent) => cores(),
        Err(error) => panic!("{THREADS_VARIABLE}: {error}"),
    })
}

/// "2 tokio worker threads (one per core)", or where
/// `RESOURCEPOOL_BENCH_THREADS` set them, "1 tokio worker thread
/// (RESOURCEPOOL_BENCH_THREADS=1, nproc 2)".
pub fn threads_description() -> String {
    let threads = threads();
    let plural = if threads == 1 { "" } else { "s" };
    if std::env::var(THREADS_VARIABLE).is_ok_and(|value| !value.trim().is_empty()) {
        format!(
            "{threads} tokio worker thread{plural} ({THREADS_VARIABLE}={threads}, nproc {})",
            cores()
        )
    } else {
        format!("{threads} tokio worker thread{plural} (one per core)")
    }
}

/// The multi-threaded tokio runtime of S2..S6: `threads()` workers, one per
/// core unless `RESOURCEPOOL_BENCH_THREADS` says otherwise. The summary then
/// gives the thread count, and weighs the cores free against it.
pub fn runtime() -> tokio::runtime::Runtime {
    REGISTRY.lock().unwrap().threads = Some(threads());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads())
        .build()
        .expect("a tokio runtime")
}

/// "1.77 cores busy (0.89 per worker thread of 2)": CPU use against the
/// runtime's thread count.
pub fn busy_description(cpu: &CpuUse) -> String {
    let busy = cpu.cores_busy();
    let threads = threads();
    format!(
        "{busy:.2} cores busy ({:.2} per worker thread of {threads})",
        busy / threads as f64
    )
}

/// Spawns `tasks` tasks made by `task` and waits for all of them: one
/// iteration of a contention scenario. Returns its wall time.
pub fn run_tasks<F, Fut>(runtime: &tokio::runtime::Runtime, tasks: usize, task: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    runtime.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks).map(|index| tokio::spawn(task(index))).collect();
        for handle in handles {
            handle.await.expect("a benchmark task panicked");
        }
        start.elapsed()
    })
}

/// Runs `tasks` tasks made by `task`, each on a thread of its own with a
/// tokio current-thread runtime, and waits for all of them: one iteration of
/// a scenario with one task per worker thread, where every task must have a
/// core (on the multi-threaded runtime, tokio may run tasks that never wait
/// one after the other on one worker). Returns its wall time, from the moment
/// every thread has its runtime to the end of the last task.
pub fn run_tasks_on_threads<F, Fut>(tasks: usize, task: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let ready = std::sync::Barrier::new(tasks + 1);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..tasks)
            .map(|index| {
                let future = task(index);
                let ready = &ready;
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .expect("a tokio runtime");
                    ready.wait();
                    runtime.block_on(future);
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for thread in threads {
            thread.join().expect("a benchmark task panicked");
        }
        start.elapsed()
    })
}

/// CPU time used by this process so far, all threads (user + system), from
/// `/proc/self/stat` (in ticks of 10 ms). Zero where that file is missing.
pub fn cpu_time() -> Duration {
    const TICKS_PER_SECOND: u64 = 100; // USER_HZ on Linux
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // The fields after the command name, which is in parentheses: state is
    // the first, utime the 12th and stime the 13th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// CPU time and wall time of the runs of one benchmark, added up.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuUse {
    cpu: Duration,
    wall: Duration,
}

impl CpuUse {
    /// Runs `body`, adding its CPU and wall time; returns what it returned.
    pub fn measure<T>(&mut self, body: impl FnOnce() -> T) -> T {
        let (cpu, wall) = (cpu_time(), Instant::now());
        let value = body();
        self.cpu += cpu_time().saturating_sub(cpu);
        self.wall += wall.elapsed();
        value
    }

    /// Cores busy on average (CPU time / wall time).
    pub fn cores_busy(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// How many cores this process actually gets now: the CPU time of one
/// spinning thread per core over 300 ms, divided by the wall time. Less than
/// `cores()` when other processes use the machine.
pub fn cores_available() -> f64 {
    let mut cpu_use = CpuUse::default();
    cpu_use.measure(|| {
        let spinners: Vec<_> = (0..cores())
            .map(|_| {
                std::thread::spawn(|| {
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(300) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for spinner in spinners {
            spinner.join().expect("a spinning thread panicked");
        }
    });
    cpu_use.cores_busy()
}

/// Notes how many cores were free for the benchmarks `when`, and, once the
/// multi-threaded runtime is built, how many of them its worker threads can
/// use (`min(threads, cores)`).
pub fn note_cores_free(when: &str) {
    let free = cores_available();
    let mut line = format!(
        "{free:.2} of {} cores were free for this process {when} (the rest is other processes' load)",
        cores()
    );
    if let Some(threads) = REGISTRY.lock().unwrap().threads {
        let usable = threads.min(cores());
        line.push_str(&format!(
            "; the {threads} worker thread{} can use {usable} of them",
            if threads == 1 { "" } else { "s" }
        ));
        if threads > cores() {
            line.push_str(" (more threads than cores: they share them)");
        }
        if free < usable as f64 - 0.1 {
            line.push_str(" -> fewer cores free than the threads can use: times not comparable");
        }
    }
    note(line);
}

/// "2 cores (nproc), AMD EPYC, 2026-11-26": what the summary was measured on,
/// with the runtime's worker threads where there is one.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim());
    let date = std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    let mut machine = format!("{} cores (nproc), {model}, {}", cores(), date.trim());
    if REGISTRY.lock().unwrap().threads.is_some() {
        machine.push_str(&format!(", {}", threads_description()));
    }
    machine
}

/// The benchmarks that ran in this process, with the operations (gets, or
/// acquires) one criterion iteration of each performs, and the notes (figures
/// other than time) to print with the summary.
#[derive(Default)]
struct Registry {
    ops_per_iteration: BTreeMap<(String, String), u64>,
    notes: Vec<String>,
    /// The worker threads of the multi-threaded runtime, once it is built.
    threads: Option<usize>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    ops_per_iteration: BTreeMap::new(),
    notes: Vec::new(),
    threads: None,
});

/// Marks `group/id` as run in this process, one iteration being `ops`
/// operations. Call it inside the bench routine: criterion skips the routine
/// of a filtered-out benchmark.
pub fn ran(group: &str, id: &str, ops: u64) {
    REGISTRY
        .lock()
        .unwrap()
        .ops_per_iteration
        .insert((group.to_owned(), id.to_owned()), ops);
}

/// Prints a figure now and keeps it for the summary.
pub fn note(line: String) {
    println!("{line}");
    REGISTRY.lock().unwrap().notes.push(line);
}

/// Where criterion writes its results (as criterion finds it when run by
/// `cargo bench`).
pub fn criterion_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("criterion")
}

/// Criterion's estimate of the time per operation of `group/id`, in
/// nanoseconds, if it ran in this process.
pub fn ns_per_op(group: &str, id: &str) -> Option<f64> {
    let ops = *REGISTRY
        .lock()
        .unwrap()
        .ops_per_iteration
        .get(&(group.to_owned(), id.to_owned()))?;
    let path = criterion_directory()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    // The estimate criterion prints: the slope of time over iterations where
    // it sampled linearly, else the mean.
    let ns_per_iteration = estimates["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| estimates["mean"]["point_estimate"].as_f64())?;
    Some(ns_per_iteration / ops as f64)
}

/// One line of the summary: how `subject` compares with `baseline`.
pub struct Comparison<'a> {
    pub scenario: &'a str,
    /// (group, id) of this crate's benchmark.
    pub subject: (&'a str, &'a str),
    /// (group, id) of what it is compared with.
    pub baseline: (&'a str, &'a str),
    /// The least speedup (baseline time / subject time) the target asks for.
    pub target: Option<f64>,
    /// The speedup aimed at beyond the target, printed beside it.
    pub aim: Option<f64>,
}

/// Prints the figures and the speedups of this run as Markdown tables, for
/// `benches/README.md`. Comparisons whose benchmarks did not run are skipped.
pub fn print_summary(title: &str, comparisons: &[Comparison<'_>]) {
    note_cores_free("at the end");
    println!("\n## {title}: {}\n", machine());
    println!("| scenario | this crate | compared with | ns/op this crate | ns/op other | speedup | target | met |");
    println!("|---|---|---|---:|---:|---:|---:|---|");
    for comparison in comparisons {
        let (Some(subject), Some(baseline)) = (
            ns_per_op(comparison.subject.0, comparison.subject.1),
            ns_per_op(comparison.baseline.0, comparison.baseline.1),
        ) else {
            continue;
        };
        let speedup = baseline / subject;
        let (mut target, mut met) = match comparison.target {
            Some(target) => (
                format!("≥ {target:.2}x"),
                String::from(if speedup >= target { "yes" } else { "NO" }),
            ),
            None => (String::from("-"), String::from("-")),
        };
        if let Some(aim) = comparison.aim {
            target.push_str(&format!(" (aim {aim:.2}x)"));
            met.push_str(if speedup >= aim {
                " (aim yes)"
            } else {
                " (aim no)"
            });
        }
        println!(
            "| {} | {} | {}/{} | {subject:.1} | {baseline:.1} | {speedup:.2}x | {target} | {met} |",
            comparison.scenario, comparison.subject.1, comparison.baseline.0, comparison.baseline.1,
        );
    }
    let notes = std::mem::take(&mut REGISTRY.lock().unwrap().notes);
    if !notes.is_empty() {
        println!();
        for line in notes {
            println!("- {line}");
        }
    }
}
