//! Interpreter handlers written in x86-64 assembly and generated at start-up.
//!
//! The executor's fast path (the `match` loop in `exec.rs` remains the full semantics). Like
//! JSC's LLInt, V8's Ignition and Wizard's fast interpreter, the machine code is ours rather
//! than the Rust compiler's:
//!
//! - the interpreter state stays pinned in callee-saved registers for the whole run;
//! - dispatch is direct threading: word 0 of each instruction in the handlers' copy of the
//!   code (`CompiledFunc::asm_code`, made by `prepare`) is its handler's address (the code
//!   is mapped below 4 GiB), and every handler ends in its own indirect jump; conditional
//!   branches have one per successor;
//! - an instruction that uses the result of the one before it runs a variant of its handler
//!   that takes the operand from an accumulator (`rax`, `xmm0`) instead of its slot;
//! - superinstructions: two consecutive instructions of a frequent pair run as one handler
//!   (`Gen::sequence` builds it from their own handlers without the dispatch between them;
//!   an add that computes a load's address is fused with the load, `Shape::AddressOfLoad`);
//! - calls to interpreted functions of the same instance (`Call`, and `CallIndirect`
//!   through an indirect-call cache) and their returns stay here, on the executor's own
//!   frame stack (`Frame` has a fixed layout for that);
//! - handlers are placed on a chosen alignment, not where the linker puts them: with the
//!   Rust handlers of `threaded.rs`, wall times moved by up to 40% between builds (PERF.md).
//!
//! Registers: `r12` = ip (the current instruction), `r13` = frame base (slots), `r14` =
//! memory 0's base, `r15` = its byte length less 15 (saturating: one compare checks any
//! access of up to 16 bytes, `handlers::address_in_eax`), `rbx` = unused with absolute threading (else the
//! start of the generated code, or the handler table), `rbp` = the running function's
//! first instruction (branch targets are byte offsets from it), `[rsp]` = its `Counters`,
//! `[rsp + 8]` = the `CallCtx`. Scratch: rax (the integer accumulator), rcx, rdx, rsi, rdi,
//! r8-r11 (r11: the next instruction's word 0), xmm0 (the float accumulator), xmm1.
//!
//! Anything unusual leaves for the executor: the handler jumps to `exit` with `r12` still
//! at its instruction and nothing changed, and the `match` runs it with the full semantics
//! (traps, back-edge and call check points, calls it cannot make here, host calls). In a
//! superinstruction, an exit in its second part leaves with `r12` at the second
//! instruction and the first one done.
//! Instructions without a handler here go there directly. So traps and tiering keep one
//! implementation.
//!
//! Modes, for measuring what each part brings, are `strata_vm::InterpMode` settings of the
//! engine's configuration (which fast path, threading, accumulator variants,
//! superinstructions): the handlers are generated once per threading, and `prepare` follows
//! the mode of the module's interpreter state. Process-wide knobs of the environment:
//! `STRATA_INTERP_ALIGN=N` (handler alignment, default 64) and `STRATA_ASM_DUMP=FILE`
//! (writes the generated code, and prints each handler's offset); the `InterpMode` defaults
//! can be overridden from the environment too (`InterpMode::from_env`).
//!
//! `handlers.rs` generates the instructions' handlers, `calls.rs` calls and returns; all of
//! it is safe Rust that appends bytes. The `unsafe` is here: the call into the finished code
//! (`run`) and the conversions of the frames it pushes.

mod calls;
mod dynpairs;
mod handlers;
mod simd;

use super::code::{CompiledFunc, Counters, Op};
use super::raw::{CodeRef, MemView, Slots};
use crate::jit::code_memory::CodeMemory;
use dynasmrt::{dynasm, x64::X64Relocation, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};
use dynpairs::DynPairs;
use handlers::{
    dispatch_next, emit_handlers, set_threading, AccUse, Gen, Pair, Shape, Threading, ACCESS_SLACK,
};
use std::mem::offset_of;
use std::sync::atomic::AtomicPtr;
use std::sync::{Mutex, OnceLock};
use strata_vm::{GlobalAddr, GlobalData, InstanceId, InterpDispatch, InterpMode, InterpThreading};

type Asm = VecAssembler<X64Relocation>;

/// The generated interpreter: its code, and the table of handler addresses by tag (the code
/// holds the table's address, so the box must not move or go away: it lives in a static).
pub struct AsmInterp {
    _code: CodeMemory,
    _table: Box<[usize]>,
    entry: usize,
    /// How handlers dispatch, hence what word 0 of the handlers' code holds.
    threading: Threading,
    /// What word 0 adds to a handler's offset: the code's address with absolute threading
    /// (below 4 GiB), else 0.
    base: u32,
    /// Per handler tag, the handler's offset in the code (for direct threading).
    offsets: Box<[u32]>,
    /// Per handler tag, what it leaves in the accumulators (`IN_RAX`, `IN_XMM0`).
    leaves: Box<[u8]>,
    /// Per instruction kind or superinstruction, its accumulator variants.
    acc: Box<[[AccUse; 2]]>,
    /// Per handler tag of a memory access (kind or variant), its twin for offset 0 (word
    /// 3; 0: none).
    offset_zero: Box<[u16]>,
    /// The superinstructions, sorted by their kinds; `pair_row` gives a first kind's row
    /// of `pair_table` (1-based, 0: none), whose entry for the second kind is the first
    /// of their superinstructions in `pairs` (1-based, 0: none).
    pairs: Box<[Pair]>,
    pair_row: Box<[u16]>,
    pair_table: Box<[u16]>,
    /// Per `SimdCode`, the tag of its handler (0: none, the executor runs it).
    simd_tags: Box<[u16]>,
    /// Instruction kinds with a handler of their own.
    #[cfg_attr(not(test), allow(dead_code))]
    handled: usize,
    /// Superinstructions generated for the pairs that translated functions make frequent
    /// (`dynpairs`; absolute threading only).
    dynamic: Option<Mutex<DynPairs>>,
    /// Which superinstructions `prepare` uses (`STRATA_INTERP_PAIRS`).
    pairs_from: PairsFrom,
}

/// Where sequence superinstructions come from: the fixed list made at start-up, the ones
/// chosen per function from its own code (`dynpairs`), or both. Set by
/// `STRATA_INTERP_PAIRS=fixed|function|both` (default both), for measuring; the address fusion
/// (`Shape::AddressOfLoad*`) is always on with superinstructions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PairsFrom {
    Fixed,
    Function,
    Both,
}

impl PairsFrom {
    fn from_env() -> PairsFrom {
        match std::env::var("STRATA_INTERP_PAIRS").as_deref() {
            Ok("fixed") => PairsFrom::Fixed,
            Ok("function") => PairsFrom::Function,
            _ => PairsFrom::Both,
        }
    }
}

/// A superinstruction `prepare` found for two instructions: one of `build`'s, or a generated
/// one.
enum Found<'a> {
    Fixed(&'a Pair),
    Made(&'a dynpairs::Made),
}

/// `entry(ip, slots, mem, ctx) -> ip of the instruction left to the executor`.
type Entry = unsafe extern "C" fn(*const Op, Slots, MemView, *mut CallCtx) -> *const Op;

/// An instruction as the generated handlers read it: an `Op`'s words, with word 0 naming
/// the handler (an instruction kind's or its accumulator variant's: its offset in the code
/// with direct threading, else its tag) and branch targets as byte offsets.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct AsmOp([u32; 4]);

const _: () = assert!(std::mem::size_of::<AsmOp>() == std::mem::size_of::<Op>());

/// The handlers' code for translated `ops` (empty when they are not in use): the same
/// instructions at the same pcs, and where an instruction uses the result of the one just
/// before it (not a branch target, so always reached from there) and that one leaves it in
/// an accumulator, the instruction's variant that takes it from there. Results still go
/// to their slots as well: everything else (the executor, OSR, traps) sees the same frame.
pub fn prepare(ops: &[Op], mode: InterpMode) -> Box<[AsmOp]> {
    let FastPath::Asm(interp) = fast_path(mode) else {
        return Box::default();
    };
    let mut code: Vec<AsmOp> = ops
        .iter()
        .map(|op| {
            let mut w = words(op);
            // A SIMD instruction runs its code's handler, if it has one. Accesses to a
            // memory other than a 32-bit memory 0 stay with the executor (the handlers
            // address memory 0's view only).
            if let Op::Simd { code, .. } = op {
                match interp.simd_tags.get(*code as u16 as usize) {
                    Some(&tag) if tag != 0 && code & crate::interp::simd::OTHER_MEMORY == 0 => {
                        w.0[0] = u32::from(tag)
                    }
                    _ => {}
                }
            }
            w
        })
        .collect();
    let mut target = vec![false; ops.len()];
    // Loop nesting, as changes (see `choose_pairs`): every backward branch spans a loop.
    let mut depth = vec![0i32; ops.len() + 1];
    let mut loops = false;
    for (i, op) in ops.iter().enumerate() {
        let mut op = *op;
        if let Some(&mut t) = op.branch_target_mut() {
            if let Some(b) = target.get_mut(t as usize) {
                *b = true;
            }
            if (t as usize) <= i {
                depth[t as usize] += 1;
                depth[i + 1] -= 1;
                loops = true;
            }
            // The handlers take a branch target as a byte offset from the code's start
            // (bodies are at most a few MB, so it fits).
            let word = match op {
                Op::Br { .. } => 1,
                Op::BrIfNez { .. } | Op::BrIfEqz { .. } => 2,
                _ => 3,
            };
            code[i].0[word] = t.wrapping_mul(OP as u32);
        }
    }
    // One pass, left to right, choosing each instruction's handler:
    // - superinstructions: an instruction and the next one when they form a pair. The
    //   second keeps its own plain handler in its word: the handlers go on there after an
    //   exit in the first one (once the executor has run it), with nothing in the
    //   accumulators. It must not be a branch target;
    // - accumulator variants: an instruction reached from the one before it (not a branch
    //   target) that leaves its operand in an accumulator takes it from there.
    let fuse = mode.superinstructions;
    let acc = mode.accumulators;
    let dynamic = match &interp.dynamic {
        Some(d) if fuse && interp.pairs_from != PairsFrom::Fixed => {
            let mut d = d.lock().unwrap_or_else(|e| e.into_inner());
            if loops {
                choose_pairs(interp, &mut d, &code, &target, &depth);
            }
            Some(d)
        }
        _ => None,
    };
    let fixed_sequences = interp.pairs_from != PairsFrom::Function;
    // The instruction before `i` as it was translated (kind in word 0).
    let mut prev = [0u32; 4];
    let mut i = 0;
    while i < code.len() {
        let w = code[i].0;
        let v = if acc && i > 0 && !target[i] {
            interp.variant(&prev, &w)
        } else {
            0
        };
        let pair = match code.get(i + 1) {
            Some(next) if fuse && !target[i + 1] => interp
                .pair(&w, &next.0)
                .filter(|p| fixed_sequences || p.shape != Shape::Sequence)
                .map(Found::Fixed)
                .or_else(|| {
                    dynamic
                        .as_ref()
                        .and_then(|d| d.get(w[0], next.0[0]))
                        .map(Found::Made)
                }),
            _ => None,
        };
        if let Some(p) = pair {
            let next = code[i + 1].0;
            let v2 = if acc { interp.variant(&w, &next) } else { 0 };
            code[i].0[0] = match p {
                Found::Fixed(p) => interp.word0(p.tag_for(v, v2) as usize),
                Found::Made(m) => m.addr_for(v, v2),
            };
            code[i + 1].0[0] = interp.word0(next[0] as usize);
            prev = next;
            i += 2;
        } else {
            let tag = match v {
                0 => w[0] as usize,
                v => interp.acc[w[0] as usize][v - 1].tag as usize,
            };
            // Memory accesses (offset in word 3) at offset 0 have handlers without it.
            let tag = match interp.offset_zero[tag] {
                twin if twin != 0 && w[3] == 0 => twin as usize,
                _ => tag,
            };
            code[i].0[0] = interp.word0(tag);
            prev = w;
            i += 1;
        }
    }
    code.into()
}

/// Counts the adjacent pairs of `code` that could run as a generated superinstruction
/// (inside loops, weighted by nesting; not into a branch target, not already a fixed one in
/// use) and has the heaviest generated.
/// `depth` holds the changes of loop nesting: +1 where a loop's body starts, -1 past its
/// backward branch.
fn choose_pairs(
    interp: &AsmInterp,
    d: &mut DynPairs,
    code: &[AsmOp],
    target: &[bool],
    depth: &[i32],
) {
    let fixed_sequences = interp.pairs_from != PairsFrom::Function;
    // (first << 16 | second, weight) per occurrence, then summed per pair after a sort:
    // cheaper than hashing at translation time.
    let mut seen: Vec<(u32, u64)> = Vec::new();
    let mut nest = 0;
    for i in 0..code.len().saturating_sub(1) {
        nest += depth[i];
        let (a, b) = (code[i].0[0], code[i + 1].0[0]);
        // Pairs already generated count too: a function's choice is its heaviest pairs,
        // whatever other functions chose, so translating it again generates nothing new.
        if nest <= 0 || target[i + 1] || !d.candidate(a, b) {
            continue;
        }
        if let Some(p) = interp.pair(&code[i].0, &code[i + 1].0) {
            if fixed_sequences || p.shape != Shape::Sequence {
                continue;
            }
        }
        seen.push((a << 16 | b, 1u64 << (3 * (nest.min(5) - 1))));
    }
    if seen.is_empty() {
        return;
    }
    seen.sort_unstable_by_key(|&(k, _)| k);
    let mut wanted: Vec<(u32, u64)> = Vec::new();
    for (k, w) in seen {
        match wanted.last_mut() {
            Some(last) if last.0 == k => last.1 += w,
            _ => wanted.push((k, w)),
        }
    }
    wanted.sort_unstable_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let wanted: Vec<(u16, u16)> = wanted
        .iter()
        .take(dynpairs::PER_FUNCTION)
        .map(|&(k, _)| ((k >> 16) as u16, k as u16))
        .collect();
    d.generate(&wanted);
}

impl AsmInterp {
    /// Which accumulator variant (0: plain) the instruction with words `w` runs when it
    /// follows the one with words `prev` (word 0 their kinds). Every handler that leaves a
    /// result has its destination in word 1; variants leave what their kind does.
    #[inline(always)]
    fn variant(&self, prev: &[u32; 4], w: &[u32; 4]) -> usize {
        let leaves = self.leaves[prev[0] as usize];
        if leaves == 0 {
            return 0;
        }
        self.acc[w[0] as usize]
            .iter()
            .position(|u| u.tag != 0 && leaves & u.reads != 0 && w[u.word as usize] == prev[1])
            .map_or(0, |k| k + 1)
    }

    /// Word 0 of an instruction whose handler has tag `tag`, for this threading.
    #[inline(always)]
    fn word0(&self, tag: usize) -> u32 {
        match self.threading {
            Threading::Absolute | Threading::Relative => self.offsets[tag] + self.base,
            Threading::Table => tag as u32,
        }
    }

    /// The superinstruction for these two instructions' words (word 0 their kinds), if any.
    #[inline(always)]
    fn pair(&self, first: &[u32; 4], second: &[u32; 4]) -> Option<&Pair> {
        let row = *self.pair_row.get(first[0] as usize)? as usize;
        if row == 0 || second[0] as usize >= Op::COUNT {
            return None;
        }
        let at = self.pair_table[(row - 1) * Op::COUNT + second[0] as usize] as usize;
        if at == 0 {
            return None;
        }
        self.pairs[at - 1..]
            .iter()
            .take_while(|p| p.first as u32 == first[0] && p.second as u32 == second[0])
            .find(|p| p.shape.fits(first, second))
    }
}

/// An instruction's words as the handlers read them (fields they do not read are 0).
#[inline(always)]
fn words(op: &Op) -> AsmOp {
    let tag = tag_of(op) as u32;
    if let Some([x, y, z]) = op.family_fields() {
        return AsmOp([tag, x, y, z]);
    }
    AsmOp(match *op {
        Op::Ext { a, b, c } => [tag, a, b, c],
        Op::Br { target } => [tag, target, 0, 0],
        Op::BrIfNez { cond, target } | Op::BrIfEqz { cond, target } => [tag, cond, target, 0],
        Op::BrTable { index, len } => [tag, index, len, 0],
        Op::Return1 { src } => [tag, src, 0, 0],
        Op::Return { src, n } => [tag, src, n, 0],
        Op::Copy { dst, src } => [tag, dst, src, 0],
        Op::Const32 { dst, val } => [tag, dst, val, 0],
        Op::Const64 { dst, val } => [tag, dst, val as u32, (val >> 32) as u32],
        Op::Call { func, base } => [tag, func, base, 0],
        Op::GlobalGet { dst, index } => [tag, dst, index, 0],
        Op::GlobalSet { src, index } => [tag, src, index, 0],
        Op::CallIndirect {
            type_index,
            index,
            base,
        } => [tag, type_index, index, base],
        Op::Select { dst, a, b } => [tag, dst, a, b],
        Op::Simd { code, dst, a } => [tag, code, dst, a],
        // Left to the executor: the handlers read no field.
        _ => [tag, 0, 0, 0],
    })
}

/// An entry of the indirect-call cache: table 0's element `cell` called with type
/// `type_index` passes the checks of `call_indirect` and is function `func_index` of the
/// running instance. Each fact is permanent (an element's function never changes, nor its
/// type); whether the callee may run in the handlers is checked at each call.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct IndirectEntry {
    /// 0: empty (no element is null and cached).
    pub cell: u64,
    pub type_index: u32,
    pub func_index: u32,
}

const _: () = assert!(std::mem::size_of::<IndirectEntry>() == 1 << IE_SHIFT);

impl IndirectEntry {
    pub const EMPTY: IndirectEntry = IndirectEntry {
        cell: 0,
        type_index: 0,
        func_index: 0,
    };
}

/// Entries of the indirect-call cache (a power of two), and how it is indexed.
pub const ICACHE_ENTRIES: usize = 64;
const ICACHE_TYPE_SHIFT: i8 = 4;

/// The cache entry for table 0's element `cell` called with type `type_index`.
pub fn icache_slot(cell: u64, type_index: u32) -> usize {
    ((cell as u32) ^ (type_index << ICACHE_TYPE_SHIFT)) as usize & (ICACHE_ENTRIES - 1)
}

/// What the handlers may do with calls in one run.
pub struct CallLimits<'a> {
    /// The call-target table of the running instance's module (`InterpModule`).
    pub targets: &'a [AtomicPtr<CompiledFunc>],
    pub num_imported: u32,
    pub instance: InstanceId,
    /// The store's globals and the running instance's global addresses.
    pub globals: &'a mut [Box<GlobalData>],
    pub global_map: &'a [GlobalAddr],
    /// Table 0's elements (empty without a table) and the indirect-call cache.
    pub table: &'a [u64],
    pub icache: &'a [IndirectEntry; ICACHE_ENTRIES],
    /// Fuel and the epoch (`Op::Fuel`, `Op::Epoch`).
    pub runtime: &'a mut strata_vm::vmctx::VMRuntime,
    /// The running function's index, and the call depth and its limit.
    pub func_index: u32,
    pub depth: u64,
    pub max_depth: u64,
    /// What the handlers find in the accumulators (`rax`, and `xmm0`'s low bits) at the
    /// first instruction: the result of the load the executor just made, when that is the
    /// instruction before (see `CallCtx::acc`); anything otherwise.
    pub acc: u64,
}

/// Where the executor goes on after a run of the handlers (calls and returns there may
/// have changed the function and frame).
pub struct Resume {
    pub code: CodeRef,
    pub pc: usize,
    /// The frame's first cell in the value stack.
    pub fp: usize,
    pub func_index: u32,
    pub depth: u64,
}

/// An interpreter frame waiting for its callee: where the caller goes on. The executor's
/// frame stack holds these, and the handlers push and pop them in place on calls and
/// returns within one instance, hence the fixed layout.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Frame {
    func: *const CompiledFunc,
    /// The instruction to go on at.
    ip: *const Op,
    fp: *mut u64,
    pub func_index: u32,
    pub instance: InstanceId,
}

const _: () = assert!(std::mem::size_of::<Frame>() == 1 << AF_SHIFT);

impl Frame {
    /// The caller `code` going on at `pc` with its frame at `fp`.
    pub fn new(
        code: CodeRef,
        pc: usize,
        fp: *mut u64,
        func_index: u32,
        instance: InstanceId,
    ) -> Frame {
        let func = code.func();
        Frame {
            func,
            ip: func.asm_code.as_ptr().cast::<Op>().wrapping_add(pc),
            fp,
            func_index,
            instance,
        }
    }

    pub fn code(&self) -> CodeRef {
        // SAFETY: `func` came from a `CodeRef` (here or from the call-target table, whose
        // entries are translations owned by the module): alive as long as the store.
        unsafe { CodeRef::new(&*self.func) }
    }

    pub fn pc(&self) -> usize {
        let base = self.code().func().asm_code.as_ptr();
        (self.ip as usize - base as usize) / std::mem::size_of::<Op>()
    }

    /// The frame's first cell in the value stack that starts at `stack`.
    pub fn fp(&self, stack: *const u64) -> usize {
        (self.fp as usize - stack as usize) / std::mem::size_of::<u64>()
    }
}

/// What calls and returns inside the handlers read and update, shared with the executor
/// for one run of the handlers. `frames` is the executor's frame stack: calls push onto it
/// (below `frames_limit`; then the executor makes the call), returns pop it (the executor
/// returns from the outermost frame and into other instances).
#[repr(C)]
pub struct CallCtx {
    /// Per defined function, its translation if calls may stay here (`InterpModule`).
    pub targets: *const AtomicPtr<CompiledFunc>,
    pub num_targets: u32,
    pub num_imported: u32,
    pub instance: InstanceId,
    /// The store's globals (a `Box<GlobalData>` is a pointer) and the running instance's
    /// global addresses.
    pub globals: *mut *mut GlobalData,
    pub global_map: *const GlobalAddr,
    pub num_globals: u32,
    /// Table 0's elements (null and 0 without a table) and the indirect-call cache.
    pub table: *const u64,
    pub table_len: u64,
    pub icache: *const IndirectEntry,
    pub frames: *mut Frame,
    pub frames_len: u32,
    /// One limit for the frame buffer's capacity and the call depth: a call pushes a frame
    /// and a return pops one, so while the handlers run the depth is the depth at entry
    /// plus the frames pushed since, and `frames_len < frames_limit` is both checks (the
    /// executor makes the call that reaches either limit, and raises the stack overflow).
    pub frames_limit: u32,
    /// One past the value stack's last cell: a callee's frame must end at or below it.
    pub stack_end: *mut u64,
    /// The running function, its index and frame (written back when the run ends).
    pub func: *const CompiledFunc,
    pub func_index: u32,
    pub fp: *mut u64,
    /// The store's runtime: fuel and the epoch (`Op::Fuel`, `Op::Epoch`).
    pub runtime: *mut strata_vm::vmctx::VMRuntime,
    /// The accumulators' value at entry. A load leaves its result there for the next
    /// instruction (an accumulator variant), and loads do not only leave for the executor
    /// when they trap: the check leaves the last 15 bytes of the memory to it
    /// (`handlers::address_in_eax`). The executor makes such a load and comes back at the
    /// next instruction with the result here.
    pub acc: u64,
}

/// The executor's fast path (`InterpMode::dispatch`): `Asm` (these handlers), `Rust` (the
/// Rust handlers of `threaded.rs`) or `Match` (none: the `match` loop alone).
#[derive(Clone, Copy)]
pub enum FastPath {
    Asm(&'static AsmInterp),
    Rust,
    Match,
}

impl std::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FastPath::Asm(interp) => write!(f, "Asm({:?})", interp.threading),
            FastPath::Rust => f.write_str("Rust"),
            FastPath::Match => f.write_str("Match"),
        }
    }
}

/// The fast path for `mode`. Counting ops (`strata_opstats`) needs the `match` loop; the Rust
/// handlers need an optimised build (`threaded::ENABLED`), and the generated ones a mapping
/// for their code (else the Rust handlers run).
pub fn fast_path(mode: InterpMode) -> FastPath {
    let rust = if super::threaded::ENABLED {
        FastPath::Rust
    } else {
        FastPath::Match
    };
    if cfg!(strata_opstats) {
        return FastPath::Match;
    }
    match mode.dispatch {
        InterpDispatch::Rust => rust,
        InterpDispatch::Match => FastPath::Match,
        InterpDispatch::Asm => interp(mode.threading).map_or(rust, FastPath::Asm),
    }
}

/// The generated interpreter for `threading`, generated on first use (one per threading, so
/// engines configured differently coexist in a process); `None` if its code memory could not
/// be mapped. `STRATA_INTERP_ALIGN=N` (a power of two up to 4096) sets the handlers'
/// alignment for layout experiments; it changes no result.
pub fn interp(threading: InterpThreading) -> Option<&'static AsmInterp> {
    static INTERPS: [OnceLock<Option<AsmInterp>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, asked) = match threading {
        InterpThreading::Absolute => (0, Threading::Absolute),
        InterpThreading::Relative => (1, Threading::Relative),
        InterpThreading::Table => (2, Threading::Table),
    };
    INTERPS[slot]
        .get_or_init(|| {
            let align = std::env::var("STRATA_INTERP_ALIGN")
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|a| a.is_power_of_two() && *a <= 4096)
                .unwrap_or(DEFAULT_ALIGN);
            // Absolute threading needs the code below 4 GiB; without such a mapping, the
            // handlers are generated again for offsets.
            build(align, asked).or_else(|| match asked {
                Threading::Absolute => build(align, Threading::Relative),
                _ => None,
            })
        })
        .as_ref()
}

/// Handler tags: the instruction kinds, then their accumulator variants and the
/// superinstructions (with theirs), then the SIMD handlers.
const TAGS: usize = 8 * Op::COUNT + crate::interp::simd::SimdCode::COUNT;

/// Handler alignment in bytes.
const DEFAULT_ALIGN: usize = 64;

impl AsmInterp {
    /// Runs from `ip` with frame `s` and memory view `mem`, the running function and the
    /// call state in `ctx`; returns the first instruction left to the executor, in the
    /// function `ctx.func` (calls and returns may have changed it) with frame `ctx.fp`.
    ///
    /// # Safety
    /// The contract of `threaded::run`'s handlers: `ip` points at an instruction of
    /// `ctx.func` (whose code ends with a terminator and a sentinel and has its branch
    /// targets in range), `s` is that function's frame (every register of the code is inside
    /// it) and `mem` a view of the running instance's memory 0. And for calls: `ctx.targets`
    /// holds `num_targets` entries, each null or a translation of that defined function of
    /// the running instance's module that lives as long as the store; `frames` has room for
    /// `frames_limit` frames; `stack_end` ends the value stack that holds `s`.
    #[inline(always)]
    unsafe fn run(&self, ip: *const Op, s: Slots, mem: MemView, ctx: &mut CallCtx) -> *const Op {
        // SAFETY: `entry` is the address of the entry stub in `self.code`, which is mapped
        // read+execute for `self`'s lifetime and follows the `Entry` signature (System V,
        // callee-saved registers restored); the caller upholds the handlers' contract.
        unsafe {
            let f: Entry = std::mem::transmute::<usize, Entry>(self.entry);
            f(ip, s, mem, ctx)
        }
    }

    /// Runs `code` from `pc` with frame `s` in the value stack `stack` and memory view
    /// `mem`; calls and returns stay in the handlers as `calls` allows, pushing and popping
    /// `frames` in place (within its capacity). Returns where the executor goes on.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn run_code(
        &self,
        code: CodeRef,
        pc: usize,
        s: Slots,
        mem: MemView,
        stack: &mut [u64],
        calls: CallLimits<'_>,
        frames: &mut Vec<Frame>,
    ) -> Resume {
        let f = code.func();
        let range = stack.as_mut_ptr_range();
        if frames.capacity() - frames.len() < 16 {
            frames.reserve(256);
        }
        let frames_len0 = frames.len();
        let room = calls.max_depth.saturating_sub(calls.depth);
        let frames_limit = frames
            .capacity()
            .min(frames_len0.saturating_add(room.try_into().unwrap_or(usize::MAX)))
            .min(u32::MAX as usize) as u32;
        let mut cx = CallCtx {
            targets: calls.targets.as_ptr(),
            num_targets: calls.targets.len() as u32,
            num_imported: calls.num_imported,
            instance: calls.instance,
            globals: calls.globals.as_mut_ptr().cast::<*mut GlobalData>(),
            global_map: calls.global_map.as_ptr(),
            num_globals: calls.global_map.len() as u32,
            table: calls.table.as_ptr(),
            table_len: calls.table.len() as u64,
            icache: calls.icache.as_ptr(),
            frames: frames.as_mut_ptr(),
            frames_len: frames_len0 as u32,
            frames_limit,
            stack_end: range.end,
            func: f,
            func_index: calls.func_index,
            fp: s.base(),
            runtime: calls.runtime,
            acc: calls.acc,
        };
        // SAFETY: `pc` is in range (`CodeRef::op`'s guarantee: the executor only holds pcs
        // the translator produced), `s` is the frame of `f` inside `stack` and `mem` the view
        // of its instance's memory 0 (the executor's invariants); the globals are borrowed
        // exclusively for the run, and validation guarantees that the code only sets mutable
        // globals of the right type; `targets` comes from the
        // running instance's module's `InterpModule` (its entries are null or translations
        // owned by it, alive as long as the store); `frames` has room for `frames_limit`
        // frames. That is `run`'s contract. The handlers only push fully written frames
        // below the capacity, so the first `frames_len` are initialised; they return a
        // pointer into the code of `cx.func`.
        unsafe {
            let end = self.run(f.asm_code.as_ptr().cast::<Op>().add(pc), s, mem, &mut cx);
            frames.set_len(cx.frames_len as usize);
            let func = &*cx.func;
            Resume {
                code: CodeRef::new(func),
                pc: end.offset_from(func.asm_code.as_ptr().cast::<Op>()) as usize,
                fp: cx.fp.offset_from(range.start) as usize,
                func_index: cx.func_index,
                // Every frame pushed or popped here was one call or return.
                depth: (calls.depth as i64 + cx.frames_len as i64 - frames_len0 as i64) as u64,
            }
        }
    }
}

// Field offsets in an `Op`: `#[repr(u32)]`, so the tag is word 0 and the fields follow as
// in a `#[repr(C)]` struct (checked by `tests::field_offsets`).
const F1: i32 = 4;
const F2: i32 = 8;
const F3: i32 = 12;
const OP: i32 = std::mem::size_of::<Op>() as i32;

const BACKEDGES: i32 = offset_of!(Counters, backedges) as i32;
const CALLS: i32 = offset_of!(Counters, calls) as i32;
const CALL_CHECK: i32 = offset_of!(Counters, call_check) as i32;
// A `CompiledFunc`'s fields; a boxed slice is (data pointer, length), checked by
// `slice_layout_ok` before any code is generated.
const CF_OPS: i32 = offset_of!(CompiledFunc, asm_code) as i32;
const CF_INIT: i32 = offset_of!(CompiledFunc, frame_init) as i32;
const CF_PARAMS: i32 = offset_of!(CompiledFunc, num_params) as i32;
const CF_FRAME_SIZE: i32 = offset_of!(CompiledFunc, frame_size) as i32;
const CF_COUNTERS: i32 = offset_of!(CompiledFunc, counters) as i32;
const C_TARGETS: i32 = offset_of!(CallCtx, targets) as i32;
const C_NUM_TARGETS: i32 = offset_of!(CallCtx, num_targets) as i32;
const C_NUM_IMPORTED: i32 = offset_of!(CallCtx, num_imported) as i32;
const C_INSTANCE: i32 = offset_of!(CallCtx, instance) as i32;
const C_GLOBALS: i32 = offset_of!(CallCtx, globals) as i32;
const C_GLOBAL_MAP: i32 = offset_of!(CallCtx, global_map) as i32;
const C_NUM_GLOBALS: i32 = offset_of!(CallCtx, num_globals) as i32;
const G_VALUE: i32 = offset_of!(GlobalData, value) as i32;
const C_TABLE: i32 = offset_of!(CallCtx, table) as i32;
const C_TABLE_LEN: i32 = offset_of!(CallCtx, table_len) as i32;
const C_ICACHE: i32 = offset_of!(CallCtx, icache) as i32;
const IE_CELL: i32 = offset_of!(IndirectEntry, cell) as i32;
const IE_TYPE: i32 = offset_of!(IndirectEntry, type_index) as i32;
const IE_FUNC: i32 = offset_of!(IndirectEntry, func_index) as i32;
/// `IndirectEntry` is 16 bytes.
const IE_SHIFT: i8 = 4;
const C_FRAMES: i32 = offset_of!(CallCtx, frames) as i32;
const C_FRAMES_LEN: i32 = offset_of!(CallCtx, frames_len) as i32;
const C_FRAMES_LIMIT: i32 = offset_of!(CallCtx, frames_limit) as i32;
const C_STACK_END: i32 = offset_of!(CallCtx, stack_end) as i32;
const C_FUNC: i32 = offset_of!(CallCtx, func) as i32;
const C_FUNC_INDEX: i32 = offset_of!(CallCtx, func_index) as i32;
const C_FP: i32 = offset_of!(CallCtx, fp) as i32;
const C_RUNTIME: i32 = offset_of!(CallCtx, runtime) as i32;
const C_ACC: i32 = offset_of!(CallCtx, acc) as i32;
const AF_FUNC: i32 = offset_of!(Frame, func) as i32;
const AF_IP: i32 = offset_of!(Frame, ip) as i32;
const AF_FP: i32 = offset_of!(Frame, fp) as i32;
const AF_INDEX: i32 = offset_of!(Frame, func_index) as i32;
const AF_INSTANCE: i32 = offset_of!(Frame, instance) as i32;
/// `Frame` is 32 bytes: a frame's address is `frames + len << 5`.
const AF_SHIFT: i8 = 5;
/// Stack slots of the handlers: `[rsp]` the running function's counters, `[rsp + 8]` the
/// `CallCtx`.
const S_COUNTERS: i32 = 0;
const S_CTX: i32 = 8;

/// An instruction's tag: `Op` is `#[repr(u32)]`, so its first word is the discriminant.
fn tag_of(op: &Op) -> usize {
    // SAFETY: `Op` is `#[repr(u32)]`: its first four bytes are the discriminant (RFC 2195).
    unsafe { *(op as *const Op as *const u32) as usize }
}

/// Whether a boxed slice is laid out as (data pointer, length), which the handlers read.
fn slice_layout_ok() -> bool {
    let b: Box<[u64]> = vec![7, 8, 9].into_boxed_slice();
    // SAFETY: a `Box<[u64]>` is two words (a fat pointer); reading them as two `usize`s
    // copies them without taking ownership (`b` still drops its allocation).
    let words: [usize; 2] = unsafe { std::mem::transmute_copy(&b) };
    words == [b.as_ptr() as usize, 3]
}
const BACKEDGE_CHECK: i32 = offset_of!(Counters, backedge_check) as i32;

fn build(align: usize, threading: Threading) -> Option<AsmInterp> {
    if !slice_layout_ok() {
        return None;
    }
    set_threading(threading);
    let mut a = Asm::new(0);
    let exit = a.new_dynamic_label();
    let mut g = Gen {
        a,
        exit,
        align,
        handlers: Vec::new(),
        leaves: vec![0; TAGS],
        acc: vec![[AccUse::default(); 2]; TAGS],
        next_tag: Op::COUNT,
        pairs: Vec::new(),
        emitters: vec![None; Op::COUNT],
        names: std::env::var_os("STRATA_ASM_DUMP").map(|_| vec![String::new(); TAGS]),
        offset_zero: vec![0; TAGS],
    };
    let mut table = vec![0usize; TAGS].into_boxed_slice();
    let table_addr = table.as_ptr() as i64;
    let code_start = g.a.new_dynamic_label();
    dynasm!(g.a ; .arch x64 ; =>code_start);

    // Entry: the System V callee-saved registers are ours for the run. Six pushes and three
    // slots (counters, ctx, padding) keep rsp 16-byte aligned.
    let entry = g.a.offset().0;
    dynasm!(g.a
        ; .arch x64
        ; push rbx
        ; push rbp
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; sub rsp, 24
        ; mov QWORD [rsp + S_CTX], r8
        ; mov r12, rdi
        ; mov r13, rsi
        ; mov r14, rdx
        // r15 = the length less `ACCESS_SLACK`, saturating (`address_in_eax`).
        ; xor eax, eax
        ; mov r15, rcx
        ; sub r15, ACCESS_SLACK
        ; cmovb r15, rax
        ; mov rax, QWORD [r8 + C_FUNC]
        ; mov rbp, QWORD [rax + CF_OPS]
        ; lea rax, [rax + CF_COUNTERS]
        ; mov QWORD [rsp + S_COUNTERS], rax
        // The accumulators as the instruction before left them (`CallCtx::acc`).
        ; mov rax, QWORD [r8 + C_ACC]
        ; movq xmm0, rax
    );
    match threading {
        Threading::Absolute => {}
        Threading::Relative => dynasm!(g.a ; .arch x64 ; lea rbx, [=>code_start]),
        Threading::Table => dynasm!(g.a ; .arch x64 ; mov rbx, QWORD table_addr),
    }
    dispatch_next(&mut g.a, 0);
    // Leaves with the instruction at r12 for the executor, and the frame in `ctx.fp`.
    let exit_at = g.align();
    dynasm!(g.a
        ; .arch x64
        ; =>exit
        ; mov rdx, QWORD [rsp + S_CTX]
        ; mov QWORD [rdx + C_FP], r13
        ; mov rax, r12
        ; add rsp, 24
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbp
        ; pop rbx
        ; ret
    );

    emit_handlers(&mut g);
    // After every scalar handler, so that those are laid out as before.
    let simd_tags = simd::simd_handlers(&mut g);
    assert!(g.next_tag <= TAGS, "handler tags: {} of {TAGS}", g.next_tag);

    let handled = g.handlers.len();
    // Superinstructions by their two kinds, for `prepare`: a row per kind that starts any,
    // indexed by the second kind (pairs of the same two kinds are adjacent; shapes in the
    // order they were made).
    let mut pairs = std::mem::take(&mut g.pairs);
    pairs.sort_by_key(|p| (p.first, p.second));
    let mut pair_row = vec![0u16; Op::COUNT];
    let mut pair_table: Vec<u16> = Vec::new();
    for (i, p) in pairs.iter().enumerate().rev() {
        if pair_row[p.first as usize] == 0 {
            pair_table.resize(pair_table.len() + Op::COUNT, 0);
            pair_row[p.first as usize] = (pair_table.len() / Op::COUNT) as u16;
        }
        let row = pair_row[p.first as usize] as usize - 1;
        pair_table[row * Op::COUNT + p.second as usize] = i as u16 + 1;
    }
    let emitters = std::mem::take(&mut g.emitters);
    let code = g.a.finalize().ok()?;
    if let Some(path) = std::env::var_os("STRATA_ASM_DUMP") {
        let _ = std::fs::write(path, &code[..]);
    }
    let mem = match threading {
        Threading::Absolute => CodeMemory::new_low(&code).ok()?,
        _ => CodeMemory::new(&code).ok()?,
    };
    let base = mem.base() as usize;
    if let Some(names) = &g.names {
        eprintln!("handlers at {base:#x}, {} bytes", code.len());
        for &(tag, off) in &g.handlers {
            let name = names.get(tag).map_or("", String::as_str);
            eprintln!("handler tag {tag} at {off:#x} {name}");
        }
    }
    for t in table.iter_mut() {
        *t = base + exit_at;
    }
    let mut offsets = vec![exit_at as u32; TAGS];
    for &(tag, off) in &g.handlers {
        table[tag] = base + off;
        offsets[tag] = off as u32;
    }
    let dynamic = (threading == Threading::Absolute).then(|| {
        Mutex::new(DynPairs::new(
            emitters,
            g.leaves.clone(),
            (base + exit_at) as u32,
            align,
        ))
    });
    Some(AsmInterp {
        dynamic,
        pairs_from: PairsFrom::from_env(),
        threading,
        base: if threading == Threading::Absolute {
            base as u32
        } else {
            0
        },
        offsets: offsets.into(),
        _code: mem,
        _table: table,
        entry: base + entry,
        handled,
        simd_tags,
        leaves: g.leaves.into(),
        acc: g.acc.into(),
        offset_zero: g.offset_zero.into(),
        pair_row: pair_row.into(),
        pair_table: pair_table.into(),
        pairs: pairs.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(op: &Op, at: i32) -> u32 {
        // SAFETY: an `Op` is 16 initialised bytes for these variants (no padding before
        // byte 16 for three-`u32` variants); `at` is a field offset below 16.
        unsafe { *((op as *const Op as *const u8).add(at as usize) as *const u32) }
    }

    #[test]
    fn field_offsets() {
        let op = Op::I32Add { dst: 1, a: 2, b: 3 };
        assert_eq!((word(&op, F1), word(&op, F2), word(&op, F3)), (1, 2, 3));
        let op = Op::BrI32LtSImm {
            a: 4,
            imm: -5,
            target: 6,
        };
        assert_eq!(
            (word(&op, F1), word(&op, F2) as i32, word(&op, F3)),
            (4, -5, 6)
        );
        let op = Op::I32Store {
            addr: 7,
            val: 8,
            offset: 9,
        };
        assert_eq!((word(&op, F1), word(&op, F2), word(&op, F3)), (7, 8, 9));
        let op = Op::Const64 {
            dst: 1,
            val: 0x1122_3344_5566_7788,
        };
        assert_eq!((word(&op, F2), word(&op, F3)), (0x5566_7788, 0x1122_3344));
    }

    #[test]
    fn simd_instructions_get_their_handlers() {
        use crate::interp::simd::SimdCode;
        let g = build(64, Threading::Table).expect("code memory");
        // SSE2-only handlers exist on every x86-64; the memory ones need no extension.
        for code in [
            SimdCode::V128Load,
            SimdCode::V128Store,
            SimdCode::V128Load32Splat,
            SimdCode::I32x4Add,
            SimdCode::I32x4Splat,
            SimdCode::F32x4Mul,
            SimdCode::F64x2Add,
            SimdCode::V128Bitselect,
            SimdCode::I32x4ExtractLane,
            SimdCode::I8x16Bitmask,
            SimdCode::Select,
        ] {
            assert_ne!(g.simd_tags[code as usize], 0, "{code:?} has no handler");
        }
        // Relaxed SIMD and the globals stay with the executor.
        for code in [
            SimdCode::F32x4RelaxedMadd,
            SimdCode::GlobalGet,
            SimdCode::I8x16Popcnt,
        ] {
            assert_eq!(g.simd_tags[code as usize], 0, "{code:?}");
        }
        // `prepare` gives a SIMD instruction its code's handler, the others keep their own.
        let ops = [
            Op::Simd {
                code: SimdCode::I32x4Add as u32,
                dst: 0,
                a: 2,
            },
            Op::Ext { a: 4, b: 0, c: 0 },
            Op::Simd {
                code: SimdCode::F32x4RelaxedMadd as u32,
                dst: 0,
                a: 2,
            },
            Op::Ext { a: 4, b: 6, c: 0 },
        ];
        let mode = strata_vm::InterpMode {
            threading: InterpThreading::Table,
            ..strata_vm::InterpMode::FASTEST
        };
        if let FastPath::Asm(interp) = fast_path(mode) {
            let code = prepare(&ops, mode);
            assert_eq!(
                code[0].0[0],
                u32::from(interp.simd_tags[SimdCode::I32x4Add as usize])
            );
            assert_eq!(code[0].0[1..], [SimdCode::I32x4Add as u32, 0, 2]);
            assert_eq!(code[2].0[0] as usize, tag_of(&ops[2]));
        }
    }

    #[test]
    fn pairs_in_loops_are_generated_for_the_function() {
        // A loop whose body is `i32.xor; i32.rotl` (no fixed pair), ended by its backward
        // branch: `prepare` generates that pair and gives the first instruction its handler,
        // outside `build`'s code; the second keeps its own.
        let mode = strata_vm::InterpMode::FASTEST;
        let FastPath::Asm(interp) = fast_path(mode) else {
            return;
        };
        if interp.threading != Threading::Absolute || interp.pairs_from == PairsFrom::Fixed {
            return;
        }
        let ops = [
            Op::I32Xor { dst: 2, a: 0, b: 1 },
            // Operands that are not the xor's result: no accumulator variant.
            Op::I32Rotl { dst: 3, a: 1, b: 0 },
            Op::BrI32LtU {
                a: 3,
                b: 0,
                target: 0,
            },
            Op::Return0,
        ];
        let code = prepare(&ops, mode);
        let xor = tag_of(&ops[0]) as u32;
        let rotl = tag_of(&ops[1]) as u32;
        let dynamic = interp
            .dynamic
            .as_ref()
            .expect("absolute threading generates pairs");
        {
            let d = dynamic.lock().unwrap_or_else(|e| e.into_inner());
            let made = d.get(xor, rotl).expect("the loop's pair was generated");
            assert_eq!(code[0].0[0], made.addr_for(0, 0));
        }
        let start = interp.base;
        let end = start + interp.offsets.iter().copied().max().unwrap_or(0);
        assert!(code[0].0[0] < start || code[0].0[0] > end);
        assert_eq!(code[1].0[0], interp.word0(rotl as usize));
        // Out of a loop, nothing is generated for a function.
        let straight = [ops[1], ops[0], Op::Return0];
        prepare(&straight, mode);
        let d = dynamic.lock().unwrap_or_else(|e| e.into_inner());
        assert!(d.get(rotl, xor).is_none());
    }

    #[test]
    fn generates() {
        let g = build(16, Threading::Table).expect("code memory");
        assert!(g.handled > 200, "{} handlers", g.handled);
        assert!(build(64, Threading::Relative).is_some());
    }
}
