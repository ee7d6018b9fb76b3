//! Memories, tables, globals and tags: created by the host or exported by an instance, and
//! shareable across instances of one store.

use crate::error::Error;
use crate::func::Func;
use crate::store::{check_store, AsStore, AsStoreMut};
use crate::values::Val;
use strata_vm::{
    ExternAddr, GlobalAddr, GlobalType, LinearMemory, MemAddr, MemoryType, StoreInner, TableAddr,
    TableType, TagAddr, TagType, Trap, ValType, WASM_PAGE_SIZE,
};

/// Anything that can be imported or exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    pub(crate) fn from_addr(store_id: u64, addr: ExternAddr) -> Extern {
        match addr {
            ExternAddr::Func(addr) => Extern::Func(Func { store_id, addr }),
            ExternAddr::Table(addr) => Extern::Table(Table { store_id, addr }),
            ExternAddr::Memory(addr) => Extern::Memory(Memory { store_id, addr }),
            ExternAddr::Global(addr) => Extern::Global(Global { store_id, addr }),
            ExternAddr::Tag(addr) => Extern::Tag(Tag { store_id, addr }),
        }
    }
    pub(crate) fn addr(&self) -> (u64, ExternAddr) {
        match *self {
            Extern::Func(f) => (f.store_id, ExternAddr::Func(f.addr)),
            Extern::Table(t) => (t.store_id, ExternAddr::Table(t.addr)),
            Extern::Memory(m) => (m.store_id, ExternAddr::Memory(m.addr)),
            Extern::Global(g) => (g.store_id, ExternAddr::Global(g.addr)),
            Extern::Tag(t) => (t.store_id, ExternAddr::Tag(t.addr)),
        }
    }
    /// The object's type.
    pub fn ty(&self, store: impl AsStore) -> strata_vm::ExternType {
        let (id, addr) = self.addr();
        check_store(store.inner(), id);
        store.inner().extern_type(addr)
    }
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }
}

macro_rules! into_extern {
    ($($t:ident),*) => {$(
        impl From<$t> for Extern {
            fn from(x: $t) -> Extern {
                Extern::$t(x)
            }
        }
    )*};
}
into_extern!(Func, Table, Memory, Global, Tag);

/// A linear memory (`WebAssembly.Memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store_id: u64,
    pub(crate) addr: MemAddr,
}

impl Memory {
    /// A new memory of type `ty`, filled with zeros; a size the host cannot reserve is a
    /// range error.
    pub fn new(mut store: impl AsStoreMut, ty: MemoryType) -> Result<Memory, Error> {
        let inner = store.inner_mut();
        let mem =
            LinearMemory::new(ty, inner.config.bounds_checks).map_err(|e| Error::Range(e.0))?;
        let addr = inner.add_memory(mem);
        Ok(Memory {
            store_id: inner.id,
            addr,
        })
    }
    fn get<'a>(&self, store: &'a impl AsStore) -> &'a LinearMemory {
        check_store(store.inner(), self.store_id);
        &store.inner().memories[self.addr as usize]
    }
    fn get_mut<'a, S: AsStoreMut>(&self, store: &'a mut S) -> &'a mut LinearMemory {
        check_store(store.inner(), self.store_id);
        &mut store.inner_mut().memories[self.addr as usize]
    }
    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsStore) -> MemoryType {
        self.get(&store).ty()
    }
    /// Current size in pages.
    pub fn size(&self, store: impl AsStore) -> u64 {
        self.get(&store).pages()
    }
    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsStore) -> usize {
        self.get(&store).byte_len()
    }
    /// Grows by `delta` pages and returns the previous size in pages.
    pub fn grow(&self, mut store: impl AsStoreMut, delta: u64) -> Result<u64, Error> {
        let mem = self.get_mut(&mut store);
        mem.grow(delta).ok_or_else(|| {
            Error::Range(format!(
                "cannot grow memory of {} pages by {delta} (maximum {})",
                mem.pages(),
                mem.max_pages()
            ))
        })
    }
    /// The memory's bytes.
    pub fn data<'a, S: AsStore>(&self, store: &'a S) -> &'a [u8] {
        self.get(store).data()
    }
    /// The memory's bytes, mutably.
    pub fn data_mut<'a, S: AsStoreMut>(&self, store: &'a mut S) -> &'a mut [u8] {
        self.get_mut(store).data_mut()
    }
    /// The memory's bytes and the store's host state at once (a host function that copies
    /// between guest memory and its own state needs both).
    pub fn data_and_store_mut<'a, S: AsStoreMut>(
        &self,
        store: &'a mut S,
    ) -> (&'a mut [u8], &'a mut S::Data) {
        let (inner, data) = store.inner_and_data();
        check_store(inner, self.store_id);
        (inner.memories[self.addr as usize].data_mut(), data)
    }
    /// Copies bytes out of memory; an out-of-range access is an error, not a panic.
    pub fn read(&self, store: impl AsStore, offset: usize, buf: &mut [u8]) -> Result<(), Error> {
        let data = self.get(&store).data();
        let src = offset
            .checked_add(buf.len())
            .and_then(|end| data.get(offset..end))
            .ok_or_else(|| Error::Range("memory read out of bounds".into()))?;
        buf.copy_from_slice(src);
        Ok(())
    }
    /// Copies bytes into memory; an out-of-range access is an error, not a panic.
    pub fn write(
        &self,
        mut store: impl AsStoreMut,
        offset: usize,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let data = self.get_mut(&mut store).data_mut();
        let dst = offset
            .checked_add(bytes.len())
            .and_then(|end| data.get_mut(offset..end))
            .ok_or_else(|| Error::Range("memory write out of bounds".into()))?;
        dst.copy_from_slice(bytes);
        Ok(())
    }
    /// Bytes in a wasm page (64 KiB).
    pub const PAGE_SIZE: u64 = WASM_PAGE_SIZE;
}

/// A table of references (`WebAssembly.Table`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store_id: u64,
    pub(crate) addr: TableAddr,
}

fn check_ref(store: &strata_vm::StoreInner, ty: TableType, v: &Val) -> Result<u64, Error> {
    if v.ty() != ty.elem {
        return Err(Error::Type(format!("expected {}, got {}", ty.elem, v.ty())));
    }
    crate::values::check_typed_ref(store, ty.ref_type(), v).map_err(Error::Type)?;
    Ok(v.to_cell(store))
}

/// Checks `val` against global type `ty`: its cell type, and a typed reference's type.
fn check_global_value(
    store: &strata_vm::StoreInner,
    ty: GlobalType,
    val: &Val,
    what: &str,
) -> Result<(), Error> {
    if val.ty() != ty.content {
        return Err(Error::Type(format!(
            "global of type {} {what} {}",
            ty.content,
            val.ty()
        )));
    }
    if let Some(want) = ty.ref_type() {
        crate::values::check_typed_ref(store, want, val).map_err(Error::Type)?;
    }
    Ok(())
}

impl Table {
    /// A new table of type `ty` with every element set to `init`.
    pub fn new(mut store: impl AsStoreMut, ty: TableType, init: Val) -> Result<Table, Error> {
        let inner = store.inner_mut();
        let cell = check_ref(inner, ty, &init)?;
        let addr = inner.add_table(ty, cell).map_err(Error::Range)?;
        Ok(Table {
            store_id: inner.id,
            addr,
        })
    }
    /// The table's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsStore) -> TableType {
        check_store(store.inner(), self.store_id);
        store.inner().tables[self.addr as usize].current_type()
    }
    /// The number of elements.
    pub fn size(&self, store: impl AsStore) -> u64 {
        check_store(store.inner(), self.store_id);
        store.inner().tables[self.addr as usize].elems.len() as u64
    }
    /// Element `index`, or `None` past the end.
    pub fn get(&self, store: impl AsStore, index: u64) -> Option<Val> {
        let inner = store.inner();
        check_store(inner, self.store_id);
        let t = &inner.tables[self.addr as usize];
        let cell = *t.elems.get(usize::try_from(index).ok()?)?;
        Some(Val::from_cell(inner, t.ty.elem, cell))
    }
    /// Sets element `index`; a wrong type or an index past the end is an error.
    pub fn set(&self, mut store: impl AsStoreMut, index: u64, val: Val) -> Result<(), Error> {
        let inner = store.inner_mut();
        check_store(inner, self.store_id);
        let cell = check_ref(inner, inner.tables[self.addr as usize].ty, &val)?;
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| inner.tables[self.addr as usize].elems.get_mut(i))
            .ok_or_else(|| Error::Range(format!("table index {index} out of bounds")))?;
        *slot = cell;
        Ok(())
    }
    /// Grows by `delta` elements set to `init`; returns the previous size.
    pub fn grow(&self, mut store: impl AsStoreMut, delta: u64, init: Val) -> Result<u64, Error> {
        let inner = store.inner_mut();
        check_store(inner, self.store_id);
        let cell = check_ref(inner, inner.tables[self.addr as usize].ty, &init)?;
        inner.tables[self.addr as usize]
            .grow(delta, cell)
            .ok_or_else(|| Error::Range(format!("cannot grow table by {delta}")))
    }
}

/// A global variable (`WebAssembly.Global`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store_id: u64,
    pub(crate) addr: GlobalAddr,
}

impl Global {
    /// A new global of type `ty` holding `val`.
    pub fn new(mut store: impl AsStoreMut, ty: GlobalType, val: Val) -> Result<Global, Error> {
        let inner = store.inner_mut();
        check_global_value(inner, ty, &val, "initialised with")?;
        let bits = val.to_bits128(inner);
        let addr = inner.add_global128(ty, bits);
        Ok(Global {
            store_id: inner.id,
            addr,
        })
    }
    /// The global's type.
    pub fn ty(&self, store: impl AsStore) -> GlobalType {
        check_store(store.inner(), self.store_id);
        store.inner().globals[self.addr as usize].ty
    }
    /// The current value.
    pub fn get(&self, store: impl AsStore) -> Val {
        let inner = store.inner();
        check_store(inner, self.store_id);
        let g = &inner.globals[self.addr as usize];
        Val::from_bits128(inner, g.ty.content, g.get128())
    }
    /// Sets the value: an immutable global or a value of the wrong type is an error.
    pub fn set(&self, mut store: impl AsStoreMut, val: Val) -> Result<(), Error> {
        let inner = store.inner_mut();
        check_store(inner, self.store_id);
        let ty = inner.globals[self.addr as usize].ty;
        if !ty.mutable {
            return Err(Error::Type("cannot set an immutable global".into()));
        }
        check_global_value(inner, ty, &val, "set to")?;
        let bits = val.to_bits128(inner);
        inner.globals[self.addr as usize].set128(bits);
        Ok(())
    }
}

/// An exception tag (`WebAssembly.Tag`). Tags can be created, imported and exported; a tag's
/// identity is its store address, so every alias of one imported tag catches its exceptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store_id: u64,
    pub(crate) addr: TagAddr,
}

impl Tag {
    /// A new tag of type `ty`.
    pub fn new(mut store: impl AsStoreMut, ty: TagType) -> Tag {
        let inner = store.inner_mut();
        let addr = inner.add_tag(ty);
        Tag {
            store_id: inner.id,
            addr,
        }
    }
    /// The tag's type.
    pub fn ty(&self, store: impl AsStore) -> TagType {
        check_store(store.inner(), self.store_id);
        store.inner().tags[self.addr as usize].ty.clone()
    }
}

/// An exception (`WebAssembly.Exception`): an object of the store's exception heap with its
/// tag and payload read out (they never change). A host function throws one into wasm by
/// returning `Err(exception.into())`; an exception no wasm handler catches reaches the host
/// as `Error::Exception` (or `RuntimeError::exception` from a typed call). Equality is
/// identity: a rethrown exception is the same exception.
#[derive(Clone, Debug)]
pub struct Exception {
    store_id: u64,
    /// The `exnref` cell (docs/abi.md §10).
    cell: u64,
    tag: Tag,
    payload: std::sync::Arc<[Val]>,
}

impl PartialEq for Exception {
    fn eq(&self, other: &Exception) -> bool {
        self.store_id == other.store_id && self.cell == other.cell
    }
}

impl Exception {
    /// A new exception of `tag` carrying `payload`, which must match the tag's type
    /// (`TypeError` otherwise, as in the JS interface).
    pub fn new(
        mut store: impl AsStoreMut,
        tag: Tag,
        payload: Vec<Val>,
    ) -> Result<Exception, Error> {
        let ty = tag.ty(&store);
        let types: Vec<ValType> = payload.iter().map(Val::ty).collect();
        if types.as_slice() != &*ty.params {
            return Err(Error::Type(format!(
                "exception payload {types:?} does not match tag type {:?}",
                ty.params
            )));
        }
        let inner = store.inner_mut();
        for (i, v) in payload.iter().enumerate() {
            if let Some(want) = ty.ref_type_at(i) {
                crate::values::check_typed_ref(inner, want, v)
                    .map_err(|e| Error::Type(format!("exception payload {i}: {e}")))?;
            }
        }
        let mut cells = Vec::new();
        for v in &payload {
            v.to_cells(inner, &mut cells);
        }
        let cell = inner
            .exns
            .alloc(tag.addr, &cells)
            .map_err(|t| Error::Range(t.message().to_string()))?;
        // The host holds it: it may be thrown again, so it is never freed.
        inner.exns.keep(cell);
        Ok(Exception {
            store_id: inner.id,
            cell,
            tag,
            payload: payload.into(),
        })
    }

    /// The exception behind `exnref` cell `cell` of `store` (not null), kept alive from now on.
    pub(crate) fn from_cell(store: &StoreInner, cell: u64) -> Option<Exception> {
        let e = store.exns.get(cell)?;
        let ty = &store.tags[e.tag as usize].ty;
        let mut at = 0;
        let payload = ty
            .params
            .iter()
            .map(|t| {
                let v = Val::from_cells(store, *t, &e.payload[at..]);
                at += t.cells() as usize;
                v
            })
            .collect();
        Some(Exception {
            store_id: store.id,
            cell,
            tag: Tag {
                store_id: store.id,
                addr: e.tag,
            },
            payload,
        })
    }

    /// The `exnref` cell, checking the store.
    pub(crate) fn cell(&self, store: &StoreInner) -> u64 {
        check_store(store, self.store_id);
        self.cell
    }

    /// The exception's tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }
    /// Whether the exception is of `tag` (`Exception.prototype.is`).
    pub fn is(&self, tag: Tag) -> bool {
        self.tag == tag
    }
    /// Payload value `index` of an exception of `tag` (`Exception.prototype.getArg`): a
    /// `TypeError` if the exception is not of `tag`, a `RangeError` past the payload.
    pub fn get_arg(&self, tag: Tag, index: usize) -> Result<Val, Error> {
        if !self.is(tag) {
            return Err(Error::Type("the exception is not of this tag".into()));
        }
        self.payload.get(index).cloned().ok_or_else(|| {
            Error::Range(format!(
                "argument {index} of an exception with {} arguments",
                self.payload.len()
            ))
        })
    }
    /// The whole payload.
    pub fn payload(&self) -> &[Val] {
        &self.payload
    }
}

/// A host function throws an exception into wasm by returning it as its error.
impl From<Exception> for Trap {
    fn from(e: Exception) -> Trap {
        Trap::exception(e.cell)
    }
}
