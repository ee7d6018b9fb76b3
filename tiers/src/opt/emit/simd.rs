//! Emission of the SIMD instructions (`opt/simd.rs` chose how each is lowered and gave its
//! operands): the shared sequences of `jit::simd` on the registers regalloc2 chose.

use super::{reg, Gen};
use crate::interp::simd::SimdCode;
use crate::jit::helpers;
use crate::jit::simd::{self as jsimd, Form};
use crate::opt::abi::cell_disp;
use crate::opt::simd::{code, const_count, lowering, Lowering};
use dynasmrt::{dynasm, DynasmApi};
use regalloc2::Allocation;
use strata_ir::simd::SimdShape;
use strata_ir::{Imm, Inst, Opcode, Type};
use strata_vm::TrapCode;

/// The emitter's XMM scratch register (never allocated).
const XS: u8 = 15;

macro_rules! asm {
    ($g:ident; $($t:tt)*) => {{
        let a = &mut $g.asm;
        dynasm!(a ; .arch x64 ; $($t)*);
    }};
}

impl Gen<'_> {
    /// `movaps d, s` unless they are the same register.
    fn xmov(&mut self, d: u8, s: u8) {
        if d != s {
            asm!(self; movaps Rx(d), Rx(s));
        }
    }

    /// The scalar operand `x` (of type `t`) as bits in r10.
    fn scalar_to_r10(&mut self, x: u8, t: Type) {
        match t {
            Type::F32 => asm!(self; movd r10d, Rx(x)),
            Type::F64 => asm!(self; movq r10, Rx(x)),
            _ => asm!(self; mov r10, Rq(x)),
        }
    }

    /// `v128.const`.
    pub(super) fn v128_const(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        let Imm::V128(b) = self.func.inst(inst).imm else {
            return Err("bad v128.const".into());
        };
        jsimd::load_const(&mut self.asm, reg(al[0]), u128::from_le_bytes(b));
        Ok(())
    }

    /// `i8x16.shuffle`: operands, result, one temporary.
    pub(super) fn shuffle(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        let Imm::V128(lanes) = self.func.inst(inst).imm else {
            return Err("bad i8x16.shuffle".into());
        };
        let (a, b, d, t) = (reg(al[0]), reg(al[1]), reg(al[2]), reg(al[3]));
        self.xmov(XS, b);
        self.xmov(d, a);
        jsimd::shuffle(&mut self.asm, lanes, d, XS, t);
        Ok(())
    }

    /// `simd.load` / `simd.store`.
    pub(super) fn simd_memory(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        let data = *self.func.inst(inst);
        let Imm::SimdMem(m, op, lane) = data.imm else {
            return Err("bad SIMD memory access".into());
        };
        let size = op.access_bytes().unwrap_or(16) as u32;
        let c = code(op);
        if data.opcode == Opcode::SimdStore {
            let x = reg(al[1]);
            let Some(disp) = self.address(reg(al[0]), m.memory, m.offset, size, m.checked) else {
                return Ok(());
            };
            let site = jsimd::store(&mut self.asm, c, x, disp, lane);
            self.traps.push((site, TrapCode::MemoryOutOfBounds));
            self.wasm_offsets.push((site, self.wasm_at));
            return Ok(());
        }
        // The result after the operands (an r10 temporary may follow it).
        let d = reg(al[self.func.args(inst).len()]);
        if let SimdShape::LoadLane { .. } = op.shape() {
            // The vector first: `d` may be the address register only if... it cannot: the
            // address is a general register.
            let v = reg(al[1]);
            self.xmov(d, v);
        }
        let Some(disp) = self.address(reg(al[0]), m.memory, m.offset, size, m.checked) else {
            return Ok(());
        };
        let site = jsimd::load(&mut self.asm, c, d, XS, disp, lane);
        self.traps.push((site, TrapCode::MemoryOutOfBounds));
        self.wasm_offsets.push((site, self.wasm_at));
        Ok(())
    }

    /// A `simd` instruction.
    pub(super) fn simd(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        use SimdCode::*;
        let data = *self.func.inst(inst);
        let Imm::Simd(sop, lane) = data.imm else {
            return Err("bad simd instruction".into());
        };
        let op = code(sop);
        let args = self.func.args(inst);
        let n = args.len();
        if crate::opt::simd::inline_const_shift(sop) {
            if let Some(c) = const_count(self.func, inst) {
                let (v, d) = (reg(al[0]), reg(al[1]));
                self.xmov(d, v);
                if matches!(op, I8x16Shl | I8x16ShrS | I8x16ShrU) {
                    jsimd::i8_shift_const(&mut self.asm, op, d, XS, c);
                } else if jsimd::shift(&mut self.asm, op, d, XS, Some(c)).is_none() {
                    return Err(format!("{sop}: no inline constant shift"));
                }
                return Ok(());
            }
        }
        let Lowering::Inline { temps } = lowering(self.func, inst) else {
            return self.simd_helper(inst, al);
        };
        let t: Vec<u8> = al[n + 1..n + 1 + temps as usize]
            .iter()
            .map(|a| reg(*a))
            .collect();
        let d = reg(al[n]);
        let x = |k: usize| reg(al[k]);
        if let Some(form) = jsimd::simple_form(op) {
            match form {
                Form::Bin => {
                    self.xmov(XS, x(1));
                    self.xmov(d, x(0));
                }
                Form::BinRev => {
                    self.xmov(XS, x(0));
                    self.xmov(d, x(1));
                }
                Form::Un => self.xmov(d, x(0)),
            }
            jsimd::emit_simple(&mut self.asm, op, d, XS);
            return Ok(());
        }
        match op {
            V128Bitselect
            | I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect => {
                self.xmov(XS, x(2));
                self.xmov(t[0], x(1));
                self.xmov(d, x(0));
                jsimd::bitselect(&mut self.asm, d, t[0], XS);
            }
            F32x4RelaxedMadd | F32x4RelaxedNmadd | F64x2RelaxedMadd | F64x2RelaxedNmadd => {
                self.xmov(XS, x(2));
                self.xmov(t[0], x(1));
                self.xmov(d, x(0));
                jsimd::madd(&mut self.asm, op, d, t[0], XS);
            }
            V128AnyTrue => {
                let v = x(0);
                asm!(self; ptest Rx(v), Rx(v) ; setne Rb(d) ; movzx Rd(d), Rb(d));
            }
            I8x16AllTrue | I16x8AllTrue | I32x4AllTrue | I64x2AllTrue => {
                // No lane equals zero.
                let (v, z) = (x(0), t[0]);
                asm!(self; pxor Rx(z), Rx(z));
                match op {
                    I8x16AllTrue => asm!(self; pcmpeqb Rx(z), Rx(v)),
                    I16x8AllTrue => asm!(self; pcmpeqw Rx(z), Rx(v)),
                    I32x4AllTrue => asm!(self; pcmpeqd Rx(z), Rx(v)),
                    _ => asm!(self; pcmpeqq Rx(z), Rx(v)),
                }
                asm!(self; ptest Rx(z), Rx(z) ; sete Rb(d) ; movzx Rd(d), Rb(d));
            }
            I8x16Bitmask | I16x8Bitmask | I32x4Bitmask | I64x2Bitmask => {
                let v = x(0);
                match op {
                    I8x16Bitmask => asm!(self; pmovmskb Rd(d), Rx(v)),
                    I16x8Bitmask => asm!(self
                        ; movaps Rx(XS), Rx(v)
                        ; packsswb Rx(XS), Rx(XS)
                        ; pmovmskb Rd(d), Rx(XS)
                        ; movzx Rd(d), Rb(d)
                    ),
                    I32x4Bitmask => asm!(self; movmskps Rd(d), Rx(v)),
                    _ => asm!(self; movmskpd Rd(d), Rx(v)),
                }
            }
            F32x4Min | F32x4Max | F64x2Min | F64x2Max => {
                self.xmov(XS, x(1));
                self.xmov(d, x(0));
                jsimd::float_min_max(&mut self.asm, op, d, XS, [t[0], t[1], t[2]]);
            }
            I64x2Mul => {
                self.xmov(XS, x(1));
                self.xmov(d, x(0));
                jsimd::i64x2_mul(&mut self.asm, d, XS, t[0], t[1]);
            }
            I64x2Abs => {
                self.xmov(d, x(0));
                jsimd::i64x2_abs(&mut self.asm, d, t[0]);
            }
            I16x8ExtAddPairwiseI8x16S
            | I16x8ExtAddPairwiseI8x16U
            | I32x4ExtAddPairwiseI16x8S
            | I32x4ExtAddPairwiseI16x8U => {
                self.xmov(d, x(0));
                jsimd::ext_add_pairwise(&mut self.asm, op, d, XS);
            }
            I8x16Popcnt => {
                self.xmov(d, x(0));
                jsimd::popcnt(&mut self.asm, d, XS, t[0], t[1]);
            }
            F32x4ConvertI32x4U => {
                self.xmov(d, x(0));
                jsimd::f32x4_convert_u(&mut self.asm, d, XS);
            }
            I8x16Swizzle | I8x16RelaxedSwizzle => {
                self.xmov(XS, x(1));
                self.xmov(d, x(0));
                jsimd::swizzle(&mut self.asm, op == I8x16RelaxedSwizzle, d, XS, t[0]);
            }
            I8x16Splat | I16x8Splat | I32x4Splat | I64x2Splat | F32x4Splat | F64x2Splat => {
                let ty = self.func.value_type(args[0]);
                self.scalar_to_r10(x(0), ty);
                jsimd::splat_r10(&mut self.asm, op, d, XS);
            }
            I8x16ReplaceLane | I16x8ReplaceLane | I32x4ReplaceLane | I64x2ReplaceLane
            | F32x4ReplaceLane | F64x2ReplaceLane => {
                let ty = self.func.value_type(args[1]);
                self.scalar_to_r10(x(1), ty);
                self.xmov(d, x(0));
                jsimd::replace_lane_r10(&mut self.asm, op, d, lane);
            }
            I8x16ExtractLaneS | I8x16ExtractLaneU | I16x8ExtractLaneS | I16x8ExtractLaneU
            | I32x4ExtractLane | I64x2ExtractLane | F32x4ExtractLane | F64x2ExtractLane => {
                let v = x(0);
                let l = lane as i8;
                match op {
                    I8x16ExtractLaneS => asm!(self; pextrb Rd(d), Rx(v), l ; movsx Rd(d), Rb(d)),
                    I8x16ExtractLaneU => asm!(self; pextrb Rd(d), Rx(v), l),
                    I16x8ExtractLaneS => asm!(self; pextrw Rd(d), Rx(v), l ; movsx Rd(d), Rw(d)),
                    I16x8ExtractLaneU => asm!(self; pextrw Rd(d), Rx(v), l),
                    I32x4ExtractLane => asm!(self; pextrd Rd(d), Rx(v), l),
                    I64x2ExtractLane => asm!(self; pextrq Rq(d), Rx(v), l),
                    // The lane into the low 32 bits (upper bits are not part of an f32).
                    F32x4ExtractLane => asm!(self; pshufd Rx(d), Rx(v), l),
                    _ => {
                        let sel = if lane == 0 { 0x44u8 } else { 0xeeu8 } as i8;
                        asm!(self; pshufd Rx(d), Rx(v), sel);
                    }
                }
            }
            I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl | I32x4ShrS | I32x4ShrU | I64x2Shl
            | I64x2ShrU => {
                asm!(self; mov r10d, Rd(x(1)));
                self.xmov(d, x(0));
                jsimd::shift(&mut self.asm, op, d, XS, None);
            }
            _ => return Err(format!("{sop}: no inline lowering")),
        }
        Ok(())
    }

    /// An operator through `simd_exec`: operands stored to the outgoing call cells (v128 `k`
    /// at cell `2k`; a scalar shift count at cell 2), the result loaded back into xmm0.
    fn simd_helper(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        let Imm::Simd(sop, lane) = self.func.inst(inst).imm else {
            return Err("bad simd instruction".into());
        };
        let args = self.func.args(inst);
        let base = self.call_base;
        let mut cells = [0u64; 3];
        for (k, &a) in args.iter().enumerate() {
            let t = self.func.value_type(a);
            let cell = 2 * k as u32;
            cells[k] = cell as u64;
            self.store_cell(al[k], cell_disp(base + cell), t);
        }
        let word = code(sop) as u64
            | (lane as u64) << 16
            | cells[0] << 32
            | cells[1] << 40
            | cells[2] << 48;
        let cd = cell_disp(base);
        asm!(self
            ; mov rsi, QWORD word as i64
            ; xor edx, edx
            ; lea rcx, [r14 + cd]
        );
        self.call_helper(helpers::simd_exec as *const () as usize);
        let d = reg(al[args.len()]);
        asm!(self; movdqu Rx(d), OWORD [r14 + cd]);
        self.reload_mem_len();
        Ok(())
    }
}
