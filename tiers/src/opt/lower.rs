//! Instruction selection, first half: the IR function as regalloc2 sees it. Every IR
//! instruction becomes one machine-level instruction whose operands carry x86-64 constraints
//! (two-address forms reuse their first input, division wants rax/rdx, shift counts rcx,
//! calls clobber every allocatable register but the callee-saved rbx and r12, invokes every
//! one); the entry block gets a pseudo instruction that
//! defines the parameters from their cells. `emit.rs` turns each into machine code.

use super::abi::{self, RAX, RCX, RDX};
use regalloc2::{Operand, PRegSet, RegClass, VReg};
use strata_ir::{Block, EntityRef, Function, Imm, Inst, Opcode, Type, ValueDef};
use strata_vm::abi::{arg_regs, ArgReg};

/// What one machine-level instruction is.
#[derive(Clone, Copy, Debug)]
pub enum VKind {
    /// Defines the entry block's parameters from `fp[0..P)`.
    Params,
    /// The IR instruction, lowered by `emit.rs`.
    Ir(Inst),
}

pub struct VInst {
    pub kind: VKind,
    pub ops: std::ops::Range<u32>,
    pub clobbers: PRegSet,
    /// Branches: for each successor, the range of `VCode::branch_args`.
    pub succ_args: Vec<std::ops::Range<u32>>,
    /// A `br_if` or `select` that tests the flags of this compare (fused: the compare has
    /// no instruction of its own; its operands are the user's).
    pub fused: Option<Inst>,
}

pub struct VBlock {
    pub insts: std::ops::Range<u32>,
    pub succs: Vec<regalloc2::Block>,
    pub preds: Vec<regalloc2::Block>,
    pub params: Vec<VReg>,
    pub ir: Block,
}

/// The function as regalloc2's input.
pub struct VCode {
    pub insts: Vec<VInst>,
    pub operands: Vec<Operand>,
    pub branch_args: Vec<VReg>,
    pub blocks: Vec<VBlock>,
    pub num_vregs: usize,
    /// regalloc2 block of each IR block (`u32::MAX`: not laid out).
    pub block_index: Vec<u32>,
    /// Outgoing call-frame cells the function needs (arguments or results of a call).
    pub call_cells: u32,
    /// One past the highest frame cell `osr.load_cell` reads.
    pub osr_cells: u32,
    /// Cells the unwinder writes a caught exception's values to (payload, then `exnref`)
    /// for a landing block to load (docs/abi.md §10).
    pub catch_cells: u32,
    /// The function has v128 values: `Float` spill slots take two cells (16-byte moves).
    pub has_v128: bool,
    /// Per IR instruction: a load or store whose address `i32.add`/`i32.sub` was folded
    /// into it (`address_forms`).
    pub addr: Vec<Option<AddrForm>>,
    /// Per IR instruction: the load an ALU op reads as its memory operand (`load_folds`):
    /// the load gets no instruction of its own.
    pub mem_operand: Vec<Option<Inst>>,
    /// Per IR instruction: a store that reads, modifies and writes its memory in one
    /// instruction (`rmw_folds`, `add [r13 + r11 + d], r`): the op computing the stored
    /// value and the load it reads, neither of which gets an instruction of its own.
    pub rmw: Vec<Option<Rmw>>,
    /// Per parameter, the register it arrives in through the register entry (docs/abi.md
    /// §3), or `None` (read from its cell); empty for an OSR entry (all in cells).
    pub param_regs: Vec<Option<ArgReg>>,
    /// Per IR value: an i32 proved zero-extended in its register (`zero_extended`): as a
    /// memory-0 address the emitter uses that register as the index of `[r13 + reg +
    /// offset]` without `mov r11d, reg`.
    pub zext: Vec<bool>,
    /// Per IR instruction: a division or remainder whose divisor is proved non-zero where
    /// it runs (`nonzero_divisors`): no zero test before it.
    pub divisor_nonzero: Vec<bool>,
}

/// A store of `op(load, x)` to the load's own address (`rmw_folds`): one x86
/// read-modify-write instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rmw {
    pub op: Inst,
    pub load: Inst,
}

/// How a load or store computes its 32-bit address itself: `lea r11d, [base + index <<
/// scale + disp]` (operands: the base, then the index when `index`), which wraps like
/// wasm's i32 arithmetic and zero-extends in one instruction, instead of the `i32.add` in
/// a register of its own followed by `mov r11d, addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrForm {
    pub index: bool,
    pub scale: u8,
    pub disp: i32,
}

pub fn class_of(t: Type) -> Result<RegClass, String> {
    match t {
        Type::I32 | Type::I64 | Type::FuncRef | Type::ExternRef | Type::ExnRef => Ok(RegClass::Int),
        Type::F32 | Type::F64 => Ok(RegClass::Float),
        // v128 values share the XMM registers (a spill slot is two cells then).
        Type::V128 => Ok(RegClass::Float),
    }
}

pub fn vreg(func: &Function, v: strata_ir::Value) -> Result<VReg, String> {
    let v = func.resolve(v);
    Ok(VReg::new(v.index(), class_of(func.value_type(v))?))
}

/// The machine register of a register argument.
pub fn arg_preg(r: ArgReg) -> regalloc2::PReg {
    match r {
        ArgReg::Gpr(g) => abi::gpr(g),
        ArgReg::Xmm(x) => abi::xmm(x),
    }
}

/// The uses of a call's arguments to a callee of type `ty` (its parameters, in order):
/// fixed in their registers when the call passes registers (docs/abi.md §3), else anywhere
/// (stored to the outgoing cells).
pub(super) fn call_arg_uses(
    ops: &mut Vec<Operand>,
    args: &[VReg],
    ty: Option<&strata_vm::FuncType>,
) {
    let regs = ty.map(|t| arg_regs(t.params())).unwrap_or_default();
    for (k, &u) in args.iter().enumerate() {
        match regs.get(k).copied().flatten() {
            Some(r) => ops.push(Operand::reg_fixed_use(u, arg_preg(r))),
            None => ops.push(Operand::any_use(u)),
        }
    }
}

/// Builds the VCode of `func` (aliases resolved, critical edges split). `entry_regs`: the
/// register of each parameter at the register entry (`strata_vm::abi::arg_regs`), empty
/// when every parameter is read from its cell (an OSR entry).
pub fn lower(
    func: &Function,
    module: &strata_vm::Module,
    entry_regs: &[Option<ArgReg>],
) -> Result<VCode, String> {
    let entry = func.entry().ok_or("function has no entry block")?;
    if func.layout.first() != Some(&entry) {
        return Err("entry block is not first in the layout".into());
    }
    if !func.osr_entries.is_empty() {
        return Err("OSR entry blocks are compiled separately".into());
    }
    let order = block_order(func);
    let mut block_index = vec![u32::MAX; func.blocks.len()];
    for (i, &b) in order.iter().enumerate() {
        block_index[b.index()] = i as u32;
    }
    let counts = use_counts(func);
    let needed = needed_params(func);
    let folds = address_folds(func, module, &counts);
    let rmw = rmw_folds(func, module, &counts, &folds);
    let loads = load_folds(func, module, &counts, &folds, &rmw.skip);
    let mut vc = VCode {
        insts: Vec::with_capacity(func.insts.len() + 1),
        operands: Vec::new(),
        branch_args: Vec::new(),
        blocks: Vec::with_capacity(order.len()),
        num_vregs: func.values.len(),
        block_index,
        call_cells: 0,
        osr_cells: 0,
        catch_cells: 0,
        has_v128: func.values.iter().any(|(_, v)| v.ty == Type::V128),
        addr: vec![None; func.insts.len()],
        mem_operand: loads.operand.clone(),
        rmw: rmw.store.clone(),
        param_regs: entry_regs.to_vec(),
        zext: zero_extended(func),
        divisor_nonzero: nonzero_divisors(func),
    };
    for &b in &order {
        let start = vc.insts.len() as u32;
        let mut params = Vec::new();
        if b == entry {
            let ops = vc.operands.len() as u32;
            if !entry_regs.is_empty() && entry_regs.len() != func.block_params(b).len() {
                return Err("entry block parameters differ from the function's".into());
            }
            for (k, &p) in func.block_params(b).iter().enumerate() {
                let v = vreg(func, p)?;
                if let Some(r) = entry_regs.get(k).copied().flatten() {
                    if arg_preg(r).class() != v.class() {
                        return Err("a register parameter of the wrong class".into());
                    }
                }
                vc.operands
                    .push(match entry_regs.get(k).copied().flatten() {
                        Some(r) => Operand::reg_fixed_def(v, arg_preg(r)),
                        None => Operand::any_def(v),
                    });
            }
            vc.insts.push(VInst {
                kind: VKind::Params,
                ops: ops..vc.operands.len() as u32,
                clobbers: PRegSet::empty(),
                succ_args: Vec::new(),
                fused: None,
            });
        } else {
            for &p in func.block_params(b) {
                if needed[func.resolve(p).index()] {
                    params.push(vreg(func, p)?);
                }
            }
        }
        let mut succs = Vec::new();
        let insts = func.block_insts(b);
        // Integer compares of this block that only its `br_if` or a `select` reads: computed
        // at that use, on the flags (pure, so they can move down to their only use).
        let fusions: Vec<(Inst, Inst)> = insts
            .iter()
            .filter_map(|&u| fused_compare(func, b, u, &counts).map(|c| (c, u)))
            .collect();
        for &inst in insts {
            // Constants only used as immediates need no instruction.
            if matches!(func.inst(inst).opcode, Opcode::I32Const | Opcode::I64Const)
                && func
                    .result(inst)
                    .is_some_and(|r| counts[func.resolve(r).index()] == 0)
            {
                continue;
            }
            if fusions.iter().any(|&(c, _)| c == inst)
                || folds.skip[inst.index()]
                || loads.skip[inst.index()]
                || rmw.skip[inst.index()]
            {
                continue;
            }
            let fused = fusions.iter().find(|&&(_, u)| u == inst).map(|&(c, _)| c);
            let ops = vc.operands.len() as u32;
            let clobbers = match fused {
                Some(c) => {
                    // A select keeps its two values (the result starts as the first).
                    let select = func.inst(inst).opcode == Opcode::Select;
                    if select {
                        for &a in &func.args(inst)[..2] {
                            vc.operands.push(Operand::reg_use(vreg(func, a)?));
                        }
                    }
                    let n = if imm_operand(func, c).is_some() { 1 } else { 2 };
                    let cargs = func.args(c);
                    if let Some(l) = loads.operand[c.index()] {
                        mem_operand_uses(func, c, l, &folds, &mut vc)?;
                    } else {
                        vc.operands.push(Operand::reg_use(vreg(func, cargs[0])?));
                        if n == 2 && cargs.len() == 2 {
                            let (a, b) = (vreg(func, cargs[0])?, vreg(func, cargs[1])?);
                            vc.operands.push(second_use(a, b));
                        }
                    }
                    if select {
                        let r = func.result(inst).ok_or("select without a result")?;
                        vc.operands.push(Operand::reg_reuse_def(vreg(func, r)?, 0));
                    }
                    PRegSet::empty()
                }
                None if rmw.store[inst.index()].is_some() => {
                    let r = rmw.store[inst.index()].ok_or("no read-modify-write")?;
                    rmw_constraints(func, inst, r, &folds, &mut vc)?
                }
                None if loads.operand[inst.index()].is_some() => {
                    let l = loads.operand[inst.index()].ok_or("no folded load")?;
                    mem_operand_constraints(func, inst, l, &folds, &mut vc)?
                }
                None => match &folds.forms[inst.index()] {
                    Some(f) => {
                        vc.addr[inst.index()] = Some(f.form);
                        folded_access_constraints(func, module, inst, f, &mut vc)?
                    }
                    None => constraints(func, module, inst, &mut vc)?,
                },
            };
            let mut succ_args = Vec::new();
            for t in func.targets(inst) {
                let bi = vc.block_index[t.block.index()];
                if bi == u32::MAX {
                    return Err("branch to a block outside the layout".into());
                }
                succs.push(regalloc2::Block::new(bi as usize));
                let s = vc.branch_args.len() as u32;
                let params = func.block_params(t.block);
                for (&a, &p) in func.call_args(*t).iter().zip(params) {
                    if needed[func.resolve(p).index()] {
                        vc.branch_args.push(vreg(func, a)?);
                    }
                }
                succ_args.push(s..vc.branch_args.len() as u32);
            }
            vc.insts.push(VInst {
                kind: VKind::Ir(inst),
                ops: ops..vc.operands.len() as u32,
                clobbers,
                succ_args,
                fused,
            });
        }
        if func.terminator(b).is_none() {
            return Err("block without terminator".into());
        }
        vc.blocks.push(VBlock {
            insts: start..vc.insts.len() as u32,
            succs,
            preds: Vec::new(),
            params,
            ir: b,
        });
    }
    for i in 0..vc.blocks.len() {
        for k in 0..vc.blocks[i].succs.len() {
            let s = vc.blocks[i].succs[k].index();
            vc.blocks[s].preds.push(regalloc2::Block::new(i));
        }
    }
    Ok(vc)
}

/// Pushes the operands of `inst` (uses first, in IR order, then defs) and returns its
/// clobbers.
fn constraints(
    func: &Function,
    module: &strata_vm::Module,
    inst: Inst,
    vc: &mut VCode,
) -> Result<PRegSet, String> {
    use Opcode::*;
    let data = func.inst(inst);
    let op = data.opcode;
    let args = func.args(inst);
    let mut uses = Vec::with_capacity(args.len());
    for &a in args {
        uses.push(vreg(func, a)?);
    }
    let mut defs = Vec::new();
    for r in func.results(inst) {
        defs.push(vreg(func, r)?);
    }
    let mut clobbers = PRegSet::empty();
    if let Some((c, _)) = const_divisor(func, inst) {
        // Reciprocal multiplication in r11 (`emit.rs`, `div_const`), with the result's
        // register as a second scratch when `needs_scratch` (then defined early, so it is not
        // the dividend's); a 64-bit reciprocal takes the high half of `mul`/`imul` in rdx and
        // leaves the result in rax.
        vc.operands.push(Operand::reg_use(uses[0]));
        let wide = matches!(op, I64DivS | I64DivU | I64RemS | I64RemU);
        let rem = matches!(op, I32RemS | I32RemU | I64RemS | I64RemU);
        let def = if wide && matches!(c.plan, super::divconst::Plan::Magic { .. }) {
            clobbers.add(abi::gpr(RDX));
            Operand::reg_fixed_def(defs[0], abi::gpr(RAX))
        } else if super::divconst::needs_scratch(c, if wide { 64 } else { 32 }, rem) {
            Operand::new(
                defs[0],
                regalloc2::OperandConstraint::Reg,
                regalloc2::OperandKind::Def,
                regalloc2::OperandPos::Early,
            )
        } else {
            Operand::reg_def(defs[0])
        };
        vc.operands.push(def);
        return Ok(clobbers);
    }
    let ops = &mut vc.operands;
    if imm_operand(func, inst).is_some() {
        ops.push(Operand::reg_use(uses[0]));
        // Three-address forms (`setcc`, `lea`, `imul r, r, imm`): any register will do.
        if is_int_compare(op) || matches!(op, I32Add | I64Add | I32Sub | I64Sub | I32Mul | I64Mul) {
            ops.push(Operand::reg_def(defs[0]));
        } else {
            ops.push(Operand::reg_reuse_def(defs[0], 0));
        }
        return Ok(clobbers);
    }
    match op {
        Simd | I8x16Shuffle | SimdLoad | SimdStore => {
            return super::simd::constraints(func, module, inst, &uses, &defs, vc);
        }
        I32Const | I64Const | F32Const | F64Const | V128Const | RefNull | OsrLoadCell => {
            if let (OsrLoadCell, Imm::Index(k)) = (op, data.imm) {
                let t = func.value_type(func.resolve(defs_value(func, inst)));
                vc.osr_cells = vc.osr_cells.max(k + t.cells());
            }
            ops.push(Operand::reg_def(defs[0]));
        }
        I32Add | I64Add => {
            // `add` into either operand's register, else `lea`; a spilled second operand is
            // added from its cell.
            ops.push(Operand::reg_use(uses[0]));
            ops.push(second_use(uses[0], uses[1]));
            ops.push(Operand::reg_def(defs[0]));
        }
        I32Sub | I32Mul | I32And | I32Or | I32Xor | I64Sub | I64Mul | I64And | I64Or | I64Xor
        | F32Add | F32Sub | F32Mul | F32Div | F64Add | F64Sub | F64Mul | F64Div => {
            // The second operand may stay in its spill cell (`sub eax, [r14 + d]`).
            ops.push(Operand::reg_use(uses[0]));
            ops.push(second_use(uses[0], uses[1]));
            ops.push(Operand::reg_reuse_def(defs[0], 0));
        }
        F32Min | F32Max | F64Min | F64Max | F32Copysign | F64Copysign => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_use(uses[1]));
            ops.push(Operand::reg_reuse_def(defs[0], 0));
        }
        I32Shl | I32ShrS | I32ShrU | I64Shl | I64ShrS | I64ShrU if bmi2_shift(op) => {
            // `shlx d, x, count`: no fixed register, and the operand survives.
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_use(uses[1]));
            ops.push(Operand::reg_def(defs[0]));
        }
        I32Shl | I32ShrS | I32ShrU | I32Rotl | I32Rotr | I64Shl | I64ShrS | I64ShrU | I64Rotl
        | I64Rotr => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_fixed_use(uses[1], abi::gpr(RCX)));
            ops.push(Operand::reg_reuse_def(defs[0], 0));
        }
        I32DivS | I32DivU | I64DivS | I64DivU | I32RemS | I32RemU | I64RemS | I64RemU => {
            let rem = matches!(op, I32RemS | I32RemU | I64RemS | I64RemU);
            let (out, other) = if rem { (RDX, RAX) } else { (RAX, RDX) };
            ops.push(Operand::reg_fixed_use(uses[0], abi::gpr(RAX)));
            ops.push(Operand::reg_use(uses[1]));
            ops.push(Operand::reg_fixed_def(defs[0], abi::gpr(out)));
            clobbers.add(abi::gpr(other));
        }
        I64ExtendI32U if extends_bool(func, inst) => {
            // Already zero-extended: the result is the operand's register (a move at most).
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_reuse_def(defs[0], 0));
        }
        I32Eqz | I64Eqz | I32Clz | I32Ctz | I32Popcnt | I64Clz | I64Ctz | I64Popcnt
        | I32Extend8S | I32Extend16S | I64Extend8S | I64Extend16S | I64Extend32S | I32WrapI64
        | I64ExtendI32S | I64ExtendI32U | F32Abs | F32Neg | F32Ceil | F32Floor | F32Trunc
        | F32Nearest | F32Sqrt | F64Abs | F64Neg | F64Ceil | F64Floor | F64Trunc | F64Nearest
        | F64Sqrt | F32ConvertI32S | F32ConvertI64S | F64ConvertI32S | F64ConvertI64S
        | F32ConvertI32U | F64ConvertI32U | F32ConvertI64U | F64ConvertI64U | F32DemoteF64
        | F64PromoteF32 | I32ReinterpretF32 | I64ReinterpretF64 | F32ReinterpretI32
        | F64ReinterpretI64 | RefIsNull | I32TruncF32S | I32TruncF32U | I32TruncF64S
        | I32TruncF64U | I64TruncF32S | I64TruncF32U | I64TruncF64S | I64TruncF64U
        | I32TruncSatF32S | I32TruncSatF32U | I32TruncSatF64S | I32TruncSatF64U
        | I64TruncSatF32S | I64TruncSatF32U | I64TruncSatF64S | I64TruncSatF64U => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_def(defs[0]));
        }
        I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS | I32GeU
        | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU | I64GeS | I64GeU => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(second_use(uses[0], uses[1]));
            ops.push(Operand::reg_def(defs[0]));
        }
        F32Eq | F32Ne | F32Lt | F32Gt | F32Le | F32Ge | F64Eq | F64Ne | F64Lt | F64Gt | F64Le
        | F64Ge => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_use(uses[1]));
            ops.push(Operand::reg_def(defs[0]));
        }
        Select => {
            // a, b, cond: the result starts as `a` and takes `b` when cond is zero.
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_use(uses[1]));
            ops.push(Operand::reg_use(uses[2]));
            ops.push(Operand::reg_reuse_def(defs[0], 0));
        }
        I32Load | I64Load | F32Load | F64Load | I32Load8S | I32Load8U | I32Load16S | I32Load16U
        | I64Load8S | I64Load8U | I64Load16S | I64Load16U | I64Load32S | I64Load32U => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_def(defs[0]));
            if access_needs_r10(module, data.imm) {
                r10_temp(vc);
            }
        }
        I32Store | I64Store | F32Store | F64Store | I32Store8 | I32Store16 | I64Store8
        | I64Store16 | I64Store32 => {
            ops.push(Operand::reg_use(uses[0]));
            ops.push(Operand::reg_use(uses[1]));
            if access_needs_r10(module, data.imm) {
                r10_temp(vc);
            }
        }
        MemorySize => {
            ops.push(Operand::reg_def(defs[0]));
        }
        MemoryGrow => {
            ops.push(Operand::reg_fixed_use(uses[0], abi::gpr(RDX)));
            ops.push(Operand::reg_fixed_def(defs[0], abi::gpr(RAX)));
            clobbers = abi::call_clobbers();
            clobbers.remove(abi::gpr(RAX));
        }
        GlobalGet => {
            ops.push(Operand::reg_def(defs[0]));
        }
        GlobalSet => {
            ops.push(Operand::reg_use(uses[0]));
        }
        Invoke | InvokeImport | InvokeIndirect | InvokeRef | Throw | ThrowRef | Landing => {
            return super::exn::constraints(func, module, inst, &uses, &defs, vc);
        }
        Call | CallImport => {
            let Imm::Index(f) = data.imm else {
                return Err("call without a function index".into());
            };
            let ty = module.func_type(f);
            vc.call_cells = vc.call_cells.max(ty.param_cells().max(ty.result_cells()));
            // A defined callee takes its first arguments in registers; an import in cells.
            let defined = f >= module.num_imported_funcs;
            call_arg_uses(ops, &uses, defined.then_some(ty));
            for &d in &defs {
                ops.push(Operand::any_def(d));
            }
            clobbers = abi::call_clobbers();
        }
        CallIndirect | CallRef => {
            let (Imm::Index2(t, _) | Imm::Index(t)) = data.imm else {
                return Err(format!("{op} without a type"));
            };
            let ty = module
                .types
                .get(t as usize)
                .ok_or_else(|| format!("{op} of an unknown type"))?;
            // The table index or the function reference is saved in the cell after the
            // arguments.
            vc.call_cells = vc
                .call_cells
                .max((ty.param_cells() + 1).max(ty.result_cells()));
            // The arguments in registers for the inline same-instance path; the table index
            // or reference (last) anywhere.
            let n = uses.len() - 1;
            call_arg_uses(ops, &uses[..n], Some(ty));
            ops.push(Operand::any_use(uses[n]));
            for &d in &defs {
                ops.push(Operand::any_def(d));
            }
            clobbers = abi::call_clobbers();
        }
        ReturnCall | ReturnCallIndirect | ReturnCallRef => {
            // The arguments (then the table index or reference) go through the outgoing
            // call cells before they move to the frame's start (`emit.rs`).
            let ty = match (op, data.imm) {
                (ReturnCall, Imm::Index(f)) => module.func_type(f),
                (ReturnCallIndirect, Imm::Index2(t, _)) | (ReturnCallRef, Imm::Index(t)) => module
                    .types
                    .get(t as usize)
                    .ok_or("tail call of an unknown type")?,
                _ => return Err(format!("{op}: unexpected immediate")),
            };
            vc.call_cells = vc.call_cells.max(ty.param_cells() + 1);
            for &u in &uses {
                ops.push(Operand::any_use(u));
            }
        }
        MemoryFill | MemoryCopy | MemoryInit | DataDrop | ElemDrop | TableGet | TableSet
        | TableSize | TableGrow | TableFill | TableCopy | TableInit | RefFunc => {
            let nimm = helper_imms(op, data.imm)?.len();
            if nimm + uses.len() > 5 {
                return Err(format!("{op}: too many helper arguments"));
            }
            for (k, &u) in uses.iter().enumerate() {
                ops.push(Operand::reg_fixed_use(
                    u,
                    abi::gpr(abi::ARG_REGS[1 + nimm + k]),
                ));
            }
            clobbers = abi::call_clobbers();
            if let Some(&d) = defs.first() {
                ops.push(Operand::reg_fixed_def(d, abi::gpr(RAX)));
                clobbers.remove(abi::gpr(RAX));
            }
        }
        Trapz | Trapnz => {
            ops.push(Operand::reg_use(uses[0]));
        }
        Trap | Jump => {}
        // Fuel checks use only the emitter's scratch register r11; epoch checks r10 too.
        Interrupt => {
            if module.interrupts.epoch {
                r10_temp(vc);
            }
        }
        BrIf => {
            ops.push(Operand::reg_use(uses[0]));
        }
        BrTable => {
            // The index, and a register for the table entry (`emit.rs`: a jump through a
            // table of 32-bit offsets).
            ops.push(Operand::reg_use(uses[0]));
            let t = VReg::new(vc.num_vregs, RegClass::Int);
            vc.num_vregs += 1;
            vc.operands.push(Operand::reg_temp(t));
        }
        Return => {
            for &u in &uses {
                ops.push(Operand::any_use(u));
            }
        }
    }
    Ok(clobbers)
}

/// Whether `inst` is an `i64.extend_i32_u` of a comparison's result: a 0 or 1 that the
/// comparison wrote with `movzx` into the whole register (and that moves and spills keep
/// whole), so the extension is no instruction.
pub(super) fn extends_bool(func: &Function, inst: Inst) -> bool {
    use Opcode::*;
    let Some(&a) = func.args(inst).first() else {
        return false;
    };
    let strata_ir::ValueDef::Result(def, 0) = func.values[func.resolve(a)].def else {
        return false;
    };
    let op = func.inst(def).opcode;
    func.inst(inst).opcode == I64ExtendI32U
        && (is_int_compare(op)
            || matches!(
                op,
                F32Eq
                    | F32Ne
                    | F32Lt
                    | F32Gt
                    | F32Le
                    | F32Ge
                    | F64Eq
                    | F64Ne
                    | F64Lt
                    | F64Gt
                    | F64Le
                    | F64Ge
            ))
}

/// Whether shift `op` (by a count in a register) is lowered to BMI2's `shlx`/`shrx`/`sarx`
/// (when the CPU has them; rotates keep `cl`), leaving rcx to the allocator.
pub(super) fn bmi2_shift(op: Opcode) -> bool {
    use Opcode::*;
    matches!(op, I32Shl | I32ShrS | I32ShrU | I64Shl | I64ShrS | I64ShrU)
        && crate::jit::x64::has_bmi2()
}

/// Reserves r10 for the instruction being lowered (an early def of a fresh vreg fixed to
/// it): no operand of the instruction and no value live across it is there, so its
/// emission may use r10 as a second scratch register. Everywhere else r10 is allocatable.
pub(super) fn r10_temp(vc: &mut VCode) {
    let t = VReg::new(vc.num_vregs, RegClass::Int);
    vc.num_vregs += 1;
    vc.operands
        .push(Operand::reg_fixed_def_at_start(t, abi::gpr(abi::R10)));
}

/// Whether a load or store (immediate `imm`) needs r10 besides r11: the checks and rebasing
/// of a 64-bit memory or a memory other than 0 (`emit.rs`, `address64`, `other_memory`).
/// Memory 0 with 32-bit indices, the common case, needs r11 only, in both bounds modes.
pub(super) fn access_needs_r10(module: &strata_vm::Module, imm: Imm) -> bool {
    let mem = match imm {
        Imm::Mem(m) => m.memory,
        Imm::SimdMem(m, ..) => m.memory,
        _ => return false,
    };
    mem != 0
        || module
            .memories
            .get(mem as usize)
            .is_some_and(|m| m.memory64)
}

/// The second operand of a two-operand integer or scalar float instruction whose x86 form
/// takes a memory operand there: anywhere, so a value regalloc2 spilled is read from its
/// cell instead of reloaded into a register first (the baseline's memory operands, for
/// code that runs out of registers). The same value twice stays in one register.
fn second_use(first: VReg, second: VReg) -> Operand {
    if first == second {
        Operand::reg_use(second)
    } else {
        Operand::any_use(second)
    }
}

/// The first result of `inst`.
fn defs_value(func: &Function, inst: Inst) -> strata_ir::Value {
    func.inst(inst).first_result
}

/// Which block parameters are read, by value: by an instruction, or as the branch argument
/// of a parameter that is read. The others (a local a loop rewrites but never reads, say)
/// and the arguments passed for them are left out of the VCode, so that they take neither
/// registers nor moves. Entries of other values are unspecified.
fn needed_params(func: &Function) -> Vec<bool> {
    let mut needed = vec![false; func.values.len()];
    let mut work = Vec::new();
    let mut incoming: Vec<Vec<(Inst, u32)>> = vec![Vec::new(); func.blocks.len()];
    let mark = |v: strata_ir::Value, needed: &mut Vec<bool>, work: &mut Vec<strata_ir::Value>| {
        let v = func.resolve(v);
        if !needed[v.index()] {
            needed[v.index()] = true;
            work.push(v);
        }
    };
    for &b in &func.layout {
        for &inst in func.block_insts(b) {
            for &a in func.args(inst) {
                mark(a, &mut needed, &mut work);
            }
            for (k, t) in func.targets(inst).iter().enumerate() {
                incoming[t.block.index()].push((inst, k as u32));
            }
        }
    }
    while let Some(v) = work.pop() {
        let strata_ir::ValueDef::Param(b, i) = func.values[v].def else {
            continue;
        };
        for &(inst, k) in &incoming[b.index()] {
            let call = func.targets(inst)[k as usize];
            if let Some(&a) = func.call_args(call).get(i as usize) {
                mark(a, &mut needed, &mut work);
            }
        }
    }
    needed
}

/// A load or store's folded address (`AddrForm`) with the values it reads.
struct Folded {
    form: AddrForm,
    base: strata_ir::Value,
    index: Option<strata_ir::Value>,
}

/// The address folds of a function: per instruction, the folded form of a load or store,
/// and whether the instruction is an `i32.add`/`i32.sub` (or the `i32.shl` under one) that
/// only such accesses read, which then gets no instruction of its own.
struct AddressFolds {
    forms: Vec<Option<Folded>>,
    skip: Vec<bool>,
}

/// Folds an address `i32.add x, c`, `i32.sub x, c`, `i32.add x, y` or `i32.add x,
/// (i32.shl y, 1..=3)` into the loads and stores that use it, when all its uses are such
/// accesses (of 32-bit memories) in its own block: the operands then stay live to the
/// accesses instead of the sum, which needs no register (and, in a loop, no move).
fn address_folds(func: &Function, module: &strata_vm::Module, counts: &[u32]) -> AddressFolds {
    let n = func.insts.len();
    let mut folds = AddressFolds {
        forms: Vec::new(),
        skip: vec![false; n],
    };
    folds.forms.resize_with(n, || None);
    // The address sum an access could fold, defined in the access's block.
    let candidate = |b: Block, u: Inst| -> Option<(strata_ir::Value, Inst)> {
        let data = func.inst(u);
        if !is_scalar_access(data.opcode) {
            return None;
        }
        let Imm::Mem(m) = data.imm else {
            return None;
        };
        if module
            .memories
            .get(m.memory as usize)
            .is_none_or(|mem| mem.memory64)
        {
            return None;
        }
        let v = func.resolve(*func.args(u).first()?);
        let strata_ir::ValueDef::Result(d, 0) = func.values[v].def else {
            return None;
        };
        if func.inst_block[d] != Some(b) {
            return None;
        }
        match func.inst(d).opcode {
            Opcode::I32Add => Some((v, d)),
            Opcode::I32Sub if imm_operand(func, d).is_some() => Some((v, d)),
            _ => None,
        }
    };
    let mut addr_uses = vec![0u32; func.values.len()];
    let mut any = false;
    for &b in &func.layout {
        for &u in func.block_insts(b) {
            if let Some((v, _)) = candidate(b, u) {
                addr_uses[v.index()] += 1;
                any = true;
            }
        }
    }
    if !any {
        return folds;
    }
    // A shift by 1..=3 defined in `b` that only `sum` reads: an index scale.
    let scaled = |b: Block, v: strata_ir::Value| -> Option<(strata_ir::Value, Inst, u8)> {
        let v = func.resolve(v);
        let strata_ir::ValueDef::Result(d, 0) = func.values[v].def else {
            return None;
        };
        if func.inst(d).opcode != Opcode::I32Shl
            || func.inst_block[d] != Some(b)
            || counts[v.index()] != 1
        {
            return None;
        }
        let k = imm_operand(func, d)? & 31;
        (1..=3)
            .contains(&k)
            .then(|| (func.resolve(func.args(d)[0]), d, k as u8))
    };
    for &b in &func.layout {
        for &u in func.block_insts(b) {
            let Some((v, d)) = candidate(b, u) else {
                continue;
            };
            if addr_uses[v.index()] != counts[v.index()] {
                continue;
            }
            let args = func.args(d);
            let folded = if let Some(c) = imm_operand(func, d) {
                let disp = if func.inst(d).opcode == Opcode::I32Sub {
                    c.wrapping_neg()
                } else {
                    c
                };
                Folded {
                    form: AddrForm {
                        index: false,
                        scale: 0,
                        disp,
                    },
                    base: func.resolve(args[0]),
                    index: None,
                }
            } else {
                let (x, y) = (func.resolve(args[0]), func.resolve(args[1]));
                let (base, index, scale) = match (scaled(b, y), scaled(b, x)) {
                    (Some((i, shl, k)), _) => {
                        folds.skip[shl.index()] = true;
                        (x, i, k)
                    }
                    (None, Some((i, shl, k))) => {
                        folds.skip[shl.index()] = true;
                        (y, i, k)
                    }
                    (None, None) => (x, y, 0),
                };
                Folded {
                    form: AddrForm {
                        index: true,
                        scale,
                        disp: 0,
                    },
                    base,
                    index: Some(index),
                }
            };
            folds.skip[d.index()] = true;
            folds.forms[u.index()] = Some(folded);
        }
    }
    folds
}

/// Plain scalar loads and stores: their address is their first operand, and they address
/// through r11 (`emit::Gen::address`).
pub fn is_scalar_access(op: Opcode) -> bool {
    use Opcode::*;
    matches!(
        op,
        I32Load
            | I64Load
            | F32Load
            | F64Load
            | I32Load8S
            | I32Load8U
            | I32Load16S
            | I32Load16U
            | I64Load8S
            | I64Load8U
            | I64Load16S
            | I64Load16U
            | I64Load32S
            | I64Load32U
            | I32Store
            | I64Store
            | F32Store
            | F64Store
            | I32Store8
            | I32Store16
            | I64Store8
            | I64Store16
            | I64Store32
    )
}

/// The operands of a load or store with a folded address: base (and index), then the
/// loaded result or the stored value.
fn folded_access_constraints(
    func: &Function,
    module: &strata_vm::Module,
    inst: Inst,
    f: &Folded,
    vc: &mut VCode,
) -> Result<PRegSet, String> {
    vc.operands.push(Operand::reg_use(vreg(func, f.base)?));
    if let Some(i) = f.index {
        vc.operands.push(Operand::reg_use(vreg(func, i)?));
    }
    if let Some(r) = func.result(inst) {
        vc.operands.push(Operand::reg_def(vreg(func, r)?));
    } else {
        let v = *func.args(inst).get(1).ok_or("store without a value")?;
        vc.operands.push(Operand::reg_use(vreg(func, v)?));
    }
    if access_needs_r10(module, func.inst(inst).imm) {
        r10_temp(vc);
    }
    Ok(PRegSet::empty())
}

/// Loads read as an x86 memory operand by the instruction that uses them (`add eax,
/// [r13 + r11 + d]`): per instruction, the load it reads (`VCode::mem_operand`), and per
/// load whether it is folded (it then gets no instruction of its own).
struct LoadFolds {
    operand: Vec<Option<Inst>>,
    skip: Vec<bool>,
}

/// The plain load a `user` of opcode `op` can read as its memory operand at argument `k`:
/// integer compares (either operand), integer ALU ops (either operand of the commutative
/// ones, the second of `sub`), and the
/// second operand of scalar float arithmetic (whose first operand keeps its place: which
/// NaN comes out depends on the operand order).
fn mem_operand_load(op: Opcode, k: usize) -> Option<Opcode> {
    use Opcode::*;
    let (load, commutes) = match op {
        // `cmp [m], r`, `cmp r, [m]`, `cmp [m], imm` keep the operand order.
        I32Eqz | I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS
        | I32GeU => (I32Load, true),
        I64Eqz | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU | I64GeS
        | I64GeU => (I64Load, true),
        I32Add | I32Mul | I32And | I32Or | I32Xor => (I32Load, true),
        I32Sub => (I32Load, false),
        I64Add | I64Mul | I64And | I64Or | I64Xor => (I64Load, true),
        I64Sub => (I64Load, false),
        F32Add | F32Sub | F32Mul | F32Div => (F32Load, false),
        F64Add | F64Sub | F64Mul | F64Div => (F64Load, false),
        _ => return None,
    };
    (k == 1 || commutes).then_some(load)
}

/// Whether a load may execute later, past instruction `op`: nothing between them writes
/// memory or traps (the access must fault where it did, and before any later trap).
fn load_may_pass(op: Opcode) -> bool {
    op.is_pure() || (op.class() == strata_ir::Class::Read && !op.can_trap())
}

/// Folds a plain load of (32-bit) memory 0 into the ALU op that is its only user, in its
/// own block, when the load can move down to that user: every instruction between them
/// may be passed (`load_may_pass`), or is another folded load whose user comes later (the
/// accesses keep their order, so the first to fault is the same). The user then computes
/// the address (folded or not) and accesses memory itself, where a fault maps to the
/// load's trap and wasm offset.
fn load_folds(
    func: &Function,
    module: &strata_vm::Module,
    counts: &[u32],
    folds: &AddressFolds,
    rmw: &[bool],
) -> LoadFolds {
    let n = func.insts.len();
    let mut lf = LoadFolds {
        operand: vec![None; n],
        skip: vec![false; n],
    };
    if module.memories.first().is_none_or(|m| m.memory64) {
        return lf;
    }
    let mut pos = vec![u32::MAX; n];
    for &b in &func.layout {
        let insts = func.block_insts(b);
        for (i, &inst) in insts.iter().enumerate() {
            pos[inst.index()] = i as u32;
        }
        use Opcode::*;
        // A compare fused into its `br_if` or `select` runs there.
        let mut at: Vec<usize> = (0..insts.len()).collect();
        // A fused `i32.and` (a `test`) reads registers only.
        let mut test = vec![false; insts.len()];
        for (q, &u) in insts.iter().enumerate() {
            if let Some(c) = fused_compare(func, b, u, counts) {
                at[pos[c.index()] as usize] = q;
                test[pos[c.index()] as usize] = func.inst(c).opcode == I32And;
            }
        }
        // (load position, user position) per candidate.
        let mut cands: Vec<(usize, Inst, usize)> = Vec::new();
        for (i, &u) in insts.iter().enumerate() {
            let q = at[i];
            let op = func.inst(u).opcode;
            let args = func.args(u);
            let imm = imm_operand(func, u).is_some();
            let compare = is_int_compare(op);
            if folds.skip[u.index()]
                || rmw[u.index()]
                || test[i]
                || !(args.len() == 2 || (args.len() == 1 && compare))
                || (imm && !compare)
            {
                continue;
            }
            let ks: &[usize] = if args.len() == 1 || imm {
                &[0]
            } else {
                &[1, 0]
            };
            for &k in ks {
                let Some(want) = mem_operand_load(op, k) else {
                    continue;
                };
                let v = func.resolve(args[k]);
                let strata_ir::ValueDef::Result(l, 0) = func.values[v].def else {
                    continue;
                };
                let ok = func.inst(l).opcode == want
                    && func.inst_block[l] == Some(b)
                    && counts[v.index()] == 1
                    && matches!(func.inst(l).imm, Imm::Mem(m) if m.memory == 0)
                    && (pos[l.index()] as usize) < q;
                // Only passable instructions or loads (which may fold too) between: else
                // the other operand may still fold.
                let p = pos[l.index()] as usize;
                if ok
                    && insts[p + 1..q].iter().all(|&i| {
                        let op = func.inst(i).opcode;
                        load_may_pass(op) || matches!(op, I32Load | I64Load | F32Load | F64Load)
                    })
                {
                    cands.push((p, u, q));
                    break;
                }
            }
        }
        if cands.is_empty() {
            continue;
        }
        let mut user_at = vec![usize::MAX; insts.len()];
        loop {
            user_at.iter_mut().for_each(|u| *u = usize::MAX);
            for &(p, _, q) in &cands {
                user_at[p] = q;
            }
            let before = cands.len();
            cands.retain(|&(p, _, q)| {
                (p + 1..q).all(|r| match user_at[r] {
                    usize::MAX => load_may_pass(func.inst(insts[r]).opcode),
                    q2 => q2 > q,
                })
            });
            if cands.len() == before {
                break;
            }
        }
        for (p, u, _) in cands {
            lf.operand[u.index()] = Some(insts[p]);
            lf.skip[insts[p].index()] = true;
        }
    }
    lf
}

/// Read-modify-write folds: per store, the `Rmw` it performs (`VCode::rmw`), and per
/// instruction whether it is the op or the load of one (no instruction of its own).
struct RmwFolds {
    store: Vec<Option<Rmw>>,
    skip: Vec<bool>,
}

/// The load a store of opcode `store` can read-modify-write: the same width (a narrow
/// store keeps the low bits of the op, which only the load's low bits decide, whichever
/// extension it had).
fn rmw_load_matches(store: Opcode, load: Opcode) -> bool {
    use Opcode::*;
    matches!(
        (store, load),
        (I32Store, I32Load)
            | (I64Store, I64Load)
            | (I32Store8, I32Load8U | I32Load8S)
            | (I32Store16, I32Load16U | I32Load16S)
            | (I64Store8, I64Load8U | I64Load8S)
            | (I64Store16, I64Load16U | I64Load16S)
            | (I64Store32, I64Load32U | I64Load32S)
    )
}

/// Whether `op` with the load at argument `k` has an x86 read-modify-write form for a store
/// of `store`: `add`/`and`/`or`/`xor` (either side), `sub` (the load on the left), shifts
/// by a constant (the load on the left, full-width stores only: a narrow store of a right
/// shift would need the bits above it).
fn rmw_op(func: &Function, inst: Inst, k: usize, store: Opcode) -> bool {
    use Opcode::*;
    let op = func.inst(inst).opcode;
    let full = matches!(store, I32Store | I64Store);
    match op {
        I32Add | I32And | I32Or | I32Xor | I64Add | I64And | I64Or | I64Xor => true,
        I32Sub | I64Sub => k == 0,
        I32Shl | I32ShrS | I32ShrU | I64Shl | I64ShrS | I64ShrU => {
            k == 0 && full && imm_operand(func, inst).is_some()
        }
        _ => false,
    }
}

/// Finds `store(a, op(load(a), x))` in (32-bit) memory 0, emitted as one x86
/// read-modify-write instruction (`add [r13 + r11 + d], x`): the store and the load have
/// the same address value (or folded address form), offset and width, the load is used
/// only by the op and the op only by the store, all three in one block, and nothing
/// between the load and the store writes memory or traps (so the one instruction's fault
/// is the load's: the same out-of-bounds trap at the same address, which it reports; in
/// explicit-bounds mode the load's check covers the store).
fn rmw_folds(
    func: &Function,
    module: &strata_vm::Module,
    counts: &[u32],
    folds: &AddressFolds,
) -> RmwFolds {
    let n = func.insts.len();
    let mut rf = RmwFolds {
        store: vec![None; n],
        skip: vec![false; n],
    };
    if module.memories.first().is_none_or(|m| m.memory64) {
        return rf;
    }
    let single_def = |v: strata_ir::Value| -> Option<Inst> {
        let v = func.resolve(v);
        match func.values[v].def {
            ValueDef::Result(d, 0) if counts[v.index()] == 1 => Some(d),
            _ => None,
        }
    };
    for &b in &func.layout {
        let insts = func.block_insts(b);
        for (q, &s) in insts.iter().enumerate() {
            let sd = func.inst(s);
            let Imm::Mem(sm) = sd.imm else {
                continue;
            };
            if !is_scalar_access(sd.opcode) || func.result(s).is_some() || sm.memory != 0 {
                continue;
            }
            let sargs = func.args(s);
            let Some(op) = sargs.get(1).and_then(|&v| single_def(v)) else {
                continue;
            };
            if func.inst_block[op] != Some(b) || rf.skip[op.index()] {
                continue;
            }
            let oargs = func.args(op);
            if oargs.len() != 2 {
                continue;
            }
            let found = (0..2).find_map(|k| {
                let l = single_def(oargs[k])?;
                let ld = func.inst(l);
                let Imm::Mem(lm) = ld.imm else {
                    return None;
                };
                let same_addr = func.resolve(func.args(l)[0]) == func.resolve(sargs[0]);
                let ok = func.inst_block[l] == Some(b)
                    && rmw_load_matches(sd.opcode, ld.opcode)
                    && lm.memory == 0
                    && lm.offset == sm.offset
                    && same_addr
                    && rmw_op(func, op, k, sd.opcode)
                    && func.resolve(oargs[1 - k]) != func.resolve(oargs[k])
                    && folds.forms[l.index()]
                        .as_ref()
                        .map(|f| (f.form, f.base, f.index))
                        == folds.forms[s.index()]
                            .as_ref()
                            .map(|f| (f.form, f.base, f.index));
                ok.then_some(l)
            });
            let Some(l) = found else {
                continue;
            };
            let p = insts[..q].iter().position(|&i| i == l);
            let Some(p) = p else {
                continue;
            };
            // Only pure, non-trapping instructions (the op among them) between the load and
            // the store: nothing that writes memory, traps or calls.
            if insts[p + 1..q]
                .iter()
                .all(|&i| func.inst(i).opcode.is_pure() && !func.inst(i).opcode.can_trap())
                && insts[p + 1..q].contains(&op)
            {
                rf.store[s.index()] = Some(Rmw { op, load: l });
                rf.skip[op.index()] = true;
                rf.skip[l.index()] = true;
            }
        }
    }
    rf
}

/// The operands of a read-modify-write store: the op's other operand (unless it is an
/// immediate), then the address operands (base, and index when folded). Sets the store's
/// and the load's address form (`VCode::addr`).
fn rmw_constraints(
    func: &Function,
    store: Inst,
    r: Rmw,
    folds: &AddressFolds,
    vc: &mut VCode,
) -> Result<PRegSet, String> {
    vc.addr[store.index()] = folds.forms[store.index()].as_ref().map(|f| f.form);
    vc.addr[r.load.index()] = vc.addr[store.index()];
    if imm_operand(func, r.op).is_none() {
        let lv = func.resolve(func.result(r.load).ok_or("load without a result")?);
        let other = func
            .args(r.op)
            .iter()
            .copied()
            .find(|&a| func.resolve(a) != lv)
            .ok_or("read-modify-write without a second operand")?;
        vc.operands.push(Operand::reg_use(vreg(func, other)?));
    }
    address_uses(func, store, folds, vc)?;
    Ok(PRegSet::empty())
}

/// The uses of memory access `access`'s address: its folded form's base and index
/// (`address_folds`), or the address operand itself.
fn address_uses(
    func: &Function,
    access: Inst,
    folds: &AddressFolds,
    vc: &mut VCode,
) -> Result<(), String> {
    match &folds.forms[access.index()] {
        Some(f) => {
            vc.operands.push(Operand::reg_use(vreg(func, f.base)?));
            if let Some(i) = f.index {
                vc.operands.push(Operand::reg_use(vreg(func, i)?));
            }
        }
        None => {
            let a = *func
                .args(access)
                .first()
                .ok_or("access without an address")?;
            vc.operands.push(Operand::reg_use(vreg(func, a)?));
        }
    }
    Ok(())
}

/// The operands of an instruction reading a folded load (`load_folds`): the uses of
/// `mem_operand_uses`, then for an ALU op the result in its other operand's register
/// (`op d, [r13 + r11 + disp]`), for a compare a register of its own (`setcc`).
fn mem_operand_constraints(
    func: &Function,
    inst: Inst,
    load: Inst,
    folds: &AddressFolds,
    vc: &mut VCode,
) -> Result<PRegSet, String> {
    mem_operand_uses(func, inst, load, folds, vc)?;
    let r = vreg(func, func.result(inst).ok_or("no result")?)?;
    if is_int_compare(func.inst(inst).opcode) {
        vc.operands.push(Operand::reg_def(r));
    } else {
        vc.operands.push(Operand::reg_reuse_def(r, 0));
    }
    Ok(PRegSet::empty())
}

/// The uses of an instruction reading folded load `load`: its other operand (unless it
/// has none or an immediate), then the load's address operands (base, and index when
/// folded). Sets the load's address form (`VCode::addr`).
fn mem_operand_uses(
    func: &Function,
    inst: Inst,
    load: Inst,
    folds: &AddressFolds,
    vc: &mut VCode,
) -> Result<(), String> {
    vc.addr[load.index()] = folds.forms[load.index()].as_ref().map(|f| f.form);
    let args = func.args(inst);
    let lv = func.resolve(func.result(load).ok_or("load without a result")?);
    if args.len() == 2 && imm_operand(func, inst).is_none() {
        let other = if func.resolve(args[1]) == lv {
            args[0]
        } else {
            args[1]
        };
        vc.operands.push(Operand::reg_use(vreg(func, other)?));
    }
    address_uses(func, load, folds, vc)?;
    Ok(())
}

/// Per value: an `i32` whose register provably holds it zero-extended (upper 32 bits
/// clear), so that it can index memory without design.md §4's explicit `mov r11d, x`.
///
/// The proof rule (docs/abi.md §8): a result of an opcode in `ZEXT_RESULTS`, every one of
/// which `emit.rs` lowers to an instruction writing the 32-bit register of its result
/// (x86-64 clears the upper half on every 32-bit write: `add r32`, `lea r32`, `mov r32,
/// imm32`, `movzx`/`movsx r32`, `mov r32, [m]`, ...), whichever form it takes (immediate,
/// spilled operand, folded load); or a parameter of a non-entry block all of whose incoming
/// branch arguments are zero-extended (regalloc2's moves, spills and reloads copy all 64
/// bits, `Gen::mov`). The largest such set of parameters is found by an optimistic fixed
/// point (a loop counter feeds itself). Everything else (entry parameters read from cells,
/// call and `invoke` results, selects, compares, values of other types) is unknown.
pub(crate) fn zero_extended(func: &Function) -> Vec<bool> {
    use Opcode::*;
    let mut zext = vec![false; func.values.len()];
    for &b in &func.layout {
        for &inst in func.block_insts(b) {
            let data = func.inst(inst);
            let defines = matches!(
                data.opcode,
                I32Const
                    | I32Add
                    | I32Sub
                    | I32Mul
                    | I32And
                    | I32Or
                    | I32Xor
                    | I32Shl
                    | I32ShrS
                    | I32ShrU
                    | I32Rotl
                    | I32Rotr
                    | I32Clz
                    | I32Ctz
                    | I32Popcnt
                    | I32WrapI64
                    | I32Extend8S
                    | I32Extend16S
                    | I32Load
                    | I32Load8S
                    | I32Load8U
                    | I32Load16S
                    | I32Load16U
            );
            if defines && data.num_results == 1 {
                if let Some(r) = func.result(inst) {
                    let r = func.resolve(r);
                    zext[r.index()] = func.value_type(r) == Type::I32;
                }
            }
        }
    }
    // Optimistic start for the i32 parameters of blocks other than the entry; a parameter
    // some edge passes no value for (an exceptional edge) or an unknown one is cleared,
    // until nothing changes.
    let entry = func.entry();
    let mut any = false;
    for &b in &func.layout {
        if Some(b) == entry {
            continue;
        }
        for (i, &p) in func.block_params(b).iter().enumerate() {
            if func.value_type(p) == Type::I32 && func.values[p].def == ValueDef::Param(b, i as u32)
            {
                zext[p.index()] = true;
                any = true;
            }
        }
    }
    let mut entered = vec![false; func.blocks.len()];
    if any {
        loop {
            let mut changed = false;
            for &b in &func.layout {
                for &inst in func.block_insts(b) {
                    for t in func.targets(inst) {
                        entered[t.block.index()] = true;
                        let args = func.call_args(*t);
                        for (i, &p) in func.block_params(t.block).iter().enumerate() {
                            if zext[p.index()]
                                && func.values[p].def == ValueDef::Param(t.block, i as u32)
                                && !args.get(i).is_some_and(|&a| zext[func.resolve(a).index()])
                            {
                                zext[p.index()] = false;
                                changed = true;
                            }
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }
    // A block no branch enters (not the entry) has nothing to prove its parameters by.
    for &b in &func.layout {
        if Some(b) != entry && !entered[b.index()] {
            for &p in func.block_params(b) {
                zext[p.index()] = false;
            }
        }
    }
    zext
}

/// Per instruction: an integer division or remainder whose divisor is proved non-zero,
/// so that it needs no zero test of its own. The proof: the divisor is a constant other
/// than 0, or its block is reached only through
/// a chain of blocks with one predecessor each (so the chain's first edge dominates it),
/// ending in a `jump` or in a `br_if` edge taken only when the divisor is non-zero: the
/// true edge of `br_if d`, `br_if (ne d 0)` or `br_if (eqz (eqz d))`, the false edge of
/// `br_if (eqz d)` or `br_if (eq d 0)` (`d` the divisor's value itself, not a copy). The
/// entry block, exceptional edges and `br_table` end the walk unproved.
pub(crate) fn nonzero_divisors(func: &Function) -> Vec<bool> {
    use Opcode::*;
    let mut out = vec![false; func.insts.len()];
    let is_div = |op| {
        matches!(
            op,
            I32DivS | I32DivU | I32RemS | I32RemU | I64DivS | I64DivU | I64RemS | I64RemU
        )
    };
    let divs: Vec<(Block, Inst)> = func
        .layout
        .iter()
        .flat_map(|&b| func.block_insts(b).iter().map(move |&i| (b, i)))
        .filter(|&(_, i)| is_div(func.inst(i).opcode))
        .collect();
    if divs.is_empty() {
        return out;
    }
    // Per block: (predecessor, its terminator, which of its targets) of every edge in.
    let mut preds: Vec<Vec<(Block, Inst, usize)>> = vec![Vec::new(); func.blocks.len()];
    for &b in &func.layout {
        for &i in func.block_insts(b) {
            for (k, t) in func.targets(i).iter().enumerate() {
                preds[t.block.index()].push((b, i, k));
            }
        }
    }
    let def = |v: strata_ir::Value| match func.values[func.resolve(v)].def {
        ValueDef::Result(d, 0) => Some(d),
        _ => None,
    };
    let is_zero = |v: strata_ir::Value| {
        def(v).is_some_and(|d| {
            matches!(
                (func.inst(d).opcode, func.inst(d).imm),
                (I32Const, Imm::I32(0)) | (I64Const, Imm::I64(0))
            )
        })
    };
    // Whether condition `c` proves `v` non-zero on its true edge (`taken`) or false edge.
    let proves = |c: strata_ir::Value, taken: bool, v: strata_ir::Value| -> bool {
        let c = func.resolve(c);
        if taken && c == v {
            return true;
        }
        let Some(d) = def(c) else {
            return false;
        };
        let args: Vec<_> = func.args(d).iter().map(|&a| func.resolve(a)).collect();
        match (func.inst(d).opcode, taken) {
            (I32Ne | I64Ne, true) | (I32Eq | I64Eq, false) => {
                (args[0] == v && is_zero(args[1])) || (args[1] == v && is_zero(args[0]))
            }
            (I32Eqz | I64Eqz, false) => args[0] == v,
            (I32Eqz, true) => def(args[0]).is_some_and(|e| {
                matches!(func.inst(e).opcode, I32Eqz | I64Eqz) && func.resolve(func.args(e)[0]) == v
            }),
            _ => false,
        }
    };
    let entry = func.entry();
    for (b0, div) in divs {
        let v = func.resolve(func.args(div)[1]);
        // A constant divisor other than 0.
        let constant = def(v).is_some_and(|d| {
            matches!(
                (func.inst(d).opcode, func.inst(d).imm),
                (I32Const, Imm::I32(c)) if c != 0
            ) || matches!(
                (func.inst(d).opcode, func.inst(d).imm),
                (I64Const, Imm::I64(c)) if c != 0
            )
        });
        if constant {
            out[div.index()] = true;
            continue;
        }
        let mut b = b0;
        // A bounded walk: a chain longer than this is left unproved.
        for _ in 0..16 {
            if Some(b) == entry {
                break;
            }
            let [(p, t, k)] = preds[b.index()][..] else {
                break;
            };
            match func.inst(t).opcode {
                Jump => b = p,
                BrIf => {
                    if proves(func.args(t)[0], k == 0, v) {
                        out[div.index()] = true;
                        break;
                    }
                    b = p;
                }
                _ => break,
            }
        }
    }
    out
}

/// How many times each value is used (operands and branch arguments).
fn use_counts(func: &Function) -> Vec<u32> {
    let mut counts = vec![0u32; func.values.len()];
    for &b in &func.layout {
        for &inst in func.block_insts(b) {
            let folded = imm_operand(func, inst).is_some() || const_divisor(func, inst).is_some();
            for (k, &a) in func.args(inst).iter().enumerate() {
                if !(folded && k == 1) {
                    counts[func.resolve(a).index()] += 1;
                }
            }
            for t in func.targets(inst) {
                for &a in func.call_args(*t) {
                    counts[func.resolve(a).index()] += 1;
                }
            }
        }
    }
    counts
}

/// Integer add, sub, mul, and, or, xor, shifts and rotates of either width: two operands
/// and a result in general registers, the second operand a register or an immediate.
pub fn is_int_alu(op: Opcode) -> bool {
    use Opcode::*;
    matches!(
        op,
        I32Add
            | I32Sub
            | I32Mul
            | I32And
            | I32Or
            | I32Xor
            | I64Add
            | I64Sub
            | I64Mul
            | I64And
            | I64Or
            | I64Xor
            | I32Shl
            | I32ShrS
            | I32ShrU
            | I32Rotl
            | I32Rotr
            | I64Shl
            | I64ShrS
            | I64ShrU
            | I64Rotl
            | I64Rotr
    )
}

/// Whether integer compare `cmp` feeds only the `br_if` right after it, which can then
/// branch on the compare's flags.
pub fn is_int_compare(op: Opcode) -> bool {
    use Opcode::*;
    matches!(
        op,
        I32Eqz
            | I64Eqz
            | I32Eq
            | I32Ne
            | I32LtS
            | I32LtU
            | I32GtS
            | I32GtU
            | I32LeS
            | I32LeU
            | I32GeS
            | I32GeU
            | I64Eq
            | I64Ne
            | I64LtS
            | I64LtU
            | I64GtS
            | I64GtU
            | I64LeS
            | I64LeU
            | I64GeS
            | I64GeU
    )
}

/// The integer compare of block `b` whose result only `user` (a `br_if` or a `select` of
/// the block) reads as its condition: the user tests the compare's flags instead of a 0/1
/// value.
fn fused_compare(func: &Function, b: Block, user: Inst, counts: &[u32]) -> Option<Inst> {
    let k = match func.inst(user).opcode {
        Opcode::BrIf => 0,
        Opcode::Select => 2,
        _ => return None,
    };
    let cond = func.resolve(func.args(user)[k]);
    let strata_ir::ValueDef::Result(cmp, 0) = func.values[cond].def else {
        return None;
    };
    // An `i32.and` as a condition is `test` (nonzero: `jne`/`cmovne`), its result unused.
    let op = func.inst(cmp).opcode;
    let ok = (is_int_compare(op) || op == Opcode::I32And)
        && func.inst_block[cmp] == Some(b)
        && counts[cond.index()] == 1;
    ok.then_some(cmp)
}

/// The order blocks are laid out in: the IR layout, with each block that only jumps on
/// (the edge blocks `split_critical_edges` appends at the end) moved right after its only
/// predecessor. A loop's back edge then stays next to its latch (one taken jump per
/// iteration), and regalloc2, which takes an edge to an earlier block as a loop's back
/// edge for its loop-depth spill weights, sees each loop where it is.
fn block_order(func: &Function) -> Vec<Block> {
    let n = func.blocks.len();
    let mut preds = vec![0u32; n];
    for &b in &func.layout {
        if let Some(t) = func.terminator(b) {
            for c in func.targets(t) {
                preds[c.block.index()] += 1;
            }
        }
    }
    let entry = func.layout.first().copied();
    let is_edge = |b: Block| {
        Some(b) != entry
            && preds[b.index()] == 1
            && matches!(func.block_insts(b), [j] if func.inst(*j).opcode == Opcode::Jump)
    };
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(func.layout.len());
    let place = |b: Block, order: &mut Vec<Block>, placed: &mut Vec<bool>| {
        // The block, then its edge blocks (and theirs), depth first.
        let mut stack = vec![b];
        while let Some(b) = stack.pop() {
            if placed[b.index()] {
                continue;
            }
            placed[b.index()] = true;
            order.push(b);
            if let Some(t) = func.terminator(b) {
                for c in func.targets(t).iter().rev() {
                    if is_edge(c.block) && !placed[c.block.index()] {
                        stack.push(c.block);
                    }
                }
            }
        }
    };
    for &b in &func.layout {
        if !is_edge(b) {
            place(b, &mut order, &mut placed);
        }
    }
    // Edge blocks whose predecessor is not laid out.
    for &b in &func.layout {
        place(b, &mut order, &mut placed);
    }
    order
}

/// The constant second operand of an integer ALU op, multiply, shift or compare that x86
/// encodes as a (sign-extended 32-bit) immediate.
/// An integer division or remainder by a constant done without `div`
/// (`divconst::plan`): its plan and the divisor.
pub fn const_divisor(func: &Function, inst: Inst) -> Option<(super::divconst::ConstDiv, i64)> {
    use Opcode::*;
    let op = func.inst(inst).opcode;
    let (signed, bits) = match op {
        I32DivU | I32RemU => (false, 32),
        I32DivS | I32RemS => (true, 32),
        I64DivU | I64RemU => (false, 64),
        I64DivS | I64RemS => (true, 64),
        _ => return None,
    };
    let v = func.resolve(*func.args(inst).get(1)?);
    let strata_ir::ValueDef::Result(def, 0) = func.values[v].def else {
        return None;
    };
    let d = match (func.inst(def).opcode, func.inst(def).imm) {
        (I32Const, Imm::I32(c)) => i64::from(c),
        (I64Const, Imm::I64(c)) => c,
        _ => return None,
    };
    Some((super::divconst::plan(signed, bits, d)?, d))
}

pub fn imm_operand(func: &Function, inst: Inst) -> Option<i32> {
    use Opcode::*;
    let op = func.inst(inst).opcode;
    let takes = is_int_alu(op) || (is_int_compare(op) && !matches!(op, I32Eqz | I64Eqz));
    if !takes {
        return None;
    }
    let v = func.resolve(*func.args(inst).get(1)?);
    let strata_ir::ValueDef::Result(def, 0) = func.values[v].def else {
        return None;
    };
    match func.inst(def).imm {
        Imm::I32(c) if func.inst(def).opcode == I32Const => Some(c),
        Imm::I64(c) if func.inst(def).opcode == I64Const && c as i32 as i64 == c => Some(c as i32),
        _ => None,
    }
}

/// The immediate arguments a runtime helper takes after the `VMContext`, in order.
pub fn helper_imms(op: Opcode, imm: Imm) -> Result<Vec<u32>, String> {
    use Opcode::*;
    Ok(match (op, imm) {
        (MemoryFill, Imm::Index(mem)) => vec![mem],
        (MemoryCopy, Imm::Index2(dst, src)) => vec![dst, src],
        (MemoryInit, Imm::Index2(seg, mem)) => vec![mem, seg],
        (
            DataDrop | ElemDrop | TableGet | TableSet | TableSize | TableGrow | TableFill,
            Imm::Index(i),
        )
        | (RefFunc, Imm::Index(i)) => vec![i],
        (TableCopy, Imm::Index2(d, s)) => vec![d, s],
        (TableInit, Imm::Index2(seg, table)) => vec![table, seg],
        _ => return Err(format!("{op}: unexpected immediate")),
    })
}
