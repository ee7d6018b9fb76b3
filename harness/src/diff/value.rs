//! Engine-neutral values and outcomes, and the equality the differential checker applies.
//!
//! # What counts as "the same"
//!
//! * Integers, and the bits of floats that are not NaN: exact.
//! * A float that is NaN: equal to any NaN. WebAssembly lets an arithmetic operation return
//!   any NaN payload (spec 4.3.3, "NaN propagation": the result is an arithmetic NaN when
//!   an input is a canonical NaN or no input is NaN, otherwise any NaN), so two correct
//!   engines may differ there, and a value that is NaN could only be non-NaN on both sides if
//!   neither engine had computed it. This applies to call results and to float globals, which
//!   both hold values whose type the checker knows.
//! * A `v128`: bit-exact. Its type does not say how its lanes are read, so the checker cannot
//!   apply the NaN rule lane by lane; generated modules canonicalize the NaN lanes of float
//!   arithmetic (wasm-smith's `canonicalize_nans` and [`super::generate`]'s own pass), the
//!   only place wasm lets lanes differ, and everything else (bit operations, moves, loads,
//!   stores) must be exact anyway. For a hand-written module the report says when the lanes
//!   that differ are NaNs on both sides.
//! * Memory: byte-exact. Bytes have no type, so the checker cannot tell a stored NaN from
//!   data. Generated modules use wasm-smith's `canonicalize_nans`, so nothing nondeterministic
//!   reaches memory; for a hand-written module the report says when the differing bytes
//!   decode as NaNs on both sides (an allowed difference, to be judged by the reader).
//! * References: null against non-null, and the identity of a function by its export name
//!   (every function of a generated module is exported). Two non-null references to
//!   functions that are not exported are taken as equal: nothing outside the engine names
//!   them. Extern references: null or not (the checker passes only nulls in).
//! * Traps: by kind. Between Strata configurations the kinds are compared exactly; against a
//!   peer oracle, kinds the peer does not tell apart are merged (see [`TrapKind::coarse`]).

use std::fmt;

/// A function reference as an engine-neutral identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FuncId {
    /// The first export name of the function.
    Export(String),
    /// A function that is not exported.
    Unexported,
}

/// A wasm value, floats as bits.
#[derive(Clone, Debug)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef(Option<FuncId>),
    /// Whether the reference is non-null.
    ExternRef(bool),
}

impl Value {
    /// Equality up to NaN payloads (see the module docs).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (Value::V128(a), Value::V128(b)) => a == b,
            (Value::FuncRef(a), Value::FuncRef(b)) => a == b,
            (Value::ExternRef(a), Value::ExternRef(b)) => a == b,
            _ => false,
        }
    }

    /// The type's name, as in the text format.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::V128(_) => "v128",
            Value::FuncRef(_) => "funcref",
            Value::ExternRef(_) => "externref",
        }
    }
}

/// Both lists have the same length and each pair is [`Value::same`].
pub fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(b) => {
                let x = f32::from_bits(*b);
                if x.is_nan() {
                    write!(f, "f32:nan(0x{b:08x})")
                } else {
                    write!(f, "f32:{x:?}(0x{b:08x})")
                }
            }
            Value::F64(b) => {
                let x = f64::from_bits(*b);
                if x.is_nan() {
                    write!(f, "f64:nan(0x{b:016x})")
                } else {
                    write!(f, "f64:{x:?}(0x{b:016x})")
                }
            }
            Value::V128(b) => {
                write!(f, "v128:0x{b:032x}")?;
                if let Some(note) = nan_lanes_note(*b) {
                    write!(f, "({note})")?;
                }
                Ok(())
            }
            Value::FuncRef(None) => f.write_str("funcref:null"),
            Value::FuncRef(Some(FuncId::Export(name))) => write!(f, "funcref:{name:?}"),
            Value::FuncRef(Some(FuncId::Unexported)) => f.write_str("funcref:<not exported>"),
            Value::ExternRef(false) => f.write_str("externref:null"),
            Value::ExternRef(true) => f.write_str("externref:non-null"),
        }
    }
}

/// `"f32x4 NaN lanes 0,2"` (or f64x2) when some lanes of `bits` are NaNs, so that a reader
/// can tell an allowed NaN-payload difference from a wrong result in a hand-written module.
fn nan_lanes_note(bits: u128) -> Option<String> {
    let f32_lanes: Vec<String> = (0..4)
        .filter(|i| f32::from_bits((bits >> (32 * i)) as u32).is_nan())
        .map(|i| i.to_string())
        .collect();
    let f64_lanes: Vec<String> = (0..2)
        .filter(|i| f64::from_bits((bits >> (64 * i)) as u64).is_nan())
        .map(|i| i.to_string())
        .collect();
    let mut parts = Vec::new();
    if !f32_lanes.is_empty() {
        parts.push(format!("f32x4 NaN lanes {}", f32_lanes.join(",")));
    }
    if !f64_lanes.is_empty() {
        parts.push(format!("f64x2 NaN lanes {}", f64_lanes.join(",")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Writes `a, b, c`.
pub fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The spec's trap kinds, named independently of any engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapKind {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    /// `call_indirect` on a null entry ("uninitialized element").
    IndirectCallToNull,
    /// `call_indirect` past the table's end ("undefined element").
    UndefinedElement,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    /// "call stack exhausted": never compared, it makes the case inconclusive.
    StackOverflow,
    NullReference,
    /// Anything else an engine reports (a host error, an engine-specific trap).
    Other,
}

impl TrapKind {
    pub fn from_strata(code: strata::TrapCode) -> TrapKind {
        use strata::TrapCode as C;
        match code {
            C::Unreachable => TrapKind::Unreachable,
            C::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            C::TableOutOfBounds => TrapKind::TableOutOfBounds,
            C::IndirectCallToNull => TrapKind::IndirectCallToNull,
            C::UndefinedElement => TrapKind::UndefinedElement,
            C::BadSignature => TrapKind::BadSignature,
            C::IntegerOverflow => TrapKind::IntegerOverflow,
            C::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            C::BadConversionToInteger => TrapKind::BadConversionToInteger,
            C::StackOverflow => TrapKind::StackOverflow,
            C::NullReference => TrapKind::NullReference,
            _ => TrapKind::Other,
        }
    }

    /// The kind with distinctions merged that not every engine makes: wasmi reports a
    /// `call_indirect` index past the table's end as a table out-of-bounds access.
    pub fn coarse(self) -> TrapKind {
        match self {
            TrapKind::UndefinedElement => TrapKind::TableOutOfBounds,
            other => other,
        }
    }

    /// The spec test suite's message for the kind.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::IndirectCallToNull => "uninitialized element",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::BadSignature => "indirect call type mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::NullReference => "null reference",
            TrapKind::Other => "other trap",
        }
    }
}

/// What one step (instantiation or a call) did on one side.
#[derive(Clone, Debug)]
pub enum Outcome {
    Returned(Vec<Value>),
    Trapped(TrapKind, String),
    /// An error that is not a trap (link, resource, type, engine failure), with its text.
    Failed(String),
    /// A WASI program ended by `proc_exit` with this status.
    Exited(i32),
    /// No verdict possible: the stack was exhausted, the step timed out, or the side
    /// stopped before this step.
    Inconclusive(String),
    /// The engine panicked: always a failure.
    Panicked(String),
}

impl Outcome {
    pub fn is_inconclusive(&self) -> bool {
        matches!(self, Outcome::Inconclusive(_))
    }

    /// Whether `self` and `other` agree. `coarse` merges trap kinds (peer oracles).
    /// Failures that are not traps agree with each other whatever their text: engines word
    /// their errors differently.
    pub fn same(&self, other: &Outcome, coarse: bool) -> bool {
        match (self, other) {
            (Outcome::Returned(a), Outcome::Returned(b)) => same_values(a, b),
            (Outcome::Trapped(a, _), Outcome::Trapped(b, _)) => {
                if coarse {
                    a.coarse() == b.coarse()
                } else {
                    a == b
                }
            }
            (Outcome::Failed(_), Outcome::Failed(_)) => true,
            (Outcome::Exited(a), Outcome::Exited(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Returned(v) => write!(f, "returned [{}]", list(v)),
            Outcome::Trapped(kind, msg) if msg.is_empty() || msg == kind.message() => {
                write!(f, "trapped: {}", kind.message())
            }
            Outcome::Trapped(kind, msg) => write!(f, "trapped: {} ({msg})", kind.message()),
            Outcome::Failed(m) => write!(f, "failed: {m}"),
            Outcome::Exited(status) => write!(f, "exited with status {status}"),
            Outcome::Inconclusive(m) => write!(f, "inconclusive: {m}"),
            Outcome::Panicked(m) => write!(f, "PANICKED: {m}"),
        }
    }
}

/// The observable state of an instance after the calls: its exported memories, globals and
/// tables, in export order, and what a WASI program wrote to stdout and stderr.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub memories: Vec<(String, MemoryImage)>,
    pub globals: Vec<(String, Value)>,
    pub tables: Vec<(String, Vec<Value>)>,
    /// `("stdout", bytes)`, `("stderr", bytes)` for a WASI program; empty otherwise.
    pub output: Vec<(String, Vec<u8>)>,
}

impl Snapshot {
    /// Orders every list by export name, so that engines that list exports in different
    /// orders compare equal.
    pub fn sorted(mut self) -> Snapshot {
        self.memories.sort_by(|a, b| a.0.cmp(&b.0));
        self.globals.sort_by(|a, b| a.0.cmp(&b.0));
        self.tables.sort_by(|a, b| a.0.cmp(&b.0));
        self
    }

    /// The first difference from `other`, described, or `None` when they agree.
    pub fn difference(&self, other: &Snapshot) -> Option<String> {
        if self.memories.len() != other.memories.len()
            || self.globals.len() != other.globals.len()
            || self.tables.len() != other.tables.len()
        {
            return Some("different numbers of exported memories, globals or tables".into());
        }
        for ((name, a), (_, b)) in self.memories.iter().zip(&other.memories) {
            let (a, b) = match (a, b) {
                (MemoryImage::Bytes(a), MemoryImage::Bytes(b)) => (a, b),
                _ => match a.page_difference(b) {
                    Some(d) => return Some(format!("memory {name:?}: {d}")),
                    None => continue,
                },
            };
            if a.len() != b.len() {
                return Some(format!(
                    "memory {name:?}: size {} bytes vs {} bytes",
                    a.len(),
                    b.len()
                ));
            }
            // Slice equality first: memcmp, where the byte-wise search is not vectorised.
            if a == b {
                continue;
            }
            if let Some(at) = a.iter().zip(b).position(|(x, y)| x != y) {
                let count = a.iter().zip(b).filter(|(x, y)| x != y).count();
                let end = (at + 8).min(a.len());
                let nan_note = if looks_like_nans(&a[at..end], &b[at..end]) {
                    " (both sides hold a NaN there: possibly an allowed NaN-payload difference)"
                } else {
                    ""
                };
                return Some(format!(
                    "memory {name:?}: {count} bytes differ, first at offset {at:#x}: {:02x?} vs {:02x?}{nan_note}",
                    &a[at..end],
                    &b[at..end]
                ));
            }
        }
        for ((name, a), (_, b)) in self.globals.iter().zip(&other.globals) {
            if !a.same(b) {
                return Some(format!("global {name:?}: {a} vs {b}"));
            }
        }
        for ((name, a), (_, b)) in self.tables.iter().zip(&other.tables) {
            if a.len() != b.len() {
                return Some(format!("table {name:?}: size {} vs {}", a.len(), b.len()));
            }
            if let Some(i) = a.iter().zip(b).position(|(x, y)| !x.same(y)) {
                return Some(format!("table {name:?}[{i}]: {} vs {}", a[i], b[i]));
            }
        }
        if self.output.len() != other.output.len() {
            return Some("one side ran with WASI, the other without".into());
        }
        for ((stream, a), (_, b)) in self.output.iter().zip(&other.output) {
            if a != b {
                let at = a
                    .iter()
                    .zip(b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                let near =
                    |v: &[u8]| String::from_utf8_lossy(&v[at..(at + 24).min(v.len())]).into_owned();
                return Some(format!(
                    "{stream}: {} bytes vs {} bytes, first difference at byte {at}: {:?} vs {:?}",
                    a.len(),
                    b.len(),
                    near(a),
                    near(b)
                ));
            }
        }
        None
    }
}

/// A memory at the end of a case, kept small whatever the guest grew it to (a snapshot per
/// configuration used to copy every memory whole: 8 GB for two configurations of a module
/// that grows to 4 GiB): its bytes up to [`MemoryImage::KEPT_BYTES`], so that a difference
/// names its offset, else a hash per 64 KiB page, so that it names its page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryImage {
    Bytes(Vec<u8>),
    Pages { len: usize, hashes: Vec<u64> },
}

impl MemoryImage {
    pub const KEPT_BYTES: usize = 1 << 20;
    pub const PAGE: usize = 64 << 10;

    pub fn of(data: &[u8]) -> MemoryImage {
        if data.len() <= Self::KEPT_BYTES {
            return MemoryImage::Bytes(data.to_vec());
        }
        let hashes = data.chunks(Self::PAGE).map(page_hash).collect();
        MemoryImage::Pages {
            len: data.len(),
            hashes,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            MemoryImage::Bytes(b) => b.len(),
            MemoryImage::Pages { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first difference by size or page (for images that are not both bytes).
    fn page_difference(&self, other: &MemoryImage) -> Option<String> {
        if self.len() != other.len() {
            return Some(format!(
                "size {} bytes vs {} bytes",
                self.len(),
                other.len()
            ));
        }
        let pages = |m: &MemoryImage| match m {
            MemoryImage::Bytes(b) => b.chunks(Self::PAGE).map(page_hash).collect(),
            MemoryImage::Pages { hashes, .. } => hashes.clone(),
        };
        let (a, b): (Vec<u64>, Vec<u64>) = (pages(self), pages(other));
        let page = a.iter().zip(&b).position(|(x, y)| x != y)?;
        let count = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        Some(format!(
            "{count} pages of 64 KiB differ, first page {page} (offset {:#x})",
            page * Self::PAGE
        ))
    }
}

/// A 64-bit hash of a page, eight bytes at a time (a memory of 4 GiB hashes in about a
/// second; untouched pages read as the kernel's zero page and cost no memory).
fn page_hash(page: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ page.len() as u64;
    let mut words = page.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        h = (h ^ w).wrapping_mul(0x100_0000_01b3).rotate_left(29);
    }
    for &byte in words.remainder() {
        h = (h ^ byte as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Whether two short byte runs both start an f32 or f64 NaN, at some alignment a store
/// could have used (a heuristic for the report only; the comparison stays byte-exact).
fn looks_like_nans(a: &[u8], b: &[u8]) -> bool {
    let is_nan_at = |bytes: &[u8]| {
        (0..4).any(|start| {
            let f32_nan = bytes
                .get(start..start + 4)
                .map(|w| f32::from_le_bytes(w.try_into().unwrap_or([0; 4])).is_nan());
            let f64_nan = bytes
                .get(start..start + 8)
                .map(|w| f64::from_le_bytes(w.try_into().unwrap_or([0; 8])).is_nan());
            f32_nan == Some(true) || f64_nan == Some(true)
        })
    };
    is_nan_at(a) && is_nan_at(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_output_is_part_of_the_final_state() {
        let with = |out: &str| Snapshot {
            output: vec![
                ("stderr".into(), Vec::new()),
                ("stdout".into(), out.as_bytes().to_vec()),
            ],
            ..Snapshot::default()
        };
        assert_eq!(with("same\n").difference(&with("same\n")), None);
        let d = with("sum 41\n").difference(&with("sum 42\n")).unwrap();
        assert!(
            d.starts_with("stdout: 7 bytes vs 7 bytes, first difference at byte 5"),
            "{d}"
        );
        assert!(with("x").difference(&Snapshot::default()).is_some());
        assert!(Outcome::Exited(3).same(&Outcome::Exited(3), false));
        assert!(!Outcome::Exited(3).same(&Outcome::Exited(0), false));
        assert!(!Outcome::Exited(0).same(&Outcome::Returned(Vec::new()), false));
    }

    #[test]
    fn nans_are_equal_whatever_their_payload() {
        assert!(Value::F32(0x7fc0_0000).same(&Value::F32(0xffc0_0001)));
        assert!(Value::F64(0x7ff8_0000_0000_0000).same(&Value::F64(0x7ff0_0000_0000_0001)));
        assert!(!Value::F32(0x7fc0_0000).same(&Value::F32(0x7f80_0000)));
        assert!(
            !Value::F64(0).same(&Value::F64(1 << 63)),
            "+0 and -0 differ"
        );
        assert!(!Value::I32(1).same(&Value::I64(1)));
    }

    #[test]
    fn v128_values_are_compared_bit_exact_and_name_their_nan_lanes() {
        let nan_lane = 0x7fc0_0000_u128 << 32;
        assert!(Value::V128(nan_lane).same(&Value::V128(nan_lane)));
        // Another NaN payload in the same lane is a difference: generated modules
        // canonicalize NaN lanes, and a v128 does not say how its lanes are read.
        assert!(!Value::V128(nan_lane).same(&Value::V128(0x7fc0_0001_u128 << 32)));
        assert!(!Value::V128(1).same(&Value::I64(1)));
        let text = Value::V128(nan_lane).to_string();
        assert!(text.contains("f32x4 NaN lanes 1"), "{text}");
        assert_eq!(Value::V128(5).to_string(), format!("v128:0x{:032x}", 5));
    }

    #[test]
    fn coarse_trap_kinds_merge_undefined_element() {
        let a = Outcome::Trapped(TrapKind::UndefinedElement, String::new());
        let b = Outcome::Trapped(TrapKind::TableOutOfBounds, String::new());
        assert!(!a.same(&b, false));
        assert!(a.same(&b, true));
    }

    #[test]
    fn snapshot_reports_the_first_memory_difference() {
        let a = Snapshot {
            memories: vec![("m".into(), MemoryImage::of(&[0, 1, 2, 3]))],
            ..Snapshot::default()
        };
        let mut b = a.clone();
        assert!(a.difference(&b).is_none());
        b.memories[0].1 = MemoryImage::of(&[0, 1, 9, 3]);
        let d = a.difference(&b).unwrap();
        assert!(d.contains("offset 0x2"), "{d}");
    }

    #[test]
    fn large_memories_are_compared_by_page() {
        let mut data = vec![0u8; MemoryImage::KEPT_BYTES * 2];
        let a = MemoryImage::of(&data);
        assert!(matches!(a, MemoryImage::Pages { .. }));
        data[5 * MemoryImage::PAGE + 17] = 1;
        let b = MemoryImage::of(&data);
        let snap = |m: MemoryImage| Snapshot {
            memories: vec![("m".into(), m)],
            ..Snapshot::default()
        };
        assert!(snap(a.clone()).difference(&snap(a.clone())).is_none());
        let d = snap(a).difference(&snap(b)).unwrap();
        assert!(d.contains("first page 5"), "{d}");
    }
}
