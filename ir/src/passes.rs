//! Cleanup passes and the pass pipeline (which the mid-end extends with its e-graph pass).

use crate::analysis::{use_counts, ControlFlowGraph};
use crate::entity::EntityRef;
use crate::function::{Function, ValueDef};
use crate::verify::verify;
use crate::{Block, Inst, Value};
use std::time::Instant;

/// Which blocks are entries (their parameters stay), or `None` when no other block has
/// parameters, so that the parameter passes have nothing to do.
fn entry_blocks_if_params(func: &Function) -> Option<Vec<bool>> {
    let mut entry = vec![false; func.blocks.len()];
    for e in func.entries() {
        entry[e.index()] = true;
    }
    let any = func
        .layout
        .iter()
        .any(|b| !entry[b.index()] && !func.block_params(*b).is_empty());
    any.then_some(entry)
}

/// Removes block parameters whose incoming arguments are all one value (or the parameter
/// itself): Braun et al.'s trivial phis, including the ones that become trivial once others
/// are gone. Uses read through aliases until `resolve_aliases`.
pub fn remove_redundant_params(func: &mut Function) {
    let Some(entry) = entry_blocks_if_params(func) else {
        return;
    };
    let preds = BranchPreds::new(func);
    // Sweeps until nothing changes: removing one parameter can make others trivial
    // anywhere downstream (usually one or two sweeps).
    let mut changed = true;
    while std::mem::take(&mut changed) {
        for bi in 0..func.layout.len() {
            let b = func.layout[bi];
            if entry[b.index()] || func.block_params(b).is_empty() {
                continue;
            }
            changed |= remove_trivial_params_of(func, preds.of(b), b);
        }
    }
    func.resolve_all_aliases();
}

/// The branches into each block, each branch once (a compact table: this runs on every
/// translated function, where building a full CFG showed in profiles).
struct BranchPreds {
    start: Vec<u32>,
    insts: Vec<Inst>,
}

impl BranchPreds {
    fn new(func: &Function) -> Self {
        let n = func.blocks.len();
        let mut start = vec![0u32; n + 1];
        let mut last: Vec<Option<Inst>> = vec![None; n];
        Self::edges(func, &mut last, |b, _| start[b.index() + 1] += 1);
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut insts = vec![Inst(0); start[n] as usize];
        last.fill(None);
        Self::edges(func, &mut last, |b, t| {
            insts[fill[b.index()] as usize] = t;
            fill[b.index()] += 1;
        });
        BranchPreds { start, insts }
    }

    /// Calls `f(target, branch)` once per distinct (target, branch) pair.
    fn edges(func: &Function, last: &mut [Option<Inst>], mut f: impl FnMut(Block, Inst)) {
        for &b in &func.layout {
            if let Some(t) = func.terminator(b) {
                for call in func.targets(t) {
                    let i = call.block.index();
                    if i < last.len() && last[i] != Some(t) {
                        last[i] = Some(t);
                        f(call.block, t);
                    }
                }
            }
        }
    }

    fn of(&self, b: Block) -> &[Inst] {
        &self.insts[self.start[b.index()] as usize..self.start[b.index() + 1] as usize]
    }
}

/// One block's trivial parameters; returns whether any was removed.
fn remove_trivial_params_of(func: &mut Function, preds: &[Inst], b: Block) -> bool {
    let params = func.block_params(b).to_vec();
    let mut remove = vec![false; params.len()];
    let mut any = false;
    for (k, &p) in params.iter().enumerate() {
        let mut same: Option<Value> = None;
        let mut trivial = true;
        'edges: for &inst in preds {
            for call in func.targets(inst) {
                if call.block != b {
                    continue;
                }
                let a = func.resolve(func.call_args(*call)[k]);
                if a == p || Some(a) == same {
                    continue;
                }
                if same.is_some() {
                    trivial = false;
                    break 'edges;
                }
                same = Some(a);
            }
        }
        if let (true, Some(v)) = (trivial, same) {
            func.make_alias(p, v);
            remove[k] = true;
            any = true;
        }
    }
    if !any {
        return false;
    }
    drop_params(func, preds, b, &remove);
    true
}

/// Drops the parameters of `b` marked in `remove` and the matching arguments of every edge
/// into it (`preds`: the branches into `b`).
fn drop_params(func: &mut Function, preds: &[Inst], b: Block, remove: &[bool]) {
    let params = func.block_params(b);
    let kept: Vec<Value> = params
        .iter()
        .zip(remove)
        .filter(|(_, r)| !**r)
        .map(|(p, _)| *p)
        .collect();
    for (i, &p) in kept.iter().enumerate() {
        func.values[p].def = ValueDef::Param(b, i as u32);
    }
    func.blocks[b].params = kept;
    for &inst in preds {
        for t in 0..func.targets(inst).len() {
            let call = func.targets(inst)[t];
            if call.block != b {
                continue;
            }
            let r = call.args.range();
            let mut w = r.start;
            for i in r.clone() {
                if !remove[i - r.start] {
                    func.value_pool[w] = func.value_pool[i];
                    w += 1;
                }
            }
            func.targets_mut(inst)[t].args.len = (w - r.start) as u32;
        }
    }
}

/// Removes block parameters that nothing needs: liveness flows from instructions with
/// side effects and terminators to their operands, from a live result to its instruction's
/// operands, and from a live parameter to the arguments every edge passes it. The rest (a
/// wasm local that a loop only carries around, say) cost a move per edge and a register
/// across the loop. Entry blocks keep theirs. Instructions without side effects that
/// nothing live reads go with them.
pub fn remove_dead_params(func: &mut Function) {
    let Some(entry) = entry_blocks_if_params(func) else {
        return;
    };
    let mut live = vec![false; func.values.len()];
    let mut work: Vec<Value> = Vec::new();
    let mark = |v: Value, live: &mut Vec<bool>, work: &mut Vec<Value>| {
        if !live[v.index()] {
            live[v.index()] = true;
            work.push(v);
        }
    };
    for &b in &func.layout {
        if entry[b.index()] {
            for &p in func.block_params(b) {
                mark(p, &mut live, &mut work);
            }
        }
        for &inst in func.block_insts(b) {
            let op = func.inst(inst).opcode;
            if op.has_side_effect() || op.is_terminator() {
                for &a in func.args(inst) {
                    mark(func.resolve(a), &mut live, &mut work);
                }
            }
        }
    }
    let preds = BranchPreds::new(func);
    let mut inst_live = vec![false; func.insts.len()];
    while let Some(v) = work.pop() {
        match func.values[v].def {
            ValueDef::Param(b, k) => {
                for &inst in preds.of(b) {
                    for call in func.targets(inst) {
                        if call.block == b {
                            let a = func.resolve(func.call_args(*call)[k as usize]);
                            mark(a, &mut live, &mut work);
                        }
                    }
                }
            }
            ValueDef::Result(inst, _) => {
                // An instruction's arguments are marked once, by its first live result.
                if std::mem::replace(&mut inst_live[inst.index()], true) {
                    continue;
                }
                for &a in func.args(inst) {
                    mark(func.resolve(a), &mut live, &mut work);
                }
            }
            _ => {}
        }
    }
    for bi in 0..func.layout.len() {
        let b = func.layout[bi];
        let remove: Vec<bool> = func
            .block_params(b)
            .iter()
            .map(|p| !live[p.index()])
            .collect();
        if !entry[b.index()] && remove.iter().any(|r| *r) {
            drop_params(func, preds.of(b), b, &remove);
        }
        // What only dead values read goes too, so no use of a dropped parameter is left.
        let mut insts = std::mem::take(&mut func.blocks[b].insts);
        insts.retain(|&i| {
            let op = func.inst(i).opcode;
            let keep = inst_live[i.index()] || op.has_side_effect() || op.is_terminator();
            if !keep {
                func.inst_block[i] = None;
            }
            keep
        });
        func.blocks[b].insts = insts;
    }
}

/// Rewrites uses of aliases to their targets.
pub fn resolve_aliases(func: &mut Function) {
    func.resolve_all_aliases();
}

/// Drops blocks that no entry reaches from the layout.
pub fn remove_unreachable_blocks(func: &mut Function) {
    let mut seen = vec![false; func.blocks.len()];
    let mut work: Vec<Block> = func.entries().filter(|e| e.index() < seen.len()).collect();
    for e in &work {
        seen[e.index()] = true;
    }
    while let Some(b) = work.pop() {
        if let Some(t) = func.terminator(b) {
            for call in func.targets(t) {
                if let Some(s) = seen.get_mut(call.block.index()) {
                    if !*s {
                        *s = true;
                        work.push(call.block);
                    }
                }
            }
        }
    }
    func.layout.retain(|b| seen[b.index()]);
}

/// Dead-code elimination: removes instructions without side effects whose results are
/// unused (transitively).
pub fn dce(func: &mut Function) {
    func.resolve_all_aliases();
    let mut uses = use_counts(func);
    let mut dead = vec![false; func.insts.len()];
    let mut work: Vec<crate::Inst> = Vec::new();
    let removable = |f: &Function, inst: crate::Inst, uses: &crate::EntityVec<Value, u32>| {
        let d = f.inst(inst);
        !d.opcode.has_side_effect() && f.results(inst).all(|r| uses[r] == 0)
    };
    for &b in &func.layout {
        for &inst in func.block_insts(b) {
            if removable(func, inst, &uses) {
                work.push(inst);
            }
        }
    }
    while let Some(inst) = work.pop() {
        if dead[inst.index()] {
            continue;
        }
        dead[inst.index()] = true;
        for i in func.insts[inst].args.range() {
            let a = func.value_pool[i];
            uses[a] -= 1;
            if uses[a] == 0 {
                if let ValueDef::Result(def, _) = func.values[a].def {
                    if !dead[def.index()]
                        && func.inst_block[def].is_some()
                        && removable(func, def, &uses)
                    {
                        work.push(def);
                    }
                }
            }
        }
    }
    for bi in 0..func.layout.len() {
        let b = func.layout[bi];
        let mut insts = std::mem::take(&mut func.blocks[b].insts);
        insts.retain(|i| {
            if dead[i.index()] {
                func.inst_block[*i] = None;
                false
            } else {
                true
            }
        });
        func.blocks[b].insts = insts;
    }
}

/// Splits critical edges (from a block with several successors to a block with several
/// predecessors) with a block that only jumps: register allocators such as regalloc2 need
/// somewhere to put the moves of each edge. The new blocks go at the end of the layout.
pub fn split_critical_edges(func: &mut Function) {
    let cfg = ControlFlowGraph::new(func);
    let mut npreds = vec![0u32; func.blocks.len()];
    for &b in &func.layout {
        npreds[b.index()] = cfg.preds(b).len() as u32;
    }
    for bi in 0..func.layout.len() {
        let b = func.layout[bi];
        let Some(term) = func.terminator(b) else {
            continue;
        };
        let n = func.targets(term).len();
        // A one-target branch with an operand (`br_table` with only a default) counts too:
        // regalloc2 lets only operand-free branches pass arguments to a join.
        if n < 2 && func.args(term).is_empty() {
            continue;
        }
        for t in 0..n {
            let call = func.targets(term)[t];
            if npreds[call.block.index()] < 2 {
                continue;
            }
            let mid = func.create_block();
            let args = func.call_args(call).to_vec();
            crate::function::Builder::new(func, mid).jump(call.block, &args);
            func.targets_mut(term)[t] = crate::function::BlockCall {
                block: mid,
                args: crate::entity::ListRange::EMPTY,
            };
        }
    }
}

/// The cleanup passes in order: what `--print-ir after` runs until the mid-end lands.
pub fn cleanup(func: &mut Function) {
    remove_unreachable_blocks(func);
    remove_redundant_params(func);
    remove_dead_params(func);
    dce(func);
}

/// A named pass over one function.
pub struct Pass {
    pub name: &'static str,
    pub run: fn(&mut Function),
}

/// Every pass, by name (filetests' `; pass: NAME`).
pub const PASSES: &[Pass] = &[
    Pass {
        name: "unreachable",
        run: remove_unreachable_blocks,
    },
    Pass {
        name: "redundant-params",
        run: remove_redundant_params,
    },
    Pass {
        name: "dead-params",
        run: remove_dead_params,
    },
    Pass {
        name: "dce",
        run: dce,
    },
    Pass {
        name: "cleanup",
        run: cleanup,
    },
    Pass {
        name: "split-critical-edges",
        run: split_critical_edges,
    },
    Pass {
        name: "loop-preheaders",
        run: crate::loops::loop_preheaders,
    },
    Pass {
        name: "bounds-checks",
        run: bounds_checks,
    },
    Pass {
        name: "egraph",
        run: egraph,
    },
];

fn bounds_checks(func: &mut Function) {
    crate::bounds::remove_redundant_checks(func);
}

/// The whole mid-end with its default switches (`crate::egraph::optimize`).
fn egraph(func: &mut Function) {
    crate::egraph::optimize(func, &crate::egraph::MidendConfig::default());
}

pub fn find_pass(name: &str) -> Option<&'static Pass> {
    PASSES.iter().find(|p| p.name == name)
}

/// The optimizing pipeline, in order. The mid-end adds its e-graph pass here.
pub fn default_pipeline() -> Vec<&'static Pass> {
    ["unreachable", "redundant-params", "dead-params", "dce"]
        .iter()
        .filter_map(|n| find_pass(n))
        .collect()
}

/// What one pass did.
#[derive(Clone, Debug, Default)]
pub struct PassStats {
    pub name: &'static str,
    pub nanos: u128,
    pub insts_before: usize,
    pub insts_after: usize,
    /// Free-form facts a pass reports (e-graph sizes, rewrites applied...).
    pub notes: Vec<String>,
}

/// Runs passes over a function; with `verify_each`, the verifier runs after every pass and
/// its failure names the pass.
pub fn run_pipeline(
    func: &mut Function,
    passes: &[&Pass],
    verify_each: bool,
) -> Result<Vec<PassStats>, String> {
    let mut stats = Vec::with_capacity(passes.len());
    for p in passes {
        let before = func.num_live_insts();
        let t = Instant::now();
        (p.run)(func);
        let nanos = t.elapsed().as_nanos();
        if verify_each {
            verify(func).map_err(|e| format!("after pass {}:\n{e}", p.name))?;
        }
        stats.push(PassStats {
            name: p.name,
            nanos,
            insts_before: before,
            insts_after: func.num_live_insts(),
            notes: Vec::new(),
        });
    }
    Ok(stats)
}

/// Whether the verifier runs after every pass by default (debug builds and tests).
pub const VERIFY_BY_DEFAULT: bool = cfg!(debug_assertions);
