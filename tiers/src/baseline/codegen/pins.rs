//! Locals pinned in registers across a loop's back-edges (the baseline's loop-carried
//! values).
//!
//! A local's cell is always up to date (`local.set` writes through); a free register may
//! also hold a copy (`Gen::lcache`). Before pinning, every label dropped those copies, so a
//! loop body read its locals from the frame on every iteration. Now each loop gets a fixed
//! assignment of its most-read locals to registers (`Gen::loop_pins`, from a scan of the
//! loop's body when the loop is reached), and every label inside the loop keeps it:
//!
//! - The label of a frame holds its pinned locals (`Labels::cache`; a loop's own, other
//!   frames inherit their parent's): at the label, register `k` holds local `c`'s current
//!   value for each pair. Every edge into the label establishes that (`establish_pins`): the
//!   loop's entry, branches (after their values went to the slots; on a conditional path
//!   without changing the abstract state), an `if`'s jump to its else arm, fall-through
//!   into an `end`. What is missing is copied from another register holding the local or
//!   loaded from the local's cell, which is always current.
//! - Inside the body a pinned register is an ordinary cached copy: the allocator takes it
//!   last (`Gen::alloc_gpr`, `alloc_xmm`), a call or a write of the local drops it, and the
//!   next edge puts it back.
//! - An OSR entry and a loop header's check point (after its helper call) load the pinned
//!   locals from their cells before they reach the header. Traps, calls, throws and the
//!   tier manager read cells, which write-through keeps current.

use super::{Gen, PinRange};
use crate::baseline::abi::*;
use crate::baseline::masm::fp_op;
use crate::baseline::stack::{Loc, Ty};
use dynasmrt::{dynasm, DynasmApi};
use strata_vm::frontend::ControlKind as Kind;
use wasmparser::{Operator, OperatorsReader};

/// At most this many general registers pinned per loop (of 8 allocatable: the rest serve the
/// loop's temporaries without evicting a pinned local).
const MAX_GPR_PINS: usize = 4;
/// At most this many XMM registers pinned per loop (of 15).
const MAX_XMM_PINS: usize = 8;
/// General registers to pin, in order: the allocator's last choices before rax/rdx, never
/// rcx (shift counts), rax or rdx (division).
const GPR_PINS: [u8; 4] = [R9, R8, RDI, RSI];
/// XMM registers to pin, in order (`lcache` indices, 16 + n): the allocator takes the low
/// ones first.
const XMM_PINS: [u8; 8] = [30, 29, 28, 27, 26, 25, 24, 23];
/// Loops nested deeper than this inherit nothing new (each level rescans its body: a bound
/// on the scans' cost).
const MAX_PINNED_NESTING: usize = 6;
/// Placeholder register of a pair not assigned yet.
const UNASSIGNED: u8 = u8::MAX;

impl Gen<'_> {
    /// The pinned locals of the innermost open frame (those an `if` pushed now inherits).
    pub(super) fn parent_pins(&self) -> PinRange {
        self.ctrl.last().map_or((0, 0), |f| f.payload.cache)
    }

    /// Whether every pinned local of `pins` is in its register now.
    pub(super) fn pins_hold(&self, (s, e): PinRange) -> bool {
        self.pins[s as usize..e as usize]
            .iter()
            .all(|&(k, c)| self.lcached & (1 << k) != 0 && self.lcache[k as usize] == c)
    }

    /// Whether no register of `pins` holds a stack value (establishing them then only
    /// changes what is cached).
    pub(super) fn pins_free(&self, (s, e): PinRange) -> bool {
        self.pins[s as usize..e as usize]
            .iter()
            .all(|&(k, _)| !self.regs.is_used(k >= 16, k & 15))
    }

    /// The state at a label with `pins`: those registers hold their locals, nothing else
    /// is cached.
    pub(super) fn hold_exactly(&mut self, (s, e): PinRange) {
        self.forget_all();
        for i in s..e {
            let (k, c) = self.pins[i as usize];
            self.lcache[k as usize] = c;
            self.lcached |= 1 << k;
        }
    }

    /// Puts the locals of `pins` that are not in their registers there (moves and loads
    /// only: flags survive). With `update` the abstract state records it (all registers
    /// must be free); without, the code is on a path that leaves (a branch) and the state is
    /// unchanged.
    pub(super) fn establish_pins(&mut self, (s, e): PinRange, update: bool) {
        if s == e {
            return;
        }
        let dests = self.pins[s as usize..e as usize]
            .iter()
            .fold(0u32, |m, &(k, _)| m | 1 << k);
        for i in s..e {
            let (k, c) = self.pins[i as usize];
            if self.lcached & (1 << k) != 0 && self.lcache[k as usize] == c {
                continue;
            }
            // A copy in a register of the same class that no pair writes: still valid while
            // the pairs are put in place.
            let class = if k >= 16 { 0xffff_0000 } else { 0xffff };
            let mut m = self.lcached & class & !dests;
            let mut src = None;
            while m != 0 {
                let r = m.trailing_zeros() as u8;
                if self.lcache[r as usize] == c {
                    src = Some(r);
                    break;
                }
                m &= m - 1;
            }
            match src {
                Some(y) => self.move_pin(k, y),
                None => self.load_pin(k, c),
            }
            if update {
                self.lcache[k as usize] = c;
                self.lcached |= 1 << k;
            }
        }
    }

    /// Loads every local of `pins` from its cell (entries from outside the body's code:
    /// OSR, a check point's return).
    pub(super) fn load_pins(&mut self, (s, e): PinRange) {
        for i in s..e {
            let (k, c) = self.pins[i as usize];
            self.load_pin(k, c);
        }
    }

    fn load_pin(&mut self, k: u8, c: u32) {
        let d = cell_disp(c);
        let a = &mut *self.asm;
        let x = k.wrapping_sub(16);
        match self.local_tys[c as usize] {
            Ty::I32 => fp_op!(a, d; {mov Rd(k), DWORD} {}),
            Ty::I64 => fp_op!(a, d; {mov Rq(k), QWORD} {}),
            Ty::F32 => fp_op!(a, d; {movss Rx(x), DWORD} {}),
            Ty::F64 => fp_op!(a, d; {movsd Rx(x), QWORD} {}),
            Ty::V128 | Ty::V128Hi => fp_op!(a, d; {movdqu Rx(x), OWORD} {}),
        }
    }

    fn move_pin(&mut self, k: u8, y: u8) {
        let a = &mut *self.asm;
        if k >= 16 {
            dynasm!(a ; .arch x64 ; movaps Rx(k - 16), Rx(y - 16));
        } else {
            dynasm!(a ; .arch x64 ; mov Rq(k), Rq(y));
        }
    }

    /// The pinned locals of the loop whose `loop` is being compiled (`wasm_at`): its most
    /// read locals (reads in nested loops weigh more), up to `MAX_GPR_PINS` integers and
    /// `MAX_XMM_PINS` floats and v128s, each in the register that already holds it if it is
    /// a pin register, else in a free pin register. Appended to `pins`; returns the range.
    pub(super) fn loop_pins(&mut self) -> PinRange {
        let start = self.pins.len() as u32;
        let nesting = self
            .ctrl
            .frames()
            .iter()
            .filter(|f| f.kind == Kind::Loop)
            .count();
        if nesting >= MAX_PINNED_NESTING {
            return (start, start);
        }
        let scanned = self.scan_loop();
        let mut touched = std::mem::take(&mut self.scan_touched);
        if scanned {
            let w = &self.scan_w;
            touched.sort_unstable_by_key(|&i| (std::cmp::Reverse(w[i as usize]), i));
            let (mut gprs, mut xmms) = (0, 0);
            for &i in &touched {
                let c = self.local_cells[i as usize];
                if self.local_tys[c as usize].in_xmm() {
                    if xmms < MAX_XMM_PINS {
                        xmms += 1;
                        self.pins.push((UNASSIGNED, c));
                    }
                } else if gprs < MAX_GPR_PINS {
                    gprs += 1;
                    self.pins.push((UNASSIGNED, c));
                }
            }
        }
        for &i in &touched {
            self.scan_w[i as usize] = 0;
        }
        touched.clear();
        self.scan_touched = touched;
        self.assign_pins(start);
        (start, self.pins.len() as u32)
    }

    /// Chooses the registers of the pairs from `start` on: where the local is already (a pin
    /// register), then free pin registers, those caching nothing first.
    fn assign_pins(&mut self, start: u32) {
        let end = self.pins.len();
        let mut taken = 0u32;
        for j in start as usize..end {
            let c = self.pins[j].1;
            let (held, order): (Option<u8>, &[u8]) = if self.local_tys[c as usize].in_xmm() {
                (self.cached_xmm(Loc::Local(c)).map(|x| x + 16), &XMM_PINS)
            } else {
                (self.cached_local(Loc::Local(c)), &GPR_PINS)
            };
            if let Some(r) = held.filter(|r| order.contains(r) && taken & (1 << r) == 0) {
                self.pins[j].0 = r;
                taken |= 1 << r;
            }
        }
        for j in start as usize..end {
            if self.pins[j].0 != UNASSIGNED {
                continue;
            }
            let c = self.pins[j].1;
            let order: &[u8] = if self.local_tys[c as usize].in_xmm() {
                &XMM_PINS
            } else {
                &GPR_PINS
            };
            let free = |r: &&u8| taken & (1 << **r) == 0;
            let r = order
                .iter()
                .filter(free)
                .find(|&&r| self.lcached & (1 << r) == 0)
                .or_else(|| order.iter().find(free))
                .copied()
                .unwrap_or(UNASSIGNED);
            self.pins[j].0 = r;
            taken |= 1 << r;
        }
        // The caps never exceed the pin registers; a pair without one would be dropped.
        self.pins.retain(|&(k, _)| k != UNASSIGNED);
    }

    /// Weighs the reads of each local in the body of the loop at `wasm_at` (`scan_w` by
    /// local index, `scan_touched` lists the indices). `false` if the body did not decode
    /// (the compiling pass reports that).
    fn scan_loop(&mut self) -> bool {
        let skip = (self.wasm_at - self.ops_at) as usize;
        let mut r = self.ops.clone();
        if r.read_bytes(skip).is_err() {
            return false;
        }
        let mut ops = OperatorsReader::new(r);
        let (mut depth, mut loops, mut nest) = (0u32, 0u64, 0u32);
        loop {
            let Ok(op) = ops.read() else { return false };
            match op {
                Operator::Block { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. }
                | Operator::Try { .. } => depth += 1,
                Operator::Loop { .. } => {
                    if depth < 64 {
                        loops |= 1 << depth;
                    }
                    depth += 1;
                    nest += 1;
                }
                Operator::End | Operator::Delegate { .. } => {
                    let Some(d) = depth.checked_sub(1) else {
                        return false;
                    };
                    depth = d;
                    if depth < 64 && loops & (1 << depth) != 0 {
                        loops &= !(1 << depth);
                        nest -= 1;
                    }
                    if depth == 0 {
                        return true;
                    }
                }
                Operator::LocalGet { local_index } => {
                    let w = 1u32 << (2 * nest.saturating_sub(1)).min(16);
                    if let Some(s) = self.scan_w.get_mut(local_index as usize) {
                        if *s == 0 {
                            self.scan_touched.push(local_index);
                        }
                        *s = s.saturating_add(w);
                    }
                }
                _ => {}
            }
        }
    }
}
