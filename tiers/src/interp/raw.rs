//! The interpreter's only `unsafe`: unchecked frame-slot access and bounds-checked linear
//! memory access through cached raw pointers.

use super::code::{CompiledFunc, Op, Reg};
use std::ptr::NonNull;
use strata_vm::{Trap, TrapCode};

/// The current frame's slots.
///
/// Invariant (established by `Slots::new`'s caller, the executor): the frame starts at `base`
/// and `frame_size` cells from there are inside the value stack; every `Reg` in the function's
/// code is below `frame_size`, which the translator guarantees (it sizes the frame as locals
/// plus the maximum operand height, and only ever names slots below that).
#[derive(Clone, Copy)]
#[repr(transparent)] // passed to the threaded handlers (`extern "C"`)
pub struct Slots {
    base: *mut u64,
}

impl Slots {
    /// # Safety
    /// `base .. base + frame_size` must be valid, exclusively owned cells for as long as this
    /// `Slots` is used, where `frame_size` bounds every register of the running function.
    #[inline(always)]
    pub unsafe fn new(base: *mut u64) -> Slots {
        Slots { base }
    }

    /// The frame's first cell.
    #[inline(always)]
    pub fn base(self) -> *mut u64 {
        self.base
    }

    #[inline(always)]
    pub fn get(self, r: Reg) -> u64 {
        // SAFETY: `r < frame_size` by the translator's guarantee (see the type's invariant).
        unsafe { *self.base.add(r as usize) }
    }

    #[inline(always)]
    pub fn set(self, r: Reg, v: u64) {
        // SAFETY: as in `get`.
        unsafe { *self.base.add(r as usize) = v }
    }
}

/// Sets up `f`'s frame at `stack[fp..]` (arguments already there): zeroes the declared
/// locals and writes the constants, one copy of `frame_init`. `false`, touching nothing,
/// when the frame does not fit.
#[inline(always)]
pub fn init_frame(stack: &mut [u64], fp: usize, f: &CompiledFunc) -> bool {
    let params = f.num_params as usize;
    if fp + f.frame_size as usize > stack.len() {
        return false;
    }
    // The translator guarantees that the parameters and `frame_init` (locals, then
    // constants) fit in the frame; checked in debug builds only.
    debug_assert!(params + f.frame_init.len() <= f.frame_size as usize);
    // SAFETY: `fp + frame_size <= stack.len()` was checked above, and every cell written is
    // below `fp + frame_size` by the translator's guarantee; `frame_init` is a separate
    // allocation, so the ranges do not overlap.
    unsafe {
        let dst = stack.as_mut_ptr().add(fp + params);
        std::ptr::copy_nonoverlapping(f.frame_init.as_ptr(), dst, f.frame_init.len());
    }
    true
}

/// A view of the current instance's memory 0: its base and current byte length. A stale view
/// is still safe: memories never move and never shrink, so an old length only rejects more.
#[derive(Clone, Copy)]
#[repr(C)] // passed to the threaded handlers (`extern "C"`)
pub struct MemView {
    base: *mut u8,
    len: u64,
}

impl MemView {
    pub const EMPTY: MemView = MemView {
        base: std::ptr::null_mut(),
        len: 0,
    };

    /// # Safety
    /// `base .. base + len` must stay mapped and writable while the view is used (true of a
    /// store's linear memory for the store's lifetime: it never moves or shrinks).
    pub unsafe fn new(base: *mut u8, len: usize) -> MemView {
        MemView {
            base,
            len: len as u64,
        }
    }

    /// The `N` bytes at `addr + offset`; `None` when they are out of bounds.
    #[inline(always)]
    pub fn get<const N: usize>(self, addr: u64, offset: u32) -> Option<[u8; N]> {
        let ea = (addr as u32 as u64) + offset as u64;
        if ea + N as u64 > self.len {
            return None;
        }
        // SAFETY: `ea + N <= len` was just checked and the view's memory is mapped.
        Some(unsafe { std::ptr::read_unaligned(self.base.add(ea as usize) as *const [u8; N]) })
    }

    /// Writes `bytes` at `addr + offset`; `false`, writing nothing, when out of bounds.
    #[inline(always)]
    pub fn put<const N: usize>(self, addr: u64, offset: u32, bytes: [u8; N]) -> bool {
        let ea = (addr as u32 as u64) + offset as u64;
        if ea + N as u64 > self.len {
            return false;
        }
        // SAFETY: as in `get`; wasm memory is plain bytes, any pattern is valid.
        unsafe { std::ptr::write_unaligned(self.base.add(ea as usize) as *mut [u8; N], bytes) };
        true
    }

    /// Where `width` bytes at address cell `addr` plus `offset` start, for any memory: an i32
    /// address uses the cell's low half, an i64 one (`is64`) all of it. `None` when the
    /// bytes are not all within the memory (including a sum past 2^64).
    #[inline]
    pub fn wide_ea(self, addr: u64, offset: u64, width: u64, is64: bool) -> Option<usize> {
        let addr = if is64 { addr } else { addr as u32 as u64 };
        let ea = addr.checked_add(offset)?;
        (ea.checked_add(width)? <= self.len).then_some(ea as usize)
    }

    /// Reads `width` (1, 2, 4 or 8) little-endian bytes at `addr + offset` as a cell.
    pub fn load_wide(self, addr: u64, offset: u64, width: u64, is64: bool) -> Result<u64, Trap> {
        let ea = self
            .wide_ea(addr, offset, width, is64)
            .ok_or_else(|| Trap::from(TrapCode::MemoryOutOfBounds))?;
        let mut bytes = [0u8; 8];
        // SAFETY: `wide_ea` checked `ea + width <= len`; the view's memory is mapped.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(ea), bytes.as_mut_ptr(), width as usize)
        };
        Ok(u64::from_le_bytes(bytes))
    }

    /// Writes the low `width` bytes of `val` at `addr + offset`, little-endian.
    pub fn store_wide(
        self,
        addr: u64,
        offset: u64,
        width: u64,
        is64: bool,
        val: u64,
    ) -> Result<(), Trap> {
        let ea = self
            .wide_ea(addr, offset, width, is64)
            .ok_or_else(|| Trap::from(TrapCode::MemoryOutOfBounds))?;
        let bytes = val.to_le_bytes();
        // SAFETY: as in `load_wide`; wasm memory is plain bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(ea), width as usize) };
        Ok(())
    }

    /// The `N` bytes at `addr + offset` of any memory (see `wide_ea`).
    pub fn load_n<const N: usize>(
        self,
        addr: u64,
        offset: u64,
        is64: bool,
    ) -> Result<[u8; N], Trap> {
        let ea = self
            .wide_ea(addr, offset, N as u64, is64)
            .ok_or_else(|| Trap::from(TrapCode::MemoryOutOfBounds))?;
        // SAFETY: as in `load_wide`.
        Ok(unsafe { std::ptr::read_unaligned(self.base.add(ea) as *const [u8; N]) })
    }

    /// Writes `bytes` at `addr + offset` of any memory (see `wide_ea`).
    pub fn store_n<const N: usize>(
        self,
        addr: u64,
        offset: u64,
        is64: bool,
        bytes: [u8; N],
    ) -> Result<(), Trap> {
        let ea = self
            .wide_ea(addr, offset, N as u64, is64)
            .ok_or_else(|| Trap::from(TrapCode::MemoryOutOfBounds))?;
        // SAFETY: as in `load_wide`.
        unsafe { std::ptr::write_unaligned(self.base.add(ea) as *mut [u8; N], bytes) };
        Ok(())
    }

    #[inline(always)]
    pub fn load<const N: usize>(self, addr: u64, offset: u32) -> Result<[u8; N], Trap> {
        self.get(addr, offset)
            .ok_or_else(|| TrapCode::MemoryOutOfBounds.into())
    }

    #[inline(always)]
    pub fn store<const N: usize>(self, addr: u64, offset: u32, bytes: [u8; N]) -> Result<(), Trap> {
        if self.put(addr, offset, bytes) {
            Ok(())
        } else {
            Err(TrapCode::MemoryOutOfBounds.into())
        }
    }
}

/// A translated function, referenced on the call path without reference counting.
///
/// Invariant: the function lives in an `InterpModule` owned by its `Module`'s tier state, and
/// the module is held by the store's instances for the store's lifetime; the executor borrows
/// the store for as long as it holds a `CodeRef`. Translated code is never freed or replaced.
#[derive(Clone, Copy)]
pub struct CodeRef {
    func: NonNull<CompiledFunc>,
    ops: *const Op,
    #[cfg(debug_assertions)]
    len: usize,
}

impl CodeRef {
    /// # Safety
    /// `func` must stay alive and unmoved while the `CodeRef` is used (see the invariant).
    pub unsafe fn new(func: &CompiledFunc) -> CodeRef {
        CodeRef {
            func: NonNull::from(func),
            ops: func.ops.as_ptr(),
            #[cfg(debug_assertions)]
            len: func.ops.len(),
        }
    }

    #[inline(always)]
    pub fn func(&self) -> &CompiledFunc {
        // SAFETY: alive by the type's invariant.
        unsafe { self.func.as_ref() }
    }

    /// The instruction at `pc`. The translator guarantees `pc` stays in range: every branch
    /// target is patched to an instruction of the function, and the code ends with a
    /// terminator followed by an `Unreachable` sentinel, so execution cannot run off the end.
    #[inline(always)]
    pub fn op(self, pc: usize) -> Op {
        #[cfg(debug_assertions)]
        assert!(pc < self.len, "interpreter pc out of range");
        // SAFETY: in range by the translator's guarantee above; alive by the invariant.
        unsafe { *self.ops.add(pc) }
    }
}
