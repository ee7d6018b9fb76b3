//! Every backtrace frame carries the wasm offset of the instruction it was executing (the
//! trapping instruction innermost, the call in outer frames), on every registered tier and
//! configuration (`strata::conformance`): a new tier joins by being registered. The expected
//! offsets come from decoding the module with wasmparser, not from numbers written here.

use std::sync::{Arc, OnceLock};
use strata::conformance::configurations;
use strata::*;
use wasmparser::{Operator, Parser, Payload};

const WAT: &str = include_str!("wat/backtrace.wat");

/// The functions of the module, in index order (imports first): the offset of each
/// operator of each defined function.
struct Code {
    num_imported: u32,
    ops: Vec<Vec<(usize, String)>>,
}

impl Code {
    fn decode(wasm: &[u8]) -> Code {
        let mut num_imported = 0;
        let mut ops = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::ImportSection(s) => num_imported = s.count(),
                Payload::CodeSectionEntry(body) => {
                    let mut reader = body.get_operators_reader().unwrap();
                    let mut f = Vec::new();
                    while !reader.eof() {
                        let (op, at) = reader.read_with_offset().unwrap();
                        f.push((at as usize, op_name(&op)));
                    }
                    ops.push(f);
                }
                _ => {}
            }
        }
        Code { num_imported, ops }
    }

    /// The offset of the one operator named `name` in function `func_index`.
    fn only(&self, func_index: u32, name: &str) -> u32 {
        let f = &self.ops[(func_index - self.num_imported) as usize];
        let found: Vec<usize> = f
            .iter()
            .filter(|(_, n)| n == name)
            .map(|&(at, _)| at)
            .collect();
        assert_eq!(found.len(), 1, "func {func_index}: {name} {found:?}");
        found[0] as u32
    }

    /// The offset of the first instruction of function `func_index`.
    fn first(&self, func_index: u32) -> u32 {
        self.ops[(func_index - self.num_imported) as usize][0].0 as u32
    }
}

fn op_name(op: &Operator) -> String {
    let debug = format!("{op:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

// Function indices in backtrace.wat.
const INNER: u32 = 1;
const MIDDLE: u32 = 2;
const OUTER: u32 = 3;
const RUN: u32 = 4;
const RECURSE: u32 = 5;
const SPIN: u32 = 6;
const LOOPING: u32 = 7;

fn setup(config: &Config, wasm: &[u8]) -> (Store, Func, Func, Func) {
    let engine = Engine::new(config.clone()).unwrap();
    let module = Module::new(&engine, wasm).unwrap();
    let mut store = Store::new(&engine);
    let slot: Arc<OnceLock<Func>> = Arc::new(OnceLock::new());
    let run = slot.clone();
    let reenter = Func::new(
        &mut store,
        FuncType::new([ValType::I32], [ValType::I32]),
        move |mut caller, args, results| {
            let kind = args[0].i32().unwrap_or(-1);
            if kind < 0 {
                return Err(Trap::host("the host traps"));
            }
            let run = *run.get().unwrap();
            match run.call(&mut caller, &[Val::I32(kind)]) {
                Ok(r) => {
                    results[0] = r[0].clone();
                    Ok(())
                }
                Err(Error::Runtime(rt)) => Err(rt.trap().clone()),
                Err(other) => Err(Trap::host(other.to_string())),
            }
        },
    );
    let mut imports = Imports::new();
    imports.define("host", "reenter", reenter);
    let inst = Instance::new(&mut store, &module, &imports).unwrap();
    let run = inst.get_func(&store, "run").unwrap();
    slot.set(run).unwrap();
    let recurse = inst.get_func(&store, "recurse").unwrap();
    let looping = inst.get_func(&store, "looping").unwrap();
    (store, run, recurse, looping)
}

fn trap(store: &mut Store, f: Func, arg: i32) -> RuntimeError {
    match f.call(&mut *store, &[Val::I32(arg)]) {
        Err(Error::Runtime(rt)) => rt,
        other => panic!("not a trap: {other:?}"),
    }
}

/// (function, offset) of each frame, innermost first.
fn frames(rt: &RuntimeError) -> Vec<(u32, Option<u32>)> {
    rt.frames()
        .iter()
        .map(|f| (f.func_index(), f.wasm_offset()))
        .collect()
}

#[test]
fn every_frame_has_its_instruction_offset_on_every_tier() {
    let wasm = wat::parse_str(WAT).unwrap();
    let code = Code::decode(&wasm);
    let call = |f: u32| (f, Some(code.only(f, "Call")));
    // The frames outside $inner: $middle, $outer and $run at their calls.
    let callers = [call(MIDDLE), call(OUTER), call(RUN)];
    let chain = |inner: (u32, Option<u32>)| {
        let mut v = vec![inner];
        v.extend(callers);
        v
    };
    let cases: [(i32, TrapCode, &str); 5] = [
        (0, TrapCode::Unreachable, "Unreachable"),
        (1, TrapCode::IntegerDivisionByZero, "I32DivU"),
        (2, TrapCode::MemoryOutOfBounds, "I32Load"),
        (3, TrapCode::IndirectCallToNull, "CallIndirect"),
        (4, TrapCode::Host, "Call"),
    ];
    for c in configurations() {
        // Twice: tiered configurations move functions up between the calls.
        for round in 0..2 {
            let (mut store, run, recurse, looping) = setup(&c.config, &wasm);
            let name = format!("{} (round {round})", c.name);
            for (kind, trap_code, op) in cases {
                let rt = trap(&mut store, run, kind);
                assert_eq!(rt.code(), trap_code, "{name}: kind {kind}");
                let want = chain((INNER, Some(code.only(INNER, op))));
                assert_eq!(frames(&rt), want, "{name}: kind {kind}\n{rt}");
            }
            // A host frame in the middle: the inner activation's frames, then the outer's.
            let rt = trap(&mut store, run, 5);
            assert_eq!(rt.code(), TrapCode::Unreachable, "{name}");
            let mut want = chain((INNER, Some(code.only(INNER, "Unreachable"))));
            want.extend(chain((INNER, Some(code.only(INNER, "Call")))));
            assert_eq!(frames(&rt), want, "{name}: host in the middle\n{rt}");
            // A trap after a hot loop (OSR in tiered configurations).
            let rt = trap(&mut store, looping, 5000);
            assert_eq!(rt.code(), TrapCode::IntegerDivisionByZero, "{name}");
            let want = vec![
                (SPIN, Some(code.only(SPIN, "I32DivU"))),
                (LOOPING, Some(code.only(LOOPING, "Call"))),
            ];
            assert_eq!(frames(&rt), want, "{name}: after a loop\n{rt}");
            // Stack overflow: the innermost frame stopped on entry or at its call, every
            // other one at the call.
            let rt = trap(&mut store, recurse, 0);
            assert_eq!(rt.code(), TrapCode::StackOverflow, "{name}");
            let fs = frames(&rt);
            let at_call = Some(code.only(RECURSE, "Call"));
            assert!(fs.len() > 100, "{name}: {} frames", fs.len());
            assert!(
                fs[0] == (RECURSE, Some(code.first(RECURSE))) || fs[0] == (RECURSE, at_call),
                "{name}: {:?} in {:?}",
                fs[0],
                code.ops[(RECURSE - code.num_imported) as usize]
            );
            assert!(
                fs[1..].iter().all(|&f| f == (RECURSE, at_call)),
                "{name}: {:?}",
                fs.iter().find(|&&f| f != (RECURSE, at_call))
            );
        }
    }
}

#[test]
fn display_prints_offsets_as_wasmtime_does_and_folds_recursion() {
    let wasm = wat::parse_str(WAT).unwrap();
    let code = Code::decode(&wasm);
    let config = Config::default().tier(Tier::Interp);
    let (mut store, run, recurse, _) = setup(&config, &wasm);
    let text = trap(&mut store, run, 1).to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "runtime error: integer divide by zero");
    assert_eq!(
        lines[2],
        format!(
            "  0: {:#x} - bt!inner (func 1)",
            code.only(INNER, "I32DivU")
        )
    );
    assert_eq!(
        lines[3],
        format!("  1: {:#x} - bt!middle (func 2)", code.only(MIDDLE, "Call"))
    );
    let text = trap(&mut store, recurse, 0).to_string();
    assert!(text.lines().count() <= 8, "{text}");
    assert!(text.contains("more frames of"), "{text}");
}
