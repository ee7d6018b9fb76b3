//! SIMD operators in the IR (issue 16): which wasm SIMD or relaxed-SIMD operator a `simd`,
//! `simd.load` or `simd.store` instruction is, and the operand and result types of each.
//!
//! `SimdOp` is generated from wasmparser's operator list, so it has the same variants in the
//! same order as the interpreter's `SimdCode` (whose codes the back ends share with it):
//! `SimdOp as u16` is the `SimdCode` of the same operator. The mid-end treats every v128
//! value as opaque: SIMD instructions are never in the e-graph (their immediates are not in
//! its language) and no rule names them.

use crate::types::Type;

macro_rules! define_simd_ops {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        /// A wasm SIMD (or relaxed-SIMD) operator.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum SimdOp {
            $($op,)*
        }

        impl SimdOp {
            /// Every operator, in wasmparser's (and `SimdCode`'s) order.
            pub const ALL: &'static [SimdOp] = &[$(SimdOp::$op,)*];

            const VISITS: &'static [&'static str] = &[$(stringify!($visit),)*];
        }

        /// A SIMD operator with its immediates (the translator's view of a wasm operator).
        #[derive(Clone, Copy, Debug)]
        pub struct SimdOperator {
            pub op: SimdOp,
            pub memarg: Option<wasmparser::MemArg>,
            pub lane: Option<u8>,
            pub value: Option<[u8; 16]>,
            pub lanes: Option<[u8; 16]>,
        }

        /// The SIMD operator a wasm operator is, if it is one.
        pub fn simd_operator(op: &wasmparser::Operator<'_>) -> Option<SimdOperator> {
            #[allow(unused_mut)]
            match op {
                $(
                    wasmparser::Operator::$op $({ $($arg),* })? => {
                        let mut o = SimdOperator {
                            op: SimdOp::$op,
                            memarg: None,
                            lane: None,
                            value: None,
                            lanes: None,
                        };
                        $($(simd_imm!(o, $arg, $arg);)*)?
                        Some(o)
                    }
                )*
                _ => None,
            }
        }
    };
}

macro_rules! simd_imm {
    ($o:ident, memarg, $v:ident) => {
        $o.memarg = Some(*$v)
    };
    ($o:ident, lane, $v:ident) => {
        $o.lane = Some(*$v)
    };
    ($o:ident, value, $v:ident) => {
        $o.value = Some($v.bytes().to_owned())
    };
    ($o:ident, lanes, $v:ident) => {
        $o.lanes = Some(*$v)
    };
}

wasmparser::for_each_visit_simd_operator!(define_simd_ops);

/// How an operator uses its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdShape {
    /// `i32 -> v128` from `bytes` bytes of memory.
    Load {
        bytes: u8,
    },
    /// `i32 v128 -> v128`: one lane replaced from memory.
    LoadLane {
        bytes: u8,
    },
    /// `i32 v128 ->`: the vector (or one lane) stored.
    Store {
        bytes: u8,
    },
    /// `-> v128`.
    Const,
    /// `v128 v128 -> v128`, lanes as an immediate.
    Shuffle,
    /// `v128 -> scalar`.
    ExtractLane(Type),
    /// `v128 scalar -> v128`.
    ReplaceLane(Type),
    /// `scalar -> v128`.
    Splat(Type),
    /// `v128 -> i32` (any_true, all_true, bitmask).
    Test,
    /// `v128 i32 -> v128`.
    Shift,
    Unary,
    Binary,
    Ternary,
}

impl SimdOp {
    /// The wasm text name (`i32x4.add`).
    pub fn name(self) -> &'static str {
        use std::sync::OnceLock;
        static NAMES: OnceLock<Vec<String>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            SimdOp::VISITS
                .iter()
                .map(|v| v.trim_start_matches("visit_").replacen('_', ".", 1))
                .collect()
        });
        &names[self as usize]
    }

    /// Looks an operator up by its text name.
    pub fn from_name(name: &str) -> Option<SimdOp> {
        SimdOp::ALL.iter().copied().find(|o| o.name() == name)
    }

    /// The operator with code `c` (`SimdOp as u16`).
    pub fn from_u16(c: u16) -> Option<SimdOp> {
        SimdOp::ALL.get(c as usize).copied()
    }

    pub fn shape(self) -> SimdShape {
        use SimdOp::*;
        use SimdShape::*;
        match self {
            V128Load => Load { bytes: 16 },
            V128Load8x8S | V128Load8x8U | V128Load16x4S | V128Load16x4U | V128Load32x2S
            | V128Load32x2U | V128Load64Splat | V128Load64Zero => Load { bytes: 8 },
            V128Load32Splat | V128Load32Zero => Load { bytes: 4 },
            V128Load16Splat => Load { bytes: 2 },
            V128Load8Splat => Load { bytes: 1 },
            V128Load8Lane => LoadLane { bytes: 1 },
            V128Load16Lane => LoadLane { bytes: 2 },
            V128Load32Lane => LoadLane { bytes: 4 },
            V128Load64Lane => LoadLane { bytes: 8 },
            V128Store => Store { bytes: 16 },
            V128Store8Lane => Store { bytes: 1 },
            V128Store16Lane => Store { bytes: 2 },
            V128Store32Lane => Store { bytes: 4 },
            V128Store64Lane => Store { bytes: 8 },
            V128Const => Const,
            I8x16Shuffle => Shuffle,
            I8x16ExtractLaneS | I8x16ExtractLaneU | I16x8ExtractLaneS | I16x8ExtractLaneU
            | I32x4ExtractLane => ExtractLane(Type::I32),
            I64x2ExtractLane => ExtractLane(Type::I64),
            F32x4ExtractLane => ExtractLane(Type::F32),
            F64x2ExtractLane => ExtractLane(Type::F64),
            I8x16ReplaceLane | I16x8ReplaceLane | I32x4ReplaceLane => ReplaceLane(Type::I32),
            I64x2ReplaceLane => ReplaceLane(Type::I64),
            F32x4ReplaceLane => ReplaceLane(Type::F32),
            F64x2ReplaceLane => ReplaceLane(Type::F64),
            I8x16Splat | I16x8Splat | I32x4Splat => Splat(Type::I32),
            I64x2Splat => Splat(Type::I64),
            F32x4Splat => Splat(Type::F32),
            F64x2Splat => Splat(Type::F64),
            V128AnyTrue | I8x16AllTrue | I8x16Bitmask | I16x8AllTrue | I16x8Bitmask
            | I32x4AllTrue | I32x4Bitmask | I64x2AllTrue | I64x2Bitmask => Test,
            I8x16Shl | I8x16ShrS | I8x16ShrU | I16x8Shl | I16x8ShrS | I16x8ShrU | I32x4Shl
            | I32x4ShrS | I32x4ShrU | I64x2Shl | I64x2ShrS | I64x2ShrU => Shift,
            V128Bitselect
            | F32x4RelaxedMadd
            | F32x4RelaxedNmadd
            | F64x2RelaxedMadd
            | F64x2RelaxedNmadd
            | I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect
            | I32x4RelaxedDotI8x16I7x16AddS => Ternary,
            V128Not
            | I8x16Abs
            | I8x16Neg
            | I8x16Popcnt
            | I16x8Abs
            | I16x8Neg
            | I32x4Abs
            | I32x4Neg
            | I64x2Abs
            | I64x2Neg
            | F32x4Abs
            | F32x4Neg
            | F32x4Sqrt
            | F32x4Ceil
            | F32x4Floor
            | F32x4Trunc
            | F32x4Nearest
            | F64x2Abs
            | F64x2Neg
            | F64x2Sqrt
            | F64x2Ceil
            | F64x2Floor
            | F64x2Trunc
            | F64x2Nearest
            | I16x8ExtendLowI8x16S
            | I16x8ExtendHighI8x16S
            | I16x8ExtendLowI8x16U
            | I16x8ExtendHighI8x16U
            | I32x4ExtendLowI16x8S
            | I32x4ExtendHighI16x8S
            | I32x4ExtendLowI16x8U
            | I32x4ExtendHighI16x8U
            | I64x2ExtendLowI32x4S
            | I64x2ExtendHighI32x4S
            | I64x2ExtendLowI32x4U
            | I64x2ExtendHighI32x4U
            | I16x8ExtAddPairwiseI8x16S
            | I16x8ExtAddPairwiseI8x16U
            | I32x4ExtAddPairwiseI16x8S
            | I32x4ExtAddPairwiseI16x8U
            | I32x4TruncSatF32x4S
            | I32x4TruncSatF32x4U
            | F32x4ConvertI32x4S
            | F32x4ConvertI32x4U
            | I32x4TruncSatF64x2SZero
            | I32x4TruncSatF64x2UZero
            | F64x2ConvertLowI32x4S
            | F64x2ConvertLowI32x4U
            | F32x4DemoteF64x2Zero
            | F64x2PromoteLowF32x4
            | I32x4RelaxedTruncF32x4S
            | I32x4RelaxedTruncF32x4U
            | I32x4RelaxedTruncF64x2SZero
            | I32x4RelaxedTruncF64x2UZero => Unary,
            _ => Binary,
        }
    }

    /// Operand and result types.
    pub fn signature(self) -> (&'static [Type], &'static [Type]) {
        use Type::*;
        const V: &[Type] = &[V128];
        const VV: &[Type] = &[V128, V128];
        const VVV: &[Type] = &[V128, V128, V128];
        const NONE: &[Type] = &[];
        fn one(t: Type) -> &'static [Type] {
            match t {
                I32 => &[I32],
                I64 => &[I64],
                F32 => &[F32],
                _ => &[F64],
            }
        }
        fn with_v(t: Type) -> &'static [Type] {
            match t {
                I32 => &[V128, I32],
                I64 => &[V128, I64],
                F32 => &[V128, F32],
                _ => &[V128, F64],
            }
        }
        match self.shape() {
            SimdShape::Load { .. } => (&[I32], V),
            SimdShape::LoadLane { .. } => (&[I32, V128], V),
            SimdShape::Store { .. } => (&[I32, V128], NONE),
            SimdShape::Const => (NONE, V),
            SimdShape::Shuffle | SimdShape::Binary => (VV, V),
            SimdShape::ExtractLane(t) => (V, one(t)),
            SimdShape::ReplaceLane(t) => (with_v(t), V),
            SimdShape::Splat(t) => (one(t), V),
            SimdShape::Test => (V, &[I32]),
            SimdShape::Shift => (&[V128, I32], V),
            SimdShape::Unary => (V, V),
            SimdShape::Ternary => (VVV, V),
        }
    }

    /// Whether the operator takes a lane index immediate, and how many lanes there are.
    pub fn lane_count(self) -> Option<u8> {
        use SimdOp::*;
        Some(match self {
            I8x16ExtractLaneS | I8x16ExtractLaneU | I8x16ReplaceLane | V128Load8Lane
            | V128Store8Lane => 16,
            I16x8ExtractLaneS | I16x8ExtractLaneU | I16x8ReplaceLane | V128Load16Lane
            | V128Store16Lane => 8,
            I32x4ExtractLane | F32x4ExtractLane | I32x4ReplaceLane | F32x4ReplaceLane
            | V128Load32Lane | V128Store32Lane => 4,
            I64x2ExtractLane | F64x2ExtractLane | I64x2ReplaceLane | F64x2ReplaceLane
            | V128Load64Lane | V128Store64Lane => 2,
            _ => return None,
        })
    }

    /// A memory operator (`simd.load`/`simd.store`).
    pub fn is_memory(self) -> bool {
        matches!(
            self.shape(),
            SimdShape::Load { .. } | SimdShape::LoadLane { .. } | SimdShape::Store { .. }
        )
    }

    pub fn is_store(self) -> bool {
        matches!(self.shape(), SimdShape::Store { .. })
    }

    /// Bytes a memory operator accesses.
    pub fn access_bytes(self) -> Option<u8> {
        match self.shape() {
            SimdShape::Load { bytes }
            | SimdShape::LoadLane { bytes }
            | SimdShape::Store { bytes } => Some(bytes),
            _ => None,
        }
    }
}

impl std::fmt::Display for SimdOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_wasm_text_names_and_round_trip() {
        assert_eq!(SimdOp::I32x4Add.name(), "i32x4.add");
        assert_eq!(SimdOp::V128Load8x8S.name(), "v128.load8x8_s");
        assert_eq!(
            SimdOp::I16x8ExtAddPairwiseI8x16S.name(),
            "i16x8.extadd_pairwise_i8x16_s"
        );
        assert_eq!(SimdOp::F32x4RelaxedMadd.name(), "f32x4.relaxed_madd");
        for &op in SimdOp::ALL {
            assert_eq!(SimdOp::from_name(op.name()), Some(op));
            assert_eq!(SimdOp::from_u16(op as u16), Some(op));
        }
        assert!(SimdOp::ALL.len() > 250);
    }

    #[test]
    fn signatures_follow_shapes() {
        assert_eq!(
            SimdOp::I64x2ExtractLane.signature(),
            (&[Type::V128][..], &[Type::I64][..])
        );
        assert_eq!(SimdOp::V128Store.signature().1.len(), 0);
        assert_eq!(SimdOp::V128Load32Zero.access_bytes(), Some(4));
        assert_eq!(SimdOp::I32x4RelaxedDotI8x16I7x16AddS.signature().0.len(), 3);
        assert_eq!(SimdOp::F64x2ReplaceLane.lane_count(), Some(2));
    }
}
