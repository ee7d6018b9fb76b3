//! The store: the owner of every runtime object (the JS interface's "agent"). Objects are
//! handles into a store; dropping the store frees them all.

use crate::config::Engine;
use crate::externals::Extern;
use strata_vm::{InstanceId, StoreInner};

/// Owns instances, memories, tables, globals and functions.
pub struct Store {
    pub(crate) inner: StoreInner,
    pub(crate) engine: Engine,
}

impl Store {
    pub fn new(engine: &Engine) -> Store {
        let mut inner = StoreInner::new(engine.config().runtime());
        crate::interrupt::attach(engine, &mut inner);
        if let Some(manager) = engine.tier_manager() {
            manager.register_store(inner.tier_now.cell());
            inner.tier_hooks = Some(manager.clone());
        }
        Store {
            inner,
            engine: engine.clone(),
        }
    }
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.inner.id)
            .field("instances", &self.inner.instances.len())
            .finish_non_exhaustive()
    }
}

/// What a host function receives: access to the store and to the calling instance.
pub struct Caller<'a> {
    pub(crate) inner: &'a mut StoreInner,
    pub(crate) engine: &'a Engine,
    pub(crate) instance: Option<InstanceId>,
}

impl Caller<'_> {
    /// An export of the calling instance (WASI uses it to find `memory`).
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let instance = self.instance?;
        crate::instance::export_of(self.inner, instance, name)
    }
    pub fn engine(&self) -> &Engine {
        self.engine
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Read access to a store: implemented by [`Store`] and [`Caller`].
pub trait AsStore: sealed::Sealed {
    #[doc(hidden)]
    fn inner(&self) -> &StoreInner;
}

/// Write access to a store: implemented by [`Store`] and [`Caller`].
pub trait AsStoreMut: AsStore {
    #[doc(hidden)]
    fn inner_mut(&mut self) -> &mut StoreInner;
    #[doc(hidden)]
    fn engine(&self) -> &Engine;
}

impl sealed::Sealed for Store {}
impl AsStore for Store {
    fn inner(&self) -> &StoreInner {
        &self.inner
    }
}
impl AsStoreMut for Store {
    fn inner_mut(&mut self) -> &mut StoreInner {
        &mut self.inner
    }
    fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl sealed::Sealed for Caller<'_> {}
impl AsStore for Caller<'_> {
    fn inner(&self) -> &StoreInner {
        self.inner
    }
}
impl AsStoreMut for Caller<'_> {
    fn inner_mut(&mut self) -> &mut StoreInner {
        self.inner
    }
    fn engine(&self) -> &Engine {
        self.engine
    }
}

impl<T: AsStore + ?Sized> sealed::Sealed for &T {}
impl<T: AsStore + ?Sized> AsStore for &T {
    fn inner(&self) -> &StoreInner {
        (**self).inner()
    }
}
impl<T: AsStore + ?Sized> sealed::Sealed for &mut T {}
impl<T: AsStore + ?Sized> AsStore for &mut T {
    fn inner(&self) -> &StoreInner {
        (**self).inner()
    }
}
impl<T: AsStoreMut + ?Sized> AsStoreMut for &mut T {
    fn inner_mut(&mut self) -> &mut StoreInner {
        (**self).inner_mut()
    }
    fn engine(&self) -> &Engine {
        (**self).engine()
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
