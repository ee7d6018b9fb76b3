//! The single-pass code generator: one visit of each operator, an abstract value stack that
//! keeps operands as constants, registers, pending local reads or home slots, and emits x86-64
//! directly (design in `abi.rs`).
//!
//! Invariants that keep the single pass correct:
//! - At every block, loop and `if` entry the stack is made canonical: every entry below the
//!   block's parameters is a constant or in its home slot, and the parameters are in their home
//!   slots. Code inside the block never changes entries below its height, so they stay valid at
//!   every label of the block, and a merge only has to put the branch values into the home
//!   slots of the target's results (or a loop's parameters).
//! - Code emitted on a conditional path (the moves of a taken `br_if`, `br_table` stubs) never
//!   changes the abstract stack.
//! - A call spills every register (all are caller-saved); pending local reads and constants
//!   survive it (callees cannot touch the caller's locals).
//! - An i32 in a general register is always zero-extended; memory addresses are nevertheless
//!   zero-extended explicitly (`mov r11d, r32`) before they meet the memory base.
//! - A local's cell is always up to date. A *free* register may additionally cache a local's
//!   value (`Gen::lcache`, set by `local.set`/`local.tee`); reads of the local use the
//!   register instead of the cell. The cache is dropped for a register when it is allocated
//!   or written explicitly (shift counts, division, helper arguments), for a local when it
//!   changes, and entirely at calls. At a label only the frame's *pinned* locals stay
//!   cached: a loop pins its most-read locals to fixed registers and every edge into a label
//!   inside it establishes them (`pins.rs`), so loop-carried values stay in registers across
//!   back-edges; nothing else has to agree across a merge.
//! - A compare leaves its condition in the flags (`Gen::pending`); a following `br_if`/`if`
//!   branches on it, any other operator materialises it first.
//! - A v128 is two entries (cells). In an XMM register both entries name it: they are
//!   spilled together (`spill_entry`), either one's `free` frees the register, and code that
//!   stores cells one by one writes the halves with `movq`/`pextrq` (`store_cell`). A
//!   register never backs two values, so a lowering may write a popped operand's register.
//!
//! Control frames, reachability and loop ordinals are the shared front end's
//! (`strata_vm::frontend::ControlStack`); a frame's payload here is its code `Labels`.
//!
//! Speed notes: operators arrive through wasmparser's `VisitOperator` (no `Operator` values)
//! from a plain `BinaryReader` whose frame stack is `Gen::ctrl`; the visitor returns `()`
//! (errors are parked in `Gen::error`); per-function vectors are reused across functions;
//! value-stack cells and linear memory use static base registers with 8-bit displacements
//! when they fit (`masm::fp_op`, `masm::mem_op`), ALU immediates use the `imm8` forms.

use super::abi::*;
use super::helpers;
use super::masm::{
    alu_ri8, fits_i32, fits_i8, fp_op, imul_ri8, jcc, mem_op, mov_imm, setcc, Asm, Cc,
};
use super::stack::{Loc, RegSet, Ty, Val};
use crate::jit::check_points::BUDGET_BYTES;
use crate::jit::unwind::{Handler, HandlerKind, UnwindInfo, NO_EXN};
use dynasmrt::{dynasm, AssemblyOffset, DynamicLabel, DynasmApi, DynasmLabelApi};
use strata_vm::frontend::{Arity, ControlKind as Kind, ControlStack};
use strata_vm::vmctx::offsets as off;
use strata_vm::{Module, TrapCode};
use wasmparser::{BlockType, BrTable, FrameKind, FrameStack, MemArg, VisitOperator};

type Res = Result<(), String>;

/// A range of `Gen::pins`: the locals pinned at a label (`pins.rs`).
type PinRange = (u32, u32);

/// The baseline's part of a control frame (the front end's payload). Block types stay in the
/// frame as wasmparser's `BlockType` (types are looked up when needed), so pushing a frame
/// never allocates.
#[derive(Clone, Copy, Debug)]
struct Labels {
    /// End label (block, if, func) or header (loop).
    label: DynamicLabel,
    /// For `if`: where the else arm starts.
    else_label: Option<DynamicLabel>,
    /// The locals pinned in registers at the label (`Gen::pins[cache.0..cache.1]`): every
    /// edge into the label establishes them (see `pins.rs`). A loop's own; other frames
    /// inherit their parent's.
    cache: PinRange,
}

pub struct Gen<'a> {
    pub asm: &'a mut Asm,
    pub explicit: bool,
    pub has_memory: bool,
    module: &'a Module,
    traps: &'a mut Vec<(u32, TrapCode)>,
    /// Cells of the parameters and declared locals (`L`).
    num_locals: u32,
    /// The type of each local cell (a v128 local is `V128`, `V128Hi`).
    local_tys: Vec<Ty>,
    /// The first cell of each local, by local index.
    local_cells: Vec<u32>,
    results: Vec<Ty>,
    stack: Vec<Val>,
    /// Entries `stack[..canon]` are all constants or in their home slots (no register, no
    /// pending local read): scans for registers and locals start here.
    canon: usize,
    ctrl: ControlStack<Labels>,
    regs: RegSet,
    max_height: usize,
    /// A compare whose boolean is still in the flags: fused with a following `br_if`/`if`,
    /// otherwise materialised before the next operator.
    pending: Option<Cc>,
    /// Local caching: `lcache[r] == i` means the free general register `r` (or XMM register
    /// `r - 16`) still holds the current value of local `i` (a copy: the local's cell is
    /// always up to date). Set by `local.set`/`local.tee` of a register value; dropped when
    /// the register is allocated or written, when local `i` changes, at every label (merge)
    /// and at calls. `lcached` has a bit per entry.
    lcache: [u32; 32],
    lcached: u32,
    /// The first error of a lowering (see the `VisitOperator` impl).
    error: Option<String>,
    /// Per trap code, the shared out-of-line stub that sets the code and leaves through the
    /// trap stub (made on first use).
    trap_labels: [Option<DynamicLabel>; 32],
    /// The shared stub that leaves through the trap stub with the code in `eax` and the
    /// trap site's return address in `rdx` (`trap_exit`).
    to_stub: DynamicLabel,
    /// The byte offset in the module of the wasm instruction being compiled (its first
    /// instruction's before the body: the prologue's checks).
    wasm_at: u32,
    /// Out-of-line trap sites (`trap_label`, `trap_exit`): the label code jumps to, the
    /// trap code it sets (`None`: the helper's, already in `eax`) and the wasm offset.
    trap_sites: Vec<(DynamicLabel, Option<TrapCode>, u32)>,
    /// (code offset, wasm offset) of every fault site, trap site and call return address
    /// (docs/abi.md §6): backtraces map the pcs they find to wasm offsets with it.
    wasm_offsets: &'a mut Vec<(u32, u32)>,
    /// With OSR entries: (ordinal, header, pinned locals) of every reachable loop (ordinals
    /// count dead loops too: they name a loop in every tier, see `strata_vm::frontend`).
    osr_loops: Option<Vec<(u32, DynamicLabel, PinRange)>>,
    /// Tiered execution's counting, when the policy can move this code higher.
    counting: Option<Counting>,
    /// Direct call sites and exception handlers of the mapping (docs/abi.md §10).
    unwind: &'a mut UnwindInfo,
    /// The function has handlers: a helper call's trap path then names the call's own pc
    /// (`site_stubs`), so the unwinder sees which try bodies it is in.
    catch_sites: bool,
    /// In the nested call of a tail call: the frame is replaced as far as the semantics go,
    /// so its handlers must not see the callee's exception (the trap path names no site).
    no_catch: bool,
    /// (site, cold path) of each helper call whose trap path names its pc.
    site_stubs: Vec<(DynamicLabel, DynamicLabel)>,
    /// The trap path with `rdx` = the pc after the instruction that left it, for paths a
    /// handler may catch (`to_stub` pops its site's return address instead).
    to_stub_pc: DynamicLabel,
    /// Catch clauses of the open `try_table`s, innermost last; their `end` is set when the
    /// try closes.
    pending_catches: Vec<Handler>,
    /// Open legacy `try`s: (control index, body start, body end once a clause began).
    legacy: Vec<(u32, u32, Option<u32>)>,
    /// The function's v128 constants, read `rip`-relative from a pool after its code
    /// (`simd::emit_v128_pool`).
    v128_consts: Vec<(u128, DynamicLabel)>,
    /// Loop register assignments (`pins.rs`): (`lcache` index, local cell) pairs, in
    /// ranges named by `Labels::cache`.
    pins: Vec<(u8, u32)>,
    /// The function's operators from their start (`ops_at`), for the scan of a loop's body
    /// when the loop is reached (`pins::scan_loop`).
    ops: wasmparser::BinaryReader<'a>,
    ops_at: u32,
    /// Scan weights by wasm local index (zero between scans) and the indices set.
    scan_w: Vec<u32>,
    scan_touched: Vec<u32>,
}

/// Counting in baseline code (docs/tiering.md): the function's call and loop budgets
/// (`jit::check_points::Budget`, in a data page after the code), and the out-of-line check
/// points to emit after the body.
struct Counting {
    call_budget: DynamicLabel,
    loop_budget: DynamicLabel,
    def_index: u32,
    call_check: Option<(DynamicLabel, DynamicLabel)>,
    loop_checks: Vec<LoopCheck>,
}

/// A loop header's check point: where its cold path starts and where it goes back to, and
/// the constants of the abstract stack (which have no cell until OSR needs them there).
struct LoopCheck {
    cold: DynamicLabel,
    resume: DynamicLabel,
    ordinal: u32,
    consts: Vec<(u32, Val)>,
    /// The loop's pinned locals, reloaded after the helper call.
    pins: PinRange,
}

/// Where a compiled function's code starts, and its OSR entries.
pub struct FuncEntries {
    pub entry: usize,
    /// (loop ordinal, code offset) of each OSR entry, in ordinal order.
    pub osr: Vec<(u32, usize)>,
    /// Value-stack cells the frame needs (`L + H + 1`).
    pub frame_cells: u64,
    /// With counting: the labels of the function's call and loop budgets, which the caller
    /// places after all the code of its mapping with `budget_data`.
    pub budgets: Option<Budgets>,
}

/// The call and loop budget labels of one counting function (`budget_data` places them).
#[derive(Clone, Copy)]
pub struct Budgets {
    call: DynamicLabel,
    looping: DynamicLabel,
}

/// Pads `asm` to a page boundary and puts the call and loop budgets of `budgets` there (all
/// zero: the first event of each syncs with the counters), one data area for every counting
/// function of the mapping, to be mapped read+write and never executable
/// (`jit::publish_with_data`). Returns the data's offset.
pub fn budget_data(asm: &mut Asm, budgets: &[Budgets]) -> usize {
    // int3 up to the page, copied from a slice (a byte at a time costs more than a small
    // function's compile: +7% instructions on large.wasm, whose functions are small and many).
    static PAD: [u8; 4096] = [0xcc; 4096];
    let pad = asm.offset().0.next_multiple_of(4096) - asm.offset().0;
    asm.extend(&PAD[..pad]);
    let data = asm.offset().0;
    let zeros = [0u8; BUDGET_BYTES];
    for b in budgets {
        dynasm!(asm ; .arch x64 ; =>b.call);
        asm.extend(zeros);
        dynasm!(asm ; .arch x64 ; =>b.looping);
        asm.extend(zeros);
    }
    data
}

enum Opnd {
    Reg(u8),
    Mem(i32),
    Imm(i32),
}

/// Byte offset of a v128 global's high half from its value cell (`GlobalData::hi`).
const GLOBAL_HI: i32 = (std::mem::offset_of!(strata_vm::GlobalData, hi) as isize
    - std::mem::offset_of!(strata_vm::GlobalData, value) as isize) as i32;

/// `Gen::lcache` entry of a register that caches no local.
const NO_LOCAL: u32 = u32::MAX;

/// Maps a value type known to be supported (checked where it was first seen).
fn ty_of(t: strata_vm::ValType) -> Ty {
    Ty::from_val(t).unwrap_or(Ty::I64)
}

/// Appends the cell types of `n` values of type `t` (a v128 is `V128`, `V128Hi`).
fn push_cells(out: &mut Vec<Ty>, t: Ty, n: usize) {
    for _ in 0..n {
        out.push(t);
        if t == Ty::V128 {
            out.push(Ty::V128Hi);
        }
    }
}

/// Compiles defined function `def_index`, appending to `asm`. Returns the code offset of its
/// entry, and with `osr` an OSR entry per reachable loop (design.md §5). Trap sites (offsets
/// from the start of `asm`) are appended to `traps`, the wasm offsets of trap sites, fault
/// sites and calls to `wasm_offsets`, and direct call sites and catch clauses to `unwind`.
/// With `counting`, the code counts calls and loop iterations in budgets of its own and
/// calls the tier manager at their check points; the caller places the budgets
/// (`FuncEntries::budgets`) after all the code of the mapping with `budget_data`.
// The outputs (code, trap sites, wasm offsets, unwind information) are appended to the
// caller's buffers, which whole-module compilation shares between functions.
#[allow(clippy::too_many_arguments)]
pub fn compile_function(
    asm: &mut Asm,
    traps: &mut Vec<(u32, TrapCode)>,
    wasm_offsets: &mut Vec<(u32, u32)>,
    unwind: &mut UnwindInfo,
    module: &Module,
    def_index: usize,
    explicit: bool,
    osr: bool,
    counting: bool,
) -> Result<FuncEntries, String> {
    let func_index = module.num_imported_funcs + def_index as u32;
    let ty = module.func_type(func_index);
    let body = module.body(def_index);
    // The per-function vectors are reused from the previous function of this thread.
    let Bufs {
        mut local_tys,
        mut local_cells,
        mut results,
        mut stack,
        ctrl,
        mut pins,
        mut scan_w,
    } = BUFS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    local_tys.clear();
    local_cells.clear();
    results.clear();
    stack.clear();
    pins.clear();
    // Types by cell (a v128 takes two, docs/abi.md §1) and the cell of each local.
    for t in ty.params() {
        local_cells.push(local_tys.len() as u32);
        push_cells(&mut local_tys, Ty::from_val(*t)?, 1);
    }
    let num_params = local_tys.len() as u32;
    let mut locals = body.get_locals_reader().map_err(|e| e.to_string())?;
    for _ in 0..locals.get_count() {
        let (count, t) = locals.read().map_err(|e| e.to_string())?;
        let t = Ty::from_wasm(t)?;
        if local_tys.len() as u64 + count as u64 * t.cells() as u64 > MAX_FRAME_CELLS / 2 {
            return Err("function has too many locals".into());
        }
        for _ in 0..count {
            local_cells.push(local_tys.len() as u32);
            push_cells(&mut local_tys, t, 1);
        }
    }
    for t in ty.results() {
        push_cells(&mut results, Ty::from_val(*t)?, 1);
    }
    let nresults = results.len() as u32;
    let to_stub = asm.new_dynamic_label();
    let to_stub_pc = asm.new_dynamic_label();
    let func_label = asm.new_dynamic_label();
    let first_handler = unwind.handlers.len();
    let budgets = counting.then(|| (asm.new_dynamic_label(), asm.new_dynamic_label()));
    // A plain `BinaryReader` with `Gen` as the frame stack (wasmparser's syntactic checks of
    // `else`/`end` read `ctrl`): no second control stack, no allocation per function.
    let mut reader = body
        .get_binary_reader_for_operators()
        .map_err(|e| e.to_string())?;
    scan_w.clear();
    scan_w.resize(local_cells.len(), 0);
    let mut g = Gen {
        asm,
        explicit,
        has_memory: !module.memories.is_empty(),
        module,
        traps,
        num_locals: local_tys.len() as u32,
        local_tys,
        local_cells,
        results,
        stack,
        canon: 0,
        ctrl,
        regs: RegSet::default(),
        max_height: 0,
        pending: None,
        lcache: [NO_LOCAL; 32],
        lcached: 0,
        error: None,
        trap_labels: [None; 32],
        to_stub,
        wasm_at: 0,
        trap_sites: Vec::new(),
        wasm_offsets,
        osr_loops: osr.then(Vec::new),
        counting: budgets.map(|(call_budget, loop_budget)| Counting {
            call_budget,
            loop_budget,
            def_index: def_index as u32,
            call_check: None,
            loop_checks: Vec::new(),
        }),
        unwind,
        catch_sites: strata_vm::frontend::has_handlers(module, def_index),
        no_catch: false,
        site_stubs: Vec::new(),
        to_stub_pc,
        pending_catches: Vec::new(),
        legacy: Vec::new(),
        v128_consts: Vec::new(),
        pins,
        ops: reader.clone(),
        ops_at: reader.original_position() as u32,
        scan_w,
        scan_touched: Vec::new(),
    };
    g.wasm_at = reader.original_position() as u32;
    let entry = g.asm.offset().0;
    let patch = g.prologue(num_params);
    g.interruption_point();
    g.count_call();
    g.ctrl.start(
        nresults,
        Labels {
            label: func_label,
            else_label: None,
            cache: (0, 0),
        },
    );
    while !reader.eof() {
        g.wasm_at = reader.original_position() as u32;
        reader.visit_operator(&mut g).map_err(|e| e.to_string())?;
        if let Some(e) = g.error.take() {
            return Err(e);
        }
    }
    if !g.ctrl.is_empty() {
        return Err("function body ended inside a block".into());
    }
    let mut patches = vec![patch];
    let mut osr_entries = Vec::new();
    for (ordinal, header, pins) in g.osr_loops.take().unwrap_or_default() {
        osr_entries.push((ordinal, g.asm.offset().0));
        patches.push(g.osr_entry(header, pins));
    }
    let budgets = g.check_point_stubs();
    g.epilogue_stubs();
    g.emit_v128_pool();
    let end = g.asm.offset().0 as u32;
    g.unwind.close_function(entry as u32, end, first_handler);
    let budgets = budgets.map(|(call, looping)| Budgets { call, looping });
    let frame = g.num_locals as u64 + g.max_height as u64 + 1;
    if frame > MAX_FRAME_CELLS {
        return Err("function frame is too large".into());
    }
    let mut m = g.asm.alter();
    for p in patches {
        m.goto(AssemblyOffset(p - 4));
        m.push_i32(cell_disp(frame as u32));
    }
    BUFS.with(|b| {
        *b.borrow_mut() = Bufs {
            local_tys: g.local_tys,
            local_cells: g.local_cells,
            results: g.results,
            stack: g.stack,
            ctrl: g.ctrl,
            pins: g.pins,
            scan_w: g.scan_w,
        }
    });
    Ok(FuncEntries {
        entry,
        osr: osr_entries,
        frame_cells: frame,
        budgets,
    })
}

/// Vectors of `Gen` kept between functions (a module has thousands of small functions).
#[derive(Default)]
struct Bufs {
    local_tys: Vec<Ty>,
    local_cells: Vec<u32>,
    results: Vec<Ty>,
    stack: Vec<Val>,
    ctrl: ControlStack<Labels>,
    pins: Vec<(u8, u32)>,
    scan_w: Vec<u32>,
}

thread_local! {
    static BUFS: std::cell::RefCell<Bufs> = std::cell::RefCell::new(Bufs::default());
}

macro_rules! asm {
    ($g:ident; $($t:tt)*) => {{
        let a = &mut *$g.asm;
        dynasm!(a ; .arch x64 ; $($t)*);
    }};
}

/// An instruction with a value-stack cell operand `[r14 + d]` (see `masm::fp_op`).
macro_rules! fpa {
    ($g:ident, $d:expr; {$($pre:tt)*} {$($post:tt)*}) => {
        fp_op!(&mut *$g.asm, $d; {$($pre)*} {$($post)*})
    };
}

/// An instruction with a linear-memory operand `[r13 + r11 + d]` (see `masm::mem_op`).
macro_rules! mema {
    ($g:ident, $d:expr; {$($pre:tt)*} {$($post:tt)*}) => {
        mem_op!(&mut *$g.asm, $d; {$($pre)*} {$($post)*})
    };
}

/// `op dst, src` for the integer ALU forms (two operands, same width).
macro_rules! alu {
    ($g:ident, $mn:ident, $w64:expr, $dst:expr, $src:expr) => {{
        let d = $dst;
        match ($w64, $src) {
            (false, Opnd::Reg(r)) => asm!($g; $mn Rd(d), Rd(r)),
            (true, Opnd::Reg(r)) => asm!($g; $mn Rq(d), Rq(r)),
            (false, Opnd::Mem(m)) => fpa!($g, m; {$mn Rd(d), DWORD} {}),
            (true, Opnd::Mem(m)) => fpa!($g, m; {$mn Rq(d), QWORD} {}),
            (w, Opnd::Imm(i)) if fits_i8(i) => alu_ri8($g.asm, alu_ext!($mn), w, d, i as i8),
            (false, Opnd::Imm(i)) => asm!($g; $mn Rd(d), i),
            (true, Opnd::Imm(i)) => asm!($g; $mn Rq(d), i),
        }
    }};
}

/// The `/digit` opcode extension of the `83 /n ib` ALU group.
macro_rules! alu_ext {
    (add) => {
        0
    };
    (or) => {
        1
    };
    (and) => {
        4
    };
    (sub) => {
        5
    };
    (xor) => {
        6
    };
    (cmp) => {
        7
    };
}

/// SSE scalar `op xmm, xmm/mem`.
macro_rules! sse {
    ($g:ident, $mn32:ident, $mn64:ident, $w64:expr, $dst:expr, $src:expr) => {{
        let d = $dst;
        match ($w64, $src) {
            (false, Opnd::Reg(r)) => asm!($g; $mn32 Rx(d), Rx(r)),
            (true, Opnd::Reg(r)) => asm!($g; $mn64 Rx(d), Rx(r)),
            (false, Opnd::Mem(m)) => fpa!($g, m; {$mn32 Rx(d), DWORD} {}),
            (true, Opnd::Mem(m)) => fpa!($g, m; {$mn64 Rx(d), QWORD} {}),
            (_, Opnd::Imm(_)) => unreachable!("no SSE immediates"),
        }
    }};
}

/// A load from linear memory at `[r13 + r11 + disp]` into register `d`.
macro_rules! mload {
    ($g:ident, $disp:expr; {$($pre:tt)*} {$($post:tt)*}) => {{
        let site = $g.asm.offset().0 as u32;
        $g.traps.push((site, TrapCode::MemoryOutOfBounds));
        $g.wasm_offsets.push((site, $g.wasm_at));
        mema!($g, $disp; {$($pre)*} {$($post)*});
    }};
}

impl<'a> Gen<'a> {
    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: String) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    // ---- locals cached in free registers ----

    /// The free general register that holds local `i`'s value, if one does.
    #[inline]
    pub fn cached_local(&self, loc: Loc) -> Option<u8> {
        let Loc::Local(i) = loc else { return None };
        let mut m = self.lcached & 0xffff;
        while m != 0 {
            let r = m.trailing_zeros() as u8;
            if self.lcache[r as usize] == i {
                return Some(r);
            }
            m &= m - 1;
        }
        None
    }

    /// The free XMM register that holds local `i`'s value, if one does.
    #[inline]
    pub fn cached_xmm(&self, loc: Loc) -> Option<u8> {
        let Loc::Local(i) = loc else { return None };
        let mut m = self.lcached >> 16;
        while m != 0 {
            let r = m.trailing_zeros() as u8;
            if self.lcache[16 + r as usize] == i {
                return Some(r);
            }
            m &= m - 1;
        }
        None
    }

    /// The type of local `i`.
    pub fn local_ty(&self, i: u32) -> Ty {
        self.local_tys[i as usize]
    }

    /// XMM register `x` is about to be written: it caches nothing any more.
    #[inline]
    fn forget_xmm(&mut self, x: u8) {
        self.lcache[16 + x as usize] = NO_LOCAL;
        self.lcached &= !(1 << (16 + x));
    }

    /// Register `r` is about to be written: it caches nothing any more.
    #[inline]
    fn forget_reg(&mut self, r: u8) {
        self.lcache[r as usize] = NO_LOCAL;
        self.lcached &= !(1 << r);
    }

    /// Forgets every cached local (labels, calls).
    #[inline]
    fn forget_all(&mut self) {
        if self.lcached != 0 {
            self.lcache = [NO_LOCAL; 32];
            self.lcached = 0;
        }
    }

    /// Local `i` changes: registers holding its old value cache nothing.
    fn forget_local(&mut self, i: u32) {
        let mut m = self.lcached;
        while m != 0 {
            let r = m.trailing_zeros() as usize;
            if self.lcache[r] == i {
                self.lcache[r] = NO_LOCAL;
                self.lcached &= !(1 << r);
            }
            m &= m - 1;
        }
    }

    pub fn slot_disp(&self, p: u32) -> i32 {
        cell_disp(self.num_locals + p)
    }

    /// The value-stack cell (relative to fp) a location reads, if it is one.
    fn cell_of(&self, loc: Loc) -> Option<u32> {
        match loc {
            Loc::Local(i) => Some(i),
            Loc::Slot(p) => Some(self.num_locals + p),
            _ => None,
        }
    }

    // ---- registers and the abstract stack ----

    #[inline]
    fn push(&mut self, ty: Ty, loc: Loc) {
        if let Loc::Reg(r) = loc {
            self.regs.set(ty.in_xmm(), r);
        }
        self.stack.push(Val::new(ty, loc));
        self.max_height = self.max_height.max(self.stack.len());
    }

    #[inline]
    fn push_reg(&mut self, ty: Ty, r: u8) {
        self.push(ty, Loc::Reg(r));
    }

    #[inline]
    fn pop(&mut self) -> Val {
        let v = self.stack.pop().unwrap_or(Val::new(Ty::I32, Loc::Const(0)));
        self.canon = self.canon.min(self.stack.len());
        v
    }

    /// Frees `v`'s register (either half of a v128 in a register frees it).
    #[inline]
    fn free(&mut self, v: Val) {
        if let Loc::Reg(r) = v.loc {
            self.regs.clear(v.ty.in_xmm(), r);
        }
    }

    /// Moves stack entry `p` to its home slot (both halves of a v128 in a register).
    fn spill_entry(&mut self, p: usize) {
        let v = self.stack[p];
        if let Loc::Slot(_) = v.loc {
            return;
        }
        if let (true, Loc::Reg(x)) = (v.ty.is_v128(), v.loc) {
            let p = if v.ty == Ty::V128Hi { p - 1 } else { p };
            let disp = self.slot_disp(p as u32);
            fpa!(self, disp; {movdqu OWORD} {, Rx(x)});
            self.regs.clear(true, x);
            self.stack[p].loc = Loc::Slot(p as u32);
            self.stack[p + 1].loc = Loc::Slot(p as u32 + 1);
            return;
        }
        let disp = self.slot_disp(p as u32);
        self.store_cell(v, FP, disp);
        self.free(v);
        self.stack[p].loc = Loc::Slot(p as u32);
    }

    fn alloc_gpr(&mut self) -> u8 {
        // A free register that caches no local first, then a caching one.
        for r in ALLOC_GPRS {
            if !self.regs.is_used(false, r) && self.lcached & (1 << r) == 0 {
                self.regs.set(false, r);
                return r;
            }
        }
        for r in ALLOC_GPRS {
            if !self.regs.is_used(false, r) {
                self.forget_reg(r);
                self.regs.set(false, r);
                return r;
            }
        }
        // Spill the deepest register-held integer.
        let p = self.canon
            + self.stack[self.canon..]
                .iter()
                .position(|v| !v.ty.in_xmm() && matches!(v.loc, Loc::Reg(_)))
                .expect("a register is held by the stack");
        let r = self.stack[p].reg().unwrap_or(RAX);
        self.spill_entry(p);
        self.forget_reg(r);
        self.regs.set(false, r);
        r
    }

    fn alloc_xmm(&mut self) -> u8 {
        for r in 0..ALLOC_XMMS {
            if !self.regs.is_used(true, r) && self.lcached & (1 << (16 + r)) == 0 {
                self.regs.set(true, r);
                return r;
            }
        }
        for r in 0..ALLOC_XMMS {
            if !self.regs.is_used(true, r) {
                self.forget_xmm(r);
                self.regs.set(true, r);
                return r;
            }
        }
        let p = self.canon
            + self.stack[self.canon..]
                .iter()
                .position(|v| v.ty.in_xmm() && matches!(v.loc, Loc::Reg(_)))
                .expect("an xmm register is held by the stack");
        let r = self.stack[p].reg().unwrap_or(0);
        self.spill_entry(p);
        self.forget_xmm(r);
        self.regs.set(true, r);
        r
    }

    /// Frees a specific general register: spills the stack entry holding it.
    fn evict(&mut self, r: u8) {
        if !self.regs.is_used(false, r) {
            return;
        }
        if let Some(p) = self.stack[self.canon..]
            .iter()
            .position(|v| !v.ty.in_xmm() && v.loc == Loc::Reg(r))
        {
            self.spill_entry(self.canon + p);
        }
    }

    /// A register owned by the caller holding `v` (reuses `v`'s register).
    fn take_gpr(&mut self, v: Val) -> u8 {
        if let (Loc::Reg(r), false) = (v.loc, v.ty.is_float()) {
            return r;
        }
        let r = self.alloc_gpr();
        self.load_gpr_into(v, r);
        self.free(v);
        r
    }

    fn take_xmm(&mut self, v: Val) -> u8 {
        if let (Loc::Reg(r), true) = (v.loc, v.ty.is_float()) {
            return r;
        }
        let r = self.alloc_xmm();
        self.load_xmm_into(v, r);
        self.free(v);
        r
    }

    /// A second operand for an integer instruction: register, frame memory or immediate.
    fn int_opnd(&mut self, v: Val, imm_ok: bool, scratch: u8) -> Opnd {
        if let (Some(c), false) = (self.cached_local(v.loc), v.ty.is_float()) {
            return Opnd::Reg(c);
        }
        match v.loc {
            Loc::Reg(r) if !v.ty.is_float() => Opnd::Reg(r),
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(v.loc).unwrap_or(0)),
            Loc::Const(c) if imm_ok && (!v.ty.is_64() || fits_i32(c)) => Opnd::Imm(c as i32),
            _ => {
                self.load_gpr_into(v, scratch);
                Opnd::Reg(scratch)
            }
        }
    }

    fn float_opnd(&mut self, v: Val) -> Opnd {
        if let (Some(c), true) = (self.cached_xmm(v.loc), v.ty.is_float()) {
            return Opnd::Reg(c);
        }
        match v.loc {
            Loc::Reg(r) if v.ty.is_float() => Opnd::Reg(r),
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(v.loc).unwrap_or(0)),
            _ => {
                self.load_xmm_into(v, XMM_SCRATCH);
                Opnd::Reg(XMM_SCRATCH)
            }
        }
    }

    /// Spills every register-held entry (before calls).
    fn spill_regs(&mut self) {
        if self.regs.gpr == 0 && self.regs.xmm == 0 {
            return;
        }
        for p in self.canon..self.stack.len() {
            if let Loc::Reg(_) = self.stack[p].loc {
                self.spill_entry(p);
            }
        }
    }

    /// Makes the stack canonical for a block with `nparams` parameters (see module docs).
    fn canonicalize(&mut self, nparams: usize) {
        let len = self.stack.len();
        for p in self.canon.min(len - nparams)..len {
            let v = self.stack[p];
            let keep_const = matches!(v.loc, Loc::Const(_)) && p < len - nparams;
            if !keep_const {
                self.spill_entry(p);
            }
        }
        self.canon = len;
    }

    /// Writes pending reads of local `i` to their slots before the local changes.
    fn preserve_local(&mut self, i: u32) {
        for p in self.canon..self.stack.len() {
            if self.stack[p].loc == Loc::Local(i) {
                self.spill_entry(p);
            }
        }
    }

    fn recompute_regs(&mut self) {
        let mut regs = RegSet::default();
        for v in &self.stack[self.canon.min(self.stack.len())..] {
            if let Loc::Reg(r) = v.loc {
                regs.set(v.ty.in_xmm(), r);
            }
        }
        self.regs = regs;
    }

    fn truncate(&mut self, height: usize) {
        while self.stack.len() > height {
            let v = self.pop();
            self.free(v);
        }
    }

    // ---- traps ----

    /// A label to jump to for trap `code` here: a stub of its own, out of line, so that the
    /// backtrace knows the wasm instruction (`epilogue_stubs`).
    fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        let l = self.asm.new_dynamic_label();
        self.trap_sites.push((l, Some(code), self.wasm_at));
        l
    }

    /// A label to jump to with a trap code in `eax` (a helper's) here, like `trap_label`.
    fn trap_exit(&mut self) -> DynamicLabel {
        let l = self.asm.new_dynamic_label();
        self.trap_sites.push((l, None, self.wasm_at));
        l
    }

    fn trap_if(&mut self, cc: Cc, code: TrapCode) {
        let l = self.trap_label(code);
        jcc(self.asm, cc, l);
    }

    /// After a helper that returns a trap code in eax.
    fn check_helper_trap(&mut self) {
        if self.catch_sites && !self.no_catch {
            // The cold path names this pc: a handler around the call may catch.
            let (site, cold) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
            asm!(self; =>site ; test eax, eax ; jnz =>cold);
            self.site_stubs.push((site, cold));
            return;
        }
        let l = self.trap_exit();
        asm!(self; test eax, eax ; jnz =>l);
    }

    /// Jumps to the trap path with `rdx` naming this pc (a throw: handlers of the try
    /// bodies around it may catch).
    fn jump_to_stub_here(&mut self) {
        let (site, l) = (self.asm.new_dynamic_label(), self.to_stub_pc);
        asm!(self; =>site ; lea rdx, [=>site] ; jmp =>l);
    }

    /// Registers the direct JIT call just emitted (`lea r14, [r14 + shift]; call`): its
    /// return address and the shift, from which the unwinder recovers this frame's `fp`.
    fn direct_call_site(&mut self, shift: i32) {
        let ret = self.asm.offset().0 as u32;
        self.unwind.calls.push((ret, shift));
    }

    /// The out-of-line trap sites, then the shared stubs they call. Each site is a `call` to
    /// its code's stub (5 bytes): the return address it pushes names the site (`wasm_offsets`
    /// holds it, less one, with the site's wasm offset); the stub pops it into `rdx` for the
    /// trap stub, which starts the backtrace there (`jit::helpers::record_trap`). Paths that
    /// may be caught enter at `to_stub_pc` with `rdx` = the pc after their helper call.
    fn epilogue_stubs(&mut self) {
        let to_stub = self.to_stub;
        for (l, code, at) in std::mem::take(&mut self.trap_sites) {
            let common = match code {
                None => to_stub,
                Some(code) => match self.trap_labels[code as usize] {
                    Some(c) => c,
                    None => {
                        let c = self.asm.new_dynamic_label();
                        self.trap_labels[code as usize] = Some(c);
                        c
                    }
                },
            };
            asm!(self; =>l ; call =>common);
            let ret = self.asm.offset().0 as u32;
            self.wasm_offsets.push((ret - 1, at));
        }
        for (i, l) in self.trap_labels.iter().enumerate() {
            if let Some(l) = *l {
                let a = &mut *self.asm;
                dynasm!(a ; .arch x64 ; =>l ; mov eax, i as i32 ; jmp =>to_stub);
            }
        }
        let stub = super::trampoline::trap_stub();
        let with_pc = self.to_stub_pc;
        for (site, cold) in std::mem::take(&mut self.site_stubs) {
            asm!(self; =>cold ; lea rdx, [=>site] ; jmp =>with_pc);
        }
        // rdx = the pc after the trapping instruction (a trap site's return address, or the
        // end of the helper call a throw came out of), less one: a pc of this function inside
        // the instruction, which is how `wasm_offsets` keys return addresses (never a fault
        // site's key) and which the handler ranges `(start, end]` of `jit::unwind` cover.
        asm!(self
            ; =>to_stub
            ; pop rdx
            ; =>with_pc
            ; sub rdx, 1
            ; mov r11, QWORD stub as i64
            ; jmp r11
        );
    }

    /// Records the return address of a call just emitted, with the calling instruction's
    /// wasm offset, for backtraces through it.
    /// Keyed by the return address less one (the call's last byte), like the trap sites'.
    pub(crate) fn call_site(&mut self) {
        let ret = self.asm.offset().0 as u32;
        self.wasm_offsets.push((ret - 1, self.wasm_at));
    }

    // ---- interruption (design.md §13, docs/abi.md §7) ----

    /// The interruption point of a function entry or loop header, when the module has any
    /// (none: nothing is emitted). Uses only the scratch registers and the flags, which
    /// hold nothing at these points.
    fn interruption_point(&mut self) {
        let checks = self.module.interrupts;
        let fuel = checks.fuel.then(|| self.trap_label(TrapCode::OutOfFuel));
        let epoch = checks.epoch.then(|| self.trap_label(TrapCode::Interrupt));
        crate::jit::x64::interruption_point(self.asm, fuel, epoch);
    }

    // ---- tiered execution's counters (docs/tiering.md) ----

    /// Counts a call at function entry (after the interruption point): one decrement of
    /// the call budget, `rip`-relative, and a branch to the out-of-line check point when it
    /// runs out (JavaScriptCore's `add32` + branch; no register, nothing loaded first).
    fn count_call(&mut self) {
        let Some(c) = self.counting.as_mut() else {
            return;
        };
        let budget = c.call_budget;
        let (cold, resume) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        c.call_check = Some((cold, resume));
        asm!(self
            ; sub DWORD [=>budget], 1
            ; js =>cold
            ; =>resume
        );
    }

    /// Counts an iteration at a loop header (entering the loop counts once too): its check
    /// point may leave the frame for a higher tier's OSR entry. The abstract stack holds
    /// only constants and home slots here (block-entry invariant), and the constants get
    /// their cells on the cold path.
    fn count_backedge(&mut self) {
        let Some((ordinal, pins)) = self.ctrl.last().map(|l| (l.loop_ordinal, l.payload.cache))
        else {
            return;
        };
        let consts: Vec<(u32, Val)> = self
            .stack
            .iter()
            .enumerate()
            .filter(|(_, v)| matches!(v.loc, Loc::Const(_)))
            .map(|(p, v)| (p as u32, *v))
            .collect();
        let Some(c) = self.counting.as_mut() else {
            return;
        };
        let budget = c.loop_budget;
        let (cold, resume) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        c.loop_checks.push(LoopCheck {
            cold,
            resume,
            ordinal,
            consts,
            pins,
        });
        asm!(self
            ; sub DWORD [=>budget], 1
            ; js =>cold
            ; =>resume
        );
    }

    /// The cold paths of the check points, after the body. Returns the budgets' labels
    /// (call, loop) for `budget_page`.
    fn check_point_stubs(&mut self) -> Option<(DynamicLabel, DynamicLabel)> {
        let c = self.counting.take()?;
        let def = c.def_index as u64;
        if let Some((cold, resume)) = c.call_check {
            asm!(self; =>cold);
            let f = crate::jit::check_points::call_check as *const () as usize;
            self.call_helper(f, &[Arg::Vmctx, Arg::Imm(def), Arg::Label(c.call_budget)]);
            self.reload_mem_len();
            asm!(self; jmp =>resume);
        }
        let finished = crate::jit::check_points::OSR_FINISHED as i32;
        for l in c.loop_checks {
            asm!(self; =>l.cold);
            for (p, v) in l.consts {
                let d = self.slot_disp(p);
                self.store_cell(v, FP, d);
            }
            let f = crate::jit::check_points::loop_check as *const () as usize;
            let args = [
                Arg::Vmctx,
                Arg::Imm(def),
                Arg::Imm(l.ordinal as u64),
                Arg::Cell(0),
                Arg::Label(c.loop_budget),
            ];
            self.call_helper(f, &args);
            let (ret, stub) = (self.asm.new_dynamic_label(), self.trap_exit());
            asm!(self
                ; cmp eax, finished
                ; je =>ret
                ; test eax, eax
                ; jnz =>stub
            );
            self.reload_mem_len();
            // The call clobbered the pinned registers; the header's code expects them.
            self.load_pins(l.pins);
            asm!(self
                ; jmp =>l.resume
                // The frame ran to its end in the higher tier: its results are in place.
                ; =>ret
                ; pop rbp
                ; ret
            );
        }
        Some((c.call_budget, c.loop_budget))
    }

    // ---- prologue and returns ----

    /// Returns the offset just after the frame-size displacement to patch.
    fn prologue(&mut self, num_params: u32) -> usize {
        let patch = self.frame_checks();
        let n = self.num_locals - num_params;
        if n > 0 && n <= 8 {
            asm!(self; xor eax, eax);
            for i in num_params..self.num_locals {
                let d = cell_disp(i);
                fpa!(self, d; {mov QWORD} {, rax});
            }
        } else if n > 8 {
            let d = cell_disp(num_params);
            asm!(self
                ; lea rdi, [r14 + d]
                ; mov ecx, n as i32
                ; xor eax, eax
                ; rep stosq
            );
        }
        self.load_memory_regs();
        patch
    }

    /// An OSR entry (design.md §5): the prologue without zeroing the locals, which hold the
    /// interpreter's state, then a jump to the loop header. At a loop header every value
    /// the code reads is in its home slot, and the loop's pinned locals are loaded from
    /// theirs. Returns the frame-size displacement to patch.
    fn osr_entry(&mut self, header: DynamicLabel, pins: PinRange) -> usize {
        let patch = self.frame_checks();
        self.load_memory_regs();
        self.load_pins(pins);
        asm!(self; jmp =>header);
        patch
    }

    fn load_memory_regs(&mut self) {
        if self.has_memory {
            let mb = off::VMCTX_MEM_BASE;
            asm!(self; mov r13, QWORD [r15 + mb]);
            self.reload_mem_len();
        }
    }

    /// Frame setup and both stack checks (host stack, value stack). The host-stack check is
    /// the call-depth check too: the entry trampoline lowered the limit to where the depth
    /// limit is reached (docs/abi.md §4). Returns the offset just after the frame-size
    /// displacement to patch.
    fn frame_checks(&mut self) -> usize {
        let limit = off::RUNTIME_STACK_LIMIT;
        let end = off::RUNTIME_STACK_END;
        let rt = off::VMCTX_RUNTIME;
        let ovf = self.trap_label(TrapCode::StackOverflow);
        asm!(self
            ; push rbp
            ; mov rbp, rsp
            ; mov r11, QWORD [r15 + rt]
            ; cmp rsp, QWORD [r11 + limit]
            ; jb =>ovf
            ; lea r10, [r14 + 0x7fff_fff0]
        );
        let patch = self.asm.offset().0;
        asm!(self
            ; cmp r10, QWORD [r11 + end]
            ; ja =>ovf
        );
        patch
    }

    /// Returns the top `n` values (conditional-path safe: the abstract stack is unchanged).
    fn emit_return(&mut self) {
        let n = self.results.len();
        let len = self.stack.len();
        let conflict = (0..n).any(|k| matches!(self.stack[len - n + k].loc, Loc::Local(i) if (i as usize) < n && i as usize != k));
        if conflict {
            // Gather above the stack top first: those slots are free.
            self.max_height = self.max_height.max(len + n);
            for k in 0..n {
                let v = self.stack[len - n + k];
                let d = self.slot_disp((len + k) as u32);
                self.store_cell(v, FP, d);
            }
            for k in 0..n {
                let ty = self.stack[len - n + k].ty;
                let v = Val::new(ty, Loc::Slot((len + k) as u32));
                self.store_cell(v, FP, cell_disp(k as u32));
            }
        } else {
            let mut skip = false;
            for k in 0..n {
                let v = self.stack[len - n + k];
                if std::mem::take(&mut skip) {
                    continue;
                }
                if self.store_v128_reg(v, cell_disp(k as u32)) {
                    skip = true;
                    continue;
                }
                if self.cell_of(v.loc) != Some(k as u32) {
                    self.store_cell(v, FP, cell_disp(k as u32));
                }
            }
        }
        asm!(self; pop rbp ; ret);
    }

    /// Whether branching to `ctl` needs moves.
    fn branch_moves(&self, c: usize) -> bool {
        let ctl = &self.ctrl.frames()[c];
        if ctl.kind == Kind::Func {
            return true;
        }
        let n = ctl.branch_arity() as usize;
        let len = self.stack.len();
        (0..n).any(|k| self.stack[len - n + k].loc != Loc::Slot(ctl.height + k as u32))
            || !self.pins_hold(ctl.payload.cache)
    }

    /// Stores the top `n` values into the home slots from `height` on (no stack change).
    fn move_to_slots(&mut self, n: usize, height: usize) {
        let len = self.stack.len();
        let mut k = 0;
        while k < n {
            let v = self.stack[len - n + k];
            let d = self.slot_disp((height + k) as u32);
            if self.store_v128_reg(v, d) {
                k += 2;
                continue;
            }
            if v.loc != Loc::Slot((height + k) as u32) {
                self.store_cell(v, FP, d);
            }
            k += 1;
        }
    }

    /// Stores both cells of `v` at `fp + d` with one `movdqu` when it is the low half of a
    /// v128 in a register; `false` (nothing done) otherwise.
    fn store_v128_reg(&mut self, v: Val, d: i32) -> bool {
        match (v.ty, v.loc) {
            (Ty::V128, Loc::Reg(x)) => {
                fpa!(self, d; {movdqu OWORD} {, Rx(x)});
                true
            }
            _ => false,
        }
    }

    /// Moves the branch values into place and jumps (conditional-path safe).
    fn emit_branch(&mut self, depth: u32) {
        let ctl = self.ctrl.label(depth);
        if ctl.kind == Kind::Func {
            self.emit_return();
            return;
        }
        let (n, height, label, pins) = (
            ctl.branch_arity() as usize,
            ctl.height as usize,
            ctl.payload.label,
            ctl.payload.cache,
        );
        self.move_to_slots(n, height);
        self.establish_pins(pins, false);
        asm!(self; jmp =>label);
    }

    fn unreachable_now(&mut self) {
        let h = self.ctrl.set_unreachable() as usize;
        self.truncate(h);
    }

    /// Parameter and result counts of a block type (types are checked here, once).
    fn block_arity(&self, bt: BlockType) -> Result<Arity, String> {
        match bt {
            BlockType::Empty => {}
            BlockType::Type(t) => {
                Ty::from_wasm(t)?;
            }
            BlockType::FuncType(i) => {
                let t = &self.module.types[i as usize];
                for v in t.params().iter().chain(t.results()) {
                    Ty::from_val(*v)?;
                }
            }
        }
        Ok(Arity::of(self.module, bt))
    }

    /// Pushes a value of type `ty` in its home slots from position `p`; returns the
    /// position after it.
    fn push_in_slots(&mut self, ty: Ty, p: u32) -> u32 {
        self.push(ty, Loc::Slot(p));
        if ty == Ty::V128 {
            self.push(Ty::V128Hi, Loc::Slot(p + 1));
        }
        p + ty.cells()
    }

    /// Pushes the values of `types` in their home slots from position `p` on.
    fn push_types_in_slots(&mut self, types: &[strata_vm::ValType], p: u32) {
        let mut p = p;
        for t in types {
            p = self.push_in_slots(ty_of(*t), p);
        }
    }

    fn push_ctrl(
        &mut self,
        kind: Kind,
        bt: BlockType,
        arity: Arity,
        else_label: Option<DynamicLabel>,
    ) {
        let label = self.asm.new_dynamic_label();
        let cache = if kind == Kind::Loop {
            // The loop's pinned locals: loaded on entry, then held at the header.
            let pins = self.loop_pins();
            self.establish_pins(pins, false);
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>label);
            self.hold_exactly(pins);
            pins
        } else {
            self.ctrl.last().map_or((0, 0), |f| f.payload.cache)
        };
        let labels = Labels {
            label,
            else_label,
            cache,
        };
        self.ctrl
            .push(kind, bt, arity, self.stack.len() as u32, labels);
        if kind == Kind::Loop {
            // The counter's check point comes before the interruption point: a frame that
            // leaves here by OSR runs the point once, in the tier it continues in.
            self.count_backedge();
            // Back-edges and OSR entries jump to the label, so they run the point too.
            self.interruption_point();
        }
    }

    /// A block, loop or if in unreachable code: a dead frame. Its labels are never bound
    /// or jumped to (nothing in it is compiled): it reuses the function's.
    fn push_dead(&mut self, kind: Kind) {
        let labels = self.ctrl.frames()[0].payload;
        self.ctrl.push_dead(kind, self.stack.len() as u32, labels);
    }

    /// Pushes the parameters (`result == false`) or results of `bt` in their home slots from
    /// `height` on.
    fn push_block_vals(&mut self, bt: BlockType, result: bool, n: u32, height: usize) {
        let module = self.module;
        match bt {
            BlockType::Empty => {}
            BlockType::Type(t) => {
                if n > 0 {
                    self.push_in_slots(Ty::from_wasm(t).unwrap_or(Ty::I64), height as u32);
                }
            }
            BlockType::FuncType(i) => {
                let t = &module.types[i as usize];
                let types = if result { t.results() } else { t.params() };
                self.push_types_in_slots(types, height as u32);
            }
        }
    }

    /// Enters the else arm of the innermost `if` (its then arm has been closed).
    fn enter_else(&mut self) -> Res {
        let c = self.ctrl.enter_else().ok_or("else outside if")?;
        let el = c.payload.else_label.take();
        let (height, bt, nparams) = (c.height as usize, c.block_type, c.arity.params);
        // The `if` established the pinned locals before its jump here.
        let pins = c.payload.cache;
        self.hold_exactly(pins);
        if let Some(l) = el {
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>l);
        }
        self.truncate(height);
        self.push_block_vals(bt, false, nparams, height);
        self.recompute_regs();
        Ok(())
    }

    /// `end` of a live frame; `reachable`: whether it is reached by falling through.
    fn end(&mut self, reachable: bool) -> Res {
        if self.ctrl.last().ok_or("end outside block")?.is_func() {
            if reachable {
                self.emit_return();
            }
            self.ctrl.pop();
            return Ok(());
        }
        let body_end = self.asm.offset().0 as u32;
        let c = self.ctrl.pop().ok_or("end outside block")?;
        let (n, height) = (c.arity.results as usize, c.height as usize);
        match c.kind {
            Kind::TryTable => self.close_try_table(self.ctrl.len() as u32, body_end),
            Kind::LegacyTry | Kind::LegacyCatch | Kind::LegacyCatchAll => {
                self.legacy.pop();
            }
            _ => {}
        }
        let is_loop = c.kind == Kind::Loop;
        if reachable {
            self.move_to_slots(n, height);
            if !is_loop {
                self.establish_pins(c.payload.cache, false);
            }
        }
        if !is_loop {
            // A merge: every edge into the label established the frame's pinned locals
            // and nothing else. (A loop's end is no label: the state falls through.)
            self.forget_all();
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>c.payload.label);
        }
        if let Some(l) = c.payload.else_label {
            let a = &mut *self.asm;
            dynasm!(a ; .arch x64 ; =>l);
        }
        self.truncate(height);
        if !is_loop {
            self.hold_exactly(c.payload.cache);
        }
        self.push_block_vals(c.block_type, true, c.arity.results, height);
        self.recompute_regs();
        Ok(())
    }

    // ---- compares, fused with branches ----

    /// Materialises a pending compare (before any operator that does not fuse with it).
    #[inline]
    fn flush(&mut self) {
        if let Some(cc) = self.pending.take() {
            self.materialize_cc(cc);
        }
    }

    /// `eqz`: sets the flags, leaves the condition pending.
    fn eqz(&mut self, w: bool) {
        let v = self.pop();
        let loc = match self.cached_local(v.loc) {
            Some(c) => Loc::Reg(c),
            None => v.loc,
        };
        match loc {
            Loc::Reg(r) => {
                if w {
                    asm!(self; test Rq(r), Rq(r));
                } else {
                    asm!(self; test Rd(r), Rd(r));
                }
            }
            Loc::Const(_) => {
                let r = self.take_gpr(v);
                asm!(self; test Rq(r), Rq(r));
                self.regs.clear(false, r);
                self.pending = Some(Cc::E);
                return;
            }
            _ => {
                let d = self.disp_of(v.loc).unwrap_or(0);
                if w {
                    fpa!(self, d; {cmp QWORD} {, 0});
                } else {
                    fpa!(self, d; {cmp DWORD} {, 0});
                }
            }
        }
        self.free(v);
        self.pending = Some(Cc::E);
    }

    /// An integer compare: emits `cmp`, leaves the condition pending.
    fn compare(&mut self, ty: Ty, cc: Cc) {
        let w = ty.is_64();
        let mut b = self.pop();
        let mut a = self.pop();
        let mut cc = cc;
        if matches!(a.loc, Loc::Const(_)) && !matches!(b.loc, Loc::Const(_)) {
            std::mem::swap(&mut a, &mut b);
            cc = cc.swap();
        }
        let oa = match a.loc {
            Loc::Reg(r) => Opnd::Reg(r),
            Loc::Local(_) if self.cached_local(a.loc).is_some() => {
                Opnd::Reg(self.cached_local(a.loc).unwrap_or(SCRATCH))
            }
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(a.loc).unwrap_or(0)),
            _ => {
                self.load_gpr_into(a, SCRATCH);
                Opnd::Reg(SCRATCH)
            }
        };
        let ob = match (&oa, b.loc) {
            (Opnd::Mem(_), Loc::Local(_) | Loc::Slot(_)) if self.cached_local(b.loc).is_none() => {
                self.load_gpr_into(b, SCRATCH2);
                Opnd::Reg(SCRATCH2)
            }
            _ => self.int_opnd(b, true, SCRATCH2),
        };
        match (oa, ob, w) {
            (Opnd::Reg(x), ob, w) => alu!(self, cmp, w, x, ob),
            (Opnd::Mem(m), Opnd::Reg(r), false) => fpa!(self, m; {cmp DWORD} {, Rd(r)}),
            (Opnd::Mem(m), Opnd::Reg(r), true) => fpa!(self, m; {cmp QWORD} {, Rq(r)}),
            (Opnd::Mem(m), Opnd::Imm(i), false) => fpa!(self, m; {cmp DWORD} {, i}),
            (Opnd::Mem(m), Opnd::Imm(i), true) => fpa!(self, m; {cmp QWORD} {, i}),
            _ => unreachable!("memory-to-memory compare"),
        }
        self.free(a);
        self.free(b);
        self.pending = Some(cc);
    }

    fn materialize_cc(&mut self, cc: Cc) {
        let r = self.alloc_gpr();
        setcc(self.asm, cc, r);
        asm!(self; movzx Rd(r), Rb(r));
        self.push_reg(Ty::I32, r);
    }

    fn br_if_cc(&mut self, cc: Cc, depth: u32) {
        let c = self.ctrl.label_index(depth);
        let pins = self.ctrl.frames()[c].payload.cache;
        if pins == self.parent_pins() && !self.pins_hold(pins) && self.pins_free(pins) {
            // The code here keeps the same pins: put them in place on both paths (moves and
            // loads keep the flags), so a loop's back-edge stays one conditional jump.
            self.establish_pins(pins, true);
        }
        if !self.branch_moves(c) {
            let l = self.ctrl.frames()[c].payload.label;
            jcc(self.asm, cc, l);
        } else {
            let skip = self.asm.new_dynamic_label();
            jcc(self.asm, cc.invert(), skip);
            self.emit_branch(depth);
            asm!(self; =>skip);
        }
    }

    fn if_cc(&mut self, cc: Cc, bt: BlockType) -> Res {
        let ar = self.block_arity(bt)?;
        self.canonicalize(ar.params as usize);
        // Loads only: the flags survive.
        self.establish_pins(self.parent_pins(), true);
        let else_label = self.asm.new_dynamic_label();
        jcc(self.asm, cc.invert(), else_label);
        self.push_ctrl(Kind::If, bt, ar, Some(else_label));
        Ok(())
    }

    /// Sets flags from a popped i32 condition: `Ne` means true. `None`: a constant.
    fn test_cond(&mut self, v: Val) -> Option<bool> {
        match v.loc {
            Loc::Const(c) => return Some(c as u32 != 0),
            Loc::Reg(r) => asm!(self; test Rd(r), Rd(r)),
            _ => {
                let d = self.disp_of(v.loc).unwrap_or(0);
                fpa!(self, d; {cmp DWORD} {, 0});
            }
        }
        self.free(v);
        None
    }
}

#[derive(Clone, Copy)]
enum IntBin {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shift {
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DivKind {
    DivS,
    DivU,
    RemS,
    RemU,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FBin {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FCmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Helper argument sources, loaded into the System V argument registers in order.
#[derive(Clone, Copy)]
enum Arg {
    Vmctx,
    Imm(u64),
    Val(Val),
    /// `fp + 8 * cell`
    Cell(u32),
    /// The address of a label (`lea`, `rip`-relative).
    Label(DynamicLabel),
}

/// Turns what an operator's lowering returns into the visitor's result.
trait Done {
    fn done(self) -> Res;
}

impl Done for () {
    #[inline(always)]
    fn done(self) -> Res {
        Ok(())
    }
}

impl Done for Res {
    #[inline(always)]
    fn done(self) -> Res {
        self
    }
}

/// Declares, for every operator, a lowering method that defaults to "unsupported"; `Gen`
/// overrides the ones it compiles. (wasmparser's `VisitOperator` has no defaults.)
macro_rules! define_lower {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        trait Lower<'a> {
            fn unsupported(&mut self, name: &'static str) -> Res;
            $(
                #[inline(always)]
                fn $visit(&mut self $($(, $arg: $argty)*)?) -> Res {
                    $($(let _ = $arg;)*)?
                    self.unsupported(stringify!($op))
                }
            )*
        }
    };
}
wasmparser::for_each_visit_operator!(define_lower);

macro_rules! define_visit {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[inline(always)]
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                if let Err(e) = <Self as Lower<'a>>::$visit(self $($(, $arg)*)?) {
                    self.fail(e);
                }
            }
        )*
    };
}

/// The visitor returns nothing (a wide `Result` returned through memory for every operator
/// costs a store-forwarding stall); an error is parked in `Gen::error` and ends the loop.
impl<'a> VisitOperator<'a> for Gen<'_> {
    type Output = ();
    wasmparser::for_each_visit_operator!(define_visit);

    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }
}

impl FrameStack for Gen<'_> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.ctrl.current_frame()
    }
}

/// Lowerings of straight-line operators: skipped in unreachable code; a pending compare is
/// materialised first.
macro_rules! lower {
    ($( $visit:ident ( $($arg:ident : $ty:ty),* ) => |$g:ident| $body:expr ; )*) => {$(
        #[inline(always)]
        fn $visit(&mut self $(, $arg: $ty)*) -> Res {
            if !self.ctrl.reachable() {
                return Ok(());
            }
            self.flush();
            let $g = &mut *self;
            Done::done($body)
        }
    )*};
}

impl<'a> Lower<'a> for Gen<'_> {
    fn unsupported(&mut self, name: &'static str) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        Err(format!("the baseline tier does not support {name}"))
    }

    // ---- control ----

    fn visit_block(&mut self, bt: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead(Kind::Block);
            return Ok(());
        }
        self.flush();
        let ar = self.block_arity(bt)?;
        self.canonicalize(ar.params as usize);
        self.push_ctrl(Kind::Block, bt, ar, None);
        Ok(())
    }

    fn visit_loop(&mut self, bt: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead(Kind::Loop);
            return Ok(());
        }
        self.flush();
        let ar = self.block_arity(bt)?;
        self.canonicalize(ar.params as usize);
        self.push_ctrl(Kind::Loop, bt, ar, None);
        if let Some(loops) = self.osr_loops.as_mut() {
            if let Some(l) = self.ctrl.last() {
                loops.push((l.loop_ordinal, l.payload.label, l.payload.cache));
            }
        }
        Ok(())
    }

    fn visit_if(&mut self, bt: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead(Kind::If);
            return Ok(());
        }
        if let Some(cc) = self.pending.take() {
            return self.if_cc(cc, bt);
        }
        let cond = self.pop();
        let ar = self.block_arity(bt)?;
        // Canonicalise first (moves only), then test: nothing clobbers flags between.
        if let Loc::Reg(r) = cond.loc {
            // Keep the condition's register out of the spill code's way.
            self.regs.set(false, r);
        }
        self.canonicalize(ar.params as usize);
        let else_label = self.asm.new_dynamic_label();
        let test = self.test_cond(cond);
        // The else arm's label holds the pinned locals too (loads only: the flags survive).
        self.establish_pins(self.parent_pins(), true);
        match test {
            Some(true) => {}
            Some(false) => asm!(self; jmp =>else_label),
            None => jcc(self.asm, Cc::E, else_label),
        }
        self.push_ctrl(Kind::If, bt, ar, Some(else_label));
        Ok(())
    }

    fn visit_else(&mut self) -> Res {
        if !self.ctrl.reachable() {
            if self.ctrl.last().ok_or("else outside if")?.reachable {
                self.enter_else()?;
            } else {
                self.ctrl.enter_else();
            }
            return Ok(());
        }
        self.flush();
        let c = self.ctrl.last().ok_or("else outside if")?;
        let (n, height, label, pins) = (
            c.arity.results as usize,
            c.height as usize,
            c.payload.label,
            c.payload.cache,
        );
        self.move_to_slots(n, height);
        self.establish_pins(pins, false);
        asm!(self; jmp =>label);
        self.enter_else()
    }

    fn visit_end(&mut self) -> Res {
        if !self.ctrl.reachable() {
            if !self.ctrl.last().ok_or("end outside block")?.reachable {
                self.ctrl.pop();
                return Ok(());
            }
            return self.end(false);
        }
        self.flush();
        self.end(true)
    }

    fn visit_try_table(&mut self, try_table: wasmparser::TryTable) -> Res {
        self.try_table(try_table)
    }

    fn visit_try(&mut self, blockty: BlockType) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead(Kind::LegacyTry);
            return Ok(());
        }
        self.flush();
        let ar = self.block_arity(blockty)?;
        self.canonicalize(ar.params as usize);
        self.push_ctrl(Kind::LegacyTry, blockty, ar, None);
        let frame = self.ctrl.len() as u32 - 1;
        let start = self.asm.offset().0 as u32;
        self.legacy.push((frame, start, None));
        Ok(())
    }

    fn visit_catch(&mut self, tag_index: u32) -> Res {
        self.legacy_catch(Some(tag_index))
    }

    fn visit_catch_all(&mut self) -> Res {
        self.legacy_catch(None)
    }

    fn visit_delegate(&mut self, relative_depth: u32) -> Res {
        self.delegate(relative_depth)
    }

    fn visit_rethrow(&mut self, relative_depth: u32) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        self.flush();
        self.spill_regs();
        // The caught exception is the clause's hidden cell at its try's height.
        let h = self.ctrl.label(relative_depth).height;
        let exn = Val::new(Ty::I64, Loc::Slot(h));
        self.call_helper(
            helpers::throw_ref as *const () as usize,
            &[Arg::Vmctx, Arg::Val(exn)],
        );
        self.jump_to_stub_here();
        self.unreachable_now();
        Ok(())
    }

    fn visit_br_if(&mut self, relative_depth: u32) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        if let Some(cc) = self.pending.take() {
            self.br_if_cc(cc, relative_depth);
            return Ok(());
        }
        let cond = self.pop();
        match self.test_cond(cond) {
            Some(false) => {}
            Some(true) => {
                let skip = self.asm.new_dynamic_label();
                self.emit_branch(relative_depth);
                asm!(self; =>skip);
            }
            None => self.br_if_cc(Cc::Ne, relative_depth),
        }
        Ok(())
    }

    lower! {
        visit_nop() => |_g| ();
        visit_unreachable() => |g| {
            let l = g.trap_label(TrapCode::Unreachable);
            asm!(g; jmp =>l);
            g.unreachable_now();
        };
        visit_br(relative_depth: u32) => |g| {
            g.emit_branch(relative_depth);
            g.unreachable_now();
        };
        visit_br_table(targets: BrTable<'a>) => |g| g.br_table(targets);
        visit_return() => |g| {
            g.emit_return();
            g.unreachable_now();
        };
        visit_call(function_index: u32) => |g| g.call(function_index);
        visit_throw(tag_index: u32) => |g| g.throw(tag_index);
        visit_throw_ref() => |g| g.throw_ref();
        visit_call_indirect(type_index: u32, table_index: u32) => |g| g.call_indirect(type_index, table_index);
        visit_return_call(function_index: u32) => |g| g.return_call(function_index);
        visit_call_ref(type_index: u32) => |g| g.call_ref(type_index);
        visit_return_call_ref(type_index: u32) => |g| g.return_call_ref(type_index);
        visit_ref_as_non_null() => |g| {
            g.flush();
            let v = *g.stack.last().expect("validated: a reference on the stack");
            match g.test_ref(v) {
                Some(true) => {}
                Some(false) => {
                    let l = g.trap_label(TrapCode::NullReference);
                    asm!(g; jmp =>l);
                }
                None => g.trap_if(Cc::E, TrapCode::NullReference),
            }
        };
        visit_br_on_null(relative_depth: u32) => |g| {
            // The branch carries the values below the reference, which stays on the
            // fall-through path (its register, if any, stays allocated meanwhile).
            g.flush();
            let v = g.pop();
            match g.test_ref(v) {
                Some(true) => {}
                Some(false) => {
                    let skip = g.asm.new_dynamic_label();
                    g.emit_branch(relative_depth);
                    asm!(g; =>skip);
                }
                None => g.br_if_cc(Cc::E, relative_depth),
            }
            g.push(v.ty, v.loc);
        };
        visit_br_on_non_null(relative_depth: u32) => |g| {
            // The branch carries the reference on top of its values; the fall-through drops it.
            g.flush();
            let v = *g.stack.last().expect("validated: a reference on the stack");
            match g.test_ref(v) {
                Some(false) => {}
                Some(true) => {
                    let skip = g.asm.new_dynamic_label();
                    g.emit_branch(relative_depth);
                    asm!(g; =>skip);
                }
                None => g.br_if_cc(Cc::Ne, relative_depth),
            }
            let v = g.pop();
            g.free(v);
        };
        visit_return_call_indirect(type_index: u32, table_index: u32) => |g| g.return_call_indirect(type_index, table_index);
        visit_drop() => |g| {
            let v = g.pop();
            if v.ty == Ty::V128Hi {
                g.pop();
            }
            g.free(v);
        };
        visit_select() => |g| g.select();
        visit_typed_select(ty: wasmparser::ValType) => |g| { let _ = ty; g.select() };
        visit_local_get(local_index: u32) => |g| {
            let c = g.local_cells[local_index as usize];
            let ty = g.local_tys[c as usize];
            g.push(ty, Loc::Local(c));
            if ty == Ty::V128 {
                g.push(Ty::V128Hi, Loc::Local(c + 1));
            }
        };
        visit_local_set(local_index: u32) => |g| g.local_set(local_index, false);
        visit_local_tee(local_index: u32) => |g| g.local_set(local_index, true);
        visit_global_get(global_index: u32) => |g| g.global_get(global_index);
        visit_global_set(global_index: u32) => |g| {
            let v = g.pop();
            if v.ty == Ty::V128Hi {
                // A v128 global is two consecutive cells like a frame's (docs/abi.md §1).
                let lo = g.pop();
                g.global_addr(global_index);
                g.store_cell(lo, SCRATCH2, 0);
                g.store_cell(v, SCRATCH2, GLOBAL_HI);
                g.free(lo);
                return Ok(());
            }
            g.global_addr(global_index);
            g.store_cell(v, SCRATCH2, 0);
            g.free(v);
        };

        // ---- memory ----
        visit_i32_load(memarg: MemArg) => |g| g.load(memarg, Ty::I32, 4, LoadKind::I32);
        visit_i64_load(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 8, LoadKind::I64);
        visit_f32_load(memarg: MemArg) => |g| g.load(memarg, Ty::F32, 4, LoadKind::F32);
        visit_f64_load(memarg: MemArg) => |g| g.load(memarg, Ty::F64, 8, LoadKind::F64);
        visit_i32_load8_s(memarg: MemArg) => |g| g.load(memarg, Ty::I32, 1, LoadKind::S8_32);
        visit_i32_load8_u(memarg: MemArg) => |g| g.load(memarg, Ty::I32, 1, LoadKind::U8);
        visit_i32_load16_s(memarg: MemArg) => |g| g.load(memarg, Ty::I32, 2, LoadKind::S16_32);
        visit_i32_load16_u(memarg: MemArg) => |g| g.load(memarg, Ty::I32, 2, LoadKind::U16);
        visit_i64_load8_s(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 1, LoadKind::S8_64);
        visit_i64_load8_u(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 1, LoadKind::U8);
        visit_i64_load16_s(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 2, LoadKind::S16_64);
        visit_i64_load16_u(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 2, LoadKind::U16);
        visit_i64_load32_s(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 4, LoadKind::S32_64);
        visit_i64_load32_u(memarg: MemArg) => |g| g.load(memarg, Ty::I64, 4, LoadKind::I32);
        visit_i32_store(memarg: MemArg) => |g| g.store(memarg, 4);
        visit_i64_store(memarg: MemArg) => |g| g.store(memarg, 8);
        visit_f32_store(memarg: MemArg) => |g| g.store(memarg, 4);
        visit_f64_store(memarg: MemArg) => |g| g.store(memarg, 8);
        visit_i32_store8(memarg: MemArg) => |g| g.store(memarg, 1);
        visit_i64_store8(memarg: MemArg) => |g| g.store(memarg, 1);
        visit_i32_store16(memarg: MemArg) => |g| g.store(memarg, 2);
        visit_i64_store16(memarg: MemArg) => |g| g.store(memarg, 2);
        visit_i64_store32(memarg: MemArg) => |g| g.store(memarg, 4);
        visit_memory_size(mem: u32) => |g| g.memory_size(mem);
        visit_memory_grow(mem: u32) => |g| {
            let ty = g.index_ty(mem);
            g.helper_op_imms(helpers::memory_grow as *const () as usize, 1, &[mem as u64], Some(ty), false);
            g.reload_mem_len();
        };
        visit_memory_copy(dst_mem: u32, src_mem: u32) => |g| {
            g.helper_op_imms(helpers::memory_copy as *const () as usize, 3, &[dst_mem as u64, src_mem as u64], None, true)
        };
        visit_memory_fill(mem: u32) => |g| {
            g.helper_op_imms(helpers::memory_fill as *const () as usize, 3, &[mem as u64], None, true)
        };
        visit_memory_init(data_index: u32, mem: u32) => |g| {
            g.helper_op_imms(helpers::memory_init as *const () as usize, 3, &[mem as u64, data_index as u64], None, true)
        };
        visit_data_drop(data_index: u32) => |g| g.helper_op(helpers::data_drop as *const () as usize, 0, Some(data_index as u64), None, false);
        visit_elem_drop(elem_index: u32) => |g| g.helper_op(helpers::elem_drop as *const () as usize, 0, Some(elem_index as u64), None, false);

        // ---- tables and references ----
        visit_table_get(table: u32) => |g| g.table_get(table);
        visit_table_set(table: u32) => |g| g.helper_op(helpers::table_set as *const () as usize, 2, Some(table as u64), None, true);
        visit_table_size(table: u32) => |g| { let t = g.table_index_ty(table); g.helper_op(helpers::table_size as *const () as usize, 0, Some(table as u64), Some(t), false) };
        visit_table_grow(table: u32) => |g| { let t = g.table_index_ty(table); g.helper_op(helpers::table_grow as *const () as usize, 2, Some(table as u64), Some(t), false) };
        visit_table_fill(table: u32) => |g| g.helper_op(helpers::table_fill as *const () as usize, 3, Some(table as u64), None, true);
        visit_table_copy(dst_table: u32, src_table: u32) => |g| g.table_copy_init(helpers::table_copy as *const () as usize, dst_table as u64, src_table as u64);
        visit_table_init(elem_index: u32, table: u32) => |g| g.table_copy_init(helpers::table_init as *const () as usize, table as u64, elem_index as u64);
        visit_ref_null(hty: wasmparser::HeapType) => |g| { let _ = hty; g.push(Ty::I64, Loc::Const(0)) };
        visit_ref_is_null() => |g| {
            g.eqz(true);
            g.flush();
        };
        visit_ref_func(function_index: u32) => |g| g.helper_op(helpers::ref_func as *const () as usize, 0, Some(function_index as u64), Some(Ty::I64), false);

        // ---- constants ----
        visit_i32_const(value: i32) => |g| g.push(Ty::I32, Loc::Const(value as u32 as u64));
        visit_i64_const(value: i64) => |g| g.push(Ty::I64, Loc::Const(value as u64));
        visit_f32_const(value: wasmparser::Ieee32) => |g| g.push(Ty::F32, Loc::Const(value.bits() as u64));
        visit_f64_const(value: wasmparser::Ieee64) => |g| g.push(Ty::F64, Loc::Const(value.bits()));

        // ---- integer compares (left pending in the flags) ----
        visit_i32_eqz() => |g| g.eqz(false);
        visit_i64_eqz() => |g| g.eqz(true);
        visit_i32_eq() => |g| g.compare(Ty::I32, Cc::E);
        visit_i32_ne() => |g| g.compare(Ty::I32, Cc::Ne);
        visit_i32_lt_s() => |g| g.compare(Ty::I32, Cc::L);
        visit_i32_lt_u() => |g| g.compare(Ty::I32, Cc::B);
        visit_i32_gt_s() => |g| g.compare(Ty::I32, Cc::G);
        visit_i32_gt_u() => |g| g.compare(Ty::I32, Cc::A);
        visit_i32_le_s() => |g| g.compare(Ty::I32, Cc::Le);
        visit_i32_le_u() => |g| g.compare(Ty::I32, Cc::Be);
        visit_i32_ge_s() => |g| g.compare(Ty::I32, Cc::Ge);
        visit_i32_ge_u() => |g| g.compare(Ty::I32, Cc::Ae);
        visit_i64_eq() => |g| g.compare(Ty::I64, Cc::E);
        visit_i64_ne() => |g| g.compare(Ty::I64, Cc::Ne);
        visit_i64_lt_s() => |g| g.compare(Ty::I64, Cc::L);
        visit_i64_lt_u() => |g| g.compare(Ty::I64, Cc::B);
        visit_i64_gt_s() => |g| g.compare(Ty::I64, Cc::G);
        visit_i64_gt_u() => |g| g.compare(Ty::I64, Cc::A);
        visit_i64_le_s() => |g| g.compare(Ty::I64, Cc::Le);
        visit_i64_le_u() => |g| g.compare(Ty::I64, Cc::Be);
        visit_i64_ge_s() => |g| g.compare(Ty::I64, Cc::Ge);
        visit_i64_ge_u() => |g| g.compare(Ty::I64, Cc::Ae);

        // ---- integer arithmetic ----
        visit_i32_add() => |g| g.int_bin(Ty::I32, IntBin::Add);
        visit_i32_sub() => |g| g.int_bin(Ty::I32, IntBin::Sub);
        visit_i32_mul() => |g| g.int_bin(Ty::I32, IntBin::Mul);
        visit_i32_and() => |g| g.int_bin(Ty::I32, IntBin::And);
        visit_i32_or() => |g| g.int_bin(Ty::I32, IntBin::Or);
        visit_i32_xor() => |g| g.int_bin(Ty::I32, IntBin::Xor);
        visit_i64_add() => |g| g.int_bin(Ty::I64, IntBin::Add);
        visit_i64_sub() => |g| g.int_bin(Ty::I64, IntBin::Sub);
        visit_i64_mul() => |g| g.int_bin(Ty::I64, IntBin::Mul);
        visit_i64_and() => |g| g.int_bin(Ty::I64, IntBin::And);
        visit_i64_or() => |g| g.int_bin(Ty::I64, IntBin::Or);
        visit_i64_xor() => |g| g.int_bin(Ty::I64, IntBin::Xor);
        visit_i32_shl() => |g| g.shift(Ty::I32, Shift::Shl);
        visit_i32_shr_s() => |g| g.shift(Ty::I32, Shift::ShrS);
        visit_i32_shr_u() => |g| g.shift(Ty::I32, Shift::ShrU);
        visit_i32_rotl() => |g| g.shift(Ty::I32, Shift::Rotl);
        visit_i32_rotr() => |g| g.shift(Ty::I32, Shift::Rotr);
        visit_i64_shl() => |g| g.shift(Ty::I64, Shift::Shl);
        visit_i64_shr_s() => |g| g.shift(Ty::I64, Shift::ShrS);
        visit_i64_shr_u() => |g| g.shift(Ty::I64, Shift::ShrU);
        visit_i64_rotl() => |g| g.shift(Ty::I64, Shift::Rotl);
        visit_i64_rotr() => |g| g.shift(Ty::I64, Shift::Rotr);
        visit_i32_div_s() => |g| g.div(Ty::I32, DivKind::DivS);
        visit_i32_div_u() => |g| g.div(Ty::I32, DivKind::DivU);
        visit_i32_rem_s() => |g| g.div(Ty::I32, DivKind::RemS);
        visit_i32_rem_u() => |g| g.div(Ty::I32, DivKind::RemU);
        visit_i64_div_s() => |g| g.div(Ty::I64, DivKind::DivS);
        visit_i64_div_u() => |g| g.div(Ty::I64, DivKind::DivU);
        visit_i64_rem_s() => |g| g.div(Ty::I64, DivKind::RemS);
        visit_i64_rem_u() => |g| g.div(Ty::I64, DivKind::RemU);
        visit_i32_clz() => |g| g.bitcount(false, BitCount::Clz);
        visit_i32_ctz() => |g| g.bitcount(false, BitCount::Ctz);
        visit_i32_popcnt() => |g| g.bitcount(false, BitCount::Popcnt);
        visit_i64_clz() => |g| g.bitcount(true, BitCount::Clz);
        visit_i64_ctz() => |g| g.bitcount(true, BitCount::Ctz);
        visit_i64_popcnt() => |g| g.bitcount(true, BitCount::Popcnt);
        visit_i32_wrap_i64() => |g| g.wrap();
        visit_i64_extend_i32_u() => |g| g.extend_u();
        visit_i64_extend_i32_s() => |g| g.sign_extend(Ty::I64, 32);
        visit_i32_extend8_s() => |g| g.sign_extend(Ty::I32, 8);
        visit_i32_extend16_s() => |g| g.sign_extend(Ty::I32, 16);
        visit_i64_extend8_s() => |g| g.sign_extend(Ty::I64, 8);
        visit_i64_extend16_s() => |g| g.sign_extend(Ty::I64, 16);
        visit_i64_extend32_s() => |g| g.sign_extend(Ty::I64, 32);

        // ---- floating point ----
        visit_f32_add() => |g| g.fbin(Ty::F32, FBin::Add);
        visit_f32_sub() => |g| g.fbin(Ty::F32, FBin::Sub);
        visit_f32_mul() => |g| g.fbin(Ty::F32, FBin::Mul);
        visit_f32_div() => |g| g.fbin(Ty::F32, FBin::Div);
        visit_f32_min() => |g| g.fbin(Ty::F32, FBin::Min);
        visit_f32_max() => |g| g.fbin(Ty::F32, FBin::Max);
        visit_f32_copysign() => |g| g.fbin(Ty::F32, FBin::Copysign);
        visit_f64_add() => |g| g.fbin(Ty::F64, FBin::Add);
        visit_f64_sub() => |g| g.fbin(Ty::F64, FBin::Sub);
        visit_f64_mul() => |g| g.fbin(Ty::F64, FBin::Mul);
        visit_f64_div() => |g| g.fbin(Ty::F64, FBin::Div);
        visit_f64_min() => |g| g.fbin(Ty::F64, FBin::Min);
        visit_f64_max() => |g| g.fbin(Ty::F64, FBin::Max);
        visit_f64_copysign() => |g| g.fbin(Ty::F64, FBin::Copysign);
        visit_f32_eq() => |g| g.fcmp(Ty::F32, FCmp::Eq);
        visit_f32_ne() => |g| g.fcmp(Ty::F32, FCmp::Ne);
        visit_f32_lt() => |g| g.fcmp(Ty::F32, FCmp::Lt);
        visit_f32_gt() => |g| g.fcmp(Ty::F32, FCmp::Gt);
        visit_f32_le() => |g| g.fcmp(Ty::F32, FCmp::Le);
        visit_f32_ge() => |g| g.fcmp(Ty::F32, FCmp::Ge);
        visit_f64_eq() => |g| g.fcmp(Ty::F64, FCmp::Eq);
        visit_f64_ne() => |g| g.fcmp(Ty::F64, FCmp::Ne);
        visit_f64_lt() => |g| g.fcmp(Ty::F64, FCmp::Lt);
        visit_f64_gt() => |g| g.fcmp(Ty::F64, FCmp::Gt);
        visit_f64_le() => |g| g.fcmp(Ty::F64, FCmp::Le);
        visit_f64_ge() => |g| g.fcmp(Ty::F64, FCmp::Ge);
        visit_f32_abs() => |g| g.fsign(false, FSign::Abs);
        visit_f32_neg() => |g| g.fsign(false, FSign::Neg);
        visit_f64_abs() => |g| g.fsign(true, FSign::Abs);
        visit_f64_neg() => |g| g.fsign(true, FSign::Neg);
        visit_f32_sqrt() => |g| g.funary(Ty::F32, -1);
        visit_f32_nearest() => |g| g.funary(Ty::F32, 8);
        visit_f32_floor() => |g| g.funary(Ty::F32, 9);
        visit_f32_ceil() => |g| g.funary(Ty::F32, 10);
        visit_f32_trunc() => |g| g.funary(Ty::F32, 11);
        visit_f64_sqrt() => |g| g.funary(Ty::F64, -1);
        visit_f64_nearest() => |g| g.funary(Ty::F64, 8);
        visit_f64_floor() => |g| g.funary(Ty::F64, 9);
        visit_f64_ceil() => |g| g.funary(Ty::F64, 10);
        visit_f64_trunc() => |g| g.funary(Ty::F64, 11);
        visit_i32_trunc_f32_s() => |g| g.trunc(Ty::F32, Ty::I32, true, false);
        visit_i32_trunc_f32_u() => |g| g.trunc(Ty::F32, Ty::I32, false, false);
        visit_i32_trunc_f64_s() => |g| g.trunc(Ty::F64, Ty::I32, true, false);
        visit_i32_trunc_f64_u() => |g| g.trunc(Ty::F64, Ty::I32, false, false);
        visit_i64_trunc_f32_s() => |g| g.trunc(Ty::F32, Ty::I64, true, false);
        visit_i64_trunc_f32_u() => |g| g.trunc(Ty::F32, Ty::I64, false, false);
        visit_i64_trunc_f64_s() => |g| g.trunc(Ty::F64, Ty::I64, true, false);
        visit_i64_trunc_f64_u() => |g| g.trunc(Ty::F64, Ty::I64, false, false);
        visit_i32_trunc_sat_f32_s() => |g| g.trunc(Ty::F32, Ty::I32, true, true);
        visit_i32_trunc_sat_f32_u() => |g| g.trunc(Ty::F32, Ty::I32, false, true);
        visit_i32_trunc_sat_f64_s() => |g| g.trunc(Ty::F64, Ty::I32, true, true);
        visit_i32_trunc_sat_f64_u() => |g| g.trunc(Ty::F64, Ty::I32, false, true);
        visit_i64_trunc_sat_f32_s() => |g| g.trunc(Ty::F32, Ty::I64, true, true);
        visit_i64_trunc_sat_f32_u() => |g| g.trunc(Ty::F32, Ty::I64, false, true);
        visit_i64_trunc_sat_f64_s() => |g| g.trunc(Ty::F64, Ty::I64, true, true);
        visit_i64_trunc_sat_f64_u() => |g| g.trunc(Ty::F64, Ty::I64, false, true);
        visit_f32_convert_i32_s() => |g| g.convert(Ty::I32, Ty::F32, true);
        visit_f32_convert_i32_u() => |g| g.convert(Ty::I32, Ty::F32, false);
        visit_f32_convert_i64_s() => |g| g.convert(Ty::I64, Ty::F32, true);
        visit_f32_convert_i64_u() => |g| g.convert(Ty::I64, Ty::F32, false);
        visit_f64_convert_i32_s() => |g| g.convert(Ty::I32, Ty::F64, true);
        visit_f64_convert_i32_u() => |g| g.convert(Ty::I32, Ty::F64, false);
        visit_f64_convert_i64_s() => |g| g.convert(Ty::I64, Ty::F64, true);
        visit_f64_convert_i64_u() => |g| g.convert(Ty::I64, Ty::F64, false);
        visit_f32_demote_f64() => |g| {
            let v = g.pop();
            let x = g.take_xmm(v);
            asm!(g; cvtsd2ss Rx(x), Rx(x));
            g.push_reg(Ty::F32, x);
        };
        visit_f64_promote_f32() => |g| {
            let v = g.pop();
            let x = g.take_xmm(v);
            asm!(g; cvtss2sd Rx(x), Rx(x));
            g.push_reg(Ty::F64, x);
        };
        visit_i32_reinterpret_f32() => |g| g.reinterpret(Ty::I32);
        visit_i64_reinterpret_f64() => |g| g.reinterpret(Ty::I64);
        visit_f32_reinterpret_i32() => |g| g.reinterpret(Ty::F32);
        visit_f64_reinterpret_i64() => |g| g.reinterpret(Ty::F64);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitCount {
    Clz,
    Ctz,
    Popcnt,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FSign {
    Abs,
    Neg,
}

impl Gen<'_> {
    fn br_table(&mut self, targets: BrTable<'_>) -> Res {
        let n = targets.len();
        let default = targets.default();
        let index = self.pop();
        let table = self.asm.new_dynamic_label();
        // index = min(index, n) in r11 (zero-extended), then jump into a table of
        // 5-byte `jmp rel32`s.
        self.load_gpr_into(index, SCRATCH);
        self.free(index);
        asm!(self
            ; mov r10d, n as i32
            ; cmp r11d, r10d
            ; cmova r11d, r10d
            ; lea r11, [r11 + r11 * 4]
            ; lea r10, [=>table]
            ; add r11, r10
            ; jmp r11
            ; =>table
        );
        let mut stubs = Vec::new();
        for depth in targets.targets().chain(std::iter::once(Ok(default))) {
            let depth = depth.map_err(|e| e.to_string())?;
            let c = self.ctrl.label_index(depth);
            if self.branch_moves(c) {
                let stub = self.asm.new_dynamic_label();
                asm!(self; jmp =>stub);
                stubs.push((stub, depth));
            } else {
                let l = self.ctrl.frames()[c].payload.label;
                asm!(self; jmp =>l);
            }
        }
        for (stub, depth) in stubs {
            asm!(self; =>stub);
            self.emit_branch(depth);
        }
        self.unreachable_now();
        Ok(())
    }

    fn call_indirect(&mut self, type_index: u32, table_index: u32) -> Res {
        let module = self.module;
        let index = self.pop();
        let t = &module.types[type_index as usize];
        let n = t.param_cells() as usize;
        for r in t.results() {
            Ty::from_val(*r)?;
        }
        self.push(index.ty, index.loc);
        self.spill_regs();
        let index = self.pop();
        let len = self.stack.len();
        for p in len - n..len {
            self.spill_entry(p);
        }
        let p = (len - n) as u32;
        let shift = self.slot_disp(p);
        let (slow, done, ok) = (
            self.asm.new_dynamic_label(),
            self.asm.new_dynamic_label(),
            self.asm.new_dynamic_label(),
        );
        let to_stub = self.trap_exit();
        self.call_helper(
            helpers::resolve_indirect as *const () as usize,
            &[
                Arg::Vmctx,
                Arg::Imm(table_index as u64),
                Arg::Imm(type_index as u64),
                Arg::Val(index),
            ],
        );
        asm!(self
            ; test edx, edx
            ; jz =>ok
            ; mov eax, edx
            ; jmp =>to_stub
            ; =>ok
            ; test rax, rax
            ; jz =>slow
            ; lea r14, [r14 + shift]
            ; call rax
        );
        self.direct_call_site(shift);
        self.call_site();
        asm!(self
            ; lea r14, [r14 - shift]
            ; jmp =>done
            ; =>slow
        );
        self.call_helper(
            helpers::call_indirect as *const () as usize,
            &[
                Arg::Vmctx,
                Arg::Imm(table_index as u64),
                Arg::Imm(type_index as u64),
                Arg::Val(index),
                Arg::Cell(self.num_locals + p),
            ],
        );
        self.check_helper_trap();
        asm!(self; =>done);
        self.reload_mem_len();
        self.truncate(len - n);
        self.push_types_in_slots(t.results(), p);
        Ok(())
    }

    fn local_set(&mut self, local_index: u32, tee: bool) {
        let local_index = self.local_cells[local_index as usize];
        if self.local_tys[local_index as usize] == Ty::V128 {
            return self.local_set_v128(local_index, tee);
        }
        let v = self.pop();
        self.preserve_local(local_index);
        if v.loc != Loc::Local(local_index) {
            self.store_cell(v, FP, cell_disp(local_index));
            self.forget_local(local_index);
        }
        if let Loc::Reg(r) = v.loc {
            // The register is free now and still holds the local's value. A `tee` leaves a
            // read of the local, which the cache serves (a consumer that modifies its
            // operand copies it first; compares and address uses read it in place).
            self.free(v);
            let k = if v.ty.is_float() { 16 + r } else { r };
            self.lcache[k as usize] = local_index;
            self.lcached |= 1 << k;
            if tee {
                self.push(v.ty, Loc::Local(local_index));
            }
            return;
        }
        if !tee {
            self.free(v);
            return;
        }
        // Keep a register or constant; otherwise read the local again.
        match v.loc {
            Loc::Reg(_) | Loc::Const(_) => self.push(v.ty, v.loc),
            _ => self.push(v.ty, Loc::Local(local_index)),
        }
    }

    fn global_get(&mut self, global_index: u32) -> Res {
        let ty = Ty::from_val(self.module.globals[global_index as usize].ty.content)?;
        self.global_addr(global_index);
        if ty == Ty::V128 {
            // Copied into the home slots of the result.
            let p = self.stack.len() as u32;
            let (d0, d1) = (self.slot_disp(p), self.slot_disp(p + 1));
            asm!(self; mov r11, QWORD [r10]);
            fpa!(self, d0; {mov QWORD} {, r11});
            asm!(self; mov r11, QWORD [r10 + GLOBAL_HI]);
            fpa!(self, d1; {mov QWORD} {, r11});
            self.push_in_slots(Ty::V128, p);
            return Ok(());
        }
        if ty.is_float() {
            let x = self.alloc_xmm();
            if ty.is_64() {
                asm!(self; movsd Rx(x), QWORD [r10]);
            } else {
                asm!(self; movss Rx(x), DWORD [r10]);
            }
            self.push_reg(ty, x);
        } else {
            let r = self.alloc_gpr();
            if ty.is_64() {
                asm!(self; mov Rq(r), QWORD [r10]);
            } else {
                asm!(self; mov Rd(r), DWORD [r10]);
            }
            self.push_reg(ty, r);
        }
        Ok(())
    }

    fn memory_size(&mut self, mem: u32) {
        let r = self.alloc_gpr();
        let l = off::MEMORY_LEN;
        if mem == 0 {
            let m = off::VMCTX_MEMORY;
            asm!(self; mov Rq(r), QWORD [r15 + m]);
        } else {
            self.memory_definition(r, mem);
        }
        asm!(self
            ; mov Rq(r), QWORD [Rq(r) + l]
            ; shr Rq(r), 16
        );
        let ty = self.index_ty(mem);
        self.push_reg(ty, r);
    }

    /// The type of memory `mem`'s addresses and sizes: i64 for a 64-bit memory.
    fn index_ty(&self, mem: u32) -> Ty {
        if self.module.memories[mem as usize].memory64 {
            Ty::I64
        } else {
            Ty::I32
        }
    }

    /// `r` = the address of memory `mem`'s `VMMemoryDefinition` (through the instance's
    /// table of them: memories other than 0 have no pinned register).
    fn memory_definition(&mut self, r: u8, mem: u32) {
        let t = off::VMCTX_MEMORIES;
        let k = (mem as i32) * off::CELL;
        asm!(self
            ; mov Rq(r), QWORD [r15 + t]
            ; mov Rq(r), QWORD [Rq(r) + k]
        );
    }

    /// The type of table `table`'s indices and sizes (i64 for table64). The table helpers
    /// take and return whole cells and narrow them by the table's type (`table_operand`).
    fn table_index_ty(&self, table: u32) -> Ty {
        if self.module.tables[table as usize].ty.table64 {
            Ty::I64
        } else {
            Ty::I32
        }
    }

    fn table_get(&mut self, table: u32) {
        self.helper_op(
            helpers::table_get as *const () as usize,
            1,
            Some(table as u64),
            None,
            false,
        );
        let l = self.trap_exit();
        let ok = self.asm.new_dynamic_label();
        asm!(self
            ; test edx, edx
            ; jz =>ok
            ; mov eax, edx
            ; jmp =>l
            ; =>ok
        );
        self.regs.set(false, RAX);
        self.push_reg(Ty::I64, RAX);
    }

    /// `table.copy` / `table.init`: helper(vmctx, a, b, dst, src, len).
    fn table_copy_init(&mut self, addr: usize, a: u64, b: u64) {
        self.spill_regs();
        let len = self.pop();
        let src = self.pop();
        let dst = self.pop();
        self.call_helper(
            addr,
            &[
                Arg::Vmctx,
                Arg::Imm(a),
                Arg::Imm(b),
                Arg::Val(dst),
                Arg::Val(src),
                Arg::Val(len),
            ],
        );
        self.check_helper_trap();
    }

    fn bitcount(&mut self, w: bool, op: BitCount) {
        let ty = if w { Ty::I64 } else { Ty::I32 };
        let v = self.pop();
        let src = self.int_opnd(v, false, SCRATCH);
        self.free(v);
        let d = self.alloc_gpr();
        match (op, w, src) {
            (BitCount::Clz, false, Opnd::Reg(r)) => asm!(self; lzcnt Rd(d), Rd(r)),
            (BitCount::Clz, false, Opnd::Mem(m)) => fpa!(self, m; {lzcnt Rd(d), DWORD} {}),
            (BitCount::Ctz, false, Opnd::Reg(r)) => asm!(self; tzcnt Rd(d), Rd(r)),
            (BitCount::Ctz, false, Opnd::Mem(m)) => fpa!(self, m; {tzcnt Rd(d), DWORD} {}),
            (BitCount::Popcnt, false, Opnd::Reg(r)) => asm!(self; popcnt Rd(d), Rd(r)),
            (BitCount::Popcnt, false, Opnd::Mem(m)) => {
                fpa!(self, m; {popcnt Rd(d), DWORD} {})
            }
            (BitCount::Clz, true, Opnd::Reg(r)) => asm!(self; lzcnt Rq(d), Rq(r)),
            (BitCount::Clz, true, Opnd::Mem(m)) => fpa!(self, m; {lzcnt Rq(d), QWORD} {}),
            (BitCount::Ctz, true, Opnd::Reg(r)) => asm!(self; tzcnt Rq(d), Rq(r)),
            (BitCount::Ctz, true, Opnd::Mem(m)) => fpa!(self, m; {tzcnt Rq(d), QWORD} {}),
            (BitCount::Popcnt, true, Opnd::Reg(r)) => asm!(self; popcnt Rq(d), Rq(r)),
            (BitCount::Popcnt, true, Opnd::Mem(m)) => {
                fpa!(self, m; {popcnt Rq(d), QWORD} {})
            }
            _ => unreachable!("bit count form"),
        }
        self.push_reg(ty, d);
    }

    fn wrap(&mut self) {
        let v = self.pop();
        match v.loc {
            Loc::Const(c) => self.push(Ty::I32, Loc::Const(c as u32 as u64)),
            Loc::Reg(r) => {
                asm!(self; mov Rd(r), Rd(r));
                self.push_reg(Ty::I32, r);
            }
            loc => self.push(Ty::I32, loc),
        }
    }

    fn extend_u(&mut self) {
        let v = self.pop();
        match v.loc {
            Loc::Const(c) => self.push(Ty::I64, Loc::Const(c as u32 as u64)),
            _ => {
                let r = self.take_gpr(v);
                asm!(self; mov Rd(r), Rd(r));
                self.push_reg(Ty::I64, r);
            }
        }
    }

    fn fsign(&mut self, w: bool, op: FSign) {
        let ty = if w { Ty::F64 } else { Ty::F32 };
        let v = self.pop();
        let x = self.take_xmm(v);
        match (w, op) {
            (false, FSign::Abs) => {
                asm!(self; movd r11d, Rx(x) ; and r11d, 0x7fff_ffff ; movd Rx(x), r11d)
            }
            (false, FSign::Neg) => {
                asm!(self; movd r11d, Rx(x) ; xor r11d, 0x8000_0000u32 as i32 ; movd Rx(x), r11d)
            }
            (true, FSign::Abs) => {
                asm!(self; movq r11, Rx(x) ; btr r11, 63 ; movq Rx(x), r11)
            }
            (true, FSign::Neg) => {
                asm!(self; movq r11, Rx(x) ; btc r11, 63 ; movq Rx(x), r11)
            }
        }
        self.push_reg(ty, x);
    }

    fn reinterpret(&mut self, to: Ty) {
        let v = self.pop();
        match v.loc {
            Loc::Reg(_) => {
                if to.is_float() {
                    let x = self.alloc_xmm();
                    self.load_xmm_into(v, x);
                    self.free(v);
                    self.push_reg(to, x);
                } else {
                    let r = self.alloc_gpr();
                    self.load_gpr_into(v, r);
                    self.free(v);
                    self.push_reg(to, r);
                }
            }
            loc => self.push(to, loc),
        }
    }
    fn global_addr(&mut self, g: u32) {
        let go = off::VMCTX_GLOBALS;
        let d = cell_disp(g);
        asm!(self
            ; mov r10, QWORD [r15 + go]
            ; mov r10, QWORD [r10 + d]
        );
    }

    // ---- calls ----

    fn call(&mut self, func: u32) -> Res {
        let module = self.module;
        let t = module.func_type(func);
        let n = t.param_cells() as usize;
        for r in t.results() {
            Ty::from_val(*r)?;
        }
        self.spill_regs();
        let len = self.stack.len();
        for p in len - n..len {
            self.spill_entry(p);
        }
        // The callee clobbers every allocatable register.
        self.forget_all();
        let p = (len - n) as u32;
        let shift = self.slot_disp(p);
        let imported = self.module.num_imported_funcs;
        if func >= imported {
            let slots = off::VMCTX_CODE_SLOTS;
            let def = cell_disp(func - imported);
            // eax = the callee's defined index, read only by the interp-entry stub that an
            // interpreted function's slot holds (mixed tiers; docs/abi.md §3).
            let def_index = (func - imported) as i32;
            asm!(self
                ; mov r11, QWORD [r15 + slots]
                ; mov r11, QWORD [r11 + def]
                ; mov eax, def_index
                ; lea r14, [r14 + shift]
                ; call r11
            );
            self.direct_call_site(shift);
            self.call_site();
            asm!(self; lea r14, [r14 - shift]);
        } else {
            self.call_helper(
                helpers::call_import as *const () as usize,
                &[
                    Arg::Vmctx,
                    Arg::Imm(func as u64),
                    Arg::Cell(self.num_locals + p),
                ],
            );
            self.check_helper_trap();
        }
        self.reload_mem_len();
        self.truncate(len - n);
        self.push_types_in_slots(t.results(), p);
        Ok(())
    }

    // ---- typed function references ----

    /// Sets the flags from a reference (`E`: null) without moving it. `Some(non_null)`: a
    /// constant.
    fn test_ref(&mut self, v: Val) -> Option<bool> {
        match v.loc {
            Loc::Const(c) => return Some(c != 0),
            Loc::Reg(r) => asm!(self; test Rq(r), Rq(r)),
            _ => {
                let d = self.disp_of(v.loc).unwrap_or(0);
                fpa!(self, d; {cmp QWORD} {, 0});
            }
        }
        None
    }

    /// `call_ref`: through the `call_ref` helper (null check, then any function).
    fn call_ref(&mut self, type_index: u32) -> Res {
        let module = self.module;
        let t = &module.types[type_index as usize];
        let n = t.param_cells() as usize;
        for r in t.results() {
            Ty::from_val(*r)?;
        }
        self.flush();
        let callee = self.pop();
        self.push(callee.ty, callee.loc);
        self.spill_regs();
        let callee = self.pop();
        let p = self.spill_args(n);
        self.call_helper(
            helpers::call_ref as *const () as usize,
            &[Arg::Vmctx, Arg::Val(callee), Arg::Cell(self.num_locals + p)],
        );
        self.check_helper_trap();
        self.reload_mem_len();
        self.truncate(p as usize);
        self.push_types_in_slots(t.results(), p);
        Ok(())
    }

    /// `return_call_ref`: like `return_call_indirect`, with `resolve_tail_ref` finding a
    /// same-instance callee's entry.
    fn return_call_ref(&mut self, type_index: u32) -> Res {
        let module = self.module;
        let t = &module.types[type_index as usize];
        let n = t.param_cells() as usize;
        for r in t.results() {
            Ty::from_val(*r)?;
        }
        self.flush();
        let callee = self.pop();
        self.push(callee.ty, callee.loc);
        self.spill_regs();
        let callee = self.pop();
        let p = self.spill_args(n);
        let (slow, general) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        let to_stub = self.trap_exit();
        self.call_helper(
            helpers::resolve_tail_ref as *const () as usize,
            &[Arg::Vmctx, Arg::Val(callee)],
        );
        asm!(self
            ; test rax, rax
            ; jz =>slow
        );
        self.move_tail_args(p, n);
        asm!(self
            ; mov r11, rax
            ; mov eax, edx
            ; pop rbp
            ; jmp r11
            ; =>slow
            ; test edx, edx
            ; jz =>general
            ; mov eax, edx
            ; jmp =>to_stub
            ; =>general
        );
        self.call_helper(
            helpers::call_ref as *const () as usize,
            &[Arg::Vmctx, Arg::Val(callee), Arg::Cell(self.num_locals + p)],
        );
        self.no_catch = true;
        self.check_helper_trap();
        self.no_catch = false;
        self.reload_mem_len();
        self.truncate(p as usize);
        self.push_types_in_slots(t.results(), p);
        self.emit_return();
        self.unreachable_now();
        Ok(())
    }

    // ---- tail calls (design.md §12) ----

    /// Puts the top `n` values (the arguments of a tail call) in their home slots and
    /// returns the position of the first.
    fn spill_args(&mut self, n: usize) -> u32 {
        self.spill_regs();
        let len = self.stack.len();
        for p in len - n..len {
            self.spill_entry(p);
        }
        self.forget_all();
        (len - n) as u32
    }

    /// Moves `n` arguments from the slots at position `p` to the frame's first cells, where
    /// the tail callee's frame starts. Ascending: cell `k` is never above slot `p + k`.
    /// Uses r10 only.
    fn move_tail_args(&mut self, p: u32, n: usize) {
        for k in 0..n as u32 {
            let (src, dst) = (self.slot_disp(p + k), cell_disp(k));
            if src != dst {
                asm!(self
                    ; mov r10, QWORD [r14 + src]
                    ; mov QWORD [r14 + dst], r10
                );
            }
        }
    }

    /// `return_call`: a defined callee replaces this frame (arguments moved to its start,
    /// `rbp` popped, a jump to its code slot, whose caller is then this frame's caller); an
    /// import is called and then returned from, which keeps the stack constant for host
    /// functions (an imported wasm function of another instance runs nested).
    fn return_call(&mut self, func: u32) -> Res {
        let module = self.module;
        let imported = module.num_imported_funcs;
        if func < imported {
            self.no_catch = true;
            let r = self.call(func);
            self.no_catch = false;
            r?;
            self.emit_return();
            self.unreachable_now();
            return Ok(());
        }
        let n = module.func_type(func).param_cells() as usize;
        let p = self.spill_args(n);
        self.move_tail_args(p, n);
        let slots = off::VMCTX_CODE_SLOTS;
        let def = cell_disp(func - imported);
        // eax = the callee's defined index, for the interp-entry stub (docs/abi.md §3).
        let def_index = (func - imported) as i32;
        asm!(self
            ; mov r11, QWORD [r15 + slots]
            ; mov r11, QWORD [r11 + def]
            ; mov eax, def_index
            ; pop rbp
            ; jmp r11
        );
        self.unreachable_now();
        Ok(())
    }

    /// `return_call_indirect`: `resolve_tail_indirect` checks the element and finds a
    /// same-instance callee's entry (compiled code or the interp-entry stub), which replaces
    /// this frame as in `return_call`; any other callee is called through the
    /// `call_indirect` helper and then returned from.
    fn return_call_indirect(&mut self, type_index: u32, table_index: u32) -> Res {
        let module = self.module;
        let t = &module.types[type_index as usize];
        let n = t.param_cells() as usize;
        for r in t.results() {
            Ty::from_val(*r)?;
        }
        let index = self.pop();
        self.push(index.ty, index.loc);
        self.spill_regs();
        let index = self.pop();
        let p = self.spill_args(n);
        let (slow, general) = (self.asm.new_dynamic_label(), self.asm.new_dynamic_label());
        let to_stub = self.trap_exit();
        self.call_helper(
            helpers::resolve_tail_indirect as *const () as usize,
            &[
                Arg::Vmctx,
                Arg::Imm(table_index as u64),
                Arg::Imm(type_index as u64),
                Arg::Val(index),
            ],
        );
        asm!(self
            ; test rax, rax
            ; jz =>slow
        );
        self.move_tail_args(p, n);
        asm!(self
            ; mov r11, rax
            ; mov eax, edx
            ; pop rbp
            ; jmp r11
            ; =>slow
            ; test edx, edx
            ; jz =>general
            ; mov eax, edx
            ; jmp =>to_stub
            ; =>general
        );
        self.call_helper(
            helpers::call_indirect as *const () as usize,
            &[
                Arg::Vmctx,
                Arg::Imm(table_index as u64),
                Arg::Imm(type_index as u64),
                Arg::Val(index),
                Arg::Cell(self.num_locals + p),
            ],
        );
        self.no_catch = true;
        self.check_helper_trap();
        self.no_catch = false;
        self.reload_mem_len();
        self.truncate(p as usize);
        self.push_types_in_slots(t.results(), p);
        self.emit_return();
        self.unreachable_now();
        Ok(())
    }

    // ---- exceptions (docs/abi.md §10) ----

    /// `try_table`: a block whose catch clauses become handler entries for its body's code
    /// range. Each clause gets a landing pad, emitted before the body behind a jump: the
    /// unwinder writes the payload (then the `exnref`, for `_ref` clauses) into the slots
    /// from the try's height up and resumes there; the pad is a branch to the clause's label
    /// with those values (labels are resolved outside the try: its frame is not pushed yet).
    fn try_table(&mut self, tt: wasmparser::TryTable) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead(Kind::TryTable);
            return Ok(());
        }
        self.flush();
        let ar = self.block_arity(tt.ty)?;
        self.canonicalize(ar.params as usize);
        let height = self.stack.len() - ar.params as usize;
        let frame = self.ctrl.len() as u32;
        let mut clauses = Vec::with_capacity(tt.catches.len());
        if !tt.catches.is_empty() {
            let body = self.asm.new_dynamic_label();
            asm!(self; jmp =>body);
            // The try's parameters (in their slots) are not on the pads' stacks.
            let canon = self.canon;
            let params = self.stack.split_off(height);
            self.canon = self.canon.min(height);
            for c in &tt.catches {
                use wasmparser::Catch;
                let (kind, label, keep, tag) = match *c {
                    Catch::One { tag, label } => (HandlerKind::Tag(tag), label, false, Some(tag)),
                    Catch::OneRef { tag, label } => (HandlerKind::Tag(tag), label, true, Some(tag)),
                    Catch::All { label } => (HandlerKind::All, label, false, None),
                    Catch::AllRef { label } => (HandlerKind::All, label, true, None),
                };
                let pad = self.asm.offset().0 as u32;
                self.pad_prologue();
                let mut p = height as u32;
                if let Some(t) = tag {
                    let params = &self.module.tags[t as usize].params;
                    for v in params.iter() {
                        p = self.push_in_slots(Ty::from_val(*v)?, p);
                    }
                }
                let exn = if keep {
                    self.push_in_slots(Ty::I64, p);
                    self.num_locals + p
                } else {
                    NO_EXN
                };
                self.emit_branch(label);
                self.truncate(height);
                clauses.push((kind, pad, exn));
            }
            self.stack.extend(params);
            self.canon = canon;
            self.forget_all();
            asm!(self; =>body);
        }
        self.push_ctrl(Kind::TryTable, tt.ty, ar, None);
        let start = self.asm.offset().0 as u32;
        let dst = self.num_locals + height as u32;
        for (kind, pad, exn) in clauses {
            self.pending_catches.push(Handler {
                start,
                end: 0,
                frame,
                kind,
                pad,
                dst,
                exn,
            });
        }
        Ok(())
    }

    /// Where a landing pad starts: every register and cache is stale (the frame comes from
    /// an unwind), and the memory registers are reloaded (a callee may have grown memory).
    fn pad_prologue(&mut self) {
        self.forget_all();
        self.load_memory_regs();
    }

    /// The `end` of the `try_table` at control index `frame`, whose body's code ends at
    /// `end`: its clauses join the handler table (after those of the tries nested in it).
    fn close_try_table(&mut self, frame: u32, end: u32) {
        let from = self
            .pending_catches
            .iter()
            .rposition(|h| h.frame != frame)
            .map_or(0, |i| i + 1);
        for mut h in self.pending_catches.drain(from..) {
            h.end = end;
            self.unwind.handlers.push(h);
        }
    }

    /// A legacy `catch` (`tag`) or `catch_all` (`None`): closes the try's body or previous
    /// clause and starts a clause, which is its own landing pad. The clause starts with the
    /// caught exception in a hidden cell at the try's height (for `rethrow`) and its payload
    /// above it.
    fn legacy_catch(&mut self, tag: Option<u32>) -> Res {
        let f = self.ctrl.last().ok_or("catch outside try")?;
        if !matches!(f.kind, Kind::LegacyTry | Kind::LegacyCatch) {
            return Err("catch outside try".into());
        }
        if !f.reachable {
            self.ctrl.enter_catch(tag.is_none());
            return Ok(());
        }
        let frame = self.ctrl.len() as u32 - 1;
        let (height, results, label, pins) = (
            f.height as usize,
            f.arity.results as usize,
            f.payload.label,
            f.payload.cache,
        );
        let here = self.asm.offset().0 as u32;
        let Some(entry) = self.legacy.last_mut().filter(|l| l.0 == frame) else {
            return Err("catch of an unknown try".into());
        };
        let start = entry.1;
        let body_end = *entry.2.get_or_insert(here);
        if self.ctrl.reachable() {
            self.flush();
            self.move_to_slots(results, height);
            self.establish_pins(pins, false);
            asm!(self; jmp =>label);
        }
        self.ctrl.enter_catch(tag.is_none());
        let pad = self.asm.offset().0 as u32;
        self.pad_prologue();
        self.truncate(height);
        self.canon = self.canon.min(height);
        self.push_in_slots(Ty::I64, height as u32);
        let mut p = height as u32 + 1;
        if let Some(t) = tag {
            let params = &self.module.tags[t as usize].params;
            for v in params.iter() {
                p = self.push_in_slots(Ty::from_val(*v)?, p);
            }
        }
        self.recompute_regs();
        let dst = self.num_locals + height as u32;
        self.unwind.handlers.push(Handler {
            start,
            end: body_end,
            frame,
            kind: tag.map_or(HandlerKind::All, HandlerKind::Tag),
            pad,
            dst: dst + 1,
            exn: dst,
        });
        Ok(())
    }

    /// Legacy `delegate`: ends a `try` whose body's exceptions continue as if thrown inside
    /// the frame at `relative_depth` (counted from outside the try).
    fn delegate(&mut self, relative_depth: u32) -> Res {
        let f = self.ctrl.last().ok_or("delegate outside try")?;
        if !f.reachable {
            self.ctrl.pop();
            return Ok(());
        }
        let frame = self.ctrl.len() as u32 - 1;
        let target = self.ctrl.label_index(relative_depth + 1) as u32;
        let start = match self.legacy.last() {
            Some(&(f, start, _)) if f == frame => start,
            _ => return Err("delegate of an unknown try".into()),
        };
        let end = self.asm.offset().0 as u32;
        self.unwind.handlers.push(Handler {
            start,
            end,
            frame,
            kind: HandlerKind::Delegate(target),
            pad: 0,
            dst: 0,
            exn: NO_EXN,
        });
        let reachable = self.ctrl.reachable();
        if reachable {
            self.flush();
        }
        self.end(reachable)
    }

    /// `throw`: the payload goes to its home cells, the helper makes the exception and parks
    /// it as the pending trap, and the trap path unwinds to whoever catches it.
    fn throw(&mut self, tag: u32) -> Res {
        let params = &self.module.tags[tag as usize].params;
        for t in params.iter() {
            Ty::from_val(*t)?;
        }
        // Stack entries are cells (a v128 takes two).
        let n = strata_vm::cells_of(params) as usize;
        let p = self.spill_args(n);
        self.call_helper(
            helpers::throw_exception as *const () as usize,
            &[
                Arg::Vmctx,
                Arg::Imm(tag as u64),
                Arg::Cell(self.num_locals + p),
            ],
        );
        self.jump_to_stub_here();
        self.unreachable_now();
        Ok(())
    }

    /// `throw_ref`: null traps, anything else is thrown again as it is.
    fn throw_ref(&mut self) {
        self.spill_regs();
        let v = self.pop();
        self.call_helper(
            helpers::throw_ref as *const () as usize,
            &[Arg::Vmctx, Arg::Val(v)],
        );
        self.jump_to_stub_here();
        self.unreachable_now();
    }

    /// Calls a helper. Every register must have been spilled, and `Val` arguments must not be
    /// in registers (pop them after `spill_regs`).
    fn call_helper(&mut self, addr: usize, args: &[Arg]) {
        // The argument registers are written one by one: no argument may read a cached
        // local from one of them. Everything is clobbered by the call anyway.
        self.forget_all();
        for (i, a) in args.iter().enumerate() {
            let r = ARG_REGS[i];
            match *a {
                Arg::Vmctx => asm!(self; mov Rq(r), r15),
                Arg::Imm(v) => mov_imm(self.asm, r, v),
                Arg::Val(v) => {
                    debug_assert!(
                        !matches!(v.loc, Loc::Reg(_)),
                        "helper argument in a register"
                    );
                    let v = Val::new(
                        if v.ty.is_float() {
                            if v.ty.is_64() {
                                Ty::I64
                            } else {
                                Ty::I32
                            }
                        } else {
                            v.ty
                        },
                        v.loc,
                    );
                    self.load_gpr_into(v, r);
                }
                Arg::Cell(c) => {
                    let d = cell_disp(c);
                    fpa!(self, d; {lea Rq(r),} {});
                }
                Arg::Label(l) => asm!(self; lea Rq(r), [=>l]),
            }
        }
        // Where this frame is, for a helper that runs wasm (its depth, docs/abi.md §4).
        let rt = off::VMCTX_RUNTIME;
        let jit_fp = off::RUNTIME_JIT_FP;
        asm!(self
            ; mov r11, QWORD [r15 + rt]
            ; mov QWORD [r11 + jit_fp], rbp
        );
        self.call_addr(addr);
    }

    /// `helper_op` with several immediates (at most 5 arguments after the `VMContext`).
    fn helper_op_imms(
        &mut self,
        addr: usize,
        n: usize,
        imms: &[u64],
        result: Option<Ty>,
        traps: bool,
    ) {
        self.spill_regs();
        let len = self.stack.len();
        let mut args = [Arg::Vmctx; 6];
        let mut k = 1;
        for &i in imms {
            args[k] = Arg::Imm(i);
            k += 1;
        }
        for p in len - n..len {
            args[k] = Arg::Val(self.stack[p]);
            k += 1;
        }
        self.truncate(len - n);
        self.call_helper(addr, &args[..k]);
        if traps {
            self.check_helper_trap();
        }
        if let Some(ty) = result {
            self.push_reg(ty, RAX);
        }
    }

    /// A helper taking (vmctx, [imm], n popped operands) and returning nothing, a trap code
    /// (`traps`), or a value of type `result` in rax.
    fn helper_op(
        &mut self,
        addr: usize,
        n: usize,
        imm: Option<u64>,
        result: Option<Ty>,
        traps: bool,
    ) {
        self.spill_regs();
        let len = self.stack.len();
        let mut args = [Arg::Vmctx; 6];
        let mut k = 1;
        if let Some(i) = imm {
            args[k] = Arg::Imm(i);
            k += 1;
        }
        for p in len - n..len {
            args[k] = Arg::Val(self.stack[p]);
            k += 1;
        }
        self.truncate(len - n);
        self.call_helper(addr, &args[..k]);
        if traps {
            self.check_helper_trap();
        }
        if let Some(ty) = result {
            self.push_reg(ty, RAX);
        }
    }

    // ---- integer arithmetic ----

    fn int_bin(&mut self, ty: Ty, op: IntBin) {
        let w = ty.is_64();
        let mut b = self.pop();
        let mut a = self.pop();
        if let (Loc::Const(x), Loc::Const(y)) = (a.loc, b.loc) {
            let r = match op {
                IntBin::Add => x.wrapping_add(y),
                IntBin::Sub => x.wrapping_sub(y),
                IntBin::Mul => x.wrapping_mul(y),
                IntBin::And => x & y,
                IntBin::Or => x | y,
                IntBin::Xor => x ^ y,
            };
            let r = if w { r } else { r as u32 as u64 };
            self.push(ty, Loc::Const(r));
            return;
        }
        let commutative = !matches!(op, IntBin::Sub);
        if commutative
            && (matches!(a.loc, Loc::Const(_)) || (b.reg().is_some() && a.reg().is_none()))
        {
            std::mem::swap(&mut a, &mut b);
        }
        let d = self.take_gpr(a);
        let src = self.int_opnd(b, true, SCRATCH);
        match op {
            IntBin::Add => alu!(self, add, w, d, src),
            IntBin::Sub => alu!(self, sub, w, d, src),
            IntBin::And => alu!(self, and, w, d, src),
            IntBin::Or => alu!(self, or, w, d, src),
            IntBin::Xor => alu!(self, xor, w, d, src),
            IntBin::Mul => match (w, src) {
                (w, Opnd::Imm(i)) if fits_i8(i) => imul_ri8(self.asm, w, d, i as i8),
                (false, Opnd::Imm(i)) => asm!(self; imul Rd(d), Rd(d), i),
                (true, Opnd::Imm(i)) => asm!(self; imul Rq(d), Rq(d), i),
                (false, Opnd::Reg(r)) => asm!(self; imul Rd(d), Rd(r)),
                (true, Opnd::Reg(r)) => asm!(self; imul Rq(d), Rq(r)),
                (false, Opnd::Mem(m)) => fpa!(self, m; {imul Rd(d), DWORD} {}),
                (true, Opnd::Mem(m)) => fpa!(self, m; {imul Rq(d), QWORD} {}),
            },
        }
        self.free(b);
        self.push_reg(ty, d);
    }

    fn shift(&mut self, ty: Ty, op: Shift) {
        let w = ty.is_64();
        let b = self.pop();
        if let Loc::Const(c) = b.loc {
            let a = self.pop();
            let d = self.take_gpr(a);
            let i = (c & if w { 63 } else { 31 }) as i8;
            match (op, w) {
                (Shift::Shl, false) => asm!(self; shl Rd(d), i),
                (Shift::Shl, true) => asm!(self; shl Rq(d), i),
                (Shift::ShrS, false) => asm!(self; sar Rd(d), i),
                (Shift::ShrS, true) => asm!(self; sar Rq(d), i),
                (Shift::ShrU, false) => asm!(self; shr Rd(d), i),
                (Shift::ShrU, true) => asm!(self; shr Rq(d), i),
                (Shift::Rotl, false) => asm!(self; rol Rd(d), i),
                (Shift::Rotl, true) => asm!(self; rol Rq(d), i),
                (Shift::Rotr, false) => asm!(self; ror Rd(d), i),
                (Shift::Rotr, true) => asm!(self; ror Rq(d), i),
            }
            self.push_reg(ty, d);
            return;
        }
        // Variable count: it must be in cl.
        self.push(b.ty, b.loc);
        self.evict(RCX);
        let b = self.pop();
        let a = self.pop();
        self.forget_reg(RCX);
        if b.reg() != Some(RCX) {
            self.regs.set(false, RCX);
            self.load_gpr_into(b, RCX);
            self.free(b);
        }
        let d = if a.reg() == Some(RCX) || a.reg().is_none() || a.ty.is_float() {
            let d = self.alloc_gpr();
            self.load_gpr_into(a, d);
            if a.reg() != Some(RCX) {
                self.free(a);
            }
            d
        } else {
            a.reg().unwrap_or(RAX)
        };
        match (op, w) {
            (Shift::Shl, false) => asm!(self; shl Rd(d), cl),
            (Shift::Shl, true) => asm!(self; shl Rq(d), cl),
            (Shift::ShrS, false) => asm!(self; sar Rd(d), cl),
            (Shift::ShrS, true) => asm!(self; sar Rq(d), cl),
            (Shift::ShrU, false) => asm!(self; shr Rd(d), cl),
            (Shift::ShrU, true) => asm!(self; shr Rq(d), cl),
            (Shift::Rotl, false) => asm!(self; rol Rd(d), cl),
            (Shift::Rotl, true) => asm!(self; rol Rq(d), cl),
            (Shift::Rotr, false) => asm!(self; ror Rd(d), cl),
            (Shift::Rotr, true) => asm!(self; ror Rq(d), cl),
        }
        self.regs.clear(false, RCX);
        self.push_reg(ty, d);
    }

    fn div(&mut self, ty: Ty, kind: DivKind) {
        let w = ty.is_64();
        let b = self.pop();
        // Unsigned division by a power of two: a shift or a mask.
        if let Loc::Const(c) = b.loc {
            let c = if w { c } else { c as u32 as u64 };
            if c.is_power_of_two() && matches!(kind, DivKind::DivU | DivKind::RemU) {
                let a = self.pop();
                let d = self.take_gpr(a);
                let sh = c.trailing_zeros() as i8;
                match (kind, w) {
                    (DivKind::DivU, false) => asm!(self; shr Rd(d), sh),
                    (DivKind::DivU, true) => asm!(self; shr Rq(d), sh),
                    (_, false) => asm!(self; and Rd(d), (c - 1) as i32),
                    (_, true) => {
                        if fits_i32(c - 1) {
                            asm!(self; and Rq(d), (c - 1) as i32);
                        } else {
                            mov_imm(self.asm, SCRATCH, c - 1);
                            asm!(self; and Rq(d), r11);
                        }
                    }
                }
                self.push_reg(ty, d);
                return;
            }
        }
        // Divisor into r11, dividend into rax; rdx is clobbered.
        self.load_gpr_into(b, SCRATCH);
        self.free(b);
        let a = self.pop();
        self.push(a.ty, a.loc);
        self.evict(RAX);
        self.evict(RDX);
        self.forget_reg(RAX);
        self.forget_reg(RDX);
        let a = self.pop();
        self.load_gpr_into(a, RAX);
        self.free(a);
        self.regs.set(false, RAX);
        let known_nonzero =
            matches!(b.loc, Loc::Const(c) if (if w { c } else { c as u32 as u64 }) != 0);
        let known_not_minus1 = matches!(b.loc, Loc::Const(c) if (if w { c } else { c as u32 as u64 }) != (if w { u64::MAX } else { u32::MAX as u64 }));
        if !known_nonzero {
            if w {
                asm!(self; test r11, r11);
            } else {
                asm!(self; test r11d, r11d);
            }
            self.trap_if(Cc::E, TrapCode::IntegerDivisionByZero);
        }
        let done = self.asm.new_dynamic_label();
        let signed = matches!(kind, DivKind::DivS | DivKind::RemS);
        if signed && !known_not_minus1 {
            let normal = self.asm.new_dynamic_label();
            if w {
                asm!(self; cmp r11, -1);
            } else {
                asm!(self; cmp r11d, -1);
            }
            jcc(self.asm, Cc::Ne, normal);
            if kind == DivKind::DivS {
                // x / -1 = -x, trapping on the minimum.
                if w {
                    mov_imm(self.asm, SCRATCH2, i64::MIN as u64);
                    asm!(self; cmp Rq(RAX), r10);
                } else {
                    asm!(self; cmp Rd(RAX), i32::MIN);
                }
                self.trap_if(Cc::E, TrapCode::IntegerOverflow);
                if w {
                    asm!(self; neg Rq(RAX));
                } else {
                    asm!(self; neg Rd(RAX));
                }
            } else {
                asm!(self; xor eax, eax);
            }
            asm!(self; jmp =>done ; =>normal);
        }
        match (kind, w) {
            (DivKind::DivS | DivKind::RemS, false) => asm!(self; cdq ; idiv r11d),
            (DivKind::DivS | DivKind::RemS, true) => asm!(self; cqo ; idiv r11),
            (_, false) => asm!(self; xor edx, edx ; div r11d),
            (_, true) => asm!(self; xor edx, edx ; div r11),
        }
        if matches!(kind, DivKind::RemS | DivKind::RemU) {
            asm!(self; mov rax, rdx);
        }
        asm!(self; =>done);
        self.push_reg(ty, RAX);
    }

    fn sign_extend(&mut self, ty: Ty, bits: u32) {
        let v = self.pop();
        if let Loc::Const(c) = v.loc {
            let r = match bits {
                8 => c as i8 as i64 as u64,
                16 => c as i16 as i64 as u64,
                _ => c as i32 as i64 as u64,
            };
            let r = if ty.is_64() { r } else { r as u32 as u64 };
            self.push(ty, Loc::Const(r));
            return;
        }
        let d = self.take_gpr(v);
        match (ty.is_64(), bits) {
            (false, 8) => asm!(self; movsx Rd(d), Rb(d)),
            (false, _) => asm!(self; movsx Rd(d), Rw(d)),
            (true, 8) => asm!(self; movsx Rq(d), Rb(d)),
            (true, 16) => asm!(self; movsx Rq(d), Rw(d)),
            (true, _) => asm!(self; movsxd Rq(d), Rd(d)),
        }
        self.push_reg(ty, d);
    }

    fn select(&mut self) {
        if self.stack.len() >= 2 && self.stack[self.stack.len() - 2].ty == Ty::V128Hi {
            return self.select_v128();
        }
        let c = self.pop();
        let b = self.pop();
        let a = self.pop();
        if let Loc::Const(k) = c.loc {
            let (keep, drop) = if k as u32 != 0 { (a, b) } else { (b, a) };
            self.free(drop);
            self.push(keep.ty, keep.loc);
            return;
        }
        let ty = a.ty;
        if ty.is_float() {
            let d = self.take_xmm(a);
            let src = self.float_opnd(b);
            // Test after the loads (they do not touch flags, but keep it obvious).
            if let Loc::Reg(r) = c.loc {
                asm!(self; test Rd(r), Rd(r));
            } else {
                let m = self.disp_of(c.loc).unwrap_or(0);
                fpa!(self, m; {cmp DWORD} {, 0});
            }
            let keep = self.asm.new_dynamic_label();
            asm!(self; jnz =>keep);
            match (ty.is_64(), src) {
                (_, Opnd::Reg(r)) => asm!(self; movaps Rx(d), Rx(r)),
                (false, Opnd::Mem(m)) => fpa!(self, m; {movss Rx(d), DWORD} {}),
                (true, Opnd::Mem(m)) => fpa!(self, m; {movsd Rx(d), QWORD} {}),
                _ => unreachable!(),
            }
            asm!(self; =>keep);
            self.free(b);
            self.free(c);
            self.push_reg(ty, d);
        } else {
            let w = ty.is_64();
            let d = self.take_gpr(a);
            let src = match self.int_opnd(b, false, SCRATCH) {
                Opnd::Imm(_) => unreachable!(),
                o => o,
            };
            if let Loc::Reg(r) = c.loc {
                asm!(self; test Rd(r), Rd(r));
            } else {
                let m = self.disp_of(c.loc).unwrap_or(0);
                fpa!(self, m; {cmp DWORD} {, 0});
            }
            match (w, src) {
                (false, Opnd::Reg(r)) => asm!(self; cmovz Rd(d), Rd(r)),
                (true, Opnd::Reg(r)) => asm!(self; cmovz Rq(d), Rq(r)),
                (false, Opnd::Mem(m)) => fpa!(self, m; {cmovz Rd(d), DWORD} {}),
                (true, Opnd::Mem(m)) => fpa!(self, m; {cmovz Rq(d), QWORD} {}),
                _ => unreachable!(),
            }
            self.free(b);
            self.free(c);
            self.push_reg(ty, d);
        }
    }

    // ---- floating point ----

    fn fbin(&mut self, ty: Ty, op: FBin) {
        let w = ty.is_64();
        let b = self.pop();
        let a = self.pop();
        let d = self.take_xmm(a);
        if op == FBin::Copysign {
            self.load_gpr_into(Val::new(if w { Ty::I64 } else { Ty::I32 }, b.loc), SCRATCH2);
            if let Loc::Reg(r) = b.loc {
                if w {
                    asm!(self; movq r10, Rx(r));
                } else {
                    asm!(self; movd r10d, Rx(r));
                }
            }
            if w {
                asm!(self
                    ; movq r11, Rx(d)
                    ; btr r11, 63
                    ; shr r10, 63
                    ; shl r10, 63
                    ; or r11, r10
                    ; movq Rx(d), r11
                );
            } else {
                asm!(self
                    ; movd r11d, Rx(d)
                    ; and r11d, 0x7fff_ffff
                    ; and r10d, 0x8000_0000u32 as i32
                    ; or r11d, r10d
                    ; movd Rx(d), r11d
                );
            }
            self.free(b);
            self.push_reg(ty, d);
            return;
        }
        let src = self.float_opnd(b);
        match op {
            FBin::Add => sse!(self, addss, addsd, w, d, src),
            FBin::Sub => sse!(self, subss, subsd, w, d, src),
            FBin::Mul => sse!(self, mulss, mulsd, w, d, src),
            FBin::Div => sse!(self, divss, divsd, w, d, src),
            FBin::Min | FBin::Max => {
                // Wasm semantics: NaN if either is NaN; -0 < +0.
                let s = match src {
                    Opnd::Reg(r) => r,
                    o => {
                        match (w, o) {
                            (false, Opnd::Mem(m)) => {
                                fpa!(self, m; {movss xmm15, DWORD} {})
                            }
                            (true, Opnd::Mem(m)) => {
                                fpa!(self, m; {movsd xmm15, QWORD} {})
                            }
                            _ => unreachable!(),
                        }
                        XMM_SCRATCH
                    }
                };
                let (nan, normal, done) = (
                    self.asm.new_dynamic_label(),
                    self.asm.new_dynamic_label(),
                    self.asm.new_dynamic_label(),
                );
                if w {
                    asm!(self; ucomisd Rx(d), Rx(s));
                } else {
                    asm!(self; ucomiss Rx(d), Rx(s));
                }
                asm!(self; jp =>nan ; jne =>normal);
                match (op, w) {
                    (FBin::Min, false) => asm!(self; orps Rx(d), Rx(s)),
                    (FBin::Min, true) => asm!(self; orpd Rx(d), Rx(s)),
                    (_, false) => asm!(self; andps Rx(d), Rx(s)),
                    (_, true) => asm!(self; andpd Rx(d), Rx(s)),
                }
                asm!(self; jmp =>done ; =>normal);
                match (op, w) {
                    (FBin::Min, false) => asm!(self; minss Rx(d), Rx(s)),
                    (FBin::Min, true) => asm!(self; minsd Rx(d), Rx(s)),
                    (_, false) => asm!(self; maxss Rx(d), Rx(s)),
                    (_, true) => asm!(self; maxsd Rx(d), Rx(s)),
                }
                asm!(self; jmp =>done ; =>nan);
                if w {
                    asm!(self; addsd Rx(d), Rx(s));
                } else {
                    asm!(self; addss Rx(d), Rx(s));
                }
                asm!(self; =>done);
            }
            FBin::Copysign => unreachable!(),
        }
        self.free(b);
        self.push_reg(ty, d);
    }

    fn fcmp(&mut self, ty: Ty, op: FCmp) {
        let w = ty.is_64();
        let b = self.pop();
        let a = self.pop();
        // Lt/Le compare with the operands swapped so that "above" tests work for NaN.
        let (x, y) = if matches!(op, FCmp::Lt | FCmp::Le) {
            (b, a)
        } else {
            (a, b)
        };
        let xr = match x.loc {
            Loc::Reg(r) => r,
            _ => {
                self.load_xmm_into(x, XMM_SCRATCH);
                XMM_SCRATCH
            }
        };
        let yo = match y.loc {
            Loc::Reg(r) => Opnd::Reg(r),
            Loc::Local(_) if self.cached_xmm(y.loc).is_some() => {
                Opnd::Reg(self.cached_xmm(y.loc).unwrap_or(XMM_SCRATCH))
            }
            Loc::Local(_) | Loc::Slot(_) => Opnd::Mem(self.disp_of(y.loc).unwrap_or(0)),
            _ => {
                // x may be in XMM_SCRATCH: use a fresh register.
                let t = self.alloc_xmm();
                self.load_xmm_into(y, t);
                self.regs.clear(true, t);
                Opnd::Reg(t)
            }
        };
        sse!(self, ucomiss, ucomisd, w, xr, yo);
        self.free(a);
        self.free(b);
        let d = self.alloc_gpr();
        match op {
            FCmp::Eq => {
                setcc(self.asm, Cc::E, d);
                setcc(self.asm, Cc::Np, SCRATCH);
                asm!(self; and Rb(d), r11b);
            }
            FCmp::Ne => {
                setcc(self.asm, Cc::Ne, d);
                setcc(self.asm, Cc::P, SCRATCH);
                asm!(self; or Rb(d), r11b);
            }
            FCmp::Lt | FCmp::Gt => setcc(self.asm, Cc::A, d),
            FCmp::Le | FCmp::Ge => setcc(self.asm, Cc::Ae, d),
        }
        asm!(self; movzx Rd(d), Rb(d));
        self.push_reg(Ty::I32, d);
    }

    /// `sqrt` (`mode` -1) or `round` with an SSE4.1 rounding mode.
    fn funary(&mut self, ty: Ty, mode: i8) {
        let w = ty.is_64();
        let v = self.pop();
        let x = self.take_xmm(v);
        match (mode, w) {
            (-1, false) => asm!(self; sqrtss Rx(x), Rx(x)),
            (-1, true) => asm!(self; sqrtsd Rx(x), Rx(x)),
            (m, false) => asm!(self; roundss Rx(x), Rx(x), m),
            (m, true) => asm!(self; roundsd Rx(x), Rx(x), m),
        }
        self.push_reg(ty, x);
    }

    fn load_fconst(&mut self, w: bool, v: f64) {
        let bits = if w {
            v.to_bits()
        } else {
            (v as f32).to_bits() as u64
        };
        mov_imm(self.asm, SCRATCH, bits);
        asm!(self; movq xmm15, r11);
    }

    fn ucomi_scratch(&mut self, w: bool, x: u8) {
        if w {
            asm!(self; ucomisd Rx(x), xmm15);
        } else {
            asm!(self; ucomiss Rx(x), xmm15);
        }
    }

    /// Float -> integer truncation, trapping or saturating.
    fn trunc(&mut self, from: Ty, to: Ty, signed: bool, sat: bool) {
        let w = from.is_64();
        let v = self.pop();
        let x = self.take_xmm(v);
        let d = self.alloc_gpr();
        let to64 = to.is_64();
        // Valid iff lo <(=) x < hi.
        let (lo, lo_inclusive, hi): (f64, bool, f64) = match (to64, signed) {
            (false, true) => {
                if w {
                    (-2147483649.0, false, 2147483648.0)
                } else {
                    (-2147483648.0, true, 2147483648.0)
                }
            }
            (false, false) => (-1.0, false, 4294967296.0),
            (true, true) => (-9223372036854775808.0, true, 9223372036854775808.0),
            (true, false) => (-1.0, false, 18446744073709551616.0),
        };
        let done = self.asm.new_dynamic_label();
        let (nan_l, under_l, over_l) = if sat {
            (
                self.asm.new_dynamic_label(),
                self.asm.new_dynamic_label(),
                self.asm.new_dynamic_label(),
            )
        } else {
            let inv = self.trap_label(TrapCode::BadConversionToInteger);
            let ovf = self.trap_label(TrapCode::IntegerOverflow);
            (inv, ovf, ovf)
        };
        if w {
            asm!(self; ucomisd Rx(x), Rx(x));
        } else {
            asm!(self; ucomiss Rx(x), Rx(x));
        }
        jcc(self.asm, Cc::P, nan_l);
        self.load_fconst(w, lo);
        self.ucomi_scratch(w, x);
        jcc(self.asm, if lo_inclusive { Cc::B } else { Cc::Be }, under_l);
        self.load_fconst(w, hi);
        self.ucomi_scratch(w, x);
        jcc(self.asm, Cc::Ae, over_l);
        match (to64, signed, w) {
            (false, true, false) => asm!(self; cvttss2si Rd(d), Rx(x)),
            (false, true, true) => asm!(self; cvttsd2si Rd(d), Rx(x)),
            (false, false, false) => asm!(self; cvttss2si Rq(d), Rx(x) ; mov Rd(d), Rd(d)),
            (false, false, true) => asm!(self; cvttsd2si Rq(d), Rx(x) ; mov Rd(d), Rd(d)),
            (true, true, false) => asm!(self; cvttss2si Rq(d), Rx(x)),
            (true, true, true) => asm!(self; cvttsd2si Rq(d), Rx(x)),
            (true, false, _) => {
                let big = self.asm.new_dynamic_label();
                self.load_fconst(w, 9223372036854775808.0);
                self.ucomi_scratch(w, x);
                jcc(self.asm, Cc::Ae, big);
                if w {
                    asm!(self; cvttsd2si Rq(d), Rx(x) ; jmp =>done ; =>big ; subsd Rx(x), xmm15 ; cvttsd2si Rq(d), Rx(x) ; btc Rq(d), 63);
                } else {
                    asm!(self; cvttss2si Rq(d), Rx(x) ; jmp =>done ; =>big ; subss Rx(x), xmm15 ; cvttss2si Rq(d), Rx(x) ; btc Rq(d), 63);
                }
            }
        }
        if sat {
            let (min, max): (u64, u64) = match (to64, signed) {
                (false, true) => (i32::MIN as u32 as u64, i32::MAX as u64),
                (false, false) => (0, u32::MAX as u64),
                (true, true) => (i64::MIN as u64, i64::MAX as u64),
                (true, false) => (0, u64::MAX),
            };
            asm!(self; jmp =>done ; =>nan_l);
            mov_imm(self.asm, d, 0);
            asm!(self; jmp =>done ; =>under_l);
            mov_imm(self.asm, d, min);
            asm!(self; jmp =>done ; =>over_l);
            mov_imm(self.asm, d, max);
        }
        asm!(self; =>done);
        self.regs.clear(true, x);
        self.push_reg(to, d);
    }

    fn convert(&mut self, from: Ty, to: Ty, signed: bool) {
        let v = self.pop();
        let r = self.take_gpr(v);
        let x = self.alloc_xmm();
        let f64_ = to.is_64();
        asm!(self; xorps Rx(x), Rx(x));
        match (from.is_64(), signed) {
            (false, true) => {
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rd(r));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rd(r));
                }
            }
            (false, false) => {
                asm!(self; mov r11d, Rd(r));
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), r11);
                } else {
                    asm!(self; cvtsi2ss Rx(x), r11);
                }
            }
            (true, true) => {
                if f64_ {
                    asm!(self; cvtsi2sd Rx(x), Rq(r));
                } else {
                    asm!(self; cvtsi2ss Rx(x), Rq(r));
                }
            }
            (true, false) => crate::jit::x64::convert_u64_to_float(self.asm, x, r, f64_),
        }
        self.regs.clear(false, r);
        self.push_reg(to, x);
    }

    // ---- linear memory ----

    /// Leaves the effective address (minus `disp`) in r11 after the bounds check of explicit
    /// mode; returns the displacement for `[r13 + r11 + disp]`.
    fn address(&mut self, addr: Val, offset: u64, size: u32) -> i32 {
        match addr.loc {
            Loc::Const(c) => {
                let ea = (c as u32 as u64) + offset;
                mov_imm(self.asm, SCRATCH, ea);
            }
            Loc::Reg(r) => asm!(self; mov r11d, Rd(r)),
            _ => match self.cached_local(addr.loc) {
                Some(c) => asm!(self; mov r11d, Rd(c)),
                None => {
                    let d = self.disp_of(addr.loc).unwrap_or(0);
                    fpa!(self, d; {mov r11d, DWORD} {});
                }
            },
        }
        self.free(addr);
        let mut disp = if matches!(addr.loc, Loc::Const(_)) {
            0
        } else {
            offset
        };
        if disp + size as u64 > i32::MAX as u64 {
            mov_imm(self.asm, SCRATCH2, disp);
            asm!(self; add r11, r10);
            disp = 0;
        }
        if self.explicit {
            let end = (disp + size as u64) as i32;
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            asm!(self
                ; lea r10, [r11 + end]
                ; cmp r10, r12
                ; ja =>oob
            );
        }
        disp as i32
    }

    /// The memory index of an access (GC array targets do not validate here).
    fn memory_of(m: &MemArg) -> u32 {
        match m.target {
            wasmparser::MemArgTarget::Memory(i) => i,
            wasmparser::MemArgTarget::Array(_) => u32::MAX,
        }
    }

    /// `address` for any access: memory 0 of 32 bits takes the pinned fast path; another
    /// memory or a 64-bit one has its own base and length (docs/abi.md §2).
    fn access(&mut self, addr: Val, m: &MemArg, size: u32) -> i32 {
        let mem = Self::memory_of(m);
        if mem == 0 && !self.module.memories[0].memory64 {
            self.address(addr, m.offset, size)
        } else {
            self.address_of(addr, mem, m.offset, size)
        }
    }

    /// Leaves in r11 the address of the access relative to `r13` (the pinned memory 0 base)
    /// after the bounds check, for memory `mem` (any memory, 32- or 64-bit); returns the
    /// displacement for `[r13 + r11 + disp]`. Only r10 and r11 are used. A 64-bit memory is
    /// always checked explicitly: no guard region covers a 64-bit index (design.md §4).
    fn address_of(&mut self, addr: Val, mem: u32, offset: u64, size: u32) -> i32 {
        let wide = self.module.memories[mem as usize].memory64;
        match addr.loc {
            Loc::Const(c) => {
                let c = if wide { c } else { c as u32 as u64 };
                mov_imm(self.asm, SCRATCH, c);
            }
            Loc::Reg(r) if wide => asm!(self; mov r11, Rq(r)),
            Loc::Reg(r) => asm!(self; mov r11d, Rd(r)),
            _ => match self.cached_local(addr.loc) {
                Some(c) if wide => asm!(self; mov r11, Rq(c)),
                Some(c) => asm!(self; mov r11d, Rd(c)),
                None => {
                    let d = self.disp_of(addr.loc).unwrap_or(0);
                    if wide {
                        fpa!(self, d; {mov r11, QWORD} {});
                    } else {
                        fpa!(self, d; {mov r11d, DWORD} {});
                    }
                }
            },
        }
        self.free(addr);
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        let mut disp = offset;
        if wide || disp + size as u64 > i32::MAX as u64 {
            // The sum can pass 2^64 only for a 64-bit address: that is out of bounds.
            if offset != 0 {
                mov_imm(self.asm, SCRATCH2, offset);
                asm!(self; add r11, r10 ; jc =>oob);
            }
            disp = 0;
        }
        let l = off::MEMORY_LEN;
        let b = off::MEMORY_BASE;
        if wide || self.explicit {
            // len - end < ea (unsigned), or len < end: out of bounds.
            let end = (disp + size as u64) as i32;
            self.memory_definition(SCRATCH2, mem);
            asm!(self
                ; mov r10, QWORD [r10 + l]
                ; sub r10, end
                ; jb =>oob
                ; cmp r11, r10
                ; ja =>oob
            );
        }
        // Relative to r13, so the access keeps the one addressing form of every load and
        // store (r13 may be anything: the arithmetic wraps).
        self.memory_definition(SCRATCH2, mem);
        asm!(self
            ; mov r10, QWORD [r10 + b]
            ; sub r10, r13
            ; add r11, r10
        );
        disp as i32
    }

    fn load(&mut self, m: MemArg, ty: Ty, size: u32, kind: LoadKind) -> Result<(), String> {
        let addr = self.pop();
        let disp = self.access(addr, &m, size);
        if ty.is_float() {
            let x = self.alloc_xmm();
            match kind {
                LoadKind::F32 => {
                    mload!(self, disp; {movss Rx(x), DWORD} {})
                }
                _ => mload!(self, disp; {movsd Rx(x), QWORD} {}),
            }
            self.push_reg(ty, x);
        } else {
            let d = self.alloc_gpr();
            match kind {
                LoadKind::I32 => {
                    mload!(self, disp; {mov Rd(d), DWORD} {})
                }
                LoadKind::I64 => {
                    mload!(self, disp; {mov Rq(d), QWORD} {})
                }
                LoadKind::U8 => {
                    mload!(self, disp; {movzx Rd(d), BYTE} {})
                }
                LoadKind::U16 => {
                    mload!(self, disp; {movzx Rd(d), WORD} {})
                }
                LoadKind::S8_32 => {
                    mload!(self, disp; {movsx Rd(d), BYTE} {})
                }
                LoadKind::S16_32 => {
                    mload!(self, disp; {movsx Rd(d), WORD} {})
                }
                LoadKind::S8_64 => {
                    mload!(self, disp; {movsx Rq(d), BYTE} {})
                }
                LoadKind::S16_64 => {
                    mload!(self, disp; {movsx Rq(d), WORD} {})
                }
                LoadKind::S32_64 => {
                    mload!(self, disp; {movsxd Rq(d), DWORD} {})
                }
                LoadKind::F32 | LoadKind::F64 => unreachable!(),
            }
            self.push_reg(ty, d);
        }
        Ok(())
    }

    fn store(&mut self, m: MemArg, size: u32) -> Result<(), String> {
        let v = self.pop();
        let addr = self.pop();
        let disp = self.access(addr, &m, size);
        // The value: a register, an immediate, or loaded into r10 (free after the check).
        let src = match v.loc {
            Loc::Reg(r) => Opnd::Reg(r),
            Loc::Const(c) if size < 8 || fits_i32(c) => Opnd::Imm(c as i32),
            _ => {
                let iv = Val::new(if size == 8 { Ty::I64 } else { Ty::I32 }, v.loc);
                self.load_gpr_into(iv, SCRATCH2);
                Opnd::Reg(SCRATCH2)
            }
        };
        let float_reg = v.ty.is_float() && matches!(v.loc, Loc::Reg(_));
        match (src, size, float_reg) {
            (Opnd::Reg(r), 4, true) => {
                mload!(self, disp; {movss DWORD} {, Rx(r)})
            }
            (Opnd::Reg(r), 8, true) => {
                mload!(self, disp; {movsd QWORD} {, Rx(r)})
            }
            (Opnd::Reg(r), 1, _) => {
                mload!(self, disp; {mov BYTE} {, Rb(r)})
            }
            (Opnd::Reg(r), 2, _) => {
                mload!(self, disp; {mov WORD} {, Rw(r)})
            }
            (Opnd::Reg(r), 4, _) => {
                mload!(self, disp; {mov DWORD} {, Rd(r)})
            }
            (Opnd::Reg(r), _, _) => {
                mload!(self, disp; {mov QWORD} {, Rq(r)})
            }
            (Opnd::Imm(i), 1, _) => {
                mload!(self, disp; {mov BYTE} {, i as i8})
            }
            (Opnd::Imm(i), 2, _) => {
                mload!(self, disp; {mov WORD} {, i as i16})
            }
            (Opnd::Imm(i), 4, _) => {
                mload!(self, disp; {mov DWORD} {, i})
            }
            (Opnd::Imm(i), _, _) => {
                mload!(self, disp; {mov QWORD} {, i})
            }
            (Opnd::Mem(_), _, _) => unreachable!(),
        }
        self.free(v);
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
enum LoadKind {
    I32,
    I64,
    F32,
    F64,
    U8,
    U16,
    S8_32,
    S16_32,
    S8_64,
    S16_64,
    S32_64,
}

// After the macros above, which it uses.
mod pins;
mod simd;
