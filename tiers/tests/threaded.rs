//! Threaded dispatch (interp/threaded.rs) must not grow the host stack: each handler ends in a
//! sibling call (`jmp`) to the next. A loop that runs every handler kind many times on a small
//! host stack overflows it (and crashes the test) if any handler makes a real call instead.

use std::sync::Arc;
use strata_tiers::interp::invoke;
use strata_vm::{instantiate, Module, RuntimeConfig, StoreInner};

/// `(inputs, result, operators)`: operators of one signature, over the locals `$a_<type>`
/// (and `$b_<type>` for the second operand), result into `$r_<type>`.
const GROUPS: &[(&[&str], &str, &str)] = &[
    (
        &["i32"],
        "i32",
        "i32.eqz i32.clz i32.ctz i32.popcnt i32.extend8_s i32.extend16_s",
    ),
    (&["i64"], "i32", "i64.eqz i32.wrap_i64"),
    (
        &["i64"],
        "i64",
        "i64.clz i64.ctz i64.popcnt i64.extend8_s i64.extend16_s i64.extend32_s",
    ),
    (&["i32"], "i64", "i64.extend_i32_s i64.extend_i32_u"),
    (
        &["f32"],
        "f32",
        "f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt",
    ),
    (
        &["f64"],
        "f64",
        "f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt",
    ),
    (&["i32"], "f32", "f32.convert_i32_s f32.convert_i32_u"),
    (&["i64"], "f32", "f32.convert_i64_s f32.convert_i64_u"),
    (&["f64"], "f32", "f32.demote_f64"),
    (&["i32"], "f64", "f64.convert_i32_s f64.convert_i32_u"),
    (&["i64"], "f64", "f64.convert_i64_s f64.convert_i64_u"),
    (&["f32"], "f64", "f64.promote_f32"),
    (&["f32"], "i32", "i32.trunc_sat_f32_s i32.trunc_sat_f32_u"),
    (&["f64"], "i32", "i32.trunc_sat_f64_s i32.trunc_sat_f64_u"),
    (&["f32"], "i64", "i64.trunc_sat_f32_s i64.trunc_sat_f32_u"),
    (&["f64"], "i64", "i64.trunc_sat_f64_s i64.trunc_sat_f64_u"),
    (
        &["i32", "i32"],
        "i32",
        "i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u \
         i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or \
         i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr",
    ),
    (
        &["i64", "i64"],
        "i32",
        "i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u",
    ),
    (
        &["i64", "i64"],
        "i64",
        "i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or \
         i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr",
    ),
    (
        &["f32", "f32"],
        "i32",
        "f32.eq f32.ne f32.lt f32.gt f32.le f32.ge",
    ),
    (
        &["f64", "f64"],
        "i32",
        "f64.eq f64.ne f64.lt f64.gt f64.le f64.ge",
    ),
    (
        &["f32", "f32"],
        "f32",
        "f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign",
    ),
    (
        &["f64", "f64"],
        "f64",
        "f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign",
    ),
];

const IMM_I32: &str = "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u add mul and or xor shl \
                       shr_s shr_u rotl rotr";
const IMM_I64: &str = IMM_I32;
const CMP: &str = "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u";

fn body() -> String {
    let mut b = String::new();
    for (inputs, result, ops) in GROUPS {
        for op in ops.split_whitespace() {
            let (a, second) = (inputs[0], inputs.get(1));
            b += &format!("local.get $a_{a} ");
            if let Some(t) = second {
                b += &format!("local.get $b_{t} ");
            }
            b += &format!("{op} local.set $r_{result}\n");
        }
    }
    // Constant right operands: the `*Imm` forms.
    for (t, ops) in [("i32", IMM_I32), ("i64", IMM_I64)] {
        for op in ops.split_whitespace() {
            let r = if CMP.split_whitespace().any(|c| c == op) {
                "i32"
            } else {
                t
            };
            b += &format!("local.get $a_{t} {t}.const 5 {t}.{op} local.set $r_{r}\n");
        }
    }
    // Fused compare-and-branch, register and constant forms, taken or not.
    for t in ["i32", "i64"] {
        for op in CMP.split_whitespace() {
            b += &format!("block local.get $a_{t} local.get $b_{t} {t}.{op} br_if 0 end\n");
            b += &format!("block local.get $a_{t} {t}.const 3 {t}.{op} br_if 0 end\n");
        }
    }
    // Loads and stores.
    for (t, loads) in [
        (
            "i32",
            "i32.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u",
        ),
        (
            "i64",
            "i64.load i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u",
        ),
        ("f32", "f32.load"),
        ("f64", "f64.load"),
    ] {
        for op in loads.split_whitespace() {
            b += &format!("local.get $p {op} offset=8 local.set $r_{t}\n");
        }
    }
    for (t, stores) in [
        ("i32", "i32.store i32.store8 i32.store16"),
        ("i64", "i64.store i64.store8 i64.store16 i64.store32"),
        ("f32", "f32.store"),
        ("f64", "f64.store"),
    ] {
        for op in stores.split_whitespace() {
            b += &format!("local.get $p local.get $a_{t} {op} offset=16\n");
        }
    }
    // Branches, `br_table`, `select`, copies and constants.
    b += "block local.get $a_i32 i32.eqz br_if 0 end\n";
    b += "block local.get $a_i32 br_if 0 end\n";
    b += "block block block local.get $a_i32 br_table 0 1 2 end end end\n";
    b += "block br 0 end\n";
    b += "local.get $a_i64 local.get $b_i64 local.get $a_i32 select local.set $r_i64\n";
    b += "local.get $a_i32 local.set $b_i32\n";
    b += "i64.const 0x123456789 local.set $b_i64\n";
    b += "i32.const 77 local.set $r_i32\n";
    b
}

#[test]
fn threaded_dispatch_keeps_the_stack_flat() {
    let wat = format!(
        r#"(module
            (memory 1)
            (func (export "run") (param $n i32) (result i32)
              (local $i i32) (local $p i32)
              (local $a_i32 i32) (local $b_i32 i32) (local $r_i32 i32)
              (local $a_i64 i64) (local $b_i64 i64) (local $r_i64 i64)
              (local $a_f32 f32) (local $b_f32 f32) (local $r_f32 f32)
              (local $a_f64 f64) (local $b_f64 f64) (local $r_f64 f64)
              i32.const 7 local.set $a_i32 i32.const 3 local.set $b_i32
              i64.const 9 local.set $a_i64 i64.const 2 local.set $b_i64
              f32.const 1.5 local.set $a_f32 f32.const -2.25 local.set $b_f32
              f64.const 3.5 local.set $a_f64 f64.const 0.75 local.set $b_f64
              i32.const 64 local.set $p
              (loop $l
                {}
                local.get $i i32.const 1 i32.add local.tee $i
                local.get $n i32.lt_u br_if $l)
              local.get $i))"#,
        body()
    );
    let bytes = wat::parse_str(&wat).unwrap();
    let module = Arc::new(Module::new(bytes).unwrap());
    // Every handler runs 100k times; a handler that called the next one instead of jumping
    // to it would need far more than this stack.
    let thread = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let mut store = StoreInner::new(RuntimeConfig::default());
            let inst = instantiate(&mut store, &module, &[]).unwrap();
            let run = store.instances[inst as usize].funcs[0];
            let mut out = [0u64];
            invoke(&mut store, run, &[100_000], &mut out).unwrap();
            out[0]
        })
        .unwrap();
    assert_eq!(thread.join().unwrap(), 100_000);
}
