//! The trait that makes and frees the underlying resource.

use core::future::Future;

/// Makes and frees the item behind a [`Resource`](crate::Resource): dials a
/// connection, opens a file, logs in to a session.
///
/// One manager per resource; it usually carries the resource's key (the host to
/// dial, the path to open). A pool may hold resources of different manager
/// types.
///
/// # Examples
///
/// ```
/// use resourcepool::AllocateRelease;
/// use std::net::SocketAddr;
///
/// struct Host(SocketAddr);
///
/// impl AllocateRelease for Host {
///     type Item = std::net::TcpStream;
///     type Error = std::io::Error;
///
///     async fn allocate(&self) -> Result<Self::Item, Self::Error> {
///         std::net::TcpStream::connect(self.0)
///     }
/// }
/// ```
pub trait AllocateRelease: Send + Sync + 'static {
    /// The underlying resource: a connection, a file, a session.
    type Item: Send + 'static;
    /// What `allocate` and `release` fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Makes the underlying resource (dial, open, log in).
    ///
    /// Called by `get` when the resource is not allocated, once it holds one of
    /// the pool's charges. If it fails or panics, or the `get` is dropped while
    /// it runs, the charge is freed and the hold let go.
    ///
    /// # Errors
    ///
    /// Whatever the manager fails with; `get` returns it as
    /// [`Error::Allocate`](crate::Error::Allocate).
    fn allocate(&self) -> impl Future<Output = Result<Self::Item, Self::Error>> + Send;

    /// Frees the underlying resource. Synchronous: it may run inside `Drop`.
    ///
    /// Called by the paths that cannot await: a put (of a resource whose
    /// release was scheduled, past its lifetime, or in a closed or shrunk
    /// pool), [`Guard::release`](crate::Guard::release),
    /// [`Resource::schedule_release`](crate::Resource::schedule_release), the
    /// drop of a resource's last handle, [`Pool::close`](crate::Pool::close),
    /// [`Pool::set_max`](crate::Pool::set_max) and
    /// [`Pool::release_expired`](crate::Pool::release_expired). A get that
    /// frees a charge for itself calls [`shutdown`](Self::shutdown) instead.
    /// Every item that `allocate` returned is given to exactly one of
    /// `release` and `shutdown`, once.
    ///
    /// # Errors
    ///
    /// Whatever the manager fails with. It reaches the caller of
    /// [`Guard::release`](crate::Guard::release) and
    /// [`Resource::schedule_release`](crate::Resource::schedule_release); a
    /// release on eviction, on put or on drop has nowhere to report it.
    fn release(&self, item: Self::Item) -> Result<(), Self::Error> {
        drop(item);
        Ok(())
    }

    /// Says whether an idle item is still good (a ping, `is_closed`) before a
    /// get reuses it. Called only in a pool built with
    /// [`check_after_idle`](crate::PoolBuilder::check_after_idle), by a get
    /// that reuses an item idle for at least that long. The default says
    /// `Ok`.
    ///
    /// On `Err`, the item is released (counted in
    /// [`Totals::check_failures`](crate::Totals::check_failures)) and the get
    /// allocates a new one with the charge it holds (unless the pool changed
    /// while `check` ran: closed, it allocates nothing, the charge is freed
    /// and the get fails with [`Error::Closed`](crate::Error::Closed);
    /// shrunk by [`set_max`](crate::Pool::set_max) below the charges in use,
    /// the charge is freed and the get waits for capacity as any get does).
    /// If it panics, the item is released, the charge freed and the hold let
    /// go, and the panic goes on to the get's caller. If the get is dropped
    /// while it runs, the item is released. A get's cancel future does not
    /// interrupt it (it ends only a wait for capacity that may follow).
    ///
    /// # Errors
    ///
    /// The item is no longer usable; the error itself is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use resourcepool::{AllocateRelease, Pool};
    /// use std::time::Duration;
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = bool; // "still connected"
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> std::io::Result<bool> { Ok(true) }
    ///     async fn check(&self, connected: &mut bool) -> std::io::Result<()> {
    ///         if *connected { Ok(()) } else { Err(std::io::ErrorKind::NotConnected.into()) }
    ///     }
    /// }
    ///
    /// let pool = Pool::builder(1).check_after_idle(Duration::ZERO).build();
    /// let conn = pool.create(Conn);
    /// *conn.get().await? = false; // the server hung up
    /// assert!(*conn.get().await?); // checked, replaced by a new connection
    /// assert_eq!(pool.stats().totals.check_failures, 1);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    fn check(&self, item: &mut Self::Item) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = item;
        async { Ok(()) }
    }

    /// Frees the underlying resource and waits until it is really gone: the
    /// far side has let go (a licence server acknowledged the return, the
    /// server answered a goodbye, or hung up). The default calls
    /// [`release`](Self::release).
    ///
    /// Called where a get frees a charge *for itself*, before it allocates
    /// with that charge: it evicts another resource's idle item, takes the
    /// item a put handed over to it, or finds its own item past its time or
    /// failing its [`check`](Self::check). The charge passes to the get only
    /// once this future completes; meanwhile the item counts in
    /// [`Stats::releasing`](crate::Stats::releasing). So the next `allocate`
    /// never starts while the item it replaces still holds the far side's
    /// resource.
    ///
    /// Override it when the far side has a budget of its own that outlives
    /// the client's `drop`: a server counts a connection until its close has
    /// finished on the server's side (PostgreSQL's `max_connections`), a
    /// licence server until it has taken the licence back. Waiting for the
    /// client's side alone is not enough; wait for the far side.
    ///
    /// If the get is dropped while this runs, the future is dropped (the item
    /// with it, as with a dropped `allocate`) and the charge is freed. If it
    /// panics, the charge is freed and the panic goes on to the get's caller.
    ///
    /// # Errors
    ///
    /// Whatever the manager fails with. A get has nowhere to report it: the
    /// item is gone either way, and the get goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// use resourcepool::{AllocateRelease, Pool};
    /// use std::sync::Mutex;
    ///
    /// /// A licence server that takes a returned licence back asynchronously.
    /// struct Licences { returned: Mutex<Vec<u32>> }
    /// impl Licences {
    ///     async fn give_back(&self, licence: u32) -> std::io::Result<()> {
    ///         self.returned.lock().unwrap().push(licence); // and await the acknowledgement
    ///         Ok(())
    ///     }
    /// }
    ///
    /// struct Seat(&'static Licences, u32);
    /// impl AllocateRelease for Seat {
    ///     type Item = u32;
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> std::io::Result<u32> { Ok(self.1) }
    ///     fn release(&self, licence: u32) -> std::io::Result<()> {
    ///         // Cannot await: give it back without waiting.
    ///         self.0.returned.lock().unwrap().push(licence);
    ///         Ok(())
    ///     }
    ///     async fn shutdown(&self, licence: u32) -> std::io::Result<()> {
    ///         self.0.give_back(licence).await // the next allocate waits for this
    ///     }
    /// }
    ///
    /// let licences = Box::leak(Box::new(Licences { returned: Mutex::new(Vec::new()) }));
    /// let pool = Pool::new(1);
    /// let (a, b) = (pool.create(Seat(licences, 1)), pool.create(Seat(licences, 2)));
    /// drop(a.get().await?);
    /// drop(b.get().await?); // evicts a: awaits its shutdown, then allocates
    /// assert_eq!(*licences.returned.lock().unwrap(), [1]);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    fn shutdown(&self, item: Self::Item) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async move { self.release(item) }
    }
}
