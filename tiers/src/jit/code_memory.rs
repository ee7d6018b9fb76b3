//! W^X code memory (design.md §2): finished machine code is copied into a fresh anonymous
//! mapping that is then made read+execute and is never writable again. A mapping lives as long
//! as the module's compiled code (never freed while a frame may run in it: the module outlives
//! every instance and activation that uses it).
//!
//! The process-wide registry of code ranges lets the signal handler map a faulting pc to its
//! trap table without allocating.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use strata_vm::{FrameInfo, TrapCode};

const PAGE: usize = 4096;

/// An executable mapping holding one or more functions.
pub struct CodeMemory {
    ptr: *mut u8,
    len: usize,
    /// Bytes of code pages (read+execute) at the start; the rest are data pages.
    exec: usize,
    /// Where the code starts in the first page (`CodeMemory::new`'s stagger).
    start: usize,
}

/// Start offsets handed to successive code-only mappings: 9 cache lines apart, so 64
/// mappings in a row start at 64 different cache-line offsets of their first page.
static STAGGER: AtomicUsize = AtomicUsize::new(0);
const STAGGER_STEP: usize = 9 * 64;

// SAFETY: the code pages are immutable once made executable, and the data pages are only
// written by JIT code and read through raw pointers; sharing the address is harmless.
unsafe impl Send for CodeMemory {}
// SAFETY: as above.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Copies `code` into a new mapping and makes it read+execute. Successive mappings put
    /// their code at different cache-line offsets of the first page: tiered execution maps
    /// each optimized function on its own, and entries all at offset 0 of their pages
    /// compete for the same instruction-cache sets and branch-predictor entries (a program
    /// that calls a dozen small functions through a table ran 13% slower tiered than with
    /// the same code packed by a whole-module compile).
    pub fn new(code: &[u8]) -> io::Result<CodeMemory> {
        let start = STAGGER.fetch_add(STAGGER_STEP, Ordering::Relaxed) % PAGE;
        let mut padded = Vec::with_capacity(start + code.len());
        padded.resize(start, 0xcc);
        padded.extend_from_slice(code);
        let mut mem = Self::map(&padded, padded.len(), 0)?;
        mem.start = start;
        Ok(mem)
    }

    /// As `new`, but the pages from `data_from` (a multiple of the page size) on stay
    /// read+write and are never executable: data the code reaches `rip`-relative (baseline
    /// code's tier-up budgets), so W^X still holds for every page.
    pub fn new_with_data(bytes: &[u8], data_from: usize) -> io::Result<CodeMemory> {
        if !data_from.is_multiple_of(PAGE) || data_from > bytes.len() {
            return Err(io::Error::other("code memory: data not page-aligned"));
        }
        Self::map(bytes, data_from, 0)
    }

    /// As `new`, in the low 2 GiB of the address space (`MAP_32BIT`), so that addresses in
    /// the code fit in 32 bits (the interpreter's handlers use that for dispatch).
    pub fn new_low(code: &[u8]) -> io::Result<CodeMemory> {
        let mem = Self::map(code, code.len(), libc::MAP_32BIT)?;
        if mem.ptr as usize + mem.len > u32::MAX as usize {
            return Err(io::Error::other("MAP_32BIT mapping above 4 GiB"));
        }
        Ok(mem)
    }

    /// Maps `bytes`; the pages below `exec_len` (rounded up) become read+execute, the rest
    /// stays read+write.
    fn map(bytes: &[u8], exec_len: usize, extra_flags: libc::c_int) -> io::Result<CodeMemory> {
        let len = bytes.len().max(1).div_ceil(PAGE) * PAGE;
        let exec = exec_len.max(1).div_ceil(PAGE) * PAGE;
        // SAFETY: a fresh anonymous private mapping touches no existing memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                // Populated up front: the copy below writes every page anyway, and one
                // kernel call is cheaper than a fault per page.
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE | extra_flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = ptr.cast::<u8>();
        // SAFETY: `ptr` is a writable mapping of `len >= bytes.len()` bytes that nothing else
        // references yet; afterwards its code pages are flipped to read+execute and never
        // written again (the data pages are never made executable).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
            if libc::mprotect(ptr.cast(), exec.min(len), libc::PROT_READ | libc::PROT_EXEC) != 0 {
                let e = io::Error::last_os_error();
                libc::munmap(ptr.cast(), len);
                return Err(e);
            }
        }
        Ok(CodeMemory {
            ptr,
            len,
            exec: exec.min(len),
            start: 0,
        })
    }

    /// Where the code starts (offset 0 of what was copied in).
    pub fn base(&self) -> *const u8 {
        self.ptr.wrapping_add(self.start)
    }

    /// The code bytes (for disassembly): the code pages from `base`, without data pages.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the code pages are readable for `exec` bytes from `ptr` and immutable while
        // `self` lives; `start < exec`.
        unsafe { std::slice::from_raw_parts(self.base(), self.exec - self.start) }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `new`; its owner (a module's code) is dropped
        // only when no instance, hence no frame, can run in it any more.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// Where traps can occur in one mapping: sorted (code offset, trap code) pairs; and which
/// function each code offset belongs to, for backtraces.
pub struct TrapTable {
    pub start: usize,
    pub end: usize,
    pub sites: Box<[(u32, TrapCode)]>,
    /// Sorted (code offset, wasm offset) pairs: the wasm instruction at each fault site,
    /// and at each trap site's and call's return address less one (`jit::publish_with_offsets`).
    pub wasm_offsets: Box<[(u32, u32)]>,
    /// Functions by code offset, sorted.
    pub funcs: Box<[FuncStart]>,
    pub module_name: Option<Box<str>>,
    /// Call sites and exception handlers (`super::unwind`), read only while an exception
    /// is unwinding.
    pub unwind: super::unwind::UnwindInfo,
}

impl TrapTable {
    /// Whether `pc` lies in this mapping.
    #[inline]
    pub fn contains(&self, pc: usize) -> bool {
        pc >= self.start && pc < self.end
    }

    pub fn lookup(&self, pc: usize) -> Option<TrapCode> {
        if pc < self.start || pc >= self.end {
            return None;
        }
        let off = (pc - self.start) as u32;
        self.sites
            .binary_search_by_key(&off, |s| s.0)
            .ok()
            .map(|i| self.sites[i].1)
    }
}

/// Where a function's code starts in a mapping.
pub struct FuncStart {
    pub offset: u32,
    pub func_index: u32,
    pub name: Option<Box<str>>,
}

impl TrapTable {
    /// The function whose code contains `pc`, with the wasm offset recorded for `pc` (a
    /// fault site, or a trap site's or call's return address less one).
    pub fn frame_at(&self, pc: usize) -> Option<FrameInfo> {
        if pc < self.start || pc >= self.end {
            return None;
        }
        let off = (pc - self.start) as u32;
        let wasm_offset = self
            .wasm_offsets
            .binary_search_by_key(&off, |e| e.0)
            .ok()
            .map(|i| self.wasm_offsets[i].1);
        let i = self
            .funcs
            .partition_point(|f| f.offset <= off)
            .checked_sub(1)?;
        let f = &self.funcs[i];
        Some(FrameInfo {
            func_index: f.func_index,
            func_name: f.name.as_deref().map(str::to_string),
            module_name: self.module_name.as_deref().map(str::to_string),
            wasm_offset,
        })
    }
}

static REGISTRY: RwLock<Vec<Arc<TrapTable>>> = RwLock::new(Vec::new());
static ANY_REGISTERED: AtomicBool = AtomicBool::new(false);

/// Makes a mapping's trap sites known to the signal handler.
pub fn register(table: Arc<TrapTable>) {
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    r.push(table);
    ANY_REGISTERED.store(true, Ordering::Release);
}

/// Forgets a mapping (before it is unmapped).
pub fn unregister(start: usize) {
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    r.retain(|t| t.start != start);
}

/// Called from the signal handler: the trap at `pc`, if `pc` is a trap site of JIT code.
/// Never blocks indefinitely: a writer holds the lock only to push or remove one entry, so
/// `try_read` is retried a bounded number of times.
pub fn lookup_trap(pc: usize) -> Option<TrapCode> {
    if !ANY_REGISTERED.load(Ordering::Acquire) {
        return None;
    }
    for _ in 0..1_000_000 {
        if let Ok(r) = REGISTRY.try_read() {
            return r.iter().find_map(|t| t.lookup(pc));
        }
        std::hint::spin_loop();
    }
    None
}

/// Whether `pc` lies in any registered JIT code (for backtraces and tests).
pub fn is_jit_pc(pc: usize) -> bool {
    let r = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    r.iter().any(|t| pc >= t.start && pc < t.end)
}

/// The table of the mapping that contains `pc` (exception unwinding; not signal-safe).
pub fn table_at(pc: usize) -> Option<Arc<TrapTable>> {
    let r = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    r.iter().find(|t| t.contains(pc)).cloned()
}

/// The wasm function whose compiled code contains `pc`, with `pc`'s wasm offset when the
/// code recorded one (backtraces; not signal-safe).
pub fn frame_at(pc: usize) -> Option<FrameInfo> {
    let r = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    r.iter().find_map(|t| t.frame_at(pc))
}
