//! Translation of a validated wasm function body to SSA (Braun et al. 2013, "Simple and
//! Efficient Construction of Static Single Assignment Form"), on the shared front end's
//! control stack (`strata_vm::frontend`).
//!
//! Variables are the wasm locals and, below every open control frame, the operand-stack
//! positions (variable `L + p`): a value pushed before a frame and used after its `end` can
//! be changed on the way by a loop header, because every reachable loop header has an *OSR
//! entry* predecessor that reads all locals and the whole operand stack from the frame
//! (design.md §5: cell `k < L` is local `k`, cell `L + p` is operand position `p`). A loop
//! header therefore takes every local and every operand position as a parameter; that makes
//! each header define every variable, so lookups never meet an incomplete block, and blocks
//! are sealed at wasm's structured `end`s (a block becomes current only once all its
//! predecessors are known). Redundant parameters (Braun's trivial phis) are removed by
//! `passes::remove_redundant_params` afterwards.

use crate::entity::EntityRef;
use crate::function::{BlockCall, Builder, Function, Imm, MemArg, OsrEntry};
use crate::opcode::Opcode;
use crate::types::Type;
use crate::{Block, Inst, Value};
use std::collections::HashMap;
use std::fmt;
use strata_vm::frontend::{Arity, BlockSig, ControlKind, ControlStack};
use strata_vm::{Module, TrapCode};
use wasmparser::{BlockType, Operator};

/// Why a body could not be translated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslateError(pub String);

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TranslateError {}

type Result<T> = std::result::Result<T, TranslateError>;

fn err<T>(m: impl Into<String>) -> Result<T> {
    Err(TranslateError(m.into()))
}

const NO_BLOCK: Block = Block(u32::MAX);

/// The SSA translator's per-frame payload.
#[derive(Clone, Copy, Debug)]
struct Blocks {
    /// Where the frame's `end` continues (block/if), with one parameter per result.
    cont: Block,
    /// A loop's header.
    header: Block,
    /// An `if`'s else arm.
    else_: Block,
    /// Start of an `if`'s parameters in `Translator::saved`.
    saved: u32,
    /// Live loops seen when the frame opened: if more at its end, the operand positions
    /// below it may have been redefined by a loop header (and are read through their
    /// variables).
    loops_at_open: u32,
    /// A `try_table`'s catch clauses: `Translator::clauses[clauses..clauses + nclauses]`;
    /// a legacy `try`'s handler blocks: `Translator::handlers[clauses..clauses + nclauses]`.
    clauses: u32,
    nclauses: u32,
    /// A legacy `try`: its ordinal among the body's `try`s (`Translator::legacy`), and the
    /// clause its next `catch`/`catch_all` starts.
    legacy: u32,
    next_clause: u32,
}

const DEAD: Blocks = Blocks {
    cont: NO_BLOCK,
    header: NO_BLOCK,
    else_: NO_BLOCK,
    saved: 0,
    loops_at_open: 0,
    clauses: 0,
    nclauses: 0,
    legacy: 0,
    next_clause: 0,
};

/// What a legacy `try` ends with, from a scan of the body before translation (a throw in
/// its body must know whether it is caught there, or delegated, before the clauses come).
#[derive(Clone, Debug, Default)]
struct LegacyTry {
    /// Each `catch`'s tag, `None` for `catch_all`, in order.
    clauses: Vec<Option<u32>>,
    /// `delegate`'s label (relative to the try's context).
    delegate: Option<u32>,
}

/// One catch clause of an open `try_table` (docs/abi.md §10).
#[derive(Clone, Copy, Debug)]
struct Clause {
    /// The module tag it catches (`None`: every exception).
    tag: Option<u32>,
    /// Whether the `exnref` goes to the label after the payload (`catch_ref`,
    /// `catch_all_ref`).
    keep: bool,
    /// The label, relative to the `try_table`'s own context (outside it).
    label: u32,
}

/// Where an exception caught by a clause goes.
#[derive(Clone, Copy, Debug)]
enum Catcher {
    /// `try_table`: a branch to the label at this relative depth (seen from the site).
    Label(u32),
    /// Legacy `catch`/`catch_all`: the clause's handler block, whose parameters are the
    /// caught `exnref` (the hidden cell, for `rethrow`) and then the payload.
    Handler(Block),
}

/// A clause that may catch at a throwing site: the clause, and the relative depth of its
/// label and the operand height of its try, both seen from the site.
#[derive(Clone, Copy, Debug)]
struct ActiveClause {
    clause: Clause,
    catcher: Catcher,
    height: u32,
}

fn val(t: wasmparser::ValType) -> Result<Type> {
    use wasmparser::ValType as V;
    Ok(match t {
        V::I32 => Type::I32,
        V::I64 => Type::I64,
        V::F32 => Type::F32,
        V::F64 => Type::F64,
        V::V128 => Type::V128,
        V::Ref(r) => ref_type(r)?,
    })
}

/// A reference type's IR type: typed function references (`(ref null? $t)`, `(ref
/// null? func)`, `nullfuncref`) are `funcref` values and the extern ones `externref`
/// (`strata_vm::module::runtime_ref_type`: nullability and concrete types are the
/// validator's), `exnref` stays `exnref`.
fn ref_type(r: wasmparser::RefType) -> Result<Type> {
    match strata_vm::module::runtime_ref_type(r) {
        Some(t @ (Type::FuncRef | Type::ExternRef | Type::ExnRef)) => Ok(t),
        _ => err(format!("unsupported reference type {r:?}")),
    }
}

macro_rules! numeric_ops {
    ($($op:ident)*) => {
        /// The opcode of a wasm operator that maps one to one to an IR opcode without
        /// immediates (numeric, comparison, conversion).
        fn numeric_opcode(op: &Operator<'_>) -> Option<Opcode> {
            Some(match op {
                $(Operator::$op => Opcode::$op,)*
                _ => return None,
            })
        }
    };
}

#[rustfmt::skip]
numeric_ops! {
    I32Eqz I32Clz I32Ctz I32Popcnt I32Extend8S I32Extend16S I32Add I32Sub I32Mul I32And I32Or
    I32Xor I32Shl I32ShrS I32ShrU I32Rotl I32Rotr I32DivS I32DivU I32RemS I32RemU I32Eq I32Ne
    I32LtS I32LtU I32GtS I32GtU I32LeS I32LeU I32GeS I32GeU I64Eqz I64Clz I64Ctz I64Popcnt
    I64Extend8S I64Extend16S I64Extend32S I64Add I64Sub I64Mul I64And I64Or I64Xor I64Shl
    I64ShrS I64ShrU I64Rotl I64Rotr I64DivS I64DivU I64RemS I64RemU I64Eq I64Ne I64LtS I64LtU
    I64GtS I64GtU I64LeS I64LeU I64GeS I64GeU F32Abs F32Neg F32Ceil F32Floor F32Trunc F32Nearest
    F32Sqrt F32Add F32Sub F32Mul F32Div F32Min F32Max F32Copysign F32Eq F32Ne F32Lt F32Gt F32Le
    F32Ge F64Abs F64Neg F64Ceil F64Floor F64Trunc F64Nearest F64Sqrt F64Add F64Sub F64Mul F64Div
    F64Min F64Max F64Copysign F64Eq F64Ne F64Lt F64Gt F64Le F64Ge I32WrapI64 I32TruncF32S
    I32TruncF32U I32TruncF64S I32TruncF64U I64TruncF32S I64TruncF32U I64TruncF64S I64TruncF64U
    I64ExtendI32S I64ExtendI32U F32ConvertI32S F32ConvertI32U F32ConvertI64S F32ConvertI64U
    F64ConvertI32S F64ConvertI32U F64ConvertI64S F64ConvertI64U F32DemoteF64 F64PromoteF32
    I32ReinterpretF32 I64ReinterpretF64 F32ReinterpretI32 F64ReinterpretI64 I32TruncSatF32S
    I32TruncSatF32U I32TruncSatF64S I32TruncSatF64U I64TruncSatF32S I64TruncSatF32U
    I64TruncSatF64S I64TruncSatF64U
}

macro_rules! memory_ops {
    ($($op:ident)*) => {
        /// Loads and stores: the opcode and the wasm memarg.
        fn memory_opcode(op: &Operator<'_>) -> Option<(Opcode, wasmparser::MemArg)> {
            Some(match op {
                $(Operator::$op { memarg } => (Opcode::$op, *memarg),)*
                _ => return None,
            })
        }
    };
}

#[rustfmt::skip]
memory_ops! {
    I32Load I64Load F32Load F64Load I32Load8S I32Load8U I32Load16S I32Load16U I64Load8S
    I64Load8U I64Load16S I64Load16U I64Load32S I64Load32U I32Store I64Store F32Store F64Store
    I32Store8 I32Store16 I64Store8 I64Store16 I64Store32
}

/// Reusable state of the translator (keep one per thread to avoid allocating per function).
#[derive(Default)]
pub struct Translator {
    ctrl: ControlStack<Blocks>,
    stack: Vec<Value>,
    saved: Vec<Value>,
    locals: Vec<Type>,
    defs: HashMap<(Block, u32), Value, foldhash::fast::FixedState>,
    preds: Vec<Vec<(Inst, u32)>>,
    chain: Vec<Block>,
    /// Block parameters created by lookups whose arguments still need filling:
    /// (block, variable, type, parameter index).
    pending: Vec<(Block, u32, Type, u32)>,
    error: Option<String>,
    /// Loop-header parameters created so far in this function (see `MAX_HEADER_PARAMS`).
    header_params: usize,
    /// Live loops translated so far (dead ones have no header and change nothing).
    live_loops: u32,
    /// `MAX_VAR_DEFS` unless set otherwise (tests).
    max_var_defs: Option<usize>,
    /// Leave out the OSR entries (code that is only ever called, not entered mid-loop).
    no_osr_entries: bool,
    /// Catch clauses of the open `try_table`s, outermost first (`Blocks::clauses`).
    clauses: Vec<Clause>,
    /// Every legacy `try` of the body, by ordinal (`scan_legacy`).
    legacy: Vec<LegacyTry>,
    /// Legacy `try`s opened so far (dead ones included).
    legacy_opened: u32,
    /// Handler blocks of the open legacy `try`s' clauses, outermost first.
    handlers: Vec<Block>,
}

/// Every loop header takes every local and operand position as a parameter, so a small
/// hostile body (thousands of locals, thousands of 3-byte loops) would ask for billions of
/// parameters. Past this budget the function is refused with an error (it stays on its
/// current tier) instead of exhausting memory.
pub const MAX_HEADER_PARAMS: usize = 4_000_000;

/// Braun's lookups cache a variable's value in every block they walk through, which is
/// quadratic in the worst case (many blocks times many variables read at their end, in a
/// hostile body). Past this many cached definitions the function is refused with an error
/// (it stays on its current tier) rather than exhausting memory; real functions stay far
/// below it (the largest function of benches/programs, a 9 KB body, needs about 23 000:
/// some 2.6 per byte).
pub const MAX_VAR_DEFS: usize = 8_000_000;

struct Ctx<'a, 'm> {
    t: &'a mut Translator,
    module: &'m Module,
    func: Function,
    cur: Block,
}

impl Translator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the limit on cached variable definitions (default `MAX_VAR_DEFS`).
    pub fn set_max_var_defs(&mut self, n: usize) {
        self.max_var_defs = Some(n);
    }

    /// Whether loops get OSR entries (the default). Without them the optimizer has more
    /// freedom: a loop header's parameters that the back edges pass unchanged become
    /// redundant, so invariant code can leave the loop; such code can only be entered by a
    /// call.
    pub fn set_osr_entries(&mut self, on: bool) {
        self.no_osr_entries = !on;
    }

    /// Cached variable definitions of the last translated function (see `MAX_VAR_DEFS`).
    pub fn variable_defs(&self) -> usize {
        self.defs.len()
    }

    /// Translates defined function `def_index` of a validated module.
    pub fn translate(&mut self, module: &Module, def_index: usize) -> Result<Function> {
        let func_index = module.num_imported_funcs + def_index as u32;
        let ty = module.func_type(func_index);
        let name = module
            .func_name(func_index)
            .map(str::to_string)
            .unwrap_or_else(|| format!("f{func_index}"));
        let mut func = Function::new(name, ty.params().to_vec(), ty.results().to_vec());
        // Capacity from the body size (about one instruction per 3 bytes of wasm code) saves
        // the regrowth copies that otherwise show in profiles.
        let body_len = module.bodies[def_index].range.len();
        func.insts = crate::EntityVec::with_capacity(body_len / 3);
        func.inst_block = crate::EntityVec::with_capacity(body_len / 3);
        func.values = crate::EntityVec::with_capacity(body_len / 3);
        func.value_pool.reserve(body_len / 2);
        self.stack.clear();
        self.saved.clear();
        self.locals.clear();
        self.defs.clear();
        // Keep the predecessor lists' allocations across functions.
        for p in &mut self.preds {
            p.clear();
        }
        self.pending.clear();
        self.clauses.clear();
        self.legacy.clear();
        self.legacy_opened = 0;
        self.handlers.clear();
        if strata_vm::frontend::has_handlers(module, def_index) {
            scan_legacy(module.body(def_index), &mut self.legacy)?;
        }
        self.error = None;
        self.header_params = 0;
        self.live_loops = 0;
        let mut cx = Ctx {
            t: self,
            module,
            func,
            cur: NO_BLOCK,
        };
        cx.run(module.body(def_index), func_index)?;
        let mut func = cx.func;
        // Braun's trivial-phi removal, as one pass at the end.
        crate::passes::remove_redundant_params(&mut func);
        Ok(func)
    }
}

/// Translates every defined function of a module (one translator, reused).
pub fn translate_module(module: &Module) -> Vec<Result<Function>> {
    let mut t = Translator::new();
    (0..module.num_defined_funcs())
        .map(|i| t.translate(module, i))
        .collect()
}

impl Ctx<'_, '_> {
    fn create_block(&mut self) -> Block {
        let b = self.func.create_block();
        if self.t.preds.len() <= b.index() {
            self.t.preds.resize_with(b.index() + 1, Vec::new);
        }
        b
    }

    /// An `interrupt` instruction (fuel and epoch checks) in the current block when the
    /// module compiles interruption checks in; nothing otherwise (they cost nothing off).
    fn interruption_point(&mut self) {
        if self.module.interrupts.any() {
            self.b().inst(Opcode::Interrupt, Imm::None, &[], &[]);
        }
    }

    fn b(&mut self) -> Builder<'_> {
        Builder::new(&mut self.func, self.cur)
    }

    fn push(&mut self, v: Value) {
        self.t.stack.push(v);
    }

    fn pop(&mut self) -> Result<Value> {
        match self.t.stack.pop() {
            Some(v) => Ok(v),
            None => err("operand stack underflow"),
        }
    }

    fn popn(&mut self, n: usize) -> Result<Vec<Value>> {
        let len = self.t.stack.len();
        if n > len {
            return err("operand stack underflow");
        }
        Ok(self.t.stack.split_off(len - n))
    }

    /// Pops up to three operands without allocating.
    fn pop_small(&mut self, n: usize) -> Result<([Value; 3], usize)> {
        let len = self.t.stack.len();
        if n > len || n > 3 {
            return err("operand stack underflow");
        }
        let mut a = [Value(0); 3];
        a[..n].copy_from_slice(&self.t.stack[len - n..]);
        self.t.stack.truncate(len - n);
        Ok((a, n))
    }

    fn top(&self, n: usize) -> Result<&[Value]> {
        let len = self.t.stack.len();
        if n > len {
            return err("operand stack underflow");
        }
        Ok(&self.t.stack[len - n..])
    }

    /// A branch terminator in the current block; records the predecessor edges.
    fn branch(&mut self, opcode: Opcode, args: &[Value], targets: &[BlockCall]) {
        let inst = self.b().branch(opcode, args, targets);
        for (i, t) in targets.iter().enumerate() {
            self.t.preds[t.block.index()].push((inst, i as u32));
        }
    }

    fn jump(&mut self, dest: Block, args: &[Value]) {
        let call = self.func.make_block_call(dest, args);
        self.branch(Opcode::Jump, &[], &[call]);
    }

    // ---- variables (Braun et al.) ------------------------------------------------------

    fn write_var(&mut self, var: u32, block: Block, v: Value) {
        self.t.defs.insert((block, var), v);
    }

    fn read_var(&mut self, var: u32, ty: Type, block: Block) -> Value {
        let v = self.lookup(var, ty, block);
        while let Some((b, var, ty, k)) = self.t.pending.pop() {
            for e in 0..self.t.preds[b.index()].len() {
                let (inst, idx) = self.t.preds[b.index()][e];
                let Some(pb) = self.func.inst_block[inst] else {
                    continue;
                };
                let arg = self.lookup(var, ty, pb);
                let call = self.func.targets(inst)[idx as usize];
                self.func.value_pool[call.args.start as usize + k as usize] = arg;
            }
        }
        v
    }

    /// Looks a variable up from `block` backwards; a block with several predecessors and no
    /// definition gets a parameter whose arguments are filled from `pending`.
    fn lookup(&mut self, var: u32, ty: Type, block: Block) -> Value {
        let start = self.t.chain.len();
        let mut b = block;
        let v = loop {
            if let Some(&v) = self.t.defs.get(&(b, var)) {
                break v;
            }
            let preds = &self.t.preds[b.index()];
            match preds.len() {
                1 => {
                    let (inst, _) = preds[0];
                    self.t.chain.push(b);
                    match self.func.inst_block[inst] {
                        Some(pb) => b = pb,
                        None => {
                            self.t.error = Some("internal: branch outside a block".into());
                            break self.zero(ty);
                        }
                    }
                }
                0 => {
                    // Only entries have no predecessors, and they define every variable.
                    self.t.error = Some(format!("internal: variable {var} undefined in {b}"));
                    break self.zero(ty);
                }
                _ => {
                    let k = self.func.block_params(b).len() as u32;
                    let p = self.func.append_block_param(b, ty);
                    for e in 0..self.t.preds[b.index()].len() {
                        let (inst, idx) = self.t.preds[b.index()][e];
                        self.func.push_target_arg(inst, idx as usize, p);
                    }
                    self.t.defs.insert((b, var), p);
                    self.t.pending.push((b, var, ty, k));
                    break p;
                }
            }
        };
        for i in start..self.t.chain.len() {
            let c = self.t.chain[i];
            self.t.defs.insert((c, var), v);
        }
        self.t.chain.truncate(start);
        v
    }

    /// A zero of a type, in the entry block (only on internal errors, reported after).
    fn zero(&mut self, ty: Type) -> Value {
        let entry = self.func.layout[0];
        let (op, imm) = zero_op(ty);
        let inst = self.func.make_inst(op, imm, &[], &[ty]);
        let insts = &mut self.func.blocks[entry].insts;
        insts.insert(0, inst);
        self.func.inst_block[inst] = Some(entry);
        self.func.result(inst).unwrap()
    }

    fn num_locals(&self) -> u32 {
        self.t.locals.len() as u32
    }

    fn local(&mut self, i: u32) -> Result<Value> {
        let Some(&ty) = self.t.locals.get(i as usize) else {
            return err(format!("local {i} out of range"));
        };
        let cur = self.cur;
        Ok(self.read_var(i, ty, cur))
    }

    /// Records the operand positions below `height` as variables of the current block
    /// (before a frame opens).
    fn define_stack_vars(&mut self, height: usize) {
        let l = self.num_locals();
        for p in 0..height {
            let v = self.t.stack[p];
            self.write_var(l + p as u32, self.cur, v);
        }
    }

    /// Re-reads the operand positions below `height` through their variables (at a frame's
    /// continuation, when a loop header inside the frame may have redefined them).
    fn reload_stack_vars(&mut self, height: usize) {
        let l = self.num_locals();
        for p in 0..height {
            let ty = self.func.value_type(self.t.stack[p]);
            let cur = self.cur;
            self.t.stack[p] = self.read_var(l + p as u32, ty, cur);
        }
    }

    /// Values of all locals and the whole operand stack below `height`, then `extra`: the
    /// arguments of a branch to a loop header.
    fn loop_args(&mut self, height: usize, extra: &[Value]) -> Result<Vec<Value>> {
        let mut args = Vec::with_capacity(self.t.locals.len() + height + extra.len());
        for i in 0..self.num_locals() {
            args.push(self.local(i)?);
        }
        args.extend_from_slice(&self.t.stack[..height]);
        args.extend_from_slice(extra);
        Ok(args)
    }

    /// The target of a branch to `depth`, with its arguments.
    fn branch_target(&mut self, depth: u32) -> Result<Option<BlockCall>> {
        if depth as usize >= self.t.ctrl.len() {
            return err("branch depth out of range");
        }
        let f = *self.t.ctrl.label(depth);
        let n = f.branch_arity() as usize;
        let vals = self.top(n)?.to_vec();
        Ok(match f.kind {
            ControlKind::Func => None,
            ControlKind::Loop => {
                let args = self.loop_args(f.height as usize, &vals)?;
                Some(self.func.make_block_call(f.payload.header, &args))
            }
            _ => Some(self.func.make_block_call(f.payload.cont, &vals)),
        })
    }

    /// A block that returns the top `n` results (a conditional branch to the function's
    /// label).
    fn return_block(&mut self) -> Result<BlockCall> {
        let n = self.func.results.len();
        let vals = self.top(n)?.to_vec();
        let b = self.create_block();
        Builder::new(&mut self.func, b).ret(&vals);
        // Record the returns block as current-defined: it has one predecessor (set later).
        Ok(self.func.make_block_call(b, &[]))
    }

    fn set_unreachable(&mut self) {
        let h = self.t.ctrl.set_unreachable() as usize;
        self.t.stack.truncate(h);
    }

    fn block_sig(&self, bt: BlockType) -> Result<(Vec<Type>, Vec<Type>)> {
        match BlockSig::of(self.module, bt) {
            Some(s) => Ok((s.params().to_vec(), s.results().to_vec())),
            None => err("unsupported block type"),
        }
    }

    /// A block laid out later, when the wasm code it stands for is reached (`place`): a
    /// block's or if's continuation at its `end`, an if's else arm at its `else`. Created
    /// at the open, it would sit before the body in the layout, so every branch out of the
    /// body would look like a loop's back edge (regalloc2 weighs spills by the loop depth
    /// it infers from such edges) and the code would jump back and forth.
    fn create_unplaced_block(&mut self) -> Block {
        let b = self.create_block();
        let last = self.func.layout.pop();
        debug_assert_eq!(last, Some(b));
        b
    }

    /// Lays out a block made by `create_unplaced_block`, after everything so far.
    fn place(&mut self, b: Block) {
        self.func.layout.push(b);
    }

    fn cont_block(&mut self, results: &[Type]) -> Block {
        let b = self.create_unplaced_block();
        for &t in results {
            self.func.append_block_param(b, t);
        }
        b
    }

    // ---- the body ------------------------------------------------------------------------

    fn run(&mut self, body: wasmparser::FunctionBody<'_>, func_index: u32) -> Result<()> {
        let wrap = |e: wasmparser::BinaryReaderError| TranslateError(e.to_string());
        let ty = self.module.func_type(func_index).clone();
        for &t in ty.params() {
            self.t.locals.push(t);
        }
        let mut locals = body.get_locals_reader().map_err(wrap)?;
        for _ in 0..locals.get_count() {
            let (count, t) = locals.read().map_err(wrap)?;
            let t = val(t)?;
            if self.t.locals.len() as u64 + count as u64 > 50_000 {
                return err("function has too many locals");
            }
            self.t.locals.extend(std::iter::repeat_n(t, count as usize));
        }
        let mut reader = body.get_operators_reader().map_err(wrap)?;
        // The entry's instructions (zeros, checks) belong to the first operator.
        self.func.srclocs.current = reader.original_position() as u32;
        self.func.srclocs.entry = self.func.srclocs.current;
        let entry = self.create_block();
        self.cur = entry;
        for (i, &t) in ty.params().iter().enumerate() {
            let p = self.func.append_block_param(entry, t);
            self.write_var(i as u32, entry, p);
        }
        // One zero per type for the declared locals.
        let mut zeros: [Option<Value>; crate::types::ALL_TYPES.len()] =
            [None; crate::types::ALL_TYPES.len()];
        for i in ty.params().len()..self.t.locals.len() {
            let t = self.t.locals[i];
            let slot = crate::types::ALL_TYPES
                .iter()
                .position(|x| *x == t)
                .unwrap_or(0);
            let z = match zeros[slot] {
                Some(z) => z,
                None => {
                    let (op, imm) = zero_op(t);
                    let inst = self.b().inst(op, imm, &[], &[t]);
                    let z = self.func.result(inst).unwrap();
                    zeros[slot] = Some(z);
                    z
                }
            };
            self.write_var(i as u32, entry, z);
        }
        // The function-entry interruption point (docs/abi.md §7), after the frame checks.
        self.interruption_point();
        self.t.ctrl.start(ty.results().len() as u32, DEAD);
        while !reader.eof() {
            let (op, at) = reader.read_with_offset().map_err(wrap)?;
            self.func.srclocs.current = at as u32;
            self.op(&op)?;
            if let Some(e) = self.t.error.take() {
                return Err(TranslateError(e));
            }
            if self.t.defs.len() > self.t.max_var_defs.unwrap_or(MAX_VAR_DEFS) {
                return err(
                    "function too large for the optimizing tier (SSA variable definitions)",
                );
            }
        }
        if !self.t.ctrl.is_empty() {
            return err("function body ended inside a block");
        }
        Ok(())
    }

    fn op(&mut self, op: &Operator<'_>) -> Result<()> {
        // Control operators are tracked even in unreachable code.
        match *op {
            Operator::Block { blockty } => return self.open(ControlKind::Block, blockty),
            Operator::Loop { blockty } => return self.open(ControlKind::Loop, blockty),
            Operator::If { blockty } => return self.open(ControlKind::If, blockty),
            Operator::Else => return self.else_(),
            Operator::End => return self.end(),
            Operator::TryTable { ref try_table } => return self.try_table(try_table),
            Operator::Try { blockty } => return self.legacy_try(blockty),
            Operator::Catch { tag_index } => return self.legacy_catch(Some(tag_index)),
            Operator::CatchAll => return self.legacy_catch(None),
            Operator::Delegate { .. } => return self.end(),
            _ => {}
        }
        if !self.t.ctrl.reachable() {
            return Ok(());
        }
        if let Some(opcode) = numeric_opcode(op) {
            let n = opcode.signature().map_or(0, |s| s.params.len());
            let (args, n) = self.pop_small(n)?;
            let v = self.b().unary_or_binary(opcode, &args[..n]);
            self.push(v);
            return Ok(());
        }
        if let Some((opcode, m)) = memory_opcode(op) {
            let wasmparser::MemArgTarget::Memory(memory) = m.target else {
                return err("memory access to a GC array");
            };
            let imm = Imm::Mem(MemArg {
                memory,
                offset: m.offset,
                align: m.align,
                checked: true,
            });
            let n = opcode.signature().map_or(0, |s| s.params.len());
            let (args, n) = self.pop_small(n)?;
            if let Some(v) = self.b().op(opcode, imm, &args[..n]) {
                self.push(v);
            }
            return Ok(());
        }
        if let Some(s) = crate::simd::simd_operator(op) {
            return self.simd(s);
        }
        match *op {
            Operator::Unreachable => {
                self.b().trap(TrapCode::Unreachable);
                self.set_unreachable();
            }
            Operator::Nop => {}
            Operator::Br { relative_depth } => {
                match self.branch_target(relative_depth)? {
                    Some(call) => self.branch(Opcode::Jump, &[], &[call]),
                    None => self.return_(),
                }
                self.set_unreachable();
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop()?;
                self.br_if(cond, relative_depth, false)?;
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop()?;
                let mut calls = Vec::with_capacity(targets.len() as usize + 1);
                let mut ret: Option<BlockCall> = None;
                let depths = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())));
                for d in depths {
                    let d = d.map_err(|e| TranslateError(e.to_string()))?;
                    let call = match self.branch_target(d)? {
                        Some(c) => c,
                        None => match ret {
                            Some(r) => self.func.make_block_call(r.block, &[]),
                            None => {
                                let r = self.return_block()?;
                                ret = Some(r);
                                r
                            }
                        },
                    };
                    calls.push(call);
                }
                if calls.len() == 1 {
                    // Only a default: a jump. (A `br_table` with an operand may not pass
                    // arguments to a block with other predecessors, which regalloc2 refuses.)
                    self.branch(Opcode::Jump, &[], &calls);
                } else {
                    self.branch(Opcode::BrTable, &[index], &calls);
                }
                self.set_unreachable();
            }
            Operator::Return => {
                self.return_();
                self.set_unreachable();
            }
            Operator::Call { function_index } => {
                let Some(&ti) = self.module.funcs.get(function_index as usize) else {
                    return err("call to an unknown function");
                };
                let opcode = if function_index < self.module.num_imported_funcs {
                    Opcode::CallImport
                } else {
                    Opcode::Call
                };
                self.call(opcode, Imm::Index(function_index), ti, 0)?;
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
                self.call(
                    Opcode::CallIndirect,
                    Imm::Index2(type_index, table_index),
                    type_index,
                    1,
                )?;
            }
            Operator::CallRef { type_index } => {
                self.call(Opcode::CallRef, Imm::Index(type_index), type_index, 1)?;
            }
            Operator::ReturnCall { function_index } => {
                let Some(&ti) = self.module.funcs.get(function_index as usize) else {
                    return err("call to an unknown function");
                };
                self.tail_call(Opcode::ReturnCall, Imm::Index(function_index), ti, 0)?;
            }
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.tail_call(
                Opcode::ReturnCallIndirect,
                Imm::Index2(type_index, table_index),
                type_index,
                1,
            )?,
            Operator::ReturnCallRef { type_index } => {
                self.tail_call(Opcode::ReturnCallRef, Imm::Index(type_index), type_index, 1)?
            }
            Operator::RefAsNonNull => {
                // A null test that traps; the reference itself stays on the stack.
                let r = *self.top(1)?.first().unwrap();
                let is_null = self.b().op(Opcode::RefIsNull, Imm::None, &[r]).unwrap();
                self.b().inst(
                    Opcode::Trapnz,
                    Imm::Trap(TrapCode::NullReference),
                    &[is_null],
                    &[],
                );
            }
            Operator::BrOnNull { relative_depth } => {
                // Branches with the values below the reference; falls through with it.
                let r = self.pop()?;
                let is_null = self.b().op(Opcode::RefIsNull, Imm::None, &[r]).unwrap();
                self.br_if(is_null, relative_depth, false)?;
                self.push(r);
            }
            Operator::BrOnNonNull { relative_depth } => {
                // Branches with the reference on top of the label's values; falls through
                // without it.
                let r = *self.top(1)?.first().unwrap();
                let is_null = self.b().op(Opcode::RefIsNull, Imm::None, &[r]).unwrap();
                self.br_if(is_null, relative_depth, true)?;
                self.pop()?;
            }
            Operator::Drop => {
                self.pop()?;
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let args = self.popn(3)?;
                let ty = self.func.value_type(args[0]);
                let inst = self.b().inst(Opcode::Select, Imm::None, &args, &[ty]);
                let v = self.func.result(inst).unwrap();
                self.push(v);
            }
            Operator::LocalGet { local_index } => {
                let v = self.local(local_index)?;
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop()?;
                self.set_local(local_index, v)?;
            }
            Operator::LocalTee { local_index } => {
                let v = *self.top(1)?.first().unwrap();
                self.set_local(local_index, v)?;
            }
            Operator::GlobalGet { global_index } => {
                let Some(g) = self.module.globals.get(global_index as usize) else {
                    return err("unknown global");
                };
                let ty = g.ty.content;
                let inst = self
                    .b()
                    .inst(Opcode::GlobalGet, Imm::Index(global_index), &[], &[ty]);
                let v = self.func.result(inst).unwrap();
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop()?;
                self.b()
                    .inst(Opcode::GlobalSet, Imm::Index(global_index), &[v], &[]);
            }
            Operator::I32Const { value } => {
                let v = self.b().iconst32(value);
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.b().iconst64(value);
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self.b().fconst32(value.bits());
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self.b().fconst64(value.bits());
                self.push(v);
            }
            Operator::Throw { tag_index } => {
                let Some(tag) = self.module.tags.get(tag_index as usize) else {
                    return err("throw of an unknown tag");
                };
                let args = self.popn(tag.params.len())?;
                self.invoke(Opcode::Throw, (tag_index, 0), &args, &[])?;
                self.set_unreachable();
            }
            Operator::ThrowRef => {
                let exn = self.pop()?;
                self.invoke(Opcode::ThrowRef, (0, 0), &[exn], &[])?;
                self.set_unreachable();
            }
            Operator::Rethrow { relative_depth } => {
                // The caught exception is the catch clause's hidden cell, at its try's
                // height.
                if relative_depth as usize >= self.t.ctrl.len() {
                    return err("rethrow depth out of range");
                }
                let f = *self.t.ctrl.label(relative_depth);
                if !matches!(
                    f.kind,
                    ControlKind::LegacyCatch | ControlKind::LegacyCatchAll
                ) {
                    return err("rethrow outside a catch clause");
                }
                let Some(&exn) = self.t.stack.get(f.height as usize) else {
                    return err("rethrow without its caught exception");
                };
                self.invoke(Opcode::ThrowRef, (0, 0), &[exn], &[])?;
                self.set_unreachable();
            }
            Operator::RefNull { hty } => {
                let Some(r) = wasmparser::RefType::new(true, hty) else {
                    return err(format!("unsupported heap type {hty:?}"));
                };
                let ty = ref_type(r)?;
                let v = self.b().op(Opcode::RefNull, Imm::Type(ty), &[]).unwrap();
                self.push(v);
            }
            Operator::RefIsNull => {
                let r = self.pop()?;
                let v = self.b().op(Opcode::RefIsNull, Imm::None, &[r]).unwrap();
                self.push(v);
            }
            Operator::RefFunc { function_index } => {
                let v = self
                    .b()
                    .op(Opcode::RefFunc, Imm::Index(function_index), &[])
                    .unwrap();
                self.push(v);
            }
            Operator::MemorySize { mem } => {
                let t = self.memory_index_type(mem)?;
                self.index_typed(Opcode::MemorySize, mem, 0, t)?
            }
            Operator::MemoryGrow { mem } => {
                let t = self.memory_index_type(mem)?;
                self.index_typed(Opcode::MemoryGrow, mem, 1, t)?
            }
            Operator::MemoryFill { mem } => self.simple(Opcode::MemoryFill, Imm::Index(mem))?,
            Operator::MemoryCopy { dst_mem, src_mem } => {
                self.simple(Opcode::MemoryCopy, Imm::Index2(dst_mem, src_mem))?
            }
            Operator::MemoryInit { data_index, mem } => {
                self.simple(Opcode::MemoryInit, Imm::Index2(data_index, mem))?
            }
            Operator::DataDrop { data_index } => {
                self.simple(Opcode::DataDrop, Imm::Index(data_index))?
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => self.simple(Opcode::TableCopy, Imm::Index2(dst_table, src_table))?,
            Operator::TableInit { elem_index, table } => {
                self.simple(Opcode::TableInit, Imm::Index2(elem_index, table))?
            }
            Operator::ElemDrop { elem_index } => {
                self.simple(Opcode::ElemDrop, Imm::Index(elem_index))?
            }
            Operator::TableSize { table } => {
                let t = self.table_index_type(table)?;
                self.index_typed(Opcode::TableSize, table, 0, t)?
            }
            Operator::TableGet { table } => {
                let ty = self.table_type(table)?;
                let i = self.pop()?;
                let inst = self
                    .b()
                    .inst(Opcode::TableGet, Imm::Index(table), &[i], &[ty]);
                let v = self.func.result(inst).unwrap();
                self.push(v);
            }
            Operator::TableSet { table } => {
                let args = self.popn(2)?;
                self.b()
                    .inst(Opcode::TableSet, Imm::Index(table), &args, &[]);
            }
            Operator::TableGrow { table } => {
                let t = self.table_index_type(table)?;
                self.index_typed(Opcode::TableGrow, table, 2, t)?
            }
            Operator::TableFill { table } => {
                let args = self.popn(3)?;
                self.b()
                    .inst(Opcode::TableFill, Imm::Index(table), &args, &[]);
            }
            ref other => return err(format!("unsupported operator {other:?}")),
        }
        Ok(())
    }

    /// An opcode with a fixed signature: pops its operands, pushes its results.
    /// A SIMD operator: `v128.const`, `i8x16.shuffle`, `simd.load`/`simd.store` (with the
    /// access's memory and offset) or `simd`.
    fn simd(&mut self, s: crate::simd::SimdOperator) -> Result<()> {
        use crate::simd::SimdOp;
        let lane = s.lane.unwrap_or(0);
        if lane >= s.op.lane_count().unwrap_or(1) {
            return err(format!("{}: lane {lane} out of range", s.op));
        }
        let (opcode, imm) = match s.op {
            SimdOp::V128Const => (Opcode::V128Const, Imm::V128(s.value.unwrap_or([0; 16]))),
            SimdOp::I8x16Shuffle => (Opcode::I8x16Shuffle, Imm::V128(s.lanes.unwrap_or([0; 16]))),
            op if op.is_memory() => {
                let Some(m) = s.memarg else {
                    return err(format!("{op} without a memory argument"));
                };
                let wasmparser::MemArgTarget::Memory(memory) = m.target else {
                    return err("memory access to a GC array");
                };
                let mem = MemArg {
                    memory,
                    offset: m.offset,
                    align: m.align,
                    checked: true,
                };
                let opcode = if op.is_store() {
                    Opcode::SimdStore
                } else {
                    Opcode::SimdLoad
                };
                (opcode, Imm::SimdMem(mem, op, lane))
            }
            op => (Opcode::Simd, Imm::Simd(op, lane)),
        };
        let (params, results) = s.op.signature();
        let args = self.popn(params.len())?;
        let inst = self.b().inst(opcode, imm, &args, results);
        let rs: Vec<Value> = self.func.results(inst).collect();
        self.t.stack.extend(rs);
        Ok(())
    }

    fn simple(&mut self, opcode: Opcode, imm: Imm) -> Result<()> {
        let n = opcode.signature().map_or(0, |s| s.params.len());
        let args = self.popn(n)?;
        if let Some(v) = self.b().op(opcode, imm, &args) {
            self.push(v);
        }
        Ok(())
    }

    /// `memory.size`/`grow`, `table.size`/`grow`: pops `n` operands, pushes one result of
    /// the memory's or table's index type `t`.
    fn index_typed(&mut self, opcode: Opcode, index: u32, n: usize, t: Type) -> Result<()> {
        let args = self.popn(n)?;
        let inst = self.b().inst(opcode, Imm::Index(index), &args, &[t]);
        let v = self
            .func
            .result(inst)
            .ok_or_else(|| TranslateError(format!("{opcode}: no result")))?;
        self.push(v);
        Ok(())
    }

    /// The type of memory `mem`'s addresses and sizes: i64 for a 64-bit memory.
    fn memory_index_type(&self, mem: u32) -> Result<Type> {
        match self.module.memories.get(mem as usize) {
            Some(m) if m.memory64 => Ok(Type::I64),
            Some(_) => Ok(Type::I32),
            None => err("unknown memory"),
        }
    }

    /// The type of table `table`'s indices and sizes: i64 for a 64-bit table.
    fn table_index_type(&self, table: u32) -> Result<Type> {
        match self.module.tables.get(table as usize) {
            Some(t) if t.ty.table64 => Ok(Type::I64),
            Some(_) => Ok(Type::I32),
            None => err("unknown table"),
        }
    }

    fn table_type(&self, table: u32) -> Result<Type> {
        match self.module.tables.get(table as usize) {
            Some(t) => Ok(t.ty.elem),
            None => err("unknown table"),
        }
    }

    fn call(&mut self, opcode: Opcode, imm: Imm, type_index: u32, extra: usize) -> Result<()> {
        let Some(ft) = self.module.types.get(type_index as usize) else {
            return err("unknown type");
        };
        let (np, results) = (ft.params().len(), ft.results().to_vec());
        let args = self.popn(np + extra)?;
        if self.in_try() {
            // Inside a try body the call may throw to a handler of this function: an
            // invoke, whose normal continuation reads the results.
            let (invoke, callee) = match (opcode, imm) {
                (Opcode::Call, Imm::Index(f)) => (Opcode::Invoke, (f, 0)),
                (Opcode::CallImport, Imm::Index(f)) => (Opcode::InvokeImport, (f, 0)),
                (Opcode::CallIndirect, Imm::Index2(t, table)) => {
                    (Opcode::InvokeIndirect, (t, table))
                }
                (Opcode::CallRef, Imm::Index(t)) => (Opcode::InvokeRef, (t, 0)),
                _ => return err(format!("{opcode} inside a try is not supported yet")),
            };
            let rs = self.invoke(invoke, callee, &args, &results)?;
            self.t.stack.extend(rs);
            return Ok(());
        }
        let inst = self.b().inst(opcode, imm, &args, &results);
        let rs: Vec<Value> = self.func.results(inst).collect();
        self.t.stack.extend(rs);
        Ok(())
    }

    // ---- exceptions (docs/abi.md §10) ---------------------------------------------------

    /// Whether a catch clause of this function encloses the current point.
    fn in_try(&self) -> bool {
        !self.active_clauses().is_empty()
    }

    /// The clauses that may catch an exception thrown here, in the unwinder's search order:
    /// innermost try first, the clauses of one try in source order.
    fn active_clauses(&self) -> Vec<ActiveClause> {
        let frames = self.t.ctrl.frames();
        let n = frames.len() as u32;
        let mut out = Vec::new();
        // Frames above this one are skipped (a legacy `delegate` passes the exception on
        // as if thrown inside its target frame).
        let mut limit = frames.len();
        for (i, f) in frames.iter().enumerate().rev() {
            if i > limit {
                continue;
            }
            let from = f.payload.clauses as usize;
            let to = from + f.payload.nclauses as usize;
            match f.kind {
                ControlKind::TryTable => {
                    for c in &self.t.clauses[from..to] {
                        out.push(ActiveClause {
                            clause: *c,
                            catcher: Catcher::Label(n - i as u32 + c.label),
                            height: f.height,
                        });
                    }
                }
                // Only a try's body is covered by its handlers, not its catch clauses.
                ControlKind::LegacyTry => {
                    let Some(scan) = self.t.legacy.get(f.payload.legacy as usize) else {
                        continue;
                    };
                    if let Some(d) = scan.delegate {
                        limit = (i as u32).saturating_sub(1 + d) as usize;
                        continue;
                    }
                    for (k, &h) in self.t.handlers[from..to].iter().enumerate() {
                        out.push(ActiveClause {
                            clause: Clause {
                                tag: scan.clauses.get(k).copied().flatten(),
                                keep: true,
                                label: 0,
                            },
                            catcher: Catcher::Handler(h),
                            height: f.height,
                        });
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// A call or throw with exceptional successors: an `opcode` invoke in the current block,
    /// with a landing block per active clause that loads the caught values and branches to
    /// the clause's label with them. Calls continue in a new block (made current) that
    /// reads the results, which are returned.
    fn invoke(
        &mut self,
        opcode: Opcode,
        callee: (u32, u32),
        args: &[Value],
        results: &[Type],
    ) -> Result<Vec<Value>> {
        let active = self.active_clauses();
        let calls = opcode.first_landing() == 1;
        let mut targets = Vec::with_capacity(active.len() + 1);
        let normal = if calls {
            let b = self.create_block();
            targets.push(self.func.make_block_call(b, &[]));
            Some(b)
        } else {
            None
        };
        let mut landings = Vec::with_capacity(active.len());
        for _ in &active {
            let b = self.create_block();
            landings.push(b);
            targets.push(self.func.make_block_call(b, &[]));
        }
        let inst = self.b().invoke(
            opcode,
            callee,
            args,
            &targets,
            if calls { results } else { &[] },
        );
        for (i, t) in targets.iter().enumerate() {
            self.t.preds[t.block.index()].push((inst, i as u32));
        }
        let rs: Vec<Value> = self.func.results(inst).collect();
        let stack = self.t.stack.clone();
        for (a, &pad) in active.iter().zip(&landings) {
            self.cur = pad;
            let mut tys: Vec<Type> = match a.clause.tag {
                Some(t) => match self.module.tags.get(t as usize) {
                    Some(tag) => tag.params.to_vec(),
                    None => return err("catch of an unknown tag"),
                },
                None => Vec::new(),
            };
            if a.clause.keep {
                tys.push(Type::ExnRef);
            }
            let imm = Imm::Index2(a.clause.tag.unwrap_or(u32::MAX), a.clause.keep as u32);
            let landing = self.b().inst(Opcode::Landing, imm, &[], &tys);
            let caught: Vec<Value> = self.func.results(landing).collect();
            if (a.height as usize) > stack.len() {
                return err("operand stack underflow at a catch");
            }
            self.t.stack.truncate(a.height as usize);
            match a.catcher {
                Catcher::Label(depth) => {
                    self.t.stack.extend_from_slice(&caught);
                    match self.branch_target(depth)? {
                        Some(call) => self.branch(Opcode::Jump, &[], &[call]),
                        None => self.return_(),
                    }
                }
                Catcher::Handler(h) => {
                    // The hidden cell first, then the payload.
                    let Some((exn, payload)) = caught.split_last() else {
                        return err("internal: a legacy catch without its exnref");
                    };
                    let mut args = Vec::with_capacity(caught.len());
                    args.push(*exn);
                    args.extend_from_slice(payload);
                    self.jump(h, &args);
                }
            }
            self.t.stack.clear();
            self.t.stack.extend_from_slice(&stack);
        }
        if let Some(b) = normal {
            self.cur = b;
        }
        Ok(rs)
    }

    /// A legacy `try`: a block with a handler block per clause (the scan gave them), whose
    /// predecessors are the landing blocks of the invokes in its body.
    fn legacy_try(&mut self, bt: BlockType) -> Result<()> {
        let ordinal = self.t.legacy_opened;
        self.t.legacy_opened += 1;
        self.open(ControlKind::LegacyTry, bt)?;
        if !self.t.ctrl.reachable() {
            return Ok(());
        }
        let Some(scan) = self.t.legacy.get(ordinal as usize) else {
            return err("internal: legacy try missing from the scan");
        };
        let tags: Vec<Option<u32>> = scan.clauses.clone();
        let from = self.t.handlers.len() as u32;
        for tag in &tags {
            let h = self.create_block();
            self.func.append_block_param(h, Type::ExnRef);
            if let Some(t) = tag {
                let Some(tag) = self.module.tags.get(*t as usize) else {
                    return err("catch of an unknown tag");
                };
                for &p in tag.params.iter() {
                    self.func.append_block_param(h, p);
                }
            }
            self.t.handlers.push(h);
        }
        if let Some(f) = self.t.ctrl.last_mut() {
            f.payload.clauses = from;
            f.payload.nclauses = tags.len() as u32;
            f.payload.legacy = ordinal;
        }
        Ok(())
    }

    /// A legacy `catch` (`tag`) or `catch_all`: ends the try body or the previous clause
    /// and continues in the clause's handler block, with the caught `exnref` in a hidden
    /// cell at the try's height and the payload above it.
    fn legacy_catch(&mut self, tag: Option<u32>) -> Result<()> {
        let Some(f) = self.t.ctrl.last().copied() else {
            return err("catch outside a frame");
        };
        if !matches!(f.kind, ControlKind::LegacyTry | ControlKind::LegacyCatch) {
            return err("catch outside a try");
        }
        if f.reachable && self.t.ctrl.reachable() {
            let vals = self.top(f.arity.results as usize)?.to_vec();
            self.jump(f.payload.cont, &vals);
        }
        self.t.ctrl.enter_catch(tag.is_none());
        if !f.reachable {
            return Ok(());
        }
        let k = f.payload.next_clause;
        if let Some(last) = self.t.ctrl.last_mut() {
            last.payload.next_clause += 1;
        }
        if k >= f.payload.nclauses {
            return err("internal: catch clause missing from the scan");
        }
        let h = self.t.handlers[(f.payload.clauses + k) as usize];
        self.t.stack.truncate(f.height as usize);
        if self.t.preds[h.index()].is_empty() {
            // Nothing in the body throws: the clause is dead.
            self.func.layout.retain(|b| *b != h);
            self.set_unreachable();
            return Ok(());
        }
        self.cur = h;
        let n = 1 + tag.map_or(0, |t| {
            self.module
                .tags
                .get(t as usize)
                .map_or(0, |t| t.params.len())
        });
        let caught = self.func.block_params(h)[..n].to_vec();
        if self.t.live_loops != f.payload.loops_at_open {
            self.reload_stack_vars(f.height as usize);
        }
        self.t.stack.extend(caught);
        Ok(())
    }

    /// `try_table`: a block whose clauses make the calls and throws of its body invokes.
    fn try_table(&mut self, tt: &wasmparser::TryTable) -> Result<()> {
        use wasmparser::Catch;
        self.open(ControlKind::TryTable, tt.ty)?;
        if !self.t.ctrl.reachable() {
            return Ok(());
        }
        let from = self.t.clauses.len() as u32;
        for c in &tt.catches {
            let (tag, keep, label) = match *c {
                Catch::One { tag, label } => (Some(tag), false, label),
                Catch::OneRef { tag, label } => (Some(tag), true, label),
                Catch::All { label } => (None, false, label),
                Catch::AllRef { label } => (None, true, label),
            };
            self.t.clauses.push(Clause { tag, keep, label });
        }
        if let Some(f) = self.t.ctrl.last_mut() {
            f.payload.clauses = from;
            f.payload.nclauses = tt.catches.len() as u32;
        }
        Ok(())
    }

    /// A conditional branch to label `depth` with the top of the stack as its values, taken
    /// when `cond` is nonzero (or zero, when `negate`); the code after it goes on in a new
    /// block.
    fn br_if(&mut self, cond: Value, depth: u32, negate: bool) -> Result<()> {
        let target = match self.branch_target(depth)? {
            Some(call) => call,
            None => self.return_block()?,
        };
        let next = self.create_block();
        let next_call = self.func.make_block_call(next, &[]);
        let targets = if negate {
            [next_call, target]
        } else {
            [target, next_call]
        };
        self.branch(Opcode::BrIf, &[cond], &targets);
        self.cur = next;
        Ok(())
    }

    /// A tail call (`return_call*`): pops the arguments (and the callee operand, `extra`)
    /// and ends the block; the results are the function's (the validator checked).
    fn tail_call(&mut self, opcode: Opcode, imm: Imm, type_index: u32, extra: usize) -> Result<()> {
        let Some(ft) = self.module.types.get(type_index as usize) else {
            return err("unknown type");
        };
        let args = self.popn(ft.params().len() + extra)?;
        self.b().inst(opcode, imm, &args, &[]);
        self.set_unreachable();
        Ok(())
    }

    fn return_(&mut self) {
        let n = self.func.results.len();
        match self.top(n) {
            Ok(vals) => {
                let vals = vals.to_vec();
                self.b().ret(&vals);
            }
            Err(e) => self.t.error = Some(e.0),
        }
    }

    fn set_local(&mut self, i: u32, v: Value) -> Result<()> {
        if i >= self.num_locals() {
            return err(format!("local {i} out of range"));
        }
        self.write_var(i, self.cur, v);
        Ok(())
    }

    fn open(&mut self, kind: ControlKind, bt: BlockType) -> Result<()> {
        if !self.t.ctrl.reachable() {
            let h = self.t.stack.len() as u32;
            self.t.ctrl.push_dead(kind, h, DEAD);
            return Ok(());
        }
        let cond = if kind == ControlKind::If {
            Some(self.pop()?)
        } else {
            None
        };
        let (params, results) = self.block_sig(bt)?;
        // The translator's operand stack holds values, not cells: the frame's arity and
        // heights count values (`Arity::of` counts cells, two per v128).
        let arity = Arity {
            params: params.len() as u32,
            results: results.len() as u32,
        };
        let height = self.t.stack.len();
        if height < params.len() {
            return err("operand stack underflow at a block");
        }
        let below = height - params.len();
        let mut payload = Blocks {
            loops_at_open: self.t.live_loops,
            ..DEAD
        };
        match kind {
            ControlKind::Loop => {
                let l = self.num_locals();
                self.t.header_params += l as usize + height;
                if self.t.header_params > MAX_HEADER_PARAMS {
                    return err(format!(
                        "too many locals times loops for the optimizing tier (over {MAX_HEADER_PARAMS} loop-header parameters)"
                    ));
                }
                self.t.live_loops += 1;
                let header = self.create_block();
                let osr = (!self.t.no_osr_entries).then(|| self.create_block());
                // Header parameters: every local, then every operand position.
                let mut header_params = Vec::with_capacity(l as usize + height);
                for i in 0..l {
                    let t = self.t.locals[i as usize];
                    header_params.push(self.func.append_block_param(header, t));
                }
                for p in 0..height {
                    let t = self.func.value_type(self.t.stack[p]);
                    header_params.push(self.func.append_block_param(header, t));
                }
                let args = self.loop_args(height, &[])?;
                self.jump(header, &args);
                // The OSR entry reads the same state from the frame's cells.
                if let Some(osr) = osr {
                    // Cells, not values: a v128 takes two (docs/abi.md §1).
                    let mut cells = Vec::with_capacity(header_params.len());
                    let mut cell = 0u32;
                    for &p in &header_params {
                        let t = self.func.value_type(p);
                        let inst = Builder::new(&mut self.func, osr).inst(
                            Opcode::OsrLoadCell,
                            Imm::Index(cell),
                            &[],
                            &[t],
                        );
                        cell += t.cells();
                        cells.push(self.func.result(inst).unwrap());
                    }
                    self.cur = osr;
                    self.jump(header, &cells);
                }
                self.cur = header;
                for i in 0..l {
                    self.write_var(i, header, header_params[i as usize]);
                }
                for p in 0..height {
                    let v = header_params[l as usize + p];
                    self.t.stack[p] = v;
                    self.write_var(l + p as u32, header, v);
                }
                payload.header = header;
                // The loop-header interruption point: entering the loop and every branch
                // back run it; an OSR entry jumps to the header, so it runs it once too.
                self.interruption_point();
                if let Some(osr) = osr {
                    let ordinal = self.t.ctrl.loop_count();
                    self.func.osr_entries.push(OsrEntry {
                        loop_ordinal: ordinal,
                        block: osr,
                    });
                }
            }
            ControlKind::Block | ControlKind::TryTable | ControlKind::LegacyTry => {
                self.define_stack_vars(below);
                payload.cont = self.cont_block(&results);
            }
            _ => {
                self.define_stack_vars(below);
                payload.cont = self.cont_block(&results);
                let then = self.create_block();
                let else_ = self.create_unplaced_block();
                payload.else_ = else_;
                payload.saved = self.t.saved.len() as u32;
                let ps = self.t.stack[below..].to_vec();
                self.t.saved.extend_from_slice(&ps);
                let t = self.func.make_block_call(then, &[]);
                let e = self.func.make_block_call(else_, &[]);
                self.branch(Opcode::BrIf, &[cond.unwrap()], &[t, e]);
                self.cur = then;
            }
        }
        self.t.ctrl.push(kind, bt, arity, height as u32, payload);
        Ok(())
    }

    fn else_(&mut self) -> Result<()> {
        let Some(f) = self.t.ctrl.last().copied() else {
            return err("else outside a frame");
        };
        if f.reachable && self.t.ctrl.reachable() {
            let vals = self.top(f.arity.results as usize)?.to_vec();
            self.jump(f.payload.cont, &vals);
        }
        self.t.ctrl.enter_else();
        if f.reachable {
            self.cur = f.payload.else_;
            self.place(f.payload.else_);
            self.t.stack.truncate(f.height as usize);
            if self.t.live_loops != f.payload.loops_at_open {
                self.reload_stack_vars(f.height as usize);
            }
            let s = f.payload.saved as usize;
            let ps = self.t.saved[s..s + f.arity.params as usize].to_vec();
            self.t.stack.extend(ps);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        let Some(f) = self.t.ctrl.last().copied() else {
            return err("end outside a frame");
        };
        let falls_through = self.t.ctrl.reachable();
        if !f.reachable {
            self.t.ctrl.pop();
            return Ok(());
        }
        match f.kind {
            ControlKind::Func => {
                if falls_through {
                    self.return_();
                }
                self.t.ctrl.pop();
                return Ok(());
            }
            ControlKind::Loop => {
                self.t.ctrl.pop();
                if !falls_through {
                    self.set_unreachable();
                }
                return Ok(());
            }
            _ => {}
        }
        if falls_through {
            let vals = self.top(f.arity.results as usize)?.to_vec();
            self.jump(f.payload.cont, &vals);
        }
        if f.kind == ControlKind::If {
            // No else: the false edge passes the parameters straight to the continuation.
            self.cur = f.payload.else_;
            self.place(f.payload.else_);
            let s = f.payload.saved as usize;
            let ps = self.t.saved[s..s + f.arity.params as usize].to_vec();
            self.jump(f.payload.cont, &ps);
        }
        if matches!(f.kind, ControlKind::If | ControlKind::Else) {
            self.t.saved.truncate(f.payload.saved as usize);
        }
        match f.kind {
            ControlKind::TryTable => self.t.clauses.truncate(f.payload.clauses as usize),
            ControlKind::LegacyTry | ControlKind::LegacyCatch | ControlKind::LegacyCatchAll => {
                // Handler blocks of clauses that never came (a `delegate`, or a body that
                // ended before them) have no code: out of the layout.
                let from = (f.payload.clauses + f.payload.next_clause) as usize;
                let to = (f.payload.clauses + f.payload.nclauses) as usize;
                for i in from..to.min(self.t.handlers.len()) {
                    let h = self.t.handlers[i];
                    self.func.layout.retain(|b| *b != h);
                }
                self.t.handlers.truncate(f.payload.clauses as usize);
            }
            _ => {}
        }
        self.t.ctrl.pop();
        self.t.stack.truncate(f.height as usize);
        let cont = f.payload.cont;
        if self.t.preds[cont.index()].is_empty() {
            // Nothing reaches the end: what follows is dead. The continuation block stays
            // empty and out of the layout.
            self.set_unreachable();
            return Ok(());
        }
        self.cur = cont;
        self.place(cont);
        // The results are the continuation's first parameters; reloading the positions
        // below can append more (Braun parameters), which are not results.
        let results = self.func.block_params(cont)[..f.arity.results as usize].to_vec();
        if self.t.live_loops != f.payload.loops_at_open {
            self.reload_stack_vars(f.height as usize);
        }
        self.t.stack.extend(results);
        Ok(())
    }
}

/// Records what each legacy `try` of a body ends with (`LegacyTry`), by ordinal.
fn scan_legacy(body: wasmparser::FunctionBody<'_>, out: &mut Vec<LegacyTry>) -> Result<()> {
    let wrap = |e: wasmparser::BinaryReaderError| TranslateError(e.to_string());
    let mut reader = body.get_operators_reader().map_err(wrap)?;
    // Open frames: the ordinal of each legacy `try`, `None` for other frames.
    let mut open: Vec<Option<usize>> = Vec::new();
    while !reader.eof() {
        match reader.read().map_err(wrap)? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => open.push(None),
            Operator::Try { .. } => {
                open.push(Some(out.len()));
                out.push(LegacyTry::default());
            }
            Operator::Catch { tag_index } => {
                if let Some(Some(t)) = open.last() {
                    out[*t].clauses.push(Some(tag_index));
                }
            }
            Operator::CatchAll => {
                if let Some(Some(t)) = open.last() {
                    out[*t].clauses.push(None);
                }
            }
            Operator::Delegate { relative_depth } => {
                if let Some(Some(t)) = open.pop() {
                    out[t].delegate = Some(relative_depth);
                }
            }
            Operator::End => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(())
}

fn zero_op(ty: Type) -> (Opcode, Imm) {
    match ty {
        Type::I32 => (Opcode::I32Const, Imm::I32(0)),
        Type::I64 => (Opcode::I64Const, Imm::I64(0)),
        Type::F32 => (Opcode::F32Const, Imm::F32(0)),
        Type::F64 => (Opcode::F64Const, Imm::F64(0)),
        Type::FuncRef | Type::ExternRef | Type::ExnRef => (Opcode::RefNull, Imm::Type(ty)),
        Type::V128 => (Opcode::V128Const, Imm::V128([0; 16])),
    }
}
