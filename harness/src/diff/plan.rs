//! The call plan: which exported functions to call, in which order, with which arguments.
//! Every side of a comparison runs the same plan, derived from the module and a seed alone.

use super::value::Value;
use strata::{ExternType, ValType};

/// A small deterministic generator (SplitMix64): the same seed gives the same plan on every
/// machine and in every build, which is what makes a printed `--seed` reproduce a case.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// One call of the plan.
#[derive(Clone, Debug)]
pub struct Call {
    /// The export name of the function.
    pub func: String,
    pub args: Vec<Value>,
}

/// The calls, in order. The instance is created once per side and every call runs on it, so
/// later calls see the memory and globals that earlier ones left.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub calls: Vec<Call>,
    /// A mutable i32 global exported under this name (generated modules' fuel, see
    /// [`super::generate::FUEL_EXPORT`]) is set to this value before every call.
    pub fuel: Option<(String, i32)>,
    /// The module imports WASI: each side links it against a WASI context of its own (no
    /// arguments beyond the program name, no environment, no directories, empty stdin) and
    /// stdout and stderr join the final state.
    pub wasi: bool,
}

const I32_EDGES: &[i32] = &[
    0,
    1,
    -1,
    i32::MIN,
    i32::MAX,
    2,
    31,
    32,
    0x7fff,
    0xffff,
    65536,
];
const I64_EDGES: &[i64] = &[
    0,
    1,
    -1,
    i64::MIN,
    i64::MAX,
    i32::MIN as i64,
    i32::MAX as i64,
    u32::MAX as i64,
    63,
    64,
];
const F32_EDGES: &[u32] = &[
    0x0000_0000, // +0
    0x8000_0000, // -0
    0x3f80_0000, // 1
    0xbf80_0000, // -1
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7fc0_0000, // canonical NaN
    0xffc0_0000, // negative canonical NaN
    0x7fa0_0001, // signalling NaN with a payload
    0x7fff_ffff, // quiet NaN, all payload bits
    0x0000_0001, // smallest subnormal
    0x7f7f_ffff, // largest finite
    0xff7f_ffff, // most negative finite
    0x4f00_0000, // 2^31: the edge of i32 truncation
    0xcf00_0000, // -2^31
    0x5f00_0000, // 2^63
];
const F64_EDGES: &[u64] = &[
    0x0000_0000_0000_0000,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000,
    0xbff0_0000_0000_0000,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0000,
    0xfff8_0000_0000_0000,
    0x7ff4_0000_0000_0001,
    0x7fff_ffff_ffff_ffff,
    0x0000_0000_0000_0001,
    0x7fef_ffff_ffff_ffff,
    0x41e0_0000_0000_0000, // 2^31
    0xc1e0_0000_0000_0000, // -2^31
    0x41df_ffff_ffc0_0000, // 2^31 - 1
    0x43e0_0000_0000_0000, // 2^63
];

const V128_EDGES: &[u128] = &[
    0,
    u128::MAX,
    1,
    0x8000_0000_0000_0000_0000_0000_0000_0000,
    0x8080_8080_8080_8080_8080_8080_8080_8080, // i8x16 minimums
    0x7fff_8000_7fff_8000_ffff_0001_0000_7fff, // i16x8 edges
    0x7fc0_0000_ffc0_0000_7fa0_0001_7fff_ffff, // f32x4 NaNs: canonical, negative, signalling, all payload
    0x7f80_0000_ff80_0000_8000_0000_0000_0001, // f32x4 +inf, -inf, -0, smallest subnormal
    0x4f00_0000_cf00_0000_3f80_0000_bf80_0000, // f32x4 2^31, -2^31, 1, -1
    0x7ff8_0000_0000_0000_7ff4_0000_0000_0001, // f64x2 canonical and signalling NaN
    0x41e0_0000_0000_0000_c1e0_0000_0000_0000, // f64x2 2^31, -2^31
    0x0000_0000_0000_0001_8000_0000_0000_0000, // f64x2 smallest subnormal, -0
];

/// An argument of type `ty`: an edge value half of the time, otherwise random bits (for
/// integers, small numbers a quarter of the time, since they make valid addresses).
/// References are always null: the checker has no host objects and passes no functions in.
pub fn arbitrary_value(rng: &mut Rng, ty: ValType) -> Value {
    let edge = rng.below(2) == 0;
    let pick = |rng: &mut Rng, n: usize| rng.below(n as u64) as usize;
    match ty {
        ValType::I32 if edge => Value::I32(I32_EDGES[pick(rng, I32_EDGES.len())]),
        ValType::I32 if rng.below(2) == 0 => Value::I32(rng.below(1 << 17) as i32),
        ValType::I32 => Value::I32(rng.next_u64() as i32),
        ValType::I64 if edge => Value::I64(I64_EDGES[pick(rng, I64_EDGES.len())]),
        ValType::I64 if rng.below(2) == 0 => Value::I64(rng.below(1 << 17) as i64),
        ValType::I64 => Value::I64(rng.next_u64() as i64),
        ValType::F32 if edge => Value::F32(F32_EDGES[pick(rng, F32_EDGES.len())]),
        ValType::F32 if rng.below(2) == 0 => {
            Value::F32((rng.below(2001) as f32 - 1000.0).to_bits())
        }
        ValType::F32 => Value::F32(rng.next_u64() as u32),
        ValType::F64 if edge => Value::F64(F64_EDGES[pick(rng, F64_EDGES.len())]),
        ValType::F64 if rng.below(2) == 0 => {
            Value::F64((rng.below(2001) as f64 - 1000.0).to_bits())
        }
        ValType::F64 => Value::F64(rng.next_u64()),
        ValType::V128 if edge => Value::V128(V128_EDGES[pick(rng, V128_EDGES.len())]),
        // Small lanes a quarter of the time: they make valid lane addresses and shift counts.
        ValType::V128 if rng.below(2) == 0 => {
            let lanes = rng.next_u64() & 0x0f0f_0f0f_0f0f_0f0f;
            Value::V128(u128::from(lanes) | (u128::from(rng.next_u64() & 0xff) << 64))
        }
        ValType::V128 => Value::V128(u128::from(rng.next_u64()) | u128::from(rng.next_u64()) << 64),
        ValType::FuncRef => Value::FuncRef(None),
        ValType::ExternRef | ValType::ExnRef => Value::ExternRef(false),
    }
}

/// `rounds` rounds; in each, every exported function (in export order) is called once with
/// fresh arguments.
pub fn make_plan(exports: &[(String, ExternType)], seed: u64, rounds: usize) -> Plan {
    make_plan_for(exports, false, seed, rounds)
}

/// [`make_plan`] for a module that imports WASI (`wasi`): a command (it exports `_start`)
/// is run as `strata run` runs it, `_start` once and nothing else.
pub fn make_plan_for(
    exports: &[(String, ExternType)],
    wasi: bool,
    seed: u64,
    rounds: usize,
) -> Plan {
    let is_command = exports
        .iter()
        .any(|(n, ty)| n == "_start" && matches!(ty, ExternType::Func(f) if f.params().is_empty()));
    if wasi && is_command {
        return Plan {
            calls: vec![Call {
                func: "_start".into(),
                args: Vec::new(),
            }],
            fuel: None,
            wasi,
        };
    }
    let mut rng = Rng::new(seed);
    let funcs: Vec<(&String, &strata::FuncType)> = exports
        .iter()
        .filter_map(|(name, ty)| match ty {
            // No exnref argument can be made without running wasm: such exports are left out.
            ExternType::Func(f) if !f.params().iter().any(|t| matches!(t, ValType::ExnRef)) => {
                Some((name, f))
            }
            _ => None,
        })
        .collect();
    let mut calls = Vec::with_capacity(funcs.len() * rounds);
    for _ in 0..rounds {
        for (name, ty) in &funcs {
            let args = ty
                .params()
                .iter()
                .map(|t| arbitrary_value(&mut rng, *t))
                .collect();
            calls.push(Call {
                func: (*name).clone(),
                args,
            });
        }
    }
    let fuel = exports.iter().find_map(|(name, ty)| match ty {
        ExternType::Global(g)
            if name == super::generate::FUEL_EXPORT && g.mutable && g.content == ValType::I32 =>
        {
            Some((name.clone(), super::generate::FUEL as i32))
        }
        _ => None,
    });
    Plan { calls, fuel, wasi }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_deterministic_and_typed() {
        let ty = strata::FuncType::new(
            vec![ValType::I32, ValType::F64, ValType::FuncRef, ValType::V128],
            vec![],
        );
        let exports = vec![("f".to_string(), ExternType::Func(ty))];
        let a = make_plan(&exports, 7, 3);
        let b = make_plan(&exports, 7, 3);
        assert_eq!(a.calls.len(), 3);
        for (x, y) in a.calls.iter().zip(&b.calls) {
            assert!(super::super::value::same_values(&x.args, &y.args));
            assert!(matches!(x.args[0], Value::I32(_)));
            assert!(matches!(x.args[1], Value::F64(_)));
            assert!(matches!(x.args[2], Value::FuncRef(None)));
            assert!(matches!(x.args[3], Value::V128(_)));
        }
    }
}
