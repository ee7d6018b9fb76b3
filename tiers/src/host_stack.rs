//! How much host (machine) stack is left, for the checks that keep nested activations
//! (host -> wasm -> host ..., interpreter <-> JIT) from overflowing it. Asking the OS for the
//! thread's stack bounds is slow (on the main thread glibc parses /proc/self/maps), so the
//! low bound is found once per thread and each check is a subtraction.

use std::cell::Cell;

thread_local! {
    /// Lowest usable stack address of this thread (0: not yet known).
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// Bytes of host stack left below the caller's frame (`usize::MAX / 2` when the bounds are
/// unknown: then no check can fail).
#[inline]
pub fn remaining() -> usize {
    let marker = 0u8;
    let here = &marker as *const u8 as usize;
    let low = STACK_LOW.with(|low| {
        if low.get() == 0 {
            if let Some(left) = stacker::remaining_stack() {
                low.set(here.saturating_sub(left));
            }
        }
        low.get()
    });
    if low == 0 {
        usize::MAX / 2
    } else {
        here.saturating_sub(low)
    }
}
