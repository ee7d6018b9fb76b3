//! Values crossing the API boundary, and their conversion to the runtime's 64-bit cells.

use crate::externals::Exception;
use crate::func::Func;
use crate::store::{check_store, AsStore, AsStoreMut};
use std::any::Any;
use std::sync::Arc;
use strata_vm::{cell_funcref, funcref_cell, HeapType, RefType, StoreInner, ValType};

/// A wasm value. Floats are kept as their bits so NaN payloads survive.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// The bits of an f32.
    F32(u32),
    /// The bits of an f64.
    F64(u64),
    /// A v128, lane 0 in the least significant bits (little endian, as in memory).
    V128(u128),
    /// A `funcref` (`None`: null).
    FuncRef(Option<Func>),
    /// An `externref` (`None`: null).
    ExternRef(Option<ExternRef>),
    /// An `exnref` (`None`: null).
    ExnRef(Option<Exception>),
}

impl Val {
    /// An `f32` value.
    pub fn f32(x: f32) -> Val {
        Val::F32(x.to_bits())
    }
    /// An `f64` value.
    pub fn f64(x: f64) -> Val {
        Val::F64(x.to_bits())
    }
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::ExnRef,
        }
    }
    /// The null reference of a reference type, zero of a number type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
            ValType::ExnRef => Val::ExnRef(None),
        }
    }
    /// The `v128`, if this is one.
    pub fn v128(&self) -> Option<u128> {
        match self {
            Val::V128(v) => Some(*v),
            _ => None,
        }
    }
    /// The `i32`, if this is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }
    /// The `i64`, if this is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }
    /// The `f32`, if this is one.
    pub fn to_f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }
    /// The `f64`, if this is one.
    pub fn to_f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// The raw cells (one, or two for a v128: docs/abi.md §1), appended to `out`.
    pub(crate) fn to_cells(&self, store: &StoreInner, out: &mut Vec<u64>) {
        match self {
            Val::V128(v) => out.extend([*v as u64, (*v >> 64) as u64]),
            _ => out.push(self.to_cell(store)),
        }
    }

    /// The value as 128 bits (globals store a v128's high half beside the cell).
    pub(crate) fn to_bits128(&self, store: &StoreInner) -> u128 {
        match self {
            Val::V128(v) => *v,
            _ => self.to_cell(store) as u128,
        }
    }

    /// A value of type `ty` read from the start of `cells` (two cells for a v128).
    pub(crate) fn from_cells(store: &StoreInner, ty: ValType, cells: &[u64]) -> Val {
        match ty {
            ValType::V128 => Val::V128(cells[0] as u128 | (cells[1] as u128) << 64),
            _ => Val::from_cell(store, ty, cells[0]),
        }
    }

    /// A value of type `ty` from 128 bits (only a v128 uses the high half).
    pub(crate) fn from_bits128(store: &StoreInner, ty: ValType, bits: u128) -> Val {
        match ty {
            ValType::V128 => Val::V128(bits),
            _ => Val::from_cell(store, ty, bits as u64),
        }
    }

    /// The raw cell, checking that references belong to `store` (a v128's low half).
    pub(crate) fn to_cell(&self, store: &StoreInner) -> u64 {
        match self {
            Val::V128(v) => *v as u64,
            Val::I32(v) => *v as u32 as u64,
            Val::I64(v) => *v as u64,
            Val::F32(v) => *v as u64,
            Val::F64(v) => *v,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => 0,
            Val::ExnRef(Some(e)) => e.cell(store),
            Val::FuncRef(Some(f)) => {
                check_store(store, f.store_id);
                funcref_cell(f.addr)
            }
            Val::ExternRef(Some(e)) => {
                check_store(store, e.store_id);
                e.index as u64 + 1
            }
        }
    }

    pub(crate) fn from_cell(store: &StoreInner, ty: ValType, cell: u64) -> Val {
        match ty {
            ValType::I32 => Val::I32(cell as u32 as i32),
            ValType::I64 => Val::I64(cell as i64),
            ValType::F32 => Val::F32(cell as u32),
            ValType::F64 => Val::F64(cell),
            ValType::V128 => Val::V128(cell as u128),
            ValType::FuncRef => Val::FuncRef(cell_funcref(cell).map(|addr| Func {
                store_id: store.id,
                addr,
            })),
            ValType::ExternRef => Val::ExternRef(cell.checked_sub(1).map(|i| ExternRef {
                store_id: store.id,
                index: i as u32,
            })),
            ValType::ExnRef => Val::ExnRef(Exception::from_cell(store, cell)),
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::f32(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::f64(v)
    }
}
impl From<u128> for Val {
    fn from(v: u128) -> Val {
        Val::V128(v)
    }
}
impl From<[u8; 16]> for Val {
    fn from(v: [u8; 16]) -> Val {
        Val::V128(u128::from_le_bytes(v))
    }
}

/// A reference to a host object, passed to wasm as `externref`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store_id: u64,
    pub(crate) index: u32,
}

impl ExternRef {
    /// A reference to `value`, owned by the store.
    pub fn new(mut store: impl AsStoreMut, value: impl Any + Send + Sync) -> ExternRef {
        let inner = store.inner_mut();
        let cell = inner.add_extern(Arc::new(value));
        ExternRef {
            store_id: inner.id,
            index: (cell - 1) as u32,
        }
    }
    /// The referenced host value (downcast it with `downcast_ref`).
    pub fn data<'a>(&self, store: &'a impl AsStore) -> &'a (dyn Any + Send + Sync) {
        let inner = store.inner();
        check_store(inner, self.store_id);
        &*inner.externs[self.index as usize]
    }
}

/// Checks that reference `v` (already of the right cell type) is a value of the precise type
/// `want`: not null when `want` is non-nullable, and a function of the very type a concrete
/// `(ref $t)` names, since compiled code trusts those types (`call_ref` checks only for null).
pub(crate) fn check_typed_ref(store: &StoreInner, want: RefType, v: &Val) -> Result<(), String> {
    let is_null = matches!(
        v,
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None)
    );
    if is_null {
        return if want.nullable {
            Ok(())
        } else {
            Err(format!("null is not a value of type {want}"))
        };
    }
    match (want.heap, v) {
        (HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn, _) => {
            Err(format!("only null is a value of type {want}"))
        }
        (HeapType::Concrete(id), Val::FuncRef(Some(f))) => {
            check_store(store, f.store_id);
            let ty = store.func_type(f.addr);
            if strata_vm::typeid::canonical_id(ty) == Some(id) {
                Ok(())
            } else {
                Err(format!(
                    "a function of type {ty} is not a value of type {want}"
                ))
            }
        }
        _ => Ok(()),
    }
}
