//! The store: the owner of every runtime object (the JS interface's "agent") and of the
//! embedder's host state `T`. Objects are handles into a store; dropping the store frees them
//! all.

use crate::config::Engine;
use crate::externals::Extern;
use crate::host_data::{DataPtr, HostData};
use std::marker::PhantomData;
use strata_vm::{InstanceId, StoreInner};

/// Owns instances, memories, tables, globals and functions, and the host state `T` that host
/// functions reach through [`Caller::data`] and [`Caller::data_mut`].
///
/// `T` defaults to `()`: `Store::new(&engine)` is a store without host state;
/// [`Store::with_data`] gives one.
///
/// ```
/// use strata::*;
/// let engine = Engine::default();
/// let mut store = Store::with_data(&engine, 0u32);
/// let count = Func::wrap(&mut store, |mut caller: Caller<'_, u32>| {
///     *caller.data_mut() += 1;
/// });
/// count.call(&mut store, &[]).unwrap();
/// assert_eq!(*store.data(), 1);
/// ```
pub struct Store<T = ()> {
    pub(crate) inner: StoreInner,
    pub(crate) engine: Engine,
    data: HostData<T>,
    // FUEL: the `fuel` branch adds the store's fuel and epoch deadline API here
    // (`set_fuel`, `get_fuel`, `set_epoch_deadline`): the state belongs in `inner`.
}

impl Store<()> {
    /// A store without host state.
    pub fn new(engine: &Engine) -> Store<()> {
        Store::with_data(engine, ())
    }
}

impl<T> Store<T> {
    /// A store whose host functions can reach `data` through their [`Caller`].
    pub fn with_data(engine: &Engine, data: T) -> Store<T> {
        let mut inner = StoreInner::new(engine.config().runtime());
        if let Some(manager) = engine.tier_manager() {
            manager.register_store(inner.tier_now.cell());
            inner.tier_hooks = Some(manager.clone());
        }
        Store {
            inner,
            engine: engine.clone(),
            data: HostData::new(data),
        }
    }

    /// The engine the store was created with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The host state.
    pub fn data(&self) -> &T {
        self.data.get()
    }

    /// The host state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Drops every runtime object of the store and returns its host state.
    pub fn into_data(self) -> T {
        let Store { inner, data, .. } = self;
        // The store's host functions hold copies of the data pointer: free them first.
        drop(inner);
        data.into_inner()
    }
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.id)
            .field("instances", &self.inner.instances.len())
            .finish_non_exhaustive()
    }
}

/// What a host function receives: the store (its host state, its objects) and the calling
/// instance. Pass `&mut caller` wherever a store is expected.
pub struct Caller<'a, T = ()> {
    pub(crate) inner: &'a mut StoreInner,
    pub(crate) engine: &'a Engine,
    pub(crate) instance: Option<InstanceId>,
    pub(crate) data: DataPtr<T>,
    pub(crate) _data: PhantomData<&'a mut T>,
}

impl<T> Caller<'_, T> {
    /// An export of the calling instance (WASI uses it to find `memory`).
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let instance = self.instance?;
        crate::instance::export_of(self.inner, instance, name)
    }

    /// The engine of the store.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    /// The store's host state.
    pub fn data(&self) -> &T {
        // SAFETY: a `Caller` exists only during a host call, while its store is borrowed
        // mutably by that call; `&self` keeps `data_mut` from handing out `&mut T` meanwhile,
        // and nested calls need `&mut self`, so no reference from an outer `Caller` is alive.
        unsafe { self.data.as_ref() }
    }

    /// The store's host state, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        // SAFETY: as in `data`; `&mut self` makes this the only reference from this caller.
        unsafe { self.data.as_mut() }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Read access to a store: implemented by [`Store`], [`Caller`] and references to them.
pub trait AsStore: sealed::Sealed {
    /// The store's host state type.
    type Data;
    #[doc(hidden)]
    fn inner(&self) -> &StoreInner;
}

/// Write access to a store: implemented by [`Store`], [`Caller`] and `&mut` references to
/// them.
pub trait AsStoreMut: AsStore {
    #[doc(hidden)]
    fn inner_mut(&mut self) -> &mut StoreInner;
    #[doc(hidden)]
    fn engine(&self) -> &Engine;
    /// The address of the store's host state, for the host functions created in it.
    #[doc(hidden)]
    fn data_ptr(&mut self) -> *mut Self::Data;
    /// The store's objects and host state at once (borrowed apart).
    #[doc(hidden)]
    fn inner_and_data(&mut self) -> (&mut StoreInner, &mut Self::Data);
}

impl<T> sealed::Sealed for Store<T> {}
impl<T> AsStore for Store<T> {
    type Data = T;
    fn inner(&self) -> &StoreInner {
        &self.inner
    }
}
impl<T> AsStoreMut for Store<T> {
    fn inner_mut(&mut self) -> &mut StoreInner {
        &mut self.inner
    }
    fn engine(&self) -> &Engine {
        &self.engine
    }
    fn data_ptr(&mut self) -> *mut T {
        self.data.ptr()
    }
    fn inner_and_data(&mut self) -> (&mut StoreInner, &mut T) {
        (&mut self.inner, self.data.get_mut())
    }
}

impl<T> sealed::Sealed for Caller<'_, T> {}
impl<T> AsStore for Caller<'_, T> {
    type Data = T;
    fn inner(&self) -> &StoreInner {
        self.inner
    }
}
impl<T> AsStoreMut for Caller<'_, T> {
    fn inner_mut(&mut self) -> &mut StoreInner {
        self.inner
    }
    fn engine(&self) -> &Engine {
        self.engine
    }
    fn data_ptr(&mut self) -> *mut T {
        self.data.0
    }
    fn inner_and_data(&mut self) -> (&mut StoreInner, &mut T) {
        // SAFETY: as in `Caller::data_mut`; the store's objects are a separate allocation.
        (self.inner, unsafe { self.data.as_mut() })
    }
}

impl<S: AsStore + ?Sized> sealed::Sealed for &S {}
impl<S: AsStore + ?Sized> AsStore for &S {
    type Data = S::Data;
    fn inner(&self) -> &StoreInner {
        (**self).inner()
    }
}
impl<S: AsStore + ?Sized> sealed::Sealed for &mut S {}
impl<S: AsStore + ?Sized> AsStore for &mut S {
    type Data = S::Data;
    fn inner(&self) -> &StoreInner {
        (**self).inner()
    }
}
impl<S: AsStoreMut + ?Sized> AsStoreMut for &mut S {
    fn inner_mut(&mut self) -> &mut StoreInner {
        (**self).inner_mut()
    }
    fn engine(&self) -> &Engine {
        (**self).engine()
    }
    fn data_ptr(&mut self) -> *mut S::Data {
        (**self).data_ptr()
    }
    fn inner_and_data(&mut self) -> (&mut StoreInner, &mut S::Data) {
        (**self).inner_and_data()
    }
}

/// Panics when a handle is used with a store it does not belong to: that is a bug in the
/// embedder, like indexing a slice out of bounds.
pub(crate) fn check_store(inner: &StoreInner, store_id: u64) {
    assert_eq!(
        inner.id, store_id,
        "a Strata object was used with a store it does not belong to"
    );
}
