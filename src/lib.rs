//! Share a limited number of underlying resources (connections, files,
//! sessions) among many keyed users, on any async runtime.
//!
//! A [`Resource`] has at most one item (say, one open connection to host X)
//! and one holder at a time: a get waits while another [`Guard`] of it is
//! alive. To keep N interchangeable connections to one server, create N
//! resources. A [`Pool`] has a limit, `max`, on allocated items, shared by all
//! its resources.
//!
//! Each resource is allocated on demand by [`Resource::get`], kept allocated
//! and idle after its [`Guard`] is dropped (the *put*) for the next get to
//! reuse, and evicted, least recently used first, when another resource needs
//! its charge. A put cannot tell a broken item from a good one: a guard that
//! `?` drops after an I/O error puts the connection back, idle, and the next
//! get reuses it. [`Guard::release`] frees an item now (after an I/O error,
//! say: the next get allocates afresh), and [`Resource::schedule_release`] at
//! the next put. [`Guard::into_owned`] turns
//! a guard into an [`OwnedGuard`], which holds a handle of its resource and so
//! can move into a spawned task.
//!
//! It re-implements, and betters, the Go package `lib/resourcepool` of the
//! Dominator project: no mutex on the hot paths, exact accounting under
//! cancellation and panics, LRU eviction, and no starvation.
//!
//! # Examples
//!
//! ```
//! # futures_lite::future::block_on(async {
//! use resourcepool::{AllocateRelease, Pool};
//!
//! /// The connection to one host; `allocate` dials it.
//! struct Host(String);
//!
//! impl AllocateRelease for Host {
//!     type Item = Vec<String>; // stands in for a TcpStream
//!     type Error = std::io::Error;
//!
//!     async fn allocate(&self) -> Result<Self::Item, Self::Error> {
//!         Ok(vec![format!("dialed {}", self.0)])
//!     }
//!     fn release(&self, item: Self::Item) -> Result<(), Self::Error> {
//!         drop(item); // hang up
//!         Ok(())
//!     }
//! }
//!
//! // 3 hosts, but at most 2 connections open at once.
//! let pool = Pool::new(2);
//! let hosts: Vec<_> = (0..3).map(|i| pool.create(Host(format!("host-{i}")))).collect();
//!
//! for round in 0..2 {
//!     for host in &hosts {
//!         let mut connection = host.get().await?; // reuse, or dial (evicting the LRU one)
//!         connection.push(format!("round {round}"));
//!     } // put: the connection stays open, idle
//! }
//! let stats = pool.stats();
//! assert_eq!((stats.in_use, stats.idle), (0, 2));
//! # Ok::<(), resourcepool::Error<std::io::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Terms
//!
//! - **Item**: what [`AllocateRelease::allocate`] returns (a connection, a
//!   file, a session). A resource has at most one at a time.
//! - **Live item**: one that counts against `max`, from the start of its
//!   `allocate` to the end of its release: allocating, in use, idle, or being
//!   released.
//! - **Charge**: one of the pool's `max` permits. Every live item takes one;
//!   a get that has no item needs a charge before it can allocate.
//! - **Hold**: the right to use a resource's item, which one get or guard at
//!   a time has. A get takes the hold first; its [`Guard`] (or
//!   [`OwnedGuard`]) keeps it until it is dropped or released.
//! - **Put**: dropping a guard. The hold is let go and the item stays
//!   allocated, now idle, the most recently used of the pool.
//! - **Idle**: allocated and not held. The resource's next get reuses an idle
//!   item at once; another resource's get may evict it.
//! - **Release**: freeing an item, which frees its charge: with
//!   [`AllocateRelease::release`] (synchronous) by [`Guard::release`], a
//!   scheduled release, [`Pool::close`], [`Pool::set_max`],
//!   [`Pool::release_expired`], or dropping a resource's last handle; with
//!   [`AllocateRelease::shutdown`] (awaited) by a get that frees a charge
//!   for itself (an eviction, a hand-off, its own item past its time or
//!   failing its check), which allocates only once the shutdown completed.
//!   The resource's next get allocates afresh.
//! - **Eviction**: a get that needs a charge while none is free shuts down
//!   the least recently used idle item of the pool (of any resource) and
//!   takes its charge.
//! - **Hand-off**: while gets wait for a charge, a put normally keeps its item
//!   idle; once the longest waiting get has waited longer than
//!   [`PoolBuilder::handoff_after`], the next put gives its item's charge to
//!   that get instead, which releases the item and allocates its own.
//! - **Phases** of a get, in order: **1, the hold** (wait while another guard
//!   of the resource is alive); **2, capacity** (reuse the idle item, or take
//!   a free charge, or evict, or wait for a charge); **3, allocate** (await
//!   `allocate` with that charge). A cancelled get fails with the error of
//!   the phase it was in: [`Error::PutTimeout`] in phase 1,
//!   [`Error::ResourceLimitExceeded`] in phase 2.
//!
//! # How it works
//!
//! Each resource's state is one `AtomicU64` (whether it is held, charged,
//! allocated or being released, its count of puts, the gets waiting for its
//! hold): a get of an idle item is one compare-and-swap on it, and a put
//! another plus a put time from the pool's clock. The pool's limit is an atomic counter of
//! charges, touched only when an item is allocated or released.
//!
//! Eviction is **exact LRU**: the evicted resource is the idle one whose latest
//! put is the earliest. A resource's first put after an allocation adds an
//! entry to the pool's idle set (a heap ordered by put time, under a lock), or
//! its get did while it held that lock to evict; later puts only record their
//! time in the resource, without a lock. An evictor pops the earliest entry
//! and, if the resource was put again since, puts the entry back with its
//! newer time. Eviction costs O(log n) in the
//! number of allocated resources, whatever the number of resources.
//!
//! Waits use `event-listener` (for a resource's hold and its own release) and
//! a FIFO queue of wakers (for the pool's capacity), so any executor, or a
//! blocked thread, can drive them.
//!
//! # Fairness, and reuse under pressure
//!
//! No get starves while others make progress, and a pool under pressure still
//! reuses its items.
//!
//! - While gets wait for a resource's *hold* (another guard of it is alive),
//!   a put hands the hold (and the item) to the longest waiting of them rather
//!   than let the next get to come along take it.
//! - While gets wait for the pool's *capacity* (every charge is taken and no
//!   item is idle), a put still keeps its item idle: its own resource may get
//!   it back at once, and the longest waiting get is woken to evict the least
//!   recently used idle item. Once that get has waited longer than
//!   [`PoolBuilder::handoff_after`] (default 1 ms), the next put serves it
//!   directly: the put's item is released by that get, which allocates with
//!   its charge, and no get that came later can take the charge. A charge
//!   freed by a release always goes to the longest waiting get.
//!
//! `handoff_after(Duration::ZERO)` makes every put hand over while a get
//! waits: strict FIFO, but an oversubscribed pool then allocates on nearly
//! every get. `Duration::MAX` never hands over: the most reuse, and a waiter
//! may wait as long as the others keep getting their items back.
//!
//! # Lifecycle
//!
//! [`Pool::set_max`] changes the limit while the pool runs (a shrink releases
//! idle items first, then the excess at its put). [`Pool::close`] fails every
//! later and every waiting get with [`Error::Closed`], releases idle items at
//! once and the others at their put; [`Pool::drained`] resolves once no item
//! is live. [`Pool::stats`] reports what is in use, idle, allocating,
//! releasing and waiting now, and cumulative [`Totals`]: waits and their
//! time, cancellations, allocations, evictions, hand-offs, expiries, failed
//! checks, releases.
//!
//! Items can age out: [`PoolBuilder::idle_timeout`] releases items idle for
//! too long, [`PoolBuilder::max_lifetime`] items older than that (at their
//! put if they are in use), and [`PoolBuilder::check_after_idle`] makes a get
//! await [`AllocateRelease::check`] on an item idle for that long before it
//! reuses it. A get that finds its item past its time, or failing its check,
//! releases it and allocates afresh with the charge it holds; nothing else is
//! needed. [`Pool::release_expired`] releases idle items past their time now,
//! and [`Pool::reaper`] is a future that does so periodically, on whatever
//! runtime spawns it. With none of these settings, a get of an idle item and
//! a put never read a clock.
//!
//! Times are measured on a coarse monotonic clock (on Linux,
//! `CLOCK_MONOTONIC_COARSE`, which a scheduler tick of 1 to 4 ms advances),
//! or on one a test gives with [`PoolBuilder::clock`].
#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]

mod builder;
mod clock;
mod error;
mod guard;
mod idle;
mod lifecycle;
mod manager;
mod pool;
mod put_order;
mod resource;
mod slot;
#[cfg(not(any(loom, fuzzing)))]
#[allow(unreachable_pub)] // its items are public for the loom and fuzz builds
mod state;
#[cfg(any(loom, fuzzing))]
#[doc(hidden)]
pub mod state;
mod stats;
mod sync;
mod wait;
mod waiters;

pub use builder::PoolBuilder;
pub use error::Error;
pub use guard::{Guard, OwnedGuard};
pub use manager::AllocateRelease;
pub use pool::Pool;
pub use resource::Resource;
pub use stats::{Stats, Totals};

/// Internals exposed to the loom models and fuzz targets. Not public API.
#[cfg(any(loom, fuzzing))]
#[doc(hidden)]
pub mod __private {
    pub use crate::state;
}

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
