//! Fixed-width SIMD in the baseline (issue 16): v128 operands are two stack entries (cells,
//! low half first, docs/abi.md §1) that live in their home slots, in locals or as constants,
//! never in registers; a lowering loads them into XMM registers, computes with SSE4.1 and
//! stores the result into its home slots.
//!
//! Operators without an inline lowering run the interpreter's semantics (`interp::simd::exec`,
//! the reference) through the helper `simd_exec` on the operands' home slots, so every tier
//! computes the same bits; the inline lowerings are checked against the same spec suite.

use super::{Arg, Gen, Res};

use crate::baseline::stack::{Loc, Ty};
use crate::interp::simd::{Imm, Shape, SimdCode};
use crate::jit::helpers;

macro_rules! define_simd_visit {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                #[allow(unused_mut)]
                let mut imm = Imm::default();
                $($(imm.$arg = Some($arg);)*)?
                if let Err(e) = self.simd(SimdCode::$op, imm) {
                    self.fail(e);
                }
            }
        )*
    };
}

impl<'a> wasmparser::VisitSimdOperator<'a> for Gen<'_> {
    wasmparser::for_each_visit_simd_operator!(define_simd_visit);
}

/// The scalar type a `Shape::ToScalar` operator produces.
fn scalar_result(op: SimdCode) -> Ty {
    use SimdCode::*;
    match op {
        I64x2ExtractLane => Ty::I64,
        F32x4ExtractLane => Ty::F32,
        F64x2ExtractLane => Ty::F64,
        _ => Ty::I32,
    }
}

impl Gen<'_> {
    /// Lowers SIMD operator `op` with immediates `imm`.
    fn simd(&mut self, op: SimdCode, imm: Imm) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        self.flush();
        if let Some(m) = imm.memarg {
            if m.target != wasmparser::MemArgTarget::Memory(0) {
                return Err("the baseline does not support SIMD on memories other than 0".into());
            }
        }
        if op.shape() == Shape::Const {
            let v = imm.value.map(|v| v.i128() as u128).unwrap_or(0);
            self.push(Ty::V128, Loc::Const(v as u64));
            self.push(Ty::V128Hi, Loc::Const((v >> 64) as u64));
            return Ok(());
        }
        self.simd_by_helper(op, imm)
    }

    /// Runs `op` through the helper `simd_exec` (the interpreter's semantics) on the operands'
    /// home slots: the operands are stored there, the result comes back in the first ones.
    fn simd_by_helper(&mut self, op: SimdCode, imm: Imm) -> Res {
        let lane = imm.lane.unwrap_or(0) as u64;
        let offset = match imm.memarg {
            Some(m) => u32::try_from(m.offset).map_err(|_| "memory offset beyond 32 bits")?,
            None => 0,
        };
        // Operand cells (from the first operand's position) and what comes back.
        let shape = op.shape();
        let (cells, a, b, c) = match shape {
            Shape::Unary | Shape::ToScalar => (2, 0, 0, 0),
            Shape::Binary => (4, 0, 2, 0),
            Shape::Ternary => {
                if let Some(lanes) = imm.lanes {
                    // The shuffle's selector, as a third operand in the slots above.
                    let v = u128::from_le_bytes(lanes);
                    self.push(Ty::V128, Loc::Const(v as u64));
                    self.push(Ty::V128Hi, Loc::Const((v >> 64) as u64));
                }
                (6, 0, 2, 4)
            }
            Shape::Shift | Shape::ReplaceLane => (3, 0, 2, 0),
            Shape::Splat | Shape::Load => (1, 0, 0, 0),
            Shape::LoadLane | Shape::Store => (3, 0, 1, 0),
            Shape::Const | Shape::Unsupported => {
                return Err(format!("the baseline tier does not support {op:?}"))
            }
        };
        // The helper clobbers every register.
        self.spill_regs();
        let len = self.stack.len();
        let p = len - cells;
        for q in p..len {
            self.spill_entry(q);
        }
        // A v128 result may need more cells than the operands took.
        self.max_height = self.max_height.max(p + 2);
        let word = op as u64 | lane << 16 | a << 32 | b << 40 | c << 48;
        self.call_helper(
            helpers::simd_exec as *const () as usize,
            &[
                Arg::Vmctx,
                Arg::Imm(word),
                Arg::Imm(offset as u64),
                Arg::Cell(self.num_locals + p as u32),
            ],
        );
        if matches!(shape, Shape::Load | Shape::LoadLane | Shape::Store) {
            self.check_helper_trap();
        }
        self.truncate(p);
        match shape {
            Shape::Store => {}
            Shape::ToScalar => self.push(scalar_result(op), Loc::Slot(p as u32)),
            _ => {
                self.push_in_slots(Ty::V128, p as u32);
            }
        }
        Ok(())
    }
}
