//! S1, uncontended: one allocated resource, one thread, get+put cycles.
//!
//! Every system runs under the same harness: an async block that awaits its
//! get (acquire) future and drops what it returned, polled once with a no-op
//! waker (see `common::ready`).
//!
//! `cargo bench --bench hot_path` runs criterion. For stable instruction
//! counts, run the binary itself as `hot_path --cycles N SYSTEM` under
//! `valgrind --tool=callgrind` (see `benches/callgrind.sh`): it runs N
//! cycles of one system and nothing else.

mod common;
mod go_port;

use std::sync::Arc;
use std::time::Duration;

use common::{
    deadpool_of, note_cores_free, print_summary, ran, ready, Comparison, Get, Trivial, ASYNC_LOCK,
    DEADPOOL, GO_PORT, THIS_CRATE, TOKIO,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};

const GROUP: &str = "S1_uncontended";

/// This crate with `idle_timeout` and `max_lifetime` set.
const THIS_CRATE_TIMED: &str = "resourcepool-timed";

/// How a system's cycle is driven.
enum Driver<'a, 'c> {
    /// Criterion measures it.
    Criterion(BenchmarkGroup<'c, WallTime>),
    /// Run this many cycles of one system, for callgrind.
    Cycles { count: u64, system: &'a str },
}

impl Driver<'_, '_> {
    /// Drives get+put cycles of `handle`, named `system`.
    fn drive<A: Get>(&mut self, system: &str, handle: &A) {
        // As a caller writes it: await the get, check it, drop the guard. Not
        // `black_box(output)`: moving the whole output by value right after
        // the get future wrote it field by field stalls on store-to-load
        // forwarding (a wide load of narrower stores), which measures how the
        // caller copies the output rather than the get; see the README.
        let mut cycle = || {
            ready(async {
                let output = handle.get().await;
                assert!(A::succeeded(&output), "a get failed");
                drop(output);
            })
        };
        match self {
            Driver::Criterion(group) => {
                group.bench_function(system, |bencher| {
                    ran(GROUP, system, 1);
                    bencher.iter(&mut cycle);
                });
            }
            Driver::Cycles {
                count,
                system: only,
            } => {
                if *only == system {
                    for _ in 0..*count {
                        cycle();
                    }
                }
            }
        }
    }
}

/// Sets up each system with one allocated resource (or one permit, or one
/// object) and drives its get+put cycle.
fn s1(driver: &mut Driver<'_, '_>) {
    let pool = resourcepool::Pool::new(1);
    let resource = pool.create(Trivial);
    drop(ready(resource.get()).expect("allocate"));
    driver.drive(THIS_CRATE, &resource);
    // The same with lifecycle settings: every put and every get of the idle
    // item reads the lifecycle's clock (and none is past its time).
    let pool = resourcepool::Pool::builder(1)
        .idle_timeout(Duration::from_secs(3600))
        .max_lifetime(Duration::from_secs(3600))
        .build();
    let resource = pool.create(Trivial);
    drop(ready(resource.get()).expect("allocate"));
    driver.drive(THIS_CRATE_TIMED, &resource);
    driver.drive(ASYNC_LOCK, &Arc::new(async_lock::Semaphore::new(1)));
    driver.drive(TOKIO, &Arc::new(tokio::sync::Semaphore::new(1)));
    driver.drive(DEADPOOL, &deadpool_of(1));
    let pool = go_port::Pool::new(1);
    let resource = pool.create(Trivial);
    drop(ready(resource.get()).expect("allocate"));
    driver.drive(GO_PORT, &resource);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, count, system] = &args[..] {
        if flag == "--cycles" {
            let count = count.parse().expect("--cycles N SYSTEM: N is a number");
            s1(&mut Driver::Cycles { count, system });
            return;
        }
    }

    note_cores_free("at the start");
    // Short and small: the whole file runs in about 15 s on 2 cores.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50)
        .configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    group.throughput(Throughput::Elements(1));
    s1(&mut Driver::Criterion(group));
    criterion.final_summary();

    let compare = |baseline, target, aim| Comparison {
        scenario: "S1 uncontended get+put",
        subject: (GROUP, THIS_CRATE),
        baseline: (GROUP, baseline),
        target,
        aim,
    };
    print_summary(
        "S1 (speedup = other's time / this crate's time)",
        &[
            compare(ASYNC_LOCK, Some(1.0), Some(2.0)),
            Comparison {
                scenario: "S1 with idle_timeout and max_lifetime",
                subject: (GROUP, THIS_CRATE_TIMED),
                baseline: (GROUP, ASYNC_LOCK),
                target: Some(1.0),
                aim: None,
            },
            compare(TOKIO, None, None),
            compare(DEADPOOL, None, None),
            compare(GO_PORT, Some(4.0), None),
        ],
    );
}
