//! Superinstructions chosen per function at translation time, from the function's own code
//! (issue 19): the fixed pair list of `emit_handlers` was chosen from the benchmark
//! programs' dynamic profiles and bought little on code it was not chosen from.
//!
//! `prepare` counts the function's adjacent instruction pairs, weighted by loop nesting (a
//! static stand-in for a dynamic profile: a pair inside two loops counts 8x one inside one),
//! and asks here for the heaviest pairs that have no superinstruction yet. They are
//! generated like the fixed ones (`Gen::sequence`, from the kinds' own handler generators)
//! into a new low mapping, once per process: later functions and modules that need the same
//! pair reuse it. Absolute threading only (word 0 is the handler's address, so a new handler
//! needs no tag). Safe Rust that appends bytes.

use super::handlers::{sequence_starters, Emitter, Gen, Shape};
use super::*;

/// Pairs one function may add, and all pairs a process may add (a bound on the code and on
/// the translation time spent generating it).
pub(super) const PER_FUNCTION: usize = 12;
const PER_PROCESS: usize = 1024;
const _: () = assert!(PER_PROCESS < u16::MAX as usize);

/// The handlers of one generated pair: `second_variants` as in `Pair`, and per combination
/// of accumulator variants (`first`'s major) its address.
pub(super) struct Made {
    pub(super) second_variants: u8,
    pub(super) addrs: Box<[u32]>,
}

/// What generates pairs after start-up, and the pairs generated so far.
pub(super) struct DynPairs {
    /// Per instruction kind: its handler generator and its number of accumulator variants.
    emitters: Vec<Option<(Emitter, u8)>>,
    /// Per handler tag, what it leaves in the accumulators (`Gen::leaves` of `build`).
    leaves: Vec<u8>,
    /// Per instruction kind, whether it can start a sequence.
    starts: Vec<bool>,
    /// Generated pairs, and per `first * Op::COUNT + second` the index of theirs in `made`
    /// plus one (0: none). A flat table: `prepare` looks up every instruction pair.
    made: Vec<Made>,
    index: Box<[u16]>,
    /// The mappings of generated handlers (kept for the process's life: code refers to them).
    chunks: Vec<CodeMemory>,
    /// Where the generated handlers exit to (the address of `build`'s exit).
    exit: u32,
    align: usize,
    /// A mapping failed: no more pairs.
    failed: bool,
}

impl DynPairs {
    pub(super) fn new(
        emitters: Vec<Option<(Emitter, u8)>>,
        leaves: Vec<u8>,
        exit: u32,
        align: usize,
    ) -> DynPairs {
        let starts = sequence_starters(&emitters);
        DynPairs {
            emitters,
            leaves,
            starts,
            made: Vec::new(),
            index: vec![0; Op::COUNT * Op::COUNT].into(),
            chunks: Vec::new(),
            exit,
            align,
            failed: false,
        }
    }

    /// Whether instruction kinds `first` then `second` could run as a generated pair.
    #[inline(always)]
    pub(super) fn candidate(&self, first: u32, second: u32) -> bool {
        (second as usize) < Op::COUNT
            && self.starts.get(first as usize).copied().unwrap_or(false)
            && self.emitters[second as usize].is_some()
    }

    /// The generated pair for these kinds, if any.
    #[inline(always)]
    pub(super) fn get(&self, first: u32, second: u32) -> Option<&Made> {
        if self.made.is_empty() || first as usize >= Op::COUNT || second as usize >= Op::COUNT {
            return None;
        }
        match self.index[first as usize * Op::COUNT + second as usize] {
            0 => None,
            i => self.made.get(i as usize - 1),
        }
    }

    /// Generates the pairs of `wanted` (kinds, all candidates) that do not exist yet, within
    /// the process's bound, into one new mapping.
    pub(super) fn generate(&mut self, wanted: &[(u16, u16)]) {
        let room = PER_PROCESS.saturating_sub(self.made.len());
        let new: Vec<(u16, u16)> = wanted
            .iter()
            .copied()
            .filter(|k| self.get(k.0 as u32, k.1 as u32).is_none())
            .take(room)
            .collect();
        if new.is_empty() || self.failed {
            return;
        }
        let mut a = Asm::new(0);
        let exit = a.new_dynamic_label();
        // The generators jump to the exit label that `build` made first; here the same
        // label leads to that exit.
        let exit_abs = self.exit as i32;
        dynasm!(a
            ; .arch x64
            ; =>exit
            ; mov r11d, DWORD exit_abs
            ; jmp r11
        );
        // Tags past `build`'s: each new handler gets one, only to find its offset.
        let first_tag = TAGS;
        let per_pair: usize = new
            .iter()
            .map(|&(f, s)| self.variants(f) * self.variants(s))
            .sum();
        let mut leaves = self.leaves.clone();
        leaves.resize(first_tag + per_pair, 0);
        let mut g = Gen {
            a,
            exit,
            align: self.align,
            handlers: Vec::new(),
            leaves,
            acc: Vec::new(),
            next_tag: first_tag,
            pairs: Vec::new(),
            emitters: self.emitters.clone(),
            names: None,
            offset_zero: Vec::new(),
        };
        let saved = super::handlers::threading();
        super::handlers::set_threading(Threading::Absolute);
        for &(f, s) in &new {
            g.sequence_of(f as usize, s as usize);
        }
        super::handlers::set_threading(saved);
        let Ok(code) = g.a.finalize() else {
            self.failed = true;
            return;
        };
        let Ok(mem) = CodeMemory::new_low(&code) else {
            self.failed = true;
            return;
        };
        let base = mem.base() as usize as u32;
        if std::env::var_os("STRATA_ASM_DUMP").is_some() {
            for &(f, s) in &new {
                eprintln!("generated pair {f}+{s} at {base:#x}");
            }
        }
        let mut offsets = vec![0u32; per_pair];
        for &(tag, off) in &g.handlers {
            offsets[tag - first_tag] = base + off as u32;
        }
        for p in &g.pairs {
            debug_assert_eq!(p.shape, Shape::Sequence);
            let n = self.variants(p.first) * self.variants(p.second);
            let at = p.tag as usize - first_tag;
            self.made.push(Made {
                second_variants: p.second_variants,
                addrs: offsets[at..at + n].into(),
            });
            self.index[p.first as usize * Op::COUNT + p.second as usize] = self.made.len() as u16;
        }
        self.chunks.push(mem);
    }

    /// A kind's handlers: the plain one and its accumulator variants.
    fn variants(&self, kind: u16) -> usize {
        self.emitters[kind as usize]
            .as_ref()
            .map_or(1, |(_, n)| *n as usize + 1)
    }
}

impl Made {
    /// The handler's address for `first`'s accumulator variant `v1` and `second`'s `v2`.
    #[inline(always)]
    pub(super) fn addr_for(&self, v1: usize, v2: usize) -> u32 {
        self.addrs[v1 * (self.second_variants as usize + 1) + v2]
    }
}
