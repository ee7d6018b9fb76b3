//! The baseline tier: a single-pass compiler from validated wasm function bodies to x86-64
//! (in the spirit of V8's Liftoff and Wasmtime's Winch).
//!
//! - `codegen.rs`: the visitor over wasmparser operators with an abstract value stack
//!   (`stack.rs`) that caches values and constants in registers; `masm.rs`: emission helpers.
//! - `abi.rs`: registers, frame layout and calling convention (docs/abi.md).
//! - `tier.rs`: the baseline as a `CompilerTier` for tiered execution.
//! - Code memory, traps, the entry trampoline, runtime helpers, the perf map and the
//!   disassembler are the JIT layer's (`crate::jit`), shared with the optimizing tier.
//!
//! A module is compiled as a whole, once, into one executable mapping shared by all its
//! instances; its entries are published in the module's code slots (docs/abi.md §5).

// dynasm's expansion converts register operands with `.into()` even when they already have
// the target type; that is the macro's output, not code written here.
#![allow(clippy::useless_conversion)]

pub mod abi;
mod codegen;
mod masm;
mod stack;
mod tier;

pub use tier::BaselineTier;

use crate::jit::{self, helpers, trampoline, Published, PublishedFunc};
use dynasmrt::DynasmApi;
use masm::Asm;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use strata_vm::{BoundsChecks, FuncAddr, FuncKind, Module, StoreInner, Trap};

/// The slot of `Module::tier_state` that holds the baseline's per-module code.
pub const TIER_STATE_SLOT: usize = strata_vm::module::tier_slot::BASELINE;

/// A module's compiled code.
pub struct BaselineModule {
    code: Published,
    /// Code offset and size of each defined function.
    funcs: Vec<(usize, usize)>,
    bounds: BoundsChecks,
    /// Wall time of the compilation.
    pub compile_time: Duration,
}

struct TierState {
    compiled: OnceLock<Result<Arc<BaselineModule>, String>>,
}

impl BaselineModule {
    /// Compiles every defined function of `module` (not installed in its code slots).
    pub fn compile(module: &Module, bounds: BoundsChecks) -> Result<BaselineModule, String> {
        let start = Instant::now();
        let defs: Vec<u32> = (0..module.num_defined_funcs() as u32).collect();
        let (code, compiled) = compile_functions(module, &defs, bounds, false, false)?;
        let funcs = compiled
            .iter()
            .map(|f| (f.entries.entry, f.len()))
            .collect();
        Ok(BaselineModule {
            code,
            funcs,
            bounds,
            compile_time: start.elapsed(),
        })
    }

    /// The compiled code of `module` for `bounds`, compiled on first use and installed in
    /// the module's code slots.
    pub fn of(module: &Module, bounds: BoundsChecks) -> Result<Arc<BaselineModule>, Trap> {
        module.tier_state[TIER_STATE_SLOT].get_or_init(|| {
            Arc::new(TierState {
                compiled: OnceLock::new(),
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

    /// Entry of defined function `def_index` (every function is compiled, those with
    /// exception handlers too: docs/abi.md §10).
    pub fn entry(&self, def_index: u32) -> *const u8 {
        self.code.at(self.funcs[def_index as usize].0)
    }

    /// Machine code of defined function `def_index` (its body and out-of-line stubs).
    pub fn function_code(&self, def_index: u32) -> &[u8] {
        let (o, n) = self.funcs[def_index as usize];
        &self.code.code.bytes()[o..o + n]
    }

    pub fn num_functions(&self) -> usize {
        self.funcs.len()
    }

    /// Total machine code bytes.
    pub fn code_size(&self) -> usize {
        self.funcs.iter().map(|f| f.1).sum()
    }
}

/// One function compiled for tiered execution, with an OSR entry per loop: what tiered
/// execution installs (`crate::tier`). Functions compiled together in one batch share a
/// mapping (`FuncCode::compile_batch`).
pub struct FuncCode {
    code: Arc<Published>,
    entry: usize,
    /// OSR entry offsets by loop ordinal (`u32::MAX`: none, the loop is unreachable).
    osr: Box<[u32]>,
    frame_cells: usize,
    code_size: usize,
}

impl FuncCode {
    /// Compiles defined function `def_index` of `module` into its own mapping; with
    /// `counting`, the code counts calls and loop iterations for tiered execution in budgets
    /// in a data page after the code, synced with the function's interpreter counters at
    /// its check points (docs/tiering.md).
    pub fn compile(
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
        counting: bool,
    ) -> Result<Self, String> {
        let mut v = Self::compile_batch(module, &[def_index], bounds, counting)?;
        v.pop().ok_or_else(|| "empty batch".to_string())
    }

    /// `compile` for several functions at once, into one mapping with one data page for all
    /// their budgets: one `mmap` and one `mprotect` for the batch rather than per function
    /// (with thousands of small functions tiering up, the kernel's page-table work and its
    /// TLB shootdowns cost more than compiling them). Fails as a whole if any function fails.
    pub fn compile_batch(
        module: &Module,
        defs: &[u32],
        bounds: BoundsChecks,
        counting: bool,
    ) -> Result<Vec<Self>, String> {
        let (code, compiled) = compile_functions(module, defs, bounds, true, counting)?;
        let code = Arc::new(code);
        Ok(compiled
            .into_iter()
            .map(|f| {
                let code_size = f.len();
                let num_loops = f.entries.osr.iter().map(|o| o.0 + 1).max().unwrap_or(0);
                let mut osr = vec![u32::MAX; num_loops as usize];
                for (ordinal, offset) in f.entries.osr {
                    osr[ordinal as usize] = offset as u32;
                }
                FuncCode {
                    code: code.clone(),
                    entry: f.entries.entry,
                    osr: osr.into_boxed_slice(),
                    frame_cells: f.entries.frame_cells as usize,
                    code_size,
                }
            })
            .collect())
    }

    pub fn entry(&self) -> *const u8 {
        self.code.at(self.entry)
    }

    /// The OSR entry for the loop with ordinal `loop_index`, if the loop is reachable.
    pub fn osr_entry(&self, loop_index: u32) -> Option<*const u8> {
        let o = *self.osr.get(loop_index as usize)?;
        (o != u32::MAX).then(|| self.code.at(o as usize))
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
        &self.code.code.bytes()[self.entry..self.entry + self.code_size]
    }
}

/// One function of a mapping made by `compile_functions`.
struct CompiledFunc {
    entries: codegen::FuncEntries,
    /// Where its code (body and out-of-line stubs) ends.
    end: usize,
}

impl CompiledFunc {
    fn len(&self) -> usize {
        self.end - self.entries.entry
    }
}

/// Compiles defined functions `defs` of `module` into one published mapping: the whole module
/// (`BaselineModule`) or a batch for tiered execution (`FuncCode`, with `osr` entries and,
/// with `counting`, budgets in one data page after the code). Fails as a whole if any
/// function fails.
fn compile_functions(
    module: &Module,
    defs: &[u32],
    bounds: BoundsChecks,
    osr: bool,
    counting: bool,
) -> Result<(Published, Vec<CompiledFunc>), String> {
    let mut asm = Asm::new(0);
    let body: usize = defs
        .iter()
        .map(|&d| module.bodies[d as usize].range.len())
        .sum();
    // Machine code is about 2.1x the wasm code size (large.wasm); 3x rarely regrows.
    asm.reserve_ops(body * 3 + 256 * defs.len());
    let mut traps = Vec::new();
    let mut wasm_offsets = Vec::new();
    let explicit = bounds == BoundsChecks::Explicit;
    // The check points sync with the interpreter's counters of the function: without them
    // there is nothing to count into.
    let interp = counting
        .then(|| crate::interp::InterpModule::existing(module))
        .flatten();
    let mut unwind = jit::unwind::UnwindInfo::default();
    let mut compiled = Vec::with_capacity(defs.len());
    let mut budgets = Vec::new();
    for &def_index in defs {
        let func_index = module.num_imported_funcs + def_index;
        let counting = interp
            .as_ref()
            .is_some_and(|i| i.get(module, def_index).is_ok());
        let entries = codegen::compile_function(
            &mut asm,
            &mut traps,
            &mut wasm_offsets,
            &mut unwind,
            module,
            def_index as usize,
            explicit,
            osr,
            counting,
        )
        .map_err(|e| format!("function {func_index}: {e}"))?;
        budgets.extend(entries.budgets);
        compiled.push(CompiledFunc {
            entries,
            end: asm.offset().0,
        });
    }
    let code_end = asm.offset().0;
    let data = (!budgets.is_empty()).then(|| codegen::budget_data(&mut asm, &budgets));
    let bytes = asm.finalize().map_err(|e| format!("assembler: {e:?}"))?;
    let published: Vec<PublishedFunc> = defs
        .iter()
        .zip(&compiled)
        .map(|(&d, f)| PublishedFunc {
            offset: f.entries.entry,
            len: f.len(),
            func_index: module.num_imported_funcs + d,
        })
        .collect();
    let code = jit::publish_with_unwind(
        "baseline",
        module,
        &bytes,
        data.unwrap_or(code_end),
        traps,
        wasm_offsets,
        &published,
        unwind,
    )?;
    Ok((code, compiled))
}

/// Calls a function from the host with the baseline tier (its module compiled on first use):
/// arguments and results are raw cells.
pub fn invoke(
    store: &mut StoreInner,
    func: FuncAddr,
    args: &[u64],
    results: &mut [u64],
) -> Result<(), Trap> {
    if let FuncKind::Wasm { instance, .. } = store.funcs[func as usize].kind {
        let module = store.instances[instance as usize].module.clone();
        BaselineModule::of(&module, store.config.bounds_checks)?;
    }
    crate::tier::invoke(store, func, args, results)
}
