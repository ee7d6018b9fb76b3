//! The SSA function: blocks with parameters (no phi nodes), instructions in a dense arena,
//! values typed and defined once.

use crate::opcode::{ImmKind, Opcode, Ty};
use crate::types::Type;
use std::fmt;
use strata_vm::TrapCode;

macro_rules! entity {
    ($name:ident, $prefix:literal) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

entity!(Value, "v");
entity!(Block, "block");
entity!(Inst, "inst");

/// A memory access's immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemArg {
    pub memory: u32,
    pub offset: u64,
    /// log2 of the alignment hint.
    pub align: u8,
    /// Whether the access still needs its bounds check (explicit-bounds mode; a check
    /// dominated by one that covers it is removed by a pass).
    pub checked: bool,
}

/// What an instruction carries besides its operands (see `opcode::ImmKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Imm {
    None,
    /// An integer constant (sign-extended i32 in the low bits), or a float's bits.
    Const(u64),
    Mem(MemArg),
    Index(u32),
    Pair(u32, u32),
    Trap(TrapCode),
    Type(Type),
    Cell(u32),
}

impl Imm {
    pub fn kind(&self) -> ImmKind {
        match self {
            Imm::None => ImmKind::None,
            Imm::Const(_) => ImmKind::Const,
            Imm::Mem(_) => ImmKind::Mem,
            Imm::Index(_) => ImmKind::Index,
            Imm::Pair(..) => ImmKind::Pair,
            Imm::Trap(_) => ImmKind::Trap,
            Imm::Type(_) => ImmKind::Type,
            Imm::Cell(_) => ImmKind::Cell,
        }
    }
}

/// A branch destination: a block and the values passed to its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCall {
    pub block: Block,
    pub args: Vec<Value>,
}

/// A run of values in `Function::pool`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValueList {
    start: u32,
    len: u32,
}

impl ValueList {
    pub fn len(self) -> usize {
        self.len as usize
    }
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

#[derive(Clone, Debug)]
pub struct InstData {
    pub op: Opcode,
    pub imm: Imm,
    pub args: ValueList,
    pub results: ValueList,
    /// Terminators' destinations: `jump` [target], `brif` [then, else], `br_table`
    /// [targets..., default].
    pub dests: Vec<BlockCall>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// Result `n` of an instruction.
    Result(Inst, u32),
    /// Parameter `n` of a block.
    Param(Block, u32),
    /// Replaced by another value (resolved by `Function::resolve`, removed by
    /// `Function::resolve_aliases`).
    Alias(Value),
}

#[derive(Clone, Copy, Debug)]
pub struct ValueData {
    pub ty: Type,
    pub def: ValueDef,
}

#[derive(Clone, Debug, Default)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
}

/// An entry into the function at a loop header from a running frame of another tier
/// (design.md §5): the block has no parameters, reads the frame with `osr.load` and jumps to
/// the loop's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OsrEntry {
    /// The loop's ordinal among the body's `loop` operators (the OSR key).
    pub loop_index: u32,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Function {
    pub name: String,
    pub params: Vec<Type>,
    pub results: Vec<Type>,
    pub blocks: Vec<BlockData>,
    /// The blocks in program order; the first is the entry (its parameters are the
    /// function's). Blocks not listed are removed.
    pub layout: Vec<Block>,
    pub insts: Vec<InstData>,
    pub values: Vec<ValueData>,
    pub pool: Vec<Value>,
    pub osr_entries: Vec<OsrEntry>,
}

impl Function {
    pub fn new(name: impl Into<String>, params: Vec<Type>, results: Vec<Type>) -> Function {
        Function {
            name: name.into(),
            params,
            results,
            ..Function::default()
        }
    }

    pub fn entry(&self) -> Option<Block> {
        self.layout.first().copied()
    }

    /// A new block, appended to the layout.
    pub fn create_block(&mut self) -> Block {
        let b = Block(self.blocks.len() as u32);
        self.blocks.push(BlockData::default());
        self.layout.push(b);
        b
    }

    pub fn append_param(&mut self, block: Block, ty: Type) -> Value {
        let n = self.blocks[block.index()].params.len() as u32;
        let v = self.new_value(ty, ValueDef::Param(block, n));
        self.blocks[block.index()].params.push(v);
        v
    }

    fn new_value(&mut self, ty: Type, def: ValueDef) -> Value {
        let v = Value(self.values.len() as u32);
        self.values.push(ValueData { ty, def });
        v
    }

    pub fn list(&mut self, values: &[Value]) -> ValueList {
        let start = self.pool.len() as u32;
        self.pool.extend_from_slice(values);
        ValueList {
            start,
            len: values.len() as u32,
        }
    }

    pub fn values_of(&self, list: ValueList) -> &[Value] {
        &self.pool[list.start as usize..(list.start + list.len) as usize]
    }

    pub fn values_of_mut(&mut self, list: ValueList) -> &mut [Value] {
        &mut self.pool[list.start as usize..(list.start + list.len) as usize]
    }

    pub fn args(&self, inst: Inst) -> &[Value] {
        self.values_of(self.insts[inst.index()].args)
    }

    pub fn results(&self, inst: Inst) -> &[Value] {
        self.values_of(self.insts[inst.index()].results)
    }

    pub fn ty(&self, v: Value) -> Type {
        self.values[v.index()].ty
    }

    /// Appends an instruction to `block` with results of `result_types` (for opcodes with
    /// fixed result types, pass those).
    pub fn append_inst(
        &mut self,
        block: Block,
        op: Opcode,
        imm: Imm,
        args: &[Value],
        result_types: &[Type],
        dests: Vec<BlockCall>,
    ) -> Inst {
        let inst = Inst(self.insts.len() as u32);
        let args = self.list(args);
        let start = self.pool.len() as u32;
        for (n, &ty) in result_types.iter().enumerate() {
            let v = self.new_value(ty, ValueDef::Result(inst, n as u32));
            self.pool.push(v);
        }
        let results = ValueList {
            start,
            len: result_types.len() as u32,
        };
        self.insts.push(InstData {
            op,
            imm,
            args,
            results,
            dests,
        });
        self.blocks[block.index()].insts.push(inst);
        inst
    }

    /// The result types an opcode has by its table row, if all are fixed.
    pub fn fixed_results(op: Opcode) -> Option<Vec<Type>> {
        op.results()
            .iter()
            .map(|t| match t {
                Ty::T(t) => Some(*t),
                Ty::Dyn => None,
            })
            .collect()
    }

    /// The terminator of `block`, if it has one.
    pub fn terminator(&self, block: Block) -> Option<Inst> {
        let last = *self.blocks[block.index()].insts.last()?;
        self.insts[last.index()].op.is_terminator().then_some(last)
    }

    /// Successor blocks of `block`, in destination order (with repeats).
    pub fn successors(&self, block: Block) -> impl Iterator<Item = Block> + '_ {
        self.terminator(block)
            .into_iter()
            .flat_map(move |t| self.insts[t.index()].dests.iter().map(|d| d.block))
    }

    /// The value `v` stands for, following aliases.
    pub fn resolve(&self, mut v: Value) -> Value {
        while let ValueDef::Alias(to) = self.values[v.index()].def {
            v = to;
        }
        v
    }

    /// Makes `v` an alias of `to`: every use of `v` means `to` from now on.
    pub fn alias(&mut self, v: Value, to: Value) {
        debug_assert_ne!(self.resolve(to), v, "alias cycle");
        self.values[v.index()].def = ValueDef::Alias(to);
    }

    /// Rewrites every use of an alias to the value it stands for.
    pub fn resolve_aliases(&mut self) {
        let mut pool = std::mem::take(&mut self.pool);
        for v in pool.iter_mut() {
            *v = self.resolve(*v);
        }
        self.pool = pool;
        let mut insts = std::mem::take(&mut self.insts);
        for i in insts.iter_mut() {
            for d in i.dests.iter_mut() {
                for a in d.args.iter_mut() {
                    *a = self.resolve(*a);
                }
            }
        }
        self.insts = insts;
    }

    /// The blocks in layout order that are OSR entries.
    pub fn is_osr_entry(&self, block: Block) -> bool {
        self.osr_entries.iter().any(|e| e.block == block)
    }

    /// Number of instructions in the layout.
    pub fn num_insts(&self) -> usize {
        self.layout
            .iter()
            .map(|b| self.blocks[b.index()].insts.len())
            .sum()
    }
}

/// Short names of trap codes in the text form.
pub fn trap_name(code: TrapCode) -> &'static str {
    match code {
        TrapCode::Unreachable => "unreachable",
        TrapCode::MemoryOutOfBounds => "heap_oob",
        TrapCode::TableOutOfBounds => "table_oob",
        TrapCode::IndirectCallToNull => "indirect_null",
        TrapCode::UndefinedElement => "undefined_element",
        TrapCode::BadSignature => "bad_signature",
        TrapCode::IntegerOverflow => "int_overflow",
        TrapCode::IntegerDivisionByZero => "int_divz",
        TrapCode::BadConversionToInteger => "bad_toint",
        TrapCode::StackOverflow => "stack_overflow",
        TrapCode::NullReference => "null_reference",
        TrapCode::Host => "host",
        TrapCode::Exit => "exit",
    }
}

pub fn trap_from_name(name: &str) -> Option<TrapCode> {
    use TrapCode::*;
    [
        Unreachable,
        MemoryOutOfBounds,
        TableOutOfBounds,
        IndirectCallToNull,
        UndefinedElement,
        BadSignature,
        IntegerOverflow,
        IntegerDivisionByZero,
        BadConversionToInteger,
        StackOverflow,
        NullReference,
        Host,
        Exit,
    ]
    .into_iter()
    .find(|&c| trap_name(c) == name)
}

impl Function {
    /// Renumbers blocks, instructions and values densely in layout order (block parameters
    /// before the block's instructions, results in order), dropping what the layout no longer
    /// reaches and resolving aliases. The text form of a compacted function parses back to
    /// the same numbers.
    pub fn compact(&mut self) {
        self.resolve_aliases();
        let mut block_map = vec![u32::MAX; self.blocks.len()];
        for (n, &b) in self.layout.iter().enumerate() {
            block_map[b.index()] = n as u32;
        }
        let mut value_map = vec![u32::MAX; self.values.len()];
        let mut values = Vec::with_capacity(self.values.len());
        let mut next_inst = 0u32;
        for (bn, &b) in self.layout.iter().enumerate() {
            let data = &self.blocks[b.index()];
            for (pn, &p) in data.params.iter().enumerate() {
                value_map[p.index()] = values.len() as u32;
                values.push(ValueData {
                    ty: self.ty(p),
                    def: ValueDef::Param(Block(bn as u32), pn as u32),
                });
            }
            for &i in &data.insts {
                for (rn, &r) in self.results(i).iter().enumerate() {
                    value_map[r.index()] = values.len() as u32;
                    values.push(ValueData {
                        ty: self.ty(r),
                        def: ValueDef::Result(Inst(next_inst), rn as u32),
                    });
                }
                next_inst += 1;
            }
        }
        let map_v = |v: Value| Value(value_map[v.index()]);
        let mut out = Function::new(
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.params),
            std::mem::take(&mut self.results),
        );
        out.values = values;
        for &b in &self.layout {
            let nb = out.create_block();
            let data = &self.blocks[b.index()];
            out.blocks[nb.index()].params = data.params.iter().map(|&p| map_v(p)).collect();
            for &i in &data.insts {
                let old = &self.insts[i.index()];
                let args: Vec<Value> = self.values_of(old.args).iter().map(|&v| map_v(v)).collect();
                let res: Vec<Value> = self.results(i).iter().map(|&v| map_v(v)).collect();
                let args = out.list(&args);
                let results = out.list(&res);
                let dests = old
                    .dests
                    .iter()
                    .map(|d| BlockCall {
                        block: Block(block_map[d.block.index()]),
                        args: d.args.iter().map(|&v| map_v(v)).collect(),
                    })
                    .collect();
                let ni = Inst(out.insts.len() as u32);
                out.insts.push(InstData {
                    op: old.op,
                    imm: old.imm,
                    args,
                    results,
                    dests,
                });
                out.blocks[nb.index()].insts.push(ni);
            }
        }
        out.osr_entries = self
            .osr_entries
            .iter()
            .filter(|e| block_map[e.block.index()] != u32::MAX)
            .map(|e| OsrEntry {
                loop_index: e.loop_index,
                block: Block(block_map[e.block.index()]),
            })
            .collect();
        *self = out;
    }
}
