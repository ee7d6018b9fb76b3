//! Functions: wasm exports and host functions, callable with `Val`s or with typed arguments.

use crate::error::{Error, RuntimeError};
use crate::host_data::DataPtr;
use crate::store::{check_store, AsStore, AsStoreMut, Caller};
use crate::values::ExternRef;
use crate::values::Val;
use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use strata_vm::{cell_funcref, funcref_cell, FuncAddr, FuncType, HostContext, Trap, ValType};

/// A function in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store_id: u64,
    pub(crate) addr: FuncAddr,
}

/// A host function over raw cells, generic over the store's host state: what
/// [`Func::new`], [`Func::wrap`] and the [`Linker`](crate::Linker) build.
#[doc(hidden)]
pub type RawHostFn<T> =
    Arc<dyn Fn(Caller<'_, T>, &[u64], &mut [u64]) -> Result<(), Trap> + Send + Sync>;

impl Func {
    /// A host function of type `ty`. It reads its arguments from `params` and must write
    /// every result into `results` (which arrive set to zero values of the result types).
    /// [`Func::wrap`] is simpler when the types are known in Rust.
    pub fn new<T: 'static>(
        store: impl AsStoreMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let raw = dynamic_host_fn(ty.clone(), f);
        Func::from_raw_host(store, &ty, raw)
    }

    /// A host function from a Rust closure whose parameter and result types give the wasm
    /// type: parameters are [`WasmTy`] values, optionally preceded by a [`Caller`]; the result
    /// is `()`, a `WasmTy`, a tuple of them, or a `Result` of those with a [`Trap`].
    ///
    /// ```
    /// use strata::*;
    /// let engine = Engine::default();
    /// let mut store = Store::with_data(&engine, Vec::<i32>::new());
    /// let log = Func::wrap(&mut store, |mut caller: Caller<'_, Vec<i32>>, x: i32| {
    ///     caller.data_mut().push(x);
    /// });
    /// let div = Func::wrap(&mut store, |a: i32, b: i32| -> Result<(i32, i32), Trap> {
    ///     if b == 0 {
    ///         return Err(Trap::host("division by zero".to_string()));
    ///     }
    ///     Ok((a / b, a % b))
    /// });
    /// log.call(&mut store, &[Val::I32(7)]).unwrap();
    /// assert_eq!(store.data(), &[7]);
    /// let q = div.typed::<(i32, i32), (i32, i32)>(&store).unwrap();
    /// assert_eq!(q.call(&mut store, (7, 2)).unwrap(), (3, 1));
    /// assert!(q.call(&mut store, (1, 0)).is_err());
    /// ```
    pub fn wrap<T: 'static, Params, Results>(
        store: impl AsStoreMut<Data = T>,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, raw) = f.into_raw_host();
        Func::from_raw_host(store, &ty, raw)
    }

    /// Registers a raw host function in the store.
    pub(crate) fn from_raw_host<T: 'static>(
        mut store: impl AsStoreMut<Data = T>,
        ty: &FuncType,
        raw: RawHostFn<T>,
    ) -> Func {
        let engine = store.engine().clone();
        let data = DataPtr(store.data_ptr());
        let host = move |cx: &mut HostContext<'_>, args: &[u64], results: &mut [u64]| {
            let caller = Caller {
                inner: cx.store,
                engine: &engine,
                instance: cx.caller,
                data,
                _data: PhantomData,
            };
            // A panic must not unwind through wasm frames (compiled code has no unwind
            // tables: the process would abort). It leaves wasm as a trap and is resumed as a
            // panic where the embedder called in (`resume_host_panic`), as in wasmtime.
            match std::panic::catch_unwind(AssertUnwindSafe(|| raw(caller, args, results))) {
                Ok(r) => r,
                Err(payload) => {
                    HOST_PANIC.with(|p| p.set(Some(payload)));
                    Err(Trap::host("a host function panicked".to_string()))
                }
            }
        };
        let inner = store.inner_mut();
        let addr = inner.add_host_func(ty, Arc::new(host));
        Func {
            store_id: inner.id,
            addr,
        }
    }

    /// The function's type.
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
            if let Some(want) = ty.ref_type_at(i) {
                crate::values::check_typed_ref(inner, want, a)
                    .map_err(|e| Error::Type(format!("argument {i}: {e}")))?;
            }
        }
        let mut cells: Vec<u64> = Vec::with_capacity(ty.param_cells() as usize);
        for a in args {
            a.to_cells(inner, &mut cells);
        }
        let mut results = vec![0u64; ty.result_cells() as usize];
        crate::exec::invoke(&engine, inner, self.addr, &cells, &mut results).map_err(|t| {
            resume_host_panic();
            let e = RuntimeError::in_store(t, inner);
            match e.exception() {
                Some(exn) => Error::Exception(exn.clone()),
                None => Error::Runtime(e),
            }
        })?;
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
        // A typed reference parameter needs the checks `call` makes on every argument.
        let typed_param = (0..ty.params().len())
            .any(|i| ty.ref_type_at(i).and_then(|r| r.unless_plain()).is_some());
        if typed_param
            || ty.params() != P::types().as_slice()
            || ty.results() != R::types().as_slice()
        {
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

thread_local! {
    /// The payload of a host function's panic, on its way out of wasm.
    static HOST_PANIC: Cell<Option<Box<dyn Any + Send>>> = const { Cell::new(None) };
}

/// Resumes a host function's panic once the wasm frames it crossed are gone: call it where
/// a call from the embedder returns with a trap.
pub(crate) fn resume_host_panic() {
    if let Some(payload) = HOST_PANIC.with(Cell::take) {
        std::panic::resume_unwind(payload);
    }
}

/// Adapts a host function over `Val`s to the raw cell interface.
pub(crate) fn dynamic_host_fn<T: 'static>(
    sig: FuncType,
    f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
) -> RawHostFn<T> {
    Arc::new(
        move |caller: Caller<'_, T>, args: &[u64], results: &mut [u64]| {
            let mut at = 0;
            let params: Vec<Val> = sig
                .params()
                .iter()
                .map(|t| {
                    let v = Val::from_cells(caller.inner, *t, &args[at..]);
                    at += t.cells() as usize;
                    v
                })
                .collect();
            let mut vals: Vec<Val> = sig.results().iter().map(|t| Val::default_for(*t)).collect();
            let Caller {
                inner,
                engine,
                instance,
                data,
                _data,
            } = caller;
            f(
                Caller {
                    inner: &mut *inner,
                    engine,
                    instance,
                    data,
                    _data,
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
                v.to_cells(inner, &mut cells);
            }
            results.copy_from_slice(&cells);
            Ok(())
        },
    )
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
    /// Calls the function (no type checks: they were done when it was made typed).
    pub fn call(&self, mut store: impl AsStoreMut, params: P) -> Result<R, RuntimeError> {
        let engine = store.engine().clone();
        let inner = store.inner_mut();
        check_store(inner, self.func.store_id);
        let mut cells = Vec::with_capacity(8);
        params.to_cells(&mut cells, inner.id);
        let mut results = [0u64; 32];
        let n = R::types().iter().map(|t| t.cells() as usize).sum::<usize>();
        crate::exec::invoke(&engine, inner, self.func.addr, &cells, &mut results[..n]).map_err(
            |t| {
                resume_host_panic();
                RuntimeError::in_store(t, inner)
            },
        )?;
        Ok(R::from_cells(&results[..n], inner.id))
    }
    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// A Rust type that maps to one wasm value type: `i32`/`u32` (i32), `i64`/`u64` (i64),
/// `f32`, `f64`, `Option<Func>` (funcref) and `Option<ExternRef>` (externref).
pub trait WasmTy: Sized {
    /// The wasm type.
    const TYPE: ValType;
    /// The runtime cell of the value; `store` is the id of the store it goes into (a
    /// reference from another store is a bug in the embedder: a panic, as everywhere).
    #[doc(hidden)]
    fn to_cell(self, store: u64) -> u64;
    /// The value of a runtime cell of the store with id `store`.
    #[doc(hidden)]
    fn from_cell(cell: u64, store: u64) -> Self;
    /// Appends the value's cells (two for a v128: docs/abi.md §1).
    #[doc(hidden)]
    fn push_cells(self, out: &mut Vec<u64>, store: u64) {
        out.push(self.to_cell(store));
    }
    /// Reads the value from `cells` at `*at`, moving `*at` past its cells.
    #[doc(hidden)]
    fn read_cells(cells: &[u64], at: &mut usize, store: u64) -> Self {
        let v = Self::from_cell(cells[*at], store);
        *at += 1;
        v
    }
    /// Writes the value's cells into `out` at `*at`, moving `*at` past them.
    #[doc(hidden)]
    fn write_cells(self, out: &mut [u64], at: &mut usize, store: u64) {
        out[*at] = self.to_cell(store);
        *at += 1;
    }
}

/// `u128` is a v128 (lane 0 in the least significant bits), two cells.
impl WasmTy for u128 {
    const TYPE: ValType = ValType::V128;
    fn to_cell(self, _: u64) -> u64 {
        self as u64
    }
    fn from_cell(cell: u64, _: u64) -> Self {
        cell as u128
    }
    fn push_cells(self, out: &mut Vec<u64>, _: u64) {
        out.extend([self as u64, (self >> 64) as u64]);
    }
    fn read_cells(cells: &[u64], at: &mut usize, _: u64) -> Self {
        let v = cells[*at] as u128 | (cells[*at + 1] as u128) << 64;
        *at += 2;
        v
    }
    fn write_cells(self, out: &mut [u64], at: &mut usize, _: u64) {
        out[*at] = self as u64;
        out[*at + 1] = (self >> 64) as u64;
        *at += 2;
    }
}

/// `[u8; 16]` is a v128 as its bytes in memory order.
impl WasmTy for [u8; 16] {
    const TYPE: ValType = ValType::V128;
    fn to_cell(self, store: u64) -> u64 {
        u128::from_le_bytes(self).to_cell(store)
    }
    fn from_cell(cell: u64, store: u64) -> Self {
        u128::from_cell(cell, store).to_le_bytes()
    }
    fn push_cells(self, out: &mut Vec<u64>, store: u64) {
        u128::from_le_bytes(self).push_cells(out, store)
    }
    fn read_cells(cells: &[u64], at: &mut usize, store: u64) -> Self {
        u128::read_cells(cells, at, store).to_le_bytes()
    }
    fn write_cells(self, out: &mut [u64], at: &mut usize, store: u64) {
        u128::from_le_bytes(self).write_cells(out, at, store)
    }
}

macro_rules! wasm_ty {
    ($t:ty, $vt:ident, |$s:ident| $to:expr, |$c:ident| $from:expr) => {
        impl WasmTy for $t {
            const TYPE: ValType = ValType::$vt;
            fn to_cell($s, _: u64) -> u64 {
                $to
            }
            fn from_cell($c: u64, _: u64) -> Self {
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

/// `funcref`: `None` is null.
impl WasmTy for Option<Func> {
    const TYPE: ValType = ValType::FuncRef;
    fn to_cell(self, store: u64) -> u64 {
        match self {
            None => 0,
            Some(f) => {
                assert_eq!(
                    f.store_id, store,
                    "a Strata object was used with a store it does not belong to"
                );
                funcref_cell(f.addr)
            }
        }
    }
    fn from_cell(cell: u64, store: u64) -> Self {
        cell_funcref(cell).map(|addr| Func {
            store_id: store,
            addr,
        })
    }
}

/// `externref`: `None` is null.
impl WasmTy for Option<ExternRef> {
    const TYPE: ValType = ValType::ExternRef;
    fn to_cell(self, store: u64) -> u64 {
        match self {
            None => 0,
            Some(e) => {
                assert_eq!(
                    e.store_id, store,
                    "a Strata object was used with a store it does not belong to"
                );
                e.index as u64 + 1
            }
        }
    }
    fn from_cell(cell: u64, store: u64) -> Self {
        cell.checked_sub(1).map(|i| ExternRef {
            store_id: store,
            index: i as u32,
        })
    }
}

/// Parameters of a typed call: a [`WasmTy`], or a tuple of 0 to 16 of them (`(i32,)`
/// included).
pub trait WasmParams {
    /// The wasm parameter types.
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn to_cells(self, out: &mut Vec<u64>, store: u64);
}

/// Results of a typed call or of a [`Func::wrap`] closure: `()`, a [`WasmTy`], or a tuple of
/// up to 16 of them.
pub trait WasmResults: Sized {
    /// The wasm result types.
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn from_cells(cells: &[u64], store: u64) -> Self;
    #[doc(hidden)]
    fn into_cells(self, out: &mut [u64], store: u64);
}

impl<T: WasmTy> WasmParams for T {
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    fn to_cells(self, out: &mut Vec<u64>, store: u64) {
        self.push_cells(out, store);
    }
}

impl<T: WasmTy> WasmResults for T {
    fn types() -> Vec<ValType> {
        vec![T::TYPE]
    }
    fn from_cells(cells: &[u64], store: u64) -> Self {
        T::read_cells(cells, &mut 0, store)
    }
    fn into_cells(self, out: &mut [u64], store: u64) {
        self.write_cells(out, &mut 0, store);
    }
}

/// What a [`Func::wrap`] closure returns: [`WasmResults`], or a `Result` of them whose error
/// is a [`Trap`] (a host trap unwinds the wasm caller).
pub trait WasmRet {
    /// The wasm result types.
    fn types() -> Vec<ValType>;
    #[doc(hidden)]
    fn into_cells(self, out: &mut [u64], store: u64) -> Result<(), Trap>;
}

impl<R: WasmResults> WasmRet for R {
    fn types() -> Vec<ValType> {
        R::types()
    }
    fn into_cells(self, out: &mut [u64], store: u64) -> Result<(), Trap> {
        WasmResults::into_cells(self, out, store);
        Ok(())
    }
}

impl<R: WasmResults> WasmRet for Result<R, Trap> {
    fn types() -> Vec<ValType> {
        R::types()
    }
    fn into_cells(self, out: &mut [u64], store: u64) -> Result<(), Trap> {
        WasmResults::into_cells(self?, out, store);
        Ok(())
    }
}

/// A Rust closure that [`Func::wrap`] and [`Linker::func_wrap`](crate::Linker::func_wrap)
/// turn into a host function: `Fn(A1, ..., An) -> R` or `Fn(Caller<'_, T>, A1, ..., An) -> R`
/// with each `Ai` a [`WasmTy`], `n` at most 16, and `R` a [`WasmRet`].
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_raw_host(self) -> (FuncType, RawHostFn<T>);
}

macro_rules! tuples {
    ($(($($t:ident $i:tt $v:ident),*)),* $(,)?) => {$(
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[allow(unused_variables)]
            fn to_cells(self, out: &mut Vec<u64>, store: u64) {
                $(self.$i.push_cells(out, store);)*
            }
        }
        impl<$($t: WasmTy),*> WasmResults for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn from_cells(cells: &[u64], store: u64) -> Self {
                let mut at = 0;
                let _ = &mut at;
                ($($t::read_cells(cells, &mut at, store),)*)
            }
            #[allow(unused_variables)]
            fn into_cells(self, out: &mut [u64], store: u64) {
                let mut at = 0;
                let _ = &mut at;
                $(self.$i.write_cells(out, &mut at, store);)*
            }
        }
        impl<T, F, $($t: WasmTy,)* R: WasmRet> IntoFunc<T, ($($t,)*), R> for F
        where
            F: Fn($($t),*) -> R + Send + Sync + 'static,
        {
            fn into_raw_host(self) -> (FuncType, RawHostFn<T>) {
                let ty = FuncType::new(vec![$($t::TYPE),*], R::types());
                let raw: RawHostFn<T> = Arc::new(
                    #[allow(unused_variables)]
                    move |caller: Caller<'_, T>, args: &[u64], results: &mut [u64]| {
                        let store = caller.inner.id;
                        let mut at = 0;
                        let _ = &mut at;
                        $(let $v = $t::read_cells(args, &mut at, store);)*
                        self($($v),*).into_cells(results, store)
                    },
                );
                (ty, raw)
            }
        }
        impl<T, F, $($t: WasmTy,)* R: WasmRet> IntoFunc<T, (Caller<'_, T>, $($t,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($t),*) -> R + Send + Sync + 'static,
        {
            fn into_raw_host(self) -> (FuncType, RawHostFn<T>) {
                let ty = FuncType::new(vec![$($t::TYPE),*], R::types());
                let raw: RawHostFn<T> = Arc::new(
                    #[allow(unused_variables)]
                    move |caller: Caller<'_, T>, args: &[u64], results: &mut [u64]| {
                        let store = caller.inner.id;
                        let mut at = 0;
                        let _ = &mut at;
                        $(let $v = $t::read_cells(args, &mut at, store);)*
                        self(caller, $($v),*).into_cells(results, store)
                    },
                );
                (ty, raw)
            }
        }
    )*};
}

tuples! {
    (),
    (A 0 a),
    (A 0 a, B 1 b),
    (A 0 a, B 1 b, C 2 c),
    (A 0 a, B 1 b, C 2 c, D 3 d),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k, L 10 l),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k, L 10 l, M 11 m),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k, L 10 l, M 11 m,
     N 12 n),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k, L 10 l, M 11 m,
     N 12 n, O 13 o),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k, L 10 l, M 11 m,
     N 12 n, O 13 o, P 14 p),
    (A 0 a, B 1 b, C 2 c, D 3 d, E 4 e, G 5 g, H 6 h, I 7 i, J 8 j, K 9 k, L 10 l, M 11 m,
     N 12 n, O 13 o, P 14 p, Q 15 q),
}
