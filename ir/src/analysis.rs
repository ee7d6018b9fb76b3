//! Analyses on petgraph: the control-flow graph, the dominator tree, the loop nest and use
//! counts. OSR entries are extra roots: dominance is computed from a virtual root whose
//! successors are the entry block and every OSR entry block.

use crate::function::{Block, Function, Value};
use petgraph::algo::dominators;
use petgraph::graph::{DiGraph, NodeIndex};

/// Predecessors and successors of the blocks in the layout (indexed by block number; blocks
/// outside the layout have none), and the graph petgraph's algorithms run on.
pub struct Cfg {
    pub preds: Vec<Vec<Block>>,
    pub succs: Vec<Vec<Block>>,
    /// Node `i` is block `i`; the last node is the virtual root.
    pub graph: DiGraph<(), ()>,
    pub root: NodeIndex,
}

impl Cfg {
    pub fn new(f: &Function) -> Cfg {
        let n = f.blocks.len();
        let mut preds = vec![Vec::new(); n];
        let mut succs = vec![Vec::new(); n];
        let mut graph = DiGraph::with_capacity(n + 1, n * 2);
        for _ in 0..=n {
            graph.add_node(());
        }
        let root = NodeIndex::new(n);
        for &b in &f.layout {
            for s in f.successors(b) {
                if !succs[b.index()].contains(&s) {
                    succs[b.index()].push(s);
                    preds[s.index()].push(b);
                    graph.add_edge(NodeIndex::new(b.index()), NodeIndex::new(s.index()), ());
                }
            }
        }
        for r in f
            .entry()
            .into_iter()
            .chain(f.osr_entries.iter().map(|e| e.block))
        {
            graph.add_edge(root, NodeIndex::new(r.index()), ());
        }
        Cfg {
            preds,
            succs,
            graph,
            root,
        }
    }
}

/// The dominator tree, with a preorder numbering for constant-time dominance queries.
pub struct DomTree {
    /// Immediate dominator per block (`None`: a root, or unreachable).
    pub idom: Vec<Option<Block>>,
    pub children: Vec<Vec<Block>>,
    /// Blocks reachable from a root, in reverse postorder of the CFG.
    pub rpo: Vec<Block>,
    pre: Vec<u32>,
    post: Vec<u32>,
}

impl DomTree {
    pub fn new(f: &Function, cfg: &Cfg) -> DomTree {
        let n = f.blocks.len();
        let doms = dominators::simple_fast(&cfg.graph, cfg.root);
        let mut idom = vec![None; n];
        let mut children = vec![Vec::new(); n];
        let mut reachable = vec![false; n];
        for &b in &f.layout {
            let node = NodeIndex::new(b.index());
            if let Some(d) = doms.immediate_dominator(node) {
                reachable[b.index()] = true;
                if d != cfg.root {
                    idom[b.index()] = Some(Block(d.index() as u32));
                    children[d.index()].push(b);
                }
            }
        }
        // Reverse postorder from the roots, and the dominator tree's pre/post numbers.
        let mut rpo = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        let roots: Vec<Block> = f
            .entry()
            .into_iter()
            .chain(f.osr_entries.iter().map(|e| e.block))
            .collect();
        for &r in &roots {
            if seen[r.index()] {
                continue;
            }
            seen[r.index()] = true;
            let mut stack = vec![(r, 0usize)];
            while let Some((b, i)) = stack.pop() {
                if let Some(&s) = cfg.succs[b.index()].get(i) {
                    stack.push((b, i + 1));
                    if !seen[s.index()] {
                        seen[s.index()] = true;
                        stack.push((s, 0));
                    }
                } else {
                    rpo.push(b);
                }
            }
        }
        rpo.reverse();
        let mut pre = vec![u32::MAX; n];
        let mut post = vec![0; n];
        let mut clock = 0u32;
        // The dominator forest's roots: blocks the virtual root dominates immediately (the
        // entry, OSR entries, and loop headers both of those reach).
        let tree_roots: Vec<Block> = f
            .layout
            .iter()
            .copied()
            .filter(|b| reachable[b.index()] && idom[b.index()].is_none())
            .collect();
        for r in tree_roots {
            let mut stack = vec![(r, 0usize)];
            pre[r.index()] = clock;
            clock += 1;
            while let Some((b, i)) = stack.pop() {
                if let Some(&c) = children[b.index()].get(i) {
                    stack.push((b, i + 1));
                    pre[c.index()] = clock;
                    clock += 1;
                    stack.push((c, 0));
                } else {
                    post[b.index()] = clock;
                    clock += 1;
                }
            }
        }
        DomTree {
            idom,
            children,
            rpo,
            pre,
            post,
        }
    }

    pub fn is_reachable(&self, b: Block) -> bool {
        self.pre[b.index()] != u32::MAX
    }

    /// Whether `a` dominates `b` (every block dominates itself).
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        let (a, b) = (a.index(), b.index());
        self.pre[a] != u32::MAX
            && self.pre[b] != u32::MAX
            && self.pre[a] <= self.pre[b]
            && self.post[b] <= self.post[a]
    }
}

/// One natural loop.
#[derive(Clone, Debug)]
pub struct Loop {
    pub header: Block,
    /// The enclosing loop (index into `LoopNest::loops`).
    pub parent: Option<usize>,
    /// 1 for an outermost loop.
    pub depth: u32,
    /// The blocks of the loop, header first.
    pub blocks: Vec<Block>,
    /// The single predecessor of the header from outside the loop that is not an OSR entry,
    /// if there is exactly one and the header is its only successor.
    pub preheader: Option<Block>,
}

/// The loop nest: natural loops from back edges (an edge to a block that dominates its
/// source), nested by containment.
pub struct LoopNest {
    pub loops: Vec<Loop>,
    /// The innermost loop of each block.
    pub innermost: Vec<Option<usize>>,
}

impl LoopNest {
    pub fn new(f: &Function, cfg: &Cfg, dom: &DomTree) -> LoopNest {
        let n = f.blocks.len();
        let mut loops: Vec<Loop> = Vec::new();
        // Headers in reverse postorder: outer loops before the loops they contain.
        for &h in &dom.rpo {
            let latches: Vec<Block> = cfg.preds[h.index()]
                .iter()
                .copied()
                .filter(|&p| dom.dominates(h, p))
                .collect();
            if latches.is_empty() {
                continue;
            }
            let mut in_loop = vec![false; n];
            in_loop[h.index()] = true;
            let mut blocks = vec![h];
            let mut work = latches;
            while let Some(b) = work.pop() {
                if in_loop[b.index()] || !dom.is_reachable(b) {
                    continue;
                }
                in_loop[b.index()] = true;
                blocks.push(b);
                work.extend(cfg.preds[b.index()].iter().copied());
            }
            let outside: Vec<Block> = cfg.preds[h.index()]
                .iter()
                .copied()
                .filter(|p| !in_loop[p.index()] && !f.is_osr_entry(*p))
                .collect();
            let preheader = match outside[..] {
                [p] if cfg.succs[p.index()].len() == 1 => Some(p),
                _ => None,
            };
            loops.push(Loop {
                header: h,
                parent: None,
                depth: 1,
                blocks,
                preheader,
            });
        }
        // Outer loops come first, so the last loop containing a block is its innermost.
        let mut innermost = vec![None; n];
        for (i, l) in loops.iter().enumerate() {
            for b in &l.blocks {
                innermost[b.index()] = Some(i);
            }
        }
        for i in 0..loops.len() {
            let h = loops[i].header;
            let parent = (0..i)
                .rev()
                .find(|&j| loops[j].blocks.contains(&h) && loops[j].header != h);
            loops[i].parent = parent;
            loops[i].depth = parent.map_or(1, |p| loops[p].depth + 1);
        }
        LoopNest { loops, innermost }
    }

    /// Loop depth of a block (0: in no loop).
    pub fn depth(&self, b: Block) -> u32 {
        self.innermost[b.index()].map_or(0, |l| self.loops[l].depth)
    }
}

/// Uses of each value (operands and block-call arguments) in the layout.
pub fn use_counts(f: &Function) -> Vec<u32> {
    let mut counts = vec![0u32; f.values.len()];
    let mut count = |v: Value| counts[f.resolve(v).index()] += 1;
    for &b in &f.layout {
        for &i in &f.blocks[b.index()].insts {
            f.args(i).iter().for_each(|&v| count(v));
            for d in &f.insts[i.index()].dests {
                d.args.iter().for_each(|&v| count(v));
            }
        }
    }
    counts
}
