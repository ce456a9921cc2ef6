//! Regression found by `fuzz/fuzz_targets/pool_ops.rs` (its input is
//! `fuzz/regressions/pool_ops/grant-wakeup-lost`).
//!
//! Two puts hand their charges to the capacity waiters while only one waiter
//! listens: the second grant's notification reaches no one. A get that starts
//! waiting afterwards must still be woken once a charge is free ("a waiter is
//! never left asleep while a charge or an idle victim is available").

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
    // `second` may take the charge at once, or wait and be woken for it.
    let mut second = pin!(resources[3].get());
    let second_at_once = poll(second.as_mut(), &second_flag);
    let Poll::Ready(Ok(_guard)) = poll(first.as_mut(), &first_flag) else {
        panic!("the first waiter claims its grant");
    };
    let _second_guard = match second_at_once {
        Poll::Ready(got) => got.unwrap(),
        Poll::Pending => {
            assert!(
                second_flag.0.load(Ordering::SeqCst),
                "a waiter is left asleep while a charge is available"
            );
            match poll(second.as_mut(), &second_flag) {
                Poll::Ready(got) => got.unwrap(),
                Poll::Pending => panic!("woken, yet no charge for it"),
            }
        }
    };
    assert_eq!(pool.stats().in_use, 2);
}
