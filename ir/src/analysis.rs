//! Analyses on petgraph: the control-flow graph, the dominator tree, the loop nest and use
//! counts. The CFG has a virtual root whose successors are the normal entry and every OSR
//! entry, so that dominance is right for a function that OSR can enter at loop headers.

use crate::entity::{EntityRef, EntityVec};
use crate::function::Function;
use crate::{Block, Inst, Value};
use petgraph::algo::dominators::{simple_fast, Dominators};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{DfsPostOrder, Walker};

/// The control-flow graph of the blocks in the layout.
pub struct ControlFlowGraph {
    /// Node `i` is block `i`; the last node is the virtual root.
    pub graph: DiGraph<(), ()>,
    pub root: NodeIndex,
    preds: EntityVec<Block, Vec<(Block, Inst)>>,
    succs: EntityVec<Block, Vec<Block>>,
    in_layout: EntityVec<Block, bool>,
}

impl ControlFlowGraph {
    /// The CFG rooted at every entry (the normal one and the OSR entries): what SSA
    /// dominance, and so the verifier and every code motion, must use.
    pub fn new(func: &Function) -> Self {
        Self::build(func, true)
    }

    /// The CFG rooted at the normal entry only: OSR entry blocks are unreachable in it.
    /// Loop structure comes from this one (see [`LoopNest`]).
    pub fn normal_entry_only(func: &Function) -> Self {
        Self::build(func, false)
    }

    fn build(func: &Function, with_osr: bool) -> Self {
        let n = func.blocks.len();
        let mut graph = DiGraph::with_capacity(n + 1, n * 2);
        for _ in 0..=n {
            graph.add_node(());
        }
        let root = NodeIndex::new(n);
        let mut preds = EntityVec::filled(n, Vec::new());
        let mut succs = EntityVec::filled(n, Vec::new());
        let mut in_layout = EntityVec::filled(n, false);
        for &b in &func.layout {
            in_layout[b] = true;
        }
        for &b in &func.layout {
            if let Some(term) = func.terminator(b) {
                for call in func.targets(term) {
                    if call.block.index() < n {
                        preds[call.block].push((b, term));
                        if !succs[b].contains(&call.block) {
                            succs[b].push(call.block);
                            graph.add_edge(
                                NodeIndex::new(b.index()),
                                NodeIndex::new(call.block.index()),
                                (),
                            );
                        }
                    }
                }
            }
        }
        let roots: Vec<Block> = if with_osr {
            func.entries().collect()
        } else {
            func.entry().into_iter().collect()
        };
        for e in roots {
            if e.index() < n {
                graph.add_edge(root, NodeIndex::new(e.index()), ());
            }
        }
        ControlFlowGraph {
            graph,
            root,
            preds,
            succs,
            in_layout,
        }
    }

    /// Predecessors with the branch instruction of each edge (one per target entry, so a
    /// `br_table` naming a block twice appears twice).
    pub fn preds(&self, b: Block) -> &[(Block, Inst)] {
        &self.preds[b]
    }

    /// Distinct successors.
    pub fn succs(&self, b: Block) -> &[Block] {
        &self.succs[b]
    }

    pub fn in_layout(&self, b: Block) -> bool {
        self.in_layout.get(b).copied().unwrap_or(false)
    }

    /// Reachable blocks in reverse postorder from the entries.
    pub fn reverse_postorder(&self) -> Vec<Block> {
        let mut order: Vec<Block> = DfsPostOrder::new(&self.graph, self.root)
            .iter(&self.graph)
            .filter(|n| *n != self.root)
            .map(|n| Block::new(n.index()))
            .collect();
        order.reverse();
        order
    }
}

/// The dominator tree, with preorder numbers for O(1) dominance queries.
pub struct DominatorTree {
    doms: Dominators<NodeIndex>,
    root: NodeIndex,
    children: Vec<Vec<Block>>,
    /// Preorder entry and exit numbers per block (`u32::MAX`: unreachable).
    pre: Vec<u32>,
    post: Vec<u32>,
}

impl DominatorTree {
    pub fn new(cfg: &ControlFlowGraph) -> Self {
        let doms = simple_fast(&cfg.graph, cfg.root);
        let n = cfg.graph.node_count();
        let mut children = vec![Vec::new(); n];
        for i in 0..n - 1 {
            if let Some(idom) = doms.immediate_dominator(NodeIndex::new(i)) {
                children[idom.index()].push(Block::new(i));
            }
        }
        let mut pre = vec![u32::MAX; n];
        let mut post = vec![u32::MAX; n];
        let mut counter = 0u32;
        // Iterative DFS: deep trees (long chains of blocks) must not overflow the stack.
        let mut stack: Vec<(usize, usize)> = vec![(cfg.root.index(), 0)];
        pre[cfg.root.index()] = counter;
        counter += 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&child) = children[node].get(*next) {
                *next += 1;
                pre[child.index()] = counter;
                counter += 1;
                stack.push((child.index(), 0));
            } else {
                post[node] = counter;
                stack.pop();
            }
        }
        DominatorTree {
            doms,
            root: cfg.root,
            children,
            pre,
            post,
        }
    }

    pub fn is_reachable(&self, b: Block) -> bool {
        self.pre.get(b.index()).is_some_and(|p| *p != u32::MAX)
    }

    /// `a` dominates `b` (reflexive). Unreachable blocks dominate nothing.
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        let (ai, bi) = (a.index(), b.index());
        if !self.is_reachable(a) || !self.is_reachable(b) {
            return false;
        }
        self.pre[ai] <= self.pre[bi] && self.post[bi] <= self.post[ai]
    }

    /// The immediate dominator (`None` for entries, whose idom is the virtual root, and for
    /// unreachable blocks).
    pub fn idom(&self, b: Block) -> Option<Block> {
        self.doms
            .immediate_dominator(NodeIndex::new(b.index()))
            .filter(|d| *d != self.root)
            .map(|d| Block::new(d.index()))
    }

    /// The blocks whose immediate dominator is the virtual root: the entries, and blocks that
    /// several entries reach first (a loop preheader that both the normal path and an OSR
    /// entry jump to). A preorder walk of the tree starts from these.
    pub fn roots(&self) -> &[Block] {
        &self.children[self.root.index()]
    }

    pub fn children(&self, b: Block) -> &[Block] {
        &self.children[b.index()]
    }
}

/// A natural loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loop {
    pub header: Block,
    /// The enclosing loop (index into `LoopNest::loops`).
    pub parent: Option<usize>,
    /// 1 for an outermost loop.
    pub depth: u32,
    /// Blocks of the loop, header included.
    pub blocks: Vec<Block>,
    /// Predecessors of the header inside the loop (sources of back edges).
    pub latches: Vec<Block>,
    /// The one predecessor from outside the loop that is not an OSR entry, when it has the
    /// header as only successor: where loop-invariant code can go.
    pub preheader: Option<Block>,
}

/// The loop nest.
///
/// Loops are found on the CFG of the normal entry: an OSR entry jumps straight into a loop
/// header, so with the OSR entries as roots an outer loop's header no longer dominates the
/// blocks after an inner loop and the outer loop would not be natural. Loops here are the
/// wasm `loop`s that the normal entry reaches. Code motion must still respect dominance
/// with every entry (a value hoisted into a preheader does not reach the code an OSR entry
/// enters): the verifier checks that one.
pub struct LoopNest {
    pub loops: Vec<Loop>,
    /// Innermost loop of each block.
    innermost: Vec<Option<usize>>,
}

impl LoopNest {
    pub fn new(func: &Function) -> Self {
        let cfg = ControlFlowGraph::normal_entry_only(func);
        let dt = DominatorTree::new(&cfg);
        Self::with(func, &cfg, &dt)
    }

    /// The nest of a function without loops (`n` blocks), without building a CFG.
    pub fn none(n: usize) -> Self {
        LoopNest {
            loops: Vec::new(),
            innermost: vec![None; n],
        }
    }

    /// From a CFG and dominator tree of the normal entry.
    pub fn with(func: &Function, cfg: &ControlFlowGraph, dt: &DominatorTree) -> Self {
        let n = func.blocks.len();
        let mut headers: Vec<Block> = func
            .layout
            .iter()
            .copied()
            .filter(|&h| cfg.preds(h).iter().any(|(p, _)| dt.dominates(h, *p)))
            .collect();
        // Outer loops first: a header's preorder number is below those of the loops inside.
        headers.sort_by_key(|h| dt.pre[h.index()]);
        let mut loops: Vec<Loop> = Vec::with_capacity(headers.len());
        let mut innermost: Vec<Option<usize>> = vec![None; n];
        let mut mark = vec![usize::MAX; n];
        for (li, &h) in headers.iter().enumerate() {
            let latches: Vec<Block> = cfg
                .preds(h)
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| dt.dominates(h, *p))
                .collect();
            let mut body = vec![h];
            mark[h.index()] = li;
            let mut work = latches.clone();
            while let Some(b) = work.pop() {
                if mark[b.index()] == li || !dt.is_reachable(b) {
                    continue;
                }
                mark[b.index()] = li;
                body.push(b);
                work.extend(cfg.preds(b).iter().map(|(p, _)| *p));
            }
            let parent = innermost[h.index()];
            for &b in &body {
                innermost[b.index()] = Some(li);
            }
            let osr: Vec<Block> = func.osr_entries.iter().map(|e| e.block).collect();
            let outside: Vec<Block> = cfg
                .preds(h)
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| mark[p.index()] != li && !osr.contains(p))
                .collect();
            let preheader = match outside.as_slice() {
                [p] if cfg.succs(*p).len() == 1 => Some(*p),
                _ => None,
            };
            let depth = parent.map_or(1, |p: usize| loops[p].depth + 1);
            loops.push(Loop {
                header: h,
                parent,
                depth,
                blocks: body,
                latches,
                preheader,
            });
        }
        LoopNest { loops, innermost }
    }

    /// Records a new preheader `pre` for loop `li` (a block just created outside it, in the
    /// enclosing loop if any), keeping the nest valid without recomputing it.
    pub fn set_preheader(&mut self, li: usize, pre: Block) {
        self.loops[li].preheader = Some(pre);
        let parent = self.loops[li].parent;
        if self.innermost.len() <= pre.index() {
            self.innermost.resize(pre.index() + 1, None);
        }
        self.innermost[pre.index()] = parent;
        let mut p = parent;
        while let Some(pi) = p {
            self.loops[pi].blocks.push(pre);
            p = self.loops[pi].parent;
        }
    }

    /// The innermost loop containing `b`.
    pub fn innermost(&self, b: Block) -> Option<usize> {
        self.innermost.get(b.index()).copied().flatten()
    }

    /// Loop depth of a block (0 outside loops).
    pub fn depth(&self, b: Block) -> u32 {
        self.innermost(b).map_or(0, |l| self.loops[l].depth)
    }
}

/// How many times each value is read (operands and branch arguments of blocks in the
/// layout; aliases are counted at their target).
pub fn use_counts(func: &Function) -> EntityVec<Value, u32> {
    let mut counts = EntityVec::filled(func.values.len(), 0u32);
    for &b in &func.layout {
        for &inst in func.block_insts(b) {
            for &a in func.args(inst) {
                counts[func.resolve(a)] += 1;
            }
            for call in func.targets(inst) {
                for &a in func.call_args(*call) {
                    counts[func.resolve(a)] += 1;
                }
            }
        }
    }
    counts
}
