//! Virtual memory reservations for linear memories. The only `unsafe` of the runtime's memory
//! management lives here.

use std::io;
use std::ptr::NonNull;

/// An anonymous mapping reserved `PROT_NONE`, of which a prefix is made read-write on demand.
/// Pages beyond the accessible prefix stay inaccessible, so they act as guard pages.
pub struct Reservation {
    base: NonNull<u8>,
    len: usize,
    accessible: usize,
}

// SAFETY: the reservation is plain memory owned by this value; access is synchronised by the
// owner (the store), like a `Vec<u8>`.
unsafe impl Send for Reservation {}
// SAFETY: shared access only reads the base pointer and sizes.
unsafe impl Sync for Reservation {}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size <= 0 {
        4096
    } else {
        size as usize
    }
}

impl Reservation {
    /// Reserves `len` bytes of address space, all inaccessible.
    pub fn new(len: usize) -> io::Result<Reservation> {
        let len = len.max(page_size());
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches
        // no existing memory. MAP_NORESERVE: the reservation costs no commit charge.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Reservation {
            base: NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?,
            len,
            accessible: 0,
        })
    }

    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }
    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.len
    }
    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[allow(dead_code)]
    pub fn accessible(&self) -> usize {
        self.accessible
    }

    /// Makes the first `size` bytes read-write (`size` is rounded up to whole host pages).
    /// Only grows: memory never shrinks in wasm.
    pub fn make_accessible(&mut self, size: usize) -> io::Result<()> {
        let page = page_size();
        let size = size.div_ceil(page) * page;
        if size > self.len {
            return Err(io::Error::other("beyond the reservation"));
        }
        if size <= self.accessible {
            return Ok(());
        }
        // SAFETY: the range [accessible, size) lies inside our own mapping.
        let rc = unsafe {
            libc::mprotect(
                self.base.as_ptr().add(self.accessible).cast(),
                size - self.accessible,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        self.accessible = size;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly the mapping made in `new`, unmapped once.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// The value stack of one activation from the host: `cells` zeroed u64 cells.
///
/// It is mapped rather than allocated: a fresh store's first call would otherwise `memset` the
/// whole stack (8 MiB by default, since the allocator serves a block of that size again from
/// its heap once one has been freed) and make every page of it resident. A mapping's pages are
/// zeroed by the kernel when first touched, so a call pays only for the stack it uses.
pub struct ValueStack {
    cells: NonNull<u64>,
    len: usize,
    /// Set when the mapping failed and the cells live on the heap instead.
    heap: Option<Box<[u64]>>,
}

// SAFETY: the stack is plain memory owned by this value, like a `Box<[u64]>`.
unsafe impl Send for ValueStack {}
// SAFETY: shared access only reads through `&self`, like a `Box<[u64]>`.
unsafe impl Sync for ValueStack {}

impl ValueStack {
    /// `cells` usable cells, then `abi::VALUE_STACK_RED_ZONE` more that only leaf JIT
    /// frames reach (zeroed and mapped like the rest; not part of the slice).
    pub fn new(cells: usize) -> ValueStack {
        let bytes = Self::mapped_cells(cells) * 8;
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches
        // no existing memory; its pages read as zero.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        match NonNull::new(ptr.cast::<u64>()) {
            Some(cells_ptr) if ptr != libc::MAP_FAILED => ValueStack {
                cells: cells_ptr,
                len: cells,
                heap: None,
            },
            _ => {
                let mut heap = vec![0u64; Self::mapped_cells(cells)].into_boxed_slice();
                ValueStack {
                    cells: NonNull::new(heap.as_mut_ptr()).unwrap_or(NonNull::dangling()),
                    len: cells,
                    heap: Some(heap),
                }
            }
        }
    }
}

impl ValueStack {
    fn mapped_cells(cells: usize) -> usize {
        cells.max(1) + crate::abi::VALUE_STACK_RED_ZONE
    }
}

impl std::ops::Deref for ValueStack {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        // SAFETY: `cells` points to `len` initialised (zero-filled or written) u64s owned by
        // this value: either its mapping or its heap block.
        unsafe { std::slice::from_raw_parts(self.cells.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for ValueStack {
    fn deref_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.cells.as_ptr(), self.len) }
    }
}

impl Drop for ValueStack {
    fn drop(&mut self) {
        if self.heap.is_none() {
            // SAFETY: `cells`/`len` are exactly the mapping made in `new`, unmapped once.
            unsafe {
                libc::munmap(self.cells.as_ptr().cast(), Self::mapped_cells(self.len) * 8);
            }
        }
    }
}
