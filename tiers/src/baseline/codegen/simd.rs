//! Fixed-width SIMD in the baseline (issue 16): v128 operands are two stack entries (cells,
//! low half first, docs/abi.md §1) that live in their home slots, in locals or as constants,
//! never in registers; a lowering loads them into XMM registers, computes with SSE4.1 and
//! stores the result into its home slots.
//!
//! Operators without an inline lowering run the interpreter's semantics (`interp::simd::exec`,
//! the reference) through the helper `simd_exec` on the operands' home slots, so every tier
//! computes the same bits; the inline lowerings are checked against the same spec suite.

use super::{Arg, Gen, Res};
use crate::baseline::abi::*;
use crate::baseline::masm::{fp_op, mem_op, mov_imm, Asm, Cc};
use crate::baseline::stack::{Loc, Ty, Val};
use crate::interp::simd::{Imm, Shape, SimdCode};
use crate::jit::helpers;
use dynasmrt::{dynasm, DynasmApi};
use strata_vm::TrapCode;
use wasmparser::MemArg;

/// `op d, s` on two v128 operands popped into XMM registers (`d`: the first operand, which
/// receives the result; `s`: the second, in the scratch register).
macro_rules! bin {
    ($g:ident, |$d:ident, $s:ident| $($t:tt)*) => {
        $g.v128_binary(false, |a: &mut Asm, $d: u8, $s: u8| {
            dynasm!(a ; .arch x64 ; $($t)*);
        })
    };
}

/// `bin!` with the operands swapped: `d` holds the second operand, `s` the first.
macro_rules! bin_rev {
    ($g:ident, |$d:ident, $s:ident| $($t:tt)*) => {
        $g.v128_binary(true, |a: &mut Asm, $d: u8, $s: u8| {
            dynasm!(a ; .arch x64 ; $($t)*);
        })
    };
}

/// An operation on one v128 operand in `d` (`s`: a free scratch register).
macro_rules! un {
    ($g:ident, |$d:ident, $s:ident| $($t:tt)*) => {
        $g.v128_unary(|a: &mut Asm, $d: u8, $s: u8| {
            dynasm!(a ; .arch x64 ; $($t)*);
        })
    };
}

/// A memory access at `[r13 + r11 + disp]` that may fault: recorded in the trap table.
macro_rules! vmem {
    ($g:ident, $disp:expr; {$($pre:tt)*} {$($post:tt)*}) => {{
        let site = $g.asm.offset().0 as u32;
        $g.traps.push((site, TrapCode::MemoryOutOfBounds));
        $g.wasm_offsets.push((site, $g.wasm_at));
        mem_op!(&mut *$g.asm, $disp; {$($pre)*} {$($post)*});
    }};
}

/// An instruction with a value-stack cell operand `[r14 + d]`.
macro_rules! cell {
    ($g:ident, $d:expr; {$($pre:tt)*} {$($post:tt)*}) => {
        fp_op!(&mut *$g.asm, $d; {$($pre)*} {$($post)*})
    };
}

macro_rules! x {
    ($g:ident; $($t:tt)*) => {{
        let a = &mut *$g.asm;
        dynasm!(a ; .arch x64 ; $($t)*);
    }};
}

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
        if op.shape() == Shape::Const {
            let v = imm.value.map(|v| v.i128() as u128).unwrap_or(0);
            self.push(Ty::V128, Loc::Const(v as u64));
            self.push(Ty::V128Hi, Loc::Const((v >> 64) as u64));
            return Ok(());
        }
        if self.simd_inline(op, &imm)? {
            return Ok(());
        }
        self.simd_by_helper(op, imm)
    }

    // ---- v128 operands in XMM registers ----

    /// Loads the v128 whose halves are `lo`, `hi` (constants, locals or slots) into `x`.
    /// Uses r11 only.
    fn load_v128(&mut self, lo: Val, hi: Val, x: u8) {
        if let (Loc::Const(a), Loc::Const(b)) = (lo.loc, hi.loc) {
            if a == 0 && b == 0 {
                x!(self; pxor Rx(x), Rx(x));
            } else if a == u64::MAX && b == u64::MAX {
                x!(self; pcmpeqd Rx(x), Rx(x));
            } else {
                mov_imm(self.asm, SCRATCH, a);
                x!(self; movq Rx(x), r11);
                mov_imm(self.asm, SCRATCH, b);
                x!(self; pinsrq Rx(x), r11, 1);
            }
            return;
        }
        if let (Some(l), Some(h)) = (self.cell_of(lo.loc), self.cell_of(hi.loc)) {
            if h == l + 1 {
                let d = cell_disp(l);
                cell!(self, d; {movdqu Rx(x), OWORD} {});
                return;
            }
        }
        match (lo.loc, self.cell_of(lo.loc)) {
            (_, Some(c)) => {
                let d = cell_disp(c);
                cell!(self, d; {movq Rx(x), QWORD} {});
            }
            (Loc::Const(a), _) => {
                mov_imm(self.asm, SCRATCH, a);
                x!(self; movq Rx(x), r11);
            }
            _ => unreachable!("a v128 half in a register"),
        }
        match (hi.loc, self.cell_of(hi.loc)) {
            (_, Some(c)) => {
                let d = cell_disp(c);
                cell!(self, d; {pinsrq Rx(x), QWORD} {, 1});
            }
            (Loc::Const(b), _) => {
                mov_imm(self.asm, SCRATCH, b);
                x!(self; pinsrq Rx(x), r11, 1);
            }
            _ => unreachable!("a v128 half in a register"),
        }
    }

    /// Pops the top v128 into `x`; returns its halves.
    fn pop_v128_into(&mut self, x: u8) -> (Val, Val) {
        let hi = self.pop();
        let lo = self.pop();
        self.load_v128(lo, hi, x);
        (lo, hi)
    }

    /// Pushes the v128 in `x`, stored into its home slots, and frees `x`.
    fn push_v128_xmm(&mut self, x: u8) {
        let p = self.stack.len() as u32;
        let d = self.slot_disp(p);
        cell!(self, d; {movdqu OWORD} {, Rx(x)});
        self.regs.clear(true, x);
        self.push_in_slots(Ty::V128, p);
    }

    /// A binary operator: `emit(d, s)` with the first operand in `d` and the second in the
    /// scratch register `s` (swapped with `rev`); the result is `d`.
    fn v128_binary(&mut self, rev: bool, emit: impl FnOnce(&mut Asm, u8, u8)) {
        let d = self.alloc_xmm();
        let (second, first) = if rev {
            (d, XMM_SCRATCH)
        } else {
            (XMM_SCRATCH, d)
        };
        self.pop_v128_into(second);
        self.pop_v128_into(first);
        emit(self.asm, d, XMM_SCRATCH);
        self.push_v128_xmm(d);
    }

    /// A unary operator: `emit(d, s)` with the operand and result in `d`, `s` free.
    fn v128_unary(&mut self, emit: impl FnOnce(&mut Asm, u8, u8)) {
        let d = self.alloc_xmm();
        self.pop_v128_into(d);
        emit(self.asm, d, XMM_SCRATCH);
        self.push_v128_xmm(d);
    }

    /// An operator needing temporaries: `emit(d, s, t)` with the first operand in `d`, the
    /// second (if `binary`) in the scratch register `s`, and three free registers `t`.
    fn v128_with_temps(&mut self, binary: bool, emit: impl FnOnce(&mut Asm, u8, u8, [u8; 3])) {
        let d = self.alloc_xmm();
        let t = [self.alloc_xmm(), self.alloc_xmm(), self.alloc_xmm()];
        if binary {
            self.pop_v128_into(XMM_SCRATCH);
        }
        self.pop_v128_into(d);
        emit(self.asm, d, XMM_SCRATCH, t);
        for x in t {
            self.regs.clear(true, x);
        }
        self.push_v128_xmm(d);
    }

    /// A unary operator with a constant second operand: `emit(d, s)` with the operand in
    /// `d` and `k` in the scratch register `s`.
    fn v128_with_const(&mut self, k: u128, emit: impl FnOnce(&mut Asm, u8, u8)) {
        let d = self.alloc_xmm();
        self.pop_v128_into(d);
        self.load_v128_const(k, XMM_SCRATCH);
        emit(self.asm, d, XMM_SCRATCH);
        self.push_v128_xmm(d);
    }

    /// Loads the constant `v` into `x` (uses r11).
    fn load_v128_const(&mut self, v: u128, x: u8) {
        self.load_v128(
            Val::new(Ty::V128, Loc::Const(v as u64)),
            Val::new(Ty::V128Hi, Loc::Const((v >> 64) as u64)),
            x,
        );
    }

    /// Pops a scalar into r10 (its bits, zero-extended for an i32 in a register).
    fn pop_scalar_r10(&mut self) -> Val {
        let v = self.pop();
        self.load_gpr_into(v, SCRATCH2);
        self.free(v);
        v
    }

    /// Lowers `op` inline when there is a lowering for it; `false` otherwise.
    fn simd_inline(&mut self, op: SimdCode, imm: &Imm) -> Result<bool, String> {
        use SimdCode::*;
        let lane = imm.lane.unwrap_or(0);
        if let Some(m) = imm.memarg {
            return self.simd_memory(op, m, lane);
        }
        match op {
            // ---- bitwise ----
            V128And => bin!(self, |d, s| pand Rx(d), Rx(s)),
            V128Or => bin!(self, |d, s| por Rx(d), Rx(s)),
            V128Xor => bin!(self, |d, s| pxor Rx(d), Rx(s)),
            V128AndNot => bin_rev!(self, |d, s| pandn Rx(d), Rx(s)),
            V128Not => un!(self, |d, s| pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s)),
            V128Bitselect
            | I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect => {
                // (a & c) | (b & !c) = ((a ^ b) & c) ^ b
                let d = self.alloc_xmm();
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(t);
                self.pop_v128_into(d);
                x!(self
                    ; pxor Rx(d), Rx(t)
                    ; pand Rx(d), Rx(XMM_SCRATCH)
                    ; pxor Rx(d), Rx(t)
                );
                self.regs.clear(true, t);
                self.push_v128_xmm(d);
            }
            V128AnyTrue => {
                self.pop_v128_into(XMM_SCRATCH);
                x!(self; ptest Rx(XMM_SCRATCH), Rx(XMM_SCRATCH));
                self.pending = Some(Cc::Ne);
            }
            I8x16AllTrue | I16x8AllTrue | I32x4AllTrue | I64x2AllTrue => {
                // No lane equals zero.
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                x!(self; pxor Rx(t), Rx(t));
                match op {
                    I8x16AllTrue => x!(self; pcmpeqb Rx(t), Rx(XMM_SCRATCH)),
                    I16x8AllTrue => x!(self; pcmpeqw Rx(t), Rx(XMM_SCRATCH)),
                    I32x4AllTrue => x!(self; pcmpeqd Rx(t), Rx(XMM_SCRATCH)),
                    _ => x!(self; pcmpeqq Rx(t), Rx(XMM_SCRATCH)),
                }
                x!(self; ptest Rx(t), Rx(t));
                self.regs.clear(true, t);
                self.pending = Some(Cc::E);
            }
            I8x16Bitmask | I16x8Bitmask | I32x4Bitmask | I64x2Bitmask => {
                self.pop_v128_into(XMM_SCRATCH);
                let r = self.alloc_gpr();
                match op {
                    I8x16Bitmask => x!(self; pmovmskb Rd(r), Rx(XMM_SCRATCH)),
                    I16x8Bitmask => x!(self
                        ; packsswb Rx(XMM_SCRATCH), Rx(XMM_SCRATCH)
                        ; pmovmskb Rd(r), Rx(XMM_SCRATCH)
                        ; movzx Rd(r), Rb(r)
                    ),
                    I32x4Bitmask => x!(self; movmskps Rd(r), Rx(XMM_SCRATCH)),
                    _ => x!(self; movmskpd Rd(r), Rx(XMM_SCRATCH)),
                }
                self.push_reg(Ty::I32, r);
            }

            // ---- i8x16 ----
            I8x16Add => bin!(self, |d, s| paddb Rx(d), Rx(s)),
            I8x16Sub => bin!(self, |d, s| psubb Rx(d), Rx(s)),
            I8x16AddSatS => bin!(self, |d, s| paddsb Rx(d), Rx(s)),
            I8x16AddSatU => bin!(self, |d, s| paddusb Rx(d), Rx(s)),
            I8x16SubSatS => bin!(self, |d, s| psubsb Rx(d), Rx(s)),
            I8x16SubSatU => bin!(self, |d, s| psubusb Rx(d), Rx(s)),
            I8x16MinS => bin!(self, |d, s| pminsb Rx(d), Rx(s)),
            I8x16MinU => bin!(self, |d, s| pminub Rx(d), Rx(s)),
            I8x16MaxS => bin!(self, |d, s| pmaxsb Rx(d), Rx(s)),
            I8x16MaxU => bin!(self, |d, s| pmaxub Rx(d), Rx(s)),
            I8x16AvgrU => bin!(self, |d, s| pavgb Rx(d), Rx(s)),
            I8x16Abs => un!(self, |d, _s| pabsb Rx(d), Rx(d)),
            I8x16Neg => {
                un!(self, |d, s| pxor Rx(s), Rx(s) ; psubb Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
            }
            I8x16Eq => bin!(self, |d, s| pcmpeqb Rx(d), Rx(s)),
            I8x16Ne => {
                bin!(self, |d, s| pcmpeqb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I8x16GtS => bin!(self, |d, s| pcmpgtb Rx(d), Rx(s)),
            I8x16LtS => bin_rev!(self, |d, s| pcmpgtb Rx(d), Rx(s)),
            I8x16LeS => {
                bin!(self, |d, s| pcmpgtb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I8x16GeS => {
                bin_rev!(self, |d, s| pcmpgtb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            // a <=u b iff min(a, b) == a; a >=u b iff max(a, b) == a.
            I8x16LeU => bin!(self, |d, s| pminub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s)),
            I8x16GeU => bin!(self, |d, s| pmaxub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s)),
            I8x16GtU => {
                bin!(self, |d, s| pminub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I8x16LtU => {
                bin!(self, |d, s| pmaxub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I8x16NarrowI16x8S => bin!(self, |d, s| packsswb Rx(d), Rx(s)),
            I8x16NarrowI16x8U => bin!(self, |d, s| packuswb Rx(d), Rx(s)),

            // ---- i16x8 ----
            I16x8Add => bin!(self, |d, s| paddw Rx(d), Rx(s)),
            I16x8Sub => bin!(self, |d, s| psubw Rx(d), Rx(s)),
            I16x8Mul => bin!(self, |d, s| pmullw Rx(d), Rx(s)),
            I16x8AddSatS => bin!(self, |d, s| paddsw Rx(d), Rx(s)),
            I16x8AddSatU => bin!(self, |d, s| paddusw Rx(d), Rx(s)),
            I16x8SubSatS => bin!(self, |d, s| psubsw Rx(d), Rx(s)),
            I16x8SubSatU => bin!(self, |d, s| psubusw Rx(d), Rx(s)),
            I16x8MinS => bin!(self, |d, s| pminsw Rx(d), Rx(s)),
            I16x8MinU => bin!(self, |d, s| pminuw Rx(d), Rx(s)),
            I16x8MaxS => bin!(self, |d, s| pmaxsw Rx(d), Rx(s)),
            I16x8MaxU => bin!(self, |d, s| pmaxuw Rx(d), Rx(s)),
            I16x8AvgrU => bin!(self, |d, s| pavgw Rx(d), Rx(s)),
            I16x8Abs => un!(self, |d, _s| pabsw Rx(d), Rx(d)),
            I16x8Neg => {
                un!(self, |d, s| pxor Rx(s), Rx(s) ; psubw Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
            }
            I16x8Eq => bin!(self, |d, s| pcmpeqw Rx(d), Rx(s)),
            I16x8Ne => {
                bin!(self, |d, s| pcmpeqw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I16x8GtS => bin!(self, |d, s| pcmpgtw Rx(d), Rx(s)),
            I16x8LtS => bin_rev!(self, |d, s| pcmpgtw Rx(d), Rx(s)),
            I16x8LeS => {
                bin!(self, |d, s| pcmpgtw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I16x8GeS => {
                bin_rev!(self, |d, s| pcmpgtw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I16x8LeU => bin!(self, |d, s| pminuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s)),
            I16x8GeU => bin!(self, |d, s| pmaxuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s)),
            I16x8GtU => {
                bin!(self, |d, s| pminuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I16x8LtU => {
                bin!(self, |d, s| pmaxuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I16x8NarrowI32x4S => bin!(self, |d, s| packssdw Rx(d), Rx(s)),
            I16x8NarrowI32x4U => bin!(self, |d, s| packusdw Rx(d), Rx(s)),
            I16x8RelaxedQ15mulrS => bin!(self, |d, s| pmulhrsw Rx(d), Rx(s)),
            I16x8Q15MulrSatS => {
                // pmulhrsw wraps only for -32768 * -32768 (giving 0x8000): flip those lanes
                // to 0x7fff.
                bin!(self, |d, s| pmulhrsw Rx(d), Rx(s)
                    ; pcmpeqw Rx(s), Rx(s)
                    ; psllw Rx(s), 15
                    ; pcmpeqw Rx(s), Rx(d)
                    ; pxor Rx(d), Rx(s))
            }
            I16x8ExtendLowI8x16S => un!(self, |d, _s| pmovsxbw Rx(d), Rx(d)),
            I16x8ExtendLowI8x16U => un!(self, |d, _s| pmovzxbw Rx(d), Rx(d)),
            I16x8ExtendHighI8x16S => {
                un!(self, |d, _s| movhlps Rx(d), Rx(d) ; pmovsxbw Rx(d), Rx(d))
            }
            I16x8ExtendHighI8x16U => {
                un!(self, |d, _s| movhlps Rx(d), Rx(d) ; pmovzxbw Rx(d), Rx(d))
            }

            // ---- i32x4 ----
            I32x4Add => bin!(self, |d, s| paddd Rx(d), Rx(s)),
            I32x4Sub => bin!(self, |d, s| psubd Rx(d), Rx(s)),
            I32x4Mul => bin!(self, |d, s| pmulld Rx(d), Rx(s)),
            I32x4MinS => bin!(self, |d, s| pminsd Rx(d), Rx(s)),
            I32x4MinU => bin!(self, |d, s| pminud Rx(d), Rx(s)),
            I32x4MaxS => bin!(self, |d, s| pmaxsd Rx(d), Rx(s)),
            I32x4MaxU => bin!(self, |d, s| pmaxud Rx(d), Rx(s)),
            I32x4Abs => un!(self, |d, _s| pabsd Rx(d), Rx(d)),
            I32x4Neg => {
                un!(self, |d, s| pxor Rx(s), Rx(s) ; psubd Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
            }
            I32x4Eq => bin!(self, |d, s| pcmpeqd Rx(d), Rx(s)),
            I32x4Ne => {
                bin!(self, |d, s| pcmpeqd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I32x4GtS => bin!(self, |d, s| pcmpgtd Rx(d), Rx(s)),
            I32x4LtS => bin_rev!(self, |d, s| pcmpgtd Rx(d), Rx(s)),
            I32x4LeS => {
                bin!(self, |d, s| pcmpgtd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I32x4GeS => {
                bin_rev!(self, |d, s| pcmpgtd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I32x4LeU => bin!(self, |d, s| pminud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s)),
            I32x4GeU => bin!(self, |d, s| pmaxud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s)),
            I32x4GtU => {
                bin!(self, |d, s| pminud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I32x4LtU => {
                bin!(self, |d, s| pmaxud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I32x4DotI16x8S => bin!(self, |d, s| pmaddwd Rx(d), Rx(s)),
            I32x4ExtendLowI16x8S => un!(self, |d, _s| pmovsxwd Rx(d), Rx(d)),
            I32x4ExtendLowI16x8U => un!(self, |d, _s| pmovzxwd Rx(d), Rx(d)),
            I32x4ExtendHighI16x8S => {
                un!(self, |d, _s| movhlps Rx(d), Rx(d) ; pmovsxwd Rx(d), Rx(d))
            }
            I32x4ExtendHighI16x8U => {
                un!(self, |d, _s| movhlps Rx(d), Rx(d) ; pmovzxwd Rx(d), Rx(d))
            }
            I32x4RelaxedTruncF32x4S => un!(self, |d, _s| cvttps2dq Rx(d), Rx(d)),
            I32x4RelaxedTruncF64x2SZero => un!(self, |d, _s| cvttpd2dq Rx(d), Rx(d)),

            // ---- i64x2 ----
            I64x2Add => bin!(self, |d, s| paddq Rx(d), Rx(s)),
            I64x2Sub => bin!(self, |d, s| psubq Rx(d), Rx(s)),
            I64x2Neg => {
                un!(self, |d, s| pxor Rx(s), Rx(s) ; psubq Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
            }
            I64x2Eq => bin!(self, |d, s| pcmpeqq Rx(d), Rx(s)),
            I64x2Ne => {
                bin!(self, |d, s| pcmpeqq Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
            }
            I64x2ExtendLowI32x4S => un!(self, |d, _s| pmovsxdq Rx(d), Rx(d)),
            I64x2ExtendLowI32x4U => un!(self, |d, _s| pmovzxdq Rx(d), Rx(d)),
            I64x2ExtendHighI32x4S => {
                un!(self, |d, _s| movhlps Rx(d), Rx(d) ; pmovsxdq Rx(d), Rx(d))
            }
            I64x2ExtendHighI32x4U => {
                un!(self, |d, _s| movhlps Rx(d), Rx(d) ; pmovzxdq Rx(d), Rx(d))
            }

            // ---- f32x4 ----
            F32x4Add => bin!(self, |d, s| addps Rx(d), Rx(s)),
            F32x4Sub => bin!(self, |d, s| subps Rx(d), Rx(s)),
            F32x4Mul => bin!(self, |d, s| mulps Rx(d), Rx(s)),
            F32x4Div => bin!(self, |d, s| divps Rx(d), Rx(s)),
            F32x4Sqrt => un!(self, |d, _s| sqrtps Rx(d), Rx(d)),
            // pmin(a, b) = b < a ? b : a = minps(b, a); pmax likewise.
            F32x4PMin => bin_rev!(self, |d, s| minps Rx(d), Rx(s)),
            F32x4PMax => bin_rev!(self, |d, s| maxps Rx(d), Rx(s)),
            F32x4RelaxedMin => bin!(self, |d, s| minps Rx(d), Rx(s)),
            F32x4RelaxedMax => bin!(self, |d, s| maxps Rx(d), Rx(s)),
            F32x4Abs => {
                un!(self, |d, s| pcmpeqd Rx(s), Rx(s) ; psrld Rx(s), 1 ; andps Rx(d), Rx(s))
            }
            F32x4Neg => {
                un!(self, |d, s| pcmpeqd Rx(s), Rx(s) ; pslld Rx(s), 31 ; xorps Rx(d), Rx(s))
            }
            F32x4Nearest => un!(self, |d, _s| roundps Rx(d), Rx(d), 8),
            F32x4Floor => un!(self, |d, _s| roundps Rx(d), Rx(d), 9),
            F32x4Ceil => un!(self, |d, _s| roundps Rx(d), Rx(d), 10),
            F32x4Trunc => un!(self, |d, _s| roundps Rx(d), Rx(d), 11),
            F32x4Eq => bin!(self, |d, s| cmpps Rx(d), Rx(s), 0),
            F32x4Ne => bin!(self, |d, s| cmpps Rx(d), Rx(s), 4),
            F32x4Lt => bin!(self, |d, s| cmpps Rx(d), Rx(s), 1),
            F32x4Le => bin!(self, |d, s| cmpps Rx(d), Rx(s), 2),
            F32x4Gt => bin_rev!(self, |d, s| cmpps Rx(d), Rx(s), 1),
            F32x4Ge => bin_rev!(self, |d, s| cmpps Rx(d), Rx(s), 2),
            F32x4ConvertI32x4S => un!(self, |d, _s| cvtdq2ps Rx(d), Rx(d)),
            F32x4DemoteF64x2Zero => un!(self, |d, _s| cvtpd2ps Rx(d), Rx(d)),

            // ---- f64x2 ----
            F64x2Add => bin!(self, |d, s| addpd Rx(d), Rx(s)),
            F64x2Sub => bin!(self, |d, s| subpd Rx(d), Rx(s)),
            F64x2Mul => bin!(self, |d, s| mulpd Rx(d), Rx(s)),
            F64x2Div => bin!(self, |d, s| divpd Rx(d), Rx(s)),
            F64x2Sqrt => un!(self, |d, _s| sqrtpd Rx(d), Rx(d)),
            F64x2PMin => bin_rev!(self, |d, s| minpd Rx(d), Rx(s)),
            F64x2PMax => bin_rev!(self, |d, s| maxpd Rx(d), Rx(s)),
            F64x2RelaxedMin => bin!(self, |d, s| minpd Rx(d), Rx(s)),
            F64x2RelaxedMax => bin!(self, |d, s| maxpd Rx(d), Rx(s)),
            F64x2Abs => {
                un!(self, |d, s| pcmpeqd Rx(s), Rx(s) ; psrlq Rx(s), 1 ; andpd Rx(d), Rx(s))
            }
            F64x2Neg => {
                un!(self, |d, s| pcmpeqd Rx(s), Rx(s) ; psllq Rx(s), 63 ; xorpd Rx(d), Rx(s))
            }
            F64x2Nearest => un!(self, |d, _s| roundpd Rx(d), Rx(d), 8),
            F64x2Floor => un!(self, |d, _s| roundpd Rx(d), Rx(d), 9),
            F64x2Ceil => un!(self, |d, _s| roundpd Rx(d), Rx(d), 10),
            F64x2Trunc => un!(self, |d, _s| roundpd Rx(d), Rx(d), 11),
            F64x2Eq => bin!(self, |d, s| cmppd Rx(d), Rx(s), 0),
            F64x2Ne => bin!(self, |d, s| cmppd Rx(d), Rx(s), 4),
            F64x2Lt => bin!(self, |d, s| cmppd Rx(d), Rx(s), 1),
            F64x2Le => bin!(self, |d, s| cmppd Rx(d), Rx(s), 2),
            F64x2Gt => bin_rev!(self, |d, s| cmppd Rx(d), Rx(s), 1),
            F64x2Ge => bin_rev!(self, |d, s| cmppd Rx(d), Rx(s), 2),
            F64x2ConvertLowI32x4S => un!(self, |d, _s| cvtdq2pd Rx(d), Rx(d)),
            F64x2PromoteLowF32x4 => un!(self, |d, _s| cvtps2pd Rx(d), Rx(d)),

            // ---- lanes ----
            I8x16Splat | I16x8Splat | I32x4Splat | F32x4Splat | I64x2Splat | F64x2Splat => {
                self.pop_scalar_r10();
                let d = self.alloc_xmm();
                match op {
                    I8x16Splat => x!(self
                        ; movd Rx(d), r10d
                        ; pxor Rx(XMM_SCRATCH), Rx(XMM_SCRATCH)
                        ; pshufb Rx(d), Rx(XMM_SCRATCH)
                    ),
                    I16x8Splat => x!(self
                        ; movd Rx(d), r10d
                        ; pshuflw Rx(d), Rx(d), 0
                        ; pshufd Rx(d), Rx(d), 0
                    ),
                    I32x4Splat | F32x4Splat => x!(self; movd Rx(d), r10d ; pshufd Rx(d), Rx(d), 0),
                    _ => x!(self; movq Rx(d), r10 ; punpcklqdq Rx(d), Rx(d)),
                }
                self.push_v128_xmm(d);
            }
            I8x16ExtractLaneS | I8x16ExtractLaneU | I16x8ExtractLaneS | I16x8ExtractLaneU
            | I32x4ExtractLane | I64x2ExtractLane | F32x4ExtractLane | F64x2ExtractLane => {
                self.extract_lane(op, lane);
            }
            I8x16ReplaceLane | I16x8ReplaceLane | I32x4ReplaceLane | F32x4ReplaceLane
            | I64x2ReplaceLane | F64x2ReplaceLane => {
                self.pop_scalar_r10();
                let d = self.alloc_xmm();
                self.pop_v128_into(d);
                let l = lane as i8;
                match op {
                    I8x16ReplaceLane => x!(self; pinsrb Rx(d), r10d, l),
                    I16x8ReplaceLane => x!(self; pinsrw Rx(d), r10d, l),
                    I32x4ReplaceLane | F32x4ReplaceLane => x!(self; pinsrd Rx(d), r10d, l),
                    _ => x!(self; pinsrq Rx(d), r10, l),
                }
                self.push_v128_xmm(d);
            }
            I8x16Shuffle => {
                let lanes = imm.lanes.unwrap_or([0; 16]);
                // pshufb each input with a mask that zeroes the other input's lanes.
                let pick = |from_b: bool| {
                    u128::from_le_bytes(lanes.map(|i| {
                        let i = i & 31;
                        if (i >= 16) == from_b {
                            i & 15
                        } else {
                            0x80
                        }
                    }))
                };
                let d = self.alloc_xmm();
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(d);
                self.load_v128_const(pick(false), t);
                x!(self; pshufb Rx(d), Rx(t));
                self.load_v128_const(pick(true), t);
                x!(self
                    ; pshufb Rx(XMM_SCRATCH), Rx(t)
                    ; por Rx(d), Rx(XMM_SCRATCH)
                );
                self.regs.clear(true, t);
                self.push_v128_xmm(d);
            }
            I8x16Swizzle | I8x16RelaxedSwizzle => {
                let d = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(d);
                if op == I8x16Swizzle {
                    // Indices of 16 and more saturate to bit 7 set: pshufb gives 0.
                    let t = self.alloc_xmm();
                    self.load_v128_const(u128::from_le_bytes([0x70; 16]), t);
                    x!(self; paddusb Rx(XMM_SCRATCH), Rx(t));
                    self.regs.clear(true, t);
                }
                x!(self; pshufb Rx(d), Rx(XMM_SCRATCH));
                self.push_v128_xmm(d);
            }

            // ---- sequences ----
            F32x4Min | F32x4Max | F64x2Min | F64x2Max => self.float_min_max(op),
            I64x2Mul => self.v128_with_temps(true, |a, d, s, [t1, t2, _]| {
                // lo(a)*lo(b) + ((hi(a)*lo(b) + lo(a)*hi(b)) << 32)
                dynasm!(a ; .arch x64
                    ; movdqa Rx(t1), Rx(d)
                    ; psrlq Rx(t1), 32
                    ; pmuludq Rx(t1), Rx(s)
                    ; movdqa Rx(t2), Rx(s)
                    ; psrlq Rx(t2), 32
                    ; pmuludq Rx(t2), Rx(d)
                    ; paddq Rx(t1), Rx(t2)
                    ; psllq Rx(t1), 32
                    ; pmuludq Rx(d), Rx(s)
                    ; paddq Rx(d), Rx(t1)
                );
            }),
            I64x2Abs => self.v128_with_temps(false, |a, d, _s, [t, _, _]| {
                // The sign of each lane spread over it, then (x ^ m) - m.
                let high_dwords = 0xf5u8 as i8;
                dynasm!(a ; .arch x64
                    ; movdqa Rx(t), Rx(d)
                    ; psrad Rx(t), 31
                    ; pshufd Rx(t), Rx(t), high_dwords
                    ; pxor Rx(d), Rx(t)
                    ; psubq Rx(d), Rx(t)
                );
            }),
            F32x4RelaxedMadd | F32x4RelaxedNmadd | F64x2RelaxedMadd | F64x2RelaxedNmadd => {
                // Unfused (docs/abi.md §9): a * b rounded, then c + (a * b) or c - (a * b).
                let d = self.alloc_xmm();
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(t);
                self.pop_v128_into(d);
                let s = XMM_SCRATCH;
                match op {
                    F32x4RelaxedMadd => x!(self; mulps Rx(d), Rx(t) ; addps Rx(d), Rx(s)),
                    F32x4RelaxedNmadd => x!(self
                        ; mulps Rx(d), Rx(t)
                        ; subps Rx(s), Rx(d)
                        ; movaps Rx(d), Rx(s)
                    ),
                    F64x2RelaxedMadd => x!(self; mulpd Rx(d), Rx(t) ; addpd Rx(d), Rx(s)),
                    _ => x!(self
                        ; mulpd Rx(d), Rx(t)
                        ; subpd Rx(s), Rx(d)
                        ; movapd Rx(d), Rx(s)
                    ),
                }
                self.regs.clear(true, t);
                self.push_v128_xmm(d);
            }
            I16x8ExtMulLowI8x16S => {
                bin!(self, |d, s| pmovsxbw Rx(d), Rx(d) ; pmovsxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
            }
            I16x8ExtMulLowI8x16U => {
                bin!(self, |d, s| pmovzxbw Rx(d), Rx(d) ; pmovzxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
            }
            I16x8ExtMulHighI8x16S => {
                bin!(self, |d, s| movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovsxbw Rx(d), Rx(d) ; pmovsxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
            }
            I16x8ExtMulHighI8x16U => {
                bin!(self, |d, s| movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovzxbw Rx(d), Rx(d) ; pmovzxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
            }
            I32x4ExtMulLowI16x8S => {
                bin!(self, |d, s| pmovsxwd Rx(d), Rx(d) ; pmovsxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
            }
            I32x4ExtMulLowI16x8U => {
                bin!(self, |d, s| pmovzxwd Rx(d), Rx(d) ; pmovzxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
            }
            I32x4ExtMulHighI16x8S => {
                bin!(self, |d, s| movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovsxwd Rx(d), Rx(d) ; pmovsxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
            }
            I32x4ExtMulHighI16x8U => {
                bin!(self, |d, s| movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovzxwd Rx(d), Rx(d) ; pmovzxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
            }
            // pmuldq/pmuludq multiply the low dwords of each qword: sign/zero-extend first.
            I64x2ExtMulLowI32x4S => {
                bin!(self, |d, s| pmovsxdq Rx(d), Rx(d) ; pmovsxdq Rx(s), Rx(s) ; pmuldq Rx(d), Rx(s))
            }
            I64x2ExtMulLowI32x4U => {
                bin!(self, |d, s| pmovzxdq Rx(d), Rx(d) ; pmovzxdq Rx(s), Rx(s) ; pmuludq Rx(d), Rx(s))
            }
            I64x2ExtMulHighI32x4S => {
                bin!(self, |d, s| movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovsxdq Rx(d), Rx(d) ; pmovsxdq Rx(s), Rx(s) ; pmuldq Rx(d), Rx(s))
            }
            I64x2ExtMulHighI32x4U => {
                bin!(self, |d, s| movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovzxdq Rx(d), Rx(d) ; pmovzxdq Rx(s), Rx(s) ; pmuludq Rx(d), Rx(s))
            }
            I16x8ExtAddPairwiseI8x16U => {
                // pmaddubsw: unsigned bytes of d times signed ones, pairs added.
                self.v128_with_const(splat8(1), |a, d, s| {
                    dynasm!(a ; .arch x64 ; pmaddubsw Rx(d), Rx(s));
                })
            }
            I16x8ExtAddPairwiseI8x16S => {
                // Unsigned ones times the signed bytes (the sums never saturate).
                self.v128_with_const(splat8(1), |a, d, s| {
                    dynasm!(a ; .arch x64 ; pmaddubsw Rx(s), Rx(d) ; movdqa Rx(d), Rx(s));
                })
            }
            I32x4ExtAddPairwiseI16x8S => self.v128_with_const(splat16(1), |a, d, s| {
                dynasm!(a ; .arch x64 ; pmaddwd Rx(d), Rx(s));
            }),
            I32x4ExtAddPairwiseI16x8U => {
                // Bias to signed, add pairs, unbias: (x - 2^15) + (y - 2^15) + 2^16.
                self.v128_with_const(splat16(0x8000), |a, d, s| {
                    dynasm!(a ; .arch x64 ; pxor Rx(d), Rx(s) ; psrlw Rx(s), 15 ; pmaddwd Rx(d), Rx(s) ; pslld Rx(s), 16 ; paddd Rx(d), Rx(s));
                })
            }
            I8x16Popcnt => {
                let d = self.alloc_xmm();
                let t = [self.alloc_xmm(), self.alloc_xmm()];
                self.pop_v128_into(d);
                // Two nibble lookups with pshufb.
                let lut = u128::from_le_bytes([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4]);
                self.load_v128_const(splat8(0x0f), XMM_SCRATCH);
                self.load_v128_const(lut, t[0]);
                let s = XMM_SCRATCH;
                x!(self
                    ; movdqa Rx(t[1]), Rx(t[0])
                    ; pand Rx(s), Rx(d)
                    ; pshufb Rx(t[0]), Rx(s)
                    ; psrlw Rx(d), 4
                );
                self.load_v128_const(splat8(0x0f), s);
                x!(self
                    ; pand Rx(d), Rx(s)
                    ; pshufb Rx(t[1]), Rx(d)
                    ; paddb Rx(t[0]), Rx(t[1])
                    ; movdqa Rx(d), Rx(t[0])
                );
                for x in t {
                    self.regs.clear(true, x);
                }
                self.push_v128_xmm(d);
            }
            I32x4TruncSatF32x4S => un!(self, |d, s|
                // NaN lanes to 0; cvttps2dq gives 0x80000000 out of range, flipped to
                // 0x7fffffff where the input was positive.
                movaps Rx(s), Rx(d)
                ; cmpps Rx(s), Rx(s), 0
                ; andps Rx(d), Rx(s)
                ; pxor Rx(s), Rx(d)
                ; cvttps2dq Rx(d), Rx(d)
                ; pand Rx(s), Rx(d)
                ; psrad Rx(s), 31
                ; pxor Rx(d), Rx(s)
            ),
            F32x4ConvertI32x4U => self.v128_with_temps(false, |a, d, s, _| {
                // Low and high 16 bits converted exactly, the high half halved and doubled
                // (exact), one rounding in the final add.
                dynasm!(a ; .arch x64
                    ; pxor Rx(s), Rx(s)
                    ; pblendw Rx(s), Rx(d), 0x55
                    ; psubd Rx(d), Rx(s)
                    ; cvtdq2ps Rx(s), Rx(s)
                    ; psrld Rx(d), 1
                    ; cvtdq2ps Rx(d), Rx(d)
                    ; addps Rx(d), Rx(d)
                    ; addps Rx(d), Rx(s)
                );
            }),
            I8x16Shl | I8x16ShrU | I8x16ShrS
                if matches!(self.stack.last().map(|v| v.loc), Some(Loc::Const(_))) =>
            {
                self.i8_shift_const(op)
            }

            // ---- shifts ----
            I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl | I32x4ShrS | I32x4ShrU | I64x2Shl
            | I64x2ShrU => self.v128_shift(op),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Wasm's `min`/`max` on float lanes: NaN if either lane is NaN (`a + b`, as the
    /// interpreter computes it), -0 below +0.
    fn float_min_max(&mut self, op: SimdCode) {
        use SimdCode::*;
        self.v128_with_temps(true, |a, d, s, [t1, t2, t3]| {
            match op {
                F32x4Min => dynasm!(a ; .arch x64
                    ; movaps Rx(t1), Rx(d) ; minps Rx(t1), Rx(s)
                    ; movaps Rx(t2), Rx(s) ; minps Rx(t2), Rx(d)
                    ; orps Rx(t1), Rx(t2)
                ),
                F32x4Max => dynasm!(a ; .arch x64
                    ; movaps Rx(t1), Rx(d) ; maxps Rx(t1), Rx(s)
                    ; movaps Rx(t2), Rx(s) ; maxps Rx(t2), Rx(d)
                    ; andps Rx(t1), Rx(t2)
                ),
                F64x2Min => dynasm!(a ; .arch x64
                    ; movapd Rx(t1), Rx(d) ; minpd Rx(t1), Rx(s)
                    ; movapd Rx(t2), Rx(s) ; minpd Rx(t2), Rx(d)
                    ; orpd Rx(t1), Rx(t2)
                ),
                _ => dynasm!(a ; .arch x64
                    ; movapd Rx(t1), Rx(d) ; maxpd Rx(t1), Rx(s)
                    ; movapd Rx(t2), Rx(s) ; maxpd Rx(t2), Rx(d)
                    ; andpd Rx(t1), Rx(t2)
                ),
            }
            // t1: the result on ordered lanes (equal lanes: the bits or'ed for min, and'ed
            // for max, as the interpreter). Unordered lanes take a + b.
            if matches!(op, F32x4Min | F32x4Max) {
                dynasm!(a ; .arch x64
                    ; movaps Rx(t2), Rx(d) ; cmpps Rx(t2), Rx(s), 3
                    ; movaps Rx(t3), Rx(d) ; addps Rx(t3), Rx(s)
                );
            } else {
                dynasm!(a ; .arch x64
                    ; movapd Rx(t2), Rx(d) ; cmppd Rx(t2), Rx(s), 3
                    ; movapd Rx(t3), Rx(d) ; addpd Rx(t3), Rx(s)
                );
            }
            dynasm!(a ; .arch x64
                ; andps Rx(t3), Rx(t2)
                ; andnps Rx(t2), Rx(t1)
                ; orps Rx(t2), Rx(t3)
                ; movaps Rx(d), Rx(t2)
            );
        });
    }

    /// i8x16 shifts by a constant: 16-bit shifts, then the bits that crossed into a
    /// neighbouring byte masked off (or, for `shr_s`, bytes widened to words first).
    fn i8_shift_const(&mut self, op: SimdCode) {
        use SimdCode::*;
        let count = self.pop();
        let n = match count.loc {
            Loc::Const(c) => (c & 7) as u8,
            _ => 0,
        };
        let d = self.alloc_xmm();
        self.pop_v128_into(d);
        let s = XMM_SCRATCH;
        match op {
            I8x16Shl => {
                self.load_v128_const(splat8(0xffu8 << n), s);
                let n = n as i8;
                x!(self; psllw Rx(d), n ; pand Rx(d), Rx(s));
            }
            I8x16ShrU => {
                self.load_v128_const(splat8(0xffu8 >> n), s);
                let n = n as i8;
                x!(self; psrlw Rx(d), n ; pand Rx(d), Rx(s));
            }
            _ => {
                let n = n as i8 + 8;
                x!(self
                    ; movdqa Rx(s), Rx(d)
                    ; punpcklbw Rx(s), Rx(s)
                    ; psraw Rx(s), n
                    ; punpckhbw Rx(d), Rx(d)
                    ; psraw Rx(d), n
                    ; packsswb Rx(s), Rx(d)
                    ; movdqa Rx(d), Rx(s)
                );
            }
        }
        self.push_v128_xmm(d);
    }

    /// `extract_lane`: straight from the cells when the vector is in memory.
    fn extract_lane(&mut self, op: SimdCode, lane: u8) {
        use SimdCode::*;
        let hi = self.pop();
        let lo = self.pop();
        let size: u32 = match op {
            I8x16ExtractLaneS | I8x16ExtractLaneU => 1,
            I16x8ExtractLaneS | I16x8ExtractLaneU => 2,
            I32x4ExtractLane | F32x4ExtractLane => 4,
            _ => 8,
        };
        let byte = lane as u32 * size;
        // The cell and byte offset in it holding the lane.
        let (half, off) = if byte >= 8 {
            (hi, byte - 8)
        } else {
            (lo, byte)
        };
        if let Loc::Const(c) = half.loc {
            let bits = c >> (8 * off);
            let v = match op {
                I8x16ExtractLaneS => bits as i8 as i32 as u32 as u64,
                I8x16ExtractLaneU => bits as u8 as u64,
                I16x8ExtractLaneS => bits as i16 as i32 as u32 as u64,
                I16x8ExtractLaneU => bits as u16 as u64,
                I32x4ExtractLane | F32x4ExtractLane => bits as u32 as u64,
                _ => bits,
            };
            let ty = match op {
                I64x2ExtractLane => Ty::I64,
                F32x4ExtractLane => Ty::F32,
                F64x2ExtractLane => Ty::F64,
                _ => Ty::I32,
            };
            self.push(ty, Loc::Const(v));
            return;
        }
        let cell = self.cell_of(half.loc).unwrap_or(0);
        let d = cell_disp(cell) + off as i32;
        match op {
            F32x4ExtractLane | F64x2ExtractLane => {
                let x = self.alloc_xmm();
                if op == F32x4ExtractLane {
                    cell!(self, d; {movss Rx(x), DWORD} {});
                    self.push_reg(Ty::F32, x);
                } else {
                    cell!(self, d; {movsd Rx(x), QWORD} {});
                    self.push_reg(Ty::F64, x);
                }
            }
            _ => {
                let r = self.alloc_gpr();
                match op {
                    I8x16ExtractLaneS => cell!(self, d; {movsx Rd(r), BYTE} {}),
                    I8x16ExtractLaneU => cell!(self, d; {movzx Rd(r), BYTE} {}),
                    I16x8ExtractLaneS => cell!(self, d; {movsx Rd(r), WORD} {}),
                    I16x8ExtractLaneU => cell!(self, d; {movzx Rd(r), WORD} {}),
                    I32x4ExtractLane => cell!(self, d; {mov Rd(r), DWORD} {}),
                    _ => cell!(self, d; {mov Rq(r), QWORD} {}),
                }
                let ty = if op == I64x2ExtractLane {
                    Ty::I64
                } else {
                    Ty::I32
                };
                self.push_reg(ty, r);
            }
        }
    }

    /// Shifts of 16-, 32- and 64-bit lanes by a count taken modulo the lane width.
    fn v128_shift(&mut self, op: SimdCode) {
        use SimdCode::*;
        let bits: u64 = match op {
            I16x8Shl | I16x8ShrS | I16x8ShrU => 16,
            I32x4Shl | I32x4ShrS | I32x4ShrU => 32,
            _ => 64,
        };
        let count = self.pop();
        let konst = match count.loc {
            Loc::Const(c) => Some((c & (bits - 1)) as i8),
            _ => {
                self.load_gpr_into(count, SCRATCH2);
                self.free(count);
                None
            }
        };
        let d = self.alloc_xmm();
        self.pop_v128_into(d);
        let s = XMM_SCRATCH;
        match konst {
            Some(n) => match op {
                I16x8Shl => x!(self; psllw Rx(d), n),
                I16x8ShrS => x!(self; psraw Rx(d), n),
                I16x8ShrU => x!(self; psrlw Rx(d), n),
                I32x4Shl => x!(self; pslld Rx(d), n),
                I32x4ShrS => x!(self; psrad Rx(d), n),
                I32x4ShrU => x!(self; psrld Rx(d), n),
                I64x2Shl => x!(self; psllq Rx(d), n),
                _ => x!(self; psrlq Rx(d), n),
            },
            None => {
                let mask = (bits - 1) as i32;
                x!(self; and r10d, mask ; movd Rx(s), r10d);
                match op {
                    I16x8Shl => x!(self; psllw Rx(d), Rx(s)),
                    I16x8ShrS => x!(self; psraw Rx(d), Rx(s)),
                    I16x8ShrU => x!(self; psrlw Rx(d), Rx(s)),
                    I32x4Shl => x!(self; pslld Rx(d), Rx(s)),
                    I32x4ShrS => x!(self; psrad Rx(d), Rx(s)),
                    I32x4ShrU => x!(self; psrld Rx(d), Rx(s)),
                    I64x2Shl => x!(self; psllq Rx(d), Rx(s)),
                    _ => x!(self; psrlq Rx(d), Rx(s)),
                }
            }
        }
        self.push_v128_xmm(d);
    }

    /// Loads and stores on any memory: bounds-checked like the scalar ones (`Gen::access`:
    /// explicit checks, or the trap table for guard pages).
    fn simd_memory(&mut self, op: SimdCode, m: MemArg, lane: u8) -> Result<bool, String> {
        use SimdCode::*;
        let size: u32 = match op {
            V128Load | V128Store => 16,
            V128Load8x8S | V128Load8x8U | V128Load16x4S | V128Load16x4U | V128Load32x2S
            | V128Load32x2U | V128Load64Splat | V128Load64Zero | V128Load64Lane
            | V128Store64Lane => 8,
            V128Load32Splat | V128Load32Zero | V128Load32Lane | V128Store32Lane => 4,
            V128Load16Splat | V128Load16Lane | V128Store16Lane => 2,
            V128Load8Splat | V128Load8Lane | V128Store8Lane => 1,
            _ => return Ok(false),
        };
        let l = lane as i8;
        match op {
            V128Store | V128Store8Lane | V128Store16Lane | V128Store32Lane | V128Store64Lane => {
                let x = XMM_SCRATCH;
                self.pop_v128_into(x);
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                match op {
                    V128Store => vmem!(self, disp; {movdqu OWORD} {, Rx(x)}),
                    V128Store8Lane => vmem!(self, disp; {pextrb BYTE} {, Rx(x), l}),
                    V128Store16Lane => vmem!(self, disp; {pextrw WORD} {, Rx(x), l}),
                    V128Store32Lane => vmem!(self, disp; {pextrd DWORD} {, Rx(x), l}),
                    _ => vmem!(self, disp; {pextrq QWORD} {, Rx(x), l}),
                }
            }
            V128Load8Lane | V128Load16Lane | V128Load32Lane | V128Load64Lane => {
                let d = self.alloc_xmm();
                self.pop_v128_into(d);
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                match op {
                    V128Load8Lane => vmem!(self, disp; {pinsrb Rx(d), BYTE} {, l}),
                    V128Load16Lane => vmem!(self, disp; {pinsrw Rx(d), WORD} {, l}),
                    V128Load32Lane => vmem!(self, disp; {pinsrd Rx(d), DWORD} {, l}),
                    _ => vmem!(self, disp; {pinsrq Rx(d), QWORD} {, l}),
                }
                self.push_v128_xmm(d);
            }
            _ => {
                let d = self.alloc_xmm();
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                match op {
                    V128Load => vmem!(self, disp; {movdqu Rx(d), OWORD} {}),
                    V128Load8x8S => vmem!(self, disp; {pmovsxbw Rx(d), QWORD} {}),
                    V128Load8x8U => vmem!(self, disp; {pmovzxbw Rx(d), QWORD} {}),
                    V128Load16x4S => vmem!(self, disp; {pmovsxwd Rx(d), QWORD} {}),
                    V128Load16x4U => vmem!(self, disp; {pmovzxwd Rx(d), QWORD} {}),
                    V128Load32x2S => vmem!(self, disp; {pmovsxdq Rx(d), QWORD} {}),
                    V128Load32x2U => vmem!(self, disp; {pmovzxdq Rx(d), QWORD} {}),
                    V128Load8Splat => {
                        vmem!(self, disp; {pinsrb Rx(d), BYTE} {, 0});
                        x!(self
                            ; pxor Rx(XMM_SCRATCH), Rx(XMM_SCRATCH)
                            ; pshufb Rx(d), Rx(XMM_SCRATCH)
                        );
                    }
                    V128Load16Splat => {
                        vmem!(self, disp; {pinsrw Rx(d), WORD} {, 0});
                        x!(self; pshuflw Rx(d), Rx(d), 0 ; pshufd Rx(d), Rx(d), 0);
                    }
                    V128Load32Splat => {
                        vmem!(self, disp; {movss Rx(d), DWORD} {});
                        x!(self; pshufd Rx(d), Rx(d), 0);
                    }
                    V128Load64Splat => {
                        vmem!(self, disp; {movq Rx(d), QWORD} {});
                        x!(self; punpcklqdq Rx(d), Rx(d));
                    }
                    V128Load32Zero => vmem!(self, disp; {movss Rx(d), DWORD} {}),
                    _ => vmem!(self, disp; {movq Rx(d), QWORD} {}),
                }
                self.push_v128_xmm(d);
            }
        }
        Ok(true)
    }

    /// Runs `op` through the helper `simd_exec` (the interpreter's semantics) on the operands'
    /// home slots: the operands are stored there, the result comes back in the first ones.
    fn simd_by_helper(&mut self, op: SimdCode, imm: Imm) -> Res {
        let lane = imm.lane.unwrap_or(0) as u64;
        let offset = match imm.memarg {
            // The helper reads memory 0 of 32 bits only (`simd_memory` makes every access
            // inline, to any memory; this is a guard, not a path taken).
            Some(m)
                if m.target != wasmparser::MemArgTarget::Memory(0)
                    || self.module.memories[0].memory64 =>
            {
                return Err(format!(
                    "{op:?} through the helper on memory {:?}",
                    m.target
                ))
            }
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

/// `b` in every byte.
fn splat8(b: u8) -> u128 {
    u128::from_le_bytes([b; 16])
}

/// `h` in every 16-bit lane.
fn splat16(h: u16) -> u128 {
    (0..8).fold(0, |acc, i| acc | (h as u128) << (16 * i))
}
