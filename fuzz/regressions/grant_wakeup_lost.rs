//! Found by `fuzz/fuzz_targets/pool_ops.rs` (input: `pool_ops-grant-wakeup-lost`
//! next to this file). A self-contained test: copy it into `tests/` and run
//! `cargo test --test grant_wakeup_lost`. It fails until the bug is fixed.
//!
//! Two puts hand their charges to the capacity waiters while only one waiter
//! listens: the second grant's notification reaches no one. A get that starts
//! waiting afterwards is never woken, though a charge is free once the first
//! waiter took its grant; with a real executor it sleeps until some unrelated
//! put or release.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use resourcepool::{AllocateRelease, Pool};

struct Conn;

impl AllocateRelease for Conn {
    type Item = ();
    type Error = std::io::Error;
    async fn allocate(&self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

/// Records whether it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn poll<F: Future>(future: std::pin::Pin<&mut F>, flag: &Arc<Flag>) -> Poll<F::Output> {
    flag.0.store(false, Ordering::SeqCst);
    future.poll(&mut Context::from_waker(&Waker::from(flag.clone())))
}

#[test]
fn a_get_that_starts_waiting_after_two_grants_is_woken_for_the_second() {
    let pool = Pool::new(2);
    let resources: Vec<_> = (0..4).map(|_| pool.create(Conn)).collect();
    let (first_flag, second_flag) = (Arc::default(), Arc::default());

    let mut held = Vec::new();
    for resource in &resources[..2] {
        match poll(pin!(resource.get()), &first_flag) {
            Poll::Ready(Ok(guard)) => held.push(guard),
            _ => panic!("a free charge"),
        }
    }
    let mut first = pin!(resources[2].get());
    assert!(poll(first.as_mut(), &first_flag).is_pending());
    // Both releases grant their charges to the capacity waiters; only `first`
    // listens, and the first grant already notified it.
    for guard in held {
        guard.release().unwrap();
    }
    assert!(first_flag.0.load(Ordering::SeqCst));
    let mut second = pin!(resources[3].get());
    assert!(poll(second.as_mut(), &second_flag).is_pending());
    let Poll::Ready(Ok(_guard)) = poll(first.as_mut(), &first_flag) else {
        panic!("the first waiter claims its grant");
    };

    // One item is allocated out of max 2: a charge is free, and `second` waits for it.
    assert_eq!((pool.stats().in_use, pool.stats().idle), (1, 0));
    assert!(
        second_flag.0.load(Ordering::SeqCst),
        "a waiter is left asleep while a charge is available"
    );
    assert!(matches!(
        poll(second.as_mut(), &second_flag),
        Poll::Ready(Ok(_))
    ));
}
