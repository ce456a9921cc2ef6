//! `Pool::release_expired` looks at allocated resources only: with 1,000,000
//! resources of which 900 are allocated (idle, none past its time), a call
//! costs what it costs in a pool of just those 900.
//!
//! `cargo bench --bench expiry` runs both sides and prints their ratio.

mod common;
#[allow(dead_code)] // the common harness names it
mod go_port;

use std::hint::black_box;
use std::time::Duration;

use common::{note_cores_free, print_summary, ran, ready, Comparison, Trivial};
use criterion::{Criterion, Throughput};

const GROUP: &str = "release_expired";
/// Resources allocated (and idle) in each pool.
const ALLOCATED: usize = 900;
/// Resources the large pool creates.
const CREATED: usize = 1_000_000;
const SMALL: &str = "900 of 900";
const LARGE: &str = "900 of 1,000,000";

/// A pool whose `ALLOCATED` first resources of `created` hold an idle item
/// that expires only after an hour; the handles are returned to keep them.
fn pool_with(created: usize) -> (resourcepool::Pool, Vec<resourcepool::Resource<Trivial>>) {
    let pool = resourcepool::Pool::builder(ALLOCATED)
        .idle_timeout(Duration::from_secs(3600))
        .build();
    let resources: Vec<_> = (0..created).map(|_| pool.create(Trivial)).collect();
    for resource in &resources[..ALLOCATED] {
        drop(ready(resource.get()).expect("allocate"));
    }
    assert_eq!(pool.stats().idle, ALLOCATED);
    (pool, resources)
}

fn main() {
    note_cores_free("at the start");
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    group.throughput(Throughput::Elements(1));
    for (name, created) in [(SMALL, ALLOCATED), (LARGE, CREATED)] {
        let (pool, resources) = pool_with(created);
        group.bench_function(name, |bencher| {
            ran(GROUP, name, 1);
            bencher.iter(|| assert_eq!(black_box(pool.release_expired()), 0));
        });
        drop(resources);
    }
    group.finish();
    criterion.final_summary();
    print_summary(
        "release_expired (speedup = the small pool's time / the large pool's time)",
        &[Comparison {
            scenario: "release_expired: 900 allocated of 1,000,000 resources, against 900 of 900",
            subject: (GROUP, LARGE),
            baseline: (GROUP, SMALL),
            target: Some(0.8),
            aim: None,
        }],
    );
}
