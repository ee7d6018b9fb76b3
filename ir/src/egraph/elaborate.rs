//! Building the e-graph from a function, running the rules, and elaborating the chosen nodes
//! back into the skeleton.

use super::extract::{choose, Choice};
use super::facts::{FactsAnalysis, Graph};
use super::lang::{imm_bits, in_egraph, Node, OpaqueType};
use super::rules::{address_rules, all_rewrites, all_rules, AddressRule, RuleDef};
use super::{elapsed_ns, EgraphStats, MidendConfig};
use crate::analysis::{ControlFlowGraph, DominatorTree, LoopNest};
use crate::entity::EntityVec;
use crate::function::{Function, Imm, ValueDef};
use crate::opcode::Format;
use crate::opcode::Opcode;
use crate::{Block, Inst, Value};
use egg::{Id, Searcher};
use std::collections::HashMap;
use std::time::Instant;

/// Where a chosen term becomes computable: the block of its latest leaf, and that leaf's
/// position in the block (-1 for a block parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Avail {
    /// Constants only: computable anywhere.
    Anywhere,
    At(Block, i64),
    /// Leaves from blocks not on one dominator chain: never computable as chosen.
    Nowhere,
}

/// How many earlier placements of a value GVN looks at (see `Elaborator::lookup_within`).
const GVN_SCAN: usize = 8;

/// Builds the e-graph, runs the rules within the budget, chooses, and elaborates.
///
/// Returns the dominator tree (with every entry as a root), still valid afterwards: the
/// e-graph never changes the control flow.
pub fn run_egraph(
    func: &mut Function,
    cfg: &MidendConfig,
    loops: LoopNest,
    stats: &mut EgraphStats,
) -> DominatorTree {
    func.resolve_all_aliases();
    let t = Instant::now();
    let cfgraph = ControlFlowGraph::new(func);
    let dt = DominatorTree::new(&cfgraph);
    let order = cfgraph.reverse_postorder();

    // 1. Build: pure instructions become nodes, every other value an opaque leaf.
    let mut egraph = Graph::new(FactsAnalysis);
    let mut class_of: EntityVec<Value, Option<Id>> = EntityVec::filled(func.values.len(), None);
    let mut pure_insts = 0usize;
    // The operators present: a rule whose left side needs one that is absent (and that no
    // applicable rule introduces) cannot fire, and egg need not search for it.
    let mut present = super::rules::OpSet::default();
    for op in [
        Opcode::I32Const,
        Opcode::I64Const,
        Opcode::F32Const,
        Opcode::F64Const,
    ] {
        present.insert(op);
    }
    let mut in_graph: EntityVec<Inst, bool> = EntityVec::filled(func.insts.len(), false);
    let mut args: smallvec::SmallVec<[Id; 3]> = smallvec::SmallVec::new();
    for &b in &order {
        for &inst in func.block_insts(b) {
            let d = *func.inst(inst);
            if d.num_results != 1 || !in_egraph(d.opcode) {
                continue;
            }
            let Some(imm) = imm_bits(d.opcode, &d.imm) else {
                continue;
            };
            // Operands defined outside the e-graph become opaque leaves when first used
            // (values only the skeleton reads never enter it).
            args.clear();
            for &a in func.args(inst) {
                let id = match class_of[a] {
                    Some(id) => id,
                    None => {
                        let id = egraph.add(Node::Opaque(a, OpaqueType::new(func.value_type(a))));
                        class_of[a] = Some(id);
                        id
                    }
                };
                args.push(id);
            }
            pure_insts += 1;
            present.insert(d.opcode);
            in_graph[inst] = true;
            let id = egraph.add(Node::Op {
                op: d.opcode,
                imm,
                args: args.clone(),
            });
            class_of[d.first_result] = Some(id);
        }
    }
    stats.pure_insts = pure_insts;
    stats.nanos_build = elapsed_ns(t);

    // 2. Rewrite within the budget.
    let t = Instant::now();
    let enabled = |r: &RuleDef| cfg.family_enabled(&r.family);
    let sets = super::rules::rule_opsets();
    let candidates: Vec<&(usize, egg::Rewrite<Node, FactsAnalysis>)> = all_rewrites()
        .iter()
        .filter(|(i, _)| cfg.disabled_families.is_empty() || enabled(&all_rules()[*i]))
        .collect();
    loop {
        let mut grew = false;
        for (i, _) in &candidates {
            if present.contains_all(&sets[*i].0) {
                grew |= present.union(&sets[*i].1);
            }
        }
        if !grew {
            break;
        }
    }
    let rewrites: Vec<&egg::Rewrite<Node, FactsAnalysis>> = candidates
        .iter()
        .filter(|(i, _)| present.contains_all(&sets[*i].0))
        .map(|(_, rw)| rw)
        .collect();
    let budget = cfg.budget;
    let node_limit = (egraph.total_size() * budget.node_factor).max(budget.min_nodes);
    if pure_insts == 0 {
        stats.stop_reason = "empty".into();
        return dt;
    }
    let mut egraph = egraph;
    let outcome = super::saturate::saturate(&mut egraph, &rewrites, &budget, node_limit);
    stats.iterations = outcome.iterations;
    stats.stop_reason = match &outcome.stop {
        egg::StopReason::Saturated => "saturated".into(),
        egg::StopReason::IterationLimit(_) => "iterations".into(),
        egg::StopReason::NodeLimit(_) => "nodes".into(),
        egg::StopReason::TimeLimit(_) => "time".into(), // never: no clock limit

        egg::StopReason::Other(s) => s.clone(),
    };
    stats.nanos_search = outcome.nanos_search;
    stats.nanos_apply = outcome.nanos_apply;
    stats.nanos_rebuild = outcome.nanos_rebuild;
    let mut fired: Vec<(String, usize)> = rewrites
        .iter()
        .zip(&outcome.fired)
        .filter(|(_, &n)| n > 0)
        .map(|(rw, &n)| (rw.name.to_string(), n))
        .collect();
    fired.sort();
    stats.rules_fired = fired;
    stats.nodes = egraph.total_number_of_nodes();
    stats.classes = egraph.number_of_classes();
    stats.nanos_run = elapsed_ns(t);

    // 3. Choose a node per class.
    let t = Instant::now();
    let choice = choose(&egraph, cfg.chaos);
    stats.nanos_extract = elapsed_ns(t);
    // Every class has a finite term (each was added with operands that had one), so the
    // choice is complete; should it ever not be, the function keeps its original
    // instructions rather than the elaborator panicking on a class without a choice.
    if !choice.complete(&egraph) {
        stats.stop_reason = "extraction incomplete: e-graph result not used".into();
        return dt;
    }

    // 4. Elaborate.
    let t = Instant::now();
    let address_rules: Vec<&AddressRule> =
        address_rules().iter().filter(|r| enabled(r.rule)).collect();
    let mut el = Elaborator::new(
        (dt, loops),
        func,
        &egraph,
        &choice,
        (class_of, in_graph),
        cfg.licm,
        address_rules,
    );
    el.run();
    stats.elaborated = el.placed;
    stats.gvn_hits = el.gvn_hits;
    stats.hoisted = el.hoisted;
    stats.address_folds = el.address_folds;
    stats.nanos_elaborate = elapsed_ns(t);
    el.dt
}

struct Elaborator<'a> {
    func: &'a mut Function,
    egraph: &'a Graph,
    choice: &'a Choice,
    class_of: EntityVec<Value, Option<Id>>,
    /// The original instructions that went into the e-graph.
    in_graph: EntityVec<Inst, bool>,
    dt: DominatorTree,
    loops: LoopNest,
    licm: bool,
    address_rules: Vec<&'static AddressRule>,
    /// Per class, where its chosen term becomes computable (memoized).
    avail: Vec<Option<Avail>>,
    /// Position of every original instruction in its block.
    pos: EntityVec<Inst, i64>,
    /// Values already computed for a class, with their blocks (valid where they dominate).
    memo: Vec<smallvec::SmallVec<[(Value, Block); 1]>>,
    /// Values re-emitted from an original pure instruction (the fallback), likewise.
    memo_orig: HashMap<Value, Vec<(Value, Block)>>,
    /// Instructions to place at the end of a preheader (before its terminator).
    hoisted_into: HashMap<Block, Vec<Inst>>,
    // The block being elaborated, the skeleton position, and the instructions emitted before
    // the current skeleton instruction.
    cur: Block,
    cur_pos: i64,
    out: Vec<Inst>,
    placed: usize,
    gvn_hits: usize,
    hoisted: usize,
    address_folds: usize,
    // Scratch buffers reused across calls (allocation churn was a measurable share of the
    // mid-end): `class_value`'s and `avail_of`'s work stacks and an instruction's operands.
    value_stack: Vec<(Id, bool, Block, Block)>,
    avail_stack: Vec<(Id, bool)>,
    arg_vals: Vec<Value>,
}

impl<'a> Elaborator<'a> {
    fn new(
        (dt, loops): (DominatorTree, LoopNest),
        func: &'a mut Function,
        egraph: &'a Graph,
        choice: &'a Choice,
        (class_of, in_graph): (EntityVec<Value, Option<Id>>, EntityVec<Inst, bool>),
        licm: bool,
        address_rules: Vec<&'static AddressRule>,
    ) -> Self {
        let mut pos = EntityVec::filled(func.insts.len(), 0i64);
        for &b in &func.layout {
            for (i, &inst) in func.block_insts(b).iter().enumerate() {
                pos[inst] = i as i64;
            }
        }
        let entry = func.entry().unwrap_or(Block(0));
        Elaborator {
            func,
            egraph,
            choice,
            class_of,
            in_graph,
            dt,
            loops,
            licm,
            address_rules,
            avail: vec![None; choice.chosen.len()],
            pos,
            memo: vec![smallvec::SmallVec::new(); choice.chosen.len()],
            memo_orig: HashMap::new(),
            hoisted_into: HashMap::new(),
            cur: entry,
            cur_pos: 0,
            out: Vec::new(),
            placed: 0,
            gvn_hits: 0,
            hoisted: 0,
            address_folds: 0,
            value_stack: Vec::new(),
            avail_stack: Vec::new(),
            arg_vals: Vec::new(),
        }
    }

    fn run(&mut self) {
        // Dominator-tree preorder from every entry: a block's dominators are done first.
        let mut stack: Vec<Block> = self.dt.roots().to_vec();
        stack.reverse();
        let mut order = Vec::with_capacity(self.func.layout.len());
        while let Some(b) = stack.pop() {
            if !self.dt.is_reachable(b) {
                continue;
            }
            order.push(b);
            let kids = self.dt.children(b);
            stack.extend(kids.iter().rev().copied());
        }
        for b in order {
            self.block(b);
        }
        // In block order: the instructions' places must not depend on a hash order.
        let mut hoisted: Vec<_> = std::mem::take(&mut self.hoisted_into).into_iter().collect();
        hoisted.sort_unstable_by_key(|(b, _)| crate::entity::EntityRef::index(*b));
        for (b, insts) in hoisted {
            let at = self.func.blocks[b].insts.len().saturating_sub(1);
            for (k, inst) in insts.into_iter().enumerate() {
                self.func.insert_inst(b, at + k, inst);
            }
        }
    }

    fn block(&mut self, b: Block) {
        self.cur = b;
        let old = std::mem::take(&mut self.func.blocks[b].insts);
        let mut new = Vec::with_capacity(old.len());
        for inst in old {
            let d = *self.func.inst(inst);
            if self.in_graph[inst] {
                // Pure: it lives in the e-graph now and comes back where it is used.
                self.func.inst_block[inst] = None;
                continue;
            }
            self.cur_pos = self.pos[inst];
            // Pure values made for this skeleton instruction get its source offset (none is
            // ever a trap site or a call: `SrcLocs`).
            if let Some(at) = self.func.srcloc(inst) {
                self.func.srclocs.current = at;
            }
            // Memory accesses: constant address arithmetic into the offset.
            if d.opcode.format() == Format::Memory && !self.address_rules.is_empty() {
                self.fold_address(inst);
            }
            let nargs = self.func.args(inst).len();
            for i in 0..nargs {
                let a = self.func.args(inst)[i];
                let v = self.value(a);
                self.func.args_mut(inst)[i] = v;
            }
            let ntargets = self.func.targets(inst).len();
            for t in 0..ntargets {
                let call = self.func.targets(inst)[t];
                for i in call.args.range() {
                    let a = self.func.value_pool[i];
                    let v = self.value(a);
                    self.func.value_pool[i] = v;
                }
            }
            new.append(&mut self.out);
            self.func.inst_block[inst] = Some(b);
            new.push(inst);
        }
        self.func.blocks[b].insts = new;
    }

    /// Rewrites a memory access's address with the address rules, as long as one applies.
    fn fold_address(&mut self, inst: Inst) {
        let Imm::Mem(mut mem) = self.func.inst(inst).imm else {
            return;
        };
        let Some(&addr) = self.func.args(inst).first() else {
            return;
        };
        let Some(mut class) = self.class_of[addr] else {
            return;
        };
        let mut folded = false;
        for _ in 0..4 {
            class = self.egraph.find(class);
            let mut step = None;
            let mut candidates: Vec<(Id, u64)> = Vec::new();
            for rule in &self.address_rules {
                let Some(m) = rule.pattern.search_eclass(self.egraph, class) else {
                    continue;
                };
                for subst in &m.substs {
                    if !rule.guards_hold(self.egraph, subst) {
                        continue;
                    }
                    let base = subst[rule.base];
                    let Some(c) = self.egraph[subst[rule.offset]].data.konst else {
                        continue;
                    };
                    let new_off = mem.offset + (c & u64::from(u32::MAX));
                    // Keep offsets in the range every back end encodes (wasm's u32 offset).
                    if new_off > u64::from(u32::MAX) {
                        continue;
                    }
                    candidates.push((base, new_off));
                }
            }
            // The base must be computable here as chosen.
            for (base, off) in candidates {
                if self.available_here(base) {
                    step = Some((base, off));
                    break;
                }
            }
            match step {
                Some((base, off)) => {
                    class = base;
                    mem.offset = off;
                    folded = true;
                    self.address_folds += 1;
                }
                None => break,
            }
        }
        if folded {
            let v = self.class_value(class);
            self.func.args_mut(inst)[0] = v;
            self.func.insts[inst].imm = Imm::Mem(mem);
        }
    }

    /// The value to use for an original value at the current point.
    fn value(&mut self, v: Value) -> Value {
        let v = self.func.resolve(v);
        match self.class_of.get(v).copied().flatten() {
            None => v,
            Some(c) => {
                let c = self.egraph.find(c);
                if let Node::Opaque(leaf, _) = self.choice.node(c) {
                    if *leaf == v {
                        return v;
                    }
                }
                if self.available_here(c) {
                    self.class_value(c)
                } else {
                    self.original(v)
                }
            }
        }
    }

    /// Whether the chosen term of a class can be computed at the current point.
    fn available_here(&mut self, c: Id) -> bool {
        match self.avail_of(c) {
            Avail::Anywhere => true,
            Avail::Nowhere => false,
            Avail::At(b, p) => {
                if b == self.cur {
                    p < self.cur_pos
                } else {
                    self.dt.dominates(b, self.cur)
                }
            }
        }
    }

    fn leaf_avail(&self, v: Value) -> Avail {
        match self.func.values[v].def {
            ValueDef::Param(b, _) => Avail::At(b, -1),
            ValueDef::Result(inst, _) => match self.func.inst_block[inst] {
                Some(b) => Avail::At(b, self.pos[inst]),
                // Already elaborated into the current block (cannot be a leaf): treat as here.
                None => Avail::Nowhere,
            },
            ValueDef::Alias(_) => Avail::Nowhere,
        }
    }

    /// The later of two availabilities, when one dominates the other.
    fn join(&self, a: Avail, b: Avail) -> Avail {
        match (a, b) {
            (Avail::Nowhere, _) | (_, Avail::Nowhere) => Avail::Nowhere,
            (Avail::Anywhere, x) | (x, Avail::Anywhere) => x,
            (Avail::At(ba, pa), Avail::At(bb, pb)) => {
                if ba == bb {
                    Avail::At(ba, pa.max(pb))
                } else if self.dt.dominates(ba, bb) {
                    Avail::At(bb, pb)
                } else if self.dt.dominates(bb, ba) {
                    Avail::At(ba, pa)
                } else {
                    Avail::Nowhere
                }
            }
        }
    }

    /// Availability of a class's chosen term (iterative: chosen terms can be deep).
    fn avail_of(&mut self, c: Id) -> Avail {
        let c = self.egraph.find(c);
        if let Some(a) = self.avail[usize::from(c)] {
            return a;
        }
        let mut stack = std::mem::take(&mut self.avail_stack);
        stack.clear();
        stack.push((c, false));
        while let Some((id, expanded)) = stack.pop() {
            if self.avail[usize::from(id)].is_some() {
                continue;
            }
            let node = self.choice.node(id);
            let a = match node {
                Node::Opaque(v, _) => Some(self.leaf_avail(*v)),
                Node::Op { args, .. } if args.is_empty() => Some(Avail::Anywhere),
                Node::Op { args, .. } => {
                    if expanded {
                        let mut acc = Avail::Anywhere;
                        for &k in args.iter() {
                            let k = self.egraph.find(k);
                            let ka = self.avail[usize::from(k)].expect("operands first");
                            acc = self.join(acc, ka);
                        }
                        Some(acc)
                    } else {
                        stack.push((id, true));
                        for &k in args.iter() {
                            let k = self.egraph.find(k);
                            if self.avail[usize::from(k)].is_none() {
                                stack.push((k, false));
                            }
                        }
                        None
                    }
                }
            };
            if let Some(a) = a {
                self.avail[usize::from(id)] = Some(a);
            }
        }
        self.avail_stack = stack;
        self.avail[usize::from(c)].expect("computed above")
    }

    /// A value for the class computed in a block that reaches `at` (or, for a
    /// rematerialized constant, in `at` itself).
    fn lookup(&self, entries: Option<&[(Value, Block)]>, remat: bool, at: Block) -> Option<Value> {
        self.lookup_within(entries, remat, at, usize::MAX)
    }

    /// Like [`Elaborator::lookup`], looking at the `limit` most recent placements only: a
    /// value used in thousands of sibling blocks (a constant, an `x + 1` in every case of a
    /// big switch) would otherwise make every first use scan all the others, quadratic in a
    /// hostile function. Missing an older placement only recomputes the value.
    fn lookup_within(
        &self,
        entries: Option<&[(Value, Block)]>,
        remat: bool,
        at: Block,
        limit: usize,
    ) -> Option<Value> {
        entries?.iter().rev().take(limit).find_map(|&(v, b)| {
            let ok = if remat {
                b == at
            } else {
                b == at || self.dt.dominates(b, at)
            };
            ok.then_some(v)
        })
    }

    /// The value of a class whose chosen term is available here (iterative post-order).
    /// Each frame carries the block its value goes to: operands of a hoisted value are
    /// computed at the hoisting point too.
    fn class_value(&mut self, c: Id) -> Value {
        let c = self.egraph.find(c);
        let cur = self.cur;
        // (class, expanded, block the value is for, where it goes)
        let mut stack = std::mem::take(&mut self.value_stack);
        stack.clear();
        stack.push((c, false, cur, cur));
        let mut arg_vals = std::mem::take(&mut self.arg_vals);
        let mut result = None;
        while let Some((id, expanded, at, target)) = stack.pop() {
            let node = self.choice.node(id).clone();
            let remat = node.as_const().is_some();
            if let Node::Opaque(v, _) = node {
                result = Some(v);
                continue;
            }
            if !expanded {
                if let Some(v) = self.lookup_within(
                    self.memo.get(usize::from(id)).map(|m| &m[..]),
                    remat,
                    at,
                    GVN_SCAN,
                ) {
                    self.gvn_hits += 1;
                    result = Some(v);
                    continue;
                }
            }
            let Node::Op { op, args, .. } = &node else {
                unreachable!()
            };
            if !expanded {
                let target = if remat { at } else { self.placement(id, at) };
                stack.push((id, true, at, target));
                for &k in args.iter().rev() {
                    stack.push((self.egraph.find(k), false, target, target));
                }
                continue;
            }
            arg_vals.clear();
            for &k in args.iter() {
                let k = self.egraph.find(k);
                arg_vals.push(match self.choice.node(k) {
                    Node::Opaque(v, _) => *v,
                    n => {
                        let remat = n.as_const().is_some();
                        self.lookup(self.memo.get(usize::from(k)).map(|m| &m[..]), remat, target)
                            .expect("operands are elaborated first")
                    }
                });
            }
            let ty = self.egraph[id].data.ty;
            let v = self.emit(*op, node.imm(), &arg_vals, ty, target);
            self.memo[usize::from(id)].push((v, target));
            result = Some(v);
        }
        self.value_stack = stack;
        self.arg_vals = arg_vals;
        result.expect("a class has a value")
    }

    /// Where a value needed in block `at` goes: `at`, or the preheader of the outermost
    /// enclosing loop that its operands allow (loop-invariant code motion).
    fn placement(&mut self, c: Id, at: Block) -> Block {
        if !self.licm {
            return at;
        }
        let avail = self.avail_of(c);
        let mut target = at;
        let mut l = self.loops.innermost(at);
        // A preheader belongs to the loop around its loop, so walk out from `at`'s loop.
        while let Some(li) = l {
            let Some(pre) = self.loops.loops[li].preheader else {
                break;
            };
            // The preheader must dominate here with every entry counted (OSR entries jump to
            // the preheader once `insert_loop_preheaders` has run), and the operands must be
            // computable at its end.
            if !self.dt.dominates(pre, at) {
                break;
            }
            let ok = match avail {
                Avail::Anywhere => true,
                Avail::Nowhere => false,
                Avail::At(b, _) => self.dt.dominates(b, pre),
            };
            if !ok {
                break;
            }
            target = pre;
            l = self.loops.loops[li].parent;
        }
        if target != at {
            self.hoisted += 1;
        }
        target
    }

    fn emit(
        &mut self,
        op: Opcode,
        imm: Imm,
        args: &[Value],
        ty: crate::types::Type,
        target: Block,
    ) -> Value {
        let inst = self.func.make_inst(op, imm, args, &[ty]);
        self.pos.resize(self.func.insts.len(), 0);
        self.placed += 1;
        if target == self.cur {
            self.out.push(inst);
            self.func.inst_block[inst] = Some(target);
        } else {
            self.hoisted_into.entry(target).or_default().push(inst);
            self.func.inst_block[inst] = Some(target);
        }
        self.func.result(inst).expect("one result")
    }

    /// The fallback: re-emits the original pure instruction of `v` here (its operands through
    /// [`Elaborator::value`]), for a use where the chosen term of `v`'s class needs a value that
    /// does not reach this point.
    fn original(&mut self, v: Value) -> Value {
        if let Some(x) = self.lookup_within(
            self.memo_orig.get(&v).map(|m| &m[..]),
            false,
            self.cur,
            GVN_SCAN,
        ) {
            return x;
        }
        let ValueDef::Result(inst, _) = self.func.values[v].def else {
            return v;
        };
        let d = *self.func.inst(inst);
        let args = self.func.args(inst).to_vec();
        let vals: Vec<Value> = args.into_iter().map(|a| self.value(a)).collect();
        let ty = self.func.value_type(v);
        let cur = self.cur;
        let x = self.emit(d.opcode, d.imm, &vals, ty, cur);
        self.memo_orig.entry(v).or_default().push((x, cur));
        x
    }
}
