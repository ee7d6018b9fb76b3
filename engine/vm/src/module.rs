//! The module environment: everything a tier or the runtime needs to know about a validated
//! module, parsed once, immutable and `Send + Sync` (design.md §1). Function bodies stay as byte
//! ranges into the module's bytes; tiers translate them lazily.

use crate::types::*;
use std::any::Any;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::AtomicPtr;
use std::sync::{Arc, OnceLock};
use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, ExternalKind, KnownCustom, Name, Operator,
    Parser, Payload, TypeRef, ValidPayload, Validator, WasmFeatures,
};

/// A compile failure: malformed or invalid bytes, with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: Option<usize>,
    pub message: String,
}

impl ParseError {
    pub fn new(offset: Option<usize>, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

impl From<wasmparser::BinaryReaderError> for ParseError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        ParseError {
            offset: Some(e.offset() as usize),
            message: e.message().to_string(),
        }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// Whether modules may use fixed-width SIMD (process-wide; see `set_simd_enabled`).
static SIMD_ENABLED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Accepts (`true`, the default) or rejects at validation (`false`) modules that use
/// fixed-width SIMD and relaxed SIMD; the environment variable `STRATA_SIMD=0` turns it off
/// too. The interpreter and the baseline run all of it (`proposals/simd` and
/// `proposals/relaxed-simd`); the optimizing tier refuses SIMD functions, which tiered
/// execution leaves to the baseline.
pub fn set_simd_enabled(on: bool) {
    SIMD_ENABLED.store(if on { 2 } else { 1 }, std::sync::atomic::Ordering::Relaxed);
}

/// Whether SIMD is accepted (see `set_simd_enabled`).
pub fn simd_enabled() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    match SIMD_ENABLED.load(Relaxed) {
        0 => {
            let on = std::env::var("STRATA_SIMD").map_or(true, |v| v != "0");
            SIMD_ENABLED.store(if on { 2 } else { 1 }, Relaxed);
            on
        }
        v => v == 2,
    }
}

/// Whether modules may use typed function references (process-wide; see
/// `set_function_references_enabled`).
static FUNCTION_REFERENCES: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Accepts (`true`, the default) or rejects at validation (`false`) modules that use typed
/// function references (`call_ref`, `(ref $t)`, `br_on_null` ...); the environment variable
/// `STRATA_FUNCTION_REFERENCES=0` turns them off. Every tier runs them (the optimizing tier
/// refuses such functions, which keep the baseline's code); import matching, `call_indirect`
/// and the API compare precise reference types (`RefType`, canonical `TypeId`s).
pub fn set_function_references_enabled(on: bool) {
    FUNCTION_REFERENCES.store(if on { 2 } else { 1 }, std::sync::atomic::Ordering::Relaxed);
}

/// Whether typed function references are accepted (see `set_function_references_enabled`).
pub fn function_references_enabled() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    match FUNCTION_REFERENCES.load(Relaxed) {
        0 => {
            let on = std::env::var("STRATA_FUNCTION_REFERENCES").map_or(true, |v| v != "0");
            FUNCTION_REFERENCES.store(if on { 2 } else { 1 }, Relaxed);
            on
        }
        v => v == 2,
    }
}

/// The wasm features Strata accepts: WebAssembly 2.0 plus extended constant expressions
/// (Wasm 3.0: `i32`/`i64` `add`, `sub`, `mul` in constant expressions), multi-memory,
/// memory64, tail calls (`return_call`, `return_call_indirect`: design.md §12, in every
/// tier), exception handling (Wasm 3.0's `try_table`/`throw`/`throw_ref`/`exnref`, and the
/// legacy `try`/`catch`/`delegate`/`rethrow` toolchains still emit; docs/abi.md §10) and
/// relaxed SIMD (Wasm 3.0, one deterministic choice per operator: docs/abi.md §9); SIMD and
/// relaxed SIMD only when `simd_enabled()`; typed function references only when
/// `function_references_enabled()`.
pub fn supported_features() -> WasmFeatures {
    let base = WasmFeatures::WASM2
        .union(WasmFeatures::EXTENDED_CONST)
        .union(WasmFeatures::MULTI_MEMORY)
        .union(WasmFeatures::MEMORY64)
        .union(WasmFeatures::TAIL_CALL)
        .union(WasmFeatures::EXCEPTIONS)
        .union(WasmFeatures::LEGACY_EXCEPTIONS);
    let base = if function_references_enabled() {
        base.union(WasmFeatures::FUNCTION_REFERENCES)
    } else {
        base
    };
    if simd_enabled() {
        base.union(WasmFeatures::RELAXED_SIMD)
    } else {
        base.difference(WasmFeatures::SIMD)
    }
}

/// One operation of a constant expression (global initialisers, segment offsets, element items).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    V128(u128),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// A constant expression, evaluated at instantiation.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstExpr(pub Box<[ConstOp]>);

impl ConstExpr {
    fn parse(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = reader.read()?;
            ops.push(match op {
                Operator::I32Const { value } => ConstOp::I32(value),
                Operator::I64Const { value } => ConstOp::I64(value),
                Operator::F32Const { value } => ConstOp::F32(value.bits()),
                Operator::F64Const { value } => ConstOp::F64(value.bits()),
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::V128Const { value } => ConstOp::V128(value.i128() as u128),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::End => continue,
                other => {
                    return Err(ParseError::new(
                        Some(reader.original_position() as usize),
                        format!("unsupported constant expression operator {other:?}"),
                    ))
                }
            });
        }
        Ok(ConstExpr(ops.into_boxed_slice()))
    }

    /// Evaluates the expression to a raw 64-bit cell. `global` reads an (imported or earlier)
    /// global's cell, `func_ref` turns a function index into a funcref cell.
    pub fn eval(&self, global: impl Fn(u32) -> u64, func_ref: impl Fn(u32) -> u64) -> u64 {
        self.eval128(|g| global(g) as u128, func_ref) as u64
    }

    /// Evaluates the expression to 128 bits (a v128 global's value; other types use the low
    /// 64). `global` reads an (imported or earlier) global's value as 128 bits.
    pub fn eval128(&self, global: impl Fn(u32) -> u128, func_ref: impl Fn(u32) -> u64) -> u128 {
        let mut stack: Vec<u128> = Vec::with_capacity(4);
        for op in self.0.iter() {
            let v = match *op {
                ConstOp::I32(v) => v as u32 as u128,
                ConstOp::I64(v) => v as u64 as u128,
                ConstOp::F32(v) => v as u128,
                ConstOp::F64(v) => v as u128,
                ConstOp::V128(v) => v,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => func_ref(f) as u128,
                ConstOp::GlobalGet(g) => global(g),
                bin => {
                    let b = stack.pop().unwrap_or(0) as u64;
                    let a = stack.pop().unwrap_or(0) as u64;
                    let r = match bin {
                        ConstOp::I32Add => (a as u32).wrapping_add(b as u32) as u64,
                        ConstOp::I32Sub => (a as u32).wrapping_sub(b as u32) as u64,
                        ConstOp::I32Mul => (a as u32).wrapping_mul(b as u32) as u64,
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    };
                    r as u128
                }
            };
            stack.push(v);
        }
        stack.pop().unwrap_or(0)
    }
}

#[derive(Clone, Debug)]
pub enum ImportDesc {
    /// A function, by type index.
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    Tag(TagType),
}

#[derive(Clone, Debug)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub desc: ImportDesc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExportKind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

#[derive(Clone, Debug)]
pub struct Export {
    pub name: String,
    pub kind: ExportKind,
    pub index: u32,
}

#[derive(Clone, Debug)]
pub struct TableDef {
    pub ty: TableType,
    /// Initial element of a defined table; `None` means null (and for imports).
    pub init: Option<ConstExpr>,
}

#[derive(Clone, Debug)]
pub struct GlobalDef {
    pub ty: GlobalType,
    /// `None` for imported globals.
    pub init: Option<ConstExpr>,
}

#[derive(Clone, Debug)]
pub enum SegmentMode {
    Passive,
    Active { index: u32, offset: ConstExpr },
    Declared,
}

#[derive(Clone, Debug)]
pub struct ElemSegment {
    pub mode: SegmentMode,
    pub ty: ValType,
    pub items: Box<[ConstExpr]>,
}

#[derive(Clone, Debug)]
pub struct DataSegment {
    pub mode: SegmentMode,
    /// Byte range of the segment's contents in the module bytes.
    pub range: Range<usize>,
}

/// A defined function's body: its byte range (locals and code) in the module bytes.
#[derive(Clone, Debug)]
pub struct FuncBody {
    pub range: Range<usize>,
}

/// The number of tiers that can keep per-module state (see `Module::tier_state`).
pub const TIER_STATE_SLOTS: usize = 5;

/// The owners of `Module::tier_state`'s slots, numbered in this one place.
pub mod tier_slot {
    /// The interpreter's translations and counters.
    pub const INTERP: usize = 0;
    /// The baseline's whole-module code.
    pub const BASELINE: usize = 1;
    /// Mixed tiers: which functions stay interpreted, decided once.
    pub const MIXED: usize = 2;
    /// The installed-code registry of tiered execution (`strata_tiers::tier`).
    pub const REGISTRY: usize = 3;
    /// The spill thunks behind the register-entry slots (`strata_tiers::jit::reg_args`).
    pub const REG_THUNKS: usize = 4;
}

/// A validated module: immutable, shared by every instance and every tier.
pub struct Module {
    pub bytes: Box<[u8]>,
    pub types: Vec<FuncType>,
    /// The canonical identity of each of `types` (`crate::typeid`).
    pub type_ids: Vec<TypeId>,
    pub imports: Vec<Import>,
    /// Type index of every function, imported ones first.
    pub funcs: Vec<u32>,
    pub tables: Vec<TableDef>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<GlobalDef>,
    pub tags: Vec<TagType>,
    pub exports: Vec<Export>,
    pub export_index: HashMap<String, usize>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    pub bodies: Vec<FuncBody>,
    /// Per defined function, whether it has an exception handler (`try_table` or a legacy
    /// `try`), noted during validation; empty for a module built without validating
    /// (`frontend::has_handlers` then reads the body).
    pub handlers: Vec<bool>,
    pub customs: Vec<(String, Range<usize>)>,
    pub num_imported_funcs: u32,
    pub num_imported_tables: u32,
    pub num_imported_memories: u32,
    pub num_imported_globals: u32,
    pub module_name: Option<String>,
    pub func_names: HashMap<u32, String>,
    /// Functions that may be referenced by `ref.func` (declared in segments or exports).
    pub code_section_bytes: usize,
    /// Per-tier lazily built state (translated code, compiled code). Each tier owns one slot
    /// and downcasts it; this keeps the module free of any compiler's types (design.md §0).
    pub tier_state: [OnceLock<Arc<dyn Any + Send + Sync>>; TIER_STATE_SLOTS],
    /// The interruption checks every tier compiles into this module's code (design.md §13):
    /// the engine's, set before any code is made.
    pub interrupts: crate::Interrupts,
    /// The optimizing tier's mid-end switches in the spelling of `strata_ir`'s
    /// `MidendConfig::parse` (`off`, `chaos=SEED`, `no-FAMILY`...): the engine's
    /// `Config::egraph`, set before any code is made. Kept as text so this crate stays free
    /// of compiler types (design.md §0); empty means the default mid-end.
    pub egraph: String,
    /// One code slot per defined function (docs/abi.md §5), shared by all instances; made on
    /// first use. Null means "no compiled code".
    code_slots: OnceLock<Box<[AtomicPtr<u8>]>>,
    /// One *register-entry slot* per defined function (docs/abi.md §3), beside the code
    /// slots: what optimized code calls with the arguments in registers. Made with the
    /// code slots, null until a JIT tier fills them (`strata_tiers::jit::reg_args`).
    reg_slots: OnceLock<Box<[AtomicPtr<u8>]>>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("types", &self.types.len())
            .field("imports", &self.imports.len())
            .field("funcs", &self.funcs.len())
            .field("exports", &self.exports.len())
            .finish_non_exhaustive()
    }
}

/// The runtime's type for a parser value type (`offset` locates an error).
pub fn val_type(t: wasmparser::ValType, offset: u64) -> Result<ValType> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ref_type(r, offset)?,
    })
}

fn ref_type(r: wasmparser::RefType, offset: u64) -> Result<ValType> {
    runtime_ref_type(r).ok_or_else(|| {
        ParseError::new(
            Some(offset as usize),
            format!("unsupported reference type {r:?}"),
        )
    })
}

/// The runtime's representation of a reference type: every function reference type
/// (`funcref`, `(ref null? $t)`, `(ref null? func)`, `nullfuncref`) is a `FuncRef` cell and
/// every external one an `ExternRef` cell, `exnref` and `(ref exn)` an `ExnRef` cell
/// (docs/abi.md §10). Nullability and the concrete type are the
/// validator's business (typed function references never need a runtime check it has not
/// proved); `None` for the GC proposal's types.
pub fn runtime_ref_type(r: wasmparser::RefType) -> Option<ValType> {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    match r.heap_type() {
        H::Concrete(_) => Some(ValType::FuncRef),
        H::Abstract {
            shared: false,
            ty: A::Func | A::NoFunc,
        } => Some(ValType::FuncRef),
        H::Abstract {
            shared: false,
            ty: A::Extern | A::NoExtern,
        } => Some(ValType::ExternRef),
        H::Abstract {
            shared: false,
            ty: A::Exn | A::NoExn,
        } => Some(ValType::ExnRef),
        _ => None,
    }
}

/// The precise type of reference `r`, its concrete type canonical (`crate::typeid`): `ids`
/// are the canonical ids of the module's types defined so far, `this` the index of the type
/// being defined (a reference to it is `HeapType::SelfRef`).
fn precise_ref_type(
    r: wasmparser::RefType,
    ids: &[TypeId],
    this: Option<u32>,
    offset: u64,
) -> Result<RefType> {
    use wasmparser::{AbstractHeapType as A, HeapType as H, UnpackedIndex};
    let unsupported = || {
        ParseError::new(
            Some(offset as usize),
            format!("unsupported reference type {r:?}"),
        )
    };
    let heap = match r.heap_type() {
        H::Concrete(UnpackedIndex::Module(i)) if Some(i) == this => HeapType::SelfRef,
        H::Concrete(UnpackedIndex::RecGroup(0)) if this.is_some() => HeapType::SelfRef,
        H::Concrete(UnpackedIndex::Module(i)) => {
            HeapType::Concrete(*ids.get(i as usize).ok_or_else(unsupported)?)
        }
        H::Concrete(_) | H::Exact(_) => return Err(unsupported()),
        H::Abstract { shared: false, ty } => match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            _ => return Err(unsupported()),
        },
        H::Abstract { shared: true, .. } => return Err(unsupported()),
    };
    Ok(RefType {
        nullable: r.is_nullable(),
        heap,
    })
}

fn table_type(t: &wasmparser::TableType, ids: &[TypeId], offset: u64) -> Result<TableType> {
    Ok(TableType {
        elem: ref_type(t.element_type, offset)?,
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        typed: precise_ref_type(t.element_type, ids, None, offset)?.unless_plain(),
        table64: t.table64,
    })
}

fn memory_type(t: &wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        memory64: t.memory64,
        shared: t.shared,
    }
}

fn global_type(t: &wasmparser::GlobalType, ids: &[TypeId], offset: u64) -> Result<GlobalType> {
    let typed = match t.content_type {
        wasmparser::ValType::Ref(r) => precise_ref_type(r, ids, None, offset)?.unless_plain(),
        _ => None,
    };
    Ok(GlobalType {
        content: val_type(t.content_type, offset)?,
        mutable: t.mutable,
        typed,
    })
}

/// Converts a wasmparser function type: the module's type `this`, whose typed references
/// name the module's earlier types, with canonical ids `ids` (`precise_ref_type`).
pub fn func_type(
    t: &wasmparser::FuncType,
    ids: &[TypeId],
    this: u32,
    offset: u64,
) -> Result<FuncType> {
    let params = t
        .params()
        .iter()
        .map(|p| val_type(*p, offset))
        .collect::<Result<Vec<_>>>()?;
    let results = t
        .results()
        .iter()
        .map(|p| val_type(*p, offset))
        .collect::<Result<Vec<_>>>()?;
    let mut refs = Vec::new();
    for (i, p) in t.params().iter().chain(t.results()).enumerate() {
        if let wasmparser::ValType::Ref(r) = p {
            refs.push((i as u32, precise_ref_type(*r, ids, Some(this), offset)?));
        }
    }
    Ok(FuncType::new(params, results).with_ref_types(refs))
}

/// Validates a function body as `FuncValidator::validate` does, and says whether it has an
/// exception handler: the opcode byte of every operator is at hand here, and `try_table`
/// (0x1f) and `try` (0x06) are one-byte opcodes, so the JIT tiers need no scan of their own
/// (docs/abi.md §10). `bytes` is the buffer the body's positions index.
fn validate_body<R: wasmparser::WasmModuleResources>(
    fv: &mut wasmparser::FuncValidator<R>,
    body: &wasmparser::FunctionBody<'_>,
    bytes: &[u8],
) -> Result<bool> {
    let mut reader = body.get_binary_reader();
    fv.read_locals(&mut reader)?;
    reader.set_features(supported_features());
    let mut handlers = false;
    while !reader.eof() {
        let pos = reader.original_position();
        handlers |= matches!(bytes.get(pos as usize), Some(0x06 | 0x1f));
        reader.visit_operator(&mut fv.visitor(pos))??;
    }
    reader.finish_expression(&fv.visitor(reader.original_position()))?;
    Ok(handlers)
}

/// Checks a complete module without building it.
pub fn validate(bytes: &[u8]) -> Result<()> {
    let mut validator = Validator::new_with_features(supported_features());
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        check_encoding(&payload, bytes, 0)?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            func.into_validator(Default::default()).validate(&body)?;
        }
    }
    Ok(())
}

/// Encoding rules wasmparser relaxes for later proposals but 32-bit memories keep: memory
/// limits are u32 LEBs of at most 5 bytes ("integer representation too long").
/// `base` is the stream offset of `bytes[0]`.
fn check_encoding(payload: &Payload<'_>, bytes: &[u8], base: u64) -> Result<()> {
    let Payload::MemorySection(section) = payload else {
        return Ok(());
    };
    let range = section.range();
    let (start, end) = ((range.start - base) as usize, (range.end - base) as usize);
    let Some(data) = bytes.get(start..end) else {
        return Ok(());
    };
    let mut r = wasmparser::BinaryReader::new(data, range.start);
    let count = r.read_var_u32()?;
    for _ in 0..count {
        let flags = r.read_u8()?;
        if flags & 0x04 != 0 {
            // memory64 limits are u64: wasmparser checks them, and rejects the feature.
            return Ok(());
        }
        r.read_var_u32()?;
        if flags & 0x01 != 0 {
            r.read_var_u32()?;
        }
        if flags & 0x08 != 0 {
            r.read_var_u32()?;
        }
    }
    Ok(())
}

/// Validates incrementally as bytes arrive: feed chunks, then `finish`. Errors are reported as
/// soon as the section that holds them is complete, like `WebAssembly.compileStreaming`.
pub struct StreamingValidator {
    buf: Vec<u8>,
    consumed: usize,
    parser: Parser,
    validator: Validator,
    done: bool,
}

impl Default for StreamingValidator {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamingValidator {
    pub fn new() -> Self {
        StreamingValidator {
            buf: Vec::new(),
            consumed: 0,
            parser: Parser::new(0),
            validator: Validator::new_with_features(supported_features()),
            done: false,
        }
    }

    /// Adds bytes and validates every payload they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(chunk);
        self.advance(false)
    }

    fn advance(&mut self, eof: bool) -> Result<()> {
        while !self.done {
            let data = &self.buf[self.consumed..];
            let (consumed, payload) = match self.parser.parse(data, eof)? {
                wasmparser::Chunk::NeedMoreData(_) => {
                    if eof {
                        return Err(ParseError::new(
                            Some(self.buf.len()),
                            "unexpected end of module",
                        ));
                    }
                    return Ok(());
                }
                wasmparser::Chunk::Parsed { consumed, payload } => (consumed, payload),
            };
            check_encoding(&payload, &self.buf[self.consumed..], self.consumed as u64)?;
            // Code section entries arrive as whole function bodies; validate each eagerly.
            match self.validator.payload(&payload)? {
                ValidPayload::Func(func, body) => {
                    let mut v = func.into_validator(Default::default());
                    v.validate(&body)?;
                }
                ValidPayload::End(_) => self.done = true,
                _ => {}
            }
            self.consumed += consumed;
        }
        Ok(())
    }

    /// Ends the stream and returns the complete, validated bytes.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.advance(true)?;
        if !self.done {
            return Err(ParseError::new(
                Some(self.buf.len()),
                "unexpected end of module",
            ));
        }
        Ok(self.buf)
    }
}

impl Module {
    /// Validates and parses a binary module.
    pub fn new(bytes: Vec<u8>) -> Result<Module> {
        Self::build(bytes, true)
    }

    /// Parses bytes that were already validated (e.g. by a `StreamingValidator`).
    pub fn from_validated(bytes: Vec<u8>) -> Result<Module> {
        Self::build(bytes, false)
    }

    fn build(bytes: Vec<u8>, validate: bool) -> Result<Module> {
        let mut m = Module {
            bytes: Box::new([]),
            types: Vec::new(),
            type_ids: Vec::new(),
            imports: Vec::new(),
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
            exports: Vec::new(),
            export_index: HashMap::new(),
            start: None,
            elems: Vec::new(),
            datas: Vec::new(),
            bodies: Vec::new(),
            handlers: Vec::new(),
            customs: Vec::new(),
            num_imported_funcs: 0,
            num_imported_tables: 0,
            num_imported_memories: 0,
            num_imported_globals: 0,
            module_name: None,
            func_names: HashMap::new(),
            code_section_bytes: 0,
            tier_state: Default::default(),
            interrupts: Default::default(),
            egraph: String::new(),
            code_slots: OnceLock::new(),
            reg_slots: OnceLock::new(),
        };
        let mut validator = validate.then(|| Validator::new_with_features(supported_features()));
        let mut func_allocs = Default::default();
        for payload in Parser::new(0).parse_all(&bytes) {
            let payload = payload?;
            if let Some(v) = validator.as_mut() {
                check_encoding(&payload, &bytes, 0)?;
                if let ValidPayload::Func(func, body) = v.payload(&payload)? {
                    let mut fv = func.into_validator(std::mem::take(&mut func_allocs));
                    let handlers = validate_body(&mut fv, &body, &bytes)?;
                    m.handlers.push(handlers);
                    func_allocs = fv.into_allocations();
                }
            }
            m.section(payload)?;
        }
        m.bytes = bytes.into_boxed_slice();
        for (i, e) in m.exports.iter().enumerate() {
            m.export_index.insert(e.name.clone(), i);
        }
        Ok(m)
    }

    fn section(&mut self, payload: Payload<'_>) -> Result<()> {
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    for sub in group.into_types() {
                        match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                let this = self.types.len() as u32;
                                let ty = func_type(f, &self.type_ids, this, 0)?;
                                let id = crate::typeid::canonical_id(&ty).ok_or_else(|| {
                                    ParseError::new(
                                        None,
                                        "too many distinct function types in this process",
                                    )
                                })?;
                                self.types.push(ty);
                                self.type_ids.push(id);
                            }
                            _ => return Err(ParseError::new(None, "unsupported composite type")),
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                let offset = reader.original_position();
                {
                    for import in reader.into_imports() {
                        let import = import?;
                        let desc = match import.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                self.funcs.push(t);
                                self.num_imported_funcs += 1;
                                ImportDesc::Func(t)
                            }
                            TypeRef::Table(t) => {
                                let ty = table_type(&t, &self.type_ids, offset)?;
                                self.tables.push(TableDef { ty, init: None });
                                self.num_imported_tables += 1;
                                ImportDesc::Table(ty)
                            }
                            TypeRef::Memory(t) => {
                                let ty = memory_type(&t);
                                self.memories.push(ty);
                                self.num_imported_memories += 1;
                                ImportDesc::Memory(ty)
                            }
                            TypeRef::Global(t) => {
                                let ty = global_type(&t, &self.type_ids, offset)?;
                                self.globals.push(GlobalDef { ty, init: None });
                                self.num_imported_globals += 1;
                                ImportDesc::Global(ty)
                            }
                            TypeRef::Tag(t) => {
                                let ty = self.tag_type(t.func_type_idx);
                                self.tags.push(ty.clone());
                                ImportDesc::Tag(ty)
                            }
                        };
                        self.imports.push(Import {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            desc,
                        });
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    self.funcs.push(t?);
                }
            }
            Payload::TableSection(reader) => {
                let offset = reader.original_position();
                for t in reader {
                    let t = t?;
                    let init = match &t.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(ConstExpr::parse(e)?),
                    };
                    self.tables.push(TableDef {
                        ty: table_type(&t.ty, &self.type_ids, offset)?,
                        init,
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for t in reader {
                    self.memories.push(memory_type(&t?));
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    let t = t?;
                    let ty = self.tag_type(t.func_type_idx);
                    self.tags.push(ty);
                }
            }
            Payload::GlobalSection(reader) => {
                let offset = reader.original_position();
                for g in reader {
                    let g = g?;
                    self.globals.push(GlobalDef {
                        ty: global_type(&g.ty, &self.type_ids, offset)?,
                        init: Some(ConstExpr::parse(&g.init_expr)?),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    let kind = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                        ExternalKind::Table => ExportKind::Table,
                        ExternalKind::Memory => ExportKind::Memory,
                        ExternalKind::Global => ExportKind::Global,
                        ExternalKind::Tag => ExportKind::Tag,
                    };
                    self.exports.push(Export {
                        name: e.name.to_string(),
                        kind,
                        index: e.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                let offset = reader.original_position();
                for e in reader {
                    let e = e?;
                    let mode = match e.kind {
                        ElementKind::Passive => SegmentMode::Passive,
                        ElementKind::Declared => SegmentMode::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: table_index.unwrap_or(0),
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let (ty, items) = match e.items {
                        ElementItems::Functions(funcs) => {
                            let mut items = Vec::new();
                            for f in funcs {
                                items.push(ConstExpr(Box::new([ConstOp::RefFunc(f?)])));
                            }
                            (ValType::FuncRef, items)
                        }
                        ElementItems::Expressions(rt, exprs) => {
                            let mut items = Vec::new();
                            for x in exprs {
                                items.push(ConstExpr::parse(&x?)?);
                            }
                            (ref_type(rt, offset)?, items)
                        }
                    };
                    self.elems.push(ElemSegment {
                        mode,
                        ty,
                        items: items.into_boxed_slice(),
                    });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    let d = d?;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: memory_index,
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let end = d.range.end as usize;
                    let start = end - d.data.len();
                    self.datas.push(DataSegment {
                        mode,
                        range: start..end,
                    });
                }
            }
            Payload::CodeSectionStart { size, .. } => self.code_section_bytes = size as usize,
            Payload::CodeSectionEntry(body) => {
                self.bodies.push(FuncBody {
                    range: body.range().start as usize..body.range().end as usize,
                });
            }
            Payload::CustomSection(reader) => {
                let start = reader.data_offset() as usize;
                self.customs.push((
                    reader.name().to_string(),
                    start..start + reader.data().len(),
                ));
                if let KnownCustom::Name(names) = reader.as_known() {
                    self.read_names(names);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn tag_type(&self, type_index: u32) -> TagType {
        self.types
            .get(type_index as usize)
            .map(TagType::of_func_type)
            .unwrap_or_else(|| TagType::new([]))
    }

    /// The name section is advisory: a malformed one is ignored, never an error.
    fn read_names(&mut self, names: wasmparser::NameSectionReader<'_>) {
        for name in names {
            let Ok(name) = name else { return };
            match name {
                Name::Module { name, .. } => self.module_name = Some(name.to_string()),
                Name::Function(map) => {
                    for naming in map {
                        let Ok(naming) = naming else { return };
                        self.func_names
                            .insert(naming.index, naming.name.to_string());
                    }
                }
                _ => {}
            }
        }
    }

    pub fn func_type(&self, func_index: u32) -> &FuncType {
        &self.types[self.funcs[func_index as usize] as usize]
    }

    /// The code slots of the defined functions (docs/abi.md §5).
    pub fn code_slots(&self) -> &[AtomicPtr<u8>] {
        self.code_slots.get_or_init(|| {
            (0..self.bodies.len())
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect()
        })
    }

    /// The register-entry slots of the defined functions (docs/abi.md §3): null until a JIT
    /// tier fills them.
    pub fn reg_slots(&self) -> &[AtomicPtr<u8>] {
        self.reg_slots.get_or_init(|| {
            (0..self.bodies.len())
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect()
        })
    }

    /// The code slots if a JIT tier ever created them (`None` in interpreter-only runs, so
    /// the interpreter's call path pays one load to find out).
    pub fn code_slots_if_any(&self) -> Option<&[AtomicPtr<u8>]> {
        self.code_slots.get().map(|s| &**s)
    }

    pub fn num_defined_funcs(&self) -> usize {
        self.bodies.len()
    }

    /// The body bytes (locals and code) of defined function `def_index`.
    pub fn body_bytes(&self, def_index: usize) -> &[u8] {
        &self.bytes[self.bodies[def_index].range.clone()]
    }

    /// A wasmparser view of a defined function's body, for tiers that translate it.
    pub fn body(&self, def_index: usize) -> wasmparser::FunctionBody<'_> {
        let range = self.bodies[def_index].range.clone();
        wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
            &self.bytes[range.clone()],
            range.start as u64,
        ))
    }

    pub fn import_type(&self, import: &Import) -> ExternType {
        match &import.desc {
            ImportDesc::Func(t) => ExternType::Func(self.types[*t as usize].clone()),
            ImportDesc::Table(t) => ExternType::Table(*t),
            ImportDesc::Memory(t) => ExternType::Memory(*t),
            ImportDesc::Global(t) => ExternType::Global(*t),
            ImportDesc::Tag(t) => ExternType::Tag(t.clone()),
        }
    }

    pub fn export_type(&self, export: &Export) -> ExternType {
        let i = export.index as usize;
        match export.kind {
            ExportKind::Func => ExternType::Func(self.func_type(export.index).clone()),
            ExportKind::Table => ExternType::Table(self.tables[i].ty),
            ExportKind::Memory => ExternType::Memory(self.memories[i]),
            ExportKind::Global => ExternType::Global(self.globals[i].ty),
            ExportKind::Tag => ExternType::Tag(self.tags[i].clone()),
        }
    }

    pub fn custom_sections<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.customs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, r)| &self.bytes[r.clone()])
    }

    /// A function's name for backtraces.
    pub fn func_name(&self, func_index: u32) -> Option<&str> {
        self.func_names.get(&func_index).map(|s| s.as_str())
    }
}
