//! The evaluator of pure operations: what the mid-end's constant folder and the per-rule
//! property tests share, so that a rule is checked against exactly the semantics the folder
//! applies.
//!
//! [`eval_pure`] takes an opcode, its immediate and its operands as raw bits, and returns the
//! result's raw bits, following WebAssembly bit for bit:
//! - `i32` lives in the low 32 bits of the `u64`, zero-extended (results are always
//!   zero-extended; the high bits of `i32` operands are ignored). `i64` uses all 64 bits.
//! - `f32` is its bit pattern in the low 32 bits, `f64` its bit pattern.
//! - References are cells (`strata_vm`'s store layout): 0 is null, anything else is a
//!   reference.
//!
//! # NaNs
//! WebAssembly lets an arithmetic operation that produces a NaN return any NaN (canonical
//! when every NaN operand is canonical, otherwise any arithmetic NaN). The evaluator always
//! returns the *canonical* NaN, [`F32_CANONICAL_NAN`] / [`F64_CANONICAL_NAN`] (positive sign,
//! quiet bit only), for every operation that computes a float: arithmetic, `sqrt`, rounding,
//! `min`/`max` and conversions. That is one of the results wasm allows, and it is
//! deterministic, so folding never depends on the host's NaN propagation. The bit
//! operations `abs`, `neg`, `copysign`, the reinterprets and `select` keep payloads exactly,
//! as wasm requires. `demote`/`promote` of a NaN keep its sign and payload, quieted: also an
//! arithmetic NaN wasm allows, and what every tier computes at run time (x86-64's
//! `cvtsd2ss`/`cvtss2sd`), so a folded conversion stores the same bits the interpreter does
//! (a differential-fuzzing finding: a global's bits differed after a folded demote).
//!
//! # What returns `None`
//! - Opcodes that are not pure: trapping ones (`i32.div_s`, `i32.trunc_f32_s`...), memory,
//!   globals, tables, calls, control. They are not in the e-graph and must never be folded.
//! - `ref.func`: pure, but its value is the function's runtime address (a cell), which only
//!   the instance knows; the folder keeps it as an opaque leaf.
//! - The v128 opcodes (`v128.const`, `simd`, `i8x16.shuffle`): a v128 does not fit the
//!   `u64` encoding, and the mid-end treats v128 values as opaque (they never enter the
//!   e-graph, so nothing folds them). Their semantics are the interpreter's
//!   (`tiers/src/interp/simd.rs`), which the tiers' spec and fuzz tests compare against.
//! - Ill-formed requests: the wrong number of operands, or an immediate of the wrong kind
//!   for the opcode (`i32.const` without `Imm::I32`, `ref.null` without a reference type).
//!
//! Every other pure opcode of the table is evaluated (a test walks `Opcode::pure_opcodes()`).

use crate::function::Imm;
use crate::opcode::Opcode;
use crate::types::Type;

/// The canonical f32 NaN's bits: what the evaluator returns for an f32 NaN result.
pub const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
/// The canonical f64 NaN's bits: what the evaluator returns for an f64 NaN result.
pub const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

const F32_SIGN: u32 = 0x8000_0000;
const F64_SIGN: u64 = 0x8000_0000_0000_0000;

/// Evaluates a pure opcode on raw-bit operands (see the module docs for the encoding).
///
/// Returns `None` for opcodes that are not pure (or that trap), for `ref.func`, and for a
/// wrong operand count or immediate kind. Never panics.
pub fn eval_pure(op: Opcode, imm: &Imm, args: &[u64]) -> Option<u64> {
    use Opcode::*;
    // Nullary: constants.
    match op {
        I32Const => {
            return match (imm, args) {
                (Imm::I32(v), []) => Some(u64::from(*v as u32)),
                _ => None,
            };
        }
        I64Const => {
            return match (imm, args) {
                (Imm::I64(v), []) => Some(*v as u64),
                _ => None,
            };
        }
        F32Const => {
            return match (imm, args) {
                (Imm::F32(bits), []) => Some(u64::from(*bits)),
                _ => None,
            };
        }
        F64Const => {
            return match (imm, args) {
                (Imm::F64(bits), []) => Some(*bits),
                _ => None,
            };
        }
        RefNull => {
            return match (imm, args) {
                (Imm::Type(Type::FuncRef | Type::ExternRef | Type::ExnRef), []) => Some(0),
                _ => None,
            };
        }
        // The function's address is known only at instantiation.
        RefFunc => return None,
        _ => {}
    }
    if !op.is_pure() {
        return None;
    }
    match *args {
        [a] => unary(op, a),
        [a, b] => binary(op, a, b),
        [a, b, c] => ternary(op, a, b, c),
        _ => None,
    }
}

fn unary(op: Opcode, a: u64) -> Option<u64> {
    use Opcode::*;
    let a32 = a as u32;
    let fa = f32::from_bits(a32);
    let da = f64::from_bits(a);
    Some(match op {
        RefIsNull => bool32(a == 0),

        I32Eqz => bool32(a32 == 0),
        I32Clz => u64::from(a32.leading_zeros()),
        I32Ctz => u64::from(a32.trailing_zeros()),
        I32Popcnt => u64::from(a32.count_ones()),
        I32Extend8S => i32r(i32::from(a32 as i8)),
        I32Extend16S => i32r(i32::from(a32 as i16)),

        I64Eqz => bool32(a == 0),
        I64Clz => u64::from(a.leading_zeros()),
        I64Ctz => u64::from(a.trailing_zeros()),
        I64Popcnt => u64::from(a.count_ones()),
        I64Extend8S => i64::from(a as i8) as u64,
        I64Extend16S => i64::from(a as i16) as u64,
        I64Extend32S => i64::from(a as i32) as u64,

        F32Abs => u64::from(a32 & !F32_SIGN),
        F32Neg => u64::from(a32 ^ F32_SIGN),
        F32Ceil => f32r(fa.ceil()),
        F32Floor => f32r(fa.floor()),
        F32Trunc => f32r(fa.trunc()),
        F32Nearest => f32r(fa.round_ties_even()),
        F32Sqrt => f32r(fa.sqrt()),

        F64Abs => a & !F64_SIGN,
        F64Neg => a ^ F64_SIGN,
        F64Ceil => f64r(da.ceil()),
        F64Floor => f64r(da.floor()),
        F64Trunc => f64r(da.trunc()),
        F64Nearest => f64r(da.round_ties_even()),
        F64Sqrt => f64r(da.sqrt()),

        I32WrapI64 => u64::from(a32),
        I64ExtendI32S => i64::from(a32 as i32) as u64,
        I64ExtendI32U => u64::from(a32),

        // Rust's int-to-float `as` rounds to nearest, ties to even: wasm's convert.
        F32ConvertI32S => f32r(a32 as i32 as f32),
        F32ConvertI32U => f32r(a32 as f32),
        F32ConvertI64S => f32r(a as i64 as f32),
        F32ConvertI64U => f32r(a as f32),
        F64ConvertI32S => f64r(f64::from(a32 as i32)),
        F64ConvertI32U => f64r(f64::from(a32)),
        F64ConvertI64S => f64r(a as i64 as f64),
        F64ConvertI64U => f64r(a as f64),
        // Rounds to nearest, ties to even (overflow gives infinity). A NaN keeps its sign
        // and payload, quieted (see the module docs: what every tier's cvtsd2ss/cvtss2sd
        // computes at run time).
        F32DemoteF64 if da.is_nan() => u64::from(demote_nan(a)),
        F32DemoteF64 => f32r(da as f32),
        F64PromoteF32 if fa.is_nan() => promote_nan(a32),
        F64PromoteF32 => f64r(f64::from(fa)),

        I32ReinterpretF32 | F32ReinterpretI32 => u64::from(a32),
        I64ReinterpretF64 | F64ReinterpretI64 => a,

        // Rust's float-to-int `as` saturates and maps NaN to 0: exactly wasm's trunc_sat.
        I32TruncSatF32S => i32r(fa as i32),
        I32TruncSatF32U => u64::from(fa as u32),
        I32TruncSatF64S => i32r(da as i32),
        I32TruncSatF64U => u64::from(da as u32),
        I64TruncSatF32S => fa as i64 as u64,
        I64TruncSatF32U => fa as u64,
        I64TruncSatF64S => da as i64 as u64,
        I64TruncSatF64U => da as u64,

        _ => return None,
    })
}

fn binary(op: Opcode, a: u64, b: u64) -> Option<u64> {
    use Opcode::*;
    let (a32, b32) = (a as u32, b as u32);
    let (fa, fb) = (f32::from_bits(a32), f32::from_bits(b32));
    let (da, db) = (f64::from_bits(a), f64::from_bits(b));
    Some(match op {
        I32Add => u64::from(a32.wrapping_add(b32)),
        I32Sub => u64::from(a32.wrapping_sub(b32)),
        I32Mul => u64::from(a32.wrapping_mul(b32)),
        I32And => u64::from(a32 & b32),
        I32Or => u64::from(a32 | b32),
        I32Xor => u64::from(a32 ^ b32),
        // Shift and rotate counts are taken modulo the width.
        I32Shl => u64::from(a32 << (b32 & 31)),
        I32ShrS => i32r((a32 as i32) >> (b32 & 31)),
        I32ShrU => u64::from(a32 >> (b32 & 31)),
        I32Rotl => u64::from(a32.rotate_left(b32 & 31)),
        I32Rotr => u64::from(a32.rotate_right(b32 & 31)),
        I32Eq => bool32(a32 == b32),
        I32Ne => bool32(a32 != b32),
        I32LtS => bool32((a32 as i32) < (b32 as i32)),
        I32LtU => bool32(a32 < b32),
        I32GtS => bool32((a32 as i32) > (b32 as i32)),
        I32GtU => bool32(a32 > b32),
        I32LeS => bool32((a32 as i32) <= (b32 as i32)),
        I32LeU => bool32(a32 <= b32),
        I32GeS => bool32((a32 as i32) >= (b32 as i32)),
        I32GeU => bool32(a32 >= b32),

        I64Add => a.wrapping_add(b),
        I64Sub => a.wrapping_sub(b),
        I64Mul => a.wrapping_mul(b),
        I64And => a & b,
        I64Or => a | b,
        I64Xor => a ^ b,
        I64Shl => a << (b & 63),
        I64ShrS => ((a as i64) >> (b & 63)) as u64,
        I64ShrU => a >> (b & 63),
        I64Rotl => a.rotate_left((b & 63) as u32),
        I64Rotr => a.rotate_right((b & 63) as u32),
        I64Eq => bool32(a == b),
        I64Ne => bool32(a != b),
        I64LtS => bool32((a as i64) < (b as i64)),
        I64LtU => bool32(a < b),
        I64GtS => bool32((a as i64) > (b as i64)),
        I64GtU => bool32(a > b),
        I64LeS => bool32((a as i64) <= (b as i64)),
        I64LeU => bool32(a <= b),
        I64GeS => bool32((a as i64) >= (b as i64)),
        I64GeU => bool32(a >= b),

        F32Add => f32r(fa + fb),
        F32Sub => f32r(fa - fb),
        F32Mul => f32r(fa * fb),
        F32Div => f32r(fa / fb),
        F32Min => f32_min_max(fa, fb, true),
        F32Max => f32_min_max(fa, fb, false),
        F32Copysign => u64::from((a32 & !F32_SIGN) | (b32 & F32_SIGN)),
        F32Eq => bool32(fa == fb),
        F32Ne => bool32(fa != fb),
        F32Lt => bool32(fa < fb),
        F32Gt => bool32(fa > fb),
        F32Le => bool32(fa <= fb),
        F32Ge => bool32(fa >= fb),

        F64Add => f64r(da + db),
        F64Sub => f64r(da - db),
        F64Mul => f64r(da * db),
        F64Div => f64r(da / db),
        F64Min => f64_min_max(da, db, true),
        F64Max => f64_min_max(da, db, false),
        F64Copysign => (a & !F64_SIGN) | (b & F64_SIGN),
        F64Eq => bool32(da == db),
        F64Ne => bool32(da != db),
        F64Lt => bool32(da < db),
        F64Gt => bool32(da > db),
        F64Le => bool32(da <= db),
        F64Ge => bool32(da >= db),

        _ => return None,
    })
}

fn ternary(op: Opcode, a: u64, b: u64, c: u64) -> Option<u64> {
    match op {
        // `select a, b, cond`: the condition is an i32; operands are returned bit for bit.
        Opcode::Select => Some(if c as u32 != 0 { a } else { b }),
        _ => None,
    }
}

fn bool32(b: bool) -> u64 {
    u64::from(b)
}

/// An i32 result, zero-extended.
fn i32r(v: i32) -> u64 {
    u64::from(v as u32)
}

/// `f32.demote_f64` of the f64 NaN `bits` as x86-64's `cvtsd2ss` computes it: the sign, the
/// quiet bit set, and the payload's top 22 bits below it.
fn demote_nan(bits: u64) -> u32 {
    let sign = ((bits >> 63) as u32) << 31;
    let payload = ((bits >> 29) as u32) & 0x007f_ffff;
    sign | 0x7fc0_0000 | payload
}

/// `f64.promote_f32` of the f32 NaN `bits` as x86-64's `cvtss2sd` computes it: the sign, the
/// quiet bit set, and the payload shifted into the top of the f64 payload.
fn promote_nan(bits: u32) -> u64 {
    let sign = u64::from(bits >> 31) << 63;
    let payload = u64::from(bits & 0x007f_ffff) << 29;
    sign | 0x7ff8_0000_0000_0000 | payload
}

/// An f32 result, NaN canonicalised.
fn f32r(v: f32) -> u64 {
    u64::from(if v.is_nan() {
        F32_CANONICAL_NAN
    } else {
        v.to_bits()
    })
}

/// An f64 result, NaN canonicalised.
fn f64r(v: f64) -> u64 {
    if v.is_nan() {
        F64_CANONICAL_NAN
    } else {
        v.to_bits()
    }
}

/// wasm's `fmin`/`fmax`: a NaN operand gives a NaN, and -0 is below +0 (unlike Rust's
/// `f32::min`, which returns the other operand for a NaN and either zero for ±0).
fn f32_min_max(a: f32, b: f32, min: bool) -> u64 {
    if a.is_nan() || b.is_nan() {
        return u64::from(F32_CANONICAL_NAN);
    }
    if a == 0.0 && b == 0.0 {
        // Both zeros: min is negative if either is, max positive if either is.
        let (x, y) = (a.to_bits(), b.to_bits());
        return u64::from(if min { x | y } else { x & y });
    }
    let pick_a = if min { a < b } else { a > b };
    u64::from(if pick_a { a } else { b }.to_bits())
}

fn f64_min_max(a: f64, b: f64, min: bool) -> u64 {
    if a.is_nan() || b.is_nan() {
        return F64_CANONICAL_NAN;
    }
    if a == 0.0 && b == 0.0 {
        let (x, y) = (a.to_bits(), b.to_bits());
        return if min { x | y } else { x & y };
    }
    let pick_a = if min { a < b } else { a > b };
    if pick_a { a } else { b }.to_bits()
}
