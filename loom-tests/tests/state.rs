//! loom models of the state word alone: the pure transitions of
//! `resourcepool::__private::state`, applied with `state::transition` to a bare
//! loom `AtomicU64`, two threads at a time.
//!
//! Each model starts from the state the race begins in and checks the
//! outcomes both threads saw against each other and against the final word.
//! A loom `UnsafeCell` stands in for the item slot where a transition must
//! publish it: loom fails the model if the slot's accesses are not ordered by
//! the swaps (a `Relaxed` where `AcqRel`/`Acquire` is needed).
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;

use resourcepool::__private::state::{
    self, transition, Evict, Hold, Leave, Put, Schedule, Snapshot, Waiter, ALLOCATED, CHARGED,
    HELD, HOLD_WAITER_ONE, QUEUED, RELEASING,
};

/// A resource's state word, its put time, and a stand-in for its item slot.
struct Word {
    state: AtomicU64,
    /// When it was last put, as in the crate: stored (`Relaxed`) before the
    /// put's swap, read by an evictor after it loaded the state word.
    put_time: AtomicU64,
    /// The item: written by whoever owns the slot (see `Slot` in the crate).
    slot: UnsafeCell<u32>,
}

/// The put time of the idle-set entry the models' evictor holds.
const ENTRY_PUT_TIME: u64 = 1;

impl Word {
    fn new(bits: u64) -> Arc<Word> {
        Arc::new(Word {
            state: AtomicU64::new(bits),
            put_time: AtomicU64::new(ENTRY_PUT_TIME),
            slot: UnsafeCell::new(0),
        })
    }

    /// A put, as `Resource::put` does it, at a later time than the entry's.
    fn put(&self) -> Put {
        self.put_time.store(ENTRY_PUT_TIME + 1, Ordering::Relaxed);
        transition(&self.state, |s| state::put(s, false)).0
    }

    /// What an evictor holding the entry made at `ENTRY_PUT_TIME` does, as
    /// `Victim::evict` does it.
    fn evict(&self) -> Evict {
        let latest = || self.put_time.load(Ordering::Relaxed) == ENTRY_PUT_TIME;
        transition(&self.state, |s| state::evict(s, latest())).0
    }

    fn now(&self) -> Snapshot {
        Snapshot(self.state.load(Ordering::Acquire))
    }

    /// Uses the item, as the holder or the releaser: a write loom checks for races.
    fn touch_item(&self) {
        self.slot.with_mut(|item| {
            // SAFETY: only called by the owner of the slot the state word names;
            // loom reports it if that ownership is not ordered by the swaps.
            unsafe { *item += 1 }
        });
    }
}

/// An idle allocated resource with its entry in the idle set.
const IDLE: u64 = CHARGED | ALLOCATED | QUEUED;
/// A resource in use whose entry from an earlier put is still in the idle set.
const IN_USE_QUEUED: u64 = HELD | CHARGED | ALLOCATED | QUEUED;

/// Two gets of one resource take the hold at once: exactly one wins, and if the
/// resource was idle the winner gets the item (the loser does not).
#[test]
fn two_holds_race_and_exactly_one_wins() {
    for start in [Snapshot::NEW.0, IDLE] {
        loom::model(move || {
            let word = Word::new(start);
            let other = {
                let word = word.clone();
                thread::spawn(move || transition(&word.state, |s| state::hold(s, Waiter::No)).0)
            };
            let mine = transition(&word.state, |s| state::hold(s, Waiter::No)).0;
            let theirs = other.join().unwrap();
            let taken = [mine, theirs]
                .iter()
                .filter(|outcome| matches!(outcome, Hold::Taken { .. }))
                .count();
            assert_eq!(taken, 1, "mine {mine:?}, theirs {theirs:?}");
            let idle = start & ALLOCATED != 0;
            assert!(
                [mine, theirs].contains(&Hold::Taken { idle }),
                "mine {mine:?}, theirs {theirs:?}"
            );
            assert!(word.now().is_held());
        });
    }
}

/// A get of an idle resource (hold, use the item, put) races an evictor that
/// took the resource's entry out of the idle set. Never both: either the get
/// took the item (the evictor finds it held, or put again since the entry:
/// stale) or the evictor claimed it (the get finds no item). The item passes
/// between them through the swaps, and the put time with them.
#[test]
fn hold_of_an_idle_resource_races_its_eviction() {
    loom::model(|| {
        let word = Word::new(IDLE);
        let getter = {
            let word = word.clone();
            thread::spawn(move || {
                let (hold, _) = transition(&word.state, |s| state::hold(s, Waiter::No));
                match hold {
                    Hold::Taken { idle: true } => {
                        word.touch_item();
                        Some(word.put())
                    }
                    Hold::Taken { idle: false } => {
                        let (_wake, _) = transition(&word.state, |s| state::unhold(s, false));
                        None
                    }
                    other => unreachable!("nobody else holds it: {other:?}"),
                }
            })
        };
        let evict = word.evict();
        let mut entries = 0;
        match evict {
            Evict::Claimed => word.touch_item(),
            Evict::Stale => entries += 1,
            Evict::NotIdle => {}
        }
        let put = getter.join().unwrap();
        match (evict, put) {
            (Evict::Claimed, None) => {
                assert!(word.now().is_releasing() && !word.now().is_allocated());
            }
            (Evict::Claimed, Some(put)) => {
                panic!("evicted an item the get used, then put ({put:?})")
            }
            (_, None) => panic!("the get found no item, yet nothing was evicted"),
            (_, Some(Put::Idle { push })) => {
                entries += usize::from(push);
                let end = word.now();
                assert!(end.is_idle() && end.is_queued(), "{end:?}");
                assert_eq!(entries, 1, "an idle resource has exactly one entry");
            }
            (_, Some(other)) => panic!("no waiter, nothing scheduled: {other:?}"),
        }
    });
}

/// A put races an evictor that took out the entry of an earlier put.
/// Afterwards the resource is idle with exactly one entry (the evictor's, put
/// back as stale, or the put's new one) and QUEUED set: never zero (it could
/// never be evicted) nor two (QUEUED would lie); and the evictor never claims
/// it on the strength of the old entry.
#[test]
fn put_races_an_eviction_of_the_same_resource_entry() {
    loom::model(|| {
        let word = Word::new(IN_USE_QUEUED);
        let putter = {
            let word = word.clone();
            thread::spawn(move || {
                word.touch_item();
                word.put()
            })
        };
        let evict = word.evict();
        if evict == Evict::Claimed {
            word.touch_item();
        }
        let put = putter.join().unwrap();
        let pushed = match put {
            Put::Idle { push } => usize::from(push),
            other => panic!("no waiter, nothing scheduled: {other:?}"),
        };
        let entries = pushed + usize::from(evict == Evict::Stale);
        let end = word.now();
        assert_ne!(
            evict,
            Evict::Claimed,
            "claimed a resource in use, or put again since its entry was made"
        );
        assert_eq!(entries, 1, "put {put:?}, evict {evict:?}, end {end:?}");
        assert!(end.is_idle() && end.is_queued(), "{end:?}");
    });
}

/// `schedule_release` races the put of a held resource: exactly one of them
/// releases (the put, armed by the schedule; or the schedule, of the idle
/// item), and nothing stays armed.
#[test]
fn schedule_release_races_put() {
    loom::model(|| {
        let word = Word::new(IN_USE_QUEUED);
        let putter = {
            let word = word.clone();
            thread::spawn(move || {
                word.touch_item();
                let put = word.put();
                if put == Put::Release {
                    word.touch_item();
                }
                put
            })
        };
        let schedule = transition(&word.state, state::schedule_release).0;
        if schedule == Schedule::ReleaseNow {
            word.touch_item();
        }
        let put = putter.join().unwrap();
        let releases =
            usize::from(put == Put::Release) + usize::from(schedule == Schedule::ReleaseNow);
        assert_eq!(releases, 1, "put {put:?}, schedule {schedule:?}");
        let end = word.now();
        assert!(
            end.is_releasing() && !end.is_allocated() && !end.is_release_on_put(),
            "{end:?}"
        );
    });
}

/// A get joins the hold waiters while the holder (a get whose allocation
/// failed) lets go: either the hold was free and the get took it, or the get
/// was counted, the holder saw the count and handed the hold over (HANDOFF)
/// and must wake it, and the hold goes to it, not to a newcomer.
#[test]
fn hold_waiter_joins_while_the_holder_lets_go() {
    loom::model(|| {
        let word = Word::new(HELD | CHARGED);
        let holder = {
            let word = word.clone();
            thread::spawn(move || transition(&word.state, |s| state::unhold(s, true)).0)
        };
        let joined = transition(&word.state, |s| state::hold(s, Waiter::Join)).0;
        let woken = holder.join().unwrap();
        match joined {
            Hold::Taken { idle } => assert!(!idle),
            Hold::Busy => {
                assert!(woken, "a counted hold waiter was not woken");
                let newcomer = transition(&word.state, |s| state::hold(s, Waiter::No)).0;
                assert_eq!(newcomer, Hold::Busy, "a newcomer barged in");
                let (retry, _) = transition(&word.state, |s| state::hold(s, Waiter::Counted));
                assert_eq!(retry, Hold::HandedOver { allocated: false });
            }
            other => panic!("nothing was handed over yet: {other:?}"),
        }
        let end = word.now();
        assert!(end.is_held() && !end.is_handoff(), "{end:?}");
        assert_eq!(end.hold_waiters(), 0);
    });
}

/// The only counted hold waiter gives up (its get is dropped) while the holder
/// puts: either it left first (the put sees no waiter and makes the item idle),
/// or the put handed the hold and item to it, and, being the last waiter, it
/// takes them and lets go in turn. The hold is never left handed to nobody.
#[test]
fn hold_waiter_leaves_while_the_holder_hands_over() {
    loom::model(|| {
        let word = Word::new(HELD | CHARGED | ALLOCATED | HOLD_WAITER_ONE);
        let leaver = {
            let word = word.clone();
            thread::spawn(
                move || match transition(&word.state, state::leave_hold_waiters).0 {
                    Leave::Left => None,
                    Leave::TookHandoff { allocated } => {
                        assert!(allocated);
                        word.touch_item();
                        Some(word.put())
                    }
                },
            )
        };
        word.touch_item();
        let put = word.put();
        let leaver_put = leaver.join().unwrap();
        let final_put = match (put, leaver_put) {
            (Put::Idle { .. }, None) => put,
            (Put::HandedOff, Some(then)) => then,
            other => panic!("the hold went astray: {other:?}"),
        };
        assert_eq!(final_put, Put::Idle { push: true });
        let end = word.now();
        assert!(
            end.is_idle() && end.is_queued() && !end.is_handoff(),
            "{end:?}"
        );
        assert_eq!(end.hold_waiters(), 0);
    });
}

/// An evictor's release returns while the resource's own get is waiting for it:
/// the get sees RELEASING until `released`, and the slot the evictor emptied
/// is the get's only after that. A get that decided to wait (`await_release`
/// set RELEASE_WAITER) is always the releaser's to wake: no lost wakeup.
#[test]
fn own_get_waits_for_the_release_of_its_evicted_item() {
    loom::model(|| {
        let word = Word::new(CHARGED | RELEASING);
        let releaser = {
            let word = word.clone();
            thread::spawn(move || {
                word.touch_item();
                transition(&word.state, state::released).0
            })
        };
        let (hold, _) = transition(&word.state, |s| state::hold(s, Waiter::No));
        assert_eq!(hold, Hold::Taken { idle: false });
        let (waits, _) = transition(&word.state, state::await_release);
        while word.now().is_releasing() {
            assert!(waits, "waiting for a release nobody will announce");
            thread::yield_now();
        }
        let ((), _) = transition(&word.state, state::charge);
        word.touch_item();
        let ((), _) = transition(&word.state, state::allocated);
        let woken = releaser.join().unwrap();
        assert_eq!(woken, waits, "the releaser wakes exactly a get that waits");
        let end = word.now();
        assert!(
            end.is_held() && end.is_allocated() && end.is_charged(),
            "{end:?}"
        );
    });
}
