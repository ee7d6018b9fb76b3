//! Interpreter handlers written in x86-64 assembly and generated at start-up.
//!
//! This is the same fast path as `threaded.rs` (the common instructions, dispatched from one
//! handler to the next without returning), but the machine code is ours rather than the Rust
//! compiler's, in the manner of JSC's LLInt, V8's Ignition and Wizard's fast interpreter:
//!
//! - the interpreter state stays pinned in callee-saved registers for the whole run (below),
//!   so no handler moves it around and a helper call keeps it;
//! - every handler ends in its own `jmp [table + tag*8]`, conditional branches have one such
//!   dispatch per successor;
//! - where each handler lands is decided here, not by the linker: handlers are placed on a
//!   chosen alignment (`STRATA_INTERP_ALIGN`), which removes the layout lottery that moved
//!   wall times by up to 40% between builds with the Rust handlers (PERF.md).
//!
//! Registers: `r12` = ip (the current `Op`), `r13` = frame base (slots), `r14`/`r15` = memory 0's
//! base and byte length, `rbx` = the handler table, `rbp` = the function's first `Op` (branch
//! targets are op indices), `[rsp]` = the function's `Counters`. Scratch: rax, rcx, rdx, xmm0.
//!
//! Anything unusual leaves exactly as in `threaded.rs`: the handler jumps to `exit` with `r12`
//! still at its instruction, untouched, and the executor's `match` runs it with the full
//! semantics (traps, back-edge check points, calls). Instructions without a handler here have
//! `exit` in the table. So traps and tiering keep one implementation.
//!
//! Everything in this file is safe Rust that appends bytes, except the call into the finished
//! code (`run`).

use super::code::{CompiledFunc, Counters, Op};
use super::raw::{CodeRef, MemView, Slots};
use crate::baseline::code_memory::CodeMemory;
use dynasmrt::{dynasm, x64::X64Relocation, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};
use std::mem::offset_of;
use std::sync::atomic::AtomicPtr;
use std::sync::OnceLock;
use strata_vm::InstanceId;

type Asm = VecAssembler<X64Relocation>;

/// The generated interpreter: its code, and the table of handler addresses by tag (the code
/// holds the table's address, so the box must not move or go away: it lives in a static).
pub struct AsmInterp {
    _code: CodeMemory,
    _table: Box<[usize]>,
    entry: usize,
    /// Per handler tag, the handler's offset in the code (for direct threading).
    offsets: Box<[u32]>,
    /// Per handler tag, what it leaves in the accumulators (`IN_RAX`, `IN_XMM0`).
    leaves: Box<[u8]>,
    /// Per instruction kind, its accumulator variant.
    acc: Box<[[AccUse; 2]]>,
    /// Instruction kinds with a handler of their own.
    #[cfg_attr(not(test), allow(dead_code))]
    handled: usize,
}

/// `entry(ip, slots, mem, ctx) -> ip of the instruction left to the executor`.
type Entry = unsafe extern "C" fn(*const Op, Slots, MemView, *mut CallCtx) -> *const Op;

/// An instruction as the generated handlers read it: an `Op`'s words, with the handler's
/// tag in word 0 (an instruction kind's, or its accumulator variant's).
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct AsmOp([u32; 4]);

const _: () = assert!(std::mem::size_of::<AsmOp>() == std::mem::size_of::<Op>());

/// The handlers' code for translated `ops` (empty when they are not in use): the same
/// instructions at the same pcs, and where an instruction uses the result of the one just
/// before it (not a branch target, so always reached from there) and that one leaves it in
/// an accumulator, the instruction's variant that takes it from there. Results still go
/// to their slots as well: everything else (the executor, OSR, traps) sees the same frame.
pub fn prepare(ops: &[Op]) -> Box<[AsmOp]> {
    let FastPath::Asm(interp) = fast_path() else {
        return Box::default();
    };
    let mut code: Vec<AsmOp> = ops.iter().map(words).collect();
    let mut target = vec![false; ops.len()];
    for op in ops {
        let mut op = *op;
        if let Some(&mut t) = op.branch_target_mut() {
            if let Some(b) = target.get_mut(t as usize) {
                *b = true;
            }
        }
    }
    for i in 1..code.len() * accumulators_on() as usize {
        let prev = code[i - 1].0;
        let leaves = interp.leaves[prev[0] as usize];
        if target[i] || leaves == 0 {
            continue;
        }
        // Every handler that leaves a result has its destination in word 1.
        let dst = prev[1];
        let w = &mut code[i].0;
        for AccUse { tag, reads, word } in interp.acc[w[0] as usize] {
            if tag != 0 && leaves & reads != 0 && w[word as usize] == dst {
                w[0] = tag as u32;
                break;
            }
        }
    }
    if direct_threading() {
        for w in &mut code {
            w.0[0] = interp.offsets[w.0[0] as usize];
        }
    }
    code.into()
}

/// Whether `prepare` uses the accumulator variants (`STRATA_INTERP_ACC=0` turns them off,
/// to measure what they bring).
fn accumulators_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("STRATA_INTERP_ACC").as_deref() != Ok("0"))
}

/// An instruction's words as the handlers read them (fields they do not read are 0).
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
        Op::CallIndirect {
            type_index,
            index,
            base,
        } => [tag, type_index, index, base],
        Op::Select { dst, a, b } => [tag, dst, a, b],
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
    /// Table 0's elements (empty without a table) and the indirect-call cache.
    pub table: &'a [u64],
    pub icache: &'a [IndirectEntry; ICACHE_ENTRIES],
    /// The running function's index, and the call depth and its limit.
    pub func_index: u32,
    pub depth: u64,
    pub max_depth: u64,
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
/// (up to `frames_cap`; then the executor makes the call), returns pop it (the executor
/// returns from the outermost frame and into other instances).
#[repr(C)]
pub struct CallCtx {
    /// Per defined function, its translation if calls may stay here (`InterpModule`).
    pub targets: *const AtomicPtr<CompiledFunc>,
    pub num_targets: u32,
    pub num_imported: u32,
    pub instance: InstanceId,
    /// Table 0's elements (null and 0 without a table) and the indirect-call cache.
    pub table: *const u64,
    pub table_len: u64,
    pub icache: *const IndirectEntry,
    pub frames: *mut Frame,
    pub frames_len: u32,
    pub frames_cap: u32,
    pub depth: u64,
    pub max_depth: u64,
    /// One past the value stack's last cell: a callee's frame must end at or below it.
    pub stack_end: *mut u64,
    /// The running function, its index and frame (written back when the run ends).
    pub func: *const CompiledFunc,
    pub func_index: u32,
    pub fp: *mut u64,
}

/// The executor's fast path (`STRATA_INTERP_DISPATCH`): `asm` (default: these handlers),
/// `rust` (the Rust handlers of `threaded.rs`) or `match` (none: the `match` loop alone).
#[derive(Clone, Copy)]
pub enum FastPath {
    Asm(&'static AsmInterp),
    Rust,
    Match,
}

/// The fast path chosen for this process (read once). Counting ops (`strata_opstats`)
/// needs the `match` loop; the Rust handlers need an optimised build (`threaded::ENABLED`).
pub fn fast_path() -> FastPath {
    static CHOICE: OnceLock<FastPath> = OnceLock::new();
    *CHOICE.get_or_init(|| {
        let rust = if super::threaded::ENABLED {
            FastPath::Rust
        } else {
            FastPath::Match
        };
        if cfg!(strata_opstats) {
            return FastPath::Match;
        }
        match std::env::var("STRATA_INTERP_DISPATCH").as_deref() {
            Ok("rust") => rust,
            Ok("match") => FastPath::Match,
            _ => interp().map_or(rust, FastPath::Asm),
        }
    })
}

/// The generated interpreter; `None` if its code memory could not be mapped.
pub fn interp() -> Option<&'static AsmInterp> {
    static INTERP: OnceLock<Option<AsmInterp>> = OnceLock::new();
    INTERP
        .get_or_init(|| {
            let align = std::env::var("STRATA_INTERP_ALIGN")
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|a| a.is_power_of_two() && *a <= 4096)
                .unwrap_or(DEFAULT_ALIGN);
            build(align)
        })
        .as_ref()
}

/// Handler tags: the instruction kinds, then their accumulator variants.
const TAGS: usize = 3 * Op::COUNT;

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
    /// `frames_cap` frames; `stack_end` ends the value stack that holds `s`.
    #[inline(always)]
    pub unsafe fn run(
        &self,
        ip: *const Op,
        s: Slots,
        mem: MemView,
        ctx: &mut CallCtx,
    ) -> *const Op {
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
        let mut cx = CallCtx {
            targets: calls.targets.as_ptr(),
            num_targets: calls.targets.len() as u32,
            num_imported: calls.num_imported,
            instance: calls.instance,
            table: calls.table.as_ptr(),
            table_len: calls.table.len() as u64,
            icache: calls.icache.as_ptr(),
            frames: frames.as_mut_ptr(),
            frames_len: frames.len() as u32,
            frames_cap: frames.capacity().min(u32::MAX as usize) as u32,
            depth: calls.depth,
            max_depth: calls.max_depth,
            stack_end: range.end,
            func: f,
            func_index: calls.func_index,
            fp: s.base(),
        };
        // SAFETY: `pc` is in range (`CodeRef::op`'s guarantee: the executor only holds pcs
        // the translator produced), `s` is the frame of `f` inside `stack` and `mem` the view
        // of its instance's memory 0 (the executor's invariants); `targets` comes from the
        // running instance's module's `InterpModule` (its entries are null or translations
        // owned by it, alive as long as the store); `frames` has room for `frames_cap`
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
                depth: cx.depth,
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
const CF_CONSTS: i32 = offset_of!(CompiledFunc, consts) as i32;
const CF_PARAMS: i32 = offset_of!(CompiledFunc, num_params) as i32;
const CF_LOCALS: i32 = offset_of!(CompiledFunc, num_locals) as i32;
const CF_FRAME_SIZE: i32 = offset_of!(CompiledFunc, frame_size) as i32;
const CF_COUNTERS: i32 = offset_of!(CompiledFunc, counters) as i32;
const C_TARGETS: i32 = offset_of!(CallCtx, targets) as i32;
const C_NUM_TARGETS: i32 = offset_of!(CallCtx, num_targets) as i32;
const C_NUM_IMPORTED: i32 = offset_of!(CallCtx, num_imported) as i32;
const C_INSTANCE: i32 = offset_of!(CallCtx, instance) as i32;
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
const C_FRAMES_CAP: i32 = offset_of!(CallCtx, frames_cap) as i32;
const C_DEPTH: i32 = offset_of!(CallCtx, depth) as i32;
const C_MAX_DEPTH: i32 = offset_of!(CallCtx, max_depth) as i32;
const C_STACK_END: i32 = offset_of!(CallCtx, stack_end) as i32;
const C_FUNC: i32 = offset_of!(CallCtx, func) as i32;
const C_FUNC_INDEX: i32 = offset_of!(CallCtx, func_index) as i32;
const C_FP: i32 = offset_of!(CallCtx, fp) as i32;
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

/// Whether a boxed slice is laid out as (data pointer, length), which the handlers read.
fn slice_layout_ok() -> bool {
    let b: Box<[u64]> = vec![7, 8, 9].into_boxed_slice();
    // SAFETY: a `Box<[u64]>` is two words (a fat pointer); reading them as two `usize`s
    // copies them without taking ownership (`b` still drops its allocation).
    let words: [usize; 2] = unsafe { std::mem::transmute_copy(&b) };
    words == [b.as_ptr() as usize, 3]
}
const BACKEDGE_CHECK: i32 = offset_of!(Counters, backedge_check) as i32;

/// Tail of every handler: go to the instruction `step` ops further on.
fn dispatch_next(a: &mut Asm, step: i32) {
    // The tag goes through r11, never an accumulator: the next handler may read them.
    let d = step * OP;
    if d != 0 {
        dynasm!(a ; .arch x64 ; mov r11d, DWORD [r12 + d] ; add r12, d);
    } else {
        dynasm!(a ; .arch x64 ; mov r11d, DWORD [r12]);
    }
    if direct_threading() {
        // Word 0 is the handler's offset in the code, whose start is in rbx.
        dynasm!(a ; .arch x64 ; add r11, rbx ; jmp r11);
    } else {
        // Word 0 is the handler's tag, rbx the table of handler addresses.
        dynasm!(a ; .arch x64 ; jmp QWORD [rbx + r11 * 8]);
    }
}

/// Whether word 0 of the handlers' code holds the handler's offset (direct threading: one
/// load less per dispatch) rather than its tag (`STRATA_INTERP_THREADING=table`). Read once,
/// before the handlers are generated, so code and handlers always agree.
fn direct_threading() -> bool {
    static DIRECT: OnceLock<bool> = OnceLock::new();
    *DIRECT.get_or_init(|| std::env::var("STRATA_INTERP_THREADING").as_deref() != Ok("table"))
}

/// A taken branch to the op index at `[r12 + field]`. A backward one is a loop iteration:
/// it counts, and at the counter's check point leaves the branch to the executor (which
/// counts it and asks the tier manager), exactly like `jump!` in `threaded.rs`.
fn taken(a: &mut Asm, exit: DynamicLabel, field: i32) {
    dynasm!(a
        ; .arch x64
        ; mov eax, DWORD [r12 + field]
        ; shl rax, 4
        ; add rax, rbp
        ; cmp rax, r12
        ; jbe >back
        ; mov r12, rax
    );
    dispatch_next(a, 0);
    dynasm!(a ; .arch x64 ; back:);
    if !cfg!(strata_no_counters) {
        dynasm!(a
            ; .arch x64
            ; mov rcx, QWORD [rsp]
            ; mov rdx, QWORD [rcx + BACKEDGES]
            ; add rdx, 1
            ; cmp rdx, QWORD [rcx + BACKEDGE_CHECK]
            ; jae =>exit
            ; mov QWORD [rcx + BACKEDGES], rdx
        );
    }
    dynasm!(a ; .arch x64 ; mov r12, rax);
    dispatch_next(a, 0);
}

/// Stores `rax` in the slot named by field `field` and dispatches to the next op.
fn put_rax(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field] ; mov QWORD [r13 + rcx * 8], rax);
    dispatch_next(a, 1);
}

/// Stores `xmm0`'s low 64 bits in the slot of field `field` and dispatches.
fn put_xmm0_f64(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field] ; movsd QWORD [r13 + rcx * 8], xmm0);
    dispatch_next(a, 1);
}

/// Stores `xmm0`'s low 32 bits, zero-extended, in the slot of field `field` and dispatches.
fn put_xmm0_f32(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; movd eax, xmm0);
    put_rax(a, field);
}

/// `rcx` = the slot index in field `field` (for `[r13 + rcx*8]` operands).
fn idx_rcx(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field]);
}

/// `rax` = the slot index in field `field`.
fn idx_rax(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + field]);
}

/// What a handler leaves in the accumulators when it falls through to the next instruction:
/// its result, bit for bit as in its slot, in `rax` and/or in `xmm0`'s low bits.
const IN_RAX: u8 = 1;
const IN_XMM0: u8 = 2;

/// An instruction kind's variant that takes one operand from an accumulator instead of its
/// slot (the previous instruction just computed it; `prepare` decides where that holds).
/// A kind has up to two, for different operands.
#[derive(Clone, Copy, Default)]
pub struct AccUse {
    /// The variant's tag (0: none).
    tag: u16,
    /// The accumulator it reads (`IN_RAX` or `IN_XMM0`).
    reads: u8,
    /// The word of the operand it takes from there.
    word: u8,
}

/// The handlers under construction: each one's offset by tag, and what it leaves in the
/// accumulators.
struct Gen {
    a: Asm,
    exit: DynamicLabel,
    align: usize,
    handlers: Vec<(usize, usize)>,
    /// Per handler tag.
    leaves: Vec<u8>,
    /// Per instruction kind (tag below `Op::COUNT`).
    acc: Vec<[AccUse; 2]>,
    next_tag: usize,
}

impl Gen {
    /// Pads to the chosen alignment (with `int3`: never executed) and returns the offset.
    fn align(&mut self) -> usize {
        while !self.a.offset().0.is_multiple_of(self.align) {
            self.a.push(0xcc);
        }
        self.a.offset().0
    }

    /// Starts the handler of `op`'s kind on the chosen alignment.
    fn start(&mut self, op: Op) {
        let at = self.align();
        self.handlers.push((tag_of(&op), at));
    }

    /// The handler of `op`'s kind, leaving its result in the accumulators `leaves`.
    fn handler(&mut self, op: Op, leaves: u8, emit: impl FnOnce(&mut Asm)) {
        self.start(op);
        self.leaves[tag_of(&op)] = leaves;
        emit(&mut self.a);
    }

    /// The handler of `op`'s kind and its variants that take the operand of word `word` from
    /// accumulator `reads`, for each `(reads, word)` of `uses`; `emit` gets 0 for the plain
    /// handler and `k` for the variant of `uses[k - 1]`.
    fn consumer(&mut self, op: Op, uses: &[(u8, i32)], leaves: u8, emit: impl Fn(&mut Asm, usize)) {
        self.handler(op, leaves, |a| emit(a, 0));
        for (k, &(reads, word)) in uses.iter().enumerate() {
            let tag = self.next_tag;
            self.next_tag += 1;
            let at = self.align();
            self.handlers.push((tag, at));
            self.leaves[tag] = leaves;
            self.acc[tag_of(&op)][k] = AccUse {
                tag: tag as u16,
                reads,
                word: (word / 4) as u8,
            };
            emit(&mut self.a, k + 1);
        }
    }
}

fn tag_of(op: &Op) -> usize {
    // SAFETY: `Op` is `#[repr(u32)]`: its first four bytes are the discriminant (RFC 2195).
    unsafe { *(op as *const Op as *const u32) as usize }
}

/// The operand of word 2 (`a`) from the integer accumulator; or that of word 3 (`b`).
const A_IN_RAX: &[(u8, i32)] = &[(IN_RAX, F2)];
const AB_IN_RAX: &[(u8, i32)] = &[(IN_RAX, F2), (IN_RAX, F3)];

/// `dst = a OP b` on slots, with `OP` an x86 instruction taking a memory source. Variants:
/// `a` in rax; `b` in rax (moved to rcx, `a` loaded).
macro_rules! bin_mem {
    ($g:expr, $op:expr, $w:ident, $($ins:tt)*) => {{
        $g.consumer($op, AB_IN_RAX, IN_RAX, |a, v| {
            match v {
                0 => {
                    idx_rcx(a, F3);
                    idx_rax(a, F2);
                    load_a!(a, $w);
                    dynasm!(a ; .arch x64 ; $($ins)* , $w [r13 + rcx * 8]);
                }
                1 => {
                    idx_rcx(a, F3);
                    dynasm!(a ; .arch x64 ; $($ins)* , $w [r13 + rcx * 8]);
                }
                _ => {
                    dynasm!(a ; .arch x64 ; mov rcx, rax);
                    idx_rax(a, F2);
                    load_a!(a, $w);
                    bin_mem!(@reg a, $w, $($ins)*);
                }
            }
            put_rax(a, F1);
        });
    }};
    (@reg $a:ident, DWORD, $($ins:tt)*) => { dynasm!($a ; .arch x64 ; $($ins)* , ecx) };
    (@reg $a:ident, QWORD, $($ins:tt)*) => { dynasm!($a ; .arch x64 ; $($ins)* , rcx) };
}

/// `rax`/`eax` = the slot whose index is in `rax`.
macro_rules! load_a {
    ($a:ident, DWORD) => { dynasm!($a ; .arch x64 ; mov eax, DWORD [r13 + rax * 8]) };
    ($a:ident, QWORD) => { dynasm!($a ; .arch x64 ; mov rax, QWORD [r13 + rax * 8]) };
}

/// Shifts and rotates: `dst = a OP (b & mask)`, the count in `cl` (x86 masks it as wasm does).
macro_rules! shift {
    ($g:expr, $op:expr, $($ins:tt)*) => {{
        $g.consumer($op, AB_IN_RAX, IN_RAX, |a, v| {
            match v {
                0 => {
                    idx_rcx(a, F3);
                    idx_rax(a, F2);
                    load_a!(a, QWORD);
                    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r13 + rcx * 8]);
                }
                1 => {
                    idx_rcx(a, F3);
                    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r13 + rcx * 8]);
                }
                _ => {
                    dynasm!(a ; .arch x64 ; mov ecx, eax);
                    idx_rax(a, F2);
                    load_a!(a, QWORD);
                }
            }
            dynasm!(a ; .arch x64 ; $($ins)*);
            put_rax(a, F1);
        });
    }};
}

/// Integer comparison of two slots into 0/1.
macro_rules! cmp_slots {
    ($g:expr, $op:expr, $w:ident, $set:ident) => {{
        $g.consumer($op, AB_IN_RAX, IN_RAX, |a, v| {
            cmp_slots!(@operands a, v, $w, F2, F3);
            dynasm!(a ; .arch x64 ; $set dl ; movzx eax, dl);
            put_rax(a, F1);
        });
    }};
    // Compares the slots of words `$x` and `$y` (`$x` from rax in variant 1, `$y` in 2).
    (@operands $a:ident, $v:expr, $w:ident, $x:expr, $y:expr) => {
        match $v {
            0 => {
                idx_rcx($a, $y);
                idx_rax($a, $x);
                load_a!($a, $w);
                cmp_slots!(@cmp $a, $w);
            }
            1 => {
                idx_rcx($a, $y);
                cmp_slots!(@cmp $a, $w);
            }
            _ => {
                dynasm!($a ; .arch x64 ; mov rcx, rax);
                idx_rax($a, $x);
                load_a!($a, $w);
                cmp_slots!(@reg $a, $w);
            }
        }
    };
    (@cmp $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, DWORD [r13 + rcx * 8]) };
    (@cmp $a:ident, QWORD) => { dynasm!($a ; .arch x64 ; cmp rax, QWORD [r13 + rcx * 8]) };
    (@reg $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, ecx) };
    (@reg $a:ident, QWORD) => { dynasm!($a ; .arch x64 ; cmp rax, rcx) };
}

/// Integer comparison of a slot with the immediate (sign-extended for i64) into 0/1.
macro_rules! cmp_imm {
    ($g:expr, $op:expr, $w:ident, $set:ident) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, $w);
            }
            cmp_imm!(@cmp a, $w);
            dynasm!(a ; .arch x64 ; $set dl ; movzx eax, dl);
            put_rax(a, F1);
        });
    }};
    (@cmp $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, DWORD [r12 + F3]) };
    (@cmp $a:ident, QWORD) => { dynasm!($a ; .arch x64
        ; movsxd rcx, DWORD [r12 + F3] ; cmp rax, rcx) };
}

/// `dst = a OP imm`: 32-bit forms take the immediate from memory, 64-bit ones sign-extend it.
macro_rules! imm_op {
    ($g:expr, $op:expr, DWORD, $($ins:tt)*) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, DWORD);
            }
            dynasm!(a ; .arch x64 ; $($ins)* , DWORD [r12 + F3]);
            put_rax(a, F1);
        });
    }};
    ($g:expr, $op:expr, QWORD, $($ins:tt)*) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, QWORD);
            }
            dynasm!(a ; .arch x64 ; movsxd rcx, DWORD [r12 + F3] ; $($ins)* , rcx);
            put_rax(a, F1);
        });
    }};
}

/// Shift or rotate by the immediate, the count in `cl`.
macro_rules! shift_imm {
    ($g:expr, $op:expr, $($ins:tt)*) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, QWORD);
            }
            dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + F3] ; $($ins)*);
            put_rax(a, F1);
        });
    }};
}

/// Compare two slots and branch (to the op index in word 3) when the condition holds.
macro_rules! br_slots {
    ($g:expr, $op:expr, $w:ident, $jcc:ident) => {{
        let exit = $g.exit;
        $g.consumer($op, &[(IN_RAX, F1), (IN_RAX, F2)], 0, |a, v| {
            cmp_slots!(@operands a, v, $w, F1, F2);
            dynasm!(a ; .arch x64 ; $jcc >taken);
            dispatch_next(a, 1);
            dynasm!(a ; .arch x64 ; taken:);
            taken(a, exit, F3);
        });
    }};
}

/// Compare a slot with the immediate in word 2 and branch to word 3's target.
macro_rules! br_imm {
    ($g:expr, $op:expr, $w:ident, $jcc:ident) => {{
        let exit = $g.exit;
        $g.consumer($op, &[(IN_RAX, F1)], 0, |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F1);
                load_a!(a, $w);
            }
            br_imm!(@cmp a, $w);
            dynasm!(a ; .arch x64 ; $jcc >taken);
            dispatch_next(a, 1);
            dynasm!(a ; .arch x64 ; taken:);
            taken(a, exit, F3);
        });
    }};
    (@cmp $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, DWORD [r12 + F2]) };
    (@cmp $a:ident, QWORD) => { dynasm!($a ; .arch x64
        ; movsxd rcx, DWORD [r12 + F2] ; cmp rax, rcx) };
}

/// Float arithmetic `xmm0 = a OP b`. Variants: `a` in xmm0; `b` in xmm0 (moved to xmm1,
/// `a` loaded). Operands never trade places: with two NaNs, x86 returns the first one's
/// payload, and every tier must compute the same bits.
macro_rules! fbin {
    ($g:expr, $op:expr, f64, $ins:ident) => {{
        $g.consumer($op, &[(IN_XMM0, F2), (IN_XMM0, F3)], IN_XMM0, |a, v| {
            fbin!(@operands a, v, $ins, movsd, QWORD);
            put_xmm0_f64(a, F1);
        });
    }};
    ($g:expr, $op:expr, f32, $ins:ident) => {{
        $g.consumer($op, &[(IN_XMM0, F2), (IN_XMM0, F3)], IN_RAX | IN_XMM0, |a, v| {
            fbin!(@operands a, v, $ins, movss, DWORD);
            put_xmm0_f32(a, F1);
        });
    }};
    (@operands $a:ident, $v:expr, $ins:ident, $mov:ident, $w:ident) => {
        match $v {
            0 => {
                idx_rcx($a, F3);
                idx_rax($a, F2);
                dynasm!($a ; .arch x64
                    ; $mov xmm0, $w [r13 + rax * 8] ; $ins xmm0, $w [r13 + rcx * 8]);
            }
            1 => {
                idx_rcx($a, F3);
                dynasm!($a ; .arch x64 ; $ins xmm0, $w [r13 + rcx * 8]);
            }
            _ => {
                idx_rax($a, F2);
                dynasm!($a ; .arch x64
                    ; movapd xmm1, xmm0 ; $mov xmm0, $w [r13 + rax * 8] ; $ins xmm0, xmm1);
            }
        }
    };
}

/// Float comparison: `ucomis{s,d} x, y` with `x`/`y` the fields (swapped for `<`, `<=`, so
/// that an unordered result, which sets CF, reads as false), then `$set`.
macro_rules! fcmp {
    ($g:expr, $op:expr, $w:ident, $x:expr, $y:expr, $($set:tt)*) => {{
        $g.consumer($op, &[(IN_XMM0, $x), (IN_XMM0, $y)], IN_RAX, |a, v| {
            fcmp!(@cmp a, v, $w, $x, $y);
            dynasm!(a ; .arch x64 ; $($set)*);
            put_rax(a, F1);
        });
    }};
    (@cmp $a:ident, $v:expr, f64, $x:expr, $y:expr) => {
        match $v {
            0 => {
                idx_rax($a, $x);
                idx_rcx($a, $y);
                dynasm!($a ; .arch x64
                    ; movsd xmm0, QWORD [r13 + rax * 8] ; ucomisd xmm0, QWORD [r13 + rcx * 8]);
            }
            1 => {
                idx_rcx($a, $y);
                dynasm!($a ; .arch x64 ; ucomisd xmm0, QWORD [r13 + rcx * 8]);
            }
            _ => {
                idx_rax($a, $x);
                dynasm!($a ; .arch x64
                    ; movapd xmm1, xmm0 ; movsd xmm0, QWORD [r13 + rax * 8] ; ucomisd xmm0, xmm1);
            }
        }
    };
    (@cmp $a:ident, $v:expr, f32, $x:expr, $y:expr) => {
        match $v {
            0 => {
                idx_rax($a, $x);
                idx_rcx($a, $y);
                dynasm!($a ; .arch x64
                    ; movss xmm0, DWORD [r13 + rax * 8] ; ucomiss xmm0, DWORD [r13 + rcx * 8]);
            }
            1 => {
                idx_rcx($a, $y);
                dynasm!($a ; .arch x64 ; ucomiss xmm0, DWORD [r13 + rcx * 8]);
            }
            _ => {
                idx_rax($a, $x);
                dynasm!($a ; .arch x64
                    ; movaps xmm1, xmm0 ; movss xmm0, DWORD [r13 + rax * 8] ; ucomiss xmm0, xmm1);
            }
        }
    };
}

/// `dst = f(a)` for a one-operand instruction: the body reads the slot at `[r13 + rax*8]`
/// and leaves the result in `rax` (and, for `IN_XMM0`, in `xmm0`).
macro_rules! unary {
    ($g:expr, $op:expr, $leaves:expr, [$($body:tt)*]) => {{
        $g.handler($op, $leaves, |a| {
            idx_rax(a, F2);
            dynasm!(a ; .arch x64 ; $($body)*);
            put_rax(a, F1);
        });
    }};
    // With a variant whose body finds the operand in the accumulator `$reads`.
    ($g:expr, $op:expr, $leaves:expr, [$($body:tt)*], $reads:expr, [$($acc:tt)*]) => {{
        $g.consumer($op, &[($reads, F2)], $leaves, |a, v| {
            if v == 0 {
                idx_rax(a, F2);
                dynasm!(a ; .arch x64 ; $($body)*);
            } else {
                dynasm!(a ; .arch x64 ; $($acc)*);
            }
            put_rax(a, F1);
        });
    }};
}

/// Loads: `ea = u32(slot) + offset`, checked against the memory length, then `$ins`
/// reads `[r14 + rax]` into `rax`/`eax` (float loads also leave the value in `xmm0`).
macro_rules! load {
    ($g:expr, $op:expr, $n:expr, $leaves:expr, $($ins:tt)*) => {{
        let exit = $g.exit;
        $g.consumer($op, A_IN_RAX, $leaves, |a, v| {
            let acc = v == 1;
            if acc {
                // An i32 address: the accumulator's high half is not part of it.
                dynasm!(a ; .arch x64 ; mov eax, eax);
            } else {
                idx_rax(a, F2);
                load_a!(a, DWORD);
            }
            dynasm!(a
                ; .arch x64
                ; mov ecx, DWORD [r12 + F3]
                ; add rax, rcx
                ; lea rdx, [rax + $n]
                ; cmp rdx, r15
                ; ja =>exit
                ; $($ins)*
            );
            if $leaves & IN_XMM0 != 0 {
                dynasm!(a ; .arch x64 ; movq xmm0, rax);
            }
            put_rax(a, F1);
        });
    }};
}

/// Stores: the address as for loads, the value in `rcx`, then `$ins` writes `[r14 + rax]`.
/// Variants: the value (word 2) from accumulator `$reads`; the address (word 1) from rax.
macro_rules! store {
    ($g:expr, $op:expr, $n:expr, $reads:expr, $($ins:tt)*) => {{
        let exit = $g.exit;
        $g.consumer($op, &[($reads, F2), (IN_RAX, F1)], 0, |a, v| {
            match v {
                1 if $reads == IN_XMM0 => dynasm!(a ; .arch x64 ; movq rsi, xmm0),
                1 => dynasm!(a ; .arch x64 ; mov rsi, rax),
                _ => {}
            }
            if v == 2 {
                // An i32 address: the accumulator's high half is not part of it.
                dynasm!(a ; .arch x64 ; mov eax, eax);
            } else {
                idx_rax(a, F1);
                load_a!(a, DWORD);
            }
            dynasm!(a
                ; .arch x64
                ; mov ecx, DWORD [r12 + F3]
                ; add rax, rcx
                ; lea rdx, [rax + $n]
                ; cmp rdx, r15
                ; ja =>exit
            );
            if v == 1 {
                dynasm!(a ; .arch x64 ; mov rcx, rsi);
            } else {
                dynasm!(a
                    ; .arch x64
                    ; mov ecx, DWORD [r12 + F2]
                    ; mov rcx, QWORD [r13 + rcx * 8]
                );
            }
            dynasm!(a ; .arch x64 ; $($ins)*);
            dispatch_next(a, 1);
        });
    }};
}

/// Integer division and remainder. Division by zero and signed overflow leave for the
/// executor, which raises the trap; `rem_s` by -1 is 0 (x86 `idiv` would fault on MIN).
fn divisions(g: &mut Gen) {
    let exit = g.exit;
    let z = 0;
    for (op, signed, rem, wide) in [
        (Op::I32DivS { dst: 0, a: 0, b: 0 }, true, false, false),
        (Op::I32DivU { dst: 0, a: 0, b: 0 }, false, false, false),
        (Op::I32RemS { dst: 0, a: 0, b: 0 }, true, true, false),
        (Op::I32RemU { dst: 0, a: 0, b: 0 }, false, true, false),
        (Op::I64DivS { dst: 0, a: 0, b: 0 }, true, false, true),
        (Op::I64DivU { dst: 0, a: 0, b: 0 }, false, false, true),
        (Op::I64RemS { dst: 0, a: 0, b: 0 }, true, true, true),
        (Op::I64RemU { dst: 0, a: 0, b: 0 }, false, true, true),
    ] {
        g.start(op);
        g.leaves[tag_of(&op)] = IN_RAX;
        let a = &mut g.a;
        idx_rax(a, F2);
        idx_rcx(a, F3);
        if wide {
            dynasm!(a
                ; .arch x64
                ; mov rax, QWORD [r13 + rax * 8]
                ; mov rcx, QWORD [r13 + rcx * 8]
                ; test rcx, rcx
                ; jz =>exit
            );
        } else {
            dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r13 + rax * 8]
                ; mov ecx, DWORD [r13 + rcx * 8]
                ; test ecx, ecx
                ; jz =>exit
            );
        }
        match (signed, rem, wide) {
            (false, _, false) => dynasm!(a ; .arch x64 ; xor edx, edx ; div ecx),
            (false, _, true) => dynasm!(a ; .arch x64 ; xor edx, edx ; div rcx),
            (true, false, false) => dynasm!(a
                ; .arch x64
                ; cmp ecx, -1
                ; jne >ok
                ; cmp eax, i32::MIN
                ; je =>exit
                ; ok:
                ; cdq
                ; idiv ecx
            ),
            (true, false, true) => dynasm!(a
                ; .arch x64
                ; cmp rcx, -1
                ; jne >ok
                ; mov rdx, QWORD i64::MIN
                ; cmp rax, rdx
                ; je =>exit
                ; ok:
                ; cqo
                ; idiv rcx
            ),
            (true, true, false) => dynasm!(a
                ; .arch x64
                ; mov edx, z
                ; cmp ecx, -1
                ; je >done
                ; cdq
                ; idiv ecx
                ; done:
            ),
            (true, true, true) => dynasm!(a
                ; .arch x64
                ; mov edx, z
                ; cmp rcx, -1
                ; je >done
                ; cqo
                ; idiv rcx
                ; done:
            ),
        }
        if rem {
            // 32-bit results are zero-extended: `mov edx, edx` clears the high half.
            if wide {
                dynasm!(a ; .arch x64 ; mov rax, rdx);
            } else {
                dynasm!(a ; .arch x64 ; mov eax, edx);
            }
        } else if !wide {
            dynasm!(a ; .arch x64 ; mov eax, eax);
        }
        put_rax(a, F1);
    }
}

fn build(align: usize) -> Option<AsmInterp> {
    if !slice_layout_ok() {
        return None;
    }
    let mut a = Asm::new(0);
    let exit = a.new_dynamic_label();
    let mut g = Gen {
        a,
        exit,
        align,
        handlers: Vec::new(),
        leaves: vec![0; TAGS],
        acc: vec![[AccUse::default(); 2]; Op::COUNT],
        next_tag: Op::COUNT,
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
        ; mov r15, rcx
        ; mov rax, QWORD [r8 + C_FUNC]
        ; mov rbp, QWORD [rax + CF_OPS]
        ; lea rax, [rax + CF_COUNTERS]
        ; mov QWORD [rsp + S_COUNTERS], rax
    );
    if direct_threading() {
        dynasm!(g.a ; .arch x64 ; lea rbx, [=>code_start]);
    } else {
        dynasm!(g.a ; .arch x64 ; mov rbx, QWORD table_addr);
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

    let handled = g.handlers.len();
    let code = g.a.finalize().ok()?;
    if let Some(path) = std::env::var_os("STRATA_ASM_DUMP") {
        let _ = std::fs::write(path, &code[..]);
        for &(tag, off) in &g.handlers {
            eprintln!("handler tag {tag} at {off:#x}");
        }
    }
    let mem = CodeMemory::new(&code).ok()?;
    let base = mem.base() as usize;
    for t in table.iter_mut() {
        *t = base + exit_at;
    }
    let mut offsets = vec![exit_at as u32; TAGS];
    for &(tag, off) in &g.handlers {
        table[tag] = base + off;
        offsets[tag] = off as u32;
    }
    Some(AsmInterp {
        offsets: offsets.into(),
        _code: mem,
        _table: table,
        entry: base + entry,
        handled,
        leaves: g.leaves.into(),
        acc: g.acc.into(),
    })
}

/// Switches the handlers' registers to the function in `rcx` (a `*const CompiledFunc`):
/// `rbp` = its code, `[rsp]` = its counters.
fn enter_func(a: &mut Asm) {
    dynasm!(a
        ; .arch x64
        ; mov rbp, QWORD [rcx + CF_OPS]
        ; lea rax, [rcx + CF_COUNTERS]
        ; mov QWORD [rsp + S_COUNTERS], rax
    );
}

/// The rest of a call, with `rdx` = the `CallCtx` and `eax` = the callee's function index;
/// its frame starts at the slot in word `base`, and the caller goes on `step` ops further.
fn call_body(a: &mut Asm, exit: DynamicLabel, base: i32, step: i32) {
    dynasm!(a
        ; .arch x64
        ; mov r11d, eax
        ; sub eax, DWORD [rdx + C_NUM_IMPORTED]
        ; jb =>exit
        ; cmp eax, DWORD [rdx + C_NUM_TARGETS]
        ; jae =>exit
        ; mov rcx, QWORD [rdx + C_TARGETS]
        ; mov rcx, QWORD [rcx + rax * 8]
        ; test rcx, rcx
        ; jz =>exit
        ; mov r8, QWORD [rdx + C_DEPTH]
        ; add r8, 1
        ; cmp r8, QWORD [rdx + C_MAX_DEPTH]
        ; ja =>exit
        ; mov r9d, DWORD [rdx + C_FRAMES_LEN]
        ; cmp r9d, DWORD [rdx + C_FRAMES_CAP]
        ; jae =>exit
        // The callee's frame starts at the argument slots and must fit the value stack.
        ; mov r10d, DWORD [r12 + base]
        ; lea r10, [r13 + r10 * 8]
        ; mov esi, DWORD [rcx + CF_FRAME_SIZE]
        ; lea rsi, [r10 + rsi * 8]
        ; cmp rsi, QWORD [rdx + C_STACK_END]
        ; ja =>exit
    );
    if !cfg!(strata_no_counters) {
        dynasm!(a
            ; .arch x64
            ; mov rsi, QWORD [rcx + CF_COUNTERS + CALLS]
            ; add rsi, 1
            ; cmp rsi, QWORD [rcx + CF_COUNTERS + CALL_CHECK]
            ; jae =>exit
            ; mov QWORD [rcx + CF_COUNTERS + CALLS], rsi
        );
    }
    dynasm!(a
        ; .arch x64
        // Committed: push the caller's frame, make the callee current.
        ; mov QWORD [rdx + C_DEPTH], r8
        ; mov rsi, r9
        ; shl rsi, AF_SHIFT
        ; add rsi, QWORD [rdx + C_FRAMES]
        ; mov rdi, QWORD [rdx + C_FUNC]
        ; mov QWORD [rsi + AF_FUNC], rdi
        ; lea rdi, [r12 + step * OP]
        ; mov QWORD [rsi + AF_IP], rdi
        ; mov QWORD [rsi + AF_FP], r13
        ; mov edi, DWORD [rdx + C_FUNC_INDEX]
        ; mov DWORD [rsi + AF_INDEX], edi
        ; mov edi, DWORD [rdx + C_INSTANCE]
        ; mov DWORD [rsi + AF_INSTANCE], edi
        ; add r9d, 1
        ; mov DWORD [rdx + C_FRAMES_LEN], r9d
        ; mov QWORD [rdx + C_FUNC], rcx
        ; mov DWORD [rdx + C_FUNC_INDEX], r11d
        // The frame: declared locals zeroed, then the constant pool after them.
        ; mov eax, DWORD [rcx + CF_PARAMS]
        ; mov edi, DWORD [rcx + CF_LOCALS]
        ; zero:
        ; cmp eax, edi
        ; jae >zeroed
        ; mov QWORD [r10 + rax * 8], 0
        ; add eax, 1
        ; jmp <zero
        ; zeroed:
        ; mov rsi, QWORD [rcx + CF_CONSTS]
        ; mov r8, QWORD [rcx + CF_CONSTS + 8]
        ; lea r9, [r10 + rdi * 8]
        ; xor eax, eax
        ; copy:
        ; cmp rax, r8
        ; jae >copied
        ; mov r11, QWORD [rsi + rax * 8]
        ; mov QWORD [r9 + rax * 8], r11
        ; add rax, 1
        ; jmp <copy
        ; copied:
        ; mov r13, r10
    );
    enter_func(a);
    dynasm!(a ; .arch x64 ; mov r12, rbp);
    dispatch_next(a, 0);
}

/// `Call` of a defined function whose translation is in the call-target table, and the
/// returns of the frames such calls push. Everything else leaves for the executor before
/// changing anything: a call to an import or to compiled code, a callee at its call
/// counter's check point (the tier manager decides), the depth limit (the executor raises
/// the stack-overflow trap), a frame that does not fit the value stack, a full frame buffer,
/// and a return from the frame the run started in.
fn calls(g: &mut Gen) {
    let exit = g.exit;
    g.handler(Op::Call { func: 0, base: 0 }, 0, |a| {
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; mov eax, DWORD [r12 + F1]
        );
        call_body(a, exit, F2, 1);
    });

    // `CallIndirect { type_index, index, base }` and `Ext { a: table }`: a callee of table 0
    // found in the indirect-call cache under its cell and the expected type (the executor
    // fills it after the checks a call_indirect makes) is called like a `Call`; anything
    // else (another table, an index out of bounds, a null or unknown element) is the
    // executor's, with its traps.
    let op = Op::CallIndirect {
        type_index: 0,
        index: 0,
        base: 0,
    };
    g.handler(op, 0, |a| {
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; cmp DWORD [r12 + OP + F1], 0
            ; jne =>exit
            ; mov eax, DWORD [r12 + F2]
            ; mov eax, DWORD [r13 + rax * 8]
            ; cmp rax, QWORD [rdx + C_TABLE_LEN]
            ; jae =>exit
            ; mov rcx, QWORD [rdx + C_TABLE]
            ; mov rcx, QWORD [rcx + rax * 8]
            ; test rcx, rcx
            ; jz =>exit
            ; mov r8d, DWORD [r12 + F1]
            ; mov eax, ecx
            ; mov esi, r8d
            ; shl esi, ICACHE_TYPE_SHIFT
            ; xor eax, esi
            ; and eax, (ICACHE_ENTRIES - 1) as i32
            ; shl rax, IE_SHIFT
            ; add rax, QWORD [rdx + C_ICACHE]
            ; cmp QWORD [rax + IE_CELL], rcx
            ; jne =>exit
            ; cmp DWORD [rax + IE_TYPE], r8d
            ; jne =>exit
            ; mov eax, DWORD [rax + IE_FUNC]
        );
        call_body(a, exit, F3, 2);
    });
    // Returns: results go to the frame's first slots, then the caller's frame comes back.
    // `Return1` may find its value in an accumulator.
    let ret = |a: &mut Asm, op: Op, v: usize| {
        // The caller's frame must be an interpreter frame of this instance (the executor
        // returns from the outermost frame and switches instances). Checked before anything
        // changes: a `Return` the executor redoes must find its slots untouched.
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; mov r9d, DWORD [rdx + C_FRAMES_LEN]
            ; sub r9d, 1
            ; jb =>exit
            ; mov rsi, r9
            ; shl rsi, AF_SHIFT
            ; add rsi, QWORD [rdx + C_FRAMES]
            ; mov ecx, DWORD [rsi + AF_INSTANCE]
            ; cmp ecx, DWORD [rdx + C_INSTANCE]
            ; jne =>exit
        );
        match (op, v) {
            (Op::Return1 { .. }, 0) => dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r12 + F1]
                ; mov rax, QWORD [r13 + rax * 8]
                ; mov QWORD [r13], rax
            ),
            (Op::Return1 { .. }, 1) => dynasm!(a ; .arch x64 ; mov QWORD [r13], rax),
            (Op::Return1 { .. }, _) => dynasm!(a ; .arch x64 ; movsd QWORD [r13], xmm0),
            // `n` slots from `src` down to slot 0: ascending, as `src >= 0`.
            (Op::Return { .. }, _) => dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r12 + F1]
                ; lea rdi, [r13 + rax * 8]
                ; mov r8d, DWORD [r12 + F2]
                ; xor eax, eax
                ; copy:
                ; cmp rax, r8
                ; jae >copied
                ; mov r11, QWORD [rdi + rax * 8]
                ; mov QWORD [r13 + rax * 8], r11
                ; add rax, 1
                ; jmp <copy
                ; copied:
            ),
            _ => {}
        }
        dynasm!(a
            ; .arch x64
            ; mov DWORD [rdx + C_FRAMES_LEN], r9d
            ; sub QWORD [rdx + C_DEPTH], 1
            ; mov rcx, QWORD [rsi + AF_FUNC]
            ; mov QWORD [rdx + C_FUNC], rcx
            ; mov eax, DWORD [rsi + AF_INDEX]
            ; mov DWORD [rdx + C_FUNC_INDEX], eax
            ; mov r12, QWORD [rsi + AF_IP]
            ; mov r13, QWORD [rsi + AF_FP]
        );
        enter_func(a);
        dispatch_next(a, 0);
    };
    g.handler(Op::Return0, 0, |a| ret(a, Op::Return0, 0));
    let op = Op::Return { src: 0, n: 0 };
    g.handler(op, 0, |a| ret(a, op, 0));
    let op = Op::Return1 { src: 0 };
    g.consumer(op, &[(IN_RAX, F1), (IN_XMM0, F1)], 0, |a, v| ret(a, op, v));
}

fn emit_handlers(g: &mut Gen) {
    let z = 0;
    let exit = g.exit;
    macro_rules! op3 {
        ($k:ident) => {
            Op::$k { dst: z, a: z, b: z }
        };
    }
    macro_rules! opi {
        ($k:ident) => {
            Op::$k {
                dst: z,
                a: z,
                imm: 0,
            }
        };
    }
    macro_rules! op2 {
        ($k:ident) => {
            Op::$k { dst: z, a: z }
        };
    }
    macro_rules! opl {
        ($k:ident) => {
            Op::$k {
                dst: z,
                addr: z,
                offset: 0,
            }
        };
    }
    macro_rules! ops {
        ($k:ident) => {
            Op::$k {
                addr: z,
                val: z,
                offset: 0,
            }
        };
    }
    macro_rules! opb {
        ($k:ident) => {
            Op::$k {
                a: z,
                b: z,
                target: 0,
            }
        };
    }
    macro_rules! opbi {
        ($k:ident) => {
            Op::$k {
                a: z,
                imm: 0,
                target: 0,
            }
        };
    }

    calls(g);

    // Control and moves.
    g.start(Op::Br { target: 0 });
    taken(&mut g.a, exit, F1);

    for (op, jcc_nz) in [
        (Op::BrIfNez { cond: 0, target: 0 }, true),
        (Op::BrIfEqz { cond: 0, target: 0 }, false),
    ] {
        g.consumer(op, &[(IN_RAX, F1)], 0, |a, v| {
            let acc = v == 1;
            if acc {
                dynasm!(a ; .arch x64 ; test eax, eax);
            } else {
                idx_rax(a, F1);
                dynasm!(a ; .arch x64 ; cmp DWORD [r13 + rax * 8], 0);
            }
            if jcc_nz {
                dynasm!(a ; .arch x64 ; jne >taken);
            } else {
                dynasm!(a ; .arch x64 ; je >taken);
            }
            dispatch_next(a, 1);
            dynasm!(a ; .arch x64 ; taken:);
            taken(a, exit, F2);
        });
    }

    // `BrTable` is followed by `len + 1` `Br` entries: go to the chosen one.
    g.consumer(
        Op::BrTable { index: 0, len: 0 },
        &[(IN_RAX, F1)],
        0,
        |a, v| {
            if v == 0 {
                idx_rax(a, F1);
                load_a!(a, DWORD);
            }
            dynasm!(a
                ; .arch x64
                ; mov ecx, DWORD [r12 + F2]
                ; cmp eax, ecx
                ; cmova eax, ecx
                ; add eax, 1
                ; shl rax, 4
                ; add r12, rax
            );
            dispatch_next(a, 0);
        },
    );

    // A copy of a float result can take it from xmm0.
    let copy_uses = &[(IN_RAX, F2), (IN_XMM0, F2)];
    g.consumer(Op::Copy { dst: 0, src: 0 }, copy_uses, IN_RAX, |a, v| {
        match v {
            0 => {
                idx_rax(a, F2);
                load_a!(a, QWORD);
            }
            1 => {}
            _ => dynasm!(a ; .arch x64 ; movq rax, xmm0),
        }
        put_rax(a, F1);
    });
    g.handler(Op::Const32 { dst: 0, val: 0 }, IN_RAX, |a| {
        dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + F2]);
        put_rax(a, F1);
    });
    g.handler(Op::Const64 { dst: 0, val: 0 }, IN_RAX, |a| {
        dynasm!(a ; .arch x64 ; mov rax, QWORD [r12 + F2]);
        put_rax(a, F1);
    });

    // `Select` is followed by `Ext { a: cond }`.
    g.start(Op::Select { dst: 0, a: 0, b: 0 });
    dynasm!(g.a
        ; .arch x64
        ; mov eax, DWORD [r12 + OP + F1]
        ; mov ecx, DWORD [r12 + F2]
        ; mov edx, DWORD [r12 + F3]
        ; cmp DWORD [r13 + rax * 8], 0
        ; cmove ecx, edx
        ; mov rax, QWORD [r13 + rcx * 8]
        ; mov ecx, DWORD [r12 + F1]
        ; mov QWORD [r13 + rcx * 8], rax
    );
    dispatch_next(&mut g.a, 2);

    // Integer arithmetic.
    bin_mem!(g, op3!(I32Add), DWORD, add eax);
    bin_mem!(g, op3!(I32Sub), DWORD, sub eax);
    bin_mem!(g, op3!(I32Mul), DWORD, imul eax);
    bin_mem!(g, op3!(I32And), DWORD, and eax);
    bin_mem!(g, op3!(I32Or), DWORD, or eax);
    bin_mem!(g, op3!(I32Xor), DWORD, xor eax);
    bin_mem!(g, op3!(I64Add), QWORD, add rax);
    bin_mem!(g, op3!(I64Sub), QWORD, sub rax);
    bin_mem!(g, op3!(I64Mul), QWORD, imul rax);
    bin_mem!(g, op3!(I64And), QWORD, and rax);
    bin_mem!(g, op3!(I64Or), QWORD, or rax);
    bin_mem!(g, op3!(I64Xor), QWORD, xor rax);
    shift!(g, op3!(I32Shl), shl eax, cl);
    shift!(g, op3!(I32ShrS), sar eax, cl);
    shift!(g, op3!(I32ShrU), shr eax, cl);
    shift!(g, op3!(I32Rotl), rol eax, cl);
    shift!(g, op3!(I32Rotr), ror eax, cl);
    shift!(g, op3!(I64Shl), shl rax, cl);
    shift!(g, op3!(I64ShrS), sar rax, cl);
    shift!(g, op3!(I64ShrU), shr rax, cl);
    shift!(g, op3!(I64Rotl), rol rax, cl);
    shift!(g, op3!(I64Rotr), ror rax, cl);
    divisions(g);

    imm_op!(g, opi!(I32AddImm), DWORD, add eax);
    imm_op!(g, opi!(I32MulImm), DWORD, imul eax);
    imm_op!(g, opi!(I32AndImm), DWORD, and eax);
    imm_op!(g, opi!(I32OrImm), DWORD, or eax);
    imm_op!(g, opi!(I32XorImm), DWORD, xor eax);
    imm_op!(g, opi!(I64AddImm), QWORD, add rax);
    imm_op!(g, opi!(I64MulImm), QWORD, imul rax);
    imm_op!(g, opi!(I64AndImm), QWORD, and rax);
    imm_op!(g, opi!(I64OrImm), QWORD, or rax);
    imm_op!(g, opi!(I64XorImm), QWORD, xor rax);
    shift_imm!(g, opi!(I32ShlImm), shl eax, cl);
    shift_imm!(g, opi!(I32ShrSImm), sar eax, cl);
    shift_imm!(g, opi!(I32ShrUImm), shr eax, cl);
    shift_imm!(g, opi!(I32RotlImm), rol eax, cl);
    shift_imm!(g, opi!(I32RotrImm), ror eax, cl);
    shift_imm!(g, opi!(I64ShlImm), shl rax, cl);
    shift_imm!(g, opi!(I64ShrSImm), sar rax, cl);
    shift_imm!(g, opi!(I64ShrUImm), shr rax, cl);
    shift_imm!(g, opi!(I64RotlImm), rol rax, cl);
    shift_imm!(g, opi!(I64RotrImm), ror rax, cl);

    // Integer comparisons.
    cmp_slots!(g, op3!(I32Eq), DWORD, sete);
    cmp_slots!(g, op3!(I32Ne), DWORD, setne);
    cmp_slots!(g, op3!(I32LtS), DWORD, setl);
    cmp_slots!(g, op3!(I32LtU), DWORD, setb);
    cmp_slots!(g, op3!(I32GtS), DWORD, setg);
    cmp_slots!(g, op3!(I32GtU), DWORD, seta);
    cmp_slots!(g, op3!(I32LeS), DWORD, setle);
    cmp_slots!(g, op3!(I32LeU), DWORD, setbe);
    cmp_slots!(g, op3!(I32GeS), DWORD, setge);
    cmp_slots!(g, op3!(I32GeU), DWORD, setae);
    cmp_slots!(g, op3!(I64Eq), QWORD, sete);
    cmp_slots!(g, op3!(I64Ne), QWORD, setne);
    cmp_slots!(g, op3!(I64LtS), QWORD, setl);
    cmp_slots!(g, op3!(I64LtU), QWORD, setb);
    cmp_slots!(g, op3!(I64GtS), QWORD, setg);
    cmp_slots!(g, op3!(I64GtU), QWORD, seta);
    cmp_slots!(g, op3!(I64LeS), QWORD, setle);
    cmp_slots!(g, op3!(I64LeU), QWORD, setbe);
    cmp_slots!(g, op3!(I64GeS), QWORD, setge);
    cmp_slots!(g, op3!(I64GeU), QWORD, setae);
    cmp_imm!(g, opi!(I32EqImm), DWORD, sete);
    cmp_imm!(g, opi!(I32NeImm), DWORD, setne);
    cmp_imm!(g, opi!(I32LtSImm), DWORD, setl);
    cmp_imm!(g, opi!(I32LtUImm), DWORD, setb);
    cmp_imm!(g, opi!(I32GtSImm), DWORD, setg);
    cmp_imm!(g, opi!(I32GtUImm), DWORD, seta);
    cmp_imm!(g, opi!(I32LeSImm), DWORD, setle);
    cmp_imm!(g, opi!(I32LeUImm), DWORD, setbe);
    cmp_imm!(g, opi!(I32GeSImm), DWORD, setge);
    cmp_imm!(g, opi!(I32GeUImm), DWORD, setae);
    cmp_imm!(g, opi!(I64EqImm), QWORD, sete);
    cmp_imm!(g, opi!(I64NeImm), QWORD, setne);
    cmp_imm!(g, opi!(I64LtSImm), QWORD, setl);
    cmp_imm!(g, opi!(I64LtUImm), QWORD, setb);
    cmp_imm!(g, opi!(I64GtSImm), QWORD, setg);
    cmp_imm!(g, opi!(I64GtUImm), QWORD, seta);
    cmp_imm!(g, opi!(I64LeSImm), QWORD, setle);
    cmp_imm!(g, opi!(I64LeUImm), QWORD, setbe);
    cmp_imm!(g, opi!(I64GeSImm), QWORD, setge);
    cmp_imm!(g, opi!(I64GeUImm), QWORD, setae);

    // Unary integer operations and conversions.
    unary!(g, op2!(I32Eqz), IN_RAX, [xor ecx, ecx ; cmp DWORD [r13 + rax * 8], 0 ; sete cl ; mov eax, ecx], IN_RAX, [xor ecx, ecx ; test eax, eax ; sete cl ; mov eax, ecx]);
    unary!(g, op2!(I64Eqz), IN_RAX, [xor ecx, ecx ; cmp QWORD [r13 + rax * 8], 0 ; sete cl ; mov eax, ecx], IN_RAX, [xor ecx, ecx ; test rax, rax ; sete cl ; mov eax, ecx]);
    unary!(g, op2!(I32Clz), IN_RAX, [lzcnt eax, DWORD [r13 + rax * 8]]);
    unary!(g, op2!(I32Ctz), IN_RAX, [tzcnt eax, DWORD [r13 + rax * 8]]);
    unary!(g, op2!(I32Popcnt), IN_RAX, [popcnt eax, DWORD [r13 + rax * 8]]);
    unary!(g, op2!(I64Clz), IN_RAX, [lzcnt rax, QWORD [r13 + rax * 8]]);
    unary!(g, op2!(I64Ctz), IN_RAX, [tzcnt rax, QWORD [r13 + rax * 8]]);
    unary!(g, op2!(I64Popcnt), IN_RAX, [popcnt rax, QWORD [r13 + rax * 8]]);
    unary!(g, op2!(I32WrapI64), IN_RAX, [mov eax, DWORD [r13 + rax * 8]], IN_RAX, [mov eax, eax]);
    unary!(g, op2!(I64ExtendI32S), IN_RAX, [movsxd rax, DWORD [r13 + rax * 8]], IN_RAX, [movsxd rax, eax]);
    unary!(g, op2!(I64ExtendI32U), IN_RAX, [mov eax, DWORD [r13 + rax * 8]], IN_RAX, [mov eax, eax]);
    unary!(g, op2!(I32Extend8S), IN_RAX, [movsx eax, BYTE [r13 + rax * 8]], IN_RAX, [movsx eax, al]);
    unary!(g, op2!(I32Extend16S), IN_RAX, [movsx eax, WORD [r13 + rax * 8]], IN_RAX, [movsx eax, ax]);
    unary!(g, op2!(I64Extend8S), IN_RAX, [movsx rax, BYTE [r13 + rax * 8]], IN_RAX, [movsx rax, al]);
    unary!(g, op2!(I64Extend16S), IN_RAX, [movsx rax, WORD [r13 + rax * 8]], IN_RAX, [movsx rax, ax]);
    unary!(g, op2!(I64Extend32S), IN_RAX, [movsxd rax, DWORD [r13 + rax * 8]], IN_RAX, [movsxd rax, eax]);

    // Float operations that are one SSE instruction, bit for bit what Rust computes.
    fbin!(g, op3!(F32Add), f32, addss);
    fbin!(g, op3!(F32Sub), f32, subss);
    fbin!(g, op3!(F32Mul), f32, mulss);
    fbin!(g, op3!(F32Div), f32, divss);
    fbin!(g, op3!(F64Add), f64, addsd);
    fbin!(g, op3!(F64Sub), f64, subsd);
    fbin!(g, op3!(F64Mul), f64, mulsd);
    fbin!(g, op3!(F64Div), f64, divsd);
    unary!(g, op2!(F32Abs), IN_RAX, [mov eax, DWORD [r13 + rax * 8] ; and eax, 0x7fff_ffff], IN_RAX, [and eax, 0x7fff_ffff]);
    unary!(g, op2!(F32Neg), IN_RAX, [mov eax, DWORD [r13 + rax * 8] ; xor eax, i32::MIN], IN_RAX, [xor eax, i32::MIN]);
    unary!(g, op2!(F64Abs), IN_RAX, [mov rax, QWORD [r13 + rax * 8] ; btr rax, 63], IN_RAX, [btr rax, 63]);
    unary!(g, op2!(F64Neg), IN_RAX, [mov rax, QWORD [r13 + rax * 8] ; btc rax, 63], IN_RAX, [btc rax, 63]);
    unary!(g, op2!(F32Sqrt), IN_RAX | IN_XMM0, [sqrtss xmm0, DWORD [r13 + rax * 8] ; movd eax, xmm0], IN_XMM0, [sqrtss xmm0, xmm0 ; movd eax, xmm0]);
    unary!(g, op2!(F64Sqrt), IN_RAX | IN_XMM0, [sqrtsd xmm0, QWORD [r13 + rax * 8] ; movq rax, xmm0], IN_XMM0, [sqrtsd xmm0, xmm0 ; movq rax, xmm0]);
    unary!(g, op2!(F64ConvertI32S), IN_RAX | IN_XMM0, [cvtsi2sd xmm0, DWORD [r13 + rax * 8] ; movq rax, xmm0], IN_RAX, [cvtsi2sd xmm0, eax ; movq rax, xmm0]);
    unary!(g, op2!(F64ConvertI32U), IN_RAX | IN_XMM0, [mov eax, DWORD [r13 + rax * 8] ; cvtsi2sd xmm0, rax ; movq rax, xmm0], IN_RAX, [mov eax, eax ; cvtsi2sd xmm0, rax ; movq rax, xmm0]);
    unary!(g, op2!(F64ConvertI64S), IN_RAX | IN_XMM0, [cvtsi2sd xmm0, QWORD [r13 + rax * 8] ; movq rax, xmm0], IN_RAX, [cvtsi2sd xmm0, rax ; movq rax, xmm0]);
    unary!(g, op2!(F32ConvertI32S), IN_RAX | IN_XMM0, [cvtsi2ss xmm0, DWORD [r13 + rax * 8] ; movd eax, xmm0], IN_RAX, [cvtsi2ss xmm0, eax ; movd eax, xmm0]);
    unary!(g, op2!(F32ConvertI32U), IN_RAX | IN_XMM0, [mov eax, DWORD [r13 + rax * 8] ; cvtsi2ss xmm0, rax ; movd eax, xmm0], IN_RAX, [mov eax, eax ; cvtsi2ss xmm0, rax ; movd eax, xmm0]);
    unary!(g, op2!(F32ConvertI64S), IN_RAX | IN_XMM0, [cvtsi2ss xmm0, QWORD [r13 + rax * 8] ; movd eax, xmm0], IN_RAX, [cvtsi2ss xmm0, rax ; movd eax, xmm0]);
    unary!(g, op2!(F64PromoteF32), IN_RAX | IN_XMM0, [cvtss2sd xmm0, DWORD [r13 + rax * 8] ; movq rax, xmm0], IN_XMM0, [cvtss2sd xmm0, xmm0 ; movq rax, xmm0]);
    unary!(g, op2!(F32DemoteF64), IN_RAX | IN_XMM0, [cvtsd2ss xmm0, QWORD [r13 + rax * 8] ; movd eax, xmm0], IN_XMM0, [cvtsd2ss xmm0, xmm0 ; movd eax, xmm0]);

    fcmp!(g, op3!(F64Eq), f64, F2, F3, sete al ; setnp dl ; and al, dl ; movzx eax, al);
    fcmp!(g, op3!(F64Ne), f64, F2, F3, setne al ; setp dl ; or al, dl ; movzx eax, al);
    fcmp!(g, op3!(F64Lt), f64, F3, F2, seta al ; movzx eax, al);
    fcmp!(g, op3!(F64Gt), f64, F2, F3, seta al ; movzx eax, al);
    fcmp!(g, op3!(F64Le), f64, F3, F2, setae al ; movzx eax, al);
    fcmp!(g, op3!(F64Ge), f64, F2, F3, setae al ; movzx eax, al);
    fcmp!(g, op3!(F32Eq), f32, F2, F3, sete al ; setnp dl ; and al, dl ; movzx eax, al);
    fcmp!(g, op3!(F32Ne), f32, F2, F3, setne al ; setp dl ; or al, dl ; movzx eax, al);
    fcmp!(g, op3!(F32Lt), f32, F3, F2, seta al ; movzx eax, al);
    fcmp!(g, op3!(F32Gt), f32, F2, F3, seta al ; movzx eax, al);
    fcmp!(g, op3!(F32Le), f32, F3, F2, setae al ; movzx eax, al);
    fcmp!(g, op3!(F32Ge), f32, F2, F3, setae al ; movzx eax, al);

    // Memory.
    load!(g, opl!(I32Load), 4, IN_RAX, mov eax, DWORD [r14 + rax]);
    load!(g, opl!(I64Load), 8, IN_RAX, mov rax, QWORD [r14 + rax]);
    load!(g, opl!(F32Load), 4, IN_RAX | IN_XMM0, mov eax, DWORD [r14 + rax]);
    load!(g, opl!(F64Load), 8, IN_RAX | IN_XMM0, mov rax, QWORD [r14 + rax]);
    load!(g, opl!(I32Load8S), 1, IN_RAX, movsx eax, BYTE [r14 + rax]);
    load!(g, opl!(I32Load8U), 1, IN_RAX, movzx eax, BYTE [r14 + rax]);
    load!(g, opl!(I32Load16S), 2, IN_RAX, movsx eax, WORD [r14 + rax]);
    load!(g, opl!(I32Load16U), 2, IN_RAX, movzx eax, WORD [r14 + rax]);
    load!(g, opl!(I64Load8S), 1, IN_RAX, movsx rax, BYTE [r14 + rax]);
    load!(g, opl!(I64Load8U), 1, IN_RAX, movzx eax, BYTE [r14 + rax]);
    load!(g, opl!(I64Load16S), 2, IN_RAX, movsx rax, WORD [r14 + rax]);
    load!(g, opl!(I64Load16U), 2, IN_RAX, movzx eax, WORD [r14 + rax]);
    load!(g, opl!(I64Load32S), 4, IN_RAX, movsxd rax, DWORD [r14 + rax]);
    load!(g, opl!(I64Load32U), 4, IN_RAX, mov eax, DWORD [r14 + rax]);
    store!(g, ops!(I32Store), 4, IN_RAX, mov DWORD [r14 + rax], ecx);
    store!(g, ops!(I64Store), 8, IN_RAX, mov QWORD [r14 + rax], rcx);
    store!(g, ops!(F32Store), 4, IN_XMM0, mov DWORD [r14 + rax], ecx);
    store!(g, ops!(F64Store), 8, IN_XMM0, mov QWORD [r14 + rax], rcx);
    store!(g, ops!(I32Store8), 1, IN_RAX, mov BYTE [r14 + rax], cl);
    store!(g, ops!(I32Store16), 2, IN_RAX, mov WORD [r14 + rax], cx);
    store!(g, ops!(I64Store8), 1, IN_RAX, mov BYTE [r14 + rax], cl);
    store!(g, ops!(I64Store16), 2, IN_RAX, mov WORD [r14 + rax], cx);
    store!(g, ops!(I64Store32), 4, IN_RAX, mov DWORD [r14 + rax], ecx);

    // Fused compare-and-branch.
    br_slots!(g, opb!(BrI32Eq), DWORD, je);
    br_slots!(g, opb!(BrI32Ne), DWORD, jne);
    br_slots!(g, opb!(BrI32LtS), DWORD, jl);
    br_slots!(g, opb!(BrI32LtU), DWORD, jb);
    br_slots!(g, opb!(BrI32GtS), DWORD, jg);
    br_slots!(g, opb!(BrI32GtU), DWORD, ja);
    br_slots!(g, opb!(BrI32LeS), DWORD, jle);
    br_slots!(g, opb!(BrI32LeU), DWORD, jbe);
    br_slots!(g, opb!(BrI32GeS), DWORD, jge);
    br_slots!(g, opb!(BrI32GeU), DWORD, jae);
    br_slots!(g, opb!(BrI64Eq), QWORD, je);
    br_slots!(g, opb!(BrI64Ne), QWORD, jne);
    br_slots!(g, opb!(BrI64LtS), QWORD, jl);
    br_slots!(g, opb!(BrI64LtU), QWORD, jb);
    br_slots!(g, opb!(BrI64GtS), QWORD, jg);
    br_slots!(g, opb!(BrI64GtU), QWORD, ja);
    br_slots!(g, opb!(BrI64LeS), QWORD, jle);
    br_slots!(g, opb!(BrI64LeU), QWORD, jbe);
    br_slots!(g, opb!(BrI64GeS), QWORD, jge);
    br_slots!(g, opb!(BrI64GeU), QWORD, jae);
    br_imm!(g, opbi!(BrI32EqImm), DWORD, je);
    br_imm!(g, opbi!(BrI32NeImm), DWORD, jne);
    br_imm!(g, opbi!(BrI32LtSImm), DWORD, jl);
    br_imm!(g, opbi!(BrI32LtUImm), DWORD, jb);
    br_imm!(g, opbi!(BrI32GtSImm), DWORD, jg);
    br_imm!(g, opbi!(BrI32GtUImm), DWORD, ja);
    br_imm!(g, opbi!(BrI32LeSImm), DWORD, jle);
    br_imm!(g, opbi!(BrI32LeUImm), DWORD, jbe);
    br_imm!(g, opbi!(BrI32GeSImm), DWORD, jge);
    br_imm!(g, opbi!(BrI32GeUImm), DWORD, jae);
    br_imm!(g, opbi!(BrI64EqImm), QWORD, je);
    br_imm!(g, opbi!(BrI64NeImm), QWORD, jne);
    br_imm!(g, opbi!(BrI64LtSImm), QWORD, jl);
    br_imm!(g, opbi!(BrI64LtUImm), QWORD, jb);
    br_imm!(g, opbi!(BrI64GtSImm), QWORD, jg);
    br_imm!(g, opbi!(BrI64GtUImm), QWORD, ja);
    br_imm!(g, opbi!(BrI64LeSImm), QWORD, jle);
    br_imm!(g, opbi!(BrI64LeUImm), QWORD, jbe);
    br_imm!(g, opbi!(BrI64GeSImm), QWORD, jge);
    br_imm!(g, opbi!(BrI64GeUImm), QWORD, jae);
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
    fn generates() {
        let g = build(16).expect("code memory");
        assert!(g.handled > 200, "{} handlers", g.handled);
        assert!(build(64).is_some());
    }
}
