//! Extraction: one node per e-class, the cheapest under a cost model of x86-64, or (chaos) a
//! random legal one.

use super::facts::Graph;
use super::lang::Node;
use crate::opcode::Opcode;
use egg::{CostFunction, Id, Language};

/// Latency-weighted costs of the instructions x86-64 lowers each opcode to (Agner Fog's
/// tables for recent cores, rounded): what a value costs to compute, operands included.
#[derive(Clone, Copy, Debug, Default)]
pub struct X86Cost;

/// The cost of the operation itself.
pub fn op_cost(op: Opcode) -> u64 {
    use Opcode::*;
    match op {
        // An immediate or one mov; constants are rematerialized where used.
        I32Const | I64Const => 1,
        // A load from the constant pool.
        F32Const | F64Const => 2,
        RefNull | RefFunc => 2,
        I32Add | I32Sub | I32And | I32Or | I32Xor | I64Add | I64Sub | I64And | I64Or | I64Xor => 2,
        I32Shl | I32ShrS | I32ShrU | I32Rotl | I32Rotr | I64Shl | I64ShrS | I64ShrU | I64Rotl
        | I64Rotr => 2,
        I32Extend8S | I32Extend16S | I64Extend8S | I64Extend16S | I64Extend32S | I64ExtendI32S
        | I64ExtendI32U | I32WrapI64 => 2,
        // cmp + setcc + movzx.
        I32Eqz | I64Eqz | I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU
        | I32GeS | I32GeU | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU
        | I64GeS | I64GeU | RefIsNull => 3,
        // test + cmov.
        Select => 3,
        I32Mul | I64Mul => 4,
        I32Clz | I32Ctz | I32Popcnt | I64Clz | I64Ctz | I64Popcnt => 4,
        I32ReinterpretF32 | I64ReinterpretF64 | F32ReinterpretI32 | F64ReinterpretI64 => 3,
        F32Abs | F32Neg | F32Copysign | F64Abs | F64Neg | F64Copysign => 3,
        F32Add | F32Sub | F32Mul | F64Add | F64Sub | F64Mul => 5,
        F32Min | F32Max | F64Min | F64Max => 8,
        F32Eq | F32Ne | F32Lt | F32Gt | F32Le | F32Ge | F64Eq | F64Ne | F64Lt | F64Gt | F64Le
        | F64Ge => 5,
        F32Ceil | F32Floor | F32Trunc | F32Nearest | F64Ceil | F64Floor | F64Trunc | F64Nearest => {
            8
        }
        F32Div => 12,
        F64Div => 15,
        F32Sqrt => 14,
        F64Sqrt => 20,
        _ => 6,
    }
}

/// The cost of a term: its tree cost (operation costs of the term written out as a tree,
/// saturating) and its depth.
///
/// Tree costs grow exponentially with the sharing depth of a DAG (keccak's rounds reuse every
/// lane several times: 4,700 classes reach 2^64), so they saturate, and a saturated cost must
/// neither mean "no term" nor stop the costs from strictly decreasing along chosen operands.
/// The depth breaks those ties: a node is always deeper than each of its operands, so a
/// chosen node always costs strictly more than its chosen operands even when both are
/// saturated, and the choice is acyclic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cost {
    pub tree: u64,
    pub depth: u32,
}

impl Cost {
    const LEAF: Cost = Cost { tree: 0, depth: 0 };
}

impl CostFunction<Node> for X86Cost {
    type Cost = Cost;

    fn cost<C>(&mut self, enode: &Node, mut costs: C) -> Cost
    where
        C: FnMut(Id) -> Cost,
    {
        match enode {
            // Already computed by the skeleton or a block parameter.
            Node::Opaque(..) => Cost::LEAF,
            Node::Op { op, .. } => enode.children().iter().fold(
                Cost {
                    tree: op_cost(*op),
                    depth: 1,
                },
                |acc, &c| {
                    let k = costs(c);
                    Cost {
                        tree: acc.tree.saturating_add(k.tree),
                        depth: acc.depth.max(k.depth.saturating_add(1)),
                    }
                },
            ),
        }
    }
}

/// The node chosen for each class, indexed by canonical class id (children canonical).
pub struct Choice {
    pub chosen: Vec<Option<Node>>,
}

impl Choice {
    /// The chosen node of a class. Every class has one once [`Choice::complete`] holds (the
    /// mid-end checks it before elaborating).
    pub fn node(&self, class: Id) -> &Node {
        self.chosen[usize::from(class)]
            .as_ref()
            .expect("every class has a choice")
    }

    /// Whether every class of the e-graph has a chosen node.
    pub fn complete(&self, egraph: &Graph) -> bool {
        egraph.classes().all(|c| {
            self.chosen
                .get(usize::from(c.id))
                .is_some_and(Option::is_some)
        })
    }
}

/// A small deterministic generator (xorshift64*): chaos mode needs reproducible choices from
/// a seed, nothing more.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The best cost of every class (indexed by canonical id; `None`: no finite term), by
/// iterating to a fixed point; classes are mostly created children first, so one or two
/// sweeps usually settle it.
fn best_costs(egraph: &Graph) -> Vec<Option<Cost>> {
    let n = egraph
        .classes()
        .map(|c| usize::from(c.id))
        .max()
        .map_or(0, |m| m + 1);
    let mut cost: Vec<Option<Cost>> = vec![None; n];
    let mut ids: Vec<Id> = egraph.classes().map(|c| c.id).collect();
    ids.sort_unstable();
    let mut cf = X86Cost;
    loop {
        let mut changed = false;
        for &id in &ids {
            for node in &egraph[id].nodes {
                let Some(c) = node_cost(&mut cf, node, &cost) else {
                    continue;
                };
                if cost[usize::from(id)].is_none_or(|old| c < old) {
                    cost[usize::from(id)] = Some(c);
                    changed = true;
                }
            }
        }
        if !changed {
            return cost;
        }
    }
}

/// A node's cost from its operand classes' costs, `None` while one of them has no term.
fn node_cost(cf: &mut X86Cost, node: &Node, cost: &[Option<Cost>]) -> Option<Cost> {
    if node
        .children()
        .iter()
        .any(|&c| cost[usize::from(c)].is_none())
    {
        return None;
    }
    Some(cf.cost(node, |k| cost[usize::from(k)].unwrap_or(Cost::LEAF)))
}

/// Chooses a node for every class. With a chaos seed, each class takes a random node among
/// those whose operand classes are all strictly cheaper than the class itself: every chain of
/// choices then strictly decreases in cost, so the choice is acyclic, and the cheapest node is
/// always among the candidates.
pub fn choose(egraph: &Graph, chaos: Option<u64>) -> Choice {
    let cost = best_costs(egraph);
    let mut chosen: Vec<Option<Node>> = vec![None; cost.len()];
    let mut rng = chaos.map(|s| Rng(s.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1));
    let mut cf = X86Cost;
    for class in egraph.classes() {
        let Some(own) = cost[usize::from(class.id)] else {
            continue;
        };
        // The cheapest node (the first on ties: deterministic). At the fixed point its cost
        // is the class's, so each operand class is strictly cheaper (see [`Cost`]).
        let best = class
            .nodes
            .iter()
            .filter_map(|n| node_cost(&mut cf, n, &cost).map(|c| (c, n)))
            .min_by_key(|&(c, _)| c)
            .map(|(_, n)| n);
        let node = match rng.as_mut() {
            None => best,
            Some(rng) => {
                let legal: Vec<&Node> = class
                    .nodes
                    .iter()
                    .filter(|n| {
                        n.children()
                            .iter()
                            .all(|&c| cost[usize::from(c)].is_some_and(|k| k < own))
                    })
                    .collect();
                if legal.is_empty() {
                    best
                } else {
                    Some(legal[(rng.next() % legal.len() as u64) as usize])
                }
            }
        };
        chosen[usize::from(class.id)] = node.map(|n| n.clone().map_children(|c| egraph.find(c)));
    }
    Choice { chosen }
}
