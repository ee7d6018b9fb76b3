//! Divisions whose divisor a dominating `br_if` proves non-zero (`lower::nonzero_divisors`,
//! docs/abi.md §8) skip their own zero test: the optimizing tier agrees with the interpreter
//! on values and traps in both bounds modes, and only the proved divisions lose the test
//! (a wrong edge, another value, a merge with an unguarded edge or a test against 1 keep it).

use strata::*;

mod support;

const WAT: &str = include_str!("wat/nonzero_divisors.wat");

fn run(tier: Tier, bounds: BoundsChecks) -> (Vec<String>, Module) {
    let (a, b) = (Val::I32, Val::I64);
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("guarded_div", vec![b(-7), b(2)]),
        ("guarded_div", vec![b(7), b(0)]),
        ("guarded_div", vec![b(i64::MIN), b(-1)]),
        ("eqz_exit", vec![a(-7), a(3)]),
        ("eqz_exit", vec![a(7), a(0)]),
        ("cond_itself", vec![a(-7), a(2)]),
        ("cond_itself", vec![a(7), a(0)]),
        ("eqz_eqz", vec![b(-7), b(2)]),
        ("eqz_eqz", vec![b(i64::MIN), b(-1)]),
        ("eqz_eqz", vec![b(7), b(0)]),
        ("unguarded", vec![a(9), a(0)]),
        ("unguarded", vec![a(i32::MIN), a(-1)]),
        ("unguarded", vec![a(9), a(-2)]),
        ("wrong_edge", vec![a(9), a(0)]),
        ("wrong_edge", vec![a(9), a(4)]),
        ("other_value", vec![b(9), b(0), b(1)]),
        ("other_value", vec![b(9), b(2), b(1)]),
        ("other_value", vec![b(9), b(0), b(0)]),
        ("merge", vec![a(9), a(0), a(1)]),
        ("merge", vec![a(9), a(4), a(0)]),
        ("merge", vec![a(9), a(0), a(0)]),
        ("not_zero_test", vec![b(9), b(0)]),
        ("not_zero_test", vec![b(9), b(1)]),
        ("not_zero_test", vec![b(9), b(2)]),
        ("by_constants", vec![a(i32::MIN), b(i64::MIN)]),
        ("by_constants", vec![a(-10), b(-10)]),
        ("by_minus_one", vec![a(i32::MIN)]),
        ("by_minus_one", vec![a(5)]),
        ("rem_minus_one", vec![b(i64::MIN)]),
        ("rem_minus_one", vec![b(3)]),
    ];
    support::calls(tier, bounds, WAT, calls)
}

#[test]
fn proved_divisors_agree_with_the_interpreter() {
    support::opt_agrees_with_interpreter(run, 8);
}

/// The divide-by-zero trap stub (`mov eax, code`) exists only where a test jumps to it,
/// and the overflow stub only where the divisor may be -1.
#[test]
fn only_proved_divisions_skip_the_zero_test() {
    let funcs = support::opt_disassembly(WAT);
    let stub = |c: strata_vm::TrapCode| format!("mov eax,{}", c as i32);
    let (div0, ovf) = (
        stub(strata_vm::TrapCode::IntegerDivisionByZero),
        stub(strata_vm::TrapCode::IntegerOverflow),
    );
    let count = |text: &str, s: &str| text.lines().filter(|l| l.ends_with(s)).count();
    for (d, text) in funcs.iter().enumerate() {
        let want = if (4..=8).contains(&d) { 1 } else { 0 };
        assert_eq!(count(text, &div0), want, "function {d}:\n{text}");
    }
    assert_eq!(count(&funcs[9], &ovf), 0, "{}", funcs[9]);
    assert_eq!(count(&funcs[10], &ovf), 1, "{}", funcs[10]);
}
