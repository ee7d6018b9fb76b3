//! Instantiation: link imports (type-checked), allocate the instance's objects, evaluate
//! constant expressions, and apply active segments in the spec's order.

use crate::memory::LinearMemory;
use crate::module::{ImportDesc, Module, SegmentMode};
use crate::store::*;
use crate::trap::{Trap, TrapCode};
use crate::types::*;
use crate::vmctx::{VMContext, VMFuncRecord, VMTableDefinition};
use std::sync::Arc;

/// An object in the store that can be imported or exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternAddr {
    Func(FuncAddr),
    Table(TableAddr),
    Memory(MemAddr),
    Global(GlobalAddr),
    Tag(TagAddr),
}

#[derive(Debug)]
pub enum InstantiateError {
    /// Import `index` of the module does not fit what was provided.
    Link { index: usize, reason: String },
    /// Allocation of a memory or table failed.
    Resource(String),
    /// A segment was out of bounds. The instance stays in the store: functions it placed in
    /// imported tables remain callable, as the spec requires.
    Trap(Trap),
}

impl StoreInner {
    /// The type of an object as it is now (current sizes), for import matching and reflection.
    pub fn extern_type(&self, e: ExternAddr) -> ExternType {
        match e {
            ExternAddr::Func(f) => ExternType::Func(self.func_type(f).clone()),
            ExternAddr::Table(t) => ExternType::Table(self.tables[t as usize].current_type()),
            ExternAddr::Memory(m) => ExternType::Memory(self.memories[m as usize].ty()),
            ExternAddr::Global(g) => ExternType::Global(self.globals[g as usize].ty),
            ExternAddr::Tag(t) => ExternType::Tag(self.tags[t as usize].ty.clone()),
        }
    }
}

fn check_import(
    store: &StoreInner,
    module: &Module,
    desc: &ImportDesc,
    given: ExternAddr,
) -> Result<(), String> {
    let mismatch = |want: String, have: ExternType| {
        Err(format!(
            "incompatible import type: expected {want}, found {have}"
        ))
    };
    let have = store.extern_type(given);
    match (desc, &have) {
        (ImportDesc::Func(t), ExternType::Func(f)) => {
            let want = &module.types[*t as usize];
            if want != f {
                return mismatch(want.to_string(), have);
            }
        }
        (ImportDesc::Table(want), ExternType::Table(t)) => {
            // Tables are mutable: the element types must be the same, not subtypes.
            if want.elem != t.elem
                || want.ref_type() != t.ref_type()
                || want.table64 != t.table64
                || !t.limits.matches(&want.limits)
            {
                return mismatch(ExternType::Table(*want).to_string(), have);
            }
        }
        (ImportDesc::Memory(want), ExternType::Memory(m)) => {
            if !m.limits.matches(&want.limits)
                || want.shared != m.shared
                || want.memory64 != m.memory64
            {
                return mismatch(ExternType::Memory(*want).to_string(), have);
            }
        }
        (ImportDesc::Global(want), ExternType::Global(g)) => {
            if !g.matches(want) {
                return mismatch(ExternType::Global(*want).to_string(), have);
            }
        }
        (ImportDesc::Tag(want), ExternType::Tag(t)) => {
            if want != t {
                return mismatch(ExternType::Tag(want.clone()).to_string(), have);
            }
        }
        _ => {
            let want = module.import_type(&module.imports[0]);
            let want_kind = match desc {
                ImportDesc::Func(_) => "function",
                ImportDesc::Table(_) => "table",
                ImportDesc::Memory(_) => "memory",
                ImportDesc::Global(_) => "global",
                ImportDesc::Tag(_) => "tag",
            };
            let _ = want;
            return Err(format!(
                "incompatible import type: expected a {want_kind}, found a {}",
                have.kind_name()
            ));
        }
    }
    Ok(())
}

/// Links and initialises an instance. Does not run the start function: the caller runs it
/// (through whichever tier executes code) when this returns `Ok`.
pub fn instantiate(
    store: &mut StoreInner,
    module: &Arc<Module>,
    imports: &[ExternAddr],
) -> Result<InstanceId, InstantiateError> {
    if imports.len() != module.imports.len() {
        return Err(InstantiateError::Link {
            index: imports.len().min(module.imports.len()),
            reason: format!(
                "expected {} imports, found {}",
                module.imports.len(),
                imports.len()
            ),
        });
    }
    for (index, (import, given)) in module.imports.iter().zip(imports).enumerate() {
        check_import(store, module, &import.desc, *given)
            .map_err(|reason| InstantiateError::Link { index, reason })?;
    }

    let id = store.instances.len() as InstanceId;
    let sigs: Box<[SigId]> = module.types.iter().map(|t| store.sigs.intern(t)).collect();

    let mut funcs = Vec::with_capacity(module.funcs.len());
    let mut tables = Vec::with_capacity(module.tables.len());
    let mut memories = Vec::with_capacity(module.memories.len());
    let mut globals = Vec::with_capacity(module.globals.len());
    let mut tags = Vec::with_capacity(module.tags.len());
    for given in imports {
        match *given {
            ExternAddr::Func(f) => funcs.push(f),
            ExternAddr::Table(t) => tables.push(t),
            ExternAddr::Memory(m) => memories.push(m),
            ExternAddr::Global(g) => globals.push(g),
            ExternAddr::Tag(t) => tags.push(t),
        }
    }
    for func_index in module.num_imported_funcs..module.funcs.len() as u32 {
        let sig = sigs[module.funcs[func_index as usize] as usize];
        let def_index = func_index - module.num_imported_funcs;
        funcs.push(store.push_func(
            FuncData {
                sig,
                kind: FuncKind::Wasm {
                    instance: id,
                    func_index,
                },
            },
            Some((id, def_index)),
        ));
    }
    let func_ref = |f: u32| funcref_cell(funcs[f as usize]);

    // Globals first: table initialisers may read them.
    for def in &module.globals[module.num_imported_globals as usize..] {
        let init = def
            .init
            .as_ref()
            .expect("defined global has an initialiser");
        let value = init.eval128(
            |g| store.globals[globals[g as usize] as usize].get128(),
            func_ref,
        );
        globals.push(store.add_global128(def.ty, value));
    }
    let global_cell =
        |store: &StoreInner, g: u32| store.globals[globals[g as usize] as usize].value;

    for def in &module.tables[module.num_imported_tables as usize..] {
        let init = def
            .init
            .as_ref()
            .map(|e| e.eval(|g| global_cell(store, g), func_ref))
            .unwrap_or(0);
        tables.push(
            store
                .add_table(def.ty, init)
                .map_err(InstantiateError::Resource)?,
        );
    }
    for ty in &module.memories[module.num_imported_memories as usize..] {
        let mem = LinearMemory::new(*ty, store.config.bounds_checks)
            .map_err(|e| InstantiateError::Resource(e.0))?;
        memories.push(store.add_memory(mem));
    }
    for ty in &module.tags[tags.len()..] {
        tags.push(store.add_tag(ty.clone()));
    }

    let elems: Vec<Box<[u64]>> = module
        .elems
        .iter()
        .map(|seg| {
            seg.items
                .iter()
                .map(|e| e.eval(|g| global_cell(store, g), func_ref))
                .collect()
        })
        .collect();
    // Offsets are evaluated before any segment is applied (they read only imported globals).
    let offset_of = |mode: &SegmentMode| match mode {
        SegmentMode::Active { offset, .. } => {
            Some(offset.eval(|g| global_cell(store, g), func_ref))
        }
        _ => None,
    };
    let segment_offsets: Vec<Option<u64>> =
        module.elems.iter().map(|s| offset_of(&s.mode)).collect();
    let data_offsets: Vec<Option<u64>> = module.datas.iter().map(|s| offset_of(&s.mode)).collect();

    let global_cells: Box<[usize]> = globals
        .iter()
        .map(|&g| &store.globals[g as usize].value as *const u64 as usize)
        .collect();
    let memory = memories
        .first()
        .map(|&m| store.memories[m as usize].definition());
    let memory_defs: Box<[usize]> = memories
        .iter()
        .map(|&m| store.memories[m as usize].definition() as usize)
        .collect();
    let table_defs: Box<[usize]> = tables
        .iter()
        .map(|&t| &*store.tables[t as usize].def as *const VMTableDefinition as usize)
        .collect();
    let sig_keys: Box<[u64]> = sigs.iter().map(|&s| VMFuncRecord::key(s, id)).collect();
    let vmctx = Box::new(VMContext {
        runtime: &mut *store.runtime,
        mem_base: memories
            .first()
            .map_or(std::ptr::null_mut(), |&m| store.memories[m as usize].base()),
        memory: memory.unwrap_or(std::ptr::null()),
        globals: global_cells.as_ptr(),
        code_slots: module.code_slots().as_ptr(),
        instance: id,
        memories: memory_defs.as_ptr(),
        tables: table_defs.as_ptr(),
        sig_keys: sig_keys.as_ptr(),
        table0: table_defs
            .first()
            .map_or(std::ptr::null(), |&t| t as *const VMTableDefinition),
        func_records: store.runtime.func_records,
        reg_slots: module.reg_slots().as_ptr(),
    });
    store.instances.push(InstanceData {
        module: module.clone(),
        sigs,
        sig_keys,
        funcs: funcs.into_boxed_slice(),
        tables: tables.into_boxed_slice(),
        memories: memories.into_boxed_slice(),
        globals: globals.into_boxed_slice(),
        tags: tags.into_boxed_slice(),
        elems,
        data_dropped: vec![false; module.datas.len()],
        global_cells,
        memory_defs,
        table_defs,
        vmctx,
    });

    // Active element segments, then active data segments; each is dropped once applied.
    for (i, seg) in module.elems.iter().enumerate() {
        match &seg.mode {
            SegmentMode::Active { index, .. } => {
                let offset = segment_offsets[i].unwrap_or(0);
                let len = store.instances[id as usize].elems[i].len() as u64;
                table_init(store, id, *index, i as u32, offset, 0, len)
                    .map_err(InstantiateError::Trap)?;
                store.instances[id as usize].elems[i] = Box::new([]);
            }
            SegmentMode::Declared => store.instances[id as usize].elems[i] = Box::new([]),
            SegmentMode::Passive => {}
        }
    }
    for (i, seg) in module.datas.iter().enumerate() {
        if let SegmentMode::Active { index, .. } = &seg.mode {
            let offset = data_offsets[i].unwrap_or(0);
            let len = seg.range.len() as u32;
            memory_init(store, id, *index, i as u32, offset, 0, len)
                .map_err(InstantiateError::Trap)?;
            store.instances[id as usize].data_dropped[i] = true;
        }
    }
    Ok(id)
}

/// `table.init`: copies `len` cells of element segment `seg` from `src` to table `table` at
/// `dst`. Shared by instantiation and every tier, which pass the operands' cells as they are
/// (`dst` in the table's index type, `src` and `len` i32: [`table_operand`]).
pub fn table_init(
    store: &mut StoreInner,
    inst: InstanceId,
    table: u32,
    seg: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> Result<(), Trap> {
    let instance = &store.instances[inst as usize];
    let addr = instance.tables[table as usize] as usize;
    let dst = table_operand(dst, store.tables[addr].ty.table64);
    let (src, len) = (src as u32, len as u32);
    let items = &instance.elems[seg as usize];
    let (dst, src, len) = (dst as usize, src as usize, len as usize);
    let table = &mut store.tables[addr];
    if src.checked_add(len).is_none_or(|end| end > items.len())
        || dst
            .checked_add(len)
            .is_none_or(|end| end > table.elems.len())
    {
        return Err(TrapCode::TableOutOfBounds.into());
    }
    table.elems[dst..dst + len].copy_from_slice(&items[src..src + len]);
    Ok(())
}

/// An address or length operand of memory `mem` as the wasm value it is: an i32 cell's upper
/// half is not part of the value (tiers leave it unspecified), an i64 cell is all of it.
fn index_value(mem: &LinearMemory, cell: u64) -> u64 {
    if mem.is_64() {
        cell
    } else {
        cell as u32 as u64
    }
}

/// `start .. start + len` if it lies within `size` bytes.
fn span(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size as u64).then_some(start as usize..end as usize)
}

/// `memory.init`: copies `len` bytes of data segment `seg` from `src` to memory `mem` at `dst`
/// (`dst` an address cell of that memory's index type).
pub fn memory_init(
    store: &mut StoreInner,
    inst: InstanceId,
    mem: u32,
    seg: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> Result<(), Trap> {
    let instance = &store.instances[inst as usize];
    let addr = instance.memories[mem as usize] as usize;
    let range = if instance.data_dropped[seg as usize] {
        0..0
    } else {
        instance.module.datas[seg as usize].range.clone()
    };
    let bytes = &instance.module.bytes[range];
    let memory = &mut store.memories[addr];
    let dst = index_value(memory, dst);
    let data = memory.data_mut();
    match (
        span(src as u64, len as u64, bytes.len()),
        span(dst, len as u64, data.len()),
    ) {
        (Some(s), Some(d)) => {
            data[d].copy_from_slice(&bytes[s]);
            Ok(())
        }
        _ => Err(TrapCode::MemoryOutOfBounds.into()),
    }
}

/// `memory.copy` from memory `src_mem` of `inst` to its memory `dst_mem` (overlapping
/// ranges allowed). Operands are cells: each address of its memory's index type, the length
/// i64 only when both memories are 64-bit. Shared by every tier.
#[allow(clippy::too_many_arguments)]
pub fn memory_copy(
    store: &mut StoreInner,
    inst: InstanceId,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> Result<(), Trap> {
    let data = &store.instances[inst as usize];
    let (md, ms) = (
        data.memories[dst_mem as usize] as usize,
        data.memories[src_mem as usize] as usize,
    );
    let (d, s) = (
        index_value(&store.memories[md], dst),
        index_value(&store.memories[ms], src),
    );
    let n = if store.memories[md].is_64() && store.memories[ms].is_64() {
        len
    } else {
        len as u32 as u64
    };
    let oob = || Trap::from(TrapCode::MemoryOutOfBounds);
    let sr = span(s, n, store.memories[ms].byte_len()).ok_or_else(oob)?;
    let dr = span(d, n, store.memories[md].byte_len()).ok_or_else(oob)?;
    if md == ms {
        store.memories[md].data_mut().copy_within(sr, dr.start);
    } else {
        // SAFETY: two distinct memories never overlap (separate reservations), and both
        // ranges were checked against their memory's accessible size.
        unsafe {
            std::ptr::copy_nonoverlapping(
                store.memories[ms].base().add(sr.start),
                store.memories[md].base().add(dr.start),
                n as usize,
            )
        };
    }
    Ok(())
}

/// `memory.fill` on memory `mem` of `inst` (`dst`, `len` cells of its index type).
pub fn memory_fill(
    store: &mut StoreInner,
    inst: InstanceId,
    mem: u32,
    dst: u64,
    val: u8,
    len: u64,
) -> Result<(), Trap> {
    let m = store.instances[inst as usize].memories[mem as usize];
    let memory = &mut store.memories[m as usize];
    let (d, n) = (index_value(memory, dst), index_value(memory, len));
    let data = memory.data_mut();
    let r = span(d, n, data.len()).ok_or_else(|| Trap::from(TrapCode::MemoryOutOfBounds))?;
    data[r].fill(val);
    Ok(())
}

/// `memory.grow` on memory `mem` of `inst` by `delta` pages (a cell of its index type):
/// the old size in pages, or -1 of the index type (`u32::MAX` or `u64::MAX`).
pub fn memory_grow(store: &mut StoreInner, inst: InstanceId, mem: u32, delta: u64) -> u64 {
    let m = store.instances[inst as usize].memories[mem as usize];
    let memory = &mut store.memories[m as usize];
    let delta = index_value(memory, delta);
    let failed = if memory.is_64() {
        u64::MAX
    } else {
        u32::MAX as u64
    };
    memory.grow(delta).unwrap_or(failed)
}

/// `memory.size` of memory `mem` of `inst`, in pages.
pub fn memory_size(store: &StoreInner, inst: InstanceId, mem: u32) -> u64 {
    let m = store.instances[inst as usize].memories[mem as usize];
    store.memories[m as usize].pages()
}

/// `table.fill` of table `table` of `inst` with the reference cell `val`.
pub fn table_fill(
    store: &mut StoreInner,
    inst: InstanceId,
    table: u32,
    index: u64,
    val: u64,
    len: u64,
) -> Result<(), Trap> {
    let t = store.instances[inst as usize].tables[table as usize];
    let table64 = store.tables[t as usize].ty.table64;
    let (index, len) = (table_operand(index, table64), table_operand(len, table64));
    let elems = &mut store.tables[t as usize].elems;
    let (i, n) = (index as usize, len as usize);
    if i + n > elems.len() {
        return Err(TrapCode::TableOutOfBounds.into());
    }
    elems[i..i + n].fill(val);
    Ok(())
}

/// `table.copy` between tables of `inst` (the same table: overlapping ranges allowed).
pub fn table_copy(
    store: &mut StoreInner,
    inst: InstanceId,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> Result<(), Trap> {
    let data = &store.instances[inst as usize];
    let (td, ts) = (
        data.tables[dst_table as usize] as usize,
        data.tables[src_table as usize] as usize,
    );
    // Each index has its table's type; the length is i64 only between two i64 tables.
    let (d64, s64) = (store.tables[td].ty.table64, store.tables[ts].ty.table64);
    let (dst, src, len) = (
        table_operand(dst, d64),
        table_operand(src, s64),
        table_operand(len, d64 && s64),
    );
    let (d, s, n) = (dst as usize, src as usize, len as usize);
    let tables = &mut store.tables;
    if s + n > tables[ts].elems.len() || d + n > tables[td].elems.len() {
        return Err(TrapCode::TableOutOfBounds.into());
    }
    if td == ts {
        tables[td].elems.copy_within(s..s + n, d);
    } else {
        let items: Vec<u64> = tables[ts].elems[s..s + n].to_vec();
        tables[td].elems[d..d + n].copy_from_slice(&items);
    }
    Ok(())
}
