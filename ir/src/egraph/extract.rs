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

impl CostFunction<Node> for X86Cost {
    type Cost = u64;

    fn cost<C>(&mut self, enode: &Node, mut costs: C) -> u64
    where
        C: FnMut(Id) -> u64,
    {
        match enode {
            // Already computed by the skeleton or a block parameter.
            Node::Opaque(..) => 0,
            Node::Op { op, .. } => enode
                .children()
                .iter()
                .fold(op_cost(*op), |acc, &c| acc.saturating_add(costs(c))),
        }
    }
}

/// The node chosen for each class, indexed by canonical class id (children canonical).
pub struct Choice {
    pub chosen: Vec<Option<Node>>,
}

impl Choice {
    pub fn node(&self, class: Id) -> &Node {
        self.chosen[usize::from(class)]
            .as_ref()
            .expect("every class has a choice")
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

/// The best cost of every class (indexed by canonical id), by iterating to a fixed point;
/// classes are mostly created children first, so one or two sweeps usually settle it.
fn best_costs(egraph: &Graph) -> Vec<u64> {
    let n = egraph
        .classes()
        .map(|c| usize::from(c.id))
        .max()
        .map_or(0, |m| m + 1);
    let mut cost = vec![u64::MAX; n];
    let mut ids: Vec<Id> = egraph.classes().map(|c| c.id).collect();
    ids.sort_unstable();
    let mut cf = X86Cost;
    loop {
        let mut changed = false;
        for &id in &ids {
            for node in &egraph[id].nodes {
                if node
                    .children()
                    .iter()
                    .any(|&c| cost[usize::from(c)] == u64::MAX)
                {
                    continue;
                }
                let c = cf.cost(node, |k| cost[usize::from(k)]);
                if c < cost[usize::from(id)] {
                    cost[usize::from(id)] = c;
                    changed = true;
                }
            }
        }
        if !changed {
            return cost;
        }
    }
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
        let own = cost[usize::from(class.id)];
        let finite = |n: &&Node| {
            n.children()
                .iter()
                .all(|&c| cost[usize::from(c)] != u64::MAX)
        };
        // The cheapest node (the first on ties: deterministic).
        let best = class
            .nodes
            .iter()
            .filter(finite)
            .min_by_key(|n| cf.cost(n, |k| cost[usize::from(k)]));
        let node = match rng.as_mut() {
            None => best,
            Some(rng) => {
                let legal: Vec<&Node> = class
                    .nodes
                    .iter()
                    .filter(|n| n.children().iter().all(|&c| cost[usize::from(c)] < own))
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
