//! The baseline tier: a single-pass compiler from validated wasm function bodies to x86-64
//! (in the spirit of V8's Liftoff and Wasmtime's Winch).
//!
//! - `codegen.rs`: the visitor over wasmparser operators with an abstract value stack
//!   (`stack.rs`) that caches values and constants in registers; `masm.rs`: emission helpers.
//! - `abi.rs`: registers, frame layout and calling convention (docs/abi.md).
//! - `code_memory.rs`: W^X mappings and the trap-site registry; `trampoline.rs`: the entry
//!   trampoline and trap stub; `signals.rs`: guard-page faults -> traps.
//! - `helpers.rs`: runtime helpers called from JIT code.
//! - `perf_map.rs`, `disasm.rs`: tooling.
//!
//! A module is compiled as a whole, once, into one executable mapping shared by all its
//! instances; its entries are published in the module's code slots (docs/abi.md §5).

// dynasm's expansion converts register operands with `.into()` even when they already have
// the target type; that is the macro's output, not code written here.
#![allow(clippy::useless_conversion)]

pub mod abi;
pub(crate) mod code_memory;
mod codegen;
pub mod disasm;
mod helpers;
mod masm;
pub mod perf_map;
mod signals;
mod stack;
mod trampoline;

use code_memory::{CodeMemory, FuncStart, TrapTable};
use dynasmrt::DynasmApi;
use masm::Asm;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use strata_vm::vmctx::VMContext;
use strata_vm::{
    BoundsChecks, FuncAddr, FuncKind, HostContext, InstanceId, Module, StoreInner, Trap, TrapCode,
};

/// The slot of `Module::tier_state` that holds the baseline's per-module code.
pub const TIER_STATE_SLOT: usize = 1;

/// Host stack that must remain when JIT code is entered, for helpers and host functions.
const MIN_HOST_STACK: usize = 128 * 1024;

/// A module's compiled code.
pub struct BaselineModule {
    code: CodeMemory,
    traps: Arc<TrapTable>,
    /// Code offset and size of each defined function.
    funcs: Vec<(usize, usize)>,
    bounds: BoundsChecks,
    /// Wall time of the compilation.
    pub compile_time: Duration,
}

impl Drop for BaselineModule {
    fn drop(&mut self) {
        code_memory::unregister(self.traps.start);
    }
}

struct TierState {
    compiled: OnceLock<Result<Arc<BaselineModule>, String>>,
    /// Mixed tiers: which functions stay interpreted was decided (once per module).
    mixed: OnceLock<()>,
}

impl BaselineModule {
    /// Compiles every defined function of `module` (not installed in its code slots).
    pub fn compile(module: &Module, bounds: BoundsChecks) -> Result<BaselineModule, String> {
        signals::install();
        let start = Instant::now();
        let explicit = bounds == BoundsChecks::Explicit;
        let mut asm = Asm::new(0);
        // Machine code is about 2.1x the wasm code size (large.wasm); 3x rarely regrows.
        asm.reserve_ops(module.code_section_bytes * 3 + 64);
        let mut traps = Vec::new();
        let mut offsets = Vec::with_capacity(module.num_defined_funcs());
        for def in 0..module.num_defined_funcs() {
            let func_index = module.num_imported_funcs as usize + def;
            let entries =
                codegen::compile_function(&mut asm, &mut traps, module, def, explicit, false)
                    .map_err(|e| format!("function {func_index}: {e}"))?;
            offsets.push(entries.entry);
        }
        let total = asm.offset().0;
        let bytes = asm.finalize().map_err(|e| format!("assembler: {e:?}"))?;
        let code = CodeMemory::new(&bytes).map_err(|e| format!("code memory: {e}"))?;
        let base = code.base() as usize;
        traps.sort_by_key(|t| t.0);
        let funcs = offsets
            .iter()
            .enumerate()
            .map(|(d, &o)| {
                let fi = module.num_imported_funcs + d as u32;
                FuncStart {
                    offset: o as u32,
                    func_index: fi,
                    name: module.func_name(fi).map(Box::from),
                }
            })
            .collect();
        let traps = Arc::new(TrapTable {
            start: base,
            end: base + bytes.len(),
            sites: traps.into_boxed_slice(),
            funcs,
            module_name: module.module_name.as_deref().map(Box::from),
        });
        code_memory::register(traps.clone());
        let funcs: Vec<(usize, usize)> = offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| (o, offsets.get(i + 1).copied().unwrap_or(total) - o))
            .collect();
        let compiled = BaselineModule {
            code,
            traps,
            funcs,
            bounds,
            compile_time: start.elapsed(),
        };
        if perf_map::enabled() {
            let entries: Vec<_> = (0..compiled.funcs.len())
                .map(|d| {
                    let fi = module.num_imported_funcs + d as u32;
                    let name = match module.func_name(fi) {
                        Some(n) => format!("wasm[baseline]::{n}"),
                        None => format!("wasm[baseline]::func{fi}"),
                    };
                    (compiled.entry(d as u32) as usize, compiled.funcs[d].1, name)
                })
                .collect();
            let _ = perf_map::write(&entries);
        }
        Ok(compiled)
    }

    /// The compiled code of `module` for `bounds`, compiled on first use and installed in
    /// the module's code slots.
    pub fn of(module: &Module, bounds: BoundsChecks) -> Result<Arc<BaselineModule>, Trap> {
        module.tier_state[TIER_STATE_SLOT].get_or_init(|| {
            Arc::new(TierState {
                compiled: OnceLock::new(),
                mixed: OnceLock::new(),
            })
        });
        let state = Self::state(module)?;
        let compiled = state.compiled.get_or_init(|| {
            let m = Arc::new(BaselineModule::compile(module, bounds)?);
            for (d, slot) in module.code_slots().iter().enumerate() {
                slot.store(m.entry(d as u32) as *mut u8, Ordering::Release);
            }
            Ok(m)
        });
        match compiled {
            Ok(m) if m.bounds == bounds => Ok(m.clone()),
            Ok(_) => Err(Trap::host(
                "the module was compiled for the other bounds-check mode",
            )),
            Err(e) => Err(Trap::host(format!("baseline compilation failed: {e}"))),
        }
    }

    fn state(module: &Module) -> Result<Arc<TierState>, Trap> {
        module.tier_state[TIER_STATE_SLOT]
            .get()
            .cloned()
            .ok_or_else(|| Trap::host("the baseline has no state for this module"))?
            .downcast::<TierState>()
            .map_err(|_| Trap::host("tier state slot 1 belongs to the baseline tier"))
    }

    /// Mixed tiers: compiles `module`, then leaves in the interpreter every defined function
    /// for which `compiled(func_index)` is false (its code slot gets the interp-entry stub).
    /// Decided once per module; later calls keep the first decision.
    pub fn prepare_mixed(
        module: &Module,
        bounds: BoundsChecks,
        compiled: &dyn Fn(u32) -> bool,
    ) -> Result<(), Trap> {
        Self::of(module, bounds)?;
        Self::state(module)?.mixed.get_or_init(|| {
            let stub = trampoline::interp_stub() as *mut u8;
            for (d, slot) in module.code_slots().iter().enumerate() {
                if !compiled(module.num_imported_funcs + d as u32) {
                    slot.store(stub, Ordering::Release);
                }
            }
        });
        Ok(())
    }

    /// Entry of defined function `def_index`.
    pub fn entry(&self, def_index: u32) -> *const u8 {
        self.code
            .base()
            .wrapping_add(self.funcs[def_index as usize].0)
    }

    /// Machine code of defined function `def_index` (its body and out-of-line stubs).
    pub fn function_code(&self, def_index: u32) -> &[u8] {
        let (o, n) = self.funcs[def_index as usize];
        &self.code.bytes()[o..o + n]
    }

    pub fn num_functions(&self) -> usize {
        self.funcs.len()
    }

    /// Total machine code bytes.
    pub fn code_size(&self) -> usize {
        self.funcs.iter().map(|f| f.1).sum()
    }
}

/// One function compiled on its own, with an OSR entry per loop: what tiered execution
/// installs (`crate::tier`).
pub struct FuncCode {
    code: CodeMemory,
    traps: Arc<TrapTable>,
    entry: usize,
    /// OSR entry offsets by loop ordinal (`u32::MAX`: none, the loop is unreachable).
    osr: Box<[u32]>,
    frame_cells: usize,
    code_size: usize,
}

impl Drop for FuncCode {
    fn drop(&mut self) {
        code_memory::unregister(self.traps.start);
    }
}

impl FuncCode {
    /// Compiles defined function `def_index` of `module` into its own mapping.
    pub fn compile(module: &Module, def_index: u32, bounds: BoundsChecks) -> Result<Self, String> {
        signals::install();
        let func_index = module.num_imported_funcs + def_index;
        let mut asm = Asm::new(0);
        let body = module.bodies[def_index as usize].range.len();
        asm.reserve_ops(body * 3 + 256);
        let mut traps = Vec::new();
        let explicit = bounds == BoundsChecks::Explicit;
        let entries = codegen::compile_function(
            &mut asm,
            &mut traps,
            module,
            def_index as usize,
            explicit,
            true,
        )
        .map_err(|e| format!("function {func_index}: {e}"))?;
        let bytes = asm.finalize().map_err(|e| format!("assembler: {e:?}"))?;
        let code = CodeMemory::new(&bytes).map_err(|e| format!("code memory: {e}"))?;
        let base = code.base() as usize;
        traps.sort_by_key(|t| t.0);
        let traps = Arc::new(TrapTable {
            start: base,
            end: base + bytes.len(),
            sites: traps.into_boxed_slice(),
            funcs: Box::new([FuncStart {
                offset: entries.entry as u32,
                func_index,
                name: module.func_name(func_index).map(Box::from),
            }]),
            module_name: module.module_name.as_deref().map(Box::from),
        });
        code_memory::register(traps.clone());
        let num_loops = entries.osr.iter().map(|o| o.0 + 1).max().unwrap_or(0);
        let mut osr = vec![u32::MAX; num_loops as usize];
        for (ordinal, offset) in entries.osr {
            osr[ordinal as usize] = offset as u32;
        }
        let compiled = FuncCode {
            code,
            traps,
            entry: entries.entry,
            osr: osr.into_boxed_slice(),
            frame_cells: entries.frame_cells as usize,
            code_size: bytes.len(),
        };
        if perf_map::enabled() {
            let name = match module.func_name(func_index) {
                Some(n) => format!("wasm[baseline]::{n}"),
                None => format!("wasm[baseline]::func{func_index}"),
            };
            let _ = perf_map::write(&[(compiled.entry() as usize, bytes.len(), name)]);
        }
        Ok(compiled)
    }

    pub fn entry(&self) -> *const u8 {
        self.code.base().wrapping_add(self.entry)
    }

    /// The OSR entry for the loop with ordinal `loop_index`, if the loop is reachable.
    pub fn osr_entry(&self, loop_index: u32) -> Option<*const u8> {
        let o = *self.osr.get(loop_index as usize)?;
        (o != u32::MAX).then(|| self.code.base().wrapping_add(o as usize))
    }

    pub fn frame_cells(&self) -> usize {
        self.frame_cells
    }

    /// Loops of the function (the OSR table's length).
    pub fn num_loops(&self) -> u32 {
        self.osr.len() as u32
    }

    /// Machine code bytes, OSR entries and trap stubs included.
    pub fn code_size(&self) -> usize {
        self.code_size
    }

    pub fn code(&self) -> &[u8] {
        &self.code.bytes()[..self.code_size]
    }
}

/// Tiered execution: the module's functions start in the interpreter, so every code slot
/// gets the interp-entry stub (compiled code called from JIT code reaches the interpreter
/// through it). Slots that already hold code keep it.
pub fn prepare_tiered(module: &Module) {
    let stub = trampoline::interp_stub() as *mut u8;
    for slot in module.code_slots() {
        let _ = slot.compare_exchange(
            std::ptr::null_mut(),
            stub,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// Runs JIT code `entry` of `instance` with its frame at `fp` in a value stack ending at
/// `stack_end`; nests (a helper may call it again).
pub(crate) fn run(
    store: &mut StoreInner,
    instance: InstanceId,
    entry: *const u8,
    fp: *mut u64,
    stack_end: *mut u64,
) -> Result<(), Trap> {
    let remaining = crate::host_stack::remaining();
    if remaining < MIN_HOST_STACK {
        return Err(TrapCode::StackOverflow.into());
    }
    let here = &remaining as *const usize as usize;
    let limit = here - (remaining - MIN_HOST_STACK);
    let vmctx: *const VMContext = &*store.instances[instance as usize].vmctx;
    let store_ptr: *mut StoreInner = store;
    let rt = &mut *store.runtime;
    let saved = (rt.entry_sp, rt.stack_limit, rt.stack_end, rt.store);
    // JIT code counts its frames; a trap abandons them uncounted, so the depth is restored.
    let depth = rt.call_depth;
    rt.stack_limit = limit;
    rt.stack_end = stack_end;
    rt.store = store_ptr;
    let tier = store.tier_now.enter(strata_vm::tiering::LEVEL_BASELINE);
    // SAFETY: `vmctx` is this instance's live context, `entry` its module's compiled code,
    // and the runtime was set up for this activation just above; `fp` lies in the value
    // stack ending at `stack_end` (the callers' contract).
    let code = unsafe { trampoline::enter(vmctx, fp, entry) };
    store.tier_now.restore(tier);
    let rt = &mut *store.runtime;
    (rt.entry_sp, rt.stack_limit, rt.stack_end, rt.store) = saved;
    rt.call_depth = depth;
    if code == 0 {
        return Ok(());
    }
    // A helper's trap already carries the frames inside it; the JIT frames are outer.
    let mut trap = rt
        .pending_trap
        .take()
        .unwrap_or_else(|| Trap::new(TrapCode::from_u8(code as u8).unwrap_or(TrapCode::Host)));
    for frame in rt.trap_frames.drain(..) {
        trap.push_frame(frame);
    }
    Err(trap)
}

/// Calls a function from the host with the baseline tier: arguments and results are raw
/// cells. The function's module is compiled on first use.
pub fn invoke(
    store: &mut StoreInner,
    func: FuncAddr,
    args: &[u64],
    results: &mut [u64],
) -> Result<(), Trap> {
    match store.funcs[func as usize].kind.clone() {
        FuncKind::Host(host) => {
            let mut cx = HostContext {
                store,
                caller: None,
            };
            host(&mut cx, args, results)
        }
        FuncKind::Wasm {
            instance,
            func_index,
        } => {
            let module = store.instances[instance as usize].module.clone();
            let entry = entry_of(&module, store.config.bounds_checks, func_index)?;
            if entry as usize == trampoline::interp_stub() {
                return crate::interp::invoke(store, func, args, results);
            }
            let mut stack = store.take_stack();
            stack[..args.len()].copy_from_slice(args);
            let range = stack.as_mut_ptr_range();
            let result = run(store, instance, entry, range.start, range.end);
            if result.is_ok() {
                results.copy_from_slice(&stack[..results.len()]);
            }
            store.return_stack(stack);
            result
        }
    }
}

/// The current entry of `func_index` (in the module's function index space, a defined
/// function): its code slot, after compiling the module on first use. It is
/// `trampoline::interp_stub()` for a function left in the interpreter.
pub(crate) fn entry_of(
    module: &Module,
    bounds: BoundsChecks,
    func_index: u32,
) -> Result<*const u8, Trap> {
    let def = (func_index - module.num_imported_funcs) as usize;
    // Tiered execution gave every slot an entry (the interpreter's stub at first).
    if let Some(e) = module
        .code_slots_if_any()
        .map(|s| s[def].load(Ordering::Acquire))
    {
        if !e.is_null() {
            return Ok(e);
        }
    }
    BaselineModule::of(module, bounds)?;
    Ok(module.code_slots()[def].load(Ordering::Acquire))
}

/// The compiled code installed for `func_index` (a defined function of `module`), if any:
/// not null and not the interpreter's stub. The interpreter calls it directly.
#[inline]
pub fn installed_entry(module: &Module, func_index: u32) -> Option<*const u8> {
    let slots = module.code_slots_if_any()?;
    let e = slots
        .get((func_index - module.num_imported_funcs) as usize)?
        .load(Ordering::Acquire);
    (!e.is_null() && e as usize != trampoline::interp_stub()).then_some(e as *const u8)
}

/// Whether a defined function's code slot holds compiled code (not the interpreter's stub).
pub fn is_compiled(module: &Module, def_index: u32) -> bool {
    module
        .code_slots()
        .get(def_index as usize)
        .map(|s| s.load(Ordering::Acquire))
        .is_some_and(|e| !e.is_null() && e as usize != trampoline::interp_stub())
}

/// Whether `pc` lies in code compiled by this tier (tests, diagnostics).
pub fn is_jit_pc(pc: usize) -> bool {
    code_memory::is_jit_pc(pc)
}
