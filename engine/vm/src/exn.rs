//! Exception objects (design.md §11, docs/abi.md §10): the store's exception heap and the
//! `exnref` cell encoding every tier shares.
//!
//! An exception is a tag (its store address, so aliases of one imported tag are the same
//! tag) and its payload cells. An `exnref` is one cell: heap index + 1, 0 = null. Without a
//! collector (design.md §14) an object lives until the store is dropped, except one caught by
//! a handler that keeps no reference to it, which is freed at once: the common
//! throw-and-catch loop reuses one slot. Objects a program keeps references to are bounded by
//! [`MAX_LIVE_EXCEPTIONS`].

use crate::store::TagAddr;
use crate::trap::Trap;

/// Exceptions that may be alive at once in one store; one more is a host error, so a guest
/// that keeps references in a loop cannot exhaust host memory.
pub const MAX_LIVE_EXCEPTIONS: usize = 1 << 20;

/// One exception object.
#[derive(Clone, Debug)]
pub struct ExnData {
    pub tag: TagAddr,
    /// The tag's parameters as cells (a v128 takes two, docs/abi.md §1).
    pub payload: Box<[u64]>,
    /// Whether an `exnref` to this object was ever handed out (a `_ref` catch, a legacy
    /// catch kept for `rethrow`, the host): then it is never freed.
    pub escaped: bool,
}

/// The store's exception objects, with a free list of released slots.
#[derive(Default, Debug)]
pub struct ExnHeap {
    slots: Vec<Option<ExnData>>,
    free: Vec<u32>,
}

impl ExnHeap {
    /// A new exception of `tag` with `payload`; returns its (non-null) `exnref` cell.
    pub fn alloc(&mut self, tag: TagAddr, payload: &[u64]) -> Result<u64, Trap> {
        let data = ExnData {
            tag,
            payload: payload.into(),
            escaped: false,
        };
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(data);
            return Ok(i as u64 + 1);
        }
        if self.slots.len() >= MAX_LIVE_EXCEPTIONS {
            return Err(Trap::host(format!(
                "too many live exceptions (more than {MAX_LIVE_EXCEPTIONS} exception references kept)"
            )));
        }
        self.slots.push(Some(data));
        Ok(self.slots.len() as u64)
    }

    /// The object of a non-null `exnref` cell.
    pub fn get(&self, cell: u64) -> Option<&ExnData> {
        self.slots.get(cell.checked_sub(1)? as usize)?.as_ref()
    }

    /// Marks the object as referenced from somewhere that outlives the catch (so it is
    /// never freed).
    pub fn keep(&mut self, cell: u64) {
        if let Some(Some(e)) = cell
            .checked_sub(1)
            .and_then(|i| self.slots.get_mut(i as usize))
        {
            e.escaped = true;
        }
    }

    /// A handler that keeps no reference caught the exception: free it unless a reference
    /// to it was handed out before.
    pub fn release(&mut self, cell: u64) {
        let Some(i) = cell.checked_sub(1) else { return };
        if let Some(slot) = self.slots.get_mut(i as usize) {
            if slot.as_ref().is_some_and(|e| !e.escaped) {
                *slot = None;
                self.free.push(i as u32);
            }
        }
    }

    /// Objects alive now (tests).
    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_without_reference_is_reused_kept_is_not() {
        let mut h = ExnHeap::default();
        let a = h.alloc(3, &[1, 2]).unwrap();
        assert_eq!(h.get(a).unwrap().payload[..], [1, 2]);
        h.release(a);
        assert_eq!(h.live(), 0);
        let b = h.alloc(4, &[]).unwrap();
        assert_eq!(a, b, "a freed slot is reused");
        h.keep(b);
        h.release(b);
        assert_eq!(h.live(), 1, "a kept exception stays");
        assert_eq!(h.get(b).unwrap().tag, 4);
        assert!(h.get(0).is_none(), "null");
    }
}
