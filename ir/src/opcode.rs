//! Every IR opcode, declared once as a table of rows (name, text name, kind, immediate,
//! operand types, result types) from which the enum and its queries are generated.
//!
//! Text names are wasm's where the operator is wasm's (`i32.add`, `f64.convert_i32_s`), so a
//! rule file or a filetest reads like the wasm it came from.
//!
//! Kinds (what the mid-end may do with an instruction):
//! - `Pure`: no side effect and cannot trap: may be moved, merged, removed if unused. Only
//!   these live in the e-graph.
//! - `MayTrap`: pure except that it can trap (integer division and remainder, float to int
//!   truncation): never speculated, never removed unless proven not to trap.
//! - `Load`/`Store`: linear-memory accesses (trap when out of bounds).
//! - `Effect`: everything else with an effect or a dependence on state: globals, tables,
//!   calls, `memory.size/grow`, bulk operations (runtime helpers), explicit trap checks,
//!   reads of the frame in OSR entries.
//! - `Terminator`: ends a block.

use crate::types::Type;

/// An operand or result type in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Exactly this type.
    T(Type),
    /// Decided by the instruction (its own result types, a global's or a table's type, the
    /// type of `select`'s operands); the verifier checks these against each other.
    Dyn,
}

/// What an instruction carries besides its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImmKind {
    None,
    /// An integer constant, or a float constant's bits.
    Const,
    /// A memory access: memory, offset, alignment, whether the bounds check remains.
    Mem,
    /// One index: a function, global, table, memory, data or element segment.
    Index,
    /// Two indices (`call_indirect`: type and table; copies: destination and source; inits:
    /// segment and destination).
    Pair,
    /// A trap code.
    Trap,
    /// A reference type (`ref.null`).
    Type,
    /// A value-stack cell of the frame (`osr.load`).
    Cell,
}

/// The effect class of an opcode (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pure,
    MayTrap,
    Load,
    Store,
    Effect,
    Terminator,
}

const I32: Ty = Ty::T(Type::I32);
const I64: Ty = Ty::T(Type::I64);
const F32: Ty = Ty::T(Type::F32);
const F64: Ty = Ty::T(Type::F64);
const FUNCREF: Ty = Ty::T(Type::FuncRef);
const DYN: Ty = Ty::Dyn;

macro_rules! opcodes {
    ($( $v:ident $text:literal $kind:ident $imm:ident [$($a:ident),*] [$($r:ident),*] $var:literal; )*) => {
        /// An IR opcode.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Opcode { $($v,)* }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$v,)*];

            /// The text name (`i32.add`).
            pub fn name(self) -> &'static str {
                match self { $(Opcode::$v => $text,)* }
            }

            pub fn kind(self) -> Kind {
                match self { $(Opcode::$v => Kind::$kind,)* }
            }

            pub fn imm_kind(self) -> ImmKind {
                match self { $(Opcode::$v => ImmKind::$imm,)* }
            }

            /// Operand types (for variadic opcodes, those before the variable part).
            pub fn args(self) -> &'static [Ty] {
                match self { $(Opcode::$v => &[$($a),*],)* }
            }

            /// Result types (empty for variadic results: calls).
            pub fn results(self) -> &'static [Ty] {
                match self { $(Opcode::$v => &[$($r),*],)* }
            }

            /// Whether operands (and, for calls, results) beyond `args` follow.
            pub fn is_variadic(self) -> bool {
                match self { $(Opcode::$v => $var,)* }
            }
        }
    };
}

opcodes! {
    // Constants.
    I32Const "i32.const" Pure Const [] [I32] false;
    I64Const "i64.const" Pure Const [] [I64] false;
    F32Const "f32.const" Pure Const [] [F32] false;
    F64Const "f64.const" Pure Const [] [F64] false;
    RefNull "ref.null" Pure Type [] [DYN] false;
    RefFunc "ref.func" Pure Index [] [FUNCREF] false;
    RefIsNull "ref.is_null" Pure None [DYN] [I32] false;
    Select "select" Pure None [DYN, DYN, I32] [DYN] false;

    // i32.
    I32Eqz "i32.eqz" Pure None [I32] [I32] false;
    I32Eq "i32.eq" Pure None [I32, I32] [I32] false;
    I32Ne "i32.ne" Pure None [I32, I32] [I32] false;
    I32LtS "i32.lt_s" Pure None [I32, I32] [I32] false;
    I32LtU "i32.lt_u" Pure None [I32, I32] [I32] false;
    I32GtS "i32.gt_s" Pure None [I32, I32] [I32] false;
    I32GtU "i32.gt_u" Pure None [I32, I32] [I32] false;
    I32LeS "i32.le_s" Pure None [I32, I32] [I32] false;
    I32LeU "i32.le_u" Pure None [I32, I32] [I32] false;
    I32GeS "i32.ge_s" Pure None [I32, I32] [I32] false;
    I32GeU "i32.ge_u" Pure None [I32, I32] [I32] false;
    I32Clz "i32.clz" Pure None [I32] [I32] false;
    I32Ctz "i32.ctz" Pure None [I32] [I32] false;
    I32Popcnt "i32.popcnt" Pure None [I32] [I32] false;
    I32Add "i32.add" Pure None [I32, I32] [I32] false;
    I32Sub "i32.sub" Pure None [I32, I32] [I32] false;
    I32Mul "i32.mul" Pure None [I32, I32] [I32] false;
    I32DivS "i32.div_s" MayTrap None [I32, I32] [I32] false;
    I32DivU "i32.div_u" MayTrap None [I32, I32] [I32] false;
    I32RemS "i32.rem_s" MayTrap None [I32, I32] [I32] false;
    I32RemU "i32.rem_u" MayTrap None [I32, I32] [I32] false;
    I32And "i32.and" Pure None [I32, I32] [I32] false;
    I32Or "i32.or" Pure None [I32, I32] [I32] false;
    I32Xor "i32.xor" Pure None [I32, I32] [I32] false;
    I32Shl "i32.shl" Pure None [I32, I32] [I32] false;
    I32ShrS "i32.shr_s" Pure None [I32, I32] [I32] false;
    I32ShrU "i32.shr_u" Pure None [I32, I32] [I32] false;
    I32Rotl "i32.rotl" Pure None [I32, I32] [I32] false;
    I32Rotr "i32.rotr" Pure None [I32, I32] [I32] false;
    I32Extend8S "i32.extend8_s" Pure None [I32] [I32] false;
    I32Extend16S "i32.extend16_s" Pure None [I32] [I32] false;

    // i64.
    I64Eqz "i64.eqz" Pure None [I64] [I32] false;
    I64Eq "i64.eq" Pure None [I64, I64] [I32] false;
    I64Ne "i64.ne" Pure None [I64, I64] [I32] false;
    I64LtS "i64.lt_s" Pure None [I64, I64] [I32] false;
    I64LtU "i64.lt_u" Pure None [I64, I64] [I32] false;
    I64GtS "i64.gt_s" Pure None [I64, I64] [I32] false;
    I64GtU "i64.gt_u" Pure None [I64, I64] [I32] false;
    I64LeS "i64.le_s" Pure None [I64, I64] [I32] false;
    I64LeU "i64.le_u" Pure None [I64, I64] [I32] false;
    I64GeS "i64.ge_s" Pure None [I64, I64] [I32] false;
    I64GeU "i64.ge_u" Pure None [I64, I64] [I32] false;
    I64Clz "i64.clz" Pure None [I64] [I64] false;
    I64Ctz "i64.ctz" Pure None [I64] [I64] false;
    I64Popcnt "i64.popcnt" Pure None [I64] [I64] false;
    I64Add "i64.add" Pure None [I64, I64] [I64] false;
    I64Sub "i64.sub" Pure None [I64, I64] [I64] false;
    I64Mul "i64.mul" Pure None [I64, I64] [I64] false;
    I64DivS "i64.div_s" MayTrap None [I64, I64] [I64] false;
    I64DivU "i64.div_u" MayTrap None [I64, I64] [I64] false;
    I64RemS "i64.rem_s" MayTrap None [I64, I64] [I64] false;
    I64RemU "i64.rem_u" MayTrap None [I64, I64] [I64] false;
    I64And "i64.and" Pure None [I64, I64] [I64] false;
    I64Or "i64.or" Pure None [I64, I64] [I64] false;
    I64Xor "i64.xor" Pure None [I64, I64] [I64] false;
    I64Shl "i64.shl" Pure None [I64, I64] [I64] false;
    I64ShrS "i64.shr_s" Pure None [I64, I64] [I64] false;
    I64ShrU "i64.shr_u" Pure None [I64, I64] [I64] false;
    I64Rotl "i64.rotl" Pure None [I64, I64] [I64] false;
    I64Rotr "i64.rotr" Pure None [I64, I64] [I64] false;
    I64Extend8S "i64.extend8_s" Pure None [I64] [I64] false;
    I64Extend16S "i64.extend16_s" Pure None [I64] [I64] false;
    I64Extend32S "i64.extend32_s" Pure None [I64] [I64] false;

    // f32.
    F32Eq "f32.eq" Pure None [F32, F32] [I32] false;
    F32Ne "f32.ne" Pure None [F32, F32] [I32] false;
    F32Lt "f32.lt" Pure None [F32, F32] [I32] false;
    F32Gt "f32.gt" Pure None [F32, F32] [I32] false;
    F32Le "f32.le" Pure None [F32, F32] [I32] false;
    F32Ge "f32.ge" Pure None [F32, F32] [I32] false;
    F32Abs "f32.abs" Pure None [F32] [F32] false;
    F32Neg "f32.neg" Pure None [F32] [F32] false;
    F32Ceil "f32.ceil" Pure None [F32] [F32] false;
    F32Floor "f32.floor" Pure None [F32] [F32] false;
    F32Trunc "f32.trunc" Pure None [F32] [F32] false;
    F32Nearest "f32.nearest" Pure None [F32] [F32] false;
    F32Sqrt "f32.sqrt" Pure None [F32] [F32] false;
    F32Add "f32.add" Pure None [F32, F32] [F32] false;
    F32Sub "f32.sub" Pure None [F32, F32] [F32] false;
    F32Mul "f32.mul" Pure None [F32, F32] [F32] false;
    F32Div "f32.div" Pure None [F32, F32] [F32] false;
    F32Min "f32.min" Pure None [F32, F32] [F32] false;
    F32Max "f32.max" Pure None [F32, F32] [F32] false;
    F32Copysign "f32.copysign" Pure None [F32, F32] [F32] false;

    // f64.
    F64Eq "f64.eq" Pure None [F64, F64] [I32] false;
    F64Ne "f64.ne" Pure None [F64, F64] [I32] false;
    F64Lt "f64.lt" Pure None [F64, F64] [I32] false;
    F64Gt "f64.gt" Pure None [F64, F64] [I32] false;
    F64Le "f64.le" Pure None [F64, F64] [I32] false;
    F64Ge "f64.ge" Pure None [F64, F64] [I32] false;
    F64Abs "f64.abs" Pure None [F64] [F64] false;
    F64Neg "f64.neg" Pure None [F64] [F64] false;
    F64Ceil "f64.ceil" Pure None [F64] [F64] false;
    F64Floor "f64.floor" Pure None [F64] [F64] false;
    F64Trunc "f64.trunc" Pure None [F64] [F64] false;
    F64Nearest "f64.nearest" Pure None [F64] [F64] false;
    F64Sqrt "f64.sqrt" Pure None [F64] [F64] false;
    F64Add "f64.add" Pure None [F64, F64] [F64] false;
    F64Sub "f64.sub" Pure None [F64, F64] [F64] false;
    F64Mul "f64.mul" Pure None [F64, F64] [F64] false;
    F64Div "f64.div" Pure None [F64, F64] [F64] false;
    F64Min "f64.min" Pure None [F64, F64] [F64] false;
    F64Max "f64.max" Pure None [F64, F64] [F64] false;
    F64Copysign "f64.copysign" Pure None [F64, F64] [F64] false;

    // Conversions.
    I32WrapI64 "i32.wrap_i64" Pure None [I64] [I32] false;
    I32TruncF32S "i32.trunc_f32_s" MayTrap None [F32] [I32] false;
    I32TruncF32U "i32.trunc_f32_u" MayTrap None [F32] [I32] false;
    I32TruncF64S "i32.trunc_f64_s" MayTrap None [F64] [I32] false;
    I32TruncF64U "i32.trunc_f64_u" MayTrap None [F64] [I32] false;
    I64ExtendI32S "i64.extend_i32_s" Pure None [I32] [I64] false;
    I64ExtendI32U "i64.extend_i32_u" Pure None [I32] [I64] false;
    I64TruncF32S "i64.trunc_f32_s" MayTrap None [F32] [I64] false;
    I64TruncF32U "i64.trunc_f32_u" MayTrap None [F32] [I64] false;
    I64TruncF64S "i64.trunc_f64_s" MayTrap None [F64] [I64] false;
    I64TruncF64U "i64.trunc_f64_u" MayTrap None [F64] [I64] false;
    F32ConvertI32S "f32.convert_i32_s" Pure None [I32] [F32] false;
    F32ConvertI32U "f32.convert_i32_u" Pure None [I32] [F32] false;
    F32ConvertI64S "f32.convert_i64_s" Pure None [I64] [F32] false;
    F32ConvertI64U "f32.convert_i64_u" Pure None [I64] [F32] false;
    F32DemoteF64 "f32.demote_f64" Pure None [F64] [F32] false;
    F64ConvertI32S "f64.convert_i32_s" Pure None [I32] [F64] false;
    F64ConvertI32U "f64.convert_i32_u" Pure None [I32] [F64] false;
    F64ConvertI64S "f64.convert_i64_s" Pure None [I64] [F64] false;
    F64ConvertI64U "f64.convert_i64_u" Pure None [I64] [F64] false;
    F64PromoteF32 "f64.promote_f32" Pure None [F32] [F64] false;
    I32ReinterpretF32 "i32.reinterpret_f32" Pure None [F32] [I32] false;
    I64ReinterpretF64 "i64.reinterpret_f64" Pure None [F64] [I64] false;
    F32ReinterpretI32 "f32.reinterpret_i32" Pure None [I32] [F32] false;
    F64ReinterpretI64 "f64.reinterpret_i64" Pure None [I64] [F64] false;
    I32TruncSatF32S "i32.trunc_sat_f32_s" Pure None [F32] [I32] false;
    I32TruncSatF32U "i32.trunc_sat_f32_u" Pure None [F32] [I32] false;
    I32TruncSatF64S "i32.trunc_sat_f64_s" Pure None [F64] [I32] false;
    I32TruncSatF64U "i32.trunc_sat_f64_u" Pure None [F64] [I32] false;
    I64TruncSatF32S "i64.trunc_sat_f32_s" Pure None [F32] [I64] false;
    I64TruncSatF32U "i64.trunc_sat_f32_u" Pure None [F32] [I64] false;
    I64TruncSatF64S "i64.trunc_sat_f64_s" Pure None [F64] [I64] false;
    I64TruncSatF64U "i64.trunc_sat_f64_u" Pure None [F64] [I64] false;

    // Linear memory: loads and stores (immediate: memory, offset, alignment, checked).
    I32Load "i32.load" Load Mem [I32] [I32] false;
    I64Load "i64.load" Load Mem [I32] [I64] false;
    F32Load "f32.load" Load Mem [I32] [F32] false;
    F64Load "f64.load" Load Mem [I32] [F64] false;
    I32Load8S "i32.load8_s" Load Mem [I32] [I32] false;
    I32Load8U "i32.load8_u" Load Mem [I32] [I32] false;
    I32Load16S "i32.load16_s" Load Mem [I32] [I32] false;
    I32Load16U "i32.load16_u" Load Mem [I32] [I32] false;
    I64Load8S "i64.load8_s" Load Mem [I32] [I64] false;
    I64Load8U "i64.load8_u" Load Mem [I32] [I64] false;
    I64Load16S "i64.load16_s" Load Mem [I32] [I64] false;
    I64Load16U "i64.load16_u" Load Mem [I32] [I64] false;
    I64Load32S "i64.load32_s" Load Mem [I32] [I64] false;
    I64Load32U "i64.load32_u" Load Mem [I32] [I64] false;
    I32Store "i32.store" Store Mem [I32, I32] [] false;
    I64Store "i64.store" Store Mem [I32, I64] [] false;
    F32Store "f32.store" Store Mem [I32, F32] [] false;
    F64Store "f64.store" Store Mem [I32, F64] [] false;
    I32Store8 "i32.store8" Store Mem [I32, I32] [] false;
    I32Store16 "i32.store16" Store Mem [I32, I32] [] false;
    I64Store8 "i64.store8" Store Mem [I32, I64] [] false;
    I64Store16 "i64.store16" Store Mem [I32, I64] [] false;
    I64Store32 "i64.store32" Store Mem [I32, I64] [] false;

    // Memory, table and segment operations (runtime helpers).
    MemorySize "memory.size" Effect Index [] [I32] false;
    MemoryGrow "memory.grow" Effect Index [I32] [I32] false;
    MemoryFill "memory.fill" Effect Index [I32, I32, I32] [] false;
    MemoryCopy "memory.copy" Effect Pair [I32, I32, I32] [] false;
    MemoryInit "memory.init" Effect Pair [I32, I32, I32] [] false;
    DataDrop "data.drop" Effect Index [] [] false;
    TableGet "table.get" Effect Index [I32] [DYN] false;
    TableSet "table.set" Effect Index [I32, DYN] [] false;
    TableSize "table.size" Effect Index [] [I32] false;
    TableGrow "table.grow" Effect Index [DYN, I32] [I32] false;
    TableFill "table.fill" Effect Index [I32, DYN, I32] [] false;
    TableCopy "table.copy" Effect Pair [I32, I32, I32] [] false;
    TableInit "table.init" Effect Pair [I32, I32, I32] [] false;
    ElemDrop "elem.drop" Effect Index [] [] false;

    // Globals.
    GlobalGet "global.get" Effect Index [] [DYN] false;
    GlobalSet "global.set" Effect Index [DYN] [] false;

    // Calls: a defined function, an imported one, through a table (the last operand is the
    // table index).
    Call "call" Effect Index [] [] true;
    CallImport "call_import" Effect Index [] [] true;
    CallIndirect "call_indirect" Effect Pair [] [] true;

    // Explicit trap checks: trap with the code when the operand is zero / not zero.
    Trapz "trapz" Effect Trap [I32] [] false;
    Trapnz "trapnz" Effect Trap [I32] [] false;

    // OSR entries read the frame's cells (locals, then operand-stack positions).
    OsrLoad "osr.load" Effect Cell [] [DYN] false;

    // Terminators.
    Jump "jump" Terminator None [] [] false;
    Brif "brif" Terminator None [I32] [] false;
    BrTable "br_table" Terminator None [I32] [] false;
    Return "return" Terminator None [] [] true;
    Trap "trap" Terminator Trap [] [] false;
}

impl Opcode {
    /// The opcode with this text name.
    pub fn from_name(name: &str) -> Option<Opcode> {
        use std::collections::HashMap;
        use std::sync::OnceLock;
        static BY_NAME: OnceLock<HashMap<&'static str, Opcode>> = OnceLock::new();
        BY_NAME
            .get_or_init(|| Opcode::ALL.iter().map(|&o| (o.name(), o)).collect())
            .get(name)
            .copied()
    }

    pub fn is_pure(self) -> bool {
        self.kind() == Kind::Pure
    }

    /// Whether an unused result lets the instruction go: pure operators, and reads with no
    /// effect and no trap (of globals, sizes, the frame in OSR entries).
    pub fn is_removable_if_unused(self) -> bool {
        self.is_pure()
            || matches!(
                self,
                Opcode::GlobalGet | Opcode::MemorySize | Opcode::TableSize | Opcode::OsrLoad
            )
    }

    pub fn is_terminator(self) -> bool {
        self.kind() == Kind::Terminator
    }

    /// Constants: their value is the immediate.
    pub fn is_const(self) -> bool {
        matches!(
            self,
            Opcode::I32Const | Opcode::I64Const | Opcode::F32Const | Opcode::F64Const
        )
    }

    /// Bytes a load or store accesses.
    pub fn access_bytes(self) -> Option<u32> {
        use Opcode::*;
        Some(match self {
            I32Load8S | I32Load8U | I64Load8S | I64Load8U | I32Store8 | I64Store8 => 1,
            I32Load16S | I32Load16U | I64Load16S | I64Load16U | I32Store16 | I64Store16 => 2,
            I32Load | F32Load | I64Load32S | I64Load32U | I32Store | F32Store | I64Store32 => 4,
            I64Load | F64Load | I64Store | F64Store => 8,
            _ => return None,
        })
    }

    /// The constant opcode of a type, if it has one.
    pub fn const_of(ty: Type) -> Option<Opcode> {
        Some(match ty {
            Type::I32 => Opcode::I32Const,
            Type::I64 => Opcode::I64Const,
            Type::F32 => Opcode::F32Const,
            Type::F64 => Opcode::F64Const,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_name(op.name()), Some(op), "{op:?}");
        }
        let mut names: Vec<_> = Opcode::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Opcode::ALL.len());
    }

    #[test]
    fn loads_and_stores_have_widths() {
        for &op in Opcode::ALL {
            let mem = matches!(op.kind(), Kind::Load | Kind::Store);
            assert_eq!(op.access_bytes().is_some(), mem, "{op:?}");
            assert_eq!(op.imm_kind() == ImmKind::Mem, mem, "{op:?}");
        }
    }
}
