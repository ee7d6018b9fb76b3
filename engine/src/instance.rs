//! Instances and the import object they are created from.

use crate::error::{Error, LinkError, RuntimeError};
use crate::externals::{Extern, Global, Memory, Table};
use crate::func::{Func, TypedFunc, WasmParams, WasmResults};
use crate::module::Module;
use crate::store::{check_store, AsStore, AsStoreMut};
use std::collections::HashMap;
use strata_vm::module::ExportKind;
use strata_vm::{ExternAddr, InstanceId, InstantiateError, StoreInner};

/// Imports keyed by module and name (the JS interface's import object).
#[derive(Clone, Debug, Default)]
pub struct Imports {
    map: HashMap<(String, String), Extern>,
}

impl Imports {
    /// An empty import object.
    pub fn new() -> Self {
        Self::default()
    }
    /// Defines `module`.`name` (a later definition replaces an earlier one).
    pub fn define(&mut self, module: &str, name: &str, value: impl Into<Extern>) -> &mut Self {
        self.map
            .insert((module.to_string(), name.to_string()), value.into());
        self
    }
    /// The definition of `module`.`name`.
    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.map
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }
    /// Makes every export of `instance` importable under module name `module`.
    pub fn define_instance(&mut self, store: impl AsStore, module: &str, instance: &Instance) {
        for (name, ext) in instance.exports(&store) {
            self.define(module, &name, ext);
        }
    }
}

/// An instantiated module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    store_id: u64,
    id: InstanceId,
}

pub(crate) fn export_of(store: &StoreInner, instance: InstanceId, name: &str) -> Option<Extern> {
    let data = &store.instances[instance as usize];
    let export = &data.module.exports[*data.module.export_index.get(name)?];
    let i = export.index as usize;
    let addr = match export.kind {
        ExportKind::Func => ExternAddr::Func(data.funcs[i]),
        ExportKind::Table => ExternAddr::Table(data.tables[i]),
        ExportKind::Memory => ExternAddr::Memory(data.memories[i]),
        ExportKind::Global => ExternAddr::Global(data.globals[i]),
        ExportKind::Tag => ExternAddr::Tag(data.tags[i]),
    };
    Some(Extern::from_addr(store.id, addr))
}

impl Instance {
    /// Links `module` against `imports`, initialises it and runs its start function.
    pub fn new(
        mut store: impl AsStoreMut,
        module: &Module,
        imports: &Imports,
    ) -> Result<Instance, Error> {
        let engine = store.engine().clone();
        let inner = store.inner_mut();
        let env = &module.inner;
        let mut addrs = Vec::with_capacity(env.imports.len());
        for import in &env.imports {
            let link_error = |reason: String| LinkError {
                module: import.module.clone(),
                name: import.name.clone(),
                reason,
            };
            let ext = imports
                .get(&import.module, &import.name)
                .ok_or_else(|| link_error("unknown import".into()))?;
            let (id, addr) = ext.addr();
            if id != inner.id {
                return Err(link_error("the import belongs to another store".into()).into());
            }
            addrs.push(addr);
        }
        let id = strata_vm::instantiate(inner, env, &addrs).map_err(|e| match e {
            InstantiateError::Link { index, reason } => Error::Link(LinkError {
                module: env.imports[index].module.clone(),
                name: env.imports[index].name.clone(),
                reason,
            }),
            InstantiateError::Resource(m) => Error::Range(m),
            InstantiateError::Trap(t) => Error::Runtime(RuntimeError::in_store(t, inner)),
        })?;
        crate::exec::prepare_instance(&engine, inner, id)
            .map_err(|t| Error::Runtime(RuntimeError::in_store(t, inner)))?;
        if let Some(start) = env.start {
            let addr = inner.instances[id as usize].funcs[start as usize];
            crate::exec::invoke(&engine, inner, addr, &[], &mut []).map_err(|t| {
                crate::func::resume_host_panic();
                Error::Runtime(RuntimeError::in_store(t, inner))
            })?;
        }
        Ok(Instance {
            store_id: inner.id,
            id,
        })
    }

    /// The runtime's view of the instance's module.
    pub fn module(&self, store: impl AsStore) -> std::sync::Arc<strata_vm::Module> {
        check_store(store.inner(), self.store_id);
        store.inner().instances[self.id as usize].module.clone()
    }

    /// Every export, in the module's order.
    pub fn exports(&self, store: impl AsStore) -> Vec<(String, Extern)> {
        let inner = store.inner();
        check_store(inner, self.store_id);
        let module = &inner.instances[self.id as usize].module;
        module
            .exports
            .iter()
            .filter_map(|e| Some((e.name.clone(), export_of(inner, self.id, &e.name)?)))
            .collect()
    }

    /// The export called `name`.
    pub fn get_export(&self, store: impl AsStore, name: &str) -> Option<Extern> {
        check_store(store.inner(), self.store_id);
        export_of(store.inner(), self.id, name)
    }
    /// The exported function called `name`.
    pub fn get_func(&self, store: impl AsStore, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }
    /// The exported memory called `name`.
    pub fn get_memory(&self, store: impl AsStore, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }
    /// The exported table called `name`.
    pub fn get_table(&self, store: impl AsStore, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }
    /// The exported global called `name`.
    pub fn get_global(&self, store: impl AsStore, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }
    /// The exported function called `name`, checked against the type `P -> R`.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsStore,
        name: &str,
    ) -> Result<TypedFunc<P, R>, Error> {
        let func = self
            .get_func(&store, name)
            .ok_or_else(|| Error::Type(format!("no exported function `{name}`")))?;
        func.typed(&store)
    }
}
