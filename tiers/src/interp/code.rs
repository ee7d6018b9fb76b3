//! The interpreter's internal code form: a register machine over 64-bit frame slots.
//!
//! A frame is `[params | declared locals | operand slots]`. Every operand of an instruction is
//! a slot index relative to the frame pointer; the translator maps the wasm operand stack onto
//! the operand slots (stack position `p` lives in slot `num_locals + p`) and folds `local.get`
//! and constants into operands, so most wasm instructions become one `Op`. A callee's frame
//! starts at the caller's first argument slot; results come back in the callee's first slots.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A frame slot index.
pub type Reg = u32;

macro_rules! one {
    ($x:ident) => {
        1
    };
}

macro_rules! define_ops {
    (
        fixed { $($(#[$fm:meta])* $fixed:ident $({ $($ff:ident: $ft:ty),* $(,)? })?,)* }
        unary { $($un:ident),* $(,)? }
        binary { $($bin:ident),* $(,)? }
        binary_imm { $($imm:ident),* $(,)? }
        load { $($load:ident),* $(,)? }
        store { $($store:ident),* $(,)? }
        branch { $($br:ident),* $(,)? }
        branch_imm { $($bri:ident),* $(,)? }
    ) => {
        /// `#[repr(u32)]`: the tag is the first word, which threaded dispatch reads.
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[repr(u32)]
        pub enum Op {
            $($(#[$fm])* $fixed $({ $($ff: $ft),* })?,)*
            $($un { dst: Reg, a: Reg },)*
            $($bin { dst: Reg, a: Reg, b: Reg },)*
            /// Binary operation with a constant right operand (sign-extended for i64).
            $($imm { dst: Reg, a: Reg, imm: i32 },)*
            $($load { dst: Reg, addr: Reg, offset: u32 },)*
            $($store { addr: Reg, val: Reg, offset: u32 },)*
            /// Compare and branch when true.
            $($br { a: Reg, b: Reg, target: u32 },)*
            /// Compare with a constant (sign-extended for i64) and branch when true.
            $($bri { a: Reg, imm: i32, target: u32 },)*
        }

        impl Op {
            /// The number of instruction kinds: every tag is below it.
            pub const COUNT: usize = 0
                $(+ one!($fixed))* $(+ one!($un))* $(+ one!($bin))* $(+ one!($imm))*
                $(+ one!($load))* $(+ one!($store))* $(+ one!($br))* $(+ one!($bri))*;

            /// The fields of an instruction of the operator families, in order (the
            /// immediates as their bits), as the generated handlers read them.
            pub fn family_fields(&self) -> Option<[u32; 3]> {
                Some(match *self {
                    $(Op::$un { dst, a } => [dst, a, 0],)*
                    $(Op::$bin { dst, a, b } => [dst, a, b],)*
                    $(Op::$imm { dst, a, imm } => [dst, a, imm as u32],)*
                    $(Op::$load { dst, addr, offset } => [dst, addr, offset],)*
                    $(Op::$store { addr, val, offset } => [addr, val, offset],)*
                    $(Op::$br { a, b, target } => [a, b, target],)*
                    $(Op::$bri { a, imm, target } => [a, imm as u32, target],)*
                    _ => return None,
                })
            }

            /// The target of a branch instruction, for patching.
            pub fn branch_target_mut(&mut self) -> Option<&mut u32> {
                match self {
                    Op::Br { target }
                    | Op::BrIfNez { target, .. }
                    | Op::BrIfEqz { target, .. }
                    $(| Op::$br { target, .. })*
                    $(| Op::$bri { target, .. })* => Some(target),
                    _ => None,
                }
            }

            /// Applies `f` to every register field. `ext_of` is, for an `Ext` word, the
            /// instruction it extends (its fields are registers or not depending on that).
            pub fn map_regs(&mut self, ext_of: Option<Op>, f: impl Fn(Reg) -> Reg) {
                match self {
                    $(Op::$un { dst, a } => { *dst = f(*dst); *a = f(*a); })*
                    $(Op::$bin { dst, a, b } => { *dst = f(*dst); *a = f(*a); *b = f(*b); })*
                    $(Op::$imm { dst, a, .. } => { *dst = f(*dst); *a = f(*a); })*
                    $(Op::$load { dst, addr, .. } => { *dst = f(*dst); *addr = f(*addr); })*
                    $(Op::$store { addr, val, .. } => { *addr = f(*addr); *val = f(*val); })*
                    $(Op::$br { a, b, .. } => { *a = f(*a); *b = f(*b); })*
                    $(Op::$bri { a, .. } => { *a = f(*a); })*
                    Op::Unreachable
                    | Op::Br { .. }
                    | Op::Return0
                    | Op::DataDrop { .. }
                    | Op::ElemDrop { .. }
                    | Op::Fuel
                    | Op::Epoch => {}
                    Op::Ext { a, b, .. } => match ext_of {
                        Some(Op::Select { .. })
                        | Some(Op::MemoryInit { .. })
                        | Some(Op::TableGrow { .. })
                        | Some(Op::TableFill { .. }) => *a = f(*a),
                        Some(Op::TableCopy { .. })
                        | Some(Op::TableInit { .. })
                        | Some(Op::Simd { .. }) => {
                            *a = f(*a);
                            *b = f(*b);
                        }
                        _ => {}
                    },
                    Op::BrIfNez { cond, .. } | Op::BrIfEqz { cond, .. } => *cond = f(*cond),
                    Op::BrTable { index, .. } => *index = f(*index),
                    Op::Return1 { src } | Op::Return { src, .. } => *src = f(*src),
                    Op::Copy { dst, src } => { *dst = f(*dst); *src = f(*src); }
                    Op::Const32 { dst, .. }
                    | Op::Const64 { dst, .. }
                    | Op::GlobalGet { dst, .. }
                    | Op::MemorySize { dst, .. }
                    | Op::TableSize { dst, .. }
                    | Op::TableCopy { dst, .. }
                    | Op::TableInit { dst, .. }
                    | Op::RefFunc { dst, .. } => *dst = f(*dst),
                    Op::Call { base, .. } | Op::Throw { base, .. } => *base = f(*base),
                    Op::ThrowRef { src } => *src = f(*src),
                    Op::Simd { dst, a, .. } => { *dst = f(*dst); *a = f(*a); }
                    Op::CallIndirect { index, base, .. }
                    | Op::ReturnCallIndirect { index, base, .. } => { *index = f(*index); *base = f(*base); }
                    Op::ReturnCall { base, .. } => *base = f(*base),
                    Op::TrapIfNull { src } => *src = f(*src),
                    Op::CallRef { callee, base, .. }
                    | Op::ReturnCallRef { callee, base, .. } => { *callee = f(*callee); *base = f(*base); }
                    Op::Select { dst, a, b } => {
                        *dst = f(*dst);
                        *a = f(*a);
                        *b = f(*b);
                    }
                    Op::GlobalSet { src, .. } => *src = f(*src),
                    Op::MemLoad { dst, addr, .. } => { *dst = f(*dst); *addr = f(*addr); }
                    Op::MemStore { addr, val, .. } => { *addr = f(*addr); *val = f(*val); }
                    Op::MemoryGrow { dst, delta, .. } => { *dst = f(*dst); *delta = f(*delta); }
                    Op::MemoryCopy { dst, src, len } => { *dst = f(*dst); *src = f(*src); *len = f(*len); }
                    Op::MemoryFill { dst, val, len } => { *dst = f(*dst); *val = f(*val); *len = f(*len); }
                    Op::MemoryInit { dst, src, .. } => { *dst = f(*dst); *src = f(*src); }
                    Op::TableGet { dst, index, .. } => { *dst = f(*dst); *index = f(*index); }
                    Op::TableSet { index, val, .. } => { *index = f(*index); *val = f(*val); }
                    Op::TableGrow { dst, init, .. } => { *dst = f(*dst); *init = f(*init); }
                    Op::TableFill { index, val, .. } => { *index = f(*index); *val = f(*val); }
                }
            }

            /// The result register of an instruction that writes exactly one, so the
            /// translator can redirect it (into a local, say).
            /// The result register of an instruction whose whole effect is to write it
            /// (`dst_mut`), or `Select`'s (its condition is in the `Ext` word after it).
            pub fn result_mut(&mut self) -> Option<&mut Reg> {
                match self {
                    Op::Select { dst, .. } => Some(dst),
                    op => op.dst_mut(),
                }
            }

            pub fn dst_mut(&mut self) -> Option<&mut Reg> {
                match self {
                    $(Op::$un { dst, .. })|*
                    | $(Op::$bin { dst, .. })|*
                    | $(Op::$imm { dst, .. })|*
                    | $(Op::$load { dst, .. })|*
                    | Op::Copy { dst, .. }
                    | Op::Const32 { dst, .. }
                    | Op::Const64 { dst, .. }
                    | Op::GlobalGet { dst, .. }
                    | Op::MemorySize { dst, .. }
                    | Op::TableSize { dst, .. }
                    | Op::RefFunc { dst, .. } => Some(dst),
                    _ => None,
                }
            }
        }
    };
}

define_ops! {
    fixed {
        Unreachable,
        /// Extra operands of the preceding instruction; never executed.
        Ext { a: u32, b: u32, c: u32 },
        Br { target: u32 },
        BrIfNez { cond: Reg, target: u32 },
        BrIfEqz { cond: Reg, target: u32 },
        /// Followed by `len + 1` `Br` entries; the last is the default.
        BrTable { index: Reg, len: u32 },
        Return0,
        Return1 { src: Reg },
        /// Copies `n` consecutive slots from `src` to the frame's first slots and returns.
        Return { src: Reg, n: u32 },
        Copy { dst: Reg, src: Reg },
        Const32 { dst: Reg, val: u32 },
        Const64 { dst: Reg, val: u64 },
        /// Calls function `func` of this instance; arguments and results at slot `base`.
        Call { func: u32, base: Reg },
        /// `Ext { a: table }` follows.
        CallIndirect { type_index: u32, index: Reg, base: Reg },
        /// A tail call (design.md §12): moves the `n` arguments at slot `base` to the
        /// frame's first slots and replaces this frame with function `func`'s.
        /// `Ext { a: n }` follows.
        ReturnCall { func: u32, base: Reg },
        /// `return_call_indirect`; `Ext { a: table, b: n }` follows.
        ReturnCallIndirect { type_index: u32, index: Reg, base: Reg },
        /// `call_ref`: calls the function reference in `callee` (null traps).
        CallRef { type_index: u32, callee: Reg, base: Reg },
        /// `return_call_ref`; `Ext { a: n }` follows.
        ReturnCallRef { type_index: u32, callee: Reg, base: Reg },
        /// `ref.as_non_null`: traps "null reference" if `src` is null.
        TrapIfNull { src: Reg },
        /// `dst = cond ? a : b` with `Ext { a: cond }` following.
        Select { dst: Reg, a: Reg, b: Reg },
        GlobalGet { dst: Reg, index: u32 },
        GlobalSet { src: Reg, index: u32 },
        /// A load from memory `Ext.a` at offset `Ext.b | Ext.c << 32` (`Ext` follows), for
        /// the accesses the plain loads (memory 0, 32-bit) do not cover: other memories and
        /// 64-bit ones. `kind` is a `MemAccess`.
        MemLoad { kind: u32, dst: Reg, addr: Reg },
        /// A store, as `MemLoad`.
        MemStore { kind: u32, addr: Reg, val: Reg },
        MemorySize { dst: Reg, mem: u32 },
        MemoryGrow { dst: Reg, delta: Reg, mem: u32 },
        /// `Ext { a: dst_mem, b: src_mem }` follows.
        MemoryCopy { dst: Reg, src: Reg, len: Reg },
        /// `Ext { a: mem }` follows.
        MemoryFill { dst: Reg, val: Reg, len: Reg },
        /// `Ext { a: len, b: mem }` follows.
        MemoryInit { segment: u32, dst: Reg, src: Reg },
        DataDrop { segment: u32 },
        TableGet { dst: Reg, table: u32, index: Reg },
        TableSet { table: u32, index: Reg, val: Reg },
        TableSize { dst: Reg, table: u32 },
        /// `Ext { a: delta }` follows.
        TableGrow { dst: Reg, table: u32, init: Reg },
        /// `Ext { a: len }` follows.
        TableFill { table: u32, index: Reg, val: Reg },
        /// `Ext { a: src, b: len }` follows.
        TableCopy { dst_table: u32, src_table: u32, dst: Reg },
        /// `Ext { a: src, b: len }` follows.
        TableInit { table: u32, segment: u32, dst: Reg },
        ElemDrop { segment: u32 },
        RefFunc { dst: Reg, func: u32 },
        /// The fuel part of an interruption point (design.md §13): one unit. Emitted only
        /// with fuel on, at pc 0 and at every loop header (then `Epoch`, if on).
        Fuel,
        /// The epoch part of an interruption point: traps once the deadline is reached.
        Epoch,
        /// A SIMD instruction (`simd.rs`): `code` is a `SimdCode` with the lane index in
        /// bits 16..; `Ext { a: b, b: c, c: imm }` follows (registers `b`, `c`; `imm` a
        /// memory offset or global index). v128 registers are cell pairs.
        Simd { code: u32, dst: Reg, a: Reg },
        /// `throw`: a new exception of module tag `tag` whose payload cells are at `base..`
        /// (docs/abi.md §10).
        Throw { tag: u32, base: Reg },
        /// `throw_ref` (and legacy `rethrow`, from the catch clause's hidden cell).
        ThrowRef { src: Reg },
    }
    unary {
        I32Eqz, I64Eqz, I32Clz, I32Ctz, I32Popcnt, I64Clz, I64Ctz, I64Popcnt,
        F32Abs, F32Neg, F32Ceil, F32Floor, F32Trunc, F32Nearest, F32Sqrt,
        F64Abs, F64Neg, F64Ceil, F64Floor, F64Trunc, F64Nearest, F64Sqrt,
        I32WrapI64, I32TruncF32S, I32TruncF32U, I32TruncF64S, I32TruncF64U,
        I64ExtendI32S, I64ExtendI32U, I64TruncF32S, I64TruncF32U, I64TruncF64S, I64TruncF64U,
        F32ConvertI32S, F32ConvertI32U, F32ConvertI64S, F32ConvertI64U, F32DemoteF64,
        F64ConvertI32S, F64ConvertI32U, F64ConvertI64S, F64ConvertI64U, F64PromoteF32,
        I32Extend8S, I32Extend16S, I64Extend8S, I64Extend16S, I64Extend32S,
        I32TruncSatF32S, I32TruncSatF32U, I32TruncSatF64S, I32TruncSatF64U,
        I64TruncSatF32S, I64TruncSatF32U, I64TruncSatF64S, I64TruncSatF64U,
    }
    binary {
        I32Eq, I32Ne, I32LtS, I32LtU, I32GtS, I32GtU, I32LeS, I32LeU, I32GeS, I32GeU,
        I64Eq, I64Ne, I64LtS, I64LtU, I64GtS, I64GtU, I64LeS, I64LeU, I64GeS, I64GeU,
        F32Eq, F32Ne, F32Lt, F32Gt, F32Le, F32Ge,
        F64Eq, F64Ne, F64Lt, F64Gt, F64Le, F64Ge,
        I32Add, I32Sub, I32Mul, I32DivS, I32DivU, I32RemS, I32RemU,
        I32And, I32Or, I32Xor, I32Shl, I32ShrS, I32ShrU, I32Rotl, I32Rotr,
        I64Add, I64Sub, I64Mul, I64DivS, I64DivU, I64RemS, I64RemU,
        I64And, I64Or, I64Xor, I64Shl, I64ShrS, I64ShrU, I64Rotl, I64Rotr,
        F32Add, F32Sub, F32Mul, F32Div, F32Min, F32Max, F32Copysign,
        F64Add, F64Sub, F64Mul, F64Div, F64Min, F64Max, F64Copysign,
    }
    binary_imm {
        I32EqImm, I32NeImm, I32LtSImm, I32LtUImm, I32GtSImm, I32GtUImm,
        I32LeSImm, I32LeUImm, I32GeSImm, I32GeUImm,
        I64EqImm, I64NeImm, I64LtSImm, I64LtUImm, I64GtSImm, I64GtUImm,
        I64LeSImm, I64LeUImm, I64GeSImm, I64GeUImm,
        I32AddImm, I32MulImm, I32AndImm, I32OrImm, I32XorImm,
        I32ShlImm, I32ShrSImm, I32ShrUImm, I32RotlImm, I32RotrImm,
        I64AddImm, I64MulImm, I64AndImm, I64OrImm, I64XorImm,
        I64ShlImm, I64ShrSImm, I64ShrUImm, I64RotlImm, I64RotrImm,
    }
    load {
        I32Load, I64Load, F32Load, F64Load,
        I32Load8S, I32Load8U, I32Load16S, I32Load16U,
        I64Load8S, I64Load8U, I64Load16S, I64Load16U, I64Load32S, I64Load32U,
    }
    store {
        I32Store, I64Store, F32Store, F64Store,
        I32Store8, I32Store16, I64Store8, I64Store16, I64Store32,
    }
    branch {
        BrI32Eq, BrI32Ne, BrI32LtS, BrI32LtU, BrI32GtS, BrI32GtU,
        BrI32LeS, BrI32LeU, BrI32GeS, BrI32GeU,
        BrI64Eq, BrI64Ne, BrI64LtS, BrI64LtU, BrI64GtS, BrI64GtU,
        BrI64LeS, BrI64LeU, BrI64GeS, BrI64GeU,
    }
    branch_imm {
        BrI32EqImm, BrI32NeImm, BrI32LtSImm, BrI32LtUImm, BrI32GtSImm, BrI32GtUImm,
        BrI32LeSImm, BrI32LeUImm, BrI32GeSImm, BrI32GeUImm,
        BrI64EqImm, BrI64NeImm, BrI64LtSImm, BrI64LtUImm, BrI64GtSImm, BrI64GtUImm,
        BrI64LeSImm, BrI64LeUImm, BrI64GeSImm, BrI64GeUImm,
    }
}

/// The access of a `MemLoad`/`MemStore` (its `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum MemAccess {
    I32Load,
    I64Load,
    F32Load,
    F64Load,
    I32Load8S,
    I32Load8U,
    I32Load16S,
    I32Load16U,
    I64Load8S,
    I64Load8U,
    I64Load16S,
    I64Load16U,
    I64Load32S,
    I64Load32U,
    Store8,
    Store16,
    Store32,
    Store64,
}

impl MemAccess {
    const ALL: [MemAccess; 18] = [
        MemAccess::I32Load,
        MemAccess::I64Load,
        MemAccess::F32Load,
        MemAccess::F64Load,
        MemAccess::I32Load8S,
        MemAccess::I32Load8U,
        MemAccess::I32Load16S,
        MemAccess::I32Load16U,
        MemAccess::I64Load8S,
        MemAccess::I64Load8U,
        MemAccess::I64Load16S,
        MemAccess::I64Load16U,
        MemAccess::I64Load32S,
        MemAccess::I64Load32U,
        MemAccess::Store8,
        MemAccess::Store16,
        MemAccess::Store32,
        MemAccess::Store64,
    ];

    /// The access a plain load or store of memory 0 performs.
    pub fn of(op: &Op) -> Option<MemAccess> {
        use MemAccess as A;
        Some(match op {
            Op::I32Load { .. } => A::I32Load,
            Op::I64Load { .. } => A::I64Load,
            Op::F32Load { .. } => A::F32Load,
            Op::F64Load { .. } => A::F64Load,
            Op::I32Load8S { .. } => A::I32Load8S,
            Op::I32Load8U { .. } => A::I32Load8U,
            Op::I32Load16S { .. } => A::I32Load16S,
            Op::I32Load16U { .. } => A::I32Load16U,
            Op::I64Load8S { .. } => A::I64Load8S,
            Op::I64Load8U { .. } => A::I64Load8U,
            Op::I64Load16S { .. } => A::I64Load16S,
            Op::I64Load16U { .. } => A::I64Load16U,
            Op::I64Load32S { .. } => A::I64Load32S,
            Op::I64Load32U { .. } => A::I64Load32U,
            Op::I32Store8 { .. } | Op::I64Store8 { .. } => A::Store8,
            Op::I32Store16 { .. } | Op::I64Store16 { .. } => A::Store16,
            Op::I32Store { .. } | Op::F32Store { .. } | Op::I64Store32 { .. } => A::Store32,
            Op::I64Store { .. } | Op::F64Store { .. } => A::Store64,
            _ => return None,
        })
    }

    pub fn from_u32(kind: u32) -> Option<MemAccess> {
        Self::ALL.get(kind as usize).copied()
    }

    /// Bytes accessed.
    pub fn width(self) -> u64 {
        use MemAccess as A;
        match self {
            A::I32Load8S | A::I32Load8U | A::I64Load8S | A::I64Load8U | A::Store8 => 1,
            A::I32Load16S | A::I32Load16U | A::I64Load16S | A::I64Load16U | A::Store16 => 2,
            A::I32Load | A::F32Load | A::I64Load32S | A::I64Load32U | A::Store32 => 4,
            A::I64Load | A::F64Load | A::Store64 => 8,
        }
    }

    /// The cell a load produces from the `width()` little-endian bytes read, `raw`.
    pub fn extend(self, raw: u64) -> u64 {
        use MemAccess as A;
        match self {
            A::I32Load8S => raw as i8 as i32 as u32 as u64,
            A::I32Load16S => raw as i16 as i32 as u32 as u64,
            A::I64Load8S => raw as i8 as i64 as u64,
            A::I64Load16S => raw as i16 as i64 as u64,
            A::I64Load32S => raw as i32 as i64 as u64,
            _ => raw,
        }
    }
}

/// Turns an integer comparison (or `eqz`) that feeds a conditional branch into one fused
/// compare-and-branch, branching when the comparison is true, or false with `negate`.
/// Float comparisons are not fused: their negation is not a comparison (NaN).
pub fn fuse_branch(cmp: Op, negate: bool, target: u32) -> Option<Op> {
    macro_rules! pick {
        ($($c:ident, $ci:ident => $t:ident, $ti:ident / $f:ident, $fi:ident;)*) => {
            match cmp {
                $(
                    Op::$c { a, b, .. } => Some(if negate {
                        Op::$f { a, b, target }
                    } else {
                        Op::$t { a, b, target }
                    }),
                    Op::$ci { a, imm, .. } => Some(if negate {
                        Op::$fi { a, imm, target }
                    } else {
                        Op::$ti { a, imm, target }
                    }),
                )*
                Op::I32Eqz { a, .. } => Some(if negate {
                    Op::BrIfNez { cond: a, target }
                } else {
                    Op::BrIfEqz { cond: a, target }
                }),
                _ => None,
            }
        };
    }
    pick! {
        I32Eq, I32EqImm => BrI32Eq, BrI32EqImm / BrI32Ne, BrI32NeImm;
        I32Ne, I32NeImm => BrI32Ne, BrI32NeImm / BrI32Eq, BrI32EqImm;
        I32LtS, I32LtSImm => BrI32LtS, BrI32LtSImm / BrI32GeS, BrI32GeSImm;
        I32LtU, I32LtUImm => BrI32LtU, BrI32LtUImm / BrI32GeU, BrI32GeUImm;
        I32GtS, I32GtSImm => BrI32GtS, BrI32GtSImm / BrI32LeS, BrI32LeSImm;
        I32GtU, I32GtUImm => BrI32GtU, BrI32GtUImm / BrI32LeU, BrI32LeUImm;
        I32LeS, I32LeSImm => BrI32LeS, BrI32LeSImm / BrI32GtS, BrI32GtSImm;
        I32LeU, I32LeUImm => BrI32LeU, BrI32LeUImm / BrI32GtU, BrI32GtUImm;
        I32GeS, I32GeSImm => BrI32GeS, BrI32GeSImm / BrI32LtS, BrI32LtSImm;
        I32GeU, I32GeUImm => BrI32GeU, BrI32GeUImm / BrI32LtU, BrI32LtUImm;
        I64Eq, I64EqImm => BrI64Eq, BrI64EqImm / BrI64Ne, BrI64NeImm;
        I64Ne, I64NeImm => BrI64Ne, BrI64NeImm / BrI64Eq, BrI64EqImm;
        I64LtS, I64LtSImm => BrI64LtS, BrI64LtSImm / BrI64GeS, BrI64GeSImm;
        I64LtU, I64LtUImm => BrI64LtU, BrI64LtUImm / BrI64GeU, BrI64GeUImm;
        I64GtS, I64GtSImm => BrI64GtS, BrI64GtSImm / BrI64LeS, BrI64LeSImm;
        I64GtU, I64GtUImm => BrI64GtU, BrI64GtUImm / BrI64LeU, BrI64LeUImm;
        I64LeS, I64LeSImm => BrI64LeS, BrI64LeSImm / BrI64GtS, BrI64GtSImm;
        I64LeU, I64LeUImm => BrI64LeU, BrI64LeUImm / BrI64GtU, BrI64GtUImm;
        I64GeS, I64GeSImm => BrI64GeS, BrI64GeSImm / BrI64LtS, BrI64LtSImm;
        I64GeU, I64GeUImm => BrI64GeU, BrI64GeUImm / BrI64LtU, BrI64LtUImm;
    }
}

/// A translated function.
#[derive(Debug)]
pub struct CompiledFunc {
    pub ops: Box<[Op]>,
    pub num_params: u32,
    /// Parameters plus declared locals.
    pub num_locals: u32,
    /// Constants the code reads as operands: the executor copies them into the frame's slots
    /// `num_locals..num_locals + consts.len()` on entry (between the locals and the operand
    /// slots, so no callee frame overlaps them).
    pub consts: Box<[u64]>,
    /// What a new frame holds after the parameters: the declared locals' zeros, then the
    /// constants (one copy sets up a frame), then zeros up to a multiple of `INIT_CHUNK`
    /// cells (the frame has room for them).
    pub frame_init: Box<[u64]>,
    pub num_results: u32,
    /// Slots the frame needs: locals plus the operand stack's maximum height.
    pub frame_size: u32,
    /// Size of the wasm body, for translation-speed statistics.
    pub body_bytes: u32,
    /// Execution counters the tier manager reads.
    pub counters: Counters,
    /// Loop headers, by header pc (for OSR).
    pub loops: Box<[LoopInfo]>,
    /// The code the generated handlers run (`asm`): the same instructions at the same pcs,
    /// with tags of the handlers' own (empty when those handlers are not in use).
    pub asm_code: Box<[super::asm::AsmOp]>,
    /// The fast path that runs this code (the mode it was translated for).
    pub fast: super::asm::FastPath,
    /// Exception handlers, in search order (docs/abi.md §10); empty for most functions.
    pub handlers: Box<[Handler]>,
    /// Which wasm instruction each pc came from, for backtraces: made the first time a
    /// backtrace passes through the function (`translate::wasm_offsets`), never before.
    pub wasm_offsets: std::sync::OnceLock<OffsetTable>,
}

/// A `translate::wasm_offsets` table, delta-encoded: per entry the LEB128 of the pc's and
/// of the wasm offset's increase over the previous entry (both only grow: translation
/// emits code in the order of the body). About 2-3 bytes per wasm instruction that emits
/// code; looked up by decoding from the start, which only backtraces do.
#[derive(Debug, Default)]
pub struct OffsetTable(Box<[u8]>);

impl OffsetTable {
    pub fn encode(entries: &[(u32, u32)]) -> OffsetTable {
        let mut out = Vec::with_capacity(entries.len() * 3);
        let mut leb = |mut v: u32| loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        };
        let (mut pc, mut off) = (0u32, 0u32);
        for &(p, o) in entries {
            leb(p.wrapping_sub(pc));
            leb(o.wrapping_sub(off));
            (pc, off) = (p, o);
        }
        OffsetTable(out.into_boxed_slice())
    }

    /// The offset of the function's first instruction.
    pub fn first(&self) -> Option<u32> {
        let mut bytes = self.0.iter();
        let mut v = 0u32;
        let _pc = bytes.next()?;
        for shift in (0..35).step_by(7) {
            let b = *bytes.next()?;
            v |= ((b & 0x7f) as u32) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The wasm offset of the instruction that translated to `pc` (the last entry at or
    /// before it; the first entry for code before it, the entry's interruption point).
    pub fn lookup(&self, pc: usize) -> Option<u32> {
        let mut bytes = self.0.iter();
        let mut leb = || {
            let mut v = 0u32;
            for shift in (0..35).step_by(7) {
                let b = *bytes.next()?;
                v |= ((b & 0x7f) as u32) << shift;
                if b & 0x80 == 0 {
                    return Some(v);
                }
            }
            None
        };
        let (mut p, mut off) = (0u32, 0u32);
        let mut found = None;
        while let (Some(dp), Some(doff)) = (leb(), leb()) {
            p = p.wrapping_add(dp);
            off = off.wrapping_add(doff);
            if found.is_some() && p as usize > pc {
                break;
            }
            found = Some(off);
        }
        found
    }
}

/// What a handler entry does with an exception thrown in its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `catch`/`catch_ref` (and legacy `catch`) of the module's tag `0`.
    Tag(u32),
    /// `catch_all`/`catch_all_ref` (and legacy `catch_all`).
    All,
    /// Legacy `delegate`: the search goes on as if the exception were thrown inside the
    /// try at control depth `0`: entries of tries nested deeper are skipped.
    Delegate(u32),
}

/// One catch clause of a try (docs/abi.md §10): catches exceptions whose resume pc `r` (the
/// pc after the throwing instruction or call) has `start < r <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handler {
    pub start: u32,
    pub end: u32,
    /// The try's depth in the control stack (the function's frame is 0).
    pub frame: u32,
    pub kind: HandlerKind,
    /// The landing pad.
    pub target: u32,
    /// Where the payload cells go.
    pub dst: Reg,
    /// Where the `exnref` goes (`NO_EXN`: the clause keeps none, the object is freed).
    pub exn: Reg,
}

/// `Handler::exn` of a clause that keeps no reference to the exception.
pub const NO_EXN: Reg = Reg::MAX;

/// `CompiledFunc::frame_init`'s length is a multiple of this many cells: the handlers' calls
/// copy it in chunks of four (two 16-byte moves) with no tail to handle.
pub const INIT_CHUNK: usize = 4;

impl Handler {
    /// Whether the exception at resume pc `r` is in this entry's range.
    #[inline]
    pub fn covers(&self, r: u32) -> bool {
        self.start < r && r <= self.end
    }
}

impl CompiledFunc {
    /// The loop whose header is at `pc`; the innermost when loops share a header (their
    /// states there are the same).
    pub fn loop_at(&self, pc: u32) -> Option<LoopInfo> {
        let i = self.loops.partition_point(|l| l.header <= pc);
        (i > 0 && self.loops[i - 1].header == pc).then(|| self.loops[i - 1])
    }

    /// Slot of operand-stack position `p` (after the locals and the constant pool). The
    /// JIT tiers put position `p` at `num_locals + p` (docs/abi.md §1).
    pub fn stack_slot(&self, p: u32) -> u32 {
        self.layout().operand(p)
    }

    /// The frame layout: the ABI's, with the constant pool between locals and operands.
    pub fn layout(&self) -> strata_vm::abi::FrameLayout {
        strata_vm::abi::FrameLayout {
            num_locals: self.num_locals,
            pool: self.consts.len() as u32,
        }
    }
}

/// Per-function execution counters, shared by every instance and thread running the function.
///
/// Increments are a relaxed load and store, not an atomic read-modify-write: a plain `mov`
/// pair on x86-64, where a locked add would cost ~20 cycles on every call and back-edge.
/// Concurrent increments can lose counts; a tiering heuristic does not mind.
///
/// Each counter has a check point: when it reaches it, the interpreter asks the tier manager
/// (or, with none, moves the check point out of reach). Check points start at 1, so the
/// first call and the first back-edge always ask; the answer sets the next one.
#[derive(Debug)]
pub struct Counters {
    pub calls: AtomicU64,
    /// Taken backward branches: loop iterations.
    pub backedges: AtomicU64,
    pub call_check: AtomicU64,
    pub backedge_check: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            calls: AtomicU64::new(0),
            backedges: AtomicU64::new(0),
            call_check: AtomicU64::new(1),
            backedge_check: AtomicU64::new(1),
        }
    }
}

impl Counters {
    #[inline(always)]
    pub fn bump(counter: &AtomicU64) {
        counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
    }
    /// Counts one event; `true` when the count reached `check`.
    ///
    /// Building with `RUSTFLAGS="--cfg strata_no_counters"` removes counting (and with it
    /// tier-up), to measure what counting costs.
    #[inline(always)]
    pub fn bump_check(counter: &AtomicU64, check: &AtomicU64) -> bool {
        #[cfg(strata_no_counters)]
        if true {
            return false;
        }
        let n = counter.load(Relaxed).wrapping_add(1);
        counter.store(n, Relaxed);
        n >= check.load(Relaxed)
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Relaxed)
    }
    pub fn backedges(&self) -> u64 {
        self.backedges.load(Relaxed)
    }
}

/// A loop header in translated code: what OSR needs to leave the interpreter there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopInfo {
    /// Pc of the header (the target of the loop's back-edges).
    pub header: u32,
    /// The loop's ordinal among the body's `loop` operators (dead ones included): the key
    /// every tier uses for its OSR entries.
    pub ordinal: u32,
    /// Operand-stack height at the header, the loop's parameters included. All of it is in
    /// its slots there (the translator materialises the stack at every block entry).
    pub height: u32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_is_two_words() {
        assert_eq!(std::mem::size_of::<super::Op>(), 16);
    }
}
