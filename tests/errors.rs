//! The errors of each phase: `try_get` and `get_or_cancel` fail with
//! `PutTimeout` in the hold phase and `ResourceLimitExceeded` in the capacity
//! phase; a cancel never fails a get that needs no waiting, nor interrupts a
//! running `allocate`. And the messages SPEC.md gives.

mod common;

use std::error::Error as _;
use std::future::{ready, Future};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use common::{
    assert_quiescent, bounded, counts, poll_by_hand, pool_of_max, Counting, Failed, SlowToAllocate,
    LIMIT,
};
use futures_lite::future::block_on;
use resourcepool::Error;
use tokio::sync::oneshot;

/// A cancel future that completes when its sender is used (or dropped).
fn cancel_signal() -> (oneshot::Sender<()>, impl Future<Output = ()>) {
    let (sender, receiver) = oneshot::channel();
    (sender, async move {
        let _ = receiver.await;
    })
}

#[test]
fn try_get_fails_with_put_timeout_while_another_guard_is_alive() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(2, Counting::new);
        let guard = block_on(resource.get()).unwrap();
        assert!(matches!(
            block_on(resource.try_get()),
            Err(Error::PutTimeout)
        ));
        assert!(matches!(
            block_on(resource.clone().try_get()),
            Err(Error::PutTimeout)
        ));
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        drop(block_on(resource.try_get()).unwrap());
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn try_get_fails_with_resource_limit_exceeded_when_no_charge_is_free_and_nothing_is_idle() {
    bounded(LIMIT, || {
        let (pool, tracker, [holder, other]) = pool_of_max(1, Counting::new);
        let guard = block_on(holder.get()).unwrap();
        assert!(matches!(
            block_on(other.try_get()),
            Err(Error::ResourceLimitExceeded)
        ));
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        assert_eq!(tracker.allocations(), 1);
        // The failed try_get left nothing behind: not its hold, not a charge.
        drop(block_on(other.try_get()).unwrap());
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn try_get_takes_a_free_charge_or_an_idle_item() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        drop(block_on(resource.try_get()).unwrap());
        drop(block_on(resource.try_get()).unwrap());
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn try_get_evicts_an_idle_victim() {
    bounded(LIMIT, || {
        let released = Arc::new(Mutex::new(Vec::new()));
        let (pool, tracker, [idle, other]) = pool_of_max(1, |key, tracker| {
            Counting::new(key, tracker).logging(&released)
        });
        drop(block_on(idle.get()).unwrap());
        let guard = block_on(other.try_get()).unwrap();
        assert_eq!(guard.key, 1);
        assert_eq!(*released.lock().unwrap(), [0]);
        assert!(!idle.is_allocated());
        drop(guard);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn get_or_cancel_waiting_for_the_hold_fails_with_put_timeout_once_cancelled() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, Counting::new);
        let guard = block_on(resource.get()).unwrap();
        let (cancel, cancelled) = cancel_signal();
        let mut waiting = pin!(resource.get_or_cancel(cancelled));
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        cancel.send(()).unwrap();
        assert!(matches!(block_on(waiting), Err(Error::PutTimeout)));
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        drop(block_on(resource.try_get()).unwrap());
        assert_eq!(tracker.allocations(), 1);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn get_or_cancel_waiting_for_capacity_fails_with_resource_limit_exceeded_once_cancelled() {
    bounded(LIMIT, || {
        let (pool, tracker, [holder, other]) = pool_of_max(1, Counting::new);
        let guard = block_on(holder.get()).unwrap();
        let (cancel, cancelled) = cancel_signal();
        let mut waiting = pin!(other.get_or_cancel(cancelled));
        assert!(poll_by_hand(waiting.as_mut()).is_pending());
        cancel.send(()).unwrap();
        assert!(matches!(
            block_on(waiting),
            Err(Error::ResourceLimitExceeded)
        ));
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        // Neither the hold nor a charge was lost: the other resource can go on.
        drop(block_on(other.try_get()).unwrap());
        assert_eq!(tracker.allocations(), 2);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_already_complete_cancel_fails_only_a_get_that_would_wait() {
    bounded(LIMIT, || {
        let (pool, tracker, [holder, other]) = pool_of_max(1, Counting::new);
        let guard = block_on(holder.get()).unwrap();
        assert!(matches!(
            block_on(holder.get_or_cancel(ready(()))),
            Err(Error::PutTimeout)
        ));
        assert!(matches!(
            block_on(other.get_or_cancel(ready(()))),
            Err(Error::ResourceLimitExceeded)
        ));
        drop(guard);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn an_already_complete_cancel_does_not_fail_a_get_that_needs_no_waiting() {
    bounded(LIMIT, || {
        let released = Arc::new(Mutex::new(Vec::new()));
        let (pool, tracker, [first, second]) = pool_of_max(1, |key, tracker| {
            Counting::new(key, tracker).logging(&released)
        });
        // A free charge.
        drop(block_on(first.get_or_cancel(ready(()))).unwrap());
        // The resource's own idle item.
        drop(block_on(first.get_or_cancel(ready(()))).unwrap());
        assert_eq!(tracker.allocations(), 1);
        // An idle victim to evict: evicting is not waiting.
        drop(block_on(second.get_or_cancel(ready(()))).unwrap());
        assert_eq!(*released.lock().unwrap(), [0]);
        assert_eq!(tracker.allocations(), 2);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn cancel_does_not_interrupt_a_running_allocate() {
    bounded(LIMIT, || {
        let (pool, tracker, [resource]) = pool_of_max(1, SlowToAllocate::new);
        let mut get = pin!(resource.get_or_cancel(ready(())));
        assert!(
            poll_by_hand(get.as_mut()).is_pending(),
            "allocate yields once"
        );
        assert_eq!(counts(pool.stats()), (1, 0, 1, 0));
        let Poll::Ready(result) = poll_by_hand(get.as_mut()) else {
            panic!("allocate yields only once");
        };
        let guard = result.unwrap();
        assert_eq!(counts(pool.stats()), (1, 0, 0, 0));
        drop(guard);
        assert_quiescent(&pool, &tracker);
    });
}

#[test]
fn error_messages_match_the_spec() {
    assert_eq!(
        Error::<Failed>::PutTimeout.to_string(),
        "timed out waiting for put"
    );
    assert_eq!(
        Error::<Failed>::ResourceLimitExceeded.to_string(),
        "resource limit exceeded"
    );
    let allocate = Error::Allocate(Failed("no route to host"));
    assert_eq!(allocate.to_string(), "allocate failed");
    assert_eq!(allocate.source().unwrap().to_string(), "no route to host");
    assert!(Error::<Failed>::PutTimeout.source().is_none());
    assert!(Error::<Failed>::ResourceLimitExceeded.source().is_none());
}
