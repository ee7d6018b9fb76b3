//! Read-modify-write stores (`lower::rmw_folds`, docs/abi.md §8): `store(a, op(load(a), x))`
//! is one x86 instruction (`add [r13 + r11 + d], x`) when the load and the store have the
//! same address, offset and width, the load is used only by the op and the op only by the
//! store, and nothing between them writes memory or traps. The optimizing tier agrees with
//! the interpreter on values, memory contents and traps (partly out-of-bounds accesses
//! included: nothing is written) in both bounds modes; the fused form appears where the
//! conditions hold and nowhere else.

use strata::*;

mod support;

const WAT: &str = include_str!("wat/rmw.wat");

/// Each call's result or trap, followed by the memory words it may have changed.
fn run(tier: Tier, bounds: BoundsChecks) -> (Vec<String>, Module) {
    let (mut store, instance, module) = support::instantiate(tier, bounds, WAT);
    let end = 65536;
    let (i32v, i64v) = (Val::I32, Val::I64);
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("add64", vec![i32v(0), i64v(0x1_0000_0001)]),
        ("add64", vec![i32v(3), i64v(-1)]),
        ("add64", vec![i32v(end - 8), i64v(7)]),
        ("add64", vec![i32v(end - 4), i64v(7)]),
        ("add64", vec![i32v(-1), i64v(7)]),
        ("add32imm", vec![i32v(8)]),
        ("add32imm", vec![i32v(end - 8)]),
        ("add32imm", vec![i32v(end - 6)]),
        ("sub32", vec![i32v(16), i32v(0x7fff_ffff)]),
        ("sub32", vec![i32v(end - 2), i32v(1)]),
        ("xor64", vec![i32v(0), i64v(-0x5555)]),
        ("xor64", vec![i32v(end - 32), i64v(1)]),
        ("xor64", vec![i32v(end - 31), i64v(1)]),
        ("narrow", vec![i32v(8), i32v(0x1ff)]),
        ("narrow", vec![i32v(12), i32v(-1)]),
        ("narrow", vec![i32v(end - 4), i32v(1)]),
        ("narrow", vec![i32v(end - 3), i32v(1)]),
        ("and32", vec![i32v(4), i64v(0x0f0f_0f0f_f0f0_f0f0)]),
        ("and32", vec![i32v(end - 3), i64v(0)]),
        ("shifts", vec![i32v(8)]),
        ("shifts", vec![i32v(end - 16)]),
        ("shifts", vec![i32v(end - 12)]),
        ("indexed", vec![i32v(8), i32v(2), i64v(5)]),
        ("indexed", vec![i32v(0), i32v(end / 8 - 1), i64v(-1)]),
        ("indexed", vec![i32v(4), i32v(end / 8 - 1), i64v(-1)]),
        ("byte64", vec![i32v(9)]),
        ("byte64", vec![i32v(end)]),
        ("store_between", vec![i32v(0), i32v(0), i32v(5)]),
        ("store_between", vec![i32v(8), i32v(10), i32v(0x100)]),
        ("store_between", vec![i32v(end), i32v(0), i32v(5)]),
        ("load_twice", vec![i32v(4), i32v(9)]),
        ("op_twice", vec![i32v(4), i32v(9)]),
        ("op_twice", vec![i32v(end - 3), i32v(9)]),
        ("offsets", vec![i32v(0), i32v(1)]),
        ("offsets", vec![i32v(end - 8), i32v(1)]),
        ("offsets", vec![i32v(end - 6), i32v(1)]),
        ("widths", vec![i32v(0), i32v(0x301)]),
        ("widths", vec![i32v(end - 9), i32v(1)]),
        ("trap_between", vec![i32v(0), i32v(10), i32v(3)]),
        ("trap_between", vec![i32v(0), i32v(10), i32v(0)]),
        ("trap_between", vec![i32v(end), i32v(10), i32v(0)]),
        ("addresses", vec![i32v(0), i32v(24), i64v(3)]),
        ("addresses", vec![i32v(0), i32v(end), i64v(3)]),
        ("no_form", vec![i32v(0), i32v(100)]),
        ("no_form", vec![i32v(end - 4), i32v(100)]),
        ("store32_of_load64", vec![i32v(16), i64v(1 << 40 | 3)]),
        ("store32_of_load64", vec![i32v(end - 6), i64v(1)]),
    ];
    // The words the calls touch: the start of memory and its last 40 bytes.
    let words: Vec<i32> = (0..6)
        .map(|k| k * 8)
        .chain((1..=5).map(|k| end - k * 8))
        .collect();
    let peek = instance.get_func(&store, "peek").unwrap();
    let mut out = Vec::new();
    for (name, args) in calls {
        out.push(support::call(&mut store, &instance, name, &args));
        let mem: Vec<String> = words
            .iter()
            .map(|&a| format!("{:?}", peek.call(&mut store, &[Val::I32(a)]).unwrap()))
            .collect();
        out.push(mem.join(" "));
    }
    (out, module)
}

#[test]
fn read_modify_write_agrees_with_the_interpreter() {
    support::opt_agrees_with_interpreter(run, 16);
}

/// Counts the lines of `text` that write memory through r13 with an ALU op or a shift (an
/// RMW form: `add [r13+..],x`, `add qword ptr [r13+..],imm`) and the plain stores (`mov
/// [r13+..],x`, `mov byte ptr [r13+..],x`).
fn forms(text: &str) -> (usize, usize) {
    // The instruction's first operand, without its size.
    let dest = |l: &str| -> Option<(String, String)> {
        let ins = l.split_whitespace().skip(2).collect::<Vec<_>>().join(" ");
        let (op, rest) = ins.split_once(' ')?;
        let rest = ["byte ptr ", "word ptr ", "dword ptr ", "qword ptr "]
            .iter()
            .fold(rest, |r, p| r.strip_prefix(p).unwrap_or(r));
        Some((op.to_string(), rest.to_string()))
    };
    let writes = |ops: &[&str]| {
        text.lines()
            .filter_map(dest)
            .filter(|(op, d)| ops.contains(&op.as_str()) && d.starts_with("[r13"))
            .count()
    };
    (
        writes(&["add", "sub", "and", "or", "xor", "shl", "sar", "shr"]),
        writes(&["mov"]),
    )
}

#[test]
fn fused_where_the_conditions_hold_and_nowhere_else() {
    let funcs = support::opt_disassembly(WAT);
    // (function, read-modify-write instructions it must have)
    let fused = [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 2),
        (5, 1),
        (6, 2),
        (7, 1),
        (8, 1),
    ];
    for (d, n) in fused {
        let text = &funcs[d];
        assert_eq!(forms(text).0, n, "function {d}:\n{text}");
    }
    for (d, text) in funcs.iter().enumerate().take(18).skip(9) {
        assert_eq!(forms(text).0, 0, "function {d}:\n{text}");
        assert!(forms(text).1 >= 1, "function {d}:\n{text}");
    }
}
