//! The gets waiting for capacity, in the order they started waiting.
//!
//! A plain FIFO under the pool's `queue` mutex: waiting is the slow path, so a
//! lock there costs nothing the hot paths see (they read only the pool's
//! `waiting` count). Each waiter has a *phase*, changed only under the lock:
//!
//! ```text
//! Waiting   asleep (its waker stored), or about to look for capacity
//! Notified  an idle entry or a free charge appeared: it looks once more
//! Granted   capacity was handed to it alone (a freed charge, or a put's item
//!           with its charge); no other get may take it
//! Closed    the pool was closed: it fails with `Error::Closed`
//! ```
//!
//! A notification goes to the first waiter still `Waiting`; a grant to the
//! first waiter not yet `Granted`. A waiter overtaken by a grant while
//! `Notified` passes its notification on to the next `Waiting` one.

use core::task::Waker;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::idle::Victim;

/// Capacity handed to one waiter.
pub(crate) enum Offer {
    /// A charge, free to allocate with.
    Charge,
    /// A put's item, already taken out of its resource (RELEASING) with its
    /// charge: the waiter releases it, and the charge is then its own.
    Item(Arc<dyn Victim>),
}

/// Where a waiter stands; see the module docs.
enum Phase {
    Waiting,
    Notified,
    Granted(Offer),
    Closed,
}

/// One waiting get.
struct Waiter {
    /// When it started waiting, in the pool's clock (nanoseconds); 0 when the
    /// pool does not time hand-offs.
    since: u64,
    phase: Phase,
    waker: Option<Waker>,
}

/// The waiters, keyed by ticket: a ticket is taken when a get starts waiting,
/// so key order is arrival order.
#[derive(Default)]
pub(crate) struct WaitQueue {
    waiters: BTreeMap<u64, Waiter>,
    next_ticket: u64,
    /// The pool was closed: nobody joins, nothing is granted.
    closed: bool,
    /// `set_max` shrank the pool below the charges taken: puts shed their
    /// items, and nothing is granted, until the charges fit again.
    pub(crate) over_max: bool,
}

/// Why a sleeping waiter's future may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Not yet: its waker is stored.
    Sleeps,
    /// Told to look for capacity.
    Notified,
    /// Capacity was granted to it.
    Granted,
    /// The pool was closed.
    Closed,
}

/// What a waiter found when it looked at its own place.
pub(crate) enum Look {
    /// Capacity was granted to it; it has left the queue.
    Granted(Offer),
    /// The pool was closed; it has left the queue.
    Closed,
    /// Nothing granted: it may look for capacity itself.
    Nothing,
}

impl WaitQueue {
    /// Whether the pool was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Waiters in the queue.
    pub(crate) fn len(&self) -> usize {
        self.waiters.len()
    }

    /// A get starts waiting; returns its ticket, or `None` if the pool was
    /// closed.
    pub(crate) fn join(&mut self, since: u64) -> Option<u64> {
        if self.closed {
            return None;
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiters.insert(
            ticket,
            Waiter {
                since,
                phase: Phase::Waiting,
                waker: None,
            },
        );
        Some(ticket)
    }

    /// The waiter `ticket` looks at its place: takes what was granted to it.
    pub(crate) fn look(&mut self, ticket: u64) -> Look {
        let waiter = self.waiters.get_mut(&ticket).expect("a waiter is queued");
        if let Phase::Waiting | Phase::Notified = waiter.phase {
            return Look::Nothing;
        }
        match self.waiters.remove(&ticket).expect("just found").phase {
            Phase::Granted(offer) => Look::Granted(offer),
            Phase::Closed => Look::Closed,
            Phase::Waiting | Phase::Notified => unreachable!(),
        }
    }

    /// The waiter `ticket` found capacity itself: it leaves the queue.
    pub(crate) fn leave_served(&mut self, ticket: u64) {
        self.waiters.remove(&ticket);
    }

    /// The waiter `ticket` found no capacity: it goes back to sleep (a
    /// notification it had is used up).
    pub(crate) fn rest(&mut self, ticket: u64) {
        if let Some(waiter) = self.waiters.get_mut(&ticket) {
            if let Phase::Notified = waiter.phase {
                waiter.phase = Phase::Waiting;
            }
        }
    }

    /// Whether the waiter `ticket` still sleeps (if so, `waker` wakes it),
    /// was notified, or was granted capacity.
    pub(crate) fn wake_state(&mut self, ticket: u64, waker: &Waker) -> Wake {
        let waiter = self.waiters.get_mut(&ticket).expect("a waiter is queued");
        match waiter.phase {
            Phase::Granted(_) => Wake::Granted,
            Phase::Closed => Wake::Closed,
            Phase::Notified => Wake::Notified,
            Phase::Waiting => {
                match &waiter.waker {
                    Some(stored) if stored.will_wake(waker) => {}
                    _ => waiter.waker = Some(waker.clone()),
                }
                Wake::Sleeps
            }
        }
    }

    /// The waiter `ticket` gives up (cancelled, dropped or unwinding). Returns
    /// what had been granted to it, for the caller to pass on; a notification
    /// it had is passed on here.
    pub(crate) fn leave_unserved(&mut self, ticket: u64) -> Option<Offer> {
        let waiter = self.waiters.remove(&ticket)?;
        match waiter.phase {
            Phase::Granted(offer) => Some(offer),
            Phase::Notified => {
                self.notify_one();
                None
            }
            Phase::Waiting | Phase::Closed => None,
        }
    }

    /// Wakes the first waiter still asleep, to look for capacity. Returns
    /// whether there was one.
    pub(crate) fn notify_one(&mut self) -> bool {
        let Some(waiter) = self
            .waiters
            .values_mut()
            .find(|waiter| matches!(waiter.phase, Phase::Waiting))
        else {
            return false;
        };
        waiter.phase = Phase::Notified;
        if let Some(waker) = waiter.waker.take() {
            waker.wake();
        }
        true
    }

    /// When the first waiter not yet granted started waiting, if there is one:
    /// the one a hand-off would serve.
    pub(crate) fn first_ungranted_since(&self) -> Option<u64> {
        self.waiters
            .values()
            .find(|waiter| matches!(waiter.phase, Phase::Waiting | Phase::Notified))
            .map(|waiter| waiter.since)
    }

    /// Whether a waiter is not yet granted (nor closed).
    pub(crate) fn has_ungranted(&self) -> bool {
        self.first_ungranted_since().is_some()
    }

    /// Hands `offer` to the first waiter not yet granted. Gives it back if
    /// there is none (or the pool was closed).
    pub(crate) fn grant(&mut self, offer: Offer) -> Result<(), Offer> {
        if self.closed {
            return Err(offer);
        }
        let Some(waiter) = self
            .waiters
            .values_mut()
            .find(|waiter| matches!(waiter.phase, Phase::Waiting | Phase::Notified))
        else {
            return Err(offer);
        };
        let was_notified = matches!(waiter.phase, Phase::Notified);
        waiter.phase = Phase::Granted(offer);
        if let Some(waker) = waiter.waker.take() {
            waker.wake();
        }
        if was_notified {
            // The capacity it was told of is still there for another.
            self.notify_one();
        }
        Ok(())
    }
}

impl WaitQueue {
    /// Takes back what was granted to the waiter granted last (`set_max`
    /// shrank the pool, and no allocation may start with it); that waiter,
    /// woken by the grant, is told to look again. `None` if no waiter holds
    /// a grant.
    pub(crate) fn revoke_last_grant(&mut self) -> Option<Offer> {
        let waiter = self
            .waiters
            .values_mut()
            .rev()
            .find(|waiter| matches!(waiter.phase, Phase::Granted(_)))?;
        match core::mem::replace(&mut waiter.phase, Phase::Notified) {
            Phase::Granted(offer) => Some(offer),
            Phase::Waiting | Phase::Notified | Phase::Closed => unreachable!(),
        }
    }

    /// The pool is closed: every waiter is told so and woken, and nobody
    /// joins from now on. Returns what had been granted to them, for the
    /// caller to give back.
    pub(crate) fn close(&mut self) -> Vec<Offer> {
        self.closed = true;
        let mut offers = Vec::new();
        for waiter in self.waiters.values_mut() {
            if let Phase::Granted(offer) = core::mem::replace(&mut waiter.phase, Phase::Closed) {
                offers.push(offer);
            }
            if let Some(waker) = waiter.waker.take() {
                waker.wake();
            }
        }
        offers
    }
}
