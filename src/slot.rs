//! The item slot: the only place with `unsafe`. Who may touch it is decided by
//! the state word (see `state.rs`), never by the slot itself.
#![allow(unsafe_code)]

use core::mem::MaybeUninit;

use crate::sync::UnsafeCell;

/// Storage for one resource's item.
///
/// # Safety
///
/// The slot is initialized exactly while the state word has ALLOCATED set, or
/// while a holder has written it and not yet published ALLOCATED. Access is
/// exclusive to:
/// - the holder (HELD set by its own swap, RELEASING clear), from the swap that
///   set HELD until the swap that clears it; or
/// - the releaser (RELEASING set by its own swap), until it takes the item out,
///   which it does before clearing RELEASING; or
/// - the owner of `&mut` to the resource (its `Drop`).
pub(crate) struct Slot<T>(UnsafeCell<MaybeUninit<T>>);

// SAFETY:
// - The state word hands the slot to one thread at a time (see above), with
//   Acquire/Release swaps between owners, so `&Slot` being shared is sound.
// - The item moves between threads, hence `T: Send`; it is never shared, so
//   `T: Sync` is not needed (`Guard` carries its own `Sync` bound on the item).
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    pub(crate) fn empty() -> Self {
        Slot(UnsafeCell::new(MaybeUninit::uninit()))
    }

    /// Puts an item into the empty slot.
    ///
    /// # Safety
    ///
    /// The caller owns the slot (see the type's docs) and it is empty.
    pub(crate) unsafe fn write(&self, item: T) {
        self.0.with_mut(|slot| {
            // SAFETY: the caller owns the slot, so nobody else reads or writes it.
            unsafe { (*slot).write(item) };
        });
    }

    /// Takes the item out, leaving the slot empty.
    ///
    /// # Safety
    ///
    /// The caller owns the slot (see the type's docs) and it holds an item.
    pub(crate) unsafe fn take(&self) -> T {
        self.0.with_mut(|slot| {
            // SAFETY: the caller owns the initialized slot; reading it out moves
            // the item, and the state word now says the slot is empty.
            unsafe { (*slot).assume_init_read() }
        })
    }

    /// A pointer to the item, for `Guard`'s `Deref`/`DerefMut`.
    ///
    /// # Safety
    ///
    /// The caller is the holder, the slot holds an item, and the pointer is used
    /// only while the hold lasts.
    pub(crate) unsafe fn item(&self) -> *mut T {
        self.0.with_mut(|slot| {
            // SAFETY: `MaybeUninit<T>` has the layout of `T`, and the caller
            // guarantees the slot is initialized.
            unsafe { (*slot).as_mut_ptr() }
        })
    }
}
