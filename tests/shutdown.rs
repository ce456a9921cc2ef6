//! `AllocateRelease::shutdown` (SPEC.md, "Releases that finish
//! asynchronously"): a get that frees a charge for itself (it evicts an idle
//! item, takes a hand-off, or replaces its own item past its time or failing
//! its check) awaits the item's `shutdown` before it allocates, and the item
//! counts in `stats().releasing` meanwhile. Paths that cannot await still call
//! `release`. Every item goes to exactly one of them, once.
//!
//! First a licence server on loopback, with a budget of sessions that it
//! frees only a few milliseconds after a client's goodbye: a pool whose
//! `shutdown` waits for the server's acknowledgement never overshoots it,
//! even with no slack. Then the rules one at a time, polled by hand on one
//! thread, and a stress over every runner that follows every item to its end.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Poll;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{assert_every_charge_usable, bounded, counts, Failed, Poller, Runner, Tracker, LIMIT};
use futures_lite::future::{block_on, yield_now};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use resourcepool::{AllocateRelease, Error, Pool, PoolBuilder, Resource, Stats};
use smol::Async;

// A licence server.

/// How long the server takes to free a session after the client's goodbye
/// (or its hang-up).
const FREE_DELAY: Duration = Duration::from_millis(5);

/// A server on loopback that admits at most `budget` sessions at once. A
/// client connects and reads "ok" or, if `budget` sessions are live,
/// "refused". A session ends with the client's "bye" (or its hang-up): the
/// server frees it `FREE_DELAY` later, then answers "ack" and closes.
struct LicenceServer {
    addr: SocketAddr,
    books: Arc<Books>,
    acceptor: Option<JoinHandle<()>>,
}

/// The server's counts.
struct Books {
    budget: usize,
    /// Sessions admitted and not yet freed.
    live: Mutex<usize>,
    /// Notified when a session is freed.
    freed: Condvar,
    admitted: AtomicUsize,
    refused: AtomicUsize,
    stop: AtomicBool,
}

impl LicenceServer {
    fn start(budget: usize) -> LicenceServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let books = Arc::new(Books {
            budget,
            live: Mutex::new(0),
            freed: Condvar::new(),
            admitted: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let acceptor = {
            let books = Arc::clone(&books);
            thread::spawn(move || accept(&listener, &books))
        };
        LicenceServer {
            addr,
            books,
            acceptor: Some(acceptor),
        }
    }

    fn refused(&self) -> usize {
        self.books.refused.load(Ordering::SeqCst)
    }

    fn admitted(&self) -> usize {
        self.books.admitted.load(Ordering::SeqCst)
    }

    /// Waits (at most `limit`) until no session is live, and returns how
    /// many still are.
    fn wait_until_all_freed(&self, limit: Duration) -> usize {
        let live = self.books.live.lock().unwrap();
        let (live, _) = self
            .books
            .freed
            .wait_timeout_while(live, limit, |live| *live > 0)
            .unwrap();
        *live
    }
}

impl Drop for LicenceServer {
    fn drop(&mut self) {
        self.books.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees `stop`.
        drop(TcpStream::connect(self.addr));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// The acceptor: admits or refuses each client in the order they arrive.
fn accept(listener: &TcpListener, books: &Arc<Books>) {
    for stream in listener.incoming() {
        if books.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        let admitted = {
            let mut live = books.live.lock().unwrap();
            let admitted = *live < books.budget;
            if admitted {
                *live += 1;
            }
            admitted
        };
        if admitted {
            books.admitted.fetch_add(1, Ordering::SeqCst);
            let books = Arc::clone(books);
            thread::spawn(move || session(stream, &books));
        } else {
            books.refused.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(b"refused\n");
        }
    }
}

/// One admitted session, on its own thread.
fn session(mut stream: TcpStream, books: &Books) {
    let _ = stream.write_all(b"ok\n");
    let mut line = Vec::new();
    let mut byte = [0];
    // Until the client's "bye", or its hang-up.
    while let Ok(1) = stream.read(&mut byte) {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    // The server's own clean-up takes a while; only then is the licence back.
    thread::sleep(FREE_DELAY);
    *books.live.lock().unwrap() -= 1;
    books.freed.notify_all();
    if line == b"bye" {
        let _ = stream.write_all(b"ack\n");
    }
}

/// A client of the licence server, with an async socket that works on every
/// runtime (async-io drives it from its own thread where no smol `block_on`
/// does).
#[derive(Clone, Debug)]
struct Client {
    addr: SocketAddr,
}

type Session = Async<TcpStream>;

/// Reads one line (without its "\n"); at the end of the stream, what came.
async fn read_line(stream: &Session) -> io::Result<Vec<u8>> {
    let mut reader = stream;
    let mut line = Vec::new();
    let mut byte = [0];
    while reader.read(&mut byte).await? == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    Ok(line)
}

impl Client {
    /// Opens a session: fails if the server refuses it.
    async fn open(&self) -> io::Result<Session> {
        let stream = Async::<TcpStream>::connect(self.addr).await?;
        match read_line(&stream).await?.as_slice() {
            b"ok" => Ok(stream),
            b"refused" => Err(io::Error::other("refused: no licence left")),
            other => Err(io::Error::other(format!("unexpected answer {other:?}"))),
        }
    }

    /// Says goodbye and hangs up, without waiting for the server to free
    /// the session (which it does `FREE_DELAY` later).
    fn hang_up(session: Session) -> io::Result<()> {
        // Four bytes into an empty send buffer: a non-blocking write takes them.
        (&mut session.get_ref()).write_all(b"bye\n")
    }

    /// Says goodbye and waits until the server acknowledges: by then it has
    /// freed the session.
    async fn give_back(session: Session) -> io::Result<()> {
        let mut writer = &session;
        writer.write_all(b"bye\n").await?;
        match read_line(&session).await?.as_slice() {
            b"ack" => Ok(()),
            other => Err(io::Error::other(format!("no ack but {other:?}"))),
        }
    }
}

/// A manager that overrides `shutdown` to wait for the server's ack.
///
/// Why: the server counts a session until its own clean-up has finished,
/// some time after the client's goodbye. A pool that passes the charge on as
/// soon as a synchronous `release` returns lets the next `allocate` reach the
/// server while the old session still holds a licence, and with no slack
/// between the pool's `max` and the server's budget the server refuses it.
/// A get that frees a charge for itself awaits `shutdown`, so the charge
/// (and the next `allocate`) waits for the server's word that the licence is
/// back. `release` still cannot wait: the paths that call it (`close`, a
/// scheduled release, ...) only say goodbye.
#[derive(Debug)]
struct AwaitsAck(Client);

impl AllocateRelease for AwaitsAck {
    type Item = Session;
    type Error = io::Error;

    async fn allocate(&self) -> io::Result<Session> {
        self.0.open().await
    }

    fn release(&self, session: Session) -> io::Result<()> {
        Client::hang_up(session)
    }

    async fn shutdown(&self, session: Session) -> io::Result<()> {
        Client::give_back(session).await
    }
}

/// A manager with the default `shutdown` (its `release`): it says goodbye and
/// hangs up, and the charge passes on at once.
#[derive(Debug)]
struct HangsUp(Client);

impl AllocateRelease for HangsUp {
    type Item = Session;
    type Error = io::Error;

    async fn allocate(&self) -> io::Result<Session> {
        self.0.open().await
    }

    fn release(&self, session: Session) -> io::Result<()> {
        Client::hang_up(session)
    }
}

/// The server's budget, and the pool's `max`: no slack.
const BUDGET: usize = 4;
/// Resources sharing the pool: three times its `max`.
const LICENSED: usize = 12;
/// Tasks (or threads) getting random resources.
const CHURN_TASKS: usize = 8;
/// How long they do (and at least `CHURN_MIN_GETS` gets each).
const CHURN_FOR: Duration = Duration::from_millis(600);
const CHURN_MIN_GETS: usize = 20;
/// How long a task waits after a refused get.
const REFUSED_BACKOFF: Duration = Duration::from_millis(1);

/// What a churn saw.
#[derive(Debug)]
struct Churned {
    /// Sessions the server refused.
    refused: usize,
    /// Gets that failed (each with the error of an `allocate`).
    failed_gets: usize,
    /// Gets that returned a guard.
    served: usize,
    /// Sessions opened.
    allocations: u64,
}

/// `CHURN_TASKS` tasks on `runner` get random ones of `LICENSED` resources
/// of a pool of `BUDGET`, against a licence server of `BUDGET`, for
/// `CHURN_FOR`; then the pool is closed and drained, and the server must see
/// every session freed.
fn churn<M: AllocateRelease<Error = io::Error>>(
    runner: Runner,
    manager: impl Fn(Client) -> M,
) -> Churned {
    let server = LicenceServer::start(BUDGET);
    let client = Client { addr: server.addr };
    let pool = Pool::new(BUDGET);
    let resources: Arc<Vec<_>> = Arc::new(
        (0..LICENSED)
            .map(|_| pool.create(manager(client.clone())))
            .collect(),
    );
    let failed_gets = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + CHURN_FOR;
    // `run_each` runs one task per handle it is given: each task ignores its
    // own and gets random ones.
    let handles = vec![resources[0].clone(); CHURN_TASKS];
    let task = {
        let (resources, failed_gets, served) =
            (resources.clone(), failed_gets.clone(), served.clone());
        move |_: Resource<M>, runner: Runner| {
            let (resources, failed_gets, served) =
                (resources.clone(), failed_gets.clone(), served.clone());
            async move {
                let mut rng = fastrand::Rng::new();
                let mut gets = 0;
                while gets < CHURN_MIN_GETS || Instant::now() < deadline {
                    gets += 1;
                    let resource = &resources[rng.usize(..LICENSED)];
                    match runner.get(resource).await {
                        Ok(guard) => {
                            served.fetch_add(1, Ordering::Relaxed);
                            runner.yield_now().await;
                            drop(guard);
                        }
                        Err(Error::Allocate(_)) => {
                            failed_gets.fetch_add(1, Ordering::Relaxed);
                            // Refused: back off, rather than open thousands
                            // of connections (each leaves a port in TIME_WAIT).
                            smol::Timer::after(REFUSED_BACKOFF).await;
                        }
                        Err(error) => panic!("a get failed: {error:?}"),
                    }
                }
            }
        }
    };
    runner.run_each(LIMIT, handles, task);

    let stats = pool.stats();
    assert_stats_possible(&stats);
    assert_eq!(counts(stats).0, 0, "a guard is still out: {stats:?}");
    pool.close();
    bounded(LIMIT, {
        let drained = pool.drained();
        move || block_on(drained)
    });
    assert_eq!(
        server.wait_until_all_freed(Duration::from_secs(10)),
        0,
        "the server still counts sessions the pool let go"
    );
    let churned = Churned {
        refused: server.refused(),
        failed_gets: failed_gets.load(Ordering::SeqCst),
        served: served.load(Ordering::SeqCst),
        allocations: pool.stats().totals.allocations,
    };
    assert_eq!(
        churned.allocations as usize,
        server.admitted(),
        "every session opened was an allocation: {churned:?}"
    );
    assert_eq!(
        churned.failed_gets, churned.refused,
        "every failed get was refused by the server: {churned:?}"
    );
    assert!(
        churned.allocations as usize > BUDGET,
        "no item was ever shut down to make room: {churned:?}"
    );
    churned
}

macro_rules! licence_churns {
    ($($module:ident => $runner:expr;)*) => {
        $(
            mod $module {
                use super::*;

                #[test]
                fn a_shutdown_that_awaits_the_ack_is_never_refused_at_zero_slack() {
                    let churned = churn($runner, AwaitsAck);
                    eprintln!("{:?}, shutdown awaits the ack: {churned:?}", $runner);
                    assert_eq!(
                        churned.refused, 0,
                        "the server refused sessions although every shutdown \
                         awaited its ack: {churned:?}"
                    );
                }

                #[test]
                fn the_default_shutdown_counts_refusals() {
                    // Refusals are likely (each eviction's next allocate races
                    // the server's clean-up) but not certain: only printed.
                    let churned = churn($runner, HangsUp);
                    eprintln!(
                        "{:?}, default shutdown (hang up at once): {} of {} connections \
                         refused, {} gets served",
                        $runner,
                        churned.refused,
                        churned.refused + churned.allocations as usize,
                        churned.served
                    );
                }
            }
        )*
    };
}

licence_churns! {
    tokio_licences => Runner::Tokio;
    smol_licences => Runner::Smol;
    async_std_licences => Runner::AsyncStd;
    os_threads_licences => Runner::Threads;
}

// A manager that follows every item to its end.

/// What the next `check` of a `Probe` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checks {
    Pass,
    Fail,
    /// Fails one time in eight.
    FailSometimes,
}

/// What the `Probe` managers of one test saw, and what they are told to do.
#[derive(Debug)]
struct Ledger {
    max: usize,
    /// Items from the start of their `allocate` until they are dropped.
    live: AtomicUsize,
    /// Set if `live` ever exceeded `max`.
    exceeded: AtomicBool,
    /// Serials handed out by `allocate`.
    allocations: AtomicUsize,
    /// `shutdown` calls running now.
    shutting_down: AtomicUsize,
    /// `allocate` calls that started while a `shutdown` ran.
    overlaps: AtomicUsize,
    /// The serials given to `release`, to `shutdown`, whose `shutdown`
    /// completed, and dropped, in order.
    released: Mutex<Vec<usize>>,
    shut_down: Mutex<Vec<usize>>,
    completed: Mutex<Vec<usize>>,
    dropped: Mutex<Vec<usize>>,
    /// If set, the next `shutdown` waits for a message on it (or its
    /// sender's drop) before it goes on.
    gate: Mutex<Option<smol::channel::Receiver<()>>>,
    /// The next `shutdown` panics (after its gate and yields).
    panic_next_shutdown: AtomicBool,
    /// Times each `shutdown` yields: it is pending for as many polls.
    shutdown_yields: usize,
    checks: Mutex<Checks>,
}

/// What a `Probe`'s `shutdown` panics with.
const SHUTDOWN_PANIC: &str = "shutdown panicked on purpose";

impl Ledger {
    fn new(max: usize, shutdown_yields: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            max,
            live: AtomicUsize::new(0),
            exceeded: AtomicBool::new(false),
            allocations: AtomicUsize::new(0),
            shutting_down: AtomicUsize::new(0),
            overlaps: AtomicUsize::new(0),
            released: Mutex::new(Vec::new()),
            shut_down: Mutex::new(Vec::new()),
            completed: Mutex::new(Vec::new()),
            dropped: Mutex::new(Vec::new()),
            gate: Mutex::new(None),
            panic_next_shutdown: AtomicBool::new(false),
            shutdown_yields,
            checks: Mutex::new(Checks::Pass),
        })
    }

    /// The next `shutdown` waits until the returned sender sends (or is
    /// dropped).
    fn hold_next_shutdown(&self) -> smol::channel::Sender<()> {
        let (sender, receiver) = smol::channel::bounded(1);
        *self.gate.lock().unwrap() = Some(receiver);
        sender
    }

    fn set_checks(&self, checks: Checks) {
        *self.checks.lock().unwrap() = checks;
    }

    fn released(&self) -> Vec<usize> {
        self.released.lock().unwrap().clone()
    }
    fn shut_down(&self) -> Vec<usize> {
        self.shut_down.lock().unwrap().clone()
    }
    fn completed(&self) -> Vec<usize> {
        self.completed.lock().unwrap().clone()
    }
    fn dropped(&self) -> Vec<usize> {
        self.dropped.lock().unwrap().clone()
    }
    fn overlaps(&self) -> usize {
        self.overlaps.load(Ordering::SeqCst)
    }
    fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Every item allocated so far went to exactly one of `release` and
    /// `shutdown`, once, and was dropped once; none is alive.
    fn assert_every_item_ended_once(&self) {
        let allocations = self.allocations.load(Ordering::SeqCst);
        let mut given: HashMap<usize, Vec<&str>> = HashMap::new();
        for serial in self.released() {
            given.entry(serial).or_default().push("release");
        }
        for serial in self.shut_down() {
            given.entry(serial).or_default().push("shutdown");
        }
        for serial in 0..allocations {
            match given.get(&serial).map(Vec::as_slice) {
                Some([_]) => {}
                None => panic!("item {serial} went to neither release nor shutdown"),
                Some(calls) => panic!("item {serial} was given to {calls:?}"),
            }
        }
        assert_eq!(given.len(), allocations, "an unknown item was ended");
        let mut dropped = self.dropped();
        dropped.sort_unstable();
        assert_eq!(
            dropped,
            (0..allocations).collect::<Vec<_>>(),
            "an item was not dropped exactly once"
        );
        let shut_down = self.shut_down();
        for serial in self.completed() {
            assert!(shut_down.contains(&serial));
        }
        assert_eq!(self.live(), 0, "an item is still alive");
        assert!(
            !self.exceeded.load(Ordering::SeqCst),
            "live items exceeded max {}",
            self.max
        );
    }
}

/// An item: which resource, and which allocation (its serial). Its drop is
/// recorded: the item is gone.
#[derive(Debug)]
struct Ticket {
    key: usize,
    serial: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.ledger.dropped.lock().unwrap().push(self.serial);
        self.ledger.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a running `shutdown`, until it returns, panics or is dropped.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A manager that records every item's end in its `Ledger`, and whose
/// `shutdown` can be held, made to panic, or left pending for a few polls.
#[derive(Debug)]
struct Probe {
    key: usize,
    ledger: Arc<Ledger>,
}

impl AllocateRelease for Probe {
    type Item = Ticket;
    type Error = Failed;

    async fn allocate(&self) -> Result<Ticket, Failed> {
        let ledger = &self.ledger;
        if ledger.shutting_down.load(Ordering::SeqCst) > 0 {
            ledger.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        if ledger.live.fetch_add(1, Ordering::SeqCst) + 1 > ledger.max {
            ledger.exceeded.store(true, Ordering::SeqCst);
        }
        Ok(Ticket {
            key: self.key,
            serial: ledger.allocations.fetch_add(1, Ordering::SeqCst),
            ledger: Arc::clone(ledger),
        })
    }

    fn release(&self, ticket: Ticket) -> Result<(), Failed> {
        assert_eq!(ticket.key, self.key, "released another resource's item");
        self.ledger.released.lock().unwrap().push(ticket.serial);
        drop(ticket);
        Ok(())
    }

    async fn check(&self, _: &mut Ticket) -> Result<(), Failed> {
        let fails = match *self.ledger.checks.lock().unwrap() {
            Checks::Pass => false,
            Checks::Fail => true,
            Checks::FailSometimes => fastrand::u8(..8) == 0,
        };
        if fails {
            Err(Failed("check failed on purpose"))
        } else {
            Ok(())
        }
    }

    async fn shutdown(&self, ticket: Ticket) -> Result<(), Failed> {
        assert_eq!(ticket.key, self.key, "shut down another resource's item");
        let ledger = &self.ledger;
        ledger.shut_down.lock().unwrap().push(ticket.serial);
        ledger.shutting_down.fetch_add(1, Ordering::SeqCst);
        let running = Running(&ledger.shutting_down);
        let gate = ledger.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.recv().await;
        }
        for _ in 0..ledger.shutdown_yields {
            yield_now().await;
        }
        if ledger.panic_next_shutdown.swap(false, Ordering::SeqCst) {
            panic!("{SHUTDOWN_PANIC}");
        }
        ledger.completed.lock().unwrap().push(ticket.serial);
        drop(ticket);
        drop(running);
        Ok(())
    }
}

/// A `Probe` of another manager type: a get of one evicting the other's item
/// shuts it down through the pool's type-erased path.
#[derive(Debug)]
struct OtherProbe(Probe);

impl AllocateRelease for OtherProbe {
    type Item = Ticket;
    type Error = Failed;

    async fn allocate(&self) -> Result<Ticket, Failed> {
        self.0.allocate().await
    }
    fn release(&self, ticket: Ticket) -> Result<(), Failed> {
        self.0.release(ticket)
    }
    async fn shutdown(&self, ticket: Ticket) -> Result<(), Failed> {
        self.0.shutdown(ticket).await
    }
}

/// A pool that `builder` makes, its ledger, and `N` `Probe` resources (keys
/// `0..N`) whose shutdowns yield `shutdown_yields` times.
fn probes<const N: usize>(
    builder: PoolBuilder,
    shutdown_yields: usize,
) -> (Pool, Arc<Ledger>, [Resource<Probe>; N]) {
    let pool = builder.build();
    let ledger = Ledger::new(pool.max(), shutdown_yields);
    let resources = std::array::from_fn(|key| {
        pool.create(Probe {
            key,
            ledger: Arc::clone(&ledger),
        })
    });
    (pool, ledger, resources)
}

/// `Stats` describes a state that could exist.
fn assert_stats_possible(stats: &Stats) {
    let max = stats.max;
    assert!(stats.in_use <= max, "{stats:?}");
    assert!(stats.idle <= max, "{stats:?}");
    assert!(stats.allocating <= max, "{stats:?}");
    assert!(stats.releasing <= max, "{stats:?}");
    assert!(stats.in_use + stats.idle <= max, "{stats:?}");
}

/// Closes the pool, waits until it is drained, and checks that every item
/// ended exactly once.
fn close_and_check(pool: &Pool, ledger: &Ledger) {
    pool.close();
    block_on(pool.drained());
    assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
    ledger.assert_every_item_ended_once();
}

/// Runs `body`, which must panic, and returns the message it panicked with.
fn panic_message(body: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(body)).expect_err("no panic");
    match payload.downcast::<&str>() {
        Ok(message) => message.to_string(),
        Err(payload) => *payload.downcast::<String>().unwrap(),
    }
}

/// Polls `get` (again while it wakes itself) and returns the serial of the
/// item it returned; fails the test if it is pending or failed.
fn served<F, G>(poller: &Poller, get: std::pin::Pin<&mut F>) -> usize
where
    F: Future<Output = Result<G, Error<Failed>>>,
    G: std::ops::Deref<Target = Ticket>,
{
    match poller.poll_woken(get) {
        Poll::Ready(Ok(guard)) => guard.serial,
        Poll::Ready(Err(error)) => panic!("the get failed: {error:?}"),
        Poll::Pending => panic!("the get is still pending"),
    }
}

// The rules, one at a time.

#[test]
fn no_allocate_starts_while_the_shutdown_whose_charge_it_takes_runs() {
    bounded(LIMIT, || {
        // Max 1: a get of one resource evicts the other's item, and its
        // allocate takes the charge of that item's shutdown, which stays
        // pending for three polls.
        let (pool, ledger, [a, b]) = probes(Pool::builder(1), 3);
        for round in 0..50 {
            let serial = block_on(a.get()).unwrap().serial;
            assert_eq!(serial, 2 * round);
            assert_eq!(block_on(b.get()).unwrap().serial, 2 * round + 1);
        }
        assert_eq!(ledger.overlaps(), 0, "an allocate ran during a shutdown");
        assert_eq!(ledger.shut_down(), (0..99).collect::<Vec<_>>());
        assert_eq!(ledger.completed(), ledger.shut_down());
        assert_eq!(ledger.released(), [], "an eviction called release");
        let totals = pool.stats().totals;
        assert_eq!((totals.evictions, totals.allocations), (99, 100));
        close_and_check(&pool, &ledger);
        assert_eq!(
            ledger.released(),
            [99],
            "the close releases, it cannot await"
        );
    });
}

/// Max 1, three resources of the runner's tasks, each looping get / yield /
/// put: whatever the interleaving, one charge means that no allocate may
/// start while any shutdown runs.
fn one_charge_never_overlaps(runner: Runner) {
    const CYCLES: usize = 300;
    let (pool, ledger, resources) = probes::<3>(Pool::builder(1), 2);
    runner.run_each(LIMIT, resources.to_vec(), |resource, runner| async move {
        for _ in 0..CYCLES {
            let guard = runner.get(&resource).await.unwrap();
            assert_eq!(guard.key, resource.manager().key);
            runner.yield_now().await;
            drop(guard);
        }
    });
    assert_eq!(ledger.overlaps(), 0, "an allocate ran during a shutdown");
    assert!(ledger.shut_down().len() >= 2, "too little churn to tell");
    assert_eq!(
        ledger.released(),
        [],
        "a get's eviction or hand-off released"
    );
    close_and_check(&pool, &ledger);
}

#[test]
fn one_charge_never_overlaps_on_tokio() {
    one_charge_never_overlaps(Runner::Tokio);
}

#[test]
fn one_charge_never_overlaps_on_smol() {
    one_charge_never_overlaps(Runner::Smol);
}

#[test]
fn one_charge_never_overlaps_on_async_std() {
    one_charge_never_overlaps(Runner::AsyncStd);
}

#[test]
fn one_charge_never_overlaps_on_threads() {
    one_charge_never_overlaps(Runner::Threads);
}

#[test]
fn the_item_counts_in_releasing_while_its_shutdown_runs() {
    bounded(LIMIT, || {
        let (pool, ledger, [a, b]) = probes(Pool::builder(1), 0);
        drop(block_on(a.get()).unwrap());
        let gate = ledger.hold_next_shutdown();
        let poller = Poller::new();
        let mut get = pin!(b.get());
        assert!(poller.poll(get.as_mut()).is_pending(), "shutdown is held");
        assert_eq!(ledger.shut_down(), [0]);
        let stats = pool.stats();
        assert_eq!(counts(stats), (0, 0, 0, 1), "{stats:?}");
        assert_eq!(stats.totals.evictions, 1);
        assert!(!a.is_allocated() && !b.is_allocated());
        assert_eq!(
            ledger.allocations.load(Ordering::SeqCst),
            1,
            "allocated early"
        );
        // Still held: polling again changes nothing.
        assert!(poller.poll(get.as_mut()).is_pending());
        assert_eq!(counts(pool.stats()), (0, 0, 0, 1));
        gate.send_blocking(()).unwrap();
        assert!(poller.wakes() > 0, "the open gate did not wake the get");
        assert_eq!(served(&poller, get.as_mut()), 1);
        assert_eq!(ledger.completed(), [0]);
        assert_eq!(counts(pool.stats()), (0, 1, 0, 0));
        assert_eq!(ledger.overlaps(), 0);
        assert_eq!(ledger.released(), []);
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn a_get_dropped_while_it_awaits_shutdown_drops_the_item_and_frees_the_charge() {
    bounded(LIMIT, || {
        let (pool, ledger, [a, b, c]) = probes(Pool::builder(1), 0);
        drop(block_on(a.get()).unwrap());
        let gate = ledger.hold_next_shutdown();
        {
            let poller = Poller::new();
            let mut get = pin!(b.get());
            assert!(poller.poll(get.as_mut()).is_pending(), "shutdown is held");
            assert_eq!(ledger.shut_down(), [0]);
            assert_eq!(ledger.dropped(), []);
        } // the get, and its shutdown, dropped
        assert_eq!(
            ledger.dropped(),
            [0],
            "the item did not go with the shutdown"
        );
        assert_eq!(ledger.completed(), []);
        assert_eq!(
            ledger.released(),
            [],
            "the dropped shutdown's item was released"
        );
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert!(!a.is_allocated() && !b.is_allocated());
        assert_eq!(ledger.live(), 0);
        drop(gate);
        // The charge is free: c gets it without waiting or evicting.
        let guard = block_on(c.try_get()).expect("the charge was not freed");
        assert_eq!(guard.serial, 1);
        drop(guard);
        assert_eq!(ledger.shut_down(), [0], "c's get shut something down");
        // b's hold was let go: b gets again, evicting c.
        assert_eq!(block_on(b.try_get()).unwrap().serial, 2);
        assert_eq!(ledger.shut_down(), [0, 1]);
        assert_eq!(ledger.released(), []);
        let totals = pool.stats().totals;
        assert_eq!(totals.cancelled, 1, "{totals:?}");
        assert_eq!(totals.allocations, 3, "{totals:?}");
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn a_panicking_shutdown_reaches_the_caller_and_leaves_the_pool_whole() {
    bounded(LIMIT, || {
        let (pool, ledger, [a, b]) = probes(Pool::builder(1), 1);
        drop(block_on(a.get()).unwrap());
        ledger.panic_next_shutdown.store(true, Ordering::SeqCst);
        let message = panic_message(|| drop(block_on(b.get())));
        assert_eq!(message, SHUTDOWN_PANIC);
        assert_eq!(ledger.shut_down(), [0]);
        assert_eq!(ledger.dropped(), [0], "the item did not go with the panic");
        assert_eq!(
            ledger.released(),
            [],
            "the panicked shutdown's item was released"
        );
        assert_eq!(ledger.allocations.load(Ordering::SeqCst), 1, "b allocated");
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0), "{:?}", pool.stats());
        assert!(!a.is_allocated() && !b.is_allocated());
        // The charge is free and b's hold let go: b gets without waiting.
        let guard = block_on(b.try_get()).expect("the charge or the hold is lost");
        assert_eq!(guard.serial, 1);
        drop(guard);
        // a, evicting b: the next shutdown does not panic.
        assert_eq!(block_on(a.try_get()).unwrap().serial, 2);
        assert_eq!(ledger.completed(), [1]);
        assert_every_charge_usable(&pool, &Tracker::new(1));
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn a_handoff_gives_the_waiting_get_the_puts_item_to_shut_down() {
    bounded(LIMIT, || {
        let builder = Pool::builder(1).handoff_after(Duration::ZERO);
        let (pool, ledger, [a, b]) = probes(builder, 1);
        let held = block_on(a.get()).unwrap();
        let poller = Poller::new();
        let mut waiting = pin!(b.get());
        assert!(poller.poll(waiting.as_mut()).is_pending(), "no capacity");
        assert_eq!(pool.stats().waiting, 1);
        let gate = ledger.hold_next_shutdown();
        drop(held); // handed over to b's get
        assert_eq!(pool.stats().totals.handoffs, 1);
        assert_eq!(ledger.released(), [], "the put released the handed item");
        assert_eq!(ledger.shut_down(), [], "the put shut the item down itself");
        assert!(poller.wakes() > 0, "the put did not wake the waiting get");
        assert!(poller.poll_woken(waiting.as_mut()).is_pending(), "held");
        assert_eq!(
            ledger.shut_down(),
            [0],
            "the waiting get did not shut it down"
        );
        assert_eq!(counts(pool.stats()), (0, 0, 0, 1));
        gate.send_blocking(()).unwrap();
        assert_eq!(served(&poller, waiting.as_mut()), 1);
        assert_eq!(ledger.completed(), [0]);
        assert_eq!(ledger.released(), []);
        assert_eq!(ledger.overlaps(), 0);
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn an_item_of_another_manager_type_is_shut_down_too() {
    bounded(LIMIT, || {
        let pool = Pool::new(1);
        let ledger = Ledger::new(1, 1);
        let a = pool.create(Probe {
            key: 0,
            ledger: Arc::clone(&ledger),
        });
        let b = pool.create(OtherProbe(Probe {
            key: 1,
            ledger: Arc::clone(&ledger),
        }));
        drop(block_on(a.get()).unwrap());
        // b's get, dropped while it shuts down a's item.
        let gate = ledger.hold_next_shutdown();
        {
            let poller = Poller::new();
            let mut get = pin!(b.get());
            assert!(poller.poll(get.as_mut()).is_pending(), "shutdown is held");
            assert_eq!(ledger.shut_down(), [0]);
            assert_eq!(counts(pool.stats()), (0, 0, 0, 1));
        }
        drop(gate);
        assert_eq!(ledger.dropped(), [0]);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        // Again, to the end: a's item is shut down, then b's allocated.
        drop(block_on(a.get()).unwrap());
        assert_eq!(block_on(b.get()).unwrap().serial, 2);
        assert_eq!(ledger.shut_down(), [0, 1]);
        assert_eq!(ledger.completed(), [1]);
        // And back: b's item, shut down for a's get.
        assert_eq!(block_on(a.get()).unwrap().serial, 3);
        assert_eq!(ledger.shut_down(), [0, 1, 2]);
        assert_eq!(ledger.released(), []);
        assert_eq!(ledger.overlaps(), 0);
        close_and_check(&pool, &ledger);
    });
}

/// A pool of max 1 whose items expire after 10 s idle on a clock the test
/// moves, and its one resource, with an idle item past its time.
fn expired_item() -> (Pool, Arc<Ledger>, Resource<Probe>) {
    let now = Arc::new(Mutex::new(Instant::now()));
    let clock = Arc::clone(&now);
    let builder = Pool::builder(1)
        .idle_timeout(Duration::from_secs(10))
        .clock(move || *clock.lock().unwrap());
    let (pool, ledger, [a]) = probes(builder, 1);
    drop(block_on(a.get()).unwrap());
    *now.lock().unwrap() += Duration::from_secs(11);
    (pool, ledger, a)
}

#[test]
fn an_expired_item_is_shut_down_by_the_get_that_replaces_it() {
    bounded(LIMIT, || {
        let (pool, ledger, a) = expired_item();
        let gate = ledger.hold_next_shutdown();
        let poller = Poller::new();
        let mut get = pin!(a.get());
        assert!(poller.poll(get.as_mut()).is_pending(), "shutdown is held");
        assert_eq!(ledger.shut_down(), [0]);
        let stats = pool.stats();
        assert_eq!(counts(stats), (0, 0, 0, 1), "{stats:?}");
        assert_eq!(stats.totals.expired, 1);
        gate.send_blocking(()).unwrap();
        assert_eq!(served(&poller, get.as_mut()), 1);
        assert_eq!(ledger.completed(), [0]);
        assert_eq!(ledger.released(), [], "the expired item was released");
        assert_eq!(ledger.overlaps(), 0);
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn a_get_dropped_while_it_shuts_down_its_expired_item_frees_the_charge_and_the_hold() {
    bounded(LIMIT, || {
        let (pool, ledger, a) = expired_item();
        let gate = ledger.hold_next_shutdown();
        {
            let poller = Poller::new();
            let mut get = pin!(a.get());
            assert!(poller.poll(get.as_mut()).is_pending(), "shutdown is held");
        }
        drop(gate);
        assert_eq!(ledger.dropped(), [0]);
        assert_eq!(ledger.released(), []);
        assert_eq!(counts(pool.stats()), (0, 0, 0, 0));
        assert!(!a.is_allocated());
        assert_eq!(block_on(a.try_get()).unwrap().serial, 1);
        assert_every_charge_usable(&pool, &Tracker::new(1));
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn an_item_failing_its_check_is_shut_down_by_the_get_that_replaces_it() {
    bounded(LIMIT, || {
        let builder = Pool::builder(1).check_after_idle(Duration::ZERO);
        let (pool, ledger, [a]) = probes(builder, 2);
        drop(block_on(a.get()).unwrap());
        ledger.set_checks(Checks::Fail);
        assert_eq!(block_on(a.get()).unwrap().serial, 1);
        assert_eq!(ledger.shut_down(), [0]);
        assert_eq!(ledger.completed(), [0]);
        assert_eq!(ledger.released(), [], "the failing item was released");
        assert_eq!(ledger.overlaps(), 0);
        let totals = pool.stats().totals;
        assert_eq!((totals.check_failures, totals.allocations), (1, 2));
        close_and_check(&pool, &ledger);
    });
}

#[test]
fn the_paths_that_cannot_await_still_release() {
    bounded(LIMIT, || {
        let (pool, ledger, [a, b, c]) = probes(Pool::builder(3), 0);
        block_on(a.get()).unwrap().release().unwrap();
        assert_eq!(ledger.released(), [0]);
        drop(block_on(b.get()).unwrap());
        b.schedule_release().unwrap();
        assert_eq!(ledger.released(), [0, 1]);
        drop(block_on(c.get()).unwrap());
        drop(c); // the last handle
        assert_eq!(ledger.released(), [0, 1, 2]);
        drop(block_on(a.get()).unwrap());
        pool.set_max(1);
        drop(block_on(b.get()).unwrap()); // evicts a's item: shut down
        assert_eq!(ledger.shut_down(), [3]);
        pool.set_max(2);
        drop(block_on(a.get()).unwrap());
        pool.set_max(1); // sheds the least recently used: b's
        assert_eq!(ledger.released(), [0, 1, 2, 4]);
        close_and_check(&pool, &ledger);
        assert_eq!(ledger.released(), [0, 1, 2, 4, 5]);
        assert_eq!(ledger.shut_down(), [3]);
    });
}

// Exactly once, under stress.

/// The pool's limit in the stress.
const STRESS_MAX: usize = 3;
/// Resources sharing it.
const STRESS_RESOURCES: usize = 10;
/// Tasks (or threads) in the stress.
const STRESS_TASKS: usize = 8;
/// How long they run (and at least `STRESS_MIN_STEPS` steps each).
const STRESS_FOR: Duration = Duration::from_millis(400);
const STRESS_MIN_STEPS: usize = 200;

/// `STRESS_TASKS` tasks on `runner` over `STRESS_RESOURCES` resources of a
/// pool of `STRESS_MAX` that `builder` makes (checking every reuse, failing
/// one check in eight), each looping random steps: get and put, get and
/// release, schedule a release, `try_get`, or a get polled once and dropped
/// (perhaps in the middle of a shutdown). Every item must end exactly once,
/// in `release` or in `shutdown`, and live items never exceed `max`.
fn stress(runner: Runner, builder: PoolBuilder) {
    let builder = builder.check_after_idle(Duration::ZERO);
    let (pool, ledger, resources) = probes::<STRESS_RESOURCES>(builder, 2);
    ledger.set_checks(Checks::FailSometimes);
    let resources = Arc::new(resources);
    let deadline = Instant::now() + STRESS_FOR;
    // `run_each` runs one task per handle it is given: each task ignores its
    // own and picks random ones.
    let handles = resources[..STRESS_TASKS].to_vec();
    let task = {
        let resources = Arc::clone(&resources);
        move |_: Resource<Probe>, runner: Runner| {
            let resources = Arc::clone(&resources);
            async move {
                let mut rng = fastrand::Rng::new();
                let mut steps = 0_usize;
                while steps < STRESS_MIN_STEPS || Instant::now() < deadline {
                    steps += 1;
                    let resource = &resources[rng.usize(..STRESS_RESOURCES)];
                    match rng.u8(..10) {
                        0 => runner.get(resource).await.unwrap().release().unwrap(),
                        1 => resources[rng.usize(..STRESS_RESOURCES)]
                            .schedule_release()
                            .unwrap(),
                        2 => match resource.try_get().await {
                            Ok(guard) => drop(guard),
                            // Refused: the pool is full, or this resource is held.
                            Err(Error::ResourceLimitExceeded | Error::PutTimeout) => {}
                            Err(error) => panic!("try_get failed: {error:?}"),
                        },
                        3 => {
                            let mut get = pin!(resource.get());
                            drop(common::poll_by_hand(get.as_mut()));
                        }
                        4 => {
                            let guard = runner.get(resource).await.unwrap();
                            resource.schedule_release().unwrap();
                            drop(guard); // released at this put
                        }
                        _ => {
                            let guard = runner.get(resource).await.unwrap();
                            runner.yield_now().await;
                            drop(guard);
                        }
                    }
                    if steps % 16 == 0 {
                        assert_stats_possible(&resource.pool().stats());
                    }
                }
            }
        }
    };
    runner.run_each(LIMIT, handles, task);
    let stats = pool.stats();
    assert_stats_possible(&stats);
    assert_eq!(stats.in_use, 0, "{stats:?}");
    let (released, shut_down) = (ledger.released().len(), ledger.shut_down().len());
    eprintln!(
        "{runner:?}: {} items, {released} released, {shut_down} shut down, {:?}",
        ledger.allocations.load(Ordering::SeqCst),
        stats.totals
    );
    assert!(shut_down > 0 && released > 0, "too little churn to tell");
    assert_eq!(
        stats.totals.allocations as usize,
        ledger.allocations.load(Ordering::SeqCst)
    );
    close_and_check(&pool, &ledger);
}

macro_rules! stresses {
    ($($module:ident => $runner:expr;)*) => {
        $(
            mod $module {
                use super::*;

                #[test]
                fn every_item_ends_once_in_release_or_shutdown() {
                    stress($runner, Pool::builder(STRESS_MAX));
                }

                #[test]
                fn every_item_ends_once_with_a_handoff_on_every_put() {
                    stress($runner, Pool::builder(STRESS_MAX).handoff_after(Duration::ZERO));
                }
            }
        )*
    };
}

stresses! {
    tokio_stress => Runner::Tokio;
    smol_stress => Runner::Smol;
    async_std_stress => Runner::AsyncStd;
    os_threads_stress => Runner::Threads;
}
