//! The verifier: structure (one terminator per block, at its end), types and arities of
//! operands, results and block arguments, and dominance of every use. Run after every pass in
//! tests and debug builds.

use crate::analysis::{ControlFlowGraph, DominatorTree};
use crate::entity::EntityRef;
use crate::function::{Function, Imm, ValueDef};
use crate::opcode::{Format, Opcode};
use crate::types::{type_name, Type};
use crate::{Inst, Value};
use std::fmt;

/// Everything wrong with a function (the first few errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierErrors(pub Vec<String>);

impl fmt::Display for VerifierErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifierErrors {}

const MAX_ERRORS: usize = 20;

struct Verifier<'a> {
    func: &'a Function,
    errors: Vec<String>,
    in_layout: Vec<bool>,
}

fn format_matches(format: Format, imm: &Imm) -> bool {
    matches!(
        (format, imm),
        (Format::Nullary | Format::Return, Imm::None)
            | (Format::ConstI32, Imm::I32(_))
            | (Format::ConstI64, Imm::I64(_))
            | (Format::ConstF32, Imm::F32(_))
            | (Format::ConstF64, Imm::F64(_))
            | (
                Format::RefType,
                Imm::Type(Type::FuncRef | Type::ExternRef | Type::ExnRef)
            )
            | (
                Format::FuncIndex
                    | Format::Call
                    | Format::MemIndex
                    | Format::DataIndex
                    | Format::Global
                    | Format::Table
                    | Format::ElemIndex
                    | Format::CallRef
                    | Format::Cell,
                Imm::Index(_)
            )
            | (
                Format::MemCopy
                    | Format::MemInit
                    | Format::TableCopy
                    | Format::TableInit
                    | Format::CallIndirect,
                Imm::Index2(..)
            )
            | (Format::Memory, Imm::Mem(_))
            | (Format::ConstV128 | Format::Shuffle, Imm::V128(_))
            | (Format::Simd, Imm::Simd(..))
            | (Format::SimdMem, Imm::SimdMem(..))
            | (Format::Trap, Imm::Trap(_))
            | (
                Format::Jump | Format::BrIf | Format::BrTable,
                Imm::Targets(_)
            )
            | (Format::Invoke, Imm::Invoke(_))
            | (Format::Landing, Imm::Index2(..))
    )
}

impl Verifier<'_> {
    fn error(&mut self, at: impl fmt::Display, msg: impl fmt::Display) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(format!("{}: {at}: {msg}", self.func.name));
        }
    }

    fn ty(&self, v: Value) -> Type {
        self.func.value_type(self.func.resolve(v))
    }

    fn types(&self, vs: &[Value]) -> Vec<Type> {
        vs.iter().map(|v| self.ty(*v)).collect()
    }

    /// Index operands that must share one index type: `memory.fill`'s address and length
    /// (one memory); a copy's length is i64 exactly when both sides are 64-bit.
    fn index_types_agree(&mut self, inst: Inst, op: Opcode, args: &[Type]) {
        let ok = match (op, args) {
            (Opcode::MemoryFill, [d, _, n]) => d == n,
            (Opcode::MemoryCopy | Opcode::TableCopy, [d, s, n]) => {
                (*n == Type::I64) == (*d == Type::I64 && *s == Type::I64)
            }
            _ => true,
        };
        if !ok {
            self.error(inst, format!("{op}: index types of the operands disagree"));
        }
    }

    fn expect_types(&mut self, inst: Inst, what: &str, got: &[Type], want: &[Type]) {
        if got != want {
            let list = |ts: &[Type]| {
                ts.iter()
                    .map(|t| type_name(*t))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let op = self.func.inst(inst).opcode;
            self.error(
                inst,
                format!(
                    "{op}: {what} are ({}), expected ({})",
                    list(got),
                    list(want)
                ),
            );
        }
    }

    fn structure(&mut self, cfg: &ControlFlowGraph) {
        let f = self.func;
        let mut seen = vec![false; f.blocks.len()];
        for &b in &f.layout {
            if b.index() >= f.blocks.len() {
                self.error(b, "block in the layout does not exist");
                continue;
            }
            if std::mem::replace(&mut seen[b.index()], true) {
                self.error(b, "block twice in the layout");
            }
            let insts = f.block_insts(b);
            if insts.is_empty() {
                self.error(b, "empty block");
            }
            for (i, &inst) in insts.iter().enumerate() {
                if f.inst_block.get(inst).copied().flatten() != Some(b) {
                    self.error(
                        inst,
                        format!("instruction does not record {b} as its block"),
                    );
                }
                let last = i + 1 == insts.len();
                if f.inst(inst).opcode.is_terminator() != last {
                    self.error(
                        inst,
                        if last {
                            "block does not end with a terminator"
                        } else {
                            "terminator before the end of the block"
                        },
                    );
                }
            }
            for (i, &p) in f.block_params(b).iter().enumerate() {
                if f.values[p].def != ValueDef::Param(b, i as u32) {
                    self.error(p, format!("parameter {i} of {b} does not say so"));
                }
            }
        }
        if self.errors.is_empty() {
            // Entries: the normal one takes the function's parameters; OSR entries take none.
            match f.entry() {
                None => self.error("function", "no blocks"),
                Some(e) => {
                    let got = self.types(f.block_params(e));
                    if got != f.params {
                        self.error(e, "entry block parameters differ from the signature");
                    }
                }
            }
            for entry in &f.osr_entries {
                if !cfg.in_layout(entry.block) {
                    self.error(entry.block, "OSR entry block not in the layout");
                } else if !f.block_params(entry.block).is_empty() {
                    self.error(entry.block, "OSR entry block has parameters");
                }
            }
            for e in f.entries() {
                if cfg.in_layout(e) && !cfg.preds(e).is_empty() {
                    self.error(e, "an entry block has predecessors");
                }
            }
        }
    }

    fn inst(&mut self, inst: Inst, osr_block: bool) {
        let f = self.func;
        let d = *f.inst(inst);
        let op = d.opcode;
        if !format_matches(op.format(), &d.imm) {
            self.error(inst, format!("{op}: immediate {:?} does not fit", d.imm));
            return;
        }
        for (i, r) in f.results(inst).enumerate() {
            if f.values.get(r).map(|v| v.def) != Some(ValueDef::Result(inst, i as u32)) {
                self.error(inst, format!("result {i} ({r}) does not point back"));
            }
        }
        let args = self.types(f.args(inst));
        let results: Vec<Type> = f.results(inst).map(|r| f.value_type(r)).collect();
        if let Some(sig) = op.signature() {
            // An index operand of a 64-bit memory or table is i64 where the row says i32.
            let mut params = sig.params.to_vec();
            for &k in op.index_operands() {
                if args.get(k) == Some(&Type::I64) && params.get(k) == Some(&Type::I32) {
                    params[k] = Type::I64;
                }
            }
            self.expect_types(inst, "operands", &args, &params);
            self.expect_types(inst, "results", &results, sig.results);
            self.index_types_agree(inst, op, &args);
        } else {
            use Opcode::*;
            let is_ref = |t: &Type| t.is_ref();
            let is_index = |t: &Type| matches!(t, Type::I32 | Type::I64);
            match op {
                RefNull => {
                    if let Imm::Type(t) = d.imm {
                        self.expect_types(inst, "results", &results, &[t]);
                    }
                    self.expect_types(inst, "operands", &args, &[]);
                }
                RefIsNull => {
                    if args.len() != 1 || !is_ref(&args[0]) {
                        self.error(inst, "ref.is_null takes one reference");
                    }
                    self.expect_types(inst, "results", &results, &[Type::I32]);
                }
                Select => {
                    if args.len() != 3 || args[0] != args[1] || args[2] != Type::I32 {
                        self.error(inst, "select takes (T, T, i32)");
                    } else {
                        self.expect_types(inst, "results", &results, &[args[0]]);
                    }
                }
                Simd | SimdLoad | SimdStore => {
                    let (Imm::Simd(sop, lane) | Imm::SimdMem(_, sop, lane)) = d.imm else {
                        return;
                    };
                    if (op == Simd) == sop.is_memory()
                        || matches!(
                            sop,
                            crate::simd::SimdOp::V128Const | crate::simd::SimdOp::I8x16Shuffle
                        )
                        || (op == SimdStore) != sop.is_store()
                    {
                        self.error(inst, format!("{sop} is not an operator of {op}"));
                    }
                    if lane >= sop.lane_count().unwrap_or(1) {
                        self.error(inst, format!("{sop}: lane {lane} out of range"));
                    }
                    let (params, res) = sop.signature();
                    // A 64-bit memory's address is i64 where the row says i32.
                    let mut params = params.to_vec();
                    if op != Simd && args.first() == Some(&Type::I64) {
                        if let Some(p) = params.first_mut() {
                            *p = Type::I64;
                        }
                    }
                    self.expect_types(inst, "operands", &args, &params);
                    self.expect_types(inst, "results", &results, res);
                }
                GlobalGet => {
                    self.expect_types(inst, "operands", &args, &[]);
                    if results.len() != 1 {
                        self.error(inst, "global.get has one result");
                    }
                }
                GlobalSet => {
                    if args.len() != 1 || !results.is_empty() {
                        self.error(inst, "global.set takes one value, returns none");
                    }
                }
                // Index types (`is_index`): i32, or i64 for a 64-bit memory or table.
                MemorySize | TableSize => {
                    if !args.is_empty() || results.len() != 1 || !is_index(&results[0]) {
                        self.error(inst, format!("{op} takes nothing, returns an index type"));
                    }
                }
                MemoryGrow => {
                    if args.len() != 1 || !is_index(&args[0]) || results != args {
                        self.error(inst, "memory.grow takes (t), returns t (t an index type)");
                    }
                }
                TableGet => {
                    if args.len() != 1
                        || !is_index(&args[0])
                        || results.len() != 1
                        || !is_ref(&results[0])
                    {
                        self.error(inst, "table.get takes (t), returns a reference");
                    }
                }
                TableSet => {
                    if args.len() != 2
                        || !is_index(&args[0])
                        || !is_ref(&args[1])
                        || !results.is_empty()
                    {
                        self.error(inst, "table.set takes (t, ref)");
                    }
                }
                TableGrow => {
                    if args.len() != 2
                        || !is_ref(&args[0])
                        || !is_index(&args[1])
                        || results != args[1..]
                    {
                        self.error(inst, "table.grow takes (ref, t), returns t");
                    }
                }
                TableFill => {
                    if args.len() != 3
                        || !is_index(&args[0])
                        || !is_ref(&args[1])
                        || args[2] != args[0]
                        || !results.is_empty()
                    {
                        self.error(inst, "table.fill takes (t, ref, t)");
                    }
                }
                CallIndirect => {
                    if !args.last().is_some_and(is_index) {
                        self.error(
                            inst,
                            "call_indirect's last operand is the table index (i32 or i64)",
                        );
                    }
                }
                Call | CallImport | ReturnCall => {}
                ReturnCallIndirect => {
                    if !args.last().is_some_and(is_index) {
                        self.error(
                            inst,
                            "return_call_indirect's last operand is the table index (i32 or i64)",
                        );
                    }
                }
                CallRef | ReturnCallRef | InvokeRef => {
                    if args.last() != Some(&Type::FuncRef) {
                        self.error(
                            inst,
                            format!("{op}'s last operand is the function reference"),
                        );
                    }
                }
                OsrLoadCell => {
                    if !osr_block {
                        self.error(inst, "osr.load_cell outside an OSR entry block");
                    }
                    if !args.is_empty() || results.len() != 1 {
                        self.error(inst, "osr.load_cell takes nothing and returns one value");
                    }
                }
                Return => {
                    let want = f.results.clone();
                    self.expect_types(inst, "returned values", &args, &want);
                }
                Jump | BrIf | BrTable => {
                    let want: &[Type] = if op == Jump { &[] } else { &[Type::I32] };
                    self.expect_types(inst, "operands", &args, want);
                    let n = f.targets(inst).len();
                    let ok = match op {
                        Jump => n == 1,
                        BrIf => n == 2,
                        _ => n >= 1,
                    };
                    if !ok {
                        self.error(inst, format!("{op} with {n} targets"));
                    }
                    for call in f.targets(inst).to_vec() {
                        if !self
                            .in_layout
                            .get(call.block.index())
                            .copied()
                            .unwrap_or(false)
                        {
                            self.error(
                                inst,
                                format!("branch to {} outside the layout", call.block),
                            );
                            continue;
                        }
                        let got = self.types(f.call_args(call));
                        let want = self.types(f.block_params(call.block));
                        if got != want {
                            self.error(
                                inst,
                                format!("arguments to {} do not match its parameters", call.block),
                            );
                        }
                    }
                }
                _ => self.error(inst, format!("{op}: no signature rule")),
            }
        }
    }

    fn dominance(&mut self, cfg: &ControlFlowGraph, dt: &DominatorTree) {
        let f = self.func;
        // Position of each instruction in its block, for same-block order.
        let mut pos = vec![u32::MAX; f.insts.len()];
        for &b in &f.layout {
            for (i, &inst) in f.block_insts(b).iter().enumerate() {
                pos[inst.index()] = i as u32;
            }
        }
        for &b in &f.layout {
            if !dt.is_reachable(b) {
                // Uses in unreachable code cannot execute; Cranelift skips them too.
                continue;
            }
            for (i, &inst) in f.block_insts(b).iter().enumerate() {
                let mut uses: Vec<Value> = f.args(inst).to_vec();
                for call in f.targets(inst) {
                    uses.extend_from_slice(f.call_args(*call));
                }
                for v in uses {
                    if v.index() >= f.values.len() {
                        self.error(inst, format!("use of nonexistent value {v}"));
                        continue;
                    }
                    let r = f.resolve(v);
                    let ok = match f.values[r].def {
                        ValueDef::Param(db, _) => cfg.in_layout(db) && dt.dominates(db, b),
                        ValueDef::Result(di, _) => match f.inst_block.get(di).copied().flatten() {
                            Some(db) if db == b => pos[di.index()] < i as u32,
                            Some(db) => cfg.in_layout(db) && dt.dominates(db, b),
                            None => false,
                        },
                        ValueDef::Alias(_) => false,
                    };
                    if !ok {
                        self.error(
                            inst,
                            format!("use of {v} is not dominated by its definition"),
                        );
                    }
                }
            }
        }
    }
}

/// Verifies a function; `Err` lists what is wrong.
pub fn verify(func: &Function) -> Result<(), VerifierErrors> {
    let mut in_layout = vec![false; func.blocks.len()];
    for &b in &func.layout {
        if let Some(x) = in_layout.get_mut(b.index()) {
            *x = true;
        }
    }
    let mut v = Verifier {
        func,
        errors: Vec::new(),
        in_layout,
    };
    let cfg = ControlFlowGraph::new(func);
    v.structure(&cfg);
    if v.errors.is_empty() {
        // Frame reads belong in OSR entry blocks, and in the normal entry of a function
        // entered at a loop (`osr::enter_at_loop`: no parameters and no other entries).
        let mut osr = vec![false; func.blocks.len()];
        let entered_at_loop = func.osr_entries.is_empty() && func.params.is_empty();
        let frame_readers = func
            .osr_entries
            .iter()
            .map(|e| e.block)
            .chain(func.entry().filter(|_| entered_at_loop));
        for b in frame_readers {
            if let Some(x) = osr.get_mut(b.index()) {
                *x = true;
            }
        }
        for &b in &func.layout {
            for &inst in func.block_insts(b) {
                v.inst(inst, osr[b.index()]);
            }
        }
    }
    if v.errors.is_empty() {
        let dt = DominatorTree::new(&cfg);
        v.dominance(&cfg, &dt);
    }
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(VerifierErrors(v.errors))
    }
}
