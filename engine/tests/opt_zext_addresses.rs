//! Addresses proved zero-extended in the IR (`lower::zero_extended`, docs/abi.md §8) index
//! memory 0 themselves (`[r13 + reg + offset]`, no `mov r11d, reg`): the optimizing tier
//! agrees with the interpreter on values and trap kinds in both bounds modes, and the
//! unproved addresses (entry parameters, merges with them) keep the explicit extension.
//! Also `i32.and` as a `br_if` or `select` condition, fused into a `test`.

use strata::*;

mod support;

const WAT: &str = include_str!("wat/zext_addresses.wat");

fn run(tier: Tier, bounds: BoundsChecks) -> (Vec<String>, Module) {
    let end = 65536;
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("walk", vec![Val::I32(64), Val::I32(8)]),
        ("walk", vec![Val::I32(1000), Val::I32(24)]),
        ("walk", vec![Val::I32(end), Val::I32(4096)]),
        ("walk", vec![Val::I32(end - 16), Val::I32(8)]),
        ("walk", vec![Val::I32(-1), Val::I32(1 << 20)]),
        ("param", vec![Val::I32(0)]),
        ("param", vec![Val::I32(end - 8)]),
        ("param", vec![Val::I32(end - 7)]),
        ("param", vec![Val::I32(-4)]),
        ("wrap", vec![Val::I64(0x1_0000_0005)]),
        ("wrap", vec![Val::I64(-1)]),
        ("wrap", vec![Val::I64(0x7fff_ffff_0000_0000)]),
        ("merge", vec![Val::I32(0x1_0007), Val::I32(1)]),
        ("merge", vec![Val::I32(6), Val::I32(0)]),
        ("merge", vec![Val::I32(end - 3), Val::I32(0)]),
        ("merge", vec![Val::I32(-1), Val::I32(1)]),
        ("scaled", vec![Val::I32(2)]),
        ("scaled", vec![Val::I32(end / 4 - 1)]),
        ("scaled", vec![Val::I32(end / 4)]),
        ("scaled", vec![Val::I32(-1)]),
        ("scaled", vec![Val::I32(0x4000_0001)]),
        ("bits", vec![Val::I32(4), Val::I32(0)]),
        ("bits", vec![Val::I32(3), Val::I32(2)]),
        ("bits", vec![Val::I32(3), Val::I32(4)]),
        ("bits", vec![Val::I32(-5), Val::I32(i32::MIN)]),
    ];
    support::calls(tier, bounds, WAT, calls)
}

#[test]
fn zero_extended_addresses_agree_with_the_interpreter() {
    support::opt_agrees_with_interpreter(run, 6);
}

/// Proved addresses index memory themselves; unproved ones are extended into r11 first.
#[test]
fn only_proved_addresses_skip_the_extension() {
    let funcs = support::opt_disassembly(WAT);
    let code = |d: u32| funcs[d as usize].clone();
    let extends = |text: &str| text.lines().filter(|l| l.contains("mov r11d,")).count();
    let walk = code(0);
    assert_eq!(extends(&walk), 0, "{walk}");
    assert!(walk.contains("[r13+r"), "{walk}");
    let param = code(1);
    assert_eq!(extends(&param), 1, "{param}");
    let wrap = code(2);
    assert_eq!(extends(&wrap), 0, "{wrap}");
    let merge = code(3);
    assert_eq!(extends(&merge), 1, "{merge}");
    // `i32.and` conditions are `test`s.
    let bits = code(5);
    assert!(!bits.contains(" and "), "{bits}");
    assert_eq!(bits.matches(" test ").count(), 2, "{bits}");
}
