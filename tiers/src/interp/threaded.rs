//! Threaded dispatch for the interpreter's common instructions, with handlers written in
//! Rust: the executor's fast path before the generated ones of `asm/` (the default), kept for
//! comparison (`STRATA_INTERP_DISPATCH=rust`) and for builds without them.
//!
//! Every instruction kind that needs nothing but its frame slots, memory 0 and its own code
//! (arithmetic, comparisons, conversions, loads, stores, copies, `select` and branches) has a
//! handler here. A handler does its work and ends by calling the next instruction's handler
//! through `HANDLERS`, indexed by the next instruction's tag, as its last action with its own
//! signature: LLVM compiles that call to a `jmp` (a sibling call), so the host stack does not
//! grow and each handler has its own indirect-branch site, which the branch predictor learns
//! per instruction kind (a single central `jmp` sees the mix of all of them). The interpreter
//! state travels in argument registers: the instruction pointer, the frame base, memory 0's
//! base and length, and the running function.
//!
//! Anything else leaves: the `exit` handler, and any handler that meets an unusual case (a
//! trap to raise, a back-edge counter at its check point), returns the address of the
//! instruction it did not execute, touching nothing, and the executor's `match` runs that
//! instruction with the full semantics (`exec.rs`), then comes back here. So this module is a
//! fast path of the `match` loop, never a second source of traps or tiering decisions.
//!
//! Sibling calls are an optimisation, not a language guarantee: the test
//! `threaded_dispatch_keeps_the_stack_flat` runs every handler a million times on a small
//! host stack, and debug builds (where LLVM does not make sibling calls) use the `match`
//! loop alone (see `ENABLED`).

use super::code::{CompiledFunc, Op};
use super::numeric::*;
use super::raw::{CodeRef, MemView, Slots};
use std::hint::unreachable_unchecked;
use std::sync::atomic::Ordering::Relaxed;

/// Whether the executor uses threaded dispatch: optimised builds only (see the module doc),
/// and not when counting ops (`strata_opstats` counts in the `match` loop).
pub const ENABLED: bool = cfg!(not(any(debug_assertions, strata_opstats)));

/// A handler: runs the instruction at `ip` and the ones after it; returns the address of the
/// first instruction it leaves to the executor.
///
/// Contract (the executor's invariants, see `Slots`, `MemView` and `CodeRef`): `ip` points
/// at an instruction of `cx.ops` whose tag selects this handler; `s` is the frame of the
/// running function `cx`; `mem` is a view of the running instance's memory 0.
type Handler =
    unsafe extern "C" fn(ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc) -> *const Op;

/// One handler per instruction kind.
const TABLE: usize = Op::COUNT;

/// An instruction's tag: `Op` is `#[repr(u32)]`, so it starts with its discriminant.
const fn tag_of(op: &Op) -> usize {
    // SAFETY: a `#[repr(u32)]` enum with fields is a union of `#[repr(C)]` structs that all
    // start with the `u32` discriminant (RFC 2195), so the first four bytes are its tag.
    unsafe { *(op as *const Op as *const u32) as usize }
}

/// Runs threaded code from `pc` of `code` with frame `s` and memory view `mem`; returns the
/// pc of the first instruction left to the executor's `match`.
#[inline(always)]
pub fn run(code: CodeRef, pc: usize, s: Slots, mem: MemView) -> usize {
    let f = code.func();
    let base = f.ops.as_ptr();
    // SAFETY: `pc` is in range (`CodeRef::op`'s guarantee: the executor only holds pcs the
    // translator produced), `s` is the frame of `f` and `mem` the view of its instance's
    // memory 0 (the executor's invariants), which is the handlers' whole contract. An
    // instruction's tag is below `Op::COUNT`, the table's length. A handler returns a
    // pointer to an instruction of the same code, so the difference is its pc.
    unsafe {
        let ip = base.add(pc);
        let end = (*HANDLERS.get_unchecked(tag_of(&*ip)))(ip, s, mem, f);
        end.offset_from(base) as usize
    }
}

/// The handler of every instruction without one of its own: leaves it to the executor.
unsafe extern "C" fn exit(
    ip: *const Op,
    _s: Slots,
    _mem: MemView,
    _cx: &CompiledFunc,
) -> *const Op {
    ip
}

#[inline(always)]
fn b(v: bool) -> u64 {
    v as u64
}
#[inline(always)]
fn f32v(v: u64) -> f32 {
    f32::from_bits(v as u32)
}
#[inline(always)]
fn f64v(v: u64) -> f64 {
    f64::from_bits(v)
}
#[inline(always)]
fn r32(x: f32) -> u64 {
    x.to_bits() as u64
}
#[inline(always)]
fn r64(x: f64) -> u64 {
    x.to_bits()
}

/// Defines the handlers and the `HANDLERS` table. Each handler body runs inside one `unsafe`
/// block whose obligations are the `Handler` contract: it reads its own instruction (and,
/// for `select`, the extension word the translator always puts after it), and continues at
/// `ip + 1` (or a branch target of its own code, or `ip + 2` after an extension word), which
/// the translator guarantees is an instruction of the same code: the code ends with a
/// terminator and an `Unreachable` sentinel, and every branch target is patched in range.
macro_rules! handlers {
    (
        unary { $($un:ident |$ux:ident| $ue:expr;)* }
        binary { $($bin:ident |$bx:ident, $by:ident| $be:expr;)* }
        binary_imm { $($imm:ident |$ix:ident, $iy:ident| $ie:expr;)* }
        load { $($load:ident $ln:literal |$lb:ident| $le:expr;)* }
        store { $($store:ident |$sv:ident| $se:expr;)* }
        branch { $($br:ident |$rx:ident, $ry:ident| $re:expr;)* }
        branch_imm { $($bri:ident |$jx:ident, $jy:ident| $je:expr;)* }
        custom { $($custom:ident = $cop:expr;)* }
    ) => {
        #[allow(non_snake_case)]
        mod h {
            use super::*;

            $(
                pub unsafe extern "C" fn $un(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$un { dst, a } = *ip else { unreachable_unchecked() };
                        let $ux = s.get(a);
                        s.set(dst, $ue);
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
            $(
                pub unsafe extern "C" fn $bin(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$bin { dst, a, b } = *ip else { unreachable_unchecked() };
                        let ($bx, $by) = (s.get(a), s.get(b));
                        // `None`: a trap; the executor raises it.
                        let Some(v) = $be else { return ip };
                        s.set(dst, v);
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
            $(
                pub unsafe extern "C" fn $imm(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$imm { dst, a, imm } = *ip else { unreachable_unchecked() };
                        let ($ix, $iy) = (s.get(a), imm);
                        s.set(dst, $ie);
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
            $(
                pub unsafe extern "C" fn $load(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$load { dst, addr, offset } = *ip else { unreachable_unchecked() };
                        let Some($lb) = mem.get::<$ln>(s.get(addr), offset) else { return ip };
                        s.set(dst, $le);
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
            $(
                pub unsafe extern "C" fn $store(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$store { addr, val, offset } = *ip else { unreachable_unchecked() };
                        let $sv = s.get(val);
                        if !mem.put(s.get(addr), offset, $se) {
                            return ip;
                        }
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
            $(
                pub unsafe extern "C" fn $br(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$br { a, b, target } = *ip else { unreachable_unchecked() };
                        let ($rx, $ry) = (s.get(a), s.get(b));
                        if $re {
                            jump!(ip, target, s, mem, cx)
                        }
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
            $(
                pub unsafe extern "C" fn $bri(
                    ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc,
                ) -> *const Op {
                    // SAFETY: the `Handler` contract (see `handlers!`).
                    unsafe {
                        let Op::$bri { a, imm, target } = *ip else { unreachable_unchecked() };
                        let ($jx, $jy) = (s.get(a), imm as i64 as u64);
                        if $je {
                            jump!(ip, target, s, mem, cx)
                        }
                        next!(ip.add(1), s, mem, cx)
                    }
                }
            )*
        }

        static HANDLERS: [Handler; TABLE] = {
            let mut t: [Handler; TABLE] = [exit as Handler; TABLE];
            $(t[tag_of(&Op::$un { dst: 0, a: 0 })] = h::$un;)*
            $(t[tag_of(&Op::$bin { dst: 0, a: 0, b: 0 })] = h::$bin;)*
            $(t[tag_of(&Op::$imm { dst: 0, a: 0, imm: 0 })] = h::$imm;)*
            $(t[tag_of(&Op::$load { dst: 0, addr: 0, offset: 0 })] = h::$load;)*
            $(t[tag_of(&Op::$store { addr: 0, val: 0, offset: 0 })] = h::$store;)*
            $(t[tag_of(&Op::$br { a: 0, b: 0, target: 0 })] = h::$br;)*
            $(t[tag_of(&Op::$bri { a: 0, imm: 0, target: 0 })] = h::$bri;)*
            $(t[tag_of(&$cop)] = $custom;)*
            t
        };
    };
}

/// Tail-calls the handler of the instruction at `ip` (inside a handler's `unsafe` block,
/// whose obligations include that `ip` points at an instruction: its tag is below
/// `Op::COUNT`, the table's length, so the unchecked index is in bounds).
macro_rules! next {
    ($ip:expr, $s:expr, $mem:expr, $cx:expr) => {{
        let ip: *const Op = $ip;
        return (*HANDLERS.get_unchecked(tag_of(&*ip)))(ip, $s, $mem, $cx);
    }};
}

/// A taken branch from the instruction at `ip` to `target`. A backward one is a loop
/// iteration: it counts, and at the counter's check point it leaves the branch to the
/// executor, which counts it and asks the tier manager (`jump!` in exec.rs).
macro_rules! jump {
    ($ip:expr, $target:expr, $s:expr, $mem:expr, $cx:expr) => {{
        let t = $cx.ops.as_ptr().add($target as usize);
        if t <= $ip {
            let c = &$cx.counters;
            let n = c.backedges.load(Relaxed).wrapping_add(1);
            if n >= c.backedge_check.load(Relaxed) {
                return $ip;
            }
            c.backedges.store(n, Relaxed);
        }
        next!(t, $s, $mem, $cx)
    }};
}

unsafe extern "C" fn br(ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`).
    unsafe {
        let Op::Br { target } = *ip else {
            unreachable_unchecked()
        };
        jump!(ip, target, s, mem, cx)
    }
}

unsafe extern "C" fn br_if_nez(
    ip: *const Op,
    s: Slots,
    mem: MemView,
    cx: &CompiledFunc,
) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`).
    unsafe {
        let Op::BrIfNez { cond, target } = *ip else {
            unreachable_unchecked()
        };
        if s.get(cond) as u32 != 0 {
            jump!(ip, target, s, mem, cx)
        }
        next!(ip.add(1), s, mem, cx)
    }
}

unsafe extern "C" fn br_if_eqz(
    ip: *const Op,
    s: Slots,
    mem: MemView,
    cx: &CompiledFunc,
) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`).
    unsafe {
        let Op::BrIfEqz { cond, target } = *ip else {
            unreachable_unchecked()
        };
        if s.get(cond) as u32 == 0 {
            jump!(ip, target, s, mem, cx)
        }
        next!(ip.add(1), s, mem, cx)
    }
}

/// `BrTable` is followed by `len + 1` `Br` entries: go to the chosen one.
unsafe extern "C" fn br_table(
    ip: *const Op,
    s: Slots,
    mem: MemView,
    cx: &CompiledFunc,
) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`); the entries follow in the code.
    unsafe {
        let Op::BrTable { index, len } = *ip else {
            unreachable_unchecked()
        };
        let i = (s.get(index) as u32).min(len);
        next!(ip.add(1 + i as usize), s, mem, cx)
    }
}

unsafe extern "C" fn copy(ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`).
    unsafe {
        let Op::Copy { dst, src } = *ip else {
            unreachable_unchecked()
        };
        s.set(dst, s.get(src));
        next!(ip.add(1), s, mem, cx)
    }
}

unsafe extern "C" fn const32(
    ip: *const Op,
    s: Slots,
    mem: MemView,
    cx: &CompiledFunc,
) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`).
    unsafe {
        let Op::Const32 { dst, val } = *ip else {
            unreachable_unchecked()
        };
        s.set(dst, val as u64);
        next!(ip.add(1), s, mem, cx)
    }
}

unsafe extern "C" fn const64(
    ip: *const Op,
    s: Slots,
    mem: MemView,
    cx: &CompiledFunc,
) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`).
    unsafe {
        let Op::Const64 { dst, val } = *ip else {
            unreachable_unchecked()
        };
        s.set(dst, val);
        next!(ip.add(1), s, mem, cx)
    }
}

/// `Select` is followed by `Ext { a: cond }`.
unsafe extern "C" fn select(ip: *const Op, s: Slots, mem: MemView, cx: &CompiledFunc) -> *const Op {
    // SAFETY: the `Handler` contract (see `handlers!`); the translator always emits the
    // extension word right after `Select`.
    unsafe {
        let Op::Select { dst, a, b } = *ip else {
            unreachable_unchecked()
        };
        let Op::Ext { a: cond, .. } = *ip.add(1) else {
            unreachable_unchecked()
        };
        let v = if s.get(cond) as u32 != 0 {
            s.get(a)
        } else {
            s.get(b)
        };
        s.set(dst, v);
        next!(ip.add(2), s, mem, cx)
    }
}

/// Division and remainder: `None` on the inputs that trap.
#[inline(always)]
fn div_ok_s32(x: u64, y: u64) -> bool {
    !(y as i32 == 0 || (x as i32 == i32::MIN && y as i32 == -1))
}
#[inline(always)]
fn div_ok_s64(x: u64, y: u64) -> bool {
    !(y as i64 == 0 || (x as i64 == i64::MIN && y as i64 == -1))
}

handlers! {
    unary {
        I32Eqz |x| b(x as u32 == 0);
        I64Eqz |x| b(x == 0);
        I32Clz |x| (x as u32).leading_zeros() as u64;
        I32Ctz |x| (x as u32).trailing_zeros() as u64;
        I32Popcnt |x| (x as u32).count_ones() as u64;
        I64Clz |x| x.leading_zeros() as u64;
        I64Ctz |x| x.trailing_zeros() as u64;
        I64Popcnt |x| x.count_ones() as u64;
        F32Abs |x| (x as u32 & 0x7fff_ffff) as u64;
        F32Neg |x| (x as u32 ^ 0x8000_0000) as u64;
        F32Ceil |x| r32(f32_quiet(f32v(x).ceil()));
        F32Floor |x| r32(f32_quiet(f32v(x).floor()));
        F32Trunc |x| r32(f32_quiet(f32v(x).trunc()));
        F32Nearest |x| r32(f32_quiet(f32v(x).round_ties_even()));
        F32Sqrt |x| r32(f32v(x).sqrt());
        F64Abs |x| x & 0x7fff_ffff_ffff_ffff;
        F64Neg |x| x ^ 0x8000_0000_0000_0000;
        F64Ceil |x| r64(f64_quiet(f64v(x).ceil()));
        F64Floor |x| r64(f64_quiet(f64v(x).floor()));
        F64Trunc |x| r64(f64_quiet(f64v(x).trunc()));
        F64Nearest |x| r64(f64_quiet(f64v(x).round_ties_even()));
        F64Sqrt |x| r64(f64v(x).sqrt());
        I32WrapI64 |x| x as u32 as u64;
        I64ExtendI32S |x| x as i32 as i64 as u64;
        I64ExtendI32U |x| x as u32 as u64;
        F32ConvertI32S |x| r32(x as i32 as f32);
        F32ConvertI32U |x| r32(x as u32 as f32);
        F32ConvertI64S |x| r32(x as i64 as f32);
        F32ConvertI64U |x| r32(x as f32);
        F32DemoteF64 |x| r32(f64v(x) as f32);
        F64ConvertI32S |x| r64(x as i32 as f64);
        F64ConvertI32U |x| r64(x as u32 as f64);
        F64ConvertI64S |x| r64(x as i64 as f64);
        F64ConvertI64U |x| r64(x as f64);
        F64PromoteF32 |x| r64(f32v(x) as f64);
        I32Extend8S |x| x as i8 as i32 as u32 as u64;
        I32Extend16S |x| x as i16 as i32 as u32 as u64;
        I64Extend8S |x| x as i8 as i64 as u64;
        I64Extend16S |x| x as i16 as i64 as u64;
        I64Extend32S |x| x as i32 as i64 as u64;
        // Rust's float-to-int `as` saturates and maps NaN to 0: exactly trunc_sat.
        I32TruncSatF32S |x| f32v(x) as i32 as u32 as u64;
        I32TruncSatF32U |x| f32v(x) as u32 as u64;
        I32TruncSatF64S |x| f64v(x) as i32 as u32 as u64;
        I32TruncSatF64U |x| f64v(x) as u32 as u64;
        I64TruncSatF32S |x| f32v(x) as i64 as u64;
        I64TruncSatF32U |x| f32v(x) as u64;
        I64TruncSatF64S |x| f64v(x) as i64 as u64;
        I64TruncSatF64U |x| f64v(x) as u64;
    }
    binary {
        I32Eq |x, y| Some(b(x as u32 == y as u32));
        I32Ne |x, y| Some(b(x as u32 != y as u32));
        I32LtS |x, y| Some(b((x as i32) < y as i32));
        I32LtU |x, y| Some(b((x as u32) < y as u32));
        I32GtS |x, y| Some(b(x as i32 > y as i32));
        I32GtU |x, y| Some(b(x as u32 > y as u32));
        I32LeS |x, y| Some(b(x as i32 <= y as i32));
        I32LeU |x, y| Some(b(x as u32 <= y as u32));
        I32GeS |x, y| Some(b(x as i32 >= y as i32));
        I32GeU |x, y| Some(b(x as u32 >= y as u32));
        I64Eq |x, y| Some(b(x == y));
        I64Ne |x, y| Some(b(x != y));
        I64LtS |x, y| Some(b((x as i64) < y as i64));
        I64LtU |x, y| Some(b(x < y));
        I64GtS |x, y| Some(b(x as i64 > y as i64));
        I64GtU |x, y| Some(b(x > y));
        I64LeS |x, y| Some(b(x as i64 <= y as i64));
        I64LeU |x, y| Some(b(x <= y));
        I64GeS |x, y| Some(b(x as i64 >= y as i64));
        I64GeU |x, y| Some(b(x >= y));
        F32Eq |x, y| Some(b(f32v(x) == f32v(y)));
        F32Ne |x, y| Some(b(f32v(x) != f32v(y)));
        F32Lt |x, y| Some(b(f32v(x) < f32v(y)));
        F32Gt |x, y| Some(b(f32v(x) > f32v(y)));
        F32Le |x, y| Some(b(f32v(x) <= f32v(y)));
        F32Ge |x, y| Some(b(f32v(x) >= f32v(y)));
        F64Eq |x, y| Some(b(f64v(x) == f64v(y)));
        F64Ne |x, y| Some(b(f64v(x) != f64v(y)));
        F64Lt |x, y| Some(b(f64v(x) < f64v(y)));
        F64Gt |x, y| Some(b(f64v(x) > f64v(y)));
        F64Le |x, y| Some(b(f64v(x) <= f64v(y)));
        F64Ge |x, y| Some(b(f64v(x) >= f64v(y)));
        I32Add |x, y| Some((x as u32).wrapping_add(y as u32) as u64);
        I32Sub |x, y| Some((x as u32).wrapping_sub(y as u32) as u64);
        I32Mul |x, y| Some((x as u32).wrapping_mul(y as u32) as u64);
        I32DivS |x, y| div_ok_s32(x, y).then(|| (x as i32).wrapping_div(y as i32) as u32 as u64);
        I32DivU |x, y| (x as u32).checked_div(y as u32).map(|v| v as u64);
        I32RemS |x, y| (y as i32 != 0).then(|| (x as i32).wrapping_rem(y as i32) as u32 as u64);
        I32RemU |x, y| (x as u32).checked_rem(y as u32).map(|v| v as u64);
        I32And |x, y| Some((x as u32 & y as u32) as u64);
        I32Or |x, y| Some((x as u32 | y as u32) as u64);
        I32Xor |x, y| Some((x as u32 ^ y as u32) as u64);
        I32Shl |x, y| Some((x as u32).wrapping_shl(y as u32) as u64);
        I32ShrS |x, y| Some((x as i32).wrapping_shr(y as u32) as u32 as u64);
        I32ShrU |x, y| Some((x as u32).wrapping_shr(y as u32) as u64);
        I32Rotl |x, y| Some((x as u32).rotate_left(y as u32) as u64);
        I32Rotr |x, y| Some((x as u32).rotate_right(y as u32) as u64);
        I64Add |x, y| Some(x.wrapping_add(y));
        I64Sub |x, y| Some(x.wrapping_sub(y));
        I64Mul |x, y| Some(x.wrapping_mul(y));
        I64DivS |x, y| div_ok_s64(x, y).then(|| (x as i64).wrapping_div(y as i64) as u64);
        I64DivU |x, y| x.checked_div(y);
        I64RemS |x, y| (y != 0).then(|| (x as i64).wrapping_rem(y as i64) as u64);
        I64RemU |x, y| x.checked_rem(y);
        I64And |x, y| Some(x & y);
        I64Or |x, y| Some(x | y);
        I64Xor |x, y| Some(x ^ y);
        I64Shl |x, y| Some(x.wrapping_shl(y as u32));
        I64ShrS |x, y| Some((x as i64).wrapping_shr(y as u32) as u64);
        I64ShrU |x, y| Some(x.wrapping_shr(y as u32));
        I64Rotl |x, y| Some(x.rotate_left((y & 63) as u32));
        I64Rotr |x, y| Some(x.rotate_right((y & 63) as u32));
        F32Add |x, y| Some(r32(f32v(x) + f32v(y)));
        F32Sub |x, y| Some(r32(f32v(x) - f32v(y)));
        F32Mul |x, y| Some(r32(f32v(x) * f32v(y)));
        F32Div |x, y| Some(r32(f32v(x) / f32v(y)));
        F32Min |x, y| Some(r32(f32_min(f32v(x), f32v(y))));
        F32Max |x, y| Some(r32(f32_max(f32v(x), f32v(y))));
        F32Copysign |x, y| Some(f32_copysign(x as u32, y as u32) as u64);
        F64Add |x, y| Some(r64(f64v(x) + f64v(y)));
        F64Sub |x, y| Some(r64(f64v(x) - f64v(y)));
        F64Mul |x, y| Some(r64(f64v(x) * f64v(y)));
        F64Div |x, y| Some(r64(f64v(x) / f64v(y)));
        F64Min |x, y| Some(r64(f64_min(f64v(x), f64v(y))));
        F64Max |x, y| Some(r64(f64_max(f64v(x), f64v(y))));
        F64Copysign |x, y| Some(f64_copysign(x, y));
    }
    binary_imm {
        I32EqImm |x, i| b(x as u32 == i as u32);
        I32NeImm |x, i| b(x as u32 != i as u32);
        I32LtSImm |x, i| b((x as i32) < i);
        I32LtUImm |x, i| b((x as u32) < i as u32);
        I32GtSImm |x, i| b(x as i32 > i);
        I32GtUImm |x, i| b(x as u32 > i as u32);
        I32LeSImm |x, i| b(x as i32 <= i);
        I32LeUImm |x, i| b(x as u32 <= i as u32);
        I32GeSImm |x, i| b(x as i32 >= i);
        I32GeUImm |x, i| b(x as u32 >= i as u32);
        I64EqImm |x, i| b(x as i64 == i as i64);
        I64NeImm |x, i| b(x as i64 != i as i64);
        I64LtSImm |x, i| b((x as i64) < i as i64);
        I64LtUImm |x, i| b(x < i as i64 as u64);
        I64GtSImm |x, i| b(x as i64 > i as i64);
        I64GtUImm |x, i| b(x > i as i64 as u64);
        I64LeSImm |x, i| b(x as i64 <= i as i64);
        I64LeUImm |x, i| b(x <= i as i64 as u64);
        I64GeSImm |x, i| b(x as i64 >= i as i64);
        I64GeUImm |x, i| b(x >= i as i64 as u64);
        I32AddImm |x, i| (x as u32).wrapping_add(i as u32) as u64;
        I32MulImm |x, i| (x as u32).wrapping_mul(i as u32) as u64;
        I32AndImm |x, i| (x as u32 & i as u32) as u64;
        I32OrImm |x, i| (x as u32 | i as u32) as u64;
        I32XorImm |x, i| (x as u32 ^ i as u32) as u64;
        I32ShlImm |x, i| (x as u32).wrapping_shl(i as u32) as u64;
        I32ShrSImm |x, i| (x as i32).wrapping_shr(i as u32) as u32 as u64;
        I32ShrUImm |x, i| (x as u32).wrapping_shr(i as u32) as u64;
        I32RotlImm |x, i| (x as u32).rotate_left(i as u32) as u64;
        I32RotrImm |x, i| (x as u32).rotate_right(i as u32) as u64;
        I64AddImm |x, i| x.wrapping_add(i as i64 as u64);
        I64MulImm |x, i| x.wrapping_mul(i as i64 as u64);
        I64AndImm |x, i| x & i as i64 as u64;
        I64OrImm |x, i| x | i as i64 as u64;
        I64XorImm |x, i| x ^ i as i64 as u64;
        I64ShlImm |x, i| x.wrapping_shl(i as u32);
        I64ShrSImm |x, i| (x as i64).wrapping_shr(i as u32) as u64;
        I64ShrUImm |x, i| x.wrapping_shr(i as u32);
        I64RotlImm |x, i| x.rotate_left(i as u32 & 63);
        I64RotrImm |x, i| x.rotate_right(i as u32 & 63);
    }
    load {
        I32Load 4 |v| u32::from_le_bytes(v) as u64;
        I64Load 8 |v| u64::from_le_bytes(v);
        F32Load 4 |v| u32::from_le_bytes(v) as u64;
        F64Load 8 |v| u64::from_le_bytes(v);
        I32Load8S 1 |v| v[0] as i8 as i32 as u32 as u64;
        I32Load8U 1 |v| v[0] as u64;
        I32Load16S 2 |v| i16::from_le_bytes(v) as i32 as u32 as u64;
        I32Load16U 2 |v| u16::from_le_bytes(v) as u64;
        I64Load8S 1 |v| v[0] as i8 as i64 as u64;
        I64Load8U 1 |v| v[0] as u64;
        I64Load16S 2 |v| i16::from_le_bytes(v) as i64 as u64;
        I64Load16U 2 |v| u16::from_le_bytes(v) as u64;
        I64Load32S 4 |v| i32::from_le_bytes(v) as i64 as u64;
        I64Load32U 4 |v| u32::from_le_bytes(v) as u64;
    }
    store {
        I32Store |v| (v as u32).to_le_bytes();
        I64Store |v| v.to_le_bytes();
        F32Store |v| (v as u32).to_le_bytes();
        F64Store |v| v.to_le_bytes();
        I32Store8 |v| [v as u8];
        I32Store16 |v| (v as u16).to_le_bytes();
        I64Store8 |v| [v as u8];
        I64Store16 |v| (v as u16).to_le_bytes();
        I64Store32 |v| (v as u32).to_le_bytes();
    }
    branch {
        BrI32Eq |x, y| x as u32 == y as u32;
        BrI32Ne |x, y| x as u32 != y as u32;
        BrI32LtS |x, y| (x as i32) < y as i32;
        BrI32LtU |x, y| (x as u32) < y as u32;
        BrI32GtS |x, y| x as i32 > y as i32;
        BrI32GtU |x, y| x as u32 > y as u32;
        BrI32LeS |x, y| x as i32 <= y as i32;
        BrI32LeU |x, y| x as u32 <= y as u32;
        BrI32GeS |x, y| x as i32 >= y as i32;
        BrI32GeU |x, y| x as u32 >= y as u32;
        BrI64Eq |x, y| x == y;
        BrI64Ne |x, y| x != y;
        BrI64LtS |x, y| (x as i64) < y as i64;
        BrI64LtU |x, y| x < y;
        BrI64GtS |x, y| x as i64 > y as i64;
        BrI64GtU |x, y| x > y;
        BrI64LeS |x, y| x as i64 <= y as i64;
        BrI64LeU |x, y| x <= y;
        BrI64GeS |x, y| x as i64 >= y as i64;
        BrI64GeU |x, y| x >= y;
    }
    // The immediate arrives sign-extended to 64 bits.
    branch_imm {
        BrI32EqImm |x, y| x as u32 == y as u32;
        BrI32NeImm |x, y| x as u32 != y as u32;
        BrI32LtSImm |x, y| (x as i32) < y as i32;
        BrI32LtUImm |x, y| (x as u32) < y as u32;
        BrI32GtSImm |x, y| x as i32 > y as i32;
        BrI32GtUImm |x, y| x as u32 > y as u32;
        BrI32LeSImm |x, y| x as i32 <= y as i32;
        BrI32LeUImm |x, y| x as u32 <= y as u32;
        BrI32GeSImm |x, y| x as i32 >= y as i32;
        BrI32GeUImm |x, y| x as u32 >= y as u32;
        BrI64EqImm |x, y| x == y;
        BrI64NeImm |x, y| x != y;
        BrI64LtSImm |x, y| (x as i64) < y as i64;
        BrI64LtUImm |x, y| x < y;
        BrI64GtSImm |x, y| x as i64 > y as i64;
        BrI64GtUImm |x, y| x > y;
        BrI64LeSImm |x, y| x as i64 <= y as i64;
        BrI64LeUImm |x, y| x <= y;
        BrI64GeSImm |x, y| x as i64 >= y as i64;
        BrI64GeUImm |x, y| x >= y;
    }
    custom {
        br = Op::Br { target: 0 };
        br_if_nez = Op::BrIfNez { cond: 0, target: 0 };
        br_if_eqz = Op::BrIfEqz { cond: 0, target: 0 };
        br_table = Op::BrTable { index: 0, len: 0 };
        copy = Op::Copy { dst: 0, src: 0 };
        const32 = Op::Const32 { dst: 0, val: 0 };
        const64 = Op::Const64 { dst: 0, val: 0 };
        select = Op::Select { dst: 0, a: 0, b: 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_fit_the_table() {
        assert_eq!(tag_of(&Op::Unreachable), 0);
        assert_eq!(
            tag_of(&Op::BrI64GeUImm {
                a: 0,
                imm: 0,
                target: 0
            }),
            TABLE - 1
        );
    }
}
