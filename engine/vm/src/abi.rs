//! The execution ABI every tier keeps, written once (design.md §0; docs/abi.md is the prose):
//! the value-stack frame layout, the registers JIT code pins, the machine-stack shape of a
//! JIT frame that the backtrace walk and the call-depth count rely on, and the host stack a
//! tier leaves for helpers. Offsets into runtime structures are in `vmctx::offsets`.

/// Bytes of a value-stack cell: every value (i32 to f64, references) takes one cell.
pub const CELL_BYTES: usize = 8;

/// Cells a `v128` takes: two consecutive cells, the low 64 bits (lanes 0..8 as bytes, little
/// endian) in the first, the high 64 bits in the second. Every index of a frame (locals,
/// operand positions, block arities, call arguments and results) counts cells, so a v128
/// local or operand at cell `c` also occupies `c + 1` (docs/abi.md §1).
pub const V128_CELLS: u32 = 2;

/// The cell of each local (parameters first) of a function whose locals have `types`, and
/// the total number of cells (`FrameLayout::num_locals`). Without v128 locals, local `i` is
/// cell `i`.
pub fn local_cells(types: impl IntoIterator<Item = crate::ValType>) -> (Vec<u32>, u32) {
    let mut cells = Vec::new();
    let mut next = 0u32;
    for t in types {
        cells.push(next);
        next = next.saturating_add(t.cells());
    }
    (cells, next)
}

/// x86-64 register numbers (as dynasm's `Rq` takes them) that JIT code pins.
pub mod reg {
    /// `*const VMContext` of the running function's instance.
    pub const VMCTX: u8 = 15;
    /// `fp`: the running function's value-stack frame (a cell pointer).
    pub const FP: u8 = 14;
    /// Linear memory 0's base.
    pub const MEM_BASE: u8 = 13;
    /// Linear memory 0's length in bytes (explicit bounds checks).
    pub const MEM_LEN: u8 = 12;
    /// The machine frame pointer: every JIT prologue is `push rbp; mov rbp, rsp`, so the saved
    /// `rbp` chain walks JIT frames (backtraces).
    pub const FRAME_POINTER: u8 = 5;
}

/// A parameter passed in a register between optimized functions (docs/abi.md §3, "Register
/// arguments"): a general register (x86-64 number, as dynasm's `Rq`) or an XMM register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgReg {
    Gpr(u8),
    Xmm(u8),
}

/// The general registers integer-class parameters (i32, i64 and references) take, in order:
/// rsi, rdi, r8, r9, rcx, rdx. Never rax, r10 or r11 (the call sequences use them: `eax`
/// carries the callee's defined index), never a pinned or callee-saved register.
pub const ARG_GPRS: [u8; 6] = [6, 7, 8, 9, 1, 2];

/// The XMM registers f32/f64 parameters take, in order: xmm0..xmm7.
pub const ARG_XMMS: u8 = 8;

/// For each parameter of `params`, its register under the register convention between
/// optimized functions, or `None` when it is passed in its cells only (a v128, or past
/// the registers of its class): the first `ARG_GPRS.len()` integer-class parameters and
/// the first `ARG_XMMS` f32/f64 ones, in parameter order. Every tier and stub that passes
/// or receives register arguments reads this one function.
pub fn arg_regs(params: &[crate::ValType]) -> Vec<Option<ArgReg>> {
    use crate::ValType::*;
    let (mut g, mut x) = (0usize, 0u8);
    params
        .iter()
        .map(|t| match t {
            I32 | I64 | FuncRef | ExternRef | ExnRef if g < ARG_GPRS.len() => {
                g += 1;
                Some(ArgReg::Gpr(ARG_GPRS[g - 1]))
            }
            F32 | F64 if x < ARG_XMMS => {
                x += 1;
                Some(ArgReg::Xmm(x - 1))
            }
            _ => None,
        })
        .collect()
}

/// Machine stack of one JIT frame: the return address and the saved `rbp`, nothing else
/// (values live on the value stack). Frame k of an activation therefore sits at
/// `entry_sp - JIT_FRAME_BYTES * k`: the call-depth count and the backtrace walk rely on it.
pub const JIT_FRAME_BYTES: usize = 16;

/// Cells every value stack has past its end (`VMRuntime::stack_end`, the end every check
/// uses): mapped memory nothing else uses. A JIT function that calls nothing (no wasm
/// call, tail call or helper) and whose frame is at most this many cells omits the
/// prologue's value-stack check: its `fp` is at most the end (its caller wrote the
/// arguments below it), so its frame ends inside this zone (docs/abi.md §4).
pub const VALUE_STACK_RED_ZONE: usize = 64;

/// Host stack that must remain when wasm is entered from Rust (by the interpreter or JIT
/// code), for runtime helpers and host functions.
pub const MIN_HOST_STACK: usize = 128 * 1024;

/// The value-stack frame of a function, in cells from its `fp` (docs/abi.md §1):
/// parameters, then declared locals, then (the interpreter only) its constant pool, then the
/// operand stack. Results are returned in the first cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    /// Parameters plus declared locals (`L`).
    pub num_locals: u32,
    /// Cells between the locals and the operand stack: the interpreter's constant pool
    /// (`C`); 0 in JIT frames.
    pub pool: u32,
}

impl FrameLayout {
    /// The canonical layout of JIT tiers (and of every tier at a loop header, for OSR).
    pub fn canonical(num_locals: u32) -> FrameLayout {
        FrameLayout {
            num_locals,
            pool: 0,
        }
    }

    /// Cell of local `i` (parameters first) of a function without v128 locals; with them,
    /// the cell of local `i` is `local_cells(..).0[i]` (a v128 takes `V128_CELLS`).
    pub fn local(&self, i: u32) -> u32 {
        i
    }

    /// Cell of operand-stack position `p` (0 at the bottom).
    pub fn operand(&self, p: u32) -> u32 {
        self.num_locals + self.pool + p
    }

    /// Byte displacement of cell `cell` from `fp`.
    pub fn disp(cell: u32) -> i64 {
        cell as i64 * CELL_BYTES as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_differ_only_by_the_pool() {
        let jit = FrameLayout::canonical(5);
        let interp = FrameLayout {
            num_locals: 5,
            pool: 3,
        };
        assert_eq!(jit.local(4), interp.local(4));
        assert_eq!(jit.operand(0), 5);
        assert_eq!(interp.operand(0), 8);
        assert_eq!(FrameLayout::disp(3), 24);
    }
}
