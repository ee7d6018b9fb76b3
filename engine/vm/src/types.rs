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

/// A heap type of a reference type (typed function references, Wasm 3.0 without GC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    Func,
    NoFunc,
    Extern,
    NoExtern,
    Exn,
    NoExn,
    /// A function type, by its canonical identity (`crate::typeid::TypeId`): two modules'
    /// `(type (func ...))` with the same structure have the same id.
    Concrete(TypeId),
    /// Inside a `FuncType` only: the function type itself (a type that refers to itself,
    /// e.g. `(type $t (func (param (ref $t))))`), so the type can be its own interning key.
    SelfRef,
}

/// A process-wide canonical identity of a function type (`crate::typeid::canonical_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeId(pub u32);

/// A reference type with its heap type and nullability: what import matching, signature
/// checks and the API compare, while `ValType` only says which kind of cell holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    pub nullable: bool,
    pub heap: HeapType,
}

impl RefType {
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };
    pub const EXNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Exn,
    };

    /// The plain nullable reference type a reference cell of type `t` stands for
    /// (`funcref`, `externref`, `exnref`), `None` for a number or vector.
    pub fn plain(t: ValType) -> Option<RefType> {
        match t {
            ValType::FuncRef => Some(RefType::FUNCREF),
            ValType::ExternRef => Some(RefType::EXTERNREF),
            ValType::ExnRef => Some(RefType::EXNREF),
            _ => None,
        }
    }

    /// `Some(self)` unless it is the plain type of its cell (`plain`): the form `GlobalType`,
    /// `TableType` and `FuncType` keep, so plain types compare equal however they were made.
    pub fn unless_plain(self) -> Option<RefType> {
        (self != RefType::FUNCREF && self != RefType::EXTERNREF && self != RefType::EXNREF)
            .then_some(self)
    }

    /// Reference subtyping without GC: non-null below nullable, every concrete function type
    /// below `func`, the bottom types (`nofunc`, `noextern`, `noexn`) below their hierarchy's
    /// types; concrete types are final, so one is below another only when they are the same.
    pub fn is_subtype_of(&self, other: &RefType) -> bool {
        use HeapType::*;
        if self.nullable && !other.nullable {
            return false;
        }
        self.heap == other.heap
            || matches!(
                (self.heap, other.heap),
                (Concrete(_), Func)
                    | (NoFunc, Func | Concrete(_))
                    | (NoExtern, Extern)
                    | (NoExn, Exn)
            )
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let heap = match self.heap {
            HeapType::Func => "func".to_string(),
            HeapType::NoFunc => "nofunc".to_string(),
            HeapType::Extern => "extern".to_string(),
            HeapType::NoExtern => "noextern".to_string(),
            HeapType::Exn => "exn".to_string(),
            HeapType::NoExn => "noexn".to_string(),
            HeapType::Concrete(TypeId(id)) => format!("$type{id}"),
            HeapType::SelfRef => "$self".to_string(),
        };
        if self.nullable {
            write!(f, "(ref null {heap})")
        } else {
            write!(f, "(ref {heap})")
        }
    }
}

/// A function signature. Parameters and results share one allocation.
///
/// `refs` holds the precise type of each parameter or result (by its index in
/// params-then-results) that is a typed reference rather than the plain type of its cell, so
/// equality (import matching, `call_indirect`'s signature check through the store's
/// interned signatures) tells `(func (param (ref $t)))` from `(func (param funcref))`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    types: Box<[ValType]>,
    num_params: usize,
    refs: Option<Box<[(u32, RefType)]>>,
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
            refs: None,
        }
    }

    /// This type with the precise reference type of the parameter or result at `index`
    /// (params then results) given by `refs`, each one of a reference cell type; plain ones
    /// are dropped (`RefType::unless_plain`), so equality does not depend on how it was made.
    pub fn with_ref_types(mut self, refs: impl IntoIterator<Item = (u32, RefType)>) -> Self {
        let refs: Vec<(u32, RefType)> = refs
            .into_iter()
            .filter_map(|(i, r)| Some((i, r.unless_plain()?)))
            .collect();
        self.refs = (!refs.is_empty()).then(|| refs.into_boxed_slice());
        self
    }

    /// The precise type of the parameter or result at `index` (params then results) when it
    /// is a reference: `HeapType::SelfRef` names this type itself.
    pub fn ref_type_at(&self, index: usize) -> Option<RefType> {
        let t = *self.types.get(index)?;
        self.refs
            .iter()
            .flat_map(|r| r.iter())
            .find(|(i, _)| *i as usize == index)
            .map(|(_, r)| *r)
            .or_else(|| RefType::plain(t))
    }

    /// Whether any parameter or result is a typed reference (not a plain `funcref`, ...).
    pub fn has_typed_refs(&self) -> bool {
        self.refs.is_some()
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
        let mut index = 0;
        for (clause, tys) in [("param", self.params()), ("result", self.results())] {
            if !tys.is_empty() {
                write!(f, " ({clause}")?;
                for t in tys {
                    match self.ref_type_at(index).and_then(RefType::unless_plain) {
                        Some(r) => write!(f, " {r}")?,
                        None => write!(f, " {t}")?,
                    }
                    index += 1;
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
    /// The cell type of the elements.
    pub elem: ValType,
    pub limits: Limits,
    /// The precise element type when it is a typed reference (`(ref null $t)`, `(ref func)`,
    /// ...), `None` for the plain type `elem` says (`RefType::unless_plain`).
    pub typed: Option<RefType>,
    /// Whether indices into the table are i64 (memory64's table64).
    pub table64: bool,
}

impl TableType {
    /// A table of plain `elem` references (`funcref`, `externref`) with i32 indices, of `min`
    /// elements growing up to `max`.
    pub fn new(elem: ValType, min: u32, max: Option<u32>) -> TableType {
        TableType {
            elem,
            limits: Limits {
                min: min as u64,
                max: max.map(u64::from),
            },
            typed: None,
            table64: false,
        }
    }

    /// The precise element type.
    pub fn ref_type(&self) -> RefType {
        self.typed
            .or_else(|| RefType::plain(self.elem))
            .unwrap_or(RefType::FUNCREF)
    }
}

/// A table operand (index, length or delta) as the shared table code takes it. An i32
/// table's operand is the low half of its cell (the upper half is not assumed clean:
/// design.md §4). An i64 table's is saturated to `u32::MAX`, which is out of bounds of every
/// table (tables hold at most [`MAX_TABLE_ELEMS`] elements), so each bounds check or growth
/// that fails for the 64-bit value fails for the saturated one too.
pub fn table_operand(v: u64, table64: bool) -> u32 {
    if table64 {
        v.min(u32::MAX as u64) as u32
    } else {
        v as u32
    }
}

/// `table.grow`'s result for a table of either index type: the old size, or -1 in the
/// table's index type.
pub fn table_grow_result(r: Option<u64>, table64: bool) -> u64 {
    match r {
        Some(old) => old,
        None if table64 => u64::MAX,
        None => u32::MAX as u64,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// The cell type of the value.
    pub content: ValType,
    pub mutable: bool,
    /// The precise type when it is a typed reference, `None` for the plain type `content`
    /// says (`RefType::unless_plain`).
    pub typed: Option<RefType>,
}

impl GlobalType {
    /// A global of a number, vector or plain reference type.
    pub fn new(content: ValType, mutable: bool) -> GlobalType {
        GlobalType {
            content,
            mutable,
            typed: None,
        }
    }

    /// The precise type of a reference global, `None` for a number or vector.
    pub fn ref_type(&self) -> Option<RefType> {
        self.typed.or_else(|| RefType::plain(self.content))
    }

    /// Import matching: an immutable global may provide a subtype, a mutable one only the
    /// same type.
    pub fn matches(&self, required: &GlobalType) -> bool {
        if self.mutable != required.mutable || self.content != required.content {
            return false;
        }
        match (self.ref_type(), required.ref_type()) {
            (Some(have), Some(want)) if self.mutable => have == want,
            (Some(have), Some(want)) => have.is_subtype_of(&want),
            _ => true,
        }
    }
}

impl fmt::Display for GlobalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let content = match self.typed {
            Some(r) => r.to_string(),
            None => self.content.to_string(),
        };
        if self.mutable {
            write!(f, "(mut {content})")
        } else {
            write!(f, "{content}")
        }
    }
}

/// An exception tag's type: its parameters (the exception payload).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    pub params: Box<[ValType]>,
    /// The precise type of each parameter that is a typed reference, by index (as
    /// `FuncType`'s), so that tags with `(ref $t)` and `funcref` payloads do not match.
    pub typed: Option<Box<[(u32, RefType)]>>,
}

impl TagType {
    /// A tag whose payload is `params` (numbers, vectors, plain references).
    pub fn new(params: impl IntoIterator<Item = ValType>) -> TagType {
        TagType {
            params: params.into_iter().collect(),
            typed: None,
        }
    }

    /// The tag type of function type `ty`'s parameters.
    pub fn of_func_type(ty: &FuncType) -> TagType {
        let typed: Vec<(u32, RefType)> = (0..ty.params().len())
            .filter_map(|i| Some((i as u32, ty.ref_type_at(i)?.unless_plain()?)))
            .collect();
        TagType {
            params: ty.params().into(),
            typed: (!typed.is_empty()).then(|| typed.into_boxed_slice()),
        }
    }

    /// The precise type of parameter `index` when it is a reference.
    pub fn ref_type_at(&self, index: usize) -> Option<RefType> {
        let t = *self.params.get(index)?;
        self.typed
            .iter()
            .flat_map(|r| r.iter())
            .find(|(i, _)| *i as usize == index)
            .map(|(_, r)| *r)
            .or_else(|| RefType::plain(t))
    }
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
            ExternType::Table(t) => {
                let index = if t.table64 { "i64 " } else { "" };
                match t.typed {
                    Some(r) => write!(f, "(table {index}{} {r})", t.limits),
                    None => write!(f, "(table {index}{} {})", t.limits, t.elem),
                }
            }
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
