//! The layer every JIT tier stands on (the baseline today, the optimizing tier next): it
//! names no tier.
//!
//! - `code_memory`: W^X mappings and the process-wide registry of code ranges with their
//!   trap tables and function starts; `signals`: guard-page faults in JIT code -> traps.
//! - `trampoline`: the entry trampoline from Rust, the trap stub and the interp-entry stub.
//! - `helpers`: runtime helpers JIT code calls, and the backtrace walk; `check_points`: the
//!   helpers through which compiled code asks the tier manager (tiered execution).
//! - `reg_args`: the register-entry slots and the spill thunks behind them (register
//!   arguments between optimized functions).
//! - `perf_map`, `disasm`: tooling, labelled with the tier's name.
//! - here: `publish` (finished code -> executable mapping, trap registry, perf map), `run`
//!   (enter JIT code from Rust), and what the code slots hold.

pub(crate) mod check_points;
pub mod code_memory;
pub mod disasm;
pub(crate) mod helpers;
pub mod perf_map;
pub mod reg_args;
mod signals;
pub mod simd;
pub mod trampoline;
pub mod unwind;
pub mod x64;

use code_memory::{CodeMemory, FuncStart, TrapTable};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use strata_vm::vmctx::VMContext;
use strata_vm::{InstanceId, Module, StoreInner, Trap, TrapCode};

use strata_vm::abi::{JIT_FRAME_BYTES, MIN_HOST_STACK};

/// The depth of the JIT frame that called a helper (or the interp-entry stub) in the running
/// activation: the frames below the activation plus its position (docs/abi.md §4). The
/// helper sets `call_depth` to this before it runs wasm, and puts back the base after.
pub(crate) fn helper_caller_depth(rt: &strata_vm::vmctx::VMRuntime) -> usize {
    let above = rt.entry_sp.saturating_sub(rt.jit_fp) / JIT_FRAME_BYTES;
    rt.call_depth + above
}

/// One function in finished code: where it starts, how long it is, which it is.
pub struct PublishedFunc {
    pub offset: usize,
    pub len: usize,
    pub func_index: u32,
}

/// Finished machine code, executable and registered: the mapping (never writable again) and
/// its trap table, unregistered when dropped. Code is kept alive by its owner as long as a
/// frame may run in it (docs/abi.md §5).
pub struct Published {
    pub code: CodeMemory,
    pub traps: Arc<TrapTable>,
}

impl Drop for Published {
    fn drop(&mut self) {
        code_memory::unregister(self.traps.start);
    }
}

impl Published {
    /// The address of `offset` in the code.
    pub fn at(&self, offset: usize) -> *const u8 {
        self.code.base().wrapping_add(offset)
    }
}

/// Publishes finished machine code of `tier` (its name labels the perf map): copies `bytes`
/// into a fresh mapping made read+execute, registers the trap sites (`(offset, code)`, sorted
/// here) and function starts for the signal handler and backtraces, and writes a perf-map
/// line per function when the perf map is on. Installing entries in code slots is the
/// tier's (`crate::tier::install` for tiered execution).
pub fn publish(
    tier: &str,
    module: &Module,
    bytes: &[u8],
    trap_sites: Vec<(u32, TrapCode)>,
    funcs: &[PublishedFunc],
) -> Result<Published, String> {
    publish_with_offsets(tier, module, bytes, trap_sites, Vec::new(), funcs)
}

/// `publish` with the code's wasm offsets: `(code offset, wasm offset)` of its fault sites
/// (keyed by the faulting instruction) and of its trap sites and calls (keyed by the return
/// address less one), which backtraces look up (`TrapTable::wasm_offsets`).
pub fn publish_with_offsets(
    tier: &str,
    module: &Module,
    bytes: &[u8],
    trap_sites: Vec<(u32, TrapCode)>,
    wasm_offsets: Vec<(u32, u32)>,
    funcs: &[PublishedFunc],
) -> Result<Published, String> {
    publish_with_data(
        tier,
        module,
        bytes,
        bytes.len(),
        trap_sites,
        wasm_offsets,
        funcs,
    )
}

/// `publish_with_offsets` for code followed by data: `bytes[data_from..]` (page-aligned) is
/// mapped read+write and never executable (`CodeMemory::new_with_data`); only
/// `bytes[..data_from]` is code.
pub fn publish_with_data(
    tier: &str,
    module: &Module,
    bytes: &[u8],
    data_from: usize,
    trap_sites: Vec<(u32, TrapCode)>,
    wasm_offsets: Vec<(u32, u32)>,
    funcs: &[PublishedFunc],
) -> Result<Published, String> {
    publish_with_unwind(
        tier,
        module,
        bytes,
        data_from,
        trap_sites,
        wasm_offsets,
        funcs,
        Default::default(),
    )
}

/// `publish_with_data` with the code's unwind information (direct call sites, exception
/// handlers: `unwind`), which every tier that emits direct JIT calls must give (docs/abi.md
/// §10).
#[allow(clippy::too_many_arguments)]
pub fn publish_with_unwind(
    tier: &str,
    module: &Module,
    bytes: &[u8],
    data_from: usize,
    mut trap_sites: Vec<(u32, TrapCode)>,
    mut wasm_offsets: Vec<(u32, u32)>,
    funcs: &[PublishedFunc],
    mut unwind: unwind::UnwindInfo,
) -> Result<Published, String> {
    unwind.finish();
    signals::install();
    wasm_offsets.sort_unstable_by_key(|e| e.0);
    wasm_offsets.dedup_by_key(|e| e.0);
    let code = if data_from < bytes.len() {
        CodeMemory::new_with_data(bytes, data_from)
    } else {
        CodeMemory::new(bytes)
    }
    .map_err(|e| format!("code memory: {e}"))?;
    let base = code.base() as usize;
    trap_sites.sort_by_key(|t| t.0);
    let traps = Arc::new(TrapTable {
        start: base,
        end: base + data_from,
        sites: trap_sites.into_boxed_slice(),
        wasm_offsets: wasm_offsets.into_boxed_slice(),
        funcs: funcs
            .iter()
            .map(|f| FuncStart {
                offset: f.offset as u32,
                func_index: f.func_index,
                name: module.func_name(f.func_index).map(Box::from),
            })
            .collect(),
        module_name: module.module_name.as_deref().map(Box::from),
        unwind,
    });
    code_memory::register(traps.clone());
    if perf_map::enabled() {
        let lines: Vec<_> = funcs
            .iter()
            .map(|f| {
                let name = match module.func_name(f.func_index) {
                    Some(n) => format!("wasm[{tier}]::{n}"),
                    None => format!("wasm[{tier}]::func{}", f.func_index),
                };
                (base + f.offset, f.len, name)
            })
            .collect();
        let _ = perf_map::write(&lines);
    }
    Ok(Published { code, traps })
}

/// Runs JIT code `entry` of `instance` with its frame at `fp` in a value stack ending at
/// `stack_end`; nests (a helper may call it again). `level` is the tier the code belongs to
/// (`strata_vm::tiering::LEVEL_*`), for the profiler's time per tier.
pub(crate) fn run(
    store: &mut StoreInner,
    instance: InstanceId,
    entry: *const u8,
    fp: *mut u64,
    stack_end: *mut u64,
    level: u8,
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
    let saved_jit = (rt.call_depth, rt.depth_room, rt.jit_fp);
    // Frames the depth limit still allows, as machine stack (docs/abi.md §4).
    rt.depth_room = rt
        .max_call_depth
        .saturating_sub(rt.call_depth)
        .saturating_mul(JIT_FRAME_BYTES);
    rt.stack_limit = limit;
    rt.stack_end = stack_end;
    rt.store = store_ptr;
    let tier = store.tier_now.enter(level);
    // SAFETY: `vmctx` is this instance's live context, `entry` its module's compiled code,
    // and the runtime was set up for this activation just above; `fp` lies in the value
    // stack ending at `stack_end` (the callers' contract).
    let code = unsafe { trampoline::enter(vmctx, fp, entry) };
    store.tier_now.restore(tier);
    let rt = &mut *store.runtime;
    (rt.entry_sp, rt.stack_limit, rt.stack_end, rt.store) = saved;
    (rt.call_depth, rt.depth_room, rt.jit_fp) = saved_jit;
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

/// Gives every empty code slot of `module` the interp-entry stub, so that JIT code calling a
/// function that has no compiled code reaches the interpreter. Slots that hold code keep it.
pub fn fill_slots_with_interp_stub(module: &Module) {
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

/// The compiled code in the code slot of `func_index` (a defined function of `module`), if
/// any: not null and not the interpreter's stub.
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
    installed_entry(module, module.num_imported_funcs + def_index).is_some()
}

/// Whether `pc` lies in JIT code (tests, diagnostics).
pub fn is_jit_pc(pc: usize) -> bool {
    code_memory::is_jit_pc(pc)
}
