//! The state word's pure transitions (`src/state.rs`) against a plain-enum
//! model, step by step.
//!
//! The input is a sequence of transition requests. A request is applied only
//! when its precondition holds in the model: the preconditions are the protocol
//! the crate follows (who may call which transition in which state), which
//! implies each function's `debug_assert`. After every step the outcome, the
//! whole word, and every decoding helper of `Snapshot` must agree with the
//! model, and the model's own invariants must hold.
#![no_main]

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use resourcepool::__private::state::{
    self, Evict, Hold, Leave, Put, Schedule, Snapshot, Waiter, ALLOCATED, CHARGED, HANDOFF, HELD,
    HOLD_WAITERS_MASK, HOLD_WAITERS_SHIFT, PUTS_SHIFT, QUEUED, RELEASE_ON_PUT, RELEASE_WAITER,
    RELEASING,
};

/// How a get stands in the hold-waiter count when it calls `hold`.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum WaiterKind {
    No,
    Join,
    Counted,
}

impl WaiterKind {
    fn waiter(self) -> Waiter {
        match self {
            WaiterKind::No => Waiter::No,
            WaiterKind::Join => Waiter::Join,
            WaiterKind::Counted => Waiter::Counted,
        }
    }
}

/// One transition request.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum Request {
    Hold(WaiterKind),
    LeaveHoldWaiters,
    Charge,
    Allocated,
    Unhold {
        charged: bool,
    },
    Put {
        hand_over: bool,
    },
    ReleaseHeld,
    /// `latest`: the evictor's entry carries the resource's latest put time.
    Evict {
        latest: bool,
    },
    ScheduleRelease,
    Released,
    TakeIdle,
    AwaitRelease,
    QueueAhead,
    /// `expired`: `release_expired` found the resource past its time (by
    /// stamps it read after the word).
    Expire {
        expired: bool,
    },
    Discard,
}

/// Where the resource's item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No item, no charge.
    Unallocated,
    /// A charge, no item yet (the holder is inside `allocate`).
    Allocating,
    /// An item in the slot.
    Allocated,
    /// The item is inside `release`; the charge is still owned.
    Releasing,
}

/// The reference model: one field per concept, no bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Model {
    /// A holder exists, or the hold is on its way to a hold waiter.
    held: bool,
    /// The holder let go while gets waited for the hold: the first counted
    /// waiter to wake takes it over.
    handoff: bool,
    phase: Phase,
    queued: bool,
    release_on_put: bool,
    /// The holder waits for the release in flight.
    release_waiter: bool,
    /// Puts that left the item idle, modulo 2^16.
    puts: u32,
    hold_waiters: u32,
}

/// What a request did in the model: its outcome, and whether the function
/// must ask for a store (`Some`) rather than leave the word alone (`None`).
struct Expected<T> {
    outcome: T,
    stores: bool,
}

fn stored<T>(outcome: T) -> Expected<T> {
    Expected {
        outcome,
        stores: true,
    }
}

impl Model {
    const NEW: Model = Model {
        held: false,
        handoff: false,
        phase: Phase::Unallocated,
        queued: false,
        release_on_put: false,
        release_waiter: false,
        puts: 0,
        hold_waiters: 0,
    };

    /// The word the crate must hold for this model state.
    fn encode(self) -> u64 {
        let flag = |on: bool, bit: u64| if on { bit } else { 0 };
        let phase_bits = match self.phase {
            Phase::Unallocated => 0,
            Phase::Allocating => CHARGED,
            Phase::Allocated => CHARGED | ALLOCATED,
            Phase::Releasing => CHARGED | RELEASING,
        };
        flag(self.held, HELD)
            | flag(self.handoff, HANDOFF)
            | phase_bits
            | flag(self.queued, QUEUED)
            | flag(self.release_on_put, RELEASE_ON_PUT)
            | flag(self.release_waiter, RELEASE_WAITER)
            | (u64::from(self.puts) << PUTS_SHIFT)
            | (u64::from(self.hold_waiters) << HOLD_WAITERS_SHIFT)
    }

    fn is_idle(self) -> bool {
        self.phase == Phase::Allocated && !self.held
    }

    /// A holder exists and may act: the hold is not on its way to a waiter.
    fn has_active_holder(self) -> bool {
        self.held && !self.handoff
    }

    /// Whether the protocol allows `request` now.
    fn allows(self, request: Request) -> bool {
        match request {
            Request::Hold(WaiterKind::No) => true,
            Request::Hold(WaiterKind::Join) => {
                u64::from(self.hold_waiters) < HOLD_WAITERS_MASK >> HOLD_WAITERS_SHIFT
            }
            Request::Hold(WaiterKind::Counted) | Request::LeaveHoldWaiters => self.hold_waiters > 0,
            Request::Charge => self.has_active_holder() && self.phase == Phase::Unallocated,
            Request::Allocated => self.has_active_holder() && self.phase == Phase::Allocating,
            // A holder that took a charge is allocating; one that did not is
            // waiting for capacity, or for its own previous item's release.
            Request::Unhold { charged: true } => {
                self.has_active_holder() && self.phase == Phase::Allocating
            }
            Request::Unhold { charged: false } => {
                self.has_active_holder()
                    && matches!(self.phase, Phase::Unallocated | Phase::Releasing)
            }
            Request::Put { .. } | Request::ReleaseHeld => {
                self.has_active_holder() && self.phase == Phase::Allocated
            }
            Request::Evict { .. } => self.queued,
            Request::ScheduleRelease => true,
            Request::Released => self.phase == Phase::Releasing,
            Request::TakeIdle => true,
            // A holder without an item, before it looks for capacity.
            Request::AwaitRelease => {
                self.has_active_holder()
                    && matches!(self.phase, Phase::Unallocated | Phase::Releasing)
            }
            // An evictor, for its own resource, once its release is over.
            Request::QueueAhead => self.has_active_holder() && self.phase == Phase::Unallocated,
            // `release_expired`, holding the resource's idle-set entry.
            Request::Expire { .. } => self.queued,
            // A get that reuses its item and finds it past its time or
            // failing its check.
            Request::Discard => self.has_active_holder() && self.phase == Phase::Allocated,
        }
    }

    /// The holder lets go: to the hold waiters if any, else for good.
    fn let_go(&mut self) {
        if self.hold_waiters > 0 {
            self.handoff = true;
        } else {
            self.held = false;
        }
    }

    fn hold(&mut self, kind: WaiterKind) -> Expected<Hold> {
        if let (WaiterKind::Counted, true) = (kind, self.handoff) {
            self.handoff = false;
            self.hold_waiters -= 1;
            return stored(Hold::HandedOver {
                allocated: self.phase == Phase::Allocated,
            });
        }
        if !self.held {
            self.held = true;
            return stored(Hold::Taken {
                idle: self.phase == Phase::Allocated,
            });
        }
        match kind {
            WaiterKind::Join => {
                self.hold_waiters += 1;
                stored(Hold::Busy)
            }
            WaiterKind::No | WaiterKind::Counted => Expected {
                outcome: Hold::Busy,
                stores: false,
            },
        }
    }

    fn leave_hold_waiters(&mut self) -> Expected<Leave> {
        self.hold_waiters -= 1;
        if self.hold_waiters == 0 && self.handoff {
            self.handoff = false;
            return stored(Leave::TookHandoff {
                allocated: self.phase == Phase::Allocated,
            });
        }
        stored(Leave::Left)
    }

    fn charge(&mut self) -> Expected<()> {
        self.phase = Phase::Allocating;
        stored(())
    }

    fn allocated(&mut self) -> Expected<()> {
        self.phase = Phase::Allocated;
        stored(())
    }

    fn unhold(&mut self, charged: bool) -> Expected<bool> {
        if charged {
            self.phase = Phase::Unallocated;
            self.release_on_put = false;
        }
        self.let_go();
        stored(self.hold_waiters > 0)
    }

    fn put(&mut self, hand_over: bool) -> Expected<Put> {
        if hand_over || self.release_on_put {
            return self.release_held();
        }
        if self.hold_waiters > 0 {
            self.handoff = true;
            return stored(Put::HandedOff);
        }
        self.held = false;
        self.puts = self.puts.wrapping_add(1);
        let push = !self.queued;
        self.queued = true;
        stored(Put::Idle { push })
    }

    fn release_held(&mut self) -> Expected<Put> {
        self.phase = Phase::Releasing;
        self.release_on_put = false;
        self.let_go();
        stored(Put::Release)
    }

    fn evict(&mut self, latest: bool) -> Expected<Evict> {
        if !self.is_idle() {
            self.queued = false;
            stored(Evict::NotIdle)
        } else if !latest {
            Expected {
                outcome: Evict::Stale,
                stores: false,
            }
        } else {
            self.phase = Phase::Releasing;
            self.queued = false;
            self.release_on_put = false;
            stored(Evict::Claimed)
        }
    }

    fn expire(&mut self, expired: bool) -> Expected<bool> {
        if self.is_idle() && expired {
            self.phase = Phase::Releasing;
            self.queued = false;
            self.release_on_put = false;
            stored(true)
        } else {
            // Not idle, or not yet past its time: the entry stays.
            Expected {
                outcome: false,
                stores: false,
            }
        }
    }

    /// The holder keeps the hold (and the charge) while it releases its item.
    fn discard(&mut self) -> Expected<()> {
        self.phase = Phase::Releasing;
        self.release_on_put = false;
        stored(())
    }

    fn schedule_release(&mut self) -> Expected<Schedule> {
        if self.is_idle() {
            // The idle-set entry stays; an evictor drops it when it takes it.
            self.phase = Phase::Releasing;
            self.release_on_put = false;
            stored(Schedule::ReleaseNow)
        } else if self.held && matches!(self.phase, Phase::Allocating | Phase::Allocated) {
            self.release_on_put = true;
            stored(Schedule::Armed)
        } else {
            Expected {
                outcome: Schedule::Nothing,
                stores: false,
            }
        }
    }

    fn released(&mut self) -> Expected<bool> {
        self.phase = Phase::Unallocated;
        stored(std::mem::take(&mut self.release_waiter))
    }

    fn take_idle(&mut self) -> Expected<bool> {
        if self.is_idle() {
            self.held = true;
            stored(true)
        } else {
            Expected {
                outcome: false,
                stores: false,
            }
        }
    }

    fn queue_ahead(&mut self) -> Expected<bool> {
        if self.queued {
            return Expected {
                outcome: false,
                stores: false,
            };
        }
        self.queued = true;
        stored(true)
    }

    fn await_release(&mut self) -> Expected<bool> {
        if self.phase != Phase::Releasing {
            return Expected {
                outcome: false,
                stores: false,
            };
        }
        let stores = !self.release_waiter;
        self.release_waiter = true;
        Expected {
            outcome: true,
            stores,
        }
    }

    /// What the protocol keeps true in every reachable state.
    fn check_invariants(self) {
        assert!(
            !self.release_on_put
                || (self.held && matches!(self.phase, Phase::Allocating | Phase::Allocated)),
            "a release armed without a charged holder: {self:?}"
        );
        assert!(
            self.phase != Phase::Allocating || self.held,
            "allocating without a holder: {self:?}"
        );
        assert!(
            !self.is_idle() || self.queued,
            "an idle resource no evictor can find: {self:?}"
        );
        assert!(
            self.hold_waiters == 0 || self.held,
            "hold waiters without a holder: {self:?}"
        );
        assert!(
            !self.handoff || self.hold_waiters > 0,
            "a handoff with nobody to take it: {self:?}"
        );
        assert!(
            !self.release_waiter || self.phase == Phase::Releasing,
            "a release waiter without a release: {self:?}"
        );
    }
}

/// Applies `transition` both directly and through the crate's CAS driver, checks
/// the two agree, and checks the outcome and the store against the model.
fn apply<T: PartialEq + Debug>(
    word: &AtomicU64,
    request: Request,
    expected: Expected<T>,
    transition: impl Fn(Snapshot) -> (T, Option<Snapshot>),
) {
    let before = word.load(Ordering::Relaxed);
    let (outcome, next) = transition(Snapshot(before));
    assert_eq!(
        outcome,
        expected.outcome,
        "{request:?} on {:?}: wrong outcome",
        Snapshot(before)
    );
    assert_eq!(
        next.is_some(),
        expected.stores,
        "{request:?} on {:?}: stores {next:?}",
        Snapshot(before)
    );
    let (driven, old) = state::transition(word, &transition);
    assert_eq!(
        driven, outcome,
        "{request:?}: the CAS driver decided differently"
    );
    assert_eq!(
        old.0, before,
        "{request:?}: the CAS driver started elsewhere"
    );
    assert_eq!(
        word.load(Ordering::Relaxed),
        next.map_or(before, |s| s.0),
        "{request:?}: the CAS driver stored something else"
    );
}

/// Every decoding helper of `Snapshot` agrees with the model.
fn check_decoding(s: Snapshot, model: Model) {
    let context = || format!("{s:?} vs {model:?}");
    assert_eq!(s.is_held(), model.held, "{}", context());
    assert_eq!(s.is_handoff(), model.handoff, "{}", context());
    assert_eq!(
        s.is_charged(),
        model.phase != Phase::Unallocated,
        "{}",
        context()
    );
    assert_eq!(
        s.is_allocated(),
        model.phase == Phase::Allocated,
        "{}",
        context()
    );
    assert_eq!(
        s.is_releasing(),
        model.phase == Phase::Releasing,
        "{}",
        context()
    );
    assert_eq!(s.is_queued(), model.queued, "{}", context());
    assert_eq!(s.puts(), u64::from(model.puts), "{}", context());
    assert_eq!(s.is_release_on_put(), model.release_on_put, "{}", context());
    assert_eq!(s.is_idle(), model.is_idle(), "{}", context());
    assert_eq!(
        s.is_allocating(),
        model.phase == Phase::Allocating,
        "{}",
        context()
    );
    assert_eq!(
        s.hold_waiters(),
        u64::from(model.hold_waiters),
        "{}",
        context()
    );
}

/// A run: the put count to start from (as after that many puts, so that its
/// wrapping is reachable), then the requests.
#[derive(Arbitrary, Debug)]
struct Input {
    puts: u32,
    requests: Vec<Request>,
}

fuzz_target!(|input: Input| {
    assert_eq!(Snapshot::NEW.0, Model::NEW.encode());
    let mut model = Model {
        puts: input.puts,
        ..Model::NEW
    };
    let word = AtomicU64::new(model.encode());
    for request in input.requests {
        if !model.allows(request) {
            continue;
        }
        match request {
            Request::Hold(kind) => {
                let expected = model.hold(kind);
                apply(&word, request, expected, |s| state::hold(s, kind.waiter()));
            }
            Request::LeaveHoldWaiters => {
                let expected = model.leave_hold_waiters();
                apply(&word, request, expected, state::leave_hold_waiters);
            }
            Request::Charge => {
                let expected = model.charge();
                apply(&word, request, expected, state::charge);
            }
            Request::Allocated => {
                let expected = model.allocated();
                apply(&word, request, expected, state::allocated);
            }
            Request::Unhold { charged } => {
                let expected = model.unhold(charged);
                apply(&word, request, expected, |s| state::unhold(s, charged));
            }
            Request::Put { hand_over } => {
                let expected = model.put(hand_over);
                apply(&word, request, expected, |s| state::put(s, hand_over));
            }
            Request::ReleaseHeld => {
                let expected = model.release_held();
                apply(&word, request, expected, state::release_held);
            }
            Request::Evict { latest } => {
                let expected = model.evict(latest);
                apply(&word, request, expected, |s| state::evict(s, latest));
            }
            Request::ScheduleRelease => {
                let expected = model.schedule_release();
                apply(&word, request, expected, state::schedule_release);
            }
            Request::Released => {
                let expected = model.released();
                apply(&word, request, expected, state::released);
            }
            Request::TakeIdle => {
                let expected = model.take_idle();
                apply(&word, request, expected, state::take_idle);
            }
            Request::AwaitRelease => {
                let expected = model.await_release();
                apply(&word, request, expected, state::await_release);
            }
            Request::QueueAhead => {
                let expected = model.queue_ahead();
                apply(&word, request, expected, state::queue_ahead);
            }
            Request::Expire { expired } => {
                let expected = model.expire(expired);
                apply(&word, request, expected, |s| state::expire(s, expired));
            }
            Request::Discard => {
                let expected = model.discard();
                apply(&word, request, expected, state::discard);
            }
        }
        let now = word.load(Ordering::Relaxed);
        assert_eq!(
            now,
            model.encode(),
            "after {request:?}: word {:?}, model {model:?}",
            Snapshot(now)
        );
        check_decoding(Snapshot(now), model);
        model.check_invariants();
    }
});
