//! One pool in front of a real PostgreSQL server: many tenant databases, a
//! connection budget below the server's own limit.
//!
//! The example starts a throwaway PostgreSQL cluster of its own (`initdb`
//! into a temporary directory; its only socket is a Unix socket in that
//! directory; `--max-connections`, 20 by default), creates `--tenants`
//! databases, and gives each a [`Resource`] in one [`Pool`] of `--max`
//! connections. Then `--tasks` tasks run queries against random tenants,
//! skewed so that a few are hot, for `--duration` seconds, and a light load
//! follows: 4 tasks, each on one of the hottest tenants. It prints live statistics once a second:
//! operations per second, the pool's stats and totals, and the server's own
//! count of the pool's backends (`pg_stat_activity`), which a monitor samples
//! every few milliseconds.
//!
//! What it shows:
//!
//! - **The cap holds on the server's side.** A backend holds its slot (one
//!   of `max_connections`) until its process exits, a little after the
//!   client has dropped the connection. So the manager's
//!   [`AllocateRelease::shutdown`], which the pool awaits before it dials
//!   again with the charge it freed (an eviction, a hand-off, a connection
//!   past its time or failing its check), says goodbye and then waits for
//!   the server to hang up, which it does only after its slot is free. Dials
//!   that the server refuses anyway ("sorry, too many clients already", after
//!   a release that cannot wait) are retried after a short pause, and
//!   counted. `--shutdown none` keeps the default `shutdown` (the
//!   synchronous `release`), to compare.
//! - **Checks catch dead connections.** Midway, the load pauses for a
//!   moment and a separate admin connection terminates every idle backend
//!   of the pool (`pg_terminate_backend`). The pool does not know: the next
//!   get of each of those connections runs the manager's `check` (a
//!   round trip), which fails, and the get dials afresh. No task sees an
//!   error. (The pause makes sure that only connections idle in the pool are
//!   killed: a backend killed while a task holds its connection fails that
//!   task's query, which no pool can prevent.)
//! - **Idle connections close when the load drops** (`--idle-timeout`, the
//!   reaper): the server's count of backends falls to the light load's.
//!
//! At the end: `Pool::close`, `Pool::drained`, and the server sees no client
//! backend left. The cluster is stopped and its directory removed on every
//! exit, Ctrl-C included. It exits with status 1 if a task saw an error, if
//! `pg_stat_activity` ever showed more than `--max` backends of the pool, or
//! if a backend outlived the pool. It needs the PostgreSQL server binaries
//! (`initdb`, `pg_ctl`, `postgres`) on `PATH` or in
//! `/usr/lib/postgresql/<version>/bin`; as root, it runs them as the
//! `postgres` user.
//!
//! ```text
//! cargo run --release --example tenants
//! cargo run --release --example tenants -- --shutdown none
//! cargo run --release --example tenants -- --max-connections 18
//! cargo run --release --example tenants -- --help
//! ```

#[path = "support/cli.rs"]
mod cli;
#[path = "support/pg.rs"]
mod pg;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use resourcepool::{AllocateRelease, Pool, Resource};
use tokio::sync::RwLock;
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The `application_name` of the pool's connections: `pg_stat_activity`
/// tells them apart from the admin connection by it.
const APPLICATION: &str = "tenants";
/// A connection idle for this long is checked before a get reuses it.
const CHECK_AFTER_IDLE: Duration = Duration::from_millis(100);
/// How long the load pauses midway, while the idle backends are terminated.
const PAUSE: Duration = Duration::from_millis(300);
/// Tasks that go on, each on one of the hottest tenants, after `--duration`.
const LIGHT_TASKS: usize = 4;
/// The light load's pause between two queries of a task.
const LIGHT_PAUSE: Duration = Duration::from_millis(20);
/// A dial the server refuses for want of a slot is tried this many times in
/// all, after pauses that double from `FIRST_BACKOFF` up to `MAX_BACKOFF`.
const DIAL_ATTEMPTS: u32 = 40;
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(50);
/// How long a shutdown waits for the server to hang up.
const HANG_UP_WAIT: Duration = Duration::from_secs(5);
/// How often the monitor counts the pool's backends on the server.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The command line: `--flag value` or `--flag=value`; `--help` lists them.
#[derive(Parser, Debug)]
#[command(
    name = "tenants",
    override_usage = "cargo run --release --example tenants -- [OPTIONS]",
    about = "A throwaway PostgreSQL cluster, many tenant databases, one pool of few connections."
)]
struct Options {
    /// Tenant databases to create, one resource each
    #[arg(long, value_name = "N", default_value = "40", value_parser = cli::whole_number)]
    tenants: usize,
    /// Connections that may be open at once (the pool's max)
    #[arg(long, value_name = "N", default_value = "16", value_parser = cli::whole_number)]
    max: usize,
    /// Tasks running queries in a loop
    #[arg(long, value_name = "N", default_value = "200", value_parser = cli::whole_number)]
    tasks: usize,
    /// How long the full load runs, in seconds; the light load then runs for
    /// the idle timeout and 1.5 s more
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = cli::seconds)]
    duration: Duration,
    /// Close connections idle for longer than this, in seconds
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = cli::seconds)]
    idle_timeout: Duration,
    /// The server's max_connections (the pool's connections, the admin
    /// connection, and the slack for connections the server is still closing)
    #[arg(long, value_name = "N", default_value = "20", value_parser = cli::whole_number)]
    max_connections: usize,
    /// How the pool closes a connection whose charge a get takes for itself
    #[arg(long, value_name = "HOW", default_value = "wait")]
    shutdown: Goodbye,
}

/// What the manager's `shutdown` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Goodbye {
    /// Drop the client (the protocol's Terminate message), then wait until
    /// the server hangs up
    Wait,
    /// Have the backend end itself (`pg_terminate_backend(pg_backend_pid())`),
    /// then wait until the server hangs up
    SelfTerminate,
    /// The trait's default: `release`, which drops the client and returns
    None,
}

/// What the run counts, shared by the managers, the tasks and the monitor.
#[derive(Default)]
struct Counters {
    /// Connections made (`allocate` calls that returned one).
    dials: AtomicUsize,
    /// Dials the server refused for want of a slot, each retried.
    refused: AtomicUsize,
    /// Connections whose server has not hung up yet, as the client sees it.
    connected: AtomicUsize,
    /// Calls of `release` and `shutdown`; those that found the server had
    /// already hung up (a backend terminated midway).
    closes: AtomicUsize,
    closed_dead: AtomicUsize,
    queries: AtomicUsize,
    /// Gets that failed: a dial that failed for good, after its retries.
    get_errors: AtomicUsize,
    query_errors: AtomicUsize,
    /// Queries answered by another database than their tenant's.
    wrong_database: AtomicUsize,
    /// The pool's backends in `pg_stat_activity`, and all client backends
    /// (the admin connection included): the latest sample; the most of the
    /// pool's ever, and how many samples.
    server_now: AtomicUsize,
    server_all: AtomicUsize,
    server_peak: AtomicUsize,
    samples: AtomicUsize,
}

/// Reads a counter.
fn read(counter: &AtomicUsize) -> usize {
    counter.load(SeqCst)
}

/// Adds one to a counter.
fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, SeqCst);
}

/// What all the tenants' managers share.
struct Shared {
    cluster: Arc<pg::Cluster>,
    goodbye: Goodbye,
    counters: Arc<Counters>,
}

/// The manager of one tenant's resource: its database's connection.
struct Tenant {
    database: String,
    config: tokio_postgres::Config,
    shared: Arc<Shared>,
}

/// An open connection: the client, and the task that does its I/O and ends
/// once the server has hung up.
struct Session {
    client: Client,
    hung_up: tokio::task::JoinHandle<()>,
}

impl Tenant {
    /// Counts a close, and whether the server had hung up already.
    fn count_close(&self, session: &Session) {
        bump(&self.shared.counters.closes);
        if session.hung_up.is_finished() {
            bump(&self.shared.counters.closed_dead);
        }
    }

    /// Waits until the server has hung up on `session` (after a goodbye).
    async fn wait_for_hang_up(&self, session: Session) -> Result<(), pg::Error> {
        drop(session.client); // sends the protocol's Terminate, if still open
        match timeout(HANG_UP_WAIT, session.hung_up).await {
            Ok(_) => Ok(()),
            Err(_) => Err(pg::Error::NoHangUp(HANG_UP_WAIT)),
        }
    }
}

impl AllocateRelease for Tenant {
    type Item = Session;
    type Error = pg::Error;

    /// Connects; retries a dial that the server refused for want of a slot.
    async fn allocate(&self) -> Result<Session, pg::Error> {
        let counters = &self.shared.counters;
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        let (client, connection) = loop {
            match self.shared.cluster.connect(&self.config).await {
                Ok(connected) => break connected,
                Err(error) if error.is_too_many_clients() && attempt < DIAL_ATTEMPTS => {
                    bump(&counters.refused);
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        };
        bump(&counters.dials);
        bump(&counters.connected);
        let counters = counters.clone();
        let hung_up = tokio::spawn(async move {
            pg::until_hang_up(connection).await;
            counters.connected.fetch_sub(1, SeqCst);
        });
        Ok(Session { client, hung_up })
    }

    /// Drops the client: its connection task says goodbye and goes on until
    /// the server hangs up, but nobody waits for that.
    fn release(&self, session: Session) -> Result<(), pg::Error> {
        self.count_close(&session);
        drop(session.client);
        Ok(())
    }

    /// A round trip (a Sync message, answered by ReadyForQuery): fails on a
    /// connection that the server closed meanwhile.
    async fn check(&self, session: &mut Session) -> Result<(), pg::Error> {
        if session.client.is_closed() {
            return Err(pg::Error::Closed);
        }
        Ok(session.client.check_connection().await?)
    }

    /// Closes the connection and waits until the server has let go of it.
    async fn shutdown(&self, session: Session) -> Result<(), pg::Error> {
        match self.shared.goodbye {
            Goodbye::None => self.release(session),
            Goodbye::Wait => {
                self.count_close(&session);
                self.wait_for_hang_up(session).await
            }
            Goodbye::SelfTerminate => {
                self.count_close(&session);
                // Fails as the backend ends ("terminating connection due to
                // administrator command"), or at once on a dead connection.
                let _ = session
                    .client
                    .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
                    .await;
                self.wait_for_hang_up(session).await
            }
        }
    }
}

/// Picks one of `n` tenants, skewed: the first tenth get about 46% of the
/// picks, the last half about 21%. So a few connections are reused again and
/// again, while the cold ones evict each other.
fn pick(n: usize) -> usize {
    let u = fastrand::f64();
    ((u * u * u * n as f64) as usize).min(n - 1)
}

/// One task: pick a tenant, get its connection, run a query, put it back;
/// until the end of the full load, or, for the first `LIGHT_TASKS` tasks,
/// of the light load. The gate pauses it midway (between two queries).
async fn worker(
    id: usize,
    tenants: Arc<Vec<Resource<Tenant>>>,
    counters: Arc<Counters>,
    gate: Arc<RwLock<()>>,
    full_until: Instant,
    light_until: Instant,
) {
    loop {
        let now = Instant::now();
        let (tenant, until) = if now < full_until {
            (&tenants[pick(tenants.len())], full_until)
        } else if id < LIGHT_TASKS && now < light_until {
            sleep(LIGHT_PAUSE).await;
            (&tenants[id % tenants.len()], light_until)
        } else {
            return;
        };
        let _running = gate.read().await;
        // A get still waiting at the end of its load is cut short, uncounted.
        let session = match tenant.get_or_cancel(sleep_until(until)).await {
            Ok(session) => session,
            Err(_) if Instant::now() >= until => continue,
            Err(error) => {
                bump(&counters.get_errors);
                eprintln!("task {id}: get of {}: {error:?}", tenant.manager().database);
                continue;
            }
        };
        let answer = session
            .client
            .simple_query("UPDATE visits SET n = n + 1 RETURNING current_database()")
            .await;
        match answer {
            Ok(messages) => {
                bump(&counters.queries);
                let database = messages.iter().find_map(|message| match message {
                    SimpleQueryMessage::Row(row) => row.get(0),
                    _ => None,
                });
                if database != Some(tenant.manager().database.as_str()) {
                    bump(&counters.wrong_database);
                }
                drop(session); // the put: it stays open for the next get
            }
            Err(error) => {
                bump(&counters.query_errors);
                eprintln!("task {id}: query on {}: {error}", tenant.manager().database);
                let _ = session.release(); // broken: the next get dials afresh
            }
        }
    }
}

/// Counts the backends in `pg_stat_activity`, every `SAMPLE_EVERY`, until
/// the admin connection closes.
async fn monitor(admin: Arc<Client>, counters: Arc<Counters>) {
    loop {
        let Ok((pool, all)) = server_backends(&admin).await else {
            return;
        };
        counters.server_now.store(pool, SeqCst);
        counters.server_all.store(all, SeqCst);
        counters.server_peak.fetch_max(pool, SeqCst);
        bump(&counters.samples);
        sleep(SAMPLE_EVERY).await;
    }
}

/// The client backends the server counts now: the pool's, and all of them
/// (the admin connection's own included).
async fn server_backends(admin: &Client) -> Result<(usize, usize), pg::Error> {
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE application_name = $1), count(*)
             FROM pg_stat_activity WHERE backend_type = 'client backend'",
            &[&APPLICATION],
        )
        .await?;
    let count = |column| usize::try_from(row.get::<_, i64>(column)).unwrap_or(0);
    Ok((count(0), count(1)))
}

/// Midway: pauses the load (every task between two queries), terminates
/// every idle backend of the pool from the admin connection, waits until
/// the server has let them all go, and resumes after `PAUSE`. Returns how
/// many it terminated, and how many connections the pool had idle.
async fn terminate_idle_backends(
    admin: &Client,
    gate: &RwLock<()>,
    pool: &Pool,
) -> Result<(usize, usize), pg::Error> {
    let paused = gate.write().await;
    let started = Instant::now();
    let idle_in_pool = pool.stats().idle;
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND state = 'idle'",
            &[&APPLICATION],
        )
        .await?;
    let terminated = usize::try_from(row.get::<_, i64>(0)).unwrap_or(0);
    while server_backends(admin).await?.0 > 0 && started.elapsed() < HANG_UP_WAIT {
        sleep(Duration::from_millis(2)).await;
    }
    // Every connection is now idle for longer than CHECK_AFTER_IDLE: each
    // get that reuses one checks it first.
    sleep_until(started + PAUSE.max(2 * CHECK_AFTER_IDLE)).await;
    drop(paused);
    Ok((terminated, idle_in_pool))
}

fn main() -> ExitCode {
    // On `--help`, prints the flags and exits with 0; on a bad flag or
    // value, prints why and exits with 2.
    let options = Options::parse();
    let Some(bin) = pg::find_binaries() else {
        eprintln!(
            "error: the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH \
             nor in /usr/lib/postgresql/<version>/bin; install PostgreSQL (e.g. `apt-get install postgresql`)"
        );
        return ExitCode::FAILURE;
    };
    let started = std::time::Instant::now();
    // If this process ends before `cluster` is dropped (a second Ctrl-C, a
    // kill), the cluster's watchdog stops it and removes its directory.
    let cluster = match pg::Cluster::start(&bin, options.max_connections) {
        Ok(cluster) => Arc::new(cluster),
        Err(error) => {
            eprintln!("error: cannot start a PostgreSQL cluster: {error}");
            return ExitCode::FAILURE;
        }
    };
    let dir: PathBuf = cluster.dir().to_path_buf();
    println!(
        "PostgreSQL cluster in {} ({}), max_connections {}, started in {:.1?}",
        dir.display(),
        bin.display(),
        options.max_connections,
        started.elapsed()
    );
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(cluster.clone(), options) => outcome,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\ninterrupted");
                ExitCode::from(130)
            }
        }
    });
    // Ends every task still running (on Ctrl-C), and with them the last
    // connections; then stops the server.
    drop(runtime);
    cluster.stop();
    println!(
        "cluster stopped (pg_ctl stop -m immediate), {} {}",
        dir.display(),
        if dir.exists() {
            "NOT removed"
        } else {
            "removed"
        }
    );
    outcome
}

async fn run(cluster: Arc<pg::Cluster>, options: Options) -> ExitCode {
    match try_run(cluster, options).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn try_run(cluster: Arc<pg::Cluster>, options: Options) -> Result<ExitCode, pg::Error> {
    let Options {
        tenants: tenant_count,
        max,
        tasks,
        duration,
        idle_timeout,
        max_connections,
        shutdown: goodbye,
    } = options;

    let names: Vec<String> = (0..tenant_count)
        .map(|i| format!("tenant_{i:02}"))
        .collect();
    let created = Instant::now();
    cluster
        .create_databases(
            &names,
            "CREATE TABLE visits (n bigint NOT NULL); INSERT INTO visits VALUES (0);",
        )
        .await?;
    println!(
        "{tenant_count} tenant databases created in {:.1?}",
        created.elapsed()
    );
    let (admin, admin_task) = cluster
        .connect_spawned(&cluster.config("postgres", "tenants-admin"))
        .await?;
    let admin = Arc::new(admin);

    println!(
        "a pool of max {max} connections, {tasks} tasks, {duration:?} of load, idle timeout {idle_timeout:?}, \
         check after {CHECK_AFTER_IDLE:?} idle, shutdown: {goodbye:?}"
    );
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        cluster: cluster.clone(),
        goodbye,
        counters: counters.clone(),
    });
    let pool = Pool::builder(max)
        .idle_timeout(idle_timeout)
        .check_after_idle(CHECK_AFTER_IDLE)
        .build();
    // Closes idle connections past their time; ends when the pool closes.
    let reaper = tokio::spawn(pool.reaper(sleep));
    // `create` dials nothing: the first get does.
    let tenants: Arc<Vec<_>> = Arc::new(
        names
            .iter()
            .map(|name| {
                pool.create(Tenant {
                    database: name.clone(),
                    config: cluster.config(name, APPLICATION),
                    shared: shared.clone(),
                })
            })
            .collect(),
    );
    let monitor = tokio::spawn(monitor(admin.clone(), counters.clone()));

    let start = Instant::now();
    let full_until = start + duration;
    let light_until = full_until + idle_timeout + Duration::from_millis(1500);
    let gate = Arc::new(RwLock::new(()));
    let mut workers = JoinSet::new();
    for id in 0..tasks {
        workers.spawn(worker(
            id,
            tenants.clone(),
            counters.clone(),
            gate.clone(),
            full_until,
            light_until,
        ));
    }
    let midway = {
        let (admin, gate, pool) = (admin.clone(), gate.clone(), pool.clone());
        tokio::spawn(async move {
            sleep_until(start + duration / 2).await;
            let (terminated, idle_in_pool) = terminate_idle_backends(&admin, &gate, &pool).await?;
            println!(
                "{:>4.1}s midway: the load paused; the admin connection terminated {terminated} idle backends \
                 ({idle_in_pool} connections idle in the pool)",
                start.elapsed().as_secs_f64()
            );
            Ok::<_, pg::Error>((terminated, idle_in_pool))
        })
    };

    // Progress once a second, until every task is done.
    let mut queries_so_far = 0;
    let mut load_dropped = false;
    let mut next_report = start + Duration::from_secs(1);
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                Some(Ok(())) => continue,
                Some(Err(error)) => std::panic::resume_unwind(error.into_panic()),
                None => break,
            },
            () = sleep_until(next_report) => next_report += Duration::from_secs(1),
        }
        let stats = pool.stats();
        let totals = stats.totals;
        println!(
            "{:>4.1}s {:>6} q/s | pool: in_use {:>2} idle {:>2} allocating {} releasing {} waiting {:>3} | \
             dials {:>4} refused {:>2} evictions {:>4} checks failed {:>2} expired {:>2} | \
             server: {:>2} of the pool's backends, {:>2} in all",
            start.elapsed().as_secs_f64(),
            read(&counters.queries) - queries_so_far,
            stats.in_use,
            stats.idle,
            stats.allocating,
            stats.releasing,
            stats.waiting,
            read(&counters.dials),
            read(&counters.refused),
            totals.evictions,
            totals.check_failures,
            totals.expired,
            read(&counters.server_now),
            read(&counters.server_all),
        );
        queries_so_far = read(&counters.queries);
        if !load_dropped && Instant::now() >= full_until {
            load_dropped = true;
            println!(
                "      the load drops: {LIGHT_TASKS} tasks, each on one of the hottest tenants"
            );
        }
    }
    let elapsed = start.elapsed();
    let (terminated, idle_in_pool) = midway.await.expect("the midway task does not panic")?;

    // Shut down. Every task is done, so every connection is idle: `close`
    // releases them now, and `drained` resolves once none is live. Their
    // connection tasks end as the server hangs up; then it counts none.
    let idle_before_close = pool.stats().idle;
    pool.close();
    pool.drained().await;
    reaper.await.expect("the reaper ends when the pool closes");
    let closed = Instant::now();
    while read(&counters.connected) > 0 && closed.elapsed() < HANG_UP_WAIT {
        sleep(Duration::from_millis(1)).await;
    }
    let hang_up_time = closed.elapsed();
    // All but the admin connection's own.
    let left_on_server = server_backends(&admin).await?.1.saturating_sub(1);
    monitor.abort();
    drop(admin);
    let _ = admin_task.await;

    // The pool's own counts, exact now that nothing runs.
    let totals = pool.stats().totals;
    let (queries, dials, closes, refused) = (
        read(&counters.queries),
        read(&counters.dials),
        read(&counters.closes),
        read(&counters.refused),
    );
    let errors = read(&counters.get_errors) + read(&counters.query_errors);
    let (wrong_database, server_peak) =
        (read(&counters.wrong_database), read(&counters.server_peak));
    println!();
    println!(
        "queries        {queries} in {elapsed:.1?}, {:.0}/s; {} failed gets, {} failed queries, {wrong_database} answered by the wrong database",
        queries as f64 / elapsed.as_secs_f64(),
        read(&counters.get_errors),
        read(&counters.query_errors),
    );
    println!(
        "reuse rate     {:.1}% of gets did not dial",
        100.0 * queries.saturating_sub(dials) as f64 / queries.max(1) as f64
    );
    println!(
        "dials          {dials} (the pool counted {} allocations); the server refused {refused} (\"too many clients\"), each retried",
        totals.allocations
    );
    println!("closes         {closes} in all");
    for (count, label, why) in [
        (
            totals.evictions,
            "evictions",
            "the least recently used idle one, closed for another tenant's get",
        ),
        (
            totals.handoffs,
            "hand-offs",
            "a put's, closed for a get that had waited for a charge past handoff_after",
        ),
        (
            totals.expired,
            "expired",
            "idle for longer than --idle-timeout (by the reaper, or the get that found it)",
        ),
        (
            totals.check_failures,
            "checks",
            "failed the check before reuse (terminated midway), and replaced",
        ),
        (totals.released, "by tasks", "released after a query error"),
        (totals.shed, "at close", "idle when pool.close() ran"),
    ] {
        println!("  {label:<12} {count:>6}  {why}");
    }
    let closed_dead = read(&counters.closed_dead);
    println!(
        "midway         terminated {terminated} idle backends ({idle_in_pool} connections idle in the pool); the pool closed {closed_dead} dead ones:"
    );
    println!(
        "               {} after a failed check, {} unused (evicted, handed off, expired){}",
        totals.check_failures,
        closed_dead.saturating_sub(usize::try_from(totals.check_failures).unwrap_or(0)),
        if read(&counters.query_errors) == 0 {
            "; no task got one"
        } else {
            ""
        },
    );
    println!(
        "waits          {} gets waited, {:.1?} in all, {:.1?} each on average",
        totals.waits,
        totals.wait_time,
        totals.wait_time / u32::try_from(totals.waits.max(1)).unwrap_or(u32::MAX),
    );
    println!(
        "server         at most {server_peak} of the pool's backends at once (max {max}, max_connections {max_connections}), in {} samples",
        read(&counters.samples)
    );
    println!(
        "at exit        close released {idle_before_close}; the server hung up on all in {hang_up_time:.1?}, then counted {left_on_server} client backends"
    );

    let failure = if errors > 0 {
        format!("{errors} gets or queries failed")
    } else if wrong_database > 0 {
        format!("{wrong_database} queries were answered by another tenant's database")
    } else if server_peak > max {
        format!("pg_stat_activity showed {server_peak} of the pool's backends at once, more than max {max}")
    } else if left_on_server > 0 || read(&counters.connected) > 0 {
        format!("{left_on_server} client backends outlived the pool")
    } else if closes != dials {
        format!("{dials} connections were made but {closes} closed")
    } else {
        println!(
            "\nok: no task saw an error, and the server never counted more than max {max} of the pool's backends"
        );
        return Ok(ExitCode::SUCCESS);
    };
    eprintln!("\nFAILED: {failure}");
    Ok(ExitCode::FAILURE)
}
