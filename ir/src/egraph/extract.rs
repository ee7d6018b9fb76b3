//! Extraction: one node per e-class, the cheapest under a cost model of x86-64, or (chaos) a
//! random legal one.

use super::facts::Graph;
use super::lang::Node;
use crate::opcode::Opcode;
use egg::{CostFunction, Id, Language};
use std::collections::HashMap;

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

/// The node chosen for each class (canonical ids).
pub struct Choice {
    pub chosen: HashMap<Id, Node>,
}

impl Choice {
    pub fn node(&self, class: Id) -> &Node {
        &self.chosen[&class]
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

/// Chooses a node for every class. With a chaos seed, each class takes a random node among
/// those whose operand classes are all strictly cheaper than the class itself: every chain of
/// choices then strictly decreases in cost, so the choice is acyclic, and the cheapest node is
/// always among the candidates.
pub fn choose(egraph: &Graph, chaos: Option<u64>) -> Choice {
    let extractor = egg::Extractor::new(egraph, X86Cost);
    let mut chosen = HashMap::with_capacity(egraph.number_of_classes());
    let mut rng = chaos.map(|s| Rng(s.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1));
    for class in egraph.classes() {
        let best = extractor.find_best_node(class.id).clone();
        let node = match rng.as_mut() {
            None => best,
            Some(rng) => {
                let own = extractor.find_best_cost(class.id);
                let legal: Vec<&Node> = class
                    .nodes
                    .iter()
                    .filter(|n| {
                        n.children()
                            .iter()
                            .all(|&c| extractor.find_best_cost(c) < own)
                    })
                    .collect();
                if legal.is_empty() {
                    best
                } else {
                    legal[(rng.next() % legal.len() as u64) as usize].clone()
                }
            }
        };
        chosen.insert(class.id, node);
    }
    Choice { chosen }
}
