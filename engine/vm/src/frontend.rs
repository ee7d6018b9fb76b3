//! The single-pass front end every tier's translator shares: the control stack of a function
//! body, block arities, operand heights at block boundaries, reachability and loop ordinals.
//!
//! A tier translates a validated body operator by operator (wasmparser's `VisitOperator`).
//! The facts about *control* are the same for every tier and live here, in a
//! [`ControlStack<T>`]; what a tier needs per frame on top of them (branch fixup chains, code
//! labels, SSA block ids...) is its payload `T`. The operand stack stays with the tier (its
//! entries are tier-specific: slots, registers, constants, SSA values); the tier tells the
//! front end its current height when it opens a frame, and the front end answers the heights
//! to restore at `else`/`end` and after an unconditional branch.
//!
//! # Protocol
//! For each function: [`ControlStack::start`] (the function's own frame, whose label arity is
//! the function's result count), then per operator:
//! - `block`/`loop`/`if`: when [`reachable`](ControlStack::reachable), the tier does its entry
//!   work (materialise the stack, bind the loop header...) and calls
//!   [`push`](ControlStack::push) with the block type's [`Arity`] and the operand height
//!   *including* the block's parameters; otherwise [`push_dead`](ControlStack::push_dead).
//!   Both count a `loop` in the loop ordinals.
//! - `else`: the tier closes the then arm if it was reachable, then calls
//!   [`enter_else`](ControlStack::enter_else); for a live `if` the else arm is reachable and the
//!   tier resets its operand stack to the frame's `height` plus its parameters.
//! - `end`: the tier reads `reachable()` (whether the end is reached by falling through),
//!   closes the frame, and calls [`pop`](ControlStack::pop), which restores reachability to
//!   the frame's at entry; for a live frame the tier resets its stack to `height` plus the
//!   results. The function's own frame is the last one popped.
//! - `br`/`br_table`/`return`/`unreachable`: after the branch,
//!   [`set_unreachable`](ControlStack::set_unreachable) returns the height to truncate the
//!   operand stack to. Nothing is translated until the next `else`/`end` of a live frame.
//! - `br`/`br_if`/`br_table` target [`label(depth)`](ControlStack::label): a loop's label is
//!   its header and carries the parameters, any other frame's label is its end and carries the
//!   results ([`Frame::branch_arity`]); a branch to the function frame is a return.
//!
//! Frames opened in unreachable code are *dead*: only their `else`/`end` are tracked and their
//! arities are 0. The frame stack also answers wasmparser's [`FrameStack`] (its syntactic
//! checks of `else`/`end` when the body is read with a plain `BinaryReader`), so a tier needs
//! no second control stack.
//!
//! # Loop ordinals
//! A `loop` operator's ordinal is its index among the body's `loop` operators, dead ones
//! included: every tier computes it from the same operator stream, so it names a loop across
//! tiers (the OSR key, docs/tiering.md). [`Frame::loop_ordinal`] holds it for live and dead
//! loops alike.
//!
//! # For an SSA translator
//! Payload: the frame's SSA blocks, e.g. `struct Blocks { cont: Block, header: Block, else_:
//! Option<Block> }`. At `block`/`if` create the continuation block with one parameter per
//! [`BlockSig::results`] of the frame's block type; at `loop` create the header block with one
//! parameter per [`BlockSig::params`], jump to it with the parameter values and continue in it
//! (the frame's label is the header). A branch to `label(depth)` passes the top
//! `branch_arity()` values as the target's block arguments (the function frame: a return).
//! At `else` jump from the then arm to the continuation (if reachable) and continue in the
//! else block with the `if`'s parameters (kept by the translator when it pushed the frame);
//! an `if` without an else (`!had_else` at `end`) passes its parameters straight to the
//! continuation on the false edge. At a live frame's `end`, fall through to the continuation
//! (if reachable) and replace the operand stack above `height` with its block parameters.
//! Blocks of dead frames are never created: the payload of `push_dead` can be a placeholder.
//!
//! # Speed
//! This sits in the inner loop of the interpreter's translation (about 12 ns per wasm byte)
//! and the baseline's compile: the stack is generic over the payload (no dynamic dispatch),
//! frames are plain values in one vector reused across functions (no allocation per frame),
//! every method is `#[inline]`, and block types are looked up only for live frames with a
//! function-type block type.

use crate::module::Module;
use crate::types::{FuncType, ValType};
use wasmparser::{BlockType, FrameKind, FrameStack};

/// What opened a control frame. An `if` becomes `Else` at its `else`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlKind {
    /// The function body's own frame (the outermost; a branch to it returns).
    Func,
    Block,
    Loop,
    If,
    Else,
    /// `try_table` (exception handling): a block whose catch clauses are a side table.
    TryTable,
    /// A legacy `try` before its first `catch`/`catch_all`/`delegate`.
    LegacyTry,
    /// A legacy `try` in a `catch` clause.
    LegacyCatch,
    /// A legacy `try` in its `catch_all` clause.
    LegacyCatchAll,
}

/// Parameter and result counts of a block type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Arity {
    pub params: u32,
    pub results: u32,
}

impl Arity {
    /// The arity of `bt` in `module` (validated: a type index is in range).
    #[inline]
    pub fn of(module: &Module, bt: BlockType) -> Arity {
        match bt {
            BlockType::Empty => Arity {
                params: 0,
                results: 0,
            },
            BlockType::Type(t) => Arity {
                params: 0,
                results: if matches!(t, wasmparser::ValType::V128) {
                    crate::abi::V128_CELLS
                } else {
                    1
                },
            },
            BlockType::FuncType(i) => {
                let t = &module.types[i as usize];
                Arity {
                    params: t.param_cells(),
                    results: t.result_cells(),
                }
            }
        }
    }
}

/// The parameter and result types of a block type.
#[derive(Clone, Copy, Debug)]
pub enum BlockSig<'m> {
    Empty,
    Single(ValType),
    Func(&'m FuncType),
}

impl<'m> BlockSig<'m> {
    /// The signature of `bt` in `module`. `None` for a value type the runtime does not
    /// represent (a validated module has none).
    pub fn of(module: &'m Module, bt: BlockType) -> Option<BlockSig<'m>> {
        Some(match bt {
            BlockType::Empty => BlockSig::Empty,
            BlockType::Type(t) => BlockSig::Single(val_type(t)?),
            BlockType::FuncType(i) => BlockSig::Func(module.types.get(i as usize)?),
        })
    }

    pub fn params(&self) -> &[ValType] {
        match self {
            BlockSig::Func(t) => t.params(),
            _ => &[],
        }
    }

    pub fn results(&self) -> &[ValType] {
        match self {
            BlockSig::Empty => &[],
            BlockSig::Single(t) => std::slice::from_ref(t),
            BlockSig::Func(t) => t.results(),
        }
    }
}

/// The runtime's type for a wasmparser value type (`None` for the GC proposal's reference
/// types; typed function references are `FuncRef` cells).
fn val_type(t: wasmparser::ValType) -> Option<ValType> {
    use wasmparser::ValType as V;
    Some(match t {
        V::I32 => ValType::I32,
        V::I64 => ValType::I64,
        V::F32 => ValType::F32,
        V::F64 => ValType::F64,
        V::V128 => ValType::V128,
        V::Ref(r) => return crate::module::runtime_ref_type(r),
    })
}

/// One control frame: the facts every tier shares, and the tier's payload.
#[derive(Clone, Copy, Debug)]
pub struct Frame<T> {
    pub kind: ControlKind,
    /// Operand height below the block's parameters (the height its `end` restores before
    /// pushing the results).
    pub height: u32,
    /// Parameter and result counts (0 and 0 for a dead frame).
    pub arity: Arity,
    /// The block type (`Empty` for the function frame and for dead frames).
    pub block_type: BlockType,
    /// For a `loop`: its ordinal among the body's `loop` operators (the OSR key).
    /// `u32::MAX` for other frames.
    pub loop_ordinal: u32,
    /// Whether the frame was opened in reachable code. A dead frame's body is not
    /// translated, and neither is the code after its `end`.
    pub reachable: bool,
    /// For an `if`: whether its `else` has been seen (kind is then `Else`).
    pub had_else: bool,
    /// The tier's own data for this frame.
    pub payload: T,
}

impl<T> Frame<T> {
    /// Number of values a branch to this frame carries: a loop's parameters (its label is the
    /// header), any other frame's results.
    #[inline]
    pub fn branch_arity(&self) -> u32 {
        if self.kind == ControlKind::Loop {
            self.arity.params
        } else {
            self.arity.results
        }
    }

    /// Operand height above the block's parameters (on entry, at a loop header, at `else`).
    #[inline]
    pub fn param_height(&self) -> u32 {
        self.height + self.arity.params
    }

    /// Operand height after the block's `end`.
    #[inline]
    pub fn result_height(&self) -> u32 {
        self.height + self.arity.results
    }

    #[inline]
    pub fn is_loop(&self) -> bool {
        self.kind == ControlKind::Loop
    }

    #[inline]
    pub fn is_func(&self) -> bool {
        self.kind == ControlKind::Func
    }
}

/// The control stack of the function being translated (see the module docs for the
/// protocol). Keep one per thread and `start` it for each function: the frame vector is
/// reused.
#[derive(Debug)]
pub struct ControlStack<T> {
    frames: Vec<Frame<T>>,
    reachable: bool,
    /// `loop` operators seen so far, dead ones included.
    loop_count: u32,
}

impl<T> Default for ControlStack<T> {
    fn default() -> Self {
        ControlStack {
            frames: Vec::new(),
            reachable: true,
            loop_count: 0,
        }
    }
}

impl<T> ControlStack<T> {
    /// Starts a function whose type has `num_results` results: clears the stack and pushes the
    /// function's frame with `payload`.
    #[inline]
    pub fn start(&mut self, num_results: u32, payload: T) {
        self.frames.clear();
        self.reachable = true;
        self.loop_count = 0;
        self.frames.push(Frame {
            kind: ControlKind::Func,
            height: 0,
            arity: Arity {
                params: 0,
                results: num_results,
            },
            block_type: BlockType::Empty,
            loop_ordinal: u32::MAX,
            reachable: true,
            had_else: false,
            payload,
        });
    }

    /// Whether the current operator is reachable. Tiers translate nothing that is not.
    #[inline(always)]
    pub fn reachable(&self) -> bool {
        self.reachable
    }

    /// Opens a `block`, `loop` or `if` in reachable code. `height` is the operand height
    /// *with* the block's parameters on top (an `if`'s condition already popped).
    #[inline]
    pub fn push(
        &mut self,
        kind: ControlKind,
        block_type: BlockType,
        arity: Arity,
        height: u32,
        payload: T,
    ) -> &mut Frame<T> {
        debug_assert!(self.reachable, "a live frame opened in unreachable code");
        debug_assert!(height >= arity.params, "block parameters missing");
        let loop_ordinal = self.next_ordinal(kind);
        self.frames.push(Frame {
            kind,
            height: height.saturating_sub(arity.params),
            arity,
            block_type,
            loop_ordinal,
            reachable: true,
            had_else: false,
            payload,
        });
        self.top_mut()
    }

    /// Opens a `block`, `loop` or `if` in unreachable code: tracked only for its `else` and
    /// `end` (and its loop ordinal). `height` is the current operand height.
    #[inline]
    pub fn push_dead(&mut self, kind: ControlKind, height: u32, payload: T) -> &mut Frame<T> {
        let loop_ordinal = self.next_ordinal(kind);
        self.frames.push(Frame {
            kind,
            height,
            arity: Arity::default(),
            block_type: BlockType::Empty,
            loop_ordinal,
            reachable: false,
            had_else: false,
            payload,
        });
        self.top_mut()
    }

    #[inline]
    fn next_ordinal(&mut self, kind: ControlKind) -> u32 {
        if kind == ControlKind::Loop {
            let ordinal = self.loop_count;
            self.loop_count += 1;
            ordinal
        } else {
            u32::MAX
        }
    }

    #[inline]
    fn top_mut(&mut self) -> &mut Frame<T> {
        let n = self.frames.len();
        &mut self.frames[n - 1]
    }

    /// At `else`: the innermost frame (an `if`) becomes `Else`; the else arm is reachable if
    /// the `if` was. The tier closes the then arm *before* (it reads `reachable()` for
    /// whether the then arm falls through). `None` outside any frame.
    #[inline]
    pub fn enter_else(&mut self) -> Option<&mut Frame<T>> {
        let f = self.frames.last_mut()?;
        f.kind = ControlKind::Else;
        f.had_else = true;
        self.reachable = f.reachable;
        Some(f)
    }

    /// At a legacy `catch` (`all`: `catch_all`): the innermost frame (a legacy `try`)
    /// enters a catch clause, reachable if the `try` was. The tier closes the previous arm
    /// before, as at `else`. `None` outside any frame.
    #[inline]
    pub fn enter_catch(&mut self, all: bool) -> Option<&mut Frame<T>> {
        let f = self.frames.last_mut()?;
        f.kind = if all {
            ControlKind::LegacyCatchAll
        } else {
            ControlKind::LegacyCatch
        };
        self.reachable = f.reachable;
        Some(f)
    }

    /// At `end`: pops the innermost frame; the code after it is reachable if the frame was
    /// opened in reachable code. `None` outside any frame.
    #[inline]
    pub fn pop(&mut self) -> Option<Frame<T>> {
        let f = self.frames.pop()?;
        self.reachable = f.reachable;
        Some(f)
    }

    /// After an unconditional branch (`br`, `br_table`, `return`, `unreachable`): the rest
    /// of the frame is unreachable. Returns the innermost frame's `height`, to which the tier
    /// truncates its operand stack (0 outside any frame).
    #[inline]
    pub fn set_unreachable(&mut self) -> u32 {
        self.reachable = false;
        self.frames.last().map_or(0, |f| f.height)
    }

    /// Index in [`frames`](Self::frames) of the target of a branch to `depth` (validated:
    /// in range).
    #[inline(always)]
    pub fn label_index(&self, depth: u32) -> usize {
        self.frames.len() - 1 - depth as usize
    }

    /// The target frame of a branch to relative depth `depth`.
    #[inline(always)]
    pub fn label(&self, depth: u32) -> &Frame<T> {
        &self.frames[self.label_index(depth)]
    }

    /// The target frame of a branch to relative depth `depth`, to update its payload.
    #[inline(always)]
    pub fn label_mut(&mut self, depth: u32) -> &mut Frame<T> {
        let i = self.label_index(depth);
        &mut self.frames[i]
    }

    /// Number of values a branch to relative depth `depth` carries.
    #[inline]
    pub fn label_arity(&self, depth: u32) -> u32 {
        self.label(depth).branch_arity()
    }

    /// The innermost frame.
    #[inline]
    pub fn last(&self) -> Option<&Frame<T>> {
        self.frames.last()
    }

    #[inline]
    pub fn last_mut(&mut self) -> Option<&mut Frame<T>> {
        self.frames.last_mut()
    }

    /// The open frames, outermost (the function's) first.
    #[inline]
    pub fn frames(&self) -> &[Frame<T>] {
        &self.frames
    }

    /// The open frames, to update payloads by index (see [`label_index`](Self::label_index)).
    #[inline]
    pub fn frames_mut(&mut self) -> &mut [Frame<T>] {
        &mut self.frames
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// `loop` operators seen so far, dead ones included: the ordinal the next `loop` gets.
    #[inline]
    pub fn loop_count(&self) -> u32 {
        self.loop_count
    }

    /// Bytes the frame vector holds (for a cap on buffers kept between functions).
    pub fn capacity_bytes(&self) -> usize {
        self.frames.capacity() * std::mem::size_of::<Frame<T>>()
    }

    /// wasmparser's view of the innermost frame (see the [`FrameStack`] impl).
    #[inline]
    pub fn current_frame(&self) -> Option<FrameKind> {
        self.frames.last().map(|f| match f.kind {
            ControlKind::Func | ControlKind::Block => FrameKind::Block,
            ControlKind::Loop => FrameKind::Loop,
            ControlKind::If => FrameKind::If,
            ControlKind::Else => FrameKind::Else,
            ControlKind::TryTable => FrameKind::TryTable,
            ControlKind::LegacyTry => FrameKind::LegacyTry,
            ControlKind::LegacyCatch => FrameKind::LegacyCatch,
            ControlKind::LegacyCatchAll => FrameKind::LegacyCatchAll,
        })
    }
}

/// Whether defined function `def_index` has an exception handler (`try_table`, or a legacy
/// `try`): the JIT tiers leave such functions to the interpreter (docs/abi.md §10). Noted
/// during validation (`Module::handlers`); a module built without validating has its body
/// read here (not parsed when neither opcode byte occurs anywhere in it).
pub fn has_handlers(module: &Module, def_index: usize) -> bool {
    if let Some(&h) = module.handlers.get(def_index) {
        return h;
    }
    let code = module.body_bytes(def_index);
    if !code.iter().any(|&b| b == 0x06 || b == 0x1f) {
        return false;
    }
    let Ok(ops) = module.body(def_index).get_operators_reader() else {
        return false;
    };
    for op in ops {
        match op {
            Ok(wasmparser::Operator::TryTable { .. } | wasmparser::Operator::Try { .. }) => {
                return true
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// A plain `BinaryReader` checks `else` and `end` against the innermost frame: a tier's
/// visitor implements `FrameStack` by forwarding to its control stack.
impl<T> FrameStack for ControlStack<T> {
    #[inline]
    fn current_frame(&self) -> Option<FrameKind> {
        ControlStack::current_frame(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::Operator;

    /// What the front end answered at a control operator, as the test driver saw it.
    #[derive(Debug, PartialEq, Eq)]
    enum Event {
        /// A frame opened: kind, height below its params, (params, results), loop ordinal
        /// (`None` for other frames), reachable.
        Open(ControlKind, u32, (u32, u32), Option<u32>, bool),
        /// `else`: whether the else arm is reachable, and the height it restarts at.
        ElseArm(bool, u32),
        /// `end`: the popped frame's kind, whether the code after it is reachable, the
        /// operand height after it.
        End(ControlKind, bool, u32),
        /// A branch (in reachable code): the label arity of each target.
        Branch(Vec<u32>),
    }

    /// A minimal tier: drives the control stack over the operators these tests use, with
    /// the operand height as its whole operand stack.
    struct Driver<'m> {
        module: &'m Module,
        ctrl: ControlStack<u32>,
        height: u32,
        max_height: u32,
        events: Vec<Event>,
    }

    impl Driver<'_> {
        fn push_vals(&mut self, n: u32) {
            self.height += n;
            self.max_height = self.max_height.max(self.height);
        }

        fn pop_vals(&mut self, n: u32) {
            if self.ctrl.reachable() {
                self.height -= n;
            }
        }

        /// A straight-line operator popping `pops` and pushing `pushes` values.
        fn op(&mut self, pops: u32, pushes: u32) {
            if self.ctrl.reachable() {
                self.pop_vals(pops);
                self.push_vals(pushes);
            }
        }

        fn open(&mut self, kind: ControlKind, bt: BlockType) {
            if self.ctrl.reachable() {
                let arity = Arity::of(self.module, bt);
                let h = self.height;
                self.ctrl.push(kind, bt, arity, h, 7);
            } else {
                let h = self.height;
                self.ctrl.push_dead(kind, h, 0);
            }
            let f = self.ctrl.last().unwrap();
            let ordinal = (f.kind == ControlKind::Loop).then_some(f.loop_ordinal);
            self.events.push(Event::Open(
                f.kind,
                f.height,
                (f.arity.params, f.arity.results),
                ordinal,
                f.reachable,
            ));
        }

        fn branch(&mut self, depths: &[u32]) {
            if self.ctrl.reachable() {
                let arities = depths.iter().map(|&d| self.ctrl.label_arity(d)).collect();
                self.events.push(Event::Branch(arities));
            }
        }

        fn unconditional(&mut self) {
            if self.ctrl.reachable() {
                self.height = self.ctrl.set_unreachable();
            }
        }

        fn visit(&mut self, op: Operator<'_>) {
            match op {
                Operator::Nop => {}
                Operator::I32Const { .. } | Operator::LocalGet { .. } => self.op(0, 1),
                Operator::Drop | Operator::LocalSet { .. } => self.op(1, 0),
                Operator::I32Add => self.op(2, 1),
                Operator::I32Eqz => self.op(1, 1),
                Operator::Block { blockty } => self.open(ControlKind::Block, blockty),
                Operator::Loop { blockty } => self.open(ControlKind::Loop, blockty),
                Operator::If { blockty } => {
                    self.pop_vals(1);
                    self.open(ControlKind::If, blockty);
                }
                Operator::Else => {
                    let f = self.ctrl.enter_else().unwrap();
                    assert!(f.had_else);
                    let (live, h) = (f.reachable, f.param_height());
                    if live {
                        self.height = h;
                    }
                    self.events
                        .push(Event::ElseArm(self.ctrl.reachable(), self.height));
                }
                Operator::End => {
                    let f = self.ctrl.pop().unwrap();
                    if f.reachable {
                        self.height = f.result_height();
                    }
                    self.events
                        .push(Event::End(f.kind, self.ctrl.reachable(), self.height));
                }
                Operator::Br { relative_depth } => {
                    self.branch(&[relative_depth]);
                    self.unconditional();
                }
                Operator::BrIf { relative_depth } => {
                    self.pop_vals(1);
                    self.branch(&[relative_depth]);
                }
                Operator::BrTable { targets } => {
                    self.pop_vals(1);
                    let mut depths: Vec<u32> = targets.targets().map(|d| d.unwrap()).collect();
                    depths.push(targets.default());
                    self.branch(&depths);
                    self.unconditional();
                }
                Operator::Return => {
                    self.branch(&[self.ctrl.len() as u32 - 1]);
                    self.unconditional();
                }
                Operator::Unreachable => self.unconditional(),
                other => panic!("the test driver does not know {other:?}"),
            }
        }
    }

    /// Runs the driver over function 0 of `wat`; returns the events and the maximum height.
    fn run(wat: &str) -> (Vec<Event>, u32) {
        let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
        let ty = module.func_type(module.num_imported_funcs);
        let mut d = Driver {
            module: &module,
            ctrl: ControlStack::default(),
            height: 0,
            max_height: 0,
            events: Vec::new(),
        };
        d.ctrl.start(ty.result_cells(), 1);
        assert_eq!(d.ctrl.current_frame(), Some(FrameKind::Block));
        let mut ops = module.body(0).get_operators_reader().unwrap();
        while !ops.eof() {
            let op = ops.read().unwrap();
            d.visit(op);
        }
        assert!(d.ctrl.is_empty(), "the function frame is popped last");
        (d.events, d.max_height)
    }

    use ControlKind::*;
    use Event::*;

    #[test]
    fn heights_and_arities_of_nested_blocks() {
        let (ev, max) = run(r#"(module
            (type $p (func (param i32 i32) (result i32)))
            (func (result i32)
              i32.const 1
              i32.const 2
              i32.const 3
              (block $b (type $p)
                i32.add)
              i32.add
              (block (result i32)
                (loop $l (param) (result i32)
                  i32.const 4
                  br_if $l
                  i32.const 5))
              i32.add))"#);
        assert_eq!(
            ev,
            vec![
                Open(Block, 1, (2, 1), None, true),
                End(Block, true, 2),
                Open(Block, 1, (0, 1), None, true),
                Open(Loop, 1, (0, 1), Some(0), true),
                Branch(vec![0]),
                End(Loop, true, 2),
                End(Block, true, 2),
                End(Func, true, 1),
            ]
        );
        assert_eq!(max, 3);
    }

    #[test]
    fn a_loop_label_carries_its_params_a_block_label_its_results() {
        let (ev, _) = run(r#"(module
            (type $l (func (param i64) (result i32 i32)))
            (func (param i64) (result i32 i32)
              (block $out (result i32 i32)
                local.get 0
                (loop $top (type $l)
                  drop
                  i32.const 7
                  i32.const 8
                  i32.const 0
                  br_if $out
                  drop
                  drop
                  local.get 0
                  i32.const 1
                  br_if $top
                  drop
                  i32.const 1
                  i32.const 2))))"#);
        assert_eq!(
            ev,
            vec![
                Open(Block, 0, (0, 2), None, true),
                Open(Loop, 0, (1, 2), Some(0), true),
                Branch(vec![2]),
                Branch(vec![1]),
                End(Loop, true, 2),
                End(Block, true, 2),
                End(Func, true, 2),
            ]
        );
    }

    #[test]
    fn loop_ordinals_count_dead_loops() {
        let (ev, _) = run(r#"(module
            (func
              (loop)
              (block
                br 0
                (loop (loop))
                (block (loop)))
              (loop)))"#);
        assert_eq!(
            ev,
            vec![
                Open(Loop, 0, (0, 0), Some(0), true),
                End(Loop, true, 0),
                Open(Block, 0, (0, 0), None, true),
                Branch(vec![0]),
                Open(Loop, 0, (0, 0), Some(1), false),
                Open(Loop, 0, (0, 0), Some(2), false),
                End(Loop, false, 0),
                End(Loop, false, 0),
                Open(Block, 0, (0, 0), None, false),
                Open(Loop, 0, (0, 0), Some(3), false),
                End(Loop, false, 0),
                End(Block, false, 0),
                End(Block, true, 0),
                Open(Loop, 0, (0, 0), Some(4), true),
                End(Loop, true, 0),
                End(Func, true, 0),
            ]
        );
    }

    #[test]
    fn else_restarts_at_the_params_and_end_after_a_dead_then_arm() {
        let (ev, _) = run(r#"(module
            (type $t (func (param i32) (result i32)))
            (func (param i32) (result i32)
              i32.const 9
              local.get 0
              local.get 0
              (if (type $t)
                (then unreachable)
                (else i32.eqz))
              i32.add))"#);
        assert_eq!(
            ev,
            vec![
                Open(If, 1, (1, 1), None, true),
                ElseArm(true, 2),
                End(Else, true, 2),
                End(Func, true, 1),
            ]
        );
    }

    #[test]
    fn an_if_without_else_and_an_if_in_dead_code() {
        let (ev, _) = run(r#"(module
            (func (param i32)
              (if (local.get 0) (then nop))
              return
              (if (local.get 0) (then nop) (else (loop)))
              (block)))"#);
        assert_eq!(
            ev,
            vec![
                Open(If, 0, (0, 0), None, true),
                End(If, true, 0),
                Branch(vec![0]),
                Open(If, 0, (0, 0), None, false),
                ElseArm(false, 0),
                Open(Loop, 0, (0, 0), Some(0), false),
                End(Loop, false, 0),
                End(Else, false, 0),
                Open(Block, 0, (0, 0), None, false),
                End(Block, false, 0),
                End(Func, true, 0),
            ]
        );
    }

    #[test]
    fn unreachable_truncates_to_the_frame_height_and_skips_branches() {
        let (ev, max) = run(r#"(module
            (func (result i32)
              i32.const 1
              (block (result i32)
                i32.const 2
                i32.const 3
                unreachable
                br 0
                i32.const 4)
              i32.add))"#);
        assert_eq!(
            ev,
            vec![
                Open(Block, 1, (0, 1), None, true),
                End(Block, true, 2),
                End(Func, true, 1),
            ]
        );
        assert_eq!(max, 3);
    }

    #[test]
    fn br_table_label_arities() {
        let (ev, _) = run(r#"(module
            (func (param i32) (result i32)
              (block $a (result i32)
                (loop $l
                  (block $b
                    (br_table $b $l $b 0 (local.get 0))))
                i32.const 1
                i32.const 2
                (br_table $a 1 (local.get 0)))))"#);
        assert_eq!(
            ev,
            vec![
                Open(Block, 0, (0, 1), None, true),
                Open(Loop, 0, (0, 0), Some(0), true),
                Open(Block, 0, (0, 0), None, true),
                Branch(vec![0, 0, 0, 0]),
                End(Block, true, 0),
                End(Loop, true, 0),
                Branch(vec![1, 1]),
                End(Block, true, 1),
                End(Func, true, 1),
            ]
        );
    }

    #[test]
    fn wasmparser_frame_kinds_and_block_signatures() {
        let module = Module::new(
            wat::parse_str(
                r#"(module (type (func (param i32 f64) (result i64)))
                   (func (result i32) i32.const 0))"#,
            )
            .unwrap(),
        )
        .unwrap();
        let mut c = ControlStack::default();
        c.start(1, ());
        let sig = BlockSig::of(&module, BlockType::FuncType(0)).unwrap();
        assert_eq!(sig.params(), &[ValType::I32, ValType::F64]);
        assert_eq!(sig.results(), &[ValType::I64]);
        let single = BlockSig::of(&module, BlockType::Type(wasmparser::ValType::F32)).unwrap();
        assert_eq!(single.params(), &[]);
        assert_eq!(single.results(), &[ValType::F32]);
        let bt = BlockType::FuncType(0);
        c.push(ControlKind::If, bt, Arity::of(&module, bt), 2, ());
        assert_eq!(c.current_frame(), Some(FrameKind::If));
        assert_eq!(c.label_arity(0), 1);
        assert_eq!(c.last().unwrap().param_height(), 2);
        c.enter_else();
        assert_eq!(c.current_frame(), Some(FrameKind::Else));
        c.push(ControlKind::Loop, bt, Arity::of(&module, bt), 2, ());
        assert_eq!(c.current_frame(), Some(FrameKind::Loop));
        assert_eq!(
            (c.label_arity(0), c.label_arity(1), c.label_arity(2)),
            (2, 1, 1)
        );
        assert_eq!(c.label(0).height, 0);
        assert_eq!(c.loop_count(), 1);
    }
}
