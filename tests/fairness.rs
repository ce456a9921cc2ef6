//! "No get starves while others make progress": a get that waits is served
//! before gets that come after it, for the hold and for the pool's capacity.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{assert_quiescent, bounded, pool_of_max, Counting, Tracker};
use resourcepool::{Pool, Resource};

/// Cycles of the busy loop before it gives up on the waiter being served.
const BUSY_CYCLES: usize = 5_000_000;

/// Loops get+put of `busy` on another thread while `serve_waiter` runs, and
/// returns how many cycles the loop made (`BUSY_CYCLES` at the most).
fn busy_cycles_while(busy: Resource<Counting>, serve_waiter: impl FnOnce()) -> usize {
    let waiter_done = Arc::new(AtomicBool::new(false));
    let done = waiter_done.clone();
    let looping = std::thread::spawn(move || {
        let mut cycles = 0;
        while !done.load(Ordering::SeqCst) && cycles < BUSY_CYCLES {
            drop(busy.get_blocking().unwrap());
            cycles += 1;
        }
        cycles
    });
    std::thread::sleep(Duration::from_millis(20));
    serve_waiter();
    waiter_done.store(true, Ordering::SeqCst);
    looping.join().unwrap()
}

#[test]
fn a_hold_waiter_is_served_while_another_handle_loops_get_put() {
    bounded(Duration::from_secs(60), || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let cycles = busy_cycles_while(resource.clone(), || {
            drop(resource.get_blocking().unwrap());
        });
        assert!(
            cycles < BUSY_CYCLES,
            "the waiting get starved for {cycles} cycles"
        );
        assert_eq!(tracker.allocations(), 1, "the hold passes the item along");
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn a_capacity_waiter_is_served_while_another_resource_loops_get_put() {
    bounded(Duration::from_secs(60), || {
        let (pool, tracker, [busy, starving]) = pool_of_max(1, Counting::new);
        let cycles = busy_cycles_while(busy, || {
            let guard = starving.get_blocking().unwrap();
            assert_eq!(guard.key, 1);
            drop(guard);
        });
        assert!(
            cycles < BUSY_CYCLES,
            "the waiting get starved for {cycles} cycles"
        );
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn oversubscribed_tasks_all_progress() {
    const TASKS: usize = 16;
    const ROUNDS: usize = 200;
    bounded(Duration::from_secs(60), || {
        let tracker = Tracker::new(2);
        let pool = Pool::new(2);
        let finished = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..TASKS)
            .map(|key| {
                let resource = pool.create(Counting::new(key, &tracker));
                let finished = finished.clone();
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let mut guard = resource.get_blocking().unwrap();
                        guard.uses += 1;
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(finished.load(Ordering::SeqCst), TASKS);
        assert_quiescent(&pool, &tracker);
    });
}
