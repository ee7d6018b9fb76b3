//! Lazy translation of one validated function body into `Op`s, in a single pass.
//!
//! The translator keeps an abstract operand stack whose entries are either already in their
//! slot (`Temp`), still in a local (`Local`) or a pending constant (`Const`), so `local.get` and
//! constants cost no instruction of their own. Rules that keep this correct:
//! - At every block, loop and if entry the whole abstract stack is materialised, so a pending
//!   `Local` entry never crosses a control boundary; `local.set`/`local.tee` materialise the
//!   pending reads of the local they write.
//! - Code that runs only on a conditional path (the copies of a taken `br_if`, `br_table`
//!   stubs) never changes the abstract stack; only unconditional code materialises.

//!
//! Control frames, reachability and loop ordinals are the shared front end's
//! (`strata_vm::frontend::ControlStack`); a frame's payload here is its `Labels`.
//!
//! Speed notes: operators arrive through wasmparser's `VisitOperator` (no `Operator` values)
//! from a plain `BinaryReader` whose frame stack is `Translator::ctrl`; the visitor returns
//! `()` (errors are parked in `Translator::error`); the per-function vectors are reused
//! across the functions a thread translates; forward branches wait for their target in a
//! chain threaded through their own target fields, so control frames own no vector.

use super::code::{
    fuse_branch, CompiledFunc, Counters, Handler, LoopInfo, MemAccess, Op, Reg, INIT_CHUNK, NO_EXN,
};
use strata_vm::frontend::{Arity, ControlKind as Kind, ControlStack};
use strata_vm::module::Module;
use strata_vm::InterpMode;
use wasmparser::{
    BinaryReader, BlockType, BrTable, FrameKind, FrameStack, MemArg, MemArgTarget, VisitOperator,
};

type Res = Result<(), String>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    /// In its own slot.
    Temp,
    /// The current value of a local.
    Local(u32),
    /// A constant not yet written anywhere.
    Const(u64),
}

/// The interpreter's part of a control frame (the front end's payload).
#[derive(Clone, Copy, Debug)]
struct Labels {
    /// For loops: the header pc.
    header: u32,
    /// Branches to patch with the end pc: the head of a chain through their target fields
    /// (`NO_FIXUP` ends it; see `add_fixup`).
    fixups: u32,
    /// For `if`: the conditional branch to the else arm.
    else_fixup: Option<usize>,
    /// For a legacy `try` in a catch clause: the end of its body (the handlers' range is
    /// `header..body_end`; a try's `header` is its body's first pc).
    body_end: u32,
}

/// The payload of a frame that needs no labels (the function's, dead frames).
const NO_LABELS: Labels = Labels {
    header: 0,
    fixups: NO_FIXUP,
    else_fixup: None,
    body_end: 0,
};

/// The end of a fixup chain.
const NO_FIXUP: u32 = u32::MAX;

struct Translator<'m> {
    module: &'m Module,
    ops: Vec<Op>,
    stack: Vec<Entry>,
    ctrl: ControlStack<Labels>,
    num_locals: u32,
    max_height: u32,
    /// Number of `Local` entries on the stack, to skip scans when there are none.
    pending_locals: usize,
    /// Constants used as operands, each read from a frame slot filled on entry. Operands
    /// name them `CONST_TAG | index` until the end, when every register is renumbered.
    consts: Vec<u64>,
    /// Position of the most recent branch target. An instruction before it may be reached
    /// by a path that skipped the instruction, so peepholes never rewrite across it.
    last_label: usize,
    loops: Vec<LoopInfo>,
    /// The first error (see the `VisitOperator` impl).
    error: Option<String>,
    /// The cell of each local and, last, the number of local cells; empty when no local is
    /// a v128 (then local `i` is cell `i`).
    local_cells: Vec<u32>,
    /// Stack positions holding the high cell of a v128, ascending (`simd_translate.rs`).
    hi: Vec<u32>,
    /// Exception handlers, in search order (innermost try first; docs/abi.md §10).
    handlers: Vec<Handler>,
    /// Catch clauses of the open `try_table`s, innermost last, waiting for their try's
    /// `end` to know their range.
    pending_catches: Vec<Handler>,
}

/// Vectors of `Translator` kept between the functions a thread translates (a module has
/// thousands of small functions). The results are copied out into exactly sized slices.
#[derive(Default)]
struct Bufs {
    ops: Vec<Op>,
    stack: Vec<Entry>,
    ctrl: ControlStack<Labels>,
    consts: Vec<u64>,
    loops: Vec<LoopInfo>,
}

impl Bufs {
    fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.ops.capacity() * size_of::<Op>()
            + self.stack.capacity() * size_of::<Entry>()
            + self.ctrl.capacity_bytes()
            + self.consts.capacity() * size_of::<u64>()
            + self.loops.capacity() * size_of::<LoopInfo>()
    }
}

/// Buffers that grew beyond this many bytes (after a huge function) are not kept.
const MAX_KEPT_BYTES: usize = 1 << 20;

thread_local! {
    static BUFS: std::cell::RefCell<Bufs> = std::cell::RefCell::new(Bufs::default());
}

/// Translates defined function `def_index` of `module`. The body was validated with the
/// module, so malformed input cannot reach here; an internal inconsistency is an `Err`.
pub fn translate(
    module: &Module,
    def_index: usize,
    mode: InterpMode,
) -> Result<CompiledFunc, String> {
    translate_impl::<true, false>(module, def_index, mode, &mut Vec::new())
}

/// Where the translation of defined function `def_index` came from: for each wasm
/// instruction that emitted code, `(pc of its first instruction, byte offset of the wasm
/// instruction in the module)`, sorted by pc. An instruction that emits nothing is folded
/// into the next that does; extension words and instructions rewritten in place by a later
/// one (a `local.set` retargeting the result, a compare fused into a branch) keep the
/// offset of the instruction that emitted them.
///
/// Built on demand by translating the function again (translation is deterministic for a
/// mode): only backtraces need it, so translation itself pays nothing for it and the
/// interpreter keeps no table per function.
pub fn wasm_offsets(
    module: &Module,
    def_index: usize,
    mode: InterpMode,
) -> Result<Vec<(u32, u32)>, String> {
    let mut offsets = Vec::new();
    translate_impl::<true, true>(module, def_index, mode, &mut offsets)?;
    Ok(offsets)
}

/// `FAST`: decode the common operators in `visit_common` (always, except in the test that
/// checks it against wasmparser's decoding). `RECORD`: fill `offsets` (`wasm_offsets`); a
/// separate instantiation, so plain translation has no extra work per operator.
fn translate_impl<const FAST: bool, const RECORD: bool>(
    module: &Module,
    def_index: usize,
    mode: InterpMode,
    offsets: &mut Vec<(u32, u32)>,
) -> Result<CompiledFunc, String> {
    let func_index = module.num_imported_funcs + def_index as u32;
    let ty = module.func_type(func_index);
    let body = module.body(def_index);
    let mut num_locals = ty.params().len() as u64;
    let mut locals = body.get_locals_reader().map_err(|e| e.to_string())?;
    let mut wide_locals = ty.params().contains(&strata_vm::ValType::V128);
    let mut declared = Vec::new();
    for _ in 0..locals.get_count() {
        let (count, t) = locals.read().map_err(|e| e.to_string())?;
        num_locals += count as u64;
        wide_locals |= t == wasmparser::ValType::V128;
        declared.push((count, t == wasmparser::ValType::V128));
    }
    if num_locals > (u32::MAX / 4) as u64 {
        return Err("function has too many locals".into());
    }
    // v128 locals take two cells (docs/abi.md §1): locals are renumbered by cell.
    let local_cells = if wide_locals {
        simd::local_cells(ty.params(), &declared)
    } else {
        Vec::new()
    };
    if let Some(&cells) = local_cells.last() {
        num_locals = cells as u64;
    }
    let mut reader = locals.get_binary_reader();
    // The vectors are reused from the previous function of this thread.
    let Bufs {
        mut ops,
        mut stack,
        mut ctrl,
        mut consts,
        mut loops,
    } = BUFS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    ops.clear();
    stack.clear();
    ctrl.start(ty.result_cells(), NO_LABELS);
    consts.clear();
    loops.clear();
    let mut t = Translator {
        module,
        ops,
        stack,
        ctrl,
        num_locals: num_locals as u32,
        max_height: 0,
        pending_locals: 0,
        consts,
        last_label: 0,
        loops,
        error: None,
        local_cells,
        hi: Vec::new(),
        handlers: Vec::new(),
        pending_catches: Vec::new(),
    };
    // The function entry's interruption point (design.md §13).
    t.interruption_point();
    // A plain `BinaryReader` with the translator as its frame stack (wasmparser's syntactic
    // checks of `else`/`end` read `ctrl`).
    // The body's bytes; the reader's positions index them.
    let code = module.body_bytes(def_index);
    while !reader.eof() {
        if RECORD {
            let pc = t.ops.len() as u32;
            let at = reader.original_position() as u32;
            // The first entry stays: it is the function's first instruction, where a
            // frame stopped on entry is (`OffsetTable::first`).
            let merge = offsets.len() > 1;
            match offsets.last_mut() {
                Some(last) if last.0 == pc && merge => last.1 = at,
                _ => offsets.push((pc, at)),
            }
        }
        let done = FAST && visit_common(&mut t, &mut reader, code).map_err(|e| e.to_string())?;
        if !done {
            reader.visit_operator(&mut t).map_err(|e| e.to_string())?;
        }
        if t.error.is_some() {
            return Err(t.error.take().unwrap_or_default());
        }
    }
    if !t.ctrl.is_empty() {
        return Err("function body ended inside a block".into());
    }
    // Sentinel: the code already ends in a terminator; this only guards the invariant
    // that execution never runs past the last instruction.
    t.ops.push(Op::Unreachable);
    let npool = t.consts.len() as u32;
    let declared = (t.num_locals as usize).saturating_sub(ty.param_cells() as usize);
    // The handlers' calls copy `frame_init` four slots at a time (`asm/calls.rs`), so it is
    // padded with zeros to a multiple of four; the padding lands in the first operand slots
    // (dead when a frame starts), and the frame is made large enough to hold it.
    let init_len = (declared + npool as usize).next_multiple_of(INIT_CHUNK);
    let frame_size = (t.num_locals as u64 + npool as u64 + t.max_height as u64 + 1)
        .max(ty.param_cells() as u64 + init_len as u64);
    if frame_size > u32::MAX as u64 / 2 {
        return Err("function frame is too large".into());
    }
    if npool > 0 {
        // Frame layout [params | locals | consts | operand slots]: shift the operand slots
        // up by the pool size and give the constants their slots.
        let num_locals = t.num_locals;
        let map = |r: Reg| {
            if r >= CONST_TAG {
                num_locals + (r - CONST_TAG)
            } else if r >= num_locals {
                r + npool
            } else {
                r
            }
        };
        for i in 0..t.ops.len() {
            // An `Ext` word's fields are registers or not depending on the instruction it
            // extends (whose kind the mapping does not change).
            let ext_of = match t.ops[i] {
                Op::Ext { .. } if i > 0 => Some(t.ops[i - 1]),
                _ => None,
            };
            t.ops[i].map_regs(ext_of, map);
        }
        for h in &mut t.handlers {
            h.dst = map(h.dst);
            if h.exn != NO_EXN {
                h.exn = map(h.exn);
            }
        }
    }
    let ops: Box<[Op]> = t.ops.as_slice().into();
    #[cfg(strata_opstats)]
    if std::env::var_os("STRATA_DUMP").is_some() {
        eprintln!("func {func_index}: locals {}", t.num_locals);
        for (pc, op) in ops.iter().enumerate() {
            eprintln!("  {pc:4} {op:?}");
        }
    }
    let asm_code = super::asm::prepare(&ops, mode);
    let frame_init: Box<[u64]> = std::iter::repeat_n(0, declared)
        .chain(t.consts.iter().copied())
        .chain(std::iter::repeat(0))
        .take(init_len)
        .collect();
    let func = CompiledFunc {
        ops,
        asm_code,
        fast: super::asm::fast_path(mode),
        num_params: ty.param_cells(),
        num_locals: t.num_locals,
        consts: t.consts.as_slice().into(),
        frame_init,
        num_results: ty.result_cells(),
        frame_size: frame_size as u32,
        body_bytes: module.bodies[def_index].range.len() as u32,
        counters: Counters::default(),
        loops: t.loops.as_slice().into(),
        handlers: t.handlers.as_slice().into(),
        wasm_offsets: std::sync::OnceLock::new(),
    };
    let bufs = Bufs {
        ops: t.ops,
        stack: t.stack,
        ctrl: t.ctrl,
        consts: t.consts,
        loops: t.loops,
    };
    if bufs.bytes() <= MAX_KEPT_BYTES {
        BUFS.with(|b| *b.borrow_mut() = bufs);
    }
    Ok(func)
}

/// Decodes the next operator if it is one of the common ones, with wasmparser's public
/// LEB128 readers, and hands it to the translator's `VisitOperator` methods directly.
/// `BinaryReader::visit_operator` (one large function for every operator) cost ~50 more
/// instructions per operator. Returns `false`, having consumed nothing, for any other
/// operator or an unusual encoding of these, which the caller passes to wasmparser. The
/// body was validated: only the encoding matters here (`code` is the body, indexed by the
/// reader's positions).
#[inline(always)]
fn visit_common(
    t: &mut Translator<'_>,
    reader: &mut BinaryReader<'_>,
    code: &[u8],
) -> wasmparser::Result<bool> {
    let pos = reader.current_position();
    let (Some(&opcode), next) = (code.get(pos), code.get(pos + 1).copied()) else {
        return Ok(false);
    };
    /// One `match` over every common opcode: `plain` ones have no immediate, `index` ones
    /// a u32, `memory` ones a memarg whose flags byte is a plain alignment (no memory index
    /// or other flag bits; the offset is read as a u64, which also decodes a validated u32
    /// offset); `other` arms are written out.
    macro_rules! common {
        (
            plain { $($pc:literal => $pv:ident,)* }
            index { $($ic:literal => $iv:ident,)* }
            memory { $($mc:literal => $mv:ident,)* }
            other { $($other:tt)* }
        ) => {
            match opcode {
                $($pc => {
                    reader.read_u8()?;
                    <Translator as VisitOperator>::$pv(t);
                })*
                $($ic => {
                    reader.read_u8()?;
                    let index = reader.read_var_u32()?;
                    <Translator as VisitOperator>::$iv(t, index);
                })*
                $($mc if next.is_some_and(|f| f < 0x10) => {
                    reader.read_u8()?;
                    let align = reader.read_u8()?;
                    let offset = reader.read_var_u64()?;
                    let memarg = MemArg {
                        align,
                        max_align: align,
                        offset,
                        target: MemArgTarget::Memory(0),
                        ordering: None,
                    };
                    <Translator as VisitOperator>::$mv(t, memarg);
                })*
                $($other)*
            }
        };
    }
    common! {
        plain {
            0x00 => visit_unreachable,
            0x01 => visit_nop,
            0x05 => visit_else,
            0x0b => visit_end,
            0x0f => visit_return,
            0x1a => visit_drop,
            0x1b => visit_select,
            0x45 => visit_i32_eqz,
            0x46 => visit_i32_eq,
            0x47 => visit_i32_ne,
            0x48 => visit_i32_lt_s,
            0x49 => visit_i32_lt_u,
            0x4a => visit_i32_gt_s,
            0x4b => visit_i32_gt_u,
            0x4c => visit_i32_le_s,
            0x4d => visit_i32_le_u,
            0x4e => visit_i32_ge_s,
            0x4f => visit_i32_ge_u,
            0x50 => visit_i64_eqz,
            0x51 => visit_i64_eq,
            0x52 => visit_i64_ne,
            0x53 => visit_i64_lt_s,
            0x54 => visit_i64_lt_u,
            0x55 => visit_i64_gt_s,
            0x56 => visit_i64_gt_u,
            0x57 => visit_i64_le_s,
            0x58 => visit_i64_le_u,
            0x59 => visit_i64_ge_s,
            0x5a => visit_i64_ge_u,
            0x67 => visit_i32_clz,
            0x68 => visit_i32_ctz,
            0x69 => visit_i32_popcnt,
            0x6a => visit_i32_add,
            0x6b => visit_i32_sub,
            0x6c => visit_i32_mul,
            0x6d => visit_i32_div_s,
            0x6e => visit_i32_div_u,
            0x6f => visit_i32_rem_s,
            0x70 => visit_i32_rem_u,
            0x71 => visit_i32_and,
            0x72 => visit_i32_or,
            0x73 => visit_i32_xor,
            0x74 => visit_i32_shl,
            0x75 => visit_i32_shr_s,
            0x76 => visit_i32_shr_u,
            0x77 => visit_i32_rotl,
            0x78 => visit_i32_rotr,
            0x79 => visit_i64_clz,
            0x7a => visit_i64_ctz,
            0x7b => visit_i64_popcnt,
            0x7c => visit_i64_add,
            0x7d => visit_i64_sub,
            0x7e => visit_i64_mul,
            0x7f => visit_i64_div_s,
            0x80 => visit_i64_div_u,
            0x81 => visit_i64_rem_s,
            0x82 => visit_i64_rem_u,
            0x83 => visit_i64_and,
            0x84 => visit_i64_or,
            0x85 => visit_i64_xor,
            0x86 => visit_i64_shl,
            0x87 => visit_i64_shr_s,
            0x88 => visit_i64_shr_u,
            0x89 => visit_i64_rotl,
            0x8a => visit_i64_rotr,
            0xa7 => visit_i32_wrap_i64,
            0xac => visit_i64_extend_i32_s,
            0xad => visit_i64_extend_i32_u,
        }
        index {
            0x0c => visit_br,
            0x0d => visit_br_if,
            0x10 => visit_call,
            0x20 => visit_local_get,
            0x21 => visit_local_set,
            0x22 => visit_local_tee,
            0x23 => visit_global_get,
            0x24 => visit_global_set,
        }
        memory {
            0x28 => visit_i32_load,
            0x29 => visit_i64_load,
            0x2a => visit_f32_load,
            0x2b => visit_f64_load,
            0x2c => visit_i32_load8_s,
            0x2d => visit_i32_load8_u,
            0x2e => visit_i32_load16_s,
            0x2f => visit_i32_load16_u,
            0x30 => visit_i64_load8_s,
            0x31 => visit_i64_load8_u,
            0x32 => visit_i64_load16_s,
            0x33 => visit_i64_load16_u,
            0x34 => visit_i64_load32_s,
            0x35 => visit_i64_load32_u,
            0x36 => visit_i32_store,
            0x37 => visit_i64_store,
            0x38 => visit_f32_store,
            0x39 => visit_f64_store,
            0x3a => visit_i32_store8,
            0x3b => visit_i32_store16,
            0x3c => visit_i64_store8,
            0x3d => visit_i64_store16,
            0x3e => visit_i64_store32,
        }
        other {
            0x41 => {
                reader.read_u8()?;
                let value = reader.read_var_i32()?;
                <Translator as VisitOperator>::visit_i32_const(t, value);
            }
            0x42 => {
                reader.read_u8()?;
                let value = reader.read_var_i64()?;
                <Translator as VisitOperator>::visit_i64_const(t, value);
            }
            // Block types other than the empty one go to wasmparser.
            0x02..=0x04 if next == Some(0x40) => {
                reader.read_u8()?;
                reader.read_u8()?;
                match opcode {
                    0x02 => <Translator as VisitOperator>::visit_block(t, BlockType::Empty),
                    0x03 => <Translator as VisitOperator>::visit_loop(t, BlockType::Empty),
                    _ => <Translator as VisitOperator>::visit_if(t, BlockType::Empty),
                }
            }
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// Marks a constant-pool operand during translation (see `Translator::consts`).
const CONST_TAG: Reg = 1 << 31;
/// Constants per function kept in slots; further ones are materialised by instructions.
const MAX_CONSTS: usize = 64;

fn fits_i32(v: u64) -> bool {
    v as i64 == v as i64 as i32 as i64
}

impl Translator<'_> {
    fn slot(&self, p: usize) -> Reg {
        self.num_locals + p as u32
    }

    fn emit(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    fn push(&mut self, e: Entry) {
        if let Entry::Local(_) = e {
            self.pending_locals += 1;
        }
        self.stack.push(e);
        self.max_height = self.max_height.max(self.stack.len() as u32);
    }

    fn push_temp(&mut self) -> Reg {
        let dst = self.slot(self.stack.len());
        self.push(Entry::Temp);
        dst
    }

    fn pop(&mut self) -> Entry {
        let e = self.stack.pop().unwrap_or(Entry::Temp);
        if let Entry::Local(_) = e {
            self.pending_locals -= 1;
        }
        if let Some(&h) = self.hi.last() {
            if h as usize >= self.stack.len() {
                self.hi.pop();
            }
        }
        e
    }

    fn const_op(dst: Reg, v: u64) -> Op {
        if v >> 32 == 0 {
            Op::Const32 { dst, val: v as u32 }
        } else {
            Op::Const64 { dst, val: v }
        }
    }

    /// Writes entry `p` into its own slot (unconditional code only).
    fn materialize(&mut self, p: usize) {
        match self.stack[p] {
            Entry::Temp => {}
            Entry::Local(i) => {
                let dst = self.slot(p);
                self.emit(Op::Copy { dst, src: i });
                self.pending_locals -= 1;
            }
            Entry::Const(v) => {
                let dst = self.slot(p);
                self.emit(Self::const_op(dst, v));
            }
        }
        self.stack[p] = Entry::Temp;
    }

    fn materialize_all(&mut self) {
        for p in 0..self.stack.len() {
            self.materialize(p);
        }
    }

    fn materialize_top(&mut self, n: usize) {
        let len = self.stack.len();
        for p in len.saturating_sub(n)..len {
            self.materialize(p);
        }
    }

    /// Materialises pending reads of local `i` before it is written.
    fn preserve_local(&mut self, i: u32, below: usize) {
        if self.pending_locals == 0 {
            return;
        }
        for p in 0..below {
            if self.stack[p] == Entry::Local(i) {
                self.materialize(p);
            }
        }
    }

    /// The register holding the top entry, which is popped.
    fn pop_reg(&mut self) -> Reg {
        let p = self.stack.len() - 1;
        let r = match self.stack[p] {
            Entry::Temp => self.slot(p),
            Entry::Local(i) => i,
            Entry::Const(v) => match self.consts.iter().position(|&c| c == v) {
                Some(k) => CONST_TAG | k as u32,
                None if self.consts.len() < MAX_CONSTS => {
                    self.consts.push(v);
                    CONST_TAG | (self.consts.len() - 1) as u32
                }
                None => {
                    self.materialize(p);
                    self.slot(p)
                }
            },
        };
        self.pop();
        r
    }

    /// Emits copies of the top `n` entries into slots `dst_base..` without changing the
    /// abstract stack (safe on conditional paths). Ascending order is safe: a destination
    /// slot is never above its source.
    fn emit_copies(&mut self, dst_base: Reg, n: usize) {
        let len = self.stack.len();
        for k in 0..n {
            let p = len - n + k;
            let dst = dst_base + k as u32;
            match self.stack[p] {
                Entry::Temp => {
                    let src = self.slot(p);
                    if src != dst {
                        self.emit(Op::Copy { dst, src });
                    }
                }
                Entry::Local(i) => {
                    self.emit(Op::Copy { dst, src: i });
                }
                Entry::Const(v) => {
                    self.emit(Self::const_op(dst, v));
                }
            }
        }
    }

    fn copies_needed(&self, dst_base: Reg, n: usize) -> bool {
        let len = self.stack.len();
        (0..n).any(|k| {
            let p = len - n + k;
            self.stack[p] != Entry::Temp || self.slot(p) != dst_base + k as u32
        })
    }

    /// Returns the top `n` values (conditional-path safe).
    fn emit_return(&mut self) {
        let n = self.ctrl.frames()[0].arity.results as usize;
        let len = self.stack.len();
        match n {
            0 => {
                self.emit(Op::Return0);
            }
            1 => match self.stack[len - 1] {
                Entry::Temp => {
                    let src = self.slot(len - 1);
                    self.emit(Op::Return1 { src });
                }
                Entry::Local(i) => {
                    self.emit(Op::Return1 { src: i });
                }
                Entry::Const(v) => {
                    let dst = self.slot(len);
                    self.max_height = self.max_height.max(len as u32 + 1);
                    self.emit(Self::const_op(dst, v));
                    self.emit(Op::Return1 { src: dst });
                }
            },
            _ => {
                let base = self.slot(len - n);
                if self.copies_needed(base, n) {
                    // Gather above the stack top: the slots there are free.
                    let scratch = self.slot(len);
                    self.max_height = self.max_height.max((len + n) as u32);
                    self.emit_copies(scratch, n);
                    self.emit(Op::Return {
                        src: scratch,
                        n: n as u32,
                    });
                } else {
                    self.emit(Op::Return {
                        src: base,
                        n: n as u32,
                    });
                }
            }
        }
    }

    /// Emits the moves and the jump of a branch to relative depth `depth` (conditional-path
    /// safe). Returns nothing: forward jumps are recorded as fixups.
    fn emit_branch(&mut self, depth: u32) {
        let c = self.ctrl.label_index(depth);
        let ctl = self.ctrl.label(depth);
        if ctl.kind == Kind::Func {
            self.emit_return();
            return;
        }
        let (arity, dst_base) = (ctl.branch_arity() as usize, self.num_locals + ctl.height);
        let (is_loop, header) = (ctl.is_loop(), ctl.payload.header);
        self.emit_copies(dst_base, arity);
        if is_loop {
            self.emit(Op::Br { target: header });
        } else {
            let at = self.emit(Op::Br { target: 0 });
            self.add_fixup(c, at);
        }
    }

    /// Whether a branch to `depth` is a single jump with no moves.
    fn branch_is_plain(&self, depth: u32) -> bool {
        let ctl = self.ctrl.label(depth);
        !ctl.is_func()
            && !self.copies_needed(self.num_locals + ctl.height, ctl.branch_arity() as usize)
    }

    fn patch(&mut self, at: usize, to: u32) {
        match self.ops[at].branch_target_mut() {
            Some(target) => *target = to,
            None => unreachable!("patching a non-branch"),
        }
    }

    /// An interruption point here, when the module has any (none: nothing is emitted, so
    /// interruption costs nothing when off). No peephole rewrites across it.
    fn interruption_point(&mut self) {
        let checks = self.module.interrupts;
        if checks.fuel {
            self.emit(Op::Fuel);
        }
        if checks.epoch {
            self.emit(Op::Epoch);
        }
        if checks.any() {
            self.bind_label();
        }
    }

    fn bind_label(&mut self) -> u32 {
        self.last_label = self.ops.len();
        self.ops.len() as u32
    }

    /// The last instruction, if it writes `reg` and no branch target lies after it.
    fn last_writer(&mut self, reg: Reg) -> Option<&mut Op> {
        if self.ops.len() <= self.last_label {
            return None;
        }
        let last = self.ops.last_mut()?;
        match last.dst_mut() {
            Some(dst) if *dst == reg => Some(last),
            _ => None,
        }
    }

    /// The register of the instruction that just wrote `reg` as its result, if no branch
    /// target lies after it: the last instruction's (`last_writer`), or a `Select`'s before
    /// its `Ext` word (the condition). `Select` reads all three operands before it writes,
    /// so its result can go straight to a local like any other operator's (`select` +
    /// `local.set` is how compilers often store a choice).
    fn result_reg(&mut self, reg: Reg) -> Option<&mut Reg> {
        let n = self.ops.len();
        let at = match self.ops.last()? {
            Op::Ext { .. } if n >= 2 && n - 2 >= self.last_label => match self.ops[n - 2] {
                Op::Select { .. } => n - 2,
                _ => return None,
            },
            _ if n > self.last_label => n - 1,
            _ => return None,
        };
        match self.ops[at].result_mut() {
            Some(dst) if *dst == reg => Some(dst),
            _ => None,
        }
    }

    /// A conditional branch to `relative_depth` taken when `cond` is non-zero (or zero, with
    /// `when_zero`), carrying the label's values from the top of the stack.
    fn br_on(&mut self, cond: Reg, when_zero: bool, relative_depth: u32) {
        if self.branch_is_plain(relative_depth) {
            let c = self.ctrl.label_index(relative_depth);
            let at = self.emit_cond_branch(cond, when_zero, 0);
            let ctl = self.ctrl.label(relative_depth);
            if ctl.is_loop() {
                let header = ctl.payload.header;
                self.patch(at, header);
            } else {
                self.add_fixup(c, at);
            }
        } else {
            let skip = self.emit_cond_branch(cond, !when_zero, 0);
            self.emit_branch(relative_depth);
            let here = self.bind_label();
            self.patch(skip, here);
        }
    }

    /// The register of the top of the stack, which stays there (a constant's pool slot, a
    /// local, or its own slot).
    fn reg_of_top(&mut self) -> Reg {
        let e = *self.stack.last().expect("validated: a value on the stack");
        let r = self.pop_reg();
        self.push(e);
        r
    }

    /// `br_if`/`if` on a fresh comparison: one fused instruction instead of two.
    fn emit_cond_branch(&mut self, cond: Reg, negate: bool, target: u32) -> usize {
        let was_top_temp = self.slot(self.stack.len()) == cond;
        if was_top_temp {
            if let Some(last) = self.last_writer(cond) {
                if let Some(fused) = fuse_branch(*last, negate, target) {
                    *last = fused;
                    return self.ops.len() - 1;
                }
            }
        }
        self.emit(if negate {
            Op::BrIfEqz { cond, target }
        } else {
            Op::BrIfNez { cond, target }
        })
    }

    fn push_ctrl(&mut self, kind: Kind, bt: BlockType, else_fixup: Option<usize>) {
        let arity = Arity::of(self.module, bt);
        if kind == Kind::Loop {
            self.bind_label();
        }
        let labels = Labels {
            header: self.ops.len() as u32,
            fixups: NO_FIXUP,
            else_fixup,
            body_end: 0,
        };
        self.ctrl
            .push(kind, bt, arity, self.stack.len() as u32, labels);
    }

    /// A frame opened in unreachable code: tracked for its `else`/`end` only.
    fn push_dead_ctrl(&mut self, kind: Kind) {
        self.ctrl
            .push_dead(kind, self.stack.len() as u32, NO_LABELS);
    }

    fn reset_stack(&mut self, height: u32, temps: u32) {
        while self.stack.len() > height as usize {
            self.pop();
        }
        for _ in 0..temps {
            self.push_temp();
        }
    }

    fn unreachable_now(&mut self) {
        let height = self.ctrl.set_unreachable();
        while self.stack.len() > height as usize {
            self.pop();
        }
    }

    fn unary(&mut self, make: fn(Reg, Reg) -> Op) {
        let a = self.pop_reg();
        let dst = self.push_temp();
        self.emit(make(dst, a));
    }

    fn binary(&mut self, make: fn(Reg, Reg, Reg) -> Op) {
        let b = self.pop_reg();
        let a = self.pop_reg();
        let dst = self.push_temp();
        self.emit(make(dst, a, b));
    }

    /// A binary operation with an immediate form for a constant right operand. `wide`: the
    /// immediate is sign-extended to 64 bits, so it must fit in an i32.
    fn binary_imm(
        &mut self,
        make: fn(Reg, Reg, Reg) -> Op,
        make_imm: fn(Reg, Reg, i32) -> Op,
        wide: bool,
    ) {
        if let Some(Entry::Const(v)) = self.stack.last().copied() {
            if !wide || fits_i32(v) {
                self.pop();
                let a = self.pop_reg();
                let dst = self.push_temp();
                self.emit(make_imm(dst, a, v as i32));
                return;
            }
        }
        self.binary(make);
    }

    /// The memory index of an access (GC array targets do not validate here).
    fn memory_of(m: &MemArg) -> u32 {
        match m.target {
            MemArgTarget::Memory(i) => i,
            MemArgTarget::Array(_) => u32::MAX,
        }
    }

    /// The offset of an access the plain loads and stores run (memory 0, 32-bit); `None`
    /// for the others, which take `MemLoad`/`MemStore`.
    fn plain_offset(&self, m: &MemArg) -> Option<u32> {
        let mem = Self::memory_of(m);
        (mem == 0 && !self.module.memories[0].memory64).then_some(m.offset as u32)
    }

    /// The `Ext` word of a `MemLoad`/`MemStore`: memory index and 64-bit offset.
    fn memarg_ext(&mut self, m: &MemArg) {
        self.emit(Op::Ext {
            a: Self::memory_of(m),
            b: m.offset as u32,
            c: (m.offset >> 32) as u32,
        });
    }

    fn load(&mut self, m: MemArg, make: fn(Reg, Reg, u32) -> Op) {
        let addr = self.pop_reg();
        let dst = self.push_temp();
        match self.plain_offset(&m) {
            Some(offset) => {
                self.emit(make(dst, addr, offset));
            }
            None => {
                let kind = MemAccess::of(&make(0, 0, 0)).expect("a load") as u32;
                self.emit(Op::MemLoad { kind, dst, addr });
                self.memarg_ext(&m);
            }
        }
    }

    fn store(&mut self, m: MemArg, make: fn(Reg, Reg, u32) -> Op) {
        let val = self.pop_reg();
        let addr = self.pop_reg();
        match self.plain_offset(&m) {
            Some(offset) => {
                self.emit(make(addr, val, offset));
            }
            None => {
                let kind = MemAccess::of(&make(0, 0, 0)).expect("a store") as u32;
                self.emit(Op::MemStore { kind, addr, val });
                self.memarg_ext(&m);
            }
        }
    }

    fn call_args(&mut self, type_index: u32) -> (Reg, usize, usize) {
        let t = &self.module.types[type_index as usize];
        let (n, r) = (t.param_cells() as usize, t.result_cells() as usize);
        self.materialize_top(n);
        let base = self.slot(self.stack.len() - n);
        (base, n, r)
    }

    fn call_results(&mut self, n: usize, r: usize) {
        for _ in 0..n {
            self.pop();
        }
        for _ in 0..r {
            self.push_temp();
        }
    }

    fn select(&mut self) {
        let cond = self.pop_reg();
        let b = self.pop_reg();
        let a = self.pop_reg();
        let dst = self.push_temp();
        self.emit(Op::Select { dst, a, b });
        self.emit(Op::Ext {
            a: cond,
            b: 0,
            c: 0,
        });
    }

    fn local_set(&mut self, i: u32) {
        let p = self.stack.len() - 1;
        let value = self.stack[p];
        self.pop();
        self.preserve_local(i, p);
        if !(value == Entry::Temp && self.retarget(p, i)) {
            self.set_local(i, value, p);
        }
    }

    fn local_tee(&mut self, i: u32) {
        let p = self.stack.len() - 1;
        let value = self.stack[p];
        if value != Entry::Local(i) {
            self.preserve_local(i, p);
            if value == Entry::Temp && self.retarget(p, i) {
                // The value now lives only in the local: read it from there.
                self.pop();
                self.push(Entry::Local(i));
            } else {
                self.set_local(i, value, p);
            }
        }
    }

    /// Makes the instruction that produced stack slot `p` write local `i` directly.
    fn retarget(&mut self, p: usize, i: u32) -> bool {
        let slot = self.slot(p);
        match self.result_reg(slot) {
            Some(dst) => {
                *dst = i;
                true
            }
            None => false,
        }
    }

    fn set_local(&mut self, i: u32, value: Entry, p: usize) {
        match value {
            Entry::Temp => {
                let src = self.slot(p);
                self.emit(Op::Copy { dst: i, src });
            }
            Entry::Local(j) => {
                if j != i {
                    self.emit(Op::Copy { dst: i, src: j });
                }
            }
            Entry::Const(v) => {
                self.emit(Self::const_op(i, v));
            }
        }
    }

    /// `end` of a live frame; `reachable`: whether it is reached by falling through.
    fn end(&mut self, reachable: bool) -> Res {
        if self.ctrl.last().ok_or("end outside block")?.is_func() {
            if reachable {
                self.emit_return();
            }
            self.ctrl.pop();
            return Ok(());
        }
        let frame = self.ctrl.len() as u32 - 1;
        let c = self.ctrl.pop().ok_or("end outside block")?;
        if reachable {
            self.emit_copies(self.num_locals + c.height, c.arity.results as usize);
        }
        let here = self.bind_label();
        if c.kind == Kind::TryTable {
            self.close_try_table(frame, c.payload.header, here);
        }
        self.patch_chain(c.payload.fixups, here);
        if let Some(f) = c.payload.else_fixup {
            self.patch(f, here);
        }
        self.reset_stack(c.height, c.arity.results);
        if c.arity.results > 1 {
            self.mark_block_types(c.block_type, c.height, false);
        }
        Ok(())
    }

    /// Records `at`, a branch whose target is `ctrl[c]`'s end, in that frame's fixup chain:
    /// the branch's target field holds the previous head until the end is bound.
    fn add_fixup(&mut self, c: usize, at: usize) {
        let head = self.ctrl.frames()[c].payload.fixups;
        self.patch(at, head);
        self.ctrl.frames_mut()[c].payload.fixups = at as u32;
    }

    /// Points every branch of a fixup chain at `to`.
    fn patch_chain(&mut self, mut at: u32, to: u32) {
        while at != NO_FIXUP {
            let target = match self.ops[at as usize].branch_target_mut() {
                Some(target) => target,
                None => unreachable!("patching a non-branch"),
            };
            at = *target;
            *target = to;
        }
    }
}

/// Declares, for every operator, a translation method that defaults to "unsupported";
/// `Translator` overrides the ones it translates. (wasmparser's `VisitOperator` has no
/// defaults.)
macro_rules! define_lower {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        trait Lower<'a> {
            fn unsupported(&mut self, name: &'static str) -> Res;
            $(
                #[inline(always)]
                fn $visit(&mut self $($(, $arg: $argty)*)?) -> Res {
                    $($(let _ = $arg;)*)?
                    self.unsupported(stringify!($op))
                }
            )*
        }
    };
}
wasmparser::for_each_visit_operator!(define_lower);

macro_rules! define_visit {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[inline(always)]
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                if let Err(e) = <Self as Lower<'a>>::$visit(self $($(, $arg)*)?) {
                    self.fail(e);
                }
            }
        )*
    };
}

/// The visitor returns nothing, so no `Result` travels back through the reader for every
/// operator; an error is parked in `Translator::error` and ends the loop.
impl<'a> VisitOperator<'a> for Translator<'_> {
    type Output = ();
    wasmparser::for_each_visit_operator!(define_visit);

    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }
}

impl<'a> wasmparser::VisitSimdOperator<'a> for Translator<'_> {
    super::simd::simd_visit_methods!();
}

#[path = "simd_translate.rs"]
mod simd;

#[path = "exn_translate.rs"]
mod exn;

impl FrameStack for Translator<'_> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.ctrl.current_frame()
    }
}

impl Translator<'_> {
    #[cold]
    fn fail(&mut self, e: String) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
}

/// Translations of straight-line operators: nothing in unreachable code is translated.
macro_rules! lower {
    ($( $visit:ident ( $($arg:ident : $ty:ty),* ) => |$t:ident| $body:expr ; )*) => {$(
        #[inline(always)]
        fn $visit(&mut self $(, $arg: $ty)*) -> Res {
            if self.ctrl.reachable() {
                let $t = &mut *self;
                $body;
            }
            Ok(())
        }
    )*};
}

macro_rules! unary {
    ($($visit:ident => $v:ident,)*) => {
        lower! { $( $visit() => |t| t.unary(|dst, a| Op::$v { dst, a }); )* }
    };
}

macro_rules! binary {
    ($($visit:ident => $v:ident,)*) => {
        lower! { $( $visit() => |t| t.binary(|dst, a, b| Op::$v { dst, a, b }); )* }
    };
}

/// Binary operations with an immediate form; `wide`: i64 (the immediate must fit an i32).
macro_rules! binary_imm {
    ($($visit:ident => $v:ident, $vi:ident, $wide:expr;)*) => {
        lower! { $(
            $visit() => |t| t.binary_imm(
                |dst, a, b| Op::$v { dst, a, b },
                |dst, a, imm| Op::$vi { dst, a, imm },
                $wide,
            );
        )* }
    };
}

macro_rules! load {
    ($($visit:ident => $v:ident,)*) => {
        lower! { $(
            $visit(memarg: MemArg) => |t| {
                t.load(memarg, |dst, addr, offset| Op::$v { dst, addr, offset })
            };
        )* }
    };
}

macro_rules! store {
    ($($visit:ident => $v:ident,)*) => {
        lower! { $(
            $visit(memarg: MemArg) => |t| {
                t.store(memarg, |addr, val, offset| Op::$v { addr, val, offset })
            };
        )* }
    };
}

impl<'a> Lower<'a> for Translator<'_> {
    fn unsupported(&mut self, name: &'static str) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        Err(format!("the interpreter does not support {name}"))
    }

    // ---- control ----

    fn visit_unreachable(&mut self) -> Res {
        if self.ctrl.reachable() {
            self.emit(Op::Unreachable);
            self.unreachable_now();
        }
        Ok(())
    }

    fn visit_nop(&mut self) -> Res {
        Ok(())
    }

    fn visit_block(&mut self, blockty: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead_ctrl(Kind::Block);
            return Ok(());
        }
        self.materialize_all();
        self.push_ctrl(Kind::Block, blockty, None);
        Ok(())
    }

    fn visit_loop(&mut self, blockty: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead_ctrl(Kind::Loop);
            return Ok(());
        }
        self.materialize_all();
        self.push_ctrl(Kind::Loop, blockty, None);
        let c = self.ctrl.last().ok_or("loop without a frame")?;
        let info = LoopInfo {
            header: c.payload.header,
            ordinal: c.loop_ordinal,
            height: c.param_height(),
        };
        self.loops.push(info);
        // The header's interruption point: branches back to the loop run it too.
        self.interruption_point();
        Ok(())
    }

    fn visit_if(&mut self, blockty: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead_ctrl(Kind::If);
            return Ok(());
        }
        // Materialise below the condition first so a comparison computing it stays the last
        // instruction and can fuse with the branch.
        let len = self.stack.len();
        for p in 0..len - 1 {
            self.materialize(p);
        }
        let cond = self.pop_reg();
        let at = self.emit_cond_branch(cond, true, 0);
        self.push_ctrl(Kind::If, blockty, Some(at));
        Ok(())
    }

    fn visit_else(&mut self) -> Res {
        if !self.ctrl.reachable() {
            let c = self.ctrl.enter_else().ok_or("else outside if")?;
            if c.reachable {
                let (height, n_par, bt) = (c.height, c.arity.params, c.block_type);
                let f = c.payload.else_fixup.take();
                let here = self.bind_label();
                if let Some(f) = f {
                    self.patch(f, here);
                }
                self.reset_stack(height, n_par);
                self.mark_block_types(bt, height, true);
            }
            return Ok(());
        }
        let (height, n_res, n_par) = {
            let c = self.ctrl.last().ok_or("else outside if")?;
            (c.height, c.arity.results, c.arity.params)
        };
        self.emit_copies(self.num_locals + height, n_res as usize);
        let at = self.emit(Op::Br { target: 0 });
        let c = self.ctrl.len() - 1;
        self.add_fixup(c, at);
        let here = self.bind_label();
        let c = self.ctrl.enter_else().ok_or("else outside if")?;
        let bt = c.block_type;
        if let Some(f) = c.payload.else_fixup.take() {
            self.patch(f, here);
        }
        self.reset_stack(height, n_par);
        self.mark_block_types(bt, height, true);
        Ok(())
    }

    fn visit_end(&mut self) -> Res {
        if !self.ctrl.reachable() && !self.ctrl.last().ok_or("end outside block")?.reachable {
            self.ctrl.pop();
            return Ok(());
        }
        self.end(self.ctrl.reachable())
    }

    // ---- exceptions (docs/abi.md §10; `exn_translate.rs`) ----

    fn visit_try_table(&mut self, try_table: wasmparser::TryTable) -> Res {
        self.try_table(try_table)
    }

    fn visit_throw(&mut self, tag_index: u32) -> Res {
        self.throw(tag_index);
        Ok(())
    }

    fn visit_throw_ref(&mut self) -> Res {
        if self.ctrl.reachable() {
            let src = self.pop_reg();
            self.emit(Op::ThrowRef { src });
            self.unreachable_now();
        }
        Ok(())
    }

    fn visit_try(&mut self, blockty: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead_ctrl(Kind::LegacyTry);
            return Ok(());
        }
        self.materialize_all();
        self.push_ctrl(Kind::LegacyTry, blockty, None);
        Ok(())
    }

    fn visit_catch(&mut self, tag_index: u32) -> Res {
        self.legacy_catch(Some(tag_index))
    }

    fn visit_catch_all(&mut self) -> Res {
        self.legacy_catch(None)
    }

    fn visit_delegate(&mut self, relative_depth: u32) -> Res {
        self.delegate(relative_depth)
    }

    fn visit_rethrow(&mut self, relative_depth: u32) -> Res {
        if self.ctrl.reachable() {
            // The catch clause's hidden cell holds the caught exception.
            let src = self.num_locals + self.ctrl.label(relative_depth).height;
            self.emit(Op::ThrowRef { src });
            self.unreachable_now();
        }
        Ok(())
    }

    fn visit_br(&mut self, relative_depth: u32) -> Res {
        if self.ctrl.reachable() {
            self.emit_branch(relative_depth);
            self.unreachable_now();
        }
        Ok(())
    }

    fn visit_br_if(&mut self, relative_depth: u32) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        let cond = self.pop_reg();
        self.br_on(cond, false, relative_depth);
        Ok(())
    }

    fn visit_br_on_null(&mut self, relative_depth: u32) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        // The branch carries the values below the reference; the reference stays on the
        // fall-through path. Its null test goes to a scratch slot above the stack.
        let e = *self
            .stack
            .last()
            .expect("validated: a reference on the stack");
        let r = self.pop_reg();
        let scratch = self.slot(self.stack.len() + 1);
        self.max_height = self.max_height.max(self.stack.len() as u32 + 2);
        self.emit(Op::I64Eqz { dst: scratch, a: r });
        self.br_on(scratch, false, relative_depth);
        self.push(e);
        Ok(())
    }

    fn visit_br_on_non_null(&mut self, relative_depth: u32) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        // The branch carries the reference on top of its values; the fall-through drops it.
        let r = self.reg_of_top();
        let scratch = self.slot(self.stack.len());
        self.max_height = self.max_height.max(self.stack.len() as u32 + 1);
        self.emit(Op::I64Eqz { dst: scratch, a: r });
        self.br_on(scratch, true, relative_depth);
        self.pop();
        Ok(())
    }

    fn visit_ref_as_non_null(&mut self) -> Res {
        if self.ctrl.reachable() {
            let r = self.reg_of_top();
            self.emit(Op::TrapIfNull { src: r });
        }
        Ok(())
    }

    fn visit_call_ref(&mut self, type_index: u32) -> Res {
        if self.ctrl.reachable() {
            let callee = self.pop_reg();
            let (base, n, r) = self.call_args(type_index);
            self.emit(Op::CallRef {
                type_index,
                callee,
                base,
            });
            self.call_results(n, r);
            if r > 1 {
                self.mark_func_results(type_index);
            }
        }
        Ok(())
    }

    fn visit_return_call_ref(&mut self, type_index: u32) -> Res {
        if self.ctrl.reachable() {
            let callee = self.pop_reg();
            let (base, n, _) = self.call_args(type_index);
            self.emit(Op::ReturnCallRef {
                type_index,
                callee,
                base,
            });
            self.emit(Op::Ext {
                a: n as u32,
                b: 0,
                c: 0,
            });
            self.unreachable_now();
        }
        Ok(())
    }

    fn visit_br_table(&mut self, targets: BrTable<'a>) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        let index = self.pop_reg();
        let len = targets.len();
        self.emit(Op::BrTable { index, len });
        let first = self.ops.len();
        for _ in 0..=len {
            self.emit(Op::Br { target: 0 });
        }
        let depths = targets
            .targets()
            .chain(std::iter::once(Ok(targets.default())));
        for (k, depth) in depths.enumerate() {
            let depth = depth.map_err(|e| e.to_string())?;
            let entry = first + k;
            let c = self.ctrl.label_index(depth);
            if self.branch_is_plain(depth) {
                let ctl = self.ctrl.label(depth);
                if ctl.is_loop() {
                    let header = ctl.payload.header;
                    self.patch(entry, header);
                } else {
                    self.add_fixup(c, entry);
                }
            } else {
                let stub = self.bind_label();
                self.patch(entry, stub);
                self.emit_branch(depth);
            }
        }
        self.unreachable_now();
        Ok(())
    }

    fn visit_return(&mut self) -> Res {
        if self.ctrl.reachable() {
            self.emit_return();
            self.unreachable_now();
        }
        Ok(())
    }

    // ---- calls ----

    fn visit_call(&mut self, function_index: u32) -> Res {
        if self.ctrl.reachable() {
            let ty = self.module.funcs[function_index as usize];
            let (base, n, r) = self.call_args(ty);
            self.emit(Op::Call {
                func: function_index,
                base,
            });
            self.call_results(n, r);
            if r > 1 {
                self.mark_func_results(ty);
            }
        }
        Ok(())
    }

    fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> Res {
        if self.ctrl.reachable() {
            let index = self.pop_reg();
            let (base, n, r) = self.call_args(type_index);
            self.emit(Op::CallIndirect {
                type_index,
                index,
                base,
            });
            self.emit(Op::Ext {
                a: table_index,
                b: 0,
                c: 0,
            });
            self.call_results(n, r);
            if r > 1 {
                self.mark_func_results(type_index);
            }
        }
        Ok(())
    }

    // ---- tail calls (design.md §12) ----

    fn visit_return_call(&mut self, function_index: u32) -> Res {
        if self.ctrl.reachable() {
            let ty = self.module.funcs[function_index as usize];
            let (base, n, _) = self.call_args(ty);
            self.emit(Op::ReturnCall {
                func: function_index,
                base,
            });
            self.emit(Op::Ext {
                a: n as u32,
                b: 0,
                c: 0,
            });
            self.unreachable_now();
        }
        Ok(())
    }

    fn visit_return_call_indirect(&mut self, type_index: u32, table_index: u32) -> Res {
        if self.ctrl.reachable() {
            let index = self.pop_reg();
            let (base, n, _) = self.call_args(type_index);
            self.emit(Op::ReturnCallIndirect {
                type_index,
                index,
                base,
            });
            self.emit(Op::Ext {
                a: table_index,
                b: n as u32,
                c: 0,
            });
            self.unreachable_now();
        }
        Ok(())
    }

    // ---- parametric, variables ----

    lower! {
        visit_drop() => |t| {
            if t.top_is_wide() {
                t.pop();
            }
            t.pop();
        };
        visit_select() => |t| t.any_select();
        visit_typed_select(_ty: wasmparser::ValType) => |t| t.any_select();
        visit_local_get(local_index: u32) => |t| {
            if t.local_cells.is_empty() {
                t.push(Entry::Local(local_index))
            } else {
                t.wide_local_get(local_index)
            }
        };
        visit_local_set(local_index: u32) => |t| {
            if t.local_cells.is_empty() {
                t.local_set(local_index)
            } else {
                t.wide_local_set(local_index, false)
            }
        };
        visit_local_tee(local_index: u32) => |t| {
            if t.local_cells.is_empty() {
                t.local_tee(local_index)
            } else {
                t.wide_local_set(local_index, true)
            }
        };
        visit_global_get(global_index: u32) => |t| {
            if t.module.globals[global_index as usize].ty.content == strata_vm::ValType::V128 {
                t.wide_global_get(global_index);
                return Ok(());
            }
            let dst = t.push_temp();
            t.emit(Op::GlobalGet {
                dst,
                index: global_index,
            });
        };
        visit_global_set(global_index: u32) => |t| {
            if t.module.globals[global_index as usize].ty.content == strata_vm::ValType::V128 {
                t.wide_global_set(global_index);
                return Ok(());
            }
            let src = t.pop_reg();
            t.emit(Op::GlobalSet {
                src,
                index: global_index,
            });
        };
    }

    // ---- memory ----

    load! {
        visit_i32_load => I32Load,
        visit_i64_load => I64Load,
        visit_f32_load => F32Load,
        visit_f64_load => F64Load,
        visit_i32_load8_s => I32Load8S,
        visit_i32_load8_u => I32Load8U,
        visit_i32_load16_s => I32Load16S,
        visit_i32_load16_u => I32Load16U,
        visit_i64_load8_s => I64Load8S,
        visit_i64_load8_u => I64Load8U,
        visit_i64_load16_s => I64Load16S,
        visit_i64_load16_u => I64Load16U,
        visit_i64_load32_s => I64Load32S,
        visit_i64_load32_u => I64Load32U,
    }

    store! {
        visit_i32_store => I32Store,
        visit_i64_store => I64Store,
        visit_f32_store => F32Store,
        visit_f64_store => F64Store,
        visit_i32_store8 => I32Store8,
        visit_i32_store16 => I32Store16,
        visit_i64_store8 => I64Store8,
        visit_i64_store16 => I64Store16,
        visit_i64_store32 => I64Store32,
    }

    lower! {
        visit_memory_size(mem: u32) => |t| {
            let dst = t.push_temp();
            t.emit(Op::MemorySize { dst, mem });
        };
        visit_memory_grow(mem: u32) => |t| {
            let delta = t.pop_reg();
            let dst = t.push_temp();
            t.emit(Op::MemoryGrow { dst, delta, mem });
        };
        visit_memory_copy(dst_mem: u32, src_mem: u32) => |t| {
            let len = t.pop_reg();
            let src = t.pop_reg();
            let dst = t.pop_reg();
            t.emit(Op::MemoryCopy { dst, src, len });
            t.emit(Op::Ext { a: dst_mem, b: src_mem, c: 0 });
        };
        visit_memory_fill(mem: u32) => |t| {
            let len = t.pop_reg();
            let val = t.pop_reg();
            let dst = t.pop_reg();
            t.emit(Op::MemoryFill { dst, val, len });
            t.emit(Op::Ext { a: mem, b: 0, c: 0 });
        };
        visit_memory_init(data_index: u32, mem: u32) => |t| {
            let len = t.pop_reg();
            let src = t.pop_reg();
            let dst = t.pop_reg();
            t.emit(Op::MemoryInit {
                segment: data_index,
                dst,
                src,
            });
            t.emit(Op::Ext { a: len, b: mem, c: 0 });
        };
        visit_data_drop(data_index: u32) => |t| {
            t.emit(Op::DataDrop {
                segment: data_index,
            });
        };
    }

    // ---- tables, references ----

    lower! {
        visit_table_get(table: u32) => |t| {
            let index = t.pop_reg();
            let dst = t.push_temp();
            t.emit(Op::TableGet { dst, table, index });
        };
        visit_table_set(table: u32) => |t| {
            let val = t.pop_reg();
            let index = t.pop_reg();
            t.emit(Op::TableSet { table, index, val });
        };
        visit_table_size(table: u32) => |t| {
            let dst = t.push_temp();
            t.emit(Op::TableSize { dst, table });
        };
        visit_table_grow(table: u32) => |t| {
            let delta = t.pop_reg();
            let init = t.pop_reg();
            let dst = t.push_temp();
            t.emit(Op::TableGrow { dst, table, init });
            t.emit(Op::Ext {
                a: delta,
                b: 0,
                c: 0,
            });
        };
        visit_table_fill(table: u32) => |t| {
            let len = t.pop_reg();
            let val = t.pop_reg();
            let index = t.pop_reg();
            t.emit(Op::TableFill { table, index, val });
            t.emit(Op::Ext { a: len, b: 0, c: 0 });
        };
        visit_table_copy(dst_table: u32, src_table: u32) => |t| {
            let len = t.pop_reg();
            let src = t.pop_reg();
            let dst = t.pop_reg();
            t.emit(Op::TableCopy {
                dst_table,
                src_table,
                dst,
            });
            t.emit(Op::Ext {
                a: src,
                b: len,
                c: 0,
            });
        };
        visit_table_init(elem_index: u32, table: u32) => |t| {
            let len = t.pop_reg();
            let src = t.pop_reg();
            let dst = t.pop_reg();
            t.emit(Op::TableInit {
                table,
                segment: elem_index,
                dst,
            });
            t.emit(Op::Ext {
                a: src,
                b: len,
                c: 0,
            });
        };
        visit_elem_drop(elem_index: u32) => |t| {
            t.emit(Op::ElemDrop {
                segment: elem_index,
            });
        };
        visit_ref_null(_hty: wasmparser::HeapType) => |t| t.push(Entry::Const(0));
        visit_ref_func(function_index: u32) => |t| {
            let dst = t.push_temp();
            t.emit(Op::RefFunc {
                dst,
                func: function_index,
            });
        };
    }

    // ---- constants ----

    lower! {
        visit_i32_const(value: i32) => |t| t.push(Entry::Const(value as u32 as u64));
        visit_i64_const(value: i64) => |t| t.push(Entry::Const(value as u64));
        visit_f32_const(value: wasmparser::Ieee32) => |t| {
            t.push(Entry::Const(value.bits() as u64))
        };
        visit_f64_const(value: wasmparser::Ieee64) => |t| t.push(Entry::Const(value.bits()));
    }

    // ---- numeric ----

    unary! {
        visit_ref_is_null => I64Eqz,
        visit_i32_eqz => I32Eqz,
        visit_i64_eqz => I64Eqz,
        visit_i32_clz => I32Clz,
        visit_i32_ctz => I32Ctz,
        visit_i32_popcnt => I32Popcnt,
        visit_i64_clz => I64Clz,
        visit_i64_ctz => I64Ctz,
        visit_i64_popcnt => I64Popcnt,
        visit_f32_abs => F32Abs,
        visit_f32_neg => F32Neg,
        visit_f32_ceil => F32Ceil,
        visit_f32_floor => F32Floor,
        visit_f32_trunc => F32Trunc,
        visit_f32_nearest => F32Nearest,
        visit_f32_sqrt => F32Sqrt,
        visit_f64_abs => F64Abs,
        visit_f64_neg => F64Neg,
        visit_f64_ceil => F64Ceil,
        visit_f64_floor => F64Floor,
        visit_f64_trunc => F64Trunc,
        visit_f64_nearest => F64Nearest,
        visit_f64_sqrt => F64Sqrt,
        visit_i32_wrap_i64 => I32WrapI64,
        visit_i32_trunc_f32_s => I32TruncF32S,
        visit_i32_trunc_f32_u => I32TruncF32U,
        visit_i32_trunc_f64_s => I32TruncF64S,
        visit_i32_trunc_f64_u => I32TruncF64U,
        visit_i64_extend_i32_s => I64ExtendI32S,
        visit_i64_extend_i32_u => I64ExtendI32U,
        visit_i64_trunc_f32_s => I64TruncF32S,
        visit_i64_trunc_f32_u => I64TruncF32U,
        visit_i64_trunc_f64_s => I64TruncF64S,
        visit_i64_trunc_f64_u => I64TruncF64U,
        visit_f32_convert_i32_s => F32ConvertI32S,
        visit_f32_convert_i32_u => F32ConvertI32U,
        visit_f32_convert_i64_s => F32ConvertI64S,
        visit_f32_convert_i64_u => F32ConvertI64U,
        visit_f32_demote_f64 => F32DemoteF64,
        visit_f64_convert_i32_s => F64ConvertI32S,
        visit_f64_convert_i32_u => F64ConvertI32U,
        visit_f64_convert_i64_s => F64ConvertI64S,
        visit_f64_convert_i64_u => F64ConvertI64U,
        visit_f64_promote_f32 => F64PromoteF32,
        visit_i32_extend8_s => I32Extend8S,
        visit_i32_extend16_s => I32Extend16S,
        visit_i64_extend8_s => I64Extend8S,
        visit_i64_extend16_s => I64Extend16S,
        visit_i64_extend32_s => I64Extend32S,
        visit_i32_trunc_sat_f32_s => I32TruncSatF32S,
        visit_i32_trunc_sat_f32_u => I32TruncSatF32U,
        visit_i32_trunc_sat_f64_s => I32TruncSatF64S,
        visit_i32_trunc_sat_f64_u => I32TruncSatF64U,
        visit_i64_trunc_sat_f32_s => I64TruncSatF32S,
        visit_i64_trunc_sat_f32_u => I64TruncSatF32U,
        visit_i64_trunc_sat_f64_s => I64TruncSatF64S,
        visit_i64_trunc_sat_f64_u => I64TruncSatF64U,
    }

    // Reinterpretations are free: cells hold raw bits.
    fn visit_i32_reinterpret_f32(&mut self) -> Res {
        Ok(())
    }
    fn visit_i64_reinterpret_f64(&mut self) -> Res {
        Ok(())
    }
    fn visit_f32_reinterpret_i32(&mut self) -> Res {
        Ok(())
    }
    fn visit_f64_reinterpret_i64(&mut self) -> Res {
        Ok(())
    }

    binary_imm! {
        visit_i32_eq => I32Eq, I32EqImm, false;
        visit_i32_ne => I32Ne, I32NeImm, false;
        visit_i32_lt_s => I32LtS, I32LtSImm, false;
        visit_i32_lt_u => I32LtU, I32LtUImm, false;
        visit_i32_gt_s => I32GtS, I32GtSImm, false;
        visit_i32_gt_u => I32GtU, I32GtUImm, false;
        visit_i32_le_s => I32LeS, I32LeSImm, false;
        visit_i32_le_u => I32LeU, I32LeUImm, false;
        visit_i32_ge_s => I32GeS, I32GeSImm, false;
        visit_i32_ge_u => I32GeU, I32GeUImm, false;
        visit_i64_eq => I64Eq, I64EqImm, true;
        visit_i64_ne => I64Ne, I64NeImm, true;
        visit_i64_lt_s => I64LtS, I64LtSImm, true;
        visit_i64_lt_u => I64LtU, I64LtUImm, true;
        visit_i64_gt_s => I64GtS, I64GtSImm, true;
        visit_i64_gt_u => I64GtU, I64GtUImm, true;
        visit_i64_le_s => I64LeS, I64LeSImm, true;
        visit_i64_le_u => I64LeU, I64LeUImm, true;
        visit_i64_ge_s => I64GeS, I64GeSImm, true;
        visit_i64_ge_u => I64GeU, I64GeUImm, true;
        visit_i32_add => I32Add, I32AddImm, false;
        visit_i32_mul => I32Mul, I32MulImm, false;
        visit_i32_and => I32And, I32AndImm, false;
        visit_i32_or => I32Or, I32OrImm, false;
        visit_i32_xor => I32Xor, I32XorImm, false;
        visit_i32_shl => I32Shl, I32ShlImm, false;
        visit_i32_shr_s => I32ShrS, I32ShrSImm, false;
        visit_i32_shr_u => I32ShrU, I32ShrUImm, false;
        visit_i32_rotl => I32Rotl, I32RotlImm, false;
        visit_i32_rotr => I32Rotr, I32RotrImm, false;
        visit_i64_add => I64Add, I64AddImm, true;
        visit_i64_mul => I64Mul, I64MulImm, true;
        visit_i64_and => I64And, I64AndImm, true;
        visit_i64_or => I64Or, I64OrImm, true;
        visit_i64_xor => I64Xor, I64XorImm, true;
        visit_i64_shl => I64Shl, I64ShlImm, true;
        visit_i64_shr_s => I64ShrS, I64ShrSImm, true;
        visit_i64_shr_u => I64ShrU, I64ShrUImm, true;
        visit_i64_rotl => I64Rotl, I64RotlImm, true;
        visit_i64_rotr => I64Rotr, I64RotrImm, true;
    }

    lower! {
        // x - c is x + (-c).
        visit_i32_sub() => |t| match t.stack.last().copied() {
            Some(Entry::Const(v)) => {
                let len = t.stack.len();
                t.stack[len - 1] = Entry::Const((v as u32).wrapping_neg() as u64);
                t.binary_imm(
                    |dst, a, b| Op::I32Add { dst, a, b },
                    |dst, a, imm| Op::I32AddImm { dst, a, imm },
                    false,
                )
            }
            _ => t.binary(|dst, a, b| Op::I32Sub { dst, a, b }),
        };
        visit_i64_sub() => |t| match t.stack.last().copied() {
            Some(Entry::Const(v)) if fits_i32(v.wrapping_neg()) => {
                let len = t.stack.len();
                t.stack[len - 1] = Entry::Const(v.wrapping_neg());
                t.binary_imm(
                    |dst, a, b| Op::I64Add { dst, a, b },
                    |dst, a, imm| Op::I64AddImm { dst, a, imm },
                    true,
                )
            }
            _ => t.binary(|dst, a, b| Op::I64Sub { dst, a, b }),
        };
    }

    binary! {
        visit_f32_eq => F32Eq,
        visit_f32_ne => F32Ne,
        visit_f32_lt => F32Lt,
        visit_f32_gt => F32Gt,
        visit_f32_le => F32Le,
        visit_f32_ge => F32Ge,
        visit_f64_eq => F64Eq,
        visit_f64_ne => F64Ne,
        visit_f64_lt => F64Lt,
        visit_f64_gt => F64Gt,
        visit_f64_le => F64Le,
        visit_f64_ge => F64Ge,
        visit_i32_div_s => I32DivS,
        visit_i32_div_u => I32DivU,
        visit_i32_rem_s => I32RemS,
        visit_i32_rem_u => I32RemU,
        visit_i64_div_s => I64DivS,
        visit_i64_div_u => I64DivU,
        visit_i64_rem_s => I64RemS,
        visit_i64_rem_u => I64RemU,
        visit_f32_add => F32Add,
        visit_f32_sub => F32Sub,
        visit_f32_mul => F32Mul,
        visit_f32_div => F32Div,
        visit_f32_min => F32Min,
        visit_f32_max => F32Max,
        visit_f32_copysign => F32Copysign,
        visit_f64_add => F64Add,
        visit_f64_sub => F64Sub,
        visit_f64_mul => F64Mul,
        visit_f64_div => F64Div,
        visit_f64_min => F64Min,
        visit_f64_max => F64Max,
        visit_f64_copysign => F64Copysign,
    }
}

#[cfg(test)]
mod tests {
    use super::translate_impl;
    use strata_vm::{InterpMode, Module};

    /// Every function translates the same with `visit_common` as with wasmparser's decoding
    /// of every operator.
    fn check_fast_path(module: &Module) {
        for i in 0..module.num_defined_funcs() {
            let mode = InterpMode::FASTEST;
            // The first translation may generate the function's superinstructions (a
            // process-wide cache): both compared ones then find the same handlers. Tests on
            // other threads may add pairs this function can use between the two (the cache
            // only grows, by at most a bounded number), so a difference is retried; a
            // decoding difference stays.
            let _ = translate_impl::<true, false>(module, i, mode, &mut Vec::new());
            let mut last = None;
            for _ in 0..8 {
                let fast = format!(
                    "{:?}",
                    translate_impl::<true, false>(module, i, mode, &mut Vec::new())
                );
                let slow = format!(
                    "{:?}",
                    translate_impl::<false, false>(module, i, mode, &mut Vec::new())
                );
                if fast == slow {
                    last = None;
                    break;
                }
                last = Some((fast, slow));
            }
            if let Some((fast, slow)) = last {
                assert_eq!(fast, slow, "function {i}");
            }
        }
    }

    #[test]
    fn fast_decoding_matches_wasmparser() {
        let mut body = String::new();
        for op in [
            "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u", "add",
            "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s",
            "shr_u", "rotl", "rotr",
        ] {
            for (ty, c) in [("i32", "-200000"), ("i64", "0x123456789a")] {
                // Comparisons give an i32: their results are dropped; arithmetic results
                // go to a local too (retargeting).
                let set = if matches!(op.as_bytes()[0], b'e' | b'n' | b'l' | b'g') {
                    "drop"
                } else {
                    "local.set $x{ty}"
                };
                let set = set.replace("{ty}", ty);
                body += &format!(
                    "({set} ({ty}.{op} (local.get $x{ty}) ({ty}.const {c})))
                     ({set} ({ty}.{op} ({ty}.const 7) (local.get $x{ty})))
                     (drop ({ty}.{op} (local.get $x{ty}) (local.tee $x{ty} ({ty}.const -1))))\n"
                );
            }
        }
        for op in ["eqz", "clz", "ctz", "popcnt"] {
            body += &format!(
                "(drop (i32.{op} (local.get $xi32))) (drop (i64.{op} (local.get $xi64)))\n"
            );
        }
        for (load, ty) in [
            ("i32.load", "i32"),
            ("i64.load", "i64"),
            ("f32.load", "f32"),
            ("f64.load", "f64"),
            ("i32.load8_s", "i32"),
            ("i32.load8_u", "i32"),
            ("i32.load16_s", "i32"),
            ("i32.load16_u", "i32"),
            ("i64.load8_s", "i64"),
            ("i64.load8_u", "i64"),
            ("i64.load16_s", "i64"),
            ("i64.load16_u", "i64"),
            ("i64.load32_s", "i64"),
            ("i64.load32_u", "i64"),
        ] {
            let store = match load {
                "i32.load8_s" | "i32.load8_u" => "i32.store8",
                "i32.load16_s" | "i32.load16_u" => "i32.store16",
                "i64.load8_s" | "i64.load8_u" => "i64.store8",
                "i64.load16_s" | "i64.load16_u" => "i64.store16",
                "i64.load32_s" | "i64.load32_u" => "i64.store32",
                _ => &format!("{ty}.store"),
            };
            body += &format!(
                "({store} offset=300 align=1 (i32.const 8)
                    ({load} offset=5 (local.get $xi32)))
                 ({store} (local.get $xi32) ({load} offset=70000 (i32.const 16)))\n"
            );
        }
        body += "(local.set $xi64 (i64.extend_i32_s (i32.wrap_i64 (local.get $xi64))))
                 (local.set $xi64 (i64.extend_i32_u (local.get $xi32)))
                 (global.set $g (i32.add (global.get $g) (i32.const 1)))
                 (drop (select (local.get $xi32) (i32.const 2) (local.get 0)))
                 (nop)
                 (block $b
                   (loop $l
                     (br_if $b (i32.eqz (local.get 0)))
                     (local.set 0 (call $f (local.get 0)))
                     (if (i32.lt_s (local.get 0) (i32.const 10))
                       (then (br $l))
                       (else (br $b)))
                     (drop (i32.const 1))
                     (block (loop (if (local.get 0) (then (nop)) (else (nop)))))))
                 (block (result i32)
                   (i32.const 3)
                   (br_if 0 (local.get 0))
                   (drop)
                   (i32.const 4))
                 (local.set $xi32)
                 (if (local.get 0)
                   (then (return (local.get $xi32)))
                   (else (unreachable) (drop (i32.add (i32.const 1) (local.get 0)))))
                 (local.get $xi32)\n";
        let wat = format!(
            r#"(module
                 (memory 1)
                 (global $g (mut i32) (i32.const 0))
                 (func $f (param i32) (result i32)
                   (local $xi32 i32) (local $xi64 i64)
                   {body})
                 (func (param i32) (result i32)
                   (block (br 0) (drop (i32.add (local.get 0) (i32.const 1))) (loop (nop)))
                   (return (i32.const 0))
                   (i32.const 1)))"#
        );
        check_fast_path(&Module::new(wat::parse_str(&wat).unwrap()).unwrap());
    }

    #[test]
    fn fast_decoding_matches_wasmparser_on_programs() {
        for name in ["nbody", "sort", "hash", "bytecode", "compress"] {
            let path = format!(
                "{}/../benches/programs/{name}.wasm",
                env!("CARGO_MANIFEST_DIR")
            );
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            check_fast_path(&Module::new(bytes).unwrap());
        }
    }
}
