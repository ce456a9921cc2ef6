//! `Pool::stats` while other threads allocate, put, evict and release: every
//! `Stats` describes a state that could exist. Each count is at most `max`,
//! and so are `in_use + idle` and `in_use + idle + releasing`, on every
//! sample, whatever runs meanwhile.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::{assert_quiescent, bounded, pool_of_max, Counting, LIMIT};
use futures_lite::future::block_on;
use resourcepool::{Pool, Stats};

/// Get and put (or release) cycles per worker thread.
const CYCLES: usize = 20_000;

/// Panics unless `stats` could describe a pool of its `max`.
fn assert_possible(stats: Stats) {
    let Stats {
        max,
        in_use,
        idle,
        allocating,
        releasing,
        ..
    } = stats;
    assert!(in_use <= max, "in_use above max: {stats:?}");
    assert!(idle <= max, "idle above max: {stats:?}");
    assert!(allocating <= max, "allocating above max: {stats:?}");
    assert!(releasing <= max, "releasing above max: {stats:?}");
    assert!(allocating <= in_use, "allocating not in use: {stats:?}");
    assert!(in_use + idle <= max, "in_use + idle above max: {stats:?}");
    assert!(
        in_use + idle + releasing <= max,
        "in_use + idle + releasing above max: {stats:?}"
    );
}

/// Runs `work` on one thread per resource while this thread samples
/// `pool.stats()` until every worker is done; checks every sample. Returns
/// how many samples it took.
fn sample_while<R: Sync>(pool: &Pool, resources: &[R], work: impl Fn(&R) + Sync) -> usize {
    let done = AtomicUsize::new(0);
    thread::scope(|scope| {
        for resource in resources {
            let (done, work) = (&done, &work);
            scope.spawn(move || {
                work(resource);
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        let mut samples = 0;
        while done.load(Ordering::SeqCst) < resources.len() {
            assert_possible(pool.stats());
            samples += 1;
        }
        samples
    })
}

#[test]
fn stats_never_count_an_item_twice_while_it_is_allocated_and_released() {
    bounded(LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 3>(3, Counting::new);
        let samples = sample_while(&pool, &resources, |resource| {
            for _ in 0..CYCLES {
                block_on(resource.get()).unwrap().release().unwrap();
            }
        });
        assert!(samples > 0);
        assert_possible(pool.stats());
        assert_quiescent(&pool, &tracker);
        assert_eq!(tracker.releases(), 3 * CYCLES);
    });
}

#[test]
fn stats_stay_possible_while_gets_evict_and_puts_make_items_idle() {
    bounded(LIMIT, || {
        let (pool, tracker, resources) = pool_of_max::<_, 4>(3, Counting::new);
        let samples = sample_while(&pool, &resources, |resource| {
            for cycle in 0..CYCLES {
                let guard = block_on(resource.get()).unwrap();
                if cycle % 3 == 0 {
                    guard.release().unwrap();
                } else {
                    drop(guard);
                }
            }
        });
        assert!(samples > 0);
        assert_possible(pool.stats());
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn the_largest_max_the_counts_hold_is_accepted() {
    let pool = Pool::new((1 << 21) - 1);
    assert_eq!(pool.stats().max, (1 << 21) - 1);
}

#[test]
#[should_panic(expected = "max must be at most 2097151, got 2097152")]
fn a_max_above_what_the_counts_hold_panics_with_a_clear_message() {
    let _ = Pool::builder(1 << 21).build();
}
