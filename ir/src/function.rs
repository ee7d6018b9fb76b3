//! The `Function` container: values, blocks with parameters, instructions, and a builder.
//!
//! Storage is flat: instructions in one vector, their arguments in one pooled value list,
//! branch targets in one pooled list of [`BlockCall`]s. A block owns the ordered list of its
//! instructions; `layout` is the order blocks are printed and compiled in.

use crate::entity::{EntityVec, ListRange};
use crate::opcode::{Format, Opcode};
use crate::simd::SimdOp;
use crate::types::Type;
use crate::{Block, Inst, Value};
use strata_vm::TrapCode;

/// A memory access's static part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemArg {
    pub memory: u32,
    /// The constant offset added to the dynamic address (wasm's `offset`).
    pub offset: u64,
    /// log2 of the alignment hint.
    pub align: u8,
    /// Whether a bounds check is still needed (false once an analysis proved the access in
    /// bounds, or when the back end's guard pages cover it).
    pub checked: bool,
}

/// An instruction's immediates. Which variant goes with which opcode is the opcode's
/// [`Format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Imm {
    None,
    I32(i32),
    I64(i64),
    /// f32 bits.
    F32(u32),
    /// f64 bits.
    F64(u64),
    Type(Type),
    /// A function, memory, global, table, data segment, element segment or cell index.
    Index(u32),
    /// Two indices: (dst, src) memories/tables, (segment, memory/table), (type, table).
    Index2(u32, u32),
    Mem(MemArg),
    Trap(TrapCode),
    /// Branch targets: a range of `Function::call_pool`.
    Targets(ListRange),
    /// 16 bytes in memory order: the constant of `v128.const`, the lanes of `i8x16.shuffle`.
    V128([u8; 16]),
    /// The operator of a `simd` instruction and its lane index (0 when it has none).
    Simd(SimdOp, u8),
    /// The operator of a `simd.load`/`simd.store`, its memory access and lane index.
    SimdMem(MemArg, SimdOp, u8),
}

/// A branch target: a block and the arguments passed to its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockCall {
    pub block: Block,
    pub args: ListRange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InstData {
    pub opcode: Opcode,
    pub imm: Imm,
    /// Operands, in `Function::value_pool`.
    pub args: ListRange,
    /// Results are consecutive values starting at `first_result`.
    pub first_result: Value,
    pub num_results: u32,
}

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueDef {
    /// The n-th result of an instruction.
    Result(Inst, u32),
    /// The n-th parameter of a block.
    Param(Block, u32),
    /// Replaced by another value: every use reads through to it (`resolve_aliases` removes
    /// aliases from the function).
    Alias(Value),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueData {
    pub ty: Type,
    pub def: ValueDef,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
}

/// An OSR entry: a block with no predecessors that reads the frame and jumps to the header of
/// the loop with this ordinal (design.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OsrEntry {
    /// The loop's index among the body's `loop` operators (dead ones included).
    pub loop_ordinal: u32,
    pub block: Block,
}

/// A function in SSA form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub params: Vec<Type>,
    pub results: Vec<Type>,
    pub values: EntityVec<Value, ValueData>,
    pub blocks: EntityVec<Block, BlockData>,
    pub insts: EntityVec<Inst, InstData>,
    /// The block of each instruction (`None` once removed from its block).
    pub inst_block: EntityVec<Inst, Option<Block>>,
    pub value_pool: Vec<Value>,
    pub call_pool: Vec<BlockCall>,
    /// Block order; the first block is the normal entry.
    pub layout: Vec<Block>,
    pub osr_entries: Vec<OsrEntry>,
    /// Where each instruction came from in the wasm module (`srcloc`).
    pub srclocs: SrcLocs,
}

/// The byte offset in the wasm module of the operator each instruction was made for, by
/// `Inst`, for backtraces: the back end maps trap sites and call return addresses to them.
/// `make_inst` gives a new instruction `current`: the wasm translator sets it at each
/// operator; a pass that makes an instruction in place of another sets it to that one's
/// (the e-graph keeps trapping and calling instructions in its skeleton, so they keep
/// theirs; pure values it re-creates get the offset of the skeleton instruction they are
/// placed before, which no backtrace shows). Debug information: two functions that differ
/// only here are equal.
#[derive(Clone, Debug)]
pub struct SrcLocs {
    by_inst: Vec<u32>,
    /// What new instructions get (`NO_SRCLOC`: none, e.g. text IR).
    pub current: u32,
    /// The function's first operator (which may make no instruction, e.g. `local.get`).
    pub entry: u32,
}

/// No source location.
pub const NO_SRCLOC: u32 = u32::MAX;

impl Default for SrcLocs {
    fn default() -> SrcLocs {
        SrcLocs {
            by_inst: Vec::new(),
            current: NO_SRCLOC,
            entry: NO_SRCLOC,
        }
    }
}

impl PartialEq for SrcLocs {
    fn eq(&self, _: &SrcLocs) -> bool {
        true
    }
}

impl Eq for SrcLocs {}

impl SrcLocs {
    /// The source offset of `inst`, if it has one.
    pub fn get(&self, inst: Inst) -> Option<u32> {
        self.by_inst
            .get(inst.0 as usize)
            .copied()
            .filter(|&o| o != NO_SRCLOC)
    }

    /// The offset of the function's first operator (where a frame stopped on entry is):
    /// `entry` when the translator set it, else the lowest offset of an instruction.
    pub fn first(&self) -> Option<u32> {
        if self.entry != NO_SRCLOC {
            return Some(self.entry);
        }
        self.by_inst
            .iter()
            .copied()
            .filter(|&o| o != NO_SRCLOC)
            .min()
    }

    /// Sets `inst`'s source offset.
    pub fn set(&mut self, inst: Inst, offset: u32) {
        let i = inst.0 as usize;
        if self.by_inst.len() <= i {
            self.by_inst.resize(i + 1, NO_SRCLOC);
        }
        self.by_inst[i] = offset;
    }
}

impl Function {
    /// The wasm offset of the operator `inst` was made for (`SrcLocs`).
    pub fn srcloc(&self, inst: Inst) -> Option<u32> {
        self.srclocs.get(inst)
    }

    pub fn new(name: impl Into<String>, params: Vec<Type>, results: Vec<Type>) -> Self {
        Function {
            name: name.into(),
            params,
            results,
            ..Default::default()
        }
    }

    /// The normal entry block (its parameters are the function's parameters).
    pub fn entry(&self) -> Option<Block> {
        self.layout.first().copied()
    }

    /// The normal entry followed by every OSR entry.
    pub fn entries(&self) -> impl Iterator<Item = Block> + '_ {
        self.entry()
            .into_iter()
            .chain(self.osr_entries.iter().map(|e| e.block))
    }

    // ---- blocks and values -------------------------------------------------------------

    /// A new block, appended to the layout.
    pub fn create_block(&mut self) -> Block {
        let b = self.blocks.push(BlockData::default());
        self.layout.push(b);
        b
    }

    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        let n = self.blocks[block].params.len() as u32;
        let v = self.values.push(ValueData {
            ty,
            def: ValueDef::Param(block, n),
        });
        self.blocks[block].params.push(v);
        v
    }

    pub fn block_params(&self, block: Block) -> &[Value] {
        &self.blocks[block].params
    }

    pub fn block_insts(&self, block: Block) -> &[Inst] {
        &self.blocks[block].insts
    }

    pub fn value_type(&self, v: Value) -> Type {
        self.values[v].ty
    }

    /// Follows aliases to the value that really defines `v`.
    pub fn resolve(&self, mut v: Value) -> Value {
        // Alias chains are short; the bound guards against a (verifier-rejected) cycle.
        for _ in 0..self.values.len() + 1 {
            match self.values[v].def {
                ValueDef::Alias(to) => v = to,
                _ => return v,
            }
        }
        v
    }

    /// Makes every use of `from` read `to` instead (`from` must not be `to`'s definition).
    pub fn make_alias(&mut self, from: Value, to: Value) {
        let to = self.resolve(to);
        debug_assert_ne!(from, to);
        self.values[from].def = ValueDef::Alias(to);
    }

    /// Rewrites every operand and branch argument that reads an alias to the aliased value.
    pub fn resolve_all_aliases(&mut self) {
        for i in 0..self.value_pool.len() {
            let v = self.value_pool[i];
            if let ValueDef::Alias(_) = self.values[v].def {
                self.value_pool[i] = self.resolve(v);
            }
        }
    }

    // ---- instructions ------------------------------------------------------------------

    pub fn inst(&self, inst: Inst) -> &InstData {
        &self.insts[inst]
    }

    pub fn args(&self, inst: Inst) -> &[Value] {
        &self.value_pool[self.insts[inst].args.range()]
    }

    pub fn args_mut(&mut self, inst: Inst) -> &mut [Value] {
        let r = self.insts[inst].args.range();
        &mut self.value_pool[r]
    }

    pub fn results(&self, inst: Inst) -> impl ExactSizeIterator<Item = Value> {
        let d = &self.insts[inst];
        (d.first_result.0..d.first_result.0 + d.num_results).map(Value)
    }

    /// The single result of an instruction that has exactly one.
    pub fn result(&self, inst: Inst) -> Option<Value> {
        let d = &self.insts[inst];
        (d.num_results == 1).then_some(d.first_result)
    }

    /// Branch targets of a terminator (empty for `return`/`trap` and non-terminators).
    pub fn targets(&self, inst: Inst) -> &[BlockCall] {
        match self.insts[inst].imm {
            Imm::Targets(r) => &self.call_pool[r.range()],
            _ => &[],
        }
    }

    pub fn targets_mut(&mut self, inst: Inst) -> &mut [BlockCall] {
        match self.insts[inst].imm {
            Imm::Targets(r) => &mut self.call_pool[r.range()],
            _ => &mut [],
        }
    }

    pub fn call_args(&self, call: BlockCall) -> &[Value] {
        &self.value_pool[call.args.range()]
    }

    /// A value list in the pool.
    pub fn make_list(&mut self, values: &[Value]) -> ListRange {
        let start = self.value_pool.len() as u32;
        self.value_pool.extend_from_slice(values);
        ListRange {
            start,
            len: values.len() as u32,
        }
    }

    pub fn make_block_call(&mut self, block: Block, args: &[Value]) -> BlockCall {
        BlockCall {
            block,
            args: self.make_list(args),
        }
    }

    /// Appends one argument to the `index`-th target of branch `inst` (Braun's phi operands).
    pub fn push_target_arg(&mut self, inst: Inst, index: usize, arg: Value) {
        let call = self.targets(inst)[index];
        let args = if call.args.start as usize + call.args.len as usize == self.value_pool.len() {
            // Already last in the pool: grow in place.
            self.value_pool.push(arg);
            ListRange {
                start: call.args.start,
                len: call.args.len + 1,
            }
        } else {
            let start = self.value_pool.len() as u32;
            self.value_pool.extend_from_within(call.args.range());
            self.value_pool.push(arg);
            ListRange {
                start,
                len: call.args.len + 1,
            }
        };
        self.targets_mut(inst)[index].args = args;
    }

    /// The terminator of a block, if its last instruction is one.
    pub fn terminator(&self, block: Block) -> Option<Inst> {
        let last = *self.blocks[block].insts.last()?;
        self.insts[last].opcode.is_terminator().then_some(last)
    }

    /// Successor blocks of `block` (with repeats, in target order).
    pub fn successors(&self, block: Block) -> impl Iterator<Item = Block> + '_ {
        self.terminator(block)
            .into_iter()
            .flat_map(|t| self.targets(t).iter().map(|c| c.block))
    }

    /// Creates an instruction (not yet in a block) with result values of the given types.
    pub fn make_inst(
        &mut self,
        opcode: Opcode,
        imm: Imm,
        args: &[Value],
        result_types: &[Type],
    ) -> Inst {
        let args = self.make_list(args);
        let inst = self.insts.next_key();
        let first_result = Value(self.values.len() as u32);
        for (i, &ty) in result_types.iter().enumerate() {
            self.values.push(ValueData {
                ty,
                def: ValueDef::Result(inst, i as u32),
            });
        }
        let inst = self.insts.push(InstData {
            opcode,
            imm,
            args,
            first_result,
            num_results: result_types.len() as u32,
        });
        self.inst_block.push(None);
        let at = self.srclocs.current;
        if at != NO_SRCLOC || !self.srclocs.by_inst.is_empty() {
            self.srclocs.set(inst, at);
        }
        inst
    }

    /// Inserts an instruction into a block before position `index`.
    pub fn insert_inst(&mut self, block: Block, index: usize, inst: Inst) {
        self.blocks[block].insts.insert(index, inst);
        self.inst_block[inst] = Some(block);
    }

    /// Takes an instruction out of its block (it stays in `insts`, unused).
    pub fn remove_inst(&mut self, inst: Inst) {
        if let Some(b) = self.inst_block[inst].take() {
            self.blocks[b].insts.retain(|i| *i != inst);
        }
    }

    pub fn append_inst(&mut self, block: Block, inst: Inst) {
        self.blocks[block].insts.push(inst);
        self.inst_block[inst] = Some(block);
    }

    /// Number of instructions in blocks of the layout.
    pub fn num_live_insts(&self) -> usize {
        self.layout
            .iter()
            .map(|b| self.blocks[*b].insts.len())
            .sum()
    }

    /// Result types of `opcode` when its signature fixes them (or `Imm::Type` gives them).
    pub fn fixed_result_types(opcode: Opcode, imm: &Imm) -> Option<&'static [Type]> {
        if let Some(sig) = opcode.signature() {
            return Some(sig.results);
        }
        const I32: &[Type] = &[Type::I32];
        const FUNCREF: &[Type] = &[Type::FuncRef];
        const EXTERNREF: &[Type] = &[Type::ExternRef];
        match (opcode, imm) {
            (Opcode::RefNull, Imm::Type(Type::FuncRef)) => Some(FUNCREF),
            (Opcode::RefNull, Imm::Type(Type::ExternRef)) => Some(EXTERNREF),
            (Opcode::RefIsNull, _) => Some(I32),
            // `memory.size`/`grow`, `table.size`/`grow`: the index type of their memory or
            // table (i64 for a 64-bit one), so the text form writes it.
            (Opcode::GlobalSet | Opcode::TableSet | Opcode::TableFill, _) => Some(&[]),
            (o, _) if o.is_terminator() => Some(&[]),
            _ => None,
        }
    }

    /// Whether the text form must spell this instruction's result types out.
    pub fn needs_result_types(&self, inst: Inst) -> bool {
        let d = &self.insts[inst];
        match Self::fixed_result_types(d.opcode, &d.imm) {
            Some(_) => false,
            None => d.opcode != Opcode::Select,
        }
    }

    /// The immediate format of an instruction.
    pub fn format(&self, inst: Inst) -> Format {
        self.insts[inst].opcode.format()
    }
}

impl<K: crate::entity::EntityRef, V> EntityVec<K, V> {
    /// The key the next `push` will return.
    pub fn next_key(&self) -> K {
        K::new(self.len())
    }
}

/// Appends instructions at the end of a block: the generic way to construct any opcode.
pub struct Builder<'f> {
    pub func: &'f mut Function,
    pub block: Block,
}

impl<'f> Builder<'f> {
    pub fn new(func: &'f mut Function, block: Block) -> Self {
        Builder { func, block }
    }

    /// Any instruction: opcode, immediates, arguments, result types. Returns the instruction.
    pub fn inst(
        &mut self,
        opcode: Opcode,
        imm: Imm,
        args: &[Value],
        result_types: &[Type],
    ) -> Inst {
        let inst = self.func.make_inst(opcode, imm, args, result_types);
        self.func.append_inst(self.block, inst);
        inst
    }

    /// An instruction whose result types follow from its opcode (and immediate): every pure
    /// opcode, loads, stores... Returns its single result, if it has one.
    pub fn op(&mut self, opcode: Opcode, imm: Imm, args: &[Value]) -> Option<Value> {
        let tys = Function::fixed_result_types(opcode, &imm).unwrap_or_default();
        let inst = self.inst(opcode, imm, args, tys);
        self.func.result(inst)
    }

    /// A pure opcode with no immediate applied to arguments (`i32.add v1, v2`).
    pub fn unary_or_binary(&mut self, opcode: Opcode, args: &[Value]) -> Value {
        self.op(opcode, Imm::None, args)
            .expect("opcode with one result")
    }

    pub fn iconst32(&mut self, v: i32) -> Value {
        self.op(Opcode::I32Const, Imm::I32(v), &[]).unwrap()
    }
    pub fn iconst64(&mut self, v: i64) -> Value {
        self.op(Opcode::I64Const, Imm::I64(v), &[]).unwrap()
    }
    pub fn fconst32(&mut self, bits: u32) -> Value {
        self.op(Opcode::F32Const, Imm::F32(bits), &[]).unwrap()
    }
    pub fn fconst64(&mut self, bits: u64) -> Value {
        self.op(Opcode::F64Const, Imm::F64(bits), &[]).unwrap()
    }

    pub fn jump(&mut self, dest: Block, args: &[Value]) -> Inst {
        let call = self.func.make_block_call(dest, args);
        self.branch(Opcode::Jump, &[], &[call])
    }

    pub fn br_if(
        &mut self,
        cond: Value,
        then: (Block, &[Value]),
        else_: (Block, &[Value]),
    ) -> Inst {
        let t = self.func.make_block_call(then.0, then.1);
        let e = self.func.make_block_call(else_.0, else_.1);
        self.branch(Opcode::BrIf, &[cond], &[t, e])
    }

    /// A branch terminator with prepared targets.
    pub fn branch(&mut self, opcode: Opcode, args: &[Value], targets: &[BlockCall]) -> Inst {
        let start = self.func.call_pool.len() as u32;
        self.func.call_pool.extend_from_slice(targets);
        let r = ListRange {
            start,
            len: targets.len() as u32,
        };
        self.inst(opcode, Imm::Targets(r), args, &[])
    }

    pub fn ret(&mut self, values: &[Value]) -> Inst {
        self.inst(Opcode::Return, Imm::None, values, &[])
    }

    pub fn trap(&mut self, code: TrapCode) -> Inst {
        self.inst(Opcode::Trap, Imm::Trap(code), &[], &[])
    }
}
