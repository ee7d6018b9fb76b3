//! Fixed-width SIMD in the baseline (issue 16): v128 operands are two stack entries (cells,
//! low half first, docs/abi.md §1) that live in an XMM register (both entries name it), in
//! their home slots, in locals (whose last `local.set` may have left them cached in an XMM
//! register) or as constants (read from a per-function pool, `rip`-relative). A lowering
//! takes its operands in XMM registers, computes with SSE4.1 and leaves the result in a
//! register; the stack's spills (calls, branches, block ends, OSR points) write both cells.
//!
//! Operators without an inline lowering (the relaxed dot products, and the i64x2 ordered
//! compares on a CPU without SSE4.2) run the interpreter's semantics (`interp::simd::exec`,
//! the reference) through the helper `simd_exec` on the operands' home slots, so every tier
//! computes the same bits; the inline lowerings are checked against the same spec suite.

use super::{Arg, Gen, Res};
use crate::baseline::abi::*;
use crate::baseline::masm::{fp_op, mov_imm, Asm, Cc};
use crate::baseline::stack::{Loc, Ty, Val};
use crate::interp::simd::{Imm, Shape, SimdCode};
use crate::jit::helpers;
use crate::jit::simd::{self as jsimd, Form};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};
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

    /// Runs `f` on the assembler with a constant loader that reads the function's pool
    /// (the `_with` forms of `jit::simd`'s sequences).
    fn with_pool(&mut self, f: impl FnOnce(&mut Asm, jsimd::Consts)) {
        let pool = &mut self.v128_consts;
        let mut load = |a: &mut Asm, x: u8, v: u128| pool_load(pool, a, x, v);
        f(&mut *self.asm, &mut load);
    }

    /// Emits the constant pool (after the function's code, 16-byte aligned; never run).
    pub(super) fn emit_v128_pool(&mut self) {
        if self.v128_consts.is_empty() {
            return;
        }
        let pad = self.asm.offset().0.next_multiple_of(16) - self.asm.offset().0;
        self.asm.extend(std::iter::repeat_n(0xcc_u8, pad));
        for (v, l) in std::mem::take(&mut self.v128_consts) {
            x!(self; =>l);
            self.asm.extend(v.to_le_bytes());
        }
    }

    /// The XMM register holding a v128 whose low half is `lo`, when the stack owns one.
    fn v128_reg(lo: Val) -> Option<u8> {
        match (lo.ty, lo.loc) {
            (Ty::V128, Loc::Reg(x)) => Some(x),
            _ => None,
        }
    }

    /// A free XMM register that caches the v128 local whose halves `lo`, `hi` read, if one
    /// does (read it, never write it).
    fn cached_v128(&self, lo: Val, hi: Val) -> Option<u8> {
        match (lo.loc, hi.loc) {
            (Loc::Local(c), Loc::Local(h)) if h == c + 1 => self.cached_xmm(lo.loc),
            _ => None,
        }
    }

    /// Loads the v128 whose halves are `lo`, `hi` into `x`. Uses r11 only for a v128 with
    /// one constant half and one in memory.
    fn load_v128(&mut self, lo: Val, hi: Val, x: u8) {
        if let Some(r) = Self::v128_reg(lo).or_else(|| self.cached_v128(lo, hi)) {
            if r != x {
                x!(self; movdqa Rx(x), Rx(r));
            }
            return;
        }
        if let (Loc::Const(a), Loc::Const(b)) = (lo.loc, hi.loc) {
            let v = a as u128 | (b as u128) << 64;
            self.with_pool(|asm, load| load(asm, x, v));
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
            _ => unreachable!("half a v128 in a register"),
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
            _ => unreachable!("half a v128 in a register"),
        }
    }

    /// Pops the top v128 into an XMM register the caller owns (and may write): its own
    /// register when it is in one, else a newly allocated one.
    fn pop_v128_owned(&mut self) -> u8 {
        let hi = self.pop();
        let lo = self.pop();
        if let Some(x) = Self::v128_reg(lo) {
            return x;
        }
        let x = self.alloc_xmm();
        self.load_v128(lo, hi, x);
        x
    }

    /// Pops the top v128 into a register the caller may clobber: its own register when it
    /// is in one, else `XMM_SCRATCH`. Give it back with `release_xmm`.
    fn pop_v128_any(&mut self) -> u8 {
        let hi = self.pop();
        let lo = self.pop();
        if let Some(x) = Self::v128_reg(lo) {
            return x;
        }
        self.load_v128(lo, hi, XMM_SCRATCH);
        XMM_SCRATCH
    }

    /// Frees a register from `pop_v128_any` or `alloc_xmm` (the scratch register is never
    /// allocated).
    fn release_xmm(&mut self, x: u8) {
        if x != XMM_SCRATCH {
            self.regs.clear(true, x);
        }
    }

    /// Pushes the v128 in `x` (owned by the stack from now on).
    fn push_v128_reg(&mut self, x: u8) {
        self.push(Ty::V128, Loc::Reg(x));
        self.push(Ty::V128Hi, Loc::Reg(x));
    }

    /// A binary operator: `emit(d, s)` with the first operand in `d` and the second in `s`
    /// (swapped with `rev`); the result is `d`.
    fn v128_binary(&mut self, rev: bool, emit: impl FnOnce(&mut Asm, u8, u8)) {
        let (d, s) = if rev {
            let d = self.pop_v128_owned();
            (d, self.pop_v128_any())
        } else {
            let s = self.pop_v128_any();
            (self.pop_v128_owned(), s)
        };
        emit(self.asm, d, s);
        self.release_xmm(s);
        self.push_v128_reg(d);
    }

    /// A unary operator: `emit(d, s)` with the operand and result in `d`, `s` free.
    fn v128_unary(&mut self, emit: impl FnOnce(&mut Asm, u8, u8)) {
        let d = self.pop_v128_owned();
        emit(self.asm, d, XMM_SCRATCH);
        self.push_v128_reg(d);
    }

    /// An operator needing temporaries: `emit(d, s, t)` with the first operand in `d`, the
    /// second (if `binary`, else a free register) in `s`, and three free registers `t`.
    fn v128_with_temps(&mut self, binary: bool, emit: impl FnOnce(&mut Asm, u8, u8, [u8; 3])) {
        let s = if binary {
            self.pop_v128_any()
        } else {
            XMM_SCRATCH
        };
        let d = self.pop_v128_owned();
        let t = [self.alloc_xmm(), self.alloc_xmm(), self.alloc_xmm()];
        emit(self.asm, d, s, t);
        for x in t {
            self.release_xmm(x);
        }
        self.release_xmm(s);
        self.push_v128_reg(d);
    }

    /// The XMM register holding the float on top of the stack (its own or a cached
    /// local's), if one does.
    fn top_float_xmm(&self) -> Option<u8> {
        self.stack.last().and_then(|&v| self.top_float_xmm_of(v))
    }

    fn top_float_xmm_of(&self, v: Val) -> Option<u8> {
        if !v.ty.is_float() {
            return None;
        }
        match v.loc {
            Loc::Reg(x) => Some(x),
            _ => self.cached_xmm(v.loc),
        }
    }

    /// Pops a scalar into r10 (its bits, zero-extended for an i32 in a register).
    fn pop_scalar_r10(&mut self) -> Val {
        let v = self.pop();
        self.load_gpr_into(v, SCRATCH2);
        self.free(v);
        v
    }

    /// `local.set`/`local.tee` of the v128 local at cells `c`, `c + 1`: stored from an XMM
    /// register, which then caches the local (like a scalar's, `Gen::lcache`).
    pub(super) fn local_set_v128(&mut self, c: u32, tee: bool) {
        let hi = self.pop();
        let lo = self.pop();
        if (lo.loc, hi.loc) == (Loc::Local(c), Loc::Local(c + 1)) {
            if tee {
                self.push(lo.ty, lo.loc);
                self.push(hi.ty, hi.loc);
            }
            return;
        }
        self.preserve_local(c);
        self.preserve_local(c + 1);
        let x = match Self::v128_reg(lo) {
            Some(x) => x,
            None => {
                let x = self.alloc_xmm();
                self.load_v128(lo, hi, x);
                x
            }
        };
        let d = cell_disp(c);
        cell!(self, d; {movdqu OWORD} {, Rx(x)});
        self.forget_local(c);
        self.forget_local(c + 1);
        self.regs.clear(true, x);
        self.lcache[16 + x as usize] = c;
        self.lcached |= 1 << (16 + x);
        if tee {
            self.push(Ty::V128, Loc::Local(c));
            self.push(Ty::V128Hi, Loc::Local(c + 1));
        }
    }

    /// `select` of two v128 values, in registers.
    pub(super) fn select_v128(&mut self) {
        let c = self.pop();
        if let Loc::Const(k) = c.loc {
            let second = self.pop_v128_any();
            let first = self.pop_v128_owned();
            if k as u32 == 0 {
                x!(self; movdqa Rx(first), Rx(second));
            }
            self.release_xmm(second);
            self.push_v128_reg(first);
            return;
        }
        let s = self.pop_v128_any();
        let d = self.pop_v128_owned();
        // The condition stays where it is (a register, a local or a cell above the operands).
        if let Loc::Reg(r) = c.loc {
            x!(self; test Rd(r), Rd(r));
        } else if let Some(r) = self.cached_local(c.loc) {
            x!(self; test Rd(r), Rd(r));
        } else {
            let m = self.disp_of(c.loc).unwrap_or(0);
            cell!(self, m; {cmp DWORD} {, 0});
        }
        let keep = self.asm.new_dynamic_label();
        x!(self; jnz =>keep ; movdqa Rx(d), Rx(s) ; =>keep);
        self.release_xmm(s);
        self.free(c);
        self.push_v128_reg(d);
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
                let c = self.pop_v128_any();
                let t = self.pop_v128_owned();
                let d = self.pop_v128_owned();
                jsimd::bitselect(&mut *self.asm, d, t, c);
                self.release_xmm(t);
                self.release_xmm(c);
                self.push_v128_reg(d);
            }
            V128AnyTrue => {
                let x = self.pop_v128_any();
                x!(self; ptest Rx(x), Rx(x));
                self.release_xmm(x);
                self.pending = Some(Cc::Ne);
            }
            I8x16AllTrue | I16x8AllTrue | I32x4AllTrue | I64x2AllTrue => {
                // No lane equals zero.
                let x = self.pop_v128_any();
                let t = self.alloc_xmm();
                x!(self; pxor Rx(t), Rx(t));
                match op {
                    I8x16AllTrue => x!(self; pcmpeqb Rx(t), Rx(x)),
                    I16x8AllTrue => x!(self; pcmpeqw Rx(t), Rx(x)),
                    I32x4AllTrue => x!(self; pcmpeqd Rx(t), Rx(x)),
                    _ => x!(self; pcmpeqq Rx(t), Rx(x)),
                }
                x!(self; ptest Rx(t), Rx(t));
                self.release_xmm(t);
                self.release_xmm(x);
                self.pending = Some(Cc::E);
            }
            I8x16Bitmask | I16x8Bitmask | I32x4Bitmask | I64x2Bitmask => {
                let x = self.pop_v128_any();
                let r = self.alloc_gpr();
                match op {
                    I8x16Bitmask => x!(self; pmovmskb Rd(r), Rx(x)),
                    I16x8Bitmask => x!(self
                        ; packsswb Rx(x), Rx(x)
                        ; pmovmskb Rd(r), Rx(x)
                        ; movzx Rd(r), Rb(r)
                    ),
                    I32x4Bitmask => x!(self; movmskps Rd(r), Rx(x)),
                    _ => x!(self; movmskpd Rd(r), Rx(x)),
                }
                self.release_xmm(x);
                self.push_reg(Ty::I32, r);
            }

            // ---- lanes ----
            F32x4Splat | F64x2Splat if self.top_float_xmm().is_some() => {
                // Straight from the scalar's XMM register (read only: it may cache a local).
                let v = self.pop();
                let x = self.top_float_xmm_of(v).unwrap_or(XMM_SCRATCH);
                let d = self.alloc_xmm();
                let lanes = if op == F32x4Splat { 0x00 } else { 0x44 };
                x!(self; pshufd Rx(d), Rx(x), lanes);
                self.free(v);
                self.push_v128_reg(d);
            }
            I8x16Splat | I16x8Splat | I32x4Splat | F32x4Splat | I64x2Splat | F64x2Splat => {
                self.pop_scalar_r10();
                let d = self.alloc_xmm();
                jsimd::splat_r10(&mut *self.asm, op, d, XMM_SCRATCH);
                self.push_v128_reg(d);
            }
            I8x16ExtractLaneS | I8x16ExtractLaneU | I16x8ExtractLaneS | I16x8ExtractLaneU
            | I32x4ExtractLane | I64x2ExtractLane | F32x4ExtractLane | F64x2ExtractLane => {
                self.extract_lane(op, lane);
            }
            I8x16ReplaceLane | I16x8ReplaceLane | I32x4ReplaceLane | F32x4ReplaceLane
            | I64x2ReplaceLane | F64x2ReplaceLane => {
                self.pop_scalar_r10();
                let d = self.pop_v128_owned();
                jsimd::replace_lane_r10(&mut *self.asm, op, d, lane);
                self.push_v128_reg(d);
            }
            I8x16Shuffle => {
                let lanes = imm.lanes.unwrap_or([0; 16]);
                let s = self.pop_v128_any();
                let d = self.pop_v128_owned();
                let t = self.alloc_xmm();
                self.with_pool(|a, k| jsimd::shuffle_with(a, lanes, d, s, t, k));
                self.release_xmm(t);
                self.release_xmm(s);
                self.push_v128_reg(d);
            }
            I8x16Swizzle | I8x16RelaxedSwizzle => {
                let s = self.pop_v128_any();
                let d = self.pop_v128_owned();
                let t = self.alloc_xmm();
                let relaxed = op == I8x16RelaxedSwizzle;
                self.with_pool(|a, k| jsimd::swizzle_with(a, relaxed, d, s, t, k));
                self.release_xmm(t);
                self.release_xmm(s);
                self.push_v128_reg(d);
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
                let s = self.pop_v128_any();
                let t = self.pop_v128_owned();
                let d = self.pop_v128_owned();
                jsimd::madd(&mut *self.asm, op, d, t, s);
                self.release_xmm(t);
                self.release_xmm(s);
                self.push_v128_reg(d);
            }
            I16x8ExtAddPairwiseI8x16U
            | I16x8ExtAddPairwiseI8x16S
            | I32x4ExtAddPairwiseI16x8S
            | I32x4ExtAddPairwiseI16x8U => {
                let d = self.pop_v128_owned();
                let s = XMM_SCRATCH;
                self.with_pool(|a, k| jsimd::ext_add_pairwise_with(a, op, d, s, k));
                self.push_v128_reg(d);
            }
            I8x16Popcnt => {
                let d = self.pop_v128_owned();
                let t = [self.alloc_xmm(), self.alloc_xmm()];
                let s = XMM_SCRATCH;
                self.with_pool(|a, k| jsimd::popcnt_with(a, d, s, t[0], t[1], k));
                for x in t {
                    self.release_xmm(x);
                }
                self.push_v128_reg(d);
            }
            F32x4ConvertI32x4U => self.v128_unary(jsimd::f32x4_convert_u),
            I8x16Shl | I8x16ShrU | I8x16ShrS
                if matches!(self.stack.last().map(|v| v.loc), Some(Loc::Const(_))) =>
            {
                self.i8_shift_const(op)
            }

            I8x16Shl | I8x16ShrU | I8x16ShrS => {
                let count = self.pop();
                self.load_gpr_into(count, SCRATCH2);
                self.free(count);
                let d = self.pop_v128_owned();
                let (t1, t2) = (self.alloc_xmm(), self.alloc_xmm());
                jsimd::i8_shift_var(&mut *self.asm, op, d, XMM_SCRATCH, t1, t2);
                self.release_xmm(t1);
                self.release_xmm(t2);
                self.push_v128_reg(d);
            }
            I64x2GtS | I64x2LeS if jsimd::has_sse42() => {
                self.v128_binary(false, move |a, d, s| jsimd::i64x2_compare(a, op, d, s))
            }
            I64x2LtS | I64x2GeS if jsimd::has_sse42() => {
                self.v128_binary(true, move |a, d, s| jsimd::i64x2_compare(a, op, d, s))
            }
            I32x4TruncSatF32x4U
            | I32x4RelaxedTruncF32x4U
            | I32x4TruncSatF64x2SZero
            | I32x4TruncSatF64x2UZero
            | I32x4RelaxedTruncF64x2UZero
            | F64x2ConvertLowI32x4U => {
                let d = self.pop_v128_owned();
                let t = self.alloc_xmm();
                self.with_pool(|a, k| {
                    let _ = jsimd::convert_with(a, op, d, t, XMM_SCRATCH, k);
                });
                self.release_xmm(t);
                self.push_v128_reg(d);
            }

            // ---- shifts ----
            I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl | I32x4ShrS | I32x4ShrU | I64x2Shl
            | I64x2ShrU => self.v128_shift(op),
            I64x2ShrS => {
                let konst = self.pop_shift_count();
                let d = self.pop_v128_owned();
                let t = self.alloc_xmm();
                self.with_pool(|a, k| jsimd::i64x2_shr_s_with(a, d, XMM_SCRATCH, t, konst, k));
                self.release_xmm(t);
                self.push_v128_reg(d);
            }
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
        let d = self.pop_v128_owned();
        let s = XMM_SCRATCH;
        self.with_pool(|a, k| jsimd::i8_shift_const_with(a, op, d, s, n, k));
        self.push_v128_reg(d);
    }

    /// `extract_lane`: from the vector's register, or straight from its cells.
    fn extract_lane(&mut self, op: SimdCode, lane: u8) {
        use SimdCode::*;
        let hi = self.pop();
        let lo = self.pop();
        let ty = scalar_result(op);
        if let Some(x) = Self::v128_reg(lo).or_else(|| self.cached_v128(lo, hi)) {
            // Read only: `x` may cache a local.
            let l = lane as i8;
            if ty.is_float() {
                let y = self.alloc_xmm();
                match (op, lane) {
                    (_, 0) => x!(self; movaps Rx(y), Rx(x)),
                    (F32x4ExtractLane, _) => x!(self; pshufd Rx(y), Rx(x), l),
                    _ => x!(self; movhlps Rx(y), Rx(x)),
                }
                self.free(lo);
                self.push_reg(ty, y);
                return;
            }
            let r = self.alloc_gpr();
            match op {
                I8x16ExtractLaneS => x!(self; pextrb Rd(r), Rx(x), l ; movsx Rd(r), Rb(r)),
                I8x16ExtractLaneU => x!(self; pextrb Rd(r), Rx(x), l),
                I16x8ExtractLaneS => x!(self; pextrw Rd(r), Rx(x), l ; movsx Rd(r), Rw(r)),
                I16x8ExtractLaneU => x!(self; pextrw Rd(r), Rx(x), l),
                I32x4ExtractLane => x!(self; pextrd Rd(r), Rx(x), l),
                _ => x!(self; pextrq Rq(r), Rx(x), l),
            }
            self.free(lo);
            self.push_reg(ty, r);
            return;
        }
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
                } else {
                    cell!(self, d; {movsd Rx(x), QWORD} {});
                }
                self.push_reg(ty, x);
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
                self.push_reg(ty, r);
            }
        }
    }

    /// Pops a shift count: the constant, or `None` with the count in `SCRATCH2`.
    fn pop_shift_count(&mut self) -> Option<u64> {
        let count = self.pop();
        match count.loc {
            Loc::Const(c) => Some(c),
            _ => {
                self.load_gpr_into(count, SCRATCH2);
                self.free(count);
                None
            }
        }
    }

    /// Shifts of 16-, 32- and 64-bit lanes by a count taken modulo the lane width.
    fn v128_shift(&mut self, op: SimdCode) {
        let konst = self.pop_shift_count();
        let d = self.pop_v128_owned();
        let _ = jsimd::shift(&mut *self.asm, op, d, XMM_SCRATCH, konst);
        self.push_v128_reg(d);
    }

    /// Loads and stores on any memory: bounds-checked like the scalar ones (`Gen::access`:
    /// explicit checks, or the trap table for guard pages). Registers are taken before the
    /// address is computed: spilling uses r11, which holds it.
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
                let x = self.pop_v128_any();
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                let site = jsimd::store(&mut *self.asm, op, x, disp, lane);
                self.release_xmm(x);
                site
            }
            V128Load8Lane | V128Load16Lane | V128Load32Lane | V128Load64Lane => {
                let d = self.pop_v128_owned();
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                let site = jsimd::load(&mut *self.asm, op, d, XMM_SCRATCH, disp, lane);
                self.push_v128_reg(d);
                site
            }
            _ => {
                let d = self.alloc_xmm();
                let addr = self.pop();
                let disp = self.access(addr, &m, size);
                let site = jsimd::load(&mut *self.asm, op, d, XMM_SCRATCH, disp, lane);
                self.push_v128_reg(d);
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

/// Loads the constant `v` into `x`: zero and all-ones without memory, anything else from the
/// function's pool (`rip`-relative). A value is shared with the last `POOL_SHARE` entries
/// only, so that a function with very many constants compiles in linear time.
fn pool_load(pool: &mut Vec<(u128, DynamicLabel)>, a: &mut Asm, x: u8, v: u128) {
    const POOL_SHARE: usize = 32;
    if v == 0 {
        dynasm!(a ; .arch x64 ; pxor Rx(x), Rx(x));
    } else if v == u128::MAX {
        dynasm!(a ; .arch x64 ; pcmpeqd Rx(x), Rx(x));
    } else {
        let l = match pool.iter().rev().take(POOL_SHARE).find(|(c, _)| *c == v) {
            Some(&(_, l)) => l,
            None => {
                let l = a.new_dynamic_label();
                pool.push((v, l));
                l
            }
        };
        dynasm!(a ; .arch x64 ; movdqu Rx(x), [=>l]);
    }
}
