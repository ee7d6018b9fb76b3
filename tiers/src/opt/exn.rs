//! Exceptions in the optimizing tier (docs/abi.md §10), first half: the register
//! constraints of the IR's exception operations.
//!
//! A call or throw inside a try body is an *invoke*: a terminator whose successors are the
//! normal continuation (calls) and one landing block per catch clause that may catch (the
//! `try_call` of Cranelift's exception tables). regalloc2 sees it as a branch that clobbers
//! every allocatable register, so every value live into a landing block is in a spill cell
//! of the frame when the exception is thrown; each landing block has the invoke as its only
//! predecessor, so regalloc2 puts the moves that reload those values at the landing block's
//! start, which is where the unwinder resumes (`emit/exn.rs`). The call's results are defs
//! of the invoke, read only in the normal continuation.
//!
//! The landing block's `landing` instruction defines the caught values from the cells the
//! unwinder wrote them to (`VCode::catch_cells`, right after the parameter/result cells).

use super::abi::{self, RSI};
use super::lower::VCode;
use regalloc2::{Operand, PRegSet, VReg};
use strata_ir::{Function, Imm, Inst, Opcode};

/// Pushes the operands of exception operation `inst` (uses, then defs) and returns its
/// clobbers.
pub fn constraints(
    func: &Function,
    module: &strata_vm::Module,
    inst: Inst,
    uses: &[VReg],
    defs: &[VReg],
    vc: &mut VCode,
) -> Result<PRegSet, String> {
    let data = func.inst(inst);
    let op = data.opcode;
    if op == Opcode::Landing {
        let cells: u32 = func.results(inst).map(|r| func.value_type(r).cells()).sum();
        vc.catch_cells = vc.catch_cells.max(cells);
        for &d in defs {
            vc.operands.push(Operand::any_def(d));
        }
        return Ok(PRegSet::empty());
    }
    let Imm::Invoke(imm) = data.imm else {
        return Err(format!("{op} without its invoke immediate"));
    };
    let cells = match op {
        Opcode::Invoke | Opcode::InvokeImport => {
            let ty = module.func_type(imm.index);
            ty.param_cells().max(ty.result_cells())
        }
        Opcode::InvokeIndirect | Opcode::InvokeRef => {
            let ty = module
                .types
                .get(imm.index as usize)
                .ok_or_else(|| format!("{op} of an unknown type"))?;
            // The table index or the function reference is saved in the cell after the
            // arguments.
            (ty.param_cells() + 1).max(ty.result_cells())
        }
        Opcode::Throw => {
            let tag = module
                .tags
                .get(imm.index as usize)
                .ok_or("throw of an unknown tag")?;
            strata_vm::cells_of(&tag.params)
        }
        _ => 0,
    };
    vc.call_cells = vc.call_cells.max(cells);
    if op == Opcode::ThrowRef {
        // The `throw_ref` helper's second argument.
        vc.operands
            .push(Operand::reg_fixed_use(uses[0], abi::gpr(RSI)));
    } else {
        // Calls pass arguments as `call`, `call_indirect` and `call_ref` do (docs/abi.md §3).
        let callee = match op {
            Opcode::Invoke if imm.index >= module.num_imported_funcs => {
                Some(module.func_type(imm.index))
            }
            Opcode::InvokeIndirect | Opcode::InvokeRef => module.types.get(imm.index as usize),
            _ => None,
        };
        match op {
            Opcode::InvokeIndirect | Opcode::InvokeRef if !uses.is_empty() => {
                let n = uses.len() - 1;
                super::lower::call_arg_uses(&mut vc.operands, &uses[..n], callee);
                vc.operands.push(Operand::any_use(uses[n]));
            }
            _ => super::lower::call_arg_uses(&mut vc.operands, uses, callee),
        }
    }
    for &d in defs {
        vc.operands.push(Operand::any_def(d));
    }
    Ok(abi::all_allocatable())
}
