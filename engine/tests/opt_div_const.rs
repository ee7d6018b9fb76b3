//! Integer division and remainder by a constant in the optimizing tier: reciprocal
//! multiplication, shifts and compares instead of `div` (`tiers/src/opt/divconst.rs`,
//! docs/abi.md §8). Every form agrees with the interpreter on values and traps in both
//! bounds modes, and only the divisors that can trap (0, and -1 when signed) keep `div`.

use strata::*;

mod support;

/// Values live across the divisions of the `pressure` functions.
const PRESSURE: usize = 12;

const OPS: [&str; 4] = ["div_u", "div_s", "rem_u", "rem_s"];

fn divisors32() -> Vec<i32> {
    let mut v = vec![
        0,
        1,
        -1,
        2,
        3,
        5,
        6,
        7,
        10,
        16,
        25,
        100,
        641,
        1000,
        65536,
        0x7fff_ffff,
        i32::MIN,
        i32::MIN + 1,
        -2,
        -3,
        -7,
        -10,
        -16,
        0xcccc_cccdu32 as i32,
        0x8000_0003u32 as i32,
        1_000_000_007,
    ];
    v.dedup();
    v
}

fn divisors64() -> Vec<i64> {
    let mut v: Vec<i64> = divisors32().into_iter().map(i64::from).collect();
    v.extend([
        1 << 32,
        1 << 40,
        (1 << 32) + 1,
        1_000_000_000_039,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
        -(1 << 40),
        u32::MAX as i64,
        -1_000_000_000_039,
        0x7fff_ffff_ffff_fffd,
    ]);
    v
}

/// One exported function per width, operation and divisor: `(x) -> x op d`.
fn wat() -> (String, Vec<(String, bool)>) {
    let mut text = String::from("(module\n");
    let mut funcs = Vec::new();
    for op in OPS {
        for d in divisors32() {
            let name = format!("i32.{op}.{d}");
            text += &format!(
                "  (func (export \"{name}\") (param i32) (result i32)\n    \
                 local.get 0 i32.const {d} i32.{op})\n"
            );
            funcs.push((name, false));
        }
        for d in divisors64() {
            let name = format!("i64.{op}.{d}");
            text += &format!(
                "  (func (export \"{name}\") (param i64) (result i64)\n    \
                 local.get 0 i64.const {d} i64.{op})\n"
            );
            funcs.push((name, true));
        }
    }
    // Twelve loaded values live across each division (loads stay before a division): no
    // register is free but the dividend's, so a form that used its result's register as a
    // scratch without defining it early (`divconst::needs_scratch`) would overwrite the
    // dividend before its remainder reads it.
    text += "  (memory 1)\n  (data (i32.const 0) \"\\01\\23\\45\\67\\89\\ab\\cd\\ef\\fe\\dc\\ba\\98\\76\\54\\32\\10\")\n";
    for (ty, divs) in [
        (
            "i32",
            ["div_u 7", "rem_s -10", "rem_u 10", "rem_u 0x80000003"],
        ),
        (
            "i64",
            [
                "div_u 7",
                "rem_s -10",
                "div_s 0x10000000000",
                "rem_u 1000000000039",
            ],
        ),
    ] {
        let name = format!("pressure.{ty}");
        let mut body = String::new();
        for k in 1..=PRESSURE {
            body += &format!("    i32.const {k} {ty}.load local.set {k}\n");
        }
        body += "    local.get 0\n";
        for d in divs {
            let (op, c) = d.split_once(' ').unwrap();
            body += &format!("    {ty}.const {c} {ty}.{op} local.get 0 {ty}.add\n");
        }
        for k in 1..=PRESSURE {
            body += &format!("    local.get {k} {ty}.const {k} {ty}.mul {ty}.xor\n");
        }
        text += &format!(
            "  (func (export \"{name}\") (param {ty}) (result {ty}) (local {})\n{body}  )\n",
            [ty; PRESSURE].join(" ")
        );
        funcs.push((name, ty == "i64"));
    }
    text += "  (func (export \"variable\") (param i32 i32) (result i32)\n    \
             local.get 0 local.get 1 i32.div_u))\n";
    (text, funcs)
}

fn dividends() -> Vec<i64> {
    let mut v = vec![
        0,
        1,
        -1,
        2,
        7,
        9,
        10,
        99,
        100,
        101,
        65535,
        65536,
        123_456_789,
        -123_456_789,
        i32::MAX as i64,
        i32::MIN as i64,
        i32::MIN as i64 + 1,
        u32::MAX as i64,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
        1_000_000_000_039 * 3 - 1,
        0x1234_5678_9abc_def0,
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..12 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.push((seed >> (seed & 63)) as i64);
        v.push(seed as i64);
    }
    v
}

fn run(tier: Tier, bounds: BoundsChecks) -> (Vec<String>, Module) {
    let (text, funcs) = wat();
    let (mut store, instance, module) = support::instantiate(tier, bounds, &text);
    let mut out = Vec::new();
    for (name, wide) in funcs {
        for x in dividends() {
            let arg = if wide {
                Val::I64(x)
            } else {
                Val::I32(x as i32)
            };
            out.push(support::call(&mut store, &instance, &name, &[arg]));
        }
    }
    (out, module)
}

#[test]
fn division_by_constants_agrees_with_the_interpreter() {
    // Every x / 0 and x % 0, and MIN / -1 in both widths.
    support::opt_agrees_with_interpreter(run, 8 * dividends().len() + 2);
}

#[test]
fn only_divisors_that_can_trap_keep_div() {
    let (text, funcs) = wat();
    let code = support::opt_disassembly(&text);
    assert_eq!(code.len(), funcs.len() + 1);
    let divides = |c: &str| c.contains(" div ") || c.contains(" idiv ");
    for ((name, _), c) in funcs.iter().zip(&code) {
        let traps = name.ends_with(".0") || (name.contains("_s.") && name.ends_with(".-1"));
        let traps = traps && !name.starts_with("pressure");
        assert_eq!(divides(c), traps, "{name}:\n{c}");
    }
    assert!(divides(&code[funcs.len()]), "a variable divisor keeps div");
}
