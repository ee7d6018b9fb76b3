//! The handlers of the instructions: what each leaves in the accumulators, the variants
//! that take an operand from them, and the code every handler ends with (dispatch, taken
//! branches). Safe Rust that appends bytes.

use super::*;
use std::cell::Cell;
use std::sync::Arc;

/// Tail of every handler: go to the instruction `step` ops further on.
pub(super) fn dispatch_next(a: &mut Asm, step: i32) {
    // The handler's address goes through r11, never an accumulator: the next handler may
    // read them.
    let d = step * OP;
    if let Some(mut e) = ELIDED.with(Cell::get) {
        // The first part of a superinstruction: only step on to the second.
        if d != 0 {
            dynasm!(a ; .arch x64 ; add r12, d);
        }
        e.count += 1;
        e.end = a.offset().0;
        e.step = d;
        ELIDED.with(|c| c.set(Some(e)));
        return;
    }
    if d != 0 {
        dynasm!(a ; .arch x64 ; mov r11d, DWORD [r12 + d] ; add r12, d);
    } else {
        dynasm!(a ; .arch x64 ; mov r11d, DWORD [r12]);
    }
    match threading() {
        // Word 0 is the handler's address (the code lies below 4 GiB).
        Threading::Absolute => dynasm!(a ; .arch x64 ; jmp r11),
        // Word 0 is the handler's offset in the code, whose start is in rbx.
        Threading::Relative => dynasm!(a ; .arch x64 ; add r11, rbx ; jmp r11),
        // Word 0 is the handler's tag, rbx the table of handler addresses.
        Threading::Table => dynasm!(a ; .arch x64 ; jmp QWORD [rbx + r11 * 8]),
    }
}

/// What word 0 of an instruction in the handlers' code holds, hence how handlers dispatch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Threading {
    /// The handler's address: the code is mapped below 4 GiB (`MAP_32BIT`), so it fits in
    /// 32 bits and a dispatch is a load and a jump. The default.
    Absolute = 0,
    /// The handler's offset from the code's start (held in rbx): one add more. Used when
    /// no low mapping is available, or with `STRATA_INTERP_THREADING=relative`.
    Relative = 1,
    /// The handler's tag, through a table of addresses in rbx: one load more
    /// (`STRATA_INTERP_THREADING=table`).
    Table = 2,
}

thread_local! {
    /// The threading the handlers are being generated for on this thread. Set by `build`
    /// before it generates anything, so code and handlers always agree (thread-local: a
    /// test may generate a variant while another thread generates the process's handlers).
    static THREADING: Cell<Threading> = const { Cell::new(Threading::Absolute) };
}

pub(super) fn threading() -> Threading {
    THREADING.with(Cell::get)
}

pub(super) fn set_threading(t: Threading) {
    THREADING.with(|c| c.set(t));
}

/// A taken branch to the byte offset (from the code's start) at `[r12 + field]`. A backward one is a loop iteration:
/// it counts, and at the counter's check point leaves the branch to the executor (which
/// counts it and asks the tier manager), exactly like `jump!` in `threaded.rs`.
pub(super) fn taken(a: &mut Asm, exit: DynamicLabel, field: i32) {
    dynasm!(a
        ; .arch x64
        ; mov eax, DWORD [r12 + field]
        ; add rax, rbp
        ; cmp rax, r12
        ; jbe >back
        ; mov r12, rax
    );
    dispatch_next(a, 0);
    dynasm!(a ; .arch x64 ; back:);
    if !cfg!(strata_no_counters) {
        dynasm!(a
            ; .arch x64
            ; mov rcx, QWORD [rsp]
            ; mov rdx, QWORD [rcx + BACKEDGES]
            ; add rdx, 1
            ; cmp rdx, QWORD [rcx + BACKEDGE_CHECK]
            ; jae =>exit
            ; mov QWORD [rcx + BACKEDGES], rdx
        );
    }
    dynasm!(a ; .arch x64 ; mov r12, rax);
    dispatch_next(a, 0);
}

/// Stores `rax` in the slot named by field `field` and dispatches to the next op.
fn put_rax(a: &mut Asm, field: i32) {
    put_rax_step(a, field, 1);
}

/// Stores `rax` in the slot named by field `field` and dispatches `step` ops on.
fn put_rax_step(a: &mut Asm, field: i32, step: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field] ; mov QWORD [r13 + rcx * 8], rax);
    dispatch_next(a, step);
}

/// Stores `xmm0`'s low 64 bits in the slot of field `field` and dispatches.
fn put_xmm0_f64(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field] ; movsd QWORD [r13 + rcx * 8], xmm0);
    dispatch_next(a, 1);
}

/// Stores `xmm0`'s low 32 bits, zero-extended, in the slot of field `field` and dispatches.
fn put_xmm0_f32(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; movd eax, xmm0);
    put_rax(a, field);
}

/// `rcx` = the slot index in field `field` (for `[r13 + rcx*8]` operands).
fn idx_rcx(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + field]);
}

/// `rax` = the slot index in field `field`.
fn idx_rax(a: &mut Asm, field: i32) {
    dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + field]);
}

/// `rax` = the effective address of an `n`-byte access: the i32 address in the slot of word
/// `word` (or in rax, with `in_acc`) plus the offset in word 3; out of bounds leaves for the
/// executor, which raises the trap.
fn address(a: &mut Asm, exit: DynamicLabel, word: i32, in_acc: bool, n: i8) {
    if in_acc {
        // An i32 address: the accumulator's high half is not part of it.
        dynasm!(a ; .arch x64 ; mov eax, eax);
    } else {
        idx_rax(a, word);
        dynasm!(a ; .arch x64 ; mov eax, DWORD [r13 + rax * 8]);
    }
    address_in_eax(a, exit, F3, n);
}

/// `rax` = the effective address of an `n`-byte access at the i32 address in `eax` (the high
/// half of rax zero) plus the offset in the word at `offset`; out of bounds leaves.
///
/// One compare for every access size: `r15` is the memory's length less `ACCESS_SLACK`
/// (saturating, set by the entry stub), so `ea < r15` puts all of an access of up to 16
/// bytes in bounds. Accesses that end in the last 15 bytes leave for the executor too,
/// which makes them (or traps) with the full check.
pub(super) fn address_in_eax(a: &mut Asm, exit: DynamicLabel, offset: i32, n: i8) {
    debug_assert!(
        (1..=ACCESS_SLACK as i8 + 1).contains(&n),
        "access of {n} bytes"
    );
    if !OFFSET_ZERO.with(Cell::get) {
        dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + offset] ; add rax, rcx);
    }
    dynasm!(a
        ; .arch x64
        ; cmp rax, r15
        ; jae =>exit
    );
}

thread_local! {
    /// Set while `Gen::offset_zero_twins` generates a handler for accesses whose offset is
    /// 0: `address_in_eax` then leaves the offset out.
    static OFFSET_ZERO: Cell<bool> = const { Cell::new(false) };
}

/// What the entry stub takes off memory 0's length for `r15`: the widest access (16 bytes,
/// `v128`) less one, so that `address_in_eax` needs no per-size add.
pub(super) const ACCESS_SLACK: i32 = 15;

/// What a handler leaves in the accumulators when it falls through to the next instruction:
/// its result, bit for bit as in its slot, in `rax` and/or in `xmm0`'s low bits.
pub(super) const IN_RAX: u8 = 1;
pub(super) const IN_XMM0: u8 = 2;

/// An instruction kind's variant that takes one operand from an accumulator instead of its
/// slot (the previous instruction just computed it; `prepare` decides where that holds).
/// A kind has up to two, for different operands.
#[derive(Clone, Copy, Default)]
pub struct AccUse {
    /// The variant's tag (0: none).
    pub(super) tag: u16,
    /// The accumulator it reads (`IN_RAX` or `IN_XMM0`).
    pub(super) reads: u8,
    /// The word of the operand it takes from there.
    pub(super) word: u8,
}

/// The handlers under construction: each one's offset by tag, and what it leaves in the
/// accumulators.
pub(super) struct Gen {
    pub(super) a: Asm,
    pub(super) exit: DynamicLabel,
    pub(super) align: usize,
    pub(super) handlers: Vec<(usize, usize)>,
    /// Per handler tag.
    pub(super) leaves: Vec<u8>,
    /// Per handler tag of an instruction kind or a superinstruction.
    pub(super) acc: Vec<[AccUse; 2]>,
    pub(super) next_tag: usize,
    /// The superinstructions.
    pub(super) pairs: Vec<Pair>,
    /// Per instruction kind, what generates its handler (given the accumulator variant, 0
    /// for the plain one) and how many accumulator variants it has: superinstructions are
    /// made of these.
    pub(super) emitters: Vec<Option<(Emitter, u8)>>,
    /// Per handler tag, its name, when the handlers are dumped for profiling
    /// (`STRATA_ASM_DUMP`): an instruction kind, `/accN` for its variants, `+` between the
    /// parts of a superinstruction.
    pub(super) names: Option<Vec<String>>,
    /// Per handler tag of a memory access kind or its variants, its twin for accesses at
    /// offset 0 (`offset_zero_twins`; 0: none).
    pub(super) offset_zero: Vec<u16>,
}

/// Generates a handler's body (`Gen::consumer`'s `emit`).
pub(super) type Emitter = Arc<dyn Fn(&mut Asm, usize) + Send + Sync>;

impl Gen {
    /// Pads to the chosen alignment (with `int3`: never executed) and returns the offset.
    pub(super) fn align(&mut self) -> usize {
        while !self.a.offset().0.is_multiple_of(self.align) {
            self.a.push(0xcc);
        }
        self.a.offset().0
    }

    /// Starts the handler of `op`'s kind on the chosen alignment.
    pub(super) fn start(&mut self, op: Op) {
        let at = self.align();
        self.handlers.push((tag_of(&op), at));
        if let Some(names) = &mut self.names {
            let name = format!("{op:?}");
            names[tag_of(&op)] = name.split([' ', '{']).next().unwrap_or("").to_string();
        }
    }

    /// Names handler `tag` (for the dump) by `f`, given the names so far.
    fn name(&mut self, tag: usize, f: impl FnOnce(&[String]) -> String) {
        if let Some(names) = &mut self.names {
            if names.len() <= tag {
                names.resize(tag + 1, String::new());
            }
            names[tag] = f(names);
        }
    }

    /// The handler of `op`'s kind, leaving its result in the accumulators `leaves`.
    pub(super) fn handler(
        &mut self,
        op: Op,
        leaves: u8,
        emit: impl Fn(&mut Asm) + Send + Sync + 'static,
    ) {
        self.start(op);
        self.leaves[tag_of(&op)] = leaves;
        emit(&mut self.a);
        self.emitters[tag_of(&op)] = Some((Arc::new(move |a: &mut Asm, _| emit(a)), 0));
    }

    /// The handler of `op`'s kind and its variants that take the operand of word `word` from
    /// accumulator `reads`, for each `(reads, word)` of `uses`; `emit` gets 0 for the plain
    /// handler and `k` for the variant of `uses[k - 1]`.
    pub(super) fn consumer(
        &mut self,
        op: Op,
        uses: &[(u8, i32)],
        leaves: u8,
        emit: impl Fn(&mut Asm, usize) + Send + Sync + 'static,
    ) {
        let emit = Arc::new(emit);
        let plain = emit.clone();
        self.handler(op, leaves, move |a| plain(a, 0));
        self.variants(tag_of(&op), uses, leaves, &*emit);
        self.emitters[tag_of(&op)] = Some((emit, uses.len() as u8));
    }

    /// A new handler tag whose handler starts here, on the chosen alignment, and leaves
    /// `leaves` in the accumulators.
    pub(super) fn new_handler(&mut self, leaves: u8) -> usize {
        let tag = self.next_tag;
        self.next_tag += 1;
        let at = self.align();
        self.handlers.push((tag, at));
        self.leaves[tag] = leaves;
        tag
    }

    /// For a memory access kind made by `consumer(op, uses, leaves, emit)` whose `emit`
    /// computes the address with `address_in_eax`: a twin of its handler and of each
    /// variant for an offset of 0 (no load and add of the offset; `prepare` picks it by the
    /// offset word).
    pub(super) fn offset_zero_twins(
        &mut self,
        op: Op,
        uses: &[(u8, i32)],
        leaves: u8,
        emit: impl Fn(&mut Asm, usize),
    ) {
        let kind = tag_of(&op);
        for v in 0..=uses.len() {
            let of = if v == 0 {
                kind
            } else {
                self.acc[kind][v - 1].tag as usize
            };
            let tag = self.new_handler(leaves);
            self.name(tag, |n| format!("{}/off0", n[of]));
            self.offset_zero[of] = tag as u16;
            OFFSET_ZERO.with(|z| z.set(true));
            emit(&mut self.a, v);
            OFFSET_ZERO.with(|z| z.set(false));
        }
    }

    /// The accumulator variants of the handler with tag `base` (see `consumer`).
    fn variants(
        &mut self,
        base: usize,
        uses: &[(u8, i32)],
        leaves: u8,
        emit: impl Fn(&mut Asm, usize),
    ) {
        for (k, &(reads, word)) in uses.iter().enumerate() {
            let tag = self.new_handler(leaves);
            self.name(tag, |n| format!("{}/acc{}", n[base], k + 1));
            self.acc[base][k] = AccUse {
                tag: tag as u16,
                reads,
                word: (word / 4) as u8,
            };
            emit(&mut self.a, k + 1);
        }
    }

    /// A superinstruction: one handler that runs `first` and then `second` (the next
    /// instruction, whose words it reads at `OP +` their offset) when `prepare` finds them
    /// in that order in `shape`; with accumulator variants as `consumer` makes them (for
    /// `first`'s operands). It must dispatch past both, leave what `second` leaves, and exit
    /// only where `first` or `second` would trap, with nothing written: the executor then
    /// runs `first`, and the handlers go on with `second`'s own handler.
    pub(super) fn fused(
        &mut self,
        first: Op,
        second: Op,
        shape: Shape,
        uses: &[(u8, i32)],
        emit: impl Fn(&mut Asm, usize),
    ) {
        let leaves = self.leaves[tag_of(&second)];
        let tag = self.new_handler(leaves);
        let (t1, t2) = (tag_of(&first), tag_of(&second));
        self.name(tag, |n| format!("{}>{}", n[t1], n[t2]));
        emit(&mut self.a, 0);
        self.variants(tag, uses, leaves, &emit);
        self.pairs.push(Pair {
            first: tag_of(&first) as u16,
            second: tag_of(&second) as u16,
            shape,
            tag: tag as u16,
            second_variants: 0,
        });
    }

    /// A superinstruction that runs `first` and then `second` as their own handlers do,
    /// without the dispatch in between (`Shape::Sequence`): `first`'s handler body, its
    /// dispatch reduced to the step of ip, then `second`'s. One handler per combination
    /// of their accumulator variants, `first`'s major. `first` must end in its one dispatch
    /// (not a branch, call or return); an exit in `second`'s part leaves with ip at
    /// `second` and `first` done, which is where the executor goes on.
    pub(super) fn sequence(&mut self, first: Op, second: Op) {
        self.sequence_of(tag_of(&first), tag_of(&second));
    }

    /// `sequence` for instruction kinds `first` and `second` (their tags).
    pub(super) fn sequence_of(&mut self, first: usize, second: usize) {
        let (Some((e1, n1)), Some((e2, n2))) =
            (self.emitters[first].clone(), self.emitters[second].clone())
        else {
            panic!("superinstruction {first}, {second}: no handler to build it from");
        };
        let base = self.next_tag;
        let leaves = self.leaves[second];
        for v1 in 0..=n1 as usize {
            for v2 in 0..=n2 as usize {
                let tag = self.new_handler(leaves);
                self.name(tag, |n| format!("{}+{}/{v1}{v2}", n[first], n[second]));
                ELIDED.with(|e| e.set(Some(Elided::default())));
                e1(&mut self.a, v1);
                let elided = ELIDED.with(|e| e.take()).unwrap_or_default();
                assert!(
                    elided.count == 1 && elided.end == self.a.offset().0,
                    "{first} cannot start a superinstruction: it does not end in one dispatch"
                );
                e2(&mut self.a, v2);
            }
        }
        self.pairs.push(Pair {
            first: first as u16,
            second: second as u16,
            shape: Shape::Sequence,
            tag: base as u16,
            second_variants: n2,
        });
    }
}

/// Per instruction kind, whether it can start a sequence superinstruction: it has a
/// handler generator, and every variant of it ends in its one dispatch (one step on), so
/// that the second instruction's handler can follow it (`Gen::sequence`). Generated into a
/// scratch assembler and thrown away.
pub(super) fn sequence_starters(emitters: &[Option<(Emitter, u8)>]) -> Vec<bool> {
    emitters
        .iter()
        .map(|e| {
            let Some((emit, n)) = e else {
                return false;
            };
            (0..=*n as usize).all(|v| {
                let mut a = Asm::new(0);
                // The generators jump to the exit label, the first one `build` makes.
                let _exit = a.new_dynamic_label();
                ELIDED.with(|e| e.set(Some(Elided::default())));
                emit(&mut a, v);
                let elided = ELIDED.with(|e| e.take()).unwrap_or_default();
                elided.count == 1 && elided.step == OP && elided.end == a.offset().0
            })
        })
        .collect()
}

/// When two consecutive instructions may run as one superinstruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// An `i32.add` (or add-immediate) computes the address of the load that follows into
    /// the load's own destination: `first.dst == second.addr == second.dst`, so the sum is
    /// dead once the load overwrites it and the handler never stores it.
    AddressOfLoad,
    /// As `AddressOfLoad`, but the load's destination is another slot: the sum is stored
    /// as well (`first.dst == second.addr != second.dst`).
    AddressOfLoadKept,
    /// Any two instructions, one after the other (`Gen::sequence`).
    Sequence,
}

impl Shape {
    /// Whether instructions with these words (word 0 aside) fit the shape.
    pub(super) fn fits(self, first: &[u32; 4], second: &[u32; 4]) -> bool {
        match self {
            Shape::AddressOfLoad => first[1] == second[2] && second[1] == second[2],
            Shape::AddressOfLoadKept => first[1] == second[2] && second[1] != second[2],
            Shape::Sequence => true,
        }
    }
}

/// A superinstruction made by `Gen::fused` or `Gen::sequence`: the kinds it fuses, and
/// its handlers' tags.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    pub(super) first: u16,
    pub(super) second: u16,
    pub(super) shape: Shape,
    /// The tag of the handler for `first`'s plain variant; its other variants follow.
    pub(super) tag: u16,
    /// For `Sequence`: how many accumulator variants `second` has (the handler for
    /// variants `v1` of `first` and `v2` of `second` is `tag + v1 * (n + 1) + v2`).
    pub(super) second_variants: u8,
}

impl Pair {
    /// The handler for `first`'s accumulator variant `v1` and `second`'s `v2` (0: plain).
    pub(super) fn tag_for(&self, v1: usize, v2: usize) -> u16 {
        match self.shape {
            Shape::Sequence => self.tag + (v1 * (self.second_variants as usize + 1) + v2) as u16,
            _ => self.tag + v1 as u16,
        }
    }
}

/// While `Gen::sequence` generates a superinstruction's first part: its dispatches are
/// reduced to the step of ip, counted, and where the last one ended.
#[derive(Default, Clone, Copy)]
struct Elided {
    count: u32,
    end: usize,
    /// The step of ip (bytes) of the last one.
    step: i32,
}

thread_local! {
    static ELIDED: Cell<Option<Elided>> = const { Cell::new(None) };
}

/// The operand of word 2 (`a`) from the integer accumulator; or that of word 3 (`b`).
const A_IN_RAX: &[(u8, i32)] = &[(IN_RAX, F2)];
const AB_IN_RAX: &[(u8, i32)] = &[(IN_RAX, F2), (IN_RAX, F3)];

/// `dst = a OP b` on slots, with `OP` an x86 instruction taking a memory source. Variants:
/// `a` in rax; `b` in rax (moved to rcx, `a` loaded).
macro_rules! bin_mem {
    ($g:expr, $op:expr, $w:ident, $($ins:tt)*) => {{
        $g.consumer($op, AB_IN_RAX, IN_RAX, move |a, v| {
            bin_mem!(@compute a, v, $w, $($ins)*);
            put_rax(a, F1);
        });
    }};
    // rax = a OP b, for variant `$v`.
    (@compute $a:ident, $v:expr, $w:ident, $($ins:tt)*) => {
        match $v {
            0 => {
                idx_rcx($a, F3);
                idx_rax($a, F2);
                load_a!($a, $w);
                dynasm!($a ; .arch x64 ; $($ins)* , $w [r13 + rcx * 8]);
            }
            1 => {
                idx_rcx($a, F3);
                dynasm!($a ; .arch x64 ; $($ins)* , $w [r13 + rcx * 8]);
            }
            _ => {
                dynasm!($a ; .arch x64 ; mov rcx, rax);
                idx_rax($a, F2);
                load_a!($a, $w);
                bin_mem!(@reg $a, $w, $($ins)*);
            }
        }
    };
    (@reg $a:ident, DWORD, $($ins:tt)*) => { dynasm!($a ; .arch x64 ; $($ins)* , ecx) };
    (@reg $a:ident, QWORD, $($ins:tt)*) => { dynasm!($a ; .arch x64 ; $($ins)* , rcx) };
}

/// `rax`/`eax` = the slot whose index is in `rax`.
macro_rules! load_a {
    ($a:ident, DWORD) => { dynasm!($a ; .arch x64 ; mov eax, DWORD [r13 + rax * 8]) };
    ($a:ident, QWORD) => { dynasm!($a ; .arch x64 ; mov rax, QWORD [r13 + rax * 8]) };
}

/// Shifts and rotates: `dst = a OP (b & mask)`, the count in `cl` (x86 masks it as wasm does).
macro_rules! shift {
    ($g:expr, $op:expr, $($ins:tt)*) => {{
        $g.consumer($op, AB_IN_RAX, IN_RAX, move |a, v| {
            match v {
                0 => {
                    idx_rcx(a, F3);
                    idx_rax(a, F2);
                    load_a!(a, QWORD);
                    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r13 + rcx * 8]);
                }
                1 => {
                    idx_rcx(a, F3);
                    dynasm!(a ; .arch x64 ; mov ecx, DWORD [r13 + rcx * 8]);
                }
                _ => {
                    dynasm!(a ; .arch x64 ; mov ecx, eax);
                    idx_rax(a, F2);
                    load_a!(a, QWORD);
                }
            }
            dynasm!(a ; .arch x64 ; $($ins)*);
            put_rax(a, F1);
        });
    }};
}

/// Integer comparison of two slots into 0/1.
macro_rules! cmp_slots {
    ($g:expr, $op:expr, $w:ident, $set:ident) => {{
        $g.consumer($op, AB_IN_RAX, IN_RAX, move |a, v| {
            cmp_slots!(@operands a, v, $w, F2, F3);
            dynasm!(a ; .arch x64 ; $set dl ; movzx eax, dl);
            put_rax(a, F1);
        });
    }};
    // Compares the slots of words `$x` and `$y` (`$x` from rax in variant 1, `$y` in 2).
    (@operands $a:ident, $v:expr, $w:ident, $x:expr, $y:expr) => {
        match $v {
            0 => {
                idx_rcx($a, $y);
                idx_rax($a, $x);
                load_a!($a, $w);
                cmp_slots!(@cmp $a, $w);
            }
            1 => {
                idx_rcx($a, $y);
                cmp_slots!(@cmp $a, $w);
            }
            _ => {
                dynasm!($a ; .arch x64 ; mov rcx, rax);
                idx_rax($a, $x);
                load_a!($a, $w);
                cmp_slots!(@reg $a, $w);
            }
        }
    };
    (@cmp $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, DWORD [r13 + rcx * 8]) };
    (@cmp $a:ident, QWORD) => { dynasm!($a ; .arch x64 ; cmp rax, QWORD [r13 + rcx * 8]) };
    (@reg $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, ecx) };
    (@reg $a:ident, QWORD) => { dynasm!($a ; .arch x64 ; cmp rax, rcx) };
}

/// Integer comparison of a slot with the immediate (sign-extended for i64) into 0/1.
macro_rules! cmp_imm {
    ($g:expr, $op:expr, $w:ident, $set:ident) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, move |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, $w);
            }
            cmp_imm!(@cmp a, $w);
            dynasm!(a ; .arch x64 ; $set dl ; movzx eax, dl);
            put_rax(a, F1);
        });
    }};
    (@cmp $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, DWORD [r12 + F3]) };
    (@cmp $a:ident, QWORD) => { dynasm!($a ; .arch x64
        ; movsxd rcx, DWORD [r12 + F3] ; cmp rax, rcx) };
}

/// `dst = a OP imm`: 32-bit forms take the immediate from memory, 64-bit ones sign-extend it.
macro_rules! imm_op {
    ($g:expr, $op:expr, DWORD, $($ins:tt)*) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, move |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, DWORD);
            }
            dynasm!(a ; .arch x64 ; $($ins)* , DWORD [r12 + F3]);
            put_rax(a, F1);
        });
    }};
    ($g:expr, $op:expr, QWORD, $($ins:tt)*) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, move |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, QWORD);
            }
            dynasm!(a ; .arch x64 ; movsxd rcx, DWORD [r12 + F3] ; $($ins)* , rcx);
            put_rax(a, F1);
        });
    }};
}

/// Shift or rotate by the immediate, the count in `cl`.
macro_rules! shift_imm {
    ($g:expr, $op:expr, $($ins:tt)*) => {{
        $g.consumer($op, A_IN_RAX, IN_RAX, move |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F2);
                load_a!(a, QWORD);
            }
            dynasm!(a ; .arch x64 ; mov ecx, DWORD [r12 + F3] ; $($ins)*);
            put_rax(a, F1);
        });
    }};
}

/// Compare two slots and branch (to the op index in word 3) when the condition holds.
macro_rules! br_slots {
    ($g:expr, $op:expr, $w:ident, $jcc:ident) => {{
        let exit = $g.exit;
        $g.consumer($op, &[(IN_RAX, F1), (IN_RAX, F2)], 0, move |a, v| {
            cmp_slots!(@operands a, v, $w, F1, F2);
            dynasm!(a ; .arch x64 ; $jcc >taken);
            dispatch_next(a, 1);
            dynasm!(a ; .arch x64 ; taken:);
            taken(a, exit, F3);
        });
    }};
}

/// Compare a slot with the immediate in word 2 and branch to word 3's target.
macro_rules! br_imm {
    ($g:expr, $op:expr, $w:ident, $jcc:ident) => {{
        let exit = $g.exit;
        $g.consumer($op, &[(IN_RAX, F1)], 0, move |a, v| {
            let acc = v == 1;
            if !acc {
                idx_rax(a, F1);
                load_a!(a, $w);
            }
            br_imm!(@cmp a, $w);
            dynasm!(a ; .arch x64 ; $jcc >taken);
            dispatch_next(a, 1);
            dynasm!(a ; .arch x64 ; taken:);
            taken(a, exit, F3);
        });
    }};
    (@cmp $a:ident, DWORD) => { dynasm!($a ; .arch x64 ; cmp eax, DWORD [r12 + F2]) };
    (@cmp $a:ident, QWORD) => { dynasm!($a ; .arch x64
        ; movsxd rcx, DWORD [r12 + F2] ; cmp rax, rcx) };
}

/// Float arithmetic `xmm0 = a OP b`. Variants: `a` in xmm0; `b` in xmm0 (moved to xmm1,
/// `a` loaded). Operands never trade places: with two NaNs, x86 returns the first one's
/// payload, and every tier must compute the same bits.
macro_rules! fbin {
    ($g:expr, $op:expr, f64, $ins:ident) => {{
        $g.consumer($op, &[(IN_XMM0, F2), (IN_XMM0, F3)], IN_XMM0, move |a, v| {
            fbin!(@operands a, v, $ins, movsd, QWORD);
            put_xmm0_f64(a, F1);
        });
    }};
    ($g:expr, $op:expr, f32, $ins:ident) => {{
        $g.consumer($op, &[(IN_XMM0, F2), (IN_XMM0, F3)], IN_RAX | IN_XMM0, move |a, v| {
            fbin!(@operands a, v, $ins, movss, DWORD);
            put_xmm0_f32(a, F1);
        });
    }};
    (@operands $a:ident, $v:expr, $ins:ident, $mov:ident, $w:ident) => {
        match $v {
            0 => {
                idx_rcx($a, F3);
                idx_rax($a, F2);
                dynasm!($a ; .arch x64
                    ; $mov xmm0, $w [r13 + rax * 8] ; $ins xmm0, $w [r13 + rcx * 8]);
            }
            1 => {
                idx_rcx($a, F3);
                dynasm!($a ; .arch x64 ; $ins xmm0, $w [r13 + rcx * 8]);
            }
            _ => {
                idx_rax($a, F2);
                dynasm!($a ; .arch x64
                    ; movapd xmm1, xmm0 ; $mov xmm0, $w [r13 + rax * 8] ; $ins xmm0, xmm1);
            }
        }
    };
}

/// Float comparison: `ucomis{s,d} x, y` with `x`/`y` the fields (swapped for `<`, `<=`, so
/// that an unordered result, which sets CF, reads as false), then `$set`.
macro_rules! fcmp {
    ($g:expr, $op:expr, $w:ident, $x:expr, $y:expr, $($set:tt)*) => {{
        $g.consumer($op, &[(IN_XMM0, $x), (IN_XMM0, $y)], IN_RAX, move |a, v| {
            fcmp!(@cmp a, v, $w, $x, $y);
            dynasm!(a ; .arch x64 ; $($set)*);
            put_rax(a, F1);
        });
    }};
    (@cmp $a:ident, $v:expr, f64, $x:expr, $y:expr) => {
        fcmp!(@ops $a, $v, $x, $y, movsd, ucomisd, movapd, QWORD)
    };
    (@cmp $a:ident, $v:expr, f32, $x:expr, $y:expr) => {
        fcmp!(@ops $a, $v, $x, $y, movss, ucomiss, movaps, DWORD)
    };
    (@ops $a:ident, $v:expr, $x:expr, $y:expr, $mov:ident, $ucom:ident, $movap:ident, $w:ident) => {
        match $v {
            0 => {
                idx_rax($a, $x);
                idx_rcx($a, $y);
                dynasm!($a ; .arch x64
                    ; $mov xmm0, $w [r13 + rax * 8] ; $ucom xmm0, $w [r13 + rcx * 8]);
            }
            1 => {
                idx_rcx($a, $y);
                dynasm!($a ; .arch x64 ; $ucom xmm0, $w [r13 + rcx * 8]);
            }
            _ => {
                idx_rax($a, $x);
                dynasm!($a ; .arch x64
                    ; $movap xmm1, xmm0 ; $mov xmm0, $w [r13 + rax * 8] ; $ucom xmm0, xmm1);
            }
        }
    };
}

/// `dst = f(a)` for a one-operand instruction: the body reads the slot at `[r13 + rax*8]`
/// and leaves the result in `rax` (and, for `IN_XMM0`, in `xmm0`).
macro_rules! unary {
    ($g:expr, $op:expr, $leaves:expr, [$($body:tt)*]) => {{
        $g.handler($op, $leaves, move |a| {
            idx_rax(a, F2);
            dynasm!(a ; .arch x64 ; $($body)*);
            put_rax(a, F1);
        });
    }};
    // With a variant whose body finds the operand in the accumulator `$reads`.
    ($g:expr, $op:expr, $leaves:expr, [$($body:tt)*], $reads:expr, [$($acc:tt)*]) => {{
        $g.consumer($op, &[($reads, F2)], $leaves, move |a, v| {
            if v == 0 {
                idx_rax(a, F2);
                dynasm!(a ; .arch x64 ; $($body)*);
            } else {
                dynasm!(a ; .arch x64 ; $($acc)*);
            }
            put_rax(a, F1);
        });
    }};
}

/// Loads: `ea = u32(slot) + offset`, checked against the memory length, then `$ins`
/// reads `[r14 + rax]` into `rax`/`eax` (float loads also leave the value in `xmm0`).
macro_rules! load {
    ($g:expr, $op:expr, $n:expr, $leaves:expr, $($ins:tt)*) => {{
        let exit = $g.exit;
        let emit = Arc::new(move |a: &mut Asm, v: usize| {
            address(a, exit, F2, v == 1, $n);
            dynasm!(a ; .arch x64 ; $($ins)*);
            load!(@finish a, $leaves, F1, 1);
        });
        let e = emit.clone();
        $g.consumer($op, A_IN_RAX, $leaves, move |a, v| e(a, v));
        $g.offset_zero_twins($op, A_IN_RAX, $leaves, &*emit);
        // Superinstructions: the address computed by an add just before, dead afterwards
        // or kept (then stored once the load cannot trap any more).
        let z = 0;
        for shape in [Shape::AddressOfLoad, Shape::AddressOfLoadKept] {
            let keep = shape == Shape::AddressOfLoadKept;
            let add_imm = Op::I32AddImm { dst: z, a: z, imm: 0 };
            $g.fused(add_imm, $op, shape, A_IN_RAX, move |a, v| {
                if v == 0 {
                    idx_rax(a, F2);
                    load_a!(a, DWORD);
                }
                dynasm!(a ; .arch x64 ; add eax, DWORD [r12 + F3]);
                load!(@fused a, exit, keep, $n, $leaves, $($ins)*);
            });
            let add = Op::I32Add { dst: z, a: z, b: z };
            $g.fused(add, $op, shape, AB_IN_RAX, move |a, v| {
                bin_mem!(@compute a, v, DWORD, add eax);
                load!(@fused a, exit, keep, $n, $leaves, $($ins)*);
            });
        }
    }};
    // The load of a superinstruction whose first instruction left the address in eax.
    (@fused $a:ident, $exit:expr, $keep:expr, $n:expr, $leaves:expr, $($ins:tt)*) => {{
        if $keep {
            dynasm!($a ; .arch x64 ; mov esi, eax);
        }
        address_in_eax($a, $exit, OP + F3, $n);
        dynasm!($a ; .arch x64 ; $($ins)*);
        if $keep {
            dynasm!($a ; .arch x64 ; mov ecx, DWORD [r12 + F1] ; mov QWORD [r13 + rcx * 8], rsi);
        }
        load!(@finish $a, $leaves, OP + F1, 2);
    }};
    // After the load itself (`$ins`, from `[r14 + rax]` into rax): the result to the slot
    // of `$dst` (and xmm0 for floats), then on `$step` instructions.
    (@finish $a:ident, $leaves:expr, $dst:expr, $step:expr) => {{
        if $leaves & IN_XMM0 != 0 {
            dynasm!($a ; .arch x64 ; movq xmm0, rax);
        }
        put_rax_step($a, $dst, $step);
    }};
}

/// Stores: the address as for loads, the value in `rcx`, then `$ins` writes `[r14 + rax]`.
/// Variants: the value (word 2) from accumulator `$reads`; the address (word 1) from rax.
macro_rules! store {
    ($g:expr, $op:expr, $n:expr, $reads:expr, $($ins:tt)*) => {{
        let exit = $g.exit;
        let uses = &[($reads, F2), (IN_RAX, F1)];
        let emit = Arc::new(move |a: &mut Asm, v: usize| {
            match v {
                1 if $reads == IN_XMM0 => dynasm!(a ; .arch x64 ; movq rsi, xmm0),
                1 => dynasm!(a ; .arch x64 ; mov rsi, rax),
                _ => {}
            }
            address(a, exit, F1, v == 2, $n);
            if v == 1 {
                dynasm!(a ; .arch x64 ; mov rcx, rsi);
            } else {
                dynasm!(a
                    ; .arch x64
                    ; mov ecx, DWORD [r12 + F2]
                    ; mov rcx, QWORD [r13 + rcx * 8]
                );
            }
            dynasm!(a ; .arch x64 ; $($ins)*);
            dispatch_next(a, 1);
        });
        let e = emit.clone();
        $g.consumer($op, uses, 0, move |a, v| e(a, v));
        $g.offset_zero_twins($op, uses, 0, &*emit);
    }};
}

/// Integer division and remainder. Division by zero and signed overflow leave for the
/// executor, which raises the trap; `rem_s` by -1 is 0 (x86 `idiv` would fault on MIN).
fn divisions(g: &mut Gen) {
    let exit = g.exit;
    let z = 0;
    for (op, signed, rem, wide) in [
        (Op::I32DivS { dst: 0, a: 0, b: 0 }, true, false, false),
        (Op::I32DivU { dst: 0, a: 0, b: 0 }, false, false, false),
        (Op::I32RemS { dst: 0, a: 0, b: 0 }, true, true, false),
        (Op::I32RemU { dst: 0, a: 0, b: 0 }, false, true, false),
        (Op::I64DivS { dst: 0, a: 0, b: 0 }, true, false, true),
        (Op::I64DivU { dst: 0, a: 0, b: 0 }, false, false, true),
        (Op::I64RemS { dst: 0, a: 0, b: 0 }, true, true, true),
        (Op::I64RemU { dst: 0, a: 0, b: 0 }, false, true, true),
    ] {
        g.start(op);
        g.leaves[tag_of(&op)] = IN_RAX;
        let a = &mut g.a;
        idx_rax(a, F2);
        idx_rcx(a, F3);
        if wide {
            dynasm!(a
                ; .arch x64
                ; mov rax, QWORD [r13 + rax * 8]
                ; mov rcx, QWORD [r13 + rcx * 8]
                ; test rcx, rcx
                ; jz =>exit
            );
        } else {
            dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r13 + rax * 8]
                ; mov ecx, DWORD [r13 + rcx * 8]
                ; test ecx, ecx
                ; jz =>exit
            );
        }
        match (signed, rem, wide) {
            (false, _, false) => dynasm!(a ; .arch x64 ; xor edx, edx ; div ecx),
            (false, _, true) => dynasm!(a ; .arch x64 ; xor edx, edx ; div rcx),
            (true, false, false) => dynasm!(a
                ; .arch x64
                ; cmp ecx, -1
                ; jne >ok
                ; cmp eax, i32::MIN
                ; je =>exit
                ; ok:
                ; cdq
                ; idiv ecx
            ),
            (true, false, true) => dynasm!(a
                ; .arch x64
                ; cmp rcx, -1
                ; jne >ok
                ; mov rdx, QWORD i64::MIN
                ; cmp rax, rdx
                ; je =>exit
                ; ok:
                ; cqo
                ; idiv rcx
            ),
            (true, true, false) => dynasm!(a
                ; .arch x64
                ; mov edx, z
                ; cmp ecx, -1
                ; je >done
                ; cdq
                ; idiv ecx
                ; done:
            ),
            (true, true, true) => dynasm!(a
                ; .arch x64
                ; mov edx, z
                ; cmp rcx, -1
                ; je >done
                ; cqo
                ; idiv rcx
                ; done:
            ),
        }
        if rem {
            // 32-bit results are zero-extended: `mov edx, edx` clears the high half.
            if wide {
                dynasm!(a ; .arch x64 ; mov rax, rdx);
            } else {
                dynasm!(a ; .arch x64 ; mov eax, edx);
            }
        } else if !wide {
            dynasm!(a ; .arch x64 ; mov eax, eax);
        }
        put_rax(a, F1);
    }
}

pub(super) fn emit_handlers(g: &mut Gen) {
    let z = 0;
    let exit = g.exit;
    macro_rules! op3 {
        ($k:ident) => {
            Op::$k { dst: z, a: z, b: z }
        };
    }
    macro_rules! opi {
        ($k:ident) => {
            Op::$k {
                dst: z,
                a: z,
                imm: 0,
            }
        };
    }
    macro_rules! op2 {
        ($k:ident) => {
            Op::$k { dst: z, a: z }
        };
    }
    macro_rules! opl {
        ($k:ident) => {
            Op::$k {
                dst: z,
                addr: z,
                offset: 0,
            }
        };
    }
    macro_rules! ops {
        ($k:ident) => {
            Op::$k {
                addr: z,
                val: z,
                offset: 0,
            }
        };
    }
    macro_rules! opb {
        ($k:ident) => {
            Op::$k {
                a: z,
                b: z,
                target: 0,
            }
        };
    }
    macro_rules! opbi {
        ($k:ident) => {
            Op::$k {
                a: z,
                imm: 0,
                target: 0,
            }
        };
    }

    super::calls::calls(g);

    // Control and moves.
    g.handler(Op::Br { target: 0 }, 0, move |a| taken(a, exit, F1));

    for (op, jcc_nz) in [
        (Op::BrIfNez { cond: 0, target: 0 }, true),
        (Op::BrIfEqz { cond: 0, target: 0 }, false),
    ] {
        g.consumer(op, &[(IN_RAX, F1)], 0, move |a, v| {
            let acc = v == 1;
            if acc {
                dynasm!(a ; .arch x64 ; test eax, eax);
            } else {
                idx_rax(a, F1);
                dynasm!(a ; .arch x64 ; cmp DWORD [r13 + rax * 8], 0);
            }
            if jcc_nz {
                dynasm!(a ; .arch x64 ; jne >taken);
            } else {
                dynasm!(a ; .arch x64 ; je >taken);
            }
            dispatch_next(a, 1);
            dynasm!(a ; .arch x64 ; taken:);
            taken(a, exit, F2);
        });
    }

    // `BrTable` is followed by `len + 1` `Br` entries: go to the chosen one.
    g.consumer(
        Op::BrTable { index: 0, len: 0 },
        &[(IN_RAX, F1)],
        0,
        move |a, v| {
            if v == 0 {
                idx_rax(a, F1);
                load_a!(a, DWORD);
            }
            dynasm!(a
                ; .arch x64
                ; mov ecx, DWORD [r12 + F2]
                ; cmp eax, ecx
                ; cmova eax, ecx
                ; add eax, 1
                ; shl rax, 4
                ; add r12, rax
            );
            dispatch_next(a, 0);
        },
    );

    // A copy of a float result can take it from xmm0.
    let copy_uses = &[(IN_RAX, F2), (IN_XMM0, F2)];
    g.consumer(
        Op::Copy { dst: 0, src: 0 },
        copy_uses,
        IN_RAX,
        move |a, v| {
            match v {
                0 => {
                    idx_rax(a, F2);
                    load_a!(a, QWORD);
                }
                1 => {}
                _ => dynasm!(a ; .arch x64 ; movq rax, xmm0),
            }
            put_rax(a, F1);
        },
    );
    g.handler(Op::Const32 { dst: 0, val: 0 }, IN_RAX, move |a| {
        dynasm!(a ; .arch x64 ; mov eax, DWORD [r12 + F2]);
        put_rax(a, F1);
    });
    g.handler(Op::Const64 { dst: 0, val: 0 }, IN_RAX, move |a| {
        dynasm!(a ; .arch x64 ; mov rax, QWORD [r12 + F2]);
        put_rax(a, F1);
    });

    // `Select` is followed by `Ext { a: cond }`.
    g.start(Op::Select { dst: 0, a: 0, b: 0 });
    dynasm!(g.a
        ; .arch x64
        ; mov eax, DWORD [r12 + OP + F1]
        ; mov ecx, DWORD [r12 + F2]
        ; mov edx, DWORD [r12 + F3]
        ; cmp DWORD [r13 + rax * 8], 0
        ; cmove ecx, edx
        ; mov rax, QWORD [r13 + rcx * 8]
        ; mov ecx, DWORD [r12 + F1]
        ; mov QWORD [r13 + rcx * 8], rax
    );
    dispatch_next(&mut g.a, 2);

    // Globals: the instance's global address, then the store's global (boxed: its address is
    // stable). An index past the instance's globals cannot pass validation; it leaves anyway.
    // Interruption points (design.md §13). Running out of fuel or reaching the deadline
    // leaves with nothing written, and the executor raises the trap.
    g.handler(Op::Fuel, 0, move |a| {
        let fuel = strata_vm::vmctx::offsets::RUNTIME_FUEL;
        dynasm!(a
            ; .arch x64
            ; mov rcx, QWORD [rsp + S_CTX]
            ; mov rcx, QWORD [rcx + C_RUNTIME]
            ; mov rdx, QWORD [rcx + fuel]
            ; sub rdx, 1
            ; js =>exit
            ; mov QWORD [rcx + fuel], rdx
        );
        dispatch_next(a, 1);
    });
    g.handler(Op::Epoch, 0, move |a| {
        let epoch = strata_vm::vmctx::offsets::RUNTIME_EPOCH;
        let deadline = strata_vm::vmctx::offsets::RUNTIME_EPOCH_DEADLINE;
        dynasm!(a
            ; .arch x64
            ; mov rcx, QWORD [rsp + S_CTX]
            ; mov rcx, QWORD [rcx + C_RUNTIME]
            ; mov rdx, QWORD [rcx + epoch]
            ; mov rdx, QWORD [rdx]
            ; cmp rdx, QWORD [rcx + deadline]
            ; jae =>exit
        );
        dispatch_next(a, 1);
    });
    g.handler(Op::GlobalGet { dst: 0, index: 0 }, IN_RAX, move |a| {
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; mov eax, DWORD [r12 + F2]
            ; cmp eax, DWORD [rdx + C_NUM_GLOBALS]
            ; jae =>exit
            ; mov rcx, QWORD [rdx + C_GLOBAL_MAP]
            ; mov eax, DWORD [rcx + rax * 4]
            ; mov rcx, QWORD [rdx + C_GLOBALS]
            ; mov rcx, QWORD [rcx + rax * 8]
            ; mov rax, QWORD [rcx + G_VALUE]
        );
        put_rax(a, F1);
    });
    g.consumer(
        Op::GlobalSet { src: 0, index: 0 },
        &[(IN_RAX, F1)],
        0,
        move |a, v| {
            if v == 0 {
                idx_rax(a, F1);
                load_a!(a, QWORD);
            }
            dynasm!(a
                ; .arch x64
                ; mov rdx, QWORD [rsp + S_CTX]
                ; mov esi, DWORD [r12 + F2]
                ; cmp esi, DWORD [rdx + C_NUM_GLOBALS]
                ; jae =>exit
                ; mov rcx, QWORD [rdx + C_GLOBAL_MAP]
                ; mov esi, DWORD [rcx + rsi * 4]
                ; mov rcx, QWORD [rdx + C_GLOBALS]
                ; mov rcx, QWORD [rcx + rsi * 8]
                ; mov QWORD [rcx + G_VALUE], rax
            );
            dispatch_next(a, 1);
        },
    );

    // Integer arithmetic.
    bin_mem!(g, op3!(I32Add), DWORD, add eax);
    bin_mem!(g, op3!(I32Sub), DWORD, sub eax);
    bin_mem!(g, op3!(I32Mul), DWORD, imul eax);
    bin_mem!(g, op3!(I32And), DWORD, and eax);
    bin_mem!(g, op3!(I32Or), DWORD, or eax);
    bin_mem!(g, op3!(I32Xor), DWORD, xor eax);
    bin_mem!(g, op3!(I64Add), QWORD, add rax);
    bin_mem!(g, op3!(I64Sub), QWORD, sub rax);
    bin_mem!(g, op3!(I64Mul), QWORD, imul rax);
    bin_mem!(g, op3!(I64And), QWORD, and rax);
    bin_mem!(g, op3!(I64Or), QWORD, or rax);
    bin_mem!(g, op3!(I64Xor), QWORD, xor rax);
    shift!(g, op3!(I32Shl), shl eax, cl);
    shift!(g, op3!(I32ShrS), sar eax, cl);
    shift!(g, op3!(I32ShrU), shr eax, cl);
    shift!(g, op3!(I32Rotl), rol eax, cl);
    shift!(g, op3!(I32Rotr), ror eax, cl);
    shift!(g, op3!(I64Shl), shl rax, cl);
    shift!(g, op3!(I64ShrS), sar rax, cl);
    shift!(g, op3!(I64ShrU), shr rax, cl);
    shift!(g, op3!(I64Rotl), rol rax, cl);
    shift!(g, op3!(I64Rotr), ror rax, cl);
    divisions(g);

    imm_op!(g, opi!(I32AddImm), DWORD, add eax);
    imm_op!(g, opi!(I32MulImm), DWORD, imul eax);
    imm_op!(g, opi!(I32AndImm), DWORD, and eax);
    imm_op!(g, opi!(I32OrImm), DWORD, or eax);
    imm_op!(g, opi!(I32XorImm), DWORD, xor eax);
    imm_op!(g, opi!(I64AddImm), QWORD, add rax);
    imm_op!(g, opi!(I64MulImm), QWORD, imul rax);
    imm_op!(g, opi!(I64AndImm), QWORD, and rax);
    imm_op!(g, opi!(I64OrImm), QWORD, or rax);
    imm_op!(g, opi!(I64XorImm), QWORD, xor rax);
    shift_imm!(g, opi!(I32ShlImm), shl eax, cl);
    shift_imm!(g, opi!(I32ShrSImm), sar eax, cl);
    shift_imm!(g, opi!(I32ShrUImm), shr eax, cl);
    shift_imm!(g, opi!(I32RotlImm), rol eax, cl);
    shift_imm!(g, opi!(I32RotrImm), ror eax, cl);
    shift_imm!(g, opi!(I64ShlImm), shl rax, cl);
    shift_imm!(g, opi!(I64ShrSImm), sar rax, cl);
    shift_imm!(g, opi!(I64ShrUImm), shr rax, cl);
    shift_imm!(g, opi!(I64RotlImm), rol rax, cl);
    shift_imm!(g, opi!(I64RotrImm), ror rax, cl);

    // Integer comparisons.
    cmp_slots!(g, op3!(I32Eq), DWORD, sete);
    cmp_slots!(g, op3!(I32Ne), DWORD, setne);
    cmp_slots!(g, op3!(I32LtS), DWORD, setl);
    cmp_slots!(g, op3!(I32LtU), DWORD, setb);
    cmp_slots!(g, op3!(I32GtS), DWORD, setg);
    cmp_slots!(g, op3!(I32GtU), DWORD, seta);
    cmp_slots!(g, op3!(I32LeS), DWORD, setle);
    cmp_slots!(g, op3!(I32LeU), DWORD, setbe);
    cmp_slots!(g, op3!(I32GeS), DWORD, setge);
    cmp_slots!(g, op3!(I32GeU), DWORD, setae);
    cmp_slots!(g, op3!(I64Eq), QWORD, sete);
    cmp_slots!(g, op3!(I64Ne), QWORD, setne);
    cmp_slots!(g, op3!(I64LtS), QWORD, setl);
    cmp_slots!(g, op3!(I64LtU), QWORD, setb);
    cmp_slots!(g, op3!(I64GtS), QWORD, setg);
    cmp_slots!(g, op3!(I64GtU), QWORD, seta);
    cmp_slots!(g, op3!(I64LeS), QWORD, setle);
    cmp_slots!(g, op3!(I64LeU), QWORD, setbe);
    cmp_slots!(g, op3!(I64GeS), QWORD, setge);
    cmp_slots!(g, op3!(I64GeU), QWORD, setae);
    cmp_imm!(g, opi!(I32EqImm), DWORD, sete);
    cmp_imm!(g, opi!(I32NeImm), DWORD, setne);
    cmp_imm!(g, opi!(I32LtSImm), DWORD, setl);
    cmp_imm!(g, opi!(I32LtUImm), DWORD, setb);
    cmp_imm!(g, opi!(I32GtSImm), DWORD, setg);
    cmp_imm!(g, opi!(I32GtUImm), DWORD, seta);
    cmp_imm!(g, opi!(I32LeSImm), DWORD, setle);
    cmp_imm!(g, opi!(I32LeUImm), DWORD, setbe);
    cmp_imm!(g, opi!(I32GeSImm), DWORD, setge);
    cmp_imm!(g, opi!(I32GeUImm), DWORD, setae);
    cmp_imm!(g, opi!(I64EqImm), QWORD, sete);
    cmp_imm!(g, opi!(I64NeImm), QWORD, setne);
    cmp_imm!(g, opi!(I64LtSImm), QWORD, setl);
    cmp_imm!(g, opi!(I64LtUImm), QWORD, setb);
    cmp_imm!(g, opi!(I64GtSImm), QWORD, setg);
    cmp_imm!(g, opi!(I64GtUImm), QWORD, seta);
    cmp_imm!(g, opi!(I64LeSImm), QWORD, setle);
    cmp_imm!(g, opi!(I64LeUImm), QWORD, setbe);
    cmp_imm!(g, opi!(I64GeSImm), QWORD, setge);
    cmp_imm!(g, opi!(I64GeUImm), QWORD, setae);

    // Unary integer operations and conversions.
    unary!(g, op2!(I32Eqz), IN_RAX, [xor ecx, ecx ; cmp DWORD [r13 + rax * 8], 0 ; sete cl ; mov eax, ecx], IN_RAX, [xor ecx, ecx ; test eax, eax ; sete cl ; mov eax, ecx]);
    unary!(g, op2!(I64Eqz), IN_RAX, [xor ecx, ecx ; cmp QWORD [r13 + rax * 8], 0 ; sete cl ; mov eax, ecx], IN_RAX, [xor ecx, ecx ; test rax, rax ; sete cl ; mov eax, ecx]);
    unary!(g, op2!(I32Clz), IN_RAX, [lzcnt eax, DWORD [r13 + rax * 8]]);
    unary!(g, op2!(I32Ctz), IN_RAX, [tzcnt eax, DWORD [r13 + rax * 8]]);
    unary!(g, op2!(I32Popcnt), IN_RAX, [popcnt eax, DWORD [r13 + rax * 8]]);
    unary!(g, op2!(I64Clz), IN_RAX, [lzcnt rax, QWORD [r13 + rax * 8]]);
    unary!(g, op2!(I64Ctz), IN_RAX, [tzcnt rax, QWORD [r13 + rax * 8]]);
    unary!(g, op2!(I64Popcnt), IN_RAX, [popcnt rax, QWORD [r13 + rax * 8]]);
    unary!(g, op2!(I32WrapI64), IN_RAX, [mov eax, DWORD [r13 + rax * 8]], IN_RAX, [mov eax, eax]);
    unary!(g, op2!(I64ExtendI32S), IN_RAX, [movsxd rax, DWORD [r13 + rax * 8]], IN_RAX, [movsxd rax, eax]);
    unary!(g, op2!(I64ExtendI32U), IN_RAX, [mov eax, DWORD [r13 + rax * 8]], IN_RAX, [mov eax, eax]);
    unary!(g, op2!(I32Extend8S), IN_RAX, [movsx eax, BYTE [r13 + rax * 8]], IN_RAX, [movsx eax, al]);
    unary!(g, op2!(I32Extend16S), IN_RAX, [movsx eax, WORD [r13 + rax * 8]], IN_RAX, [movsx eax, ax]);
    unary!(g, op2!(I64Extend8S), IN_RAX, [movsx rax, BYTE [r13 + rax * 8]], IN_RAX, [movsx rax, al]);
    unary!(g, op2!(I64Extend16S), IN_RAX, [movsx rax, WORD [r13 + rax * 8]], IN_RAX, [movsx rax, ax]);
    unary!(g, op2!(I64Extend32S), IN_RAX, [movsxd rax, DWORD [r13 + rax * 8]], IN_RAX, [movsxd rax, eax]);

    // Float operations that are one SSE instruction, bit for bit what Rust computes.
    fbin!(g, op3!(F32Add), f32, addss);
    fbin!(g, op3!(F32Sub), f32, subss);
    fbin!(g, op3!(F32Mul), f32, mulss);
    fbin!(g, op3!(F32Div), f32, divss);
    fbin!(g, op3!(F64Add), f64, addsd);
    fbin!(g, op3!(F64Sub), f64, subsd);
    fbin!(g, op3!(F64Mul), f64, mulsd);
    fbin!(g, op3!(F64Div), f64, divsd);
    unary!(g, op2!(F32Abs), IN_RAX, [mov eax, DWORD [r13 + rax * 8] ; and eax, 0x7fff_ffff], IN_RAX, [and eax, 0x7fff_ffff]);
    unary!(g, op2!(F32Neg), IN_RAX, [mov eax, DWORD [r13 + rax * 8] ; xor eax, i32::MIN], IN_RAX, [xor eax, i32::MIN]);
    unary!(g, op2!(F64Abs), IN_RAX, [mov rax, QWORD [r13 + rax * 8] ; btr rax, 63], IN_RAX, [btr rax, 63]);
    unary!(g, op2!(F64Neg), IN_RAX, [mov rax, QWORD [r13 + rax * 8] ; btc rax, 63], IN_RAX, [btc rax, 63]);
    unary!(g, op2!(F32Sqrt), IN_RAX | IN_XMM0, [sqrtss xmm0, DWORD [r13 + rax * 8] ; movd eax, xmm0], IN_XMM0, [sqrtss xmm0, xmm0 ; movd eax, xmm0]);
    unary!(g, op2!(F64Sqrt), IN_RAX | IN_XMM0, [sqrtsd xmm0, QWORD [r13 + rax * 8] ; movq rax, xmm0], IN_XMM0, [sqrtsd xmm0, xmm0 ; movq rax, xmm0]);
    unary!(g, op2!(F64ConvertI32S), IN_RAX | IN_XMM0, [cvtsi2sd xmm0, DWORD [r13 + rax * 8] ; movq rax, xmm0], IN_RAX, [cvtsi2sd xmm0, eax ; movq rax, xmm0]);
    unary!(g, op2!(F64ConvertI32U), IN_RAX | IN_XMM0, [mov eax, DWORD [r13 + rax * 8] ; cvtsi2sd xmm0, rax ; movq rax, xmm0], IN_RAX, [mov eax, eax ; cvtsi2sd xmm0, rax ; movq rax, xmm0]);
    unary!(g, op2!(F64ConvertI64S), IN_RAX | IN_XMM0, [cvtsi2sd xmm0, QWORD [r13 + rax * 8] ; movq rax, xmm0], IN_RAX, [cvtsi2sd xmm0, rax ; movq rax, xmm0]);
    unary!(g, op2!(F32ConvertI32S), IN_RAX | IN_XMM0, [cvtsi2ss xmm0, DWORD [r13 + rax * 8] ; movd eax, xmm0], IN_RAX, [cvtsi2ss xmm0, eax ; movd eax, xmm0]);
    unary!(g, op2!(F32ConvertI32U), IN_RAX | IN_XMM0, [mov eax, DWORD [r13 + rax * 8] ; cvtsi2ss xmm0, rax ; movd eax, xmm0], IN_RAX, [mov eax, eax ; cvtsi2ss xmm0, rax ; movd eax, xmm0]);
    unary!(g, op2!(F32ConvertI64S), IN_RAX | IN_XMM0, [cvtsi2ss xmm0, QWORD [r13 + rax * 8] ; movd eax, xmm0], IN_RAX, [cvtsi2ss xmm0, rax ; movd eax, xmm0]);
    unary!(g, op2!(F64PromoteF32), IN_RAX | IN_XMM0, [cvtss2sd xmm0, DWORD [r13 + rax * 8] ; movq rax, xmm0], IN_XMM0, [cvtss2sd xmm0, xmm0 ; movq rax, xmm0]);
    unary!(g, op2!(F32DemoteF64), IN_RAX | IN_XMM0, [cvtsd2ss xmm0, QWORD [r13 + rax * 8] ; movd eax, xmm0], IN_XMM0, [cvtsd2ss xmm0, xmm0 ; movd eax, xmm0]);

    fcmp!(g, op3!(F64Eq), f64, F2, F3, sete al ; setnp dl ; and al, dl ; movzx eax, al);
    fcmp!(g, op3!(F64Ne), f64, F2, F3, setne al ; setp dl ; or al, dl ; movzx eax, al);
    fcmp!(g, op3!(F64Lt), f64, F3, F2, seta al ; movzx eax, al);
    fcmp!(g, op3!(F64Gt), f64, F2, F3, seta al ; movzx eax, al);
    fcmp!(g, op3!(F64Le), f64, F3, F2, setae al ; movzx eax, al);
    fcmp!(g, op3!(F64Ge), f64, F2, F3, setae al ; movzx eax, al);
    fcmp!(g, op3!(F32Eq), f32, F2, F3, sete al ; setnp dl ; and al, dl ; movzx eax, al);
    fcmp!(g, op3!(F32Ne), f32, F2, F3, setne al ; setp dl ; or al, dl ; movzx eax, al);
    fcmp!(g, op3!(F32Lt), f32, F3, F2, seta al ; movzx eax, al);
    fcmp!(g, op3!(F32Gt), f32, F2, F3, seta al ; movzx eax, al);
    fcmp!(g, op3!(F32Le), f32, F3, F2, setae al ; movzx eax, al);
    fcmp!(g, op3!(F32Ge), f32, F2, F3, setae al ; movzx eax, al);

    // Memory.
    load!(g, opl!(I32Load), 4, IN_RAX, mov eax, DWORD [r14 + rax]);
    load!(g, opl!(I64Load), 8, IN_RAX, mov rax, QWORD [r14 + rax]);
    load!(g, opl!(F32Load), 4, IN_RAX | IN_XMM0, mov eax, DWORD [r14 + rax]);
    load!(g, opl!(F64Load), 8, IN_RAX | IN_XMM0, mov rax, QWORD [r14 + rax]);
    load!(g, opl!(I32Load8S), 1, IN_RAX, movsx eax, BYTE [r14 + rax]);
    load!(g, opl!(I32Load8U), 1, IN_RAX, movzx eax, BYTE [r14 + rax]);
    load!(g, opl!(I32Load16S), 2, IN_RAX, movsx eax, WORD [r14 + rax]);
    load!(g, opl!(I32Load16U), 2, IN_RAX, movzx eax, WORD [r14 + rax]);
    load!(g, opl!(I64Load8S), 1, IN_RAX, movsx rax, BYTE [r14 + rax]);
    load!(g, opl!(I64Load8U), 1, IN_RAX, movzx eax, BYTE [r14 + rax]);
    load!(g, opl!(I64Load16S), 2, IN_RAX, movsx rax, WORD [r14 + rax]);
    load!(g, opl!(I64Load16U), 2, IN_RAX, movzx eax, WORD [r14 + rax]);
    load!(g, opl!(I64Load32S), 4, IN_RAX, movsxd rax, DWORD [r14 + rax]);
    load!(g, opl!(I64Load32U), 4, IN_RAX, mov eax, DWORD [r14 + rax]);
    store!(g, ops!(I32Store), 4, IN_RAX, mov DWORD [r14 + rax], ecx);
    store!(g, ops!(I64Store), 8, IN_RAX, mov QWORD [r14 + rax], rcx);
    store!(g, ops!(F32Store), 4, IN_XMM0, mov DWORD [r14 + rax], ecx);
    store!(g, ops!(F64Store), 8, IN_XMM0, mov QWORD [r14 + rax], rcx);
    store!(g, ops!(I32Store8), 1, IN_RAX, mov BYTE [r14 + rax], cl);
    store!(g, ops!(I32Store16), 2, IN_RAX, mov WORD [r14 + rax], cx);
    store!(g, ops!(I64Store8), 1, IN_RAX, mov BYTE [r14 + rax], cl);
    store!(g, ops!(I64Store16), 2, IN_RAX, mov WORD [r14 + rax], cx);
    store!(g, ops!(I64Store32), 4, IN_RAX, mov DWORD [r14 + rax], ecx);

    // Fused compare-and-branch.
    br_slots!(g, opb!(BrI32Eq), DWORD, je);
    br_slots!(g, opb!(BrI32Ne), DWORD, jne);
    br_slots!(g, opb!(BrI32LtS), DWORD, jl);
    br_slots!(g, opb!(BrI32LtU), DWORD, jb);
    br_slots!(g, opb!(BrI32GtS), DWORD, jg);
    br_slots!(g, opb!(BrI32GtU), DWORD, ja);
    br_slots!(g, opb!(BrI32LeS), DWORD, jle);
    br_slots!(g, opb!(BrI32LeU), DWORD, jbe);
    br_slots!(g, opb!(BrI32GeS), DWORD, jge);
    br_slots!(g, opb!(BrI32GeU), DWORD, jae);
    br_slots!(g, opb!(BrI64Eq), QWORD, je);
    br_slots!(g, opb!(BrI64Ne), QWORD, jne);
    br_slots!(g, opb!(BrI64LtS), QWORD, jl);
    br_slots!(g, opb!(BrI64LtU), QWORD, jb);
    br_slots!(g, opb!(BrI64GtS), QWORD, jg);
    br_slots!(g, opb!(BrI64GtU), QWORD, ja);
    br_slots!(g, opb!(BrI64LeS), QWORD, jle);
    br_slots!(g, opb!(BrI64LeU), QWORD, jbe);
    br_slots!(g, opb!(BrI64GeS), QWORD, jge);
    br_slots!(g, opb!(BrI64GeU), QWORD, jae);
    br_imm!(g, opbi!(BrI32EqImm), DWORD, je);
    br_imm!(g, opbi!(BrI32NeImm), DWORD, jne);
    br_imm!(g, opbi!(BrI32LtSImm), DWORD, jl);
    br_imm!(g, opbi!(BrI32LtUImm), DWORD, jb);
    br_imm!(g, opbi!(BrI32GtSImm), DWORD, jg);
    br_imm!(g, opbi!(BrI32GtUImm), DWORD, ja);
    br_imm!(g, opbi!(BrI32LeSImm), DWORD, jle);
    br_imm!(g, opbi!(BrI32LeUImm), DWORD, jbe);
    br_imm!(g, opbi!(BrI32GeSImm), DWORD, jge);
    br_imm!(g, opbi!(BrI32GeUImm), DWORD, jae);
    br_imm!(g, opbi!(BrI64EqImm), QWORD, je);
    br_imm!(g, opbi!(BrI64NeImm), QWORD, jne);
    br_imm!(g, opbi!(BrI64LtSImm), QWORD, jl);
    br_imm!(g, opbi!(BrI64LtUImm), QWORD, jb);
    br_imm!(g, opbi!(BrI64GtSImm), QWORD, jg);
    br_imm!(g, opbi!(BrI64GtUImm), QWORD, ja);
    br_imm!(g, opbi!(BrI64LeSImm), QWORD, jle);
    br_imm!(g, opbi!(BrI64LeUImm), QWORD, jbe);
    br_imm!(g, opbi!(BrI64GeSImm), QWORD, jge);
    br_imm!(g, opbi!(BrI64GeUImm), QWORD, jae);

    // Superinstructions that run two instructions in one handler (`Gen::sequence`): the
    // pairs that are most frequent in the benchmark programs' dynamic instruction streams
    // (`strata_opstats` pair counts), led by a kind that ends in its one dispatch. An add
    // that computes a load's address is fused with it by `load!` instead.
    for (first, second) in [
        (opi!(I32AddImm), opi!(I32AddImm)),
        (opi!(I32AddImm), opb!(BrI32Ne)),
        (opi!(I32AddImm), opb!(BrI32LtS)),
        (opi!(I32AddImm), Op::BrIfNez { cond: z, target: 0 }),
        (opi!(I32AddImm), Op::Copy { dst: z, src: z }),
        (opi!(I32AddImm), Op::Return1 { src: z }),
        (opi!(I32AddImm), opi!(I32AndImm)),
        (opi!(I32AddImm), op3!(I32Add)),
        (opi!(I32AddImm), opi!(I32ShrUImm)),
        (opi!(I32AddImm), op3!(F64Mul)),
        (opi!(I32AddImm), Op::Const32 { dst: z, val: 0 }),
        (opi!(I32AddImm), Op::Br { target: 0 }),
        (opl!(F64Load), op3!(F64Mul)),
        (opl!(F64Load), op3!(F64Add)),
        (opl!(F64Load), op3!(F64Sub)),
        (op3!(F64Mul), opl!(F64Load)),
        (op3!(F64Mul), op3!(F64Mul)),
        (op3!(F64Mul), op3!(F64Sub)),
        (op3!(F64Mul), op3!(F64Add)),
        (op3!(F64Add), ops!(F64Store)),
        (op3!(F64Sub), ops!(F64Store)),
        (ops!(F64Store), opi!(I32AddImm)),
        (opl!(I32Load), op3!(I32Mul)),
        (op3!(I32Mul), op3!(I32Add)),
        (op3!(I32Add), ops!(I32Store)),
        (ops!(I32Store), opi!(I32AddImm)),
        (ops!(I32Store), op3!(I32Add)),
        (ops!(I32Store), ops!(I32Store)),
        (opi!(I32ShrUImm), opi!(I32AndImm)),
        (opi!(I32AndImm), op3!(I32Add)),
        (op3!(I32Or), ops!(I32Store)),
        (opl!(I32Load), op3!(I32Or)),
        (op3!(I32Add), op3!(I32Shl)),
        (op3!(I32Add), opb!(BrI32LtU)),
        (op3!(I32Shl), opl!(I32Load)),
        (ops!(I32Store8), op3!(I32Add)),
        (op3!(I32Add), op3!(I64Add)),
        (op3!(I64Add), opb!(BrI64LtU)),
        (op3!(I32Add), op3!(I32Add)),
        (opl!(I32Load8U), opb!(BrI32Ne)),
        (opl!(I32Load8U), op3!(I32Add)),
        (op3!(I32Add), opi!(I32AddImm)),
        (opi!(I32AndImm), opi!(I32ShlImm)),
        (opi!(I32ShlImm), op3!(I32Add)),
        (Op::Copy { dst: z, src: z }, opbi!(BrI32LtSImm)),
        (opi!(I32MulImm), op3!(I32Add)),
        (opi!(I32ShrUImm), op3!(I32Xor)),
        (op3!(I32Add), opi!(I32MulImm)),
        (opi!(I32XorImm), op3!(I32Add)),
        (opi!(I32MulImm), opi!(I32AddImm)),
        (op3!(I32Xor), opi!(I32MulImm)),
        (opl!(I32Load8U), op3!(I32Xor)),
        (
            Op::Copy { dst: z, src: z },
            Op::BrIfNez { cond: z, target: 0 },
        ),
        (opi!(I32AndImm), Op::BrIfEqz { cond: z, target: 0 }),
        (opl!(I32Load8U), Op::BrIfEqz { cond: z, target: 0 }),
        (opl!(I32Load8U), ops!(I32Store8)),
        (ops!(I32Store8), opi!(I32AddImm)),
        (opl!(I32Load8U), opbi!(BrI32EqImm)),
        (opl!(I32Load), Op::Copy { dst: z, src: z }),
        (
            Op::Copy { dst: z, src: z },
            Op::CallIndirect {
                type_index: 0,
                index: z,
                base: z,
            },
        ),
        (Op::Copy { dst: z, src: z }, Op::Call { func: 0, base: z }),
        (Op::Copy { dst: z, src: z }, Op::Copy { dst: z, src: z }),
        (Op::Copy { dst: z, src: z }, opi!(I32AddImm)),
        (opi!(I32ShlImm), opi!(I32AddImm)),
        (Op::Copy { dst: z, src: z }, op2!(I64ExtendI32U)),
        (op3!(I64Add), opi!(I32MulImm)),
        (opl!(I32Load), opi!(I32ShlImm)),
        (op3!(I32LeS), op3!(I32Add)),
        (opl!(I32Load), op3!(I32GtS)),
        (Op::Const32 { dst: z, val: 0 }, opi!(I32ShlImm)),
        (opl!(I32Load), Op::BrTable { index: z, len: 0 }),
        (opi!(I64AddImm), Op::Br { target: 0 }),
        (ops!(I64Store), opi!(I32AddImm)),
        (opi!(I32RotlImm), op3!(I32Xor)),
        (opi!(I32RotlImm), opi!(I32RotlImm)),
        (op3!(I32Xor), op3!(I32Add)),
        (op3!(I32Xor), opi!(I32RotlImm)),
        (op3!(I32And), op3!(I32Add)),
        (op3!(I32Xor), op3!(I32And)),
        (opl!(I32Load), op3!(I32Add)),
        (opl!(I32Load), opi!(I32RotlImm)),
        (op3!(I32Xor), opi!(I32ShrUImm)),
    ] {
        g.sequence(first, second);
    }
}
