//! Fixed-width SIMD (Wasm 2.0) in the interpreter: the instruction codes and their semantics.
//!
//! Every SIMD operator is one `Op::Simd { code, dst, a }` followed by `Op::Ext { a: b, b: c,
//! c: imm }` (`code` = a `SimdCode` in the low 16 bits, the lane index above; `imm`: a memory
//! offset). A v128 register names two consecutive cells, low half first (docs/abi.md §1).
//! The generated handlers have no SIMD handlers yet: these instructions go straight to the
//! executor's `match`, which calls `exec` here, so every `InterpMode` runs them the same way
//! and scalar code keeps its handlers untouched.

use super::code::Reg;
use super::numeric::{f32_max, f32_min, f32_quiet, f64_max, f64_min, f64_quiet};
use super::raw::{MemView, Slots};
use strata_vm::Trap;

macro_rules! define_codes {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        /// A SIMD operator (and a few pseudo-operators after them), as the interpreter's code
        /// names it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u16)]
        pub enum SimdCode {
            $($op,)*
            /// `dst = a` (v128 copy: constants from the pool).
            Copy,
            /// `dst = global[imm]` (a v128 global).
            GlobalGet,
            /// `global[imm] = a`.
            GlobalSet,
            /// `dst = c ? a : b` (`select` of v128 values; `c` is an i32).
            Select,
        }

        impl SimdCode {
            const ALL: &'static [SimdCode] = &[
                $(SimdCode::$op,)* SimdCode::Copy, SimdCode::GlobalGet, SimdCode::GlobalSet,
                SimdCode::Select,
            ];
        }

        /// The immediates of a SIMD operator.
        #[derive(Default)]
        pub struct Imm {
            pub memarg: Option<wasmparser::MemArg>,
            pub lane: Option<u8>,
            pub value: Option<wasmparser::V128>,
            pub lanes: Option<[u8; 16]>,
        }

        /// Sends every SIMD operator to `Translator::simd` (in `translate.rs`).
        macro_rules! simd_visit_methods {
            () => {
                $(
                    fn $visit(&mut self $($(, $arg: $argty)*)?) {
                        #[allow(unused_mut)]
                        let mut imm = crate::interp::simd::Imm::default();
                        $($(imm.$arg = Some($arg);)*)?
                        if let Err(e) = self.simd(crate::interp::simd::SimdCode::$op, imm) {
                            self.fail(e);
                        }
                    }
                )*
            };
        }
        pub(crate) use simd_visit_methods;
    };
}
wasmparser::for_each_visit_simd_operator!(define_codes);

impl SimdCode {
    /// The code of a `Simd` instruction's `code` field (`None` for a corrupt one).
    #[inline]
    pub fn from_u16(c: u16) -> Option<SimdCode> {
        Self::ALL.get(c as usize).copied()
    }
}

/// How an operator uses the operand stack (types of its operands and result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// v128 -> v128.
    Unary,
    /// v128 v128 -> v128.
    Binary,
    /// v128 v128 v128 -> v128.
    Ternary,
    /// v128 i32 -> v128.
    Shift,
    /// v128 -> scalar.
    ToScalar,
    /// scalar -> v128.
    Splat,
    /// v128 scalar -> v128.
    ReplaceLane,
    /// i32 -> v128.
    Load,
    /// i32 v128 -> v128.
    LoadLane,
    /// i32 v128 ->.
    Store,
    /// -> v128.
    Const,
    /// Not an operator shape (the pseudo-operators, which translate on their own).
    Unsupported,
}

impl SimdCode {
    pub fn shape(self) -> Shape {
        use SimdCode::*;
        match self {
            V128Load | V128Load8x8S | V128Load8x8U | V128Load16x4S | V128Load16x4U
            | V128Load32x2S | V128Load32x2U | V128Load8Splat | V128Load16Splat
            | V128Load32Splat | V128Load64Splat | V128Load32Zero | V128Load64Zero => Shape::Load,
            V128Load8Lane | V128Load16Lane | V128Load32Lane | V128Load64Lane => Shape::LoadLane,
            V128Store | V128Store8Lane | V128Store16Lane | V128Store32Lane | V128Store64Lane => {
                Shape::Store
            }
            V128Const => Shape::Const,
            I8x16ExtractLaneS | I8x16ExtractLaneU | I16x8ExtractLaneS | I16x8ExtractLaneU
            | I32x4ExtractLane | I64x2ExtractLane | F32x4ExtractLane | F64x2ExtractLane
            | V128AnyTrue | I8x16AllTrue | I8x16Bitmask | I16x8AllTrue | I16x8Bitmask
            | I32x4AllTrue | I32x4Bitmask | I64x2AllTrue | I64x2Bitmask => Shape::ToScalar,
            I8x16ReplaceLane | I16x8ReplaceLane | I32x4ReplaceLane | I64x2ReplaceLane
            | F32x4ReplaceLane | F64x2ReplaceLane => Shape::ReplaceLane,
            I8x16Splat | I16x8Splat | I32x4Splat | I64x2Splat | F32x4Splat | F64x2Splat => {
                Shape::Splat
            }
            I8x16Shl | I8x16ShrS | I8x16ShrU | I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl
            | I32x4ShrS | I32x4ShrU | I64x2Shl | I64x2ShrS | I64x2ShrU => Shape::Shift,
            V128Bitselect | I8x16Shuffle => Shape::Ternary,
            V128Not
            | I8x16Abs
            | I8x16Neg
            | I8x16Popcnt
            | I16x8Abs
            | I16x8Neg
            | I32x4Abs
            | I32x4Neg
            | I64x2Abs
            | I64x2Neg
            | F32x4Abs
            | F32x4Neg
            | F32x4Sqrt
            | F32x4Ceil
            | F32x4Floor
            | F32x4Trunc
            | F32x4Nearest
            | F64x2Abs
            | F64x2Neg
            | F64x2Sqrt
            | F64x2Ceil
            | F64x2Floor
            | F64x2Trunc
            | F64x2Nearest
            | I16x8ExtendLowI8x16S
            | I16x8ExtendHighI8x16S
            | I16x8ExtendLowI8x16U
            | I16x8ExtendHighI8x16U
            | I32x4ExtendLowI16x8S
            | I32x4ExtendHighI16x8S
            | I32x4ExtendLowI16x8U
            | I32x4ExtendHighI16x8U
            | I64x2ExtendLowI32x4S
            | I64x2ExtendHighI32x4S
            | I64x2ExtendLowI32x4U
            | I64x2ExtendHighI32x4U
            | I16x8ExtAddPairwiseI8x16S
            | I16x8ExtAddPairwiseI8x16U
            | I32x4ExtAddPairwiseI16x8S
            | I32x4ExtAddPairwiseI16x8U
            | I32x4TruncSatF32x4S
            | I32x4TruncSatF32x4U
            | F32x4ConvertI32x4S
            | F32x4ConvertI32x4U
            | I32x4TruncSatF64x2SZero
            | I32x4TruncSatF64x2UZero
            | F64x2ConvertLowI32x4S
            | F64x2ConvertLowI32x4U
            | F32x4DemoteF64x2Zero
            | F64x2PromoteLowF32x4
            | I32x4RelaxedTruncF32x4S
            | I32x4RelaxedTruncF32x4U
            | I32x4RelaxedTruncF64x2SZero
            | I32x4RelaxedTruncF64x2UZero => Shape::Unary,
            F32x4RelaxedMadd
            | F32x4RelaxedNmadd
            | F64x2RelaxedMadd
            | F64x2RelaxedNmadd
            | I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect
            | I32x4RelaxedDotI8x16I7x16AddS => Shape::Ternary,
            Copy | GlobalGet | GlobalSet | Select => Shape::Unsupported,
            // The other relaxed operators (swizzle, min, max, q15mulr, dot) are binary.
            _ => Shape::Binary,
        }
    }
}

/// Reads the v128 in cells `r`, `r + 1`.
#[inline(always)]
pub fn get(s: Slots, r: Reg) -> u128 {
    s.get(r) as u128 | (s.get(r + 1) as u128) << 64
}

/// Writes a v128 into cells `r`, `r + 1`.
#[inline(always)]
pub fn set(s: Slots, r: Reg, v: u128) {
    s.set(r, v as u64);
    s.set(r + 1, (v >> 64) as u64);
}

/// A lane type: its bytes in a v128, little endian.
trait Lane: Copy + Default {
    const BYTES: usize;
    fn read(b: &[u8]) -> Self;
    fn write(self, b: &mut [u8]);
}

macro_rules! lane {
    ($($t:ty),*) => {$(
        impl Lane for $t {
            const BYTES: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn read(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().unwrap_or_default())
            }
            #[inline(always)]
            fn write(self, b: &mut [u8]) {
                b.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
lane!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

#[inline(always)]
fn lanes<T: Lane, const N: usize>(v: u128) -> [T; N] {
    let b = v.to_le_bytes();
    let mut out = [T::default(); N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = T::read(&b[i * T::BYTES..(i + 1) * T::BYTES]);
    }
    out
}

#[inline(always)]
fn pack<T: Lane, const N: usize>(a: [T; N]) -> u128 {
    let mut b = [0u8; 16];
    for (i, x) in a.iter().enumerate() {
        x.write(&mut b[i * T::BYTES..(i + 1) * T::BYTES]);
    }
    u128::from_le_bytes(b)
}

#[inline(always)]
fn map<T: Lane, U: Lane, const N: usize>(v: u128, f: impl Fn(T) -> U) -> u128 {
    pack::<U, N>(lanes::<T, N>(v).map(f))
}

#[inline(always)]
fn zip<T: Lane, U: Lane, const N: usize>(a: u128, b: u128, f: impl Fn(T, T) -> U) -> u128 {
    let (x, y) = (lanes::<T, N>(a), lanes::<T, N>(b));
    let mut out = [U::default(); N];
    for i in 0..N {
        out[i] = f(x[i], y[i]);
    }
    pack::<U, N>(out)
}

/// All ones for a true comparison.
#[inline(always)]
fn m<T: From<i8>>(c: bool) -> T {
    T::from(if c { -1 } else { 0 })
}

/// Widens the low (`high` false) or high half of `v`'s lanes.
#[inline(always)]
fn widen<T: Lane, U: Lane, const N: usize, const H: usize>(
    v: u128,
    high: bool,
    f: impl Fn(T) -> U,
) -> u128 {
    let x = lanes::<T, N>(v);
    let base = if high { H } else { 0 };
    let mut out = [U::default(); H];
    for i in 0..H {
        out[i] = f(x[base + i]);
    }
    pack::<U, H>(out)
}

/// Narrows two vectors' lanes with saturation (`a`'s lanes first).
#[inline(always)]
fn narrow<T: Lane, U: Lane, const N: usize, const W: usize>(
    a: u128,
    b: u128,
    f: impl Fn(T) -> U,
) -> u128 {
    let (x, y) = (lanes::<T, N>(a), lanes::<T, N>(b));
    let mut out = [U::default(); W];
    for i in 0..N {
        out[i] = f(x[i]);
        out[N + i] = f(y[i]);
    }
    pack::<U, W>(out)
}

/// Pairwise extended add.
#[inline(always)]
fn pairwise<T: Lane, U: Lane + std::ops::Add<Output = U>, const N: usize, const H: usize>(
    v: u128,
    f: impl Fn(T) -> U,
) -> u128 {
    let x = lanes::<T, N>(v);
    let mut out = [U::default(); H];
    for i in 0..H {
        out[i] = f(x[2 * i]) + f(x[2 * i + 1]);
    }
    pack::<U, H>(out)
}

/// Extended multiply of the low or high halves.
#[inline(always)]
fn extmul<T: Lane, U: Lane + std::ops::Mul<Output = U>, const N: usize, const H: usize>(
    a: u128,
    b: u128,
    high: bool,
    f: impl Fn(T) -> U,
) -> u128 {
    let (x, y) = (lanes::<T, N>(a), lanes::<T, N>(b));
    let base = if high { H } else { 0 };
    let mut out = [U::default(); H];
    for i in 0..H {
        out[i] = f(x[base + i]) * f(y[base + i]);
    }
    pack::<U, H>(out)
}

fn bitmask<T: Lane + Into<i64>, const N: usize>(v: u128) -> u64 {
    lanes::<T, N>(v)
        .iter()
        .enumerate()
        .fold(0, |acc, (i, x)| acc | (((*x).into() < 0) as u64) << i)
}

fn all_true<T: Lane + PartialEq, const N: usize>(v: u128) -> u64 {
    lanes::<T, N>(v).iter().all(|x| *x != T::default()) as u64
}

/// Saturating float-to-int conversions (NaN is 0).
fn sat_i32(x: f64) -> i32 {
    if x.is_nan() {
        0
    } else {
        x.clamp(i32::MIN as f64, i32::MAX as f64) as i32
    }
}
fn sat_u32(x: f64) -> u32 {
    if x.is_nan() {
        0
    } else {
        x.clamp(0.0, u32::MAX as f64) as u32
    }
}

/// x86's truncating conversion to i32: NaN and out-of-range values give i32::MIN.
fn x86_trunc_i32(x: f64) -> i32 {
    if x.is_nan() || x <= i32::MIN as f64 - 1.0 || x >= i32::MAX as f64 + 1.0 {
        i32::MIN
    } else {
        x as i32
    }
}

/// `pmaddubsw(b, a)`: signed bytes of `a` times unsigned bytes of `b`, adjacent pairs added
/// with i16 saturation.
fn relaxed_dot(a: u128, b: u128) -> u128 {
    let (x, y) = (lanes::<i8, 16>(a), lanes::<u8, 16>(b));
    pack::<i16, 8>(std::array::from_fn(|i| {
        let s = x[2 * i] as i32 * y[2 * i] as i32 + x[2 * i + 1] as i32 * y[2 * i + 1] as i32;
        s.clamp(i16::MIN as i32, i16::MAX as i32) as i16
    }))
}

fn f32_nearest(x: f32) -> f32 {
    f32_quiet(x.round_ties_even())
}
fn f64_nearest(x: f64) -> f64 {
    f64_quiet(x.round_ties_even())
}

fn q15mulr(a: i16, b: i16) -> i16 {
    let r = ((a as i32 * b as i32) + 0x4000) >> 15;
    r.clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// The memory access of a SIMD load/store: `n` bytes at `addr + offset` (an i64 address
/// when `wide`).
#[inline(always)]
fn load<const N: usize>(mem: MemView, addr: u64, offset: u32, wide: bool) -> Result<[u8; N], Trap> {
    mem.load_n::<N>(addr, offset as u64, wide)
}

/// Bit of a `Simd` code: the access is to the memory whose index is in `MEMORY_SHIFT..31`
/// (not the plain memory 0 view), which the executor resolves.
pub const OTHER_MEMORY: u32 = 1 << 31;
/// Where a memory access's memory index starts in a `Simd` code (11 bits).
pub const MEMORY_SHIFT: u32 = 20;
/// Largest memory index a SIMD access encodes.
pub const MAX_MEMORY: u32 = (1 << 11) - 1;

/// Runs SIMD instruction `code` (the `Simd` word's code field) on frame `s` and memory `mem`.
/// Globals are the executor's (`GlobalGet`/`GlobalSet` never come here).
#[allow(clippy::too_many_arguments)]
pub fn exec(
    code: u32,
    dst: Reg,
    a: Reg,
    b: Reg,
    c: Reg,
    imm: u32,
    s: Slots,
    mem: MemView,
    wide: bool,
) -> Result<(), Trap> {
    use SimdCode::*;
    let Some(op) = SimdCode::from_u16(code as u16) else {
        return Err(Trap::host("corrupt SIMD instruction".to_string()));
    };
    let lane = ((code >> 16) & 0xf) as usize;
    let v = |r: Reg| get(s, r);
    let sc = |r: Reg| s.get(r);
    let out: u128 = match op {
        // ---- memory ----
        V128Load => u128::from_le_bytes(load::<16>(mem, sc(a), imm, wide)?),
        V128Load8x8S => pack::<i16, 8>(
            lanes::<i8, 8>(u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128)
                .map(|x| x as i16),
        ),
        V128Load8x8U => pack::<u16, 8>(
            lanes::<u8, 8>(u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128)
                .map(|x| x as u16),
        ),
        V128Load16x4S => pack::<i32, 4>(
            lanes::<i16, 4>(u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128)
                .map(|x| x as i32),
        ),
        V128Load16x4U => pack::<u32, 4>(
            lanes::<u16, 4>(u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128)
                .map(|x| x as u32),
        ),
        V128Load32x2S => pack::<i64, 2>(
            lanes::<i32, 2>(u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128)
                .map(|x| x as i64),
        ),
        V128Load32x2U => pack::<u64, 2>(
            lanes::<u32, 2>(u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128)
                .map(|x| x as u64),
        ),
        V128Load8Splat => pack::<u8, 16>([load::<1>(mem, sc(a), imm, wide)?[0]; 16]),
        V128Load16Splat => {
            pack::<u16, 8>([u16::from_le_bytes(load::<2>(mem, sc(a), imm, wide)?); 8])
        }
        V128Load32Splat => {
            pack::<u32, 4>([u32::from_le_bytes(load::<4>(mem, sc(a), imm, wide)?); 4])
        }
        V128Load64Splat => {
            pack::<u64, 2>([u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?); 2])
        }
        V128Load32Zero => u32::from_le_bytes(load::<4>(mem, sc(a), imm, wide)?) as u128,
        V128Load64Zero => u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?) as u128,
        V128Load8Lane => {
            let mut x = lanes::<u8, 16>(v(b));
            x[lane & 15] = load::<1>(mem, sc(a), imm, wide)?[0];
            pack(x)
        }
        V128Load16Lane => {
            let mut x = lanes::<u16, 8>(v(b));
            x[lane & 7] = u16::from_le_bytes(load::<2>(mem, sc(a), imm, wide)?);
            pack(x)
        }
        V128Load32Lane => {
            let mut x = lanes::<u32, 4>(v(b));
            x[lane & 3] = u32::from_le_bytes(load::<4>(mem, sc(a), imm, wide)?);
            pack(x)
        }
        V128Load64Lane => {
            let mut x = lanes::<u64, 2>(v(b));
            x[lane & 1] = u64::from_le_bytes(load::<8>(mem, sc(a), imm, wide)?);
            pack(x)
        }
        V128Store => return mem.store_n::<16>(sc(a), imm as u64, wide, v(b).to_le_bytes()),
        V128Store8Lane => {
            return mem.store_n::<1>(sc(a), imm as u64, wide, [lanes::<u8, 16>(v(b))[lane & 15]])
        }
        V128Store16Lane => {
            return mem.store_n::<2>(
                sc(a),
                imm as u64,
                wide,
                lanes::<u16, 8>(v(b))[lane & 7].to_le_bytes(),
            )
        }
        V128Store32Lane => {
            return mem.store_n::<4>(
                sc(a),
                imm as u64,
                wide,
                lanes::<u32, 4>(v(b))[lane & 3].to_le_bytes(),
            )
        }
        V128Store64Lane => {
            return mem.store_n::<8>(
                sc(a),
                imm as u64,
                wide,
                lanes::<u64, 2>(v(b))[lane & 1].to_le_bytes(),
            )
        }
        Copy => v(a),
        Select => {
            if sc(c) as u32 != 0 {
                v(a)
            } else {
                v(b)
            }
        }
        GlobalGet | GlobalSet | V128Const => {
            return Err(Trap::host(
                "SIMD instruction left to the executor".to_string(),
            ))
        }

        // ---- lanes ----
        I8x16Shuffle => {
            let (x, y, sel) = (
                lanes::<u8, 16>(v(a)),
                lanes::<u8, 16>(v(b)),
                lanes::<u8, 16>(v(c)),
            );
            pack(sel.map(|i| {
                if i < 16 {
                    x[i as usize]
                } else {
                    y[(i & 31) as usize - 16]
                }
            }))
        }
        I8x16Swizzle => {
            let (x, sel) = (lanes::<u8, 16>(v(a)), lanes::<u8, 16>(v(b)));
            pack(sel.map(|i| if i < 16 { x[i as usize] } else { 0 }))
        }
        I8x16Splat => pack([sc(a) as u8; 16]),
        I16x8Splat => pack([sc(a) as u16; 8]),
        I32x4Splat | F32x4Splat => pack([sc(a) as u32; 4]),
        I64x2Splat | F64x2Splat => pack([sc(a); 2]),
        I8x16ExtractLaneS => {
            return set_scalar(
                s,
                dst,
                lanes::<i8, 16>(v(a))[lane & 15] as i32 as u32 as u64,
            )
        }
        I8x16ExtractLaneU => return set_scalar(s, dst, lanes::<u8, 16>(v(a))[lane & 15] as u64),
        I16x8ExtractLaneS => {
            return set_scalar(s, dst, lanes::<i16, 8>(v(a))[lane & 7] as i32 as u32 as u64)
        }
        I16x8ExtractLaneU => return set_scalar(s, dst, lanes::<u16, 8>(v(a))[lane & 7] as u64),
        I32x4ExtractLane | F32x4ExtractLane => {
            return set_scalar(s, dst, lanes::<u32, 4>(v(a))[lane & 3] as u64)
        }
        I64x2ExtractLane | F64x2ExtractLane => {
            return set_scalar(s, dst, lanes::<u64, 2>(v(a))[lane & 1])
        }
        I8x16ReplaceLane => {
            let mut x = lanes::<u8, 16>(v(a));
            x[lane & 15] = sc(b) as u8;
            pack(x)
        }
        I16x8ReplaceLane => {
            let mut x = lanes::<u16, 8>(v(a));
            x[lane & 7] = sc(b) as u16;
            pack(x)
        }
        I32x4ReplaceLane | F32x4ReplaceLane => {
            let mut x = lanes::<u32, 4>(v(a));
            x[lane & 3] = sc(b) as u32;
            pack(x)
        }
        I64x2ReplaceLane | F64x2ReplaceLane => {
            let mut x = lanes::<u64, 2>(v(a));
            x[lane & 1] = sc(b);
            pack(x)
        }

        // ---- comparisons ----
        I8x16Eq => zip::<i8, i8, 16>(v(a), v(b), |x, y| m(x == y)),
        I8x16Ne => zip::<i8, i8, 16>(v(a), v(b), |x, y| m(x != y)),
        I8x16LtS => zip::<i8, i8, 16>(v(a), v(b), |x, y| m(x < y)),
        I8x16LtU => zip::<u8, i8, 16>(v(a), v(b), |x, y| m(x < y)),
        I8x16GtS => zip::<i8, i8, 16>(v(a), v(b), |x, y| m(x > y)),
        I8x16GtU => zip::<u8, i8, 16>(v(a), v(b), |x, y| m(x > y)),
        I8x16LeS => zip::<i8, i8, 16>(v(a), v(b), |x, y| m(x <= y)),
        I8x16LeU => zip::<u8, i8, 16>(v(a), v(b), |x, y| m(x <= y)),
        I8x16GeS => zip::<i8, i8, 16>(v(a), v(b), |x, y| m(x >= y)),
        I8x16GeU => zip::<u8, i8, 16>(v(a), v(b), |x, y| m(x >= y)),
        I16x8Eq => zip::<i16, i16, 8>(v(a), v(b), |x, y| m(x == y)),
        I16x8Ne => zip::<i16, i16, 8>(v(a), v(b), |x, y| m(x != y)),
        I16x8LtS => zip::<i16, i16, 8>(v(a), v(b), |x, y| m(x < y)),
        I16x8LtU => zip::<u16, i16, 8>(v(a), v(b), |x, y| m(x < y)),
        I16x8GtS => zip::<i16, i16, 8>(v(a), v(b), |x, y| m(x > y)),
        I16x8GtU => zip::<u16, i16, 8>(v(a), v(b), |x, y| m(x > y)),
        I16x8LeS => zip::<i16, i16, 8>(v(a), v(b), |x, y| m(x <= y)),
        I16x8LeU => zip::<u16, i16, 8>(v(a), v(b), |x, y| m(x <= y)),
        I16x8GeS => zip::<i16, i16, 8>(v(a), v(b), |x, y| m(x >= y)),
        I16x8GeU => zip::<u16, i16, 8>(v(a), v(b), |x, y| m(x >= y)),
        I32x4Eq => zip::<i32, i32, 4>(v(a), v(b), |x, y| m(x == y)),
        I32x4Ne => zip::<i32, i32, 4>(v(a), v(b), |x, y| m(x != y)),
        I32x4LtS => zip::<i32, i32, 4>(v(a), v(b), |x, y| m(x < y)),
        I32x4LtU => zip::<u32, i32, 4>(v(a), v(b), |x, y| m(x < y)),
        I32x4GtS => zip::<i32, i32, 4>(v(a), v(b), |x, y| m(x > y)),
        I32x4GtU => zip::<u32, i32, 4>(v(a), v(b), |x, y| m(x > y)),
        I32x4LeS => zip::<i32, i32, 4>(v(a), v(b), |x, y| m(x <= y)),
        I32x4LeU => zip::<u32, i32, 4>(v(a), v(b), |x, y| m(x <= y)),
        I32x4GeS => zip::<i32, i32, 4>(v(a), v(b), |x, y| m(x >= y)),
        I32x4GeU => zip::<u32, i32, 4>(v(a), v(b), |x, y| m(x >= y)),
        I64x2Eq => zip::<i64, i64, 2>(v(a), v(b), |x, y| m(x == y)),
        I64x2Ne => zip::<i64, i64, 2>(v(a), v(b), |x, y| m(x != y)),
        I64x2LtS => zip::<i64, i64, 2>(v(a), v(b), |x, y| m(x < y)),
        I64x2GtS => zip::<i64, i64, 2>(v(a), v(b), |x, y| m(x > y)),
        I64x2LeS => zip::<i64, i64, 2>(v(a), v(b), |x, y| m(x <= y)),
        I64x2GeS => zip::<i64, i64, 2>(v(a), v(b), |x, y| m(x >= y)),
        F32x4Eq => zip::<f32, i32, 4>(v(a), v(b), |x, y| m(x == y)),
        F32x4Ne => zip::<f32, i32, 4>(v(a), v(b), |x, y| m(x != y)),
        F32x4Lt => zip::<f32, i32, 4>(v(a), v(b), |x, y| m(x < y)),
        F32x4Gt => zip::<f32, i32, 4>(v(a), v(b), |x, y| m(x > y)),
        F32x4Le => zip::<f32, i32, 4>(v(a), v(b), |x, y| m(x <= y)),
        F32x4Ge => zip::<f32, i32, 4>(v(a), v(b), |x, y| m(x >= y)),
        F64x2Eq => zip::<f64, i64, 2>(v(a), v(b), |x, y| m(x == y)),
        F64x2Ne => zip::<f64, i64, 2>(v(a), v(b), |x, y| m(x != y)),
        F64x2Lt => zip::<f64, i64, 2>(v(a), v(b), |x, y| m(x < y)),
        F64x2Gt => zip::<f64, i64, 2>(v(a), v(b), |x, y| m(x > y)),
        F64x2Le => zip::<f64, i64, 2>(v(a), v(b), |x, y| m(x <= y)),
        F64x2Ge => zip::<f64, i64, 2>(v(a), v(b), |x, y| m(x >= y)),

        // ---- bitwise ----
        V128Not => !v(a),
        V128And => v(a) & v(b),
        V128AndNot => v(a) & !v(b),
        V128Or => v(a) | v(b),
        V128Xor => v(a) ^ v(b),
        V128Bitselect => (v(a) & v(c)) | (v(b) & !v(c)),
        V128AnyTrue => return set_scalar(s, dst, (v(a) != 0) as u64),

        // ---- i8x16 ----
        I8x16Abs => map::<i8, i8, 16>(v(a), |x| x.wrapping_abs()),
        I8x16Neg => map::<i8, i8, 16>(v(a), |x| x.wrapping_neg()),
        I8x16Popcnt => map::<u8, u8, 16>(v(a), |x| x.count_ones() as u8),
        I8x16AllTrue => return set_scalar(s, dst, all_true::<u8, 16>(v(a))),
        I8x16Bitmask => return set_scalar(s, dst, bitmask::<i8, 16>(v(a))),
        I8x16NarrowI16x8S => narrow::<i16, i8, 8, 16>(v(a), v(b), |x| {
            x.clamp(i8::MIN as i16, i8::MAX as i16) as i8
        }),
        I8x16NarrowI16x8U => {
            narrow::<i16, u8, 8, 16>(v(a), v(b), |x| x.clamp(0, u8::MAX as i16) as u8)
        }
        I8x16Shl => map::<u8, u8, 16>(v(a), |x| x.wrapping_shl(sc(b) as u32 & 7)),
        I8x16ShrS => map::<i8, i8, 16>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 7)),
        I8x16ShrU => map::<u8, u8, 16>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 7)),
        I8x16Add => zip::<u8, u8, 16>(v(a), v(b), |x, y| x.wrapping_add(y)),
        I8x16AddSatS => zip::<i8, i8, 16>(v(a), v(b), |x, y| x.saturating_add(y)),
        I8x16AddSatU => zip::<u8, u8, 16>(v(a), v(b), |x, y| x.saturating_add(y)),
        I8x16Sub => zip::<u8, u8, 16>(v(a), v(b), |x, y| x.wrapping_sub(y)),
        I8x16SubSatS => zip::<i8, i8, 16>(v(a), v(b), |x, y| x.saturating_sub(y)),
        I8x16SubSatU => zip::<u8, u8, 16>(v(a), v(b), |x, y| x.saturating_sub(y)),
        I8x16MinS => zip::<i8, i8, 16>(v(a), v(b), |x, y| x.min(y)),
        I8x16MinU => zip::<u8, u8, 16>(v(a), v(b), |x, y| x.min(y)),
        I8x16MaxS => zip::<i8, i8, 16>(v(a), v(b), |x, y| x.max(y)),
        I8x16MaxU => zip::<u8, u8, 16>(v(a), v(b), |x, y| x.max(y)),
        I8x16AvgrU => {
            zip::<u8, u8, 16>(v(a), v(b), |x, y| ((x as u16 + y as u16).div_ceil(2)) as u8)
        }

        // ---- i16x8 ----
        I16x8ExtAddPairwiseI8x16S => pairwise::<i8, i16, 16, 8>(v(a), |x| x as i16),
        I16x8ExtAddPairwiseI8x16U => pairwise::<u8, u16, 16, 8>(v(a), |x| x as u16),
        I16x8Abs => map::<i16, i16, 8>(v(a), |x| x.wrapping_abs()),
        I16x8Neg => map::<i16, i16, 8>(v(a), |x| x.wrapping_neg()),
        I16x8Q15MulrSatS => zip::<i16, i16, 8>(v(a), v(b), q15mulr),
        I16x8AllTrue => return set_scalar(s, dst, all_true::<u16, 8>(v(a))),
        I16x8Bitmask => return set_scalar(s, dst, bitmask::<i16, 8>(v(a))),
        I16x8NarrowI32x4S => narrow::<i32, i16, 4, 8>(v(a), v(b), |x| {
            x.clamp(i16::MIN as i32, i16::MAX as i32) as i16
        }),
        I16x8NarrowI32x4U => {
            narrow::<i32, u16, 4, 8>(v(a), v(b), |x| x.clamp(0, u16::MAX as i32) as u16)
        }
        I16x8ExtendLowI8x16S => widen::<i8, i16, 16, 8>(v(a), false, |x| x as i16),
        I16x8ExtendHighI8x16S => widen::<i8, i16, 16, 8>(v(a), true, |x| x as i16),
        I16x8ExtendLowI8x16U => widen::<u8, u16, 16, 8>(v(a), false, |x| x as u16),
        I16x8ExtendHighI8x16U => widen::<u8, u16, 16, 8>(v(a), true, |x| x as u16),
        I16x8Shl => map::<u16, u16, 8>(v(a), |x| x.wrapping_shl(sc(b) as u32 & 15)),
        I16x8ShrS => map::<i16, i16, 8>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 15)),
        I16x8ShrU => map::<u16, u16, 8>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 15)),
        I16x8Add => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.wrapping_add(y)),
        I16x8AddSatS => zip::<i16, i16, 8>(v(a), v(b), |x, y| x.saturating_add(y)),
        I16x8AddSatU => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.saturating_add(y)),
        I16x8Sub => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.wrapping_sub(y)),
        I16x8SubSatS => zip::<i16, i16, 8>(v(a), v(b), |x, y| x.saturating_sub(y)),
        I16x8SubSatU => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.saturating_sub(y)),
        I16x8Mul => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.wrapping_mul(y)),
        I16x8MinS => zip::<i16, i16, 8>(v(a), v(b), |x, y| x.min(y)),
        I16x8MinU => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.min(y)),
        I16x8MaxS => zip::<i16, i16, 8>(v(a), v(b), |x, y| x.max(y)),
        I16x8MaxU => zip::<u16, u16, 8>(v(a), v(b), |x, y| x.max(y)),
        I16x8AvgrU => zip::<u16, u16, 8>(v(a), v(b), |x, y| {
            ((x as u32 + y as u32).div_ceil(2)) as u16
        }),
        I16x8ExtMulLowI8x16S => extmul::<i8, i16, 16, 8>(v(a), v(b), false, |x| x as i16),
        I16x8ExtMulHighI8x16S => extmul::<i8, i16, 16, 8>(v(a), v(b), true, |x| x as i16),
        I16x8ExtMulLowI8x16U => extmul::<u8, u16, 16, 8>(v(a), v(b), false, |x| x as u16),
        I16x8ExtMulHighI8x16U => extmul::<u8, u16, 16, 8>(v(a), v(b), true, |x| x as u16),

        // ---- i32x4 ----
        I32x4ExtAddPairwiseI16x8S => pairwise::<i16, i32, 8, 4>(v(a), |x| x as i32),
        I32x4ExtAddPairwiseI16x8U => pairwise::<u16, u32, 8, 4>(v(a), |x| x as u32),
        I32x4Abs => map::<i32, i32, 4>(v(a), |x| x.wrapping_abs()),
        I32x4Neg => map::<i32, i32, 4>(v(a), |x| x.wrapping_neg()),
        I32x4AllTrue => return set_scalar(s, dst, all_true::<u32, 4>(v(a))),
        I32x4Bitmask => return set_scalar(s, dst, bitmask::<i32, 4>(v(a))),
        I32x4ExtendLowI16x8S => widen::<i16, i32, 8, 4>(v(a), false, |x| x as i32),
        I32x4ExtendHighI16x8S => widen::<i16, i32, 8, 4>(v(a), true, |x| x as i32),
        I32x4ExtendLowI16x8U => widen::<u16, u32, 8, 4>(v(a), false, |x| x as u32),
        I32x4ExtendHighI16x8U => widen::<u16, u32, 8, 4>(v(a), true, |x| x as u32),
        I32x4Shl => map::<u32, u32, 4>(v(a), |x| x.wrapping_shl(sc(b) as u32 & 31)),
        I32x4ShrS => map::<i32, i32, 4>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 31)),
        I32x4ShrU => map::<u32, u32, 4>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 31)),
        I32x4Add => zip::<u32, u32, 4>(v(a), v(b), |x, y| x.wrapping_add(y)),
        I32x4Sub => zip::<u32, u32, 4>(v(a), v(b), |x, y| x.wrapping_sub(y)),
        I32x4Mul => zip::<u32, u32, 4>(v(a), v(b), |x, y| x.wrapping_mul(y)),
        I32x4MinS => zip::<i32, i32, 4>(v(a), v(b), |x, y| x.min(y)),
        I32x4MinU => zip::<u32, u32, 4>(v(a), v(b), |x, y| x.min(y)),
        I32x4MaxS => zip::<i32, i32, 4>(v(a), v(b), |x, y| x.max(y)),
        I32x4MaxU => zip::<u32, u32, 4>(v(a), v(b), |x, y| x.max(y)),
        I32x4DotI16x8S => {
            let (x, y) = (lanes::<i16, 8>(v(a)), lanes::<i16, 8>(v(b)));
            let mut out = [0i32; 4];
            for (i, o) in out.iter_mut().enumerate() {
                *o = (x[2 * i] as i32 * y[2 * i] as i32)
                    .wrapping_add(x[2 * i + 1] as i32 * y[2 * i + 1] as i32);
            }
            pack(out)
        }
        I32x4ExtMulLowI16x8S => extmul::<i16, i32, 8, 4>(v(a), v(b), false, |x| x as i32),
        I32x4ExtMulHighI16x8S => extmul::<i16, i32, 8, 4>(v(a), v(b), true, |x| x as i32),
        I32x4ExtMulLowI16x8U => extmul::<u16, u32, 8, 4>(v(a), v(b), false, |x| x as u32),
        I32x4ExtMulHighI16x8U => extmul::<u16, u32, 8, 4>(v(a), v(b), true, |x| x as u32),

        // ---- i64x2 ----
        I64x2Abs => map::<i64, i64, 2>(v(a), |x| x.wrapping_abs()),
        I64x2Neg => map::<i64, i64, 2>(v(a), |x| x.wrapping_neg()),
        I64x2AllTrue => return set_scalar(s, dst, all_true::<u64, 2>(v(a))),
        I64x2Bitmask => return set_scalar(s, dst, bitmask::<i64, 2>(v(a))),
        I64x2ExtendLowI32x4S => widen::<i32, i64, 4, 2>(v(a), false, |x| x as i64),
        I64x2ExtendHighI32x4S => widen::<i32, i64, 4, 2>(v(a), true, |x| x as i64),
        I64x2ExtendLowI32x4U => widen::<u32, u64, 4, 2>(v(a), false, |x| x as u64),
        I64x2ExtendHighI32x4U => widen::<u32, u64, 4, 2>(v(a), true, |x| x as u64),
        I64x2Shl => map::<u64, u64, 2>(v(a), |x| x.wrapping_shl(sc(b) as u32 & 63)),
        I64x2ShrS => map::<i64, i64, 2>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 63)),
        I64x2ShrU => map::<u64, u64, 2>(v(a), |x| x.wrapping_shr(sc(b) as u32 & 63)),
        I64x2Add => zip::<u64, u64, 2>(v(a), v(b), |x, y| x.wrapping_add(y)),
        I64x2Sub => zip::<u64, u64, 2>(v(a), v(b), |x, y| x.wrapping_sub(y)),
        I64x2Mul => zip::<u64, u64, 2>(v(a), v(b), |x, y| x.wrapping_mul(y)),
        I64x2ExtMulLowI32x4S => extmul::<i32, i64, 4, 2>(v(a), v(b), false, |x| x as i64),
        I64x2ExtMulHighI32x4S => extmul::<i32, i64, 4, 2>(v(a), v(b), true, |x| x as i64),
        I64x2ExtMulLowI32x4U => extmul::<u32, u64, 4, 2>(v(a), v(b), false, |x| x as u64),
        I64x2ExtMulHighI32x4U => extmul::<u32, u64, 4, 2>(v(a), v(b), true, |x| x as u64),

        // ---- f32x4 ----
        F32x4Ceil => map::<f32, f32, 4>(v(a), |x| f32_quiet(x.ceil())),
        F32x4Floor => map::<f32, f32, 4>(v(a), |x| f32_quiet(x.floor())),
        F32x4Trunc => map::<f32, f32, 4>(v(a), |x| f32_quiet(x.trunc())),
        F32x4Nearest => map::<f32, f32, 4>(v(a), f32_nearest),
        F32x4Abs => map::<u32, u32, 4>(v(a), |x| x & 0x7fff_ffff),
        F32x4Neg => map::<u32, u32, 4>(v(a), |x| x ^ 0x8000_0000),
        F32x4Sqrt => map::<f32, f32, 4>(v(a), |x| x.sqrt()),
        F32x4Add => zip::<f32, f32, 4>(v(a), v(b), |x, y| x + y),
        F32x4Sub => zip::<f32, f32, 4>(v(a), v(b), |x, y| x - y),
        F32x4Mul => zip::<f32, f32, 4>(v(a), v(b), |x, y| x * y),
        F32x4Div => zip::<f32, f32, 4>(v(a), v(b), |x, y| x / y),
        F32x4Min => zip::<f32, f32, 4>(v(a), v(b), f32_min),
        F32x4Max => zip::<f32, f32, 4>(v(a), v(b), f32_max),
        F32x4PMin => zip::<f32, f32, 4>(v(a), v(b), |x, y| if y < x { y } else { x }),
        F32x4PMax => zip::<f32, f32, 4>(v(a), v(b), |x, y| if x < y { y } else { x }),

        // ---- f64x2 ----
        F64x2Ceil => map::<f64, f64, 2>(v(a), |x| f64_quiet(x.ceil())),
        F64x2Floor => map::<f64, f64, 2>(v(a), |x| f64_quiet(x.floor())),
        F64x2Trunc => map::<f64, f64, 2>(v(a), |x| f64_quiet(x.trunc())),
        F64x2Nearest => map::<f64, f64, 2>(v(a), f64_nearest),
        F64x2Abs => map::<u64, u64, 2>(v(a), |x| x & 0x7fff_ffff_ffff_ffff),
        F64x2Neg => map::<u64, u64, 2>(v(a), |x| x ^ 0x8000_0000_0000_0000),
        F64x2Sqrt => map::<f64, f64, 2>(v(a), |x| x.sqrt()),
        F64x2Add => zip::<f64, f64, 2>(v(a), v(b), |x, y| x + y),
        F64x2Sub => zip::<f64, f64, 2>(v(a), v(b), |x, y| x - y),
        F64x2Mul => zip::<f64, f64, 2>(v(a), v(b), |x, y| x * y),
        F64x2Div => zip::<f64, f64, 2>(v(a), v(b), |x, y| x / y),
        F64x2Min => zip::<f64, f64, 2>(v(a), v(b), f64_min),
        F64x2Max => zip::<f64, f64, 2>(v(a), v(b), f64_max),
        F64x2PMin => zip::<f64, f64, 2>(v(a), v(b), |x, y| if y < x { y } else { x }),
        F64x2PMax => zip::<f64, f64, 2>(v(a), v(b), |x, y| if x < y { y } else { x }),

        // ---- conversions ----
        I32x4TruncSatF32x4S => map::<f32, i32, 4>(v(a), |x| sat_i32(x as f64)),
        I32x4TruncSatF32x4U => map::<f32, u32, 4>(v(a), |x| sat_u32(x as f64)),
        F32x4ConvertI32x4S => map::<i32, f32, 4>(v(a), |x| x as f32),
        F32x4ConvertI32x4U => map::<u32, f32, 4>(v(a), |x| x as f32),
        I32x4TruncSatF64x2SZero => {
            let x = lanes::<f64, 2>(v(a));
            pack([sat_i32(x[0]), sat_i32(x[1]), 0, 0])
        }
        I32x4TruncSatF64x2UZero => {
            let x = lanes::<f64, 2>(v(a));
            pack([sat_u32(x[0]), sat_u32(x[1]), 0, 0])
        }
        F64x2ConvertLowI32x4S => widen::<i32, f64, 4, 2>(v(a), false, |x| x as f64),
        F64x2ConvertLowI32x4U => widen::<u32, f64, 4, 2>(v(a), false, |x| x as f64),
        F32x4DemoteF64x2Zero => {
            let x = lanes::<f64, 2>(v(a));
            pack([x[0] as f32, x[1] as f32, 0.0, 0.0])
        }
        F64x2PromoteLowF32x4 => widen::<f32, f64, 4, 2>(v(a), false, |x| x as f64),

        // ---- relaxed SIMD: one deterministic choice per operator, the same in every
        // tier (the table is in docs/abi.md §8): what x86 SSE4.1 computes where the spec
        // allows it, the deterministic (non-relaxed) result otherwise ----
        I8x16RelaxedSwizzle => {
            // `pshufb`: an index with its top bit set gives 0, any other picks lane i % 16.
            let (x, sel) = (lanes::<u8, 16>(v(a)), lanes::<u8, 16>(v(b)));
            pack(sel.map(|i| {
                if i & 0x80 != 0 {
                    0
                } else {
                    x[(i & 15) as usize]
                }
            }))
        }
        // `cvttps2dq`/`cvttpd2dq`: NaN and out-of-range lanes give i32::MIN.
        I32x4RelaxedTruncF32x4S => map::<f32, i32, 4>(v(a), |x| x86_trunc_i32(x as f64)),
        I32x4RelaxedTruncF64x2SZero => {
            let x = lanes::<f64, 2>(v(a));
            pack([x86_trunc_i32(x[0]), x86_trunc_i32(x[1]), 0, 0])
        }
        // No unsigned conversion in SSE4.1: the saturating result (always allowed).
        I32x4RelaxedTruncF32x4U => map::<f32, u32, 4>(v(a), |x| sat_u32(x as f64)),
        I32x4RelaxedTruncF64x2UZero => {
            let x = lanes::<f64, 2>(v(a));
            pack([sat_u32(x[0]), sat_u32(x[1]), 0, 0])
        }
        // No FMA in SSE4.1: multiply, round, then add.
        F32x4RelaxedMadd => {
            let (x, y, z) = (
                lanes::<f32, 4>(v(a)),
                lanes::<f32, 4>(v(b)),
                lanes::<f32, 4>(v(c)),
            );
            pack::<f32, 4>(std::array::from_fn(|i| x[i] * y[i] + z[i]))
        }
        F32x4RelaxedNmadd => {
            let (x, y, z) = (
                lanes::<f32, 4>(v(a)),
                lanes::<f32, 4>(v(b)),
                lanes::<f32, 4>(v(c)),
            );
            pack::<f32, 4>(std::array::from_fn(|i| -(x[i] * y[i]) + z[i]))
        }
        F64x2RelaxedMadd => {
            let (x, y, z) = (
                lanes::<f64, 2>(v(a)),
                lanes::<f64, 2>(v(b)),
                lanes::<f64, 2>(v(c)),
            );
            pack::<f64, 2>(std::array::from_fn(|i| x[i] * y[i] + z[i]))
        }
        F64x2RelaxedNmadd => {
            let (x, y, z) = (
                lanes::<f64, 2>(v(a)),
                lanes::<f64, 2>(v(b)),
                lanes::<f64, 2>(v(c)),
            );
            pack::<f64, 2>(std::array::from_fn(|i| -(x[i] * y[i]) + z[i]))
        }
        // Bitwise select, like `v128.bitselect` (allowed for every lane width).
        I8x16RelaxedLaneselect
        | I16x8RelaxedLaneselect
        | I32x4RelaxedLaneselect
        | I64x2RelaxedLaneselect => (v(a) & v(c)) | (v(b) & !v(c)),
        // `minps`/`maxps`: the second operand unless the first compares less (greater).
        F32x4RelaxedMin => zip::<f32, f32, 4>(v(a), v(b), |x, y| if x < y { x } else { y }),
        F32x4RelaxedMax => zip::<f32, f32, 4>(v(a), v(b), |x, y| if x > y { x } else { y }),
        F64x2RelaxedMin => zip::<f64, f64, 2>(v(a), v(b), |x, y| if x < y { x } else { y }),
        F64x2RelaxedMax => zip::<f64, f64, 2>(v(a), v(b), |x, y| if x > y { x } else { y }),
        // `pmulhrsw`: rounds like q15mulr but wraps (-32768 * -32768 gives -32768).
        I16x8RelaxedQ15mulrS => zip::<i16, i16, 8>(v(a), v(b), |x, y| {
            ((x as i32 * y as i32 + 0x4000) >> 15) as i16
        }),
        // `pmaddubsw` with `b` as its unsigned operand: products of a signed `a` byte and an
        // unsigned `b` byte, pairs added with i16 saturation.
        I16x8RelaxedDotI8x16I7x16S => relaxed_dot(v(a), v(b)),
        // Then `pmaddwd` by ones (pairs of i16 added into i32) and a wrapping add of `c`.
        I32x4RelaxedDotI8x16I7x16AddS => {
            let d = lanes::<i16, 8>(relaxed_dot(v(a), v(b)));
            let z = lanes::<i32, 4>(v(c));
            pack::<i32, 4>(std::array::from_fn(|i| {
                (d[2 * i] as i32 + d[2 * i + 1] as i32).wrapping_add(z[i])
            }))
        }
    };
    set(s, dst, out);
    Ok(())
}

#[inline(always)]
fn set_scalar(s: Slots, dst: Reg, v: u64) -> Result<(), Trap> {
    s.set(dst, v);
    Ok(())
}
