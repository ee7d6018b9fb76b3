//! `Linker`: names for imports, defined once and used to instantiate many modules (wasmtime's
//! `Linker`). Beside [`Imports`], which holds objects of one store, a linker also holds host
//! functions that are not yet in any store: [`Linker::func_wrap`] and [`Linker::func_new`]
//! define them, and each store gets its own copy the first time an instantiation needs it.

use crate::config::Engine;
use crate::error::{Error, LinkError};
use crate::externals::Extern;
use crate::func::{dynamic_host_fn, Func, IntoFunc, RawHostFn};
use crate::instance::{Imports, Instance};
use crate::module::Module;
use crate::store::{AsStore, AsStoreMut, Caller};
use crate::values::Val;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use strata_vm::{ExternType, FuncType, Trap};

/// A set of named definitions to instantiate modules against.
///
/// # Shadowing
/// By default a name can be defined once: defining `module`.`name` again is an error, so an
/// accidental clash (two WASI implementations, an instance exporting a name the host already
/// provides) is caught where it happens. With [`Linker::allow_shadowing`] a later definition
/// replaces the earlier one instead, whatever their kinds.
///
/// ```
/// use strata::*;
/// let engine = Engine::default();
/// let mut linker = Linker::<u32>::new(&engine);
/// linker.func_wrap("host", "bump", |mut caller: Caller<'_, u32>, by: u32| {
///     *caller.data_mut() += by;
/// }).unwrap();
/// let module = Module::new(&engine, r#"(module
///     (import "host" "bump" (func $bump (param i32)))
///     (func (export "run") (call $bump (i32.const 5))))"#).unwrap();
/// let mut store = Store::with_data(&engine, 0u32);
/// let instance = linker.instantiate(&mut store, &module).unwrap();
/// instance.get_typed_func::<(), ()>(&store, "run").unwrap().call(&mut store, ()).unwrap();
/// assert_eq!(*store.data(), 5);
/// ```
pub struct Linker<T = ()> {
    engine: Engine,
    defs: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

enum Definition<T> {
    /// An object of one store.
    Extern(Extern),
    /// A host function, copied into each store that needs it.
    Host(Arc<HostDef<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::Host(h) => Definition::Host(h.clone()),
        }
    }
}

struct HostDef<T> {
    ty: FuncType,
    raw: RawHostFn<T>,
    /// The copy in each store it was used with, by store id: instantiating many modules in
    /// one store makes one function, not one per instantiation. Store ids are never reused
    /// and a dead store is not seen here, so the map is cleared when it reaches
    /// [`MAX_CACHED_STORES`] (a live store then just gets another copy).
    per_store: Mutex<HashMap<u64, Func>>,
}

/// Stores whose copy of a host function is remembered at once.
const MAX_CACHED_STORES: usize = 64;

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            defs: self.defs.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<String> = self.defs.keys().map(|(m, n)| format!("{m}.{n}")).collect();
        names.sort();
        f.debug_struct("Linker")
            .field("definitions", &names)
            .field("allow_shadowing", &self.allow_shadowing)
            .finish()
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for stores of `engine`.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// The engine the linker was created for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition of a name replaces an earlier one (`true`) or is an error
    /// (`false`, the default). See [shadowing](Linker#shadowing).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<(), Error> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.defs.contains_key(&key) {
            return Err(Error::Link(LinkError {
                module: module.to_string(),
                name: name.to_string(),
                reason: "defined twice in the linker (see Linker::allow_shadowing)".into(),
            }));
        }
        self.defs.insert(key, def);
        Ok(())
    }

    /// Defines `module`.`name` as an object of a store (that store's instantiations only).
    pub fn define(
        &mut self,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self, Error> {
        self.insert(module, name, Definition::Extern(item.into()))?;
        Ok(self)
    }

    /// Defines `module`.`name` as a host function from a typed closure (see
    /// [`Func::wrap`]); usable with any store of the linker's engine.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self, Error> {
        let (ty, raw) = f.into_raw_host();
        self.func_raw(module, name, ty, raw)
    }

    /// Defines `module`.`name` as a host function of type `ty` over [`Val`]s (see
    /// [`Func::new`]); usable with any store of the linker's engine.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Result<&mut Self, Error> {
        let raw = dynamic_host_fn(ty.clone(), f);
        self.func_raw(module, name, ty, raw)
    }

    fn func_raw(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        raw: RawHostFn<T>,
    ) -> Result<&mut Self, Error> {
        let def = HostDef {
            ty,
            raw,
            per_store: Mutex::default(),
        };
        self.insert(module, name, Definition::Host(Arc::new(def)))?;
        Ok(self)
    }

    /// Defines every export of `instance` under the module name `module` (wasmtime's
    /// `Linker::instance`). With shadowing off, a clash with any earlier name is an error and
    /// nothing is defined.
    pub fn define_instance(
        &mut self,
        store: impl AsStore<Data = T>,
        module: &str,
        instance: &Instance,
    ) -> Result<&mut Self, Error> {
        let exports = instance.exports(&store);
        if !self.allow_shadowing {
            if let Some((name, _)) = exports
                .iter()
                .find(|(n, _)| self.defs.contains_key(&(module.to_string(), n.clone())))
            {
                return Err(Error::Link(LinkError {
                    module: module.to_string(),
                    name: name.clone(),
                    reason: "defined twice in the linker (see Linker::allow_shadowing)".into(),
                }));
            }
        }
        for (name, ext) in exports {
            self.insert(module, &name, Definition::Extern(ext))?;
        }
        Ok(self)
    }

    /// Instantiates `module` and defines its exports under `name` (so later modules can
    /// import from it); returns the instance.
    pub fn module(
        &mut self,
        mut store: impl AsStoreMut<Data = T>,
        name: &str,
        module: &Module,
    ) -> Result<Instance, Error> {
        let instance = self.instantiate(&mut store, module)?;
        self.define_instance(&store, name, &instance)?;
        Ok(instance)
    }

    /// Whether `module`.`name` is defined.
    pub fn contains(&self, module: &str, name: &str) -> bool {
        self.defs
            .contains_key(&(module.to_string(), name.to_string()))
    }

    /// The definition of `module`.`name` as an object of `store` (a host function is put in
    /// the store on first use).
    pub fn get(
        &self,
        mut store: impl AsStoreMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        match self.defs.get(&(module.to_string(), name.to_string()))? {
            Definition::Extern(e) => Some(*e),
            Definition::Host(h) => {
                let id = store.inner().id;
                let mut cache = h.per_store.lock().unwrap_or_else(PoisonError::into_inner);
                if cache.len() >= MAX_CACHED_STORES && !cache.contains_key(&id) {
                    cache.clear();
                }
                let func = *cache
                    .entry(id)
                    .or_insert_with(|| Func::from_raw_host(&mut store, &h.ty, h.raw.clone()));
                Some(Extern::Func(func))
            }
        }
    }

    /// The import object for `module` in `store`: every import it declares, resolved here.
    /// A name the linker does not define is a link error.
    pub fn imports(
        &self,
        mut store: impl AsStoreMut<Data = T>,
        module: &Module,
    ) -> Result<Imports, Error> {
        let mut imports = Imports::new();
        for import in module.imports() {
            let ext = self
                .get(&mut store, &import.module, &import.name)
                .ok_or_else(|| LinkError {
                    module: import.module.clone(),
                    name: import.name.clone(),
                    reason: "unknown import (not defined in the linker)".into(),
                })?;
            imports.define(&import.module, &import.name, ext);
        }
        Ok(imports)
    }

    /// Links `module` against the linker's definitions and instantiates it in `store`
    /// (running its start function). Types are checked as by [`Instance::new`].
    pub fn instantiate(
        &self,
        mut store: impl AsStoreMut<Data = T>,
        module: &Module,
    ) -> Result<Instance, Error> {
        let imports = self.imports(&mut store, module)?;
        Instance::new(&mut store, module, &imports)
    }

    /// Defines every function `module` imports that the linker does not define as a host
    /// function of the declared type that traps when called (wasmtime's
    /// `define_unknown_imports_as_traps`). Other kinds of import are left undefined.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<(), Error> {
        for import in module.imports() {
            let ExternType::Func(ty) = &import.ty else {
                continue;
            };
            if self.contains(&import.module, &import.name) {
                continue;
            }
            let what = format!("{}.{}", import.module, import.name);
            self.func_new(&import.module, &import.name, ty.clone(), move |_, _, _| {
                Err(Trap::host(format!("unknown import `{what}` was called")))
            })?;
        }
        Ok(())
    }
}
