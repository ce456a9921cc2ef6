//! The error a `get` fails with.

/// Why a `get` failed.
///
/// `E` is the manager's [`AllocateRelease::Error`](crate::AllocateRelease::Error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E> {
    /// Cancelled while waiting for another holder of the same resource to put or
    /// release it ([phase 1](crate#terms), the hold).
    #[error("timed out waiting for put")]
    PutTimeout,
    /// Cancelled while waiting for one of the pool's charges
    /// ([phase 2](crate#terms), capacity), or for the resource's own release
    /// to finish.
    #[error("resource limit exceeded")]
    ResourceLimitExceeded,
    /// [`AllocateRelease::allocate`](crate::AllocateRelease::allocate) failed
    /// ([phase 3](crate#terms)). The charge was freed and the hold let go.
    #[error("allocate failed")]
    Allocate(#[source] E),
    /// The pool was closed ([`Pool::close`](crate::Pool::close)) before the
    /// get could be served, or while it waited.
    #[error("pool closed")]
    Closed,
}
