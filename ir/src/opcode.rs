//! The opcode table: every IR instruction, written once as data.
//!
//! One row per opcode: the Rust variant, the text name (wasm's own name where the opcode is a
//! wasm operator), the immediate format, the effect class, the trap codes it can raise, and
//! its signature (`(params => results)`, or `(*)` when the types come from an immediate or the
//! module: calls, globals, tables, `select`, branches). Everything else (the `Opcode` enum,
//! `name`, `from_name`, `signature`, `class`, `traps`, `format`) is generated from it.

use crate::types::Type;
use strata_vm::TrapCode;

/// What an instruction's immediates are (and how the text form writes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// No immediate.
    Nullary,
    ConstI32,
    ConstI64,
    /// f32 constant, as its bits.
    ConstF32,
    /// f64 constant, as its bits.
    ConstF64,
    /// A reference type (`ref.null`).
    RefType,
    /// A function index (`ref.func`).
    FuncIndex,
    /// A memory access: `MemArg`.
    Memory,
    /// A memory index.
    MemIndex,
    /// Destination and source memory.
    MemCopy,
    /// Data segment and memory.
    MemInit,
    /// A data segment.
    DataIndex,
    /// A global index.
    Global,
    /// A table index.
    Table,
    /// Destination and source table.
    TableCopy,
    /// Element segment and table.
    TableInit,
    /// An element segment.
    ElemIndex,
    /// A callee function index.
    Call,
    /// Type index and table index; the callee's table index is the last argument.
    CallIndirect,
    /// A type index; the callee (a function reference) is the last argument.
    CallRef,
    /// A trap code.
    Trap,
    /// A frame cell index (`osr.load_cell`).
    Cell,
    /// One successor with arguments.
    Jump,
    /// Condition, then two successors.
    BrIf,
    /// Index, then the targets and the default (last).
    BrTable,
    /// The returned values.
    Return,
    /// A v128 constant (`Imm::V128`).
    ConstV128,
    /// A SIMD operator and lane (`Imm::Simd`).
    Simd,
    /// Shuffle lanes (`Imm::V128`).
    Shuffle,
    /// A SIMD memory operator, its access and lane (`Imm::SimdMem`).
    SimdMem,
    /// A call or throw inside a try body: what is called or thrown, then the targets
    /// (`Imm::Invoke`).
    Invoke,
    /// A landing block's caught values: the clause's tag (`u32::MAX`: any) and whether it
    /// keeps the `exnref` (`Imm::Index2`).
    Landing,
}

/// How an instruction interacts with the rest of the program: what an optimizer may do to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// No side effect, cannot trap: free to fold, hash-cons, move, or delete when unused.
    Pure,
    /// No side effect but may trap (with the row's codes): may be deleted only when proven
    /// not to trap; never moved across other effects.
    Trapping,
    /// Reads state that writes or calls may change (memory, globals, tables); may trap.
    Read,
    /// Writes state; may trap.
    Write,
    /// A call: may do anything, including trap with any code. Besides wasm calls this
    /// covers the operations the back end lowers to runtime-helper calls (`memory.grow`,
    /// bulk memory and table operations, `table.grow`, segment drops): passes treat them
    /// as calls (clobbers, safepoints, memory size may change).
    Call,
    /// Ends a block.
    Terminator,
}

/// Operand and result types of an opcode with a fixed signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub params: &'static [Type],
    pub results: &'static [Type],
}

macro_rules! signature {
    (*) => {
        None
    };
    ($($p:ident)* => $($r:ident)*) => {
        Some(Signature {
            params: &[$(Type::$p),*],
            results: &[$(Type::$r),*],
        })
    };
}

macro_rules! opcodes {
    ($($var:ident $name:literal $fmt:ident $class:ident [$($trap:ident),*] ($($sig:tt)*);)*) => {
        /// An IR opcode. See the table in `opcode.rs`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Opcode {
            $($var,)*
        }

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$var,)*];

            /// The text name (`i32.add`, `f64.convert_i32_s`, `br_if`...).
            pub fn name(self) -> &'static str {
                const NAMES: &[&str] = &[$($name,)*];
                NAMES[self as usize]
            }

            pub fn format(self) -> Format {
                const FORMATS: &[Format] = &[$(Format::$fmt,)*];
                FORMATS[self as usize]
            }

            pub fn class(self) -> Class {
                const CLASSES: &[Class] = &[$(Class::$class,)*];
                CLASSES[self as usize]
            }

            /// The trap codes this opcode can raise by itself (`trap`/`trapz`/`trapnz` carry
            /// theirs as an immediate; calls can raise anything their callee raises).
            pub fn traps(self) -> &'static [TrapCode] {
                const TRAPS: &[&[TrapCode]] = &[$(&[$(TrapCode::$trap),*],)*];
                TRAPS[self as usize]
            }

            /// Operand and result types, or `None` when they depend on an immediate or on
            /// the module (checked by the verifier case by case).
            pub fn signature(self) -> Option<Signature> {
                match self {
                    $(Opcode::$var => signature!($($sig)*),)*
                }
            }
        }
    };
}

#[rustfmt::skip]
opcodes! {
    I32Const          "i32.const"           ConstI32     Pure       []                                                   ( => I32);
    I64Const          "i64.const"           ConstI64     Pure       []                                                   ( => I64);
    F32Const          "f32.const"           ConstF32     Pure       []                                                   ( => F32);
    F64Const          "f64.const"           ConstF64     Pure       []                                                   ( => F64);
    RefNull           "ref.null"            RefType      Pure       []                                                   (*);
    RefFunc           "ref.func"            FuncIndex    Pure       []                                                   ( => FuncRef);
    RefIsNull         "ref.is_null"         Nullary      Pure       []                                                   (*);
    Select            "select"              Nullary      Pure       []                                                   (*);
    I32Eqz            "i32.eqz"             Nullary      Pure       []                                                   (I32 => I32);
    I32Clz            "i32.clz"             Nullary      Pure       []                                                   (I32 => I32);
    I32Ctz            "i32.ctz"             Nullary      Pure       []                                                   (I32 => I32);
    I32Popcnt         "i32.popcnt"          Nullary      Pure       []                                                   (I32 => I32);
    I32Extend8S       "i32.extend8_s"       Nullary      Pure       []                                                   (I32 => I32);
    I32Extend16S      "i32.extend16_s"      Nullary      Pure       []                                                   (I32 => I32);
    I32Add            "i32.add"             Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Sub            "i32.sub"             Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Mul            "i32.mul"             Nullary      Pure       []                                                   (I32 I32 => I32);
    I32And            "i32.and"             Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Or             "i32.or"              Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Xor            "i32.xor"             Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Shl            "i32.shl"             Nullary      Pure       []                                                   (I32 I32 => I32);
    I32ShrS           "i32.shr_s"           Nullary      Pure       []                                                   (I32 I32 => I32);
    I32ShrU           "i32.shr_u"           Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Rotl           "i32.rotl"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Rotr           "i32.rotr"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32DivS           "i32.div_s"           Nullary      Trapping   [IntegerDivisionByZero, IntegerOverflow]             (I32 I32 => I32);
    I32DivU           "i32.div_u"           Nullary      Trapping   [IntegerDivisionByZero]                              (I32 I32 => I32);
    I32RemS           "i32.rem_s"           Nullary      Trapping   [IntegerDivisionByZero]                              (I32 I32 => I32);
    I32RemU           "i32.rem_u"           Nullary      Trapping   [IntegerDivisionByZero]                              (I32 I32 => I32);
    I32Eq             "i32.eq"              Nullary      Pure       []                                                   (I32 I32 => I32);
    I32Ne             "i32.ne"              Nullary      Pure       []                                                   (I32 I32 => I32);
    I32LtS            "i32.lt_s"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32LtU            "i32.lt_u"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32GtS            "i32.gt_s"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32GtU            "i32.gt_u"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32LeS            "i32.le_s"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32LeU            "i32.le_u"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32GeS            "i32.ge_s"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I32GeU            "i32.ge_u"            Nullary      Pure       []                                                   (I32 I32 => I32);
    I64Eqz            "i64.eqz"             Nullary      Pure       []                                                   (I64 => I32);
    I64Clz            "i64.clz"             Nullary      Pure       []                                                   (I64 => I64);
    I64Ctz            "i64.ctz"             Nullary      Pure       []                                                   (I64 => I64);
    I64Popcnt         "i64.popcnt"          Nullary      Pure       []                                                   (I64 => I64);
    I64Extend8S       "i64.extend8_s"       Nullary      Pure       []                                                   (I64 => I64);
    I64Extend16S      "i64.extend16_s"      Nullary      Pure       []                                                   (I64 => I64);
    I64Extend32S      "i64.extend32_s"      Nullary      Pure       []                                                   (I64 => I64);
    I64Add            "i64.add"             Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Sub            "i64.sub"             Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Mul            "i64.mul"             Nullary      Pure       []                                                   (I64 I64 => I64);
    I64And            "i64.and"             Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Or             "i64.or"              Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Xor            "i64.xor"             Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Shl            "i64.shl"             Nullary      Pure       []                                                   (I64 I64 => I64);
    I64ShrS           "i64.shr_s"           Nullary      Pure       []                                                   (I64 I64 => I64);
    I64ShrU           "i64.shr_u"           Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Rotl           "i64.rotl"            Nullary      Pure       []                                                   (I64 I64 => I64);
    I64Rotr           "i64.rotr"            Nullary      Pure       []                                                   (I64 I64 => I64);
    I64DivS           "i64.div_s"           Nullary      Trapping   [IntegerDivisionByZero, IntegerOverflow]             (I64 I64 => I64);
    I64DivU           "i64.div_u"           Nullary      Trapping   [IntegerDivisionByZero]                              (I64 I64 => I64);
    I64RemS           "i64.rem_s"           Nullary      Trapping   [IntegerDivisionByZero]                              (I64 I64 => I64);
    I64RemU           "i64.rem_u"           Nullary      Trapping   [IntegerDivisionByZero]                              (I64 I64 => I64);
    I64Eq             "i64.eq"              Nullary      Pure       []                                                   (I64 I64 => I32);
    I64Ne             "i64.ne"              Nullary      Pure       []                                                   (I64 I64 => I32);
    I64LtS            "i64.lt_s"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64LtU            "i64.lt_u"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64GtS            "i64.gt_s"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64GtU            "i64.gt_u"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64LeS            "i64.le_s"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64LeU            "i64.le_u"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64GeS            "i64.ge_s"            Nullary      Pure       []                                                   (I64 I64 => I32);
    I64GeU            "i64.ge_u"            Nullary      Pure       []                                                   (I64 I64 => I32);
    F32Abs            "f32.abs"             Nullary      Pure       []                                                   (F32 => F32);
    F32Neg            "f32.neg"             Nullary      Pure       []                                                   (F32 => F32);
    F32Ceil           "f32.ceil"            Nullary      Pure       []                                                   (F32 => F32);
    F32Floor          "f32.floor"           Nullary      Pure       []                                                   (F32 => F32);
    F32Trunc          "f32.trunc"           Nullary      Pure       []                                                   (F32 => F32);
    F32Nearest        "f32.nearest"         Nullary      Pure       []                                                   (F32 => F32);
    F32Sqrt           "f32.sqrt"            Nullary      Pure       []                                                   (F32 => F32);
    F32Add            "f32.add"             Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Sub            "f32.sub"             Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Mul            "f32.mul"             Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Div            "f32.div"             Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Min            "f32.min"             Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Max            "f32.max"             Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Copysign       "f32.copysign"        Nullary      Pure       []                                                   (F32 F32 => F32);
    F32Eq             "f32.eq"              Nullary      Pure       []                                                   (F32 F32 => I32);
    F32Ne             "f32.ne"              Nullary      Pure       []                                                   (F32 F32 => I32);
    F32Lt             "f32.lt"              Nullary      Pure       []                                                   (F32 F32 => I32);
    F32Gt             "f32.gt"              Nullary      Pure       []                                                   (F32 F32 => I32);
    F32Le             "f32.le"              Nullary      Pure       []                                                   (F32 F32 => I32);
    F32Ge             "f32.ge"              Nullary      Pure       []                                                   (F32 F32 => I32);
    F64Abs            "f64.abs"             Nullary      Pure       []                                                   (F64 => F64);
    F64Neg            "f64.neg"             Nullary      Pure       []                                                   (F64 => F64);
    F64Ceil           "f64.ceil"            Nullary      Pure       []                                                   (F64 => F64);
    F64Floor          "f64.floor"           Nullary      Pure       []                                                   (F64 => F64);
    F64Trunc          "f64.trunc"           Nullary      Pure       []                                                   (F64 => F64);
    F64Nearest        "f64.nearest"         Nullary      Pure       []                                                   (F64 => F64);
    F64Sqrt           "f64.sqrt"            Nullary      Pure       []                                                   (F64 => F64);
    F64Add            "f64.add"             Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Sub            "f64.sub"             Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Mul            "f64.mul"             Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Div            "f64.div"             Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Min            "f64.min"             Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Max            "f64.max"             Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Copysign       "f64.copysign"        Nullary      Pure       []                                                   (F64 F64 => F64);
    F64Eq             "f64.eq"              Nullary      Pure       []                                                   (F64 F64 => I32);
    F64Ne             "f64.ne"              Nullary      Pure       []                                                   (F64 F64 => I32);
    F64Lt             "f64.lt"              Nullary      Pure       []                                                   (F64 F64 => I32);
    F64Gt             "f64.gt"              Nullary      Pure       []                                                   (F64 F64 => I32);
    F64Le             "f64.le"              Nullary      Pure       []                                                   (F64 F64 => I32);
    F64Ge             "f64.ge"              Nullary      Pure       []                                                   (F64 F64 => I32);
    I32WrapI64        "i32.wrap_i64"        Nullary      Pure       []                                                   (I64 => I32);
    I32TruncF32S      "i32.trunc_f32_s"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F32 => I32);
    I32TruncF32U      "i32.trunc_f32_u"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F32 => I32);
    I32TruncF64S      "i32.trunc_f64_s"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F64 => I32);
    I32TruncF64U      "i32.trunc_f64_u"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F64 => I32);
    I64TruncF32S      "i64.trunc_f32_s"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F32 => I64);
    I64TruncF32U      "i64.trunc_f32_u"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F32 => I64);
    I64TruncF64S      "i64.trunc_f64_s"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F64 => I64);
    I64TruncF64U      "i64.trunc_f64_u"     Nullary      Trapping   [IntegerOverflow, BadConversionToInteger]            (F64 => I64);
    I64ExtendI32S     "i64.extend_i32_s"    Nullary      Pure       []                                                   (I32 => I64);
    I64ExtendI32U     "i64.extend_i32_u"    Nullary      Pure       []                                                   (I32 => I64);
    F32ConvertI32S    "f32.convert_i32_s"   Nullary      Pure       []                                                   (I32 => F32);
    F32ConvertI32U    "f32.convert_i32_u"   Nullary      Pure       []                                                   (I32 => F32);
    F32ConvertI64S    "f32.convert_i64_s"   Nullary      Pure       []                                                   (I64 => F32);
    F32ConvertI64U    "f32.convert_i64_u"   Nullary      Pure       []                                                   (I64 => F32);
    F64ConvertI32S    "f64.convert_i32_s"   Nullary      Pure       []                                                   (I32 => F64);
    F64ConvertI32U    "f64.convert_i32_u"   Nullary      Pure       []                                                   (I32 => F64);
    F64ConvertI64S    "f64.convert_i64_s"   Nullary      Pure       []                                                   (I64 => F64);
    F64ConvertI64U    "f64.convert_i64_u"   Nullary      Pure       []                                                   (I64 => F64);
    F32DemoteF64      "f32.demote_f64"      Nullary      Pure       []                                                   (F64 => F32);
    F64PromoteF32     "f64.promote_f32"     Nullary      Pure       []                                                   (F32 => F64);
    I32ReinterpretF32 "i32.reinterpret_f32" Nullary      Pure       []                                                   (F32 => I32);
    I64ReinterpretF64 "i64.reinterpret_f64" Nullary      Pure       []                                                   (F64 => I64);
    F32ReinterpretI32 "f32.reinterpret_i32" Nullary      Pure       []                                                   (I32 => F32);
    F64ReinterpretI64 "f64.reinterpret_i64" Nullary      Pure       []                                                   (I64 => F64);
    I32TruncSatF32S   "i32.trunc_sat_f32_s" Nullary      Pure       []                                                   (F32 => I32);
    I32TruncSatF32U   "i32.trunc_sat_f32_u" Nullary      Pure       []                                                   (F32 => I32);
    I32TruncSatF64S   "i32.trunc_sat_f64_s" Nullary      Pure       []                                                   (F64 => I32);
    I32TruncSatF64U   "i32.trunc_sat_f64_u" Nullary      Pure       []                                                   (F64 => I32);
    I64TruncSatF32S   "i64.trunc_sat_f32_s" Nullary      Pure       []                                                   (F32 => I64);
    I64TruncSatF32U   "i64.trunc_sat_f32_u" Nullary      Pure       []                                                   (F32 => I64);
    I64TruncSatF64S   "i64.trunc_sat_f64_s" Nullary      Pure       []                                                   (F64 => I64);
    I64TruncSatF64U   "i64.trunc_sat_f64_u" Nullary      Pure       []                                                   (F64 => I64);
    I32Load           "i32.load"            Memory       Read       [MemoryOutOfBounds]                                  (I32 => I32);
    I64Load           "i64.load"            Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    F32Load           "f32.load"            Memory       Read       [MemoryOutOfBounds]                                  (I32 => F32);
    F64Load           "f64.load"            Memory       Read       [MemoryOutOfBounds]                                  (I32 => F64);
    I32Load8S         "i32.load8_s"         Memory       Read       [MemoryOutOfBounds]                                  (I32 => I32);
    I32Load8U         "i32.load8_u"         Memory       Read       [MemoryOutOfBounds]                                  (I32 => I32);
    I32Load16S        "i32.load16_s"        Memory       Read       [MemoryOutOfBounds]                                  (I32 => I32);
    I32Load16U        "i32.load16_u"        Memory       Read       [MemoryOutOfBounds]                                  (I32 => I32);
    I64Load8S         "i64.load8_s"         Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    I64Load8U         "i64.load8_u"         Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    I64Load16S        "i64.load16_s"        Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    I64Load16U        "i64.load16_u"        Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    I64Load32S        "i64.load32_s"        Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    I64Load32U        "i64.load32_u"        Memory       Read       [MemoryOutOfBounds]                                  (I32 => I64);
    I32Store          "i32.store"           Memory       Write      [MemoryOutOfBounds]                                  (I32 I32 => );
    I64Store          "i64.store"           Memory       Write      [MemoryOutOfBounds]                                  (I32 I64 => );
    F32Store          "f32.store"           Memory       Write      [MemoryOutOfBounds]                                  (I32 F32 => );
    F64Store          "f64.store"           Memory       Write      [MemoryOutOfBounds]                                  (I32 F64 => );
    I32Store8         "i32.store8"          Memory       Write      [MemoryOutOfBounds]                                  (I32 I32 => );
    I32Store16        "i32.store16"         Memory       Write      [MemoryOutOfBounds]                                  (I32 I32 => );
    I64Store8         "i64.store8"          Memory       Write      [MemoryOutOfBounds]                                  (I32 I64 => );
    I64Store16        "i64.store16"         Memory       Write      [MemoryOutOfBounds]                                  (I32 I64 => );
    I64Store32        "i64.store32"         Memory       Write      [MemoryOutOfBounds]                                  (I32 I64 => );
    MemorySize        "memory.size"         MemIndex     Read       []                                                   (*);
    MemoryGrow        "memory.grow"         MemIndex     Call       []                                                   (*);
    MemoryFill        "memory.fill"         MemIndex     Call       [MemoryOutOfBounds]                                  (I32 I32 I32 => );
    MemoryCopy        "memory.copy"         MemCopy      Call       [MemoryOutOfBounds]                                  (I32 I32 I32 => );
    MemoryInit        "memory.init"         MemInit      Call       [MemoryOutOfBounds]                                  (I32 I32 I32 => );
    DataDrop          "data.drop"           DataIndex    Call       []                                                   ( => );
    GlobalGet         "global.get"          Global       Read       []                                                   (*);
    GlobalSet         "global.set"          Global       Write      []                                                   (*);
    TableGet          "table.get"           Table        Read       [TableOutOfBounds]                                   (*);
    TableSet          "table.set"           Table        Write      [TableOutOfBounds]                                   (*);
    TableSize         "table.size"          Table        Read       []                                                   (*);
    TableGrow         "table.grow"          Table        Call       []                                                   (*);
    TableFill         "table.fill"          Table        Call       [TableOutOfBounds]                                   (*);
    TableCopy         "table.copy"          TableCopy    Call       [TableOutOfBounds]                                   (I32 I32 I32 => );
    TableInit         "table.init"          TableInit    Call       [TableOutOfBounds]                                   (I32 I32 I32 => );
    ElemDrop          "elem.drop"           ElemIndex    Call       []                                                   ( => );
    Call              "call"                Call         Call       []                                                   (*);
    CallImport        "call_import"         Call         Call       []                                                   (*);
    CallIndirect      "call_indirect"       CallIndirect Call       [UndefinedElement, IndirectCallToNull, BadSignature] (*);
    CallRef           "call_ref"            CallRef      Call       [NullFunctionReference]                              (*);
    Trapz             "trapz"               Trap         Trapping   []                                                   (I32 => );
    Trapnz            "trapnz"              Trap         Trapping   []                                                   (I32 => );
    OsrLoadCell       "osr.load_cell"       Cell         Read       []                                                   (*);
    Interrupt         "interrupt"           Nullary      Write      [OutOfFuel, Interrupt]                               ( => );
    Jump              "jump"                Jump         Terminator []                                                   (*);
    BrIf              "br_if"               BrIf         Terminator []                                                   (*);
    BrTable           "br_table"            BrTable      Terminator []                                                   (*);
    Return            "return"              Return       Terminator []                                                   (*);
    Trap              "trap"                Trap         Terminator []                                                   ( => );
    ReturnCall        "return_call"         Call         Terminator []                                                   (*);
    ReturnCallIndirect "return_call_indirect" CallIndirect Terminator [UndefinedElement, IndirectCallToNull, BadSignature] (*);
    ReturnCallRef     "return_call_ref"     CallRef      Terminator [NullFunctionReference]                              (*);
    V128Const         "v128.const"          ConstV128    Pure       []                                                   ( => V128);
    Simd              "simd"                Simd         Pure       []                                                   (*);
    I8x16Shuffle      "i8x16.shuffle"       Shuffle      Pure       []                                                   (V128 V128 => V128);
    SimdLoad          "simd.load"           SimdMem      Read       [MemoryOutOfBounds]                                  (*);
    SimdStore         "simd.store"          SimdMem      Write      [MemoryOutOfBounds]                                  (*);
    Invoke            "invoke"              Invoke       Terminator []                                                   (*);
    InvokeImport      "invoke_import"       Invoke       Terminator []                                                   (*);
    InvokeIndirect    "invoke_indirect"     Invoke       Terminator [UndefinedElement, IndirectCallToNull, BadSignature] (*);
    InvokeRef         "invoke_ref"          Invoke       Terminator [NullFunctionReference]                              (*);
    Throw             "throw"               Invoke       Terminator []                                                   (*);
    ThrowRef          "throw_ref"           Invoke       Terminator [NullReference]                                      (*);
    Landing           "landing"             Landing      Write      []                                                   (*);
}

impl Opcode {
    /// Looks an opcode up by its text name.
    pub fn from_name(name: &str) -> Option<Opcode> {
        use std::collections::HashMap;
        use std::sync::OnceLock;
        static MAP: OnceLock<HashMap<&'static str, Opcode>> = OnceLock::new();
        MAP.get_or_init(|| Opcode::ALL.iter().map(|op| (op.name(), *op)).collect())
            .get(name)
            .copied()
    }

    /// No side effect and cannot trap.
    pub fn is_pure(self) -> bool {
        self.class() == Class::Pure
    }

    pub fn is_terminator(self) -> bool {
        self.class() == Class::Terminator
    }

    pub fn is_branch(self) -> bool {
        matches!(self, Opcode::Jump | Opcode::BrIf | Opcode::BrTable)
    }

    /// A call or throw with exceptional successors (docs/abi.md §10): a terminator whose
    /// targets are the normal continuation (calls only) and then one landing block per
    /// catch clause that may catch what it throws.
    pub fn is_invoke(self) -> bool {
        self.format() == Format::Invoke
    }

    /// Index of the first exceptional target of an invoke (after the normal continuation).
    pub fn first_landing(self) -> usize {
        match self {
            Opcode::Throw | Opcode::ThrowRef => 0,
            _ => 1,
        }
    }

    pub fn is_call(self) -> bool {
        self.class() == Class::Call
    }

    /// A call of a runtime helper rather than of a wasm function.
    pub fn is_helper_call(self) -> bool {
        self.is_call()
            && !matches!(
                self,
                Opcode::Call | Opcode::CallImport | Opcode::CallIndirect | Opcode::CallRef
            )
    }

    /// A tail call (`return_call*`): a terminator that leaves the function by calling, so
    /// it does what a call does (any effect, any trap) and then what a return does.
    pub fn is_tail_call(self) -> bool {
        matches!(
            self,
            Opcode::ReturnCall | Opcode::ReturnCallIndirect | Opcode::ReturnCallRef
        )
    }

    /// May trap (by itself or through a callee).
    pub fn can_trap(self) -> bool {
        !self.traps().is_empty()
            || matches!(self, Opcode::Trap | Opcode::Trapz | Opcode::Trapnz)
            || self.is_call()
            || self.is_invoke()
            || self.is_tail_call()
    }

    /// Whether deleting an unused instance changes behaviour (writes, calls, traps, control).
    pub fn has_side_effect(self) -> bool {
        !matches!(self.class(), Class::Pure | Class::Read) || self.can_trap()
    }

    /// Pure opcodes: what the mid-end's e-graph language covers.
    pub fn pure_opcodes() -> impl Iterator<Item = Opcode> {
        Opcode::ALL.iter().copied().filter(|op| op.is_pure())
    }

    /// Operand positions that hold an address, size or length in a memory's or table's index
    /// type: i32, or i64 for a 64-bit memory or table (memory64, table64). Rows with a fixed
    /// signature list them as i32; an instruction on a 64-bit memory or table has i64 there
    /// (the `memory.copy`/`table.copy` length is i64 only when both sides are 64-bit).
    /// `table.get`/`set`/`fill`/`grow` and `call_indirect` are checked by the verifier
    /// itself, as are the results of `memory.size`/`memory.grow`/`table.size`/`table.grow`.
    pub fn index_operands(self) -> &'static [usize] {
        use Opcode::*;
        match self {
            op if op.access_bytes().is_some() => &[0],
            MemoryGrow | MemoryInit | TableInit => &[0],
            MemoryFill => &[0, 2],
            MemoryCopy | TableCopy => &[0, 1, 2],
            _ => &[],
        }
    }

    /// Bytes accessed by a memory opcode.
    pub fn access_bytes(self) -> Option<u8> {
        use Opcode::*;
        Some(match self {
            I32Load8S | I32Load8U | I64Load8S | I64Load8U | I32Store8 | I64Store8 => 1,
            I32Load16S | I32Load16U | I64Load16S | I64Load16U | I32Store16 | I64Store16 => 2,
            I32Load | F32Load | I64Load32S | I64Load32U | I32Store | F32Store | I64Store32 => 4,
            I64Load | F64Load | I64Store | F64Store => 8,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_name(op.name()), Some(op), "{op:?}");
        }
        let mut names: Vec<_> = Opcode::ALL.iter().map(|o| o.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Opcode::ALL.len());
    }

    #[test]
    fn pure_opcodes_have_fixed_signatures_except_polymorphic_ones() {
        for op in Opcode::pure_opcodes() {
            assert!(op.traps().is_empty());
            let poly = matches!(
                op,
                Opcode::RefNull | Opcode::RefIsNull | Opcode::Select | Opcode::Simd
            );
            assert_eq!(op.signature().is_none(), poly, "{op}");
        }
        assert!(Opcode::I32Add.is_pure());
        assert!(!Opcode::I32DivU.is_pure());
        assert_eq!(Opcode::I32DivS.traps().len(), 2);
        assert!(Opcode::I32TruncSatF64U.is_pure());
        assert!(!Opcode::I32TruncF64U.is_pure());
    }
}
