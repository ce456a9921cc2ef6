//! Waiting for an event, unless a cancel future completes first.

use core::future::Future;
use core::pin::Pin;

use event_listener::EventListener;

/// The cancel future completed while the get had to wait.
#[derive(Debug)]
pub(crate) struct Cancelled;

/// Why a get stopped waiting for capacity without it.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Its cancel future completed.
    Cancelled,
    /// The pool was closed.
    Closed,
}

impl From<Cancelled> for Stop {
    fn from(Cancelled: Cancelled) -> Self {
        Stop::Cancelled
    }
}

/// Waits for `listener`'s notification or for `cancel`, whichever comes first.
/// The listener is polled first: a notification that is already there wins,
/// and the caller re-checks its condition before it may give up.
pub(crate) async fn listen_or_cancel<C: Future<Output = ()>>(
    listener: &mut EventListener,
    cancel: Pin<&mut C>,
) -> Result<(), Cancelled> {
    futures_lite::future::or(
        async {
            listener.await;
            Ok(())
        },
        async {
            cancel.await;
            Err(Cancelled)
        },
    )
    .await
}
