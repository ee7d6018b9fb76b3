//! Wasm numeric semantics that Rust's operators do not give directly: trapping float-to-int
//! conversions, NaN-propagating min/max, and bit-exact sign operations.

use strata_vm::{Trap, TrapCode};

macro_rules! trunc {
    ($name:ident, $f:ty, $i:ty, $lo:expr, $hi:expr) => {
        /// Trapping truncation: NaN is an invalid conversion, out of range an overflow.
        /// `lo` (inclusive) and `hi` (exclusive) are powers of two, exact in both widths.
        #[inline]
        pub fn $name(x: $f) -> Result<$i, Trap> {
            if x.is_nan() {
                return Err(TrapCode::BadConversionToInteger.into());
            }
            let t = x.trunc();
            if ($lo..$hi).contains(&t) {
                Ok(t as $i)
            } else {
                Err(TrapCode::IntegerOverflow.into())
            }
        }
    };
}

trunc!(i32_trunc_f32_s, f32, i32, -2147483648.0, 2147483648.0);
trunc!(i32_trunc_f32_u, f32, u32, 0.0, 4294967296.0);
trunc!(i32_trunc_f64_s, f64, i32, -2147483648.0, 2147483648.0);
trunc!(i32_trunc_f64_u, f64, u32, 0.0, 4294967296.0);
trunc!(
    i64_trunc_f32_s,
    f32,
    i64,
    -9223372036854775808.0,
    9223372036854775808.0
);
trunc!(i64_trunc_f32_u, f32, u64, 0.0, 18446744073709551616.0);
trunc!(
    i64_trunc_f64_s,
    f64,
    i64,
    -9223372036854775808.0,
    9223372036854775808.0
);
trunc!(i64_trunc_f64_u, f64, u64, 0.0, 18446744073709551616.0);

macro_rules! minmax {
    ($min:ident, $max:ident, $f:ty) => {
        /// NaN if either operand is NaN; -0 is below +0.
        #[inline]
        pub fn $min(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                return a + b;
            }
            if a == b {
                // Equal values: differ only for zeros; prefer the negative one.
                return <$f>::from_bits(a.to_bits() | b.to_bits());
            }
            if a < b {
                a
            } else {
                b
            }
        }

        #[inline]
        pub fn $max(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                return a + b;
            }
            if a == b {
                return <$f>::from_bits(a.to_bits() & b.to_bits());
            }
            if a > b {
                a
            } else {
                b
            }
        }
    };
}

minmax!(f32_min, f32_max, f32);
minmax!(f64_min, f64_max, f64);

/// Rounding functions pass a signalling NaN through unchanged; wasm wants it quieted.
#[inline]
pub fn f32_quiet(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}

#[inline]
pub fn f64_quiet(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

#[inline]
pub fn f32_copysign(a: u32, b: u32) -> u32 {
    (a & 0x7fff_ffff) | (b & 0x8000_0000)
}

#[inline]
pub fn f64_copysign(a: u64, b: u64) -> u64 {
    (a & 0x7fff_ffff_ffff_ffff) | (b & 0x8000_0000_0000_0000)
}

#[inline]
pub fn i32_div_s(a: i32, b: i32) -> Result<i32, Trap> {
    if b == 0 {
        return Err(TrapCode::IntegerDivisionByZero.into());
    }
    a.checked_div(b)
        .ok_or_else(|| TrapCode::IntegerOverflow.into())
}

#[inline]
pub fn i64_div_s(a: i64, b: i64) -> Result<i64, Trap> {
    if b == 0 {
        return Err(TrapCode::IntegerDivisionByZero.into());
    }
    a.checked_div(b)
        .ok_or_else(|| TrapCode::IntegerOverflow.into())
}

#[inline]
pub fn nonzero<T: PartialEq + Default>(b: T) -> Result<T, Trap> {
    if b == T::default() {
        Err(TrapCode::IntegerDivisionByZero.into())
    } else {
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunc_bounds() {
        assert_eq!(i32_trunc_f32_s(-2147483648.0).unwrap(), i32::MIN);
        assert!(i32_trunc_f32_s(2147483648.0).is_err());
        assert_eq!(i32_trunc_f64_s(-2147483648.9).unwrap(), i32::MIN);
        assert!(i32_trunc_f64_s(-2147483649.0).is_err());
        assert_eq!(i32_trunc_f64_u(-0.9).unwrap(), 0);
        assert!(i32_trunc_f64_u(-1.0).is_err());
        assert_eq!(
            i32_trunc_f32_s(f32::NAN).unwrap_err().code(),
            TrapCode::BadConversionToInteger
        );
        assert_eq!(
            i64_trunc_f64_u(1.844_674_407_370_955e19).unwrap(),
            18446744073709549568
        );
    }

    #[test]
    fn min_max_zeros_and_nans() {
        assert!(f32_min(-0.0, 0.0).is_sign_negative());
        assert!(f32_max(-0.0, 0.0).is_sign_positive());
        assert!(f64_min(f64::NAN, 1.0).is_nan());
    }
}
