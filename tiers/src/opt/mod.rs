//! The optimizing tier: wasm -> SSA (`strata_ir::Translator`) -> cleanup passes and the
//! e-graph mid-end -> critical edges split -> instruction selection (`lower.rs`) ->
//! regalloc2 (`regalloc.rs`) -> x86-64 (`emit.rs`), published through the JIT layer.
//!
//! - `abi.rs`: registers and frame (docs/abi.md §7).
//! - `tier.rs`: the tier as a `CompilerTier` at `LEVEL_OPT`. A function with an opcode
//!   this tier does not lower yet fails to compile and keeps the baseline's code.
//!
//! Functions are compiled from IR translated without OSR entry blocks (code that is only
//! called optimizes better). OSR into this tier goes through a separate compile per loop
//! (JavaScriptCore's OMGForOSREntry): the function translated with OSR entries, made to
//! start at the loop's entry (`strata_ir::osr::enter_at_loop`), which reads the frame's
//! cells and jumps into the loop (`OptCode::compile_osr_entry`). Fuel and epoch
//! checks come from the translator's `interrupt` instructions (docs/abi.md §8); the mid-end
//! runs with the module's e-graph switches (`Module::egraph`, from `Config::egraph`).

#![allow(clippy::useless_conversion)]

pub mod abi;
mod divconst;
mod emit;
mod exn;
mod lower;
mod regalloc;
mod simd;
mod taildup;
mod tier;

pub use tier::OptTier;

use crate::jit::{self, Published, PublishedFunc};
use strata_vm::{BoundsChecks, Module};

pub use strata_ir::egraph::MidendConfig;

/// The mid-end configuration a switch list (`Config::egraph`, `Module::egraph`) asks for.
pub fn midend_config(spec: &str) -> Result<MidendConfig, String> {
    MidendConfig::parse(spec)
}

/// The mid-end configuration of one function of `module`: the module's switches, with a
/// chaos seed mixed with the function index so each function draws its own choices.
fn function_midend(module: &Module, def_index: u32) -> Result<MidendConfig, String> {
    let mut cfg = midend_config(&module.egraph)?;
    if let Some(seed) = cfg.chaos.as_mut() {
        *seed ^= u64::from(def_index).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    Ok(cfg)
}

/// The IR pipeline in one place: translation, cleanup, mid-end (with the module's e-graph
/// switches), critical edges split (regalloc2 wants them split).
pub fn build_ir(module: &Module, def_index: u32) -> Result<strata_ir::Function, String> {
    build_ir_entered_at(module, def_index, None)
}

/// The same pipeline for the function entered at `osr_loop` (a loop ordinal) when given:
/// its only entry reads the frame and jumps into that loop.
pub fn build_ir_entered_at(
    module: &Module,
    def_index: u32,
    osr_loop: Option<u32>,
) -> Result<strata_ir::Function, String> {
    let midend = function_midend(module, def_index)?;
    let mut tr = strata_ir::Translator::new();
    tr.set_osr_entries(osr_loop.is_some());
    let mut func = tr
        .translate(module, def_index as usize)
        .map_err(|e| format!("translation: {e}"))?;
    if let Some(ordinal) = osr_loop {
        strata_ir::osr::enter_at_loop(&mut func, ordinal)?;
    }
    strata_ir::passes::run_pipeline(&mut func, &strata_ir::passes::default_pipeline(), false)?;
    strata_ir::egraph::optimize(&mut func, &midend);
    strata_ir::passes::split_critical_edges(&mut func);
    strata_ir::passes::resolve_aliases(&mut func);
    Ok(func)
}

/// One function compiled by this tier, in its own mapping.
pub struct OptCode {
    code: Published,
    frame_cells: usize,
    code_size: usize,
    /// Offset of the register entry (docs/abi.md §3).
    reg_entry: usize,
}

impl OptCode {
    /// Compiles defined function `def_index` of `module`.
    pub fn compile(module: &Module, def_index: u32, bounds: BoundsChecks) -> Result<Self, String> {
        Self::compile_entered_at(module, def_index, None, bounds)
    }

    /// Compiles the OSR entry of defined function `def_index` at the loop with ordinal
    /// `loop_index`: code entered with the frame at that loop header (locals at `fp[0..L)`,
    /// operand position `p` at `fp[L + p]`) that runs the function to its end and leaves
    /// the results at `fp[0..R)`, like the function itself.
    pub fn compile_osr_entry(
        module: &Module,
        def_index: u32,
        loop_index: u32,
        bounds: BoundsChecks,
    ) -> Result<Self, String> {
        Self::compile_entered_at(module, def_index, Some(loop_index), bounds)
    }

    fn compile_entered_at(
        module: &Module,
        def_index: u32,
        osr_loop: Option<u32>,
        bounds: BoundsChecks,
    ) -> Result<Self, String> {
        let func_index = module.num_imported_funcs + def_index;
        let e = compile_bytes_entered_at(module, def_index, osr_loop, bounds)
            .map_err(|e| format!("function {func_index}: {e}"))?;
        let f = PublishedFunc {
            offset: 0,
            len: e.bytes.len(),
            func_index,
        };
        let mut unwind = jit::unwind::UnwindInfo {
            calls: e.calls,
            handlers: e.handlers,
            ..Default::default()
        };
        unwind.close_function(0, e.bytes.len() as u32, 0);
        unwind.add_saves(&e.saves, 0);
        let code = jit::publish_with_unwind(
            "opt",
            module,
            &e.bytes,
            e.bytes.len(),
            e.traps,
            e.wasm_offsets,
            &[f],
            unwind,
        )?;
        Ok(OptCode {
            code,
            frame_cells: e.frame_cells as usize,
            code_size: e.bytes.len(),
            reg_entry: e.reg_entry as usize,
        })
    }

    pub fn entry(&self) -> *const u8 {
        self.code.at(0)
    }

    /// The register entry: arguments in registers (`strata_vm::abi::arg_regs`).
    pub fn reg_entry(&self) -> *const u8 {
        self.code.at(self.reg_entry)
    }

    pub fn frame_cells(&self) -> usize {
        self.frame_cells
    }

    pub fn code_size(&self) -> usize {
        self.code_size
    }

    pub fn code(&self) -> &[u8] {
        &self.code.code.bytes()[..self.code_size]
    }
}

/// Machine code for one function, not yet published.
pub fn compile_bytes(
    module: &Module,
    def_index: u32,
    bounds: BoundsChecks,
) -> Result<emit::Emitted, String> {
    compile_bytes_entered_at(module, def_index, None, bounds)
}

fn compile_bytes_entered_at(
    module: &Module,
    def_index: u32,
    osr_loop: Option<u32>,
    bounds: BoundsChecks,
) -> Result<emit::Emitted, String> {
    let func = build_ir_entered_at(module, def_index, osr_loop)?;
    // The function itself takes its first parameters in registers at its register entry;
    // an OSR entry reads everything from the frame (docs/abi.md §3).
    let entry_regs = match osr_loop {
        None => strata_vm::abi::arg_regs(
            module
                .func_type(module.num_imported_funcs + def_index)
                .params(),
        ),
        Some(_) => Vec::new(),
    };
    let vc = lower::lower(&func, module, &entry_regs)?;
    let explicit = bounds == BoundsChecks::Explicit;
    // r12 holds memory 0's length where the emitter checks accesses against it (explicit
    // bounds, or a 64-bit memory 0 in either mode); elsewhere it is allocatable.
    let r12_pinned = explicit || module.memories.first().is_some_and(|m| m.memory64);
    regalloc::allocate(&vc, &func, r12_pinned, |out| {
        emit::emit(&func, module, &vc, out, explicit)
    })
}

/// Machine code of one function (`strata compile --tier opt`): its bytes, or why it cannot
/// be compiled by this tier yet.
pub fn function_code(
    module: &Module,
    def_index: u32,
    bounds: BoundsChecks,
) -> Result<Vec<u8>, String> {
    compile_bytes(module, def_index, bounds).map(|e| e.bytes)
}
