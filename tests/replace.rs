//! A get that finds the item it reuses expired, or failing its check,
//! releases it and allocates afresh with its charge: but not in a pool closed
//! while its check ran, and not while the charges exceed a shrunk `max`.

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::{bounded, poll_by_hand, Counting, Failed, Item, Poller, Tracker, LIMIT};
use futures_lite::future::block_on;
use resourcepool::{AllocateRelease, Error, Pool};

/// Pending on its first poll, without waking anyone: the test polls again.
#[derive(Default)]
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A `Counting` whose `check` is pending once, then fails.
struct FailsCheckLater(Counting);

impl AllocateRelease for FailsCheckLater {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        self.0.allocate().await
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        self.0.release(item)
    }

    async fn check(&self, _: &mut Item) -> Result<(), Failed> {
        PendingOnce::default().await;
        Err(Failed("check failed on purpose"))
    }
}

#[test]
fn a_check_that_fails_after_the_close_allocates_nothing() {
    bounded(LIMIT, || {
        let pool = Pool::builder(1).check_after_idle(Duration::ZERO).build();
        let tracker = Tracker::new(1);
        let resource = pool.create(FailsCheckLater(Counting::new(0, &tracker)));
        drop(block_on(resource.get()).unwrap());
        let mut get = pin!(resource.get());
        assert!(poll_by_hand(get.as_mut()).is_pending(), "the check runs");
        pool.close();
        assert!(
            matches!(poll_by_hand(get.as_mut()), Poll::Ready(Err(Error::Closed))),
            "a get whose check failed after the close did not fail with Closed"
        );
        let totals = pool.stats().totals;
        assert_eq!((totals.allocations, totals.check_failures), (1, 1));
        assert_eq!(tracker.live(), 0);
        assert!(poll_by_hand(pin!(pool.drained())).is_ready());
    });
}

#[test]
fn an_expired_item_over_a_shrunk_max_is_released_and_the_get_waits() {
    bounded(LIMIT, || {
        let now = Arc::new(Mutex::new(Instant::now()));
        let clock = Arc::clone(&now);
        let pool = Pool::builder(3)
            .idle_timeout(Duration::from_secs(60))
            .clock(move || *clock.lock().unwrap())
            .build();
        let tracker = Tracker::new(3);
        let resources: Vec<_> = (0..3)
            .map(|key| pool.create(Counting::new(key, &tracker)))
            .collect();
        let a = block_on(resources[0].get()).unwrap();
        let b = block_on(resources[1].get()).unwrap();
        let c = block_on(resources[2].get()).unwrap();
        let poller = Poller::new();
        let mut second = pin!(resources[0].get());
        assert!(
            poller.poll(second.as_mut()).is_pending(),
            "waits for the hold"
        );
        drop(a); // the hold passes, with the item, to the second get
        pool.set_max(1);
        *now.lock().unwrap() += Duration::from_secs(61);
        assert!(
            poller.poll_woken(second.as_mut()).is_pending(),
            "the get replaced its expired item while the items exceed the new max"
        );
        assert_eq!(tracker.live(), 2, "the expired item was not released");
        assert_eq!(pool.stats().totals.expired, 1);
        drop(b); // shed: one live item left, which fills max 1
        drop(c); // idle: the waiting get evicts it
        let Poll::Ready(Ok(guard)) = poller.poll_woken(second.as_mut()) else {
            panic!("the get was not served once the items fit");
        };
        drop(guard);
        assert_eq!(tracker.allocations(), 4);
        assert_eq!(tracker.live(), 1);
    });
}
