//! Regressions found by `fuzz/fuzz_targets/pool_ops.rs` (their inputs are in
//! `fuzz/regressions/pool_ops/`): a capacity grant with no notification on its
//! way for it, while a get that may not claim it sleeps. "A waiter is never
//! left asleep while a charge or an idle victim is available."
//!
//! - `grant-wakeup-lost`: two puts hand their charges to the capacity waiters
//!   while only one waiter listens, so the second grant's notification reaches
//!   no one.
//! - `notified-waiter-leaves`: a waiter notified for a grant is dropped while
//!   every other waiter is already notified, so event-listener's passing on of
//!   its notification reaches no one.
//! - `queued-ahead-put-wakes-nobody`: a waiter evicts and queues its own
//!   resource ahead of its put, so that put keeps the entry and wakes nobody,
//!   while another waiter, which looked before the eviction, sleeps beside
//!   the idle item.

mod common;

use std::pin::pin;
use std::task::Poll;

use common::{poll_by_hand, Poller};
use std::time::Duration;

use resourcepool::{AllocateRelease, Pool};

struct Conn;

impl AllocateRelease for Conn {
    type Item = ();
    type Error = std::io::Error;
    async fn allocate(&self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

#[test]
fn a_get_that_starts_waiting_after_two_grants_is_woken_for_the_second() {
    let pool = Pool::new(2);
    let resources: Vec<_> = (0..4).map(|_| pool.create(Conn)).collect();
    let (first_poller, second_poller) = (Poller::new(), Poller::new());

    let mut held = Vec::new();
    for resource in &resources[..2] {
        match poll_by_hand(pin!(resource.get())) {
            Poll::Ready(Ok(guard)) => held.push(guard),
            _ => panic!("a free charge"),
        }
    }
    let mut first = pin!(resources[2].get());
    assert!(first_poller.poll(first.as_mut()).is_pending());
    // Both releases grant their charges to the capacity waiters; only `first`
    // listens, and the first grant already notified it.
    for guard in held {
        guard.release().unwrap();
    }
    assert!(first_poller.wakes() > 0);
    // `second` may take the charge at once, or wait and be woken for it.
    let mut second = pin!(resources[3].get());
    let second_at_once = second_poller.poll(second.as_mut());
    let Poll::Ready(Ok(_guard)) = first_poller.poll(first.as_mut()) else {
        panic!("the first waiter claims its grant");
    };
    let _second_guard = match second_at_once {
        Poll::Ready(got) => got.unwrap(),
        Poll::Pending => {
            assert!(
                second_poller.wakes() > 0,
                "a waiter is left asleep while a charge is available"
            );
            match second_poller.poll(second.as_mut()) {
                Poll::Ready(got) => got.unwrap(),
                Poll::Pending => panic!("woken, yet no charge for it"),
            }
        }
    };
    assert_eq!(pool.stats().in_use, 2);
}

#[test]
fn a_grant_whose_notified_waiter_is_dropped_reaches_a_later_get() {
    let pool = Pool::new(2);
    let resources: Vec<_> = (0..4).map(|_| pool.create(Conn)).collect();
    let pollers = [Poller::new(), Poller::new(), Poller::new()];

    let mut held = Vec::new();
    for resource in &resources[..2] {
        match poll_by_hand(pin!(resource.get())) {
            Poll::Ready(Ok(guard)) => held.push(guard),
            _ => panic!("a free charge"),
        }
    }
    let mut dropped = Box::pin(resources[2].get());
    let mut served = pin!(resources[3].get());
    assert!(pollers[0].poll(dropped.as_mut()).is_pending());
    assert!(pollers[1].poll(served.as_mut()).is_pending());
    // Each release grants its charge to one waiter, in the order they listen.
    for guard in held {
        guard.release().unwrap();
    }
    assert!(pollers[0].wakes() > 0 && pollers[1].wakes() > 0);
    // Every other waiter is notified already: the grant `dropped` was woken
    // for must still go somewhere.
    drop(dropped);
    let mut later = pin!(resources[0].get());
    let later_at_once = pollers[2].poll(later.as_mut());
    let Poll::Ready(Ok(_served_guard)) = pollers[1].poll(served.as_mut()) else {
        panic!("the second waiter claims its grant");
    };
    let _later_guard = match later_at_once {
        Poll::Ready(got) => got.unwrap(),
        Poll::Pending => {
            assert!(
                pollers[2].wakes() > 0,
                "a waiter is left asleep while a charge is available"
            );
            match pollers[2].poll(later.as_mut()) {
                Poll::Ready(got) => got.unwrap(),
                Poll::Pending => panic!("woken, yet no charge for it"),
            }
        }
    };
    assert_eq!(pool.stats().in_use, 2);
}

#[test]
fn a_waiter_that_evicts_while_another_sleeps_makes_its_put_wake_that_one() {
    for handoff_after in [Duration::MAX, Duration::from_millis(1)] {
        let pool = Pool::builder(1).handoff_after(handoff_after).build();
        let [a, b, c] = [(); 3].map(|()| pool.create(Conn));
        let held = futures_lite::future::block_on(a.get()).unwrap();
        let (b_poller, c_poller) = (Poller::new(), Poller::new());
        let mut b_get = pin!(b.get());
        let mut c_get = pin!(c.get());
        assert!(b_poller.poll(b_get.as_mut()).is_pending());
        assert!(c_poller.poll(c_get.as_mut()).is_pending());
        drop(held); // a idle: wakes b's get, the first waiter
        assert!(b_poller.wakes() > 0, "a's put woke nobody");
        let Poll::Ready(Ok(b_guard)) = b_poller.poll_woken(b_get.as_mut()) else {
            panic!("b's get did not evict a");
        };
        let c_wakes = c_poller.wakes();
        drop(b_guard); // b idle: c's get must be woken to evict it
        assert!(
            c_poller.wakes() > c_wakes,
            "b's put woke nobody while c's get slept beside b's idle item ({handoff_after:?})"
        );
        assert!(
            matches!(c_poller.poll_woken(c_get.as_mut()), Poll::Ready(Ok(_))),
            "c's get did not take b's item or charge"
        );
    }
}
