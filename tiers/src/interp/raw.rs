//! The interpreter's only `unsafe`: unchecked frame-slot access and bounds-checked linear
//! memory access through cached raw pointers.

use super::code::Reg;
use strata_vm::{Trap, TrapCode};

/// The current frame's slots.
///
/// Invariant (established by `Slots::new`'s caller, the executor): the frame starts at `base`
/// and `frame_size` cells from there are inside the value stack; every `Reg` in the function's
/// code is below `frame_size`, which the translator guarantees (it sizes the frame as locals
/// plus the maximum operand height, and only ever names slots below that).
#[derive(Clone, Copy)]
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

/// A view of the current instance's memory 0: its base and current byte length. A stale view
/// is still safe: memories never move and never shrink, so an old length only rejects more.
#[derive(Clone, Copy)]
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

    #[inline(always)]
    fn check<const N: usize>(self, addr: u64, offset: u32) -> Result<usize, Trap> {
        let ea = (addr as u32 as u64) + offset as u64;
        if ea + N as u64 > self.len {
            return Err(TrapCode::MemoryOutOfBounds.into());
        }
        Ok(ea as usize)
    }

    #[inline(always)]
    pub fn load<const N: usize>(self, addr: u64, offset: u32) -> Result<[u8; N], Trap> {
        let ea = self.check::<N>(addr, offset)?;
        // SAFETY: `ea + N <= len` was just checked and the view's memory is mapped.
        Ok(unsafe { std::ptr::read_unaligned(self.base.add(ea) as *const [u8; N]) })
    }

    #[inline(always)]
    pub fn store<const N: usize>(self, addr: u64, offset: u32, bytes: [u8; N]) -> Result<(), Trap> {
        let ea = self.check::<N>(addr, offset)?;
        // SAFETY: as in `load`; wasm memory is plain bytes, any pattern is valid.
        unsafe { std::ptr::write_unaligned(self.base.add(ea) as *mut [u8; N], bytes) };
        Ok(())
    }
}
