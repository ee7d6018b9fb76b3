//! The e-graph's language: the IR's pure opcodes, plus opaque leaves for every value the
//! e-graph does not own (block parameters and results of skeleton instructions).

use crate::function::Imm;
use crate::opcode::{Class, Opcode};
use crate::types::Type;
use crate::Value;
use egg::Id;
use smallvec::SmallVec;
use std::fmt;

/// One e-node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// A pure instruction. `imm` is the immediate as bits: the constant of `*.const`, the
    /// reference type of `ref.null` ([`type_code`]), the function of `ref.func`; 0 otherwise.
    Op {
        op: Opcode,
        imm: u64,
        args: SmallVec<[Id; 3]>,
    },
    /// A value defined outside the e-graph, with its type.
    Opaque(Value, OpaqueType),
}

impl Node {
    pub fn op(op: Opcode, imm: u64, args: &[Id]) -> Node {
        Node::Op {
            op,
            imm,
            args: args.into(),
        }
    }

    /// A constant node of a numeric type.
    pub fn constant(ty: Type, bits: u64) -> Option<Node> {
        let op = match ty {
            Type::I32 => Opcode::I32Const,
            Type::I64 => Opcode::I64Const,
            Type::F32 => Opcode::F32Const,
            Type::F64 => Opcode::F64Const,
            _ => return None,
        };
        Some(Node::op(op, bits & type_mask(ty), &[]))
    }

    /// The constant's bits, for a `*.const` node.
    pub fn as_const(&self) -> Option<u64> {
        match self {
            Node::Op { op, imm, .. } if is_const_op(*op) => Some(*imm),
            _ => None,
        }
    }

    /// The instruction immediate this node stands for.
    pub fn imm(&self) -> Imm {
        match self {
            Node::Op { op, imm, .. } => imm_from_bits(*op, *imm),
            Node::Opaque(..) => Imm::None,
        }
    }
}

/// A value type, ordered (the language must be `Ord`; `ValType` is not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpaqueType(pub u8);

impl OpaqueType {
    pub fn new(t: Type) -> Self {
        OpaqueType(type_code(t) as u8)
    }
    pub fn get(self) -> Type {
        type_from_code(u64::from(self.0))
    }
}

/// Whether an opcode may live in the e-graph: pure, one result.
pub fn in_egraph(op: Opcode) -> bool {
    op.class() == Class::Pure
}

pub fn is_const_op(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::I32Const | Opcode::I64Const | Opcode::F32Const | Opcode::F64Const
    )
}

/// The bits of a pure instruction's immediate (see [`Node::Op`]); `None` for an immediate
/// the language does not carry.
pub fn imm_bits(op: Opcode, imm: &Imm) -> Option<u64> {
    Some(match (op, imm) {
        (Opcode::I32Const, Imm::I32(v)) => u64::from(*v as u32),
        (Opcode::I64Const, Imm::I64(v)) => *v as u64,
        (Opcode::F32Const, Imm::F32(v)) => u64::from(*v),
        (Opcode::F64Const, Imm::F64(v)) => *v,
        (Opcode::RefNull, Imm::Type(t)) => type_code(*t),
        (Opcode::RefFunc, Imm::Index(i)) => u64::from(*i),
        (_, Imm::None) => 0,
        _ => return None,
    })
}

pub fn imm_from_bits(op: Opcode, bits: u64) -> Imm {
    match op {
        Opcode::I32Const => Imm::I32(bits as u32 as i32),
        Opcode::I64Const => Imm::I64(bits as i64),
        Opcode::F32Const => Imm::F32(bits as u32),
        Opcode::F64Const => Imm::F64(bits),
        Opcode::RefNull => Imm::Type(type_from_code(bits)),
        Opcode::RefFunc => Imm::Index(bits as u32),
        _ => Imm::None,
    }
}

/// A reference type as an immediate's bits.
pub fn type_code(t: Type) -> u64 {
    crate::types::ALL_TYPES
        .iter()
        .position(|&x| x == t)
        .unwrap_or(0) as u64
}

pub fn type_from_code(c: u64) -> Type {
    crate::types::ALL_TYPES
        .get(c as usize)
        .copied()
        .unwrap_or(Type::FuncRef)
}

/// The bits a value of this type occupies in the evaluator's `u64` encoding.
pub fn type_mask(ty: Type) -> u64 {
    match ty {
        Type::I32 | Type::F32 => u32::MAX as u64,
        _ => u64::MAX,
    }
}

/// Width in bits of an integer type (shift counts are taken modulo it).
pub fn int_width(ty: Type) -> Option<u32> {
    match ty {
        Type::I32 => Some(32),
        Type::I64 => Some(64),
        _ => None,
    }
}

impl egg::Language for Node {
    type Discriminant = (Opcode, u64, usize, Option<Value>);

    fn discriminant(&self) -> Self::Discriminant {
        match self {
            Node::Op { op, imm, args } => (*op, *imm, args.len(), None),
            Node::Opaque(v, _) => (Opcode::I32Const, 0, 0, Some(*v)),
        }
    }

    fn matches(&self, other: &Self) -> bool {
        self.discriminant() == other.discriminant()
    }

    fn children(&self) -> &[Id] {
        match self {
            Node::Op { args, .. } => args,
            Node::Opaque(..) => &[],
        }
    }

    fn children_mut(&mut self) -> &mut [Id] {
        match self {
            Node::Op { args, .. } => args,
            Node::Opaque(..) => &mut [],
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Op { op, imm, .. } if is_const_op(*op) => write!(f, "{op}:{imm:#x}"),
            Node::Op { op, .. } => write!(f, "{op}"),
            Node::Opaque(v, _) => write!(f, "{v}"),
        }
    }
}
