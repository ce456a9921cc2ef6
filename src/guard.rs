//! `Guard` and `OwnedGuard`: the one holder of a resource's item, borrowing
//! its resource or holding a handle of it.

use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

use crate::manager::AllocateRelease;
use crate::resource::Resource;

/// Exclusive access to a resource's item, from [`Resource::get`].
///
/// Dropping it is the *put*: the item stays allocated and becomes idle, the
/// most recently used of the pool, and the next get of the resource reuses it.
/// If a release was scheduled (see [`Resource::schedule_release`]), the item is
/// released instead. While other gets wait for the pool's capacity, the item
/// stays idle too, unless the longest waiting get has waited longer than the
/// pool's [`handoff_after`](crate::PoolBuilder::handoff_after): then the item
/// is handed to that get, which releases it and allocates with its charge.
/// After [`Pool::close`](crate::Pool::close), the item is released.
///
/// The put does not look at the item: a guard that `?` drops after an I/O
/// error puts a broken connection back, idle, and the next get reuses it.
/// When the item may be broken, call [`release`](Guard::release) instead
/// (the next get then allocates afresh).
///
/// It borrows its resource; [`into_owned`](Guard::into_owned) turns it into an
/// [`OwnedGuard`], which can move into a spawned task.
///
/// # Panics
///
/// Dropping it panics if [`AllocateRelease::release`] runs and panics (the
/// charge is freed first).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use resourcepool::{AllocateRelease, Pool};
///
/// struct Conn;
/// impl AllocateRelease for Conn {
///     type Item = Vec<u8>;
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<Vec<u8>, std::io::Error> { Ok(vec![]) }
/// }
///
/// let conn = Pool::new(1).create(Conn);
/// let mut guard = conn.get().await?;
/// guard.push(1); // DerefMut to the item
/// drop(guard);   // put
/// assert_eq!(conn.get().await?.len(), 1);
/// # Ok::<(), resourcepool::Error<std::io::Error>>(())
/// # }).unwrap();
/// ```
#[clippy::has_significant_drop]
#[must_use = "dropping the guard puts the resource back at once"]
pub struct Guard<'a, M: AllocateRelease> {
    resource: &'a Resource<M>,
    /// The guard hands out `&mut M::Item`: it is `Send`/`Sync` as that is.
    _item: PhantomData<&'a mut M::Item>,
}

impl<'a, M: AllocateRelease> Guard<'a, M> {
    pub(crate) fn new(resource: &'a Resource<M>) -> Self {
        Guard {
            resource,
            _item: PhantomData,
        }
    }

    /// Releases the item now (say, after an I/O error), frees its charge, and
    /// lets go of the resource. The next get allocates afresh.
    ///
    /// # Errors
    ///
    /// What [`AllocateRelease::release`] returned. The charge is freed either way.
    ///
    /// # Panics
    ///
    /// If `release` panics (the charge is freed first).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let conn = Pool::new(1).create(Conn);
    /// let guard = conn.get().await.unwrap();
    /// guard.release()?;
    /// assert!(!conn.is_allocated());
    /// assert_eq!(conn.pool().stats().idle, 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn release(self) -> Result<(), M::Error> {
        let resource = self.resource;
        core::mem::forget(self);
        resource.release_held()
    }

    /// The resource this guard holds.
    pub fn resource(&self) -> &'a Resource<M> {
        self.resource
    }

    /// Turns this guard into an [`OwnedGuard`], which borrows nothing and so
    /// can move into a spawned task or another thread.
    ///
    /// The hold passes from this guard to the owned one as it is: nothing is
    /// put, got, allocated or released, and gets of the resource keep waiting
    /// until the owned guard is dropped or released. The owned guard holds a
    /// handle of the resource, so the resource and its pool live as long as it
    /// does.
    ///
    /// # Examples
    ///
    /// ```
    /// use resourcepool::{AllocateRelease, Pool};
    ///
    /// struct Conn;
    /// impl AllocateRelease for Conn {
    ///     type Item = Vec<u8>;
    ///     type Error = std::io::Error;
    ///     async fn allocate(&self) -> Result<Vec<u8>, std::io::Error> { Ok(vec![]) }
    /// }
    ///
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// runtime.block_on(async {
    ///     let conn = Pool::new(1).create(Conn);
    ///     let mut guard = conn.get().await?.into_owned();
    ///     let task = tokio::spawn(async move {
    ///         guard.push(1);
    ///     }); // the task drops the guard: put
    ///     task.await.unwrap();
    ///     assert_eq!(conn.get().await?.len(), 1);
    ///     Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_owned(self) -> OwnedGuard<M> {
        let resource = self.resource.clone();
        core::mem::forget(self);
        OwnedGuard {
            resource,
            _item: PhantomData,
        }
    }
}

impl<M: AllocateRelease> Deref for Guard<'_, M> {
    type Target = M::Item;

    fn deref(&self) -> &M::Item {
        // SAFETY: a Guard exists only while its resource is HELD by it with an
        // item (ALLOCATED, not RELEASING), until its drop or `release`; the
        // borrow of `self` keeps the reference inside that span.
        #[allow(unsafe_code)]
        unsafe {
            &*self.resource.item()
        }
    }
}

impl<M: AllocateRelease> DerefMut for Guard<'_, M> {
    fn deref_mut(&mut self) -> &mut M::Item {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        #[allow(unsafe_code)]
        unsafe {
            &mut *self.resource.item()
        }
    }
}

impl<M: AllocateRelease> Drop for Guard<'_, M> {
    fn drop(&mut self) {
        self.resource.put();
    }
}

impl<M: AllocateRelease> fmt::Debug for Guard<'_, M>
where
    M::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("item", &**self).finish()
    }
}

/// Exclusive access to a resource's item, from [`Guard::into_owned`]: a
/// [`Guard`] that holds a handle of its resource instead of borrowing it, so
/// that it is `'static` and can move into a spawned task or another thread.
///
/// It holds the resource as the guard it came from did, and keeps the
/// resource and its pool alive. Dropping it is the same *put* as dropping a
/// `Guard`; if it held the last handle of the resource, the idle item is then
/// released and its charge freed, as when the last handle is dropped.
///
/// # Panics
///
/// Dropping it panics if [`AllocateRelease::release`] runs and panics (the
/// charge is freed first).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// use resourcepool::{AllocateRelease, Pool};
///
/// struct Conn;
/// impl AllocateRelease for Conn {
///     type Item = Vec<u8>;
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<Vec<u8>, std::io::Error> { Ok(vec![]) }
/// }
///
/// let conn = Pool::new(1).create(Conn);
/// let mut guard = conn.get().await?.into_owned();
/// let thread = std::thread::spawn(move || {
///     guard.push(1); // DerefMut to the item
/// });                // the thread drops the guard: put
/// thread.join().unwrap();
/// assert_eq!(conn.get().await?.len(), 1);
/// # Ok::<(), resourcepool::Error<std::io::Error>>(())
/// # }).unwrap();
/// ```
#[clippy::has_significant_drop]
#[must_use = "dropping the guard puts the resource back at once"]
pub struct OwnedGuard<M: AllocateRelease> {
    /// Dropped after the put, or moved out by `release`.
    resource: Resource<M>,
    /// The guard hands out `&mut M::Item`: it is `Send`/`Sync` as that is.
    _item: PhantomData<&'static mut M::Item>,
}

impl<M: AllocateRelease> OwnedGuard<M> {
    /// Releases the item now (say, after an I/O error), frees its charge, and
    /// lets go of the resource. The next get allocates afresh.
    ///
    /// # Errors
    ///
    /// What [`AllocateRelease::release`] returned. The charge is freed either way.
    ///
    /// # Panics
    ///
    /// If `release` panics (the charge is freed first).
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let conn = Pool::new(1).create(Conn);
    /// let guard = conn.get().await.unwrap().into_owned();
    /// guard.release()?;
    /// assert!(!conn.is_allocated());
    /// assert_eq!(conn.pool().stats().idle, 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn release(self) -> Result<(), M::Error> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the handle is
        // moved out of it once, and no put follows the release.
        #[allow(unsafe_code)]
        let resource = unsafe { core::ptr::read(&this.resource) };
        resource.release_held()
    }

    /// The resource this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// # use resourcepool::{AllocateRelease, Pool};
    /// # struct Conn;
    /// # impl AllocateRelease for Conn {
    /// #     type Item = ();
    /// #     type Error = std::io::Error;
    /// #     async fn allocate(&self) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// let conn = Pool::new(1).create(Conn);
    /// let guard = conn.get().await?.into_owned();
    /// drop(conn); // the guard keeps the resource, and its pool, alive
    /// assert_eq!(guard.resource().pool().stats().in_use, 1);
    /// # Ok::<(), resourcepool::Error<std::io::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn resource(&self) -> &Resource<M> {
        &self.resource
    }
}

impl<M: AllocateRelease> Deref for OwnedGuard<M> {
    type Target = M::Item;

    fn deref(&self) -> &M::Item {
        // SAFETY: an OwnedGuard exists only while its resource is HELD by it
        // (passed on by the Guard it came from) with an item (ALLOCATED, not
        // RELEASING), until its drop or `release`; the borrow of `self` keeps
        // the reference inside that span.
        #[allow(unsafe_code)]
        unsafe {
            &*self.resource.item()
        }
    }
}

impl<M: AllocateRelease> DerefMut for OwnedGuard<M> {
    fn deref_mut(&mut self) -> &mut M::Item {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        #[allow(unsafe_code)]
        unsafe {
            &mut *self.resource.item()
        }
    }
}

impl<M: AllocateRelease> Drop for OwnedGuard<M> {
    /// The put; then the handle is dropped (releasing the idle item if it was
    /// the last one).
    fn drop(&mut self) {
        self.resource.put();
    }
}

impl<M: AllocateRelease> fmt::Debug for OwnedGuard<M>
where
    M::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedGuard").field("item", &**self).finish()
    }
}

/// An `OwnedGuard` hands out `&mut` and `&` to its item, so it is `Sync` only
/// if the item is (it is `Send` all the same):
///
/// ```compile_fail
/// # use resourcepool::{AllocateRelease, OwnedGuard};
/// # use std::cell::Cell;
/// struct Unshared;
/// impl AllocateRelease for Unshared {
///     type Item = Cell<u32>;
///     type Error = std::io::Error;
///     async fn allocate(&self) -> Result<Cell<u32>, std::io::Error> { Ok(Cell::new(0)) }
/// }
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<OwnedGuard<Unshared>>();
/// ```
#[cfg(doctest)]
struct OwnedGuardIsSyncOnlyForASyncItem;
