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

use super::code::{fuse_branch, CompiledFunc, Counters, LoopInfo, Op, Reg};
use strata_vm::module::Module;
use wasmparser::{BlockType, Operator};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    /// In its own slot.
    Temp,
    /// The current value of a local.
    Local(u32),
    /// A constant not yet written anywhere.
    Const(u64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

#[derive(Debug)]
struct Control {
    kind: Kind,
    /// Stack height below the block's parameters.
    height: u32,
    num_params: u32,
    num_results: u32,
    /// For loops: the header pc.
    header: u32,
    /// Branches to patch with the end pc.
    fixups: Vec<usize>,
    /// For `if`: the conditional branch to the else arm.
    else_fixup: Option<usize>,
    /// Opened while unreachable: nothing inside is translated.
    dead: bool,
}

struct Translator<'m> {
    module: &'m Module,
    ops: Vec<Op>,
    stack: Vec<Entry>,
    ctrl: Vec<Control>,
    num_locals: u32,
    max_height: u32,
    reachable: bool,
    /// Number of `Local` entries on the stack, to skip scans when there are none.
    pending_locals: usize,
    /// Constants used as operands, each read from a frame slot filled on entry. Operands
    /// name them `CONST_TAG | index` until the end, when every register is renumbered.
    consts: Vec<u64>,
    /// Position of the most recent branch target. An instruction before it may be reached
    /// by a path that skipped the instruction, so peepholes never rewrite across it.
    last_label: usize,
    /// `loop` operators seen so far, dead ones included (the OSR key, see `LoopInfo`).
    loop_count: u32,
    loops: Vec<LoopInfo>,
}

/// Translates defined function `def_index` of `module`. The body was validated with the
/// module, so malformed input cannot reach here; an internal inconsistency is an `Err`.
pub fn translate(module: &Module, def_index: usize) -> Result<CompiledFunc, String> {
    let func_index = module.num_imported_funcs + def_index as u32;
    let ty = module.func_type(func_index);
    let body = module.body(def_index);
    let mut num_locals = ty.params().len() as u64;
    let mut locals = body.get_locals_reader().map_err(|e| e.to_string())?;
    for _ in 0..locals.get_count() {
        let (count, _) = locals.read().map_err(|e| e.to_string())?;
        num_locals += count as u64;
    }
    if num_locals > (u32::MAX / 4) as u64 {
        return Err("function has too many locals".into());
    }
    let mut t = Translator {
        module,
        ops: Vec::with_capacity(module.bodies[def_index].range.len() / 2),
        stack: Vec::with_capacity(16),
        ctrl: Vec::with_capacity(8),
        num_locals: num_locals as u32,
        max_height: 0,
        reachable: true,
        pending_locals: 0,
        consts: Vec::new(),
        last_label: 0,
        loop_count: 0,
        loops: Vec::new(),
    };
    t.ctrl.push(Control {
        kind: Kind::Func,
        height: 0,
        num_params: 0,
        num_results: ty.results().len() as u32,
        header: 0,
        fixups: Vec::new(),
        else_fixup: None,
        dead: false,
    });
    let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
    while !reader.eof() {
        let op = reader.read().map_err(|e| e.to_string())?;
        t.op(op)?;
    }
    if !t.ctrl.is_empty() {
        return Err("function body ended inside a block".into());
    }
    // Sentinel: the code already ends in a terminator; this only guards the invariant
    // that execution never runs past the last instruction.
    t.ops.push(Op::Unreachable);
    let npool = t.consts.len() as u32;
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
        let mut prev = None;
        for op in t.ops.iter_mut() {
            let this = *op;
            op.map_regs(prev, map);
            if !matches!(this, Op::Ext { .. }) {
                prev = Some(this);
            }
        }
    }
    let frame_size = t.num_locals as u64 + npool as u64 + t.max_height as u64 + 1;
    if frame_size > u32::MAX as u64 / 2 {
        return Err("function frame is too large".into());
    }
    #[cfg(strata_opstats)]
    if std::env::var_os("STRATA_DUMP").is_some() {
        eprintln!("func {func_index}: locals {}", t.num_locals);
        for (pc, op) in t.ops.iter().enumerate() {
            eprintln!("  {pc:4} {op:?}");
        }
    }
    Ok(CompiledFunc {
        ops: t.ops.into_boxed_slice(),
        num_params: ty.params().len() as u32,
        num_locals: t.num_locals,
        consts: t.consts.into_boxed_slice(),
        num_results: ty.results().len() as u32,
        frame_size: frame_size as u32,
        body_bytes: module.bodies[def_index].range.len() as u32,
        counters: Counters::default(),
        loops: t.loops.into_boxed_slice(),
    })
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

    fn block_arity(&self, bt: BlockType) -> (u32, u32) {
        match bt {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(i) => {
                let t = &self.module.types[i as usize];
                (t.params().len() as u32, t.results().len() as u32)
            }
        }
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
        let n = self.ctrl[0].num_results as usize;
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
        let c = self.ctrl.len() - 1 - depth as usize;
        if self.ctrl[c].kind == Kind::Func {
            self.emit_return();
            return;
        }
        let (arity, dst_base) = {
            let ctl = &self.ctrl[c];
            let arity = if ctl.kind == Kind::Loop {
                ctl.num_params
            } else {
                ctl.num_results
            };
            (arity as usize, self.num_locals + ctl.height)
        };
        self.emit_copies(dst_base, arity);
        if self.ctrl[c].kind == Kind::Loop {
            let target = self.ctrl[c].header;
            self.emit(Op::Br { target });
        } else {
            let at = self.emit(Op::Br { target: 0 });
            self.ctrl[c].fixups.push(at);
        }
    }

    /// Whether a branch to `depth` is a single jump with no moves.
    fn branch_is_plain(&self, depth: u32) -> bool {
        let ctl = &self.ctrl[self.ctrl.len() - 1 - depth as usize];
        match ctl.kind {
            Kind::Func => false,
            Kind::Loop => {
                !self.copies_needed(self.num_locals + ctl.height, ctl.num_params as usize)
            }
            _ => !self.copies_needed(self.num_locals + ctl.height, ctl.num_results as usize),
        }
    }

    fn patch(&mut self, at: usize, to: u32) {
        match self.ops[at].branch_target_mut() {
            Some(target) => *target = to,
            None => unreachable!("patching a non-branch"),
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
        let (num_params, num_results) = self.block_arity(bt);
        if kind == Kind::Loop {
            self.bind_label();
        }
        self.ctrl.push(Control {
            kind,
            height: self.stack.len() as u32 - num_params,
            num_params,
            num_results,
            header: self.ops.len() as u32,
            fixups: Vec::new(),
            else_fixup,
            dead: false,
        });
    }

    fn push_dead_ctrl(&mut self) {
        self.ctrl.push(Control {
            kind: Kind::Block,
            height: self.stack.len() as u32,
            num_params: 0,
            num_results: 0,
            header: 0,
            fixups: Vec::new(),
            else_fixup: None,
            dead: true,
        });
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
        self.reachable = false;
        let height = self.ctrl.last().map(|c| c.height).unwrap_or(0);
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

    fn load(&mut self, offset: u64, make: fn(Reg, Reg, u32) -> Op) {
        let addr = self.pop_reg();
        let dst = self.push_temp();
        self.emit(make(dst, addr, offset as u32));
    }

    fn store(&mut self, offset: u64, make: fn(Reg, Reg, u32) -> Op) {
        let val = self.pop_reg();
        let addr = self.pop_reg();
        self.emit(make(addr, val, offset as u32));
    }

    fn call_args(&mut self, type_index: u32) -> (Reg, usize, usize) {
        let t = &self.module.types[type_index as usize];
        let (n, r) = (t.params().len(), t.results().len());
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

    fn op(&mut self, op: Operator<'_>) -> Result<(), String> {
        if !self.reachable {
            return self.op_unreachable(op);
        }
        macro_rules! un {
            ($v:ident) => {
                self.unary(|dst, a| Op::$v { dst, a })
            };
        }
        macro_rules! bin {
            ($v:ident) => {
                self.binary(|dst, a, b| Op::$v { dst, a, b })
            };
        }
        macro_rules! imm32 {
            ($v:ident, $vi:ident) => {
                self.binary_imm(
                    |dst, a, b| Op::$v { dst, a, b },
                    |dst, a, imm| Op::$vi { dst, a, imm },
                    false,
                )
            };
        }
        macro_rules! imm64 {
            ($v:ident, $vi:ident) => {
                self.binary_imm(
                    |dst, a, b| Op::$v { dst, a, b },
                    |dst, a, imm| Op::$vi { dst, a, imm },
                    true,
                )
            };
        }
        macro_rules! load {
            ($m:expr, $v:ident) => {
                self.load($m.offset, |dst, addr, offset| Op::$v { dst, addr, offset })
            };
        }
        macro_rules! store {
            ($m:expr, $v:ident) => {
                self.store($m.offset, |addr, val, offset| Op::$v { addr, val, offset })
            };
        }
        use Operator as O;
        match op {
            O::Nop => {}
            O::Unreachable => {
                self.emit(Op::Unreachable);
                self.unreachable_now();
            }
            O::Block { blockty } => {
                self.materialize_all();
                self.push_ctrl(Kind::Block, blockty, None);
            }
            O::Loop { blockty } => {
                self.materialize_all();
                self.push_ctrl(Kind::Loop, blockty, None);
                let c = self.ctrl.last().ok_or("loop without a frame")?;
                let info = LoopInfo {
                    header: c.header,
                    ordinal: self.loop_count,
                    height: c.height + c.num_params,
                };
                self.loops.push(info);
                self.loop_count += 1;
            }
            O::If { blockty } => {
                // Materialise below the condition first so a comparison computing it stays
                // the last instruction and can fuse with the branch.
                let len = self.stack.len();
                for p in 0..len - 1 {
                    self.materialize(p);
                }
                let cond = self.pop_reg();
                let at = self.emit_cond_branch(cond, true, 0);
                self.push_ctrl(Kind::If, blockty, Some(at));
            }
            O::Else => {
                let (height, n_res, n_par) = {
                    let c = self.ctrl.last().ok_or("else outside if")?;
                    (c.height, c.num_results, c.num_params)
                };
                self.emit_copies(self.num_locals + height, n_res as usize);
                let at = self.emit(Op::Br { target: 0 });
                let here = self.bind_label();
                let c = self.ctrl.last_mut().ok_or("else outside if")?;
                c.fixups.push(at);
                c.kind = Kind::Else;
                if let Some(f) = c.else_fixup.take() {
                    self.patch(f, here);
                }
                self.reset_stack(height, n_par);
            }
            O::End => self.end(true)?,
            O::Br { relative_depth } => {
                self.emit_branch(relative_depth);
                self.unreachable_now();
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop_reg();
                if self.branch_is_plain(relative_depth) {
                    let c = self.ctrl.len() - 1 - relative_depth as usize;
                    let at = self.emit_cond_branch(cond, false, 0);
                    if self.ctrl[c].kind == Kind::Loop {
                        let header = self.ctrl[c].header;
                        self.patch(at, header);
                    } else {
                        self.ctrl[c].fixups.push(at);
                    }
                } else {
                    let skip = self.emit_cond_branch(cond, true, 0);
                    self.emit_branch(relative_depth);
                    let here = self.bind_label();
                    self.patch(skip, here);
                }
            }
            O::BrTable { targets } => {
                let index = self.pop_reg();
                let depths = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())))
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(|e| e.to_string())?;
                let len = depths.len() as u32 - 1;
                self.emit(Op::BrTable { index, len });
                let first = self.ops.len();
                for _ in &depths {
                    self.emit(Op::Br { target: 0 });
                }
                for (k, &depth) in depths.iter().enumerate() {
                    let entry = first + k;
                    let c = self.ctrl.len() - 1 - depth as usize;
                    if self.branch_is_plain(depth) {
                        if self.ctrl[c].kind == Kind::Loop {
                            let header = self.ctrl[c].header;
                            self.patch(entry, header);
                        } else {
                            self.ctrl[c].fixups.push(entry);
                        }
                    } else {
                        let stub = self.bind_label();
                        self.patch(entry, stub);
                        self.emit_branch(depth);
                    }
                }
                self.unreachable_now();
            }
            O::Return => {
                self.emit_return();
                self.unreachable_now();
            }
            O::Call { function_index } => {
                let ty = self.module.funcs[function_index as usize];
                let (base, n, r) = self.call_args(ty);
                self.emit(Op::Call {
                    func: function_index,
                    base,
                });
                self.call_results(n, r);
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
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
            }
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
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
            O::LocalGet { local_index } => self.push(Entry::Local(local_index)),
            O::LocalSet { local_index } => {
                let p = self.stack.len() - 1;
                let value = self.stack[p];
                self.pop();
                self.preserve_local(local_index, p);
                if !(value == Entry::Temp && self.retarget(p, local_index)) {
                    self.set_local(local_index, value, p);
                }
            }
            O::LocalTee { local_index } => {
                let p = self.stack.len() - 1;
                let value = self.stack[p];
                if value != Entry::Local(local_index) {
                    self.preserve_local(local_index, p);
                    if value == Entry::Temp && self.retarget(p, local_index) {
                        // The value now lives only in the local: read it from there.
                        self.pop();
                        self.push(Entry::Local(local_index));
                    } else {
                        self.set_local(local_index, value, p);
                    }
                }
            }
            O::GlobalGet { global_index } => {
                let dst = self.push_temp();
                self.emit(Op::GlobalGet {
                    dst,
                    index: global_index,
                });
            }
            O::GlobalSet { global_index } => {
                let src = self.pop_reg();
                self.emit(Op::GlobalSet {
                    src,
                    index: global_index,
                });
            }
            O::I32Load { memarg } => load!(memarg, I32Load),
            O::I64Load { memarg } => load!(memarg, I64Load),
            O::F32Load { memarg } => load!(memarg, F32Load),
            O::F64Load { memarg } => load!(memarg, F64Load),
            O::I32Load8S { memarg } => load!(memarg, I32Load8S),
            O::I32Load8U { memarg } => load!(memarg, I32Load8U),
            O::I32Load16S { memarg } => load!(memarg, I32Load16S),
            O::I32Load16U { memarg } => load!(memarg, I32Load16U),
            O::I64Load8S { memarg } => load!(memarg, I64Load8S),
            O::I64Load8U { memarg } => load!(memarg, I64Load8U),
            O::I64Load16S { memarg } => load!(memarg, I64Load16S),
            O::I64Load16U { memarg } => load!(memarg, I64Load16U),
            O::I64Load32S { memarg } => load!(memarg, I64Load32S),
            O::I64Load32U { memarg } => load!(memarg, I64Load32U),
            O::I32Store { memarg } => store!(memarg, I32Store),
            O::I64Store { memarg } => store!(memarg, I64Store),
            O::F32Store { memarg } => store!(memarg, F32Store),
            O::F64Store { memarg } => store!(memarg, F64Store),
            O::I32Store8 { memarg } => store!(memarg, I32Store8),
            O::I32Store16 { memarg } => store!(memarg, I32Store16),
            O::I64Store8 { memarg } => store!(memarg, I64Store8),
            O::I64Store16 { memarg } => store!(memarg, I64Store16),
            O::I64Store32 { memarg } => store!(memarg, I64Store32),
            O::MemorySize { .. } => {
                let dst = self.push_temp();
                self.emit(Op::MemorySize { dst });
            }
            O::MemoryGrow { .. } => {
                let delta = self.pop_reg();
                let dst = self.push_temp();
                self.emit(Op::MemoryGrow { dst, delta });
            }
            O::MemoryCopy { .. } => {
                let len = self.pop_reg();
                let src = self.pop_reg();
                let dst = self.pop_reg();
                self.emit(Op::MemoryCopy { dst, src, len });
            }
            O::MemoryFill { .. } => {
                let len = self.pop_reg();
                let val = self.pop_reg();
                let dst = self.pop_reg();
                self.emit(Op::MemoryFill { dst, val, len });
            }
            O::MemoryInit { data_index, .. } => {
                let len = self.pop_reg();
                let src = self.pop_reg();
                let dst = self.pop_reg();
                self.emit(Op::MemoryInit {
                    segment: data_index,
                    dst,
                    src,
                });
                self.emit(Op::Ext { a: len, b: 0, c: 0 });
            }
            O::DataDrop { data_index } => {
                self.emit(Op::DataDrop {
                    segment: data_index,
                });
            }
            O::TableGet { table } => {
                let index = self.pop_reg();
                let dst = self.push_temp();
                self.emit(Op::TableGet { dst, table, index });
            }
            O::TableSet { table } => {
                let val = self.pop_reg();
                let index = self.pop_reg();
                self.emit(Op::TableSet { table, index, val });
            }
            O::TableSize { table } => {
                let dst = self.push_temp();
                self.emit(Op::TableSize { dst, table });
            }
            O::TableGrow { table } => {
                let delta = self.pop_reg();
                let init = self.pop_reg();
                let dst = self.push_temp();
                self.emit(Op::TableGrow { dst, table, init });
                self.emit(Op::Ext {
                    a: delta,
                    b: 0,
                    c: 0,
                });
            }
            O::TableFill { table } => {
                let len = self.pop_reg();
                let val = self.pop_reg();
                let index = self.pop_reg();
                self.emit(Op::TableFill { table, index, val });
                self.emit(Op::Ext { a: len, b: 0, c: 0 });
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop_reg();
                let src = self.pop_reg();
                let dst = self.pop_reg();
                self.emit(Op::TableCopy {
                    dst_table,
                    src_table,
                    dst,
                });
                self.emit(Op::Ext {
                    a: src,
                    b: len,
                    c: 0,
                });
            }
            O::TableInit { elem_index, table } => {
                let len = self.pop_reg();
                let src = self.pop_reg();
                let dst = self.pop_reg();
                self.emit(Op::TableInit {
                    table,
                    segment: elem_index,
                    dst,
                });
                self.emit(Op::Ext {
                    a: src,
                    b: len,
                    c: 0,
                });
            }
            O::ElemDrop { elem_index } => {
                self.emit(Op::ElemDrop {
                    segment: elem_index,
                });
            }
            O::RefNull { .. } => self.push(Entry::Const(0)),
            O::RefIsNull => un!(I64Eqz),
            O::RefFunc { function_index } => {
                let dst = self.push_temp();
                self.emit(Op::RefFunc {
                    dst,
                    func: function_index,
                });
            }
            O::I32Const { value } => self.push(Entry::Const(value as u32 as u64)),
            O::I64Const { value } => self.push(Entry::Const(value as u64)),
            O::F32Const { value } => self.push(Entry::Const(value.bits() as u64)),
            O::F64Const { value } => self.push(Entry::Const(value.bits())),

            O::I32Eqz => un!(I32Eqz),
            O::I64Eqz => un!(I64Eqz),
            O::I32Clz => un!(I32Clz),
            O::I32Ctz => un!(I32Ctz),
            O::I32Popcnt => un!(I32Popcnt),
            O::I64Clz => un!(I64Clz),
            O::I64Ctz => un!(I64Ctz),
            O::I64Popcnt => un!(I64Popcnt),
            O::F32Abs => un!(F32Abs),
            O::F32Neg => un!(F32Neg),
            O::F32Ceil => un!(F32Ceil),
            O::F32Floor => un!(F32Floor),
            O::F32Trunc => un!(F32Trunc),
            O::F32Nearest => un!(F32Nearest),
            O::F32Sqrt => un!(F32Sqrt),
            O::F64Abs => un!(F64Abs),
            O::F64Neg => un!(F64Neg),
            O::F64Ceil => un!(F64Ceil),
            O::F64Floor => un!(F64Floor),
            O::F64Trunc => un!(F64Trunc),
            O::F64Nearest => un!(F64Nearest),
            O::F64Sqrt => un!(F64Sqrt),
            O::I32WrapI64 => un!(I32WrapI64),
            O::I32TruncF32S => un!(I32TruncF32S),
            O::I32TruncF32U => un!(I32TruncF32U),
            O::I32TruncF64S => un!(I32TruncF64S),
            O::I32TruncF64U => un!(I32TruncF64U),
            O::I64ExtendI32S => un!(I64ExtendI32S),
            O::I64ExtendI32U => un!(I64ExtendI32U),
            O::I64TruncF32S => un!(I64TruncF32S),
            O::I64TruncF32U => un!(I64TruncF32U),
            O::I64TruncF64S => un!(I64TruncF64S),
            O::I64TruncF64U => un!(I64TruncF64U),
            O::F32ConvertI32S => un!(F32ConvertI32S),
            O::F32ConvertI32U => un!(F32ConvertI32U),
            O::F32ConvertI64S => un!(F32ConvertI64S),
            O::F32ConvertI64U => un!(F32ConvertI64U),
            O::F32DemoteF64 => un!(F32DemoteF64),
            O::F64ConvertI32S => un!(F64ConvertI32S),
            O::F64ConvertI32U => un!(F64ConvertI32U),
            O::F64ConvertI64S => un!(F64ConvertI64S),
            O::F64ConvertI64U => un!(F64ConvertI64U),
            O::F64PromoteF32 => un!(F64PromoteF32),
            // Reinterpretations are free: cells hold raw bits.
            O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {}
            O::I32Extend8S => un!(I32Extend8S),
            O::I32Extend16S => un!(I32Extend16S),
            O::I64Extend8S => un!(I64Extend8S),
            O::I64Extend16S => un!(I64Extend16S),
            O::I64Extend32S => un!(I64Extend32S),
            O::I32TruncSatF32S => un!(I32TruncSatF32S),
            O::I32TruncSatF32U => un!(I32TruncSatF32U),
            O::I32TruncSatF64S => un!(I32TruncSatF64S),
            O::I32TruncSatF64U => un!(I32TruncSatF64U),
            O::I64TruncSatF32S => un!(I64TruncSatF32S),
            O::I64TruncSatF32U => un!(I64TruncSatF32U),
            O::I64TruncSatF64S => un!(I64TruncSatF64S),
            O::I64TruncSatF64U => un!(I64TruncSatF64U),

            O::I32Eq => imm32!(I32Eq, I32EqImm),
            O::I32Ne => imm32!(I32Ne, I32NeImm),
            O::I32LtS => imm32!(I32LtS, I32LtSImm),
            O::I32LtU => imm32!(I32LtU, I32LtUImm),
            O::I32GtS => imm32!(I32GtS, I32GtSImm),
            O::I32GtU => imm32!(I32GtU, I32GtUImm),
            O::I32LeS => imm32!(I32LeS, I32LeSImm),
            O::I32LeU => imm32!(I32LeU, I32LeUImm),
            O::I32GeS => imm32!(I32GeS, I32GeSImm),
            O::I32GeU => imm32!(I32GeU, I32GeUImm),
            O::I64Eq => imm64!(I64Eq, I64EqImm),
            O::I64Ne => imm64!(I64Ne, I64NeImm),
            O::I64LtS => imm64!(I64LtS, I64LtSImm),
            O::I64LtU => imm64!(I64LtU, I64LtUImm),
            O::I64GtS => imm64!(I64GtS, I64GtSImm),
            O::I64GtU => imm64!(I64GtU, I64GtUImm),
            O::I64LeS => imm64!(I64LeS, I64LeSImm),
            O::I64LeU => imm64!(I64LeU, I64LeUImm),
            O::I64GeS => imm64!(I64GeS, I64GeSImm),
            O::I64GeU => imm64!(I64GeU, I64GeUImm),
            O::F32Eq => bin!(F32Eq),
            O::F32Ne => bin!(F32Ne),
            O::F32Lt => bin!(F32Lt),
            O::F32Gt => bin!(F32Gt),
            O::F32Le => bin!(F32Le),
            O::F32Ge => bin!(F32Ge),
            O::F64Eq => bin!(F64Eq),
            O::F64Ne => bin!(F64Ne),
            O::F64Lt => bin!(F64Lt),
            O::F64Gt => bin!(F64Gt),
            O::F64Le => bin!(F64Le),
            O::F64Ge => bin!(F64Ge),
            O::I32Add => imm32!(I32Add, I32AddImm),
            O::I32Sub => {
                // x - c is x + (-c).
                if let Some(Entry::Const(v)) = self.stack.last().copied() {
                    let len = self.stack.len();
                    self.stack[len - 1] = Entry::Const((v as u32).wrapping_neg() as u64);
                    imm32!(I32Add, I32AddImm)
                } else {
                    bin!(I32Sub)
                }
            }
            O::I32Mul => imm32!(I32Mul, I32MulImm),
            O::I32DivS => bin!(I32DivS),
            O::I32DivU => bin!(I32DivU),
            O::I32RemS => bin!(I32RemS),
            O::I32RemU => bin!(I32RemU),
            O::I32And => imm32!(I32And, I32AndImm),
            O::I32Or => imm32!(I32Or, I32OrImm),
            O::I32Xor => imm32!(I32Xor, I32XorImm),
            O::I32Shl => imm32!(I32Shl, I32ShlImm),
            O::I32ShrS => imm32!(I32ShrS, I32ShrSImm),
            O::I32ShrU => imm32!(I32ShrU, I32ShrUImm),
            O::I32Rotl => imm32!(I32Rotl, I32RotlImm),
            O::I32Rotr => imm32!(I32Rotr, I32RotrImm),
            O::I64Add => imm64!(I64Add, I64AddImm),
            O::I64Sub => match self.stack.last().copied() {
                Some(Entry::Const(v)) if fits_i32(v.wrapping_neg()) => {
                    let len = self.stack.len();
                    self.stack[len - 1] = Entry::Const(v.wrapping_neg());
                    imm64!(I64Add, I64AddImm)
                }
                _ => bin!(I64Sub),
            },
            O::I64Mul => imm64!(I64Mul, I64MulImm),
            O::I64DivS => bin!(I64DivS),
            O::I64DivU => bin!(I64DivU),
            O::I64RemS => bin!(I64RemS),
            O::I64RemU => bin!(I64RemU),
            O::I64And => imm64!(I64And, I64AndImm),
            O::I64Or => imm64!(I64Or, I64OrImm),
            O::I64Xor => imm64!(I64Xor, I64XorImm),
            O::I64Shl => imm64!(I64Shl, I64ShlImm),
            O::I64ShrS => imm64!(I64ShrS, I64ShrSImm),
            O::I64ShrU => imm64!(I64ShrU, I64ShrUImm),
            O::I64Rotl => imm64!(I64Rotl, I64RotlImm),
            O::I64Rotr => imm64!(I64Rotr, I64RotrImm),
            O::F32Add => bin!(F32Add),
            O::F32Sub => bin!(F32Sub),
            O::F32Mul => bin!(F32Mul),
            O::F32Div => bin!(F32Div),
            O::F32Min => bin!(F32Min),
            O::F32Max => bin!(F32Max),
            O::F32Copysign => bin!(F32Copysign),
            O::F64Add => bin!(F64Add),
            O::F64Sub => bin!(F64Sub),
            O::F64Mul => bin!(F64Mul),
            O::F64Div => bin!(F64Div),
            O::F64Min => bin!(F64Min),
            O::F64Max => bin!(F64Max),
            O::F64Copysign => bin!(F64Copysign),
            other => return Err(format!("the interpreter does not support {other:?}")),
        }
        Ok(())
    }

    /// Makes the instruction that produced stack slot `p` write local `i` directly.
    fn retarget(&mut self, p: usize, i: u32) -> bool {
        let slot = self.slot(p);
        match self.last_writer(slot).and_then(Op::dst_mut) {
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

    /// Structural tracking only: nothing in unreachable code is translated.
    fn op_unreachable(&mut self, op: Operator<'_>) -> Result<(), String> {
        match op {
            Operator::Block { .. } | Operator::If { .. } => {
                self.push_dead_ctrl();
            }
            Operator::Loop { .. } => {
                self.push_dead_ctrl();
                self.loop_count += 1;
            }
            Operator::Else => {
                let c = self.ctrl.last_mut().ok_or("else outside if")?;
                if !c.dead {
                    let (height, n_par) = (c.height, c.num_params);
                    c.kind = Kind::Else;
                    let f = c.else_fixup.take();
                    let here = self.bind_label();
                    if let Some(f) = f {
                        self.patch(f, here);
                    }
                    self.reset_stack(height, n_par);
                    self.reachable = true;
                }
            }
            Operator::End => {
                if self.ctrl.last().ok_or("end outside block")?.dead {
                    self.ctrl.pop();
                } else {
                    self.end(false)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, reachable: bool) -> Result<(), String> {
        let c = self.ctrl.pop().ok_or("end outside block")?;
        if c.kind == Kind::Func {
            if reachable {
                self.ctrl.push(c);
                self.emit_return();
                self.ctrl.pop();
            }
            return Ok(());
        }
        if reachable {
            self.emit_copies(self.num_locals + c.height, c.num_results as usize);
        }
        let here = self.bind_label();
        for at in c.fixups {
            self.patch(at, here);
        }
        if let Some(f) = c.else_fixup {
            self.patch(f, here);
        }
        self.reset_stack(c.height, c.num_results);
        self.reachable = true;
        Ok(())
    }
}
