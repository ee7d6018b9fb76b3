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
use crate::baseline::masm::{fp_op, mov_imm, Asm, Cc};
use crate::baseline::stack::{Loc, Ty, Val};
use crate::interp::simd::{Imm, Shape, SimdCode};
use crate::jit::helpers;
use crate::jit::simd::{self as jsimd, Form};
use dynasmrt::{dynasm, DynasmApi};
use strata_vm::TrapCode;
use wasmparser::MemArg;

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
        // The simple operators: one shared sequence (`jit::simd`) on two XMM registers.
        if let Some(form) = jsimd::simple_form(op) {
            let emit = move |a: &mut Asm, d: u8, s: u8| jsimd::emit_simple(a, op, d, s);
            match form {
                Form::Bin => self.v128_binary(false, emit),
                Form::BinRev => self.v128_binary(true, emit),
                Form::Un => self.v128_unary(emit),
            }
            return Ok(true);
        }
        match op {
            // ---- bitwise ----
            V128Bitselect
            | I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect => {
                let d = self.alloc_xmm();
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(t);
                self.pop_v128_into(d);
                jsimd::bitselect(&mut *self.asm, d, t, XMM_SCRATCH);
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

            // ---- lanes ----
            I8x16Splat | I16x8Splat | I32x4Splat | F32x4Splat | I64x2Splat | F64x2Splat => {
                self.pop_scalar_r10();
                let d = self.alloc_xmm();
                jsimd::splat_r10(&mut *self.asm, op, d, XMM_SCRATCH);
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
                jsimd::replace_lane_r10(&mut *self.asm, op, d, lane);
                self.push_v128_xmm(d);
            }
            I8x16Shuffle => {
                let lanes = imm.lanes.unwrap_or([0; 16]);
                let d = self.alloc_xmm();
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(d);
                jsimd::shuffle(&mut *self.asm, lanes, d, XMM_SCRATCH, t);
                self.regs.clear(true, t);
                self.push_v128_xmm(d);
            }
            I8x16Swizzle | I8x16RelaxedSwizzle => {
                let d = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(d);
                let t = self.alloc_xmm();
                jsimd::swizzle(&mut *self.asm, op == I8x16RelaxedSwizzle, d, XMM_SCRATCH, t);
                self.regs.clear(true, t);
                self.push_v128_xmm(d);
            }

            // ---- sequences ----
            F32x4Min | F32x4Max | F64x2Min | F64x2Max => self.float_min_max(op),
            I64x2Mul => self.v128_with_temps(true, |a, d, s, [t1, t2, _]| {
                jsimd::i64x2_mul(a, d, s, t1, t2);
            }),
            I64x2Abs => self.v128_with_temps(false, |a, d, _s, [t, _, _]| {
                jsimd::i64x2_abs(a, d, t);
            }),
            F32x4RelaxedMadd | F32x4RelaxedNmadd | F64x2RelaxedMadd | F64x2RelaxedNmadd => {
                // Unfused (docs/abi.md §9): a * b rounded, then c + (a * b) or c - (a * b).
                let d = self.alloc_xmm();
                let t = self.alloc_xmm();
                self.pop_v128_into(XMM_SCRATCH);
                self.pop_v128_into(t);
                self.pop_v128_into(d);
                jsimd::madd(&mut *self.asm, op, d, t, XMM_SCRATCH);
                self.regs.clear(true, t);
                self.push_v128_xmm(d);
            }
            I16x8ExtAddPairwiseI8x16U
            | I16x8ExtAddPairwiseI8x16S
            | I32x4ExtAddPairwiseI16x8S
            | I32x4ExtAddPairwiseI16x8U => {
                self.v128_unary(|a, d, s| jsimd::ext_add_pairwise(a, op, d, s))
            }
            I8x16Popcnt => {
                let d = self.alloc_xmm();
                let t = [self.alloc_xmm(), self.alloc_xmm()];
                self.pop_v128_into(d);
                jsimd::popcnt(&mut *self.asm, d, XMM_SCRATCH, t[0], t[1]);
                for x in t {
                    self.regs.clear(true, x);
                }
                self.push_v128_xmm(d);
            }
            F32x4ConvertI32x4U => self.v128_unary(jsimd::f32x4_convert_u),
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
        self.v128_with_temps(true, |a, d, s, t| jsimd::float_min_max(a, op, d, s, t));
    }

    /// i8x16 shifts by a constant: 16-bit shifts, then the bits that crossed into a
    /// neighbouring byte masked off (or, for `shr_s`, bytes widened to words first).
    fn i8_shift_const(&mut self, op: SimdCode) {
        let count = self.pop();
        let n = match count.loc {
            Loc::Const(c) => c,
            _ => 0,
        };
        let d = self.alloc_xmm();
        self.pop_v128_into(d);
        jsimd::i8_shift_const(&mut *self.asm, op, d, XMM_SCRATCH, n);
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
        let count = self.pop();
        let konst = match count.loc {
            Loc::Const(c) => Some(c),
            _ => {
                self.load_gpr_into(count, SCRATCH2);
                self.free(count);
                None
            }
        };
        let d = self.alloc_xmm();
        self.pop_v128_into(d);
        let _ = jsimd::shift(&mut *self.asm, op, d, XMM_SCRATCH, konst);
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
        let site = match op {
            V128Store | V128Store8Lane | V128Store16Lane | V128Store32Lane | V128Store64Lane => {
                let x = XMM_SCRATCH;
                self.pop_v128_into(x);
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                jsimd::store(&mut *self.asm, op, x, disp, lane)
            }
            V128Load8Lane | V128Load16Lane | V128Load32Lane | V128Load64Lane => {
                let d = self.alloc_xmm();
                self.pop_v128_into(d);
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                let site = jsimd::load(&mut *self.asm, op, d, XMM_SCRATCH, disp, lane);
                self.push_v128_xmm(d);
                site
            }
            _ => {
                let d = self.alloc_xmm();
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                let site = jsimd::load(&mut *self.asm, op, d, XMM_SCRATCH, disp, lane);
                self.push_v128_xmm(d);
                site
            }
        };
        self.traps.push((site, TrapCode::MemoryOutOfBounds));
        self.wasm_offsets.push((site, self.wasm_at));
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
