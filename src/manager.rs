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

    /// Frees the underlying resource. Synchronous: it may run inside `Drop`
    /// (a put of a resource whose release was scheduled, the last handle of a
    /// resource) and inside another resource's `get` (eviction).
    ///
    /// Called exactly once for every item that `allocate` returned.
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
}
