//! The per-resource state word: its bit layout, and one small pure function per
//! transition.
//!
//! Every change to a resource goes through [`transition`], which applies one of
//! the functions below in a compare-and-swap loop. The functions are pure
//! (`Snapshot -> (outcome, Option<Snapshot>)`, `None` meaning "store nothing"),
//! so they are unit-tested here, fuzzed against a plain-enum model in `fuzz/`,
//! and model-checked on a bare atomic in `loom-tests/`.
//!
//! # Layout
//!
//! ```text
//! bits    name            meaning
//! 0       HELD            a get is past its hold phase, or a Guard exists. At most
//!                         one holder per resource. Grants the item slot while
//!                         RELEASING is clear.
//! 1       CHARGED         the resource owns one of the pool's `max` charges (it is
//!                         allocating, allocated, or its item is being released).
//! 2       ALLOCATED       the slot holds an item. Implies CHARGED. Idle = ALLOCATED
//!                         and not HELD.
//! 3       RELEASING       the item was taken out of the slot and is inside
//!                         `AllocateRelease::release`; the releaser owns the slot.
//!                         Implies CHARGED, excludes ALLOCATED.
//! 4       QUEUED          the pool's idle set holds an entry for this resource (or
//!                         an evictor that took it out is looking at it). At most
//!                         one entry per resource.
//! 5       RELEASE_ON_PUT  `schedule_release` armed: the next put releases.
//! 6       HANDOFF         the holder let go while gets waited for the hold: HELD
//!                         stays set, and passes to the first counted waiter that
//!                         wakes (so a get that did not wait cannot barge in).
//! 7       RELEASE_WAITER  the holder waits for RELEASING to clear (it listens on the
//!                         resource's `changed` event): the releaser notifies.
//! 8..40   PUTS            puts so far, wrapping: an evictor's swap fails if the
//!                         resource was got and put again since it looked (ABA).
//! 40..64  HOLD_WAITERS    number of gets registered as waiting for the hold
//!                         (at most 2^24 - 1 at once).
//! ```
//!
//! HOLD_WAITERS > 0 implies HELD: waiters join only while the hold is taken, and
//! the hold is only let go (HELD cleared) when no waiter is counted.
//!
//! PUTS and ABA: an evictor ([`evict`]) loads the word, reads the resource's
//! put time to compare it with its entry's (`latest`), then swaps the whole
//! word. The swap alone makes the claim safe: it succeeds only on a word that
//! is idle at that instant and takes the item then in the slot, once, with
//! its charge; and the entry in the evictor's hand is still the resource's
//! only one, as QUEUED is cleared only by evictors, under the idle set's lock
//! that this one holds. PUTS guards `latest`, read before the swap: every way
//! from an idle word back to an idle word goes through a put, so a resource
//! got and put again in between fails the swap, unless the count wrapped: a
//! multiple of 2^32 puts of the resource while the evictor waits between its
//! read and its swap (over a minute of nothing but get and put of that one
//! resource in a loop, while the evictor is descheduled between two
//! instructions; with the 16 bits this field once had, a millisecond was
//! enough). Even then, if no other put took a new time from the idle set's
//! clock meanwhile, each of those puts kept the entry's time
//! (`IdleSet::put_time`) and the resource is still the least recently used;
//! if one did, the resource's latest put is newer than that one, and the
//! evictor takes it ahead of a resource put before it. A wrap can thus break
//! the LRU order, never the item taken, its release or its charge.
//!
//! The derived states the pool reports are: *allocating* (HELD, CHARGED, not
//! ALLOCATED, not RELEASING), *in use* (HELD and ALLOCATED), *idle* (ALLOCATED,
//! not HELD) and *releasing* (RELEASING).

use core::fmt;

use crate::sync::{AtomicU64, Ordering};

/// A get is past its hold phase, or a `Guard` exists.
pub const HELD: u64 = 1 << 0;
/// The resource owns one of the pool's charges.
pub const CHARGED: u64 = 1 << 1;
/// The slot holds an item.
pub const ALLOCATED: u64 = 1 << 2;
/// The item is being released; the releaser owns the slot.
pub const RELEASING: u64 = 1 << 3;
/// The idle set holds an entry for this resource (or an evictor's hand does).
pub const QUEUED: u64 = 1 << 4;
/// The next put releases the item.
pub const RELEASE_ON_PUT: u64 = 1 << 5;
/// The hold passes to the next hold waiter that wakes.
pub const HANDOFF: u64 = 1 << 6;
/// The holder waits for the release in flight to return.
pub const RELEASE_WAITER: u64 = 1 << 7;
/// Where the put count starts.
pub const PUTS_SHIFT: u32 = 8;
/// One put.
pub const PUT_ONE: u64 = 1 << PUTS_SHIFT;
/// All bits of the put count.
pub const PUTS_MASK: u64 = 0xffff_ffff << PUTS_SHIFT;
/// Where the hold-waiter count starts.
pub const HOLD_WAITERS_SHIFT: u32 = 40;
/// One hold waiter.
pub const HOLD_WAITER_ONE: u64 = 1 << HOLD_WAITERS_SHIFT;
/// All bits of the hold-waiter count.
pub const HOLD_WAITERS_MASK: u64 = !0 << HOLD_WAITERS_SHIFT;

/// A copy of the state word, with helpers to read and change it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Snapshot(pub u64);

impl Snapshot {
    /// The state of a resource that was just created.
    pub const NEW: Snapshot = Snapshot(0);

    #[inline]
    fn has(self, flag: u64) -> bool {
        self.0 & flag != 0
    }
    #[inline]
    fn with(self, flag: u64) -> Snapshot {
        Snapshot(self.0 | flag)
    }
    #[inline]
    fn without(self, flag: u64) -> Snapshot {
        Snapshot(self.0 & !flag)
    }

    /// A holder exists.
    #[inline]
    pub fn is_held(self) -> bool {
        self.has(HELD)
    }
    /// The resource owns a charge.
    #[inline]
    pub fn is_charged(self) -> bool {
        self.has(CHARGED)
    }
    /// The slot holds an item.
    #[inline]
    pub fn is_allocated(self) -> bool {
        self.has(ALLOCATED)
    }
    /// The item is inside `release`.
    #[inline]
    pub fn is_releasing(self) -> bool {
        self.has(RELEASING)
    }
    /// An idle-queue entry exists.
    #[inline]
    pub fn is_queued(self) -> bool {
        self.has(QUEUED)
    }
    /// The next put releases.
    #[inline]
    pub fn is_release_on_put(self) -> bool {
        self.has(RELEASE_ON_PUT)
    }
    /// The hold is on its way to a hold waiter.
    #[inline]
    pub fn is_handoff(self) -> bool {
        self.has(HANDOFF)
    }
    /// Allocated and not held.
    #[inline]
    pub fn is_idle(self) -> bool {
        self.is_allocated() && !self.is_held()
    }
    /// Holding a charge, not yet allocated, not releasing.
    #[inline]
    pub fn is_allocating(self) -> bool {
        self.is_held() && self.is_charged() && !self.is_allocated() && !self.is_releasing()
    }
    /// Puts so far, modulo 2^32.
    #[inline]
    pub fn puts(self) -> u64 {
        (self.0 & PUTS_MASK) >> PUTS_SHIFT
    }
    /// Gets registered as waiting for the hold.
    #[inline]
    pub fn hold_waiters(self) -> u64 {
        self.0 >> HOLD_WAITERS_SHIFT
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (HELD, "HELD"),
            (CHARGED, "CHARGED"),
            (ALLOCATED, "ALLOCATED"),
            (RELEASING, "RELEASING"),
            (QUEUED, "QUEUED"),
            (RELEASE_ON_PUT, "RELEASE_ON_PUT"),
            (HANDOFF, "HANDOFF"),
            (RELEASE_WAITER, "RELEASE_WAITER"),
        ];
        let mut flags = f.debug_list();
        for (bit, name) in names {
            if self.has(bit) {
                flags.entries([name]);
            }
        }
        flags.finish()?;
        write!(
            f,
            " puts={} hold_waiters={}",
            self.puts(),
            self.hold_waiters()
        )
    }
}

/// What [`hold`] decided.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The hold was free and is now ours. `idle`: the resource was allocated
    /// and idle, so it is now in use.
    Taken {
        /// The item is there to be used.
        idle: bool,
    },
    /// The previous holder handed the hold to us (HANDOFF). `allocated`: its
    /// item came along, still counted in use.
    HandedOver {
        /// The item is there to be used.
        allocated: bool,
    },
    /// Another holder exists: wait for its put or release.
    Busy,
}

/// How the caller of [`hold`] stands in the hold-waiter count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiter {
    /// Not counted, and will not wait (fast path).
    No,
    /// Not counted yet; its listener is registered: count it if busy.
    Join,
    /// Counted, and woken: take a handed-off hold and leave the count.
    Counted,
}

/// Phase 1: take the hold, or join the hold waiters.
///
/// # Panics
///
/// If more than 2^32 - 1 gets wait for the hold of one resource.
#[inline]
pub fn hold(s: Snapshot, waiter: Waiter) -> (Hold, Option<Snapshot>) {
    if waiter == Waiter::Counted && s.is_handoff() {
        let next = Snapshot(s.without(HANDOFF).0 - HOLD_WAITER_ONE);
        return (
            Hold::HandedOver {
                allocated: s.is_allocated(),
            },
            Some(next),
        );
    }
    if !s.is_held() {
        debug_assert!(s.hold_waiters() == 0, "{s:?}");
        return (
            Hold::Taken {
                idle: s.is_allocated(),
            },
            Some(s.with(HELD)),
        );
    }
    match waiter {
        Waiter::Join => {
            assert!(
                s.0 & HOLD_WAITERS_MASK != HOLD_WAITERS_MASK,
                "resourcepool: too many gets waiting for one resource"
            );
            (Hold::Busy, Some(Snapshot(s.0 + HOLD_WAITER_ONE)))
        }
        Waiter::No | Waiter::Counted => (Hold::Busy, None),
    }
}

/// The fast path of a get: takes the hold only if the item is idle (and so
/// nobody waits for the hold). Returns whether it did.
#[inline]
pub fn take_idle(s: Snapshot) -> (bool, Option<Snapshot>) {
    if s.is_idle() {
        (true, Some(s.with(HELD)))
    } else {
        (false, None)
    }
}

/// What [`leave_hold_waiters`] decided.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
    /// Uncounted; nothing else to do.
    Left,
    /// The last counted waiter found the hold handed off to nobody else: it took
    /// it, and must let it go again as its holder would (`allocated`: with the item).
    TookHandoff {
        /// The item is in the slot.
        allocated: bool,
    },
}

/// A counted hold waiter gives up (cancelled).
#[inline]
pub fn leave_hold_waiters(s: Snapshot) -> (Leave, Option<Snapshot>) {
    debug_assert!(s.hold_waiters() > 0 && s.is_held(), "{s:?}");
    let next = Snapshot(s.0 - HOLD_WAITER_ONE);
    if next.hold_waiters() == 0 && s.is_handoff() {
        (
            Leave::TookHandoff {
                allocated: s.is_allocated(),
            },
            Some(next.without(HANDOFF)),
        )
    } else {
        (Leave::Left, Some(next))
    }
}

/// The holder lets go of the hold: to the hold waiters if there are any.
#[inline]
fn let_go(s: Snapshot) -> Snapshot {
    if s.hold_waiters() > 0 {
        s.with(HANDOFF)
    } else {
        s.without(HELD)
    }
}

/// Phase 3 begins: the holder took a charge for this resource.
#[inline]
pub fn charge(s: Snapshot) -> ((), Option<Snapshot>) {
    debug_assert!(
        s.is_held() && !s.is_charged() && !s.is_allocated() && !s.is_releasing(),
        "{s:?}"
    );
    ((), Some(s.with(CHARGED)))
}

/// Phase 3 succeeded: the holder wrote the item into the slot.
#[inline]
pub fn allocated(s: Snapshot) -> ((), Option<Snapshot>) {
    debug_assert!(s.is_allocating(), "{s:?}");
    ((), Some(s.with(ALLOCATED)))
}

/// A holder without an item lets go: the get was cancelled, or `allocate`
/// failed or panicked. `charged`: the holder also gives back its charge.
/// Returns whether hold waiters must be woken.
#[inline]
pub fn unhold(s: Snapshot, charged: bool) -> (bool, Option<Snapshot>) {
    debug_assert!(
        s.is_held() && !s.is_handoff() && !s.is_allocated() && (s.is_charged() || !charged),
        "{s:?}"
    );
    let s = if charged {
        s.without(CHARGED | RELEASE_ON_PUT)
    } else {
        s
    };
    (s.hold_waiters() > 0, Some(let_go(s)))
}

/// What [`put`] decided.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// The item stays, idle. `push`: the caller must push an idle-queue entry.
    Idle {
        /// QUEUED was clear and is now set.
        push: bool,
    },
    /// The item stays, in use: the hold passes to a hold waiter (HANDOFF).
    HandedOff,
    /// The item left the slot's ownership for the caller, who releases it.
    Release,
}

/// A `Guard` is dropped. `hand_over`: a get has waited for capacity past the
/// pool's `handoff_after`, so the item leaves the slot, still charged, for
/// that get to release (fairness), rather than stay idle.
#[inline]
pub fn put(s: Snapshot, hand_over: bool) -> (Put, Option<Snapshot>) {
    debug_assert!(s.is_held() && !s.is_handoff() && s.is_allocated(), "{s:?}");
    if hand_over || s.is_release_on_put() {
        return release_held(s);
    }
    if s.hold_waiters() > 0 {
        return (Put::HandedOff, Some(s.with(HANDOFF)));
    }
    let puts = s.0.wrapping_add(PUT_ONE) & PUTS_MASK;
    let idle = Snapshot((s.0 & !PUTS_MASK) | puts)
        .without(HELD)
        .with(QUEUED);
    (
        Put::Idle {
            push: !s.is_queued(),
        },
        Some(idle),
    )
}

/// `Guard::release`, or a put that releases: the holder takes the item out
/// and lets go of the hold; the charge stays until the release returns.
#[inline]
pub fn release_held(s: Snapshot) -> (Put, Option<Snapshot>) {
    debug_assert!(s.is_held() && !s.is_handoff() && s.is_allocated(), "{s:?}");
    let releasing = s.without(ALLOCATED | RELEASE_ON_PUT).with(RELEASING);
    (Put::Release, Some(let_go(releasing)))
}

/// What an evictor holding the resource's idle-set entry found.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evict {
    /// Idle, and its entry is for its latest put: the caller now releases its
    /// item and takes its charge.
    Claimed,
    /// Idle, but put again since the entry was made: the caller puts the entry
    /// back with the resource's latest put time.
    Stale,
    /// Not idle: the entry is dropped (QUEUED cleared); the next put makes a new one.
    NotIdle,
}

/// An evictor took this resource's entry out of the idle set. `latest`: the
/// entry's put time is the resource's latest (read after the state word).
#[inline]
pub fn evict(s: Snapshot, latest: bool) -> (Evict, Option<Snapshot>) {
    debug_assert!(s.is_queued(), "{s:?}");
    if !s.is_idle() {
        (Evict::NotIdle, Some(s.without(QUEUED)))
    } else if !latest {
        (Evict::Stale, None)
    } else {
        let claimed = s
            .without(ALLOCATED | QUEUED | RELEASE_ON_PUT)
            .with(RELEASING);
        (Evict::Claimed, Some(claimed))
    }
}

/// `Pool::release_expired`, holding the resource's idle-set entry, found it
/// `expired` (past its idle timeout or lifetime, by the stamps it read after
/// this word). Claims it if it is idle: the caller releases its item and frees
/// its charge, and drops the entry (QUEUED cleared). Otherwise nothing changes
/// and the entry stays. Returns whether it claimed.
#[inline]
pub fn expire(s: Snapshot, expired: bool) -> (bool, Option<Snapshot>) {
    debug_assert!(s.is_queued(), "{s:?}");
    if s.is_idle() && expired {
        let claimed = s
            .without(ALLOCATED | QUEUED | RELEASE_ON_PUT)
            .with(RELEASING);
        (true, Some(claimed))
    } else {
        (false, None)
    }
}

/// A holder found its own item past its time, or failing its check, on reuse:
/// it takes the item out to release it, and keeps the hold and the charge (to
/// allocate afresh once the release returns).
#[inline]
pub fn discard(s: Snapshot) -> ((), Option<Snapshot>) {
    debug_assert!(s.is_held() && !s.is_handoff() && s.is_allocated(), "{s:?}");
    (
        (),
        Some(s.without(ALLOCATED | RELEASE_ON_PUT).with(RELEASING)),
    )
}

/// An evictor that holds its own resource (not allocated) queues it ahead of
/// its first put, under the idle set's lock: sets QUEUED if it was clear.
/// Returns whether it did; the caller then adds the entry, and the put that
/// follows the allocation finds QUEUED set and takes no lock.
#[inline]
pub fn queue_ahead(s: Snapshot) -> (bool, Option<Snapshot>) {
    debug_assert!(s.is_held() && !s.is_allocated(), "{s:?}");
    if s.is_queued() {
        (false, None)
    } else {
        (true, Some(s.with(QUEUED)))
    }
}

/// What [`schedule_release`] decided.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Idle: the caller releases the item now.
    ReleaseNow,
    /// Held with a charge (in use or allocating): the next put releases.
    Armed,
    /// Not allocated (or already releasing): nothing to do.
    Nothing,
}

/// `Resource::schedule_release`, and the last handle of a resource being dropped.
#[inline]
pub fn schedule_release(s: Snapshot) -> (Schedule, Option<Snapshot>) {
    if s.is_idle() {
        // QUEUED stays: the entry is still in the idle set, and evictors drop it.
        (
            Schedule::ReleaseNow,
            Some(s.without(ALLOCATED | RELEASE_ON_PUT).with(RELEASING)),
        )
    } else if s.is_held() && s.is_charged() && !s.is_releasing() {
        (Schedule::Armed, Some(s.with(RELEASE_ON_PUT)))
    } else {
        (Schedule::Nothing, None)
    }
}

/// A release returned: the resource is no longer allocated and owns no charge.
/// Returns whether the holder waits for it (RELEASE_WAITER) and must be woken.
#[inline]
pub fn released(s: Snapshot) -> (bool, Option<Snapshot>) {
    debug_assert!(
        s.is_releasing() && s.is_charged() && !s.is_allocated(),
        "{s:?}"
    );
    let waiter = s.has(RELEASE_WAITER);
    (
        waiter,
        Some(s.without(RELEASING | CHARGED | RELEASE_WAITER)),
    )
}

/// The holder of a resource whose previous item is still being released
/// wants to wait for that release (its listener is registered). Returns
/// whether it must wait: RELEASING is still set, and RELEASE_WAITER now is.
#[inline]
pub fn await_release(s: Snapshot) -> (bool, Option<Snapshot>) {
    debug_assert!(s.is_held() && !s.is_allocated(), "{s:?}");
    match (s.is_releasing(), s.has(RELEASE_WAITER)) {
        (false, _) => (false, None),
        (true, true) => (true, None),
        (true, false) => (true, Some(s.with(RELEASE_WAITER))),
    }
}

/// Applies `step` to `word` until its compare-and-swap succeeds (or it stores
/// nothing). Returns the outcome and the snapshot it was computed from.
///
/// # Memory ordering
///
/// Successful swaps are `AcqRel` and loads `Acquire`: whoever sets or clears
/// HELD, ALLOCATED or RELEASING publishes the slot to whoever sees the new
/// state, and every transition of one resource is totally ordered.
#[inline]
pub fn transition<T>(
    word: &AtomicU64,
    mut step: impl FnMut(Snapshot) -> (T, Option<Snapshot>),
) -> (T, Snapshot) {
    let mut current = word.load(Ordering::Acquire);
    loop {
        let (outcome, next) = step(Snapshot(current));
        let Some(next) = next else {
            return (outcome, Snapshot(current));
        };
        match word.compare_exchange_weak(current, next.0, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return (outcome, Snapshot(current)),
            Err(actual) => current = actual,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn apply<T>(s: Snapshot, f: impl FnOnce(Snapshot) -> (T, Option<Snapshot>)) -> (T, Snapshot) {
        let (out, next) = f(s);
        (out, next.unwrap_or(s))
    }

    const IDLE: Snapshot = Snapshot(CHARGED | ALLOCATED | QUEUED);

    #[test]
    fn a_new_resource_is_held_then_charged_then_allocated() {
        let (out, s) = apply(Snapshot::NEW, |s| hold(s, Waiter::No));
        assert_eq!(out, Hold::Taken { idle: false });
        let ((), s) = apply(s, charge);
        assert!(s.is_allocating());
        let ((), s) = apply(s, allocated);
        assert!(s.is_held() && s.is_allocated() && !s.is_idle());
        let (out, s) = apply(s, |s| put(s, false));
        assert_eq!(out, Put::Idle { push: true });
        assert_eq!(s, Snapshot(IDLE.0 + PUT_ONE));
    }

    #[test]
    fn an_idle_resource_is_taken_in_one_step_and_put_back_counted() {
        let (out, s) = apply(IDLE, |s| hold(s, Waiter::No));
        assert_eq!(out, Hold::Taken { idle: true });
        let (out, s) = apply(s, |s| put(s, false));
        assert_eq!(out, Put::Idle { push: false });
        assert_eq!(s, Snapshot(IDLE.0 + PUT_ONE));
    }

    #[test]
    fn the_fast_path_takes_only_an_idle_item() {
        assert_eq!(take_idle(IDLE), (true, Some(IDLE.with(HELD))));
        assert_eq!(take_idle(Snapshot::NEW), (false, None));
        assert_eq!(take_idle(IDLE.with(HELD)), (false, None));
    }

    #[test]
    fn the_put_count_wraps_without_touching_other_fields() {
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED | PUTS_MASK);
        let (_, s) = apply(in_use, |s| put(s, false));
        assert_eq!(s, IDLE);
    }

    #[test]
    fn the_hold_is_handed_to_a_counted_waiter_not_to_a_newcomer() {
        let held = Snapshot(HELD);
        assert_eq!(hold(held, Waiter::No), (Hold::Busy, None));
        let (out, s) = apply(held, |s| hold(s, Waiter::Join));
        assert_eq!((out, s.hold_waiters()), (Hold::Busy, 1));
        assert_eq!(hold(s, Waiter::Counted), (Hold::Busy, None));
        let (wake, s) = apply(s, |s| unhold(s, false));
        assert!(wake);
        assert!(s.is_held() && s.is_handoff());
        assert_eq!(hold(s, Waiter::No), (Hold::Busy, None));
        let (out, s) = apply(s, |s| hold(s, Waiter::Counted));
        assert_eq!(
            (out, s),
            (Hold::HandedOver { allocated: false }, Snapshot(HELD))
        );
    }

    #[test]
    fn a_put_hands_the_item_to_a_hold_waiter() {
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED | HOLD_WAITER_ONE);
        let (out, s) = apply(in_use, |s| put(s, false));
        assert_eq!((out, s), (Put::HandedOff, in_use.with(HANDOFF)));
        let (out, s) = apply(s, |s| hold(s, Waiter::Counted));
        let expected = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED);
        assert_eq!((out, s), (Hold::HandedOver { allocated: true }, expected));
    }

    #[test]
    fn a_release_hands_the_empty_hold_to_a_hold_waiter() {
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | HOLD_WAITER_ONE);
        let (out, s) = apply(in_use, release_held);
        assert_eq!(out, Put::Release);
        assert_eq!(
            s,
            Snapshot(HELD | HANDOFF | CHARGED | RELEASING | HOLD_WAITER_ONE)
        );
    }

    #[test]
    fn the_last_waiter_to_leave_takes_an_orphaned_handoff() {
        let (out, s) = apply(Snapshot(HELD | (2 * HOLD_WAITER_ONE)), leave_hold_waiters);
        assert_eq!((out, s), (Leave::Left, Snapshot(HELD | HOLD_WAITER_ONE)));
        let handed = Snapshot(HELD | HANDOFF | CHARGED | ALLOCATED | HOLD_WAITER_ONE);
        let (out, s) = apply(handed, leave_hold_waiters);
        let expected = Snapshot(HELD | CHARGED | ALLOCATED);
        assert_eq!((out, s), (Leave::TookHandoff { allocated: true }, expected));
    }

    #[test]
    #[should_panic(expected = "too many gets waiting")]
    fn the_hold_waiter_count_does_not_overflow() {
        let _ = hold(Snapshot(HELD | HOLD_WAITERS_MASK), Waiter::Join);
    }

    #[test]
    fn a_failed_allocation_gives_back_hold_charge_and_schedule() {
        let s = Snapshot(HELD | CHARGED | RELEASE_ON_PUT);
        let (wake, s) = apply(s, |s| unhold(s, true));
        assert!(!wake);
        assert_eq!(s, Snapshot::NEW);
    }

    #[test]
    fn put_releases_once_when_scheduled_or_handed_over() {
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED);
        let (out, s) = apply(in_use.with(RELEASE_ON_PUT), |s| put(s, false));
        assert_eq!(out, Put::Release);
        assert_eq!(s, Snapshot(CHARGED | RELEASING | QUEUED));
        let (waiter, s) = apply(s, released);
        assert_eq!((waiter, s), (false, Snapshot(QUEUED)));
        assert_eq!(put(in_use, true).0, Put::Release);
    }

    #[test]
    fn a_holder_waits_for_its_release_and_the_releaser_wakes_it() {
        let releasing = Snapshot(HELD | CHARGED | RELEASING);
        let (wait, s) = apply(releasing, await_release);
        assert_eq!((wait, s), (true, releasing.with(RELEASE_WAITER)));
        assert_eq!(await_release(s), (true, None));
        let (waiter, s) = apply(s, released);
        assert_eq!((waiter, s), (true, Snapshot(HELD)));
        assert_eq!(await_release(s), (false, None));
    }

    #[test]
    fn eviction_requeues_a_stale_entry_then_claims() {
        assert_eq!(evict(IDLE, false), (Evict::Stale, None));
        let (out, s) = apply(IDLE, |s| evict(s, true));
        assert_eq!((out, s), (Evict::Claimed, Snapshot(CHARGED | RELEASING)));
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED);
        let (out, s) = apply(in_use, |s| evict(s, true));
        assert_eq!(
            (out, s),
            (Evict::NotIdle, Snapshot(HELD | CHARGED | ALLOCATED))
        );
    }

    #[test]
    fn release_expired_claims_only_an_idle_expired_item() {
        // Idle and past its time: claimed, the entry dropped, the charge kept
        // until the release returns; the put count stays.
        let idle = Snapshot(IDLE.0 + PUT_ONE);
        let (claimed, s) = apply(idle, |s| expire(s, true));
        assert!(claimed);
        assert_eq!(s, Snapshot(CHARGED | RELEASING | PUT_ONE));
        assert!(!s.is_queued() && !s.is_allocated() && !s.is_idle());
        let (waiter, s) = apply(s, released);
        assert_eq!((waiter, s), (false, Snapshot(PUT_ONE)));
        // Idle, not past its time: nothing changes, the entry stays.
        assert_eq!(expire(idle, false), (false, None));
        // Held (in use, or allocating again with its old entry): whatever the
        // stamps said, nothing changes.
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED);
        assert_eq!(expire(in_use, true), (false, None));
        assert_eq!(expire(in_use, false), (false, None));
        assert_eq!(
            expire(Snapshot(HELD | CHARGED | QUEUED), true),
            (false, None)
        );
        // Already being released (`schedule_release` keeps the entry).
        let releasing = Snapshot(CHARGED | RELEASING | QUEUED);
        assert_eq!(expire(releasing, true), (false, None));
    }

    #[test]
    fn a_discarded_item_is_released_with_the_hold_and_the_charge_kept() {
        let in_use = Snapshot(HELD | CHARGED | ALLOCATED | QUEUED | PUT_ONE);
        let ((), s) = apply(in_use, discard);
        assert_eq!(s, Snapshot(HELD | CHARGED | RELEASING | QUEUED | PUT_ONE));
        assert!(s.is_held() && s.is_charged() && s.is_releasing() && !s.is_allocated());
        // A scheduled release is served by the discard; hold waiters stay
        // counted, and the hold stays ours (no HANDOFF).
        let armed = Snapshot(in_use.0 | RELEASE_ON_PUT | HOLD_WAITER_ONE);
        let ((), s) = apply(armed, discard);
        assert_eq!(
            s,
            Snapshot(HELD | CHARGED | RELEASING | QUEUED | PUT_ONE | HOLD_WAITER_ONE)
        );
        assert!(!s.is_release_on_put() && !s.is_handoff());
        // Once the release returns, the holder takes the charge (the pool's,
        // which it kept) into the word again and allocates.
        let (waiter, s) = apply(s, released);
        assert!(!waiter);
        assert_eq!(s, Snapshot(HELD | QUEUED | PUT_ONE | HOLD_WAITER_ONE));
        let ((), s) = apply(s, charge);
        assert!(s.is_allocating());
        let ((), s) = apply(s, allocated);
        assert!(s.is_held() && s.is_allocated());
    }

    #[test]
    fn an_evictor_queues_its_own_resource_ahead_only_once() {
        let holder = Snapshot(HELD);
        let (queued, s) = apply(holder, queue_ahead);
        assert_eq!((queued, s), (true, Snapshot(HELD | QUEUED)));
        assert_eq!(queue_ahead(s), (false, None));
        // Its first put then keeps the entry made ahead.
        let ((), s) = apply(s, charge);
        let ((), s) = apply(s, allocated);
        let (out, s) = apply(s, |s| put(s, false));
        assert_eq!(out, Put::Idle { push: false });
        assert!(s.is_idle() && s.is_queued());
    }

    #[test]
    fn schedule_release_depends_on_the_state() {
        assert_eq!(schedule_release(Snapshot::NEW), (Schedule::Nothing, None));
        assert_eq!(schedule_release(Snapshot(HELD)).0, Schedule::Nothing);
        assert_eq!(
            schedule_release(Snapshot(HELD | CHARGED)).0,
            Schedule::Armed
        );
        assert_eq!(
            schedule_release(Snapshot(HELD | CHARGED | RELEASING)).0,
            Schedule::Nothing
        );
        let (out, s) = apply(IDLE, schedule_release);
        assert_eq!(
            (out, s),
            (Schedule::ReleaseNow, Snapshot(CHARGED | RELEASING | QUEUED))
        );
    }

    #[test]
    fn debug_names_the_flags() {
        let s = Snapshot(HELD | QUEUED | (2 * HOLD_WAITER_ONE));
        assert_eq!(
            format!("{s:?}"),
            "[\"HELD\", \"QUEUED\"] puts=0 hold_waiters=2"
        );
    }
}
