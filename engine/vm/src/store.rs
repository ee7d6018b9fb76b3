//! The store: owner of every runtime object (functions, instances, memories, tables, globals,
//! external references). Handles are indices into it, so dropping the store frees everything
//! at once, cycles included (instances refer to their functions and tables to instances).

use crate::memory::{BoundsChecks, LinearMemory};
use crate::module::Module;
use crate::trap::Trap;
use crate::types::*;
use crate::vmctx::{VMContext, VMFuncRecord, VMRuntime, VMTableDefinition};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

pub type FuncAddr = u32;
pub type InstanceId = u32;
pub type MemAddr = u32;
pub type TableAddr = u32;
pub type GlobalAddr = u32;
pub type TagAddr = u32;
/// A canonical signature id: equal ids mean structurally equal function types.
pub type SigId = u32;

/// Reference cells: 0 is null, otherwise the address plus one.
pub fn funcref_cell(addr: FuncAddr) -> u64 {
    addr as u64 + 1
}
pub fn cell_funcref(cell: u64) -> Option<FuncAddr> {
    cell.checked_sub(1).map(|a| a as FuncAddr)
}

/// A host function: reads its arguments from and writes its results to raw 64-bit cells.
pub type HostFn =
    Arc<dyn Fn(&mut HostContext<'_>, &[u64], &mut [u64]) -> Result<(), Trap> + Send + Sync>;

/// What a host function sees: the store and the instance that called it, if any.
pub struct HostContext<'a> {
    pub store: &'a mut StoreInner,
    pub caller: Option<InstanceId>,
}

#[derive(Clone)]
pub enum FuncKind {
    /// Function `func_index` (in its module's function index space) of `instance`.
    Wasm {
        instance: InstanceId,
        func_index: u32,
    },
    Host(HostFn),
}

#[derive(Clone)]
pub struct FuncData {
    pub sig: SigId,
    pub kind: FuncKind,
}

#[derive(Debug)]
pub struct TableData {
    pub ty: TableType,
    /// The elements. Their number changes only through `grow`, which keeps `def` in step
    /// (JIT code reads the elements through it); writing elements in place is free.
    pub elems: Vec<u64>,
    /// Where JIT code finds the elements and their number (boxed: stable address).
    pub def: Box<VMTableDefinition>,
}

impl TableData {
    pub fn new(ty: TableType, elems: Vec<u64>) -> Self {
        let mut t = TableData {
            ty,
            elems,
            def: Box::new(VMTableDefinition {
                base: std::ptr::null_mut(),
                len: 0,
            }),
        };
        t.sync_def();
        t
    }
    /// Points `def` at the current elements.
    fn sync_def(&mut self) {
        self.def.base = self.elems.as_mut_ptr();
        self.def.len = self.elems.len() as u64;
    }
    pub fn max(&self) -> u64 {
        self.ty.limits.max.unwrap_or(u32::MAX as u64)
    }
    /// Grows by `delta` elements set to `init`; returns the old size or `None` (wasm -1).
    pub fn grow(&mut self, delta: u64, init: u64) -> Option<u64> {
        let old = self.elems.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.max() || new > MAX_TABLE_ELEMS {
            return None;
        }
        self.elems.resize(new as usize, init);
        self.sync_def();
        Some(old)
    }
    pub fn current_type(&self) -> TableType {
        let mut ty = self.ty;
        ty.limits.min = self.elems.len() as u64;
        ty
    }
}

#[derive(Debug, Clone, Copy)]
pub struct GlobalData {
    pub ty: GlobalType,
    /// The value's cell (a v128's low 64 bits).
    pub value: u64,
    /// A v128's high 64 bits (0 for every other type), right after `value`: a v128 global
    /// is two consecutive cells like a v128 in a frame.
    pub hi: u64,
}

impl GlobalData {
    /// The value as 128 bits (the high half is 0 unless the global is a v128).
    pub fn get128(&self) -> u128 {
        self.value as u128 | (self.hi as u128) << 64
    }
    /// Sets the value from 128 bits (a v128) or from its low cell (every other type).
    pub fn set128(&mut self, v: u128) {
        self.value = v as u64;
        self.hi = (v >> 64) as u64;
    }
}

#[derive(Debug, Clone)]
pub struct TagData {
    pub ty: TagType,
}

/// A module instance's runtime state.
pub struct InstanceData {
    pub module: Arc<Module>,
    /// Canonical signature per type index of the module.
    pub sigs: Box<[SigId]>,
    /// `VMFuncRecord::key(sigs[t], this instance)` per type index `t` (what
    /// `VMContext.sig_keys` points at).
    pub sig_keys: Box<[u64]>,
    /// Store address per function index (imports first).
    pub funcs: Box<[FuncAddr]>,
    pub tables: Box<[TableAddr]>,
    pub memories: Box<[MemAddr]>,
    pub globals: Box<[GlobalAddr]>,
    pub tags: Box<[TagAddr]>,
    /// Element segments as reference cells; emptied by `elem.drop`.
    pub elems: Vec<Box<[u64]>>,
    /// Data segments still available to `memory.init`.
    pub data_dropped: Vec<bool>,
    /// Address of each global's value cell, by global index (what `VMContext.globals` points at).
    pub global_cells: Box<[usize]>,
    /// Address of each memory's `VMMemoryDefinition`, by memory index (what
    /// `VMContext.memories` points at).
    pub memory_defs: Box<[usize]>,
    /// Address of each table's `VMTableDefinition`, by table index (what `VMContext.tables`
    /// points at).
    pub table_defs: Box<[usize]>,
    /// The context JIT code of this instance runs with (boxed: its address is stable).
    pub vmctx: Box<VMContext>,
}

/// Runtime limits and modes fixed when the store is created.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeConfig {
    pub bounds_checks: BoundsChecks,
    /// Wasm frames allowed on the stack before "call stack exhausted".
    pub max_call_depth: usize,
    /// 64-bit cells in the interpreter's value stack.
    pub max_stack_cells: usize,
    /// How the interpreter dispatches (none of it changes what a program computes).
    pub interp: InterpMode,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            bounds_checks: BoundsChecks::GuardPages,
            max_call_depth: 50_000,
            max_stack_cells: 1 << 20,
            interp: InterpMode::default(),
        }
    }
}

/// The interpreter's fast path: which code runs the translated instructions before the
/// executor's `match` takes what they leave to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InterpDispatch {
    /// Handlers written in x86-64 and generated at start-up (the default).
    Asm,
    /// Handlers written in Rust with tail-call threading (optimised builds only; the
    /// `match` loop otherwise).
    Rust,
    /// The executor's `match` loop alone: the reference semantics.
    Match,
}

/// What word 0 of an instruction holds for the generated handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InterpThreading {
    /// The handler's address (the handlers' code is mapped below 4 GiB); falls back to
    /// `Relative` where no such mapping can be had.
    Absolute,
    /// The handler's offset from the start of the handlers' code.
    Relative,
    /// A tag, looked up in a table of handler addresses.
    Table,
}

/// The interpreter's dispatch mode. Every mode computes the same results (the spec suite runs
/// under each); they exist to measure what each part of the fast path brings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InterpMode {
    pub dispatch: InterpDispatch,
    pub threading: InterpThreading,
    /// Handler variants that take an operand from the accumulator registers.
    pub accumulators: bool,
    /// Two consecutive instructions of a frequent pair run as one handler.
    pub superinstructions: bool,
}

impl InterpMode {
    /// The fastest mode, with no environment overrides.
    pub const FASTEST: InterpMode = InterpMode {
        dispatch: InterpDispatch::Asm,
        threading: InterpThreading::Absolute,
        accumulators: true,
        superinstructions: true,
    };

    /// Every mode the conformance tests run: the default, then each part turned off or
    /// replaced in turn, and the other two fast paths.
    pub fn all() -> [InterpMode; 8] {
        let f = InterpMode::FASTEST;
        let off = |accumulators, superinstructions| InterpMode {
            accumulators,
            superinstructions,
            ..f
        };
        let threading = |threading| InterpMode { threading, ..f };
        let dispatch = |dispatch| InterpMode { dispatch, ..f };
        [
            f,
            off(false, true),
            off(true, false),
            off(false, false),
            threading(InterpThreading::Relative),
            threading(InterpThreading::Table),
            dispatch(InterpDispatch::Rust),
            dispatch(InterpDispatch::Match),
        ]
    }

    /// `FASTEST` with the measurement overrides of the environment applied, for benchmarks
    /// of one part against another from the CLI: `STRATA_INTERP_DISPATCH=asm|rust|match`,
    /// `STRATA_INTERP_THREADING=absolute|relative|table`, `STRATA_INTERP_ACC=0`,
    /// `STRATA_INTERP_FUSE=0`. Read once per process.
    pub fn from_env() -> InterpMode {
        static MODE: std::sync::OnceLock<InterpMode> = std::sync::OnceLock::new();
        *MODE.get_or_init(|| {
            let var = |name: &str| std::env::var(name).ok();
            let f = InterpMode::FASTEST;
            InterpMode {
                dispatch: match var("STRATA_INTERP_DISPATCH").as_deref() {
                    Some("rust") => InterpDispatch::Rust,
                    Some("match") => InterpDispatch::Match,
                    _ => f.dispatch,
                },
                threading: match var("STRATA_INTERP_THREADING").as_deref() {
                    Some("relative") => InterpThreading::Relative,
                    Some("table") => InterpThreading::Table,
                    _ => f.threading,
                },
                accumulators: var("STRATA_INTERP_ACC").as_deref() != Some("0"),
                superinstructions: var("STRATA_INTERP_FUSE").as_deref() != Some("0"),
            }
        })
    }

    /// A short name for test reports, e.g. `asm-absolute-acc-fuse`.
    pub fn name(&self) -> String {
        let dispatch = match self.dispatch {
            InterpDispatch::Asm => "asm",
            InterpDispatch::Rust => return "rust".into(),
            InterpDispatch::Match => return "match".into(),
        };
        let threading = match self.threading {
            InterpThreading::Absolute => "absolute",
            InterpThreading::Relative => "relative",
            InterpThreading::Table => "table",
        };
        let acc = if self.accumulators { "-acc" } else { "" };
        let fuse = if self.superinstructions { "-fuse" } else { "" };
        format!("{dispatch}-{threading}{acc}{fuse}")
    }
}

impl Default for InterpMode {
    fn default() -> Self {
        InterpMode::from_env()
    }
}

#[derive(Default)]
pub struct SigRegistry {
    ids: HashMap<FuncType, SigId>,
    types: Vec<FuncType>,
}

impl SigRegistry {
    pub fn intern(&mut self, ty: &FuncType) -> SigId {
        if let Some(id) = self.ids.get(ty) {
            return *id;
        }
        let id = self.types.len() as SigId;
        self.types.push(ty.clone());
        self.ids.insert(ty.clone(), id);
        id
    }
    pub fn get(&self, id: SigId) -> &FuncType {
        &self.types[id as usize]
    }
}

pub struct StoreInner {
    /// Unique per process: handles carry it, so using one with another store is caught.
    pub id: u64,
    pub config: RuntimeConfig,
    pub sigs: SigRegistry,
    pub funcs: Vec<FuncData>,
    /// `funcs` as JIT code reads them, after `VMFuncRecord::NULL` (the record a null cell
    /// finds): `VMRuntime::func_records` and every `VMContext::func_records` point at
    /// element 1, the record of function address 0; kept in step by `push_func`.
    pub func_records: Vec<VMFuncRecord>,
    pub instances: Vec<InstanceData>,
    pub memories: Vec<LinearMemory>,
    pub tables: Vec<TableData>,
    /// Boxed: JIT code holds the address of each value cell.
    pub globals: Vec<Box<GlobalData>>,
    pub tags: Vec<TagData>,
    /// Exception objects (`exnref` cells point here; docs/abi.md §10).
    pub exns: crate::exn::ExnHeap,
    pub externs: Vec<Arc<dyn Any + Send + Sync>>,
    /// Value stacks to reuse across calls from the host.
    pub stack_pool: Vec<crate::ValueStack>,
    /// JIT execution state shared by the store's instances (boxed: stable address).
    pub runtime: Box<VMRuntime>,
    /// The tier manager, when functions move between tiers (`None`: every function stays
    /// in the tier it was prepared for).
    pub tier_hooks: Option<Arc<dyn crate::tiering::TierHooks>>,
    /// The tier this store's thread is executing in, for a profiler.
    pub tier_now: crate::tiering::TierNow,
}

impl StoreInner {
    pub fn new(config: RuntimeConfig) -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut store = StoreInner {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            config,
            sigs: SigRegistry::default(),
            funcs: Vec::new(),
            func_records: vec![VMFuncRecord::NULL],
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
            exns: Default::default(),
            externs: Vec::new(),
            stack_pool: Vec::new(),
            runtime: Box::new(VMRuntime {
                max_call_depth: config.max_call_depth,
                ..VMRuntime::default()
            }),
            tier_hooks: None,
            tier_now: Default::default(),
        };
        // Valid from the start: a null cell reads the `NULL` record before it.
        store.runtime.func_records = store.func_records[1..].as_ptr();
        store
    }

    pub fn func_type(&self, f: FuncAddr) -> &FuncType {
        self.sigs.get(self.funcs[f as usize].sig)
    }

    pub fn add_host_func(&mut self, ty: &FuncType, f: HostFn) -> FuncAddr {
        let sig = self.sigs.intern(ty);
        self.push_func(
            FuncData {
                sig,
                kind: FuncKind::Host(f),
            },
            None,
        )
    }

    /// Adds a function; `defined` is (instance, defined index) for a function defined by a
    /// wasm instance, which JIT code of that instance may call through its code slot.
    pub fn push_func(&mut self, f: FuncData, defined: Option<(InstanceId, u32)>) -> FuncAddr {
        let (instance, def_index) = defined.unwrap_or((VMFuncRecord::NO_INSTANCE, 0));
        self.func_records.push(VMFuncRecord {
            sig: f.sig,
            instance,
            def_index,
            _pad: 0,
        });
        self.funcs.push(f);
        let records = self.func_records[1..].as_ptr();
        if records != self.runtime.func_records {
            // The vector moved (amortised: only when it grows).
            self.runtime.func_records = records;
            for i in &mut self.instances {
                i.vmctx.func_records = records;
            }
        }
        (self.funcs.len() - 1) as FuncAddr
    }

    pub fn add_memory(&mut self, mem: LinearMemory) -> MemAddr {
        self.memories.push(mem);
        (self.memories.len() - 1) as MemAddr
    }

    pub fn add_table(&mut self, ty: TableType, init: u64) -> Result<TableAddr, String> {
        if ty.limits.min > MAX_TABLE_ELEMS {
            return Err(format!("table of {} elements is too large", ty.limits.min));
        }
        self.tables
            .push(TableData::new(ty, vec![init; ty.limits.min as usize]));
        Ok((self.tables.len() - 1) as TableAddr)
    }

    pub fn add_global(&mut self, ty: GlobalType, value: u64) -> GlobalAddr {
        self.add_global128(ty, value as u128)
    }

    /// Adds a global from 128 bits (a v128; only the low cell for other types).
    pub fn add_global128(&mut self, ty: GlobalType, value: u128) -> GlobalAddr {
        let hi = if ty.content == crate::ValType::V128 {
            (value >> 64) as u64
        } else {
            0
        };
        self.globals.push(Box::new(GlobalData {
            ty,
            value: value as u64,
            hi,
        }));
        (self.globals.len() - 1) as GlobalAddr
    }

    pub fn add_tag(&mut self, ty: TagType) -> TagAddr {
        self.tags.push(TagData { ty });
        (self.tags.len() - 1) as TagAddr
    }

    /// Stores a host object for an externref; returns its reference cell.
    pub fn add_extern(&mut self, value: Arc<dyn Any + Send + Sync>) -> u64 {
        self.externs.push(value);
        self.externs.len() as u64
    }

    /// A value stack for one activation from the host, reused when possible.
    pub fn take_stack(&mut self) -> crate::ValueStack {
        self.stack_pool
            .pop()
            .unwrap_or_else(|| crate::ValueStack::new(self.config.max_stack_cells))
    }

    pub fn return_stack(&mut self, stack: crate::ValueStack) {
        if self.stack_pool.len() < 4 {
            self.stack_pool.push(stack);
        }
    }
}
