//! The abstract value stack of the single-pass compiler (Winch/Liftoff style): each wasm
//! operand is a constant, a machine register, a pending read of a local, or its home slot
//! (`fp[L + p]`, the interpreter's numbering, docs/abi.md §1).

/// Value types as the code generator sees them: references are 64-bit integers. A v128
/// takes two stack entries like it takes two cells (docs/abi.md §1): `V128` (the low half,
/// which names the value) and `V128Hi` above it, so stack positions are cell positions.
/// A v128 in an XMM register is both entries with the same `Loc::Reg`: the pair is spilled,
/// freed and stored together (`Gen::spill_entry`), and code that moves cells one by one
/// stores the low half with `movq` and the high half with `pextrq` (`Gen::store_cell`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    I32,
    I64,
    F32,
    F64,
    V128,
    V128Hi,
}

impl Ty {
    #[inline]
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64)
    }
    /// Whether a value of this type lives in an XMM register when it is in one.
    #[inline]
    pub fn in_xmm(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64 | Ty::V128 | Ty::V128Hi)
    }
    /// Whether this is either half of a v128.
    #[inline]
    pub fn is_v128(self) -> bool {
        matches!(self, Ty::V128 | Ty::V128Hi)
    }
    /// Whether a value of this type fills its whole cell (a v128 half does).
    #[inline]
    pub fn is_64(self) -> bool {
        matches!(self, Ty::I64 | Ty::F64 | Ty::V128 | Ty::V128Hi)
    }
    /// Stack entries (cells) a value whose first entry has this type takes.
    #[inline]
    pub fn cells(self) -> u32 {
        if self == Ty::V128 {
            strata_vm::abi::V128_CELLS
        } else {
            1
        }
    }
    pub fn from_val(t: strata_vm::ValType) -> Result<Ty, String> {
        use strata_vm::ValType as V;
        Ok(match t {
            V::I32 => Ty::I32,
            V::I64 | V::FuncRef | V::ExternRef | V::ExnRef => Ty::I64,
            V::F32 => Ty::F32,
            V::F64 => Ty::F64,
            V::V128 => Ty::V128,
        })
    }
    pub fn from_wasm(t: wasmparser::ValType) -> Result<Ty, String> {
        use wasmparser::ValType as V;
        Ok(match t {
            V::I32 => Ty::I32,
            V::I64 | V::Ref(_) => Ty::I64,
            V::F32 => Ty::F32,
            V::F64 => Ty::F64,
            V::V128 => Ty::V128,
        })
    }
}

/// Where an operand lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// A constant (raw bits; i32/f32 zero-extended).
    Const(u64),
    /// A general register (integers) or an XMM register (floats, both halves of a v128).
    Reg(u8),
    /// The current value of local `i` (`fp[i]`), not yet read.
    Local(u32),
    /// Its home slot, operand-stack position `p`.
    Slot(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Val {
    pub ty: Ty,
    pub loc: Loc,
}

impl Val {
    #[inline]
    pub fn new(ty: Ty, loc: Loc) -> Val {
        Val { ty, loc }
    }
    #[inline]
    pub fn reg(&self) -> Option<u8> {
        match self.loc {
            Loc::Reg(r) => Some(r),
            _ => None,
        }
    }
}

/// Free/used sets of the allocatable registers.
#[derive(Clone, Copy, Default, Debug)]
pub struct RegSet {
    pub gpr: u16,
    pub xmm: u16,
}

impl RegSet {
    #[inline]
    pub fn is_used(&self, float: bool, r: u8) -> bool {
        let m = if float { self.xmm } else { self.gpr };
        m & (1 << r) != 0
    }
    #[inline]
    pub fn set(&mut self, float: bool, r: u8) {
        if float {
            self.xmm |= 1 << r;
        } else {
            self.gpr |= 1 << r;
        }
    }
    #[inline]
    pub fn clear(&mut self, float: bool, r: u8) {
        if float {
            self.xmm &= !(1 << r);
        } else {
            self.gpr &= !(1 << r);
        }
    }
}
