//! Linear memory: a large virtual reservation of which the accessible prefix grows in place, so
//! the base address never moves (JIT code and the interpreter cache it).

use crate::mmap::Reservation;
use crate::types::{MemoryType, MAX_PAGES_32, MAX_PAGES_64_RESERVED, WASM_PAGE_SIZE};
use crate::vmctx::VMMemoryDefinition;

/// How out-of-bounds accesses are caught (design.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BoundsChecks {
    /// Reserve 8 GiB per 32-bit memory (plus a guard region before it) so that any
    /// `base + u32 + offset` lands in the reservation; faults are turned into traps.
    #[default]
    GuardPages,
    /// Compiled code checks every access against the current size.
    Explicit,
}

/// Bytes reserved after the base for a 32-bit memory in guard-page mode: 4 GiB addressable by
/// the index plus 4 GiB for the static offset.
pub const GUARD_RESERVATION: usize = 8 << 30;
/// Guard region before the base, against negative displacements in compiled code.
pub const GUARD_BEFORE: usize = 2 << 30;

#[derive(Debug)]
pub struct MemoryError(pub String);

pub struct LinearMemory {
    reservation: Reservation,
    /// Offset of wasm address 0 inside the reservation.
    offset: usize,
    /// Current size in bytes (a multiple of the page size).
    byte_len: usize,
    ty: MemoryType,
    /// Base and length as JIT code reads them (boxed: stable while the store's vector grows).
    def: Box<VMMemoryDefinition>,
}

impl std::fmt::Debug for LinearMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearMemory")
            .field("pages", &self.pages())
            .field("ty", &self.ty)
            .finish()
    }
}

/// Pages a memory of type `ty` can grow to here: its maximum, capped by what a 32-bit index
/// reaches, or for a 64-bit memory by the address space Strata reserves for one (a `grow`
/// beyond it fails with -1, which the spec allows).
fn max_pages_of(ty: &MemoryType) -> u64 {
    let cap = if ty.memory64 {
        MAX_PAGES_64_RESERVED
    } else {
        MAX_PAGES_32
    };
    ty.limits.max.unwrap_or(cap).min(cap)
}

impl LinearMemory {
    pub fn new(ty: MemoryType, mode: BoundsChecks) -> Result<LinearMemory, MemoryError> {
        let max_pages = max_pages_of(&ty);
        if ty.limits.min > max_pages {
            return Err(MemoryError(format!(
                "memory minimum of {} pages exceeds the maximum",
                ty.limits.min
            )));
        }
        let (offset, len) = match mode {
            // A 64-bit index is never covered by a guard region: every tier checks accesses
            // to a 64-bit memory explicitly (docs/abi.md), so it needs no guard either.
            BoundsChecks::GuardPages if !ty.memory64 => {
                (GUARD_BEFORE, GUARD_BEFORE + GUARD_RESERVATION)
            }
            // Explicit checks need no guard; reserve only what the memory can grow to.
            _ => (0, (max_pages * WASM_PAGE_SIZE) as usize),
        };
        let reservation = Reservation::new(len)
            .map_err(|e| MemoryError(format!("cannot reserve linear memory: {e}")))?;
        let mut mem = LinearMemory {
            reservation,
            offset,
            byte_len: 0,
            ty,
            def: Box::new(VMMemoryDefinition {
                base: std::ptr::null_mut(),
                len: 0,
            }),
        };
        mem.def.base = mem.base();
        mem.set_pages(ty.limits.min)?;
        Ok(mem)
    }

    fn set_pages(&mut self, pages: u64) -> Result<(), MemoryError> {
        let bytes = (pages * WASM_PAGE_SIZE) as usize;
        self.reservation
            .make_accessible(self.offset + bytes)
            .map_err(|e| MemoryError(format!("cannot commit linear memory: {e}")))?;
        self.byte_len = bytes;
        self.def.len = bytes;
        Ok(())
    }

    pub fn ty(&self) -> MemoryType {
        let mut ty = self.ty;
        ty.limits.min = self.pages();
        ty
    }

    pub fn pages(&self) -> u64 {
        self.byte_len as u64 / WASM_PAGE_SIZE
    }

    pub fn byte_len(&self) -> usize {
        self.byte_len
    }

    pub fn max_pages(&self) -> u64 {
        max_pages_of(&self.ty)
    }

    /// Whether addresses into this memory are i64 (memory64).
    pub fn is_64(&self) -> bool {
        self.ty.memory64
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` when the memory cannot
    /// grow that far (the wasm result -1).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages() {
            return None;
        }
        self.set_pages(new).ok()?;
        Some(old)
    }

    /// The definition JIT code reads (base and current length).
    pub fn definition(&self) -> *const VMMemoryDefinition {
        &*self.def
    }

    /// Address of wasm address 0. Stable for the memory's lifetime.
    pub fn base(&self) -> *mut u8 {
        // SAFETY-free: pointer arithmetic within our own reservation (offset < len).
        self.reservation.base().wrapping_add(self.offset)
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: [base, base+byte_len) is mapped read-write and owned by `self`; the shared
        // borrow of `self` prevents growth or mutation through `data_mut` meanwhile.
        unsafe { std::slice::from_raw_parts(self.base(), self.byte_len) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, with exclusive access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.byte_len) }
    }
}
