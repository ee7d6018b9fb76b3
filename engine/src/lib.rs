//! # Strata
//!
//! A WebAssembly engine built as a research platform for tiered execution. The embedding API
//! follows the WebAssembly JavaScript interface, as idiomatic Rust:
//!
//! | JS interface | Strata |
//! |---|---|
//! | `WebAssembly.validate` | [`validate`] |
//! | `WebAssembly.Module`, `compile`, `compileStreaming` | [`Module::new`], [`Module::from_reader`] |
//! | `Module.imports/exports/customSections` | [`Module::imports`], [`Module::exports`], [`Module::custom_sections`] |
//! | `WebAssembly.Instance` | [`Instance::new`] with [`Imports`] |
//! | `Memory`, `Table`, `Global`, `Tag`, `Exception` | [`Memory`], [`Table`], [`Global`], [`Tag`], [`Exception`] |
//! | `CompileError`, `LinkError`, `RuntimeError` | [`CompileError`], [`LinkError`], [`RuntimeError`] |
//!
//! Runtime objects live in a [`Store`]; handles are cheap `Copy` values that refer into it.
//!
//! ```
//! use strata::*;
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let mut store = Store::new(&engine);
//! let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
//! let add = instance.get_typed_func::<(i32, i32), i32>(&store, "add").unwrap();
//! assert_eq!(add.call(&mut store, (2, 3)).unwrap(), 5);
//! ```

mod config;
pub mod conformance;
mod error;
mod exec;
mod externals;
mod func;
mod instance;
mod module;
mod store;
pub mod tiering;
mod values;

pub use config::{BoundsChecks, Config, Engine, InterpDispatch, InterpMode, InterpThreading, Tier};
pub use error::{CompileError, ConfigError, Error, LinkError, RuntimeError};
pub use externals::{Exception, Extern, Global, Memory, Table, Tag};
pub use func::{Func, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use instance::{Imports, Instance};
pub use module::{validate, ExportType, ImportType, Module};
pub use store::{AsStore, AsStoreMut, Caller, Store};
pub use strata_vm::module::{set_simd_enabled, simd_enabled};
pub use strata_vm::{
    ExternType, FrameInfo, FuncType, GlobalType, Limits, MemoryType, TableType, TagType, Trap,
    TrapCode, ValType,
};
pub use values::{ExternRef, Val};
