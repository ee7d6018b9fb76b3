//! Register arguments between optimized functions (docs/abi.md §3, "Register arguments"):
//! the register-entry slots and the spill thunks behind them.
//!
//! Optimized code calls a defined function of its own instance through its register-entry
//! slot (`VMContext.reg_slots`) with the first parameters of each class in registers
//! (`strata_vm::abi::arg_regs`) and `eax` = its defined index. A function with optimized
//! code installed has its *register entry* there. Every other function (baseline code, the
//! interp-entry stub) has a *spill thunk* for its signature: it stores the argument
//! registers to the cells the shared ABI puts them in (`fp[cell]`, `r14` already moved to
//! the callee's frame) and jumps to `code_slots[eax]`. The thunk is frameless and jumps,
//! so the callee's frame is exactly what a caller passing cells makes: the unwinder, traps,
//! backtraces and the depth count see nothing of it. One thunk per distinct signature shape
//! (which register goes to which cell) in a module, sharing one mapping.

// dynasm's register operands convert their index with `.into()`.
#![allow(clippy::useless_conversion)]

use super::code_memory::CodeMemory;
use dynasmrt::{dynasm, x64::X64Relocation, DynasmApi, VecAssembler};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use strata_vm::abi::{arg_regs, ArgReg};
use strata_vm::module::tier_slot;
use strata_vm::vmctx::offsets;
use strata_vm::Module;

// The assembler text below spells the pinned registers (r15 = vmctx, r14 = fp).
const _: () = assert!(strata_vm::abi::reg::VMCTX == 15 && strata_vm::abi::reg::FP == 14);

/// A module's spill thunks: one mapping, and each defined function's thunk.
struct Thunks {
    _code: CodeMemory,
    per_def: Box<[usize]>,
}

/// Which register each register-passed parameter of a function type arrives in and the
/// cell it belongs to.
fn shape(params: &[strata_vm::ValType]) -> Vec<(ArgReg, u32)> {
    let mut cell = 0;
    let mut out = Vec::new();
    for (t, r) in params.iter().zip(arg_regs(params)) {
        if let Some(r) = r {
            out.push((r, cell));
        }
        cell += t.cells();
    }
    out
}

fn build(module: &Module) -> Result<Thunks, String> {
    let mut ops: VecAssembler<X64Relocation> = VecAssembler::new(0);
    let mut shapes: HashMap<Vec<(ArgReg, u32)>, usize> = HashMap::new();
    let mut offsets_of = Vec::with_capacity(module.num_defined_funcs());
    let slots = offsets::VMCTX_CODE_SLOTS;
    for def in 0..module.num_defined_funcs() as u32 {
        let ty = module.func_type(module.num_imported_funcs + def);
        let s = shape(ty.params());
        let at = match shapes.get(&s) {
            Some(&at) => at,
            None => {
                dynasm!(ops ; .arch x64 ; .align 16);
                let at = ops.offset().0;
                for &(r, cell) in &s {
                    let d = i32::try_from(strata_vm::abi::FrameLayout::disp(cell))
                        .map_err(|_| "a parameter cell out of range")?;
                    match r {
                        ArgReg::Gpr(g) => dynasm!(ops ; .arch x64 ; mov QWORD [r14 + d], Rq(g)),
                        ArgReg::Xmm(x) => {
                            dynasm!(ops ; .arch x64 ; movsd QWORD [r14 + d], Rx(x))
                        }
                    }
                }
                // eax = the callee's defined index (every caller puts it there).
                dynasm!(ops
                    ; .arch x64
                    ; mov r11, QWORD [r15 + slots]
                    ; jmp QWORD [r11 + rax * 8]
                );
                shapes.insert(s, at);
                at
            }
        };
        offsets_of.push(at);
    }
    let bytes = ops.finalize().map_err(|e| format!("spill thunks: {e:?}"))?;
    if bytes.is_empty() {
        return Ok(Thunks {
            _code: CodeMemory::new(&[0xcc]).map_err(|e| format!("code memory: {e}"))?,
            per_def: Box::new([]),
        });
    }
    let code = CodeMemory::new(&bytes).map_err(|e| format!("code memory: {e}"))?;
    let base = code.base() as usize;
    Ok(Thunks {
        _code: code,
        per_def: offsets_of.into_iter().map(|o| base + o).collect(),
    })
}

type State = Result<Thunks, String>;

/// The module's thunks if `prepare` built them.
fn existing(module: &Module) -> Option<&Thunks> {
    module.tier_state[tier_slot::REG_THUNKS]
        .get()?
        .downcast_ref::<State>()?
        .as_ref()
        .ok()
}

/// Builds the module's spill thunks (once) and gives every register-entry slot that has
/// nothing yet its function's thunk. Optimized code may be installed only after this
/// succeeded (its calls go through the register-entry slots).
pub fn prepare(module: &Module) -> Result<(), String> {
    let any = module.tier_state[tier_slot::REG_THUNKS].get_or_init(|| {
        let state: State = build(module).inspect(|t| {
            for (slot, &thunk) in module.reg_slots().iter().zip(t.per_def.iter()) {
                let _ = slot.compare_exchange(
                    std::ptr::null_mut(),
                    thunk as *mut u8,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        });
        Arc::new(state)
    });
    match any.downcast_ref::<State>() {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(e.clone()),
        None => Err("tier state slot 4 belongs to the spill thunks".into()),
    }
}

/// The spill thunk of defined function `def_index`, if the thunks were built.
fn thunk(module: &Module, def_index: u32) -> Option<*const u8> {
    existing(module)?
        .per_def
        .get(def_index as usize)
        .map(|&t| t as *const u8)
}

/// Installs code that takes its arguments in cells only (baseline code, the interp-entry
/// stub) as defined function `def_index`'s entry: its register-entry slot gets the thunk
/// back first (if it had a register entry), then the code slot the entry. Each slot is
/// valid alone at every moment.
pub fn set_code_slot(module: &Module, def_index: u32, entry: *const u8) {
    if let Some(t) = thunk(module, def_index) {
        module.reg_slots()[def_index as usize].store(t as *mut u8, Ordering::Release);
    }
    module.code_slots()[def_index as usize].store(entry as *mut u8, Ordering::Release);
}

/// Installs optimized code of defined function `def_index` (after `prepare`): its ABI
/// entry (cells) in the code slot, then its register entry in the register-entry slot.
pub fn set_opt_slots(module: &Module, def_index: u32, entry: *const u8, reg_entry: *const u8) {
    module.code_slots()[def_index as usize].store(entry as *mut u8, Ordering::Release);
    module.reg_slots()[def_index as usize].store(reg_entry as *mut u8, Ordering::Release);
}
