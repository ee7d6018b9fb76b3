//! Wasm to SSA, in one pass over the validated body (Braun et al. 2013, "Simple and Efficient
//! Construction of Static Single Assignment Form").
//!
//! Locals are SSA variables: a read finds the nearest definition, adding block parameters
//! where paths join. Blocks are sealed (their predecessors final) at wasm's structured `end`s:
//! a `block`'s or `if`'s continuation and a `loop`'s header at the frame's `end`, the arms of
//! an `if` and the fall-through of a `br_if` at once. Operand-stack values that cross control
//! flow are explicit: block results are parameters of the continuation block, loop parameters
//! parameters of the header.
//!
//! **OSR** (design.md §5): every reachable loop gets an OSR entry, a root block that reads the
//! frame and jumps to the loop's header. The frame at a loop header is canonical in every
//! tier: local `i` in cell `i`, operand-stack position `p` in cell `L + p` (docs/abi.md; the
//! interpreter, whose operand stack sits above its constant pool, moves it down when it
//! enters OSR). An OSR entry reads all locals, the operand-stack values below the loop and
//! the loop's parameters. So that the values below the loop are the same on both ways in,
//! they become SSA variables (one per stack position) when the loop is entered, and every
//! later read of them goes through the variable.

use crate::function::{Block, BlockCall, Function, Imm, Inst, MemArg, OsrEntry, Value};
use crate::opcode::Opcode;
use crate::types::Type;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use strata_vm::{Module, TrapCode, ValType};
use wasmparser::{BlockType, Operator};

/// Translates defined function `def_index` of `module` (validated) into SSA.
pub fn translate_function(module: &Module, def_index: usize) -> Result<Function, String> {
    let func_index = module.num_imported_funcs + def_index as u32;
    let ty = module.func_type(func_index);
    let name = module
        .func_name(func_index)
        .map_or_else(|| format!("f{func_index}"), str::to_string);
    let params: Vec<Type> = ty.params().iter().map(|&t| t.into()).collect();
    let results: Vec<Type> = ty.results().iter().map(|&t| t.into()).collect();
    let body = module.body(def_index);
    let mut local_types = params.clone();
    let mut locals = body.get_locals_reader().map_err(|e| e.to_string())?;
    for _ in 0..locals.get_count() {
        let (count, t) = locals.read().map_err(|e| e.to_string())?;
        if local_types.len() as u64 + count as u64 > 1 << 20 {
            return Err("function has too many locals for the optimizing tier".into());
        }
        let t = strata_vm::module::val_type(t, 0).map_err(|e| e.message)?;
        local_types.extend(std::iter::repeat_n(Type::from(t), count as usize));
    }
    let mut t = Translator::new(module, Function::new(name, params, results), local_types);
    let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
    while !reader.eof() {
        let op = reader.read().map_err(|e| e.to_string())?;
        t.operator(op)?;
    }
    t.finish()
}

/// An operand-stack entry: a value, or (below a loop) the SSA variable of its position.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Val(Value),
    Var(u32, Type),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

struct Frame {
    kind: Kind,
    /// Operand-stack height below the frame's parameters.
    height: usize,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Where a branch to this frame's label goes: the header of a loop, else the
    /// continuation after `end`.
    label: Block,
    /// For an `if`: the block of the `else` arm and the parameters' entries.
    else_block: Option<Block>,
    if_params: Vec<Entry>,
    /// Whether the frame was entered in reachable code (dead frames translate nothing).
    live: bool,
}

/// A multiplicative hash for the (block, variable) keys.
#[derive(Default)]
struct MulHasher(u64);

impl Hasher for MulHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Defs = HashMap<u64, Value, BuildHasherDefault<MulHasher>>;

fn key(block: Block, var: u32) -> u64 {
    ((block.0 as u64) << 32) | var as u64
}

struct Translator<'m> {
    module: &'m Module,
    f: Function,
    local_types: Vec<Type>,
    stack: Vec<Entry>,
    frames: Vec<Frame>,
    cur: Block,
    reachable: bool,
    loops: u32,
    // Braun's construction.
    defs: Defs,
    sealed: Vec<bool>,
    /// Parameters added to unsealed blocks, completed when the block is sealed.
    incomplete: Vec<Vec<(u32, Value)>>,
    /// Predecessor edges per block: the branch and the destination's index in it.
    preds: Vec<Vec<(Inst, u32)>>,
    /// Parameters whose incoming arguments still have to be added.
    pending: std::collections::VecDeque<(u32, Block, Value)>,
    /// The block of each instruction.
    inst_block: Vec<Block>,
    globals: Vec<Type>,
    tables: Vec<Type>,
}

impl<'m> Translator<'m> {
    fn new(module: &'m Module, mut f: Function, local_types: Vec<Type>) -> Translator<'m> {
        let entry = f.create_block();
        for i in 0..f.params.len() {
            let ty = f.params[i];
            f.append_param(entry, ty);
        }
        // `Module::globals` and `tables` list imports first, as the index spaces do.
        let globals = module
            .globals
            .iter()
            .map(|g| Type::from(g.ty.content))
            .collect();
        let tables = module
            .tables
            .iter()
            .map(|t| Type::from(t.ty.elem))
            .collect();
        let results = f.results.clone();
        let mut t = Translator {
            module,
            f,
            local_types,
            stack: Vec::new(),
            frames: Vec::new(),
            cur: entry,
            reachable: true,
            loops: 0,
            defs: Defs::default(),
            sealed: vec![true],
            incomplete: vec![Vec::new()],
            preds: vec![Vec::new()],
            pending: Default::default(),
            inst_block: Vec::new(),
            globals,
            tables,
        };
        // Parameters, then declared locals at zero.
        let params: Vec<Value> = t.f.blocks[entry.index()].params.clone();
        for (i, p) in params.into_iter().enumerate() {
            t.write(i as u32, entry, p);
        }
        for i in t.f.params.len()..t.local_types.len() {
            let zero = t.zero(t.local_types[i]);
            t.write(i as u32, entry, zero);
        }
        let label = t.new_block();
        t.frames.push(Frame {
            kind: Kind::Func,
            height: 0,
            params: Vec::new(),
            results,
            label,
            else_block: None,
            if_params: Vec::new(),
            live: true,
        });
        t
    }

    fn new_block(&mut self) -> Block {
        let b = self.f.create_block();
        self.sealed.push(false);
        self.incomplete.push(Vec::new());
        self.preds.push(Vec::new());
        b
    }

    fn zero(&mut self, ty: Type) -> Value {
        let (op, imm) = match ty {
            Type::I32 | Type::I64 | Type::F32 | Type::F64 => {
                (Opcode::const_of(ty).expect("numeric"), Imm::Const(0))
            }
            _ => (Opcode::RefNull, Imm::Type(ty)),
        };
        self.emit(op, imm, &[], &[ty])[0]
    }

    // ---- emission ----

    fn append(
        &mut self,
        op: Opcode,
        imm: Imm,
        args: &[Value],
        results: &[Type],
        dests: Vec<BlockCall>,
    ) -> Inst {
        let i = self.f.append_inst(self.cur, op, imm, args, results, dests);
        self.inst_block.push(self.cur);
        i
    }

    fn emit(&mut self, op: Opcode, imm: Imm, args: &[Value], results: &[Type]) -> Vec<Value> {
        let i = self.append(op, imm, args, results, Vec::new());
        self.f.results(i).to_vec()
    }

    fn emit1(&mut self, op: Opcode, imm: Imm, args: &[Value], result: Type) -> Value {
        let i = self.append(op, imm, args, &[result], Vec::new());
        self.f.results(i)[0]
    }

    /// Ends the current block with a terminator and records its edges.
    fn terminate(&mut self, op: Opcode, imm: Imm, args: &[Value], dests: Vec<BlockCall>) {
        let targets: Vec<Block> = dests.iter().map(|d| d.block).collect();
        let i = self.append(op, imm, args, &[], dests);
        for (n, b) in targets.into_iter().enumerate() {
            debug_assert!(!self.sealed[b.index()], "edge into sealed {b}");
            self.preds[b.index()].push((i, n as u32));
        }
        self.reachable = false;
    }

    fn jump(&mut self, to: Block, args: Vec<Value>) {
        self.terminate(
            Opcode::Jump,
            Imm::None,
            &[],
            vec![BlockCall { block: to, args }],
        );
    }

    fn switch_to(&mut self, b: Block) {
        self.cur = b;
        self.reachable = true;
    }

    // ---- SSA variables (Braun et al.) ----

    fn write(&mut self, var: u32, block: Block, v: Value) {
        self.defs.insert(key(block, var), v);
    }

    /// The value of `var` at the end of `block` so far (or at its start, for a block with no
    /// instructions yet).
    fn read(&mut self, var: u32, block: Block, ty: Type) -> Result<Value, String> {
        let v = self.read_one(var, block, ty)?;
        self.drain()?;
        Ok(v)
    }

    fn block_of(&self, inst: Inst) -> Block {
        self.inst_block[inst.index()]
    }

    /// One step of the read: walks up single-predecessor blocks; at a join makes a parameter
    /// whose operands are queued on `pending`.
    fn read_one(&mut self, var: u32, block: Block, ty: Type) -> Result<Value, String> {
        let mut chain = Vec::new();
        let mut b = block;
        let v = loop {
            if let Some(&v) = self.defs.get(&key(b, var)) {
                break v;
            }
            if !self.sealed[b.index()] {
                let p = self.f.append_param(b, ty);
                self.incomplete[b.index()].push((var, p));
                break p;
            }
            match self.preds[b.index()][..] {
                [] => return Err(format!("variable {var} has no definition reaching {b}")),
                [(inst, _)] => {
                    chain.push(b);
                    b = self.block_of(inst);
                }
                _ => {
                    let p = self.f.append_param(b, ty);
                    self.write(var, b, p);
                    self.pending.push_back((var, b, p));
                    break p;
                }
            }
        };
        self.write(var, b, v);
        for c in chain {
            self.write(var, c, v);
        }
        Ok(v)
    }

    /// No more predecessors will be added to `b`: its incomplete parameters get operands.
    fn seal(&mut self, b: Block) -> Result<(), String> {
        if self.sealed[b.index()] {
            return Ok(());
        }
        self.sealed[b.index()] = true;
        for (var, p) in std::mem::take(&mut self.incomplete[b.index()]) {
            self.pending.push_back((var, b, p));
        }
        self.drain()
    }

    /// Adds the incoming arguments of the parameters queued on `pending` (a worklist, so that
    /// long chains of joins do not recurse; first in, first out, so that each edge gets its
    /// arguments in the order the block's parameters were made).
    fn drain(&mut self) -> Result<(), String> {
        while let Some((var, b, param)) = self.pending.pop_front() {
            for e in 0..self.preds[b.index()].len() {
                let (inst, n) = self.preds[b.index()][e];
                let from = self.block_of(inst);
                let arg = self.read_one(var, from, ty_of(&self.f, param))?;
                self.f.insts[inst.index()].dests[n as usize].args.push(arg);
            }
        }
        Ok(())
    }
}

impl Translator<'_> {
    // ---- the operand stack ----

    fn push(&mut self, v: Value) {
        self.stack.push(Entry::Val(v));
    }

    fn value(&mut self, e: Entry) -> Result<Value, String> {
        match e {
            Entry::Val(v) => Ok(v),
            Entry::Var(var, ty) => self.read(var, self.cur, ty),
        }
    }

    fn pop(&mut self) -> Result<Value, String> {
        let e = self.stack.pop().ok_or("operand stack underflow")?;
        self.value(e)
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>, String> {
        let at = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or("operand stack underflow")?;
        let entries: Vec<Entry> = self.stack.drain(at..).collect();
        entries.into_iter().map(|e| self.value(e)).collect()
    }

    /// The top `n` values, left on the stack.
    fn peek_n(&mut self, n: usize) -> Result<Vec<Value>, String> {
        let at = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or("operand stack underflow")?;
        let entries: Vec<Entry> = self.stack[at..].to_vec();
        entries.into_iter().map(|e| self.value(e)).collect()
    }

    fn entry_type(&self, e: Entry) -> Type {
        match e {
            Entry::Val(v) => self.f.ty(v),
            Entry::Var(_, ty) => ty,
        }
    }

    /// The SSA variable of operand-stack position `p`.
    fn stack_var(&self, p: usize) -> u32 {
        (self.local_types.len() + p) as u32
    }

    fn block_type(&self, bt: BlockType) -> (Vec<Type>, Vec<Type>) {
        match bt {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(t) => (
                Vec::new(),
                vec![strata_vm::module::val_type(t, 0).map_or(Type::I32, Type::from)],
            ),
            BlockType::FuncType(i) => {
                let ft = &self.module.types[i as usize];
                let conv = |ts: &[ValType]| ts.iter().map(|&t| Type::from(t)).collect();
                (conv(ft.params()), conv(ft.results()))
            }
        }
    }

    fn push_frame(&mut self, kind: Kind, bt: BlockType, label: Block, live: bool) {
        let (params, results) = self.block_type(bt);
        let height = self.stack.len().saturating_sub(params.len());
        self.frames.push(Frame {
            kind,
            height,
            params,
            results,
            label,
            else_block: None,
            if_params: Vec::new(),
            live,
        });
    }

    /// The destination of a branch to relative depth `depth`, with its arguments (left on the
    /// stack); `None` for a branch out of the function (a return).
    fn branch_target(&mut self, depth: u32) -> Result<Option<BlockCall>, String> {
        let i = self
            .frames
            .len()
            .checked_sub(depth as usize + 1)
            .ok_or("branch depth out of range")?;
        let (kind, label, n) = {
            let fr = &self.frames[i];
            let n = if fr.kind == Kind::Loop {
                fr.params.len()
            } else {
                fr.results.len()
            };
            (fr.kind, fr.label, n)
        };
        if kind == Kind::Func {
            return Ok(None);
        }
        let args = self.peek_n(n)?;
        Ok(Some(BlockCall { block: label, args }))
    }

    fn emit_return(&mut self) -> Result<(), String> {
        let n = self.f.results.len();
        let args = self.peek_n(n)?;
        self.terminate(Opcode::Return, Imm::None, &args, Vec::new());
        Ok(())
    }

    // ---- operators ----

    fn operator(&mut self, op: Operator<'_>) -> Result<(), String> {
        if !self.reachable {
            return self.dead_operator(op);
        }
        use Operator as O;
        match op {
            O::Nop => {}
            O::Unreachable => self.terminate(
                Opcode::Trap,
                Imm::Trap(TrapCode::Unreachable),
                &[],
                Vec::new(),
            ),
            O::Block { blockty } => {
                let label = self.new_block();
                self.push_frame(Kind::Block, blockty, label, true);
            }
            O::Loop { blockty } => self.enter_loop(blockty)?,
            O::If { blockty } => {
                let cond = self.pop()?;
                let then = self.new_block();
                let els = self.new_block();
                let end = self.new_block();
                self.push_frame(Kind::If, blockty, end, true);
                let n = self.frames.last().map_or(0, |f| f.params.len());
                let at = self.stack.len() - n;
                let if_params = self.stack[at..].to_vec();
                let fr = self.frames.last_mut().ok_or("no frame")?;
                fr.else_block = Some(els);
                fr.if_params = if_params;
                let dests = vec![
                    BlockCall {
                        block: then,
                        args: Vec::new(),
                    },
                    BlockCall {
                        block: els,
                        args: Vec::new(),
                    },
                ];
                self.terminate(Opcode::Brif, Imm::None, &[cond], dests);
                self.seal(then)?;
                self.seal(els)?;
                self.switch_to(then);
            }
            O::Else => self.visit_else()?,
            O::End => self.visit_end()?,
            O::Br { relative_depth } => match self.branch_target(relative_depth)? {
                Some(d) => {
                    let (b, a) = (d.block, d.args);
                    self.jump(b, a)
                }
                None => self.emit_return()?,
            },
            O::BrIf { relative_depth } => {
                let cond = self.pop()?;
                let next = self.new_block();
                let taken = match self.branch_target(relative_depth)? {
                    Some(d) => d,
                    None => {
                        // A conditional return: through a block of its own.
                        let ret = self.new_block();
                        let n = self.f.results.len();
                        let vals = self.peek_n(n)?;
                        let here = self.cur;
                        self.terminate(
                            Opcode::Brif,
                            Imm::None,
                            &[cond],
                            vec![
                                BlockCall {
                                    block: ret,
                                    args: Vec::new(),
                                },
                                BlockCall {
                                    block: next,
                                    args: Vec::new(),
                                },
                            ],
                        );
                        let _ = here;
                        self.seal(ret)?;
                        self.switch_to(ret);
                        self.terminate(Opcode::Return, Imm::None, &vals, Vec::new());
                        self.seal(next)?;
                        self.switch_to(next);
                        return Ok(());
                    }
                };
                self.terminate(
                    Opcode::Brif,
                    Imm::None,
                    &[cond],
                    vec![
                        taken,
                        BlockCall {
                            block: next,
                            args: Vec::new(),
                        },
                    ],
                );
                self.seal(next)?;
                self.switch_to(next);
            }
            O::BrTable { targets } => {
                let index = self.pop()?;
                let mut dests = Vec::new();
                let mut ret_block = None;
                let depths: Vec<u32> = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                for d in depths {
                    match self.branch_target(d)? {
                        Some(call) => dests.push(call),
                        None => {
                            let b = match ret_block {
                                Some(b) => b,
                                None => {
                                    let b = self.new_block();
                                    ret_block = Some(b);
                                    b
                                }
                            };
                            dests.push(BlockCall {
                                block: b,
                                args: Vec::new(),
                            });
                        }
                    }
                }
                let n = self.f.results.len();
                let vals = if ret_block.is_some() {
                    self.peek_n(n)?
                } else {
                    Vec::new()
                };
                self.terminate(Opcode::BrTable, Imm::None, &[index], dests);
                if let Some(b) = ret_block {
                    self.seal(b)?;
                    self.switch_to(b);
                    self.terminate(Opcode::Return, Imm::None, &vals, Vec::new());
                }
            }
            O::Return => self.emit_return()?,
            O::Call { function_index } => {
                let ft = self.module.func_type(function_index).clone();
                let args = self.pop_n(ft.params().len())?;
                let op = if function_index < self.module.num_imported_funcs {
                    Opcode::CallImport
                } else {
                    Opcode::Call
                };
                let rt: Vec<Type> = ft.results().iter().map(|&t| t.into()).collect();
                for v in self.emit(op, Imm::Index(function_index), &args, &rt) {
                    self.push(v);
                }
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let ft = self.module.types[type_index as usize].clone();
                let index = self.pop()?;
                let mut args = self.pop_n(ft.params().len())?;
                args.push(index);
                let rt: Vec<Type> = ft.results().iter().map(|&t| t.into()).collect();
                let imm = Imm::Pair(type_index, table_index);
                for v in self.emit(Opcode::CallIndirect, imm, &args, &rt) {
                    self.push(v);
                }
            }
            O::Drop => {
                self.stack.pop().ok_or("operand stack underflow")?;
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop()?;
                let b = self.pop()?;
                let a = self.pop()?;
                let ty = self.f.ty(a);
                let v = self.emit1(Opcode::Select, Imm::None, &[a, b, cond], ty);
                self.push(v);
            }
            O::LocalGet { local_index } => {
                let ty = *self
                    .local_types
                    .get(local_index as usize)
                    .ok_or("no such local")?;
                let v = self.read(local_index, self.cur, ty)?;
                self.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.pop()?;
                self.write(local_index, self.cur, v);
            }
            O::LocalTee { local_index } => {
                let v = self.pop()?;
                self.write(local_index, self.cur, v);
                self.push(v);
            }
            O::GlobalGet { global_index } => {
                let ty = *self
                    .globals
                    .get(global_index as usize)
                    .ok_or("no such global")?;
                let v = self.emit1(Opcode::GlobalGet, Imm::Index(global_index), &[], ty);
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                let v = self.pop()?;
                self.emit(Opcode::GlobalSet, Imm::Index(global_index), &[v], &[]);
            }
            O::I32Const { value } => self.constant(Opcode::I32Const, value as i64 as u64),
            O::I64Const { value } => self.constant(Opcode::I64Const, value as u64),
            O::F32Const { value } => self.constant(Opcode::F32Const, value.bits() as u64),
            O::F64Const { value } => self.constant(Opcode::F64Const, value.bits()),
            O::RefNull { hty } => {
                let ty = match hty {
                    wasmparser::HeapType::Abstract {
                        ty: wasmparser::AbstractHeapType::Extern,
                        ..
                    } => Type::ExternRef,
                    _ => Type::FuncRef,
                };
                let v = self.emit1(Opcode::RefNull, Imm::Type(ty), &[], ty);
                self.push(v);
            }
            O::RefIsNull => self.simple(Opcode::RefIsNull)?,
            O::RefFunc { function_index } => {
                let v = self.emit1(
                    Opcode::RefFunc,
                    Imm::Index(function_index),
                    &[],
                    Type::FuncRef,
                );
                self.push(v);
            }
            O::MemorySize { mem } => {
                self.helper(Opcode::MemorySize, Imm::Index(mem), 0, &[Type::I32])?
            }
            O::MemoryGrow { mem } => {
                self.helper(Opcode::MemoryGrow, Imm::Index(mem), 1, &[Type::I32])?
            }
            O::MemoryFill { mem } => self.helper(Opcode::MemoryFill, Imm::Index(mem), 3, &[])?,
            O::MemoryCopy { dst_mem, src_mem } => {
                self.helper(Opcode::MemoryCopy, Imm::Pair(dst_mem, src_mem), 3, &[])?
            }
            O::MemoryInit { data_index, mem } => {
                self.helper(Opcode::MemoryInit, Imm::Pair(data_index, mem), 3, &[])?
            }
            O::DataDrop { data_index } => {
                self.helper(Opcode::DataDrop, Imm::Index(data_index), 0, &[])?
            }
            O::TableGet { table } => {
                let ty = self.table_type(table)?;
                self.helper(Opcode::TableGet, Imm::Index(table), 1, &[ty])?
            }
            O::TableSet { table } => self.helper(Opcode::TableSet, Imm::Index(table), 2, &[])?,
            O::TableSize { table } => {
                self.helper(Opcode::TableSize, Imm::Index(table), 0, &[Type::I32])?
            }
            O::TableGrow { table } => {
                self.helper(Opcode::TableGrow, Imm::Index(table), 2, &[Type::I32])?
            }
            O::TableFill { table } => self.helper(Opcode::TableFill, Imm::Index(table), 3, &[])?,
            O::TableCopy {
                dst_table,
                src_table,
            } => self.helper(Opcode::TableCopy, Imm::Pair(dst_table, src_table), 3, &[])?,
            O::TableInit { elem_index, table } => {
                self.helper(Opcode::TableInit, Imm::Pair(elem_index, table), 3, &[])?
            }
            O::ElemDrop { elem_index } => {
                self.helper(Opcode::ElemDrop, Imm::Index(elem_index), 0, &[])?
            }
            other => {
                if let Some((opcode, memarg)) = memory_op(&other) {
                    let wasmparser::MemArgTarget::Memory(memory) = memarg.target else {
                        return Err("memory accesses to GC arrays are not supported".into());
                    };
                    let mem = MemArg {
                        memory,
                        offset: memarg.offset,
                        align: memarg.align,
                        checked: true,
                    };
                    let n = opcode.args().len();
                    let args = self.pop_n(n)?;
                    let rt = Function::fixed_results(opcode).unwrap_or_default();
                    for v in self.emit(opcode, Imm::Mem(mem), &args, &rt) {
                        self.push(v);
                    }
                } else if let Some(opcode) = numeric_op(&other) {
                    self.simple(opcode)?;
                } else {
                    return Err(format!(
                        "the optimizing tier does not translate {other:?} yet"
                    ));
                }
            }
        }
        Ok(())
    }

    fn table_type(&self, table: u32) -> Result<Type, String> {
        self.tables
            .get(table as usize)
            .copied()
            .ok_or_else(|| "no such table".into())
    }

    fn constant(&mut self, op: Opcode, bits: u64) {
        let ty = Function::fixed_results(op).expect("constants have fixed types")[0];
        let v = self.emit1(op, Imm::Const(bits), &[], ty);
        self.push(v);
    }

    /// An operator whose operands and results are its table row's.
    fn simple(&mut self, op: Opcode) -> Result<(), String> {
        let args = self.pop_n(op.args().len())?;
        let rt = Function::fixed_results(op).ok_or("an operator without fixed result types")?;
        for v in self.emit(op, Imm::None, &args, &rt) {
            self.push(v);
        }
        Ok(())
    }

    fn helper(&mut self, op: Opcode, imm: Imm, nargs: usize, rt: &[Type]) -> Result<(), String> {
        let args = self.pop_n(nargs)?;
        for v in self.emit(op, imm, &args, rt) {
            self.push(v);
        }
        Ok(())
    }

    fn enter_loop(&mut self, bt: BlockType) -> Result<(), String> {
        let loop_index = self.loops;
        self.loops += 1;
        let (params, _) = self.block_type(bt);
        let h = self.stack.len() - params.len();
        // The values below the loop become variables, so that the OSR entry can define them.
        for p in 0..h {
            if let Entry::Val(v) = self.stack[p] {
                let var = self.stack_var(p);
                let ty = self.f.ty(v);
                self.write(var, self.cur, v);
                self.stack[p] = Entry::Var(var, ty);
            }
        }
        let header = self.new_block();
        for &t in &params {
            self.f.append_param(header, t);
        }
        let args = self.pop_n(params.len())?;
        self.jump(header, args);
        // The OSR entry: locals in cells 0..L, operand position p in cell L + p.
        let osr = self.new_block();
        self.sealed[osr.index()] = true;
        self.f.osr_entries.push(OsrEntry {
            loop_index,
            block: osr,
        });
        self.cur = osr;
        let num_locals = self.local_types.len();
        for i in 0..num_locals {
            let ty = self.local_types[i];
            let v = self.emit1(Opcode::OsrLoad, Imm::Cell(i as u32), &[], ty);
            self.write(i as u32, osr, v);
        }
        for p in 0..h {
            let ty = self.entry_type(self.stack[p]);
            let cell = (num_locals + p) as u32;
            let v = self.emit1(Opcode::OsrLoad, Imm::Cell(cell), &[], ty);
            self.write(self.stack_var(p), osr, v);
        }
        let mut osr_args = Vec::new();
        for (k, &ty) in params.iter().enumerate() {
            let cell = (num_locals + h + k) as u32;
            osr_args.push(self.emit1(Opcode::OsrLoad, Imm::Cell(cell), &[], ty));
        }
        self.jump(header, osr_args);
        self.switch_to(header);
        let header_params = self.f.blocks[header.index()].params.clone();
        for v in header_params {
            self.push(v);
        }
        self.frames.push(Frame {
            kind: Kind::Loop,
            height: h,
            params,
            results: self.block_type(bt).1,
            label: header,
            else_block: None,
            if_params: Vec::new(),
            live: true,
        });
        Ok(())
    }

    fn visit_else(&mut self) -> Result<(), String> {
        let (end, els, height, live, if_params, n) = {
            let fr = self.frames.last_mut().ok_or("else without if")?;
            if fr.kind != Kind::If {
                return Err("else without if".into());
            }
            fr.kind = Kind::Else;
            (
                fr.label,
                fr.else_block.take(),
                fr.height,
                fr.live,
                std::mem::take(&mut fr.if_params),
                fr.results.len(),
            )
        };
        if self.reachable {
            let args = self.pop_n(n)?;
            self.jump(end, args);
        }
        self.stack.truncate(height);
        match (live, els) {
            (true, Some(els)) => {
                self.switch_to(els);
                self.stack.extend(if_params);
            }
            _ => self.reachable = false,
        }
        Ok(())
    }

    fn visit_end(&mut self) -> Result<(), String> {
        let fr = self.frames.pop().ok_or("end without a frame")?;
        match fr.kind {
            Kind::Func => {
                if self.reachable {
                    self.emit_return()?;
                }
                // Nothing branches to the function's label (branches out of the function
                // are returns): it stays empty and is dropped by `finish`.
                self.seal(fr.label)?;
            }
            Kind::Loop => {
                self.seal(fr.label)?;
                // The loop's results are on the stack, in the current block.
                if !self.reachable {
                    self.stack.truncate(fr.height);
                }
            }
            Kind::Block | Kind::If | Kind::Else => {
                if self.reachable {
                    let args = self.pop_n(fr.results.len())?;
                    self.jump(fr.label, args);
                }
                if let (Kind::If, Some(els)) = (fr.kind, fr.else_block) {
                    // No else arm: the parameters pass through (they equal the results).
                    self.switch_to(els);
                    let args: Vec<Value> = fr
                        .if_params
                        .iter()
                        .map(|&e| self.value(e))
                        .collect::<Result<_, _>>()?;
                    self.jump(fr.label, args);
                }
                self.stack.truncate(fr.height);
                self.seal(fr.label)?;
                if !self.preds[fr.label.index()].is_empty() {
                    self.switch_to(fr.label);
                    for &t in &fr.results {
                        let v = self.f.append_param(fr.label, t);
                        self.push(v);
                    }
                } else {
                    self.reachable = false;
                }
            }
        }
        Ok(())
    }

    /// In unreachable code only the frame structure matters (and loops are counted: their
    /// ordinals are the OSR key).
    fn dead_operator(&mut self, op: Operator<'_>) -> Result<(), String> {
        match op {
            Operator::Block { blockty } | Operator::If { blockty } => {
                let label = self.cur;
                self.push_frame(Kind::Block, blockty, label, false);
                self.frames.last_mut().ok_or("no frame")?.height = self.stack.len();
            }
            Operator::Loop { blockty } => {
                self.loops += 1;
                let label = self.cur;
                self.push_frame(Kind::Block, blockty, label, false);
                self.frames.last_mut().ok_or("no frame")?.height = self.stack.len();
            }
            Operator::Else => {
                let fr = self.frames.last().ok_or("else without if")?;
                if fr.live {
                    self.visit_else()?;
                }
            }
            Operator::End => {
                let fr = self.frames.last().ok_or("end without a frame")?;
                if fr.live {
                    self.visit_end()?;
                } else {
                    self.frames.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Function, String> {
        if !self.frames.is_empty() {
            return Err("function body ended inside a block".into());
        }
        // Blocks that never got an instruction are unreachable (the function's label,
        // continuations nothing reaches).
        let f = &mut self.f;
        let blocks = &f.blocks;
        f.layout.retain(|b| !blocks[b.index()].insts.is_empty());
        f.resolve_aliases();
        Ok(self.f)
    }
}

/// The opcode of a load or store, with its memarg.
fn memory_op(op: &Operator<'_>) -> Option<(Opcode, wasmparser::MemArg)> {
    use Opcode as C;
    use Operator as O;
    Some(match *op {
        O::I32Load { memarg } => (C::I32Load, memarg),
        O::I64Load { memarg } => (C::I64Load, memarg),
        O::F32Load { memarg } => (C::F32Load, memarg),
        O::F64Load { memarg } => (C::F64Load, memarg),
        O::I32Load8S { memarg } => (C::I32Load8S, memarg),
        O::I32Load8U { memarg } => (C::I32Load8U, memarg),
        O::I32Load16S { memarg } => (C::I32Load16S, memarg),
        O::I32Load16U { memarg } => (C::I32Load16U, memarg),
        O::I64Load8S { memarg } => (C::I64Load8S, memarg),
        O::I64Load8U { memarg } => (C::I64Load8U, memarg),
        O::I64Load16S { memarg } => (C::I64Load16S, memarg),
        O::I64Load16U { memarg } => (C::I64Load16U, memarg),
        O::I64Load32S { memarg } => (C::I64Load32S, memarg),
        O::I64Load32U { memarg } => (C::I64Load32U, memarg),
        O::I32Store { memarg } => (C::I32Store, memarg),
        O::I64Store { memarg } => (C::I64Store, memarg),
        O::F32Store { memarg } => (C::F32Store, memarg),
        O::F64Store { memarg } => (C::F64Store, memarg),
        O::I32Store8 { memarg } => (C::I32Store8, memarg),
        O::I32Store16 { memarg } => (C::I32Store16, memarg),
        O::I64Store8 { memarg } => (C::I64Store8, memarg),
        O::I64Store16 { memarg } => (C::I64Store16, memarg),
        O::I64Store32 { memarg } => (C::I64Store32, memarg),
        _ => return None,
    })
}

/// The opcode of a numeric operator (its operands and results are its table row's): the
/// operator's wasm text name is the opcode's name.
fn numeric_op(op: &Operator<'_>) -> Option<Opcode> {
    macro_rules! by_name {
        ($($v:ident),* $(,)?) => {
            match op {
                $(Operator::$v => Some(Opcode::$v),)*
                _ => None,
            }
        };
    }
    by_name!(
        I32Eqz,
        I32Eq,
        I32Ne,
        I32LtS,
        I32LtU,
        I32GtS,
        I32GtU,
        I32LeS,
        I32LeU,
        I32GeS,
        I32GeU,
        I32Clz,
        I32Ctz,
        I32Popcnt,
        I32Add,
        I32Sub,
        I32Mul,
        I32DivS,
        I32DivU,
        I32RemS,
        I32RemU,
        I32And,
        I32Or,
        I32Xor,
        I32Shl,
        I32ShrS,
        I32ShrU,
        I32Rotl,
        I32Rotr,
        I32Extend8S,
        I32Extend16S,
        I64Eqz,
        I64Eq,
        I64Ne,
        I64LtS,
        I64LtU,
        I64GtS,
        I64GtU,
        I64LeS,
        I64LeU,
        I64GeS,
        I64GeU,
        I64Clz,
        I64Ctz,
        I64Popcnt,
        I64Add,
        I64Sub,
        I64Mul,
        I64DivS,
        I64DivU,
        I64RemS,
        I64RemU,
        I64And,
        I64Or,
        I64Xor,
        I64Shl,
        I64ShrS,
        I64ShrU,
        I64Rotl,
        I64Rotr,
        I64Extend8S,
        I64Extend16S,
        I64Extend32S,
        F32Eq,
        F32Ne,
        F32Lt,
        F32Gt,
        F32Le,
        F32Ge,
        F32Abs,
        F32Neg,
        F32Ceil,
        F32Floor,
        F32Trunc,
        F32Nearest,
        F32Sqrt,
        F32Add,
        F32Sub,
        F32Mul,
        F32Div,
        F32Min,
        F32Max,
        F32Copysign,
        F64Eq,
        F64Ne,
        F64Lt,
        F64Gt,
        F64Le,
        F64Ge,
        F64Abs,
        F64Neg,
        F64Ceil,
        F64Floor,
        F64Trunc,
        F64Nearest,
        F64Sqrt,
        F64Add,
        F64Sub,
        F64Mul,
        F64Div,
        F64Min,
        F64Max,
        F64Copysign,
        I32WrapI64,
        I32TruncF32S,
        I32TruncF32U,
        I32TruncF64S,
        I32TruncF64U,
        I64ExtendI32S,
        I64ExtendI32U,
        I64TruncF32S,
        I64TruncF32U,
        I64TruncF64S,
        I64TruncF64U,
        F32ConvertI32S,
        F32ConvertI32U,
        F32ConvertI64S,
        F32ConvertI64U,
        F32DemoteF64,
        F64ConvertI32S,
        F64ConvertI32U,
        F64ConvertI64S,
        F64ConvertI64U,
        F64PromoteF32,
        I32ReinterpretF32,
        I64ReinterpretF64,
        F32ReinterpretI32,
        F64ReinterpretI64,
        I32TruncSatF32S,
        I32TruncSatF32U,
        I32TruncSatF64S,
        I32TruncSatF64U,
        I64TruncSatF32S,
        I64TruncSatF32U,
        I64TruncSatF64S,
        I64TruncSatF64U,
    )
}

fn ty_of(f: &Function, v: Value) -> Type {
    f.ty(v)
}
