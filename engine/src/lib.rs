//! # Strata
//!
//! A WebAssembly engine built as a research platform for tiered execution. The embedding API
//! follows the WebAssembly JavaScript interface, as idiomatic Rust, with what Rust embedders
//! know from wasmtime beside it:
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
//! | wasmtime | Strata |
//! |---|---|
//! | `Store<T>`, `Caller<T>::data_mut` | [`Store<T>`](Store), [`Caller::data_mut`] |
//! | `Func::wrap`, `TypedFunc` | [`Func::wrap`], [`TypedFunc`] |
//! | `Linker` | [`Linker`] |
//! | `wasmtime-wasi` | the `strata-wasi` crate (`WasiCtxBuilder`, `add_to_linker`) |
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
//!
//! ## Host state and host functions
//!
//! ```
//! use strata::*;
//! let engine = Engine::default();
//! let mut linker = Linker::<Vec<String>>::new(&engine);
//! linker.func_wrap("env", "log", |mut caller: Caller<'_, Vec<String>>, x: i32| {
//!     caller.data_mut().push(format!("log {x}"));
//! }).unwrap();
//! let module = Module::new(&engine, r#"(module (import "env" "log" (func $log (param i32)))
//!     (func (export "run") (call $log (i32.const 42))))"#).unwrap();
//! let mut store = Store::with_data(&engine, Vec::new());
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! instance.get_typed_func::<(), ()>(&store, "run").unwrap().call(&mut store, ()).unwrap();
//! assert_eq!(store.data(), &["log 42"]);
//! ```
//!
//! ## Choosing a tier and a tiering policy
//!
//! [`Engine::default()`] runs tiered execution, as `strata run` does: functions start in the
//! interpreter and move to the baseline JIT (with on-stack replacement for hot loops) under
//! the default counters policy, compiled on background threads. A [`Config`] picks anything
//! else:
//!
//! ```
//! use strata::{Config, Engine, Tier};
//! // One tier for everything.
//! let interp = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
//! let baseline = Engine::new(Config::default().tier(Tier::Baseline)).unwrap();
//! // Tiered, with a policy in its command-line spelling (see `tiering::parse_policy`) ...
//! let eager = Engine::new(
//!     Config::default()
//!         .tier(Tier::Tiered)
//!         .tiering("counters:call=2,loop=100")
//!         .unwrap()
//!         .compile_threads(1),
//! )
//! .unwrap();
//! // ... or written in Rust: `Config::policy(impl TierPolicy)`, as in
//! // `examples/custom_policy.rs`.
//! # let _ = (interp, baseline, eager);
//! ```
//!
//! A tier this build cannot run (the optimizing tier, for now) is a [`ConfigError`] from
//! [`Engine::new`], never a surprise at run time.

#![warn(missing_docs)]

mod config;
pub mod conformance;
mod demangle;
mod error;
mod exec;
mod externals;
mod func;
mod host_data;
mod instance;
mod interrupt;
mod linker;
mod module;
mod store;
pub mod tiering;
mod values;

pub use config::{BoundsChecks, Config, Engine, InterpDispatch, InterpMode, InterpThreading, Tier};
pub use error::{CompileError, ConfigError, Error, Frame, LinkError, RuntimeError};
pub use externals::{Exception, Extern, Global, Memory, Table, Tag};
pub use func::{Func, IntoFunc, RawHostFn, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use instance::{Imports, Instance};
pub use linker::Linker;
pub use module::{supported_features, validate, ExportType, ImportType, Module};
pub use store::{AsStore, AsStoreMut, Caller, Store};
pub use strata_vm::module::{set_simd_enabled, simd_enabled};
pub use strata_vm::{
    ExternType, FrameInfo, FuncType, GlobalType, Limits, MemoryType, TableType, TagType, Trap,
    TrapCode, ValType,
};
pub use values::{ExternRef, Val};
