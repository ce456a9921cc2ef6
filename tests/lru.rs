//! Eviction order. The crate uses exact LRU; SPEC.md promises, and these tests
//! check, only what exact LRU and CLOCK (second chance) share:
//! (a) among idle resources nobody has got since their put, the earliest put is
//!     evicted first;
//! (b) a resource got and put again is evicted after every idle resource whose
//!     put came before that later put and that nobody has got since.
//!
//! The order is read from the log of `Counting::logging`.

mod common;

use std::sync::{Arc, Mutex};

use common::{assert_quiescent, bounded, Counting, Tracker, LIMIT};
use futures_lite::future::block_on;
use resourcepool::{Pool, Resource};

/// A pool of `max` whose managers log the keys they release.
struct Scenario {
    pool: Pool,
    tracker: Arc<Tracker>,
    released: Arc<Mutex<Vec<usize>>>,
}

impl Scenario {
    fn new(max: usize) -> Scenario {
        Scenario {
            pool: Pool::new(max),
            tracker: Tracker::new(max),
            released: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn create(&self, key: usize) -> Resource<Counting> {
        self.pool
            .create(Counting::new(key, &self.tracker).logging(&self.released))
    }

    /// `count` new resources, keys `0..count`.
    fn resources(&self, count: usize) -> Vec<Resource<Counting>> {
        (0..count).map(|key| self.create(key)).collect()
    }

    /// Gets and puts `resource` at once.
    fn use_once(&self, resource: &Resource<Counting>) {
        drop(block_on(resource.get()).unwrap());
    }

    /// Gets and puts each of `resources` at once, in order.
    fn use_each_once(&self, resources: &[Resource<Counting>]) {
        for resource in resources {
            self.use_once(resource);
        }
    }

    /// Fills the pool with `max` new resources (keys from 100), holding them
    /// all, so that every idle resource is evicted; returns the order.
    fn evict_everything(&self) -> Vec<usize> {
        let newcomers: Vec<_> = (0..self.pool.max()).map(|i| self.create(100 + i)).collect();
        let guards: Vec<_> = newcomers
            .iter()
            .map(|resource| block_on(resource.get()).unwrap())
            .collect();
        let order = self.released.lock().unwrap().clone();
        drop(guards);
        assert_quiescent(&self.pool, &self.tracker);
        order
    }
}

/// Where `key` is in `order`; panics if it was not evicted.
fn position(order: &[usize], key: usize) -> usize {
    order
        .iter()
        .position(|&evicted| evicted == key)
        .unwrap_or_else(|| panic!("{key} was not evicted: {order:?}"))
}

#[test]
fn among_resources_not_got_again_the_earliest_put_is_evicted_first() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(3);
        // Allocated in the order 0, 1, 2; put in the order 2, 0, 1.
        let mut guards: Vec<_> = resources
            .iter()
            .map(|resource| Some(block_on(resource.get()).unwrap()))
            .collect();
        for key in [2, 0, 1] {
            drop(guards[key].take());
        }
        assert_eq!(scenario.evict_everything(), [2, 0, 1]);
    });
}

#[test]
fn a_rolling_sequence_of_gets_evicts_in_put_order() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(10);
        scenario.use_each_once(&resources);
        assert_eq!(*scenario.released.lock().unwrap(), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(scenario.evict_everything(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
}

#[test]
fn a_resource_got_and_put_again_is_evicted_after_the_resources_put_before_it() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(3);
        scenario.use_each_once(&resources);
        scenario.use_once(&resources[0]);
        assert_eq!(scenario.evict_everything(), [1, 2, 0]);
    });
}

#[test]
fn a_resource_got_and_put_again_in_the_middle_moves_to_the_end() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(4);
        let resources = scenario.resources(4);
        scenario.use_each_once(&resources);
        scenario.use_once(&resources[1]);
        scenario.use_once(&resources[1]);
        assert_eq!(scenario.evict_everything(), [0, 2, 3, 1]);
    });
}

#[test]
fn resources_got_and_put_again_are_evicted_in_the_order_of_their_later_puts() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(3);
        scenario.use_each_once(&resources);
        scenario.use_once(&resources[1]);
        scenario.use_once(&resources[0]);
        // (b) for 0: 1 and 2 were put before 0's later put and not got since.
        // (b) for 1: 2 was put before 1's later put and not got since.
        assert_eq!(scenario.evict_everything(), [2, 1, 0]);
    });
}

#[test]
fn a_resource_got_and_put_again_goes_after_earlier_puts_only() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(3);
        scenario.use_once(&resources[0]);
        scenario.use_once(&resources[1]);
        scenario.use_once(&resources[0]); // its later put
        scenario.use_once(&resources[2]); // put after that later put
        let order = scenario.evict_everything();
        // (b): 1 was put before 0's later put. (a): 1 before 2. Nothing is
        // promised between 0 and 2 (LRU: 0 first; CLOCK may evict 2 first).
        assert!(position(&order, 1) < position(&order, 0), "{order:?}");
        assert!(position(&order, 1) < position(&order, 2), "{order:?}");
    });
}

#[test]
fn a_resource_allocated_afresh_after_a_release_is_ordered_by_its_new_put() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(3);
        scenario.use_once(&resources[0]);
        block_on(resources[0].get()).unwrap().release().unwrap();
        scenario.use_once(&resources[1]);
        scenario.use_once(&resources[0]); // allocates a new item, then puts it
        scenario.use_once(&resources[2]);
        assert_eq!(*scenario.released.lock().unwrap(), [0]);
        scenario.released.lock().unwrap().clear();
        // Nobody got 0, 1 or 2 since their last put: (a) orders them by it.
        assert_eq!(scenario.evict_everything(), [1, 0, 2]);
    });
}

#[test]
fn a_resource_allocated_afresh_after_schedule_release_is_ordered_by_its_new_put() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(3);
        let resources = scenario.resources(3);
        scenario.use_once(&resources[0]);
        resources[0].schedule_release().unwrap();
        scenario.use_once(&resources[1]);
        scenario.use_once(&resources[0]);
        scenario.use_once(&resources[2]);
        scenario.released.lock().unwrap().clear();
        assert_eq!(scenario.evict_everything(), [1, 0, 2]);
    });
}

#[test]
fn a_resource_that_evicted_is_ordered_by_its_put_not_by_its_eviction() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(2);
        let resources = scenario.resources(3);
        scenario.use_each_once(&resources[..2]);
        // 2 evicts 0, and its entry is queued ahead of its put (`idle.rs`).
        let guard = block_on(resources[2].get()).unwrap();
        assert_eq!(*scenario.released.lock().unwrap(), [0]);
        scenario.use_once(&resources[1]); // put before 2's first put
        drop(guard);
        scenario.released.lock().unwrap().clear();
        assert_eq!(scenario.evict_everything(), [1, 2]);
    });
}

#[test]
fn a_resource_that_evicted_and_was_put_next_is_the_most_recently_used() {
    bounded(LIMIT, || {
        let scenario = Scenario::new(2);
        let resources = scenario.resources(3);
        scenario.use_each_once(&resources[..2]);
        scenario.use_once(&resources[2]); // evicts 0; no put in between
        scenario.use_once(&resources[1]);
        scenario.released.lock().unwrap().clear();
        assert_eq!(scenario.evict_everything(), [2, 1]);
    });
}
