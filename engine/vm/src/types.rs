//! Wasm types as the runtime sees them: small, `Copy`, independent of the parser's own types.

use std::fmt;

/// A value type. A `V128` takes two value-stack cells (docs/abi.md §1); every other type one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// A reference to an exception (Wasm 3.0 exception handling): a cell of the store's
    /// exception heap, 0 = null (docs/abi.md §10).
    ExnRef,
}

impl ValType {
    pub fn is_ref(self) -> bool {
        matches!(
            self,
            ValType::FuncRef | ValType::ExternRef | ValType::ExnRef
        )
    }

    /// Value-stack cells a value of this type takes (`strata_vm::abi::V128_CELLS` for v128).
    #[inline]
    pub fn cells(self) -> u32 {
        match self {
            ValType::V128 => crate::abi::V128_CELLS,
            _ => 1,
        }
    }
}

/// Cells taken by values of `types`, in order.
#[inline]
pub fn cells_of(types: &[ValType]) -> u32 {
    types.iter().map(|t| t.cells()).sum()
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::ExnRef => "exnref",
        })
    }
}

/// A function signature. Parameters and results share one allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    types: Box<[ValType]>,
    num_params: usize,
}

impl FuncType {
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        let mut types: Vec<ValType> = params.into_iter().collect();
        let num_params = types.len();
        types.extend(results);
        FuncType {
            types: types.into_boxed_slice(),
            num_params,
        }
    }
    pub fn params(&self) -> &[ValType] {
        &self.types[..self.num_params]
    }
    pub fn results(&self) -> &[ValType] {
        &self.types[self.num_params..]
    }
    /// Cells the parameters take in a frame (a v128 takes two).
    #[inline]
    pub fn param_cells(&self) -> u32 {
        cells_of(self.params())
    }
    /// Cells the results take in a frame (a v128 takes two).
    #[inline]
    pub fn result_cells(&self) -> u32 {
        cells_of(self.results())
    }
}

impl fmt::Debug for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for FuncType {
    /// The text format's type use: `(func (param i32 i32) (result i32))`, with an empty
    /// clause left out (`(func)` for no parameters and no results).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        for (clause, tys) in [("param", self.params()), ("result", self.results())] {
            if !tys.is_empty() {
                write!(f, " ({clause}")?;
                for t in tys {
                    write!(f, " {t}")?;
                }
                f.write_str(")")?;
            }
        }
        f.write_str(")")
    }
}

/// Size bounds of a memory (in pages) or a table (in elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    pub min: u64,
    pub max: Option<u64>,
}

impl Limits {
    /// Import subtyping: `self` (the provided object's current limits) fits `required`.
    pub fn matches(&self, required: &Limits) -> bool {
        if self.min < required.min {
            return false;
        }
        match (self.max, required.max) {
            (_, None) => true,
            (Some(have), Some(need)) => have <= need,
            (None, Some(_)) => false,
        }
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) => write!(f, "{} {}", self.min, max),
            None => write!(f, "{}", self.min),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    pub limits: Limits,
    pub memory64: bool,
    pub shared: bool,
}

impl MemoryType {
    /// A 32-bit memory of `min` pages, growing up to `max` (65,536 pages at most).
    pub fn new(min: u32, max: Option<u32>) -> MemoryType {
        MemoryType {
            limits: Limits {
                min: min as u64,
                max: max.map(u64::from),
            },
            memory64: false,
            shared: false,
        }
    }

    /// A 64-bit memory (memory64): addresses, sizes and `memory.grow` deltas are i64. Strata
    /// reserves up to `MAX_PAGES_64_RESERVED` pages for one; growing further fails.
    pub fn new64(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            limits: Limits { min, max },
            memory64: true,
            shared: false,
        }
    }

    /// Whether addresses into the memory are i64.
    pub fn is_64(&self) -> bool {
        self.memory64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    pub elem: ValType,
    pub limits: Limits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    pub content: ValType,
    pub mutable: bool,
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mutable {
            write!(f, "(mut {})", self.content)
        } else {
            write!(f, "{}", self.content)
        }
    }
}

/// An exception tag's type: its parameters (the exception payload).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    pub params: Box<[ValType]>,
}

/// The type of anything that can be imported or exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    Func(FuncType),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    Tag(TagType),
}

impl ExternType {
    pub fn kind_name(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "function",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
            ExternType::Global(_) => "global",
            ExternType::Tag(_) => "tag",
        }
    }
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Func(t) => write!(f, "{t}"),
            ExternType::Table(t) => write!(f, "(table {} {})", t.limits, t.elem),
            ExternType::Memory(t) if t.memory64 => write!(f, "(memory i64 {})", t.limits),
            ExternType::Memory(t) => write!(f, "(memory {})", t.limits),
            ExternType::Global(t) => write!(f, "(global {t})"),
            ExternType::Tag(t) => write!(f, "(tag {:?})", t.params),
        }
    }
}

/// Wasm page size in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// Largest number of pages of a 32-bit memory.
pub const MAX_PAGES_32: u64 = 65536;
/// Largest number of pages Strata reserves for a 64-bit memory (16 GiB of address space, none
/// of it committed before it is used); the index type allows 2^48.
pub const MAX_PAGES_64_RESERVED: u64 = 1 << 18;
/// Largest table size Strata allocates (the spec allows up to 2^32-1; this keeps a host from
/// exhausting memory on a hostile `table.grow`).
pub const MAX_TABLE_ELEMS: u64 = 10_000_000;
