//! Against a real PostgreSQL server: a throwaway cluster (`initdb` into a
//! temporary directory, a Unix socket only), started once for this test
//! binary and stopped, its directory removed, when the binary ends, however
//! it ends (see `examples/support/pg.rs`).
//!
//! - The pool's cap holds against the server's own limit: with
//!   `max_connections` only a little above `max`, many tenants and a
//!   concurrent load, the server never shows more than `max` of the pool's
//!   backends, and no query fails. Dials that the server refuses ("too many
//!   clients", while it still counts a connection the client has closed) are
//!   retried and counted; with a `shutdown` that waits for the server to hang
//!   up, there are none.
//! - Eviction closes the least recently used tenant's connection, as the
//!   server sees it, before the get that evicts it dials.
//! - A backend terminated while its connection is idle is replaced: the
//!   check on reuse fails, and the get dials afresh.
//! - `Guard::release` after a query error: the next get dials afresh.
//! - `close` and `drained` leave no backend on the server.
//!
//! The tests share the server, so they run one at a time. Without the
//! PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres` on `PATH` or in
//! `/usr/lib/postgresql/<version>/bin`), they say so in one line and pass.

#[path = "../examples/support/pg.rs"]
#[allow(dead_code)] // what only the example uses
mod pg;

use std::collections::BTreeSet;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use resourcepool::{AllocateRelease, Error, Pool, Resource};
use tokio::sync::{Mutex, MutexGuard, OnceCell};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, timeout, Instant};
use tokio_postgres::Client;

/// The pool's `max` in the load tests.
const MAX: usize = 6;
/// The server's limit: `MAX`, the test's admin connection, and one more.
const MAX_CONNECTIONS: usize = MAX + 2;
/// Tenant databases, one resource each.
const TENANTS: usize = 12;
/// Tasks of the load tests, and how long they run.
const TASKS: usize = 32;
const LOAD: Duration = Duration::from_millis(1500);
/// A dial refused for want of a slot is tried this many times in all.
const DIAL_ATTEMPTS: u32 = 40;
/// How long a shutdown waits for the server to hang up, and how long the
/// tests wait for the server to let backends go.
const HANG_UP_WAIT: Duration = Duration::from_secs(5);
/// The most one test may take.
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// The cluster and its tenant databases, shared by the tests.
struct Server {
    cluster: pg::Cluster,
    tenants: Vec<String>,
}

/// The server, started by the first test that asks (`None`: no binaries),
/// and the lock that makes the tests take turns on it.
async fn server() -> (Option<&'static Server>, MutexGuard<'static, ()>) {
    static TURN: Mutex<()> = Mutex::const_new(());
    static SERVER: OnceCell<Option<Server>> = OnceCell::const_new();
    let turn = TURN.lock().await;
    let server = SERVER
        .get_or_init(|| async {
            let Some(bin) = pg::find_binaries() else {
                // Past the test harness's capture of print!: one line, once.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIP tests/postgres.rs: no PostgreSQL server binaries (initdb, pg_ctl, postgres) \
                     on PATH or in /usr/lib/postgresql/<version>/bin; these tests pass without running"
                );
                return None;
            };
            let cluster = pg::Cluster::start(&bin, MAX_CONNECTIONS)
                .unwrap_or_else(|error| panic!("cannot start a PostgreSQL cluster: {error}"));
            let tenants: Vec<String> = (0..TENANTS).map(|i| format!("tenant_{i:02}")).collect();
            cluster
                .create_databases(&tenants, "CREATE TABLE visits (n bigint NOT NULL); INSERT INTO visits VALUES (0);")
                .await
                .unwrap_or_else(|error| panic!("cannot create the tenant databases: {error}"));
            Some(Server { cluster, tenants })
        })
        .await
        .as_ref();
    (server, turn)
}

/// Runs a test's body against the server, within `TEST_LIMIT`; passes
/// without running it if there is no server.
async fn with_server<F: Future<Output = ()>>(body: impl FnOnce(&'static Server) -> F) {
    let (Some(server), _turn) = server().await else {
        return;
    };
    timeout(TEST_LIMIT, body(server))
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_LIMIT:?}"));
}

/// What the managers of one test share.
struct Shared {
    cluster: &'static pg::Cluster,
    /// Whether `shutdown` waits for the server to hang up; else it is the
    /// default, `release`.
    wait_for_hang_up: bool,
    dials: AtomicUsize,
    /// Dials refused for want of a slot, each retried.
    refused: AtomicUsize,
    /// Connections whose server has not hung up yet, as the client sees it.
    connected: AtomicUsize,
}

/// One tenant's connection.
struct Tenant {
    database: String,
    config: tokio_postgres::Config,
    shared: Arc<Shared>,
}

struct Session {
    client: Client,
    /// The backend's process id.
    pid: i32,
    hung_up: JoinHandle<()>,
}

impl AllocateRelease for Tenant {
    type Item = Session;
    type Error = pg::Error;

    async fn allocate(&self) -> Result<Session, pg::Error> {
        let shared = &self.shared;
        let mut attempt = 1;
        let (client, connection) = loop {
            match shared.cluster.connect(&self.config).await {
                Ok(connected) => break connected,
                Err(error) if error.is_too_many_clients() && attempt < DIAL_ATTEMPTS => {
                    shared.refused.fetch_add(1, SeqCst);
                    sleep(Duration::from_millis(2 << attempt.min(5))).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        };
        shared.dials.fetch_add(1, SeqCst);
        shared.connected.fetch_add(1, SeqCst);
        let counted = shared.clone();
        let hung_up = tokio::spawn(async move {
            pg::until_hang_up(connection).await;
            counted.connected.fetch_sub(1, SeqCst);
        });
        let pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await?
            .get(0);
        Ok(Session {
            client,
            pid,
            hung_up,
        })
    }

    fn release(&self, session: Session) -> Result<(), pg::Error> {
        drop(session.client);
        Ok(())
    }

    async fn check(&self, session: &mut Session) -> Result<(), pg::Error> {
        if session.client.is_closed() {
            return Err(pg::Error::Closed);
        }
        Ok(session.client.check_connection().await?)
    }

    async fn shutdown(&self, session: Session) -> Result<(), pg::Error> {
        if !self.shared.wait_for_hang_up {
            return self.release(session);
        }
        drop(session.client); // the goodbye
        timeout(HANG_UP_WAIT, session.hung_up)
            .await
            .map(drop)
            .map_err(|_| pg::Error::NoHangUp(HANG_UP_WAIT))
    }
}

/// A pool, its tenants (the first `tenants` databases), and an admin
/// connection. Its connections carry `application`, which tells their
/// backends apart in `pg_stat_activity`.
struct Fixture {
    pool: Pool,
    tenants: Vec<Resource<Tenant>>,
    shared: Arc<Shared>,
    admin: Client,
    application: &'static str,
}

impl Fixture {
    async fn new(
        server: &'static Server,
        pool: Pool,
        tenants: usize,
        wait_for_hang_up: bool,
        application: &'static str,
    ) -> Fixture {
        let cluster = &server.cluster;
        let shared = Arc::new(Shared {
            cluster,
            wait_for_hang_up,
            dials: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            connected: AtomicUsize::new(0),
        });
        let tenants = server.tenants[..tenants]
            .iter()
            .map(|database| {
                pool.create(Tenant {
                    database: database.clone(),
                    config: cluster.config(database, application),
                    shared: shared.clone(),
                })
            })
            .collect();
        let (admin, _) = cluster
            .connect_spawned(&cluster.config("postgres", "admin"))
            .await
            .expect("the admin connection");
        Fixture {
            pool,
            tenants,
            shared,
            admin,
            application,
        }
    }

    /// The pool's backends, as the server sees them now.
    async fn backends(&self) -> BTreeSet<i32> {
        backends(&self.admin, self.application).await
    }

    /// Terminates a backend from the admin connection, and waits until the
    /// server has let it go.
    async fn terminate(&self, pid: i32) {
        let terminated: bool = self
            .admin
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap()
            .get(0);
        assert!(terminated, "no backend {pid} to terminate");
        let started = Instant::now();
        while self.backends().await.contains(&pid) {
            assert!(
                started.elapsed() < HANG_UP_WAIT,
                "backend {pid} still there"
            );
            sleep(Duration::from_millis(2)).await;
        }
    }

    /// Closes the pool and checks that the server is left with none of its
    /// backends: `drained` resolves once every connection is released, the
    /// connection tasks end as the server hangs up, and then the server
    /// counts none.
    async fn close(&self) {
        self.pool.close();
        self.pool.drained().await;
        let started = Instant::now();
        while self.shared.connected.load(SeqCst) > 0 {
            assert!(
                started.elapsed() < HANG_UP_WAIT,
                "the server did not hang up on {} connections",
                self.shared.connected.load(SeqCst)
            );
            sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(self.backends().await, BTreeSet::new(), "backends left");
    }
}

/// The client backends of `application` that the server has now.
async fn backends(admin: &Client, application: &str) -> BTreeSet<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND application_name = $1",
            &[&application],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A query that also says which database answered.
async fn visit(session: &Session) -> Result<String, tokio_postgres::Error> {
    let row = session
        .client
        .query_one(
            "UPDATE visits SET n = n + 1 RETURNING current_database()::text",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// What a load run saw.
#[derive(Debug)]
struct Load {
    queries: usize,
    failures: usize,
    /// The most backends of the pool the server showed at once.
    server_peak: usize,
    samples: usize,
    dials: usize,
    refused: usize,
    evictions: u64,
    handoffs: u64,
}

/// `TASKS` tasks run queries on `TENANTS` tenants (skewed: some are hot)
/// through a pool of `MAX`, for `LOAD`, while the admin connection counts
/// the pool's backends as often as it can.
async fn load(server: &'static Server, wait_for_hang_up: bool, application: &'static str) -> Load {
    let fixture = Arc::new(
        Fixture::new(
            server,
            Pool::new(MAX),
            TENANTS,
            wait_for_hang_up,
            application,
        )
        .await,
    );
    let deadline = Instant::now() + LOAD;
    let queries = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let (fixture, queries, failures) = (fixture.clone(), queries.clone(), failures.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let u = fastrand::f64();
                let tenant = &fixture.tenants[((u * u * TENANTS as f64) as usize).min(TENANTS - 1)];
                let session = match tenant.get().await {
                    Ok(session) => session,
                    Err(error) => {
                        eprintln!("get: {error:?}");
                        failures.fetch_add(1, SeqCst);
                        continue;
                    }
                };
                match visit(&session).await {
                    Ok(database) if database == tenant.manager().database => {
                        queries.fetch_add(1, SeqCst);
                    }
                    Ok(database) => {
                        panic!("{} answered for {}", database, tenant.manager().database)
                    }
                    Err(error) => {
                        eprintln!("query: {error}");
                        failures.fetch_add(1, SeqCst);
                        let _ = session.release();
                    }
                }
            }
        });
    }
    let mut server_peak = 0;
    let mut samples = 0;
    while !tasks.is_empty() {
        server_peak = server_peak.max(fixture.backends().await.len());
        samples += 1;
        while let Some(done) = tasks.try_join_next() {
            done.expect("a load task panicked");
        }
        sleep(Duration::from_millis(1)).await;
    }
    let totals = fixture.pool.stats().totals;
    fixture.close().await;
    let load = Load {
        queries: queries.load(SeqCst),
        failures: failures.load(SeqCst),
        server_peak,
        samples,
        dials: fixture.shared.dials.load(SeqCst),
        refused: fixture.shared.refused.load(SeqCst),
        evictions: totals.evictions,
        handoffs: totals.handoffs,
    };
    println!("{application}: {load:?}");
    load
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_holds_against_the_servers_limit() {
    with_server(|server| async move {
        let load = load(server, true, "cap").await;
        assert_eq!(load.failures, 0, "{load:?}");
        assert!(load.queries > 0, "{load:?}");
        assert!(load.evictions + load.handoffs > 0, "no churn: {load:?}");
        assert!(load.server_peak <= MAX, "{load:?}");
        assert!(load.server_peak > 0 && load.samples > 0, "{load:?}");
        // Each connection the pool closed for a get's own dial was gone from
        // the server before that dial.
        assert_eq!(load.refused, 0, "{load:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_default_shutdown_refused_dials_are_retried() {
    with_server(|server| async move {
        let load = load(server, false, "cap-default").await;
        // The server may refuse dials, and show more than MAX backends for a
        // moment, as it still counts connections closed on the client's
        // side; the retries hide the refusals from the tasks.
        assert_eq!(load.failures, 0, "{load:?}");
        assert!(load.queries > 0, "{load:?}");
        println!(
            "with the default shutdown: {} of {} dials refused, at most {} backends at once (max {MAX})",
            load.refused, load.dials, load.server_peak
        );
    })
    .await;
}

#[tokio::test]
async fn eviction_closes_the_lru_tenants_connection() {
    with_server(|server| async move {
        let fixture = Fixture::new(server, Pool::new(2), 3, true, "evict").await;
        let [a, b, c] = &fixture.tenants[..] else {
            unreachable!()
        };
        let pid_a = a.get().await.unwrap().pid;
        let pid_b = b.get().await.unwrap().pid;
        assert_eq!(a.get().await.unwrap().pid, pid_a, "reused");
        // b is now the least recently used: c's get evicts it, and its
        // backend is gone by the time the get returns.
        let pid_c = c.get().await.unwrap().pid;
        assert_eq!(fixture.backends().await, BTreeSet::from([pid_a, pid_c]));
        assert!(a.is_allocated() && !b.is_allocated() && c.is_allocated());
        assert_eq!(fixture.pool.stats().totals.evictions, 1);
        assert_ne!(pid_b, pid_a);
        fixture.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_backend_killed_while_idle_is_replaced_after_its_check_fails() {
    with_server(|server| async move {
        let pool = Pool::builder(2).check_after_idle(Duration::ZERO).build();
        let fixture = Fixture::new(server, pool, 1, true, "killed-idle").await;
        let tenant = &fixture.tenants[0];
        let first = tenant.get().await.unwrap().pid;
        fixture.terminate(first).await; // while it is idle in the pool
        let session = tenant.get().await.expect("the check catches it");
        assert_ne!(session.pid, first);
        assert_eq!(visit(&session).await.unwrap(), tenant.manager().database);
        drop(session);
        let totals = fixture.pool.stats().totals;
        assert_eq!((totals.check_failures, totals.allocations), (1, 2));
        assert_eq!(fixture.backends().await.len(), 1);
        fixture.close().await;
    })
    .await;
}

#[tokio::test]
async fn release_after_a_query_error_dials_afresh() {
    with_server(|server| async move {
        let fixture = Fixture::new(server, Pool::new(2), 1, true, "released").await;
        let tenant = &fixture.tenants[0];
        let session = tenant.get().await.unwrap();
        let first = session.pid;
        fixture.terminate(first).await; // while a task holds it
        assert!(visit(&session).await.is_err());
        session.release().unwrap();
        assert!(!tenant.is_allocated());
        let session = tenant.get().await.unwrap();
        assert_ne!(session.pid, first);
        assert_eq!(visit(&session).await.unwrap(), tenant.manager().database);
        drop(session);
        let totals = fixture.pool.stats().totals;
        assert_eq!((totals.released, totals.allocations), (1, 2));
        fixture.close().await;
    })
    .await;
}

#[tokio::test]
async fn close_and_drained_leave_no_backend() {
    with_server(|server| async move {
        let fixture = Fixture::new(server, Pool::new(4), 4, true, "closed").await;
        for tenant in &fixture.tenants {
            drop(tenant.get().await.unwrap());
        }
        let held = fixture.tenants[0].get().await.unwrap();
        assert_eq!(fixture.backends().await.len(), 4);
        fixture.pool.close();
        assert!(matches!(fixture.tenants[1].get().await, Err(Error::Closed)));
        // A guard still out works until its put, which closes it.
        assert_eq!(
            visit(&held).await.unwrap(),
            fixture.tenants[0].manager().database
        );
        drop(held);
        fixture.close().await;
        let stats = fixture.pool.stats();
        assert_eq!((stats.totals.shed, stats.idle, stats.in_use), (4, 0, 0));
    })
    .await;
}
