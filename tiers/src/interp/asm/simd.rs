//! Generated handlers for SIMD instructions (`Op::Simd` + `Op::Ext`, see `interp/simd.rs`).
//!
//! Every SIMD instruction is one `Op::Simd` kind, so its handler is chosen by its code:
//! `prepare` gives the `Simd` word the tag of its code's handler (`AsmInterp::simd_tags`),
//! and codes without one keep the `Simd` kind's tag, which has no handler and leaves for the
//! executor's `match` (`simd::exec`), exactly as before. A handler reads the `Simd` word
//! (`code` with the lane above bit 16, `dst`, `a`) and the `Ext` word after it (`b`, `c`,
//! `imm`), and dispatches two instructions on. A v128 register is two consecutive cells
//! (docs/abi.md §1), 8-byte aligned only: every vector access is `movdqu`, and operands are
//! loaded into registers before the operation (legacy SSE memory operands must be aligned).
//!
//! The x86 instructions are the ones whose results are wasm's bit for bit (operands never
//! trade places where x86 returns the first NaN operand's payload, so the executor's Rust,
//! which compiles to the same instructions, computes the same bits). SSSE3 and SSE4.x
//! handlers are generated only when the CPU has them; without them those codes keep
//! running in the executor. Handlers leave nothing in the accumulators (`leaves` 0), so no
//! scalar variant ever follows one, and the scalar handlers are generated first and
//! unchanged.

// dynasm expands a dynamic register `Rx(n)` with an `.into()` that is the identity here.
#![allow(clippy::useless_conversion)]

use super::handlers::{address_in_eax, dispatch_next, Gen};
use super::{Asm, F1, F2, F3, OP};
use crate::interp::simd::SimdCode;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi};

/// Fields of a SIMD instruction: the `Simd` word, then the `Ext` word after it.
const LANE: i32 = F1 + 2;
const DST: i32 = F2;
const A: i32 = F3;
const B: i32 = OP + F1;
const C: i32 = OP + F2;
const IMM: i32 = OP + F3;

/// `pshufd` selectors: i32 lanes 0, 0, 1, 1 and 2, 2, 3, 3.
const LOW_PAIRS: i8 = 0x50;
const HIGH_PAIRS: i8 = 0xfa_u8 as i8;
/// `pshufd` selector: i32 lanes 1, 1, 3, 3 (each i64 lane's high half twice).
const ODD_PAIRS: i8 = 0xf5_u8 as i8;

/// CPU features some handlers need (x86-64 itself guarantees SSE2).
#[derive(Clone, Copy)]
struct Features {
    ssse3: bool,
    sse41: bool,
    sse42: bool,
}

impl Features {
    fn detect() -> Features {
        Features {
            ssse3: std::arch::is_x86_feature_detected!("ssse3"),
            sse41: std::arch::is_x86_feature_detected!("sse4.1"),
            sse42: std::arch::is_x86_feature_detected!("sse4.2"),
        }
    }
}

/// `xmm{x}` = the v128 in the register named by field `field`.
fn vload(a: &mut Asm, x: u8, field: i32) {
    dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + field] ; movdqu Rx(x), [r13 + rax * 8]);
}

/// The v128 in xmm0 to `dst`, then on past the `Ext` word.
fn vstore(a: &mut Asm) {
    dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + DST] ; movdqu [r13 + rax * 8], xmm0);
    dispatch_next(a, 2);
}

/// The scalar in rax to `dst` (a 64-bit cell, as the executor writes it), then on.
fn sstore(a: &mut Asm) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + DST] ; mov QWORD [r13 + rcx * 8], rax);
    dispatch_next(a, 2);
}

/// `rcx` = the address of the first cell of the register in field `field`.
fn cells(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field] ; lea rcx, [r13 + rcx * 8]);
}

/// `edx` = the lane index, masked to `lanes` (validation keeps it in range; the mask keeps a
/// corrupt one inside the register).
fn lane(a: &mut Asm, lanes: i32) {
    dynasm!(a ; .arch x64 ; movzx edx, WORD [r12 + LANE] ; and edx, lanes - 1);
}

/// `rax` = the effective address of an `n`-byte access at the i32 address in slot `a` plus
/// the offset; out of bounds leaves for the executor (which raises the trap).
fn address(a: &mut Asm, exit: DynamicLabel, n: i8) {
    dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + A] ; mov eax, DWORD [r13 + rax * 8]);
    address_in_eax(a, exit, IMM, n);
}

/// `xmm{x}` = the byte `byte` in all 16 lanes (eax clobbered).
fn splat_byte(a: &mut Asm, x: u8, byte: u8) {
    let word = i32::from_le_bytes([byte; 4]);
    dynasm!(a ; .arch x64 ; mov eax, word ; movd Rx(x), eax ; pshufd Rx(x), Rx(x), 0);
}

/// `xmm{x}` = the 16-bit `half` in all 8 lanes (eax clobbered).
fn splat_i16(a: &mut Asm, x: u8, half: u16) {
    let word = (u32::from(half) * 0x1_0001) as i32;
    dynasm!(a ; .arch x64 ; mov eax, word ; movd Rx(x), eax ; pshufd Rx(x), Rx(x), 0);
}

/// The handlers under construction, and the tag of each code's handler (0: none).
struct SimdGen<'g> {
    g: &'g mut Gen,
    tags: Vec<u16>,
}

impl SimdGen<'_> {
    /// The handler of `code`.
    fn add(&mut self, code: SimdCode, emit: impl FnOnce(&mut Asm)) {
        let tag = self.g.new_handler(0);
        self.tags[code as usize] = u16::try_from(tag).expect("handler tags fit in 16 bits");
        emit(&mut self.g.a);
    }
}

/// Generates the SIMD handlers; returns the handler tag of each `SimdCode` (0: none).
pub(super) fn simd_handlers(g: &mut Gen) -> Box<[u16]> {
    let f = Features::detect();
    let exit = g.exit;
    let mut s = SimdGen {
        g,
        tags: vec![0; SimdCode::COUNT],
    };
    use SimdCode::*;

    // `dst = a OP b` with xmm0 = a, xmm1 = b; the body leaves the result in xmm0.
    macro_rules! bin {
        ($code:ident, $($ins:tt)*) => {
            s.add($code, |a| {
                vload(a, 0, A);
                vload(a, 1, B);
                dynasm!(a ; .arch x64 ; $($ins)*);
                vstore(a);
            })
        };
    }
    // `dst = f(a)` with xmm0 = a.
    macro_rules! un {
        ($code:ident, $($ins:tt)*) => {
            s.add($code, |a| {
                vload(a, 0, A);
                dynasm!(a ; .arch x64 ; $($ins)*);
                vstore(a);
            })
        };
    }

    // ---- bitwise ----
    bin!(V128And, pand xmm0, xmm1);
    bin!(V128Or, por xmm0, xmm1);
    bin!(V128Xor, pxor xmm0, xmm1);
    // a & !b: pandn complements its destination.
    bin!(V128AndNot, pandn xmm1, xmm0 ; movdqa xmm0, xmm1);
    un!(V128Not, pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    // (a & c) | (b & !c) = ((a ^ b) & c) ^ b.
    s.add(V128Bitselect, |a| {
        vload(a, 0, A);
        vload(a, 1, B);
        vload(a, 2, C);
        dynasm!(a ; .arch x64 ; pxor xmm0, xmm1 ; pand xmm0, xmm2 ; pxor xmm0, xmm1);
        vstore(a);
    });
    // dst = c != 0 ? a : b (the condition is an i32 slot).
    s.add(Select, |a| {
        dynasm!(a
            ; .arch x64
            ; mov ecx, DWORD [r12 + C]
            ; mov eax, DWORD [r12 + A]
            ; mov edx, DWORD [r12 + B]
            ; cmp DWORD [r13 + rcx * 8], 0
            ; cmove eax, edx
            ; movdqu xmm0, [r13 + rax * 8]
        );
        vstore(a);
    });
    s.add(Copy, |a| {
        vload(a, 0, A);
        vstore(a);
    });

    // ---- i8x16 ----
    bin!(I8x16Add, paddb xmm0, xmm1);
    bin!(I8x16Sub, psubb xmm0, xmm1);
    bin!(I8x16AddSatS, paddsb xmm0, xmm1);
    bin!(I8x16AddSatU, paddusb xmm0, xmm1);
    bin!(I8x16SubSatS, psubsb xmm0, xmm1);
    bin!(I8x16SubSatU, psubusb xmm0, xmm1);
    bin!(I8x16MinU, pminub xmm0, xmm1);
    bin!(I8x16MaxU, pmaxub xmm0, xmm1);
    bin!(I8x16AvgrU, pavgb xmm0, xmm1);
    bin!(I8x16Eq, pcmpeqb xmm0, xmm1);
    bin!(I8x16Ne, pcmpeqb xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I8x16GtS, pcmpgtb xmm0, xmm1);
    bin!(I8x16LtS, pcmpgtb xmm1, xmm0 ; movdqa xmm0, xmm1);
    bin!(I8x16LeS, pcmpgtb xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I8x16GeS, pcmpgtb xmm1, xmm0 ; pcmpeqd xmm0, xmm0 ; pxor xmm0, xmm1);
    // Unsigned: a <= b iff min(a, b) == a; a >= b iff max(a, b) == a.
    bin!(I8x16LeU, pminub xmm1, xmm0 ; pcmpeqb xmm0, xmm1);
    bin!(I8x16GeU, pmaxub xmm1, xmm0 ; pcmpeqb xmm0, xmm1);
    bin!(I8x16GtU, pminub xmm1, xmm0 ; pcmpeqb xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I8x16LtU, pmaxub xmm1, xmm0 ; pcmpeqb xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I8x16NarrowI16x8S, packsswb xmm0, xmm1);
    bin!(I8x16NarrowI16x8U, packuswb xmm0, xmm1);
    un!(I8x16Neg, pxor xmm1, xmm1 ; psubb xmm1, xmm0 ; movdqa xmm0, xmm1);
    if f.sse41 {
        bin!(I8x16MinS, pminsb xmm0, xmm1);
        bin!(I8x16MaxS, pmaxsb xmm0, xmm1);
    }
    if f.ssse3 {
        un!(I8x16Abs, pabsb xmm0, xmm0);
        // Indices of 16 and more select 0: saturating + 0x70 sets their top bit, which
        // makes pshufb write 0, and keeps the low four bits of the others.
        s.add(I8x16Swizzle, |a| {
            vload(a, 0, A);
            vload(a, 1, B);
            splat_byte(a, 2, 0x70);
            dynasm!(a ; .arch x64 ; paddusb xmm1, xmm2 ; pshufb xmm0, xmm1);
            vstore(a);
        });
        // Two pshufbs: selectors 0-15 pick from a (+0x70 keeps them, sends 16-31 to 0x80+:
        // zero), selectors 16-31 from b (-16; 0-15 wrap to 0xf0+: zero), or'ed.
        s.add(I8x16Shuffle, |a| {
            vload(a, 0, A);
            vload(a, 1, B);
            vload(a, 2, C);
            splat_byte(a, 3, 0x70);
            dynasm!(a ; .arch x64 ; paddusb xmm3, xmm2 ; pshufb xmm0, xmm3);
            splat_byte(a, 3, 0x10);
            dynasm!(a ; .arch x64 ; psubb xmm2, xmm3 ; pshufb xmm1, xmm2 ; por xmm0, xmm1);
            vstore(a);
        });
        s.add(I8x16Splat, |a| {
            dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r12 + A]
                ; movd xmm0, DWORD [r13 + rax * 8]
                ; pxor xmm1, xmm1
                ; pshufb xmm0, xmm1
            );
            vstore(a);
        });
    }

    // ---- i16x8 ----
    bin!(I16x8Add, paddw xmm0, xmm1);
    bin!(I16x8Sub, psubw xmm0, xmm1);
    bin!(I16x8Mul, pmullw xmm0, xmm1);
    bin!(I16x8AddSatS, paddsw xmm0, xmm1);
    bin!(I16x8AddSatU, paddusw xmm0, xmm1);
    bin!(I16x8SubSatS, psubsw xmm0, xmm1);
    bin!(I16x8SubSatU, psubusw xmm0, xmm1);
    bin!(I16x8MinS, pminsw xmm0, xmm1);
    bin!(I16x8MaxS, pmaxsw xmm0, xmm1);
    bin!(I16x8AvgrU, pavgw xmm0, xmm1);
    bin!(I16x8Eq, pcmpeqw xmm0, xmm1);
    bin!(I16x8Ne, pcmpeqw xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I16x8GtS, pcmpgtw xmm0, xmm1);
    bin!(I16x8LtS, pcmpgtw xmm1, xmm0 ; movdqa xmm0, xmm1);
    bin!(I16x8LeS, pcmpgtw xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I16x8GeS, pcmpgtw xmm1, xmm0 ; pcmpeqd xmm0, xmm0 ; pxor xmm0, xmm1);
    bin!(I16x8NarrowI32x4S, packssdw xmm0, xmm1);
    un!(I16x8Neg, pxor xmm1, xmm1 ; psubw xmm1, xmm0 ; movdqa xmm0, xmm1);
    // Sums of adjacent pairs: pmaddwd with ones (signed); unsigned through a bias of 0x8000
    // per input, 0x10000 per sum.
    s.add(I32x4ExtAddPairwiseI16x8S, |a| {
        vload(a, 0, A);
        splat_i16(a, 1, 1);
        dynasm!(a ; .arch x64 ; pmaddwd xmm0, xmm1);
        vstore(a);
    });
    s.add(I32x4ExtAddPairwiseI16x8U, |a| {
        vload(a, 0, A);
        splat_i16(a, 1, 0x8000);
        dynasm!(a ; .arch x64 ; pxor xmm0, xmm1);
        splat_i16(a, 1, 1);
        dynasm!(a
            ; .arch x64
            ; pmaddwd xmm0, xmm1
            ; mov eax, 0x10000
            ; movd xmm1, eax
            ; pshufd xmm1, xmm1, 0
            ; paddd xmm0, xmm1
        );
        vstore(a);
    });
    bin!(I32x4DotI16x8S, pmaddwd xmm0, xmm1);
    // i32 products of i16 lanes: low and high halves of the products, interleaved.
    bin!(I32x4ExtMulLowI16x8S,
        movdqa xmm2, xmm0 ; pmullw xmm2, xmm1 ; pmulhw xmm0, xmm1 ; punpcklwd xmm2, xmm0
        ; movdqa xmm0, xmm2);
    bin!(I32x4ExtMulHighI16x8S,
        movdqa xmm2, xmm0 ; pmullw xmm2, xmm1 ; pmulhw xmm0, xmm1 ; punpckhwd xmm2, xmm0
        ; movdqa xmm0, xmm2);
    bin!(I32x4ExtMulLowI16x8U,
        movdqa xmm2, xmm0 ; pmullw xmm2, xmm1 ; pmulhuw xmm0, xmm1 ; punpcklwd xmm2, xmm0
        ; movdqa xmm0, xmm2);
    bin!(I32x4ExtMulHighI16x8U,
        movdqa xmm2, xmm0 ; pmullw xmm2, xmm1 ; pmulhuw xmm0, xmm1 ; punpckhwd xmm2, xmm0
        ; movdqa xmm0, xmm2);
    s.add(I16x8Splat, |a| {
        dynasm!(a
            ; .arch x64
            ; mov eax, DWORD [r12 + A]
            ; movd xmm0, DWORD [r13 + rax * 8]
            ; pshuflw xmm0, xmm0, 0
            ; pshufd xmm0, xmm0, 0
        );
        vstore(a);
    });
    if f.sse41 {
        bin!(I16x8MinU, pminuw xmm0, xmm1);
        bin!(I16x8MaxU, pmaxuw xmm0, xmm1);
        bin!(I16x8LeU, pminuw xmm1, xmm0 ; pcmpeqw xmm0, xmm1);
        bin!(I16x8GeU, pmaxuw xmm1, xmm0 ; pcmpeqw xmm0, xmm1);
        bin!(I16x8GtU, pminuw xmm1, xmm0 ; pcmpeqw xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
        bin!(I16x8LtU, pmaxuw xmm1, xmm0 ; pcmpeqw xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
        bin!(I16x8NarrowI32x4U, packusdw xmm0, xmm1);
        un!(I16x8ExtendLowI8x16S, pmovsxbw xmm0, xmm0);
        un!(I16x8ExtendLowI8x16U, pmovzxbw xmm0, xmm0);
        un!(I16x8ExtendHighI8x16S, psrldq xmm0, 8 ; pmovsxbw xmm0, xmm0);
        un!(I16x8ExtendHighI8x16U, psrldq xmm0, 8 ; pmovzxbw xmm0, xmm0);
        bin!(I16x8ExtMulLowI8x16S, pmovsxbw xmm0, xmm0 ; pmovsxbw xmm1, xmm1 ; pmullw xmm0, xmm1);
        bin!(I16x8ExtMulLowI8x16U, pmovzxbw xmm0, xmm0 ; pmovzxbw xmm1, xmm1 ; pmullw xmm0, xmm1);
        bin!(I16x8ExtMulHighI8x16S,
            psrldq xmm0, 8 ; psrldq xmm1, 8 ; pmovsxbw xmm0, xmm0 ; pmovsxbw xmm1, xmm1
            ; pmullw xmm0, xmm1);
        bin!(I16x8ExtMulHighI8x16U,
            psrldq xmm0, 8 ; psrldq xmm1, 8 ; pmovzxbw xmm0, xmm0 ; pmovzxbw xmm1, xmm1
            ; pmullw xmm0, xmm1);
    }
    if f.ssse3 {
        un!(I16x8Abs, pabsw xmm0, xmm0);
        // pmaddubsw: its first operand's bytes unsigned, the second's signed.
        s.add(I16x8ExtAddPairwiseI8x16U, |a| {
            vload(a, 0, A);
            splat_byte(a, 1, 1);
            dynasm!(a ; .arch x64 ; pmaddubsw xmm0, xmm1);
            vstore(a);
        });
        s.add(I16x8ExtAddPairwiseI8x16S, |a| {
            vload(a, 1, A);
            splat_byte(a, 0, 1);
            dynasm!(a ; .arch x64 ; pmaddubsw xmm0, xmm1);
            vstore(a);
        });
        // pmulhrsw is wasm's q15mulr except for 0x8000 * 0x8000, which gives 0x8000 where
        // wasm saturates to 0x7fff: flip exactly those lanes.
        s.add(I16x8Q15MulrSatS, |a| {
            vload(a, 0, A);
            vload(a, 1, B);
            splat_i16(a, 2, 0x8000);
            dynasm!(a ; .arch x64 ; pmulhrsw xmm0, xmm1 ; pcmpeqw xmm2, xmm0 ; pxor xmm0, xmm2);
            vstore(a);
        });
    }

    // ---- i32x4 ----
    bin!(I32x4Add, paddd xmm0, xmm1);
    bin!(I32x4Sub, psubd xmm0, xmm1);
    bin!(I32x4Eq, pcmpeqd xmm0, xmm1);
    bin!(I32x4Ne, pcmpeqd xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I32x4GtS, pcmpgtd xmm0, xmm1);
    bin!(I32x4LtS, pcmpgtd xmm1, xmm0 ; movdqa xmm0, xmm1);
    bin!(I32x4LeS, pcmpgtd xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
    bin!(I32x4GeS, pcmpgtd xmm1, xmm0 ; pcmpeqd xmm0, xmm0 ; pxor xmm0, xmm1);
    un!(I32x4Neg, pxor xmm1, xmm1 ; psubd xmm1, xmm0 ; movdqa xmm0, xmm1);
    s.add(I32x4Splat, |a| {
        dynasm!(a
            ; .arch x64
            ; mov eax, DWORD [r12 + A]
            ; movd xmm0, DWORD [r13 + rax * 8]
            ; pshufd xmm0, xmm0, 0
        );
        vstore(a);
    });
    s.add(F32x4Splat, |a| {
        dynasm!(a
            ; .arch x64
            ; mov eax, DWORD [r12 + A]
            ; movd xmm0, DWORD [r13 + rax * 8]
            ; pshufd xmm0, xmm0, 0
        );
        vstore(a);
    });
    // i64 products of the unsigned i32 lanes 0 and 1 (or 2 and 3): pmuludq multiplies
    // lanes 0 and 2, so the inputs are spread first.
    bin!(I64x2ExtMulLowI32x4U, pshufd xmm0, xmm0, LOW_PAIRS ; pshufd xmm1, xmm1, LOW_PAIRS ; pmuludq xmm0, xmm1);
    bin!(I64x2ExtMulHighI32x4U, pshufd xmm0, xmm0, HIGH_PAIRS ; pshufd xmm1, xmm1, HIGH_PAIRS ; pmuludq xmm0, xmm1);
    // Saturating truncation (Cranelift's sequence): NaN lanes to 0, cvttps2dq, then the
    // positive overflows (0x80000000 from a positive input) to 0x7fffffff.
    un!(I32x4TruncSatF32x4S,
        movaps xmm1, xmm0 ; cmpeqps xmm1, xmm1 ; andps xmm0, xmm1 ; pxor xmm1, xmm0
        ; cvttps2dq xmm0, xmm0 ; pand xmm1, xmm0 ; psrad xmm1, 31 ; pxor xmm0, xmm1);
    un!(F32x4ConvertI32x4S, cvtdq2ps xmm0, xmm0);
    un!(F64x2ConvertLowI32x4S, cvtdq2pd xmm0, xmm0);
    if f.sse41 {
        bin!(I32x4Mul, pmulld xmm0, xmm1);
        bin!(I32x4MinS, pminsd xmm0, xmm1);
        bin!(I32x4MaxS, pmaxsd xmm0, xmm1);
        bin!(I32x4MinU, pminud xmm0, xmm1);
        bin!(I32x4MaxU, pmaxud xmm0, xmm1);
        bin!(I32x4LeU, pminud xmm1, xmm0 ; pcmpeqd xmm0, xmm1);
        bin!(I32x4GeU, pmaxud xmm1, xmm0 ; pcmpeqd xmm0, xmm1);
        bin!(I32x4GtU, pminud xmm1, xmm0 ; pcmpeqd xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
        bin!(I32x4LtU, pmaxud xmm1, xmm0 ; pcmpeqd xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
        un!(I32x4ExtendLowI16x8S, pmovsxwd xmm0, xmm0);
        un!(I32x4ExtendLowI16x8U, pmovzxwd xmm0, xmm0);
        un!(I32x4ExtendHighI16x8S, psrldq xmm0, 8 ; pmovsxwd xmm0, xmm0);
        un!(I32x4ExtendHighI16x8U, psrldq xmm0, 8 ; pmovzxwd xmm0, xmm0);
        bin!(I64x2ExtMulLowI32x4S, pshufd xmm0, xmm0, LOW_PAIRS ; pshufd xmm1, xmm1, LOW_PAIRS ; pmuldq xmm0, xmm1);
        bin!(I64x2ExtMulHighI32x4S, pshufd xmm0, xmm0, HIGH_PAIRS ; pshufd xmm1, xmm1, HIGH_PAIRS ; pmuldq xmm0, xmm1);
    }
    if f.ssse3 {
        un!(I32x4Abs, pabsd xmm0, xmm0);
    }

    // ---- i64x2 ----
    bin!(I64x2Add, paddq xmm0, xmm1);
    bin!(I64x2Sub, psubq xmm0, xmm1);
    un!(I64x2Neg, pxor xmm1, xmm1 ; psubq xmm1, xmm0 ; movdqa xmm0, xmm1);
    for code in [I64x2Splat, F64x2Splat] {
        s.add(code, |a| {
            dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r12 + A]
                ; movq xmm0, QWORD [r13 + rax * 8]
                ; punpcklqdq xmm0, xmm0
            );
            vstore(a);
        });
    }
    if f.sse41 {
        bin!(I64x2Eq, pcmpeqq xmm0, xmm1);
        bin!(I64x2Ne, pcmpeqq xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
        un!(I64x2ExtendLowI32x4S, pmovsxdq xmm0, xmm0);
        un!(I64x2ExtendLowI32x4U, pmovzxdq xmm0, xmm0);
        un!(I64x2ExtendHighI32x4S, psrldq xmm0, 8 ; pmovsxdq xmm0, xmm0);
        un!(I64x2ExtendHighI32x4U, psrldq xmm0, 8 ; pmovzxdq xmm0, xmm0);
    }
    // lo(a) * lo(b) + ((hi(a) * lo(b) + lo(a) * hi(b)) << 32), from 32x32->64 products.
    bin!(I64x2Mul,
        movdqa xmm2, xmm0 ; psrlq xmm2, 32 ; pmuludq xmm2, xmm1
        ; movdqa xmm3, xmm1 ; psrlq xmm3, 32 ; pmuludq xmm3, xmm0
        ; paddq xmm2, xmm3 ; psllq xmm2, 32 ; pmuludq xmm0, xmm1 ; paddq xmm0, xmm2);
    // The sign of each i64 lane spread over it (high dwords' arithmetic shift, copied to
    // both halves), then (x ^ sign) - sign.
    un!(I64x2Abs,
        pshufd xmm1, xmm0, ODD_PAIRS ; psrad xmm1, 31 ; pxor xmm0, xmm1 ; psubq xmm0, xmm1);
    if f.sse42 {
        bin!(I64x2GtS, pcmpgtq xmm0, xmm1);
        bin!(I64x2LtS, pcmpgtq xmm1, xmm0 ; movdqa xmm0, xmm1);
        bin!(I64x2LeS, pcmpgtq xmm0, xmm1 ; pcmpeqd xmm1, xmm1 ; pxor xmm0, xmm1);
        bin!(I64x2GeS, pcmpgtq xmm1, xmm0 ; pcmpeqd xmm0, xmm0 ; pxor xmm0, xmm1);
    }

    // ---- f32x4 / f64x2 ----
    bin!(F32x4Add, addps xmm0, xmm1);
    bin!(F32x4Sub, subps xmm0, xmm1);
    bin!(F32x4Mul, mulps xmm0, xmm1);
    bin!(F32x4Div, divps xmm0, xmm1);
    bin!(F64x2Add, addpd xmm0, xmm1);
    bin!(F64x2Sub, subpd xmm0, xmm1);
    bin!(F64x2Mul, mulpd xmm0, xmm1);
    bin!(F64x2Div, divpd xmm0, xmm1);
    un!(F32x4Sqrt, sqrtps xmm0, xmm0);
    un!(F64x2Sqrt, sqrtpd xmm0, xmm0);
    bin!(F32x4Eq, cmpeqps xmm0, xmm1);
    bin!(F32x4Ne, cmpneqps xmm0, xmm1);
    bin!(F32x4Lt, cmpltps xmm0, xmm1);
    bin!(F32x4Le, cmpleps xmm0, xmm1);
    bin!(F32x4Gt, cmpltps xmm1, xmm0 ; movaps xmm0, xmm1);
    bin!(F32x4Ge, cmpleps xmm1, xmm0 ; movaps xmm0, xmm1);
    bin!(F64x2Eq, cmpeqpd xmm0, xmm1);
    bin!(F64x2Ne, cmpneqpd xmm0, xmm1);
    bin!(F64x2Lt, cmpltpd xmm0, xmm1);
    bin!(F64x2Le, cmplepd xmm0, xmm1);
    bin!(F64x2Gt, cmpltpd xmm1, xmm0 ; movapd xmm0, xmm1);
    bin!(F64x2Ge, cmplepd xmm1, xmm0 ; movapd xmm0, xmm1);
    // pmin(a, b) = b < a ? b : a is minps with b first (minps returns its second operand
    // unless the first is smaller, NaNs included); pmax(a, b) = a < b ? b : a likewise.
    bin!(F32x4PMin, minps xmm1, xmm0 ; movaps xmm0, xmm1);
    bin!(F32x4PMax, maxps xmm1, xmm0 ; movaps xmm0, xmm1);
    bin!(F64x2PMin, minpd xmm1, xmm0 ; movapd xmm0, xmm1);
    bin!(F64x2PMax, maxpd xmm1, xmm0 ; movapd xmm0, xmm1);
    // min/max as the executor computes them (numeric.rs): the smaller (larger) value, the
    // negative (positive) zero of two zeros (both orders of minps or'ed, of maxps and'ed),
    // and a + b where either is NaN (the same NaN as the executor's scalar add).
    macro_rules! minmax {
        ($code:ident, $op:ident, $merge:ident, $unord:ident, $add:ident, $and:ident, $andn:ident, $or:ident) => {
            bin!($code,
                movaps xmm2, xmm0 ; $op xmm2, xmm1 ; movaps xmm3, xmm1 ; $op xmm3, xmm0
                ; $merge xmm2, xmm3 ; movaps xmm3, xmm0 ; $unord xmm3, xmm1 ; $add xmm0, xmm1
                ; $and xmm0, xmm3 ; $andn xmm3, xmm2 ; $or xmm0, xmm3)
        };
    }
    minmax!(F32x4Min, minps, orps, cmpunordps, addps, andps, andnps, orps);
    minmax!(F32x4Max, maxps, andps, cmpunordps, addps, andps, andnps, orps);
    minmax!(F64x2Min, minpd, orpd, cmpunordpd, addpd, andpd, andnpd, orpd);
    minmax!(F64x2Max, maxpd, andpd, cmpunordpd, addpd, andpd, andnpd, orpd);
    un!(F32x4Abs, pcmpeqd xmm1, xmm1 ; psrld xmm1, 1 ; pand xmm0, xmm1);
    un!(F32x4Neg, pcmpeqd xmm1, xmm1 ; pslld xmm1, 31 ; pxor xmm0, xmm1);
    un!(F64x2Abs, pcmpeqd xmm1, xmm1 ; psrlq xmm1, 1 ; pand xmm0, xmm1);
    un!(F64x2Neg, pcmpeqd xmm1, xmm1 ; psllq xmm1, 63 ; pxor xmm0, xmm1);
    // The executor converts lane by lane with the scalar instructions (cvtsd2ss,
    // cvtss2sd), which quiet a NaN the same way.
    un!(F32x4DemoteF64x2Zero, cvtpd2ps xmm0, xmm0);
    un!(F64x2PromoteLowF32x4, cvtps2pd xmm0, xmm0);
    if f.sse41 {
        // Rounding mode in the immediate, precision exception suppressed (bit 3); a NaN
        // comes out quiet, as the executor's `f32_quiet` makes it.
        un!(F32x4Nearest, roundps xmm0, xmm0, 0x08);
        un!(F32x4Floor, roundps xmm0, xmm0, 0x09);
        un!(F32x4Ceil, roundps xmm0, xmm0, 0x0a);
        un!(F32x4Trunc, roundps xmm0, xmm0, 0x0b);
        un!(F64x2Nearest, roundpd xmm0, xmm0, 0x08);
        un!(F64x2Floor, roundpd xmm0, xmm0, 0x09);
        un!(F64x2Ceil, roundpd xmm0, xmm0, 0x0a);
        un!(F64x2Trunc, roundpd xmm0, xmm0, 0x0b);
    }

    // ---- shifts: the count (an i32 slot) masked to the lane width ----
    macro_rules! shift {
        ($code:ident, $mask:expr, $($ins:tt)*) => {
            s.add($code, |a| {
                dynasm!(a
                    ; .arch x64
                    ; mov ecx, DWORD [r12 + B]
                    ; mov ecx, DWORD [r13 + rcx * 8]
                    ; and ecx, $mask
                    ; movd xmm1, ecx
                );
                vload(a, 0, A);
                dynasm!(a ; .arch x64 ; $($ins)*);
                vstore(a);
            })
        };
    }
    shift!(I16x8Shl, 15, psllw xmm0, xmm1);
    shift!(I16x8ShrS, 15, psraw xmm0, xmm1);
    shift!(I16x8ShrU, 15, psrlw xmm0, xmm1);
    shift!(I32x4Shl, 31, pslld xmm0, xmm1);
    shift!(I32x4ShrS, 31, psrad xmm0, xmm1);
    shift!(I32x4ShrU, 31, psrld xmm0, xmm1);
    shift!(I64x2Shl, 63, psllq xmm0, xmm1);
    shift!(I64x2ShrU, 63, psrlq xmm0, xmm1);
    // No psraq before AVX-512: a logical shift, then the sign bit's shifted image m
    // sign-extended by (x ^ m) - m.
    shift!(I64x2ShrS, 63,
        psrlq xmm0, xmm1 ; pcmpeqd xmm2, xmm2 ; psllq xmm2, 63 ; psrlq xmm2, xmm1
        ; pxor xmm0, xmm2 ; psubq xmm0, xmm2);
    // Bytes: shift 16-bit lanes, then clear the bits that crossed from the neighbour
    // (mask 0xff << n or 0xff >> n in every byte; ecx holds n).
    shift!(I8x16Shl, 7,
        psllw xmm0, xmm1 ; mov eax, 0xff ; shl eax, cl ; movzx eax, al ; imul eax, eax, 0x0101_0101
        ; movd xmm2, eax ; pshufd xmm2, xmm2, 0 ; pand xmm0, xmm2);
    shift!(I8x16ShrU, 7,
        psrlw xmm0, xmm1 ; mov eax, 0xff ; shr eax, cl ; imul eax, eax, 0x0101_0101
        ; movd xmm2, eax ; pshufd xmm2, xmm2, 0 ; pand xmm0, xmm2);
    // Signed bytes: each byte into the high half of a 16-bit lane, arithmetic shift by
    // n + 8, packed back with signed saturation (the results fit).
    shift!(I8x16ShrS, 7,
        add ecx, 8 ; movd xmm1, ecx ; movdqa xmm2, xmm0 ; punpcklbw xmm2, xmm0
        ; punpckhbw xmm0, xmm0 ; psraw xmm2, xmm1 ; psraw xmm0, xmm1 ; packsswb xmm2, xmm0
        ; movdqa xmm0, xmm2);

    // ---- to scalars ----
    macro_rules! to_scalar {
        ($code:ident, $($ins:tt)*) => {
            s.add($code, |a| {
                vload(a, 0, A);
                dynasm!(a ; .arch x64 ; $($ins)*);
                sstore(a);
            })
        };
    }
    to_scalar!(I8x16Bitmask, pmovmskb eax, xmm0);
    to_scalar!(I16x8Bitmask, packsswb xmm0, xmm0 ; pmovmskb eax, xmm0 ; movzx eax, al);
    to_scalar!(I32x4Bitmask, movmskps eax, xmm0);
    to_scalar!(I64x2Bitmask, movmskpd eax, xmm0);
    if f.sse41 {
        to_scalar!(V128AnyTrue, xor eax, eax ; ptest xmm0, xmm0 ; setnz al);
        // All lanes nonzero: no lane compares equal to zero.
        to_scalar!(I8x16AllTrue,
            pxor xmm1, xmm1 ; pcmpeqb xmm1, xmm0 ; xor eax, eax ; ptest xmm1, xmm1 ; setz al);
        to_scalar!(I16x8AllTrue,
            pxor xmm1, xmm1 ; pcmpeqw xmm1, xmm0 ; xor eax, eax ; ptest xmm1, xmm1 ; setz al);
        to_scalar!(I32x4AllTrue,
            pxor xmm1, xmm1 ; pcmpeqd xmm1, xmm0 ; xor eax, eax ; ptest xmm1, xmm1 ; setz al);
        to_scalar!(I64x2AllTrue,
            pxor xmm1, xmm1 ; pcmpeqq xmm1, xmm0 ; xor eax, eax ; ptest xmm1, xmm1 ; setz al);
    }

    // ---- lanes: read and written in the register's cells, lane from the code word ----
    macro_rules! extract {
        ($code:ident, $lanes:expr, $($ins:tt)*) => {
            s.add($code, |a| {
                cells(a, A);
                lane(a, $lanes);
                dynasm!(a ; .arch x64 ; $($ins)*);
                sstore(a);
            })
        };
    }
    // i32 results are zero-extended in their cell, as the executor writes them.
    extract!(I8x16ExtractLaneS, 16, movsx eax, BYTE [rcx + rdx]);
    extract!(I8x16ExtractLaneU, 16, movzx eax, BYTE [rcx + rdx]);
    extract!(I16x8ExtractLaneS, 8, movsx eax, WORD [rcx + rdx * 2]);
    extract!(I16x8ExtractLaneU, 8, movzx eax, WORD [rcx + rdx * 2]);
    extract!(I32x4ExtractLane, 4, mov eax, DWORD [rcx + rdx * 4]);
    extract!(F32x4ExtractLane, 4, mov eax, DWORD [rcx + rdx * 4]);
    extract!(I64x2ExtractLane, 2, mov rax, QWORD [rcx + rdx * 8]);
    extract!(F64x2ExtractLane, 2, mov rax, QWORD [rcx + rdx * 8]);
    // dst = a with one lane replaced by the scalar b (read first: dst may share its cell).
    macro_rules! replace {
        ($code:ident, $lanes:expr, $($ins:tt)*) => {
            s.add($code, |a| {
                dynasm!(a
                    ; .arch x64
                    ; mov ecx, DWORD [r12 + B]
                    ; mov rsi, QWORD [r13 + rcx * 8]
                );
                vload(a, 0, A);
                cells(a, DST);
                lane(a, $lanes);
                dynasm!(a ; .arch x64 ; movdqu [rcx], xmm0 ; $($ins)*);
                dispatch_next(a, 2);
            })
        };
    }
    replace!(I8x16ReplaceLane, 16, mov BYTE [rcx + rdx], sil);
    replace!(I16x8ReplaceLane, 8, mov WORD [rcx + rdx * 2], si);
    replace!(I32x4ReplaceLane, 4, mov DWORD [rcx + rdx * 4], esi);
    replace!(F32x4ReplaceLane, 4, mov DWORD [rcx + rdx * 4], esi);
    replace!(I64x2ReplaceLane, 2, mov QWORD [rcx + rdx * 8], rsi);
    replace!(F64x2ReplaceLane, 2, mov QWORD [rcx + rdx * 8], rsi);

    // ---- memory: the bounds check first, so an exit has changed nothing ----
    macro_rules! load {
        ($code:ident, $n:expr, $($ins:tt)*) => {
            s.add($code, |a| {
                address(a, exit, $n);
                dynasm!(a ; .arch x64 ; $($ins)*);
                vstore(a);
            })
        };
    }
    load!(V128Load, 16, movdqu xmm0, [r14 + rax]);
    load!(V128Load32Zero, 4, movd xmm0, DWORD [r14 + rax]);
    load!(V128Load64Zero, 8, movq xmm0, QWORD [r14 + rax]);
    load!(V128Load32Splat, 4, movd xmm0, DWORD [r14 + rax] ; pshufd xmm0, xmm0, 0);
    load!(V128Load64Splat, 8, movq xmm0, QWORD [r14 + rax] ; punpcklqdq xmm0, xmm0);
    load!(V128Load16Splat, 2,
        movzx eax, WORD [r14 + rax] ; movd xmm0, eax ; pshuflw xmm0, xmm0, 0
        ; pshufd xmm0, xmm0, 0);
    if f.ssse3 {
        load!(V128Load8Splat, 1,
            movzx eax, BYTE [r14 + rax] ; movd xmm0, eax ; pxor xmm1, xmm1 ; pshufb xmm0, xmm1);
    }
    if f.sse41 {
        load!(V128Load8x8S, 8, pmovsxbw xmm0, QWORD [r14 + rax]);
        load!(V128Load8x8U, 8, pmovzxbw xmm0, QWORD [r14 + rax]);
        load!(V128Load16x4S, 8, pmovsxwd xmm0, QWORD [r14 + rax]);
        load!(V128Load16x4U, 8, pmovzxwd xmm0, QWORD [r14 + rax]);
        load!(V128Load32x2S, 8, pmovsxdq xmm0, QWORD [r14 + rax]);
        load!(V128Load32x2U, 8, pmovzxdq xmm0, QWORD [r14 + rax]);
    }
    s.add(V128Store, |a| {
        address(a, exit, 16);
        // `vload` uses eax: the address waits in rsi.
        dynasm!(a ; .arch x64 ; mov rsi, rax);
        vload(a, 0, B);
        dynasm!(a ; .arch x64 ; movdqu [r14 + rsi], xmm0);
        dispatch_next(a, 2);
    });
    // dst = b with one lane loaded from memory.
    macro_rules! load_lane {
        ($code:ident, $n:expr, $lanes:expr, $($ins:tt)*) => {
            s.add($code, |a| {
                address(a, exit, $n);
                dynasm!(a ; .arch x64 ; mov rsi, rax);
                vload(a, 0, B);
                cells(a, DST);
                lane(a, $lanes);
                dynasm!(a ; .arch x64 ; movdqu [rcx], xmm0 ; $($ins)*);
                dispatch_next(a, 2);
            })
        };
    }
    load_lane!(V128Load8Lane, 1, 16, mov al, BYTE [r14 + rsi] ; mov BYTE [rcx + rdx], al);
    load_lane!(V128Load16Lane, 2, 8, mov ax, WORD [r14 + rsi] ; mov WORD [rcx + rdx * 2], ax);
    load_lane!(V128Load32Lane, 4, 4, mov eax, DWORD [r14 + rsi] ; mov DWORD [rcx + rdx * 4], eax);
    load_lane!(V128Load64Lane, 8, 2, mov rax, QWORD [r14 + rsi] ; mov QWORD [rcx + rdx * 8], rax);
    macro_rules! store_lane {
        ($code:ident, $n:expr, $lanes:expr, $($ins:tt)*) => {
            s.add($code, |a| {
                address(a, exit, $n);
                dynasm!(a ; .arch x64 ; mov rsi, rax);
                cells(a, B);
                lane(a, $lanes);
                dynasm!(a ; .arch x64 ; $($ins)*);
                dispatch_next(a, 2);
            })
        };
    }
    store_lane!(V128Store8Lane, 1, 16, mov al, BYTE [rcx + rdx] ; mov BYTE [r14 + rsi], al);
    store_lane!(V128Store16Lane, 2, 8, mov ax, WORD [rcx + rdx * 2] ; mov WORD [r14 + rsi], ax);
    store_lane!(V128Store32Lane, 4, 4, mov eax, DWORD [rcx + rdx * 4] ; mov DWORD [r14 + rsi], eax);
    store_lane!(V128Store64Lane, 8, 2, mov rax, QWORD [rcx + rdx * 8] ; mov QWORD [r14 + rsi], rax);

    s.tags.into()
}
