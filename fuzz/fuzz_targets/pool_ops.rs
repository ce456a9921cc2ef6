//! Operations on a small pool, driven on one thread by manual polling, against
//! a sequential model of SPEC.md and of the crate's documented choices.
//!
//! Every get runs as a task: a boxed future that owns a clone of its resource
//! handle, gets, and then holds the guard until it is told to put or release.
//! Tasks are polled only when an operation says so, with a waker that records
//! whether it was woken. The cancel signal of `get_or_cancel`, the gate of a
//! pending `allocate` and the put/release command complete on command and wake
//! nobody, so every wakeup a task sees comes from the crate.
//!
//! The pool hands over with `handoff_after(Duration::ZERO)` (on every put while
//! a get waits) or `Duration::MAX` (never), chosen by the input; the settings in
//! between read a clock and are not modelled. With `MAX` a waiter woken by a
//! notification is never due a hand-off, so it yields once (waking itself)
//! before it looks; with `ZERO` it looks at once.
//!
//! The model is sequential and exact: which waiter a notification reaches
//! (event-listener's FIFO of hold listeners, a dropped notified hold listener
//! passing its notification on; the pool's FIFO queue of capacity waiters with
//! its phases Waiting, Notified and Granted), the hold handoff, the hand-over of
//! a put's item and the grant of a freed charge to the first waiter not yet
//! granted, exact LRU eviction from the idle set and the entry an evictor
//! queues ahead for its own resource (only while no other get waits) are all
//! modelled as `src/` documents them. After every operation the outcome, `stats()`,
//! `is_allocated()`, which items were released, and which tasks were woken
//! must equal the model's, and the SPEC invariants are checked on what the
//! crate did: live items never exceed `max`, one live item per resource,
//! `release` runs once per item and only for a reason SPEC.md names, one guard
//! per resource, the least recently put idle resource is evicted, a put hands
//! its item over only to a get that waits, and no waiter sleeps while what it
//! waits for is available. `Pool::close` is an operation too: from then on
//! every get fails with `Closed` and so does every get that was waiting (the
//! close wakes it), an `allocate` in flight finishes with its guard, no item
//! stays idle (the close sheds them, least recently used first, and each put
//! after it sheds its own), and what was granted to a waiter comes back. The
//! totals (why each item left) and `stats().waiting` must equal the model's,
//! and `drained()` resolves exactly when no charge is taken (woken by the last
//! charge freed). At the end every task and handle is dropped and nothing may
//! be lost; the pool is then closed and must be drained.
//!
//! The item lifecycle too: the input picks a subset of `idle_timeout`,
//! `max_lifetime` and `check_after_idle`, and the pool reads a virtual clock
//! (`PoolBuilder::clock`) that an operation moves forward, so expiry is exact.
//! The model predicts which items expire, and where (at their put, on reuse,
//! or in `release_expired`), which reuses call `check` (which passes, fails,
//! panics or stays pending, as scripted), and the totals `expired` and
//! `check_failures`. `Pool::set_max` is an operation as well: growing grants
//! the new charges to the waiters, shrinking takes back grants, sheds idle
//! items and then each excess item at its put; live items never exceed the
//! larger of the old and the new `max`, and no allocation starts that would
//! exceed the new one.
//!
//! The manager overrides `shutdown`, which a get awaits before it allocates
//! with the charge of the item it evicts, takes handed over, or replaces:
//! scripted per resource, it completes at once, stays pending until an
//! operation lets it finish, or panics. The model keeps that item releasing
//! and charged and the get pending meanwhile, while other operations go on;
//! no allocation starts while the shutdown whose charge it takes runs, each
//! item goes to `release` or `shutdown` once, and a get dropped meanwhile
//! (or whose shutdown panics) frees the charge.
#![no_main]

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use resourcepool::{AllocateRelease, Error, Pool, Resource, Stats};

/// At most this many resources per run.
const MAX_RESOURCES: usize = 4;
/// At most this many gets in flight (or holding a guard) at once.
const MAX_TASKS: usize = 6;
/// At most this many operations per run.
const MAX_OPS: usize = 96;

// ----------------------------------------------------------------------------
// The input.

/// Which get a task runs.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
enum GetKind {
    Get,
    TryGet,
    GetOrCancel,
}

/// What the next `allocate` of a resource does.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
enum AllocateMode {
    Succeed,
    Fail,
    /// Stays pending until `CompleteAllocate`.
    Pending,
}

/// What the next `check` of a resource does.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
enum CheckMode {
    Pass,
    Fail,
    Panic,
    /// Stays pending until `CompleteCheck`.
    Pending,
}

/// What the next `shutdown` of a resource's item does (the shutdown a get
/// awaits when it evicts that item, takes it handed over, or replaces it).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
enum ShutdownMode {
    Immediate,
    /// Stays pending until `CompleteShutdown`.
    Pending,
    Panic,
}

/// One operation. Indices are taken modulo the number of resources or tasks;
/// an operation that does not apply (no such task, a task in another phase)
/// is skipped.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum Op {
    Create,
    CloneHandle(u8),
    DropHandle(u8),
    /// Starts a task on a resource and polls it once.
    Start {
        resource: u8,
        kind: GetKind,
    },
    /// Polls a task once.
    Poll(u8),
    /// Completes the cancel future of a `get_or_cancel` task (without polling it).
    Cancel(u8),
    /// Drops a task's future: cancels a pending get, or puts a guard.
    DropTask(u8),
    /// Tells a task holding a guard to drop it, and polls it.
    Put(u8),
    /// Tells a task holding a guard to call `Guard::release`, and polls it.
    Release(u8),
    ScheduleRelease(u8),
    NextAllocate {
        resource: u8,
        mode: AllocateMode,
    },
    /// Lets a pending `allocate` finish (without polling its task).
    CompleteAllocate {
        task: u8,
        ok: bool,
    },
    FailNextRelease(u8),
    /// `Pool::close` (added last, so that adding it kept the meaning of the
    /// inputs written before it, once re-encoded: see the README).
    Close,
    // The variants below came with the item lifecycle, added last in the
    // same way.
    /// `Pool::set_max(1 + n % 4)`.
    SetMax(u8),
    /// Moves the pool's clock forward by `1 + d % 4` ticks.
    AdvanceClock(u8),
    ReleaseExpired,
    NextCheck {
        resource: u8,
        mode: CheckMode,
    },
    /// Lets a pending `check` finish (without polling its task): `Ok` or `Err`.
    CompleteCheck {
        task: u8,
        ok: bool,
    },
    // The variants below came with `AllocateRelease::shutdown`, added last
    // in the same way.
    NextShutdown {
        resource: u8,
        mode: ShutdownMode,
    },
    /// Lets a pending `shutdown` finish (without polling its task).
    CompleteShutdown {
        task: u8,
    },
}

/// One tick of the pool's clock.
const TICK: Duration = Duration::from_secs(1);

/// The lifecycle settings of the pool, in ticks (`None`: not set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lifecycle {
    idle_timeout: Option<u64>,
    max_lifetime: Option<u64>,
    check_after_idle: Option<u64>,
}

impl Lifecycle {
    /// From the second input byte: two bits each, `idle_timeout` and
    /// `max_lifetime` 1 to 3 ticks (0: not set), `check_after_idle` 0 to 2
    /// ticks (0: not set, 1: `Duration::ZERO`).
    fn from_byte(byte: u8) -> Self {
        let ticks = |bits: u8| (bits != 0).then_some(u64::from(bits));
        Lifecycle {
            idle_timeout: ticks(byte & 3),
            max_lifetime: ticks((byte >> 2) & 3),
            check_after_idle: ticks((byte >> 4) & 3).map(|ticks| ticks - 1),
        }
    }

    /// Whether any setting is used.
    fn is_used(self) -> bool {
        self.expires() || self.check_after_idle.is_some()
    }

    /// Whether items can expire.
    fn expires(self) -> bool {
        self.idle_timeout.is_some() || self.max_lifetime.is_some()
    }

    fn build(self, builder: resourcepool::PoolBuilder, ticks: &Arc<AtomicU64>) -> Pool {
        let duration = |ticks: u64| TICK * u32::try_from(ticks).unwrap();
        let mut builder = builder;
        if let Some(timeout) = self.idle_timeout {
            builder = builder.idle_timeout(duration(timeout));
        }
        if let Some(lifetime) = self.max_lifetime {
            builder = builder.max_lifetime(duration(lifetime));
        }
        if let Some(after) = self.check_after_idle {
            builder = builder.check_after_idle(duration(after));
        }
        let start = Instant::now();
        let ticks = ticks.clone();
        builder
            .clock(move || start + TICK * u32::try_from(ticks.load(Ordering::SeqCst)).unwrap())
            .build()
    }
}

/// When a put hands its item to the longest waiting get
/// (`PoolBuilder::handoff_after`): the two settings that read no clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handoff {
    /// `Duration::ZERO`: every put while a get waits that is not yet granted.
    Always,
    /// `Duration::MAX`: never.
    Never,
}

impl Handoff {
    fn after(self) -> Duration {
        match self {
            Handoff::Always => Duration::ZERO,
            Handoff::Never => Duration::MAX,
        }
    }
}

#[derive(Debug)]
struct Input {
    max: usize,
    handoff: Handoff,
    lifecycle: Lifecycle,
    ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        // The first byte: `max` (1 to 3, as `int_in_range(1..=3)` reads it)
        // and, in its top bit, the hand-over setting; the second, the
        // lifecycle settings (0: none).
        let first = u.int_in_range(0u8..=u8::MAX)?;
        let max = 1 + usize::from(first % 3);
        let handoff = if first & 0x80 != 0 {
            Handoff::Always
        } else {
            Handoff::Never
        };
        let lifecycle = Lifecycle::from_byte(u.arbitrary()?);
        let mut ops = Vec::new();
        for op in u.arbitrary_iter::<Op>()? {
            ops.push(op?);
            if ops.len() == MAX_OPS {
                break;
            }
        }
        Ok(Input {
            max,
            handoff,
            lifecycle,
            ops,
        })
    }
}

// ----------------------------------------------------------------------------
// The manager: counts live items, checks them against `max`, and does what the
// operations told it to.

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed on purpose")
    }
}

impl std::error::Error for Failed {}

/// An item: which resource, and which allocation of the run.
#[derive(Debug)]
struct Item {
    key: usize,
    serial: usize,
}

#[derive(Debug)]
struct ControlState {
    /// The pool's `max` now.
    max: usize,
    /// The most live items may be now: `max`, or after a shrink the larger
    /// of the old and the new `max`, until the live items fit again.
    ceiling: usize,
    /// Items from the start of `allocate` to the end of `release`, or of
    /// `shutdown` (its future completed or dropped).
    live: usize,
    /// Per allocation serial: whether `release` or `shutdown` was called
    /// for it.
    released: Vec<bool>,
    /// Per allocation serial: the resource it was allocated for.
    keys: Vec<usize>,
    next_allocate: [AllocateMode; MAX_RESOURCES],
    fail_next_release: [bool; MAX_RESOURCES],
    /// The result a pending `allocate` was told to return.
    gates: [Option<bool>; MAX_RESOURCES],
    next_check: [CheckMode; MAX_RESOURCES],
    /// The result a pending `check` was told to return.
    check_gates: [Option<bool>; MAX_RESOURCES],
    /// The serials of the items `check` was called for, in order.
    checked: Vec<usize>,
    next_shutdown: [ShutdownMode; MAX_RESOURCES],
    /// A pending `shutdown` was told to finish.
    shutdown_gates: [bool; MAX_RESOURCES],
    /// Per resource: its item's `shutdown` runs (until its future completes
    /// or is dropped), for the get of the resource given (the one polled).
    shutting_down: [Option<Option<usize>>; MAX_RESOURCES],
    /// The resource of the task being polled, if any.
    polling: Option<usize>,
}

/// What all managers of one run share, and their pool (to check its stats
/// from inside `allocate` and `release`).
#[derive(Debug)]
struct Control {
    state: Mutex<ControlState>,
    pool: Pool,
    /// The pool's clock, in ticks.
    ticks: Arc<AtomicU64>,
}

impl Control {
    fn new(max: usize, handoff: Handoff, lifecycle: Lifecycle) -> Arc<Control> {
        let ticks = Arc::new(AtomicU64::new(0));
        let builder = Pool::builder(max).handoff_after(handoff.after());
        Arc::new(Control {
            pool: lifecycle.build(builder, &ticks),
            ticks,
            state: Mutex::new(ControlState {
                max,
                ceiling: max,
                live: 0,
                released: Vec::new(),
                keys: Vec::new(),
                next_allocate: [AllocateMode::Succeed; MAX_RESOURCES],
                fail_next_release: [false; MAX_RESOURCES],
                gates: [None; MAX_RESOURCES],
                next_check: [CheckMode::Pass; MAX_RESOURCES],
                check_gates: [None; MAX_RESOURCES],
                checked: Vec::new(),
                next_shutdown: [ShutdownMode::Immediate; MAX_RESOURCES],
                shutdown_gates: [false; MAX_RESOURCES],
                shutting_down: [None; MAX_RESOURCES],
                polling: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock().unwrap()
    }
}

struct Manager {
    key: usize,
    control: Arc<Control>,
}

/// An `allocate` in progress: counts as live until it returns an item, fails,
/// or is dropped.
struct Allocation<'a> {
    manager: &'a Manager,
    finished: bool,
}

impl Allocation<'_> {
    fn finish(mut self, ok: bool) -> Result<Item, Failed> {
        self.finished = true;
        let mut control = self.manager.control.lock();
        if !ok {
            control.live -= 1;
            return Err(Failed);
        }
        control.released.push(false);
        control.keys.push(self.manager.key);
        Ok(Item {
            key: self.manager.key,
            serial: control.released.len() - 1,
        })
    }
}

impl Drop for Allocation<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let mut control = self.manager.control.lock();
            control.live -= 1;
            control.gates[self.manager.key] = None;
        }
    }
}

/// Waits until `CompleteAllocate` opens the resource's gate. Wakes nobody:
/// the harness polls.
struct Gate<'a>(&'a Manager);

impl Future for Gate<'_> {
    type Output = bool;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<bool> {
        match self.0.control.lock().gates[self.0.key].take() {
            Some(ok) => Poll::Ready(ok),
            None => Poll::Pending,
        }
    }
}

/// Waits until `CompleteCheck` opens the resource's check gate. Wakes nobody.
struct CheckGate<'a>(&'a Manager);

impl Future for CheckGate<'_> {
    type Output = bool;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<bool> {
        match self.0.control.lock().check_gates[self.0.key].take() {
            Some(ok) => Poll::Ready(ok),
            None => Poll::Pending,
        }
    }
}

impl Drop for CheckGate<'_> {
    fn drop(&mut self) {
        // A check dropped before its gate opened leaves no stale gate.
        self.0.control.lock().check_gates[self.0.key] = None;
    }
}

/// Waits until `CompleteShutdown` opens the resource's shutdown gate. Wakes
/// nobody.
struct ShutdownGate<'a>(&'a Manager);

impl Future for ShutdownGate<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if std::mem::take(&mut self.0.control.lock().shutdown_gates[self.0.key]) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A `shutdown` in progress: its item counts as live until it completes, or
/// its future is dropped (with the item) or panics.
struct ShutdownRun<'a> {
    manager: &'a Manager,
    item: Option<Item>,
}

impl Drop for ShutdownRun<'_> {
    fn drop(&mut self) {
        let mut control = self.manager.control.lock();
        control.live -= 1;
        control.shutting_down[self.manager.key] = None;
        control.shutdown_gates[self.manager.key] = false;
        drop(self.item.take());
    }
}

/// The payload of a `check` or `shutdown` that panics on purpose (the panic hook stays
/// quiet about it, and the harness catches it).
struct ScriptedPanic;

/// Keeps the panic hook quiet about `ScriptedPanic`, and only about it (every
/// other panic still aborts the run as libFuzzer's hook makes it).
fn quiet_scripted_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<ScriptedPanic>().is_none() {
                previous(info);
            }
        }));
    });
}

impl AllocateRelease for Manager {
    type Item = Item;
    type Error = Failed;

    async fn allocate(&self) -> Result<Item, Failed> {
        // SPEC: an item is counted in `allocating` while it is being allocated.
        assert!(self.control.pool.stats().allocating >= 1);
        // SPEC: once closed, the pool allocates nothing (only an `allocate`
        // in flight at the close finishes).
        assert!(
            !self.control.pool.is_closed(),
            "an allocation starts in a closed pool"
        );
        let mode = {
            let mut control = self.control.lock();
            control.live += 1;
            // SPEC: live items never exceed `max` (after a shrink, the larger
            // of the old and the new one), and no allocation starts while
            // they would exceed the new one.
            assert!(
                control.live <= control.max,
                "an allocation starts with {} live items (this one included), max {}",
                control.live,
                control.max
            );
            // SPEC: no allocation starts while the shutdown whose charge it
            // takes runs (the get's own item, or the one it evicted or was
            // handed), nor while this resource's item is shut down.
            assert!(
                !control.shutting_down.contains(&Some(Some(self.key))),
                "r{} allocates while the shutdown that frees its charge runs",
                self.key
            );
            assert!(
                control.shutting_down[self.key].is_none(),
                "r{} allocates while its previous item is shut down",
                self.key
            );
            // SPEC: at most one live item per resource; one whose item is
            // still being released allocates anew only once that returned.
            let previous = control
                .keys
                .iter()
                .zip(&control.released)
                .any(|(&key, &released)| key == self.key && !released);
            assert!(
                !previous,
                "r{} allocates while its previous item is not released",
                self.key
            );
            std::mem::replace(&mut control.next_allocate[self.key], AllocateMode::Succeed)
        };
        let allocation = Allocation {
            manager: self,
            finished: false,
        };
        let ok = match mode {
            AllocateMode::Succeed => true,
            AllocateMode::Fail => false,
            AllocateMode::Pending => Gate(self).await,
        };
        allocation.finish(ok)
    }

    async fn check(&self, item: &mut Item) -> Result<(), Failed> {
        // SPEC: the item checked is this resource's, held by the get.
        assert_eq!(item.key, self.key, "checked another resource's item");
        assert!(self.control.pool.stats().in_use >= 1);
        let mode = {
            let mut control = self.control.lock();
            assert!(!control.released[item.serial], "a released item checked");
            control.checked.push(item.serial);
            std::mem::replace(&mut control.next_check[self.key], CheckMode::Pass)
        };
        let ok = match mode {
            CheckMode::Pass => true,
            CheckMode::Fail => false,
            CheckMode::Panic => std::panic::panic_any(ScriptedPanic),
            CheckMode::Pending => CheckGate(self).await,
        };
        if ok {
            Ok(())
        } else {
            Err(Failed)
        }
    }

    async fn shutdown(&self, item: Item) -> Result<(), Failed> {
        // SPEC: an item is counted in `releasing` while it is shut down.
        assert!(self.control.pool.stats().releasing >= 1);
        let mode = {
            let mut control = self.control.lock();
            assert_eq!(item.key, self.key, "shut down another resource's item");
            assert!(
                !std::mem::replace(&mut control.released[item.serial], true),
                "item {} given to release or shutdown twice",
                item.serial
            );
            assert!(control.shutting_down[self.key].is_none());
            control.shutting_down[self.key] = Some(control.polling);
            std::mem::replace(
                &mut control.next_shutdown[self.key],
                ShutdownMode::Immediate,
            )
        };
        let running = ShutdownRun {
            manager: self,
            item: Some(item),
        };
        match mode {
            ShutdownMode::Immediate => {}
            ShutdownMode::Pending => ShutdownGate(self).await,
            ShutdownMode::Panic => std::panic::panic_any(ScriptedPanic),
        }
        drop(running);
        Ok(())
    }

    fn release(&self, item: Item) -> Result<(), Failed> {
        // SPEC: an item is counted in `releasing` while it is being released.
        assert!(self.control.pool.stats().releasing >= 1);
        let mut control = self.control.lock();
        assert_eq!(item.key, self.key, "released another resource's item");
        assert!(
            !std::mem::replace(&mut control.released[item.serial], true),
            "item {} given to release or shutdown twice",
            item.serial
        );
        control.live -= 1;
        if std::mem::take(&mut control.fail_next_release[self.key]) {
            Err(Failed)
        } else {
            Ok(())
        }
    }
}

// ----------------------------------------------------------------------------
// Tasks, as the crate sees them.

/// Which error a get failed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ErrorKind {
    PutTimeout,
    ResourceLimitExceeded,
    Allocate,
    Closed,
}

/// What the guard holder was told to do.
#[derive(Clone, Copy, Debug)]
enum Command {
    Put,
    Release,
}

/// How the harness talks to one task.
#[derive(Default)]
struct TaskControl {
    cancelled: Cell<bool>,
    command: Cell<Option<Command>>,
    /// The serial of the item the get returned, until the harness reads it.
    got: Cell<Option<usize>>,
}

/// Completes once the harness cancels. Wakes nobody.
struct CancelSignal(Rc<TaskControl>);

impl Future for CancelSignal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0.cancelled.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Completes once the harness tells the holder what to do. Wakes nobody.
struct CommandSignal(Rc<TaskControl>);

impl Future for CommandSignal {
    type Output = Command;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Command> {
        match self.0.command.take() {
            Some(command) => Poll::Ready(command),
            None => Poll::Pending,
        }
    }
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Failed(ErrorKind),
    Put,
    Released {
        ok: bool,
    },
    /// The get panicked: its `check` did.
    Panicked,
}

/// What one operation on a task showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Observed {
    Pending,
    Got { serial: usize },
    Ended(End),
}

/// Records whether the task was woken since its last poll.
#[derive(Default)]
struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Task {
    future: Pin<Box<dyn Future<Output = End>>>,
    control: Rc<TaskControl>,
    woken: Arc<WakeFlag>,
    resource: usize,
    /// The get returned a guard that the task still holds.
    holding: bool,
}

fn spawn(
    handle: Resource<Manager>,
    kind: GetKind,
    control: Rc<TaskControl>,
) -> Pin<Box<dyn Future<Output = End>>> {
    Box::pin(async move {
        let result = match kind {
            GetKind::Get => handle.get().await,
            GetKind::TryGet => handle.try_get().await,
            GetKind::GetOrCancel => handle.get_or_cancel(CancelSignal(control.clone())).await,
        };
        let guard = match result {
            Ok(guard) => guard,
            Err(Error::PutTimeout) => return End::Failed(ErrorKind::PutTimeout),
            Err(Error::ResourceLimitExceeded) => {
                return End::Failed(ErrorKind::ResourceLimitExceeded)
            }
            Err(Error::Allocate(Failed)) => return End::Failed(ErrorKind::Allocate),
            Err(Error::Closed) => return End::Failed(ErrorKind::Closed),
            Err(other) => panic!("an error SPEC.md does not name: {other:?}"),
        };
        assert_eq!(
            guard.key,
            guard.resource().manager().key,
            "another resource's item"
        );
        control.got.set(Some(guard.serial));
        match CommandSignal(control.clone()).await {
            Command::Put => {
                drop(guard);
                End::Put
            }
            Command::Release => End::Released {
                ok: guard.release().is_ok(),
            },
        }
    })
}

/// The crate's side of a run.
struct Actual {
    pool: Pool,
    control: Arc<Control>,
    /// The harness's own handles, per resource.
    handles: Vec<Vec<Resource<Manager>>>,
    tasks: Vec<Task>,
    /// A `drained()` future started while charges were taken, polled after
    /// every operation until it resolves, and whether it was woken since.
    drained: Option<(Drained, Arc<WakeFlag>)>,
}

/// A pending `Pool::drained()`.
type Drained = Pin<Box<dyn Future<Output = ()>>>;

impl Actual {
    fn start(&mut self, resource: usize, kind: GetKind) -> Observed {
        let control = Rc::new(TaskControl::default());
        let handle = self.handles[resource][0].clone();
        self.tasks.push(Task {
            future: spawn(handle, kind, control.clone()),
            control,
            woken: Arc::default(),
            resource,
            holding: false,
        });
        self.poll(self.tasks.len() - 1)
    }

    fn poll(&mut self, index: usize) -> Observed {
        let task = &mut self.tasks[index];
        task.woken.0.store(false, Ordering::SeqCst);
        let waker = Waker::from(task.woken.clone());
        self.control.lock().polling = Some(task.resource);
        let polled = catch_unwind(AssertUnwindSafe(|| {
            task.future.as_mut().poll(&mut Context::from_waker(&waker))
        }));
        self.control.lock().polling = None;
        let polled = match polled {
            Ok(polled) => polled,
            // Only a `check` panics on purpose; any other panic is a failure.
            Err(payload) if payload.is::<ScriptedPanic>() => {
                drop(self.tasks.remove(index));
                return Observed::Ended(End::Panicked);
            }
            Err(payload) => resume_unwind(payload),
        };
        match polled {
            Poll::Ready(end) => {
                drop(self.tasks.remove(index));
                Observed::Ended(end)
            }
            Poll::Pending => match task.control.got.take() {
                Some(serial) => {
                    task.holding = true;
                    Observed::Got { serial }
                }
                None => Observed::Pending,
            },
        }
    }

    fn command(&mut self, index: usize, command: Command) -> Observed {
        self.tasks[index].control.command.set(Some(command));
        self.poll(index)
    }

    fn was_woken(&self, index: usize) -> bool {
        self.tasks[index].woken.0.load(Ordering::SeqCst)
    }

    /// Polls the `drained()` future kept across operations, starting one if
    /// there is none: whether it resolved, and whether it had been woken
    /// since its last poll.
    fn poll_drained(&mut self) -> (bool, bool) {
        let (future, woken) = self.drained.get_or_insert_with(|| {
            let flag = Arc::new(WakeFlag::default());
            (Box::pin(self.pool.drained()), flag)
        });
        let was_woken = woken.0.swap(false, Ordering::SeqCst);
        let waker = Waker::from(woken.clone());
        let ready = future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        if ready {
            self.drained = None;
        }
        (ready, was_woken)
    }
}

// ----------------------------------------------------------------------------
// The model.

/// event-listener's list, as far as the crate uses it for a resource's
/// `changed` event (hold waiters, and the holder waiting for its own
/// release): listeners in the order they were created;
/// `notify(1.additional())` (the hold let go) notifies the first one not yet
/// notified; `notify(usize::MAX)` (a release its holder waits for) notifies
/// every one; a notified listener dropped before it was consumed passes its
/// notification on: an additional one to the next listener not yet notified,
/// the other kind only if no listener is notified then.
#[derive(Debug, Default)]
struct Listeners {
    /// (listener id, `Some(additional)` once notified)
    entries: Vec<(u64, Option<bool>)>,
}

impl Listeners {
    fn listen(&mut self, next_id: &mut u64) -> u64 {
        *next_id += 1;
        self.entries.push((*next_id, None));
        *next_id
    }

    /// Notifies the first listener not notified yet (`notify(1.additional())`);
    /// false if there is none.
    fn notify_one(&mut self) -> bool {
        self.notify_first(true)
    }

    fn notify_first(&mut self, additional: bool) -> bool {
        match self
            .entries
            .iter_mut()
            .find(|(_, notified)| notified.is_none())
        {
            Some(entry) => {
                entry.1 = Some(additional);
                true
            }
            None => false,
        }
    }

    /// Notifies every listener (`notify(usize::MAX)`).
    fn notify_all(&mut self) {
        for entry in &mut self.entries {
            entry.1.get_or_insert(false);
        }
    }

    fn position(&self, id: u64) -> usize {
        self.entries
            .iter()
            .position(|&(entry, _)| entry == id)
            .expect("the model lost a listener")
    }

    fn is_notified(&self, id: u64) -> bool {
        self.entries[self.position(id)].1.is_some()
    }

    /// The listener is polled: if notified, it completes and leaves the list.
    fn consume(&mut self, id: u64) -> bool {
        let index = self.position(id);
        let notified = self.entries[index].1.is_some();
        if notified {
            self.entries.remove(index);
        }
        notified
    }

    /// The listener is dropped.
    fn drop_listener(&mut self, id: u64) {
        match self.entries.remove(self.position(id)).1 {
            None => {}
            Some(true) => {
                self.notify_one();
            }
            // `notify(1)`: only if no listener is notified now.
            Some(false) => {
                if self.entries.iter().all(|(_, notified)| notified.is_none()) {
                    self.notify_first(false);
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Unallocated,
    Allocating,
    Allocated {
        serial: usize,
    },
    /// A put handed the item over: taken out of the slot (RELEASING), still
    /// charged, granted to a capacity waiter, which releases it.
    HandedOver {
        serial: usize,
    },
    /// A get shuts the item down to take its charge (an eviction, a
    /// hand-over it took, its own item replaced): taken out of the slot
    /// (RELEASING), still charged, until its `shutdown` completes.
    ShuttingDown {
        serial: usize,
    },
}

#[derive(Debug)]
struct ModelResource {
    /// Handles the harness holds.
    handles: usize,
    /// Tasks, each holding a handle of its own.
    tasks: usize,
    /// Not yet dropped (some handle exists).
    alive: bool,
    /// A holder exists, or the hold is on its way to a hold waiter.
    held: bool,
    /// The holder let go while gets waited for the hold.
    handoff: bool,
    phase: Phase,
    /// An entry for it is in the idle set.
    queued: bool,
    /// Its latest put, on the idle set's clock.
    put_time: u64,
    /// Lifecycle stamps, in ticks: when its item's `allocate` returned, and
    /// its latest put that kept the item.
    born: u64,
    idle_since: u64,
    next_check: CheckMode,
    next_shutdown: ShutdownMode,
    release_on_put: bool,
    /// Its holder waits for the release of its handed-over item
    /// (RELEASE_WAITER): that release notifies every listener.
    release_waiter: bool,
    /// Gets counted as waiting for the hold.
    hold_waiters: usize,
    hold_listeners: Listeners,
    next_allocate: AllocateMode,
    fail_next_release: bool,
}

impl ModelResource {
    fn new() -> Self {
        ModelResource {
            handles: 1,
            tasks: 0,
            alive: true,
            held: false,
            handoff: false,
            phase: Phase::Unallocated,
            queued: false,
            put_time: 0,
            born: 0,
            idle_since: 0,
            next_check: CheckMode::Pass,
            next_shutdown: ShutdownMode::Immediate,
            release_on_put: false,
            release_waiter: false,
            hold_waiters: 0,
            hold_listeners: Listeners::default(),
            next_allocate: AllocateMode::Succeed,
            fail_next_release: false,
        }
    }

    fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Allocated { .. }) && !self.held
    }

    /// Its item is taken out and not yet released or shut down.
    fn is_releasing(&self) -> bool {
        matches!(
            self.phase,
            Phase::HandedOver { .. } | Phase::ShuttingDown { .. }
        )
    }

    fn serial(&self) -> usize {
        match self.phase {
            Phase::Allocated { serial } => serial,
            phase => panic!("the model expected an item, found {phase:?}"),
        }
    }

    /// The holder lets go: to the hold waiters if any.
    fn let_go(&mut self) {
        if self.hold_waiters > 0 {
            self.handoff = true;
        } else {
            self.held = false;
        }
    }
}

/// Capacity granted to one waiter alone (`waiters.rs`, `Offer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Offer {
    /// A freed charge.
    Charge,
    /// A put's item (its resource is `HandedOver`), with its charge.
    Item { resource: usize },
}

/// Where a capacity waiter stands (`waiters.rs`, `Phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WaitPhase {
    /// Asleep (its waker stored), until notified or granted.
    Waiting,
    /// An idle entry or a free charge appeared: it looks once more.
    Notified,
    Granted(Offer),
    /// The pool was closed (`WaitQueue::close`): its next look fails it with
    /// `Closed`. What had been granted to it went back at the close.
    Closed,
}

/// One entry of the pool's wait queue.
#[derive(Debug)]
struct Waiter {
    ticket: u64,
    phase: WaitPhase,
}

/// Where a task's get stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaskState {
    /// Counted among the hold waiters.
    WaitHold { listener: u64 },
    /// Holds the hold; the resource's previous item, handed over by a put, is
    /// not released yet (phase 2: it listens to the resource's `changed`
    /// event, which the release notifies).
    WaitOwnRelease { listener: u64 },
    /// Holds the hold, in the pool's wait queue. `yielding`: it was woken
    /// by a notification while not due a hand-off (`handoff_after(MAX)`), and
    /// yielded once (`yield_now`: it woke itself and returned `Pending`); its
    /// next poll looks for capacity, whatever its phase or its cancel.
    WaitCapacity { ticket: u64, yielding: bool },
    /// Holds the hold and a charge, inside a pending `allocate`.
    Allocating { gate: Option<bool> },
    /// Holds its resource's item, which it reuses, inside a pending `check`.
    Checking { serial: usize, gate: Option<bool> },
    /// Holds the hold, inside a pending `shutdown` of `victim`'s item (its
    /// own, or one it evicted or was handed), whose charge it then takes.
    /// `gate`: `CompleteShutdown` let it finish.
    ShuttingDown { victim: usize, gate: bool },
    /// Holds a guard.
    Holding { serial: usize },
}

#[derive(Debug)]
struct ModelTask {
    resource: usize,
    kind: GetKind,
    cancelled: bool,
    state: TaskState,
    /// Its cancel future, which `acquire` joins with the pool's `closed()`,
    /// was polled while it had to wait (a hold wait, the wait for its own
    /// release, or just before it joined the wait queue): `closed()` then
    /// listens to the pool's `closing` event until the get returns, so the
    /// close wakes it, even inside `allocate`.
    listens_for_close: bool,
    /// The close woke it (it listened), and it was not polled since.
    woken_by_close: bool,
    /// Where it stood when the pool was closed, if it was in flight then.
    at_close: Option<AtClose>,
}

/// Where a get in flight stood at the close (for the SPEC checks of its end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AtClose {
    /// Waiting for the hold or for capacity: it must fail with `Closed`.
    Waiting,
    /// Inside `allocate`: it finishes, and returns its guard if it succeeds.
    Allocating,
    /// Inside `check`: it finishes.
    Checking,
    /// Inside `shutdown`: it finishes, and the get then fails with `Closed`.
    ShuttingDown,
}

/// Where a get went in one poll.
enum Step {
    Pending(TaskState),
    Got(usize),
    Failed(ErrorKind),
    /// Its `check` panicked.
    Panicked,
}

/// Capacity a get found: a charge, or an item to shut down (evicted, or
/// handed over to it) whose charge it takes.
enum Found {
    Charge,
    Item(usize),
}

/// What a get does with the idle item it reuses (`lifecycle.rs`, `Verdict`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Reuse,
    Check,
    Expired,
}

#[derive(Debug)]
struct Model {
    max: usize,
    handoff: Handoff,
    /// Charges taken, granted ones included (a granted item keeps its charge).
    used: usize,
    /// The wait queue, in arrival (ticket) order.
    queue: Vec<Waiter>,
    next_ticket: u64,
    /// Put times are taken from here.
    clock: u64,
    /// The idle set: (put time of the entry, resource index), at most one
    /// entry per resource.
    idle_set: Vec<(u64, usize)>,
    next_listener_id: u64,
    /// Per allocation serial: whether it was released.
    released: Vec<bool>,
    resources: Vec<ModelResource>,
    tasks: Vec<ModelTask>,
    /// `Pool::close` was called.
    closed: bool,
    /// `stats().totals` (allocations: `released.len()`).
    totals: ModelTotals,
    lifecycle: Lifecycle,
    /// The lifecycle's clock, in ticks.
    now: u64,
    /// The serials of the items checked, in order.
    checked: Vec<usize>,
}

/// The totals the model counts: why each item left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ModelTotals {
    allocations: u64,
    evictions: u64,
    handoffs: u64,
    released: u64,
    shed: u64,
    expired: u64,
    check_failures: u64,
}

/// Why a holder's item is released: the total it counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Released,
    Shed,
    Expired,
    CheckFailure,
}

impl Model {
    fn new(max: usize, handoff: Handoff, lifecycle: Lifecycle) -> Self {
        Model {
            max,
            handoff,
            used: 0,
            queue: Vec::new(),
            next_ticket: 0,
            clock: 0,
            idle_set: Vec::new(),
            next_listener_id: 0,
            released: Vec::new(),
            resources: Vec::new(),
            tasks: Vec::new(),
            closed: false,
            totals: ModelTotals::default(),
            lifecycle,
            now: 0,
            checked: Vec::new(),
        }
    }

    /// (in_use, idle, allocating, releasing)
    fn stats(&self) -> (usize, usize, usize, usize) {
        let allocating = self
            .tasks
            .iter()
            .filter(|task| matches!(task.state, TaskState::Allocating { .. }))
            .count();
        let allocated = |r: &&ModelResource| matches!(r.phase, Phase::Allocated { .. });
        let in_use = self
            .resources
            .iter()
            .filter(allocated)
            .filter(|r| r.held)
            .count();
        let idle = self
            .resources
            .iter()
            .filter(allocated)
            .filter(|r| !r.held)
            .count();
        let releasing = self.resources.iter().filter(|r| r.is_releasing()).count();
        (in_use + allocating, idle, allocating, releasing)
    }

    fn cancel_is_ready(&self, task: usize) -> bool {
        match self.tasks[task].kind {
            GetKind::Get => false,
            GetKind::TryGet => true,
            GetKind::GetOrCancel => self.tasks[task].cancelled,
        }
    }

    fn release(&mut self, resource: usize, serial: usize) -> bool {
        assert!(!std::mem::replace(&mut self.released[serial], true));
        !std::mem::take(&mut self.resources[resource].fail_next_release)
    }

    /// A get starts to shut `victim`'s item down (`take_for_shutdown`): it
    /// leaves with it (RELEASING, still charged) and is given to `shutdown`,
    /// which does not call `release` (nor fail it). Immediate, the get goes
    /// on in the same poll; pending, it waits for `CompleteShutdown`; a
    /// panic drops the item and ends the get.
    fn shut_down(&mut self, task: usize, victim: usize) -> Step {
        let resource = &mut self.resources[victim];
        let serial = match resource.phase {
            Phase::Allocated { serial } | Phase::HandedOver { serial } => serial,
            phase => panic!("the model shuts down r{victim}'s item, found {phase:?}"),
        };
        resource.phase = Phase::ShuttingDown { serial };
        let mode = std::mem::replace(&mut resource.next_shutdown, ShutdownMode::Immediate);
        assert!(!std::mem::replace(&mut self.released[serial], true));
        match mode {
            ShutdownMode::Immediate => self.shutdown_done(task, victim),
            ShutdownMode::Pending => Step::Pending(TaskState::ShuttingDown {
                victim,
                gate: false,
            }),
            ShutdownMode::Panic => {
                self.drop_shutdown(task, victim);
                Step::Panicked
            }
        }
    }

    /// `Released` dropped: the victim's item is gone (RELEASING cleared); a
    /// holder that waited for that (RELEASE_WAITER, set even if that holder
    /// is gone since) is notified, with every listener of `changed`.
    fn shutdown_released(&mut self, victim: usize) {
        let resource = &mut self.resources[victim];
        assert!(matches!(resource.phase, Phase::ShuttingDown { .. }));
        resource.phase = Phase::Unallocated;
        if std::mem::take(&mut resource.release_waiter) {
            resource.hold_listeners.notify_all();
        }
    }

    /// The shutdown completed: its charge is the get's. Unless the pool was
    /// closed meanwhile (the charge is freed and the get fails with
    /// `Closed`) or the charges exceed a shrunk `max` (the charge is freed
    /// and the get looks for capacity, and waits, as any holder without an
    /// item), it allocates (`Resource::acquire_cold`).
    fn shutdown_done(&mut self, task: usize, victim: usize) -> Step {
        self.shutdown_released(victim);
        let own = self.tasks[task].resource;
        if self.closed {
            self.free_charge();
            self.unhold(own, false);
            return Step::Failed(ErrorKind::Closed);
        }
        if self.over_max() {
            self.free_charge();
            return self.acquire_capacity(task);
        }
        self.allocate(task)
    }

    /// The shutdown's future is dropped (the get dropped) or panicked: the
    /// item goes with it, `Released` frees the charge (to the first waiter
    /// not yet granted, or to the pool), and `Holding` lets go of the hold.
    fn drop_shutdown(&mut self, task: usize, victim: usize) {
        self.shutdown_released(victim);
        self.free_charge();
        self.unhold(self.tasks[task].resource, false);
    }

    // The wait queue (`waiters.rs`) and the charges (`pool.rs`).

    fn waiter(&self, ticket: u64) -> usize {
        self.queue
            .iter()
            .position(|waiter| waiter.ticket == ticket)
            .expect("the model lost a waiter")
    }

    fn phase(&self, ticket: u64) -> WaitPhase {
        self.queue[self.waiter(ticket)].phase
    }

    /// The first waiter not yet granted: the one a grant or a hand-over serves.
    fn first_ungranted(&self) -> Option<usize> {
        self.queue
            .iter()
            .position(|waiter| matches!(waiter.phase, WaitPhase::Waiting | WaitPhase::Notified))
    }

    /// Wakes the first waiter still asleep; false if there is none.
    fn notify_one(&mut self) -> bool {
        match self
            .queue
            .iter_mut()
            .find(|waiter| waiter.phase == WaitPhase::Waiting)
        {
            Some(waiter) => {
                waiter.phase = WaitPhase::Notified;
                true
            }
            None => false,
        }
    }

    /// `PoolInner::wake_a_waiter`: after capacity was made without a grant.
    fn wake_a_waiter(&mut self) {
        if !self.queue.is_empty() {
            self.notify_one();
        }
    }

    /// Hands `offer` to the first waiter not yet granted; one that was
    /// notified passes its notification on. Gives it back if there is none,
    /// or if the pool was closed.
    fn grant(&mut self, offer: Offer) -> Result<(), Offer> {
        if self.closed {
            return Err(offer);
        }
        let Some(index) = self.first_ungranted() else {
            return Err(offer);
        };
        let waiter = &mut self.queue[index];
        let was_notified = waiter.phase == WaitPhase::Notified;
        waiter.phase = WaitPhase::Granted(offer);
        if was_notified {
            self.notify_one();
        }
        Ok(())
    }

    /// A charge whose item was released (or never allocated): to the first
    /// waiter not yet granted, else back to the pool.
    fn free_charge(&mut self) {
        // Nothing is granted while the charges exceed a shrunk `max`.
        if !self.queue.is_empty() && !self.over_max() && self.grant(Offer::Charge).is_ok() {
            return;
        }
        self.return_charge();
    }

    /// More charges are taken than `max` allows (after a shrink): puts shed
    /// their items, and no allocation starts (`PoolInner::over_max`).
    fn over_max(&self) -> bool {
        self.used > self.max
    }

    fn return_charge(&mut self) {
        self.used -= 1;
        self.wake_a_waiter();
    }

    /// A free charge, or an idle victim evicted (and released), for a get of
    /// resource `own`. `others_wait`: whether gets other than this one wait
    /// for capacity (`PoolInner::take_free_charge_or_victim`).
    fn take_free_charge_or_victim(&mut self, own: usize, others_wait: bool) -> Option<Found> {
        if self.used < self.max {
            self.used += 1;
            return Some(Found::Charge);
        }
        if self.over_max() {
            // No allocation starts until the charges fit a shrunk `max`.
            return None;
        }
        self.evict_one(own, others_wait).map(Found::Item)
    }

    /// Exact LRU: takes entries, earliest put time first, until an idle
    /// resource whose entry is for its latest put is claimed. An entry of a
    /// resource put again since goes back with the newer time; an entry of a
    /// resource that is not idle is dropped. The evicting get's resource `own`
    /// is queued ahead of its first put (with a fresh time from the clock),
    /// unless it has an entry already, and only if no other get waits for
    /// capacity (`IdleSet::take_least_recently_used`, `others_wait`): then
    /// its put adds the entry and wakes a waiter.
    fn evict_one(&mut self, own: usize, others_wait: bool) -> Option<usize> {
        let index = self.claim_least_recently_used()?;
        self.totals.evictions += 1;
        if !others_wait {
            let put_time = self.clock;
            self.clock += 1;
            let evictor = &mut self.resources[own];
            if !evictor.queued {
                evictor.queued = true;
                evictor.put_time = put_time;
                self.idle_set.push((put_time, own));
            }
        }
        // The evicting get shuts the item down; its charge is then the get's.
        Some(index)
    }

    /// Takes idle-set entries, earliest put time first, until it claims the
    /// least recently put idle resource (see `evict_one`); `None` if no
    /// resource is idle. The caller releases the item.
    fn claim_least_recently_used(&mut self) -> Option<usize> {
        let mut victim = None;
        while let Some(earliest) = (0..self.idle_set.len()).min_by_key(|&i| self.idle_set[i].0) {
            let (entry_time, index) = self.idle_set.swap_remove(earliest);
            let resource = &mut self.resources[index];
            if !resource.alive {
                continue;
            }
            if !resource.is_idle() {
                resource.queued = false;
            } else if resource.put_time != entry_time {
                self.idle_set.push((resource.put_time, index));
            } else {
                let latest_puts = self.resources.iter().filter(|r| r.alive && r.is_idle());
                assert_eq!(
                    latest_puts.map(|r| r.put_time).min(),
                    Some(self.resources[index].put_time),
                    "SPEC: the least recently put idle resource is evicted"
                );
                let resource = &mut self.resources[index];
                resource.queued = false;
                resource.release_on_put = false;
                victim = Some(index);
                break;
            }
        }
        victim
    }

    /// A granted item is released by the waiter that took it (or that left
    /// with nobody to pass it to); its error goes nowhere.
    fn release_handed_over(&mut self, index: usize) {
        let Phase::HandedOver { serial } = self.resources[index].phase else {
            panic!(
                "the model granted r{index}'s item, found {:?}",
                self.resources[index].phase
            );
        };
        self.release(index, serial);
        self.resources[index].phase = Phase::Unallocated;
        // `Released`: a holder waited for this release (RELEASE_WAITER, set
        // even if that holder is gone since), and the `changed` event wakes
        // every listener.
        let resource = &mut self.resources[index];
        if std::mem::take(&mut resource.release_waiter) {
            resource.hold_listeners.notify_all();
        }
    }

    /// A get starts waiting (`CapacityWait::join`).
    fn join(&mut self) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push(Waiter {
            ticket,
            phase: WaitPhase::Waiting,
        });
        ticket
    }

    /// `CapacityWait::look`: takes what was granted to it, else a free charge
    /// or an idle victim (others wait if the queue holds more than this
    /// waiter); leaves the queue if it found capacity, else goes back to sleep.
    /// Returns whether it found capacity.
    fn look(&mut self, task: usize, ticket: u64) -> Option<Found> {
        let own = self.tasks[task].resource;
        let index = self.waiter(ticket);
        if let WaitPhase::Granted(offer) = self.queue[index].phase {
            self.queue.remove(index);
            return Some(match offer {
                Offer::Charge => Found::Charge,
                // The granted item is shut down by this get.
                Offer::Item { resource } => Found::Item(resource),
            });
        }
        let others_wait = self.queue.len() > 1;
        if let Some(found) = self.take_free_charge_or_victim(own, others_wait) {
            self.queue.remove(index);
            return Some(found);
        }
        let waiter = &mut self.queue[index];
        if waiter.phase == WaitPhase::Notified {
            waiter.phase = WaitPhase::Waiting;
        }
        None
    }

    /// A waiter gives up (`CapacityWait` dropped): a grant passes to the next
    /// waiter not yet granted, or is freed (an item released first); a
    /// notification passes to the next waiter asleep.
    fn leave_unserved(&mut self, ticket: u64) {
        let waiter = self.queue.remove(self.waiter(ticket));
        let unused = match waiter.phase {
            WaitPhase::Granted(offer) => self.grant(offer).err(),
            WaitPhase::Notified => {
                self.notify_one();
                None
            }
            WaitPhase::Waiting | WaitPhase::Closed => None,
        };
        match unused {
            None => {}
            Some(Offer::Charge) => self.return_charge(),
            Some(Offer::Item { resource }) => {
                self.release_handed_over(resource);
                self.free_charge();
            }
        }
    }

    // The hold, put and release.

    /// A holder without an item lets go (`Holding` dropped).
    fn unhold(&mut self, index: usize, charged: bool) {
        let resource = &mut self.resources[index];
        if charged {
            resource.phase = Phase::Unallocated;
            resource.release_on_put = false;
        }
        let wake = resource.hold_waiters > 0;
        resource.let_go();
        if charged {
            self.free_charge();
        }
        if wake {
            self.resources[index].hold_listeners.notify_one();
        }
    }

    /// The holder of an item lets go and releases it; returns `release`'s verdict.
    fn release_held(&mut self, index: usize, why: Why) -> bool {
        self.count(why);
        let resource = &mut self.resources[index];
        let serial = resource.serial();
        resource.release_on_put = false;
        resource.let_go();
        if resource.hold_waiters > 0 {
            resource.hold_listeners.notify_one();
        }
        let ok = self.release(index, serial);
        self.resources[index].phase = Phase::Unallocated;
        self.free_charge();
        ok
    }

    fn count(&mut self, why: Why) {
        match why {
            Why::Released => self.totals.released += 1,
            Why::Shed => self.totals.shed += 1,
            Why::Expired => self.totals.expired += 1,
            Why::CheckFailure => self.totals.check_failures += 1,
        }
    }

    /// Whether a put now hands its item over (`Resource::put`,
    /// `PoolInner::hand_over`: not while the charges exceed a shrunk `max`).
    fn hands_over(&self) -> bool {
        self.handoff == Handoff::Always && self.first_ungranted().is_some() && !self.over_max()
    }

    /// Whether the item of resource `index` is past its `max_lifetime` now
    /// (`Lifecycle::outlived`, at its put).
    fn outlived(&self, index: usize) -> bool {
        self.lifecycle
            .max_lifetime
            .is_some_and(|lifetime| self.now - self.resources[index].born >= lifetime)
    }

    /// When the idle item of resource `index` expires (`u64::MAX`: never).
    fn expires_at(&self, index: usize) -> u64 {
        let resource = &self.resources[index];
        let idle = self
            .lifecycle
            .idle_timeout
            .map_or(u64::MAX, |timeout| resource.idle_since + timeout);
        let lifetime = self
            .lifecycle
            .max_lifetime
            .map_or(u64::MAX, |lifetime| resource.born + lifetime);
        idle.min(lifetime)
    }

    /// What a get that reuses the item of resource `index` does with it now
    /// (`Lifecycle::on_reuse`).
    fn verdict(&self, index: usize) -> Verdict {
        if self.expires_at(index) <= self.now {
            Verdict::Expired
        } else if self
            .lifecycle
            .check_after_idle
            .is_some_and(|after| self.now - self.resources[index].idle_since >= after)
        {
            Verdict::Check
        } else {
            Verdict::Reuse
        }
    }

    /// A guard is dropped.
    fn put(&mut self, index: usize) {
        if self.closed || self.over_max() {
            // `put_with_care`: a closed pool, or one whose charges exceed a
            // shrunk `max`, sheds the item (a release scheduled or not); the
            // hold passes, without it, to a hold waiter if any.
            self.release_held(index, Why::Shed);
            return;
        }
        if self.outlived(index) {
            // Past its lifetime: released at its put (a release scheduled
            // or not, a get waiting or not).
            self.release_held(index, Why::Expired);
            return;
        }
        if self.lifecycle.is_used() {
            self.resources[index].idle_since = self.now;
        }
        if self.hands_over() {
            // The item leaves the slot with its charge, for the first waiter
            // not yet granted; the hold is let go.
            let resource = &mut self.resources[index];
            resource.phase = Phase::HandedOver {
                serial: resource.serial(),
            };
            resource.release_on_put = false;
            let wake = resource.hold_waiters > 0;
            resource.let_go();
            self.grant(Offer::Item { resource: index })
                .expect("a waiter not yet granted");
            self.totals.handoffs += 1;
            if wake {
                self.resources[index].hold_listeners.notify_one();
            }
            return;
        }
        let resource = &mut self.resources[index];
        resource.put_time = self.clock;
        self.clock += 1;
        if resource.release_on_put {
            self.release_held(index, Why::Released);
        } else if resource.hold_waiters > 0 {
            resource.handoff = true;
            resource.hold_listeners.notify_one();
        } else {
            resource.held = false;
            if !resource.queued {
                resource.queued = true;
                self.idle_set.push((resource.put_time, index));
                // `push_idle`.
                if self.over_max() {
                    self.shed_excess();
                } else {
                    self.wake_a_waiter();
                }
            }
        }
    }

    /// A counted hold waiter gives up (`HoldWaiter` dropped).
    fn leave_hold_waiters(&mut self, index: usize) {
        let resource = &mut self.resources[index];
        resource.hold_waiters -= 1;
        if resource.hold_waiters == 0 && resource.handoff {
            // It took the orphaned handoff: let it go as the holder would.
            resource.handoff = false;
            if matches!(resource.phase, Phase::Allocated { .. }) {
                self.put(index);
            } else {
                self.unhold(index, false);
            }
        }
    }

    /// The last handle of a resource is gone.
    fn drop_resource_if_unused(&mut self, index: usize) {
        let resource = &mut self.resources[index];
        if !resource.alive || resource.handles > 0 || resource.tasks > 0 {
            return;
        }
        resource.alive = false;
        if resource.is_idle() {
            resource.release_on_put = false;
            let serial = resource.serial();
            self.totals.released += 1;
            self.release(index, serial);
            self.resources[index].phase = Phase::Unallocated;
            self.free_charge();
        }
    }

    // The phases of a get.

    fn start(&mut self, resource: usize, kind: GetKind) -> Observed {
        self.resources[resource].tasks += 1;
        self.tasks.push(ModelTask {
            resource,
            kind,
            cancelled: false,
            state: TaskState::Allocating { gate: None },
            listens_for_close: false,
            woken_by_close: false,
            at_close: None,
        });
        let task = self.tasks.len() - 1;
        let step = if self.closed {
            // The fast path finds no idle item (a closed pool has none), and
            // `acquire` fails before it takes the hold.
            assert!(
                !self.resources[resource].is_idle(),
                "an idle item in a closed pool"
            );
            Step::Failed(ErrorKind::Closed)
        } else if self.resources[resource].held {
            let listener = self.resources[resource]
                .hold_listeners
                .listen(&mut self.next_listener_id);
            self.resources[resource].hold_waiters += 1;
            self.wait_for_hold(task, listener)
        } else {
            self.resources[resource].held = true;
            self.with_hold(task)
        };
        self.settle(task, step)
    }

    /// Phase 1 is done: the item came with the hold, or phases 2 and 3 follow.
    fn with_hold(&mut self, task: usize) -> Step {
        let index = self.tasks[task].resource;
        match self.resources[index].phase {
            // `Resource::acquire`: a hold that came with its item after the
            // close (handed over by a put before it) still fails the get,
            // and its guard's put sheds the item.
            Phase::Allocated { .. } if self.closed => {
                self.put(index);
                Step::Failed(ErrorKind::Closed)
            }
            Phase::Allocated { .. } => self.reuse(task),
            _ => self.wait_for_own_release(task, None),
        }
    }

    /// The get holds its resource's item, to reuse it: the lifecycle
    /// settings say whether to return it, check it first, or replace it
    /// (`Resource::vet`).
    fn reuse(&mut self, task: usize) -> Step {
        let index = self.tasks[task].resource;
        let serial = self.resources[index].serial();
        match self.verdict(index) {
            Verdict::Reuse => Step::Got(serial),
            Verdict::Expired => self.replace(task, Why::Expired),
            Verdict::Check => {
                self.checked.push(serial);
                let resource = &mut self.resources[index];
                match std::mem::replace(&mut resource.next_check, CheckMode::Pass) {
                    CheckMode::Pass => Step::Got(serial),
                    CheckMode::Fail => self.replace(task, Why::CheckFailure),
                    CheckMode::Panic => {
                        // `Checking` releases the item as the panic unwinds:
                        // the charge is freed and the hold let go.
                        self.release_held(index, Why::CheckFailure);
                        Step::Panicked
                    }
                    CheckMode::Pending => Step::Pending(TaskState::Checking { serial, gate: None }),
                }
            }
        }
    }

    /// The get found its item past its time or failing its check
    /// (`Resource::replace`): it releases the item, keeping the hold and the
    /// charge, and allocates afresh with them. Unless the pool was closed
    /// (while its check ran): then it frees the charge and fails; or the
    /// charges exceed a shrunk `max`: then it frees the charge and looks for
    /// capacity (and waits) as any holder without an item.
    fn replace(&mut self, task: usize, why: Why) -> Step {
        let index = self.tasks[task].resource;
        self.count(why);
        self.resources[index].release_on_put = false;
        // Its error goes nowhere.
        self.shut_down(task, index)
    }

    fn wait_for_hold(&mut self, task: usize, mut listener: u64) -> Step {
        let index = self.tasks[task].resource;
        loop {
            if self.resources[index].hold_listeners.consume(listener) {
                let resource = &mut self.resources[index];
                listener = resource.hold_listeners.listen(&mut self.next_listener_id);
                assert!(resource.held, "hold waiters without a holder");
                if resource.handoff {
                    resource.handoff = false;
                    resource.hold_waiters -= 1;
                    resource.hold_listeners.drop_listener(listener);
                    return self.with_hold(task);
                }
                continue;
            }
            // The cancel future, joined with `closed()`, is polled after the
            // listener.
            if self.cancel_is_ready(task) || self.closed {
                self.leave_hold_waiters(index);
                self.resources[index].hold_listeners.drop_listener(listener);
                return Step::Failed(self.stopped(ErrorKind::PutTimeout));
            }
            self.tasks[task].listens_for_close = true;
            return Step::Pending(TaskState::WaitHold { listener });
        }
    }

    /// Phase 2 begins: a handed-over item of this resource must be released
    /// (by the waiter it was granted to) before it may allocate again. It
    /// listens on the resource's `changed` event (`listener`, once it has
    /// one), which that release notifies, every listener (so this is also
    /// the poll of a get waiting there).
    fn wait_for_own_release(&mut self, task: usize, listener: Option<u64>) -> Step {
        let index = self.tasks[task].resource;
        let listener = match listener {
            Some(listener) if self.resources[index].hold_listeners.consume(listener) => {
                return self.acquire_capacity(task);
            }
            Some(listener) => listener,
            None if !self.resources[index].is_releasing() => {
                return self.acquire_capacity(task);
            }
            None => {
                // `state::await_release`.
                let resource = &mut self.resources[index];
                resource.release_waiter = true;
                resource.hold_listeners.listen(&mut self.next_listener_id)
            }
        };
        if self.cancel_is_ready(task) || self.closed {
            self.resources[index].hold_listeners.drop_listener(listener);
            self.unhold(index, false);
            return Step::Failed(self.stopped(ErrorKind::ResourceLimitExceeded));
        }
        self.tasks[task].listens_for_close = true;
        Step::Pending(TaskState::WaitOwnRelease { listener })
    }

    /// The error of a get whose wait ended without what it waited for
    /// (`Resource::stopped`): `Closed` once the pool is closed, else the
    /// error of the phase it was in.
    fn stopped(&self, cancelled: ErrorKind) -> ErrorKind {
        if self.closed {
            ErrorKind::Closed
        } else {
            cancelled
        }
    }

    fn acquire_capacity(&mut self, task: usize) -> Step {
        let own = self.tasks[task].resource;
        if self.closed {
            self.unhold(own, false);
            return Step::Failed(ErrorKind::Closed);
        }
        // `take_capacity`: over a shrunk `max`, idle items are shed first.
        if self.over_max() {
            self.shed_excess();
        }
        // Not a waiter yet: any waiter is another get.
        let others_wait = !self.queue.is_empty();
        if let Some(found) = self.take_free_charge_or_victim(own, others_wait) {
            return self.with_capacity(task, found);
        }
        // A cancel that is already complete ends the get before it joins.
        if self.cancel_is_ready(task) {
            self.unhold(own, false);
            return Step::Failed(ErrorKind::ResourceLimitExceeded);
        }
        // That poll of the cancel future polled `closed()` too.
        self.tasks[task].listens_for_close = true;
        let ticket = self.join();
        self.wait_for_capacity(task, ticket, true)
    }

    /// The loop of `acquire_capacity`: `look` starts at its top (the first
    /// time, or the poll after a yield), else at the wait (`woken` or the
    /// cancel, woken first). Woken by a notification (not a grant) and not due
    /// a hand-off, it yields once before it looks: with `handoff_after(MAX)`
    /// never due, with `ZERO` always.
    fn wait_for_capacity(&mut self, task: usize, ticket: u64, mut look: bool) -> Step {
        loop {
            if self.phase(ticket) == WaitPhase::Closed {
                // Its look (at once, or after `woken` said so; `woken` is
                // polled before the cancel) finds the close, and it leaves.
                self.queue.remove(self.waiter(ticket));
                self.unhold(self.tasks[task].resource, false);
                return Step::Failed(ErrorKind::Closed);
            }
            if look {
                if let Some(found) = self.look(task, ticket) {
                    return self.with_capacity(task, found);
                }
            }
            match self.phase(ticket) {
                WaitPhase::Granted(_) => {
                    look = true;
                    continue;
                }
                WaitPhase::Notified => {
                    if self.handoff == Handoff::Never {
                        return Step::Pending(TaskState::WaitCapacity {
                            ticket,
                            yielding: true,
                        });
                    }
                    look = true;
                    continue;
                }
                WaitPhase::Waiting => {}
                WaitPhase::Closed => unreachable!("a closed waiter leaves at the top"),
            }
            if self.cancel_is_ready(task) {
                self.leave_unserved(ticket);
                self.unhold(self.tasks[task].resource, false);
                return Step::Failed(ErrorKind::ResourceLimitExceeded);
            }
            return Step::Pending(TaskState::WaitCapacity {
                ticket,
                yielding: false,
            });
        }
    }

    /// Phase 3, with a charge; or first the shutdown of the item whose
    /// charge it takes.
    fn with_capacity(&mut self, task: usize, found: Found) -> Step {
        match found {
            Found::Charge => self.allocate(task),
            Found::Item(victim) => self.shut_down(task, victim),
        }
    }

    fn allocate(&mut self, task: usize) -> Step {
        let index = self.tasks[task].resource;
        let resource = &mut self.resources[index];
        resource.phase = Phase::Allocating;
        match std::mem::replace(&mut resource.next_allocate, AllocateMode::Succeed) {
            AllocateMode::Succeed => self.allocated(index, true),
            AllocateMode::Fail => self.allocated(index, false),
            AllocateMode::Pending => Step::Pending(TaskState::Allocating { gate: None }),
        }
    }

    fn allocated(&mut self, index: usize, ok: bool) -> Step {
        if !ok {
            self.unhold(index, true);
            return Step::Failed(ErrorKind::Allocate);
        }
        let serial = self.released.len();
        self.released.push(false);
        self.totals.allocations += 1;
        let resource = &mut self.resources[index];
        resource.phase = Phase::Allocated { serial };
        resource.born = self.now;
        Step::Got(serial)
    }

    fn settle(&mut self, task: usize, step: Step) -> Observed {
        match step {
            Step::Pending(state) => {
                self.tasks[task].state = state;
                Observed::Pending
            }
            Step::Got(serial) => {
                self.tasks[task].state = TaskState::Holding { serial };
                Observed::Got { serial }
            }
            Step::Failed(error) => {
                self.end(task);
                Observed::Ended(End::Failed(error))
            }
            Step::Panicked => {
                self.end(task);
                Observed::Ended(End::Panicked)
            }
        }
    }

    /// The task's future is gone, and with it its handle.
    fn end(&mut self, task: usize) {
        let index = self.tasks.remove(task).resource;
        self.resources[index].tasks -= 1;
        self.drop_resource_if_unused(index);
    }

    // Operations on tasks.

    fn poll(&mut self, task: usize) -> Observed {
        self.tasks[task].woken_by_close = false;
        let step = match self.tasks[task].state {
            TaskState::WaitHold { listener } => self.wait_for_hold(task, listener),
            TaskState::WaitOwnRelease { listener } => {
                self.wait_for_own_release(task, Some(listener))
            }
            TaskState::WaitCapacity { ticket, yielding } => {
                self.wait_for_capacity(task, ticket, yielding)
            }
            TaskState::Allocating { gate: Some(ok) } => {
                self.allocated(self.tasks[task].resource, ok)
            }
            TaskState::Checking {
                serial,
                gate: Some(ok),
            } => {
                if ok {
                    Step::Got(serial)
                } else {
                    self.replace(task, Why::CheckFailure)
                }
            }
            TaskState::ShuttingDown { victim, gate: true } => self.shutdown_done(task, victim),
            TaskState::Allocating { gate: None }
            | TaskState::Checking { gate: None, .. }
            | TaskState::ShuttingDown { gate: false, .. }
            | TaskState::Holding { .. } => return Observed::Pending,
        };
        self.settle(task, step)
    }

    fn put_task(&mut self, task: usize) -> Observed {
        self.put(self.tasks[task].resource);
        self.end(task);
        Observed::Ended(End::Put)
    }

    fn release_task(&mut self, task: usize) -> Observed {
        let ok = self.release_held(self.tasks[task].resource, Why::Released);
        self.end(task);
        Observed::Ended(End::Released { ok })
    }

    fn drop_task(&mut self, task: usize) {
        let index = self.tasks[task].resource;
        match self.tasks[task].state {
            TaskState::WaitHold { listener } => {
                self.leave_hold_waiters(index);
                self.resources[index].hold_listeners.drop_listener(listener);
            }
            TaskState::WaitOwnRelease { listener } => {
                self.resources[index].hold_listeners.drop_listener(listener);
                self.unhold(index, false);
            }
            TaskState::WaitCapacity { ticket, .. } => {
                self.leave_unserved(ticket);
                self.unhold(index, false);
            }
            TaskState::Allocating { .. } => self.unhold(index, true),
            // `Checking`: a get dropped while its check runs releases the item.
            TaskState::Checking { .. } => {
                self.release_held(index, Why::Released);
            }
            // Its shutdown's future is dropped, with the item.
            TaskState::ShuttingDown { victim, .. } => self.drop_shutdown(task, victim),
            TaskState::Holding { .. } => self.put(index),
        }
        self.end(task);
    }

    /// `Pool::close` (`PoolInner::close`). Every capacity waiter is told so
    /// (`WaitQueue::close`: Closed, woken) and what was granted to them comes
    /// back, in ticket order: a granted item is released (counted as the
    /// hand-off it was, at its put) and each charge returned; the `closing`
    /// event wakes every get whose `closed()` listens; then the idle items
    /// are shed, least recently used first, each charge returned. A second
    /// close finds nothing granted, idle or listening: nothing happens.
    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        for task in &mut self.tasks {
            task.at_close = match task.state {
                TaskState::WaitHold { .. }
                | TaskState::WaitOwnRelease { .. }
                | TaskState::WaitCapacity { .. } => Some(AtClose::Waiting),
                TaskState::Allocating { .. } => Some(AtClose::Allocating),
                TaskState::Checking { .. } => Some(AtClose::Checking),
                TaskState::ShuttingDown { .. } => Some(AtClose::ShuttingDown),
                TaskState::Holding { .. } => None,
            };
            // A holder's get has returned: its `closed()` is gone.
            if task.listens_for_close && task.at_close.is_some() {
                task.woken_by_close = true;
            }
        }
        let mut offers = Vec::new();
        for waiter in &mut self.queue {
            if let WaitPhase::Granted(offer) = waiter.phase {
                offers.push(offer);
            }
            waiter.phase = WaitPhase::Closed;
        }
        for offer in offers {
            if let Offer::Item { resource } = offer {
                self.release_handed_over(resource);
            }
            self.return_charge();
        }
        while let Some(index) = self.claim_least_recently_used() {
            self.totals.shed += 1;
            let serial = self.resources[index].serial();
            // Its error goes nowhere.
            self.release(index, serial);
            self.resources[index].phase = Phase::Unallocated;
            self.return_charge();
        }
    }

    /// `Pool::set_max` (`PoolInner::set_max`): nothing once closed. Growing
    /// grants the new charges to the waiters not yet granted, in order;
    /// then, while the charges exceed `max`, idle items are shed, least
    /// recently used first.
    fn set_max(&mut self, max: usize) {
        if self.closed {
            return;
        }
        self.max = max;
        while self.first_ungranted().is_some() && self.used < self.max {
            self.used += 1;
            self.grant(Offer::Charge).expect("a waiter not yet granted");
        }
        // Shrunk below the charges taken: grants come back, the latest
        // first, until the charges fit; each waiter looks again (Notified).
        // A granted item is released (counted as the hand-off it was), and
        // then its charge returned.
        let mut items = Vec::new();
        while self.used - items.len() > self.max {
            let Some(index) = self
                .queue
                .iter()
                .rposition(|waiter| matches!(waiter.phase, WaitPhase::Granted(_)))
            else {
                break;
            };
            let waiter = &mut self.queue[index];
            let WaitPhase::Granted(offer) =
                std::mem::replace(&mut waiter.phase, WaitPhase::Notified)
            else {
                unreachable!();
            };
            match offer {
                Offer::Charge => self.used -= 1,
                Offer::Item { resource } => items.push(resource),
            }
        }
        for resource in items {
            self.release_handed_over(resource);
            self.return_charge();
        }
        self.shed_excess();
    }

    /// `PoolInner::shed_excess`: while the charges exceed `max`, releases
    /// idle items, least recently used first, each charge returned.
    fn shed_excess(&mut self) {
        while self.over_max() {
            let Some(index) = self.claim_least_recently_used() else {
                break;
            };
            self.totals.shed += 1;
            let serial = self.resources[index].serial();
            // Its error goes nowhere.
            self.release(index, serial);
            self.resources[index].phase = Phase::Unallocated;
            self.return_charge();
        }
    }

    /// `Pool::release_expired`: claims every idle item past its time from the
    /// idle set (dropping its entry, and the entries of dropped resources;
    /// a resource not idle keeps its entry), then releases each and frees
    /// its charge (to a waiter, or to the pool). Returns how many.
    fn release_expired(&mut self) -> usize {
        if !self.lifecycle.expires() {
            return 0;
        }
        let mut claimed = Vec::new();
        let mut kept = Vec::new();
        for (put_time, index) in std::mem::take(&mut self.idle_set) {
            if !self.resources[index].alive {
                continue;
            }
            if self.resources[index].is_idle() && self.expires_at(index) <= self.now {
                let resource = &mut self.resources[index];
                resource.queued = false;
                resource.release_on_put = false;
                claimed.push(index);
            } else {
                kept.push((put_time, index));
            }
        }
        self.idle_set = kept;
        for &index in &claimed {
            self.totals.expired += 1;
            let serial = self.resources[index].serial();
            // Its error goes nowhere.
            self.release(index, serial);
            self.resources[index].phase = Phase::Unallocated;
            self.free_charge();
        }
        claimed.len()
    }

    fn schedule_release(&mut self, index: usize) -> bool {
        let resource = &mut self.resources[index];
        if resource.is_idle() {
            resource.release_on_put = false;
            let serial = resource.serial();
            self.totals.released += 1;
            let ok = self.release(index, serial);
            self.resources[index].phase = Phase::Unallocated;
            self.free_charge();
            ok
        } else {
            // Armed only while held with a charge and not releasing: a holder
            // waiting for its handed-over item's release arms nothing.
            if resource.held
                && matches!(resource.phase, Phase::Allocating | Phase::Allocated { .. })
            {
                resource.release_on_put = true;
            }
            true
        }
    }

    /// Whether the task's wakeup must have come.
    fn expects_wakeup(&self, task: usize) -> bool {
        let task = &self.tasks[task];
        if task.woken_by_close {
            return true;
        }
        match task.state {
            TaskState::WaitHold { listener } => self.resources[task.resource]
                .hold_listeners
                .is_notified(listener),
            TaskState::WaitOwnRelease { listener } => self.resources[task.resource]
                .hold_listeners
                .is_notified(listener),
            // A yielding waiter woke itself.
            TaskState::WaitCapacity { yielding: true, .. } => true,
            TaskState::WaitCapacity { ticket, .. } => self.phase(ticket) != WaitPhase::Waiting,
            TaskState::Allocating { .. }
            | TaskState::Checking { .. }
            | TaskState::ShuttingDown { .. }
            | TaskState::Holding { .. } => false,
        }
    }

    /// Whether the task waits (phases 1 and 2), rather than allocates or holds.
    fn waits(&self, task: usize) -> bool {
        matches!(
            self.tasks[task].state,
            TaskState::WaitHold { .. }
                | TaskState::WaitOwnRelease { .. }
                | TaskState::WaitCapacity { .. }
        )
    }
}

// ----------------------------------------------------------------------------
// The run.

struct Run {
    actual: Actual,
    model: Model,
    /// What happened so far, for the failure message.
    log: Vec<String>,
}

impl Run {
    fn new(max: usize, handoff: Handoff, lifecycle: Lifecycle) -> Self {
        let control = Control::new(max, handoff, lifecycle);
        Run {
            actual: Actual {
                pool: control.pool.clone(),
                control,
                handles: Vec::new(),
                tasks: Vec::new(),
                drained: None,
            },
            model: Model::new(max, handoff, lifecycle),
            log: Vec::new(),
        }
    }

    fn expect(&self, what: &str, actual: Observed, model: Observed) {
        assert_eq!(
            actual,
            model,
            "{what}: the crate and the model differ\n{}",
            self.history()
        );
    }

    fn history(&self) -> String {
        format!(
            "history:\n  {}\nmodel: {:#?}",
            self.log.join("\n  "),
            self.model
        )
    }

    /// Applies one operation to both sides, if it applies, and checks what it
    /// did.
    fn apply(&mut self, op: Op) {
        let before = Before::take(self);
        if self.apply_op(op) {
            self.check_releases(op, &before);
            self.check();
            self.check_close();
            self.check_drained();
        }
    }

    /// Applies one operation to both sides; false if it does not apply.
    fn apply_op(&mut self, op: Op) -> bool {
        let resources = self.model.resources.len();
        let tasks = self.model.tasks.len();
        let resource = |i: u8| (resources > 0).then(|| usize::from(i) % resources);
        let task = |i: u8| (tasks > 0).then(|| usize::from(i) % tasks);
        match op {
            Op::Create => {
                if resources == MAX_RESOURCES {
                    return false;
                }
                let manager = Manager {
                    key: resources,
                    control: self.actual.control.clone(),
                };
                self.actual
                    .handles
                    .push(vec![self.actual.pool.create(manager)]);
                self.model.resources.push(ModelResource::new());
                self.log.push(format!("create r{resources}"));
            }
            Op::CloneHandle(i) => {
                let Some(r) = resource(i).filter(|&r| self.model.resources[r].handles > 0) else {
                    return false;
                };
                let handle = self.actual.handles[r][0].clone();
                self.actual.handles[r].push(handle);
                self.model.resources[r].handles += 1;
                self.log.push(format!("clone a handle of r{r}"));
            }
            Op::DropHandle(i) => {
                let Some(r) = resource(i).filter(|&r| self.model.resources[r].handles > 0) else {
                    return false;
                };
                self.log.push(format!("drop a handle of r{r}"));
                drop(self.actual.handles[r].pop());
                self.model.resources[r].handles -= 1;
                self.model.drop_resource_if_unused(r);
            }
            Op::Start { resource: i, kind } => {
                let Some(r) = resource(i).filter(|&r| self.model.resources[r].handles > 0) else {
                    return false;
                };
                if tasks == MAX_TASKS {
                    return false;
                }
                self.log.push(format!("start t{tasks}: {kind:?} of r{r}"));
                let was_idle = self.model.resources[r].is_idle();
                let verdict = was_idle.then(|| self.model.verdict(r));
                let closed = self.model.closed;
                let actual = self.actual.start(r, kind);
                let model = self.model.start(r, kind);
                self.log.push(format!("  -> {model:?}"));
                self.expect("start", actual, model);
                // SPEC: once the pool is closed, every get fails with
                // `Closed` (try_get and get_or_cancel too).
                if closed {
                    assert_eq!(
                        actual,
                        Observed::Ended(End::Failed(ErrorKind::Closed)),
                        "a get of a closed pool\n{}",
                        self.history()
                    );
                }
                // SPEC: a get of an allocated idle resource succeeds at once;
                // one that must check or replace the item first never waits.
                if verdict == Some(Verdict::Reuse) {
                    assert!(
                        matches!(actual, Observed::Got { .. }),
                        "{actual:?}\n{}",
                        self.history()
                    );
                }
                if was_idle && self.model.tasks.len() > tasks {
                    assert!(
                        !self.model.waits(tasks),
                        "a get of an idle item waits: {:?}\n{}",
                        self.model.tasks[tasks].state,
                        self.history()
                    );
                }
                // SPEC: try_get never waits in phases 1-2 (so it never joins
                // the wait queue).
                if kind == GetKind::TryGet && self.model.tasks.len() > tasks {
                    assert!(
                        !self.model.waits(tasks),
                        "try_get waits: {:?}\n{}",
                        self.model.tasks[tasks].state,
                        self.history()
                    );
                }
            }
            Op::Poll(i) => {
                let Some(t) = task(i) else { return false };
                self.log
                    .push(format!("poll t{t} ({:?})", self.model.tasks[t].state));
                let at_close = self.model.tasks[t].at_close;
                let gate = match self.model.tasks[t].state {
                    TaskState::Allocating { gate } => gate,
                    _ => None,
                };
                let actual = self.actual.poll(t);
                let model = self.model.poll(t);
                self.log.push(format!("  -> {model:?}"));
                self.expect("poll", actual, model);
                self.check_end_after_close(at_close, gate, actual);
                // SPEC: once its cancel future is complete, a get_or_cancel fails
                // rather than wait (it may still be inside `allocate`). A
                // notified waiter that yields is not waiting: it woke itself
                // (checked with every wakeup), and the poll after the yield
                // looks and then fails unless it found capacity, so that poll
                // is held to this check.
                if self
                    .model
                    .tasks
                    .get(t)
                    .is_some_and(|task| task.cancelled && model == Observed::Pending)
                {
                    let yielding = matches!(
                        self.model.tasks[t].state,
                        TaskState::WaitCapacity { yielding: true, .. }
                    );
                    assert!(
                        !self.model.waits(t) || yielding,
                        "a cancelled get_or_cancel waits: {:?}\n{}",
                        self.model.tasks[t].state,
                        self.history()
                    );
                }
            }
            Op::Cancel(i) => {
                let Some(t) = task(i).filter(|&t| self.model.tasks[t].kind == GetKind::GetOrCancel)
                else {
                    return false;
                };
                self.log.push(format!("cancel t{t}"));
                self.actual.tasks[t].control.cancelled.set(true);
                self.model.tasks[t].cancelled = true;
            }
            Op::DropTask(i) => {
                let Some(t) = task(i) else { return false };
                self.log
                    .push(format!("drop t{t} ({:?})", self.model.tasks[t].state));
                drop(self.actual.tasks.remove(t));
                self.model.drop_task(t);
            }
            Op::Put(i) | Op::Release(i) => {
                let Some(t) = task(i)
                    .filter(|&t| matches!(self.model.tasks[t].state, TaskState::Holding { .. }))
                else {
                    return false;
                };
                let (actual, model) = if let Op::Put(_) = op {
                    self.log.push(format!("put t{t}"));
                    (self.actual.command(t, Command::Put), self.model.put_task(t))
                } else {
                    self.log.push(format!("release t{t}"));
                    (
                        self.actual.command(t, Command::Release),
                        self.model.release_task(t),
                    )
                };
                self.log.push(format!("  -> {model:?}"));
                self.expect("put or release", actual, model);
            }
            Op::ScheduleRelease(i) => {
                let Some(r) = resource(i).filter(|&r| self.model.resources[r].handles > 0) else {
                    return false;
                };
                self.log.push(format!("schedule_release r{r}"));
                let actual = self.actual.handles[r][0].schedule_release().is_ok();
                let model = self.model.schedule_release(r);
                assert_eq!(
                    actual,
                    model,
                    "schedule_release's result\n{}",
                    self.history()
                );
            }
            Op::NextAllocate { resource: i, mode } => {
                let Some(r) = resource(i) else { return false };
                self.log.push(format!("next allocate of r{r}: {mode:?}"));
                self.actual.control.lock().next_allocate[r] = mode;
                self.model.resources[r].next_allocate = mode;
            }
            Op::CompleteAllocate { task: i, ok } => {
                let Some(t) = task(i)
                    .filter(|&t| self.model.tasks[t].state == TaskState::Allocating { gate: None })
                else {
                    return false;
                };
                self.log
                    .push(format!("complete the allocate of t{t}: ok={ok}"));
                self.actual.control.lock().gates[self.actual.tasks[t].resource] = Some(ok);
                self.model.tasks[t].state = TaskState::Allocating { gate: Some(ok) };
            }
            Op::FailNextRelease(i) => {
                let Some(r) = resource(i) else { return false };
                self.log.push(format!("fail the next release of r{r}"));
                self.actual.control.lock().fail_next_release[r] = true;
                self.model.resources[r].fail_next_release = true;
            }
            Op::Close => {
                self.log.push("close".to_string());
                self.actual.pool.close();
                self.model.close();
            }
            Op::SetMax(n) => {
                let max = 1 + usize::from(n % 4);
                self.log.push(format!("set_max({max})"));
                self.actual.pool.set_max(max);
                self.model.set_max(max);
                let mut control = self.actual.control.lock();
                if !self.model.closed {
                    control.ceiling = control.ceiling.max(max);
                }
                control.max = self.model.max;
            }
            Op::AdvanceClock(d) => {
                let ticks = 1 + u64::from(d % 4);
                self.model.now += ticks;
                self.log.push(format!(
                    "advance the clock by {ticks} to {}",
                    self.model.now
                ));
                self.actual.control.ticks.fetch_add(ticks, Ordering::SeqCst);
            }
            Op::ReleaseExpired => {
                self.log.push("release_expired".to_string());
                let actual = self.actual.pool.release_expired();
                let model = self.model.release_expired();
                self.log.push(format!("  -> {model}"));
                assert_eq!(actual, model, "release_expired()\n{}", self.history());
            }
            Op::NextCheck { resource: i, mode } => {
                let Some(r) = resource(i) else { return false };
                self.log.push(format!("next check of r{r}: {mode:?}"));
                self.actual.control.lock().next_check[r] = mode;
                self.model.resources[r].next_check = mode;
            }
            Op::CompleteCheck { task: i, ok } => {
                let Some(t) = task(i).filter(|&t| {
                    matches!(
                        self.model.tasks[t].state,
                        TaskState::Checking { gate: None, .. }
                    )
                }) else {
                    return false;
                };
                self.log
                    .push(format!("complete the check of t{t}: ok={ok}"));
                self.actual.control.lock().check_gates[self.actual.tasks[t].resource] = Some(ok);
                if let TaskState::Checking { gate, .. } = &mut self.model.tasks[t].state {
                    *gate = Some(ok);
                }
            }
            Op::NextShutdown { resource: i, mode } => {
                let Some(r) = resource(i) else { return false };
                self.log
                    .push(format!("next shutdown of r{r}'s item: {mode:?}"));
                self.actual.control.lock().next_shutdown[r] = mode;
                self.model.resources[r].next_shutdown = mode;
            }
            Op::CompleteShutdown { task: i } => {
                let Some(t) = task(i).filter(|&t| {
                    matches!(
                        self.model.tasks[t].state,
                        TaskState::ShuttingDown { gate: false, .. }
                    )
                }) else {
                    return false;
                };
                let TaskState::ShuttingDown { victim, .. } = self.model.tasks[t].state else {
                    unreachable!();
                };
                self.log
                    .push(format!("complete the shutdown of r{victim}'s item by t{t}"));
                self.actual.control.lock().shutdown_gates[victim] = true;
                self.model.tasks[t].state = TaskState::ShuttingDown { victim, gate: true };
            }
        }
        true
    }

    /// SPEC: a get waiting (for the hold or for capacity) when the pool was
    /// closed fails with `Closed`; an `allocate` in flight then finishes and
    /// its guard is returned. `at_close`: where the polled task stood at the
    /// close; `gate`: what its pending `allocate` was told to return.
    fn check_end_after_close(
        &self,
        at_close: Option<AtClose>,
        gate: Option<bool>,
        actual: Observed,
    ) {
        let ended = !matches!(actual, Observed::Pending);
        match at_close {
            Some(AtClose::Waiting) if ended => {
                let closed = actual == Observed::Ended(End::Failed(ErrorKind::Closed));
                assert!(
                    closed,
                    "SPEC: a get waiting at the close ended with {actual:?}\n{}",
                    self.history()
                );
            }
            // A check that ends after the close: the guard if it passed,
            // never a new allocation if it failed.
            Some(AtClose::Checking) if ended => {
                assert!(
                    matches!(
                        actual,
                        Observed::Got { .. }
                            | Observed::Ended(End::Failed(ErrorKind::Closed) | End::Panicked)
                    ),
                    "SPEC: a get checking at the close ended with {actual:?}\n{}",
                    self.history()
                );
            }
            // A shutdown that ends after the close: the get fails (its
            // charge freed), never allocates.
            Some(AtClose::ShuttingDown) if ended => {
                assert!(
                    matches!(
                        actual,
                        Observed::Ended(End::Failed(ErrorKind::Closed) | End::Panicked)
                    ),
                    "SPEC: a get shutting an item down at the close ended with {actual:?}\n{}",
                    self.history()
                );
            }
            Some(AtClose::Allocating) if gate == Some(true) => {
                assert!(
                    matches!(actual, Observed::Got { .. }),
                    "SPEC: the allocate in flight at the close returned no guard: {actual:?}\n{}",
                    self.history()
                );
            }
            _ => {}
        }
    }

    /// SPEC: an item is released only for a reason SPEC.md names: a release
    /// the caller asked for (`Guard::release`, `schedule_release` of an idle
    /// item, a put after `schedule_release`), the last handle dropped, an
    /// eviction (one idle item, for a get of another resource), with
    /// `handoff_after(ZERO)` a hand-over (the waiter the item was granted to
    /// releases it, or the close takes it back), or the close (it sheds the
    /// idle items, and every later put sheds its own). So, until the close, a
    /// put releases its item only if a release was scheduled (with
    /// `handoff_after(MAX)` it never hands it over either), and it hands its
    /// item over exactly when a get waits in the queue and is not yet
    /// granted: never for a `try_get` or a get whose cancel was complete,
    /// which do not join.
    fn check_releases(&mut self, op: Op, before: &Before) {
        let resources = before.idle.len();
        // The task the operation acted on: (resource, state before; `None`
        // for a task it started).
        let acted = match op {
            Op::Start { resource, .. } => Some((usize::from(resource) % resources, None)),
            Op::Poll(i) | Op::DropTask(i) | Op::Put(i) | Op::Release(i) => {
                let (resource, state) = before.tasks[usize::from(i) % before.tasks.len()];
                Some((resource, Some(state)))
            }
            _ => None,
        };
        let control = self.actual.control.lock();
        let mut evictions = 0;
        let mut reasons = Vec::new();
        for serial in 0..control.released.len() {
            if !control.released[serial] || before.released.get(serial) == Some(&true) {
                continue;
            }
            let k = control.keys[serial];
            let by_acted = acted.is_some_and(|(r, _)| r == k);
            let died = before.alive[k] && !self.model.resources[k].alive;
            let why = if died {
                "the last handle dropped"
            } else {
                match (op, acted) {
                    (Op::Release(_), _) if by_acted => "Guard::release",
                    (Op::ScheduleRelease(i), _)
                        if usize::from(i) % resources == k && before.idle[k] =>
                    {
                        "schedule_release of an idle item"
                    }
                    (Op::Put(_) | Op::DropTask(_) | Op::Poll(_), _)
                        if by_acted && before.armed[k] =>
                    {
                        "a put after schedule_release"
                    }
                    (Op::Close, _) if before.idle[k] => "shed by the close",
                    (Op::SetMax(_), _) if before.idle[k] => "shed by set_max shrinking",
                    (Op::SetMax(_), _) if before.handed_over[k] => {
                        "a hand-over set_max took back from the waiter it was granted to"
                    }
                    (Op::ReleaseExpired, _) if before.idle[k] && before.expired[k] => {
                        "past its time, by release_expired"
                    }
                    (Op::Close, _) if before.handed_over[k] => {
                        "a hand-over the close took back from the waiter it was granted to"
                    }
                    // A hold waiter that leaves as the last one takes an
                    // orphaned hold and puts it too.
                    (Op::Put(_) | Op::DropTask(_) | Op::Poll(_), _)
                        if by_acted && before.closed && before.in_use[k] =>
                    {
                        "a put of a closed pool sheds its item"
                    }
                    (Op::Put(_) | Op::DropTask(_) | Op::Poll(_), _)
                        if by_acted && before.over_max && before.in_use[k] =>
                    {
                        "a put over a shrunk max sheds its item"
                    }
                    (Op::Put(_) | Op::DropTask(_) | Op::Poll(_), _)
                        if by_acted && before.outlived[k] && before.in_use[k] =>
                    {
                        "a put past max_lifetime"
                    }
                    (Op::DropTask(_), Some((_, Some(TaskState::Checking { .. })))) if by_acted => {
                        "a get dropped while its check ran"
                    }
                    // The get found its item, idle or handed over with the
                    // hold, past its time, or its check failed or panicked.
                    (Op::Start { .. } | Op::Poll(_), _)
                        if by_acted
                            && self.model.lifecycle.is_used()
                            && (before.idle[k] || before.in_use[k]) =>
                    {
                        "a get that reuses it found it past its time or failing its check"
                    }
                    (Op::Start { .. } | Op::Poll(_), Some((r, _))) if r != k && before.idle[k] => {
                        evictions += 1;
                        "an eviction"
                    }
                    (
                        Op::Poll(_) | Op::DropTask(_),
                        Some((_, Some(TaskState::WaitCapacity { .. }))),
                    ) if before.handed_over[k] && self.model.handoff == Handoff::Always => {
                        "a hand-over, by the waiter it was granted to"
                    }
                    _ => panic!(
                        "SPEC: item {serial} of r{k} released, and SPEC.md names no reason \
                         for it\n{}",
                        self.history()
                    ),
                }
            };
            reasons.push(format!("  released item {serial} of r{k}: {why}"));
        }
        assert!(
            evictions <= 1,
            "one get evicted {evictions} items\n{}",
            self.history()
        );
        drop(control);
        self.log.extend(reasons);
        // The put's hand-over: exactly when a get waits not yet granted, and
        // only with handoff_after(ZERO).
        if let (Op::Put(_) | Op::DropTask(_), Some((r, Some(TaskState::Holding { .. })))) =
            (op, acted)
        {
            let releasing = self.actual.pool.stats().releasing;
            let handed = releasing > before.releasing;
            // Not past its lifetime (then it is released), and not over a
            // shrunk max (then it is shed).
            let expected = self.model.handoff == Handoff::Always
                && before.a_get_waits
                && !before.over_max
                && !before.outlived[r];
            assert_eq!(
                handed,
                expected,
                "the put of r{r} {} its item, with {} capacity waiter not yet granted \
                 ({:?})\n{}",
                if handed { "handed over" } else { "kept" },
                if before.a_get_waits { "a" } else { "no" },
                self.model.handoff,
                self.history()
            );
        }
    }

    /// Compares everything observable with the model, and checks the SPEC
    /// invariants on the crate.
    fn check(&self) {
        let stats: Stats = self.actual.pool.stats();
        let observed = (stats.in_use, stats.idle, stats.allocating, stats.releasing);
        assert_eq!(stats.max, self.model.max);
        assert_eq!(
            observed,
            self.model.stats(),
            "stats (in_use, idle, allocating, releasing)\n{}",
            self.history()
        );
        let control = self.actual.control.lock();
        assert_eq!(
            control.released,
            self.model.released,
            "released items by serial\n{}",
            self.history()
        );
        // Live items: in use (allocating included), idle, and handed over
        // (releasing until the waiter they were granted to runs); no other
        // release is in flight between operations.
        assert_eq!(
            control.live,
            stats.in_use + stats.idle + stats.releasing,
            "live items vs stats\n{}",
            self.history()
        );
        assert_eq!(
            control.checked,
            self.model.checked,
            "the items checked, by serial\n{}",
            self.history()
        );
        drop(control);
        self.check_ceiling(&stats);
        // SPEC: with handoff_after(Duration::MAX) a put never hands its item
        // over: what is releasing between operations is being shut down.
        if self.model.handoff == Handoff::Never {
            let shutting_down = self
                .model
                .tasks
                .iter()
                .filter(|task| matches!(task.state, TaskState::ShuttingDown { .. }))
                .count();
            assert_eq!(
                stats.releasing,
                shutting_down,
                "an item handed over with handoff_after(MAX)\n{}",
                self.history()
            );
        }
        self.check_queue(&stats);
        for (r, handles) in self.actual.handles.iter().enumerate() {
            if let Some(handle) = handles.first() {
                let expected = matches!(self.model.resources[r].phase, Phase::Allocated { .. });
                assert_eq!(
                    handle.is_allocated(),
                    expected,
                    "r{r}.is_allocated()\n{}",
                    self.history()
                );
            }
        }
        for t in 0..self.actual.tasks.len() {
            assert_eq!(self.actual.tasks[t].resource, self.model.tasks[t].resource);
            assert_eq!(
                self.actual.was_woken(t),
                self.model.expects_wakeup(t),
                "t{t} woken ({:?})\n{}",
                self.model.tasks[t].state,
                self.history()
            );
        }
        self.check_liveness(&stats);
    }

    /// SPEC: live items never exceed `max`; after a shrink, never the larger
    /// of the old and the new one, until they fit the new one. And every
    /// `Stats` could exist: `in_use + idle` at most that too.
    fn check_ceiling(&self, stats: &Stats) {
        let mut control = self.actual.control.lock();
        assert_eq!(stats.max, control.max);
        assert!(
            control.live <= control.ceiling,
            "SPEC: {} live items, max {} (at most {} after a shrink)\n{}",
            control.live,
            control.max,
            control.ceiling,
            self.history()
        );
        assert!(stats.in_use + stats.idle <= control.ceiling);
        if control.live <= control.max {
            control.ceiling = control.max;
        }
    }

    /// The close, on what the crate shows: `is_closed()`; SPEC: no item idle
    /// in a closed pool (the close shed them, and each put since shed its
    /// own), and every get still waiting was woken (to fail with `Closed`).
    /// And the totals equal the model's: why each item left (`shed` for the
    /// close), and `allocations == evictions + handoffs + released + shed`
    /// plus the items allocated now.
    fn check_close(&self) {
        let stats = self.actual.pool.stats();
        assert_eq!(self.actual.pool.is_closed(), self.model.closed);
        if self.model.closed {
            assert_eq!(
                stats.idle,
                0,
                "SPEC: an item idle in a closed pool\n{}",
                self.history()
            );
            for t in 0..self.actual.tasks.len() {
                if self.model.waits(t) {
                    assert!(
                        self.actual.was_woken(t),
                        "SPEC: t{t} waits in a closed pool, not woken ({:?})\n{}",
                        self.model.tasks[t].state,
                        self.history()
                    );
                }
            }
        }
        let totals = stats.totals;
        let actual = ModelTotals {
            allocations: totals.allocations,
            evictions: totals.evictions,
            handoffs: totals.handoffs,
            released: totals.released,
            shed: totals.shed,
            expired: totals.expired,
            check_failures: totals.check_failures,
        };
        assert_eq!(actual, self.model.totals, "totals\n{}", self.history());
        let allocated = self
            .model
            .resources
            .iter()
            .filter(|r| matches!(r.phase, Phase::Allocated { .. }))
            .count() as u64;
        assert_eq!(
            totals.allocations,
            left(&totals) + allocated,
            "an item left without a reason counted in the totals\n{}",
            self.history()
        );
        // `waiting`: the gets waiting for a hold (or for their own release)
        // and the wait queue, closed waiters included until they look.
        let resource_waiters = self
            .model
            .tasks
            .iter()
            .filter(|task| {
                matches!(
                    task.state,
                    TaskState::WaitHold { .. } | TaskState::WaitOwnRelease { .. }
                )
            })
            .count();
        assert_eq!(
            stats.waiting,
            resource_waiters + self.model.queue.len(),
            "stats().waiting\n{}",
            self.history()
        );
    }

    /// `drained()` resolves exactly when no charge is taken (no item in use,
    /// idle, allocating or releasing, and none granted), and one pending
    /// before is woken then (the charge freed last notifies it).
    fn check_drained(&mut self) {
        let existed = self.actual.drained.is_some();
        let (ready, woken) = self.actual.poll_drained();
        assert_eq!(
            ready,
            self.model.used == 0,
            "drained() with {} charges taken\n{}",
            self.model.used,
            self.history()
        );
        if ready && existed {
            assert!(
                woken,
                "the last charge freed did not wake drained()\n{}",
                self.history()
            );
        }
    }

    /// The wait queue against the tasks and the charges: every waiter is a
    /// task waiting for capacity (never a `try_get`), every grant belongs to a
    /// waiter, every handed-over item is granted to exactly one, and the
    /// charges add up.
    fn check_queue(&self, stats: &Stats) {
        let model = &self.model;
        let waiting: Vec<u64> = model
            .tasks
            .iter()
            .filter_map(|task| match task.state {
                TaskState::WaitCapacity { ticket, .. } => {
                    assert_ne!(
                        task.kind,
                        GetKind::TryGet,
                        "a try_get in the queue\n{}",
                        self.history()
                    );
                    Some(ticket)
                }
                _ => None,
            })
            .collect();
        // A yielding waiter yielded on a notification, and only its own look
        // puts it back to sleep (a grant meanwhile makes it Granted).
        for task in &model.tasks {
            if let TaskState::WaitCapacity {
                ticket,
                yielding: true,
            } = task.state
            {
                assert_ne!(
                    model.phase(ticket),
                    WaitPhase::Waiting,
                    "a yielding waiter asleep\n{}",
                    self.history()
                );
            }
        }
        let mut queued: Vec<u64> = model.queue.iter().map(|waiter| waiter.ticket).collect();
        assert!(queued.windows(2).all(|pair| pair[0] < pair[1]));
        queued.sort_unstable();
        let mut waiting_sorted = waiting.clone();
        waiting_sorted.sort_unstable();
        assert_eq!(
            queued,
            waiting_sorted,
            "the queue and the tasks waiting for capacity differ\n{}",
            self.history()
        );
        let mut charge_grants = 0;
        let mut item_grants = Vec::new();
        for waiter in &model.queue {
            match waiter.phase {
                WaitPhase::Granted(Offer::Charge) => charge_grants += 1,
                WaitPhase::Granted(Offer::Item { resource }) => item_grants.push(resource),
                WaitPhase::Waiting | WaitPhase::Notified | WaitPhase::Closed => {}
            }
        }
        let mut handed_over: Vec<usize> = (0..model.resources.len())
            .filter(|&r| matches!(model.resources[r].phase, Phase::HandedOver { .. }))
            .collect();
        item_grants.sort_unstable();
        handed_over.sort_unstable();
        // Every item being shut down belongs to one get, which awaits it.
        let mut shutting_down: Vec<usize> = (0..model.resources.len())
            .filter(|&r| matches!(model.resources[r].phase, Phase::ShuttingDown { .. }))
            .collect();
        let mut victims: Vec<usize> = model
            .tasks
            .iter()
            .filter_map(|task| match task.state {
                TaskState::ShuttingDown { victim, .. } => Some(victim),
                _ => None,
            })
            .collect();
        shutting_down.sort_unstable();
        victims.sort_unstable();
        assert_eq!(
            shutting_down,
            victims,
            "an item shut down by no get, or by two\n{}",
            self.history()
        );
        assert_eq!(
            item_grants,
            handed_over,
            "a handed-over item granted to no waiter, or to two\n{}",
            self.history()
        );
        assert_eq!(
            model.used,
            stats.in_use + stats.idle + stats.releasing + charge_grants,
            "charges taken vs items and grants\n{}",
            self.history()
        );
        // A freed charge goes to the first waiter not yet granted: none is
        // free while one waits.
        if model.first_ungranted().is_some() {
            assert!(
                model.used >= model.max,
                "a charge is free while a get waits for capacity\n{}",
                self.history()
            );
        }
    }

    /// SPEC: at most one guard per resource, and no waiter is left asleep
    /// while what it waits for is available.
    fn check_liveness(&self, stats: &Stats) {
        let tasks = &self.actual.tasks;
        let woken_waiter = |waits: &dyn Fn(&ModelTask) -> bool| {
            (0..tasks.len()).any(|t| waits(&self.model.tasks[t]) && self.actual.was_woken(t))
        };
        // Capacity: each free charge and each idle victim has a notified
        // waiter on its way to it, as long as some waiter sleeps. (A granted
        // waiter was woken too, but for its grant, and it takes only that; a
        // notified waiter that yields is on its way, and never asleep: only
        // its own look makes it Waiting again. The phases are the crate's:
        // each task's wakeup was compared with them above.)
        let count = |phase: WaitPhase| {
            self.model
                .queue
                .iter()
                .filter(|waiter| waiter.phase == phase)
                .count()
        };
        let asleep = count(WaitPhase::Waiting);
        let notified = count(WaitPhase::Notified);
        // Over a shrunk max, nothing is available: no allocation starts.
        let available = if self.model.over_max() {
            0
        } else {
            self.model.max - self.model.used + stats.idle
        };
        if asleep > 0 {
            assert!(
                notified >= available,
                "SPEC: a waiter is never left asleep while a charge or an idle victim is \
                 available; {asleep} capacity waiters asleep, {notified} notified, and \
                 {available} charges or idle victims available ({stats:?})\n{}",
                self.history()
            );
        }
        for r in 0..self.model.resources.len() {
            let holding = tasks
                .iter()
                .filter(|task| task.resource == r && task.holding)
                .count();
            assert!(holding <= 1, "{holding} guards of r{r}\n{}", self.history());
            let waits_for_hold = |task: &ModelTask| {
                task.resource == r && matches!(task.state, TaskState::WaitHold { .. })
            };
            let resource = &self.model.resources[r];
            if self.model.tasks.iter().any(waits_for_hold) && (!resource.held || resource.handoff) {
                assert!(
                    woken_waiter(&waits_for_hold),
                    "the hold of r{r} is free and no hold waiter is woken\n{}",
                    self.history()
                );
            }
        }
    }

    /// Drops every task, then every handle, checking as it goes; then nothing
    /// may be left allocated, and all `max` charges must be free again (a
    /// closed pool must refuse them all with `Closed`). Then the pool is
    /// closed, if it was not: `drained()` resolves at once, and the totals
    /// account for every item.
    fn finish(mut self) {
        while !self.model.tasks.is_empty() {
            self.apply(Op::DropTask(0));
        }
        for r in 0..self.model.resources.len() {
            while self.model.resources[r].handles > 0 {
                self.apply(Op::DropHandle(r as u8));
            }
        }
        let stats = self.actual.pool.stats();
        assert_eq!(
            (stats.in_use, stats.idle, stats.allocating, stats.releasing),
            (0, 0, 0, 0)
        );
        let control = self.actual.control.lock();
        assert_eq!(control.live, 0, "items lost");
        assert!(
            control.released.iter().all(|&released| released),
            "an item was never released"
        );
        drop(control);
        // Every charge came back: `max` fresh resources can all be held at once.
        {
            let mut control = self.actual.control.lock();
            control.next_allocate = [AllocateMode::Succeed; MAX_RESOURCES];
            control.fail_next_release = [false; MAX_RESOURCES];
            control.next_check = [CheckMode::Pass; MAX_RESOURCES];
            control.next_shutdown = [ShutdownMode::Immediate; MAX_RESOURCES];
        }
        let max = self.model.max;
        let fresh: Vec<_> = (0..=max)
            .map(|key| {
                self.actual.pool.create(Manager {
                    key: key % MAX_RESOURCES,
                    control: self.actual.control.clone(),
                })
            })
            .collect();
        if self.model.closed {
            for resource in &fresh {
                let refused = poll_once(resource.try_get());
                assert!(
                    matches!(refused, Some(Err(Error::Closed))),
                    "SPEC: a get of a closed pool: {:?}",
                    refused.map(|result| result.err())
                );
            }
            assert!(self.actual.control.lock().released.len() == self.model.released.len());
        } else {
            self.all_charges_free(&fresh);
        }
        drop(fresh);
        assert_eq!(
            self.actual.control.lock().live,
            0,
            "the fresh items were not released"
        );
        self.actual.pool.close();
        assert!(
            poll_once(self.actual.pool.drained()).is_some(),
            "drained() with nothing live"
        );
        let totals = self.actual.pool.stats().totals;
        assert_eq!(totals.allocations, left(&totals), "{totals:?}");
    }

    /// Every charge came back: `max` fresh resources can all be held at
    /// once, and no more.
    fn all_charges_free(&self, fresh: &[Resource<Manager>]) {
        let max = self.model.max;
        let guards: Vec<_> = fresh[..max]
            .iter()
            .map(|resource| match poll_once(resource.try_get()) {
                Some(Ok(guard)) => guard,
                other => panic!("a charge was lost: {:?}", other.map(|result| result.err())),
            })
            .collect();
        let over = poll_once(fresh[max].try_get());
        assert!(
            matches!(over, Some(Err(Error::ResourceLimitExceeded))),
            "more than max charges"
        );
        drop(over);
        drop(guards);
    }
}

/// What `Run::check_releases` compares an operation's releases with.
struct Before {
    /// Per allocation serial: whether it was released.
    released: Vec<bool>,
    /// Per resource: alive, idle, in use (held with its item), release
    /// scheduled, item handed over.
    alive: Vec<bool>,
    idle: Vec<bool>,
    in_use: Vec<bool>,
    armed: Vec<bool>,
    handed_over: Vec<bool>,
    /// The pool was closed.
    closed: bool,
    /// Per task: its resource and state.
    tasks: Vec<(usize, TaskState)>,
    /// `stats().releasing`.
    releasing: usize,
    /// A get waits for capacity, not yet granted.
    a_get_waits: bool,
    /// The charges exceed a shrunk `max`.
    over_max: bool,
    /// Per resource: its item is past its `max_lifetime` (released at its
    /// put), and past its time if idle (released by `release_expired`).
    outlived: Vec<bool>,
    expired: Vec<bool>,
}

impl Before {
    fn take(run: &Run) -> Self {
        let resources = &run.model.resources;
        Before {
            released: run.actual.control.lock().released.clone(),
            alive: resources.iter().map(|r| r.alive).collect(),
            idle: resources.iter().map(|r| r.is_idle()).collect(),
            in_use: resources
                .iter()
                .map(|r| r.held && matches!(r.phase, Phase::Allocated { .. }))
                .collect(),
            closed: run.model.closed,
            armed: resources.iter().map(|r| r.release_on_put).collect(),
            handed_over: resources
                .iter()
                .map(|r| matches!(r.phase, Phase::HandedOver { .. }))
                .collect(),
            tasks: run
                .model
                .tasks
                .iter()
                .map(|task| (task.resource, task.state))
                .collect(),
            releasing: run.actual.pool.stats().releasing,
            a_get_waits: run.model.first_ungranted().is_some(),
            over_max: run.model.over_max(),
            outlived: (0..resources.len())
                .map(|r| run.model.outlived(r))
                .collect(),
            expired: (0..resources.len())
                .map(|r| run.model.lifecycle.expires() && run.model.expires_at(r) <= run.model.now)
                .collect(),
        }
    }
}

/// The items that left their resource, each counted once, by why.
fn left(totals: &resourcepool::Totals) -> u64 {
    totals.evictions
        + totals.handoffs
        + totals.released
        + totals.shed
        + totals.expired
        + totals.check_failures
}

/// Polls a future once with a waker that does nothing; `None` if pending.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fuzz_target!(|input: Input| {
    quiet_scripted_panics();
    let mut run = Run::new(input.max, input.handoff, input.lifecycle);
    for op in input.ops {
        run.apply(op);
    }
    run.finish();
});
