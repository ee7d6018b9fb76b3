//! SIMD instruction sequences (SSE4.1) that the JIT tiers share (issue 16), so that the
//! baseline and the optimizing tier compute the same bits, the relaxed-SIMD choices of
//! docs/abi.md §9 included. Registers are XMM numbers; each function says where its operands
//! are, where the result goes and what it clobbers. Constants are loaded through r11.
//!
//! The sequences are the baseline's (`baseline/codegen/simd.rs`), which the spec suite
//! checks; the optimizing tier calls them with the registers regalloc2 chose.

// dynasm's register operands convert their argument even when it is already a `u8`.
#![allow(clippy::useless_conversion)]

use super::x64::Asm;
use crate::interp::simd::SimdCode;
use dynasmrt::{dynasm, DynasmApi};

/// How a simple operator takes its operands (see [`emit_simple`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `d` = the first operand (and the result), `s` = the second (clobbered).
    Bin,
    /// `d` = the second operand (and the result), `s` = the first (clobbered).
    BinRev,
    /// `d` = the operand (and the result), `s` free (clobbered).
    Un,
}

/// The form of an operator [`emit_simple`] lowers, or `None`.
pub fn simple_form(op: SimdCode) -> Option<Form> {
    use SimdCode::*;
    Some(match op {
        V128And => Form::Bin,
        V128Or => Form::Bin,
        V128Xor => Form::Bin,
        V128AndNot => Form::BinRev,
        V128Not => Form::Un,
        I8x16Add => Form::Bin,
        I8x16Sub => Form::Bin,
        I8x16AddSatS => Form::Bin,
        I8x16AddSatU => Form::Bin,
        I8x16SubSatS => Form::Bin,
        I8x16SubSatU => Form::Bin,
        I8x16MinS => Form::Bin,
        I8x16MinU => Form::Bin,
        I8x16MaxS => Form::Bin,
        I8x16MaxU => Form::Bin,
        I8x16AvgrU => Form::Bin,
        I8x16Abs => Form::Un,
        I8x16Neg => Form::Un,
        I8x16Eq => Form::Bin,
        I8x16Ne => Form::Bin,
        I8x16GtS => Form::Bin,
        I8x16LtS => Form::BinRev,
        I8x16LeS => Form::Bin,
        I8x16GeS => Form::BinRev,
        I8x16LeU => Form::Bin,
        I8x16GeU => Form::Bin,
        I8x16GtU => Form::Bin,
        I8x16LtU => Form::Bin,
        I8x16NarrowI16x8S => Form::Bin,
        I8x16NarrowI16x8U => Form::Bin,
        I16x8Add => Form::Bin,
        I16x8Sub => Form::Bin,
        I16x8Mul => Form::Bin,
        I16x8AddSatS => Form::Bin,
        I16x8AddSatU => Form::Bin,
        I16x8SubSatS => Form::Bin,
        I16x8SubSatU => Form::Bin,
        I16x8MinS => Form::Bin,
        I16x8MinU => Form::Bin,
        I16x8MaxS => Form::Bin,
        I16x8MaxU => Form::Bin,
        I16x8AvgrU => Form::Bin,
        I16x8Abs => Form::Un,
        I16x8Neg => Form::Un,
        I16x8Eq => Form::Bin,
        I16x8Ne => Form::Bin,
        I16x8GtS => Form::Bin,
        I16x8LtS => Form::BinRev,
        I16x8LeS => Form::Bin,
        I16x8GeS => Form::BinRev,
        I16x8LeU => Form::Bin,
        I16x8GeU => Form::Bin,
        I16x8GtU => Form::Bin,
        I16x8LtU => Form::Bin,
        I16x8NarrowI32x4S => Form::Bin,
        I16x8NarrowI32x4U => Form::Bin,
        I16x8RelaxedQ15mulrS => Form::Bin,
        I16x8ExtendLowI8x16S => Form::Un,
        I16x8ExtendLowI8x16U => Form::Un,
        I16x8ExtendHighI8x16S => Form::Un,
        I16x8ExtendHighI8x16U => Form::Un,
        I32x4Add => Form::Bin,
        I32x4Sub => Form::Bin,
        I32x4Mul => Form::Bin,
        I32x4MinS => Form::Bin,
        I32x4MinU => Form::Bin,
        I32x4MaxS => Form::Bin,
        I32x4MaxU => Form::Bin,
        I32x4Abs => Form::Un,
        I32x4Neg => Form::Un,
        I32x4Eq => Form::Bin,
        I32x4Ne => Form::Bin,
        I32x4GtS => Form::Bin,
        I32x4LtS => Form::BinRev,
        I32x4LeS => Form::Bin,
        I32x4GeS => Form::BinRev,
        I32x4LeU => Form::Bin,
        I32x4GeU => Form::Bin,
        I32x4GtU => Form::Bin,
        I32x4LtU => Form::Bin,
        I32x4DotI16x8S => Form::Bin,
        I32x4ExtendLowI16x8S => Form::Un,
        I32x4ExtendLowI16x8U => Form::Un,
        I32x4ExtendHighI16x8S => Form::Un,
        I32x4ExtendHighI16x8U => Form::Un,
        I32x4RelaxedTruncF32x4S => Form::Un,
        I32x4RelaxedTruncF64x2SZero => Form::Un,
        I64x2Add => Form::Bin,
        I64x2Sub => Form::Bin,
        I64x2Neg => Form::Un,
        I64x2Eq => Form::Bin,
        I64x2Ne => Form::Bin,
        I64x2ExtendLowI32x4S => Form::Un,
        I64x2ExtendLowI32x4U => Form::Un,
        I64x2ExtendHighI32x4S => Form::Un,
        I64x2ExtendHighI32x4U => Form::Un,
        F32x4Add => Form::Bin,
        F32x4Sub => Form::Bin,
        F32x4Mul => Form::Bin,
        F32x4Div => Form::Bin,
        F32x4Sqrt => Form::Un,
        F32x4PMin => Form::BinRev,
        F32x4PMax => Form::BinRev,
        F32x4RelaxedMin => Form::Bin,
        F32x4RelaxedMax => Form::Bin,
        F32x4Abs => Form::Un,
        F32x4Neg => Form::Un,
        F32x4Nearest => Form::Un,
        F32x4Floor => Form::Un,
        F32x4Ceil => Form::Un,
        F32x4Trunc => Form::Un,
        F32x4Eq => Form::Bin,
        F32x4Ne => Form::Bin,
        F32x4Lt => Form::Bin,
        F32x4Le => Form::Bin,
        F32x4Gt => Form::BinRev,
        F32x4Ge => Form::BinRev,
        F32x4ConvertI32x4S => Form::Un,
        F32x4DemoteF64x2Zero => Form::Un,
        F64x2Add => Form::Bin,
        F64x2Sub => Form::Bin,
        F64x2Mul => Form::Bin,
        F64x2Div => Form::Bin,
        F64x2Sqrt => Form::Un,
        F64x2PMin => Form::BinRev,
        F64x2PMax => Form::BinRev,
        F64x2RelaxedMin => Form::Bin,
        F64x2RelaxedMax => Form::Bin,
        F64x2Abs => Form::Un,
        F64x2Neg => Form::Un,
        F64x2Nearest => Form::Un,
        F64x2Floor => Form::Un,
        F64x2Ceil => Form::Un,
        F64x2Trunc => Form::Un,
        F64x2Eq => Form::Bin,
        F64x2Ne => Form::Bin,
        F64x2Lt => Form::Bin,
        F64x2Le => Form::Bin,
        F64x2Gt => Form::BinRev,
        F64x2Ge => Form::BinRev,
        F64x2ConvertLowI32x4S => Form::Un,
        F64x2PromoteLowF32x4 => Form::Un,
        I16x8ExtMulLowI8x16S => Form::Bin,
        I16x8ExtMulLowI8x16U => Form::Bin,
        I16x8ExtMulHighI8x16S => Form::Bin,
        I16x8ExtMulHighI8x16U => Form::Bin,
        I32x4ExtMulLowI16x8S => Form::Bin,
        I32x4ExtMulLowI16x8U => Form::Bin,
        I32x4ExtMulHighI16x8S => Form::Bin,
        I32x4ExtMulHighI16x8U => Form::Bin,
        I64x2ExtMulLowI32x4S => Form::Bin,
        I64x2ExtMulLowI32x4U => Form::Bin,
        I64x2ExtMulHighI32x4S => Form::Bin,
        I64x2ExtMulHighI32x4U => Form::Bin,
        I32x4TruncSatF32x4S => Form::Un,
        I16x8Q15MulrSatS => Form::Bin,
        _ => return None,
    })
}

/// Emits a simple operator (one of [`simple_form`]'s) on `d` and `s`.
pub fn emit_simple(a: &mut Asm, op: SimdCode, d: u8, s: u8) {
    use SimdCode::*;
    match op {
        V128And => dynasm!(a ; .arch x64 ; pand Rx(d), Rx(s)),
        V128Or => dynasm!(a ; .arch x64 ; por Rx(d), Rx(s)),
        V128Xor => dynasm!(a ; .arch x64 ; pxor Rx(d), Rx(s)),
        V128AndNot => dynasm!(a ; .arch x64 ; pandn Rx(d), Rx(s)),
        V128Not => dynasm!(a ; .arch x64 ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s)),
        I8x16Add => dynasm!(a ; .arch x64 ; paddb Rx(d), Rx(s)),
        I8x16Sub => dynasm!(a ; .arch x64 ; psubb Rx(d), Rx(s)),
        I8x16AddSatS => dynasm!(a ; .arch x64 ; paddsb Rx(d), Rx(s)),
        I8x16AddSatU => dynasm!(a ; .arch x64 ; paddusb Rx(d), Rx(s)),
        I8x16SubSatS => dynasm!(a ; .arch x64 ; psubsb Rx(d), Rx(s)),
        I8x16SubSatU => dynasm!(a ; .arch x64 ; psubusb Rx(d), Rx(s)),
        I8x16MinS => dynasm!(a ; .arch x64 ; pminsb Rx(d), Rx(s)),
        I8x16MinU => dynasm!(a ; .arch x64 ; pminub Rx(d), Rx(s)),
        I8x16MaxS => dynasm!(a ; .arch x64 ; pmaxsb Rx(d), Rx(s)),
        I8x16MaxU => dynasm!(a ; .arch x64 ; pmaxub Rx(d), Rx(s)),
        I8x16AvgrU => dynasm!(a ; .arch x64 ; pavgb Rx(d), Rx(s)),
        I8x16Abs => dynasm!(a ; .arch x64 ; pabsb Rx(d), Rx(d)),
        I8x16Neg => {
            dynasm!(a ; .arch x64 ; pxor Rx(s), Rx(s) ; psubb Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
        }
        I8x16Eq => dynasm!(a ; .arch x64 ; pcmpeqb Rx(d), Rx(s)),
        I8x16Ne => {
            dynasm!(a ; .arch x64 ; pcmpeqb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I8x16GtS => dynasm!(a ; .arch x64 ; pcmpgtb Rx(d), Rx(s)),
        I8x16LtS => dynasm!(a ; .arch x64 ; pcmpgtb Rx(d), Rx(s)),
        I8x16LeS => {
            dynasm!(a ; .arch x64 ; pcmpgtb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I8x16GeS => {
            dynasm!(a ; .arch x64 ; pcmpgtb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I8x16LeU => dynasm!(a ; .arch x64 ; pminub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s)),
        I8x16GeU => dynasm!(a ; .arch x64 ; pmaxub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s)),
        I8x16GtU => {
            dynasm!(a ; .arch x64 ; pminub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I8x16LtU => {
            dynasm!(a ; .arch x64 ; pmaxub Rx(s), Rx(d) ; pcmpeqb Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I8x16NarrowI16x8S => dynasm!(a ; .arch x64 ; packsswb Rx(d), Rx(s)),
        I8x16NarrowI16x8U => dynasm!(a ; .arch x64 ; packuswb Rx(d), Rx(s)),
        I16x8Add => dynasm!(a ; .arch x64 ; paddw Rx(d), Rx(s)),
        I16x8Sub => dynasm!(a ; .arch x64 ; psubw Rx(d), Rx(s)),
        I16x8Mul => dynasm!(a ; .arch x64 ; pmullw Rx(d), Rx(s)),
        I16x8AddSatS => dynasm!(a ; .arch x64 ; paddsw Rx(d), Rx(s)),
        I16x8AddSatU => dynasm!(a ; .arch x64 ; paddusw Rx(d), Rx(s)),
        I16x8SubSatS => dynasm!(a ; .arch x64 ; psubsw Rx(d), Rx(s)),
        I16x8SubSatU => dynasm!(a ; .arch x64 ; psubusw Rx(d), Rx(s)),
        I16x8MinS => dynasm!(a ; .arch x64 ; pminsw Rx(d), Rx(s)),
        I16x8MinU => dynasm!(a ; .arch x64 ; pminuw Rx(d), Rx(s)),
        I16x8MaxS => dynasm!(a ; .arch x64 ; pmaxsw Rx(d), Rx(s)),
        I16x8MaxU => dynasm!(a ; .arch x64 ; pmaxuw Rx(d), Rx(s)),
        I16x8AvgrU => dynasm!(a ; .arch x64 ; pavgw Rx(d), Rx(s)),
        I16x8Abs => dynasm!(a ; .arch x64 ; pabsw Rx(d), Rx(d)),
        I16x8Neg => {
            dynasm!(a ; .arch x64 ; pxor Rx(s), Rx(s) ; psubw Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
        }
        I16x8Eq => dynasm!(a ; .arch x64 ; pcmpeqw Rx(d), Rx(s)),
        I16x8Ne => {
            dynasm!(a ; .arch x64 ; pcmpeqw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I16x8GtS => dynasm!(a ; .arch x64 ; pcmpgtw Rx(d), Rx(s)),
        I16x8LtS => dynasm!(a ; .arch x64 ; pcmpgtw Rx(d), Rx(s)),
        I16x8LeS => {
            dynasm!(a ; .arch x64 ; pcmpgtw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I16x8GeS => {
            dynasm!(a ; .arch x64 ; pcmpgtw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I16x8LeU => dynasm!(a ; .arch x64 ; pminuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s)),
        I16x8GeU => dynasm!(a ; .arch x64 ; pmaxuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s)),
        I16x8GtU => {
            dynasm!(a ; .arch x64 ; pminuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I16x8LtU => {
            dynasm!(a ; .arch x64 ; pmaxuw Rx(s), Rx(d) ; pcmpeqw Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I16x8NarrowI32x4S => dynasm!(a ; .arch x64 ; packssdw Rx(d), Rx(s)),
        I16x8NarrowI32x4U => dynasm!(a ; .arch x64 ; packusdw Rx(d), Rx(s)),
        I16x8RelaxedQ15mulrS => dynasm!(a ; .arch x64 ; pmulhrsw Rx(d), Rx(s)),
        I16x8ExtendLowI8x16S => dynasm!(a ; .arch x64 ; pmovsxbw Rx(d), Rx(d)),
        I16x8ExtendLowI8x16U => dynasm!(a ; .arch x64 ; pmovzxbw Rx(d), Rx(d)),
        I16x8ExtendHighI8x16S => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; pmovsxbw Rx(d), Rx(d))
        }
        I16x8ExtendHighI8x16U => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; pmovzxbw Rx(d), Rx(d))
        }
        I32x4Add => dynasm!(a ; .arch x64 ; paddd Rx(d), Rx(s)),
        I32x4Sub => dynasm!(a ; .arch x64 ; psubd Rx(d), Rx(s)),
        I32x4Mul => dynasm!(a ; .arch x64 ; pmulld Rx(d), Rx(s)),
        I32x4MinS => dynasm!(a ; .arch x64 ; pminsd Rx(d), Rx(s)),
        I32x4MinU => dynasm!(a ; .arch x64 ; pminud Rx(d), Rx(s)),
        I32x4MaxS => dynasm!(a ; .arch x64 ; pmaxsd Rx(d), Rx(s)),
        I32x4MaxU => dynasm!(a ; .arch x64 ; pmaxud Rx(d), Rx(s)),
        I32x4Abs => dynasm!(a ; .arch x64 ; pabsd Rx(d), Rx(d)),
        I32x4Neg => {
            dynasm!(a ; .arch x64 ; pxor Rx(s), Rx(s) ; psubd Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
        }
        I32x4Eq => dynasm!(a ; .arch x64 ; pcmpeqd Rx(d), Rx(s)),
        I32x4Ne => {
            dynasm!(a ; .arch x64 ; pcmpeqd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I32x4GtS => dynasm!(a ; .arch x64 ; pcmpgtd Rx(d), Rx(s)),
        I32x4LtS => dynasm!(a ; .arch x64 ; pcmpgtd Rx(d), Rx(s)),
        I32x4LeS => {
            dynasm!(a ; .arch x64 ; pcmpgtd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I32x4GeS => {
            dynasm!(a ; .arch x64 ; pcmpgtd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I32x4LeU => dynasm!(a ; .arch x64 ; pminud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s)),
        I32x4GeU => dynasm!(a ; .arch x64 ; pmaxud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s)),
        I32x4GtU => {
            dynasm!(a ; .arch x64 ; pminud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I32x4LtU => {
            dynasm!(a ; .arch x64 ; pmaxud Rx(s), Rx(d) ; pcmpeqd Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I32x4DotI16x8S => dynasm!(a ; .arch x64 ; pmaddwd Rx(d), Rx(s)),
        I32x4ExtendLowI16x8S => dynasm!(a ; .arch x64 ; pmovsxwd Rx(d), Rx(d)),
        I32x4ExtendLowI16x8U => dynasm!(a ; .arch x64 ; pmovzxwd Rx(d), Rx(d)),
        I32x4ExtendHighI16x8S => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; pmovsxwd Rx(d), Rx(d))
        }
        I32x4ExtendHighI16x8U => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; pmovzxwd Rx(d), Rx(d))
        }
        I32x4RelaxedTruncF32x4S => dynasm!(a ; .arch x64 ; cvttps2dq Rx(d), Rx(d)),
        I32x4RelaxedTruncF64x2SZero => dynasm!(a ; .arch x64 ; cvttpd2dq Rx(d), Rx(d)),
        I64x2Add => dynasm!(a ; .arch x64 ; paddq Rx(d), Rx(s)),
        I64x2Sub => dynasm!(a ; .arch x64 ; psubq Rx(d), Rx(s)),
        I64x2Neg => {
            dynasm!(a ; .arch x64 ; pxor Rx(s), Rx(s) ; psubq Rx(s), Rx(d) ; movdqa Rx(d), Rx(s))
        }
        I64x2Eq => dynasm!(a ; .arch x64 ; pcmpeqq Rx(d), Rx(s)),
        I64x2Ne => {
            dynasm!(a ; .arch x64 ; pcmpeqq Rx(d), Rx(s) ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s))
        }
        I64x2ExtendLowI32x4S => dynasm!(a ; .arch x64 ; pmovsxdq Rx(d), Rx(d)),
        I64x2ExtendLowI32x4U => dynasm!(a ; .arch x64 ; pmovzxdq Rx(d), Rx(d)),
        I64x2ExtendHighI32x4S => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; pmovsxdq Rx(d), Rx(d))
        }
        I64x2ExtendHighI32x4U => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; pmovzxdq Rx(d), Rx(d))
        }
        F32x4Add => dynasm!(a ; .arch x64 ; addps Rx(d), Rx(s)),
        F32x4Sub => dynasm!(a ; .arch x64 ; subps Rx(d), Rx(s)),
        F32x4Mul => dynasm!(a ; .arch x64 ; mulps Rx(d), Rx(s)),
        F32x4Div => dynasm!(a ; .arch x64 ; divps Rx(d), Rx(s)),
        F32x4Sqrt => dynasm!(a ; .arch x64 ; sqrtps Rx(d), Rx(d)),
        F32x4PMin => dynasm!(a ; .arch x64 ; minps Rx(d), Rx(s)),
        F32x4PMax => dynasm!(a ; .arch x64 ; maxps Rx(d), Rx(s)),
        F32x4RelaxedMin => dynasm!(a ; .arch x64 ; minps Rx(d), Rx(s)),
        F32x4RelaxedMax => dynasm!(a ; .arch x64 ; maxps Rx(d), Rx(s)),
        F32x4Abs => {
            dynasm!(a ; .arch x64 ; pcmpeqd Rx(s), Rx(s) ; psrld Rx(s), 1 ; andps Rx(d), Rx(s))
        }
        F32x4Neg => {
            dynasm!(a ; .arch x64 ; pcmpeqd Rx(s), Rx(s) ; pslld Rx(s), 31 ; xorps Rx(d), Rx(s))
        }
        F32x4Nearest => dynasm!(a ; .arch x64 ; roundps Rx(d), Rx(d), 8),
        F32x4Floor => dynasm!(a ; .arch x64 ; roundps Rx(d), Rx(d), 9),
        F32x4Ceil => dynasm!(a ; .arch x64 ; roundps Rx(d), Rx(d), 10),
        F32x4Trunc => dynasm!(a ; .arch x64 ; roundps Rx(d), Rx(d), 11),
        F32x4Eq => dynasm!(a ; .arch x64 ; cmpps Rx(d), Rx(s), 0),
        F32x4Ne => dynasm!(a ; .arch x64 ; cmpps Rx(d), Rx(s), 4),
        F32x4Lt => dynasm!(a ; .arch x64 ; cmpps Rx(d), Rx(s), 1),
        F32x4Le => dynasm!(a ; .arch x64 ; cmpps Rx(d), Rx(s), 2),
        F32x4Gt => dynasm!(a ; .arch x64 ; cmpps Rx(d), Rx(s), 1),
        F32x4Ge => dynasm!(a ; .arch x64 ; cmpps Rx(d), Rx(s), 2),
        F32x4ConvertI32x4S => dynasm!(a ; .arch x64 ; cvtdq2ps Rx(d), Rx(d)),
        F32x4DemoteF64x2Zero => dynasm!(a ; .arch x64 ; cvtpd2ps Rx(d), Rx(d)),
        F64x2Add => dynasm!(a ; .arch x64 ; addpd Rx(d), Rx(s)),
        F64x2Sub => dynasm!(a ; .arch x64 ; subpd Rx(d), Rx(s)),
        F64x2Mul => dynasm!(a ; .arch x64 ; mulpd Rx(d), Rx(s)),
        F64x2Div => dynasm!(a ; .arch x64 ; divpd Rx(d), Rx(s)),
        F64x2Sqrt => dynasm!(a ; .arch x64 ; sqrtpd Rx(d), Rx(d)),
        F64x2PMin => dynasm!(a ; .arch x64 ; minpd Rx(d), Rx(s)),
        F64x2PMax => dynasm!(a ; .arch x64 ; maxpd Rx(d), Rx(s)),
        F64x2RelaxedMin => dynasm!(a ; .arch x64 ; minpd Rx(d), Rx(s)),
        F64x2RelaxedMax => dynasm!(a ; .arch x64 ; maxpd Rx(d), Rx(s)),
        F64x2Abs => {
            dynasm!(a ; .arch x64 ; pcmpeqd Rx(s), Rx(s) ; psrlq Rx(s), 1 ; andpd Rx(d), Rx(s))
        }
        F64x2Neg => {
            dynasm!(a ; .arch x64 ; pcmpeqd Rx(s), Rx(s) ; psllq Rx(s), 63 ; xorpd Rx(d), Rx(s))
        }
        F64x2Nearest => dynasm!(a ; .arch x64 ; roundpd Rx(d), Rx(d), 8),
        F64x2Floor => dynasm!(a ; .arch x64 ; roundpd Rx(d), Rx(d), 9),
        F64x2Ceil => dynasm!(a ; .arch x64 ; roundpd Rx(d), Rx(d), 10),
        F64x2Trunc => dynasm!(a ; .arch x64 ; roundpd Rx(d), Rx(d), 11),
        F64x2Eq => dynasm!(a ; .arch x64 ; cmppd Rx(d), Rx(s), 0),
        F64x2Ne => dynasm!(a ; .arch x64 ; cmppd Rx(d), Rx(s), 4),
        F64x2Lt => dynasm!(a ; .arch x64 ; cmppd Rx(d), Rx(s), 1),
        F64x2Le => dynasm!(a ; .arch x64 ; cmppd Rx(d), Rx(s), 2),
        F64x2Gt => dynasm!(a ; .arch x64 ; cmppd Rx(d), Rx(s), 1),
        F64x2Ge => dynasm!(a ; .arch x64 ; cmppd Rx(d), Rx(s), 2),
        F64x2ConvertLowI32x4S => dynasm!(a ; .arch x64 ; cvtdq2pd Rx(d), Rx(d)),
        F64x2PromoteLowF32x4 => dynasm!(a ; .arch x64 ; cvtps2pd Rx(d), Rx(d)),
        I16x8ExtMulLowI8x16S => {
            dynasm!(a ; .arch x64 ; pmovsxbw Rx(d), Rx(d) ; pmovsxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
        }
        I16x8ExtMulLowI8x16U => {
            dynasm!(a ; .arch x64 ; pmovzxbw Rx(d), Rx(d) ; pmovzxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
        }
        I16x8ExtMulHighI8x16S => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovsxbw Rx(d), Rx(d) ; pmovsxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
        }
        I16x8ExtMulHighI8x16U => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovzxbw Rx(d), Rx(d) ; pmovzxbw Rx(s), Rx(s) ; pmullw Rx(d), Rx(s))
        }
        I32x4ExtMulLowI16x8S => {
            dynasm!(a ; .arch x64 ; pmovsxwd Rx(d), Rx(d) ; pmovsxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
        }
        I32x4ExtMulLowI16x8U => {
            dynasm!(a ; .arch x64 ; pmovzxwd Rx(d), Rx(d) ; pmovzxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
        }
        I32x4ExtMulHighI16x8S => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovsxwd Rx(d), Rx(d) ; pmovsxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
        }
        I32x4ExtMulHighI16x8U => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovzxwd Rx(d), Rx(d) ; pmovzxwd Rx(s), Rx(s) ; pmulld Rx(d), Rx(s))
        }
        I64x2ExtMulLowI32x4S => {
            dynasm!(a ; .arch x64 ; pmovsxdq Rx(d), Rx(d) ; pmovsxdq Rx(s), Rx(s) ; pmuldq Rx(d), Rx(s))
        }
        I64x2ExtMulLowI32x4U => {
            dynasm!(a ; .arch x64 ; pmovzxdq Rx(d), Rx(d) ; pmovzxdq Rx(s), Rx(s) ; pmuludq Rx(d), Rx(s))
        }
        I64x2ExtMulHighI32x4S => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovsxdq Rx(d), Rx(d) ; pmovsxdq Rx(s), Rx(s) ; pmuldq Rx(d), Rx(s))
        }
        I64x2ExtMulHighI32x4U => {
            dynasm!(a ; .arch x64 ; movhlps Rx(d), Rx(d) ; movhlps Rx(s), Rx(s) ; pmovzxdq Rx(d), Rx(d) ; pmovzxdq Rx(s), Rx(s) ; pmuludq Rx(d), Rx(s))
        }
        I32x4TruncSatF32x4S => {
            dynasm!(a ; .arch x64 ; movaps Rx(s), Rx(d) ; cmpps Rx(s), Rx(s), 0 ; andps Rx(d), Rx(s) ; pxor Rx(s), Rx(d) ; cvttps2dq Rx(d), Rx(d) ; pand Rx(s), Rx(d) ; psrad Rx(s), 31 ; pxor Rx(d), Rx(s))
        }
        I16x8Q15MulrSatS => {
            dynasm!(a ; .arch x64 ; pmulhrsw Rx(d), Rx(s) ; pcmpeqw Rx(s), Rx(s) ; psllw Rx(s), 15 ; pcmpeqw Rx(s), Rx(d) ; pxor Rx(d), Rx(s))
        }
        _ => {}
    }
}

/// How a sequence gets a 128-bit constant into a register: [`load_const`] (through r11), or
/// a tier's constant pool (the baseline's, read `rip`-relative). Each sequence that needs
/// constants has a `_with` form taking one; the plain form uses `load_const`.
pub type Consts<'a> = &'a mut dyn FnMut(&mut Asm, u8, u128);

/// `x = v` (uses r11).
pub fn load_const(a: &mut Asm, x: u8, v: u128) {
    let (lo, hi) = (v as u64, (v >> 64) as u64);
    if v == 0 {
        dynasm!(a ; .arch x64 ; pxor Rx(x), Rx(x));
    } else if v == u128::MAX {
        dynasm!(a ; .arch x64 ; pcmpeqd Rx(x), Rx(x));
    } else {
        dynasm!(a ; .arch x64 ; mov r11, QWORD lo as i64 ; movq Rx(x), r11);
        // movq zeroes the high half.
        if hi != 0 {
            dynasm!(a ; .arch x64 ; mov r11, QWORD hi as i64 ; pinsrq Rx(x), r11, 1);
        }
    }
}

/// `b` in every byte.
pub fn splat8(b: u8) -> u128 {
    u128::from_le_bytes([b; 16])
}

/// `h` in every 16-bit lane.
pub fn splat16(h: u16) -> u128 {
    (0..8).fold(0, |acc, i| acc | (h as u128) << (16 * i))
}

/// Bitwise select (`v128.bitselect`, every `relaxed_laneselect`): `d = (d & c) | (b & !c)`
/// with `d` the first operand, `b` the second, `c` the mask (only `d` is written).
pub fn bitselect(a: &mut Asm, d: u8, b: u8, c: u8) {
    // (a & c) | (b & !c) = ((a ^ b) & c) ^ b
    dynasm!(a ; .arch x64
        ; pxor Rx(d), Rx(b)
        ; pand Rx(d), Rx(c)
        ; pxor Rx(d), Rx(b)
    );
}

/// Relaxed (unfused, docs/abi.md §9) multiply-add: `d` = the first operand (and the result),
/// `t` the second, `s` the addend (clobbered).
pub fn madd(a: &mut Asm, op: SimdCode, d: u8, t: u8, s: u8) {
    use SimdCode::*;
    match op {
        F32x4RelaxedMadd => dynasm!(a ; .arch x64 ; mulps Rx(d), Rx(t) ; addps Rx(d), Rx(s)),
        F32x4RelaxedNmadd => dynasm!(a ; .arch x64
            ; mulps Rx(d), Rx(t)
            ; subps Rx(s), Rx(d)
            ; movaps Rx(d), Rx(s)
        ),
        F64x2RelaxedMadd => dynasm!(a ; .arch x64 ; mulpd Rx(d), Rx(t) ; addpd Rx(d), Rx(s)),
        _ => dynasm!(a ; .arch x64
            ; mulpd Rx(d), Rx(t)
            ; subpd Rx(s), Rx(d)
            ; movapd Rx(d), Rx(s)
        ),
    }
}

/// Wasm's `min`/`max` on float lanes: NaN if either lane is NaN (`a + b`, as the
/// interpreter computes it), -0 below +0. `d` = first operand (and result), `s` second.
pub fn float_min_max(a: &mut Asm, op: SimdCode, d: u8, s: u8, [t1, t2, t3]: [u8; 3]) {
    use SimdCode::*;
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
    // t1: the result on ordered lanes (equal lanes: the bits or'ed for min, and'ed for
    // max, as the interpreter). Unordered lanes take a + b.
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
}

/// `i64x2.mul`: `d` = first operand (and result), `s` second; `t1`, `t2` clobbered.
pub fn i64x2_mul(a: &mut Asm, d: u8, s: u8, t1: u8, t2: u8) {
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
}

/// `i64x2.abs` of `d`; `t` clobbered.
pub fn i64x2_abs(a: &mut Asm, d: u8, t: u8) {
    // The sign of each lane spread over it, then (x ^ m) - m.
    let high_dwords = 0xf5u8 as i8;
    dynasm!(a ; .arch x64
        ; movdqa Rx(t), Rx(d)
        ; psrad Rx(t), 31
        ; pshufd Rx(t), Rx(t), high_dwords
        ; pxor Rx(d), Rx(t)
        ; psubq Rx(d), Rx(t)
    );
}

/// The pairwise extended adds of `d`, with `s` clobbered (uses r11).
pub fn ext_add_pairwise(a: &mut Asm, op: SimdCode, d: u8, s: u8) {
    ext_add_pairwise_with(a, op, d, s, &mut load_const)
}

/// [`ext_add_pairwise`] with constants from `load_const`.
pub fn ext_add_pairwise_with(a: &mut Asm, op: SimdCode, d: u8, s: u8, load_const: Consts) {
    use SimdCode::*;
    match op {
        I16x8ExtAddPairwiseI8x16U => {
            // pmaddubsw: unsigned bytes of d times signed ones, pairs added.
            load_const(a, s, splat8(1));
            dynasm!(a ; .arch x64 ; pmaddubsw Rx(d), Rx(s));
        }
        I16x8ExtAddPairwiseI8x16S => {
            // Unsigned ones times the signed bytes (the sums never saturate).
            load_const(a, s, splat8(1));
            dynasm!(a ; .arch x64 ; pmaddubsw Rx(s), Rx(d) ; movdqa Rx(d), Rx(s));
        }
        I32x4ExtAddPairwiseI16x8S => {
            load_const(a, s, splat16(1));
            dynasm!(a ; .arch x64 ; pmaddwd Rx(d), Rx(s));
        }
        _ => {
            // Bias to signed, add pairs, unbias: (x - 2^15) + (y - 2^15) + 2^16.
            load_const(a, s, splat16(0x8000));
            dynasm!(a ; .arch x64 ; pxor Rx(d), Rx(s) ; psrlw Rx(s), 15 ; pmaddwd Rx(d), Rx(s) ; pslld Rx(s), 16 ; paddd Rx(d), Rx(s));
        }
    }
}

/// `i8x16.popcnt` of `d`; `s`, `t0`, `t1` clobbered (uses r11).
pub fn popcnt(a: &mut Asm, d: u8, s: u8, t0: u8, t1: u8) {
    popcnt_with(a, d, s, t0, t1, &mut load_const)
}

/// [`popcnt`] with constants from `load_const`.
pub fn popcnt_with(a: &mut Asm, d: u8, s: u8, t0: u8, t1: u8, load_const: Consts) {
    // Two nibble lookups with pshufb.
    let lut = u128::from_le_bytes([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4]);
    load_const(a, s, splat8(0x0f));
    load_const(a, t0, lut);
    dynasm!(a ; .arch x64
        ; movdqa Rx(t1), Rx(t0)
        ; pand Rx(s), Rx(d)
        ; pshufb Rx(t0), Rx(s)
        ; psrlw Rx(d), 4
    );
    load_const(a, s, splat8(0x0f));
    dynasm!(a ; .arch x64
        ; pand Rx(d), Rx(s)
        ; pshufb Rx(t1), Rx(d)
        ; paddb Rx(t0), Rx(t1)
        ; movdqa Rx(d), Rx(t0)
    );
}

/// `f32x4.convert_i32x4_u` of `d`; `s` clobbered.
pub fn f32x4_convert_u(a: &mut Asm, d: u8, s: u8) {
    // Low and high 16 bits converted exactly, the high half halved and doubled (exact), one
    // rounding in the final add.
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
}

/// `i8x16.swizzle` (or the relaxed one): `d` = the vector (and result), `s` = the indices
/// (clobbered), `t` clobbered (uses r11).
pub fn swizzle(a: &mut Asm, relaxed: bool, d: u8, s: u8, t: u8) {
    swizzle_with(a, relaxed, d, s, t, &mut load_const)
}

/// [`swizzle`] with constants from `load_const`.
pub fn swizzle_with(a: &mut Asm, relaxed: bool, d: u8, s: u8, t: u8, load_const: Consts) {
    if !relaxed {
        // Indices of 16 and more saturate to bit 7 set: pshufb gives 0.
        load_const(a, t, splat8(0x70));
        dynasm!(a ; .arch x64 ; paddusb Rx(s), Rx(t));
    }
    dynasm!(a ; .arch x64 ; pshufb Rx(d), Rx(s));
}

/// `i8x16.shuffle`: `d` = the first vector (and result), `s` the second (clobbered), `t`
/// clobbered (uses r11).
pub fn shuffle(a: &mut Asm, lanes: [u8; 16], d: u8, s: u8, t: u8) {
    shuffle_with(a, lanes, d, s, t, &mut load_const)
}

/// [`shuffle`] with constants from `load_const`.
pub fn shuffle_with(a: &mut Asm, lanes: [u8; 16], d: u8, s: u8, t: u8, load_const: Consts) {
    // pshufb each input with a mask that zeroes the other input's lanes; one pshufb when
    // every lane comes from the same input.
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
    if lanes.iter().all(|&i| i & 31 >= 16) {
        dynasm!(a ; .arch x64 ; movdqa Rx(d), Rx(s));
        load_const(a, t, pick(true));
        dynasm!(a ; .arch x64 ; pshufb Rx(d), Rx(t));
        return;
    }
    load_const(a, t, pick(false));
    dynasm!(a ; .arch x64 ; pshufb Rx(d), Rx(t));
    if lanes.iter().all(|&i| i & 31 < 16) {
        return;
    }
    load_const(a, t, pick(true));
    dynasm!(a ; .arch x64 ; pshufb Rx(s), Rx(t) ; por Rx(d), Rx(s));
}

/// A splat of the scalar bits in r10 into `d`; `s` clobbered.
pub fn splat_r10(a: &mut Asm, op: SimdCode, d: u8, s: u8) {
    use SimdCode::*;
    match op {
        I8x16Splat => dynasm!(a ; .arch x64
            ; movd Rx(d), r10d
            ; pxor Rx(s), Rx(s)
            ; pshufb Rx(d), Rx(s)
        ),
        I16x8Splat => dynasm!(a ; .arch x64
            ; movd Rx(d), r10d
            ; pshuflw Rx(d), Rx(d), 0
            ; pshufd Rx(d), Rx(d), 0
        ),
        I32x4Splat | F32x4Splat => {
            dynasm!(a ; .arch x64 ; movd Rx(d), r10d ; pshufd Rx(d), Rx(d), 0)
        }
        _ => dynasm!(a ; .arch x64 ; movq Rx(d), r10 ; punpcklqdq Rx(d), Rx(d)),
    }
}

/// `replace_lane` of `d` with the scalar bits in r10.
pub fn replace_lane_r10(a: &mut Asm, op: SimdCode, d: u8, lane: u8) {
    use SimdCode::*;
    let l = lane as i8;
    match op {
        I8x16ReplaceLane => dynasm!(a ; .arch x64 ; pinsrb Rx(d), r10d, l),
        I16x8ReplaceLane => dynasm!(a ; .arch x64 ; pinsrw Rx(d), r10d, l),
        I32x4ReplaceLane | F32x4ReplaceLane => dynasm!(a ; .arch x64 ; pinsrd Rx(d), r10d, l),
        _ => dynasm!(a ; .arch x64 ; pinsrq Rx(d), r10, l),
    }
}

/// Shifts of 16-, 32- and 64-bit lanes of `d` by `count` (constant), or by r10 (taken modulo
/// the lane width here) with `s` clobbered. `None` for an operator this does not lower.
pub fn shift(a: &mut Asm, op: SimdCode, d: u8, s: u8, count: Option<u64>) -> Option<()> {
    use SimdCode::*;
    let bits: u64 = match op {
        I16x8Shl | I16x8ShrS | I16x8ShrU => 16,
        I32x4Shl | I32x4ShrS | I32x4ShrU => 32,
        I64x2Shl | I64x2ShrU => 64,
        _ => return None,
    };
    match count {
        Some(c) => {
            let n = (c & (bits - 1)) as i8;
            match op {
                I16x8Shl => dynasm!(a ; .arch x64 ; psllw Rx(d), n),
                I16x8ShrS => dynasm!(a ; .arch x64 ; psraw Rx(d), n),
                I16x8ShrU => dynasm!(a ; .arch x64 ; psrlw Rx(d), n),
                I32x4Shl => dynasm!(a ; .arch x64 ; pslld Rx(d), n),
                I32x4ShrS => dynasm!(a ; .arch x64 ; psrad Rx(d), n),
                I32x4ShrU => dynasm!(a ; .arch x64 ; psrld Rx(d), n),
                I64x2Shl => dynasm!(a ; .arch x64 ; psllq Rx(d), n),
                _ => dynasm!(a ; .arch x64 ; psrlq Rx(d), n),
            }
        }
        None => {
            let mask = (bits - 1) as i32;
            dynasm!(a ; .arch x64 ; and r10d, mask ; movd Rx(s), r10d);
            match op {
                I16x8Shl => dynasm!(a ; .arch x64 ; psllw Rx(d), Rx(s)),
                I16x8ShrS => dynasm!(a ; .arch x64 ; psraw Rx(d), Rx(s)),
                I16x8ShrU => dynasm!(a ; .arch x64 ; psrlw Rx(d), Rx(s)),
                I32x4Shl => dynasm!(a ; .arch x64 ; pslld Rx(d), Rx(s)),
                I32x4ShrS => dynasm!(a ; .arch x64 ; psrad Rx(d), Rx(s)),
                I32x4ShrU => dynasm!(a ; .arch x64 ; psrld Rx(d), Rx(s)),
                I64x2Shl => dynasm!(a ; .arch x64 ; psllq Rx(d), Rx(s)),
                _ => dynasm!(a ; .arch x64 ; psrlq Rx(d), Rx(s)),
            }
        }
    }
    Some(())
}

/// i8x16 shifts of `d` by a constant: 16-bit shifts, then the bits that crossed into a
/// neighbouring byte masked off (or, for `shr_s`, bytes widened to words first); `s`
/// clobbered (uses r11).
pub fn i8_shift_const(a: &mut Asm, op: SimdCode, d: u8, s: u8, count: u64) {
    i8_shift_const_with(a, op, d, s, count, &mut load_const)
}

/// [`i8_shift_const`] with constants from `load_const`.
pub fn i8_shift_const_with(
    a: &mut Asm,
    op: SimdCode,
    d: u8,
    s: u8,
    count: u64,
    load_const: Consts,
) {
    use SimdCode::*;
    let n = (count & 7) as u8;
    match op {
        I8x16Shl => {
            load_const(a, s, splat8(0xffu8 << n));
            let n = n as i8;
            dynasm!(a ; .arch x64 ; psllw Rx(d), n ; pand Rx(d), Rx(s));
        }
        I8x16ShrU => {
            load_const(a, s, splat8(0xffu8 >> n));
            let n = n as i8;
            dynasm!(a ; .arch x64 ; psrlw Rx(d), n ; pand Rx(d), Rx(s));
        }
        _ => {
            let n = n as i8 + 8;
            dynasm!(a ; .arch x64
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
}

/// An instruction on `[r13 + r11 + disp]`, with a one-byte displacement when it fits.
macro_rules! at {
    ($a:expr, $d:expr; {$($pre:tt)*} {$($post:tt)*}) => {{
        let d: i32 = $d;
        if d as i8 as i32 == d {
            let d8 = d as i8;
            dynasm!($a ; .arch x64 ; $($pre)* [BYTE r13 + r11 + d8] $($post)*);
        } else {
            dynasm!($a ; .arch x64 ; $($pre)* [r13 + r11 + d] $($post)*);
        }
    }};
}

/// A SIMD load from `[r13 + r11 + disp]` into `d` (a lane load replaces lane `lane` of `d`);
/// `s` clobbered. Returns the offset of the instruction that may fault.
pub fn load(a: &mut Asm, op: SimdCode, d: u8, s: u8, disp: i32, lane: u8) -> u32 {
    use SimdCode::*;
    let l = lane as i8;
    let site = a.offset().0 as u32;
    match op {
        V128Load => at!(a, disp; {movdqu Rx(d), OWORD} {}),
        V128Load8x8S => at!(a, disp; {pmovsxbw Rx(d), QWORD} {}),
        V128Load8x8U => at!(a, disp; {pmovzxbw Rx(d), QWORD} {}),
        V128Load16x4S => at!(a, disp; {pmovsxwd Rx(d), QWORD} {}),
        V128Load16x4U => at!(a, disp; {pmovzxwd Rx(d), QWORD} {}),
        V128Load32x2S => at!(a, disp; {pmovsxdq Rx(d), QWORD} {}),
        V128Load32x2U => at!(a, disp; {pmovzxdq Rx(d), QWORD} {}),
        V128Load8Splat => {
            at!(a, disp; {pinsrb Rx(d), BYTE} {, 0});
            dynasm!(a ; .arch x64 ; pxor Rx(s), Rx(s) ; pshufb Rx(d), Rx(s));
        }
        V128Load16Splat => {
            at!(a, disp; {pinsrw Rx(d), WORD} {, 0});
            dynasm!(a ; .arch x64 ; pshuflw Rx(d), Rx(d), 0 ; pshufd Rx(d), Rx(d), 0);
        }
        V128Load32Splat => {
            at!(a, disp; {movss Rx(d), DWORD} {});
            dynasm!(a ; .arch x64 ; pshufd Rx(d), Rx(d), 0);
        }
        V128Load64Splat => {
            at!(a, disp; {movq Rx(d), QWORD} {});
            dynasm!(a ; .arch x64 ; punpcklqdq Rx(d), Rx(d));
        }
        V128Load32Zero => at!(a, disp; {movss Rx(d), DWORD} {}),
        V128Load64Zero => at!(a, disp; {movq Rx(d), QWORD} {}),
        V128Load8Lane => at!(a, disp; {pinsrb Rx(d), BYTE} {, l}),
        V128Load16Lane => at!(a, disp; {pinsrw Rx(d), WORD} {, l}),
        V128Load32Lane => at!(a, disp; {pinsrd Rx(d), DWORD} {, l}),
        _ => at!(a, disp; {pinsrq Rx(d), QWORD} {, l}),
    }
    site
}

/// A SIMD store of `x` (or its lane `lane`) to `[r13 + r11 + disp]`. Returns the offset of
/// the instruction that may fault.
pub fn store(a: &mut Asm, op: SimdCode, x: u8, disp: i32, lane: u8) -> u32 {
    use SimdCode::*;
    let l = lane as i8;
    let site = a.offset().0 as u32;
    match op {
        V128Store => at!(a, disp; {movdqu OWORD} {, Rx(x)}),
        V128Store8Lane => at!(a, disp; {pextrb BYTE} {, Rx(x), l}),
        V128Store16Lane => at!(a, disp; {pextrw WORD} {, Rx(x), l}),
        V128Store32Lane => at!(a, disp; {pextrd DWORD} {, Rx(x), l}),
        _ => at!(a, disp; {pextrq QWORD} {, Rx(x), l}),
    }
    site
}

/// Whether the CPU has SSE4.2 (`pcmpgtq`, for the i64x2 ordered compares), detected once.
pub fn has_sse42() -> bool {
    static SSE42: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SSE42.get_or_init(|| std::arch::is_x86_feature_detected!("sse4.2"))
}

/// The i64x2 ordered compares with SSE4.2's `pcmpgtq`: `d` = the first operand for `gt_s`
/// and `le_s`, the second for `lt_s` and `ge_s` (the caller swaps: `lt_s(a, b)` is
/// `gt_s(b, a)`), `s` the other one (clobbered); the result in `d`.
pub fn i64x2_compare(a: &mut Asm, op: SimdCode, d: u8, s: u8) {
    use SimdCode::*;
    dynasm!(a ; .arch x64 ; pcmpgtq Rx(d), Rx(s));
    if matches!(op, I64x2LeS | I64x2GeS) {
        dynasm!(a ; .arch x64 ; pcmpeqd Rx(s), Rx(s) ; pxor Rx(d), Rx(s));
    }
}

/// `i64x2.shr_s` of `d` by `count` (constant), or by r10 (taken modulo 64 here): the logical
/// shift with the sign bit's shifted image subtracted back in, `((x >>u n) ^ m) - m` with
/// `m = 1 << 63 >>u n` (no `psraq` before AVX-512). `s` and `t` clobbered.
pub fn i64x2_shr_s_with(a: &mut Asm, d: u8, s: u8, t: u8, count: Option<u64>, load_const: Consts) {
    let sign = (1u128 << 63) | (1u128 << 127);
    match count {
        Some(c) => {
            let n = (c & 63) as u32;
            let m = (sign >> 64 >> n << 64) | ((1u128 << 63) >> n);
            load_const(a, t, m);
            let n = n as i8;
            dynasm!(a ; .arch x64 ; psrlq Rx(d), n);
        }
        None => {
            load_const(a, t, sign);
            dynasm!(a ; .arch x64
                ; and r10d, 63
                ; movd Rx(s), r10d
                ; psrlq Rx(d), Rx(s)
                ; psrlq Rx(t), Rx(s)
            );
        }
    }
    dynasm!(a ; .arch x64 ; pxor Rx(d), Rx(t) ; psubq Rx(d), Rx(t));
}

/// i8x16 shifts of `d` by r10 (taken modulo 8 here): 16-bit shifts, then the bits that
/// crossed into a neighbouring byte masked off with a mask made by the same shift of all
/// ones (its byte broadcast with `pshufb`), or, for `shr_s`, bytes widened to words first.
/// `s`, `t1` and `t2` clobbered.
pub fn i8_shift_var(a: &mut Asm, op: SimdCode, d: u8, s: u8, t1: u8, t2: u8) {
    use SimdCode::*;
    match op {
        I8x16Shl => dynasm!(a ; .arch x64
            ; and r10d, 7
            ; movd Rx(s), r10d
            ; psllw Rx(d), Rx(s)
            // Words 0xffff << n: the low byte is the mask.
            ; pcmpeqd Rx(t1), Rx(t1)
            ; psllw Rx(t1), Rx(s)
            ; pxor Rx(t2), Rx(t2)
            ; pshufb Rx(t1), Rx(t2)
            ; pand Rx(d), Rx(t1)
        ),
        I8x16ShrU => dynasm!(a ; .arch x64
            ; and r10d, 7
            ; movd Rx(s), r10d
            ; psrlw Rx(d), Rx(s)
            // Words 0xffff >> n >> 8: the low byte is the mask.
            ; pcmpeqd Rx(t1), Rx(t1)
            ; psrlw Rx(t1), Rx(s)
            ; psrlw Rx(t1), 8
            ; pxor Rx(t2), Rx(t2)
            ; pshufb Rx(t1), Rx(t2)
            ; pand Rx(d), Rx(t1)
        ),
        _ => dynasm!(a ; .arch x64
            ; and r10d, 7
            ; add r10d, 8
            ; movd Rx(s), r10d
            ; movdqa Rx(t1), Rx(d)
            ; punpcklbw Rx(t1), Rx(t1)
            ; psraw Rx(t1), Rx(s)
            ; punpckhbw Rx(d), Rx(d)
            ; psraw Rx(d), Rx(s)
            ; packsswb Rx(t1), Rx(d)
            ; movdqa Rx(d), Rx(t1)
        ),
    }
}

/// The float-to-int and int-to-float conversions without a single SSE4.1 instruction
/// (Cranelift's sequences), on `d` in place; `t1` and `t2` clobbered. `None` for an
/// operator this does not lower.
pub fn convert_with(
    a: &mut Asm,
    op: SimdCode,
    d: u8,
    t1: u8,
    t2: u8,
    load_const: Consts,
) -> Option<()> {
    use SimdCode::*;
    let f64x2 = |x: f64| (x.to_bits() as u128) << 64 | x.to_bits() as u128;
    match op {
        I32x4TruncSatF32x4U | I32x4RelaxedTruncF32x4U => dynasm!(a ; .arch x64
            // NaN and negative lanes to 0 (`maxps` gives its second operand for a NaN).
            ; xorps Rx(t1), Rx(t1)
            ; maxps Rx(d), Rx(t1)
            // 2^31 as f32.
            ; pcmpeqd Rx(t1), Rx(t1)
            ; psrld Rx(t1), 1
            ; cvtdq2ps Rx(t1), Rx(t1)
            ; movaps Rx(t2), Rx(d)
            // Lanes below 2^31 convert; the others give 0x80000000.
            ; cvttps2dq Rx(d), Rx(d)
            // x - 2^31 for the lanes from 2^31 on (the others are negative: 0 below), and
            // all ones where x - 2^31 >= 2^31 (x >= 2^32: the sum saturates).
            ; subps Rx(t2), Rx(t1)
            ; cmpleps Rx(t1), Rx(t2)
            ; cvttps2dq Rx(t2), Rx(t2)
            ; pxor Rx(t2), Rx(t1)
            ; pxor Rx(t1), Rx(t1)
            ; pmaxsd Rx(t2), Rx(t1)
            ; paddd Rx(d), Rx(t2)
        ),
        I32x4TruncSatF64x2SZero => {
            // NaN lanes to 0 (`minpd` gives its second operand, the masked-off bound),
            // the others clamped above at i32::MAX; below, cvttpd2dq gives i32::MIN.
            load_const(a, t2, f64x2(2147483647.0));
            dynasm!(a ; .arch x64
                ; movapd Rx(t1), Rx(d)
                ; cmpeqpd Rx(t1), Rx(t1)
                ; andpd Rx(t1), Rx(t2)
                ; minpd Rx(d), Rx(t1)
                ; cvttpd2dq Rx(d), Rx(d)
            );
        }
        I32x4TruncSatF64x2UZero | I32x4RelaxedTruncF64x2UZero => {
            // Clamped to [0, u32::MAX] (NaN to 0), truncated, then + 2^52: the integer is
            // the low half of each double's bits; those two halves, then zeros.
            load_const(a, t2, f64x2(4294967295.0));
            dynasm!(a ; .arch x64
                ; xorpd Rx(t1), Rx(t1)
                ; maxpd Rx(d), Rx(t1)
                ; minpd Rx(d), Rx(t2)
                ; roundpd Rx(d), Rx(d), 3
            );
            load_const(a, t2, f64x2(4503599627370496.0));
            // Lanes 0 and 2 of `d`, then of `t1` (zero).
            let pick = 0x88_u8 as i8;
            dynasm!(a ; .arch x64
                ; addpd Rx(d), Rx(t2)
                ; shufps Rx(d), Rx(t1), pick
            );
        }
        F64x2ConvertLowI32x4U => {
            // Each low u32 lane as the low half of a double whose high half is 0x43300000
            // (2^52 + u), less 2^52.
            load_const(a, t1, 0x43300000_43300000_43300000_43300000);
            dynasm!(a ; .arch x64 ; unpcklps Rx(d), Rx(t1));
            load_const(a, t2, f64x2(4503599627370496.0));
            dynasm!(a ; .arch x64 ; subpd Rx(d), Rx(t2));
        }
        _ => return None,
    }
    Some(())
}
