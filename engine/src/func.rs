//! Functions: wasm exports and host functions, callable with `Val`s or with typed arguments.

use crate::error::{Error, RuntimeError};
use crate::store::{check_store, AsStore, AsStoreMut, Caller};
use crate::values::Val;
use std::marker::PhantomData;
use std::sync::Arc;
use strata_vm::{FuncAddr, FuncType, HostContext, Trap, ValType};

/// A function in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store_id: u64,
    pub(crate) addr: FuncAddr,
}

impl Func {
    /// A host function of type `ty`. It reads its arguments from `params` and must write
    /// every result into `results` (which arrive set to zero values of the result types).
    pub fn new(
        mut store: impl AsStoreMut,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let engine = store.engine().clone();
        let sig = ty.clone();
        let host = move |cx: &mut HostContext<'_>, args: &[u64], results: &mut [u64]| {
            let mut at = 0;
            let params: Vec<Val> = sig
                .params()
                .iter()
                .map(|t| {
                    let v = Val::from_cells(cx.store, *t, &args[at..]);
                    at += t.cells() as usize;
                    v
                })
                .collect();
            let mut vals: Vec<Val> = sig.results().iter().map(|t| Val::default_for(*t)).collect();
            f(
                Caller {
                    inner: cx.store,
                    engine: &engine,
                    instance: cx.caller,
                },
                &params,
                &mut vals,
            )?;
            let mut cells = Vec::with_capacity(results.len());
            for (v, t) in vals.iter().zip(sig.results()) {
                if v.ty() != *t {
                    return Err(Trap::host(format!(
                        "host function returned {} where {t} was expected",
                        v.ty()
                    )));
                }
                v.to_cells(cx.store, &mut cells);
            }
            results.copy_from_slice(&cells);
            Ok(())
        };
        let inner = store.inner_mut();
        let addr = inner.add_host_func(&ty, Arc::new(host));
        Func {
            store_id: inner.id,
            addr,
        }
    }

    pub fn ty(&self, store: impl AsStore) -> FuncType {
        let inner = store.inner();
        check_store(inner, self.store_id);
        inner.func_type(self.addr).clone()
    }

    /// Calls the function. Arguments are checked against its type.
    pub fn call(&self, mut store: impl AsStoreMut, args: &[Val]) -> Result<Vec<Val>, Error> {
        let engine = store.engine().clone();
        let inner = store.inner_mut();
        check_store(inner, self.store_id);
        let ty = inner.func_type(self.addr).clone();
        if args.len() != ty.params().len() {
            return Err(Error::Type(format!(
                "expected {} arguments, got {}",
                ty.params().len(),
                args.len()
            )));
        }
        for (i, (a, t)) in args.iter().zip(ty.params()).enumerate() {
            if a.ty() != *t {
                return Err(Error::Type(format!(
                    "argument {i} is {} but the function takes {t}",
                    a.ty()
                )));
            }
        }
        let mut cells: Vec<u64> = Vec::with_capacity(ty.param_cells() as usize);
        for a in args {
            a.to_cells(inner, &mut cells);
        }
        let mut results = vec![0u64; ty.result_cells() as usize];
        crate::exec::invoke(&engine, inner, self.addr, &cells, &mut results)
            .map_err(|t| Error::Runtime(RuntimeError::new(t)))?;
        let mut at = 0;
        Ok(ty
            .results()
            .iter()
            .map(|t| {
                let v = Val::from_cells(inner, *t, &results[at..]);
                at += t.cells() as usize;
                v
            })
            .collect())
    }

    /// A typed view of the function, checked once here so calls need no checks.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsStore,
    ) -> Result<TypedFunc<P, R>, Error> {
        let ty = self.ty(store);
        if ty.params() != P::types().as_slice() || ty.results() != R::types().as_slice() {
            return Err(Error::Type(format!(
                "function type is {ty}, not the requested {}",
                FuncType::new(P::types(), R::types())
            )));
        }
        Ok(TypedFunc {
            func: *self,
            _marker: PhantomData,
        })
    }
}

/// A function whose type was checked against `P -> R`.
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    pub fn call(&self, mut store: impl AsStoreMut, params: P) -> Result<R, RuntimeError> {
        let engine = store.engine().clone();
        let inner = store.inner_mut();
        check_store(inner, self.func.store_id);
        let mut cells = Vec::with_capacity(8);
        params.to_cells(&mut cells);
        let mut results = [0u64; 32];
        let n = R::types().iter().map(|t| t.cells() as usize).sum::<usize>();
        crate::exec::invoke(&engine, inner, self.func.addr, &cells, &mut results[..n])
            .map_err(RuntimeError::new)?;
        Ok(R::from_cells(&results[..n]))
    }
    pub fn func(&self) -> Func {
        self.func
    }
}

/// A Rust type that maps to one wasm number type.
pub trait WasmTy: Sized {
    const TYPE: ValType;
    fn to_cell(self) -> u64;
    fn from_cell(cell: u64) -> Self;
    /// Appends the value's cells (two for a v128).
    fn push_cells(self, out: &mut Vec<u64>) {
        out.push(self.to_cell());
    }
    /// Reads the value from `cells` at `*at`, moving `*at` past its cells.
    fn read_cells(cells: &[u64], at: &mut usize) -> Self {
        let v = Self::from_cell(cells[*at]);
        *at += 1;
        v
    }
}

/// `u128` is a v128 (lane 0 in the least significant bits), two cells.
impl WasmTy for u128 {
    const TYPE: ValType = ValType::V128;
    fn to_cell(self) -> u64 {
        self as u64
    }
    fn from_cell(cell: u64) -> Self {
        cell as u128
    }
    fn push_cells(self, out: &mut Vec<u64>) {
        out.extend([self as u64, (self >> 64) as u64]);
    }
    fn read_cells(cells: &[u64], at: &mut usize) -> Self {
        let v = cells[*at] as u128 | (cells[*at + 1] as u128) << 64;
        *at += 2;
        v
    }
}

/// `[u8; 16]` is a v128 as its bytes in memory order.
impl WasmTy for [u8; 16] {
    const TYPE: ValType = ValType::V128;
    fn to_cell(self) -> u64 {
        u128::from_le_bytes(self) as u64
    }
    fn from_cell(cell: u64) -> Self {
        (cell as u128).to_le_bytes()
    }
    fn push_cells(self, out: &mut Vec<u64>) {
        u128::from_le_bytes(self).push_cells(out)
    }
    fn read_cells(cells: &[u64], at: &mut usize) -> Self {
        u128::read_cells(cells, at).to_le_bytes()
    }
}

macro_rules! wasm_ty {
    ($t:ty, $vt:ident, |$s:ident| $to:expr, |$c:ident| $from:expr) => {
        impl WasmTy for $t {
            const TYPE: ValType = ValType::$vt;
            fn to_cell($s) -> u64 {
                $to
            }
            fn from_cell($c: u64) -> Self {
                $from
            }
        }
    };
}

wasm_ty!(i32, I32, |self| self as u32 as u64, |c| c as u32 as i32);
wasm_ty!(u32, I32, |self| self as u64, |c| c as u32);
wasm_ty!(i64, I64, |self| self as u64, |c| c as i64);
wasm_ty!(u64, I64, |self| self, |c| c);
wasm_ty!(f32, F32, |self| self.to_bits() as u64, |c| f32::from_bits(
    c as u32
));
wasm_ty!(f64, F64, |self| self.to_bits(), |c| f64::from_bits(c));

/// Parameters of a typed call: a `WasmTy` or a tuple of them.
pub trait WasmParams {
    fn types() -> Vec<ValType>;
    fn to_cells(self, out: &mut Vec<u64>);
}

/// Results of a typed call: `()`, a `WasmTy` or a tuple of them (at most 16).
pub trait WasmResults: Sized {
    fn types() -> Vec<ValType>;
    fn from_cells(cells: &[u64]) -> Self;
}

impl<T: WasmTy> WasmParams for T {
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    fn to_cells(self, out: &mut Vec<u64>) {
        self.push_cells(out);
    }
}

impl<T: WasmTy> WasmResults for T {
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    fn from_cells(cells: &[u64]) -> Self {
        T::read_cells(cells, &mut 0)
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),*)),* $(,)?) => {$(
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[allow(unused_variables)]
            fn to_cells(self, out: &mut Vec<u64>) {
                $(self.$i.push_cells(out);)*
            }
        }
        impl<$($t: WasmTy),*> WasmResults for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn from_cells(cells: &[u64]) -> Self {
                let mut at = 0;
                let _ = &mut at;
                ($($t::read_cells(cells, &mut at),)*)
            }
        }
    )*};
}

tuples! {
    (),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
}
