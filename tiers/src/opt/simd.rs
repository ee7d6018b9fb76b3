//! SIMD in the optimizing tier (issue 16): how each `simd`, `i8x16.shuffle`, `simd.load`
//! and `simd.store` instruction is lowered, and its regalloc2 operands.
//!
//! v128 values are `Float`-class virtual registers (the XMM registers f32/f64 use; a v128
//! spill slot takes two cells). Every operator is one of:
//! - inline, with the baseline's SSE4.1 sequence from `jit::simd` (the same bits in both
//!   tiers). The emitter first copies the operands a sequence clobbers into xmm15 or into
//!   temporaries, so the result may share a register with a dying operand (a late def);
//! - through the helper `simd_exec` (the interpreter's semantics), exactly where the
//!   baseline uses it: the operands go to the outgoing call cells, the result comes back in
//!   xmm0, and every allocatable register is clobbered.

use super::abi;
use super::lower::VCode;
use crate::interp::simd::SimdCode;
use crate::jit::simd as jsimd;
use regalloc2::{Operand, PRegSet, RegClass, VReg};
use strata_ir::simd::{SimdOp, SimdShape};
use strata_ir::{Function, Imm, Inst, Opcode};

/// The interpreter's code of an IR SIMD operator (both come from wasmparser's list in the
/// same order; a test checks the names agree).
pub fn code(op: SimdOp) -> SimdCode {
    SimdCode::from_u16(op as u16).unwrap_or(SimdCode::Copy)
}

/// How the emitter lowers one SIMD instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lowering {
    /// Inline, with this many XMM temporaries.
    Inline { temps: u8 },
    /// Through `simd_exec`.
    Helper,
}

/// The constant count of a shift, when its operand is an `i32.const`.
pub fn const_count(func: &Function, inst: Inst) -> Option<u64> {
    let v = func.resolve(*func.args(inst).get(1)?);
    let strata_ir::ValueDef::Result(def, 0) = func.values[v].def else {
        return None;
    };
    match (func.inst(def).opcode, func.inst(def).imm) {
        (Opcode::I32Const, Imm::I32(c)) => Some(c as u32 as u64),
        _ => None,
    }
}

/// A shift with an inline sequence for a constant count (`i64x2.shr_s` has none: SSE4.1
/// has no 64-bit arithmetic shift, so it goes through the helper like in the baseline).
pub fn inline_const_shift(op: SimdOp) -> bool {
    op.shape() == SimdShape::Shift && op != SimdOp::I64x2ShrS
}

/// How `inst` (a `simd` instruction) is lowered.
pub fn lowering(func: &Function, inst: Inst) -> Lowering {
    use SimdCode::*;
    let Imm::Simd(op, _) = func.inst(inst).imm else {
        return Lowering::Inline { temps: 0 };
    };
    let c = code(op);
    let temps = match c {
        _ if jsimd::simple_form(c).is_some() => 0,
        V128Bitselect
        | I8x16RelaxedLaneselect
        | I16x8RelaxedLaneselect
        | I32x4RelaxedLaneselect
        | I64x2RelaxedLaneselect
        | F32x4RelaxedMadd
        | F32x4RelaxedNmadd
        | F64x2RelaxedMadd
        | F64x2RelaxedNmadd => 1,
        V128AnyTrue | I8x16Bitmask | I16x8Bitmask | I32x4Bitmask | I64x2Bitmask => 0,
        I8x16AllTrue | I16x8AllTrue | I32x4AllTrue | I64x2AllTrue => 1,
        F32x4Min | F32x4Max | F64x2Min | F64x2Max => 3,
        I64x2Mul => 2,
        I64x2Abs => 1,
        I16x8ExtAddPairwiseI8x16S
        | I16x8ExtAddPairwiseI8x16U
        | I32x4ExtAddPairwiseI16x8S
        | I32x4ExtAddPairwiseI16x8U => 0,
        I8x16Popcnt => 2,
        F32x4ConvertI32x4U => 0,
        I8x16Swizzle | I8x16RelaxedSwizzle => 1,
        I8x16Splat | I16x8Splat | I32x4Splat | I64x2Splat | F32x4Splat | F64x2Splat => 0,
        I8x16ExtractLaneS | I8x16ExtractLaneU | I16x8ExtractLaneS | I16x8ExtractLaneU
        | I32x4ExtractLane | I64x2ExtractLane | F32x4ExtractLane | F64x2ExtractLane => 0,
        I8x16ReplaceLane | I16x8ReplaceLane | I32x4ReplaceLane | I64x2ReplaceLane
        | F32x4ReplaceLane | F64x2ReplaceLane => 0,
        I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl | I32x4ShrS | I32x4ShrU | I64x2Shl
        | I64x2ShrU => 0,
        I8x16Shl | I8x16ShrS | I8x16ShrU if const_count(func, inst).is_some() => 0,
        _ => return Lowering::Helper,
    };
    Lowering::Inline { temps }
}

/// Whether inline `simd` instruction `inst` moves a scalar operand through r10.
fn needs_r10(func: &Function, inst: Inst) -> bool {
    use SimdCode::*;
    let Imm::Simd(op, _) = func.inst(inst).imm else {
        return false;
    };
    matches!(
        code(op),
        I8x16Splat
            | I16x8Splat
            | I32x4Splat
            | I64x2Splat
            | F32x4Splat
            | F64x2Splat
            | I8x16ReplaceLane
            | I16x8ReplaceLane
            | I32x4ReplaceLane
            | I64x2ReplaceLane
            | F32x4ReplaceLane
            | F64x2ReplaceLane
            | I16x8Shl
            | I16x8ShrS
            | I16x8ShrU
            | I32x4Shl
            | I32x4ShrS
            | I32x4ShrU
            | I64x2Shl
            | I64x2ShrU
    )
}

/// Cells the helper call needs from the outgoing call area: three v128 operands.
pub const HELPER_CELLS: u32 = 6;

/// Pushes the operands of SIMD instruction `inst` and returns its clobbers.
pub fn constraints(
    func: &Function,
    module: &strata_vm::Module,
    inst: Inst,
    uses: &[VReg],
    defs: &[VReg],
    vc: &mut VCode,
) -> Result<PRegSet, String> {
    let d = func.inst(inst);
    let mut clobbers = PRegSet::empty();
    let lowering = match (d.opcode, d.imm) {
        (Opcode::Simd, Imm::Simd(op, _)) => {
            if inline_const_shift(op) && const_count(func, inst).is_some() {
                // The count is an immediate: only the vector is an operand.
                vc.operands.push(Operand::reg_use(uses[0]));
                vc.operands.push(Operand::reg_def(defs[0]));
                return Ok(clobbers);
            }
            lowering(func, inst)
        }
        (Opcode::I8x16Shuffle, _) => Lowering::Inline { temps: 1 },
        (Opcode::SimdLoad | Opcode::SimdStore, _) => Lowering::Inline { temps: 0 },
        _ => return Err(format!("{}: bad SIMD instruction", d.opcode)),
    };
    match lowering {
        Lowering::Inline { temps } => {
            for &u in uses {
                vc.operands.push(Operand::reg_use(u));
            }
            for &r in defs {
                vc.operands.push(Operand::reg_def(r));
            }
            for _ in 0..temps {
                let t = VReg::new(vc.num_vregs, RegClass::Float);
                vc.num_vregs += 1;
                vc.operands.push(Operand::reg_temp(t));
            }
            // Splats, lane replacements and shifts by a register count pass the scalar
            // through r10 (`jit::simd`); so do accesses to other memories and 64-bit ones.
            if needs_r10(func, inst) || super::lower::access_needs_r10(module, d.imm) {
                super::lower::r10_temp(vc);
            }
        }
        Lowering::Helper => {
            vc.call_cells = vc.call_cells.max(HELPER_CELLS);
            for &u in uses {
                vc.operands.push(Operand::reg_use(u));
            }
            clobbers = abi::call_clobbers();
            let out = abi::xmm(0);
            vc.operands.push(Operand::reg_fixed_def(defs[0], out));
            clobbers.remove(out);
        }
    }
    Ok(clobbers)
}
