//! The baseline a user would write by hand: a plain port of the Go
//! `lib/resourcepool` design, with its shape kept.
//!
//! - Each resource has a semaphore of one permit, its *hold* (Go: a channel of
//!   size one): one guard per resource at a time.
//! - The pool has a semaphore of `max` permits, the *slots* (Go: a channel of
//!   size `max`): one per guard in use.
//! - One `std::sync::Mutex` guards everything else: which resources are
//!   allocated (their items sit in the pool's table while idle), the idle set,
//!   and the count of allocated items.
//! - A get that needs a new item when `max` items are allocated evicts a
//!   random idle resource (Go picks the first key of a map, which Go
//!   randomizes).
//!
//! It is correct for what the benchmarks do (no cancellation during
//! `allocate`), releases an evicted item while holding the lock (the simplest
//! way to keep live items within `max`), and has no fairness beyond that of
//! its two semaphores.

use std::sync::{Arc, Mutex};

use async_lock::{Semaphore, SemaphoreGuard};
use resourcepool::AllocateRelease;

/// A limit of `max` allocated items shared by resources managed by `M`.
pub struct Pool<M: AllocateRelease> {
    shared: Arc<PoolShared<M>>,
}

struct PoolShared<M: AllocateRelease> {
    max: usize,
    /// One permit per guard in use (Go's `pool.semaphore`).
    slots: Semaphore,
    state: Mutex<PoolState<M>>,
}

/// Everything the pool's mutex guards.
struct PoolState<M: AllocateRelease> {
    /// Items allocated: idle, in use, or being allocated.
    allocated: usize,
    /// Ids of the resources that are allocated and not held (at most `max`).
    idle: Vec<usize>,
    /// One entry per resource, indexed by its id.
    entries: Vec<Entry<M>>,
    /// Ids of dropped resources, for reuse.
    free_ids: Vec<usize>,
}

impl<M: AllocateRelease> PoolState<M> {
    /// Takes the idle item of resource `id`, or else counts one more item
    /// allocated, first evicting a random idle resource if `max` are.
    fn take_or_make_room(&mut self, id: usize, max: usize) -> Option<M::Item> {
        if let Some(item) = self.entries[id].item.take() {
            let position = self
                .idle
                .iter()
                .position(|&idle| idle == id)
                .expect("an allocated resource that nobody holds is idle");
            self.idle.swap_remove(position);
            return Some(item);
        }
        if self.allocated == max {
            // Every other slot holder has at most one item, so one is idle.
            let victim = self.idle.swap_remove(fastrand::usize(..self.idle.len()));
            let entry = &mut self.entries[victim];
            let item = entry.item.take().expect("an idle resource has an item");
            // The victim's count passes to this resource. An evicted item has
            // nowhere to report a release error.
            drop(entry.manager.release(item));
        } else {
            self.allocated += 1;
        }
        None
    }
}

/// What the pool keeps for one resource.
struct Entry<M: AllocateRelease> {
    manager: Arc<M>,
    /// The item while the resource is idle. A guard takes it out while it
    /// holds the resource.
    item: Option<M::Item>,
}

impl<M: AllocateRelease> Pool<M> {
    /// A pool that allows at most `max` allocated items.
    pub fn new(max: usize) -> Self {
        assert!(max > 0, "max must be at least 1");
        Pool {
            shared: Arc::new(PoolShared {
                max,
                slots: Semaphore::new(max),
                state: Mutex::new(PoolState {
                    allocated: 0,
                    idle: Vec::with_capacity(max),
                    entries: Vec::new(),
                    free_ids: Vec::new(),
                }),
            }),
        }
    }

    /// A resource managed by `manager`; allocates nothing.
    pub fn create(&self, manager: M) -> Resource<M> {
        let manager = Arc::new(manager);
        let mut state = self.shared.state.lock().unwrap();
        let entry = Entry {
            manager: Arc::clone(&manager),
            item: None,
        };
        let id = match state.free_ids.pop() {
            Some(id) => {
                state.entries[id] = entry;
                id
            }
            None => {
                state.entries.push(entry);
                state.entries.len() - 1
            }
        };
        Resource {
            shared: Arc::new(ResourceShared {
                pool: Arc::clone(&self.shared),
                id,
                hold: Semaphore::new(1),
                manager,
            }),
        }
    }
}

/// One resource of a [`Pool`]; clones are handles to the same resource.
pub struct Resource<M: AllocateRelease> {
    shared: Arc<ResourceShared<M>>,
}

impl<M: AllocateRelease> Clone for Resource<M> {
    fn clone(&self) -> Self {
        Resource {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct ResourceShared<M: AllocateRelease> {
    pool: Arc<PoolShared<M>>,
    id: usize,
    /// One permit: the hold (Go's `resource.semaphore`).
    hold: Semaphore,
    manager: Arc<M>,
}

impl<M: AllocateRelease> Resource<M> {
    /// Waits for the hold, then for a slot, then reuses the idle item or
    /// allocates one (evicting a random idle resource at the limit).
    pub async fn get(&self) -> Result<Guard<'_, M>, M::Error> {
        let resource = &*self.shared;
        let pool = &*resource.pool;
        let hold = resource.hold.acquire().await;
        let slot = pool.slots.acquire().await;
        let idle_item = pool
            .state
            .lock()
            .unwrap()
            .take_or_make_room(resource.id, pool.max);
        if let Some(item) = idle_item {
            return Ok(Guard::new(resource, item, slot, hold));
        }
        match resource.manager.allocate().await {
            Ok(item) => Ok(Guard::new(resource, item, slot, hold)),
            Err(error) => {
                pool.state.lock().unwrap().allocated -= 1;
                Err(error)
            }
        }
    }
}

impl<M: AllocateRelease> Drop for ResourceShared<M> {
    /// The last handle is gone: release an idle item, free the id.
    fn drop(&mut self) {
        let mut state = self.pool.state.lock().unwrap();
        let entry = &mut state.entries[self.id];
        let idle_item = entry.item.take();
        if let Some(item) = idle_item {
            drop(entry.manager.release(item));
            state.allocated -= 1;
            state.idle.retain(|&id| id != self.id);
        }
        state.free_ids.push(self.id);
    }
}

/// Holds a resource's item; dropping it is the put: the item goes back to the
/// pool's table, idle, then the slot and the hold are let go.
pub struct Guard<'a, M: AllocateRelease> {
    resource: &'a ResourceShared<M>,
    item: Option<M::Item>,
    // Dropped after `drop` below has run, in this order (as Go's `put`).
    _slot: SemaphoreGuard<'a>,
    _hold: SemaphoreGuard<'a>,
}

impl<'a, M: AllocateRelease> Guard<'a, M> {
    fn new(
        resource: &'a ResourceShared<M>,
        item: M::Item,
        slot: SemaphoreGuard<'a>,
        hold: SemaphoreGuard<'a>,
    ) -> Self {
        Guard {
            resource,
            item: Some(item),
            _slot: slot,
            _hold: hold,
        }
    }
}

impl<M: AllocateRelease> Drop for Guard<'_, M> {
    fn drop(&mut self) {
        let resource = self.resource;
        let mut state = resource.pool.state.lock().unwrap();
        state.entries[resource.id].item = self.item.take();
        state.idle.push(resource.id);
    }
}
