//! Translation of SIMD: v128 values through blocks, loops (with OSR entries reading two
//! cells per v128), locals, globals and calls; every operator as a `v128.const`, `simd`,
//! `i8x16.shuffle`, `simd.load` or `simd.store` instruction; the text form round-trips.

use strata_ir::simd::SimdOp;
use strata_ir::{parse_function, verify, Function, Imm, Opcode, Translator, Type};
use strata_vm::Module;

fn translate(wat: &str, osr: bool) -> Vec<Function> {
    strata_vm::module::set_simd_enabled(true);
    let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
    let mut t = Translator::new();
    t.set_osr_entries(osr);
    (0..module.num_defined_funcs())
        .map(|i| {
            let f = t.translate(&module, i).unwrap();
            verify(&f).unwrap_or_else(|e| panic!("{e}\n{f}"));
            f
        })
        .collect()
}

fn insts(f: &Function) -> Vec<strata_ir::InstData> {
    f.layout
        .iter()
        .flat_map(|b| f.block_insts(*b))
        .map(|i| *f.inst(*i))
        .collect()
}

const PROGRAM: &str = r#"(module
  (memory 1)
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  (func $id (param v128) (result v128) (local.get 0))
  (func (export "f") (param i32 v128) (result v128 i32) (local v128 f64)
    (local.set 2 (v128.const i64x2 -1 7))
    (local.set 2
      (v128.load32_lane offset=4 3 (local.get 0)
        (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
          (block (result v128)
            (local.get 1)
            (loop (param v128) (result v128)
              (i32x4.add (local.get 2))
              (local.tee 2)
              (br_if 0 (i32.eqz (i32x4.all_true (local.get 2))))))
          (global.get $g))))
    (global.set $g (i16x8.replace_lane 5 (global.get $g) (local.get 0)))
    (v128.store64_lane 1 (local.get 0) (local.get 2))
    (call $id (local.get 2))
    (i32x4.extract_lane 2 (local.get 1)))
)"#;

#[test]
fn v128_flows_through_blocks_loops_locals_globals_and_calls() {
    let fs = translate(PROGRAM, false);
    let f = &fs[1];
    assert_eq!(f.params, vec![Type::I32, Type::V128]);
    assert_eq!(f.results, vec![Type::V128, Type::I32]);
    let is = insts(f);
    let simd = |op: SimdOp| {
        is.iter()
            .filter(|d| matches!(d.imm, Imm::Simd(o, _) | Imm::SimdMem(_, o, _) if o == op))
            .count()
    };
    assert_eq!(simd(SimdOp::I32x4Add), 1, "{f}");
    assert_eq!(simd(SimdOp::I32x4AllTrue), 1, "{f}");
    assert_eq!(simd(SimdOp::V128Load32Lane), 1, "{f}");
    assert_eq!(simd(SimdOp::V128Store64Lane), 1, "{f}");
    assert!(is
        .iter()
        .any(|d| d.imm == Imm::Simd(SimdOp::I16x8ReplaceLane, 5)));
    assert!(is.iter().any(|d| d.opcode == Opcode::I8x16Shuffle));
    assert!(is
        .iter()
        .any(|d| d.opcode == Opcode::SimdStore && matches!(d.imm, Imm::SimdMem(_, _, 1))));
    // The loop header takes the v128 local and the v128 operand as parameters.
    let v128_params = f
        .layout
        .iter()
        .flat_map(|b| f.block_params(*b))
        .filter(|v| f.value_type(**v) == Type::V128)
        .count();
    assert!(v128_params >= 3, "{f}");
}

#[test]
fn osr_entries_read_two_cells_per_v128() {
    let fs = translate(PROGRAM, true);
    let f = &fs[1];
    // Locals: i32 (cell 0), v128 (cells 1-2), v128 (cells 3-4), f64 (cell 5); then the
    // operands at the loop header: the address (cell 6) and the loop's v128 parameter
    // (cells 7-8).
    let cells: Vec<(u32, Type)> = f
        .layout
        .iter()
        .flat_map(|b| f.block_insts(*b))
        .filter(|i| f.inst(**i).opcode == Opcode::OsrLoadCell)
        .map(|i| {
            let Imm::Index(k) = f.inst(*i).imm else {
                panic!()
            };
            (k, f.value_type(f.result(*i).unwrap()))
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            (0, Type::I32),
            (1, Type::V128),
            (3, Type::V128),
            (5, Type::F64),
            (6, Type::I32),
            (7, Type::V128)
        ],
        "{f}"
    );
}

#[test]
fn simd_text_form_round_trips() {
    for f in translate(PROGRAM, true) {
        let text = f.to_string();
        let g = parse_function(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        verify(&g).unwrap();
        assert_eq!(g.to_string(), text);
    }
}

#[test]
fn every_simd_operator_has_a_signature_the_verifier_accepts() {
    // One function per operator shape is enough for the verifier; the spec suites run
    // every operator through the translator in the tiers' tests.
    let fs = translate(
        r#"(module (memory 1)
          (func (param v128 v128 v128 i32) (result v128)
            (v128.bitselect (local.get 0) (local.get 1) (local.get 2))
            (i8x16.shl (local.get 3))
            (f32x4.relaxed_madd (local.get 1) (local.get 2))
            (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1))
            (f64x2.splat (f64x2.extract_lane 1 (local.get 2)))
            (i8x16.relaxed_swizzle)
            (v128.load64_zero (local.get 3))
            (i64x2.extmul_high_i32x4_u)))"#,
        false,
    );
    assert_eq!(fs.len(), 1);
}
