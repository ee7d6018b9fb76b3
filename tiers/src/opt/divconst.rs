//! Integer division and remainder by a constant without `div` (docs/abi.md §8).
//!
//! `div` takes 10 to 40 cycles; a multiplication by a "magic" reciprocal and a shift take
//! about 4 (Granlund and Montgomery, "Division by invariant integers using
//! multiplication", 1994). Which form a divisor gets is decided here, as plain arithmetic
//! the tests check against real division; `emit.rs` writes the same steps as x86.
//!
//! The reciprocal: for x in [0, 2^r) and d not a power of two, with
//! m = floor(2^(r+s) / d) + 1 and e = m*d - 2^(r+s), if e <= 2^s then
//! floor(x*m / 2^(r+s)) = floor(x / d) for every such x (the error x*e / (d * 2^(r+s)) stays
//! below 1/d, less than the gap to the next multiple of d). Unsigned division uses r = N
//! (the width), signed uses r = N-1 on |x| <= 2^(N-1): floor(x*m / 2^(r+s)) + (x < 0) is then
//! x/d truncated, and a negative divisor negates the quotient. The smallest such s gives
//! the smallest m; s = ceil(log2 d) always works.

/// How a division or remainder by a constant is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// |d| = 1: the quotient is x (negated for d = -1, which is never planned: it traps on
    /// MIN and keeps `idiv`), the remainder 0.
    One,
    /// |d| = 2^k: shifts and masks (signed: rounded toward zero by a bias on negative x).
    Pow2 { k: u32 },
    /// Unsigned d above 2^(N-1): the quotient is `x >= d`.
    Compare,
    /// The reciprocal `m` (up to 65 bits unsigned, 64 signed) and shift `s` above.
    Magic { m: u128, s: u32 },
}

/// A division or remainder by a constant: its plan, and for signed division whether the
/// divisor is negative (the quotient is negated; the remainder takes the dividend's sign
/// either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConstDiv {
    pub plan: Plan,
    pub negative: bool,
}

/// The plan for dividing `bits`-wide integers (32 or 64) by `d` (its bits, sign-extended
/// for i32), or `None` where `div`/`idiv` stays: d = 0 always traps, and signed d = -1
/// traps on MIN.
pub fn plan(signed: bool, bits: u32, d: i64) -> Option<ConstDiv> {
    let mask = if bits == 32 {
        u32::MAX as u64
    } else {
        u64::MAX
    };
    let raw = d as u64 & mask;
    if raw == 0 || (signed && raw == mask) {
        return None;
    }
    let (negative, abs) = if signed {
        let v = if bits == 32 { d as i32 as i64 } else { d };
        (v < 0, v.unsigned_abs())
    } else {
        (false, raw)
    };
    let plan = if abs == 1 {
        Plan::One
    } else if abs.is_power_of_two() {
        Plan::Pow2 {
            k: abs.trailing_zeros(),
        }
    } else if !signed && abs > 1 << (bits - 1) {
        Plan::Compare
    } else {
        // A 64-bit signed quotient shifts the high half of a 128-bit product by s - 1.
        let s_min = u32::from(signed && bits == 64);
        let r = if signed { bits - 1 } else { bits };
        let (m, s) = magic(r, abs, s_min)?;
        Plan::Magic { m, s }
    };
    Some(ConstDiv { plan, negative })
}

/// The smallest shift s >= `s_min` (and its m) for which the reciprocal of `d` is exact on
/// [0, 2^r): see the module comment. `d` is at least 3, not a power of two, and at most
/// 2^(r-1) for r = 64 (`Plan::Compare` takes the rest), so 2^(r+s) fits in a u128.
fn magic(r: u32, d: u64, s_min: u32) -> Option<(u128, u32)> {
    let l = 64 - (d - 1).leading_zeros();
    (s_min..=l).find_map(|s| {
        let p = 1u128.checked_shl(r + s)?;
        let m = p / u128::from(d) + 1;
        let e = m * u128::from(d) - p;
        (e <= 1u128 << s).then_some((m, s))
    })
}

/// Whether the steps need a second scratch register besides r11 (`emit.rs` uses the
/// result's, defined early so it is not the dividend's): a 64-bit divisor or mask past an
/// `imm32` outside the 64-bit reciprocal (which has rdx).
pub fn needs_scratch(c: ConstDiv, bits: u32, rem: bool) -> bool {
    match c.plan {
        Plan::One => false,
        Plan::Pow2 { k } => bits == 64 && rem && k >= 32,
        Plan::Compare => bits == 64,
        // A 32-bit multiplier of 2^31 or more is applied as m - 2^32 (`emit.rs`, `mulhi_r11`).
        Plan::Magic { .. } => false,
    }
}

/// The steps `emit.rs` takes, in Rust: `x` is the dividend's bits (an i32's in the low
/// half), the result is the quotient's or remainder's bits.
#[cfg(test)]
pub fn evaluate(c: ConstDiv, signed: bool, bits: u32, rem: bool, d: i64, x: u64) -> u64 {
    let mask = if bits == 32 {
        u32::MAX as u64
    } else {
        u64::MAX
    };
    let x = x & mask;
    let sx = if bits == 32 {
        x as u32 as i32 as i64
    } else {
        x as i64
    };
    let q: u64 = match c.plan {
        Plan::One => x,
        Plan::Compare => u64::from(x >= d as u64 & mask),
        Plan::Pow2 { k } if !signed => x >> k,
        Plan::Pow2 { k } => {
            let bias = ((sx >> (bits - 1)) as u64 & mask) >> (bits - k);
            let q = ((x.wrapping_add(bias) & mask) as i64) << (64 - bits) >> (64 - bits + k);
            q as u64 & mask
        }
        Plan::Magic { m, s } if !signed && bits == 32 => {
            // floor(x * mm / 2^32) for mm below 2^32, as `mulhi_r11` computes it at 2^31 and up.
            let mulhi = |mm: u64| {
                if mm < 1 << 31 {
                    (x * mm) >> 32
                } else {
                    (((x as i64 * (mm as i64 - (1 << 32))) >> 32) as u64).wrapping_add(x) & mask
                }
            };
            if m < 1 << 31 {
                (x * m as u64) >> (32 + s)
            } else if m >> 32 == 0 {
                mulhi(m as u64) >> s
            } else {
                let t = mulhi(m as u64 & mask);
                ((x + t) >> 1) >> (s - 1)
            }
        }
        Plan::Magic { m, s } if !signed => {
            if m >> 64 == 0 {
                ((u128::from(x) * m) >> 64) as u64 >> s
            } else {
                let t = ((u128::from(x) * (m & u128::from(u64::MAX))) >> 64) as u64;
                (((x - t) >> 1) + t) >> (s - 1)
            }
        }
        Plan::Magic { m, s } if bits == 32 => {
            let q = if m < 1 << 31 {
                (sx * m as i64) >> (31 + s)
            } else {
                assert!(
                    s >= 1,
                    "a 32-bit signed multiplier of 2^31 or more has s >= 1"
                );
                let hi = ((sx * (m as i64 - (1 << 32))) >> 32) as i32;
                i64::from(hi.wrapping_add(sx as i32) >> (s - 1))
            };
            (q + i64::from(sx < 0)) as u64 & mask
        }
        Plan::Magic { m, s } => {
            // High half of the signed 128-bit product with m as a signed 64-bit value, plus x
            // when m's top bit made that value negative.
            let mm = m as u64 as i64;
            let mut hi = ((i128::from(sx) * i128::from(mm)) >> 64) as i64;
            if mm < 0 {
                hi = hi.wrapping_add(sx);
            }
            ((hi >> (s - 1)) + i64::from(sx < 0)) as u64
        }
    };
    let q = if c.negative {
        q.wrapping_neg() & mask
    } else {
        q
    };
    if rem {
        x.wrapping_sub(q.wrapping_mul(d as u64)) & mask
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Divisors: small ones, powers of two and their neighbours, and large ones.
    fn divisors(bits: u32) -> Vec<i64> {
        let mut v: Vec<i64> = (-300..=300).collect();
        for k in 1..bits {
            for d in [-1i64, 0, 1] {
                let p = (1i64 << k).wrapping_add(d);
                v.extend([p, p.wrapping_neg()]);
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..400 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v.push((seed >> (seed >> 58)) as i64);
            v.push(seed as i64);
        }
        v.extend([
            i64::MIN,
            i64::MAX,
            i32::MIN as i64,
            i32::MAX as i64,
            u32::MAX as i64,
            7,
            10,
            1_000_000_007,
            641,
            6_700_417,
        ]);
        if bits == 32 {
            v.iter_mut().for_each(|d| *d = *d as i32 as i64);
        }
        v
    }

    /// Dividends: the edges of both signednesses and a spread between.
    fn dividends(bits: u32, d: i64) -> Vec<u64> {
        let mut v: Vec<u64> = vec![0, 1, 2, 3];
        let top = if bits == 32 { 1u64 << 31 } else { 1u64 << 63 };
        let mask = if bits == 32 {
            u32::MAX as u64
        } else {
            u64::MAX
        };
        for base in [top, 0, mask, d as u64, (d as u64).wrapping_mul(3)] {
            for k in 0..4u64 {
                v.push(base.wrapping_add(k));
                v.push(base.wrapping_sub(k));
            }
        }
        let mut seed = d as u64 ^ 0x2545_f491_4f6c_dd1d;
        for _ in 0..64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            v.push(seed >> (seed & 63));
            v.push(seed);
        }
        v.iter().map(|x| x & mask).collect()
    }

    fn reference(signed: bool, bits: u32, rem: bool, d: i64, x: u64) -> u64 {
        match (signed, bits) {
            (false, 32) => {
                let (x, d) = (x as u32, d as u32);
                u64::from(if rem { x % d } else { x / d })
            }
            (false, _) => {
                let d = d as u64;
                if rem {
                    x % d
                } else {
                    x / d
                }
            }
            (true, 32) => {
                let (x, d) = (x as u32 as i32, d as i32);
                let r = if rem {
                    x.wrapping_rem(d)
                } else {
                    x.wrapping_div(d)
                };
                r as u32 as u64
            }
            (true, _) => {
                let (x, d) = (x as i64, d);
                (if rem {
                    x.wrapping_rem(d)
                } else {
                    x.wrapping_div(d)
                }) as u64
            }
        }
    }

    #[test]
    fn every_plan_divides_exactly() {
        for bits in [32, 64] {
            for signed in [false, true] {
                for d in divisors(bits) {
                    let Some(c) = plan(signed, bits, d) else {
                        let raw = d as u64
                            & if bits == 32 {
                                u32::MAX as u64
                            } else {
                                u64::MAX
                            };
                        assert!(raw == 0 || (signed && d == -1), "{signed} {bits} {d}");
                        continue;
                    };
                    for x in dividends(bits, d) {
                        for rem in [false, true] {
                            assert_eq!(
                                evaluate(c, signed, bits, rem, d, x),
                                reference(signed, bits, rem, d, x),
                                "signed {signed} bits {bits} rem {rem} d {d} x {x:#x} plan {c:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn small_dividends_exhaustively_for_small_divisors() {
        for d in 2..200i64 {
            for x in 0..=0xffffu64 {
                for (signed, xv) in [(false, x), (true, (x as i16 as i64) as u64)] {
                    let c = plan(signed, 32, d).unwrap();
                    for rem in [false, true] {
                        assert_eq!(
                            evaluate(c, signed, 32, rem, d, xv),
                            reference(signed, 32, rem, d, xv),
                            "d {d} x {xv:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_shapes_are_the_known_ones() {
        // x / 10 (u32): m = 0xcccccccd, s = 3, as compilers emit it.
        assert_eq!(
            plan(false, 32, 10).unwrap().plan,
            Plan::Magic {
                m: 0xcccc_cccd,
                s: 3
            }
        );
        // x / 7 (u32) needs the 33-bit reciprocal.
        assert!(matches!(plan(false, 32, 7).unwrap().plan, Plan::Magic { m, .. } if m >> 32 == 1));
        assert_eq!(plan(false, 32, 1 << 20).unwrap().plan, Plan::Pow2 { k: 20 });
        assert_eq!(plan(false, 32, -3).unwrap().plan, Plan::Compare);
        assert_eq!(plan(true, 32, -1), None);
        assert_eq!(plan(true, 64, 0), None);
        assert_eq!(
            plan(false, 32, 1 << 32),
            None,
            "an i32 divisor is its low 32 bits"
        );
        let c = plan(true, 32, i32::MIN as i64).unwrap();
        assert_eq!((c.plan, c.negative), (Plan::Pow2 { k: 31 }, true));
    }
}
