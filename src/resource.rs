//! `Resource`: the three phases of `get`, `schedule_release`, and what a
//! release does to the state word and the pool.

use core::any::Any;
use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::pin::{pin, Pin};
use std::sync::{Arc, Weak};

use event_listener::{Event, IntoNotification};

use crate::error::Error;
use crate::guard::Guard;
use crate::idle::{Expiry, QueueAhead, Shutdown, Victim, NEVER_PUT};
use crate::lifecycle::{Stamps, Verdict};
use crate::manager::AllocateRelease;
use crate::pool::{Capacity, Pool, PoolInner};
use crate::slot::Slot;
use crate::state::{self, transition, Evict, Hold, Leave, Put, Schedule, Snapshot, Waiter};
use crate::stats::{Count, GetRecord, Tally, WaitFor};
use crate::sync::{AtomicU64, Ordering};
use crate::wait::{listen_or_cancel, Cancelled, Stop};

/// One underlying resource (say, the connection to one host), allocated on
/// demand and shared by the tasks that use it, one at a time.
///
/// Clones are handles to the *same* resource: they share its item and its
/// hold. Dropping the last handle releases an idle item and frees its charge.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use resourcepool::{AllocateRelease, Pool};
///
/// struct Counter;
/// impl AllocateRelease for Counter {
///     type Item = u32;
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<u32, std::io::Error> { Ok(0) }
/// }
///
/// let pool = Pool::new(1);
/// let resource = pool.create(Counter);
/// *resource.get().await? += 1;      // allocates, then puts: the item stays
/// *resource.clone().get().await? += 1; // a clone reuses the same item
/// assert_eq!(*resource.get().await?, 2);
/// # Ok::<(), resourcepool::Error<std::io::Error>>(())
/// # }).unwrap();
/// ```
pub struct Resource<M: AllocateRelease> {
    inner: Arc<Shared<M>>,
}

/// What all handles of one resource share.
struct Shared<M: AllocateRelease> {
    /// The state word; see `state.rs`.
    state: AtomicU64,
    /// When it was last put, on the idle set's clock; see `idle.rs`.
    put_time: AtomicU64,
    /// When its item's `allocate` returned, on the lifecycle's clock (stored
    /// only with `max_lifetime`); see `lifecycle.rs`.
    born: AtomicU64,
    /// When its item was last put, on the lifecycle's clock (stored only with
    /// `idle_timeout` or `check_after_idle`).
    idle_since: AtomicU64,
    pool: Pool,
    /// Notified when the hold is let go while gets wait for it (one listener
    /// per notification), and, every listener, when a release of this
    /// resource's item returns while its holder waits for that
    /// (RELEASE_WAITER) before it allocates again. One event serves both, so
    /// that a resource takes one word for its wakeups until first used: the
    /// holder is the only listener of the second kind, and a hold is let go
    /// only by its holder, so a notification of the first kind never finds a
    /// listener of the second (one that was cancelled passes it on as it is
    /// dropped); one of the second kind wakes hold waiters too, which look
    /// again, find the hold taken, and listen again.
    changed: Event,
    manager: M,
    slot: Slot<M::Item>,
}

impl<M: AllocateRelease> Resource<M> {
    pub(crate) fn new(pool: Pool, manager: M) -> Self {
        Resource {
            inner: Arc::new(Shared {
                state: AtomicU64::new(Snapshot::NEW.0),
                put_time: AtomicU64::new(NEVER_PUT),
                born: AtomicU64::new(0),
                idle_since: AtomicU64::new(0),
                pool,
                changed: Event::new(),
                manager,
                slot: Slot::empty(),
            }),
        }
    }

    /// Gets the resource: waits for its hold, then reuses its idle item, or
    /// allocates one once a charge is available (evicting the least recently
    /// used idle resource of the pool if need be).
    ///
    /// # Errors
    ///
    /// - [`Error::Allocate`]: [`AllocateRelease::allocate`] failed; the charge
    ///   is freed and the hold let go.
    /// - [`Error::Closed`]: the pool was closed, before this get or while it
    ///   waited.
    ///
    /// `get` never gives up waiting by itself: to bound the wait, see
    /// [`get_or_cancel`](Self::get_or_cancel) and [`try_get`](Self::try_get).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future at any point loses nothing: a hold, a charge or a
    /// wakeup it had passes on; an `allocate` in progress is dropped and its
    /// charge freed.
    ///
    /// # Panics
    ///
    /// If `allocate`, or the `release` of an evicted item, panics; the charge is
    /// freed and the hold let go first.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use resourcepool::{AllocateRelease, Pool};
    ///
    /// struct Session;
    /// impl AllocateRelease for Session {
    ///     type Item = Vec<u8>;
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<Vec<u8>, std::io::Error> { Ok(Vec::new()) }
    /// }
    ///
    /// let pool = Pool::new(4);
    /// let session = pool.create(Session);
    /// let mut guard = session.get().await?;
    /// guard.extend_from_slice(b"hello");
    /// drop(guard); // put: the item stays allocated, idle
    /// assert_eq!(&*session.get().await?, b"hello");
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn get(&self) -> Result<Guard<'_, M>, Error<M::Error>> {
        match self.take_idle() {
            Taken::Ready(guard) => Ok(guard),
            Taken::Vet(guard, verdict) => {
                let never = core::future::pending();
                self.vet_taken(guard, verdict, never).await
            }
            Taken::No => self.acquire(core::future::pending()).await,
        }
    }

    /// Like [`get`](Self::get), but gives up waiting once `cancel` completes: a
    /// timer of any runtime, a channel, a shutdown signal.
    ///
    /// `cancel` is only polled when the get would have to wait, so a `cancel`
    /// that is already complete fails only a get that would wait; evicting an
    /// idle victim is not waiting. It does not interrupt a running `allocate`.
    ///
    /// # Cancel futures
    ///
    /// `cancel` must have `Output = ()`, so that `std::future::pending()` and
    /// `std::future::ready(())` work as they are. `tokio::time::sleep(d)` and
    /// `async_std::task::sleep(d)` yield `()` and fit. A future that yields
    /// something else does not compile here (E0271): smol's and async-io's
    /// `Timer::after(d)` yield the `Instant` they fired at, a channel's
    /// receive yields a `Result`. Wrap it in a block that drops the value:
    /// `async { smol::Timer::after(d).await; }`.
    ///
    /// Or time out the whole get with the runtime's own timeout:
    /// `tokio::time::timeout(d, resource.get())` (or `futures_lite::future::or`
    /// of the get and a timer). That is safe, because dropping a `get` future
    /// at any point loses nothing (see "Cancel safety" below). It differs from `get_or_cancel` in two ways: it also drops an
    /// `allocate` in progress (its charge is freed), and its error does not
    /// say which phase the get was in.
    ///
    /// # Errors
    ///
    /// - [`Error::PutTimeout`]: cancelled while another `Guard` of this resource
    ///   was alive ([phase 1](crate#terms), the hold).
    /// - [`Error::ResourceLimitExceeded`]: cancelled while waiting for a charge,
    ///   or for this resource's own release to finish ([phase 2](crate#terms),
    ///   capacity).
    /// - [`Error::Allocate`]: `allocate` failed ([phase 3](crate#terms)).
    /// - [`Error::Closed`]: the pool was closed, before this get or while it
    ///   waited.
    ///
    /// # Cancel safety
    ///
    /// As for [`get`](Self::get): dropping the future at any point loses
    /// nothing.
    ///
    /// # Examples
    ///
    /// With tokio's timer (it needs a runtime with its time driver enabled):
    ///
    /// ```
    /// use resourcepool::{AllocateRelease, Error, Pool};
    /// use std::time::Duration;
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = ();
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// }
    ///
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// runtime.block_on(async {
    ///     let pool = Pool::new(1);
    ///     let conn = pool.create(Conn);
    ///     let held = conn.get().await?;
    ///     // `sleep` yields `()`: a cancel future as it is.
    ///     let cancel = tokio::time::sleep(Duration::from_millis(10));
    ///     assert!(matches!(conn.get_or_cancel(cancel).await, Err(Error::PutTimeout)));
    ///     drop(held); // put
    ///     let cancel = tokio::time::sleep(Duration::from_millis(10));
    ///     assert!(conn.get_or_cancel(cancel).await.is_ok()); // idle: no wait
    ///     Ok::<(), Error<std::io::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// With smol's timer, which yields an `Instant`: wrap it.
    ///
    /// ```
    /// # use resourcepool::{AllocateRelease, Error, Pool};
    /// # use std::time::Duration;
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// smol::block_on(async {
    ///     let pool = Pool::new(1);
    ///     let (a, b) = (pool.create(Conn), pool.create(Conn));
    ///     let held = a.get().await?; // the pool's only charge
    ///     let cancel = async {
    ///         smol::Timer::after(Duration::from_millis(10)).await;
    ///     };
    ///     assert!(matches!(b.get_or_cancel(cancel).await, Err(Error::ResourceLimitExceeded)));
    ///     drop(held);
    ///     Ok::<(), Error<std::io::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// With `tokio::time::timeout` around a plain `get` instead:
    ///
    /// ```
    /// # use resourcepool::{AllocateRelease, Error, Pool};
    /// # use std::time::Duration;
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    /// runtime.block_on(async {
    ///     let pool = Pool::new(1);
    ///     let conn = pool.create(Conn);
    ///     let held = conn.get().await?;
    ///     let timed_out = tokio::time::timeout(Duration::from_millis(10), conn.get()).await;
    ///     assert!(timed_out.is_err()); // `Elapsed`: the get was dropped, nothing lost
    ///     drop(held);
    ///     assert!(conn.try_get().await.is_ok());
    ///     Ok::<(), Error<std::io::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn get_or_cancel<C: Future<Output = ()>>(
        &self,
        cancel: C,
    ) -> Result<Guard<'_, M>, Error<M::Error>> {
        match self.take_idle() {
            Taken::Ready(guard) => Ok(guard),
            Taken::Vet(guard, verdict) => self.vet_taken(guard, verdict, cancel).await,
            Taken::No => self.acquire(cancel).await,
        }
    }

    /// Gets the resource if that needs no waiting: its hold is free, and it is
    /// idle, or a charge is free, or an idle resource can be evicted. It still
    /// awaits `allocate`.
    ///
    /// # Errors
    ///
    /// - [`Error::PutTimeout`]: another `Guard` of this resource is alive.
    /// - [`Error::ResourceLimitExceeded`]: no charge is free and no resource is
    ///   idle (or this resource's own release is still running).
    /// - [`Error::Allocate`]: `allocate` failed.
    /// - [`Error::Closed`]: the pool is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use resourcepool::{AllocateRelease, Error, Pool};
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = ();
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// }
    ///
    /// let pool = Pool::new(1);
    /// let (a, b) = (pool.create(Conn), pool.create(Conn));
    /// let held = a.get().await?;
    /// assert!(matches!(b.try_get().await, Err(Error::ResourceLimitExceeded)));
    /// drop(held);
    /// assert!(b.try_get().await.is_ok()); // evicts a: evicting is not waiting
    /// # Ok::<(), Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn try_get(&self) -> Result<Guard<'_, M>, Error<M::Error>> {
        match self.take_idle() {
            Taken::Ready(guard) => Ok(guard),
            Taken::Vet(guard, verdict) => {
                let now = core::future::ready(());
                self.vet_taken(guard, verdict, now).await
            }
            Taken::No => self.acquire(core::future::ready(())).await,
        }
    }

    /// Like [`get`](Self::get), but blocks the thread instead of returning a
    /// future: for code outside async. Do not call it on an async runtime's
    /// worker thread.
    ///
    /// # Runtimes
    ///
    /// `get_blocking` polls the get, and so `allocate`, on the calling thread,
    /// outside any runtime. A manager whose `allocate` needs a runtime's
    /// reactor or timer, such as one that calls tokio's `TcpStream::connect`,
    /// then panics with "there is no reactor running, must be called from the
    /// context of a Tokio 1.x runtime". Instead:
    ///
    /// - enter a multi-threaded tokio runtime first: hold the guard of
    ///   `runtime.enter()` (or `handle.enter()`, with a
    ///   `tokio::runtime::Handle`) while calling `get_blocking`; the runtime's
    ///   worker threads drive its reactor (see the example below). Entering a
    ///   current-thread runtime is not enough: nothing drives its reactor
    ///   while this thread blocks, and the get never finishes. With one, call
    ///   `runtime.block_on(resource.get())` instead;
    /// - or use a manager that does blocking I/O (`std::net::TcpStream`), as
    ///   code outside async would;
    /// - or, from async code, use [`get`](Self::get).
    ///
    /// # Errors
    ///
    /// - [`Error::Allocate`]: `allocate` failed.
    /// - [`Error::Closed`]: the pool was closed, before this get or while it
    ///   waited.
    ///
    /// # Panics
    ///
    /// If `allocate`, or the `release` of an evicted item, panics (as for
    /// [`get`](Self::get)); see "Runtimes" above for a panic that comes from
    /// calling it outside the runtime that `allocate` needs.
    ///
    /// # Examples
    ///
    /// ```
    /// use resourcepool::{AllocateRelease, Pool};
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = u8;
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<u8, std::io::Error> { Ok(7) }
    /// }
    ///
    /// let pool = Pool::new(1);
    /// let conn = pool.create(Conn);
    /// assert_eq!(*conn.get_blocking()?, 7);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// ```
    ///
    /// A manager that dials with tokio, called from a plain thread inside a
    /// multi-threaded runtime's context:
    ///
    /// ```
    /// use resourcepool::{AllocateRelease, Pool};
    /// use std::net::SocketAddr;
    /// use tokio::net::TcpStream;
    ///
    /// struct Host(SocketAddr);
    /// impl AllocateRelease for Host {
    ///     type Item = TcpStream;
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> std::io::Result<TcpStream> {
    ///         TcpStream::connect(self.0).await // needs tokio's reactor
    ///     }
    /// }
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let host = Pool::new(1).create(Host(listener.local_addr()?));
    ///
    /// let runtime = tokio::runtime::Builder::new_multi_thread()
    ///     .worker_threads(1)
    ///     .enable_io()
    ///     .build()?;
    /// let _context = runtime.enter(); // without it, `connect` panics: no reactor
    /// let connection = host.get_blocking()?;
    /// assert_eq!(connection.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_blocking(&self) -> Result<Guard<'_, M>, Error<M::Error>> {
        futures_lite::future::block_on(self.get())
    }

    /// Releases the item now if it is idle, or at the next put if it is held
    /// (or being allocated). Only that next put releases: later puts keep the
    /// item again. Does nothing if the resource is not allocated.
    ///
    /// # Errors
    ///
    /// What [`AllocateRelease::release`] returned, when it ran now. A release at
    /// the next put has nowhere to report an error (it still frees the charge).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use resourcepool::{AllocateRelease, Pool};
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = ();
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// }
    ///
    /// let pool = Pool::new(1);
    /// let conn = pool.create(Conn);
    /// let guard = conn.get().await.unwrap();
    /// conn.schedule_release()?; // held: armed for the next put
    /// drop(guard);
    /// assert!(!conn.is_allocated());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn schedule_release(&self) -> Result<(), M::Error> {
        let (decision, _) = transition(&self.inner.state, state::schedule_release);
        match decision {
            Schedule::ReleaseNow => self.inner.release_idle(),
            Schedule::Armed | Schedule::Nothing => Ok(()),
        }
    }

    /// Whether the resource holds an item (idle or in use). `false` while it is
    /// being allocated or released.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let conn = Pool::new(1).create(Conn);
    /// assert!(!conn.is_allocated());
    /// conn.get().await?.release()?;
    /// assert!(!conn.is_allocated());
    /// drop(conn.get().await?);
    /// assert!(conn.is_allocated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn is_allocated(&self) -> bool {
        self.snapshot().is_allocated()
    }

    /// The manager this resource was created with.
    ///
    /// # Examples
    ///
    /// ```
    /// # use resourcepool::{AllocateRelease, Pool};
    /// struct Host(&'static str);
    /// # impl AllocateRelease for Host {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let host = Pool::new(1).create(Host("db-1"));
    /// assert_eq!(host.manager().0, "db-1");
    /// ```
    pub fn manager(&self) -> &M {
        &self.inner.manager
    }

    /// The pool this resource draws its charges from.
    ///
    /// # Examples
    ///
    /// ```
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let conn = Pool::new(5).create(Conn);
    /// assert_eq!(conn.pool().max(), 5);
    /// ```
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot(self.inner.state.load(Ordering::Acquire))
    }

    fn pool_inner(&self) -> &PoolInner {
        &self.inner.pool.inner
    }

    /// The hot path of every get: an idle item, taken in one swap.
    #[inline]
    fn take_idle(&self) -> Taken<'_, M> {
        let (taken, _) = transition(&self.inner.state, state::take_idle);
        if !taken {
            return Taken::No;
        }
        let guard = Guard::new(self);
        if self.pool_inner().reuse_needs_care() {
            return self.took_with_care(guard);
        }
        Taken::Ready(guard)
    }

    /// `take_idle` took an item while the pool is closed, or has lifecycle
    /// settings.
    #[cold]
    fn took_with_care<'a>(&'a self, guard: Guard<'a, M>) -> Taken<'a, M> {
        let pool = self.pool_inner();
        if pool.is_closed() {
            // An item a put left idle as the pool closed: its put now sheds
            // it, and the slow path fails the get.
            drop(guard);
            return Taken::No;
        }
        match self.verdict() {
            Verdict::Reuse => Taken::Ready(guard),
            verdict => Taken::Vet(guard, verdict),
        }
    }

    /// What the lifecycle settings say about the item this get holds.
    fn verdict(&self) -> Verdict {
        let lifecycle = &self.pool_inner().lifecycle;
        if !lifecycle.is_used() {
            return Verdict::Reuse;
        }
        let stamps = Stamps {
            born: self.inner.born.load(Ordering::Relaxed),
            idle_since: self.inner.idle_since.load(Ordering::Relaxed),
        };
        lifecycle.on_reuse(lifecycle.now(), stamps)
    }

    /// A get that took an idle item to check or replace: see [`vet`](Self::vet).
    /// `cancel` is the get's (closing the pool ends a wait too, as in
    /// `acquire`).
    #[cold]
    async fn vet_taken<'a, C: Future<Output = ()>>(
        &'a self,
        guard: Guard<'a, M>,
        verdict: Verdict,
        cancel: C,
    ) -> Result<Guard<'a, M>, Error<M::Error>> {
        let pool = self.pool_inner();
        let mut record = GetRecord::new(&pool.tallies);
        let cancel = pin!(futures_lite::future::or(cancel, pool.closed()));
        // Boxed, as it is rare and large (a check, an allocation).
        Box::pin(self.vet(guard, verdict, cancel, &mut record)).await
    }

    /// A get holds an item it reuses, and `verdict` says what to do with it:
    /// return it; check it first (and replace it if the check fails); or
    /// replace it (released, and a new one allocated with the same charge).
    async fn vet<'a, C: Future<Output = ()>>(
        &'a self,
        guard: Guard<'a, M>,
        verdict: Verdict,
        cancel: Pin<&mut C>,
        record: &mut GetRecord<'_>,
    ) -> Result<Guard<'a, M>, Error<M::Error>> {
        let why = match verdict {
            Verdict::Reuse => {
                record.served();
                return Ok(guard);
            }
            Verdict::Expired => {
                core::mem::forget(guard);
                Tally::Expired
            }
            Verdict::Check => {
                // If `check` panics, or the get is dropped while it runs,
                // `checking` releases the item.
                let mut checking = Checking { guard: Some(guard) };
                let checked = {
                    let item = checking.guard.as_deref_mut();
                    let item = item.expect("the guard is there until the check ends");
                    self.inner.manager.check(item).await
                };
                let guard = checking.end();
                if checked.is_ok() {
                    record.served();
                    return Ok(guard);
                }
                core::mem::forget(guard);
                Tally::CheckFailure
            }
        };
        // The item goes (its guard forgotten): `acquire_cold` shuts it down,
        // keeping the hold and the charge, and allocates afresh with them.
        self.acquire_cold(cancel, record, Some(why)).await
    }

    /// The three phases of a get; `cancel` ends the waits (see `get_or_cancel`).
    /// Its `GetRecord` counts its waits and how it ends in the pool's totals.
    #[cold]
    async fn acquire<C: Future<Output = ()>>(
        &self,
        cancel: C,
    ) -> Result<Guard<'_, M>, Error<M::Error>> {
        let pool = self.pool_inner();
        let mut record = GetRecord::new(&pool.tallies);
        if pool.is_closed() {
            record.closed();
            return Err(Error::Closed);
        }
        // Closing the pool ends every wait, as a completed cancel would.
        let mut cancel = pin!(futures_lite::future::or(cancel, pool.closed()));
        // Phase 1: the hold. An idle item comes with it, in the same swap.
        let hold = match transition(&self.inner.state, |s| state::hold(s, Waiter::No)).0 {
            Hold::Busy => {
                // Boxed, as every wait: a get that does not wait keeps a
                // small future.
                let mut waited = Box::pin(self.wait_for_hold(cancel.as_mut()));
                match record.wait(WaitFor::Resource, waited.as_mut()).await {
                    Ok(hold) => hold,
                    Err(Cancelled) => return Err(self.stopped(&mut record, Error::PutTimeout)),
                }
            }
            taken => taken,
        };
        match hold {
            // An idle item, or the previous holder handed its item over with
            // the hold.
            Hold::Taken { idle: true } | Hold::HandedOver { allocated: true } => {
                let guard = Guard::new(self);
                if pool.is_closed() {
                    // The hold came with its item, from a put before the
                    // close: the get still fails, and this put sheds it.
                    drop(guard);
                    record.closed();
                    return Err(Error::Closed);
                }
                match self.verdict() {
                    Verdict::Reuse => {
                        record.served();
                        Ok(guard)
                    }
                    // Boxed, as it is rare and large (a check, an allocation).
                    verdict => {
                        let vetted = self.vet(guard, verdict, cancel.as_mut(), &mut record);
                        Box::pin(vetted).await
                    }
                }
            }
            _ => self.acquire_cold(cancel, &mut record, None).await,
        }
    }

    /// A wait ended without what it waited for: `Error::Closed` if the pool
    /// was closed, else `cancelled`, the error of the phase it was in.
    fn stopped(&self, record: &mut GetRecord<'_>, cancelled: Error<M::Error>) -> Error<M::Error> {
        if self.pool_inner().is_closed() {
            record.closed();
            Error::Closed
        } else {
            record.gave_up();
            cancelled
        }
    }

    /// Phases 2 and 3, for a holder without an item; or, `replacing`, for a
    /// holder whose own item must go (past its time, or failing its check,
    /// counted as that): it shuts the item down and allocates afresh with
    /// the charge it had.
    #[cold]
    async fn acquire_cold<C: Future<Output = ()>>(
        &self,
        mut cancel: Pin<&mut C>,
        record: &mut GetRecord<'_>,
        replacing: Option<Tally>,
    ) -> Result<Guard<'_, M>, Error<M::Error>> {
        // Gives back the hold, and the charge once taken, if the get fails,
        // panics or is dropped.
        let mut holding = Holding {
            resource: self,
            charged: false,
        };
        let mut replacing = replacing;
        // Whether the charge is counted as allocating already: it passed
        // from an item shut down inline, in the step that ended its release.
        let mut counted_allocating = false;
        loop {
            // Whether an item was shut down to give this get its charge.
            let mut shut_down = false;
            // The item to shut down before allocating: its charge is then ours.
            let to_shut_down = match replacing.take() {
                Some(why) => {
                    let pool = self.pool_inner();
                    pool.tallies.count(why);
                    let ((), _) = transition(&self.inner.state, state::discard);
                    pool.counters.shift(Count::Allocated, Count::Releasing);
                    Some(Arc::clone(&self.inner))
                }
                None => {
                    let found = match self.find_capacity(cancel.as_mut(), record) {
                        FoundCapacity::Now(found) => found,
                        FoundCapacity::Wait(waited) => waited.await,
                    };
                    match found {
                        Ok(Capacity::Charge) => None,
                        // The item of a resource with this get's manager type (the
                        // usual pool) is shut down inline; another's, through a
                        // boxed future.
                        Ok(Capacity::Item(item)) if item.as_any().is::<Shared<M>>() => {
                            let victim = item.into_any().downcast::<Shared<M>>();
                            Some(victim.unwrap_or_else(|_| unreachable!("checked above")))
                        }
                        Ok(Capacity::Item(item)) => {
                            item.shutdown_claimed().await;
                            shut_down = true;
                            None
                        }
                        Err(Stop::Cancelled) => {
                            return Err(self.stopped(record, Error::ResourceLimitExceeded));
                        }
                        Err(Stop::Closed) => {
                            record.closed();
                            return Err(Error::Closed);
                        }
                    }
                }
            };
            if let Some(shared) = to_shut_down {
                // If `shutdown` panics, or the get is dropped while it runs,
                // the charge is freed (and `holding` lets go of the hold).
                let (item, mut released) = shared.take_for_shutdown();
                // Nowhere to report an error: the item is gone either way.
                drop(shared.manager.shutdown(item).await);
                released.charge = ChargeGoesTo::Allocation;
                drop(released);
                counted_allocating = true;
                shut_down = true;
            }
            if shut_down {
                // The pool may have changed while `shutdown` ran (or `check`,
                // before it): closed, the get fails; shrunk below the charges
                // taken, the charge goes back and the get waits for capacity
                // as any other (no allocation starts until they fit).
                let pool = self.pool_inner();
                let closed = pool.is_closed();
                if closed || pool.must_shed() {
                    if core::mem::take(&mut counted_allocating) {
                        pool.counters.remove(Count::Allocating);
                    }
                    pool.free_charge();
                    if closed {
                        record.closed();
                        return Err(Error::Closed);
                    }
                    continue;
                }
            }
            break;
        }
        // Phase 3: allocate, with the charge (`holding` frees it if this
        // fails, panics or is dropped, and `record` counts which).
        let ((), _) = transition(&self.inner.state, state::charge);
        holding.charged = true;
        if !counted_allocating {
            self.pool_inner().counters.add(Count::Allocating);
        }
        record.allocating();
        let allocated = self.inner.manager.allocate().await;
        record.allocated(allocated.is_ok());
        Ok(holding.into_guard(allocated.map_err(Error::Allocate)?))
    }

    /// Phase 2: takes a free charge or claims an idle victim, if there is one
    /// and this resource's previous item is released; otherwise returns the
    /// (boxed) wait for them.
    fn find_capacity<'a, 'r, C: Future<Output = ()>>(
        &'a self,
        cancel: Pin<&'a mut C>,
        record: &'a mut GetRecord<'r>,
    ) -> FoundCapacity<impl Future<Output = Result<Capacity, Stop>> + use<'a, 'r, M, C>> {
        let pool = self.pool_inner();
        if !self.snapshot().is_releasing() {
            match pool.take_capacity(self) {
                Ok(Some(found)) => return FoundCapacity::Now(Ok(found)),
                Err(stop) => return FoundCapacity::Now(Err(stop)),
                Ok(None) => {}
            }
        }
        FoundCapacity::Wait(Box::pin(self.wait_for_capacity(cancel, record)))
    }

    /// Phase 2's waits: for this resource's previous item to be released,
    /// then for a free charge or an idle victim.
    async fn wait_for_capacity<C: Future<Output = ()>>(
        &self,
        mut cancel: Pin<&mut C>,
        record: &mut GetRecord<'_>,
    ) -> Result<Capacity, Stop> {
        if self.snapshot().is_releasing() {
            let waited = pin!(self.wait_for_own_release(cancel.as_mut()));
            let released = record.wait(WaitFor::Resource, waited).await;
            released.map_err(|Cancelled| Stop::Cancelled)?;
        }
        let pool = self.pool_inner();
        match pool.take_capacity(self)? {
            Some(found) => Ok(found),
            None => pool.wait_for_capacity(self, cancel, record).await,
        }
    }

    /// Waits until the hold is let go, or handed to this get, and takes it.
    /// Never returns `Hold::Busy`.
    async fn wait_for_hold<C: Future<Output = ()>>(
        &self,
        mut cancel: Pin<&mut C>,
    ) -> Result<Hold, Cancelled> {
        let shared = &*self.inner;
        // Listen before joining the count: a put that sees the count notifies us.
        let mut listener = shared.changed.listen();
        let joined = transition(&shared.state, |s| state::hold(s, Waiter::Join)).0;
        if joined != Hold::Busy {
            return Ok(joined);
        }
        let mut waiter = HoldWaiter {
            resource: self,
            counted: true,
        };
        loop {
            listen_or_cancel(&mut listener, cancel.as_mut()).await?;
            listener = shared.changed.listen();
            let hold = transition(&shared.state, |s| state::hold(s, Waiter::Counted)).0;
            if hold != Hold::Busy {
                waiter.counted = false;
                return Ok(hold);
            }
        }
    }

    /// Waits until a release of this resource's previous item (by an evictor,
    /// or on another thread) has returned: only then may it allocate again.
    async fn wait_for_own_release<C: Future<Output = ()>>(
        &self,
        mut cancel: Pin<&mut C>,
    ) -> Result<(), Cancelled> {
        while self.snapshot().is_releasing() {
            // Listen before setting RELEASE_WAITER: a releaser that sees the
            // bit notifies us.
            let mut listener = self.inner.changed.listen();
            if !transition(&self.inner.state, state::await_release).0 {
                break;
            }
            listen_or_cancel(&mut listener, cancel.as_mut()).await?;
        }
        Ok(())
    }

    /// The put: what dropping a `Guard` does.
    pub(crate) fn put(&self) {
        let pool = self.pool_inner();
        if pool.needs_care() && self.put_with_care() {
            return;
        }
        // Stored before the swap that makes the item idle, so that an evictor
        // that sees it idle sees this time too.
        let previous = self.inner.put_time.load(Ordering::Relaxed);
        let put_time = pool.idle.put_time(previous);
        if put_time != previous {
            self.inner.put_time.store(put_time, Ordering::Relaxed);
        }
        let (decision, old) = transition(&self.inner.state, |s| state::put(s, false));
        match decision {
            Put::Idle { push } => {
                self.inner.wake_hold_waiter(old);
                if push {
                    let entry: Weak<dyn Victim> = Arc::downgrade(&self.inner) as Weak<Shared<M>>;
                    pool.push_idle(put_time, entry);
                }
            }
            Put::HandedOff => self.inner.wake_hold_waiter(old),
            // Nowhere to report an error; the charge is freed all the same.
            Put::Release => drop(self.inner.release_from_holder(old, Tally::Released)),
        }
    }

    /// The slow path of a put, taken while gets wait for capacity, once the
    /// pool is closed, while it holds more items than a shrunk `max`, or with
    /// lifecycle settings: sheds the item (closed, or too many), releases it
    /// (past its lifetime), stamps its put time, or hands it over (a get is
    /// due a hand-off). Returns whether it released or handed it over.
    #[cold]
    fn put_with_care(&self) -> bool {
        let pool = self.pool_inner();
        if pool.is_closed() || pool.must_shed() {
            let (_, old) = transition(&self.inner.state, state::release_held);
            // Nowhere to report an error; the charge is freed all the same.
            drop(self.inner.release_from_holder(old, Tally::Shed));
            return true;
        }
        let lifecycle = &pool.lifecycle;
        if lifecycle.is_used() {
            let now = lifecycle.now();
            if lifecycle.outlived(now, self.inner.born.load(Ordering::Relaxed)) {
                let (_, old) = transition(&self.inner.state, state::release_held);
                drop(self.inner.release_from_holder(old, Tally::Expired));
                return true;
            }
            if lifecycle.stamps_puts() {
                // Before the swap that makes the item idle (see `put`).
                self.inner.idle_since.store(now, Ordering::Relaxed);
            }
        }
        pool.has_waiters() && pool.handoff_due() && self.put_handing_over()
    }

    /// A put while a get has waited for capacity past the pool's
    /// `handoff_after`: the item leaves the slot, still charged, for that get
    /// to release and allocate with the charge. Returns whether it did.
    #[cold]
    fn put_handing_over(&self) -> bool {
        let shared = &self.inner;
        let handed = self.pool_inner().hand_over(|| {
            let (decision, old) = transition(&shared.state, |s| state::put(s, true));
            debug_assert_eq!(decision, Put::Release);
            let counters = &shared.pool.inner.counters;
            counters.shift(Count::Allocated, Count::Releasing);
            let item: Arc<dyn Victim> = Arc::clone(shared) as Arc<Shared<M>>;
            (old, item)
        });
        match handed {
            Some(old) => {
                shared.wake_hold_waiter(old);
                true
            }
            None => false,
        }
    }

    /// `Guard::release`.
    pub(crate) fn release_held(&self) -> Result<(), M::Error> {
        self.release_held_for(Tally::Released)
    }

    /// The holder releases its item, counted as `why`.
    fn release_held_for(&self, why: Tally) -> Result<(), M::Error> {
        let (_, old) = transition(&self.inner.state, state::release_held);
        self.inner.release_from_holder(old, why)
    }

    /// The item, for `Guard`.
    ///
    /// # Safety
    ///
    /// The caller is a `Guard` of this resource (it holds it, with an item).
    #[allow(unsafe_code)]
    pub(crate) unsafe fn item(&self) -> *mut M::Item {
        // SAFETY: the caller holds the resource and it is allocated, which is
        // what `Slot::item` asks.
        unsafe { self.inner.slot.item() }
    }
}

impl<M: AllocateRelease> Shared<M> {
    fn wake_hold_waiter(&self, old: Snapshot) {
        if old.hold_waiters() > 0 {
            self.changed.notify(1.additional());
        }
    }

    /// After `state::release_held`: the hold is let go, the item is ours to
    /// release (`Guard::release`, or a put with a release scheduled).
    fn release_from_holder(&self, old: Snapshot, why: Tally) -> Result<(), M::Error> {
        let pool = &self.pool.inner;
        pool.tallies.count(why);
        pool.counters.shift(Count::Allocated, Count::Releasing);
        self.wake_hold_waiter(old);
        self.release_taken(ChargeGoesTo::Pool)
    }

    /// After `state::schedule_release` decided `ReleaseNow` (for
    /// `schedule_release`, or the last handle's drop).
    fn release_idle(&self) -> Result<(), M::Error> {
        let pool = &self.pool.inner;
        pool.tallies.count(Tally::Released);
        pool.counters.shift(Count::Allocated, Count::Releasing);
        self.release_taken(ChargeGoesTo::Pool)
    }

    /// Takes the item out (RELEASING is set by the caller's swap) and releases
    /// it; then clears RELEASING and CHARGED and places the charge.
    fn release_taken(&self, charge: ChargeGoesTo) -> Result<(), M::Error> {
        // SAFETY: the caller's swap set RELEASING and cleared ALLOCATED on an
        // allocated resource: the slot holds the item and is ours alone until
        // `Released` clears RELEASING.
        #[allow(unsafe_code)]
        let item = unsafe { self.slot.take() };
        let mut released = Released::new(self);
        let result = self.manager.release(item);
        released.charge = charge;
        result
    }

    /// Takes the item out (RELEASING is set by the caller's swap), for the
    /// caller to give to `shutdown`, with the guard that finishes the
    /// release: once `shutdown` completed, the caller sets its charge to
    /// [`ChargeGoesTo::Allocation`] and drops it (RELEASING and CHARGED
    /// cleared, the charge the caller's, counted as allocating); if it is
    /// dropped before (the get was dropped, or `shutdown` panicked), the
    /// charge is freed to the pool.
    fn take_for_shutdown(&self) -> (M::Item, Released<M, &Self>) {
        // SAFETY: as in `release_taken`.
        #[allow(unsafe_code)]
        let item = unsafe { self.slot.take() };
        (item, Released::new(self))
    }
}

/// Where the charge of a released item goes.
#[derive(Clone, Copy)]
enum ChargeGoesTo {
    /// Back to the pool (or granted to waiting gets).
    Pool,
    /// To the get that released the item for itself: it evicted it, took it
    /// in a hand-off, or replaced its own.
    Get,
    /// As `Get`, to a get that allocates with it next: the item leaves the
    /// releasing count for the allocating one in one step (one change of the
    /// occupancy word rather than two).
    Allocation,
}

/// Finishes a release when `release` or `shutdown` returns, panics or is
/// dropped. `P` is how it reaches the resource: a borrow, or a handle (in a
/// boxed shutdown, which must own what it uses).
struct Released<M: AllocateRelease, P: Deref<Target = Shared<M>>> {
    shared: P,
    /// Where the charge goes: to the pool until the release completed.
    charge: ChargeGoesTo,
}

impl<M: AllocateRelease, P: Deref<Target = Shared<M>>> Released<M, P> {
    fn new(shared: P) -> Self {
        Released {
            shared,
            charge: ChargeGoesTo::Pool,
        }
    }
}

impl<M: AllocateRelease, P: Deref<Target = Shared<M>>> Drop for Released<M, P> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let (waiter, _) = transition(&shared.state, state::released);
        let pool = &shared.pool.inner;
        match self.charge {
            ChargeGoesTo::Pool => {
                pool.counters.remove(Count::Releasing);
                pool.free_charge();
            }
            ChargeGoesTo::Get => pool.counters.remove(Count::Releasing),
            ChargeGoesTo::Allocation => pool.counters.shift(Count::Releasing, Count::Allocating),
        }
        if waiter {
            shared.changed.notify(usize::MAX);
        }
    }
}

impl<M: AllocateRelease> QueueAhead for Resource<M> {
    fn queue_ahead(&self, put_time: u64) -> Option<Weak<dyn Victim>> {
        if !transition(&self.inner.state, state::queue_ahead).0 {
            return None;
        }
        self.inner.put_time.store(put_time, Ordering::Relaxed);
        Some(Arc::downgrade(&self.inner) as Weak<Shared<M>>)
    }
}

impl<M: AllocateRelease> Victim for Shared<M> {
    fn evict(&self, entry_put_time: u64) -> Evict {
        // The put time is read after the state word: if that shows the put
        // that stored it, the time is that put's (see `put`).
        let latest = || self.put_time.load(Ordering::Relaxed) == entry_put_time;
        let decision = transition(&self.state, |s| state::evict(s, latest())).0;
        if let Evict::Claimed = decision {
            let counters = &self.pool.inner.counters;
            counters.shift(Count::Allocated, Count::Releasing);
        }
        decision
    }

    fn put_time(&self) -> u64 {
        self.put_time.load(Ordering::Relaxed)
    }

    fn expire(&self, now: u64) -> Expiry {
        let lifecycle = &self.pool.inner.lifecycle;
        // Read after the state word in each try: if the swap succeeds, no put
        // came in between, and these are the stamps of the item it claims.
        let stamps = || Stamps {
            born: self.born.load(Ordering::Relaxed),
            idle_since: self.idle_since.load(Ordering::Relaxed),
        };
        let expired = |s: Snapshot| s.is_idle() && lifecycle.is_expired(now, stamps());
        let (claimed, s) = transition(&self.state, |s| state::expire(s, expired(s)));
        if claimed {
            let counters = &self.pool.inner.counters;
            counters.shift(Count::Allocated, Count::Releasing);
            return Expiry::Claimed;
        }
        let expires_at = if s.is_idle() {
            lifecycle.expires_at(stamps())
        } else {
            u64::MAX
        };
        Expiry::Kept { expires_at }
    }

    fn is_idle(&self) -> bool {
        Snapshot(self.state.load(Ordering::Acquire)).is_idle()
    }

    fn release_claimed(&self) {
        // An evicted or handed-over item has nowhere to report a release error.
        drop(self.release_taken(ChargeGoesTo::Get));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn shutdown_claimed(self: Arc<Self>) -> Shutdown {
        // SAFETY: as in `release_taken`: `evict` (or the put that handed the
        // item over) set RELEASING, and the slot is ours.
        #[allow(unsafe_code)]
        let item = unsafe { self.slot.take() };
        // Owns a handle: the boxed future must own what it uses.
        let released = Released::new(Arc::clone(&self));
        Box::pin(async move {
            let mut released = released;
            // Nowhere to report an error: the item is gone either way.
            drop(self.manager.shutdown(item).await);
            released.charge = ChargeGoesTo::Get;
        })
    }
}

impl<M: AllocateRelease> Drop for Shared<M> {
    /// The last handle is gone (and no evictor holds the resource): an idle
    /// item is released and its charge freed.
    fn drop(&mut self) {
        let (decision, s) = transition(&self.state, state::schedule_release);
        if s.is_queued() {
            self.pool.inner.idle.entry_died();
        }
        if let Schedule::ReleaseNow = decision {
            drop(self.release_idle());
        }
    }
}

/// What phase 2 found without waiting, or its wait, boxed: only a get that
/// waits pays for its state.
enum FoundCapacity<W> {
    Now(Result<Capacity, Stop>),
    Wait(Pin<Box<W>>),
}

/// What `take_idle` found.
enum Taken<'a, M: AllocateRelease> {
    /// An idle item, ready to use.
    Ready(Guard<'a, M>),
    /// An idle item that the lifecycle settings say to check or replace.
    Vet(Guard<'a, M>, Verdict),
    /// No idle item: the slow path.
    No,
}

/// A get whose `check` of its item runs: if the check panics, or the get is
/// dropped meanwhile, the item is released (its charge freed, the hold let go).
struct Checking<'a, M: AllocateRelease> {
    guard: Option<Guard<'a, M>>,
}

impl<'a, M: AllocateRelease> Checking<'a, M> {
    /// The check returned: the guard, to keep or to forget.
    fn end(mut self) -> Guard<'a, M> {
        self.guard
            .take()
            .expect("the guard is there until the check ends")
    }
}

impl<M: AllocateRelease> Drop for Checking<'_, M> {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        // A panicking check failed; a dropped get let its item go.
        let why = if std::thread::panicking() {
            Tally::CheckFailure
        } else {
            Tally::Released
        };
        let resource = guard.resource();
        core::mem::forget(guard);
        if std::thread::panicking() {
            // A second panic, in `release`, would abort: the first one goes on.
            let released = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                resource.release_held_for(why)
            }));
            drop(released);
        } else {
            // Nowhere to report an error; the charge is freed all the same.
            drop(resource.release_held_for(why));
        }
    }
}

/// A get in phases 2 and 3: its hold (and charge, once taken) are given back
/// if it fails, panics or is dropped.
struct Holding<'a, M: AllocateRelease> {
    resource: &'a Resource<M>,
    charged: bool,
}

impl<'a, M: AllocateRelease> Holding<'a, M> {
    fn into_guard(self, item: M::Item) -> Guard<'a, M> {
        let resource = self.resource;
        core::mem::forget(self);
        // SAFETY: we hold the resource (HELD by our swap) and it is allocating:
        // not ALLOCATED, not RELEASING, so the slot is empty and ours.
        #[allow(unsafe_code)]
        unsafe {
            resource.inner.slot.write(item)
        };
        let lifecycle = &resource.pool_inner().lifecycle;
        if lifecycle.stamps_births() {
            // Before the swap that publishes the item.
            let born = lifecycle.now();
            resource.inner.born.store(born, Ordering::Relaxed);
        }
        let ((), _) = transition(&resource.inner.state, state::allocated);
        let counters = &resource.pool_inner().counters;
        counters.shift(Count::Allocating, Count::Allocated);
        Guard::new(resource)
    }
}

impl<M: AllocateRelease> Drop for Holding<'_, M> {
    fn drop(&mut self) {
        let shared = &*self.resource.inner;
        let (wake, _) = transition(&shared.state, |s| state::unhold(s, self.charged));
        if self.charged {
            let pool = &shared.pool.inner;
            pool.counters.remove(Count::Allocating);
            pool.free_charge();
        }
        if wake {
            shared.changed.notify(1.additional());
        }
    }
}

/// A get counted among the hold waiters; uncounted if it leaves unserved.
struct HoldWaiter<'a, M: AllocateRelease> {
    resource: &'a Resource<M>,
    counted: bool,
}

impl<M: AllocateRelease> Drop for HoldWaiter<'_, M> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        let resource = self.resource;
        match transition(&resource.inner.state, state::leave_hold_waiters).0 {
            Leave::Left => {}
            // The hold was handed to the waiters and this was the last one: let
            // it go again as the holder that handed it over would have.
            Leave::TookHandoff { allocated: true } => drop(Guard::new(resource)),
            Leave::TookHandoff { allocated: false } => drop(Holding {
                resource,
                charged: false,
            }),
        }
    }
}

impl<M: AllocateRelease> Clone for Resource<M> {
    /// Another handle to the same resource.
    fn clone(&self) -> Self {
        Resource {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<M: AllocateRelease> fmt::Debug for Resource<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("state", &self.snapshot())
            .finish_non_exhaustive()
    }
}
