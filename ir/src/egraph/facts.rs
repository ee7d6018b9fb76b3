//! The e-graph's analysis: each class's type, its constant value (constant folding with
//! [`eval_pure`], the same evaluator the rule tests use) and its known bits.
//!
//! Known bits are kept in the evaluator's encoding (an `i32` lives zero-extended in a `u64`),
//! so the upper half of an `i32` is always known zero. Facts only ever grow: when two classes
//! merge, both sets of facts hold for the merged class.

use super::lang::{int_width, type_mask, Node};
use crate::eval::eval_pure;
use crate::opcode::Opcode;
use crate::types::Type;
use egg::{Analysis, DidMerge, EGraph, Id};

/// What is known about every value of a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub ty: Type,
    /// The class's value when it is a constant (evaluator encoding).
    pub konst: Option<u64>,
    /// Bits known to be 0.
    pub zeros: u64,
    /// Bits known to be 1.
    pub ones: u64,
}

impl Facts {
    pub fn unknown(ty: Type) -> Facts {
        Facts {
            ty,
            konst: None,
            zeros: !type_mask(ty),
            ones: 0,
        }
    }

    pub fn constant(ty: Type, bits: u64) -> Facts {
        let bits = bits & type_mask(ty);
        Facts {
            ty,
            konst: Some(bits),
            zeros: !bits,
            ones: bits,
        }
    }

    /// The largest unsigned value the class can take.
    pub fn max_unsigned(&self) -> u64 {
        !self.zeros & type_mask(self.ty)
    }
}

/// The analysis attached to Strata's e-graphs.
#[derive(Clone, Copy, Debug, Default)]
pub struct FactsAnalysis;

pub type Graph = EGraph<Node, FactsAnalysis>;

/// The type of a node's result, from the opcode table and (for the polymorphic ones) its
/// operands.
pub fn node_type(egraph: &Graph, node: &Node) -> Type {
    match node {
        Node::Opaque(_, ty) => ty.get(),
        Node::Op { op, imm, args } => match op {
            Opcode::RefNull => super::lang::type_from_code(*imm),
            Opcode::RefIsNull => Type::I32,
            Opcode::Select => egraph[args[0]].data.ty,
            _ => op
                .signature()
                .and_then(|s| s.results.first().copied())
                .unwrap_or(Type::I32),
        },
    }
}

fn known_bits(egraph: &Graph, op: Opcode, args: &[Id], ty: Type) -> (u64, u64) {
    let unknown = (!type_mask(ty), 0);
    let f = |i: usize| egraph[args[i]].data;
    let width = int_width(ty).unwrap_or(64);
    let mask = type_mask(ty);
    let const_count = |i: usize| f(i).konst.map(|c| (c % u64::from(width)) as u32);
    use Opcode::*;
    match op {
        I32And | I64And => {
            let (a, b) = (f(0), f(1));
            (a.zeros | b.zeros, a.ones & b.ones)
        }
        I32Or | I64Or => {
            let (a, b) = (f(0), f(1));
            (a.zeros & b.zeros, a.ones | b.ones)
        }
        I32Xor | I64Xor => {
            let (a, b) = (f(0), f(1));
            let known = (a.zeros | a.ones) & (b.zeros | b.ones);
            let val = a.ones ^ b.ones;
            ((!val & known) | !mask, val & known)
        }
        I32Shl | I64Shl => match const_count(1) {
            Some(k) => {
                let a = f(0);
                let low = (1u64 << k) - 1;
                (((a.zeros << k) | low) | !mask, (a.ones << k) & mask)
            }
            None => unknown,
        },
        I32ShrU | I64ShrU => match const_count(1) {
            Some(k) => {
                let a = f(0);
                let high = !(mask >> k);
                (((a.zeros & mask) >> k) | high, (a.ones & mask) >> k)
            }
            None => unknown,
        },
        // Results that are 0 or 1.
        I32Eqz | I64Eqz | I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU
        | I32GeS | I32GeU | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU
        | I64GeS | I64GeU | F32Eq | F32Ne | F32Lt | F32Gt | F32Le | F32Ge | F64Eq | F64Ne
        | F64Lt | F64Gt | F64Le | F64Ge | RefIsNull => (!1, 0),
        // Counts: at most the width.
        I32Clz | I32Ctz | I32Popcnt | I64Clz | I64Ctz | I64Popcnt => (!127, 0),
        I64ExtendI32U => {
            let a = f(0);
            (a.zeros | !(u32::MAX as u64), a.ones)
        }
        I32WrapI64 => {
            let a = f(0);
            (a.zeros | !mask, a.ones & mask)
        }
        Select => {
            let (a, b) = (f(0), f(1));
            (a.zeros & b.zeros, a.ones & b.ones)
        }
        _ => unknown,
    }
}

impl Analysis<Node> for FactsAnalysis {
    type Data = Facts;

    fn make(egraph: &mut Graph, enode: &Node, _id: Id) -> Facts {
        let ty = node_type(egraph, enode);
        let Node::Op { op, imm, args } = enode else {
            return Facts::unknown(ty);
        };
        let consts: Option<Vec<u64>> = args.iter().map(|&a| egraph[a].data.konst).collect();
        if let Some(consts) = consts {
            let imm = super::lang::imm_from_bits(*op, *imm);
            if let Some(v) = eval_pure(*op, &imm, &consts) {
                if is_num(ty) {
                    return Facts::constant(ty, v);
                }
            }
        }
        if !matches!(ty, Type::I32 | Type::I64) {
            return Facts::unknown(ty);
        }
        let (zeros, ones) = known_bits(egraph, *op, args, ty);
        Facts {
            ty,
            konst: None,
            zeros: zeros | !type_mask(ty),
            ones: ones & type_mask(ty),
        }
    }

    fn merge(&mut self, a: &mut Facts, b: Facts) -> DidMerge {
        // Two classes with different constants are merged only by an unsound rule; the rule
        // property tests are where that is caught, so keep the first constant here.
        let before = *a;
        if a.konst.is_none() {
            a.konst = b.konst;
        }
        a.zeros |= b.zeros;
        a.ones |= b.ones;
        if let Some(c) = a.konst {
            a.zeros = !c | !type_mask(a.ty);
            a.ones = c;
        }
        // Contradictory bits (only after an unsound merge): forget them rather than lie.
        if a.zeros & a.ones != 0 {
            a.zeros = !type_mask(a.ty);
            a.ones = 0;
        }
        let changed_a = *a != before;
        let changed_b = *a != b;
        DidMerge(changed_a, changed_b)
    }

    fn modify(egraph: &mut Graph, id: Id) {
        let facts = egraph[id].data;
        if let Some(c) = facts.konst {
            if let Some(node) = Node::constant(facts.ty, c) {
                let k = egraph.add(node);
                egraph.union(id, k);
            }
        }
    }
}

fn is_num(ty: Type) -> bool {
    matches!(ty, Type::I32 | Type::I64 | Type::F32 | Type::F64)
}
