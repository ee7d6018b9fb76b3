//! Loads folded into the instruction that uses them (`lower::load_folds`: x86 memory
//! operands): the optimizing tier agrees with the interpreter on values, trap kinds and the
//! trapping instruction's wasm offset, in both bounds modes, and the fold happens.

use strata::*;

mod support;

const WAT: &str = include_str!("wat/mem_operands.wat");

/// Each call's result, or its trap and the innermost frame's wasm offset.
fn run(tier: Tier, bounds: BoundsChecks) -> (Vec<String>, Module) {
    let end = 65536;
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("int32", vec![Val::I32(0), Val::I32(0x1234_5678)]),
        ("int32", vec![Val::I32(3), Val::I32(-9)]),
        ("int32", vec![Val::I32(end - 20), Val::I32(1)]),
        ("int32", vec![Val::I32(end - 19), Val::I32(1)]),
        ("int32", vec![Val::I32(end - 4), Val::I32(1)]),
        ("int32", vec![Val::I32(-1), Val::I32(1)]),
        ("int64", vec![Val::I32(1), Val::I64(-0x0123_4567_89ab)]),
        ("int64", vec![Val::I32(end - 24), Val::I64(5)]),
        ("int64", vec![Val::I32(end - 23), Val::I64(5)]),
        ("indexed", vec![Val::I32(4), Val::I32(3)]),
        ("indexed", vec![Val::I32(4), Val::I32(-1)]),
        ("indexed", vec![Val::I32(end - 8), Val::I32(1)]),
        ("indexed", vec![Val::I32(end - 12), Val::I32(2)]),
        ("floats", vec![Val::I32(0), Val::f64(3.0), Val::f32(0.25)]),
        (
            "floats",
            vec![Val::I32(8), Val::f64(f64::NAN), Val::f32(-1.0)],
        ),
        (
            "floats",
            vec![Val::I32(end - 80), Val::f64(1.0), Val::f32(1.0)],
        ),
        (
            "floats",
            vec![Val::I32(end - 76), Val::f64(1.0), Val::f32(1.0)],
        ),
        ("store_between", vec![Val::I32(0)]),
        ("store_between", vec![Val::I32(end - 8)]),
        ("store_between", vec![Val::I32(end - 6)]),
        ("order", vec![Val::I32(0), Val::I32(4), Val::I32(7)]),
        ("order", vec![Val::I32(end), Val::I32(4), Val::I32(7)]),
        ("order", vec![Val::I32(0), Val::I32(end), Val::I32(7)]),
        ("order", vec![Val::I32(end), Val::I32(-1), Val::I32(7)]),
        ("div_between", vec![Val::I32(0), Val::I32(7)]),
        ("div_between", vec![Val::I32(end), Val::I32(0)]),
        ("div_between", vec![Val::I32(0), Val::I32(0)]),
        ("compares", vec![Val::I32(0), Val::I32(3), Val::I64(5)]),
        (
            "compares",
            vec![Val::I32(1), Val::I32(-1), Val::I64(i64::MIN)],
        ),
        ("compares", vec![Val::I32(40), Val::I32(0), Val::I64(0)]),
        (
            "compares",
            vec![Val::I32(end - 28), Val::I32(0), Val::I64(0)],
        ),
        (
            "compares",
            vec![Val::I32(end - 27), Val::I32(0), Val::I64(0)],
        ),
        (
            "compares",
            vec![Val::I32(end - 12), Val::I32(0), Val::I64(0)],
        ),
        ("compares", vec![Val::I32(-2), Val::I32(0), Val::I64(0)]),
        (
            "find",
            vec![Val::I32(0), Val::I32(0x100f0e0d), Val::I32(100)],
        ),
        ("find", vec![Val::I32(1), Val::I32(7), Val::I32(100)]),
        ("find", vec![Val::I32(0), Val::I32(7), Val::I32(5)]),
        ("find", vec![Val::I32(end - 40), Val::I32(7), Val::I32(100)]),
        ("sum", vec![Val::I32(0), Val::I32(3)]),
        ("sum", vec![Val::I32(end - 32), Val::I32(5)]),
    ];
    support::calls(tier, bounds, WAT, calls)
}

#[test]
fn folded_loads_agree_with_the_interpreter_traps_and_offsets_included() {
    support::opt_agrees_with_interpreter(run, 10);
}

/// The folds the tests above rely on happen: ALU ops and float arithmetic read memory
/// (`[r13+r11...]` as a source operand), and the load before a store stays a load.
#[test]
fn loads_become_memory_operands() {
    let funcs = support::opt_disassembly(WAT);
    let code = |d: u32| funcs[d as usize].clone();
    let reads_memory = |text: &str, mnemonic: &str| {
        text.lines()
            .filter(|l| l.contains(&format!("{mnemonic} ")) && l.contains(",[r13+r11"))
            .count()
    };
    let int32 = code(0);
    for m in ["add", "sub", "imul", "and", "xor"] {
        assert!(reads_memory(&int32, m) >= 1, "{m}:\n{int32}");
    }
    let floats = code(3);
    for m in [
        "mulsd", "subsd", "divsd", "addss", "mulss", "subss", "divss",
    ] {
        assert!(reads_memory(&floats, m) >= 1, "{m}:\n{floats}");
    }
    // The loop's accumulation reads memory; nothing loads into a register first.
    let sum = code(7);
    assert_eq!(reads_memory(&sum, "add"), 1, "{sum}");
    assert_eq!(reads_memory(&sum, "mov"), 0, "{sum}");
    // Compares: every load of `compares` is read by its `cmp` (none by a `mov`).
    let compares = code(8);
    assert!(
        compares
            .lines()
            .filter(|l| l.contains(" cmp ") && l.contains("[r13+r11"))
            .count()
            == 8,
        "{compares}"
    );
    assert_eq!(reads_memory(&compares, "mov"), 0, "{compares}");
    let find = code(9);
    assert_eq!(reads_memory(&find, "mov"), 0, "{find}");
    // A store between the load and its user: the load stays where it was.
    let store_between = code(4);
    assert_eq!(reads_memory(&store_between, "mov"), 1, "{store_between}");
}
