//! wasmi as a peer oracle (`--oracle wasmi`, cargo feature `oracle-wasmi`).
//!
//! wasmi is configured with Strata's feature set (WebAssembly 2.0 without SIMD) and eager
//! translation, so that it rejects and accepts what Strata does and reports errors at
//! compile time. Function identity in tables and results is by export name; wasmi gives its
//! handles no public equality, so two handles are the same function when their debug forms
//! (which hold the store's arena index) are equal.

use super::plan::Plan;
use super::side::{Event, Side};
use super::value::{FuncId, MemoryImage, Outcome, Snapshot, TrapKind, Value};
use wasmi::{
    CompilationMode, Config, Engine, Extern, ExternRef, Func, Linker, Module, Nullable, Ref, Store,
    TrapCode, Val, F32, F64,
};

/// The name of the oracle on the command line and in reports.
pub const NAME: &str = "wasmi";

/// wasmi's limits (its defaults: 1,000 frames, 1 MB of value stack).
const MAX_RECURSION_DEPTH: usize = 20_000;
const MAX_STACK_BYTES: usize = 64 << 20;

pub struct WasmiSide {
    engine: Engine,
}

impl WasmiSide {
    pub fn new() -> WasmiSide {
        let mut config = Config::default();
        config
            .compilation_mode(CompilationMode::Eager)
            .wasm_tail_call(false)
            .wasm_extended_const(true)
            .wasm_multi_memory(true)
            .wasm_custom_page_sizes(false)
            .wasm_memory64(true)
            .wasm_wide_arithmetic(false)
            // Room for every generated module: their fuel (FUEL steps per call) allows about
            // 1,000 nested calls, just past wasmi's default limit of 1,000 frames, where
            // Strata runs them to the end. A deeper stack makes fewer steps inconclusive;
            // both limits are wasmi's own heap stack (frames, bytes), not the thread's.
            .set_max_recursion_depth(MAX_RECURSION_DEPTH)
            .set_max_stack_height(MAX_STACK_BYTES);
        // SIMD is a cargo feature of wasmi that this build leaves off.
        WasmiSide {
            engine: Engine::new(&config),
        }
    }
}

impl Default for WasmiSide {
    fn default() -> Self {
        Self::new()
    }
}

fn trap_kind(code: TrapCode) -> TrapKind {
    match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => TrapKind::TableOutOfBounds,
        TrapCode::IndirectCallToNull => TrapKind::IndirectCallToNull,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::BadConversionToInteger => TrapKind::BadConversionToInteger,
        TrapCode::StackOverflow => TrapKind::StackOverflow,
        TrapCode::BadSignature => TrapKind::BadSignature,
        _ => TrapKind::Other,
    }
}

fn outcome(e: wasmi::Error) -> Outcome {
    match e.as_trap_code() {
        Some(code) => Outcome::Trapped(trap_kind(code), e.to_string()),
        None => Outcome::Failed(e.to_string()),
    }
}

fn to_val(v: &Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(*x),
        Value::I64(x) => Val::I64(*x),
        Value::F32(x) => Val::F32(F32::from_bits(*x)),
        Value::F64(x) => Val::F64(F64::from_bits(*x)),
        Value::FuncRef(_) => Val::FuncRef(Nullable::<Func>::Null),
        Value::ExternRef(_) => Val::ExternRef(Nullable::<ExternRef>::Null),
    }
}

fn func_id(f: &Func, funcs: &[(String, String)]) -> FuncId {
    let key = format!("{f:?}");
    funcs
        .iter()
        .find(|(_, k)| *k == key)
        .map_or(FuncId::Unexported, |(name, _)| FuncId::Export(name.clone()))
}

fn from_val(v: &Val, funcs: &[(String, String)]) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::FuncRef(r) => Value::FuncRef(r.val().map(|f| func_id(f, funcs))),
        Val::ExternRef(r) => Value::ExternRef(!r.is_null()),
        // No SIMD in the compared feature set.
        Val::V128(_) => Value::ExternRef(false),
    }
}

impl Side for WasmiSide {
    fn name(&self) -> &str {
        NAME
    }

    fn is_peer(&self) -> bool {
        true
    }

    fn execute(&self, wasm: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event)) {
        if plan.wasi {
            return emit(Event::Instantiated(Outcome::Inconclusive(
                "the wasmi oracle is linked without WASI: compare WASI programs without --oracle"
                    .into(),
            )));
        }
        let module = match Module::new(&self.engine, wasm) {
            Ok(m) => m,
            Err(e) => return emit(Event::Instantiated(Outcome::Failed(e.to_string()))),
        };
        let mut store = Store::new(&self.engine, ());
        let linker = Linker::<()>::new(&self.engine);
        let instance = match linker.instantiate_and_start(&mut store, &module) {
            Ok(i) => i,
            Err(e) => return emit(Event::Instantiated(outcome(e))),
        };
        emit(Event::Instantiated(Outcome::Returned(Vec::new())));
        let names: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
        let exports: Vec<(String, Extern)> = names
            .iter()
            .filter_map(|n| Some((n.clone(), instance.get_export(&store, n)?)))
            .collect();
        let funcs: Vec<(String, Func)> = exports
            .iter()
            .filter_map(|(n, e)| Some((n.clone(), e.into_func()?)))
            .collect();
        let keys: Vec<(String, String)> = funcs
            .iter()
            .map(|(n, f)| (n.clone(), format!("{f:?}")))
            .collect();
        for call in &plan.calls {
            let Some((_, f)) = funcs.iter().find(|(n, _)| *n == call.func) else {
                emit(Event::Call(Outcome::Failed(format!(
                    "no exported function {:?}",
                    call.func
                ))));
                continue;
            };
            if let Some((name, fuel)) = &plan.fuel {
                if let Some(g) = instance.get_global(&store, name) {
                    let _ = g.set(&mut store, Val::I32(*fuel));
                }
            }
            let args: Vec<Val> = call.args.iter().map(to_val).collect();
            let ty = f.ty(&store);
            let mut results: Vec<Val> = ty
                .results()
                .iter()
                .map(|t| Val::default_for_ty(*t))
                .collect();
            let out = match f.call(&mut store, &args, &mut results) {
                Ok(()) => Outcome::Returned(results.iter().map(|v| from_val(v, &keys)).collect()),
                Err(e) => outcome(e),
            };
            let stop = matches!(out, Outcome::Trapped(TrapKind::StackOverflow, _));
            emit(Event::Call(out));
            if stop {
                return;
            }
        }
        let mut snap = Snapshot::default();
        for (name, ext) in &exports {
            match ext {
                Extern::Memory(m) => snap
                    .memories
                    .push((name.clone(), MemoryImage::of(m.data(&store)))),
                Extern::Global(g) => snap
                    .globals
                    .push((name.clone(), from_val(&g.get(&store), &keys))),
                Extern::Table(t) => {
                    let elems = (0..t.size(&store))
                        .map(|i| match t.get(&store, i) {
                            Some(Ref::Func(f)) => {
                                Value::FuncRef(f.val().map(|f| func_id(f, &keys)))
                            }
                            Some(Ref::Extern(e)) => Value::ExternRef(!e.is_null()),
                            None => Value::FuncRef(None),
                        })
                        .collect();
                    snap.tables.push((name.clone(), elems));
                }
                _ => {}
            }
        }
        emit(Event::Finished(snap.sorted()));
    }
}
