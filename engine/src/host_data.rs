//! The host state of a [`Store<T>`](crate::Store): one heap allocation at a stable address,
//! so host functions created in the store can reach it while the store itself is borrowed
//! for a call. All of the crate's `unsafe` for host state is here.

use std::marker::PhantomData;
use std::ptr::NonNull;

/// Owns the `T` of a store. Not a `Box`: a `Box` asserts uniqueness whenever the store is
/// moved or borrowed, while host functions keep a raw pointer to the same value.
pub(crate) struct HostData<T> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

impl<T> HostData<T> {
    pub(crate) fn new(value: T) -> Self {
        HostData {
            ptr: NonNull::from(Box::leak(Box::new(value))),
            _owns: PhantomData,
        }
    }

    pub(crate) fn get(&self) -> &T {
        // SAFETY: `ptr` came from `Box::leak` and is freed only in `drop`/`into_inner`.
        // Host functions dereference their copy only during a call, which borrows the store
        // (and so this `HostData`) mutably: no `&T` from here is alive then.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: as in `get`; `&mut self` makes this the only reference.
        unsafe { self.ptr.as_mut() }
    }

    pub(crate) fn ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    pub(crate) fn into_inner(self) -> T {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: `ptr` came from `Box::leak`; `forget` keeps `drop` from freeing it again.
        *unsafe { Box::from_raw(ptr.as_ptr()) }
    }
}

impl<T> Drop for HostData<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `Box::leak` and is freed only here (or in `into_inner`,
        // which forgets `self`).
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

// SAFETY: `HostData<T>` owns a `T` like a `Box<T>` does.
unsafe impl<T: Send> Send for HostData<T> {}
// SAFETY: as above: shared access gives only `&T`.
unsafe impl<T: Sync> Sync for HostData<T> {}

/// A host function's copy of its store's data pointer.
pub(crate) struct DataPtr<T>(pub(crate) *mut T);

impl<T> Clone for DataPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for DataPtr<T> {}

impl<T> DataPtr<T> {
    /// The store's data for the duration of one host call, shared.
    ///
    /// # Safety
    /// As for [`DataPtr::as_mut`], except that other shared references may be alive.
    pub(crate) unsafe fn as_ref<'a>(self) -> &'a T {
        // SAFETY: the caller keeps the contract above; the pointer is never null.
        unsafe { &*self.0 }
    }

    /// The store's data for the duration of one host call.
    ///
    /// # Safety
    /// Only while the store that owns the data is borrowed for the call that runs the host
    /// function, and while no other reference made from this pointer is alive.
    pub(crate) unsafe fn as_mut<'a>(self) -> &'a mut T {
        // SAFETY: the caller keeps the contract above; the pointer is never null (it is a
        // `NonNull` of `HostData`).
        unsafe { &mut *self.0 }
    }
}

// SAFETY: host functions must be `Send + Sync` because the store's function table is; the
// pointer is only dereferenced on the thread that holds the store mutably for a call, and a
// `Store<T>` is `Send` only when `T` is.
unsafe impl<T> Send for DataPtr<T> {}
// SAFETY: as above: a shared `DataPtr` is never dereferenced without the store's `&mut`.
unsafe impl<T> Sync for DataPtr<T> {}
