//! x86-64 emission helpers over dynasmrt: condition codes, moves between the operand
//! locations of the abstract stack, loads of constants. Everything here is safe Rust that
//! appends bytes; nothing runs.

use super::abi::*;
use super::codegen::Gen;
use super::stack::{Loc, Val};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

pub type Asm = dynasmrt::VecAssembler<dynasmrt::x64::X64Relocation>;

/// Condition codes of x86 flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cc {
    E,
    Ne,
    L,
    Le,
    G,
    Ge,
    B,
    Be,
    A,
    Ae,
    P,
    Np,
}

impl Cc {
    pub fn invert(self) -> Cc {
        use Cc::*;
        match self {
            E => Ne,
            Ne => E,
            L => Ge,
            Le => G,
            G => Le,
            Ge => L,
            B => Ae,
            Be => A,
            A => Be,
            Ae => B,
            P => Np,
            Np => P,
        }
    }
    /// The condition with the operands swapped (`a < b` is `b > a`).
    pub fn swap(self) -> Cc {
        use Cc::*;
        match self {
            L => G,
            G => L,
            Le => Ge,
            Ge => Le,
            B => A,
            A => B,
            Be => Ae,
            Ae => Be,
            c => c,
        }
    }
}

pub fn jcc(a: &mut Asm, cc: Cc, l: DynamicLabel) {
    match cc {
        Cc::E => dynasm!(a ; .arch x64 ; je =>l),
        Cc::Ne => dynasm!(a ; .arch x64 ; jne =>l),
        Cc::L => dynasm!(a ; .arch x64 ; jl =>l),
        Cc::Le => dynasm!(a ; .arch x64 ; jle =>l),
        Cc::G => dynasm!(a ; .arch x64 ; jg =>l),
        Cc::Ge => dynasm!(a ; .arch x64 ; jge =>l),
        Cc::B => dynasm!(a ; .arch x64 ; jb =>l),
        Cc::Be => dynasm!(a ; .arch x64 ; jbe =>l),
        Cc::A => dynasm!(a ; .arch x64 ; ja =>l),
        Cc::Ae => dynasm!(a ; .arch x64 ; jae =>l),
        Cc::P => dynasm!(a ; .arch x64 ; jp =>l),
        Cc::Np => dynasm!(a ; .arch x64 ; jnp =>l),
    }
}

pub fn setcc(a: &mut Asm, cc: Cc, r: u8) {
    match cc {
        Cc::E => dynasm!(a ; .arch x64 ; sete Rb(r)),
        Cc::Ne => dynasm!(a ; .arch x64 ; setne Rb(r)),
        Cc::L => dynasm!(a ; .arch x64 ; setl Rb(r)),
        Cc::Le => dynasm!(a ; .arch x64 ; setle Rb(r)),
        Cc::G => dynasm!(a ; .arch x64 ; setg Rb(r)),
        Cc::Ge => dynasm!(a ; .arch x64 ; setge Rb(r)),
        Cc::B => dynasm!(a ; .arch x64 ; setb Rb(r)),
        Cc::Be => dynasm!(a ; .arch x64 ; setbe Rb(r)),
        Cc::A => dynasm!(a ; .arch x64 ; seta Rb(r)),
        Cc::Ae => dynasm!(a ; .arch x64 ; setae Rb(r)),
        Cc::P => dynasm!(a ; .arch x64 ; setp Rb(r)),
        Cc::Np => dynasm!(a ; .arch x64 ; setnp Rb(r)),
    }
}

pub fn fits_i32(v: u64) -> bool {
    v as i64 == v as i64 as i32 as i64
}

/// Moves a 64-bit constant into general register `r` (flags untouched).
pub fn mov_imm(a: &mut Asm, r: u8, v: u64) {
    if v >> 32 == 0 {
        dynasm!(a ; .arch x64 ; mov Rd(r), v as u32 as i32);
    } else if fits_i32(v) {
        dynasm!(a ; .arch x64 ; mov Rq(r), v as i64 as i32);
    } else {
        dynasm!(a ; .arch x64 ; mov Rq(r), QWORD v as i64);
    }
}

impl Gen<'_> {
    pub fn disp_of(&self, loc: Loc) -> Option<i32> {
        match loc {
            Loc::Local(i) => Some(cell_disp(i)),
            Loc::Slot(p) => Some(self.slot_disp(p)),
            _ => None,
        }
    }

    /// Loads `v` into general register `r` (flags untouched). An i32 is zero-extended.
    pub fn load_gpr_into(&mut self, v: Val, r: u8) {
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(c) => mov_imm(a, r, c),
            Loc::Reg(s) => {
                if v.ty.is_float() {
                    if v.ty.is_64() {
                        dynasm!(a ; .arch x64 ; movq Rq(r), Rx(s));
                    } else {
                        dynasm!(a ; .arch x64 ; movd Rd(r), Rx(s));
                    }
                } else if s != r {
                    if v.ty.is_64() {
                        dynasm!(a ; .arch x64 ; mov Rq(r), Rq(s));
                    } else {
                        dynasm!(a ; .arch x64 ; mov Rd(r), Rd(s));
                    }
                }
            }
            Loc::Local(_) | Loc::Slot(_) => {
                let d = dd;
                if v.ty.is_64() {
                    dynasm!(a ; .arch x64 ; mov Rq(r), QWORD [Rq(FP) + d]);
                } else {
                    dynasm!(a ; .arch x64 ; mov Rd(r), DWORD [Rq(FP) + d]);
                }
            }
        }
    }

    /// Loads `v` into XMM register `x`.
    pub fn load_xmm_into(&mut self, v: Val, x: u8) {
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(0) => dynasm!(a ; .arch x64 ; xorps Rx(x), Rx(x)),
            Loc::Const(c) => {
                mov_imm(a, SCRATCH, c);
                dynasm!(a ; .arch x64 ; movq Rx(x), Rq(SCRATCH));
            }
            Loc::Reg(s) => {
                if !v.ty.is_float() {
                    if v.ty.is_64() {
                        dynasm!(a ; .arch x64 ; movq Rx(x), Rq(s));
                    } else {
                        dynasm!(a ; .arch x64 ; movd Rx(x), Rd(s));
                    }
                } else if s != x {
                    dynasm!(a ; .arch x64 ; movaps Rx(x), Rx(s));
                }
            }
            Loc::Local(_) | Loc::Slot(_) => {
                let d = dd;
                if v.ty.is_64() {
                    dynasm!(a ; .arch x64 ; movsd Rx(x), QWORD [Rq(FP) + d]);
                } else {
                    dynasm!(a ; .arch x64 ; movss Rx(x), DWORD [Rq(FP) + d]);
                }
            }
        }
    }

    /// Stores `v` as a full cell at `[base + disp]` (flags untouched). Uses `SCRATCH` for
    /// memory-to-memory moves and wide constants, so `base` must not be `SCRATCH`.
    pub fn store_cell(&mut self, v: Val, base: u8, disp: i32) {
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(c) => {
                if fits_i32(c) {
                    dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], c as i64 as i32);
                } else {
                    mov_imm(a, SCRATCH, c);
                    dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], Rq(SCRATCH));
                }
            }
            Loc::Reg(r) => {
                if v.ty.is_float() {
                    if v.ty.is_64() {
                        dynasm!(a ; .arch x64 ; movsd QWORD [Rq(base) + disp], Rx(r));
                    } else {
                        dynasm!(a ; .arch x64 ; movss DWORD [Rq(base) + disp], Rx(r));
                    }
                } else {
                    dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], Rq(r));
                }
            }
            Loc::Local(_) | Loc::Slot(_) => {
                let d = dd;
                dynasm!(a
                    ; .arch x64
                    ; mov Rq(SCRATCH), QWORD [Rq(FP) + d]
                    ; mov QWORD [Rq(base) + disp], Rq(SCRATCH)
                );
            }
        }
    }

    /// Calls an `extern "C"` helper at `addr`.
    pub fn call_addr(&mut self, addr: usize) {
        let a = &mut *self.asm;
        dynasm!(a
            ; .arch x64
            ; mov Rq(SCRATCH), QWORD addr as i64
            ; call Rq(SCRATCH)
        );
    }

    /// Reloads `r12` (memory 0's length) after anything that may have grown memory.
    pub fn reload_mem_len(&mut self) {
        if self.explicit && self.has_memory {
            let a = &mut *self.asm;
            let m = strata_vm::vmctx::offsets::VMCTX_MEMORY;
            let l = strata_vm::vmctx::offsets::MEMORY_LEN;
            dynasm!(a
                ; .arch x64
                ; mov Rq(MEM_LEN), QWORD [Rq(VMCTX) + m]
                ; mov Rq(MEM_LEN), QWORD [Rq(MEM_LEN) + l]
            );
        }
    }
}
