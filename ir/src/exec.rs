//! A reference executor for IR functions, against a small model of their environment: what
//! tests use to check that a pass keeps a function's meaning (run before and after, compare).
//!
//! Pure operators go through [`eval_pure`], as in the constant folder. Memory 0 is a byte
//! vector with wasm's bounds (every access is checked here; an access whose `checked` flag a
//! pass cleared and that is out of bounds ends as [`Outcome::UncheckedOutOfBounds`], a bug of
//! that pass). Globals are a vector of cells. Calls of any kind are modelled: each appends
//! (callee, arguments) to a log and returns values computed from the log's length and the
//! arguments, so two versions of a function agree only if they make the same calls with the
//! same arguments in the same order. Tables, segments and bulk operations other than
//! `memory.fill`/`memory.copy` are not modelled ([`Outcome::Unsupported`]).

use crate::eval::eval_pure;
use crate::function::{Function, Imm};
use crate::opcode::{Class, Opcode};
use crate::types::Type;
use crate::{Block, Value};
use strata_vm::TrapCode;

const PAGE: usize = 65536;

/// The environment a function runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub memory: Vec<u8>,
    /// Memory 0's maximum in pages (`memory.grow` fails beyond it).
    pub max_pages: u32,
    pub globals: Vec<u64>,
    /// (callee or type index, arguments) of every call, in order.
    pub calls: Vec<(u32, Vec<u64>)>,
    /// Steps left: every executed instruction takes one.
    pub fuel: u64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Returned(Vec<u64>),
    Trapped(TrapCode),
    OutOfFuel,
    Unsupported(String),
    /// An access with `checked: false` was out of bounds.
    UncheckedOutOfBounds,
}

fn mask(ty: Type) -> u64 {
    match ty {
        Type::I32 | Type::F32 => u64::from(u32::MAX),
        _ => u64::MAX,
    }
}

/// A deterministic value for a modelled call's result.
fn call_result(n: usize, args: &[u64], k: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (n as u64).wrapping_mul(0x100_0000_01b3);
    for &a in args {
        h = (h ^ a).wrapping_mul(0x100_0000_01b3);
    }
    h = (h ^ k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // Small results half the time, so that calls feeding addresses stay in bounds sometimes.
    if h & 1 == 0 {
        (h >> 8) & 0xfff
    } else {
        h
    }
}

/// The log key of a call: the callee, or the type of an indirect or reference call.
fn call_key(op: Opcode, imm: &Imm) -> u32 {
    match (op, imm) {
        (Opcode::CallRef | Opcode::ReturnCallRef, Imm::Index(t)) => t | 0x4000_0000,
        (_, Imm::Index(i)) => *i,
        (_, Imm::Index2(t, _)) => t | 0x8000_0000,
        _ => 0,
    }
}

fn trunc(op: Opcode, a: u64) -> Result<u64, TrapCode> {
    use Opcode::*;
    let x = match op {
        I32TruncF32S | I32TruncF32U | I64TruncF32S | I64TruncF32U => {
            f64::from(f32::from_bits(a as u32))
        }
        _ => f64::from_bits(a),
    };
    if x.is_nan() {
        return Err(TrapCode::BadConversionToInteger);
    }
    let t = x.trunc();
    let (lo, hi) = match op {
        I32TruncF32S | I32TruncF64S => (-2147483648.0, 2147483648.0),
        I32TruncF32U | I32TruncF64U => (0.0, 4294967296.0),
        I64TruncF32S | I64TruncF64S => (-9223372036854775808.0, 9223372036854775808.0),
        _ => (0.0, 18446744073709551616.0),
    };
    if !(t >= lo && t < hi) {
        return Err(TrapCode::IntegerOverflow);
    }
    Ok(match op {
        I32TruncF32S | I32TruncF64S => u64::from(t as i32 as u32),
        I32TruncF32U | I32TruncF64U => u64::from(t as u32),
        I64TruncF32S | I64TruncF64S => t as i64 as u64,
        _ => t as u64,
    })
}

fn divrem(op: Opcode, a: u64, b: u64) -> Result<u64, TrapCode> {
    use Opcode::*;
    let (a32, b32) = (a as u32, b as u32);
    let zero = match op {
        I32DivS | I32DivU | I32RemS | I32RemU => b32 == 0,
        _ => b == 0,
    };
    if zero {
        return Err(TrapCode::IntegerDivisionByZero);
    }
    Ok(match op {
        I32DivS => {
            if a32 as i32 == i32::MIN && b32 as i32 == -1 {
                return Err(TrapCode::IntegerOverflow);
            }
            u64::from(((a32 as i32) / (b32 as i32)) as u32)
        }
        I32DivU => u64::from(a32 / b32),
        I32RemS => u64::from((a32 as i32).wrapping_rem(b32 as i32) as u32),
        I32RemU => u64::from(a32 % b32),
        I64DivS => {
            if a as i64 == i64::MIN && b as i64 == -1 {
                return Err(TrapCode::IntegerOverflow);
            }
            ((a as i64) / (b as i64)) as u64
        }
        I64DivU => a / b,
        I64RemS => (a as i64).wrapping_rem(b as i64) as u64,
        _ => a % b,
    })
}

/// Loads `width` bytes at `at` as a little-endian number, sign-extended to `ty` if asked.
fn load(mem: &[u8], at: usize, op: Opcode) -> u64 {
    use Opcode::*;
    let width = op.access_bytes().unwrap_or(4) as usize;
    let mut v = 0u64;
    for i in 0..width {
        v |= u64::from(mem[at + i]) << (8 * i);
    }
    match op {
        I32Load8S => u64::from(v as u8 as i8 as i32 as u32),
        I32Load16S => u64::from(v as u16 as i16 as i32 as u32),
        I64Load8S => v as u8 as i8 as i64 as u64,
        I64Load16S => v as u16 as i16 as i64 as u64,
        I64Load32S => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

/// Runs `func` from its normal entry with `args` (evaluator encoding).
pub fn run(func: &Function, args: &[u64], env: &mut Env) -> Outcome {
    let Some(mut block) = func.entry() else {
        return Outcome::Unsupported("no entry".into());
    };
    let mut vals = vec![0u64; func.values.len()];
    let params = func.block_params(block);
    if params.len() != args.len() {
        return Outcome::Unsupported("wrong argument count".into());
    }
    for (&p, &a) in params.iter().zip(args) {
        vals[p.0 as usize] = a & mask(func.value_type(p));
    }
    let get = |vals: &[u64], v: Value| vals[func.resolve(v).0 as usize];
    // An address or size operand: the low 32 bits of an i32, all of an i64 (memory64).
    let index = |x: u64, v: Value| x & mask(func.value_type(func.resolve(v)));
    loop {
        let mut next: Option<(Block, Vec<u64>)> = None;
        for &inst in func.block_insts(block) {
            if env.fuel == 0 {
                return Outcome::OutOfFuel;
            }
            env.fuel -= 1;
            let d = *func.inst(inst);
            let a: Vec<u64> = func.args(inst).iter().map(|&v| get(&vals, v)).collect();
            let result = func.result(inst);
            let set = |vals: &mut Vec<u64>, x: u64| {
                if let Some(r) = result {
                    vals[r.0 as usize] = x & mask(func.value_type(r));
                }
            };
            use Opcode::*;
            match d.opcode {
                op if op.class() == Class::Pure => match eval_pure(op, &d.imm, &a) {
                    Some(x) => set(&mut vals, x),
                    None => return Outcome::Unsupported(format!("{op}")),
                },
                I32DivS | I32DivU | I32RemS | I32RemU | I64DivS | I64DivU | I64RemS | I64RemU => {
                    match divrem(d.opcode, a[0], a[1]) {
                        Ok(x) => set(&mut vals, x),
                        Err(t) => return Outcome::Trapped(t),
                    }
                }
                I32TruncF32S | I32TruncF32U | I32TruncF64S | I32TruncF64U | I64TruncF32S
                | I64TruncF32U | I64TruncF64S | I64TruncF64U => match trunc(d.opcode, a[0]) {
                    Ok(x) => set(&mut vals, x),
                    Err(t) => return Outcome::Trapped(t),
                },
                op if op.access_bytes().is_some() => {
                    let Imm::Mem(m) = d.imm else {
                        return Outcome::Unsupported("memory access without memarg".into());
                    };
                    if m.memory != 0 {
                        return Outcome::Unsupported("multi-memory".into());
                    }
                    let width = op.access_bytes().unwrap_or(4) as u64;
                    // An i64 address (a 64-bit memory) is used whole; past 2^64 is out of
                    // bounds, never a wrap.
                    let end = index(a[0], func.args(inst)[0])
                        .checked_add(m.offset)
                        .and_then(|at| at.checked_add(width));
                    let Some(end) = end.filter(|&e| e <= env.memory.len() as u64) else {
                        return if m.checked {
                            Outcome::Trapped(TrapCode::MemoryOutOfBounds)
                        } else {
                            Outcome::UncheckedOutOfBounds
                        };
                    };
                    let at = (end - width) as usize;
                    if op.class() == Class::Read {
                        set(&mut vals, load(&env.memory, at, op));
                    } else {
                        for i in 0..width as usize {
                            env.memory[at + i] = (a[1] >> (8 * i)) as u8;
                        }
                    }
                }
                // The reference executor has no fuel or epoch: an interruption point never
                // stops it.
                Interrupt => {}
                MemorySize => set(&mut vals, (env.memory.len() / PAGE) as u64),
                MemoryGrow => {
                    let old = (env.memory.len() / PAGE) as u64;
                    let delta = index(a[0], func.args(inst)[0]);
                    if delta > u64::from(env.max_pages) || old + delta > u64::from(env.max_pages) {
                        // -1 in the index type (`set` masks it to the result's type).
                        set(&mut vals, u64::MAX);
                    } else {
                        env.memory.resize(((old + delta) as usize) * PAGE, 0);
                        set(&mut vals, old);
                    }
                }
                MemoryFill => {
                    let args = func.args(inst);
                    let (d0, v, n) = (index(a[0], args[0]), a[1] as u8, index(a[2], args[2]));
                    if d0
                        .checked_add(n)
                        .is_none_or(|e| e > env.memory.len() as u64)
                    {
                        return Outcome::Trapped(TrapCode::MemoryOutOfBounds);
                    }
                    env.memory[d0 as usize..(d0 + n) as usize].fill(v);
                }
                MemoryCopy => {
                    let args = func.args(inst);
                    let (d0, s0, n) = (
                        index(a[0], args[0]),
                        index(a[1], args[1]),
                        index(a[2], args[2]),
                    );
                    let len = env.memory.len() as u64;
                    let past = |x: u64| x.checked_add(n).is_none_or(|e| e > len);
                    if past(d0) || past(s0) {
                        return Outcome::Trapped(TrapCode::MemoryOutOfBounds);
                    }
                    env.memory
                        .copy_within(s0 as usize..(s0 + n) as usize, d0 as usize);
                }
                GlobalGet | GlobalSet => {
                    let Imm::Index(g) = d.imm else {
                        return Outcome::Unsupported("global without index".into());
                    };
                    let Some(cell) = env.globals.get_mut(g as usize) else {
                        return Outcome::Unsupported("global out of range".into());
                    };
                    if d.opcode == GlobalGet {
                        let x = *cell;
                        set(&mut vals, x);
                    } else {
                        *cell = a[0];
                    }
                }
                Call | CallImport | CallIndirect | CallRef => {
                    if d.opcode == CallRef && a.last() == Some(&0) {
                        return Outcome::Trapped(TrapCode::NullFunctionReference);
                    }
                    let n = env.calls.len();
                    env.calls.push((call_key(d.opcode, &d.imm), a.clone()));
                    for (k, r) in func.results(inst).enumerate() {
                        vals[r.0 as usize] = call_result(n, &a, k) & mask(func.value_type(r));
                    }
                }
                // A tail call: the call is logged like any other, and its results are the
                // function's.
                ReturnCall | ReturnCallIndirect | ReturnCallRef => {
                    if d.opcode == ReturnCallRef && a.last() == Some(&0) {
                        return Outcome::Trapped(TrapCode::NullFunctionReference);
                    }
                    let n = env.calls.len();
                    env.calls.push((call_key(d.opcode, &d.imm), a.clone()));
                    let results = func
                        .results
                        .iter()
                        .enumerate()
                        .map(|(k, &t)| call_result(n, &a, k) & mask(t))
                        .collect();
                    return Outcome::Returned(results);
                }
                Trapz | Trapnz => {
                    let Imm::Trap(code) = d.imm else {
                        return Outcome::Unsupported("trap without code".into());
                    };
                    let zero = a[0] as u32 == 0;
                    if zero == (d.opcode == Trapz) {
                        return Outcome::Trapped(code);
                    }
                }
                Trap => {
                    let Imm::Trap(code) = d.imm else {
                        return Outcome::Unsupported("trap without code".into());
                    };
                    return Outcome::Trapped(code);
                }
                Return => return Outcome::Returned(a),
                Jump | BrIf | BrTable => {
                    let targets = func.targets(inst);
                    let pick = match d.opcode {
                        Jump => 0,
                        BrIf => usize::from(a[0] as u32 == 0),
                        _ => (a[0] as u32 as usize).min(targets.len() - 1),
                    };
                    let call = targets[pick];
                    let args: Vec<u64> = func
                        .call_args(call)
                        .iter()
                        .map(|&v| get(&vals, v))
                        .collect();
                    next = Some((call.block, args));
                    break;
                }
                op => return Outcome::Unsupported(format!("{op}")),
            }
        }
        match next {
            Some((b, args)) => {
                for (&p, &x) in func.block_params(b).iter().zip(&args) {
                    vals[p.0 as usize] = x;
                }
                block = b;
            }
            None => return Outcome::Unsupported("a block without terminator".into()),
        }
    }
}
