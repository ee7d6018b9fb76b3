//! NaN canonicalization after the float conversions that wasm-smith's `canonicalize_nans`
//! leaves alone: `f32.demote_f64`, `f64.promote_f32`, `f32x4.demote_f64x2_zero` and
//! `f64x2.promote_low_f32x4` may return any NaN for a NaN input (spec 4.3.3: an arithmetic
//! NaN, or any NaN for a non-canonical input), so two correct engines may differ there, and a
//! stored result would then differ byte for byte. wasm-smith canonicalizes after arithmetic
//! (add, sub, mul, div, min, max, sqrt, rounding) only. After each of these four, the same
//! sequence as wasm-smith's is inserted: keep the value where it equals itself, else the
//! canonical NaN (lane by lane for v128). Nothing else is touched: bit operations, moves,
//! loads and stores have exact results in wasm.

use super::oracle_bugs::type_params;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{CodeSection, Instruction, ValType};
use wasmparser::Operator;

const CANON_F32: u32 = 0x7fc0_0000;
const CANON_F64: u64 = 0x7ff8_0000_0000_0000;

/// `wasm` with a canonicalization after every NaN-nondeterministic conversion, or `None`
/// when it has none (the common case: the module is not re-encoded) or cannot be read.
pub fn canonicalize_conversions(wasm: &[u8]) -> Option<Vec<u8>> {
    if !has_conversion(wasm) {
        return None;
    }
    let (params, funcs) = type_params(wasm).ok()?;
    let func_params = funcs
        .iter()
        .map(|&t| params.get(t as usize).copied())
        .collect::<Option<Vec<usize>>>()?;
    let mut r = Canonicalize {
        func_params,
        next_func: 0,
        simd: super::generate::uses_simd(wasm),
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .ok()?;
    Some(module.finish())
}

fn is_conversion(op: &Operator) -> bool {
    matches!(
        op,
        Operator::F32DemoteF64
            | Operator::F64PromoteF32
            | Operator::F32x4DemoteF64x2Zero
            | Operator::F64x2PromoteLowF32x4
    )
}

/// Whether any function body holds one of the four conversions.
fn has_conversion(wasm: &[u8]) -> bool {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut reader) = body.get_operators_reader() else {
            return false;
        };
        while !reader.eof() {
            match reader.read() {
                Ok(op) if is_conversion(&op) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
    false
}

struct Canonicalize {
    /// The number of parameters of each defined function, in code section order.
    func_params: Vec<usize>,
    next_func: usize,
    /// Whether the module uses SIMD; without it there are no v128 conversions and no v128
    /// scratch local either, so that a scalar module stays scalar.
    simd: bool,
}

impl Reencode for Canonicalize {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let params = self.func_params.get(self.next_func).copied().unwrap_or(0);
        self.next_func += 1;
        let mut locals = Vec::new();
        let mut index = params as u32;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            index += count;
            locals.push((count, self.val_type(ty)?));
        }
        // Scratch locals after all others: no existing index changes.
        let (f32_tmp, f64_tmp, v128_tmp) = (index, index + 1, index + 2);
        locals.extend([(1, ValType::F32), (1, ValType::F64)]);
        if self.simd {
            locals.push((1, ValType::V128));
        }
        let mut f = wasm_encoder::Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let convert = is_conversion(&op).then(|| op.clone());
            f.instruction(&self.instruction(op)?);
            let (tmp, nan, eq, pick) = match convert {
                Some(Operator::F32DemoteF64) => (
                    f32_tmp,
                    Instruction::F32Const(f32::from_bits(CANON_F32).into()),
                    Instruction::F32Eq,
                    Instruction::Select,
                ),
                Some(Operator::F64PromoteF32) => (
                    f64_tmp,
                    Instruction::F64Const(f64::from_bits(CANON_F64).into()),
                    Instruction::F64Eq,
                    Instruction::Select,
                ),
                Some(Operator::F32x4DemoteF64x2Zero) => {
                    let n = i128::from(CANON_F32);
                    (
                        v128_tmp,
                        Instruction::V128Const(n | n << 32 | n << 64 | n << 96),
                        Instruction::F32x4Eq,
                        Instruction::V128Bitselect,
                    )
                }
                Some(Operator::F64x2PromoteLowF32x4) => {
                    let n = i128::from(CANON_F64);
                    (
                        v128_tmp,
                        Instruction::V128Const(n | n << 64),
                        Instruction::F64x2Eq,
                        Instruction::V128Bitselect,
                    )
                }
                _ => continue,
            };
            // value -> (value == value) ? value : NaN, as wasm-smith does after arithmetic.
            f.instruction(&Instruction::LocalTee(tmp));
            f.instruction(&nan);
            f.instruction(&Instruction::LocalGet(tmp));
            f.instruction(&Instruction::LocalGet(tmp));
            f.instruction(&eq);
            f.instruction(&pick);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wasm: &[u8], name: &str) -> u128 {
        let engine = strata::Engine::default();
        let module = strata::Module::new(&engine, wasm).unwrap();
        let mut store = strata::Store::new(&engine);
        let instance = strata::Instance::new(&mut store, &module, &strata::Imports::new()).unwrap();
        let f = instance.get_func(&store, name).unwrap();
        let out = f.call(&mut store, &[]).unwrap();
        match out[0] {
            strata::Val::F32(b) => u128::from(b),
            strata::Val::F64(b) => u128::from(b),
            strata::Val::V128(v) => v,
            ref v => panic!("{v:?}"),
        }
    }

    #[test]
    fn conversions_of_nans_give_the_canonical_nan_and_nothing_else_changes() {
        let wat = r#"(module
            (func (export "demote") (result f32)
              (f32.demote_f64 (f64.const nan:0x4000000000001)))
            (func (export "promote") (result f64) (local f64)
              (f64.promote_f32 (f32.const -nan:0x200001)))
            (func (export "demote4") (result v128)
              (f32x4.demote_f64x2_zero (v128.const i64x2 0x7ff4000000000001 0x3ff0000000000000)))
            (func (export "promote2") (result v128)
              (f64x2.promote_low_f32x4 (v128.const i32x4 0xffa00001 0x3f800000 0 0)))
            (func (export "plain") (result f32) (f32.const nan:0x200001)))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let out = canonicalize_conversions(&wasm).expect("has conversions");
        strata::validate(&out).unwrap();
        assert_eq!(run(&out, "demote"), u128::from(CANON_F32));
        assert_eq!(run(&out, "promote"), u128::from(CANON_F64));
        // NaN lane canonical, 1.0 kept, the zero lanes kept.
        assert_eq!(
            run(&out, "demote4"),
            u128::from(CANON_F32) | 0x3f80_0000 << 32
        );
        assert_eq!(
            run(&out, "promote2"),
            u128::from(CANON_F64) | u128::from(0x3ff0_0000_0000_0000_u64) << 64
        );
        // A NaN constant is not a conversion: its payload stays.
        assert_eq!(run(&out, "plain"), 0x7fa0_0001);
        let plain = wat::parse_str("(module (func (result f32) (f32.const 1)))").unwrap();
        assert!(canonicalize_conversions(&plain).is_none());
    }
}
