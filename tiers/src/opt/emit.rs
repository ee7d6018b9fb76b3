//! Instruction selection, second half: x86-64 code for each VCode instruction with the
//! registers regalloc2 chose, plus its moves, the prologue and the trap stubs.

#![allow(clippy::useless_conversion)]

use super::abi::{self, cell_disp};
use super::divconst::{ConstDiv, Plan};
use super::lower::{is_scalar_access, VCode, VKind};
use super::regalloc::RaFunc;
use super::taildup;
use crate::jit::helpers;
use crate::jit::unwind::{FrameSaves, NO_SAVE};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};
use regalloc2::{Allocation, Edit, InstOrEdit, Output, RegClass};
use strata_ir::{EntityRef, Function, Imm, Inst, Opcode, Type};
use strata_vm::abi::{arg_regs, ArgReg};
use strata_vm::vmctx::offsets as off;
use strata_vm::{Module, TrapCode};

pub use crate::jit::x64::Asm;

mod exn;
mod simd;

macro_rules! asm {
    ($g:ident; $($t:tt)*) => {{
        let a = &mut $g.asm;
        dynasm!(a ; .arch x64 ; $($t)*);
    }};
}

/// A function's code in a buffer, with its trap sites and frame size.
pub struct Emitted {
    pub bytes: Vec<u8>,
    pub traps: Vec<(u32, TrapCode)>,
    /// (return-address offset, fp shift) of each direct JIT call, for the exception
    /// unwinder (`jit::unwind`: it recovers the frames' `fp` through them).
    pub calls: Vec<(u32, i32)>,
    /// (code offset, wasm offset) of fault sites, trap sites and calls, keyed as
    /// `jit::publish_with_offsets` wants.
    pub wasm_offsets: Vec<(u32, u32)>,
    pub frame_cells: u64,
    /// Exception handler entries of the invokes (`jit::unwind`), offsets in `bytes`.
    pub handlers: Vec<crate::jit::unwind::Handler>,
    /// The frame cells where the prologue saves rbx and r12, for the unwinder to restore
    /// them when an exception abandons the frame (offsets in `bytes`).
    pub saves: FrameSaves,
    /// Offset of the register entry (docs/abi.md §3): the code at 0, the ABI entry, loads
    /// the register parameters from their cells and falls through to it.
    pub reg_entry: u32,
}

/// An invoke's exception exits, resolved into handler entries once the code is laid out
/// (`exn.rs`).
struct PendingInvoke {
    /// Return addresses of its direct JIT calls.
    rets: Vec<u32>,
    /// Its out-of-line trap sites with the code in `eax` (failing helper calls, throws).
    exits: Vec<DynamicLabel>,
    /// Its landing blocks (regalloc2 indices), in search order.
    landings: Vec<u32>,
}

struct Gen<'a> {
    asm: Asm,
    func: &'a Function,
    module: &'a Module,
    traps: Vec<(u32, TrapCode)>,
    calls: Vec<(u32, i32)>,
    /// Per trap code, the shared stub that sets it (made on first use).
    trap_labels: [Option<DynamicLabel>; 32],
    /// The shared stub that leaves through the trap stub with the code in `eax` and the
    /// trap site's return address less one in `rdx` (`stubs`).
    to_stub: DynamicLabel,
    /// The wasm offset of the IR instruction being emitted (`Function::srcloc`).
    wasm_at: u32,
    /// Out-of-line trap sites: label, code (`None`: already in `eax`), wasm offset.
    trap_sites: Vec<(DynamicLabel, Option<TrapCode>, u32)>,
    wasm_offsets: Vec<(u32, u32)>,
    blocks: Vec<DynamicLabel>,
    /// Where a branch to each block goes: the block, or for a block that is only a jump
    /// (an edge block regalloc2 put no moves in), that jump's final target.
    forward: Vec<u32>,
    spill_base: u32,
    call_base: u32,
    explicit: bool,
    has_memory: bool,
    /// r12 holds memory 0's length: in explicit-bounds mode, and in both modes when memory
    /// 0 is 64-bit (every access to it is checked; r12 is never allocated).
    len_in_r12: bool,
    /// The register whose zero-extended low half r11 holds, while only memory accesses
    /// have run since it was put there (consecutive accesses off one base share it).
    r11_index: Option<AddrSrc>,
    /// While `r11_index` holds: r11 is that index plus this (an explicit bounds check
    /// leaves `index + offset + size` there, which the next access off it adjusts).
    r11_bias: i64,
    /// XMM spill slots are two cells (the function has v128 values): moves are 16 bytes.
    wide_xmm: bool,
    /// The first catch cell (`VCode::catch_cells`).
    catch_base: u32,
    invokes: Vec<PendingInvoke>,
    /// (label, return address less one) of each out-of-line trap site with the code in
    /// `eax`, once `stubs` has emitted them.
    exit_keys: Vec<(DynamicLabel, u32)>,
    /// Each `br_table`'s instruction, table label and its targets' labels (`jump_tables`).
    /// Copies of a `br_table` (`taildup`) share its table.
    jump_tables: Vec<(Inst, DynamicLabel, Vec<DynamicLabel>)>,
    /// The save cells of rbx and r12 (`Emitted::saves`).
    saves: [u32; 2],
    /// Trap exits taken after `restore_saved` (`FrameSaves::restored`).
    restored_exits: Vec<DynamicLabel>,
    /// The prologue sets r13 (the function has memory accesses), and whether an access
    /// was emitted (which must then have it).
    loads_r13: bool,
    r13_used: bool,
    /// The prologue omits the value-stack check: the function calls nothing and its frame
    /// fits the value stack's red zone (`strata_vm::abi::VALUE_STACK_RED_ZONE`).
    leaf: bool,
    /// A call or helper call was emitted (a `leaf` emission that makes one is redone
    /// without the omission).
    calls_out: bool,
    /// The out-of-line slow paths of `call_indirect`/`call_ref`, emitted after the blocks.
    cold: Vec<ColdCall>,
}

/// The helper path of a `call_indirect` or `call_ref` whose inline check failed: emitted
/// after the function's blocks so that the common case runs straight into its call.
struct ColdCall {
    kind: ColdKind,
    /// Where the inline check jumps when it fails.
    entry: DynamicLabel,
    /// The call of a same-instance callee (entry in r11, defined index in eax).
    direct: DynamicLabel,
    /// After the call: the memory registers and results.
    done: DynamicLabel,
    /// The trap exit (a helper's code in eax), made at the call site.
    stub: DynamicLabel,
    /// Byte offset of the callee frame from `r14`.
    shift: i32,
    wasm_at: u32,
    /// The arguments the inline path passes in registers, and their cells' displacements:
    /// the helpers and the code slot they find read cells, so the cold path stores them.
    reg_args: Vec<(ArgReg, i32)>,
}

enum ColdKind {
    /// `table`, `type_index`, the index cell, a 64-bit table, and where the index is if the
    /// inline path left it there (stored to its cell first).
    Indirect {
        table: u32,
        type_index: u32,
        idx_cell: i32,
        table64: bool,
        idx: Option<Allocation>,
    },
    /// The reference's cell.
    Ref { ref_cell: i32 },
}

/// Where an inline `call_indirect` reads its table index.
#[derive(Clone, Copy)]
enum IndexAt {
    /// A frame cell (`[r14 + disp]`).
    Cell(i32),
    /// A general register other than r10 and r11 (rax is written only after the last
    /// jump to the cold path, which may store it).
    Reg(u8),
}

/// Where r11's zero-extended 32-bit address comes from: a register, or `base + index <<
/// scale + disp` computed by a 32-bit `lea` (a folded `i32.add`, `lower::AddrForm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AddrSrc {
    base: u8,
    index: Option<(u8, u8)>,
    disp: i32,
    /// `base` alone (no index, no displacement) is proved zero-extended in the IR
    /// (`VCode::zext_addr`): it can index memory 0 itself.
    zext: bool,
}

impl AddrSrc {
    fn reg(a: u8) -> Self {
        AddrSrc {
            base: a,
            index: None,
            disp: 0,
            zext: false,
        }
    }

    fn reads(&self, r: u8) -> bool {
        self.base == r || self.index.is_some_and(|(i, _)| i == r)
    }
}

fn reg(a: Allocation) -> u8 {
    a.as_reg().map(|r| r.hw_enc() as u8).unwrap_or(0)
}

fn is64(t: Type) -> bool {
    matches!(
        t,
        Type::I64 | Type::F64 | Type::FuncRef | Type::ExternRef | Type::ExnRef
    )
}

pub fn emit(
    func: &Function,
    module: &Module,
    vc: &VCode,
    out: &Output,
    explicit: bool,
) -> Result<Emitted, String> {
    // A function without calls (no instruction clobbers the call registers, no tail call)
    // may omit the value-stack check if its frame fits the red zone; should it make a call
    // after all (an instruction that calls without those clobbers), it is emitted again
    // with the check. (Division clobbers rax/rdx only: not a call.)
    let calls = vc.insts.iter().any(|v| {
        v.clobbers.contains(abi::gpr(abi::RDI))
            || matches!(v.kind, VKind::Ir(i) if matches!(func.inst(i).opcode,
                Opcode::ReturnCall | Opcode::ReturnCallIndirect | Opcode::ReturnCallRef))
    });
    if !calls {
        if let Some(e) = emit_as(func, module, vc, out, explicit, true)? {
            return Ok(e);
        }
    }
    emit_as(func, module, vc, out, explicit, false)?
        .ok_or_else(|| "a function with calls emitted as a leaf".into())
}

/// `emit`, with the value-stack check omitted if `leaf` and the frame fits the red zone.
/// `None`: `leaf`, and the function made a call.
fn emit_as(
    func: &Function,
    module: &Module,
    vc: &VCode,
    out: &Output,
    explicit: bool,
    leaf: bool,
) -> Result<Option<Emitted>, String> {
    let cells = |ts: &[Type]| ts.iter().map(|t| t.cells()).sum::<u32>();
    let locals = cells(&func.params).max(cells(&func.results));
    // The catch cells follow the parameter and result cells (read only at entry and
    // written only at return): a landing block loads them right away.
    let catch_base = locals;
    let spill_base = locals.max(vc.osr_cells).max(catch_base + vc.catch_cells);
    // The callee-saved registers the allocation uses get a cell each after the spill
    // slots (docs/abi.md §8).
    let saved = used_callee_saved(out);
    let save_base = spill_base + out.num_spillslots as u32;
    let mut saves = [NO_SAVE; 2];
    let mut k = 0;
    for (i, r) in abi::CALLEE_SAVED.into_iter().enumerate() {
        if saved.contains(&r) {
            saves[i] = save_base + k;
            k += 1;
        }
    }
    let call_base = save_base + k;
    let frame = call_base as u64 + vc.call_cells as u64 + 1;
    if frame > abi::MAX_FRAME_CELLS {
        return Err("function frame is too large".into());
    }
    let mut asm = Asm::new(0);
    let to_stub = asm.new_dynamic_label();
    let blocks = (0..vc.blocks.len())
        .map(|_| asm.new_dynamic_label())
        .collect();
    let ra = RaFunc { vc, ir: func };
    let forward = forward_empty_blocks(func, vc, out, &ra);
    let mut g = Gen {
        asm,
        func,
        module,
        traps: Vec::new(),
        calls: Vec::new(),
        trap_labels: [None; 32],
        to_stub,
        // The prologue's checks belong to the first instruction.
        wasm_at: func.srclocs.first().unwrap_or(0),
        trap_sites: Vec::new(),
        wasm_offsets: Vec::new(),
        blocks,
        forward,
        spill_base,
        call_base,
        explicit,
        has_memory: !module.memories.is_empty(),
        len_in_r12: module
            .memories
            .first()
            .is_some_and(|m| explicit || m.memory64),
        r11_index: None,
        r11_bias: 0,
        wide_xmm: vc.has_v128,
        catch_base,
        invokes: Vec::new(),
        exit_keys: Vec::new(),
        jump_tables: Vec::new(),
        saves,
        restored_exits: Vec::new(),
        // A folded load is read by its user (a fused compare's at the `br_if`/`select`).
        loads_r13: vc.mem_operand.iter().any(Option::is_some)
            || vc.insts.iter().any(|v| match v.kind {
                VKind::Ir(i) => {
                    let op = func.inst(i).opcode;
                    is_scalar_access(op) || matches!(op, Opcode::SimdLoad | Opcode::SimdStore)
                }
                VKind::Params => false,
            }),
        r13_used: false,
        leaf: leaf && frame <= strata_vm::abi::VALUE_STACK_RED_ZONE as u64,
        calls_out: false,
        cold: Vec::new(),
    };
    let landing = landing_blocks(func, vc);
    let mut block_offsets = vec![0u32; vc.blocks.len()];
    // The ABI entry: the register parameters from their cells, then the register entry.
    let mut cell = 0;
    for (k, &t) in func.params.iter().enumerate() {
        let d = cell_disp(cell);
        match vc.param_regs.get(k).copied().flatten() {
            Some(ArgReg::Gpr(r)) => asm!(g; mov Rq(r), QWORD [r14 + d]),
            Some(ArgReg::Xmm(x)) => asm!(g; movsd Rx(x), QWORD [r14 + d]),
            None => {}
        }
        cell += t.cells();
    }
    // The register entry is where optimized callers land: keep it 16-byte aligned like a
    // function start (the ABI entry runs the padding, one multi-byte nop or two).
    g.pad_to_16();
    let reg_entry = g.asm.offset().0 as u32;
    g.prologue(frame as u32);
    let n = vc.blocks.len();
    // The block emitted after each one (forwarded blocks emit nothing).
    let mut next_emitted = vec![n; n];
    for b in (0..n.saturating_sub(1)).rev() {
        next_emitted[b] = if g.forward[b + 1] as usize == b + 1 {
            b + 1
        } else {
            next_emitted[b + 1]
        };
    }
    let dup = taildup::plan(func, vc, out, &ra, &g.forward, &landing, &next_emitted);
    for (b, &next) in next_emitted.iter().enumerate() {
        if g.forward[b] as usize != b {
            continue;
        }
        let l = g.blocks[b];
        asm!(g; =>l);
        block_offsets[b] = g.asm.offset().0 as u32;
        if landing[b] {
            g.pad_prologue();
        }
        emit_items(&mut g, vc, out, &ra, b, next, &dup)?;
    }
    for c in std::mem::take(&mut g.cold) {
        g.cold_call(c);
    }
    if g.leaf && g.calls_out {
        return Ok(None);
    }
    g.stubs();
    let tables = g.jump_tables()?;
    if g.r13_used && !g.loads_r13 {
        return Err("a memory access the prologue did not expect".into());
    }
    let handlers = g.handlers(vc, &block_offsets, &g.exit_keys)?;
    let restored = g
        .exit_keys
        .iter()
        .filter(|(l, _)| g.restored_exits.contains(l))
        .map(|&(_, key)| key)
        .collect();
    let mut bytes = g.asm.finalize().map_err(|e| format!("assembler: {e:?}"))?;
    for (at, rel) in tables {
        bytes[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }
    let saves = FrameSaves {
        start: 0,
        end: bytes.len() as u32,
        cells: saves,
        restored,
    };
    Ok(Some(Emitted {
        bytes,
        traps: g.traps,
        calls: g.calls,
        wasm_offsets: g.wasm_offsets,
        frame_cells: frame,
        handlers,
        saves,
        reg_entry,
    }))
}

/// Whether `item`, not a memory access, leaves r11 and the registers the address in it
/// was computed from (`src`, `Gen::r11_index`) alone, so that the next access off the same
/// address reuses r11: a regalloc2 move other than stack to stack (which goes through r11),
/// or an integer ALU op, shift, constant, extension or compare (none of whose forms touches
/// r11: `setcc` writes the result's own register) whose results are in other registers.
fn keeps_r11(
    func: &Function,
    vc: &VCode,
    out: &Output,
    item: &InstOrEdit<'_>,
    src: AddrSrc,
) -> bool {
    use Opcode::*;
    let clear = |a: &Allocation| a.as_reg().is_none_or(|r| !src.reads(r.hw_enc() as u8));
    match item {
        InstOrEdit::Edit(Edit::Move { from, to }) => {
            !(from.is_stack() && to.is_stack()) && clear(to)
        }
        InstOrEdit::Inst(i) => {
            let i = *i;
            let vi = &vc.insts[i.index()];
            let VKind::Ir(inst) = vi.kind else {
                return false;
            };
            let op = func.inst(inst).opcode;
            let simple = vi.fused.is_none()
                && vc.mem_operand[inst.index()].is_none()
                && vc.rmw[inst.index()].is_none()
                && (super::lower::is_int_compare(op)
                    || super::lower::is_int_alu(op)
                    || matches!(
                        op,
                        I32Const
                            | I64Const
                            | I32WrapI64
                            | I64ExtendI32U
                            | I64ExtendI32S
                            | I32Extend8S
                            | I32Extend16S
                            | I64Extend8S
                            | I64Extend16S
                            | I64Extend32S
                    ));
            if !simple {
                return false;
            }
            let ops = &vc.operands[vi.ops.start as usize..vi.ops.end as usize];
            ops.iter()
                .zip(out.inst_allocs(i))
                .all(|(o, a)| o.kind() != regalloc2::OperandKind::Def || clear(a))
        }
    }
}

/// The callee-saved registers (`abi::CALLEE_SAVED`) the allocation puts any value in: the
/// emitter itself never touches them (r12 only when pinned, and then it is not allocatable).
fn used_callee_saved(out: &Output) -> Vec<u8> {
    let mut used = Vec::new();
    let edits = out
        .edits
        .iter()
        .flat_map(|(_, Edit::Move { from, to })| [*from, *to]);
    for a in out.allocs.iter().copied().chain(edits) {
        if let Some(r) = a.as_reg() {
            let e = r.hw_enc() as u8;
            if r.class() == regalloc2::RegClass::Int
                && abi::CALLEE_SAVED.contains(&e)
                && !used.contains(&e)
            {
                used.push(e);
            }
        }
    }
    used
}

/// Block `b`'s instructions and regalloc2's moves, `next` being the block emitted after
/// this code. A final jump that `taildup::plan` chose to replace (`dup`) becomes a copy of
/// its target's code, emitted the same way.
fn emit_items(
    g: &mut Gen,
    vc: &VCode,
    out: &Output,
    ra: &RaFunc,
    b: usize,
    next: usize,
    dup: &[Option<u32>],
) -> Result<(), String> {
    let func = g.func;
    g.r11_index = None;
    for item in out.block_insts_and_edits(ra, regalloc2::Block::new(b)) {
        let access = matches!(item, InstOrEdit::Inst(i)
            if matches!(vc.insts[i.index()].kind,
                VKind::Ir(inst) if is_scalar_access(func.inst(inst).opcode)
                    || vc.mem_operand[inst.index()].is_some()));
        let keep = access
            || g.r11_index
                .is_some_and(|src| keeps_r11(func, vc, out, &item, src));
        if !keep {
            g.r11_index = None;
        }
        match item {
            InstOrEdit::Edit(Edit::Move { from, to }) => g.mov(*from, *to),
            InstOrEdit::Inst(i) => {
                let allocs = out.inst_allocs(i);
                if let VKind::Ir(inst) = vc.insts[i.index()].kind {
                    if let Some(at) = func.srcloc(inst) {
                        g.wasm_at = at;
                    }
                }
                match vc.insts[i.index()].kind {
                    VKind::Params => {
                        let mut cell = 0;
                        for (k, &a) in allocs.iter().enumerate() {
                            let p = func.block_params(vc.blocks[0].ir)[k];
                            let t = func.value_type(p);
                            // A register parameter is already where it is allocated.
                            if vc.param_regs.get(k).copied().flatten().is_none() {
                                g.load_cell(a, cell_disp(cell), t);
                            }
                            cell += t.cells();
                        }
                    }
                    // A jump `taildup` chose to replace: the code it jumps to, here.
                    VKind::Ir(inst)
                        if func.inst(inst).opcode == Opcode::Jump
                            && dup[b].is_some_and(|t| t as usize != next) =>
                    {
                        let t = dup[b].unwrap_or_default() as usize;
                        emit_items(g, vc, out, ra, t, next, dup)?;
                    }
                    VKind::Ir(inst) => match vc.insts[i.index()].fused {
                        Some(c) if func.inst(inst).opcode == Opcode::Select => {
                            g.fused_select(inst, c, allocs, vc)
                        }
                        Some(c) => g.fused_br_if(inst, c, allocs, vc, next),
                        None => g.inst(inst, allocs, vc, next)?,
                    },
                }
            }
        }
        if !keep {
            g.r11_index = None;
        }
    }
    Ok(())
}

/// Which blocks (regalloc2 indices) are landing blocks: exceptional targets of an invoke,
/// where the unwinder resumes.
fn landing_blocks(func: &Function, vc: &VCode) -> Vec<bool> {
    let mut landing = vec![false; vc.blocks.len()];
    for b in &vc.blocks {
        let Some(t) = func.terminator(b.ir) else {
            continue;
        };
        let op = func.inst(t).opcode;
        if op.is_invoke() {
            for c in &func.targets(t)[op.first_landing()..] {
                if let Some(l) = landing.get_mut(vc.block_index[c.block.index()] as usize) {
                    *l = true;
                }
            }
        }
    }
    landing
}

/// For each block, the block a branch to it can go to instead: itself, or, for a block
/// whose only content is a jump (regalloc2 put no moves in it), the end of that chain of
/// jumps. The entry block and a cycle of empty blocks stay themselves.
fn forward_empty_blocks(func: &Function, vc: &VCode, out: &Output, ra: &RaFunc) -> Vec<u32> {
    let n = vc.blocks.len();
    let mut step: Vec<u32> = (0..n as u32).collect();
    let landing = landing_blocks(func, vc);
    for (b, s) in step.iter_mut().enumerate().skip(1) {
        // A landing block is where the unwinder resumes: it keeps its own code.
        if landing[b] {
            continue;
        }
        let mut items = out.block_insts_and_edits(ra, regalloc2::Block::new(b));
        let (Some(InstOrEdit::Inst(i)), None) = (items.next(), items.next()) else {
            continue;
        };
        if let VKind::Ir(inst) = vc.insts[i.index()].kind {
            if func.inst(inst).opcode == Opcode::Jump {
                *s = vc.block_index[func.targets(inst)[0].block.index()];
            }
        }
    }
    (0..n)
        .map(|b| {
            let mut t = b as u32;
            for _ in 0..n {
                if step[t as usize] == t {
                    return t;
                }
                t = step[t as usize];
            }
            b as u32
        })
        .collect()
}

impl Gen<'_> {
    fn slot_disp(&self, a: Allocation) -> i32 {
        cell_disp(self.spill_base + a.as_stack().map(|s| s.index() as u32).unwrap_or(0))
    }

    /// A regalloc2 move (never stack to stack).
    fn mov(&mut self, from: Allocation, to: Allocation) {
        let class = from
            .as_reg()
            .or(to.as_reg())
            .map(|r| r.class())
            .unwrap_or(RegClass::Int);
        match (from.as_reg(), to.as_reg(), class) {
            (Some(s), Some(d), RegClass::Int) => {
                if s != d {
                    asm!(self; mov Rq(d.hw_enc() as u8), Rq(s.hw_enc() as u8));
                }
            }
            (Some(s), Some(d), _) => {
                if s != d {
                    asm!(self; movaps Rx(d.hw_enc() as u8), Rx(s.hw_enc() as u8));
                }
            }
            (Some(s), None, RegClass::Int) => {
                let d = self.slot_disp(to);
                asm!(self; mov QWORD [r14 + d], Rq(s.hw_enc() as u8));
            }
            (Some(s), None, _) => {
                let d = self.slot_disp(to);
                if self.wide_xmm {
                    asm!(self; movdqu OWORD [r14 + d], Rx(s.hw_enc() as u8));
                } else {
                    asm!(self; movsd QWORD [r14 + d], Rx(s.hw_enc() as u8));
                }
            }
            (None, Some(d), RegClass::Int) => {
                let s = self.slot_disp(from);
                asm!(self; mov Rq(d.hw_enc() as u8), QWORD [r14 + s]);
            }
            (None, Some(d), _) => {
                let s = self.slot_disp(from);
                if self.wide_xmm {
                    asm!(self; movdqu Rx(d.hw_enc() as u8), OWORD [r14 + s]);
                } else {
                    asm!(self; movsd Rx(d.hw_enc() as u8), QWORD [r14 + s]);
                }
            }
            (None, None, _) if self.wide_xmm => {
                let (s, d) = (self.slot_disp(from), self.slot_disp(to));
                asm!(self; movdqu xmm15, OWORD [r14 + s] ; movdqu OWORD [r14 + d], xmm15);
            }
            (None, None, _) => {
                let (s, d) = (self.slot_disp(from), self.slot_disp(to));
                asm!(self; mov r11, QWORD [r14 + s] ; mov QWORD [r14 + d], r11);
            }
        }
    }

    /// Loads the cell at `[r14 + disp]` into an allocation of a value of type `t`.
    fn load_cell(&mut self, a: Allocation, disp: i32, t: Type) {
        if let Some(r) = a.as_reg() {
            let r = r.hw_enc() as u8;
            if t == Type::V128 {
                asm!(self; movdqu Rx(r), OWORD [r14 + disp]);
            } else if matches!(t, Type::F32 | Type::F64) {
                asm!(self; movsd Rx(r), QWORD [r14 + disp]);
            } else {
                asm!(self; mov Rq(r), QWORD [r14 + disp]);
            }
        } else if t == Type::V128 {
            let d = self.slot_disp(a);
            asm!(self; movdqu xmm15, OWORD [r14 + disp] ; movdqu OWORD [r14 + d], xmm15);
        } else {
            let d = self.slot_disp(a);
            asm!(self; mov r11, QWORD [r14 + disp] ; mov QWORD [r14 + d], r11);
        }
    }

    /// Stores an allocation into the cell at `[r14 + disp]`.
    fn store_cell(&mut self, a: Allocation, disp: i32, t: Type) {
        if let Some(r) = a.as_reg() {
            let r = r.hw_enc() as u8;
            if t == Type::V128 {
                asm!(self; movdqu OWORD [r14 + disp], Rx(r));
            } else if matches!(t, Type::F32 | Type::F64) {
                asm!(self; movsd QWORD [r14 + disp], Rx(r));
            } else {
                asm!(self; mov QWORD [r14 + disp], Rq(r));
            }
        } else if t == Type::V128 {
            let s = self.slot_disp(a);
            asm!(self; movdqu xmm15, OWORD [r14 + s] ; movdqu OWORD [r14 + disp], xmm15);
        } else {
            let s = self.slot_disp(a);
            asm!(self; mov r11, QWORD [r14 + s] ; mov QWORD [r14 + disp], r11);
        }
    }

    /// A label to jump to for trap `code` here: a stub of its own, out of line, so that the
    /// backtrace knows the wasm instruction (`stubs`).
    fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        let l = self.asm.new_dynamic_label();
        self.trap_sites.push((l, Some(code), self.wasm_at));
        l
    }

    /// A label to jump to with a trap code in `eax` (a helper's) here, like `trap_label`.
    fn trap_exit(&mut self) -> DynamicLabel {
        let l = self.asm.new_dynamic_label();
        self.trap_sites.push((l, None, self.wasm_at));
        l
    }

    /// Records the return address (less one) of a call just emitted with the current wasm
    /// offset: a frame whose pc it is was executing that instruction.
    fn call_site(&mut self) {
        let ret = self.asm.offset().0 as u32;
        self.wasm_offsets.push((ret - 1, self.wasm_at));
    }

    /// The out-of-line trap sites, each a `call` to its code's shared stub (the return
    /// address names the site, as in the baseline's `epilogue_stubs`), then those stubs.
    /// The `br_table` jump tables, after the code: 4-byte aligned, one 32-bit offset per
    /// target from the table's start. Returns where each entry is and what it holds (the
    /// labels resolve only once everything is emitted; the caller writes them in).
    fn jump_tables(&mut self) -> Result<Vec<(usize, i32)>, String> {
        let mut entries = Vec::new();
        for (_, table, targets) in std::mem::take(&mut self.jump_tables) {
            asm!(self; .align 4 ; =>table);
            for l in targets {
                entries.push((self.asm.offset().0, table, l));
                asm!(self; .i32 0);
            }
        }
        let labels = self.asm.labels();
        let at = |l| {
            labels
                .resolve_dynamic(l)
                .map(|o| o.0 as i64)
                .map_err(|e| format!("br_table: {e:?}"))
        };
        entries
            .into_iter()
            .map(|(pos, table, l)| {
                let rel = i32::try_from(at(l)? - at(table)?)
                    .map_err(|_| "br_table: target out of range".to_string())?;
                Ok((pos, rel))
            })
            .collect()
    }

    fn stubs(&mut self) {
        let to_stub = self.to_stub;
        for (l, code, at) in std::mem::take(&mut self.trap_sites) {
            let common = match code {
                None => to_stub,
                Some(code) => match self.trap_labels[code as usize] {
                    Some(c) => c,
                    None => {
                        let c = self.asm.new_dynamic_label();
                        self.trap_labels[code as usize] = Some(c);
                        c
                    }
                },
            };
            asm!(self; =>l ; call =>common);
            self.call_site_at(at);
            if code.is_none() {
                let key = self.asm.offset().0 as u32 - 1;
                self.exit_keys.push((l, key));
            }
        }
        for (i, l) in self.trap_labels.iter().enumerate() {
            if let Some(l) = *l {
                let a = &mut self.asm;
                dynasm!(a ; .arch x64 ; =>l ; mov eax, i as i32 ; jmp =>to_stub);
            }
        }
        let stub = crate::jit::trampoline::trap_stub();
        // rdx = the trap site's return address less one: a pc of this function, and its
        // key in `wasm_offsets`.
        asm!(self
            ; =>to_stub
            ; pop rdx
            ; sub rdx, 1
            ; mov r11, QWORD stub as i64
            ; jmp r11
        );
    }

    fn call_site_at(&mut self, at: u32) {
        let ret = self.asm.offset().0 as u32;
        self.wasm_offsets.push((ret - 1, at));
    }

    /// Multi-byte nops up to the next 16-byte boundary (function starts are 16-byte aligned).
    fn pad_to_16(&mut self) {
        // The recommended nop encodings of 1 to 8 bytes (66 0F 1F ... and 0F 1F ...).
        const NOPS: [&[u8]; 8] = [
            &[0x90],
            &[0x66, 0x90],
            &[0x0f, 0x1f, 0x00],
            &[0x0f, 0x1f, 0x40, 0x00],
            &[0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
            &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        ];
        let mut left = (16 - self.asm.offset().0 % 16) % 16;
        while left > 0 {
            let n = left.min(8);
            self.asm.extend(NOPS[n - 1].iter().copied());
            left -= n;
        }
    }

    /// Frame setup and both stack checks (docs/abi.md §4), then the memory registers.
    fn prologue(&mut self, frame: u32) {
        let limit = off::RUNTIME_STACK_LIMIT;
        let end = off::RUNTIME_STACK_END;
        let rt = off::VMCTX_RUNTIME;
        let ovf = self.trap_label(TrapCode::StackOverflow);
        let fd = cell_disp(frame);
        asm!(self
            ; push rbp
            ; mov rbp, rsp
            ; mov r11, QWORD [r15 + rt]
            ; cmp rsp, QWORD [r11 + limit]
            ; jb =>ovf
        );
        // The machine-stack check stays in every frame: it is also the exact depth limit.
        if !self.leaf {
            asm!(self
                ; lea r10, [r14 + fd]
                ; cmp r10, QWORD [r11 + end]
                ; ja =>ovf
            );
        }
        // The caller's callee-saved registers this function uses (restored by
        // `restore_saved`; an OSR entry is a function of its own with the same prologue).
        for (i, r) in abi::CALLEE_SAVED.into_iter().enumerate() {
            if self.saves[i] != NO_SAVE {
                let d = cell_disp(self.saves[i]);
                asm!(self; mov QWORD [r14 + d], Rq(r));
            }
        }
        if self.has_memory {
            // Only a function that addresses memory reads r13: the others leave it as they
            // found it (a same-instance caller's is the same base; other instances are
            // reached through the trampoline, which restores it).
            if self.loads_r13 {
                let mb = off::VMCTX_MEM_BASE;
                asm!(self; mov r13, QWORD [r15 + mb]);
            }
            self.reload_mem_len();
        }
    }

    /// Puts back the caller's callee-saved registers before this frame is left by a return
    /// or a tail call (after the last read of a value in them).
    fn restore_saved(&mut self) {
        for (i, r) in abi::CALLEE_SAVED.into_iter().enumerate() {
            if self.saves[i] != NO_SAVE {
                let d = cell_disp(self.saves[i]);
                asm!(self; mov Rq(r), QWORD [r14 + d]);
            }
        }
    }

    /// An interruption point (docs/abi.md §7): the fuel and epoch checks the module asks
    /// for, the same sequence as the baseline's, in the scratch registers r10 and r11 (never
    /// allocated, so no live value is disturbed).
    fn interruption_point(&mut self) {
        let checks = self.module.interrupts;
        let fuel = checks.fuel.then(|| self.trap_label(TrapCode::OutOfFuel));
        let epoch = checks.epoch.then(|| self.trap_label(TrapCode::Interrupt));
        crate::jit::x64::interruption_point(&mut self.asm, fuel, epoch);
    }

    fn reload_mem_len(&mut self) {
        if self.len_in_r12 {
            let m = off::VMCTX_MEMORY;
            let l = off::MEMORY_LEN;
            asm!(self; mov r12, QWORD [r15 + m] ; mov r12, QWORD [r12 + l]);
        }
    }

    fn jump_to(&mut self, bi: u32, next: usize) {
        if bi as usize != next {
            let l = self.blocks[bi as usize];
            asm!(self; jmp =>l);
        }
    }

    fn target(&self, vc: &VCode, inst: Inst, k: usize) -> u32 {
        self.forward[vc.block_index[self.func.targets(inst)[k].block.index()] as usize]
    }

    fn inst(
        &mut self,
        inst: Inst,
        al: &[Allocation],
        vc: &VCode,
        next: usize,
    ) -> Result<(), String> {
        use Opcode::*;
        let data = *self.func.inst(inst);
        let op = data.opcode;
        let args = self.func.args(inst);
        let w = args
            .first()
            .map(|&a| is64(self.func.value_type(a)))
            .unwrap_or(false);
        if let Some(load) = vc.mem_operand[inst.index()] {
            return self.mem_operand_op(inst, load, al, vc);
        }
        if let Some(r) = vc.rmw[inst.index()] {
            return self.rmw_store(inst, r, al, vc);
        }
        match op {
            I32Const => {
                let (d, Imm::I32(v)) = (reg(al[0]), data.imm) else {
                    return Err("bad i32.const".into());
                };
                if v == 0 {
                    asm!(self; xor Rd(d), Rd(d));
                } else {
                    asm!(self; mov Rd(d), v);
                }
            }
            I64Const | RefNull => {
                let d = reg(al[0]);
                let v = match data.imm {
                    Imm::I64(v) => v,
                    _ => 0,
                };
                self.mov_imm(d, v as u64);
            }
            F32Const => {
                let (d, Imm::F32(bits)) = (reg(al[0]), data.imm) else {
                    return Err("bad f32.const".into());
                };
                if bits == 0 {
                    asm!(self; xorps Rx(d), Rx(d));
                } else {
                    asm!(self; mov r11d, bits as i32 ; movd Rx(d), r11d);
                }
            }
            F64Const => {
                let (d, Imm::F64(bits)) = (reg(al[0]), data.imm) else {
                    return Err("bad f64.const".into());
                };
                if bits == 0 {
                    asm!(self; xorps Rx(d), Rx(d));
                } else {
                    asm!(self; mov r11, QWORD bits as i64 ; movq Rx(d), r11);
                }
            }
            OsrLoadCell => {
                let Imm::Index(k) = data.imm else {
                    return Err("bad osr.load_cell".into());
                };
                let t = self
                    .func
                    .value_type(self.func.result(inst).ok_or("no result")?);
                self.load_cell(al[0], cell_disp(k), t);
            }
            _ if super::lower::imm_operand(self.func, inst).is_some() => {
                let i = super::lower::imm_operand(self.func, inst).unwrap_or(0);
                self.imm_form(op, reg(al[0]), i, reg(al[1]));
            }
            I32Add | I64Add if al[1].is_stack() => {
                let (a, m, d) = (reg(al[0]), self.slot_disp(al[1]), reg(al[2]));
                // d is a register of its own or a's (a dies here): never the cell.
                if d != a {
                    asm!(self; mov Rq(d), Rq(a));
                }
                if op == I32Add {
                    asm!(self; add Rd(d), DWORD [r14 + m]);
                } else {
                    asm!(self; add Rq(d), QWORD [r14 + m]);
                }
            }
            I32Sub | I32Mul | I32And | I32Or | I32Xor | I64Sub | I64Mul | I64And | I64Or
            | I64Xor
                if al[1].is_stack() =>
            {
                // The spilled second operand from its cell (an i32 in the cell's low half).
                let (d, m) = (reg(al[2]), self.slot_disp(al[1]));
                match op {
                    I32Sub => asm!(self; sub Rd(d), DWORD [r14 + m]),
                    I32Mul => asm!(self; imul Rd(d), DWORD [r14 + m]),
                    I32And => asm!(self; and Rd(d), DWORD [r14 + m]),
                    I32Or => asm!(self; or Rd(d), DWORD [r14 + m]),
                    I32Xor => asm!(self; xor Rd(d), DWORD [r14 + m]),
                    I64Sub => asm!(self; sub Rq(d), QWORD [r14 + m]),
                    I64Mul => asm!(self; imul Rq(d), QWORD [r14 + m]),
                    I64And => asm!(self; and Rq(d), QWORD [r14 + m]),
                    I64Or => asm!(self; or Rq(d), QWORD [r14 + m]),
                    _ => asm!(self; xor Rq(d), QWORD [r14 + m]),
                }
            }
            F32Add | F32Sub | F32Mul | F32Div | F64Add | F64Sub | F64Mul | F64Div
                if al[1].is_stack() =>
            {
                let (d, m) = (reg(al[2]), self.slot_disp(al[1]));
                match op {
                    F32Add => asm!(self; addss Rx(d), DWORD [r14 + m]),
                    F32Sub => asm!(self; subss Rx(d), DWORD [r14 + m]),
                    F32Mul => asm!(self; mulss Rx(d), DWORD [r14 + m]),
                    F32Div => asm!(self; divss Rx(d), DWORD [r14 + m]),
                    F64Add => asm!(self; addsd Rx(d), QWORD [r14 + m]),
                    F64Sub => asm!(self; subsd Rx(d), QWORD [r14 + m]),
                    F64Mul => asm!(self; mulsd Rx(d), QWORD [r14 + m]),
                    _ => asm!(self; divsd Rx(d), QWORD [r14 + m]),
                }
            }
            I32Add | I64Add => {
                let (a, b, d) = (reg(al[0]), reg(al[1]), reg(al[2]));
                // The low 32 bits of a 64-bit `lea` are the i32 sum (zero-extended).
                let (x, y) = if d == b { (b, a) } else { (a, b) };
                match (op, d == x) {
                    (I32Add, true) => asm!(self; add Rd(d), Rd(y)),
                    (I64Add, true) => asm!(self; add Rq(d), Rq(y)),
                    (I32Add, false) => asm!(self; lea Rd(d), [Rq(x) + Rq(y)]),
                    _ => asm!(self; lea Rq(d), [Rq(x) + Rq(y)]),
                }
            }
            I32Sub | I32Mul | I32And | I32Or | I32Xor | I64Sub | I64Mul | I64And | I64Or
            | I64Xor => {
                let (d, b) = (reg(al[2]), reg(al[1]));
                match (op, w) {
                    (I32Sub, _) => asm!(self; sub Rd(d), Rd(b)),
                    (I32Mul, _) => asm!(self; imul Rd(d), Rd(b)),
                    (I32And, _) => asm!(self; and Rd(d), Rd(b)),
                    (I32Or, _) => asm!(self; or Rd(d), Rd(b)),
                    (I32Xor, _) => asm!(self; xor Rd(d), Rd(b)),
                    (I64Sub, _) => asm!(self; sub Rq(d), Rq(b)),
                    (I64Mul, _) => asm!(self; imul Rq(d), Rq(b)),
                    (I64And, _) => asm!(self; and Rq(d), Rq(b)),
                    (I64Or, _) => asm!(self; or Rq(d), Rq(b)),
                    _ => asm!(self; xor Rq(d), Rq(b)),
                }
            }
            I32Shl | I32ShrS | I32ShrU | I64Shl | I64ShrS | I64ShrU
                if super::lower::bmi2_shift(op) =>
            {
                // The count is taken modulo the width by the instruction, as wasm wants.
                let (x, c, d) = (reg(al[0]), reg(al[1]), reg(al[2]));
                match op {
                    I32Shl => asm!(self; shlx Rd(d), Rd(x), Rd(c)),
                    I32ShrS => asm!(self; sarx Rd(d), Rd(x), Rd(c)),
                    I32ShrU => asm!(self; shrx Rd(d), Rd(x), Rd(c)),
                    I64Shl => asm!(self; shlx Rq(d), Rq(x), Rq(c)),
                    I64ShrS => asm!(self; sarx Rq(d), Rq(x), Rq(c)),
                    _ => asm!(self; shrx Rq(d), Rq(x), Rq(c)),
                }
            }
            I32Shl | I32ShrS | I32ShrU | I32Rotl | I32Rotr | I64Shl | I64ShrS | I64ShrU
            | I64Rotl | I64Rotr => {
                let d = reg(al[2]);
                match op {
                    I32Shl => asm!(self; shl Rd(d), cl),
                    I32ShrS => asm!(self; sar Rd(d), cl),
                    I32ShrU => asm!(self; shr Rd(d), cl),
                    I32Rotl => asm!(self; rol Rd(d), cl),
                    I32Rotr => asm!(self; ror Rd(d), cl),
                    I64Shl => asm!(self; shl Rq(d), cl),
                    I64ShrS => asm!(self; sar Rq(d), cl),
                    I64ShrU => asm!(self; shr Rq(d), cl),
                    I64Rotl => asm!(self; rol Rq(d), cl),
                    _ => asm!(self; ror Rq(d), cl),
                }
            }
            I32DivS | I32DivU | I64DivS | I64DivU | I32RemS | I32RemU | I64RemS | I64RemU => {
                match super::lower::const_divisor(self.func, inst) {
                    Some((c, d)) => self.div_const(op, c, d, reg(al[0]), reg(al[1])),
                    None => self.div(op, reg(al[1]), vc.divisor_nonzero[inst.index()]),
                }
            }
            I32Eqz | I64Eqz | RefIsNull => {
                let (a, d) = (reg(al[0]), reg(al[1]));
                if w {
                    asm!(self; test Rq(a), Rq(a));
                } else {
                    asm!(self; test Rd(a), Rd(a));
                }
                asm!(self; sete Rb(d) ; movzx Rd(d), Rb(d));
            }
            I32Clz => asm!(self; lzcnt Rd(reg(al[1])), Rd(reg(al[0]))),
            I32Ctz => asm!(self; tzcnt Rd(reg(al[1])), Rd(reg(al[0]))),
            I32Popcnt => asm!(self; popcnt Rd(reg(al[1])), Rd(reg(al[0]))),
            I64Clz => asm!(self; lzcnt Rq(reg(al[1])), Rq(reg(al[0]))),
            I64Ctz => asm!(self; tzcnt Rq(reg(al[1])), Rq(reg(al[0]))),
            I64Popcnt => asm!(self; popcnt Rq(reg(al[1])), Rq(reg(al[0]))),
            I32Extend8S => asm!(self; movsx Rd(reg(al[1])), Rb(reg(al[0]))),
            I32Extend16S => asm!(self; movsx Rd(reg(al[1])), Rw(reg(al[0]))),
            I64Extend8S => asm!(self; movsx Rq(reg(al[1])), Rb(reg(al[0]))),
            I64Extend16S => asm!(self; movsx Rq(reg(al[1])), Rw(reg(al[0]))),
            I64Extend32S | I64ExtendI32S => {
                asm!(self; movsxd Rq(reg(al[1])), Rd(reg(al[0])))
            }
            I64ExtendI32U if super::lower::extends_bool(self.func, inst) => {}
            I32WrapI64 | I64ExtendI32U => asm!(self; mov Rd(reg(al[1])), Rd(reg(al[0]))),
            I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS
            | I32GeU | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU
            | I64GeS | I64GeU => {
                let d = reg(al[2]);
                self.cmp_operands(w, al[0], al[1]);
                self.set_from_flags(op, d);
            }
            F32Eq | F32Ne | F32Lt | F32Gt | F32Le | F32Ge | F64Eq | F64Ne | F64Lt | F64Gt
            | F64Le | F64Ge => {
                let (a, b, d) = (reg(al[0]), reg(al[1]), reg(al[2]));
                // lt/le compare the other way round so that "unordered" reads as false.
                let (x, y) = match op {
                    F32Lt | F32Le | F64Lt | F64Le => (b, a),
                    _ => (a, b),
                };
                if w {
                    asm!(self; ucomisd Rx(x), Rx(y));
                } else {
                    asm!(self; ucomiss Rx(x), Rx(y));
                }
                // `d` is a general register, the operands XMM: it is free to write here.
                match op {
                    F32Eq | F64Eq => {
                        asm!(self; sete r11b ; setnp Rb(d) ; and Rb(d), r11b ; movzx Rd(d), Rb(d))
                    }
                    F32Ne | F64Ne => {
                        asm!(self; setne r11b ; setp Rb(d) ; or Rb(d), r11b ; movzx Rd(d), Rb(d))
                    }
                    F32Lt | F32Gt | F64Lt | F64Gt => asm!(self; seta r11b ; movzx Rd(d), r11b),
                    _ => asm!(self; setae r11b ; movzx Rd(d), r11b),
                }
            }
            F32Add | F32Sub | F32Mul | F32Div | F64Add | F64Sub | F64Mul | F64Div => {
                let (d, b) = (reg(al[2]), reg(al[1]));
                match op {
                    F32Add => asm!(self; addss Rx(d), Rx(b)),
                    F32Sub => asm!(self; subss Rx(d), Rx(b)),
                    F32Mul => asm!(self; mulss Rx(d), Rx(b)),
                    F32Div => asm!(self; divss Rx(d), Rx(b)),
                    F64Add => asm!(self; addsd Rx(d), Rx(b)),
                    F64Sub => asm!(self; subsd Rx(d), Rx(b)),
                    F64Mul => asm!(self; mulsd Rx(d), Rx(b)),
                    _ => asm!(self; divsd Rx(d), Rx(b)),
                }
            }
            F32Min | F32Max | F64Min | F64Max => {
                self.fminmax(op, reg(al[2]), reg(al[1]));
            }
            F32Copysign => {
                let (d, b) = (reg(al[2]), reg(al[1]));
                // b's sign into xmm15 (scratch), d's magnitude, then both or-ed.
                asm!(self
                    ; movd r11d, Rx(b)
                    ; and r11d, i32::MIN
                    ; movd xmm15, r11d
                    ; movd r11d, Rx(d)
                    ; and r11d, 0x7fff_ffff
                    ; movd Rx(d), r11d
                    ; orps Rx(d), xmm15
                );
            }
            F64Copysign => {
                let (d, b) = (reg(al[2]), reg(al[1]));
                asm!(self
                    ; movq r11, Rx(b)
                    ; shr r11, 63
                    ; shl r11, 63
                    ; movq xmm15, r11
                    ; movq r11, Rx(d)
                    ; btr r11, 63
                    ; movq Rx(d), r11
                    ; orpd Rx(d), xmm15
                );
            }
            F32Abs => {
                let (a, d) = (reg(al[0]), reg(al[1]));
                asm!(self; movd r11d, Rx(a) ; and r11d, 0x7fff_ffff ; movd Rx(d), r11d);
            }
            F32Neg => {
                let (a, d) = (reg(al[0]), reg(al[1]));
                asm!(self; movd r11d, Rx(a) ; xor r11d, i32::MIN ; movd Rx(d), r11d);
            }
            F64Abs => {
                let (a, d) = (reg(al[0]), reg(al[1]));
                asm!(self; movq r11, Rx(a) ; btr r11, 63 ; movq Rx(d), r11);
            }
            F64Neg => {
                let (a, d) = (reg(al[0]), reg(al[1]));
                asm!(self; movq r11, Rx(a) ; btc r11, 63 ; movq Rx(d), r11);
            }
            F32Ceil | F32Floor | F32Trunc | F32Nearest | F64Ceil | F64Floor | F64Trunc
            | F64Nearest => {
                let (a, d) = (reg(al[0]), reg(al[1]));
                let mode: i8 = match op {
                    F32Nearest | F64Nearest => 0,
                    F32Floor | F64Floor => 1,
                    F32Ceil | F64Ceil => 2,
                    _ => 3,
                };
                if w {
                    asm!(self; roundsd Rx(d), Rx(a), mode);
                } else {
                    asm!(self; roundss Rx(d), Rx(a), mode);
                }
            }
            F32Sqrt => asm!(self; sqrtss Rx(reg(al[1])), Rx(reg(al[0]))),
            F64Sqrt => asm!(self; sqrtsd Rx(reg(al[1])), Rx(reg(al[0]))),
            F32DemoteF64 => asm!(self; cvtsd2ss Rx(reg(al[1])), Rx(reg(al[0]))),
            F64PromoteF32 => asm!(self; cvtss2sd Rx(reg(al[1])), Rx(reg(al[0]))),
            I32ReinterpretF32 => asm!(self; movd Rd(reg(al[1])), Rx(reg(al[0]))),
            I64ReinterpretF64 => asm!(self; movq Rq(reg(al[1])), Rx(reg(al[0]))),
            F32ReinterpretI32 => asm!(self; movd Rx(reg(al[1])), Rd(reg(al[0]))),
            F64ReinterpretI64 => asm!(self; movq Rx(reg(al[1])), Rq(reg(al[0]))),
            F32ConvertI32S | F32ConvertI64S | F64ConvertI32S | F64ConvertI64S | F32ConvertI32U
            | F64ConvertI32U | F32ConvertI64U | F64ConvertI64U => {
                self.convert(op, reg(al[0]), reg(al[1]))
            }
            I32TruncF32S | I32TruncF32U | I32TruncF64S | I32TruncF64U | I64TruncF32S
            | I64TruncF32U | I64TruncF64S | I64TruncF64U | I32TruncSatF32S | I32TruncSatF32U
            | I32TruncSatF64S | I32TruncSatF64U | I64TruncSatF32S | I64TruncSatF32U
            | I64TruncSatF64S | I64TruncSatF64U => self.trunc(op, reg(al[0]), reg(al[1])),
            Select => {
                let (b, c, d) = (reg(al[1]), reg(al[2]), reg(al[3]));
                let t = self.func.value_type(args[0]);
                asm!(self; test Rd(c), Rd(c));
                if matches!(t, Type::F32 | Type::F64 | Type::V128) {
                    let skip = self.asm.new_dynamic_label();
                    asm!(self; jnz =>skip ; movaps Rx(d), Rx(b) ; =>skip);
                } else {
                    asm!(self; cmovz Rq(d), Rq(b));
                }
            }
            I32Load | I64Load | F32Load | F64Load | I32Load8S | I32Load8U | I32Load16S
            | I32Load16U | I64Load8S | I64Load8U | I64Load16S | I64Load16U | I64Load32S
            | I64Load32U => {
                let Imm::Mem(m) = data.imm else {
                    return Err("bad load".into());
                };
                let size = op.access_bytes().unwrap_or(8);
                let (src, k) = Self::access_src(self.func, vc, inst, al);
                let Some((x, disp)) =
                    self.address_from(src, m.memory, m.offset, size as u32, m.checked)
                else {
                    return Ok(());
                };
                let d = reg(al[k]);
                self.mark_access();
                match op {
                    I32Load => asm!(self; mov Rd(d), DWORD [r13 + Rq(x) + disp]),
                    I64Load => asm!(self; mov Rq(d), QWORD [r13 + Rq(x) + disp]),
                    F32Load => asm!(self; movss Rx(d), DWORD [r13 + Rq(x) + disp]),
                    F64Load => asm!(self; movsd Rx(d), QWORD [r13 + Rq(x) + disp]),
                    I32Load8S => asm!(self; movsx Rd(d), BYTE [r13 + Rq(x) + disp]),
                    I32Load8U | I64Load8U => {
                        asm!(self; movzx Rd(d), BYTE [r13 + Rq(x) + disp])
                    }
                    I32Load16S => asm!(self; movsx Rd(d), WORD [r13 + Rq(x) + disp]),
                    I32Load16U | I64Load16U => {
                        asm!(self; movzx Rd(d), WORD [r13 + Rq(x) + disp])
                    }
                    I64Load8S => asm!(self; movsx Rq(d), BYTE [r13 + Rq(x) + disp]),
                    I64Load16S => asm!(self; movsx Rq(d), WORD [r13 + Rq(x) + disp]),
                    I64Load32S => asm!(self; movsxd Rq(d), DWORD [r13 + Rq(x) + disp]),
                    _ => asm!(self; mov Rd(d), DWORD [r13 + Rq(x) + disp]),
                }
                // An integer load into the base register changes it.
                if !matches!(op, F32Load | F64Load) && self.r11_index.is_some_and(|s| s.reads(d)) {
                    self.r11_index = None;
                }
            }
            I32Store | I64Store | F32Store | F64Store | I32Store8 | I32Store16 | I64Store8
            | I64Store16 | I64Store32 => {
                let Imm::Mem(m) = data.imm else {
                    return Err("bad store".into());
                };
                let size = op.access_bytes().unwrap_or(8);
                let (src, k) = Self::access_src(self.func, vc, inst, al);
                let Some((x, disp)) =
                    self.address_from(src, m.memory, m.offset, size as u32, m.checked)
                else {
                    return Ok(());
                };
                let v = reg(al[k]);
                self.mark_access();
                match op {
                    I32Store | I64Store32 => asm!(self; mov DWORD [r13 + Rq(x) + disp], Rd(v)),
                    I64Store => asm!(self; mov QWORD [r13 + Rq(x) + disp], Rq(v)),
                    F32Store => asm!(self; movss DWORD [r13 + Rq(x) + disp], Rx(v)),
                    F64Store => asm!(self; movsd QWORD [r13 + Rq(x) + disp], Rx(v)),
                    I32Store8 | I64Store8 => asm!(self; mov BYTE [r13 + Rq(x) + disp], Rb(v)),
                    _ => asm!(self; mov WORD [r13 + Rq(x) + disp], Rw(v)),
                }
            }
            MemorySize => {
                let Imm::Index(mem) = data.imm else {
                    return Err("memory.size without a memory index".into());
                };
                let d = reg(al[0]);
                let l = off::MEMORY_LEN;
                if mem == 0 {
                    let m = off::VMCTX_MEMORY;
                    asm!(self; mov Rq(d), QWORD [r15 + m]);
                } else {
                    let t = off::VMCTX_MEMORIES;
                    let k = mem as i32 * off::CELL;
                    asm!(self; mov Rq(d), QWORD [r15 + t] ; mov Rq(d), QWORD [Rq(d) + k]);
                }
                asm!(self
                    ; mov Rq(d), QWORD [Rq(d) + l]
                    ; shr Rq(d), 16
                );
            }
            MemoryGrow => {
                let Imm::Index(mem) = data.imm else {
                    return Err("memory.grow without a memory index".into());
                };
                // delta is already in rdx (its constraint), the result comes back in eax.
                asm!(self; mov esi, mem as i32);
                self.call_helper(helpers::memory_grow as *const () as usize);
                self.reload_mem_len();
            }
            GlobalGet | GlobalSet => {
                let Imm::Index(gi) = data.imm else {
                    return Err("bad global index".into());
                };
                let go = off::VMCTX_GLOBALS;
                let gd = cell_disp(gi);
                asm!(self; mov r11, QWORD [r15 + go] ; mov r11, QWORD [r11 + gd]);
                if op == GlobalGet {
                    let t = self
                        .func
                        .value_type(self.func.result(inst).ok_or("no result")?);
                    let d = reg(al[0]);
                    match t {
                        Type::V128 => asm!(self; movdqu Rx(d), OWORD [r11]),
                        Type::F32 | Type::F64 => asm!(self; movsd Rx(d), QWORD [r11]),
                        Type::I32 => asm!(self; mov Rd(d), DWORD [r11]),
                        _ => asm!(self; mov Rq(d), QWORD [r11]),
                    }
                } else {
                    let t = self.func.value_type(args[0]);
                    let v = reg(al[0]);
                    match t {
                        Type::V128 => asm!(self; movdqu OWORD [r11], Rx(v)),
                        Type::F32 => asm!(self; movss DWORD [r11], Rx(v)),
                        Type::F64 => asm!(self; movsd QWORD [r11], Rx(v)),
                        Type::I32 => asm!(self; mov QWORD [r11], Rq(v) ; mov DWORD [r11 + 4], 0),
                        _ => asm!(self; mov QWORD [r11], Rq(v)),
                    }
                }
            }
            Call | CallImport => self.call(inst, al)?,
            CallIndirect => self.call_indirect(inst, al)?,
            Invoke | InvokeImport | InvokeIndirect | InvokeRef | Throw | ThrowRef => {
                self.invoke(inst, al, vc, next)?
            }
            Landing => self.landing(inst, al),
            CallRef => self.call_ref(inst, al)?,
            ReturnCall => self.return_call(inst, al)?,
            ReturnCallIndirect => self.return_call_indirect(inst, al)?,
            ReturnCallRef => self.return_call_ref(inst, al)?,
            MemoryFill | MemoryCopy | MemoryInit | DataDrop | ElemDrop | TableGet | TableSet
            | TableSize | TableGrow | TableFill | TableCopy | TableInit | RefFunc => {
                let imms = super::lower::helper_imms(op, data.imm)?;
                for (k, &v) in imms.iter().enumerate() {
                    let r = abi::ARG_REGS[1 + k];
                    asm!(self; mov Rd(r), v as i32);
                }
                let addr = match op {
                    MemoryFill => helpers::memory_fill as *const () as usize,
                    MemoryCopy => helpers::memory_copy as *const () as usize,
                    MemoryInit => helpers::memory_init as *const () as usize,
                    DataDrop => helpers::data_drop as *const () as usize,
                    ElemDrop => helpers::elem_drop as *const () as usize,
                    TableGet => helpers::table_get as *const () as usize,
                    TableSet => helpers::table_set as *const () as usize,
                    TableSize => helpers::table_size as *const () as usize,
                    TableGrow => helpers::table_grow as *const () as usize,
                    TableFill => helpers::table_fill as *const () as usize,
                    TableCopy => helpers::table_copy as *const () as usize,
                    TableInit => helpers::table_init as *const () as usize,
                    _ => helpers::ref_func as *const () as usize,
                };
                self.call_helper(addr);
                let stub = self.trap_exit();
                match op {
                    // A value or a trap code in rdx.
                    TableGet => {
                        let ok = self.asm.new_dynamic_label();
                        asm!(self; test edx, edx ; jz =>ok ; mov eax, edx ; jmp =>stub ; =>ok);
                    }
                    DataDrop | ElemDrop | TableSize | TableGrow | RefFunc => {}
                    _ => asm!(self; test eax, eax ; jnz =>stub),
                }
                self.reload_mem_len();
            }
            Trapz | Trapnz => {
                let (c, Imm::Trap(code)) = (reg(al[0]), data.imm) else {
                    return Err("bad trap".into());
                };
                let l = self.trap_label(code);
                if w {
                    asm!(self; test Rq(c), Rq(c));
                } else {
                    asm!(self; test Rd(c), Rd(c));
                }
                if op == Trapz {
                    asm!(self; jz =>l);
                } else {
                    asm!(self; jnz =>l);
                }
            }
            Interrupt => self.interruption_point(),
            V128Const => self.v128_const(inst, al)?,
            Simd => self.simd(inst, al)?,
            I8x16Shuffle => self.shuffle(inst, al)?,
            SimdLoad | SimdStore => self.simd_memory(inst, al)?,
            Trap => {
                let Imm::Trap(code) = data.imm else {
                    return Err("bad trap".into());
                };
                let l = self.trap_label(code);
                asm!(self; jmp =>l);
            }
            Jump => {
                let t = self.target(vc, inst, 0);
                self.jump_to(t, next);
            }
            BrIf => {
                let c = reg(al[0]);
                let (t, e) = (self.target(vc, inst, 0), self.target(vc, inst, 1));
                asm!(self; test Rd(c), Rd(c));
                if t as usize == next {
                    let l = self.blocks[e as usize];
                    asm!(self; jz =>l);
                } else {
                    let l = self.blocks[t as usize];
                    asm!(self; jnz =>l);
                    self.jump_to(e, next);
                }
            }
            BrTable => {
                // Bounds-checked, then one indirect jump through a table of 32-bit offsets
                // from the table's start (after the function's code). Critical edges are
                // split, so every target is a block whose moves are its own.
                let (c, t) = (reg(al[0]), reg(al[1]));
                let n = self.func.targets(inst).len() - 1;
                let default = self.target(vc, inst, n);
                let dl = self.blocks[default as usize];
                let table = match self.jump_tables.iter().find(|j| j.0 == inst) {
                    Some(j) => j.1,
                    None => {
                        let table = self.asm.new_dynamic_label();
                        let targets = (0..n)
                            .map(|k| self.blocks[self.target(vc, inst, k) as usize])
                            .collect();
                        self.jump_tables.push((inst, table, targets));
                        table
                    }
                };
                // An index proved zero-extended (`lower::zero_extended`) indexes the table
                // itself; another is zero-extended into the temporary first.
                let x = if vc.zext[self.func.resolve(args[0]).index()] {
                    c
                } else {
                    asm!(self; mov Rd(t), Rd(c));
                    t
                };
                asm!(self
                    ; cmp Rd(x), n as i32
                    ; jae =>dl
                    ; lea r11, [=>table]
                    ; movsxd Rq(t), DWORD [r11 + Rq(x) * 4]
                    ; add r11, Rq(t)
                    ; jmp r11
                );
            }
            Return => {
                let mut cell = 0;
                for (k, &a) in al.iter().enumerate() {
                    let t = self.func.value_type(args[k]);
                    self.store_cell(a, cell_disp(cell), t);
                    cell += t.cells();
                }
                self.restore_saved();
                asm!(self; pop rbp ; ret);
            }
        }
        Ok(())
    }

    /// An ALU op reading folded load `load` from memory (`lower::load_folds`): operands
    /// the other value (the result's register), the load's address operands, the result.
    /// The access faults at this instruction, which the trap table maps to the load's
    /// wasm offset; in explicit mode the load's check comes right before it.
    fn mem_operand_op(
        &mut self,
        inst: Inst,
        load: Inst,
        al: &[Allocation],
        vc: &VCode,
    ) -> Result<(), String> {
        use Opcode::*;
        let op = self.func.inst(inst).opcode;
        if super::lower::is_int_compare(op) {
            // The 0/1 result after the compare (`eqz` sets on equal to 0).
            let d = reg(al[al.len() - 1]);
            self.compare_flags(inst, &al[..al.len() - 1], vc);
            let set = if matches!(op, I32Eqz | I64Eqz) {
                I32Eq
            } else {
                op
            };
            self.set_from_flags(set, d);
            // The result may be in the address's base register.
            if self.r11_index.is_some_and(|s| s.reads(d)) {
                self.r11_index = None;
            }
            return Ok(());
        }
        let ld = *self.func.inst(load);
        let Imm::Mem(m) = ld.imm else {
            return Err("bad folded load".into());
        };
        let (src, k) = Self::access_src(self.func, vc, load, &al[1..]);
        let d = reg(al[1 + k]);
        if d != reg(al[0]) {
            return Err("memory-operand op: result not in its operand's register".into());
        }
        let at = self.wasm_at;
        if let Some(w) = self.func.srcloc(load) {
            self.wasm_at = w;
        }
        let size = ld.opcode.access_bytes().unwrap_or(8) as u32;
        if let Some((x, disp)) = self.address_from(src, m.memory, m.offset, size, m.checked) {
            self.mark_access();
            match op {
                I32Add => asm!(self; add Rd(d), DWORD [r13 + Rq(x) + disp]),
                I32Sub => asm!(self; sub Rd(d), DWORD [r13 + Rq(x) + disp]),
                I32Mul => asm!(self; imul Rd(d), DWORD [r13 + Rq(x) + disp]),
                I32And => asm!(self; and Rd(d), DWORD [r13 + Rq(x) + disp]),
                I32Or => asm!(self; or Rd(d), DWORD [r13 + Rq(x) + disp]),
                I32Xor => asm!(self; xor Rd(d), DWORD [r13 + Rq(x) + disp]),
                I64Add => asm!(self; add Rq(d), QWORD [r13 + Rq(x) + disp]),
                I64Sub => asm!(self; sub Rq(d), QWORD [r13 + Rq(x) + disp]),
                I64Mul => asm!(self; imul Rq(d), QWORD [r13 + Rq(x) + disp]),
                I64And => asm!(self; and Rq(d), QWORD [r13 + Rq(x) + disp]),
                I64Or => asm!(self; or Rq(d), QWORD [r13 + Rq(x) + disp]),
                I64Xor => asm!(self; xor Rq(d), QWORD [r13 + Rq(x) + disp]),
                F32Add => asm!(self; addss Rx(d), DWORD [r13 + Rq(x) + disp]),
                F32Sub => asm!(self; subss Rx(d), DWORD [r13 + Rq(x) + disp]),
                F32Mul => asm!(self; mulss Rx(d), DWORD [r13 + Rq(x) + disp]),
                F32Div => asm!(self; divss Rx(d), DWORD [r13 + Rq(x) + disp]),
                F64Add => asm!(self; addsd Rx(d), QWORD [r13 + Rq(x) + disp]),
                F64Sub => asm!(self; subsd Rx(d), QWORD [r13 + Rq(x) + disp]),
                F64Mul => asm!(self; mulsd Rx(d), QWORD [r13 + Rq(x) + disp]),
                F64Div => asm!(self; divsd Rx(d), QWORD [r13 + Rq(x) + disp]),
                _ => return Err(format!("{op}: no memory-operand form")),
            }
            // An integer result in the address's base register changes it.
            let int = !matches!(op, F32Add | F32Sub | F32Mul | F32Div)
                && !matches!(op, F64Add | F64Sub | F64Mul | F64Div);
            if int && self.r11_index.is_some_and(|s| s.reads(d)) {
                self.r11_index = None;
            }
        }
        self.wasm_at = at;
        Ok(())
    }

    /// A store of `op(load, x)` to the load's address as one read-modify-write instruction
    /// (`lower::rmw_folds`): `add [r13 + r11 + d], x` (or an immediate `x`), the width of the
    /// store. Operands: `x` when it is a register, then the address operands. The access
    /// is the load's: its wasm offset in the trap table, its explicit check (which covers
    /// the store, the same address and size) right before it.
    fn rmw_store(
        &mut self,
        store: Inst,
        r: super::lower::Rmw,
        al: &[Allocation],
        vc: &VCode,
    ) -> Result<(), String> {
        use Opcode::*;
        let sd = *self.func.inst(store);
        let ld = *self.func.inst(r.load);
        let (Imm::Mem(sm), Imm::Mem(lm)) = (sd.imm, ld.imm) else {
            return Err("bad read-modify-write".into());
        };
        let op = self.func.inst(r.op).opcode;
        let imm = super::lower::imm_operand(self.func, r.op);
        let (x, addr) = match imm {
            Some(_) => (0, al),
            None => (reg(al[0]), &al[1..]),
        };
        let (src, _) = Self::access_src(self.func, vc, store, addr);
        let at = self.wasm_at;
        if let Some(w) = self.func.srcloc(r.load) {
            self.wasm_at = w;
        }
        let size = sd.opcode.access_bytes().unwrap_or(8) as u32;
        let checked = lm.checked || sm.checked;
        if let Some((b, d)) = self.address_from(src, sm.memory, sm.offset, size, checked) {
            self.mark_access();
            // The op's x86 form: 0 add, 1 or, 4 and, 5 sub, 6 xor (the ALU group), shifts
            // apart.
            let alu = match op {
                I32Add | I64Add => Some(0),
                I32Or | I64Or => Some(1),
                I32And | I64And => Some(4),
                I32Sub | I64Sub => Some(5),
                I32Xor | I64Xor => Some(6),
                _ => None,
            };
            match (alu, imm, size) {
                (Some(k), Some(i), _) => self.rmw_alu_imm(k, size, b, d, i),
                (Some(k), None, _) => self.rmw_alu_reg(k, size, b, d, x),
                (None, Some(i), 4) => {
                    let c = (i & 31) as i8;
                    match op {
                        I32Shl => asm!(self; shl DWORD [r13 + Rq(b) + d], c),
                        I32ShrS => asm!(self; sar DWORD [r13 + Rq(b) + d], c),
                        I32ShrU => asm!(self; shr DWORD [r13 + Rq(b) + d], c),
                        _ => return Err(format!("{op}: no read-modify-write form")),
                    }
                }
                (None, Some(i), 8) => {
                    let c = (i & 63) as i8;
                    match op {
                        I64Shl => asm!(self; shl QWORD [r13 + Rq(b) + d], c),
                        I64ShrS => asm!(self; sar QWORD [r13 + Rq(b) + d], c),
                        I64ShrU => asm!(self; shr QWORD [r13 + Rq(b) + d], c),
                        _ => return Err(format!("{op}: no read-modify-write form")),
                    }
                }
                _ => return Err(format!("{op}: no read-modify-write form")),
            }
        }
        self.wasm_at = at;
        Ok(())
    }

    /// `OP size [r13 + b + d], imm` for ALU op `k` (x86's group-1 numbering).
    fn rmw_alu_imm(&mut self, k: u8, size: u32, b: u8, d: i32, i: i32) {
        macro_rules! ops {
            ($w:ident, $v:expr) => {
                match k {
                    0 => asm!(self; add $w [r13 + Rq(b) + d], $v),
                    1 => asm!(self; or $w [r13 + Rq(b) + d], $v),
                    4 => asm!(self; and $w [r13 + Rq(b) + d], $v),
                    5 => asm!(self; sub $w [r13 + Rq(b) + d], $v),
                    _ => asm!(self; xor $w [r13 + Rq(b) + d], $v),
                }
            };
        }
        // A narrow store keeps the low bits, which only the immediate's low bits decide.
        match size {
            1 => ops!(BYTE, i as i8),
            2 => ops!(WORD, i as i16),
            4 => ops!(DWORD, i),
            _ => ops!(QWORD, i),
        }
    }

    /// `OP size [r13 + b + d], x` for ALU op `k` (x86's group-1 numbering).
    fn rmw_alu_reg(&mut self, k: u8, size: u32, b: u8, d: i32, x: u8) {
        macro_rules! ops {
            ($w:ident, $r:ident) => {
                match k {
                    0 => asm!(self; add $w [r13 + Rq(b) + d], $r(x)),
                    1 => asm!(self; or $w [r13 + Rq(b) + d], $r(x)),
                    4 => asm!(self; and $w [r13 + Rq(b) + d], $r(x)),
                    5 => asm!(self; sub $w [r13 + Rq(b) + d], $r(x)),
                    _ => asm!(self; xor $w [r13 + Rq(b) + d], $r(x)),
                }
            };
        }
        match size {
            1 => ops!(BYTE, Rb),
            2 => ops!(WORD, Rw),
            4 => ops!(DWORD, Rd),
            _ => ops!(QWORD, Rq),
        }
    }

    /// The flags of integer compare `cmp` (operands in `al`); returns its condition as the
    /// x86 `jcc`/`cmovcc` low nibble (the condition under which the compare is true).
    fn compare_flags(&mut self, cmp: Inst, al: &[Allocation], vc: &VCode) -> u8 {
        let op = self.func.inst(cmp).opcode;
        let w = is64(self.func.value_type(self.func.args(cmp)[0]));
        let imm = super::lower::imm_operand(self.func, cmp);
        if let Some(load) = vc.mem_operand[cmp.index()] {
            self.compare_memory(cmp, load, al, vc, w, imm);
            return compare_cc(op);
        }
        let a = reg(al[0]);
        if op == Opcode::I32And {
            // `i32.and` as a condition (`lower::fused_compare`): true when nonzero.
            match (imm, al.get(1).map(|b| b.as_reg())) {
                (Some(i), _) => asm!(self; test Rd(a), i),
                (None, Some(Some(b))) => asm!(self; test Rd(a), Rd(b.hw_enc() as u8)),
                (None, Some(None)) => {
                    let m = self.slot_disp(al[1]);
                    asm!(self; test DWORD [r14 + m], Rd(a));
                }
                (None, None) => asm!(self; test Rd(a), Rd(a)),
            }
            return 0x5;
        }
        match (al.len(), w) {
            // `test a, a` sets the flags every condition reads as `cmp a, 0` does (CF and
            // OF clear), in fewer bytes.
            (1, false) if imm == Some(0) => asm!(self; test Rd(a), Rd(a)),
            (1, true) if imm == Some(0) => asm!(self; test Rq(a), Rq(a)),
            (1, false) if imm.is_some() => asm!(self; cmp Rd(a), imm.unwrap_or(0)),
            (1, true) if imm.is_some() => asm!(self; cmp Rq(a), imm.unwrap_or(0)),
            (1, false) => asm!(self; test Rd(a), Rd(a)),
            (1, true) => asm!(self; test Rq(a), Rq(a)),
            _ => self.cmp_operands(w, al[0], al[1]),
        }
        compare_cc(op)
    }

    /// `cmp` with folded load `load` as one operand (`lower::load_folds`): `cmp r, [m]`,
    /// `cmp [m], r` or `cmp [m], imm` (`eqz`: 0), the operand order kept. Operands: the
    /// other one (when it is a register), then the load's address operands. The access
    /// faults at the `cmp`, mapped to the load's wasm offset.
    fn compare_memory(
        &mut self,
        cmp: Inst,
        load: Inst,
        al: &[Allocation],
        vc: &VCode,
        w: bool,
        imm: Option<i32>,
    ) {
        let args = self.func.args(cmp);
        let lv = self.func.result(load).map(|v| self.func.resolve(v));
        let load_first = Some(self.func.resolve(args[0])) == lv;
        let (other, addr) = if args.len() == 2 && imm.is_none() {
            (Some(reg(al[0])), &al[1..])
        } else {
            (None, al)
        };
        let (src, _) = Self::access_src(self.func, vc, load, addr);
        let Imm::Mem(m) = self.func.inst(load).imm else {
            return;
        };
        let size = self.func.inst(load).opcode.access_bytes().unwrap_or(8) as u32;
        let at = self.wasm_at;
        if let Some(w) = self.func.srcloc(load) {
            self.wasm_at = w;
        }
        if let Some((x, disp)) = self.address_from(src, m.memory, m.offset, size, m.checked) {
            self.mark_access();
            let i = imm.unwrap_or(0);
            match (other, load_first, w) {
                (Some(o), false, false) => asm!(self; cmp Rd(o), DWORD [r13 + Rq(x) + disp]),
                (Some(o), false, true) => asm!(self; cmp Rq(o), QWORD [r13 + Rq(x) + disp]),
                (Some(o), true, false) => asm!(self; cmp DWORD [r13 + Rq(x) + disp], Rd(o)),
                (Some(o), true, true) => asm!(self; cmp QWORD [r13 + Rq(x) + disp], Rq(o)),
                (None, _, false) => asm!(self; cmp DWORD [r13 + Rq(x) + disp], i),
                (None, _, true) => asm!(self; cmp QWORD [r13 + Rq(x) + disp], i),
            }
        }
        self.wasm_at = at;
    }
}

/// The condition of integer compare `op` as the x86 `jcc`/`cmovcc`/`setcc` low nibble (the
/// condition under which the compare is true, after `cmp a, b` or `test a, a`).
fn compare_cc(op: Opcode) -> u8 {
    use Opcode::*;
    match op {
        I32Eqz | I64Eqz | I32Eq | I64Eq => 0x4,
        I32Ne | I64Ne => 0x5,
        I32LtU | I64LtU => 0x2,
        I32GeU | I64GeU => 0x3,
        I32LeU | I64LeU => 0x6,
        I32GtU | I64GtU => 0x7,
        I32LtS | I64LtS => 0xc,
        I32GeS | I64GeS => 0xd,
        I32LeS | I64LeS => 0xe,
        _ => 0xf,
    }
}

impl Gen<'_> {
    /// `cmp a, b` for integer compares: `a` in a register, `b` in one or in its spill cell.
    fn cmp_operands(&mut self, w: bool, a: Allocation, b: Allocation) {
        let a = reg(a);
        match (b.as_reg(), w) {
            (Some(b), false) => asm!(self; cmp Rd(a), Rd(b.hw_enc() as u8)),
            (Some(b), true) => asm!(self; cmp Rq(a), Rq(b.hw_enc() as u8)),
            (None, false) => {
                let m = self.slot_disp(b);
                asm!(self; cmp Rd(a), DWORD [r14 + m]);
            }
            (None, true) => {
                let m = self.slot_disp(b);
                asm!(self; cmp Rq(a), QWORD [r14 + m]);
            }
        }
    }

    /// `select a, b, (cmp ...)`: the result (in `a`'s register) takes `b` when the compare
    /// is false. Operands: a, b, the compare's, the result.
    fn fused_select(&mut self, sel: Inst, cmp: Inst, al: &[Allocation], vc: &VCode) {
        let (b, d) = (reg(al[1]), reg(al[al.len() - 1]));
        let cc = self.compare_flags(cmp, &al[2..al.len() - 1], vc);
        if matches!(
            self.func.value_type(self.func.args(sel)[0]),
            Type::F32 | Type::F64 | Type::V128
        ) {
            let keep = self.asm.new_dynamic_label();
            self.jcc(cc, keep);
            asm!(self; movaps Rx(d), Rx(b) ; =>keep);
        } else {
            self.cmovcc(cc ^ 1, d, b);
        }
    }

    /// `cmovcc d, s` (64-bit) by condition nibble.
    fn cmovcc(&mut self, cc: u8, d: u8, s: u8) {
        match cc {
            0x2 => asm!(self; cmovb Rq(d), Rq(s)),
            0x3 => asm!(self; cmovae Rq(d), Rq(s)),
            0x4 => asm!(self; cmove Rq(d), Rq(s)),
            0x5 => asm!(self; cmovne Rq(d), Rq(s)),
            0x6 => asm!(self; cmovbe Rq(d), Rq(s)),
            0x7 => asm!(self; cmova Rq(d), Rq(s)),
            0xc => asm!(self; cmovl Rq(d), Rq(s)),
            0xd => asm!(self; cmovge Rq(d), Rq(s)),
            0xe => asm!(self; cmovle Rq(d), Rq(s)),
            _ => asm!(self; cmovg Rq(d), Rq(s)),
        }
    }

    /// `br_if` on the flags of integer compare `cmp` (its operands are this branch's).
    fn fused_br_if(&mut self, br: Inst, cmp: Inst, al: &[Allocation], vc: &VCode, next: usize) {
        let cc = self.compare_flags(cmp, al, vc);
        let (t, e) = (self.target(vc, br, 0), self.target(vc, br, 1));
        if t as usize == next {
            let l = self.blocks[e as usize];
            self.jcc(cc ^ 1, l);
        } else {
            let l = self.blocks[t as usize];
            self.jcc(cc, l);
            self.jump_to(e, next);
        }
    }

    /// `jcc` by condition nibble (x86 pairs each condition with its negation at `cc ^ 1`).
    fn jcc(&mut self, cc: u8, l: DynamicLabel) {
        match cc {
            0x2 => asm!(self; jb =>l),
            0x3 => asm!(self; jae =>l),
            0x4 => asm!(self; je =>l),
            0x5 => asm!(self; jne =>l),
            0x6 => asm!(self; jbe =>l),
            0x7 => asm!(self; ja =>l),
            0xc => asm!(self; jl =>l),
            0xd => asm!(self; jge =>l),
            0xe => asm!(self; jle =>l),
            _ => asm!(self; jg =>l),
        }
    }

    /// An ALU op, multiply, shift or compare with a constant second operand; `d` is the
    /// result (the same register as `a` except for compares, add, sub and multiply).
    fn imm_form(&mut self, op: Opcode, a: u8, i: i32, d: u8) {
        use Opcode::*;
        let sh = (i & 63) as i8;
        match op {
            I32Add | I32Sub | I64Add | I64Sub if d != a => {
                // x - c = x + (-c); for i32 even -i32::MIN is right modulo 2^32.
                let wide = matches!(op, I64Add | I64Sub);
                let c = if matches!(op, I32Sub | I64Sub) {
                    i.wrapping_neg()
                } else {
                    i
                };
                if !wide {
                    asm!(self; lea Rd(d), [Rq(a) + c]);
                } else if op == I64Sub && i == i32::MIN {
                    asm!(self; mov Rq(d), Rq(a) ; sub Rq(d), i);
                } else {
                    asm!(self; lea Rq(d), [Rq(a) + c]);
                }
            }
            I32Mul => asm!(self; imul Rd(d), Rd(a), i),
            I64Mul => asm!(self; imul Rq(d), Rq(a), i),
            I32Add => asm!(self; add Rd(d), i),
            I32Sub => asm!(self; sub Rd(d), i),
            I32And => asm!(self; and Rd(d), i),
            I32Or => asm!(self; or Rd(d), i),
            I32Xor => asm!(self; xor Rd(d), i),
            I64Add => asm!(self; add Rq(d), i),
            I64Sub => asm!(self; sub Rq(d), i),
            I64And => asm!(self; and Rq(d), i),
            I64Or => asm!(self; or Rq(d), i),
            I64Xor => asm!(self; xor Rq(d), i),
            I32Shl => asm!(self; shl Rd(d), sh & 31),
            I32ShrS => asm!(self; sar Rd(d), sh & 31),
            I32ShrU => asm!(self; shr Rd(d), sh & 31),
            I32Rotl => asm!(self; rol Rd(d), sh & 31),
            I32Rotr => asm!(self; ror Rd(d), sh & 31),
            I64Shl => asm!(self; shl Rq(d), sh),
            I64ShrS => asm!(self; sar Rq(d), sh),
            I64ShrU => asm!(self; shr Rq(d), sh),
            I64Rotl => asm!(self; rol Rq(d), sh),
            I64Rotr => asm!(self; ror Rq(d), sh),
            _ => {
                if matches!(
                    op,
                    I64Eq
                        | I64Ne
                        | I64LtS
                        | I64LtU
                        | I64GtS
                        | I64GtU
                        | I64LeS
                        | I64LeU
                        | I64GeS
                        | I64GeU
                ) {
                    asm!(self; cmp Rq(a), i);
                } else {
                    asm!(self; cmp Rd(a), i);
                }
                self.set_from_flags(op, d);
            }
        }
    }

    fn mov_imm(&mut self, d: u8, v: u64) {
        if v == 0 {
            asm!(self; xor Rd(d), Rd(d));
        } else if v >> 32 == 0 {
            asm!(self; mov Rd(d), v as u32 as i32);
        } else if v as i64 == v as i32 as i64 {
            asm!(self; mov Rq(d), v as i32);
        } else {
            asm!(self; mov Rq(d), QWORD v as i64);
        }
    }

    /// Leaves in r11 the address relative to r13 (memory 0's base) of an access of `size`
    /// bytes at `a + offset` in 32-bit memory `mem`, after its bounds check (explicit mode,
    /// `checked`); returns the displacement for `[r13 + Rq(x) + disp]`, or `None` when the
    /// access always traps. A memory other than 0 has its base and length read through
    /// `VMContext.memories` (docs/abi.md §2). Consecutive memory-0 accesses off the same
    /// index register share r11's zero-extension (`r11_index`).
    fn address(&mut self, a: u8, mem: u32, offset: u64, size: u32, checked: bool) -> Option<i32> {
        // Not `zext`: the index register is r11.
        self.address_from(AddrSrc::reg(a), mem, offset, size, checked)
            .map(|(_, disp)| disp)
    }

    /// A scalar load's or store's address source (its folded form, `VCode::addr`, or its
    /// first operand) and the index of its allocation after the address operands.
    fn access_src(func: &Function, vc: &VCode, inst: Inst, al: &[Allocation]) -> (AddrSrc, usize) {
        match vc.addr[inst.index()] {
            Some(f) if f.index => (
                AddrSrc {
                    base: reg(al[0]),
                    index: Some((reg(al[1]), f.scale)),
                    disp: f.disp,
                    zext: false,
                },
                2,
            ),
            Some(f) => (
                AddrSrc {
                    base: reg(al[0]),
                    index: None,
                    disp: f.disp,
                    zext: false,
                },
                1,
            ),
            None => (
                AddrSrc {
                    zext: func
                        .args(inst)
                        .first()
                        .is_some_and(|&a| vc.zext[func.resolve(a).index()]),
                    ..AddrSrc::reg(reg(al[0]))
                },
                1,
            ),
        }
    }

    /// Records the next instruction as a memory access: in guard-page mode its fault is an
    /// out-of-bounds trap at the current wasm offset.
    fn mark_access(&mut self) {
        let site = self.asm.offset().0 as u32;
        self.traps.push((site, TrapCode::MemoryOutOfBounds));
        self.wasm_offsets.push((site, self.wasm_at));
    }

    /// `address` with r11 computed from `src` (a 32-bit `lea` for a folded address: the
    /// sum wraps at 2^32 and is zero-extended, as wasm's i32 arithmetic wants).
    fn address_from(
        &mut self,
        src: AddrSrc,
        mem: u32,
        offset: u64,
        size: u32,
        checked: bool,
    ) -> Option<(u8, i32)> {
        self.r13_used = true;
        let a = src.base;
        if self
            .module
            .memories
            .get(mem as usize)
            .is_some_and(|m| m.memory64)
        {
            return self
                .address64(a, mem, offset, size, checked)
                .map(|d| (11, d));
        }
        let end = offset + size as u64;
        if src.zext && mem == 0 && src.index.is_none() && src.disp == 0 && end <= i32::MAX as u64 {
            // The index register holds the address zero-extended (proved in the IR,
            // `lower::zero_extended`): `[r13 + a + offset]` stays below 2^32 + 2^31.
            if !(self.explicit && checked) {
                return Some((a, offset as i32));
            }
            // r11 = index + offset + size in one `lea`, or adjusted from the last check.
            let e = end as i64;
            if self.r11_index == Some(src) {
                if e != self.r11_bias {
                    asm!(self; lea r11, [r11 + (e - self.r11_bias) as i32]);
                }
            } else {
                asm!(self; lea r11, [Rq(a) + e as i32]);
                self.r11_index = Some(src);
            }
            self.r11_bias = e;
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self
                ; cmp r11, r12
                ; ja =>oob
            );
            return Some((11, (offset as i64 - e) as i32));
        }
        if mem != 0 || self.r11_index != Some(src) {
            let d = src.disp;
            match src.index {
                None if d == 0 => asm!(self; mov r11d, Rd(a)),
                None => asm!(self; lea r11d, [Rq(a) + d]),
                Some((i, 0)) => asm!(self; lea r11d, [Rq(a) + Rq(i) + d]),
                Some((i, 1)) => asm!(self; lea r11d, [Rq(a) + Rq(i) * 2 + d]),
                Some((i, 2)) => asm!(self; lea r11d, [Rq(a) + Rq(i) * 4 + d]),
                Some((i, _)) => asm!(self; lea r11d, [Rq(a) + Rq(i) * 8 + d]),
            }
            self.r11_index = Some(src);
            self.r11_bias = 0;
        }
        if end > u32::MAX as u64 + 1 {
            // Beyond any 32-bit memory: the access always traps.
            let l = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self; jmp =>l);
            self.r11_index = None;
            return None;
        }
        // r11 = index + bias; the access is at `[r13 + r11 + offset - bias]`.
        let mut bias = self.r11_bias;
        let offset = offset as i64;
        if end > i32::MAX as u64 {
            // The offset is no displacement: add it (below 2^32) in sign-extended steps.
            let mut rest = offset - bias;
            while rest != 0 {
                let step = rest.clamp(i32::MIN as i64, i32::MAX as i64);
                asm!(self; add r11, step as i32);
                rest -= step;
            }
            self.r11_index = None;
            bias = offset;
        }
        if mem != 0 {
            self.other_memory(mem, (end as i64 - bias) as i32, self.explicit && checked);
            // r11 now holds a rebased address, not the index.
            self.r11_index = None;
        } else if self.explicit && checked {
            // r11 = index + offset + size (no wrap: the index is below 2^32), against the
            // length; the next access off the same index adjusts it.
            let e = end as i64;
            if e != bias {
                asm!(self; lea r11, [r11 + (e - bias) as i32]);
            }
            bias = e;
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self
                ; cmp r11, r12
                ; ja =>oob
            );
        }
        self.r11_bias = bias;
        Some((11, (offset - bias) as i32))
    }

    /// `address` for a 64-bit memory (memory64, any index): the index is used whole and,
    /// the guard region covering no 64-bit index, the access is checked in both bounds modes
    /// unless the mid-end proved the check redundant (`checked` false: a dominating check
    /// covered it). `index + offset + size` never wraps: past 2^64 is out of bounds.
    fn address64(&mut self, a: u8, mem: u32, offset: u64, size: u32, checked: bool) -> Option<i32> {
        // r11 holds the whole index now, then an address: nothing to share.
        self.r11_index = None;
        let Some(end) = offset.checked_add(u64::from(size)) else {
            let l = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self; jmp =>l);
            return None;
        };
        asm!(self; mov r11, Rq(a));
        let mut disp = offset;
        if end > i32::MAX as u64 {
            // The offset does not fit a displacement: add it, a carry is out of bounds.
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self
                ; mov r10, QWORD offset as i64
                ; add r11, r10
                ; jc =>oob
            );
            disp = 0;
        }
        if checked {
            // r11 > len - (disp + size), or len < disp + size: out of bounds. With the
            // offset still a displacement, r11 + offset cannot wrap past the check.
            let e = (disp + u64::from(size)) as i32;
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            if mem == 0 && self.len_in_r12 {
                asm!(self; mov r10, r12);
            } else {
                let l = off::MEMORY_LEN;
                self.memory_definition(mem);
                asm!(self; mov r10, QWORD [r10 + l]);
            }
            asm!(self
                ; sub r10, e
                ; jb =>oob
                ; cmp r11, r10
                ; ja =>oob
            );
        }
        if mem != 0 {
            // Relative to r13 (memory 0's base), so the access keeps its one addressing
            // form; the arithmetic wraps.
            let b = off::MEMORY_BASE;
            self.memory_definition(mem);
            asm!(self
                ; mov r10, QWORD [r10 + b]
                ; sub r10, r13
                ; add r11, r10
            );
        }
        Some(disp as i32)
    }

    /// `r10` = the `VMMemoryDefinition` of memory `mem`.
    fn memory_definition(&mut self, mem: u32) {
        let t = off::VMCTX_MEMORIES;
        let k = mem as i32 * off::CELL;
        asm!(self; mov r10, QWORD [r15 + t] ; mov r10, QWORD [r10 + k]);
    }

    /// For an access to memory `mem` (not 0) whose index is in r11 and which ends `end` bytes
    /// past it: the bounds check against that memory's length (`check`), then r11 rebased
    /// so that `[r13 + Rq(x) + disp]` addresses that memory (the arithmetic wraps).
    fn other_memory(&mut self, mem: u32, end: i32, check: bool) {
        let l = off::MEMORY_LEN;
        let b = off::MEMORY_BASE;
        if check {
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            self.memory_definition(mem);
            asm!(self
                ; mov r10, QWORD [r10 + l]
                ; sub r10, end
                ; jb =>oob
                ; cmp r11, r10
                ; ja =>oob
            );
        }
        self.memory_definition(mem);
        asm!(self
            ; mov r10, QWORD [r10 + b]
            ; sub r10, r13
            ; add r11, r10
        );
    }

    /// `rcx` = the `call_indirect` table index kept in the frame cell at `disp`: its low
    /// half for a 32-bit table, all of it for a 64-bit one.
    fn load_table_index(&mut self, disp: i32, table64: bool) {
        if table64 {
            asm!(self; mov rcx, QWORD [r14 + disp]);
        } else {
            asm!(self; mov ecx, DWORD [r14 + disp]);
        }
    }

    fn call_helper(&mut self, addr: usize) {
        self.calls_out = true;
        let rt = off::VMCTX_RUNTIME;
        let jit_fp = off::RUNTIME_JIT_FP;
        asm!(self
            ; mov rdi, r15
            ; mov r11, QWORD [r15 + rt]
            ; mov QWORD [r11 + jit_fp], rbp
            ; mov r11, QWORD addr as i64
            ; call r11
        );
        self.call_site();
    }

    /// `inst`'s results, from consecutive cells starting at `base`, into their allocations
    /// `al`: a call's (where every callee leaves them, docs/abi.md §3) or a landing pad's.
    pub(super) fn load_results(&mut self, inst: Inst, al: &[Allocation], base: u32) {
        let mut cell = base;
        for (k, r) in self.func.results(inst).enumerate() {
            let t = self.func.value_type(r);
            self.load_cell(al[k], cell_disp(cell), t);
            cell += t.cells();
        }
    }

    fn call(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        // A call, or an invoke (`exn.rs`) of the same callee.
        let f = match self.func.inst(inst).imm {
            Imm::Index(f) => f,
            Imm::Invoke(i) => i.index,
            _ => return Err("bad call".into()),
        };
        let args = self.func.args(inst);
        let base = self.call_base;
        let imported = self.module.num_imported_funcs;
        // A defined callee gets its first arguments in registers (already there: fixed
        // uses), the rest in cells; an import gets every argument in cells.
        let regs = if f >= imported {
            arg_regs(self.module.func_type(f).params())
        } else {
            Vec::new()
        };
        let mut cell = base;
        for (k, &a) in args.iter().enumerate() {
            let t = self.func.value_type(a);
            if regs.get(k).copied().flatten().is_none() {
                self.store_cell(al[k], cell_disp(cell), t);
            }
            cell += t.cells();
        }
        let shift = cell_disp(base);
        self.calls_out = true;
        if f >= imported {
            let slots = off::VMCTX_REG_SLOTS;
            let def = cell_disp(f - imported);
            let def_index = (f - imported) as i32;
            asm!(self
                ; mov r11, QWORD [r15 + slots]
                ; mov eax, def_index
                ; lea r14, [r14 + shift]
                ; call QWORD [r11 + def]
            );
            self.calls.push((self.asm.offset().0 as u32, shift));
            self.call_site();
            asm!(self; lea r14, [r14 - shift]);
        } else {
            asm!(self
                ; mov esi, f as i32
                ; lea rdx, [r14 + shift]
            );
            self.call_helper(helpers::call_import as *const () as usize);
            let l = self.trap_exit();
            asm!(self; test eax, eax ; jnz =>l);
        }
        self.reload_mem_len();
        self.load_results(inst, &al[args.len()..], base);
        Ok(())
    }

    /// `call_indirect`: a same-instance callee of the right signature is found inline
    /// (`inline_resolve`) and its code slot called directly; anything else takes the cold
    /// path (`cold_call`): `resolve_indirect` traps or finds the callee, and the
    /// `call_indirect` helper runs another instance's or a host function. The table index
    /// goes to the cell after the arguments only on the cold path (the helpers read it
    /// there), unless it is in a register the inline sequence uses.
    fn call_indirect(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        let (type_index, table) = match self.func.inst(inst).imm {
            Imm::Index2(t, table) => (t, table),
            Imm::Invoke(i) => (i.index, i.index2),
            _ => return Err("bad call_indirect".into()),
        };
        self.calls_out = true;
        let args = self.func.args(inst);
        let n = args.len() - 1;
        let base = self.call_base;
        let (cell, reg_args) = self.store_call_args(inst, al, n, type_index)?;
        let idx_cell = cell_disp(cell);
        // A 64-bit table's index is read whole (the helpers saturate it).
        let table64 = self
            .module
            .tables
            .get(table as usize)
            .is_some_and(|t| t.ty.table64);
        let at = match (al[n].as_reg(), al[n].as_stack()) {
            // rax is written only after the last jump to the cold path.
            (Some(r), _) if !matches!(r.hw_enc() as u8, abi::R10 | 11) => {
                Some(IndexAt::Reg(r.hw_enc() as u8))
            }
            (None, Some(_)) => Some(IndexAt::Cell(self.slot_disp(al[n]))),
            _ => None,
        };
        let (at, idx) = match at {
            Some(at) if !table64 => (at, Some(al[n])),
            _ => {
                self.store_cell(al[n], idx_cell, Type::I64);
                (IndexAt::Cell(idx_cell), None)
            }
        };
        let shift = cell_disp(base);
        let stub = self.trap_exit();
        let (entry, direct, done) = (
            self.asm.new_dynamic_label(),
            self.asm.new_dynamic_label(),
            self.asm.new_dynamic_label(),
        );
        if table64 {
            asm!(self; jmp =>entry);
        } else {
            self.inline_resolve(table, type_index, at, entry, off::VMCTX_REG_SLOTS);
        }
        asm!(self
            ; =>direct
            ; lea r14, [r14 + shift]
            ; call r11
        );
        self.calls.push((self.asm.offset().0 as u32, shift));
        self.call_site();
        asm!(self
            ; lea r14, [r14 - shift]
            ; =>done
        );
        self.cold.push(ColdCall {
            kind: ColdKind::Indirect {
                table,
                type_index,
                idx_cell,
                table64,
                idx,
            },
            entry,
            direct,
            done,
            stub,
            shift,
            wasm_at: self.wasm_at,
            reg_args,
        });
        self.reload_mem_len();
        self.load_results(inst, &al[n + 1..], base);
        Ok(())
    }

    /// The slow path of a `call_indirect` or `call_ref` (`ColdCall`), out of line.
    fn cold_call(&mut self, c: ColdCall) {
        let outer_at = std::mem::replace(&mut self.wasm_at, c.wasm_at);
        let (slow, ok) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        let (stub, direct, done, shift) = (c.stub, c.direct, c.done, c.shift);
        asm!(self; =>c.entry);
        for &(r, d) in &c.reg_args {
            match r {
                ArgReg::Gpr(g) => asm!(self; mov QWORD [r14 + d], Rq(g)),
                ArgReg::Xmm(x) => asm!(self; movsd QWORD [r14 + d], Rx(x)),
            }
        }
        match c.kind {
            ColdKind::Indirect {
                table,
                type_index,
                idx_cell,
                table64,
                idx,
            } => {
                if let Some(a) = idx {
                    self.store_cell(a, idx_cell, Type::I64);
                }
                asm!(self
                    ; mov esi, table as i32
                    ; mov edx, type_index as i32
                );
                self.load_table_index(idx_cell, table64);
                self.call_helper(helpers::resolve_indirect as *const () as usize);
                asm!(self
                    ; test edx, edx
                    ; jz =>ok
                    ; mov eax, edx
                    ; jmp =>stub
                    ; =>ok
                    ; test rax, rax
                    ; jz =>slow
                    ; mov r11, rax
                    ; jmp =>direct
                    ; =>slow
                    ; mov esi, table as i32
                    ; mov edx, type_index as i32
                    ; lea r8, [r14 + shift]
                );
                self.load_table_index(idx_cell, table64);
                self.call_helper(helpers::call_indirect as *const () as usize);
            }
            ColdKind::Ref { ref_cell } => {
                asm!(self; mov rsi, QWORD [r14 + ref_cell]);
                self.call_helper(helpers::resolve_tail_ref as *const () as usize);
                asm!(self
                    ; test rax, rax
                    ; jz =>slow
                    ; mov r11, rax
                    ; mov eax, edx
                    ; jmp =>direct
                    ; =>slow
                    ; test edx, edx
                    ; jz =>ok
                    ; mov eax, edx
                    ; jmp =>stub
                    ; =>ok
                    ; mov rsi, QWORD [r14 + ref_cell]
                    ; lea rdx, [r14 + shift]
                );
                self.call_helper(helpers::call_ref as *const () as usize);
            }
        }
        asm!(self; test eax, eax ; jnz =>stub ; jmp =>done);
        self.wasm_at = outer_at;
    }

    /// The common case of `call_indirect` through a 32-bit table, inline (docs/abi.md §3):
    /// the element in bounds, of the expected signature and defined by this instance leaves
    /// its code slot's entry in `r11` and its defined index in `eax` (the interp-entry stub
    /// reads it; any entry can be called so). Anything else (null included) jumps to
    /// `otherwise`, the `resolve_indirect` helper, which traps or finds the general path.
    /// Uses only r10, r11 and rax (the call clobbers them anyway).
    fn inline_resolve(
        &mut self,
        table: u32,
        type_index: u32,
        at: IndexAt,
        otherwise: DynamicLabel,
        slots: i32,
    ) {
        let (tbase, tlen) = (off::TABLE_BASE, off::TABLE_LEN);
        if table == 0 {
            let t0 = off::VMCTX_TABLE0;
            asm!(self; mov r10, QWORD [r15 + t0]);
        } else {
            let tables = off::VMCTX_TABLES;
            let tdisp = cell_disp(table);
            asm!(self
                ; mov r10, QWORD [r15 + tables]
                ; mov r10, QWORD [r10 + tdisp]
            );
        }
        match at {
            IndexAt::Cell(d) => asm!(self; mov r11d, DWORD [r14 + d]),
            IndexAt::Reg(r) => asm!(self; mov r11d, Rd(r)),
        }
        asm!(self
            ; cmp r11, QWORD [r10 + tlen]
            ; jae =>otherwise
            ; mov r10, QWORD [r10 + tbase]
            ; mov r11, QWORD [r10 + r11 * 8]
        );
        self.inline_record(Some(type_index), otherwise, slots);
    }

    /// The part of `inline_resolve` after the element is in `r11` (a funcref cell), shared
    /// with `call_ref`: the record's signature and instance against this instance's key for
    /// `sigs[type]` when given, else (`call_ref`, whose signature validation proved) the
    /// instance alone; then the entry is in `r11` and the defined index in `eax`, or the
    /// code jumped to `otherwise`. A null cell reads `VMFuncRecord::NULL`, which matches
    /// no instance, so null needs no test of its own.
    /// `slots`: the code slots (tail calls, arguments in cells) or the register-entry slots
    /// (calls, arguments in registers; docs/abi.md §3).
    fn inline_record(&mut self, type_index: Option<u32>, otherwise: DynamicLabel, slots: i32) {
        // A cell holds the function address plus one: record `cell - 1` is at
        // `records + cell * SIZE - SIZE`.
        let size = off::FUNC_RECORD_SIZE;
        let shift = size.trailing_zeros() as i8;
        let key = off::FUNC_RECORD_SIG - size;
        let inst = off::FUNC_RECORD_INSTANCE - size;
        let def = off::FUNC_RECORD_DEF_INDEX - size;
        let (recs, keys) = (off::VMCTX_FUNC_RECORDS, off::VMCTX_SIG_KEYS);
        let this = off::VMCTX_INSTANCE;
        asm!(self
            ; shl r11, shift
            ; add r11, QWORD [r15 + recs]
        );
        match type_index {
            Some(t) => {
                let kdisp = t as i32 * 8;
                asm!(self
                    ; mov r10, QWORD [r15 + keys]
                    ; mov r10, QWORD [r10 + kdisp]
                    ; cmp r10, QWORD [r11 + key]
                    ; jne =>otherwise
                );
            }
            None => asm!(self
                ; mov r10d, DWORD [r15 + this]
                ; cmp r10d, DWORD [r11 + inst]
                ; jne =>otherwise
            ),
        }
        asm!(self
            ; mov eax, DWORD [r11 + def]
            ; mov r11, QWORD [r15 + slots]
            ; mov r11, QWORD [r11 + rax * 8]
        );
    }

    // ---- typed function references and tail calls (docs/abi.md §3) ----

    /// Stores the first `n` arguments of `inst` in consecutive cells from `cell`; returns
    /// the cell after them.
    fn store_args(&mut self, inst: Inst, al: &[Allocation], n: usize, mut cell: u32) -> u32 {
        let args = self.func.args(inst);
        for (k, &a) in args[..n].iter().enumerate() {
            let t = self.func.value_type(a);
            self.store_cell(al[k], cell_disp(cell), t);
            cell += t.cells();
        }
        cell
    }

    /// Stores the first `n` arguments of a call through type `type_index` (an indirect call
    /// or `call_ref`) that are not passed in registers in consecutive cells from the
    /// outgoing call frame's start; returns the cell after them and the register-passed
    /// ones with their cells' displacements (the cold path stores those).
    fn store_call_args(
        &mut self,
        inst: Inst,
        al: &[Allocation],
        n: usize,
        type_index: u32,
    ) -> Result<(u32, Vec<(ArgReg, i32)>), String> {
        let ty = self
            .module
            .types
            .get(type_index as usize)
            .ok_or("a call of an unknown type")?;
        let regs = arg_regs(ty.params());
        let mut reg_args = Vec::new();
        let mut cell = self.call_base;
        for (k, &a) in al.iter().enumerate().take(n) {
            let t = self.func.value_type(self.func.args(inst)[k]);
            match regs.get(k).copied().flatten() {
                Some(r) => reg_args.push((r, cell_disp(cell))),
                None => self.store_cell(a, cell_disp(cell), t),
            }
            cell += t.cells();
        }
        Ok((cell, reg_args))
    }

    /// Moves `cells` argument cells from the outgoing call frame to the frame's first
    /// cells, where a tail callee's frame starts. Ascending, through r11: cell `k` is below
    /// source cell `call_base + k`, so no source is overwritten before it is read.
    fn move_tail_args(&mut self, cells: u32) {
        for k in 0..cells {
            let (src, dst) = (cell_disp(self.call_base + k), cell_disp(k));
            if src != dst {
                asm!(self; mov r11, QWORD [r14 + src] ; mov QWORD [r14 + dst], r11);
            }
        }
    }

    /// Leaves this frame for a tail callee whose entry is in `rax` and defined index in
    /// `edx` (what `resolve_tail_*` return): the callee's return address is this frame's,
    /// so the machine stack stays as it is (the interp-entry stub reads the index in eax).
    fn tail_jump_rax(&mut self) {
        asm!(self
            ; mov r11, rax
            ; mov eax, edx
            ; pop rbp
            ; jmp r11
        );
    }

    /// `call_ref`: a same-instance callee is found inline (`inline_record`) and its code
    /// slot called directly; anything else takes the cold path (`cold_call`):
    /// `resolve_tail_ref` checks for null and finds a same-instance callee's slot, and the
    /// `call_ref` helper runs another instance's or a host function. The reference is kept
    /// in the cell after the arguments.
    fn call_ref(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        self.calls_out = true;
        let n = self.func.args(inst).len() - 1;
        let base = self.call_base;
        let type_index = match self.func.inst(inst).imm {
            Imm::Index(t) => t,
            Imm::Invoke(i) => i.index,
            _ => return Err("bad call_ref".into()),
        };
        let (after, reg_args) = self.store_call_args(inst, al, n, type_index)?;
        let ref_cell = cell_disp(after);
        self.store_cell(al[n], ref_cell, Type::FuncRef);
        let shift = cell_disp(base);
        let stub = self.trap_exit();
        let (entry, direct, done) = (
            self.asm.new_dynamic_label(),
            self.asm.new_dynamic_label(),
            self.asm.new_dynamic_label(),
        );
        asm!(self; mov r11, QWORD [r14 + ref_cell]);
        self.inline_record(None, entry, off::VMCTX_REG_SLOTS);
        asm!(self
            ; =>direct
            ; lea r14, [r14 + shift]
            ; call r11
        );
        self.calls.push((self.asm.offset().0 as u32, shift));
        self.call_site();
        asm!(self
            ; lea r14, [r14 - shift]
            ; =>done
        );
        self.cold.push(ColdCall {
            kind: ColdKind::Ref { ref_cell },
            entry,
            direct,
            done,
            stub,
            shift,
            wasm_at: self.wasm_at,
            reg_args,
        });
        self.reload_mem_len();
        self.load_results(inst, &al[n + 1..], base);
        Ok(())
    }

    /// `return_call` (design.md §12): a defined callee replaces this frame (arguments at
    /// the frame's start, `rbp` popped, a jump to its code slot with its index in eax, as
    /// the baseline does); an import is called through its helper on this frame's cells,
    /// so its results land where this function's go, and then returned from.
    fn return_call(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        self.calls_out = true;
        let Imm::Index(f) = self.func.inst(inst).imm else {
            return Err("bad return_call".into());
        };
        let n = self.func.args(inst).len();
        let cells: u32 = self.func.args(inst)[..n]
            .iter()
            .map(|&a| self.func.value_type(a).cells())
            .sum();
        // Arguments are stored in place unless a store could overwrite a spill slot that
        // holds a later argument (one at a cell below `cells`); then they go through the
        // outgoing call frame.
        // The same for the cells of the saved registers, which are put back (after the last
        // read of an argument register) before the arguments can reach them.
        let in_place = al[..n].iter().all(|a| {
            a.as_stack()
                .is_none_or(|s| self.spill_base + s.index() as u32 >= cells)
        }) && self.saves.iter().all(|&c| c == NO_SAVE || c >= cells);
        if in_place {
            self.store_args(inst, al, n, 0);
            self.restore_saved();
        } else {
            self.store_args(inst, al, n, self.call_base);
            self.restore_saved();
            self.move_tail_args(cells);
        }
        let imported = self.module.num_imported_funcs;
        if f >= imported {
            let slots = off::VMCTX_CODE_SLOTS;
            let def = cell_disp(f - imported);
            let def_index = (f - imported) as i32;
            asm!(self
                ; mov r11, QWORD [r15 + slots]
                ; mov r11, QWORD [r11 + def]
                ; mov eax, def_index
                ; pop rbp
                ; jmp r11
            );
        } else {
            asm!(self
                ; mov esi, f as i32
                ; mov rdx, r14
            );
            self.call_helper(helpers::call_import as *const () as usize);
            let l = self.trap_exit();
            self.restored_exits.push(l);
            asm!(self; test eax, eax ; jnz =>l ; pop rbp ; ret);
        }
        Ok(())
    }

    /// `return_call_indirect`: `resolve_tail_indirect` checks the element and signature
    /// and finds a same-instance callee's entry, which replaces this frame as in
    /// `return_call`; any other callee runs through the `call_indirect` helper on this
    /// frame's cells, and the function returns.
    fn return_call_indirect(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        self.calls_out = true;
        let Imm::Index2(type_index, table) = self.func.inst(inst).imm else {
            return Err("bad return_call_indirect".into());
        };
        let n = self.func.args(inst).len() - 1;
        let end = self.store_args(inst, al, n, self.call_base);
        let cells = end - self.call_base;
        let idx_cell = cell_disp(end);
        self.store_cell(al[n], idx_cell, Type::I64);
        // Nothing below reads an allocated register (helpers preserve the callee-saved
        // ones), and the arguments moved down may overwrite the save cells.
        self.restore_saved();
        let (slow, general) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        let stub = self.trap_exit();
        self.restored_exits.push(stub);
        // A 64-bit table's index is read whole (the helpers saturate it).
        let table64 = self
            .module
            .tables
            .get(table as usize)
            .is_some_and(|t| t.ty.table64);
        let (resolve, direct) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        if !table64 {
            // Inline, leaving what `resolve_tail_indirect` would return.
            self.inline_resolve(
                table,
                type_index,
                IndexAt::Cell(idx_cell),
                resolve,
                off::VMCTX_CODE_SLOTS,
            );
            asm!(self; mov edx, eax ; mov rax, r11 ; jmp =>direct);
        }
        asm!(self
            ; =>resolve
            ; mov esi, table as i32
            ; mov edx, type_index as i32
        );
        self.load_table_index(idx_cell, table64);
        self.call_helper(helpers::resolve_tail_indirect as *const () as usize);
        asm!(self; test rax, rax ; jz =>slow ; =>direct);
        self.move_tail_args(cells);
        self.tail_jump_rax();
        asm!(self
            ; =>slow
            ; test edx, edx
            ; jz =>general
            ; mov eax, edx
            ; jmp =>stub
            ; =>general
        );
        self.move_tail_args(cells);
        asm!(self
            ; mov esi, table as i32
            ; mov edx, type_index as i32
            ; mov r8, r14
        );
        self.load_table_index(idx_cell, table64);
        self.call_helper(helpers::call_indirect as *const () as usize);
        asm!(self; test eax, eax ; jnz =>stub ; pop rbp ; ret);
        Ok(())
    }

    /// `return_call_ref`: as `return_call_indirect`, with `resolve_tail_ref` (null check)
    /// and the `call_ref` helper.
    fn return_call_ref(&mut self, inst: Inst, al: &[Allocation]) -> Result<(), String> {
        self.calls_out = true;
        let n = self.func.args(inst).len() - 1;
        let end = self.store_args(inst, al, n, self.call_base);
        let cells = end - self.call_base;
        let ref_cell = cell_disp(end);
        self.store_cell(al[n], ref_cell, Type::FuncRef);
        // As in `return_call_indirect`.
        self.restore_saved();
        let (slow, general) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        let stub = self.trap_exit();
        self.restored_exits.push(stub);
        let (resolve, direct) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        asm!(self; mov r11, QWORD [r14 + ref_cell]);
        // Inline, leaving what `resolve_tail_ref` would return.
        self.inline_record(None, resolve, off::VMCTX_CODE_SLOTS);
        asm!(self
            ; mov edx, eax
            ; mov rax, r11
            ; jmp =>direct
            ; =>resolve
            ; mov rsi, QWORD [r14 + ref_cell]
        );
        self.call_helper(helpers::resolve_tail_ref as *const () as usize);
        asm!(self; test rax, rax ; jz =>slow ; =>direct);
        self.move_tail_args(cells);
        self.tail_jump_rax();
        asm!(self
            ; =>slow
            ; test edx, edx
            ; jz =>general
            ; mov eax, edx
            ; jmp =>stub
            ; =>general
        );
        self.move_tail_args(cells);
        asm!(self
            ; mov rsi, QWORD [r14 + ref_cell]
            ; mov rdx, r14
        );
        self.call_helper(helpers::call_ref as *const () as usize);
        asm!(self; test eax, eax ; jnz =>stub ; pop rbp ; ret);
        Ok(())
    }

    /// Division and remainder: the dividend is in rax, the result in rax or rdx. The
    /// divisor is copied to r11 (it may be in rdx, which `cqo`/`xor edx, edx` overwrite).
    /// Division or remainder of rax by `b` (`nonzero`: the divisor is proved non-zero,
    /// `lower::nonzero_divisors`, and needs no test). The divisor is read from r11 when it
    /// is in rax or rdx (which `cqo`/`cdq` and the result overwrite), else from its own
    /// register. (Constant divisors other than 0 and signed -1 never get here: `div_const`.)
    fn div(&mut self, op: Opcode, b: u8, nonzero: bool) {
        use Opcode::*;
        let w = matches!(op, I64DivS | I64DivU | I64RemS | I64RemU);
        let b = if b == abi::RAX || b == abi::RDX {
            if w {
                asm!(self; mov r11, Rq(b));
            } else {
                asm!(self; mov r11d, Rd(b));
            }
            11
        } else {
            b
        };
        if !nonzero {
            let div0 = self.trap_label(TrapCode::IntegerDivisionByZero);
            if w {
                asm!(self; test Rq(b), Rq(b) ; jz =>div0);
            } else {
                asm!(self; test Rd(b), Rd(b) ; jz =>div0);
            }
        }
        match op {
            I32DivU | I32RemU => asm!(self; xor edx, edx ; div Rd(b)),
            I64DivU | I64RemU => asm!(self; xor edx, edx ; div Rq(b)),
            I32DivS => {
                // MIN / -1 overflows: `cmp eax, 1` overflows exactly when eax is MIN.
                let ovf = self.trap_label(TrapCode::IntegerOverflow);
                let ok = self.asm.new_dynamic_label();
                asm!(self
                    ; cmp Rd(b), -1
                    ; jne =>ok
                    ; cmp eax, 1
                    ; jo =>ovf
                    ; =>ok
                    ; cdq
                    ; idiv Rd(b)
                );
            }
            I64DivS => {
                let ovf = self.trap_label(TrapCode::IntegerOverflow);
                let ok = self.asm.new_dynamic_label();
                asm!(self
                    ; cmp Rq(b), -1
                    ; jne =>ok
                    ; cmp rax, 1
                    ; jo =>ovf
                    ; =>ok
                    ; cqo
                    ; idiv Rq(b)
                );
            }
            I32RemS | I64RemS => {
                // x rem -1 = 0 (idiv would fault on INT_MIN).
                let ok = self.asm.new_dynamic_label();
                let done = self.asm.new_dynamic_label();
                if w {
                    asm!(self; cmp Rq(b), -1 ; jne =>ok ; xor edx, edx ; jmp =>done
                        ; =>ok ; cqo ; idiv Rq(b) ; =>done);
                } else {
                    asm!(self; cmp Rd(b), -1 ; jne =>ok ; xor edx, edx ; jmp =>done
                        ; =>ok ; cdq ; idiv Rd(b) ; =>done);
                }
            }
            _ => {}
        }
    }

    /// Division or remainder of `x` by constant `d` without `div` (`divconst`, whose
    /// `evaluate` is these steps in Rust): the quotient is formed in r11 (`out` a second
    /// scratch where `divconst::needs_scratch` says so), or for a 64-bit reciprocal from the high half of rdx:rax into rax; the
    /// remainder is then x - q*d. `x` is only read, and `out` written last (it may be x's
    /// register). A 32-bit result is written by 32-bit instructions (zero-extended).
    fn div_const(&mut self, op: Opcode, c: ConstDiv, d: i64, x: u8, out: u8) {
        use Opcode::*;
        let signed = matches!(op, I32DivS | I32RemS | I64DivS | I64RemS);
        let rem = matches!(op, I32RemS | I32RemU | I64RemS | I64RemU);
        let wide = matches!(op, I64DivS | I64DivU | I64RemS | I64RemU);
        // The second scratch register, where `needs_scratch` says so: the result's own,
        // which the lowering then defines early (never x's register).
        let t = out;
        const R11: u8 = 11;
        // q: the register holding the quotient (r11, or rax for a 64-bit reciprocal).
        let mut q = R11;
        match c.plan {
            Plan::One if rem => {
                asm!(self; xor Rd(out), Rd(out));
                return;
            }
            Plan::One => {
                if out != x {
                    if wide {
                        asm!(self; mov Rq(out), Rq(x));
                    } else {
                        asm!(self; mov Rd(out), Rd(x));
                    }
                }
                return;
            }
            Plan::Pow2 { k } if !signed => {
                if rem {
                    if wide && k >= 32 {
                        self.mov_imm(t, (1u64 << k) - 1);
                        asm!(self; mov r11, Rq(x) ; and r11, Rq(t));
                    } else if wide {
                        asm!(self; mov r11, Rq(x) ; and r11, ((1u64 << k) - 1) as i32);
                    } else {
                        asm!(self; mov r11d, Rd(x) ; and r11d, ((1u64 << k) - 1) as u32 as i32);
                    }
                    self.move_result(wide, out, R11);
                    return;
                }
                if wide {
                    asm!(self; mov r11, Rq(x) ; shr r11, k as i8);
                } else {
                    asm!(self; mov r11d, Rd(x) ; shr r11d, k as i8);
                }
            }
            Plan::Pow2 { k } => {
                // Negative x rounds toward zero: add 2^k - 1 (the sign, shifted down).
                if wide {
                    asm!(self
                        ; mov r11, Rq(x) ; sar r11, 63 ; shr r11, (64 - k) as i8 ; add r11, Rq(x)
                    );
                } else {
                    asm!(self
                        ; mov r11d, Rd(x) ; sar r11d, 31 ; shr r11d, (32 - k) as i8
                        ; add r11d, Rd(x)
                    );
                }
                if rem {
                    // x - ((x + bias) & -2^k), for d and -d alike.
                    if wide && k > 31 {
                        self.mov_imm(t, (-1i64 << k) as u64);
                        asm!(self; and r11, Rq(t));
                    } else if wide {
                        asm!(self; and r11, (-1i64 << k) as i32);
                    } else {
                        asm!(self; and r11d, (-1i64 << k) as i32);
                    }
                    self.subtract_from(wide, out, x, R11);
                    return;
                }
                if wide {
                    asm!(self; sar r11, k as i8);
                } else {
                    asm!(self; sar r11d, k as i8);
                }
            }
            Plan::Compare => {
                let mask = if wide { u64::MAX } else { u32::MAX as u64 };
                let dv = d as u64 & mask;
                if wide {
                    self.mov_imm(t, dv);
                }
                let d32 = dv as u32 as i32;
                if rem {
                    // x >= d ? x - d : x
                    if wide {
                        asm!(self; mov r11, Rq(x) ; sub r11, Rq(t) ; cmp Rq(x), Rq(t) ; cmovb r11, Rq(x));
                    } else {
                        asm!(self; mov r11d, Rd(x) ; sub r11d, d32 ; cmp Rd(x), d32
                            ; cmovb r11d, Rd(x));
                    }
                    self.move_result(wide, out, R11);
                    return;
                }
                asm!(self; xor r11d, r11d);
                if wide {
                    asm!(self; cmp Rq(x), Rq(t));
                } else {
                    asm!(self; cmp Rd(x), d32);
                }
                asm!(self; setae r11b);
            }
            Plan::Magic { m, s } if !wide && !signed => {
                asm!(self; mov r11d, Rd(x));
                if m < 1 << 31 {
                    asm!(self; imul r11, r11, m as i32 ; shr r11, (32 + s) as i8);
                } else if m >> 32 == 0 {
                    self.mulhi_r11(m as u64, x);
                    if s > 0 {
                        asm!(self; shr r11d, s as i8);
                    }
                } else {
                    // 33-bit m: t = x * (m - 2^32) >> 32, then (x + t) >> s with the sum's
                    // 33rd bit from the carry (`rcr`); s >= 1 here.
                    let low = m as u64 & u32::MAX as u64;
                    if low < 1 << 31 {
                        asm!(self; imul r11, r11, low as i32 ; shr r11, 32);
                    } else {
                        self.mulhi_r11(low, x);
                    }
                    asm!(self; add r11d, Rd(x) ; rcr r11d, 1);
                    if s > 1 {
                        asm!(self; shr r11d, (s - 1) as i8);
                    }
                }
            }
            Plan::Magic { m, s } if !wide => {
                // |x| * m < 2^63: the 64-bit product, then +1 for negative x. m >= 2^31
                // only with s >= 1 (at s = 0, m <= 2^31 / 3 + 1).
                asm!(self; movsxd r11, Rd(x));
                if m < 1 << 31 {
                    asm!(self; imul r11, r11, m as i32 ; sar r11, (31 + s) as i8);
                } else {
                    // floor(x * m / 2^32) = floor(x * (m - 2^32) / 2^32) + x.
                    asm!(self; imul r11, r11, (m as u64).wrapping_sub(1 << 32) as i32
                        ; sar r11, 32 ; add r11d, Rd(x));
                    if s > 1 {
                        asm!(self; sar r11d, (s - 1) as i8);
                    }
                }
                asm!(self; bt Rd(x), 31 ; adc r11d, 0);
            }
            Plan::Magic { m, s } => {
                asm!(self; mov r11, Rq(x));
                self.mov_imm(0, m as u64);
                q = 0;
                if !signed {
                    asm!(self; mul r11);
                    if m >> 64 == 0 {
                        asm!(self; mov rax, rdx);
                        if s > 0 {
                            asm!(self; shr rax, s as i8);
                        }
                    } else {
                        // 65-bit m: t = hi(x * (m - 2^64)); ((x - t) / 2 + t) >> (s - 1)
                        // (x + t may not fit).
                        asm!(self; mov rax, r11 ; sub rax, rdx ; shr rax, 1 ; add rax, rdx);
                        if s > 1 {
                            asm!(self; shr rax, (s - 1) as i8);
                        }
                    }
                } else {
                    asm!(self; imul r11);
                    if (m as u64 as i64) < 0 {
                        // m read as a signed 64-bit value lost 2^64: add x back.
                        asm!(self; add rdx, r11);
                    }
                    if s > 1 {
                        asm!(self; sar rdx, (s - 1) as i8);
                    }
                    asm!(self; mov rax, r11 ; shr rax, 63 ; add rax, rdx);
                }
            }
        }
        if c.negative {
            if wide {
                asm!(self; neg Rq(q));
            } else {
                asm!(self; neg Rd(q));
            }
        }
        if rem {
            // q * d, then x - q * d.
            if wide && d as i32 as i64 != d {
                // Only a 64-bit reciprocal's quotient (in rax) gets here: rdx is free.
                self.mov_imm(2, d as u64);
                asm!(self; imul Rq(q), rdx);
            } else if wide {
                asm!(self; imul Rq(q), Rq(q), d as i32);
            } else {
                asm!(self; imul Rd(q), Rd(q), d as i32);
            }
            if q == 0 {
                // x is still in r11 (it may have been in rax).
                asm!(self; sub r11, rax ; mov rax, r11);
                return;
            }
            self.subtract_from(wide, out, x, q);
            return;
        }
        self.move_result(wide, out, q);
    }

    /// r11 (x zero-extended) = floor(x * m / 2^32) for m in [2^31, 2^32), with no second
    /// register: x * (m - 2^32) fits an `imul` immediate and a signed 64-bit product, and
    /// shifting it down by 32 (arithmetically) loses exactly x * 2^32 / 2^32 = x.
    fn mulhi_r11(&mut self, m: u64, x: u8) {
        asm!(self; imul r11, r11, m.wrapping_sub(1 << 32) as i32 ; sar r11, 32 ; add r11d, Rd(x));
    }

    /// out = `from` (32-bit or 64-bit).
    fn move_result(&mut self, wide: bool, out: u8, from: u8) {
        if out == from {
            return;
        }
        if wide {
            asm!(self; mov Rq(out), Rq(from));
        } else {
            asm!(self; mov Rd(out), Rd(from));
        }
    }

    /// out = x - `t`, where `out` may be x's register but not `t`'s.
    fn subtract_from(&mut self, wide: bool, out: u8, x: u8, t: u8) {
        if wide {
            if out != x {
                asm!(self; mov Rq(out), Rq(x));
            }
            asm!(self; sub Rq(out), Rq(t));
        } else {
            if out != x {
                asm!(self; mov Rd(out), Rd(x));
            }
            asm!(self; sub Rd(out), Rd(t));
        }
    }

    /// wasm min/max: NaN in, NaN out; -0 < +0.
    fn fminmax(&mut self, op: Opcode, d: u8, b: u8) {
        use Opcode::*;
        let w = matches!(op, F64Min | F64Max);
        let min = matches!(op, F32Min | F64Min);
        let nan = self.asm.new_dynamic_label();
        let normal = self.asm.new_dynamic_label();
        let done = self.asm.new_dynamic_label();
        if w {
            asm!(self; ucomisd Rx(d), Rx(b));
        } else {
            asm!(self; ucomiss Rx(d), Rx(b));
        }
        asm!(self; jp =>nan ; jne =>normal);
        // Equal: the sign bits decide (+0/-0).
        if min {
            asm!(self; orps Rx(d), Rx(b));
        } else {
            asm!(self; andps Rx(d), Rx(b));
        }
        asm!(self; jmp =>done ; =>nan);
        if w {
            asm!(self; addsd Rx(d), Rx(b));
        } else {
            asm!(self; addss Rx(d), Rx(b));
        }
        asm!(self; jmp =>done ; =>normal);
        match (w, min) {
            (false, true) => asm!(self; minss Rx(d), Rx(b)),
            (false, false) => asm!(self; maxss Rx(d), Rx(b)),
            (true, true) => asm!(self; minsd Rx(d), Rx(b)),
            (true, false) => asm!(self; maxsd Rx(d), Rx(b)),
        }
        asm!(self; =>done);
    }

    /// `d = 1` if the integer comparison `op` holds for the flags of the `cmp` just emitted,
    /// else 0 (setcc into `d`'s low byte, then zero-extended: `d` is a def after the compare's
    /// reads, and r11 keeps the address it may hold, `r11_index`).
    fn set_from_flags(&mut self, op: Opcode, d: u8) {
        use Opcode::*;
        match op {
            I32Eq | I64Eq => asm!(self; sete Rb(d)),
            I32Ne | I64Ne => asm!(self; setne Rb(d)),
            I32LtS | I64LtS => asm!(self; setl Rb(d)),
            I32LtU | I64LtU => asm!(self; setb Rb(d)),
            I32GtS | I64GtS => asm!(self; setg Rb(d)),
            I32GtU | I64GtU => asm!(self; seta Rb(d)),
            I32LeS | I64LeS => asm!(self; setle Rb(d)),
            I32LeU | I64LeU => asm!(self; setbe Rb(d)),
            I32GeS | I64GeS => asm!(self; setge Rb(d)),
            _ => asm!(self; setae Rb(d)),
        }
        asm!(self; movzx Rd(d), Rb(d));
    }

    fn convert(&mut self, op: Opcode, a: u8, d: u8) {
        use Opcode::*;
        let f64 = matches!(
            op,
            F64ConvertI32S | F64ConvertI64S | F64ConvertI32U | F64ConvertI64U
        );
        asm!(self; xorps Rx(d), Rx(d));
        match op {
            F32ConvertI32S => asm!(self; cvtsi2ss Rx(d), Rd(a)),
            F64ConvertI32S => asm!(self; cvtsi2sd Rx(d), Rd(a)),
            F32ConvertI64S => asm!(self; cvtsi2ss Rx(d), Rq(a)),
            F64ConvertI64S => asm!(self; cvtsi2sd Rx(d), Rq(a)),
            F32ConvertI32U => asm!(self; mov r11d, Rd(a) ; cvtsi2ss Rx(d), r11),
            F64ConvertI32U => asm!(self; mov r11d, Rd(a) ; cvtsi2sd Rx(d), r11),
            _ => crate::jit::x64::convert_u64_to_float(&mut self.asm, d, a, f64),
        }
    }

    /// Float to integer, trapping (`trunc`) or saturating (`trunc_sat`).
    fn trunc(&mut self, op: Opcode, a: u8, d: u8) {
        use Opcode::*;
        let from64 = matches!(
            op,
            I32TruncF64S
                | I32TruncF64U
                | I64TruncF64S
                | I64TruncF64U
                | I32TruncSatF64S
                | I32TruncSatF64U
                | I64TruncSatF64S
                | I64TruncSatF64U
        );
        let to64 = matches!(
            op,
            I64TruncF32S
                | I64TruncF32U
                | I64TruncF64S
                | I64TruncF64U
                | I64TruncSatF32S
                | I64TruncSatF32U
                | I64TruncSatF64S
                | I64TruncSatF64U
        );
        let signed = matches!(
            op,
            I32TruncF32S
                | I32TruncF64S
                | I64TruncF32S
                | I64TruncF64S
                | I32TruncSatF32S
                | I32TruncSatF64S
                | I64TruncSatF32S
                | I64TruncSatF64S
        );
        let sat = matches!(
            op,
            I32TruncSatF32S
                | I32TruncSatF32U
                | I32TruncSatF64S
                | I32TruncSatF64U
                | I64TruncSatF32S
                | I64TruncSatF32U
                | I64TruncSatF64S
                | I64TruncSatF64U
        );
        let done = self.asm.new_dynamic_label();
        macro_rules! cvt {
            ($q:expr, $src:expr) => {
                match (from64, $q) {
                    (false, false) => asm!(self; cvttss2si Rd(d), Rx($src)),
                    (false, true) => asm!(self; cvttss2si Rq(d), Rx($src)),
                    (true, false) => asm!(self; cvttsd2si Rd(d), Rx($src)),
                    (true, true) => asm!(self; cvttsd2si Rq(d), Rx($src)),
                }
            };
        }
        macro_rules! ucomi {
            ($x:expr, $y:expr) => {
                if from64 {
                    asm!(self; ucomisd Rx($x), Rx($y));
                } else {
                    asm!(self; ucomiss Rx($x), Rx($y));
                }
            };
        }
        // xmm15 = a float constant given by its f64 value.
        let load_const = |g: &mut Self, v: f64| {
            if from64 {
                let bits = v.to_bits() as i64;
                asm!(g; mov r11, QWORD bits ; movq xmm15, r11);
            } else {
                let bits = (v as f32).to_bits() as i32;
                asm!(g; mov r11d, bits ; movd xmm15, r11d);
            }
        };
        if signed {
            // cvtt gives INT_MIN for NaN and out of range: only then look closer.
            cvt!(to64, a);
            if to64 {
                asm!(self; cmp Rq(d), 1 ; jno =>done);
            } else {
                asm!(self; cmp Rd(d), 1 ; jno =>done);
            }
            let nan = if sat {
                self.asm.new_dynamic_label()
            } else {
                self.trap_label(TrapCode::BadConversionToInteger)
            };
            ucomi!(a, a);
            asm!(self; jp =>nan);
            if sat {
                // Positive overflow saturates to INT_MAX; negative stays INT_MIN.
                asm!(self; xorps xmm15, xmm15);
                ucomi!(a, 15u8);
                asm!(self; jbe =>done);
                if to64 {
                    asm!(self; mov Rq(d), QWORD i64::MAX);
                } else {
                    asm!(self; mov Rd(d), i32::MAX);
                }
                asm!(self; jmp =>done ; =>nan ; xor Rd(d), Rd(d));
            } else {
                let ovf = self.trap_label(TrapCode::IntegerOverflow);
                // In range iff a > -2^(n-1) - 1, i.e. truncates to INT_MIN exactly.
                let bits = if to64 { 63 } else { 31 };
                let lo = -(2f64.powi(bits));
                if from64 && !to64 {
                    load_const(self, lo - 1.0);
                    ucomi!(a, 15u8);
                    asm!(self; jbe =>ovf);
                } else {
                    load_const(self, lo);
                    ucomi!(a, 15u8);
                    asm!(self; jb =>ovf);
                }
                asm!(self; xorps xmm15, xmm15);
                ucomi!(a, 15u8);
                asm!(self; ja =>ovf);
            }
        } else if !to64 {
            // u32 through a 64-bit conversion: in range iff the result fits 32 bits.
            cvt!(true, a);
            if sat {
                let neg = self.asm.new_dynamic_label();
                asm!(self
                    ; test Rq(d), Rq(d)
                    ; js =>neg
                    ; mov r11d, -1
                    ; cmp Rq(d), r11
                    ; cmova Rq(d), r11
                    ; jmp =>done
                    ; =>neg
                    ; xorps xmm15, xmm15
                );
                ucomi!(a, 15u8);
                asm!(self; mov Rd(d), 0 ; jbe =>done ; mov Rd(d), -1);
            } else {
                let slow = self.asm.new_dynamic_label();
                let nan = self.trap_label(TrapCode::BadConversionToInteger);
                let ovf = self.trap_label(TrapCode::IntegerOverflow);
                asm!(self; mov r11, Rq(d) ; shr r11, 32 ; jnz =>slow ; jmp =>done ; =>slow);
                ucomi!(a, a);
                asm!(self; jp =>nan ; jmp =>ovf);
            }
        } else {
            // u64: values >= 2^63 are converted after subtracting 2^63.
            let big = self.asm.new_dynamic_label();
            let (nan, ovf, zero, max) = if sat {
                let z = self.asm.new_dynamic_label();
                let m = self.asm.new_dynamic_label();
                (z, z, z, m)
            } else {
                let n = self.trap_label(TrapCode::BadConversionToInteger);
                let o = self.trap_label(TrapCode::IntegerOverflow);
                (n, o, o, o)
            };
            load_const(self, 2f64.powi(63));
            ucomi!(a, 15u8);
            asm!(self; jp =>nan ; jae =>big);
            cvt!(true, a);
            asm!(self; test Rq(d), Rq(d) ; jns =>done ; jmp =>ovf ; =>big);
            if from64 {
                asm!(self; subsd xmm15, Rx(a));
            } else {
                asm!(self; subss xmm15, Rx(a));
            }
            cvt!(true, 15u8);
            asm!(self; neg Rq(d) ; js =>max ; btc Rq(d), 63 ; jmp =>done);
            if sat {
                asm!(self
                    ; =>zero
                    ; xor Rd(d), Rd(d)
                    ; jmp =>done
                    ; =>max
                    ; mov Rq(d), -1
                );
            }
        }
        asm!(self; =>done);
    }
}
