//! A connection pool on a file descriptor budget: many hosts, few sockets.
//!
//! The example starts `--servers` small TCP line-echo servers on loopback
//! (127.0.0.1, ports picked by the system) and gives each one a [`Resource`]
//! in a single [`Pool`] of `--max` charges: at most that many connections may
//! be open at once, however many servers there are. Then `--tasks` tasks loop
//! for `--duration` seconds: each picks a server (a few are hot, most are
//! cold), gets its connection (reusing the open one, or dialing, which closes
//! the least recently used idle connection of another server when the budget
//! is spent), sends a line, checks the echo, and drops the guard (the *put*:
//! the connection stays open for the next get). The servers now and then hang
//! up; on the I/O error that follows, the task releases the connection
//! instead, so that the next get dials afresh.
//!
//! Servers also hang up connections that stay silent for 2 seconds, as real
//! ones do. The pool is built to meet that: connections idle for longer than
//! `--idle-timeout` are closed by a reaper task (`Pool::reaper`, on tokio's
//! timer) or by the get that finds them, and a connection idle for 100 ms or
//! more is checked (`AllocateRelease::check`: has the server hung up?) before
//! a get reuses it. After the tasks stop, a quiet spell and one exchange
//! with each server show both: by default the reaper closes the idle
//! connections; with `--idle-timeout 10`, the servers hang up first and the
//! checks catch it.
//!
//! At the end it shuts the pool down (`Pool::close`, then `Pool::drained`) and
//! prints a summary, with the pool's own totals: why each connection was
//! closed (evictions, hand-offs, expiries, failed checks, releases after
//! errors, the close) and how
//! long gets waited. It prints progress once a second, and checks what the
//! crate promises: never more than `--max` connections open at once,
//! every line echoed intact (one task per connection at a time), and every
//! dialed connection closed exactly once. A failed check exits with status 1.
//!
//! ```text
//! cargo run --example connpool
//! cargo run --example connpool -- --servers 3 --max 1 --tasks 20 --duration 2
//! cargo run --example connpool -- --servers=3 --duration=0.5
//! cargo run --example connpool -- --idle-timeout 10
//! cargo run --example connpool -- --help
//! ```

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use resourcepool::{AllocateRelease, Error, Guard, Pool, Resource};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, timeout, Instant};

#[path = "support/cli.rs"]
mod cli;

/// How long a task waits for a get before it counts a timeout and moves on.
const GET_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a line may take to come back before it counts as an I/O error.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(1);
/// A server hangs up instead of echoing one line in this many, as real
/// servers do (restarts, overload), so that tasks meet I/O errors.
const HANG_UP_ONE_IN: u32 = 1000;
/// A server hangs up a connection that sent nothing for this long.
const SERVER_IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// A connection idle for this long is checked before it is reused.
const CHECK_AFTER_IDLE: Duration = Duration::from_millis(100);

/// The command line: `--flag value` or `--flag=value`; `--help` lists them.
#[derive(Parser, Debug)]
#[command(
    name = "connpool",
    override_usage = "cargo run --example connpool -- [OPTIONS]",
    about = "Many TCP echo servers on loopback, a pool of few connections, many tasks."
)]
struct Options {
    /// Echo servers to start on 127.0.0.1, one resource each
    #[arg(long, value_name = "N", default_value = "50", value_parser = cli::whole_number)]
    servers: usize,
    /// Connections that may be open at once (the pool's max)
    #[arg(long, value_name = "N", default_value = "8", value_parser = cli::whole_number)]
    max: usize,
    /// Tasks doing get / echo / put in a loop
    #[arg(long, value_name = "N", default_value = "200", value_parser = cli::whole_number)]
    tasks: usize,
    /// How long the tasks run, in seconds, e.g. 5 or 0.5
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = cli::seconds)]
    duration: Duration,
    /// Close connections idle for longer than this, in seconds (the servers
    /// hang up after 2)
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = cli::seconds)]
    idle_timeout: Duration,
}

/// Open connections as one side sees them, and the most ever open at once.
#[derive(Default)]
struct OpenCount {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl OpenCount {
    /// Counts one more open connection, until the returned value is dropped.
    fn open(self: &Arc<Self>) -> Opened {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        Opened(self.clone())
    }
}

/// One connection counted in an [`OpenCount`]; dropping it uncounts it.
struct Opened(Arc<OpenCount>);

impl Drop for Opened {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, SeqCst);
    }
}

// Why two counts of open connections. The pool promises that at most `max`
// items exist from the start of `allocate` to the end of `release`: that is
// the client side, counted by `Counters::client` around each socket's whole
// life, and the count this example enforces. The servers cannot see it
// exactly. The kernel completes a connection before `accept` returns it, and
// a server learns that the client closed only when its read returns 0 (end of
// file). When the pool closes one connection and at once dials another, the
// old one's server may not have read its end of file yet when the new one is
// accepted, so the count the servers see may briefly exceed `max` with
// nothing wrong. `Counters::server` is reported for information only.

/// What the run counts, shared by the servers, the managers and the tasks.
#[derive(Default)]
struct Counters {
    client: Arc<OpenCount>,
    server: Arc<OpenCount>,
    /// Successful gets, each of which either reused a connection or dialed.
    gets: AtomicUsize,
    dials: AtomicUsize,
    /// Calls of `release`: by the pool (evictions, hand-offs, close) or by
    /// the tasks. The pool's `Stats::totals` say which.
    closes: AtomicUsize,
    echoes: AtomicUsize,
    /// Gets that gave up waiting for another task's guard of the same server.
    hold_timeouts: AtomicUsize,
    /// Gets that gave up waiting for one of the pool's charges.
    capacity_timeouts: AtomicUsize,
    dial_errors: AtomicUsize,
    io_errors: AtomicUsize,
    wrong_echoes: AtomicUsize,
}

/// Reads a counter.
fn read(counter: &AtomicUsize) -> usize {
    counter.load(SeqCst)
}

/// Adds one to a counter.
fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, SeqCst);
}

/// A pooled connection. Its fields drop in order: the socket closes, then
/// the client count goes down.
struct Connection {
    stream: BufReader<TcpStream>,
    _counted: Opened,
}

/// The manager of one server's resource: `allocate` dials, `release` closes.
struct Dialer {
    address: SocketAddr,
    counters: Arc<Counters>,
}

impl AllocateRelease for Dialer {
    type Item = Connection;
    type Error = io::Error;

    async fn allocate(&self) -> io::Result<Connection> {
        // Counted before the socket exists; uncounted when the connect fails,
        // when this future is dropped, or when `release` drops the connection.
        let counted = self.counters.client.open();
        let stream = TcpStream::connect(self.address).await?;
        bump(&self.counters.dials);
        Ok(Connection {
            stream: BufReader::new(stream),
            _counted: counted,
        })
    }

    fn release(&self, connection: Connection) -> io::Result<()> {
        drop(connection);
        bump(&self.counters.closes);
        Ok(())
    }

    /// Before a get reuses a connection that sat idle: has the server hung
    /// up? A live idle connection has nothing to read; a closed one reads end
    /// of file at once. Neither blocks.
    async fn check(&self, connection: &mut Connection) -> io::Result<()> {
        let mut byte = [0; 1];
        match connection.stream.get_ref().try_read(&mut byte) {
            Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => Err(io::Error::other("data on an idle connection")),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// Starts a line-echo server on 127.0.0.1 that now and then hangs up. It runs
/// until its task is aborted, which aborts its connections too (they live in
/// its `JoinSet`).
async fn start_server(
    servers: &mut JoinSet<()>,
    counters: &Arc<Counters>,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let counters = counters.clone();
    servers.spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let counted = counters.server.open();
            connections.spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut lines = BufReader::new(reader).lines();
                // Stops at end of file (the client closed), on an error, or
                // when the client stays silent too long.
                while let Ok(Ok(Some(line))) = timeout(SERVER_IDLE_TIMEOUT, lines.next_line()).await
                {
                    if fastrand::u32(..HANG_UP_ONE_IN) == 0 {
                        break;
                    }
                    if writer
                        .write_all(format!("{line}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                drop(counted);
            });
            while connections.try_join_next().is_some() {} // reap finished ones
        }
    });
    Ok(address)
}

/// Picks one of `n` servers, skewed: the first tenth get about 46% of the
/// picks, the last half about 21%. So a few connections are reused again and
/// again, while the cold ones evict each other.
fn pick(n: usize) -> usize {
    let u = fastrand::f64();
    ((u * u * u * n as f64) as usize).min(n - 1)
}

/// One task: pick a server, get, send a line and check its echo, put; until
/// the deadline.
async fn worker(
    id: usize,
    resources: Arc<Vec<Resource<Dialer>>>,
    counters: Arc<Counters>,
    deadline: Instant,
) {
    let mut echo = String::new();
    for op in 0.. {
        if Instant::now() >= deadline {
            return;
        }
        let resource = &resources[pick(resources.len())];
        // A get still waiting at the deadline is cut short by it, uncounted.
        let cancel = sleep_until(deadline.min(Instant::now() + GET_TIMEOUT));
        let connection = match resource.get_or_cancel(cancel).await {
            Ok(connection) => connection,
            Err(_) if Instant::now() >= deadline => return,
            Err(error) => {
                bump(match error {
                    Error::Allocate(_) => &counters.dial_errors,
                    Error::PutTimeout => &counters.hold_timeouts,
                    _ => &counters.capacity_timeouts, // Error::ResourceLimitExceeded
                });
                continue;
            }
        };
        exchange(
            connection,
            &format!("task {id} op {op}\n"),
            &mut echo,
            &counters,
        )
        .await;
    }
}

/// Sends `line` on a connection just got, checks its echo, and puts the
/// connection back (or releases it after an I/O error).
async fn exchange(
    mut connection: Guard<'_, Dialer>,
    line: &str,
    echo: &mut String,
    counters: &Counters,
) {
    bump(&counters.gets);
    echo.clear();
    let stream = &mut connection.stream;
    let sent = async {
        stream.write_all(line.as_bytes()).await?;
        match stream.read_line(echo).await? {
            0 => Err(io::Error::from(io::ErrorKind::UnexpectedEof)), // hung up
            _ => Ok(()),
        }
    };
    let failure = match timeout(EXCHANGE_TIMEOUT, sent).await {
        Ok(Ok(())) if echo == line => None,
        Ok(Ok(())) => Some(&counters.wrong_echoes),
        Ok(Err(_)) | Err(_) => Some(&counters.io_errors),
    };
    match failure {
        None => {
            bump(&counters.echoes);
            drop(connection); // the put: it stays open for the next get
        }
        Some(counter) => {
            bump(counter);
            connection.release().expect("Dialer::release does not fail");
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // On `--help`, prints the flags and exits with 0; on a bad flag or
    // value, prints why and exits with 2.
    run(Options::parse()).await
}

async fn run(
    Options {
        servers: server_count,
        max,
        tasks,
        duration,
        idle_timeout,
    }: Options,
) -> ExitCode {
    println!(
        "{server_count} echo servers, a pool of max {max} connections, {tasks} tasks, {duration:?}, idle timeout {idle_timeout:?}"
    );
    let counters = Arc::new(Counters::default());
    let pool = Pool::builder(max)
        .idle_timeout(idle_timeout)
        .check_after_idle(CHECK_AFTER_IDLE)
        .build();
    // Closes idle connections past their time; ends when the pool closes.
    let reaper = tokio::spawn(pool.reaper(sleep));
    let mut servers = JoinSet::new();
    let mut resources = Vec::new();
    for _ in 0..server_count {
        match start_server(&mut servers, &counters).await {
            // `create` dials nothing: the first get does.
            Ok(address) => resources.push(pool.create(Dialer {
                address,
                counters: counters.clone(),
            })),
            Err(error) => {
                eprintln!("error: cannot start an echo server on 127.0.0.1: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let resources = Arc::new(resources);

    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = JoinSet::new();
    for id in 0..tasks {
        workers.spawn(worker(id, resources.clone(), counters.clone(), deadline));
    }

    // Progress once a second, until every task is done.
    let mut echoes_so_far = 0;
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
        println!(
            "{:>4.1}s {:>7} ops/s   in_use {} idle {} allocating {} releasing {}   open: client {}, servers {}",
            start.elapsed().as_secs_f64(),
            read(&counters.echoes) - echoes_so_far,
            stats.in_use,
            stats.idle,
            stats.allocating,
            stats.releasing,
            read(&counters.client.now),
            read(&counters.server.now),
        );
        echoes_so_far = read(&counters.echoes);
    }
    let elapsed = start.elapsed();

    // A quiet spell, then one exchange with each server: connections idle
    // past --idle-timeout are closed meanwhile by the reaper, and any that a
    // server hung up on (silent for 2 s) are caught by the check and
    // replaced before use.
    let quiet = idle_timeout.min(Duration::from_secs(3)) + Duration::from_millis(500);
    let idle_before = pool.stats().idle;
    sleep(quiet).await;
    println!(
        "quiet for {quiet:.1?}: {idle_before} idle connections before, {} after ({} expired so far)",
        pool.stats().idle,
        pool.stats().totals.expired
    );
    let mut echo = String::new();
    for (server, resource) in resources.iter().enumerate() {
        match resource.get().await {
            Ok(connection) => {
                exchange(
                    connection,
                    &format!("burst {server}\n"),
                    &mut echo,
                    &counters,
                )
                .await;
            }
            Err(_) => bump(&counters.dial_errors),
        }
    }

    // Shut down. Every task is done, so every guard is back: `close` releases
    // the idle connections now, and `drained` resolves once none is live. The
    // servers then get a moment to read those ends of file, and stop.
    pool.close();
    pool.drained().await;
    reaper.await.expect("the reaper ends when the pool closes");
    let quiet = Instant::now() + Duration::from_secs(1);
    while read(&counters.server.now) > 0 && Instant::now() < quiet {
        sleep(Duration::from_millis(10)).await;
    }
    servers.shutdown().await;

    // The pool's own counts, exact now that nothing runs.
    let totals = pool.stats().totals;
    let (ops, gets, dials) = (
        read(&counters.echoes),
        read(&counters.gets),
        read(&counters.dials),
    );
    let (hold_timeouts, capacity_timeouts) = (
        read(&counters.hold_timeouts),
        read(&counters.capacity_timeouts),
    );
    let (client_peak, closes, wrong_echoes) = (
        read(&counters.client.peak),
        read(&counters.closes),
        read(&counters.wrong_echoes),
    );
    println!();
    println!(
        "operations     {ops} in {elapsed:.1?}, {:.0}/s",
        ops as f64 / elapsed.as_secs_f64()
    );
    println!(
        "reuse rate     {:.1}% of {gets} gets did not dial",
        100.0 * (gets - dials) as f64 / gets.max(1) as f64
    );
    println!(
        "dials          {dials} (the pool counted {} allocations)",
        totals.allocations
    );
    println!("closes         {closes} in all");
    for (count, label, why) in [
        (
            totals.evictions,
            "evictions",
            "the least recently used idle one, closed for another server's get",
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
            "found hung up by the check before reuse, and replaced",
        ),
        (totals.released, "by tasks", "released after an I/O error"),
        (totals.shed, "at close", "idle when pool.close() ran"),
    ] {
        println!("  {label:<12} {count:>6}  {why}");
    }
    println!(
        "waits          {} gets waited, {:.1?} in all, {:.1?} each on average; {} gave up (timed out, or cut short at the end)",
        totals.waits,
        totals.wait_time,
        totals.wait_time / u32::try_from(totals.waits.max(1)).unwrap_or(u32::MAX),
        totals.cancelled
    );
    println!(
        "timeouts       {} gets gave up after {GET_TIMEOUT:?}: {hold_timeouts} waiting for another task's guard, {capacity_timeouts} for a charge",
        hold_timeouts + capacity_timeouts
    );
    println!(
        "errors         {} dial, {} I/O, {wrong_echoes} wrong echo",
        read(&counters.dial_errors),
        read(&counters.io_errors)
    );
    println!(
        "open at once   at most {client_peak} (client side, max {max}); {} as the servers saw it",
        read(&counters.server.peak)
    );
    println!(
        "               a server counts a connection until the close has finished on its side,"
    );
    println!(
        "               later than the client dropped it: so servers may briefly see more than max"
    );
    println!(
        "open at exit   {} client side, {} as the servers see it",
        read(&counters.client.now),
        read(&counters.server.now)
    );

    let failure = if client_peak > max {
        format!("{client_peak} connections were open at once, more than max {max}")
    } else if wrong_echoes > 0 {
        format!("{wrong_echoes} lines came back different from what was sent")
    } else if closes != dials || read(&counters.client.now) != 0 {
        format!("{dials} connections were dialed but {closes} closed")
    } else {
        println!("\nok: connections open at once never exceeded max {max}");
        return ExitCode::SUCCESS;
    };
    eprintln!("\nFAILED: {failure}");
    ExitCode::FAILURE
}
