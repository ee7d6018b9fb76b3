//! x86-64 emission helpers over dynasmrt: condition codes, moves between the operand
//! locations of the abstract stack, loads of constants. Everything here is safe Rust that
//! appends bytes; nothing runs.

use super::abi::*;
use super::codegen::Gen;
use super::stack::{Loc, Ty, Val};
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};

pub use crate::jit::x64::Asm;

/// Whether a displacement or immediate fits the sign-extended 8-bit encodings.
#[inline(always)]
pub fn fits_i8(v: i32) -> bool {
    v as i8 as i32 == v
}

/// Emits `{pre} [r14 + d] {post}` (a value-stack cell; r14 is `FP`) with the short
/// displacement encoding when `d` fits in an i8. dynasm encodes a dynamic displacement as
/// 32 bits and a dynamic base register with a SIB byte; naming r14 statically and asking
/// for a BYTE displacement gives 4-byte instead of 8-byte cell accesses.
macro_rules! fp_op {
    ($a:expr, $d:expr; {$($pre:tt)*} {$($post:tt)*}) => {{
        let d: i32 = $d;
        let a = $a;
        if $crate::baseline::masm::fits_i8(d) {
            let d8 = d as i8;
            dynasm!(a ; .arch x64 ; $($pre)* [BYTE r14 + d8] $($post)*);
        } else {
            dynasm!(a ; .arch x64 ; $($pre)* [r14 + d] $($post)*);
        }
    }};
}
pub(crate) use fp_op;

/// Emits `{pre} [r13 + r11 + d] {post}` (linear memory at the address in r11), with a short
/// displacement when it fits.
macro_rules! mem_op {
    ($a:expr, $d:expr; {$($pre:tt)*} {$($post:tt)*}) => {{
        let d: i32 = $d;
        let a = $a;
        if $crate::baseline::masm::fits_i8(d) {
            let d8 = d as i8;
            dynasm!(a ; .arch x64 ; $($pre)* [BYTE r13 + r11 + d8] $($post)*);
        } else {
            dynasm!(a ; .arch x64 ; $($pre)* [r13 + r11 + d] $($post)*);
        }
    }};
}
pub(crate) use mem_op;

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

/// `op r32/r64, imm8` of the `83 /ext ib` group (add, or, and, sub, xor, cmp), encoded here:
/// dynasm always picks the `imm32` form for a dynamic immediate.
pub fn alu_ri8(a: &mut Asm, ext: u8, w64: bool, r: u8, imm: i8) {
    let rex = 0x40 | (w64 as u8) << 3 | (r >> 3);
    if rex != 0x40 {
        a.push(rex);
    }
    a.extend([0x83, 0xc0 | ext << 3 | (r & 7), imm as u8]);
}

/// `imul r, r, imm8` (`6B /r ib`).
pub fn imul_ri8(a: &mut Asm, w64: bool, r: u8, imm: i8) {
    let rex = 0x40 | (w64 as u8) << 3 | (r >> 3) << 2 | (r >> 3);
    if rex != 0x40 {
        a.push(rex);
    }
    a.extend([0x6b, 0xc0 | (r & 7) << 3 | (r & 7), imm as u8]);
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
        if let (Some(c), false) = (self.cached_local(v.loc), v.ty.is_float()) {
            if c != r {
                let a = &mut *self.asm;
                if v.ty.is_64() {
                    dynasm!(a ; .arch x64 ; mov Rq(r), Rq(c));
                } else {
                    dynasm!(a ; .arch x64 ; mov Rd(r), Rd(c));
                }
            }
            return;
        }
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(c) => mov_imm(a, r, c),
            Loc::Reg(s) => {
                if v.ty == Ty::V128Hi {
                    dynasm!(a ; .arch x64 ; pextrq Rq(r), Rx(s), 1);
                } else if v.ty.in_xmm() {
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
                    fp_op!(a, d; {mov Rq(r), QWORD} {});
                } else {
                    fp_op!(a, d; {mov Rd(r), DWORD} {});
                }
            }
        }
    }

    /// Loads `v` into XMM register `x`.
    pub fn load_xmm_into(&mut self, v: Val, x: u8) {
        if let (Some(c), true) = (self.cached_xmm(v.loc), v.ty.is_float()) {
            if c != x {
                let a = &mut *self.asm;
                dynasm!(a ; .arch x64 ; movaps Rx(x), Rx(c));
            }
            return;
        }
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(0) => dynasm!(a ; .arch x64 ; xorps Rx(x), Rx(x)),
            Loc::Const(c) => {
                mov_imm(a, SCRATCH, c);
                dynasm!(a ; .arch x64 ; movq Rx(x), r11);
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
                    fp_op!(a, d; {movsd Rx(x), QWORD} {});
                } else {
                    fp_op!(a, d; {movss Rx(x), DWORD} {});
                }
            }
        }
    }

    /// Stores `v` as a full cell at `[base + disp]` (flags untouched). Uses `SCRATCH` for
    /// memory-to-memory moves and wide constants, so `base` must not be `SCRATCH`.
    pub fn store_cell(&mut self, v: Val, base: u8, disp: i32) {
        if base != FP {
            return self.store_cell_other(v, base, disp);
        }
        if let Some(c) = self.cached_local(v.loc) {
            // The whole cell, as a memory-to-memory copy would.
            let a = &mut *self.asm;
            fp_op!(a, disp; {mov QWORD} {, Rq(c)});
            return;
        }
        if let (Some(c), Loc::Local(i)) = (self.cached_xmm(v.loc), v.loc) {
            // The local's own width: an f32 cell's upper half is never read.
            let w = self.local_ty(i).is_64();
            let a = &mut *self.asm;
            if w {
                fp_op!(a, disp; {movsd QWORD} {, Rx(c)});
            } else {
                fp_op!(a, disp; {movss DWORD} {, Rx(c)});
            }
            return;
        }
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(c) => {
                if fits_i32(c) {
                    let i = c as i64 as i32;
                    fp_op!(a, disp; {mov QWORD} {, i});
                } else {
                    mov_imm(a, SCRATCH, c);
                    fp_op!(a, disp; {mov QWORD} {, r11});
                }
            }
            Loc::Reg(r) => match v.ty {
                // One half of a v128 in a register.
                Ty::V128 => fp_op!(a, disp; {movq QWORD} {, Rx(r)}),
                Ty::V128Hi => fp_op!(a, disp; {pextrq QWORD} {, Rx(r), 1}),
                Ty::F64 => fp_op!(a, disp; {movsd QWORD} {, Rx(r)}),
                Ty::F32 => fp_op!(a, disp; {movss DWORD} {, Rx(r)}),
                _ => fp_op!(a, disp; {mov QWORD} {, Rq(r)}),
            },
            Loc::Local(_) | Loc::Slot(_) => {
                fp_op!(&mut *a, dd; {mov r11, QWORD} {});
                fp_op!(a, disp; {mov QWORD} {, r11});
            }
        }
    }

    /// `store_cell` to a base other than `FP` (globals).
    fn store_cell_other(&mut self, v: Val, base: u8, disp: i32) {
        let dd = self.disp_of(v.loc).unwrap_or(0);
        let a = &mut *self.asm;
        match v.loc {
            Loc::Const(c) => {
                if fits_i32(c) {
                    dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], c as i64 as i32);
                } else {
                    mov_imm(a, SCRATCH, c);
                    dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], r11);
                }
            }
            Loc::Reg(r) => match v.ty {
                Ty::V128 => dynasm!(a ; .arch x64 ; movq QWORD [Rq(base) + disp], Rx(r)),
                Ty::V128Hi => dynasm!(a ; .arch x64 ; pextrq QWORD [Rq(base) + disp], Rx(r), 1),
                Ty::F64 => dynasm!(a ; .arch x64 ; movsd QWORD [Rq(base) + disp], Rx(r)),
                Ty::F32 => dynasm!(a ; .arch x64 ; movss DWORD [Rq(base) + disp], Rx(r)),
                _ => dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], Rq(r)),
            },
            Loc::Local(_) | Loc::Slot(_) => {
                fp_op!(&mut *a, dd; {mov r11, QWORD} {});
                dynasm!(a ; .arch x64 ; mov QWORD [Rq(base) + disp], r11);
            }
        }
    }

    /// Calls an `extern "C"` helper at `addr`.
    pub fn call_addr(&mut self, addr: usize) {
        let a = &mut *self.asm;
        dynasm!(a
            ; .arch x64
            ; mov r11, QWORD addr as i64
            ; call r11
        );
        // Helpers may run wasm (calls) or trap: their return address is a frame's pc.
        self.call_site();
    }

    /// Reloads `r12` (memory 0's length) after anything that may have grown memory.
    pub fn reload_mem_len(&mut self) {
        if self.explicit && self.has_memory {
            let a = &mut *self.asm;
            let m = strata_vm::vmctx::offsets::VMCTX_MEMORY;
            let l = strata_vm::vmctx::offsets::MEMORY_LEN;
            dynasm!(a
                ; .arch x64
                ; mov r12, QWORD [r15 + m]
                ; mov r12, QWORD [r12 + l]
            );
        }
    }
}
