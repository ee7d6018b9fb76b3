//! The single-pass code generator: one visit of each operator, an abstract value stack that
//! keeps operands as constants, registers, pending local reads or home slots, and emits x86-64
//! directly (design in `abi.rs`).
//!
//! Invariants that keep the single pass correct:
//! - At every block, loop and `if` entry the stack is made canonical: every entry below the
//!   block's parameters is a constant or in its home slot, and the parameters are in their home
//!   slots. Code inside the block never changes entries below its height, so they stay valid at
//!   every label of the block, and a merge only has to put the branch values into the home
//!   slots of the target's results (or a loop's parameters).
//! - Code emitted on a conditional path (the moves of a taken `br_if`, `br_table` stubs) never
//!   changes the abstract stack.
//! - A call spills every register (all are caller-saved); pending local reads and constants
//!   survive it (callees cannot touch the caller's locals).
//! - An i32 in a general register is always zero-extended; memory addresses are nevertheless
//!   zero-extended explicitly (`mov r11d, r32`) before they meet the memory base.

use super::abi::*;
use super::helpers;
use super::masm::{fits_i32, jcc, mov_imm, setcc, Asm, Cc};
use super::stack::{Loc, RegSet, Ty, Val};
use dynasmrt::{dynasm, AssemblyOffset, DynamicLabel, DynasmApi, DynasmLabelApi};
use strata_vm::vmctx::offsets as off;
use strata_vm::{Module, TrapCode};
use wasmparser::{BlockType, MemArg, Operator};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

struct Ctl {
    kind: Kind,
    /// Stack height below the parameters.
    height: usize,
    params: Vec<Ty>,
    results: Vec<Ty>,
    /// End label (block, if, func) or header (loop).
    label: DynamicLabel,
    /// For `if`: where the else arm starts.
    else_label: Option<DynamicLabel>,
    dead: bool,
}

pub struct Gen<'a> {
    pub asm: &'a mut Asm,
    pub explicit: bool,
    pub has_memory: bool,
    module: &'a Module,
    traps: &'a mut Vec<(u32, TrapCode)>,
    num_locals: u32,
    local_tys: Vec<Ty>,
    results: Vec<Ty>,
    stack: Vec<Val>,
    ctrl: Vec<Ctl>,
    regs: RegSet,
    max_height: usize,
    reachable: bool,
    trap_labels: [Option<DynamicLabel>; 16],
    to_stub: DynamicLabel,
}

enum Opnd {
    Reg(u8),
    Mem(i32),
    Imm(i32),
}

/// What a compare leaves for the next operator: a condition on the flags.
type Fused = Cc;

/// Compiles defined function `def_index`, appending to `asm`. Returns the code offset of its
/// entry. Trap sites (offsets from the start of `asm`) are appended to `traps`.
pub fn compile_function(
    asm: &mut Asm,
    traps: &mut Vec<(u32, TrapCode)>,
    module: &Module,
    def_index: usize,
    explicit: bool,
) -> Result<usize, String> {
    let func_index = module.num_imported_funcs + def_index as u32;
    let ty = module.func_type(func_index);
    let body = module.body(def_index);
    let mut local_tys = ty
        .params()
        .iter()
        .map(|t| Ty::from_val(*t))
        .collect::<Result<Vec<_>, _>>()?;
    let num_params = local_tys.len() as u32;
    let mut locals = body.get_locals_reader().map_err(|e| e.to_string())?;
    for _ in 0..locals.get_count() {
        let (count, t) = locals.read().map_err(|e| e.to_string())?;
        if local_tys.len() as u64 + count as u64 > MAX_FRAME_CELLS / 2 {
            return Err("function has too many locals".into());
        }
        let t = Ty::from_wasm(t)?;
        local_tys.extend(std::iter::repeat_n(t, count as usize));
    }
    let results = ty
        .results()
        .iter()
        .map(|t| Ty::from_val(*t))
        .collect::<Result<Vec<_>, _>>()?;
    let to_stub = asm.new_dynamic_label();
    let func_label = asm.new_dynamic_label();
    let mut g = Gen {
        asm,
        explicit,
        has_memory: !module.memories.is_empty(),
        module,
        traps,
        num_locals: local_tys.len() as u32,
        local_tys,
        results: results.clone(),
        stack: Vec::with_capacity(32),
        ctrl: Vec::with_capacity(16),
        regs: RegSet::default(),
        max_height: 0,
        reachable: true,
        trap_labels: [None; 16],
        to_stub,
    };
    let entry = g.asm.offset().0;
    let patch = g.prologue(num_params);
    g.ctrl.push(Ctl {
        kind: Kind::Func,
        height: 0,
        params: Vec::new(),
        results,
        label: func_label,
        else_label: None,
        dead: false,
    });
    let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
    let mut next: Option<Operator<'_>> = None;
    loop {
        let op = match next.take() {
            Some(op) => op,
            None => {
                if reader.eof() {
                    break;
                }
                reader.read().map_err(|e| e.to_string())?
            }
        };
        if !g.reachable {
            g.op_unreachable(&op)?;
            continue;
        }
        if let Some(cc) = g.compare(&op)? {
            // Fuse with a following br_if / if; otherwise materialise the boolean.
            let peek = if reader.eof() {
                None
            } else {
                Some(reader.read().map_err(|e| e.to_string())?)
            };
            match peek {
                Some(Operator::BrIf { relative_depth }) => g.br_if_cc(cc, relative_depth),
                Some(Operator::If { blockty }) => g.if_cc(cc, blockty)?,
                other => {
                    g.materialize_cc(cc);
                    next = other;
                }
            }
            continue;
        }
        g.op(op)?;
    }
    if !g.ctrl.is_empty() {
        return Err("function body ended inside a block".into());
    }
    g.epilogue_stubs();
    let frame = g.num_locals as u64 + g.max_height as u64 + 1;
    if frame > MAX_FRAME_CELLS {
        return Err("function frame is too large".into());
    }
    let mut m = g.asm.alter();
    m.goto(AssemblyOffset(patch - 4));
    m.push_i32(cell_disp(frame as u32));
    Ok(entry)
}

macro_rules! asm {
    ($g:ident; $($t:tt)*) => {{
        let a = &mut *$g.asm;
        dynasm!(a ; .arch x64 ; $($t)*);
    }};
}

/// `op dst, src` for the integer ALU forms (two operands, same width).
macro_rules! alu {
    ($g:ident, $mn:ident, $w64:expr, $dst:expr, $src:expr) => {{
        let d = $dst;
        match ($w64, $src) {
            (false, Opnd::Reg(r)) => asm!($g; $mn Rd(d), Rd(r)),
            (true, Opnd::Reg(r)) => asm!($g; $mn Rq(d), Rq(r)),
            (false, Opnd::Mem(m)) => asm!($g; $mn Rd(d), DWORD [Rq(FP) + m]),
            (true, Opnd::Mem(m)) => asm!($g; $mn Rq(d), QWORD [Rq(FP) + m]),
            (false, Opnd::Imm(i)) => asm!($g; $mn Rd(d), i),
            (true, Opnd::Imm(i)) => asm!($g; $mn Rq(d), i),
        }
    }};
}

/// SSE scalar `op xmm, xmm/mem`.
macro_rules! sse {
    ($g:ident, $mn32:ident, $mn64:ident, $w64:expr, $dst:expr, $src:expr) => {{
        let d = $dst;
        match ($w64, $src) {
            (false, Opnd::Reg(r)) => asm!($g; $mn32 Rx(d), Rx(r)),
            (true, Opnd::Reg(r)) => asm!($g; $mn64 Rx(d), Rx(r)),
            (false, Opnd::Mem(m)) => asm!($g; $mn32 Rx(d), DWORD [Rq(FP) + m]),
            (true, Opnd::Mem(m)) => asm!($g; $mn64 Rx(d), QWORD [Rq(FP) + m]),
            (_, Opnd::Imm(_)) => unreachable!("no SSE immediates"),
        }
    }};
}

/// A load from linear memory at `[r13 + r11 + disp]` into register `d`.
macro_rules! mload {
    ($g:ident, $d:expr, $disp:expr, $($t:tt)*) => {{
        let site = $g.asm.offset().0 as u32;
        $g.traps.push((site, TrapCode::MemoryOutOfBounds));
        let _ = ($d, $disp);
        asm!($g; $($t)*);
    }};
}

impl<'a> Gen<'a> {
    pub fn slot_disp(&self, p: u32) -> i32 {
        cell_disp(self.num_locals + p)
    }

    /// The value-stack cell (relative to fp) a location reads, if it is one.
    fn cell_of(&self, loc: Loc) -> Option<u32> {
        match loc {
            Loc::Local(i) => Some(i),
            Loc::Slot(p) => Some(self.num_locals + p),
            _ => None,
        }
    }

    // ---- registers and the abstract stack ----

    fn push(&mut self, ty: Ty, loc: Loc) {
        if let Loc::Reg(r) = loc {
            self.regs.set(ty.is_float(), r);
        }
        self.stack.push(Val::new(ty, loc));
        self.max_height = self.max_height.max(self.stack.len());
    }

    fn push_reg(&mut self, ty: Ty, r: u8) {
        self.push(ty, Loc::Reg(r));
    }

    fn pop(&mut self) -> Val {
        self.stack.pop().unwrap_or(Val::new(Ty::I32, Loc::Const(0)))
    }

    fn free(&mut self, v: Val) {
        if let Loc::Reg(r) = v.loc {
            self.regs.clear(v.ty.is_float(), r);
        }
    }

    /// Moves stack entry `p` to its home slot.
    fn spill_entry(&mut self, p: usize) {
        let v = self.stack[p];
        if let Loc::Slot(_) = v.loc {
            return;
        }
        let disp = self.slot_disp(p as u32);
        self.store_cell(v, FP, disp);
        self.free(v);
        self.stack[p].loc = Loc::Slot(p as u32);
    }

    fn alloc_gpr(&mut self) -> u8 {
        for r in ALLOC_GPRS {
            if !self.regs.is_used(false, r) {
                self.regs.set(false, r);
                return r;
            }
        }
        // Spill the deepest register-held integer.
        let p = self
            .stack
            .iter()
            .position(|v| !v.ty.is_float() && matches!(v.loc, Loc::Reg(_)))
            .expect("a register is held by the stack");
        let r = self.stack[p].reg().unwrap_or(RAX);
        self.spill_entry(p);
        self.regs.set(false, r);
        r
    }

    fn alloc_xmm(&mut self) -> u8 {
        for r in 0..ALLOC_XMMS {
            if !self.regs.is_used(true, r) {
                self.regs.set(true, r);
                return r;
            }
        }
        let p = self
            .stack
            .iter()
            .position(|v| v.ty.is_float() && matches!(v.loc, Loc::Reg(_)))
            .expect("an xmm register is held by the stack");
        let r = self.stack[p].reg().unwrap_or(0);
        self.spill_entry(p);
        self.regs.set(true, r);
        r
    }

    /// Frees a specific general register: spills the stack entry holding it.
    fn evict(&mut self, r: u8) {
        if let Some(p) = self
            .stack
            .iter()
            .position(|v| !v.ty.is_float() && v.loc == Loc::Reg(r))
        {
            self.spill_entry(p);
        }
    }

    /// A register owned by the caller holding `v` (reuses `v`'s register).
    fn take_gpr(&mut self, v: Val) -> u8 {
        if let (Loc::Reg(r), false) = (v.loc, v.ty.is_float()) {
            return r;
        }
        let r = self.alloc_gpr();
        self.load_gpr_into(v, r);
        self.free(v);
        r
    }

    fn take_xmm(&mut self, v: Val) -> u8 {
        if let (Loc::Reg(r), true) = (v.loc, v.ty.is_float()) {
            return r;
        }
        let r = self.alloc_xmm();
        self.load_xmm_into(v, r);
        self.free(v);
        r
    }

    /// A second operand for an integer instruction: register, frame memory or immediate.
    fn int_opnd(&mut self, v: Val, imm_ok: bool, scratch: u8) -> Opnd {
        match v.loc {
            Loc::Reg(r) if !v.ty.is_float() => Opnd::Reg(r),
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(v.loc).unwrap_or(0)),
            Loc::Const(c) if imm_ok && (!v.ty.is_64() || fits_i32(c)) => Opnd::Imm(c as i32),
            _ => {
                self.load_gpr_into(v, scratch);
                Opnd::Reg(scratch)
            }
        }
    }

    fn float_opnd(&mut self, v: Val) -> Opnd {
        match v.loc {
            Loc::Reg(r) if v.ty.is_float() => Opnd::Reg(r),
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(v.loc).unwrap_or(0)),
            _ => {
                self.load_xmm_into(v, XMM_SCRATCH);
                Opnd::Reg(XMM_SCRATCH)
            }
        }
    }

    /// Spills every register-held entry (before calls).
    fn spill_regs(&mut self) {
        for p in 0..self.stack.len() {
            if let Loc::Reg(_) = self.stack[p].loc {
                self.spill_entry(p);
            }
        }
    }

    /// Makes the stack canonical for a block with `nparams` parameters (see module docs).
    fn canonicalize(&mut self, nparams: usize) {
        let len = self.stack.len();
        for p in 0..len {
            let v = self.stack[p];
            let keep_const = matches!(v.loc, Loc::Const(_)) && p < len - nparams;
            if !keep_const {
                self.spill_entry(p);
            }
        }
    }

    /// Writes pending reads of local `i` to their slots before the local changes.
    fn preserve_local(&mut self, i: u32) {
        for p in 0..self.stack.len() {
            if self.stack[p].loc == Loc::Local(i) {
                self.spill_entry(p);
            }
        }
    }

    fn recompute_regs(&mut self) {
        let mut regs = RegSet::default();
        for v in &self.stack {
            if let Loc::Reg(r) = v.loc {
                regs.set(v.ty.is_float(), r);
            }
        }
        self.regs = regs;
    }

    fn truncate(&mut self, height: usize) {
        while self.stack.len() > height {
            let v = self.pop();
            self.free(v);
        }
    }

    // ---- traps ----

    fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        let i = code as usize;
        if let Some(l) = self.trap_labels[i] {
            return l;
        }
        let l = self.asm.new_dynamic_label();
        self.trap_labels[i] = Some(l);
        l
    }

    fn trap_if(&mut self, cc: Cc, code: TrapCode) {
        let l = self.trap_label(code);
        jcc(self.asm, cc, l);
    }

    /// After a helper that returns a trap code in eax.
    fn check_helper_trap(&mut self) {
        let l = self.to_stub;
        asm!(self; test eax, eax ; jnz =>l);
    }

    fn epilogue_stubs(&mut self) {
        for (i, l) in self.trap_labels.iter().enumerate() {
            if let Some(l) = *l {
                let a = &mut *self.asm;
                dynasm!(a ; .arch x64 ; =>l ; mov eax, i as i32 ; jmp =>self.to_stub);
            }
        }
        let stub = super::trampoline::trap_stub();
        let l = self.to_stub;
        // rdx = a pc of this function, so the trap stub can name it in the backtrace.
        asm!(self
            ; =>l
            ; lea rdx, [=>l]
            ; mov Rq(SCRATCH), QWORD stub as i64
            ; jmp Rq(SCRATCH)
        );
    }

    // ---- prologue and returns ----

    /// Returns the offset just after the frame-size displacement to patch.
    fn prologue(&mut self, num_params: u32) -> usize {
        let limit = off::RUNTIME_STACK_LIMIT;
        let end = off::RUNTIME_STACK_END;
        let rt = off::VMCTX_RUNTIME;
        let ovf = self.trap_label(TrapCode::StackOverflow);
        asm!(self
            ; push rbp
            ; mov rbp, rsp
            ; mov Rq(SCRATCH), QWORD [Rq(VMCTX) + rt]
            ; cmp rsp, QWORD [Rq(SCRATCH) + limit]
            ; jb =>ovf
            ; lea Rq(SCRATCH2), [Rq(FP) + 0x7fff_fff0]
        );
        let patch = self.asm.offset().0;
        asm!(self
            ; cmp Rq(SCRATCH2), QWORD [Rq(SCRATCH) + end]
            ; ja =>ovf
        );
        let n = self.num_locals - num_params;
        if n > 0 && n <= 8 {
            asm!(self; xor eax, eax);
            for i in num_params..self.num_locals {
                let d = cell_disp(i);
                asm!(self; mov QWORD [Rq(FP) + d], rax);
            }
        } else if n > 8 {
            let d = cell_disp(num_params);
            asm!(self
                ; lea rdi, [Rq(FP) + d]
                ; mov ecx, n as i32
                ; xor eax, eax
                ; rep stosq
            );
        }
        if self.has_memory {
            let mb = off::VMCTX_MEM_BASE;
            asm!(self; mov Rq(MEM_BASE), QWORD [Rq(VMCTX) + mb]);
            self.reload_mem_len();
        }
        patch
    }

    /// Returns the top `n` values (conditional-path safe: the abstract stack is unchanged).
    fn emit_return(&mut self) {
        let n = self.results.len();
        let len = self.stack.len();
        let conflict = (0..n).any(|k| matches!(self.stack[len - n + k].loc, Loc::Local(i) if (i as usize) < n && i as usize != k));
        if conflict {
            // Gather above the stack top first: those slots are free.
            self.max_height = self.max_height.max(len + n);
            for k in 0..n {
                let v = self.stack[len - n + k];
                let d = self.slot_disp((len + k) as u32);
                self.store_cell(v, FP, d);
            }
            for k in 0..n {
                let ty = self.stack[len - n + k].ty;
                let v = Val::new(ty, Loc::Slot((len + k) as u32));
                self.store_cell(v, FP, cell_disp(k as u32));
            }
        } else {
            for k in 0..n {
                let v = self.stack[len - n + k];
                if self.cell_of(v.loc) != Some(k as u32) {
                    self.store_cell(v, FP, cell_disp(k as u32));
                }
            }
        }
        asm!(self; pop rbp ; ret);
    }

    /// Whether branching to `ctl` needs moves.
    fn branch_moves(&self, c: usize) -> bool {
        let ctl = &self.ctrl[c];
        if ctl.kind == Kind::Func {
            return true;
        }
        let n = if ctl.kind == Kind::Loop {
            ctl.params.len()
        } else {
            ctl.results.len()
        };
        let len = self.stack.len();
        (0..n).any(|k| self.stack[len - n + k].loc != Loc::Slot((ctl.height + k) as u32))
    }

    /// Moves the branch values into place and jumps (conditional-path safe).
    fn emit_branch(&mut self, depth: u32) {
        let c = self.ctrl.len() - 1 - depth as usize;
        if self.ctrl[c].kind == Kind::Func {
            self.emit_return();
            return;
        }
        let (n, height, label) = {
            let ctl = &self.ctrl[c];
            let n = if ctl.kind == Kind::Loop {
                ctl.params.len()
            } else {
                ctl.results.len()
            };
            (n, ctl.height, ctl.label)
        };
        let len = self.stack.len();
        for k in 0..n {
            let v = self.stack[len - n + k];
            if v.loc != Loc::Slot((height + k) as u32) {
                let d = self.slot_disp((height + k) as u32);
                self.store_cell(v, FP, d);
            }
        }
        asm!(self; jmp =>label);
    }

    fn unreachable_now(&mut self) {
        self.reachable = false;
        let h = self.ctrl.last().map(|c| c.height).unwrap_or(0);
        self.truncate(h);
    }

    fn block_types(&self, bt: BlockType) -> Result<(Vec<Ty>, Vec<Ty>), String> {
        Ok(match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![Ty::from_wasm(t)?]),
            BlockType::FuncType(i) => {
                let t = &self.module.types[i as usize];
                (
                    t.params()
                        .iter()
                        .map(|t| Ty::from_val(*t))
                        .collect::<Result<_, _>>()?,
                    t.results()
                        .iter()
                        .map(|t| Ty::from_val(*t))
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }

    fn push_ctrl(
        &mut self,
        kind: Kind,
        bt: BlockType,
        else_label: Option<DynamicLabel>,
    ) -> Result<(), String> {
        let (params, results) = self.block_types(bt)?;
        let label = self.asm.new_dynamic_label();
        if kind == Kind::Loop {
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>label);
        }
        self.ctrl.push(Ctl {
            kind,
            height: self.stack.len() - params.len(),
            params,
            results,
            label,
            else_label,
            dead: false,
        });
        Ok(())
    }

    fn op_unreachable(&mut self, op: &Operator<'_>) -> Result<(), String> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                let label = self.asm.new_dynamic_label();
                self.ctrl.push(Ctl {
                    kind: Kind::Block,
                    height: self.stack.len(),
                    params: vec![],
                    results: vec![],
                    label,
                    else_label: None,
                    dead: true,
                });
            }
            Operator::Else => {
                let c = self.ctrl.last_mut().ok_or("else outside if")?;
                if !c.dead {
                    c.kind = Kind::Else;
                    let el = c.else_label.take();
                    let (height, params) = (c.height, c.params.clone());
                    if let Some(l) = el {
                        let a = &mut *self.asm;
                        dynasm!(a ; .arch x64 ; =>l);
                    }
                    self.truncate(height);
                    for (k, t) in params.into_iter().enumerate() {
                        self.push(t, Loc::Slot((height + k) as u32));
                    }
                    self.recompute_regs();
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
        let n = c.results.len();
        if reachable {
            let len = self.stack.len();
            for k in 0..n {
                let v = self.stack[len - n + k];
                if v.loc != Loc::Slot((c.height + k) as u32) {
                    let d = self.slot_disp((c.height + k) as u32);
                    self.store_cell(v, FP, d);
                }
            }
        }
        if c.kind != Kind::Loop {
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>c.label);
        }
        if let Some(l) = c.else_label {
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>l);
        }
        self.truncate(c.height);
        for (k, t) in c.results.iter().enumerate() {
            self.push(*t, Loc::Slot((c.height + k) as u32));
        }
        self.recompute_regs();
        self.reachable = true;
        Ok(())
    }

    // ---- compares, fused with branches ----

    /// Emits the compare of a comparison operator and returns the condition, or `None` when
    /// `op` is not a comparison.
    fn compare(&mut self, op: &Operator<'_>) -> Result<Option<Fused>, String> {
        use Operator as O;
        let (ty, cc) = match op {
            O::I32Eqz | O::I64Eqz => {
                let v = self.pop();
                let w = matches!(op, O::I64Eqz);
                match v.loc {
                    Loc::Reg(r) => {
                        if w {
                            asm!(self; test Rq(r), Rq(r));
                        } else {
                            asm!(self; test Rd(r), Rd(r));
                        }
                    }
                    Loc::Const(_) => {
                        let r = self.take_gpr(v);
                        asm!(self; test Rq(r), Rq(r));
                        self.regs.clear(false, r);
                        return Ok(Some(Cc::E));
                    }
                    _ => {
                        let d = self.disp_of(v.loc).unwrap_or(0);
                        if w {
                            asm!(self; cmp QWORD [Rq(FP) + d], 0);
                        } else {
                            asm!(self; cmp DWORD [Rq(FP) + d], 0);
                        }
                    }
                }
                self.free(v);
                return Ok(Some(Cc::E));
            }
            O::I32Eq => (Ty::I32, Cc::E),
            O::I32Ne => (Ty::I32, Cc::Ne),
            O::I32LtS => (Ty::I32, Cc::L),
            O::I32LtU => (Ty::I32, Cc::B),
            O::I32GtS => (Ty::I32, Cc::G),
            O::I32GtU => (Ty::I32, Cc::A),
            O::I32LeS => (Ty::I32, Cc::Le),
            O::I32LeU => (Ty::I32, Cc::Be),
            O::I32GeS => (Ty::I32, Cc::Ge),
            O::I32GeU => (Ty::I32, Cc::Ae),
            O::I64Eq => (Ty::I64, Cc::E),
            O::I64Ne => (Ty::I64, Cc::Ne),
            O::I64LtS => (Ty::I64, Cc::L),
            O::I64LtU => (Ty::I64, Cc::B),
            O::I64GtS => (Ty::I64, Cc::G),
            O::I64GtU => (Ty::I64, Cc::A),
            O::I64LeS => (Ty::I64, Cc::Le),
            O::I64LeU => (Ty::I64, Cc::Be),
            O::I64GeS => (Ty::I64, Cc::Ge),
            O::I64GeU => (Ty::I64, Cc::Ae),
            _ => return Ok(None),
        };
        let w = ty.is_64();
        let mut b = self.pop();
        let mut a = self.pop();
        let mut cc = cc;
        if matches!(a.loc, Loc::Const(_)) && !matches!(b.loc, Loc::Const(_)) {
            std::mem::swap(&mut a, &mut b);
            cc = cc.swap();
        }
        let oa = match a.loc {
            Loc::Reg(r) => Opnd::Reg(r),
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(a.loc).unwrap_or(0)),
            _ => {
                self.load_gpr_into(a, SCRATCH);
                Opnd::Reg(SCRATCH)
            }
        };
        let ob = match (&oa, b.loc) {
            (Opnd::Mem(_), Loc::Local(_) | Loc::Slot(_)) => {
                self.load_gpr_into(b, SCRATCH2);
                Opnd::Reg(SCRATCH2)
            }
            _ => self.int_opnd(b, true, SCRATCH2),
        };
        match (oa, ob, w) {
            (Opnd::Reg(x), ob, w) => alu!(self, cmp, w, x, ob),
            (Opnd::Mem(m), Opnd::Reg(r), false) => asm!(self; cmp DWORD [Rq(FP) + m], Rd(r)),
            (Opnd::Mem(m), Opnd::Reg(r), true) => asm!(self; cmp QWORD [Rq(FP) + m], Rq(r)),
            (Opnd::Mem(m), Opnd::Imm(i), false) => asm!(self; cmp DWORD [Rq(FP) + m], i),
            (Opnd::Mem(m), Opnd::Imm(i), true) => asm!(self; cmp QWORD [Rq(FP) + m], i),
            _ => unreachable!("memory-to-memory compare"),
        }
        self.free(a);
        self.free(b);
        Ok(Some(cc))
    }

    fn materialize_cc(&mut self, cc: Cc) {
        let r = self.alloc_gpr();
        setcc(self.asm, cc, r);
        asm!(self; movzx Rd(r), Rb(r));
        self.push_reg(Ty::I32, r);
    }

    fn br_if_cc(&mut self, cc: Cc, depth: u32) {
        let c = self.ctrl.len() - 1 - depth as usize;
        if !self.branch_moves(c) {
            let l = self.ctrl[c].label;
            jcc(self.asm, cc, l);
        } else {
            let skip = self.asm.new_dynamic_label();
            jcc(self.asm, cc.invert(), skip);
            self.emit_branch(depth);
            asm!(self; =>skip);
        }
    }

    fn if_cc(&mut self, cc: Cc, bt: BlockType) -> Result<(), String> {
        let (params, _) = self.block_types(bt)?;
        self.canonicalize(params.len());
        let else_label = self.asm.new_dynamic_label();
        jcc(self.asm, cc.invert(), else_label);
        self.push_ctrl(Kind::If, bt, Some(else_label))
    }

    /// Sets flags from a popped i32 condition: `Ne` means true. `None`: a constant.
    fn test_cond(&mut self, v: Val) -> Option<bool> {
        match v.loc {
            Loc::Const(c) => return Some(c as u32 != 0),
            Loc::Reg(r) => asm!(self; test Rd(r), Rd(r)),
            _ => {
                let d = self.disp_of(v.loc).unwrap_or(0);
                asm!(self; cmp DWORD [Rq(FP) + d], 0);
            }
        }
        self.free(v);
        None
    }
}

#[derive(Clone, Copy)]
enum IntBin {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shift {
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DivKind {
    DivS,
    DivU,
    RemS,
    RemU,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FBin {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FCmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Helper argument sources, loaded into the System V argument registers in order.
#[derive(Clone, Copy)]
enum Arg {
    Vmctx,
    Imm(u64),
    Val(Val),
    /// `fp + 8 * cell`
    Cell(u32),
}

impl Gen<'_> {
    fn op(&mut self, op: Operator<'_>) -> Result<(), String> {
        use Operator as O;
        match op {
            O::Nop => {}
            O::Unreachable => {
                let l = self.trap_label(TrapCode::Unreachable);
                asm!(self; jmp =>l);
                self.unreachable_now();
            }
            O::Block { blockty } => {
                let (params, _) = self.block_types(blockty)?;
                self.canonicalize(params.len());
                self.push_ctrl(Kind::Block, blockty, None)?;
            }
            O::Loop { blockty } => {
                let (params, _) = self.block_types(blockty)?;
                self.canonicalize(params.len());
                self.push_ctrl(Kind::Loop, blockty, None)?;
            }
            O::If { blockty } => {
                let cond = self.pop();
                let (params, _) = self.block_types(blockty)?;
                // Canonicalise first (moves only), then test: nothing clobbers flags between.
                if let Loc::Reg(r) = cond.loc {
                    // Keep the condition's register out of the spill code's way.
                    self.regs.set(false, r);
                }
                self.canonicalize(params.len());
                let else_label = self.asm.new_dynamic_label();
                match self.test_cond(cond) {
                    Some(true) => {}
                    Some(false) => asm!(self; jmp =>else_label),
                    None => jcc(self.asm, Cc::E, else_label),
                }
                self.push_ctrl(Kind::If, blockty, Some(else_label))?;
            }
            O::Else => {
                let (height, n, params, label, else_label) = {
                    let c = self.ctrl.last().ok_or("else outside if")?;
                    (
                        c.height,
                        c.results.len(),
                        c.params.clone(),
                        c.label,
                        c.else_label,
                    )
                };
                let len = self.stack.len();
                for k in 0..n {
                    let v = self.stack[len - n + k];
                    if v.loc != Loc::Slot((height + k) as u32) {
                        let d = self.slot_disp((height + k) as u32);
                        self.store_cell(v, FP, d);
                    }
                }
                asm!(self; jmp =>label);
                if let Some(l) = else_label {
                    asm!(self; =>l);
                }
                let c = self.ctrl.last_mut().ok_or("else outside if")?;
                c.kind = Kind::Else;
                c.else_label = None;
                self.truncate(height);
                for (k, t) in params.into_iter().enumerate() {
                    self.push(t, Loc::Slot((height + k) as u32));
                }
                self.recompute_regs();
            }
            O::End => self.end(true)?,
            O::Br { relative_depth } => {
                self.emit_branch(relative_depth);
                self.unreachable_now();
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                match self.test_cond(cond) {
                    Some(false) => {}
                    Some(true) => {
                        let skip = self.asm.new_dynamic_label();
                        self.emit_branch(relative_depth);
                        asm!(self; =>skip);
                    }
                    None => self.br_if_cc(Cc::Ne, relative_depth),
                }
            }
            O::BrTable { targets } => {
                let depths = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())))
                    .collect::<Result<Vec<u32>, _>>()
                    .map_err(|e| e.to_string())?;
                let index = self.pop();
                let n = depths.len() as u32 - 1;
                let table = self.asm.new_dynamic_label();
                // index = min(index, n) in r11 (zero-extended), then jump into a table of
                // 5-byte `jmp rel32`s.
                self.load_gpr_into(index, SCRATCH);
                self.free(index);
                asm!(self
                    ; mov Rd(SCRATCH2), n as i32
                    ; cmp Rd(SCRATCH), Rd(SCRATCH2)
                    ; cmova Rd(SCRATCH), Rd(SCRATCH2)
                    ; lea Rq(SCRATCH), [Rq(SCRATCH) + Rq(SCRATCH) * 4]
                    ; lea Rq(SCRATCH2), [=>table]
                    ; add Rq(SCRATCH), Rq(SCRATCH2)
                    ; jmp Rq(SCRATCH)
                    ; =>table
                );
                let mut stubs = Vec::new();
                for &depth in &depths {
                    let c = self.ctrl.len() - 1 - depth as usize;
                    if self.branch_moves(c) {
                        let stub = self.asm.new_dynamic_label();
                        asm!(self; jmp =>stub);
                        stubs.push((stub, depth));
                    } else {
                        let l = self.ctrl[c].label;
                        asm!(self; jmp =>l);
                    }
                }
                for (stub, depth) in stubs {
                    asm!(self; =>stub);
                    self.emit_branch(depth);
                }
                self.unreachable_now();
            }
            O::Return => {
                self.emit_return();
                self.unreachable_now();
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let index = self.pop();
                let t = &self.module.types[type_index as usize];
                let (n, r) = (t.params().len(), t.results().len());
                let rtys = t
                    .results()
                    .iter()
                    .map(|t| Ty::from_val(*t))
                    .collect::<Result<Vec<_>, _>>()?;
                self.push(index.ty, index.loc);
                self.spill_regs();
                let index = self.pop();
                let len = self.stack.len();
                for p in len - n..len {
                    self.spill_entry(p);
                }
                let p = (len - n) as u32;
                let shift = self.slot_disp(p);
                let (slow, done, ok) = (
                    self.asm.new_dynamic_label(),
                    self.asm.new_dynamic_label(),
                    self.asm.new_dynamic_label(),
                );
                let to_stub = self.to_stub;
                self.call_helper(
                    helpers::resolve_indirect as *const () as usize,
                    &[
                        Arg::Vmctx,
                        Arg::Imm(table_index as u64),
                        Arg::Imm(type_index as u64),
                        Arg::Val(index),
                    ],
                );
                asm!(self
                    ; test edx, edx
                    ; jz =>ok
                    ; mov eax, edx
                    ; jmp =>to_stub
                    ; =>ok
                    ; test rax, rax
                    ; jz =>slow
                    ; lea Rq(FP), [Rq(FP) + shift]
                    ; call rax
                    ; lea Rq(FP), [Rq(FP) - shift]
                    ; jmp =>done
                    ; =>slow
                );
                self.call_helper(
                    helpers::call_indirect as *const () as usize,
                    &[
                        Arg::Vmctx,
                        Arg::Imm(table_index as u64),
                        Arg::Imm(type_index as u64),
                        Arg::Val(index),
                        Arg::Cell(self.num_locals + p),
                    ],
                );
                self.check_helper_trap();
                asm!(self; =>done);
                self.reload_mem_len();
                self.truncate(len - n);
                for (k, t) in rtys.into_iter().enumerate() {
                    self.push(t, Loc::Slot(p + k as u32));
                }
                let _ = r;
            }
            O::Drop => {
                let v = self.pop();
                self.free(v);
            }
            O::Select | O::TypedSelect { .. } => self.select(),
            O::LocalGet { local_index } => {
                let ty = self.local_tys[local_index as usize];
                self.push(ty, Loc::Local(local_index));
            }
            O::LocalSet { local_index } => {
                let v = self.pop();
                self.preserve_local(local_index);
                if v.loc != Loc::Local(local_index) {
                    self.store_cell(v, FP, cell_disp(local_index));
                }
                self.free(v);
            }
            O::LocalTee { local_index } => {
                let v = self.pop();
                self.preserve_local(local_index);
                if v.loc != Loc::Local(local_index) {
                    self.store_cell(v, FP, cell_disp(local_index));
                }
                // Keep a register or constant; otherwise read the local again.
                match v.loc {
                    Loc::Reg(_) | Loc::Const(_) => self.push(v.ty, v.loc),
                    _ => self.push(v.ty, Loc::Local(local_index)),
                }
            }
            O::GlobalGet { global_index } => {
                let ty = Ty::from_val(self.module.globals[global_index as usize].ty.content)?;
                self.global_addr(global_index);
                let v = Val::new(ty, Loc::Const(0));
                if ty.is_float() {
                    let x = self.alloc_xmm();
                    if ty.is_64() {
                        asm!(self; movsd Rx(x), QWORD [Rq(SCRATCH2)]);
                    } else {
                        asm!(self; movss Rx(x), DWORD [Rq(SCRATCH2)]);
                    }
                    self.push_reg(ty, x);
                } else {
                    let r = self.alloc_gpr();
                    if ty.is_64() {
                        asm!(self; mov Rq(r), QWORD [Rq(SCRATCH2)]);
                    } else {
                        asm!(self; mov Rd(r), DWORD [Rq(SCRATCH2)]);
                    }
                    self.push_reg(ty, r);
                }
                let _ = v;
            }
            O::GlobalSet { global_index } => {
                let v = self.pop();
                self.global_addr(global_index);
                self.store_cell(v, SCRATCH2, 0);
                self.free(v);
            }
            O::I32Load { memarg } => self.load(memarg, Ty::I32, 4, LoadKind::I32)?,
            O::I64Load { memarg } => self.load(memarg, Ty::I64, 8, LoadKind::I64)?,
            O::F32Load { memarg } => self.load(memarg, Ty::F32, 4, LoadKind::F32)?,
            O::F64Load { memarg } => self.load(memarg, Ty::F64, 8, LoadKind::F64)?,
            O::I32Load8S { memarg } => self.load(memarg, Ty::I32, 1, LoadKind::S8_32)?,
            O::I32Load8U { memarg } => self.load(memarg, Ty::I32, 1, LoadKind::U8)?,
            O::I32Load16S { memarg } => self.load(memarg, Ty::I32, 2, LoadKind::S16_32)?,
            O::I32Load16U { memarg } => self.load(memarg, Ty::I32, 2, LoadKind::U16)?,
            O::I64Load8S { memarg } => self.load(memarg, Ty::I64, 1, LoadKind::S8_64)?,
            O::I64Load8U { memarg } => self.load(memarg, Ty::I64, 1, LoadKind::U8)?,
            O::I64Load16S { memarg } => self.load(memarg, Ty::I64, 2, LoadKind::S16_64)?,
            O::I64Load16U { memarg } => self.load(memarg, Ty::I64, 2, LoadKind::U16)?,
            O::I64Load32S { memarg } => self.load(memarg, Ty::I64, 4, LoadKind::S32_64)?,
            O::I64Load32U { memarg } => self.load(memarg, Ty::I64, 4, LoadKind::I32)?,
            O::I32Store { memarg } => self.store(memarg, 4)?,
            O::I64Store { memarg } => self.store(memarg, 8)?,
            O::F32Store { memarg } => self.store(memarg, 4)?,
            O::F64Store { memarg } => self.store(memarg, 8)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, 1)?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, 2)?,
            O::I64Store32 { memarg } => self.store(memarg, 4)?,
            O::MemorySize { .. } => {
                let r = self.alloc_gpr();
                let m = off::VMCTX_MEMORY;
                let l = off::MEMORY_LEN;
                asm!(self
                    ; mov Rq(r), QWORD [Rq(VMCTX) + m]
                    ; mov Rq(r), QWORD [Rq(r) + l]
                    ; shr Rq(r), 16
                );
                self.push_reg(Ty::I32, r);
            }
            O::MemoryGrow { .. } => {
                self.helper_op(
                    helpers::memory_grow as *const () as usize,
                    1,
                    None,
                    Some(Ty::I32),
                    false,
                );
                self.reload_mem_len();
            }
            O::MemoryCopy { .. } => self.helper_op(
                helpers::memory_copy as *const () as usize,
                3,
                None,
                None,
                true,
            ),
            O::MemoryFill { .. } => self.helper_op(
                helpers::memory_fill as *const () as usize,
                3,
                None,
                None,
                true,
            ),
            O::MemoryInit { data_index, .. } => self.helper_op(
                helpers::memory_init as *const () as usize,
                3,
                Some(data_index as u64),
                None,
                true,
            ),
            O::DataDrop { data_index } => self.helper_op(
                helpers::data_drop as *const () as usize,
                0,
                Some(data_index as u64),
                None,
                false,
            ),
            O::ElemDrop { elem_index } => self.helper_op(
                helpers::elem_drop as *const () as usize,
                0,
                Some(elem_index as u64),
                None,
                false,
            ),
            O::TableGet { table } => {
                self.helper_op(
                    helpers::table_get as *const () as usize,
                    1,
                    Some(table as u64),
                    None,
                    false,
                );
                let l = self.to_stub;
                let ok = self.asm.new_dynamic_label();
                asm!(self
                    ; test edx, edx
                    ; jz =>ok
                    ; mov eax, edx
                    ; jmp =>l
                    ; =>ok
                );
                self.regs.set(false, RAX);
                self.push_reg(Ty::I64, RAX);
            }
            O::TableSet { table } => self.helper_op(
                helpers::table_set as *const () as usize,
                2,
                Some(table as u64),
                None,
                true,
            ),
            O::TableSize { table } => self.helper_op(
                helpers::table_size as *const () as usize,
                0,
                Some(table as u64),
                Some(Ty::I32),
                false,
            ),
            O::TableGrow { table } => self.helper_op(
                helpers::table_grow as *const () as usize,
                2,
                Some(table as u64),
                Some(Ty::I32),
                false,
            ),
            O::TableFill { table } => self.helper_op(
                helpers::table_fill as *const () as usize,
                3,
                Some(table as u64),
                None,
                true,
            ),
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                self.spill_regs();
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.call_helper(
                    helpers::table_copy as *const () as usize,
                    &[
                        Arg::Vmctx,
                        Arg::Imm(dst_table as u64),
                        Arg::Imm(src_table as u64),
                        Arg::Val(dst),
                        Arg::Val(src),
                        Arg::Val(len),
                    ],
                );
                self.check_helper_trap();
            }
            O::TableInit { elem_index, table } => {
                self.spill_regs();
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.call_helper(
                    helpers::table_init as *const () as usize,
                    &[
                        Arg::Vmctx,
                        Arg::Imm(table as u64),
                        Arg::Imm(elem_index as u64),
                        Arg::Val(dst),
                        Arg::Val(src),
                        Arg::Val(len),
                    ],
                );
                self.check_helper_trap();
            }
            O::RefNull { .. } => self.push(Ty::I64, Loc::Const(0)),
            O::RefIsNull => {
                let cc = self.compare(&O::I64Eqz)?.unwrap_or(Cc::E);
                self.materialize_cc(cc);
            }
            O::RefFunc { function_index } => self.helper_op(
                helpers::ref_func as *const () as usize,
                0,
                Some(function_index as u64),
                Some(Ty::I64),
                false,
            ),
            O::I32Const { value } => self.push(Ty::I32, Loc::Const(value as u32 as u64)),
            O::I64Const { value } => self.push(Ty::I64, Loc::Const(value as u64)),
            O::F32Const { value } => self.push(Ty::F32, Loc::Const(value.bits() as u64)),
            O::F64Const { value } => self.push(Ty::F64, Loc::Const(value.bits())),

            O::I32Add => self.int_bin(Ty::I32, IntBin::Add),
            O::I32Sub => self.int_bin(Ty::I32, IntBin::Sub),
            O::I32Mul => self.int_bin(Ty::I32, IntBin::Mul),
            O::I32And => self.int_bin(Ty::I32, IntBin::And),
            O::I32Or => self.int_bin(Ty::I32, IntBin::Or),
            O::I32Xor => self.int_bin(Ty::I32, IntBin::Xor),
            O::I64Add => self.int_bin(Ty::I64, IntBin::Add),
            O::I64Sub => self.int_bin(Ty::I64, IntBin::Sub),
            O::I64Mul => self.int_bin(Ty::I64, IntBin::Mul),
            O::I64And => self.int_bin(Ty::I64, IntBin::And),
            O::I64Or => self.int_bin(Ty::I64, IntBin::Or),
            O::I64Xor => self.int_bin(Ty::I64, IntBin::Xor),
            O::I32Shl => self.shift(Ty::I32, Shift::Shl),
            O::I32ShrS => self.shift(Ty::I32, Shift::ShrS),
            O::I32ShrU => self.shift(Ty::I32, Shift::ShrU),
            O::I32Rotl => self.shift(Ty::I32, Shift::Rotl),
            O::I32Rotr => self.shift(Ty::I32, Shift::Rotr),
            O::I64Shl => self.shift(Ty::I64, Shift::Shl),
            O::I64ShrS => self.shift(Ty::I64, Shift::ShrS),
            O::I64ShrU => self.shift(Ty::I64, Shift::ShrU),
            O::I64Rotl => self.shift(Ty::I64, Shift::Rotl),
            O::I64Rotr => self.shift(Ty::I64, Shift::Rotr),
            O::I32DivS => self.div(Ty::I32, DivKind::DivS),
            O::I32DivU => self.div(Ty::I32, DivKind::DivU),
            O::I32RemS => self.div(Ty::I32, DivKind::RemS),
            O::I32RemU => self.div(Ty::I32, DivKind::RemU),
            O::I64DivS => self.div(Ty::I64, DivKind::DivS),
            O::I64DivU => self.div(Ty::I64, DivKind::DivU),
            O::I64RemS => self.div(Ty::I64, DivKind::RemS),
            O::I64RemU => self.div(Ty::I64, DivKind::RemU),
            O::I32Clz | O::I32Ctz | O::I32Popcnt | O::I64Clz | O::I64Ctz | O::I64Popcnt => {
                let w = matches!(op, O::I64Clz | O::I64Ctz | O::I64Popcnt);
                let ty = if w { Ty::I64 } else { Ty::I32 };
                let v = self.pop();
                let src = self.int_opnd(v, false, SCRATCH);
                self.free(v);
                let d = self.alloc_gpr();
                match (&op, w, src) {
                    (O::I32Clz, false, Opnd::Reg(r)) => asm!(self; lzcnt Rd(d), Rd(r)),
                    (O::I32Clz, false, Opnd::Mem(m)) => asm!(self; lzcnt Rd(d), DWORD [Rq(FP) + m]),
                    (O::I32Ctz, false, Opnd::Reg(r)) => asm!(self; tzcnt Rd(d), Rd(r)),
                    (O::I32Ctz, false, Opnd::Mem(m)) => asm!(self; tzcnt Rd(d), DWORD [Rq(FP) + m]),
                    (O::I32Popcnt, false, Opnd::Reg(r)) => asm!(self; popcnt Rd(d), Rd(r)),
                    (O::I32Popcnt, false, Opnd::Mem(m)) => {
                        asm!(self; popcnt Rd(d), DWORD [Rq(FP) + m])
                    }
                    (O::I64Clz, true, Opnd::Reg(r)) => asm!(self; lzcnt Rq(d), Rq(r)),
                    (O::I64Clz, true, Opnd::Mem(m)) => asm!(self; lzcnt Rq(d), QWORD [Rq(FP) + m]),
                    (O::I64Ctz, true, Opnd::Reg(r)) => asm!(self; tzcnt Rq(d), Rq(r)),
                    (O::I64Ctz, true, Opnd::Mem(m)) => asm!(self; tzcnt Rq(d), QWORD [Rq(FP) + m]),
                    (O::I64Popcnt, true, Opnd::Reg(r)) => asm!(self; popcnt Rq(d), Rq(r)),
                    (O::I64Popcnt, true, Opnd::Mem(m)) => {
                        asm!(self; popcnt Rq(d), QWORD [Rq(FP) + m])
                    }
                    _ => unreachable!("bit count form"),
                }
                self.push_reg(ty, d);
            }
            O::I32WrapI64 => {
                let v = self.pop();
                match v.loc {
                    Loc::Const(c) => self.push(Ty::I32, Loc::Const(c as u32 as u64)),
                    Loc::Reg(r) => {
                        asm!(self; mov Rd(r), Rd(r));
                        self.push_reg(Ty::I32, r);
                    }
                    loc => self.push(Ty::I32, loc),
                }
            }
            O::I64ExtendI32U => {
                let v = self.pop();
                match v.loc {
                    Loc::Const(c) => self.push(Ty::I64, Loc::Const(c as u32 as u64)),
                    _ => {
                        let r = self.take_gpr(v);
                        asm!(self; mov Rd(r), Rd(r));
                        self.push_reg(Ty::I64, r);
                    }
                }
            }
            O::I64ExtendI32S => self.sign_extend(Ty::I64, 32),
            O::I32Extend8S => self.sign_extend(Ty::I32, 8),
            O::I32Extend16S => self.sign_extend(Ty::I32, 16),
            O::I64Extend8S => self.sign_extend(Ty::I64, 8),
            O::I64Extend16S => self.sign_extend(Ty::I64, 16),
            O::I64Extend32S => self.sign_extend(Ty::I64, 32),

            O::F32Add => self.fbin(Ty::F32, FBin::Add),
            O::F32Sub => self.fbin(Ty::F32, FBin::Sub),
            O::F32Mul => self.fbin(Ty::F32, FBin::Mul),
            O::F32Div => self.fbin(Ty::F32, FBin::Div),
            O::F32Min => self.fbin(Ty::F32, FBin::Min),
            O::F32Max => self.fbin(Ty::F32, FBin::Max),
            O::F32Copysign => self.fbin(Ty::F32, FBin::Copysign),
            O::F64Add => self.fbin(Ty::F64, FBin::Add),
            O::F64Sub => self.fbin(Ty::F64, FBin::Sub),
            O::F64Mul => self.fbin(Ty::F64, FBin::Mul),
            O::F64Div => self.fbin(Ty::F64, FBin::Div),
            O::F64Min => self.fbin(Ty::F64, FBin::Min),
            O::F64Max => self.fbin(Ty::F64, FBin::Max),
            O::F64Copysign => self.fbin(Ty::F64, FBin::Copysign),
            O::F32Eq => self.fcmp(Ty::F32, FCmp::Eq),
            O::F32Ne => self.fcmp(Ty::F32, FCmp::Ne),
            O::F32Lt => self.fcmp(Ty::F32, FCmp::Lt),
            O::F32Gt => self.fcmp(Ty::F32, FCmp::Gt),
            O::F32Le => self.fcmp(Ty::F32, FCmp::Le),
            O::F32Ge => self.fcmp(Ty::F32, FCmp::Ge),
            O::F64Eq => self.fcmp(Ty::F64, FCmp::Eq),
            O::F64Ne => self.fcmp(Ty::F64, FCmp::Ne),
            O::F64Lt => self.fcmp(Ty::F64, FCmp::Lt),
            O::F64Gt => self.fcmp(Ty::F64, FCmp::Gt),
            O::F64Le => self.fcmp(Ty::F64, FCmp::Le),
            O::F64Ge => self.fcmp(Ty::F64, FCmp::Ge),
            O::F32Abs | O::F32Neg | O::F64Abs | O::F64Neg => {
                let ty = if matches!(op, O::F32Abs | O::F32Neg) {
                    Ty::F32
                } else {
                    Ty::F64
                };
                let v = self.pop();
                let x = self.take_xmm(v);
                match op {
                    O::F32Abs => {
                        asm!(self; movd Rd(SCRATCH), Rx(x) ; and Rd(SCRATCH), 0x7fff_ffff ; movd Rx(x), Rd(SCRATCH))
                    }
                    O::F32Neg => {
                        asm!(self; movd Rd(SCRATCH), Rx(x) ; xor Rd(SCRATCH), 0x8000_0000u32 as i32 ; movd Rx(x), Rd(SCRATCH))
                    }
                    O::F64Abs => {
                        asm!(self; movq Rq(SCRATCH), Rx(x) ; btr Rq(SCRATCH), 63 ; movq Rx(x), Rq(SCRATCH))
                    }
                    _ => {
                        asm!(self; movq Rq(SCRATCH), Rx(x) ; btc Rq(SCRATCH), 63 ; movq Rx(x), Rq(SCRATCH))
                    }
                }
                self.push_reg(ty, x);
            }
            O::F32Ceil | O::F32Floor | O::F32Trunc | O::F32Nearest | O::F32Sqrt => {
                self.funary(Ty::F32, &op)
            }
            O::F64Ceil | O::F64Floor | O::F64Trunc | O::F64Nearest | O::F64Sqrt => {
                self.funary(Ty::F64, &op)
            }
            O::I32TruncF32S => self.trunc(Ty::F32, Ty::I32, true, false),
            O::I32TruncF32U => self.trunc(Ty::F32, Ty::I32, false, false),
            O::I32TruncF64S => self.trunc(Ty::F64, Ty::I32, true, false),
            O::I32TruncF64U => self.trunc(Ty::F64, Ty::I32, false, false),
            O::I64TruncF32S => self.trunc(Ty::F32, Ty::I64, true, false),
            O::I64TruncF32U => self.trunc(Ty::F32, Ty::I64, false, false),
            O::I64TruncF64S => self.trunc(Ty::F64, Ty::I64, true, false),
            O::I64TruncF64U => self.trunc(Ty::F64, Ty::I64, false, false),
            O::I32TruncSatF32S => self.trunc(Ty::F32, Ty::I32, true, true),
            O::I32TruncSatF32U => self.trunc(Ty::F32, Ty::I32, false, true),
            O::I32TruncSatF64S => self.trunc(Ty::F64, Ty::I32, true, true),
            O::I32TruncSatF64U => self.trunc(Ty::F64, Ty::I32, false, true),
            O::I64TruncSatF32S => self.trunc(Ty::F32, Ty::I64, true, true),
            O::I64TruncSatF32U => self.trunc(Ty::F32, Ty::I64, false, true),
            O::I64TruncSatF64S => self.trunc(Ty::F64, Ty::I64, true, true),
            O::I64TruncSatF64U => self.trunc(Ty::F64, Ty::I64, false, true),
            O::F32ConvertI32S => self.convert(Ty::I32, Ty::F32, true),
            O::F32ConvertI32U => self.convert(Ty::I32, Ty::F32, false),
            O::F32ConvertI64S => self.convert(Ty::I64, Ty::F32, true),
            O::F32ConvertI64U => self.convert(Ty::I64, Ty::F32, false),
            O::F64ConvertI32S => self.convert(Ty::I32, Ty::F64, true),
            O::F64ConvertI32U => self.convert(Ty::I32, Ty::F64, false),
            O::F64ConvertI64S => self.convert(Ty::I64, Ty::F64, true),
            O::F64ConvertI64U => self.convert(Ty::I64, Ty::F64, false),
            O::F32DemoteF64 => {
                let v = self.pop();
                let x = self.take_xmm(v);
                asm!(self; cvtsd2ss Rx(x), Rx(x));
                self.push_reg(Ty::F32, x);
            }
            O::F64PromoteF32 => {
                let v = self.pop();
                let x = self.take_xmm(v);
                asm!(self; cvtss2sd Rx(x), Rx(x));
                self.push_reg(Ty::F64, x);
            }
            O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {
                let to = match op {
                    O::I32ReinterpretF32 => Ty::I32,
                    O::I64ReinterpretF64 => Ty::I64,
                    O::F32ReinterpretI32 => Ty::F32,
                    _ => Ty::F64,
                };
                let v = self.pop();
                match v.loc {
                    Loc::Reg(_) => {
                        if to.is_float() {
                            let x = self.alloc_xmm();
                            self.load_xmm_into(v, x);
                            self.free(v);
                            self.push_reg(to, x);
                        } else {
                            let r = self.alloc_gpr();
                            self.load_gpr_into(v, r);
                            self.free(v);
                            self.push_reg(to, r);
                        }
                    }
                    loc => self.push(to, loc),
                }
            }
            other => return Err(format!("the baseline tier does not support {other:?}")),
        }
        Ok(())
    }

    fn global_addr(&mut self, g: u32) {
        let go = off::VMCTX_GLOBALS;
        let d = cell_disp(g);
        asm!(self
            ; mov Rq(SCRATCH2), QWORD [Rq(VMCTX) + go]
            ; mov Rq(SCRATCH2), QWORD [Rq(SCRATCH2) + d]
        );
    }

    // ---- calls ----

    fn call(&mut self, func: u32) -> Result<(), String> {
        let t = self.module.func_type(func);
        let n = t.params().len();
        let rtys = t
            .results()
            .iter()
            .map(|t| Ty::from_val(*t))
            .collect::<Result<Vec<_>, _>>()?;
        self.spill_regs();
        let len = self.stack.len();
        for p in len - n..len {
            self.spill_entry(p);
        }
        let p = (len - n) as u32;
        let shift = self.slot_disp(p);
        let imported = self.module.num_imported_funcs;
        if func >= imported {
            let slots = off::VMCTX_CODE_SLOTS;
            let def = cell_disp(func - imported);
            // eax = the callee's defined index, read only by the interp-entry stub that an
            // interpreted function's slot holds (mixed tiers; docs/abi.md §3).
            let def_index = (func - imported) as i32;
            asm!(self
                ; mov Rq(SCRATCH), QWORD [Rq(VMCTX) + slots]
                ; mov Rq(SCRATCH), QWORD [Rq(SCRATCH) + def]
                ; mov eax, def_index
                ; lea Rq(FP), [Rq(FP) + shift]
                ; call Rq(SCRATCH)
                ; lea Rq(FP), [Rq(FP) - shift]
            );
        } else {
            self.call_helper(
                helpers::call_import as *const () as usize,
                &[
                    Arg::Vmctx,
                    Arg::Imm(func as u64),
                    Arg::Cell(self.num_locals + p),
                ],
            );
            self.check_helper_trap();
        }
        self.reload_mem_len();
        self.truncate(len - n);
        for (k, t) in rtys.iter().enumerate() {
            self.push(*t, Loc::Slot(p + k as u32));
        }
        Ok(())
    }

    /// Calls a helper. Every register must have been spilled, and `Val` arguments must not be
    /// in registers (pop them after `spill_regs`).
    fn call_helper(&mut self, addr: usize, args: &[Arg]) {
        for (i, a) in args.iter().enumerate() {
            let r = ARG_REGS[i];
            match *a {
                Arg::Vmctx => asm!(self; mov Rq(r), Rq(VMCTX)),
                Arg::Imm(v) => mov_imm(self.asm, r, v),
                Arg::Val(v) => {
                    debug_assert!(
                        !matches!(v.loc, Loc::Reg(_)),
                        "helper argument in a register"
                    );
                    let v = Val::new(
                        if v.ty.is_float() {
                            if v.ty.is_64() {
                                Ty::I64
                            } else {
                                Ty::I32
                            }
                        } else {
                            v.ty
                        },
                        v.loc,
                    );
                    self.load_gpr_into(v, r);
                }
                Arg::Cell(c) => {
                    let d = cell_disp(c);
                    asm!(self; lea Rq(r), [Rq(FP) + d]);
                }
            }
        }
        self.call_addr(addr);
    }

    /// A helper taking (vmctx, [imm], n popped operands) and returning nothing, a trap code
    /// (`traps`), or a value of type `result` in rax.
    fn helper_op(
        &mut self,
        addr: usize,
        n: usize,
        imm: Option<u64>,
        result: Option<Ty>,
        traps: bool,
    ) {
        self.spill_regs();
        let len = self.stack.len();
        let mut args = vec![Arg::Vmctx];
        if let Some(i) = imm {
            args.push(Arg::Imm(i));
        }
        for p in len - n..len {
            args.push(Arg::Val(self.stack[p]));
        }
        self.truncate(len - n);
        self.call_helper(addr, &args);
        if traps {
            self.check_helper_trap();
        }
        if let Some(ty) = result {
            self.push_reg(ty, RAX);
        }
    }

    // ---- integer arithmetic ----

    fn int_bin(&mut self, ty: Ty, op: IntBin) {
        let w = ty.is_64();
        let mut b = self.pop();
        let mut a = self.pop();
        if let (Loc::Const(x), Loc::Const(y)) = (a.loc, b.loc) {
            let r = match op {
                IntBin::Add => x.wrapping_add(y),
                IntBin::Sub => x.wrapping_sub(y),
                IntBin::Mul => x.wrapping_mul(y),
                IntBin::And => x & y,
                IntBin::Or => x | y,
                IntBin::Xor => x ^ y,
            };
            let r = if w { r } else { r as u32 as u64 };
            self.push(ty, Loc::Const(r));
            return;
        }
        let commutative = !matches!(op, IntBin::Sub);
        if commutative
            && (matches!(a.loc, Loc::Const(_)) || (b.reg().is_some() && a.reg().is_none()))
        {
            std::mem::swap(&mut a, &mut b);
        }
        let d = self.take_gpr(a);
        let src = self.int_opnd(b, true, SCRATCH);
        match op {
            IntBin::Add => alu!(self, add, w, d, src),
            IntBin::Sub => alu!(self, sub, w, d, src),
            IntBin::And => alu!(self, and, w, d, src),
            IntBin::Or => alu!(self, or, w, d, src),
            IntBin::Xor => alu!(self, xor, w, d, src),
            IntBin::Mul => match (w, src) {
                (false, Opnd::Imm(i)) => asm!(self; imul Rd(d), Rd(d), i),
                (true, Opnd::Imm(i)) => asm!(self; imul Rq(d), Rq(d), i),
                (false, Opnd::Reg(r)) => asm!(self; imul Rd(d), Rd(r)),
                (true, Opnd::Reg(r)) => asm!(self; imul Rq(d), Rq(r)),
                (false, Opnd::Mem(m)) => asm!(self; imul Rd(d), DWORD [Rq(FP) + m]),
                (true, Opnd::Mem(m)) => asm!(self; imul Rq(d), QWORD [Rq(FP) + m]),
            },
        }
        self.free(b);
        self.push_reg(ty, d);
    }

    fn shift(&mut self, ty: Ty, op: Shift) {
        let w = ty.is_64();
        let b = self.pop();
        if let Loc::Const(c) = b.loc {
            let a = self.pop();
            let d = self.take_gpr(a);
            let i = (c & if w { 63 } else { 31 }) as i8;
            match (op, w) {
                (Shift::Shl, false) => asm!(self; shl Rd(d), i),
                (Shift::Shl, true) => asm!(self; shl Rq(d), i),
                (Shift::ShrS, false) => asm!(self; sar Rd(d), i),
                (Shift::ShrS, true) => asm!(self; sar Rq(d), i),
                (Shift::ShrU, false) => asm!(self; shr Rd(d), i),
                (Shift::ShrU, true) => asm!(self; shr Rq(d), i),
                (Shift::Rotl, false) => asm!(self; rol Rd(d), i),
                (Shift::Rotl, true) => asm!(self; rol Rq(d), i),
                (Shift::Rotr, false) => asm!(self; ror Rd(d), i),
                (Shift::Rotr, true) => asm!(self; ror Rq(d), i),
            }
            self.push_reg(ty, d);
            return;
        }
        // Variable count: it must be in cl.
        self.push(b.ty, b.loc);
        self.evict(RCX);
        let b = self.pop();
        let a = self.pop();
        if b.reg() != Some(RCX) {
            self.regs.set(false, RCX);
            self.load_gpr_into(b, RCX);
            self.free(b);
        }
        let d = if a.reg() == Some(RCX) || a.reg().is_none() || a.ty.is_float() {
            let d = self.alloc_gpr();
            self.load_gpr_into(a, d);
            if a.reg() != Some(RCX) {
                self.free(a);
            }
            d
        } else {
            a.reg().unwrap_or(RAX)
        };
        match (op, w) {
            (Shift::Shl, false) => asm!(self; shl Rd(d), cl),
            (Shift::Shl, true) => asm!(self; shl Rq(d), cl),
            (Shift::ShrS, false) => asm!(self; sar Rd(d), cl),
            (Shift::ShrS, true) => asm!(self; sar Rq(d), cl),
            (Shift::ShrU, false) => asm!(self; shr Rd(d), cl),
            (Shift::ShrU, true) => asm!(self; shr Rq(d), cl),
            (Shift::Rotl, false) => asm!(self; rol Rd(d), cl),
            (Shift::Rotl, true) => asm!(self; rol Rq(d), cl),
            (Shift::Rotr, false) => asm!(self; ror Rd(d), cl),
            (Shift::Rotr, true) => asm!(self; ror Rq(d), cl),
        }
        self.regs.clear(false, RCX);
        self.push_reg(ty, d);
    }

    fn div(&mut self, ty: Ty, kind: DivKind) {
        let w = ty.is_64();
        let b = self.pop();
        // Unsigned division by a power of two: a shift or a mask.
        if let Loc::Const(c) = b.loc {
            let c = if w { c } else { c as u32 as u64 };
            if c.is_power_of_two() && matches!(kind, DivKind::DivU | DivKind::RemU) {
                let a = self.pop();
                let d = self.take_gpr(a);
                let sh = c.trailing_zeros() as i8;
                match (kind, w) {
                    (DivKind::DivU, false) => asm!(self; shr Rd(d), sh),
                    (DivKind::DivU, true) => asm!(self; shr Rq(d), sh),
                    (_, false) => asm!(self; and Rd(d), (c - 1) as i32),
                    (_, true) => {
                        if fits_i32(c - 1) {
                            asm!(self; and Rq(d), (c - 1) as i32);
                        } else {
                            mov_imm(self.asm, SCRATCH, c - 1);
                            asm!(self; and Rq(d), Rq(SCRATCH));
                        }
                    }
                }
                self.push_reg(ty, d);
                return;
            }
        }
        // Divisor into r11, dividend into rax; rdx is clobbered.
        self.load_gpr_into(b, SCRATCH);
        self.free(b);
        let a = self.pop();
        self.push(a.ty, a.loc);
        self.evict(RAX);
        self.evict(RDX);
        let a = self.pop();
        self.load_gpr_into(a, RAX);
        self.free(a);
        self.regs.set(false, RAX);
        let known_nonzero =
            matches!(b.loc, Loc::Const(c) if (if w { c } else { c as u32 as u64 }) != 0);
        let known_not_minus1 = matches!(b.loc, Loc::Const(c) if (if w { c } else { c as u32 as u64 }) != (if w { u64::MAX } else { u32::MAX as u64 }));
        if !known_nonzero {
            if w {
                asm!(self; test Rq(SCRATCH), Rq(SCRATCH));
            } else {
                asm!(self; test Rd(SCRATCH), Rd(SCRATCH));
            }
            self.trap_if(Cc::E, TrapCode::IntegerDivisionByZero);
        }
        let done = self.asm.new_dynamic_label();
        let signed = matches!(kind, DivKind::DivS | DivKind::RemS);
        if signed && !known_not_minus1 {
            let normal = self.asm.new_dynamic_label();
            if w {
                asm!(self; cmp Rq(SCRATCH), -1);
            } else {
                asm!(self; cmp Rd(SCRATCH), -1);
            }
            jcc(self.asm, Cc::Ne, normal);
            if kind == DivKind::DivS {
                // x / -1 = -x, trapping on the minimum.
                if w {
                    mov_imm(self.asm, SCRATCH2, i64::MIN as u64);
                    asm!(self; cmp Rq(RAX), Rq(SCRATCH2));
                } else {
                    asm!(self; cmp Rd(RAX), i32::MIN);
                }
                self.trap_if(Cc::E, TrapCode::IntegerOverflow);
                if w {
                    asm!(self; neg Rq(RAX));
                } else {
                    asm!(self; neg Rd(RAX));
                }
            } else {
                asm!(self; xor eax, eax);
            }
            asm!(self; jmp =>done ; =>normal);
        }
        match (kind, w) {
            (DivKind::DivS | DivKind::RemS, false) => asm!(self; cdq ; idiv Rd(SCRATCH)),
            (DivKind::DivS | DivKind::RemS, true) => asm!(self; cqo ; idiv Rq(SCRATCH)),
            (_, false) => asm!(self; xor edx, edx ; div Rd(SCRATCH)),
            (_, true) => asm!(self; xor edx, edx ; div Rq(SCRATCH)),
        }
        if matches!(kind, DivKind::RemS | DivKind::RemU) {
            asm!(self; mov rax, rdx);
        }
        asm!(self; =>done);
        self.push_reg(ty, RAX);
    }

    fn sign_extend(&mut self, ty: Ty, bits: u32) {
        let v = self.pop();
        if let Loc::Const(c) = v.loc {
            let r = match bits {
                8 => c as i8 as i64 as u64,
                16 => c as i16 as i64 as u64,
                _ => c as i32 as i64 as u64,
            };
            let r = if ty.is_64() { r } else { r as u32 as u64 };
            self.push(ty, Loc::Const(r));
            return;
        }
        let d = self.take_gpr(v);
        match (ty.is_64(), bits) {
            (false, 8) => asm!(self; movsx Rd(d), Rb(d)),
            (false, _) => asm!(self; movsx Rd(d), Rw(d)),
            (true, 8) => asm!(self; movsx Rq(d), Rb(d)),
            (true, 16) => asm!(self; movsx Rq(d), Rw(d)),
            (true, _) => asm!(self; movsxd Rq(d), Rd(d)),
        }
        self.push_reg(ty, d);
    }

    fn select(&mut self) {
        let c = self.pop();
        let b = self.pop();
        let a = self.pop();
        if let Loc::Const(k) = c.loc {
            let (keep, drop) = if k as u32 != 0 { (a, b) } else { (b, a) };
            self.free(drop);
            self.push(keep.ty, keep.loc);
            return;
        }
        let ty = a.ty;
        if ty.is_float() {
            let d = self.take_xmm(a);
            let src = self.float_opnd(b);
            // Test after the loads (they do not touch flags, but keep it obvious).
            if let Loc::Reg(r) = c.loc {
                asm!(self; test Rd(r), Rd(r));
            } else {
                let m = self.disp_of(c.loc).unwrap_or(0);
                asm!(self; cmp DWORD [Rq(FP) + m], 0);
            }
            let keep = self.asm.new_dynamic_label();
            asm!(self; jnz =>keep);
            match (ty.is_64(), src) {
                (_, Opnd::Reg(r)) => asm!(self; movaps Rx(d), Rx(r)),
                (false, Opnd::Mem(m)) => asm!(self; movss Rx(d), DWORD [Rq(FP) + m]),
                (true, Opnd::Mem(m)) => asm!(self; movsd Rx(d), QWORD [Rq(FP) + m]),
                _ => unreachable!(),
            }
            asm!(self; =>keep);
            self.free(b);
            self.free(c);
            self.push_reg(ty, d);
        } else {
            let w = ty.is_64();
            let d = self.take_gpr(a);
            let src = match self.int_opnd(b, false, SCRATCH) {
                Opnd::Imm(_) => unreachable!(),
                o => o,
            };
            if let Loc::Reg(r) = c.loc {
                asm!(self; test Rd(r), Rd(r));
            } else {
                let m = self.disp_of(c.loc).unwrap_or(0);
                asm!(self; cmp DWORD [Rq(FP) + m], 0);
            }
            match (w, src) {
                (false, Opnd::Reg(r)) => asm!(self; cmovz Rd(d), Rd(r)),
                (true, Opnd::Reg(r)) => asm!(self; cmovz Rq(d), Rq(r)),
                (false, Opnd::Mem(m)) => asm!(self; cmovz Rd(d), DWORD [Rq(FP) + m]),
                (true, Opnd::Mem(m)) => asm!(self; cmovz Rq(d), QWORD [Rq(FP) + m]),
                _ => unreachable!(),
            }
            self.free(b);
            self.free(c);
            self.push_reg(ty, d);
        }
    }

    // ---- floating point ----

    fn fbin(&mut self, ty: Ty, op: FBin) {
        let w = ty.is_64();
        let b = self.pop();
        let a = self.pop();
        let d = self.take_xmm(a);
        if op == FBin::Copysign {
            self.load_gpr_into(Val::new(if w { Ty::I64 } else { Ty::I32 }, b.loc), SCRATCH2);
            if let Loc::Reg(r) = b.loc {
                if w {
                    asm!(self; movq Rq(SCRATCH2), Rx(r));
                } else {
                    asm!(self; movd Rd(SCRATCH2), Rx(r));
                }
            }
            if w {
                asm!(self
                    ; movq Rq(SCRATCH), Rx(d)
                    ; btr Rq(SCRATCH), 63
                    ; shr Rq(SCRATCH2), 63
                    ; shl Rq(SCRATCH2), 63
                    ; or Rq(SCRATCH), Rq(SCRATCH2)
                    ; movq Rx(d), Rq(SCRATCH)
                );
            } else {
                asm!(self
                    ; movd Rd(SCRATCH), Rx(d)
                    ; and Rd(SCRATCH), 0x7fff_ffff
                    ; and Rd(SCRATCH2), 0x8000_0000u32 as i32
                    ; or Rd(SCRATCH), Rd(SCRATCH2)
                    ; movd Rx(d), Rd(SCRATCH)
                );
            }
            self.free(b);
            self.push_reg(ty, d);
            return;
        }
        let src = self.float_opnd(b);
        match op {
            FBin::Add => sse!(self, addss, addsd, w, d, src),
            FBin::Sub => sse!(self, subss, subsd, w, d, src),
            FBin::Mul => sse!(self, mulss, mulsd, w, d, src),
            FBin::Div => sse!(self, divss, divsd, w, d, src),
            FBin::Min | FBin::Max => {
                // Wasm semantics: NaN if either is NaN; -0 < +0.
                let s = match src {
                    Opnd::Reg(r) => r,
                    o => {
                        match (w, o) {
                            (false, Opnd::Mem(m)) => {
                                asm!(self; movss Rx(XMM_SCRATCH), DWORD [Rq(FP) + m])
                            }
                            (true, Opnd::Mem(m)) => {
                                asm!(self; movsd Rx(XMM_SCRATCH), QWORD [Rq(FP) + m])
                            }
                            _ => unreachable!(),
                        }
                        XMM_SCRATCH
                    }
                };
                let (nan, normal, done) = (
                    self.asm.new_dynamic_label(),
                    self.asm.new_dynamic_label(),
                    self.asm.new_dynamic_label(),
                );
                if w {
                    asm!(self; ucomisd Rx(d), Rx(s));
                } else {
                    asm!(self; ucomiss Rx(d), Rx(s));
                }
                asm!(self; jp =>nan ; jne =>normal);
                match (op, w) {
                    (FBin::Min, false) => asm!(self; orps Rx(d), Rx(s)),
                    (FBin::Min, true) => asm!(self; orpd Rx(d), Rx(s)),
                    (_, false) => asm!(self; andps Rx(d), Rx(s)),
                    (_, true) => asm!(self; andpd Rx(d), Rx(s)),
                }
                asm!(self; jmp =>done ; =>normal);
                match (op, w) {
                    (FBin::Min, false) => asm!(self; minss Rx(d), Rx(s)),
                    (FBin::Min, true) => asm!(self; minsd Rx(d), Rx(s)),
                    (_, false) => asm!(self; maxss Rx(d), Rx(s)),
                    (_, true) => asm!(self; maxsd Rx(d), Rx(s)),
                }
                asm!(self; jmp =>done ; =>nan);
                if w {
                    asm!(self; addsd Rx(d), Rx(s));
                } else {
                    asm!(self; addss Rx(d), Rx(s));
                }
                asm!(self; =>done);
            }
            FBin::Copysign => unreachable!(),
        }
        self.free(b);
        self.push_reg(ty, d);
    }

    fn fcmp(&mut self, ty: Ty, op: FCmp) {
        let w = ty.is_64();
        let b = self.pop();
        let a = self.pop();
        // Lt/Le compare with the operands swapped so that "above" tests work for NaN.
        let (x, y) = if matches!(op, FCmp::Lt | FCmp::Le) {
            (b, a)
        } else {
            (a, b)
        };
        let xr = match x.loc {
            Loc::Reg(r) => r,
            _ => {
                self.load_xmm_into(x, XMM_SCRATCH);
                XMM_SCRATCH
            }
        };
        let yo = match y.loc {
            Loc::Reg(r) => Opnd::Reg(r),
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(y.loc).unwrap_or(0)),
            _ => {
                // x may be in XMM_SCRATCH: use a fresh register.
                let t = self.alloc_xmm();
                self.load_xmm_into(y, t);
                self.regs.clear(true, t);
                Opnd::Reg(t)
            }
        };
        sse!(self, ucomiss, ucomisd, w, xr, yo);
        self.free(a);
        self.free(b);
        let d = self.alloc_gpr();
        match op {
            FCmp::Eq => {
                setcc(self.asm, Cc::E, d);
                setcc(self.asm, Cc::Np, SCRATCH);
                asm!(self; and Rb(d), Rb(SCRATCH));
            }
            FCmp::Ne => {
                setcc(self.asm, Cc::Ne, d);
                setcc(self.asm, Cc::P, SCRATCH);
                asm!(self; or Rb(d), Rb(SCRATCH));
            }
            FCmp::Lt | FCmp::Gt => setcc(self.asm, Cc::A, d),
            FCmp::Le | FCmp::Ge => setcc(self.asm, Cc::Ae, d),
        }
        asm!(self; movzx Rd(d), Rb(d));
        self.push_reg(Ty::I32, d);
    }

    fn funary(&mut self, ty: Ty, op: &Operator<'_>) {
        use Operator as O;
        let w = ty.is_64();
        let v = self.pop();
        let x = self.take_xmm(v);
        let mode: i8 = match op {
            O::F32Nearest | O::F64Nearest => 8,
            O::F32Floor | O::F64Floor => 9,
            O::F32Ceil | O::F64Ceil => 10,
            O::F32Trunc | O::F64Trunc => 11,
            _ => -1,
        };
        match (mode, w) {
            (-1, false) => asm!(self; sqrtss Rx(x), Rx(x)),
            (-1, true) => asm!(self; sqrtsd Rx(x), Rx(x)),
            (m, false) => asm!(self; roundss Rx(x), Rx(x), m),
            (m, true) => asm!(self; roundsd Rx(x), Rx(x), m),
        }
        self.push_reg(ty, x);
    }

    fn load_fconst(&mut self, w: bool, v: f64) {
        let bits = if w {
            v.to_bits()
        } else {
            (v as f32).to_bits() as u64
        };
        mov_imm(self.asm, SCRATCH, bits);
        asm!(self; movq Rx(XMM_SCRATCH), Rq(SCRATCH));
    }

    fn ucomi_scratch(&mut self, w: bool, x: u8) {
        if w {
            asm!(self; ucomisd Rx(x), Rx(XMM_SCRATCH));
        } else {
            asm!(self; ucomiss Rx(x), Rx(XMM_SCRATCH));
        }
    }

    /// Float -> integer truncation, trapping or saturating.
    fn trunc(&mut self, from: Ty, to: Ty, signed: bool, sat: bool) {
        let w = from.is_64();
        let v = self.pop();
        let x = self.take_xmm(v);
        let d = self.alloc_gpr();
        let to64 = to.is_64();
        // Valid iff lo <(=) x < hi.
        let (lo, lo_inclusive, hi): (f64, bool, f64) = match (to64, signed) {
            (false, true) => {
                if w {
                    (-2147483649.0, false, 2147483648.0)
                } else {
                    (-2147483648.0, true, 2147483648.0)
                }
            }
            (false, false) => (-1.0, false, 4294967296.0),
            (true, true) => (-9223372036854775808.0, true, 9223372036854775808.0),
            (true, false) => (-1.0, false, 18446744073709551616.0),
        };
        let done = self.asm.new_dynamic_label();
        let (nan_l, under_l, over_l) = if sat {
            (
                self.asm.new_dynamic_label(),
                self.asm.new_dynamic_label(),
                self.asm.new_dynamic_label(),
            )
        } else {
            let inv = self.trap_label(TrapCode::BadConversionToInteger);
            let ovf = self.trap_label(TrapCode::IntegerOverflow);
            (inv, ovf, ovf)
        };
        if w {
            asm!(self; ucomisd Rx(x), Rx(x));
        } else {
            asm!(self; ucomiss Rx(x), Rx(x));
        }
        jcc(self.asm, Cc::P, nan_l);
        self.load_fconst(w, lo);
        self.ucomi_scratch(w, x);
        jcc(self.asm, if lo_inclusive { Cc::B } else { Cc::Be }, under_l);
        self.load_fconst(w, hi);
        self.ucomi_scratch(w, x);
        jcc(self.asm, Cc::Ae, over_l);
        match (to64, signed, w) {
            (false, true, false) => asm!(self; cvttss2si Rd(d), Rx(x)),
            (false, true, true) => asm!(self; cvttsd2si Rd(d), Rx(x)),
            (false, false, false) => asm!(self; cvttss2si Rq(d), Rx(x) ; mov Rd(d), Rd(d)),
            (false, false, true) => asm!(self; cvttsd2si Rq(d), Rx(x) ; mov Rd(d), Rd(d)),
            (true, true, false) => asm!(self; cvttss2si Rq(d), Rx(x)),
            (true, true, true) => asm!(self; cvttsd2si Rq(d), Rx(x)),
            (true, false, _) => {
                let big = self.asm.new_dynamic_label();
                self.load_fconst(w, 9223372036854775808.0);
                self.ucomi_scratch(w, x);
                jcc(self.asm, Cc::Ae, big);
                if w {
                    asm!(self; cvttsd2si Rq(d), Rx(x) ; jmp =>done ; =>big ; subsd Rx(x), Rx(XMM_SCRATCH) ; cvttsd2si Rq(d), Rx(x) ; btc Rq(d), 63);
                } else {
                    asm!(self; cvttss2si Rq(d), Rx(x) ; jmp =>done ; =>big ; subss Rx(x), Rx(XMM_SCRATCH) ; cvttss2si Rq(d), Rx(x) ; btc Rq(d), 63);
                }
            }
        }
        if sat {
            let (min, max): (u64, u64) = match (to64, signed) {
                (false, true) => (i32::MIN as u32 as u64, i32::MAX as u64),
                (false, false) => (0, u32::MAX as u64),
                (true, true) => (i64::MIN as u64, i64::MAX as u64),
                (true, false) => (0, u64::MAX),
            };
            asm!(self; jmp =>done ; =>nan_l);
            mov_imm(self.asm, d, 0);
            asm!(self; jmp =>done ; =>under_l);
            mov_imm(self.asm, d, min);
            asm!(self; jmp =>done ; =>over_l);
            mov_imm(self.asm, d, max);
        }
        asm!(self; =>done);
        self.regs.clear(true, x);
        self.push_reg(to, d);
    }

    fn convert(&mut self, from: Ty, to: Ty, signed: bool) {
        let v = self.pop();
        let r = self.take_gpr(v);
        let x = self.alloc_xmm();
        let f64_ = to.is_64();
        asm!(self; xorps Rx(x), Rx(x));
        match (from.is_64(), signed) {
            (false, true) => {
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rd(r));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rd(r));
                }
            }
            (false, false) => {
                asm!(self; mov Rd(SCRATCH), Rd(r));
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rq(SCRATCH));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rq(SCRATCH));
                }
            }
            (true, true) => {
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rq(r));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rq(r));
                }
            }
            (true, false) => {
                let (big, done) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
                asm!(self; test Rq(r), Rq(r) ; js =>big);
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rq(r));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rq(r));
                }
                asm!(self
                    ; jmp =>done
                    ; =>big
                    ; mov Rq(SCRATCH), Rq(r)
                    ; shr Rq(SCRATCH), 1
                    ; mov Rq(SCRATCH2), Rq(r)
                    ; and Rq(SCRATCH2), 1
                    ; or Rq(SCRATCH), Rq(SCRATCH2)
                );
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rq(SCRATCH) ; addsd Rx(x), Rx(x));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rq(SCRATCH) ; addss Rx(x), Rx(x));
                }
                asm!(self; =>done);
            }
        }
        self.regs.clear(false, r);
        self.push_reg(to, x);
    }

    // ---- linear memory ----

    /// Leaves the effective address (minus `disp`) in r11 after the bounds check of explicit
    /// mode; returns the displacement for `[r13 + r11 + disp]`.
    fn address(&mut self, addr: Val, offset: u64, size: u32) -> i32 {
        match addr.loc {
            Loc::Const(c) => {
                let ea = (c as u32 as u64) + offset;
                mov_imm(self.asm, SCRATCH, ea);
            }
            Loc::Reg(r) => asm!(self; mov Rd(SCRATCH), Rd(r)),
            _ => {
                let d = self.disp_of(addr.loc).unwrap_or(0);
                asm!(self; mov Rd(SCRATCH), DWORD [Rq(FP) + d]);
            }
        }
        self.free(addr);
        let mut disp = if matches!(addr.loc, Loc::Const(_)) {
            0
        } else {
            offset
        };
        if disp + size as u64 > i32::MAX as u64 {
            mov_imm(self.asm, SCRATCH2, disp);
            asm!(self; add Rq(SCRATCH), Rq(SCRATCH2));
            disp = 0;
        }
        if self.explicit {
            let end = (disp + size as u64) as i32;
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self
                ; lea Rq(SCRATCH2), [Rq(SCRATCH) + end]
                ; cmp Rq(SCRATCH2), Rq(MEM_LEN)
                ; ja =>oob
            );
        }
        disp as i32
    }

    fn load(&mut self, m: MemArg, ty: Ty, size: u32, kind: LoadKind) -> Result<(), String> {
        let addr = self.pop();
        let disp = self.address(addr, m.offset, size);
        if ty.is_float() {
            let x = self.alloc_xmm();
            match kind {
                LoadKind::F32 => {
                    mload!(self, x, disp, movss Rx(x), DWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                _ => mload!(self, x, disp, movsd Rx(x), QWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp]),
            }
            self.push_reg(ty, x);
        } else {
            let d = self.alloc_gpr();
            match kind {
                LoadKind::I32 => {
                    mload!(self, d, disp, mov Rd(d), DWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::I64 => {
                    mload!(self, d, disp, mov Rq(d), QWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::U8 => {
                    mload!(self, d, disp, movzx Rd(d), BYTE [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::U16 => {
                    mload!(self, d, disp, movzx Rd(d), WORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::S8_32 => {
                    mload!(self, d, disp, movsx Rd(d), BYTE [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::S16_32 => {
                    mload!(self, d, disp, movsx Rd(d), WORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::S8_64 => {
                    mload!(self, d, disp, movsx Rq(d), BYTE [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::S16_64 => {
                    mload!(self, d, disp, movsx Rq(d), WORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::S32_64 => {
                    mload!(self, d, disp, movsxd Rq(d), DWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp])
                }
                LoadKind::F32 | LoadKind::F64 => unreachable!(),
            }
            self.push_reg(ty, d);
        }
        Ok(())
    }

    fn store(&mut self, m: MemArg, size: u32) -> Result<(), String> {
        let v = self.pop();
        let addr = self.pop();
        let disp = self.address(addr, m.offset, size);
        // The value: a register, an immediate, or loaded into r10 (free after the check).
        let src = match v.loc {
            Loc::Reg(r) => Opnd::Reg(r),
            Loc::Const(c) if size < 8 || fits_i32(c) => Opnd::Imm(c as i32),
            _ => {
                let iv = Val::new(if size == 8 { Ty::I64 } else { Ty::I32 }, v.loc);
                self.load_gpr_into(iv, SCRATCH2);
                Opnd::Reg(SCRATCH2)
            }
        };
        let float_reg = v.ty.is_float() && matches!(v.loc, Loc::Reg(_));
        match (src, size, float_reg) {
            (Opnd::Reg(r), 4, true) => {
                mload!(self, r, disp, movss DWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], Rx(r))
            }
            (Opnd::Reg(r), 8, true) => {
                mload!(self, r, disp, movsd QWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], Rx(r))
            }
            (Opnd::Reg(r), 1, _) => {
                mload!(self, r, disp, mov BYTE [Rq(MEM_BASE) + Rq(SCRATCH) + disp], Rb(r))
            }
            (Opnd::Reg(r), 2, _) => {
                mload!(self, r, disp, mov WORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], Rw(r))
            }
            (Opnd::Reg(r), 4, _) => {
                mload!(self, r, disp, mov DWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], Rd(r))
            }
            (Opnd::Reg(r), _, _) => {
                mload!(self, r, disp, mov QWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], Rq(r))
            }
            (Opnd::Imm(i), 1, _) => {
                mload!(self, i, disp, mov BYTE [Rq(MEM_BASE) + Rq(SCRATCH) + disp], i as i8)
            }
            (Opnd::Imm(i), 2, _) => {
                mload!(self, i, disp, mov WORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], i as i16)
            }
            (Opnd::Imm(i), 4, _) => {
                mload!(self, i, disp, mov DWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], i)
            }
            (Opnd::Imm(i), _, _) => {
                mload!(self, i, disp, mov QWORD [Rq(MEM_BASE) + Rq(SCRATCH) + disp], i)
            }
            (Opnd::Mem(_), _, _) => unreachable!(),
        }
        self.free(v);
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
enum LoadKind {
    I32,
    I64,
    F32,
    F64,
    U8,
    U16,
    S8_32,
    S16_32,
    S8_64,
    S16_64,
    S32_64,
}
